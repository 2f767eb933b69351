/* lifelong tests — the replay family (er, der, derpp, agem, gdumb, icarl),
 * each run through `lifelong run` on the synthetic dataset and held to its
 * defining property: ER's bounded buffer and its gain over fine-tuning,
 * DER's stored logits, A-GEM's non-negative projected dot product, GDumb's
 * balanced memory, iCaRL's herding and nearest-mean prediction; and every
 * one resumes from a checkpoint to the same numbers. */
#include "cli.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 6 classes in 3 class-incremental experiences of 2 classes: small enough
 * that a run takes a few hundredths of a second. */
static char *
config_text (const char *strategy, const char *scenario)
{
  return g_strdup_printf (
    "{\"model\": {\"name\": \"mlp\", \"hidden\": [32]},"
    " \"strategy\": %s,"
    " \"dataset\": {\"name\": \"synthetic\", \"classes\": 6, \"dim\": 16, \"train_per_class\": 100,"
    "               \"test_per_class\": 50},"
    " \"scenario\": %s,"
    " \"train\": {\"epochs\": 5, \"batch_size\": 32, \"lr\": 0.03},"
    " \"seed\": 0}", strategy, scenario);
}

#define CLASS_IL "{\"type\": \"class-incremental\", \"experiences\": 3}"
#define TASK_IL  "{\"type\": \"task-incremental\", \"experiences\": 3}"

/* Runs the strategy (JSON object text) in the scenario; the result, or a
 * test failure with the run's stderr. */
static JsonObject *
run (const char *tag, const char *strategy, const char *scenario)
{
  g_autofree char *text = config_text (strategy, scenario);
  g_autofree char *cfg_name = g_strdup_printf ("%s.json", tag);
  g_autofree char *out_name = g_strdup_printf ("%s-result.json", tag);
  g_autofree char *cfg = cli_write (cfg_name, text);
  g_autofree char *err = NULL;
  JsonObject *res = cli_run (cfg, out_name, NULL, &err);
  if (res == NULL)
    g_printerr ("lifelong run %s failed: %s", tag, err ? err : "");
  g_assert_nonnull (res);
  g_assert_cmpstr (json_object_get_string_member (res, "status"), ==, "ok");
  return res;
}

static char *
member_text (JsonObject *o, const char *key)
{
  return json_to_string (json_object_get_member (o, key), FALSE);
}

static JsonArray *
figure_array (JsonObject *res, const char *key)
{
  JsonObject *s = json_object_get_object_member (res, "strategy");
  g_assert_true (json_object_has_member (s, key));
  return json_object_get_array_member (s, key);
}

/* The fine-tuning baseline of the class-incremental config (run once). */
static JsonObject *naive_res;

static JsonObject *
naive (void)
{
  if (naive_res == NULL)
    naive_res = run ("naive", "{\"name\": \"naive\"}", CLASS_IL);
  return naive_res;
}

/* ---- ER ------------------------------------------------------------------- */

static void
test_er_buffer_bound (void)
{
  g_autoptr (JsonObject) res = run ("er-bound", "{\"name\": \"er\", \"buffer_size\": 100}", CLASS_IL);
  /* 3 experiences x 200 samples x 5 epochs offered; never more than 100 kept */
  g_assert_cmpfloat (cli_strategy_figure (res, "samples_offered"), ==, 3000);
  g_assert_cmpfloat (cli_strategy_figure (res, "buffer_max_size"), ==, 100);
  g_assert_cmpfloat (cli_strategy_figure (res, "buffer_size"), ==, 100);
  JsonArray *counts = figure_array (res, "buffer_class_counts");
  g_assert_cmpuint (json_array_get_length (counts), ==, 6);
  int64_t sum = 0;
  for (guint c = 0; c < 6; c++)
    {
      /* the reservoir keeps every class of the stream */
      g_assert_cmpint (json_array_get_int_element (counts, c), >, 0);
      sum += json_array_get_int_element (counts, c);
    }
  g_assert_cmpint (sum, ==, 100);
  JsonObject *mem = json_object_get_object_member (res, "memory_bytes");
  g_assert_cmpint (json_object_get_int_member (mem, "strategy"), >=, 100 * 12);

  /* class-balanced admission: the classes differ by at most one sample */
  g_autoptr (JsonObject) bal = run ("er-balanced", "{\"name\": \"er\", \"buffer_size\": 100, \"class_balanced\": true}",
                                    CLASS_IL);
  counts = figure_array (bal, "buffer_class_counts");
  int64_t lo = G_MAXINT64, hi = 0;
  for (guint c = 0; c < 6; c++)
    {
      lo = MIN (lo, json_array_get_int_element (counts, c));
      hi = MAX (hi, json_array_get_int_element (counts, c));
    }
  g_assert_cmpint (hi - lo, <=, 1);
  g_assert_cmpfloat (cli_strategy_figure (bal, "buffer_max_size"), ==, 100);
}

static void
test_er_beats_naive (void)
{
  g_autoptr (JsonObject) res = run ("er", "{\"name\": \"er\", \"buffer_size\": 100}", CLASS_IL);
  JsonObject *nv = naive ();
  double a_er = cli_metric (res, "average_accuracy"), a_nv = cli_metric (nv, "average_accuracy");
  g_test_message ("class-IL average accuracy: er %.3f, naive %.3f; first experience at the end: er %.3f, naive %.3f",
                  a_er, a_nv, cli_matrix (res, 2, 0), cli_matrix (nv, 2, 0));
  g_assert_cmpfloat (a_er, >, a_nv + 0.2);
  /* naive forgets the first experience entirely; replay keeps it */
  g_assert_cmpfloat (cli_matrix (nv, 2, 0), <, 0.1);
  g_assert_cmpfloat (cli_matrix (res, 2, 0), >, 0.8);
  g_assert_cmpfloat (cli_metric (res, "average_forgetting"), <, cli_metric (nv, "average_forgetting") - 0.3);
}

/* ---- DER / DER++ ------------------------------------------------------------ */

static void
test_der_stores_logits (void)
{
  g_autoptr (JsonObject) res = run ("der", "{\"name\": \"der\", \"buffer_size\": 100}", CLASS_IL);
  double mean_abs = cli_strategy_figure (res, "stored_logit_mean_abs");
  g_test_message ("der: mean |stored logit| %.3f, mean logit MSE %.3f, average accuracy %.3f",
                  mean_abs, cli_strategy_figure (res, "logit_mse_mean"), cli_metric (res, "average_accuracy"));
  /* the buffer holds the logits the model gave (an untrained or zero row
   * would be ~0), and the logit term was trained on at every step but the
   * first (the buffer is empty before it) */
  g_assert_cmpfloat (mean_abs, >, 0.5);
  g_assert_cmpfloat (mean_abs, <, 100);
  g_assert_cmpfloat (cli_strategy_figure (res, "replay_steps"), ==, 3 * 5 * 7 - 1);
  g_assert_cmpfloat (cli_strategy_figure (res, "logit_mse_mean"), >, 0);
  g_assert_cmpfloat (cli_strategy_figure (res, "buffer_max_size"), ==, 100);
  g_assert_cmpfloat (cli_metric (res, "average_accuracy"), >, cli_metric (naive (), "average_accuracy") + 0.2);

  /* with alpha = 0 nothing is replayed: DER is fine-tuning, number for number */
  g_autoptr (JsonObject) off = run ("der-off", "{\"name\": \"der\", \"buffer_size\": 100, \"alpha\": 0}", CLASS_IL);
  g_autofree char *m_off = member_text (off, "matrix"), *m_nv = member_text (naive (), "matrix");
  g_assert_cmpstr (m_off, ==, m_nv);
}

static void
test_derpp (void)
{
  g_autoptr (JsonObject) der = run ("der-ref", "{\"name\": \"der\", \"buffer_size\": 100}", CLASS_IL);
  g_autoptr (JsonObject) pp = run ("derpp", "{\"name\": \"derpp\", \"buffer_size\": 100}", CLASS_IL);
  double a_der = cli_metric (der, "average_accuracy"), a_pp = cli_metric (pp, "average_accuracy");
  g_test_message ("class-IL average accuracy: der %.3f, der++ %.3f", a_der, a_pp);
  g_assert_cmpfloat (a_pp, >=, a_der - 0.03);
  g_assert_cmpfloat (a_pp, >, cli_metric (naive (), "average_accuracy") + 0.2);
  g_assert_cmpfloat (cli_strategy_figure (pp, "stored_logit_mean_abs"), >, 0.5);

  /* beta = 0 removes exactly the label term: DER++ is DER */
  g_autoptr (JsonObject) pp0 = run ("derpp-beta0", "{\"name\": \"derpp\", \"buffer_size\": 100, \"beta\": 0}", CLASS_IL);
  g_autofree char *m0 = member_text (pp0, "matrix"), *md = member_text (der, "matrix");
  g_assert_cmpstr (m0, ==, md);
}

/* Task-incremental logits arrive masked (-1e9 outside the task): the stored
 * rows keep the mask, and the logit loss must not see it. */
static void
test_der_task_il (void)
{
  const char *names[] = { "der", "derpp" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *strategy = g_strdup_printf ("{\"name\": \"%s\", \"buffer_size\": 100}", names[i]);
      g_autofree char *tag = g_strdup_printf ("%s-task", names[i]);
      g_autoptr (JsonObject) res = run (tag, strategy, TASK_IL);
      g_assert_cmpfloat (cli_strategy_figure (res, "stored_logit_mean_abs"), >, 0.5);
      g_assert_cmpfloat (cli_strategy_figure (res, "stored_logit_mean_abs"), <, 100);
      g_assert_cmpfloat (cli_strategy_figure (res, "logit_mse_mean"), <, 100);
      g_assert_cmpfloat (cli_metric (res, "average_accuracy"), >, 0.9);
    }
}

/* ---- A-GEM ------------------------------------------------------------------ */

static void
test_agem_projection (void)
{
  g_autoptr (JsonObject) res = run ("agem", "{\"name\": \"agem\", \"memory_size\": 200, \"sample_size\": 64}", CLASS_IL);
  double proj = cli_strategy_figure (res, "projections");
  double after = cli_strategy_figure (res, "min_dot_after_projection");
  double before = cli_strategy_figure (res, "min_dot_before_projection");
  g_test_message ("agem: %.0f projections in %.0f reference steps; g.g_ref before %.3g, after %.3g",
                  proj, cli_strategy_figure (res, "reference_steps"), before, after);
  /* reference gradients from the second experience on: 2 x 5 x 7 steps */
  g_assert_cmpfloat (cli_strategy_figure (res, "reference_steps"), ==, 2 * 5 * 7);
  g_assert_cmpfloat (proj, >=, 1);
  g_assert_cmpfloat (before, <, 0);
  /* the projected gradient never points against the memory's */
  g_assert_cmpfloat (after, >=, -1e-5);
  g_assert_cmpfloat (fabs (after), <, 1e-3 * fabs (before));
  /* the memory: 200 samples split evenly over the 3 experiences */
  g_assert_cmpfloat (cli_strategy_figure (res, "memory_samples"), ==, 200);
  JsonArray *per = figure_array (res, "memory_per_experience");
  g_assert_cmpuint (json_array_get_length (per), ==, 3);
  for (guint k = 0; k < 3; k++)
    g_assert_cmpint (llabs (json_array_get_int_element (per, k) - 200 / 3), <=, 1);
  /* it keeps more of the first experience than fine-tuning does */
  g_assert_cmpfloat (cli_matrix (res, 2, 0), >, cli_matrix (naive (), 2, 0) + 0.2);
}

/* ---- GDumb ------------------------------------------------------------------ */

static void
test_gdumb_balanced (void)
{
  g_autoptr (JsonObject) res = run ("gdumb", "{\"name\": \"gdumb\", \"buffer_size\": 100}", CLASS_IL);
  g_assert_cmpfloat (cli_strategy_figure (res, "buffer_size"), ==, 100);
  g_assert_cmpfloat (cli_strategy_figure (res, "classes_seen"), ==, 6);
  g_assert_cmpfloat (cli_strategy_figure (res, "classes_in_memory"), ==, 6);
  g_assert_cmpfloat (cli_strategy_figure (res, "class_imbalance"), <=, 1);
  JsonArray *counts = figure_array (res, "class_counts");
  int64_t lo = G_MAXINT64, hi = 0, sum = 0;
  for (guint c = 0; c < json_array_get_length (counts); c++)
    {
      int64_t k = json_array_get_int_element (counts, c);
      lo = MIN (lo, k);
      hi = MAX (hi, k);
      sum += k;
    }
  g_assert_cmpint (hi - lo, <=, 1);
  g_assert_cmpint (sum, ==, 100);
  double a = cli_metric (res, "average_accuracy");
  g_assert_cmpfloat (a, >, cli_metric (naive (), "average_accuracy") + 0.2);

  /* the model is retrained from scratch on a balanced memory: the order the
   * classes came in hardly matters */
  g_autoptr (JsonObject) shuf = run ("gdumb-order", "{\"name\": \"gdumb\", \"buffer_size\": 100}",
                                     "{\"type\": \"class-incremental\", \"experiences\": 3, \"order_seed\": 7}");
  double b = cli_metric (shuf, "average_accuracy");
  g_test_message ("gdumb: average accuracy %.3f (natural class order), %.3f (shuffled)", a, b);
  g_assert_cmpfloat (fabs (a - b), <, 0.05);
  g_assert_cmpfloat (cli_strategy_figure (shuf, "class_imbalance"), <=, 1);
}

/* ---- iCaRL ------------------------------------------------------------------ */

static void
test_icarl_herding (void)
{
  g_autoptr (JsonObject) res = run ("icarl-herding", "{\"name\": \"icarl\", \"memory_size\": 100}", CLASS_IL);
  double herd = cli_strategy_figure (res, "herding_mean_error"), rnd = cli_strategy_figure (res, "random_mean_error");
  g_test_message ("icarl: |class mean - exemplar mean| herding %.4f, random subset %.4f", herd, rnd);
  g_assert_cmpfloat (cli_strategy_figure (res, "herded_classes"), ==, 6);
  /* the first exemplar is the sample nearest the class mean */
  g_assert_cmpfloat (cli_strategy_figure (res, "herding_first_is_nearest"), ==, 1);
  g_assert_cmpfloat (cli_strategy_figure (res, "herding_first_gap"), ==, 0);
  /* and the herded set's mean is much closer to the class mean than a
   * random set's of the same size */
  g_assert_cmpfloat (herd, <, 0.5 * rnd);
  /* K = 100 over 6 classes: 16 each, earlier classes cut down to it */
  JsonArray *per = figure_array (res, "exemplars_per_class");
  for (guint c = 0; c < 6; c++)
    g_assert_cmpint (json_array_get_int_element (per, c), ==, 16);
  g_assert_cmpfloat (cli_strategy_figure (res, "exemplars"), <=, 100);
}

static void
test_icarl_nme (void)
{
  g_autoptr (JsonObject) res = run ("icarl", "{\"name\": \"icarl\", \"memory_size\": 200}", CLASS_IL);
  JsonObject *nv = naive ();
  double old_icarl = (cli_matrix (res, 2, 0) + cli_matrix (res, 2, 1)) / 2;
  double old_naive = (cli_matrix (nv, 2, 0) + cli_matrix (nv, 2, 1)) / 2;
  g_test_message ("class-IL accuracy on the old classes at the end: icarl (NME) %.3f, naive %.3f", old_icarl,
                  old_naive);
  /* chance over 6 classes is 1/6 */
  g_assert_cmpfloat (old_icarl, >, 0.8);
  g_assert_cmpfloat (old_icarl, >, old_naive + 0.3);
  g_assert_cmpfloat (cli_metric (res, "average_accuracy"), >, cli_metric (nv, "average_accuracy") + 0.15);
  g_assert_cmpfloat (cli_strategy_figure (res, "distill_bce_mean"), >, 0);

  /* the softmax variant (scenario cross-entropy + BCE distillation on the
   * old classes) keeps the old classes too */
  g_autoptr (JsonObject) soft = run ("icarl-softmax",
                                     "{\"name\": \"icarl\", \"memory_size\": 200, \"classification\": \"softmax\"}",
                                     CLASS_IL);
  double old_soft = (cli_matrix (soft, 2, 0) + cli_matrix (soft, 2, 1)) / 2;
  g_test_message ("icarl (softmax classification): old classes %.3f", old_soft);
  g_assert_cmpfloat (old_soft, >, old_naive + 0.3);

  /* task-incremental: the nearest mean among the task's classes */
  g_autoptr (JsonObject) task = run ("icarl-task", "{\"name\": \"icarl\", \"memory_size\": 200}", TASK_IL);
  g_assert_cmpfloat (cli_metric (task, "average_accuracy"), >, 0.9);

  /* a class-incremental method: refused in a domain-incremental scenario */
  g_autofree char *text = config_text ("{\"name\": \"icarl\"}", "{\"type\": \"domain-incremental\", \"experiences\": 3}");
  g_autofree char *cfg = cli_write ("icarl-domain.json", text);
  g_autofree char *err = NULL;
  JsonObject *bad = cli_run (cfg, "icarl-domain-result.json", NULL, &err);
  g_assert_null (bad);
  g_assert_nonnull (strstr (err, "icarl"));
}

/* ---- every method: boundaries where needed, checkpoints ------------------------ */

static const char *const family[][2] = {
  { "er", "{\"name\": \"er\", \"buffer_size\": 100}" },
  { "der", "{\"name\": \"der\", \"buffer_size\": 100}" },
  { "derpp", "{\"name\": \"derpp\", \"buffer_size\": 100}" },
  { "agem", "{\"name\": \"agem\", \"memory_size\": 200, \"sample_size\": 64}" },
  { "gdumb", "{\"name\": \"gdumb\", \"buffer_size\": 100}" },
  { "icarl", "{\"name\": \"icarl\", \"memory_size\": 100}" },
};

/* Killed right after the first experience's checkpoint and resumed: the
 * same matrix and the same figures as a run that never stopped (the state
 * each method saves is all it needs). */
static void
test_resume (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (family); i++)
    {
      const char *name = family[i][0];
      g_autofree char *text = config_text (family[i][1], CLASS_IL);
      g_autofree char *cfg_name = g_strdup_printf ("resume-%s.json", name);
      g_autofree char *cfg = cli_write (cfg_name, text);
      g_autofree char *whole_name = g_strdup_printf ("resume-%s-whole.json", name);
      g_autofree char *cut_name = g_strdup_printf ("resume-%s-cut.json", name);
      g_autoptr (JsonObject) whole = cli_run (cfg, whole_name, NULL, NULL);
      g_assert_nonnull (whole);

      g_setenv ("LIFELONG_TEST_ABORT_AFTER_EXPERIENCE", "0", TRUE);
      g_autofree char *err = NULL;
      JsonObject *crashed = cli_run (cfg, cut_name, NULL, &err);
      g_unsetenv ("LIFELONG_TEST_ABORT_AFTER_EXPERIENCE");
      g_assert_null (crashed);

      const char *resume[] = { "--resume", NULL };
      g_autoptr (JsonObject) resumed = cli_run (cfg, cut_name, resume, NULL);
      g_assert_nonnull (resumed);
      g_autofree char *ma = member_text (whole, "matrix"), *mb = member_text (resumed, "matrix");
      g_autofree char *sa = member_text (whole, "strategy"), *sb = member_text (resumed, "strategy");
      g_test_message ("%s: %s", name, sa);
      g_assert_cmpstr (ma, ==, mb);
      g_assert_cmpstr (sa, ==, sb);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cli_init ("replay");
  g_test_add_func ("/replay/er/buffer-bound", test_er_buffer_bound);
  g_test_add_func ("/replay/er/beats-naive", test_er_beats_naive);
  g_test_add_func ("/replay/der/stores-logits", test_der_stores_logits);
  g_test_add_func ("/replay/der/task-incremental", test_der_task_il);
  g_test_add_func ("/replay/derpp/label-term", test_derpp);
  g_test_add_func ("/replay/agem/projection", test_agem_projection);
  g_test_add_func ("/replay/gdumb/balanced-memory", test_gdumb_balanced);
  g_test_add_func ("/replay/icarl/herding", test_icarl_herding);
  g_test_add_func ("/replay/icarl/nearest-mean", test_icarl_nme);
  g_test_add_func ("/replay/resume", test_resume);
  int rc = g_test_run ();
  g_clear_pointer (&naive_res, json_object_unref);
  cli_cleanup ();
  return rc;
}
