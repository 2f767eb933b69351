/* lifelong tests — the transformer's fused ops: RMSNorm, rotary position
 * embedding and grouped-query attention with a causal mask, a key/value
 * cache and a learned prefix.  Values against plain double loops written
 * here (no engine op), gradients against finite differences, and every
 * reduction checked bitwise at two thread counts. */
#include "gradcheck.h"

#define N_IN 5   /* attention's inputs: q, k, v, prefix_k, prefix_v */

static void
free_all (LfTensor **t, int n)
{
  for (int i = 0; i < n; i++)
    lf_tensor_free (t[i]);
}

/* ---- references ------------------------------------------------------------ */

static void
ref_rmsnorm (const LfReal *x, const LfReal *w, int64_t rows, int64_t D, double eps, double *y)
{
  for (int64_t r = 0; r < rows; r++)
    {
      double ss = 0;
      for (int64_t j = 0; j < D; j++)
        ss += (double) x[r * D + j] * x[r * D + j];
      double rs = 1 / sqrt (ss / D + eps);
      for (int64_t j = 0; j < D; j++)
        y[r * D + j] = x[r * D + j] * rs * (w ? w[j] : 1);
    }
}

/* x: (B, T, H, hd), position of (b, t) = off + t. */
static void
ref_rope (const LfReal *x, int64_t B, int64_t T, int64_t H, int64_t hd, int64_t off,
          double theta, double *y)
{
  int64_t half = hd / 2;
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < T; t++)
      for (int64_t h = 0; h < H; h++)
        {
          const LfReal *xr = x + ((b * T + t) * H + h) * hd;
          double *yr = y + ((b * T + t) * H + h) * hd;
          for (int64_t i = 0; i < half; i++)
            {
              double a = (double) (off + t) / pow (theta, 2.0 * i / hd);
              yr[i] = xr[i] * cos (a) - xr[i + half] * sin (a);
              yr[i + half] = xr[i + half] * cos (a) + xr[i] * sin (a);
            }
        }
}

typedef struct {
  int64_t  B, T, S, Hq, Hkv, Dh, P;
  gboolean causal;
} AttnCase;

/* Attention by the definition: for every (b, t, h), the scores against the
 * P prefix keys and the S sequence keys one by one, masked when causal,
 * a softmax, and the weighted sum of values. */
static void
ref_attention (const AttnCase *c, const LfReal *q, const LfReal *k, const LfReal *v,
               const LfReal *pk, const LfReal *pv, double *out)
{
  int64_t L = c->P + c->S, ldkv = c->Hkv * c->Dh;
  double *sc = g_new (double, L);
  for (int64_t b = 0; b < c->B; b++)
    for (int64_t t = 0; t < c->T; t++)
      for (int64_t h = 0; h < c->Hq; h++)
        {
          int64_t g = h / (c->Hq / c->Hkv);
          const LfReal *qt = q + ((b * c->T + t) * c->Hq + h) * c->Dh;
          double m = -INFINITY, z = 0;
          for (int64_t j = 0; j < L; j++)
            {
              const LfReal *kj = j < c->P ? pk + j * ldkv + g * c->Dh
                                          : k + ((b * c->S + j - c->P) * c->Hkv + g) * c->Dh;
              gboolean masked = c->causal && j >= c->P && j - c->P > c->S - c->T + t;
              double s = 0;
              for (int64_t d = 0; d < c->Dh; d++)
                s += (double) qt[d] * kj[d];
              sc[j] = masked ? -INFINITY : s / sqrt ((double) c->Dh);
              m = fmax (m, sc[j]);
            }
          for (int64_t j = 0; j < L; j++)
            z += exp (sc[j] - m);
          double *o = out + ((b * c->T + t) * c->Hq + h) * c->Dh;
          for (int64_t d = 0; d < c->Dh; d++)
            o[d] = 0;
          for (int64_t j = 0; j < L; j++)
            {
              const LfReal *vj = j < c->P ? pv + j * ldkv + g * c->Dh
                                          : v + ((b * c->S + j - c->P) * c->Hkv + g) * c->Dh;
              double p = exp (sc[j] - m) / z;
              for (int64_t d = 0; d < c->Dh; d++)
                o[d] += p * vj[d];
            }
        }
  g_free (sc);
}

/* q, k, v, prefix_k, prefix_v as parameters with values in [lo, hi); the
 * prefixes are NULL when P = 0. */
static void
attn_inputs (const AttnCase *c, uint64_t seed, double lo, double hi, LfTensor **in)
{
  int64_t sq[4] = { c->B, c->T, c->Hq, c->Dh }, skv[4] = { c->B, c->S, c->Hkv, c->Dh };
  int64_t sp[2] = { c->P, c->Hkv * c->Dh };
  in[0] = gc_param (4, sq, seed, lo, hi);
  in[1] = gc_param (4, skv, seed + 1, lo, hi);
  in[2] = gc_param (4, skv, seed + 2, lo, hi);
  in[3] = c->P > 0 ? gc_param (2, sp, seed + 3, lo, hi) : NULL;
  in[4] = c->P > 0 ? gc_param (2, sp, seed + 4, lo, hi) : NULL;
}

/* How many of the five inputs exist (gc_check takes no NULLs). */
static int
attn_n_in (const AttnCase *c)
{
  return c->P > 0 ? N_IN : 3;
}

static LfTensor *
attn_fn (LfTensor *const *in, void *ctx)
{
  const AttnCase *c = ctx;
  return lf_attention (in[0], in[1], in[2], c->causal, in[3], in[4]);
}

/* ---- RMSNorm ------------------------------------------------------------- */

typedef struct { gboolean weight; double eps; gboolean twice; } RmsCtx;

static LfTensor *
rms_fn (LfTensor *const *in, void *ctx)
{
  RmsCtx *c = ctx;
  LfTensor *y = lf_rmsnorm (in[0], c->weight ? in[1] : NULL, c->eps);
  /* twice: a second use of the same inputs, so the backward accumulates
   * into buffers that already hold a gradient */
  return c->twice ? lf_add (y, lf_rmsnorm (in[0], c->weight ? in[1] : NULL, 10 * c->eps)) : y;
}

static void
test_rmsnorm_values (void)
{
  lf_tape_push (FALSE);
  int64_t sx[3] = { 2, 3, 16 }, sd = 16;
  LfTensor *x = gc_param (3, sx, 11, -3, 3), *w = gc_param (1, &sd, 12, 0.5, 1.5);
  const double eps = 1e-6;
  double ref[96];
  for (int withw = 0; withw < 2; withw++)
    {
      LfTensor *y = lf_rmsnorm (x, withw ? w : NULL, eps);
      g_assert_cmpint (lf_tensor_ndim (y), ==, 3);
      g_assert_true (lf_tensor_same_shape (x, y));
      ref_rmsnorm (lf_tensor_data (x), withw ? lf_tensor_data (w) : NULL, 6, 16, eps, ref);
      for (int i = 0; i < 96; i++)
        g_assert_cmpfloat_with_epsilon (lf_tensor_data (y)[i], ref[i], 1e-13);
      if (!withw)
        /* without a weight, every row has mean square 1 up to eps */
        for (int r = 0; r < 6; r++)
          {
            double ms = 0;
            for (int j = 0; j < 16; j++)
              ms += ref[r * 16 + j] * ref[r * 16 + j] / 16;
            g_assert_cmpfloat (fabs (ms - 1), <, 1e-5);
          }
    }
  /* by hand: x = (3, 4), mean square 12.5 */
  const int64_t s2 = 2;
  LfTensor *h = lf_tensor_from_data (1, &s2, (LfReal[]) { 3, 4 });
  LfTensor *hy = lf_rmsnorm (h, NULL, 0);
  g_assert_cmpfloat_with_epsilon (lf_tensor_data (hy)[0], 3 / sqrt (12.5), 1e-15);
  g_assert_cmpfloat_with_epsilon (lf_tensor_data (hy)[1], 4 / sqrt (12.5), 1e-15);
  /* a zero row stays zero (eps keeps it finite) */
  LfTensor *z = lf_rmsnorm (lf_tensor_zeros (1, &s2), NULL, 1e-6);
  g_assert_cmpfloat (lf_tensor_data (z)[0], ==, 0);
  lf_tensor_free (x);
  lf_tensor_free (w);
  lf_tape_pop ();
}

static void
test_rmsnorm_backward (void)
{
  int64_t s3[3] = { 2, 3, 6 }, s4[4] = { 2, 2, 3, 5 }, d6 = 6, d5 = 5;
  LfTensor *in3[2] = { gc_param (3, s3, 21, -2, 2), gc_param (1, &d6, 22, 0.5, 1.5) };
  LfTensor *in4[2] = { gc_param (4, s4, 23, -2, 2), gc_param (1, &d5, 24, 0.5, 1.5) };
  double worst = 0;
  for (int mode = 0; mode < 4; mode++)
    {
      RmsCtx c = { mode & 1, 1e-5, mode >> 1 };
      char name[96];
      g_snprintf (name, sizeof name, "rmsnorm 3d weight=%d twice=%d", c.weight, c.twice);
      worst = fmax (worst, gc_check (name, rms_fn, &c, 2, in3, GC_TOL));
      g_snprintf (name, sizeof name, "rmsnorm 4d weight=%d twice=%d", c.weight, c.twice);
      worst = fmax (worst, gc_check (name, rms_fn, &c, 2, in4, GC_TOL));
    }
  /* a constant input: the weight alone; a frozen weight: x alone */
  RmsCtx c = { TRUE, 1e-5, FALSE };
  lf_tensor_set_requires_grad (in3[0], FALSE);
  worst = fmax (worst, gc_check ("rmsnorm constant x", rms_fn, &c, 2, in3, GC_TOL));
  lf_tensor_set_requires_grad (in3[0], TRUE);
  lf_tensor_set_requires_grad (in3[1], FALSE);
  worst = fmax (worst, gc_check ("rmsnorm frozen weight", rms_fn, &c, 2, in3, GC_TOL));
  g_test_message ("rmsnorm: worst relative gradient error %.3g", worst);
  free_all (in3, 2);
  free_all (in4, 2);
}

/* ---- RoPE ----------------------------------------------------------------- */

typedef struct { int64_t head_dim, offset; double theta; gboolean twice; } RopeCtx;

static LfTensor *
rope_fn (LfTensor *const *in, void *ctx)
{
  RopeCtx *c = ctx;
  LfTensor *y = lf_rope (in[0], c->head_dim, c->offset, c->theta);
  return c->twice ? lf_add (y, lf_rope (in[0], c->head_dim, c->offset + 3, c->theta)) : y;
}

static void
test_rope_values (void)
{
  lf_tape_push (FALSE);
  /* by hand: head_dim 4, theta 100: inv_freq = (1, 1/10); position 1 */
  const int64_t s1[4] = { 1, 1, 1, 4 };
  LfTensor *h = lf_tensor_from_data (4, s1, (LfReal[]) { 1, 2, 3, 4 });
  LfTensor *hy = lf_rope (h, 4, 1, 100);
  const double c1 = 0.54030230586813977, s1v = 0.84147098480789650;    /* cos 1, sin 1 */
  const double c01 = 0.99500416527802577, s01 = 0.099833416646828152; /* cos .1, sin .1 */
  const double want[4] = { 1 * c1 - 3 * s1v, 2 * c01 - 4 * s01, 3 * c1 + 1 * s1v, 4 * c01 + 2 * s01 };
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat_with_epsilon (lf_tensor_data (hy)[i], want[i], 1e-15);
  /* position 0 is the identity */
  LfTensor *h0 = lf_rope (h, 4, 0, 100);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (lf_tensor_data (h0)[i], ==, lf_tensor_data (h)[i]);

  /* the formula on (B, T, H, hd), with an offset; the 3-D layout (B, T,
   * H*hd) is the same op */
  int64_t sx[4] = { 2, 5, 3, 8 }, sx3[3] = { 2, 5, 24 };
  LfTensor *x = gc_param (4, sx, 31, -2, 2);
  double ref[240];
  for (int off = 0; off < 2; off++)
    {
      int64_t o = off ? 37 : 0;
      LfTensor *y = lf_rope (x, 8, o, 10000);
      LfTensor *y3 = lf_rope (lf_reshape (x, 3, sx3), 8, o, 10000);
      ref_rope (lf_tensor_data (x), 2, 5, 3, 8, o, 10000, ref);
      g_assert_true (lf_tensor_same_shape (y, x));
      g_assert_cmpint (lf_tensor_ndim (y3), ==, 3);
      for (int i = 0; i < 240; i++)
        {
          g_assert_cmpfloat_with_epsilon (lf_tensor_data (y)[i], ref[i], 1e-13);
          g_assert_cmpfloat (lf_tensor_data (y3)[i], ==, lf_tensor_data (y)[i]);
        }
    }
  /* an offset is a later window of a longer sequence: positions 2..4 of a
   * 5-long rope equal a 3-long rope with offset 2 */
  LfTensor *tail = lf_rope (lf_slice (x, 1, 2, 5), 8, 2, 10000), *full = lf_rope (x, 8, 0, 10000);
  for (int64_t b = 0; b < 2; b++)
    for (int64_t i = 0; i < 3 * 24; i++)
      g_assert_cmpfloat (lf_tensor_data (tail)[b * 72 + i], ==, lf_tensor_data (full)[b * 120 + 48 + i]);
  /* relative positions: <rope(q, m), rope(k, n)> depends on m - n only */
  int64_t sv[4] = { 1, 1, 1, 8 };
  LfTensor *q = gc_param (4, sv, 32, -1, 1), *k = gc_param (4, sv, 33, -1, 1);
  double dots[2];
  for (int i = 0; i < 2; i++)
    {
      LfTensor *qr = lf_rope (q, 8, 5 + 40 * i, 10000), *kr = lf_rope (k, 8, 2 + 40 * i, 10000);
      dots[i] = 0;
      for (int d = 0; d < 8; d++)
        dots[i] += lf_tensor_data (qr)[d] * lf_tensor_data (kr)[d];
    }
  g_assert_cmpfloat_with_epsilon (dots[0], dots[1], 1e-12);
  lf_tensor_free (x);
  lf_tensor_free (q);
  lf_tensor_free (k);
  lf_tape_pop ();
}

static void
test_rope_backward (void)
{
  int64_t s4[4] = { 2, 3, 2, 6 }, s3[3] = { 2, 4, 8 };
  LfTensor *x4 = gc_param (4, s4, 41, -2, 2), *x3 = gc_param (3, s3, 42, -2, 2);
  double worst = 0;
  for (int mode = 0; mode < 4; mode++)
    {
      RopeCtx c4 = { 6, (mode & 1) ? 11 : 0, 10000, mode >> 1 };
      RopeCtx c3 = { 4, (mode & 1) ? 7 : 0, 500, mode >> 1 };
      char name[96];
      g_snprintf (name, sizeof name, "rope 4d offset=%" G_GINT64_FORMAT " twice=%d", c4.offset, c4.twice);
      worst = fmax (worst, gc_check (name, rope_fn, &c4, 1, &x4, GC_TOL));
      g_snprintf (name, sizeof name, "rope 3d offset=%" G_GINT64_FORMAT " twice=%d", c3.offset, c3.twice);
      worst = fmax (worst, gc_check (name, rope_fn, &c3, 1, &x3, GC_TOL));
    }
  g_test_message ("rope: worst relative gradient error %.3g", worst);
  lf_tensor_free (x4);
  lf_tensor_free (x3);
}

/* ---- attention ------------------------------------------------------------- */

static const AttnCase attn_cases[] = {
  /* B  T  S Hq Hkv Dh P causal */
  { 2, 3, 3, 2, 2, 4, 0, FALSE },   /* plain, batch 2            */
  { 2, 3, 3, 2, 2, 4, 0, TRUE },    /* causal                    */
  { 2, 3, 3, 4, 2, 4, 0, TRUE },    /* grouped-query heads       */
  { 2, 4, 4, 4, 1, 3, 0, FALSE },   /* multi-query (one kv head) */
  { 2, 2, 5, 4, 2, 4, 0, TRUE },    /* S > T: a key/value cache  */
  { 2, 2, 5, 4, 2, 4, 0, FALSE },
  { 2, 3, 3, 4, 2, 4, 2, TRUE },    /* prefixes                  */
  { 2, 2, 4, 4, 2, 4, 3, TRUE },    /* prefixes and a cache      */
  { 2, 3, 3, 2, 2, 4, 2, FALSE },
  { 1, 1, 1, 2, 1, 2, 0, TRUE },    /* one position              */
  { 2, 2, 0, 2, 1, 4, 3, FALSE },   /* the prefix alone          */
  /* past the kernels' blocks (4 rows, 16 doubles): full blocks and tails
   * in every product */
  { 1, 9, 11, 2, 1, 20, 7, TRUE },
  { 1, 6, 18, 2, 2, 16, 0, FALSE },
};

static void
test_attention_values (void)
{
  lf_tape_push (FALSE);
  for (gsize ci = 0; ci < G_N_ELEMENTS (attn_cases); ci++)
    {
      const AttnCase *c = &attn_cases[ci];
      LfTensor *in[N_IN];
      attn_inputs (c, 100 + ci * 10, -2, 2, in);
      LfTensor *y = attn_fn (in, (void *) c);
      g_assert_true (lf_tensor_same_shape (y, in[0]));
      int64_t n = lf_tensor_numel (y);
      double *ref = g_new (double, n);
      ref_attention (c, lf_tensor_data (in[0]), lf_tensor_data (in[1]), lf_tensor_data (in[2]),
                     in[3] ? lf_tensor_data (in[3]) : NULL, in[4] ? lf_tensor_data (in[4]) : NULL, ref);
      for (int64_t i = 0; i < n; i++)
        g_assert_cmpfloat_with_epsilon (lf_tensor_data (y)[i], ref[i], 1e-13);
      g_free (ref);
      free_all (in, N_IN);
    }
  /* huge scores: only the max subtraction keeps the softmax finite */
  AttnCase big = { 1, 4, 4, 2, 2, 8, 2, TRUE };
  LfTensor *in[N_IN];
  attn_inputs (&big, 7, 30, 40, in);
  LfTensor *y = attn_fn (in, &big);
  double ref[64];
  ref_attention (&big, lf_tensor_data (in[0]), lf_tensor_data (in[1]), lf_tensor_data (in[2]),
                 lf_tensor_data (in[3]), lf_tensor_data (in[4]), ref);
  for (int i = 0; i < 64; i++)
    {
      g_assert_true (isfinite (lf_tensor_data (y)[i]));
      g_assert_cmpfloat_with_epsilon (lf_tensor_data (y)[i], ref[i], 1e-12);
    }
  free_all (in, N_IN);
  lf_tape_pop ();
}

/* The last T' queries over all S keys (a key/value cache) give the last T'
 * rows of full causal attention, bit for bit: each row sees the same keys
 * and sums them in the same order. */
static void
test_attention_cache (void)
{
  lf_tape_push (FALSE);
  AttnCase c = { 2, 40, 40, 4, 2, 20, 3, TRUE };
  LfTensor *in[N_IN];
  attn_inputs (&c, 200, -2, 2, in);
  LfTensor *full = attn_fn (in, &c);
  for (int64_t tail = 1; tail <= 40; tail += 13)
    {
      LfTensor *q = lf_slice (in[0], 1, 40 - tail, 40);
      LfTensor *y = lf_attention (q, in[1], in[2], TRUE, in[3], in[4]);
      int64_t row = 4 * 20;
      for (int64_t b = 0; b < 2; b++)
        g_assert_cmpmem (lf_tensor_data (y) + b * tail * row, (size_t) (tail * row) * sizeof (LfReal),
                         lf_tensor_data (full) + (b * 40 + 40 - tail) * row, (size_t) (tail * row) * sizeof (LfReal));
    }
  free_all (in, N_IN);
  lf_tape_pop ();
}

typedef struct {
  AttnCase c;
  int      alias;     /* 0: none; 1: v is k; 2: k and v are q (self-attention on one tensor) */
  gboolean twice;     /* a second attention on the same inputs (the other mask) */
} AttnGcCtx;

static LfTensor *
attn_gc_fn (LfTensor *const *in, void *ctx)
{
  const AttnGcCtx *a = ctx;
  LfTensor *q = in[0], *k = a->alias == 2 ? in[0] : in[1];
  LfTensor *v = a->alias == 1 ? k : a->alias == 2 ? in[0] : in[2];
  LfTensor *y = lf_attention (q, k, v, a->c.causal, in[3], in[4]);
  if (a->twice)
    y = lf_add (y, lf_attention (q, k, v, !a->c.causal, in[3], in[4]));
  return y;
}

static void
test_attention_backward (void)
{
  double worst = 0;
  for (gsize ci = 0; ci < G_N_ELEMENTS (attn_cases); ci++)
    {
      AttnGcCtx a = { attn_cases[ci], 0, FALSE };
      LfTensor *in[N_IN];
      attn_inputs (&a.c, 300 + ci * 10, -1.5, 1.5, in);
      char name[128];
      g_snprintf (name, sizeof name, "attention B=%" G_GINT64_FORMAT " T=%" G_GINT64_FORMAT " S=%" G_GINT64_FORMAT
                  " Hq=%" G_GINT64_FORMAT " Hkv=%" G_GINT64_FORMAT " Dh=%" G_GINT64_FORMAT " P=%" G_GINT64_FORMAT " causal=%d",
                  a.c.B, a.c.T, a.c.S, a.c.Hq, a.c.Hkv, a.c.Dh, a.c.P, a.c.causal);
      worst = fmax (worst, gc_check (name, attn_gc_fn, &a, attn_n_in (&a.c), in, GC_TOL));
      if (a.c.S >= a.c.T && a.c.S > 0)
        {
          /* the same inputs used twice: the second backward accumulates */
          a.twice = TRUE;
          g_strlcat (name, " twice", sizeof name);
          worst = fmax (worst, gc_check (name, attn_gc_fn, &a, attn_n_in (&a.c), in, GC_TOL));
        }
      free_all (in, N_IN);
    }
  g_test_message ("attention: worst relative gradient error %.3g", worst);
}

/* Some inputs constant or frozen: the others' gradients are unchanged, the
 * constants get none.  In particular a prefix_v that alone needs a gradient
 * must still make the op record itself. */
static void
test_attention_partial (void)
{
  AttnGcCtx a = { { 2, 3, 4, 4, 2, 4, 2, TRUE }, 0, FALSE };
  LfTensor *in[N_IN];
  attn_inputs (&a.c, 400, -1.5, 1.5, in);
  for (int mask = 1; mask < 32; mask++)
    {
      for (int i = 0; i < N_IN; i++)
        lf_tensor_set_requires_grad (in[i], (mask >> i) & 1);
      char name[64];
      g_snprintf (name, sizeof name, "attention needs-grad mask %d", mask);
      gc_check (name, attn_gc_fn, &a, N_IN, in, GC_TOL);
    }
  /* nothing needs a gradient: no node */
  for (int i = 0; i < N_IN; i++)
    lf_tensor_set_requires_grad (in[i], FALSE);
  lf_tape_push (TRUE);
  g_assert_false (lf_tensor_requires_grad (attn_gc_fn (in, &a)));
  lf_tape_pop ();
  free_all (in, N_IN);
}

/* The same tensor as two or three inputs: its gradient is the sum of the
 * parts (the first written fresh, the others added). */
static void
test_attention_aliases (void)
{
  AttnGcCtx kv = { { 2, 3, 3, 4, 2, 4, 2, TRUE }, 1, FALSE };
  AttnGcCtx self = { { 2, 3, 3, 2, 2, 4, 0, TRUE }, 2, FALSE };
  AttnGcCtx self_nc = { { 2, 3, 3, 2, 2, 4, 0, FALSE }, 2, TRUE };
  LfTensor *in[N_IN];
  attn_inputs (&kv.c, 500, -1.5, 1.5, in);
  lf_tensor_set_requires_grad (in[2], FALSE);   /* unused: v is k */
  gc_check ("attention v = k", attn_gc_fn, &kv, N_IN, in, GC_TOL);
  free_all (in, N_IN);
  attn_inputs (&self.c, 510, -1.5, 1.5, in);
  gc_check ("attention q = k = v", attn_gc_fn, &self, 3, in, GC_TOL);
  gc_check ("attention q = k = v, both masks", attn_gc_fn, &self_nc, 3, in, GC_TOL);
  free_all (in, N_IN);
  /* one tensor as both prefixes */
  AttnCase c = { 2, 3, 3, 4, 2, 4, 2, TRUE };
  attn_inputs (&c, 520, -1.5, 1.5, in);
  LfTensor *shared[N_IN] = { in[0], in[1], in[2], in[3], in[3] };
  AttnGcCtx a = { c, 0, FALSE };
  gc_check ("attention prefix_v = prefix_k", attn_gc_fn, &a, N_IN, shared, GC_TOL);
  free_all (in, N_IN);
}

/* Recording saves the probabilities, B*Hq*T*(P+S) values; evaluation
 * allocates the output and nothing else. */
static void
test_attention_memory (void)
{
  AttnCase c = { 2, 16, 24, 4, 2, 8, 4, TRUE };
  LfTensor *in[N_IN];
  attn_inputs (&c, 600, -1, 1, in);
  size_t out_bytes = (size_t) (2 * 16 * 4 * 8) * sizeof (LfReal);
  size_t probs_bytes = (size_t) (2 * 4 * 16 * (4 + 24)) * sizeof (LfReal);
  lf_tape_push (FALSE);
  size_t before = lf_arena_used ();
  attn_fn (in, &c);
  size_t eval = lf_arena_used () - before;
  lf_tape_pop ();
  lf_tape_push (TRUE);
  before = lf_arena_used ();
  attn_fn (in, &c);
  size_t train = lf_arena_used () - before;
  lf_tape_pop ();
  g_test_message ("attention arena: eval %zu bytes, recorded %zu bytes", eval, train);
  g_assert_cmpuint (eval, <, out_bytes + 1024);
  g_assert_cmpuint (train, >=, out_bytes + probs_bytes);
  g_assert_cmpuint (train, <, out_bytes + probs_bytes + 2048);
  free_all (in, N_IN);
}

/* ---- misuse ------------------------------------------------------------------ */

static void
test_bad_shapes (void)
{
  static const char *const expect[] = {
    "*query heads are not a multiple of*",
    "*causal needs at least as many keys as queries*",
    "*give both prefixes or neither*",
    "*the prefixes must both be (P, 8)*",
    "*head_dim must be even*",
    "*does not split into heads of 4*",
    "*rmsnorm: the weight has 5 values*",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (expect); i++)
    {
      char path[64];
      g_snprintf (path, sizeof path, "/transformer/bad-shapes/subprocess/%zu", i);
      g_test_trap_subprocess (path, 0, 0);
      g_test_trap_assert_failed ();
      g_test_trap_assert_stderr (expect[i]);
    }
}

static void
bad_shape_case (gconstpointer data)
{
  int which = GPOINTER_TO_INT (data);
  int64_t sq[4] = { 1, 3, 3, 4 }, skv[4] = { 1, 2, 2, 4 }, sp[2] = { 2, 8 }, spb[2] = { 2, 6 };
  int64_t sx[4] = { 1, 2, 2, 6 }, sd = 5;
  LfTensor *q = lf_tensor_zeros (4, sq), *k = lf_tensor_zeros (4, skv);
  LfTensor *p = lf_tensor_zeros (2, sp), *pb = lf_tensor_zeros (2, spb);
  int64_t sq2[4] = { 1, 3, 4, 4 };
  LfTensor *q2 = lf_tensor_zeros (4, sq2);
  switch (which)
    {
    case 0: lf_attention (q, k, k, FALSE, NULL, NULL); break;     /* 3 heads over 2 */
    case 1: lf_attention (q2, k, k, TRUE, NULL, NULL); break;     /* T 3 > S 2      */
    case 2: lf_attention (q2, k, k, FALSE, p, NULL); break;
    case 3: lf_attention (q2, k, k, FALSE, p, pb); break;
    case 4: lf_rope (lf_tensor_zeros (4, sx), 5, 0, 10000); break;
    case 5: lf_rope (lf_tensor_zeros (4, sx), 4, 0, 10000); break;
    default: lf_rmsnorm (lf_tensor_zeros (4, sx), lf_tensor_zeros (1, &sd), 1e-6); break;
    }
}

/* ---- thread independence --------------------------------------------------------- */

static void
test_threads (void)
{
  /* every size past the parallel thresholds (LF_PAR_MIN) */
  int64_t sx[3] = { 4, 128, 100 }, sd = 100;
  LfTensor *rms[2] = { gc_param (3, sx, 701, -2, 2), gc_param (1, &sd, 702, 0.5, 1.5) };
  RmsCtx rc = { TRUE, 1e-6, FALSE };
  gc_check_threads ("rmsnorm", TRUE, rms_fn, &rc, 2, rms);
  free_all (rms, 2);

  int64_t sr[4] = { 2, 64, 8, 32 };
  LfTensor *x = gc_param (4, sr, 703, -2, 2);
  RopeCtx pc = { 32, 5, 10000, FALSE };
  gc_check_threads ("rope", TRUE, rope_fn, &pc, 1, &x);
  lf_tensor_free (x);

  AttnCase c = { 2, 30, 47, 4, 2, 24, 5, TRUE };   /* a cache, GQA, prefixes */
  LfTensor *in[N_IN];
  attn_inputs (&c, 704, -1.5, 1.5, in);
  gc_check_threads ("attention causal", TRUE, attn_fn, &c, N_IN, in);
  c.causal = FALSE;
  gc_check_threads ("attention", TRUE, attn_fn, &c, N_IN, in);
  free_all (in, N_IN);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/transformer/rmsnorm/values", test_rmsnorm_values);
  g_test_add_func ("/transformer/rmsnorm/backward", test_rmsnorm_backward);
  g_test_add_func ("/transformer/rope/values", test_rope_values);
  g_test_add_func ("/transformer/rope/backward", test_rope_backward);
  g_test_add_func ("/transformer/attention/values", test_attention_values);
  g_test_add_func ("/transformer/attention/cache", test_attention_cache);
  g_test_add_func ("/transformer/attention/backward", test_attention_backward);
  g_test_add_func ("/transformer/attention/partial", test_attention_partial);
  g_test_add_func ("/transformer/attention/aliases", test_attention_aliases);
  g_test_add_func ("/transformer/attention/memory", test_attention_memory);
  g_test_add_func ("/transformer/bad-shapes", test_bad_shapes);
  for (int i = 0; i < 7; i++)
    {
      char *path = g_strdup_printf ("/transformer/bad-shapes/subprocess/%d", i);
      g_test_add_data_func (path, GINT_TO_POINTER (i), bad_shape_case);
      g_free (path);
    }
  g_test_add_func ("/transformer/threads", test_threads);
  return g_test_run ();
}
