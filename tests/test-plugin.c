/* lifelong tests — the plugin loader and parameter validation: good plugins
 * load with the right descriptor, every broken one (tests/plugins/broken)
 * is refused with its own error code and a message naming the file, and
 * config sections are checked against parameter tables with messages that
 * name the JSON path and the value given. */
#include "plugin-private.h"
#include "commands.h"
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* the ABI the test plugins were built against: this tree's headers */
#define LF_ABI_STRING G_STRINGIFY (LF_ABI_MAJOR) "." G_STRINGIFY (LF_ABI_MINOR)

static const char *plugin_dir;   /* LIFELONG_TEST_PLUGIN_DIR */

#define assert_contains(haystack, needle)                                            \
  do {                                                                               \
    const char *h_ = (haystack), *n_ = (needle);                                     \
    if (strstr (h_, n_) == NULL)                                                     \
      g_error ("%s:%d: \"%s\" does not contain \"%s\"", __FILE__, __LINE__, h_, n_); \
  } while (0)

/* ---- temporary plugin folders ---------------------------------------------- */

static char *
make_tmp_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("lf-plugin-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static void
remove_tmp_dir (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  for (const char *n; (n = g_dir_read_name (d)) != NULL;)
    {
      g_autofree char *p = g_build_filename (dir, n, NULL);
      g_assert_cmpint (g_unlink (p), ==, 0);
    }
  g_dir_close (d);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* A built test plugin: "good-strategy" or "broken/wrong-major". */
static char *
built_plugin (const char *name)
{
  char *path = g_strdup_printf ("%s/%s.so", plugin_dir, name);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    g_error ("test plugin %s was not built", path);
  return path;
}

/* Links the built plugin into dir under link_name; returns the link's path. */
static char *
link_plugin (const char *dir, const char *name, const char *link_name)
{
  g_autofree char *target = built_plugin (name);
  char *link = g_build_filename (dir, link_name, NULL);
  g_assert_cmpint (symlink (target, link), ==, 0);
  return link;
}

static LfPluginRegistry *
scan_dir (const char *dir, GError **error)
{
  LfPluginRegistry *reg = lf_registry_new ();
  const char *dirs[] = { dir, NULL };
  gboolean ok = lf_registry_scan (reg, dirs, error);
  g_assert_true (ok == (error == NULL || *error == NULL));
  return reg;
}

/* ---- well-formed plugins -------------------------------------------------------- */

static const char *good_plugins[] = { "good-strategy", "good-model", "good-dataset", "old-abi" };

static void
test_good (void)
{
  g_autofree char *dir = make_tmp_dir ();
  for (guint i = 0; i < G_N_ELEMENTS (good_plugins); i++)
    {
      g_autofree char *so = g_strconcat (good_plugins[i], ".so", NULL);
      g_free (link_plugin (dir, good_plugins[i], so));
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (LfPluginRegistry) reg = scan_dir (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (lf_registry_n_plugins (reg), ==, 4);
  g_assert_cmpuint (lf_registry_errors (reg)->len, ==, 0);

  /* by name and by each alias, the same descriptor */
  const LfPluginInfo *s = lf_registry_find (reg, LF_PLUGIN_STRATEGY, "test-good");
  g_assert_nonnull (s);
  g_assert_true (lf_registry_find (reg, LF_PLUGIN_STRATEGY, "test-alias") == s);
  g_assert_true (lf_registry_find (reg, LF_PLUGIN_STRATEGY, "good-strategy") == s);
  g_assert_null (lf_registry_find (reg, LF_PLUGIN_STRATEGY, "test-data"));
  g_assert_null (lf_registry_find (reg, LF_PLUGIN_STRATEGY, "test-goo"));
  g_assert_null (lf_registry_find (reg, LF_PLUGIN_MODEL, "test-good"));
  /* names are unique per kind: a dataset may share a strategy's name */
  const LfPluginInfo *d = lf_registry_find (reg, LF_PLUGIN_DATASET, "test-good");
  g_assert_nonnull (d);
  g_assert_true (d != s);
  g_assert_true (lf_registry_find (reg, LF_PLUGIN_DATASET, "test-data") == d);

  g_assert_cmpuint (s->abi_major, ==, LF_ABI_MAJOR);
  g_assert_cmpuint (s->abi_minor, ==, LF_ABI_MINOR);
  g_assert_cmpuint (s->struct_size, ==, sizeof (LfPluginInfo));
  g_assert_cmpuint (s->kind, ==, LF_PLUGIN_STRATEGY);
  g_assert_cmpstr (s->name, ==, "test-good");
  g_assert_cmpstr (s->version, ==, "1.2.3");
  g_assert_cmpstr (s->summary, ==, "A well-formed strategy for the loader's tests.");
  g_assert_cmpstr (s->aliases[0], ==, "test-alias");
  g_assert_cmpstr (s->aliases[1], ==, "good-strategy");
  g_assert_null (s->aliases[2]);
  g_assert_cmpstr (s->params[0].name, ==, "lambda");
  g_assert_cmpint (s->params[0].type, ==, LF_PARAM_FLOAT);
  g_assert_cmpstr (s->params[0].default_json, ==, "5000");
  g_assert_cmpfloat (s->params[0].max, ==, 1e6);
  g_assert_cmpuint (s->caps->touches, ==, LF_TOUCHES_LOSS | LF_TOUCHES_DATA);
  g_assert_cmpuint (s->caps->needs, ==, LF_NEEDS_BOUNDARIES | LF_NEEDS_LABELS);
  g_assert_cmpstr (s->caps->model_kinds[0], ==, "mlp");
  g_assert_cmpstr (s->caps->scenarios[1], ==, "task-incremental");
  const LfStrategyVTable *vt = s->vtable;
  g_assert_cmpuint (vt->struct_size, ==, sizeof (LfStrategyVTable));
  g_assert_nonnull (vt->create);
  g_assert_nonnull (vt->destroy);
  g_assert_null (vt->loss);

  /* the file it came from, as found on the search path */
  g_autofree char *expect = g_build_filename (dir, "good-strategy.so", NULL);
  g_assert_cmpstr (lf_registry_file (reg, s), ==, expect);

  const LfPluginInfo *m = lf_registry_find (reg, LF_PLUGIN_MODEL, "test-model");
  g_assert_nonnull (m);
  g_assert_null (m->params);
  g_assert_null (m->aliases);
  const LfModelVTable *mvt = m->vtable;
  g_assert_nonnull (mvt->forward);
  g_assert_null (mvt->clone);

  /* load order is name order within a folder */
  g_assert_cmpstr (lf_registry_nth (reg, 0)->name, ==, "test-good");   /* good-dataset.so */
  g_assert_cmpstr (lf_registry_nth (reg, 3)->name, ==, "test-old-abi");

  g_clear_pointer (&reg, lf_registry_free);
  remove_tmp_dir (dir);
}

/* A plugin whose descriptor is ABI 1.0's size and whose vtable ends early
 * loads; the host's copy reads every slot past its end as NULL. */
static void
test_old_abi (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_free (link_plugin (dir, "old-abi", "old-abi.so"));
  g_autoptr (GError) error = NULL;
  g_autoptr (LfPluginRegistry) reg = scan_dir (dir, &error);
  g_assert_no_error (error);
  const LfPluginInfo *info = lf_registry_find (reg, LF_PLUGIN_STRATEGY, "test-old-abi");
  g_assert_nonnull (info);
  g_assert_cmpuint (info->struct_size, ==, LF_PLUGIN_INFO_SIZE_1_0);
  g_assert_cmpuint (info->abi_minor, ==, 0);
  const LfStrategyVTable *vt = info->vtable;
  g_assert_cmpuint (vt->struct_size, ==, LF_FIELD_END (LfStrategyVTable, after_backward));
  g_assert_nonnull (vt->create);
  g_assert_nonnull (vt->after_backward);
  g_assert_null (vt->after_step);
  g_assert_null (vt->memory_bytes);   /* set in the plugin's memory, but past its struct_size */
  g_clear_pointer (&reg, lf_registry_free);
  remove_tmp_dir (dir);
}

/* The folder every test may scan holds only loadable plugins. */
static void
test_test_plugin_dir (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LfPluginRegistry) reg = scan_dir (plugin_dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (lf_registry_find (reg, LF_PLUGIN_STRATEGY, "test-good"));
  /* broken/ is a subfolder: never scanned */
  g_assert_null (lf_registry_find (reg, LF_PLUGIN_STRATEGY, "test-broken-base"));
}

/* ---- broken plugins --------------------------------------------------------------- */

typedef struct {
  const char *name;       /* tests/plugins/broken/<name>.so */
  int         code;
  const char *needle;     /* also in the message */
} BrokenCase;

static const BrokenCase broken_cases[] = {
  { "unresolved", LF_PLUGIN_ERROR_OPEN, "lf_test_no_such_function" },
  { "no-symbol", LF_PLUGIN_ERROR_NO_SYMBOL, "exports no lf_plugin_query" },
  { "null-info", LF_PLUGIN_ERROR_NULL_INFO, "lf_plugin_query returned NULL" },
  { "wrong-major", LF_PLUGIN_ERROR_ABI_MAJOR, "the major must match" },
  { "newer-minor", LF_PLUGIN_ERROR_ABI_MINOR, "newer than this host's" },
  { "small-descriptor", LF_PLUGIN_ERROR_STRUCT_SIZE, "smaller than ABI 1.0's" },
  { "bad-kind", LF_PLUGIN_ERROR_KIND, "unknown plugin kind 7" },
  { "bad-name", LF_PLUGIN_ERROR_NAME, "\"Bad_Name\"" },
  { "bad-alias", LF_PLUGIN_ERROR_NAME, "alias \"not fine\"" },
  { "no-version", LF_PLUGIN_ERROR_DESCRIPTOR, "has no version" },
  { "no-summary", LF_PLUGIN_ERROR_DESCRIPTOR, "has no summary" },
  { "param-dup", LF_PLUGIN_ERROR_PARAMS, "'lambda' is declared twice" },
  { "param-type", LF_PLUGIN_ERROR_PARAMS, "expected a number, got \"lots\"" },
  { "param-range", LF_PLUGIN_ERROR_PARAMS, "min 10 >= max 1" },
  { "param-json", LF_PLUGIN_ERROR_PARAMS, "default '[400, 400' is not JSON" },
  { "param-name", LF_PLUGIN_ERROR_PARAMS, "name 'Lambda' is not" },
  { "param-default-range", LF_PLUGIN_ERROR_PARAMS, "-5 is out of range [0, 100]" },
  { "param-unknown-type", LF_PLUGIN_ERROR_PARAMS, "unknown type 42" },
  { "null-vtable", LF_PLUGIN_ERROR_VTABLE, "has no vtable" },
  { "short-vtable", LF_PLUGIN_ERROR_VTABLE_SIZE, "required slot destroy" },
  { "null-slot", LF_PLUGIN_ERROR_VTABLE, "required slot destroy is NULL" },
  { "model-short-vtable", LF_PLUGIN_ERROR_VTABLE_SIZE, "LfModelVTable struct_size" },
  { "dataset-null-close", LF_PLUGIN_ERROR_VTABLE, "required slot close is NULL" },
};

static void
test_broken (gconstpointer data)
{
  const BrokenCase *c = data;
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *so = g_strconcat (c->name, ".so", NULL);
  g_autofree char *broken = g_strconcat ("broken/", c->name, NULL);
  g_autofree char *file = link_plugin (dir, broken, so);

  g_autoptr (GError) error = NULL;
  g_autoptr (LfPluginRegistry) reg = scan_dir (dir, &error);
  g_assert_error (error, LF_PLUGIN_ERROR, c->code);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, file));   /* names the file first */
  assert_contains (error->message, c->needle);
  g_assert_cmpuint (lf_registry_n_plugins (reg), ==, 0);
  const GPtrArray *errors = lf_registry_errors (reg);
  g_assert_cmpuint (errors->len, ==, 1);
  const LfPluginLoadError *le = errors->pdata[0];
  g_assert_cmpstr (le->file, ==, file);
  g_assert_error (le->error, LF_PLUGIN_ERROR, c->code);
  g_clear_pointer (&reg, lf_registry_free);
  remove_tmp_dir (dir);
}

/* Not a shared object at all: dlopen's own words. */
static void
test_not_elf (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *file = g_build_filename (dir, "notes.so", NULL);
  g_assert_true (g_file_set_contents (file, "not an ELF file\n", -1, NULL));
  g_autoptr (GError) error = NULL;
  g_autoptr (LfPluginRegistry) reg = scan_dir (dir, &error);
  g_assert_error (error, LF_PLUGIN_ERROR, LF_PLUGIN_ERROR_OPEN);
  g_assert_true (g_str_has_prefix (error->message, file));
  assert_contains (error->message, "cannot load");
  g_clear_pointer (&reg, lf_registry_free);
  remove_tmp_dir (dir);
}

/* A name or alias taken by a plugin of the same kind in an earlier folder:
 * the later file is refused, the message names both, the first stays. */
static void
check_duplicate (const char *broken, const char *needle)
{
  g_autofree char *dir1 = make_tmp_dir ();
  g_autofree char *dir2 = make_tmp_dir ();
  g_autofree char *good = link_plugin (dir1, "good-strategy", "good-strategy.so");
  g_autofree char *dup = link_plugin (dir2, broken, "dup.so");
  LfPluginRegistry *reg = lf_registry_new ();
  const char *dirs[] = { dir1, dir2, NULL };
  g_autoptr (GError) error = NULL;
  g_assert_false (lf_registry_scan (reg, dirs, &error));
  g_assert_error (error, LF_PLUGIN_ERROR, LF_PLUGIN_ERROR_DUPLICATE);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, dup));
  assert_contains (error->message, good);
  assert_contains (error->message, needle);
  g_assert_cmpuint (lf_registry_n_plugins (reg), ==, 1);
  const LfPluginInfo *info = lf_registry_find (reg, LF_PLUGIN_STRATEGY, "test-alias");
  g_assert_nonnull (info);
  g_assert_cmpstr (lf_registry_file (reg, info), ==, good);
  lf_registry_free (reg);
  remove_tmp_dir (dir1);
  remove_tmp_dir (dir2);
}

static void
test_duplicate_name (void)
{
  check_duplicate ("broken/dup-name", "strategy name \"test-good\" is already taken");
}

static void
test_duplicate_alias (void)
{
  check_duplicate ("broken/dup-alias", "strategy alias \"test-alias\" is already taken by strategy \"test-good\"");
}

/* One bad file does not stop the scan: every failure is recorded. */
static void
test_scan_keeps_going (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *a = link_plugin (dir, "broken/wrong-major", "a.so");
  g_free (link_plugin (dir, "good-strategy", "b.so"));
  g_autofree char *c = link_plugin (dir, "broken/null-info", "c.so");
  g_autofree char *missing = g_build_filename (dir, "no-such-folder", NULL);
  LfPluginRegistry *reg = lf_registry_new ();
  const char *dirs[] = { missing, dir, NULL };
  g_autoptr (GError) error = NULL;
  g_assert_false (lf_registry_scan (reg, dirs, &error));
  g_assert_error (error, LF_PLUGIN_ERROR, LF_PLUGIN_ERROR_ABI_MAJOR);   /* the first failure's code */
  assert_contains (error->message, "2 plugin files failed to load");
  assert_contains (error->message, a);
  assert_contains (error->message, c);
  g_assert_nonnull (lf_registry_find (reg, LF_PLUGIN_STRATEGY, "test-good"));
  const GPtrArray *errors = lf_registry_errors (reg);
  g_assert_cmpuint (errors->len, ==, 2);
  g_assert_cmpstr (((LfPluginLoadError *) errors->pdata[0])->file, ==, a);
  g_assert_cmpstr (((LfPluginLoadError *) errors->pdata[1])->file, ==, c);
  const char *const *scanned = lf_registry_dirs (reg);
  g_assert_cmpstr (scanned[0], ==, missing);
  g_assert_cmpstr (scanned[1], ==, dir);
  g_assert_null (scanned[2]);
  lf_registry_free (reg);
  remove_tmp_dir (dir);
}

/* The same file under two names, or a folder scanned twice, loads once:
 * no duplicate-name error against itself. */
static void
test_scan_same_file (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_free (link_plugin (dir, "good-strategy", "a.so"));
  g_free (link_plugin (dir, "good-strategy", "b.so"));
  LfPluginRegistry *reg = lf_registry_new ();
  const char *dirs[] = { dir, dir, NULL };
  g_autoptr (GError) error = NULL;
  g_assert_true (lf_registry_scan (reg, dirs, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (lf_registry_n_plugins (reg), ==, 1);
  g_assert_true (lf_registry_scan (reg, dirs, &error));
  g_assert_cmpuint (lf_registry_n_plugins (reg), ==, 1);
  lf_registry_free (reg);
  remove_tmp_dir (dir);
}

/* Build folder, install folder, $LIFELONG_PLUGIN_PATH, then the extra
 * folders; no empty entry ever means the current directory. */
static void
test_search_path (void)
{
  g_autofree char *old = g_strdup (g_getenv ("LIFELONG_PLUGIN_PATH"));
  g_setenv ("LIFELONG_PLUGIN_PATH", "/lf-x/a::/lf-x/b:", TRUE);
  g_auto (GStrv) path = lf_plugin_search_path ("/lf-x/c:rel/d:/lf-x/a");
  guint n = g_strv_length (path);
  g_assert_cmpuint (n, ==, 6);
  g_assert_true (g_str_has_suffix (path[0], "/plugins"));                  /* build tree */
  g_assert_true (g_str_has_suffix (path[1], "/lifelong/plugins"));         /* installed  */
  g_assert_cmpstr (path[2], ==, "/lf-x/a");
  g_assert_cmpstr (path[3], ==, "/lf-x/b");
  g_assert_cmpstr (path[4], ==, "/lf-x/c");
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *rel = g_build_filename (cwd, "rel", "d", NULL);
  g_assert_cmpstr (path[5], ==, rel);
  for (guint i = 0; i < n; i++)
    g_assert_true (g_path_is_absolute (path[i]));

  g_setenv ("LIFELONG_PLUGIN_PATH", "", TRUE);
  g_auto (GStrv) base = lf_plugin_search_path (NULL);
  g_assert_cmpuint (g_strv_length (base), ==, 2);
  if (old != NULL)
    g_setenv ("LIFELONG_PLUGIN_PATH", old, TRUE);
  else
    g_unsetenv ("LIFELONG_PLUGIN_PATH");
}

/* A plugin exports lf_plugin_query and nothing else of its own. */
static void
test_exports (void)
{
  g_autofree char *nm = g_find_program_in_path ("nm");
  if (nm == NULL)
    {
      g_test_skip ("nm is not installed: cannot list the plugin's dynamic symbols");
      return;
    }
  static const char *linker_symbols[] = { "_init", "_fini", "__bss_start", "_edata", "_end",
                                          "__data_start", "_DYNAMIC", "_GLOBAL_OFFSET_TABLE_", NULL };
  const char *plugins[] = { "good-strategy", "good-model", "good-dataset", "old-abi" };
  for (guint p = 0; p < G_N_ELEMENTS (plugins); p++)
    {
      g_autofree char *so = built_plugin (plugins[p]);
      const char *argv[] = { nm, "-D", "--defined-only", so, NULL };
      g_autofree char *out = NULL, *err = NULL;
      int status;
      g_autoptr (GError) error = NULL;
      g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                                   &status, &error));
      g_assert_no_error (error);
      g_assert_true (g_spawn_check_wait_status (status, NULL));
      g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
      int found = 0;
      for (int i = 0; lines[i] != NULL; i++)
        {
          g_auto (GStrv) f = g_strsplit_set (g_strstrip (lines[i]), " \t", -1);
          guint nf = g_strv_length (f);
          if (nf == 0 || *f[nf - 1] == '\0')
            continue;
          const char *sym = f[nf - 1];
          if (g_strv_contains (linker_symbols, sym))
            continue;
          if (strcmp (sym, LF_PLUGIN_SYMBOL) == 0)
            found++;
          else
            g_error ("%s exports %s besides %s", so, sym, LF_PLUGIN_SYMBOL);
        }
      g_assert_cmpint (found, ==, 1);
    }
}

/* ---- the listing ---------------------------------------------------------------------- */

static LfPluginRegistry *
good_registry (char **dir_out)
{
  char *dir = make_tmp_dir ();
  g_free (link_plugin (dir, "good-strategy", "good-strategy.so"));
  g_free (link_plugin (dir, "good-model", "good-model.so"));
  g_autoptr (GError) error = NULL;
  LfPluginRegistry *reg = scan_dir (dir, &error);
  g_assert_no_error (error);
  *dir_out = dir;
  return reg;
}

static JsonObject *
find_param (JsonArray *params, const char *name)
{
  for (guint i = 0; i < json_array_get_length (params); i++)
    {
      JsonObject *o = json_array_get_object_element (params, i);
      if (strcmp (json_object_get_string_member (o, "name"), name) == 0)
        return o;
    }
  g_error ("no parameter %s in the listing", name);
}

static char *
member_text (JsonObject *o, const char *name)
{
  return json_to_string (json_object_get_member (o, name), FALSE);
}

static void
test_listing_json (void)
{
  g_autofree char *dir = NULL;
  g_autoptr (LfPluginRegistry) reg = good_registry (&dir);
  g_autofree char *text = lf_registry_to_json (reg);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = json_from_string (text, &error);
  g_assert_no_error (error);
  JsonObject *top = json_node_get_object (root);
  g_assert_cmpstr (json_object_get_string_member (top, "abi"), ==, LF_ABI_STRING);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (top, "errors")), ==, 0);
  JsonArray *plugins = json_object_get_array_member (top, "plugins");
  g_assert_cmpuint (json_array_get_length (plugins), ==, 2);
  /* sorted by kind: model (1) before strategy (2) */
  JsonObject *m = json_array_get_object_element (plugins, 0);
  JsonObject *s = json_array_get_object_element (plugins, 1);
  g_assert_cmpstr (json_object_get_string_member (m, "kind"), ==, "model");
  g_assert_cmpstr (json_object_get_string_member (s, "kind"), ==, "strategy");
  g_assert_cmpstr (json_object_get_string_member (s, "name"), ==, "test-good");
  g_assert_cmpstr (json_object_get_string_member (s, "version"), ==, "1.2.3");
  g_assert_cmpstr (json_object_get_string_member (s, "abi"), ==, LF_ABI_STRING);
  g_autofree char *file = g_build_filename (dir, "good-strategy.so", NULL);
  g_assert_cmpstr (json_object_get_string_member (s, "file"), ==, file);
  g_autofree char *aliases = member_text (s, "aliases");
  g_assert_cmpstr (aliases, ==, "[\"test-alias\",\"good-strategy\"]");

  JsonArray *params = json_object_get_array_member (s, "parameters");
  g_assert_cmpuint (json_array_get_length (params), ==, 9);
  JsonObject *lambda = find_param (params, "lambda");
  g_assert_cmpstr (json_object_get_string_member (lambda, "type"), ==, "float");
  g_assert_cmpint (json_object_get_int_member (lambda, "default"), ==, 5000);
  g_assert_cmpfloat (json_object_get_double_member (lambda, "min"), ==, 0);
  g_assert_cmpfloat (json_object_get_double_member (lambda, "max"), ==, 1e6);
  g_assert_false (json_object_get_boolean_member (lambda, "required"));
  g_assert_true (json_object_get_null_member (lambda, "choices"));
  g_assert_cmpstr (json_object_get_string_member (lambda, "doc"), ==, "Weight of the penalty.");
  JsonObject *mode = find_param (params, "mode");
  g_autofree char *choices = member_text (mode, "choices");
  g_assert_cmpstr (choices, ==, "[\"fisher\",\"si\",\"mas\"]");
  g_assert_cmpstr (json_object_get_string_member (mode, "default"), ==, "fisher");
  g_assert_true (json_object_get_null_member (mode, "min"));
  JsonObject *hidden = find_param (params, "hidden");
  g_autofree char *hidden_default = member_text (hidden, "default");
  g_assert_cmpstr (hidden_default, ==, "[400,400]");
  g_assert_cmpstr (json_object_get_string_member (hidden, "type"), ==, "int list");
  JsonObject *seed = find_param (params, "seed_offset");
  g_assert_true (json_object_get_boolean_member (seed, "required"));
  g_assert_true (json_object_get_null_member (seed, "default"));

  JsonObject *caps = json_object_get_object_member (s, "capabilities");
  g_autofree char *touches = member_text (caps, "touches");
  g_autofree char *needs = member_text (caps, "needs");
  g_autofree char *supports = member_text (caps, "supports");
  g_autofree char *kinds = member_text (caps, "model_kinds");
  g_autofree char *scen = member_text (caps, "scenarios");
  g_assert_cmpstr (touches, ==, "[\"loss\",\"data\"]");
  g_assert_cmpstr (needs, ==, "[\"boundaries\",\"labels\"]");
  g_assert_cmpstr (supports, ==, "[\"online\",\"classification\"]");
  g_assert_cmpstr (kinds, ==, "[\"mlp\"]");
  g_assert_cmpstr (scen, ==, "[\"class-incremental\",\"task-incremental\"]");

  /* no capabilities: touches nothing, classification, any model, any scenario */
  JsonObject *mcaps = json_object_get_object_member (m, "capabilities");
  g_autofree char *msupports = member_text (mcaps, "supports");
  g_assert_cmpstr (msupports, ==, "[\"classification\"]");
  g_assert_true (json_object_get_null_member (mcaps, "scenarios"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (m, "parameters")), ==, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (m, "aliases")), ==, 0);

  g_clear_pointer (&reg, lf_registry_free);
  remove_tmp_dir (dir);
}

static void
test_listing_text (void)
{
  g_autofree char *dir = NULL;
  g_autoptr (LfPluginRegistry) reg = good_registry (&dir);
  g_autofree char *text = lf_registry_to_text (reg);
  g_test_message ("%s", text);
  assert_contains (text, "strategy test-good 1.2.3: A well-formed strategy");
  assert_contains (text, "model test-model 0.0.1");
  assert_contains (text, "aliases: test-alias, good-strategy");
  assert_contains (text, "good-strategy.so (ABI " LF_ABI_STRING ")");
  assert_contains (text, "touches: loss, data");
  assert_contains (text, "needs: boundaries, labels");
  assert_contains (text, "scenarios: class-incremental, task-incremental");
  assert_contains (text, "one of fisher|si|mas");
  assert_contains (text, "in [0, 1e+06]");
  assert_contains (text, "Weight of the penalty.");
  assert_contains (text, "required");
  g_clear_pointer (&reg, lf_registry_free);
  remove_tmp_dir (dir);
}

/* `lifelong plugins`: the listing on stdout, broken files on stderr, 0. */
static void
test_cmd (void)
{
  if (g_test_subprocess ())
    {
      const char *dir = g_getenv ("LF_TEST_CMD_DIR");
      const char *json = g_getenv ("LF_TEST_CMD_JSON");
      char *argv[] = { (char *) "plugins", (char *) "--plugin-path", (char *) dir,
                       (char *) (json != NULL ? json : "--bogus"), NULL };
      exit (lf_cmd_plugins (4, argv));
    }
  g_autofree char *dir = make_tmp_dir ();
  g_free (link_plugin (dir, "good-strategy", "good-strategy.so"));
  g_autofree char *bad = link_plugin (dir, "broken/wrong-major", "wrong-major.so");
  g_setenv ("LF_TEST_CMD_DIR", dir, TRUE);

  g_setenv ("LF_TEST_CMD_JSON", "--json", TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("*\"name\": \"test-good\"*");
  g_test_trap_assert_stdout ("*\"file\": \"*good-strategy.so\"*");
  g_autofree char *pattern = g_strdup_printf ("*lifelong plugins: %s: built for plugin ABI %d.%d*", bad,
                                               LF_ABI_MAJOR + 1, LF_ABI_MINOR);
  g_test_trap_assert_stderr (pattern);

  g_setenv ("LF_TEST_CMD_JSON", "-v", TRUE);   /* not an option */
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*lifelong plugins: *");

  g_unsetenv ("LF_TEST_CMD_JSON");
  g_unsetenv ("LF_TEST_CMD_DIR");
  remove_tmp_dir (dir);
}

/* ---- parameters --------------------------------------------------------------------------- */

static const LfParam table[] = {
  { "lambda", LF_PARAM_FLOAT, "5000", 0, 1e6, NULL, "Weight of the penalty." },
  { "mode", LF_PARAM_STRING, "\"fisher\"", 0, 0, "fisher|si|mas", "Importance estimate." },
  { "buffer", LF_PARAM_INT, "200", 0, 100000, NULL, "Replay buffer size." },
  { "online", LF_PARAM_BOOL, "false", 0, 0, NULL, "Online importances." },
  { "hidden", LF_PARAM_INT_LIST, "[400, 400]", 1, 65536, NULL, "Hidden widths." },
  { "decays", LF_PARAM_FLOAT_LIST, "[0.5, 1]", 0, 1, NULL, "Decays." },
  { "targets", LF_PARAM_STRING_LIST, "[\"q_proj\", \"v_proj\"]", 0, 0, "q_proj|k_proj|v_proj", "Targets." },
  { "extra", LF_PARAM_JSON, "{\"a\": [1, 2]}", 0, 0, NULL, "Free-form." },
  { "seed_offset", LF_PARAM_INT, NULL, 0, 0, NULL, "Required." },
  { NULL, 0, NULL, 0, 0, NULL, NULL }
};

static const char *const skip_name[] = { "name", NULL };

static JsonObject *
object_from (const char *json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = json_from_string (json, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (node));
}

static LfParams *
params_ok (const char *json)
{
  g_autoptr (JsonObject) o = object_from (json);
  g_autoptr (GError) error = NULL;
  LfParams *p = lf_params_from_json (table, o, "strategy", skip_name, &error);
  g_assert_no_error (error);
  g_assert_nonnull (p);
  return p;
}

/* Validation fails with code; the message contains every needle. */
static void
params_fail (const char *json, int code, const char *needle1, const char *needle2)
{
  g_autoptr (JsonObject) o = object_from (json);
  g_autoptr (GError) error = NULL;
  LfParams *p = lf_params_from_json (table, o, "strategy", skip_name, &error);
  g_assert_null (p);
  g_assert_error (error, LF_PARAMS_ERROR, code);
  g_test_message ("%s -> %s", json, error->message);
  assert_contains (error->message, needle1);
  if (needle2 != NULL)
    assert_contains (error->message, needle2);
}

static void
test_params_defaults (void)
{
  g_autoptr (LfParams) p = params_ok ("{\"name\": \"ewc\", \"seed_offset\": 3, \"buffer\": 7}");
  g_assert_cmpfloat (lf_params_get_float (p, "lambda"), ==, 5000);
  g_assert_cmpstr (lf_params_get_string (p, "mode"), ==, "fisher");
  g_assert_cmpint (lf_params_get_int (p, "buffer"), ==, 7);
  g_assert_cmpint (lf_params_get_int (p, "seed_offset"), ==, 3);
  g_assert_false (lf_params_get_bool (p, "online"));
  int64_t n;
  const int64_t *hidden = lf_params_get_int_list (p, "hidden", &n);
  g_assert_cmpint (n, ==, 2);
  g_assert_cmpint (hidden[0], ==, 400);
  g_assert_cmpint (hidden[1], ==, 400);
  const double *decays = lf_params_get_float_list (p, "decays", &n);
  g_assert_cmpint (n, ==, 2);
  g_assert_cmpfloat (decays[0], ==, 0.5);
  g_assert_cmpfloat (decays[1], ==, 1.0);
  const char *const *targets = lf_params_get_string_list (p, "targets", &n);
  g_assert_cmpint (n, ==, 2);
  g_assert_cmpstr (targets[0], ==, "q_proj");
  g_assert_cmpstr (targets[1], ==, "v_proj");
  g_assert_null (targets[2]);
  g_assert_cmpstr (lf_params_get_json (p, "extra"), ==, "{\"a\":[1,2]}");
  g_assert_true (lf_params_is_set (p, "buffer"));
  g_assert_true (lf_params_is_set (p, "seed_offset"));
  g_assert_false (lf_params_is_set (p, "lambda"));
  g_assert_false (lf_params_is_set (p, "hidden"));

  /* no config at all: only a table without required rows validates */
  g_autoptr (GError) error = NULL;
  g_assert_null (lf_params_from_json (table, NULL, "strategy", NULL, &error));
  g_assert_error (error, LF_PARAMS_ERROR, LF_PARAMS_ERROR_REQUIRED);
  g_clear_error (&error);
  g_autoptr (LfParams) none = lf_params_from_json (NULL, NULL, "model", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (none);
  g_autofree char *empty = lf_params_to_json (none);
  g_assert_cmpstr (empty, ==, "{}");
}

static void
test_params_unknown (void)
{
  params_fail ("{\"lamda\": 1, \"seed_offset\": 0}", LF_PARAMS_ERROR_UNKNOWN_KEY,
               "strategy.lamda", "did you mean 'lambda'?");
  params_fail ("{\"seed_ofset\": 0}", LF_PARAMS_ERROR_UNKNOWN_KEY,
               "strategy.seed_ofset", "did you mean 'seed_offset'?");
  params_fail ("{\"mdoe\": \"si\", \"seed_offset\": 0}", LF_PARAMS_ERROR_UNKNOWN_KEY,
               "strategy.mdoe", "did you mean 'mode'?");   /* a swap is one edit */
  params_fail ("{\"temperature\": 2, \"seed_offset\": 0}", LF_PARAMS_ERROR_UNKNOWN_KEY,
               "strategy.temperature", "(valid: lambda, mode, buffer,");
  /* "name" is the host's only when it says so */
  g_autoptr (JsonObject) o = object_from ("{\"name\": \"ewc\"}");
  g_autoptr (GError) error = NULL;
  g_assert_null (lf_params_from_json (NULL, o, "model", NULL, &error));
  g_assert_error (error, LF_PARAMS_ERROR, LF_PARAMS_ERROR_UNKNOWN_KEY);
  assert_contains (error->message, "model.name");
  assert_contains (error->message, "takes no parameters");
  g_clear_error (&error);
  g_autoptr (LfParams) p = lf_params_from_json (NULL, o, "model", skip_name, &error);
  g_assert_no_error (error);
  g_assert_cmpint (p->n, ==, 0);
  /* no prefix: the bare key */
  g_autoptr (JsonObject) typo = object_from ("{\"lamda\": 1}");
  g_assert_null (lf_params_from_json (table, typo, NULL, NULL, &error));
  g_assert_true (g_str_has_prefix (error->message, "lamda: "));
}

static void
test_params_type (void)
{
  params_fail ("{\"lambda\": \"big\", \"seed_offset\": 0}", LF_PARAMS_ERROR_TYPE,
               "strategy.lambda: expected a number", "got \"big\"");
  params_fail ("{\"online\": 1, \"seed_offset\": 0}", LF_PARAMS_ERROR_TYPE,
               "strategy.online: expected true or false", "got 1");
  params_fail ("{\"mode\": 3, \"seed_offset\": 0}", LF_PARAMS_ERROR_TYPE,
               "strategy.mode: expected a string", "got 3");
  params_fail ("{\"hidden\": 400, \"seed_offset\": 0}", LF_PARAMS_ERROR_TYPE,
               "strategy.hidden: expected a list of integers", "got 400");
  params_fail ("{\"targets\": [\"q_proj\", 1], \"seed_offset\": 0}", LF_PARAMS_ERROR_TYPE,
               "strategy.targets[1]: expected a string", "got 1");
  params_fail ("{\"lambda\": null, \"seed_offset\": 0}", LF_PARAMS_ERROR_TYPE,
               "strategy.lambda", "got null");
  params_fail ("{\"buffer\": {\"size\": 3}, \"seed_offset\": 0}", LF_PARAMS_ERROR_TYPE,
               "strategy.buffer: expected an integer", "got {\"size\":3}");
}

/* Integers take JSON integers (and integral floats like 2.0); floats take both. */
static void
test_params_int_float (void)
{
  params_fail ("{\"buffer\": 1.5, \"seed_offset\": 0}", LF_PARAMS_ERROR_TYPE,
               "strategy.buffer: expected an integer", "got 1.5");
  params_fail ("{\"seed_offset\": 1e300}", LF_PARAMS_ERROR_TYPE,
               "strategy.seed_offset: expected an integer", "got 1e+300");
  params_fail ("{\"hidden\": [400, 2.5], \"seed_offset\": 0}", LF_PARAMS_ERROR_TYPE,
               "strategy.hidden[1]: expected an integer", "got 2.5");
  params_fail ("{\"hidden\": [400, true], \"seed_offset\": 0}", LF_PARAMS_ERROR_TYPE,
               "strategy.hidden[1]: expected an integer, got true", "(strategy.hidden is a list of integers)");
  g_autoptr (LfParams) p = params_ok ("{\"buffer\": 2.0, \"lambda\": 3, \"hidden\": [8, 16.0],"
                                      " \"decays\": [1, 0], \"seed_offset\": -4}");
  g_assert_cmpint (lf_params_get_int (p, "buffer"), ==, 2);
  g_assert_cmpfloat (lf_params_get_float (p, "lambda"), ==, 3.0);
  g_assert_cmpint (lf_params_get_int (p, "seed_offset"), ==, -4);
  int64_t n;
  const int64_t *hidden = lf_params_get_int_list (p, "hidden", &n);
  g_assert_cmpint (n, ==, 2);
  g_assert_cmpint (hidden[1], ==, 16);
  const double *decays = lf_params_get_float_list (p, "decays", &n);
  g_assert_cmpfloat (decays[0], ==, 1.0);
}

static void
test_params_range (void)
{
  params_fail ("{\"lambda\": -1, \"seed_offset\": 0}", LF_PARAMS_ERROR_RANGE,
               "strategy.lambda: -1 is out of range", "[0, 1000000]");
  params_fail ("{\"lambda\": 1000000.5, \"seed_offset\": 0}", LF_PARAMS_ERROR_RANGE,
               "strategy.lambda: 1000000.5 is out of range", NULL);
  params_fail ("{\"buffer\": 100001, \"seed_offset\": 0}", LF_PARAMS_ERROR_RANGE,
               "strategy.buffer: 100001 is out of range", "[0, 100000]");
  params_fail ("{\"hidden\": [400, 0], \"seed_offset\": 0}", LF_PARAMS_ERROR_RANGE,
               "strategy.hidden[1]: 0 is out of range", "[1, 65536]");
  params_fail ("{\"decays\": [2.5], \"seed_offset\": 0}", LF_PARAMS_ERROR_RANGE,
               "strategy.decays[0]: 2.5 is out of range", "[0, 1]");
  /* the bounds themselves are in range; no range: anything goes */
  g_autoptr (LfParams) p = params_ok ("{\"lambda\": 1e6, \"buffer\": 0, \"seed_offset\": -9000000000}");
  g_assert_cmpint (lf_params_get_int (p, "seed_offset"), ==, -9000000000);
}

static void
test_params_choices (void)
{
  params_fail ("{\"mode\": \"fisherr\", \"seed_offset\": 0}", LF_PARAMS_ERROR_CHOICE,
               "strategy.mode: \"fisherr\" is not one of", "fisher, si, mas");
  params_fail ("{\"mode\": \"\", \"seed_offset\": 0}", LF_PARAMS_ERROR_CHOICE,
               "strategy.mode: \"\" is not one of", NULL);
  params_fail ("{\"targets\": [\"q_proj\", \"up_proj\"], \"seed_offset\": 0}", LF_PARAMS_ERROR_CHOICE,
               "strategy.targets[1]: \"up_proj\" is not one of", "q_proj, k_proj, v_proj");
  g_autoptr (LfParams) p = params_ok ("{\"mode\": \"mas\", \"targets\": [\"k_proj\"], \"seed_offset\": 0}");
  g_assert_cmpstr (lf_params_get_string (p, "mode"), ==, "mas");
}

static void
test_params_required (void)
{
  params_fail ("{\"lambda\": 1}", LF_PARAMS_ERROR_REQUIRED,
               "strategy.seed_offset: required parameter missing", "int");
}

static void
test_params_lists (void)
{
  g_autoptr (LfParams) p = params_ok ("{\"hidden\": [], \"decays\": [], \"targets\": [], \"seed_offset\": 0}");
  int64_t n = -1;
  const int64_t *h = lf_params_get_int_list (p, "hidden", &n);
  g_assert_cmpint (n, ==, 0);
  g_assert_nonnull (h);
  const char *const *t = lf_params_get_string_list (p, "targets", &n);
  g_assert_cmpint (n, ==, 0);
  g_assert_nonnull (t);
  g_assert_null (t[0]);
  g_autoptr (LfParams) q = params_ok ("{\"extra\": [null, \"x\", {\"k\": false}], \"seed_offset\": 0}");
  g_assert_cmpstr (lf_params_get_json (q, "extra"), ==, "[null,\"x\",{\"k\":false}]");
}

/* lf_params_to_json gives every resolved value; read back, it validates to
 * the same values and the same text. */
static void
test_params_round_trip (void)
{
  g_autoptr (LfParams) p = params_ok ("{\"lambda\": 0.1, \"mode\": \"si\", \"decays\": [0.3, 1e-7],"
                                      " \"extra\": {\"b\": [true, null]}, \"seed_offset\": 12}");
  g_autofree char *text = lf_params_to_json (p);
  g_test_message ("%s", text);
  assert_contains (text, "\"buffer\":200");
  assert_contains (text, "\"hidden\":[400,400]");
  assert_contains (text, "\"extra\":{\"b\":[true,null]}");
  g_autoptr (LfParams) q = params_ok (text);
  g_autofree char *again = lf_params_to_json (q);
  g_assert_cmpstr (again, ==, text);
  g_assert_true (lf_params_get_float (q, "lambda") == 0.1);
  int64_t n;
  g_assert_true (lf_params_get_float_list (q, "decays", &n)[1] == 1e-7);
  g_assert_cmpstr (lf_params_get_string (q, "mode"), ==, "si");
  /* after a round trip every value counts as given */
  g_assert_true (lf_params_is_set (q, "buffer"));
}

/* Asking for an undeclared name or with the wrong type is the plugin's bug. */
static void
test_params_misuse (void)
{
  g_autoptr (LfParams) p = params_ok ("{\"seed_offset\": 0}");
  g_test_expect_message (NULL, G_LOG_LEVEL_CRITICAL, "*'lambda' is declared as float, not int*");
  g_assert_cmpint (lf_params_get_int (p, "lambda"), ==, 0);
  g_test_assert_expected_messages ();
  g_test_expect_message (NULL, G_LOG_LEVEL_CRITICAL, "*declares no 'lamda'*");
  g_assert_cmpfloat (lf_params_get_float (p, "lamda"), ==, 0);
  g_test_assert_expected_messages ();
  g_test_expect_message (NULL, G_LOG_LEVEL_CRITICAL, "*'hidden' is declared as int list, not string list*");
  int64_t n = 5;
  g_assert_null (lf_params_get_string_list (p, "hidden", &n));
  g_assert_cmpint (n, ==, 0);
  g_test_assert_expected_messages ();
}

/* Table checks beyond the broken plugins' cases. */
static void
check_table_fails (const LfParam *t, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_assert_false (lf_param_table_check (t, &error));
  g_assert_error (error, LF_PLUGIN_ERROR, LF_PLUGIN_ERROR_PARAMS);
  g_test_message ("%s", error->message);
  assert_contains (error->message, needle);
}

static void
test_params_table (void)
{
  const LfParam reserved[] = { { "name", LF_PARAM_STRING, "\"x\"", 0, 0, NULL, "" }, { NULL, 0, NULL, 0, 0, NULL, NULL } };
  check_table_fails (reserved, "'name' is reserved");
  const LfParam range_on_string[] = { { "act", LF_PARAM_STRING, "\"x\"", 0, 1, NULL, "" }, { NULL, 0, NULL, 0, 0, NULL, NULL } };
  check_table_fails (range_on_string, "'act' is of type string but has a range");
  const LfParam choices_on_int[] = { { "n", LF_PARAM_INT, "1", 0, 0, "1|2", "" }, { NULL, 0, NULL, 0, 0, NULL, NULL } };
  check_table_fails (choices_on_int, "'n' is of type int but has choices");
  const LfParam empty_choice[] = { { "act", LF_PARAM_STRING, "\"a\"", 0, 0, "a||b", "" }, { NULL, 0, NULL, 0, 0, NULL, NULL } };
  check_table_fails (empty_choice, "malformed choices \"a||b\"");
  const LfParam bad_default_choice[] = { { "act", LF_PARAM_STRING, "\"swish\"", 0, 0, "relu|gelu", "" }, { NULL, 0, NULL, 0, 0, NULL, NULL } };
  check_table_fails (bad_default_choice, "\"swish\" is not one of relu, gelu");
  const LfParam empty_default[] = { { "x", LF_PARAM_JSON, "", 0, 0, NULL, "" }, { NULL, 0, NULL, 0, 0, NULL, NULL } };
  check_table_fails (empty_default, "default '' is not JSON");
  const LfParam point_range[] = { { "x", LF_PARAM_FLOAT, "1", 1, 1, NULL, "" }, { NULL, 0, NULL, 0, 0, NULL, NULL } };
  check_table_fails (point_range, "min 1 >= max 1");
  g_autoptr (GError) error = NULL;
  g_assert_true (lf_param_table_check (table, &error));
  g_assert_true (lf_param_table_check (NULL, &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  plugin_dir = g_getenv ("LIFELONG_TEST_PLUGIN_DIR");
  if (plugin_dir == NULL)
    g_error ("LIFELONG_TEST_PLUGIN_DIR is not set (run through meson test)");

  g_test_add_func ("/plugin/good/find", test_good);
  g_test_add_func ("/plugin/good/old-abi", test_old_abi);
  g_test_add_func ("/plugin/good/test-plugin-dir", test_test_plugin_dir);
  g_test_add_func ("/plugin/good/exports", test_exports);
  for (guint i = 0; i < G_N_ELEMENTS (broken_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/plugin/broken/%s", broken_cases[i].name);
      g_test_add_data_func (path, &broken_cases[i], test_broken);
    }
  g_test_add_func ("/plugin/broken/not-elf", test_not_elf);
  g_test_add_func ("/plugin/broken/duplicate-name", test_duplicate_name);
  g_test_add_func ("/plugin/broken/duplicate-alias", test_duplicate_alias);
  g_test_add_func ("/plugin/scan/keeps-going", test_scan_keeps_going);
  g_test_add_func ("/plugin/scan/same-file", test_scan_same_file);
  g_test_add_func ("/plugin/scan/search-path", test_search_path);
  g_test_add_func ("/plugin/listing/json", test_listing_json);
  g_test_add_func ("/plugin/listing/text", test_listing_text);
  g_test_add_func ("/plugin/listing/command", test_cmd);
  g_test_add_func ("/params/defaults", test_params_defaults);
  g_test_add_func ("/params/unknown-key", test_params_unknown);
  g_test_add_func ("/params/type", test_params_type);
  g_test_add_func ("/params/int-float", test_params_int_float);
  g_test_add_func ("/params/range", test_params_range);
  g_test_add_func ("/params/choices", test_params_choices);
  g_test_add_func ("/params/required", test_params_required);
  g_test_add_func ("/params/lists", test_params_lists);
  g_test_add_func ("/params/round-trip", test_params_round_trip);
  g_test_add_func ("/params/misuse", test_params_misuse);
  g_test_add_func ("/params/table", test_params_table);
  return g_test_run ();
}
