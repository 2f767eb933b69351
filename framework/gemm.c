/* lifelong — the one file that includes <blis.h>: the strided GEMM every
 * matmul goes through, BLIS's thread count, and BLIS's kernel-set query. */
#include "tensor-private.h"
#include "runtime-private.h"
#include <blis.h>

static _Thread_local LfGemmStats gemm_stats;

LfGemmStats
lf_gemm_stats (void)
{
  return gemm_stats;
}

void
lf_gemm (gboolean ta, gboolean tb, int64_t m, int64_t n, int64_t k,
         LfReal alpha, const LfReal *a, int64_t lda,
         const LfReal *b, int64_t ldb,
         LfReal beta, LfReal *c, int64_t ldc)
{
  if (m == 0 || n == 0)
    return;
  lf_init ();
  gemm_stats.calls++;
  gemm_stats.flops += 2.0 * (double) m * (double) n * (double) k;
  /* Row-major op(A) (m x k): untransposed it is rows of length lda; a
   * transpose is the same memory read with the strides swapped. */
  inc_t rsa = ta ? 1 : lda, csa = ta ? lda : 1;
  inc_t rsb = tb ? 1 : ldb, csb = tb ? ldb : 1;
  /* BLIS 0.9's prototypes lack const. */
  LfReal *am = (LfReal *) (uintptr_t) a, *bm = (LfReal *) (uintptr_t) b;
  if (k == 0)
    {
      for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++)
          c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
      return;
    }
#ifdef LF_REAL_DOUBLE
  bli_dgemm (BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha,
             am, rsa, csa, bm, rsb, csb, &beta, c, ldc, 1);
#else
  bli_sgemm (BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha,
             am, rsa, csa, bm, rsb, csb, &beta, c, ldc, 1);
#endif
}

void
lf_blis_set_threads (int n)
{
  bli_thread_set_num_threads (n);
}

int
lf_blis_arch_id (const char *name)
{
  for (int i = 0; i < BLIS_NUM_ARCHS; i++)
    {
      const char *s = bli_arch_string ((arch_t) i);
      if (s != NULL && strcmp (s, name) == 0)
        return i;
    }
  return -1;
}

const char *
lf_blis_arch_active (void)
{
  bli_init ();
  return bli_arch_string (bli_arch_query_id ());
}
