/* lifelong plugin — model "transformer": a LLaMA-style decoder-only
 * transformer (token embedding, RMSNorm, rotary positions, grouped-query
 * causal self-attention, SwiGLU feed-forward, tied or untied head), with the
 * Hugging Face LLaMA module names (model.embed_tokens, model.layers.N.
 * self_attn.q_proj, ..., model.norm, lm_head), so checkpoints and LoRA
 * targets mean the same thing everywhere.  A language model when the
 * scenario has no classes (logits (n, T, vocab)); a classifier otherwise
 * (the last real token's state, or the mean, through the head "score"). */
#include <lifelong/lifelong.h>
#include <math.h>

typedef struct {
  int64_t vocab, d, layers, heads, kv_heads, head_dim, ff, context, classes;
  double  theta, eps;
  gboolean tie, pool_mean;
} TfConfig;

typedef struct {
  TfConfig  c;
  LfModule *root;
} Tf;

static const LfParam tf_params[] = {
  { "vocab", LF_PARAM_INT, "0", 0, 1e7, NULL, "token alphabet (0: the dataset's; byte-level text: 259)" },
  { "d_model", LF_PARAM_INT, "128", 8, 65536, NULL, "hidden size" },
  { "layers", LF_PARAM_INT, "4", 1, 1000, NULL, "decoder layers" },
  { "heads", LF_PARAM_INT, "4", 1, 1024, NULL, "attention (query) heads; d_model must divide by it" },
  { "kv_heads", LF_PARAM_INT, "0", 0, 1024, NULL, "key/value heads (grouped-query attention); 0: heads" },
  { "ff", LF_PARAM_INT, "0", 0, 1e6, NULL, "SwiGLU hidden size; 0: 8/3 d_model rounded up to 32" },
  { "context", LF_PARAM_INT, "0", 0, 1e6, NULL, "longest sequence; 0: the scenario's context" },
  { "rope_theta", LF_PARAM_FLOAT, "10000", 1, 1e9, NULL, "rotary embedding base" },
  { "rms_eps", LF_PARAM_FLOAT, "1e-6", 1e-12, 1, NULL, "RMSNorm epsilon" },
  { "tie_embeddings", LF_PARAM_BOOL, "false", 0, 0, NULL, "lm_head shares the token embedding's weights" },
  { "pool", LF_PARAM_STRING, "\"last\"", 0, 0, "last|mean",
    "classification: the last real token's state, or the mean over real tokens" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

/* ---- module classes ---- */

typedef struct { double eps; } NormState;

static LfTensor *
tf_norm_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  (void) fwd;
  const NormState *s = lf_module_state (m);
  return lf_rmsnorm (x, lf_module_param (m, "weight"), s->eps);
}

static const LfModuleClass tf_norm_class = {
  sizeof (LfModuleClass), "rmsnorm", tf_norm_forward, g_free,
};

typedef struct { int64_t heads, kv_heads, head_dim; double theta; } AttnState;

/* h: (n, T, d) -> (n, T, d) */
static LfTensor *
tf_attn_forward (LfModule *m, LfTensor *h, LfForward *fwd)
{
  const AttnState *s = lf_module_state (m);
  int64_t n = lf_tensor_dim (h, 0), T = lf_tensor_dim (h, 1);
  int64_t qs[4] = { n, T, s->heads, s->head_dim }, ks[4] = { n, T, s->kv_heads, s->head_dim };
  LfTensor *q = lf_reshape (lf_module_forward (lf_module_find (m, "q_proj"), h, fwd), 4, qs);
  LfTensor *k = lf_reshape (lf_module_forward (lf_module_find (m, "k_proj"), h, fwd), 4, ks);
  LfTensor *v = lf_reshape (lf_module_forward (lf_module_find (m, "v_proj"), h, fwd), 4, ks);
  q = lf_rope (q, s->head_dim, 0, s->theta);
  k = lf_rope (k, s->head_dim, 0, s->theta);
  LfTensor *a = lf_attention (q, k, v, TRUE, lf_module_get_slot (m, "prefix_key"), lf_module_get_slot (m, "prefix_value"));
  int64_t os[3] = { n, T, s->heads * s->head_dim };
  return lf_module_forward (lf_module_find (m, "o_proj"), lf_reshape (a, 3, os), fwd);
}

static const LfModuleClass tf_attn_class = {
  sizeof (LfModuleClass), "llama-attention", tf_attn_forward, g_free,
};

/* SwiGLU: down (silu (gate x) * up x) */
static LfTensor *
tf_mlp_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  LfTensor *g = lf_silu (lf_module_forward (lf_module_find (m, "gate_proj"), x, fwd));
  LfTensor *u = lf_module_forward (lf_module_find (m, "up_proj"), x, fwd);
  return lf_module_forward (lf_module_find (m, "down_proj"), lf_mul (g, u), fwd);
}

static const LfModuleClass tf_mlp_class = {
  sizeof (LfModuleClass), "swiglu", tf_mlp_forward, NULL,
};

/* a pre-norm residual block */
static LfTensor *
tf_block_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  LfTensor *a = lf_module_forward (lf_module_find (m, "self_attn"),
                                   lf_module_forward (lf_module_find (m, "input_layernorm"), x, fwd), fwd);
  x = lf_add (x, a);
  LfTensor *f = lf_module_forward (lf_module_find (m, "mlp"),
                                   lf_module_forward (lf_module_find (m, "post_attention_layernorm"), x, fwd), fwd);
  return lf_add (x, f);
}

static const LfModuleClass tf_block_class = {
  sizeof (LfModuleClass), "llama-decoder-layer", tf_block_forward, NULL,
};

/* ---- building ---- */

static LfModule *
tf_norm (const char *name, int64_t d, double eps)
{
  NormState *s = g_new (NormState, 1);
  s->eps = eps;
  LfModule *m = lf_module_new (name, LF_MODULE_NORM, &tf_norm_class, s);
  lf_tensor_fill (lf_module_add_param (m, "weight", 1, &d), 1);
  return m;
}

static void
tf_init (Tf *t, uint64_t key)
{
  /* Hugging Face LLaMA: every linear and the embedding ~ N(0, 0.02); norms 1 */
  g_autoptr (GPtrArray) ps = lf_module_params (t->root, "*", FALSE);
  for (guint i = 0; i < ps->len; i++)
    {
      LfTensor *p = ps->pdata[i];
      const char *name = lf_tensor_name (p);
      if (g_str_has_suffix (name, "norm.weight"))
        {
          lf_tensor_fill (p, 1);
          continue;
        }
      LfRng r;
      lf_rng_init (&r, lf_rng_key (key, i, 0, 0, "transformer-init"));
      for (int64_t j = 0; j < lf_tensor_numel (p); j++)
        lf_tensor_data (p)[j] = (LfReal) (0.02 * lf_rng_normal (&r));
    }
}

static Tf *
tf_build (const TfConfig *c, uint64_t key)
{
  Tf *t = g_new0 (Tf, 1);
  t->c = *c;
  t->root = lf_module_new ("", LF_MODULE_CONTAINER, NULL, NULL);
  LfModule *model = lf_module_new ("model", LF_MODULE_CONTAINER, NULL, NULL);
  lf_module_add_child (t->root, model);
  LfModule *emb = lf_module_new ("embed_tokens", LF_MODULE_EMBEDDING, NULL, NULL);
  int64_t es[2] = { c->vocab, c->d };
  lf_module_add_param (emb, "weight", 2, es);
  lf_module_add_child (model, emb);
  LfModule *layers = lf_module_new ("layers", LF_MODULE_CONTAINER, NULL, NULL);
  lf_module_add_child (model, layers);
  for (int64_t l = 0; l < c->layers; l++)
    {
      g_autofree char *name = g_strdup_printf ("%" G_GINT64_FORMAT, l);
      LfModule *blk = lf_module_new (name, LF_MODULE_BLOCK, &tf_block_class, NULL);
      lf_module_add_child (layers, blk);
      lf_module_add_child (blk, tf_norm ("input_layernorm", c->d, c->eps));
      AttnState *as = g_new (AttnState, 1);
      *as = (AttnState) { c->heads, c->kv_heads, c->head_dim, c->theta };
      LfModule *attn = lf_module_new ("self_attn", LF_MODULE_ATTENTION, &tf_attn_class, as);
      lf_module_add_child (blk, attn);
      lf_module_add_child (attn, lf_module_new_linear ("q_proj", c->d, c->heads * c->head_dim, FALSE));
      lf_module_add_child (attn, lf_module_new_linear ("k_proj", c->d, c->kv_heads * c->head_dim, FALSE));
      lf_module_add_child (attn, lf_module_new_linear ("v_proj", c->d, c->kv_heads * c->head_dim, FALSE));
      lf_module_add_child (attn, lf_module_new_linear ("o_proj", c->heads * c->head_dim, c->d, FALSE));
      lf_module_add_child (blk, tf_norm ("post_attention_layernorm", c->d, c->eps));
      LfModule *mlp = lf_module_new ("mlp", LF_MODULE_FEEDFORWARD, &tf_mlp_class, NULL);
      lf_module_add_child (blk, mlp);
      lf_module_add_child (mlp, lf_module_new_linear ("gate_proj", c->d, c->ff, FALSE));
      lf_module_add_child (mlp, lf_module_new_linear ("up_proj", c->d, c->ff, FALSE));
      lf_module_add_child (mlp, lf_module_new_linear ("down_proj", c->ff, c->d, FALSE));
    }
  lf_module_add_child (model, tf_norm ("norm", c->d, c->eps));
  if (c->classes > 0)
    lf_module_add_child (t->root, lf_module_new_linear ("score", c->d, c->classes, FALSE));
  else if (!c->tie)
    {
      LfModule *head = lf_module_new ("lm_head", LF_MODULE_HEAD, NULL, NULL);
      int64_t hs[2] = { c->vocab, c->d };
      lf_module_add_param (head, "weight", 2, hs);
      lf_module_add_child (t->root, head);
    }
  tf_init (t, key);
  return t;
}

static void *
tf_create (const LfParams *p, const LfDataSpec *spec, uint64_t key, GError **error)
{
  TfConfig c = { 0 };
  c.vocab = lf_params_get_int (p, "vocab") > 0 ? lf_params_get_int (p, "vocab") : spec->vocab;
  c.d = lf_params_get_int (p, "d_model");
  c.layers = lf_params_get_int (p, "layers");
  c.heads = lf_params_get_int (p, "heads");
  c.kv_heads = lf_params_get_int (p, "kv_heads") > 0 ? lf_params_get_int (p, "kv_heads") : c.heads;
  c.context = lf_params_get_int (p, "context") > 0 ? lf_params_get_int (p, "context") : spec->context;
  c.theta = lf_params_get_float (p, "rope_theta");
  c.eps = lf_params_get_float (p, "rms_eps");
  c.tie = lf_params_get_bool (p, "tie_embeddings");
  c.pool_mean = g_str_equal (lf_params_get_string (p, "pool"), "mean");
  c.classes = spec->n_classes;
  int64_t ff = lf_params_get_int (p, "ff");
  c.ff = ff > 0 ? ff : ((8 * c.d / 3 + 31) / 32) * 32;
  if (c.vocab <= 0 || spec->input_ndim != 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                   "model transformer reads token sequences; this dataset gives dense inputs (use mlp)");
      return NULL;
    }
  if (c.vocab < spec->vocab)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "model.vocab: %" G_GINT64_FORMAT " is smaller than the "
                   "data's %" G_GINT64_FORMAT " tokens", c.vocab, spec->vocab);
      return NULL;
    }
  if (c.d % c.heads != 0 || (c.d / c.heads) % 2 != 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "model.heads: d_model %" G_GINT64_FORMAT " must split into %"
                   G_GINT64_FORMAT " heads of an even size (rotary embeddings rotate pairs)", c.d, c.heads);
      return NULL;
    }
  if (c.heads % c.kv_heads != 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "model.kv_heads: %" G_GINT64_FORMAT " does not divide heads %"
                   G_GINT64_FORMAT, c.kv_heads, c.heads);
      return NULL;
    }
  if (spec->context > c.context)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "model.context: %" G_GINT64_FORMAT " is shorter than the "
                   "scenario's sequences (%" G_GINT64_FORMAT ")", c.context, spec->context);
      return NULL;
    }
  c.head_dim = c.d / c.heads;
  return tf_build (&c, key);
}

static void
tf_destroy (void *self)
{
  Tf *t = self;
  lf_module_free (t->root);
  g_free (t);
}

static LfModule *tf_root (void *self) { return ((Tf *) self)->root; }

/* tokens (n, T) -> logits (n, T, vocab) or (n, classes) */
static void
tf_forward (void *self, const LfBatch *batch, LfForward *fwd, LfModelOutput *out)
{
  Tf *t = self;
  const TfConfig *c = &t->c;
  int64_t n = batch->n, T = batch->seq_len;
  LfModule *emb = lf_module_find (t->root, "model.embed_tokens");
  LfTensor *W = lf_module_param (emb, "weight");
  int64_t hs[3] = { n, T, c->d };
  LfTensor *h = lf_reshape (lf_embedding (W, batch->tokens, n * T), 3, hs);
  h = lf_module_forward (emb, h, fwd);   /* hooks on the embedding see its output */
  /* prompt tuning: soft tokens before every sequence, dropped at the end */
  LfTensor *prompt = lf_module_get_slot (emb, "prompt");
  int64_t P = prompt ? lf_tensor_dim (prompt, 0) : 0;
  if (prompt)
    {
      int64_t ps[3] = { n, P, c->d };
      LfTensor *both[2] = { lf_add (lf_tensor_zeros (3, ps), prompt), h };
      h = lf_concat (both, 2, 1);
    }
  LfModule *layers = lf_module_find (t->root, "model.layers");
  for (int i = 0; i < lf_module_n_children (layers); i++)
    h = lf_module_forward (lf_module_child (layers, i), h, fwd);
  h = lf_module_forward (lf_module_find (t->root, "model.norm"), h, fwd);
  if (prompt)
    h = lf_slice (h, 1, P, P + T);
  if (c->classes == 0)
    {
      LfModule *head = lf_module_find (t->root, "lm_head");
      LfTensor *HW = head ? lf_module_param (head, "weight") : W;
      out->features = h;
      out->logits = lf_matmul_t (h, FALSE, HW, TRUE);
      return;
    }
  /* classification: the last real token's state (before padding), or the mean */
  int64_t ms[3] = { n, T, 1 };
  LfTensor *mask = lf_tensor_zeros (3, ms);
  LfReal *md = lf_tensor_data (mask);
  for (int64_t i = 0; i < n; i++)
    {
      int64_t last = 0, real = 0;
      for (int64_t j = 0; j < T; j++)
        if (batch->tokens[i * T + j] != LF_TOKEN_PAD)
          {
            last = j;
            real++;
          }
      if (c->pool_mean)
        for (int64_t j = 0; j < T; j++)
          md[i * T + j] = batch->tokens[i * T + j] != LF_TOKEN_PAD ? (LfReal) (1.0 / (double) MAX (real, 1)) : 0;
      else
        md[i * T + last] = 1;
    }
  out->features = lf_sum_axis (lf_mul (h, mask), 1, FALSE);
  out->logits = lf_module_forward (lf_module_find (t->root, "score"), out->features, fwd);
}

static void
tf_reset (void *self, uint64_t key)
{
  tf_init (self, key);
}

static void *
tf_clone (void *self)
{
  return tf_build (&((Tf *) self)->c, 0);
}

static const LfModelVTable tf_vtable = {
  .struct_size = sizeof (LfModelVTable),
  .create = tf_create,
  .destroy = tf_destroy,
  .root = tf_root,
  .forward = tf_forward,
  .reset = tf_reset,
  .clone = tf_clone,
};

static const char *const tf_kinds[] = { "transformer", NULL };
static const LfCapabilities tf_caps = {
  .supports = LF_SUPPORTS_CLASSIFICATION | LF_SUPPORTS_LANGUAGE_MODEL,
  .model_kinds = tf_kinds,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_MODEL,
    .name = "transformer",
    .version = "0.1.0",
    .summary = "LLaMA-style decoder-only transformer (RMSNorm, rotary, grouped-query attention, SwiGLU), "
               "Hugging Face module names; a language model or a sequence classifier",
    .params = tf_params,
    .caps = &tf_caps,
    .vtable = &tf_vtable,
  };
  return &info;
}
