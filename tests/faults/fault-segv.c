/* lifelong test plugin — strategy "fault-segv": writes through a bad
 * pointer after its first training step, as a buggy method would.  A matrix
 * must fail this cell alone, "killed by signal 11" (tests/test-faults.c). */
#include <lifelong/lifelong.h>
#include <stdint.h>

static void *
fault_segv_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  (void) p; (void) ctx; (void) error;
  return g_new0 (char, 1);
}

static void
fault_segv_after_step (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) self; (void) ctx; (void) batch;
  volatile int *volatile bad = (volatile int *) (uintptr_t) 16;
  *bad = 1;
}

static const LfStrategyVTable fault_segv_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = fault_segv_create,
  .destroy = g_free,
  .after_step = fault_segv_after_step,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "fault-segv",
    .version = "0.1.0",
    .summary = "test plugin: segfaults after its first training step",
    .vtable = &fault_segv_vtable,
  };
  return &info;
}
