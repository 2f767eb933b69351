/* lifelong plugin — strategy "ewc": Elastic Weight Consolidation
 * (Kirkpatrick et al., PNAS 2017).  After each experience it estimates the
 * diagonal Fisher information of that experience and keeps it with a copy
 * of the weights; later experiences pay lambda/2 * sum_k F_k (theta -
 * theta*_k)^2, one term per past experience, as in the paper.
 *
 * The Fisher: `fisher_samples` training samples of the experience, drawn
 * without replacement, each with the label the model predicts (y^ = arg-max
 * of its task-masked logits, no dropout):
 *   F = 1/N sum_x (d log p(y^ | x) / d theta)^2
 * a sum of per-sample squared gradients.  It is computed exactly in batches
 * of `fisher_batch` samples (lf_importance_add_per_sample: for a linear the
 * per-sample squares sum to (delta o delta)^T (a o a)), or with
 * fisher_batch = 1 one sample at a time; either way as side gradients
 * (lf_grad_into in scopes of their own), so no .grad is touched.
 *
 * The penalty sum_k F_k (theta - theta*_k)^2 is evaluated in one pass as
 * S (theta - m)^2 + c with S = sum_k F_k, m = sum_k F_k theta*_k / S and the
 * constant c = sum_k F_k (m - theta*_k)^2, all computed once per experience:
 * the same value and gradient 2 sum_k F_k (theta - theta*_k) up to float
 * rounding, at the cost of one term whatever the number of experiences.
 * With one stored experience m = theta*_0 and c = 0 exactly (the division
 * is done in double), so the penalty is the single term bit for bit.  It is
 * applied as its gradient lambda S (theta - m) by the optimizer's update,
 * which also measures its value (an LfAnchoredPenalty's pull with w = S and
 * theta* = m, lf_optimizer_set_pull: no pass of its own), not as a loss
 * term: the loss the host logs is the task's. */
#include <lifelong/lifelong.h>
#include <math.h>

enum {
  EWC_FIG_SAMPLES = LF_PENALTY_FIG_COUNT,   /* samples the last Fisher averaged */
};
static const char *const ewc_figures[] = { "fisher_samples_used" };

typedef struct {
  double             lambda;
  int64_t            fisher_samples;
  int64_t            fisher_batch;   /* samples per Fisher pass (1: one at a time) */
  GPtrArray         *fisher;         /* LfImportance *, one per past experience */
  GPtrArray         *anchor;         /* LfSnapshot *, the weights after it      */
  LfAnchoredPenalty *pen;            /* the merged pull: w = S, theta* = m, constant c;
                                      * the figures and the per-experience Fisher totals */
} Ewc;

static const LfParam ewc_params[] = {
  { "lambda", LF_PARAM_FLOAT, "5000", 0, 1e15, NULL,
    "strength: the loss gains lambda/2 * sum_k F_k (theta - theta*_k)^2 over past experiences k "
    "(Kirkpatrick et al.'s lambda)" },
  { "fisher_samples", LF_PARAM_INT, "500", 0, 1e9, NULL,
    "training samples of each experience the diagonal Fisher averages (0: every sample)" },
  { "fisher_batch", LF_PARAM_INT, "64", 1, 1e9, NULL,
    "samples per Fisher pass: the per-sample squared gradients of a batch are summed exactly "
    "(plain linears; other parameters one sample at a time); 1: every sample its own pass" },
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
  s->fisher_batch = lf_params_get_int (p, "fisher_batch");
  s->fisher = g_ptr_array_new_with_free_func ((GDestroyNotify) lf_importance_free);
  s->anchor = g_ptr_array_new_with_free_func ((GDestroyNotify) lf_snapshot_free);
  s->pen = lf_anchored_penalty_new (ctx, "ewc", s->lambda / 2, G_N_ELEMENTS (ewc_figures), ewc_figures);
  return s;
}

/* S, m and c from the stored (F_k, theta*_k), in double per element, into
 * the penalty's weights and anchor (written in place: the optimizer holds
 * them).  A parameter no stored anchor holds gets S = 0 (it adds nothing). */
static void
ewc_merge (Ewc *s)
{
  if (s->fisher->len == 0)
    return;
  const int n = lf_anchored_penalty_n (s->pen);
  LfTensor *const *params = lf_anchored_penalty_params (s->pen);
  LfImportance *merged_w = lf_anchored_penalty_weights (s->pen);
  lf_anchored_penalty_take_anchor (s->pen);   /* the storage of m */
  lf_importance_zero (merged_w);
  const guint K = s->fisher->len;
  const LfReal **f = g_new (const LfReal *, K), **a = g_new (const LfReal *, K);
  double c = 0;
  for (int i = 0; i < n; i++)
    {
      LfTensor *p = params[i];
      const int64_t numel = lf_tensor_numel (p);
      guint held = 0;
      for (guint k = 0; k < K; k++)
        {
          LfTensor *ak = lf_snapshot_get (s->anchor->pdata[k], lf_tensor_name (p));
          if (ak == NULL || lf_tensor_numel (ak) != numel)
            continue;
          f[held] = lf_tensor_data (lf_importance_values (s->fisher->pdata[k], i));
          a[held] = lf_tensor_data (ak);
          held++;
        }
      if (held == 0)
        continue;
      LfReal *md = lf_tensor_data (lf_anchored_penalty_anchor (s->pen, i));
      LfReal *sd = lf_tensor_data (lf_importance_values (merged_w, i));
      for (int64_t e = 0; e < numel; e++)
        {
          double sw = 0, swa = 0;
          LfReal sf = 0;
          for (guint k = 0; k < held; k++)
            {
              sw += f[k][e];
              swa += (double) f[k][e] * a[k][e];
              sf += f[k][e];
            }
          /* an element no experience finds important keeps the latest anchor */
          md[e] = sw > 0 ? (LfReal) (swa / sw) : a[held - 1][e];
          sd[e] = sf;
          for (guint k = 0; k < held; k++)
            {
              double d = (double) md[e] - a[k][e];
              c += f[k][e] * d * d;
            }
        }
    }
  lf_anchored_penalty_set_constant (s->pen, c);
  g_free (f);
  g_free (a);
}

static void
ewc_destroy (void *self)
{
  Ewc *s = self;
  lf_anchored_penalty_free (s->pen);
  g_ptr_array_unref (s->fisher);
  g_ptr_array_unref (s->anchor);
  g_free (s);
}

/* The penalty lambda/2 * sum_k F_k (theta - theta*_k)^2, merged into
 * lambda/2 * (sum_i S_i (theta_i - m_i)^2 + c), pulled by the optimizer's
 * update (its gradient lambda S (theta - m)); no loss term, no tape node,
 * no pass of its own. */
static gboolean
ewc_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  lf_anchored_penalty_begin (((Ewc *) self)->pen, ctx);
  return TRUE;
}

static void
ewc_after_step (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) batch;
  lf_anchored_penalty_after_step (((Ewc *) self)->pen, ctx);
}

static gboolean
ewc_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Ewc *s = self;
  int64_t e = lf_ctx_experience (ctx);
  if (s->anchor->len > 0)
    lf_anchored_penalty_record_drift (s->pen, s->anchor->pdata[s->anchor->len - 1]);   /* from theta*_latest */
  LfImportance *f = lf_importance_new (lf_anchored_penalty_n (s->pen), lf_anchored_penalty_params (s->pen));
  lf_anchored_penalty_set_figure (s->pen, EWC_FIG_SAMPLES, (double) lf_fisher_predicted (f, ctx, e, s->fisher_samples, s->fisher_batch));
  lf_anchored_penalty_record_history (s->pen, e, f);   /* the Fisher total of experience e */
  g_ptr_array_add (s->fisher, f);
  g_ptr_array_add (s->anchor, lf_snapshot_take (lf_model_root (lf_ctx_model (ctx)), TRUE));
  ewc_merge (s);
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
  /* {"layers.0.weight": [F_0 total, F_1 total, ...], ...} */
  lf_anchored_penalty_report (s->pen, ctx, "fisher_by_param");
}

/* The stored pairs (F_k, theta*_k); the merged pull is rebuilt from them. */
static gboolean
ewc_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Ewc *s = self;
  const int n = lf_anchored_penalty_n (s->pen);
  LfTensor *const *params = lf_anchored_penalty_params (s->pen);
  lf_state_put_int (st, "ewc.stored", s->fisher->len);
  for (guint k = 0; k < s->fisher->len; k++)
    for (int i = 0; i < n; i++)
      {
        const char *name = lf_tensor_name (params[i]);
        g_autofree char *fk = g_strdup_printf ("ewc.fisher.%u.%s", k, name);
        g_autofree char *ak = g_strdup_printf ("ewc.anchor.%u.%s", k, name);
        lf_state_put_tensor (st, fk, lf_importance_values (s->fisher->pdata[k], i));
        LfTensor *a = lf_snapshot_get (s->anchor->pdata[k], name);
        if (a)
          lf_state_put_tensor (st, ak, a);
      }
  lf_anchored_penalty_save (s->pen, st, FALSE);
  return TRUE;
}

static gboolean
ewc_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  Ewc *s = self;
  const int n = lf_anchored_penalty_n (s->pen);
  LfTensor *const *params = lf_anchored_penalty_params (s->pen);
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
      LfImportance *f = lf_importance_new (n, params);
      LfSnapshot *a = lf_snapshot_take (root, TRUE);   /* the right names and shapes; values below */
      g_ptr_array_add (s->fisher, f);
      g_ptr_array_add (s->anchor, a);
      for (int i = 0; i < n; i++)
        {
          const char *name = lf_tensor_name (params[i]);
          g_autofree char *fk = g_strdup_printf ("ewc.fisher.%" G_GINT64_FORMAT ".%s", k, name);
          g_autofree char *ak = g_strdup_printf ("ewc.anchor.%" G_GINT64_FORMAT ".%s", k, name);
          LfTensor *dst = lf_snapshot_get (a, name);
          if (!lf_state_get_tensor_into (st, fk, lf_importance_values (f, i), error)
              || (dst && !lf_state_get_tensor_into (st, ak, dst, error)))
            return FALSE;
        }
    }
  if (!lf_anchored_penalty_load (s->pen, st, FALSE, error))
    return FALSE;
  ewc_merge (s);
  return TRUE;
}

static size_t
ewc_memory_bytes (void *self)
{
  Ewc *s = self;
  size_t b = sizeof *s + lf_anchored_penalty_bytes (s->pen);
  for (guint k = 0; k < s->fisher->len; k++)
    b += lf_importance_bytes (s->fisher->pdata[k]) + lf_snapshot_bytes (s->anchor->pdata[k]);
  return b;
}

static const LfStrategyVTable ewc_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = ewc_create,
  .destroy = ewc_destroy,
  .before_experience = ewc_before_experience,
  .after_step = ewc_after_step,
  .after_experience = ewc_after_experience,
  .report = ewc_report,
  .save = ewc_save,
  .load = ewc_load,
  .memory_bytes = ewc_memory_bytes,
};

static const LfCapabilities ewc_caps = {
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
