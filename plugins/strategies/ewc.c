/* lifelong plugin — strategy "ewc": Elastic Weight Consolidation
 * (Kirkpatrick et al., PNAS 2017).  After each experience it estimates the
 * diagonal Fisher information of that experience and keeps it with a copy
 * of the weights; later experiences pay lambda/2 * sum_k F_k (theta -
 * theta*_k)^2, one term per past experience, as in the paper.
 *
 * The Fisher: `fisher_samples` training samples of the experience, drawn
 * without replacement, one at a time, with the label the model predicts
 * (y^ = arg-max of its task-masked logits, no dropout):
 *   F = 1/N sum_x (d log p(y^ | x) / d theta)^2
 * computed as a side gradient (lf_grad_into in its own tape scope), so no
 * .grad is touched. */
#include <lifelong/lifelong.h>
#include <math.h>

enum {
  EWC_FIG_QUAD_START,      /* sum_k F_k (theta - theta*_k)^2 at the first step of the last experience */
  EWC_FIG_PENALTY_START,   /* lambda/2 times that                                 */
  EWC_FIG_PENALTY_LAST,    /* the penalty at the last step                        */
  EWC_FIG_DRIFT,           /* |theta - theta*_latest| at the end of the last experience */
  EWC_FIG_SAMPLES,         /* samples the last Fisher averaged                    */
  EWC_FIG_COUNT
};

typedef struct {
  double      lambda;
  int64_t     fisher_samples;
  int         n;               /* trainable parameters at create          */
  LfTensor  **params;          /* borrowed from the model, in tree order  */
  GPtrArray  *fisher;          /* LfImportance *, one per past experience */
  GPtrArray  *anchor;          /* LfSnapshot *, the weights after it      */
  int64_t     n_exp;
  double     *history;         /* (n_exp, n): total Fisher of each parameter per experience */
  gboolean    first_step;
  double      fig[EWC_FIG_COUNT];   /* figures, kept in checkpoints */
} Ewc;


static const LfParam ewc_params[] = {
  { "lambda", LF_PARAM_FLOAT, "5000", 0, 1e15, NULL,
    "strength: the loss gains lambda/2 * sum_k F_k (theta - theta*_k)^2 over past experiences k "
    "(Kirkpatrick et al.'s lambda)" },
  { "fisher_samples", LF_PARAM_INT, "500", 0, 1e9, NULL,
    "training samples of each experience the diagonal Fisher averages, one sample at a time (0: every sample)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
ewc_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  int64_t T = lf_ctx_n_experiences (ctx);
  if (T < 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "ewc needs experience boundaries");
      return NULL;
    }
  Ewc *s = g_new0 (Ewc, 1);
  s->lambda = lf_params_get_float (p, "lambda");
  s->fisher_samples = lf_params_get_int (p, "fisher_samples");
  g_autoptr (GPtrArray) ps = lf_model_params (lf_ctx_model (ctx), TRUE);
  s->n = (int) ps->len;
  s->params = g_memdup2 (ps->pdata, sizeof (LfTensor *) * (gsize) MAX (s->n, 1));
  s->fisher = g_ptr_array_new_with_free_func ((GDestroyNotify) lf_importance_free);
  s->anchor = g_ptr_array_new_with_free_func ((GDestroyNotify) lf_snapshot_free);
  s->n_exp = T;
  s->history = g_new0 (double, (gsize) MAX (T * s->n, 1));
  for (int k = 0; k < EWC_FIG_COUNT; k++)
    s->fig[k] = NAN;
  return s;
}

static void
ewc_destroy (void *self)
{
  Ewc *s = self;
  g_ptr_array_unref (s->fisher);
  g_ptr_array_unref (s->anchor);
  g_free (s->params);
  g_free (s->history);
  g_free (s);
}

static gboolean
ewc_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) ctx; (void) error;
  ((Ewc *) self)->first_step = TRUE;
  return TRUE;
}

/* sum_k sum_i F_k,i (theta_i - theta*_k,i)^2 -> (1), in the step's scope */
static LfTensor *
ewc_quadratic (Ewc *s)
{
  LfTensor **anchors = lf_scope_alloc (sizeof (LfTensor *) * (size_t) MAX (s->n, 1));
  LfTensor *sum = NULL;
  for (guint k = 0; k < s->fisher->len; k++)
    {
      lf_snapshot_lookup (s->anchor->pdata[k], s->n, s->params, anchors);
      LfTensor *q = lf_quadratic_penalty (s->n, s->params, anchors, s->fisher->pdata[k]);
      sum = sum ? lf_add (sum, q) : q;
    }
  return sum;
}

static LfTensor *
ewc_loss (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out, LfTensor *loss)
{
  (void) ctx; (void) batch; (void) out;
  Ewc *s = self;
  if (s->fisher->len == 0)
    return loss;
  LfTensor *q = ewc_quadratic (s);
  double qv = lf_tensor_data (q)[0];
  if (s->first_step)
    {
      s->fig[EWC_FIG_QUAD_START] = qv;
      s->fig[EWC_FIG_PENALTY_START] = s->lambda / 2 * qv;
      s->first_step = FALSE;
    }
  s->fig[EWC_FIG_PENALTY_LAST] = s->lambda / 2 * qv;
  if (s->lambda == 0)
    return loss;
  return lf_add (loss, lf_scale (q, s->lambda / 2));
}

/* F += 1/N (d log p(y^|x) / d theta)^2 over N samples of experience e, one
 * at a time; returns N. */
static int64_t
ewc_fisher (Ewc *s, LfStrategyCtx *ctx, int64_t e, LfImportance *into)
{
  int64_t n_all;
  const int64_t *all = lf_ctx_experience_samples (ctx, e, &n_all);
  int64_t N = s->fisher_samples > 0 ? MIN (s->fisher_samples, n_all) : n_all;
  if (N <= 0)
    return 0;
  /* the first N of a partial Fisher-Yates shuffle: a uniform sample
   * without replacement, keyed by the run, the experience and the step */
  g_autofree int64_t *ids = g_memdup2 (all, (gsize) n_all * sizeof (int64_t));
  LfRng rng;
  lf_rng_init (&rng, lf_ctx_rng_key (ctx, "ewc-fisher"));
  for (int64_t i = 0; i < N; i++)
    {
      int64_t j = i + (int64_t) lf_rng_below (&rng, (uint64_t) (n_all - i)), t = ids[i];
      ids[i] = ids[j];
      ids[j] = t;
    }
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
ewc_distance (Ewc *s, LfSnapshot *anchor)
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

static void
ewc_record_history (Ewc *s, int64_t e, LfImportance *imp)
{
  if (e < 0 || e >= s->n_exp)
    return;
  for (int i = 0; i < s->n; i++)
    {
      LfTensor *v = lf_importance_values (imp, i);
      const LfReal *x = lf_tensor_data (v);
      double t = 0;
      for (int64_t k = 0; k < lf_tensor_numel (v); k++)
        t += x[k];
      s->history[e * s->n + i] = t;
    }
}

static gboolean
ewc_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Ewc *s = self;
  int64_t e = lf_ctx_experience (ctx);
  if (s->anchor->len > 0)
    s->fig[EWC_FIG_DRIFT] = ewc_distance (s, s->anchor->pdata[s->anchor->len - 1]);
  LfImportance *f = lf_importance_new (s->n, s->params);
  s->fig[EWC_FIG_SAMPLES] = (double) ewc_fisher (s, ctx, e, f);
  ewc_record_history (s, e, f);
  g_ptr_array_add (s->fisher, f);
  g_ptr_array_add (s->anchor, lf_snapshot_take (lf_model_root (lf_ctx_model (ctx)), TRUE));
  return TRUE;
}

static void
ewc_report (void *self, LfStrategyCtx *ctx)
{
  Ewc *s = self;
  double total = 0, last = 0;
  for (guint k = 0; k < s->fisher->len; k++)
    total += last = lf_importance_total (s->fisher->pdata[k]);
  lf_ctx_report_number (ctx, "fisher_total", total);
  lf_ctx_report_number (ctx, "fisher_total_last", last);
  lf_ctx_report_number (ctx, "experiences_stored", s->fisher->len);
  const char *keys[EWC_FIG_COUNT] = { "quadratic_at_start", "penalty_at_start", "penalty_last",
                                      "anchor_distance", "fisher_samples_used" };
  for (int k = 0; k < EWC_FIG_COUNT; k++)
    if (!isnan (s->fig[k]))
      lf_ctx_report_number (ctx, keys[k], s->fig[k]);
  /* {"layers.0.weight": [F_0 total, F_1 total, ...], ...} */
  g_autoptr (GString) js = g_string_new ("{");
  for (int i = 0; i < s->n; i++)
    {
      g_string_append_printf (js, "%s\"%s\": [", i ? ", " : "", lf_tensor_name (s->params[i]));
      for (guint k = 0; k < s->fisher->len && k < (guint) s->n_exp; k++)
        g_string_append_printf (js, "%s%.9g", k ? ", " : "", s->history[k * (guint) s->n + (guint) i]);
      g_string_append_c (js, ']');
    }
  g_string_append_c (js, '}');
  lf_ctx_report_json (ctx, "fisher_by_param", js->str);
}

static gboolean
ewc_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Ewc *s = self;
  lf_state_put_int (st, "ewc.stored", s->fisher->len);
  for (guint k = 0; k < s->fisher->len; k++)
    for (int i = 0; i < s->n; i++)
      {
        const char *name = lf_tensor_name (s->params[i]);
        g_autofree char *fk = g_strdup_printf ("fisher.%u.%s", k, name);
        g_autofree char *ak = g_strdup_printf ("anchor.%u.%s", k, name);
        lf_state_put_tensor (st, fk, lf_importance_values (s->fisher->pdata[k], i));
        LfTensor *a = lf_snapshot_get (s->anchor->pdata[k], name);
        if (a)
          lf_state_put_tensor (st, ak, a);
      }
  lf_state_put_bytes (st, "ewc.figures", s->fig, sizeof s->fig);
  lf_state_put_bytes (st, "ewc.history", s->history, sizeof (double) * (size_t) (s->n_exp * s->n));
  return TRUE;
}

/* Copies the stored tensor key into dst (same number of elements). */
static gboolean
ewc_restore_tensor (const LfState *st, const char *key, LfTensor *dst, GError **error)
{
  g_autoptr (LfTensor) t = lf_state_get_tensor (st, key);
  if (t == NULL || lf_tensor_numel (t) != lf_tensor_numel (dst))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "ewc: the checkpoint %s tensor %s",
                   t ? "has another shape for" : "lacks", key);
      return FALSE;
    }
  lf_tensor_copy_data (dst, t);
  return TRUE;
}

static gboolean
ewc_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  Ewc *s = self;
  int64_t stored = 0;
  if (!lf_state_get_int (st, "ewc.stored", &stored) || stored < 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "ewc: the checkpoint has no ewc.stored");
      return FALSE;
    }
  g_ptr_array_set_size (s->fisher, 0);
  g_ptr_array_set_size (s->anchor, 0);
  LfModule *root = lf_model_root (lf_ctx_model (ctx));
  for (int64_t k = 0; k < stored; k++)
    {
      LfImportance *f = lf_importance_new (s->n, s->params);
      LfSnapshot *a = lf_snapshot_take (root, TRUE);   /* the right names and shapes; values below */
      g_ptr_array_add (s->fisher, f);
      g_ptr_array_add (s->anchor, a);
      for (int i = 0; i < s->n; i++)
        {
          const char *name = lf_tensor_name (s->params[i]);
          g_autofree char *fk = g_strdup_printf ("fisher.%" G_GINT64_FORMAT ".%s", k, name);
          g_autofree char *ak = g_strdup_printf ("anchor.%" G_GINT64_FORMAT ".%s", k, name);
          LfTensor *dst = lf_snapshot_get (a, name);
          if (!ewc_restore_tensor (st, fk, lf_importance_values (f, i), error)
              || (dst && !ewc_restore_tensor (st, ak, dst, error)))
            return FALSE;
        }
    }
  size_t nb;
  const void *fig = lf_state_get_bytes (st, "ewc.figures", &nb);
  if (fig && nb == sizeof s->fig)
    memcpy (s->fig, fig, nb);
  const void *hist = lf_state_get_bytes (st, "ewc.history", &nb);
  if (hist && nb == sizeof (double) * (size_t) (s->n_exp * s->n))
    memcpy (s->history, hist, nb);
  return TRUE;
}

static size_t
ewc_memory_bytes (void *self)
{
  Ewc *s = self;
  size_t b = sizeof *s + sizeof (double) * (size_t) (s->n_exp * s->n);
  for (guint k = 0; k < s->fisher->len; k++)
    b += lf_importance_bytes (s->fisher->pdata[k]) + lf_snapshot_bytes (s->anchor->pdata[k]);
  return b;
}

static const LfStrategyVTable ewc_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = ewc_create,
  .destroy = ewc_destroy,
  .before_experience = ewc_before_experience,
  .loss = ewc_loss,
  .after_experience = ewc_after_experience,
  .report = ewc_report,
  .save = ewc_save,
  .load = ewc_load,
  .memory_bytes = ewc_memory_bytes,
};

static const LfCapabilities ewc_caps = {
  .touches = LF_TOUCHES_LOSS,
  .needs = LF_NEEDS_BOUNDARIES,
  .supports = LF_SUPPORTS_CLASSIFICATION,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "ewc",
    .version = "0.1.0",
    .summary = "Elastic Weight Consolidation (Kirkpatrick et al., PNAS 2017): one diagonal-Fisher "
               "quadratic penalty per past experience, Fisher from the model's predicted labels",
    .params = ewc_params,
    .caps = &ewc_caps,
    .vtable = &ewc_vtable,
  };
  return &info;
}
