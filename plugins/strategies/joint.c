/* lifelong plugin — strategy "joint": one offline training on the data of
 * every experience at once, after the last one (a one-row matrix: the
 * offline upper bound). */
#include <lifelong/lifelong.h>

static void *
joint_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  (void) p; (void) ctx; (void) error;
  return g_new0 (char, 1);
}

static gboolean
joint_select (void *self, LfStrategyCtx *ctx, LfSelection *sel, GError **error)
{
  (void) self; (void) error;
  int64_t e = lf_ctx_experience (ctx), T = lf_ctx_n_experiences (ctx);
  if (e < T - 1)
    {
      sel->skip = TRUE;   /* nothing until every experience is available */
      return TRUE;
    }
  int64_t total;
  int64_t *ids = lf_ctx_samples_through (ctx, T - 1, &total);
  g_free (sel->sample_ids);
  sel->sample_ids = ids;
  sel->n = total;
  return TRUE;
}

static const LfStrategyVTable joint_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = joint_create,
  .destroy = g_free,
  .select_training = joint_select,
};

static const LfCapabilities joint_caps = {
  .touches = LF_TOUCHES_DATA,
  .needs = LF_NEEDS_BOUNDARIES,
  .supports = LF_SUPPORTS_CLASSIFICATION | LF_SUPPORTS_LANGUAGE_MODEL,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "joint",
    .version = "0.1.0",
    .summary = "trains once, offline, on every experience together (a one-row matrix: the upper bound)",
    .caps = &joint_caps,
    .vtable = &joint_vtable,
  };
  return &info;
}
