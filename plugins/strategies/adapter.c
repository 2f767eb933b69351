/* lifelong plugin — strategy "adapter": bottleneck adapters (Houlsby,
 * Giurgiu, Jastrzebski, Morrone, de Laroussilhe, Gesmundo, Attariyan & Gelly,
 * "Parameter-Efficient Transfer Learning for NLP", ICML 2019).  After each
 * target module, y <- y + up (act (down (y))), down (d -> r), up (r -> d)
 * zero-initialised (so a new adapter changes nothing); the model is frozen
 * (the classifier head trains when train_head).  Targets: the transformer's
 * attention and/or feed-forward outputs (before the residual add, where
 * Houlsby et al. put them), or the MLP's hidden linears (before the
 * activation).  One adapter set per experience, earlier ones frozen; a
 * sample uses its task's set when the scenario gives task ids, else the set
 * whose key (the mean direction of the frozen model's features over that
 * experience's training data) is nearest to its own frozen feature. */
#include "peft-common.h"
#include <math.h>

typedef enum { ADAPTER_RELU, ADAPTER_GELU, ADAPTER_SILU, ADAPTER_TANH } AdapterAct;

typedef struct {
  PeftBase   base;
  int64_t    rank;
  AdapterAct act;
  LfModel   *model;
  LfModule  *own;
  GPtrArray *targets;     /* borrowed target modules                        */
  GPtrArray *holders;     /* borrowed "adapter.<t>" modules, one per target  */
  int64_t   *widths;      /* d of each target's output                       */
  int64_t    n_sets, current;
  LfTensor  *keys;        /* owned (max sets, d_query), rows 0..n_keys-1 filled */
  int64_t    n_keys;
  int32_t   *route;       /* this forward's set per sample (scope memory), or NULL */
  int64_t   *routed;      /* evaluation samples per set                      */
  int64_t    routed_cap;
} Adapter;

static const LfParam adapter_params[] = {
  { "bottleneck", LF_PARAM_INT, "16", 1, 1e6, NULL, "r: the adapter's hidden width (down d -> r, up r -> d)" },
  { "where", LF_PARAM_STRING, "\"both\"", 0, 0, "attention|feedforward|both",
    "transformer: after the attention, the feed-forward, or both (MLP: after every hidden linear)" },
  { "activation", LF_PARAM_STRING, "\"relu\"", 0, 0, "relu|gelu|silu|tanh", "the nonlinearity between down and up" },
  { "train_head", LF_PARAM_BOOL, "true", 0, 0, NULL,
    "the classifier head trains with the adapters (one head per task: only the current task's)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static LfTensor *
adapter_one (Adapter *s, LfModule *set, LfTensor *y)
{
  LfModule *down = lf_module_find (set, "down"), *up = lf_module_find (set, "up");
  LfTensor *h = lf_linear (y, lf_module_param (down, "weight"), lf_module_param (down, "bias"));
  switch (s->act)
    {
    case ADAPTER_GELU: h = lf_gelu (h); break;
    case ADAPTER_SILU: h = lf_silu (h); break;
    case ADAPTER_TANH: h = lf_tanh (h); break;
    case ADAPTER_RELU:
    default: h = lf_relu (h); break;
    }
  return lf_linear (h, lf_module_param (up, "weight"), lf_module_param (up, "bias"));
}

/* The target's post-hook: y + adapter (y), each sample through its set
 * (one pass per set in the batch, rows of other sets multiplied by 0). */
static LfTensor *
adapter_hook (LfModule *m, LfTensor *x, LfTensor *y, LfForward *fwd, void *user)
{
  (void) m; (void) x; (void) fwd;
  Adapter *s = ((Adapter **) user)[0];
  LfModule *holder = s->holders->pdata[GPOINTER_TO_INT (((void **) user)[1])];
  if (s->route == NULL || s->base.bypass)
    return y;
  int64_t n = lf_tensor_dim (y, 0);
  if (peft_route_uniform (s->route, n))
    return lf_add (y, adapter_one (s, lf_module_child (holder, s->route[0]), y));
  LfTensor *sum = NULL;
  for (int64_t g = 0; g < s->n_sets; g++)
    {
      int64_t rows = 0;
      for (int64_t i = 0; i < n; i++)
        rows += s->route[i] == g;
      if (rows == 0)
        continue;
      int64_t ms[3] = { n, 1, 1 };
      LfTensor *mask = lf_tensor_zeros (lf_tensor_ndim (y), ms);
      for (int64_t i = 0; i < n; i++)
        lf_tensor_data (mask)[i] = s->route[i] == g;
      LfTensor *a = lf_mul (adapter_one (s, lf_module_child (holder, (int) g), y), mask);
      sum = sum ? lf_add (sum, a) : a;
    }
  return lf_add (y, sum);
}

/* The first target's pre-hook: this forward's routing (training: the
 * current set; task ids; else key matching on the frozen feature). */
static LfTensor *
adapter_route_hook (LfModule *m, LfTensor *x, LfForward *fwd, void *user)
{
  (void) m;
  Adapter *s = user;
  if (s->base.bypass)
    return x;
  int64_t n = lf_tensor_dim (x, 0);
  s->route = peft_route (fwd, n, s->n_sets, s->current);
  if (s->route == NULL || s->route[0] >= 0)
    goto count;
  if (s->n_keys == 0 || fwd->batch == NULL || fwd->batch->n != n)
    {
      for (int64_t i = 0; i < n; i++)
        s->route[i] = (int32_t) (s->n_sets - 1);
      goto count;
    }
  LfTensor *q = peft_query (&s->base, s->model, fwd->batch);
  peft_select_topn (lf_tensor_data (q), n, lf_tensor_data (s->keys), s->n_keys, lf_tensor_dim (s->keys, 1), 1,
                    s->route);
count:
  if (s->route && !fwd->training)
    for (int64_t i = 0; i < n; i++)
      if (s->route[i] < s->routed_cap)
        s->routed[s->route[i]]++;
  return x;
}

static void
adapter_add_set (Adapter *s, LfStrategyCtx *ctx)
{
  int64_t e = s->n_sets;
  for (guint t = 0; t < s->holders->len; t++)
    {
      g_autofree char *name = g_strdup_printf ("%" G_GINT64_FORMAT, e);
      LfModule *set = lf_module_new (name, LF_MODULE_CUSTOM, NULL, NULL);
      lf_module_add_child (s->holders->pdata[t], set);
      LfModule *down = lf_module_new_linear ("down", s->widths[t], s->rank, TRUE);
      LfModule *up = lf_module_new_linear ("up", s->rank, s->widths[t], TRUE);   /* zero: the identity */
      lf_module_add_child (set, down);
      lf_module_add_child (set, up);
      lf_module_init_linear (down, lf_rng_key (lf_ctx_rng_key (ctx, "adapter-init"), t, 0, 0, "down"));
    }
  s->n_sets++;
}

static void
adapter_free_hook_user (void *u)
{
  g_free (u);
}

static void *
adapter_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  LfModel *model = lf_ctx_model (ctx);
  LfModule *root = lf_model_root (model);
  const char *where = lf_params_get_string (p, "where");
  g_autoptr (GPtrArray) targets = g_ptr_array_new ();
  g_autoptr (GPtrArray) attn = lf_module_find_all (root, "*", LF_MODULE_ATTENTION);
  LfModule *emb = NULL;
  if (attn->len > 0)
    {
      g_autoptr (GPtrArray) e = lf_module_find_all (root, "*", LF_MODULE_EMBEDDING);
      emb = e->len ? e->pdata[0] : NULL;
      /* attention then feed-forward, layer by layer: tree order */
      g_autoptr (GPtrArray) all = lf_module_find_all (root, "*", -1);
      for (guint i = 0; i < all->len; i++)
        {
          LfModuleKind k = lf_module_kind (all->pdata[i]);
          if ((k == LF_MODULE_ATTENTION && !g_str_equal (where, "feedforward"))
              || (k == LF_MODULE_FEEDFORWARD && !g_str_equal (where, "attention")))
            g_ptr_array_add (targets, all->pdata[i]);
        }
    }
  else
    {
      /* the MLP's hidden linears: layers.N */
      g_autoptr (GPtrArray) lin = lf_module_find_all (root, "layers.*", LF_MODULE_LINEAR);
      for (guint i = 0; i < lin->len; i++)
        g_ptr_array_add (targets, lin->pdata[i]);
    }
  if (targets->len == 0 || (attn->len > 0 && emb == NULL))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "strategy adapter found nothing to adapt in model %s "
                   "(it adapts a transformer's attention / feed-forward modules or an MLP's hidden linears "
                   "layers.N)", lf_model_name (model));
      return NULL;
    }
  Adapter *s = g_new0 (Adapter, 1);
  s->rank = lf_params_get_int (p, "bottleneck");
  const char *act = lf_params_get_string (p, "activation");
  s->act = g_str_equal (act, "gelu") ? ADAPTER_GELU : g_str_equal (act, "silu") ? ADAPTER_SILU
         : g_str_equal (act, "tanh") ? ADAPTER_TANH : ADAPTER_RELU;
  s->model = model;
  s->current = -1;
  s->targets = g_ptr_array_ref (targets);
  s->holders = g_ptr_array_new ();
  s->widths = g_new (int64_t, targets->len);
  s->own = peft_base_init (&s->base, ctx, "adapter", "adapter", lf_params_get_bool (p, "train_head"));
  for (guint t = 0; t < targets->len; t++)
    {
      LfModule *tm = targets->pdata[t];
      s->widths[t] = emb ? lf_tensor_dim (lf_module_param (emb, "weight"), 1)
                         : lf_tensor_dim (lf_module_param (tm, "weight"), 0);
      g_autofree char *name = g_strdup_printf ("%u", t);
      LfModule *holder = lf_module_new (name, LF_MODULE_CUSTOM, NULL, NULL);
      lf_module_add_child (s->own, holder);
      g_ptr_array_add (s->holders, holder);
      void **user = g_new (void *, 2);
      user[0] = s;
      user[1] = GINT_TO_POINTER (t);
      lf_module_add_post_hook (tm, adapter_hook, user, adapter_free_hook_user);
    }
  lf_module_add_pre_hook (targets->pdata[0], adapter_route_hook, s, NULL);
  return s;
}

static void
adapter_destroy (void *self)
{
  Adapter *s = self;
  peft_base_clear (&s->base);
  g_ptr_array_unref (s->targets);
  g_ptr_array_unref (s->holders);
  g_free (s->widths);
  g_free (s->routed);
  lf_tensor_free (s->keys);
  g_free (s);
}

static gboolean
adapter_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Adapter *s = self;
  int64_t e = MAX (lf_ctx_experience (ctx), 0);
  gboolean fresh = FALSE;
  while (s->n_sets <= e)
    {
      adapter_add_set (s, ctx);
      fresh = TRUE;
    }
  if (s->routed_cap < s->n_sets)
    {
      s->routed = g_renew (int64_t, s->routed, s->n_sets);
      for (int64_t g = s->routed_cap; g < s->n_sets; g++)
        s->routed[g] = 0;
      s->routed_cap = s->n_sets;
    }
  for (guint t = 0; t < s->holders->len; t++)
    for (int64_t g = 0; g < s->n_sets; g++)
      lf_module_freeze (lf_module_child (s->holders->pdata[t], (int) g), "*", g != e);
  if (fresh)
    {
      /* the new set is the latest: key matching off, so every sample takes it */
      int64_t keys = s->n_keys;
      s->n_keys = 0;
      s->current = s->n_sets - 1;
      double d = peft_logit_change (&s->base, ctx, s->model);
      s->n_keys = keys;
      g_autofree char *key = g_strdup_printf ("zero_init_max_diff_%" G_GINT64_FORMAT, e);
      lf_ctx_report_number (ctx, key, d);
    }
  s->current = e;
  peft_base_begin (&s->base, ctx, e);
  return TRUE;
}

/* The key of the experience's set: the mean of its training samples'
 * unit-length frozen features, renormalised. */
static gboolean
adapter_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Adapter *s = self;
  int64_t e = s->current, n;
  s->current = -1;
  for (guint t = 0; t < s->holders->len; t++)
    lf_module_freeze (s->holders->pdata[t], "*", TRUE);
  const int64_t *ids = lf_ctx_experience_samples (ctx, MAX (lf_ctx_experience (ctx), 0), &n);
  g_autofree double *acc = NULL;
  int64_t d = 0;
  for (int64_t off = 0; off < n; off += 256)
    {
      lf_tape_push (FALSE);
      LfBatch *b = lf_ctx_batch (ctx, ids + off, MIN (256, n - off));
      LfTensor *q = peft_query (&s->base, s->model, b);
      d = lf_tensor_dim (q, 1);
      if (acc == NULL)
        acc = g_new0 (double, d);
      const LfReal *qd = lf_tensor_data (q);
      for (int64_t i = 0; i < b->n; i++)
        {
          double nn = peft_norm (qd + i * d, d);
          nn = nn > 0 ? nn : 1;
          for (int64_t j = 0; j < d; j++)
            acc[j] += qd[i * d + j] / nn;
        }
      lf_tape_pop ();
    }
  if (acc == NULL || e < 0)
    return TRUE;
  if (s->keys == NULL || lf_tensor_dim (s->keys, 0) <= e)
    {
      int64_t shape[2] = { MAX (e + 1, 2 * s->n_keys + 1), d };
      LfTensor *k = lf_tensor_new_owned (2, shape);
      lf_tensor_fill (k, 0);
      if (s->keys)
        memcpy (lf_tensor_data (k), lf_tensor_data (s->keys), sizeof (LfReal) * (size_t) (s->n_keys * d));
      lf_tensor_free (s->keys);
      s->keys = k;
    }
  for (int64_t j = 0; j < d; j++)
    lf_tensor_data (s->keys)[e * d + j] = (LfReal) (acc[j] / (double) MAX (n, 1));
  s->n_keys = MAX (s->n_keys, e + 1);
  return TRUE;
}

static void
adapter_report (void *self, LfStrategyCtx *ctx)
{
  Adapter *s = self;
  peft_base_report (&s->base, ctx);
  lf_ctx_report_number (ctx, "adapter_sets", (double) s->n_sets);
  lf_ctx_report_number (ctx, "targets", s->targets->len);
  peft_report_ints (ctx, "evaluation_samples_per_set", s->routed, s->routed_cap);
}

static gboolean
adapter_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Adapter *s = self;
  peft_base_save (&s->base, st);
  lf_state_put_int (st, "adapter.sets", s->n_sets);
  lf_state_put_int (st, "adapter.keys", s->n_keys);
  if (s->keys)
    lf_state_put_tensor (st, "adapter.key_table", s->keys);
  return TRUE;
}

static gboolean
adapter_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  Adapter *s = self;
  int64_t n = 0;
  if (!peft_base_load (&s->base, st, error))
    return FALSE;
  lf_state_get_int (st, "adapter.sets", &n);
  while (s->n_sets < n)
    adapter_add_set (s, ctx);
  lf_state_get_int (st, "adapter.keys", &s->n_keys);
  lf_tensor_free (s->keys);
  s->keys = lf_state_get_tensor (st, "adapter.key_table");
  if (s->n_keys > 0 && s->keys == NULL)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "adapter: the checkpoint lacks adapter.key_table");
      return FALSE;
    }
  s->routed = g_renew (int64_t, s->routed, MAX (s->n_sets, 1));
  memset (s->routed, 0, sizeof (int64_t) * (size_t) MAX (s->n_sets, 1));
  s->routed_cap = s->n_sets;
  lf_module_freeze (s->own, "*", TRUE);
  return TRUE;
}

static size_t
adapter_memory_bytes (void *self)
{
  Adapter *s = self;
  return sizeof (Adapter) + (s->keys ? (size_t) lf_tensor_numel (s->keys) * sizeof (LfReal) : 0);
}

static const LfStrategyVTable adapter_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = adapter_create,
  .destroy = adapter_destroy,
  .before_experience = adapter_before_experience,
  .after_experience = adapter_after_experience,
  .report = adapter_report,
  .save = adapter_save,
  .load = adapter_load,
  .memory_bytes = adapter_memory_bytes,
};

static const LfCapabilities adapter_caps = {
  .touches = LF_TOUCHES_STRUCTURE | LF_TOUCHES_OPTIMIZER | LF_TOUCHES_INFERENCE,
  .supports = LF_SUPPORTS_CLASSIFICATION | LF_SUPPORTS_LANGUAGE_MODEL,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "adapter",
    .version = "0.1.0",
    .summary = "bottleneck adapters (Houlsby et al., ICML 2019) after attention / feed-forward (transformer) or "
               "hidden linears (MLP), zero-initialised; one set per experience, by task id or key matching",
    .params = adapter_params,
    .caps = &adapter_caps,
    .vtable = &adapter_vtable,
  };
  return &info;
}
