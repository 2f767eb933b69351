/* lifelong plugin — strategy "online-ewc": online EWC (Schwarz et al.,
 * "Progress & Compress", ICML 2018).  One running diagonal Fisher and one
 * anchor instead of one pair per experience: after each experience
 *   F <- gamma F + F_new,   theta* <- theta,
 * and later experiences pay lambda/2 * sum F (theta - theta*)^2, applied
 * as its gradient lambda F (theta - theta*) added to .grad after backward
 * (one pass, lf_quadratic_penalty_add_grad: the loss the host logs is the
 * task's).
 *
 * F_new is estimated as in the "ewc" plugin: `fisher_samples` training
 * samples of the experience, each with the model's predicted label (arg-max
 * of its task-masked logits, no dropout), the per-sample squared gradients
 * summed exactly in batches of `fisher_batch` (lf_importance_add_per_sample)
 * or, with fisher_batch = 1, one sample at a time; side gradients in tape
 * scopes of their own. */
#include <lifelong/lifelong.h>
#include <math.h>

enum {
  ONLINE_EWC_FIG_QUAD_START,      /* sum F (theta - theta*)^2 at the first step of the last experience */
  ONLINE_EWC_FIG_PENALTY_START,   /* lambda/2 times that                               */
  ONLINE_EWC_FIG_PENALTY_LAST,    /* the penalty at the last step                      */
  ONLINE_EWC_FIG_DRIFT,           /* |theta - theta*| at the end of the last experience */
  ONLINE_EWC_FIG_SAMPLES,         /* samples the last F_new averaged                   */
  ONLINE_EWC_FIG_COUNT
};

typedef struct {
  double        lambda, gamma;
  int64_t       fisher_samples;
  int64_t       fisher_batch; /* samples per Fisher pass (1: one at a time) */
  int           n;            /* trainable parameters at create          */
  LfTensor    **params;       /* borrowed from the model, in tree order  */
  LfImportance *fisher;       /* the running F (NULL before the first experience ends) */
  LfSnapshot   *anchor;       /* the weights after the latest experience */
  int64_t       n_exp, done;  /* experiences in the scenario, consolidated so far */
  double       *total;        /* (n_exp): total of the running F after each experience */
  double       *total_new;    /* (n_exp): total of F_new of each experience */
  gboolean      first_step;
  double        fig[ONLINE_EWC_FIG_COUNT];   /* figures, kept in checkpoints */
} OnlineEwc;

static const LfParam online_ewc_params[] = {
  { "lambda", LF_PARAM_FLOAT, "5000", 0, 1e15, NULL,
    "strength: the loss gains lambda/2 * sum F (theta - theta*)^2 with the running Fisher F" },
  { "gamma", LF_PARAM_FLOAT, "1", 0, 1, NULL,
    "decay of the running Fisher at each experience: F <- gamma F + F_new (1: plain sum)" },
  { "fisher_samples", LF_PARAM_INT, "500", 0, 1e9, NULL,
    "training samples of each experience F_new averages (0: every sample)" },
  { "fisher_batch", LF_PARAM_INT, "64", 1, 1e9, NULL,
    "samples per Fisher pass: the per-sample squared gradients of a batch are summed exactly "
    "(plain linears; other parameters one sample at a time); 1: every sample its own pass" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
online_ewc_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  int64_t T = lf_ctx_n_experiences (ctx);
  if (T < 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "online-ewc needs experience boundaries");
      return NULL;
    }
  OnlineEwc *s = g_new0 (OnlineEwc, 1);
  s->lambda = lf_params_get_float (p, "lambda");
  s->gamma = lf_params_get_float (p, "gamma");
  s->fisher_samples = lf_params_get_int (p, "fisher_samples");
  s->fisher_batch = lf_params_get_int (p, "fisher_batch");
  g_autoptr (GPtrArray) ps = lf_model_params (lf_ctx_model (ctx), TRUE);
  s->n = (int) ps->len;
  s->params = g_memdup2 (ps->pdata, sizeof (LfTensor *) * (gsize) MAX (s->n, 1));
  s->n_exp = T;
  s->total = g_new0 (double, (gsize) MAX (T, 1));
  s->total_new = g_new0 (double, (gsize) MAX (T, 1));
  for (int k = 0; k < ONLINE_EWC_FIG_COUNT; k++)
    s->fig[k] = NAN;
  return s;
}

static void
online_ewc_destroy (void *self)
{
  OnlineEwc *s = self;
  lf_importance_free (s->fisher);
  lf_snapshot_free (s->anchor);
  g_free (s->params);
  g_free (s->total);
  g_free (s->total_new);
  g_free (s);
}

static gboolean
online_ewc_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) ctx; (void) error;
  ((OnlineEwc *) self)->first_step = TRUE;
  return TRUE;
}

/* lambda/2 * sum F (theta - theta*)^2: its gradient lambda F (theta - theta*)
 * is added to .grad in one pass that also measures the value
 * (lf_quadratic_penalty_add_grad); no loss term, no tape node. */
static void
online_ewc_after_backward (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) ctx; (void) batch;
  OnlineEwc *s = self;
  if (s->fisher == NULL)
    return;
  LfTensor **anchors = lf_scope_alloc (sizeof (LfTensor *) * (size_t) MAX (s->n, 1));
  lf_snapshot_lookup (s->anchor, s->n, s->params, anchors);
  double qv = lf_quadratic_penalty_add_grad (s->n, s->params, anchors, s->fisher, s->lambda / 2);
  if (s->first_step)
    {
      s->fig[ONLINE_EWC_FIG_QUAD_START] = qv;
      s->fig[ONLINE_EWC_FIG_PENALTY_START] = s->lambda / 2 * qv;
      s->first_step = FALSE;
    }
  s->fig[ONLINE_EWC_FIG_PENALTY_LAST] = s->lambda / 2 * qv;
}

/* The samples of a Fisher estimate, for lf_importance_add_per_sample. */
typedef struct {
  LfStrategyCtx *ctx;
  const int64_t *ids;
} OnlineEwcSamples;

/* sum over samples [first, first + count) of -log p(y^|x), y^ the arg-max
 * of each row's task-masked logits */
static LfTensor *
online_ewc_sample_loss (void *user, int64_t first, int64_t count)
{
  OnlineEwcSamples *u = user;
  LfBatch *b = lf_ctx_batch (u->ctx, u->ids + first, count);
  LfModelOutput out;
  lf_ctx_forward (u->ctx, b, FALSE, &out);
  const LfReal *z = lf_tensor_data (out.logits);
  int64_t C = lf_tensor_dim (out.logits, -1);
  int32_t *yhat = lf_scope_alloc (sizeof (int32_t) * (size_t) count);
  for (int64_t r = 0; r < count; r++)
    {
      yhat[r] = 0;
      for (int64_t c = 1; c < C; c++)
        if (z[r * C + c] > z[r * C + yhat[r]])
          yhat[r] = (int32_t) c;
    }
  LfTensor *nll = lf_cross_entropy (out.logits, yhat, NULL);   /* the mean */
  return count == 1 ? nll : lf_scale (nll, (double) count);
}

/* F += 1/N (d log p(y^|x) / d theta)^2 over N samples of experience e;
 * returns N. */
static int64_t
online_ewc_fisher (OnlineEwc *s, LfStrategyCtx *ctx, int64_t e, LfImportance *into)
{
  int64_t n_all;
  const int64_t *all = lf_ctx_experience_samples (ctx, e, &n_all);
  int64_t N = s->fisher_samples > 0 ? MIN (s->fisher_samples, n_all) : n_all;
  if (N <= 0)
    return 0;
  /* the first N of a partial Fisher-Yates shuffle: a uniform sample
   * without replacement, keyed by the run, the experience and the step
   * (the same key as the "ewc" plugin: both see the same samples) */
  g_autofree int64_t *ids = g_memdup2 (all, (gsize) n_all * sizeof (int64_t));
  LfRng rng;
  lf_rng_init (&rng, lf_ctx_rng_key (ctx, "ewc-fisher"));
  for (int64_t i = 0; i < N; i++)
    {
      int64_t j = i + (int64_t) lf_rng_below (&rng, (uint64_t) (n_all - i)), t = ids[i];
      ids[i] = ids[j];
      ids[j] = t;
    }
  if (s->fisher_batch > 1)
    {
      OnlineEwcSamples u = { ctx, ids };
      lf_importance_add_per_sample (into, lf_model_root (lf_ctx_model (ctx)), LF_IMPORTANCE_SQUARED, N,
                                    s->fisher_batch, online_ewc_sample_loss, &u, 1.0 / (double) N);
      return N;
    }
  /* fisher_batch = 1: one pass per sample */
  LfReal **grads = g_new (LfReal *, MAX (s->n, 1));
  for (int i = 0; i < s->n; i++)
    grads[i] = g_new (LfReal, MAX (lf_tensor_numel (s->params[i]), 1));
  for (int64_t k = 0; k < N; k++)
    {
      lf_tape_push (TRUE);
      LfBatch *b = lf_ctx_batch (ctx, ids + k, 1);
      LfModelOutput out;
      lf_ctx_forward (ctx, b, FALSE, &out);
      /* logits: (1, C), masked to the sample's task in task-incremental runs */
      const LfReal *z = lf_tensor_data (out.logits);
      int64_t C = lf_tensor_dim (out.logits, -1);
      int32_t yhat = 0;
      for (int64_t c = 1; c < C; c++)
        if (z[c] > z[yhat])
          yhat = (int32_t) c;
      LfTensor *nll = lf_cross_entropy (out.logits, &yhat, NULL);   /* -log p(y^|x) */
      lf_grad_into (nll, s->n, s->params, grads);
      lf_tape_pop ();
      lf_importance_add_sq (into, (const LfReal *const *) grads, 1.0 / (double) N);
    }
  for (int i = 0; i < s->n; i++)
    g_free (grads[i]);
  g_free (grads);
  return N;
}

/* |theta - anchor| over the trainable parameters the anchor has */
static double
online_ewc_distance (OnlineEwc *s, LfSnapshot *anchor)
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
online_ewc_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  OnlineEwc *s = self;
  int64_t e = lf_ctx_experience (ctx);
  if (s->anchor)
    s->fig[ONLINE_EWC_FIG_DRIFT] = online_ewc_distance (s, s->anchor);
  g_autoptr (LfImportance) fnew = lf_importance_new (s->n, s->params);
  s->fig[ONLINE_EWC_FIG_SAMPLES] = (double) online_ewc_fisher (s, ctx, e, fnew);
  if (s->fisher == NULL)
    s->fisher = lf_importance_new (s->n, s->params);
  else
    lf_importance_scale (s->fisher, s->gamma);
  lf_importance_add (s->fisher, fnew, 1.0);
  lf_snapshot_free (s->anchor);
  s->anchor = lf_snapshot_take (lf_model_root (lf_ctx_model (ctx)), TRUE);
  if (e >= 0 && e < s->n_exp)
    {
      s->total[e] = lf_importance_total (s->fisher);
      s->total_new[e] = lf_importance_total (fnew);
      s->done = e + 1;
    }
  return TRUE;
}

static void
online_ewc_report_array (LfStrategyCtx *ctx, const char *key, const double *v, int64_t n)
{
  g_autoptr (GString) js = g_string_new ("[");
  for (int64_t k = 0; k < n; k++)
    g_string_append_printf (js, "%s%.9g", k ? ", " : "", v[k]);
  g_string_append_c (js, ']');
  lf_ctx_report_json (ctx, key, js->str);
}

static void
online_ewc_report (void *self, LfStrategyCtx *ctx)
{
  OnlineEwc *s = self;
  lf_ctx_report_number (ctx, "fisher_total", s->fisher ? lf_importance_total (s->fisher) : 0.0);
  const char *keys[ONLINE_EWC_FIG_COUNT] = { "quadratic_at_start", "penalty_at_start", "penalty_last",
                                       "anchor_distance", "fisher_samples_used" };
  for (int k = 0; k < ONLINE_EWC_FIG_COUNT; k++)
    if (!isnan (s->fig[k]))
      lf_ctx_report_number (ctx, keys[k], s->fig[k]);
  /* the running total after each experience, and each experience's own */
  online_ewc_report_array (ctx, "fisher_total_history", s->total, s->done);
  online_ewc_report_array (ctx, "fisher_new_history", s->total_new, s->done);
}

static gboolean
online_ewc_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  OnlineEwc *s = self;
  lf_state_put_int (st, "online-ewc.done", s->done);
  lf_state_put_int (st, "online-ewc.has_fisher", s->fisher != NULL);
  for (int i = 0; s->fisher && i < s->n; i++)
    {
      const char *name = lf_tensor_name (s->params[i]);
      g_autofree char *fk = g_strconcat ("fisher.", name, NULL);
      g_autofree char *ak = g_strconcat ("anchor.", name, NULL);
      lf_state_put_tensor (st, fk, lf_importance_values (s->fisher, i));
      LfTensor *a = lf_snapshot_get (s->anchor, name);
      if (a)
        lf_state_put_tensor (st, ak, a);
    }
  lf_state_put_bytes (st, "online-ewc.figures", s->fig, sizeof s->fig);
  lf_state_put_bytes (st, "online-ewc.total", s->total, sizeof (double) * (size_t) s->n_exp);
  lf_state_put_bytes (st, "online-ewc.total_new", s->total_new, sizeof (double) * (size_t) s->n_exp);
  return TRUE;
}

/* Copies the stored tensor key into dst (same number of elements). */
static gboolean
online_ewc_restore_tensor (const LfState *st, const char *key, LfTensor *dst, GError **error)
{
  g_autoptr (LfTensor) t = lf_state_get_tensor (st, key);
  if (t == NULL || lf_tensor_numel (t) != lf_tensor_numel (dst))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "online-ewc: the checkpoint %s tensor %s",
                   t ? "has another shape for" : "lacks", key);
      return FALSE;
    }
  lf_tensor_copy_data (dst, t);
  return TRUE;
}

static gboolean
online_ewc_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  OnlineEwc *s = self;
  int64_t has = 0, done = 0;
  if (!lf_state_get_int (st, "online-ewc.has_fisher", &has) || !lf_state_get_int (st, "online-ewc.done", &done)
      || done < 0 || done > s->n_exp)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "online-ewc: the checkpoint has no online-ewc state");
      return FALSE;
    }
  g_clear_pointer (&s->fisher, lf_importance_free);
  g_clear_pointer (&s->anchor, lf_snapshot_free);
  if (has)
    {
      s->fisher = lf_importance_new (s->n, s->params);
      s->anchor = lf_snapshot_take (lf_model_root (lf_ctx_model (ctx)), TRUE);   /* values below */
      for (int i = 0; i < s->n; i++)
        {
          const char *name = lf_tensor_name (s->params[i]);
          g_autofree char *fk = g_strconcat ("fisher.", name, NULL);
          g_autofree char *ak = g_strconcat ("anchor.", name, NULL);
          LfTensor *dst = lf_snapshot_get (s->anchor, name);
          if (!online_ewc_restore_tensor (st, fk, lf_importance_values (s->fisher, i), error)
              || (dst && !online_ewc_restore_tensor (st, ak, dst, error)))
            return FALSE;
        }
    }
  s->done = done;
  size_t nb;
  const void *b = lf_state_get_bytes (st, "online-ewc.figures", &nb);
  if (b && nb == sizeof s->fig)
    memcpy (s->fig, b, nb);
  b = lf_state_get_bytes (st, "online-ewc.total", &nb);
  if (b && nb == sizeof (double) * (size_t) s->n_exp)
    memcpy (s->total, b, nb);
  b = lf_state_get_bytes (st, "online-ewc.total_new", &nb);
  if (b && nb == sizeof (double) * (size_t) s->n_exp)
    memcpy (s->total_new, b, nb);
  return TRUE;
}

static size_t
online_ewc_memory_bytes (void *self)
{
  OnlineEwc *s = self;
  size_t b = sizeof *s + 2 * sizeof (double) * (size_t) s->n_exp;
  if (s->fisher)
    b += lf_importance_bytes (s->fisher);
  if (s->anchor)
    b += lf_snapshot_bytes (s->anchor);
  return b;
}

static const LfStrategyVTable online_ewc_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = online_ewc_create,
  .destroy = online_ewc_destroy,
  .before_experience = online_ewc_before_experience,
  .after_backward = online_ewc_after_backward,
  .after_experience = online_ewc_after_experience,
  .report = online_ewc_report,
  .save = online_ewc_save,
  .load = online_ewc_load,
  .memory_bytes = online_ewc_memory_bytes,
};

static const LfCapabilities online_ewc_caps = {
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
    .name = "online-ewc",
    .version = "0.1.0",
    .summary = "online EWC (Schwarz et al., Progress & Compress, ICML 2018): one running Fisher "
               "F <- gamma F + F_new and one anchor, the latest weights",
    .params = online_ewc_params,
    .caps = &online_ewc_caps,
    .vtable = &online_ewc_vtable,
  };
  return &info;
}
