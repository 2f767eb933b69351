/* lifelong tests — the mixture-of-experts ops (plugins/strategies/moe-ops.c)
 * against central differences in double precision: the weighted scatter
 * (moe_combine), a whole routed layer with linear experts (gather, the
 * experts' GEMMs on their rows only, the combine) for both gate
 * normalisations, with and without skipped rows, and the balance loss. */
#include "gradcheck.h"
#include "../plugins/strategies/moe-ops.h"

/* 5 (row, expert) pairs from 3 gate rows into 4 output rows (row 2 of the
 * output gets two, row 3 none) */
static const int32_t cb_dst[5] = { 0, 2, 1, 2, 0 }, cb_grow[5] = { 0, 1, 2, 1, 0 }, cb_exp[5] = { 1, 0, 2, 2, 0 };

static LfTensor *
fn_combine (LfTensor *const *in, void *ctx)
{
  (void) ctx;
  return moe_combine (in[0], in[1], 5, cb_dst, cb_grow, cb_exp, 4);
}

static void
test_combine_values (void)
{
  int64_t ys[2] = { 5, 2 }, gs[2] = { 3, 3 };
  LfReal y[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, g[9] = { .1, .2, .3, .4, .5, .6, .7, .8, .9 };
  lf_tape_push (FALSE);
  LfTensor *o = moe_combine (lf_tensor_from_data (2, ys, y), lf_tensor_from_data (2, gs, g), 5, cb_dst, cb_grow,
                             cb_exp, 4);
  const LfReal *d = lf_tensor_data (o);
  /* row 0: g[0,1] y0 + g[0,0] y4 = .2 (1, 2) + .1 (9, 10) */
  g_assert_cmpfloat_with_epsilon (d[0], .2 * 1 + .1 * 9, 1e-12);
  g_assert_cmpfloat_with_epsilon (d[1], .2 * 2 + .1 * 10, 1e-12);
  /* row 1: g[2,2] y2 = .9 (5, 6) */
  g_assert_cmpfloat_with_epsilon (d[2], .9 * 5, 1e-12);
  /* row 2: g[1,0] y1 + g[1,2] y3 = .4 (3, 4) + .6 (7, 8) */
  g_assert_cmpfloat_with_epsilon (d[5], .4 * 4 + .6 * 8, 1e-12);
  g_assert_cmpfloat (d[6], ==, 0);
  g_assert_cmpfloat (d[7], ==, 0);
  lf_tape_pop ();
}

static void
test_combine_backward (void)
{
  int64_t ys[2] = { 5, 3 }, gs[2] = { 3, 3 };
  LfTensor *in[2] = { gc_param (2, ys, 1, -1, 1), gc_param (2, gs, 2, 0, 1) };
  gc_check ("moe_combine", fn_combine, NULL, 2, in, GC_TOL);
  lf_tensor_free (in[0]);
  lf_tensor_free (in[1]);
}

/* a routed layer: x (6, 4), router (4 experts, 4), experts linear 4 -> 4 */
typedef struct {
  gboolean norm_all, skip;
  int64_t  k;
  LfTensor *w[4];
} Layer;

static LfTensor *
lin_expert (int64_t e, LfTensor *x, void *user)
{
  Layer *l = user;
  return lf_tanh (lf_linear (x, l->w[e], NULL));
}

static LfTensor *
fn_layer (LfTensor *const *in, void *ctx)
{
  Layer *l = ctx;
  for (int e = 0; e < 4; e++)
    l->w[e] = in[2 + e % 2] ;   /* two weight tensors shared by pairs: fewer inputs */
  LfTensor *x = in[0];
  /* skip: rows 1 and 4 are padding: 4 routed rows scattered into 6 */
  static const int32_t keep[4] = { 0, 2, 3, 5 };
  LfTensor *xa = l->skip ? lf_embedding (x, keep, 4) : x;
  int64_t rows = lf_tensor_dim (xa, 0);
  LfTensor *logits = lf_linear (xa, in[1], NULL);
  uint8_t *sel = lf_scope_alloc ((size_t) (rows * 4));
  moe_topk (lf_tensor_data (logits), rows, 4, l->k, sel);
  LfTensor *g = moe_gates (logits, sel, l->norm_all);
  LfTensor *y = moe_dispatch (xa, g, sel, l->skip ? keep : NULL, 6, lin_expert, l);
  return lf_add (y, lf_scale (moe_balance_loss (logits, sel), 0.5));
}

static void
test_layer_backward (void)
{
  int64_t xs[2] = { 6, 4 }, rs[2] = { 4, 4 };
  for (int v = 0; v < 6; v++)
    {
      Layer l = { .norm_all = v & 1, .skip = v >= 4, .k = v < 2 ? 1 : 2 };
      LfTensor *in[4] = { gc_param (2, xs, 10 + v, -1, 1), gc_param (2, rs, 20 + v, -1, 1),
                          gc_param (2, rs, 30 + v, -1, 1), gc_param (2, rs, 40 + v, -1, 1) };
      g_autofree char *what = g_strdup_printf ("moe layer k %" G_GINT64_FORMAT " %s%s", l.k,
                                               l.norm_all ? "softmax-all" : "softmax-topk", l.skip ? " skipped rows" : "");
      gc_check (what, fn_layer, &l, 4, in, GC_TOL);
      for (int i = 0; i < 4; i++)
        lf_tensor_free (in[i]);
    }
}

/* top-k: k per row, ties to the lower index */
static void
test_topk (void)
{
  LfReal l[8] = { 1, 3, 3, 0, 5, 5, 5, 5 };
  uint8_t sel[8];
  moe_topk (l, 2, 4, 2, sel);
  const uint8_t want[8] = { 0, 1, 1, 0, 1, 1, 0, 0 };
  for (int i = 0; i < 8; i++)
    g_assert_cmpint (sel[i], ==, want[i]);
}

/* uniform routing gives 1; everything on one expert with its probability 1 gives N */
static void
test_balance_values (void)
{
  int64_t s[2] = { 2, 2 };
  lf_tape_push (FALSE);
  LfReal eq[4] = { 0, 0, 0, 0 }, one[4] = { 100, 0, 100, 0 };
  uint8_t sel_eq[4] = { 1, 0, 0, 1 }, sel_one[4] = { 1, 0, 1, 0 };
  g_assert_cmpfloat_with_epsilon (lf_tensor_data (moe_balance_loss (lf_tensor_from_data (2, s, eq), sel_eq))[0],
                                  1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (lf_tensor_data (moe_balance_loss (lf_tensor_from_data (2, s, one), sel_one))[0],
                                  2.0, 1e-12);
  lf_tape_pop ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/moe-ops/topk", test_topk);
  g_test_add_func ("/moe-ops/combine/values", test_combine_values);
  g_test_add_func ("/moe-ops/combine/backward", test_combine_backward);
  g_test_add_func ("/moe-ops/layer/backward", test_layer_backward);
  g_test_add_func ("/moe-ops/balance/values", test_balance_values);
  return g_test_run ();
}
