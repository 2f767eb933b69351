/* lifelong tests — the tape: scopes free their activations, backward
 * accumulates, no-record scopes record nothing, lf_grad_into computes a side
 * gradient without disturbing any .grad or the step's tape, frozen weights
 * get no gradient GEMM, and plugin-defined ops differentiate. */
#include "gradcheck.h"

static LfTensor *W1, *W2, *X;

static void
setup (void)
{
  int64_t s1[2] = { 6, 5 }, s2[2] = { 3, 6 }, sx[2] = { 4, 5 };
  W1 = gc_param (2, s1, 1, -1, 1);
  W2 = gc_param (2, s2, 2, -1, 1);
  X = lf_tensor_new_owned (2, sx);
  for (int i = 0; i < 20; i++)
    lf_tensor_data (X)[i] = lf_rng_uniform_at (3, (uint64_t) i) - 0.5;
}

static void
teardown (void)
{
  lf_tensor_free (W1);
  lf_tensor_free (W2);
  lf_tensor_free (X);
}

/* a two-layer linear net, the loss a projection of its output */
static LfTensor *
net_loss (LfTensor *x)
{
  return gc_project (lf_linear (lf_linear (x, W1, NULL), W2, NULL));
}

static void
test_scope_frees (void)
{
  setup ();
  size_t before = lf_arena_used ();
  lf_tape_push (TRUE);
  for (int i = 0; i < 100; i++)
    net_loss (X);
  g_assert_cmpuint (lf_arena_used (), >, before);
  lf_tape_pop ();
  g_assert_cmpuint (lf_arena_used (), ==, before);
  /* evaluation: nothing recorded, nothing requires a gradient */
  lf_tape_push (FALSE);
  g_assert_false (lf_tape_recording ());
  LfTensor *y = lf_linear (X, W1, NULL);
  g_assert_false (lf_tensor_requires_grad (y));
  /* a recording scope inside an evaluation scope records again */
  lf_tape_push (TRUE);
  g_assert_true (lf_tensor_requires_grad (lf_linear (X, W1, NULL)));
  lf_tape_pop ();
  lf_tape_pop ();
  teardown ();
}

static void
test_backward_accumulates (void)
{
  setup ();
  lf_tape_push (TRUE);
  LfTensor *loss = net_loss (X);
  lf_backward (loss);
  LfReal *g = g_memdup2 (lf_tensor_grad (W1), 30 * sizeof (LfReal));
  lf_backward (loss);
  for (int i = 0; i < 30; i++)
    g_assert_cmpfloat_with_epsilon (lf_tensor_grad (W1)[i], 2 * g[i], 1e-12);
  lf_tape_pop ();
  lf_tensor_zero_grad (W1);
  g_assert_null (lf_tensor_grad (W1));
  g_free (g);
  teardown ();
}

static void
test_grad_into (void)
{
  setup ();
  /* reference: plain backward */
  lf_tape_push (TRUE);
  lf_backward (net_loss (X));
  lf_tape_pop ();
  LfReal ref1[30], ref2[18];
  memcpy (ref1, lf_tensor_grad (W1), sizeof ref1);
  memcpy (ref2, lf_tensor_grad (W2), sizeof ref2);

  /* a step in progress: its tape and W's grads must survive a side gradient */
  lf_tensor_zero_grad (W1);
  lf_tensor_zero_grad (W2);
  lf_tape_push (TRUE);
  LfTensor *h = lf_linear (X, W1, NULL);
  LfTensor *main_loss = gc_project (lf_linear (h, W2, NULL));

  LfReal side1[30], side2[18];
  LfTensor *params[2] = { W1, W2 };
  LfReal *grads[2] = { side1, side2 };
  lf_tape_push (TRUE);
  LfGemmStats s0 = lf_gemm_stats ();
  LfTensor *side_loss = net_loss (X);
  lf_grad_into (side_loss, 2, params, grads);
  LfGemmStats s1 = lf_gemm_stats ();
  /* a side loss on the step's own features: h is a constant here */
  LfReal side_only2[18];
  LfTensor *only[1] = { W2 };
  LfReal *only_g[1] = { side_only2 };
  lf_grad_into (gc_project (lf_linear (h, W2, NULL)), 1, only, only_g);
  LfGemmStats s2 = lf_gemm_stats ();
  lf_tape_pop ();
  for (int i = 0; i < 30; i++)
    g_assert_cmpfloat_with_epsilon (side1[i], ref1[i], 1e-12);
  for (int i = 0; i < 18; i++)
    {
      g_assert_cmpfloat_with_epsilon (side2[i], ref2[i], 1e-12);
      g_assert_cmpfloat_with_epsilon (side_only2[i], ref2[i], 1e-12);
    }
  /* 2 forward GEMMs, backward: dW2, dH, dW1 (no dX: X needs no gradient) */
  g_assert_cmpint (s1.calls - s0.calls, ==, 2 + 3);
  /* only W2 was asked for: one forward GEMM and dW2 alone */
  g_assert_cmpint (s2.calls - s1.calls, ==, 1 + 1);
  g_assert_null (lf_tensor_grad (W1));
  g_assert_null (lf_tensor_grad (W2));

  lf_backward (main_loss);
  lf_tape_pop ();
  for (int i = 0; i < 30; i++)
    g_assert_cmpfloat (lf_tensor_grad (W1)[i], ==, ref1[i]);
  for (int i = 0; i < 18; i++)
    g_assert_cmpfloat (lf_tensor_grad (W2)[i], ==, ref2[i]);
  teardown ();
}

static void
test_frozen_no_gemm (void)
{
  setup ();
  lf_tensor_set_requires_grad (W1, FALSE);
  lf_tape_push (TRUE);
  LfTensor *loss = net_loss (X);
  LfGemmStats s0 = lf_gemm_stats ();
  lf_backward (loss);
  LfGemmStats s1 = lf_gemm_stats ();
  lf_tape_pop ();
  /* only dW2: neither dH (nothing trainable below) nor dW1 */
  g_assert_cmpint (s1.calls - s0.calls, ==, 1);
  g_assert_null (lf_tensor_grad (W1));
  g_assert_nonnull (lf_tensor_grad (W2));
  /* the first layer frozen: the gradient flows through it to the input */
  lf_tensor_set_requires_grad (W1, TRUE);
  lf_tensor_set_requires_grad (W2, FALSE);
  lf_tape_push (TRUE);
  loss = net_loss (X);
  s0 = lf_gemm_stats ();
  lf_backward (loss);
  s1 = lf_gemm_stats ();
  lf_tape_pop ();
  g_assert_cmpint (s1.calls - s0.calls, ==, 2);   /* dH, dW1 */
  g_assert_null (lf_tensor_grad (W2));
  teardown ();
}

/* a plugin's op: y = x^3, backward 3 x^2 */
static void
cube_forward (void *ctx, int n, LfTensor *const *in, LfTensor *out)
{
  (void) ctx; (void) n;
  for (int64_t i = 0; i < lf_tensor_numel (out); i++)
    {
      LfReal x = lf_tensor_data (in[0])[i];
      lf_tensor_data (out)[i] = x * x * x;
    }
}

static void
cube_backward (void *ctx, int n, LfTensor *const *in, LfTensor *out, const LfReal *og, LfReal *const *ig)
{
  (void) ctx; (void) n; (void) out;
  for (int64_t i = 0; i < lf_tensor_numel (in[0]); i++)
    {
      LfReal x = lf_tensor_data (in[0])[i];
      ig[0][i] += 3 * x * x * og[i];
    }
}

static const LfCustomOp cube_op = { sizeof (LfCustomOp), "cube", cube_forward, cube_backward };

static LfTensor *
cube_fn (LfTensor *const *in, void *ctx)
{
  (void) ctx;
  /* used twice so the backward must add, not overwrite */
  LfTensor *x = lf_linear (in[0], in[1], NULL);
  LfTensor *c = lf_custom (&cube_op, NULL, 1, &x, lf_tensor_ndim (x), lf_tensor_shape (x));
  LfTensor *both[2] = { c, x };
  (void) both;
  return lf_linear (c, in[2], NULL);
}

static void
test_custom_op (void)
{
  int64_t sx[2] = { 3, 4 }, sw[2] = { 5, 4 }, sv[2] = { 2, 5 };
  LfTensor *in[3] = { gc_param (2, sx, 31, -1, 1), gc_param (2, sw, 32, -1, 1), gc_param (2, sv, 33, -1, 1) };
  gc_check ("custom cube", cube_fn, NULL, 3, in, GC_TOL);
  for (int i = 0; i < 3; i++)
    lf_tensor_free (in[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/autograd/scope-frees", test_scope_frees);
  g_test_add_func ("/autograd/backward-accumulates", test_backward_accumulates);
  g_test_add_func ("/autograd/grad-into", test_grad_into);
  g_test_add_func ("/autograd/frozen-no-gemm", test_frozen_no_gemm);
  g_test_add_func ("/autograd/custom-op", test_custom_op);
  return g_test_run ();
}
