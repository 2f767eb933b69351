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
  TfConfig   c;
  LfModule  *root;
  GPtrArray *generating;   /* inside tf_generate: the cached attention modules */
  gboolean   nested;       /* a forward ran inside a generation step (a plugin's hook) */
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

/* One layer's key/value cache while tf_generate runs: the rotated keys and
 * the values of the first len positions (soft prompt included). */
typedef struct {
  LfTensor *k, *v;      /* owned (1, max_len, kv_heads, head_dim) */
  int64_t   len, max_len;
  gboolean  used;       /* the layer's attention read it in this pass */
  gboolean  misused;    /* a pass did not fit it (more than one sequence, or
                         * past max_len): that pass ran without it */
} TfCache;

typedef struct {
  int64_t heads, kv_heads, head_dim;
  double theta;
  TfCache *cache;       /* set only inside tf_generate */
} AttnState;

/* h: (n, T, d) -> (n, T, d).  With a cache (generation, n = 1): the T new
 * positions come after cache->len cached ones; their keys and values are
 * appended and the queries attend over all S = len + T. */
static LfTensor *
tf_attn_forward (LfModule *m, LfTensor *h, LfForward *fwd)
{
  const AttnState *s = lf_module_state (m);
  TfCache *c = s->cache;
  int64_t n = lf_tensor_dim (h, 0), T = lf_tensor_dim (h, 1);
  if (c && (n != 1 || c->len + T > c->max_len))
    {
      /* not the one growing sequence the cache holds: run without it and
       * let tf_generate report it (never write past the cache) */
      c->misused = TRUE;
      c = NULL;
    }
  int64_t off = c ? c->len : 0;
  int64_t qs[4] = { n, T, s->heads, s->head_dim }, ks[4] = { n, T, s->kv_heads, s->head_dim };
  LfTensor *q = lf_reshape (lf_module_forward (lf_module_find (m, "q_proj"), h, fwd), 4, qs);
  LfTensor *k = lf_reshape (lf_module_forward (lf_module_find (m, "k_proj"), h, fwd), 4, ks);
  LfTensor *v = lf_reshape (lf_module_forward (lf_module_find (m, "v_proj"), h, fwd), 4, ks);
  q = lf_rope (q, s->head_dim, off, s->theta);
  k = lf_rope (k, s->head_dim, off, s->theta);
  if (c)
    {
      const int64_t row = s->kv_heads * s->head_dim;   /* (T, kv_heads, head_dim) rows */
      memcpy (lf_tensor_data (c->k) + off * row, lf_tensor_data (k), (size_t) (T * row) * sizeof (LfReal));
      memcpy (lf_tensor_data (c->v) + off * row, lf_tensor_data (v), (size_t) (T * row) * sizeof (LfReal));
      c->len = off + T;
      c->used = TRUE;
      k = lf_slice (c->k, 1, 0, c->len);   /* (1, S, kv_heads, head_dim) */
      v = lf_slice (c->v, 1, 0, c->len);
    }
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
      *as = (AttnState) { c->heads, c->kv_heads, c->head_dim, c->theta, NULL };
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

/* The language-model head's weight (vocab, d): lm_head's, or the
 * embedding's when they are tied. */
static LfTensor *
tf_head_weight (Tf *t)
{
  LfModule *head = lf_module_find (t->root, "lm_head");
  return lf_module_param (head ? head : lf_module_find (t->root, "model.embed_tokens"), "weight");
}

/* tokens (n, T) -> the final norm's output (n, T, d).  with_prompt: the
 * embedding's "prompt" slot (prompt tuning: P soft tokens before every
 * sequence, dropped from the output) goes in front; tf_generate passes it
 * on the first pass only, when the cache is empty.  The slot is (P, d), the
 * same soft tokens for every sequence, or (n, P, d), one set per sequence
 * (L2P's per-sample prompts); it is read after the embedding's hooks ran,
 * so a hook may set it for this pass. */
static LfTensor *
tf_hidden (Tf *t, const int32_t *tokens, int64_t n, int64_t T, LfForward *fwd, gboolean with_prompt)
{
  const TfConfig *c = &t->c;
  LfModule *emb = lf_module_find (t->root, "model.embed_tokens");
  LfTensor *W = lf_module_param (emb, "weight");
  int64_t hs[3] = { n, T, c->d };
  LfTensor *h = lf_reshape (lf_embedding (W, tokens, n * T), 3, hs);
  h = lf_module_forward (emb, h, fwd);   /* hooks on the embedding see its output */
  LfTensor *prompt = with_prompt ? lf_module_get_slot (emb, "prompt") : NULL;
  int64_t P = prompt ? lf_tensor_dim (prompt, -2) : 0;
  if (prompt)
    {
      int64_t ps[3] = { n, P, c->d };
      LfTensor *both[2] = { lf_add (lf_tensor_zeros (3, ps), prompt), h };
      h = lf_concat (both, 2, 1);
    }
  /* the blocks by name, not every child of model.layers: a module a
   * plugin inserted after a block is a child too, and runs as part of it */
  LfModule *layers = lf_module_find (t->root, "model.layers");
  for (int64_t i = 0; i < c->layers; i++)
    {
      char name[24];
      g_snprintf (name, sizeof name, "%" G_GINT64_FORMAT, i);
      h = lf_module_forward (lf_module_find (layers, name), h, fwd);
    }
  h = lf_module_forward (lf_module_find (t->root, "model.norm"), h, fwd);
  if (prompt)
    h = lf_slice (h, 1, P, P + T);
  return h;
}

/* tokens (n, T) -> logits (n, T, vocab) or (n, classes) */
static void
tf_forward (void *self, const LfBatch *batch, LfForward *fwd, LfModelOutput *out)
{
  Tf *t = self;
  const TfConfig *c = &t->c;
  int64_t n = batch->n, T = batch->seq_len;
  /* a forward inside a generation step (a plugin's hook computing features,
   * for instance) must not touch the step's caches: it runs without them,
   * and tf_generate then reports that the cache cannot serve this model */
  g_autofree TfCache **held = NULL;
  if (t->generating)
    {
      t->nested = TRUE;
      held = g_new (TfCache *, t->generating->len);
      for (guint l = 0; l < t->generating->len; l++)
        {
          AttnState *as = lf_module_state (t->generating->pdata[l]);
          held[l] = as->cache;
          as->cache = NULL;
        }
    }
  LfTensor *h = tf_hidden (t, batch->tokens, n, T, fwd, TRUE);
  for (guint l = 0; held && l < t->generating->len; l++)
    ((AttnState *) lf_module_state (t->generating->pdata[l]))->cache = held[l];
  if (c->classes == 0)
    {
      out->features = h;
      out->logits = lf_matmul_t (h, FALSE, tf_head_weight (t), TRUE);
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

/* ---- Hugging Face config and generation (ABI 1.1) ---- */

/* The shortest decimal text that reads back to v ("1e-06", not
 * "9.9999999999999995e-07"), in the C locale. */
static void
tf_append_double (GString *s, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  for (int prec = 1; prec <= 17; prec++)
    {
      char fmt[8];
      g_snprintf (fmt, sizeof fmt, "%%.%dg", prec);
      g_ascii_formatd (buf, sizeof buf, fmt, v);
      if (g_ascii_strtod (buf, NULL) == v)
        break;
    }
  g_string_append (s, buf);
  if (!strpbrk (buf, ".eEn"))   /* JSON readers that type numbers see a float */
    g_string_append (s, ".0");
}

/* A Hugging Face LlamaConfig: transformers' LlamaForCausalLM (or
 * LlamaForSequenceClassification, whose head is also named "score") reads
 * the folder `lifelong run --save-model` writes. */
static char *
tf_describe (void *self)
{
  const TfConfig *c = &((Tf *) self)->c;
  GString *s = g_string_new ("{\n");
  g_string_append_printf (s, "  \"architectures\": [\"%s\"],\n",
                          c->classes > 0 ? "LlamaForSequenceClassification" : "LlamaForCausalLM");
  g_string_append (s, "  \"model_type\": \"llama\",\n");
  g_string_append_printf (s, "  \"hidden_size\": %" G_GINT64_FORMAT ",\n", c->d);
  g_string_append_printf (s, "  \"intermediate_size\": %" G_GINT64_FORMAT ",\n", c->ff);
  g_string_append_printf (s, "  \"num_hidden_layers\": %" G_GINT64_FORMAT ",\n", c->layers);
  g_string_append_printf (s, "  \"num_attention_heads\": %" G_GINT64_FORMAT ",\n", c->heads);
  g_string_append_printf (s, "  \"num_key_value_heads\": %" G_GINT64_FORMAT ",\n", c->kv_heads);
  g_string_append_printf (s, "  \"head_dim\": %" G_GINT64_FORMAT ",\n", c->head_dim);
  g_string_append_printf (s, "  \"vocab_size\": %" G_GINT64_FORMAT ",\n", c->vocab);
  g_string_append_printf (s, "  \"max_position_embeddings\": %" G_GINT64_FORMAT ",\n", c->context);
  g_string_append (s, "  \"rms_norm_eps\": ");
  tf_append_double (s, c->eps);
  g_string_append (s, ",\n  \"rope_theta\": ");
  tf_append_double (s, c->theta);
  g_string_append_printf (s, ",\n  \"tie_word_embeddings\": %s,\n", c->tie ? "true" : "false");
  g_string_append (s, "  \"hidden_act\": \"silu\",\n  \"attention_bias\": false,\n  \"mlp_bias\": false,\n"
                      "  \"attention_dropout\": 0.0,\n  \"initializer_range\": 0.02,\n"
                      "  \"torch_dtype\": \"float32\",\n  \"use_cache\": true");
  if (c->vocab >= LF_BYTE_VOCAB)   /* byte-level text: the specials after the bytes */
    g_string_append_printf (s, ",\n  \"bos_token_id\": %d,\n  \"eos_token_id\": %d,\n  \"pad_token_id\": %d",
                            LF_TOKEN_BOS, LF_TOKEN_EOS, LF_TOKEN_PAD);
  if (c->classes > 0)
    g_string_append_printf (s, ",\n  \"num_labels\": %" G_GINT64_FORMAT, c->classes);
  g_string_append (s, "\n}\n");
  return g_string_free (s, FALSE);
}

/* The attention modules generation can cache: one per layer, of this
 * plugin's class, in layer order.  NULL (with error) when a plugin has
 * replaced one by a module that does not know the cache. */
static GPtrArray *
tf_cached_attention (Tf *t, GError **error)
{
  LfModule *layers = lf_module_find (t->root, "model.layers");
  GPtrArray *found = g_ptr_array_new ();
  for (int i = 0; i < lf_module_n_children (layers); i++)
    {
      g_autoptr (GPtrArray) a = lf_module_find_all (lf_module_child (layers, i), "*", LF_MODULE_ATTENTION);
      LfModule *mine = NULL;
      for (guint j = 0; j < a->len && !mine; j++)
        if (lf_module_class (a->pdata[j]) == &tf_attn_class)
          mine = a->pdata[j];
      if (mine == NULL)
        {
          g_ptr_array_unref (found);
          g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "model transformer: layer %d has no attention of "
                       "its own (replaced?), so it has no key/value cache; generate without the cache", i);
          return NULL;
        }
      g_ptr_array_add (found, mine);
    }
  return found;
}

/* Generation with a key/value cache: the prompt in one pass (prefill),
 * then one token per pass, each through the whole module tree (hooks,
 * wrappers and inserted modules apply as in forward) with no tape.  Every
 * layer's attention appends its new keys and values to its cache and
 * attends over all of them, with rotary positions offset by the cached
 * length. */
static gboolean
tf_generate (void *self, const int32_t *prompt, int64_t n_prompt, int64_t max_new, const LfGenerateOptions *opts,
             int32_t *out, int64_t *n_out, GError **error)
{
  Tf *t = self;
  const TfConfig *c = &t->c;
  *n_out = 0;
  if (c->classes > 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "model transformer is a classifier (%" G_GINT64_FORMAT
                   " classes): it does not generate text", c->classes);
      return FALSE;
    }
  if (n_prompt < 1 || n_prompt > c->context)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "model transformer: a prompt of %" G_GINT64_FORMAT
                   " tokens does not fit the context (1 to %" G_GINT64_FORMAT ")", n_prompt, c->context);
      return FALSE;
    }
  max_new = MIN (max_new, c->context - n_prompt);
  if (max_new <= 0)
    return TRUE;
  g_autoptr (GPtrArray) attn = tf_cached_attention (t, error);
  if (attn == NULL)
    return FALSE;
  LfTensor *prompt_slot = lf_module_get_slot (lf_module_find (t->root, "model.embed_tokens"), "prompt");
  const int64_t P = prompt_slot ? lf_tensor_dim (prompt_slot, -2) : 0;
  const int64_t max_len = P + n_prompt + max_new;
  g_autofree TfCache *caches = g_new0 (TfCache, attn->len);
  for (guint l = 0; l < attn->len; l++)
    {
      int64_t shape[4] = { 1, max_len, c->kv_heads, c->head_dim };
      caches[l] = (TfCache) { lf_tensor_new_owned (4, shape), lf_tensor_new_owned (4, shape), 0, max_len, FALSE, FALSE };
      ((AttnState *) lf_module_state (attn->pdata[l]))->cache = &caches[l];
    }
  t->generating = attn;
  t->nested = FALSE;
  LfTensor *HW = tf_head_weight (t);
  int64_t sample_id = 0;
  const int32_t *step_tokens = prompt;
  int64_t T = n_prompt;
  gboolean ok = TRUE;
  for (int64_t step = 0; step < max_new; step++)
    {
      lf_tape_push (FALSE);
      LfBatch batch = { .struct_size = sizeof batch, .n = 1, .split = LF_SPLIT_TEST, .tokens = step_tokens,
                        .seq_len = T, .sample_ids = &sample_id };
      LfForward fwd = { .struct_size = sizeof fwd, .batch = &batch, .training = FALSE };
      for (guint l = 0; l < attn->len; l++)
        caches[l].used = FALSE;
      LfTensor *h = tf_hidden (t, step_tokens, 1, T, &fwd, step == 0);
      if (t->nested || caches[0].misused)
        {
          g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "model transformer: a plugin ran the model inside "
                       "a generation step (a hook computing features, for instance), which the key/value cache "
                       "cannot serve; generate without the cache");
          ok = FALSE;
        }
      for (guint l = 0; l < attn->len && ok; l++)
        if (!caches[l].used || caches[l].misused)
          {
            g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "model transformer: layer %u's attention was not "
                         "run (a plugin changed the tree), so its key/value cache is stale; generate without "
                         "the cache", l);
            ok = FALSE;
          }
      if (!ok)
        {
          lf_tape_pop ();
          break;
        }
      /* the last position's logits: (1, 1, d) x (vocab, d)^T */
      LfTensor *logits = lf_matmul_t (lf_slice (h, 1, T - 1, T), FALSE, HW, TRUE);
      int32_t tok = lf_generate_sample (lf_tensor_data (logits), c->vocab, opts, step);
      lf_tape_pop ();
      out[step] = tok;
      *n_out = step + 1;
      if (opts->stop_at_eos && tok == LF_TOKEN_EOS)
        break;
      step_tokens = &out[step];
      T = 1;
    }
  t->generating = NULL;
  for (guint l = 0; l < attn->len; l++)
    {
      ((AttnState *) lf_module_state (attn->pdata[l]))->cache = NULL;
      lf_tensor_free (caches[l].k);
      lf_tensor_free (caches[l].v);
    }
  return ok;
}

static const LfModelVTable tf_vtable = {
  .struct_size = sizeof (LfModelVTable),
  .create = tf_create,
  .destroy = tf_destroy,
  .root = tf_root,
  .forward = tf_forward,
  .reset = tf_reset,
  .clone = tf_clone,
  .describe = tf_describe,
  .generate = tf_generate,
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
