/* lifelong tests — `lifelong run` end to end on the synthetic dataset: the
 * result file, the hook order, identical numbers at 1 and 2 threads, the
 * scenario types, and a clear error with no result file for each kind of
 * bad input. */
#include "testutil.h"
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char *dir;
static const char *exe, *recorder_dir;

static const char base_config[] =
  "{\"model\": {\"name\": \"mlp\", \"hidden\": [32]},"
  " \"strategy\": {\"name\": \"naive\"},"
  " \"dataset\": {\"name\": \"synthetic\", \"classes\": 4, \"dim\": 16, \"train_per_class\": 100,"
  "               \"test_per_class\": 50},"
  " \"scenario\": {\"type\": \"class-incremental\", \"experiences\": 2},"
  " \"train\": {\"epochs\": 10, \"batch_size\": 32, \"lr\": 0.03},"
  " \"seed\": 0}";

static char *
write_config (const char *name, const char *text)
{
  char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

/* Runs `lifelong ARGS...`; returns the exit status, stderr in *err. */
static int
run_cli (char **err, ...)
{
  va_list ap;
  va_start (ap, err);
  int status = tu_spawn_va (exe, ap, NULL, NULL, NULL, err);
  va_end (ap);
  return status;
}


static double
matrix_at (JsonObject *res, guint i, guint j)
{
  JsonArray *m = json_object_get_array_member (res, "matrix");
  return json_array_get_double_element (json_array_get_array_element (m, i), j);
}

static void
test_naive_result (void)
{
  g_autofree char *cfg = write_config ("naive.json", base_config);
  g_autofree char *out = g_build_filename (dir, "naive-result.json", NULL);
  g_autofree char *err = NULL;
  int rc = run_cli (&err, "run", cfg, "--out", out, "--quiet", NULL);
  if (rc != 0)
    g_printerr ("%s", err);
  g_assert_cmpint (rc, ==, 0);
  g_autoptr (JsonObject) res = tu_load_json (out);
  g_assert_cmpstr (json_object_get_string_member (res, "status"), ==, "ok");
  g_assert_cmpint (json_object_get_int_member (res, "schema_version"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (res, "matrix_kind"), ==, "accuracy");
  JsonArray *m = json_object_get_array_member (res, "matrix");
  g_assert_cmpuint (json_array_get_length (m), ==, 2);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (res, "baseline")), ==, 2);
  /* class-incremental naive: learns each experience, then forgets the first */
  g_assert_cmpfloat (matrix_at (res, 0, 0), >, 0.9);
  g_assert_cmpfloat (matrix_at (res, 1, 1), >, 0.9);
  g_assert_cmpfloat (matrix_at (res, 1, 0), <, 0.5);
  JsonObject *met = json_object_get_object_member (res, "metrics");
  double A = json_object_get_double_member (met, "average_accuracy");
  g_assert_cmpfloat (fabs (A - (matrix_at (res, 1, 0) + matrix_at (res, 1, 1)) / 2), <, 1e-12);
  g_assert_cmpfloat (json_object_get_double_member (met, "average_forgetting"), >, 0.4);
  /* the resolved config has defaults filled in */
  JsonObject *c = json_object_get_object_member (res, "config");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (c, "train"), "optimizer"), ==, "adam");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (c, "model"), "activation"), ==, "relu");
  JsonObject *v = json_object_get_object_member (res, "versions");
  g_assert_nonnull (json_object_get_string_member (v, "blis_arch"));
  g_assert_cmpint (json_object_get_int_member (res, "peak_rss_bytes"), >, 0);
  /* the step log sits beside the result */
  g_autofree char *log = g_build_filename (dir, "naive-result.steps.jsonl", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (log, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\"grad_norm\""));
}

static void
test_threads_identical (void)
{
  g_autofree char *cfg = write_config ("threads.json",
    "{\"model\": {\"name\": \"mlp\", \"hidden\": [256, 256]},"
    " \"strategy\": {\"name\": \"naive\"},"
    " \"dataset\": {\"name\": \"synthetic\", \"classes\": 4, \"dim\": 200, \"train_per_class\": 300},"
    " \"scenario\": {\"type\": \"class-incremental\", \"experiences\": 2},"
    " \"train\": {\"epochs\": 1, \"batch_size\": 256, \"clip\": 1.0, \"optimizer\": \"adamw\"}, \"seed\": 3}");
  g_autofree char *o1 = g_build_filename (dir, "t1.json", NULL), *o2 = g_build_filename (dir, "t2.json", NULL);
  g_autofree char *e1 = NULL, *e2 = NULL;
  g_assert_cmpint (run_cli (&e1, "run", cfg, "--out", o1, "--threads", "1", "--quiet", NULL), ==, 0);
  g_assert_cmpint (run_cli (&e2, "run", cfg, "--out", o2, "--threads", "2", "--quiet", NULL), ==, 0);
  g_autoptr (JsonObject) r1 = tu_load_json (o1), r2 = tu_load_json (o2);
  g_autofree char *m1 = json_to_string (json_object_get_member (r1, "matrix"), FALSE);
  g_autofree char *m2 = json_to_string (json_object_get_member (r2, "matrix"), FALSE);
  g_assert_cmpstr (m1, ==, m2);
  /* and the step logs' losses too */
  g_autofree char *l1 = g_build_filename (dir, "t1.steps.jsonl", NULL), *l2 = g_build_filename (dir, "t2.steps.jsonl", NULL);
  g_autofree char *s1 = NULL, *s2 = NULL;
  g_assert_true (g_file_get_contents (l1, &s1, NULL, NULL));
  g_assert_true (g_file_get_contents (l2, &s2, NULL, NULL));
  g_assert_cmpstr (s1, ==, s2);
}

static void
test_hook_order (void)
{
  g_autofree char *hooks = g_build_filename (dir, "hooks.txt", NULL);
  g_autofree char *cfg_text = g_strdup_printf (
    "{\"model\": {\"name\": \"mlp\", \"hidden\": [8]},"
    " \"strategy\": {\"name\": \"recorder\", \"file\": \"%s\"},"
    " \"dataset\": {\"name\": \"synthetic\", \"classes\": 4, \"dim\": 4, \"train_per_class\": 10,"
    "               \"test_per_class\": 5},"
    " \"scenario\": {\"experiences\": 2},"
    " \"train\": {\"epochs\": 1, \"batch_size\": 16, \"eval_batch_size\": 100}}", hooks);
  g_autofree char *cfg = write_config ("hooks.json", cfg_text);
  g_autofree char *out = g_build_filename (dir, "hooks-result.json", NULL);
  g_autofree char *err = NULL;
  int rc = run_cli (&err, "run", cfg, "--out", out, "--quiet", "--plugin-path", recorder_dir, NULL);
  if (rc != 0)
    g_printerr ("%s", err);
  g_assert_cmpint (rc, ==, 0);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (hooks, &text, NULL, NULL));
  /* 20 samples per experience in batches of 16: 2 steps; the test split of
   * each experience (10 samples) is one evaluation batch: 2 predicts. */
  const char *step = "before_batch\nforward\nloss\nafter_backward\nafter_step\n";
  const char *exp = "before_experience\nselect_training\n%s%safter_experience\npredict\npredict\n";
  g_autofree char *one = g_strdup_printf (exp, step, step);
  g_autofree char *expected = g_strconcat ("create\n", one, one, "report\nmemory_bytes\ndestroy\n", NULL);
  g_assert_cmpstr (text, ==, expected);
  g_autoptr (JsonObject) res = tu_load_json (out);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (res, "strategy"), "recorded"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (res, "memory_bytes"), "strategy"), ==, 123);
}

static void
test_scenarios (void)
{
  struct { const char *strategy, *scenario; int rows; int width; } cases[] = {
    { "joint", "{\"type\": \"class-incremental\", \"experiences\": 2}", 1, 2 },
    { "cumulative", "{\"type\": \"class-incremental\", \"experiences\": 2}", 2, 2 },
    { "naive", "{\"type\": \"task-incremental\", \"experiences\": 2}", 2, 2 },
    { "naive", "{\"type\": \"domain-incremental\", \"experiences\": 2}", 2, 2 },
    { "naive", "{\"type\": \"domain-incremental\", \"domains\": \"permutation\", \"experiences\": 3}", 3, 3 },
    { "naive", "{\"type\": \"class-incremental\", \"experiences\": 2, \"validation_fraction\": 0.2}", 2, 2 },
  };
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autofree char *text = g_strdup_printf (
        "{\"model\": {\"name\": \"mlp\", \"hidden\": [32]}, \"strategy\": {\"name\": \"%s\"},"
        " \"dataset\": {\"name\": \"synthetic\", \"classes\": 4, \"dim\": 16, \"train_per_class\": 100},"
        " \"scenario\": %s, \"train\": {\"epochs\": 2, \"batch_size\": 32, \"lr\": 0.01}}",
        cases[k].strategy, cases[k].scenario);
      g_autofree char *name = g_strdup_printf ("scen%u.json", k), *oname = g_strdup_printf ("scen%u-out.json", k);
      g_autofree char *cfg = write_config (name, text);
      g_autofree char *out = g_build_filename (dir, oname, NULL);
      g_autofree char *err = NULL;
      int rc = run_cli (&err, "run", cfg, "--out", out, "--quiet", NULL);
      if (rc != 0)
        g_printerr ("case %u: %s", k, err);
      g_assert_cmpint (rc, ==, 0);
      g_autoptr (JsonObject) res = tu_load_json (out);
      JsonArray *m = json_object_get_array_member (res, "matrix");
      g_assert_cmpuint (json_array_get_length (m), ==, (guint) cases[k].rows);
      g_assert_cmpuint (json_array_get_length (json_array_get_array_element (m, 0)), ==, (guint) cases[k].width);
      /* every scenario learns something on its last experience */
      g_assert_cmpfloat (matrix_at (res, (guint) cases[k].rows - 1, (guint) cases[k].width - 1), >, 0.6);
    }
}

static int
expect_failure_run (char **err, const char *const *extra, ...)
{
  va_list ap;
  va_start (ap, extra);
  int status = tu_spawn_va (exe, ap, extra, NULL, NULL, err);
  va_end (ap);
  return status;
}

static void
expect_failure (const char *name, const char *config_text, const char *const *extra, const char *needle)
{
  g_autofree char *cfg = write_config (name, config_text);
  g_autofree char *oname = g_strconcat (name, ".result.json", NULL);
  g_autofree char *out = g_build_filename (dir, oname, NULL);
  g_autofree char *err = NULL;
  int status = expect_failure_run (&err, extra, "run", cfg, "--out", out, "--quiet", "--plugin-path", recorder_dir,
                                   NULL);
  g_assert_cmpint (status, !=, 0);
  g_assert_cmpint (status, <, 128);   /* an exit, not a crash */
  if (strstr (err, needle) == NULL)
    g_printerr ("%s: expected \"%s\" in: %s", name, needle, err);
  g_assert_nonnull (strstr (err, needle));
  /* one line, and no result file */
  g_assert_cmpint ((int) (strchr (err, '\n') - err + 1), ==, (int) strlen (err));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

static char *
with (const char *from, const char *to)
{
  /* base_config with one substring replaced */
  const char *at = strstr (base_config, from);
  g_assert_nonnull (at);
  return g_strdup_printf ("%.*s%s%s", (int) (at - base_config), base_config, to, at + strlen (from));
}

static void
test_bad_input (void)
{
  expect_failure ("malformed", "{\"model\": {\"name\": \"mlp\",,}}", NULL, "malformed:1:");
  g_autofree char *a = with ("\"seed\": 0", "\"sead\": 0");
  expect_failure ("topkey", a, NULL, "unknown key \"sead\" (did you mean \"seed\"?)");
  g_autofree char *b = with ("\"hidden\": [32]", "\"hiden\": [32]");
  expect_failure ("modelkey", b, NULL, "model.hiden");
  g_autofree char *c = with ("\"epochs\": 10", "\"epochs\": \"three\"");
  expect_failure ("type", c, NULL, "train.epochs");
  g_autofree char *d = with ("\"lr\": 0.03", "\"lr\": -1");
  expect_failure ("range", d, NULL, "train.lr");
  g_autofree char *e = with ("\"name\": \"naive\"", "\"name\": \"naiv\"");
  expect_failure ("plugin", e, NULL, "did you mean \"naive\"");
  g_autofree char *f = with ("\"name\": \"synthetic\", \"classes\": 4, \"dim\": 16, \"train_per_class\": 100,"
                             "               \"test_per_class\": 50",
                             "\"name\": \"idx\", \"path\": \"/nonexistent/fmnist\"");
  expect_failure ("nodata", f, NULL, "/nonexistent/fmnist");
  g_autofree char *g = with ("\"name\": \"naive\"", "\"name\": \"task-only\"");
  expect_failure ("needs-tasks", g, NULL, "needs task ids");
  g_autofree char *h = with ("\"experiences\": 2", "\"experiences\": 9");
  expect_failure ("too-many-exps", h, NULL, "scenario.experiences");
  const char *set[] = { "--set", "train.batch_size=0", NULL };
  expect_failure ("set-range", base_config, set, "train.batch_size");
  const char *badout[] = { "--out", "/nonexistent-dir/r.json", NULL };
  expect_failure ("badout", base_config, badout, "/nonexistent-dir");
}

static void
test_corrupt_idx (void)
{
  /* a truncated IDX image file in an otherwise fine directory */
  g_autofree char *d = g_build_filename (dir, "idx", NULL);
  g_mkdir_with_parents (d, 0755);
  static const uint8_t img[] = { 0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5 };
  static const uint8_t lab[] = { 0, 0, 8, 1, 0, 0, 0, 2, 0, 1 };
  const char *names[] = { "train-images-idx3-ubyte", "t10k-images-idx3-ubyte",
                          "train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte" };
  for (int i = 0; i < 4; i++)
    {
      g_autofree char *p = g_build_filename (d, names[i], NULL);
      g_assert_true (g_file_set_contents (p, (const char *) (i < 2 ? img : lab), i < 2 ? sizeof img : sizeof lab, NULL));
    }
  g_autofree char *text = g_strdup_printf (
    "{\"model\": {\"name\": \"mlp\"}, \"strategy\": {\"name\": \"naive\"},"
    " \"dataset\": {\"name\": \"fashion-mnist\", \"path\": \"%s\"}, \"scenario\": {\"experiences\": 1}}", d);
  expect_failure ("corrupt-idx", text, NULL, "train-images-idx3-ubyte: truncated");
}

/* Spawns lifelong with an extra environment variable; returns the exit
 * status (128 + the signal when killed). */
static int
spawn_env (const char *var, const char *value, char **err, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) exe);
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  const char *env[] = { var, value, NULL };
  return tu_spawn ((const char *const *) argv->pdata, env, NULL, err);
}

static void
test_resume (void)
{
  const char *text =
    "{\"model\": {\"name\": \"mlp\", \"hidden\": [32]}, \"strategy\": {\"name\": \"naive\"},"
    " \"dataset\": {\"name\": \"synthetic\", \"classes\": 6, \"dim\": 16, \"train_per_class\": 50},"
    " \"scenario\": {\"experiences\": 3}, \"train\": {\"epochs\": 2, \"batch_size\": 16,"
    " \"reset_optimizer\": false}, \"seed\": 5}";
  g_autofree char *cfg = write_config ("resume.json", text);
  g_autofree char *whole = g_build_filename (dir, "whole.json", NULL);
  g_autofree char *out = g_build_filename (dir, "resumed.json", NULL);
  g_autofree char *ckpt = g_build_filename (dir, "resumed.ckpt.safetensors", NULL);
  g_autofree char *e0 = NULL;
  g_assert_cmpint (run_cli (&e0, "run", cfg, "--out", whole, "--quiet", NULL), ==, 0);

  /* crash right after the checkpoint of experience 2 (index 1) */
  const char *args[] = { "run", cfg, "--out", out, "--quiet", NULL };
  g_autofree char *e1 = NULL;
  int status = spawn_env ("LIFELONG_TEST_ABORT_AFTER_EXPERIENCE", "1", &e1, args);
  g_assert_cmpint (status, !=, 0);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (ckpt, G_FILE_TEST_EXISTS));

  /* a corrupt checkpoint is refused, naming the file */
  g_autofree char *good = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (ckpt, &good, &len, NULL));
  g_assert_true (g_file_set_contents (ckpt, good, (gssize) (len - 100), NULL));
  g_autofree char *e2 = NULL;
  g_assert_cmpint (run_cli (&e2, "run", cfg, "--out", out, "--quiet", "--resume", NULL), !=, 0);
  g_assert_nonnull (strstr (e2, ckpt));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_set_contents (ckpt, good, (gssize) len, NULL));

  /* another config does not resume from it */
  g_autofree char *e3 = NULL;
  g_assert_cmpint (run_cli (&e3, "run", cfg, "--out", out, "--quiet", "--resume", "--set", "seed=6", NULL), !=, 0);
  g_assert_nonnull (strstr (e3, "another config"));

  /* resumed: the same numbers as the run that never stopped */
  g_autofree char *e4 = NULL;
  int rc = run_cli (&e4, "run", cfg, "--out", out, "--quiet", "--resume", NULL);
  if (rc != 0)
    g_printerr ("%s", e4);
  g_assert_cmpint (rc, ==, 0);
  g_autoptr (JsonObject) a = tu_load_json (whole), b = tu_load_json (out);
  g_autofree char *ma = json_to_string (json_object_get_member (a, "matrix"), FALSE);
  g_autofree char *mb = json_to_string (json_object_get_member (b, "matrix"), FALSE);
  g_assert_cmpstr (ma, ==, mb);
  g_autofree char *ba = json_to_string (json_object_get_member (a, "baseline"), FALSE);
  g_autofree char *bb = json_to_string (json_object_get_member (b, "baseline"), FALSE);
  g_assert_cmpstr (ba, ==, bb);
  g_assert_false (g_file_test (ckpt, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  exe = g_getenv ("LIFELONG_EXE");
  recorder_dir = g_getenv ("LIFELONG_RECORDER_DIR");
  if (exe == NULL || recorder_dir == NULL)
    {
      g_printerr ("LIFELONG_EXE and LIFELONG_RECORDER_DIR must be set (meson test sets them)\n");
      return 1;
    }
  dir = g_dir_make_tmp ("lifelong-run-XXXXXX", NULL);
  g_test_add_func ("/run/naive-result", test_naive_result);
  g_test_add_func ("/run/threads-identical", test_threads_identical);
  g_test_add_func ("/run/hook-order", test_hook_order);
  g_test_add_func ("/run/scenarios", test_scenarios);
  g_test_add_func ("/run/bad-input", test_bad_input);
  g_test_add_func ("/run/corrupt-idx", test_corrupt_idx);
  g_test_add_func ("/run/resume", test_resume);
  int rc = g_test_run ();
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  if (system (cmd) != 0)
    g_printerr ("could not remove %s\n", dir);
  return rc;
}
