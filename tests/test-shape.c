/* lifelong tests — reductions, shape ops and indexing: values on hand-made
 * tensors, gradients against finite differences (each op alone, and each op
 * used twice so that the accumulating half of its backward runs too),
 * views that share data, detach stopping the gradient, sums that are
 * bitwise the same at any thread count, and shape errors that abort with a
 * message naming the op and the sizes. */
#include "gradcheck.h"

/* the worst relative error of every gradient check in this run */
static double gc_worst;

/* ---- helpers -------------------------------------------------------------- */

/* An owned tensor holding the values 0, 1, 2, ... (no gradient). */
static LfTensor *
iota (int ndim, const int64_t *shape)
{
  LfTensor *t = lf_tensor_new_owned (ndim, shape);
  for (int64_t i = 0; i < lf_tensor_numel (t); i++)
    lf_tensor_data (t)[i] = (LfReal) i;
  return t;
}

static void
assert_shape (LfTensor *t, int ndim, const int64_t *shape)
{
  g_assert_cmpint (lf_tensor_ndim (t), ==, ndim);
  for (int i = 0; i < ndim; i++)
    g_assert_cmpint (lf_tensor_shape (t)[i], ==, shape[i]);
}

static void
assert_values (LfTensor *t, int64_t n, const double *want)
{
  g_assert_cmpint (lf_tensor_numel (t), ==, n);
  for (int64_t i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (lf_tensor_data (t)[i], want[i], 1e-12);
}

/* An op under test applied to its inputs, with its own context. */
typedef struct { GcFn fn; void *ctx; } Twice;

/* The op applied twice and the results joined: every input receives two
 * gradient contributions, the first into a fresh buffer, the second added. */
static LfTensor *
twice_fn (LfTensor *const *in, void *ctx)
{
  Twice *t = ctx;
  LfTensor *parts[2] = { t->fn (in, t->ctx), t->fn (in, t->ctx) };
  return lf_concat (parts, 2, 0);
}

/* gc_check on fn once and twice; records the worst error. */
static void
check_grad (const char *what, GcFn fn, void *ctx, int n, LfTensor *const *in)
{
  double e = gc_check (what, fn, ctx, n, in, GC_TOL);
  gc_worst = fmax (gc_worst, e);
  char name[160];
  g_snprintf (name, sizeof name, "%s, used twice", what);
  Twice t = { fn, ctx };
  e = gc_check (name, twice_fn, &t, n, in, GC_TOL);
  gc_worst = fmax (gc_worst, e);
}

/* ---- sum and mean --------------------------------------------------------- */

static void
test_sum_values (void)
{
  int64_t s[2] = { 2, 3 };
  g_autoptr (LfTensor) a = iota (2, s);
  lf_tape_push (FALSE);
  LfTensor *sum = lf_sum (a), *mean = lf_mean (a);
  int64_t one = 1;
  assert_shape (sum, 1, &one);
  assert_shape (mean, 1, &one);
  g_assert_cmpfloat (lf_tensor_data (sum)[0], ==, 15);
  g_assert_cmpfloat (lf_tensor_data (mean)[0], ==, 2.5);
  /* the sum of nothing is 0 */
  int64_t zero = 0;
  g_assert_cmpfloat (lf_tensor_data (lf_sum (lf_tensor_zeros (1, &zero)))[0], ==, 0);
  lf_tape_pop ();
}

typedef struct { gboolean mean; } SumCtx;

static LfTensor *
sum_fn (LfTensor *const *in, void *ctx)
{
  SumCtx *c = ctx;
  return c->mean ? lf_mean (in[0]) : lf_sum (in[0]);
}

static void
test_sum_backward (void)
{
  int64_t s[3] = { 2, 3, 4 };
  g_autoptr (LfTensor) a = gc_param (3, s, 31, -1, 1);
  SumCtx c = { FALSE };
  check_grad ("sum", sum_fn, &c, 1, &a);
  c.mean = TRUE;
  check_grad ("mean", sum_fn, &c, 1, &a);
}

/* A large random vector summed with one thread and with two: the chunked
 * reduction must give the same bits.  The per-axis sums and the embedding's
 * scatter, which also reduce, are held to the same standard. */
static void
test_sum_threads (void)
{
  int64_t n = (1 << 20) + 77;
  g_autoptr (LfTensor) x = lf_tensor_new_owned (1, &n);
  for (int64_t i = 0; i < n; i++)
    lf_tensor_data (x)[i] = (LfReal) (lf_rng_uniform_at (41, (uint64_t) i) * 2 - 1)
                            * (LfReal) (1 + (i % 1000));
  int64_t s2[2] = { 96, 1024 };
  int64_t v[2] = { 50, 1024 };
  g_autoptr (LfTensor) table = gc_param (2, v, 42, -1, 1);
  int64_t nid = 400;
  int32_t ids[400];
  for (int i = 0; i < nid; i++)
    ids[i] = (int32_t) ((i * 7) % 13);   /* heavily repeated */
  int saved = lf_get_threads ();
  LfReal got[2][2];
  LfReal *axis[2][2];
  LfReal *demb[2];
  for (int r = 0; r < 2; r++)
    {
      lf_set_threads (r + 1);
      lf_tape_push (TRUE);
      got[r][0] = lf_tensor_data (lf_sum (x))[0];
      got[r][1] = lf_tensor_data (lf_mean (x))[0];
      LfTensor *x2 = lf_slice (x, 0, 0, s2[0] * s2[1]);
      LfTensor *xm = lf_reshape (x2, 2, s2);
      axis[r][0] = g_memdup2 (lf_tensor_data (lf_sum_axis (xm, 0, FALSE)), 1024 * sizeof (LfReal));
      axis[r][1] = g_memdup2 (lf_tensor_data (lf_mean_axis (xm, 1, FALSE)), 96 * sizeof (LfReal));
      lf_tensor_zero_grad (table);
      lf_backward (lf_sum (lf_embedding (table, ids, nid)));
      demb[r] = g_memdup2 (lf_tensor_grad (table), 50 * 1024 * sizeof (LfReal));
      lf_tape_pop ();
    }
  lf_set_threads (saved);
  g_assert_cmpmem (got[0], sizeof got[0], got[1], sizeof got[1]);
  g_assert_cmpmem (axis[0][0], 1024 * sizeof (LfReal), axis[1][0], 1024 * sizeof (LfReal));
  g_assert_cmpmem (axis[0][1], 96 * sizeof (LfReal), axis[1][1], 96 * sizeof (LfReal));
  g_assert_cmpmem (demb[0], 50 * 1024 * sizeof (LfReal), demb[1], 50 * 1024 * sizeof (LfReal));
  /* and the sum is right: against a plain double loop */
  double ref = 0;
  for (int64_t i = 0; i < n; i++)
    ref += lf_tensor_data (x)[i];
  g_assert_cmpfloat_with_epsilon (got[0][0], ref, 1e-9 * fabs (ref) + 1e-6);
  for (int r = 0; r < 2; r++)
    {
      g_free (axis[r][0]);
      g_free (axis[r][1]);
      g_free (demb[r]);
    }
}

static void
test_sum_axis_values (void)
{
  int64_t s[2] = { 2, 3 };
  g_autoptr (LfTensor) a = iota (2, s);   /* [[0 1 2] [3 4 5]] */
  lf_tape_push (FALSE);
  LfTensor *t = lf_sum_axis (a, 0, FALSE);
  assert_shape (t, 1, (int64_t[]) { 3 });
  assert_values (t, 3, (double[]) { 3, 5, 7 });
  t = lf_sum_axis (a, 1, TRUE);
  assert_shape (t, 2, (int64_t[]) { 2, 1 });
  assert_values (t, 2, (double[]) { 3, 12 });
  t = lf_sum_axis (a, -1, FALSE);
  assert_shape (t, 1, (int64_t[]) { 2 });
  assert_values (t, 2, (double[]) { 3, 12 });
  t = lf_mean_axis (a, -2, TRUE);
  assert_shape (t, 2, (int64_t[]) { 1, 3 });
  assert_values (t, 3, (double[]) { 1.5, 2.5, 3.5 });
  t = lf_mean_axis (a, 1, FALSE);
  assert_values (t, 2, (double[]) { 1, 4 });
  /* 3-D, the middle axis: (2, 3, 2) -> (2, 2) */
  int64_t s3[3] = { 2, 3, 2 };
  g_autoptr (LfTensor) b = iota (3, s3);
  t = lf_sum_axis (b, 1, FALSE);
  assert_shape (t, 2, (int64_t[]) { 2, 2 });
  assert_values (t, 4, (double[]) { 0 + 2 + 4, 1 + 3 + 5, 6 + 8 + 10, 7 + 9 + 11 });
  /* a 1-D tensor reduces to (1) */
  int64_t s1 = 4;
  g_autoptr (LfTensor) c = iota (1, &s1);
  t = lf_mean_axis (c, 0, FALSE);
  assert_shape (t, 1, (int64_t[]) { 1 });
  assert_values (t, 1, (double[]) { 1.5 });
  /* an inner size past the column block: (3, 2, 300) over axis 1 */
  int64_t sw[3] = { 3, 2, 300 };
  g_autoptr (LfTensor) w = iota (3, sw);
  t = lf_sum_axis (w, 1, FALSE);
  for (int o = 0; o < 3; o++)
    for (int j = 0; j < 300; j++)
      g_assert_cmpfloat (lf_tensor_data (t)[o * 300 + j], ==, (o * 600 + j) * 2 + 300);
  lf_tape_pop ();
}

typedef struct { int axis; gboolean keepdim, mean; } AxisCtx;

static LfTensor *
sum_axis_fn (LfTensor *const *in, void *ctx)
{
  AxisCtx *c = ctx;
  return c->mean ? lf_mean_axis (in[0], c->axis, c->keepdim) : lf_sum_axis (in[0], c->axis, c->keepdim);
}

static void
test_sum_axis_backward (void)
{
  int64_t s3[3] = { 2, 3, 4 }, s4[4] = { 2, 3, 2, 3 };
  g_autoptr (LfTensor) a3 = gc_param (3, s3, 32, -1, 1);
  g_autoptr (LfTensor) a4 = gc_param (4, s4, 33, -1, 1);
  LfTensor *ins[2] = { a3, a4 };
  for (int which = 0; which < 2; which++)
    {
      int nd = which ? 4 : 3;
      for (int axis = -nd; axis < nd; axis++)
        for (int keepdim = 0; keepdim < 2; keepdim++)
          for (int mean = 0; mean < 2; mean++)
            {
              AxisCtx c = { axis, keepdim, mean };
              char name[96];
              g_snprintf (name, sizeof name, "%s %d-D axis %d keepdim %d",
                          mean ? "mean_axis" : "sum_axis", nd, axis, keepdim);
              check_grad (name, sum_axis_fn, &c, 1, &ins[which]);
            }
    }
}

/* ---- reshape and detach --------------------------------------------------- */

static void
test_reshape_values (void)
{
  int64_t s[3] = { 2, 3, 4 };
  g_autoptr (LfTensor) a = iota (3, s);
  lf_tape_push (FALSE);
  LfTensor *r = lf_reshape (a, 2, (int64_t[]) { 6, -1 });
  assert_shape (r, 2, (int64_t[]) { 6, 4 });
  /* a view: the same storage, not a copy */
  g_assert_true (lf_tensor_data (r) == lf_tensor_data (a));
  LfTensor *r2 = lf_reshape (r, 4, (int64_t[]) { 1, -1, 2, 3 });
  assert_shape (r2, 4, (int64_t[]) { 1, 4, 2, 3 });
  g_assert_true (lf_tensor_data (r2) == lf_tensor_data (a));
  LfTensor *flat = lf_reshape (a, 1, (int64_t[]) { 24 });
  assert_shape (flat, 1, (int64_t[]) { 24 });
  /* the view takes no room for data of its own */
  size_t before = lf_arena_used ();
  int64_t big = 1 << 16;
  g_autoptr (LfTensor) b = lf_tensor_new_owned (1, &big);
  lf_reshape (b, 2, (int64_t[]) { 256, 256 });
  g_assert_cmpuint (lf_arena_used () - before, <, 1024);
  lf_tape_pop ();
}

typedef struct { int ndim; int64_t shape[LF_MAX_DIMS]; } ReshapeCtx;

static LfTensor *
reshape_fn (LfTensor *const *in, void *ctx)
{
  ReshapeCtx *c = ctx;
  return lf_reshape (in[0], c->ndim, c->shape);
}

/* a reshape of an intermediate: the gradient must reach the arena tensor
 * it views and then go on through the transpose */
static LfTensor *
reshape_chain_fn (LfTensor *const *in, void *ctx)
{
  (void) ctx;
  LfTensor *t = lf_transpose (in[0], 0, 2);                       /* (4, 3, 2) */
  LfTensor *r = lf_reshape (t, 2, (int64_t[]) { -1, 6 });          /* (4, 6) */
  return lf_sum_axis (lf_reshape (r, 3, (int64_t[]) { 2, 2, 6 }), 1, FALSE);
}

static void
test_reshape_backward (void)
{
  int64_t s[3] = { 2, 3, 4 };
  g_autoptr (LfTensor) a = gc_param (3, s, 34, -1, 1);
  ReshapeCtx c = { 2, { 4, 6 } };
  check_grad ("reshape (2,3,4) -> (4,6)", reshape_fn, &c, 1, &a);
  ReshapeCtx c4 = { 4, { 2, 2, -1, 3 } };
  check_grad ("reshape (2,3,4) -> (2,2,2,3)", reshape_fn, &c4, 1, &a);
  check_grad ("transpose, reshape, reshape, sum_axis", reshape_chain_fn, NULL, 1, &a);
}

/* y = x alongside detach(x): only the first half may send a gradient back */
static void
test_detach (void)
{
  int64_t s[2] = { 2, 3 };
  g_autoptr (LfTensor) x = gc_param (2, s, 35, -1, 1);
  lf_tape_push (TRUE);
  LfTensor *d = lf_detach (x);
  assert_shape (d, 2, s);
  g_assert_true (lf_tensor_data (d) == lf_tensor_data (x));
  g_assert_false (lf_tensor_requires_grad (d));
  /* alone: nothing trainable reaches the loss */
  lf_tensor_zero_grad (x);
  lf_backward (lf_sum (d));
  g_assert_null (lf_tensor_grad (x));
  /* next to x itself: d(sum(x) + sum(detach(x) * 1))/dx is 1, not 2 */
  LfTensor *parts[2] = { x, lf_detach (x) };
  LfTensor *loss = lf_sum (lf_concat (parts, 2, 1));
  g_assert_true (lf_tensor_requires_grad (loss));
  lf_backward (loss);
  const LfReal *g = lf_tensor_grad (x);
  g_assert_nonnull (g);
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (g[i], ==, 1);
  /* and through a reshape of the detached view */
  lf_tensor_zero_grad (x);
  LfTensor *r = lf_reshape (lf_detach (x), 1, (int64_t[]) { 6 });
  g_assert_false (lf_tensor_requires_grad (r));
  lf_tape_pop ();
}

/* ---- transpose ------------------------------------------------------------ */

static void
test_transpose_values (void)
{
  lf_tape_push (FALSE);
  int64_t s2[2] = { 2, 3 };
  g_autoptr (LfTensor) a = iota (2, s2);
  LfTensor *t = lf_transpose (a, 0, 1);
  assert_shape (t, 2, (int64_t[]) { 3, 2 });
  assert_values (t, 6, (double[]) { 0, 3, 1, 4, 2, 5 });
  /* 3-D, the outer axes: (2, 3, 2) -> (2, 3, 2) with t[i,j,k] = a[k,j,i] */
  int64_t s3[3] = { 2, 3, 2 };
  g_autoptr (LfTensor) b = iota (3, s3);
  t = lf_transpose (b, 0, -1);
  assert_shape (t, 3, (int64_t[]) { 2, 3, 2 });
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 2; k++)
        g_assert_cmpfloat (lf_tensor_data (t)[(i * 3 + j) * 2 + k], ==, (k * 3 + j) * 2 + i);
  /* 4-D, the attention swap (B, T, H, Dh) -> (B, H, T, Dh) */
  int64_t s4[4] = { 2, 3, 4, 5 };
  g_autoptr (LfTensor) c = iota (4, s4);
  t = lf_transpose (c, 1, 2);
  assert_shape (t, 4, (int64_t[]) { 2, 4, 3, 5 });
  for (int b0 = 0; b0 < 2; b0++)
    for (int h = 0; h < 4; h++)
      for (int tt = 0; tt < 3; tt++)
        for (int e = 0; e < 5; e++)
          g_assert_cmpfloat (lf_tensor_data (t)[((b0 * 4 + h) * 3 + tt) * 5 + e], ==,
                             ((b0 * 3 + tt) * 4 + h) * 5 + e);
  /* an axis with itself is a copy */
  t = lf_transpose (c, 2, 2);
  assert_shape (t, 4, s4);
  g_assert_true (lf_tensor_data (t) != lf_tensor_data (c));
  g_assert_cmpmem (lf_tensor_data (t), 120 * sizeof (LfReal), lf_tensor_data (c), 120 * sizeof (LfReal));
  lf_tape_pop ();
}

typedef struct { int a0, a1; } TransposeCtx;

static LfTensor *
transpose_fn (LfTensor *const *in, void *ctx)
{
  TransposeCtx *c = ctx;
  return lf_transpose (in[0], c->a0, c->a1);
}

static void
test_transpose_backward (void)
{
  int64_t s2[2] = { 3, 4 }, s3[3] = { 2, 3, 4 }, s4[4] = { 2, 3, 2, 3 };
  g_autoptr (LfTensor) a2 = gc_param (2, s2, 36, -1, 1);
  g_autoptr (LfTensor) a3 = gc_param (3, s3, 37, -1, 1);
  g_autoptr (LfTensor) a4 = gc_param (4, s4, 38, -1, 1);
  TransposeCtx c = { 0, 1 };
  check_grad ("transpose 2-D", transpose_fn, &c, 1, &a2);
  TransposeCtx c3[] = { { 0, 1 }, { 0, 2 }, { 1, 2 }, { -1, 0 } };
  for (size_t i = 0; i < G_N_ELEMENTS (c3); i++)
    {
      char name[64];
      g_snprintf (name, sizeof name, "transpose 3-D %d %d", c3[i].a0, c3[i].a1);
      check_grad (name, transpose_fn, &c3[i], 1, &a3);
    }
  TransposeCtx c4[] = { { 0, 3 }, { 1, 2 }, { 2, 3 }, { -3, -1 } };
  for (size_t i = 0; i < G_N_ELEMENTS (c4); i++)
    {
      char name[64];
      g_snprintf (name, sizeof name, "transpose 4-D %d %d", c4[i].a0, c4[i].a1);
      check_grad (name, transpose_fn, &c4[i], 1, &a4);
    }
}

/* ---- slice ---------------------------------------------------------------- */

static void
test_slice_values (void)
{
  lf_tape_push (FALSE);
  int64_t s[3] = { 2, 3, 4 };
  g_autoptr (LfTensor) a = iota (3, s);
  LfTensor *t = lf_slice (a, 1, 1, 3);
  assert_shape (t, 3, (int64_t[]) { 2, 2, 4 });
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++)
      for (int k = 0; k < 4; k++)
        g_assert_cmpfloat (lf_tensor_data (t)[(i * 2 + j) * 4 + k], ==, (i * 3 + j + 1) * 4 + k);
  t = lf_slice (a, -1, 2, 4);
  assert_shape (t, 3, (int64_t[]) { 2, 3, 2 });
  assert_values (t, 12, (double[]) { 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23 });
  t = lf_slice (a, 0, 1, 2);
  assert_shape (t, 3, (int64_t[]) { 1, 3, 4 });
  g_assert_cmpfloat (lf_tensor_data (t)[0], ==, 12);
  /* empty */
  t = lf_slice (a, 2, 3, 3);
  assert_shape (t, 3, (int64_t[]) { 2, 3, 0 });
  lf_tape_pop ();
}

typedef struct { int axis; int64_t start, end; } SliceCtx;

static LfTensor *
slice_fn (LfTensor *const *in, void *ctx)
{
  SliceCtx *c = ctx;
  return lf_slice (in[0], c->axis, c->start, c->end);
}

static void
test_slice_backward (void)
{
  int64_t s3[3] = { 2, 3, 4 }, s4[4] = { 2, 3, 4, 2 };
  g_autoptr (LfTensor) a3 = gc_param (3, s3, 39, -1, 1);
  g_autoptr (LfTensor) a4 = gc_param (4, s4, 40, -1, 1);
  SliceCtx c3[] = { { 0, 1, 2 }, { 1, 0, 2 }, { 1, 1, 3 }, { 2, 1, 3 }, { -1, 0, 4 }, { 2, 3, 4 } };
  for (size_t i = 0; i < G_N_ELEMENTS (c3); i++)
    {
      char name[64];
      g_snprintf (name, sizeof name, "slice 3-D axis %d [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ")",
                  c3[i].axis, c3[i].start, c3[i].end);
      check_grad (name, slice_fn, &c3[i], 1, &a3);
    }
  SliceCtx c4[] = { { 2, 1, 3 }, { -2, 0, 1 }, { 3, 1, 2 } };
  for (size_t i = 0; i < G_N_ELEMENTS (c4); i++)
    {
      char name[64];
      g_snprintf (name, sizeof name, "slice 4-D axis %d [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ")",
                  c4[i].axis, c4[i].start, c4[i].end);
      check_grad (name, slice_fn, &c4[i], 1, &a4);
    }
}

/* ---- concat --------------------------------------------------------------- */

static void
test_concat_values (void)
{
  lf_tape_push (FALSE);
  int64_t sa[2] = { 2, 1 }, sb[2] = { 2, 2 };
  g_autoptr (LfTensor) a = iota (2, sa);   /* [[0] [1]] */
  g_autoptr (LfTensor) b = iota (2, sb);   /* [[0 1] [2 3]] */
  LfTensor *ab[2] = { a, b };
  LfTensor *t = lf_concat (ab, 2, 1);
  assert_shape (t, 2, (int64_t[]) { 2, 3 });
  assert_values (t, 6, (double[]) { 0, 0, 1, 1, 2, 3 });
  LfTensor *bb[3] = { b, b, b };
  t = lf_concat (bb, 3, 0);
  assert_shape (t, 2, (int64_t[]) { 6, 2 });
  assert_values (t, 12, (double[]) { 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3 });
  t = lf_concat (bb, 2, -1);
  assert_shape (t, 2, (int64_t[]) { 2, 4 });
  assert_values (t, 8, (double[]) { 0, 1, 0, 1, 2, 3, 2, 3 });
  t = lf_concat (bb, 1, 0);
  assert_shape (t, 2, sb);
  assert_values (t, 4, (double[]) { 0, 1, 2, 3 });
  lf_tape_pop ();
}

typedef struct { int n, axis; } ConcatCtx;

static LfTensor *
concat_fn (LfTensor *const *in, void *ctx)
{
  ConcatCtx *c = ctx;
  return lf_concat (in, c->n, c->axis);
}

static void
test_concat_backward (void)
{
  /* six inputs of different sizes along axis 1 of a (2, *, 3) tensor; only
   * inputs 1, 4 and 5 need a gradient (constants sit between them) */
  enum { N = 6 };
  LfTensor *in[N];
  for (int i = 0; i < N; i++)
    {
      int64_t s[3] = { 2, 1 + i % 3, 3 };
      in[i] = gc_param (3, s, 50 + (uint64_t) i, -1, 1);
      lf_tensor_set_requires_grad (in[i], i == 1 || i == 4 || i == 5);
    }
  ConcatCtx c = { N, 1 };
  check_grad ("concat of 6 along axis 1", concat_fn, &c, N, in);
  /* only the sixth needs a gradient: past LF_MAX_SRC, it must still record */
  for (int i = 0; i < N; i++)
    lf_tensor_set_requires_grad (in[i], i == 5);
  lf_tape_push (TRUE);
  g_assert_true (lf_tensor_requires_grad (lf_concat (in, N, 1)));
  lf_tape_pop ();
  check_grad ("concat of 6, the last needs a gradient", concat_fn, &c, N, in);
  for (int i = 0; i < N; i++)
    lf_tensor_set_requires_grad (in[i], FALSE);
  lf_tape_push (TRUE);
  g_assert_false (lf_tensor_requires_grad (lf_concat (in, N, 1)));
  lf_tape_pop ();
  /* the same tensor several times: its parts add up */
  lf_tensor_set_requires_grad (in[2], TRUE);
  LfTensor *rep[5] = { in[2], in[0], in[2], in[3], in[2] };
  lf_tensor_set_requires_grad (in[0], TRUE);
  ConcatCtx c5 = { 5, -2 };
  check_grad ("concat of 5 with a tensor three times", concat_fn, &c5, 5, rep);
  for (int i = 0; i < N; i++)
    lf_tensor_free (in[i]);
  /* 4-D along each axis */
  int64_t s4[4] = { 2, 2, 3, 2 };
  LfTensor *q[3];
  for (int i = 0; i < 3; i++)
    q[i] = gc_param (4, s4, 60 + (uint64_t) i, -1, 1);
  for (int axis = 0; axis < 4; axis++)
    {
      ConcatCtx c4 = { 3, axis };
      char name[64];
      g_snprintf (name, sizeof name, "concat of 3 4-D along axis %d", axis);
      check_grad (name, concat_fn, &c4, 3, q);
    }
  for (int i = 0; i < 3; i++)
    lf_tensor_free (q[i]);
}

/* ---- embedding and gather --------------------------------------------------- */

static void
test_embedding_values (void)
{
  int64_t s[2] = { 4, 3 };
  g_autoptr (LfTensor) table = iota (2, s);
  int32_t ids[5] = { 2, 0, 2, 3, 2 };
  lf_tape_push (FALSE);
  LfTensor *e = lf_embedding (table, ids, 5);
  ids[0] = 1;   /* ids were copied: changing them now changes nothing */
  assert_shape (e, 2, (int64_t[]) { 5, 3 });
  assert_values (e, 15, (double[]) { 6, 7, 8, 0, 1, 2, 6, 7, 8, 9, 10, 11, 6, 7, 8 });
  lf_tape_pop ();
}

typedef struct { const int32_t *ids; int64_t n; } EmbCtx;

static LfTensor *
embedding_fn (LfTensor *const *in, void *ctx)
{
  EmbCtx *c = ctx;
  return lf_embedding (in[0], c->ids, c->n);
}

static void
test_embedding_backward (void)
{
  int64_t s[2] = { 6, 4 };
  g_autoptr (LfTensor) table = gc_param (2, s, 70, -1, 1);
  /* id 3 three times, id 1 twice, ids 0 and 4 never */
  int32_t ids[7] = { 3, 1, 5, 3, 2, 1, 3 };
  EmbCtx c = { ids, 7 };
  check_grad ("embedding with repeated ids", embedding_fn, &c, 1, &table);
  /* the scatter counts: d(sum)/d(row v) is how often v was looked up */
  lf_tensor_zero_grad (table);
  lf_tape_push (TRUE);
  lf_backward (lf_sum (lf_embedding (table, ids, 7)));
  lf_tape_pop ();
  const double count[6] = { 0, 2, 1, 3, 0, 1 };
  for (int v = 0; v < 6; v++)
    for (int j = 0; j < 4; j++)
      g_assert_cmpfloat (lf_tensor_grad (table)[v * 4 + j], ==, count[v]);
  /* D past one column block, so the parallel scatter has several blocks */
  int64_t sw[2] = { 5, 600 };
  g_autoptr (LfTensor) wide = gc_param (2, sw, 71, -1, 1);
  int32_t wid[4] = { 4, 0, 4, 4 };
  EmbCtx cw = { wid, 4 };
  double e = gc_check ("embedding, D = 600", embedding_fn, &cw, 1, &wide, GC_TOL);
  gc_worst = fmax (gc_worst, e);
}

static void
test_gather_values (void)
{
  int64_t s[2] = { 3, 4 };
  g_autoptr (LfTensor) a = iota (2, s);
  int32_t idx[3] = { 3, 0, 2 };
  lf_tape_push (FALSE);
  LfTensor *g = lf_gather (a, idx);
  assert_shape (g, 1, (int64_t[]) { 3 });
  assert_values (g, 3, (double[]) { 3, 4, 10 });
  lf_tape_pop ();
}

static LfTensor *
gather_fn (LfTensor *const *in, void *ctx)
{
  return lf_gather (in[0], ctx);
}

static void
test_gather_backward (void)
{
  int64_t s[2] = { 5, 3 };
  g_autoptr (LfTensor) a = gc_param (2, s, 72, -1, 1);
  int32_t idx[5] = { 2, 2, 0, 1, 2 };
  check_grad ("gather", gather_fn, idx, 1, &a);
}

/* ---- misuse aborts with a message naming the op and the sizes ---------------- */

static void
run_misuse (int which)
{
  int64_t s[2] = { 4, 5 };
  LfTensor *a = lf_tensor_new_owned (2, s);
  int32_t bad[3] = { 0, 7, 1 };
  int64_t other[2] = { 3, 4 };
  LfTensor *b = lf_tensor_new_owned (2, other);
  LfTensor *ab[2] = { a, b };
  switch (which)
    {
    case 0: lf_slice (a, 1, 2, 7); break;
    case 1: lf_reshape (a, 2, (int64_t[]) { 3, -1 }); break;
    case 2: lf_reshape (a, 3, (int64_t[]) { -1, 2, -1 }); break;
    case 3: lf_concat (ab, 2, 0); break;
    case 4: lf_embedding (a, bad, 3); break;
    case 5: lf_gather (a, bad); break;
    case 6: lf_sum_axis (a, 2, FALSE); break;
    case 7: lf_transpose (a, 0, -3); break;
    case 8: lf_slice (a, 0, 3, 2); break;
    default: g_assert_not_reached ();
    }
}

static void
test_misuse (void)
{
  static const char *const want[] = {
    "*slice: end 7 past size 5 of axis 1 of (4, 5)*",
    "*reshape: cannot view (4, 5) (20 elements) as (3, -1)*",
    "*reshape: more than one -1 in (-1, 2, -1)*",
    "*concat: input 1 is (3, 4), input 0 is (4, 5): axis 1 differs*",
    "*embedding: id 7 at position 1 outside [0, V = 4)*",
    "*gather: index 7 at row 1 outside [0, C = 5)*",
    "*axis 2 out of range for a 2-dim tensor*",
    "*axis -3 out of range for a 2-dim tensor*",
    "*slice: start 3 not in [0, end 2]*",
  };
  for (int i = 0; i < (int) G_N_ELEMENTS (want); i++)
    {
      if (g_test_subprocess ())
        return;
      char path[64];
      g_snprintf (path, sizeof path, "/ops/shape/misuse/subprocess/%d", i);
      g_test_trap_subprocess (path, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_failed ();
      g_test_trap_assert_stderr (want[i]);
    }
}

static void
misuse_subprocess (gconstpointer data)
{
  if (g_test_subprocess ())
    run_misuse (GPOINTER_TO_INT (data));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops/sum/values", test_sum_values);
  g_test_add_func ("/ops/sum/backward", test_sum_backward);
  g_test_add_func ("/ops/sum/threads", test_sum_threads);
  g_test_add_func ("/ops/sum/axis", test_sum_axis_values);
  g_test_add_func ("/ops/sum/axis/backward", test_sum_axis_backward);
  g_test_add_func ("/ops/reshape", test_reshape_values);
  g_test_add_func ("/ops/reshape/backward", test_reshape_backward);
  g_test_add_func ("/ops/detach", test_detach);
  g_test_add_func ("/ops/transpose", test_transpose_values);
  g_test_add_func ("/ops/transpose/backward", test_transpose_backward);
  g_test_add_func ("/ops/slice", test_slice_values);
  g_test_add_func ("/ops/slice/backward", test_slice_backward);
  g_test_add_func ("/ops/concat", test_concat_values);
  g_test_add_func ("/ops/concat/backward", test_concat_backward);
  g_test_add_func ("/ops/embedding", test_embedding_values);
  g_test_add_func ("/ops/embedding/backward", test_embedding_backward);
  g_test_add_func ("/ops/gather", test_gather_values);
  g_test_add_func ("/ops/gather/backward", test_gather_backward);
  g_test_add_func ("/ops/shape/misuse", test_misuse);
  for (int i = 0; i < 9; i++)
    {
      char path[64];
      g_snprintf (path, sizeof path, "/ops/shape/misuse/subprocess/%d", i);
      g_test_add_data_func (path, GINT_TO_POINTER (i), misuse_subprocess);
    }
  int rc = g_test_run ();
  if (!g_test_subprocess ())
    g_test_message ("worst gradient-check error in this run: %.3g", gc_worst);
  return rc;
}
