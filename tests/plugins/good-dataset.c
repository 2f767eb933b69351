/* lifelong test plugin — a well-formed dataset with one alias and one
 * required parameter.  It shares its name with nothing of its own kind, but
 * "test-good" is a strategy's name too: names are unique per kind. */
#include <lifelong/lifelong.h>

static void *
good_dataset_open (const LfParams *params, uint64_t rng_key, GError **error)
{
  (void) params;
  (void) rng_key;
  g_set_error_literal (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "test-good holds no data");
  return NULL;
}

static void
good_dataset_close (void *self)
{
  (void) self;
}

static void
good_dataset_info (void *self, LfDatasetInfo *info)
{
  (void) self;
  (void) info;
}

static const LfDatasetVTable good_dataset_vtable = {
  .struct_size = sizeof (LfDatasetVTable),
  .open = good_dataset_open,
  .close = good_dataset_close,
  .info = good_dataset_info,
};

static const LfParam good_dataset_params[] = {
  { "root", LF_PARAM_STRING, NULL, 0, 0, NULL, "Directory holding the files." },
  { NULL, 0, NULL, 0, 0, NULL, NULL }
};

static const char *const good_dataset_aliases[] = { "test-data", NULL };

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_DATASET,
    .name = "test-good",
    .version = "2.0",
    .summary = "A dataset with no data.",
    .params = good_dataset_params,
    .aliases = good_dataset_aliases,
    .vtable = &good_dataset_vtable,
  };
  return &info;
}
