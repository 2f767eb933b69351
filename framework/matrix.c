/* lifelong — `lifelong matrix`: the product of a matrix file's lists as
 * cells, each resolved and named by a hash of its resolved config, each run
 * as its own `lifelong run` process (posix_spawn), watched for time and
 * memory, with results written atomically so a killed matrix loses nothing
 * and a rerun resumes. */
#include "matrix.h"
#include "resolve.h"
#include "run.h"
#include "json-write.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <glib/gstdio.h>

extern char **environ;

typedef enum { CELL_PENDING, CELL_RUNNING, CELL_OK, CELL_FAILED, CELL_SKIPPED } CellStatus;

static const char *const status_names[] = { "pending", "running", "ok", "failed", "skipped" };

typedef struct {
  char       *id;         /* 16 hex of the resolved config's hash */
  char       *method;     /* strategy name, or its label / variant */
  char       *strategy, *model, *dataset, *scenario;
  int64_t     seed;
  int         threads;
  JsonObject *config;     /* the cell's config as written to config.json */
  CellStatus  status;
  char       *reason;
  char       *dir;
  /* while running */
  GPid        pid;
  double      started;
  double      wall_s;
} Cell;

typedef struct {
  const LfMatrixOptions *o;
  GPtrArray *cells;       /* Cell* */
  JsonNode  *published;
  double     t0;
  int        n_running;
  gboolean   tty;
} Matrix;

static double
now_s (void)
{
  return (double) g_get_monotonic_time () / 1e6;
}

static void
cell_free (Cell *c)
{
  g_free (c->id);
  g_free (c->method);
  g_free (c->strategy);
  g_free (c->model);
  g_free (c->dataset);
  g_free (c->scenario);
  if (c->config)
    json_object_unref (c->config);
  g_free (c->reason);
  g_free (c->dir);
  g_free (c);
}

/* ---- building cells ---- */

/* dst <- dst deep-merged with src (src wins; objects merge recursively). */
static void
merge (JsonObject *dst, JsonObject *src)
{
  g_autoptr (GList) keys = json_object_get_members (src);
  for (GList *l = keys; l; l = l->next)
    {
      const char *k = l->data;
      JsonNode *sv = json_object_get_member (src, k);
      JsonNode *dv = json_object_get_member (dst, k);
      if (dv && JSON_NODE_HOLDS_OBJECT (dv) && JSON_NODE_HOLDS_OBJECT (sv))
        merge (json_node_get_object (dv), json_node_get_object (sv));
      else if (JSON_NODE_HOLDS_OBJECT (sv))
        {
          /* a fresh object: json_node_copy shares nested objects, and a
           * later merge into this cell must not reach the base or another cell */
          JsonObject *fresh = json_object_new ();
          merge (fresh, json_node_get_object (sv));
          json_object_set_object_member (dst, k, fresh);
        }
      else
        json_object_set_member (dst, k, json_node_copy (sv));
    }
}

static JsonObject *
object_copy (JsonObject *o)
{
  JsonObject *c = json_object_new ();
  if (o)
    merge (c, o);
  return c;
}

static JsonArray *
list_member (JsonObject *m, const char *key, const char *path, gboolean required, GError **error)
{
  JsonNode *n = json_object_get_member (m, key);
  if (n == NULL)
    {
      if (required)
        g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "%s: \"%s\" is missing (a list)", path, key);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_ARRAY (n) || json_array_get_length (json_node_get_array (n)) == 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "%s: \"%s\" must be a non-empty list", path, key);
      return NULL;
    }
  return json_node_get_array (n);
}

static gboolean
node_is_string (JsonNode *n)
{
  return n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING;
}

/* A strategy entry may carry "label" and "variants": {"small": {...}, ...};
 * each variant is a cell of its own labelled "name/variant". */
typedef struct {
  char       *label;
  JsonObject *params;
} Method;

static gboolean
expand_methods (JsonArray *strategies, const char *path, GPtrArray *out, GError **error)
{
  for (guint i = 0; i < json_array_get_length (strategies); i++)
    {
      JsonNode *n = json_array_get_element (strategies, i);
      if (!JSON_NODE_HOLDS_OBJECT (n) || !node_is_string (json_object_get_member (json_node_get_object (n), "name")))
        {
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                       "%s: strategies[%u] must be an object with a string \"name\"", path, i);
          return FALSE;
        }
      JsonObject *s = json_node_get_object (n);
      const char *name = json_object_get_string_member (s, "name");
      JsonNode *ln = json_object_get_member (s, "label");
      if (ln != NULL && !node_is_string (ln))
        {
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "%s: strategies[%u].label must be a string", path, i);
          return FALSE;
        }
      const char *label = ln != NULL ? json_node_get_string (ln) : name;
      JsonObject *base = object_copy (s);
      json_object_remove_member (base, "label");
      json_object_remove_member (base, "variants");
      JsonNode *vn = json_object_get_member (s, "variants");
      if (vn == NULL)
        {
          Method *m = g_new0 (Method, 1);
          m->label = g_strdup (label);
          m->params = base;
          g_ptr_array_add (out, m);
          continue;
        }
      if (!JSON_NODE_HOLDS_OBJECT (vn))
        {
          json_object_unref (base);
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                       "%s: strategies[%u].variants must be an object of named parameter sets", path, i);
          return FALSE;
        }
      g_autoptr (GList) keys = json_object_get_members (json_node_get_object (vn));
      for (GList *l = keys; l; l = l->next)
        {
          JsonNode *v = json_object_get_member (json_node_get_object (vn), l->data);
          if (!JSON_NODE_HOLDS_OBJECT (v))
            {
              json_object_unref (base);
              g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                           "%s: strategies[%u].variants.%s must be an object", path, i, (char *) l->data);
              return FALSE;
            }
          Method *m = g_new0 (Method, 1);
          m->label = g_strdup_printf ("%s/%s", label, (char *) l->data);
          m->params = object_copy (base);
          merge (m->params, json_node_get_object (v));
          g_ptr_array_add (out, m);
        }
      json_object_unref (base);
    }
  return TRUE;
}

static void
method_free (Method *m)
{
  g_free (m->label);
  json_object_unref (m->params);
  g_free (m);
}

/* "type/T" ("type/domains/T" for domains other than split), from the
 * resolved scenario section: the values are checked and defaults filled. */
static char *
scenario_label (const LfParams *scp)
{
  const char *type = lf_params_get_string (scp, "type");
  const char *dom = lf_params_get_string (scp, "domains");
  /* knowledge-editing: T is the number of edits */
  int64_t T = lf_params_get_int (scp, g_str_equal (type, "knowledge-editing") ? "edits" : "experiences");
  g_autofree char *more = lf_scenario_label_suffix (scp);   /* online streams, label noise, class order */
  if (g_str_equal (type, "domain-incremental") && !g_str_equal (dom, "split"))
    return g_strdup_printf ("%s/%s/%" G_GINT64_FORMAT "%s", type, dom, T, more);
  return g_strdup_printf ("%s/%" G_GINT64_FORMAT "%s", type, T, more);
}

static gboolean
build_cells (Matrix *mx, JsonObject *m, LfPluginRegistry *reg, GError **error)
{
  const char *path = mx->o->matrix_path;
  static const char *const keys[] = {
    "base", "models", "strategies", "datasets", "scenarios", "seeds", "published", "name", "description", NULL
  };
  g_autoptr (GList) members = json_object_get_members (m);
  for (GList *l = members; l; l = l->next)
    if (!g_strv_contains (keys, l->data))
      {
        const char *near = lf_nearest_name (l->data, keys);
        g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "%s: unknown key \"%s\"%s%s%s", path,
                     (char *) l->data, near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "");
        return FALSE;
      }
  JsonNode *bn = json_object_get_member (m, "base"), *pn = json_object_get_member (m, "published");
  if ((bn != NULL && !JSON_NODE_HOLDS_OBJECT (bn)) || (pn != NULL && !JSON_NODE_HOLDS_OBJECT (pn)))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "%s: \"%s\" must be an object", path,
                   bn != NULL && !JSON_NODE_HOLDS_OBJECT (bn) ? "base" : "published");
      return FALSE;
    }
  JsonObject *base = bn != NULL ? json_node_get_object (bn) : NULL;
  GError *e = NULL;
  JsonArray *models = list_member (m, "models", path, TRUE, &e);
  JsonArray *strategies = models ? list_member (m, "strategies", path, TRUE, &e) : NULL;
  JsonArray *datasets = strategies ? list_member (m, "datasets", path, TRUE, &e) : NULL;
  JsonArray *scenarios = datasets ? list_member (m, "scenarios", path, FALSE, &e) : NULL;
  JsonArray *seeds = e == NULL ? list_member (m, "seeds", path, FALSE, &e) : NULL;
  if (e)
    {
      g_propagate_error (error, e);
      return FALSE;
    }
  g_autoptr (GPtrArray) methods = g_ptr_array_new_with_free_func ((GDestroyNotify) method_free);
  if (!expand_methods (strategies, path, methods, error))
    return FALSE;
  mx->published = json_object_has_member (m, "published") ? json_node_copy (json_object_get_member (m, "published")) : NULL;
  guint n_scen = scenarios ? json_array_get_length (scenarios) : 1;
  guint n_seed = seeds ? json_array_get_length (seeds) : 1;
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint a = 0; a < json_array_get_length (models); a++)
    for (guint b = 0; b < methods->len; b++)
      for (guint c = 0; c < json_array_get_length (datasets); c++)
        for (guint d = 0; d < n_scen; d++)
          for (guint s = 0; s < n_seed; s++)
            {
              Method *meth = methods->pdata[b];
              JsonObject *cfg = object_copy (base);
              JsonObject *part = json_object_new ();
              json_object_set_member (part, "model", json_node_copy (json_array_get_element (models, a)));
              json_object_set_object_member (part, "strategy", object_copy (meth->params));
              json_object_set_member (part, "dataset", json_node_copy (json_array_get_element (datasets, c)));
              if (scenarios)
                json_object_set_member (part, "scenario", json_node_copy (json_array_get_element (scenarios, d)));
              if (seeds)
                json_object_set_member (part, "seed", json_node_copy (json_array_get_element (seeds, s)));
              merge (cfg, part);
              json_object_unref (part);
              g_autofree char *where = g_strdup_printf ("%s (cell models[%u] x %s x datasets[%u] x scenarios[%u] x seeds[%u])",
                                                        path, a, meth->label, c, d, s);
              if (!lf_config_check_top (cfg, where, error))
                {
                  json_object_unref (cfg);
                  return FALSE;
                }
              Cell *cell = g_new0 (Cell, 1);
              cell->config = cfg;
              cell->method = g_strdup (meth->label);
              cell->model = g_strdup (json_object_get_string_member (json_object_get_object_member (cfg, "model"), "name"));
              cell->strategy = g_strdup (json_object_get_string_member (json_object_get_object_member (cfg, "strategy"), "name"));
              cell->dataset = g_strdup (json_object_get_string_member (json_object_get_object_member (cfg, "dataset"), "name"));
              cell->seed = json_object_has_member (cfg, "seed") ? json_object_get_int_member (cfg, "seed") : 0;
              cell->threads = json_object_has_member (cfg, "threads") ? (int) json_object_get_int_member (cfg, "threads") : 1;
              LfResolved res;
              g_autoptr (GError) rerr = NULL;
              if (lf_resolve (cfg, reg, &res, &rerr))
                {
                  cell->id = g_strndup (res.hash, 16);
                  cell->scenario = scenario_label (res.scp);
                }
              else if (g_error_matches (rerr, LF_HOST_ERROR, LF_HOST_ERROR_INCOMPATIBLE) && res.hash)
                {
                  cell->id = g_strndup (res.hash, 16);
                  cell->scenario = scenario_label (res.scp);
                  cell->status = CELL_SKIPPED;
                  cell->reason = g_strdup (rerr->message);
                }
              else
                {
                  g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "%s: %s", where, rerr->message);
                  lf_resolved_clear (&res);
                  g_ptr_array_add (mx->cells, cell);
                  return FALSE;
                }
              lf_resolved_clear (&res);
              cell->dir = g_strdup_printf ("cells/%s", cell->id);
              g_ptr_array_add (mx->cells, cell);
              if (g_hash_table_contains (seen, cell->id))
                {
                  g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                               "%s: two cells resolve to the same config (%s, seed %" G_GINT64_FORMAT
                               "): list each value once", path, cell->method, cell->seed);
                  return FALSE;
                }
              g_hash_table_add (seen, cell->id);
            }
  return TRUE;
}

/* ---- files ---- */

static char *
cell_path (Matrix *mx, Cell *c, const char *name)
{
  return g_build_filename (mx->o->out_dir, c->dir, name, NULL);
}

static gboolean
write_json (const char *path, JsonNode *node, GError **error)
{
  g_autofree char *text = lf_json_to_string (node, TRUE);
  return lf_write_file_atomic (path, text, strlen (text), error);
}

static gboolean
write_index (Matrix *mx, GError **error)
{
  JsonObject *o = json_object_new ();
  json_object_set_int_member (o, "schema_version", 1);
  json_object_set_string_member (o, "matrix_file", mx->o->matrix_path);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *iso = g_date_time_format_iso8601 (now);
  json_object_set_string_member (o, "updated", iso);
  if (mx->published)
    json_object_set_member (o, "published", json_node_copy (mx->published));
  JsonArray *cells = json_array_new ();
  for (guint i = 0; i < mx->cells->len; i++)
    {
      Cell *c = mx->cells->pdata[i];
      JsonObject *co = json_object_new ();
      json_object_set_string_member (co, "id", c->id);
      json_object_set_string_member (co, "method", c->method);
      json_object_set_string_member (co, "strategy", c->strategy);
      json_object_set_string_member (co, "model", c->model);
      json_object_set_string_member (co, "dataset", c->dataset);
      json_object_set_string_member (co, "scenario", c->scenario);
      json_object_set_int_member (co, "seed", c->seed);
      json_object_set_string_member (co, "status", status_names[c->status == CELL_RUNNING ? CELL_PENDING : c->status]);
      if (c->reason)
        json_object_set_string_member (co, "reason", c->reason);
      json_object_set_string_member (co, "dir", c->dir);
      json_array_add_object_element (cells, co);
    }
  json_object_set_array_member (o, "cells", cells);
  JsonNode *root = json_node_init_object (json_node_alloc (), o);
  json_object_unref (o);
  g_autofree char *path = g_build_filename (mx->o->out_dir, "index.json", NULL);
  gboolean ok = write_json (path, root, error);
  json_node_unref (root);
  return ok;
}

static char *
log_tail (const char *path, int lines)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &text, &len, NULL) || len == 0)
    return g_strdup ("");
  const char *p = text + len;
  for (int n = 0; p > text; p--)
    if (p[-1] == '\n' && p != text + len && ++n > lines)
      break;
  return g_strdup (p);
}

static void
write_status (Matrix *mx, Cell *c, int exit_code, int sig)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "status", status_names[c->status]);
  if (c->reason)
    json_object_set_string_member (o, "reason", c->reason);
  json_object_set_int_member (o, "exit_code", exit_code);
  json_object_set_int_member (o, "signal", sig);
  json_object_set_double_member (o, "wall_s", c->wall_s);
  g_autofree char *lp = cell_path (mx, c, "log.txt");
  g_autofree char *tail = log_tail (lp, 20);
  json_object_set_string_member (o, "log_tail", tail);
  JsonNode *root = json_node_init_object (json_node_alloc (), o);
  json_object_unref (o);
  g_autofree char *sp = cell_path (mx, c, "status.json");
  g_autoptr (GError) error = NULL;
  if (!write_json (sp, root, &error))
    g_printerr ("lifelong matrix: %s\n", error->message);
  json_node_unref (root);
}

/* Reads back what earlier invocations left: finished cells are done. */
static void
load_states (Matrix *mx)
{
  for (guint i = 0; i < mx->cells->len; i++)
    {
      Cell *c = mx->cells->pdata[i];
      if (c->status == CELL_SKIPPED)
        continue;
      g_autofree char *rp = cell_path (mx, c, "result.json");
      if (g_file_test (rp, G_FILE_TEST_IS_REGULAR))
        c->status = CELL_OK;
    }
}

/* The temporary of an index write that was killed.  Only lf_matrix_run
 * does this: under lifelong-mpi another rank may be writing the index. */
static void
remove_stale_index (Matrix *mx)
{
  g_autofree char *ip = g_build_filename (mx->o->out_dir, "index.json", NULL);
  lf_remove_stale_temporaries (ip);
}

/* Skipped cells get their status file too. */
static void
write_skipped (Matrix *mx)
{
  for (guint i = 0; i < mx->cells->len; i++)
    {
      Cell *c = mx->cells->pdata[i];
      if (c->status != CELL_SKIPPED)
        continue;
      g_autofree char *dir = g_build_filename (mx->o->out_dir, c->dir, NULL);
      g_mkdir_with_parents (dir, 0755);
      write_status (mx, c, 0, 0);
    }
}

/* ---- running ---- */

static gboolean
spawn_cell (Matrix *mx, Cell *c, GError **error)
{
  g_autofree char *dir = g_build_filename (mx->o->out_dir, c->dir, NULL);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "%s: cannot create: %s", dir, g_strerror (errno));
      return FALSE;
    }
  g_autofree char *cp = cell_path (mx, c, "config.json");
  g_autofree char *sp = cell_path (mx, c, "status.json");
  /* what a matrix killed mid-write left (the run clears its own files') */
  lf_remove_stale_temporaries (cp);
  lf_remove_stale_temporaries (sp);
  JsonNode *root = json_node_init_object (json_node_alloc (), c->config);
  gboolean ok = write_json (cp, root, error);
  json_node_unref (root);
  if (!ok)
    return FALSE;
  g_autofree char *rp = cell_path (mx, c, "result.json");
  g_autofree char *lp = cell_path (mx, c, "log.txt");
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) mx->o->exe);
  g_ptr_array_add (argv, "run");
  g_ptr_array_add (argv, cp);
  g_ptr_array_add (argv, "--out");
  g_ptr_array_add (argv, rp);
  g_ptr_array_add (argv, "--resume");
  g_ptr_array_add (argv, "--quiet");
  if (mx->o->plugin_path)
    {
      g_ptr_array_add (argv, "--plugin-path");
      g_ptr_array_add (argv, (gpointer) mx->o->plugin_path);
    }
  g_ptr_array_add (argv, NULL);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen (&fa, 1, lp, O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2 (&fa, 1, 2);
  pid_t pid;
  int rc = posix_spawn (&pid, mx->o->exe, &fa, NULL, (char **) argv->pdata, environ);
  posix_spawn_file_actions_destroy (&fa);
  if (rc != 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "cannot start %s: %s", mx->o->exe, g_strerror (rc));
      return FALSE;
    }
  c->pid = pid;
  c->started = now_s ();
  c->status = CELL_RUNNING;
  mx->n_running++;
  return TRUE;
}

/* Resident set of a process in bytes (0 if it is gone). */
static int64_t
rss_bytes (GPid pid)
{
  g_autofree char *p = g_strdup_printf ("/proc/%d/statm", (int) pid);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (p, &text, NULL, NULL))
    return 0;
  long size = 0, resident = 0;
  if (sscanf (text, "%ld %ld", &size, &resident) != 2)
    return 0;
  return (int64_t) resident * sysconf (_SC_PAGESIZE);
}

static void
finish_cell (Matrix *mx, Cell *c, int wstatus, const char *killed_reason)
{
  mx->n_running--;
  c->wall_s = now_s () - c->started;
  int exit_code = WIFEXITED (wstatus) ? WEXITSTATUS (wstatus) : -1;
  int sig = WIFSIGNALED (wstatus) ? WTERMSIG (wstatus) : 0;
  g_autofree char *rp = cell_path (mx, c, "result.json");
  g_clear_pointer (&c->reason, g_free);
  if (killed_reason == NULL && exit_code == 0 && g_file_test (rp, G_FILE_TEST_IS_REGULAR))
    c->status = CELL_OK;
  else
    {
      c->status = CELL_FAILED;
      if (killed_reason)
        c->reason = g_strdup (killed_reason);
      else if (sig)
        c->reason = g_strdup_printf ("killed by signal %d (%s)", sig, g_strsignal (sig));
      else
        {
          g_autofree char *lp = cell_path (mx, c, "log.txt");
          g_autofree char *tail = log_tail (lp, 1);
          g_strstrip (tail);
          c->reason = g_strdup_printf ("exit %d: %s", exit_code, tail);
        }
    }
  write_status (mx, c, exit_code, sig);
}

static void
show_progress (Matrix *mx, gboolean final)
{
  int n[5] = { 0 };
  for (guint i = 0; i < mx->cells->len; i++)
    n[((Cell *) mx->cells->pdata[i])->status]++;
  int done = n[CELL_OK] + n[CELL_FAILED], todo = done + n[CELL_PENDING] + n[CELL_RUNNING];
  double el = now_s () - mx->t0;
  g_autofree char *eta = done > 0 && todo > done ? g_strdup_printf ("  ETA %.0fs", el / done * (todo - done)) : g_strdup ("");
  g_autofree char *line = g_strdup_printf ("cells: %d ok, %d running, %d failed, %d skipped, %d pending%s",
                                           n[CELL_OK], n[CELL_RUNNING], n[CELL_FAILED], n[CELL_SKIPPED],
                                           n[CELL_PENDING], eta);
  if (mx->o->quiet && !final)
    return;
  if (mx->tty && !final)
    fprintf (stderr, "\r\033[K%s", line);
  else
    fprintf (stderr, "%s%s\n", mx->tty ? "\r\033[K" : "", line);
}

/* Checks a running cell once: reaps it if it ended, kills it past its time
 * or memory limit.  TRUE when the cell is finished. */
static gboolean
poll_cell (Matrix *mx, Cell *c)
{
  int ws;
  pid_t r = waitpid (c->pid, &ws, WNOHANG);
  g_autofree char *reason = NULL;
  if (r == 0)
    {
      double el = now_s () - c->started;
      int64_t rss = mx->o->cell_memory_mb > 0 ? rss_bytes (c->pid) : 0;
      if (mx->o->cell_timeout_s > 0 && el > mx->o->cell_timeout_s)
        reason = g_strdup_printf ("timeout: still running after %.1f s (--cell-timeout %.1f)",
                                  el, mx->o->cell_timeout_s);
      else if (mx->o->cell_memory_mb > 0 && rss > (int64_t) (mx->o->cell_memory_mb * 1048576.0))
        reason = g_strdup_printf ("memory: resident set %.0f MB over --cell-memory %.0f MB",
                                  (double) rss / 1048576.0, mx->o->cell_memory_mb);
      if (reason == NULL)
        return FALSE;
      kill (c->pid, SIGKILL);
      waitpid (c->pid, &ws, 0);
    }
  else if (r < 0)
    return FALSE;
  finish_cell (mx, c, ws, reason);
  return TRUE;
}

static gboolean
run_cells (Matrix *mx, GError **error)
{
  guint next = 0;
  for (;;)
    {
      /* start what fits */
      while (mx->n_running < mx->o->jobs)
        {
          while (next < mx->cells->len && ((Cell *) mx->cells->pdata[next])->status != CELL_PENDING)
            next++;
          if (next >= mx->cells->len)
            break;
          Cell *c = mx->cells->pdata[next++];
          if (!spawn_cell (mx, c, error))
            return FALSE;
          if (mx->tty)
            show_progress (mx, FALSE);
        }
      if (mx->n_running == 0)
        break;
      g_usleep (50 * 1000);
      for (guint i = 0; i < mx->cells->len; i++)
        {
          Cell *c = mx->cells->pdata[i];
          if (c->status != CELL_RUNNING || !poll_cell (mx, c))
            continue;
          g_autoptr (GError) ierr = NULL;
          if (!write_index (mx, &ierr))
            g_printerr ("lifelong matrix: %s\n", ierr->message);
          show_progress (mx, FALSE);
        }
    }
  return TRUE;
}

/* ---- the plan, for other schedulers (lifelong-mpi) ---- */

struct LfMatrixPlan {
  Matrix mx;
};

LfMatrixPlan *
lf_matrix_plan_new (const LfMatrixOptions *o, GError **error)
{
  LfMatrixPlan *p = g_new0 (LfMatrixPlan, 1);
  p->mx = (Matrix) { .o = o, .cells = g_ptr_array_new_with_free_func ((GDestroyNotify) cell_free), .t0 = now_s () };
  g_autoptr (LfPluginRegistry) reg = lf_registry_new ();
  g_auto (GStrv) dirs = lf_plugin_search_path (o->plugin_path);
  lf_registry_scan (reg, (const char *const *) dirs, NULL);
  JsonObject *m = lf_config_load (o->matrix_path, error);
  gboolean ok = m != NULL && build_cells (&p->mx, m, reg, error);
  if (m)
    json_object_unref (m);
  if (ok && g_mkdir_with_parents (o->out_dir, 0755) != 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "--out %s: cannot create: %s", o->out_dir, g_strerror (errno));
      ok = FALSE;
    }
  if (!ok)
    {
      lf_matrix_plan_free (p);
      return NULL;
    }
  load_states (&p->mx);
  return p;
}

LfMatrixPlan *
lf_matrix_plan_new_from_data (const LfMatrixOptions *o, const char *data, gssize len, LfPluginRegistry *reg,
                              GError **error)
{
  LfMatrixPlan *p = g_new0 (LfMatrixPlan, 1);
  p->mx = (Matrix) { .o = o, .cells = g_ptr_array_new_with_free_func ((GDestroyNotify) cell_free), .t0 = now_s () };
  JsonObject *m = lf_config_load_data (data, len, o->matrix_path, error);
  gboolean ok = m != NULL && build_cells (&p->mx, m, reg, error);
  if (m)
    json_object_unref (m);
  if (!ok)
    {
      lf_matrix_plan_free (p);
      return NULL;
    }
  return p;
}

void
lf_matrix_plan_free (LfMatrixPlan *p)
{
  if (p == NULL)
    return;
  if (p->mx.published)
    json_node_unref (p->mx.published);
  g_ptr_array_unref (p->mx.cells);
  g_free (p);
}

int lf_matrix_plan_n_cells (LfMatrixPlan *p) { return (int) p->mx.cells->len; }

gboolean
lf_matrix_plan_pending (LfMatrixPlan *p, int i)
{
  return ((Cell *) p->mx.cells->pdata[i])->status == CELL_PENDING;
}

const char *
lf_matrix_plan_describe (LfMatrixPlan *p, int i)
{
  return ((Cell *) p->mx.cells->pdata[i])->id;
}

JsonObject *
lf_matrix_plan_config (LfMatrixPlan *p, int i)
{
  return ((Cell *) p->mx.cells->pdata[i])->config;
}

gboolean
lf_matrix_plan_run_cell (LfMatrixPlan *p, int i, GError **error)
{
  Cell *c = p->mx.cells->pdata[i];
  if (!spawn_cell (&p->mx, c, error))
    return FALSE;
  while (!poll_cell (&p->mx, c))
    g_usleep (50 * 1000);
  return c->status == CELL_OK;
}

/* Re-reads cell i's status.json (another process ran it). */
void
lf_matrix_plan_refresh (LfMatrixPlan *p, int i)
{
  Cell *c = p->mx.cells->pdata[i];
  g_autofree char *sp = cell_path (&p->mx, c, "status.json");
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_file (parser, sp, NULL))
    return;
  JsonObject *o = json_node_get_object (json_parser_get_root (parser));
  const char *st = json_object_get_string_member_with_default (o, "status", "pending");
  for (int k = 0; k < 5; k++)
    if (g_str_equal (st, status_names[k]))
      c->status = (CellStatus) k;
  g_free (c->reason);
  c->reason = json_object_has_member (o, "reason") ? g_strdup (json_object_get_string_member (o, "reason")) : NULL;
}

gboolean
lf_matrix_plan_write_index (LfMatrixPlan *p, GError **error)
{
  write_skipped (&p->mx);
  return write_index (&p->mx, error);
}

gboolean
lf_matrix_run (const LfMatrixOptions *o, int *n_failed, GError **error)
{
  Matrix mx = { .o = o, .cells = g_ptr_array_new_with_free_func ((GDestroyNotify) cell_free), .t0 = now_s (),
                .tty = isatty (2) };
  gboolean ok = FALSE;
  g_autoptr (LfPluginRegistry) reg = lf_registry_new ();
  g_auto (GStrv) dirs = lf_plugin_search_path (o->plugin_path);
  g_autoptr (GError) scan_error = NULL;
  JsonObject *m = lf_config_load (o->matrix_path, error);
  if (m == NULL)
    goto out;
  if (!lf_registry_scan (reg, (const char *const *) dirs, &scan_error))
    g_debug ("plugin scan: %s", scan_error ? scan_error->message : "");
  if (!build_cells (&mx, m, reg, error))
    goto out;
  if (g_mkdir_with_parents (o->out_dir, 0755) != 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "--out %s: cannot create: %s", o->out_dir, g_strerror (errno));
      goto out;
    }
  load_states (&mx);
  remove_stale_index (&mx);
  write_skipped (&mx);
  int cores = (int) sysconf (_SC_NPROCESSORS_ONLN), max_threads = 1;
  for (guint i = 0; i < mx.cells->len; i++)
    max_threads = MAX (max_threads, ((Cell *) mx.cells->pdata[i])->threads);
  if (o->jobs * max_threads > cores)
    g_printerr ("lifelong matrix: warning: -j %d x %d threads per cell = %d threads on %d cores: cells will "
                "slow each other down (lower -j or \"threads\")\n", o->jobs, max_threads, o->jobs * max_threads, cores);
  if (!write_index (&mx, error))
    goto out;
  if (o->dry_run)
    {
      for (guint i = 0; i < mx.cells->len; i++)
        {
          Cell *c = mx.cells->pdata[i];
          printf ("%s  %-8s %-24s %-10s %-14s %-28s seed %" G_GINT64_FORMAT "%s%s\n", c->id, status_names[c->status],
                  c->method, c->model, c->dataset, c->scenario, c->seed, c->reason ? "  " : "", c->reason ? c->reason : "");
        }
      ok = TRUE;
      goto out;
    }
  show_progress (&mx, FALSE);
  ok = run_cells (&mx, error) && write_index (&mx, error);
  show_progress (&mx, TRUE);
  *n_failed = 0;
  for (guint i = 0; i < mx.cells->len; i++)
    {
      Cell *c = mx.cells->pdata[i];
      if (c->status == CELL_FAILED)
        {
          (*n_failed)++;
          g_printerr ("failed: %s %s %s seed %" G_GINT64_FORMAT " (%s): %s\n", c->method, c->dataset, c->scenario,
                      c->seed, c->dir, c->reason ? c->reason : "");
        }
    }
out:
  if (m)
    json_object_unref (m);
  if (mx.published)
    json_node_unref (mx.published);
  g_ptr_array_unref (mx.cells);
  return ok;
}
