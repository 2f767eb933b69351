/* lifelong — deterministic reductions: fixed-size chunks summed in double,
 * partials combined in chunk order, so a sum is the same at any thread
 * count. */
#include "tensor-private.h"
#include <stdlib.h>

#define STACK_CHUNKS 256
#define LANES 8

/* One chunk: LANES running sums (so the loop vectorises without reassociating
 * anything the compiler is not allowed to), combined in lane order. */
static double
chunk_sum (const LfReal *x, const LfReal *y, int64_t lo, int64_t hi)
{
  double acc[LANES] = { 0 };
  int64_t i = lo;
  if (y)
    for (; i + LANES <= hi; i += LANES)
      for (int l = 0; l < LANES; l++)
        acc[l] += (double) x[i + l] * (double) y[i + l];
  else
    for (; i + LANES <= hi; i += LANES)
      for (int l = 0; l < LANES; l++)
        acc[l] += (double) x[i + l];
  double s = 0;
  for (int l = 0; l < LANES; l++)
    s += acc[l];
  for (; i < hi; i++)
    s += y ? (double) x[i] * y[i] : (double) x[i];
  return s;
}

static double
reduce (const LfReal *x, const LfReal *y, int64_t n)
{
  int64_t nchunks = (n + LF_SUM_CHUNK - 1) / LF_SUM_CHUNK;
  if (nchunks <= 1)
    return chunk_sum (x, y, 0, n);
  double stack[STACK_CHUNKS];
  double *part = nchunks <= STACK_CHUNKS ? stack : g_new (double, nchunks);
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
  for (int64_t c = 0; c < nchunks; c++)
    {
      int64_t lo = c * LF_SUM_CHUNK, hi = MIN (n, lo + LF_SUM_CHUNK);
      part[c] = chunk_sum (x, y, lo, hi);
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
