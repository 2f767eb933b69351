/* lifelong tests — `lifelong report` end to end on a matrix directory made
 * by hand (index.json, results, status files, step logs): the leaderboard's
 * numbers against means, standard deviations and t intervals worked out
 * here, ranks in each metric's direction, failed / skipped / pending /
 * unreadable cells with their reasons, the charts as decodable PNGs, the
 * page in a real browser when Chromium is installed, and clear errors. */
#include "testutil.h"
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char *tmp;
static const char *exe;

/* ---- helpers ------------------------------------------------------------------ */

static void
rm_rf (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      GDir *d = g_dir_open (path, 0, NULL);
      for (const char *n; d && (n = g_dir_read_name (d)) != NULL;)
        {
          g_autofree char *p = g_build_filename (path, n, NULL);
          rm_rf (p);
        }
      if (d)
        g_dir_close (d);
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static void
write_file (const char *dir, const char *name, const char *text)
{
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_autofree char *p = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (p, text, -1, NULL));
}

/* Runs `lifelong ARGS...`: the exit status, standard output and error. */
static int
run_cli (char **out, char **err, ...)
{
  va_list ap;
  va_start (ap, err);
  int status = tu_spawn_va (exe, ap, NULL, NULL, out, err);
  va_end (ap);
  return status;
}

/* Not inlined: GCC 12 then mistakes strstr results on the text for
 * pointers to read_file's own local (-Wdangling-pointer). */
G_GNUC_NO_INLINE static char *
read_file (const char *dir, const char *name)
{
  g_autofree char *p = g_build_filename (dir, name, NULL);
  char *text = NULL;
  g_assert_true (g_file_get_contents (p, &text, NULL, NULL));
  return text;
}

static guint
count_occurrences (const char *hay, const char *needle)
{
  guint n = 0;
  for (const char *p = hay; (p = strstr (p, needle)) != NULL; p += strlen (needle))
    n++;
  return n;
}

/* RFC 4180 CSV: rows of fields (GPtrArray of GPtrArray of char *). */
static GPtrArray *
csv_parse (const char *text)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  GPtrArray *row = g_ptr_array_new_with_free_func (g_free);
  GString *f = g_string_new (NULL);
  gboolean quoted = FALSE;
  for (const char *p = text; *p; p++)
    {
      if (quoted)
        {
          if (*p == '"' && p[1] == '"')
            {
              g_string_append_c (f, '"');
              p++;
            }
          else if (*p == '"')
            quoted = FALSE;
          else
            g_string_append_c (f, *p);
        }
      else if (*p == '"')
        quoted = TRUE;
      else if (*p == ',')
        {
          g_ptr_array_add (row, g_strdup (f->str));
          g_string_truncate (f, 0);
        }
      else if (*p == '\n')
        {
          g_ptr_array_add (row, g_strdup (f->str));
          g_string_truncate (f, 0);
          g_ptr_array_add (rows, row);
          row = g_ptr_array_new_with_free_func (g_free);
        }
      else
        g_string_append_c (f, *p);
    }
  g_assert_cmpuint (row->len, ==, 0);   /* the file ends with a newline */
  g_assert_cmpuint (f->len, ==, 0);
  g_ptr_array_unref (row);
  g_string_free (f, TRUE);
  return rows;
}

static const char *
csv_get (GPtrArray *rows, GPtrArray *row, const char *col)
{
  GPtrArray *head = rows->pdata[0];
  for (guint i = 0; i < head->len; i++)
    if (strcmp (head->pdata[i], col) == 0)
      {
        g_assert_cmpuint (row->len, ==, head->len);
        return row->pdata[i];
      }
  g_error ("leaderboard.csv has no column %s", col);
  return NULL;
}

static double
csv_num (GPtrArray *rows, GPtrArray *row, const char *col)
{
  const char *v = csv_get (rows, row, col);
  if (*v == '\0')
    return NAN;
  char *end;
  double x = g_ascii_strtod (v, &end);
  g_assert_true (*end == '\0');
  return x;
}

static GPtrArray *
csv_row (GPtrArray *rows, const char *scenario, const char *method)
{
  for (guint i = 1; i < rows->len; i++)
    if (strcmp (csv_get (rows, rows->pdata[i], "scenario"), scenario) == 0
        && strcmp (csv_get (rows, rows->pdata[i], "method"), method) == 0)
      return rows->pdata[i];
  g_error ("leaderboard.csv has no row for %s / %s", scenario, method);
  return NULL;
}

/* Every data:image/png;base64 image in the page decodes to a PNG; returns
 * how many there are. */
static guint
check_pngs (const char *html)
{
  static const char tag[] = "<img src=\"data:image/png;base64,";
  guint n = 0;
  for (const char *p = html; (p = strstr (p, tag)) != NULL; n++)
    {
      p += strlen (tag);
      const char *end = strchr (p, '"');
      g_assert_nonnull (end);
      g_autofree char *b64 = g_strndup (p, (gsize) (end - p));
      gsize len = 0;
      g_autofree guchar *png = g_base64_decode (b64, &len);
      g_assert_cmpuint (len, >, 33);
      g_assert_cmpmem (png, 8, "\x89PNG\r\n\x1a\n", 8);
      g_assert_cmpmem (png + 12, 4, "IHDR", 4);
      uint32_t w = (uint32_t) png[16] << 24 | (uint32_t) png[17] << 16 | (uint32_t) png[18] << 8 | png[19];
      g_assert_cmpuint (w, >=, 200);
      p = end;
    }
  return n;
}

/* `lifelong report M --quiet`, which must succeed; returns M/report. */
static char *
report_of (const char *m)
{
  g_autofree char *out = NULL, *err = NULL;
  int rc = run_cli (&out, &err, "report", m, "--quiet", NULL);
  if (rc != 0)
    g_printerr ("%s", err);
  g_assert_cmpint (rc, ==, 0);
  return g_build_filename (m, "report", NULL);
}

/* ---- the matrix made by hand --------------------------------------------------- */

/* Two scenarios x three methods x three seeds; every ok cell's matrix is
 *   [[A+F, 0,   0],
 *    [A+F, A+F, 0],
 *    [A,   A,   A]]
 * with baseline 0, so (docs/metrics.md) average_accuracy = A, forgetting = F,
 * bwt = -F, fwt = 0 and learning_accuracy = A + 2F/3. */
typedef struct {
  const char *scenario, *method, *strategy;
  double      A[3], F[3];
  const char *status[3];   /* "ok", or "failed"/"skipped"/"pending" */
} Group;

static const Group groups[] = {
  { "class-incremental", "naive", "naive", { 0.30, 0.32, 0.28 }, { 0.60, 0.62, 0.58 }, { "ok", "ok", "ok" } },
  { "class-incremental", "ewc", "ewc", { 0.50, 0.54, 0 }, { 0.30, 0.26, 0 }, { "ok", "ok", "failed" } },
  { "class-incremental", "er/large", "er", { 0.70, 0.66, 0.71 }, { 0.10, 0.15, 0.12 }, { "ok", "ok", "ok" } },
  { "domain-incremental/permutation", "naive", "naive", { 0.60, 0.64, 0 }, { 0.20, 0.22, 0 },
    { "ok", "ok", "skipped" } },
  { "domain-incremental/permutation", "ewc", "ewc", { 0.80, 0.81, 0.79 }, { 0.05, 0.04, 0.06 },
    { "ok", "ok", "ok" } },
  { "domain-incremental/permutation", "er/large", "er", { 0.70, 0.72, 0 }, { 0.08, 0.07, 0 },
    { "ok", "ok", "pending" } },
};

#define FAIL_REASON "NaN loss at experience 1, step 40"
#define SKIP_REASON "naive cannot run domain-incremental permutation here (test reason)"

static char *
result_json (double A, double F, int seed)
{
  double a = A + F;
  g_autofree char *m = g_strdup_printf (
    "{\"average_accuracy\": %.17g, \"average_forgetting\": %.17g, \"bwt\": %.17g, \"fwt\": 0,"
    " \"learning_accuracy\": %.17g}", A, F, -F, (2 * a + A) / 3);
  return g_strdup_printf (
    "{\"schema_version\": 1, \"status\": \"ok\", \"config\": {\"seed\": %d},"
    " \"matrix_kind\": \"accuracy\","
    " \"matrix\": [[%.17g, 0, 0], [%.17g, %.17g, 0], [%.17g, %.17g, %.17g]], \"matrix_rows\": [0, 1, 2],"
    " \"baseline\": [0, 0, 0], \"metrics\": %s,"
    " \"time_s\": {\"total\": %g, \"train\": 1.0, \"eval\": 0.1},"
    " \"throughput\": {\"train_samples\": 3000, \"steps\": 30, \"train_samples_per_s\": 1000,"
    "                  \"train_tokens_per_s\": null},"
    " \"peak_rss_bytes\": %d, \"memory_bytes\": {\"strategy\": %d, \"optimizer_state\": 0,"
    " \"model_parameters\": 1000}}",
    seed, a, a, a, A, A, A, m, 1.5 + seed * 0.25 + A, 50000000 + (int) (A * 1e7), (int) (A * 1e5));
}

static char *
steps_jsonl (double A, int seed)
{
  GString *s = g_string_new (NULL);
  for (int k = 0; k < 30; k += 10)
    g_string_append_printf (s, "{\"step\": %d, \"experience\": %d, \"epoch\": 0, \"loss\": %g,"
                               " \"grad_norm\": 1.0, \"lr\": 0.001}\n",
                            k, k / 10, 2.0 - A - 0.01 * seed + 0.1 * (k / 10));
  g_string_append (s, "this line is not JSON and is skipped\n");
  return g_string_free (s, FALSE);
}

/* The matrix directory DIR/m; returns its path. */
static char *
make_matrix (void)
{
  char *m = g_build_filename (tmp, "m", NULL);
  GString *idx = g_string_new ("{\"schema_version\": 1, \"matrix_file\": \"benchmarks/test.json\","
                               " \"created\": \"2024-01-01T00:00:00Z\","
                               " \"published\": {\"class-incremental\": {\"naive\": {\"average_accuracy\": 0.25},"
                               "   \"ewc\": {\"average_accuracy\": 0.5, \"average_forgetting\": 0.2}}},"
                               " \"cells\": [");
  int n = 0;
  for (guint g = 0; g < G_N_ELEMENTS (groups); g++)
    for (int seed = 0; seed < 3; seed++)
      {
        const Group *gr = &groups[g];
        g_autofree char *id = g_strdup_printf ("%016x", 0xabc000 + n);
        g_autofree char *cell = g_build_filename (m, "cells", id, NULL);
        const char *st = gr->status[seed];
        const char *reason = strcmp (st, "failed") == 0 ? FAIL_REASON
                             : strcmp (st, "skipped") == 0 ? SKIP_REASON : NULL;
        g_string_append_printf (idx, "%s{\"id\": \"%s\", \"method\": \"%s\", \"strategy\": \"%s\","
                                     " \"model\": \"mlp\", \"dataset\": \"synthetic\", \"scenario\": \"%s\","
                                     " \"seed\": %d, \"status\": \"%s\", \"dir\": \"cells/%s\"",
                                n++ ? ", " : "", id, gr->method, gr->strategy, gr->scenario, seed, st, id);
        if (reason)
          g_string_append_printf (idx, ", \"reason\": \"%s\"", reason);
        g_string_append (idx, "}");
        if (strcmp (st, "ok") == 0)
          {
            g_autofree char *res = result_json (gr->A[seed], gr->F[seed], seed);
            g_autofree char *log = steps_jsonl (gr->A[seed], seed);
            write_file (cell, "result.json", res);
            write_file (cell, "result.steps.jsonl", log);
            write_file (cell, "status.json", "{\"status\": \"ok\", \"exit_code\": 0, \"wall_s\": 2.0}");
          }
        else if (strcmp (st, "failed") == 0)
          write_file (cell, "status.json",
                      "{\"status\": \"failed\", \"reason\": \"" FAIL_REASON "\", \"exit_code\": 1,"
                      " \"signal\": 0, \"wall_s\": 0.7, \"log_tail\": \"lifelong run: <b>NaN</b> loss\\n\"}");
        else if (strcmp (st, "skipped") == 0)
          write_file (cell, "status.json", "{\"status\": \"skipped\", \"reason\": \"" SKIP_REASON "\"}");
        /* pending: no directory at all */
      }
  g_string_append (idx, "]}");
  write_file (m, "index.json", idx->str);
  g_string_free (idx, TRUE);
  return m;
}

/* The report of the hand-made matrix, made once. */
static char *matrix_dir, *report_dir;

static void
ensure_report (void)
{
  if (report_dir != NULL)
    return;
  matrix_dir = make_matrix ();
  report_dir = g_build_filename (tmp, "report out", NULL);   /* a space on purpose */
  g_autofree char *out = NULL, *err = NULL;
  int rc = run_cli (&out, &err, "report", matrix_dir, "--out", report_dir, NULL);
  if (rc != 0)
    g_printerr ("%s", err);
  g_assert_cmpint (rc, ==, 0);
  g_assert_nonnull (strstr (err, "index.html"));
}

/* mean, sample sd and 95% CI half-width of n values, by hand */
typedef struct {
  double mean, sd, ci;
} Expect;

static Expect
expect (const double *x, int n)
{
  /* Student t quantiles in closed form: with one degree of freedom t is
   * Cauchy, t_{0.975, 1} = tan (pi (0.975 - 1/2)); with two,
   * t_p = (2p - 1) / sqrt (2 p (1 - p)) */
  const double t975[3] = { NAN, tan (G_PI * 0.475), 0.95 / sqrt (2 * 0.975 * 0.025) };
  Expect e = { 0, 0, 0 };
  for (int i = 0; i < n; i++)
    e.mean += x[i];
  e.mean /= n;
  for (int i = 0; i < n; i++)
    e.sd += (x[i] - e.mean) * (x[i] - e.mean);
  e.sd = sqrt (e.sd / (n - 1));
  e.ci = t975[n - 1] * e.sd / sqrt (n);
  return e;
}

static int
ok_values (const Group *g, gboolean forgetting, double *x)
{
  int n = 0;
  for (int s = 0; s < 3; s++)
    if (strcmp (g->status[s], "ok") == 0)
      x[n++] = forgetting ? g->F[s] : g->A[s];
  return n;
}

/* ---- tests ------------------------------------------------------------------------- */

static void
test_help (void)
{
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_cli (&out, &err, "report", "--help", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "usage: lifelong report DIR"));
  g_free (out);
  g_free (err);
  out = err = NULL;
  g_assert_cmpint (run_cli (&out, &err, "report", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "usage: lifelong report"));
  g_free (out);
  g_free (err);
  out = err = NULL;
  g_assert_cmpint (run_cli (&out, &err, "--help", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "report DIR"));
}

static void
test_csv_numbers (void)
{
  ensure_report ();
  g_autofree char *text = read_file (report_dir, "leaderboard.csv");
  g_autoptr (GPtrArray) rows = csv_parse (text);
  g_assert_cmpuint (rows->len, ==, 1 + G_N_ELEMENTS (groups));
  for (guint g = 0; g < G_N_ELEMENTS (groups); g++)
    {
      const Group *gr = &groups[g];
      GPtrArray *row = csv_row (rows, gr->scenario, gr->method);
      g_assert_cmpstr (csv_get (rows, row, "dataset"), ==, "synthetic");
      g_assert_cmpstr (csv_get (rows, row, "model"), ==, "mlp");
      g_assert_cmpstr (csv_get (rows, row, "strategy"), ==, gr->strategy);
      g_assert_cmpstr (csv_get (rows, row, "matrix_kind"), ==, "accuracy");
      double x[3];
      int n = ok_values (gr, FALSE, x);
      Expect e = expect (x, n);
      g_assert_cmpfloat (csv_num (rows, row, "seeds_ok"), ==, n);
      g_assert_cmpfloat (csv_num (rows, row, "cells"), ==, 3);
      g_assert_cmpfloat (csv_num (rows, row, "average_accuracy_n"), ==, n);
      g_assert_cmpfloat_with_epsilon (csv_num (rows, row, "average_accuracy_mean"), e.mean, 1e-7);
      g_assert_cmpfloat_with_epsilon (csv_num (rows, row, "average_accuracy_std"), e.sd, 1e-7);
      g_assert_cmpfloat_with_epsilon (csv_num (rows, row, "average_accuracy_ci95"), e.ci, 1e-6);
      n = ok_values (gr, TRUE, x);
      e = expect (x, n);
      g_assert_cmpfloat_with_epsilon (csv_num (rows, row, "average_forgetting_mean"), e.mean, 1e-7);
      g_assert_cmpfloat_with_epsilon (csv_num (rows, row, "average_forgetting_std"), e.sd, 1e-7);
      g_assert_cmpfloat_with_epsilon (csv_num (rows, row, "average_forgetting_ci95"), e.ci, 1e-6);
      g_assert_cmpfloat_with_epsilon (csv_num (rows, row, "bwt_mean"), -e.mean, 1e-7);
      g_assert_cmpfloat (csv_num (rows, row, "fwt_mean"), ==, 0);
      g_assert_cmpfloat (csv_num (rows, row, "fwt_std"), ==, 0);
      g_assert_cmpfloat (csv_num (rows, row, "train_samples_mean"), ==, 3000);
      g_assert_cmpfloat (csv_num (rows, row, "steps_mean"), ==, 30);
      double wall = 0;
      int k = 0;
      for (int s = 0; s < 3; s++)
        if (strcmp (gr->status[s], "ok") == 0)
          wall += 1.5 + s * 0.25 + gr->A[s], k++;
      g_assert_cmpfloat_with_epsilon (csv_num (rows, row, "wall_s_mean"), wall / k, 1e-7);
      g_assert_cmpfloat (csv_num (rows, row, "peak_rss_bytes_mean"), >, 5e7);
    }
  /* a single-seed CI is undefined: here every group has >= 2 seeds, so
   * every ci95 cell is filled */
  GPtrArray *ewc = csv_row (rows, "class-incremental", "ewc");
  g_assert_cmpfloat (csv_num (rows, ewc, "failed"), ==, 1);
  g_assert_nonnull (strstr (csv_get (rows, ewc, "problems"), "seed 2: failed: " FAIL_REASON " (exit code 1)"));
  GPtrArray *naive_d = csv_row (rows, "domain-incremental/permutation", "naive");
  g_assert_cmpfloat (csv_num (rows, naive_d, "skipped"), ==, 1);
  g_assert_nonnull (strstr (csv_get (rows, naive_d, "problems"), "seed 2: skipped: " SKIP_REASON));
  GPtrArray *er_d = csv_row (rows, "domain-incremental/permutation", "er/large");
  g_assert_cmpfloat (csv_num (rows, er_d, "pending"), ==, 1);
  g_assert_nonnull (strstr (csv_get (rows, er_d, "problems"), "seed 2: pending: missing (not run yet)"));
  /* published numbers beside ours: ours - published */
  GPtrArray *naive_c = csv_row (rows, "class-incremental", "naive");
  g_assert_cmpfloat_with_epsilon (csv_num (rows, naive_c, "published_average_accuracy"), 0.25, 1e-12);
  g_assert_cmpfloat_with_epsilon (csv_num (rows, naive_c, "average_accuracy_diff"), 0.30 - 0.25, 1e-7);
  g_assert_cmpfloat_with_epsilon (csv_num (rows, ewc, "average_forgetting_diff"), 0.28 - 0.2, 1e-7);
  g_assert_true (isnan (csv_num (rows, naive_c, "published_average_forgetting")));
}

static void
test_ranks (void)
{
  ensure_report ();
  g_autofree char *text = read_file (report_dir, "leaderboard.csv");
  g_autoptr (GPtrArray) rows = csv_parse (text);
  /* class-IL accuracy: er/large 0.69, ewc 0.52, naive 0.30; forgetting (lower
   * is better): er/large 0.123, ewc 0.28, naive 0.60; bwt (higher is better)
   * follows forgetting */
  static const struct { const char *scenario, *method; double acc, forg; } want[] = {
    { "class-incremental", "er/large", 1, 1 }, { "class-incremental", "ewc", 2, 2 },
    { "class-incremental", "naive", 3, 3 },
    { "domain-incremental/permutation", "ewc", 1, 1 }, { "domain-incremental/permutation", "er/large", 2, 2 },
    { "domain-incremental/permutation", "naive", 3, 3 } };
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    {
      GPtrArray *row = csv_row (rows, want[i].scenario, want[i].method);
      g_assert_cmpfloat (csv_num (rows, row, "rank"), ==, want[i].acc);
      g_assert_cmpfloat (csv_num (rows, row, "average_accuracy_rank"), ==, want[i].acc);
      g_assert_cmpfloat (csv_num (rows, row, "average_forgetting_rank"), ==, want[i].forg);
      g_assert_cmpfloat (csv_num (rows, row, "bwt_rank"), ==, want[i].forg);
      g_assert_cmpfloat (csv_num (rows, row, "fwt_rank"), ==, 2);   /* a three-way tie */
      /* rows are listed best first within each section */
      g_assert_cmpstr (csv_get (rows, rows->pdata[i + 1], "method"), ==, want[i].method);
    }
  /* across sections: er/large (1 + 2) / 2, ewc (2 + 1) / 2, naive 3; with
   * k = 3 and N = 2, CD = 2.3437 * sqrt (3 * 4 / 12) */
  g_autofree char *md = read_file (report_dir, "leaderboard.md");
  g_assert_nonnull (strstr (md, "| er/large | 1.500 |"));
  g_assert_nonnull (strstr (md, "| ewc | 1.500 |"));
  g_assert_nonnull (strstr (md, "| naive | 3.000 |"));
  g_assert_nonnull (strstr (md, "= 2.344."));
}

static void
test_markdown (void)
{
  ensure_report ();
  g_autofree char *md = read_file (report_dir, "leaderboard.md");
  g_assert_nonnull (strstr (md, "## class-incremental · synthetic · mlp"));
  g_assert_nonnull (strstr (md, "## domain-incremental/permutation · synthetic · mlp"));
  g_assert_nonnull (strstr (md, "| 1 | er/large | 3/3 | 0.6900 ± "));
  g_assert_nonnull (strstr (md, "| 3 | naive | 2/3 | 0.6200 ± "));
  g_assert_nonnull (strstr (md, "ewc, seed 2 (`"));
  g_assert_nonnull (strstr (md, "failed: " FAIL_REASON));
  g_assert_nonnull (strstr (md, "skipped: " SKIP_REASON));
  g_assert_nonnull (strstr (md, "pending: missing (not run yet)"));
  g_assert_nonnull (strstr (md, "| naive | average_accuracy | 0.3000 ± "));
}

/* one image per chart: the CD diagram, then per section the seen-experience
 * curves, forgetting, loss, two scatters and one heatmap per method */
#define N_CHARTS (1 + 2 * (5 + 3))

static void
test_html (void)
{
  ensure_report ();
  g_autofree char *html = read_file (report_dir, "index.html");
  g_assert_true (g_str_has_prefix (html, "<!DOCTYPE html>"));
  /* self-contained: no script, no stylesheet or image from elsewhere */
  g_assert_null (strstr (html, "<script"));
  g_assert_null (strstr (html, "http://"));
  g_assert_null (strstr (html, "https://"));
  g_assert_null (strstr (html, "<link"));
  /* the leaderboard rows, each section's in rank order */
  const char *a = strstr (html, "<tr data-method=\"er/large\"><td>1</td>");
  g_assert_nonnull (a);
  const char *b = strstr (a, "<tr data-method=\"ewc\"><td>2</td>");
  g_assert_nonnull (b);
  g_assert_nonnull (strstr (b, "<tr data-method=\"naive\"><td>3</td>"));
  g_assert_nonnull (strstr (html, ">0.6900 <span class=\"ci\">± "));
  g_assert_nonnull (strstr (html, ">0.8000 <span class=\"ci\">± 0.0248</span>"));
  /* cells without a result, with their reasons (escaped) */
  g_assert_nonnull (strstr (html, "data-status=\"failed\""));
  g_assert_nonnull (strstr (html, FAIL_REASON " (exit code 1)"));
  g_assert_nonnull (strstr (html, "&lt;b&gt;NaN&lt;/b&gt;"));
  g_assert_nonnull (strstr (html, "data-status=\"skipped\""));
  g_assert_nonnull (strstr (html, SKIP_REASON));
  g_assert_nonnull (strstr (html, "data-status=\"pending\""));
  g_assert_nonnull (strstr (html, "missing (not run yet)"));
  /* published numbers and the difference */
  g_assert_nonnull (strstr (html, "<td>0.2500</td><td>+0.0500</td>"));
  /* charts: one PNG each, every one decodes */
  g_assert_cmpuint (count_occurrences (html, "<img src=\"data:image/png;base64,"), ==, N_CHARTS);
  g_assert_cmpuint (check_pngs (html), ==, N_CHARTS);
  /* the files are readable by others, and nothing temporary is left */
  GStatBuf st;
  g_autofree char *p = g_build_filename (report_dir, "index.html", NULL);
  g_assert_cmpint (g_stat (p, &st), ==, 0);
  mode_t um = umask (0);
  umask (um);
  g_assert_cmpint (st.st_mode & 0777, ==, 0666 & ~um);
  GDir *d = g_dir_open (report_dir, 0, NULL);
  int files = 0;
  for (const char *n; (n = g_dir_read_name (d)) != NULL; files++)
    g_assert_null (strstr (n, ".tmp-"));   /* lf_write_file_atomic's temporaries */
  g_dir_close (d);
  g_assert_cmpint (files, ==, 3);
}

static void
test_default_out (void)
{
  ensure_report ();
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_cli (&out, &err, "report", matrix_dir, "--quiet", NULL), ==, 0);
  g_assert_cmpstr (err, ==, "");
  g_autofree char *def = g_build_filename (matrix_dir, "report", NULL);
  g_autofree char *a = read_file (def, "leaderboard.csv"), *b = read_file (report_dir, "leaderboard.csv");
  g_assert_cmpstr (a, ==, b);   /* the same numbers, wherever it goes */
}

static void
test_unreadable_result (void)
{
  g_autofree char *m = g_build_filename (tmp, "bad", NULL);
  g_autofree char *c0 = g_build_filename (m, "cells", "0000000000000001", NULL);
  g_autofree char *c1 = g_build_filename (m, "cells", "0000000000000002", NULL);
  g_autofree char *c2 = g_build_filename (m, "cells", "0000000000000003", NULL);
  g_autofree char *r0 = result_json (0.5, 0.1, 0), *r1 = result_json (0.6, 0.1, 1);
  write_file (c0, "result.json", r0);
  write_file (c1, "result.json", r1);
  write_file (c2, "result.json", "{\"matrix\": [[0.5, ");   /* cut short */
  write_file (m, "index.json",
              "{\"schema_version\": 1, \"cells\": ["
              "{\"id\": \"0000000000000001\", \"method\": \"naive\", \"strategy\": \"naive\", \"model\": \"mlp\","
              " \"dataset\": \"synthetic\", \"scenario\": \"class-incremental\", \"seed\": 0, \"status\": \"ok\","
              " \"dir\": \"cells/0000000000000001\"},"
              "{\"id\": \"0000000000000002\", \"method\": \"naive\", \"strategy\": \"naive\", \"model\": \"mlp\","
              " \"dataset\": \"synthetic\", \"scenario\": \"class-incremental\", \"seed\": 1, \"status\": \"ok\","
              " \"dir\": \"cells/0000000000000002\"},"
              "{\"id\": \"0000000000000003\", \"method\": \"naive\", \"strategy\": \"naive\", \"model\": \"mlp\","
              " \"dataset\": \"synthetic\", \"scenario\": \"class-incremental\", \"seed\": 2, \"status\": \"ok\","
              " \"dir\": \"cells/0000000000000003\"},"
              "{\"id\": \"0000000000000004\", \"method\": \"naive\", \"strategy\": \"naive\", \"model\": \"mlp\","
              " \"dataset\": \"synthetic\", \"scenario\": \"class-incremental\", \"seed\": 3, \"status\": \"ok\"}"
              "]}");
  g_autofree char *rep = report_of (m);
  g_autofree char *csv = read_file (rep, "leaderboard.csv");
  g_autoptr (GPtrArray) rows = csv_parse (csv);
  GPtrArray *row = csv_row (rows, "class-incremental", "naive");
  g_assert_cmpfloat (csv_num (rows, row, "seeds_ok"), ==, 2);
  g_assert_cmpfloat (csv_num (rows, row, "unreadable"), ==, 2);
  g_assert_cmpfloat_with_epsilon (csv_num (rows, row, "average_accuracy_mean"), 0.55, 1e-9);
  const char *probs = csv_get (rows, row, "problems");
  g_autofree char *bad = g_build_filename (c2, "result.json", NULL);
  g_autofree char *want = g_strdup_printf ("seed 2: unreadable: %s: ", bad);
  g_assert_nonnull (strstr (probs, want));
  /* the fourth has no "dir": cells/<id> is assumed, and its result is missing */
  g_assert_nonnull (strstr (probs, "seed 3: unreadable: "));
  g_assert_nonnull (strstr (probs, "0000000000000004/result.json: missing"));
  g_autofree char *html = read_file (rep, "index.html");
  g_assert_nonnull (strstr (html, "data-status=\"unreadable\""));
  /* one section, one method: curves, forgetting, two scatters and a heatmap
   * (no step logs: no loss chart; one method: no CD diagram) */
  g_assert_cmpuint (check_pngs (html), ==, 5);
}

/* ---- expert utilization ------------------------------------------------------------ */

/* A result of result_json with extra top-level members (text after a comma). */
static char *
result_with (double A, int seed, const char *extra)
{
  g_autofree char *base = result_json (A, 0.1, seed);
  base[strlen (base) - 1] = '\0';   /* the closing brace */
  return g_strdup_printf ("%s, %s}", base, extra);
}

/* A hand-made cell: its method (and strategy), seed, extra result members
 * (result_with) and scenario (NULL: the matrix's). */
typedef struct { const char *scenario, *method, *extra; int seed; } HandCell;

/* Writes matrix folder m: cell k (id PREFIX<k>) holds result_with (0.5 +
 * 0.01 k, seed, extra), and index.json lists them with the model, dataset
 * and scenario given. */
static void
write_hand_matrix (const char *m, const char *prefix, const char *model, const char *dataset, const char *scenario,
                   const HandCell *cells, guint n)
{
  GString *idx = g_string_new ("{\"cells\": [");
  for (guint k = 0; k < n; k++)
    {
      g_autofree char *id = g_strdup_printf ("%s%u", prefix, k);
      g_autofree char *dir = g_build_filename (m, "cells", id, NULL);
      g_autofree char *res = result_with (0.5 + 0.01 * k, cells[k].seed, cells[k].extra);
      write_file (dir, "result.json", res);
      g_string_append_printf (idx, "%s{\"id\": \"%s\", \"method\": \"%s\", \"strategy\": \"%s\", \"model\": "
                                   "\"%s\", \"dataset\": \"%s\", \"scenario\": \"%s\", \"seed\": %d, "
                                   "\"status\": \"ok\"}",
                              k ? ", " : "", id, cells[k].method, cells[k].method, model, dataset,
                              cells[k].scenario ? cells[k].scenario : scenario, cells[k].seed);
    }
  g_string_append (idx, "]}");
  write_file (m, "index.json", idx->str);
  g_string_free (idx, TRUE);
}

/* utilization.csv's fraction_mean (NaN: no row) and seeds of (method, experience, expert) */
static double
util_row (GPtrArray *rows, const char *method, int e, int x, int *seeds)
{
  char es[16], xs[16];
  g_snprintf (es, sizeof es, "%d", e);
  g_snprintf (xs, sizeof xs, "%d", x);
  for (guint i = 1; i < rows->len; i++)
    if (strcmp (csv_get (rows, rows->pdata[i], "method"), method) == 0
        && strcmp (csv_get (rows, rows->pdata[i], "experience"), es) == 0
        && strcmp (csv_get (rows, rows->pdata[i], "expert"), xs) == 0)
      {
        *seeds = (int) csv_num (rows, rows->pdata[i], "seeds");
        return csv_num (rows, rows->pdata[i], "fraction_mean");
      }
  return NAN;
}

/* Results carrying expert_utilization (the MoE strategies'): the numbers
 * in utilization.csv are the means over layers and seeds worked out here,
 * experts added later count 0 before, malformed entries and layers are
 * left out (never fatal), a result written before the member moved to the
 * top level ("strategy"'s) is read too, and the page gets one stacked-bar
 * chart per method that has utilization, as a decodable PNG.  A report
 * without utilization writes no utilization.csv. */
static void
test_expert_utilization (void)
{
  g_autofree char *m = g_build_filename (tmp, "moe", NULL);
  /* lifelong-moe seed 0: two layers, 2 then 4 experts;
   *   experience 0: mean of (.6, .4) and (.4, .6) = (.5, .5)
   *   experience 1: mean of (.1, .2, .3, .4) and (.3, .2, .1, .4) = (.2, .2, .2, .4) */
  const char *u0 = "\"expert_utilization\": ["
    "{\"experience\": 0, \"tokens\": 100, \"layers\": {"
    "  \"l0\": {\"tokens\": 100, \"counts\": [120, 80], \"fractions\": [0.6, 0.4]},"
    "  \"l1\": {\"tokens\": 100, \"counts\": [80, 120], \"fractions\": [0.4, 0.6]}}},"
    "{\"experience\": 1, \"tokens\": 100, \"layers\": {"
    "  \"l0\": {\"fractions\": [0.1, 0.2, 0.3, 0.4]}, \"l1\": {\"fractions\": [0.3, 0.2, 0.1, 0.4]}}}]";
  /* seed 1: experience 0 from counts alone (30:10 -> .75, .25); experience
   * 1 from its one good layer (the others: a string, a fraction above 1,
   * an empty array, not an object) */
  const char *u1 = "\"expert_utilization\": ["
    "{\"experience\": 0, \"layers\": {\"l0\": {\"counts\": [30, 10]}}},"
    "{\"experience\": 1, \"layers\": {\"l0\": {\"fractions\": [0.25, 0.25, 0.25, 0.25]},"
    "  \"l1\": {\"fractions\": [\"x\", 0.5]}, \"l2\": {\"fractions\": [2.0, 0]},"
    "  \"l3\": {\"fractions\": []}, \"l4\": 7}},"
    "\"junk\", {\"experience\": -1, \"layers\": {}}, {\"experience\": 2.5}, {\"experience\": 9, \"layers\": []}]";
  /* moe: an older result, the member under "strategy"; experience 1 has
   * no usable entry (n/a) */
  const char *u2 = "\"strategy\": {\"expert_utilization\": ["
    "{\"experience\": 0, \"layers\": {\"a\": {\"fractions\": [0.7, 0.3]}}},"
    "{\"experience\": 1, \"layers\": {\"a\": {\"fractions\": null}}}]}";
  /* naive: garbage where the member would be */
  const char *u3 = "\"expert_utilization\": {\"experience\": 0}";
  const HandCell cells[] = {
    { NULL, "lifelong-moe", u0, 0 }, { NULL, "lifelong-moe", u1, 1 }, { NULL, "moe", u2, 0 }, { NULL, "naive", u3, 0 },
  };
  write_hand_matrix (m, "u", "transformer", "fortunes", "continual-pretraining", cells, G_N_ELEMENTS (cells));
  g_autofree char *rep = report_of (m);
  g_autofree char *csv = read_file (rep, "utilization.csv");
  g_test_message ("utilization.csv:\n%s", csv);
  g_autoptr (GPtrArray) rows = csv_parse (csv);
  /* lifelong-moe: 2 experiences x 4 experts; moe: experience 0 x 2 experts */
  g_assert_cmpuint (rows->len, ==, 1 + 8 + 2);
  static const double want[2][4] = { { 0.625, 0.375, 0, 0 }, { 0.225, 0.225, 0.225, 0.325 } };
  for (int e = 0; e < 2; e++)
    for (int x = 0; x < 4; x++)
      {
        int seeds = 0;
        g_assert_cmpfloat_with_epsilon (util_row (rows, "lifelong-moe", e, x, &seeds), want[e][x], 1e-9);
        g_assert_cmpint (seeds, ==, 2);
      }
  int seeds = 0;
  g_assert_cmpfloat_with_epsilon (util_row (rows, "moe", 0, 0, &seeds), 0.7, 1e-9);
  g_assert_cmpint (seeds, ==, 1);
  g_assert_cmpfloat_with_epsilon (util_row (rows, "moe", 0, 1, &seeds), 0.3, 1e-9);
  g_assert_true (isnan (util_row (rows, "moe", 1, 0, &seeds)));
  g_assert_true (isnan (util_row (rows, "naive", 0, 0, &seeds)));
  g_assert_cmpstr (csv_get (rows, rows->pdata[1], "scenario"), ==, "continual-pretraining");
  g_assert_cmpstr (csv_get (rows, rows->pdata[1], "strategy"), ==, "lifelong-moe");
  /* the page: a utilization chart for the two MoE methods, not for naive */
  g_autofree char *html = read_file (rep, "index.html");
  g_assert_nonnull (strstr (html, "<h3>Expert utilization</h3>"));
  g_assert_nonnull (strstr (html, "alt=\"expert utilization of lifelong-moe\""));
  g_assert_nonnull (strstr (html, "alt=\"expert utilization of moe\""));
  g_assert_null (strstr (html, "alt=\"expert utilization of naive\""));
  /* the CD diagram, curves, forgetting, two scatters, three heatmaps, two
   * utilization charts */
  g_assert_cmpuint (check_pngs (html), ==, 10);
  /* the hand-made matrix has no utilization: no utilization.csv, no section */
  ensure_report ();
  g_autofree char *none = g_build_filename (report_dir, "utilization.csv", NULL);
  g_assert_false (g_file_test (none, G_FILE_TEST_EXISTS));
  g_autofree char *plain = read_file (report_dir, "index.html");
  g_assert_null (strstr (plain, "Expert utilization"));
}

/* ---- measuring points (knowledge editing) ---------------------------------------- */

/* Results carrying editing.points: the Markdown and the page get a table
 * of each method's points, every numeric member of the first point a
 * column, the mean over seeds (a seed without a point or a value leaves it
 * out), x increasing; a report without points has no such table. */
static void
test_editing_points (void)
{
  g_autofree char *m = g_build_filename (tmp, "points", NULL);
  /* wise, two seeds: after 1 edit reliability (1 + 0.5) / 2 = 0.75; after 10
   * only seed 0 has a point: 0.25; locality 0.9 and 0.7 -> 0.8 at 1 */
  const char *p0 = "\"editing\": {\"points\": ["
    "{\"edits\": 1, \"reliability\": 1.0, \"locality\": 0.9, \"note\": \"x\"},"
    "{\"edits\": 10, \"reliability\": 0.25, \"locality\": null}]}";
  const char *p1 = "\"editing\": {\"points\": [{\"edits\": 1, \"reliability\": 0.5, \"locality\": 0.7}, "
    "{\"reliability\": 0.1}]}";
  const char *p2 = "\"editing\": {\"points\": [{\"edits\": 10, \"reliability\": 0.125, \"locality\": 1}, "
    "{\"edits\": 1, \"reliability\": 0.5, \"locality\": 1}]}";
  const HandCell cells[] = {
    { NULL, "wise", p0, 0 }, { NULL, "wise", p1, 1 }, { NULL, "grace", p2, 0 },
  };
  write_hand_matrix (m, "p", "transformer", "facts", "knowledge-editing", cells, G_N_ELEMENTS (cells));
  g_autofree char *rep = report_of (m);
  g_autofree char *md = read_file (rep, "leaderboard.md");
  g_test_message ("leaderboard.md:\n%s", md);
  g_assert_nonnull (strstr (md, "| method | edits | reliability | locality |\n|---|---:|---:|---:|\n"
                                "| wise | 1 | 0.7500 | 0.8000 |\n"
                                "| wise | 10 | 0.2500 | — |\n"
                                "| grace | 1 | 0.5000 | 1.0000 |\n"
                                "| grace | 10 | 0.1250 | 1.0000 |\n"));
  g_autofree char *html = read_file (rep, "index.html");
  g_assert_nonnull (strstr (html, "<h3>At each measuring point</h3>"));
  g_assert_nonnull (strstr (html, "<td>10</td><td>0.2500</td><td>—</td></tr>"));
  /* the hand-made matrix has none */
  ensure_report ();
  g_autofree char *plain = read_file (report_dir, "leaderboard.md");
  g_assert_null (strstr (plain, "At each measuring point"));
}

/* ---- curves: online accuracy over the stream, open-world per row ---------------- */

/* curves.csv's row for (method, curve, x): its mean, min, max (NaN when
 * empty) and seeds; FALSE when there is no such row. */
static gboolean
curve_row (GPtrArray *rows, const char *method, const char *curve, const char *x, double v[3], int *seeds)
{
  for (guint i = 1; i < rows->len; i++)
    if (strcmp (csv_get (rows, rows->pdata[i], "method"), method) == 0
        && strcmp (csv_get (rows, rows->pdata[i], "curve"), curve) == 0
        && strcmp (csv_get (rows, rows->pdata[i], "x"), x) == 0)
      {
        const char *cols[] = { "mean", "min", "max" };
        for (int k = 0; k < 3; k++)
          {
            const char *f = csv_get (rows, rows->pdata[i], cols[k]);
            v[k] = *f ? g_ascii_strtod (f, NULL) : NAN;
          }
        *seeds = (int) csv_num (rows, rows->pdata[i], "seeds");
        return TRUE;
      }
  return FALSE;
}

static void
check_curve_row (GPtrArray *rows, const char *method, const char *curve, const char *x, double mean, double min,
                 double max, int seeds)
{
  double v[3];
  int n = -1;
  if (!curve_row (rows, method, curve, x, v, &n))
    g_error ("curves.csv has no row for %s / %s / %s", method, curve, x);
  const double want[3] = { mean, min, max };
  for (int k = 0; k < 3; k++)
    if (isnan (want[k]))
      g_assert_true (isnan (v[k]));
    else
      g_assert_cmpfloat_with_epsilon (v[k], want[k], 1e-9);
  g_assert_cmpint (n, ==, seeds);
}

/* A PNG file of at least 200 pixels' width. */
static void
check_png_file (const char *dir, const char *name)
{
  g_autofree char *p = g_build_filename (dir, name, NULL);
  g_autofree char *png = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (p, &png, &len, NULL));
  g_assert_cmpuint (len, >, 33);
  g_assert_cmpmem (png, 8, "\x89PNG\r\n\x1a\n", 8);
  const guchar *u = (const guchar *) png;
  uint32_t w = (uint32_t) u[16] << 24 | (uint32_t) u[17] << 16 | (uint32_t) u[18] << 8 | u[19];
  g_assert_cmpuint (w, >=, 200);
}

static gboolean
report_has (const char *dir, const char *name)
{
  g_autofree char *p = g_build_filename (dir, name, NULL);
  return g_file_test (p, G_FILE_TEST_EXISTS);
}

/* Results carrying curves (online's accuracy over the stream, open_world's
 * per-row old- and new-class accuracy and novelty AUROC): one chart per
 * (section, curve), a PNG file beside the page and in it, referenced from
 * leaderboard.md; curves.csv holds the numbers drawn, the mean, least and
 * greatest over the seeds worked out here; each malformed curve member
 * (lengths differ, a non-number, not an object, samples going back, a
 * per-row array not one per matrix row) is named with its file on stderr,
 * in the Markdown and the page, and left out, the rest of the result still
 * counted.  No result with a curve: no chart, no curves.csv. */
static void
test_curves (void)
{
  g_autofree char *m = g_build_filename (tmp, "curves", NULL);
  const HandCell cells[] = {
    /* er: means (0.9 + 0.7) / 2 = 0.8, 0.5, 0.4 */
    { "online/3/blurry-50-10", "er", "\"online\": {\"eval_every\": 100, \"samples\": [100, 200, 300], "
                                     "\"accuracy\": [0.9, 0.6, 0.5], \"classes_seen\": [2, 4, 6]}", 0 },
    { "online/3/blurry-50-10", "er", "\"online\": {\"samples\": [100, 200, 300], "
                                     "\"accuracy\": [0.7, 0.4, 0.3]}", 1 },
    /* naive: seed 0's second point null (no number at 250); seed 1 malformed */
    { "online/3/blurry-50-10", "naive", "\"online\": {\"samples\": [100, 250], \"accuracy\": [0.5, null]}", 0 },
    { "online/3/blurry-50-10", "naive", "\"online\": {\"samples\": [100, 200], \"accuracy\": [0.25]}", 1 },
    /* ewc: every seed malformed: no curve at all */
    { "online/3/blurry-50-10", "ewc", "\"online\": {\"samples\": [100, 200], \"accuracy\": [0.5, \"x\"]}", 0 },
    { "online/3/blurry-50-10", "ewc", "\"online\": 7", 1 },
    { "online/3/blurry-50-10", "ewc", "\"online\": {\"samples\": [200, 100], \"accuracy\": [0.1, 0.2]}", 2 },
    /* open world, x the matrix row's experience */
    { "open-world/3", "sola", "\"open_world\": {\"old_accuracy\": [null, 0.8, 0.6], \"new_accuracy\": "
                              "[0.9, 0.7, 0.5], \"novelty_auroc\": [null, 0.75, 0.85]}", 0 },
    { "open-world/3", "sola", "\"open_world\": {\"old_accuracy\": [null, 0.6, 0.4], \"new_accuracy\": "
                              "[0.7, 0.5], \"novelty_auroc\": [null, 0.65, 0.95]}", 1 },
  };
  write_hand_matrix (m, "c", "mlp", "synthetic", NULL, cells, G_N_ELEMENTS (cells));
  g_autofree char *rep = g_build_filename (m, "report", NULL);
  /* an earlier report's chart of a curve this one does not draw */
  write_file (rep, "online-accuracy-s9.png", "stale");
  g_autofree char *out = NULL, *err = NULL;
  int rc = run_cli (&out, &err, "report", m, "--quiet", NULL);
  g_test_message ("stderr:\n%s", err);
  g_assert_cmpint (rc, ==, 0);
  /* each malformed member named, with its file, on stderr (even --quiet) */
  static const char *const problems[] = {
    "c3" G_DIR_SEPARATOR_S "result.json: online: samples has 2 points but accuracy has 1; left out of the charts",
    "c4" G_DIR_SEPARATOR_S "result.json: online.accuracy[1]: expected a number or null, got a string",
    "c5" G_DIR_SEPARATOR_S "result.json: online: expected an object, got a number",
    "c6" G_DIR_SEPARATOR_S "result.json: online.samples[1]: 100 is below the point before it",
    "c8" G_DIR_SEPARATOR_S "result.json: open_world.new_accuracy: 2 values for 3 matrix rows",
  };
  g_assert_cmpuint (count_occurrences (err, "lifelong report: warning: "), ==, G_N_ELEMENTS (problems));
  g_autofree char *md = read_file (rep, "leaderboard.md");
  g_autofree char *html = read_file (rep, "index.html");
  g_test_message ("leaderboard.md:\n%s", md);
  for (guint k = 0; k < G_N_ELEMENTS (problems); k++)
    {
      g_assert_nonnull (strstr (err, problems[k]));
      g_assert_nonnull (strstr (md, problems[k]));
      g_assert_nonnull (strstr (html, problems[k]));
    }
  g_assert_nonnull (strstr (err, "warning: naive seed 1: "));
  g_assert_nonnull (strstr (md, "\n## Curves left out\n"));
  /* the rest of a result with a malformed curve still counts */
  g_autofree char *lb = read_file (rep, "leaderboard.csv");
  g_autoptr (GPtrArray) lrows = csv_parse (lb);
  g_assert_cmpstr (csv_get (lrows, csv_row (lrows, "online/3/blurry-50-10", "ewc"), "seeds_ok"), ==, "3");
  /* the numbers drawn */
  g_autofree char *csv = read_file (rep, "curves.csv");
  g_test_message ("curves.csv:\n%s", csv);
  g_autoptr (GPtrArray) rows = csv_parse (csv);
  check_curve_row (rows, "er", "online-accuracy", "100", 0.8, 0.7, 0.9, 2);
  check_curve_row (rows, "er", "online-accuracy", "200", 0.5, 0.4, 0.6, 2);
  check_curve_row (rows, "er", "online-accuracy", "300", 0.4, 0.3, 0.5, 2);
  check_curve_row (rows, "naive", "online-accuracy", "100", 0.5, 0.5, 0.5, 1);
  check_curve_row (rows, "naive", "online-accuracy", "250", NAN, NAN, NAN, 0);
  check_curve_row (rows, "sola", "old-accuracy", "0", NAN, NAN, NAN, 0);
  check_curve_row (rows, "sola", "old-accuracy", "1", 0.7, 0.6, 0.8, 2);
  check_curve_row (rows, "sola", "old-accuracy", "2", 0.5, 0.4, 0.6, 2);
  check_curve_row (rows, "sola", "new-accuracy", "0", 0.9, 0.9, 0.9, 1);
  check_curve_row (rows, "sola", "new-accuracy", "2", 0.5, 0.5, 0.5, 1);
  check_curve_row (rows, "sola", "novelty-auroc", "1", 0.7, 0.65, 0.75, 2);
  check_curve_row (rows, "sola", "novelty-auroc", "2", 0.9, 0.85, 0.95, 2);
  /* er 3 + naive 2 + sola 3 x 3; ewc has none */
  g_assert_cmpuint (rows->len, ==, 1 + 3 + 2 + 9);
  double v[3];
  int n;
  g_assert_false (curve_row (rows, "ewc", "online-accuracy", "100", v, &n));
  g_assert_cmpstr (csv_get (rows, rows->pdata[1], "scenario"), ==, "online/3/blurry-50-10");
  /* a chart per (section, curve), as files and in the page */
  static const char *const files[] = { "online-accuracy-s1.png", "old-accuracy-s2.png", "new-accuracy-s2.png",
                                       "novelty-auroc-s2.png" };
  for (guint k = 0; k < G_N_ELEMENTS (files); k++)
    {
      check_png_file (rep, files[k]);
      g_autofree char *link = g_strdup_printf ("<a href=\"%s\">", files[k]);
      g_assert_nonnull (strstr (html, link));
      g_autofree char *ref = g_strdup_printf ("](%s)", files[k]);
      g_assert_nonnull (strstr (md, ref));
    }
  g_assert_false (report_has (rep, "online-accuracy-s2.png"));
  g_assert_false (report_has (rep, "old-accuracy-s1.png"));
  g_assert_false (report_has (rep, "online-accuracy-s9.png"));
  g_assert_nonnull (strstr (html, "alt=\"accuracy over the stream\""));
  g_assert_nonnull (strstr (html, "alt=\"novelty auroc\""));
  g_assert_nonnull (strstr (md, "![Accuracy over the stream](online-accuracy-s1.png)"));
  /* per section: curves, forgetting, two scatters, the heatmaps (3 and 1),
   * the curve charts (1 and 3); no CD diagram (no method in both) */
  g_assert_cmpuint (check_pngs (html), ==, 4 + 3 + 1 + 4 + 1 + 3);
  /* the hand-made matrix has no curves: no chart, no curves.csv */
  ensure_report ();
  g_assert_false (report_has (report_dir, "curves.csv"));
  g_assert_false (report_has (report_dir, "online-accuracy-s1.png"));
  g_autofree char *plain = read_file (report_dir, "index.html");
  g_assert_null (strstr (plain, "over the stream"));
  g_assert_null (strstr (plain, "Curves left out"));
  g_autofree char *plain_md = read_file (report_dir, "leaderboard.md");
  g_assert_null (strstr (plain_md, "curves.csv"));
}

static void
test_loss_direction (void)
{
  g_autofree char *m = g_build_filename (tmp, "loss", NULL);
  static const char *const methods[] = { "naive", "lwf" };
  static const double loss[2][2] = { { 2.0, 2.2 }, { 1.5, 1.7 } };
  GString *idx = g_string_new ("{\"cells\": [");
  for (int k = 0; k < 2; k++)
    for (int s = 0; s < 2; s++)
      {
        g_autofree char *id = g_strdup_printf ("%016x", 0x100 + 2 * k + s);
        g_autofree char *cell = g_build_filename (m, "cells", id, NULL);
        double L = loss[k][s];
        g_autofree char *res = g_strdup_printf (
          "{\"status\": \"ok\", \"matrix_kind\": \"loss\", \"matrix\": [[%g, 5.0], [%g, %g]],"
          " \"metrics\": {\"average_loss\": %g, \"average_forgetting\": %g, \"bwt\": %g, \"fwt\": null,"
          " \"learning_loss\": %g}, \"time_s\": {\"total\": 1}, \"peak_rss_bytes\": 1000000}",
          L - 0.5, L, L, L, 0.5 * (k + 1), 0.5 * (k + 1), L - 0.5);
        write_file (cell, "result.json", res);
        g_string_append_printf (idx, "%s{\"id\": \"%s\", \"method\": \"%s\", \"strategy\": \"%s\","
                                     " \"model\": \"transformer\", \"dataset\": \"bytes\","
                                     " \"scenario\": \"continual-pretraining\", \"seed\": %d, \"status\": \"ok\"}",
                                k + s ? ", " : "", id, methods[k], methods[k], s);
      }
  g_string_append (idx, "]}");
  write_file (m, "index.json", idx->str);
  g_string_free (idx, TRUE);
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_cli (&out, &err, "report", m, "--quiet", NULL), ==, 0);
  g_autofree char *rep = g_build_filename (m, "report", NULL);
  g_autofree char *csv = read_file (rep, "leaderboard.csv");
  g_autoptr (GPtrArray) rows = csv_parse (csv);
  GPtrArray *lwf = csv_row (rows, "continual-pretraining", "lwf");
  GPtrArray *naive = csv_row (rows, "continual-pretraining", "naive");
  g_assert_cmpstr (csv_get (rows, lwf, "matrix_kind"), ==, "loss");
  /* lower loss ranks first; lower forgetting ranks first; for a loss matrix
   * a positive BWT is a rise in loss, so the lower BWT ranks first */
  g_assert_cmpfloat (csv_num (rows, lwf, "average_loss_rank"), ==, 1);
  g_assert_cmpfloat (csv_num (rows, naive, "average_loss_rank"), ==, 2);
  g_assert_cmpfloat (csv_num (rows, naive, "average_forgetting_rank"), ==, 1);
  g_assert_cmpfloat (csv_num (rows, naive, "bwt_rank"), ==, 1);
  g_assert_true (isnan (csv_num (rows, naive, "fwt_mean")));
  g_assert_true (isnan (csv_num (rows, naive, "fwt_rank")));
  g_assert_cmpfloat (csv_num (rows, naive, "fwt_n"), ==, 0);
  g_assert_cmpstr (csv_get (rows, rows->pdata[1], "method"), ==, "lwf");
  g_autofree char *md = read_file (rep, "leaderboard.md");
  g_assert_nonnull (strstr (md, "average_loss ↓"));
}

static void
test_errors (void)
{
  /* DIR missing */
  g_autofree char *none = g_build_filename (tmp, "no-such-matrix", NULL);
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_cli (&out, &err, "report", none, NULL), ==, 1);
  g_assert_nonnull (strstr (err, none));
  g_assert_nonnull (strstr (err, "no such directory"));
  g_assert_false (g_file_test (none, G_FILE_TEST_EXISTS));
  /* a directory without index.json */
  g_autofree char *empty = g_build_filename (tmp, "empty", NULL);
  g_assert_cmpint (g_mkdir_with_parents (empty, 0755), ==, 0);
  g_free (err);
  err = NULL;
  g_assert_cmpint (run_cli (NULL, &err, "report", empty, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "index.json: not found"));
  /* index.json malformed: the file is named, nothing is written */
  static const struct { const char *text, *says; } bad[] = {
    { "{\"cells\": [", "index.json: malformed JSON" },
    { "[1, 2]", "index.json: expected a JSON object" },
    { "{\"schema_version\": 1}", "index.json: cells: missing" },
    { "{\"cells\": {}}", "index.json: cells: expected an array" },
    { "{\"cells\": [{\"method\": \"naive\"}]}", "index.json: cells[0].id: missing" },
    { "{\"schema_version\": 7, \"cells\": []}", "index.json: schema_version" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *d = g_strdup_printf ("%s/malformed-%u", tmp, i);
      write_file (d, "index.json", bad[i].text);
      g_autofree char *e = NULL;
      g_assert_cmpint (run_cli (NULL, &e, "report", d, NULL), ==, 1);
      g_autofree char *path = g_build_filename (d, "index.json", NULL);
      if (strstr (e, path) == NULL || strstr (e, bad[i].says) == NULL)
        g_error ("for %s: expected \"%s\" naming %s, got: %s", bad[i].text, bad[i].says, path, e);
      g_autofree char *rep = g_build_filename (d, "report", NULL);
      g_assert_false (g_file_test (rep, G_FILE_TEST_EXISTS));
    }
  /* an unknown option is a usage error */
  g_free (err);
  err = NULL;
  g_assert_cmpint (run_cli (NULL, &err, "report", empty, "--frobnicate", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "--frobnicate"));
}

/* The page in a real browser: the DOM has the rows and images, and a
 * screenshot can be taken. */
static void
test_browser (void)
{
  const char *chromium = "/usr/bin/chromium";
  if (!g_file_test (chromium, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("chromium is not installed (/usr/bin/chromium): no browser check");
      return;
    }
  ensure_report ();
  g_autofree char *profile = g_build_filename (tmp, "chromium-profile", NULL);
  g_autofree char *udd = g_strdup_printf ("--user-data-dir=%s", profile);
  g_autofree char *index = g_build_filename (report_dir, "index.html", NULL);
  g_autofree char *url = g_filename_to_uri (index, NULL, NULL);
  g_autofree char *shot = g_build_filename (tmp, "report.png", NULL);
  g_autofree char *shot_arg = g_strdup_printf ("--screenshot=%s", shot);
  const char *timeout = g_file_test ("/usr/bin/timeout", G_FILE_TEST_IS_EXECUTABLE) ? "/usr/bin/timeout" : NULL;
  for (int pass = 0; pass < 2; pass++)
    {
      g_autoptr (GPtrArray) argv = g_ptr_array_new ();
      if (timeout)
        {
          g_ptr_array_add (argv, (gpointer) timeout);
          g_ptr_array_add (argv, (gpointer) "120");
        }
      const char *const common[] = { chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--hide-scrollbars", udd };
      for (guint i = 0; i < G_N_ELEMENTS (common); i++)
        g_ptr_array_add (argv, (gpointer) common[i]);
      if (pass == 0)
        g_ptr_array_add (argv, (gpointer) "--dump-dom");
      else
        {
          g_ptr_array_add (argv, (gpointer) shot_arg);
          g_ptr_array_add (argv, (gpointer) "--window-size=1400,2400");
        }
      g_ptr_array_add (argv, url);
      g_ptr_array_add (argv, NULL);
      g_autofree char *out = NULL, *err = NULL;
      int status = tu_spawn ((const char *const *) argv->pdata, NULL, &out, &err);
      if (status != 0)
        g_error ("chromium failed (status %d): %s", status, err);
      if (pass == 0)
        {
          g_assert_nonnull (strstr (out, "<tr data-method=\"er/large\">"));
          g_assert_nonnull (strstr (out, "<tr data-method=\"naive\">"));
          g_assert_nonnull (strstr (out, FAIL_REASON));
          g_assert_cmpuint (count_occurrences (out, "<img src=\"data:image/png;base64,"), ==, N_CHARTS);
        }
    }
  g_autofree char *png = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (shot, &png, &len, NULL));
  g_assert_cmpuint (len, >, 1000);
  g_assert_cmpmem (png, 8, "\x89PNG\r\n\x1a\n", 8);
  if (g_getenv ("LIFELONG_KEEP_SCREENSHOT"))
    {
      g_autofree char *keep = g_build_filename (g_getenv ("LIFELONG_KEEP_SCREENSHOT"), NULL);
      g_assert_true (g_file_set_contents (keep, png, (gssize) len, NULL));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  exe = g_getenv ("LIFELONG_EXE");
  if (exe == NULL)
    {
      g_printerr ("LIFELONG_EXE must be set (meson test sets it)\n");
      return 1;
    }
  tmp = g_dir_make_tmp ("lifelong-report-XXXXXX", NULL);
  g_test_add_func ("/report/help", test_help);
  g_test_add_func ("/report/csv-numbers", test_csv_numbers);
  g_test_add_func ("/report/ranks", test_ranks);
  g_test_add_func ("/report/markdown", test_markdown);
  g_test_add_func ("/report/html", test_html);
  g_test_add_func ("/report/default-out", test_default_out);
  g_test_add_func ("/report/unreadable-result", test_unreadable_result);
  g_test_add_func ("/report/loss-direction", test_loss_direction);
  g_test_add_func ("/report/expert-utilization", test_expert_utilization);
  g_test_add_func ("/report/editing-points", test_editing_points);
  g_test_add_func ("/report/curves", test_curves);
  g_test_add_func ("/report/errors", test_errors);
  g_test_add_func ("/report/browser", test_browser);
  int rc = g_test_run ();
  rm_rf (tmp);
  g_free (tmp);
  g_free (matrix_dir);
  g_free (report_dir);
  return rc;
}
