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

/* ---- exact per-sample sums in batches ---------------------------------------- */

typedef struct PsRun PsRun;

/* One hooked plain linear. */
typedef struct {
  PsRun    *run;
  LfModule *mod;
  LfTensor *w, *b;        /* the linear's parameters (b may be NULL)           */
  int       wi, bi;       /* their index in imp, -1 when imp does not hold them */
  guint     hook;
  /* per batch */
  int       calls;        /* forward calls while capturing                     */
  gboolean  ok;           /* one call, recorded LINEAR node on (rows, in)      */
  LfTensor *x, *y, *id;   /* its input, its raw output, the identity after it  */
  LfReal   *delta;        /* dL/dy (rows, out), kept by the identity's backward */
  gboolean  has_delta;
  int       y_uses;       /* recorded consumers of y on the loss's graph       */
  gboolean  y_foreign;    /* one of them is not the identity                   */
} PsCapture;

struct PsRun {
  gboolean  active;       /* hooks capture (the batched pass only)             */
  int64_t   rows;         /* samples in the batch                              */
};

static void
ps_identity_forward (void *ctx, int n_inputs, LfTensor *const *inputs, LfTensor *out)
{
  (void) ctx; (void) n_inputs;
  memcpy (out->data, inputs[0]->data, (size_t) out->numel * sizeof (LfReal));
}

static void
ps_identity_backward (void *ctx, int n_inputs, LfTensor *const *inputs, LfTensor *out,
                      const LfReal *out_grad, LfReal *const *in_grads)
{
  (void) n_inputs; (void) inputs;
  PsCapture *c = ctx;
  memcpy (c->delta, out_grad, (size_t) out->numel * sizeof (LfReal));
  c->has_delta = TRUE;
  if (in_grads[0])
    for (int64_t i = 0; i < out->numel; i++)
      in_grads[0][i] += out_grad[i];
}

static const LfCustomOp ps_identity_op = {
  .struct_size = sizeof (LfCustomOp),
  .name = "per_sample_capture",
  .forward = ps_identity_forward,
  .backward = ps_identity_backward,
};

static LfTensor *
ps_post_hook (LfModule *m, LfTensor *x, LfTensor *y, LfForward *fwd, void *user)
{
  (void) m; (void) fwd;
  PsCapture *c = user;
  if (!c->run->active)
    return y;
  if (++c->calls > 1)
    {
      c->ok = FALSE;
      return y;
    }
  /* the raw linear of exactly this module's weight and bias, recorded, on
   * one row per sample (the post-hook sees the input the class's forward
   * got, after any pre-hooks; earlier post-hooks may have replaced y) */
  if (!lf_tape_recording () || y->op != LF_OP_LINEAR || !(y->flags & LF_TF_REQUIRES_GRAD)
      || y->src[0] != x || y->src[1] != c->w || y->src[2] != c->b
      || x->ndim != 2 || x->shape[0] != c->run->rows || y->ndim != 2)
    return y;
  c->ok = TRUE;
  c->x = x;
  c->y = y;
  c->delta = lf_scope_alloc ((size_t) y->numel * sizeof (LfReal));
  c->has_delta = FALSE;
  c->id = lf_custom (&ps_identity_op, c, 1, &y, y->ndim, y->shape);
  return c->id;
}

/* What the batched pass knows of one parameter of imp. */
typedef struct {
  int        uses;        /* recorded consumers on the loss's graph        */
  gboolean   foreign;     /* a consumer that is not its captured linear    */
  PsCapture *cap;         /* the captured linear that uses it              */
} PsParam;

/* Walks the loss's recorded graph (the nodes a backward of this scope
 * visits) and fills pp[] and the captures' use counts.  Returns FALSE when
 * the graph holds a custom op other than the captures. */
static gboolean
ps_analyse (LfTensor *loss, GHashTable *param_index, GHashTable *by_y, GHashTable *by_id, PsParam *pp)
{
  gboolean clean = TRUE;
  if (!(loss->flags & LF_TF_REQUIRES_GRAD) || loss->op == LF_OP_NONE)
    return TRUE;
  g_autoptr (GHashTable) seen = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr (GPtrArray) stack = g_ptr_array_new ();
  g_ptr_array_add (stack, loss);
  g_hash_table_add (seen, loss);
  while (stack->len > 0)
    {
      LfTensor *n = g_ptr_array_steal_index_fast (stack, stack->len - 1);
      if (n->op == LF_OP_CUSTOM && !g_hash_table_contains (by_id, n))
        clean = FALSE;
      PsCapture *self = n->op == LF_OP_LINEAR ? g_hash_table_lookup (by_y, n) : NULL;
      for (int j = 0; j < LF_MAX_SRC; j++)
        {
          LfTensor *s = n->src[j];
          if (s == NULL || !(s->flags & LF_TF_REQUIRES_GRAD))
            continue;
          if (s->flags & LF_TF_OWNED)
            {
              gpointer v;
              if (!g_hash_table_lookup_extended (param_index, s, NULL, &v))
                continue;
              PsParam *p = &pp[GPOINTER_TO_INT (v)];
              p->uses++;
              if (self && self->ok && ((j == 1 && s == self->w) || (j == 2 && s == self->b)))
                p->cap = self;
              else
                p->foreign = TRUE;
              continue;
            }
          PsCapture *c = g_hash_table_lookup (by_y, s);
          if (c)
            {
              c->y_uses++;
              if (n != c->id)
                c->y_foreign = TRUE;
            }
          /* gradients flow only into nodes of the scope being differentiated */
          if (s->op != LF_OP_NONE && s->scope == loss->scope && !g_hash_table_contains (seen, s))
            {
              g_hash_table_add (seen, s);
              g_ptr_array_add (stack, s);
            }
        }
    }
  return clean;
}

/* accw (out, in) += weight * f(delta)^T f(a) and accb (out) += weight *
 * sum_r f(delta_r) (in row order), f = square or |.|, over the batch's
 * rows; either may be NULL. */
static void
ps_accumulate (PsCapture *c, LfImportanceKind kind, LfReal weight, LfReal *accw, LfReal *accb)
{
  const int64_t rows = c->x->shape[0], in = c->x->shape[1], out = c->y->shape[1];
  LfReal *fd = lf_scope_alloc ((size_t) (rows * out) * sizeof (LfReal));
  const LfReal *d = c->delta;
  for (int64_t i = 0; i < rows * out; i++)
    fd[i] = kind == LF_IMPORTANCE_SQUARED ? d[i] * d[i] : lf_fabsr (d[i]);
  if (accw)
    {
      LfReal *fa = lf_scope_alloc ((size_t) (rows * in) * sizeof (LfReal));
      const LfReal *a = c->x->data;
      for (int64_t i = 0; i < rows * in; i++)
        fa[i] = kind == LF_IMPORTANCE_SQUARED ? a[i] * a[i] : lf_fabsr (a[i]);
      lf_gemm (TRUE, FALSE, out, in, rows, weight, fd, out, fa, in, 1, accw, in);
    }
  if (accb)
    for (int64_t o = 0; o < out; o++)
      {
        LfReal s = 0;
        for (int64_t r = 0; r < rows; r++)
          s += fd[r * out + o];
        accb[o] += weight * s;
      }
}

static void
ps_add_grads (LfImportance *imp, LfImportanceKind kind, int n, const int *idx, LfReal *const *grads, LfReal w)
{
  for (int j = 0; j < n; j++)
    {
      LfReal *a = imp->acc[idx[j]]->data;
      const LfReal *g = grads[j];
      const int64_t m = imp->acc[idx[j]]->numel;
      if (kind == LF_IMPORTANCE_SQUARED)
        {
#pragma omp parallel for simd schedule(static) if (m >= LF_PAR_MIN)
          for (int64_t k = 0; k < m; k++)
            a[k] += w * (g[k] * g[k]);
        }
      else
        {
#pragma omp parallel for simd schedule(static) if (m >= LF_PAR_MIN)
          for (int64_t k = 0; k < m; k++)
            a[k] += w * lf_fabsr (g[k]);
        }
    }
}

int64_t
lf_importance_add_per_sample (LfImportance *imp, LfModule *root, LfImportanceKind kind,
                              int64_t n, int64_t batch_size, LfSampleLossFn loss, void *user, double weight)
{
  g_return_val_if_fail (imp != NULL && root != NULL && loss != NULL, 0);
  g_return_val_if_fail (kind == LF_IMPORTANCE_SQUARED || kind == LF_IMPORTANCE_ABSOLUTE, 0);
  g_return_val_if_fail (n >= 0 && batch_size >= 1, 0);
  if (n == 0 || imp->n == 0)
    return 0;
  const LfReal w = (LfReal) weight;
  PsRun run = { 0 };
  g_autoptr (GHashTable) param_index = g_hash_table_new (g_direct_hash, g_direct_equal);
  for (int i = 0; i < imp->n; i++)
    g_hash_table_insert (param_index, imp->params[i], GINT_TO_POINTER (i));
  /* hook every plain linear that holds a parameter of imp */
  g_autoptr (GPtrArray) mods = lf_module_find_all (root, "*", -1);
  g_autoptr (GPtrArray) caps = g_ptr_array_new_with_free_func (g_free);
  for (guint k = 0; k < mods->len; k++)
    {
      LfModule *m = mods->pdata[k];
      if (lf_module_class (m) != &lf_linear_class)
        continue;
      LfTensor *wt = lf_module_param (m, "weight"), *bt = lf_module_param (m, "bias");
      gpointer v;
      int wi = wt && g_hash_table_lookup_extended (param_index, wt, NULL, &v) ? GPOINTER_TO_INT (v) : -1;
      int bi = bt && g_hash_table_lookup_extended (param_index, bt, NULL, &v) ? GPOINTER_TO_INT (v) : -1;
      if (wi < 0 && bi < 0)
        continue;
      PsCapture *c = g_new0 (PsCapture, 1);
      c->run = &run;
      c->mod = m;
      c->w = wt;
      c->b = bt;
      c->wi = wi;
      c->bi = bi;
      c->hook = lf_module_add_post_hook (m, ps_post_hook, c, NULL);
      g_ptr_array_add (caps, c);
    }
  g_autoptr (GHashTable) by_y = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr (GHashTable) by_id = g_hash_table_new (g_direct_hash, g_direct_equal);
  PsParam *pp = g_new (PsParam, imp->n);
  int *slow = g_new (int, imp->n);
  gboolean *batched = g_new (gboolean, imp->n);
  LfTensor **slow_params = g_new (LfTensor *, imp->n);
  LfReal **slow_grads = g_new0 (LfReal *, imp->n);   /* by parameter, allocated on first use */
  LfReal **grads = g_new (LfReal *, imp->n);
  int64_t slow_passes = 0;
  for (int64_t first = 0; first < n; first += batch_size)
    {
      const int64_t count = MIN (batch_size, n - first);
      for (guint k = 0; k < caps->len; k++)
        {
          PsCapture *c = caps->pdata[k];
          c->calls = 0;
          c->ok = FALSE;
          c->x = c->y = c->id = NULL;
          c->delta = NULL;
          c->has_delta = FALSE;
          c->y_uses = 0;
          c->y_foreign = FALSE;
        }
      memset (pp, 0, sizeof (PsParam) * (size_t) imp->n);
      g_hash_table_remove_all (by_y);
      g_hash_table_remove_all (by_id);

      lf_tape_push (TRUE);
      run.active = TRUE;
      run.rows = count;
      LfTensor *l = loss (user, first, count);
      run.active = FALSE;
      lf_check (l != NULL && l->numel == 1, "lf_importance_add_per_sample: the loss must be one number");
      for (guint k = 0; k < caps->len; k++)
        {
          PsCapture *c = caps->pdata[k];
          if (c->ok)
            {
              g_hash_table_insert (by_y, c->y, c);
              g_hash_table_insert (by_id, c->id, c);
            }
        }
      gboolean clean = ps_analyse (l, param_index, by_y, by_id, pp);
      /* the parameters the batched pass gives exactly, and the rest */
      int n_slow = 0;
      for (int i = 0; i < imp->n; i++)
        {
          const PsParam *p = &pp[i];
          gboolean exact = clean && (p->uses == 0
                                     || (p->uses == 1 && !p->foreign && p->cap != NULL && !p->cap->y_foreign));
          batched[i] = exact && p->uses == 1 && lf_tensor_requires_grad (imp->params[i]);
          if (!exact && lf_tensor_requires_grad (imp->params[i]))
            slow[n_slow++] = i;
        }
      lf_grad_into (l, 0, NULL, NULL);   /* no parameter's gradient: the captures keep delta */
      for (guint k = 0; k < caps->len; k++)
        {
          PsCapture *c = caps->pdata[k];
          if (!c->ok || !c->has_delta)
            continue;
          LfReal *accw = c->wi >= 0 && batched[c->wi] && pp[c->wi].cap == c ? imp->acc[c->wi]->data : NULL;
          LfReal *accb = c->bi >= 0 && batched[c->bi] && pp[c->bi].cap == c ? imp->acc[c->bi]->data : NULL;
          if (accw || accb)
            ps_accumulate (c, kind, w, accw, accb);
        }
      lf_tape_pop ();

      /* the slow path: one pass per sample, for those parameters only */
      if (n_slow > 0)
        {
          for (int j = 0; j < n_slow; j++)
            {
              int i = slow[j];
              if (slow_grads[i] == NULL)
                slow_grads[i] = g_new (LfReal, MAX (imp->params[i]->numel, 1));
              slow_params[j] = imp->params[i];
              grads[j] = slow_grads[i];
            }
          for (int64_t s = 0; s < count; s++)
            {
              lf_tape_push (TRUE);
              LfTensor *ls = loss (user, first + s, 1);
              lf_check (ls != NULL && ls->numel == 1, "lf_importance_add_per_sample: the loss must be one number");
              lf_grad_into (ls, n_slow, slow_params, grads);
              lf_tape_pop ();
              ps_add_grads (imp, kind, n_slow, slow, grads, w);
              slow_passes++;
            }
        }
    }
  for (guint k = 0; k < caps->len; k++)
    {
      PsCapture *c = caps->pdata[k];
      lf_module_remove_hook (c->mod, c->hook);
    }
  for (int i = 0; i < imp->n; i++)
    g_free (slow_grads[i]);
  g_free (slow_grads);
  g_free (grads);
  g_free (slow_params);
  g_free (slow);
  g_free (batched);
  g_free (pp);
  return slow_passes;
}

/* The reference the batched sums are checked against, and what a strategy
 * runs with a batch size of 1: one scope, one forward and one side
 * gradient per sample. */
void
lf_importance_add_each_sample (LfImportance *imp, LfImportanceKind kind, int64_t n, LfSampleLossFn loss,
                               void *user, double weight)
{
  g_return_if_fail (imp != NULL && loss != NULL && n >= 0);
  LfReal **grads = g_new (LfReal *, MAX (imp->n, 1));
  for (int i = 0; i < imp->n; i++)
    grads[i] = g_new (LfReal, MAX (imp->params[i]->numel, 1));
  for (int64_t s = 0; s < n; s++)
    {
      lf_tape_push (TRUE);
      LfTensor *ls = loss (user, s, 1);
      lf_check (ls != NULL && ls->numel == 1, "lf_importance_add_each_sample: the loss must be one number");
      lf_grad_into (ls, imp->n, imp->params, grads);
      lf_tape_pop ();
      if (kind == LF_IMPORTANCE_SQUARED)
        lf_importance_add_sq (imp, (const LfReal *const *) grads, weight);
      else
        lf_importance_add_abs (imp, (const LfReal *const *) grads, weight);
    }
  for (int i = 0; i < imp->n; i++)
    g_free (grads[i]);
  g_free (grads);
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

/* Fixed LF_SUM_CHUNK chunks (lf_pull_chunk, shared with the optimizer's
 * folded pull, so both measure the same value), partial sums combined in
 * chunk order: the same value at any thread count. */
static double
qp_sum (const LfReal *t, const LfReal *a, const LfReal *w, int64_t n)
{
  int64_t nchunks = (n + LF_SUM_CHUNK - 1) / LF_SUM_CHUNK;
  if (nchunks <= 1)
    return lf_pull_chunk (t, a, w, 0, n);
  double stack[256];
  double *part = nchunks <= 256 ? stack : g_new (double, nchunks);
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
  for (int64_t c = 0; c < nchunks; c++)
    part[c] = lf_pull_chunk (t, a, w, c * LF_SUM_CHUNK, MIN (n, (c + 1) * LF_SUM_CHUNK));
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

/* Parameter i's term of a quadratic penalty: FALSE when it has none (no
 * parameter, no anchor, frozen); else checks the anchor's and the
 * importance's sizes (a mismatch is a caller's bug: fatal, naming who) and
 * sets *w to the importance values (NULL: w = 1). */
static gboolean
qp_term (LfTensor *const *params, LfTensor *const *anchors, const LfImportance *weights, int i,
         const char *who, const LfReal **w)
{
  LfTensor *p = params[i];
  *w = NULL;
  if (p == NULL || anchors[i] == NULL || !lf_tensor_requires_grad (p))
    return FALSE;
  lf_check (anchors[i]->numel == p->numel,
            "%s: parameter %d (%s) has %" G_GINT64_FORMAT " elements, its anchor %" G_GINT64_FORMAT,
            who, i, p->name ? p->name : "?", p->numel, anchors[i]->numel);
  if (weights)
    {
      lf_check (weights->acc[i]->numel == p->numel,
                "%s: parameter %d (%s) has %" G_GINT64_FORMAT " elements, its importance %" G_GINT64_FORMAT,
                who, i, p->name ? p->name : "?", p->numel, weights->acc[i]->numel);
      *w = weights->acc[i]->data;
    }
  return TRUE;
}

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
      const LfReal *w;
      if (!qp_term (params, anchors, weights, i, "lf_quadratic_penalty", &w))
        continue;
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

/* ---- the penalty's gradient without a tape node ------------------------------
 * The same value and gradient as lf_quadratic_penalty, in one pass over
 * theta, anchor, w and .grad (the op needs two: the value in its forward,
 * the gradient in its backward), for a strategy's after_backward. */

/* sum w (t - a)^2 over [lo, hi) exactly as lf_pull_chunk; and, when g is not
 * NULL, g = (fresh ? 0 : g) + (two_c * w) * (t - a), the op's backward
 * term rounded the same way.  (The second loop reads what the first just
 * brought into cache: one loop doing both is no faster, the pass is bound
 * by memory.) */
LF_TARGET_CLONES static double
qpg_chunk (LfReal *restrict g, gboolean fresh, const LfReal *restrict t, const LfReal *restrict a,
           const LfReal *restrict w, LfReal two_c, int64_t lo, int64_t hi)
{
  double value = lf_pull_chunk (t, a, w, lo, hi);
  if (g == NULL)
    return value;
  if (w)
    {
      if (fresh)
        for (int64_t i = lo; i < hi; i++)
          g[i] = two_c * w[i] * (t[i] - a[i]);
      else
        for (int64_t i = lo; i < hi; i++)
          g[i] += two_c * w[i] * (t[i] - a[i]);
    }
  else
    {
      if (fresh)
        for (int64_t i = lo; i < hi; i++)
          g[i] = two_c * (t[i] - a[i]);
      else
        for (int64_t i = lo; i < hi; i++)
          g[i] += two_c * (t[i] - a[i]);
    }
  return value;
}

double
lf_quadratic_penalty_add_grad (int n, LfTensor *const *params, LfTensor *const *anchors,
                               const LfImportance *weights, double coef)
{
  g_return_val_if_fail (n >= 0, 0.0);
  g_return_val_if_fail (n == 0 || (params != NULL && anchors != NULL), 0.0);
  if (weights)
    lf_check (weights->n >= n, "lf_quadratic_penalty_add_grad: %d parameters, importance has %d", n, weights->n);
  /* the op's backward: (2 * dL/dq) with dL/dq = coef rounded to float */
  const LfReal two_c = 2 * (LfReal) coef;
  double total = 0;
  for (int i = 0; i < n; i++)
    {
      LfTensor *p = params[i];
      const LfReal *w;
      if (!qp_term (params, anchors, weights, i, "lf_quadratic_penalty_add_grad", &w))
        continue;
      LfReal *g = NULL;
      gboolean fresh = FALSE;
      if (coef != 0 && p->grad != NULL)
        {
          g = p->grad;
          fresh = !(p->flags & LF_TF_GRAD_VALID);
          p->flags |= LF_TF_GRAD_VALID;
        }
      const LfReal *t = p->data, *a = anchors[i]->data;
      const int64_t m = p->numel;
      /* the chunks of qp_sum, partial sums combined in chunk order */
      int64_t nchunks = (m + LF_SUM_CHUNK - 1) / LF_SUM_CHUNK;
      if (nchunks <= 1)
        {
          total += qpg_chunk (g, fresh, t, a, w, two_c, 0, m);
          continue;
        }
      double stack[256];
      double *part = nchunks <= 256 ? stack : g_new (double, nchunks);
#pragma omp parallel for schedule(static) if (m >= LF_PAR_MIN)
      for (int64_t c = 0; c < nchunks; c++)
        part[c] = qpg_chunk (g, fresh, t, a, w, two_c, c * LF_SUM_CHUNK, MIN (m, (c + 1) * LF_SUM_CHUNK));
      double sum = 0;
      for (int64_t c = 0; c < nchunks; c++)
        sum += part[c];
      if (part != stack)
        g_free (part);
      total += sum;
    }
  return total;
}

/* ---- SI's path integral ------------------------------------------------------- */

struct LfPathIntegral {
  int          n;
  LfTensor   **params;   /* borrowed */
  LfTensor   **omega;    /* running -sum g dtheta of this experience */
  LfTensor   **start;    /* theta at the start of the experience      */
  LfTensor   **prev;     /* theta before the step (before_step only; NULL until then) */
  LfTensor   **grad;     /* g before the step (before_step only)     */
  gboolean     armed;    /* before_step ran since the last after_step  */
  LfOptimizer *opt;      /* the optimizer accumulating omega, or NULL  */
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
  for (int i = 0; i < n; i++)
    lf_tensor_copy_data (pi->start[i], params[i]);
  return pi;
}

void
lf_path_integral_free (LfPathIntegral *pi)
{
  if (pi == NULL)
    return;
  lf_path_integral_attach (pi, NULL);
  owned_free (pi->n, pi->omega);
  owned_free (pi->n, pi->start);
  owned_free (pi->n, pi->prev);
  owned_free (pi->n, pi->grad);
  g_free (pi->params);
  g_free (pi);
}

void
lf_path_integral_attach (LfPathIntegral *pi, LfOptimizer *opt)
{
  g_return_if_fail (pi != NULL);
  if (pi->opt)
    for (int i = 0; i < pi->n; i++)
      lf_optimizer_set_path_integral (pi->opt, pi->params[i], NULL);
  pi->opt = opt;
  if (opt)
    for (int i = 0; i < pi->n; i++)
      lf_optimizer_set_path_integral (opt, pi->params[i], pi->omega[i]->data);
}

void
lf_path_integral_before_step (LfPathIntegral *pi)
{
  g_return_if_fail (pi != NULL);
  g_return_if_fail (pi->opt == NULL);   /* the optimizer accumulates already */
  if (pi->prev == NULL)
    {
      pi->prev = owned_like (pi->n, pi->params);
      pi->grad = owned_like (pi->n, pi->params);
    }
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
  const int copies = pi->prev ? 4 : 2;
  size_t bytes = sizeof *pi + (size_t) (1 + copies) * sizeof (LfTensor *) * (size_t) pi->n;
  for (int i = 0; i < pi->n; i++)
    bytes += (size_t) copies * (sizeof (LfTensor) + (size_t) pi->params[i]->numel * sizeof (LfReal));
  return bytes;
}
