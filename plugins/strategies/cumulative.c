/* lifelong plugin — strategy "cumulative": trains each experience on the
 * union of every experience seen so far (an upper bound that stores all
 * data). */
#include <lifelong/lifelong.h>

static void *
cumulative_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  (void) p; (void) ctx; (void) error;
  return g_new0 (char, 1);
}

static gboolean
cumulative_select (void *self, LfStrategyCtx *ctx, LfSelection *sel, GError **error)
{
  (void) self; (void) error;
  int64_t total;
  int64_t *ids = lf_ctx_samples_through (ctx, lf_ctx_experience (ctx), &total);
  g_free (sel->sample_ids);
  sel->sample_ids = ids;
  sel->n = total;
  return TRUE;
}

static const LfStrategyVTable cumulative_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = cumulative_create,
  .destroy = g_free,
  .select_training = cumulative_select,
};

static const LfCapabilities cumulative_caps = {
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
    .name = "cumulative",
    .version = "0.1.0",
    .summary = "trains each experience on all data seen so far (stores everything: an upper bound)",
    .caps = &cumulative_caps,
    .vtable = &cumulative_vtable,
  };
  return &info;
}
