/* lifelong — optimizers with freezing built in: a parameter without
 * requires_grad, or an element whose mask byte is 0, is never moved, and its
 * momentum / moment estimates are never touched (so weight decay and Adam's
 * momentum cannot drift a frozen weight).  Updates are fused one-pass loops. */
#include "tensor-private.h"
#include <math.h>
#include <stdlib.h>

typedef struct {
  LfTensor *p;
  LfReal   *m;        /* SGD momentum buffer / Adam first moment  */
  LfReal   *v;        /* Adam second moment                       */
  uint8_t  *mask;     /* NULL: every element trainable            */
  int64_t   t;        /* updates applied (Adam bias correction)   */
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
  s->m = s->v = NULL;
  s->mask = NULL;
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

static void
sgd_update (ParamState *s, const LfOptimConfig *c, double lr)
{
  LfTensor *p = s->p;
  const int64_t n = p->numel;
  const LfReal wd = (LfReal) c->weight_decay, mu = (LfReal) c->momentum, flr = (LfReal) lr;
  LfReal *restrict w = p->data;
  const LfReal *restrict g = p->grad;
  const uint8_t *restrict mask = s->mask;
  if (mu == 0)
    {
      if (mask == NULL)
        {
#pragma omp parallel for simd schedule(static) if (n >= LF_PAR_MIN)
          for (int64_t i = 0; i < n; i++)
            w[i] = w[i] - flr * (g[i] + wd * w[i]);
        }
      else
        {
#pragma omp parallel for simd schedule(static) if (n >= LF_PAR_MIN)
          for (int64_t i = 0; i < n; i++)
            w[i] = select_kept (mask[i], w[i] - flr * (g[i] + wd * w[i]), w[i]);
        }
      return;
    }
  /* PyTorch starts the buffer at the first gradient; a zeroed buffer gives
   * mu 0 + d = d exactly, so an element first trained late (a mask lifted)
   * starts the same way. */
  if (s->m == NULL)
    s->m = zeroed (n);
  LfReal *restrict buf = s->m;
  /* the step direction, without a branch: Nesterov d + mu b = 1 d + mu b,
   * classic b = 0 d + 1 b (both exact for finite values) */
  const LfReal kd = c->nesterov ? 1 : 0, kb = c->nesterov ? mu : 1;
  if (mask == NULL)
    {
#pragma omp parallel for simd schedule(static) if (n >= LF_PAR_MIN)
      for (int64_t i = 0; i < n; i++)
        {
          LfReal d = g[i] + wd * w[i];
          LfReal b = mu * buf[i] + d;
          buf[i] = b;
          w[i] = w[i] - flr * (kd * d + kb * b);
        }
    }
  else
    {
#pragma omp parallel for simd schedule(static) if (n >= LF_PAR_MIN)
      for (int64_t i = 0; i < n; i++)
        {
          LfReal d = g[i] + wd * w[i];
          LfReal b = mu * buf[i] + d;
          w[i] = select_kept (mask[i], w[i] - flr * (kd * d + kb * b), w[i]);
          buf[i] = select_kept (mask[i], b, buf[i]);
        }
    }
}

/* Adam's constants for one step of one parameter. */
typedef struct {
  LfReal b1, b2, step, inv_sqrt_bc2, eps, l2, decay;
} AdamK;

/* Updates are split into fixed blocks: each is one vectorised call, and the
 * blocks are spread over the threads. */
#define UPDATE_BLOCK 16384

LF_TARGET_CLONES static void
adam_block (const AdamK *k, LfReal *restrict w, LfReal *restrict m, LfReal *restrict v,
            const LfReal *restrict g, int64_t n)
{
  const LfReal b1 = k->b1, b2 = k->b2, step = k->step, isb = k->inv_sqrt_bc2;
  const LfReal eps = k->eps, l2 = k->l2, decay = k->decay;
  for (int64_t i = 0; i < n; i++)
    {
      LfReal gi = g[i] + l2 * w[i];
      LfReal mi = b1 * m[i] + (1 - b1) * gi;
      LfReal vi = b2 * v[i] + (1 - b2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      w[i] = w[i] - decay * w[i] - step * mi / (lf_sqrtr (vi) * isb + eps);
    }
}

LF_TARGET_CLONES static void
adam_block_masked (const AdamK *k, LfReal *restrict w, LfReal *restrict m, LfReal *restrict v,
                   const LfReal *restrict g, const uint8_t *restrict mask, int64_t n)
{
  const LfReal b1 = k->b1, b2 = k->b2, step = k->step, isb = k->inv_sqrt_bc2;
  const LfReal eps = k->eps, l2 = k->l2, decay = k->decay;
  for (int64_t i = 0; i < n; i++)
    {
      LfReal gi = g[i] + l2 * w[i];
      LfReal mi = b1 * m[i] + (1 - b1) * gi;
      LfReal vi = b2 * v[i] + (1 - b2) * gi * gi;
      LfReal nw = w[i] - decay * w[i] - step * mi / (lf_sqrtr (vi) * isb + eps);
      m[i] = select_kept (mask[i], mi, m[i]);
      v[i] = select_kept (mask[i], vi, v[i]);
      w[i] = select_kept (mask[i], nw, w[i]);
    }
}

static void
adam_update (ParamState *s, const LfOptimConfig *c, double lr)
{
  LfTensor *p = s->p;
  const int64_t n = p->numel;
  if (s->m == NULL)
    {
      s->m = zeroed (n);
      s->v = zeroed (n);
    }
  /* The moments run on the betas as float holds them; the bias corrections
   * must use the same values (1 - b2 of a float 0.99999 is 0.14% off 1e-5,
   * and a double 1 - 0.99999^t would not match the moment it corrects). */
  const int64_t t = s->t + 1;
  const LfReal b1 = (LfReal) c->beta1, b2 = (LfReal) c->beta2;
  const double bc1 = 1 - pow ((double) b1, (double) t), bc2 = 1 - pow ((double) b2, (double) t);
  const LfReal step = (LfReal) (lr / bc1), inv_sqrt_bc2 = (LfReal) (1.0 / sqrt (bc2));
  const LfReal eps = (LfReal) c->eps;
  const gboolean decoupled = c->kind == LF_OPTIM_ADAMW;
  const LfReal l2 = decoupled ? 0 : (LfReal) c->weight_decay;
  /* AdamW's w (1 - lr wd) as w - (lr wd) w: a float 1 - lr wd is off by up
   * to 3e-8, the same for every weight at every step (lr wd = 1e-6 decays
   * up to 3% too much or too little; below 3e-8 nothing decays at all);
   * (lr wd) w rounds in w's own precision instead, without a bias. */
  const LfReal decay = decoupled ? (LfReal) (lr * c->weight_decay) : 0;
  const AdamK k = { b1, b2, step, inv_sqrt_bc2, eps, l2, decay };
  LfReal *w = p->data, *m = s->m, *v = s->v;
  const LfReal *g = p->grad;
  const uint8_t *mask = s->mask;
#pragma omp parallel for schedule(static) if (n >= LF_PAR_MIN)
  for (int64_t lo = 0; lo < n; lo += UPDATE_BLOCK)
    {
      int64_t len = MIN (UPDATE_BLOCK, n - lo);
      if (mask == NULL)
        adam_block (&k, w + lo, m + lo, v + lo, g + lo, len);
      else
        adam_block_masked (&k, w + lo, m + lo, v + lo, g + lo, mask + lo, len);
    }
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
      if (!has_grad (s->p))
        continue;   /* frozen, or no gradient reached it this step */
      if (opt->cfg.kind == LF_OPTIM_SGD)
        sgd_update (s, &opt->cfg, opt->cfg.lr);
      else
        adam_update (s, &opt->cfg, opt->cfg.lr);
      s->t++;
    }
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
