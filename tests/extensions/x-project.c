/* lifelong test plugin — strategy "x-project": A-GEM's gradient projection
 * (Chaudhry et al., ICLR 2019) in after_backward.  After each experience it
 * keeps `memory` sample ids of that experience.  At every step with a
 * memory it computes a reference gradient g_ref on `reference_batch`
 * remembered samples in its own tape scope (lf_grad_into: the step's .grad
 * stays untouched) and, when g . g_ref < 0, replaces the step's gradient in
 * place by  g - (g . g_ref / g_ref . g_ref) g_ref.  A parameter the step
 * gave no gradient (lf_tensor_grad NULL: another task's head) first gets a
 * zero buffer through a zero-weighted backward: the headers have no call
 * that makes one.
 *
 * It then recomputes g . g_ref from the edited buffers and reports the
 * smallest value seen, also relative to |g| |g_ref|, and how many steps it
 * projected: the projected gradient never points against the memory. */
#include <lifelong/lifelong.h>
#include <math.h>

typedef struct {
  int64_t  per_experience, ref_batch;
  GArray  *memory;             /* int64 sample ids */
  int64_t  checked, projected, materialised;
  double   min_dot, min_rel;   /* g . g_ref after projection; / (|g| |g_ref|) */
} XProject;

static const LfParam xproject_params[] = {
  { "memory", LF_PARAM_INT, "64", 1, 1e9, NULL, "sample ids kept from each experience" },
  { "reference_batch", LF_PARAM_INT, "64", 1, 1e9, NULL, "remembered samples per reference gradient" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
xproject_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  (void) ctx; (void) error;
  XProject *x = g_new0 (XProject, 1);
  x->per_experience = lf_params_get_int (p, "memory");
  x->ref_batch = lf_params_get_int (p, "reference_batch");
  x->memory = g_array_new (FALSE, FALSE, sizeof (int64_t));
  x->min_dot = x->min_rel = INFINITY;
  return x;
}

static void
xproject_destroy (void *self)
{
  XProject *x = self;
  g_array_unref (x->memory);
  g_free (x);
}

static gboolean
xproject_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  XProject *x = self;
  int64_t n;
  const int64_t *ids = lf_ctx_experience_samples (ctx, lf_ctx_experience (ctx), &n);
  LfRng rng;
  lf_rng_init (&rng, lf_ctx_rng_key (ctx, "x-project-memory"));
  for (int64_t k = 0; k < MIN (n, x->per_experience); k++)   /* with replacement: enough for a test */
    g_array_append_val (x->memory, ids[lf_rng_below (&rng, (uint64_t) n)]);
  return TRUE;
}

/* Gives every parameter without a gradient buffer (it got no gradient this
 * step: another task's head) a zero one, so the projection can write into
 * it: a zero-weighted loss over them, back-propagated in its own scope.
 * Returns how many needed it. */
static int
materialise_grads (GPtrArray *ps)
{
  int n = 0;
  lf_tape_push (TRUE);
  LfTensor *zero = NULL;
  for (guint i = 0; i < ps->len; i++)
    if (lf_tensor_grad (ps->pdata[i]) == NULL)
      {
        LfTensor *t = lf_scale (lf_sum (ps->pdata[i]), 0.0);
        zero = zero ? lf_add (zero, t) : t;
        n++;
      }
  if (zero)
    lf_backward (zero);
  lf_tape_pop ();
  return n;
}

static double
dot_with_grads (GPtrArray *ps, LfReal *const *ref, double *gg)
{
  double d = 0, n2 = 0;
  for (guint i = 0; i < ps->len; i++)
    {
      const LfReal *g = lf_tensor_grad (ps->pdata[i]);
      if (g == NULL)
        continue;
      for (int64_t k = 0; k < lf_tensor_numel (ps->pdata[i]); k++)
        {
          d += (double) g[k] * (double) ref[i][k];
          n2 += (double) g[k] * (double) g[k];
        }
    }
  if (gg)
    *gg = n2;
  return d;
}

static void
xproject_after_backward (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) batch;
  XProject *x = self;
  int64_t m = x->memory->len;
  if (m == 0)
    return;
  g_autoptr (GPtrArray) ps = lf_model_params (lf_ctx_model (ctx), TRUE);
  g_autoptr (GPtrArray) ref = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < ps->len; i++)
    g_ptr_array_add (ref, g_new (LfReal, lf_tensor_numel (ps->pdata[i])));

  /* the reference gradient on remembered samples, in a scope of our own */
  int64_t n = MIN (m, x->ref_batch);
  g_autofree int64_t *ids = g_new (int64_t, n);
  LfRng rng;
  lf_rng_init (&rng, lf_ctx_rng_key (ctx, "x-project-reference"));
  for (int64_t k = 0; k < n; k++)
    ids[k] = g_array_index (x->memory, int64_t, lf_rng_below (&rng, (uint64_t) m));
  lf_tape_push (TRUE);
  LfModelOutput out;
  LfBatch *rb = lf_ctx_batch (ctx, ids, n);
  lf_ctx_forward (ctx, rb, TRUE, &out);
  lf_grad_into (lf_ctx_task_loss (ctx, rb, &out), (int) ps->len, (LfTensor *const *) ps->pdata,
                (LfReal *const *) ref->pdata);
  lf_tape_pop ();

  LfReal *const *r = (LfReal *const *) ref->pdata;
  double rr = 0, gg;
  for (guint i = 0; i < ps->len; i++)
    for (int64_t k = 0; k < lf_tensor_numel (ps->pdata[i]); k++)
      rr += (double) r[i][k] * (double) r[i][k];
  double dot = dot_with_grads (ps, r, &gg);
  x->checked++;
  if (dot >= 0 || rr == 0)
    return;
  x->materialised += materialise_grads (ps);
  double c = dot / rr;
  for (guint i = 0; i < ps->len; i++)
    {
      LfReal *g = lf_tensor_grad (ps->pdata[i]);
      for (int64_t k = 0; k < lf_tensor_numel (ps->pdata[i]); k++)
        g[k] = (LfReal) ((double) g[k] - c * (double) r[i][k]);
    }
  x->projected++;
  double after = dot_with_grads (ps, r, NULL);
  x->min_dot = fmin (x->min_dot, after);
  x->min_rel = fmin (x->min_rel, after / (sqrt (gg) * sqrt (rr)));
}

static void
xproject_report (void *self, LfStrategyCtx *ctx)
{
  XProject *x = self;
  lf_ctx_report_number (ctx, "steps_checked", (double) x->checked);
  lf_ctx_report_number (ctx, "projections", (double) x->projected);
  lf_ctx_report_number (ctx, "gradients_materialised", (double) x->materialised);
  if (x->projected > 0)
    {
      lf_ctx_report_number (ctx, "min_dot_after_projection", x->min_dot);
      lf_ctx_report_number (ctx, "min_relative_dot_after_projection", x->min_rel);
    }
}

static size_t
xproject_memory_bytes (void *self)
{
  return ((XProject *) self)->memory->len * sizeof (int64_t);
}

static const LfStrategyVTable xproject_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = xproject_create,
  .destroy = xproject_destroy,
  .after_backward = xproject_after_backward,
  .after_experience = xproject_after_experience,
  .report = xproject_report,
  .memory_bytes = xproject_memory_bytes,
};

static const LfCapabilities xproject_caps = {
  .touches = LF_TOUCHES_GRADIENTS,
  .needs = LF_NEEDS_BOUNDARIES | LF_NEEDS_LABELS,
  .supports = LF_SUPPORTS_CLASSIFICATION,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "x-project",
    .version = "0.1.0",
    .summary = "test plugin: A-GEM gradient projection against a memory's reference gradient (Chaudhry et al., ICLR 2019)",
    .params = xproject_params,
    .caps = &xproject_caps,
    .vtable = &xproject_vtable,
  };
  return &info;
}
