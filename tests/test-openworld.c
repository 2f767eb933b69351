/* lifelong tests — the open-world scenario's own pieces
 * (framework/scenario-openworld.c): the classes per experience, the
 * streams a class's samples are dealt to, and the open-world metrics
 * (old_accuracy, new_accuracy, novelty_auroc) on a hand-made matrix. */
#include "host.h"
#include <math.h>

/* A scenario of T experiences whose test parts have the given sizes. */
static LfScenario *
fake_scenario (int64_t T, const guint *n_test)
{
  LfScenario *sc = g_new0 (LfScenario, 1);
  sc->n_exp = T;
  sc->known_classes = 2;
  sc->exps = g_new0 (LfExperience, T);
  for (int64_t e = 0; e < T; e++)
    {
      sc->exps[e].test = g_array_new (FALSE, TRUE, sizeof (int64_t));
      g_array_set_size (sc->exps[e].test, n_test[e]);
      sc->exps[e].train = g_array_new (FALSE, TRUE, sizeof (int64_t));
      sc->exps[e].classes = g_array_new (FALSE, FALSE, sizeof (int32_t));
      int32_t c = (int32_t) e;
      g_array_append_val (sc->exps[e].classes, c);
    }
  return sc;
}

static double
member_at (JsonObject *o, const char *key, guint i)
{
  JsonNode *n = json_array_get_element (json_object_get_array_member (o, key), i);
  return JSON_NODE_HOLDS_NULL (n) ? NAN : json_node_get_double (n);
}

/* Three experiences, test sizes 100, 100, 300:
 *   R = [[0.9, 0.0, 0.0],
 *        [0.8, 0.6, 0.0],
 *        [0.7, 0.5, 0.2]]
 *   old_accuracy = R[i][0]: 0.9, 0.8, 0.7
 *   new_accuracy: row 0 null; row 1 R[1][1] = 0.6; row 2 pooled
 *     (0.5 * 100 + 0.2 * 300) / 400 = 0.275 (not the mean 0.35)
 *   novelty_auroc per row 0.8, 0.6, null: the metric is their mean 0.7 */
static void
test_metrics (void)
{
  const guint n_test[] = { 100, 100, 300 };
  LfScenario *sc = fake_scenario (3, n_test);
  const double R[] = { 0.9, 0.0, 0.0, 0.8, 0.6, 0.0, 0.7, 0.5, 0.2 };
  const int64_t rows[] = { 0, 1, 2 };
  const double nov[] = { 0.8, 0.6, NAN };
  JsonObject *metrics = json_object_new (), *top = json_object_new ();
  lf_openworld_result (sc, R, rows, 3, nov, TRUE, metrics, top);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (metrics, "old_accuracy"), 0.7, 1e-12);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (metrics, "new_accuracy"), 0.275, 1e-12);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (metrics, "novelty_auroc"), 0.7, 1e-12);
  JsonObject *ow = json_object_get_object_member (top, "open_world");
  g_assert_cmpstr (json_object_get_string_member (ow, "novelty_score"), ==, "strategy");
  g_assert_cmpfloat (member_at (ow, "old_accuracy", 0), ==, 0.9);
  g_assert_true (isnan (member_at (ow, "new_accuracy", 0)));
  g_assert_cmpfloat_with_epsilon (member_at (ow, "new_accuracy", 1), 0.6, 1e-12);
  g_assert_cmpfloat_with_epsilon (member_at (ow, "new_accuracy", 2), 0.275, 1e-12);
  g_assert_true (isnan (member_at (ow, "novelty_auroc", 2)));
  g_assert_cmpint (json_object_get_int_member (ow, "labels_used"), ==, 0);   /* no oracle */
  /* no defined AUROC at all: the metric is null, not 0 */
  const double none[] = { NAN, NAN, NAN };
  JsonObject *m2 = json_object_new (), *t2 = json_object_new ();
  lf_openworld_result (sc, R, rows, 3, none, FALSE, m2, t2);
  g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (m2, "novelty_auroc")));
  json_object_unref (m2);
  json_object_unref (t2);
  json_object_unref (metrics);
  json_object_unref (top);
  lf_scenario_free (sc);
}

/* Classes per experience: K known, the rest like class-incremental (the
 * first (C-K) mod (T-1) streams one more); the stream a sample is dealt
 * to lies in [first, T) and covers all of it. */
static void
test_layout (void)
{
  LfScenario sc = { .known_classes = 3 };
  /* C 10, T 4: 3 known, 7 over 3 streams: 3, 2, 2 */
  const int64_t want[] = { 3, 3, 2, 2 };
  for (int64_t e = 0; e < 4; e++)
    g_assert_cmpint (lf_openworld_classes_in (&sc, e, 10, 4), ==, want[e]);
  int64_t hits[5] = { 0 };
  for (int64_t i = 0; i < 5000; i++)
    {
      int64_t e = lf_openworld_stream_of (i, 2, 5, 7);
      g_assert_cmpint (e, >=, 2);
      g_assert_cmpint (e, <, 5);
      g_assert_cmpint (e, ==, lf_openworld_stream_of (i, 2, 5, 7));   /* keyed: the same every time */
      hits[e]++;
    }
  for (int e = 2; e < 5; e++)
    g_assert_cmpint (hits[e], >, 5000 / 3 - 200);   /* roughly even */
  g_assert_cmpint (lf_openworld_stream_of (3, 4, 5, 7), ==, 4);   /* the last stream: only one choice */
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/openworld/metrics", test_metrics);
  g_test_add_func ("/openworld/layout", test_layout);
  return g_test_run ();
}
