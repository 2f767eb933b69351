/* lifelong plugin — strategy "naive": plain fine-tuning on each experience
 * in turn, the lower bound every method is compared with. */
#include <lifelong/lifelong.h>

static void *
naive_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  (void) p; (void) ctx; (void) error;
  return g_new0 (char, 1);   /* no state; a non-NULL handle */
}

static const LfStrategyVTable naive_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = naive_create,
  .destroy = g_free,
};

static const LfCapabilities naive_caps = {
  .supports = LF_SUPPORTS_ONLINE | LF_SUPPORTS_CLASSIFICATION | LF_SUPPORTS_LANGUAGE_MODEL,
};

static const char *const naive_aliases[] = { "finetune", NULL };

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "naive",
    .version = "0.1.0",
    .summary = "fine-tunes on each experience in turn (the lower bound)",
    .caps = &naive_caps,
    .aliases = naive_aliases,
    .vtable = &naive_vtable,
  };
  return &info;
}
