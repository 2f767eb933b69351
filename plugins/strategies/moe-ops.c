/* lifelong plugins — the mixture-of-experts computation on tensors (see
 * moe-ops.h). */
#include "moe-ops.h"
#include <math.h>
#include <string.h>

void
moe_topk (const LfReal *logits, int64_t rows, int64_t N, int64_t k, uint8_t *sel)
{
  k = MIN (k, N);
  memset (sel, 0, (size_t) (rows * N));
  for (int64_t r = 0; r < rows; r++)
    {
      const LfReal *l = logits + r * N;
      uint8_t *s = sel + r * N;
      /* k passes of arg-max over the unselected: k and N are small */
      for (int64_t j = 0; j < k; j++)
        {
          int64_t best = -1;
          for (int64_t e = 0; e < N; e++)
            if (!s[e] && (best < 0 || l[e] > l[best]))
              best = e;
          s[best] = 1;
        }
    }
}

/* A constant (rows, N): off (outside sel) and on (inside). */
static LfTensor *
moe_sel_tensor (const uint8_t *sel, int64_t rows, int64_t N, LfReal on, LfReal off)
{
  int64_t shape[2] = { rows, N };
  LfTensor *m = lf_tensor_new (2, shape);
  LfReal *d = lf_tensor_data (m);
  for (int64_t i = 0; i < rows * N; i++)
    d[i] = sel[i] ? on : off;
  return m;
}

LfTensor *
moe_gates (LfTensor *logits, const uint8_t *sel, gboolean norm_all)
{
  int64_t rows = lf_tensor_dim (logits, 0), N = lf_tensor_dim (logits, 1);
  if (norm_all)
    return lf_mul (lf_softmax (logits), moe_sel_tensor (sel, rows, N, 1, 0));
  /* exp (-1e30 - max) is exactly 0: the softmax, and its gradient, see the
   * selected logits only */
  return lf_softmax (lf_add (logits, moe_sel_tensor (sel, rows, N, 0, (LfReal) -1e30)));
}

LfTensor *
moe_balance_loss (LfTensor *logits, const uint8_t *sel)
{
  int64_t rows = lf_tensor_dim (logits, 0), N = lf_tensor_dim (logits, 1), total = 0;
  LfTensor *f = lf_tensor_zeros (1, &N);
  LfReal *fd = lf_tensor_data (f);
  for (int64_t i = 0; i < rows * N; i++)
    if (sel[i])
      {
        fd[i % N] += 1;
        total++;
      }
  for (int64_t e = 0; e < N; e++)
    fd[e] = total > 0 ? (LfReal) ((double) fd[e] * (double) N / (double) total) : 0;
  /* N f . mean_rows softmax (logits) */
  return lf_sum (lf_mul (lf_mean_axis (lf_softmax (logits), 0, FALSE), f));
}

/* ---- the weighted scatter: one custom op ---- */

typedef struct {
  int64_t M, d, N, out_rows;
  const int32_t *dst, *grow, *expert;
} MoeCombine;

/* ys (M, d), gates (rows, N) -> out (out_rows, d) */
static void
moe_combine_forward (void *ctx, int n, LfTensor *const *in, LfTensor *out)
{
  (void) n;
  const MoeCombine *c = ctx;
  const LfReal *y = lf_tensor_data (in[0]), *g = lf_tensor_data (in[1]);
  LfReal *o = lf_tensor_data (out);
  memset (o, 0, (size_t) (c->out_rows * c->d) * sizeof (LfReal));
  for (int64_t j = 0; j < c->M; j++)
    {
      const LfReal w = g[(int64_t) c->grow[j] * c->N + c->expert[j]];
      LfReal *orow = o + (int64_t) c->dst[j] * c->d;
      const LfReal *yrow = y + j * c->d;
      for (int64_t i = 0; i < c->d; i++)
        orow[i] += w * yrow[i];
    }
}

/* d ys[j] = w_j dout[dst_j];  d gates[grow_j, e_j] = ys[j] . dout[dst_j] */
static void
moe_combine_backward (void *ctx, int n, LfTensor *const *in, LfTensor *out, const LfReal *og, LfReal *const *ig)
{
  (void) n; (void) out;
  const MoeCombine *c = ctx;
  const LfReal *y = lf_tensor_data (in[0]), *g = lf_tensor_data (in[1]);
  for (int64_t j = 0; j < c->M; j++)
    {
      const int64_t gi = (int64_t) c->grow[j] * c->N + c->expert[j];
      const LfReal *orow = og + (int64_t) c->dst[j] * c->d, *yrow = y + j * c->d;
      if (ig[0])
        {
          LfReal *yg = ig[0] + j * c->d;
          for (int64_t i = 0; i < c->d; i++)
            yg[i] += g[gi] * orow[i];
        }
      if (ig[1])
        {
          double s = 0;
          for (int64_t i = 0; i < c->d; i++)
            s += (double) yrow[i] * (double) orow[i];
          ig[1][gi] += (LfReal) s;
        }
    }
}

static const LfCustomOp moe_combine_op = {
  sizeof (LfCustomOp), "moe_combine", moe_combine_forward, moe_combine_backward,
};

LfTensor *
moe_combine (LfTensor *ys, LfTensor *gates, int64_t M, const int32_t *dst, const int32_t *grow,
             const int32_t *expert, int64_t out_rows)
{
  MoeCombine *c = lf_scope_alloc (sizeof (MoeCombine));
  *c = (MoeCombine) { M, lf_tensor_dim (ys, 1), lf_tensor_dim (gates, 1), out_rows, dst, grow, expert };
  g_assert (lf_tensor_dim (ys, 0) == M);
  LfTensor *in[2] = { ys, gates };
  int64_t shape[2] = { out_rows, c->d };
  return lf_custom (&moe_combine_op, c, 2, in, 2, shape);
}

LfTensor *
moe_dispatch (LfTensor *xa, LfTensor *gates, const uint8_t *sel, const int32_t *dst, int64_t out_rows,
              MoeExpertFn fn, void *user)
{
  int64_t rows = lf_tensor_dim (xa, 0), d = lf_tensor_dim (xa, 1), N = lf_tensor_dim (gates, 1), M = 0;
  for (int64_t i = 0; i < rows * N; i++)
    M += sel[i] != 0;
  int64_t oshape[2] = { out_rows, d };
  if (M == 0)
    return lf_tensor_zeros (2, oshape);
  /* the (row, expert) pairs grouped by expert: the order of ys's rows */
  int32_t *pdst = lf_scope_alloc (sizeof (int32_t) * (size_t) M);
  int32_t *prow = lf_scope_alloc (sizeof (int32_t) * (size_t) M);
  int32_t *pexp = lf_scope_alloc (sizeof (int32_t) * (size_t) M);
  LfTensor **ys = g_new (LfTensor *, N);
  int n_ys = 0;
  int64_t j = 0;
  for (int64_t e = 0; e < N; e++)
    {
      int64_t start = j;
      for (int64_t r = 0; r < rows; r++)
        if (sel[r * N + e])
          {
            prow[j] = (int32_t) r;
            pdst[j] = dst ? dst[r] : (int32_t) r;
            pexp[j] = (int32_t) e;
            j++;
          }
      if (j == start)
        continue;
      LfTensor *xe = j - start == rows ? xa : lf_embedding (xa, prow + start, j - start);
      ys[n_ys++] = fn (e, xe, user);
    }
  LfTensor *y = n_ys == 1 ? ys[0] : lf_concat (ys, n_ys, 0);
  g_free (ys);
  return moe_combine (y, gates, M, pdst, prow, pexp, out_rows);
}

void
moe_momentum_merge (LfReal *theta, const LfReal *old, int64_t n, double lambda)
{
  for (int64_t i = 0; i < n; i++)
    theta[i] = (LfReal) (lambda * (double) old[i] + (1 - lambda) * (double) theta[i]);
}
