/* lifelong test plugin — strategy "fault-alloc": after its first training
 * step, allocates and touches 16 MiB every 2 ms and never frees any, as a
 * leaking method would.  A matrix run with --cell-memory must kill this
 * cell alone and say "memory" (tests/test-faults.c).  A safety cap (2 GiB)
 * aborts instead, so a broken watchdog fails the test rather than the
 * machine. */
#include <lifelong/lifelong.h>
#include <stdlib.h>
#include <string.h>

#define FAULT_ALLOC_CHUNK ((size_t) 16 << 20)
#define FAULT_ALLOC_CAP   ((size_t) 2 << 30)

static void *
fault_alloc_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  (void) p; (void) ctx; (void) error;
  return g_new0 (char, 1);
}

static void
fault_alloc_after_step (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) self; (void) ctx; (void) batch;
  GSList *held = NULL;
  for (size_t total = 0; total < FAULT_ALLOC_CAP; total += FAULT_ALLOC_CHUNK)
    {
      char *chunk = g_malloc (FAULT_ALLOC_CHUNK);
      memset (chunk, 1, FAULT_ALLOC_CHUNK);   /* resident, not just reserved */
      held = g_slist_prepend (held, chunk);
      g_usleep (2000);
    }
  g_printerr ("fault-alloc: %zu bytes held and nobody stopped me\n", FAULT_ALLOC_CAP);
  abort ();
}

static const LfStrategyVTable fault_alloc_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = fault_alloc_create,
  .destroy = g_free,
  .after_step = fault_alloc_after_step,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "fault-alloc",
    .version = "0.1.0",
    .summary = "test plugin: allocates without bound after its first training step",
    .vtable = &fault_alloc_vtable,
  };
  return &info;
}
