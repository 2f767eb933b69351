/* lifelong test plugin — deliberately broken, one way per build: the
 * meson.build compiles this file once per case with -DBROKEN_<CASE>, and
 * tests/test-plugin.c checks the loader refuses each with the right error.
 * Without a BROKEN_ define it is a valid strategy named "test-broken-base". */
#include <lifelong/lifelong.h>
#include <stddef.h>

static void *
broken_create (const LfParams *params, LfStrategyCtx *ctx, GError **error)
{
  (void) params;
  (void) ctx;
  (void) error;
  return g_new0 (int, 1);
}

static void
broken_destroy (void *self)
{
  g_free (self);
}

static LfStrategyVTable broken_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = broken_create,
  .destroy = broken_destroy,
};

/* A model and a dataset, for the per-kind vtable checks. */
static void *broken_model_create (const LfParams *p, const LfDataSpec *s, uint64_t k, GError **e)
{ (void) p; (void) s; (void) k; (void) e; return NULL; }
static void broken_model_destroy (void *self) { (void) self; }
static LfModule *broken_model_root (void *self) { (void) self; return NULL; }
G_GNUC_UNUSED static const LfModelVTable broken_model_vtable = {
  /* ends after root: forward, which every model needs, is missing */
  .struct_size = offsetof (LfModelVTable, root) + sizeof (void (*) (void)),
  .create = broken_model_create,
  .destroy = broken_model_destroy,
  .root = broken_model_root,
};
static void *broken_dataset_open (const LfParams *p, uint64_t k, GError **e)
{ (void) p; (void) k; (void) e; return NULL; }
static void broken_dataset_info (void *self, LfDatasetInfo *info) { (void) self; (void) info; }
G_GNUC_UNUSED static const LfDatasetVTable broken_dataset_vtable = {
  .struct_size = sizeof (LfDatasetVTable),
  .open = broken_dataset_open,
  .info = broken_dataset_info,     /* close is NULL */
};

G_GNUC_UNUSED static const LfParam broken_params_ok[] = {
  { "lambda", LF_PARAM_FLOAT, "1", 0, 10, NULL, "A weight." },
  { NULL, 0, NULL, 0, 0, NULL, NULL }
};
G_GNUC_UNUSED static const LfParam broken_params_dup[] = {
  { "lambda", LF_PARAM_FLOAT, "1", 0, 0, NULL, "A weight." },
  { "alpha", LF_PARAM_FLOAT, "1", 0, 0, NULL, "Another." },
  { "lambda", LF_PARAM_INT, "2", 0, 0, NULL, "The same name again." },
  { NULL, 0, NULL, 0, 0, NULL, NULL }
};
G_GNUC_UNUSED static const LfParam broken_params_type[] = {
  { "lambda", LF_PARAM_FLOAT, "\"lots\"", 0, 0, NULL, "A string default for a float." },
  { NULL, 0, NULL, 0, 0, NULL, NULL }
};
G_GNUC_UNUSED static const LfParam broken_params_range[] = {
  { "lambda", LF_PARAM_FLOAT, "1", 10, 1, NULL, "min > max." },
  { NULL, 0, NULL, 0, 0, NULL, NULL }
};
G_GNUC_UNUSED static const LfParam broken_params_json[] = {
  { "hidden", LF_PARAM_INT_LIST, "[400, 400", 0, 0, NULL, "Not JSON." },
  { NULL, 0, NULL, 0, 0, NULL, NULL }
};
G_GNUC_UNUSED static const LfParam broken_params_name[] = {
  { "Lambda", LF_PARAM_FLOAT, "1", 0, 0, NULL, "Upper case." },
  { NULL, 0, NULL, 0, 0, NULL, NULL }
};
G_GNUC_UNUSED static const LfParam broken_params_default_range[] = {
  { "buffer", LF_PARAM_INT, "-5", 0, 100, NULL, "Default outside its range." },
  { NULL, 0, NULL, 0, 0, NULL, NULL }
};
G_GNUC_UNUSED static const LfParam broken_params_unknown_type[] = {
  { "lambda", (LfParamType) 42, "1", 0, 0, NULL, "No such type." },
  { NULL, 0, NULL, 0, 0, NULL, NULL }
};

G_GNUC_UNUSED static const char *const broken_bad_aliases[] = { "fine", "not fine", NULL };
G_GNUC_UNUSED static const char *const broken_dup_aliases[] = { "test-alias", NULL };

#ifdef BROKEN_UNRESOLVED
/* Defined nowhere: RTLD_NOW makes dlopen fail. */
extern int lf_test_no_such_function (void);
#endif

#ifdef BROKEN_NO_SYMBOL
/* Hidden: the plugin exports nothing. */
const LfPluginInfo *lf_plugin_query (void);
#else
LF_PLUGIN_EXPORT const LfPluginInfo *lf_plugin_query (void);
#endif

const LfPluginInfo *
lf_plugin_query (void)
{
  static LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "test-broken-base",
    .version = "0.1",
    .summary = "A strategy broken in one way per build.",
    .params = broken_params_ok,
    .vtable = &broken_vtable,
  };
#if defined(BROKEN_UNRESOLVED)
  if (lf_test_no_such_function () == 0)
    return NULL;
#elif defined(BROKEN_NULL_INFO)
  return NULL;
#elif defined(BROKEN_WRONG_MAJOR)
  info.abi_major = LF_ABI_MAJOR + 1;
#elif defined(BROKEN_NEWER_MINOR)
  info.abi_minor = LF_ABI_MINOR + 1;
#elif defined(BROKEN_SMALL_DESCRIPTOR)
  info.struct_size = (uint32_t) offsetof (LfPluginInfo, vtable);
#elif defined(BROKEN_BAD_KIND)
  info.kind = 7;
#elif defined(BROKEN_BAD_NAME)
  info.name = "Bad_Name";
#elif defined(BROKEN_BAD_ALIAS)
  info.aliases = broken_bad_aliases;
#elif defined(BROKEN_NO_VERSION)
  info.version = NULL;
#elif defined(BROKEN_NO_SUMMARY)
  info.summary = "";
#elif defined(BROKEN_PARAM_DUP)
  info.params = broken_params_dup;
#elif defined(BROKEN_PARAM_TYPE)
  info.params = broken_params_type;
#elif defined(BROKEN_PARAM_RANGE)
  info.params = broken_params_range;
#elif defined(BROKEN_PARAM_JSON)
  info.params = broken_params_json;
#elif defined(BROKEN_PARAM_NAME)
  info.params = broken_params_name;
#elif defined(BROKEN_PARAM_DEFAULT_RANGE)
  info.params = broken_params_default_range;
#elif defined(BROKEN_PARAM_UNKNOWN_TYPE)
  info.params = broken_params_unknown_type;
#elif defined(BROKEN_NULL_VTABLE)
  info.vtable = NULL;
#elif defined(BROKEN_SHORT_VTABLE)
  /* Holds create but not destroy. */
  broken_vtable.struct_size = offsetof (LfStrategyVTable, destroy);
#elif defined(BROKEN_NULL_SLOT)
  broken_vtable.destroy = NULL;
#elif defined(BROKEN_MODEL_SHORT_VTABLE)
  info.kind = LF_PLUGIN_MODEL;
  info.params = NULL;
  info.vtable = &broken_model_vtable;
#elif defined(BROKEN_DATASET_NULL_CLOSE)
  info.kind = LF_PLUGIN_DATASET;
  info.params = NULL;
  info.vtable = &broken_dataset_vtable;
#elif defined(BROKEN_DUP_NAME)
  info.name = "test-good";              /* good-strategy.so's name */
#elif defined(BROKEN_DUP_ALIAS)
  info.name = "test-other";
  info.aliases = broken_dup_aliases;    /* good-strategy.so's alias */
#endif
  return &info;
}
