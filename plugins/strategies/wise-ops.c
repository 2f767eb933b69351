/* lifelong plugins — WISE's shard masks, the TIES merge and the activation
 * score (wise-ops.h). */
#include "wise-ops.h"
#include <math.h>
#include <string.h>
#include <stdlib.h>

int64_t
wise_shard_mask (uint8_t *mask, int64_t n, double rho, uint64_t key)
{
  g_return_val_if_fail (rho > 0 && rho <= 1 && n >= 0, 0);
  int64_t want = (int64_t) llround (rho * (double) n);
  int64_t *idx = g_new (int64_t, MAX (n, 1));
  for (int64_t i = 0; i < n; i++)
    idx[i] = i;
  LfRng rng;
  lf_rng_init (&rng, key);
  /* the first `want` places of a Fisher-Yates shuffle: a uniform subset */
  for (int64_t i = 0; i < want; i++)
    {
      int64_t j = i + (int64_t) lf_rng_below (&rng, (uint64_t) (n - i)), t = idx[i];
      idx[i] = idx[j];
      idx[j] = t;
    }
  memset (mask, 0, (size_t) n);
  for (int64_t i = 0; i < want; i++)
    mask[idx[i]] = 1;
  g_free (idx);
  return want;
}

typedef struct {
  LfReal  mag;
  int64_t i;
} WiseMag;

static int
wise_mag_cmp (const void *a, const void *b)
{
  const WiseMag *x = a, *y = b;
  if (x->mag != y->mag)
    return x->mag > y->mag ? -1 : 1;   /* larger first */
  return x->i < y->i ? -1 : x->i > y->i;
}

int64_t
wise_ties_merge (const LfReal *base, const LfReal *const *thetas, int k, int64_t n, double density, double lambda,
                 LfReal *out)
{
  g_return_val_if_fail (k >= 1 && density > 0 && density <= 1, 0);
  int64_t keep = (int64_t) llround (density * (double) n);
  /* the trimmed task vectors, (k, n) */
  LfReal *tau = g_new0 (LfReal, (size_t) (k * MAX (n, 1)));
  WiseMag *order = g_new (WiseMag, MAX (n, 1));
  for (int i = 0; i < k; i++)
    {
      LfReal *t = tau + (int64_t) i * n;
      for (int64_t p = 0; p < n; p++)
        order[p] = (WiseMag) { (LfReal) fabs ((double) (thetas[i][p] - base[p])), p };
      qsort (order, (size_t) n, sizeof *order, wise_mag_cmp);
      for (int64_t r = 0; r < keep; r++)
        t[order[r].i] = thetas[i][order[r].i] - base[order[r].i];
    }
  int64_t dropped = 0;
  for (int64_t p = 0; p < n; p++)
    {
      double sum = 0;
      for (int i = 0; i < k; i++)
        sum += tau[(int64_t) i * n + p];
      int sign = sum > 0 ? 1 : sum < 0 ? -1 : 0;
      double acc = 0;
      int cnt = 0;
      for (int i = 0; i < k; i++)
        {
          LfReal v = tau[(int64_t) i * n + p];
          if (v == 0)
            continue;
          if (sign != 0 && (v > 0) == (sign > 0))
            {
              acc += v;
              cnt++;
            }
          else
            dropped++;
        }
      out[p] = (LfReal) ((double) base[p] + (cnt ? lambda * acc / cnt : 0));
    }
  g_free (order);
  g_free (tau);
  return dropped;
}

/* ---- the activation score ----------------------------------------------- */

typedef struct {
  int64_t        nseq, T, d;
  const int32_t *tok;       /* (nseq, T), or NULL: every position counts */
  gboolean       mean;
  int64_t       *argmax;    /* max: the row of each sequence's max, -1 when none */
  int64_t       *count;     /* mean: the positions counted */
} WiseScoreOp;

static double
wise_row_norm (const LfReal *z, const LfReal *y, int64_t d)
{
  double s = 0;
  for (int64_t j = 0; j < d; j++)
    {
      double df = (double) z[j] - (double) y[j];
      s += df * df;
    }
  return sqrt (s);
}

/* z, y: (nseq * T, d) -> (nseq) */
static void
wise_score_forward (void *c, int n_in, LfTensor *const *in, LfTensor *out)
{
  (void) n_in;
  WiseScoreOp *o = c;
  const LfReal *z = lf_tensor_data (in[0]), *y = lf_tensor_data (in[1]);
  LfReal *dst = lf_tensor_data (out);
  for (int64_t b = 0; b < o->nseq; b++)
    {
      double best = 0, sum = 0;
      int64_t cnt = 0;
      o->argmax[b] = -1;
      for (int64_t t = 0; t < o->T; t++)
        {
          int64_t r = b * o->T + t;
          if (o->tok && o->tok[r] == LF_TOKEN_PAD)
            continue;
          double s = wise_row_norm (z + r * o->d, y + r * o->d, o->d);
          sum += s;
          cnt++;
          if (o->argmax[b] < 0 || s > best)
            {
              best = s;
              o->argmax[b] = r;
            }
        }
      o->count[b] = cnt;
      dst[b] = (LfReal) (o->mean ? (cnt ? sum / (double) cnt : 0) : best);
    }
}

/* d ||z_r - y_r|| / d z_r = (z_r - y_r) / ||z_r - y_r||; mean: / n_b on
 * every counted row; max: on the arg-max row only */
static void
wise_score_backward (void *c, int n_in, LfTensor *const *in, LfTensor *out, const LfReal *g, LfReal *const *ig)
{
  (void) n_in; (void) out;
  WiseScoreOp *o = c;
  const LfReal *z = lf_tensor_data (in[0]), *y = lf_tensor_data (in[1]);
  for (int64_t b = 0; b < o->nseq; b++)
    for (int64_t t = 0; t < o->T; t++)
      {
        int64_t r = b * o->T + t;
        if (o->mean ? (o->tok && o->tok[r] == LF_TOKEN_PAD) : r != o->argmax[b])
          continue;
        double nrm = wise_row_norm (z + r * o->d, y + r * o->d, o->d);
        if (nrm == 0)
          continue;
        double scale = (double) g[b] / nrm / (o->mean ? (double) o->count[b] : 1.0);
        for (int64_t j = 0; j < o->d; j++)
          {
            LfReal gr = (LfReal) (scale * ((double) z[r * o->d + j] - (double) y[r * o->d + j]));
            if (ig[0])
              ig[0][r * o->d + j] += gr;
            if (ig[1])
              ig[1][r * o->d + j] -= gr;
          }
      }
}

static const LfCustomOp wise_score_op = {
  sizeof (LfCustomOp), "wise-score", wise_score_forward, wise_score_backward,
};

LfTensor *
wise_activation_score (LfTensor *z, LfTensor *y, int64_t nseq, int64_t T, const int32_t *tok, gboolean mean)
{
  g_return_val_if_fail (lf_tensor_numel (z) == lf_tensor_numel (y) && nseq > 0 && T > 0, NULL);
  g_return_val_if_fail (lf_tensor_numel (z) % (nseq * T) == 0, NULL);
  WiseScoreOp *o = lf_scope_alloc (sizeof *o);
  *o = (WiseScoreOp) { nseq, T, lf_tensor_numel (z) / (nseq * T), tok, mean,
                       lf_scope_alloc ((size_t) nseq * sizeof (int64_t)),
                       lf_scope_alloc ((size_t) nseq * sizeof (int64_t)) };
  LfTensor *in[2] = { z, y };
  int64_t shape[1] = { nseq };
  return lf_custom (&wise_score_op, o, 2, in, 1, shape);
}
