/* lifelong plugin — strategy "head-expansion": plain fine-tuning on each experience
 * in turn, the lower bound every method is compared with. */
#include <lifelong/lifelong.h>

static void *
stub_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  (void) p; (void) ctx; (void) error;
  return g_new0 (char, 1);   /* no state; a non-NULL handle */
}

static const LfStrategyVTable stub_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = stub_create,
  .destroy = g_free,
};

static const LfCapabilities stub_caps = {
  .supports = LF_SUPPORTS_ONLINE | LF_SUPPORTS_CLASSIFICATION | LF_SUPPORTS_LANGUAGE_MODEL,
};



LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "head-expansion",
    .version = "0.1.0",
    .summary = "PLACEHOLDER: being written",
    .caps = &stub_caps,

    .vtable = &stub_vtable,
  };
  return &info;
}
