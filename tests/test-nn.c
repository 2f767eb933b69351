/* lifelong tests — the neural-network ops: softmax, log-softmax, layernorm,
 * dropout and the losses.  Values against plain loops written here (no
 * engine op), gradients against finite differences, and the reductions
 * checked bitwise at two thread counts. */
#include "gradcheck.h"

/* Shorthands: an arena tensor of given values, a 2-D shape. */
static LfTensor *
from_values (int64_t rows, int64_t cols, const double *v)
{
  int64_t shape[2] = { rows, cols };
  LfTensor *t = lf_tensor_new (2, shape);
  for (int64_t i = 0; i < rows * cols; i++)
    lf_tensor_data (t)[i] = v[i];
  return t;
}

/* -sum_j target_j log softmax(x)_j for one row, target built explicitly. */
static double
ref_ce_row (const LfReal *x, int64_t C, int32_t y, double s)
{
  double m = x[0], z = 0, l = 0;
  for (int64_t j = 1; j < C; j++)
    m = fmax (m, x[j]);
  for (int64_t j = 0; j < C; j++)
    z += exp (x[j] - m);
  for (int64_t j = 0; j < C; j++)
    {
      double target = (j == y ? 1 - s : 0) + s / C;
      l -= target * (x[j] - m - log (z));
    }
  return l;
}

static double
ref_ce (const LfReal *x, int64_t N, int64_t C, const int32_t *y, int32_t ignore,
        double s, const LfReal *w)
{
  double num = 0, den = 0;
  for (int64_t i = 0; i < N; i++)
    if (y[i] != ignore)
      {
        double wi = w ? w[i] : 1;
        num += wi * ref_ce_row (x + i * C, C, y[i], s);
        den += wi;
      }
  return den != 0 ? num / den : 0;
}

/* ---- softmax, log-softmax ------------------------------------------------ */

static LfTensor *softmax_fn (LfTensor *const *in, void *ctx) { (void) ctx; return lf_softmax (in[0]); }
static LfTensor *log_softmax_fn (LfTensor *const *in, void *ctx) { (void) ctx; return lf_log_softmax (in[0]); }

static void
test_softmax_values (void)
{
  lf_tape_push (FALSE);
  /* the second row is huge: only the max subtraction keeps it finite */
  const double v[6] = { 1, 2, 3, 1000, 1001, 1002 };
  LfTensor *y = lf_softmax (from_values (2, 3, v));
  LfTensor *ly = lf_log_softmax (from_values (2, 3, v));
  double z = 1 + exp (1) + exp (2);
  for (int r = 0; r < 2; r++)
    {
      double sum = 0;
      for (int j = 0; j < 3; j++)
        {
          double p = lf_tensor_data (y)[r * 3 + j];
          g_assert_cmpfloat_with_epsilon (p, exp (j) / z, 1e-14);
          g_assert_cmpfloat_with_epsilon (lf_tensor_data (ly)[r * 3 + j], j - log (z), 1e-12);
          sum += p;
        }
      g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-14);
    }
  /* a 3-D input: rows are every leading index */
  int64_t s3[3] = { 2, 3, 7 };
  LfTensor *x = gc_param (3, s3, 5, -3, 3);
  LfTensor *p = lf_softmax (x);
  for (int r = 0; r < 6; r++)
    {
      double sum = 0;
      for (int j = 0; j < 7; j++)
        {
          g_assert_cmpfloat (lf_tensor_data (p)[r * 7 + j], >, 0);
          sum += lf_tensor_data (p)[r * 7 + j];
        }
      g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-14);
    }
  lf_tensor_free (x);
  lf_tape_pop ();
}

static void
test_softmax_backward (void)
{
  int64_t s2[2] = { 3, 5 }, s3[3] = { 2, 3, 4 };
  LfTensor *a = gc_param (2, s2, 31, -2, 2), *b = gc_param (3, s3, 32, -2, 2);
  gc_check ("softmax 2d", softmax_fn, NULL, 1, &a, GC_TOL);
  gc_check ("softmax 3d", softmax_fn, NULL, 1, &b, GC_TOL);
  gc_check ("log_softmax 2d", log_softmax_fn, NULL, 1, &a, GC_TOL);
  gc_check ("log_softmax 3d", log_softmax_fn, NULL, 1, &b, GC_TOL);
  lf_tensor_free (a);
  lf_tensor_free (b);
}

/* ---- layernorm ----------------------------------------------------------- */

typedef struct { gboolean gamma, beta; double eps; } LnCtx;

static LfTensor *
ln_fn (LfTensor *const *in, void *ctx)
{
  LnCtx *c = ctx;
  return lf_layernorm (in[0], c->gamma ? in[1] : NULL, c->beta ? in[2] : NULL, c->eps);
}

static void
test_layernorm_values (void)
{
  lf_tape_push (FALSE);
  int64_t sx[3] = { 2, 3, 16 }, sd = 16;
  LfTensor *x = gc_param (3, sx, 41, -4, 6);
  LfTensor *g = gc_param (1, &sd, 42, 0.5, 1.5), *b = gc_param (1, &sd, 43, -1, 1);
  const double eps = 1e-5;
  LfTensor *y = lf_layernorm (x, NULL, NULL, eps);
  LfTensor *yg = lf_layernorm (x, g, b, eps);
  for (int r = 0; r < 6; r++)
    {
      const LfReal *xr = lf_tensor_data (x) + r * 16, *yr = lf_tensor_data (y) + r * 16;
      double mx = 0, vx = 0, my = 0, vy = 0;
      for (int j = 0; j < 16; j++)
        mx += xr[j] / 16, my += yr[j] / 16;
      for (int j = 0; j < 16; j++)
        vx += (xr[j] - mx) * (xr[j] - mx) / 16, vy += (yr[j] - my) * (yr[j] - my) / 16;
      /* mean 0, (biased) variance 1 up to eps */
      g_assert_cmpfloat_with_epsilon (my, 0.0, 1e-14);
      g_assert_cmpfloat_with_epsilon (vy, vx / (vx + eps), 1e-12);
      g_assert_cmpfloat (fabs (vy - 1), <, 1e-5);
      for (int j = 0; j < 16; j++)
        {
          double xhat = (xr[j] - mx) / sqrt (vx + eps);
          g_assert_cmpfloat_with_epsilon (yr[j], xhat, 1e-12);
          g_assert_cmpfloat_with_epsilon (lf_tensor_data (yg)[r * 16 + j],
                                          xhat * lf_tensor_data (g)[j] + lf_tensor_data (b)[j], 1e-12);
        }
    }
  lf_tensor_free (x);
  lf_tensor_free (g);
  lf_tensor_free (b);
  lf_tape_pop ();
}

static void
test_layernorm_backward (void)
{
  int64_t sx[3] = { 2, 3, 6 }, sd = 6;
  LfTensor *in[3] = { gc_param (3, sx, 44, -2, 2), gc_param (1, &sd, 45, 0.5, 1.5),
                      gc_param (1, &sd, 46, -1, 1) };
  /* an op that does not use gamma or beta must give them no gradient:
   * gc_check compares with the numerical zero */
  for (int gb = 0; gb < 4; gb++)
    {
      LnCtx c = { gb & 1, gb >> 1, 1e-5 };
      char name[64];
      g_snprintf (name, sizeof name, "layernorm gamma=%d beta=%d", c.gamma, c.beta);
      gc_check (name, ln_fn, &c, 3, in, GC_TOL);
    }
  /* a constant input (the first layer's): only gamma and beta */
  LnCtx c = { TRUE, TRUE, 1e-5 };
  lf_tensor_set_requires_grad (in[0], FALSE);
  gc_check ("layernorm constant x", ln_fn, &c, 3, in, GC_TOL);
  for (int i = 0; i < 3; i++)
    lf_tensor_free (in[i]);
}

/* ---- dropout ----------------------------------------------------------- */

static LfTensor *
dropout_fn (LfTensor *const *in, void *ctx)
{
  return lf_dropout (in[0], 0.3, *(uint64_t *) ctx);
}

static void
test_dropout_values (void)
{
  lf_tape_push (FALSE);
  const int64_t n = 200000;
  const double p = 0.25;
  LfTensor *x = lf_tensor_new (1, &n);
  lf_tensor_fill (x, 2);
  LfTensor *y = lf_dropout (x, p, 7), *y2 = lf_dropout (x, p, 7), *y3 = lf_dropout (x, p, 8);
  int64_t kept = 0, same3 = 0;
  for (int64_t i = 0; i < n; i++)
    {
      LfReal v = lf_tensor_data (y)[i];
      /* kept values are scaled by 1 / (1 - p), the rest are exactly 0 */
      g_assert_true (v == 0 || fabs (v - 2 / (1 - p)) < 1e-12);
      kept += v != 0;
      g_assert_true (v == lf_tensor_data (y2)[i]);   /* same seed, same mask */
      same3 += (v != 0) == (lf_tensor_data (y3)[i] != 0);
    }
  /* binomial: sd of the kept fraction is ~0.001 here */
  g_assert_cmpfloat (fabs ((double) kept / n - (1 - p)), <, 0.005);
  g_assert_cmpint (same3, <, n - 1000);   /* another seed, another mask */
  /* the expectation is preserved */
  g_assert_cmpfloat (fabs (lf_sum_chunked (lf_tensor_data (y), n) / n - 2), <, 0.02);
  /* p = 0 is the identity, without a node */
  g_assert_true (lf_dropout (x, 0, 7) == x);
  lf_tape_pop ();
}

static void
test_dropout_backward (void)
{
  int64_t s[2] = { 5, 7 };
  LfTensor *x = gc_param (2, s, 51, -1, 1);
  uint64_t seed = 1234;
  gc_check ("dropout", dropout_fn, &seed, 1, &x, GC_TOL);
  lf_tensor_free (x);
}

static void
test_dropout_bad_p (void)
{
  if (g_test_subprocess ())
    {
      int64_t n = 4;
      lf_dropout (lf_tensor_zeros (1, &n), 1.0, 0);
      return;
    }
  g_test_trap_subprocess (NULL, 0, 0);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*dropout: p must be in [0, 1)*");
}

/* ---- cross-entropy ----------------------------------------------------- */

typedef struct {
  const int32_t *labels;
  const LfCrossEntropyOptions *opts;
} CeCtx;

static LfTensor *
ce_fn (LfTensor *const *in, void *ctx)
{
  CeCtx *c = ctx;
  return lf_cross_entropy (in[0], c->labels, c->opts);
}

static void
test_ce_values (void)
{
  lf_tape_push (FALSE);
  const double v[6] = { 1, 2, 3, 0.5, -1, 2 };
  const int32_t y[2] = { 2, 0 };
  LfTensor *x = from_values (2, 3, v);
  /* row 0 by hand: log(e + e^2 + e^3) - 3 = log(1 + e^-1 + e^-2) */
  const int32_t y0[2] = { 2, -100 };
  double l0 = lf_tensor_data (lf_cross_entropy (x, y0, NULL))[0];
  g_assert_cmpfloat_with_epsilon (l0, 0.4076059644443804, 1e-14);
  double l1 = log (exp (0.5) + exp (-1) + exp (2)) - 0.5;
  double l = lf_tensor_data (lf_cross_entropy (x, y, NULL))[0];
  g_assert_cmpfloat_with_epsilon (l, (0.4076059644443804 + l1) / 2, 1e-14);
  g_assert_cmpfloat_with_epsilon (l, ref_ce (lf_tensor_data (x), 2, 3, y, -100, 0, NULL), 1e-14);
  /* huge logits stay finite */
  const double big[3] = { 1000, 0, -1000 };
  const int32_t yb = 1;
  g_assert_cmpfloat_with_epsilon (lf_tensor_data (lf_cross_entropy (from_values (1, 3, big), &yb, NULL))[0],
                                  1000, 1e-12);
  lf_tape_pop ();
}

static void
test_ce_backward (void)
{
  int64_t s[2] = { 4, 5 };
  LfTensor *x = gc_param (2, s, 61, -3, 3);
  const int32_t y[4] = { 0, 4, 2, 2 };
  CeCtx c = { y, NULL };
  gc_check ("cross_entropy", ce_fn, &c, 1, &x, GC_TOL);
  lf_tensor_free (x);
}

static void
test_ce_ignore_index (void)
{
  int64_t s[2] = { 5, 4 };
  LfTensor *x = gc_param (2, s, 62, -3, 3);
  const int32_t y[5] = { 1, 7, 3, 7, 0 };   /* 7 is ignored, though outside [0, 4) */
  LfCrossEntropyOptions o = { .ignore_index = 7 };
  CeCtx c = { y, &o };
  lf_tape_push (FALSE);
  double l = lf_tensor_data (lf_cross_entropy (x, y, &o))[0];
  double ref = (ref_ce_row (lf_tensor_data (x), 4, 1, 0) + ref_ce_row (lf_tensor_data (x) + 8, 4, 3, 0)
                + ref_ce_row (lf_tensor_data (x) + 16, 4, 0, 0)) / 3;
  g_assert_cmpfloat_with_epsilon (l, ref, 1e-14);
  lf_tape_pop ();
  gc_check ("cross_entropy ignore_index", ce_fn, &c, 1, &x, GC_TOL);
  /* the ignored rows get exactly zero gradient */
  lf_tape_push (TRUE);
  lf_tensor_zero_grad (x);
  lf_backward (gc_project (lf_cross_entropy (x, y, &o)));
  for (int j = 0; j < 4; j++)
    {
      g_assert_true (lf_tensor_grad (x)[4 + j] == 0);
      g_assert_true (lf_tensor_grad (x)[12 + j] == 0);
    }
  lf_tape_pop ();

  /* every row ignored: the loss is 0 and so is the gradient */
  const int32_t all[5] = { -100, -100, -100, -100, -100 };
  lf_tape_push (TRUE);
  lf_tensor_zero_grad (x);
  LfTensor *loss = lf_cross_entropy (x, all, NULL);
  g_assert_true (lf_tensor_data (loss)[0] == 0);
  lf_backward (gc_project (loss));
  for (int i = 0; i < 20; i++)
    g_assert_true (lf_tensor_grad (x)[i] == 0);
  lf_tape_pop ();
  CeCtx c2 = { all, NULL };
  gc_check ("cross_entropy all ignored", ce_fn, &c2, 1, &x, GC_TOL);
  lf_tensor_free (x);
}

static void
test_ce_label_smoothing (void)
{
  int64_t s[2] = { 4, 6 };
  LfTensor *x = gc_param (2, s, 63, -3, 3);
  const int32_t y[4] = { 5, -100, 0, 2 };
  LfCrossEntropyOptions o = { .ignore_index = -100, .label_smoothing = 0.1 };
  CeCtx c = { y, &o };
  lf_tape_push (FALSE);
  double l = lf_tensor_data (lf_cross_entropy (x, y, &o))[0];
  g_assert_cmpfloat_with_epsilon (l, ref_ce (lf_tensor_data (x), 4, 6, y, -100, 0.1, NULL), 1e-14);
  /* smoothing a confident, correct prediction raises its loss */
  const double v[3] = { 10, 0, 0 };
  const int32_t y0 = 0;
  LfCrossEntropyOptions o3 = { .ignore_index = -100, .label_smoothing = 0.3 };
  LfTensor *conf = from_values (1, 3, v);
  double plain = lf_tensor_data (lf_cross_entropy (conf, &y0, NULL))[0];
  double smooth = lf_tensor_data (lf_cross_entropy (conf, &y0, &o3))[0];
  g_assert_cmpfloat (smooth, >, plain + 1);
  g_assert_cmpfloat_with_epsilon (smooth, ref_ce_row (lf_tensor_data (conf), 3, 0, 0.3), 1e-13);
  lf_tape_pop ();
  gc_check ("cross_entropy label_smoothing", ce_fn, &c, 1, &x, GC_TOL);
  lf_tensor_free (x);
}

static void
test_ce_weights (void)
{
  int64_t s[2] = { 5, 3 };
  LfTensor *x = gc_param (2, s, 64, -3, 3);
  const int32_t y[5] = { 2, 0, -100, 1, 1 };
  const LfReal w[5] = { 0.5, 2, 100, 1, 0 };   /* the ignored row's weight counts for nothing */
  LfCrossEntropyOptions o = { .ignore_index = -100, .label_smoothing = 0.05, .weights = w };
  CeCtx c = { y, &o };
  lf_tape_push (FALSE);
  double l = lf_tensor_data (lf_cross_entropy (x, y, &o))[0];
  g_assert_cmpfloat_with_epsilon (l, ref_ce (lf_tensor_data (x), 5, 3, y, -100, 0.05, w), 1e-14);
  lf_tape_pop ();
  gc_check ("cross_entropy weights", ce_fn, &c, 1, &x, GC_TOL);
  /* labels and weights are copied: the caller's arrays may be gone by
   * the backward */
  LfReal *wc = g_memdup2 (w, sizeof w);
  int32_t *yc = g_memdup2 (y, sizeof y);
  o.weights = wc;
  lf_tape_push (TRUE);
  lf_tensor_zero_grad (x);
  LfTensor *loss = gc_project (lf_cross_entropy (x, yc, &o));
  for (int i = 0; i < 5; i++)
    wc[i] = 1e6, yc[i] = 0;
  lf_backward (loss);
  lf_tape_pop ();
  LfReal *g1 = g_memdup2 (lf_tensor_grad (x), 15 * sizeof (LfReal));
  o.weights = w;
  lf_tape_push (TRUE);
  lf_tensor_zero_grad (x);
  lf_backward (gc_project (lf_cross_entropy (x, y, &o)));
  lf_tape_pop ();
  g_assert_cmpmem (g1, 15 * sizeof (LfReal), lf_tensor_grad (x), 15 * sizeof (LfReal));
  g_free (g1);
  g_free (wc);
  g_free (yc);
  lf_tensor_free (x);
}

static void
test_ce_bad_label (void)
{
  if (g_test_subprocess ())
    {
      int64_t s[2] = { 3, 4 };
      const int32_t y[3] = { 0, 3, 4 };
      lf_cross_entropy (lf_tensor_zeros (2, s), y, NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 0, 0);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*label 4 of row 2 is outside [0, 4)*");
}

static void
test_ce_threads (void)
{
  int64_t s[2] = { 512, 100 };
  LfTensor *x = gc_param (2, s, 65, -5, 5);
  int32_t *y = g_new (int32_t, 512);
  LfReal *w = g_new (LfReal, 512);
  for (int i = 0; i < 512; i++)
    {
      y[i] = i % 17 == 0 ? -100 : (int32_t) (lf_rng_uniform_at (66, (uint64_t) i) * 100);
      w[i] = 0.5 + lf_rng_uniform_at (67, (uint64_t) i);
    }
  LfCrossEntropyOptions o = { .ignore_index = -100, .label_smoothing = 0.1, .weights = w };
  CeCtx c = { y, &o };
  gc_check_threads ("cross_entropy", FALSE, ce_fn, &c, 1, &x);
  g_free (y);
  g_free (w);
  lf_tensor_free (x);
}

/* ---- mse ---------------------------------------------------------------- */

static LfTensor *mse_fn (LfTensor *const *in, void *ctx) { (void) ctx; return lf_mse (in[0], in[1]); }

static void
test_mse (void)
{
  int64_t s[3] = { 2, 3, 4 };
  LfTensor *in[2] = { gc_param (3, s, 71, -2, 2), gc_param (3, s, 72, -2, 2) };
  lf_tape_push (FALSE);
  double ref = 0;
  for (int i = 0; i < 24; i++)
    {
      double d = lf_tensor_data (in[0])[i] - lf_tensor_data (in[1])[i];
      ref += d * d / 24;
    }
  g_assert_cmpfloat_with_epsilon (lf_tensor_data (lf_mse (in[0], in[1]))[0], ref, 1e-14);
  g_assert_true (lf_tensor_data (lf_mse (in[0], in[0]))[0] == 0);
  lf_tape_pop ();
  gc_check ("mse", mse_fn, NULL, 2, in, GC_TOL);
  /* the same tensor on both sides: the gradient is zero */
  LfTensor *same[2] = { in[0], in[0] };
  gc_check ("mse of a tensor with itself", mse_fn, NULL, 2, same, GC_TOL);
  lf_tensor_free (in[0]);
  lf_tensor_free (in[1]);
}

/* ---- distillation ------------------------------------------------------- */

typedef struct { LfTensor *teacher; double T; } KdCtx;

static LfTensor *
kd_fn (LfTensor *const *in, void *ctx)
{
  KdCtx *c = ctx;
  return lf_distill_kl (in[0], c->teacher, c->T);
}

static void
test_distill_values (void)
{
  int64_t s[2] = { 3, 5 };
  LfTensor *st = gc_param (2, s, 81, -3, 3), *te = gc_param (2, s, 82, -3, 3);
  lf_tape_push (FALSE);
  /* KL of a distribution with itself */
  g_assert_true (lf_tensor_data (lf_distill_kl (st, st, 2))[0] == 0);
  /* T^2 mean_i sum_j pt log(pt / ps), by hand */
  const double T = 2.5;
  double ref = 0;
  for (int i = 0; i < 3; i++)
    {
      double zs = 0, zt = 0;
      for (int j = 0; j < 5; j++)
        {
          zs += exp (lf_tensor_data (st)[i * 5 + j] / T);
          zt += exp (lf_tensor_data (te)[i * 5 + j] / T);
        }
      for (int j = 0; j < 5; j++)
        {
          double ps = exp (lf_tensor_data (st)[i * 5 + j] / T) / zs;
          double pt = exp (lf_tensor_data (te)[i * 5 + j] / T) / zt;
          ref += T * T * pt * log (pt / ps) / 3;
        }
    }
  double kl = lf_tensor_data (lf_distill_kl (st, te, T))[0];
  g_assert_cmpfloat_with_epsilon (kl, ref, 1e-13);
  g_assert_cmpfloat (kl, >, 0);
  lf_tape_pop ();
  /* the teacher gets no gradient, even when it could take one */
  g_assert_true (lf_tensor_requires_grad (te));
  lf_tape_push (TRUE);
  lf_tensor_zero_grad (st);
  lf_tensor_zero_grad (te);
  lf_backward (gc_project (lf_distill_kl (st, te, T)));
  g_assert_nonnull (lf_tensor_grad (st));
  g_assert_null (lf_tensor_grad (te));
  lf_tape_pop ();
  /* a constant teacher alone does not make the loss need a gradient */
  lf_tensor_set_requires_grad (st, FALSE);
  lf_tape_push (TRUE);
  g_assert_false (lf_tensor_requires_grad (lf_distill_kl (st, te, T)));
  lf_tape_pop ();
  lf_tensor_free (st);
  lf_tensor_free (te);
}

static void
test_distill_backward (void)
{
  int64_t s[2] = { 4, 6 };
  LfTensor *st = gc_param (2, s, 83, -3, 3), *te = gc_param (2, s, 84, -3, 3);
  const double temps[2] = { 1, 4 };
  for (int k = 0; k < 2; k++)
    {
      KdCtx c = { te, temps[k] };
      char name[64];
      g_snprintf (name, sizeof name, "distill_kl T=%g", temps[k]);
      gc_check (name, kd_fn, &c, 1, &st, GC_TOL);
    }
  lf_tensor_free (st);
  lf_tensor_free (te);
}

/* ---- thread independence of the other reductions ------------------------ */

static LfTensor *
ln_sum_fn (LfTensor *const *in, void *ctx)
{
  (void) ctx;
  return gc_project (lf_layernorm (in[0], in[1], in[2], 1e-5));
}

static void
test_threads_other (void)
{
  int64_t s[2] = { 512, 100 }, sd = 100;
  LfTensor *ln[3] = { gc_param (2, s, 91, -2, 2), gc_param (1, &sd, 92, 0.5, 1.5),
                      gc_param (1, &sd, 93, -1, 1) };
  /* the gamma and beta gradients are sums over rows */
  gc_check_threads ("layernorm", FALSE, ln_sum_fn, NULL, 3, ln);
  LfTensor *te = gc_param (2, s, 94, -3, 3);
  KdCtx c = { te, 2 };
  LfTensor *st = gc_param (2, s, 95, -3, 3);
  gc_check_threads ("distill_kl", FALSE, kd_fn, &c, 1, &st);
  for (int i = 0; i < 3; i++)
    lf_tensor_free (ln[i]);
  lf_tensor_free (te);
  lf_tensor_free (st);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops/softmax/values", test_softmax_values);
  g_test_add_func ("/ops/softmax/backward", test_softmax_backward);
  g_test_add_func ("/ops/layernorm/values", test_layernorm_values);
  g_test_add_func ("/ops/layernorm/backward", test_layernorm_backward);
  g_test_add_func ("/ops/dropout/values", test_dropout_values);
  g_test_add_func ("/ops/dropout/backward", test_dropout_backward);
  g_test_add_func ("/ops/dropout/bad-p", test_dropout_bad_p);
  g_test_add_func ("/ops/cross-entropy/values", test_ce_values);
  g_test_add_func ("/ops/cross-entropy/backward", test_ce_backward);
  g_test_add_func ("/ops/cross-entropy/ignore-index", test_ce_ignore_index);
  g_test_add_func ("/ops/cross-entropy/label-smoothing", test_ce_label_smoothing);
  g_test_add_func ("/ops/cross-entropy/weights", test_ce_weights);
  g_test_add_func ("/ops/cross-entropy/bad-label", test_ce_bad_label);
  g_test_add_func ("/ops/cross-entropy/threads", test_ce_threads);
  g_test_add_func ("/ops/mse", test_mse);
  g_test_add_func ("/ops/distill-kl/values", test_distill_values);
  g_test_add_func ("/ops/distill-kl/backward", test_distill_backward);
  g_test_add_func ("/ops/threads/layernorm-distill", test_threads_other);
  return g_test_run ();
}
