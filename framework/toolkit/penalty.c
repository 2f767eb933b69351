/* lifelong toolkit — LfAnchoredPenalty: the parameters, anchor, weights,
 * figures and history a quadratic-penalty regulariser keeps, and its pull
 * handed to the optimizer, whose update applies it and measures its value
 * in the pass it makes anyway (lf_optimizer_set_pull). */
#include "tensor-private.h"
#include <lifelong/toolkit/penalty.h>
#include <math.h>

struct LfAnchoredPenalty {
  char         *name;        /* checkpoint key prefix                           */
  double        coef;
  int           n;
  LfTensor    **params;      /* borrowed, the trainable ones at create          */
  LfImportance *weights;     /* w (owned)                                       */
  LfTensor    **anchor;      /* theta* (owned), NULL entries before the first take */
  gboolean      has_anchor;
  double        constant;    /* added to the measured sum                       */
  LfOptimizer  *opt;         /* the optimizer holding the pull, or NULL         */
  gboolean      first_step;
  int64_t       n_exp, done; /* experiences in the scenario; history rows recorded */
  double       *history;     /* (n_exp, n)                                      */
  int           n_fig;
  double       *fig;         /* LF_PENALTY_FIG_COUNT + the plugin's own         */
  const char  **fig_keys;
};

LfAnchoredPenalty *
lf_anchored_penalty_new (LfStrategyCtx *ctx, const char *name, double coef, int n_extra,
                         const char *const *extra_keys)
{
  g_return_val_if_fail (ctx != NULL && name != NULL, NULL);
  g_return_val_if_fail (n_extra >= 0 && (n_extra == 0 || extra_keys != NULL), NULL);
  static const char *const keys[LF_PENALTY_FIG_COUNT] = {
    "quadratic_at_start", "penalty_at_start", "penalty_last", "anchor_distance",
  };
  LfAnchoredPenalty *pen = g_new0 (LfAnchoredPenalty, 1);
  pen->name = g_strdup (name);
  pen->coef = coef;
  g_autoptr (GPtrArray) ps = lf_model_params (lf_ctx_model (ctx), TRUE);
  pen->n = (int) ps->len;
  pen->params = g_memdup2 (ps->pdata, sizeof (LfTensor *) * (gsize) MAX (pen->n, 1));
  pen->weights = lf_importance_new (pen->n, pen->params);
  pen->anchor = g_new0 (LfTensor *, MAX (pen->n, 1));
  pen->n_exp = MAX (lf_ctx_n_experiences (ctx), 0);
  pen->history = g_new0 (double, (gsize) MAX (pen->n_exp * pen->n, 1));
  pen->n_fig = LF_PENALTY_FIG_COUNT + n_extra;
  pen->fig = g_new (double, pen->n_fig);
  pen->fig_keys = g_new (const char *, pen->n_fig);
  for (int k = 0; k < pen->n_fig; k++)
    {
      pen->fig[k] = NAN;
      pen->fig_keys[k] = k < LF_PENALTY_FIG_COUNT ? keys[k] : extra_keys[k - LF_PENALTY_FIG_COUNT];
    }
  return pen;
}

/* Every pull of pen off the optimizer it was handed to. */
static void
penalty_detach (LfAnchoredPenalty *pen)
{
  for (int i = 0; pen->opt && i < pen->n; i++)
    lf_optimizer_set_pull (pen->opt, pen->params[i], NULL, NULL, 0);
  pen->opt = NULL;
}

void
lf_anchored_penalty_free (LfAnchoredPenalty *pen)
{
  if (pen == NULL)
    return;
  penalty_detach (pen);
  for (int i = 0; i < pen->n; i++)
    lf_tensor_free (pen->anchor[i]);
  g_free (pen->anchor);
  lf_importance_free (pen->weights);
  g_free (pen->params);
  g_free (pen->history);
  g_free (pen->fig);
  g_free (pen->fig_keys);
  g_free (pen->name);
  g_free (pen);
}

int lf_anchored_penalty_n (const LfAnchoredPenalty *pen) { return pen->n; }
LfTensor *const *lf_anchored_penalty_params (const LfAnchoredPenalty *pen) { return pen->params; }
LfImportance *lf_anchored_penalty_weights (LfAnchoredPenalty *pen) { return pen->weights; }
gboolean lf_anchored_penalty_has_anchor (const LfAnchoredPenalty *pen) { return pen->has_anchor; }
void lf_anchored_penalty_set_constant (LfAnchoredPenalty *pen, double c) { pen->constant = c; }

LfTensor *
lf_anchored_penalty_anchor (LfAnchoredPenalty *pen, int i)
{
  g_return_val_if_fail (pen != NULL && i >= 0 && i < pen->n, NULL);
  return pen->anchor[i];
}

void
lf_anchored_penalty_take_anchor (LfAnchoredPenalty *pen)
{
  g_return_if_fail (pen != NULL);
  for (int i = 0; i < pen->n; i++)
    {
      LfTensor *p = pen->params[i];
      if (pen->anchor[i] == NULL)
        pen->anchor[i] = lf_tensor_new_owned (p->ndim, p->shape);
      lf_tensor_copy_data (pen->anchor[i], p);
    }
  pen->has_anchor = TRUE;
}

void
lf_anchored_penalty_begin (LfAnchoredPenalty *pen, LfStrategyCtx *ctx)
{
  g_return_if_fail (pen != NULL && ctx != NULL);
  pen->first_step = TRUE;
  LfOptimizer *opt = lf_ctx_optimizer (ctx);
  if (pen->opt != opt || !pen->has_anchor)
    penalty_detach (pen);
  if (!pen->has_anchor || opt == NULL)
    return;
  pen->opt = opt;
  for (int i = 0; i < pen->n; i++)
    lf_optimizer_set_pull (opt, pen->params[i], pen->anchor[i]->data,
                           lf_importance_values (pen->weights, i)->data, pen->coef);
}

void
lf_anchored_penalty_after_step (LfAnchoredPenalty *pen, LfStrategyCtx *ctx)
{
  g_return_if_fail (pen != NULL);
  (void) ctx;
  if (pen->opt == NULL)
    return;   /* no pull yet */
  double q = lf_optimizer_pull_value (pen->opt) + pen->constant;
  if (pen->first_step)
    {
      pen->fig[LF_PENALTY_FIG_QUAD_START] = q;
      pen->fig[LF_PENALTY_FIG_PENALTY_START] = pen->coef * q;
      pen->first_step = FALSE;
    }
  pen->fig[LF_PENALTY_FIG_PENALTY_LAST] = pen->coef * q;
}

void
lf_anchored_penalty_record_drift (LfAnchoredPenalty *pen, const LfSnapshot *to)
{
  g_return_if_fail (pen != NULL);
  if (to == NULL && !pen->has_anchor)
    return;
  double d2 = 0;
  for (int i = 0; i < pen->n; i++)
    {
      const LfTensor *a = to ? lf_snapshot_get (to, pen->params[i]->name) : pen->anchor[i];
      if (a == NULL || a->numel != pen->params[i]->numel)
        continue;
      const LfReal *t = pen->params[i]->data, *x = a->data;
      for (int64_t k = 0; k < a->numel; k++)
        d2 += ((double) t[k] - x[k]) * ((double) t[k] - x[k]);
    }
  pen->fig[LF_PENALTY_FIG_DRIFT] = sqrt (d2);
}

void
lf_anchored_penalty_record_history (LfAnchoredPenalty *pen, int64_t e, LfImportance *imp)
{
  g_return_if_fail (pen != NULL);
  if (e < 0 || e >= pen->n_exp)
    return;
  if (imp == NULL)
    imp = pen->weights;
  lf_check (lf_importance_n (imp) == pen->n, "lf_anchored_penalty_record_history: %d parameters, importance has %d",
            pen->n, lf_importance_n (imp));
  for (int i = 0; i < pen->n; i++)
    {
      const LfTensor *v = lf_importance_values (imp, i);
      double t = 0;
      for (int64_t k = 0; k < v->numel; k++)
        t += v->data[k];
      pen->history[e * pen->n + i] = t;
    }
  pen->done = MAX (pen->done, e + 1);
}

double
lf_anchored_penalty_figure (const LfAnchoredPenalty *pen, int k)
{
  g_return_val_if_fail (pen != NULL && k >= 0 && k < pen->n_fig, NAN);
  return pen->fig[k];
}

void
lf_anchored_penalty_set_figure (LfAnchoredPenalty *pen, int k, double v)
{
  g_return_if_fail (pen != NULL && k >= 0 && k < pen->n_fig);
  pen->fig[k] = v;
}

void
lf_anchored_penalty_report (LfAnchoredPenalty *pen, LfStrategyCtx *ctx, const char *history_key)
{
  g_return_if_fail (pen != NULL && ctx != NULL);
  for (int k = 0; k < pen->n_fig; k++)
    if (!isnan (pen->fig[k]))
      lf_ctx_report_number (ctx, pen->fig_keys[k], pen->fig[k]);
  if (history_key == NULL)
    return;
  /* {"layers.0.weight": [row 0, row 1, ...], ...} */
  g_autoptr (GString) js = g_string_new ("{");
  for (int i = 0; i < pen->n; i++)
    {
      g_string_append_printf (js, "%s\"%s\": [", i ? ", " : "", pen->params[i]->name);
      for (int64_t k = 0; k < pen->done; k++)
        g_string_append_printf (js, "%s%.9g", k ? ", " : "", pen->history[k * pen->n + i]);
      g_string_append_c (js, ']');
    }
  g_string_append_c (js, '}');
  lf_ctx_report_json (ctx, history_key, js->str);
}

/* "<name>.<what>" and "<name>.<what>.<param>" */
static char *
penalty_key (const LfAnchoredPenalty *pen, const char *what, const LfTensor *p)
{
  return p ? g_strdup_printf ("%s.%s.%s", pen->name, what, p->name) : g_strdup_printf ("%s.%s", pen->name, what);
}

void
lf_anchored_penalty_save (LfAnchoredPenalty *pen, LfState *st, gboolean tensors)
{
  g_return_if_fail (pen != NULL && st != NULL);
  g_autofree char *dk = penalty_key (pen, "done", NULL), *hk = penalty_key (pen, "history", NULL);
  g_autofree char *fk = penalty_key (pen, "figures", NULL), *ak = penalty_key (pen, "has_anchor", NULL);
  lf_state_put_int (st, dk, pen->done);
  lf_state_put_bytes (st, fk, pen->fig, sizeof (double) * (size_t) pen->n_fig);
  lf_state_put_bytes (st, hk, pen->history, sizeof (double) * (size_t) (pen->n_exp * pen->n));
  if (!tensors)
    return;
  lf_state_put_int (st, ak, pen->has_anchor);
  for (int i = 0; i < pen->n; i++)
    {
      g_autofree char *wk = penalty_key (pen, "weight", pen->params[i]);
      lf_state_put_tensor (st, wk, lf_importance_values (pen->weights, i));
      if (pen->has_anchor)
        {
          g_autofree char *k = penalty_key (pen, "anchor", pen->params[i]);
          lf_state_put_tensor (st, k, pen->anchor[i]);
        }
    }
}

gboolean
lf_anchored_penalty_load (LfAnchoredPenalty *pen, const LfState *st, gboolean tensors, GError **error)
{
  g_return_val_if_fail (pen != NULL && st != NULL, FALSE);
  g_autofree char *dk = penalty_key (pen, "done", NULL), *hk = penalty_key (pen, "history", NULL);
  g_autofree char *fk = penalty_key (pen, "figures", NULL), *ak = penalty_key (pen, "has_anchor", NULL);
  int64_t done = 0, has = 0;
  if (!lf_state_get_int (st, dk, &done) || done < 0 || done > pen->n_exp
      || (tensors && !lf_state_get_int (st, ak, &has)))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "the checkpoint has no %s state", pen->name);
      return FALSE;
    }
  pen->done = done;
  size_t nb;
  const void *b = lf_state_get_bytes (st, fk, &nb);
  if (b && nb == sizeof (double) * (size_t) pen->n_fig)
    memcpy (pen->fig, b, nb);
  b = lf_state_get_bytes (st, hk, &nb);
  if (b && nb == sizeof (double) * (size_t) (pen->n_exp * pen->n))
    memcpy (pen->history, b, nb);
  if (!tensors)
    return TRUE;
  /* the anchor's storage first (load runs before the model's values are
   * restored: the values come from the checkpoint) */
  if (has)
    lf_anchored_penalty_take_anchor (pen);
  pen->has_anchor = has != 0;
  for (int i = 0; i < pen->n; i++)
    {
      g_autofree char *wk = penalty_key (pen, "weight", pen->params[i]);
      g_autofree char *k = penalty_key (pen, "anchor", pen->params[i]);
      if (!lf_state_get_tensor_into (st, wk, lf_importance_values (pen->weights, i), error)
          || (has && !lf_state_get_tensor_into (st, k, pen->anchor[i], error)))
        return FALSE;
    }
  return TRUE;
}

size_t
lf_anchored_penalty_bytes (const LfAnchoredPenalty *pen)
{
  g_return_val_if_fail (pen != NULL, 0);
  size_t b = sizeof *pen + lf_importance_bytes (pen->weights) + sizeof (double) * (size_t) (pen->n_exp * pen->n)
             + (sizeof (double) + sizeof (char *)) * (size_t) pen->n_fig + sizeof (LfTensor *) * (size_t) pen->n;
  for (int i = 0; i < pen->n; i++)
    if (pen->anchor[i])
      b += sizeof (LfTensor) + (size_t) pen->anchor[i]->numel * sizeof (LfReal);
  return b;
}

int64_t *
lf_penalty_sample_ids (LfStrategyCtx *ctx, int64_t e, int64_t max, const char *purpose, int64_t *n)
{
  g_return_val_if_fail (ctx != NULL && purpose != NULL && n != NULL, NULL);
  int64_t n_all;
  const int64_t *all = lf_ctx_experience_samples (ctx, e, &n_all);
  const int64_t N = max > 0 ? MIN (max, n_all) : n_all;
  *n = MAX (N, 0);
  if (N <= 0)
    return NULL;
  int64_t *ids = g_memdup2 (all, (gsize) n_all * sizeof (int64_t));
  LfRng rng;
  lf_rng_init (&rng, lf_ctx_rng_key (ctx, purpose));
  for (int64_t i = 0; i < N; i++)
    {
      int64_t j = i + (int64_t) lf_rng_below (&rng, (uint64_t) (n_all - i)), t = ids[i];
      ids[i] = ids[j];
      ids[j] = t;
    }
  return ids;
}

/* ---- EWC's Fisher from predicted labels ---------------------------------- */

/* The samples of a Fisher estimate, for lf_importance_add_per_sample. */
typedef struct {
  LfStrategyCtx *ctx;
  const int64_t *ids;
} FisherSamples;

/* A language model's logits (n, T, V): each sample's mean over the
 * positions its loss mask keeps of -log p(y^_t | x_<=t), y^_t the arg-max
 * next token, summed over the n samples -> (1).  (The mean keeps F on the
 * per-token scale of the training loss, whatever the sequence length.) */
static LfTensor *
fisher_lm_loss (const LfBatch *b, LfTensor *logits)
{
  const int64_t n = b->n, T = lf_tensor_dim (logits, 1), V = lf_tensor_dim (logits, 2);
  const LfReal *z = lf_tensor_data (logits);
  int32_t *yhat = lf_scope_alloc (sizeof (int32_t) * (size_t) (n * T));
  LfReal *w = lf_scope_alloc (sizeof (LfReal) * (size_t) (n * T));
  int64_t kept_samples = 0;
  for (int64_t r = 0; r < n; r++)
    {
      int64_t k = 0;
      for (int64_t t = 0; t < T; t++)
        {
          int64_t i = r * T + t;
          gboolean keep = b->labels[i] >= 0 && (b->loss_mask == NULL || b->loss_mask[i]);
          yhat[i] = -100;
          if (!keep)
            continue;
          yhat[i] = 0;
          for (int64_t c = 1; c < V; c++)
            if (z[i * V + c] > z[i * V + yhat[i]])
              yhat[i] = (int32_t) c;
          k++;
        }
      for (int64_t t = 0; t < T; t++)
        w[r * T + t] = k > 0 ? (LfReal) (1.0 / (double) k) : 0;
      kept_samples += k > 0;
    }
  /* the weighted mean is sum_s mean_s / kept_samples */
  LfCrossEntropyOptions o = LF_CROSS_ENTROPY_OPTIONS_INIT;
  o.weights = w;
  int64_t shape[2] = { n * T, V };
  LfTensor *nll = lf_cross_entropy (lf_reshape (logits, 2, shape), yhat, &o);
  return lf_scale (nll, (double) MAX (kept_samples, 1));
}

/* sum over samples [first, first + count) of -log p(y^|x), y^ the arg-max
 * of each row's task-masked logits (a language model: fisher_lm_loss) */
static LfTensor *
fisher_sample_loss (void *user, int64_t first, int64_t count)
{
  FisherSamples *u = user;
  LfBatch *b = lf_ctx_batch (u->ctx, u->ids + first, count);
  LfModelOutput out;
  lf_ctx_forward (u->ctx, b, FALSE, &out);
  if (lf_tensor_ndim (out.logits) == 3)
    return fisher_lm_loss (b, out.logits);
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

int64_t
lf_fisher_predicted (LfImportance *into, LfStrategyCtx *ctx, int64_t e, int64_t max, int64_t batch)
{
  g_return_val_if_fail (into != NULL && ctx != NULL, 0);
  int64_t N;
  g_autofree int64_t *ids = lf_penalty_sample_ids (ctx, e, max, "ewc-fisher", &N);
  if (N <= 0)
    return 0;
  FisherSamples u = { ctx, ids };
  if (batch > 1)
    lf_importance_add_per_sample (into, lf_model_root (lf_ctx_model (ctx)), LF_IMPORTANCE_SQUARED, N, batch,
                                  fisher_sample_loss, &u, 1.0 / (double) N);
  else   /* one pass per sample */
    lf_importance_add_each_sample (into, LF_IMPORTANCE_SQUARED, N, fisher_sample_loss, &u, 1.0 / (double) N);
  return N;
}
