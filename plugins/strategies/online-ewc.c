/* lifelong plugin — strategy "online-ewc": online EWC (Schwarz et al.,
 * "Progress & Compress", ICML 2018).  One running diagonal Fisher and one
 * anchor instead of one pair per experience: after each experience
 *   F <- gamma F + F_new,   theta* <- theta,
 * and later experiences pay lambda/2 * sum F (theta - theta*)^2, applied
 * by the optimizer's update as its gradient lambda F (theta - theta*) (an
 * LfAnchoredPenalty's pull, lf_optimizer_set_pull: no pass of its own, and
 * the loss the host logs is the task's).
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
  ONLINE_EWC_FIG_SAMPLES = LF_PENALTY_FIG_COUNT,   /* samples the last F_new averaged */
};
static const char *const online_ewc_figures[] = { "fisher_samples_used" };

typedef struct {
  double             lambda, gamma;
  int64_t            fisher_samples;
  int64_t            fisher_batch;  /* samples per Fisher pass (1: one at a time) */
  LfAnchoredPenalty *pen;           /* the running F, theta*, the figures        */
  int64_t            n_exp, done;   /* experiences in the scenario, consolidated so far */
  double            *total;         /* (n_exp): total of the running F after each experience */
  double            *total_new;     /* (n_exp): total of F_new of each experience */
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
  s->pen = lf_anchored_penalty_new (ctx, "online-ewc", s->lambda / 2, G_N_ELEMENTS (online_ewc_figures),
                                    online_ewc_figures);
  s->n_exp = T;
  s->total = g_new0 (double, (gsize) MAX (T, 1));
  s->total_new = g_new0 (double, (gsize) MAX (T, 1));
  return s;
}

static void
online_ewc_destroy (void *self)
{
  OnlineEwc *s = self;
  lf_anchored_penalty_free (s->pen);
  g_free (s->total);
  g_free (s->total_new);
  g_free (s);
}

/* lambda/2 * sum F (theta - theta*)^2, pulled by the optimizer's update
 * once there is an anchor */
static gboolean
online_ewc_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  lf_anchored_penalty_begin (((OnlineEwc *) self)->pen, ctx);
  return TRUE;
}

static void
online_ewc_after_step (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) batch;
  lf_anchored_penalty_after_step (((OnlineEwc *) self)->pen, ctx);
}

static gboolean
online_ewc_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  OnlineEwc *s = self;
  int64_t e = lf_ctx_experience (ctx);
  LfImportance *fisher = lf_anchored_penalty_weights (s->pen);
  lf_anchored_penalty_record_drift (s->pen, NULL);
  g_autoptr (LfImportance) fnew = lf_importance_new (lf_anchored_penalty_n (s->pen), lf_anchored_penalty_params (s->pen));
  int64_t used = lf_fisher_predicted (fnew, ctx, e, s->fisher_samples, s->fisher_batch);   /* EWC's samples */
  lf_anchored_penalty_set_figure (s->pen, ONLINE_EWC_FIG_SAMPLES, (double) used);
  if (lf_anchored_penalty_has_anchor (s->pen))
    lf_importance_scale (fisher, s->gamma);   /* (before the first experience F is 0) */
  lf_importance_add (fisher, fnew, 1.0);
  lf_anchored_penalty_take_anchor (s->pen);
  if (e >= 0 && e < s->n_exp)
    {
      s->total[e] = lf_importance_total (fisher);
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
  lf_ctx_report_number (ctx, "fisher_total", lf_importance_total (lf_anchored_penalty_weights (s->pen)));
  lf_anchored_penalty_report (s->pen, ctx, NULL);
  /* the running total after each experience, and each experience's own */
  online_ewc_report_array (ctx, "fisher_total_history", s->total, s->done);
  online_ewc_report_array (ctx, "fisher_new_history", s->total_new, s->done);
}

static gboolean
online_ewc_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  OnlineEwc *s = self;
  lf_anchored_penalty_save (s->pen, st, TRUE);
  lf_state_put_int (st, "online-ewc.consolidated", s->done);
  lf_state_put_bytes (st, "online-ewc.total", s->total, sizeof (double) * (size_t) s->n_exp);
  lf_state_put_bytes (st, "online-ewc.total_new", s->total_new, sizeof (double) * (size_t) s->n_exp);
  return TRUE;
}

static gboolean
online_ewc_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  (void) ctx;
  OnlineEwc *s = self;
  int64_t done = 0;
  if (!lf_anchored_penalty_load (s->pen, st, TRUE, error))
    return FALSE;
  if (!lf_state_get_int (st, "online-ewc.consolidated", &done) || done < 0 || done > s->n_exp)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "online-ewc: the checkpoint has no online-ewc state");
      return FALSE;
    }
  s->done = done;
  size_t nb;
  const void *b = lf_state_get_bytes (st, "online-ewc.total", &nb);
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
  return sizeof *s + 2 * sizeof (double) * (size_t) s->n_exp + lf_anchored_penalty_bytes (s->pen);
}

static const LfStrategyVTable online_ewc_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = online_ewc_create,
  .destroy = online_ewc_destroy,
  .before_experience = online_ewc_before_experience,
  .after_step = online_ewc_after_step,
  .after_experience = online_ewc_after_experience,
  .report = online_ewc_report,
  .save = online_ewc_save,
  .load = online_ewc_load,
  .memory_bytes = online_ewc_memory_bytes,
};

static const LfCapabilities online_ewc_caps = {
  .touches = LF_TOUCHES_GRADIENTS,   /* the penalty's gradient, folded into the optimizer's update */
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
