/* lifelong plugin — strategy "ft-l": knowledge editing by fine-tuning one
 * feed-forward layer (FT-L, as EasyEdit and WISE run it): on each edit,
 * `steps` steps on the edit prompt's answer with only
 * model.layers.L.mlp.down_proj trainable (docs/editing.md). */
#include "ft-edit.h"

static const LfParam ftl_params[] = {
  FT_EDIT_PARAMS,
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
ftl_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  FtEdit *ft = g_new0 (FtEdit, 1);
  if (!ft_edit_init (ft, p, ctx, error))
    {
      ft_edit_clear (ft);
      g_free (ft);
      return NULL;
    }
  return ft;
}

static void
ftl_destroy (void *self)
{
  ft_edit_clear (self);
  g_free (self);
}

static gboolean
ftl_select_training (void *self, LfStrategyCtx *ctx, LfSelection *sel, GError **error)
{
  (void) ctx; (void) error;
  ft_edit_select (self, sel);
  return TRUE;
}

static void
ftl_report (void *self, LfStrategyCtx *ctx)
{
  ft_edit_report (self, ctx);
}

static const LfStrategyVTable ftl_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = ftl_create,
  .destroy = ftl_destroy,
  .select_training = ftl_select_training,
  .report = ftl_report,
};

static const char *const ftl_scenarios[] = { "knowledge-editing", NULL };

static const LfCapabilities ftl_caps = {
  .touches = LF_TOUCHES_OPTIMIZER,
  .needs = LF_NEEDS_BOUNDARIES | LF_NEEDS_SEQUENCES,
  .supports = LF_SUPPORTS_LANGUAGE_MODEL,
  .scenarios = ftl_scenarios,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "ft-l",
    .version = "0.1.0",
    .summary = "knowledge editing by fine-tuning one feed-forward layer's down_proj on each edit (FT-L)",
    .params = ftl_params,
    .caps = &ftl_caps,
    .vtable = &ftl_vtable,
  };
  return &info;
}
