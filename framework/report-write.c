/* lifelong — `lifelong report`'s text outputs: leaderboard.csv (one row per
 * section and method, every statistic a number) and leaderboard.md, and the
 * number formatting and cell descriptions the HTML shares. */
#include "report.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- formatting ----------------------------------------------------------------- */

void
lf_rpt_fmt_bytes (char *buf, size_t n, double v)
{
  if (!isfinite (v))
    snprintf (buf, n, "—");
  else if (v >= 1024.0 * 1024 * 1024)
    snprintf (buf, n, "%.2f GiB", v / (1024.0 * 1024 * 1024));
  else if (v >= 1024.0 * 1024)
    snprintf (buf, n, "%.1f MiB", v / (1024.0 * 1024));
  else if (v >= 1024.0)
    snprintf (buf, n, "%.1f KiB", v / 1024.0);
  else
    snprintf (buf, n, "%.0f B", v);
}

void
lf_rpt_fmt_count (char *buf, size_t n, double v)
{
  if (isfinite (v))
    snprintf (buf, n, "%.0f", v);
  else
    snprintf (buf, n, "—");
}

void
lf_rpt_fmt_rank (char *buf, size_t n, double v)
{
  if (!isfinite (v))
    snprintf (buf, n, "—");
  else if (v == floor (v))
    snprintf (buf, n, "%.0f", v);
  else
    snprintf (buf, n, "%.1f", v);
}

void
lf_rpt_fmt_seconds (char *buf, size_t n, double v)
{
  if (!isfinite (v))
    snprintf (buf, n, "—");
  else if (v < 100)
    snprintf (buf, n, "%.2f s", v);
  else if (v < 7200)
    snprintf (buf, n, "%.1f min", v / 60);
  else
    snprintf (buf, n, "%.2f h", v / 3600);
}

/* A metric's value, ± its CI (when defined). */
void
lf_rpt_fmt_stat (char *buf, size_t n, const LfRptStat *st)
{
  if (!isfinite (st->mean))
    snprintf (buf, n, "—");
  else if (isfinite (st->ci))
    snprintf (buf, n, "%.4f ± %.4f", st->mean, st->ci);
  else
    snprintf (buf, n, "%.4f", st->mean);
}

/* Why a cell has no result: its reason, exit code and signal. */
char *
lf_rpt_cell_reason (const LfRptCell *c)
{
  GString *s = g_string_new (NULL);
  if (c->reason && *c->reason)
    g_string_append (s, c->reason);
  else if (strcmp (c->status, "pending") == 0)
    g_string_append (s, "missing (not run yet)");
  else
    g_string_append (s, "no reason given");
  if (c->exit_code > 0)
    g_string_append_printf (s, " (exit code %d)", c->exit_code);
  if (c->signal > 0)
    g_string_append_printf (s, " (signal %d)", c->signal);
  return g_string_free (s, FALSE);
}

/* "failed: why", "skipped: why", "pending: missing (not run yet)",
 * "unreadable: why". */
char *
lf_rpt_cell_problem (const LfRptCell *c)
{
  g_autofree char *why = lf_rpt_cell_reason (c);
  return g_strdup_printf ("%s: %s", c->status, why);
}

/* The published number for (section, method, metric), NaN if none. */
double
lf_rpt_published_value (const LfRptSection *s, const char *method, const char *metric)
{
  if (s->published == NULL)
    return NAN;
  JsonNode *n = json_object_get_member (s->published, method);
  if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n))
    return NAN;
  return lf_rpt_node_num (json_object_get_member (json_node_get_object (n), metric));
}

/* Every metric named in the section's published numbers, in order. */
GPtrArray *
lf_rpt_published_metrics (const LfRptSection *s)
{
  GPtrArray *a = g_ptr_array_new_with_free_func (g_free);
  if (s->published == NULL)
    return a;
  g_autoptr (GList) ms = json_object_get_members (s->published);
  for (GList *l = ms; l != NULL; l = l->next)
    {
      JsonNode *n = json_object_get_member (s->published, l->data);
      if (!JSON_NODE_HOLDS_OBJECT (n))
        continue;
      g_autoptr (GList) ks = json_object_get_members (json_node_get_object (n));
      for (GList *k = ks; k != NULL; k = k->next)
        if (lf_rpt_str_index (a, k->data) < 0 && lf_rpt_node_is_num (json_object_get_member (json_node_get_object (n), k->data)))
          g_ptr_array_add (a, g_strdup (k->data));
    }
  return a;
}

/* Methods in the order of their rank on the primary metric (unranked last,
 * each group in first-appearance order). */
GPtrArray *
lf_rpt_ranked_methods (const LfRptSection *s)
{
  GPtrArray *a = g_ptr_array_new ();
  for (guint i = 0; i < s->methods->len; i++)
    g_ptr_array_add (a, s->methods->pdata[i]);
  if (s->primary < 0)
    return a;
  for (guint x = 1; x < a->len; x++)
    for (guint y = x; y > 0; y--)
      {
        double ra = ((LfRptMethod *) a->pdata[y])->stats[s->primary].rank;
        double rb = ((LfRptMethod *) a->pdata[y - 1])->stats[s->primary].rank;
        gboolean before = isfinite (ra) && (!isfinite (rb) || ra < rb);
        if (!before)
          break;
        gpointer t = a->pdata[y];
        a->pdata[y] = a->pdata[y - 1];
        a->pdata[y - 1] = t;
      }
  return a;
}

const char *
lf_rpt_arrow (const LfRptSection *s, guint k)
{
  return g_array_index (s->metric_higher, gboolean, k) ? "↑" : "↓";
}

void
lf_rpt_count_statuses (const LfReport *r, int counts[5])
{
  memset (counts, 0, sizeof (int) * 5);
  for (guint i = 0; i < r->cells->len; i++)
    {
      const LfRptCell *c = r->cells->pdata[i];
      if (c->ok)
        counts[0]++;
      else if (strcmp (c->status, "failed") == 0)
        counts[1]++;
      else if (strcmp (c->status, "skipped") == 0)
        counts[2]++;
      else if (strcmp (c->status, "unreadable") == 0)
        counts[4]++;
      else
        counts[3]++;
    }
}

/* ---- leaderboard.csv ------------------------------------------------------------ */

static void
csv_field (GString *s, const char *v)
{
  if (s->len > 0 && s->str[s->len - 1] != '\n')
    g_string_append_c (s, ',');
  if (v == NULL)
    return;
  if (strpbrk (v, ",\"\n\r") == NULL)
    {
      g_string_append (s, v);
      return;
    }
  g_string_append_c (s, '"');
  for (const char *p = v; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (s, '"');
      g_string_append_c (s, *p);
    }
  g_string_append_c (s, '"');
}

static void
csv_num (GString *s, double v)
{
  char buf[40];
  if (isfinite (v))
    snprintf (buf, sizeof buf, "%.9g", v);
  else
    buf[0] = '\0';
  csv_field (s, buf);
}

static void
csv_int (GString *s, int64_t v)
{
  char buf[24];
  snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, v);
  csv_field (s, buf);
}

char *
lf_rpt_write_csv (const LfReport *r)
{
  /* the columns: every metric of every section, then every published one */
  g_autoptr (GPtrArray) metrics = g_ptr_array_new ();
  g_autoptr (GPtrArray) pubs = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < r->sections->len; i++)
    {
      const LfRptSection *s = r->sections->pdata[i];
      for (guint k = 0; k < s->metric_names->len; k++)
        if (lf_rpt_str_index (metrics, s->metric_names->pdata[k]) < 0)
          g_ptr_array_add (metrics, s->metric_names->pdata[k]);
      g_autoptr (GPtrArray) pm = lf_rpt_published_metrics (s);
      for (guint k = 0; k < pm->len; k++)
        if (lf_rpt_str_index (pubs, pm->pdata[k]) < 0)
          g_ptr_array_add (pubs, g_strdup (pm->pdata[k]));
    }
  GString *o = g_string_new (NULL);
  static const char *const head[] = { "scenario", "dataset", "model", "method", "strategy", "matrix_kind",
    "rank", "seeds_ok", "cells", "failed", "skipped", "pending", "unreadable" };
  for (guint h = 0; h < G_N_ELEMENTS (head); h++)
    csv_field (o, head[h]);
  for (guint k = 0; k < metrics->len; k++)
    {
      static const char *const suf[] = { "n", "mean", "std", "ci95", "rank" };
      for (guint q = 0; q < G_N_ELEMENTS (suf); q++)
        {
          g_autofree char *col = g_strdup_printf ("%s_%s", (const char *) metrics->pdata[k], suf[q]);
          csv_field (o, col);
        }
    }
  static const char *const tail[] = { "train_samples_mean", "steps_mean", "wall_s_mean", "wall_s_std",
    "strategy_bytes_mean", "peak_rss_bytes_mean" };
  for (guint h = 0; h < G_N_ELEMENTS (tail); h++)
    csv_field (o, tail[h]);
  for (guint k = 0; k < pubs->len; k++)
    {
      g_autofree char *a = g_strdup_printf ("published_%s", (const char *) pubs->pdata[k]);
      g_autofree char *b = g_strdup_printf ("%s_diff", (const char *) pubs->pdata[k]);
      csv_field (o, a);
      csv_field (o, b);
    }
  csv_field (o, "problems");
  g_string_append_c (o, '\n');
  for (guint i = 0; i < r->sections->len; i++)
    {
      const LfRptSection *s = r->sections->pdata[i];
      g_autoptr (GPtrArray) ms = lf_rpt_ranked_methods (s);
      for (guint q = 0; q < ms->len; q++)
        {
          const LfRptMethod *m = ms->pdata[q];
          csv_field (o, s->scenario);
          csv_field (o, s->dataset);
          csv_field (o, s->model);
          csv_field (o, m->name);
          csv_field (o, m->strategy);
          csv_field (o, s->kind_known ? lf_matrix_kind_name (s->kind) : "");
          csv_num (o, s->primary >= 0 ? m->stats[s->primary].rank : NAN);
          csv_int (o, m->n_ok);
          csv_int (o, m->cells->len);
          csv_int (o, m->n_failed);
          csv_int (o, m->n_skipped);
          csv_int (o, m->n_pending);
          csv_int (o, m->n_unreadable);
          for (guint k = 0; k < metrics->len; k++)
            {
              int idx = lf_rpt_str_index (s->metric_names, metrics->pdata[k]);
              if (idx < 0)
                {
                  for (int e = 0; e < 5; e++)
                    csv_field (o, "");
                  continue;
                }
              const LfRptStat *st = &m->stats[idx];
              csv_int (o, st->n);
              csv_num (o, st->mean);
              csv_num (o, st->sd);
              csv_num (o, st->ci);
              csv_num (o, st->rank);
            }
          csv_num (o, m->train_samples.mean);
          csv_num (o, m->steps.mean);
          csv_num (o, m->wall_s.mean);
          csv_num (o, m->wall_s.sd);
          csv_num (o, m->strategy_bytes.mean);
          csv_num (o, m->peak_rss.mean);
          for (guint k = 0; k < pubs->len; k++)
            {
              double p = lf_rpt_published_value (s, m->name, pubs->pdata[k]);
              int idx = lf_rpt_str_index (s->metric_names, pubs->pdata[k]);
              double ours = idx >= 0 ? m->stats[idx].mean : NAN;
              csv_num (o, p);
              csv_num (o, ours - p);
            }
          GString *probs = g_string_new (NULL);
          for (guint c = 0; c < m->cells->len; c++)
            {
              const LfRptCell *cell = m->cells->pdata[c];
              if (cell->ok)
                continue;
              g_autofree char *why = lf_rpt_cell_problem (cell);
              g_string_append_printf (probs, "%sseed %" G_GINT64_FORMAT ": %s", probs->len ? "; " : "",
                                      cell->seed, why);
            }
          csv_field (o, probs->str);
          g_string_free (probs, TRUE);
          g_string_append_c (o, '\n');
        }
    }
  return g_string_free (o, FALSE);
}

/* ---- utilization.csv ------------------------------------------------------------ */

char *
lf_rpt_write_utilization_csv (const LfReport *r)
{
  GString *o = g_string_new ("scenario,dataset,model,method,strategy,experience,expert,fraction_mean,seeds\n");
  gboolean any = FALSE;
  for (guint i = 0; i < r->sections->len; i++)
    {
      const LfRptSection *s = r->sections->pdata[i];
      for (guint q = 0; q < s->methods->len; q++)
        {
          const LfRptMethod *m = s->methods->pdata[q];
          for (int64_t e = 0; m->util_mean != NULL && e < m->util_T; e++)
            for (int64_t x = 0; m->util_seeds[e] > 0 && x < m->util_E; x++)
              {
                any = TRUE;
                csv_field (o, s->scenario);
                csv_field (o, s->dataset);
                csv_field (o, s->model);
                csv_field (o, m->name);
                csv_field (o, m->strategy);
                csv_int (o, e);
                csv_int (o, x);
                csv_num (o, m->util_mean[e * m->util_E + x]);
                csv_int (o, m->util_seeds[e]);
                g_string_append_c (o, '\n');
              }
        }
    }
  if (!any)
    {
      g_string_free (o, TRUE);
      return NULL;
    }
  return g_string_free (o, FALSE);
}

/* ---- leaderboard.md ------------------------------------------------------------- */

/* Table-safe Markdown text: pipes escaped, newlines folded. */
static void
md_text (GString *o, const char *t)
{
  for (const char *p = t; *p; p++)
    {
      if (*p == '|')
        g_string_append (o, "\\|");
      else if (*p == '\n' || *p == '\r')
        g_string_append_c (o, ' ');
      else
        g_string_append_c (o, *p);
    }
}

char *
lf_rpt_write_md (const LfReport *r)
{
  GString *o = g_string_new ("# lifelong leaderboard\n\n");
  int counts[5];
  lf_rpt_count_statuses (r, counts);
  if (r->matrix_file)
    g_string_append_printf (o, "Matrix `%s`", r->matrix_file);
  else
    g_string_append (o, "Matrix");
  if (r->created)
    g_string_append_printf (o, ", created %s", r->created);
  g_string_append_printf (o, ": %u cells, %d ok, %d failed, %d skipped, %d pending", r->cells->len,
                          counts[0], counts[1], counts[2], counts[3]);
  if (counts[4])
    g_string_append_printf (o, ", %d unreadable", counts[4]);
  g_string_append (o, ".\n\nEach value is the mean over seeds ± the half-width of its 95% confidence "
                      "interval (Student t); [rank] among the section's methods, ↑ higher is better, "
                      "↓ lower is better.\n");
  char buf[128];
  for (guint i = 0; i < r->sections->len; i++)
    {
      const LfRptSection *s = r->sections->pdata[i];
      g_string_append (o, "\n## ");
      md_text (o, s->title);
      g_string_append (o, "\n\n| rank | method | seeds |");
      for (guint k = 0; k < s->metric_names->len; k++)
        g_string_append_printf (o, " %s %s |", (const char *) s->metric_names->pdata[k], lf_rpt_arrow (s, k));
      g_string_append (o, " wall time | peak RSS | strategy memory |\n|---:|---|---:|");
      for (guint k = 0; k < s->metric_names->len; k++)
        g_string_append (o, "---:|");
      g_string_append (o, "---:|---:|---:|\n");
      g_autoptr (GPtrArray) ms = lf_rpt_ranked_methods (s);
      for (guint q = 0; q < ms->len; q++)
        {
          const LfRptMethod *m = ms->pdata[q];
          lf_rpt_fmt_rank (buf, sizeof buf, s->primary >= 0 ? m->stats[s->primary].rank : NAN);
          g_string_append_printf (o, "| %s | ", buf);
          md_text (o, m->name);
          g_string_append_printf (o, " | %d/%u |", m->n_ok, m->cells->len);
          for (guint k = 0; k < s->metric_names->len; k++)
            {
              lf_rpt_fmt_stat (buf, sizeof buf, &m->stats[k]);
              g_string_append_printf (o, " %s", buf);
              if (isfinite (m->stats[k].rank))
                {
                  lf_rpt_fmt_rank (buf, sizeof buf, m->stats[k].rank);
                  g_string_append_printf (o, " [%s]", buf);
                }
              g_string_append (o, " |");
            }
          lf_rpt_fmt_seconds (buf, sizeof buf, m->wall_s.mean);
          g_string_append_printf (o, " %s |", buf);
          lf_rpt_fmt_bytes (buf, sizeof buf, m->peak_rss.mean);
          g_string_append_printf (o, " %s |", buf);
          lf_rpt_fmt_bytes (buf, sizeof buf, m->strategy_bytes.mean);
          g_string_append_printf (o, " %s |\n", buf);
        }
      gboolean any = FALSE;
      for (guint q = 0; q < s->methods->len; q++)
        {
          const LfRptMethod *m = s->methods->pdata[q];
          for (guint c = 0; c < m->cells->len; c++)
            {
              const LfRptCell *cell = m->cells->pdata[c];
              if (cell->ok)
                continue;
              if (!any)
                g_string_append (o, "\nCells without a result:\n\n");
              any = TRUE;
              g_autofree char *why = lf_rpt_cell_problem (cell);
              g_string_append (o, "- ");
              md_text (o, m->name);
              g_string_append_printf (o, ", seed %" G_GINT64_FORMAT " (`%s`): ", cell->seed, cell->id);
              md_text (o, why);
              g_string_append_c (o, '\n');
            }
        }
      GPtrArray *pkeys;
      g_autoptr (GPtrArray) pts = lf_rpt_section_points (s, &pkeys);
      if (pts)
        {
          g_string_append (o, "\nAt each measuring point (mean over seeds):\n\n| method | edits |");
          for (guint k = 0; k < pkeys->len; k++)
            g_string_append_printf (o, " %s |", (const char *) pkeys->pdata[k]);
          g_string_append (o, "\n|---|---:|");
          for (guint k = 0; k < pkeys->len; k++)
            g_string_append (o, "---:|");
          g_string_append_c (o, '\n');
          for (guint q = 0; q < s->methods->len; q++)
            {
              GArray *rows = pts->pdata[q];
              guint w = pkeys->len + 1;
              for (guint j = 0; j + w <= rows->len; j += w)
                {
                  g_string_append (o, "| ");
                  md_text (o, ((const LfRptMethod *) s->methods->pdata[q])->name);
                  g_string_append_printf (o, " | %.0f |", g_array_index (rows, double, j));
                  for (guint k = 0; k < pkeys->len; k++)
                    {
                      double v = g_array_index (rows, double, j + 1 + k);
                      if (isfinite (v))
                        g_string_append_printf (o, " %.4f |", v);
                      else
                        g_string_append (o, " — |");
                    }
                  g_string_append_c (o, '\n');
                }
            }
        }
      for (guint k = 0; r->curve_charts && k < r->curve_charts->len; k++)
        {
          const LfRptCurveChart *ch = r->curve_charts->pdata[k];
          if (ch->section != i)
            continue;
          const LfRptCurveInfo *info = lf_rpt_curve_info (ch->kind);
          g_string_append_printf (o, "\n%s (mean over seeds, band: least to greatest seed; numbers in "
                                     "curves.csv):\n\n![%s](%s)\n", info->title, info->title, ch->file);
        }
      g_autoptr (GPtrArray) pm = lf_rpt_published_metrics (s);
      if (pm->len > 0)
        {
          g_string_append (o, "\nPublished numbers beside ours (difference = ours − published):\n\n"
                              "| method | metric | ours | published | difference |\n|---|---|---:|---:|---:|\n");
          for (guint q = 0; q < s->methods->len; q++)
            {
              const LfRptMethod *m = s->methods->pdata[q];
              for (guint k = 0; k < pm->len; k++)
                {
                  double p = lf_rpt_published_value (s, m->name, pm->pdata[k]);
                  if (!isfinite (p))
                    continue;
                  int idx = lf_rpt_str_index (s->metric_names, pm->pdata[k]);
                  LfRptStat none = { 0, NAN, NAN, NAN, NAN };
                  const LfRptStat *st = idx >= 0 ? &m->stats[idx] : &none;
                  g_string_append (o, "| ");
                  md_text (o, m->name);
                  g_string_append (o, " | ");
                  md_text (o, pm->pdata[k]);
                  lf_rpt_fmt_stat (buf, sizeof buf, st);
                  g_string_append_printf (o, " | %s | %.4f | ", buf, p);
                  if (isfinite (st->mean))
                    g_string_append_printf (o, "%+.4f |\n", st->mean - p);
                  else
                    g_string_append (o, "— |\n");
                }
            }
        }
    }
  g_string_append (o, "\n## Across scenarios\n\n");
  if (r->cd_methods->len == 0)
    g_string_append (o, "No method has a result in every section with results.\n");
  else
    {
      g_string_append_printf (o, "Average rank on each section's %s over %d section%s "
                                 "(1 = best).\n\n| method | average rank |\n|---|---:|\n",
                              "average accuracy (average loss for loss matrices)", r->cd_n,
                              r->cd_n == 1 ? "" : "s");
      for (guint q = 0; q < r->cd_methods->len; q++)
        {
          g_string_append (o, "| ");
          md_text (o, r->cd_methods->pdata[q]);
          g_string_append_printf (o, " | %.3f |\n", g_array_index (r->cd_ranks, double, q));
        }
      if (isfinite (r->cd))
        g_string_append_printf (o, "\nNemenyi critical difference (α = 0.05, k = %u methods, N = %d): "
                                   "CD = %.3f · √(k(k+1)/(6N)) = %.3f.  Two methods whose average ranks "
                                   "differ by less than CD are not significantly different.\n",
                                r->cd_methods->len, r->cd_n, r->cd_q, r->cd);
      else if (r->cd_methods->len > 20)
        g_string_append (o, "\nNo critical difference: the q table stops at k = 20 methods.\n");
    }
  for (guint q = 0; q < r->cd_left_out->len; q++)
    {
      g_string_append (o, q == 0 ? "\nNot ranked across scenarios:\n\n- " : "- ");
      md_text (o, r->cd_left_out->pdata[q]);
      g_string_append_c (o, '\n');
    }
  g_autoptr (GPtrArray) problems = lf_rpt_curve_problems (r);
  for (guint q = 0; q < problems->len; q++)
    {
      g_string_append (o, q == 0 ? "\n## Curves left out\n\nMalformed curve members of results (the rest "
                                   "of each result is in the tables):\n\n- " : "- ");
      md_text (o, problems->pdata[q]);
      g_string_append_c (o, '\n');
    }
  return g_string_free (o, FALSE);
}

