/* lifelong toolkit — snapshots: owned copies of a module tree's parameters,
 * keyed by full name, so they follow whatever plugins did to the tree.  A
 * swap exchanges data pointers (O(parameters), no copy) for a teacher's
 * forward on the live structure; restore copies values back. */
#include "tensor-private.h"

struct LfSnapshot {
  GPtrArray  *copies;    /* LfTensor *, owned, named like the parameter, in tree order */
  GHashTable *by_name;   /* name (the copy's own) -> copy, borrowed */
};

LfSnapshot *
lf_snapshot_take (LfModule *root, gboolean trainable_only)
{
  g_return_val_if_fail (root != NULL, NULL);
  LfSnapshot *s = g_new0 (LfSnapshot, 1);
  s->copies = g_ptr_array_new_with_free_func ((GDestroyNotify) lf_tensor_free);
  s->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *params = lf_module_params (root, "*", trainable_only);
  for (guint i = 0; i < params->len; i++)
    {
      LfTensor *p = params->pdata[i];
      const char *name = lf_tensor_name (p);
      if (name == NULL || g_hash_table_contains (s->by_name, name))
        continue;   /* a tree names every parameter once; be safe anyway */
      LfTensor *copy = lf_tensor_clone_owned (p);
      lf_tensor_set_name (copy, name);
      g_ptr_array_add (s->copies, copy);
      g_hash_table_insert (s->by_name, (gpointer) lf_tensor_name (copy), copy);
    }
  g_ptr_array_unref (params);
  return s;
}

void
lf_snapshot_free (LfSnapshot *s)
{
  if (s == NULL)
    return;
  g_hash_table_unref (s->by_name);     /* before the copies that own its keys */
  g_ptr_array_unref (s->copies);
  g_free (s);
}

int
lf_snapshot_n (const LfSnapshot *s)
{
  g_return_val_if_fail (s != NULL, 0);
  return (int) s->copies->len;
}

LfTensor *
lf_snapshot_get (const LfSnapshot *s, const char *name)
{
  g_return_val_if_fail (s != NULL, NULL);
  return name ? g_hash_table_lookup (s->by_name, name) : NULL;
}

/* The stored copy of live parameter p when it has p's shape, else NULL (a
 * parameter added or reshaped since, e.g. an expanded head). */
static LfTensor *
match (const LfSnapshot *s, const LfTensor *p)
{
  LfTensor *c = lf_snapshot_get (s, lf_tensor_name (p));
  return c && lf_tensor_same_shape (c, p) ? c : NULL;
}

/* A copy whose shape no longer matches its parameter counts as absent, so
 * the result can go straight to lf_quadratic_penalty. */
void
lf_snapshot_lookup (const LfSnapshot *s, int n, LfTensor *const *params, LfTensor **out)
{
  g_return_if_fail (s != NULL && n >= 0);
  g_return_if_fail (n == 0 || (params != NULL && out != NULL));
  for (int i = 0; i < n; i++)
    out[i] = params[i] ? match (s, params[i]) : NULL;
}

/* Both buffers are owned, 64-byte aligned and hold numel values, so their
 * pointers can change hands.  Every parameter below root counts, frozen or
 * not (a snapshot taken with trainable_only simply has no copy of the
 * frozen ones).  The swapped values are what lf_backward reads too: swap
 * back before differentiating a graph recorded with the other values. */
int
lf_snapshot_swap (LfSnapshot *s, LfModule *root)
{
  g_return_val_if_fail (s != NULL && root != NULL, 0);
  GPtrArray *params = lf_module_params (root, "*", FALSE);
  int n = 0;
  for (guint i = 0; i < params->len; i++)
    {
      LfTensor *p = params->pdata[i], *c = match (s, p);
      if (c == NULL)
        continue;
      g_assert ((p->flags & LF_TF_OWNED) && (c->flags & LF_TF_OWNED) && p->numel == c->numel);
      LfReal *t = p->data;
      p->data = c->data;
      c->data = t;
      n++;
    }
  g_ptr_array_unref (params);
  return n;
}

int
lf_snapshot_restore (const LfSnapshot *s, LfModule *root)
{
  g_return_val_if_fail (s != NULL && root != NULL, 0);
  GPtrArray *params = lf_module_params (root, "*", FALSE);
  int n = 0;
  for (guint i = 0; i < params->len; i++)
    {
      LfTensor *p = params->pdata[i], *c = match (s, p);
      if (c == NULL)
        continue;
      lf_tensor_copy_data (p, c);
      n++;
    }
  g_ptr_array_unref (params);
  return n;
}

size_t
lf_snapshot_bytes (const LfSnapshot *s)
{
  g_return_val_if_fail (s != NULL, 0);
  size_t bytes = sizeof *s;
  for (guint i = 0; i < s->copies->len; i++)
    {
      const LfTensor *c = s->copies->pdata[i];
      size_t data = ((size_t) MAX (c->numel, 1) * sizeof (LfReal) + 63) & ~(size_t) 63;
      bytes += sizeof (LfTensor) + data + strlen (c->name) + 1 + 2 * sizeof (gpointer);
    }
  return bytes;
}
