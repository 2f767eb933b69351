/* lifelong tests — the runtime: BLIS kernel choice, threads, the keyed
 * generator. */
#include "tensor-private.h"
#include <math.h>
#include <stdlib.h>

static void
test_blis_arch (void)
{
  const char *arch = lf_blis_arch ();
  g_assert_nonnull (arch);
  g_assert_cmpstr (arch, !=, "");
  /* unless the user chose, the CPU's features pick a fast kernel set */
  if (g_strcmp0 (lf_blis_arch_source (), "cpuid") == 0)
    {
      if (g_strcmp0 (lf_cpu_features (), "avx512") == 0)
        g_assert_cmpstr (arch, ==, "skx");
      else if (g_strcmp0 (lf_cpu_features (), "avx2+fma") == 0)
        g_assert_true (g_strcmp0 (arch, "haswell") == 0 || g_strcmp0 (arch, "zen") == 0);
    }
  g_test_message ("BLIS kernel set %s (%s, cpu %s)", arch, lf_blis_arch_source (), lf_cpu_features ());
}

static void
test_rng_keyed (void)
{
  uint64_t k1 = lf_rng_key (0, 1, 2, 3, "init"), k2 = lf_rng_key (0, 1, 2, 3, "dropout");
  g_assert_cmpuint (k1, !=, k2);
  g_assert_cmpuint (k1, ==, lf_rng_key (0, 1, 2, 3, "init"));
  LfRng a, b;
  lf_rng_init (&a, k1);
  lf_rng_init (&b, k1);
  double mean = 0, var = 0;
  const int n = 20000;
  for (int i = 0; i < n; i++)
    {
      double u = lf_rng_uniform (&a);
      g_assert_cmpfloat (u, ==, lf_rng_uniform (&b));
      g_assert_cmpfloat (u, >=, 0);
      g_assert_cmpfloat (u, <, 1);
      mean += u;
    }
  mean /= n;
  g_assert_cmpfloat (fabs (mean - 0.5), <, 0.01);
  lf_rng_init (&a, k2);
  mean = 0;
  for (int i = 0; i < n; i++)
    {
      double z = lf_rng_normal (&a);
      mean += z;
      var += z * z;
    }
  mean /= n;
  var = var / n - mean * mean;
  g_assert_cmpfloat (fabs (mean), <, 0.03);
  g_assert_cmpfloat (fabs (var - 1), <, 0.05);
  for (int i = 0; i < 1000; i++)
    g_assert_cmpuint (lf_rng_below (&a, 7), <, 7);
}

static void
test_threads (void)
{
  lf_set_threads (2);
  g_assert_cmpint (lf_get_threads (), ==, 2);
  lf_set_threads (1);
  g_assert_cmpint (lf_get_threads (), ==, 1);
}

/* Chunked sums are the same at 1 and 2 threads, bit for bit. */
static void
test_sum_thread_independent (void)
{
  const int64_t n = 1000003;
  LfReal *x = g_new (LfReal, n);
  for (int64_t i = 0; i < n; i++)
    x[i] = (LfReal) (lf_rng_uniform_at (5, (uint64_t) i) - 0.5) * 1e3f;
  lf_set_threads (1);
  double s1 = lf_sum_chunked (x, n), d1 = lf_dot_chunked (x, x, n);
  lf_set_threads (2);
  double s2 = lf_sum_chunked (x, n), d2 = lf_dot_chunked (x, x, n);
  lf_set_threads (1);
  g_assert_cmpmem (&s1, sizeof s1, &s2, sizeof s2);
  g_assert_cmpmem (&d1, sizeof d1, &d2, sizeof d2);
  g_free (x);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/runtime/blis-arch", test_blis_arch);
  g_test_add_func ("/runtime/rng", test_rng_keyed);
  g_test_add_func ("/runtime/threads", test_threads);
  g_test_add_func ("/runtime/sum-thread-independent", test_sum_thread_independent);
  return g_test_run ();
}
