/* lifelong — the tensor as the framework sees it: value, gradient and graph
 * node in one struct (ggml's design), plus the op table and the helpers every
 * op file shares.  Never installed: plugins see the opaque handle only. */
#pragma once

#include <lifelong/lifelong.h>
#include <math.h>
#include <string.h>

/* Math on LfReal in its own precision (float kernels must not round-trip
 * through double; the double build must not truncate to float). */
#ifdef LF_REAL_DOUBLE
#define lf_sqrtr  sqrt
#define lf_expr   exp
#define lf_logr   log
#define lf_tanhr  tanh
#define lf_erfr   erf
#define lf_fabsr  fabs
#else
#define lf_sqrtr  sqrtf
#define lf_expr   expf
#define lf_logr   logf
#define lf_tanhr  tanhf
#define lf_erfr   erff
#define lf_fabsr  fabsf
#endif

typedef enum {
  LF_OP_NONE = 0,          /* leaf: parameter, input or constant */
  LF_OP_MATMUL,
  LF_OP_LINEAR,
  LF_OP_ADD,
  LF_OP_SUB,
  LF_OP_MUL,
  LF_OP_SCALE,
  LF_OP_ADD_SCALAR,
  LF_OP_EXP,
  LF_OP_LOG,
  LF_OP_SQR,
  LF_OP_RELU,
  LF_OP_GELU,
  LF_OP_SILU,
  LF_OP_TANH,
  LF_OP_SIGMOID,
  LF_OP_SOFTMAX,
  LF_OP_LOG_SOFTMAX,
  LF_OP_SUM,
  LF_OP_SUM_AXIS,
  LF_OP_RESHAPE,
  LF_OP_TRANSPOSE,
  LF_OP_SLICE,
  LF_OP_CONCAT,
  LF_OP_EMBEDDING,
  LF_OP_GATHER,
  LF_OP_LAYERNORM,
  LF_OP_DROPOUT,
  LF_OP_CROSS_ENTROPY,
  LF_OP_MSE,
  LF_OP_DISTILL_KL,
  LF_OP_CUSTOM,
  LF_OP_RMSNORM,
  LF_OP_ROPE,
  LF_OP_ATTENTION,
  LF_OP_COUNT
} LfOpId;

#define LF_MAX_SRC 4

enum {
  LF_TF_PARAM         = 1u << 0,  /* owned, named, optimised                 */
  LF_TF_OWNED         = 1u << 1,  /* malloc'd storage (params, buffers)      */
  LF_TF_REQUIRES_GRAD = 1u << 2,  /* a gradient flows into it                */
  LF_TF_GRAD_VALID    = 1u << 3,  /* grad holds an accumulated value         */
  LF_TF_TARGET        = 1u << 4,  /* a target of the running lf_grad_into    */
  LF_TF_VIEW          = 1u << 5,  /* data belongs to src[0] (reshape/detach) */
};

struct LfTensor {
  int32_t   ndim;
  int32_t   op;                 /* LfOpId */
  uint32_t  flags;
  int32_t   scope;              /* serial number of the scope that made it */
  int64_t   shape[LF_MAX_DIMS];
  int64_t   numel;
  LfReal   *data;
  LfReal   *grad;               /* owned tensors: allocated with them; others lazily */
  LfTensor *src[LF_MAX_SRC];
  int64_t   ip[6];              /* op parameters: axes, sizes, flags         */
  double    fp[4];              /* op parameters: scalars                    */
  void     *aux;                /* op data in the arena (ids, masks, stats)  */
  void     *aux2;
  char     *name;               /* owned tensors only                        */
};

typedef void (*LfBackwardFn) (LfTensor *out);

typedef struct {
  const char  *name;
  LfBackwardFn backward;
} LfOpInfo;

extern const LfOpInfo lf_op_table[LF_OP_COUNT];

/* ---- arena (arena.c) ---- */
void  *lf_arena_alloc (size_t bytes);          /* 64-byte aligned, uninitialised */
typedef struct { int32_t block; size_t offset; } LfArenaMark;
LfArenaMark lf_arena_mark (void);
void   lf_arena_release (LfArenaMark m);

/* ---- graph helpers (autograd.c) ---- */
/* A new arena tensor of the given shape; if the tape records and any src
 * requires a gradient, it is recorded as the output of op. */
LfTensor *lf_node_new (LfOpId op, int ndim, const int64_t *shape,
                       int nsrc, LfTensor *const *src);
/* Gradient buffer of t for accumulation during a backward pass, or NULL when
 * no gradient must flow into t.  *fresh is TRUE when the buffer holds
 * garbage and must be overwritten rather than added to. */
LfReal   *lf_grad_acc (LfTensor *t, gboolean *fresh);
/* The gradient of an op's output during backward (always valid there). */
static inline const LfReal *lf_out_grad (LfTensor *out) { return out->grad; }
gboolean  lf_needs_grad (const LfTensor *t);

/* Writes (fresh) or adds v into g[i]; the branch is hoisted by the caller
 * through this macro so the loop vectorises. */
#define LF_ACC_LOOP(n, g, fresh, i, expr)                         \
  do {                                                            \
    if (fresh) { for (int64_t i = 0; i < (n); i++) (g)[i] = (expr); } \
    else       { for (int64_t i = 0; i < (n); i++) (g)[i] += (expr); } \
  } while (0)

/* LF_ACC_LOOP over a long elementwise gradient, in parallel: fixed blocks,
 * each written by one thread (no sums, so the thread count cannot matter). */
#define LF_ACC_BLOCK 16384
#define LF_ACC_LOOP_PAR(n, g, fresh, i, expr)                                   \
  do {                                                                          \
    const int64_t lf_n_ = (n);                                                  \
    _Pragma ("omp parallel for schedule(static) if (lf_n_ >= LF_PAR_MIN)")      \
    for (int64_t lf_lo_ = 0; lf_lo_ < lf_n_; lf_lo_ += LF_ACC_BLOCK)            \
      {                                                                         \
        const int64_t lf_hi_ = MIN (lf_n_, lf_lo_ + LF_ACC_BLOCK);              \
        if (fresh)                                                              \
          for (int64_t i = lf_lo_; i < lf_hi_; i++) (g)[i] = (expr);            \
        else                                                                    \
          for (int64_t i = lf_lo_; i < lf_hi_; i++) (g)[i] += (expr);           \
      }                                                                         \
  } while (0)

/* ---- shape helpers ---- */
/* A shape as text for error messages: "(2, 3, 4)".  Returned by value, so
 * it lives until the end of the lf_check that formats it. */
typedef struct { char s[96]; } LfShapeStr;
LfShapeStr lf_shape_str (int ndim, const int64_t *shape);
#define LF_SHAPE(t) (lf_shape_str ((t)->ndim, (t)->shape).s)
int64_t  lf_shape_numel (int ndim, const int64_t *shape);
int      lf_axis_norm (const LfTensor *t, int axis);
/* Rows x cols view of a tensor whose last dim is cols. */
static inline int64_t lf_last_dim (const LfTensor *t) { return t->shape[t->ndim - 1]; }
static inline int64_t lf_rows (const LfTensor *t) { return t->numel / t->shape[t->ndim - 1]; }

/* Hot loops are compiled for x86-64-v4 (AVX-512), v3 (AVX2+FMA) and the
 * baseline, and the loader picks the best the CPU runs (ifunc).  Results do
 * not change with the choice: C11 mode compiles without FMA contraction, and
 * sqrt and division are exact in every vector width. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__ELF__)
#define LF_TARGET_CLONES __attribute__ ((target_clones ("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LF_TARGET_CLONES
#endif

/* ---- threads (parallel.c) ---- */
/* Loops shorter than this stay serial: an OpenMP fork costs a few µs. */
#define LF_PAR_MIN 32768
/* Fixed chunk for reductions: partial sums per chunk, combined in order. */
#define LF_SUM_CHUNK 4096
double lf_sum_chunked (const LfReal *x, int64_t n);
double lf_dot_chunked (const LfReal *x, const LfReal *y, int64_t n);

/* ---- GEMM (gemm.c, the only file that includes blis.h) ---- */
/* C (m x n) = alpha * op(A) op(B) + beta * C, row-major with leading dims;
 * op(A) is m x k.  A transpose is a stride swap. */
void lf_gemm (gboolean ta, gboolean tb, int64_t m, int64_t n, int64_t k,
              LfReal alpha, const LfReal *a, int64_t lda,
              const LfReal *b, int64_t ldb,
              LfReal beta, LfReal *c, int64_t ldc);
void lf_blis_set_threads (int n);
/* GEMMs run by this thread so far (tests count them: a frozen weight's
 * gradient GEMM must not run; benchmarks compare a step with its GEMMs). */
typedef struct { int64_t calls; double flops; } LfGemmStats;
LfGemmStats lf_gemm_stats (void);

/* Optimizer state for checkpoints: fn sees each parameter with its first
 * and second moments (NULL when absent) and its step count. */
typedef void (*LfOptimExportFn) (void *user, LfTensor *p, const LfReal *m, const LfReal *v, int64_t t);
void     lf_optimizer_export (LfOptimizer *opt, LfOptimExportFn fn, void *user);
gboolean lf_optimizer_import (LfOptimizer *opt, LfTensor *p, const LfReal *m, const LfReal *v, int64_t t);

/* sum_{lo <= i < hi} w_i (t_i - a_i)^2 in double, in a fixed order that
 * every clone shares (w NULL: w = 1): the quadratic pull's value over one
 * LF_SUM_CHUNK chunk, for the optimizer's folded pull and the toolkit's
 * lf_quadratic_penalty (optim.c). */
double lf_pull_chunk (const LfReal *t, const LfReal *a, const LfReal *w, int64_t lo, int64_t hi);

#define lf_check(cond, ...)                                   \
  do { if (G_UNLIKELY (!(cond))) lf_fatal (__VA_ARGS__); } while (0)
G_NORETURN void lf_fatal (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
