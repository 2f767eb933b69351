/* lifelong tests — WISE's activation score (plugins/strategies/wise-ops.c)
 * against central differences in double precision, mean and max over the
 * positions, with padding left out; and its values on a hand-made case. */
#include "gradcheck.h"
#include "../plugins/strategies/wise-ops.h"

/* 2 sequences of 3 positions, d = 4; sequence 1's last position is padding */
static const int32_t ws_tok[6] = { 1, 2, 3, 4, 5, LF_TOKEN_PAD };

typedef struct {
  gboolean mean;
  const int32_t *tok;
} WsCase;

static LfTensor *
fn_score (LfTensor *const *in, void *ctx)
{
  WsCase *c = ctx;
  return wise_activation_score (in[0], in[1], 2, 3, c->tok, c->mean);
}

static void
test_score_values (void)
{
  /* z - y per row: (3, 4, 0, 0) -> 5; (0, 0, 0, 1) -> 1; (1, 0, 0, 0) -> 1;
   *                (0, 0, 6, 8) -> 10; 0 -> 0; padding (9, 9, 9, 9) */
  int64_t sh[3] = { 2, 3, 4 };
  LfReal z[24] = { 3, 4, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 6, 8, 0, 0, 0, 0, 9, 9, 9, 9 };
  LfReal y[24] = { 0 };
  lf_tape_push (FALSE);
  LfTensor *tz = lf_tensor_from_data (3, sh, z), *ty = lf_tensor_from_data (3, sh, y);
  const LfReal *mean = lf_tensor_data (wise_activation_score (tz, ty, 2, 3, ws_tok, TRUE));
  g_assert_cmpfloat_with_epsilon (mean[0], 7.0 / 3, 1e-12);
  g_assert_cmpfloat_with_epsilon (mean[1], 5.0, 1e-12);     /* (10 + 0) / 2: the padding left out */
  const LfReal *max = lf_tensor_data (wise_activation_score (tz, ty, 2, 3, ws_tok, FALSE));
  g_assert_cmpfloat_with_epsilon (max[0], 5.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (max[1], 10.0, 1e-12);
  /* without tokens every position counts: the padding row's norm 18 */
  max = lf_tensor_data (wise_activation_score (tz, ty, 2, 3, NULL, FALSE));
  g_assert_cmpfloat_with_epsilon (max[1], 18.0, 1e-12);
  lf_tape_pop ();
}

static void
test_score_backward (void)
{
  int64_t sh[2] = { 6, 4 };
  const struct { const char *what; WsCase c; } cases[] = {
    { "wise_activation_score mean", { TRUE, ws_tok } },
    { "wise_activation_score max", { FALSE, ws_tok } },
    { "wise_activation_score mean, no tokens", { TRUE, NULL } },
  };
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      LfTensor *in[2] = { gc_param (2, sh, 1 + k, -1, 1), gc_param (2, sh, 11 + k, -1, 1) };
      WsCase c = cases[k].c;
      gc_check (cases[k].what, fn_score, &c, 2, in, GC_TOL);
      lf_tensor_free (in[0]);
      lf_tensor_free (in[1]);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wise-ops/score/values", test_score_values);
  g_test_add_func ("/wise-ops/score/backward", test_score_backward);
  return g_test_run ();
}
