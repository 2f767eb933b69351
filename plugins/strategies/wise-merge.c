/* lifelong plugins — WISE's shard masks and the TIES merge (wise-merge.h). */
#include "wise-merge.h"
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
