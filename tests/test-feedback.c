/* lifelong tests — the feedback scenario's host parts (framework/feedback.c,
 * the oracle's check query):
 *   check:   a right answer reveals nothing and costs nothing, a wrong one
 *            is corrected at one label each time (a repeated mistake too),
 *            the budget is never exceeded and what it refuses is counted;
 *            the log marks checks, and survives a checkpoint;
 *   repeat_error_rate: hand-made sequences (a repeat is an appearance in a
 *            later round than the item's first correction);
 *   stream:  every item comes, recurrences come after the item's first
 *            appearance, never more than `repeats` times, none at
 *            probability 0, always at probability 1, the same for the same
 *            seed;
 *   config:  scenario.feedback's errors name the key and the value. */
#include "host.h"
#include <math.h>

/* ids 0..99 of the training split, true label id % 5 */
static gboolean
truth5 (void *data, LfSplit split, int64_t id, int64_t now, int32_t *label, GError **error)
{
  (void) data; (void) now;
  if (split != LF_SPLIT_TRAIN || id < 0 || id >= 100)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "oracle: sample %" G_GINT64_FORMAT " is not in the stream", id);
      return FALSE;
    }
  *label = (int32_t) (id % 5);
  return TRUE;
}

static void
test_check_reveals_mistakes_only (void)
{
  g_autoptr (LfOracle) o = lf_oracle_new (3, truth5, NULL);
  /* answers: 1 right, 2 wrong, 3 right, 4 wrong, 7 wrong, 8 wrong */
  int64_t ids[6] = { 1, 2, 3, 4, 7, 8 };
  int32_t answers[6] = { 1, 0, 3, 0, 0, 0 }, labels[6];
  g_assert_cmpint (lf_oracle_check (o, LF_SPLIT_TRAIN, ids, answers, 6, 0, 5, labels, NULL), ==, 3);
  const int32_t want[6] = { LF_LABEL_UNKNOWN, 2, LF_LABEL_UNKNOWN, 4, 2, LF_LABEL_UNKNOWN };
  for (int i = 0; i < 6; i++)
    g_assert_cmpint (labels[i], ==, want[i]);
  int32_t y;
  /* the right answers' labels were not given; the refused one's neither */
  g_assert_false (lf_oracle_known (o, LF_SPLIT_TRAIN, 1, &y));
  g_assert_false (lf_oracle_known (o, LF_SPLIT_TRAIN, 3, &y));
  g_assert_false (lf_oracle_known (o, LF_SPLIT_TRAIN, 8, &y));
  g_assert_true (lf_oracle_known (o, LF_SPLIT_TRAIN, 4, &y) && y == 4);
  g_assert_cmpint (lf_oracle_used (o), ==, 3);
  g_assert_cmpint (lf_oracle_refused (o), ==, 1);
  /* exhausted: every mistake refused, right answers still free */
  int64_t more[2] = { 2, 6 };
  int32_t ans2[2] = { 0, 1 };
  g_assert_cmpint (lf_oracle_check (o, LF_SPLIT_TRAIN, more, ans2, 2, 1, 6, labels, NULL), ==, 0);
  g_assert_cmpint (labels[0], ==, LF_LABEL_UNKNOWN);
  g_assert_cmpint (labels[1], ==, LF_LABEL_UNKNOWN);
  g_assert_cmpint (lf_oracle_used (o), ==, 3);
  g_assert_cmpint (lf_oracle_refused (o), ==, 2);
  g_autoptr (JsonNode) j = lf_oracle_to_json (o);
  g_autofree char *text = json_to_string (j, FALSE);
  g_assert_cmpstr (text, ==,
                   "{\"budget\":3,\"used\":3,\"refused\":2,\"queries\":["
                   "{\"kind\":\"check\",\"experience\":0,\"step\":5,\"split\":\"train\",\"asked\":6,\"answered\":3,"
                   "\"charged\":3,\"refused\":1},"
                   "{\"kind\":\"check\",\"experience\":1,\"step\":6,\"split\":\"train\",\"asked\":2,\"answered\":0,"
                   "\"charged\":0,\"refused\":1}]}");
}

/* A mistake made again is corrected again, and paid again (a label query
 * about the same id would be free). */
static void
test_check_repeat_is_charged (void)
{
  g_autoptr (LfOracle) o = lf_oracle_new (10, truth5, NULL);
  int64_t id = 9;
  int32_t wrong = 0, right = 4, label;
  g_assert_cmpint (lf_oracle_check (o, LF_SPLIT_TRAIN, &id, &wrong, 1, 0, 0, &label, NULL), ==, 1);
  g_assert_cmpint (label, ==, 4);
  g_assert_cmpint (lf_oracle_check (o, LF_SPLIT_TRAIN, &id, &right, 1, 0, 1, &label, NULL), ==, 0);
  g_assert_cmpint (label, ==, LF_LABEL_UNKNOWN);
  g_assert_cmpint (lf_oracle_check (o, LF_SPLIT_TRAIN, &id, &wrong, 1, 0, 2, &label, NULL), ==, 1);
  g_assert_cmpint (lf_oracle_used (o), ==, 2);
  g_assert_cmpint (lf_oracle_query (o, LF_SPLIT_TRAIN, &id, 1, 0, 3, &label, NULL), ==, 1);
  g_assert_cmpint (lf_oracle_used (o), ==, 2);
  /* a bad id fails the whole check, nothing spent or logged */
  int64_t bad[2] = { 1, 500 };
  int32_t ans[2] = { 0, 0 }, lab[2];
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (lf_oracle_check (o, LF_SPLIT_TRAIN, bad, ans, 2, 0, 4, lab, &error), ==, -1);
  g_assert_error (error, LF_ERROR, LF_ERROR_INVALID);
  g_assert_cmpint (lf_oracle_used (o), ==, 2);
  g_assert_cmpint (lf_oracle_n_queries (o), ==, 4);
}

static void
test_check_state_round_trip (void)
{
  g_autoptr (LfOracle) o = lf_oracle_new (10, truth5, NULL);
  int64_t ids[3] = { 1, 2, 3 };
  int32_t answers[3] = { 0, 2, 0 }, labels[3];
  lf_oracle_query (o, LF_SPLIT_TRAIN, ids, 1, 0, 0, labels, NULL);
  lf_oracle_check (o, LF_SPLIT_TRAIN, ids, answers, 3, 0, 1, labels, NULL);
  LfState *st = lf_state_new ();
  lf_oracle_save (o, st);
  g_autoptr (LfOracle) back = lf_oracle_new (10, truth5, NULL);
  g_assert_true (lf_oracle_load (back, st, NULL));
  lf_state_free (st);
  g_autoptr (JsonNode) j1 = lf_oracle_to_json (o);
  g_autoptr (JsonNode) j2 = lf_oracle_to_json (back);
  g_autofree char *t1 = json_to_string (j1, FALSE);
  g_autofree char *t2 = json_to_string (j2, FALSE);
  g_assert_cmpstr (t1, ==, t2);
  g_assert_nonnull (strstr (t1, "\"kind\":\"check\""));
}

/* ---- repeat_error_rate ---------------------------------------------------- */

static void
test_repeat_error_rate (void)
{
  /* item:      5  6  5  7  5  6  6  5
   * round:     0  0  1  1  2  2  3  3
   * wrong:     1  1  1  0  0  1  1  1
   * corrected: 1  0  1  0  0  1  0  0
   * 5 corrected in round 0: its appearances in rounds 1, 2, 3 are repeats
   * (wrong, right, wrong); 6 first corrected in round 2: round 3's is a
   * repeat (wrong); 6's round-2 appearance is not (it was refused before);
   * 7 never corrected.  4 repeats, 3 wrong. */
  const int64_t items[8] = { 5, 6, 5, 7, 5, 6, 6, 5 }, round[8] = { 0, 0, 1, 1, 2, 2, 3, 3 };
  const uint8_t wrong[8] = { 1, 1, 1, 0, 0, 1, 1, 1 }, corrected[8] = { 1, 0, 1, 0, 0, 1, 0, 0 };
  int64_t reps = -1, errs = -1;
  g_assert_cmpfloat (lf_feedback_repeat_error_rate (items, round, wrong, corrected, 8, &reps, &errs), ==, 0.75);
  g_assert_cmpint (reps, ==, 4);
  g_assert_cmpint (errs, ==, 3);
  /* answers of a round come before its corrections: the same item twice
   * in the round of its correction has no repeat */
  const int64_t i2[3] = { 1, 1, 1 }, r2[3] = { 0, 0, 1 };
  const uint8_t w2[3] = { 1, 1, 0 }, c2[3] = { 1, 1, 0 };
  g_assert_cmpfloat (lf_feedback_repeat_error_rate (i2, r2, w2, c2, 3, &reps, &errs), ==, 0.0);
  g_assert_cmpint (reps, ==, 1);
  /* nothing corrected: no repeats, the rate undefined */
  const uint8_t none[3] = { 0, 0, 0 };
  g_assert_true (isnan (lf_feedback_repeat_error_rate (i2, r2, w2, none, 3, &reps, &errs)));
  g_assert_cmpint (reps, ==, 0);
}

/* ---- the stream ----------------------------------------------------------- */

static GArray *
stream_of (double p, int64_t gap, int64_t repeats, uint64_t seed, int64_t n, int64_t chunks)
{
  LfFeedbackConfig c = { .budget = 0, .revisit_probability = p, .revisit_gap = gap, .repeats = repeats };
  g_autoptr (LfFeedback) fb = lf_feedback_new (&c, seed);
  GArray *all = g_array_new (FALSE, FALSE, sizeof (int64_t));
  g_autofree int64_t *ids = g_new (int64_t, n);
  for (int64_t i = 0; i < n; i++)
    ids[i] = 1000 + i;
  for (int64_t k = 0; k < chunks; k++)
    {
      int64_t a = k * n / chunks, b = (k + 1) * n / chunks;
      g_autoptr (GArray) part = lf_feedback_stream (fb, ids + a, b - a, k == chunks - 1);
      g_array_append_vals (all, part->data, part->len);
    }
  return all;
}

static void
test_stream (void)
{
  const int64_t n = 300;
  /* probability 0: the items as they came */
  g_autoptr (GArray) s0 = stream_of (0, 20, 2, 1, n, 3);
  g_assert_cmpuint (s0->len, ==, n);
  for (int64_t i = 0; i < n; i++)
    g_assert_cmpint (g_array_index (s0, int64_t, i), ==, 1000 + i);
  /* probability 1: every item exactly 1 + repeats times, new items in
   * their order, each recurrence after the item's first appearance */
  g_autoptr (GArray) s1 = stream_of (1, 20, 2, 1, n, 3);
  g_assert_cmpuint (s1->len, ==, 3 * n);
  g_autofree int64_t *count = g_new0 (int64_t, n);
  int64_t next_new = 0;
  for (guint i = 0; i < s1->len; i++)
    {
      int64_t k = g_array_index (s1, int64_t, i) - 1000;
      g_assert_cmpint (k, >=, 0);
      g_assert_cmpint (k, <, n);
      if (count[k]++ == 0)
        g_assert_cmpint (k, ==, next_new++);
    }
  for (int64_t k = 0; k < n; k++)
    g_assert_cmpint (count[k], ==, 3);
  /* one half: about half the appearances recur; the same seed, the same
   * stream, whatever the chunks; another seed, another stream */
  g_autoptr (GArray) a = stream_of (0.5, 20, 1, 7, n, 1);
  g_autoptr (GArray) b = stream_of (0.5, 20, 1, 7, n, 1);
  g_autoptr (GArray) c = stream_of (0.5, 20, 1, 8, n, 1);
  g_assert_cmpuint (a->len, ==, b->len);
  g_assert_cmpmem (a->data, a->len * sizeof (int64_t), b->data, b->len * sizeof (int64_t));
  g_assert_true (a->len != c->len || memcmp (a->data, c->data, a->len * sizeof (int64_t)) != 0);
  g_assert_cmpuint (a->len, >, n + n / 3);
  g_assert_cmpuint (a->len, <, n + 2 * n / 3);
}

/* ---- config ------------------------------------------------------------------ */

static void
expect_config_error (const char *json, const char *needle)
{
  LfFeedbackConfig c;
  g_autoptr (GError) error = NULL;
  g_assert_false (lf_feedback_config_parse (json, &c, &error));
  g_assert_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG);
  if (strstr (error->message, needle) == NULL)
    g_error ("config %s: expected \"%s\" in: %s", json, needle, error->message);
}

static void
test_config (void)
{
  LfFeedbackConfig c;
  g_assert_true (lf_feedback_config_parse ("{\"budget\": 40}", &c, NULL));
  g_assert_cmpint (c.budget, ==, 40);
  g_assert_cmpfloat (c.revisit_probability, ==, 0.5);
  g_assert_cmpint (c.revisit_gap, ==, 500);
  g_assert_cmpint (c.repeats, ==, 2);
  expect_config_error ("[1]", "scenario.feedback: expected an object");
  expect_config_error ("{}", "scenario.feedback.budget");
  expect_config_error ("{\"budget\": -1}", "scenario.feedback.budget");
  expect_config_error ("{\"budget\": \"many\"}", "scenario.feedback.budget");
  expect_config_error ("{\"budget\": 5, \"revisit_probability\": 1.5}", "scenario.feedback.revisit_probability");
  expect_config_error ("{\"budget\": 5, \"revisit_gap\": 0}", "scenario.feedback.revisit_gap");
  expect_config_error ("{\"budget\": 5, \"repeats\": -2}", "scenario.feedback.repeats");
  expect_config_error ("{\"budget\": 5, \"revisit\": 0.5}", "revisit");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/feedback/check/reveals-mistakes-only", test_check_reveals_mistakes_only);
  g_test_add_func ("/feedback/check/repeat-is-charged", test_check_repeat_is_charged);
  g_test_add_func ("/feedback/check/state-round-trip", test_check_state_round_trip);
  g_test_add_func ("/feedback/repeat-error-rate", test_repeat_error_rate);
  g_test_add_func ("/feedback/stream", test_stream);
  g_test_add_func ("/feedback/config", test_config);
  return g_test_run ();
}
