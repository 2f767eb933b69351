/* lifelong tests — `lifelong matrix`: cells from the product of lists,
 * skipped cells with their reason, results named by config hash, a rerun
 * that skips finished cells, crashed cells that resume from their
 * checkpoints, a SIGKILLed matrix that loses nothing, time and memory
 * limits, and a bad matrix file. */
#include "testutil.h"
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;
static const char *exe, *plugin_dir;

/* naive, task-only (needs task ids: skipped in class-incremental) and two
 * named variants of the recorder strategy, x 2 seeds: 8 cells. */
static const char matrix_text[] =
  "{\"base\": {\"dataset\": {\"name\": \"synthetic\", \"classes\": 4, \"dim\": 16, \"train_per_class\": 60},"
  "           \"train\": {\"epochs\": 3, \"batch_size\": 16, \"lr\": 0.03}},"
  " \"models\": [{\"name\": \"mlp\", \"hidden\": [16]}],"
  " \"strategies\": [{\"name\": \"naive\"}, {\"name\": \"task-only\"},"
  "                  {\"name\": \"recorder\", \"variants\": {\"a\": {\"file\": \"%s/a.txt\"},"
  "                                                      \"b\": {\"file\": \"%s/b.txt\"}}}],"
  " \"datasets\": [{\"name\": \"synthetic\"}],"
  " \"scenarios\": [{\"type\": \"class-incremental\", \"experiences\": 2}],"
  " \"seeds\": [0, 1]}";

static char *
path_in (const char *name)
{
  return g_build_filename (dir, name, NULL);
}

static int
run_matrix_file (const char *file, const char *out, const char *envvar, const char *const *extra, char **err)
{
  g_autofree char *mp = path_in (file);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  const char *base[] = { exe, "matrix", mp, "--out", out, "--plugin-path", plugin_dir, "--quiet" };
  for (guint i = 0; i < G_N_ELEMENTS (base); i++)
    g_ptr_array_add (argv, (gpointer) base[i]);
  for (int i = 0; extra && extra[i]; i++)
    g_ptr_array_add (argv, (gpointer) extra[i]);
  g_ptr_array_add (argv, NULL);
  const char *env[] = { envvar, "0", NULL };
  return tu_spawn ((const char *const *) argv->pdata, envvar ? env : NULL, NULL, err);
}

static int
run_matrix (const char *out, const char *envvar, const char *const *extra, char **err)
{
  return run_matrix_file ("matrix.json", out, envvar, extra, err);
}

static JsonObject *
load (const char *path)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) error = NULL;
  if (!json_parser_load_from_file (p, path, &error))
    g_error ("%s: %s", path, error->message);
  return json_object_ref (json_node_get_object (json_parser_get_root (p)));
}

/* id -> status from DIR/index.json; counts by status. */
static JsonArray *
cells_of (const char *out, JsonObject **index)
{
  g_autofree char *ip = g_build_filename (out, "index.json", NULL);
  *index = load (ip);
  return json_object_get_array_member (*index, "cells");
}

static int
count (JsonArray *cells, const char *status)
{
  int n = 0;
  for (guint i = 0; i < json_array_get_length (cells); i++)
    n += g_str_equal (json_object_get_string_member (json_array_get_object_element (cells, i), "status"), status);
  return n;
}

static char *
matrix_of (const char *out, const char *id)
{
  g_autofree char *rp = g_build_filename (out, "cells", id, "result.json", NULL);
  g_autoptr (JsonObject) r = load (rp);
  return json_to_string (json_object_get_member (r, "matrix"), FALSE);
}

static void
test_cells (void)
{
  g_autofree char *out = path_in ("m1");
  g_autofree char *err = NULL;
  int rc = run_matrix (out, NULL, (const char *[]) { "-j", "2", NULL }, &err);
  if (rc != 0)
    g_printerr ("%s", err);
  g_assert_cmpint (rc, ==, 0);
  JsonObject *index;
  JsonArray *cells = cells_of (out, &index);
  /* 4 methods (naive, task-only, recorder/a, recorder/b) x 2 seeds */
  g_assert_cmpuint (json_array_get_length (cells), ==, 8);
  g_assert_cmpint (count (cells, "ok"), ==, 6);
  g_assert_cmpint (count (cells, "skipped"), ==, 2);
  for (guint i = 0; i < json_array_get_length (cells); i++)
    {
      JsonObject *c = json_array_get_object_element (cells, i);
      const char *id = json_object_get_string_member (c, "id");
      g_assert_cmpuint (strlen (id), ==, 16);
      if (g_str_equal (json_object_get_string_member (c, "status"), "skipped"))
        {
          g_assert_cmpstr (json_object_get_string_member (c, "method"), ==, "task-only");
          g_assert_nonnull (strstr (json_object_get_string_member (c, "reason"), "needs task ids"));
        }
      else
        {
          g_autofree char *rp = g_build_filename (out, "cells", id, "result.json", NULL);
          g_assert_true (g_file_test (rp, G_FILE_TEST_IS_REGULAR));
        }
    }
  /* a rerun runs nothing again */
  g_autofree char *some = g_build_filename (out, "cells", json_object_get_string_member (json_array_get_object_element (cells, 0), "id"), "log.txt", NULL);
  GStatBuf before, after;
  gboolean had_log = g_stat (some, &before) == 0;
  g_autofree char *err2 = NULL;
  g_assert_cmpint (run_matrix (out, NULL, NULL, &err2), ==, 0);
  if (had_log)
    {
      g_assert_cmpint (g_stat (some, &after), ==, 0);
      g_assert_cmpint ((gint64) before.st_size, ==, (gint64) after.st_size);
    }
  json_object_unref (index);
}

static void
test_crash_and_resume (void)
{
  g_autofree char *clean = path_in ("m1");   /* from /matrix/cells */
  g_autofree char *out = path_in ("m2");
  /* every cell crashes right after its first checkpoint */
  g_autofree char *err = NULL;
  g_assert_cmpint (run_matrix (out, "LIFELONG_TEST_ABORT_AFTER_EXPERIENCE", NULL, &err), !=, 0);
  JsonObject *index;
  JsonArray *cells = cells_of (out, &index);
  g_assert_cmpint (count (cells, "failed"), ==, 6);
  const char *id = NULL;
  for (guint i = 0; i < json_array_get_length (cells); i++)
    {
      JsonObject *c = json_array_get_object_element (cells, i);
      if (!g_str_equal (json_object_get_string_member (c, "status"), "failed"))
        continue;
      id = json_object_get_string_member (c, "id");
      g_assert_nonnull (strstr (json_object_get_string_member (c, "reason"), "signal 6"));
      g_autofree char *ck = g_build_filename (out, "cells", id, "result.ckpt.safetensors", NULL);
      g_assert_true (g_file_test (ck, G_FILE_TEST_IS_REGULAR));
      g_autofree char *sp = g_build_filename (out, "cells", id, "status.json", NULL);
      g_autoptr (JsonObject) st = load (sp);
      g_assert_cmpint (json_object_get_int_member (st, "signal"), ==, 6);
    }
  g_autofree char *saved_id = g_strdup (id);
  json_object_unref (index);
  /* rerun: they resume from the checkpoints and end with the same numbers */
  g_autofree char *err2 = NULL;
  int rc = run_matrix (out, NULL, NULL, &err2);
  if (rc != 0)
    g_printerr ("%s", err2);
  g_assert_cmpint (rc, ==, 0);
  cells = cells_of (out, &index);
  g_assert_cmpint (count (cells, "ok"), ==, 6);
  g_autofree char *a = matrix_of (clean, saved_id), *b = matrix_of (out, saved_id);
  g_assert_cmpstr (a, ==, b);
  json_object_unref (index);
}

static void
test_sigkill_matrix (void)
{
  g_autofree char *out = path_in ("m3");
  g_autofree char *mp = path_in ("matrix.json");
  const char *argv[] = { exe, "matrix", mp, "--out", out, "--plugin-path", plugin_dir, "--quiet", NULL };
  GPid pid;
  g_assert_true (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL,
                                NULL, NULL, &pid, NULL));
  /* kill it as soon as it has written its index */
  g_autofree char *ip = g_build_filename (out, "index.json", NULL);
  for (int i = 0; i < 2000 && !g_file_test (ip, G_FILE_TEST_EXISTS); i++)
    g_usleep (1000);
  kill (pid, SIGKILL);
  int st;
  waitpid (pid, &st, 0);
  g_usleep (300 * 1000);   /* a cell it had started may still finish on its own */
  /* nothing written is corrupt, and a rerun completes the matrix */
  g_autofree char *err = NULL;
  g_assert_cmpint (run_matrix (out, NULL, NULL, &err), ==, 0);
  JsonObject *index;
  JsonArray *cells = cells_of (out, &index);
  g_assert_cmpint (count (cells, "ok"), ==, 6);
  for (guint i = 0; i < json_array_get_length (cells); i++)
    {
      JsonObject *c = json_array_get_object_element (cells, i);
      if (g_str_equal (json_object_get_string_member (c, "status"), "ok"))
        g_free (matrix_of (out, json_object_get_string_member (c, "id")));
    }
  json_object_unref (index);
}

/* one cell that takes seconds */
static const char slow_matrix[] =
  "{\"base\": {\"dataset\": {\"name\": \"synthetic\", \"classes\": 4, \"dim\": 64, \"train_per_class\": 5000},"
  "           \"train\": {\"epochs\": 50, \"batch_size\": 32}},"
  " \"models\": [{\"name\": \"mlp\", \"hidden\": [256]}], \"strategies\": [{\"name\": \"naive\"}],"
  " \"datasets\": [{\"name\": \"synthetic\"}], \"scenarios\": [{\"experiences\": 2}]}";

static void
test_limits (void)
{
  g_autofree char *mp = path_in ("slow.json");
  g_assert_true (g_file_set_contents (mp, slow_matrix, -1, NULL));
  const char *limits[][2] = { { "--cell-timeout", "0.3" }, { "--cell-memory", "1" } };
  const char *expect[] = { "timeout", "memory" };
  for (int k = 0; k < 2; k++)
    {
      g_autofree char *name = g_strdup_printf ("limit%d", k);
      g_autofree char *out = path_in (name);
      g_autofree char *err = NULL;
      gint64 t0 = g_get_monotonic_time ();
      g_assert_cmpint (run_matrix_file ("slow.json", out, NULL, (const char *[]) { limits[k][0], limits[k][1], NULL },
                                        &err), !=, 0);
      /* killed well before the cell would have finished */
      g_assert_cmpint (g_get_monotonic_time () - t0, <, 20 * G_USEC_PER_SEC);
      JsonObject *index;
      JsonArray *cells = cells_of (out, &index);
      g_assert_cmpint (count (cells, "failed"), ==, 1);
      g_assert_nonnull (strstr (json_object_get_string_member (json_array_get_object_element (cells, 0), "reason"),
                                expect[k]));
      json_object_unref (index);
    }
}

static void
test_bad_matrix (void)
{
  g_autofree char *mp = path_in ("bad.json");
  g_assert_true (g_file_set_contents (mp, "{\"model\": [], \"strategies\": [{\"name\": \"naive\"}]}", -1, NULL));
  g_autofree char *out = path_in ("m6");
  const char *argv[] = { exe, "matrix", mp, "--out", out, NULL };
  g_autofree char *serr = NULL;
  g_assert_cmpint (tu_spawn (argv, NULL, NULL, &serr), !=, 0);
  g_assert_nonnull (strstr (serr, "unknown key \"model\" (did you mean \"models\"?)"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  exe = g_getenv ("LIFELONG_EXE");
  plugin_dir = g_getenv ("LIFELONG_RECORDER_DIR");
  if (exe == NULL || plugin_dir == NULL)
    {
      g_printerr ("LIFELONG_EXE and LIFELONG_RECORDER_DIR must be set (meson test sets them)\n");
      return 1;
    }
  dir = g_dir_make_tmp ("lifelong-matrix-XXXXXX", NULL);
  g_autofree char *mp = path_in ("matrix.json");
  g_autofree char *text = g_strdup_printf (matrix_text, dir, dir);
  g_assert_true (g_file_set_contents (mp, text, -1, NULL));
  g_test_add_func ("/matrix/cells", test_cells);
  g_test_add_func ("/matrix/crash-and-resume", test_crash_and_resume);
  g_test_add_func ("/matrix/sigkill", test_sigkill_matrix);
  g_test_add_func ("/matrix/limits", test_limits);
  g_test_add_func ("/matrix/bad-matrix", test_bad_matrix);
  int rc = g_test_run ();
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  if (system (cmd) != 0)
    g_printerr ("could not remove %s\n", dir);
  return rc;
}
