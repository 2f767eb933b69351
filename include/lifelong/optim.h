/* lifelong — optimizers (SGD with momentum / Nesterov, Adam, AdamW), learning
 * rate schedules, global-norm clipping, and freezing inside the optimizer. */
#pragma once

#include <lifelong/tensor.h>

G_BEGIN_DECLS

typedef enum {
  LF_OPTIM_SGD = 0,
  LF_OPTIM_ADAM,
  LF_OPTIM_ADAMW,
} LfOptimKind;

typedef struct {
  LfOptimKind kind;
  double   lr;
  double   momentum;       /* SGD; 0 = plain SGD                         */
  gboolean nesterov;       /* SGD with momentum                          */
  double   weight_decay;   /* SGD/Adam: L2 added to the gradient; AdamW: decoupled */
  double   beta1, beta2;   /* Adam/AdamW; default 0.9, 0.999             */
  double   eps;            /* Adam/AdamW; default 1e-8                   */
} LfOptimConfig;

/* Fills defaults for a kind: lr 1e-3, betas 0.9/0.999, eps 1e-8, AdamW decay 0.01. */
void lf_optim_config_init (LfOptimConfig *cfg, LfOptimKind kind);
/* "sgd", "adam", "adamw" -> kind; FALSE for anything else. */
gboolean lf_optim_kind_from_string (const char *s, LfOptimKind *kind);

typedef struct LfOptimizer LfOptimizer;

LfOptimizer *lf_optimizer_new (const LfOptimConfig *cfg);
void         lf_optimizer_free (LfOptimizer *opt);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LfOptimizer, lf_optimizer_free)

/* The parameter list.  set_params follows a changed module tree: state is
 * kept for parameters it already had, created for new ones and dropped for
 * the ones that are gone.  The optimizer does not own the tensors. */
void     lf_optimizer_set_params (LfOptimizer *opt, int n, LfTensor *const *params);
void     lf_optimizer_add_param (LfOptimizer *opt, LfTensor *p);
int      lf_optimizer_n_params (const LfOptimizer *opt);

/* Per-element freezing (PackNet): mask has numel(p) bytes, 0 = frozen.  The
 * optimizer copies it; NULL removes it.  A frozen element's value and its
 * optimizer state are bitwise unchanged by step (momentum and weight decay
 * included).  A whole parameter is frozen with lf_tensor_set_requires_grad. */
void     lf_optimizer_set_mask (LfOptimizer *opt, LfTensor *p, const uint8_t *mask);

/* ---- a regulariser's pull, folded into the update (since ABI 1.2) ----------
 * EWC, online EWC, MAS and SI pull each weight towards an anchor with
 * coef * sum w (p - anchor)^2.  Instead of adding the penalty's gradient to
 * .grad after backward (a pass over p, anchor, w and .grad of its own), the
 * strategy hands the pull to the optimizer, whose update pass applies it.
 *
 * lf_optimizer_set_pull: from the next step on, p's update uses
 *   g + 2 c w (p - anchor)    (2 c = 2 * (LfReal) coef, rounded as
 *                              lf_quadratic_penalty_add_grad rounds it)
 * in place of its gradient g, so a step is bitwise the step after adding
 * the penalty's gradient to .grad.  weight NULL: w = 1 (an L2 pull);
 * anchor NULL removes the pull.  anchor and weight (numel(p) values each)
 * are borrowed: they must stay valid, at the same address, until the pull
 * is removed, replaced, or p leaves the parameter list (set_params drops
 * it with p's state); their values may change between steps.  The pull
 * survives set_params (while p stays listed) and reset_state.  A trainable
 * parameter with a pull that no gradient reached this step is moved by the
 * pull alone (g = 0, and .grad is written as zeros and marked valid, as
 * adding the penalty's gradient did); a frozen parameter (requires_grad
 * off) is neither moved nor measured, and a masked element stays bitwise
 * unchanged.  Clipping (lf_clip_grad_norm on .grad before the step) does
 * not see the pull.  Adds p to the list when it is not there yet.
 *
 * lf_optimizer_set_path_integral: during each update of p,
 *   acc[i] -= g[i] * (p_new[i] - p_old[i])
 * with g the gradient before the pull (SI's "unregularised" gradient; 0
 * when only the pull moved p).  acc (numel(p) values) is borrowed as above;
 * NULL removes it.
 *
 * lf_optimizer_pull_value: sum w (p - anchor)^2 over the parameters with a
 * pull, measured by the last lf_optimizer_step on the weights before it
 * updated them (each parameter summed in fixed chunks, in order, then the
 * parameters in list order: the same value at any thread count, and the
 * value lf_quadratic_penalty_add_grad returns).  0 before the first step. */
void     lf_optimizer_set_pull (LfOptimizer *opt, LfTensor *p, const LfReal *anchor, const LfReal *weight,
                                double coef);
void     lf_optimizer_set_path_integral (LfOptimizer *opt, LfTensor *p, LfReal *acc);
double   lf_optimizer_pull_value (const LfOptimizer *opt);

/* One update of every trainable parameter that has a gradient (or a pull). */
void     lf_optimizer_step (LfOptimizer *opt);
/* Marks every parameter's gradient as zero. */
void     lf_optimizer_zero_grad (LfOptimizer *opt);
/* Forgets momentum / moment estimates and step counts (a new experience). */
void     lf_optimizer_reset_state (LfOptimizer *opt);
void     lf_optimizer_set_lr (LfOptimizer *opt, double lr);
double   lf_optimizer_get_lr (const LfOptimizer *opt);
/* Bytes of optimizer state. */
size_t   lf_optimizer_state_bytes (const LfOptimizer *opt);

/* ---- schedules ---------------------------------------------------------- */

typedef enum {
  LF_SCHEDULE_CONSTANT = 0,
  LF_SCHEDULE_STEP,      /* lr * gamma^(floor(step / step_size))               */
  LF_SCHEDULE_COSINE,    /* min_lr + (lr - min_lr) (1 + cos(pi t / T)) / 2     */
} LfScheduleKind;

typedef struct {
  LfScheduleKind kind;
  int64_t warmup_steps;  /* linear warm-up from lr/warmup to lr, any kind     */
  int64_t step_size;     /* STEP                                               */
  double  gamma;         /* STEP                                               */
  int64_t total_steps;   /* COSINE: T, counted after warm-up                   */
  double  min_lr;        /* COSINE                                             */
} LfSchedule;

/* The learning rate at step (0-based) for a base rate. */
double lf_schedule_lr (const LfSchedule *s, double base_lr, int64_t step);

/* ---- clipping ------------------------------------------------------------ */

/* Global L2 norm of the gradients of params (frozen or gradient-less ones
 * count as zero); when max_norm > 0 and the norm exceeds it, scales every
 * gradient by max_norm / norm.  Returns the norm before clipping.  The sum is
 * chunked in a fixed order (thread-count independent). */
double lf_clip_grad_norm (int n, LfTensor *const *params, double max_norm);

G_END_DECLS
