/* lifelong tests — the optimizers against a double-precision reference that
 * follows PyTorch's documented update rules (torch.optim.SGD, Adam, AdamW),
 * freezing (whole parameters and per-element masks), skipped gradients, the
 * parameter list following a changed module tree, schedules and clipping,
 * and a regulariser's pull and SI's path integral folded into the update
 * (bitwise the step after adding the penalty's gradient to .grad). */
#include "tensor-private.h"
#include <lifelong/toolkit/importance.h>
#include <math.h>
#include <stdlib.h>

/* ---- helpers ------------------------------------------------------------- */

/* Values the engine can hold exactly: the reference starts from what the
 * float parameter really holds and sees the gradient it really sees. */
static double
as_real (double x)
{
  return (double) (LfReal) x;
}

/* Initial weights: |w| in [1, 2), alternating signs, so a relative
 * tolerance means the same thing for every element. */
static double
init_at (uint64_t seed, int64_t i)
{
  return as_real ((i % 2 ? -1.0 : 1.0) * (1.0 + lf_rng_uniform_at (seed, (uint64_t) i)));
}

/* Gradients over four decades (1 .. 1e-3), so that eps, the bias
 * corrections and weight decay each move the result far beyond the
 * tolerance; one element gets an exact zero now and then. */
static double
grad_at (uint64_t seed, int64_t step, int64_t i)
{
  static const double scale[4] = { 1.0, 0.1, 0.01, 1e-3 };
  if (i == 5 && step % 3 == 2)
    return 0.0;
  double u = lf_rng_uniform_at (seed * 1000003u + (uint64_t) step, (uint64_t) i) - 0.5;
  return as_real (u * scale[i % 4]);
}

static LfTensor *
param_new (const char *name, int64_t n, uint64_t seed)
{
  LfTensor *p = lf_param_new (name, 1, &n);
  for (int64_t i = 0; i < n; i++)
    p->data[i] = (LfReal) init_at (seed, i);
  return p;
}

/* What lf_backward would leave: the gradient's values, marked valid.  The
 * public API cannot write .grad, so the test reaches into the struct. */
static void
set_grad (LfTensor *p, const double *g)
{
  for (int64_t i = 0; i < p->numel; i++)
    p->grad[i] = (LfReal) g[i];
  p->flags |= LF_TF_GRAD_VALID;
}

static double *
grads_for (uint64_t seed, int64_t step, int64_t n)
{
  double *g = g_new (double, n);
  for (int64_t i = 0; i < n; i++)
    g[i] = grad_at (seed, step, i);
  return g;
}

/* ---- the reference: PyTorch's algorithms, in double ---------------------- */

typedef struct {
  LfOptimConfig cfg;     /* cfg.lr is the rate of the next step            */
  int64_t  n, t;         /* t: steps taken (Adam's bias corrections)       */
  double  *w, *m, *v;
  uint8_t *has_buf;      /* SGD: momentum buffer exists for this element   */
} Ref;

static Ref *
ref_new (const LfOptimConfig *cfg, const LfTensor *p)
{
  Ref *r = g_new0 (Ref, 1);
  r->cfg = *cfg;
  r->n = p->numel;
  r->w = g_new (double, r->n);
  r->m = g_new0 (double, r->n);
  r->v = g_new0 (double, r->n);
  r->has_buf = g_new0 (uint8_t, r->n);
  for (int64_t i = 0; i < r->n; i++)
    r->w[i] = p->data[i];
  return r;
}

static void
ref_free (Ref *r)
{
  g_free (r->w);
  g_free (r->m);
  g_free (r->v);
  g_free (r->has_buf);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Ref, ref_free)

/* Forgets the state, keeps the weights (lf_optimizer_reset_state). */
static void
ref_reset (Ref *r)
{
  memset (r->m, 0, (size_t) r->n * sizeof (double));
  memset (r->v, 0, (size_t) r->n * sizeof (double));
  memset (r->has_buf, 0, (size_t) r->n);
  r->t = 0;
}

/* One step.  mask: NULL or n bytes, 0 = frozen (value and state untouched;
 * the step count is per parameter and advances regardless).
 *
 * torch.optim.SGD:   g += wd w;  b = g at the first step, else mu b + g;
 *                    g = nesterov ? g + mu b : b;  w -= lr g
 * torch.optim.Adam:  g += wd w (AdamW instead: w *= 1 - lr wd);
 *                    m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *                    w -= lr (m / (1-b1^t)) / (sqrt (v / (1-b2^t)) + eps) */
static void
ref_step (Ref *r, const double *g, const uint8_t *mask)
{
  const LfOptimConfig *c = &r->cfg;
  const double lr = c->lr, wd = c->weight_decay;
  r->t++;
  const double bc1 = 1 - pow (c->beta1, (double) r->t), bc2 = 1 - pow (c->beta2, (double) r->t);
  for (int64_t i = 0; i < r->n; i++)
    {
      if (mask && !mask[i])
        continue;
      double gi = g[i];
      if (c->kind == LF_OPTIM_SGD)
        {
          gi += wd * r->w[i];
          if (c->momentum != 0)
            {
              r->m[i] = r->has_buf[i] ? c->momentum * r->m[i] + gi : gi;
              r->has_buf[i] = 1;
              gi = c->nesterov ? gi + c->momentum * r->m[i] : r->m[i];
            }
          r->w[i] -= lr * gi;
          continue;
        }
      if (c->kind == LF_OPTIM_ADAMW)
        r->w[i] *= 1 - lr * wd;
      else
        gi += wd * r->w[i];
      r->m[i] = c->beta1 * r->m[i] + (1 - c->beta1) * gi;
      r->v[i] = c->beta2 * r->v[i] + (1 - c->beta2) * gi * gi;
      double m_hat = r->m[i] / bc1, v_hat = r->v[i] / bc2;
      r->w[i] -= lr * m_hat / (sqrt (v_hat) + c->eps);
    }
}

/* Relative to the weights' unit scale: they start at |w| in [1, 2), and a
 * long run that decays one towards 0 keeps the absolute error of a float
 * near 1 (5 ulps after 12 Adam steps on 100k elements is the worst seen). */
#define REL_TOL 1e-6

static void
assert_matches (const LfTensor *p, const Ref *r)
{
  g_assert_cmpint (p->numel, ==, r->n);
  for (int64_t i = 0; i < r->n; i++)
    g_assert_cmpfloat_with_epsilon (p->data[i], r->w[i], REL_TOL * MAX (fabs (r->w[i]), 1.0));
}

/* Both hold the same bits. */
static void
assert_same_bits (const LfReal *a, const LfReal *b, int64_t n)
{
  g_assert_cmpmem (a, (size_t) n * sizeof (LfReal), b, (size_t) n * sizeof (LfReal));
}

static LfOptimConfig
config (LfOptimKind kind, double lr)
{
  LfOptimConfig c;
  lf_optim_config_init (&c, kind);
  c.lr = lr;
  return c;
}

/* Runs steps updates of cfg on one 11-element parameter next to the
 * reference, a new gradient every step and, when lrs is given, a new rate
 * every step (set between steps, as a schedule does). */
static void
check_against_reference (const LfOptimConfig *cfg, int steps, const double *lrs)
{
  const int64_t n = 11;
  g_autoptr (LfTensor) p = param_new ("p", n, 1);
  g_autoptr (LfOptimizer) opt = lf_optimizer_new (cfg);
  g_autoptr (Ref) r = ref_new (cfg, p);
  lf_optimizer_add_param (opt, p);
  g_assert_cmpint (lf_optimizer_n_params (opt), ==, 1);
  for (int s = 0; s < steps; s++)
    {
      g_autofree double *g = grads_for (2, s, n);
      if (lrs)
        {
          lf_optimizer_set_lr (opt, lrs[s]);
          g_assert_cmpfloat (lf_optimizer_get_lr (opt), ==, lrs[s]);
          r->cfg.lr = lrs[s];
        }
      set_grad (p, g);
      lf_optimizer_step (opt);
      ref_step (r, g, NULL);
      assert_matches (p, r);
    }
}

/* ---- config ---------------------------------------------------------------- */

static void
test_config_defaults (void)
{
  LfOptimConfig c;
  const LfOptimKind kinds[] = { LF_OPTIM_SGD, LF_OPTIM_ADAM, LF_OPTIM_ADAMW };
  for (size_t k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      memset (&c, 0xa5, sizeof c);
      lf_optim_config_init (&c, kinds[k]);
      g_assert_cmpint (c.kind, ==, kinds[k]);
      g_assert_cmpfloat (c.lr, ==, 1e-3);
      g_assert_cmpfloat (c.momentum, ==, 0.0);
      g_assert_false (c.nesterov);
      g_assert_cmpfloat (c.beta1, ==, 0.9);
      g_assert_cmpfloat (c.beta2, ==, 0.999);
      g_assert_cmpfloat (c.eps, ==, 1e-8);
      g_assert_cmpfloat (c.weight_decay, ==, kinds[k] == LF_OPTIM_ADAMW ? 0.01 : 0.0);
    }
}

static void
test_config_kind_from_string (void)
{
  LfOptimKind k = LF_OPTIM_ADAMW;
  g_assert_true (lf_optim_kind_from_string ("sgd", &k));
  g_assert_cmpint (k, ==, LF_OPTIM_SGD);
  g_assert_true (lf_optim_kind_from_string ("adam", &k));
  g_assert_cmpint (k, ==, LF_OPTIM_ADAM);
  g_assert_true (lf_optim_kind_from_string ("adamw", &k));
  g_assert_cmpint (k, ==, LF_OPTIM_ADAMW);
  /* anything else is refused and leaves *kind alone */
  const char *bad[] = { "", "adam ", "adamw2", "ada", "rmsprop", "sgdm" };
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      k = LF_OPTIM_ADAM;
      g_assert_false (lf_optim_kind_from_string (bad[i], &k));
      g_assert_cmpint (k, ==, LF_OPTIM_ADAM);
    }
  g_assert_false (lf_optim_kind_from_string (NULL, &k));
}

/* ---- SGD ------------------------------------------------------------------ */

static void
test_sgd_plain (void)
{
  LfOptimConfig c = config (LF_OPTIM_SGD, 0.1);
  check_against_reference (&c, 5, NULL);
  /* the rate of each step is the one set before it */
  const double lrs[] = { 0.1, 0.05, 0.2, 0.0, 0.01 };
  check_against_reference (&c, 5, lrs);
}

static void
test_sgd_momentum (void)
{
  LfOptimConfig c = config (LF_OPTIM_SGD, 0.05);
  c.momentum = 0.9;
  check_against_reference (&c, 8, NULL);
  const double lrs[] = { 0.05, 0.02, 0.08, 0.01, 0.05, 0.03 };
  check_against_reference (&c, 6, lrs);
}

static void
test_sgd_nesterov (void)
{
  LfOptimConfig c = config (LF_OPTIM_SGD, 0.05);
  c.momentum = 0.8;
  c.nesterov = TRUE;
  check_against_reference (&c, 8, NULL);
}

static void
test_sgd_weight_decay (void)
{
  LfOptimConfig c = config (LF_OPTIM_SGD, 0.1);
  c.weight_decay = 0.05;
  check_against_reference (&c, 6, NULL);
  c.momentum = 0.9;
  check_against_reference (&c, 6, NULL);
  c.nesterov = TRUE;
  check_against_reference (&c, 6, NULL);

  /* a zero gradient: plain SGD with decay shrinks w by exactly 1 - lr wd */
  int64_t n = 4;
  g_autoptr (LfTensor) p = param_new ("p", n, 3);
  LfOptimConfig d = config (LF_OPTIM_SGD, 0.5);
  d.weight_decay = 0.25;
  g_autoptr (LfOptimizer) opt = lf_optimizer_new (&d);
  lf_optimizer_add_param (opt, p);
  double w0[4], zero[4] = { 0 };
  for (int i = 0; i < n; i++)
    w0[i] = p->data[i];
  set_grad (p, zero);
  lf_optimizer_step (opt);
  for (int i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (p->data[i], w0[i] * 0.875, REL_TOL * fabs (w0[i]));
}

/* ---- Adam / AdamW ----------------------------------------------------------- */

static void
test_adam_reference (void)
{
  LfOptimConfig c = config (LF_OPTIM_ADAM, 0.01);
  check_against_reference (&c, 10, NULL);
  /* a large eps, so adding it to sqrt(v_hat) rather than to sqrt(v) (or
   * inside the root) is visible at once */
  c.eps = 1e-3;
  check_against_reference (&c, 10, NULL);
  c.beta1 = 0.5;
  c.beta2 = 0.9;
  const double lrs[] = { 0.01, 0.02, 0.005, 0.01, 0.0, 0.03 };
  check_against_reference (&c, 6, lrs);
  /* betas float cannot hold: 1 - beta2 and the bias corrections must agree
   * (a float 0.99999 is 1.4e-8 off, so 1 - it is 0.14% off 1e-5) */
  c.beta1 = 0.99;
  c.beta2 = 0.99999;
  check_against_reference (&c, 30, NULL);
  c.beta1 = 0.95;
  c.beta2 = 0.98;
  check_against_reference (&c, 30, NULL);
}

static void
test_adam_weight_decay (void)
{
  /* Adam's decay is L2, added to the gradient before the moments */
  LfOptimConfig c = config (LF_OPTIM_ADAM, 0.01);
  c.weight_decay = 0.1;
  c.eps = 1e-3;
  check_against_reference (&c, 10, NULL);
  c.weight_decay = 1.0;
  c.eps = 1e-8;
  check_against_reference (&c, 10, NULL);
}

static void
test_adamw_reference (void)
{
  LfOptimConfig c = config (LF_OPTIM_ADAMW, 0.01);
  check_against_reference (&c, 10, NULL);
  c.weight_decay = 0.5;
  c.eps = 1e-3;
  check_against_reference (&c, 10, NULL);
  const double lrs[] = { 0.01, 0.02, 0.005, 0.01, 0.0, 0.03 };
  check_against_reference (&c, 6, lrs);
}

/* Decoupled: with a zero gradient AdamW only shrinks w by 1 - lr wd, while
 * Adam's L2 term goes through the moments (a first step of size ~lr against
 * the sign of w). */
static void
test_adamw_decoupled (void)
{
  const int64_t n = 6;
  double zero[6] = { 0 };
  LfOptimConfig cw = config (LF_OPTIM_ADAMW, 0.1), ca = config (LF_OPTIM_ADAM, 0.1);
  cw.weight_decay = ca.weight_decay = 0.2;
  g_autoptr (LfTensor) pw = param_new ("w", n, 4);
  g_autoptr (LfTensor) pa = param_new ("a", n, 4);
  g_autoptr (LfOptimizer) ow = lf_optimizer_new (&cw);
  g_autoptr (LfOptimizer) oa = lf_optimizer_new (&ca);
  lf_optimizer_add_param (ow, pw);
  lf_optimizer_add_param (oa, pa);
  for (int s = 1; s <= 100; s++)
    {
      set_grad (pw, zero);
      set_grad (pa, zero);
      lf_optimizer_step (ow);
      lf_optimizer_step (oa);
      for (int64_t i = 0; i < n; i++)
        {
          double w0 = init_at (4, i);
          double want = w0 * pow (0.98, s);
          g_assert_cmpfloat_with_epsilon (pw->data[i], want, REL_TOL * fabs (want));
          if (s == 1)   /* Adam, first step: m_hat / sqrt (v_hat) = sign (wd w) */
            g_assert_cmpfloat_with_epsilon (pa->data[i], w0 - 0.1 * (w0 > 0 ? 1 : -1), 1e-6);
        }
    }
}

/* ---- freezing ---------------------------------------------------------------- */

/* Builds momentum on p for a few steps, freezes it for 100 steps (with and
 * without a stale gradient flag), and unfreezes it: p must not have moved
 * by a bit, and its next step must continue exactly where it stopped (state
 * and step count untouched).  q trains all along. */
static void
check_frozen_param (const LfOptimConfig *cfg)
{
  const int64_t n = 9;
  g_autoptr (LfTensor) p = param_new ("p", n, 5);
  g_autoptr (LfTensor) q = param_new ("q", n, 6);
  g_autoptr (LfOptimizer) opt = lf_optimizer_new (cfg);
  g_autoptr (Ref) rp = ref_new (cfg, p);
  g_autoptr (Ref) rq = ref_new (cfg, q);
  LfTensor *both[2] = { p, q };
  lf_optimizer_set_params (opt, 2, both);
  int64_t s = 0;
  for (; s < 3; s++)
    {
      g_autofree double *gp = grads_for (7, s, n);
      g_autofree double *gq = grads_for (8, s, n);
      set_grad (p, gp);
      set_grad (q, gq);
      lf_optimizer_step (opt);
      ref_step (rp, gp, NULL);
      ref_step (rq, gq, NULL);
    }
  assert_matches (p, rp);
  size_t bytes = lf_optimizer_state_bytes (opt);

  lf_tensor_set_requires_grad (p, FALSE);
  g_assert_false (lf_tensor_requires_grad (p));
  g_assert_null (lf_tensor_grad (p));
  g_autofree LfReal *frozen = g_memdup2 (p->data, (gsize) n * sizeof (LfReal));
  for (; s < 103; s++)
    {
      g_autofree double *gp = grads_for (7, s, n);
      g_autofree double *gq = grads_for (8, s, n);
      if (s % 2)
        set_grad (p, gp);   /* a stale GRAD_VALID must not matter either */
      set_grad (q, gq);
      lf_optimizer_step (opt);
      ref_step (rq, gq, NULL);
      assert_same_bits (p->data, frozen, n);
    }
  assert_matches (q, rq);
  g_assert_cmpuint (lf_optimizer_state_bytes (opt), ==, bytes);

  lf_tensor_set_requires_grad (p, TRUE);
  for (int k = 0; k < 2; k++, s++)
    {
      g_autofree double *gp = grads_for (7, s, n);
      set_grad (p, gp);
      lf_optimizer_zero_grad (opt);   /* clears every flag ... */
      set_grad (p, gp);               /* ... p alone has a gradient again */
      lf_optimizer_step (opt);
      ref_step (rp, gp, NULL);
      assert_matches (p, rp);
    }
  assert_matches (q, rq);   /* q had no gradient: not moved */
}

static void
test_freeze_param_sgd (void)
{
  LfOptimConfig c = config (LF_OPTIM_SGD, 0.05);
  c.momentum = 0.9;
  c.weight_decay = 0.1;
  check_frozen_param (&c);
  c.nesterov = TRUE;
  check_frozen_param (&c);
}

static void
test_freeze_param_adamw (void)
{
  LfOptimConfig c = config (LF_OPTIM_ADAMW, 0.01);
  c.weight_decay = 0.1;
  c.eps = 1e-3;
  check_frozen_param (&c);
  c.kind = LF_OPTIM_ADAM;
  check_frozen_param (&c);
}

/* A per-element mask: masked elements keep their bits and their state (seen
 * when the mask is lifted and the next updates match the reference, whose
 * moments stood still while masked); unmasked elements move exactly as with
 * no mask at all, bit for bit (a twin optimizer runs without one). */
static void
check_mask (const LfOptimConfig *cfg, int64_t n)
{
  g_autoptr (LfTensor) p = param_new ("p", n, 9);
  g_autoptr (LfTensor) twin = param_new ("twin", n, 9);
  g_autoptr (LfOptimizer) opt = lf_optimizer_new (cfg);
  g_autoptr (LfOptimizer) opt_twin = lf_optimizer_new (cfg);
  g_autoptr (Ref) r = ref_new (cfg, p);
  lf_optimizer_add_param (opt, p);
  lf_optimizer_add_param (opt_twin, twin);
  g_autofree uint8_t *mask = g_new (uint8_t, n);
  g_autofree uint8_t *caller = g_new (uint8_t, n);
  for (int64_t i = 0; i < n; i++)
    mask[i] = lf_rng_uniform_at (10, (uint64_t) i) < 0.4 ? 0 : (i % 3 ? 1 : 255);
  mask[0] = 0;
  mask[1] = 1;
  g_autofree LfReal *before = g_new (LfReal, n);
  int64_t s = 0;
  for (int phase = 0; phase < 3; phase++)
    {
      /* 0: no mask (state builds up); 1: masked; 2: mask lifted */
      if (phase == 1)
        {
          memcpy (caller, mask, (size_t) n);
          lf_optimizer_set_mask (opt, p, caller);
          memset (caller, 0, (size_t) n);   /* the optimizer made its own copy */
        }
      if (phase == 2)
        lf_optimizer_set_mask (opt, p, NULL);
      g_assert_cmpint (lf_optimizer_n_params (opt), ==, 1);
      for (int k = 0; k < 4; k++, s++)
        {
          g_autofree double *g = grads_for (11, s, n);
          memcpy (before, p->data, (size_t) n * sizeof (LfReal));
          set_grad (p, g);
          set_grad (twin, g);
          if (phase == 1)   /* whatever a masked element's gradient holds */
            for (int64_t i = 0; i < n; i++)
              if (!mask[i])
                p->grad[i] = (LfReal) (i % 2 ? NAN : INFINITY);
          lf_optimizer_step (opt);
          lf_optimizer_step (opt_twin);
          ref_step (r, g, phase == 1 ? mask : NULL);
          for (int64_t i = 0; i < n; i++)
            {
              if (phase == 1 && !mask[i])
                g_assert_cmpmem (&p->data[i], sizeof (LfReal), &before[i], sizeof (LfReal));
              else if (phase < 2 || mask[i])
                g_assert_cmpmem (&p->data[i], sizeof (LfReal), &twin->data[i], sizeof (LfReal));
            }
          assert_matches (p, r);
        }
    }
}

static void
test_freeze_mask_sgd (void)
{
  LfOptimConfig c = config (LF_OPTIM_SGD, 0.05);
  check_mask (&c, 13);
  c.weight_decay = 0.1;
  check_mask (&c, 13);
  c.momentum = 0.9;
  check_mask (&c, 13);
  c.nesterov = TRUE;
  check_mask (&c, 13);
  /* a mask from the very first step: the masked buffers start at the first
   * gradient they see, as PyTorch's would */
  const int64_t n = 8;
  g_autoptr (LfTensor) p = param_new ("p", n, 12);
  g_autoptr (LfOptimizer) opt = lf_optimizer_new (&c);
  g_autoptr (Ref) r = ref_new (&c, p);
  uint8_t mask[8] = { 1, 0, 1, 0, 0, 1, 1, 0 };
  lf_optimizer_set_mask (opt, p, mask);
  g_assert_cmpint (lf_optimizer_n_params (opt), ==, 1);
  for (int s = 0; s < 100; s++)
    {
      g_autofree double *g = grads_for (13, s, n);
      set_grad (p, g);
      lf_optimizer_step (opt);
      ref_step (r, g, mask);
    }
  for (int64_t i = 0; i < n; i++)
    if (!mask[i])
      g_assert_cmpfloat (p->data[i], ==, (LfReal) init_at (12, i));
  assert_matches (p, r);
  lf_optimizer_set_mask (opt, p, NULL);
  for (int s = 100; s < 103; s++)
    {
      g_autofree double *g = grads_for (13, s, n);
      set_grad (p, g);
      lf_optimizer_step (opt);
      ref_step (r, g, NULL);
      assert_matches (p, r);
    }
}

static void
test_freeze_mask_adam (void)
{
  LfOptimConfig c = config (LF_OPTIM_ADAM, 0.01);
  c.weight_decay = 0.1;
  c.eps = 1e-3;
  check_mask (&c, 13);
  c.kind = LF_OPTIM_ADAMW;
  check_mask (&c, 13);
  c.eps = 1e-8;
  check_mask (&c, 13);
}

/* Past LF_PAR_MIN the kernels run in parallel: the same answers, and the
 * same bits at one and two threads. */
static void
test_freeze_mask_parallel (void)
{
  const int64_t n = 3 * LF_PAR_MIN + 17;
  LfOptimConfig cfgs[4];
  cfgs[3] = config (LF_OPTIM_SGD, 0.05);
  cfgs[3].weight_decay = 0.1;
  cfgs[0] = config (LF_OPTIM_SGD, 0.05);
  cfgs[0].momentum = 0.9;
  cfgs[0].nesterov = TRUE;
  cfgs[0].weight_decay = 0.1;
  cfgs[1] = config (LF_OPTIM_ADAM, 0.01);
  cfgs[1].weight_decay = 0.1;
  cfgs[1].eps = 1e-3;
  cfgs[2] = config (LF_OPTIM_ADAMW, 0.01);
  cfgs[2].weight_decay = 0.1;
  for (size_t k = 0; k < G_N_ELEMENTS (cfgs); k++)
    {
      lf_set_threads (2);
      check_mask (&cfgs[k], n);
      /* one thread vs two, same bits */
      g_autoptr (LfTensor) a = param_new ("a", n, 14);
      g_autoptr (LfTensor) b = param_new ("b", n, 14);
      g_autoptr (LfOptimizer) oa = lf_optimizer_new (&cfgs[k]);
      g_autoptr (LfOptimizer) ob = lf_optimizer_new (&cfgs[k]);
      lf_optimizer_add_param (oa, a);
      lf_optimizer_add_param (ob, b);
      for (int s = 0; s < 3; s++)
        {
          g_autofree double *g = grads_for (15, s, n);
          set_grad (a, g);
          set_grad (b, g);
          lf_set_threads (1);
          lf_optimizer_step (oa);
          lf_set_threads (2);
          lf_optimizer_step (ob);
        }
      assert_same_bits (a->data, b->data, n);
    }
  lf_set_threads (1);
}

/* ---- gradients that did not arrive ---------------------------------------------- */

/* A parameter the loss did not reach this step (GRAD_VALID unset) is left
 * alone: not moved (no decay either) and its step count does not advance. */
static void
test_no_grad_skipped (void)
{
  const LfOptimKind kinds[] = { LF_OPTIM_ADAM, LF_OPTIM_ADAMW, LF_OPTIM_SGD };
  for (size_t k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      const int64_t n = 7;
      LfOptimConfig c = config (kinds[k], 0.01);
      c.weight_decay = 0.1;
      c.eps = 1e-3;
      c.momentum = 0.9;
      g_autoptr (LfTensor) a = param_new ("a", n, 16);
      g_autoptr (LfTensor) b = param_new ("b", n, 17);
      g_autoptr (LfOptimizer) opt = lf_optimizer_new (&c);
      g_autoptr (Ref) ra = ref_new (&c, a);
      g_autoptr (Ref) rb = ref_new (&c, b);
      lf_optimizer_add_param (opt, a);
      lf_optimizer_add_param (opt, b);
      lf_optimizer_add_param (opt, a);   /* already there */
      g_assert_cmpint (lf_optimizer_n_params (opt), ==, 2);
      g_autofree LfReal *held = g_new (LfReal, n);
      for (int s = 0; s < 8; s++)
        {
          g_autofree double *ga = grads_for (18, s, n);
          g_autofree double *gb = grads_for (19, s, n);
          set_grad (a, ga);
          set_grad (b, gb);
          gboolean b_skips = s % 3 == 1;
          if (b_skips)
            lf_tensor_zero_grad (b);
          g_assert_true (lf_tensor_grad (b) == (b_skips ? NULL : b->grad));
          memcpy (held, b->data, (size_t) n * sizeof (LfReal));
          lf_optimizer_step (opt);
          ref_step (ra, ga, NULL);
          if (b_skips)
            assert_same_bits (b->data, held, n);
          else
            ref_step (rb, gb, NULL);
          assert_matches (a, ra);
          assert_matches (b, rb);
        }
      /* zero_grad: nobody has a gradient, nothing moves */
      lf_optimizer_zero_grad (opt);
      g_assert_null (lf_tensor_grad (a));
      g_assert_null (lf_tensor_grad (b));
      lf_optimizer_step (opt);
      assert_matches (a, ra);
      assert_matches (b, rb);
    }
}

/* ---- the parameter list ------------------------------------------------------------ */

static void
run_steps (LfOptimizer *opt, int n, LfTensor *const *p, Ref *const *r, int64_t *s, int steps)
{
  for (int k = 0; k < steps; k++, (*s)++)
    {
      for (int j = 0; j < n; j++)
        {
          g_autofree double *g = grads_for (20 + (uint64_t) j, *s, p[j]->numel);
          set_grad (p[j], g);
          ref_step (r[j], g, NULL);
        }
      lf_optimizer_step (opt);
      for (int j = 0; j < n; j++)
        assert_matches (p[j], r[j]);
    }
}

static void
test_params_set (void)
{
  LfOptimConfig c = config (LF_OPTIM_ADAMW, 0.01);
  c.weight_decay = 0.1;
  c.eps = 1e-3;
  g_autoptr (LfTensor) a = param_new ("a", 5, 21);
  g_autoptr (LfTensor) b = param_new ("b", 7, 22);
  g_autoptr (LfTensor) cc = param_new ("c", 3, 23);
  g_autoptr (LfOptimizer) opt = lf_optimizer_new (&c);
  g_autoptr (Ref) ra = ref_new (&c, a);
  g_autoptr (Ref) rb = ref_new (&c, b);
  g_autoptr (Ref) rc = ref_new (&c, cc);
  int64_t s = 0;
  const size_t f = sizeof (LfReal);

  LfTensor *ab[2] = { a, b };
  Ref *rab[2] = { ra, rb };
  lf_optimizer_set_params (opt, 2, ab);
  g_assert_cmpint (lf_optimizer_n_params (opt), ==, 2);
  g_assert_cmpuint (lf_optimizer_state_bytes (opt), ==, 0);
  run_steps (opt, 2, ab, rab, &s, 3);
  g_assert_cmpuint (lf_optimizer_state_bytes (opt), ==, 2 * f * (5 + 7));

  /* the tree changed: a is gone, c is new, b keeps its state (and moves
   * to the front) */
  uint8_t bmask[7] = { 1, 1, 0, 1, 1, 0, 1 };
  lf_optimizer_set_mask (opt, b, bmask);
  LfTensor *cb[2] = { cc, b };
  Ref *rcb[2] = { rc, rb };
  lf_optimizer_set_params (opt, 2, cb);
  g_assert_cmpint (lf_optimizer_n_params (opt), ==, 2);
  g_assert_cmpuint (lf_optimizer_state_bytes (opt), ==, 2 * f * 7 + 7);   /* b's moments and mask */
  /* b's mask came along */
  g_autofree double *gb = grads_for (50, s, 7);
  g_autofree double *gc = grads_for (51, s, 3);
  set_grad (b, gb);
  set_grad (cc, gc);
  lf_optimizer_step (opt);
  ref_step (rb, gb, bmask);
  ref_step (rc, gc, NULL);
  s++;
  assert_matches (b, rb);
  assert_matches (cc, rc);
  lf_optimizer_set_mask (opt, b, NULL);
  run_steps (opt, 2, cb, rcb, &s, 2);
  g_assert_cmpuint (lf_optimizer_state_bytes (opt), ==, 2 * f * (3 + 7));

  /* a comes back: fresh state, as if it had never been trained */
  LfTensor *bca[3] = { b, cc, a };
  lf_optimizer_set_params (opt, 3, bca);
  g_assert_cmpint (lf_optimizer_n_params (opt), ==, 3);
  ref_reset (ra);
  Ref *rbca[3] = { rb, rc, ra };
  run_steps (opt, 3, bca, rbca, &s, 2);

  /* an empty list drops everything */
  lf_optimizer_set_params (opt, 0, NULL);
  g_assert_cmpint (lf_optimizer_n_params (opt), ==, 0);
  g_assert_cmpuint (lf_optimizer_state_bytes (opt), ==, 0);
}

static void
test_params_reset_state (void)
{
  const LfOptimKind kinds[] = { LF_OPTIM_ADAM, LF_OPTIM_ADAMW, LF_OPTIM_SGD };
  for (size_t k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      LfOptimConfig c = config (kinds[k], 0.01);
      c.weight_decay = 0.1;
      c.momentum = 0.9;
      c.eps = 1e-3;
      g_autoptr (LfTensor) a = param_new ("a", 6, 24);
      g_autoptr (LfTensor) b = param_new ("b", 4, 25);
      g_autoptr (LfOptimizer) opt = lf_optimizer_new (&c);
      g_autoptr (Ref) ra = ref_new (&c, a);
      g_autoptr (Ref) rb = ref_new (&c, b);
      LfTensor *ab[2] = { a, b };
      Ref *rab[2] = { ra, rb };
      lf_optimizer_set_params (opt, 2, ab);
      int64_t s = 0;
      run_steps (opt, 2, ab, rab, &s, 4);
      g_assert_cmpuint (lf_optimizer_state_bytes (opt), >, 0);
      lf_optimizer_reset_state (opt);
      g_assert_cmpint (lf_optimizer_n_params (opt), ==, 2);
      g_assert_cmpuint (lf_optimizer_state_bytes (opt), ==, 0);
      /* the next step is a first step from the current weights */
      ref_reset (ra);
      ref_reset (rb);
      run_steps (opt, 2, ab, rab, &s, 3);
    }
}

static void
test_state_bytes (void)
{
  const size_t f = sizeof (LfReal);
  g_autoptr (LfTensor) a = param_new ("a", 10, 26);
  g_autoptr (LfTensor) b = param_new ("b", 33, 27);
  LfTensor *ab[2] = { a, b };
  double ga[10] = { 0 }, gb[33] = { 0 };
  struct { LfOptimKind kind; double momentum; size_t floats; } cases[] = {
    { LF_OPTIM_SGD, 0.0, 0 },
    { LF_OPTIM_SGD, 0.9, 1 },
    { LF_OPTIM_ADAM, 0.0, 2 },
    { LF_OPTIM_ADAMW, 0.0, 2 },
  };
  for (size_t k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      LfOptimConfig c = config (cases[k].kind, 0.01);
      c.momentum = cases[k].momentum;
      g_autoptr (LfOptimizer) opt = lf_optimizer_new (&c);
      lf_optimizer_set_params (opt, 2, ab);
      g_assert_cmpuint (lf_optimizer_state_bytes (opt), ==, 0);
      set_grad (a, ga);
      set_grad (b, gb);
      lf_optimizer_step (opt);
      g_assert_cmpuint (lf_optimizer_state_bytes (opt), ==, cases[k].floats * f * (10 + 33));
      /* a mask is state too, one byte an element */
      uint8_t mask[10] = { 1, 0, 1, 0, 1, 0, 1, 0, 1, 0 };
      lf_optimizer_set_mask (opt, a, mask);
      g_assert_cmpuint (lf_optimizer_state_bytes (opt), ==, cases[k].floats * f * (10 + 33) + 10);
      lf_optimizer_set_mask (opt, a, NULL);
      g_assert_cmpuint (lf_optimizer_state_bytes (opt), ==, cases[k].floats * f * (10 + 33));
    }
}

/* Duplicates are listed once; a tensor that is not a parameter (an arena
 * activation, an owned buffer without a gradient) is refused. */
static void
test_params_misuse (void)
{
  LfOptimConfig c = config (LF_OPTIM_ADAM, 0.01);
  g_autoptr (LfTensor) a = param_new ("a", 5, 31);
  g_autoptr (LfTensor) b = param_new ("b", 3, 32);
  g_autoptr (LfOptimizer) opt = lf_optimizer_new (&c);
  LfTensor *dup[4] = { a, b, a, b };
  lf_optimizer_set_params (opt, 4, dup);
  g_assert_cmpint (lf_optimizer_n_params (opt), ==, 2);
  double g5[5] = { 1, 1, 1, 1, 1 }, g3[3] = { 1, 1, 1 };
  set_grad (a, g5);
  set_grad (b, g3);
  lf_optimizer_step (opt);
  lf_optimizer_set_params (opt, 4, dup);
  g_assert_cmpint (lf_optimizer_n_params (opt), ==, 2);
  g_assert_cmpuint (lf_optimizer_state_bytes (opt), ==, 2 * sizeof (LfReal) * 8);

  if (g_test_subprocess ())
    {
      int64_t n = 4;
      g_autoptr (LfTensor) buffer = lf_tensor_new_owned (1, &n);
      lf_optimizer_add_param (opt, buffer);   /* a critical: fatal in tests */
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*lf_optimizer_add_param*");
}

/* The optimizer takes what lf_backward leaves: y = x w^T gives dy/dw = x. */
static void
test_sgd_autograd (void)
{
  int64_t sx[2] = { 1, 5 };
  g_autoptr (LfTensor) w = lf_param_new ("w", 2, sx);
  g_autoptr (LfTensor) x = lf_tensor_new_owned (2, sx);
  for (int i = 0; i < 5; i++)
    {
      w->data[i] = (LfReal) init_at (28, i);
      x->data[i] = (LfReal) (0.25 * (i - 2));
    }
  LfOptimConfig c = config (LF_OPTIM_SGD, 0.5);
  g_autoptr (LfOptimizer) opt = lf_optimizer_new (&c);
  lf_optimizer_add_param (opt, w);
  for (int s = 0; s < 3; s++)
    {
      lf_tape_push (TRUE);
      LfTensor *y = lf_linear (x, w, NULL);
      g_assert_cmpint (lf_tensor_numel (y), ==, 1);
      lf_backward (y);
      lf_tape_pop ();
      g_assert_nonnull (lf_tensor_grad (w));
      lf_optimizer_step (opt);
      lf_optimizer_zero_grad (opt);
      g_assert_null (lf_tensor_grad (w));
      for (int i = 0; i < 5; i++)
        g_assert_cmpfloat_with_epsilon (w->data[i], init_at (28, i) - 0.5 * (s + 1) * x->data[i],
                                        REL_TOL * 2);
    }
}

/* ---- schedules ---------------------------------------------------------------------- */

#define assert_lr(s, base, step, want) \
  g_assert_cmpfloat_with_epsilon (lf_schedule_lr ((s), (base), (step)), (want), 1e-12 * (base))

static void
test_schedule_constant (void)
{
  LfSchedule s = { .kind = LF_SCHEDULE_CONSTANT };
  for (int64_t t = 0; t < 1000; t += 37)
    g_assert_cmpfloat (lf_schedule_lr (&s, 0.1, t), ==, 0.1);
  g_assert_cmpfloat (lf_schedule_lr (NULL, 0.25, 12), ==, 0.25);
}

static void
test_schedule_step (void)
{
  LfSchedule s = { .kind = LF_SCHEDULE_STEP, .step_size = 3, .gamma = 0.5 };
  const double want[] = { 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125 };
  for (int64_t t = 0; t < (int64_t) G_N_ELEMENTS (want); t++)
    assert_lr (&s, 0.1, t, want[t]);
  assert_lr (&s, 0.1, 30, 0.1 / 1024);
  /* with warm-up the decay counts from its end */
  s.warmup_steps = 2;
  assert_lr (&s, 0.1, 0, 0.05);
  assert_lr (&s, 0.1, 1, 0.1);
  assert_lr (&s, 0.1, 2, 0.1);
  assert_lr (&s, 0.1, 4, 0.1);
  assert_lr (&s, 0.1, 5, 0.05);
  assert_lr (&s, 0.1, 8, 0.025);
}

static void
test_schedule_cosine (void)
{
  LfSchedule s = { .kind = LF_SCHEDULE_COSINE, .total_steps = 10, .min_lr = 1e-4 };
  /* min + (base - min) (1 + cos (pi t / 10)) / 2, with base 1e-2:
   * cos(pi/5) = 0.80901699437494742, cos(2pi/5) = 0.30901699437494742 */
  assert_lr (&s, 1e-2, 0, 1e-2);
  assert_lr (&s, 1e-2, 2, 1e-4 + 0.99e-2 * 0.5 * 1.80901699437494742);
  assert_lr (&s, 1e-2, 4, 1e-4 + 0.99e-2 * 0.5 * 1.30901699437494742);
  assert_lr (&s, 1e-2, 5, (1e-2 + 1e-4) / 2);
  assert_lr (&s, 1e-2, 8, 1e-4 + 0.99e-2 * 0.5 * (1 - 0.80901699437494742));
  /* reaches min_lr at total_steps and stays there */
  assert_lr (&s, 1e-2, 10, 1e-4);
  assert_lr (&s, 1e-2, 11, 1e-4);
  assert_lr (&s, 1e-2, 1000, 1e-4);
  double prev = 1;
  for (int64_t t = 0; t <= 10; t++)
    {
      double lr = lf_schedule_lr (&s, 1e-2, t);
      g_assert_cmpfloat (lr, <, prev);
      prev = lr;
    }
  /* min_lr 0 reaches exactly 0 */
  s.min_lr = 0;
  assert_lr (&s, 1e-2, 10, 0.0);
  assert_lr (&s, 1e-2, 5, 0.5e-2);
}

static void
test_schedule_warmup (void)
{
  /* linear from base/warmup at step 0 to base at step warmup - 1 */
  LfSchedule s = { .kind = LF_SCHEDULE_CONSTANT, .warmup_steps = 4 };
  assert_lr (&s, 0.1, 0, 0.025);
  assert_lr (&s, 0.1, 1, 0.05);
  assert_lr (&s, 0.1, 2, 0.075);
  assert_lr (&s, 0.1, 3, 0.1);
  assert_lr (&s, 0.1, 4, 0.1);
  assert_lr (&s, 0.1, 100, 0.1);
  /* cosine after warm-up: T counts from the warm-up's end */
  LfSchedule cs = { .kind = LF_SCHEDULE_COSINE, .warmup_steps = 4, .total_steps = 10, .min_lr = 0 };
  assert_lr (&cs, 0.1, 0, 0.025);
  assert_lr (&cs, 0.1, 3, 0.1);
  assert_lr (&cs, 0.1, 4, 0.1);
  assert_lr (&cs, 0.1, 9, 0.05);
  assert_lr (&cs, 0.1, 14, 0.0);
  assert_lr (&cs, 0.1, 50, 0.0);
}

/* ---- clipping -------------------------------------------------------------------------- */

static void
test_clip_norm (void)
{
  int64_t n3 = 3, n4 = 4;
  g_autoptr (LfTensor) a = lf_param_new ("a", 1, &n3);
  g_autoptr (LfTensor) b = lf_param_new ("b", 1, &n4);
  g_autoptr (LfTensor) frozen = lf_param_new ("frozen", 1, &n4);
  g_autoptr (LfTensor) stale = lf_param_new ("stale", 1, &n3);
  g_autoptr (LfTensor) absent = lf_param_new ("absent", 1, &n3);
  const double ga[3] = { 3, -4, 0 }, gb[4] = { 0, 0, 12, 0 };   /* norm 13 */
  const double big[4] = { 100, 200, 300, 400 };
  LfTensor *all[5] = { a, frozen, b, stale, absent };

  /* below (and at) max_norm, or max_norm <= 0: untouched */
  const double no_clip[] = { 20.0, 13.0, 0.0, -1.0 };
  for (size_t k = 0; k < G_N_ELEMENTS (no_clip); k++)
    {
      set_grad (a, ga);
      set_grad (b, gb);
      set_grad (frozen, big);
      lf_tensor_set_requires_grad (frozen, FALSE);
      set_grad (stale, big);
      /* frozen with a stale flag: ignored as well */
      stale->flags &= ~(uint32_t) LF_TF_REQUIRES_GRAD;
      set_grad (absent, big);
      lf_tensor_zero_grad (absent);
      double norm = lf_clip_grad_norm (5, all, no_clip[k]);
      g_assert_cmpfloat (norm, ==, 13.0);
      for (int i = 0; i < 3; i++)
        g_assert_cmpfloat (a->grad[i], ==, ga[i]);
      for (int i = 0; i < 4; i++)
        g_assert_cmpfloat (b->grad[i], ==, gb[i]);
    }

  /* above: scaled to max_norm (within PyTorch's 1e-6 guard), frozen and
   * gradient-less parameters left alone */
  double norm = lf_clip_grad_norm (5, all, 6.5);
  g_assert_cmpfloat (norm, ==, 13.0);
  double sq = 0;
  for (int i = 0; i < 3; i++)
    {
      g_assert_cmpfloat_with_epsilon (a->grad[i], ga[i] * 0.5, 1e-6);
      sq += (double) a->grad[i] * a->grad[i];
    }
  for (int i = 0; i < 4; i++)
    {
      g_assert_cmpfloat_with_epsilon (b->grad[i], gb[i] * 0.5, 1e-6);
      sq += (double) b->grad[i] * b->grad[i];
    }
  g_assert_cmpfloat_with_epsilon (sqrt (sq), 6.5, 6.5 * REL_TOL);
  g_assert_cmpfloat_with_epsilon (lf_clip_grad_norm (5, all, 0), 6.5, 6.5 * REL_TOL);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (frozen->grad[i], ==, big[i]);
  for (int i = 0; i < 3; i++)
    {
      g_assert_cmpfloat (stale->grad[i], ==, big[i]);
      g_assert_cmpfloat (absent->grad[i], ==, big[i]);
    }
  g_assert_cmpfloat (lf_clip_grad_norm (0, NULL, 1.0), ==, 0.0);
}

/* A million-element gradient: the norm (checked against a long double sum)
 * and the clipped gradients hold the same bits at one and two threads. */
static void
test_clip_threads (void)
{
  int64_t n = 1000003, m = 4099;
  g_autoptr (LfTensor) big = lf_param_new ("big", 1, &n);
  g_autoptr (LfTensor) small = lf_param_new ("small", 1, &m);
  LfTensor *ps[2] = { small, big };
  g_autofree LfReal *g0 = g_new (LfReal, n);
  g_autofree LfReal *out1 = g_new (LfReal, n);
  long double sq = 0;
  for (int64_t i = 0; i < n; i++)
    {
      g0[i] = (LfReal) ((lf_rng_uniform_at (29, (uint64_t) i) - 0.5) * 1e-2);
      sq += (long double) g0[i] * g0[i];
    }
  for (int64_t i = 0; i < m; i++)
    {
      small->grad[i] = (LfReal) (lf_rng_uniform_at (30, (uint64_t) i) - 0.5);
      sq += (long double) small->grad[i] * small->grad[i];
    }
  small->flags |= LF_TF_GRAD_VALID;
  big->flags |= LF_TF_GRAD_VALID;
  g_autofree LfReal *s0 = g_memdup2 (small->grad, (gsize) m * sizeof (LfReal));
  g_autofree LfReal *s1 = g_new (LfReal, m);
  double want = sqrtl (sq);
  double norms[2];
  for (int th = 1; th <= 2; th++)
    {
      lf_set_threads (th);
      memcpy (big->grad, g0, (size_t) n * sizeof (LfReal));
      memcpy (small->grad, s0, (size_t) m * sizeof (LfReal));
      norms[th - 1] = lf_clip_grad_norm (2, ps, want / 3);
      if (th == 1)
        {
          memcpy (out1, big->grad, (size_t) n * sizeof (LfReal));
          memcpy (s1, small->grad, (size_t) m * sizeof (LfReal));
        }
    }
  lf_set_threads (1);
  g_assert_cmpfloat_with_epsilon (norms[0], want, want * 1e-12);
  g_assert_cmpmem (&norms[0], sizeof (double), &norms[1], sizeof (double));
  assert_same_bits (big->grad, out1, n);
  assert_same_bits (small->grad, s1, m);
  for (int64_t i = 0; i < n; i += 9973)
    g_assert_cmpfloat_with_epsilon (big->grad[i], g0[i] / 3.0, fabs (g0[i]) * 1e-6);
}

/* ---- the folded pull and path integral ------------------------------------------- */

/* What a strategy pulls one parameter with: an anchor near the weights and
 * importance weights over four decades (NULL weights: an L2 pull). */
typedef struct {
  LfTensor     *anchor;
  LfImportance *w;       /* NULL: w = 1 */
} Pull;

static Pull
pull_new (LfTensor *p, uint64_t seed, gboolean weighted)
{
  Pull u = { lf_tensor_new_owned (p->ndim, p->shape), NULL };
  for (int64_t i = 0; i < p->numel; i++)
    u.anchor->data[i] = p->data[i] + (LfReal) (0.5 * (lf_rng_uniform_at (seed, (uint64_t) i) - 0.5));
  if (weighted)
    {
      u.w = lf_importance_new (1, &p);
      LfReal *w = lf_importance_values (u.w, 0)->data;
      for (int64_t i = 0; i < p->numel; i++)
        w[i] = (LfReal) (lf_rng_uniform_at (seed + 1, (uint64_t) i) * pow (10.0, -(double) (i % 4)));
    }
  return u;
}

static void
pull_clear (Pull *u)
{
  lf_tensor_free (u->anchor);
  lf_importance_free (u->w);
}

static const LfReal *
pull_weight (const Pull *u)
{
  return u->w ? lf_importance_values (u->w, 0)->data : NULL;
}

/* The configurations a pull must fold into: plain SGD (with decay), momentum,
 * Nesterov, Adam with L2 decay, AdamW. */
static int
pull_configs (LfOptimConfig *c)
{
  c[0] = config (LF_OPTIM_SGD, 0.05);
  c[0].weight_decay = 0.01;
  c[1] = config (LF_OPTIM_SGD, 0.05);
  c[1].momentum = 0.9;
  c[2] = c[1];
  c[2].nesterov = TRUE;
  c[2].weight_decay = 0.01;
  c[3] = config (LF_OPTIM_ADAM, 0.01);
  c[3].weight_decay = 0.1;
  c[4] = config (LF_OPTIM_ADAMW, 0.01);
  c[4].weight_decay = 0.1;
  return 5;
}

/* Steps two copies of three parameters: one with lf_quadratic_penalty_add_grad
 * before each step (what the strategies did), one with the same pulls folded
 * into the optimizer.  Same bits, same value.  p0 is big (parallel blocks,
 * several sum chunks, a tail), weighted; p1 small and unweighted; p2
 * weighted, and no gradient reaches it at some steps (the pull alone moves
 * it).  mask (numel of p0, or NULL) freezes elements of p0. */
static void
check_pull_folds (const LfOptimConfig *cfg, const uint8_t *mask, int threads)
{
  const int64_t sizes[3] = { 2 * LF_PAR_MIN + 4099, 37, 300 };
  const double coef[3] = { 2500.0, 0.37, 1.5 };
  LfTensor *a[3], *b[3];
  Pull u[3];
  g_autoptr (LfOptimizer) oa = lf_optimizer_new (cfg);
  g_autoptr (LfOptimizer) ob = lf_optimizer_new (cfg);
  for (int j = 0; j < 3; j++)
    {
      a[j] = param_new ("a", sizes[j], 40 + (uint64_t) j);
      b[j] = param_new ("b", sizes[j], 40 + (uint64_t) j);
      u[j] = pull_new (a[j], 50 + (uint64_t) j, j != 1);
      lf_optimizer_add_param (oa, a[j]);
      lf_optimizer_set_pull (ob, b[j], u[j].anchor->data, pull_weight (&u[j]), coef[j]);
    }
  g_assert_cmpint (lf_optimizer_n_params (ob), ==, 3);
  if (mask)
    {
      lf_optimizer_set_mask (oa, a[0], mask);
      lf_optimizer_set_mask (ob, b[0], mask);
    }
  g_autofree LfReal *held = g_memdup2 (b[0]->data, (gsize) sizes[0] * sizeof (LfReal));
  lf_set_threads (threads);
  for (int s = 0; s < 4; s++)
    {
      double want = 0;
      for (int j = 0; j < 3; j++)
        {
          lf_tensor_zero_grad (a[j]);
          lf_tensor_zero_grad (b[j]);
          if (j == 2 && s % 2 == 1)
            continue;   /* the loss did not reach it */
          g_autofree double *g = grads_for (60 + (uint64_t) j, s, sizes[j]);
          set_grad (a[j], g);
          set_grad (b[j], g);
        }
      for (int j = 0; j < 3; j++)
        want += lf_quadratic_penalty_add_grad (1, &a[j], &u[j].anchor, u[j].w, coef[j]);
      lf_optimizer_step (oa);
      lf_optimizer_step (ob);
      for (int j = 0; j < 3; j++)
        assert_same_bits (a[j]->data, b[j]->data, sizes[j]);
      double got = lf_optimizer_pull_value (ob);
      g_assert_cmpmem (&got, sizeof got, &want, sizeof want);
      g_assert_cmpfloat (want, >, 0);
    }
  lf_set_threads (1);
  for (int64_t i = 0; mask && i < sizes[0]; i++)
    if (!mask[i])
      g_assert_cmpmem (&b[0]->data[i], sizeof (LfReal), &held[i], sizeof (LfReal));
  for (int j = 0; j < 3; j++)
    {
      lf_tensor_free (a[j]);
      lf_tensor_free (b[j]);
      pull_clear (&u[j]);
    }
}

static void
check_pull_every_config (const uint8_t *mask, int threads)
{
  LfOptimConfig c[8];
  int n = pull_configs (c);
  for (int k = 0; k < n; k++)
    check_pull_folds (&c[k], mask, threads);
}

static void
test_pull_same_as_grad (void)
{
  check_pull_every_config (NULL, 1);
}

/* The pull's value and the update at one, two and three threads: the same
 * bits (and each the add_grad path's). */
static void
test_pull_threads (void)
{
  for (int t = 2; t <= 3; t++)
    check_pull_every_config (NULL, t);
  /* one parameter, the value alone at 1, 2 and 3 threads */
  const int64_t m = 3 * LF_PAR_MIN + 5;
  double v[3];
  for (int t = 1; t <= 3; t++)
    {
      LfOptimConfig cfg = config (LF_OPTIM_ADAM, 0.01);
      g_autoptr (LfTensor) p = param_new ("p", m, 70);
      Pull u = pull_new (p, 71, TRUE);
      g_autoptr (LfOptimizer) opt = lf_optimizer_new (&cfg);
      lf_optimizer_set_pull (opt, p, u.anchor->data, pull_weight (&u), 3.0);
      g_autofree double *g = grads_for (72, 0, m);
      set_grad (p, g);
      lf_set_threads (t);
      lf_optimizer_step (opt);
      lf_set_threads (1);
      v[t - 1] = lf_optimizer_pull_value (opt);
      pull_clear (&u);
    }
  g_assert_cmpmem (&v[0], sizeof (double), &v[1], sizeof (double));
  g_assert_cmpmem (&v[0], sizeof (double), &v[2], sizeof (double));
}

/* A PackNet mask with a pull (the generic kernel): frozen elements keep their
 * bits, the others step as with the penalty added to .grad. */
static void
test_pull_masked (void)
{
  const int64_t n = 2 * LF_PAR_MIN + 4099;
  g_autofree uint8_t *mask = g_new (uint8_t, n);
  for (int64_t i = 0; i < n; i++)
    mask[i] = (uint8_t) (lf_rng_uniform_at (73, (uint64_t) i) < 0.5);
  check_pull_every_config (mask, 2);
}

/* acc -= g_task (w_new - w_old), by hand in LfReal: g_task is the gradient
 * before the pull (0 at a step only the pull moved the weight), masked
 * elements add nothing. */
static void
test_path_integral (void)
{
  const int64_t n = LF_PAR_MIN + 4097;
  LfOptimConfig c[8];
  int nc = pull_configs (c);
  g_autofree uint8_t *mask = g_new (uint8_t, n);
  for (int64_t i = 0; i < n; i++)
    mask[i] = (uint8_t) (i % 3 != 0);
  for (int k = 0; k < nc; k++)
    for (int variant = 0; variant < 3; variant++)   /* path alone, with a pull, with a pull and a mask */
      {
        g_autoptr (LfTensor) p = param_new ("p", n, 80);
        Pull u = pull_new (p, 81, TRUE);
        g_autoptr (LfOptimizer) opt = lf_optimizer_new (&c[k]);
        g_autofree LfReal *acc = g_new0 (LfReal, n), *want = g_new0 (LfReal, n);
        g_autofree LfReal *old = g_new (LfReal, n), *gt = g_new (LfReal, n);
        lf_optimizer_set_path_integral (opt, p, acc);
        if (variant > 0)
          lf_optimizer_set_pull (opt, p, u.anchor->data, pull_weight (&u), 10.0);
        if (variant > 1)
          lf_optimizer_set_mask (opt, p, mask);
        lf_set_threads (2);
        for (int s = 0; s < 4; s++)
          {
            lf_tensor_zero_grad (p);
            gboolean reached = !(variant > 0 && s == 2);
            if (reached)
              {
                g_autofree double *g = grads_for (82, s, n);
                set_grad (p, g);
              }
            for (int64_t i = 0; i < n; i++)
              gt[i] = reached ? p->grad[i] : 0;
            memcpy (old, p->data, (size_t) n * sizeof (LfReal));
            lf_optimizer_step (opt);
            for (int64_t i = 0; i < n; i++)
              want[i] -= gt[i] * (p->data[i] - old[i]);
          }
        lf_set_threads (1);
        assert_same_bits (acc, want, n);
        gboolean moved = FALSE;
        for (int64_t i = 0; i < n && !moved; i++)
          moved = acc[i] != 0;
        g_assert_true (moved);
        /* NULL removes it */
        lf_optimizer_set_path_integral (opt, p, NULL);
        g_autofree double *g = grads_for (83, 9, n);
        set_grad (p, g);
        lf_optimizer_step (opt);
        assert_same_bits (acc, want, n);
        pull_clear (&u);
      }
}

/* The pull survives set_params (while the parameter stays) and reset_state;
 * anchor NULL removes it; a parameter dropped by set_params loses it. */
static void
test_pull_lifetime (void)
{
  LfOptimConfig cfg = config (LF_OPTIM_ADAM, 0.01);
  const int64_t n = 29;
  g_autoptr (LfTensor) a = param_new ("a", n, 90);
  g_autoptr (LfTensor) b = param_new ("b", n, 90);
  g_autoptr (LfTensor) x = param_new ("x", n, 91);
  Pull u = pull_new (a, 92, TRUE);
  g_autoptr (LfOptimizer) oa = lf_optimizer_new (&cfg);
  g_autoptr (LfOptimizer) ob = lf_optimizer_new (&cfg);
  lf_optimizer_add_param (oa, a);
  lf_optimizer_set_pull (ob, b, u.anchor->data, pull_weight (&u), 7.0);
  LfTensor *listed[2] = { x, b };
  lf_optimizer_set_params (ob, 2, listed);   /* the host re-reads the module tree */
  lf_optimizer_reset_state (ob);             /* a new experience */
  g_assert_cmpfloat (lf_optimizer_pull_value (ob), ==, 0);
  for (int s = 0; s < 3; s++)
    {
      g_autofree double *g = grads_for (93, s, n);
      set_grad (a, g);
      set_grad (b, g);
      double want = lf_quadratic_penalty_add_grad (1, &a, &u.anchor, u.w, 7.0);
      lf_optimizer_step (oa);
      lf_optimizer_step (ob);
      assert_same_bits (a->data, b->data, n);
      double got = lf_optimizer_pull_value (ob);
      g_assert_cmpmem (&got, sizeof got, &want, sizeof want);
    }
  /* removed: a plain step again */
  lf_optimizer_set_pull (ob, b, NULL, NULL, 0);
  g_autofree double *g = grads_for (94, 0, n);
  set_grad (a, g);
  set_grad (b, g);
  lf_optimizer_step (oa);
  lf_optimizer_step (ob);
  assert_same_bits (a->data, b->data, n);
  g_assert_cmpfloat (lf_optimizer_pull_value (ob), ==, 0);
  /* dropped with its parameter */
  lf_optimizer_set_pull (ob, b, u.anchor->data, NULL, 1.0);
  lf_optimizer_set_params (ob, 1, &x);
  lf_optimizer_add_param (ob, b);
  set_grad (a, g);
  set_grad (b, g);
  lf_optimizer_reset_state (oa);
  lf_optimizer_step (oa);
  lf_optimizer_step (ob);
  assert_same_bits (a->data, b->data, n);
  g_assert_cmpfloat (lf_optimizer_pull_value (ob), ==, 0);
  pull_clear (&u);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  lf_set_threads (1);
  g_test_add_func ("/optim/config/defaults", test_config_defaults);
  g_test_add_func ("/optim/config/kind-from-string", test_config_kind_from_string);
  g_test_add_func ("/optim/sgd/plain", test_sgd_plain);
  g_test_add_func ("/optim/sgd/momentum", test_sgd_momentum);
  g_test_add_func ("/optim/sgd/nesterov", test_sgd_nesterov);
  g_test_add_func ("/optim/sgd/weight-decay", test_sgd_weight_decay);
  g_test_add_func ("/optim/sgd/autograd", test_sgd_autograd);
  g_test_add_func ("/optim/adam/reference", test_adam_reference);
  g_test_add_func ("/optim/adam/weight-decay", test_adam_weight_decay);
  g_test_add_func ("/optim/adamw/reference", test_adamw_reference);
  g_test_add_func ("/optim/adamw/decoupled", test_adamw_decoupled);
  g_test_add_func ("/optim/freeze/param-sgd", test_freeze_param_sgd);
  g_test_add_func ("/optim/freeze/param-adamw", test_freeze_param_adamw);
  g_test_add_func ("/optim/freeze/mask-sgd", test_freeze_mask_sgd);
  g_test_add_func ("/optim/freeze/mask-adam", test_freeze_mask_adam);
  g_test_add_func ("/optim/freeze/mask-parallel", test_freeze_mask_parallel);
  g_test_add_func ("/optim/step/no-grad-skipped", test_no_grad_skipped);
  g_test_add_func ("/optim/params/set-params", test_params_set);
  g_test_add_func ("/optim/params/reset-state", test_params_reset_state);
  g_test_add_func ("/optim/params/state-bytes", test_state_bytes);
  g_test_add_func ("/optim/params/misuse", test_params_misuse);
  g_test_add_func ("/optim/schedule/constant", test_schedule_constant);
  g_test_add_func ("/optim/schedule/step", test_schedule_step);
  g_test_add_func ("/optim/schedule/cosine", test_schedule_cosine);
  g_test_add_func ("/optim/schedule/warmup", test_schedule_warmup);
  g_test_add_func ("/optim/clip/norm", test_clip_norm);
  g_test_add_func ("/optim/clip/threads", test_clip_threads);
  g_test_add_func ("/optim/pull/same-as-grad", test_pull_same_as_grad);
  g_test_add_func ("/optim/pull/threads", test_pull_threads);
  g_test_add_func ("/optim/pull/masked", test_pull_masked);
  g_test_add_func ("/optim/pull/path-integral", test_path_integral);
  g_test_add_func ("/optim/pull/lifetime", test_pull_lifetime);
  return g_test_run ();
}
