/* lifelong test plugin — strategy "fault-loop": never returns from its
 * first after_step, burning CPU.  A matrix run with --cell-timeout must
 * kill this cell alone and say "timeout" (tests/test-faults.c). */
#include <lifelong/lifelong.h>
#include <stdint.h>

static void *
fault_loop_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  (void) p; (void) ctx; (void) error;
  return g_new0 (char, 1);
}

static void
fault_loop_after_step (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) self; (void) ctx; (void) batch;
  for (volatile uint64_t i = 0;; i++)
    ;
}

static const LfStrategyVTable fault_loop_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = fault_loop_create,
  .destroy = g_free,
  .after_step = fault_loop_after_step,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "fault-loop",
    .version = "0.1.0",
    .summary = "test plugin: loops forever after its first training step",
    .vtable = &fault_loop_vtable,
  };
  return &info;
}
