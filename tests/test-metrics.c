/* lifelong tests — the metrics of docs/metrics.md on hand-made matrices, each
 * expected value worked out by hand beside it; undefined values and their
 * JSON null; the online A_AUC and A_last; the novelty AUROC. */
#include <lifelong/lifelong.h>
#include <json-glib/json-glib.h>
#include <math.h>

#define EPS 1e-12

static void
assert_close (double got, double want)
{
  g_assert_cmpfloat_with_epsilon (got, want, EPS);
}

/* DESIGN.md's example: two experiences, an untrained model at 0.1.
 *   R = [[0.98, 0.00],
 *        [0.41, 0.97]]   b = [0.1, 0.1]
 *   A   = (0.41 + 0.97) / 2                 = 0.69
 *   F   = max(R[0][0]) - R[1][0] = 0.98 - 0.41 = 0.57
 *   BWT = R[1][0] - R[0][0]      = 0.41 - 0.98 = -0.57
 *   FWT = R[0][1] - b[1]         = 0.00 - 0.10 = -0.1
 *   LA  = (0.98 + 0.97) / 2                 = 0.975 */
static const double r2[] = { 0.98, 0.00,
                             0.41, 0.97 };
static const double b2[] = { 0.1, 0.1 };

static void
test_design_example (void)
{
  LfMetrics m;
  lf_metrics_compute (LF_MATRIX_ACCURACY, 2, r2, b2, &m);
  g_assert_cmpint (m.kind, ==, LF_MATRIX_ACCURACY);
  assert_close (m.average, 0.69);
  assert_close (m.average_forgetting, 0.57);
  assert_close (m.bwt, -0.57);
  assert_close (m.fwt, -0.1);
  assert_close (m.learning_accuracy, 0.975);

  /* exact match has the same direction, so the same numbers */
  LfMetrics em;
  lf_metrics_compute (LF_MATRIX_EXACT_MATCH, 2, r2, b2, &em);
  g_assert_cmpint (em.kind, ==, LF_MATRIX_EXACT_MATCH);
  assert_close (em.average, 0.69);
  assert_close (em.average_forgetting, 0.57);
  assert_close (em.bwt, -0.57);
  assert_close (em.fwt, -0.1);
  assert_close (em.learning_accuracy, 0.975);

  /* without a baseline FWT is undefined, everything else unchanged */
  LfMetrics nb;
  lf_metrics_compute (LF_MATRIX_ACCURACY, 2, r2, NULL, &nb);
  g_assert_true (isnan (nb.fwt));
  assert_close (nb.average_forgetting, 0.57);
}

/* Three experiences; training on experience 1 helped experience 0, so its
 * best earlier score is on row 1, not on the diagonal:
 *   R = [[0.50, 0.10, 0.20],
 *        [0.80, 0.90, 0.30],
 *        [0.60, 0.75, 0.95]]   b = [0.10, 0.05, 0.20]
 *   A   = (0.60 + 0.75 + 0.95) / 3 = 2.30 / 3 = 0.76666...
 *   F   = j=0: max(0.50, 0.80) - 0.60 = 0.20
 *         j=1: max(0.90)       - 0.75 = 0.15      -> (0.20 + 0.15) / 2 = 0.175
 *         (with the diagonal instead of the max, j=0 would give -0.10 and
 *          F = 0.025; with row 2 inside the max nothing changes here)
 *   BWT = j=0: 0.60 - 0.50 =  0.10
 *         j=1: 0.75 - 0.90 = -0.15                 -> -0.05 / 2 = -0.025
 *   FWT = j=1: R[0][1] - b[1] = 0.10 - 0.05 = 0.05
 *         j=2: R[1][2] - b[2] = 0.30 - 0.20 = 0.10 -> 0.15 / 2 = 0.075
 *   LA  = (0.50 + 0.90 + 0.95) / 3 = 2.35 / 3 = 0.78333... */
static const double r3[] = { 0.50, 0.10, 0.20,
                             0.80, 0.90, 0.30,
                             0.60, 0.75, 0.95 };
static const double b3[] = { 0.10, 0.05, 0.20 };

static void
test_forgetting_max (void)
{
  LfMetrics m;
  lf_metrics_compute (LF_MATRIX_ACCURACY, 3, r3, b3, &m);
  assert_close (m.average, 2.30 / 3);
  assert_close (m.average_forgetting, 0.175);
  assert_close (m.bwt, -0.025);
  assert_close (m.fwt, 0.075);
  assert_close (m.learning_accuracy, 2.35 / 3);
}

/* The final row is not part of the max: a method that ends better than it
 * ever was has negative forgetting.
 *   R = [[0.5, 0.0],
 *        [0.7, 0.9]]   F = 0.5 - 0.7 = -0.2 (a max over rows 0..1 would say 0)
 *   BWT = 0.7 - 0.5 = 0.2 */
static void
test_negative_forgetting (void)
{
  static const double r[] = { 0.5, 0.0,
                              0.7, 0.9 };
  LfMetrics m;
  lf_metrics_compute (LF_MATRIX_ACCURACY, 2, r, NULL, &m);
  assert_close (m.average_forgetting, -0.2);
  assert_close (m.bwt, 0.2);
  assert_close (m.average, 0.8);
}

/* A loss matrix: lower is better, forgetting is the rise from the lowest
 * earlier loss.
 *   R = [[2.0, 5.0, 6.0],
 *        [1.5, 1.8, 5.5],
 *        [2.5, 2.1, 1.2]]   b = [6.0, 6.0, 6.0]
 *   average loss = (2.5 + 2.1 + 1.2) / 3 = 5.8 / 3 = 1.9333...
 *   F   = j=0: 2.5 - min(2.0, 1.5) = 1.0
 *         j=1: 2.1 - min(1.8)      = 0.3           -> 1.3 / 2 = 0.65
 *         (the accuracy formula, max - final, would give (-0.5 - 0.3) / 2)
 *   BWT = j=0: 2.5 - 2.0 = 0.5, j=1: 2.1 - 1.8 = 0.3 -> 0.4 (positive: worse)
 *   FWT = j=1: 5.0 - 6.0 = -1.0, j=2: 5.5 - 6.0 = -0.5 -> -0.75 (negative: better)
 *   learning loss = (2.0 + 1.8 + 1.2) / 3 = 5.0 / 3 */
static void
test_loss (void)
{
  static const double r[] = { 2.0, 5.0, 6.0,
                              1.5, 1.8, 5.5,
                              2.5, 2.1, 1.2 };
  static const double b[] = { 6.0, 6.0, 6.0 };
  LfMetrics m;
  lf_metrics_compute (LF_MATRIX_LOSS, 3, r, b, &m);
  g_assert_cmpint (m.kind, ==, LF_MATRIX_LOSS);
  assert_close (m.average, 5.8 / 3);
  assert_close (m.average_forgetting, 0.65);
  assert_close (m.bwt, 0.4);
  assert_close (m.fwt, -0.75);
  assert_close (m.learning_accuracy, 5.0 / 3);
  g_assert_false (lf_matrix_kind_higher_is_better (LF_MATRIX_LOSS));
  g_assert_true (lf_matrix_kind_higher_is_better (LF_MATRIX_ACCURACY));
  g_assert_true (lf_matrix_kind_higher_is_better (LF_MATRIX_EXACT_MATCH));
}

/* One experience: nothing to forget or transfer.
 *   R = [[0.9]], b = [0.1]: A = LA = 0.9; F, BWT, FWT undefined. */
static void
test_single (void)
{
  static const double r[] = { 0.9 };
  static const double b[] = { 0.1 };
  LfMetrics m;
  lf_metrics_compute (LF_MATRIX_ACCURACY, 1, r, b, &m);
  assert_close (m.average, 0.9);
  assert_close (m.learning_accuracy, 0.9);
  g_assert_true (isnan (m.average_forgetting));
  g_assert_true (isnan (m.bwt));
  g_assert_true (isnan (m.fwt));
}

/* Joint training: one row, measured after training on everything.
 *   R = [[0.8, 0.7, 0.9]]: A = 2.4 / 3 = 0.8; the rest undefined (no
 *   diagonal, no earlier row).  Two rows of three: A is the last row's mean.
 *   With n_rows == T it is the full computation. */
static void
test_joint_rows (void)
{
  static const double r[] = { 0.8, 0.7, 0.9 };
  LfMetrics m;
  lf_metrics_compute_rows (LF_MATRIX_ACCURACY, 3, 1, r, b3, &m);
  assert_close (m.average, 0.8);
  g_assert_true (isnan (m.average_forgetting));
  g_assert_true (isnan (m.bwt));
  g_assert_true (isnan (m.fwt));
  g_assert_true (isnan (m.learning_accuracy));

  /* rows 0..1 of r3: A = (0.80 + 0.90 + 0.30) / 3 = 2.0 / 3 */
  lf_metrics_compute_rows (LF_MATRIX_ACCURACY, 3, 2, r3, b3, &m);
  assert_close (m.average, 2.0 / 3);
  g_assert_true (isnan (m.learning_accuracy));

  LfMetrics full, rows;
  lf_metrics_compute (LF_MATRIX_ACCURACY, 3, r3, b3, &full);
  lf_metrics_compute_rows (LF_MATRIX_ACCURACY, 3, 3, r3, b3, &rows);
  g_assert_cmpfloat (rows.average, ==, full.average);
  g_assert_cmpfloat (rows.average_forgetting, ==, full.average_forgetting);
  g_assert_cmpfloat (rows.bwt, ==, full.bwt);
  g_assert_cmpfloat (rows.fwt, ==, full.fwt);
  g_assert_cmpfloat (rows.learning_accuracy, ==, full.learning_accuracy);
}

/* A cell that was never measured (NaN) makes exactly the metrics that read
 * it undefined.  r3 with R[1][0] = NaN: F reads it (max over rows 0..1 of
 * column 0); A (row 2), BWT (row 2 and the diagonal), FWT (R[0][1], R[1][2])
 * and LA (the diagonal) do not. */
static void
test_nan_cell (void)
{
  double r[9];
  memcpy (r, r3, sizeof r);
  r[1 * 3 + 0] = NAN;
  LfMetrics m;
  lf_metrics_compute (LF_MATRIX_ACCURACY, 3, r, b3, &m);
  g_assert_true (isnan (m.average_forgetting));
  assert_close (m.average, 2.30 / 3);
  assert_close (m.bwt, -0.025);
  assert_close (m.fwt, 0.075);
  assert_close (m.learning_accuracy, 2.35 / 3);
}

/* Parses a metrics JSON object and checks its keys, in order. */
static JsonObject *
parse_object (JsonParser *p, const char *json, const char *const keys[5])
{
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_data (p, json, -1, &error));
  g_assert_no_error (error);
  JsonNode *root = json_parser_get_root (p);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  JsonObject *o = json_node_get_object (root);
  g_assert_cmpuint (json_object_get_size (o), ==, 5);
  g_autoptr (GList) members = json_object_get_members (o);
  int k = 0;
  for (GList *l = members; l; l = l->next, k++)
    g_assert_cmpstr (l->data, ==, keys[k]);
  return o;
}

static void
test_json (void)
{
  static const char *const acc_keys[5] = { "average_accuracy", "average_forgetting", "bwt", "fwt",
                                           "learning_accuracy" };
  static const char *const loss_keys[5] = { "average_loss", "average_forgetting", "bwt", "fwt",
                                            "learning_loss" };
  LfMetrics m;
  lf_metrics_compute (LF_MATRIX_ACCURACY, 2, r2, b2, &m);
  g_autofree char *json = lf_metrics_to_json (&m);
  g_assert_null (strchr (json, '\n'));
  g_autoptr (JsonParser) p = json_parser_new ();
  JsonObject *o = parse_object (p, json, acc_keys);
  /* the numbers survive the round trip exactly */
  g_assert_cmpfloat (json_object_get_double_member (o, "average_accuracy"), ==, m.average);
  g_assert_cmpfloat (json_object_get_double_member (o, "average_forgetting"), ==, m.average_forgetting);
  g_assert_cmpfloat (json_object_get_double_member (o, "bwt"), ==, m.bwt);
  g_assert_cmpfloat (json_object_get_double_member (o, "fwt"), ==, m.fwt);
  g_assert_cmpfloat (json_object_get_double_member (o, "learning_accuracy"), ==, m.learning_accuracy);

  /* T = 1: NaN is written as null, literally */
  static const double one[] = { 0.5 };
  lf_metrics_compute (LF_MATRIX_ACCURACY, 1, one, NULL, &m);
  g_autofree char *json1 = lf_metrics_to_json (&m);
  g_assert_nonnull (strstr (json1, "\"average_forgetting\":null"));
  g_assert_nonnull (strstr (json1, "\"bwt\":null"));
  g_assert_nonnull (strstr (json1, "\"fwt\":null"));
  g_autoptr (JsonParser) p1 = json_parser_new ();
  o = parse_object (p1, json1, acc_keys);
  g_assert_cmpfloat (json_object_get_double_member (o, "average_accuracy"), ==, 0.5);
  g_assert_true (json_object_get_null_member (o, "average_forgetting"));
  g_assert_true (json_object_get_null_member (o, "bwt"));
  g_assert_true (json_object_get_null_member (o, "fwt"));
  g_assert_false (json_object_get_null_member (o, "learning_accuracy"));

  /* infinities are not JSON numbers either */
  m.average = INFINITY;
  g_autofree char *json_inf = lf_metrics_to_json (&m);
  g_assert_nonnull (strstr (json_inf, "\"average_accuracy\":null"));

  /* a loss matrix says so in its keys */
  static const double loss[] = { 2.0, 3.0,
                                 2.5, 1.0 };
  lf_metrics_compute (LF_MATRIX_LOSS, 2, loss, NULL, &m);
  g_autofree char *json_loss = lf_metrics_to_json (&m);
  g_autoptr (JsonParser) p2 = json_parser_new ();
  o = parse_object (p2, json_loss, loss_keys);
  g_assert_cmpfloat (json_object_get_double_member (o, "average_loss"), ==, 1.75);
  g_assert_cmpfloat (json_object_get_double_member (o, "average_forgetting"), ==, 0.5);
  g_assert_true (json_object_get_null_member (o, "fwt"));
}

static void
test_kind_names (void)
{
  const LfMatrixKind kinds[] = { LF_MATRIX_ACCURACY, LF_MATRIX_LOSS, LF_MATRIX_EXACT_MATCH };
  const char *const names[] = { "accuracy", "loss", "exact_match" };
  for (unsigned i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_assert_cmpstr (lf_matrix_kind_name (kinds[i]), ==, names[i]);
      LfMatrixKind k = (LfMatrixKind) 99;
      g_assert_true (lf_matrix_kind_from_name (names[i], &k));
      g_assert_cmpint (k, ==, kinds[i]);
    }
  LfMatrixKind k = LF_MATRIX_LOSS;
  g_assert_false (lf_matrix_kind_from_name ("Accuracy", &k));
  g_assert_false (lf_matrix_kind_from_name (NULL, &k));
  g_assert_cmpint (k, ==, LF_MATRIX_LOSS);
}

/* A_AUC = sum_k acc[k] * (s[k] - s[k-1]) / s[n-1], s[-1] = 0. */
static void
test_auc (void)
{
  /* uneven: acc 0.2 after 100 samples, 0.5 after 200, 0.8 after 400:
   *   (0.2 * 100 + 0.5 * 100 + 0.8 * 200) / 400 = 230 / 400 = 0.575 */
  const double acc[] = { 0.2, 0.5, 0.8 };
  const double at[] = { 100, 200, 400 };
  assert_close (lf_metrics_auc (acc, at, 3), 0.575);
  /* evenly spaced from the first interval on: the mean, 1.5 / 3 = 0.5 */
  const double even[] = { 50, 100, 150 };
  assert_close (lf_metrics_auc (acc, even, 3), 0.5);
  assert_close (lf_metrics_auc (acc, NULL, 3), 0.5);
  /* a measurement before any training stands for no samples:
   *   acc 0.1 at 0, 0.4 at 100, 0.7 at 300: (0 + 40 + 0.7 * 200) / 300 = 0.6 */
  const double acc0[] = { 0.1, 0.4, 0.7 };
  const double at0[] = { 0, 100, 300 };
  assert_close (lf_metrics_auc (acc0, at0, 3), 0.6);
  /* one point: that accuracy */
  assert_close (lf_metrics_auc (acc, at, 1), 0.2);
  /* nothing measured, nothing trained: undefined */
  g_assert_true (isnan (lf_metrics_auc (NULL, NULL, 0)));
  g_assert_true (isnan (lf_metrics_auc (acc0, at0, 1)));
  /* A_last */
  assert_close (lf_metrics_a_last (acc, 3), 0.8);
  g_assert_true (isnan (lf_metrics_a_last (NULL, 0)));
}

/* Sample counts that go backwards are a caller's bug: a critical, and NaN. */
static void
test_auc_misuse (void)
{
  const double acc[] = { 0.2, 0.5 };
  const double at[] = { 200, 100 };
  g_test_expect_message (NULL, G_LOG_LEVEL_CRITICAL, "*at_samples*");
  double v = lf_metrics_auc (acc, at, 2);
  g_test_assert_expected_messages ();
  g_assert_true (isnan (v));
}

/* EasyEdit's token-level scores on hand-made predictions: per sample the
 * fraction of answer tokens right, averaged within an edit, then over
 * edits; exact match; a sample without tokens left out. */
static void
test_editing (void)
{
  /* sample 0: 3 tokens, 2 right; sample 1: 1 token, right; sample 2: 2
   * tokens, none right; sample 3: no tokens */
  const int32_t pred[] = { 1, 2, 9, 4, 7, 7 };
  const int32_t ref[] = { 1, 2, 3, 4, 5, 6 };
  const int64_t offs[] = { 0, 3, 4, 6, 6 };
  /* each sample its own edit: (2/3 + 1 + 0) / 3 */
  g_assert_cmpfloat_with_epsilon (lf_metrics_editing (pred, ref, offs, NULL, 4, FALSE), (2.0 / 3 + 1) / 3, 1e-12);
  g_assert_cmpfloat_with_epsilon (lf_metrics_editing (pred, ref, offs, NULL, 4, TRUE), 1.0 / 3, 1e-12);
  /* samples 0 and 1 paraphrase edit 5, sample 2 is edit 8: ((2/3 + 1) / 2 + 0) / 2 */
  const int64_t group[] = { 5, 5, 8, 8 };
  g_assert_cmpfloat_with_epsilon (lf_metrics_editing (pred, ref, offs, group, 4, FALSE), (5.0 / 6) / 2, 1e-12);
  g_assert_cmpfloat_with_epsilon (lf_metrics_editing (pred, ref, offs, group, 4, TRUE), 0.25, 1e-12);
  /* locality: predictions against themselves are 1 exactly */
  g_assert_cmpfloat (lf_metrics_editing (pred, pred, offs, group, 4, FALSE), ==, 1.0);
  /* nothing to score: NaN, never 0 */
  g_assert_true (isnan (lf_metrics_editing (pred, ref, offs + 3, NULL, 1, FALSE)));
  g_assert_true (isnan (lf_metrics_editing (pred, ref, offs, NULL, 0, FALSE)));
}

/* Novelty AUROC on hand-made score lists: the fraction of (positive,
 * negative) pairs the positive scores higher, ties counting one half. */
static void
test_auroc (void)
{
  /* perfectly separated, then reversed */
  const double s4[] = { 0.9, 0.8, 0.7, 0.6 };
  const uint8_t top[] = { 1, 1, 0, 0 }, bottom[] = { 0, 0, 1, 1 };
  g_assert_cmpfloat (lf_metrics_auroc (s4, top, 4), ==, 1.0);
  g_assert_cmpfloat (lf_metrics_auroc (s4, bottom, 4), ==, 0.0);
  /* positives 0.35, 0.8; negatives 0.1, 0.4: 0.35 beats 0.1 only, 0.8
   * beats both: 3 of 4 pairs */
  const double s[] = { 0.1, 0.4, 0.35, 0.8 };
  const uint8_t p[] = { 0, 0, 1, 1 };
  g_assert_cmpfloat (lf_metrics_auroc (s, p, 4), ==, 0.75);
  /* ties: positives 2, 3; negatives 1, 2.  2 beats 1 and ties 2 (1.5),
   * 3 beats both (2): 3.5 / 4 */
  const double t[] = { 1, 2, 2, 3 };
  const uint8_t tp[] = { 0, 1, 0, 1 };
  g_assert_cmpfloat (lf_metrics_auroc (t, tp, 4), ==, 0.875);
  /* the order of the list does not matter */
  const double t2[] = { 3, 2, 1, 2 };
  const uint8_t tp2[] = { 1, 0, 0, 1 };
  g_assert_cmpfloat (lf_metrics_auroc (t2, tp2, 4), ==, 0.875);
  /* a tied group of three (one positive, two negatives) between others:
   * positives 5 (beats 0, ties 5, 5: 1 + 1) and 9 (beats all 3):
   * 5 / 6 */
  const double g[] = { 5, 0, 5, 9, 5 };
  const uint8_t gp[] = { 1, 0, 0, 1, 0 };
  g_assert_cmpfloat_with_epsilon (lf_metrics_auroc (g, gp, 5), 5.0 / 6.0, EPS);
  /* every score equal: chance */
  const double eq[] = { 1, 1, 1, 1, 1 };
  const uint8_t eqp[] = { 1, 0, 1, 0, 0 };
  g_assert_cmpfloat (lf_metrics_auroc (eq, eqp, 5), ==, 0.5);
  /* undefined: no positives, no negatives, an empty list, a NaN score */
  g_assert_true (isnan (lf_metrics_auroc (s4, (const uint8_t[]) { 0, 0, 0, 0 }, 4)));
  g_assert_true (isnan (lf_metrics_auroc (s4, (const uint8_t[]) { 1, 1, 1, 1 }, 4)));
  g_assert_true (isnan (lf_metrics_auroc (s4, top, 0)));
  const double sn[] = { 0.1, NAN, 0.3 };
  g_assert_true (isnan (lf_metrics_auroc (sn, (const uint8_t[]) { 0, 1, 1 }, 3)));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/design-example", test_design_example);
  g_test_add_func ("/metrics/forgetting-max", test_forgetting_max);
  g_test_add_func ("/metrics/negative-forgetting", test_negative_forgetting);
  g_test_add_func ("/metrics/loss", test_loss);
  g_test_add_func ("/metrics/single-experience", test_single);
  g_test_add_func ("/metrics/joint-rows", test_joint_rows);
  g_test_add_func ("/metrics/nan-cell", test_nan_cell);
  g_test_add_func ("/metrics/json", test_json);
  g_test_add_func ("/metrics/kind-names", test_kind_names);
  g_test_add_func ("/metrics/auc", test_auc);
  g_test_add_func ("/metrics/auc-misuse", test_auc_misuse);
  g_test_add_func ("/metrics/editing", test_editing);
  g_test_add_func ("/metrics/auroc", test_auroc);
  return g_test_run ();
}
