/* lifelong — reductions, shape ops and indexing: sum and mean (of everything
 * or over one axis), reshape and detach (views), transpose, slice, concat,
 * embedding lookup and gather.
 *
 * Every reduction has a fixed order per output element (each one is owned
 * by one thread and summed in index order, in double), so results are
 * bitwise the same at any thread count.  Backward passes overwrite a fresh
 * gradient buffer and add to one that already holds a value. */
#include "ops-private.h"

/* ---- helpers ------------------------------------------------------------ */



/* A tensor seen as (outer, size, inner) around one axis. */
static void
split_at_axis (const LfTensor *t, int axis, int64_t *outer, int64_t *size, int64_t *inner)
{
  *outer = lf_shape_numel (axis, t->shape);
  *size = t->shape[axis];
  *inner = lf_shape_numel (t->ndim - axis - 1, t->shape + axis + 1);
}

/* d[i] = v or d[i] += v for every i. */
static void
fill_or_add (LfReal *d, int64_t n, gboolean fresh, LfReal v)
{
  if (fresh)
    {
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
      for (int64_t i = 0; i < n; i++)
        d[i] = v;
    }
  else
    {
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
      for (int64_t i = 0; i < n; i++)
        d[i] += v;
    }
}

/* d[i] = s[i] or d[i] += s[i]. */
static inline void
copy_or_add (LfReal *d, const LfReal *s, int64_t n, gboolean fresh)
{
  if (fresh)
    memcpy (d, s, (size_t) n * sizeof (LfReal));
  else
    for (int64_t i = 0; i < n; i++)
      d[i] += s[i];
}

/* A header that shares its data with a (reshape, detach).  lf_node_new is
 * asked for a tensor of no elements, so the arena hands out the header
 * alone (and records it exactly as any other op); the view's shape and
 * a's data pointer are filled in afterwards.  Asking for the real shape
 * would reserve a second, never-used copy of a's data: a reshape of an LLM's
 * logits would double the step's largest activation. */
static LfTensor *
view_new (LfOpId op, LfTensor *a, int ndim, const int64_t *shape, int nsrc)
{
  int64_t none = 0;
  LfTensor *t = lf_node_new (op, 1, &none, nsrc, &a);
  t->ndim = ndim;
  memset (t->shape, 0, sizeof t->shape);
  memcpy (t->shape, shape, (size_t) ndim * sizeof (int64_t));
  t->numel = a->numel;
  t->data = a->data;
  t->flags |= LF_TF_VIEW;
  /* where the data lives, also for detach (a leaf: no walker follows it) */
  t->src[0] = a;
  return t;
}

/* ---- sum and mean of every element --------------------------------------- */

/* a: any -> (1).  fp[0] = the scale (1 for sum, 1/numel for mean). */
static LfTensor *
sum_all (LfTensor *a, double scale)
{
  int64_t one = 1;
  LfTensor *out = lf_node_new (LF_OP_SUM, 1, &one, 1, &a);
  out->fp[0] = scale;
  /* chunked partial sums combined in chunk order: thread-count independent */
  out->data[0] = (LfReal) (lf_sum_chunked (a->data, a->numel) * scale);
  return out;
}

LfTensor *
lf_sum (LfTensor *a)
{
  return sum_all (a, 1.0);
}

LfTensor *
lf_mean (LfTensor *a)
{
  lf_check (a->numel > 0, "mean: tensor %s has no elements", LF_SHAPE (a));
  return sum_all (a, 1.0 / (double) a->numel);
}

void
lf_sum_backward (LfTensor *out)
{
  LfTensor *a = out->src[0];
  gboolean fresh;
  LfReal *da = lf_grad_acc (a, &fresh);
  if (da)   /* every element contributed once, scaled */
    fill_or_add (da, a->numel, fresh, (LfReal) (lf_out_grad (out)[0] * out->fp[0]));
}

/* ---- sum and mean over one axis ------------------------------------------ */

/* Columns summed together when the reduced axis is not the last: a block of
 * double accumulators stays in cache while the rows stream past. */
#define SUM_AXIS_BLOCK 256

/* a: (outer, n, inner) -> (outer, inner), the axis removed or kept as 1.
 * ip[0] = outer, ip[1] = n, ip[2] = inner; fp[0] = the scale (1 or 1/n). */
static LfTensor *
sum_axis (LfTensor *a, int axis, gboolean keepdim, gboolean mean)
{
  int ax = lf_axis_norm (a, axis);
  int64_t outer, n, inner;
  split_at_axis (a, ax, &outer, &n, &inner);
  lf_check (!mean || n > 0, "mean_axis: axis %d of %s has no elements", axis, LF_SHAPE (a));
  double scale = mean ? 1.0 / (double) n : 1.0;
  /* the reduced axis goes (or stays as 1); a 1-D tensor reduces to (1) */
  int64_t shape[LF_MAX_DIMS];
  int ndim = 0;
  for (int i = 0; i < a->ndim; i++)
    if (i != ax)
      shape[ndim++] = a->shape[i];
    else if (keepdim)
      shape[ndim++] = 1;
  if (ndim == 0)
    shape[ndim++] = 1;
  LfTensor *out = lf_node_new (LF_OP_SUM_AXIS, ndim, shape, 1, &a);
  out->ip[0] = outer; out->ip[1] = n; out->ip[2] = inner;
  out->fp[0] = scale;
  const LfReal *x = a->data;
  LfReal *y = out->data;
  if (inner == 1)
    {
      /* the last axis: one contiguous row per output */
#pragma omp parallel for schedule(static) if (outer * n >= LF_PAR_MIN)
      for (int64_t o = 0; o < outer; o++)
        {
          const LfReal *row = x + o * n;
          double s = 0;
          for (int64_t k = 0; k < n; k++)
            s += row[k];
          y[o] = (LfReal) (s * scale);
        }
      return out;
    }
  int64_t nblk = (inner + SUM_AXIS_BLOCK - 1) / SUM_AXIS_BLOCK;
#pragma omp parallel for schedule(static) if (outer * n * inner >= LF_PAR_MIN)
  for (int64_t t = 0; t < outer * nblk; t++)
    {
      int64_t o = t / nblk, j0 = (t % nblk) * SUM_AXIS_BLOCK;
      int64_t w = MIN (inner - j0, SUM_AXIS_BLOCK);
      double acc[SUM_AXIS_BLOCK];
      for (int64_t j = 0; j < w; j++)
        acc[j] = 0;
      for (int64_t k = 0; k < n; k++)
        {
          const LfReal *row = x + (o * n + k) * inner + j0;
          for (int64_t j = 0; j < w; j++)
            acc[j] += row[j];
        }
      LfReal *yo = y + o * inner + j0;
      for (int64_t j = 0; j < w; j++)
        yo[j] = (LfReal) (acc[j] * scale);
    }
  return out;
}

LfTensor *
lf_sum_axis (LfTensor *a, int axis, gboolean keepdim)
{
  return sum_axis (a, axis, keepdim, FALSE);
}

LfTensor *
lf_mean_axis (LfTensor *a, int axis, gboolean keepdim)
{
  return sum_axis (a, axis, keepdim, TRUE);
}

void
lf_sum_axis_backward (LfTensor *out)
{
  LfTensor *a = out->src[0];
  gboolean fresh;
  LfReal *da = lf_grad_acc (a, &fresh);
  if (!da)
    return;
  int64_t outer = out->ip[0], n = out->ip[1], inner = out->ip[2];
  LfReal s = (LfReal) out->fp[0];
  const LfReal *dy = lf_out_grad (out);
  /* da (outer, n, inner): every row k of a block gets dy (outer, inner) */
#pragma omp parallel for schedule(static) if (outer * n * inner >= LF_PAR_MIN)
  for (int64_t r = 0; r < outer * n; r++)
    {
      const LfReal *g = dy + (r / n) * inner;
      LfReal *d = da + r * inner;
      LF_ACC_LOOP (inner, d, fresh, j, g[j] * s);
    }
}

/* ---- reshape and detach (views) ------------------------------------------ */

LfTensor *
lf_reshape (LfTensor *a, int ndim, const int64_t *shape)
{
  lf_check (ndim >= 1 && ndim <= LF_MAX_DIMS, "reshape: ndim %d not in [1, %d]", ndim, LF_MAX_DIMS);
  int64_t s[LF_MAX_DIMS];
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < ndim; i++)
    {
      s[i] = shape[i];
      if (shape[i] == -1)
        {
          lf_check (infer < 0, "reshape: more than one -1 in %s", lf_shape_str (ndim, shape).s);
          infer = i;
        }
      else
        {
          lf_check (shape[i] >= 0, "reshape: negative size %" G_GINT64_FORMAT " at axis %d in %s",
                    shape[i], i, lf_shape_str (ndim, shape).s);
          known *= shape[i];
        }
    }
  if (infer >= 0)
    {
      lf_check (known > 0 && a->numel % known == 0, "reshape: cannot view %s (%" G_GINT64_FORMAT
                " elements) as %s", LF_SHAPE (a), a->numel, lf_shape_str (ndim, shape).s);
      s[infer] = a->numel / known;
      known *= s[infer];
    }
  lf_check (known == a->numel, "reshape: cannot view %s (%" G_GINT64_FORMAT " elements) as %s",
            LF_SHAPE (a), a->numel, lf_shape_str (ndim, shape).s);
  return view_new (LF_OP_RESHAPE, a, ndim, s, 1);
}

void
lf_reshape_backward (LfTensor *out)
{
  gboolean fresh;
  LfReal *da = lf_grad_acc (out->src[0], &fresh);
  if (da)   /* the same elements in the same order */
    copy_or_add (da, lf_out_grad (out), out->numel, fresh);
}

LfTensor *
lf_detach (LfTensor *a)
{
  /* a leaf (LF_OP_NONE, no sources given to lf_node_new): never recorded,
   * never requires a gradient, so nothing flows back into a */
  return view_new (LF_OP_NONE, a, a->ndim, a->shape, 0);
}

/* ---- transpose ------------------------------------------------------------- */

/* y = x with axes a0 and a1 swapped (y += with add); x has shape xs.  Swapping
 * is its own inverse, so backward calls this on out's shape with the same
 * axes.  Every y element is written once: any split of the rows is safe. */
static void
swap_axes (const LfReal *x, int nd, const int64_t *xs, int a0, int a1, LfReal *y, gboolean add)
{
  /* padded to 4 dims with leading ones */
  int off = LF_MAX_DIMS - nd;
  int64_t ys[LF_MAX_DIMS], st[LF_MAX_DIMS];
  for (int i = 0; i < LF_MAX_DIMS; i++)
    ys[i] = i < off ? 1 : xs[i - off];
  st[LF_MAX_DIMS - 1] = 1;
  for (int i = LF_MAX_DIMS - 2; i >= 0; i--)
    st[i] = st[i + 1] * ys[i + 1];
  /* y's dims, and the stride in x of a step along each of them */
  int64_t t;
  t = ys[a0 + off]; ys[a0 + off] = ys[a1 + off]; ys[a1 + off] = t;
  t = st[a0 + off]; st[a0 + off] = st[a1 + off]; st[a1 + off] = t;
  int64_t rows = ys[0] * ys[1] * ys[2], n3 = ys[3], s3 = st[3];
#pragma omp parallel for schedule(static) if (rows * n3 >= LF_PAR_MIN)
  for (int64_t r = 0; r < rows; r++)
    {
      int64_t i2 = r % ys[2], i1 = (r / ys[2]) % ys[1], i0 = r / (ys[2] * ys[1]);
      const LfReal *src = x + i0 * st[0] + i1 * st[1] + i2 * st[2];
      LfReal *dst = y + r * n3;
      if (add)
        for (int64_t j = 0; j < n3; j++)
          dst[j] += src[j * s3];
      else
        for (int64_t j = 0; j < n3; j++)
          dst[j] = src[j * s3];
    }
}

/* ip[0], ip[1] = the two axes (normalised) */
LfTensor *
lf_transpose (LfTensor *a, int axis0, int axis1)
{
  int a0 = lf_axis_norm (a, axis0), a1 = lf_axis_norm (a, axis1);
  int64_t shape[LF_MAX_DIMS];
  memcpy (shape, a->shape, sizeof shape);
  shape[a0] = a->shape[a1];
  shape[a1] = a->shape[a0];
  LfTensor *out = lf_node_new (LF_OP_TRANSPOSE, a->ndim, shape, 1, &a);
  out->ip[0] = a0;
  out->ip[1] = a1;
  swap_axes (a->data, a->ndim, a->shape, a0, a1, out->data, FALSE);
  return out;
}

void
lf_transpose_backward (LfTensor *out)
{
  gboolean fresh;
  LfReal *da = lf_grad_acc (out->src[0], &fresh);
  if (da)
    swap_axes (lf_out_grad (out), out->ndim, out->shape, (int) out->ip[0], (int) out->ip[1],
               da, !fresh);
}

/* ---- slice --------------------------------------------------------------- */

/* a: (outer, size, inner) -> (outer, end - start, inner).
 * ip[0] = axis, ip[1] = start. */
LfTensor *
lf_slice (LfTensor *a, int axis, int64_t start, int64_t end)
{
  int ax = lf_axis_norm (a, axis);
  int64_t outer, size, inner;
  split_at_axis (a, ax, &outer, &size, &inner);
  lf_check (start >= 0 && start <= end, "slice: start %" G_GINT64_FORMAT " not in [0, end %"
            G_GINT64_FORMAT "] on axis %d of %s", start, end, axis, LF_SHAPE (a));
  lf_check (end <= size, "slice: end %" G_GINT64_FORMAT " past size %" G_GINT64_FORMAT
            " of axis %d of %s", end, size, axis, LF_SHAPE (a));
  int64_t shape[LF_MAX_DIMS];
  memcpy (shape, a->shape, sizeof shape);
  shape[ax] = end - start;
  LfTensor *out = lf_node_new (LF_OP_SLICE, a->ndim, shape, 1, &a);
  out->ip[0] = ax;
  out->ip[1] = start;
  int64_t len = (end - start) * inner;
#pragma omp parallel for schedule(static) if (outer * len >= LF_PAR_MIN)
  for (int64_t o = 0; o < outer; o++)
    memcpy (out->data + o * len, a->data + (o * size + start) * inner, (size_t) len * sizeof (LfReal));
  return out;
}

void
lf_slice_backward (LfTensor *out)
{
  LfTensor *a = out->src[0];
  gboolean fresh;
  LfReal *da = lf_grad_acc (a, &fresh);
  if (!da)
    return;
  int ax = (int) out->ip[0];
  int64_t outer, size, inner;
  split_at_axis (a, ax, &outer, &size, &inner);
  int64_t lo = out->ip[1] * inner, len = out->shape[ax] * inner, hi = lo + len;
  const LfReal *dy = lf_out_grad (out);
#pragma omp parallel for schedule(static) if (outer * size * inner >= LF_PAR_MIN)
  for (int64_t o = 0; o < outer; o++)
    {
      LfReal *d = da + o * size * inner;
      /* a fresh buffer is garbage outside the slice: the gradient there is 0 */
      if (fresh)
        {
          memset (d, 0, (size_t) lo * sizeof (LfReal));
          memset (d + hi, 0, (size_t) (size * inner - hi) * sizeof (LfReal));
        }
      copy_or_add (d + lo, dy + o * len, len, fresh);
    }
}

/* ---- concat ------------------------------------------------------------- */

/* ts[i]: (outer, size_i, inner) -> (outer, sum_i size_i, inner).
 * ip[0] = axis, ip[1] = n; aux = the n inputs (an arena copy of ts).  src[]
 * holds the first inputs only, for lf_node_new's recording decision. */
LfTensor *
lf_concat (LfTensor *const *ts, int n, int axis)
{
  lf_check (n >= 1 && ts != NULL, "concat: needs at least one tensor, got %d", n);
  for (int i = 0; i < n; i++)
    lf_check (ts[i] != NULL, "concat: input %d of %d is NULL", i, n);
  LfTensor *t0 = ts[0];
  int ax = lf_axis_norm (t0, axis);
  int64_t shape[LF_MAX_DIMS];
  memcpy (shape, t0->shape, sizeof shape);
  shape[ax] = 0;
  for (int i = 0; i < n; i++)
    {
      LfTensor *t = ts[i];
      lf_check (t->ndim == t0->ndim, "concat: input %d is %s, input 0 is %s (different ndim)",
                i, LF_SHAPE (t), LF_SHAPE (t0));
      for (int d = 0; d < t0->ndim; d++)
        lf_check (d == ax || t->shape[d] == t0->shape[d],
                  "concat: input %d is %s, input 0 is %s: axis %d differs (joining along axis %d)",
                  i, LF_SHAPE (t), LF_SHAPE (t0), d, ax);
      shape[ax] += t->shape[ax];
    }
  /* lf_node_new sees at most LF_MAX_SRC inputs and records only when one of
   * those needs a gradient.  With more inputs, the first that needs one
   * (if any) takes the last slot, so the decision covers all of them. */
  LfTensor *head[LF_MAX_SRC];
  int nhead = MIN (n, LF_MAX_SRC);
  memcpy (head, ts, (size_t) nhead * sizeof *head);
  for (int i = nhead; i < n; i++)
    if (lf_needs_grad (ts[i]))
      {
        gboolean covered = FALSE;
        for (int j = 0; j < nhead; j++)
          covered |= lf_needs_grad (head[j]);
        if (!covered)
          head[nhead - 1] = ts[i];
        break;
      }
  LfTensor *out = lf_node_new (LF_OP_CONCAT, t0->ndim, shape, nhead, head);
  LfTensor **list = lf_arena_alloc ((size_t) n * sizeof *list);
  memcpy (list, ts, (size_t) n * sizeof *list);
  out->aux = list;
  out->ip[0] = ax;
  out->ip[1] = n;
  int64_t outer, total, inner;
  split_at_axis (out, ax, &outer, &total, &inner);
#pragma omp parallel for schedule(static) if (out->numel >= LF_PAR_MIN)
  for (int64_t o = 0; o < outer; o++)
    {
      LfReal *dst = out->data + o * total * inner;
      for (int i = 0; i < n; i++)
        {
          int64_t len = list[i]->shape[ax] * inner;
          memcpy (dst, list[i]->data + o * len, (size_t) len * sizeof (LfReal));
          dst += len;
        }
    }
  return out;
}

void
lf_concat_backward (LfTensor *out)
{
  LfTensor **list = out->aux;
  int ax = (int) out->ip[0], n = (int) out->ip[1];
  int64_t outer, total, inner;
  split_at_axis (out, ax, &outer, &total, &inner);
  const LfReal *dy = lf_out_grad (out);
  int64_t offset = 0;   /* of input i's block within a row of out */
  for (int i = 0; i < n; i++)
    {
      LfTensor *t = list[i];
      int64_t len = t->shape[ax] * inner;
      gboolean fresh;
      /* the same tensor twice gets fresh, then not fresh: the parts add up */
      LfReal *dt = lf_grad_acc (t, &fresh);
      if (dt)
        {
#pragma omp parallel for schedule(static) if (outer * len >= LF_PAR_MIN)
          for (int64_t o = 0; o < outer; o++)
            copy_or_add (dt + o * len, dy + o * total * inner + offset, len, fresh);
        }
      offset += len;
    }
}

/* ---- embedding ---------------------------------------------------------- */

/* Columns per thread in the embedding's backward scatter. */
#define EMB_COL_BLOCK 256

/* table: (V, D), ids: n in [0, V) -> (n, D).  aux = a copy of ids. */
LfTensor *
lf_embedding (LfTensor *table, const int32_t *ids, int64_t n)
{
  lf_check (table->ndim == 2, "embedding: the table must be (V, D), got %s", LF_SHAPE (table));
  lf_check (n >= 0 && (ids != NULL || n == 0), "embedding: %" G_GINT64_FORMAT " ids at %p", n,
            (const void *) ids);
  int64_t V = table->shape[0], D = table->shape[1];
  for (int64_t i = 0; i < n; i++)
    lf_check (ids[i] >= 0 && ids[i] < V, "embedding: id %" G_GINT32_FORMAT " at position %"
              G_GINT64_FORMAT " outside [0, V = %" G_GINT64_FORMAT ") of table %s",
              ids[i], i, V, LF_SHAPE (table));
  int64_t shape[2] = { n, D };
  LfTensor *out = lf_node_new (LF_OP_EMBEDDING, 2, shape, 1, &table);
  int32_t *copy = lf_arena_alloc ((size_t) n * sizeof *copy);
  if (n > 0)
    memcpy (copy, ids, (size_t) n * sizeof *copy);
  out->aux = copy;
#pragma omp parallel for schedule(static) if (n * D >= LF_PAR_MIN)
  for (int64_t i = 0; i < n; i++)
    memcpy (out->data + i * D, table->data + (int64_t) copy[i] * D, (size_t) D * sizeof (LfReal));
  return out;
}

void
lf_embedding_backward (LfTensor *out)
{
  LfTensor *table = out->src[0];
  gboolean fresh;
  LfReal *dt = lf_grad_acc (table, &fresh);
  if (!dt)
    return;
  const int32_t *ids = out->aux;
  int64_t n = out->shape[0], D = out->shape[1];
  const LfReal *dy = lf_out_grad (out);
  if (fresh)
    memset (dt, 0, (size_t) table->numel * sizeof (LfReal));
  /* A repeated id adds several rows into one: each block of columns belongs
   * to one thread, which walks the ids in order, so the sums come out the
   * same at any thread count. */
  int64_t nblk = (D + EMB_COL_BLOCK - 1) / EMB_COL_BLOCK;
#pragma omp parallel for schedule(static) if (n * D >= LF_PAR_MIN && nblk > 1)
  for (int64_t b = 0; b < nblk; b++)
    {
      int64_t j0 = b * EMB_COL_BLOCK, j1 = MIN (D, j0 + EMB_COL_BLOCK);
      for (int64_t i = 0; i < n; i++)
        {
          LfReal *row = dt + (int64_t) ids[i] * D;
          const LfReal *g = dy + i * D;
          for (int64_t j = j0; j < j1; j++)
            row[j] += g[j];
        }
    }
}

/* ---- gather ------------------------------------------------------------- */

/* a: (N, C), idx: N in [0, C) -> (N): a[i, idx[i]].  aux = a copy of idx. */
LfTensor *
lf_gather (LfTensor *a, const int32_t *idx)
{
  lf_check (a->ndim == 2, "gather: the input must be (N, C), got %s", LF_SHAPE (a));
  int64_t N = a->shape[0], C = a->shape[1];
  lf_check (idx != NULL || N == 0, "gather: NULL indices for %s", LF_SHAPE (a));
  for (int64_t i = 0; i < N; i++)
    lf_check (idx[i] >= 0 && idx[i] < C, "gather: index %" G_GINT32_FORMAT " at row %"
              G_GINT64_FORMAT " outside [0, C = %" G_GINT64_FORMAT ") of %s",
              idx[i], i, C, LF_SHAPE (a));
  LfTensor *out = lf_node_new (LF_OP_GATHER, 1, &N, 1, &a);
  int32_t *copy = lf_arena_alloc ((size_t) N * sizeof *copy);
  if (N > 0)
    memcpy (copy, idx, (size_t) N * sizeof *copy);
  out->aux = copy;
  for (int64_t i = 0; i < N; i++)
    out->data[i] = a->data[i * C + copy[i]];
  return out;
}

void
lf_gather_backward (LfTensor *out)
{
  LfTensor *a = out->src[0];
  gboolean fresh;
  LfReal *da = lf_grad_acc (a, &fresh);
  if (!da)
    return;
  const int32_t *idx = out->aux;
  int64_t N = a->shape[0], C = a->shape[1];
  const LfReal *dy = lf_out_grad (out);
  if (fresh)
    memset (da, 0, (size_t) a->numel * sizeof (LfReal));
  /* one element per row: no two rows touch the same place */
  for (int64_t i = 0; i < N; i++)
    da[i * C + idx[i]] += dy[i];
}
