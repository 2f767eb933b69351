/* lifelong tests — a training run gives bitwise the same weights at 1 and 2
 * threads: BLIS never splits k, and every reduction of the engine is chunked
 * in a fixed order.  Sizes are chosen so every parallel path runs. */
#include "tensor-private.h"

#define B 256
#define D 300
#define H 512
#define C 10

static void
train (int threads, LfTensor **P, int n_steps)
{
  lf_set_threads (threads);
  for (int i = 0; i < 6; i++)
    for (int64_t j = 0; j < lf_tensor_numel (P[i]); j++)
      lf_tensor_data (P[i])[j] = (LfReal) (0.1 * (lf_rng_uniform_at (100 + (uint64_t) i, (uint64_t) j) - 0.5));
  LfOptimConfig oc;
  lf_optim_config_init (&oc, LF_OPTIM_ADAMW);
  LfOptimizer *opt = lf_optimizer_new (&oc);
  lf_optimizer_set_params (opt, 6, P);
  int32_t y[B];
  for (int s = 0; s < n_steps; s++)
    {
      lf_tape_push (TRUE);
      int64_t xs[2] = { B, D };
      LfTensor *x = lf_tensor_new (2, xs);
      for (int64_t j = 0; j < B * D; j++)
        lf_tensor_data (x)[j] = (LfReal) lf_rng_uniform_at (7 + (uint64_t) s, (uint64_t) j);
      for (int r = 0; r < B; r++)
        y[r] = (int32_t) (lf_rng_uniform_at (9 + (uint64_t) s, (uint64_t) r) * C);
      LfTensor *h = lf_gelu (lf_linear (x, P[0], P[1]));
      h = lf_dropout (lf_layernorm (h, NULL, NULL, 1e-5), 0.1, (uint64_t) s);
      h = lf_relu (lf_linear (h, P[2], P[3]));
      LfTensor *logits = lf_linear (h, P[4], P[5]);
      LfCrossEntropyOptions o = LF_CROSS_ENTROPY_OPTIONS_INIT;
      o.label_smoothing = 0.1;
      LfTensor *loss = lf_add (lf_cross_entropy (logits, y, &o),
                               lf_scale (lf_mean (lf_sqr (h)), 1e-3));
      lf_optimizer_zero_grad (opt);
      lf_backward (loss);
      lf_clip_grad_norm (6, P, 1.0);
      lf_optimizer_step (opt);
      lf_tape_pop ();
    }
  lf_optimizer_free (opt);
}

static void
test_threads_bitwise (void)
{
  int64_t shapes[6][2] = { { H, D }, { H, 0 }, { H, H }, { H, 0 }, { C, H }, { C, 0 } };
  LfTensor *P1[6], *P2[6];
  for (int i = 0; i < 6; i++)
    {
      int nd = shapes[i][1] ? 2 : 1;
      P1[i] = lf_param_new ("p", nd, shapes[i]);
      P2[i] = lf_param_new ("p", nd, shapes[i]);
    }
  train (1, P1, 5);
  train (2, P2, 5);
  lf_set_threads (1);
  /* the run trained: weights moved away from their start */
  LfReal start = (LfReal) (0.1 * (lf_rng_uniform_at (100, 0) - 0.5));
  g_assert_cmpfloat (lf_tensor_data (P1[0])[0], !=, start);
  for (int i = 0; i < 6; i++)
    {
      g_assert_cmpmem (lf_tensor_data (P1[i]), (size_t) lf_tensor_numel (P1[i]) * sizeof (LfReal),
                       lf_tensor_data (P2[i]), (size_t) lf_tensor_numel (P2[i]) * sizeof (LfReal));
      lf_tensor_free (P1[i]);
      lf_tensor_free (P2[i]);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/determinism/threads-bitwise", test_threads_bitwise);
  return g_test_run ();
}
