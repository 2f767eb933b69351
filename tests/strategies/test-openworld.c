/* lifelong tests — the open-world scenario, the oracle as a run sees it, and
 * the sola strategy, through `lifelong run` on the synthetic dataset
 * (6 classes: 2 known, then 2 deployment streams of 2 new classes each):
 *   scenario: each experience's classes, the streams' labels hidden (a
 *             strategy that never queries learns nothing new: naive's rows
 *             after the first are its first, new-class accuracy 0);
 *   oracle:   sola never spends more than the budget, every query is in
 *             the log and the log adds up to what was spent;
 *   sola:     its detector's AUROC on unseen classes is far above 0.5 for
 *             each score, after the labels it asked for the new classes'
 *             accuracy is far above chance while the old classes' stays
 *             high; with budget 0 it learns nothing new; the same run twice
 *             and a killed-and-resumed run give the same result;
 *   config:   every open-world key that can be malformed is refused with a
 *             message naming it and the value. */
#include "cli.h"
#include <math.h>
#include <string.h>

#define OW_DATA \
  " \"dataset\": {\"name\": \"synthetic\", \"classes\": 6, \"dim\": 16}," \
  " \"train\": {\"epochs\": 3, \"batch_size\": 32}, \"seed\": 0, \"threads\": 1"

static char *
ow_config (const char *name, const char *strategy, const char *scenario)
{
  g_autofree char *text = g_strdup_printf ("{\"model\": {\"name\": \"mlp\", \"hidden\": [64]}, \"strategy\": %s, "
                                           "\"scenario\": %s, %s}", strategy, scenario, OW_DATA);
  return cli_write (name, text);
}

static const char ow_scenario[] =
  "{\"type\": \"open-world\", \"experiences\": 3, \"known_classes\": 2, \"oracle\": {\"budget\": 60}}";

static JsonObject *
member_object (JsonObject *res, const char *key)
{
  g_assert_true (json_object_has_member (res, key));
  return json_object_get_object_member (res, key);
}

/* element i of the array key of the result's "open_world" member (NaN: null) */
static double
ow_at (JsonObject *res, const char *key, guint i)
{
  JsonArray *a = json_object_get_array_member (member_object (res, "open_world"), key);
  g_assert_cmpuint (i, <, json_array_get_length (a));
  JsonNode *n = json_array_get_element (a, i);
  return JSON_NODE_HOLDS_NULL (n) ? NAN : json_node_get_double (n);
}

/* Checks the oracle's log against its budget: what was charged adds up to
 * what was spent, no more than the budget; returns the labels spent. */
static int64_t
check_oracle_log (JsonObject *res, int64_t budget)
{
  JsonObject *o = member_object (res, "oracle");
  g_assert_cmpint (json_object_get_int_member (o, "budget"), ==, budget);
  int64_t used = json_object_get_int_member (o, "used"), charged = 0, answered = 0, refused = 0;
  JsonArray *q = json_object_get_array_member (o, "queries");
  for (guint i = 0; i < json_array_get_length (q); i++)
    {
      JsonObject *e = json_array_get_object_element (q, i);
      int64_t asked = json_object_get_int_member (e, "asked"), a = json_object_get_int_member (e, "answered");
      int64_t c = json_object_get_int_member (e, "charged"), r = json_object_get_int_member (e, "refused");
      g_assert_cmpint (a + r, ==, asked);
      g_assert_cmpint (c, <=, a);
      g_assert_cmpint (json_object_get_int_member (e, "experience"), >=, 1);   /* the streams only */
      g_assert_cmpstr (json_object_get_string_member (e, "split"), ==, "train");
      charged += c;
      answered += a;
      refused += r;
    }
  g_assert_cmpint (charged, ==, used);
  g_assert_cmpint (used, <=, budget);
  g_assert_cmpint (refused, ==, json_object_get_int_member (o, "refused"));
  g_assert_cmpint (json_object_get_int_member (member_object (res, "open_world"), "labels_used"), ==, used);
  return used;
}

/* ---- the scenario ---------------------------------------------------------- */

static void
test_scenario_naive_learns_nothing_new (void)
{
  g_autofree char *cfg = ow_config ("naive.json", "{\"name\": \"naive\"}", ow_scenario);
  g_autoptr (JsonObject) res = cli_run_ok (cfg, "naive.out.json", NULL);
  JsonObject *ow = member_object (res, "open_world");
  g_autofree char *classes = cli_member_json (ow, "classes");
  g_assert_cmpstr (classes, ==, "[[0,1],[2,3],[4,5]]");
  g_assert_cmpint (json_object_get_int_member (ow, "known_classes"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (ow, "novelty_score"), ==, "msp");   /* no novelty slot */
  /* the streams' labels are hidden and naive never asks: it trains nothing
   * after the first experience, so every later row is the first */
  for (guint i = 1; i < 3; i++)
    for (guint j = 0; j < 3; j++)
      g_assert_cmpfloat (cli_matrix (res, i, j), ==, cli_matrix (res, 0, j));
  g_assert_cmpfloat (cli_matrix (res, 0, 0), >, 0.9);
  g_assert_cmpfloat (cli_metric (res, "new_accuracy"), <, 0.05);
  g_assert_cmpint (check_oracle_log (res, 60), ==, 0);
  /* the host's own max-softmax detector, measured with the first row's model */
  g_assert_cmpfloat (ow_at (res, "novelty_auroc", 0), >, 0.5);
  g_assert_true (isnan (ow_at (res, "novelty_auroc", 2)));   /* nothing is unseen at the end */
  g_assert_true (isnan (ow_at (res, "new_accuracy", 0)));
}

/* A strategy that knows nothing of hidden labels (er, with no novelty
 * slot) is given labelled samples only: its buffer holds the known
 * classes alone, and the host scores novelty itself. */
static void
test_scenario_er_sees_labelled_only (void)
{
  g_autofree char *cfg = ow_config ("er.json", "{\"name\": \"er\", \"buffer_size\": 10000}", ow_scenario);
  g_autoptr (JsonObject) res = cli_run_ok (cfg, "er.out.json", NULL);
  g_assert_cmpstr (json_object_get_string_member (member_object (res, "open_world"), "novelty_score"), ==, "msp");
  JsonArray *counts = json_object_get_array_member (member_object (res, "strategy"), "buffer_class_counts");
  g_assert_cmpint (json_array_get_int_element (counts, 0) + json_array_get_int_element (counts, 1), >, 0);
  for (guint c = 2; c < 6; c++)
    g_assert_cmpint (json_array_get_int_element (counts, c), ==, 0);
  g_assert_cmpint (check_oracle_log (res, 60), ==, 0);
}

/* ---- sola ------------------------------------------------------------------- */

static void
check_sola (const char *score)
{
  g_autofree char *name = g_strdup_printf ("sola-%s.json", score);
  g_autofree char *out = g_strdup_printf ("sola-%s.out.json", score);
  g_autofree char *strategy = g_strdup_printf ("{\"name\": \"sola\", \"score\": \"%s\"}", score);
  g_autofree char *cfg = ow_config (name, strategy, ow_scenario);
  g_autoptr (JsonObject) res = cli_run_ok (cfg, out, NULL);
  g_assert_cmpstr (json_object_get_string_member (member_object (res, "open_world"), "novelty_score"), ==,
                   "strategy");
  int64_t used = check_oracle_log (res, 60);
  double auroc = ow_at (res, "novelty_auroc", 0), na = cli_metric (res, "new_accuracy");
  double oa = cli_metric (res, "old_accuracy");
  g_test_message ("sola %s: novelty AUROC %g, %g; old accuracy %g, new %g; %" G_GINT64_FORMAT " labels",
                  score, auroc, ow_at (res, "novelty_auroc", 1), oa, na, used);
  /* the detector: unseen classes score above known ones */
  g_assert_cmpfloat (auroc, >, 0.9);
  /* it spent the budget on labels, mostly of classes it did not know */
  g_assert_cmpint (used, >=, 50);
  JsonArray *fresh = json_object_get_array_member (member_object (res, "strategy"), "new_class_answers");
  g_assert_cmpint (json_array_get_int_element (fresh, 1), >=, 20);
  /* learnt: new classes far above chance (1/6), the old ones kept */
  g_assert_cmpfloat (na, >, 0.5);
  g_assert_cmpfloat (oa, >, 0.9);
  g_assert_cmpfloat (cli_matrix (res, 1, 1), >, cli_matrix (res, 0, 1) + 0.4);
}

static void test_sola_msp (void) { check_sola ("msp"); }
static void test_sola_energy (void) { check_sola ("energy"); }
static void test_sola_distance (void) { check_sola ("distance"); }

static void
test_sola_no_budget_learns_nothing_new (void)
{
  g_autofree char *cfg = ow_config ("sola-zero.json", "{\"name\": \"sola\"}",
                                    "{\"type\": \"open-world\", \"experiences\": 3, \"known_classes\": 2, "
                                    "\"oracle\": {\"budget\": 0}}");
  g_autoptr (JsonObject) res = cli_run_ok (cfg, "sola-zero.out.json", NULL);
  g_assert_cmpint (check_oracle_log (res, 0), ==, 0);
  g_assert_cmpfloat (cli_metric (res, "new_accuracy"), ==, 0);   /* reserved units are never predicted */
  g_assert_cmpfloat (cli_strategy_figure (res, "learned_classes"), ==, 2);
}

/* queries beyond the budget (a per-experience request larger than it) are
 * never answered: the strategy is held to what is left */
static void
test_sola_budget_respected (void)
{
  g_autofree char *cfg = ow_config ("sola-tight.json", "{\"name\": \"sola\", \"queries\": 1000}",
                                    "{\"type\": \"open-world\", \"experiences\": 3, \"known_classes\": 2, "
                                    "\"oracle\": {\"budget\": 25}}");
  g_autoptr (JsonObject) res = cli_run_ok (cfg, "sola-tight.out.json", NULL);
  g_assert_cmpint (check_oracle_log (res, 25), ==, 25);
}

static void
test_sola_reproducible_and_resumes (void)
{
  g_autofree char *cfg = ow_config ("sola-rep.json", "{\"name\": \"sola\"}", ow_scenario);
  g_autoptr (JsonObject) a = cli_run_ok (cfg, "sola-rep-a.json", NULL);
  g_autoptr (JsonObject) b = cli_run_ok (cfg, "sola-rep-b.json", NULL);
  /* killed right after experience 1's checkpoint (the oracle has answered
   * once), resumed: the oracle's spent budget and log come back */
  g_setenv ("LIFELONG_TEST_ABORT_AFTER_EXPERIENCE", "1", TRUE);
  g_autofree char *err = NULL;
  JsonObject *killed = cli_run (cfg, "sola-rep-c.json", NULL, &err);
  g_unsetenv ("LIFELONG_TEST_ABORT_AFTER_EXPERIENCE");
  g_assert_null (killed);
  const char *resume[] = { "--resume", NULL };
  g_autoptr (JsonObject) c = cli_run_ok (cfg, "sola-rep-c.json", resume);
  const char *keys[] = { "matrix", "open_world", "oracle", "strategy" };
  for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
    {
      g_autofree char *ja = cli_member_json (a, keys[k]);
      g_autofree char *jb = cli_member_json (b, keys[k]);
      g_autofree char *jc = cli_member_json (c, keys[k]);
      g_assert_cmpstr (ja, ==, jb);
      g_assert_cmpstr (ja, ==, jc);
    }
}

/* ---- config errors ----------------------------------------------------------- */

static void
check_refused (const char *tag, const char *strategy, const char *scenario, const char *expect)
{
  g_autofree char *name = g_strdup_printf ("bad-%s.json", tag);
  g_autofree char *out = g_strdup_printf ("bad-%s.out.json", tag);
  g_autofree char *cfg = ow_config (name, strategy, scenario);
  g_autofree char *err = NULL;
  JsonObject *res = cli_run (cfg, out, NULL, &err);
  g_assert_null (res);
  if (strstr (err, expect) == NULL)
    g_printerr ("expected \"%s\" in: %s", expect, err);
  g_assert_nonnull (strstr (err, expect));
}

static void
test_config_errors (void)
{
  const char naive[] = "{\"name\": \"naive\"}";
  check_refused ("known-ci", naive, "{\"type\": \"class-incremental\", \"experiences\": 3, \"known_classes\": 2}",
                 "scenario.known_classes: applies to open-world scenarios, not class-incremental");
  check_refused ("known-big", naive, "{\"type\": \"open-world\", \"experiences\": 3, \"known_classes\": 5}",
                 "scenario.known_classes: 5 known classes leave 1 of the dataset's 6 for 2 deployment experiences");
  check_refused ("known-neg", naive, "{\"type\": \"open-world\", \"known_classes\": -1}",
                 "scenario.known_classes: -1 is out of range");
  check_refused ("schedule", naive, "{\"type\": \"open-world\", \"experiences\": 3, \"schedule\": [0, 1, 2, 1]}",
                 "scenario.schedule: does not apply to open-world");
  check_refused ("one-exp", naive, "{\"type\": \"open-world\", \"experiences\": 1}",
                 "scenario.experiences: open-world needs at least 2");
  check_refused ("valid", naive, "{\"type\": \"open-world\", \"validation_fraction\": 0.1}",
                 "scenario.validation_fraction: 0.1 given, but an open-world scenario");
  check_refused ("oracle-num", naive, "{\"type\": \"open-world\", \"oracle\": 500}",
                 "scenario.oracle: expected an object such as {\"budget\": 500}, got 500");
  check_refused ("oracle-key", naive, "{\"type\": \"open-world\", \"oracle\": {\"budgte\": 5}}",
                 "scenario.oracle.budgte: unknown key");
  check_refused ("oracle-none", naive, "{\"type\": \"open-world\", \"oracle\": {}}",
                 "scenario.oracle.budget: required");
  check_refused ("oracle-neg", naive, "{\"type\": \"open-world\", \"oracle\": {\"budget\": -3}}",
                 "scenario.oracle.budget: expected an integer in [0, 1e12], got -3");
  check_refused ("oracle-frac", naive, "{\"type\": \"open-world\", \"oracle\": {\"budget\": 2.5}}",
                 "scenario.oracle.budget: expected an integer in [0, 1e12], got 2.5");
  check_refused ("oracle-str", naive, "{\"type\": \"open-world\", \"oracle\": {\"budget\": \"all\"}}",
                 "scenario.oracle.budget: expected an integer in [0, 1e12], got \"all\"");
  check_refused ("sola-ci", "{\"name\": \"sola\"}", "{\"type\": \"class-incremental\", \"experiences\": 3}",
                 "strategy sola works in open-world scenarios, not class-incremental");
  check_refused ("sola-score", "{\"name\": \"sola\", \"score\": \"entropy\"}", ow_scenario,
                 "strategy.score: \"entropy\" is not one of msp, energy, distance");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cli_init ("openworld");
  g_test_add_func ("/openworld/scenario/naive-learns-nothing-new", test_scenario_naive_learns_nothing_new);
  g_test_add_func ("/openworld/scenario/er-sees-labelled-only", test_scenario_er_sees_labelled_only);
  g_test_add_func ("/openworld/sola/msp", test_sola_msp);
  g_test_add_func ("/openworld/sola/energy", test_sola_energy);
  g_test_add_func ("/openworld/sola/distance", test_sola_distance);
  g_test_add_func ("/openworld/sola/no-budget-learns-nothing-new", test_sola_no_budget_learns_nothing_new);
  g_test_add_func ("/openworld/sola/budget-respected", test_sola_budget_respected);
  g_test_add_func ("/openworld/sola/reproducible-and-resumes", test_sola_reproducible_and_resumes);
  g_test_add_func ("/openworld/config-errors", test_config_errors);
  int rc = g_test_run ();
  cli_cleanup ();
  return rc;
}
