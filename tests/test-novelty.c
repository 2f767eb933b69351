/* lifelong tests — the toolkit's novelty scores (toolkit/novelty.h) on
 * hand-made logits and features, each expected value worked out beside it. */
#include <lifelong/lifelong.h>
#include <math.h>

#define EPS 1e-9

static void
test_msp (void)
{
  /* row 0: equal logits over 4 classes: 1 - 1/4; row 1: logits (log 3, 0,
   * 0, 0): probabilities 3/6, 1/6, 1/6, 1/6: 1 - 1/2 */
  const LfReal L[] = { 2, 2, 2, 2,
                       (LfReal) log (3.0), 0, 0, 0 };
  double s[2];
  lf_novelty_msp (L, 2, 4, NULL, s);
  g_assert_cmpfloat_with_epsilon (s[0], 0.75, EPS);
  g_assert_cmpfloat_with_epsilon (s[1], 1 - 3.0 / 6.0, 1e-6);
  /* kept classes only: row 1 over classes {0, 1}: 1 - 3/4 */
  const uint8_t keep[] = { 1, 1, 0, 0 };
  lf_novelty_msp (L, 2, 4, keep, s);
  g_assert_cmpfloat_with_epsilon (s[0], 0.5, EPS);
  g_assert_cmpfloat_with_epsilon (s[1], 0.25, 1e-6);
}

static void
test_energy (void)
{
  /* -T log sum exp (l / T): logits (0, 0) at T = 1: -log 2; at T = 2 with
   * logits (2, 2): -2 log (2 e) = -2 (1 + log 2) */
  const LfReal L[] = { 0, 0, 2, 2 };
  double s[2];
  lf_novelty_energy (L, 1, 2, NULL, 1.0, s);
  g_assert_cmpfloat_with_epsilon (s[0], -log (2.0), EPS);
  lf_novelty_energy (L + 2, 1, 2, NULL, 2.0, s + 1);
  g_assert_cmpfloat_with_epsilon (s[1], -2 * (1 + log (2.0)), EPS);
  /* a confident sample (a large logit) scores lower (less novel) */
  const LfReal M[] = { 10, 0, 0, 0 };
  lf_novelty_energy (M, 2, 2, NULL, 1.0, s);
  g_assert_cmpfloat (s[0], <, s[1]);
  /* one kept class: exactly minus its logit */
  const uint8_t keep[] = { 1, 0 };
  lf_novelty_energy (M, 1, 2, keep, 1.0, s);
  g_assert_cmpfloat_with_epsilon (s[0], -10, EPS);
}

static void
test_distance (void)
{
  /* centres (2, 0) and (0, 5) normalise to the unit axes; feature (3, 0)
   * sits on the first (0), (1, 1) is at squared distance
   * (1/sqrt2 - 1)^2 + 1/2 = 2 - sqrt2 from both, (-1, 0) is 4 from the
   * first and 2 from the second */
  const LfReal C[] = { 2, 0, 0, 5 };
  const LfReal F[] = { 3, 0, 1, 1, -1, 0 };
  double s[3];
  lf_novelty_distance (F, 3, 2, C, 2, s);
  g_assert_cmpfloat_with_epsilon (s[0], 0, EPS);
  g_assert_cmpfloat_with_epsilon (s[1], 2 - sqrt (2.0), 1e-7);
  g_assert_cmpfloat_with_epsilon (s[2], 2, EPS);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/novelty/msp", test_msp);
  g_test_add_func ("/novelty/energy", test_energy);
  g_test_add_func ("/novelty/distance", test_distance);
  return g_test_run ();
}
