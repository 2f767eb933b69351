/* lifelong plugin — strategy "si": Synaptic Intelligence (Zenke, Poole &
 * Ganguli, ICML 2017).  Each parameter's importance is the work it did on
 * the task loss along its training path:
 *   omega  = -sum_steps g_task * (theta_after - theta_before)   (per experience)
 *   Omega  = max (0, Omega + omega / (Delta^2 + xi))            (at its end)
 * with Delta the parameter's change over the experience; later experiences
 * pay c * sum Omega (theta - theta~)^2, theta~ the weights at the end of
 * the previous experience.
 *
 * g_task is the gradient of the task loss alone, as in the reference code
 * (its "unreg_grads").  Both the path integral and the penalty live in the
 * optimizer's update pass: the path integral is attached to it
 * (lf_path_integral_attach: omega -= g_task * (theta_new - theta_old) as
 * each weight is updated), and the penalty is an LfAnchoredPenalty's pull
 * (lf_optimizer_set_pull), which the update adds to g_task: the optimizer
 * steps on the full gradient, the path integral sees the task's exactly,
 * and the loss the host logs is the task's. */
#include <lifelong/lifelong.h>
#include <math.h>

enum {
  SI_FIG_CLAMPED = LF_PENALTY_FIG_COUNT,   /* elements of Omega clamped at 0, all experiences */
};
static const char *const si_figures[] = { "omega_clamped" };

typedef struct {
  double             c, xi;
  LfAnchoredPenalty *pen;    /* Omega (consolidated), theta~, the figures and history */
  LfPathIntegral    *path;   /* this experience's running omega, in the optimizer */
} Si;

static const LfParam si_params[] = {
  { "c", LF_PARAM_FLOAT, "0.5", 0, 1e12, NULL,
    "strength: the loss gains c * sum Omega (theta - theta~)^2 (Zenke et al.'s c; Avalanche's si_lambda = 2 c)" },
  { "xi", LF_PARAM_FLOAT, "0.1", 1e-12, 1e6, NULL,
    "damping in Omega += omega / (Delta^2 + xi), so parameters that barely moved do not explode" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
si_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  int64_t T = lf_ctx_n_experiences (ctx);
  if (T < 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "si needs experience boundaries");
      return NULL;
    }
  Si *s = g_new0 (Si, 1);
  s->c = lf_params_get_float (p, "c");
  s->xi = lf_params_get_float (p, "xi");
  s->pen = lf_anchored_penalty_new (ctx, "si", s->c, G_N_ELEMENTS (si_figures), si_figures);
  lf_anchored_penalty_set_figure (s->pen, SI_FIG_CLAMPED, 0);
  return s;
}

static void
si_destroy (void *self)
{
  Si *s = self;
  lf_path_integral_free (s->path);
  lf_anchored_penalty_free (s->pen);
  g_free (s);
}

/* A new path integral: omega = 0, theta_start = the weights now (after a
 * resume too, where load ran before the model's values were restored),
 * accumulated by the optimizer; the penalty's pull once there is an
 * anchor. */
static gboolean
si_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Si *s = self;
  lf_path_integral_free (s->path);
  s->path = lf_path_integral_new (lf_anchored_penalty_n (s->pen), lf_anchored_penalty_params (s->pen));
  lf_path_integral_attach (s->path, lf_ctx_optimizer (ctx));
  lf_anchored_penalty_begin (s->pen, ctx);
  return TRUE;
}

static void
si_after_step (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) batch;
  lf_anchored_penalty_after_step (((Si *) self)->pen, ctx);
}

static gboolean
si_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Si *s = self;
  int64_t e = lf_ctx_experience (ctx);
  LfImportance *omega = lf_anchored_penalty_weights (s->pen);
  lf_anchored_penalty_record_drift (s->pen, NULL);
  if (s->path)
    {
      lf_path_integral_consolidate (s->path, omega, s->xi);
      g_clear_pointer (&s->path, lf_path_integral_free);
    }
  /* Omega = max (0, Omega), as the reference code's relu: a parameter the
   * optimizer moved against its task gradient (momentum, Adam's moments,
   * the penalty) earns no importance rather than a negative one */
  double clamped = lf_anchored_penalty_figure (s->pen, SI_FIG_CLAMPED);
  for (int i = 0; i < lf_importance_n (omega); i++)
    {
      LfTensor *v = lf_importance_values (omega, i);
      LfReal *w = lf_tensor_data (v);
      for (int64_t k = 0; k < lf_tensor_numel (v); k++)
        if (w[k] < 0)
          {
            w[k] = 0;
            clamped += 1;
          }
    }
  lf_anchored_penalty_set_figure (s->pen, SI_FIG_CLAMPED, clamped);
  lf_anchored_penalty_record_history (s->pen, e, NULL);   /* total Omega after experience e */
  lf_anchored_penalty_take_anchor (s->pen);
  return TRUE;
}

static void
si_report (void *self, LfStrategyCtx *ctx)
{
  Si *s = self;
  LfImportance *omega = lf_anchored_penalty_weights (s->pen);
  lf_ctx_report_number (ctx, "omega_total", lf_importance_total (omega));
  double lo = INFINITY;
  for (int i = 0; i < lf_importance_n (omega); i++)
    {
      LfTensor *v = lf_importance_values (omega, i);
      const LfReal *w = lf_tensor_data (v);
      for (int64_t k = 0; k < lf_tensor_numel (v); k++)
        lo = MIN (lo, (double) w[k]);
    }
  if (lf_importance_n (omega) > 0)
    lf_ctx_report_number (ctx, "omega_min", lo);
  lf_anchored_penalty_report (s->pen, ctx, "omega_by_param");
}

static gboolean
si_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  lf_anchored_penalty_save (((Si *) self)->pen, st, TRUE);
  return TRUE;
}

/* The path integral of the experience to come is made by
 * before_experience. */
static gboolean
si_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  (void) ctx;
  Si *s = self;
  g_clear_pointer (&s->path, lf_path_integral_free);
  return lf_anchored_penalty_load (s->pen, st, TRUE, error);
}

static size_t
si_memory_bytes (void *self)
{
  Si *s = self;
  size_t b = sizeof *s + lf_anchored_penalty_bytes (s->pen);
  if (s->path)
    b += lf_path_integral_bytes (s->path);
  return b;
}

static const LfStrategyVTable si_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = si_create,
  .destroy = si_destroy,
  .before_experience = si_before_experience,
  .after_step = si_after_step,
  .after_experience = si_after_experience,
  .report = si_report,
  .save = si_save,
  .load = si_load,
  .memory_bytes = si_memory_bytes,
};

static const LfCapabilities si_caps = {
  .touches = LF_TOUCHES_GRADIENTS,   /* the penalty's gradient, folded into the optimizer's update */
  .needs = LF_NEEDS_BOUNDARIES,
  .supports = LF_SUPPORTS_CLASSIFICATION | LF_SUPPORTS_LANGUAGE_MODEL,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "si",
    .version = "0.1.0",
    .summary = "Synaptic Intelligence (Zenke, Poole & Ganguli, ICML 2017): per-parameter importance from "
               "the path integral of the task gradient, quadratic penalty c * Omega (theta - theta~)^2",
    .params = si_params,
    .caps = &si_caps,
    .vtable = &si_vtable,
  };
  return &info;
}
