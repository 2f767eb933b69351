/* lifelong — differentiable ops and the custom-op API.
 *
 * Every op computes its result at once (define-by-run) into a new arena
 * tensor and, when the tape records and an input requires a gradient,
 * records itself for lf_backward.  Shapes are written beside each op;
 * "(..., K)" means any leading dims.  A shape mismatch is a programming
 * error and aborts with a message. */
#pragma once

#include <lifelong/tensor.h>

G_BEGIN_DECLS

/* ---- linear algebra (BLIS) ---------------------------------------------- */

/* a: (..., M, K) or (..., K, M) with trans_a; b: (K, N) or (N, K) with trans_b,
 * or batched with the same leading dims as a.  -> (..., M, N).  A transpose
 * is a stride change in the GEMM, never a copy. */
LfTensor *lf_matmul_t (LfTensor *a, gboolean trans_a, LfTensor *b, gboolean trans_b);
LfTensor *lf_matmul (LfTensor *a, LfTensor *b);
/* x: (..., in), w: (out, in) (PyTorch / Hugging Face layout), bias: (out) or
 * NULL -> (..., out).  y = x w^T + bias. */
LfTensor *lf_linear (LfTensor *x, LfTensor *w, LfTensor *bias);

/* ---- elementwise, with broadcasting (NumPy rules, up to 4 dims) ---------- */

LfTensor *lf_add (LfTensor *a, LfTensor *b);
LfTensor *lf_sub (LfTensor *a, LfTensor *b);
LfTensor *lf_mul (LfTensor *a, LfTensor *b);
LfTensor *lf_scale (LfTensor *a, double s);           /* s * a          */
LfTensor *lf_add_scalar (LfTensor *a, double s);      /* a + s          */
LfTensor *lf_exp (LfTensor *a);
LfTensor *lf_log (LfTensor *a);
LfTensor *lf_sqr (LfTensor *a);                       /* a * a          */

/* ---- activations --------------------------------------------------------- */

LfTensor *lf_relu (LfTensor *a);
LfTensor *lf_gelu (LfTensor *a);      /* exact (erf) form, as torch's default */
LfTensor *lf_silu (LfTensor *a);
LfTensor *lf_tanh (LfTensor *a);
LfTensor *lf_sigmoid (LfTensor *a);
LfTensor *lf_softmax (LfTensor *a);       /* over the last dim */
LfTensor *lf_log_softmax (LfTensor *a);   /* over the last dim */

/* ---- reductions ---------------------------------------------------------- */

/* Sum / mean of every element -> (1).  Chunked in a fixed order: the result
 * does not depend on the thread count. */
LfTensor *lf_sum (LfTensor *a);
LfTensor *lf_mean (LfTensor *a);
/* Sum / mean over one axis (negative counts from the end); the axis is
 * removed ((M, N) over axis 1 -> (M)), or kept as 1 with keepdim. */
LfTensor *lf_sum_axis (LfTensor *a, int axis, gboolean keepdim);
LfTensor *lf_mean_axis (LfTensor *a, int axis, gboolean keepdim);

/* ---- shape ---------------------------------------------------------------- */

/* Same data, new shape (numel must match; one entry may be -1). */
LfTensor *lf_reshape (LfTensor *a, int ndim, const int64_t *shape);
/* Swaps two axes (a copy). */
LfTensor *lf_transpose (LfTensor *a, int axis0, int axis1);
/* Elements [start, end) along axis. */
LfTensor *lf_slice (LfTensor *a, int axis, int64_t start, int64_t end);
/* Joins n tensors along axis; all other dims equal. */
LfTensor *lf_concat (LfTensor *const *ts, int n, int axis);
/* Same values, no gradient flows back through it. */
LfTensor *lf_detach (LfTensor *a);

/* ---- indexing --------------------------------------------------------------- */

/* table: (V, D), ids: n indices in [0, V) -> (n, D).  (Embedding lookup; the
 * gradient scatters back into the rows.)  ids are copied. */
LfTensor *lf_embedding (LfTensor *table, const int32_t *ids, int64_t n);
/* a: (N, C), idx: N indices in [0, C) -> (N): a[i, idx[i]]. */
LfTensor *lf_gather (LfTensor *a, const int32_t *idx);

/* ---- normalisation, regularisation ---------------------------------------- */

/* x: (..., D), gamma, beta: (D) or NULL -> (..., D). */
LfTensor *lf_layernorm (LfTensor *x, LfTensor *gamma, LfTensor *beta, double eps);
/* Inverted dropout with keep-probability 1 - p; the mask comes from a
 * counter-based generator keyed by seed, so it is the same at any thread
 * count.  p = 0 returns x itself. */
LfTensor *lf_dropout (LfTensor *x, double p, uint64_t seed);

/* ---- losses --------------------------------------------------------------- */

typedef struct {
  int32_t       ignore_index;     /* labels equal to it count for nothing; default -100 */
  double        label_smoothing;  /* in [0, 1): target = (1-s) one-hot + s/C */
  const LfReal *weights;          /* per-sample weights (N) or NULL */
} LfCrossEntropyOptions;

/* Start from this, not from zeros: a zeroed struct would ignore label 0.
 *   LfCrossEntropyOptions o = LF_CROSS_ENTROPY_OPTIONS_INIT;
 *   o.label_smoothing = 0.1; */
#define LF_CROSS_ENTROPY_OPTIONS_INIT { .ignore_index = -100, .label_smoothing = 0.0, .weights = NULL }

/* Fused softmax + cross-entropy.  logits: (N, C), labels: N ints -> (1), the
 * weighted mean  sum_i w_i l_i / sum_i w_i  over samples whose label is not
 * ignore_index (0 if there are none).  opts may be NULL: no smoothing,
 * ignore_index -100, weights 1. */
LfTensor *lf_cross_entropy (LfTensor *logits, const int32_t *labels,
                            const LfCrossEntropyOptions *opts);
/* Mean squared error of two same-shaped tensors -> (1). */
LfTensor *lf_mse (LfTensor *a, LfTensor *b);
/* Knowledge distillation (Hinton et al.): T^2 * mean over rows of
 * KL(softmax(teacher/T) || softmax(student/T)).  student, teacher: (N, C);
 * the teacher gets no gradient. -> (1) */
LfTensor *lf_distill_kl (LfTensor *student, LfTensor *teacher, double temperature);

/* ---- transformer ----------------------------------------------------------- */

/* Activations are (B, T, H, Dh): the (B, T, H*Dh) output of a projection
 * reshaped, never transposed.  These ops are fused (one node each) and
 * their gradients are the same at any thread count. */

/* RMSNorm (Hugging Face's LlamaRMSNorm): x: (..., D), weight: (D) or NULL
 * -> (..., D),  y = weight * (x / sqrt(mean(x^2) + eps)), in LfReal (the
 * mean of squares accumulated in double). */
LfTensor *lf_rmsnorm (LfTensor *x, LfTensor *weight, double eps);
/* Rotary position embedding, Hugging Face's rotate-half layout.  x: (B, T,
 * H, head_dim) or (B, T, H*head_dim) -> same shape; axis 1 is the position,
 * p = position_offset + t.  With half = head_dim / 2 and, for i < half,
 * inv_freq_i = theta^(-2i/head_dim), a = p inv_freq_i:
 *   y[i] = x[i] cos a - x[i+half] sin a,  y[i+half] = x[i+half] cos a + x[i] sin a.
 * head_dim must be even; position_offset is the number of cached positions
 * before x (0 in training).  LLaMA's theta is 10000. */
LfTensor *lf_rope (LfTensor *x, int64_t head_dim, int64_t position_offset, double theta);
/* Fused scaled-dot-product attention with grouped-query heads.
 *   q: (B, T, Hq, Dh); k, v: (B, S, Hkv, Dh), Hq a multiple of Hkv (query
 *   head h reads kv head h / (Hq / Hkv)) -> (B, T, Hq, Dh).
 * prefix_k, prefix_v: (P, Hkv*Dh) or both NULL: learned keys and values
 * (prefix tuning) placed before every sequence of the batch, seen by every
 * query (never masked); their gradients are summed over the batch.
 * softmax(q k^T / sqrt(Dh)) v over the P + S keys.  causal: query t sees
 * the sequence's keys 0 .. S - T + t (S >= T required), so with a key/value
 * cache the T queries are the last T positions of the S.  When recorded,
 * the probabilities are kept for the backward: B*Hq*T*(P+S) values in the
 * step's arena. */
LfTensor *lf_attention (LfTensor *q, LfTensor *k, LfTensor *v, gboolean causal,
                        LfTensor *prefix_k, LfTensor *prefix_v);

/* ---- custom ops ------------------------------------------------------------ */

/* A plugin's own differentiable op.  forward writes out's data from the
 * inputs' data.  backward receives out's gradient and, for every input with
 * in_grads[i] != NULL, ADDS d(loss)/d(input i) into in_grads[i] (numel of
 * input i).  ctx is the caller's; the op does not own it and it must live as
 * long as the tape scope. */
typedef struct {
  size_t      struct_size;   /* sizeof (LfCustomOp) */
  const char *name;
  void (*forward)  (void *ctx, int n_inputs, LfTensor *const *inputs, LfTensor *out);
  void (*backward) (void *ctx, int n_inputs, LfTensor *const *inputs, LfTensor *out,
                    const LfReal *out_grad, LfReal *const *in_grads);
} LfCustomOp;

#define LF_CUSTOM_MAX_INPUTS 4

LfTensor *lf_custom (const LfCustomOp *op, void *ctx, int n_inputs,
                     LfTensor *const *inputs, int out_ndim, const int64_t *out_shape);

G_END_DECLS
