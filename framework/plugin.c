/* lifelong — the plugin loader: finds plugin files on the search path,
 * opens each, checks its descriptor, parameter table and vtable against
 * this host's ABI, and keeps host-side copies that callers can trust.
 * Every refusal is a GError that starts with the file. */
#define _GNU_SOURCE             /* dladdr */
#include "plugin-private.h"
#include <dlfcn.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK (lf-plugin-error-quark, lf_plugin_error)

#define PLUGIN_MAX_LIST 64      /* aliases, model kinds, scenarios: a longer list has lost its NULL */

typedef struct {
  LfPluginInfo info;            /* the host's copy, zero-extended; info.vtable points at vt */
  union {
    size_t           struct_size;
    LfModelVTable    model;
    LfStrategyVTable strategy;
    LfDatasetVTable  dataset;
  } vt;                         /* the host's copy, zero-extended past the plugin's struct_size */
  char *file;                   /* as found on the search path */
  void *handle;
} LfPluginEntry;

struct LfPluginRegistry {
  GPtrArray  *entries;          /* LfPluginEntry *, in load order */
  GPtrArray  *errors;           /* LfPluginLoadError *            */
  GPtrArray  *dirs;             /* char *, NULL-terminated        */
  GHashTable *seen;             /* "device:inode" of files tried */
};

/* ---- kinds and their vtables ------------------------------------------- */

const char *
lf_plugin_kind_name (LfPluginKind kind)
{
  switch (kind)
    {
    case LF_PLUGIN_MODEL: return "model";
    case LF_PLUGIN_STRATEGY: return "strategy";
    case LF_PLUGIN_DATASET: return "dataset";
    default: return NULL;
    }
}

gboolean
lf_plugin_kind_from_name (const char *name, LfPluginKind *kind)
{
  for (int k = LF_PLUGIN_MODEL; k <= LF_PLUGIN_DATASET; k++)
    if (name != NULL && strcmp (name, lf_plugin_kind_name ((LfPluginKind) k)) == 0)
      {
        *kind = (LfPluginKind) k;
        return TRUE;
      }
  return FALSE;
}

/* A slot every plugin of a kind must fill. */
typedef struct {
  const char *name;
  size_t      offset;
} LfRequiredSlot;

#define SLOT(type, field) { #field, offsetof (type, field) }
static const LfRequiredSlot model_slots[] = {
  SLOT (LfModelVTable, create), SLOT (LfModelVTable, destroy),
  SLOT (LfModelVTable, root), SLOT (LfModelVTable, forward), { NULL, 0 } };
static const LfRequiredSlot strategy_slots[] = {
  SLOT (LfStrategyVTable, create), SLOT (LfStrategyVTable, destroy), { NULL, 0 } };
static const LfRequiredSlot dataset_slots[] = {
  SLOT (LfDatasetVTable, open), SLOT (LfDatasetVTable, close),
  SLOT (LfDatasetVTable, info), { NULL, 0 } };
#undef SLOT

typedef struct {
  const char           *vtable_name;
  size_t                host_size;      /* sizeof at this host's minor    */
  size_t                min_size;       /* through the last required slot */
  const LfRequiredSlot *required;
} LfKindSpec;

static const LfKindSpec *
kind_spec (uint32_t kind)
{
  static const LfKindSpec specs[] = {
    { "LfModelVTable", sizeof (LfModelVTable), LF_FIELD_END (LfModelVTable, forward), model_slots },
    { "LfStrategyVTable", sizeof (LfStrategyVTable), LF_FIELD_END (LfStrategyVTable, destroy),
      strategy_slots },
    { "LfDatasetVTable", sizeof (LfDatasetVTable), LF_FIELD_END (LfDatasetVTable, info), dataset_slots },
  };
  if (kind < LF_PLUGIN_MODEL || kind > LF_PLUGIN_DATASET)
    return NULL;
  return &specs[kind - LF_PLUGIN_MODEL];
}

/* ---- the search path ------------------------------------------------------ */

static void
path_add (GPtrArray *out, const char *dir)
{
  if (dir == NULL || *dir == '\0')    /* an empty entry is never "the current directory" */
    return;
  char *abs = g_canonicalize_filename (dir, NULL);
  for (guint i = 0; i < out->len; i++)
    if (strcmp (out->pdata[i], abs) == 0)
      {
        g_free (abs);
        return;
      }
  g_ptr_array_add (out, abs);
}

static void
path_add_list (GPtrArray *out, const char *list)
{
  if (list == NULL)
    return;
  g_auto (GStrv) parts = g_strsplit (list, G_SEARCHPATH_SEPARATOR_S, -1);
  for (int i = 0; parts[i] != NULL; i++)
    path_add (out, parts[i]);
}

#if defined (LF_BUILD_PLUGIN_DIR) && defined (LF_BUILD_LIB_DIR)
/* TRUE when the liblifelong running this code is the one in its build tree
 * (LF_BUILD_LIB_DIR), not an installed copy: only then is the build tree's
 * plugin folder on the search path.  An installed lifelong never reads a
 * build folder, even one that still exists. */
static gboolean
running_from_build_tree (void)
{
  static const char here = 0;         /* any address inside this library */
  Dl_info dl;
  if (dladdr (&here, &dl) == 0 || dl.dli_fname == NULL)
    return FALSE;
  char *lib = realpath (dl.dli_fname, NULL), *build = realpath (LF_BUILD_LIB_DIR, NULL);
  gboolean same = FALSE;
  if (lib != NULL && build != NULL)
    {
      g_autofree char *lib_dir = g_path_get_dirname (lib);
      same = strcmp (lib_dir, build) == 0;
    }
  free (lib);
  free (build);
  return same;
}
#endif

char **
lf_plugin_search_path (const char *extra_dirs)
{
  GPtrArray *out = g_ptr_array_new ();
#if defined (LF_BUILD_PLUGIN_DIR) && defined (LF_BUILD_LIB_DIR)
  if (running_from_build_tree ())
    path_add (out, LF_BUILD_PLUGIN_DIR);
#endif
#ifdef LF_INSTALL_PLUGIN_DIR
  path_add (out, LF_INSTALL_PLUGIN_DIR);
#endif
  path_add_list (out, g_getenv ("LIFELONG_PLUGIN_PATH"));
  path_add_list (out, extra_dirs);
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

/* ---- the registry ---------------------------------------------------------- */

static void
entry_free (gpointer data)
{
  LfPluginEntry *e = data;
  if (e->handle != NULL)
    dlclose (e->handle);
  g_free (e->file);
  g_free (e);
}

static void
load_error_free (gpointer data)
{
  LfPluginLoadError *le = data;
  g_free (le->file);
  g_clear_error (&le->error);
  g_free (le);
}

LfPluginRegistry *
lf_registry_new (void)
{
  LfPluginRegistry *reg = g_new0 (LfPluginRegistry, 1);
  reg->entries = g_ptr_array_new_with_free_func (entry_free);
  reg->errors = g_ptr_array_new_with_free_func (load_error_free);
  reg->dirs = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (reg->dirs, NULL);
  reg->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return reg;
}

void
lf_registry_free (LfPluginRegistry *reg)
{
  if (reg == NULL)
    return;
  /* Unload in reverse: a later plugin may use an earlier one's data. */
  while (reg->entries->len > 0)
    g_ptr_array_remove_index (reg->entries, reg->entries->len - 1);
  g_ptr_array_unref (reg->entries);
  g_ptr_array_unref (reg->errors);
  g_ptr_array_unref (reg->dirs);
  g_hash_table_unref (reg->seen);
  g_free (reg);
}

/* ---- checking a descriptor -------------------------------------------------- */

#define REFUSE(code, ...) \
  do { g_set_error (error, LF_PLUGIN_ERROR, (code), __VA_ARGS__); return FALSE; } while (0)

static gboolean
plugin_name_ok (const char *s)
{
  if (s == NULL || !((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
    return FALSE;
  for (s++; *s != '\0'; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
      return FALSE;
  return TRUE;
}

/* A NULL-terminated list of non-empty strings, at most PLUGIN_MAX_LIST long. */
static gboolean
string_list_ok (const char *file, const char *what, const char *const *list, LfPluginError code,
                GError **error)
{
  for (int i = 0; list != NULL; i++)
    {
      if (i >= PLUGIN_MAX_LIST)
        REFUSE (code, "%s: %s: no NULL end within %d entries", file, what, PLUGIN_MAX_LIST);
      if (list[i] == NULL)
        break;
      if (*list[i] == '\0')
        REFUSE (code, "%s: %s: entry %d is empty", file, what, i);
    }
  return TRUE;
}

static gboolean
check_names (const char *file, const LfPluginInfo *info, GError **error)
{
  if (info->name == NULL)
    REFUSE (LF_PLUGIN_ERROR_NAME, "%s: the descriptor has no name", file);
  if (!plugin_name_ok (info->name))
    REFUSE (LF_PLUGIN_ERROR_NAME, "%s: name \"%s\" is not [a-z0-9][a-z0-9-]*", file, info->name);
  if (!string_list_ok (file, "aliases", info->aliases, LF_PLUGIN_ERROR_NAME, error))
    return FALSE;
  for (int i = 0; info->aliases != NULL && info->aliases[i] != NULL; i++)
    {
      const char *a = info->aliases[i];
      if (!plugin_name_ok (a))
        REFUSE (LF_PLUGIN_ERROR_NAME, "%s: alias \"%s\" of \"%s\" is not [a-z0-9][a-z0-9-]*", file, a,
                info->name);
      if (strcmp (a, info->name) == 0)
        REFUSE (LF_PLUGIN_ERROR_NAME, "%s: alias \"%s\" repeats the plugin's name", file, a);
      for (int j = 0; j < i; j++)
        if (strcmp (a, info->aliases[j]) == 0)
          REFUSE (LF_PLUGIN_ERROR_NAME, "%s: alias \"%s\" is listed twice", file, a);
    }
  return TRUE;
}

static gboolean
check_caps (const char *file, const LfCapabilities *caps, GError **error)
{
  const uint32_t touches = LF_TOUCHES_LOSS | LF_TOUCHES_GRADIENTS | LF_TOUCHES_DATA
                         | LF_TOUCHES_STRUCTURE | LF_TOUCHES_INFERENCE | LF_TOUCHES_OPTIMIZER;
  const uint32_t needs = LF_NEEDS_TASK_IDS | LF_NEEDS_TASK_IDS_AT_TEST | LF_NEEDS_BOUNDARIES
                       | LF_NEEDS_LABELS | LF_NEEDS_SEQUENCES;
  const uint32_t supports = LF_SUPPORTS_ONLINE | LF_SUPPORTS_CLASSIFICATION | LF_SUPPORTS_LANGUAGE_MODEL;
  if (caps == NULL)
    return TRUE;
  if (caps->touches & ~touches)
    REFUSE (LF_PLUGIN_ERROR_DESCRIPTOR, "%s: capabilities: unknown touches bits 0x%x", file,
            caps->touches & ~touches);
  if (caps->needs & ~needs)
    REFUSE (LF_PLUGIN_ERROR_DESCRIPTOR, "%s: capabilities: unknown needs bits 0x%x", file,
            caps->needs & ~needs);
  if (caps->supports & ~supports)
    REFUSE (LF_PLUGIN_ERROR_DESCRIPTOR, "%s: capabilities: unknown supports bits 0x%x", file,
            caps->supports & ~supports);
  return string_list_ok (file, "capabilities.model_kinds", caps->model_kinds,
                         LF_PLUGIN_ERROR_DESCRIPTOR, error)
      && string_list_ok (file, "capabilities.scenarios", caps->scenarios,
                         LF_PLUGIN_ERROR_DESCRIPTOR, error);
}

/* Copies the plugin's vtable into e->vt, zero-extended, after checking its
 * size and required slots. */
static gboolean
check_vtable (const char *file, LfPluginEntry *e, GError **error)
{
  const LfKindSpec *spec = kind_spec (e->info.kind);
  const char *kind = lf_plugin_kind_name ((LfPluginKind) e->info.kind);
  if (e->info.vtable == NULL)
    REFUSE (LF_PLUGIN_ERROR_VTABLE, "%s: %s \"%s\" has no vtable", file, kind, e->info.name);
  size_t size;
  memcpy (&size, e->info.vtable, sizeof size);
  if (size < spec->min_size)
    {
      /* Name the first required slot the struct cannot hold. */
      const char *missing = spec->required[0].name;
      for (const LfRequiredSlot *s = spec->required; s->name != NULL; s++)
        if (s->offset + sizeof (void (*) (void)) > size)
          {
            missing = s->name;
            break;
          }
      REFUSE (LF_PLUGIN_ERROR_VTABLE_SIZE,
              "%s: %s \"%s\": %s struct_size %zu is too small: the required slot %s needs at least %zu",
              file, kind, e->info.name, spec->vtable_name, size, missing, spec->min_size);
    }
  memset (&e->vt, 0, sizeof e->vt);
  memcpy (&e->vt, e->info.vtable, MIN (size, spec->host_size));
  for (const LfRequiredSlot *s = spec->required; s->name != NULL; s++)
    {
      void (*fn) (void);
      memcpy (&fn, (const char *) &e->vt + s->offset, sizeof fn);
      if (fn == NULL)
        REFUSE (LF_PLUGIN_ERROR_VTABLE, "%s: %s \"%s\": required slot %s is NULL", file, kind,
                e->info.name, s->name);
    }
  e->info.vtable = &e->vt;
  return TRUE;
}

/* Every name the plugin answers to: name, then aliases. */
static gboolean
answers_to (const LfPluginInfo *info, const char *name)
{
  if (strcmp (info->name, name) == 0)
    return TRUE;
  for (int i = 0; info->aliases != NULL && info->aliases[i] != NULL; i++)
    if (strcmp (info->aliases[i], name) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
check_unique (LfPluginRegistry *reg, const char *file, const LfPluginInfo *info, GError **error)
{
  const char *kind = lf_plugin_kind_name ((LfPluginKind) info->kind);
  for (guint k = 0; k < reg->entries->len; k++)
    {
      const LfPluginEntry *other = reg->entries->pdata[k];
      if (other->info.kind != info->kind)
        continue;
      for (int i = -1; i < 0 || (info->aliases != NULL && info->aliases[i] != NULL); i++)
        {
          const char *n = i < 0 ? info->name : info->aliases[i];
          if (!answers_to (&other->info, n))
            continue;
          REFUSE (LF_PLUGIN_ERROR_DUPLICATE, "%s: %s %s \"%s\" is already taken by %s \"%s\" from %s",
                  file, kind, i < 0 ? "name" : "alias", n, kind, other->info.name, other->file);
        }
    }
  return TRUE;
}

/* Opens file and checks everything; on success e holds the handle and the
 * host's copies. */
static gboolean
open_plugin (LfPluginRegistry *reg, const char *file, LfPluginEntry *e, GError **error)
{
  dlerror ();
  e->handle = dlopen (file, RTLD_NOW | RTLD_LOCAL);
  if (e->handle == NULL)
    {
      const char *why = dlerror ();
      REFUSE (LF_PLUGIN_ERROR_OPEN, "%s: cannot load: %s", file, why != NULL ? why : "unknown dlopen error");
    }
  dlerror ();
  void *sym = dlsym (e->handle, LF_PLUGIN_SYMBOL);
  if (sym == NULL)
    REFUSE (LF_PLUGIN_ERROR_NO_SYMBOL,
            "%s: exports no %s (is it a lifelong plugin? the function needs LF_PLUGIN_EXPORT)",
            file, LF_PLUGIN_SYMBOL);
  LfPluginQueryFn query;
  memcpy (&query, &sym, sizeof query);   /* pedantic C forbids casting void * to a function */
  const LfPluginInfo *pi = query ();
  if (pi == NULL)
    REFUSE (LF_PLUGIN_ERROR_NULL_INFO, "%s: %s returned NULL", file, LF_PLUGIN_SYMBOL);

  /* abi_major, abi_minor and struct_size lead the descriptor in every ABI. */
  if (pi->abi_major != LF_ABI_MAJOR)
    REFUSE (LF_PLUGIN_ERROR_ABI_MAJOR,
            "%s: built for plugin ABI %u.%u, this host has ABI %d.%d (the major must match: "
            "rebuild the plugin against this host's headers)",
            file, pi->abi_major, pi->abi_minor, LF_ABI_MAJOR, LF_ABI_MINOR);
  if (pi->abi_minor > LF_ABI_MINOR)
    REFUSE (LF_PLUGIN_ERROR_ABI_MINOR,
            "%s: built for plugin ABI %u.%u, newer than this host's %d.%d (update lifelong, "
            "or rebuild the plugin against this host's headers)",
            file, pi->abi_major, pi->abi_minor, LF_ABI_MAJOR, LF_ABI_MINOR);
  if (pi->struct_size < LF_PLUGIN_INFO_SIZE_1_0)
    REFUSE (LF_PLUGIN_ERROR_STRUCT_SIZE,
            "%s: descriptor struct_size %u is smaller than ABI 1.0's %zu", file,
            pi->struct_size, (size_t) LF_PLUGIN_INFO_SIZE_1_0);
  memset (&e->info, 0, sizeof e->info);
  memcpy (&e->info, pi, MIN ((size_t) pi->struct_size, sizeof e->info));
  const LfPluginInfo *info = &e->info;

  const char *kind = lf_plugin_kind_name ((LfPluginKind) info->kind);
  if (kind == NULL)
    REFUSE (LF_PLUGIN_ERROR_KIND, "%s: unknown plugin kind %u (1 model, 2 strategy, 3 dataset)",
            file, info->kind);
  if (!check_names (file, info, error))
    return FALSE;
  if (info->version == NULL || *info->version == '\0')
    REFUSE (LF_PLUGIN_ERROR_DESCRIPTOR, "%s: %s \"%s\" has no version", file, kind, info->name);
  if (info->summary == NULL || *info->summary == '\0')
    REFUSE (LF_PLUGIN_ERROR_DESCRIPTOR, "%s: %s \"%s\" has no summary", file, kind, info->name);
  if (!check_caps (file, info->caps, error))
    return FALSE;
  if (!lf_param_table_check (info->params, error))
    {
      g_prefix_error (error, "%s: %s \"%s\": ", file, kind, info->name);
      return FALSE;
    }
  return check_vtable (file, e, error) && check_unique (reg, file, info, error);
}

static void
record_error (LfPluginRegistry *reg, const char *file, const GError *error)
{
  LfPluginLoadError *le = g_new0 (LfPluginLoadError, 1);
  le->file = g_strdup (file);
  le->error = g_error_copy (error);
  g_ptr_array_add (reg->errors, le);
}

gboolean
lf_registry_load_file (LfPluginRegistry *reg, const char *path, GError **error)
{
  g_return_val_if_fail (reg != NULL && path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  /* An absolute path: dlopen searches the library path for a bare name. */
  g_autofree char *file = g_canonicalize_filename (path, NULL);
  LfPluginEntry *e = g_new0 (LfPluginEntry, 1);
  e->file = g_strdup (file);
  g_autoptr (GError) local = NULL;
  if (!open_plugin (reg, file, e, &local))
    {
      record_error (reg, file, local);
      entry_free (e);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  g_ptr_array_add (reg->entries, e);
  return TRUE;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Loads the *.so files of one directory; FALSE if any failed. */
static gboolean
scan_dir (LfPluginRegistry *reg, const char *dir)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &local);
  if (d == NULL)
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;   /* missing directories are skipped silently */
      g_autoptr (GError) e = g_error_new (LF_PLUGIN_ERROR, LF_PLUGIN_ERROR_OPEN,
                                          "%s: cannot read plugin directory: %s", dir, local->message);
      record_error (reg, dir, e);
      return FALSE;
    }
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  for (const char *n; (n = g_dir_read_name (d)) != NULL;)
    if (n[0] != '.' && g_str_has_suffix (n, ".so"))
      g_ptr_array_add (names, g_strdup (n));
  g_ptr_array_sort (names, compare_names);

  gboolean ok = TRUE;
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *file = g_build_filename (dir, names->pdata[i], NULL);
      if (g_file_test (file, G_FILE_TEST_IS_DIR))
        continue;
      /* The same file reached twice (a symlink, a directory listed under
       * two names) is loaded once. */
      GStatBuf st;
      char *key = g_stat (file, &st) == 0
        ? g_strdup_printf ("%ju:%ju", (uintmax_t) st.st_dev, (uintmax_t) st.st_ino)
        : g_strdup (file);
      if (!g_hash_table_add (reg->seen, key))
        continue;
      if (!lf_registry_load_file (reg, file, NULL))
        ok = FALSE;
    }
  return ok;
}

gboolean
lf_registry_scan (LfPluginRegistry *reg, const char *const *dirs, GError **error)
{
  g_return_val_if_fail (reg != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  guint first_error = reg->errors->len;
  for (int i = 0; dirs != NULL && dirs[i] != NULL; i++)
    {
      if (*dirs[i] == '\0')
        continue;
      char *dir = g_canonicalize_filename (dirs[i], NULL);
      g_ptr_array_insert (reg->dirs, (gint) reg->dirs->len - 1, dir);
      scan_dir (reg, dir);
    }
  guint n_failed = reg->errors->len - first_error;
  if (n_failed == 0)
    return TRUE;
  const LfPluginLoadError *first = reg->errors->pdata[first_error];
  if (n_failed == 1)
    {
      g_propagate_error (error, g_error_copy (first->error));
      return FALSE;
    }
  GString *msg = g_string_new (NULL);
  g_string_printf (msg, "%u plugin files failed to load:", n_failed);
  for (guint i = first_error; i < reg->errors->len; i++)
    g_string_append_printf (msg, "\n  %s", ((LfPluginLoadError *) reg->errors->pdata[i])->error->message);
  g_set_error_literal (error, LF_PLUGIN_ERROR, first->error->code, msg->str);
  g_string_free (msg, TRUE);
  return FALSE;
}

/* ---- looking up ------------------------------------------------------------- */

const LfPluginInfo *
lf_registry_find (LfPluginRegistry *reg, LfPluginKind kind, const char *name_or_alias)
{
  g_return_val_if_fail (reg != NULL, NULL);
  if (name_or_alias == NULL)
    return NULL;
  for (guint k = 0; k < reg->entries->len; k++)
    {
      const LfPluginEntry *e = reg->entries->pdata[k];
      if (e->info.kind == (uint32_t) kind && answers_to (&e->info, name_or_alias))
        return &e->info;
    }
  return NULL;
}

static const LfPluginEntry *
entry_of (LfPluginRegistry *reg, const LfPluginInfo *info)
{
  for (guint k = 0; k < reg->entries->len; k++)
    if (&((const LfPluginEntry *) reg->entries->pdata[k])->info == info)
      return reg->entries->pdata[k];
  return NULL;
}

const char *
lf_registry_file (LfPluginRegistry *reg, const LfPluginInfo *info)
{
  g_return_val_if_fail (reg != NULL && info != NULL, NULL);
  const LfPluginEntry *e = entry_of (reg, info);
  g_return_val_if_fail (e != NULL, NULL);
  return e->file;
}

guint
lf_registry_n_plugins (LfPluginRegistry *reg)
{
  g_return_val_if_fail (reg != NULL, 0);
  return reg->entries->len;
}

const LfPluginInfo *
lf_registry_nth (LfPluginRegistry *reg, guint i)
{
  g_return_val_if_fail (reg != NULL && i < reg->entries->len, NULL);
  return &((const LfPluginEntry *) reg->entries->pdata[i])->info;
}

const GPtrArray *
lf_registry_errors (LfPluginRegistry *reg)
{
  g_return_val_if_fail (reg != NULL, NULL);
  return reg->errors;
}

const char *const *
lf_registry_dirs (LfPluginRegistry *reg)
{
  g_return_val_if_fail (reg != NULL, NULL);
  return (const char *const *) reg->dirs->pdata;
}
