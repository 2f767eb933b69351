/* lifelong — define-by-run reverse-mode autograd: nested tape scopes, one
 * backward pass over the innermost scope, and side gradients (lf_grad_into)
 * that leave every tensor's .grad alone. */
#include "tensor-private.h"
#include <stdlib.h>

#define MAX_DEPTH 64

typedef struct {
  LfArenaMark mark;
  gboolean    record;
  int32_t     serial;
  LfTensor  **nodes;
  int64_t     n_nodes, cap_nodes;
} Scope;

typedef struct {
  Scope   scopes[MAX_DEPTH];
  int     depth;          /* index of the innermost scope; 0 is the root */
  int32_t next_serial;
  gboolean initialised;
  /* the running backward pass */
  int32_t pass_scope;     /* serial of the scope being differentiated, -1 outside */
  gboolean targets_only;  /* lf_grad_into: only LF_TF_TARGET leaves receive */
} Tape;

static _Thread_local Tape tape;

static void
tape_init (void)
{
  if (tape.initialised)
    return;
  tape.initialised = TRUE;
  tape.depth = 0;
  tape.scopes[0].record = TRUE;
  tape.scopes[0].serial = tape.next_serial++;
  tape.scopes[0].mark = lf_arena_mark ();
  tape.pass_scope = -1;
}

static Scope *
top (void)
{
  tape_init ();
  return &tape.scopes[tape.depth];
}

int
lf_tape_push (gboolean record)
{
  tape_init ();
  lf_check (tape.depth + 1 < MAX_DEPTH, "tape: more than %d nested scopes", MAX_DEPTH);
  Scope *s = &tape.scopes[++tape.depth];
  s->record = record;
  s->serial = tape.next_serial++;
  s->mark = lf_arena_mark ();
  s->n_nodes = 0;
  return tape.depth;
}

void
lf_tape_pop (void)
{
  tape_init ();
  lf_check (tape.depth > 0, "tape: lf_tape_pop without a matching lf_tape_push");
  Scope *s = &tape.scopes[tape.depth--];
  s->n_nodes = 0;
  lf_arena_release (s->mark);
}

int lf_tape_depth (void) { tape_init (); return tape.depth; }
gboolean lf_tape_recording (void) { return top ()->record; }

gboolean
lf_needs_grad (const LfTensor *t)
{
  return t != NULL && (t->flags & LF_TF_REQUIRES_GRAD) != 0;
}

LfTensor *
lf_node_new (LfOpId op, int ndim, const int64_t *shape, int nsrc, LfTensor *const *src)
{
  Scope *s = top ();
  lf_check (nsrc >= 0 && nsrc <= LF_MAX_SRC, "%s: %d sources (at most %d)", lf_op_table[op].name, nsrc, LF_MAX_SRC);
  lf_check (ndim >= 1 && ndim <= LF_MAX_DIMS, "%s: ndim %d not in [1, %d]", lf_op_table[op].name, ndim, LF_MAX_DIMS);
  int64_t numel = lf_shape_numel (ndim, shape);
  size_t head = (sizeof (LfTensor) + 63) & ~(size_t) 63;
  char *mem = lf_arena_alloc (head + (size_t) numel * sizeof (LfReal));
  LfTensor *t = (LfTensor *) mem;
  memset (t, 0, sizeof *t);
  t->ndim = ndim;
  memcpy (t->shape, shape, (size_t) ndim * sizeof (int64_t));
  t->numel = numel;
  t->data = (LfReal *) (mem + head);
  t->op = op;
  t->scope = s->serial;
  gboolean grad = FALSE;
  for (int i = 0; i < nsrc; i++)
    {
      t->src[i] = src[i];
      grad |= lf_needs_grad (src[i]);
    }
  if (s->record && grad && op != LF_OP_NONE)
    {
      t->flags |= LF_TF_REQUIRES_GRAD;
      if (s->n_nodes == s->cap_nodes)
        {
          s->cap_nodes = s->cap_nodes ? 2 * s->cap_nodes : 256;
          s->nodes = g_realloc_n (s->nodes, (gsize) s->cap_nodes, sizeof (LfTensor *));
        }
      s->nodes[s->n_nodes++] = t;
    }
  return t;
}

LfReal *
lf_grad_acc (LfTensor *t, gboolean *fresh)
{
  if (t == NULL || !(t->flags & LF_TF_REQUIRES_GRAD))
    return NULL;
  gboolean owned = (t->flags & LF_TF_OWNED) != 0;
  if (owned)
    {
      if (tape.targets_only && !(t->flags & LF_TF_TARGET))
        return NULL;
    }
  else
    {
      /* Arena tensors of other scopes are constants in this pass: an inner
       * side computation must not write into the step's tape, and an outer
       * leaf's gradient must not live in an inner arena. */
      if (t->scope != tape.pass_scope)
        return NULL;
      if (tape.targets_only && t->op == LF_OP_NONE)
        return NULL;
      if (t->grad == NULL)
        t->grad = lf_arena_alloc ((size_t) t->numel * sizeof (LfReal));
    }
  *fresh = !(t->flags & LF_TF_GRAD_VALID);
  t->flags |= LF_TF_GRAD_VALID;
  return t->grad;
}

static void
run_backward (LfTensor *loss)
{
  Scope *s = top ();
  lf_check (loss->numel == 1, "backward: the loss must have one element, not %" G_GINT64_FORMAT, loss->numel);
  if (!(loss->flags & LF_TF_REQUIRES_GRAD))
    return;   /* nothing trainable reaches the loss */
  lf_check (loss->scope == s->serial,
            "backward: the loss was made in another tape scope than the innermost one");
  tape.pass_scope = s->serial;
  if (loss->op == LF_OP_NONE)
    {
      /* a leaf loss: its own gradient is one */
      gboolean fresh;
      LfReal *g = lf_grad_acc (loss, &fresh);
      if (g)
        g[0] = fresh ? 1 : g[0] + 1;
      tape.pass_scope = -1;
      return;
    }
  if (loss->grad == NULL)
    loss->grad = lf_arena_alloc (sizeof (LfReal));
  loss->grad[0] = 1;
  loss->flags |= LF_TF_GRAD_VALID;
  /* Nodes were recorded in creation order, a topological order: walking it
   * backwards visits every consumer before its inputs. */
  int64_t end = s->n_nodes;
  while (end > 0 && s->nodes[end - 1] != loss)
    end--;
  for (int64_t i = end - 1; i >= 0; i--)
    {
      LfTensor *n = s->nodes[i];
      if (n->flags & LF_TF_GRAD_VALID)
        lf_op_table[n->op].backward (n);
    }
  /* Intermediate gradients are consumed: release them so a second pass over
   * the same tape (or a later lf_grad_into) starts clean. */
  for (int64_t i = 0; i < s->n_nodes; i++)
    s->nodes[i]->flags &= ~(uint32_t) LF_TF_GRAD_VALID;
  tape.pass_scope = -1;
}

void
lf_backward (LfTensor *loss)
{
  g_return_if_fail (loss != NULL);
  run_backward (loss);
}

void
lf_grad_into (LfTensor *loss, int n, LfTensor *const *params, LfReal *const *grads)
{
  g_return_if_fail (loss != NULL && n >= 0);
  LfReal  **saved_grad = g_newa (LfReal *, n > 0 ? n : 1);
  uint32_t *saved_flags = g_newa (uint32_t, n > 0 ? n : 1);
  for (int i = 0; i < n; i++)
    {
      LfTensor *p = params[i];
      lf_check (p->flags & LF_TF_OWNED, "lf_grad_into: target %d is not an owned parameter", i);
      saved_grad[i] = p->grad;
      saved_flags[i] = p->flags;
      p->grad = grads[i];
      p->flags = (p->flags & ~(uint32_t) LF_TF_GRAD_VALID) | LF_TF_TARGET;
    }
  tape.targets_only = TRUE;
  run_backward (loss);
  tape.targets_only = FALSE;
  for (int i = 0; i < n; i++)
    {
      LfTensor *p = params[i];
      if (!(p->flags & LF_TF_GRAD_VALID))
        memset (grads[i], 0, (size_t) p->numel * sizeof (LfReal));
      p->grad = saved_grad[i];
      p->flags = saved_flags[i];
    }
}
