/* lifelong plugin — strategy "wise-retrieve": WISE-Retrieve (Wang et al.,
 * NeurIPS 2024; docs/editing.md): WISE with a new side memory every
 * edits_per_memory edits, each with its own threshold; a sequence goes to
 * the side memory with the highest activation score above its threshold,
 * else to the main memory.  The editor is wise-editor.c, shared with
 * "wise". */
#include "wise-editor.h"

static const LfParam wiser_params[] = {
  WISE_PARAMS,
  { "edits_per_memory", LF_PARAM_INT, "1", 1, 1000000, NULL,
    "edits a side memory takes before a new one (a fresh copy of the main memory) starts" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
wiser_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  return wise_editor_create (p, ctx, TRUE, "wise-retrieve", error);
}

static const LfStrategyVTable wiser_vtable = WISE_EDITOR_VTABLE (wiser_create);

static const char *const wiser_scenarios[] = { "knowledge-editing", NULL };

static const LfCapabilities wiser_caps = {
  .touches = LF_TOUCHES_OPTIMIZER,
  .needs = LF_NEEDS_BOUNDARIES | LF_NEEDS_SEQUENCES,
  .supports = LF_SUPPORTS_LANGUAGE_MODEL,
  .scenarios = wiser_scenarios,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "wise-retrieve",
    .version = "0.1.0",
    .summary = "WISE with a side memory per block of edits, retrieved by the highest activation (WISE-Retrieve)",
    .params = wiser_params,
    .caps = &wiser_caps,
    .vtable = &wiser_vtable,
  };
  return &info;
}
