/* lifelong — tensor creation, ownership and accessors. */
#include "tensor-private.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void
lf_fatal (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fputs ("lifelong: ", stderr);
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
  va_end (ap);
  abort ();
}

int64_t
lf_shape_numel (int ndim, const int64_t *shape)
{
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  return n;
}

LfShapeStr
lf_shape_str (int ndim, const int64_t *shape)
{
  LfShapeStr r;
  size_t at = 0;
  r.s[at++] = '(';
  for (int i = 0; i < ndim && at < sizeof r.s; i++)
    at += (size_t) g_snprintf (r.s + at, sizeof r.s - at, "%s%" G_GINT64_FORMAT,
                               i ? ", " : "", shape[i]);
  if (at < sizeof r.s - 1)
    {
      r.s[at++] = ')';
      r.s[at] = '\0';
    }
  r.s[sizeof r.s - 1] = '\0';
  return r;
}

static void
check_shape (int ndim, const int64_t *shape)
{
  lf_check (ndim >= 1 && ndim <= LF_MAX_DIMS, "tensor: ndim %d not in [1, %d]", ndim, LF_MAX_DIMS);
  for (int i = 0; i < ndim; i++)
    lf_check (shape[i] >= 0, "tensor: negative size %" G_GINT64_FORMAT " at axis %d", shape[i], i);
}

int
lf_axis_norm (const LfTensor *t, int axis)
{
  int a = axis < 0 ? axis + t->ndim : axis;
  lf_check (a >= 0 && a < t->ndim, "axis %d out of range for a %d-dim tensor", axis, t->ndim);
  return a;
}

LfTensor *
lf_tensor_new (int ndim, const int64_t *shape)
{
  check_shape (ndim, shape);
  return lf_node_new (LF_OP_NONE, ndim, shape, 0, NULL);
}

LfTensor *
lf_tensor_zeros (int ndim, const int64_t *shape)
{
  LfTensor *t = lf_tensor_new (ndim, shape);
  memset (t->data, 0, (size_t) t->numel * sizeof (LfReal));
  return t;
}

LfTensor *
lf_tensor_from_data (int ndim, const int64_t *shape, const LfReal *data)
{
  LfTensor *t = lf_tensor_new (ndim, shape);
  memcpy (t->data, data, (size_t) t->numel * sizeof (LfReal));
  return t;
}

static LfReal *
owned_buffer (int64_t numel)
{
  void *p = NULL;
  size_t bytes = (size_t) (numel > 0 ? numel : 1) * sizeof (LfReal);
  bytes = (bytes + 63) & ~(size_t) 63;
  if (posix_memalign (&p, 64, bytes) != 0)
    lf_fatal ("out of memory allocating %zu bytes", bytes);
  memset (p, 0, bytes);
  return p;
}

static LfTensor *
owned_new (int ndim, const int64_t *shape, gboolean with_grad)
{
  check_shape (ndim, shape);
  lf_init ();
  LfTensor *t = g_new0 (LfTensor, 1);
  t->ndim = ndim;
  memcpy (t->shape, shape, (size_t) ndim * sizeof (int64_t));
  t->numel = lf_shape_numel (ndim, shape);
  t->flags = LF_TF_OWNED;
  t->scope = -1;
  t->data = owned_buffer (t->numel);
  if (with_grad)
    t->grad = owned_buffer (t->numel);
  return t;
}

LfTensor *
lf_param_new (const char *name, int ndim, const int64_t *shape)
{
  LfTensor *t = owned_new (ndim, shape, TRUE);
  t->flags |= LF_TF_PARAM | LF_TF_REQUIRES_GRAD;
  t->name = g_strdup (name);
  return t;
}

LfTensor *
lf_tensor_new_owned (int ndim, const int64_t *shape)
{
  return owned_new (ndim, shape, FALSE);
}

LfTensor *
lf_tensor_clone_owned (const LfTensor *src)
{
  g_return_val_if_fail (src != NULL, NULL);
  LfTensor *t = owned_new (src->ndim, src->shape, FALSE);
  memcpy (t->data, src->data, (size_t) src->numel * sizeof (LfReal));
  return t;
}

void
lf_tensor_free (LfTensor *t)
{
  if (t == NULL)
    return;
  g_return_if_fail (t->flags & LF_TF_OWNED);
  free (t->data);
  free (t->grad);
  g_free (t->name);
  g_free (t);
}

int lf_tensor_ndim (const LfTensor *t) { return t->ndim; }
const int64_t *lf_tensor_shape (const LfTensor *t) { return t->shape; }
int64_t lf_tensor_numel (const LfTensor *t) { return t->numel; }
LfReal *lf_tensor_data (LfTensor *t) { return t->data; }
const char *lf_tensor_name (const LfTensor *t) { return t->name; }
gboolean lf_tensor_is_param (const LfTensor *t) { return (t->flags & LF_TF_PARAM) != 0; }
gboolean lf_tensor_requires_grad (const LfTensor *t) { return (t->flags & LF_TF_REQUIRES_GRAD) != 0; }

int64_t
lf_tensor_dim (const LfTensor *t, int axis)
{
  return t->shape[lf_axis_norm (t, axis)];
}

LfReal *
lf_tensor_grad (LfTensor *t)
{
  return (t->flags & LF_TF_GRAD_VALID) ? t->grad : NULL;
}

LfReal *
lf_tensor_grad_ensure (LfTensor *t)
{
  if (!(t->flags & LF_TF_REQUIRES_GRAD) || t->grad == NULL)
    return NULL;
  if (!(t->flags & LF_TF_GRAD_VALID))
    {
      memset (t->grad, 0, (size_t) t->numel * sizeof (LfReal));
      t->flags |= LF_TF_GRAD_VALID;
    }
  return t->grad;
}

void
lf_tensor_set_name (LfTensor *t, const char *name)
{
  g_return_if_fail (t->flags & LF_TF_OWNED);
  g_free (t->name);
  t->name = g_strdup (name);
}

void
lf_tensor_set_requires_grad (LfTensor *t, gboolean requires_grad)
{
  g_return_if_fail (t->op == LF_OP_NONE);
  if (requires_grad && (t->flags & LF_TF_OWNED) && t->grad == NULL)
    t->grad = owned_buffer (t->numel);   /* an owned buffer becomes trainable */
  if (requires_grad)
    t->flags |= LF_TF_REQUIRES_GRAD;
  else
    t->flags &= ~(uint32_t) (LF_TF_REQUIRES_GRAD | LF_TF_GRAD_VALID);
}

void
lf_tensor_zero_grad (LfTensor *t)
{
  t->flags &= ~(uint32_t) LF_TF_GRAD_VALID;
}

void
lf_tensor_copy_data (LfTensor *dst, const LfTensor *src)
{
  lf_check (dst->numel == src->numel, "copy_data: %" G_GINT64_FORMAT " vs %" G_GINT64_FORMAT " elements",
            dst->numel, src->numel);
  memmove (dst->data, src->data, (size_t) src->numel * sizeof (LfReal));
}

void
lf_tensor_fill (LfTensor *t, LfReal value)
{
  for (int64_t i = 0; i < t->numel; i++)
    t->data[i] = value;
}

gboolean
lf_tensor_same_shape (const LfTensor *a, const LfTensor *b)
{
  if (a->ndim != b->ndim)
    return FALSE;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i])
      return FALSE;
  return TRUE;
}
