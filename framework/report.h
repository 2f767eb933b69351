/* lifelong — `lifelong report`: the model of a matrix directory once read
 * (cells grouped into sections and methods, with their statistics), shared
 * by the loader and writers (report.c), the statistics (report-stats.c) and
 * the Cairo charts (report-charts.c).  Private to the executable. */
#pragma once

#include <lifelong/metrics.h>
#include <json-glib/json-glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* ---- statistics (report-stats.c) ---------------------------------------- */

/* A summary over seeds: the finite values only (a null metric is not a 0). */
typedef struct {
  int    n;       /* finite values summarised                              */
  double mean;    /* NaN when n == 0                                       */
  double sd;      /* sample standard deviation (n - 1); NaN when n < 2     */
  double ci;      /* 95% CI half-width, t_{0.975, n-1} * sd / sqrt (n); NaN when n < 2 */
  double rank;    /* 1 = best among the section's methods (ties averaged); NaN: unranked */
} LfRptStat;

/* t_{0.975, df}: the two-sided 95% Student t quantile, exact (to 9 digits)
 * for df = 1..30, a Cornish-Fisher expansion around the normal quantile
 * beyond (within 1e-5 of the exact value for df > 30).  NaN for df < 1. */
double lf_rpt_t975 (int df);
/* q_0.05 of the Nemenyi test for k classifiers (Demšar 2006, Table 5a: the
 * studentized range statistic at infinite degrees of freedom divided by
 * sqrt 2), for k = 2..20; NaN outside that range. */
double lf_rpt_nemenyi_q05 (int k);
/* Summarises the n values x (NaN and infinities skipped); out->rank = NaN. */
void   lf_rpt_summarise (const double *x, int n, LfRptStat *out);
/* Ranks n values (1 = best; higher_better says which way), ties sharing
 * their average rank; NaN values get a NaN rank and take no place. */
void   lf_rpt_rank (const double *values, int n, gboolean higher_better, double *ranks);

/* ---- the matrix directory, read ---------------------------------------- */

/* ---- curves over the stream or the experiences ---------------------------- */

/* The per-result curves the report draws (docs/report.md, "Curves"):
 * online's accuracy over the samples seen, and open_world's per-row old-
 * and new-class accuracy and novelty AUROC (x: the row's experience). */
typedef enum {
  LF_RPT_CURVE_ONLINE,
  LF_RPT_CURVE_OLD_ACCURACY,
  LF_RPT_CURVE_NEW_ACCURACY,
  LF_RPT_CURVE_NOVELTY_AUROC,
  LF_RPT_N_CURVES
} LfRptCurveKind;

typedef struct {
  const char *name;     /* curves.csv's "curve" and the chart file's stem ("online-accuracy") */
  const char *member;   /* where a result holds it ("online.accuracy")          */
  const char *title, *xlabel, *ylabel;
  gboolean    x_experience;   /* x is an experience index (else samples seen)   */
} LfRptCurveInfo;

const LfRptCurveInfo *lf_rpt_curve_info (LfRptCurveKind k);

/* One point of a method's curve: at x, over the seeds with a number there
 * (n of them), their mean, least and greatest value (NaN when n == 0). */
typedef struct {
  double x, mean, min, max;
  int    n;
} LfRptCurvePoint;

/* One cell of index.json with what its files said. */
typedef struct {
  char    *id, *method, *strategy, *model, *dataset, *scenario, *dir;
  int64_t  seed;
  char    *status;     /* "ok", "failed", "skipped", "pending", "unreadable" or the runner's word */
  char    *reason;     /* why it is not ok, or NULL                                   */
  char    *log_tail;   /* status.json's "log_tail", or NULL                           */
  int      exit_code;  /* status.json's, or -1                                        */
  int      signal;     /* status.json's, or 0                                         */
  gboolean ok;         /* a result was read: everything below is set                  */
  LfMatrixKind kind;
  int64_t  T, n_rows;
  double  *R;          /* n_rows x T, row-major; NaN where the result has null        */
  int64_t *rows;       /* n_rows: the experience each row was measured after          */
  GPtrArray *metric_names;   /* char *, in the result's order                        */
  GArray  *metric_values;    /* double, NaN for null                                 */
  double   total_s, train_samples, steps, strategy_bytes, peak_rss;   /* NaN if absent */
  GArray  *loss_step, *loss_value;   /* double: the step log (empty if none)           */
  /* expert_utilization (an MoE strategy's): util_T experiences x util_E
   * experts, each expert's fraction of the routed tokens, mean over the MoE
   * layers; a row is NaN when the result has no entry for that experience.
   * util NULL: none (or nothing usable) in the result. */
  int64_t  util_T, util_E;
  double  *util;
  /* measuring points (a knowledge-editing result's editing.points): pt_n
   * points, each at pt_x (its "edits") with a value per pt_keys (the other
   * numeric members of the first point, in order), NaN where a point lacks
   * one.  pt_n = 0: none. */
  int64_t  pt_n;
  double  *pt_x, *pt_vals;   /* pt_n; pt_n x pt_keys->len */
  GPtrArray *pt_keys;        /* char *, or NULL */
  /* curves (LfRptCurveKind): (x, y) pairs, y NaN where the result has
   * null; NULL when the result has none or a malformed one, which
   * curve_problems then names (char *: "<file>: <member>: <why>") */
  GArray    *curve[LF_RPT_N_CURVES];   /* double */
  GPtrArray *curve_problems;
} LfRptCell;

/* One method of one section. */
typedef struct {
  char      *name;       /* the method label ("ewc", "ewc/large")     */
  char      *strategy;
  int        colour;     /* index in the report's method order         */
  GPtrArray *cells;      /* LfRptCell *, borrowed, in index order      */
  int        n_ok, n_failed, n_skipped, n_pending, n_unreadable;
  LfRptStat *stats;      /* one per section metric                     */
  LfRptStat  train_samples, steps, wall_s, strategy_bytes, peak_rss;
  /* the mean matrix over the seeds whose matrix has the first one's shape */
  int64_t    T, n_rows;
  double    *R_mean;     /* n_rows x T, or NULL when no seed finished  */
  int64_t   *rows;
  int        n_matrices;
  /* accuracy over seen experiences after each row: mean_{j<=i} R[i][j] */
  double    *seen_mean;  /* n_rows, mean over seeds                    */
  /* training loss over steps, mean over the seeds logging that step    */
  GArray    *loss_step, *loss_mean;   /* double                         */
  /* expert utilization, mean over the seeds with an entry for that
   * experience (an expert a seed did not have yet counts 0 there):
   * util_T x util_E, NaN rows where no seed has one; NULL when no seed has
   * utilization.  util_seeds[e]: the seeds averaged at experience e. */
  int64_t    util_T, util_E;
  double    *util_mean;
  int       *util_seeds;
  /* each curve over the seeds that have it: LfRptCurvePoint, x increasing;
   * NULL when no seed has it */
  GArray    *curve[LF_RPT_N_CURVES];
} LfRptMethod;

/* A (scenario, dataset, model) section. */
typedef struct {
  char        *scenario, *dataset, *model;
  char        *title;          /* "class-incremental · fashion-mnist · mlp" */
  char        *anchor;         /* "s1", "s2", ...: the HTML id             */
  LfMatrixKind kind;           /* the first readable result's kind         */
  gboolean     kind_known;
  GPtrArray   *methods;        /* LfRptMethod *, in first-appearance order */
  GPtrArray   *metric_names;   /* char *: the union of the results' metrics */
  GArray      *metric_higher;  /* gboolean per metric: its direction       */
  int          primary;        /* index of average_accuracy (average_loss) or -1 */
  JsonObject  *published;      /* index.json's published[scenario], or NULL (borrowed) */
} LfRptSection;

typedef struct {
  char       *dir, *out_dir;
  char       *matrix_file, *created;
  JsonParser *index;           /* keeps "published" alive                  */
  JsonObject *published;       /* or NULL                                  */
  GPtrArray  *cells;           /* LfRptCell *, owned                       */
  GPtrArray  *sections;        /* LfRptSection *, owned                    */
  GPtrArray  *method_order;    /* char *: every method label, first appearance */
  /* across sections: the average rank on each section's primary metric, of
   * the methods that have it in every section (a complete block design) */
  GPtrArray  *cd_methods;      /* char *, sorted by average rank           */
  GArray     *cd_ranks;        /* double, same order                       */
  GPtrArray  *cd_left_out;     /* char *: "method: why" for the others     */
  int         cd_n;            /* N: sections                              */
  double      cd_q, cd;        /* q_0.05 and the critical difference (NaN if none) */
  /* the curve charts drawn (lf_rpt_draw_curves): LfRptCurveChart *, by
   * section, then kind; NULL before drawing */
  GPtrArray  *curve_charts;
} LfReport;

/* One curve chart: a section's curve of one kind, also written as FILE. */
typedef struct {
  guint          section;
  LfRptCurveKind kind;
  char          *file;     /* "online-accuracy-s1.png" */
  char          *b64;      /* the PNG, base64         */
  GBytes        *png;
  int            size[2];
} LfRptCurveChart;

/* TRUE when a higher value of metric NAME is better in a matrix of KIND
 * (docs/metrics.md): forgetting and loss-valued metrics are lower-better;
 * BWT and FWT follow the kind. */
gboolean lf_rpt_metric_higher_is_better (const char *name, LfMatrixKind kind);

/* ---- reading and grouping (report.c) ---------------------------------------- */

/* The number at n (integer or real); NaN for null, absence or a non-number. */
double   lf_rpt_node_num (JsonNode *n);
gboolean lf_rpt_node_is_num (JsonNode *n);
/* The index of string s in the array of strings a, or -1. */
int      lf_rpt_str_index (GPtrArray *a, const char *s);

/* Reads DIR (index.json and each cell's status, result and step log),
 * groups the cells and computes every statistic: all the writers need.
 * out_dir: where the report will go (NULL: DIR/report).  NULL with error
 * when index.json is missing or malformed; a cell whose files are missing
 * or malformed becomes "unreadable" with the reason.  Free with
 * lf_rpt_free. */
LfReport *lf_rpt_read (const char *dir, const char *out_dir, GError **error);
void      lf_rpt_free (LfReport *r);

/* report-curves.c: reads a result's curves into c (malformed ones into
 * c->curve_problems, with PATH), and a method's means over its seeds. */
void      lf_rpt_load_curves (LfRptCell *c, JsonObject *o, const char *path);
void      lf_rpt_method_curves (LfRptMethod *m);
/* Draws every section's curve charts into r->curve_charts (emptied
 * first).  FALSE with error when Cairo failed. */
gboolean  lf_rpt_draw_curves (LfReport *r, GError **error);
/* Every curve problem of the report's cells, "<method> seed <seed>: <problem>"
 * (char *, owned), in cell order. */
GPtrArray *lf_rpt_curve_problems (const LfReport *r);

/* ---- text and its formatting (report-write.c) -------------------------------
 * The fmt functions write "—" for an undefined (NaN) value. */

void   lf_rpt_fmt_bytes (char *buf, size_t n, double v);     /* "12.3 MiB"           */
void   lf_rpt_fmt_count (char *buf, size_t n, double v);     /* "180000"             */
void   lf_rpt_fmt_rank (char *buf, size_t n, double v);      /* "2", "2.5"           */
void   lf_rpt_fmt_seconds (char *buf, size_t n, double v);   /* "4.67 s", "2.1 min"  */
void   lf_rpt_fmt_stat (char *buf, size_t n, const LfRptStat *st);  /* "0.6900 ± 0.0123" */
/* Why a cell has no result (its reason, exit code, signal); g_free it. */
char  *lf_rpt_cell_reason (const LfRptCell *c);
/* "<status>: <reason>"; g_free it. */
char  *lf_rpt_cell_problem (const LfRptCell *c);
/* index.json's published number for (section, method, metric), or NaN. */
double lf_rpt_published_value (const LfRptSection *s, const char *method, const char *metric);
/* Every metric named in the section's published numbers (char *, owned). */
GPtrArray *lf_rpt_published_metrics (const LfRptSection *s);
/* The section's methods (borrowed) by rank on the primary metric, unranked
 * last, ties in first-appearance order; free the array only. */
GPtrArray *lf_rpt_ranked_methods (const LfRptSection *s);
/* The section's measuring points (LfRptCell.pt_*), mean over each
 * method's seeds: keys (char *, borrowed: the first cell's with points),
 * and for each method of s, in order, a GArray of rows (double: x, then a
 * value per key, NaN where no seed has it), x increasing.  NULL when no
 * cell of s has points.  Free with g_ptr_array_unref. */
GPtrArray *lf_rpt_section_points (const LfRptSection *s, GPtrArray **keys);
/* "↑" or "↓": the direction of the section's k-th metric. */
const char *lf_rpt_arrow (const LfRptSection *s, guint k);
/* Cells by outcome: ok, failed, skipped, pending (and other words), unreadable. */
void   lf_rpt_count_statuses (const LfReport *r, int counts[5]);
/* leaderboard.csv and leaderboard.md as text (g_free it); docs/report.md. */
char  *lf_rpt_write_csv (const LfReport *r);
char  *lf_rpt_write_md (const LfReport *r);
/* utilization.csv as text (g_free it), or NULL when no method has expert
 * utilization; docs/report.md. */
char  *lf_rpt_write_utilization_csv (const LfReport *r);
/* curves.csv as text (g_free it), or NULL when no method has a curve. */
char  *lf_rpt_write_curves_csv (const LfReport *r);

/* ---- index.html (report-html.c) --------------------------------------------- */

/* The page as text (g_free it), or NULL with error set when a chart could
 * not be drawn. */
char  *lf_rpt_write_html (const LfReport *r, GError **error);

/* ---- charts (report-charts.c) ------------------------------------------
 * Each returns a PNG as base64 text (free with g_free) and its displayed
 * size in CSS pixels (the PNG has twice as many), or NULL when there is
 * nothing to draw (no error then) or drawing failed (error set). */

char *lf_rpt_chart_heatmap (const LfRptSection *s, const LfRptMethod *m, int size[2], GError **error);
char *lf_rpt_chart_seen_curves (const LfRptSection *s, int size[2], GError **error);
char *lf_rpt_chart_forgetting (const LfRptSection *s, int size[2], GError **error);
char *lf_rpt_chart_loss (const LfRptSection *s, int size[2], GError **error);
/* x: the wall time (which = 0) or the peak RSS (which = 1) against the
 * primary metric. */
char *lf_rpt_chart_scatter (const LfRptSection *s, int which, int size[2], GError **error);
char *lf_rpt_chart_cd (const LfReport *r, int size[2], GError **error);
/* The method's expert utilization: per experience a bar of the experts'
 * mean fractions, stacked; NULL when it has none. */
char *lf_rpt_chart_utilization (const LfRptSection *s, const LfRptMethod *m, int size[2], GError **error);

/* The section's curve of kind k: per method its mean over seeds with a
 * band from the least to the greatest seed; NULL when no method has it. */
char *lf_rpt_chart_curve (const LfRptSection *s, LfRptCurveKind k, int size[2], GError **error);

/* Frees Cairo's font caches (fonts and their fontconfig patterns), once
 * every chart is drawn: a leak checker then sees nothing left. */
void lf_rpt_charts_release (void);

/* The colour-blind-safe palette (Okabe & Ito), as RGB in [0, 1]; index i
 * wraps, and charts change the dash pattern on each wrap. */
void lf_rpt_colour (int i, double rgb[3]);
/* "#0072b2": the same colour for HTML. */
void lf_rpt_colour_hex (int i, char out[8]);

G_END_DECLS
