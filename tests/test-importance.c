/* lifelong tests — importance accumulators (squared and absolute gradients,
 * scale, add), the fused quadratic penalty (value, gradient 2 w (theta -
 * anchor) for any number of parameters, frozen ones skipped, a step pulls
 * every weight toward its anchor, thread-count independence; the same
 * penalty applied to .grad without a tape node, bit for bit), and SI's path
 * integral on a quadratic whose trajectory is known in closed form, and
 * the batched per-sample sums (and lf_importance_add_each_sample) against
 * batch-of-one passes. */
#include "tensor-private.h"
#include <math.h>

/* ---- helpers ------------------------------------------------------------- */

static LfTensor *
param_new (int ndim, const int64_t *shape, uint64_t seed, double lo, double hi)
{
  LfTensor *p = lf_param_new ("p", ndim, shape);
  for (int64_t i = 0; i < lf_tensor_numel (p); i++)
    lf_tensor_data (p)[i] = (LfReal) (lo + (hi - lo) * lf_rng_uniform_at (seed, (uint64_t) i));
  return p;
}

static void
fill (LfTensor *t, uint64_t seed, double lo, double hi)
{
  for (int64_t i = 0; i < lf_tensor_numel (t); i++)
    lf_tensor_data (t)[i] = (LfReal) (lo + (hi - lo) * lf_rng_uniform_at (seed, (uint64_t) i));
}

static void
assert_close (double got, double want, double rtol)
{
  double err = fabs (got - want) / fmax (1e-30, fmax (fabs (got), fabs (want)));
  if (fabs (got - want) > 1e-30 && err > rtol)
    g_error ("got %.10g, want %.10g (relative error %.3g > %.3g)", got, want, err, rtol);
}

/* Six parameters of assorted shapes (more than LF_CUSTOM_MAX_INPUTS), their
 * anchors and importance weights (with some exact zeros). */
#define NP 6
typedef struct {
  LfTensor *p[NP], *anchor[NP];
  LfImportance *w;
} Fixture;

static void
fixture_init (Fixture *f)
{
  static const int64_t shapes[NP][2] = { { 3, 4 }, { 5, 1 }, { 2, 2 }, { 7, 3 }, { 1, 9 }, { 4, 4 } };
  for (int i = 0; i < NP; i++)
    {
      f->p[i] = param_new (2, shapes[i], 10 + (uint64_t) i, -2, 2);
      f->anchor[i] = lf_tensor_new_owned (2, shapes[i]);
      fill (f->anchor[i], 20 + (uint64_t) i, -2, 2);
    }
  f->w = lf_importance_new (NP, f->p);
  for (int i = 0; i < NP; i++)
    {
      LfTensor *v = lf_importance_values (f->w, i);
      fill (v, 30 + (uint64_t) i, 0, 3);
      lf_tensor_data (v)[0] = 0;
    }
}

static void
fixture_clear (Fixture *f)
{
  for (int i = 0; i < NP; i++)
    {
      lf_tensor_free (f->p[i]);
      lf_tensor_free (f->anchor[i]);
    }
  lf_importance_free (f->w);
}

/* sum_i sum_k w (theta - anchor)^2 in double, over the trainable ones */
static double
penalty_ref (Fixture *f, gboolean weighted)
{
  double s = 0;
  for (int i = 0; i < NP; i++)
    {
      if (!lf_tensor_requires_grad (f->p[i]))
        continue;
      const LfReal *t = lf_tensor_data (f->p[i]), *a = lf_tensor_data (f->anchor[i]);
      const LfReal *w = lf_tensor_data (lf_importance_values (f->w, i));
      for (int64_t k = 0; k < lf_tensor_numel (f->p[i]); k++)
        {
          double d = (double) t[k] - a[k];
          s += (weighted ? w[k] : 1.0) * d * d;
        }
    }
  return s;
}

/* ---- accumulators ------------------------------------------------------------ */

static void
test_accumulate (void)
{
  int64_t s1[2] = { 2, 3 }, s2[1] = { 4 };
  g_autoptr (LfTensor) p1 = param_new (2, s1, 1, -1, 1);
  g_autoptr (LfTensor) p2 = param_new (1, s2, 2, -1, 1);
  LfTensor *params[2] = { p1, p2 };
  g_autoptr (LfImportance) imp = lf_importance_new (2, params);
  g_assert_cmpint (lf_importance_n (imp), ==, 2);
  g_assert_true (lf_importance_param (imp, 1) == p2);
  LfTensor *v1 = lf_importance_values (imp, 0), *v2 = lf_importance_values (imp, 1);
  g_assert_true (lf_tensor_same_shape (v1, p1));
  g_assert_true (lf_tensor_same_shape (v2, p2));
  g_assert_false (lf_tensor_requires_grad (v1));
  g_assert_cmpfloat (lf_importance_total (imp), ==, 0);

  LfReal g1[6] = { 1, -2, 3, -0.5f, 0, 4 }, g2[4] = { -1, 1, 2, -3 };
  const LfReal *grads[2] = { g1, g2 };
  lf_importance_add_sq (imp, grads, 0.5);
  for (int k = 0; k < 6; k++)
    g_assert_cmpfloat (lf_tensor_data (v1)[k], ==, 0.5f * g1[k] * g1[k]);
  lf_importance_add_abs (imp, grads, 2.0);
  for (int k = 0; k < 4; k++)
    g_assert_cmpfloat (lf_tensor_data (v2)[k], ==, 0.5f * g2[k] * g2[k] + 2 * fabsf (g2[k]));
  double total = 0;
  for (int k = 0; k < 6; k++)
    total += 0.5 * g1[k] * g1[k] + 2 * fabs (g1[k]);
  for (int k = 0; k < 4; k++)
    total += 0.5 * g2[k] * g2[k] + 2 * fabs (g2[k]);
  assert_close (lf_importance_total (imp), total, 1e-6);

  lf_importance_scale (imp, 0.25);
  assert_close (lf_importance_total (imp), 0.25 * total, 1e-6);
  g_autoptr (LfImportance) other = lf_importance_new (2, params);
  lf_importance_add_sq (other, grads, 1.0);
  lf_importance_add (imp, other, 3.0);
  double sq = 0;
  for (int k = 0; k < 6; k++)
    sq += g1[k] * g1[k];
  for (int k = 0; k < 4; k++)
    sq += g2[k] * g2[k];
  assert_close (lf_importance_total (imp), 0.25 * total + 3 * sq, 1e-6);
  lf_importance_zero (imp);
  g_assert_cmpfloat (lf_importance_total (imp), ==, 0);

  /* grads = NULL reads each parameter's .grad; a NULL .grad is zero */
  lf_tape_push (TRUE);
  LfTensor *c = lf_tensor_from_data (2, s1, g1);
  lf_backward (lf_sum (lf_mul (p1, c)));    /* d/dp1 = g1 */
  lf_tape_pop ();
  lf_tensor_zero_grad (p2);
  g_assert_null (lf_tensor_grad (p2));
  lf_importance_add_sq (imp, NULL, 1.0);
  lf_importance_add_abs (imp, NULL, 1.0);
  for (int k = 0; k < 6; k++)
    g_assert_cmpfloat (lf_tensor_data (v1)[k], ==, g1[k] * g1[k] + fabsf (g1[k]));
  for (int k = 0; k < 4; k++)
    g_assert_cmpfloat (lf_tensor_data (v2)[k], ==, 0);

  /* bytes: at least the accumulators' storage */
  g_assert_cmpuint (lf_importance_bytes (imp), >=, 10 * sizeof (LfReal));
  g_assert_cmpuint (lf_importance_bytes (imp), <, 10 * sizeof (LfReal) + 4096);
}

/* Past LF_PAR_MIN the loops run in parallel: same values at any thread count. */
static void
test_accumulate_large (void)
{
  int64_t n = 3 * LF_PAR_MIN + 17;
  g_autoptr (LfTensor) p = param_new (1, &n, 3, -1, 1);
  g_autofree LfReal *g = g_new (LfReal, n);
  for (int64_t k = 0; k < n; k++)
    g[k] = (LfReal) (lf_rng_uniform_at (4, (uint64_t) k) - 0.5);
  const LfReal *grads[1] = { g };
  g_autofree LfReal *ref = NULL;
  for (int threads = 1; threads <= 4; threads *= 2)
    {
      lf_set_threads (threads);
      g_autoptr (LfImportance) imp = lf_importance_new (1, &p);
      lf_importance_add_sq (imp, grads, 0.3);
      lf_importance_add_abs (imp, grads, 0.7);
      lf_importance_scale (imp, 0.9);
      LfReal *v = lf_tensor_data (lf_importance_values (imp, 0));
      for (int64_t k = 0; k < n; k += 997)
        g_assert_cmpfloat (v[k], ==, ((0.3f * (g[k] * g[k])) + 0.7f * fabsf (g[k])) * 0.9f);
      if (ref == NULL)
        ref = g_memdup2 (v, (gsize) n * sizeof (LfReal));
      else
        g_assert_cmpmem (v, n * sizeof (LfReal), ref, n * sizeof (LfReal));
    }
  lf_set_threads (1);
}

/* ---- the quadratic penalty --------------------------------------------------- */

static void
test_penalty_anchor_zero (void)
{
  Fixture f;
  fixture_init (&f);
  for (int i = 0; i < NP; i++)
    lf_tensor_copy_data (f.anchor[i], f.p[i]);
  lf_tape_push (TRUE);
  LfTensor *loss = lf_quadratic_penalty (NP, f.p, f.anchor, f.w);
  g_assert_cmpfloat (lf_tensor_data (loss)[0], ==, 0);
  g_assert_true (lf_tensor_requires_grad (loss));
  lf_backward (loss);
  lf_tape_pop ();
  for (int i = 0; i < NP; i++)
    for (int64_t k = 0; k < lf_tensor_numel (f.p[i]); k++)
      g_assert_cmpfloat (lf_tensor_grad (f.p[i])[k], ==, 0);
  fixture_clear (&f);
}

static void
test_penalty_value (void)
{
  /* by hand: theta = (1, 2, 3), anchor = (0, 2, 5), w = (2, 7, 0.5):
   * 2 * 1 + 7 * 0 + 0.5 * 4 = 4;  unweighted: 1 + 0 + 4 = 5 */
  int64_t three = 3;
  g_autoptr (LfTensor) p = lf_param_new ("p", 1, &three);
  g_autoptr (LfTensor) a = lf_tensor_new_owned (1, &three);
  LfReal pv[3] = { 1, 2, 3 }, av[3] = { 0, 2, 5 }, wv[3] = { 2, 7, 0.5f };
  memcpy (lf_tensor_data (p), pv, sizeof pv);
  memcpy (lf_tensor_data (a), av, sizeof av);
  g_autoptr (LfImportance) w = lf_importance_new (1, &p);
  memcpy (lf_tensor_data (lf_importance_values (w, 0)), wv, sizeof wv);
  lf_tape_push (TRUE);
  g_assert_cmpfloat (lf_tensor_data (lf_quadratic_penalty (1, &p, &a, w))[0], ==, 4);
  g_assert_cmpfloat (lf_tensor_data (lf_quadratic_penalty (1, &p, &a, NULL))[0], ==, 5);
  LfTensor *loss = lf_quadratic_penalty (1, &p, &a, w);
  g_assert_cmpint (lf_tensor_ndim (loss), ==, 1);
  g_assert_cmpint (lf_tensor_numel (loss), ==, 1);
  lf_backward (loss);
  lf_tape_pop ();
  /* 2 w (theta - anchor) = (4, 0, -2) */
  g_assert_cmpfloat (lf_tensor_grad (p)[0], ==, 4);
  g_assert_cmpfloat (lf_tensor_grad (p)[1], ==, 0);
  g_assert_cmpfloat (lf_tensor_grad (p)[2], ==, -2);

  /* many parameters, against a double reference */
  Fixture f;
  fixture_init (&f);
  lf_tape_push (FALSE);
  assert_close (lf_tensor_data (lf_quadratic_penalty (NP, f.p, f.anchor, f.w))[0], penalty_ref (&f, TRUE), 1e-6);
  assert_close (lf_tensor_data (lf_quadratic_penalty (NP, f.p, f.anchor, NULL))[0], penalty_ref (&f, FALSE), 1e-6);
  lf_tape_pop ();
  fixture_clear (&f);
}

/* The same loss written with existing ops, for gradient comparisons. */
static LfTensor *
penalty_composed (Fixture *f)
{
  LfTensor *s = NULL;
  for (int i = 0; i < NP; i++)
    {
      if (!lf_tensor_requires_grad (f->p[i]))
        continue;
      LfTensor *w = lf_importance_values (f->w, i);
      LfTensor *t = lf_sum (lf_mul (w, lf_sqr (lf_sub (f->p[i], f->anchor[i]))));
      s = s ? lf_add (s, t) : t;
    }
  return s;
}

static void
check_grads (Fixture *f, double dout, const LfReal *const *extra)
{
  for (int i = 0; i < NP; i++)
    {
      const LfReal *g = lf_tensor_grad (f->p[i]);
      if (!lf_tensor_requires_grad (f->p[i]))
        {
          g_assert_null (g);
          continue;
        }
      g_assert_nonnull (g);
      const LfReal *t = lf_tensor_data (f->p[i]), *a = lf_tensor_data (f->anchor[i]);
      const LfReal *w = lf_tensor_data (lf_importance_values (f->w, i));
      for (int64_t k = 0; k < lf_tensor_numel (f->p[i]); k++)
        {
          double want = 2.0 * dout * w[k] * ((double) t[k] - a[k]) + (extra && extra[i] ? extra[i][k] : 0);
          g_assert_cmpfloat_with_epsilon (g[k], want, 1e-5 * fmax (1, fabs (want)));
        }
    }
}

static void
zero_grads (Fixture *f)
{
  for (int i = 0; i < NP; i++)
    lf_tensor_zero_grad (f->p[i]);
}

static void
test_penalty_gradient (void)
{
  Fixture f;
  fixture_init (&f);
  /* every one of the six parameters, not only the first four inputs */
  lf_tape_push (TRUE);
  lf_backward (lf_quadratic_penalty (NP, f.p, f.anchor, f.w));
  lf_tape_pop ();
  check_grads (&f, 1.0, NULL);

  /* backward accumulates: a second loss adds */
  lf_tape_push (TRUE);
  lf_backward (lf_scale (lf_quadratic_penalty (NP, f.p, f.anchor, f.w), 0.5));
  lf_tape_pop ();
  check_grads (&f, 1.5, NULL);
  zero_grads (&f);

  /* the same as the composition of existing ops, value and gradient */
  LfReal *ref[NP];
  lf_tape_push (TRUE);
  LfTensor *composed = penalty_composed (&f);
  lf_backward (composed);
  double composed_value = lf_tensor_data (composed)[0];
  lf_tape_pop ();
  for (int i = 0; i < NP; i++)
    ref[i] = g_memdup2 (lf_tensor_grad (f.p[i]), (gsize) lf_tensor_numel (f.p[i]) * sizeof (LfReal));
  zero_grads (&f);
  lf_tape_push (TRUE);
  LfTensor *fused = lf_quadratic_penalty (NP, f.p, f.anchor, f.w);
  assert_close (lf_tensor_data (fused)[0], composed_value, 1e-5);
  lf_backward (fused);
  lf_tape_pop ();
  for (int i = 0; i < NP; i++)
    for (int64_t k = 0; k < lf_tensor_numel (f.p[i]); k++)
      g_assert_cmpfloat_with_epsilon (lf_tensor_grad (f.p[i])[k], ref[i][k], 1e-5 * fmax (1, fabs (ref[i][k])));
  zero_grads (&f);

  /* mixed into another loss: the parameters' gradients from the other term
   * (written first for p[5], which is not an input of the custom op) add */
  int64_t n5 = lf_tensor_numel (f.p[5]);
  g_autofree LfReal *c = g_new (LfReal, n5);
  for (int64_t k = 0; k < n5; k++)
    c[k] = (LfReal) (k - 7);
  lf_tape_push (TRUE);
  LfTensor *ct = lf_tensor_from_data (lf_tensor_ndim (f.p[5]), lf_tensor_shape (f.p[5]), c);
  LfTensor *other = lf_sum (lf_mul (f.p[5], ct));
  lf_backward (lf_add (lf_quadratic_penalty (NP, f.p, f.anchor, f.w), other));
  lf_tape_pop ();
  const LfReal *extra[NP] = { NULL, NULL, NULL, NULL, NULL, c };
  check_grads (&f, 1.0, extra);
  zero_grads (&f);

  /* float finite differences on a few elements of the last parameter */
  LfReal *t5 = lf_tensor_data (f.p[5]);
  lf_tape_push (TRUE);
  lf_backward (lf_quadratic_penalty (NP, f.p, f.anchor, f.w));
  lf_tape_pop ();
  for (int64_t k = 1; k < n5; k += 5)
    {
      const LfReal eps = 1e-2f, keep = t5[k];
      lf_tape_push (FALSE);
      t5[k] = keep + eps;
      double fp = lf_tensor_data (lf_quadratic_penalty (NP, f.p, f.anchor, f.w))[0];
      t5[k] = keep - eps;
      double fm = lf_tensor_data (lf_quadratic_penalty (NP, f.p, f.anchor, f.w))[0];
      lf_tape_pop ();
      t5[k] = keep;
      double num = (fp - fm) / ((double) (keep + eps) - (double) (keep - eps));
      g_assert_cmpfloat_with_epsilon (lf_tensor_grad (f.p[5])[k], num, 2e-3 * fmax (1, fabs (num)));
    }
  zero_grads (&f);

  /* a side gradient for parameters beyond the first four only */
  LfReal side4[9], side5[16];
  LfTensor *targets[2] = { f.p[4], f.p[5] };
  LfReal *side[2] = { side4, side5 };
  g_assert_cmpint (lf_tensor_numel (f.p[4]), ==, 9);
  lf_tape_push (TRUE);
  lf_grad_into (lf_quadratic_penalty (NP, f.p, f.anchor, f.w), 2, targets, side);
  lf_tape_pop ();
  for (int i = 0; i < NP; i++)
    g_assert_null (lf_tensor_grad (f.p[i]));
  for (int j = 0; j < 2; j++)
    {
      LfTensor *p = targets[j];
      int i = 4 + j;
      const LfReal *w = lf_tensor_data (lf_importance_values (f.w, i));
      for (int64_t k = 0; k < lf_tensor_numel (p); k++)
        {
          double want = 2.0 * w[k] * ((double) lf_tensor_data (p)[k] - lf_tensor_data (f.anchor[i])[k]);
          g_assert_cmpfloat_with_epsilon (side[j][k], want, 1e-5 * fmax (1, fabs (want)));
        }
    }
  for (int i = 0; i < NP; i++)
    g_free (ref[i]);
  fixture_clear (&f);
}

static void
test_penalty_frozen (void)
{
  Fixture f;
  fixture_init (&f);
  /* a frozen parameter in the middle gets nothing and adds nothing */
  lf_tensor_set_requires_grad (f.p[2], FALSE);
  lf_tape_push (TRUE);
  LfTensor *loss = lf_quadratic_penalty (NP, f.p, f.anchor, f.w);
  assert_close (lf_tensor_data (loss)[0], penalty_ref (&f, TRUE), 1e-6);
  lf_backward (loss);
  lf_tape_pop ();
  check_grads (&f, 1.0, NULL);
  g_assert_null (lf_tensor_grad (f.p[2]));
  zero_grads (&f);

  /* the first four frozen: the op is still recorded and the last two learn */
  for (int i = 0; i < 4; i++)
    lf_tensor_set_requires_grad (f.p[i], FALSE);
  lf_tape_push (TRUE);
  loss = lf_quadratic_penalty (NP, f.p, f.anchor, f.w);
  g_assert_true (lf_tensor_requires_grad (loss));
  lf_backward (loss);
  lf_tape_pop ();
  check_grads (&f, 1.0, NULL);
  zero_grads (&f);

  /* everything frozen: a constant zero, not recorded */
  for (int i = 0; i < NP; i++)
    lf_tensor_set_requires_grad (f.p[i], FALSE);
  lf_tape_push (TRUE);
  loss = lf_quadratic_penalty (NP, f.p, f.anchor, f.w);
  g_assert_cmpfloat (lf_tensor_data (loss)[0], ==, 0);
  g_assert_false (lf_tensor_requires_grad (loss));
  lf_backward (loss);
  lf_tape_pop ();
  for (int i = 0; i < NP; i++)
    g_assert_null (lf_tensor_grad (f.p[i]));

  /* a NULL anchor (a parameter added after the anchor was taken) is skipped */
  for (int i = 0; i < NP; i++)
    lf_tensor_set_requires_grad (f.p[i], TRUE);
  LfTensor *anchors[NP];
  memcpy (anchors, f.anchor, sizeof anchors);
  anchors[1] = NULL;
  lf_tape_push (TRUE);
  lf_backward (lf_quadratic_penalty (NP, f.p, anchors, f.w));
  lf_tape_pop ();
  g_assert_null (lf_tensor_grad (f.p[1]));
  g_assert_nonnull (lf_tensor_grad (f.p[0]));
  fixture_clear (&f);
}

/* A plain SGD step on the penalty alone moves every weight toward its
 * anchor (and leaves weights of zero importance where they are). */
static void
test_penalty_sgd_step (void)
{
  Fixture f;
  fixture_init (&f);
  LfOptimConfig cfg;
  lf_optim_config_init (&cfg, LF_OPTIM_SGD);
  cfg.lr = 0.01;    /* 2 lr w < 1 for w < 3: no overshoot */
  g_autoptr (LfOptimizer) opt = lf_optimizer_new (&cfg);
  lf_optimizer_set_params (opt, NP, f.p);
  LfReal *before[NP];
  for (int i = 0; i < NP; i++)
    before[i] = g_memdup2 (lf_tensor_data (f.p[i]), (gsize) lf_tensor_numel (f.p[i]) * sizeof (LfReal));
  double loss0 = penalty_ref (&f, TRUE);
  lf_tape_push (TRUE);
  lf_backward (lf_quadratic_penalty (NP, f.p, f.anchor, f.w));
  lf_optimizer_step (opt);
  lf_tape_pop ();
  for (int i = 0; i < NP; i++)
    {
      const LfReal *t = lf_tensor_data (f.p[i]), *a = lf_tensor_data (f.anchor[i]);
      const LfReal *w = lf_tensor_data (lf_importance_values (f.w, i));
      for (int64_t k = 0; k < lf_tensor_numel (f.p[i]); k++)
        {
          if (w[k] == 0)
            {
              g_assert_cmpfloat (t[k], ==, before[i][k]);
              continue;
            }
          g_assert_cmpfloat (fabsf (t[k] - a[k]), <, fabsf (before[i][k] - a[k]));
          /* on the same side: moved toward, not past */
          g_assert_true ((t[k] - a[k]) * (before[i][k] - a[k]) > 0);
        }
      g_free (before[i]);
    }
  g_assert_cmpfloat (penalty_ref (&f, TRUE), <, loss0);
  fixture_clear (&f);
}

/* A long parameter: the chunked double sum does not depend on the thread
 * count and agrees with a serial double reference. */
static void
test_penalty_deterministic (void)
{
  int64_t n = 5 * LF_PAR_MIN + 123;
  g_autoptr (LfTensor) p = param_new (1, &n, 50, -1, 1);
  g_autoptr (LfTensor) a = lf_tensor_new_owned (1, &n);
  fill (a, 51, -1, 1);
  g_autoptr (LfImportance) w = lf_importance_new (1, &p);
  fill (lf_importance_values (w, 0), 52, 0, 10);
  double ref = 0;
  for (int64_t k = 0; k < n; k++)
    {
      double d = (double) lf_tensor_data (p)[k] - lf_tensor_data (a)[k];
      ref += lf_tensor_data (lf_importance_values (w, 0))[k] * d * d;
    }
  LfReal v[3];
  g_autofree LfReal *g1 = NULL;
  for (int j = 0, threads = 1; threads <= 4; threads *= 2, j++)
    {
      lf_set_threads (threads);
      lf_tensor_zero_grad (p);
      lf_tape_push (TRUE);
      LfTensor *loss = lf_quadratic_penalty (1, &p, &a, w);
      v[j] = lf_tensor_data (loss)[0];
      lf_backward (loss);
      lf_tape_pop ();
      if (g1 == NULL)
        g1 = g_memdup2 (lf_tensor_grad (p), (gsize) n * sizeof (LfReal));
      else
        g_assert_cmpmem (lf_tensor_grad (p), n * sizeof (LfReal), g1, n * sizeof (LfReal));
    }
  lf_set_threads (1);
  g_assert_cmpfloat (v[0], ==, v[1]);
  g_assert_cmpfloat (v[0], ==, v[2]);
  assert_close (v[0], ref, 1e-6);
}

/* ---- SI's path integral -------------------------------------------------------
 * L = (a/2) sum_k (theta_k - c_k)^2, plain SGD with rate lr: theta moves
 * along a known path, g_t = a (theta_t - c), dtheta_t = -lr g_t, so
 * omega = sum_t -g_t dtheta_t = lr sum_t g_t^2, and the importance added at
 * consolidation is omega / ((theta_T - theta_0)^2 + xi).  By hand
 * (before_step and after_step around the step) or attached to the
 * optimizer: the same bits.  out: Omega of theta after both experiences. */
static void
path_integral_run (gboolean attached, LfReal out[2])
{
  const double a = 2.0, lr = 0.1, xi = 0.1;
  int64_t two = 2;
  g_autoptr (LfTensor) p = lf_param_new ("theta", 1, &two);
  g_autoptr (LfTensor) frozen = lf_param_new ("frozen", 1, &two);
  lf_tensor_set_requires_grad (frozen, FALSE);
  LfReal c[2] = { 1.0f, -0.5f };
  lf_tensor_data (p)[0] = 3.0f;
  lf_tensor_data (p)[1] = 0.25f;
  lf_tensor_data (frozen)[0] = 1;
  LfTensor *params[2] = { p, frozen };
  g_autoptr (LfImportance) big_omega = lf_importance_new (2, params);
  LfPathIntegral *pi = lf_path_integral_new (2, params);
  g_assert_cmpuint (lf_path_integral_bytes (pi), >=, 4 * 4 * sizeof (LfReal));
  LfOptimConfig cfg;
  lf_optim_config_init (&cfg, LF_OPTIM_SGD);
  cfg.lr = lr;
  g_autoptr (LfOptimizer) opt = lf_optimizer_new (&cfg);
  lf_optimizer_set_params (opt, 2, params);
  if (attached)
    lf_path_integral_attach (pi, opt);

  /* the reference follows the float values the engine really holds */
  double expect[2];
  for (int experience = 0; experience < 2; experience++)
    {
      double omega[2] = { 0, 0 }, start[2];
      for (int k = 0; k < 2; k++)
        start[k] = lf_tensor_data (p)[k];
      for (int step = 0; step < 12; step++)
        {
          lf_optimizer_zero_grad (opt);
          lf_tape_push (TRUE);
          LfTensor *ct = lf_tensor_from_data (1, &two, c);
          LfTensor *loss = lf_scale (lf_sum (lf_sqr (lf_sub (p, ct))), a / 2);
          lf_backward (lf_add (loss, lf_sum (frozen)));
          double g[2], t0[2];
          for (int k = 0; k < 2; k++)
            {
              g[k] = lf_tensor_grad (p)[k];
              t0[k] = lf_tensor_data (p)[k];
              assert_close (g[k], a * (t0[k] - c[k]), 1e-6);
            }
          if (!attached)
            lf_path_integral_before_step (pi);
          lf_optimizer_step (opt);
          if (!attached)
            lf_path_integral_after_step (pi);
          lf_tape_pop ();
          for (int k = 0; k < 2; k++)
            {
              double dt = (double) lf_tensor_data (p)[k] - t0[k];
              /* float: the step is exact to the rounding of theta */
              g_assert_cmpfloat_with_epsilon (dt, -lr * g[k], 1e-6 * fmax (1, fabs (t0[k])));
              omega[k] += -g[k] * dt;
            }
        }
      for (int k = 0; k < 2; k++)
        {
          double delta = (double) lf_tensor_data (p)[k] - start[k];
          expect[k] = (experience ? expect[k] : 0) + omega[k] / (delta * delta + xi);
        }
      lf_path_integral_consolidate (pi, big_omega, xi);
      const LfReal *got = lf_tensor_data (lf_importance_values (big_omega, 0));
      for (int k = 0; k < 2; k++)
        {
          g_test_message ("experience %d: Omega[%d] = %.6g (hand: %.6g)", experience, k, got[k], expect[k]);
          assert_close (got[k], expect[k], 1e-5);
          g_assert_cmpfloat (got[k], >, 0);
        }
      /* the frozen parameter never moved and never had a gradient */
      for (int k = 0; k < 2; k++)
        g_assert_cmpfloat (lf_tensor_data (lf_importance_values (big_omega, 1))[k], ==, 0);
    }
  /* a consolidation with no steps since adds nothing: omega was reset */
  double before = lf_importance_total (big_omega);
  lf_path_integral_consolidate (pi, big_omega, xi);
  g_assert_cmpfloat (lf_importance_total (big_omega), ==, before);
  memcpy (out, lf_tensor_data (lf_importance_values (big_omega, 0)), 2 * sizeof (LfReal));
  lf_path_integral_free (pi);   /* detaches it (the optimizer is still alive) */
}

static void
test_path_integral (void)
{
  LfReal by_hand[2], attached[2];
  path_integral_run (FALSE, by_hand);
  path_integral_run (TRUE, attached);
  g_assert_cmpmem (by_hand, sizeof by_hand, attached, sizeof attached);
}

/* lf_quadratic_penalty_add_grad is the op without a tape node: the same
 * value and, bit for bit, the same gradient as backward of
 * lf_scale (lf_quadratic_penalty (...), coef), written when no gradient
 * reached a parameter and added to one that did; frozen parameters and
 * NULL anchors skipped; coef = 0 touches no gradient.  On the six small
 * parameters and on one long enough for chunks and threads. */
static void
penalty_add_grad_case (int n, LfTensor **p, LfTensor **anchor, LfImportance *w, double coef,
                       const LfReal *const *other)
{
  /* the op: backward of coef * q (+ sum p * other) */
  for (int i = 0; i < n; i++)
    lf_tensor_zero_grad (p[i]);
  lf_tape_push (TRUE);
  LfTensor *q = lf_quadratic_penalty (n, p, anchor, w);
  LfReal qv = lf_tensor_data (q)[0];
  LfTensor *loss = lf_scale (q, coef);
  for (int i = 0; other && i < n; i++)
    if (other[i])
      loss = lf_add (loss, lf_sum (lf_mul (p[i], lf_tensor_from_data (lf_tensor_ndim (p[i]), lf_tensor_shape (p[i]),
                                                                          other[i]))));
  lf_backward (loss);
  lf_tape_pop ();
  LfReal **ref = g_new0 (LfReal *, n);
  for (int i = 0; i < n; i++)
    if (lf_tensor_grad (p[i]))
      ref[i] = g_memdup2 (lf_tensor_grad (p[i]), (gsize) lf_tensor_numel (p[i]) * sizeof (LfReal));
  /* without a node: the other term's backward first, then the penalty */
  for (int i = 0; i < n; i++)
    lf_tensor_zero_grad (p[i]);
  if (other)
    {
      lf_tape_push (TRUE);
      LfTensor *o = NULL;
      for (int i = 0; i < n; i++)
        if (other[i])
          {
            LfTensor *t = lf_sum (lf_mul (p[i], lf_tensor_from_data (lf_tensor_ndim (p[i]), lf_tensor_shape (p[i]),
                                                                      other[i])));
            o = o ? lf_add (o, t) : t;
          }
      lf_backward (o);
      lf_tape_pop ();
    }
  double v = lf_quadratic_penalty_add_grad (n, p, anchor, w, coef);
  g_assert_cmpfloat ((LfReal) v, ==, qv);
  for (int i = 0; i < n; i++)
    {
      const LfReal *g = lf_tensor_grad (p[i]);
      if (ref[i] == NULL)
        {
          g_assert_null (g);
          continue;
        }
      g_assert_nonnull (g);
      /* equal as numbers (a zero's sign may differ: the op adds its term
       * to a zeroed buffer for its first four parameters) */
      for (int64_t k = 0; k < lf_tensor_numel (p[i]); k++)
        if (g[k] != ref[i][k])
          g_error ("coef %g, parameter %d[%" G_GINT64_FORMAT "]: %.9g, the op's %.9g", coef, i, k, g[k], ref[i][k]);
      g_free (ref[i]);
    }
  g_free (ref);
}

static void
test_penalty_add_grad (void)
{
  Fixture f;
  fixture_init (&f);
  const double coefs[] = { 1.0, 0.37, 2500.0 };
  for (guint c = 0; c < G_N_ELEMENTS (coefs); c++)
    {
      penalty_add_grad_case (NP, f.p, f.anchor, f.w, coefs[c], NULL);
      penalty_add_grad_case (NP, f.p, f.anchor, NULL, coefs[c], NULL);
    }
  /* other gradients first: the penalty adds to them (and writes p[1]) */
  g_autofree LfReal *o0 = g_new (LfReal, lf_tensor_numel (f.p[0]));
  g_autofree LfReal *o5 = g_new (LfReal, lf_tensor_numel (f.p[5]));
  for (int64_t k = 0; k < lf_tensor_numel (f.p[0]); k++)
    o0[k] = (LfReal) (0.1 * (double) k - 0.4);
  for (int64_t k = 0; k < lf_tensor_numel (f.p[5]); k++)
    o5[k] = (LfReal) (k - 7);
  const LfReal *other[NP] = { o0, NULL, NULL, NULL, NULL, o5 };
  penalty_add_grad_case (NP, f.p, f.anchor, f.w, 0.37, other);
  /* a frozen parameter and a missing anchor: nothing for them */
  lf_tensor_set_requires_grad (f.p[2], FALSE);
  LfTensor *anchors[NP];
  memcpy (anchors, f.anchor, sizeof anchors);
  anchors[4] = NULL;
  penalty_add_grad_case (NP, f.p, anchors, f.w, 0.37, other);
  lf_tensor_set_requires_grad (f.p[2], TRUE);
  /* coef = 0: the value, and no gradient written */
  zero_grads (&f);
  double v = lf_quadratic_penalty_add_grad (NP, f.p, f.anchor, f.w, 0.0);
  assert_close (v, penalty_ref (&f, TRUE), 1e-6);
  for (int i = 0; i < NP; i++)
    g_assert_null (lf_tensor_grad (f.p[i]));
  fixture_clear (&f);

  /* long: chunks in parallel, the same at 1, 2 and 4 threads */
  int64_t n = 5 * LF_PAR_MIN + 123;
  g_autoptr (LfTensor) p = param_new (1, &n, 60, -1, 1);
  g_autoptr (LfTensor) a = lf_tensor_new_owned (1, &n);
  fill (a, 61, -1, 1);
  g_autoptr (LfImportance) w = lf_importance_new (1, &p);
  fill (lf_importance_values (w, 0), 62, 0, 10);
  g_autofree LfReal *g1 = NULL;
  double v1 = 0;
  for (int threads = 1; threads <= 4; threads *= 2)
    {
      lf_set_threads (threads);
      penalty_add_grad_case (1, &p, &a, w, 0.37, NULL);
      double vt = lf_quadratic_penalty_add_grad (1, &p, &a, w, 0.37);   /* adds again: 2x */
      if (g1 == NULL)
        {
          v1 = vt;
          g1 = g_memdup2 (lf_tensor_grad (p), (gsize) n * sizeof (LfReal));
        }
      g_assert_cmpfloat (vt, ==, v1);
      g_assert_cmpmem (lf_tensor_grad (p), n * sizeof (LfReal), g1, n * sizeof (LfReal));
    }
  lf_set_threads (1);
}

/* ---- exact per-sample sums in batches ------------------------------------------ */

/* A small MLP 5 -> 7 -> 4 of plain linears (and one the loss never uses),
 * with optional extras that the batched path cannot cover exactly: a gain
 * vector that is not a linear's, a second call of the head, a custom op. */
#define PS_N 11
enum { PS_PLAIN, PS_GAIN, PS_TWICE, PS_CUSTOM, PS_MODES };

typedef struct {
  LfModule *root, *l0, *l1;
  LfTensor *gain;
  int       mode;
  LfReal    x[PS_N * 5];
  int32_t   y[PS_N];
} PsModel;

static void
ps_model_init (PsModel *m, int mode)
{
  m->mode = mode;
  m->root = lf_module_new ("", LF_MODULE_CONTAINER, NULL, NULL);
  lf_module_add_child (m->root, lf_module_new_linear ("l0", 5, 7, TRUE));
  lf_module_add_child (m->root, lf_module_new_linear ("l1", 7, 4, TRUE));
  lf_module_add_child (m->root, lf_module_new_linear ("unused", 3, 3, TRUE));
  LfModule *g = lf_module_new ("gain", LF_MODULE_CUSTOM, NULL, NULL);
  lf_module_add_child (m->root, g);
  int64_t seven = 7;
  m->gain = lf_module_add_param (g, "g", 1, &seven);
  m->l0 = lf_module_find (m->root, "l0");
  m->l1 = lf_module_find (m->root, "l1");
  lf_module_init_linear (m->l0, 101);
  lf_module_init_linear (m->l1, 102);
  lf_module_init_linear (lf_module_find (m->root, "unused"), 103);
  fill (m->gain, 104, 0.5, 1.5);
  for (int i = 0; i < PS_N * 5; i++)
    m->x[i] = (LfReal) (4 * lf_rng_uniform_at (105, (uint64_t) i) - 2);
  for (int i = 0; i < PS_N; i++)
    m->y[i] = (int32_t) (lf_rng_uniform_at (106, (uint64_t) i) * 4);
}

static void
ps_identity_fwd (void *ctx, int n_inputs, LfTensor *const *inputs, LfTensor *out)
{
  (void) ctx; (void) n_inputs;
  memcpy (lf_tensor_data (out), lf_tensor_data (inputs[0]), (size_t) lf_tensor_numel (out) * sizeof (LfReal));
}

static void
ps_identity_bwd (void *ctx, int n_inputs, LfTensor *const *inputs, LfTensor *out, const LfReal *out_grad,
                 LfReal *const *in_grads)
{
  (void) ctx; (void) n_inputs; (void) inputs;
  for (int64_t i = 0; in_grads[0] && i < lf_tensor_numel (out); i++)
    in_grads[0][i] += out_grad[i];
}

static const LfCustomOp ps_test_identity = {
  .struct_size = sizeof (LfCustomOp), .name = "test_identity",
  .forward = ps_identity_fwd, .backward = ps_identity_bwd,
};

/* sum over samples [first, first + count) of the cross-entropy of each */
static LfTensor *
ps_loss (void *user, int64_t first, int64_t count)
{
  PsModel *m = user;
  int64_t shape[2] = { count, 5 };
  LfTensor *x = lf_tensor_from_data (2, shape, m->x + first * 5);
  LfTensor *h = lf_relu (lf_module_forward (m->l0, x, NULL));
  if (m->mode == PS_GAIN)
    h = lf_mul (h, m->gain);
  LfTensor *z = lf_module_forward (m->l1, h, NULL);
  if (m->mode == PS_TWICE)
    z = lf_add (z, lf_module_forward (m->l1, lf_sqr (h), NULL));
  if (m->mode == PS_CUSTOM)
    z = lf_custom (&ps_test_identity, NULL, 1, &z, 2, lf_tensor_shape (z));
  return lf_scale (lf_cross_entropy (z, m->y + first, NULL), (double) count);
}

static void
test_per_sample (void)
{
  static const char *const names[PS_MODES] = { "plain linears", "a gain vector", "the head called twice",
                                               "a custom op" };
  for (int mode = 0; mode < PS_MODES; mode++)
    for (int kind = LF_IMPORTANCE_SQUARED; kind <= LF_IMPORTANCE_ABSOLUTE; kind++)
      {
        PsModel m;
        ps_model_init (&m, mode);
        g_autoptr (GPtrArray) ps = lf_module_params (m.root, "*", TRUE);
        const int np = (int) ps->len;
        LfTensor **params = (LfTensor **) ps->pdata;
        /* the reference: one batch-of-one pass per sample, summed in double */
        double **ref = g_new (double *, np);
        LfReal **g = g_new (LfReal *, np);
        for (int i = 0; i < np; i++)
          {
            ref[i] = g_new0 (double, lf_tensor_numel (params[i]));
            g[i] = g_new (LfReal, lf_tensor_numel (params[i]));
          }
        for (int64_t s = 0; s < PS_N; s++)
          {
            lf_tape_push (TRUE);
            lf_grad_into (ps_loss (&m, s, 1), np, params, g);
            lf_tape_pop ();
            for (int i = 0; i < np; i++)
              for (int64_t k = 0; k < lf_tensor_numel (params[i]); k++)
                ref[i][k] += kind == LF_IMPORTANCE_SQUARED ? (double) g[i][k] * g[i][k] : fabs (g[i][k]);
          }
        const int64_t batches[] = { 1, 3, 4, PS_N, 64 };
        for (guint b = 0; b < G_N_ELEMENTS (batches); b++)
          {
            g_autoptr (LfImportance) imp = lf_importance_new (np, params);
            int64_t slow = lf_importance_add_per_sample (imp, m.root, kind, PS_N, batches[b], ps_loss, &m, 0.25);
            /* the batched path covers the plain linears; the gain, the twice
             * called head and (with a custom op) everything take the slow path */
            g_assert_cmpint (slow, ==, mode == PS_PLAIN ? 0 : PS_N);
            double worst = 0;
            for (int i = 0; i < np; i++)
              {
                const LfReal *v = lf_tensor_data (lf_importance_values (imp, i));
                double scale = 0;
                for (int64_t k = 0; k < lf_tensor_numel (params[i]); k++)
                  scale = fmax (scale, 0.25 * ref[i][k]);
                for (int64_t k = 0; k < lf_tensor_numel (params[i]); k++)
                  {
                    double want = 0.25 * ref[i][k], err = fabs (v[k] - want);
                    if (g_str_has_prefix (lf_tensor_name (params[i]), "unused"))
                      g_assert_cmpfloat (v[k], ==, 0);
                    if (err > 1e-5 * fabs (want) + 1e-6 * scale)
                      g_error ("%s, %s, batch %" G_GINT64_FORMAT ": %s[%" G_GINT64_FORMAT "] = %.9g, "
                               "batch-of-one sum %.9g", names[mode], kind ? "absolute" : "squared", batches[b],
                               lf_tensor_name (params[i]), k, v[k], want);
                    if (want != 0)
                      worst = fmax (worst, err / fabs (want));
                  }
              }
            g_test_message ("%s, %s, batch %" G_GINT64_FORMAT ": %" G_GINT64_FORMAT " slow passes, "
                            "largest relative difference to the batch-of-one sums %.2g", names[mode],
                            kind ? "absolute" : "squared", batches[b], slow, worst);
          }
        /* lf_importance_add_each_sample: the same sums, one pass per sample */
        g_autoptr (LfImportance) each = lf_importance_new (np, params);
        lf_importance_add_each_sample (each, kind, PS_N, ps_loss, &m, 0.25);
        for (int i = 0; i < np; i++)
          {
            const LfReal *v = lf_tensor_data (lf_importance_values (each, i));
            for (int64_t k = 0; k < lf_tensor_numel (params[i]); k++)
              g_assert_cmpfloat_with_epsilon (v[k], 0.25 * ref[i][k], 1e-6 * fabs (0.25 * ref[i][k]) + 1e-12);
          }
        /* the hooks are gone: a forward gives the same numbers as before */
        lf_tape_push (FALSE);
        int64_t shape[2] = { PS_N, 5 };
        LfTensor *x = lf_tensor_from_data (2, shape, m.x);
        LfTensor *y1 = lf_module_forward (m.l1, lf_relu (lf_module_forward (m.l0, x, NULL)), NULL);
        LfTensor *y2 = lf_linear (lf_relu (lf_linear (x, lf_module_param (m.l0, "weight"),
                                                       lf_module_param (m.l0, "bias"))),
                                  lf_module_param (m.l1, "weight"), lf_module_param (m.l1, "bias"));
        g_assert_cmpmem (lf_tensor_data (y1), lf_tensor_numel (y1) * sizeof (LfReal),
                         lf_tensor_data (y2), lf_tensor_numel (y2) * sizeof (LfReal));
        lf_tape_pop ();
        for (int i = 0; i < np; i++)
          {
            g_free (ref[i]);
            g_free (g[i]);
          }
        g_free (ref);
        g_free (g);
        lf_module_free (m.root);
      }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  lf_set_threads (1);
  g_test_add_func ("/importance/accumulate", test_accumulate);
  g_test_add_func ("/importance/accumulate/large", test_accumulate_large);
  g_test_add_func ("/importance/penalty/anchor-zero", test_penalty_anchor_zero);
  g_test_add_func ("/importance/penalty/value", test_penalty_value);
  g_test_add_func ("/importance/penalty/gradient", test_penalty_gradient);
  g_test_add_func ("/importance/penalty/frozen", test_penalty_frozen);
  g_test_add_func ("/importance/penalty/sgd-step", test_penalty_sgd_step);
  g_test_add_func ("/importance/penalty/deterministic", test_penalty_deterministic);
  g_test_add_func ("/importance/penalty/add-grad", test_penalty_add_grad);
  g_test_add_func ("/importance/path-integral", test_path_integral);
  g_test_add_func ("/importance/per-sample/equals-batch-of-one", test_per_sample);
  return g_test_run ();
}
