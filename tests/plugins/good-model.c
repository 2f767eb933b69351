/* lifelong test plugin — a well-formed model that fills only the required
 * slots (create, destroy, root, forward), without parameters. */
#include <lifelong/lifelong.h>

static void *
good_model_create (const LfParams *params, const LfDataSpec *spec, uint64_t rng_key, GError **error)
{
  (void) params;
  (void) spec;
  (void) rng_key;
  g_set_error_literal (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "test-model builds nothing");
  return NULL;
}

static void
good_model_destroy (void *self)
{
  (void) self;
}

static LfModule *
good_model_root (void *self)
{
  (void) self;
  return NULL;
}

static void
good_model_forward (void *self, const LfBatch *batch, LfForward *fwd, LfModelOutput *out)
{
  (void) self;
  (void) batch;
  (void) fwd;
  out->logits = NULL;
  out->features = NULL;
}

static const LfModelVTable good_model_vtable = {
  .struct_size = sizeof (LfModelVTable),
  .create = good_model_create,
  .destroy = good_model_destroy,
  .root = good_model_root,
  .forward = good_model_forward,
};

static const char *const good_model_kinds[] = { "mlp", NULL };
static const LfCapabilities good_model_caps = { .model_kinds = good_model_kinds };

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_MODEL,
    .name = "test-model",
    .version = "0.0.1",
    .summary = "A model with only the required slots.",
    .caps = &good_model_caps,
    .vtable = &good_model_vtable,
  };
  return &info;
}
