/* lifelong — the host's side of the plugin ABI: the registry that loads and
 * checks plugin files, and validated parameter values (LfParams).  Never
 * installed: plugins see plugin.h only. */
#pragma once

#include <lifelong/lifelong.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* End of a field: the smallest struct_size that still holds it. */
#define LF_FIELD_END(type, field) (offsetof (type, field) + sizeof (((type *) 0)->field))

/* The descriptor as ABI 1.0 defined it (through reserved[]).  A plugin's
 * struct_size may be larger (a later minor) but never smaller. */
#define LF_PLUGIN_INFO_SIZE_1_0 LF_FIELD_END (LfPluginInfo, reserved)

/* ---- errors ------------------------------------------------------------ */

#define LF_PLUGIN_ERROR (lf_plugin_error_quark ())
GQuark lf_plugin_error_quark (void);

/* Why a plugin file was refused.  Every message starts with the file. */
typedef enum {
  LF_PLUGIN_ERROR_OPEN = 1,     /* dlopen failed (message has dlerror), or a directory is unreadable */
  LF_PLUGIN_ERROR_NO_SYMBOL,    /* no exported lf_plugin_query                     */
  LF_PLUGIN_ERROR_NULL_INFO,    /* lf_plugin_query returned NULL                    */
  LF_PLUGIN_ERROR_ABI_MAJOR,    /* built against another ABI major                  */
  LF_PLUGIN_ERROR_ABI_MINOR,    /* built against a newer minor than this host       */
  LF_PLUGIN_ERROR_STRUCT_SIZE,  /* descriptor smaller than ABI 1.0's                */
  LF_PLUGIN_ERROR_KIND,         /* kind is not model, strategy or dataset           */
  LF_PLUGIN_ERROR_NAME,         /* name or alias not [a-z0-9][a-z0-9-]*             */
  LF_PLUGIN_ERROR_DESCRIPTOR,   /* missing version or summary, malformed capabilities */
  LF_PLUGIN_ERROR_PARAMS,       /* malformed parameter table                        */
  LF_PLUGIN_ERROR_VTABLE,       /* NULL vtable, or a required slot is NULL          */
  LF_PLUGIN_ERROR_VTABLE_SIZE,  /* vtable struct_size too small for required slots  */
  LF_PLUGIN_ERROR_DUPLICATE,    /* name or alias already taken (names both files)   */
} LfPluginError;

#define LF_PARAMS_ERROR (lf_params_error_quark ())
GQuark lf_params_error_quark (void);

/* Why a config section was refused.  Every message starts with the JSON
 * path ("strategy.lambda") and quotes the value given. */
typedef enum {
  LF_PARAMS_ERROR_UNKNOWN_KEY = 1,  /* suggests the nearest valid name      */
  LF_PARAMS_ERROR_TYPE,             /* names the expected type and the value */
  LF_PARAMS_ERROR_RANGE,            /* outside [min, max]                   */
  LF_PARAMS_ERROR_CHOICE,           /* not one of the choices               */
  LF_PARAMS_ERROR_REQUIRED,         /* no default and not given             */
} LfParamsError;

/* ---- parameter values (params.c) ----------------------------------------- */

typedef struct {
  const LfParam *decl;        /* the table row (borrowed from the plugin)     */
  gboolean       set;         /* the config gave it                           */
  gboolean       b;
  int64_t        i;
  double         f;
  char          *s;           /* STRING; JSON: the value as compact JSON text */
  int64_t        n;           /* list length                                  */
  int64_t       *ints;        /* INT_LIST (n + 1 allocated: never NULL)       */
  double        *floats;      /* FLOAT_LIST                                   */
  char         **strings;     /* STRING_LIST, NULL-terminated                 */
} LfParamValue;

struct LfParams {
  const LfParam *table;       /* borrowed: valid while the plugin is loaded   */
  int64_t        n;
  LfParamValue  *values;      /* in table order                               */
};

/* "bool", "int", "float", "string", "int list", ... or "unknown". */
const char *lf_param_type_name (LfParamType type);

/* Checks a parameter table: NULL-name terminated (at most 256 rows), names
 * [a-z_][a-z0-9_]* and unique ("name" is reserved for the host), known
 * types, ranges only on numbers with min < max, choices only on strings and
 * well formed, and every default parses and satisfies its own row.  NULL is
 * an empty table.  The message does not name a file (the loader adds it). */
gboolean    lf_param_table_check (const LfParam *table, GError **error);

/* Validates config (a plugin's section; NULL: empty) against table and
 * fills defaults.  json_path_prefix ("strategy", or NULL) starts every path
 * in the messages; skip_keys (NULL-terminated, or NULL) are keys the host
 * handles itself ("name").  Returns a new LfParams that borrows table, or
 * NULL with LF_PARAMS_ERROR. */
LfParams   *lf_params_from_json (const LfParam *table, JsonObject *config,
                                 const char *json_path_prefix, const char *const *skip_keys,
                                 GError **error);
/* Every value, resolved (defaults included), as a JSON object: for the
 * result's "config".  Caller owns the node / the text. */
JsonNode   *lf_params_to_json_node (const LfParams *p);
char       *lf_params_to_json (const LfParams *p);
void        lf_params_free (LfParams *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LfParams, lf_params_free)

/* ---- the registry (plugin.c) ---------------------------------------------- */

typedef struct LfPluginRegistry LfPluginRegistry;

/* A file that failed to load, and why (the message names the file). */
typedef struct {
  char   *file;
  GError *error;
} LfPluginLoadError;

/* The directories to scan, in order: the build tree's plugin folder
 * (LF_BUILD_PLUGIN_DIR; only when the liblifelong running is the build
 * tree's own, in LF_BUILD_LIB_DIR, never an installed copy: docs/abi.md),
 * the installed one (LF_INSTALL_PLUGIN_DIR), each
 * entry of $LIFELONG_PLUGIN_PATH, then each entry of extra_dirs (the
 * --plugin-path values, joined with ':'; may be NULL).  Empty entries are
 * dropped (never "the current directory"), relative ones made absolute,
 * and a directory listed twice is kept at its first place.  Free with
 * g_strfreev. */
char      **lf_plugin_search_path (const char *extra_dirs);

LfPluginRegistry *lf_registry_new (void);
void        lf_registry_free (LfPluginRegistry *reg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LfPluginRegistry, lf_registry_free)

/* Loads every "*.so" (not starting with '.') of each directory, in order,
 * files in name order.  A missing directory is skipped; a file seen before
 * (same device and inode) is skipped.  A file that fails is recorded (see
 * lf_registry_errors) and the scan goes on; returns FALSE if any failed,
 * with error set to the first failure (or a summary naming all of them).
 * Everything the registry hands out stays valid until lf_registry_free. */
gboolean    lf_registry_scan (LfPluginRegistry *reg, const char *const *dirs, GError **error);

/* Loads one file (what scan does per file).  FALSE with LF_PLUGIN_ERROR;
 * the failure is recorded in lf_registry_errors too. */
gboolean    lf_registry_load_file (LfPluginRegistry *reg, const char *path, GError **error);

/* The plugin of that kind answering to name_or_alias, or NULL.  The
 * descriptor and its vtable are the host's copies, zero-extended to this
 * host's sizes: a slot the plugin's ABI minor did not have reads NULL, so
 * callers test slots for NULL only, never struct_size. */
const LfPluginInfo *lf_registry_find (LfPluginRegistry *reg, LfPluginKind kind,
                                      const char *name_or_alias);
/* The file a loaded plugin came from (as found on the search path). */
const char *lf_registry_file (LfPluginRegistry *reg, const LfPluginInfo *info);
guint       lf_registry_n_plugins (LfPluginRegistry *reg);
/* Plugins in load order. */
const LfPluginInfo *lf_registry_nth (LfPluginRegistry *reg, guint i);
/* Failures so far: LfPluginLoadError, in scan order.  Borrowed. */
const GPtrArray *lf_registry_errors (LfPluginRegistry *reg);
/* The directories scanned so far (including missing ones), in order. */
const char *const *lf_registry_dirs (LfPluginRegistry *reg);

/* "model", "strategy", "dataset", or NULL. */
const char *lf_plugin_kind_name (LfPluginKind kind);
/* Kind from its name; FALSE if unknown. */
gboolean    lf_plugin_kind_from_name (const char *name, LfPluginKind *kind);

/* The listing `lifelong plugins` prints: every plugin sorted by kind and
 * name, with its file, parameters and capabilities, and the load errors.
 * Caller frees. */
char       *lf_registry_to_json (LfPluginRegistry *reg);
char       *lf_registry_to_text (LfPluginRegistry *reg);

G_END_DECLS
