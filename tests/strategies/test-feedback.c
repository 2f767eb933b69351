/* lifelong tests — the feedback scenario and the correction-replay strategy,
 * through `lifelong run` on the synthetic dataset (6 classes in 3 tasks, a
 * stream of 1200 items with recurrences, batches of 10):
 *   corrector: it never corrects a right answer nor exceeds the budget (the
 *              oracle's log against the host's count of wrong answers), a
 *              spent budget leaves the later mistakes uncorrected (and
 *              visible), and the strategy is given the corrections only
 *              (er's buffer is offered exactly them); budget 0 trains
 *              nothing;
 *   correction-replay: makes no corrected mistake again where naive makes
 *              many (repeat_error_rate), and the same run twice gives the
 *              same result; without recall, its replay of every correction
 *              makes fewer of the mistakes that come back in a later task
 *              than naive does;
 *   config:    the feedback keys that can be malformed are refused with a
 *              message naming them and the value. */
#include "cli.h"
#include <math.h>
#include <string.h>

#define FB_DATA \
  " \"dataset\": {\"name\": \"synthetic\", \"classes\": 6, \"dim\": 16, \"separation\": 1.5}," \
  " \"train\": {\"epochs\": 1, \"batch_size\": 10}, \"seed\": 0, \"threads\": 1"

static char *
fb_config (const char *name, const char *strategy, const char *feedback)
{
  g_autofree char *text = g_strdup_printf ("{\"model\": {\"name\": \"mlp\", \"hidden\": [64]}, \"strategy\": %s, "
                                           "\"scenario\": {\"type\": \"feedback\", \"experiences\": 3, "
                                           "\"eval_every\": 300, \"feedback\": %s}, %s}", strategy, feedback, FB_DATA);
  return cli_write (name, text);
}

static JsonObject *
member_object (JsonObject *res, const char *key)
{
  g_assert_true (json_object_has_member (res, key));
  return json_object_get_object_member (res, key);
}

static int64_t
fb_int (JsonObject *res, const char *key)
{
  return json_object_get_int_member (member_object (res, "feedback"), key);
}

/* The oracle's log against the host's count: every entry a check, what it
 * corrected adds up to what was spent (no more than the budget), the right
 * answers (asked - answered - refused) to the answers the host counted
 * right: no right answer's label was revealed. */
static void
check_corrector (JsonObject *res, int64_t budget)
{
  JsonObject *o = member_object (res, "oracle");
  g_assert_cmpint (json_object_get_int_member (o, "budget"), ==, budget);
  int64_t used = json_object_get_int_member (o, "used"), asked = 0, answered = 0, charged = 0, refused = 0;
  JsonArray *q = json_object_get_array_member (o, "queries");
  for (guint i = 0; i < json_array_get_length (q); i++)
    {
      JsonObject *e = json_array_get_object_element (q, i);
      g_assert_cmpstr (json_object_get_string_member (e, "kind"), ==, "check");
      g_assert_cmpint (json_object_get_int_member (e, "answered"), ==, json_object_get_int_member (e, "charged"));
      asked += json_object_get_int_member (e, "asked");
      answered += json_object_get_int_member (e, "answered");
      charged += json_object_get_int_member (e, "charged");
      refused += json_object_get_int_member (e, "refused");
    }
  g_assert_cmpint (charged, ==, used);
  g_assert_cmpint (used, <=, budget);
  g_assert_cmpint (asked, ==, fb_int (res, "stream_samples"));
  g_assert_cmpint ((int64_t) json_array_get_length (q), ==, fb_int (res, "rounds"));
  g_assert_cmpint (answered, ==, fb_int (res, "corrections"));
  g_assert_cmpint (refused, ==, fb_int (res, "uncorrected_mistakes"));
  g_assert_cmpint (answered + refused, ==, fb_int (res, "wrong_answers"));
  g_assert_cmpint (asked - answered - refused, ==, fb_int (res, "stream_samples") - fb_int (res, "wrong_answers"));
  g_assert_cmpfloat (cli_metric (res, "corrections"), ==, (double) used);
}

static void
test_corrector_budget (void)
{
  /* a budget the stream's mistakes outrun */
  g_autofree char *cfg = fb_config ("er-tight.json", "{\"name\": \"er\", \"buffer_size\": 100000}",
                                    "{\"budget\": 150, \"revisit_gap\": 150}");
  g_autoptr (JsonObject) res = cli_run_ok (cfg, "er-tight.out.json", NULL);
  check_corrector (res, 150);
  g_assert_cmpint (fb_int (res, "corrections"), ==, 150);
  g_assert_cmpint (fb_int (res, "uncorrected_mistakes"), >, 0);
  g_assert_cmpint (fb_int (res, "oracle_used"), ==, 150);
  /* the stream recurs: more appearances than items */
  g_assert_cmpint (fb_int (res, "items"), ==, 1200);
  g_assert_cmpint (fb_int (res, "stream_samples"), >, 1200 + 300);
  /* the strategy trained on the corrections and nothing else */
  g_assert_cmpfloat (cli_strategy_figure (res, "samples_offered"), ==, 150);
  g_assert_cmpfloat (cli_strategy_figure (res, "buffer_size"), <=, 150);
  /* the accuracy over time: a point every 300 stream samples, and the
   * prequential accuracy of each window beside it */
  JsonArray *acc = json_object_get_array_member (member_object (res, "online"), "accuracy");
  JsonArray *pq = json_object_get_array_member (member_object (res, "feedback"), "prequential");
  g_assert_cmpuint (json_array_get_length (acc), >=, 5);
  g_assert_cmpuint (json_array_get_length (pq), ==, json_array_get_length (acc));
  g_assert_true (isfinite (cli_metric (res, "a_auc")));
  g_assert_true (isfinite (cli_metric (res, "prequential_accuracy")));

  /* budget 0: nothing corrected, nothing trained */
  g_autofree char *c0 = fb_config ("er-none.json", "{\"name\": \"er\"}", "{\"budget\": 0}");
  g_autoptr (JsonObject) r0 = cli_run_ok (c0, "er-none.out.json", NULL);
  check_corrector (r0, 0);
  g_assert_cmpint (fb_int (r0, "corrections"), ==, 0);
  g_assert_cmpfloat (cli_strategy_figure (r0, "samples_offered"), ==, 0);
  g_assert_true (isnan (cli_metric (r0, "repeat_error_rate")));   /* nothing corrected, nothing repeated */
}

/* The defining property: a mistake once corrected is not made again. */
static void
test_correction_replay_no_repeats (void)
{
  const char *fbk = "{\"budget\": 2000, \"revisit_gap\": 200}";
  g_autofree char *cn = fb_config ("naive.json", "{\"name\": \"naive\"}", fbk);
  g_autofree char *cc = fb_config ("cr.json", "{\"name\": \"correction-replay\"}", fbk);
  g_autoptr (JsonObject) naive = cli_run_ok (cn, "naive.out.json", NULL);
  g_autoptr (JsonObject) cr = cli_run_ok (cc, "cr.out.json", NULL);
  check_corrector (naive, 2000);
  check_corrector (cr, 2000);
  double rn = cli_metric (naive, "repeat_error_rate"), rc = cli_metric (cr, "repeat_error_rate");
  g_test_message ("repeat_error_rate: naive %.3f (%" G_GINT64_FORMAT " repeats), correction-replay %.3f "
                  "(%" G_GINT64_FORMAT ")", rn, fb_int (naive, "repeat_appearances"), rc,
                  fb_int (cr, "repeat_appearances"));
  g_assert_cmpint (fb_int (naive, "repeat_appearances"), >, 100);
  g_assert_cmpint (fb_int (cr, "repeat_appearances"), >, 100);
  g_assert_cmpfloat (rn, >, 0.2);
  g_assert_cmpfloat (rc, ==, 0);
  /* every repeat was answered from its kept correction */
  g_assert_cmpfloat (cli_strategy_figure (cr, "answers_recalled"), >=, (double) fb_int (cr, "repeat_appearances"));
  g_assert_cmpfloat (cli_strategy_figure (cr, "memory_size"), ==, (double) fb_int (cr, "corrected_items"));
  /* the same run again: the same numbers */
  g_autoptr (JsonObject) again = cli_run_ok (cc, "cr-again.out.json", NULL);
  g_autofree char *f1 = cli_member_json (cr, "feedback");
  g_autofree char *f2 = cli_member_json (again, "feedback");
  g_assert_cmpstr (f1, ==, f2);
  g_autofree char *m1 = cli_member_json (cr, "metrics");
  g_autofree char *m2 = cli_member_json (again, "metrics");
  g_assert_cmpstr (m1, ==, m2);
}

/* Without recall, keeping and replaying every correction lowers the
 * repeats that come from forgetting: those in a later task than their
 * correction (recurrences ~600 samples later, a task being ~700). */
static void
test_correction_replay_fewer_later_repeats (void)
{
  const char *fbk = "{\"budget\": 2000, \"revisit_gap\": 600}";
  g_autofree char *cn = fb_config ("naive-600.json", "{\"name\": \"naive\"}", fbk);
  g_autofree char *cc = fb_config ("cr-600.json", "{\"name\": \"correction-replay\", \"recall\": false}", fbk);
  g_autoptr (JsonObject) naive = cli_run_ok (cn, "naive-600.out.json", NULL);
  g_autoptr (JsonObject) cr = cli_run_ok (cc, "cr-600.out.json", NULL);
  JsonObject *fn = member_object (naive, "feedback"), *fc = member_object (cr, "feedback");
  double rn = json_object_get_double_member (fn, "later_task_repeat_error_rate");
  double rc = json_object_get_double_member (fc, "later_task_repeat_error_rate");
  g_test_message ("later-task repeat_error_rate: naive %.3f (%" G_GINT64_FORMAT "), correction-replay without recall "
                  "%.3f (%" G_GINT64_FORMAT ")", rn, fb_int (naive, "later_task_repeat_appearances"), rc,
                  fb_int (cr, "later_task_repeat_appearances"));
  g_assert_cmpint (fb_int (naive, "later_task_repeat_appearances"), >, 100);
  g_assert_cmpint (fb_int (cr, "later_task_repeat_appearances"), >, 100);
  g_assert_cmpfloat (rc, <, rn - 0.03);
  g_assert_true (isnan (cli_strategy_figure (cr, "answers_recalled")));   /* recall off: no answer from memory */
  g_assert_cmpfloat (cli_metric (cr, "a_last"), >, cli_metric (naive, "a_last"));
}

static void
expect_refused (const char *name, const char *text, const char *needle)
{
  g_autofree char *cfg = cli_write (name, text);
  g_autofree char *err = NULL;
  JsonObject *res = cli_run (cfg, "refused.out.json", NULL, &err);
  g_assert_null (res);
  if (err == NULL || strstr (err, needle) == NULL)
    g_error ("%s: expected \"%s\" in: %s", name, needle, err ? err : "(nothing)");
}

static void
test_config_errors (void)
{
#define FB_MODEL "{\"model\": {\"name\": \"mlp\"}, \"strategy\": {\"name\": \"naive\"}, "
  expect_refused ("no-feedback.json", FB_MODEL "\"scenario\": {\"type\": \"feedback\"}," FB_DATA "}",
                  "scenario.feedback: required");
  expect_refused ("wrong-type.json",
                  FB_MODEL "\"scenario\": {\"type\": \"class-incremental\", \"feedback\": {\"budget\": 5}}," FB_DATA "}",
                  "scenario.feedback: applies to feedback scenarios, not class-incremental");
  expect_refused ("with-oracle.json",
                  FB_MODEL "\"scenario\": {\"type\": \"feedback\", \"feedback\": {\"budget\": 5}, \"oracle\": "
                  "{\"budget\": 5}}," FB_DATA "}", "scenario.oracle");
  expect_refused ("bad-budget.json",
                  FB_MODEL "\"scenario\": {\"type\": \"feedback\", \"feedback\": {\"budget\": -3}}," FB_DATA "}",
                  "scenario.feedback.budget");
  expect_refused ("bad-prob.json",
                  FB_MODEL "\"scenario\": {\"type\": \"feedback\", \"feedback\": {\"budget\": 5, "
                  "\"revisit_probability\": 2}}," FB_DATA "}", "scenario.feedback.revisit_probability");
  expect_refused ("unknown-key.json",
                  FB_MODEL "\"scenario\": {\"type\": \"feedback\", \"feedback\": {\"budget\": 5, \"gap\": 3}},"
                  FB_DATA "}", "gap");
  expect_refused ("noise.json",
                  FB_MODEL "\"scenario\": {\"type\": \"feedback\", \"feedback\": {\"budget\": 5}, \"label_noise\": "
                  "{\"type\": \"symmetric\", \"rate\": 0.2}}," FB_DATA "}", "scenario.label_noise");
  expect_refused ("not-object.json",
                  FB_MODEL "\"scenario\": {\"type\": \"feedback\", \"feedback\": 5}," FB_DATA "}",
                  "scenario.feedback: expected an object");
  expect_refused ("epochs.json",
                  "{\"model\": {\"name\": \"mlp\"}, \"strategy\": {\"name\": \"naive\"}, \"scenario\": {\"type\": "
                  "\"feedback\", \"feedback\": {\"budget\": 5}}, \"dataset\": {\"name\": \"synthetic\"}, "
                  "\"train\": {\"epochs\": 2}}", "train.epochs: 2 given, and a feedback scenario is one pass");
  expect_refused ("cr-param.json",
                  "{\"model\": {\"name\": \"mlp\"}, \"strategy\": {\"name\": \"correction-replay\", "
                  "\"repeat_weight\": -1}, \"scenario\": {\"type\": \"feedback\", \"feedback\": {\"budget\": 5}}, "
                  "\"dataset\": {\"name\": \"synthetic\"}}", "repeat_weight");
  /* a strategy that picks its own training data would have it answered
   * and corrected again */
  expect_refused ("gdumb.json",
                  "{\"model\": {\"name\": \"mlp\"}, \"strategy\": {\"name\": \"gdumb\"}, \"scenario\": {\"type\": "
                  "\"feedback\", \"boundaries\": true, \"feedback\": {\"budget\": 5}}, \"dataset\": {\"name\": "
                  "\"synthetic\"}}", "strategy gdumb chooses each experience's training data (select_training)");
#undef FB_MODEL
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cli_init ("feedback");
  g_test_add_func ("/feedback/corrector/budget", test_corrector_budget);
  g_test_add_func ("/feedback/correction-replay/no-repeats", test_correction_replay_no_repeats);
  g_test_add_func ("/feedback/correction-replay/fewer-later-repeats", test_correction_replay_fewer_later_repeats);
  g_test_add_func ("/feedback/config-errors", test_config_errors);
  int rc = g_test_run ();
  cli_cleanup ();
  return rc;
}
