/* lifelong tests — finite-difference gradient checks, built against the
 * double-precision engine (LF_REAL_DOUBLE), so central differences agree
 * with the analytic gradient to ~1e-8 and a wrong factor cannot hide. */
#pragma once

#include "tensor-private.h"
#include <math.h>
#include <stdio.h>

typedef LfTensor *(*GcFn) (LfTensor *const *inputs, void *ctx);

/* loss = sum(out * R) for a fixed pseudo-random R, as a custom op so every
 * output element's gradient is exercised independently of the ops under test. */
static void
gc_dot_forward (void *ctx, int n, LfTensor *const *in, LfTensor *out)
{
  (void) ctx; (void) n;
  LfReal *x = lf_tensor_data (in[0]);
  double s = 0;
  for (int64_t i = 0; i < lf_tensor_numel (in[0]); i++)
    s += x[i] * lf_rng_uniform_at (77, (uint64_t) i) - 0.3 * x[i];
  lf_tensor_data (out)[0] = s;
}

static void
gc_dot_backward (void *ctx, int n, LfTensor *const *in, LfTensor *out,
                 const LfReal *og, LfReal *const *ig)
{
  (void) ctx; (void) n; (void) out;
  if (ig[0])
    for (int64_t i = 0; i < lf_tensor_numel (in[0]); i++)
      ig[0][i] += og[0] * (lf_rng_uniform_at (77, (uint64_t) i) - 0.3);
}

static const LfCustomOp gc_dot_op = {
  sizeof (LfCustomOp), "gc_dot", gc_dot_forward, gc_dot_backward,
};

static LfTensor *
gc_project (LfTensor *out)
{
  int64_t one = 1;
  return lf_custom (&gc_dot_op, NULL, 1, &out, 1, &one);
}

/* A parameter filled with values in [lo, hi), keyed by seed. */
static LfTensor *
gc_param (int ndim, const int64_t *shape, uint64_t seed, double lo, double hi)
{
  LfTensor *t = lf_param_new ("gc", ndim, shape);
  for (int64_t i = 0; i < lf_tensor_numel (t); i++)
    lf_tensor_data (t)[i] = lo + (hi - lo) * lf_rng_uniform_at (seed, (uint64_t) i);
  return t;
}

/* Checks d(sum(fn(inputs) * R))/d(inputs[k]) for every input that requires
 * a gradient against central differences.  Returns the worst relative
 * error; fails the test (g_assert) past tol. */
static double
gc_check (const char *what, GcFn fn, void *ctx, int n, LfTensor *const *inputs, double tol)
{
  const double eps = 1e-6;
  for (int k = 0; k < n; k++)
    lf_tensor_zero_grad (inputs[k]);
  lf_tape_push (TRUE);
  LfTensor *loss = gc_project (fn (inputs, ctx));
  lf_backward (loss);
  lf_tape_pop ();
  double worst = 0;
  for (int k = 0; k < n; k++)
    {
      LfTensor *x = inputs[k];
      if (!lf_tensor_requires_grad (x))
        continue;
      const LfReal *g = lf_tensor_grad (x);
      LfReal *v = lf_tensor_data (x);
      for (int64_t i = 0; i < lf_tensor_numel (x); i++)
        {
          LfReal keep = v[i];
          lf_tape_push (FALSE);
          v[i] = keep + eps;
          double fp = lf_tensor_data (gc_project (fn (inputs, ctx)))[0];
          v[i] = keep - eps;
          double fm = lf_tensor_data (gc_project (fn (inputs, ctx)))[0];
          lf_tape_pop ();
          v[i] = keep;
          double num = (fp - fm) / (2 * eps);
          double ana = g ? g[i] : 0.0;
          double err = fabs (num - ana) / fmax (1.0, fmax (fabs (num), fabs (ana)));
          if (err > worst)
            worst = err;
          if (err > tol)
            {
              g_printerr ("%s: input %d element %" G_GINT64_FORMAT ": analytic %.10g numeric %.10g\n",
                          what, k, i, ana, num);
              g_assert_cmpfloat (err, <=, tol);
            }
        }
    }
  g_test_message ("%s: worst relative error %.3g", what, worst);
  return worst;
}

#define GC_TOL 1e-6

/* Runs fn at 1 and 2 threads; the loss (fn's output, or with project its
 * gc_project) and the gradient of every input must agree bit for bit. */
#define GC_MAX_THREAD_INPUTS 8

static void G_GNUC_UNUSED
gc_check_threads (const char *what, gboolean project, GcFn fn, void *ctx, int n, LfTensor *const *in)
{
  g_assert_cmpint (n, <=, GC_MAX_THREAD_INPUTS);
  LfReal loss[2], *grad[2][GC_MAX_THREAD_INPUTS] = { { NULL } };
  for (int k = 0; k < 2; k++)
    {
      lf_set_threads (k + 1);
      for (int i = 0; i < n; i++)
        lf_tensor_zero_grad (in[i]);
      lf_tape_push (TRUE);
      LfTensor *l = fn (in, ctx);
      if (project)
        l = gc_project (l);
      loss[k] = lf_tensor_data (l)[0];
      lf_backward (l);
      lf_tape_pop ();
      for (int i = 0; i < n; i++)
        {
          g_assert_nonnull (lf_tensor_grad (in[i]));
          grad[k][i] = g_memdup2 (lf_tensor_grad (in[i]), (gsize) lf_tensor_numel (in[i]) * sizeof (LfReal));
        }
    }
  lf_set_threads (1);
  g_test_message ("%s: loss %.17g", what, loss[0]);
  g_assert_cmpmem (&loss[0], sizeof (LfReal), &loss[1], sizeof (LfReal));
  for (int i = 0; i < n; i++)
    {
      size_t bytes = (size_t) lf_tensor_numel (in[i]) * sizeof (LfReal);
      g_assert_cmpmem (grad[0][i], bytes, grad[1][i], bytes);
      g_free (grad[0][i]);
      g_free (grad[1][i]);
    }
}
