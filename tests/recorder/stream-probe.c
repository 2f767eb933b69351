/* lifelong test plugin — strategy "stream-probe": records what the host
 * tells a strategy about the stream (lf_ctx_experience, lf_ctx_n_experiences,
 * lf_ctx_has_task_ids, batches' task ids, the experience hooks) and reports
 * it in the result's "strategy" section, so a test can check that an online
 * stream withholds boundaries and task ids. */
#include <lifelong/lifelong.h>

typedef struct {
  int64_t before, after, batches, task_id_batches, n_experiences;
  int64_t min_batch;          /* the smallest batch the host handed over */
  int64_t min_exp, max_exp;   /* over every hook call */
  gboolean has_task_ids;
} Probe;

static void
probe_see (Probe *p, LfStrategyCtx *ctx)
{
  int64_t e = lf_ctx_experience (ctx);
  p->min_exp = MIN (p->min_exp, e);
  p->max_exp = MAX (p->max_exp, e);
  p->n_experiences = lf_ctx_n_experiences (ctx);
  p->has_task_ids |= lf_ctx_has_task_ids (ctx);
}

static void *
probe_create (const LfParams *params, LfStrategyCtx *ctx, GError **error)
{
  (void) params; (void) error;
  Probe *p = g_new0 (Probe, 1);
  p->min_exp = G_MAXINT64;
  p->max_exp = G_MININT64;
  p->min_batch = G_MAXINT64;
  probe_see (p, ctx);
  return p;
}

static void
probe_destroy (void *self)
{
  g_free (self);
}

static gboolean
probe_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Probe *p = self;
  p->before++;
  probe_see (p, ctx);
  return TRUE;
}

static gboolean
probe_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Probe *p = self;
  p->after++;
  probe_see (p, ctx);
  return TRUE;
}

static LfBatch *
probe_before_batch (void *self, LfStrategyCtx *ctx, LfBatch *batch)
{
  Probe *p = self;
  p->batches++;
  p->min_batch = MIN (p->min_batch, batch->n);
  p->task_id_batches += batch->task_ids != NULL;
  probe_see (p, ctx);
  return batch;
}

static void
probe_report (void *self, LfStrategyCtx *ctx)
{
  Probe *p = self;
  lf_ctx_report_number (ctx, "before_experience_calls", (double) p->before);
  lf_ctx_report_number (ctx, "after_experience_calls", (double) p->after);
  lf_ctx_report_number (ctx, "batches", (double) p->batches);
  lf_ctx_report_number (ctx, "min_batch", (double) p->min_batch);
  lf_ctx_report_number (ctx, "batches_with_task_ids", (double) p->task_id_batches);
  lf_ctx_report_number (ctx, "min_experience", (double) p->min_exp);
  lf_ctx_report_number (ctx, "max_experience", (double) p->max_exp);
  lf_ctx_report_number (ctx, "n_experiences", (double) p->n_experiences);
  lf_ctx_report_number (ctx, "has_task_ids", p->has_task_ids ? 1 : 0);
}

static const LfStrategyVTable probe_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = probe_create,
  .destroy = probe_destroy,
  .before_experience = probe_before_experience,
  .before_batch = probe_before_batch,
  .after_experience = probe_after_experience,
  .report = probe_report,
};

static const LfCapabilities probe_caps = {
  .supports = LF_SUPPORTS_ONLINE | LF_SUPPORTS_CLASSIFICATION,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "stream-probe",
    .version = "0.1.0",
    .summary = "test: records what the host tells a strategy about the stream",
    .caps = &probe_caps,
    .vtable = &probe_vtable,
  };
  return &info;
}
