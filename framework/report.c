/* lifelong — `lifelong report DIR [--out REPORT_DIR]`: reads a matrix
 * output directory (index.json and each cell's result, status and step log),
 * summarises every method over seeds per (scenario, dataset, model), ranks
 * them, and writes index.html (self-contained), leaderboard.md and
 * leaderboard.csv.  docs/report.md describes what is shown and how. */
#include "commands.h"
#include "report.h"
#include "run.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

static const char report_usage[] =
  "usage: lifelong report DIR [--out REPORT_DIR] [--quiet]\n"
  "\n"
  "Reads the output directory of `lifelong matrix` (DIR/index.json and the\n"
  "cells it lists) and writes, in REPORT_DIR (default DIR/report):\n"
  "  index.html       the report: leaderboards, statistics over seeds, charts\n"
  "                   (self-contained: open it with any browser, no network)\n"
  "  leaderboard.md   the leaderboards as Markdown tables\n"
  "  leaderboard.csv  one row per (scenario, dataset, model, method)\n"
  "  curves.csv, *-sN.png  when results carry curves (online accuracy over the\n"
  "                   stream, open-world accuracies and AUROC): the charts' numbers\n"
  "                   and images\n"
  "\n"
  "Each metric is shown as mean, sample standard deviation and 95% confidence\n"
  "interval over seeds (Student t), ranked in its direction; methods get an\n"
  "average rank across scenarios with a Nemenyi critical difference.  Failed,\n"
  "skipped and pending cells are listed with their reasons; an unreadable\n"
  "result shows as such and does not stop the report.  docs/report.md.\n"
  "\n"
  "  --out DIR   where the report goes (created if needed)\n"
  "  --quiet     do not print where the report went (warnings still are)\n";

#define REPORT_ERROR (g_quark_from_static_string ("lifelong-report-error"))

/* ---- freeing ------------------------------------------------------------------ */

static void
cell_free (gpointer p)
{
  LfRptCell *c = p;
  g_free (c->id);
  g_free (c->method);
  g_free (c->strategy);
  g_free (c->model);
  g_free (c->dataset);
  g_free (c->scenario);
  g_free (c->dir);
  g_free (c->status);
  g_free (c->reason);
  g_free (c->log_tail);
  g_free (c->R);
  g_free (c->rows);
  g_free (c->util);
  g_free (c->pt_x);
  g_free (c->pt_vals);
  if (c->pt_keys)
    g_ptr_array_unref (c->pt_keys);
  for (int k = 0; k < LF_RPT_N_CURVES; k++)
    if (c->curve[k])
      g_array_unref (c->curve[k]);
  if (c->curve_problems)
    g_ptr_array_unref (c->curve_problems);
  if (c->metric_names)
    g_ptr_array_unref (c->metric_names);
  if (c->metric_values)
    g_array_unref (c->metric_values);
  g_array_unref (c->loss_step);
  g_array_unref (c->loss_value);
  g_free (c);
}

static void
method_free (gpointer p)
{
  LfRptMethod *m = p;
  g_free (m->name);
  g_free (m->strategy);
  g_ptr_array_unref (m->cells);
  g_free (m->stats);
  g_free (m->R_mean);
  g_free (m->rows);
  g_free (m->seen_mean);
  g_free (m->util_mean);
  g_free (m->util_seeds);
  g_array_unref (m->loss_step);
  g_array_unref (m->loss_mean);
  for (int k = 0; k < LF_RPT_N_CURVES; k++)
    if (m->curve[k])
      g_array_unref (m->curve[k]);
  g_free (m);
}

static void
section_free (gpointer p)
{
  LfRptSection *s = p;
  g_free (s->scenario);
  g_free (s->dataset);
  g_free (s->model);
  g_free (s->title);
  g_free (s->anchor);
  g_ptr_array_unref (s->methods);
  g_ptr_array_unref (s->metric_names);
  g_array_unref (s->metric_higher);
  g_free (s);
}

static void
report_free (LfReport *r)
{
  g_free (r->dir);
  g_free (r->out_dir);
  g_free (r->matrix_file);
  g_free (r->created);
  g_clear_object (&r->index);
  g_ptr_array_unref (r->cells);
  g_ptr_array_unref (r->sections);
  g_ptr_array_unref (r->method_order);
  g_ptr_array_unref (r->cd_methods);
  g_array_unref (r->cd_ranks);
  g_ptr_array_unref (r->cd_left_out);
  if (r->curve_charts)
    g_ptr_array_unref (r->curve_charts);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LfReport, report_free)

static LfReport *
report_new (const char *dir, const char *out_dir)
{
  LfReport *r = g_new0 (LfReport, 1);
  r->dir = g_strdup (dir);
  r->out_dir = out_dir ? g_strdup (out_dir) : g_build_filename (dir, "report", NULL);
  r->cells = g_ptr_array_new_with_free_func (cell_free);
  r->sections = g_ptr_array_new_with_free_func (section_free);
  r->method_order = g_ptr_array_new_with_free_func (g_free);
  r->cd_methods = g_ptr_array_new_with_free_func (g_free);
  r->cd_ranks = g_array_new (FALSE, FALSE, sizeof (double));
  r->cd_left_out = g_ptr_array_new_with_free_func (g_free);
  r->cd = NAN;
  r->cd_q = NAN;
  return r;
}

/* ---- reading JSON leniently --------------------------------------------------- */

/* The string member NAME, or NULL when absent or not a string. */
static const char *
get_str (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

/* The number at NODE (integer or real), NaN for null, absence or a non-number. */
double
lf_rpt_node_num (JsonNode *n)
{
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
    return NAN;
  GType t = json_node_get_value_type (n);
  if (t == G_TYPE_INT64 || t == G_TYPE_DOUBLE)
    return json_node_get_double (n);
  return NAN;
}

gboolean
lf_rpt_node_is_num (JsonNode *n)
{
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
    return FALSE;
  GType t = json_node_get_value_type (n);
  return t == G_TYPE_INT64 || t == G_TYPE_DOUBLE;
}

/* o.a.b as a number (NaN when any step is missing). */
static double
get_num_path (JsonObject *o, const char *a, const char *b)
{
  JsonNode *n = json_object_get_member (o, a);
  if (b == NULL)
    return lf_rpt_node_num (n);
  if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n))
    return NAN;
  return lf_rpt_node_num (json_object_get_member (json_node_get_object (n), b));
}

/* json-glib's parse errors start with the file name; without it. */
static const char *
parse_message (const GError *e, const char *path)
{
  size_t n = strlen (path);
  if (strncmp (e->message, path, n) == 0 && e->message[n] == ':')
    return e->message + n + 1;
  return e->message;
}

/* ---- index.json ----------------------------------------------------------------- */

static gboolean
load_index (LfReport *r, GError **error)
{
  if (!g_file_test (r->dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, REPORT_ERROR, 1, "%s: %s", r->dir,
                   g_file_test (r->dir, G_FILE_TEST_EXISTS) ? "not a directory"
                                                           : "no such directory");
      return FALSE;
    }
  g_autofree char *path = g_build_filename (r->dir, "index.json", NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, REPORT_ERROR, 1,
                   "%s: not found (is %s the output directory of `lifelong matrix`?)", path, r->dir);
      return FALSE;
    }
  r->index = json_parser_new ();
  g_autoptr (GError) e = NULL;
  if (!json_parser_load_from_file (r->index, path, &e))
    {
      g_set_error (error, REPORT_ERROR, 1, "%s: malformed JSON (%s)", path, parse_message (e, path));
      return FALSE;
    }
  JsonNode *root = json_parser_get_root (r->index);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, REPORT_ERROR, 1, "%s: expected a JSON object at the top", path);
      return FALSE;
    }
  JsonObject *o = json_node_get_object (root);
  JsonNode *sv = json_object_get_member (o, "schema_version");
  if (sv != NULL && (!lf_rpt_node_is_num (sv) || lf_rpt_node_num (sv) != 1))
    {
      g_set_error (error, REPORT_ERROR, 1,
                   "%s: schema_version: this lifelong reads version 1 of the matrix index", path);
      return FALSE;
    }
  r->matrix_file = g_strdup (get_str (o, "matrix_file"));
  r->created = g_strdup (get_str (o, "created") ? get_str (o, "created") : get_str (o, "updated"));
  JsonNode *pub = json_object_get_member (o, "published");
  if (pub != NULL && JSON_NODE_HOLDS_OBJECT (pub))
    r->published = json_node_get_object (pub);
  else if (pub != NULL && !JSON_NODE_HOLDS_NULL (pub))
    {
      g_set_error (error, REPORT_ERROR, 1, "%s: published: expected an object", path);
      return FALSE;
    }
  JsonNode *cn = json_object_get_member (o, "cells");
  if (cn == NULL || !JSON_NODE_HOLDS_ARRAY (cn))
    {
      g_set_error (error, REPORT_ERROR, 1, "%s: cells: %s", path,
                   cn == NULL ? "missing" : "expected an array");
      return FALSE;
    }
  JsonArray *cells = json_node_get_array (cn);
  for (guint i = 0; i < json_array_get_length (cells); i++)
    {
      JsonNode *n = json_array_get_element (cells, i);
      if (!JSON_NODE_HOLDS_OBJECT (n))
        {
          g_set_error (error, REPORT_ERROR, 1, "%s: cells[%u]: expected an object", path, i);
          return FALSE;
        }
      JsonObject *co = json_node_get_object (n);
      const char *id = get_str (co, "id");
      if (id == NULL || *id == '\0' || strchr (id, '/') != NULL)
        {
          g_set_error (error, REPORT_ERROR, 1, "%s: cells[%u].id: %s", path, i,
                       id == NULL ? "missing or not a string" : "expected a cell id");
          return FALSE;
        }
      LfRptCell *c = g_new0 (LfRptCell, 1);
      g_ptr_array_add (r->cells, c);
      c->id = g_strdup (id);
      c->strategy = g_strdup (get_str (co, "strategy") ? get_str (co, "strategy") : "?");
      c->method = g_strdup (get_str (co, "method") ? get_str (co, "method") : c->strategy);
      c->model = g_strdup (get_str (co, "model") ? get_str (co, "model") : "?");
      c->dataset = g_strdup (get_str (co, "dataset") ? get_str (co, "dataset") : "?");
      c->scenario = g_strdup (get_str (co, "scenario") ? get_str (co, "scenario") : "?");
      double seed = get_num_path (co, "seed", NULL);
      c->seed = isfinite (seed) ? (int64_t) seed : -1;
      c->status = g_strdup (get_str (co, "status") ? get_str (co, "status") : "pending");
      c->reason = g_strdup (get_str (co, "reason"));
      const char *d = get_str (co, "dir");
      g_autofree char *rel = d ? g_strdup (d) : g_build_filename ("cells", id, NULL);
      c->dir = g_path_is_absolute (rel) ? g_strdup (rel) : g_build_filename (r->dir, rel, NULL);
      c->exit_code = -1;
      c->loss_step = g_array_new (FALSE, FALSE, sizeof (double));
      c->loss_value = g_array_new (FALSE, FALSE, sizeof (double));
    }
  return TRUE;
}

/* ---- a cell's files ----------------------------------------------------------------- */

static void
load_status (LfRptCell *c)
{
  g_autofree char *path = g_build_filename (c->dir, "status.json", NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return;
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) e = NULL;
  if (!json_parser_load_from_file (p, path, &e) || json_parser_get_root (p) == NULL
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)))
    {
      if (c->reason == NULL && strcmp (c->status, "ok") != 0)
        c->reason = g_strdup_printf ("%s unreadable: %s", path, e ? parse_message (e, path) : "not an object");
      return;
    }
  JsonObject *o = json_node_get_object (json_parser_get_root (p));
  if (c->reason == NULL && get_str (o, "reason") != NULL)
    c->reason = g_strdup (get_str (o, "reason"));
  if (get_str (o, "log_tail") != NULL && *get_str (o, "log_tail") != '\0')
    c->log_tail = g_strdup (get_str (o, "log_tail"));
  double ec = get_num_path (o, "exit_code", NULL), sg = get_num_path (o, "signal", NULL);
  if (isfinite (ec))
    c->exit_code = (int) ec;
  if (isfinite (sg))
    c->signal = (int) sg;
}

static void load_utilization (LfRptCell *c, JsonObject *o);
static void load_points (LfRptCell *c, JsonObject *o);

/* Reads result.json; on any fault the cell becomes "unreadable: why". */
static gboolean
load_result (LfRptCell *c, GError **error)
{
  g_autofree char *path = g_build_filename (c->dir, "result.json", NULL);
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) e = NULL;
  if (!json_parser_load_from_file (p, path, &e))
    {
      if (g_error_matches (e, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, REPORT_ERROR, 1, "%s: missing", path);
      else if (e->domain == JSON_PARSER_ERROR)
        g_set_error (error, REPORT_ERROR, 1, "%s: malformed JSON (%s)", path, parse_message (e, path));
      else
        g_set_error (error, REPORT_ERROR, 1, "%s: %s", path, e->message);
      return FALSE;
    }
  JsonNode *root = json_parser_get_root (p);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, REPORT_ERROR, 1, "%s: expected a JSON object", path);
      return FALSE;
    }
  JsonObject *o = json_node_get_object (root);
  const char *st = get_str (o, "status");
  if (st != NULL && strcmp (st, "ok") != 0)
    {
      g_set_error (error, REPORT_ERROR, 1, "%s: status is \"%s\", not \"ok\"", path, st);
      return FALSE;
    }
  const char *kind = get_str (o, "matrix_kind");
  c->kind = LF_MATRIX_ACCURACY;
  if (kind != NULL && !lf_matrix_kind_from_name (kind, &c->kind))
    {
      g_set_error (error, REPORT_ERROR, 1, "%s: matrix_kind: unknown kind \"%s\"", path, kind);
      return FALSE;
    }
  JsonNode *mn = json_object_get_member (o, "matrix");
  if (mn == NULL || !JSON_NODE_HOLDS_ARRAY (mn) || json_array_get_length (json_node_get_array (mn)) == 0)
    {
      g_set_error (error, REPORT_ERROR, 1, "%s: matrix: expected a non-empty array of rows", path);
      return FALSE;
    }
  JsonArray *rows = json_node_get_array (mn);
  c->n_rows = json_array_get_length (rows);
  for (int64_t i = 0; i < c->n_rows; i++)
    {
      JsonNode *rn = json_array_get_element (rows, (guint) i);
      int64_t len = JSON_NODE_HOLDS_ARRAY (rn) ? (int64_t) json_array_get_length (json_node_get_array (rn)) : -1;
      if (len < 1 || (i > 0 && len != c->T))
        {
          g_set_error (error, REPORT_ERROR, 1, "%s: matrix[%" G_GINT64_FORMAT "]: %s", path, i,
                       len < 1 ? "expected a non-empty array" : "rows differ in length");
          return FALSE;
        }
      c->T = len;
    }
  if (c->n_rows > c->T)
    {
      g_set_error (error, REPORT_ERROR, 1, "%s: matrix: more rows (%" G_GINT64_FORMAT
                   ") than experiences (%" G_GINT64_FORMAT ")", path, c->n_rows, c->T);
      return FALSE;
    }
  c->R = g_new (double, c->n_rows * c->T);
  for (int64_t i = 0; i < c->n_rows; i++)
    {
      JsonArray *row = json_node_get_array (json_array_get_element (rows, (guint) i));
      for (int64_t j = 0; j < c->T; j++)
        {
          JsonNode *v = json_array_get_element (row, (guint) j);
          if (!lf_rpt_node_is_num (v) && !JSON_NODE_HOLDS_NULL (v))
            {
              g_set_error (error, REPORT_ERROR, 1, "%s: matrix[%" G_GINT64_FORMAT "][%" G_GINT64_FORMAT
                           "]: expected a number or null", path, i, j);
              return FALSE;
            }
          c->R[i * c->T + j] = lf_rpt_node_num (v);
        }
    }
  /* which experience each row follows: "matrix_rows", else the last rows */
  c->rows = g_new (int64_t, c->n_rows);
  JsonNode *rn = json_object_get_member (o, "matrix_rows");
  if (rn != NULL && JSON_NODE_HOLDS_ARRAY (rn) && json_array_get_length (json_node_get_array (rn)) == (guint) c->n_rows)
    for (int64_t i = 0; i < c->n_rows; i++)
      {
        double v = lf_rpt_node_num (json_array_get_element (json_node_get_array (rn), (guint) i));
        if (!isfinite (v) || v < 0 || v >= (double) c->T)
          {
            g_set_error (error, REPORT_ERROR, 1, "%s: matrix_rows[%" G_GINT64_FORMAT
                         "]: expected an experience index below %" G_GINT64_FORMAT, path, i, c->T);
            return FALSE;
          }
        c->rows[i] = (int64_t) v;
      }
  else
    for (int64_t i = 0; i < c->n_rows; i++)
      c->rows[i] = c->T - c->n_rows + i;
  JsonNode *met = json_object_get_member (o, "metrics");
  if (met == NULL || !JSON_NODE_HOLDS_OBJECT (met))
    {
      g_set_error (error, REPORT_ERROR, 1, "%s: metrics: expected an object", path);
      return FALSE;
    }
  c->metric_names = g_ptr_array_new_with_free_func (g_free);
  c->metric_values = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GList) names = json_object_get_members (json_node_get_object (met));
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonNode *v = json_object_get_member (json_node_get_object (met), l->data);
      if (!lf_rpt_node_is_num (v) && !JSON_NODE_HOLDS_NULL (v))
        continue;   /* a plugin's structured figure: not a leaderboard number */
      double x = lf_rpt_node_num (v);
      g_ptr_array_add (c->metric_names, g_strdup (l->data));
      g_array_append_val (c->metric_values, x);
    }
  c->total_s = get_num_path (o, "time_s", "total");
  c->train_samples = get_num_path (o, "throughput", "train_samples");
  c->steps = get_num_path (o, "throughput", "steps");
  c->strategy_bytes = get_num_path (o, "memory_bytes", "strategy");
  c->peak_rss = get_num_path (o, "peak_rss_bytes", NULL);
  load_utilization (c, o);
  load_points (c, o);
  lf_rpt_load_curves (c, o, path);
  return TRUE;
}

/* ---- measuring points ---- */

/* editing.points: an array of objects, each with "edits" and numbers.
 * Anything else (absent, another shape) leaves the cell without points. */
static void
load_points (LfRptCell *c, JsonObject *o)
{
  JsonNode *en = json_object_get_member (o, "editing");
  if (en == NULL || !JSON_NODE_HOLDS_OBJECT (en))
    return;
  JsonNode *pn = json_object_get_member (json_node_get_object (en), "points");
  if (pn == NULL || !JSON_NODE_HOLDS_ARRAY (pn))
    return;
  JsonArray *pts = json_node_get_array (pn);
  guint n = json_array_get_length (pts);
  if (n == 0 || !JSON_NODE_HOLDS_OBJECT (json_array_get_element (pts, 0)))
    return;
  c->pt_keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GList) first = json_object_get_members (json_array_get_object_element (pts, 0));
  for (GList *l = first; l != NULL; l = l->next)
    if (strcmp (l->data, "edits") != 0
        && lf_rpt_node_is_num (json_object_get_member (json_array_get_object_element (pts, 0), l->data)))
      g_ptr_array_add (c->pt_keys, g_strdup (l->data));
  guint K = c->pt_keys->len;
  c->pt_x = g_new (double, n);
  c->pt_vals = g_new (double, (gsize) n * MAX (K, 1));
  for (guint i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (pts, i);
      JsonObject *po = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
      double x = po ? lf_rpt_node_num (json_object_get_member (po, "edits")) : NAN;
      if (!isfinite (x))
        continue;   /* a point without its x is not a point */
      c->pt_x[c->pt_n] = x;
      for (guint k = 0; k < K; k++)
        c->pt_vals[c->pt_n * K + k] = lf_rpt_node_num (json_object_get_member (po, c->pt_keys->pdata[k]));
      c->pt_n++;
    }
}

static int
points_x_cmp (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

GPtrArray *
lf_rpt_section_points (const LfRptSection *s, GPtrArray **keys)
{
  *keys = NULL;
  for (guint q = 0; q < s->methods->len && *keys == NULL; q++)
    {
      const LfRptMethod *m = s->methods->pdata[q];
      for (guint c = 0; c < m->cells->len && *keys == NULL; c++)
        {
          const LfRptCell *cell = m->cells->pdata[c];
          if (cell->ok && cell->pt_n > 0)
            *keys = cell->pt_keys;
        }
    }
  if (*keys == NULL)
    return NULL;
  guint K = (*keys)->len;
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  for (guint q = 0; q < s->methods->len; q++)
    {
      const LfRptMethod *m = s->methods->pdata[q];
      g_autoptr (GArray) xs = g_array_new (FALSE, FALSE, sizeof (double));
      for (guint c = 0; c < m->cells->len; c++)
        {
          const LfRptCell *cell = m->cells->pdata[c];
          for (int64_t i = 0; cell->ok && i < cell->pt_n; i++)
            {
              gboolean seen = FALSE;
              for (guint j = 0; j < xs->len && !seen; j++)
                seen = g_array_index (xs, double, j) == cell->pt_x[i];
              if (!seen)
                g_array_append_val (xs, cell->pt_x[i]);
            }
        }
      g_array_sort (xs, points_x_cmp);
      GArray *rows = g_array_new (FALSE, FALSE, sizeof (double));
      for (guint j = 0; j < xs->len; j++)
        {
          double x = g_array_index (xs, double, j);
          g_array_append_val (rows, x);
          for (guint k = 0; k < K; k++)
            {
              double sum = 0;
              int n = 0;
              for (guint c = 0; c < m->cells->len; c++)
                {
                  const LfRptCell *cell = m->cells->pdata[c];
                  int ki = cell->ok && cell->pt_keys ? lf_rpt_str_index (cell->pt_keys, (*keys)->pdata[k]) : -1;
                  for (int64_t i = 0; ki >= 0 && i < cell->pt_n; i++)
                    if (cell->pt_x[i] == x && isfinite (cell->pt_vals[i * cell->pt_keys->len + ki]))
                      {
                        sum += cell->pt_vals[i * cell->pt_keys->len + ki];
                        n++;
                      }
                }
              double v = n ? sum / n : NAN;
              g_array_append_val (rows, v);
            }
        }
      g_ptr_array_add (out, rows);
    }
  return out;
}

/* ---- expert utilization ---- */

/* Bounds on what a result may ask the report to hold (a hand-edited or
 * damaged result cannot make it allocate more). */
#define UTIL_MAX_EXPERIENCES 1024
#define UTIL_MAX_EXPERTS 256

/* One MoE layer's fractions into f (grown as needed): its "fractions" when
 * they are numbers in [0, 1], else its "counts" (numbers >= 0, not all 0)
 * normalised.  FALSE (f unchanged) when neither is usable. */
static gboolean
layer_fractions (JsonNode *ln, GArray *f)
{
  if (ln == NULL || !JSON_NODE_HOLDS_OBJECT (ln))
    return FALSE;
  JsonObject *lo = json_node_get_object (ln);
  for (int pass = 0; pass < 2; pass++)
    {
      JsonNode *an = json_object_get_member (lo, pass == 0 ? "fractions" : "counts");
      if (an == NULL || !JSON_NODE_HOLDS_ARRAY (an))
        continue;
      JsonArray *a = json_node_get_array (an);
      guint n = json_array_get_length (a);
      if (n == 0 || n > UTIL_MAX_EXPERTS)
        continue;
      g_autofree double *v = g_new (double, n);
      double total = 0;
      gboolean ok = TRUE;
      for (guint x = 0; x < n && ok; x++)
        {
          v[x] = lf_rpt_node_num (json_array_get_element (a, x));
          ok = isfinite (v[x]) && v[x] >= 0 && (pass == 1 || v[x] <= 1);
          total += ok ? v[x] : 0;
        }
      if (!ok || (pass == 1 && !(total > 0 && isfinite (total))))
        continue;
      if (f->len < n)
        g_array_set_size (f, n);   /* zero-filled */
      for (guint x = 0; x < n; x++)
        g_array_index (f, double, x) += pass == 0 ? v[x] : v[x] / total;
      return TRUE;
    }
  return FALSE;
}

/* The result's "expert_utilization" (top level; "strategy"'s in results
 * written before it moved there): per experience, each expert's fraction
 * averaged over the usable layers.  Anything malformed is left out. */
static void
load_utilization (LfRptCell *c, JsonObject *o)
{
  JsonNode *un = json_object_get_member (o, "expert_utilization");
  JsonNode *sn = json_object_get_member (o, "strategy");
  if (un == NULL && sn != NULL && JSON_NODE_HOLDS_OBJECT (sn))
    un = json_object_get_member (json_node_get_object (sn), "expert_utilization");
  if (un == NULL || !JSON_NODE_HOLDS_ARRAY (un))
    return;
  JsonArray *ua = json_node_get_array (un);
  /* each usable entry: its experience and its fractions (mean over layers) */
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  g_autoptr (GArray) exps = g_array_new (FALSE, FALSE, sizeof (int64_t));
  int64_t T = 0, E = 0;
  for (guint i = 0; i < json_array_get_length (ua) && i < UTIL_MAX_EXPERIENCES; i++)
    {
      JsonNode *en = json_array_get_element (ua, i);
      if (!JSON_NODE_HOLDS_OBJECT (en))
        continue;
      JsonObject *eo = json_node_get_object (en);
      double ev = lf_rpt_node_num (json_object_get_member (eo, "experience"));
      if (json_object_has_member (eo, "experience")
          && !(isfinite (ev) && ev >= 0 && ev < UTIL_MAX_EXPERIENCES && ev == floor (ev)))
        continue;
      int64_t e = isfinite (ev) ? (int64_t) ev : (int64_t) i;
      JsonNode *ln = json_object_get_member (eo, "layers");
      if (ln == NULL || !JSON_NODE_HOLDS_OBJECT (ln))
        continue;
      GArray *f = g_array_sized_new (FALSE, TRUE, sizeof (double), 8);
      int n_layers = 0;
      g_autoptr (GList) names = json_object_get_members (json_node_get_object (ln));
      for (GList *l = names; l != NULL; l = l->next)
        n_layers += layer_fractions (json_object_get_member (json_node_get_object (ln), l->data), f);
      if (n_layers == 0)
        {
          g_array_unref (f);
          continue;
        }
      for (guint x = 0; x < f->len; x++)
        g_array_index (f, double, x) /= n_layers;
      g_ptr_array_add (rows, f);
      g_array_append_val (exps, e);
      T = MAX (T, e + 1);
      E = MAX (E, (int64_t) f->len);
    }
  if (rows->len == 0)
    return;
  c->util_T = T;
  c->util_E = E;
  c->util = g_new (double, T * E);
  for (int64_t k = 0; k < T * E; k++)
    c->util[k] = NAN;
  for (guint i = 0; i < rows->len; i++)   /* a repeated experience: the last entry */
    {
      GArray *f = rows->pdata[i];
      double *row = c->util + g_array_index (exps, int64_t, i) * E;
      for (int64_t x = 0; x < E; x++)
        row[x] = x < (int64_t) f->len ? g_array_index (f, double, x) : 0;
    }
}

/* The step log's (step, loss) pairs; lines that do not parse are skipped. */
static void
load_steps (LfRptCell *c)
{
  g_autofree char *path = g_build_filename (c->dir, "result.steps.jsonl", NULL);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return;
  g_autoptr (JsonParser) p = json_parser_new ();
  char *save = NULL;
  for (char *line = strtok_r (text, "\n", &save); line != NULL; line = strtok_r (NULL, "\n", &save))
    {
      if (!json_parser_load_from_data (p, line, -1, NULL))
        continue;
      JsonNode *root = json_parser_get_root (p);
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        continue;
      JsonObject *o = json_node_get_object (root);
      double step = get_num_path (o, "step", NULL), loss = get_num_path (o, "loss", NULL);
      if (isfinite (step) && isfinite (loss))
        {
          g_array_append_val (c->loss_step, step);
          g_array_append_val (c->loss_value, loss);
        }
    }
}

static void
load_cells (LfReport *r)
{
  for (guint i = 0; i < r->cells->len; i++)
    {
      LfRptCell *c = r->cells->pdata[i];
      load_status (c);
      if (strcmp (c->status, "ok") != 0)
        continue;
      g_autoptr (GError) e = NULL;
      if (!load_result (c, &e))
        {
          g_free (c->status);
          c->status = g_strdup ("unreadable");
          g_free (c->reason);
          c->reason = g_strdup (e->message);
          continue;
        }
      c->ok = TRUE;
      load_steps (c);
    }
}

/* ---- grouping and statistics ----------------------------------------------------- */

int
lf_rpt_str_index (GPtrArray *a, const char *s)
{
  for (guint i = 0; i < a->len; i++)
    if (strcmp (a->pdata[i], s) == 0)
      return (int) i;
  return -1;
}

static LfRptSection *
section_for (LfReport *r, const LfRptCell *c)
{
  for (guint i = 0; i < r->sections->len; i++)
    {
      LfRptSection *s = r->sections->pdata[i];
      if (strcmp (s->scenario, c->scenario) == 0 && strcmp (s->dataset, c->dataset) == 0
          && strcmp (s->model, c->model) == 0)
        return s;
    }
  LfRptSection *s = g_new0 (LfRptSection, 1);
  s->scenario = g_strdup (c->scenario);
  s->dataset = g_strdup (c->dataset);
  s->model = g_strdup (c->model);
  s->title = g_strdup_printf ("%s · %s · %s", c->scenario, c->dataset, c->model);
  s->anchor = g_strdup_printf ("s%u", r->sections->len + 1);
  s->methods = g_ptr_array_new_with_free_func (method_free);
  s->metric_names = g_ptr_array_new_with_free_func (g_free);
  s->metric_higher = g_array_new (FALSE, FALSE, sizeof (gboolean));
  s->primary = -1;
  if (r->published != NULL)
    {
      JsonNode *n = json_object_get_member (r->published, c->scenario);
      if (n != NULL && JSON_NODE_HOLDS_OBJECT (n))
        s->published = json_node_get_object (n);
    }
  g_ptr_array_add (r->sections, s);
  return s;
}

static LfRptMethod *
method_for (LfReport *r, LfRptSection *s, const LfRptCell *c)
{
  for (guint i = 0; i < s->methods->len; i++)
    {
      LfRptMethod *m = s->methods->pdata[i];
      if (strcmp (m->name, c->method) == 0)
        return m;
    }
  LfRptMethod *m = g_new0 (LfRptMethod, 1);
  m->name = g_strdup (c->method);
  m->strategy = g_strdup (c->strategy);
  m->colour = lf_rpt_str_index (r->method_order, c->method);
  m->cells = g_ptr_array_new ();
  m->loss_step = g_array_new (FALSE, FALSE, sizeof (double));
  m->loss_mean = g_array_new (FALSE, FALSE, sizeof (double));
  g_ptr_array_add (s->methods, m);
  return m;
}

static void
group (LfReport *r)
{
  for (guint i = 0; i < r->cells->len; i++)
    {
      LfRptCell *c = r->cells->pdata[i];
      if (lf_rpt_str_index (r->method_order, c->method) < 0)
        g_ptr_array_add (r->method_order, g_strdup (c->method));
      LfRptSection *s = section_for (r, c);
      LfRptMethod *m = method_for (r, s, c);
      g_ptr_array_add (m->cells, c);
      if (c->ok)
        {
          m->n_ok++;
          if (!s->kind_known)
            {
              s->kind = c->kind;
              s->kind_known = TRUE;
            }
          for (guint k = 0; k < c->metric_names->len; k++)
            if (lf_rpt_str_index (s->metric_names, c->metric_names->pdata[k]) < 0)
              g_ptr_array_add (s->metric_names, g_strdup (c->metric_names->pdata[k]));
        }
      else if (strcmp (c->status, "failed") == 0)
        m->n_failed++;
      else if (strcmp (c->status, "skipped") == 0)
        m->n_skipped++;
      else if (strcmp (c->status, "unreadable") == 0)
        m->n_unreadable++;
      else
        m->n_pending++;   /* pending, running, or a word this report does not know */
    }
  for (guint i = 0; i < r->sections->len; i++)
    {
      LfRptSection *s = r->sections->pdata[i];
      for (guint k = 0; k < s->metric_names->len; k++)
        {
          gboolean h = lf_rpt_metric_higher_is_better (s->metric_names->pdata[k], s->kind);
          g_array_append_val (s->metric_higher, h);
        }
      s->primary = lf_rpt_str_index (s->metric_names, "average_accuracy");
      if (s->primary < 0)
        s->primary = lf_rpt_str_index (s->metric_names, "average_loss");
      if (s->primary < 0 && s->metric_names->len > 0)
        s->primary = 0;
    }
}

static double
cell_metric (const LfRptCell *c, const char *name)
{
  for (guint k = 0; k < c->metric_names->len; k++)
    if (strcmp (c->metric_names->pdata[k], name) == 0)
      return g_array_index (c->metric_values, double, k);
  return NAN;
}

static gint
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y ? 1 : 0;
}

/* The mean matrix, the accuracy over seen experiences and the loss curve. */
static void
method_curves (LfRptMethod *m)
{
  const LfRptCell *first = NULL;
  for (guint i = 0; i < m->cells->len && first == NULL; i++)
    if (((const LfRptCell *) m->cells->pdata[i])->ok)
      first = m->cells->pdata[i];
  if (first == NULL)
    return;
  m->T = first->T;
  m->n_rows = first->n_rows;
  m->rows = g_memdup2 (first->rows, sizeof (int64_t) * (size_t) m->n_rows);
  const int64_t nc = m->n_rows * m->T;
  g_autofree double *sum = g_new0 (double, nc), *seen_sum = g_new0 (double, m->n_rows);
  g_autofree int *cnt = g_new0 (int, nc), *seen_cnt = g_new0 (int, m->n_rows);
  for (guint i = 0; i < m->cells->len; i++)
    {
      const LfRptCell *c = m->cells->pdata[i];
      if (!c->ok || c->T != m->T || c->n_rows != m->n_rows
          || memcmp (c->rows, m->rows, sizeof (int64_t) * (size_t) m->n_rows) != 0)
        continue;
      m->n_matrices++;
      for (int64_t k = 0; k < nc; k++)
        if (isfinite (c->R[k]))
          {
            sum[k] += c->R[k];
            cnt[k]++;
          }
      for (int64_t r = 0; r < m->n_rows; r++)
        {
          double s = 0;
          for (int64_t j = 0; j <= m->rows[r]; j++)
            s += c->R[r * m->T + j];
          s /= (double) (m->rows[r] + 1);
          if (isfinite (s))
            {
              seen_sum[r] += s;
              seen_cnt[r]++;
            }
        }
    }
  m->R_mean = g_new (double, nc);
  for (int64_t k = 0; k < nc; k++)
    m->R_mean[k] = cnt[k] > 0 ? sum[k] / cnt[k] : NAN;
  m->seen_mean = g_new (double, m->n_rows);
  for (int64_t r = 0; r < m->n_rows; r++)
    m->seen_mean[r] = seen_cnt[r] > 0 ? seen_sum[r] / seen_cnt[r] : NAN;
  /* the loss at each logged step, averaged over the seeds that logged it */
  g_autoptr (GArray) pairs = g_array_new (FALSE, FALSE, sizeof (double) * 2);
  for (guint i = 0; i < m->cells->len; i++)
    {
      const LfRptCell *c = m->cells->pdata[i];
      if (!c->ok)
        continue;
      for (guint k = 0; k < c->loss_step->len; k++)
        {
          double pr[2] = { g_array_index (c->loss_step, double, k), g_array_index (c->loss_value, double, k) };
          g_array_append_vals (pairs, pr, 1);
        }
    }
  g_array_sort (pairs, compare_doubles);   /* by step: the pair's first double */
  const double *pv = (const double *) (void *) pairs->data;
  for (guint k = 0; k < pairs->len;)
    {
      double step = pv[2 * k], s = 0;
      guint n = 0;
      for (; k < pairs->len && pv[2 * k] == step; k++, n++)
        s += pv[2 * k + 1];
      double mean = s / n;
      g_array_append_val (m->loss_step, step);
      g_array_append_val (m->loss_mean, mean);
    }
}

/* The expert utilization, mean over the seeds that have each experience. */
static void
method_utilization (LfRptMethod *m)
{
  int64_t T = 0, E = 0;
  for (guint i = 0; i < m->cells->len; i++)
    {
      const LfRptCell *c = m->cells->pdata[i];
      if (c->ok && c->util != NULL)
        {
          T = MAX (T, c->util_T);
          E = MAX (E, c->util_E);
        }
    }
  if (T == 0 || E == 0)
    return;
  m->util_T = T;
  m->util_E = E;
  m->util_mean = g_new0 (double, T * E);
  m->util_seeds = g_new0 (int, T);
  for (guint i = 0; i < m->cells->len; i++)
    {
      const LfRptCell *c = m->cells->pdata[i];
      if (!c->ok || c->util == NULL)
        continue;
      for (int64_t e = 0; e < c->util_T; e++)
        {
          const double *row = c->util + e * c->util_E;
          if (isnan (row[0]))
            continue;   /* no entry for this experience */
          m->util_seeds[e]++;
          for (int64_t x = 0; x < c->util_E; x++)
            m->util_mean[e * E + x] += row[x];
        }
    }
  for (int64_t e = 0; e < T; e++)
    for (int64_t x = 0; x < E; x++)
      m->util_mean[e * E + x] = m->util_seeds[e] > 0 ? m->util_mean[e * E + x] / m->util_seeds[e] : NAN;
}

static void
section_stats (LfRptSection *s)
{
  const guint nm = s->metric_names->len, n_methods = s->methods->len;
  for (guint i = 0; i < n_methods; i++)
    {
      LfRptMethod *m = s->methods->pdata[i];
      m->stats = g_new0 (LfRptStat, MAX (nm, 1));
      g_autofree double *x = g_new (double, MAX (m->cells->len, 1));
      int n = 0;
      for (guint k = 0; k < nm; k++)
        {
          n = 0;
          for (guint c = 0; c < m->cells->len; c++)
            if (((LfRptCell *) m->cells->pdata[c])->ok)
              x[n++] = cell_metric (m->cells->pdata[c], s->metric_names->pdata[k]);
          lf_rpt_summarise (x, n, &m->stats[k]);
        }
#define SUMMARISE_FIELD(field, out)                                                   \
      do {                                                                            \
        n = 0;                                                                        \
        for (guint c = 0; c < m->cells->len; c++)                                     \
          if (((LfRptCell *) m->cells->pdata[c])->ok)                                 \
            x[n++] = ((LfRptCell *) m->cells->pdata[c])->field;                       \
        lf_rpt_summarise (x, n, &m->out);                                             \
      } while (0)
      SUMMARISE_FIELD (train_samples, train_samples);
      SUMMARISE_FIELD (steps, steps);
      SUMMARISE_FIELD (total_s, wall_s);
      SUMMARISE_FIELD (strategy_bytes, strategy_bytes);
      SUMMARISE_FIELD (peak_rss, peak_rss);
#undef SUMMARISE_FIELD
      method_curves (m);
      lf_rpt_method_curves (m);
      method_utilization (m);
    }
  g_autofree double *means = g_new (double, MAX (n_methods, 1));
  g_autofree double *ranks = g_new (double, MAX (n_methods, 1));
  for (guint k = 0; k < nm; k++)
    {
      for (guint i = 0; i < n_methods; i++)
        means[i] = ((LfRptMethod *) s->methods->pdata[i])->stats[k].mean;
      lf_rpt_rank (means, (int) n_methods, g_array_index (s->metric_higher, gboolean, k), ranks);
      for (guint i = 0; i < n_methods; i++)
        ((LfRptMethod *) s->methods->pdata[i])->stats[k].rank = ranks[i];
    }
}

static double
primary_mean (const LfRptSection *s, const char *method)
{
  if (s->primary < 0)
    return NAN;
  for (guint i = 0; i < s->methods->len; i++)
    {
      const LfRptMethod *m = s->methods->pdata[i];
      if (strcmp (m->name, method) == 0)
        return m->stats[s->primary].mean;
    }
  return NAN;
}

static gboolean
section_has_scores (const LfRptSection *s)
{
  for (guint i = 0; s->primary >= 0 && i < s->methods->len; i++)
    if (isfinite (((const LfRptMethod *) s->methods->pdata[i])->stats[s->primary].mean))
      return TRUE;
  return FALSE;
}

/* Average ranks over the sections with results, for the methods scored in
 * all of them, and the Nemenyi critical difference. */
static void
overall_ranks (LfReport *r)
{
  g_autoptr (GPtrArray) used = g_ptr_array_new ();
  for (guint i = 0; i < r->sections->len; i++)
    if (section_has_scores (r->sections->pdata[i]))
      g_ptr_array_add (used, r->sections->pdata[i]);
  r->cd_n = (int) used->len;
  if (used->len == 0)
    return;
  g_autoptr (GPtrArray) in = g_ptr_array_new ();
  for (guint q = 0; q < r->method_order->len; q++)
    {
      const char *name = r->method_order->pdata[q];
      const LfRptSection *missing = NULL;
      for (guint i = 0; i < used->len && missing == NULL; i++)
        if (!isfinite (primary_mean (used->pdata[i], name)))
          missing = used->pdata[i];
      if (missing == NULL)
        g_ptr_array_add (in, (gpointer) name);
      else
        g_ptr_array_add (r->cd_left_out, g_strdup_printf ("%s: no result in %s", name, missing->title));
    }
  const int k = (int) in->len;
  if (k == 0)
    return;
  g_autofree double *sum = g_new0 (double, k), *v = g_new (double, k), *rk = g_new (double, k);
  for (guint i = 0; i < used->len; i++)
    {
      const LfRptSection *s = used->pdata[i];
      for (int q = 0; q < k; q++)
        v[q] = primary_mean (s, in->pdata[q]);
      lf_rpt_rank (v, k, g_array_index (s->metric_higher, gboolean, s->primary), rk);
      for (int q = 0; q < k; q++)
        sum[q] += rk[q];
    }
  /* sorted by average rank, ties in method order */
  g_autofree int *order = g_new (int, k);
  for (int q = 0; q < k; q++)
    order[q] = q;
  for (int a = 1; a < k; a++)
    for (int b = a; b > 0 && sum[order[b]] < sum[order[b - 1]]; b--)
      {
        int t = order[b];
        order[b] = order[b - 1];
        order[b - 1] = t;
      }
  for (int q = 0; q < k; q++)
    {
      double avg = sum[order[q]] / (double) used->len;
      g_ptr_array_add (r->cd_methods, g_strdup (in->pdata[order[q]]));
      g_array_append_val (r->cd_ranks, avg);
    }
  r->cd_q = lf_rpt_nemenyi_q05 (k);
  r->cd = r->cd_q * sqrt (k * (k + 1.0) / (6.0 * (double) used->len));
}

/* ---- the command ------------------------------------------------------------------- */

static gboolean
write_report_data (const char *dir, const char *name, const void *data, gsize len, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  if (!lf_write_file_atomic (path, (const char *) data, len, error))
    return FALSE;
  /* the temporary file was private (0600); a report is for reading */
  mode_t um = umask (0);
  umask (um);
  g_chmod (path, 0666 & ~um);
  return TRUE;
}

static gboolean
write_report_file (const char *dir, const char *name, const char *text, GError **error)
{
  return write_report_data (dir, name, text, strlen (text), error);
}

static gboolean
write_report_bytes (const char *dir, const char *name, GBytes *b, GError **error)
{
  gsize len = 0;
  const void *data = g_bytes_get_data (b, &len);
  return write_report_data (dir, name, data, len, error);
}

/* An earlier report's curve charts that this one did not draw (a section
 * or curve gone), which it would otherwise seem to include. */
static void
remove_stale_curve_charts (const LfReport *r)
{
  GDir *d = g_dir_open (r->out_dir, 0, NULL);
  for (const char *n; d && (n = g_dir_read_name (d)) != NULL;)
    {
      if (!g_str_has_suffix (n, ".png"))
        continue;
      gboolean ours = FALSE, drawn = FALSE;
      for (int k = 0; k < LF_RPT_N_CURVES && !ours; k++)
        {
          const char *stem = lf_rpt_curve_info ((LfRptCurveKind) k)->name;
          ours = g_str_has_prefix (n, stem) && n[strlen (stem)] == '-';
        }
      for (guint i = 0; ours && i < r->curve_charts->len && !drawn; i++)
        drawn = strcmp (((const LfRptCurveChart *) r->curve_charts->pdata[i])->file, n) == 0;
      if (ours && !drawn)
        {
          g_autofree char *p = g_build_filename (r->out_dir, n, NULL);
          g_unlink (p);
        }
    }
  if (d)
    g_dir_close (d);
}

LfReport *
lf_rpt_read (const char *dir, const char *out_dir, GError **error)
{
  g_autoptr (LfReport) r = report_new (dir, out_dir);
  if (!load_index (r, error))
    return NULL;
  load_cells (r);
  group (r);
  for (guint i = 0; i < r->sections->len; i++)
    section_stats (r->sections->pdata[i]);
  overall_ranks (r);
  return g_steal_pointer (&r);
}

void
lf_rpt_free (LfReport *r)
{
  if (r != NULL)
    report_free (r);
}

static gboolean
report_run (const char *dir, const char *out_dir, char **index_path, GError **error)
{
  g_autoptr (LfReport) r = lf_rpt_read (dir, out_dir, error);
  if (r == NULL)
    return FALSE;
  /* everything in memory first: a failure leaves no partial report.  A
   * malformed curve is left out, and said (even with --quiet: it is bad
   * input, not progress) */
  if (!lf_rpt_draw_curves (r, error))
    {
      lf_rpt_charts_release ();
      return FALSE;
    }
  g_autoptr (GPtrArray) problems = lf_rpt_curve_problems (r);
  for (guint i = 0; i < problems->len; i++)
    fprintf (stderr, "lifelong report: warning: %s\n", (const char *) problems->pdata[i]);
  g_autofree char *curves = lf_rpt_write_curves_csv (r);   /* NULL: no curves */
  g_autofree char *csv = lf_rpt_write_csv (r);
  g_autofree char *md = lf_rpt_write_md (r);
  g_autofree char *util = lf_rpt_write_utilization_csv (r);   /* NULL: no MoE results */
  g_autofree char *html = lf_rpt_write_html (r, error);
  lf_rpt_charts_release ();
  if (html == NULL)
    return FALSE;
  if (g_mkdir_with_parents (r->out_dir, 0777) != 0)
    {
      g_set_error (error, REPORT_ERROR, 1, "%s: cannot create the report directory: %s", r->out_dir,
                   g_strerror (errno));
      return FALSE;
    }
  if (!write_report_file (r->out_dir, "leaderboard.csv", csv, error)
      || !write_report_file (r->out_dir, "leaderboard.md", md, error)
      || (util != NULL && !write_report_file (r->out_dir, "utilization.csv", util, error))
      || (curves != NULL && !write_report_file (r->out_dir, "curves.csv", curves, error)))
    return FALSE;
  for (guint i = 0; i < r->curve_charts->len; i++)
    {
      const LfRptCurveChart *ch = r->curve_charts->pdata[i];
      if (!write_report_bytes (r->out_dir, ch->file, ch->png, error))
        return FALSE;
    }
  remove_stale_curve_charts (r);
  if (!write_report_file (r->out_dir, "index.html", html, error))
    return FALSE;
  if (curves == NULL)
    {
      g_autofree char *stale = g_build_filename (r->out_dir, "curves.csv", NULL);
      g_unlink (stale);
    }
  if (util == NULL)
    {
      /* an earlier report's, which this one would otherwise seem to include */
      g_autofree char *stale = g_build_filename (r->out_dir, "utilization.csv", NULL);
      g_unlink (stale);
    }
  *index_path = g_build_filename (r->out_dir, "index.html", NULL);
  return TRUE;
}

int
lf_cmd_report (int argc, char **argv)
{
  const char *dir = NULL, *out = NULL;
  gboolean quiet = FALSE;
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      if (g_str_equal (a, "--help") || g_str_equal (a, "-h"))
        {
          fputs (report_usage, stdout);
          return 0;
        }
      else if (g_str_equal (a, "--out") && i + 1 < argc)
        out = argv[++i];
      else if (g_str_equal (a, "--quiet"))
        quiet = TRUE;
      else if (a[0] == '-')
        {
          fprintf (stderr, "lifelong report: unknown option %s%s\n%s", a,
                   g_str_equal (a, "--out") ? " (its value is missing)" : "", report_usage);
          return 2;
        }
      else if (dir == NULL)
        dir = a;
      else
        {
          fprintf (stderr, "lifelong report: one directory only (got %s and %s)\n", dir, a);
          return 2;
        }
    }
  if (dir == NULL)
    {
      fputs (report_usage, stderr);
      return 2;
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *index = NULL;
  if (!report_run (dir, out, &index, &error))
    {
      fprintf (stderr, "lifelong report: %s\n", error->message);
      return 1;
    }
  if (!quiet)
    fprintf (stderr, "report: %s\n", index);
  return 0;
}
