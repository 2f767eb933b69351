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
 * (its "unreg_grads").  The penalty is not a loss term: after backward,
 * .grad holds the task's gradient, lf_path_integral_before_step reads it,
 * and then the penalty's gradient 2 c Omega (theta - theta~) is added to
 * .grad (lf_quadratic_penalty_add_grad, one pass that also measures the
 * penalty): the optimizer steps on the full gradient, the path integral
 * sees the task's exactly, and the loss the host logs is the task's. */
#include <lifelong/lifelong.h>
#include <math.h>

enum {
  SI_FIG_QUAD_START,      /* sum Omega (theta - theta~)^2 at the first step of the last experience */
  SI_FIG_PENALTY_START,   /* c times that                                   */
  SI_FIG_PENALTY_LAST,    /* the penalty at the last step                   */
  SI_FIG_DRIFT,           /* |theta - theta~| at the end of the last experience */
  SI_FIG_CLAMPED,         /* elements of Omega clamped at 0, all experiences */
  SI_FIG_COUNT
};

typedef struct {
  double          c, xi;
  int             n;          /* trainable parameters at create         */
  LfTensor      **params;     /* borrowed from the model, in tree order */
  LfImportance   *omega;      /* Omega, the consolidated importance     */
  LfSnapshot     *anchor;     /* theta~ (NULL before the first experience ends) */
  LfPathIntegral *path;       /* this experience's running omega        */
  int64_t         n_exp, done;
  double         *history;    /* (n_exp, n): total Omega of each parameter after each experience */
  gboolean        first_step;
  double          fig[SI_FIG_COUNT];   /* figures, kept in checkpoints */
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
  g_autoptr (GPtrArray) ps = lf_model_params (lf_ctx_model (ctx), TRUE);
  s->n = (int) ps->len;
  s->params = g_memdup2 (ps->pdata, sizeof (LfTensor *) * (gsize) MAX (s->n, 1));
  s->omega = lf_importance_new (s->n, s->params);
  s->n_exp = T;
  s->history = g_new0 (double, (gsize) MAX (T * s->n, 1));
  for (int k = 0; k < SI_FIG_COUNT; k++)
    s->fig[k] = NAN;
  s->fig[SI_FIG_CLAMPED] = 0;
  return s;
}

static void
si_destroy (void *self)
{
  Si *s = self;
  lf_importance_free (s->omega);
  lf_snapshot_free (s->anchor);
  lf_path_integral_free (s->path);
  g_free (s->params);
  g_free (s->history);
  g_free (s);
}

/* A new path integral: omega = 0, theta_start = the weights now (after a
 * resume too, where load ran before the model's values were restored). */
static gboolean
si_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) ctx; (void) error;
  Si *s = self;
  lf_path_integral_free (s->path);
  s->path = lf_path_integral_new (s->n, s->params);
  s->first_step = TRUE;
  return TRUE;
}

/* The path integral reads the task loss's gradient (.grad after backward:
 * the penalty is no loss term), then the penalty's gradient 2 c Omega
 * (theta - theta~) is added to .grad for the optimizer. */
static void
si_after_backward (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) ctx; (void) batch;
  Si *s = self;
  if (s->path)
    lf_path_integral_before_step (s->path);
  if (s->anchor == NULL)
    return;
  LfTensor **anchors = lf_scope_alloc (sizeof (LfTensor *) * (size_t) MAX (s->n, 1));
  lf_snapshot_lookup (s->anchor, s->n, s->params, anchors);
  double qv = lf_quadratic_penalty_add_grad (s->n, s->params, anchors, s->omega, s->c);
  if (s->first_step)
    {
      s->fig[SI_FIG_QUAD_START] = qv;
      s->fig[SI_FIG_PENALTY_START] = s->c * qv;
      s->first_step = FALSE;
    }
  s->fig[SI_FIG_PENALTY_LAST] = s->c * qv;
}

static void
si_after_step (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) ctx; (void) batch;
  Si *s = self;
  if (s->path)
    lf_path_integral_after_step (s->path);
}

/* |theta - anchor| over the trainable parameters the anchor has */
static double
si_distance (Si *s, LfSnapshot *anchor)
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
si_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Si *s = self;
  int64_t e = lf_ctx_experience (ctx);
  if (s->anchor)
    s->fig[SI_FIG_DRIFT] = si_distance (s, s->anchor);
  if (s->path)
    {
      lf_path_integral_consolidate (s->path, s->omega, s->xi);
      g_clear_pointer (&s->path, lf_path_integral_free);
    }
  /* Omega = max (0, Omega), as the reference code's relu: a parameter the
   * optimizer moved against its task gradient (momentum, Adam's moments,
   * the penalty) earns no importance rather than a negative one */
  for (int i = 0; i < s->n; i++)
    {
      LfTensor *v = lf_importance_values (s->omega, i);
      LfReal *w = lf_tensor_data (v);
      double tot = 0;
      for (int64_t k = 0; k < lf_tensor_numel (v); k++)
        {
          if (w[k] < 0)
            {
              w[k] = 0;
              s->fig[SI_FIG_CLAMPED] += 1;
            }
          tot += w[k];
        }
      if (e >= 0 && e < s->n_exp)
        s->history[e * s->n + i] = tot;
    }
  if (e >= 0 && e < s->n_exp)
    s->done = e + 1;
  lf_snapshot_free (s->anchor);
  s->anchor = lf_snapshot_take (lf_model_root (lf_ctx_model (ctx)), TRUE);
  return TRUE;
}

static void
si_report (void *self, LfStrategyCtx *ctx)
{
  Si *s = self;
  lf_ctx_report_number (ctx, "omega_total", lf_importance_total (s->omega));
  double lo = INFINITY;
  for (int i = 0; i < s->n; i++)
    {
      LfTensor *v = lf_importance_values (s->omega, i);
      const LfReal *w = lf_tensor_data (v);
      for (int64_t k = 0; k < lf_tensor_numel (v); k++)
        lo = MIN (lo, (double) w[k]);
    }
  if (s->n > 0)
    lf_ctx_report_number (ctx, "omega_min", lo);
  const char *keys[SI_FIG_COUNT] = { "quadratic_at_start", "penalty_at_start", "penalty_last",
                                     "anchor_distance", "omega_clamped" };
  for (int k = 0; k < SI_FIG_COUNT; k++)
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
si_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Si *s = self;
  lf_state_put_int (st, "si.done", s->done);
  lf_state_put_int (st, "si.has_anchor", s->anchor != NULL);
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
  lf_state_put_bytes (st, "si.figures", s->fig, sizeof s->fig);
  lf_state_put_bytes (st, "si.history", s->history, sizeof (double) * (size_t) (s->n_exp * s->n));
  return TRUE;
}

/* Copies the stored tensor key into dst (same number of elements). */
static gboolean
si_restore_tensor (const LfState *st, const char *key, LfTensor *dst, GError **error)
{
  g_autoptr (LfTensor) t = lf_state_get_tensor (st, key);
  if (t == NULL || lf_tensor_numel (t) != lf_tensor_numel (dst))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "si: the checkpoint %s tensor %s",
                   t ? "has another shape for" : "lacks", key);
      return FALSE;
    }
  lf_tensor_copy_data (dst, t);
  return TRUE;
}

static gboolean
si_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  Si *s = self;
  int64_t has = 0, done = 0;
  if (!lf_state_get_int (st, "si.has_anchor", &has) || !lf_state_get_int (st, "si.done", &done)
      || done < 0 || done > s->n_exp)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "si: the checkpoint has no si state");
      return FALSE;
    }
  g_clear_pointer (&s->anchor, lf_snapshot_free);
  g_clear_pointer (&s->path, lf_path_integral_free);
  if (has)
    s->anchor = lf_snapshot_take (lf_model_root (lf_ctx_model (ctx)), TRUE);   /* values below */
  for (int i = 0; i < s->n; i++)
    {
      const char *name = lf_tensor_name (s->params[i]);
      g_autofree char *ok = g_strconcat ("omega.", name, NULL);
      g_autofree char *ak = g_strconcat ("anchor.", name, NULL);
      LfTensor *dst = s->anchor ? lf_snapshot_get (s->anchor, name) : NULL;
      if (!si_restore_tensor (st, ok, lf_importance_values (s->omega, i), error)
          || (dst && !si_restore_tensor (st, ak, dst, error)))
        return FALSE;
    }
  s->done = done;
  size_t nb;
  const void *b = lf_state_get_bytes (st, "si.figures", &nb);
  if (b && nb == sizeof s->fig)
    memcpy (s->fig, b, nb);
  b = lf_state_get_bytes (st, "si.history", &nb);
  if (b && nb == sizeof (double) * (size_t) (s->n_exp * s->n))
    memcpy (s->history, b, nb);
  return TRUE;
}

static size_t
si_memory_bytes (void *self)
{
  Si *s = self;
  size_t b = sizeof *s + lf_importance_bytes (s->omega) + sizeof (double) * (size_t) (s->n_exp * s->n);
  if (s->anchor)
    b += lf_snapshot_bytes (s->anchor);
  if (s->path)
    b += lf_path_integral_bytes (s->path);
  return b;
}

static const LfStrategyVTable si_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = si_create,
  .destroy = si_destroy,
  .before_experience = si_before_experience,
  .after_backward = si_after_backward,
  .after_step = si_after_step,
  .after_experience = si_after_experience,
  .report = si_report,
  .save = si_save,
  .load = si_load,
  .memory_bytes = si_memory_bytes,
};

static const LfCapabilities si_caps = {
  .touches = LF_TOUCHES_GRADIENTS,   /* the penalty's gradient, added after backward */
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
