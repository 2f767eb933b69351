/* lifelong plugin — strategy "ft-ewc": FT-L (ft-edit.h) with an EWC
 * penalty toward the base model: lambda/2 * sum F (theta - theta_base)^2 on
 * the trained down_proj, F the diagonal Fisher of the knowledge base's
 * answers under the base model (the empirical Fisher, from the scenario's
 * reference samples: lf_ctx_reference_samples), estimated once before the
 * first edit.  The pull is folded into the optimizer's update, as ewc's
 * (include/lifelong/toolkit/penalty.h). */
#include "ft-edit.h"

static const LfParam ftewc_params[] = {
  FT_EDIT_PARAMS,
  { "lambda", LF_PARAM_FLOAT, "1000", 0, 1e15, NULL,
    "strength: each edit's loss gains lambda/2 * sum F (theta - theta_base)^2" },
  { "fisher_samples", LF_PARAM_INT, "256", 0, 1e9, NULL,
    "knowledge-base texts the Fisher averages (0: all), drawn without replacement" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

typedef struct {
  FtEdit             ft;
  double             lambda;
  int64_t            fisher_samples, fisher_used;
  LfAnchoredPenalty *pen;   /* w = F, theta* = the base weights */
} FtEwc;

static void
ftewc_destroy (void *self)
{
  FtEwc *s = self;
  if (s->pen)
    lf_anchored_penalty_free (s->pen);
  ft_edit_clear (&s->ft);
  g_free (s);
}

static void *
ftewc_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  FtEwc *s = g_new0 (FtEwc, 1);
  if (!ft_edit_init (&s->ft, p, ctx, error))
    {
      ftewc_destroy (s);
      return NULL;
    }
  int64_t n;
  if (lf_ctx_reference_samples (ctx, &n) == NULL)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                   "ft-ewc: the scenario gives no knowledge base to estimate the Fisher on (knowledge-editing "
                   "on a dataset whose texts have a domain, such as facts)");
      ftewc_destroy (s);
      return NULL;
    }
  s->lambda = lf_params_get_float (p, "lambda");
  s->fisher_samples = lf_params_get_int (p, "fisher_samples");
  /* over the trainable parameters: the one down_proj */
  s->pen = lf_anchored_penalty_new (ctx, "ft-ewc", s->lambda / 2, 0, NULL);
  return s;
}

typedef struct {
  LfStrategyCtx *ctx;
  const int64_t *ids;
} FtEwcSamples;

/* -log p(answer | prompt), averaged over the answer's tokens, summed over
 * samples [first, first + count) */
static LfTensor *
ftewc_sample_loss (void *user, int64_t first, int64_t count)
{
  FtEwcSamples *u = user;
  LfBatch *b = lf_ctx_batch (u->ctx, u->ids + first, count);
  LfModelOutput out;
  lf_ctx_forward (u->ctx, b, FALSE, &out);
  LfTensor *nll = lf_ctx_task_loss (u->ctx, b, &out);
  return count == 1 ? nll : lf_scale (nll, (double) count);
}

/* F = 1/N sum_x (d log p(answer | x) / d theta)^2 over N knowledge-base
 * texts, and theta* = the weights now (the base model's) */
static void
ftewc_fisher (FtEwc *s, LfStrategyCtx *ctx)
{
  int64_t n_all;
  const int64_t *all = lf_ctx_reference_samples (ctx, &n_all);
  int64_t N = s->fisher_samples > 0 ? MIN (s->fisher_samples, n_all) : n_all;
  g_autofree int64_t *ids = g_memdup2 (all, (gsize) n_all * sizeof (int64_t));
  LfRng rng;
  lf_rng_init (&rng, lf_ctx_rng_key (ctx, "ft-ewc-fisher"));
  for (int64_t i = 0; i < N; i++)   /* a partial Fisher-Yates: the first N of a shuffle */
    {
      int64_t j = i + (int64_t) lf_rng_below (&rng, (uint64_t) (n_all - i)), t = ids[i];
      ids[i] = ids[j];
      ids[j] = t;
    }
  FtEwcSamples u = { ctx, ids };
  lf_importance_add_each_sample (lf_anchored_penalty_weights (s->pen), LF_IMPORTANCE_SQUARED, N, ftewc_sample_loss,
                                 &u, 1.0 / (double) N);
  lf_anchored_penalty_take_anchor (s->pen);
  s->fisher_used = N;
}

static gboolean
ftewc_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  FtEwc *s = self;
  if (!lf_anchored_penalty_has_anchor (s->pen))
    ftewc_fisher (s, ctx);
  lf_anchored_penalty_begin (s->pen, ctx);
  return TRUE;
}

static gboolean
ftewc_select_training (void *self, LfStrategyCtx *ctx, LfSelection *sel, GError **error)
{
  (void) ctx; (void) error;
  ft_edit_select (&((FtEwc *) self)->ft, sel);
  return TRUE;
}

static void
ftewc_after_step (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) batch;
  lf_anchored_penalty_after_step (((FtEwc *) self)->pen, ctx);
}

static void
ftewc_report (void *self, LfStrategyCtx *ctx)
{
  FtEwc *s = self;
  ft_edit_report (&s->ft, ctx);
  lf_anchored_penalty_record_drift (s->pen, NULL);
  lf_ctx_report_number (ctx, "fisher_total", lf_importance_total (lf_anchored_penalty_weights (s->pen)));
  lf_ctx_report_number (ctx, "fisher_samples_used", (double) s->fisher_used);
  lf_anchored_penalty_report (s->pen, ctx, NULL);
}

static size_t
ftewc_memory_bytes (void *self)
{
  return sizeof (FtEwc) + lf_anchored_penalty_bytes (((FtEwc *) self)->pen);
}

static const LfStrategyVTable ftewc_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = ftewc_create,
  .destroy = ftewc_destroy,
  .before_experience = ftewc_before_experience,
  .select_training = ftewc_select_training,
  .after_step = ftewc_after_step,
  .report = ftewc_report,
  .memory_bytes = ftewc_memory_bytes,
};

static const char *const ftewc_scenarios[] = { "knowledge-editing", NULL };

static const LfCapabilities ftewc_caps = {
  .touches = LF_TOUCHES_OPTIMIZER | LF_TOUCHES_GRADIENTS,
  .needs = LF_NEEDS_BOUNDARIES | LF_NEEDS_SEQUENCES,
  .supports = LF_SUPPORTS_LANGUAGE_MODEL,
  .scenarios = ftewc_scenarios,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "ft-ewc",
    .version = "0.1.0",
    .summary = "FT-L with an EWC penalty toward the base weights, the Fisher from the knowledge base",
    .params = ftewc_params,
    .caps = &ftewc_caps,
    .vtable = &ftewc_vtable,
  };
  return &info;
}
