/* lifelong tests — helpers to run `lifelong run` from a test (see cli.h). */
#include "cli.h"
#include "../testutil.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static char *dir;
static const char *exe;

void
cli_init (const char *name)
{
  exe = g_getenv ("LIFELONG_EXE");
  if (exe == NULL)
    {
      g_printerr ("LIFELONG_EXE must be set (meson test sets it)\n");
      exit (1);
    }
  g_autofree char *tmpl = g_strdup_printf ("lifelong-%s-XXXXXX", name);
  dir = g_dir_make_tmp (tmpl, NULL);
  g_assert_nonnull (dir);
}

void
cli_cleanup (void)
{
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  if (system (cmd) != 0)
    g_printerr ("could not remove %s\n", dir);
  g_clear_pointer (&dir, g_free);
}

char *
cli_write (const char *name, const char *text)
{
  char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

JsonObject *
cli_run (const char *config_path, const char *out_name, const char *const *extra, char **err)
{
  g_autofree char *out = g_build_filename (dir, out_name, NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  const char *base[] = { exe, "run", config_path, "--out", out, "--quiet" };
  for (guint i = 0; i < G_N_ELEMENTS (base); i++)
    g_ptr_array_add (argv, (gpointer) base[i]);
  for (int i = 0; extra && extra[i]; i++)
    g_ptr_array_add (argv, (gpointer) extra[i]);
  g_ptr_array_add (argv, NULL);
  g_autofree char *serr = NULL;
  if (tu_spawn ((const char *const *) argv->pdata, NULL, NULL, &serr) != 0)
    {
      if (err)
        *err = g_steal_pointer (&serr);
      else
        g_printerr ("lifelong run %s failed: %s", config_path, serr);
      return NULL;
    }
  return tu_load_json (out);
}

double
cli_matrix (JsonObject *res, guint i, guint j)
{
  JsonArray *m = json_object_get_array_member (res, "matrix");
  return json_array_get_double_element (json_array_get_array_element (m, i), j);
}

double
cli_metric (JsonObject *res, const char *key)
{
  JsonObject *m = json_object_get_object_member (res, "metrics");
  JsonNode *n = json_object_get_member (m, key);
  return n && !JSON_NODE_HOLDS_NULL (n) ? json_node_get_double (n) : NAN;
}

double
cli_strategy_figure (JsonObject *res, const char *key)
{
  JsonObject *s = json_object_get_object_member (res, "strategy");
  JsonNode *n = s ? json_object_get_member (s, key) : NULL;
  return n && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_double (n) : NAN;
}

JsonObject *
cli_run_text (const char *name, const char *text)
{
  g_autofree char *cfg_name = g_strconcat (name, ".json", NULL);
  g_autofree char *out_name = g_strconcat (name, ".result.json", NULL);
  g_autofree char *cfg = cli_write (cfg_name, text);
  g_autofree char *err = NULL;
  JsonObject *res = cli_run (cfg, out_name, NULL, &err);
  if (res == NULL)
    g_printerr ("%s: %s", name, err);
  g_assert_nonnull (res);
  return res;
}

char *
cli_member_json (JsonObject *o, const char *key)
{
  return json_to_string (json_object_get_member (o, key), FALSE);
}

JsonObject *
cli_run_ok (const char *cfg, const char *out, const char *const *extra)
{
  g_autofree char *err = NULL;
  JsonObject *res = cli_run (cfg, out, extra, &err);
  if (res == NULL)
    g_printerr ("%s: %s", cfg, err);
  g_assert_nonnull (res);
  return res;
}

void
cli_check_resume (const char *cfg, const char *tag, JsonObject *whole)
{
  g_autofree char *out = g_strdup_printf ("%s-resumed.json", tag);
  g_setenv ("LIFELONG_TEST_ABORT_AFTER_EXPERIENCE", "0", TRUE);
  g_autofree char *err = NULL;
  JsonObject *killed = cli_run (cfg, out, NULL, &err);
  g_unsetenv ("LIFELONG_TEST_ABORT_AFTER_EXPERIENCE");
  g_assert_null (killed);
  const char *resume[] = { "--resume", NULL };
  g_autoptr (JsonObject) res = cli_run_ok (cfg, out, resume);
  g_autofree char *m1 = json_to_string (json_object_get_member (whole, "matrix"), FALSE);
  g_autofree char *m2 = json_to_string (json_object_get_member (res, "matrix"), FALSE);
  g_assert_cmpstr (m1, ==, m2);
  g_autofree char *s1 = json_to_string (json_object_get_member (whole, "strategy"), FALSE);
  g_autofree char *s2 = json_to_string (json_object_get_member (res, "strategy"), FALSE);
  g_assert_cmpstr (s1, ==, s2);
}
