/* lifelong tests — matmul (every transpose, batched and shared operands)
 * and linear: values against a naive loop, gradients against finite
 * differences. */
#include "gradcheck.h"

typedef struct { gboolean ta, tb; } MmCtx;

static LfTensor *
mm_fn (LfTensor *const *in, void *ctx)
{
  MmCtx *c = ctx;
  return lf_matmul_t (in[0], c->ta, in[1], c->tb);
}

static void
naive_mm (const LfReal *a, gboolean ta, const LfReal *b, gboolean tb,
          int64_t M, int64_t N, int64_t K, LfReal *c)
{
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++)
      {
        double s = 0;
        for (int64_t k = 0; k < K; k++)
          s += (ta ? a[k * M + i] : a[i * K + k]) * (tb ? b[j * K + k] : b[k * N + j]);
        c[i * N + j] = s;
      }
}

static void
test_matmul_2d (void)
{
  const int64_t M = 3, N = 4, K = 5;
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++)
      {
        int64_t sa[2] = { ta ? K : M, ta ? M : K }, sb[2] = { tb ? N : K, tb ? K : N };
        LfTensor *in[2] = { gc_param (2, sa, 1 + ta, -1, 1), gc_param (2, sb, 3 + tb, -1, 1) };
        MmCtx c = { ta, tb };
        LfTensor *out = mm_fn (in, &c);
        g_assert_cmpint (lf_tensor_dim (out, 0), ==, M);
        g_assert_cmpint (lf_tensor_dim (out, 1), ==, N);
        LfReal ref[12];
        naive_mm (lf_tensor_data (in[0]), ta, lf_tensor_data (in[1]), tb, M, N, K, ref);
        for (int i = 0; i < M * N; i++)
          g_assert_cmpfloat_with_epsilon (lf_tensor_data (out)[i], ref[i], 1e-12);
        char name[64];
        g_snprintf (name, sizeof name, "matmul ta=%d tb=%d", ta, tb);
        gc_check (name, mm_fn, &c, 2, in, GC_TOL);
        lf_tensor_free (in[0]);
        lf_tensor_free (in[1]);
      }
}

static void
test_matmul_batched (void)
{
  for (int shared = 0; shared < 2; shared++)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++)
        {
          int64_t sa[3] = { 2, ta ? 4 : 3, ta ? 3 : 4 };
          int64_t sb3[3] = { 2, tb ? 5 : 4, tb ? 4 : 5 };
          LfTensor *a = gc_param (3, sa, 11, -1, 1);
          LfTensor *b = shared ? gc_param (2, sb3 + 1, 12, -1, 1) : gc_param (3, sb3, 13, -1, 1);
          LfTensor *in[2] = { a, b };
          MmCtx c = { ta, tb };
          LfTensor *out = mm_fn (in, &c);
          g_assert_cmpint (lf_tensor_ndim (out), ==, 3);
          g_assert_cmpint (lf_tensor_dim (out, 1), ==, 3);
          g_assert_cmpint (lf_tensor_dim (out, 2), ==, 5);
          for (int i = 0; i < 2; i++)
            {
              LfReal ref[15];
              naive_mm (lf_tensor_data (a) + i * 12, ta, lf_tensor_data (b) + (shared ? 0 : i * 20), tb,
                        3, 5, 4, ref);
              for (int j = 0; j < 15; j++)
                g_assert_cmpfloat_with_epsilon (lf_tensor_data (out)[i * 15 + j], ref[j], 1e-12);
            }
          char name[64];
          g_snprintf (name, sizeof name, "batched matmul shared=%d ta=%d tb=%d", shared, ta, tb);
          gc_check (name, mm_fn, &c, 2, in, GC_TOL);
          lf_tensor_free (a);
          lf_tensor_free (b);
        }
}

static LfTensor *
linear_fn (LfTensor *const *in, void *ctx)
{
  (void) ctx;
  return lf_linear (in[0], in[1], in[2]);
}

static void
test_linear (void)
{
  int64_t sx[3] = { 2, 3, 5 }, sw[2] = { 4, 5 }, sb = 4;
  LfTensor *in[3] = { gc_param (3, sx, 21, -1, 1), gc_param (2, sw, 22, -1, 1), gc_param (1, &sb, 23, -1, 1) };
  LfTensor *y = linear_fn (in, NULL);
  g_assert_cmpint (lf_tensor_ndim (y), ==, 3);
  g_assert_cmpint (lf_tensor_dim (y, -1), ==, 4);
  /* y[r, o] = sum_i x[r, i] w[o, i] + b[o] */
  for (int r = 0; r < 6; r++)
    for (int o = 0; o < 4; o++)
      {
        double s = lf_tensor_data (in[2])[o];
        for (int i = 0; i < 5; i++)
          s += lf_tensor_data (in[0])[r * 5 + i] * lf_tensor_data (in[1])[o * 5 + i];
        g_assert_cmpfloat_with_epsilon (lf_tensor_data (y)[r * 4 + o], s, 1e-12);
      }
  gc_check ("linear", linear_fn, NULL, 3, in, GC_TOL);
  /* without bias */
  LfTensor *in2[3] = { in[0], in[1], NULL };
  gc_check ("linear without bias", linear_fn, NULL, 2, in2, GC_TOL);
  for (int i = 0; i < 3; i++)
    lf_tensor_free (in[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops/matmul/2d", test_matmul_2d);
  g_test_add_func ("/ops/matmul/batched", test_matmul_batched);
  g_test_add_func ("/ops/linear", test_linear);
  return g_test_run ();
}
