/* lifelong — the transformer's fused ops: RMSNorm, rotary position embedding
 * (Hugging Face's rotate-half layout) and scaled-dot-product attention with
 * grouped-query heads, a causal mask and a learned key/value prefix.
 *
 * Layout: activations are (B, T, H, Dh), the order a projection's output
 * (B, T, H*Dh) has without any transpose; heads are interleaved in a row, so
 * one head's rows are read with a stride of H*Dh.  Everything summed across
 * rows, heads or the batch (RMSNorm's weight gradient, the key/value
 * gradients of a shared kv head, the prefix gradients) is summed in an order
 * fixed by the shapes alone: results are bitwise the same at any thread
 * count. */
#include "ops-private.h"

/* Whether the op's output was recorded: only then is anything saved for the
 * backward (evaluation allocates nothing beyond the output). */
static inline gboolean
tf_recorded (const LfTensor *out)
{
  return (out->flags & LF_TF_REQUIRES_GRAD) != 0;
}

/* Row reductions in double with independent lanes (so they vectorise
 * without reassociation), combined in a fixed order. */
#define TF_LANES 8

static inline double
tf_lanes_total (const double *acc)
{
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* sum_j x[j] y[j] (y NULL: x[j]^2) */
static inline double
tf_row_dot (const LfReal *x, const LfReal *y, int64_t n)
{
  double acc[TF_LANES] = { 0 };
  int64_t j = 0;
  if (y == NULL)
    y = x;
  for (; j + TF_LANES <= n; j += TF_LANES)
    for (int k = 0; k < TF_LANES; k++)
      acc[k] += (double) x[j + k] * y[j + k];
  for (; j < n; j++)
    acc[0] += (double) x[j] * y[j];
  return tf_lanes_total (acc);
}

/* sum_j a[j] b[j] c[j] */
static inline double
tf_row_dot3 (const LfReal *a, const LfReal *b, const LfReal *c, int64_t n)
{
  double acc[TF_LANES] = { 0 };
  int64_t j = 0;
  for (; j + TF_LANES <= n; j += TF_LANES)
    for (int k = 0; k < TF_LANES; k++)
      acc[k] += (double) (a[j + k] * b[j + k]) * c[j + k];
  for (; j < n; j++)
    acc[0] += (double) (a[j] * b[j]) * c[j];
  return tf_lanes_total (acc);
}

/* ---- RMSNorm --------------------------------------------------------------- */

/* fp[0] = eps; aux: rstd (rows), saved when recorded.
 * y = weight * (x * rstd), rstd = 1 / sqrt(mean(x^2) + eps): Hugging Face's
 * LlamaRMSNorm, including the order of the two products.  The mean of
 * squares accumulates in double; rstd is rounded to LfReal once. */

LfTensor *
lf_rmsnorm (LfTensor *x, LfTensor *weight, double eps)
{
  int64_t D = lf_last_dim (x), rows = D > 0 ? x->numel / D : 0;
  lf_check (weight == NULL || weight->numel == D,
            "rmsnorm: the weight has %" G_GINT64_FORMAT " values, the input %s has last dim %" G_GINT64_FORMAT,
            weight ? weight->numel : 0, LF_SHAPE (x), D);
  lf_check (eps >= 0, "rmsnorm: eps must not be negative (%g)", eps);
  LfTensor *src[2] = { x, weight };
  LfTensor *out = lf_node_new (LF_OP_RMSNORM, x->ndim, x->shape, 2, src);
  out->fp[0] = eps;
  LfReal *rstd = NULL;
  if (tf_recorded (out))
    out->aux = rstd = lf_arena_alloc ((size_t) MAX (rows, 1) * sizeof (LfReal));
  const LfReal *w = weight ? weight->data : NULL;
  /* x, y: (rows, D); weight: (D) */
#pragma omp parallel for schedule(static) if (rows * D >= LF_PAR_MIN)
  for (int64_t r = 0; r < rows; r++)
    {
      const LfReal *xr = x->data + r * D;
      LfReal *y = out->data + r * D;
      LfReal rs = (LfReal) (1.0 / sqrt (tf_row_dot (xr, NULL, D) / (double) D + eps));
      if (rstd)
        rstd[r] = rs;
      if (w)
        for (int64_t j = 0; j < D; j++)
          y[j] = w[j] * (xr[j] * rs);
      else
        for (int64_t j = 0; j < D; j++)
          y[j] = xr[j] * rs;
    }
  return out;
}

/* The weight gradient is a sum over rows: rows are cut into at most
 * TF_CHUNKS chunks (fewer for wide rows, bounding the partials to
 * TF_PARTIAL doubles), a function of the shape alone; each chunk sums its
 * rows in order into its own partial row while it computes dx, and the
 * partials are added in chunk order. */
#define TF_CHUNKS  32
#define TF_PARTIAL ((int64_t) 1 << 18)

void
lf_rmsnorm_backward (LfTensor *out)
{
  LfTensor *x = out->src[0], *weight = out->src[1];
  int64_t D = lf_last_dim (x), rows = D > 0 ? x->numel / D : 0;
  if (rows == 0)
    return;
  const LfReal *rstd = out->aux, *dout = lf_out_grad (out);
  const LfReal *w = weight ? weight->data : NULL;
  gboolean fresh_x, fresh_w;
  LfReal *dx = lf_grad_acc (x, &fresh_x);
  LfReal *dw = lf_grad_acc (weight, &fresh_w);
  if (!dx && !dw)
    return;
  int64_t nchunks = MIN (MIN (rows, TF_CHUNKS), MAX (1, TF_PARTIAL / D));
  int64_t per = (rows + nchunks - 1) / nchunks;
  nchunks = (rows + per - 1) / per;
  double *pw = dw ? g_new0 (double, nchunks * D) : NULL;   /* (nchunks, D) */
#pragma omp parallel for schedule(static) if (rows * D >= LF_PAR_MIN)
  for (int64_t c = 0; c < nchunks; c++)
    {
      double *aw = pw ? pw + c * D : NULL;
      for (int64_t r = c * per; r < MIN (rows, (c + 1) * per); r++)
        {
          const LfReal *xr = x->data + r * D, *dy = dout + r * D;
          LfReal rs = rstd[r];
          if (dx)
            {
              /* With xhat = x rstd and dxhat = dy * weight:
               *   dx = rstd dxhat - x rstd^3 mean(dxhat x) */
              LfReal *dxr = dx + r * D;
              double s = w ? tf_row_dot3 (dy, w, xr, D) : tf_row_dot (dy, xr, D);
              LfReal k = (LfReal) (s / (double) D) * rs * rs * rs;
              if (w)
                LF_ACC_LOOP (D, dxr, fresh_x, j, rs * (dy[j] * w[j]) - xr[j] * k);
              else
                LF_ACC_LOOP (D, dxr, fresh_x, j, rs * dy[j] - xr[j] * k);
            }
          /* dweight += dy xhat, with xhat as the forward rounded it */
          if (aw)
            for (int64_t j = 0; j < D; j++)
              aw[j] += (double) dy[j] * (xr[j] * rs);
        }
    }
  if (pw)
    {
      for (int64_t c = 1; c < nchunks; c++)
        for (int64_t j = 0; j < D; j++)
          pw[j] += pw[c * D + j];
      LF_ACC_LOOP (D, dw, fresh_w, j, (LfReal) pw[j]);
      g_free (pw);
    }
}

/* ---- rotary position embedding ------------------------------------------- */

/* ip[0] = head_dim, ip[1] = position_offset, ip[2] = T (axis 1), ip[3] =
 * heads per position; aux: the (T, head_dim/2) cos table followed by the sin
 * table, computed per call (T*head_dim values, cheap next to the projections
 * around it) and kept in the arena when recorded.  The angle p * theta^(-2i/head_dim)
 * and its cos and sin are computed in double and rounded once (Hugging Face
 * forms the angle in float32, off by a few 1e-4 rad at positions in the
 * thousands; this is the exact rotation, rounded).
 *
 *   out1 = x1 cos - x2 sin,  out2 = x2 cos + x1 sin
 * with x1 = x[..., :half], x2 = x[..., half:].  The backward is the inverse
 * rotation (the transpose):
 *   dx1 = dy1 cos + dy2 sin,  dx2 = dy2 cos - dy1 sin */

LfTensor *
lf_rope (LfTensor *x, int64_t head_dim, int64_t position_offset, double theta)
{
  lf_check (x->ndim == 3 || x->ndim == 4,
            "rope: x must be (B, T, H, head_dim) or (B, T, H*head_dim), got %s", LF_SHAPE (x));
  lf_check (head_dim > 0 && head_dim % 2 == 0, "rope: head_dim must be even and positive, got %" G_GINT64_FORMAT, head_dim);
  lf_check (x->ndim == 3 ? x->shape[2] % head_dim == 0 : x->shape[3] == head_dim,
            "rope: x %s does not split into heads of %" G_GINT64_FORMAT " values", LF_SHAPE (x), head_dim);
  lf_check (position_offset >= 0, "rope: position_offset must not be negative (%" G_GINT64_FORMAT ")", position_offset);
  lf_check (theta > 0, "rope: theta must be positive (%g)", theta);
  int64_t B = x->shape[0], T = x->shape[1], half = head_dim / 2;
  int64_t heads = x->ndim == 3 ? x->shape[2] / head_dim : x->shape[2];
  LfTensor *out = lf_node_new (LF_OP_ROPE, x->ndim, x->shape, 1, &x);
  out->ip[0] = head_dim;
  out->ip[1] = position_offset;
  out->ip[2] = T;
  out->ip[3] = heads;
  /* cs, sn: (T, half); kept for the backward when recorded */
  gboolean recorded = tf_recorded (out);
  size_t table_n = (size_t) MAX (2 * T * half, 1);
  LfReal *cs = recorded ? lf_arena_alloc (table_n * sizeof (LfReal)) : g_new (LfReal, table_n);
  LfReal *sn = cs + T * half;
  for (int64_t i = 0; i < half; i++)
    {
      double inv_freq = pow (theta, -2.0 * (double) i / (double) head_dim);
      for (int64_t t = 0; t < T; t++)
        {
          double a = (double) (position_offset + t) * inv_freq;
          cs[t * half + i] = (LfReal) cos (a);
          sn[t * half + i] = (LfReal) sin (a);
        }
    }
  int64_t rows = B * T * heads;   /* of head_dim values; row r is at position (r / heads) % T */
#pragma omp parallel for schedule(static) if (x->numel >= LF_PAR_MIN)
  for (int64_t r = 0; r < rows; r++)
    {
      int64_t t = (r / heads) % T;
      const LfReal *c = cs + t * half, *s = sn + t * half;
      const LfReal *x1 = x->data + r * head_dim, *x2 = x1 + half;
      LfReal *y1 = out->data + r * head_dim, *y2 = y1 + half;
      for (int64_t i = 0; i < half; i++)
        {
          y1[i] = x1[i] * c[i] - x2[i] * s[i];
          y2[i] = x2[i] * c[i] + x1[i] * s[i];
        }
    }
  if (recorded)
    out->aux = cs;
  else
    g_free (cs);
  return out;
}

void
lf_rope_backward (LfTensor *out)
{
  LfTensor *x = out->src[0];
  gboolean fresh;
  LfReal *dx = lf_grad_acc (x, &fresh);
  if (!dx)
    return;
  int64_t head_dim = out->ip[0], T = out->ip[2], heads = out->ip[3], half = head_dim / 2;
  int64_t rows = x->numel / head_dim;
  const LfReal *cs = out->aux, *sn = cs + T * half, *dout = lf_out_grad (out);
#pragma omp parallel for schedule(static) if (x->numel >= LF_PAR_MIN)
  for (int64_t r = 0; r < rows; r++)
    {
      int64_t t = (r / heads) % T;
      const LfReal *c = cs + t * half, *s = sn + t * half;
      const LfReal *dy1 = dout + r * head_dim, *dy2 = dy1 + half;
      LfReal *dx1 = dx + r * head_dim, *dx2 = dx1 + half;
      LF_ACC_LOOP (half, dx1, fresh, i, dy1[i] * c[i] + dy2[i] * s[i]);
      LF_ACC_LOOP (half, dx2, fresh, i, dy2[i] * c[i] - dy1[i] * s[i]);
    }
}

/* ---- attention ------------------------------------------------------------- */

/* Fused scaled-dot-product attention.  Per (batch b, query head h), with
 * kv head g = h / (Hq / Hkv), the keys of a row are the P prefix keys then
 * the S keys of the sequence (L = P + S columns):
 *   scores (T, L) = q_h [pk_g; k_bg]^T / sqrt(Dh), causal: column P + s of
 *   row t is masked when s > S - T + t;  probs = softmax(scores);
 *   out_h (T, Dh) = probs [pv_g; v_bg].
 *
 * Why not BLIS: one head's products are tiny (T x Dh times Dh x L: 0.3 to
 * 1 MFLOP at T = 64..128, Dh = 32), and BLIS may not be called inside a
 * parallel region, so a BLIS design is a serial loop over (b, h) pairs with
 * four to eight strided GEMMs each, and BLIS's own threads find nothing to
 * split at these sizes (at two threads it ran 3-10x slower than at one).
 * Here the pairs are the parallel work (an OpenMP loop over them), and every
 * product is a small register-blocked kernel (mk_*: MK_M rows by MK_N
 * columns of accumulators, the k loop outside) in plain C, compiled per ISA
 * by target_clones.  benchmarks/bench-attention.c measures both designs: on
 * AVX-512, causal, T = 64..256, Dh = 32..64, this is 1.2-1.7x faster than
 * the BLIS loop at one thread (which also computes the masked half) and
 * 3-10x faster at two.
 *
 * The keys (and, for the backward, the values) are transposed once per pair
 * into a (Dh, Lp) block, Lp = L rounded up to MK_N and zero-padded, so a
 * score row is a product like any other; causal rows skip the blocks past
 * their last key and the backward's key/value products skip the queries
 * that cannot see a key.  Every element is a sum over k in increasing order
 * within one pair, with a blocking fixed by the shapes: the thread count
 * cannot change a bit, and a query row gives the same bits whether it is
 * computed with the whole sequence or as the last rows over a cache.
 *
 * Saved for the backward (when recorded): the probabilities, (B, Hq, T, L)
 * LfReals in the arena — 4 MB per layer at B = 16, Hq = 8, T = L = 128 in
 * float — with masked entries exactly 0.  Evaluation saves nothing. */

/* MK_M rows by MK_N columns of accumulators: two 64-byte vectors a row
 * (GCC's vector extension: the accumulators stay in registers, which plain
 * arrays do not), 8 of the 32 AVX-512 registers in float.  Each lane sums
 * in k order, so the vector width never changes a result. */
#define MK_M     4
#define MK_BYTES 64
#define MK_W     ((int) (MK_BYTES / sizeof (LfReal)))   /* lanes per vector */
#define MK_N     (2 * MK_W)
typedef LfReal MkVec __attribute__ ((vector_size (MK_BYTES)));
/* Inlined into each target clone of their callers: an outlined copy would
 * be compiled for the baseline ISA only. */
#define MK_INLINE static inline __attribute__ ((always_inline))

#define MK_LOAD(v, p)  memcpy (&(v), (p), sizeof (MkVec))
#define MK_STORE(p, v, add)                          \
  do {                                               \
    MkVec mk_s_ = (v);                               \
    if (add)                                         \
      {                                              \
        MkVec mk_c_;                                 \
        MK_LOAD (mk_c_, p);                          \
        mk_s_ += mk_c_;                              \
      }                                              \
    memcpy ((p), &mk_s_, sizeof (MkVec));            \
  } while (0)

typedef struct {
  int64_t  B, T, S, Hq, Hkv, Dh, P, L, Lp;
  gboolean causal;
  LfReal   scale;
} AttnDims;

typedef struct {
  AttnDims  dm;
  LfTensor *q, *k, *v, *pk, *pv;
  LfReal   *probs;     /* (B, Hq, T, L) */
} AttnSaved;

/* The micro-kernels: C (m, n) = [C +] A (m, K) B (K, n) with
 * a(i, k) = a[i*ars + k*acs] (so A^T is a stride swap), b(k, j) = b[k*ldb + j],
 * c(i, j) = c[i*ldc + j].  Each element sums over k in order into a zeroed
 * accumulator, then is stored or added to C. */
MK_INLINE void
mk_full (int64_t K, const LfReal *a, int64_t ars, int64_t acs, const LfReal *b, int64_t ldb,
         LfReal *c, int64_t ldc, gboolean add)
{
  MkVec c00 = { 0 }, c01 = { 0 }, c10 = { 0 }, c11 = { 0 };
  MkVec c20 = { 0 }, c21 = { 0 }, c30 = { 0 }, c31 = { 0 };
  for (int64_t k = 0; k < K; k++)
    {
      const LfReal *bk = b + k * ldb, *ak = a + k * acs;
      const LfReal a0 = ak[0], a1 = ak[ars], a2 = ak[2 * ars], a3 = ak[3 * ars];
      MkVec b0, b1;
      MK_LOAD (b0, bk);
      MK_LOAD (b1, bk + MK_W);
      c00 += a0 * b0; c01 += a0 * b1;
      c10 += a1 * b0; c11 += a1 * b1;
      c20 += a2 * b0; c21 += a2 * b1;
      c30 += a3 * b0; c31 += a3 * b1;
    }
  MK_STORE (c, c00, add);            MK_STORE (c + MK_W, c01, add);
  MK_STORE (c + ldc, c10, add);      MK_STORE (c + ldc + MK_W, c11, add);
  MK_STORE (c + 2 * ldc, c20, add);  MK_STORE (c + 2 * ldc + MK_W, c21, add);
  MK_STORE (c + 3 * ldc, c30, add);  MK_STORE (c + 3 * ldc + MK_W, c31, add);
}

MK_INLINE void
mk_row (int64_t K, const LfReal *a, int64_t acs, const LfReal *b, int64_t ldb, LfReal *c, gboolean add)
{
  MkVec c0 = { 0 }, c1 = { 0 };
  for (int64_t k = 0; k < K; k++)
    {
      const LfReal ak = a[k * acs], *bk = b + k * ldb;
      MkVec b0, b1;
      MK_LOAD (b0, bk);
      MK_LOAD (b1, bk + MK_W);
      c0 += ak * b0;
      c1 += ak * b1;
    }
  MK_STORE (c, c0, add);
  MK_STORE (c + MK_W, c1, add);
}

/* the last n < MK_N columns */
MK_INLINE void
mk_tail (int64_t m, int64_t n, int64_t K, const LfReal *a, int64_t ars, int64_t acs,
         const LfReal *b, int64_t ldb, LfReal *c, int64_t ldc, gboolean add)
{
  for (int64_t i = 0; i < m; i++)
    {
      LfReal acc[MK_N] = { 0 };
      for (int64_t k = 0; k < K; k++)
        {
          const LfReal ak = a[i * ars + k * acs], *bk = b + k * ldb;
          for (int64_t j = 0; j < n; j++)
            acc[j] += ak * bk[j];
        }
      LfReal *ci = c + i * ldc;
      for (int64_t j = 0; j < n; j++)
        ci[j] = add ? ci[j] + acc[j] : acc[j];
    }
}

/* C (m, n) = [C +] A (m, K) B (K, n) for m <= MK_M rows, any n. */
MK_INLINE void
mk_rows (int64_t m, int64_t n, int64_t K, const LfReal *a, int64_t ars, int64_t acs,
         const LfReal *b, int64_t ldb, LfReal *c, int64_t ldc, gboolean add)
{
  int64_t j0 = 0;
  for (; j0 + MK_N <= n; j0 += MK_N)
    {
      if (m == MK_M)
        mk_full (K, a, ars, acs, b + j0, ldb, c + j0, ldc, add);
      else
        for (int64_t i = 0; i < m; i++)
          mk_row (K, a + i * ars, acs, b + j0, ldb, c + i * ldc + j0, add);
    }
  if (j0 < n)
    mk_tail (m, n - j0, K, a, ars, acs, b + j0, ldb, c + j0, ldc, add);
}

/* Keys 0..n of query row t: the prefix, then the sequence up to the causal
 * limit. */
MK_INLINE int64_t
attn_row_len (const AttnDims *dm, int64_t t)
{
  return dm->causal ? dm->P + dm->S - dm->T + t + 1 : dm->L;
}

/* mT (Dh, Lp) = [prefix_g; seq_bg]^T, zero past L.  Both segments have a row
 * stride of Hkv*Dh. */
MK_INLINE void
attn_transpose_kv (const AttnDims *dm, const LfReal *prefix, const LfReal *seq, int64_t b, int64_t g, LfReal *mT)
{
  const int64_t Dh = dm->Dh, L = dm->L, Lp = dm->Lp, ld = dm->Hkv * Dh;
  for (int64_t j = 0; j < L; j++)
    {
      const LfReal *row = j < dm->P ? prefix + j * ld + g * Dh
                                    : seq + ((b * dm->S + (j - dm->P)) * dm->Hkv + g) * Dh;
      for (int64_t d = 0; d < Dh; d++)
        mT[d * Lp + j] = row[d];
    }
  for (int64_t d = 0; d < Dh; d++)
    for (int64_t j = L; j < Lp; j++)
      mT[d * Lp + j] = 0;
}

/* C (m, Dh) = [C +] A (m, 0..n) [prefix_g; seq_bg][0..n): the prefix rows,
 * then the sequence's (two products, one per segment). */
MK_INLINE void
attn_times_kv (const AttnDims *dm, int64_t m, int64_t n, const LfReal *a, int64_t lda,
               const LfReal *prefix, const LfReal *seq, int64_t b, int64_t g,
               LfReal *c, int64_t ldc, gboolean add)
{
  const int64_t Dh = dm->Dh, ld = dm->Hkv * Dh, P = dm->P;
  if (P > 0)
    mk_rows (m, Dh, MIN (n, P), a, lda, 1, prefix + g * Dh, ld, c, ldc, add);
  if (n > P || P == 0)
    mk_rows (m, Dh, n - P, a + P, lda, 1, seq + (b * dm->S * dm->Hkv + g) * Dh, ld, c, ldc, add || P > 0);
}

/* One (b, h) pair of the forward, MK_M query rows at a time.
 * scratch: Dh*Lp + 2 MK_M*Lp LfReals. */
LF_TARGET_CLONES static void
attn_forward_pair (const AttnDims *dm, const LfReal *q, const LfReal *k, const LfReal *v,
                   const LfReal *pk, const LfReal *pv, LfReal *out, LfReal *probs,
                   LfReal *scratch, int64_t b, int64_t h)
{
  const int64_t T = dm->T, Hq = dm->Hq, Dh = dm->Dh, L = dm->L, Lp = dm->Lp, ldq = Hq * Dh;
  const int64_t g = h / (Hq / dm->Hkv);
  LfReal *kT = scratch, *sblk = kT + Dh * Lp, *pblk = sblk + MK_M * Lp;
  attn_transpose_kv (dm, pk, k, b, g, kT);
  for (int64_t t0 = 0; t0 < T; t0 += MK_M)
    {
      const int64_t m = MIN (MK_M, T - t0), nmax = attn_row_len (dm, t0 + m - 1);
      const int64_t qrow = (b * T + t0) * Hq + h;
      /* scores (m, nmax rounded up) = q rows kT */
      mk_rows (m, MIN (Lp, (nmax + MK_N - 1) / MK_N * MK_N), Dh, q + qrow * Dh, ldq, 1, kT, Lp, sblk, Lp, FALSE);
      LfReal *pa = probs ? probs + ((b * Hq + h) * T + t0) * L : pblk;
      const int64_t lda = probs ? L : Lp;
      for (int64_t i = 0; i < m; i++)
        {
          /* softmax over the n live columns, with the max subtracted */
          const int64_t n = attn_row_len (dm, t0 + i);
          const LfReal *s = sblk + i * Lp;
          LfReal *p = pa + i * lda;
          LfReal mx = s[0];
          for (int64_t j = 1; j < n; j++)
            mx = s[j] > mx ? s[j] : mx;
          double sum = 0;
          for (int64_t j = 0; j < n; j++)
            {
              p[j] = lf_expr ((s[j] - mx) * dm->scale);
              sum += p[j];
            }
          const LfReal inv = (LfReal) (1.0 / sum);
          for (int64_t j = 0; j < n; j++)
            p[j] *= inv;
          for (int64_t j = n; j < (probs ? L : nmax); j++)
            p[j] = 0;
        }
      attn_times_kv (dm, m, nmax, pa, lda, pv, v, b, g, out + qrow * Dh, ldq, FALSE);
    }
}

LfTensor *
lf_attention (LfTensor *q, LfTensor *k, LfTensor *v, gboolean causal,
              LfTensor *prefix_k, LfTensor *prefix_v)
{
  lf_check (q->ndim == 4 && k->ndim == 4 && v->ndim == 4,
            "attention: q, k, v must be (B, T, H, Dh), got %s, %s, %s", LF_SHAPE (q), LF_SHAPE (k), LF_SHAPE (v));
  lf_check (lf_tensor_same_shape (k, v), "attention: k %s and v %s differ", LF_SHAPE (k), LF_SHAPE (v));
  AttnDims dm = {
    .B = q->shape[0], .T = q->shape[1], .Hq = q->shape[2], .Dh = q->shape[3],
    .S = k->shape[1], .Hkv = k->shape[2], .causal = causal != FALSE,
  };
  lf_check (k->shape[0] == dm.B && k->shape[3] == dm.Dh,
            "attention: q %s and k %s disagree on the batch or the head size", LF_SHAPE (q), LF_SHAPE (k));
  lf_check (dm.Hkv > 0 && dm.Hq % dm.Hkv == 0,
            "attention: %" G_GINT64_FORMAT " query heads are not a multiple of %" G_GINT64_FORMAT " key/value heads",
            dm.Hq, dm.Hkv);
  lf_check ((prefix_k == NULL) == (prefix_v == NULL), "attention: give both prefixes or neither");
  if (prefix_k)
    {
      lf_check (prefix_k->ndim == 2 && prefix_k->shape[1] == dm.Hkv * dm.Dh && lf_tensor_same_shape (prefix_k, prefix_v),
                "attention: the prefixes must both be (P, %" G_GINT64_FORMAT "), got %s and %s",
                dm.Hkv * dm.Dh, LF_SHAPE (prefix_k), LF_SHAPE (prefix_v));
      dm.P = prefix_k->shape[0];
    }
  dm.L = dm.P + dm.S;
  lf_check (dm.L > 0, "attention: no keys (S = 0 and no prefix)");
  lf_check (!dm.causal || dm.S >= dm.T,
            "attention: causal needs at least as many keys as queries (S = %" G_GINT64_FORMAT ", T = %" G_GINT64_FORMAT ")",
            dm.S, dm.T);
  dm.Lp = (dm.L + MK_N - 1) / MK_N * MK_N;
  dm.scale = (LfReal) (1.0 / sqrt ((double) dm.Dh));

  /* lf_node_new sees four sources; the fifth input lives in the saved
   * struct.  When only prefix_v needs a gradient it takes the last slot, so
   * the decision to record covers all five. */
  LfTensor *src[4] = { q, k, v, prefix_k };
  if (!lf_needs_grad (q) && !lf_needs_grad (k) && !lf_needs_grad (v) && !lf_needs_grad (prefix_k))
    src[3] = prefix_v;
  LfTensor *out = lf_node_new (LF_OP_ATTENTION, 4, q->shape, 4, src);
  LfReal *probs = NULL;
  if (tf_recorded (out))
    {
      AttnSaved *sv = lf_arena_alloc (sizeof (AttnSaved));
      *sv = (AttnSaved) { dm, q, k, v, prefix_k, prefix_v, NULL };
      sv->probs = probs = lf_arena_alloc ((size_t) MAX (dm.B * dm.Hq * dm.T * dm.L, 1) * sizeof (LfReal));
      out->aux = sv;
    }
  const LfReal *pk = prefix_k ? prefix_k->data : NULL, *pv = prefix_v ? prefix_v->data : NULL;
  const int64_t pairs = dm.B * dm.Hq;
#pragma omp parallel if (pairs > 1 && pairs * dm.T * dm.L * dm.Dh >= LF_PAR_MIN)
  {
    LfReal *scratch = g_new (LfReal, dm.Dh * dm.Lp + 2 * MK_M * dm.Lp);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < pairs; i++)
      attn_forward_pair (&dm, q->data, k->data, v->data, pk, pv, out->data, probs, scratch,
                         i / dm.Hq, i % dm.Hq);
    g_free (scratch);
  }
  return out;
}

/* What the backward of one (b, g) pair needs. */
typedef struct {
  const AttnSaved *sv;
  const LfReal    *dout;
  LfReal          *dq, *dk, *dv;         /* NULL: not needed */
  gboolean         fresh_q, fresh_k, fresh_v;
  gboolean         need_pk, need_pv;
  LfReal          *ppk, *ppv;            /* (B, Hkv, P, Dh) partials of the prefix gradients */
} AttnGrad;

/* One (b, g) pair of the backward: every query head of the group, in order,
 * so the gradients of the shared keys and values are summed in a fixed
 * order.  Per head, with P the saved probabilities and dO the output's
 * gradient (rows t, keys j):
 *   dP = dO [pv; v]^T,  dS = P (dP - rowsum(dP P)) / sqrt(Dh),
 *   dq = dS [pk; k],  dK += dS^T q,  dV += P^T dO
 * (dK, dV: (L, Dh) accumulators, prefix rows first).
 * scratch: Dh*Lp + T*Lp + 2 L*Dh LfReals. */
LF_TARGET_CLONES static void
attn_backward_pair (const AttnGrad *ag, LfReal *scratch, int64_t b, int64_t g)
{
  const AttnSaved *sv = ag->sv;
  const AttnDims *dm = &sv->dm;
  const int64_t T = dm->T, S = dm->S, Hq = dm->Hq, Hkv = dm->Hkv, Dh = dm->Dh, P = dm->P, L = dm->L, Lp = dm->Lp;
  const int64_t group = Hq / Hkv, ldq = Hq * Dh;
  const LfReal *q = sv->q->data, *k = sv->k->data, *v = sv->v->data;
  const LfReal *pk = sv->pk ? sv->pk->data : NULL, *pv = sv->pv ? sv->pv->data : NULL;
  const gboolean need_dk = ag->dk != NULL || ag->need_pk, need_dv = ag->dv != NULL || ag->need_pv;
  const gboolean need_ds = ag->dq != NULL || need_dk;
  /* the rows of the (L, Dh) accumulators that are wanted: the prefix's
   * [0, P), the sequence's [P, L) */
  const int64_t klo = ag->need_pk ? 0 : P, khi = ag->dk ? L : P;
  const int64_t vlo = ag->need_pv ? 0 : P, vhi = ag->dv ? L : P;
  /* a causal key j is seen by queries t >= j - shift only */
  const int64_t shift = dm->causal ? P + S - T : L;
  LfReal *vT = scratch, *dS = vT + Dh * Lp, *dK = dS + T * Lp, *dV = dK + L * Dh;
  if (need_ds)
    attn_transpose_kv (dm, pv, v, b, g, vT);
  if (need_dk)
    memset (dK, 0, (size_t) (L * Dh) * sizeof (LfReal));
  if (need_dv)
    memset (dV, 0, (size_t) (L * Dh) * sizeof (LfReal));
  for (int64_t h = g * group; h < (g + 1) * group; h++)
    {
      const int64_t row0 = b * T * Hq + h;   /* (b, 0, h) */
      const LfReal *ph = sv->probs + (b * Hq + h) * T * L;
      const LfReal *qh = q + row0 * Dh, *doh = ag->dout + row0 * Dh;
      if (need_ds)
        for (int64_t t0 = 0; t0 < T; t0 += MK_M)
          {
            const int64_t m = MIN (MK_M, T - t0), nmax = attn_row_len (dm, t0 + m - 1);
            LfReal *dsb = dS + t0 * Lp;
            /* dP (m, nmax rounded up) = dO rows vT */
            mk_rows (m, MIN (Lp, (nmax + MK_N - 1) / MK_N * MK_N), Dh, doh + t0 * ldq, ldq, 1, vT, Lp, dsb, Lp, FALSE);
            for (int64_t i = 0; i < m; i++)
              {
                const int64_t n = attn_row_len (dm, t0 + i);
                const LfReal *p = ph + (t0 + i) * L;
                LfReal *d = dsb + i * Lp;
                double r = 0;
                for (int64_t j = 0; j < n; j++)
                  r += (double) p[j] * d[j];
                const LfReal rr = (LfReal) r, scale = dm->scale;
                for (int64_t j = 0; j < n; j++)
                  d[j] = p[j] * (d[j] - rr) * scale;
                for (int64_t j = n; j < Lp; j++)
                  d[j] = 0;
              }
            if (ag->dq)
              attn_times_kv (dm, m, nmax, dsb, Lp, pk, k, b, g, ag->dq + (row0 + t0 * Hq) * Dh, ldq, !ag->fresh_q);
          }
      /* dK rows [klo, khi) += dS^T q, dV rows [vlo, vhi) += P^T dO, over the
       * queries that see each block of keys */
      if (need_dk)
        for (int64_t j0 = klo; j0 < khi; j0 += MK_M)
          {
            const int64_t m = MIN (MK_M, khi - j0), t0 = MAX (0, j0 - shift);
            mk_rows (m, Dh, T - t0, dS + t0 * Lp + j0, 1, Lp, qh + t0 * ldq, ldq, dK + j0 * Dh, Dh, TRUE);
          }
      if (need_dv)
        for (int64_t j0 = vlo; j0 < vhi; j0 += MK_M)
          {
            const int64_t m = MIN (MK_M, vhi - j0), t0 = MAX (0, j0 - shift);
            mk_rows (m, Dh, T - t0, ph + t0 * L + j0, 1, L, doh + t0 * ldq, ldq, dV + j0 * Dh, Dh, TRUE);
          }
    }
  /* the sequence rows of this (b, g), then the prefix partials */
  for (int64_t s = 0; s < S; s++)
    {
      const int64_t off = ((b * S + s) * Hkv + g) * Dh;
      if (ag->dk)
        {
          const LfReal *src = dK + (P + s) * Dh;
          LfReal *dst = ag->dk + off;
          LF_ACC_LOOP (Dh, dst, ag->fresh_k, d, src[d]);
        }
      if (ag->dv)
        {
          const LfReal *src = dV + (P + s) * Dh;
          LfReal *dst = ag->dv + off;
          LF_ACC_LOOP (Dh, dst, ag->fresh_v, d, src[d]);
        }
    }
  if (ag->need_pk)
    memcpy (ag->ppk + (b * Hkv + g) * P * Dh, dK, (size_t) (P * Dh) * sizeof (LfReal));
  if (ag->need_pv)
    memcpy (ag->ppv + (b * Hkv + g) * P * Dh, dV, (size_t) (P * Dh) * sizeof (LfReal));
}

void
lf_attention_backward (LfTensor *out)
{
  const AttnSaved *sv = out->aux;
  const AttnDims *dm = &sv->dm;
  AttnGrad ag = { .sv = sv, .dout = lf_out_grad (out) };
  /* in argument order, so a tensor given twice gets fresh, then not fresh,
   * and its buffer is written in that order below */
  ag.dq = lf_grad_acc (sv->q, &ag.fresh_q);
  ag.dk = lf_grad_acc (sv->k, &ag.fresh_k);
  ag.dv = lf_grad_acc (sv->v, &ag.fresh_v);
  gboolean fresh_pk = FALSE, fresh_pv = FALSE;
  LfReal *dpk = lf_grad_acc (sv->pk, &fresh_pk);
  LfReal *dpv = lf_grad_acc (sv->pv, &fresh_pv);
  ag.need_pk = dpk != NULL && dm->P > 0;
  ag.need_pv = dpv != NULL && dm->P > 0;
  if (!ag.dq && !ag.dk && !ag.dv && !ag.need_pk && !ag.need_pv)
    return;
  const int64_t B = dm->B, Hkv = dm->Hkv, P = dm->P, Dh = dm->Dh, pairs = B * Hkv;
  const int64_t pn = B * Hkv * P * Dh;
  ag.ppk = ag.need_pk ? g_new (LfReal, pn) : NULL;
  ag.ppv = ag.need_pv ? g_new (LfReal, pn) : NULL;
  const size_t scratch_n = (size_t) (Dh * dm->Lp + dm->T * dm->Lp + 2 * dm->L * Dh);
#pragma omp parallel if (pairs > 1 && B * dm->Hq * dm->T * dm->L * Dh >= LF_PAR_MIN)
  {
    LfReal *scratch = g_new (LfReal, scratch_n);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < pairs; i++)
      attn_backward_pair (&ag, scratch, i / Hkv, i % Hkv);
    g_free (scratch);
  }
  /* prefix gradients: (P, Hkv*Dh), summed over the batch in order */
  for (int pass = 0; pass < 2; pass++)
    {
      LfReal *part = pass == 0 ? ag.ppk : ag.ppv, *grad = pass == 0 ? dpk : dpv;
      gboolean fresh = pass == 0 ? fresh_pk : fresh_pv;
      if (!part)
        continue;
      for (int64_t j = 0; j < P; j++)
        for (int64_t g = 0; g < Hkv; g++)
          {
            LfReal *dst = grad + (j * Hkv + g) * Dh;
            for (int64_t d = 0; d < Dh; d++)
              {
                LfReal s = part[(g * P + j) * Dh + d];
                for (int64_t b = 1; b < B; b++)
                  s += part[((b * Hkv + g) * P + j) * Dh + d];
                dst[d] = fresh ? s : dst[d] + s;
              }
          }
      g_free (part);
    }
}
