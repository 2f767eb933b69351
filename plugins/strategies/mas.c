/* lifelong plugin — strategy "mas": Memory Aware Synapses (Aljundi et al.,
 * ECCV 2018).  A parameter's importance is how much the learned function
 * changes when it moves, measured without labels:
 *   Omega_new = 1/N sum_x | d ||f(x)||_2^2 / d theta |
 * over `importance_samples` training samples of the experience (the paper's
 * squared L2 norm of the output, Eq. 4; the per-sample absolute gradients
 * are summed exactly in batches of `importance_batch`, for a linear
 * |delta|^T |a|, or with importance_batch = 1 one sample at a time),
 * accumulated over experiences (Omega += Omega_new, as the paper and its reference code), and
 * later experiences pay lambda * sum Omega (theta - theta*)^2, theta* the
 * weights after the previous experience, applied as its gradient added to
 * .grad after backward (one pass, lf_quadratic_penalty_add_grad: the loss
 * the host logs is the task's).
 *
 * f(x) is the output the scenario trains: the raw logits of the classes
 * seen so far (class- and domain-incremental), or of the sample's own task
 * (task-incremental: the host's -1e9 task mask must not enter a norm). */
#include <lifelong/lifelong.h>
#include <math.h>

enum {
  MAS_FIG_QUAD_START,      /* sum Omega (theta - theta*)^2 at the first step of the last experience */
  MAS_FIG_PENALTY_START,   /* lambda times that                               */
  MAS_FIG_PENALTY_LAST,    /* the penalty at the last step                    */
  MAS_FIG_DRIFT,           /* |theta - theta*| at the end of the last experience */
  MAS_FIG_SAMPLES,         /* samples the last Omega_new averaged             */
  MAS_FIG_COUNT
};

typedef struct {
  double         lambda;
  int64_t        samples;
  int64_t        batch;       /* samples per importance pass (1: one at a time) */
  int            n;           /* trainable parameters at create          */
  LfTensor     **params;      /* borrowed from the model, in tree order  */
  LfImportance  *omega;       /* accumulated importance                  */
  LfSnapshot    *anchor;      /* the weights after the latest experience */
  int64_t        n_exp, done;
  double        *history;     /* (n_exp, n): total Omega of each parameter after each experience */
  gboolean       first_step;
  double         fig[MAS_FIG_COUNT];   /* figures, kept in checkpoints */
} Mas;

static const LfParam mas_params[] = {
  { "lambda", LF_PARAM_FLOAT, "1", 0, 1e15, NULL,
    "strength: the loss gains lambda * sum Omega (theta - theta*)^2 (Aljundi et al.'s lambda)" },
  { "importance_samples", LF_PARAM_INT, "500", 0, 1e9, NULL,
    "training samples of each experience the importance averages (0: every sample)" },
  { "importance_batch", LF_PARAM_INT, "64", 1, 1e9, NULL,
    "samples per importance pass: the per-sample absolute gradients of a batch are summed exactly "
    "(plain linears; other parameters one sample at a time); 1: every sample its own pass" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
mas_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  int64_t T = lf_ctx_n_experiences (ctx);
  if (T < 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "mas needs experience boundaries");
      return NULL;
    }
  Mas *s = g_new0 (Mas, 1);
  s->lambda = lf_params_get_float (p, "lambda");
  s->samples = lf_params_get_int (p, "importance_samples");
  s->batch = lf_params_get_int (p, "importance_batch");
  g_autoptr (GPtrArray) ps = lf_model_params (lf_ctx_model (ctx), TRUE);
  s->n = (int) ps->len;
  s->params = g_memdup2 (ps->pdata, sizeof (LfTensor *) * (gsize) MAX (s->n, 1));
  s->omega = lf_importance_new (s->n, s->params);
  s->n_exp = T;
  s->history = g_new0 (double, (gsize) MAX (T * s->n, 1));
  for (int k = 0; k < MAS_FIG_COUNT; k++)
    s->fig[k] = NAN;
  return s;
}

static void
mas_destroy (void *self)
{
  Mas *s = self;
  lf_importance_free (s->omega);
  lf_snapshot_free (s->anchor);
  g_free (s->params);
  g_free (s->history);
  g_free (s);
}

static gboolean
mas_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) ctx; (void) error;
  ((Mas *) self)->first_step = TRUE;
  return TRUE;
}

/* lambda * sum Omega (theta - theta*)^2: its gradient 2 lambda Omega
 * (theta - theta*) is added to .grad in one pass that also measures the
 * value (lf_quadratic_penalty_add_grad); no loss term, no tape node. */
static void
mas_after_backward (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) ctx; (void) batch;
  Mas *s = self;
  if (s->anchor == NULL)
    return;
  LfTensor **anchors = lf_scope_alloc (sizeof (LfTensor *) * (size_t) MAX (s->n, 1));
  lf_snapshot_lookup (s->anchor, s->n, s->params, anchors);
  double qv = lf_quadratic_penalty_add_grad (s->n, s->params, anchors, s->omega, s->lambda);
  if (s->first_step)
    {
      s->fig[MAS_FIG_QUAD_START] = qv;
      s->fig[MAS_FIG_PENALTY_START] = s->lambda * qv;
      s->first_step = FALSE;
    }
  s->fig[MAS_FIG_PENALTY_LAST] = s->lambda * qv;
}

/* The output columns f(x) reads for experience e, as a 0/1 row (C) in the
 * current scope: the task's classes (task-incremental) or every class seen
 * through e. */
static LfTensor *
mas_column_mask (LfStrategyCtx *ctx, int64_t e, int64_t C)
{
  int64_t shape[2] = { 1, C };
  LfTensor *mask = lf_tensor_zeros (2, shape);
  LfReal *m = lf_tensor_data (mask);
  gboolean task = lf_ctx_spec (ctx)->multi_head;
  for (int64_t k = task ? e : 0; k <= e; k++)
    {
      int64_t n;
      const int64_t *ids = lf_ctx_experience_samples (ctx, k, &n);
      int32_t *labels = g_new (int32_t, MAX (n, 1));
      lf_ctx_labels (ctx, ids, n, labels);
      for (int64_t i = 0; i < n; i++)
        if (labels[i] >= 0 && labels[i] < C)
          m[labels[i]] = 1;
      g_free (labels);
    }
  return mask;
}

/* The samples of an importance estimate, for lf_importance_add_per_sample. */
typedef struct {
  LfStrategyCtx *ctx;
  const int64_t *ids;
  LfTensor      *mask;   /* (1, C): the columns f(x) reads */
} MasSamples;

/* sum over samples [first, first + count) of ||f(x)||_2^2 (raw logits, no
 * task mask, the columns of mask) */
static LfTensor *
mas_sample_loss (void *user, int64_t first, int64_t count)
{
  MasSamples *u = user;
  LfBatch *b = lf_ctx_batch (u->ctx, u->ids + first, count);
  LfModelOutput out;
  lf_model_forward (lf_ctx_model (u->ctx), b, FALSE, &out);
  return lf_sum (lf_sqr (lf_mul (out.logits, u->mask)));
}

/* Omega += 1/N |d ||f(x)||^2 / d theta| over N samples of experience e;
 * returns N. */
static int64_t
mas_importance (Mas *s, LfStrategyCtx *ctx, int64_t e, LfImportance *into)
{
  int64_t n_all;
  const int64_t *all = lf_ctx_experience_samples (ctx, e, &n_all);
  int64_t N = s->samples > 0 ? MIN (s->samples, n_all) : n_all;
  if (N <= 0)
    return 0;
  /* the first N of a partial Fisher-Yates shuffle: a uniform sample
   * without replacement */
  g_autofree int64_t *ids = g_memdup2 (all, (gsize) n_all * sizeof (int64_t));
  LfRng rng;
  lf_rng_init (&rng, lf_ctx_rng_key (ctx, "mas-importance"));
  for (int64_t i = 0; i < N; i++)
    {
      int64_t j = i + (int64_t) lf_rng_below (&rng, (uint64_t) (n_all - i)), t = ids[i];
      ids[i] = ids[j];
      ids[j] = t;
    }
  LfModel *model = lf_ctx_model (ctx);
  int64_t C = lf_model_spec (model)->n_classes;
  /* the mask lives in a scope around the per-sample ones */
  lf_tape_push (FALSE);
  LfTensor *mask = mas_column_mask (ctx, e, C);
  if (s->batch > 1)
    {
      MasSamples u = { ctx, ids, mask };
      lf_importance_add_per_sample (into, lf_model_root (model), LF_IMPORTANCE_ABSOLUTE, N, s->batch,
                                    mas_sample_loss, &u, 1.0 / (double) N);
      lf_tape_pop ();
      return N;
    }
  /* importance_batch = 1: one pass per sample */
  LfReal **grads = g_new (LfReal *, MAX (s->n, 1));
  for (int i = 0; i < s->n; i++)
    grads[i] = g_new (LfReal, MAX (lf_tensor_numel (s->params[i]), 1));
  for (int64_t k = 0; k < N; k++)
    {
      lf_tape_push (TRUE);
      LfBatch *b = lf_ctx_batch (ctx, ids + k, 1);
      LfModelOutput out;
      lf_model_forward (model, b, FALSE, &out);   /* raw logits (1, C): no task mask */
      LfTensor *norm2 = lf_sum (lf_sqr (lf_mul (out.logits, mask)));   /* ||f(x)||_2^2 */
      lf_grad_into (norm2, s->n, s->params, grads);
      lf_tape_pop ();
      lf_importance_add_abs (into, (const LfReal *const *) grads, 1.0 / (double) N);
    }
  lf_tape_pop ();
  for (int i = 0; i < s->n; i++)
    g_free (grads[i]);
  g_free (grads);
  return N;
}

/* |theta - anchor| over the trainable parameters the anchor has */
static double
mas_distance (Mas *s, LfSnapshot *anchor)
{
  double d2 = 0;
  for (int i = 0; i < s->n; i++)
    {
      LfTensor *a = lf_snapshot_get (anchor, lf_tensor_name (s->params[i]));
      if (a == NULL || lf_tensor_numel (a) != lf_tensor_numel (s->params[i]))
        continue;
      const LfReal *t = lf_tensor_data (s->params[i]), *x = lf_tensor_data (a);
      for (int64_t k = 0; k < lf_tensor_numel (a); k++)
        d2 += ((double) t[k] - x[k]) * ((double) t[k] - x[k]);
    }
  return sqrt (d2);
}

static gboolean
mas_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Mas *s = self;
  int64_t e = lf_ctx_experience (ctx);
  if (s->anchor)
    s->fig[MAS_FIG_DRIFT] = mas_distance (s, s->anchor);
  s->fig[MAS_FIG_SAMPLES] = (double) mas_importance (s, ctx, e, s->omega);
  if (e >= 0 && e < s->n_exp)
    {
      for (int i = 0; i < s->n; i++)
        {
          LfTensor *v = lf_importance_values (s->omega, i);
          const LfReal *w = lf_tensor_data (v);
          double tot = 0;
          for (int64_t k = 0; k < lf_tensor_numel (v); k++)
            tot += w[k];
          s->history[e * s->n + i] = tot;
        }
      s->done = e + 1;
    }
  lf_snapshot_free (s->anchor);
  s->anchor = lf_snapshot_take (lf_model_root (lf_ctx_model (ctx)), TRUE);
  return TRUE;
}

static void
mas_report (void *self, LfStrategyCtx *ctx)
{
  Mas *s = self;
  lf_ctx_report_number (ctx, "omega_total", lf_importance_total (s->omega));
  const char *keys[MAS_FIG_COUNT] = { "quadratic_at_start", "penalty_at_start", "penalty_last",
                                      "anchor_distance", "importance_samples_used" };
  for (int k = 0; k < MAS_FIG_COUNT; k++)
    if (!isnan (s->fig[k]))
      lf_ctx_report_number (ctx, keys[k], s->fig[k]);
  /* {"layers.0.weight": [total Omega after experience 0, after 1, ...], ...} */
  g_autoptr (GString) js = g_string_new ("{");
  for (int i = 0; i < s->n; i++)
    {
      g_string_append_printf (js, "%s\"%s\": [", i ? ", " : "", lf_tensor_name (s->params[i]));
      for (int64_t k = 0; k < s->done; k++)
        g_string_append_printf (js, "%s%.9g", k ? ", " : "", s->history[k * s->n + i]);
      g_string_append_c (js, ']');
    }
  g_string_append_c (js, '}');
  lf_ctx_report_json (ctx, "omega_by_param", js->str);
}

static gboolean
mas_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Mas *s = self;
  lf_state_put_int (st, "mas.done", s->done);
  lf_state_put_int (st, "mas.has_anchor", s->anchor != NULL);
  for (int i = 0; i < s->n; i++)
    {
      const char *name = lf_tensor_name (s->params[i]);
      g_autofree char *ok = g_strconcat ("omega.", name, NULL);
      lf_state_put_tensor (st, ok, lf_importance_values (s->omega, i));
      LfTensor *a = s->anchor ? lf_snapshot_get (s->anchor, name) : NULL;
      if (a)
        {
          g_autofree char *ak = g_strconcat ("anchor.", name, NULL);
          lf_state_put_tensor (st, ak, a);
        }
    }
  lf_state_put_bytes (st, "mas.figures", s->fig, sizeof s->fig);
  lf_state_put_bytes (st, "mas.history", s->history, sizeof (double) * (size_t) (s->n_exp * s->n));
  return TRUE;
}

/* Copies the stored tensor key into dst (same number of elements). */
static gboolean
mas_restore_tensor (const LfState *st, const char *key, LfTensor *dst, GError **error)
{
  g_autoptr (LfTensor) t = lf_state_get_tensor (st, key);
  if (t == NULL || lf_tensor_numel (t) != lf_tensor_numel (dst))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "mas: the checkpoint %s tensor %s",
                   t ? "has another shape for" : "lacks", key);
      return FALSE;
    }
  lf_tensor_copy_data (dst, t);
  return TRUE;
}

static gboolean
mas_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  Mas *s = self;
  int64_t has = 0, done = 0;
  if (!lf_state_get_int (st, "mas.has_anchor", &has) || !lf_state_get_int (st, "mas.done", &done)
      || done < 0 || done > s->n_exp)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "mas: the checkpoint has no mas state");
      return FALSE;
    }
  g_clear_pointer (&s->anchor, lf_snapshot_free);
  if (has)
    s->anchor = lf_snapshot_take (lf_model_root (lf_ctx_model (ctx)), TRUE);   /* values below */
  for (int i = 0; i < s->n; i++)
    {
      const char *name = lf_tensor_name (s->params[i]);
      g_autofree char *ok = g_strconcat ("omega.", name, NULL);
      g_autofree char *ak = g_strconcat ("anchor.", name, NULL);
      LfTensor *dst = s->anchor ? lf_snapshot_get (s->anchor, name) : NULL;
      if (!mas_restore_tensor (st, ok, lf_importance_values (s->omega, i), error)
          || (dst && !mas_restore_tensor (st, ak, dst, error)))
        return FALSE;
    }
  s->done = done;
  size_t nb;
  const void *b = lf_state_get_bytes (st, "mas.figures", &nb);
  if (b && nb == sizeof s->fig)
    memcpy (s->fig, b, nb);
  b = lf_state_get_bytes (st, "mas.history", &nb);
  if (b && nb == sizeof (double) * (size_t) (s->n_exp * s->n))
    memcpy (s->history, b, nb);
  return TRUE;
}

static size_t
mas_memory_bytes (void *self)
{
  Mas *s = self;
  size_t b = sizeof *s + lf_importance_bytes (s->omega) + sizeof (double) * (size_t) (s->n_exp * s->n);
  if (s->anchor)
    b += lf_snapshot_bytes (s->anchor);
  return b;
}

static const LfStrategyVTable mas_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = mas_create,
  .destroy = mas_destroy,
  .before_experience = mas_before_experience,
  .after_backward = mas_after_backward,
  .after_experience = mas_after_experience,
  .report = mas_report,
  .save = mas_save,
  .load = mas_load,
  .memory_bytes = mas_memory_bytes,
};

static const LfCapabilities mas_caps = {
  .touches = LF_TOUCHES_GRADIENTS,   /* the penalty's gradient, added after backward */
  .needs = LF_NEEDS_BOUNDARIES,
  .supports = LF_SUPPORTS_CLASSIFICATION,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "mas",
    .version = "0.1.0",
    .summary = "Memory Aware Synapses (Aljundi et al., ECCV 2018): importance = mean |d ||f(x)||_2^2 / d theta| "
               "without labels, accumulated over experiences; penalty lambda * Omega (theta - theta*)^2",
    .params = mas_params,
    .caps = &mas_caps,
    .vtable = &mas_vtable,
  };
  return &info;
}
