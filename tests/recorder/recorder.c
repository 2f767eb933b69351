/* lifelong test plugin — strategy "recorder": appends the name of every hook
 * the host calls (and the model's forward, seen through a post-hook on the
 * head) to a file, so tests/test-run.c can check the documented order. */
#include <lifelong/lifelong.h>
#include <stdio.h>

typedef struct {
  FILE *f;
} Rec;

static const LfParam rec_params[] = {
  { "file", LF_PARAM_STRING, NULL, 0, 0, NULL, "where the hook names go (required)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void
rec (Rec *r, const char *what)
{
  fprintf (r->f, "%s\n", what);
  fflush (r->f);
}

static LfTensor *
rec_forward_hook (LfModule *m, LfTensor *x, LfTensor *y, LfForward *fwd, void *user)
{
  (void) m; (void) x;
  if (fwd->training)
    rec (user, "forward");
  return y;
}

static void *
rec_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  Rec *r = g_new0 (Rec, 1);
  r->f = fopen (lf_params_get_string (p, "file"), "w");
  if (r->f == NULL)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_IO, "strategy.file: cannot write %s", lf_params_get_string (p, "file"));
      g_free (r);
      return NULL;
    }
  LfModule *head = lf_module_find (lf_model_root (lf_ctx_model (ctx)), "head");
  if (head)
    lf_module_add_post_hook (head, rec_forward_hook, r, NULL);
  rec (r, "create");
  return r;
}

static void
rec_destroy (void *self)
{
  Rec *r = self;
  rec (r, "destroy");
  fclose (r->f);
  g_free (r);
}

#define REC_HOOK_BOOL(name)                                        \
  static gboolean rec_##name (void *self, LfStrategyCtx *ctx, GError **error) \
  { (void) ctx; (void) error; rec (self, #name); return TRUE; }
REC_HOOK_BOOL (before_experience)
REC_HOOK_BOOL (after_experience)

static gboolean
rec_select (void *self, LfStrategyCtx *ctx, LfSelection *sel, GError **error)
{
  (void) ctx; (void) sel; (void) error;
  rec (self, "select_training");
  return TRUE;
}

static LfBatch *
rec_before_batch (void *self, LfStrategyCtx *ctx, LfBatch *batch)
{
  (void) ctx;
  rec (self, "before_batch");
  return batch;
}

static LfTensor *
rec_loss (void *self, LfStrategyCtx *ctx, const LfBatch *b, const LfModelOutput *out, LfTensor *loss)
{
  (void) ctx; (void) b;
  rec (self, out->logits && out->features ? "loss" : "loss-without-output");
  return loss;
}

static void
rec_after_backward (void *self, LfStrategyCtx *ctx, const LfBatch *b)
{
  (void) b;
  /* the gradients exist here, before the step */
  g_autoptr (GPtrArray) ps = lf_model_params (lf_ctx_model (ctx), TRUE);
  rec (self, ps->len > 0 && lf_tensor_grad (ps->pdata[0]) ? "after_backward" : "after_backward-without-grad");
}

static void
rec_after_step (void *self, LfStrategyCtx *ctx, const LfBatch *b)
{
  (void) ctx; (void) b;
  rec (self, "after_step");
}

static void
rec_predict (void *self, LfStrategyCtx *ctx, const LfBatch *b, const LfModelOutput *out, int32_t *pred)
{
  (void) ctx;
  rec (self, "predict");
  int64_t C = lf_tensor_dim (out->logits, -1);
  const LfReal *L = lf_tensor_data (out->logits);
  for (int64_t i = 0; i < b->n; i++)
    {
      int32_t best = 0;
      for (int64_t c = 1; c < C; c++)
        if (L[i * C + c] > L[i * C + best])
          best = (int32_t) c;
      pred[i] = best;
    }
}

static void
rec_report (void *self, LfStrategyCtx *ctx)
{
  rec (self, "report");
  lf_ctx_report_number (ctx, "recorded", 1);
}

static size_t
rec_memory (void *self)
{
  rec (self, "memory_bytes");
  return 123;
}

static const LfStrategyVTable rec_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = rec_create,
  .destroy = rec_destroy,
  .before_experience = rec_before_experience,
  .select_training = rec_select,
  .before_batch = rec_before_batch,
  .loss = rec_loss,
  .after_backward = rec_after_backward,
  .after_step = rec_after_step,
  .after_experience = rec_after_experience,
  .predict = rec_predict,
  .report = rec_report,
  .memory_bytes = rec_memory,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "recorder",
    .version = "0.1.0",
    .summary = "test plugin: records the order of the hooks",
    .params = rec_params,
    .vtable = &rec_vtable,
  };
  return &info;
}
