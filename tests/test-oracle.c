/* lifelong tests — the oracle (framework/oracle.c): the budget is never
 * exceeded, a label given before is free, every query is logged and
 * counted, a question it cannot answer fails without spending, and its
 * state survives a checkpoint; scenario.oracle's config errors. */
#include "host.h"

/* The truth of a made-up stream: ids 0..99 of the training split, label
 * id % 7; anything else is not the oracle's to answer. */
static gboolean
fake_truth (void *data, LfSplit split, int64_t id, int64_t now, int32_t *label, GError **error)
{
  int *calls = data;
  (*calls)++;
  (void) now;
  if (split != LF_SPLIT_TRAIN || id < 0 || id >= 100)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "oracle: sample %" G_GINT64_FORMAT " is not in the stream", id);
      return FALSE;
    }
  *label = (int32_t) (id % 7);
  return TRUE;
}

static void
test_budget (void)
{
  int calls = 0;
  g_autoptr (LfOracle) o = lf_oracle_new (25, fake_truth, &calls);
  g_assert_cmpint (lf_oracle_budget (o), ==, 25);
  int64_t ids[30];
  int32_t labels[30];
  for (int i = 0; i < 30; i++)
    ids[i] = 3 * i;
  /* 30 asked with 25 in the budget: the first 25 answered, 5 refused */
  g_assert_cmpint (lf_oracle_query (o, LF_SPLIT_TRAIN, ids, 30, 1, 10, labels, NULL), ==, 25);
  for (int i = 0; i < 30; i++)
    g_assert_cmpint (labels[i], ==, i < 25 ? (int32_t) (ids[i] % 7) : LF_LABEL_UNKNOWN);
  g_assert_cmpint (lf_oracle_used (o), ==, 25);
  g_assert_cmpint (lf_oracle_refused (o), ==, 5);
  /* the budget is spent: a new id is refused, one answered before is free */
  int64_t again[2] = { 3, 1 };
  int32_t l2[2];
  g_assert_cmpint (lf_oracle_query (o, LF_SPLIT_TRAIN, again, 2, 2, 20, l2, NULL), ==, 1);
  g_assert_cmpint (l2[0], ==, 3);
  g_assert_cmpint (l2[1], ==, LF_LABEL_UNKNOWN);
  g_assert_cmpint (lf_oracle_used (o), ==, 25);
  int32_t y;
  g_assert_true (lf_oracle_known (o, LF_SPLIT_TRAIN, 3, &y) && y == 3);
  g_assert_false (lf_oracle_known (o, LF_SPLIT_TRAIN, 1, &y));
  g_assert_false (lf_oracle_known (o, LF_SPLIT_TEST, 3, &y));

  /* the log: one entry per query, adding up to the counters */
  g_assert_cmpint (lf_oracle_n_queries (o), ==, 2);
  g_autoptr (JsonNode) j = lf_oracle_to_json (o);
  g_autofree char *text = json_to_string (j, FALSE);
  g_assert_cmpstr (text, ==,
                   "{\"budget\":25,\"used\":25,\"refused\":6,\"queries\":["
                   "{\"experience\":1,\"step\":10,\"split\":\"train\",\"asked\":30,\"answered\":25,\"charged\":25,"
                   "\"refused\":5},"
                   "{\"experience\":2,\"step\":20,\"split\":\"train\",\"asked\":2,\"answered\":1,\"charged\":0,"
                   "\"refused\":1}]}");
}

static void
test_invalid_spends_nothing (void)
{
  int calls = 0;
  g_autoptr (LfOracle) o = lf_oracle_new (10, fake_truth, &calls);
  int64_t ids[3] = { 1, 2, 500 };
  int32_t labels[3];
  g_autoptr (GError) error = NULL;
  /* one id outside the stream fails the whole query, before any is answered */
  g_assert_cmpint (lf_oracle_query (o, LF_SPLIT_TRAIN, ids, 3, 1, 0, labels, &error), ==, -1);
  g_assert_error (error, LF_ERROR, LF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "sample 500"));
  g_assert_cmpint (lf_oracle_used (o), ==, 0);
  g_assert_cmpint (lf_oracle_n_queries (o), ==, 0);
  g_assert_false (lf_oracle_known (o, LF_SPLIT_TRAIN, 1, &labels[0]));
  g_clear_error (&error);
  g_assert_cmpint (lf_oracle_query (o, LF_SPLIT_TEST, ids, 1, 1, 0, labels, &error), ==, -1);
  g_assert_error (error, LF_ERROR, LF_ERROR_INVALID);
  /* an empty query is answered (nothing) and logged */
  g_assert_cmpint (lf_oracle_query (o, LF_SPLIT_TRAIN, NULL, 0, 1, 0, NULL, NULL), ==, 0);
  g_assert_cmpint (lf_oracle_n_queries (o), ==, 1);
}

static void
test_state_round_trip (void)
{
  int calls = 0;
  g_autoptr (LfOracle) o = lf_oracle_new (8, fake_truth, &calls);
  int64_t ids[5] = { 40, 10, 99, 0, 57 };
  int32_t labels[5];
  g_assert_cmpint (lf_oracle_query (o, LF_SPLIT_TRAIN, ids, 5, 1, 3, labels, NULL), ==, 5);
  LfState *st = lf_state_new ();
  lf_oracle_save (o, st);
  g_autoptr (LfOracle) back = lf_oracle_new (8, fake_truth, &calls);
  g_assert_true (lf_oracle_load (back, st, NULL));
  lf_state_free (st);
  g_autoptr (JsonNode) j1 = lf_oracle_to_json (o);
  g_autoptr (JsonNode) j2 = lf_oracle_to_json (back);
  g_autofree char *t1 = json_to_string (j1, FALSE);
  g_autofree char *t2 = json_to_string (j2, FALSE);
  g_assert_cmpstr (t1, ==, t2);
  for (int i = 0; i < 5; i++)
    {
      int32_t y;
      g_assert_true (lf_oracle_known (back, LF_SPLIT_TRAIN, ids[i], &y));
      g_assert_cmpint (y, ==, labels[i]);
    }
  /* only 3 left after the restore */
  int64_t more[4] = { 1, 2, 3, 4 };
  int32_t l4[4];
  g_assert_cmpint (lf_oracle_query (back, LF_SPLIT_TRAIN, more, 4, 2, 9, l4, NULL), ==, 3);
  /* a state with no oracle in it, or one spent past this budget, is refused */
  LfState *empty = lf_state_new ();
  g_autoptr (GError) error = NULL;
  g_assert_false (lf_oracle_load (back, empty, &error));
  g_assert_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT);
  lf_state_free (empty);
  LfState *st2 = lf_state_new ();
  lf_oracle_save (back, st2);
  g_autoptr (LfOracle) small = lf_oracle_new (2, fake_truth, &calls);
  g_clear_error (&error);
  g_assert_false (lf_oracle_load (small, st2, &error));
  lf_state_free (st2);
}

static void
check_config (const char *json, const char *expect)
{
  int64_t budget = -1;
  g_autoptr (GError) error = NULL;
  g_assert_false (lf_oracle_config_parse (json, &budget, &error));
  g_assert_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG);
  if (strstr (error->message, expect) == NULL)
    g_printerr ("expected \"%s\" in \"%s\"\n", expect, error->message);
  g_assert_nonnull (strstr (error->message, expect));
}

static void
test_config (void)
{
  int64_t budget = -1;
  g_assert_true (lf_oracle_config_parse ("{\"budget\": 500}", &budget, NULL));
  g_assert_cmpint (budget, ==, 500);
  g_assert_true (lf_oracle_config_parse ("{\"budget\": 0}", &budget, NULL));
  g_assert_cmpint (budget, ==, 0);
  check_config ("[1]", "scenario.oracle: expected an object");
  check_config ("{\"budget\": 5, \"cost\": 1}", "scenario.oracle.cost: unknown key");
  check_config ("{}", "scenario.oracle.budget: required");
  check_config ("{\"budget\": -1}", "scenario.oracle.budget: expected an integer in [0, 1e12], got -1");
  check_config ("{\"budget\": 1.5}", "got 1.5");
  check_config ("{\"budget\": true}", "got true");
  check_config ("{\"budget\": null}", "got null");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/oracle/budget", test_budget);
  g_test_add_func ("/oracle/invalid-spends-nothing", test_invalid_spends_nothing);
  g_test_add_func ("/oracle/state-round-trip", test_state_round_trip);
  g_test_add_func ("/oracle/config", test_config);
  return g_test_run ();
}
