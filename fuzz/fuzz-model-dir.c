/* lifelong fuzzing — a model folder's config.json (what `lifelong run
 * --save-model DIR` writes beside model.safetensors, and what a run's
 * model.checkpoint and `lifelong generate DIR` read back):
 * lf_model_dir_lifelong (the "lifelong" member and its fields), then
 * lf_model_dir_load with a run's model section (check_conflicts: the saved
 * lifelong.model against the run's), into a tiny transformer.
 *
 * Input: config.json's bytes.  The harness keeps two folders in a temporary
 * directory: "with" holds the input as config.json beside the tiny
 * transformer's own model.safetensors (valid, matching: so whether a load
 * succeeds is decided by config.json alone), "without" holds only the input
 * (a symlink to the same file).
 *
 * Properties:
 * - lf_model_dir_lifelong: NULL with an error (LF_HOST_ERROR_CHECKPOINT,
 *   naming the file) or NULL without one only when the input has no
 *   "lifelong" object; a member it returns has sane fields, read the way
 *   `lifelong generate` reads them without a GLib critical: "model" an
 *   object, "tokenizer" a string or null, "context" an integer in
 *   [0, 1e6], "format_version" an integer from 1 to the one this lifelong
 *   writes, "classes" an integer >= 0, "started_from" a string (each may be
 *   absent).
 * - lf_model_dir_load with the run's model section succeeds exactly when
 *   config.json parses and its lifelong.model agrees with the section on
 *   name, d_model, layers, heads, kv_heads, ff and vocab (compared as the
 *   host compares them: numbers by value); on success every weight is the
 *   saved one, on failure there is an error naming config.json and no
 *   weight was touched (all or nothing).
 * - without model.safetensors the load always fails, with an error. */
#include "fuzz.h"
#include "host.h"
#include "model-dir.h"
#include "plugin-private.h"
#include <fcntl.h>
#include <glib/gstdio.h>

static struct {
  LfPluginRegistry *reg;   /* kept for the process (reachable: no leak report) */
  LfParams *p;
  LfModel *m;
  JsonObject *section;   /* the run's resolved model section, with "name" */
  GPtrArray *params;     /* the model's parameters */
  GPtrArray *saved;      /* their values as model.safetensors holds them */
  char *root, *with, *without, *cpath;
} fx;

static void
cleanup (void)
{
  if (fx.root == NULL)
    return;
  const char *const files[] = { "with/config.json", "with/model.safetensors", "without/config.json", "with",
                                "without", NULL };
  for (int i = 0; files[i]; i++)
    {
      g_autofree char *p = g_build_filename (fx.root, files[i], NULL);
      g_remove (p);
    }
  g_rmdir (fx.root);
}

static void
setup (void)
{
  if (fx.m != NULL)
    return;
  fuzz_init ();
  fx.reg = fuzz_registry (LF_PLUGIN_MODEL, "transformer");
  const LfPluginInfo *info = lf_registry_find (fx.reg, LF_PLUGIN_MODEL, "transformer");
  /* the model of fuzz/corpus/model-dir/tiny-transformer.json */
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) given = json_from_string ("{\"d_model\": 8, \"layers\": 1, \"heads\": 2, \"kv_heads\": 1, "
                                                 "\"ff\": 16, \"context\": 16}", &error);
  static const char *const skip[] = { "name", "checkpoint", NULL };
  LfParams *p = fx.p = lf_params_from_json (info->params, json_node_get_object (given), "model", skip, &error);
  if (p == NULL)
    g_error ("the tiny transformer's section: %s", error->message);
  LfDataSpec spec = { .struct_size = sizeof spec, .n_tasks = 1, .vocab = LF_BYTE_VOCAB, .context = 16 };
  fx.m = lf_model_create (info, p, &spec, lf_rng_key (0, 0, 0, 0, "model-init"), &error);
  if (fx.m == NULL)
    g_error ("the tiny transformer: %s", error->message);
  JsonNode *sn = lf_params_to_json_node (p);
  fx.section = json_object_ref (json_node_get_object (sn));
  json_node_unref (sn);
  json_object_set_string_member (fx.section, "name", "transformer");

  fx.params = lf_model_params (fx.m, FALSE);
  fx.saved = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < fx.params->len; i++)
    {
      LfTensor *t = fx.params->pdata[i];
      g_ptr_array_add (fx.saved, g_memdup2 (lf_tensor_data (t), (gsize) lf_tensor_numel (t) * sizeof (LfReal)));
    }

  fx.root = g_dir_make_tmp ("lifelong-fuzz-model-dir-XXXXXX", &error);
  if (fx.root == NULL)
    g_error ("%s", error->message);
  atexit (cleanup);
  fx.with = g_build_filename (fx.root, "with", NULL);
  fx.without = g_build_filename (fx.root, "without", NULL);
  fx.cpath = g_build_filename (fx.with, LF_MODEL_DIR_CONFIG, NULL);
  if (!lf_model_dir_save (fx.m, fx.with, fx.section, NULL, FALSE, &error))
    g_error ("lf_model_dir_save: %s", error->message);
  g_autofree char *link = g_build_filename (fx.without, LF_MODEL_DIR_CONFIG, NULL);
  if (g_mkdir (fx.without, 0700) != 0 || symlink (fx.cpath, link) != 0)
    g_error ("%s: %s", fx.without, g_strerror (errno));
}

static void
write_config (const uint8_t *data, size_t size)
{
  int fd = open (fx.cpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    g_error ("%s: %s", fx.cpath, g_strerror (errno));
  for (size_t done = 0; done < size;)
    {
      ssize_t w = write (fd, data + done, size - done);
      if (w <= 0)
        g_error ("%s: %s", fx.cpath, g_strerror (errno));
      done += (size_t) w;
    }
  close (fd);
}

static gboolean
is_int (JsonNode *n)
{
  return JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64;
}

static gboolean
is_string (JsonNode *n)
{
  return JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING;
}

/* The fields of a "lifelong" member lf_model_dir_lifelong returned. */
static void
check_lifelong (JsonObject *lo)
{
  JsonNode *n;
  if ((n = json_object_get_member (lo, "model")) != NULL && !JSON_NODE_HOLDS_OBJECT (n))
    g_error ("lifelong.model is not an object, yet lf_model_dir_lifelong took it");
  if ((n = json_object_get_member (lo, "tokenizer")) != NULL && !JSON_NODE_HOLDS_NULL (n) && !is_string (n))
    g_error ("lifelong.tokenizer is neither a string nor null, yet lf_model_dir_lifelong took it");
  if ((n = json_object_get_member (lo, "context")) != NULL
      && (!is_int (n) || json_node_get_int (n) < 0 || json_node_get_int (n) > 1000000))
    g_error ("lifelong.context is not an integer in [0, 1e6], yet lf_model_dir_lifelong took it");
  if ((n = json_object_get_member (lo, "format_version")) != NULL
      && (!is_int (n) || json_node_get_int (n) < 1 || json_node_get_int (n) > LF_MODEL_DIR_FORMAT_VERSION))
    g_error ("lifelong.format_version is not an integer in [1, %d], yet lf_model_dir_lifelong took it",
             LF_MODEL_DIR_FORMAT_VERSION);
  if ((n = json_object_get_member (lo, "classes")) != NULL && (!is_int (n) || json_node_get_int (n) < 0))
    g_error ("lifelong.classes is not an integer >= 0, yet lf_model_dir_lifelong took it");
  if ((n = json_object_get_member (lo, "started_from")) != NULL && !is_string (n))
    g_error ("lifelong.started_from is not a string, yet lf_model_dir_lifelong took it");
  /* read as `lifelong generate` reads them (framework/cmd-generate.c):
   * a critical here aborts */
  const char *tok = json_object_has_member (lo, "tokenizer") && !json_object_get_null_member (lo, "tokenizer")
                    ? json_object_get_string_member (lo, "tokenizer") : NULL;
  int64_t context = json_object_has_member (lo, "context") ? json_object_get_int_member (lo, "context") : 0;
  volatile size_t sink = (tok ? strlen (tok) : 0) + (size_t) context;
  (void) sink;
}

/* Whether the saved model section conflicts with the run's, decided here
 * independently of check_conflicts. */
static gboolean
conflicts (JsonObject *lo)
{
  JsonNode *mn = json_object_get_member (lo, "model");
  if (mn == NULL || !JSON_NODE_HOLDS_OBJECT (mn))
    return FALSE;
  JsonObject *saved = json_node_get_object (mn);
  static const char *const keys[] = { "name", "d_model", "layers", "heads", "kv_heads", "ff", "vocab", NULL };
  for (int i = 0; keys[i]; i++)
    {
      JsonNode *a = json_object_get_member (saved, keys[i]), *b = json_object_get_member (fx.section, keys[i]);
      if (a == NULL || b == NULL)
        continue;
      if (JSON_NODE_HOLDS_VALUE (a) && JSON_NODE_HOLDS_VALUE (b))
        {
          GType ta = json_node_get_value_type (a), tb = json_node_get_value_type (b);
          if ((ta == G_TYPE_INT64 || ta == G_TYPE_DOUBLE) && (tb == G_TYPE_INT64 || tb == G_TYPE_DOUBLE))
            {
              if (json_node_get_double (a) != json_node_get_double (b))
                return TRUE;
              continue;
            }
        }
      if (!json_node_equal (a, b))
        return TRUE;
    }
  return FALSE;
}

/* Whether the input is a JSON object with a "lifelong" member (of any type). */
static gboolean
has_lifelong (const uint8_t *data, size_t size)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  if (!json_parser_load_from_data (p, (const char *) data, (gssize) size, NULL))
    return FALSE;
  JsonNode *root = json_parser_get_root (p);
  return root != NULL && JSON_NODE_HOLDS_OBJECT (root)
         && json_object_has_member (json_node_get_object (root), "lifelong");
}

static void
clear_weights (void)
{
  for (guint i = 0; i < fx.params->len; i++)
    {
      LfTensor *t = fx.params->pdata[i];
      memset (lf_tensor_data (t), 0, (size_t) lf_tensor_numel (t) * sizeof (LfReal));
    }
}

/* TRUE: every weight is the saved one; FALSE: every weight is still 0. */
static void
check_weights (gboolean loaded)
{
  for (guint i = 0; i < fx.params->len; i++)
    {
      LfTensor *t = fx.params->pdata[i];
      const LfReal *d = lf_tensor_data (t), *s = fx.saved->pdata[i];
      for (int64_t k = 0; k < lf_tensor_numel (t); k++)
        if (loaded ? d[k] != s[k] : d[k] != 0)
          g_error ("%s[%" G_GINT64_FORMAT "] is %g after a %s load", lf_tensor_name (t), k, (double) d[k],
                   loaded ? "successful" : "failed");
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  setup ();
  write_config (data, size);

  /* the lifelong member */
  g_autoptr (GError) lerr = NULL;
  g_autoptr (JsonObject) lo = lf_model_dir_lifelong (fx.with, &lerr);
  if (lo != NULL)
    {
      if (lerr != NULL)
        g_error ("lf_model_dir_lifelong returned a member and set an error: %s", lerr->message);
      check_lifelong (lo);
    }
  else if (lerr != NULL)
    {
      if (!g_error_matches (lerr, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT) || strstr (lerr->message, fx.cpath) == NULL)
        g_error ("lf_model_dir_lifelong's error does not name %s: %s", fx.cpath, lerr->message);
    }
  else if (has_lifelong (data, size))
    g_error ("lf_model_dir_lifelong found no \"lifelong\" member in an object that has one");

  /* the load with a run's model section: decided by config.json alone */
  gboolean expect = lerr == NULL && (lo == NULL || !conflicts (lo));
  clear_weights ();
  g_autoptr (GError) error = NULL;
  gboolean ok = lf_model_dir_load (fx.m, fx.with, fx.section, &error);
  if (ok != expect)
    g_error ("lf_model_dir_load %s, expected %s (%s)", ok ? "succeeded" : "failed", expect ? "success" : "failure",
             error ? error->message : lerr ? lerr->message : "no error");
  if (ok && error != NULL)
    g_error ("lf_model_dir_load succeeded with an error: %s", error->message);
  if (!ok && (error == NULL || strstr (error->message, fx.cpath) == NULL))
    g_error ("lf_model_dir_load failed without an error naming %s: %s", fx.cpath, error ? error->message : "none");
  check_weights (ok);

  /* no model.safetensors: always an error */
  g_autoptr (GError) werr = NULL;
  clear_weights ();
  if (lf_model_dir_load (fx.m, fx.without, fx.section, &werr) || werr == NULL)
    g_error ("a folder without model.safetensors loaded, or failed without an error");
  check_weights (FALSE);
  return 0;
}
