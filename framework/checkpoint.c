/* lifelong — experience-boundary checkpoints: the model's parameters, the
 * optimizer's moments, the strategy's state and the run's progress (matrix
 * rows so far, step, times) in one safetensors file with a checksum, keyed
 * by a hash of the resolved config so a run never resumes from another
 * run's file. */
#include "checkpoint.h"
#include "safetensors.h"
#include "json-write.h"

struct LfCheckpoint {
  LfSafetensors *st;
  char          *path;
};

typedef struct {
  GPtrArray *names;    /* owned strings */
  GPtrArray *tensors;  /* owned tensors */
} Pack;

static void
pack_add (Pack *pk, const char *prefix, const char *name, int ndim, const int64_t *shape, const LfReal *data)
{
  LfTensor *t = lf_tensor_new_owned (ndim, shape);
  memcpy (lf_tensor_data (t), data, (size_t) lf_tensor_numel (t) * sizeof (LfReal));
  g_ptr_array_add (pk->names, g_strconcat (prefix, name, NULL));
  g_ptr_array_add (pk->tensors, t);
}

typedef struct {
  Pack       *pk;
  JsonObject *steps;
} OptPack;

static void
pack_optimizer (void *user, LfTensor *p, const LfReal *m, const LfReal *v, int64_t t)
{
  OptPack *op = user;
  const char *name = lf_tensor_name (p);
  if (name == NULL)
    return;
  if (m)
    pack_add (op->pk, "optim.m/", name, lf_tensor_ndim (p), lf_tensor_shape (p), m);
  if (v)
    pack_add (op->pk, "optim.v/", name, lf_tensor_ndim (p), lf_tensor_shape (p), v);
  json_object_set_int_member (op->steps, name, t);
}

static JsonArray *
doubles (const double *v, int64_t n)
{
  JsonArray *a = json_array_new ();
  for (int64_t i = 0; i < n; i++)
    {
      if (isfinite (v[i]))
        json_array_add_double_element (a, v[i]);
      else
        json_array_add_null_element (a);
    }
  return a;
}

gboolean
lf_checkpoint_write (const char *path, const char *config_hash, LfModel *model, LfOptimizer *opt,
                     const LfState *st, const LfProgress *pg, GError **error)
{
  Pack pk = { g_ptr_array_new_with_free_func (g_free),
              g_ptr_array_new_with_free_func ((GDestroyNotify) lf_tensor_free) };
  g_autoptr (GPtrArray) params = lf_model_params (model, FALSE);
  for (guint i = 0; i < params->len; i++)
    {
      LfTensor *p = params->pdata[i];
      pack_add (&pk, "model/", lf_tensor_name (p), lf_tensor_ndim (p), lf_tensor_shape (p), lf_tensor_data (p));
    }
  JsonObject *steps = json_object_new ();
  OptPack op = { &pk, steps };
  lf_optimizer_export (opt, pack_optimizer, &op);

  JsonObject *ints = json_object_new (), *bytes = json_object_new ();
  if (st)
    {
      GHashTableIter it;
      gpointer k, v;
      g_hash_table_iter_init (&it, st->tensors);
      while (g_hash_table_iter_next (&it, &k, &v))
        pack_add (&pk, "strategy/", k, lf_tensor_ndim (v), lf_tensor_shape (v), lf_tensor_data (v));
      g_hash_table_iter_init (&it, st->ints);
      while (g_hash_table_iter_next (&it, &k, &v))
        json_object_set_int_member (ints, k, *(int64_t *) v);
      g_hash_table_iter_init (&it, st->bytes);
      while (g_hash_table_iter_next (&it, &k, &v))
        {
          gsize n;
          const guchar *d = g_bytes_get_data (v, &n);
          g_autofree char *b64 = g_base64_encode (d, n);
          json_object_set_string_member (bytes, k, b64);
        }
    }

  JsonObject *prog = json_object_new ();
  json_object_set_int_member (prog, "experience_done", pg->experience_done);
  json_object_set_int_member (prog, "step", pg->step);
  json_object_set_int_member (prog, "train_samples", pg->train_samples);
  json_object_set_double_member (prog, "t_train", pg->t_train);
  json_object_set_double_member (prog, "t_eval", pg->t_eval);
  json_object_set_array_member (prog, "rows", doubles ((const double *) pg->rows->data, pg->rows->len));
  json_object_set_array_member (prog, "validation_rows", doubles ((const double *) pg->vrows->data, pg->vrows->len));
  JsonArray *re = json_array_new ();
  for (guint i = 0; i < pg->row_exp->len; i++)
    json_array_add_int_element (re, g_array_index (pg->row_exp, int64_t, i));
  json_object_set_array_member (prog, "row_experiences", re);
  json_object_set_array_member (prog, "baseline", doubles (pg->baseline, pg->T));
  json_object_set_object_member (prog, "optimizer_steps", steps);
  json_object_set_object_member (prog, "strategy_ints", ints);
  json_object_set_object_member (prog, "strategy_bytes", bytes);
  JsonNode *node = json_node_init_object (json_node_alloc (), prog);
  g_autofree char *progress = lf_json_to_string (node, FALSE);
  json_node_unref (node);
  json_object_unref (prog);

  const char *keys[] = { "lifelong.kind", "lifelong.config_sha256", "lifelong.progress" };
  const char *vals[] = { "checkpoint", config_hash, progress };
  gboolean ok = lf_safetensors_write (path, (int) pk.names->len, (const char *const *) pk.names->pdata,
                                      (LfTensor *const *) pk.tensors->pdata, keys, vals, 3, error);
  g_ptr_array_unref (pk.names);
  g_ptr_array_unref (pk.tensors);
  return ok;
}

/* ---- reading the progress back ----
 * The checksum covers the data section, not the header, so the progress
 * metadata is checked field by field here: a damaged or hand-edited one is
 * refused with the field named, never trusted by the run resuming from it
 * (an experience index out of range would index past the scenario). */

#define PROGRESS_FAIL(...)                                                                \
  do {                                                                                    \
    g_autofree char *what_ = g_strdup_printf (__VA_ARGS__);                               \
    g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT, "%s: progress metadata: %s", path, what_); \
    return FALSE;                                                                         \
  } while (0)

static gboolean
node_is_int (JsonNode *n)
{
  return n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64;
}

static gboolean
node_is_number (JsonNode *n)
{
  return n != NULL && JSON_NODE_HOLDS_VALUE (n)
         && (json_node_get_value_type (n) == G_TYPE_INT64 || json_node_get_value_type (n) == G_TYPE_DOUBLE);
}

/* o.key, an integer in [lo, hi]. */
static gboolean
progress_int (JsonObject *o, const char *key, int64_t lo, int64_t hi, int64_t *out, const char *path, GError **error)
{
  JsonNode *n = json_object_get_member (o, key);
  if (!node_is_int (n) || json_node_get_int (n) < lo || json_node_get_int (n) > hi)
    PROGRESS_FAIL ("%s is missing or not an integer in [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]", key, lo, hi);
  *out = json_node_get_int (n);
  return TRUE;
}

/* o.key, a number >= 0 (a time). */
static gboolean
progress_seconds (JsonObject *o, const char *key, double *out, const char *path, GError **error)
{
  JsonNode *n = json_object_get_member (o, key);
  if (!node_is_number (n) || !(json_node_get_double (n) >= 0) || !isfinite (json_node_get_double (n)))
    PROGRESS_FAIL ("%s is missing or not a number >= 0", key);
  *out = json_node_get_double (n);
  return TRUE;
}

/* o.key, an array of numbers or nulls (NaN), appended to into. */
static gboolean
progress_doubles (JsonObject *o, const char *key, GArray *into, const char *path, GError **error)
{
  JsonNode *an = json_object_get_member (o, key);
  if (an == NULL || !JSON_NODE_HOLDS_ARRAY (an))
    PROGRESS_FAIL ("%s is missing or not a list", key);
  JsonArray *a = json_node_get_array (an);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *n = json_array_get_element (a, i);
      if (!JSON_NODE_HOLDS_NULL (n) && !node_is_number (n))
        PROGRESS_FAIL ("%s[%u] is not a number or null", key, i);
      double v = JSON_NODE_HOLDS_NULL (n) ? NAN : json_node_get_double (n);
      g_array_append_val (into, v);
    }
  return TRUE;
}

/* o.key, an object (absent: NULL, fine) whose every member passes
 * value_ok. */
static gboolean
progress_map (JsonObject *o, const char *key, gboolean (*value_ok) (JsonNode *), const char *expect,
              JsonObject **out, const char *path, GError **error)
{
  *out = NULL;
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (n))
    PROGRESS_FAIL ("%s is not an object", key);
  JsonObjectIter it;
  const char *k;
  JsonNode *v;
  json_object_iter_init (&it, json_node_get_object (n));
  while (json_object_iter_next (&it, &k, &v))
    if (!value_ok (v))
      PROGRESS_FAIL ("%s.%s is not %s", key, k, expect);
  *out = json_node_get_object (n);
  return TRUE;
}

static gboolean
node_is_count (JsonNode *n)
{
  return node_is_int (n) && json_node_get_int (n) >= 0;
}

static gboolean
node_is_string (JsonNode *n)
{
  return n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING;
}

/* Reads o into pg (whose arrays exist and whose T is set), checking that
 * it describes a run of T experiences that can go on from there. */
static gboolean
read_progress (JsonObject *o, LfProgress *pg, const char *path, GError **error)
{
  const int64_t T = pg->T;
  JsonObject *map;
  if (!progress_int (o, "experience_done", -1, T - 1, &pg->experience_done, path, error)
      || !progress_int (o, "step", 0, G_MAXINT64, &pg->step, path, error)
      || !progress_int (o, "train_samples", 0, G_MAXINT64, &pg->train_samples, path, error)
      || !progress_seconds (o, "t_train", &pg->t_train, path, error)
      || !progress_seconds (o, "t_eval", &pg->t_eval, path, error)
      || !progress_doubles (o, "rows", pg->rows, path, error)
      || (json_object_has_member (o, "validation_rows")
          && !progress_doubles (o, "validation_rows", pg->vrows, path, error))
      || !progress_map (o, "optimizer_steps", node_is_count, "a step count", &map, path, error))
    return FALSE;
  g_autoptr (GArray) base = g_array_new (FALSE, FALSE, sizeof (double));
  if (!progress_doubles (o, "baseline", base, path, error))
    return FALSE;
  if ((int64_t) base->len != T)
    PROGRESS_FAIL ("baseline has %u values, the scenario %" G_GINT64_FORMAT " experiences (another scenario?)",
                   base->len, T);
  memcpy (pg->baseline, base->data, (size_t) T * sizeof (double));
  JsonNode *re = json_object_get_member (o, "row_experiences");
  if (re == NULL || !JSON_NODE_HOLDS_ARRAY (re))
    PROGRESS_FAIL ("row_experiences is missing or not a list");
  JsonArray *ra = json_node_get_array (re);
  for (guint i = 0; i < json_array_get_length (ra); i++)
    {
      /* each row follows an experience already done, in order */
      JsonNode *n = json_array_get_element (ra, i);
      int64_t prev = i > 0 ? g_array_index (pg->row_exp, int64_t, i - 1) : -1;
      if (!node_is_int (n) || json_node_get_int (n) <= prev || json_node_get_int (n) > pg->experience_done)
        PROGRESS_FAIL ("row_experiences[%u] is not an experience after %" G_GINT64_FORMAT " and up to %"
                       G_GINT64_FORMAT " (the last one done)", i, prev, pg->experience_done);
      int64_t e = json_node_get_int (n);
      g_array_append_val (pg->row_exp, e);
    }
  if ((int64_t) pg->rows->len != (int64_t) pg->row_exp->len * T)
    PROGRESS_FAIL ("%u matrix values for %u rows of %" G_GINT64_FORMAT, pg->rows->len, pg->row_exp->len, T);
  if (pg->vrows->len != 0 && pg->vrows->len != pg->rows->len)
    PROGRESS_FAIL ("%u validation values for %u matrix values", pg->vrows->len, pg->rows->len);
  return TRUE;
}

LfCheckpoint *
lf_checkpoint_open (const char *path, const char *config_hash, LfProgress *pg, LfState **state, GError **error)
{
  g_autoptr (JsonNode) root = NULL;
  LfState *s = NULL;
  LfSafetensors *st = lf_safetensors_open (path, error);
  if (st == NULL)
    return NULL;
  LfCheckpoint *ck = g_new0 (LfCheckpoint, 1);
  ck->st = st;
  ck->path = g_strdup (path);
  const char *kind = lf_safetensors_meta (st, "lifelong.kind");
  const char *hash = lf_safetensors_meta (st, "lifelong.config_sha256");
  const char *progress = lf_safetensors_meta (st, "lifelong.progress");
  if (g_strcmp0 (kind, "checkpoint") != 0 || hash == NULL || progress == NULL)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT, "%s: not a lifelong run checkpoint", path);
      goto fail;
    }
  if (g_strcmp0 (hash, config_hash) != 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT,
                   "%s: written by a run with another config (hash %.12s, this run %.12s); "
                   "remove it or run without --resume", path, hash, config_hash);
      goto fail;
    }
  root = json_from_string (progress, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT, "%s: progress metadata is not JSON", path);
      goto fail;
    }
  JsonObject *o = json_node_get_object (root), *ints, *bytes;
  if (!read_progress (o, pg, path, error)
      || !progress_map (o, "strategy_ints", node_is_int, "an integer", &ints, path, error)
      || !progress_map (o, "strategy_bytes", node_is_string, "a base64 string", &bytes, path, error))
    goto fail;
  s = lf_state_new ();
  const char *const *names = lf_safetensors_names (st);
  for (int i = 0; names[i]; i++)
    if (g_str_has_prefix (names[i], "strategy/"))
      {
        int ndim;
        int64_t shape[LF_MAX_DIMS];
        g_autofree float *data = NULL;
        if (!lf_safetensors_get (st, names[i], &ndim, shape, &data, error))
          goto fail;
        int64_t one = 1;
        LfTensor *t = lf_tensor_new_owned (ndim > 0 ? ndim : 1, ndim > 0 ? shape : &one);
        for (int64_t k = 0; k < lf_tensor_numel (t); k++)
          lf_tensor_data (t)[k] = data[k];
        g_hash_table_replace (s->tensors, g_strdup (names[i] + strlen ("strategy/")), t);
      }
  JsonObjectIter it;
  const char *k;
  JsonNode *v;
  if (ints)
    {
      json_object_iter_init (&it, ints);
      while (json_object_iter_next (&it, &k, &v))
        lf_state_put_int (s, k, json_node_get_int (v));
    }
  if (bytes)
    {
      json_object_iter_init (&it, bytes);
      while (json_object_iter_next (&it, &k, &v))
        {
          gsize n = 0;
          g_autofree guchar *d = g_base64_decode (json_node_get_string (v), &n);
          lf_state_put_bytes (s, k, d, n);
        }
    }
  *state = s;
  return ck;
fail:
  lf_state_free (s);
  lf_checkpoint_free (ck);
  return NULL;
}

gboolean
lf_checkpoint_restore_model (LfCheckpoint *ck, LfModel *model, LfOptimizer *opt, GError **error)
{
  g_autoptr (GPtrArray) params = lf_model_params (model, FALSE);
  for (guint i = 0; i < params->len; i++)
    {
      LfTensor *p = params->pdata[i];
      g_autofree char *key = g_strconcat ("model/", lf_tensor_name (p), NULL);
      int ndim;
      int64_t shape[LF_MAX_DIMS];
      g_autofree float *data = NULL;
      if (!lf_safetensors_get (ck->st, key, &ndim, shape, &data, error))
        return FALSE;
      if (ndim != lf_tensor_ndim (p) || memcmp (shape, lf_tensor_shape (p), (size_t) ndim * sizeof (int64_t)) != 0)
        {
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT,
                       "%s: parameter %s has another shape than the model's", ck->path, lf_tensor_name (p));
          return FALSE;
        }
      for (int64_t k = 0; k < lf_tensor_numel (p); k++)
        lf_tensor_data (p)[k] = data[k];
      g_autofree char *mk = g_strconcat ("optim.m/", lf_tensor_name (p), NULL);
      g_autofree char *vk = g_strconcat ("optim.v/", lf_tensor_name (p), NULL);
      g_autofree float *m = NULL, *v = NULL;
      gboolean has_m = g_strv_contains (lf_safetensors_names (ck->st), mk);
      gboolean has_v = g_strv_contains (lf_safetensors_names (ck->st), vk);
      if ((has_m && !lf_safetensors_get (ck->st, mk, &ndim, shape, &m, error))
          || (has_v && !lf_safetensors_get (ck->st, vk, &ndim, shape, &v, error)))
        return FALSE;
      if (has_m || has_v)
        {
          g_autofree LfReal *mr = NULL, *vr = NULL;
          if (m)
            {
              mr = g_new (LfReal, lf_tensor_numel (p));
              for (int64_t k = 0; k < lf_tensor_numel (p); k++)
                mr[k] = m[k];
            }
          if (v)
            {
              vr = g_new (LfReal, lf_tensor_numel (p));
              for (int64_t k = 0; k < lf_tensor_numel (p); k++)
                vr[k] = v[k];
            }
          lf_optimizer_import (opt, p, mr, vr, 0);
        }
    }
  /* step counts */
  const char *progress = lf_safetensors_meta (ck->st, "lifelong.progress");
  g_autoptr (JsonNode) root = json_from_string (progress, NULL);
  JsonObject *steps = json_object_get_object_member (json_node_get_object (root), "optimizer_steps");
  for (guint i = 0; steps && i < params->len; i++)
    {
      LfTensor *p = params->pdata[i];
      if (json_object_has_member (steps, lf_tensor_name (p)))
        lf_optimizer_import (opt, p, NULL, NULL, json_object_get_int_member (steps, lf_tensor_name (p)));
    }
  return TRUE;
}

void
lf_checkpoint_free (LfCheckpoint *ck)
{
  if (ck == NULL)
    return;
  if (ck->st)
    lf_safetensors_free (ck->st);
  g_free (ck->path);
  g_free (ck);
}
