/* lifelong — elementwise ops: add, sub and mul with NumPy broadcasting (up
 * to 4 dims), the scalar ops, exp, log, sqr and the activations.
 *
 * A binary op classifies its operands' layout once, in the forward pass,
 * and keeps it in out->ip[] for the backward:
 *
 *   FLAT     both operands are out's shape, or one is a single element:
 *            one flat loop, the scalar read with stride 0;
 *   B_INNER  a is out's shape and b repeats along a's leading dims, as a
 *            bias does: (N, D) + (D), (B, H, T, T) + (T, T);
 *   A_INNER  the mirror image, (D) + (N, D);
 *   GENERAL  anything else ((N, 1) * (1, D), (B, T, D) * (B, T, 1)): both
 *            operands padded to 4 dims with a stride of 0 on broadcast
 *            axes, rows of out's last dim.
 *
 * The gradient of a broadcast operand is a sum over the axes it was
 * repeated along.  Every such sum has a fixed order per element (threads
 * split the kept elements, never a sum), so gradients are bitwise the same
 * at any thread count.  Backward passes overwrite a fresh gradient buffer
 * and add to one that already holds a value (x * x adds twice into x). */
#include "ops-private.h"

/* Elements per task in flat loops, and columns per task in the column sums
 * of a broadcast gradient: small enough to spread (N, 768) over threads,
 * long enough for a vectorised inner loop. */
#define EW_BLOCK 4096
#define EW_COLS  64

enum {
  EW_FLAT,
  EW_B_INNER,
  EW_A_INNER,
  EW_GENERAL,
};

/* ---- broadcasting helpers ---------------------------------------------- */


/* t's shape right-aligned in 4 dims, leading 1s: (3, 4) -> (1, 1, 3, 4). */
static void
pad4 (const LfTensor *t, int64_t p[4])
{
  int off = LF_MAX_DIMS - t->ndim;
  for (int d = 0; d < LF_MAX_DIMS; d++)
    p[d] = d < off ? 1 : t->shape[d - off];
}

/* Row-major strides of a padded shape, 0 on every axis of size 1: indexing
 * with out's coordinates then reads the broadcast value. */
static void
bcast_strides (const int64_t p[4], int64_t s[4])
{
  int64_t st = 1;
  for (int d = LF_MAX_DIMS - 1; d >= 0; d--)
    {
      s[d] = p[d] == 1 ? 0 : st;
      st *= p[d];
    }
}

static gboolean
same4 (const int64_t p[4], const int64_t q[4])
{
  return p[0] == q[0] && p[1] == q[1] && p[2] == q[2] && p[3] == q[3];
}

/* Whether p (padded) is a run of 1s followed by out's trailing dims: then
 * the operand repeats, whole, once per leading index of out. */
static gboolean
is_suffix (const int64_t p[4], const int64_t o[4])
{
  int d = 0;
  while (d < LF_MAX_DIMS && p[d] == 1)
    d++;
  for (; d < LF_MAX_DIMS; d++)
    if (p[d] != o[d])
      return FALSE;
  return TRUE;
}

/* ---- binary forward ------------------------------------------------------ */

/* o[j] = x[j * sx] OP y[j * sy] for j < m, with sx, sy in {0, 1}.  The stride
 * cases and the ops are spelled out so every inner loop is a plain one that
 * gcc vectorises; the switch runs once per row or block, not per element. */
#define EW_ROW(OPER)                                                        \
  do {                                                                      \
    if (sx && sy)                                                           \
      for (int64_t j = 0; j < m; j++) o[j] = x[j] OPER y[j];                \
    else if (sx)                                                            \
      { const LfReal c = y[0]; for (int64_t j = 0; j < m; j++) o[j] = x[j] OPER c; } \
    else if (sy)                                                            \
      { const LfReal c = x[0]; for (int64_t j = 0; j < m; j++) o[j] = c OPER y[j]; } \
    else                                                                    \
      { const LfReal c = x[0] OPER y[0]; for (int64_t j = 0; j < m; j++) o[j] = c; } \
  } while (0)

static inline void
ew_row (LfOpId op, LfReal *restrict o, const LfReal *x, int64_t sx,
        const LfReal *y, int64_t sy, int64_t m)
{
  switch (op)
    {
    case LF_OP_ADD: EW_ROW (+); break;
    case LF_OP_SUB: EW_ROW (-); break;
    default:        EW_ROW (*); break;
    }
}

#undef EW_ROW

/* ip[0] = layout; FLAT: ip[1], ip[2] = strides of a, b (0 for a single
 * element, else 1); *_INNER: ip[1] = rows, ip[2] = inner size (numel of
 * the repeated operand). */
static LfTensor *
ew_binary (LfOpId op, LfTensor *a, LfTensor *b)
{
  const char *name = lf_op_table[op].name;
  int64_t pa[4], pb[4], po[4];
  pad4 (a, pa);
  pad4 (b, pb);
  for (int d = 0; d < LF_MAX_DIMS; d++)
    {
      lf_check (pa[d] == pb[d] || pa[d] == 1 || pb[d] == 1,
                "%s: shapes %s and %s do not broadcast", name, LF_SHAPE (a), LF_SHAPE (b));
      po[d] = pa[d] == 1 ? pb[d] : pa[d];
    }
  int ndim = MAX (a->ndim, b->ndim);
  LfTensor *src[2] = { a, b };
  LfTensor *out = lf_node_new (op, ndim, po + LF_MAX_DIMS - ndim, 2, src);
  const int64_t n = out->numel;
  LfReal *restrict o = out->data;
  const LfReal *x = a->data, *y = b->data;

  gboolean a_full = same4 (pa, po), b_full = same4 (pb, po);
  if ((a_full && (b_full || b->numel == 1)) || (b_full && a->numel == 1))
    {
      int64_t sx = a_full, sy = b_full;
      out->ip[0] = EW_FLAT;
      out->ip[1] = sx;
      out->ip[2] = sy;
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
      for (int64_t lo = 0; lo < n; lo += EW_BLOCK)
        ew_row (op, o + lo, x + lo * sx, sx, y + lo * sy, sy, MIN (EW_BLOCK, n - lo));
    }
  else if ((a_full && is_suffix (pb, po)) || (b_full && is_suffix (pa, po)))
    {
      /* out (rows, m): the small operand is one row, repeated */
      int64_t m = a_full ? b->numel : a->numel;
      int64_t rows = m > 0 ? n / m : 0;
      out->ip[0] = a_full ? EW_B_INNER : EW_A_INNER;
      out->ip[1] = rows;
      out->ip[2] = m;
      int64_t sx = a_full, sy = b_full;
#pragma omp parallel for collapse(2) schedule(static) if (n >= LF_PAR_MIN)
      for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < m; c += EW_BLOCK)
          ew_row (op, o + r * m + c, x + r * m * sx + c, 1, y + r * m * sy + c, 1,
                  MIN (EW_BLOCK, m - c));
    }
  else
    {
      /* out (o0, o1, o2, o3): rows of o3, each operand read through its
       * broadcast strides (0 on the axes it repeats along) */
      int64_t sa[4], sb[4];
      bcast_strides (pa, sa);
      bcast_strides (pb, sb);
      out->ip[0] = EW_GENERAL;
      const int64_t rows = po[0] * po[1] * po[2], m = po[3];
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
      for (int64_t r = 0; r < rows; r++)
        {
          int64_t i0 = r / (po[1] * po[2]), i1 = r / po[2] % po[1], i2 = r % po[2];
          ew_row (op, o + r * m,
                  x + i0 * sa[0] + i1 * sa[1] + i2 * sa[2], sa[3],
                  y + i0 * sb[0] + i1 * sb[1] + i2 * sb[2], sb[3], m);
        }
    }
  return out;
}

LfTensor *lf_add (LfTensor *a, LfTensor *b) { return ew_binary (LF_OP_ADD, a, b); }
LfTensor *lf_sub (LfTensor *a, LfTensor *b) { return ew_binary (LF_OP_SUB, a, b); }
LfTensor *lf_mul (LfTensor *a, LfTensor *b) { return ew_binary (LF_OP_MUL, a, b); }

/* ---- binary backward ----------------------------------------------------- */

/* The gradient flowing into one operand t of out = a OP b is g * w with
 *   w = sign (+1 for add and for sub's a, -1 for sub's b), other = NULL, or
 *   w = the other operand (mul), read through its broadcast pattern,
 * summed over the axes t was repeated along.  Each helper writes dt when
 * fresh and adds otherwise. */

/* FLAT, t full: dt[i] (=|+=) g[i] * w[i]; so = 0 when other is a scalar. */
static void
ew_grad_flat (int64_t n, const LfReal *g, const LfReal *other, int64_t so, LfReal sign,
              LfReal *dt, gboolean fresh)
{
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
  for (int64_t lo = 0; lo < n; lo += EW_BLOCK)
    {
      int64_t len = MIN (EW_BLOCK, n - lo);
      const LfReal *gb = g + lo;
      LfReal *db = dt + lo;
      if (other == NULL)
        LF_ACC_LOOP (len, db, fresh, i, sign * gb[i]);
      else if (so)
        {
          const LfReal *ob = other + lo;
          LF_ACC_LOOP (len, db, fresh, i, gb[i] * ob[i]);
        }
      else
        {
          const LfReal c = other[0];
          LF_ACC_LOOP (len, db, fresh, i, gb[i] * c);
        }
    }
}

/* *_INNER, t full (rows, m), other one repeated row (m) or NULL:
 * dt[r, j] (=|+=) g[r, j] * w[j]. */
static void
ew_grad_rows (int64_t rows, int64_t m, const LfReal *g, const LfReal *other, LfReal sign,
              LfReal *dt, gboolean fresh)
{
#pragma omp parallel for collapse(2) schedule(static) if (rows * m >= LF_PAR_MIN)
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < m; c += EW_BLOCK)
      {
        int64_t len = MIN (EW_BLOCK, m - c);
        const LfReal *gb = g + r * m + c;
        LfReal *db = dt + r * m + c;
        if (other == NULL)
          LF_ACC_LOOP (len, db, fresh, i, sign * gb[i]);
        else
          {
            const LfReal *ob = other + c;
            LF_ACC_LOOP (len, db, fresh, i, gb[i] * ob[i]);
          }
      }
}

/* *_INNER, t the repeated row (m), other full (rows, m) or NULL:
 * dt[j] (=|+=) sum_r g[r, j] * w[r, j].  Threads split the columns; each
 * column is summed over the rows in order. */
static void
ew_grad_colsum (int64_t rows, int64_t m, const LfReal *g, const LfReal *other, LfReal sign,
                LfReal *dt, gboolean fresh)
{
#pragma omp parallel for schedule(static) if (rows * m >= LF_PAR_MIN)
  for (int64_t c = 0; c < m; c += EW_COLS)
    {
      int64_t len = MIN (EW_COLS, m - c);
      LfReal acc[EW_COLS] = { 0 };
      if (other == NULL)
        for (int64_t r = 0; r < rows; r++)
          {
            const LfReal *gr = g + r * m + c;
            for (int64_t j = 0; j < len; j++)
              acc[j] += gr[j];
          }
      else
        for (int64_t r = 0; r < rows; r++)
          {
            const LfReal *gr = g + r * m + c, *orow = other + r * m + c;
            for (int64_t j = 0; j < len; j++)
              acc[j] += gr[j] * orow[j];
          }
      LF_ACC_LOOP (len, dt + c, fresh, j, sign * acc[j]);
    }
}

/* GENERAL: t padded to pt, out to po; other (if any) read through its
 * broadcast strides so.  Threads split t's rows (its last dim, kept or 1);
 * each row sums over the out rows it was repeated along, in order. */
static void
ew_grad_general (const int64_t pt[4], const int64_t po[4], const LfReal *g,
                 const LfReal *other, const int64_t so[4], LfReal sign,
                 LfReal *dt, gboolean fresh)
{
  const int64_t trows = pt[0] * pt[1] * pt[2], tm = pt[3], m = po[3];
  const gboolean keep_last = tm == m;   /* else tm == 1 and m is summed over */
#pragma omp parallel for schedule(static) if (po[0] * po[1] * po[2] * m >= LF_PAR_MIN)
  for (int64_t tr = 0; tr < trows; tr++)
    {
      int64_t k[3] = { tr / (pt[1] * pt[2]), tr / pt[2] % pt[1], tr % pt[2] };
      int64_t lo[3], hi[3];
      for (int d = 0; d < 3; d++)
        {
          gboolean kept = pt[d] == po[d];
          lo[d] = kept ? k[d] : 0;
          hi[d] = kept ? k[d] + 1 : po[d];
        }
      LfReal *dr = dt + tr * tm;
      if (fresh)
        for (int64_t j = 0; j < tm; j++)
          dr[j] = 0;
      for (int64_t i0 = lo[0]; i0 < hi[0]; i0++)
        for (int64_t i1 = lo[1]; i1 < hi[1]; i1++)
          for (int64_t i2 = lo[2]; i2 < hi[2]; i2++)
            {
              const LfReal *gr = g + ((i0 * po[1] + i1) * po[2] + i2) * m;
              if (keep_last)
                {
                  if (other == NULL)
                    for (int64_t j = 0; j < m; j++)
                      dr[j] += sign * gr[j];
                  else
                    {
                      const LfReal *orow = other + i0 * so[0] + i1 * so[1] + i2 * so[2];
                      if (so[3])
                        for (int64_t j = 0; j < m; j++)
                          dr[j] += gr[j] * orow[j];
                      else
                        for (int64_t j = 0; j < m; j++)
                          dr[j] += gr[j] * orow[0];
                    }
                }
              else
                {
                  LfReal s = 0;
                  if (other == NULL)
                    for (int64_t j = 0; j < m; j++)
                      s += gr[j];
                  else
                    {
                      const LfReal *orow = other + i0 * so[0] + i1 * so[1] + i2 * so[2];
                      if (so[3])
                        for (int64_t j = 0; j < m; j++)
                          s += gr[j] * orow[j];
                      else
                        for (int64_t j = 0; j < m; j++)
                          s += gr[j] * orow[0];
                    }
                  dr[0] += sign * s;
                }
            }
    }
}

/* The gradient into operand `which` (0 = a, 1 = b) of out = a OP b. */
static void
ew_binary_grad (LfTensor *out, int which)
{
  gboolean fresh;
  LfTensor *t = out->src[which], *u = out->src[1 - which];
  LfReal *dt = lf_grad_acc (t, &fresh);
  if (dt == NULL)
    return;
  const LfReal *g = lf_out_grad (out);
  const LfReal *other = out->op == LF_OP_MUL ? u->data : NULL;
  const LfReal sign = out->op == LF_OP_SUB && which == 1 ? -1 : 1;
  const int64_t n = out->numel;
  switch (out->ip[0])
    {
    case EW_FLAT:
      if (out->ip[1 + which])
        ew_grad_flat (n, g, other, out->ip[2 - which], sign, dt, fresh);
      else
        {
          /* t is a single element: a full sum, in lf_sum_chunked's fixed
           * chunks */
          LfReal s = (LfReal) (other ? lf_dot_chunked (g, other, n) : lf_sum_chunked (g, n));
          dt[0] = fresh ? sign * s : dt[0] + sign * s;
        }
      break;
    case EW_B_INNER:
    case EW_A_INNER:
      {
        int64_t rows = out->ip[1], m = out->ip[2];
        gboolean t_full = (out->ip[0] == EW_B_INNER) == (which == 0);
        if (t_full)
          ew_grad_rows (rows, m, g, other, sign, dt, fresh);
        else
          ew_grad_colsum (rows, m, g, other, sign, dt, fresh);
      }
      break;
    default:
      {
        int64_t pt[4], pu[4], po[4], su[4];
        pad4 (t, pt);
        pad4 (u, pu);
        pad4 (out, po);
        bcast_strides (pu, su);
        ew_grad_general (pt, po, g, other, su, sign, dt, fresh);
      }
      break;
    }
}

/* The gradient into a is complete before b's buffer is asked for, so x * x
 * (a == b) overwrites x's fresh gradient once and then adds to it. */
static void
ew_binary_backward (LfTensor *out)
{
  ew_binary_grad (out, 0);
  ew_binary_grad (out, 1);
}

void lf_add_backward (LfTensor *out) { ew_binary_backward (out); }
void lf_sub_backward (LfTensor *out) { ew_binary_backward (out); }
void lf_mul_backward (LfTensor *out) { ew_binary_backward (out); }

/* ---- unary ops ------------------------------------------------------------ */

/* The backward of a unary op y = f(x): dx (=|+=) EXPR for every element, in
 * blocks of EW_BLOCK split among threads for large tensors.  EXPR reads g
 * (out's gradient), x (the input) and y (the output) at index i, all three
 * already offset to the block.  A macro, not a callback, so each op gets its
 * own vectorised loop. */
#define EW_UNARY_BACKWARD(out, EXPR)                                          \
  do {                                                                        \
    gboolean ew_fresh;                                                        \
    LfReal *ew_dx = lf_grad_acc ((out)->src[0], &ew_fresh);                   \
    if (ew_dx == NULL)                                                        \
      break;                                                                  \
    const int64_t ew_n = (out)->numel;                                        \
    const LfReal *ew_g = lf_out_grad (out), *ew_x = (out)->src[0]->data;      \
    const LfReal *ew_y = (out)->data;                                         \
    _Pragma ("omp parallel for schedule(static) if (ew_n >= LF_PAR_MIN)")     \
    for (int64_t ew_lo = 0; ew_lo < ew_n; ew_lo += EW_BLOCK)                  \
      {                                                                       \
        const int64_t ew_len = MIN (EW_BLOCK, ew_n - ew_lo);                  \
        const LfReal *g = ew_g + ew_lo, *x = ew_x + ew_lo, *y = ew_y + ew_lo; \
        LfReal *dx = ew_dx + ew_lo;                                           \
        (void) x; (void) y;                                                   \
        LF_ACC_LOOP (ew_len, dx, ew_fresh, i, EXPR);                          \
      }                                                                       \
  } while (0)

static LfTensor *
ew_unary_new (LfOpId op, LfTensor *a)
{
  return lf_node_new (op, a->ndim, a->shape, 1, &a);
}

/* Constants in LfReal, so float kernels stay in float. */
#define EW_SQRT1_2      ((LfReal) 0.70710678118654752440)   /* 1 / sqrt(2)    */
#define EW_INV_SQRT_2PI ((LfReal) 0.39894228040143267794)   /* 1 / sqrt(2 pi) */

/* fp[0] = s */
LfTensor *
lf_scale (LfTensor *a, double s)
{
  LfTensor *out = ew_unary_new (LF_OP_SCALE, a);
  out->fp[0] = s;
  const LfReal c = (LfReal) s, *x = a->data;
  LfReal *restrict y = out->data;
  const int64_t n = out->numel;
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
  for (int64_t i = 0; i < n; i++)
    y[i] = c * x[i];
  return out;
}

void
lf_scale_backward (LfTensor *out)
{
  const LfReal c = (LfReal) out->fp[0];
  EW_UNARY_BACKWARD (out, c * g[i]);
}

/* fp[0] = s */
LfTensor *
lf_add_scalar (LfTensor *a, double s)
{
  LfTensor *out = ew_unary_new (LF_OP_ADD_SCALAR, a);
  out->fp[0] = s;
  const LfReal c = (LfReal) s, *x = a->data;
  LfReal *restrict y = out->data;
  const int64_t n = out->numel;
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
  for (int64_t i = 0; i < n; i++)
    y[i] = x[i] + c;
  return out;
}

void
lf_add_scalar_backward (LfTensor *out)
{
  EW_UNARY_BACKWARD (out, g[i]);
}

LfTensor *
lf_exp (LfTensor *a)
{
  LfTensor *out = ew_unary_new (LF_OP_EXP, a);
  const LfReal *x = a->data;
  LfReal *restrict y = out->data;
  const int64_t n = out->numel;
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
  for (int64_t i = 0; i < n; i++)
    y[i] = lf_expr (x[i]);
  return out;
}

/* d exp(x) = exp(x) = y */
void
lf_exp_backward (LfTensor *out)
{
  EW_UNARY_BACKWARD (out, g[i] * y[i]);
}

LfTensor *
lf_log (LfTensor *a)
{
  LfTensor *out = ew_unary_new (LF_OP_LOG, a);
  const LfReal *x = a->data;
  LfReal *restrict y = out->data;
  const int64_t n = out->numel;
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
  for (int64_t i = 0; i < n; i++)
    y[i] = lf_logr (x[i]);
  return out;
}

void
lf_log_backward (LfTensor *out)
{
  EW_UNARY_BACKWARD (out, g[i] / x[i]);
}

LfTensor *
lf_sqr (LfTensor *a)
{
  LfTensor *out = ew_unary_new (LF_OP_SQR, a);
  const LfReal *x = a->data;
  LfReal *restrict y = out->data;
  const int64_t n = out->numel;
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
  for (int64_t i = 0; i < n; i++)
    y[i] = x[i] * x[i];
  return out;
}

void
lf_sqr_backward (LfTensor *out)
{
  EW_UNARY_BACKWARD (out, (x[i] + x[i]) * g[i]);
}

/* Written as x < 0 ? 0 : x so a NaN passes through (as in torch) and a
 * diverging run shows up in the loss instead of hiding behind zeros. */
LfTensor *
lf_relu (LfTensor *a)
{
  LfTensor *out = ew_unary_new (LF_OP_RELU, a);
  const LfReal *x = a->data;
  LfReal *restrict y = out->data;
  const int64_t n = out->numel;
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
  for (int64_t i = 0; i < n; i++)
    y[i] = x[i] < 0 ? 0 : x[i];
  return out;
}

/* A function, so g is loaded whatever x is: gcc turns the choice into a
 * vector select, where `x[i] > 0 ? g[i] : 0` is a conditional load that
 * keeps the loop scalar. */
static inline LfReal
ew_relu_grad (LfReal x, LfReal g)
{
  return x > 0 ? g : 0;
}

/* The gradient at exactly 0 is 0, as in torch. */
void
lf_relu_backward (LfTensor *out)
{
  EW_UNARY_BACKWARD (out, ew_relu_grad (x[i], g[i]));
}

/* gelu(x) = x Phi(x) = x/2 (1 + erf(x / sqrt 2)), torch's default
 * (approximate='none'), not the tanh approximation. */
LfTensor *
lf_gelu (LfTensor *a)
{
  LfTensor *out = ew_unary_new (LF_OP_GELU, a);
  const LfReal *x = a->data;
  LfReal *restrict y = out->data;
  const LfReal half = 0.5;
  const int64_t n = out->numel;
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
  for (int64_t i = 0; i < n; i++)
    y[i] = half * x[i] * (1 + lf_erfr (x[i] * EW_SQRT1_2));
  return out;
}

/* d gelu = Phi(x) + x phi(x), phi the standard normal density */
void
lf_gelu_backward (LfTensor *out)
{
  const LfReal half = 0.5;
  EW_UNARY_BACKWARD (out, g[i] * (half * (1 + lf_erfr (x[i] * EW_SQRT1_2))
                                  + x[i] * EW_INV_SQRT_2PI * lf_expr (-half * x[i] * x[i])));
}

/* sigmoid(x) = 1 / (1 + exp(-x)): for x far below 0, exp overflows to inf
 * and the quotient is an exact 0, never a NaN. */
static inline LfReal
ew_sigmoid (LfReal x)
{
  return 1 / (1 + lf_expr (-x));
}

/* silu(x) = x sigmoid(x) */
LfTensor *
lf_silu (LfTensor *a)
{
  LfTensor *out = ew_unary_new (LF_OP_SILU, a);
  const LfReal *x = a->data;
  LfReal *restrict y = out->data;
  const int64_t n = out->numel;
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
  for (int64_t i = 0; i < n; i++)
    y[i] = x[i] * ew_sigmoid (x[i]);
  return out;
}

/* d silu = s (1 + x (1 - s)), s = sigmoid(x), recomputed from x */
void
lf_silu_backward (LfTensor *out)
{
  EW_UNARY_BACKWARD (out, g[i] * ew_sigmoid (x[i]) * (1 + x[i] * (1 - ew_sigmoid (x[i]))));
}

LfTensor *
lf_tanh (LfTensor *a)
{
  LfTensor *out = ew_unary_new (LF_OP_TANH, a);
  const LfReal *x = a->data;
  LfReal *restrict y = out->data;
  const int64_t n = out->numel;
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
  for (int64_t i = 0; i < n; i++)
    y[i] = lf_tanhr (x[i]);
  return out;
}

/* d tanh = 1 - y^2 */
void
lf_tanh_backward (LfTensor *out)
{
  EW_UNARY_BACKWARD (out, g[i] * (1 - y[i] * y[i]));
}

LfTensor *
lf_sigmoid (LfTensor *a)
{
  LfTensor *out = ew_unary_new (LF_OP_SIGMOID, a);
  const LfReal *x = a->data;
  LfReal *restrict y = out->data;
  const int64_t n = out->numel;
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
  for (int64_t i = 0; i < n; i++)
    y[i] = ew_sigmoid (x[i]);
  return out;
}

/* d sigmoid = y (1 - y) */
void
lf_sigmoid_backward (LfTensor *out)
{
  EW_UNARY_BACKWARD (out, g[i] * y[i] * (1 - y[i]));
}
