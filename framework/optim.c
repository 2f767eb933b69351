/* lifelong — optimizers with freezing built in: a parameter without
 * requires_grad, or an element whose mask byte is 0, is never moved, and its
 * momentum / moment estimates are never touched (so weight decay and Adam's
 * momentum cannot drift a frozen weight).  Updates are fused one-pass loops,
 * which also apply a regulariser's quadratic pull and accumulate SI's path
 * integral, so neither costs a pass of its own over the parameters. */
#include "tensor-private.h"
#include <math.h>
#include <stdlib.h>

typedef struct {
  LfTensor *p;
  LfReal   *m;        /* SGD momentum buffer / Adam first moment  */
  LfReal   *v;        /* Adam second moment                       */
  uint8_t  *mask;     /* NULL: every element trainable            */
  int64_t   t;        /* updates applied (Adam bias correction)   */
  /* the quadratic pull (lf_optimizer_set_pull): borrowed arrays */
  const LfReal *anchor;   /* NULL: no pull                          */
  const LfReal *weight;   /* NULL: w = 1                            */
  LfReal    two_c;        /* 2 * (LfReal) coef                      */
  double   *part;         /* its value per LF_SUM_CHUNK chunk, last step */
  double    value;        /* their sum                              */
  LfReal   *acc;          /* SI's path integral (borrowed), or NULL */
} ParamState;

struct LfOptimizer {
  LfOptimConfig cfg;
  ParamState   *ps;
  int           n, cap;
};

void
lf_optim_config_init (LfOptimConfig *cfg, LfOptimKind kind)
{
  memset (cfg, 0, sizeof *cfg);
  cfg->kind = kind;
  cfg->lr = 1e-3;
  cfg->beta1 = 0.9;
  cfg->beta2 = 0.999;
  cfg->eps = 1e-8;
  cfg->weight_decay = kind == LF_OPTIM_ADAMW ? 0.01 : 0.0;
}

gboolean
lf_optim_kind_from_string (const char *s, LfOptimKind *kind)
{
  static const struct { const char *name; LfOptimKind kind; } names[] = {
    { "sgd", LF_OPTIM_SGD }, { "adam", LF_OPTIM_ADAM }, { "adamw", LF_OPTIM_ADAMW },
  };
  for (size_t i = 0; s != NULL && i < G_N_ELEMENTS (names); i++)
    if (strcmp (s, names[i].name) == 0)
      {
        *kind = names[i].kind;
        return TRUE;
      }
  return FALSE;
}

LfOptimizer *
lf_optimizer_new (const LfOptimConfig *cfg)
{
  g_return_val_if_fail (cfg != NULL, NULL);
  LfOptimizer *opt = g_new0 (LfOptimizer, 1);
  opt->cfg = *cfg;
  return opt;
}

static void
state_clear (ParamState *s)
{
  free (s->m);
  free (s->v);
  g_free (s->mask);
  g_free (s->part);
  s->m = s->v = NULL;
  s->mask = NULL;
  s->part = NULL;
}

void
lf_optimizer_free (LfOptimizer *opt)
{
  if (opt == NULL)
    return;
  for (int i = 0; i < opt->n; i++)
    state_clear (&opt->ps[i]);
  g_free (opt->ps);
  g_free (opt);
}

/* Trainable, and a gradient reached it since it was last zeroed. */
static inline gboolean
has_grad (const LfTensor *p)
{
  const uint32_t want = LF_TF_REQUIRES_GRAD | LF_TF_GRAD_VALID;
  return (p->flags & want) == want && p->grad != NULL;
}

static ParamState *
find (const LfOptimizer *opt, const LfTensor *p)
{
  for (int i = 0; i < opt->n; i++)
    if (opt->ps[i].p == p)
      return &opt->ps[i];
  return NULL;
}

void
lf_optimizer_add_param (LfOptimizer *opt, LfTensor *p)
{
  g_return_if_fail (opt != NULL && p != NULL);
  g_return_if_fail ((p->flags & LF_TF_OWNED) && p->grad != NULL);   /* a parameter */
  if (find (opt, p))
    return;
  if (opt->n == opt->cap)
    {
      opt->cap = opt->cap ? 2 * opt->cap : 16;
      opt->ps = g_realloc_n (opt->ps, opt->cap, sizeof (ParamState));
    }
  opt->ps[opt->n++] = (ParamState) { .p = p };
}

void
lf_optimizer_set_params (LfOptimizer *opt, int n, LfTensor *const *params)
{
  g_return_if_fail (opt != NULL && (n == 0 || params != NULL));
  /* keep the state of parameters still present, in the new order */
  ParamState *old = opt->ps;
  int old_n = opt->n;
  opt->ps = NULL;
  opt->n = opt->cap = 0;
  for (int i = 0; i < n; i++)
    {
      int before = opt->n;
      lf_optimizer_add_param (opt, params[i]);
      if (opt->n == before)
        continue;   /* listed twice, or refused */
      for (int j = 0; j < old_n; j++)
        if (old[j].p == params[i])
          {
            opt->ps[opt->n - 1] = old[j];
            old[j].p = NULL;
            break;
          }
    }
  for (int j = 0; j < old_n; j++)
    if (old[j].p != NULL)
      state_clear (&old[j]);
  g_free (old);
}

int lf_optimizer_n_params (const LfOptimizer *opt) { return opt->n; }

void
lf_optimizer_set_mask (LfOptimizer *opt, LfTensor *p, const uint8_t *mask)
{
  g_return_if_fail (opt != NULL && p != NULL);
  lf_optimizer_add_param (opt, p);
  ParamState *s = find (opt, p);
  if (s == NULL)
    return;   /* refused by add_param, which said why */
  g_free (s->mask);
  s->mask = mask ? g_memdup2 (mask, (gsize) p->numel) : NULL;
}

void
lf_optimizer_set_pull (LfOptimizer *opt, LfTensor *p, const LfReal *anchor, const LfReal *weight, double coef)
{
  g_return_if_fail (opt != NULL && p != NULL);
  lf_optimizer_add_param (opt, p);
  ParamState *s = find (opt, p);
  if (s == NULL)
    return;   /* refused by add_param, which said why */
  s->anchor = anchor;
  s->weight = anchor ? weight : NULL;
  /* the rounding of lf_quadratic_penalty_add_grad: 2 * dL/dq, dL/dq = coef
   * rounded to LfReal */
  s->two_c = anchor ? 2 * (LfReal) coef : 0;
  s->value = 0;
  if (anchor && s->part == NULL)
    s->part = g_new0 (double, MAX ((p->numel + LF_SUM_CHUNK - 1) / LF_SUM_CHUNK, 1));
  if (!anchor)
    g_clear_pointer (&s->part, g_free);
}

void
lf_optimizer_set_path_integral (LfOptimizer *opt, LfTensor *p, LfReal *acc)
{
  g_return_if_fail (opt != NULL && p != NULL);
  lf_optimizer_add_param (opt, p);
  ParamState *s = find (opt, p);
  if (s == NULL)
    return;
  s->acc = acc;
}

static LfReal *
zeroed (int64_t n)
{
  void *q = NULL;
  if (posix_memalign (&q, 64, (size_t) MAX (n, 1) * sizeof (LfReal)) != 0)
    lf_fatal ("optimizer: out of memory");
  memset (q, 0, (size_t) MAX (n, 1) * sizeof (LfReal));
  return q;
}

/* ---- update kernels: one pass over p, g and the state ----
 *
 * A masked element computes its update like any other and then keeps its
 * old value and state through a bitwise select: a branch on a PackNet mask
 * mispredicts half the time (10x slower), and under -ftrapping-math GCC
 * will not if-convert a float ?: whose discarded arm divides.  The select
 * returns the stored bits untouched, whatever the discarded update was. */

#ifdef LF_REAL_DOUBLE
typedef uint64_t LfBits;
#else
typedef uint32_t LfBits;
#endif
_Static_assert (sizeof (LfBits) == sizeof (LfReal), "LfBits must match LfReal");

/* keep ? a : b, bit for bit */
static inline LfReal
select_kept (uint8_t keep, LfReal a, LfReal b)
{
  LfBits x, y, k = (LfBits) 0 - (LfBits) (keep != 0);
  memcpy (&x, &a, sizeof x);
  memcpy (&y, &b, sizeof y);
  x = (x & k) | (y & ~k);
  memcpy (&a, &x, sizeof a);
  return a;
}

/* Updates are split into fixed blocks: each is one vectorised call, and the
 * blocks are spread over the threads.  A pull's value is summed in the
 * LF_SUM_CHUNK chunks of lf_pull_chunk, so a block holds whole chunks. */
#define UPDATE_BLOCK 16384
_Static_assert (UPDATE_BLOCK % LF_SUM_CHUNK == 0, "a block must hold whole sum chunks");

/* One step's constants for one parameter. */
typedef struct {
  LfReal lr, wd, mu, kd, kb;                    /* SGD                    */
  LfReal b1, b2, step, isb, eps, l2, decay;     /* Adam / AdamW           */
  LfReal two_c;                                 /* the pull: 2 coef       */
} UpdK;

typedef enum { UPD_SGD, UPD_MOMENTUM, UPD_ADAM, UPD_N_KINDS } UpdKind;

/* sum w (t - a)^2 over [lo, hi) in double, QP_LANES running sums combined in
 * lane order (vectorises without reassociation, so every clone gives the
 * same sum; the double conversions make the baseline build slower than
 * memory).  w NULL: w = 1. */
#define QP_LANES 8

LF_TARGET_CLONES static double
pull_chunk (const LfReal *t, const LfReal *a, const LfReal *w, int64_t lo, int64_t hi)
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

/* The exported name is a plain function: clang (the fuzzing build) gives
 * an exported target_clones function no resolver other files can link to. */
double
lf_pull_chunk (const LfReal *t, const LfReal *a, const LfReal *w, int64_t lo, int64_t hi)
{
  return pull_chunk (t, a, w, lo, hi);
}

/* The update of n elements, every feature a flag: the kernels below call it
 * with constant flags, so each is compiled without the branches of the
 * features it lacks.
 *   pull:  the update sees g + (2c wt) (w - a) for g (wt = 1 unless
 *          weighted): lf_quadratic_penalty_add_grad's term, rounded the same
 *          way, so a folded pull steps bitwise as the penalty added to .grad
 *   path:  acc -= g (w_new - w_old), g the gradient before the pull
 *   masked: see select_kept */
static inline __attribute__ ((always_inline)) void
update_elems (UpdKind kind, int pull, int weighted, int path, int masked, const UpdK *k,
              LfReal *restrict w, LfReal *restrict m, LfReal *restrict v, const LfReal *restrict g,
              const LfReal *restrict a, const LfReal *restrict wt, LfReal *restrict acc,
              const uint8_t *restrict mask, int64_t n)
{
  const LfReal lr = k->lr, wd = k->wd, mu = k->mu, kd = k->kd, kb = k->kb, two_c = k->two_c;
  const LfReal b1 = k->b1, b2 = k->b2, step = k->step, isb = k->isb;
  const LfReal eps = k->eps, l2 = k->l2, decay = k->decay;
  for (int64_t i = 0; i < n; i++)
    {
      const LfReal old = w[i], gt = g[i];
      LfReal gi = gt;
      if (pull)
        gi = gt + (weighted ? two_c * wt[i] : two_c) * (old - a[i]);
      LfReal nw;
      if (kind == UPD_SGD)
        nw = old - lr * (gi + wd * old);
      else if (kind == UPD_MOMENTUM)
        {
          /* the step direction, without a branch: Nesterov d + mu b = 1 d +
           * mu b, classic b = 0 d + 1 b (both exact for finite values) */
          LfReal d = gi + wd * old;
          LfReal b = mu * m[i] + d;
          nw = old - lr * (kd * d + kb * b);
          m[i] = masked ? select_kept (mask[i], b, m[i]) : b;
        }
      else
        {
          LfReal gl = gi + l2 * old;
          LfReal mi = b1 * m[i] + (1 - b1) * gl;
          LfReal vi = b2 * v[i] + (1 - b2) * gl * gl;
          nw = old - decay * old - step * mi / (lf_sqrtr (vi) * isb + eps);
          m[i] = masked ? select_kept (mask[i], mi, m[i]) : mi;
          v[i] = masked ? select_kept (mask[i], vi, v[i]) : vi;
        }
      if (masked)
        nw = select_kept (mask[i], nw, old);
      w[i] = nw;
      if (path)
        acc[i] -= gt * (nw - old);
    }
}

/* The vectorised kernels: no mask, a weighted pull or none, a path
 * integral or none.  A mask or an unweighted pull takes update_generic. */
typedef void (*UpdKernel) (const UpdK *k, LfReal *restrict w, LfReal *restrict m, LfReal *restrict v,
                           const LfReal *restrict g, const LfReal *restrict a, const LfReal *restrict wt,
                           LfReal *restrict acc, int64_t n);

#define UPDATE_KERNEL(name, kind, pull, path)                                                    \
  LF_TARGET_CLONES static void                                                                   \
  name (const UpdK *k, LfReal *restrict w, LfReal *restrict m, LfReal *restrict v,               \
        const LfReal *restrict g, const LfReal *restrict a, const LfReal *restrict wt,           \
        LfReal *restrict acc, int64_t n)                                                         \
  {                                                                                              \
    update_elems (kind, pull, 1, path, 0, k, w, m, v, g, a, wt, acc, NULL, n);                   \
  }

/* prefix_block, prefix_block_path, prefix_block_pull, prefix_block_pull_path */
#define UPDATE_KERNELS(prefix, kind)                                                             \
  UPDATE_KERNEL (prefix##_block, kind, 0, 0)                                                     \
  UPDATE_KERNEL (prefix##_block_path, kind, 0, 1)                                                \
  UPDATE_KERNEL (prefix##_block_pull, kind, 1, 0)                                                \
  UPDATE_KERNEL (prefix##_block_pull_path, kind, 1, 1)

UPDATE_KERNELS (sgd, UPD_SGD)
UPDATE_KERNELS (momentum, UPD_MOMENTUM)
UPDATE_KERNELS (adam, UPD_ADAM)

/* [kind][pull][path] */
#define UPDATE_KERNEL_ROW(prefix) \
  { { prefix##_block, prefix##_block_path }, { prefix##_block_pull, prefix##_block_pull_path } }
static const UpdKernel update_kernels[UPD_N_KINDS][2][2] = {
  [UPD_SGD] = UPDATE_KERNEL_ROW (sgd),
  [UPD_MOMENTUM] = UPDATE_KERNEL_ROW (momentum),
  [UPD_ADAM] = UPDATE_KERNEL_ROW (adam),
};

/* The masked kernels (PackNet), vectorised without a pull or a path. */
#define UPDATE_KERNEL_MASKED(name, kind)                                                         \
  LF_TARGET_CLONES static void                                                                   \
  name (const UpdK *k, LfReal *restrict w, LfReal *restrict m, LfReal *restrict v,               \
        const LfReal *restrict g, const uint8_t *restrict mask, int64_t n)                       \
  {                                                                                              \
    update_elems (kind, 0, 0, 0, 1, k, w, m, v, g, NULL, NULL, NULL, mask, n);                   \
  }

UPDATE_KERNEL_MASKED (sgd_block_masked, UPD_SGD)
UPDATE_KERNEL_MASKED (momentum_block_masked, UPD_MOMENTUM)
UPDATE_KERNEL_MASKED (adam_block_masked, UPD_ADAM)

/* Everything else (a mask with a pull or a path, an unweighted pull):
 * the same arithmetic, the flags read at run time. */
static void
update_generic (UpdKind kind, int pull, int weighted, int path, int masked, const UpdK *k,
                LfReal *w, LfReal *m, LfReal *v, const LfReal *g, const LfReal *a, const LfReal *wt,
                LfReal *acc, const uint8_t *mask, int64_t n)
{
  update_elems (kind, pull, weighted, path, masked, k, w, m, v, g, a, wt, acc, mask, n);
}

/* Elements [lo, hi) of one parameter.  With a pull, chunk by chunk: the
 * pull's value on the weights before the update, then the update, while
 * the chunk is still in cache. */
static void
update_range (ParamState *s, UpdKind kind, const UpdK *k, gboolean pull, int64_t lo, int64_t hi)
{
  LfTensor *p = s->p;
  LfReal *w = p->data, *m = s->m, *v = s->v, *acc = s->acc;
  const LfReal *g = p->grad, *a = s->anchor, *wt = s->weight;
  const uint8_t *mask = s->mask;
#define AT(x, o) ((x) ? (x) + (o) : NULL)
  const gboolean path = acc != NULL;
  const gboolean fast = mask == NULL && (!pull || wt != NULL);
  if (!pull && !path)
    {
      if (mask == NULL)
        update_kernels[kind][0][0] (k, w + lo, AT (m, lo), AT (v, lo), g + lo, NULL, NULL, NULL, hi - lo);
      else if (kind == UPD_SGD)
        sgd_block_masked (k, w + lo, NULL, NULL, g + lo, mask + lo, hi - lo);
      else if (kind == UPD_MOMENTUM)
        momentum_block_masked (k, w + lo, m + lo, NULL, g + lo, mask + lo, hi - lo);
      else
        adam_block_masked (k, w + lo, m + lo, v + lo, g + lo, mask + lo, hi - lo);
      return;
    }
  for (int64_t c0 = lo; c0 < hi; c0 += LF_SUM_CHUNK)
    {
      const int64_t c1 = MIN (hi, c0 + LF_SUM_CHUNK);
      if (pull)
        s->part[c0 / LF_SUM_CHUNK] = lf_pull_chunk (w, a, wt, c0, c1);
      if (fast)
        update_kernels[kind][pull][path] (k, w + c0, AT (m, c0), AT (v, c0), g + c0, AT (a, c0), AT (wt, c0),
                                          AT (acc, c0), c1 - c0);
      else
        update_generic (kind, pull, wt != NULL, path, mask != NULL, k, w + c0, AT (m, c0), AT (v, c0), g + c0,
                        AT (a, c0), AT (wt, c0), AT (acc, c0), AT (mask, c0), c1 - c0);
    }
#undef AT
}

/* The pull's value alone (a parameter it does not move this step). */
static void
pull_measure (ParamState *s)
{
  const LfReal *w = s->p->data;
  const int64_t n = s->p->numel;
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
  for (int64_t c0 = 0; c0 < n; c0 += LF_SUM_CHUNK)
    s->part[c0 / LF_SUM_CHUNK] = lf_pull_chunk (w, s->anchor, s->weight, c0, MIN (n, c0 + LF_SUM_CHUNK));
}

/* The chunks' partial sums in chunk order: the same at any thread count. */
static double
pull_total (const ParamState *s)
{
  const int64_t nchunks = (s->p->numel + LF_SUM_CHUNK - 1) / LF_SUM_CHUNK;
  double sum = 0;
  for (int64_t c = 0; c < nchunks; c++)
    sum += s->part[c];
  return sum;
}

/* One update of one parameter: the constants of its kind, then the blocks
 * over the threads. */
static void
param_update (ParamState *s, const LfOptimConfig *c, double lr, gboolean pull)
{
  LfTensor *p = s->p;
  const int64_t n = p->numel;
  UpdK k = { .lr = (LfReal) lr, .wd = (LfReal) c->weight_decay, .two_c = s->two_c };
  UpdKind kind;
  if (c->kind == LF_OPTIM_SGD)
    {
      k.mu = (LfReal) c->momentum;
      kind = k.mu == 0 ? UPD_SGD : UPD_MOMENTUM;
      /* PyTorch starts the buffer at the first gradient; a zeroed buffer
       * gives mu 0 + d = d exactly, so an element first trained late (a
       * mask lifted) starts the same way. */
      if (kind == UPD_MOMENTUM && s->m == NULL)
        s->m = zeroed (n);
      k.kd = c->nesterov ? 1 : 0;
      k.kb = c->nesterov ? k.mu : 1;
    }
  else
    {
      kind = UPD_ADAM;
      if (s->m == NULL)
        {
          s->m = zeroed (n);
          s->v = zeroed (n);
        }
      /* The moments run on the betas as float holds them; the bias
       * corrections must use the same values (1 - b2 of a float 0.99999 is
       * 0.14% off 1e-5, and a double 1 - 0.99999^t would not match the
       * moment it corrects). */
      const int64_t t = s->t + 1;
      k.b1 = (LfReal) c->beta1;
      k.b2 = (LfReal) c->beta2;
      const double bc1 = 1 - pow ((double) k.b1, (double) t), bc2 = 1 - pow ((double) k.b2, (double) t);
      k.step = (LfReal) (lr / bc1);
      k.isb = (LfReal) (1.0 / sqrt (bc2));
      k.eps = (LfReal) c->eps;
      const gboolean decoupled = c->kind == LF_OPTIM_ADAMW;
      k.l2 = decoupled ? 0 : (LfReal) c->weight_decay;
      /* AdamW's w (1 - lr wd) as w - (lr wd) w: a float 1 - lr wd is off by
       * up to 3e-8, the same for every weight at every step (lr wd = 1e-6
       * decays up to 3% too much or too little; below 3e-8 nothing decays
       * at all); (lr wd) w rounds in w's own precision instead, without a
       * bias. */
      k.decay = decoupled ? (LfReal) (lr * c->weight_decay) : 0;
    }
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
  for (int64_t lo = 0; lo < n; lo += UPDATE_BLOCK)
    update_range (s, kind, &k, pull, lo, MIN (n, lo + UPDATE_BLOCK));
}

void
lf_optimizer_step (LfOptimizer *opt)
{
  g_return_if_fail (opt != NULL);
  /* Last parameter first: models list parameters input to output, so the
   * first layer's weights are updated last and are still in cache when the
   * next forward pass starts with them. */
  for (int i = opt->n - 1; i >= 0; i--)
    {
      ParamState *s = &opt->ps[i];
      LfTensor *p = s->p;
      s->value = 0;
      if (!(p->flags & LF_TF_REQUIRES_GRAD))
        continue;   /* frozen: not moved, not pulled, not measured */
      const gboolean pulled = s->anchor != NULL, pull = pulled && s->two_c != 0;
      if (!has_grad (p))
        {
          if (!pull)
            {
              /* no gradient reached it this step */
              if (pulled)
                {
                  pull_measure (s);
                  s->value = pull_total (s);
                }
              continue;
            }
          /* the pull alone moves it, as the penalty's gradient written into
           * an untouched .grad did */
          memset (p->grad, 0, (size_t) p->numel * sizeof (LfReal));
          p->flags |= LF_TF_GRAD_VALID;
        }
      if (pulled && !pull)
        pull_measure (s);
      param_update (s, &opt->cfg, opt->cfg.lr, pull);
      if (pulled)
        s->value = pull_total (s);
      s->t++;
    }
}

double
lf_optimizer_pull_value (const LfOptimizer *opt)
{
  g_return_val_if_fail (opt != NULL, 0.0);
  double sum = 0;
  for (int i = 0; i < opt->n; i++)
    if (opt->ps[i].anchor != NULL)
      sum += opt->ps[i].value;
  return sum;
}

void
lf_optimizer_zero_grad (LfOptimizer *opt)
{
  for (int i = 0; i < opt->n; i++)
    opt->ps[i].p->flags &= ~(uint32_t) LF_TF_GRAD_VALID;
}

void
lf_optimizer_reset_state (LfOptimizer *opt)
{
  for (int i = 0; i < opt->n; i++)
    {
      ParamState *s = &opt->ps[i];
      free (s->m);
      free (s->v);
      s->m = s->v = NULL;
      s->t = 0;
    }
}

void lf_optimizer_set_lr (LfOptimizer *opt, double lr) { opt->cfg.lr = lr; }
double lf_optimizer_get_lr (const LfOptimizer *opt) { return opt->cfg.lr; }

size_t
lf_optimizer_state_bytes (const LfOptimizer *opt)
{
  size_t b = 0;
  for (int i = 0; i < opt->n; i++)
    {
      const ParamState *s = &opt->ps[i];
      size_t n = (size_t) s->p->numel;
      b += (s->m ? n * sizeof (LfReal) : 0) + (s->v ? n * sizeof (LfReal) : 0) + (s->mask ? n : 0);
    }
  return b;
}

/* ---- schedules ---- */

double
lf_schedule_lr (const LfSchedule *s, double base_lr, int64_t step)
{
  if (s == NULL)
    return base_lr;
  if (s->warmup_steps > 0 && step < s->warmup_steps)
    return base_lr * (double) (step + 1) / (double) s->warmup_steps;
  int64_t t = step - MAX (s->warmup_steps, 0);
  switch (s->kind)
    {
    case LF_SCHEDULE_STEP:
      return s->step_size > 0 ? base_lr * pow (s->gamma, (double) (t / s->step_size)) : base_lr;
    case LF_SCHEDULE_COSINE:
      {
        if (s->total_steps <= 0)
          return base_lr;
        double frac = MIN (1.0, (double) t / (double) s->total_steps);
        return s->min_lr + (base_lr - s->min_lr) * 0.5 * (1.0 + cos (G_PI * frac));
      }
    case LF_SCHEDULE_CONSTANT:
    default:
      return base_lr;
    }
}

/* ---- clipping ---- */

double
lf_clip_grad_norm (int n, LfTensor *const *params, double max_norm)
{
  double sq = 0;
  for (int i = 0; i < n; i++)
    {
      LfTensor *p = params[i];
      if (has_grad (p))
        sq += lf_dot_chunked (p->grad, p->grad, p->numel);
    }
  double norm = sqrt (sq);
  if (max_norm > 0 && norm > max_norm)
    {
      LfReal f = (LfReal) (max_norm / (norm + 1e-6));
      for (int i = 0; i < n; i++)
        {
          LfTensor *p = params[i];
          if (!has_grad (p))
            continue;
          LfReal *g = p->grad;
#pragma omp parallel for simd schedule(static) if (p->numel >= LF_PAR_MIN)
          for (int64_t j = 0; j < p->numel; j++)
            g[j] *= f;
        }
    }
  return norm;
}

/* ---- checkpoints (private: framework/checkpoint.c) ---- */

void
lf_optimizer_export (LfOptimizer *opt, LfOptimExportFn fn, void *user)
{
  for (int i = 0; i < opt->n; i++)
    {
      ParamState *s = &opt->ps[i];
      fn (user, s->p, s->m, s->v, s->t);
    }
}

gboolean
lf_optimizer_import (LfOptimizer *opt, LfTensor *p, const LfReal *m, const LfReal *v, int64_t t)
{
  ParamState *s = find (opt, p);
  if (s == NULL)
    return FALSE;
  int64_t n = p->numel;
  if (m)
    {
      if (s->m == NULL)
        s->m = zeroed (n);
      memcpy (s->m, m, (size_t) n * sizeof (LfReal));
    }
  if (v)
    {
      if (s->v == NULL)
        s->v = zeroed (n);
      memcpy (s->v, v, (size_t) n * sizeof (LfReal));
    }
  s->t = t;
  return TRUE;
}
