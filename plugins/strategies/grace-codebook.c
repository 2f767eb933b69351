/* lifelong plugins — GRACE's codebook (grace-codebook.h). */
#include "grace-codebook.h"
#include <math.h>
#include <string.h>

void
grace_codebook_init (GraceCodebook *cb, int64_t key_dim, int64_t value_dim)
{
  memset (cb, 0, sizeof *cb);
  cb->key_dim = key_dim;
  cb->value_dim = value_dim;
  cb->answers = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
}

void
grace_codebook_clear (GraceCodebook *cb)
{
  g_free (cb->keys);
  g_free (cb->values);
  g_free (cb->eps);
  if (cb->answers)
    g_ptr_array_unref (cb->answers);
  memset (cb, 0, sizeof *cb);
}

static double
dist2 (const LfReal *a, const LfReal *b, int64_t d)
{
  double s = 0;
  for (int64_t i = 0; i < d; i++)
    {
      double t = (double) a[i] - (double) b[i];
      s += t * t;
    }
  return s;
}

int64_t
grace_codebook_nearest (const GraceCodebook *cb, const LfReal *q, double *dist)
{
  int64_t best = -1;
  double bd = INFINITY;
  for (int64_t i = 0; i < cb->n; i++)
    {
      double d = dist2 (cb->keys + i * cb->key_dim, q, cb->key_dim);
      if (d < bd)   /* ties: the earlier key */
        {
          bd = d;
          best = i;
        }
    }
  if (dist)
    *dist = best >= 0 ? sqrt (bd) : INFINITY;
  return best;
}

int64_t
grace_codebook_lookup (const GraceCodebook *cb, const LfReal *q)
{
  double d;
  int64_t i = grace_codebook_nearest (cb, q, &d);
  return i >= 0 && d <= cb->eps[i] ? i : -1;
}

static int64_t
add_entry (GraceCodebook *cb, const LfReal *q, const int32_t *answer, int64_t n_answer, const LfReal *v0, double eps)
{
  if (cb->n == cb->cap)
    {
      cb->cap = MAX (8, 2 * cb->cap);
      cb->keys = g_renew (LfReal, cb->keys, (gsize) (cb->cap * cb->key_dim));
      cb->values = g_renew (LfReal, cb->values, (gsize) (cb->cap * cb->value_dim));
      cb->eps = g_renew (double, cb->eps, (gsize) cb->cap);
    }
  int64_t i = cb->n++;
  memcpy (cb->keys + i * cb->key_dim, q, (size_t) cb->key_dim * sizeof (LfReal));
  memcpy (cb->values + i * cb->value_dim, v0, (size_t) cb->value_dim * sizeof (LfReal));
  cb->eps[i] = eps;
  g_ptr_array_add (cb->answers, g_bytes_new (answer, (gsize) n_answer * sizeof (int32_t)));
  return i;
}

GraceUpdate
grace_codebook_update (GraceCodebook *cb, const LfReal *q, const int32_t *answer, int64_t n_answer,
                       const LfReal *v0, double eps_init, int64_t *entry)
{
  double d;
  int64_t k = grace_codebook_nearest (cb, q, &d);
  if (k < 0 || d > eps_init + cb->eps[k])   /* the balls do not overlap */
    {
      *entry = add_entry (cb, q, answer, n_answer, v0, eps_init);
      cb->n_added++;
      return GRACE_ADDED;
    }
  g_autoptr (GBytes) mine = g_bytes_new_static (answer, (gsize) n_answer * sizeof (int32_t));
  if (g_bytes_equal (mine, g_ptr_array_index (cb->answers, k)))
    {
      *entry = k;
      if (d > cb->eps[k])
        {
          cb->eps[k] = d;   /* "coverage": the radius reaches the new key */
          cb->n_expanded++;
          return GRACE_EXPANDED;
        }
      cb->n_covered++;
      return GRACE_COVERED;
    }
  /* another answer: split.  Both radii shrink (never grow) to at most half
   * the distance, the old one strictly below it, so the balls are disjoint
   * and the new key's own query finds its own entry. */
  double old_eps = MIN (cb->eps[k], nextafter (d / 2, 0));
  double new_eps = MIN (eps_init, d / 2);
  cb->eps[k] = old_eps;
  *entry = add_entry (cb, q, answer, n_answer, v0, new_eps);
  cb->n_split++;
  return GRACE_SPLIT;
}

size_t
grace_codebook_bytes (const GraceCodebook *cb)
{
  size_t b = (size_t) cb->n * ((size_t) (cb->key_dim + cb->value_dim) * sizeof (LfReal) + sizeof (double));
  for (guint i = 0; i < cb->answers->len; i++)
    b += g_bytes_get_size (g_ptr_array_index (cb->answers, i));
  return b;
}

void
grace_codebook_save (const GraceCodebook *cb, LfState *st)
{
  lf_state_put_int (st, "grace.n", cb->n);
  lf_state_put_int (st, "grace.key_dim", cb->key_dim);
  lf_state_put_int (st, "grace.value_dim", cb->value_dim);
  lf_state_put_int (st, "grace.added", cb->n_added);
  lf_state_put_int (st, "grace.expanded", cb->n_expanded);
  lf_state_put_int (st, "grace.split", cb->n_split);
  lf_state_put_int (st, "grace.covered", cb->n_covered);
  if (cb->n == 0)
    return;
  int64_t ks[2] = { cb->n, cb->key_dim }, vs[2] = { cb->n, cb->value_dim };
  g_autoptr (LfTensor) k = lf_tensor_new_owned (2, ks);
  g_autoptr (LfTensor) v = lf_tensor_new_owned (2, vs);
  memcpy (lf_tensor_data (k), cb->keys, (size_t) (cb->n * cb->key_dim) * sizeof (LfReal));
  memcpy (lf_tensor_data (v), cb->values, (size_t) (cb->n * cb->value_dim) * sizeof (LfReal));
  lf_state_put_tensor (st, "grace.keys", k);
  lf_state_put_tensor (st, "grace.values", v);
  lf_state_put_bytes (st, "grace.eps", cb->eps, (size_t) cb->n * sizeof (double));
  /* answers: n lengths (int64), then every answer's tokens (int32) */
  GByteArray *a = g_byte_array_new ();
  for (int64_t i = 0; i < cb->n; i++)
    {
      int64_t len = (int64_t) g_bytes_get_size (g_ptr_array_index (cb->answers, i)) / (int64_t) sizeof (int32_t);
      g_byte_array_append (a, (const guint8 *) &len, sizeof len);
    }
  for (int64_t i = 0; i < cb->n; i++)
    {
      gsize sz;
      const guint8 *p = g_bytes_get_data (g_ptr_array_index (cb->answers, i), &sz);
      g_byte_array_append (a, p, (guint) sz);
    }
  lf_state_put_bytes (st, "grace.answers", a->data, a->len);
  g_byte_array_unref (a);
}

static gboolean
bad (GError **error, const char *key)
{
  g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "strategy grace: checkpoint's %s is missing or malformed", key);
  return FALSE;
}

gboolean
grace_codebook_load (GraceCodebook *cb, const LfState *st, GError **error)
{
  int64_t n, kd, vd, c[4];
  if (!lf_state_get_int (st, "grace.n", &n) || n < 0)
    return bad (error, "grace.n");
  if (!lf_state_get_int (st, "grace.key_dim", &kd) || kd != cb->key_dim)
    return bad (error, "grace.key_dim");
  if (!lf_state_get_int (st, "grace.value_dim", &vd) || vd != cb->value_dim)
    return bad (error, "grace.value_dim");
  const char *cn[4] = { "grace.added", "grace.expanded", "grace.split", "grace.covered" };
  for (int i = 0; i < 4; i++)
    if (!lf_state_get_int (st, cn[i], &c[i]))
      return bad (error, cn[i]);
  GraceCodebook nb;
  grace_codebook_init (&nb, kd, vd);
  if (n > 0)
    {
      g_autoptr (LfTensor) k = lf_state_get_tensor (st, "grace.keys");
      g_autoptr (LfTensor) v = lf_state_get_tensor (st, "grace.values");
      size_t ne, na;
      const double *eps = lf_state_get_bytes (st, "grace.eps", &ne);
      const guint8 *ans = lf_state_get_bytes (st, "grace.answers", &na);
      if (k == NULL || lf_tensor_numel (k) != n * kd)
        return grace_codebook_clear (&nb), bad (error, "grace.keys");
      if (v == NULL || lf_tensor_numel (v) != n * vd)
        return grace_codebook_clear (&nb), bad (error, "grace.values");
      if (eps == NULL || ne != (size_t) n * sizeof (double))
        return grace_codebook_clear (&nb), bad (error, "grace.eps");
      if (ans == NULL || na < (size_t) n * sizeof (int64_t))
        return grace_codebook_clear (&nb), bad (error, "grace.answers");
      size_t off = (size_t) n * sizeof (int64_t);
      for (int64_t i = 0; i < n; i++)
        {
          int64_t len;
          memcpy (&len, ans + i * (int64_t) sizeof len, sizeof len);
          if (len < 0 || off + (size_t) len * sizeof (int32_t) > na)
            return grace_codebook_clear (&nb), bad (error, "grace.answers");
          g_autofree int32_t *tok = g_memdup2 (ans + off, (gsize) len * sizeof (int32_t));
          off += (size_t) len * sizeof (int32_t);
          add_entry (&nb, lf_tensor_data (k) + i * kd, tok, len, lf_tensor_data (v) + i * vd, eps[i]);
        }
      if (off != na)
        return grace_codebook_clear (&nb), bad (error, "grace.answers");
    }
  nb.n_added = c[0];
  nb.n_expanded = c[1];
  nb.n_split = c[2];
  nb.n_covered = c[3];
  grace_codebook_clear (cb);
  *cb = nb;
  return TRUE;
}
