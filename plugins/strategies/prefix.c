/* lifelong plugin — strategy "prefix": prefix tuning (Li & Liang,
 * "Prefix-Tuning: Optimizing Continuous Prompts for Generation", ACL 2021).
 * Every attention layer reads P learned key and value vectors before each
 * sequence (its "prefix_key" / "prefix_value" slots, (P, kv_dim)); the model
 * is frozen (the classifier head trains when train_head).  With
 * reparam_hidden > 0 the prefixes are computed as in the paper's training:
 * MLP (E) = up (tanh (down (E))), E a (P, d_model) embedding, the output
 * (P, layers * 2 * kv_dim) split into each layer's keys and values (Hugging
 * Face PEFT's prefix projection); the trained parameters are E and the MLP.
 * One prefix set per experience (earlier ones frozen), chosen by the batch's
 * task id at test when the scenario gives it, else the latest. */
#include "peft-common.h"

typedef struct {
  PeftBase   base;
  int64_t    length, hidden, kv, d;
  LfModule  *own;
  GPtrArray *attn;      /* borrowed attention modules, layer order */
  GPtrArray *sets;      /* borrowed modules "prefix.<e>" */
  int64_t    current;
  int64_t    mixed_batches;   /* evaluation batches whose task ids differ (the first one's set is used) */
} Prefix;

static const LfParam prefix_params[] = {
  { "length", LF_PARAM_INT, "10", 1, 4096, NULL, "prefix vectors P per layer (keys and values)" },
  { "reparam_hidden", LF_PARAM_INT, "0", 0, 1e6, NULL,
    "hidden width of the reparameterisation MLP (Li & Liang); 0: the prefixes are the parameters" },
  { "train_head", LF_PARAM_BOOL, "true", 0, 0, NULL,
    "the classifier head (\"score\") trains with the prefixes; a language model's head stays frozen" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

/* A prefix set's keys and values, layer by layer (2 L tensors). */
static void
prefix_tensors (Prefix *s, LfModule *set, LfTensor **kv)
{
  int64_t L = s->attn->len;
  if (s->hidden == 0)
    {
      for (int64_t l = 0; l < L; l++)
        {
          g_autofree char *kn = g_strdup_printf ("key_%" G_GINT64_FORMAT, l);
          g_autofree char *vn = g_strdup_printf ("value_%" G_GINT64_FORMAT, l);
          kv[2 * l] = lf_module_param (set, kn);
          kv[2 * l + 1] = lf_module_param (set, vn);
        }
      return;
    }
  /* (P, d) -> (P, hidden) -> (P, 2 L kv) */
  LfModule *down = lf_module_find (set, "down"), *up = lf_module_find (set, "up");
  LfTensor *h = lf_tanh (lf_linear (lf_module_param (set, "embedding"), lf_module_param (down, "weight"),
                                    lf_module_param (down, "bias")));
  LfTensor *Y = lf_linear (h, lf_module_param (up, "weight"), lf_module_param (up, "bias"));
  for (int64_t i = 0; i < 2 * L; i++)
    kv[i] = lf_slice (Y, 1, i * s->kv, (i + 1) * s->kv);
}

/* The embedding's post-hook (one call per forward, before any attention):
 * every attention's slots get this pass's set. */
static LfTensor *
prefix_hook (LfModule *m, LfTensor *x, LfTensor *y, LfForward *fwd, void *user)
{
  (void) m; (void) x;
  Prefix *s = user;
  int64_t n = lf_tensor_dim (y, 0), L = s->attn->len;
  int32_t *route = s->base.bypass ? NULL : peft_route (fwd, n, s->sets->len, s->current);
  LfTensor **kv = g_newa (LfTensor *, 2 * L);
  memset (kv, 0, sizeof (LfTensor *) * (size_t) (2 * L));
  if (route)
    {
      /* the set is per batch: an evaluation batch holds one experience */
      if (!peft_route_uniform (route, n))
        s->mixed_batches++;
      prefix_tensors (s, s->sets->pdata[route[0] >= 0 ? route[0] : (int32_t) s->sets->len - 1], kv);
    }
  for (int64_t l = 0; l < L; l++)
    {
      lf_module_set_slot (s->attn->pdata[l], "prefix_key", kv[2 * l]);
      lf_module_set_slot (s->attn->pdata[l], "prefix_value", kv[2 * l + 1]);
    }
  return y;
}

static void
prefix_add (Prefix *s, LfStrategyCtx *ctx)
{
  int64_t e = s->sets->len, L = s->attn->len;
  g_autofree char *name = g_strdup_printf ("%" G_GINT64_FORMAT, e);
  LfModule *set = lf_module_new (name, LF_MODULE_CUSTOM, NULL, NULL);
  lf_module_add_child (s->own, set);
  uint64_t key = lf_ctx_rng_key (ctx, "prefix-init");
  if (s->hidden == 0)
    for (int64_t l = 0; l < L; l++)
      {
        int64_t shape[2] = { s->length, s->kv };
        g_autofree char *kn = g_strdup_printf ("key_%" G_GINT64_FORMAT, l);
        g_autofree char *vn = g_strdup_printf ("value_%" G_GINT64_FORMAT, l);
        /* N(0, 0.02), the scale of the model's own initialisation */
        peft_init_normal (lf_module_add_param (set, kn, 2, shape), 0.02, lf_rng_key (key, 2 * l, 0, 0, "k"));
        peft_init_normal (lf_module_add_param (set, vn, 2, shape), 0.02, lf_rng_key (key, 2 * l + 1, 0, 0, "v"));
      }
  else
    {
      int64_t es[2] = { s->length, s->d };
      peft_init_normal (lf_module_add_param (set, "embedding", 2, es), 1.0, lf_rng_key (key, 0, 0, 0, "emb"));
      LfModule *down = lf_module_new_linear ("down", s->d, s->hidden, TRUE);
      LfModule *up = lf_module_new_linear ("up", s->hidden, 2 * L * s->kv, TRUE);
      lf_module_add_child (set, down);
      lf_module_add_child (set, up);
      lf_module_init_linear (down, lf_rng_key (key, 1, 0, 0, "down"));
      lf_module_init_linear (up, lf_rng_key (key, 2, 0, 0, "up"));
    }
  if (e > 0)
    {
      /* from the previous set, so that "the latest" continues it */
      g_autoptr (GPtrArray) mine = lf_module_params (set, "*", FALSE);
      g_autoptr (GPtrArray) prev = lf_module_params (s->sets->pdata[e - 1], "*", FALSE);
      for (guint i = 0; i < mine->len; i++)
        lf_tensor_copy_data (mine->pdata[i], prev->pdata[i]);
    }
  g_ptr_array_add (s->sets, set);
}

static void *
prefix_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  GPtrArray *attn = peft_need_attention (ctx, "prefix", error);
  if (attn == NULL)
    return NULL;
  LfModule *emb = peft_need_embedding (ctx, "prefix", error);
  LfTensor *kw = lf_module_param (lf_module_find (attn->pdata[0], "k_proj"), "weight");
  if (emb == NULL || kw == NULL)
    {
      if (emb && kw == NULL)
        g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "strategy prefix reads kv_dim from the attention's "
                     "k_proj.weight, and model %s's attention has none", lf_model_name (lf_ctx_model (ctx)));
      g_ptr_array_unref (attn);
      return NULL;
    }
  Prefix *s = g_new0 (Prefix, 1);
  s->attn = attn;
  s->length = lf_params_get_int (p, "length");
  s->hidden = lf_params_get_int (p, "reparam_hidden");
  s->kv = lf_tensor_dim (kw, 0);
  s->d = lf_tensor_dim (lf_module_param (emb, "weight"), 1);
  s->current = -1;
  s->sets = g_ptr_array_new ();
  s->own = peft_base_init (&s->base, ctx, "prefix", "prefix", lf_params_get_bool (p, "train_head"));
  lf_module_add_post_hook (emb, prefix_hook, s, NULL);
  return s;
}

static void
prefix_destroy (void *self)
{
  Prefix *s = self;
  peft_base_clear (&s->base);
  g_ptr_array_unref (s->attn);
  g_ptr_array_unref (s->sets);
  g_free (s);
}

static gboolean
prefix_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Prefix *s = self;
  int64_t e = MAX (lf_ctx_experience (ctx), 0);
  while (s->sets->len <= (guint) e)
    prefix_add (s, ctx);
  for (guint i = 0; i < s->sets->len; i++)
    lf_module_freeze (s->sets->pdata[i], "*", (int64_t) i != e);
  s->current = e;
  /* the attention reads the strategy's prefixes: the logits move */
  g_autofree char *key = g_strdup_printf ("prefix_effect_at_start_%" G_GINT64_FORMAT, e);
  lf_ctx_report_number (ctx, key, peft_logit_change (&s->base, ctx, lf_ctx_model (ctx)));
  peft_base_begin (&s->base, ctx, e);
  return TRUE;
}

static gboolean
prefix_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) ctx; (void) error;
  Prefix *s = self;
  s->current = -1;
  lf_module_freeze (s->own, "*", TRUE);
  return TRUE;
}

static void
prefix_report (void *self, LfStrategyCtx *ctx)
{
  Prefix *s = self;
  peft_base_report (&s->base, ctx);
  lf_ctx_report_number (ctx, "prefix_sets", s->sets->len);
  lf_ctx_report_number (ctx, "layers", s->attn->len);
  lf_ctx_report_number (ctx, "kv_dim", (double) s->kv);
  lf_ctx_report_number (ctx, "mixed_task_batches", (double) s->mixed_batches);
}

static gboolean
prefix_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Prefix *s = self;
  peft_base_save (&s->base, st);
  lf_state_put_int (st, "prefix.count", s->sets->len);
  return TRUE;
}

static gboolean
prefix_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  Prefix *s = self;
  int64_t n;
  if (!peft_base_load (&s->base, st, error))
    return FALSE;
  if (!lf_state_get_int (st, "prefix.count", &n))
    n = 0;
  while (s->sets->len < (guint) n)
    prefix_add (s, ctx);
  lf_module_freeze (s->own, "*", TRUE);
  return TRUE;
}

static size_t
prefix_memory_bytes (void *self)
{
  return sizeof (Prefix) + ((Prefix *) self)->sets->len * sizeof (void *);
}

static const LfStrategyVTable prefix_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = prefix_create,
  .destroy = prefix_destroy,
  .before_experience = prefix_before_experience,
  .after_experience = prefix_after_experience,
  .report = prefix_report,
  .save = prefix_save,
  .load = prefix_load,
  .memory_bytes = prefix_memory_bytes,
};

static const char *const prefix_kinds[] = { "transformer", NULL };
static const LfCapabilities prefix_caps = {
  .touches = LF_TOUCHES_STRUCTURE | LF_TOUCHES_OPTIMIZER,
  .supports = LF_SUPPORTS_CLASSIFICATION | LF_SUPPORTS_LANGUAGE_MODEL,
  .model_kinds = prefix_kinds,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "prefix",
    .version = "0.1.0",
    .summary = "prefix tuning (Li & Liang, ACL 2021): learned key/value prefixes in every attention layer, "
               "optionally through a reparameterisation MLP; the model frozen; one set per experience",
    .params = prefix_params,
    .caps = &prefix_caps,
    .vtable = &prefix_vtable,
  };
  return &info;
}
