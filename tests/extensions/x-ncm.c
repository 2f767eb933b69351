/* lifelong test plugin — strategy "x-ncm": nearest-class-mean inference
 * (as in iCaRL, Rebuffi et al., CVPR 2017, without exemplars).  Training is
 * plain fine-tuning; after each experience the mean feature (out->features)
 * of every class in that experience's training samples is computed in a
 * no-record scope and kept; predict assigns each sample the class whose
 * mean is nearest (Euclidean).  Means of earlier classes are kept as they
 * were computed, so forgetting in the head does not reach the prediction. */
#include <lifelong/lifelong.h>
#include <math.h>

typedef struct {
  int64_t  classes, dim, batch;
  double  *mean;      /* (classes, dim), NULL until the first experience ends */
  gboolean *seen;     /* (classes) */
} XNcm;

static const LfParam xncm_params[] = {
  { "batch_size", LF_PARAM_INT, "256", 1, 1e7, NULL, "samples per forward when computing the means" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
xncm_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  XNcm *x = g_new0 (XNcm, 1);
  x->classes = lf_ctx_spec (ctx)->n_classes;
  x->batch = lf_params_get_int (p, "batch_size");
  x->seen = g_new0 (gboolean, x->classes);
  return x;
}

static void
xncm_destroy (void *self)
{
  XNcm *x = self;
  g_free (x->mean);
  g_free (x->seen);
  g_free (x);
}

static gboolean
xncm_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  XNcm *x = self;
  int64_t n;
  const int64_t *ids = lf_ctx_experience_samples (ctx, lf_ctx_experience (ctx), &n);
  g_autofree double *sum = NULL;
  g_autofree int64_t *count = g_new0 (int64_t, x->classes);
  for (int64_t s = 0; s < n; s += x->batch)
    {
      lf_tape_push (FALSE);
      LfBatch *b = lf_ctx_batch (ctx, ids + s, MIN (x->batch, n - s));
      LfModelOutput out;
      lf_ctx_forward (ctx, b, FALSE, &out);
      int64_t D = lf_tensor_dim (out.features, -1);
      if (x->mean == NULL)
        {
          x->dim = D;
          x->mean = g_new0 (double, x->classes * D);
        }
      if (sum == NULL)
        sum = g_new0 (double, x->classes * D);
      const LfReal *f = lf_tensor_data (out.features);
      for (int64_t i = 0; i < b->n; i++)
        {
          int32_t c = b->labels[i];
          if (c < 0 || c >= x->classes)
            continue;
          count[c]++;
          for (int64_t k = 0; k < D; k++)
            sum[c * D + k] += f[i * D + k];
        }
      lf_tape_pop ();
    }
  for (int64_t c = 0; c < x->classes; c++)
    if (count[c] > 0)
      {
        x->seen[c] = TRUE;
        for (int64_t k = 0; k < x->dim; k++)
          x->mean[c * x->dim + k] = sum[c * x->dim + k] / (double) count[c];
      }
  return TRUE;
}

static void
xncm_predict (void *self, LfStrategyCtx *ctx, const LfBatch *b, const LfModelOutput *out, int32_t *pred)
{
  (void) ctx;
  XNcm *x = self;
  const LfReal *f = lf_tensor_data (out->features);
  for (int64_t i = 0; i < b->n; i++)
    {
      double best = INFINITY;
      pred[i] = -1;
      for (int64_t c = 0; c < x->classes; c++)
        {
          if (!x->seen[c])
            continue;
          double d = 0;
          for (int64_t k = 0; k < x->dim; k++)
            {
              double e = (double) f[i * x->dim + k] - x->mean[c * x->dim + k];
              d += e * e;
            }
          if (d < best)
            {
              best = d;
              pred[i] = (int32_t) c;
            }
        }
    }
}

static size_t
xncm_memory_bytes (void *self)
{
  XNcm *x = self;
  return (size_t) (x->classes * x->dim) * sizeof (double) + (size_t) x->classes * sizeof (gboolean);
}

static const LfStrategyVTable xncm_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = xncm_create,
  .destroy = xncm_destroy,
  .after_experience = xncm_after_experience,
  .predict = xncm_predict,
  .memory_bytes = xncm_memory_bytes,
};

static const LfCapabilities xncm_caps = {
  .touches = LF_TOUCHES_INFERENCE,
  .needs = LF_NEEDS_BOUNDARIES | LF_NEEDS_LABELS,
  .supports = LF_SUPPORTS_CLASSIFICATION,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "x-ncm",
    .version = "0.1.0",
    .summary = "test plugin: nearest-class-mean prediction on the model's features (iCaRL's classifier, no exemplars)",
    .params = xncm_params,
    .caps = &xncm_caps,
    .vtable = &xncm_vtable,
  };
  return &info;
}
