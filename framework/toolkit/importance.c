/* lifelong toolkit — per-parameter importance: accumulators of squared
 * (EWC's Fisher) and absolute (MAS) gradients, SI's path integral, and the
 * fused quadratic penalty sum w (theta - anchor)^2 every regulariser pulls
 * with.  Elementwise loops run in parallel over elements (each element is
 * written by one thread, so the thread count cannot change a result); the
 * penalty's sum is chunked in a fixed order, in double. */
#include "tensor-private.h"

struct LfImportance {
  int        n;
  LfTensor **params;     /* borrowed                               */
  LfTensor **acc;        /* owned, shaped like params[i], no grad  */
};

static LfTensor **
owned_like (int n, LfTensor *const *params)
{
  LfTensor **t = g_new0 (LfTensor *, MAX (n, 1));
  for (int i = 0; i < n; i++)
    {
      lf_check (params[i] != NULL, "importance: parameter %d is NULL", i);
      t[i] = lf_tensor_new_owned (params[i]->ndim, params[i]->shape);
    }
  return t;
}

static void
owned_free (int n, LfTensor **t)
{
  if (t == NULL)
    return;
  for (int i = 0; i < n; i++)
    lf_tensor_free (t[i]);
  g_free (t);
}

LfImportance *
lf_importance_new (int n, LfTensor *const *params)
{
  g_return_val_if_fail (n >= 0, NULL);
  g_return_val_if_fail (n == 0 || params != NULL, NULL);
  LfImportance *imp = g_new0 (LfImportance, 1);
  imp->n = n;
  imp->params = g_memdup2 (params, sizeof (LfTensor *) * (gsize) MAX (n, 1));
  imp->acc = owned_like (n, params);
  return imp;
}

void
lf_importance_free (LfImportance *imp)
{
  if (imp == NULL)
    return;
  owned_free (imp->n, imp->acc);
  g_free (imp->params);
  g_free (imp);
}

int lf_importance_n (const LfImportance *imp) { return imp->n; }

LfTensor *
lf_importance_param (LfImportance *imp, int i)
{
  g_return_val_if_fail (imp != NULL && i >= 0 && i < imp->n, NULL);
  return imp->params[i];
}

LfTensor *
lf_importance_values (LfImportance *imp, int i)
{
  g_return_val_if_fail (imp != NULL && i >= 0 && i < imp->n, NULL);
  return imp->acc[i];
}

/* The gradient of parameter i: the caller's buffer, or the parameter's own
 * (NULL when it is zero). */
static const LfReal *
grad_of (LfImportance *imp, const LfReal *const *grads, int i)
{
  return grads ? grads[i] : lf_tensor_grad (imp->params[i]);
}

void
lf_importance_add_sq (LfImportance *imp, const LfReal *const *grads, double weight)
{
  g_return_if_fail (imp != NULL);
  const LfReal w = (LfReal) weight;
  for (int i = 0; i < imp->n; i++)
    {
      const LfReal *g = grad_of (imp, grads, i);
      if (g == NULL)
        continue;
      LfReal *a = imp->acc[i]->data;
      const int64_t n = imp->acc[i]->numel;
#pragma omp parallel for simd schedule(static) if (n >= LF_PAR_MIN)
      for (int64_t k = 0; k < n; k++)
        a[k] += w * (g[k] * g[k]);
    }
}

void
lf_importance_add_abs (LfImportance *imp, const LfReal *const *grads, double weight)
{
  g_return_if_fail (imp != NULL);
  const LfReal w = (LfReal) weight;
  for (int i = 0; i < imp->n; i++)
    {
      const LfReal *g = grad_of (imp, grads, i);
      if (g == NULL)
        continue;
      LfReal *a = imp->acc[i]->data;
      const int64_t n = imp->acc[i]->numel;
#pragma omp parallel for simd schedule(static) if (n >= LF_PAR_MIN)
      for (int64_t k = 0; k < n; k++)
        a[k] += w * lf_fabsr (g[k]);
    }
}

void
lf_importance_scale (LfImportance *imp, double s)
{
  g_return_if_fail (imp != NULL);
  const LfReal f = (LfReal) s;
  for (int i = 0; i < imp->n; i++)
    {
      LfReal *a = imp->acc[i]->data;
      const int64_t n = imp->acc[i]->numel;
#pragma omp parallel for simd schedule(static) if (n >= LF_PAR_MIN)
      for (int64_t k = 0; k < n; k++)
        a[k] *= f;
    }
}

void
lf_importance_add (LfImportance *imp, const LfImportance *other, double w)
{
  g_return_if_fail (imp != NULL && other != NULL);
  lf_check (imp->n == other->n, "lf_importance_add: %d vs %d parameters", imp->n, other->n);
  const LfReal f = (LfReal) w;
  for (int i = 0; i < imp->n; i++)
    {
      lf_check (imp->acc[i]->numel == other->acc[i]->numel,
                "lf_importance_add: parameter %d has %" G_GINT64_FORMAT " vs %" G_GINT64_FORMAT " elements",
                i, imp->acc[i]->numel, other->acc[i]->numel);
      LfReal *a = imp->acc[i]->data;
      const LfReal *b = other->acc[i]->data;
      const int64_t n = imp->acc[i]->numel;
#pragma omp parallel for simd schedule(static) if (n >= LF_PAR_MIN)
      for (int64_t k = 0; k < n; k++)
        a[k] += f * b[k];
    }
}

void
lf_importance_zero (LfImportance *imp)
{
  g_return_if_fail (imp != NULL);
  for (int i = 0; i < imp->n; i++)
    memset (imp->acc[i]->data, 0, (size_t) imp->acc[i]->numel * sizeof (LfReal));
}

double
lf_importance_total (const LfImportance *imp)
{
  g_return_val_if_fail (imp != NULL, 0.0);
  double s = 0;
  for (int i = 0; i < imp->n; i++)
    s += lf_sum_chunked (imp->acc[i]->data, imp->acc[i]->numel);
  return s;
}

size_t
lf_importance_bytes (const LfImportance *imp)
{
  g_return_val_if_fail (imp != NULL, 0);
  size_t bytes = sizeof *imp + 2 * sizeof (LfTensor *) * (size_t) imp->n;
  for (int i = 0; i < imp->n; i++)
    bytes += sizeof (LfTensor) + (size_t) imp->acc[i]->numel * sizeof (LfReal);
  return bytes;
}

/* ---- the quadratic penalty ----------------------------------------------------
 * One custom op for every parameter at once.  lf_custom takes at most
 * LF_CUSTOM_MAX_INPUTS inputs and records the node only when one of them
 * requires a gradient, so the inputs are (up to four of) the trainable
 * parameters, which makes the node recorded exactly when a gradient can
 * flow; the full list travels in the context, and the backward accumulates
 * into every parameter itself through lf_grad_acc (which also honours
 * lf_grad_into's targets).  For the parameters that are inputs,
 * lf_custom_backward has already claimed and zeroed their buffers, so a
 * second lf_grad_acc sees them as not fresh and adds: one code path. */

typedef struct {
  int            n;
  LfTensor     **params;    /* the trainable ones with an anchor */
  const LfReal **anchor;
  const LfReal **weight;    /* NULL entries: w = 1 */
} QpCtx;

#define QP_LANES 8

/* sum w (t - a)^2 over [lo, hi) in double, LANES running sums combined in
 * lane order (vectorises without reassociation). */
static double
qp_chunk (const LfReal *t, const LfReal *a, const LfReal *w, int64_t lo, int64_t hi)
{
  double acc[QP_LANES] = { 0 };
  int64_t i = lo;
  if (w)
    for (; i + QP_LANES <= hi; i += QP_LANES)
      for (int l = 0; l < QP_LANES; l++)
        {
          double d = (double) t[i + l] - (double) a[i + l];
          acc[l] += (double) w[i + l] * d * d;
        }
  else
    for (; i + QP_LANES <= hi; i += QP_LANES)
      for (int l = 0; l < QP_LANES; l++)
        {
          double d = (double) t[i + l] - (double) a[i + l];
          acc[l] += d * d;
        }
  double s = 0;
  for (int l = 0; l < QP_LANES; l++)
    s += acc[l];
  for (; i < hi; i++)
    {
      double d = (double) t[i] - (double) a[i];
      s += (w ? (double) w[i] : 1.0) * d * d;
    }
  return s;
}

/* Fixed LF_SUM_CHUNK chunks, partial sums combined in chunk order: the same
 * value at any thread count. */
static double
qp_sum (const LfReal *t, const LfReal *a, const LfReal *w, int64_t n)
{
  int64_t nchunks = (n + LF_SUM_CHUNK - 1) / LF_SUM_CHUNK;
  if (nchunks <= 1)
    return qp_chunk (t, a, w, 0, n);
  double stack[256];
  double *part = nchunks <= 256 ? stack : g_new (double, nchunks);
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
  for (int64_t c = 0; c < nchunks; c++)
    part[c] = qp_chunk (t, a, w, c * LF_SUM_CHUNK, MIN (n, (c + 1) * LF_SUM_CHUNK));
  double s = 0;
  for (int64_t c = 0; c < nchunks; c++)
    s += part[c];
  if (part != stack)
    g_free (part);
  return s;
}

/* out: (1) = sum_i sum_k w_ik (theta_ik - anchor_ik)^2 */
static void
qp_forward (void *ctx_, int n_inputs, LfTensor *const *inputs, LfTensor *out)
{
  (void) n_inputs; (void) inputs;
  const QpCtx *ctx = ctx_;
  double s = 0;
  for (int i = 0; i < ctx->n; i++)
    s += qp_sum (ctx->params[i]->data, ctx->anchor[i], ctx->weight[i], ctx->params[i]->numel);
  out->data[0] = (LfReal) s;
}

/* d/d theta_ik = 2 w_ik (theta_ik - anchor_ik) * dout, added into every
 * parameter's gradient (in_grads is not used: see above). */
static void
qp_backward (void *ctx_, int n_inputs, LfTensor *const *inputs, LfTensor *out,
             const LfReal *out_grad, LfReal *const *in_grads)
{
  (void) n_inputs; (void) inputs; (void) out; (void) in_grads;
  const QpCtx *ctx = ctx_;
  const LfReal two_g = 2 * out_grad[0];
  for (int i = 0; i < ctx->n; i++)
    {
      LfTensor *p = ctx->params[i];
      gboolean fresh;
      LfReal *g = lf_grad_acc (p, &fresh);
      if (g == NULL)
        continue;
      const LfReal *t = p->data, *a = ctx->anchor[i], *w = ctx->weight[i];
      if (w)
        LF_ACC_LOOP_PAR (p->numel, g, fresh, k, two_g * w[k] * (t[k] - a[k]));
      else
        LF_ACC_LOOP_PAR (p->numel, g, fresh, k, two_g * (t[k] - a[k]));
    }
}

static const LfCustomOp qp_op = {
  .struct_size = sizeof (LfCustomOp),
  .name = "quadratic_penalty",
  .forward = qp_forward,
  .backward = qp_backward,
};

/* Parameters that are frozen, or whose anchor is NULL (a parameter added
 * after the anchor was taken: lf_snapshot_lookup gives NULL for it), add
 * nothing.  The context lives in the arena of the current tape scope, as
 * long as the node that refers to it. */
LfTensor *
lf_quadratic_penalty (int n, LfTensor *const *params, LfTensor *const *anchors,
                      const LfImportance *weights)
{
  g_return_val_if_fail (n >= 0, NULL);
  g_return_val_if_fail (n == 0 || (params != NULL && anchors != NULL), NULL);
  if (weights)
    lf_check (weights->n >= n, "lf_quadratic_penalty: %d parameters, importance has %d", n, weights->n);
  QpCtx *ctx = lf_arena_alloc (sizeof (QpCtx));
  ctx->params = lf_arena_alloc (sizeof (LfTensor *) * (size_t) MAX (n, 1));
  ctx->anchor = lf_arena_alloc (sizeof (LfReal *) * (size_t) MAX (n, 1));
  ctx->weight = lf_arena_alloc (sizeof (LfReal *) * (size_t) MAX (n, 1));
  ctx->n = 0;
  LfTensor *inputs[LF_CUSTOM_MAX_INPUTS];
  int n_inputs = 0;
  for (int i = 0; i < n; i++)
    {
      LfTensor *p = params[i];
      if (p == NULL || anchors[i] == NULL || !lf_tensor_requires_grad (p))
        continue;
      lf_check (anchors[i]->numel == p->numel,
                "lf_quadratic_penalty: parameter %d (%s) has %" G_GINT64_FORMAT " elements, its anchor %"
                G_GINT64_FORMAT, i, p->name ? p->name : "?", p->numel, anchors[i]->numel);
      const LfReal *w = NULL;
      if (weights)
        {
          lf_check (weights->acc[i]->numel == p->numel,
                    "lf_quadratic_penalty: parameter %d (%s) has %" G_GINT64_FORMAT
                    " elements, its importance %" G_GINT64_FORMAT,
                    i, p->name ? p->name : "?", p->numel, weights->acc[i]->numel);
          w = weights->acc[i]->data;
        }
      ctx->params[ctx->n] = p;
      ctx->anchor[ctx->n] = anchors[i]->data;
      ctx->weight[ctx->n] = w;
      ctx->n++;
      if (n_inputs < LF_CUSTOM_MAX_INPUTS)
        inputs[n_inputs++] = p;
    }
  int64_t one = 1;
  return lf_custom (&qp_op, ctx, n_inputs, inputs, 1, &one);
}

/* ---- SI's path integral ------------------------------------------------------- */

struct LfPathIntegral {
  int        n;
  LfTensor **params;   /* borrowed */
  LfTensor **omega;    /* running -sum g dtheta of this experience */
  LfTensor **start;    /* theta at the start of the experience      */
  LfTensor **prev;     /* theta before the step                      */
  LfTensor **grad;     /* g before the step                          */
  gboolean   armed;    /* before_step ran since the last after_step  */
};

LfPathIntegral *
lf_path_integral_new (int n, LfTensor *const *params)
{
  g_return_val_if_fail (n >= 0, NULL);
  g_return_val_if_fail (n == 0 || params != NULL, NULL);
  LfPathIntegral *pi = g_new0 (LfPathIntegral, 1);
  pi->n = n;
  pi->params = g_memdup2 (params, sizeof (LfTensor *) * (gsize) MAX (n, 1));
  pi->omega = owned_like (n, params);
  pi->start = owned_like (n, params);
  pi->prev = owned_like (n, params);
  pi->grad = owned_like (n, params);
  for (int i = 0; i < n; i++)
    lf_tensor_copy_data (pi->start[i], params[i]);
  return pi;
}

void
lf_path_integral_free (LfPathIntegral *pi)
{
  if (pi == NULL)
    return;
  owned_free (pi->n, pi->omega);
  owned_free (pi->n, pi->start);
  owned_free (pi->n, pi->prev);
  owned_free (pi->n, pi->grad);
  g_free (pi->params);
  g_free (pi);
}

void
lf_path_integral_before_step (LfPathIntegral *pi)
{
  g_return_if_fail (pi != NULL);
  for (int i = 0; i < pi->n; i++)
    {
      LfTensor *p = pi->params[i];
      lf_tensor_copy_data (pi->prev[i], p);
      const LfReal *g = lf_tensor_grad (p);
      if (g)
        memcpy (pi->grad[i]->data, g, (size_t) p->numel * sizeof (LfReal));
      else
        memset (pi->grad[i]->data, 0, (size_t) p->numel * sizeof (LfReal));
    }
  pi->armed = TRUE;
}

void
lf_path_integral_after_step (LfPathIntegral *pi)
{
  g_return_if_fail (pi != NULL);
  g_return_if_fail (pi->armed);
  for (int i = 0; i < pi->n; i++)
    {
      LfReal *om = pi->omega[i]->data;
      const LfReal *t = pi->params[i]->data, *t0 = pi->prev[i]->data, *g = pi->grad[i]->data;
      const int64_t n = pi->params[i]->numel;
#pragma omp parallel for simd schedule(static) if (n >= LF_PAR_MIN)
      for (int64_t k = 0; k < n; k++)
        om[k] -= g[k] * (t[k] - t0[k]);
    }
  pi->armed = FALSE;
}

void
lf_path_integral_consolidate (LfPathIntegral *pi, LfImportance *into, double xi)
{
  g_return_if_fail (pi != NULL && into != NULL);
  lf_check (into->n == pi->n, "lf_path_integral_consolidate: %d parameters, importance has %d",
            pi->n, into->n);
  for (int i = 0; i < pi->n; i++)
    {
      LfTensor *p = pi->params[i];
      lf_check (into->acc[i]->numel == p->numel,
                "lf_path_integral_consolidate: parameter %d has %" G_GINT64_FORMAT
                " elements, its importance %" G_GINT64_FORMAT, i, p->numel, into->acc[i]->numel);
      LfReal *acc = into->acc[i]->data, *om = pi->omega[i]->data, *t0 = pi->start[i]->data;
      const LfReal *t = p->data;
      const int64_t n = p->numel;
#pragma omp parallel for simd schedule(static) if (n >= LF_PAR_MIN)
      for (int64_t k = 0; k < n; k++)
        {
          double d = (double) t[k] - (double) t0[k];
          acc[k] += (LfReal) ((double) om[k] / (d * d + xi));
          om[k] = 0;
          t0[k] = t[k];
        }
    }
}

size_t
lf_path_integral_bytes (const LfPathIntegral *pi)
{
  g_return_val_if_fail (pi != NULL, 0);
  size_t bytes = sizeof *pi + 5 * sizeof (LfTensor *) * (size_t) pi->n;
  for (int i = 0; i < pi->n; i++)
    bytes += 4 * (sizeof (LfTensor) + (size_t) pi->params[i]->numel * sizeof (LfReal));
  return bytes;
}
