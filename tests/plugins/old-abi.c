/* lifelong test plugin — as an older build would be: the descriptor's
 * struct_size is ABI 1.0's and the vtable ends early (after after_backward).
 * The host must load it and read every slot past the end as NULL, even
 * though the memory past the plugin's struct_size here is not NULL. */
#include <lifelong/lifelong.h>
#include <stddef.h>

static void *
old_abi_create (const LfParams *params, LfStrategyCtx *ctx, GError **error)
{
  (void) params;
  (void) ctx;
  (void) error;
  return g_new0 (int, 1);
}

static void
old_abi_destroy (void *self)
{
  g_free (self);
}

static void
old_abi_after_backward (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) self;
  (void) ctx;
  (void) batch;
}

static size_t
old_abi_memory_bytes (void *self)
{
  (void) self;
  return 0;
}

/* memory_bytes lies past struct_size: an older plugin would have whatever
 * follows its struct there, and the host must not read it. */
static const LfStrategyVTable old_abi_vtable = {
  .struct_size = offsetof (LfStrategyVTable, after_backward) + sizeof (void (*) (void)),
  .create = old_abi_create,
  .destroy = old_abi_destroy,
  .after_backward = old_abi_after_backward,
  .memory_bytes = old_abi_memory_bytes,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    .abi_major = LF_ABI_MAJOR,
    .abi_minor = 0,
    .struct_size = offsetof (LfPluginInfo, reserved) + sizeof ((LfPluginInfo *) 0)->reserved,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "test-old-abi",
    .version = "1.0",
    .summary = "A strategy built against ABI 1.0 with a short vtable.",
    .vtable = &old_abi_vtable,
  };
  return &info;
}
