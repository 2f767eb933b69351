/* lifelong tests — ABI 1.0 compatibility: the strategy tests/abi-1.0/probe.c,
 * compiled against the frozen 1.0 headers only, loads in the current host
 * and runs through the current `lifelong run`: every hook with sensible
 * data, its parameters validated and filled in, its figures in the result,
 * and a checkpoint that resumes to the same numbers. */
#include "testutil.h"
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/wait.h>

static char *dir;
static const char *exe, *probe_dir;

/* 6 classes in 3 experiences of 2; 50 training samples per class. */
static const char config_text[] =
  "{\"model\": {\"name\": \"mlp\", \"hidden\": [32]},"
  " \"strategy\": {\"name\": \"%s\"},"
  " \"dataset\": {\"name\": \"synthetic\", \"classes\": 6, \"dim\": 16, \"train_per_class\": 50,"
  "               \"test_per_class\": 20},"
  " \"scenario\": {\"type\": \"class-incremental\", \"experiences\": 3},"
  " \"train\": {\"epochs\": 2, \"batch_size\": 16, \"lr\": 0.01, \"reset_optimizer\": false},"
  " \"seed\": 2}";

static char *
write_config (const char *file, const char *strategy)
{
  char *path = g_build_filename (dir, file, NULL);
  g_autofree char *text = g_strdup_printf (config_text, strategy);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

/* Runs `lifelong ARGS... --plugin-path PROBE_DIR` with env_name=env_value
 * (when not NULL) added to the environment; returns the exit status,
 * stdout and stderr in *out and *err. */
static int
run_cli (const char *env_name, const char *env_value, char **out, char **err, ...)
{
  const char *tail[] = { "--plugin-path", probe_dir, NULL };
  const char *env[] = { env_name, env_value, NULL };
  va_list ap;
  va_start (ap, err);
  int status = tu_spawn_va (exe, ap, tail, env_name ? env : NULL, out, err);
  va_end (ap);
  return status;
}


static double
figure (JsonObject *res, const char *key)
{
  JsonObject *s = json_object_get_object_member (res, "strategy");
  g_assert_true (json_object_has_member (s, key));
  return json_object_get_double_member (s, key);
}

/* The host loads it: ABI 1.0, from the probe's folder, no error. */
static void
test_loads (void)
{
  g_autofree char *out = NULL, *err = NULL;
  int status = run_cli (NULL, NULL, &out, &err, "plugins", NULL);
  g_assert_true (status == 0);
  g_autofree char *file = g_build_filename (probe_dir, "abi10-probe.so", NULL);
  g_autofree char *line = g_strdup_printf ("file: %s (ABI 1.0)", file);
  g_assert_nonnull (strstr (out, "strategy abi10-probe 1.0.0"));
  g_assert_nonnull (strstr (out, line));
  if (strstr (err, file) != NULL)
    g_error ("the host refused the ABI 1.0 probe:\n%s", err);
}

static void
check_probe_result (JsonObject *res)
{
  g_assert_cmpstr (json_object_get_string_member (res, "status"), ==, "ok");
  JsonArray *m = json_object_get_array_member (res, "matrix");
  g_assert_cmpuint (json_array_get_length (m), ==, 3);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpuint (json_array_get_length (json_array_get_array_element (m, i)), ==, 3);
  /* learned each experience when it came */
  for (guint i = 0; i < 3; i++)
    g_assert_cmpfloat (json_array_get_double_element (json_array_get_array_element (m, i), i), >, 0.5);
  JsonObject *v = json_object_get_object_member (json_object_get_object_member (res, "versions"), "plugins");
  g_assert_cmpstr (json_object_get_string_member (v, "abi10-probe"), ==, "1.0.0");
  /* the 1.0 parameter table: validated, defaults filled in */
  JsonObject *c = json_object_get_object_member (json_object_get_object_member (res, "config"), "strategy");
  g_assert_cmpfloat (json_object_get_double_member (c, "strength"), ==, 0.5);
  g_assert_cmpint (json_object_get_int_member (c, "replay"), ==, 8);
  g_assert_true (json_object_get_boolean_member (c, "predict"));
  g_assert_cmpstr (json_object_get_string_member (c, "mode"), ==, "pull");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (c, "tags")), ==, 2);
  /* every hook ran, with the data the 1.0 structs describe */
  g_assert_cmpfloat (figure (res, "created_T"), ==, 3);
  g_assert_cmpfloat (figure (res, "experiences"), ==, 3);
  g_assert_cmpfloat (figure (res, "selected"), ==, 300);         /* 3 x 2 classes x 50 */
  g_assert_cmpfloat (figure (res, "steps"), ==, 3 * 2 * 7);       /* ceil (100 / 16) = 7 steps per epoch */
  g_assert_cmpfloat (figure (res, "replayed"), ==, 2 * 2 * 7 * 8); /* experiences 1 and 2, 8 per batch */
  g_assert_cmpfloat (figure (res, "buffer"), ==, 200);
  g_assert_cmpfloat (figure (res, "predicted"), >, 0);
  g_assert_cmpfloat (figure (res, "grad_norm_sq_sum"), >, 0);
  g_assert_cmpfloat (figure (res, "penalty_last"), >, 0);
  JsonObject *abi = json_object_get_object_member (json_object_get_object_member (res, "strategy"), "abi");
  g_assert_cmpint (json_object_get_int_member (abi, "major"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (abi, "minor"), ==, 0);
  JsonObject *mem = json_object_get_object_member (res, "memory_bytes");
  g_assert_cmpint (json_object_get_int_member (mem, "strategy"), >, 0);
}

/* It runs through the current `lifelong run`, by name and by alias. */
static void
test_run (void)
{
  const char *names[] = { "abi10-probe", "abi-1-0-probe" };
  for (guint k = 0; k < G_N_ELEMENTS (names); k++)
    {
      g_autofree char *file = g_strdup_printf ("run-%u.json", k);
      g_autofree char *res_file = g_strdup_printf ("result-%u.json", k);
      g_autofree char *cfg = write_config (file, names[k]);
      g_autofree char *out = g_build_filename (dir, res_file, NULL);
      g_autofree char *err = NULL;
      int status = run_cli (NULL, NULL, NULL, &err, "run", cfg, "--out", out, "--quiet", NULL);
      if (!status == 0)
        g_error ("lifelong run of the ABI 1.0 probe failed:\n%s", err);
      g_autoptr (JsonObject) res = tu_load_json (out);
      check_probe_result (res);
    }
}

/* save and load, as 1.0 defined them: a run killed after its second
 * experience resumes to the numbers of the run that never stopped. */
static void
test_resume (void)
{
  g_autofree char *cfg = write_config ("resume.json", "abi10-probe");
  g_autofree char *whole = g_build_filename (dir, "whole.json", NULL);
  g_autofree char *out = g_build_filename (dir, "resumed.json", NULL);
  g_autofree char *e0 = NULL, *e1 = NULL, *e2 = NULL;
  int status = run_cli (NULL, NULL, NULL, &e0, "run", cfg, "--out", whole, "--quiet", NULL);
  g_assert_true (status == 0);
  status = run_cli ("LIFELONG_TEST_ABORT_AFTER_EXPERIENCE", "1", NULL, &e1, "run", cfg, "--out", out, "--quiet",
                    NULL);
  g_assert_cmpint (status, !=, 0);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  status = run_cli (NULL, NULL, NULL, &e2, "run", cfg, "--out", out, "--quiet", "--resume", NULL);
  if (!status == 0)
    g_error ("resuming the ABI 1.0 probe failed:\n%s", e2);
  g_autoptr (JsonObject) a = tu_load_json (whole), b = tu_load_json (out);
  check_probe_result (b);
  const char *same[] = { "matrix", "strategy" };
  for (guint k = 0; k < G_N_ELEMENTS (same); k++)
    {
      g_autofree char *x = json_to_string (json_object_get_member (a, same[k]), FALSE);
      g_autofree char *y = json_to_string (json_object_get_member (b, same[k]), FALSE);
      g_assert_cmpstr (x, ==, y);
    }
}

static void
remove_dir (const char *path)
{
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  for (const char *n; d != NULL && (n = g_dir_read_name (d)) != NULL;)
    {
      g_autofree char *f = g_build_filename (path, n, NULL);
      g_unlink (f);
    }
  g_rmdir (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  exe = g_getenv ("LIFELONG_EXE");
  probe_dir = g_getenv ("LIFELONG_ABI10_DIR");
  if (exe == NULL || probe_dir == NULL)
    {
      g_printerr ("LIFELONG_EXE and LIFELONG_ABI10_DIR must be set (meson test does)\n");
      return 1;
    }
  dir = g_dir_make_tmp ("lifelong-abi-compat-XXXXXX", NULL);
  g_test_add_func ("/abi-compat/1.0/loads", test_loads);
  g_test_add_func ("/abi-compat/1.0/run", test_run);
  g_test_add_func ("/abi-compat/1.0/resume", test_resume);
  int rc = g_test_run ();
  remove_dir (dir);
  g_free (dir);
  return rc;
}
