/* lifelong benchmark — fused attention (lf_attention: plain C loops inside
 * an OpenMP loop over (batch, head) pairs) against the BLIS design it
 * replaced: a serial loop over the pairs, each with strided lf_gemm calls
 * (BLIS threads inside), a transpose being a stride change, computing the
 * whole T x T square as a GEMM must (the fused kernel skips the masked
 * blocks).  Forward and backward, causal, at the sizes the LLaMA-style model
 * uses; GFLOP/s count the causal half.  Prints one JSON line per
 * configuration; never part of the test suite.
 *   build/benchmarks/bench-attention [REPS] */
#include "tensor-private.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double
now (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (double) t.tv_sec + 1e-9 * (double) t.tv_nsec;
}

typedef struct { int64_t B, T, Hq, Hkv, Dh; } Cfg;

/* The BLIS variant, causal, no prefix, S = T.  probs: (B, Hq, T, T). */
static void
blis_forward (const Cfg *c, const LfReal *q, const LfReal *k, const LfReal *v, LfReal *probs, LfReal *out)
{
  const int64_t T = c->T, Dh = c->Dh, ldq = c->Hq * Dh, ldk = c->Hkv * Dh, G = c->Hq / c->Hkv;
  const LfReal scale = (LfReal) (1.0 / sqrt ((double) Dh));
  for (int64_t b = 0; b < c->B; b++)
    for (int64_t h = 0; h < c->Hq; h++)
      {
        const int64_t g = h / G;
        LfReal *p = probs + (b * c->Hq + h) * T * T;
        const LfReal *qh = q + b * T * ldq + h * Dh, *kg = k + b * T * ldk + g * Dh, *vg = v + b * T * ldk + g * Dh;
        lf_gemm (FALSE, TRUE, T, T, Dh, scale, qh, ldq, kg, ldk, 0, p, T);
        for (int64_t t = 0; t < T; t++)
          {
            LfReal *r = p + t * T, m = r[0];
            for (int64_t j = 1; j <= t; j++)
              m = r[j] > m ? r[j] : m;
            double s = 0;
            for (int64_t j = 0; j <= t; j++)
              s += r[j] = lf_expr (r[j] - m);
            LfReal inv = (LfReal) (1.0 / s);
            for (int64_t j = 0; j <= t; j++)
              r[j] *= inv;
            for (int64_t j = t + 1; j < T; j++)
              r[j] = 0;
          }
        lf_gemm (FALSE, FALSE, T, Dh, T, 1, p, T, vg, ldk, 0, out + b * T * ldq + h * Dh, ldq);
      }
}

static void
blis_backward (const Cfg *c, const LfReal *q, const LfReal *k, const LfReal *v, const LfReal *probs,
               const LfReal *dout, LfReal *dp, LfReal *dq, LfReal *dk, LfReal *dv)
{
  const int64_t T = c->T, Dh = c->Dh, ldq = c->Hq * Dh, ldk = c->Hkv * Dh, G = c->Hq / c->Hkv;
  const LfReal scale = (LfReal) (1.0 / sqrt ((double) Dh));
  for (int64_t b = 0; b < c->B; b++)
    for (int64_t h = 0; h < c->Hq; h++)
      {
        const int64_t g = h / G, qo = b * T * ldq + h * Dh, ko = b * T * ldk + g * Dh;
        const LfReal *p = probs + (b * c->Hq + h) * T * T;
        const LfReal beta = h % G == 0 ? 0 : 1;
        /* dV_g += P^T dO;  dP = dO V^T */
        lf_gemm (TRUE, FALSE, T, Dh, T, 1, p, T, dout + qo, ldq, beta, dv + ko, ldk);
        lf_gemm (FALSE, TRUE, T, T, Dh, 1, dout + qo, ldq, v + ko, ldk, 0, dp, T);
        for (int64_t t = 0; t < T; t++)
          {
            const LfReal *pr = p + t * T;
            LfReal *d = dp + t * T;
            double r = 0;
            for (int64_t j = 0; j <= t; j++)
              r += (double) pr[j] * d[j];
            for (int64_t j = 0; j < T; j++)
              d[j] = pr[j] * (d[j] - (LfReal) r) * scale;
          }
        /* dQ = dS K;  dK_g += dS^T Q */
        lf_gemm (FALSE, FALSE, T, Dh, T, 1, dp, T, k + ko, ldk, 0, dq + qo, ldq);
        lf_gemm (TRUE, FALSE, T, Dh, T, 1, dp, T, q + qo, ldq, beta, dk + ko, ldk);
      }
}

static LfTensor *
filled (int64_t B, int64_t T, int64_t H, int64_t Dh, uint64_t key)
{
  int64_t shape[4] = { B, T, H, Dh };
  LfTensor *t = lf_param_new ("x", 4, shape);
  for (int64_t i = 0; i < lf_tensor_numel (t); i++)
    lf_tensor_data (t)[i] = (LfReal) (2 * lf_rng_uniform_at (key, (uint64_t) i) - 1);
  return t;
}

/* loss = sum(out * w) for a fixed w, so the backward sees a dense dout */
static void
dot_forward (void *ctx, int n, LfTensor *const *in, LfTensor *out)
{
  (void) n;
  const LfReal *w = ctx, *x = lf_tensor_data (in[0]);
  double s = 0;
  for (int64_t i = 0; i < lf_tensor_numel (in[0]); i++)
    s += (double) x[i] * w[i];
  lf_tensor_data (out)[0] = (LfReal) s;
}

static void
dot_backward (void *ctx, int n, LfTensor *const *in, LfTensor *out, const LfReal *og, LfReal *const *ig)
{
  (void) n; (void) out;
  const LfReal *w = ctx;
  for (int64_t i = 0; i < lf_tensor_numel (in[0]); i++)
    ig[0][i] += og[0] * w[i];
}

static const LfCustomOp dot_op = { sizeof (LfCustomOp), "dot", dot_forward, dot_backward };

static void
run (const Cfg *c, int threads, int reps)
{
  lf_set_threads (threads);
  LfTensor *q = filled (c->B, c->T, c->Hq, c->Dh, 1), *k = filled (c->B, c->T, c->Hkv, c->Dh, 2);
  LfTensor *v = filled (c->B, c->T, c->Hkv, c->Dh, 3);
  const int64_t nq = lf_tensor_numel (q), nk = lf_tensor_numel (k), T = c->T;
  LfReal *w = g_new (LfReal, nq);
  for (int64_t i = 0; i < nq; i++)
    w[i] = (LfReal) lf_rng_uniform_at (4, (uint64_t) i);
  /* causal flops: QK^T and PV over the lower triangle (half), backward twice that */
  const double fwd_flops = 2.0 * 2 * c->B * c->Hq * (double) T * T * c->Dh / 2;
  double best_fused_f = 1e30, best_fused_b = 1e30, best_blis_f = 1e30, best_blis_b = 1e30;
  LfReal *probs = g_new (LfReal, c->B * c->Hq * T * T), *out = g_new (LfReal, nq), *dp = g_new (LfReal, T * T);
  LfReal *dq = g_new (LfReal, nq), *dk = g_new (LfReal, nk), *dv = g_new (LfReal, nk);
  double maxdiff = 0;
  for (int r = 0; r < reps; r++)
    {
      lf_tape_push (TRUE);
      double t0 = now ();
      LfTensor *y = lf_attention (q, k, v, TRUE, NULL, NULL);
      double t1 = now ();
      int64_t one = 1;
      LfTensor *loss = lf_custom (&dot_op, w, 1, &y, 1, &one);
      double t2 = now ();
      lf_backward (loss);
      double t3 = now ();
      best_fused_f = MIN (best_fused_f, t1 - t0);
      best_fused_b = MIN (best_fused_b, (t3 - t2));
      t0 = now ();
      blis_forward (c, lf_tensor_data (q), lf_tensor_data (k), lf_tensor_data (v), probs, out);
      t1 = now ();
      blis_backward (c, lf_tensor_data (q), lf_tensor_data (k), lf_tensor_data (v), probs, w, dp, dq, dk, dv);
      t2 = now ();
      best_blis_f = MIN (best_blis_f, t1 - t0);
      best_blis_b = MIN (best_blis_b, t2 - t1);
      if (r == 0)
        for (int64_t i = 0; i < nq; i++)
          maxdiff = fmax (maxdiff, fmax (fabs (out[i] - lf_tensor_data (y)[i]),
                                         fabs (dq[i] - lf_tensor_grad (q)[i])));
      lf_tape_pop ();
      lf_tensor_zero_grad (q);
      lf_tensor_zero_grad (k);
      lf_tensor_zero_grad (v);
    }
  printf ("{\"B\": %" G_GINT64_FORMAT ", \"T\": %" G_GINT64_FORMAT ", \"Hq\": %" G_GINT64_FORMAT
          ", \"Hkv\": %" G_GINT64_FORMAT ", \"Dh\": %" G_GINT64_FORMAT ", \"threads\": %d, "
          "\"fused_fwd_ms\": %.3f, \"fused_bwd_ms\": %.3f, \"blis_fwd_ms\": %.3f, \"blis_bwd_ms\": %.3f, "
          "\"fused_fwd_gflops\": %.1f, \"blis_fwd_gflops\": %.1f, \"max_abs_diff\": %.2g}\n",
          c->B, c->T, c->Hq, c->Hkv, c->Dh, threads, 1e3 * best_fused_f, 1e3 * best_fused_b,
          1e3 * best_blis_f, 1e3 * best_blis_b, fwd_flops / best_fused_f * 1e-9, fwd_flops / best_blis_f * 1e-9,
          maxdiff);
  fflush (stdout);
  g_free (w); g_free (probs); g_free (out); g_free (dp); g_free (dq); g_free (dk); g_free (dv);
  lf_tensor_free (q); lf_tensor_free (k); lf_tensor_free (v);
}

int
main (int argc, char **argv)
{
  int reps = argc > 1 ? atoi (argv[1]) : 20;
  static const Cfg cfgs[] = {
    { 16, 64, 8, 8, 32 }, { 16, 128, 8, 8, 32 }, { 16, 128, 8, 4, 32 }, { 8, 256, 8, 8, 32 },
    { 16, 128, 4, 4, 64 },
  };
  for (int threads = 1; threads <= 2; threads++)
    for (gsize i = 0; i < G_N_ELEMENTS (cfgs); i++)
      run (&cfgs[i], threads, reps);
  return 0;
}
