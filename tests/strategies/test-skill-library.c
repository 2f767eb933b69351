/* lifelong tests — the skill library (docs/open-environments.md) and the
 * scenario's schedule that makes tasks recur, on split Fashion-MNIST with a
 * small MLP:
 *
 *   - a recurring task reuses its skill (similarity 1: the same data) and a
 *     new task grows the library; the figures count it;
 *   - the evaluator keeps a skill exactly when validation improves (every
 *     decision against its two accuracies), and with an impossible min_gain
 *     keeps none;
 *   - a recurring experience keeps its task id (task-incremental: the
 *     multi-head model reads it), bad schedules are refused by name;
 *   - the library survives a checkpoint (a resumed run gives the same
 *     result). */
#include "cli.h"
#include <math.h>
#include <string.h>

static char *
config (const char *name, const char *strategy, const char *scenario)
{
  g_autofree char *text = g_strdup_printf (
    "{\"model\": {\"name\": \"mlp\", \"hidden\": [64]},"
    " \"strategy\": %s,"
    " \"dataset\": {\"name\": \"fashion-mnist\", \"train_limit\": 3000, \"test_limit\": 1000},"
    " \"scenario\": %s,"
    " \"train\": {\"epochs\": 2, \"batch_size\": 64, \"lr\": 0.003},"
    " \"seed\": 0, \"threads\": 1}", strategy, scenario);
  g_autofree char *file = g_strconcat (name, ".json", NULL);
  return cli_write (file, text);
}

static gboolean
have_fmnist (void)
{
  if (g_file_test ("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", G_FILE_TEST_EXISTS)
      || g_file_test ("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte", G_FILE_TEST_EXISTS))
    return TRUE;
  g_test_skip ("Debian's dataset-fashion-mnist is not installed");
  return FALSE;
}

static const char recurring[] = "{\"type\": \"class-incremental\", \"experiences\": 3, \"schedule\": [0, 1, 0, 2]}";

static JsonObject *
record (JsonObject *res, guint e)
{
  JsonArray *a = json_object_get_array_member (json_object_get_object_member (res, "strategy"), "experiences");
  g_assert_cmpuint (json_array_get_length (a), >, e);
  return json_array_get_object_element (a, e);
}

static void
test_reuse_and_grow (void)
{
  if (!have_fmnist ())
    return;
  g_autofree char *cfg = config ("grow", "{\"name\": \"skill-library\"}", recurring);
  g_autoptr (JsonObject) res = cli_run_ok (cfg, "grow.result.json", NULL);
  /* experience 0: the first skill; 1: other classes, a new skill; 2: task 0
   * again, the same data: similarity exactly 1, skill 0 reused; 3: new */
  const char *decision[] = { "new-kept", "new-kept", NULL, "new-kept" };
  const gint64 skill[] = { 0, 1, 0, 2 };
  for (guint e = 0; e < 4; e++)
    {
      JsonObject *r = record (res, e);
      g_assert_cmpint (json_object_get_int_member (r, "skill"), ==, skill[e]);
      if (decision[e])
        g_assert_cmpstr (json_object_get_string_member (r, "decision"), ==, decision[e]);
      if (e == 2)
        {
          g_assert_cmpfloat (json_object_get_double_member (r, "similarity"), ==, 1.0);
          g_assert_true (g_str_has_prefix (json_object_get_string_member (r, "decision"), "reuse-"));
        }
      else if (e > 0)
        g_assert_cmpfloat (json_object_get_double_member (r, "similarity"), <, 0.99);
    }
  g_assert_cmpfloat (cli_strategy_figure (res, "library_size"), ==, 3);
  g_assert_cmpfloat (cli_strategy_figure (res, "reused"), ==, 1);
  g_assert_cmpfloat (cli_strategy_figure (res, "reuse_rate"), ==, 0.25);
  /* task-free prediction routes to the right skill often enough that every
   * task is well above chance among 10 classes at the end */
  for (guint j = 0; j < 4; j++)
    g_assert_cmpfloat (cli_matrix (res, 3, j), >, 0.3);
  cli_check_resume (cfg, "grow", res);
}

static void
test_evaluator (void)
{
  if (!have_fmnist ())
    return;
  g_autofree char *cfg = config ("eval", "{\"name\": \"skill-library\", \"min_gain\": 0.02}", recurring);
  g_autoptr (JsonObject) res = cli_run_ok (cfg, "eval.result.json", NULL);
  guint kept = 0;
  for (guint e = 0; e < 4; e++)
    {
      JsonObject *r = record (res, e);
      double before = json_object_get_double_member (r, "validation_before");
      double after = json_object_get_double_member (r, "validation_after");
      const char *d = json_object_get_string_member (r, "decision");
      gboolean keep = g_str_has_suffix (d, "-kept");
      g_assert_cmpint (keep, ==, after > before + 0.02);
      kept += keep && g_str_has_prefix (d, "new-");
    }
  g_assert_cmpfloat (cli_strategy_figure (res, "library_size"), ==, kept);

  /* a gain no skill can make: nothing is kept, the library stays empty */
  g_autofree char *none = config ("none", "{\"name\": \"skill-library\", \"min_gain\": 1}", recurring);
  g_autoptr (JsonObject) r2 = cli_run_ok (none, "none.result.json", NULL);
  g_assert_cmpfloat (cli_strategy_figure (r2, "library_size"), ==, 0);
  g_assert_cmpfloat (cli_strategy_figure (r2, "rejected"), ==, 4);
}

/* scenario.schedule: a recurring experience keeps its task id, so a
 * task-incremental multi-head model answers it with the head that learned
 * it (accuracy as high as when it was learned), and sample ids stay its own */
static void
test_schedule (void)
{
  if (!have_fmnist ())
    return;
  g_autofree char *text = g_strdup (
    "{\"model\": {\"name\": \"mlp\", \"hidden\": [64], \"heads\": \"multi\"}, \"strategy\": {\"name\": \"naive\"},"
    " \"dataset\": {\"name\": \"fashion-mnist\", \"train_limit\": 3000, \"test_limit\": 1000},"
    " \"scenario\": {\"type\": \"task-incremental\", \"experiences\": 3, \"schedule\": [1, 0, 1]},"
    " \"train\": {\"epochs\": 1, \"batch_size\": 64, \"lr\": 0.003}, \"seed\": 0, \"threads\": 1}");
  g_autofree char *cfg = cli_write ("sched.json", text);
  g_autoptr (JsonObject) res = cli_run_ok (cfg, "sched.result.json", NULL);
  JsonArray *m = json_object_get_array_member (res, "matrix");
  g_assert_cmpuint (json_array_get_length (m), ==, 3);
  /* experiences 0 and 2 are the same task on the same test data: every row
   * scores them alike */
  for (guint i = 0; i < 3; i++)
    g_assert_cmpfloat (cli_matrix (res, i, 0), ==, cli_matrix (res, i, 2));

  const char *bad[][2] = {
    { "[0, 3]", "scenario.schedule[1]: 3 is not an experience (0 .. 2)" },
    { "[-1]", "scenario.schedule" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *t = g_strdup_printf (
        "{\"model\": {\"name\": \"mlp\", \"hidden\": [8]}, \"strategy\": {\"name\": \"naive\"},"
        " \"dataset\": {\"name\": \"fashion-mnist\", \"train_limit\": 300, \"test_limit\": 100},"
        " \"scenario\": {\"type\": \"class-incremental\", \"experiences\": 3, \"schedule\": %s}}", bad[i][0]);
      g_autofree char *name = g_strdup_printf ("bad%u.json", i);
      g_autofree char *c = cli_write (name, t);
      g_autofree char *err = NULL;
      g_autofree char *out = g_strdup_printf ("bad%u.result.json", i);
      JsonObject *r = cli_run (c, out, NULL, &err);
      g_assert_null (r);
      g_assert_nonnull (strstr (err, bad[i][1]));
    }
}

/* the library refuses what it cannot do, by name */
static void
test_refusals (void)
{
  if (!have_fmnist ())
    return;
  g_autofree char *text = g_strdup (
    "{\"model\": {\"name\": \"mlp\", \"hidden\": [8], \"heads\": \"multi\"}, \"strategy\": {\"name\": \"skill-library\"},"
    " \"dataset\": {\"name\": \"fashion-mnist\", \"train_limit\": 300, \"test_limit\": 100},"
    " \"scenario\": {\"type\": \"task-incremental\", \"experiences\": 2}}");
  g_autofree char *cfg = cli_write ("multi.json", text);
  g_autofree char *err = NULL;
  JsonObject *r = cli_run (cfg, "multi.result.json", NULL, &err);
  g_assert_null (r);
  g_assert_nonnull (strstr (err, "single-head"));

  g_autofree char *t2 = config ("thr", "{\"name\": \"skill-library\", \"threshold\": 2}", recurring);
  g_clear_pointer (&err, g_free);
  r = cli_run (t2, "thr.result.json", NULL, &err);
  g_assert_null (r);
  g_assert_nonnull (strstr (err, "threshold"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cli_init ("skill-library");
  g_test_add_func ("/skill-library/reuse-and-grow", test_reuse_and_grow);
  g_test_add_func ("/skill-library/evaluator", test_evaluator);
  g_test_add_func ("/skill-library/refusals", test_refusals);
  g_test_add_func ("/scenario/schedule", test_schedule);
  int rc = g_test_run ();
  cli_cleanup ();
  return rc;
}
