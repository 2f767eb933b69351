/* lifelong — the model cache: model.checkpoint {"cache": NAME, "config":
 * {...a run config...}} names the model that run saves; it is trained once,
 * kept in $LIFELONG_CACHE/NAME-<hash> (the SHA-256 of the resolved config),
 * and loaded by every later run.  A lock keeps two matrix cells from
 * training it twice; a rename makes an entry appear complete or not at
 * all; an entry that does not read back is trained again. */
#include "cache.h"
#include "run.h"
#include "safetensors.h"
#include "json-write.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>
#include <glib/gstdio.h>

char *
lf_cache_root (void)
{
  const char *env = g_getenv ("LIFELONG_CACHE");
  if (env && *env)
    return g_strdup (env);
  return g_build_filename (g_get_user_cache_dir (), "lifelong", NULL);
}

static gboolean
cache_name_ok (const char *s)
{
  if (s == NULL || *s == '\0' || *s == '.' || strlen (s) > 100)
    return FALSE;
  for (const char *c = s; *c; c++)
    if (!g_ascii_isalnum (*c) && *c != '-' && *c != '_' && *c != '.')
      return FALSE;
  return TRUE;
}

gboolean
lf_cache_resolve (JsonObject *spec, LfPluginRegistry *reg, LfResolved *r, GError **error)
{
  JsonObjectIter it;
  const char *key;
  JsonNode *val;
  json_object_iter_init (&it, spec);
  while (json_object_iter_next (&it, &key, &val))
    if (!g_str_equal (key, "cache") && !g_str_equal (key, "config"))
      {
        g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                     "model.checkpoint.%s: unknown key (a cached checkpoint has \"cache\" and \"config\")", key);
        return FALSE;
      }
  JsonNode *nn = json_object_get_member (spec, "cache");
  const char *name = nn && JSON_NODE_HOLDS_VALUE (nn) && json_node_get_value_type (nn) == G_TYPE_STRING
                     ? json_node_get_string (nn) : NULL;
  if (!cache_name_ok (name))
    {
      g_autofree char *v = nn ? json_to_string (nn, FALSE) : g_strdup ("missing");
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "model.checkpoint.cache: %s is not a cache entry name (letters, digits, '-', '_', '.'; "
                   "not starting with '.')", v);
      return FALSE;
    }
  JsonNode *cn = json_object_get_member (spec, "config");
  if (cn == NULL || !JSON_NODE_HOLDS_OBJECT (cn))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "model.checkpoint.config: expected the run config (an object) that trains the cached model");
      return FALSE;
    }
  JsonObject *inner_cfg = json_node_get_object (cn);
  LfResolved inner;
  if (!lf_config_check_top (inner_cfg, "model.checkpoint.config", error) || !lf_resolve (inner_cfg, reg, &inner, error))
    {
      lf_resolved_clear (&inner);
      g_prefix_error (error, "model.checkpoint.config: ");
      return FALSE;
    }
  g_autofree char *root = lf_cache_root ();
  g_autofree char *entry = g_strdup_printf ("%s-%.16s", name, inner.hash);
  r->cache_name = g_strdup (name);
  r->cache_key = g_strdup (inner.hash);
  /* as given: a resolved config lists keys some checks refuse when set
   * (scenario.domains outside domain-incremental); the entry's result.json
   * has the resolved one */
  r->cache_config = json_node_copy (cn);
  r->checkpoint = g_build_filename (root, entry, NULL);
  lf_resolved_clear (&inner);
  return TRUE;
}

/* An entry is usable when its model reads back (lf_safetensors_open checks
 * the layout and the checksum) and the run that wrote it finished. */
static gboolean
cache_entry_ok (const char *dir, GError **why)
{
  g_autofree char *w = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *res = g_build_filename (dir, "result.json", NULL);
  g_autoptr (LfSafetensors) st = lf_safetensors_open (w, why);
  if (st == NULL)
    return FALSE;
  if (!g_file_test (res, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (why, LF_HOST_ERROR, LF_HOST_ERROR_IO, "%s is missing", res);
      return FALSE;
    }
  return TRUE;
}

/* Removes a folder of plain files (what a cache entry holds). */
static void
cache_remove_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  for (const char *name; d != NULL && (name = g_dir_read_name (d)) != NULL;)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (dir);
}

/* Trains the entry into a temporary folder beside it and renames it into
 * place; the caller holds the lock. */
static gboolean
cache_train (const LfResolved *r, const char *root, const char *plugin_path, gboolean quiet, GError **error)
{
  g_autofree char *base = g_path_get_basename (r->checkpoint);
  g_autofree char *prefix = g_strconcat (".", base, ".tmp-", NULL);
  /* what a killed trainer of this entry left (no one else holds its lock) */
  g_autoptr (GDir) d = g_dir_open (root, 0, NULL);
  for (const char *name; d != NULL && (name = g_dir_read_name (d)) != NULL;)
    if (g_str_has_prefix (name, prefix))
      {
        g_autofree char *stale = g_build_filename (root, name, NULL);
        cache_remove_dir (stale);
      }
  g_autofree char *tmpl = g_strconcat (prefix, "XXXXXX", NULL);
  g_autofree char *tmp = g_build_filename (root, tmpl, NULL);
  if (g_mkdtemp (tmp) == NULL)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "model.checkpoint: cannot make a folder in %s: %s", root,
                   g_strerror (errno));
      return FALSE;
    }
  g_autofree char *cfg_path = g_build_filename (tmp, "config.run.json", NULL);
  g_autofree char *out = g_build_filename (tmp, "result.json", NULL);
  g_autofree char *text = lf_json_to_string (r->cache_config, TRUE);
  LfRunOptions o = { .config_path = cfg_path, .out_path = out, .plugin_path = plugin_path, .quiet = quiet,
                     .save_model_dir = tmp };
  gint64 t0 = g_get_monotonic_time ();
  if (!quiet)
    fprintf (stderr, "model.checkpoint: cache entry %s is not there: training it\n", r->checkpoint);
  if (!lf_write_file_atomic (cfg_path, text, strlen (text), error) || !lf_run (&o, NULL, error))
    {
      g_prefix_error (error, "model.checkpoint: training cache entry %s: ", base);
      cache_remove_dir (tmp);
      return FALSE;
    }
  if (rename (tmp, r->checkpoint) != 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "model.checkpoint: cannot rename %s to %s: %s", tmp,
                   r->checkpoint, g_strerror (errno));
      cache_remove_dir (tmp);
      return FALSE;
    }
  int dfd = open (root, O_RDONLY);
  if (dfd >= 0)
    {
      fsync (dfd);
      close (dfd);
    }
  if (!quiet)
    fprintf (stderr, "model.checkpoint: cache entry %s trained in %.1f s\n", r->checkpoint,
             (double) (g_get_monotonic_time () - t0) / 1e6);
  return TRUE;
}

gboolean
lf_cache_ensure (const LfResolved *r, const char *plugin_path, gboolean quiet, gboolean *trained, GError **error)
{
  *trained = FALSE;
  if (cache_entry_ok (r->checkpoint, NULL))
    return TRUE;
  g_autofree char *root = g_path_get_dirname (r->checkpoint);
  if (g_mkdir_with_parents (root, 0755) != 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "model.checkpoint: cannot make the cache folder %s: %s",
                   root, g_strerror (errno));
      return FALSE;
    }
  g_autofree char *lock = g_strconcat (r->checkpoint, ".lock", NULL);
  int fd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "model.checkpoint: cannot open the lock %s: %s", lock,
                   g_strerror (errno));
      return FALSE;
    }
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      if (!quiet)
        fprintf (stderr, "model.checkpoint: waiting for another process training %s\n", r->checkpoint);
      while (flock (fd, LOCK_EX) != 0 && errno == EINTR)
        ;
    }
  gboolean ok = TRUE;
  g_autoptr (GError) why = NULL;
  if (!cache_entry_ok (r->checkpoint, &why))
    {
      if (g_file_test (r->checkpoint, G_FILE_TEST_EXISTS))
        {
          g_printerr ("lifelong: warning: cache entry %s is unusable (%s): training it again\n", r->checkpoint,
                      why ? why->message : "?");
          cache_remove_dir (r->checkpoint);
        }
      ok = cache_train (r, root, plugin_path, quiet, error);
      *trained = ok;
    }
  close (fd);   /* releases the lock */
  return ok;
}
