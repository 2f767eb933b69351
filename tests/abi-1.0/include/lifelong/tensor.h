/* lifelong — opaque tensors: creation, accessors, the per-step arena and the
 * autograd tape.  Plugins see LfTensor only through these functions, so the
 * host can grow the struct without breaking the plugin ABI. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

G_BEGIN_DECLS

/* The element type.  Always float in liblifelong and in every plugin; the
 * gradient-check tests build the engine a second time with LF_REAL_DOUBLE so
 * that finite differences are tight. */
#ifdef LF_REAL_DOUBLE
typedef double LfReal;
#else
typedef float LfReal;
#endif

#define LF_MAX_DIMS 4

typedef struct LfTensor LfTensor;

/* ---- creation ---------------------------------------------------------- */

/* A new activation tensor in the current tape scope's arena (uninitialised
 * data).  It lives until the scope that created it is popped (or the arena
 * is reset); never free it.  shape has ndim entries, 1 <= ndim <= 4. */
LfTensor *lf_tensor_new (int ndim, const int64_t *shape);
/* Same, filled with zeros / a copy of data (numel values). */
LfTensor *lf_tensor_zeros (int ndim, const int64_t *shape);
LfTensor *lf_tensor_from_data (int ndim, const int64_t *shape, const LfReal *data);

/* A parameter: owned storage (value and gradient), 64-byte aligned, zero
 * filled, requires_grad set.  The caller owns it and frees it with
 * lf_tensor_free.  name may be NULL; it is copied. */
LfTensor *lf_param_new (const char *name, int ndim, const int64_t *shape);
/* An owned tensor without gradient (buffers, Fisher matrices, anchors). */
LfTensor *lf_tensor_new_owned (int ndim, const int64_t *shape);
/* An owned copy of any tensor's values (no gradient, no graph). */
LfTensor *lf_tensor_clone_owned (const LfTensor *t);
/* Frees an owned tensor (NULL is fine).  Arena tensors must not be freed. */
void      lf_tensor_free (LfTensor *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LfTensor, lf_tensor_free)

/* ---- accessors ---------------------------------------------------------- */

int           lf_tensor_ndim (const LfTensor *t);
int64_t       lf_tensor_dim (const LfTensor *t, int axis);   /* axis < 0 counts from the end */
const int64_t *lf_tensor_shape (const LfTensor *t);
int64_t       lf_tensor_numel (const LfTensor *t);
LfReal       *lf_tensor_data (LfTensor *t);
/* The gradient buffer, or NULL when no gradient has been accumulated since
 * it was last zeroed (a NULL gradient means zero). */
LfReal       *lf_tensor_grad (LfTensor *t);
const char   *lf_tensor_name (const LfTensor *t);
void          lf_tensor_set_name (LfTensor *t, const char *name);
gboolean      lf_tensor_is_param (const LfTensor *t);
gboolean      lf_tensor_requires_grad (const LfTensor *t);
/* Freezes (FALSE) or unfreezes a parameter; also marks a leaf (an input) as
 * needing a gradient.  A frozen parameter gets no gradient computed at all,
 * and the optimizer never moves it. */
void          lf_tensor_set_requires_grad (LfTensor *t, gboolean requires_grad);
/* The gradient buffer for writing even when no gradient reached t this
 * step (then zero-filled and marked present): a projection that must write
 * into every parameter's gradient.  NULL for a tensor that cannot have one
 * (frozen, or an activation outside a backward pass). */
LfReal       *lf_tensor_grad_ensure (LfTensor *t);
/* Marks the gradient as zero (O(1): the next accumulation overwrites it). */
void          lf_tensor_zero_grad (LfTensor *t);
/* Copies values (same numel) from src into dst; no graph. */
void          lf_tensor_copy_data (LfTensor *dst, const LfTensor *src);
void          lf_tensor_fill (LfTensor *t, LfReal value);
gboolean      lf_tensor_same_shape (const LfTensor *a, const LfTensor *b);

/* ---- tape scopes and autograd ------------------------------------------- */

/* Tape scopes nest.  lf_tape_push opens a scope: tensors made inside it live
 * in the arena until the matching lf_tape_pop frees them all at once.  With
 * record = FALSE nothing is recorded and no gradient can flow (evaluation).
 * A scope with record = TRUE inside a no-record scope records again (a side
 * gradient during evaluation).  The host opens one scope per training step;
 * a strategy opens its own for a side computation (a reference gradient, a
 * Fisher estimate, a teacher's forward).  Returns the new depth. */
int      lf_tape_push (gboolean record);
void     lf_tape_pop (void);
int      lf_tape_depth (void);
gboolean lf_tape_recording (void);

/* Back-propagates from a scalar (numel 1) tensor recorded in the innermost
 * scope, accumulating into every parameter and leaf that requires a gradient
 * (backward always accumulates).  Intermediate gradients are released after.
 * Tensors from outer scopes are treated as constants, so a side computation
 * never disturbs the step's tape. */
void     lf_backward (LfTensor *loss);

/* A side gradient: d(loss)/d(params[i]) written to grads[i] (numel of each
 * parameter, overwritten, zero where the loss does not depend on it), without
 * touching any tensor's .grad.  Only params[] receive gradients; nothing else
 * is computed for other parameters.  loss must be in the innermost scope. */
void     lf_grad_into (LfTensor *loss, int n, LfTensor *const *params, LfReal *const *grads);

/* ---- arena ------------------------------------------------------------- */

/* Memory that lives as long as the innermost tape scope (uninitialised,
 * 64-byte aligned): a custom op's context, saved statistics, index arrays. */
void    *lf_scope_alloc (size_t bytes);

/* Bytes in use / reserved by the calling thread's activation arena. */
size_t   lf_arena_used (void);
size_t   lf_arena_reserved (void);

G_END_DECLS
