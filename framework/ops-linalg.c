/* lifelong — matmul and linear on BLIS.  Transposes are stride changes in
 * the GEMM; backward accumulates (beta = 1) unless the gradient buffer is
 * fresh; a frozen weight's gradient GEMM is never run. */
#include "ops-private.h"

/* ip[0] = trans_a, ip[1] = trans_b, ip[2] = batch, ip[3] = M, ip[4] = N,
 * ip[5] = K; b is shared across the batch when b->ndim == 2. */

LfTensor *
lf_matmul_t (LfTensor *a, gboolean ta, LfTensor *b, gboolean tb)
{
  lf_check (a->ndim >= 2 && b->ndim >= 2, "matmul: operands need 2 or more dims (%d, %d)", a->ndim, b->ndim);
  int64_t M = ta ? a->shape[a->ndim - 1] : a->shape[a->ndim - 2];
  int64_t K = ta ? a->shape[a->ndim - 2] : a->shape[a->ndim - 1];
  int64_t Kb = tb ? b->shape[b->ndim - 1] : b->shape[b->ndim - 2];
  int64_t N = tb ? b->shape[b->ndim - 2] : b->shape[b->ndim - 1];
  lf_check (K == Kb, "matmul: inner sizes differ (%" G_GINT64_FORMAT " vs %" G_GINT64_FORMAT ")", K, Kb);
  int64_t batch = a->numel / (a->shape[a->ndim - 1] * a->shape[a->ndim - 2] > 0
                              ? a->shape[a->ndim - 1] * a->shape[a->ndim - 2] : 1);
  if (b->ndim > 2)
    {
      lf_check (b->ndim == a->ndim, "matmul: batched operands need the same number of dims");
      for (int i = 0; i < a->ndim - 2; i++)
        lf_check (a->shape[i] == b->shape[i], "matmul: batch dims differ at axis %d", i);
    }
  int64_t shape[LF_MAX_DIMS];
  memcpy (shape, a->shape, sizeof shape);
  shape[a->ndim - 2] = M;
  shape[a->ndim - 1] = N;
  LfTensor *src[2] = { a, b };
  LfTensor *out = lf_node_new (LF_OP_MATMUL, a->ndim, shape, 2, src);
  out->ip[0] = ta; out->ip[1] = tb; out->ip[2] = batch;
  out->ip[3] = M; out->ip[4] = N; out->ip[5] = K;
  int64_t lda = a->shape[a->ndim - 1], ldb = b->shape[b->ndim - 1];
  if (b->ndim == 2 && !ta)
    /* one GEMM over all rows of the batch: (batch*M, K) x op(B) */
    lf_gemm (FALSE, tb, batch * M, N, K, 1, a->data, lda, b->data, ldb, 0, out->data, N);
  else
    for (int64_t i = 0; i < batch; i++)
      lf_gemm (ta, tb, M, N, K, 1, a->data + i * M * K, lda,
               b->data + (b->ndim == 2 ? 0 : i * K * N), ldb, 0, out->data + i * M * N, N);
  return out;
}

LfTensor *
lf_matmul (LfTensor *a, LfTensor *b)
{
  return lf_matmul_t (a, FALSE, b, FALSE);
}

void
lf_matmul_backward (LfTensor *out)
{
  LfTensor *a = out->src[0], *b = out->src[1];
  gboolean ta = out->ip[0], tb = out->ip[1];
  int64_t batch = out->ip[2], M = out->ip[3], N = out->ip[4], K = out->ip[5];
  int64_t lda = a->shape[a->ndim - 1], ldb = b->shape[b->ndim - 1];
  gboolean shared_b = b->ndim == 2;
  const LfReal *dc = lf_out_grad (out);
  gboolean fresh;
  LfReal *da = lf_grad_acc (a, &fresh);
  if (da)
    {
      LfReal beta = fresh ? 0 : 1;
      if (!ta && shared_b)
        /* dA (batch*M, K) = dC op(B)^T */
        lf_gemm (FALSE, !tb, batch * M, K, N, 1, dc, N, b->data, ldb, beta, da, lda);
      else
        for (int64_t i = 0; i < batch; i++)
          {
            const LfReal *bi = b->data + (shared_b ? 0 : i * K * N);
            if (!ta)
              lf_gemm (FALSE, !tb, M, K, N, 1, dc + i * M * N, N, bi, ldb, beta, da + i * M * K, lda);
            else  /* stored A is (K, M): dA = op(B) dC^T */
              lf_gemm (tb, TRUE, K, M, N, 1, bi, ldb, dc + i * M * N, N, beta, da + i * M * K, lda);
          }
    }
  LfReal *db = lf_grad_acc (b, &fresh);
  if (db)
    {
      LfReal beta = fresh ? 0 : 1;
      if (shared_b && !ta)
        {
          /* all batch rows at once */
          if (!tb)
            lf_gemm (TRUE, FALSE, K, N, batch * M, 1, a->data, lda, dc, N, beta, db, ldb);
          else
            lf_gemm (TRUE, FALSE, N, K, batch * M, 1, dc, N, a->data, lda, beta, db, ldb);
        }
      else
        for (int64_t i = 0; i < batch; i++)
          {
            const LfReal *ai = a->data + i * M * K;
            LfReal *dbi = db + (shared_b ? 0 : i * K * N);
            LfReal bb = shared_b && i > 0 ? 1 : beta;
            if (!tb)  /* dB (K, N) = op(A)^T dC */
              lf_gemm (!ta, FALSE, K, N, M, 1, ai, lda, dc + i * M * N, N, bb, dbi, ldb);
            else      /* stored B is (N, K): dB = dC^T op(A) */
              lf_gemm (TRUE, ta, N, K, M, 1, dc + i * M * N, N, ai, lda, bb, dbi, ldb);
          }
    }
}

LfTensor *
lf_linear (LfTensor *x, LfTensor *w, LfTensor *bias)
{
  lf_check (w->ndim == 2, "linear: the weight must be (out, in), got %d dims", w->ndim);
  int64_t in = w->shape[1], outf = w->shape[0];
  lf_check (lf_last_dim (x) == in, "linear: input has %" G_GINT64_FORMAT " features, the weight expects %" G_GINT64_FORMAT,
            lf_last_dim (x), in);
  lf_check (bias == NULL || (bias->numel == outf), "linear: bias has %" G_GINT64_FORMAT " values, expected %" G_GINT64_FORMAT,
            bias ? bias->numel : 0, outf);
  int64_t shape[LF_MAX_DIMS];
  memcpy (shape, x->shape, sizeof shape);
  shape[x->ndim - 1] = outf;
  LfTensor *src[3] = { x, w, bias };
  LfTensor *out = lf_node_new (LF_OP_LINEAR, x->ndim, shape, bias ? 3 : 2, src);
  int64_t rows = lf_rows (x);
  LfReal beta = 0;
  if (bias)
    {
      for (int64_t r = 0; r < rows; r++)
        memcpy (out->data + r * outf, bias->data, (size_t) outf * sizeof (LfReal));
      beta = 1;
    }
  /* y (rows, out) = x (rows, in) W^T */
  lf_gemm (FALSE, TRUE, rows, outf, in, 1, x->data, in, w->data, in, beta, out->data, outf);
  return out;
}

void
lf_linear_backward (LfTensor *out)
{
  LfTensor *x = out->src[0], *w = out->src[1], *bias = out->src[2];
  int64_t in = w->shape[1], outf = w->shape[0], rows = lf_rows (x);
  const LfReal *dy = lf_out_grad (out);
  gboolean fresh;
  LfReal *dx = lf_grad_acc (x, &fresh);
  if (dx)   /* dx (rows, in) = dy (rows, out) W (out, in) */
    lf_gemm (FALSE, FALSE, rows, in, outf, 1, dy, outf, w->data, in, fresh ? 0 : 1, dx, in);
  LfReal *dw = lf_grad_acc (w, &fresh);
  if (dw)   /* dW (out, in) = dy^T (out, rows) x (rows, in) */
    lf_gemm (TRUE, FALSE, outf, in, rows, 1, dy, outf, x->data, in, fresh ? 0 : 1, dw, in);
  LfReal *db = lf_grad_acc (bias, &fresh);
  if (db)
    {
      /* column sums in row order: the same at any thread count */
      if (fresh)
        memset (db, 0, (size_t) outf * sizeof (LfReal));
      for (int64_t r = 0; r < rows; r++)
        {
          const LfReal *row = dy + r * outf;
          for (int64_t j = 0; j < outf; j++)
            db[j] += row[j];
        }
    }
}
