/* lifelong — LfState: the named tensors, integers and byte blobs a strategy
 * keeps in a checkpoint. */
#include "host.h"

LfState *
lf_state_new (void)
{
  LfState *st = g_new0 (LfState, 1);
  st->tensors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) lf_tensor_free);
  st->ints = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  st->bytes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref);
  return st;
}

void
lf_state_free (LfState *st)
{
  if (st == NULL)
    return;
  g_hash_table_unref (st->tensors);
  g_hash_table_unref (st->ints);
  g_hash_table_unref (st->bytes);
  g_free (st);
}

void
lf_state_put_tensor (LfState *st, const char *name, const LfTensor *t)
{
  g_return_if_fail (st != NULL && name != NULL && t != NULL);
  g_hash_table_replace (st->tensors, g_strdup (name), lf_tensor_clone_owned (t));
}

LfTensor *
lf_state_get_tensor (const LfState *st, const char *name)
{
  LfTensor *t = g_hash_table_lookup (st->tensors, name);
  return t ? lf_tensor_clone_owned (t) : NULL;
}

gboolean
lf_state_get_tensor_into (const LfState *st, const char *name, LfTensor *dst, GError **error)
{
  g_return_val_if_fail (st != NULL && name != NULL && dst != NULL, FALSE);
  const LfTensor *t = g_hash_table_lookup (st->tensors, name);
  if (t == NULL || lf_tensor_numel (t) != lf_tensor_numel (dst))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "the checkpoint %s tensor %s",
                   t ? "has another shape for" : "lacks", name);
      return FALSE;
    }
  lf_tensor_copy_data (dst, t);
  return TRUE;
}

void
lf_state_put_int (LfState *st, const char *name, int64_t v)
{
  g_return_if_fail (st != NULL && name != NULL);
  g_hash_table_replace (st->ints, g_strdup (name), g_memdup2 (&v, sizeof v));
}

gboolean
lf_state_get_int (const LfState *st, const char *name, int64_t *v)
{
  const int64_t *p = g_hash_table_lookup (st->ints, name);
  if (p == NULL)
    return FALSE;
  *v = *p;
  return TRUE;
}

void
lf_state_put_bytes (LfState *st, const char *name, const void *data, size_t n)
{
  g_return_if_fail (st != NULL && name != NULL);
  g_hash_table_replace (st->bytes, g_strdup (name), g_bytes_new (data, n));
}

const void *
lf_state_get_bytes (const LfState *st, const char *name, size_t *n)
{
  GBytes *b = g_hash_table_lookup (st->bytes, name);
  if (b == NULL)
    return NULL;
  gsize len;
  const void *d = g_bytes_get_data (b, &len);
  if (n)
    *n = len;
  return d;
}
