/* lifelong plugin — strategy "wise": WISE (Wang et al., NeurIPS 2024) for
 * the knowledge-editing scenario (docs/editing.md): one side memory, a copy
 * of model.layers.L.mlp.down_proj, edited in k random subspaces merged with
 * TIES, and a router that sends a sequence to it when its activation score
 * passes the threshold learned from the edits, else to the untouched main
 * memory.  The editor is wise-editor.c, shared with "wise-retrieve". */
#include "wise-editor.h"

static const LfParam wise_params[] = {
  WISE_PARAMS,
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
wise_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  return wise_editor_create (p, ctx, FALSE, "wise", error);
}

static const LfStrategyVTable wise_vtable = WISE_EDITOR_VTABLE (wise_create);

static const char *const wise_scenarios[] = { "knowledge-editing", NULL };

static const LfCapabilities wise_caps = {
  .touches = LF_TOUCHES_OPTIMIZER,
  .needs = LF_NEEDS_BOUNDARIES | LF_NEEDS_SEQUENCES,
  .supports = LF_SUPPORTS_LANGUAGE_MODEL,
  .scenarios = wise_scenarios,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "wise",
    .version = "0.1.0",
    .summary = "knowledge editing in a routed side memory of one down_proj, sharded and TIES-merged (WISE)",
    .params = wise_params,
    .caps = &wise_caps,
    .vtable = &wise_vtable,
  };
  return &info;
}
