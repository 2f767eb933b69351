/* lifelong — deterministic reductions: fixed-size chunks summed in double,
 * partials combined in chunk order, so a sum is the same at any thread
 * count. */
#include "tensor-private.h"
#include <stdlib.h>

#define STACK_CHUNKS 256

static double
reduce (const LfReal *x, const LfReal *y, int64_t n)
{
  int64_t nchunks = (n + LF_SUM_CHUNK - 1) / LF_SUM_CHUNK;
  if (nchunks <= 1)
    {
      double s = 0;
      if (y)
        for (int64_t i = 0; i < n; i++) s += (double) x[i] * y[i];
      else
        for (int64_t i = 0; i < n; i++) s += x[i];
      return s;
    }
  double stack[STACK_CHUNKS];
  double *part = nchunks <= STACK_CHUNKS ? stack : g_new (double, nchunks);
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
  for (int64_t c = 0; c < nchunks; c++)
    {
      int64_t lo = c * LF_SUM_CHUNK, hi = MIN (n, lo + LF_SUM_CHUNK);
      double s = 0;
      if (y)
        for (int64_t i = lo; i < hi; i++) s += (double) x[i] * y[i];
      else
        for (int64_t i = lo; i < hi; i++) s += x[i];
      part[c] = s;
    }
  double s = 0;
  for (int64_t c = 0; c < nchunks; c++)
    s += part[c];
  if (part != stack)
    g_free (part);
  return s;
}

double lf_sum_chunked (const LfReal *x, int64_t n) { return reduce (x, NULL, n); }
double lf_dot_chunked (const LfReal *x, const LfReal *y, int64_t n) { return reduce (x, y, n); }
