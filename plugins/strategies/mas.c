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
 * weights after the previous experience, applied by the optimizer's update
 * as its gradient (an LfAnchoredPenalty's pull, lf_optimizer_set_pull: no
 * pass of its own, and the loss the host logs is the task's).
 *
 * f(x) is the output the scenario trains: the raw logits of the classes
 * seen so far (class- and domain-incremental), or of the sample's own task
 * (task-incremental: the host's -1e9 task mask must not enter a norm). */
#include <lifelong/lifelong.h>
#include <math.h>

enum {
  MAS_FIG_SAMPLES = LF_PENALTY_FIG_COUNT,   /* samples the last Omega_new averaged */
};
static const char *const mas_figures[] = { "importance_samples_used" };

typedef struct {
  double             lambda;
  int64_t            samples;
  int64_t            batch;   /* samples per importance pass (1: one at a time) */
  LfAnchoredPenalty *pen;     /* Omega (accumulated), theta*, the figures and history */
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
  s->pen = lf_anchored_penalty_new (ctx, "mas", s->lambda, G_N_ELEMENTS (mas_figures), mas_figures);
  return s;
}

static void
mas_destroy (void *self)
{
  Mas *s = self;
  lf_anchored_penalty_free (s->pen);
  g_free (s);
}

/* lambda * sum Omega (theta - theta*)^2, pulled by the optimizer's update
 * once there is an anchor */
static gboolean
mas_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  lf_anchored_penalty_begin (((Mas *) self)->pen, ctx);
  return TRUE;
}

static void
mas_after_step (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) batch;
  lf_anchored_penalty_after_step (((Mas *) self)->pen, ctx);
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
  int64_t N;
  g_autofree int64_t *ids = lf_penalty_sample_ids (ctx, e, s->samples, "mas-importance", &N);
  if (N <= 0)
    return 0;
  LfModel *model = lf_ctx_model (ctx);
  int64_t C = lf_model_spec (model)->n_classes;
  /* the mask lives in a scope around the per-sample ones */
  lf_tape_push (FALSE);
  MasSamples u = { ctx, ids, mas_column_mask (ctx, e, C) };
  if (s->batch > 1)
    lf_importance_add_per_sample (into, lf_model_root (model), LF_IMPORTANCE_ABSOLUTE, N, s->batch,
                                  mas_sample_loss, &u, 1.0 / (double) N);
  else   /* one pass per sample */
    lf_importance_add_each_sample (into, LF_IMPORTANCE_ABSOLUTE, N, mas_sample_loss, &u, 1.0 / (double) N);
  lf_tape_pop ();
  return N;
}

static gboolean
mas_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Mas *s = self;
  int64_t e = lf_ctx_experience (ctx);
  lf_anchored_penalty_record_drift (s->pen, NULL);
  int64_t used = mas_importance (s, ctx, e, lf_anchored_penalty_weights (s->pen));
  lf_anchored_penalty_set_figure (s->pen, MAS_FIG_SAMPLES, (double) used);
  lf_anchored_penalty_record_history (s->pen, e, NULL);   /* total Omega after experience e */
  lf_anchored_penalty_take_anchor (s->pen);
  return TRUE;
}

static void
mas_report (void *self, LfStrategyCtx *ctx)
{
  Mas *s = self;
  lf_ctx_report_number (ctx, "omega_total", lf_importance_total (lf_anchored_penalty_weights (s->pen)));
  lf_anchored_penalty_report (s->pen, ctx, "omega_by_param");
}

static gboolean
mas_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  lf_anchored_penalty_save (((Mas *) self)->pen, st, TRUE);
  return TRUE;
}

static gboolean
mas_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  (void) ctx;
  return lf_anchored_penalty_load (((Mas *) self)->pen, st, TRUE, error);
}

static size_t
mas_memory_bytes (void *self)
{
  Mas *s = self;
  return sizeof *s + lf_anchored_penalty_bytes (s->pen);
}

static const LfStrategyVTable mas_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = mas_create,
  .destroy = mas_destroy,
  .before_experience = mas_before_experience,
  .after_step = mas_after_step,
  .after_experience = mas_after_experience,
  .report = mas_report,
  .save = mas_save,
  .load = mas_load,
  .memory_bytes = mas_memory_bytes,
};

static const LfCapabilities mas_caps = {
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
