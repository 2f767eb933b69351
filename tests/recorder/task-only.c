/* lifelong test plugin — strategy "task-only": does nothing, but declares
 * that it needs task ids, so the host must refuse it outside
 * task-incremental scenarios. */
#include <lifelong/lifelong.h>

static void *
task_only_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  (void) p; (void) ctx; (void) error;
  return g_new0 (char, 1);
}

static const LfStrategyVTable task_only_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = task_only_create,
  .destroy = g_free,
};

static const LfCapabilities task_only_caps = { .needs = LF_NEEDS_TASK_IDS };

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "task-only",
    .version = "0.1.0",
    .summary = "test plugin: needs task ids",
    .caps = &task_only_caps,
    .vtable = &task_only_vtable,
  };
  return &info;
}
