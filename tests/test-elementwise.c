/* lifelong tests — elementwise ops: add, sub and mul under every broadcast
 * layout (same shape, a repeated row either side, a single element, the
 * general strided case in 2, 3 and 4 dims), the scalar ops and the
 * activations.  Values against hand-computed numbers and a naive
 * broadcasting loop, gradients against finite differences, accumulation
 * when one tensor feeds an op twice, no gradient into a frozen operand, and
 * the same bits at any thread count. */
#include "gradcheck.h"

static double worst_error;

static void
check_grad (const char *what, GcFn fn, void *ctx, int n, LfTensor *const *inputs)
{
  double e = gc_check (what, fn, ctx, n, inputs, GC_TOL);
  worst_error = MAX (worst_error, e);
}

/* An owned tensor requiring a gradient, holding data. */
static LfTensor *
param_from (int ndim, const int64_t *shape, const LfReal *data)
{
  LfTensor *t = lf_param_new ("x", ndim, shape);
  memcpy (lf_tensor_data (t), data, (size_t) lf_tensor_numel (t) * sizeof (LfReal));
  return t;
}

static void
assert_values (LfTensor *t, const double *want, int64_t n, double tol)
{
  g_assert_cmpint (lf_tensor_numel (t), ==, n);
  for (int64_t i = 0; i < n; i++)
    {
      g_assert_false (isnan (lf_tensor_data (t)[i]));
      g_assert_cmpfloat (fabs (lf_tensor_data (t)[i] - want[i]), <=, tol);
    }
}

static void
assert_shape (LfTensor *t, int ndim, const int64_t *shape)
{
  g_assert_cmpint (lf_tensor_ndim (t), ==, ndim);
  for (int d = 0; d < ndim; d++)
    g_assert_cmpint (lf_tensor_dim (t, d), ==, shape[d]);
}

/* ---- binary ops: a naive reference -------------------------------------- */

typedef enum { OP_ADD, OP_SUB, OP_MUL } BinOp;

static const char *const bin_names[] = { "add", "sub", "mul" };

static LfTensor *
bin_apply (BinOp op, LfTensor *a, LfTensor *b)
{
  switch (op)
    {
    case OP_ADD: return lf_add (a, b);
    case OP_SUB: return lf_sub (a, b);
    default:     return lf_mul (a, b);
    }
}

static LfTensor *
bin_fn (LfTensor *const *in, void *ctx)
{
  return bin_apply (*(BinOp *) ctx, in[0], in[1]);
}

static void
pad (int ndim, const int64_t *shape, int64_t p[4])
{
  for (int d = 0; d < 4; d++)
    p[d] = d < 4 - ndim ? 1 : shape[d - (4 - ndim)];
}

/* The offset in a (padded shape p) of out coordinate i: broadcast axes
 * read index 0. */
static int64_t
offset_of (const int64_t p[4], const int64_t i[4])
{
  int64_t off = 0;
  for (int d = 0; d < 4; d++)
    off = off * p[d] + (p[d] == 1 ? 0 : i[d]);
  return off;
}

/* out = a op b by the definition of broadcasting, and the gradients of
 * sum(out * R) (R gc_project's weights) into a and b. */
static void
naive_binary (BinOp op, LfTensor *a, LfTensor *b, double *out, double *da, double *db)
{
  int64_t pa[4], pb[4], po[4];
  pad (lf_tensor_ndim (a), lf_tensor_shape (a), pa);
  pad (lf_tensor_ndim (b), lf_tensor_shape (b), pb);
  for (int d = 0; d < 4; d++)
    po[d] = MAX (pa[d], pb[d]);
  memset (da, 0, (size_t) lf_tensor_numel (a) * sizeof (double));
  memset (db, 0, (size_t) lf_tensor_numel (b) * sizeof (double));
  const LfReal *x = lf_tensor_data (a), *y = lf_tensor_data (b);
  int64_t k = 0, i[4];
  for (i[0] = 0; i[0] < po[0]; i[0]++)
    for (i[1] = 0; i[1] < po[1]; i[1]++)
      for (i[2] = 0; i[2] < po[2]; i[2]++)
        for (i[3] = 0; i[3] < po[3]; i[3]++, k++)
          {
            int64_t ia = offset_of (pa, i), ib = offset_of (pb, i);
            double w = lf_rng_uniform_at (77, (uint64_t) k) - 0.3;
            switch (op)
              {
              case OP_ADD: out[k] = x[ia] + y[ib]; da[ia] += w; db[ib] += w; break;
              case OP_SUB: out[k] = x[ia] - y[ib]; da[ia] += w; db[ib] -= w; break;
              case OP_MUL: out[k] = x[ia] * y[ib]; da[ia] += w * y[ib]; db[ib] += w * x[ia]; break;
              }
          }
}

/* Runs op forward and backward through gc_project and compares values and
 * both gradients with the naive loop. */
static void
check_against_naive (BinOp op, LfTensor *a, LfTensor *b, double tol)
{
  int64_t na = lf_tensor_numel (a), nb = lf_tensor_numel (b);
  lf_tensor_zero_grad (a);
  lf_tensor_zero_grad (b);
  lf_tape_push (TRUE);
  LfTensor *y = bin_apply (op, a, b);
  int64_t n = lf_tensor_numel (y);
  double *out = g_new (double, n), *da = g_new (double, na), *db = g_new (double, nb);
  naive_binary (op, a, b, out, da, db);
  for (int64_t i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (lf_tensor_data (y)[i], out[i], tol);
  lf_backward (gc_project (y));
  lf_tape_pop ();
  for (int64_t i = 0; i < na; i++)
    g_assert_cmpfloat_with_epsilon (lf_tensor_grad (a)[i], da[i], tol * MAX (1.0, fabs (da[i])));
  for (int64_t i = 0; i < nb; i++)
    g_assert_cmpfloat_with_epsilon (lf_tensor_grad (b)[i], db[i], tol * MAX (1.0, fabs (db[i])));
  g_free (out);
  g_free (da);
  g_free (db);
}

/* ---- binary ops: hand-computed values ------------------------------------ */

static void
test_add_values (void)
{
  int64_t s23[2] = { 2, 3 }, s3 = 3;
  LfReal av[6] = { 1, 2, 3, 4, 5, 6 }, bv[3] = { 10, 20, 30 };
  LfTensor *a = param_from (2, s23, av), *b = param_from (1, &s3, bv);
  lf_tape_push (FALSE);
  /* same shape */
  const double twice[6] = { 2, 4, 6, 8, 10, 12 };
  assert_values (lf_add (a, a), twice, 6, 0);
  /* (2, 3) + (3) and (3) + (2, 3): the row repeats */
  const double want[6] = { 11, 22, 33, 14, 25, 36 };
  LfTensor *y = lf_add (a, b);
  assert_shape (y, 2, s23);
  assert_values (y, want, 6, 0);
  y = lf_add (b, a);
  assert_shape (y, 2, s23);
  assert_values (y, want, 6, 0);
  lf_tape_pop ();
  lf_tensor_free (a);
  lf_tensor_free (b);
}

static void
test_sub_values (void)
{
  int64_t s23[2] = { 2, 3 }, s3 = 3, s1 = 1;
  LfReal av[6] = { 1, 2, 3, 4, 5, 6 }, bv[3] = { 10, 20, 30 }, cv = 0.5;
  LfTensor *a = param_from (2, s23, av), *b = param_from (1, &s3, bv), *c = param_from (1, &s1, &cv);
  lf_tape_push (FALSE);
  const double ab[6] = { -9, -18, -27, -6, -15, -24 }, ba[6] = { 9, 18, 27, 6, 15, 24 };
  assert_values (lf_sub (a, b), ab, 6, 0);
  assert_values (lf_sub (b, a), ba, 6, 0);
  /* a single element on either side */
  const double ac[6] = { 0.5, 1.5, 2.5, 3.5, 4.5, 5.5 }, ca[6] = { -0.5, -1.5, -2.5, -3.5, -4.5, -5.5 };
  assert_values (lf_sub (a, c), ac, 6, 0);
  assert_values (lf_sub (c, a), ca, 6, 0);
  lf_tape_pop ();
  lf_tensor_free (a);
  lf_tensor_free (b);
  lf_tensor_free (c);
}

static void
test_mul_values (void)
{
  /* (2, 1) * (1, 3): an outer product */
  int64_t s21[2] = { 2, 1 }, s13[2] = { 1, 3 }, s23[2] = { 2, 3 };
  LfReal cv[2] = { 1, 2 }, rv[3] = { 3, 4, 5 };
  LfTensor *col = param_from (2, s21, cv), *row = param_from (2, s13, rv);
  lf_tape_push (FALSE);
  const double outer[6] = { 3, 4, 5, 6, 8, 10 };
  LfTensor *y = lf_mul (col, row);
  assert_shape (y, 2, s23);
  assert_values (y, outer, 6, 0);
  y = lf_mul (row, col);
  assert_shape (y, 2, s23);
  assert_values (y, outer, 6, 0);
  /* (2, 3) * (2, 1): each row scaled */
  const double scaled[6] = { 3, 4, 5, 6, 8, 10 };
  LfTensor *m = lf_mul (row, lf_tensor_from_data (2, s21, (LfReal[]) { 1, 1 }));
  assert_values (lf_mul (m, col), scaled, 6, 0);
  lf_tape_pop ();
  lf_tensor_free (col);
  lf_tensor_free (row);
}

/* "add: shapes (2, 3) and (4) do not broadcast" is a programming error: the
 * message names the op and both shapes. */
static void
test_add_mismatch (void)
{
  if (g_test_subprocess ())
    {
      int64_t s23[2] = { 2, 3 }, s4 = 4;
      lf_add (lf_tensor_zeros (2, s23), lf_tensor_zeros (1, &s4));
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*add: shapes (2, 3) and (4) do not broadcast*");
}

static void
test_mul_mismatch (void)
{
  if (g_test_subprocess ())
    {
      int64_t s234[3] = { 2, 3, 4 }, s32[2] = { 3, 2 };
      lf_mul (lf_tensor_zeros (3, s234), lf_tensor_zeros (2, s32));
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*mul: shapes (2, 3, 4) and (3, 2) do not broadcast*");
}

/* ---- binary ops: every layout -------------------------------------------- */

typedef struct {
  const char *what;
  int na; int64_t sa[4];
  int nb; int64_t sb[4];
  int no; int64_t so[4];
} ShapePair;

static const ShapePair pairs[] = {
  { "same",            2, { 3, 4 },        2, { 3, 4 },          2, { 3, 4 } },
  { "(N,D)+(D)",       2, { 3, 4 },        1, { 4 },             2, { 3, 4 } },
  { "(D)+(N,D)",       1, { 4 },           2, { 3, 4 },          2, { 3, 4 } },
  { "(1,D)+(N,D)",     2, { 1, 4 },        2, { 3, 4 },          2, { 3, 4 } },
  { "(N,1)*(1,D)",     2, { 3, 1 },        2, { 1, 4 },          2, { 3, 4 } },
  { "(N,D)*(N,1)",     2, { 3, 4 },        2, { 3, 1 },          2, { 3, 4 } },
  { "(N,1)*(N,D)",     2, { 3, 1 },        2, { 3, 4 },          2, { 3, 4 } },
  { "(N,D)+(1)",       2, { 3, 4 },        1, { 1 },             2, { 3, 4 } },
  { "(1)+(N,D)",       1, { 1 },           2, { 3, 4 },          2, { 3, 4 } },
  { "(1)+(1)",         1, { 1 },           1, { 1 },             1, { 1 } },
  { "(D)+(1,1,D)",     1, { 4 },           3, { 1, 1, 4 },       3, { 1, 1, 4 } },
  { "(B,T,D)+(1,1,D)", 3, { 2, 3, 4 },     3, { 1, 1, 4 },       3, { 2, 3, 4 } },
  { "(B,T,D)+(T,1)",   3, { 2, 3, 4 },     2, { 3, 1 },          3, { 2, 3, 4 } },
  { "(B,1,D)+(T,D)",   3, { 2, 1, 4 },     2, { 3, 4 },          3, { 2, 3, 4 } },
  { "(1,T,1)*(B,1,D)", 3, { 1, 3, 1 },     3, { 2, 1, 4 },       3, { 2, 3, 4 } },
  { "(B,T,D)*(B,1,D)", 3, { 2, 3, 4 },     3, { 2, 1, 4 },       3, { 2, 3, 4 } },
  { "4d (A,B,C,D)+(C,D)", 4, { 2, 3, 4, 5 }, 2, { 4, 5 },        4, { 2, 3, 4, 5 } },
  { "4d (C,D)+(A,B,C,D)", 2, { 4, 5 },     4, { 2, 3, 4, 5 },    4, { 2, 3, 4, 5 } },
  { "4d (A,1,C,1)*(B,1,D)", 4, { 2, 1, 3, 1 }, 3, { 4, 1, 5 },   4, { 2, 4, 3, 5 } },
  { "4d (A,B,1,D)-(A,B,C,D)", 4, { 2, 3, 1, 5 }, 4, { 2, 3, 4, 5 }, 4, { 2, 3, 4, 5 } },
  { "4d (A,B,C,D)*(A,1,1,1)", 4, { 2, 3, 4, 5 }, 4, { 2, 1, 1, 1 }, 4, { 2, 3, 4, 5 } },
};

static void
test_broadcast_layouts (void)
{
  for (size_t p = 0; p < G_N_ELEMENTS (pairs); p++)
    for (BinOp op = OP_ADD; op <= OP_MUL; op++)
      {
        const ShapePair *sp = &pairs[p];
        LfTensor *in[2] = { gc_param (sp->na, sp->sa, 100 + p, -1, 1),
                            gc_param (sp->nb, sp->sb, 200 + p, -1, 1) };
        lf_tape_push (FALSE);
        assert_shape (bin_apply (op, in[0], in[1]), sp->no, sp->so);
        lf_tape_pop ();
        check_against_naive (op, in[0], in[1], 1e-12);
        char name[96];
        g_snprintf (name, sizeof name, "%s %s", bin_names[op], sp->what);
        check_grad (name, bin_fn, &op, 2, in);
        lf_tensor_free (in[0]);
        lf_tensor_free (in[1]);
      }
}

/* The finite-difference checks one op at a time, on the layouts a model
 * meets most: a bias row, its mirror, an outer product, a 3-D and a 4-D
 * broadcast, gradients into both operands. */
static void
gc_op_layouts (BinOp op)
{
  static const size_t picks[] = { 0, 1, 2, 4, 7, 12, 14, 16, 18 };
  for (size_t k = 0; k < G_N_ELEMENTS (picks); k++)
    {
      const ShapePair *sp = &pairs[picks[k]];
      LfTensor *in[2] = { gc_param (sp->na, sp->sa, 300 + k, -1.5, 1.5),
                          gc_param (sp->nb, sp->sb, 400 + k, -1.5, 1.5) };
      char name[96];
      g_snprintf (name, sizeof name, "%s %s", bin_names[op], sp->what);
      check_grad (name, bin_fn, &op, 2, in);
      /* both operands received a gradient */
      g_assert_nonnull (lf_tensor_grad (in[0]));
      g_assert_nonnull (lf_tensor_grad (in[1]));
      lf_tensor_free (in[0]);
      lf_tensor_free (in[1]);
    }
}

static void test_add_backward (void) { gc_op_layouts (OP_ADD); }
static void test_sub_backward (void) { gc_op_layouts (OP_SUB); }
static void test_mul_backward (void) { gc_op_layouts (OP_MUL); }

/* ---- one tensor used twice: gradients accumulate ------------------------- */

static LfTensor *square_fn (LfTensor *const *in, void *ctx) { (void) ctx; return lf_mul (in[0], in[0]); }
static LfTensor *twice_fn (LfTensor *const *in, void *ctx) { (void) ctx; return lf_add (in[0], in[0]); }
static LfTensor *diff_self_fn (LfTensor *const *in, void *ctx) { (void) ctx; return lf_sub (in[0], in[0]); }

/* b enters twice, through a repeated-row reduction each time, and after an
 * activation: b * (a + b) + exp(b) */
static LfTensor *
shared_row_fn (LfTensor *const *in, void *ctx)
{
  (void) ctx;
  return lf_add (lf_mul (in[1], lf_add (in[0], in[1])), lf_exp (in[1]));
}

/* x * x by hand: the gradient is 2 x R (R gc_project's weights). */
static void
test_mul_same_input (void)
{
  int64_t s[2] = { 3, 5 };
  LfTensor *x = gc_param (2, s, 31, -1, 1);
  lf_tape_push (TRUE);
  lf_backward (gc_project (lf_mul (x, x)));
  lf_tape_pop ();
  for (int64_t i = 0; i < 15; i++)
    {
      double w = lf_rng_uniform_at (77, (uint64_t) i) - 0.3;
      g_assert_cmpfloat_with_epsilon (lf_tensor_grad (x)[i], 2 * lf_tensor_data (x)[i] * w, 1e-14);
    }
  check_grad ("mul x*x", square_fn, NULL, 1, &x);
  check_grad ("add x+x", twice_fn, NULL, 1, &x);
  check_grad ("sub x-x", diff_self_fn, NULL, 1, &x);
  lf_tensor_free (x);
}

/* a single element s used twice, each time summed over all of a:
 * (a + s) * s - s */
static LfTensor *
shared_scalar_fn (LfTensor *const *in, void *ctx)
{
  (void) ctx;
  return lf_sub (lf_mul (lf_add (in[0], in[1]), in[1]), in[1]);
}

static void
test_shared_operand (void)
{
  int64_t sa[3] = { 2, 3, 4 }, sb = 4, s1 = 1;
  LfTensor *in[2] = { gc_param (3, sa, 41, -1, 1), gc_param (1, &sb, 42, -1, 1) };
  check_grad ("b * (a + b) + exp(b)", shared_row_fn, NULL, 2, in);
  lf_tensor_free (in[1]);
  in[1] = gc_param (1, &s1, 43, -1, 1);
  check_grad ("(a + s) * s - s", shared_scalar_fn, NULL, 2, in);
  lf_tensor_free (in[0]);
  lf_tensor_free (in[1]);
}

/* A frozen operand gets no gradient at all; the other one its full one. */
static void
test_frozen_operand (void)
{
  int64_t sa[2] = { 3, 4 }, sb = 4;
  for (BinOp op = OP_ADD; op <= OP_MUL; op++)
    {
      LfTensor *a = gc_param (2, sa, 51, -1, 1), *b = gc_param (1, &sb, 52, -1, 1);
      lf_tensor_set_requires_grad (b, FALSE);
      lf_tape_push (TRUE);
      LfTensor *y = bin_apply (op, a, b);
      g_assert_true (lf_tensor_requires_grad (y));
      lf_backward (gc_project (y));
      lf_tape_pop ();
      g_assert_null (lf_tensor_grad (b));
      g_assert_nonnull (lf_tensor_grad (a));
      /* both frozen: nothing is recorded */
      lf_tensor_set_requires_grad (a, FALSE);
      lf_tape_push (TRUE);
      g_assert_false (lf_tensor_requires_grad (bin_apply (op, a, b)));
      lf_tape_pop ();
      lf_tensor_free (a);
      lf_tensor_free (b);
    }
}

/* ---- thread counts --------------------------------------------------------- */

/* Big enough for the parallel paths (numel >= LF_PAR_MIN): every layout's
 * values and gradients match the naive loop, and are bitwise the same at
 * 1, 2 and 3 threads. */
static void
test_broadcast_threads (void)
{
  static const struct { int na; int64_t sa[3]; int nb; int64_t sb[3]; } big[] = {
    { 2, { 1024, 80 },    2, { 1024, 80 } },     /* flat           */
    { 2, { 1024, 80 },    1, { 80 } },           /* repeated row   */
    { 1, { 80 },          2, { 1024, 80 } },
    { 2, { 4, 40000 },    1, { 40000 } },        /* few long rows  */
    { 1, { 1 },           2, { 1024, 80 } },     /* single element */
    { 2, { 1024, 1 },     2, { 1, 80 } },        /* general        */
    { 3, { 8, 128, 80 },  3, { 8, 1, 80 } },
    { 2, { 1024, 80 },    2, { 1024, 1 } },
  };
  int keep = lf_get_threads ();
  for (size_t k = 0; k < G_N_ELEMENTS (big); k++)
    for (BinOp op = OP_ADD; op <= OP_MUL; op++)
      {
        LfTensor *a = gc_param (big[k].na, big[k].sa, 60 + k, -1, 1);
        LfTensor *b = gc_param (big[k].nb, big[k].sb, 70 + k, -1, 1);
        LfReal *ga = NULL, *gb = NULL, *y1 = NULL;
        for (int threads = 1; threads <= 3; threads++)
          {
            lf_set_threads (threads);
            if (threads == 1)
              check_against_naive (op, a, b, 1e-12);
            lf_tensor_zero_grad (a);
            lf_tensor_zero_grad (b);
            lf_tape_push (TRUE);
            LfTensor *y = bin_apply (op, a, b);
            lf_backward (gc_project (y));
            size_t ybytes = (size_t) lf_tensor_numel (y) * sizeof (LfReal);
            size_t abytes = (size_t) lf_tensor_numel (a) * sizeof (LfReal);
            size_t bbytes = (size_t) lf_tensor_numel (b) * sizeof (LfReal);
            if (threads == 1)
              {
                y1 = g_memdup2 (lf_tensor_data (y), ybytes);
                ga = g_memdup2 (lf_tensor_grad (a), abytes);
                gb = g_memdup2 (lf_tensor_grad (b), bbytes);
              }
            else
              {
                g_assert_cmpmem (lf_tensor_data (y), ybytes, y1, ybytes);
                g_assert_cmpmem (lf_tensor_grad (a), abytes, ga, abytes);
                g_assert_cmpmem (lf_tensor_grad (b), bbytes, gb, bbytes);
              }
            lf_tape_pop ();
          }
        g_free (y1);
        g_free (ga);
        g_free (gb);
        lf_tensor_free (a);
        lf_tensor_free (b);
      }
  lf_set_threads (keep);
}

/* ---- unary ops ------------------------------------------------------------- */

typedef LfTensor *(*UnFn) (LfTensor *);

static LfTensor *scale_fn (LfTensor *a) { return lf_scale (a, -2.5); }
static LfTensor *add_scalar_fn (LfTensor *a) { return lf_add_scalar (a, 0.75); }

typedef struct {
  const char *name;
  UnFn        fn;
  double      lo, hi;       /* |inputs| in [lo, hi), sign random unless positive */
  gboolean    positive;
  /* hand-computed values */
  int         n;
  double      x[5], y[5];
} UnaryCase;

static const UnaryCase unary_cases[] = {
  { "scale", scale_fn, 0, 2, FALSE, 3, { 1, -2, 0.4 }, { -2.5, 5, -1 } },
  { "add-scalar", add_scalar_fn, 0, 2, FALSE, 2, { 1, -2 }, { 1.75, -1.25 } },
  { "exp", lf_exp, 0, 1.5, FALSE, 4, { 0, 1, -1, 2 },
    { 1, 2.718281828459045, 0.36787944117144233, 7.38905609893065 } },
  { "log", lf_log, 0.3, 3, TRUE, 4, { 1, 2.718281828459045, 0.5, 10 },
    { 0, 1, -0.6931471805599453, 2.302585092994046 } },
  { "sqr", lf_sqr, 0, 2, FALSE, 3, { -3, 0.5, 2 }, { 9, 0.25, 4 } },
  /* away from the kink at 0 */
  { "relu", lf_relu, 0.1, 2, FALSE, 5, { -2, -0.5, 0, 0.5, 3 }, { 0, 0, 0, 0.5, 3 } },
  { "gelu", lf_gelu, 0, 3, FALSE, 4, { -1, 0, 1, 2 },
    { -0.15865525393145707, 0, 0.8413447460685429, 1.9544997361036416 } },
  { "silu", lf_silu, 0, 4, FALSE, 3, { -2, 0, 1 }, { -0.2384058440442351, 0, 0.7310585786300049 } },
  { "tanh", lf_tanh, 0, 2, FALSE, 3, { -0.5, 0, 1 }, { -0.46211715726000974, 0, 0.7615941559557649 } },
  { "sigmoid", lf_sigmoid, 0, 4, FALSE, 3, { -2, 0, 2 },
    { 0.11920292202211755, 0.5, 0.8807970779778823 } },
};

static void
test_unary_forward (gconstpointer data)
{
  const UnaryCase *c = data;
  int64_t n = c->n;
  LfReal x[5];
  for (int i = 0; i < c->n; i++)
    x[i] = c->x[i];
  lf_tape_push (FALSE);
  LfTensor *y = c->fn (lf_tensor_from_data (1, &n, x));
  assert_shape (y, 1, &n);
  for (int i = 0; i < c->n; i++)
    g_assert_cmpfloat_with_epsilon (lf_tensor_data (y)[i], c->y[i], 1e-15 * MAX (1.0, fabs (c->y[i])));
  lf_tape_pop ();
}

static LfTensor *
unary_gc_fn (LfTensor *const *in, void *ctx)
{
  const UnaryCase *c = ctx;
  return c->fn (in[0]);
}

/* |x| in [lo, hi) with a random sign (or positive), keyed by seed */
static LfTensor *
unary_input (const UnaryCase *c, int ndim, const int64_t *shape, uint64_t seed)
{
  LfTensor *t = gc_param (ndim, shape, seed, c->lo, c->hi);
  LfReal *v = lf_tensor_data (t);
  for (int64_t i = 0; i < lf_tensor_numel (t); i++)
    if (!c->positive && lf_rng_uniform_at (seed + 1000, (uint64_t) i) < 0.5)
      v[i] = -v[i];
  return t;
}

static void
test_unary_backward (gconstpointer data)
{
  const UnaryCase *c = data;
  int64_t s[3] = { 2, 3, 5 };
  LfTensor *x = unary_input (c, 3, s, 81);
  check_grad (c->name, unary_gc_fn, (gpointer) c, 1, &x);
  lf_tensor_free (x);
}

/* relu, silu and sigmoid at the ends of the range: no NaN, no inf; a NaN
 * passes through relu. */
static void
test_activation_extremes (void)
{
  int64_t n = 4;
  LfReal x[4] = { -1000, -100, 100, 1000 };
  lf_tape_push (FALSE);
  LfTensor *t = lf_tensor_from_data (1, &n, x);
  const double sig[4] = { 0, 3.7200759760208361e-44, 1, 1 };
  assert_values (lf_sigmoid (t), sig, 4, 1e-50);
  const double silu[4] = { 0, -3.7200759760208361e-42, 100, 1000 };
  assert_values (lf_silu (t), silu, 4, 1e-50);
  const double gelu[4] = { 0, 0, 100, 1000 };
  assert_values (lf_gelu (t), gelu, 4, 0);
  const double tanh_[4] = { -1, -1, 1, 1 };
  assert_values (lf_tanh (t), tanh_, 4, 0);
  LfReal nan = NAN;
  g_assert_true (isnan (lf_tensor_data (lf_relu (lf_tensor_from_data (1, (int64_t[]) { 1 }, &nan)))[0]));
  lf_tape_pop ();
}

/* The kink: relu's gradient at exactly 0 is 0, as in torch. */
static void
test_relu_kink (void)
{
  int64_t n = 3;
  LfTensor *x = param_from (1, &n, (LfReal[]) { -1, 0, 2 });
  lf_tape_push (TRUE);
  lf_backward (gc_project (lf_relu (x)));
  lf_tape_pop ();
  const double want[3] = { 0, 0, lf_rng_uniform_at (77, 2) - 0.3 };
  for (int i = 0; i < 3; i++)
    g_assert_cmpfloat (fabs (lf_tensor_grad (x)[i] - want[i]), <=, 1e-15);
  lf_tensor_free (x);
}

/* A chain that uses x three times, through different ops: every gradient
 * path adds into the same buffer. */
static LfTensor *
chain_fn (LfTensor *const *in, void *ctx)
{
  (void) ctx;
  LfTensor *x = in[0];
  return lf_sub (lf_mul (lf_tanh (x), lf_sigmoid (x)), lf_scale (lf_silu (x), 0.5));
}

static void
test_unary_chain (void)
{
  int64_t s[2] = { 4, 6 };
  LfTensor *x = gc_param (2, s, 91, -2, 2);
  check_grad ("tanh(x) * sigmoid(x) - silu(x) / 2", chain_fn, NULL, 1, &x);
  lf_tensor_free (x);
}

/* The unary backward passes in their parallel blocks: bitwise the same at 1
 * and 3 threads. */
static void
test_unary_threads (void)
{
  int64_t n = 100003;
  int keep = lf_get_threads ();
  for (size_t k = 0; k < G_N_ELEMENTS (unary_cases); k++)
    {
      const UnaryCase *c = &unary_cases[k];
      LfTensor *x = unary_input (c, 1, &n, 95 + k);
      LfReal *g1 = NULL, *y1 = NULL;
      for (int threads = 1; threads <= 3; threads += 2)
        {
          lf_set_threads (threads);
          lf_tensor_zero_grad (x);
          lf_tape_push (TRUE);
          LfTensor *y = c->fn (x);
          lf_backward (gc_project (y));
          size_t bytes = (size_t) n * sizeof (LfReal);
          if (threads == 1)
            {
              y1 = g_memdup2 (lf_tensor_data (y), bytes);
              g1 = g_memdup2 (lf_tensor_grad (x), bytes);
            }
          else
            {
              g_assert_cmpmem (lf_tensor_data (y), bytes, y1, bytes);
              g_assert_cmpmem (lf_tensor_grad (x), bytes, g1, bytes);
            }
          lf_tape_pop ();
        }
      g_free (y1);
      g_free (g1);
      lf_tensor_free (x);
    }
  lf_set_threads (keep);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops/add/values", test_add_values);
  g_test_add_func ("/ops/add/mismatch", test_add_mismatch);
  g_test_add_func ("/ops/add/backward", test_add_backward);
  g_test_add_func ("/ops/sub/values", test_sub_values);
  g_test_add_func ("/ops/sub/backward", test_sub_backward);
  g_test_add_func ("/ops/mul/values", test_mul_values);
  g_test_add_func ("/ops/mul/mismatch", test_mul_mismatch);
  g_test_add_func ("/ops/mul/backward", test_mul_backward);
  g_test_add_func ("/ops/mul/same-input", test_mul_same_input);
  g_test_add_func ("/ops/broadcast/layouts", test_broadcast_layouts);
  g_test_add_func ("/ops/broadcast/shared-operand", test_shared_operand);
  g_test_add_func ("/ops/broadcast/frozen", test_frozen_operand);
  g_test_add_func ("/ops/broadcast/threads", test_broadcast_threads);
  for (size_t k = 0; k < G_N_ELEMENTS (unary_cases); k++)
    {
      g_autofree char *fwd = g_strdup_printf ("/ops/%s/forward", unary_cases[k].name);
      g_autofree char *bwd = g_strdup_printf ("/ops/%s/backward", unary_cases[k].name);
      g_test_add_data_func (fwd, &unary_cases[k], test_unary_forward);
      g_test_add_data_func (bwd, &unary_cases[k], test_unary_backward);
    }
  g_test_add_func ("/ops/relu/kink", test_relu_kink);
  g_test_add_func ("/ops/activation/extremes", test_activation_extremes);
  g_test_add_func ("/ops/activation/chain", test_unary_chain);
  g_test_add_func ("/ops/activation/threads", test_unary_threads);
  int status = g_test_run ();
  if (!g_test_subprocess ())
    g_print ("# worst gradient-check error: %.3g\n", worst_error);
  return status;
}
