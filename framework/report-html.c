/* lifelong — `lifelong report`'s index.html: self-contained (inline CSS,
 * charts as PNG data URIs, no script), one section per (scenario, dataset,
 * model) with its leaderboard, compute, problems, published numbers and
 * charts, after the ranks across sections. */
#include "report.h"
#include <lifelong/lifelong.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- index.html ---------------------------------------------------------------- */

static const char html_css[] =
  ":root{--fg:#1b1f24;--muted:#5b636e;--line:#d9dde3;--bg:#ffffff;--band:#f5f7fa;--accent:#0072b2}\n"
  "*{box-sizing:border-box}\n"
  "body{margin:0;font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
  "color:var(--fg);background:var(--bg)}\n"
  "header{padding:24px 40px 16px;border-bottom:1px solid var(--line);background:var(--band)}\n"
  "header h1{margin:0 0 4px;font-size:26px}\n"
  "header p{margin:2px 0;color:var(--muted)}\n"
  "nav{padding:10px 40px;border-bottom:1px solid var(--line);font-size:14px}\n"
  "nav a{margin-right:18px;color:var(--accent);text-decoration:none}\n"
  "main{padding:8px 40px 40px;max-width:1600px}\n"
  "section{margin-top:28px}\n"
  "h2{font-size:21px;margin:24px 0 8px;padding-bottom:4px;border-bottom:2px solid var(--line)}\n"
  "h3{font-size:16px;margin:22px 0 8px}\n"
  "p.note{color:var(--muted);font-size:13px;margin:4px 0 10px}\n"
  "table{border-collapse:collapse;font-size:14px;margin:6px 0 12px}\n"
  "th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}\n"
  "th{background:var(--band);font-weight:600;vertical-align:bottom}\n"
  "th.l,td.l,td.method{text-align:left}\n"
  "td.reason{text-align:left;white-space:normal;max-width:720px}\n"
  "tbody tr:hover{background:#eef4fa}\n"
  "td.best{font-weight:700}\n"
  ".ci{color:var(--muted);font-size:12px}\n"
  ".rk{display:inline-block;min-width:20px;margin-left:6px;padding:0 4px;border-radius:8px;"
  "background:#e8ecf1;color:var(--muted);font-size:11px;text-align:center}\n"
  ".swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:7px;"
  "vertical-align:-1px}\n"
  ".st{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;font-weight:600}\n"
  ".st-failed,.st-unreadable{background:#fbe3d6;color:#8a3300}\n"
  ".st-skipped{background:#e8ecf1;color:#3d4650}\n"
  ".st-pending{background:#fdf1cc;color:#6b5200}\n"
  ".charts{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}\n"
  "figure{margin:0;padding:10px;border:1px solid var(--line);border-radius:6px;background:#fff;"
  "max-width:100%}\n"
  "figure img{display:block;max-width:100%;height:auto}\n"
  "figcaption{font-size:12.5px;color:var(--muted);margin-top:6px}\n"
  "details{margin:6px 0}\n"
  "pre{background:var(--band);padding:8px;border-radius:4px;font-size:12px;white-space:pre-wrap;"
  "max-width:1000px}\n"
  "footer{padding:16px 40px;color:var(--muted);font-size:13px;border-top:1px solid var(--line)}\n";

static void
h_text (GString *o, const char *t)
{
  g_autofree char *e = g_markup_escape_text (t ? t : "", -1);
  g_string_append (o, e);
}

static void
h_swatch (GString *o, int colour)
{
  char hex[8];
  lf_rpt_colour_hex (colour, hex);
  g_string_append_printf (o, "<span class=\"swatch\" style=\"background:%s\"></span>", hex);
}

/* A chart as an <img> in a <figure>, with its caption (trusted markup);
 * takes b64.  FALSE when the chart could not be drawn (error set). */
static gboolean
h_chart (GString *o, char *b64, const int size[2], const char *alt, const char *caption, GError **error)
{
  if (b64 == NULL)
    return error == NULL || *error == NULL;
  /* the figure as wide as its image (padding and border included), so the
   * caption wraps under the chart */
  g_string_append_printf (o, "<figure style=\"width:%dpx\"><img src=\"data:image/png;base64,", size[0] + 22);
  g_string_append (o, b64);
  g_string_append_printf (o, "\" width=\"%d\" height=\"%d\" alt=\"", size[0], size[1]);
  h_text (o, alt);
  g_string_append (o, "\">");
  if (caption)
    {
      g_string_append (o, "<figcaption>");
      g_string_append (o, caption);   /* trusted markup */
      g_string_append (o, "</figcaption>");
    }
  g_string_append (o, "</figure>\n");
  g_free (b64);
  return TRUE;
}

/* One chart per method of the section (those it draws), alt "<what> <method>". */
static gboolean
h_method_charts (GString *o, const LfRptSection *s,
                 char *(*chart) (const LfRptSection *, const LfRptMethod *, int[2], GError **), const char *what,
                 GError **error)
{
  for (guint q = 0; q < s->methods->len; q++)
    {
      const LfRptMethod *m = s->methods->pdata[q];
      int size[2] = { 0, 0 };
      char *png = chart (s, m, size, error);
      g_autofree char *alt = g_strdup_printf ("%s %s", what, m->name);
      if (!h_chart (o, png, size, alt, NULL, error))
        return FALSE;
    }
  return TRUE;
}

static void
h_status (GString *o, const char *status)
{
  const char *cls = strcmp (status, "failed") == 0 || strcmp (status, "skipped") == 0
                    || strcmp (status, "unreadable") == 0 ? status : "pending";
  g_string_append_printf (o, "<span class=\"st st-%s\">", cls);
  h_text (o, status);
  g_string_append (o, "</span>");
}

static gboolean
h_section (GString *o, const LfReport *r, guint idx, GError **error)
{
  const LfRptSection *s = r->sections->pdata[idx];
  char buf[128];
  g_string_append_printf (o, "<section id=\"%s\">\n<h2>", s->anchor);
  h_text (o, s->title);
  g_string_append (o, "</h2>\n");
  /* the leaderboard */
  g_string_append (o, "<table class=\"leaderboard\">\n<thead><tr><th>rank</th><th class=\"l\">method</th>"
                      "<th>seeds</th>");
  for (guint k = 0; k < s->metric_names->len; k++)
    {
      g_string_append (o, "<th>");
      h_text (o, s->metric_names->pdata[k]);
      g_string_append_printf (o, " %s</th>", lf_rpt_arrow (s, k));
    }
  g_string_append (o, "</tr></thead>\n<tbody>\n");
  g_autoptr (GPtrArray) ms = lf_rpt_ranked_methods (s);
  for (guint q = 0; q < ms->len; q++)
    {
      const LfRptMethod *m = ms->pdata[q];
      g_string_append (o, "<tr data-method=\"");
      h_text (o, m->name);
      lf_rpt_fmt_rank (buf, sizeof buf, s->primary >= 0 ? m->stats[s->primary].rank : NAN);
      g_string_append_printf (o, "\"><td>%s</td><td class=\"method\">", buf);
      h_swatch (o, m->colour);
      h_text (o, m->name);
      g_string_append_printf (o, "</td><td>%d/%u</td>", m->n_ok, m->cells->len);
      for (guint k = 0; k < s->metric_names->len; k++)
        {
          const LfRptStat *st = &m->stats[k];
          if (!isfinite (st->mean))
            {
              g_string_append (o, "<td>—</td>");
              continue;
            }
          g_string_append_printf (o, "<td%s title=\"n = %d, sd = %.4g\">%.4f",
                                  st->rank == 1 ? " class=\"best\"" : "", st->n, st->sd, st->mean);
          if (isfinite (st->ci))
            g_string_append_printf (o, " <span class=\"ci\">± %.4f</span>", st->ci);
          lf_rpt_fmt_rank (buf, sizeof buf, st->rank);
          g_string_append_printf (o, "<span class=\"rk\">%s</span></td>", buf);
        }
      g_string_append (o, "</tr>\n");
    }
  g_string_append (o, "</tbody></table>\n<p class=\"note\">Mean over seeds ± half-width of the 95% "
                      "confidence interval (Student t, n − 1 degrees of freedom); hover a value for "
                      "its sample standard deviation.  The grey badge is the method's rank on that "
                      "metric (ties share the average rank); ↑ higher is better, ↓ lower is better.</p>\n");
  /* compute and memory */
  g_string_append (o, "<h3>Compute and memory</h3>\n<table class=\"compute\"><thead><tr>"
                      "<th class=\"l\">method</th><th>train samples</th><th>steps</th>"
                      "<th>wall time</th><th>± sd</th><th>strategy memory</th><th>peak RSS</th>"
                      "</tr></thead><tbody>\n");
  for (guint q = 0; q < ms->len; q++)
    {
      const LfRptMethod *m = ms->pdata[q];
      g_string_append (o, "<tr><td class=\"method\">");
      h_swatch (o, m->colour);
      h_text (o, m->name);
      lf_rpt_fmt_count (buf, sizeof buf, m->train_samples.mean);
      g_string_append_printf (o, "</td><td>%s</td>", buf);
      lf_rpt_fmt_count (buf, sizeof buf, m->steps.mean);
      g_string_append_printf (o, "<td>%s</td>", buf);
      lf_rpt_fmt_seconds (buf, sizeof buf, m->wall_s.mean);
      g_string_append_printf (o, "<td>%s</td>", buf);
      lf_rpt_fmt_seconds (buf, sizeof buf, m->wall_s.sd);
      g_string_append_printf (o, "<td>%s</td>", buf);
      lf_rpt_fmt_bytes (buf, sizeof buf, m->strategy_bytes.mean);
      g_string_append_printf (o, "<td>%s</td>", buf);
      lf_rpt_fmt_bytes (buf, sizeof buf, m->peak_rss.mean);
      g_string_append_printf (o, "<td>%s</td></tr>\n", buf);
    }
  g_string_append (o, "</tbody></table>\n");
  /* cells without a result */
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
            g_string_append (o, "<h3>Cells without a result</h3>\n<table class=\"problems\"><thead><tr>"
                                "<th class=\"l\">method</th><th>seed</th><th class=\"l\">status</th>"
                                "<th class=\"l\">reason</th><th class=\"l\">cell</th></tr></thead><tbody>\n");
          any = TRUE;
          g_string_append_printf (o, "<tr class=\"problem\" data-status=\"%s\"><td class=\"method\">",
                                  strcmp (cell->status, "failed") == 0 ? "failed"
                                  : strcmp (cell->status, "skipped") == 0 ? "skipped"
                                  : strcmp (cell->status, "unreadable") == 0 ? "unreadable" : "pending");
          h_swatch (o, m->colour);
          h_text (o, m->name);
          g_string_append_printf (o, "</td><td>%" G_GINT64_FORMAT "</td><td class=\"l\">", cell->seed);
          h_status (o, cell->status);
          g_string_append (o, "</td><td class=\"reason\">");
          g_autofree char *why = lf_rpt_cell_reason (cell);
          h_text (o, why);
          if (cell->log_tail)
            {
              g_string_append (o, "<details><summary>log</summary><pre>");
              h_text (o, cell->log_tail);
              g_string_append (o, "</pre></details>");
            }
          g_string_append (o, "</td><td class=\"l\"><code>");
          h_text (o, cell->id);
          g_string_append (o, "</code></td></tr>\n");
        }
    }
  if (any)
    g_string_append (o, "</tbody></table>\n");
  /* measuring points (knowledge editing) */
  GPtrArray *pkeys;
  g_autoptr (GPtrArray) pts = lf_rpt_section_points (s, &pkeys);
  if (pts)
    {
      g_string_append (o, "<h3>At each measuring point</h3>\n<p class=\"note\">The result's "
                          "<code>editing.points</code>, mean over seeds.</p>\n<table class=\"points\"><thead><tr>"
                          "<th class=\"l\">method</th><th>edits</th>");
      for (guint k = 0; k < pkeys->len; k++)
        {
          g_string_append (o, "<th>");
          h_text (o, pkeys->pdata[k]);
          g_string_append (o, "</th>");
        }
      g_string_append (o, "</tr></thead><tbody>\n");
      for (guint q = 0; q < s->methods->len; q++)
        {
          const LfRptMethod *m = s->methods->pdata[q];
          GArray *rows = pts->pdata[q];
          guint w = pkeys->len + 1;
          for (guint j = 0; j + w <= rows->len; j += w)
            {
              g_string_append (o, "<tr><td class=\"method\">");
              h_swatch (o, m->colour);
              h_text (o, m->name);
              g_string_append_printf (o, "</td><td>%.0f</td>", g_array_index (rows, double, j));
              for (guint k = 0; k < pkeys->len; k++)
                {
                  double v = g_array_index (rows, double, j + 1 + k);
                  if (isfinite (v))
                    g_string_append_printf (o, "<td>%.4f</td>", v);
                  else
                    g_string_append (o, "<td>—</td>");
                }
              g_string_append (o, "</tr>\n");
            }
        }
      g_string_append (o, "</tbody></table>\n");
    }
  /* published numbers */
  g_autoptr (GPtrArray) pm = lf_rpt_published_metrics (s);
  if (pm->len > 0)
    {
      g_string_append (o, "<h3>Published numbers</h3>\n<table class=\"published\"><thead><tr>"
                          "<th class=\"l\">method</th><th class=\"l\">metric</th><th>ours</th>"
                          "<th>published</th><th>ours − published</th></tr></thead><tbody>\n");
      g_autoptr (GList) pub_methods = json_object_get_members (s->published);
      for (GList *l = pub_methods; l != NULL; l = l->next)
        {
          const char *name = l->data;
          const LfRptMethod *m = NULL;
          for (guint q = 0; q < s->methods->len; q++)
            if (strcmp (((const LfRptMethod *) s->methods->pdata[q])->name, name) == 0)
              m = s->methods->pdata[q];
          for (guint k = 0; k < pm->len; k++)
            {
              double p = lf_rpt_published_value (s, name, pm->pdata[k]);
              if (!isfinite (p))
                continue;
              int idx = m ? lf_rpt_str_index (s->metric_names, pm->pdata[k]) : -1;
              LfRptStat none = { 0, NAN, NAN, NAN, NAN };
              const LfRptStat *st = idx >= 0 ? &m->stats[idx] : &none;
              g_string_append (o, "<tr><td class=\"method\">");
              if (m)
                h_swatch (o, m->colour);
              h_text (o, name);
              g_string_append (o, "</td><td class=\"l\">");
              h_text (o, pm->pdata[k]);
              lf_rpt_fmt_stat (buf, sizeof buf, st);
              g_string_append_printf (o, "</td><td>%s</td><td>%.4f</td>", m ? buf : "not run", p);
              if (isfinite (st->mean))
                g_string_append_printf (o, "<td>%+.4f</td></tr>\n", st->mean - p);
              else
                g_string_append (o, "<td>—</td></tr>\n");
            }
        }
      g_string_append (o, "</tbody></table>\n");
    }
  /* charts */
  g_string_append (o, "<h3>Charts</h3>\n<div class=\"charts\">\n");
  int size[2] = { 0, 0 };
  const char *pname = s->primary >= 0 ? s->metric_names->pdata[s->primary] : "score";
  char *png = lf_rpt_chart_seen_curves (s, size, error);
  if (!h_chart (o, png, size, "accuracy on the experiences seen so far",
                "Mean score over the experiences seen so far, after training through each "
                "experience i: mean<sub>j≤i</sub> R[i][j], averaged over seeds.  A flat line is a "
                "method that keeps what it learnt; a falling one forgets.", error))
    return FALSE;
  png = lf_rpt_chart_forgetting (s, size, error);
  if (!h_chart (o, png, size, "forgetting per method",
                "Average forgetting (the drop from each experience's best earlier score to its final "
                "score), mean over seeds with its 95% confidence interval.  Lower is better; "
                "below zero, later training improved earlier experiences.", error))
    return FALSE;
  png = lf_rpt_chart_loss (s, size, error);
  if (!h_chart (o, png, size, "training loss",
                "Training loss from the per-step logs, averaged over the seeds that logged each step.  "
                "Spikes mark the start of a new experience.", error))
    return FALSE;
  g_autofree char *cap_time = g_strdup_printf ("Mean %s (whiskers: 95%% CI) against the mean wall time "
                                               "of a run.  Up and to the left is better.", pname);
  g_autofree char *cap_mem = g_strdup_printf ("Mean %s (whiskers: 95%% CI) against the mean peak resident "
                                              "memory of a run.  Up and to the left is better.", pname);
  png = lf_rpt_chart_scatter (s, 0, size, error);
  if (!h_chart (o, png, size, "score against wall time", cap_time, error))
    return FALSE;
  png = lf_rpt_chart_scatter (s, 1, size, error);
  if (!h_chart (o, png, size, "score against peak memory", cap_mem, error))
    return FALSE;
  /* the curves results carry (online, open_world): also files beside the page */
  for (guint k = 0; r->curve_charts && k < r->curve_charts->len; k++)
    {
      const LfRptCurveChart *ch = r->curve_charts->pdata[k];
      if (ch->section != idx)
        continue;
      const LfRptCurveInfo *info = lf_rpt_curve_info (ch->kind);
      GString *cap = g_string_new (NULL);
      g_string_append_printf (cap, "<code>%s</code> of each result, ", info->member);
      g_string_append (cap, info->x_experience ? "after each experience (each matrix row)" : "against the samples "
                                                                                             "seen in the stream");
      g_string_append_printf (cap, ": the mean over seeds, the band from the least to the greatest seed.  "
                                   "Numbers in curves.csv; image <a href=\"%s\">%s</a>.", ch->file, ch->file);
      g_autofree char *alt = g_ascii_strdown (info->title, -1);
      g_autofree char *caption = g_string_free (cap, FALSE);
      if (!h_chart (o, g_strdup (ch->b64), ch->size, alt, caption, error))
        return FALSE;
    }
  if (s->primary < 0)
    g_string_append (o, "<p class=\"note\">No cell of this section has a result yet: nothing to draw.</p>\n");
  g_string_append (o, "</div>\n<h3>Accuracy matrices</h3>\n<p class=\"note\">R[i][j], the score on "
                      "experience j after training through experience i, mean over seeds.  The "
                      "diagonal is what was just learnt, the columns below it what was kept; cells "
                      "right of the diagonal are scores before training on that experience.</p>\n"
                      "<div class=\"charts\">\n");
  if (!h_method_charts (o, s, lf_rpt_chart_heatmap, "accuracy matrix of", error))
    return FALSE;
  g_string_append (o, "</div>\n");
  /* expert utilization (MoE strategies) */
  gboolean moe = FALSE;
  for (guint q = 0; q < s->methods->len; q++)
    moe = moe || ((const LfRptMethod *) s->methods->pdata[q])->util_mean != NULL;
  if (moe)
    {
      g_string_append (o, "<h3>Expert utilization</h3>\n<p class=\"note\">Per experience, each expert's "
                          "share of the (token, expert) assignments of that experience's training, mean "
                          "over the MoE layers and the seeds (<code>expert_utilization</code> in the "
                          "results; numbers in utilization.csv).  A colour is an expert: experts added "
                          "later (lifelong-moe) appear as new colours.</p>\n<div class=\"charts\">\n");
      if (!h_method_charts (o, s, lf_rpt_chart_utilization, "expert utilization of", error))
        return FALSE;
      g_string_append (o, "</div>\n");
    }
  g_string_append (o, "</section>\n");
  return TRUE;
}

char *
lf_rpt_write_html (const LfReport *r, GError **error)
{
  GString *o = g_string_new ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                             "<title>lifelong report");
  if (r->matrix_file)
    {
      g_string_append (o, " — ");
      h_text (o, r->matrix_file);
    }
  g_string_append_printf (o, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n"
                             "<h1>lifelong report</h1>\n", html_css);
  int counts[5];
  lf_rpt_count_statuses (r, counts);
  g_string_append (o, "<p>");
  if (r->matrix_file)
    {
      g_string_append (o, "matrix <code>");
      h_text (o, r->matrix_file);
      g_string_append (o, "</code>");
    }
  if (r->created)
    {
      g_string_append (o, " · created ");
      h_text (o, r->created);
    }
  g_string_append (o, "</p>\n<p>");
  g_string_append_printf (o, "%u cells: %d ok · %d failed · %d skipped · %d pending", r->cells->len,
                          counts[0], counts[1], counts[2], counts[3]);
  if (counts[4])
    g_string_append_printf (o, " · %d unreadable", counts[4]);
  g_string_append_printf (o, " · %u section%s · %u method%s</p>\n</header>\n<nav><a href=\"#overall\">"
                             "across scenarios</a>", r->sections->len, r->sections->len == 1 ? "" : "s",
                          r->method_order->len, r->method_order->len == 1 ? "" : "s");
  for (guint i = 0; i < r->sections->len; i++)
    {
      const LfRptSection *s = r->sections->pdata[i];
      g_string_append_printf (o, "<a href=\"#%s\">", s->anchor);
      h_text (o, s->title);
      g_string_append (o, "</a>");
    }
  g_string_append (o, "</nav>\n<main>\n<section id=\"overall\">\n<h2>Across scenarios</h2>\n");
  if (r->cd_methods->len == 0)
    g_string_append (o, "<p class=\"note\">No method has a result in every section with results.</p>\n");
  else
    {
      g_string_append_printf (o, "<p class=\"note\">Average rank of each method on each section's average "
                                 "accuracy (average loss for loss matrices), over N = %d section%s; "
                                 "1 is best.</p>\n<table class=\"ranks\"><thead><tr><th>#</th>"
                                 "<th class=\"l\">method</th><th>average rank</th></tr></thead><tbody>\n",
                              r->cd_n, r->cd_n == 1 ? "" : "s");
      for (guint q = 0; q < r->cd_methods->len; q++)
        {
          const char *name = r->cd_methods->pdata[q];
          g_string_append_printf (o, "<tr data-method=\"");
          h_text (o, name);
          g_string_append_printf (o, "\"><td>%u</td><td class=\"method\">", q + 1);
          h_swatch (o, lf_rpt_str_index (r->method_order, name));
          h_text (o, name);
          g_string_append_printf (o, "</td><td>%.3f</td></tr>\n", g_array_index (r->cd_ranks, double, q));
        }
      g_string_append (o, "</tbody></table>\n");
      if (isfinite (r->cd))
        {
          g_string_append_printf (o, "<p class=\"note\">Nemenyi test (Demšar 2006), α = 0.05: "
                                     "CD = q<sub>0.05</sub> √(k(k+1)/(6N)) = %.3f × √(%u·%u/(6·%d)) = "
                                     "<b>%.3f</b>.  Methods joined by a bar differ in average rank by less "
                                     "than CD: the test cannot tell them apart.%s</p>\n",
                                  r->cd_q, r->cd_methods->len, r->cd_methods->len + 1, r->cd_n, r->cd,
                                  r->cd_n < 5 ? "  With so few sections the test has little power: "
                                                "read the ranks as a summary, not as a verdict." : "");
          int size[2];
          char *png = lf_rpt_chart_cd (r, size, error);
          g_string_append (o, "<div class=\"charts\">\n");
          if (!h_chart (o, png, size, "critical-difference diagram", NULL, error))
            {
              g_string_free (o, TRUE);
              return NULL;
            }
          g_string_append (o, "</div>\n");
        }
      else if (r->cd_methods->len > 20)
        g_string_append (o, "<p class=\"note\">No critical difference: the q table stops at k = 20.</p>\n");
    }
  if (r->cd_left_out->len > 0)
    {
      g_string_append (o, "<p class=\"note\">Not ranked across scenarios:</p>\n<ul>\n");
      for (guint q = 0; q < r->cd_left_out->len; q++)
        {
          g_string_append (o, "<li>");
          h_text (o, r->cd_left_out->pdata[q]);
          g_string_append (o, "</li>\n");
        }
      g_string_append (o, "</ul>\n");
    }
  g_autoptr (GPtrArray) problems = lf_rpt_curve_problems (r);
  for (guint q = 0; q < problems->len; q++)
    {
      if (q == 0)
        g_string_append (o, "<p class=\"note\">Curves left out (malformed in the result; the rest of "
                            "each result is in the tables):</p>\n<ul class=\"curve-problems\">\n");
      g_string_append (o, "<li>");
      h_text (o, problems->pdata[q]);
      g_string_append (o, "</li>\n");
      if (q + 1 == problems->len)
        g_string_append (o, "</ul>\n");
    }
  g_string_append (o, "</section>\n");
  for (guint i = 0; i < r->sections->len; i++)
    if (!h_section (o, r, i, error))
      {
        g_string_free (o, TRUE);
        return NULL;
      }
  g_string_append_printf (o, "</main>\n<footer>Written by <code>lifelong report</code> %s.  "
                             "Statistics and charts are described in docs/report.md.</footer>\n"
                             "</body>\n</html>\n", LF_VERSION_STRING);
  return g_string_free (o, FALSE);
}

