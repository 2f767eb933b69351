/* lifelong — the neural-network ops: softmax and log-softmax over the last
 * dim, layer normalisation, inverted dropout, and the losses (fused
 * softmax cross-entropy, mean squared error, Hinton distillation).
 *
 * Every op works on a (rows, cols) view of its input, with cols the last
 * dim.  Rows are independent, so row loops run in parallel; anything summed
 * across rows (a loss, the gradient of gamma) is summed in row order after
 * the parallel part, so results are bitwise the same at any thread count.
 * Row sums (a softmax's normaliser, a layernorm's variance) accumulate in
 * double: it costs nothing next to the exps, and keeps the float build's
 * losses honest for wide rows (a 32k vocabulary). */
#include "ops-private.h"

/* Rows of the (rows, cols) view; 0 when the last dim is empty. */
static inline int64_t
nn_rows (const LfTensor *t)
{
  int64_t cols = lf_last_dim (t);
  return cols > 0 ? t->numel / cols : 0;
}

/* Whether the op's output was recorded: only then is anything saved for the
 * backward (evaluation allocates nothing beyond the output). */
static inline gboolean
nn_recorded (const LfTensor *out)
{
  return (out->flags & LF_TF_REQUIRES_GRAD) != 0;
}


/* Row reductions keep NN_LANES independent partial results: a single
 * accumulator is a chain of dependent adds the compiler may not reorder
 * (no -ffast-math), 4 cycles an element; lanes vectorise.  The lanes are
 * combined in a fixed order, so a row's result does not depend on anything
 * but the row. */
#define NN_LANES 8

static inline double
lanes_total (const double *acc)
{
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static inline LfReal
row_max (const LfReal *x, int64_t n)
{
  LfReal acc[NN_LANES];
  int64_t j = 0;
  if (n >= NN_LANES)
    {
      for (int k = 0; k < NN_LANES; k++)
        acc[k] = x[k];
      for (j = NN_LANES; j + NN_LANES <= n; j += NN_LANES)
        for (int k = 0; k < NN_LANES; k++)
          acc[k] = x[j + k] > acc[k] ? x[j + k] : acc[k];
    }
  else
    for (int k = 0; k < NN_LANES; k++)
      acc[k] = x[0];
  LfReal m = acc[0];
  for (int k = 1; k < NN_LANES; k++)
    m = acc[k] > m ? acc[k] : m;
  for (; j < n; j++)
    m = x[j] > m ? x[j] : m;
  return m;
}

/* sum_j x[j] */
static inline double
row_sum (const LfReal *x, int64_t n)
{
  double acc[NN_LANES] = { 0 };
  int64_t j = 0;
  for (; j + NN_LANES <= n; j += NN_LANES)
    for (int k = 0; k < NN_LANES; k++)
      acc[k] += x[j + k];
  for (; j < n; j++)
    acc[0] += x[j];
  return lanes_total (acc);
}

/* sum_j x[j] y[j] */
static inline double
row_dot (const LfReal *x, const LfReal *y, int64_t n)
{
  double acc[NN_LANES] = { 0 };
  int64_t j = 0;
  for (; j + NN_LANES <= n; j += NN_LANES)
    for (int k = 0; k < NN_LANES; k++)
      acc[k] += (double) x[j + k] * y[j + k];
  for (; j < n; j++)
    acc[0] += (double) x[j] * y[j];
  return lanes_total (acc);
}

/* sum_j (x[j] - mu)^2 */
static inline double
row_sq_dev (const LfReal *x, double mu, int64_t n)
{
  double acc[NN_LANES] = { 0 };
  int64_t j = 0;
  for (; j + NN_LANES <= n; j += NN_LANES)
    for (int k = 0; k < NN_LANES; k++)
      {
        double d = x[j + k] - mu;
        acc[k] += d * d;
      }
  for (; j < n; j++)
    {
      double d = x[j] - mu;
      acc[0] += d * d;
    }
  return lanes_total (acc);
}

/* sum_j exp((x[j] - m) * scale), writing the terms to e when e is not NULL.
 * With m the row's max the largest term is 1: no overflow, and the sum is
 * at least 1, so its log is safe.  The exps dominate; a few lanes suffice
 * to keep the adds off the critical path. */
static inline double
row_exp_sum (const LfReal *x, LfReal m, LfReal scale, LfReal *e, int64_t n)
{
  double acc[NN_LANES] = { 0 };
  int64_t j = 0;
  if (e)
    {
      for (; j + NN_LANES <= n; j += NN_LANES)
        for (int k = 0; k < NN_LANES; k++)
          {
            e[j + k] = lf_expr ((x[j + k] - m) * scale);
            acc[k] += e[j + k];
          }
      for (; j < n; j++)
        {
          e[j] = lf_expr ((x[j] - m) * scale);
          acc[0] += e[j];
        }
    }
  else
    {
      for (; j + NN_LANES <= n; j += NN_LANES)
        for (int k = 0; k < NN_LANES; k++)
          acc[k] += lf_expr ((x[j + k] - m) * scale);
      for (; j < n; j++)
        acc[0] += lf_expr ((x[j] - m) * scale);
    }
  return lanes_total (acc);
}

/* ---- softmax, log-softmax ------------------------------------------------ */

/* The backward of both needs only the output, which the node holds: nothing
 * is saved. */

LfTensor *
lf_softmax (LfTensor *a)
{
  LfTensor *out = lf_node_new (LF_OP_SOFTMAX, a->ndim, a->shape, 1, &a);
  int64_t rows = nn_rows (a), cols = lf_last_dim (a);
  /* x, y: (rows, cols) */
#pragma omp parallel for schedule(static) if (rows * cols >= LF_PAR_MIN)
  for (int64_t r = 0; r < rows; r++)
    {
      const LfReal *x = a->data + r * cols;
      LfReal *y = out->data + r * cols;
      double s = row_exp_sum (x, row_max (x, cols), 1, y, cols);
      LfReal inv = (LfReal) (1.0 / s);
      for (int64_t j = 0; j < cols; j++)
        y[j] *= inv;
    }
  return out;
}

void
lf_softmax_backward (LfTensor *out)
{
  LfTensor *a = out->src[0];
  gboolean fresh;
  LfReal *da = lf_grad_acc (a, &fresh);
  if (!da)
    return;
  int64_t rows = nn_rows (a), cols = lf_last_dim (a);
  const LfReal *dout = lf_out_grad (out);
  /* dx = y * (dy - sum_j dy_j y_j) */
#pragma omp parallel for schedule(static) if (rows * cols >= LF_PAR_MIN)
  for (int64_t r = 0; r < rows; r++)
    {
      const LfReal *y = out->data + r * cols, *dy = dout + r * cols;
      LfReal *dx = da + r * cols;
      LfReal d = (LfReal) row_dot (dy, y, cols);
      LF_ACC_LOOP (cols, dx, fresh, j, y[j] * (dy[j] - d));
    }
}

LfTensor *
lf_log_softmax (LfTensor *a)
{
  LfTensor *out = lf_node_new (LF_OP_LOG_SOFTMAX, a->ndim, a->shape, 1, &a);
  int64_t rows = nn_rows (a), cols = lf_last_dim (a);
  /* x, y: (rows, cols); y = x - logsumexp(x) */
#pragma omp parallel for schedule(static) if (rows * cols >= LF_PAR_MIN)
  for (int64_t r = 0; r < rows; r++)
    {
      const LfReal *x = a->data + r * cols;
      LfReal *y = out->data + r * cols;
      /* (x - m) - log S rather than x - (m + log S): the first difference
       * is exact near the max, which keeps large logits accurate */
      LfReal m = row_max (x, cols);
      LfReal ls = (LfReal) log (row_exp_sum (x, m, 1, NULL, cols));
      for (int64_t j = 0; j < cols; j++)
        y[j] = (x[j] - m) - ls;
    }
  return out;
}

void
lf_log_softmax_backward (LfTensor *out)
{
  LfTensor *a = out->src[0];
  gboolean fresh;
  LfReal *da = lf_grad_acc (a, &fresh);
  if (!da)
    return;
  int64_t rows = nn_rows (a), cols = lf_last_dim (a);
  const LfReal *dout = lf_out_grad (out);
  /* dx = dy - softmax(x) * sum_j dy_j, and softmax(x) = exp(y) */
#pragma omp parallel for schedule(static) if (rows * cols >= LF_PAR_MIN)
  for (int64_t r = 0; r < rows; r++)
    {
      const LfReal *y = out->data + r * cols, *dy = dout + r * cols;
      LfReal *dx = da + r * cols;
      LfReal s = (LfReal) row_sum (dy, cols);
      LF_ACC_LOOP (cols, dx, fresh, j, dy[j] - lf_expr (y[j]) * s);
    }
}

/* ---- layer normalisation -------------------------------------------------- */

/* fp[0] = eps; aux: mean (rows) then rstd (rows), saved when recorded.
 * The variance is the biased one, as in torch and every transformer. */

LfTensor *
lf_layernorm (LfTensor *x, LfTensor *gamma, LfTensor *beta, double eps)
{
  int64_t D = lf_last_dim (x), rows = nn_rows (x);
  lf_check (gamma == NULL || gamma->numel == D,
            "layernorm: gamma has %" G_GINT64_FORMAT " values, the input's last dim is %" G_GINT64_FORMAT,
            gamma->numel, D);
  lf_check (beta == NULL || beta->numel == D,
            "layernorm: beta has %" G_GINT64_FORMAT " values, the input's last dim is %" G_GINT64_FORMAT,
            beta->numel, D);
  lf_check (eps >= 0, "layernorm: eps must not be negative (%g)", eps);
  LfTensor *src[3] = { x, gamma, beta };
  LfTensor *out = lf_node_new (LF_OP_LAYERNORM, x->ndim, x->shape, 3, src);
  out->fp[0] = eps;
  LfReal *mean = NULL, *rstd = NULL;
  if (nn_recorded (out))
    {
      mean = lf_arena_alloc ((size_t) (2 * rows > 0 ? 2 * rows : 1) * sizeof (LfReal));
      rstd = mean + rows;
      out->aux = mean;
    }
  const LfReal *g = gamma ? gamma->data : NULL, *b = beta ? beta->data : NULL;
  /* x, y: (rows, D); gamma, beta: (D) */
#pragma omp parallel for schedule(static) if (rows * D >= LF_PAR_MIN)
  for (int64_t r = 0; r < rows; r++)
    {
      const LfReal *xr = x->data + r * D;
      LfReal *y = out->data + r * D;
      /* two passes: the mean, then the variance around it, which does not
       * cancel catastrophically as E[x^2] - E[x]^2 would */
      double mu = row_sum (xr, D) / D, v = row_sq_dev (xr, mu, D);
      LfReal m = (LfReal) mu, rs = (LfReal) (1.0 / sqrt (v / D + eps));
      if (mean)
        {
          mean[r] = m;
          rstd[r] = rs;
        }
      if (g && b)
        for (int64_t j = 0; j < D; j++)
          y[j] = (xr[j] - m) * rs * g[j] + b[j];
      else if (g)
        for (int64_t j = 0; j < D; j++)
          y[j] = (xr[j] - m) * rs * g[j];
      else if (b)
        for (int64_t j = 0; j < D; j++)
          y[j] = (xr[j] - m) * rs + b[j];
      else
        for (int64_t j = 0; j < D; j++)
          y[j] = (xr[j] - m) * rs;
    }
  return out;
}

/* sum_j (double) (dy_j g_j) (x_j - m), g NULL meaning 1.  A pass of its
 * own: fused with the plain sum of dy g, the compiler no longer vectorises
 * either, and a row is in cache for the second pass anyway. */
static inline double
ln_row_dot_centered (const LfReal *dy, const LfReal *g, const LfReal *x, LfReal m, int64_t D)
{
  double acc[NN_LANES] = { 0 };
  int64_t j = 0;
  if (g)
    {
      for (; j + NN_LANES <= D; j += NN_LANES)
        for (int k = 0; k < NN_LANES; k++)
          acc[k] += (double) (dy[j + k] * g[j + k]) * (x[j + k] - m);
      for (; j < D; j++)
        acc[0] += (double) (dy[j] * g[j]) * (x[j] - m);
    }
  else
    {
      for (; j + NN_LANES <= D; j += NN_LANES)
        for (int k = 0; k < NN_LANES; k++)
          acc[k] += (double) dy[j + k] * (x[j + k] - m);
      for (; j < D; j++)
        acc[0] += (double) dy[j] * (x[j] - m);
    }
  return lanes_total (acc);
}

/* The gamma and beta gradients are sums over rows.  Rows are cut into at
 * most LN_CHUNKS chunks (fewer for wide rows, to bound the partials to
 * LN_PARTIAL doubles), a function of the shape alone; each chunk sums
 * its rows in order into its own partial row (while it computes dx, so x and
 * dy are read once), and the partials are added in chunk order: the same
 * result at any thread count. */
#define LN_CHUNKS  32
#define LN_PARTIAL ((int64_t) 1 << 18)

void
lf_layernorm_backward (LfTensor *out)
{
  LfTensor *x = out->src[0], *gamma = out->src[1], *beta = out->src[2];
  int64_t D = lf_last_dim (x), rows = nn_rows (x);
  if (rows == 0)
    return;
  const LfReal *mean = out->aux, *rstd = mean + rows;
  const LfReal *dout = lf_out_grad (out);
  const LfReal *g = gamma ? gamma->data : NULL;
  gboolean fresh_x, fresh_g, fresh_b;
  LfReal *dx = lf_grad_acc (x, &fresh_x);
  LfReal *dg = lf_grad_acc (gamma, &fresh_g);
  LfReal *db = lf_grad_acc (beta, &fresh_b);
  if (!dx && !dg && !db)
    return;
  int64_t nchunks = MIN (MIN (rows, LN_CHUNKS), MAX (1, LN_PARTIAL / D)), per = (rows + nchunks - 1) / nchunks;
  nchunks = (rows + per - 1) / per;
  /* partials: (nchunks, D) each, in double */
  double *pg = dg ? g_new0 (double, nchunks * D) : NULL;
  double *pb = db ? g_new0 (double, nchunks * D) : NULL;
#pragma omp parallel for schedule(static) if (rows * D >= LF_PAR_MIN)
  for (int64_t c = 0; c < nchunks; c++)
    {
      double *ag = pg ? pg + c * D : NULL, *ab = pb ? pb + c * D : NULL;
      for (int64_t r = c * per; r < MIN (rows, (c + 1) * per); r++)
        {
          const LfReal *xr = x->data + r * D, *dy = dout + r * D;
          LfReal m = mean[r], rs = rstd[r];
          if (dx)
            {
              /* With xhat = (x - mean) rstd and dxhat = dy * gamma:
               *   dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) */
              LfReal *dxr = dx + r * D;
              double s1 = g ? row_dot (dy, g, D) : row_sum (dy, D);
              double s2 = ln_row_dot_centered (dy, g, xr, m, D);
              LfReal a = (LfReal) (s1 / D), k = (LfReal) (s2 * rs / D) * rs * rs;
              if (g)
                LF_ACC_LOOP (D, dxr, fresh_x, j, rs * (dy[j] * g[j] - a) - (xr[j] - m) * k);
              else
                LF_ACC_LOOP (D, dxr, fresh_x, j, rs * (dy[j] - a) - (xr[j] - m) * k);
            }
          /* dgamma += dy xhat, dbeta += dy */
          if (ag)
            for (int64_t j = 0; j < D; j++)
              ag[j] += (double) dy[j] * ((xr[j] - m) * rs);
          if (ab)
            for (int64_t j = 0; j < D; j++)
              ab[j] += dy[j];
        }
    }
  for (int pass = 0; pass < 2; pass++)
    {
      double *part = pass == 0 ? pg : pb;
      LfReal *grad = pass == 0 ? dg : db;
      if (!part)
        continue;
      for (int64_t c = 1; c < nchunks; c++)
        for (int64_t j = 0; j < D; j++)
          part[j] += part[c * D + j];
      LF_ACC_LOOP (D, grad, pass == 0 ? fresh_g : fresh_b, j, (LfReal) part[j]);
      g_free (part);
    }
}

/* ---- dropout --------------------------------------------------------------- */

/* fp[0] = 1 / (1 - p); aux: the keep mask (one byte per element), saved when
 * recorded.  Element i is kept when lf_rng_uniform_at (seed, i) >= p: the
 * mask is a function of the seed and the element's index alone, so it does
 * not depend on the thread count or on what ran before. */

LfTensor *
lf_dropout (LfTensor *x, double p, uint64_t seed)
{
  lf_check (p >= 0 && p < 1, "dropout: p must be in [0, 1), got %g", p);
  if (p == 0)
    return x;
  LfTensor *out = lf_node_new (LF_OP_DROPOUT, x->ndim, x->shape, 1, &x);
  LfReal scale = (LfReal) (1.0 / (1.0 - p));
  out->fp[0] = scale;
  uint8_t *mask = NULL;
  if (nn_recorded (out))
    out->aux = mask = lf_arena_alloc ((size_t) x->numel);
  int64_t n = x->numel;
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
  for (int64_t i = 0; i < n; i++)
    {
      gboolean keep = lf_rng_uniform_at (seed, (uint64_t) i) >= p;
      if (mask)
        mask[i] = (uint8_t) keep;
      out->data[i] = keep ? x->data[i] * scale : 0;
    }
  return out;
}

void
lf_dropout_backward (LfTensor *out)
{
  LfTensor *x = out->src[0];
  gboolean fresh;
  LfReal *dx = lf_grad_acc (x, &fresh);
  if (!dx)
    return;
  const uint8_t *mask = out->aux;
  const LfReal *dy = lf_out_grad (out);
  LfReal scale = (LfReal) out->fp[0];
  int64_t n = x->numel;
  LF_ACC_LOOP_PAR (n, dx, fresh, i, dy[i] * (mask[i] * scale));
}

/* ---- cross-entropy ------------------------------------------------------- */

/* fp[0] = label smoothing s.  aux: the softmax probabilities (N, C); aux2:
 * CeSaved.  Both saved when recorded, so the backward is a single pass:
 *   dlogits_i = (p_i - target_i) * w_i / W * dout
 * with target_i = (1 - s) onehot(y_i) + s / C.  The labels are copied with
 * ignored rows as -1, and w_i / W folded into one coefficient per row (0 for
 * ignored rows, and everywhere when no row counts). */
typedef struct {
  LfReal  *coef;     /* (N) w_i / W */
  int32_t *label;    /* (N) class, or -1 for an ignored row */
} CeSaved;

LfTensor *
lf_cross_entropy (LfTensor *logits, const int32_t *labels, const LfCrossEntropyOptions *opts)
{
  int64_t C = lf_last_dim (logits), N = nn_rows (logits);
  lf_check (C > 0, "cross_entropy: the logits have no classes");
  int32_t ignore = opts ? opts->ignore_index : -100;
  double s = opts ? opts->label_smoothing : 0;
  const LfReal *weights = opts ? opts->weights : NULL;
  lf_check (s >= 0 && s < 1, "cross_entropy: label_smoothing must be in [0, 1), got %g", s);

  /* Serial pre-pass: check the labels and find W = sum of the weights of
   * the rows that count, in row order. */
  double W = 0;
  int64_t counted = 0;
  for (int64_t i = 0; i < N; i++)
    {
      if (labels[i] == ignore)
        continue;
      lf_check (labels[i] >= 0 && labels[i] < C,
                "cross_entropy: label %" G_GINT32_FORMAT " of row %" G_GINT64_FORMAT
                " is outside [0, %" G_GINT64_FORMAT ") and is not ignore_index (%" G_GINT32_FORMAT ")",
                labels[i], i, C, ignore);
      W += weights ? weights[i] : 1.0;
      counted++;
    }
  gboolean none = counted == 0 || W == 0;

  LfTensor *out = lf_node_new (LF_OP_CROSS_ENTROPY, 1, (int64_t[]) { 1 }, 1, &logits);
  out->fp[0] = s;
  LfReal *probs = NULL;
  if (nn_recorded (out))
    {
      probs = lf_arena_alloc ((size_t) (N * C) * sizeof (LfReal));
      CeSaved *sv = lf_arena_alloc (sizeof (CeSaved));
      sv->coef = lf_arena_alloc ((size_t) N * sizeof (LfReal));
      sv->label = lf_arena_alloc ((size_t) N * sizeof (int32_t));
      for (int64_t i = 0; i < N; i++)
        {
          gboolean skip = labels[i] == ignore;
          sv->label[i] = skip ? -1 : labels[i];
          sv->coef[i] = skip || none ? 0 : (LfReal) ((weights ? weights[i] : 1.0) / W);
        }
      out->aux = probs;
      out->aux2 = sv;
    }
  if (none)
    {
      out->data[0] = 0;
      return out;
    }

  /* Per-row losses in parallel; ignored rows cost nothing.  With
   * lse = logsumexp(x_i):
   *   l_i = -sum_j target_j log p_j = lse - (1 - s) x_iy - s mean_j x_ij */
  double *row_loss = g_new (double, N);
#pragma omp parallel for schedule(static) if (N * C >= LF_PAR_MIN)
  for (int64_t i = 0; i < N; i++)
    {
      if (labels[i] == ignore)
        {
          row_loss[i] = 0;
          continue;
        }
      const LfReal *x = logits->data + i * C;
      LfReal m = row_max (x, C);
      LfReal *p = probs ? probs + i * C : NULL;
      double S = row_exp_sum (x, m, 1, p, C);
      double lse = m + log (S);
      double l = lse - (1 - s) * x[labels[i]];
      if (s > 0)
        l -= s * row_sum (x, C) / C;
      row_loss[i] = l;
      if (p)
        {
          LfReal inv = (LfReal) (1.0 / S);
          for (int64_t j = 0; j < C; j++)
            p[j] *= inv;
        }
    }
  double total = 0;
  for (int64_t i = 0; i < N; i++)
    if (labels[i] != ignore)
      total += (weights ? weights[i] : 1.0) * row_loss[i];
  g_free (row_loss);
  out->data[0] = (LfReal) (total / W);
  return out;
}

void
lf_cross_entropy_backward (LfTensor *out)
{
  LfTensor *logits = out->src[0];
  gboolean fresh;
  LfReal *dx = lf_grad_acc (logits, &fresh);
  if (!dx)
    return;
  int64_t C = lf_last_dim (logits), N = nn_rows (logits);
  const CeSaved *sv = out->aux2;
  const LfReal *probs = out->aux;
  LfReal dout = lf_out_grad (out)[0];
  LfReal s = (LfReal) out->fp[0], sc = s / (LfReal) C;
  /* dx, probs: (N, C) */
#pragma omp parallel for schedule(static) if (N * C >= LF_PAR_MIN)
  for (int64_t i = 0; i < N; i++)
    {
      LfReal *d = dx + i * C;
      if (sv->label[i] < 0 || sv->coef[i] == 0)
        {
          /* an ignored (or weightless) row: its probabilities may not even
           * have been computed */
          if (fresh)
            memset (d, 0, (size_t) C * sizeof (LfReal));
          continue;
        }
      const LfReal *p = probs + i * C;
      LfReal k = sv->coef[i] * dout;
      LF_ACC_LOOP (C, d, fresh, j, k * (p[j] - sc));
      d[sv->label[i]] -= k * (1 - s);
    }
}

/* ---- mean squared error --------------------------------------------------- */

/* sum_i (a_i - b_i)^2 in fixed chunks combined in chunk order, as
 * lf_sum_chunked does: the same at any thread count. */
static double
sq_diff_chunked (const LfReal *a, const LfReal *b, int64_t n)
{
  int64_t nchunks = (n + LF_SUM_CHUNK - 1) / LF_SUM_CHUNK;
  double *part = g_new (double, nchunks > 0 ? nchunks : 1);
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
  for (int64_t c = 0; c < nchunks; c++)
    {
      int64_t lo = c * LF_SUM_CHUNK, hi = MIN (n, lo + LF_SUM_CHUNK);
      double s = 0;
      for (int64_t i = lo; i < hi; i++)
        {
          double d = (double) a[i] - b[i];
          s += d * d;
        }
      part[c] = s;
    }
  double s = 0;
  for (int64_t c = 0; c < nchunks; c++)
    s += part[c];
  g_free (part);
  return s;
}

LfTensor *
lf_mse (LfTensor *a, LfTensor *b)
{
  lf_check (lf_tensor_same_shape (a, b), "mse: the operands' shapes differ");
  LfTensor *src[2] = { a, b };
  LfTensor *out = lf_node_new (LF_OP_MSE, 1, (int64_t[]) { 1 }, 2, src);
  int64_t n = a->numel;
  out->data[0] = n > 0 ? (LfReal) (sq_diff_chunked (a->data, b->data, n) / n) : 0;
  return out;
}

void
lf_mse_backward (LfTensor *out)
{
  LfTensor *a = out->src[0], *b = out->src[1];
  int64_t n = a->numel;
  if (n == 0)
    return;
  /* d/da = 2 (a - b) / n, d/db = -2 (a - b) / n; both read the inputs, so
   * lf_mse (a, a) accumulates into one buffer correctly */
  LfReal k = 2 * lf_out_grad (out)[0] / (LfReal) n;
  const LfReal *av = a->data, *bv = b->data;
  gboolean fresh;
  LfReal *da = lf_grad_acc (a, &fresh);
  if (da)
    LF_ACC_LOOP_PAR (n, da, fresh, i, k * (av[i] - bv[i]));
  LfReal *db = lf_grad_acc (b, &fresh);
  if (db)
    LF_ACC_LOOP_PAR (n, db, fresh, i, k * (bv[i] - av[i]));
}

/* ---- distillation ---------------------------------------------------------- */

/* The teacher is read in the forward and never recorded as a source: no
 * gradient can reach it, and a teacher from an outer scope (or a frozen
 * snapshot) never keeps anything alive.  fp[0] = T; aux: the (N, C)
 * difference softmax(s/T) - softmax(t/T), saved when recorded, which is all
 * the backward needs:
 *   d/ds [T^2/N sum_i KL_i] = T/N (softmax(s/T) - softmax(t/T)) */

LfTensor *
lf_distill_kl (LfTensor *student, LfTensor *teacher, double temperature)
{
  lf_check (lf_tensor_same_shape (student, teacher), "distill_kl: student and teacher shapes differ");
  lf_check (temperature > 0, "distill_kl: the temperature must be positive, got %g", temperature);
  int64_t C = lf_last_dim (student), N = nn_rows (student);
  lf_check (C > 0, "distill_kl: the logits have no classes");
  LfTensor *out = lf_node_new (LF_OP_DISTILL_KL, 1, (int64_t[]) { 1 }, 1, &student);
  out->fp[0] = temperature;
  LfReal *diff = NULL;
  if (nn_recorded (out))
    out->aux = diff = lf_arena_alloc ((size_t) (N * C) * sizeof (LfReal));
  LfReal invT = (LfReal) (1.0 / temperature);
  double *row_kl = g_new (double, N > 0 ? N : 1);
#pragma omp parallel if (N * C >= LF_PAR_MIN)
  {
    /* per-thread rows for the two exponentials */
    LfReal *es = g_new (LfReal, 2 * C), *et = es + C;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < N; i++)
      {
        const LfReal *xs = student->data + i * C, *xt = teacher->data + i * C;
        LfReal ms = row_max (xs, C), mt = row_max (xt, C);
        double Ss = row_exp_sum (xs, ms, invT, es, C);
        double St = row_exp_sum (xt, mt, invT, et, C);
        /* KL = sum_j pt_j (log pt_j - log ps_j), with
         * log p_j = (x_j - m) / T - log S: the logs never see a zero */
        double dl = log (Ss) - log (St), kl = 0;
        LfReal is = (LfReal) (1.0 / Ss), it = (LfReal) (1.0 / St);
        for (int64_t j = 0; j < C; j++)
          {
            LfReal pt = et[j] * it;
            kl += pt * (((double) (xt[j] - mt) - (double) (xs[j] - ms)) * invT + dl);
          }
        row_kl[i] = kl;
        if (diff)
          {
            LfReal *d = diff + i * C;
            for (int64_t j = 0; j < C; j++)
              d[j] = es[j] * is - et[j] * it;
          }
      }
    g_free (es);
  }
  double total = 0;
  for (int64_t i = 0; i < N; i++)
    total += row_kl[i];
  g_free (row_kl);
  out->data[0] = N > 0 ? (LfReal) (temperature * temperature * total / N) : 0;
  return out;
}

void
lf_distill_kl_backward (LfTensor *out)
{
  LfTensor *student = out->src[0];
  gboolean fresh;
  LfReal *ds = lf_grad_acc (student, &fresh);
  if (!ds)
    return;
  int64_t n = student->numel, N = nn_rows (student);
  if (N == 0)
    return;
  const LfReal *diff = out->aux;
  LfReal k = lf_out_grad (out)[0] * (LfReal) (out->fp[0] / N);
  LF_ACC_LOOP_PAR (n, ds, fresh, i, k * diff[i]);
}
