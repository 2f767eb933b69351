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
  int64_t e = lf_ctx_experience (ctx), total = 0;
  for (int64_t k = 0; k <= e; k++)
    {
      int64_t n;
      lf_ctx_experience_samples (ctx, k, &n);
      total += n;
    }
  int64_t *ids = g_new (int64_t, MAX (total, 1)), at = 0;
  for (int64_t k = 0; k <= e; k++)
    {
      int64_t n;
      const int64_t *s = lf_ctx_experience_samples (ctx, k, &n);
      memcpy (ids + at, s, (size_t) n * sizeof (int64_t));
      at += n;
    }
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
