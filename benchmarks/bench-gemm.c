/* lifelong benchmark — the GEMM peak of this machine through lf_gemm (BLIS,
 * the kernel set runtime.c chose): single-precision GFLOP/s of a large
 * square product (the best case) and of the shapes the d_model 128 and 256
 * transformers of the transformer issue multiply (tokens x d_model times
 * d_model x d_model, and the SwiGLU's d_model x ff), best of REPS calls.
 * Prints one JSON line per shape; run-transformer.sh divides the model's
 * training FLOP rate by the square's.  Never part of the test suite.
 *   build/benchmarks/bench-gemm THREADS [REPS] */
#include "tensor-private.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double
now (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (double) t.tv_sec + 1e-9 * (double) t.tv_nsec;
}

static void
bench (const char *name, int64_t m, int64_t n, int64_t k, int reps)
{
  LfReal *a = g_new (LfReal, m * k), *b = g_new (LfReal, k * n), *c = g_new0 (LfReal, m * n);
  for (int64_t i = 0; i < m * k; i++)
    a[i] = (LfReal) ((i % 17) - 8) / 16;
  for (int64_t i = 0; i < k * n; i++)
    b[i] = (LfReal) ((i % 13) - 6) / 16;
  lf_gemm (FALSE, FALSE, m, n, k, 1, a, k, b, n, 0, c, n);   /* warm-up: packing buffers, pages */
  double best = 1e30;
  for (int r = 0; r < reps; r++)
    {
      double t0 = now ();
      lf_gemm (FALSE, FALSE, m, n, k, 1, a, k, b, n, 0, c, n);
      best = MIN (best, now () - t0);
    }
  printf ("{\"shape\": \"%s\", \"m\": %" G_GINT64_FORMAT ", \"n\": %" G_GINT64_FORMAT ", \"k\": %" G_GINT64_FORMAT
          ", \"threads\": %d, \"gflops\": %.2f}\n", name, m, n, k, lf_get_threads (), 2.0 * m * n * k / best / 1e9);
  g_free (a);
  g_free (b);
  g_free (c);
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      fprintf (stderr, "usage: bench-gemm THREADS [REPS]\n");
      return 2;
    }
  lf_init ();
  lf_set_threads (atoi (argv[1]));
  int reps = argc > 2 ? atoi (argv[2]) : 5;
  bench ("square", 1536, 1536, 1536, reps);
  bench ("d128-proj", 2048, 128, 128, reps * 20);
  bench ("d128-ff", 2048, 352, 128, reps * 20);
  bench ("d256-proj", 2048, 256, 256, reps * 10);
  bench ("d256-ff", 2048, 704, 256, reps * 10);
  return 0;
}
