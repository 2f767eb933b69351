/* lifelong — `lifelong report`: the curves results carry beside their
 * matrix (online's accuracy over the stream, open_world's per-row old- and
 * new-class accuracy and novelty AUROC): reading them (a malformed one is
 * named and left out, never fatal), their means over seeds, the charts'
 * files and curves.csv.  Nothing here knows a strategy.  docs/report.md,
 * "Curves". */
#include "report.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Bound on a curve's points (a damaged result cannot make the report
 * allocate more). */
#define CURVE_MAX_POINTS 1000000

static const LfRptCurveInfo curve_info[LF_RPT_N_CURVES] = {
  [LF_RPT_CURVE_ONLINE] = { "online-accuracy", "online.accuracy", "Accuracy over the stream",
                            "samples seen", "accuracy on the classes seen", FALSE },
  [LF_RPT_CURVE_OLD_ACCURACY] = { "old-accuracy", "open_world.old_accuracy", "Old-class accuracy",
                                  "after experience", "accuracy on the classes known before", TRUE },
  [LF_RPT_CURVE_NEW_ACCURACY] = { "new-accuracy", "open_world.new_accuracy", "New-class accuracy",
                                  "after experience", "accuracy on the experience's new classes", TRUE },
  [LF_RPT_CURVE_NOVELTY_AUROC] = { "novelty-auroc", "open_world.novelty_auroc", "Novelty AUROC",
                                   "after experience", "AUROC, novel against known", TRUE },
};

const LfRptCurveInfo *
lf_rpt_curve_info (LfRptCurveKind k)
{
  return &curve_info[k];
}

/* ---- reading ------------------------------------------------------------------- */

static void G_GNUC_PRINTF (3, 4)
curve_problem (LfRptCell *c, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *why = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (c->curve_problems == NULL)
    c->curve_problems = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (c->curve_problems, g_strdup_printf ("%s: %s; left out of the charts", path, why));
}

static const char *
node_kind (JsonNode *n)
{
  if (n == NULL)
    return "nothing";
  if (JSON_NODE_HOLDS_NULL (n))
    return "null";
  if (JSON_NODE_HOLDS_OBJECT (n))
    return "an object";
  if (JSON_NODE_HOLDS_ARRAY (n))
    return "an array";
  GType t = json_node_get_value_type (n);
  if (t == G_TYPE_STRING)
    return "a string";
  if (t == G_TYPE_BOOLEAN)
    return "a boolean";
  return "a number";
}

/* obj.name as an array of at most CURVE_MAX_POINTS elements, or NULL with
 * the problem recorded (member: "online.samples"). */
static JsonArray *
curve_array (LfRptCell *c, const char *path, JsonObject *obj, const char *name, const char *member)
{
  JsonNode *n = json_object_get_member (obj, name);
  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n))
    {
      curve_problem (c, path, "%s: expected an array of numbers, got %s", member, node_kind (n));
      return NULL;
    }
  JsonArray *a = json_node_get_array (n);
  if (json_array_get_length (a) > CURVE_MAX_POINTS)
    {
      curve_problem (c, path, "%s: more than %d points", member, CURVE_MAX_POINTS);
      return NULL;
    }
  return a;
}

/* Element i of a as a number; null is NaN when null_ok.  FALSE with the
 * problem recorded otherwise. */
static gboolean
curve_number (LfRptCell *c, const char *path, JsonArray *a, guint i, const char *member, gboolean null_ok,
              double *out)
{
  JsonNode *e = json_array_get_element (a, i);
  if (lf_rpt_node_is_num (e) && isfinite (lf_rpt_node_num (e)))
    {
      *out = lf_rpt_node_num (e);
      return TRUE;
    }
  if (null_ok && JSON_NODE_HOLDS_NULL (e))
    {
      *out = NAN;
      return TRUE;
    }
  curve_problem (c, path, "%s[%u]: expected a number%s, got %s", member, i, null_ok ? " or null" : "",
                 node_kind (e));
  return FALSE;
}

/* online: "samples" (numbers >= 0, not decreasing) and "accuracy" (numbers
 * or null), as long as each other. */
static void
load_online (LfRptCell *c, JsonObject *o, const char *path)
{
  JsonNode *on = json_object_get_member (o, "online");
  if (on == NULL)
    return;
  if (!JSON_NODE_HOLDS_OBJECT (on))
    {
      curve_problem (c, path, "online: expected an object, got %s", node_kind (on));
      return;
    }
  JsonObject *oo = json_node_get_object (on);
  JsonArray *xs = curve_array (c, path, oo, "samples", "online.samples");
  JsonArray *ys = curve_array (c, path, oo, "accuracy", "online.accuracy");
  if (xs == NULL || ys == NULL)
    return;
  guint n = json_array_get_length (xs);
  if (json_array_get_length (ys) != n)
    {
      curve_problem (c, path, "online: samples has %u points but accuracy has %u", n, json_array_get_length (ys));
      return;
    }
  g_autoptr (GArray) pts = g_array_sized_new (FALSE, FALSE, sizeof (double), 2 * n);
  double last = -INFINITY;
  for (guint i = 0; i < n; i++)
    {
      double x, y;
      if (!curve_number (c, path, xs, i, "online.samples", FALSE, &x)
          || !curve_number (c, path, ys, i, "online.accuracy", TRUE, &y))
        return;
      if (x < 0 || x < last)
        {
          curve_problem (c, path, "online.samples[%u]: %g %s", i, x,
                         x < 0 ? "is negative" : "is below the point before it");
          return;
        }
      last = x;
      g_array_append_val (pts, x);
      g_array_append_val (pts, y);
    }
  if (n > 0)
    c->curve[LF_RPT_CURVE_ONLINE] = g_steal_pointer (&pts);
}

/* open_world: a number or null per matrix row in each of old_accuracy,
 * new_accuracy and novelty_auroc, x the row's experience. */
static void
load_open_world (LfRptCell *c, JsonObject *o, const char *path)
{
  JsonNode *wn = json_object_get_member (o, "open_world");
  if (wn == NULL)
    return;
  if (!JSON_NODE_HOLDS_OBJECT (wn))
    {
      curve_problem (c, path, "open_world: expected an object, got %s", node_kind (wn));
      return;
    }
  JsonObject *wo = json_node_get_object (wn);
  for (int k = LF_RPT_CURVE_OLD_ACCURACY; k <= LF_RPT_CURVE_NOVELTY_AUROC; k++)
    {
      const char *member = curve_info[k].member, *name = strchr (member, '.') + 1;
      if (!json_object_has_member (wo, name))
        continue;
      JsonArray *a = curve_array (c, path, wo, name, member);
      if (a == NULL)
        continue;
      guint n = json_array_get_length (a);
      if ((int64_t) n != c->n_rows)
        {
          curve_problem (c, path, "%s: %u values for %" G_GINT64_FORMAT " matrix rows", member, n, c->n_rows);
          continue;
        }
      g_autoptr (GArray) pts = g_array_sized_new (FALSE, FALSE, sizeof (double), 2 * n);
      gboolean good = TRUE;
      for (guint i = 0; i < n && good; i++)
        {
          double x = (double) c->rows[i], y;
          good = curve_number (c, path, a, i, member, TRUE, &y);
          g_array_append_val (pts, x);
          g_array_append_val (pts, y);
        }
      if (good && n > 0)
        c->curve[k] = g_steal_pointer (&pts);
    }
}

void
lf_rpt_load_curves (LfRptCell *c, JsonObject *o, const char *path)
{
  load_online (c, o, path);
  load_open_world (c, o, path);
}

/* ---- means over seeds ---------------------------------------------------------- */

static int
double_cmp (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* A cell's (x, y) pairs by x, equal x in their order in the result. */
typedef struct {
  double x, y;
  guint  at;
} Pair;

static int
pair_cmp (gconstpointer a, gconstpointer b)
{
  const Pair *p = a, *q = b;
  if (p->x != q->x)
    return p->x < q->x ? -1 : 1;
  return p->at < q->at ? -1 : p->at > q->at;
}

/* Each x any seed has; at each, over the seeds with a number there (a seed
 * with the same x twice counts its last), the mean, min and max.  Each
 * seed's points sorted once, then walked beside the x's: n log n. */
void
lf_rpt_method_curves (LfRptMethod *m)
{
  for (int k = 0; k < LF_RPT_N_CURVES; k++)
    {
      g_autoptr (GArray) xs = g_array_new (FALSE, FALSE, sizeof (double));
      g_autoptr (GPtrArray) seeds = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
      for (guint c = 0; c < m->cells->len; c++)
        {
          const LfRptCell *cell = m->cells->pdata[c];
          if (!cell->ok || cell->curve[k] == NULL)
            continue;
          GArray *pairs = g_array_new (FALSE, FALSE, sizeof (Pair));
          for (guint i = 0; i < cell->curve[k]->len; i += 2)
            {
              Pair p = { g_array_index (cell->curve[k], double, i), g_array_index (cell->curve[k], double, i + 1),
                         i };
              g_array_append_val (pairs, p);
              g_array_append_val (xs, p.x);
            }
          g_array_sort (pairs, pair_cmp);
          g_ptr_array_add (seeds, pairs);
        }
      if (xs->len == 0)
        continue;
      g_array_sort (xs, double_cmp);
      g_autofree guint *at = g_new0 (guint, MAX (seeds->len, 1));   /* each seed's next pair */
      GArray *out = g_array_new (FALSE, FALSE, sizeof (LfRptCurvePoint));
      for (guint j = 0; j < xs->len; j++)
        {
          double x = g_array_index (xs, double, j);
          if (j > 0 && x == g_array_index (xs, double, j - 1))
            continue;
          LfRptCurvePoint p = { x, NAN, NAN, NAN, 0 };
          double sum = 0;
          for (guint c = 0; c < seeds->len; c++)
            {
              GArray *pairs = seeds->pdata[c];
              double y = NAN;
              for (; at[c] < pairs->len && g_array_index (pairs, Pair, at[c]).x == x; at[c]++)
                y = g_array_index (pairs, Pair, at[c]).y;   /* the last of equal x */
              if (!isfinite (y))
                continue;
              sum += y;
              p.min = p.n ? MIN (p.min, y) : y;
              p.max = p.n ? MAX (p.max, y) : y;
              p.n++;
            }
          p.mean = p.n ? sum / p.n : NAN;
          g_array_append_val (out, p);
        }
      m->curve[k] = out;
    }
}

/* ---- charts and their files ---------------------------------------------------- */

static void
curve_chart_free (gpointer p)
{
  LfRptCurveChart *ch = p;
  g_free (ch->file);
  g_free (ch->b64);
  g_bytes_unref (ch->png);
  g_free (ch);
}

gboolean
lf_rpt_draw_curves (LfReport *r, GError **error)
{
  if (r->curve_charts)
    g_ptr_array_unref (r->curve_charts);
  r->curve_charts = g_ptr_array_new_with_free_func (curve_chart_free);
  for (guint i = 0; i < r->sections->len; i++)
    {
      const LfRptSection *s = r->sections->pdata[i];
      for (int k = 0; k < LF_RPT_N_CURVES; k++)
        {
          int size[2] = { 0, 0 };
          char *b64 = lf_rpt_chart_curve (s, (LfRptCurveKind) k, size, error);
          if (b64 == NULL)
            {
              if (error != NULL && *error != NULL)
                return FALSE;
              continue;
            }
          LfRptCurveChart *ch = g_new0 (LfRptCurveChart, 1);
          ch->section = i;
          ch->kind = (LfRptCurveKind) k;
          ch->file = g_strdup_printf ("%s-%s.png", curve_info[k].name, s->anchor);
          ch->b64 = b64;
          gsize len = 0;
          guchar *png = g_base64_decode (b64, &len);
          ch->png = g_bytes_new_take (png, len);
          ch->size[0] = size[0];
          ch->size[1] = size[1];
          g_ptr_array_add (r->curve_charts, ch);
        }
    }
  return TRUE;
}

GPtrArray *
lf_rpt_curve_problems (const LfReport *r)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < r->cells->len; i++)
    {
      const LfRptCell *c = r->cells->pdata[i];
      for (guint k = 0; c->curve_problems && k < c->curve_problems->len; k++)
        g_ptr_array_add (out, g_strdup_printf ("%s seed %" G_GINT64_FORMAT ": %s", c->method, c->seed,
                                               (const char *) c->curve_problems->pdata[k]));
    }
  return out;
}

/* A CSV field, quoted when it needs to be (RFC 4180). */
static void
csv_field (GString *o, const char *t)
{
  if (strpbrk (t, ",\"\n\r") == NULL)
    {
      g_string_append (o, t);
      return;
    }
  g_string_append_c (o, '"');
  for (const char *p = t; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (o, '"');
      g_string_append_c (o, *p);
    }
  g_string_append_c (o, '"');
}

static void
csv_num (GString *o, double v)
{
  if (isfinite (v))
    g_string_append_printf (o, ",%.9g", v);
  else
    g_string_append_c (o, ',');
}

char *
lf_rpt_write_curves_csv (const LfReport *r)
{
  GString *o = g_string_new ("scenario,dataset,model,method,strategy,curve,x,mean,min,max,seeds\n");
  gboolean any = FALSE;
  for (guint i = 0; i < r->sections->len; i++)
    {
      const LfRptSection *s = r->sections->pdata[i];
      for (int k = 0; k < LF_RPT_N_CURVES; k++)
        for (guint q = 0; q < s->methods->len; q++)
          {
            const LfRptMethod *m = s->methods->pdata[q];
            for (guint j = 0; m->curve[k] && j < m->curve[k]->len; j++)
              {
                const LfRptCurvePoint *p = &g_array_index (m->curve[k], LfRptCurvePoint, j);
                const char *fields[] = { s->scenario, s->dataset, s->model, m->name, m->strategy,
                                         curve_info[k].name };
                for (guint f = 0; f < G_N_ELEMENTS (fields); f++)
                  {
                    if (f)
                      g_string_append_c (o, ',');
                    csv_field (o, fields[f] ? fields[f] : "");
                  }
                g_string_append_printf (o, ",%.9g", p->x);
                csv_num (o, p->mean);
                csv_num (o, p->min);
                csv_num (o, p->max);
                g_string_append_printf (o, ",%d\n", p->n);
                any = TRUE;
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
