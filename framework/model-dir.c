/* lifelong — saving a model as a Hugging Face folder (model.safetensors +
 * config.json) and loading one into a model the host has just created. */
#include "model-dir.h"
#include "config.h"
#include "json-write.h"
#include "run.h"
#include "safetensors.h"
#include <errno.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

/* "[32, 259]" */
static char *
shape_str (int ndim, const int64_t *shape)
{
  GString *s = g_string_new ("[");
  for (int d = 0; d < ndim; d++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, d ? ", " : "", shape[d]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* fold_lora: merges every LoRA wrapper's adapters into its base; fills
 * skip (the adapters' tensors) and rename (the base's tensors -> the
 * wrapper's names, owned strings). */
static void
fold_lora_wrappers (LfModel *m, GHashTable *skip, GHashTable *rename)
{
  g_autoptr (GPtrArray) lin = lf_module_find_all (lf_model_root (m), "*", LF_MODULE_LINEAR);
  for (guint i = 0; i < lin->len; i++)
    {
      LfModule *w = lin->pdata[i];
      if (!lf_lora_is_wrapper (w))
        continue;
      for (int j = 0; j < lf_lora_n (w); j++)
        {
          lf_lora_merge (w, j);
          g_hash_table_add (skip, lf_lora_A (w, j));
          g_hash_table_add (skip, lf_lora_B (w, j));
        }
      g_autofree char *path = lf_module_path (w);
      static const char *const own[] = { "weight", "bias" };
      for (guint k = 0; k < G_N_ELEMENTS (own); k++)
        {
          LfTensor *t = lf_module_param (lf_lora_base (w), own[k]);
          if (t)
            g_hash_table_insert (rename, t, g_strdup_printf ("%s.%s", path, own[k]));
        }
    }
}

gboolean
lf_model_dir_save (LfModel *m, const char *dir, JsonObject *model_section, const char *started_from,
                   gboolean fold_lora, GError **error)
{
  if (g_mkdir_with_parents (dir, 0777) != 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "%s: cannot make the folder: %s", dir,
                   g_strerror (errno));
      return FALSE;
    }
  /* the config first: a plugin's bad describe fails before any file is written */
  JsonObject *cfg = NULL;
  g_autofree char *described = lf_model_describe (m);
  if (described)
    {
      g_autoptr (GError) perr = NULL;
      g_autoptr (JsonNode) node = json_from_string (described, &perr);
      if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
        {
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_PLUGIN, "model %s: describe did not give a JSON object%s%s",
                       lf_model_name (m), perr ? ": " : "", perr ? perr->message : "");
          return FALSE;
        }
      cfg = json_object_ref (json_node_get_object (node));
    }
  else
    cfg = json_object_new ();
  JsonObject *lo = json_object_new ();
  json_object_set_int_member (lo, "format_version", LF_MODEL_DIR_FORMAT_VERSION);
  json_object_set_string_member (lo, "version", LF_VERSION_STRING);
  JsonObject *ms = json_object_new ();
  JsonObjectIter it;
  const char *key;
  JsonNode *val;
  json_object_iter_init (&it, model_section);
  while (json_object_iter_next (&it, &key, &val))
    if (!g_str_equal (key, "checkpoint"))
      json_object_set_member (ms, key, json_node_copy (val));
  json_object_set_object_member (lo, "model", ms);
  const LfDataSpec *spec = lf_model_spec (m);
  if (spec->vocab == LF_BYTE_VOCAB)
    json_object_set_string_member (lo, "tokenizer", "bytes");
  else
    json_object_set_null_member (lo, "tokenizer");
  json_object_set_int_member (lo, "context", spec->context);
  if (spec->n_classes > 0)
    json_object_set_int_member (lo, "classes", spec->n_classes);
  if (started_from)
    json_object_set_string_member (lo, "started_from", started_from);
  json_object_set_object_member (cfg, "lifelong", lo);
  g_autoptr (JsonNode) root = json_node_init_object (json_node_alloc (), cfg);
  json_object_unref (cfg);
  g_autofree char *text = lf_json_to_string (root, TRUE);

  g_autoptr (GPtrArray) all = lf_model_params (m, FALSE);
  g_autoptr (GHashTable) skip = g_hash_table_new (NULL, NULL);
  g_autoptr (GHashTable) rename = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  if (fold_lora)
    fold_lora_wrappers (m, skip, rename);
  g_autoptr (GPtrArray) ps = g_ptr_array_new ();
  g_autofree const char **names = g_new (const char *, all->len + 1);
  for (guint i = 0; i < all->len; i++)
    if (!g_hash_table_contains (skip, all->pdata[i]))
      {
        const char *renamed = g_hash_table_lookup (rename, all->pdata[i]);
        names[ps->len] = renamed ? renamed : lf_tensor_name (all->pdata[i]);
        g_ptr_array_add (ps, all->pdata[i]);
      }
  g_autofree char *wpath = g_build_filename (dir, LF_MODEL_DIR_WEIGHTS, NULL);
  g_autofree char *cpath = g_build_filename (dir, LF_MODEL_DIR_CONFIG, NULL);
  g_autoptr (GError) werr = NULL;
  if (!lf_safetensors_write_format (wpath, "pt", (int) ps->len, names, (LfTensor *const *) ps->pdata,
                                    NULL, NULL, 0, &werr))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "%s", werr->message);
      return FALSE;
    }
  g_autofree char *line = g_strconcat (text, "\n", NULL);
  if (!lf_write_file_atomic (cpath, line, strlen (line), error))
    return FALSE;
  /* a model folder is for sharing: the weights' mode (0666 less the umask),
   * not the temporary file's 0600 */
  mode_t mask = umask (0);
  umask (mask);
  g_chmod (cpath, 0666 & ~(int) mask);
  return TRUE;
}

/* A value as text for messages ("32", "\"mlp\""). */
static char *
value_str (JsonNode *n)
{
  g_autoptr (JsonGenerator) g = json_generator_new ();
  json_generator_set_root (g, n);
  return json_generator_to_data (g, NULL);
}

/* The members of "lifelong" the host reads, each of its type and range when
 * present (a hand-edited or damaged file is refused here, naming the field
 * and its value, rather than read as a default or half-checked). */
static gboolean
check_lifelong (const char *cpath, JsonObject *lo, GError **error)
{
  static const struct {
    const char *key;
    char        kind;        /* 'i' an integer in [lo, hi], 's' a string, 'S' a string or null, 'o' an object */
    int64_t     lo, hi;
    const char *expected;
  } fields[] = {
    { "format_version", 'i', 1, LF_MODEL_DIR_FORMAT_VERSION,
      "an integer from 1 to " G_STRINGIFY (LF_MODEL_DIR_FORMAT_VERSION)
      " (a higher one is a folder written by a newer lifelong)" },
    { "version", 's', 0, 0, "a string" },
    { "model", 'o', 0, 0, "an object (the model section it was saved from)" },
    { "tokenizer", 'S', 0, 0, "a string (\"bytes\") or null" },
    { "context", 'i', 0, LF_MODEL_DIR_MAX_CONTEXT, "an integer from 0 to " G_STRINGIFY (LF_MODEL_DIR_MAX_CONTEXT) },
    { "classes", 'i', 0, G_MAXINT32, "an integer >= 0" },
    { "started_from", 's', 0, 0, "a string (a folder)" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      JsonNode *n = json_object_get_member (lo, fields[i].key);
      if (n == NULL)
        continue;
      gboolean value = JSON_NODE_HOLDS_VALUE (n);
      GType t = value ? json_node_get_value_type (n) : G_TYPE_INVALID;
      gboolean ok;
      switch (fields[i].kind)
        {
        case 'i':
          ok = t == G_TYPE_INT64 && json_node_get_int (n) >= fields[i].lo && json_node_get_int (n) <= fields[i].hi;
          break;
        case 's':
          ok = t == G_TYPE_STRING;
          break;
        case 'S':
          ok = t == G_TYPE_STRING || JSON_NODE_HOLDS_NULL (n);
          break;
        default:
          ok = JSON_NODE_HOLDS_OBJECT (n);
          break;
        }
      if (ok)
        continue;
      g_autofree char *vs = value_str (n);
      if (g_utf8_strlen (vs, -1) > 60)
        {
          g_autofree char *cut = g_utf8_substring (vs, 0, 57);
          g_free (vs);
          vs = g_strconcat (cut, "...", NULL);
        }
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT, "%s: lifelong.%s is %s: expected %s", cpath,
                   fields[i].key, vs, fields[i].expected);
      return FALSE;
    }
  return TRUE;
}

JsonObject *
lf_model_dir_lifelong (const char *dir, GError **error)
{
  g_autofree char *cpath = g_build_filename (dir, LF_MODEL_DIR_CONFIG, NULL);
  if (!g_file_test (cpath, G_FILE_TEST_EXISTS))
    return NULL;
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) perr = NULL;
  if (!json_parser_load_from_file (p, cpath, &perr))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT, "%s: %s", cpath, perr->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (p);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT, "%s: not a JSON object", cpath);
      return NULL;
    }
  JsonObject *o = json_node_get_object (root);
  if (!json_object_has_member (o, "lifelong"))
    return NULL;
  JsonNode *l = json_object_get_member (o, "lifelong");
  if (!JSON_NODE_HOLDS_OBJECT (l))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT, "%s: \"lifelong\" is not an object", cpath);
      return NULL;
    }
  JsonObject *lo = json_node_get_object (l);
  if (!check_lifelong (cpath, lo, error))
    return NULL;
  return json_object_ref (lo);
}

static gboolean
same_value (JsonNode *a, JsonNode *b)
{
  if (JSON_NODE_HOLDS_VALUE (a) && JSON_NODE_HOLDS_VALUE (b))
    {
      GType ta = json_node_get_value_type (a), tb = json_node_get_value_type (b);
      gboolean na = ta == G_TYPE_INT64 || ta == G_TYPE_DOUBLE, nb = tb == G_TYPE_INT64 || tb == G_TYPE_DOUBLE;
      if (na && nb)   /* 32 and 32.0 are the same number */
        return json_node_get_double (a) == json_node_get_double (b);
    }
  return json_node_equal (a, b);
}

/* The saved model section against this config's. */
static gboolean
check_conflicts (const char *dir, JsonObject *model_section, GError **error)
{
  g_autoptr (JsonObject) lo = lf_model_dir_lifelong (dir, error);
  if (lo == NULL)
    return error == NULL || *error == NULL;
  if (!json_object_has_member (lo, "model") || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (lo, "model")))
    return TRUE;
  JsonObject *saved = json_object_get_object_member (lo, "model");
  static const char *const keys[] = { "name", "d_model", "layers", "heads", "kv_heads", "ff", "vocab", NULL };
  for (int i = 0; keys[i]; i++)
    {
      if (!json_object_has_member (saved, keys[i]) || !json_object_has_member (model_section, keys[i]))
        continue;
      JsonNode *a = json_object_get_member (saved, keys[i]), *b = json_object_get_member (model_section, keys[i]);
      if (same_value (a, b))
        continue;
      g_autofree char *as = value_str (a), *bs = value_str (b);
      g_autofree char *cpath = g_build_filename (dir, LF_MODEL_DIR_CONFIG, NULL);
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "%s: the checkpoint's model.%s is %s, this config's model.%s is %s (a checkpoint loads into "
                   "the model it was saved from: use its values, in lifelong.model)",
                   cpath, keys[i], as, keys[i], bs);
      return FALSE;
    }
  return TRUE;
}

/* The first component of a dotted name ("model" of "model.layers.0..."),
 * newly allocated. */
static char *
top_module (const char *name)
{
  const char *dot = strchr (name, '.');
  return dot ? g_strndup (name, (gsize) (dot - name)) : g_strdup (name);
}

static GHashTable *
top_modules_of_names (const char *const *names)
{
  GHashTable *h = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (; names && *names; names++)
    g_hash_table_add (h, top_module (*names));
  return h;
}

static GHashTable *
top_modules_of_params (GPtrArray *ps)
{
  GHashTable *h = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < ps->len; i++)
    g_hash_table_add (h, top_module (lf_tensor_name (ps->pdata[i])));
  return h;
}

static gboolean
top_module_in (GHashTable *tops, const char *name)
{
  g_autofree char *t = top_module (name);
  return g_hash_table_contains (tops, t);
}

gboolean
lf_model_dir_load (LfModel *m, const char *dir, JsonObject *model_section, GError **error)
{
  if (model_section && !check_conflicts (dir, model_section, error))
    return FALSE;
  g_autofree char *wpath = g_build_filename (dir, LF_MODEL_DIR_WEIGHTS, NULL);
  g_autoptr (GError) serr = NULL;
  g_autoptr (LfSafetensors) st = lf_safetensors_open (wpath, &serr);
  if (st == NULL)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT, "%s", serr->message);
      return FALSE;
    }
  g_autoptr (GPtrArray) all = lf_model_params (m, FALSE);
  /* model.checkpoint_head "new": the model and the file share the modules
   * they both have at the top of the tree; the others (a classifier's
   * score, a language model's lm_head) are the head, initialised as the
   * model made it or left unread */
  JsonNode *hn = model_section ? json_object_get_member (model_section, "checkpoint_head") : NULL;
  gboolean new_head = hn && JSON_NODE_HOLDS_VALUE (hn) && json_node_get_value_type (hn) == G_TYPE_STRING
                      && g_str_equal (json_node_get_string (hn), "new");
  g_autoptr (GHashTable) file_top = top_modules_of_names (lf_safetensors_names (st));
  g_autoptr (GPtrArray) ps = g_ptr_array_new ();
  for (guint i = 0; i < all->len; i++)
    if (!new_head || top_module_in (file_top, lf_tensor_name (all->pdata[i])))
      g_ptr_array_add (ps, all->pdata[i]);
  if (ps->len == 0 && all->len > 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT,
                   "%s: no tensor belongs to a module of this model (checkpoint_head \"new\" keeps the body, "
                   "which must be in the file)", wpath);
      return FALSE;
    }
  g_autoptr (GHashTable) model_top = new_head ? top_modules_of_params (all) : NULL;
  g_autoptr (GHashTable) want = g_hash_table_new (g_str_hash, g_str_equal);
  /* every parameter there, with its shape and a dtype we read */
  for (guint i = 0; i < ps->len; i++)
    {
      LfTensor *p = ps->pdata[i];
      const char *name = lf_tensor_name (p);
      g_hash_table_add (want, (gpointer) name);
      int ndim = 0;
      int64_t shape[LF_MAX_DIMS];
      if (!g_strv_contains (lf_safetensors_names (st), name))
        {
          g_autofree char *ms = shape_str (lf_tensor_ndim (p), lf_tensor_shape (p));
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT,
                       "%s: no tensor %s (the model's parameter of shape %s): every parameter must be in the file",
                       wpath, name, ms);
          return FALSE;
        }
      if (!lf_safetensors_get (st, name, &ndim, shape, NULL, &serr))
        {
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT, "%s", serr->message);
          return FALSE;
        }
      if (ndim != lf_tensor_ndim (p) || memcmp (shape, lf_tensor_shape (p), (size_t) ndim * sizeof (int64_t)) != 0)
        {
          g_autofree char *fs = shape_str (ndim, shape), *ms = shape_str (lf_tensor_ndim (p), lf_tensor_shape (p));
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT,
                       "%s: tensor %s has shape %s, the model's parameter has shape %s", wpath, name, fs, ms);
          return FALSE;
        }
    }
  /* nothing the model does not have */
  g_autoptr (GString) extra = g_string_new (NULL);
  int n_extra = 0;
  for (const char *const *n = lf_safetensors_names (st); *n; n++)
    if (!g_hash_table_contains (want, *n) && (model_top == NULL || top_module_in (model_top, *n))
        && n_extra++ < 5)
      g_string_append_printf (extra, "%s%s", extra->len ? ", " : "", *n);
  if (n_extra > 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT,
                   "%s: %d tensor%s the model does not have: %s%s (was it saved from another model or structure?)",
                   wpath, n_extra, n_extra > 1 ? "s" : "", extra->str, n_extra > 5 ? ", ..." : "");
      return FALSE;
    }
  /* read everything (the dtype is checked here), then copy: all or nothing */
  g_autoptr (GPtrArray) data = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < ps->len; i++)
    {
      float *d = NULL;
      if (!lf_safetensors_get (st, lf_tensor_name (ps->pdata[i]), NULL, NULL, &d, &serr))
        {
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT, "%s", serr->message);
          return FALSE;
        }
      g_ptr_array_add (data, d);
    }
  for (guint i = 0; i < ps->len; i++)
    {
      LfTensor *p = ps->pdata[i];
      const float *d = data->pdata[i];
      LfReal *dst = lf_tensor_data (p);
      for (int64_t k = 0; k < lf_tensor_numel (p); k++)
        dst[k] = (LfReal) d[k];
    }
  return TRUE;
}

LfModel *
lf_model_dir_open (const char *dir, const char *plugin_path, LfPluginRegistry *reg, GError **error)
{
  g_autofree char *cpath = g_build_filename (dir, LF_MODEL_DIR_CONFIG, NULL);
  g_autoptr (GError) lerr = NULL;
  g_autoptr (JsonObject) lo = lf_model_dir_lifelong (dir, &lerr);
  if (lo == NULL)
    {
      if (lerr)
        g_propagate_error (error, g_steal_pointer (&lerr));
      else
        g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT,
                     "%s: %s (DIR must come from `lifelong run --save-model`; Hugging Face models with a "
                     "BPE tokenizer do not load)", cpath,
                     g_file_test (cpath, G_FILE_TEST_EXISTS) ? "no \"lifelong\" member" : "no such file");
      return NULL;
    }
  JsonNode *mn = json_object_get_member (lo, "model");
  if (mn == NULL || !JSON_NODE_HOLDS_OBJECT (mn)
      || !json_object_has_member (json_node_get_object (mn), "name"))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT, "%s: lifelong.model with a \"name\" is missing",
                   cpath);
      return NULL;
    }
  const char *tok = json_object_has_member (lo, "tokenizer") && !json_object_get_null_member (lo, "tokenizer")
                    ? json_object_get_string_member (lo, "tokenizer") : NULL;
  if (g_strcmp0 (tok, "bytes") != 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT,
                   "%s: lifelong.tokenizer is %s%s%s: only byte-level language models generate text", cpath,
                   tok ? "\"" : "", tok ? tok : "null", tok ? "\"" : "");
      return NULL;
    }
  int64_t context = json_object_has_member (lo, "context") ? json_object_get_int_member (lo, "context") : 0;
  if (context < 2)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT, "%s: lifelong.context is missing or below 2",
                   cpath);
      return NULL;
    }
  g_auto (GStrv) dirs = lf_plugin_search_path (plugin_path);
  g_autoptr (GError) scan_error = NULL;
  if (!lf_registry_scan (reg, (const char *const *) dirs, &scan_error))
    g_debug ("plugin scan: %s", scan_error ? scan_error->message : "");
  /* a config with only the model section, to find and validate it as `run` does */
  JsonObject *cfg = json_object_new ();
  json_object_set_object_member (cfg, "model", json_object_ref (json_node_get_object (mn)));
  const LfPluginInfo *mi = lf_config_find_plugin (reg, LF_PLUGIN_MODEL, cfg, "model", error);
  json_object_unref (cfg);
  if (mi == NULL)
    {
      g_prefix_error (error, "%s: lifelong.", cpath);
      return NULL;
    }
  static const char *const skip[] = { "name", "checkpoint", NULL };
  g_autoptr (LfParams) mp = lf_params_from_json (mi->params, json_node_get_object (mn), "lifelong.model", skip,
                                                 error);
  if (mp == NULL)
    {
      g_prefix_error (error, "%s: ", cpath);
      return NULL;
    }
  LfDataSpec spec = { .struct_size = sizeof spec, .n_tasks = 1, .vocab = LF_BYTE_VOCAB, .context = context };
  LfModel *m = lf_model_create (mi, mp, &spec, lf_rng_key (0, 0, 0, 0, "model-init"), error);
  if (m == NULL)
    return NULL;
  /* the model section is the one saved: no conflict to look for */
  if (!lf_model_dir_load (m, dir, NULL, error))
    {
      lf_model_free (m);
      return NULL;
    }
  return m;
}

