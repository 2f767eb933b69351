/* lifelong — the charts of `lifelong report`, drawn with Cairo into PNGs in
 * memory and returned as base64 for data URIs: accuracy-matrix heatmaps,
 * accuracy over seen experiences, forgetting bars, training-loss curves,
 * accuracy against time and memory, and the critical-difference diagram.
 * docs/report.md says how to read each one. */
#include "report.h"
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Drawn at twice the size shown, so text stays sharp on dense screens
 * (the HTML sets the displayed width). */
#define CHART_SCALE 2.0
#define FONT "sans-serif"

void
lf_rpt_charts_release (void)
{
  cairo_debug_reset_static_data ();
  FcFini ();   /* the patterns cairo's toy fonts resolved through fontconfig */
}

/* ---- palette -------------------------------------------------------------- */

/* Okabe & Ito's colour-blind-safe set, its yellow last (the palest on
 * white); the ninth method and beyond reuse it with another dash pattern
 * and marker. */
static const unsigned palette[] = { 0x0072b2, 0xe69f00, 0x009e73, 0xd55e00, 0xcc79a7, 0x56b4e9, 0x000000,
                                    0xf0e442 };
#define N_PALETTE ((int) G_N_ELEMENTS (palette))

void
lf_rpt_colour (int i, double rgb[3])
{
  unsigned c = palette[((i % N_PALETTE) + N_PALETTE) % N_PALETTE];
  rgb[0] = ((c >> 16) & 0xff) / 255.0;
  rgb[1] = ((c >> 8) & 0xff) / 255.0;
  rgb[2] = (c & 0xff) / 255.0;
}

void
lf_rpt_colour_hex (int i, char out[8])
{
  snprintf (out, 8, "#%06x", palette[((i % N_PALETTE) + N_PALETTE) % N_PALETTE]);
}

static int
style_variant (int i)
{
  return (i / N_PALETTE) % 4;
}

static void
set_colour (cairo_t *cr, int i)
{
  double c[3];
  lf_rpt_colour (i, c);
  cairo_set_source_rgb (cr, c[0], c[1], c[2]);
}

static void
set_dash (cairo_t *cr, int i)
{
  static const double d1[] = { 7, 3 }, d2[] = { 2, 2 }, d3[] = { 8, 3, 2, 3 };
  switch (style_variant (i))
    {
    case 1: cairo_set_dash (cr, d1, 2, 0); break;
    case 2: cairo_set_dash (cr, d2, 2, 0); break;
    case 3: cairo_set_dash (cr, d3, 4, 0); break;
    default: cairo_set_dash (cr, NULL, 0, 0); break;
    }
}

/* A filled marker: circle, square, triangle or diamond by style variant. */
static void
marker (cairo_t *cr, int i, double x, double y, double r)
{
  cairo_new_sub_path (cr);
  switch (style_variant (i))
    {
    case 1: cairo_rectangle (cr, x - r * 0.85, y - r * 0.85, r * 1.7, r * 1.7); break;
    case 2:
      cairo_move_to (cr, x, y - r * 1.1);
      cairo_line_to (cr, x + r, y + r * 0.8);
      cairo_line_to (cr, x - r, y + r * 0.8);
      cairo_close_path (cr);
      break;
    case 3:
      cairo_move_to (cr, x, y - r * 1.2);
      cairo_line_to (cr, x + r, y);
      cairo_line_to (cr, x, y + r * 1.2);
      cairo_line_to (cr, x - r, y);
      cairo_close_path (cr);
      break;
    default: cairo_arc (cr, x, y, r, 0, 2 * G_PI); break;
    }
  cairo_fill (cr);
}

/* Viridis (perceptually uniform, colour-blind-safe) at t in [0, 1]. */
static void
viridis (double t, double rgb[3])
{
  static const unsigned char v[11][3] = {
    { 68, 1, 84 }, { 72, 36, 117 }, { 65, 68, 135 }, { 53, 95, 141 }, { 42, 120, 142 },
    { 33, 145, 140 }, { 34, 168, 132 }, { 68, 191, 112 }, { 122, 209, 81 }, { 189, 223, 38 },
    { 253, 231, 37 } };
  t = isfinite (t) ? CLAMP (t, 0.0, 1.0) : 0.0;
  double f = t * 10;
  int a = (int) floor (f);
  if (a >= 10)
    a = 9;
  double u = f - a;
  for (int c = 0; c < 3; c++)
    rgb[c] = ((1 - u) * v[a][c] + u * v[a + 1][c]) / 255.0;
}

/* ---- text ------------------------------------------------------------------ */

static void
font (cairo_t *cr, double size, gboolean bold)
{
  cairo_select_font_face (cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                          bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, size);
}

static double
text_width (cairo_t *cr, const char *s)
{
  cairo_text_extents_t e;
  cairo_text_extents (cr, s, &e);
  return e.x_advance;
}

/* Draws s with (x, y) at its horizontal fraction ha (0 left, 0.5 centre,
 * 1 right) and vertical fraction va (0 top, 0.5 middle, 1 bottom), in the
 * current font. */
static void
text (cairo_t *cr, double x, double y, const char *s, double ha, double va)
{
  cairo_text_extents_t e;
  cairo_font_extents_t fe;
  cairo_text_extents (cr, s, &e);
  cairo_font_extents (cr, &fe);
  double h = fe.ascent + fe.descent;
  cairo_move_to (cr, x - ha * e.x_advance, y + fe.ascent - va * h);
  cairo_show_text (cr, s);
}

/* The same, turned a quarter to the left (for a y-axis label). */
static void
text_vertical (cairo_t *cr, double x, double y, const char *s)
{
  cairo_save (cr);
  cairo_translate (cr, x, y);
  cairo_rotate (cr, -G_PI / 2);
  text (cr, 0, 0, s, 0.5, 0.5);
  cairo_restore (cr);
}

/* ---- a chart: surface, plot area, scales ---------------------------------- */

typedef struct {
  cairo_surface_t *surface;
  cairo_t *cr;
  double w, h;                         /* logical size                       */
  double left, top, right, bottom;     /* the plot area's edges              */
  double xmin, xmax, ymin, ymax;       /* the data range shown               */
  gboolean xlog, ylog;                 /* logarithmic axes (ranges > 0)      */
} Chart;

static void
chart_begin (Chart *c, double w, double h)
{
  memset (c, 0, sizeof *c);
  c->w = w;
  c->h = h;
  c->surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, (int) (w * CHART_SCALE),
                                           (int) (h * CHART_SCALE));
  c->cr = cairo_create (c->surface);
  cairo_scale (c->cr, CHART_SCALE, CHART_SCALE);
  cairo_set_source_rgb (c->cr, 1, 1, 1);
  cairo_paint (c->cr);
  cairo_set_line_join (c->cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap (c->cr, CAIRO_LINE_CAP_ROUND);
}

static cairo_status_t
png_to_bytes (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append ((GByteArray *) closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

/* Ends the chart: its PNG as base64 (NULL and error set if Cairo failed);
 * size gets the displayed width and height. */
static char *
chart_finish (Chart *c, int size[2], GError **error)
{
  size[0] = (int) c->w;
  size[1] = (int) c->h;
  cairo_status_t st = cairo_status (c->cr);
  cairo_destroy (c->cr);
  cairo_surface_flush (c->surface);
  g_autoptr (GByteArray) png = g_byte_array_new ();
  if (st == CAIRO_STATUS_SUCCESS)
    st = cairo_surface_write_to_png_stream (c->surface, png_to_bytes, png);
  cairo_surface_destroy (c->surface);
  if (st != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "drawing a chart failed: %s",
                   cairo_status_to_string (st));
      return NULL;
    }
  return g_base64_encode (png->data, png->len);
}

static double
chart_x (const Chart *c, double x)
{
  double lo = c->xmin, hi = c->xmax;
  if (c->xlog)
    {
      x = log10 (x);
      lo = log10 (lo);
      hi = log10 (hi);
    }
  return c->left + (x - lo) / (hi - lo) * (c->right - c->left);
}

static double
chart_y (const Chart *c, double y)
{
  double lo = c->ymin, hi = c->ymax;
  if (c->ylog)
    {
      y = log10 (y);
      lo = log10 (lo);
      hi = log10 (hi);
    }
  return c->bottom - (y - lo) / (hi - lo) * (c->bottom - c->top);
}

/* Log-axis ticks: 1, 2 and 5 times each power of ten within [lo, hi];
 * returns how many were written to v (at most n); major[k] for powers. */
static int
log_ticks (double lo, double hi, double *v, gboolean *major, int n)
{
  int k = 0;
  for (double e = floor (log10 (lo)); e <= ceil (log10 (hi)) && k < n; e++)
    for (int q = 0; q < 3 && k < n; q++)
      {
        static const double mult[] = { 1, 2, 5 };
        double t = mult[q] * pow (10, e);
        if (t < lo * (1 - 1e-9) || t > hi * (1 + 1e-9))
          continue;
        major[k] = q == 0;
        v[k++] = t;
      }
  return k;
}

/* Powers of ten around [lo, hi] (lo > 0). */
static void
log_range (double *lo, double *hi)
{
  *lo = pow (10, floor (log10 (*lo)));
  *hi = pow (10, ceil (log10 (*hi)));
  if (!(*hi > *lo))
    *hi = *lo * 10;
}

/* A round tick step giving about `target` ticks over [lo, hi]. */
static double
nice_step (double lo, double hi, int target)
{
  double raw = (hi - lo) / target;
  if (!(raw > 0) || !isfinite (raw))
    return 1;
  double mag = pow (10, floor (log10 (raw)));
  double n = raw / mag;
  return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
}

/* Widens [*lo, *hi] to whole steps (and a degenerate range to a unit one). */
static void
nice_range (double *lo, double *hi, int target)
{
  if (!(*hi > *lo))
    {
      double d = fabs (*lo) > 0 ? fabs (*lo) * 0.1 : 0.5;
      *lo -= d;
      *hi += d;
    }
  double s = nice_step (*lo, *hi, target);
  *lo = floor (*lo / s + 1e-9) * s;
  *hi = ceil (*hi / s - 1e-9) * s;
}

static void
tick_label (char *buf, size_t n, double v, double step)
{
  int dec = step >= 1 ? 0 : (int) ceil (-log10 (step) - 1e-9);
  if (fabs (v) < step * 1e-9)
    v = 0;
  if (fabs (v) >= 1e6 || (v != 0 && fabs (v) < 1e-4))
    snprintf (buf, n, "%.3g", v);
  else
    snprintf (buf, n, "%.*f", CLAMP (dec, 0, 6), v);
}

/* Horizontal grid lines and their labels every ys over a linear y axis. */
static void
y_grid (Chart *c, double ys)
{
  cairo_t *cr = c->cr;
  char buf[64];
  cairo_set_line_width (cr, 1);
  font (cr, 11, FALSE);
  for (double v = ceil (c->ymin / ys - 1e-9) * ys; v <= c->ymax + ys * 1e-9; v += ys)
    {
      double y = chart_y (c, v);
      cairo_set_source_rgb (cr, 0.88, 0.88, 0.88);
      cairo_move_to (cr, c->left, y);
      cairo_line_to (cr, c->right, y);
      cairo_stroke (cr);
      cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
      tick_label (buf, sizeof buf, v, ys);
      text (cr, c->left - 6, y, buf, 1, 0.5);
    }
}

/* Title, grid, ticks and axis labels.  x_integer: x ticks only at whole
 * numbers (experience indices). */
static void
chart_frame (Chart *c, const char *title, const char *xlabel, const char *ylabel, gboolean x_integer)
{
  cairo_t *cr = c->cr;
  char buf[64];
  cairo_set_line_width (cr, 1);
  double tv[64];
  gboolean major[64];
  /* y grid and ticks */
  font (cr, 11, FALSE);
  if (c->ylog)
    {
      int n = log_ticks (c->ymin, c->ymax, tv, major, 64);
      for (int k = 0; k < n; k++)
        {
          double y = chart_y (c, tv[k]), g = major[k] ? 0.82 : 0.92;
          cairo_set_source_rgb (cr, g, g, g);
          cairo_move_to (cr, c->left, y);
          cairo_line_to (cr, c->right, y);
          cairo_stroke (cr);
          cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
          snprintf (buf, sizeof buf, "%g", tv[k]);
          text (cr, c->left - 6, y, buf, 1, 0.5);
        }
    }
  else
    y_grid (c, nice_step (c->ymin, c->ymax, 5));
  /* x grid and ticks */
  if (c->xlog)
    {
      int n = log_ticks (c->xmin, c->xmax, tv, major, 64);
      for (int k = 0; k < n; k++)
        {
          double x = chart_x (c, tv[k]), g = major[k] ? 0.82 : 0.92;
          cairo_set_source_rgb (cr, g, g, g);
          cairo_move_to (cr, x, c->top);
          cairo_line_to (cr, x, c->bottom);
          cairo_stroke (cr);
          cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
          snprintf (buf, sizeof buf, "%g", tv[k]);
          text (cr, x, c->bottom + 5, buf, 0.5, 0);
        }
    }
  else
    {
      double xs = nice_step (c->xmin, c->xmax, 6);
      if (x_integer && xs < 1)
        xs = 1;
      for (double v = ceil (c->xmin / xs - 1e-9) * xs; v <= c->xmax + xs * 1e-9; v += xs)
        {
          double x = chart_x (c, v);
          cairo_set_source_rgb (cr, 0.92, 0.92, 0.92);
          cairo_move_to (cr, x, c->top);
          cairo_line_to (cr, x, c->bottom);
          cairo_stroke (cr);
          cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
          tick_label (buf, sizeof buf, v, xs);
          text (cr, x, c->bottom + 5, buf, 0.5, 0);
        }
    }
  /* the box */
  cairo_set_source_rgb (cr, 0.35, 0.35, 0.35);
  cairo_rectangle (cr, c->left, c->top, c->right - c->left, c->bottom - c->top);
  cairo_stroke (cr);
  /* labels */
  cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
  font (cr, 12, FALSE);
  if (xlabel)
    text (cr, (c->left + c->right) / 2, c->bottom + 24, xlabel, 0.5, 0);
  if (ylabel)
    text_vertical (cr, 14, (c->top + c->bottom) / 2, ylabel);
  font (cr, 14, TRUE);
  if (title)
    text (cr, c->left, 10, title, 0, 0);
}

/* Which methods a chart shows. */
typedef gboolean (*MethodFilter) (const LfRptMethod *m);

static gboolean
has_matrix (const LfRptMethod *m)
{
  return m->R_mean != NULL;
}

static gboolean
has_loss (const LfRptMethod *m)
{
  return m->loss_step->len > 0;
}

/* The names of the methods the chart shows (shown[i] for method i), with
 * their line style, in a column right of the plot. */
static void
chart_legend_of (Chart *c, const LfRptSection *s, const gboolean *shown)
{
  cairo_t *cr = c->cr;
  font (cr, 11, FALSE);
  double y = c->top + 4;
  for (guint i = 0; i < s->methods->len; i++)
    {
      const LfRptMethod *m = s->methods->pdata[i];
      if (!shown[i])
        continue;
      double x = c->right + 14;
      set_colour (cr, m->colour);
      cairo_set_line_width (cr, 2);
      set_dash (cr, m->colour);
      cairo_move_to (cr, x, y + 7);
      cairo_line_to (cr, x + 22, y + 7);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      marker (cr, m->colour, x + 11, y + 7, 3.5);
      cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
      text (cr, x + 28, y + 7, m->name, 0, 0.5);
      y += 18;
    }
}

/* Room for the legend: the widest name shown plus the sample. */
static double
legend_width_of (Chart *c, const LfRptSection *s, const gboolean *shown)
{
  font (c->cr, 11, FALSE);
  double w = 0;
  for (guint i = 0; i < s->methods->len; i++)
    if (shown[i])
      w = MAX (w, text_width (c->cr, ((const LfRptMethod *) s->methods->pdata[i])->name));
  return MIN (w, 220) + 50;
}

/* shown[i]: filter (method i), for the two above (g_free it). */
static gboolean *
shown_by (const LfRptSection *s, MethodFilter filter)
{
  gboolean *shown = g_new0 (gboolean, MAX (s->methods->len, 1));
  for (guint i = 0; i < s->methods->len; i++)
    shown[i] = filter (s->methods->pdata[i]);
  return shown;
}

static void
chart_legend (Chart *c, const LfRptSection *s, MethodFilter filter)
{
  g_autofree gboolean *shown = shown_by (s, filter);
  chart_legend_of (c, s, shown);
}

static double
legend_width (Chart *c, const LfRptSection *s, MethodFilter filter)
{
  g_autofree gboolean *shown = shown_by (s, filter);
  return legend_width_of (c, s, shown);
}

static const char *
primary_name (const LfRptSection *s)
{
  return s->primary >= 0 ? s->metric_names->pdata[s->primary] : "score";
}

static gboolean
accuracy_like (const LfRptSection *s)
{
  return !s->kind_known || lf_matrix_kind_higher_is_better (s->kind);
}

/* ---- accuracy-matrix heatmap ---------------------------------------------- */

char *
lf_rpt_chart_heatmap (const LfRptSection *s, const LfRptMethod *m, int size[2], GError **error)
{
  if (m->R_mean == NULL)
    return NULL;
  const int64_t T = m->T, nr = m->n_rows;
  double cell = CLAMP (300.0 / (double) MAX (T, nr), 6.0, 44.0);
  double left = 64, top = 40;
  double w = left + cell * T + 90, h = top + cell * nr + 52;
  w = MAX (w, 300);
  Chart c;
  chart_begin (&c, w, h);
  cairo_t *cr = c.cr;
  /* colour scale: [0, 1] for fractions, the observed range for losses */
  double lo = 0, hi = 1;
  if (!accuracy_like (s))
    {
      lo = INFINITY;
      hi = -INFINITY;
      for (int64_t k = 0; k < nr * T; k++)
        if (isfinite (m->R_mean[k]))
          {
            lo = MIN (lo, m->R_mean[k]);
            hi = MAX (hi, m->R_mean[k]);
          }
      if (!(hi > lo))
        {
          lo = isfinite (lo) ? lo - 0.5 : 0;
          hi = lo + 1;
        }
    }
  char buf[64];
  font (cr, 10, FALSE);
  for (int64_t i = 0; i < nr; i++)
    for (int64_t j = 0; j < T; j++)
      {
        double v = m->R_mean[i * T + j], rgb[3];
        double x = left + j * cell, y = top + i * cell;
        if (isfinite (v))
          viridis ((v - lo) / (hi - lo), rgb);
        else
          rgb[0] = rgb[1] = rgb[2] = 0.86;
        cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
        cairo_rectangle (cr, x, y, cell, cell);
        cairo_fill (cr);
        if (cell >= 30)
          {
            double lum = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
            if (lum > 0.5)
              cairo_set_source_rgb (cr, 0, 0, 0);
            else
              cairo_set_source_rgb (cr, 1, 1, 1);
            if (isfinite (v))
              snprintf (buf, sizeof buf, fabs (v) < 10 ? "%.2f" : "%.3g", v);
            else
              snprintf (buf, sizeof buf, "–");
            text (cr, x + cell / 2, y + cell / 2, buf, 0.5, 0.5);
          }
      }
  /* axes: every experience when they fit, else every few */
  cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
  font (cr, 10, FALSE);
  int64_t every = (int64_t) ceil (14.0 / cell);
  for (int64_t j = 0; j < T; j += every)
    {
      snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, j);
      text (cr, left + (j + 0.5) * cell, top + nr * cell + 4, buf, 0.5, 0);
    }
  for (int64_t i = 0; i < nr; i += (nr > 1 ? every : 1))
    {
      snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, m->rows[i]);
      text (cr, left - 5, top + (i + 0.5) * cell, buf, 1, 0.5);
    }
  font (cr, 11, FALSE);
  cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
  text (cr, left + cell * T / 2, top + nr * cell + 20, "tested on experience j", 0.5, 0);
  text_vertical (cr, 14, top + nr * cell / 2, nr > 1 ? "trained through i" : "trained");
  font (cr, 13, TRUE);
  snprintf (buf, sizeof buf, "%s", m->name);
  text (cr, 8, 8, buf, 0, 0);
  font (cr, 11, FALSE);
  cairo_set_source_rgb (cr, 0.35, 0.35, 0.35);
  snprintf (buf, sizeof buf, "  mean of %d seed%s", m->n_matrices, m->n_matrices == 1 ? "" : "s");
  font (cr, 13, TRUE);
  double tw = text_width (cr, m->name);
  font (cr, 11, FALSE);
  text (cr, 8 + tw, 10, buf, 0, 0);
  /* colour bar */
  double bx = left + cell * T + 18, bh = MAX (cell * nr, 60), bw = 12;
  for (int k = 0; k < 100; k++)
    {
      double rgb[3];
      viridis (1 - (k + 0.5) / 100.0, rgb);
      cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
      cairo_rectangle (cr, bx, top + bh * k / 100.0, bw, bh / 100.0 + 0.5);
      cairo_fill (cr);
    }
  cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
  font (cr, 10, FALSE);
  snprintf (buf, sizeof buf, "%.3g", hi);
  text (cr, bx + bw + 4, top, buf, 0, 0);
  snprintf (buf, sizeof buf, "%.3g", lo);
  text (cr, bx + bw + 4, top + bh, buf, 0, 1);
  return chart_finish (&c, size, error);
}

/* ---- accuracy over seen experiences --------------------------------------- */

char *
lf_rpt_chart_seen_curves (const LfRptSection *s, int size[2], GError **error)
{
  int64_t T = 0;
  double ymax = -INFINITY, ymin = INFINITY;
  for (guint i = 0; i < s->methods->len; i++)
    {
      const LfRptMethod *m = s->methods->pdata[i];
      if (m->R_mean == NULL)
        continue;
      T = MAX (T, m->T);
      for (int64_t r = 0; r < m->n_rows; r++)
        if (isfinite (m->seen_mean[r]))
          {
            ymax = MAX (ymax, m->seen_mean[r]);
            ymin = MIN (ymin, m->seen_mean[r]);
          }
    }
  if (T == 0 || !isfinite (ymax))
    return NULL;
  Chart c;
  chart_begin (&c, 600, 360);
  c.left = 62;
  c.top = 36;
  c.right = c.w - legend_width (&c, s, has_matrix);
  c.bottom = c.h - 48;
  c.xmin = -0.25;
  c.xmax = (double) (T - 1) + 0.25;
  gboolean acc = accuracy_like (s);
  c.ymin = acc ? 0 : MIN (0, ymin);
  c.ymax = acc ? 1 : ymax;
  if (!acc)
    nice_range (&c.ymin, &c.ymax, 5);
  else if (ymin > 0.5)
    {
      /* every method above one half: show the top of the scale, where
       * they differ (the axis' numbers say so) */
      c.ymin = floor ((ymin - 0.02) * 20) / 20;
    }
  chart_frame (&c, acc ? "Accuracy on the experiences seen so far" : "Loss on the experiences seen so far",
               "after training through experience i", acc ? "mean accuracy over j ≤ i" : "mean loss over j ≤ i",
               TRUE);
  cairo_t *cr = c.cr;
  for (guint i = 0; i < s->methods->len; i++)
    {
      const LfRptMethod *m = s->methods->pdata[i];
      if (m->R_mean == NULL)
        continue;
      set_colour (cr, m->colour);
      set_dash (cr, m->colour);
      cairo_set_line_width (cr, 2);
      gboolean pen = FALSE;
      for (int64_t r = 0; r < m->n_rows; r++)
        {
          double v = m->seen_mean[r];
          if (!isfinite (v))
            {
              pen = FALSE;
              continue;
            }
          double x = chart_x (&c, (double) m->rows[r]), y = chart_y (&c, v);
          if (pen)
            cairo_line_to (cr, x, y);
          else
            cairo_move_to (cr, x, y);
          pen = TRUE;
        }
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      for (int64_t r = 0; r < m->n_rows; r++)
        if (isfinite (m->seen_mean[r]))
          marker (cr, m->colour, chart_x (&c, (double) m->rows[r]), chart_y (&c, m->seen_mean[r]), 3.5);
    }
  chart_legend (&c, s, has_matrix);
  return chart_finish (&c, size, error);
}

/* ---- curves a result carries (report-curves.c) ----------------------------- */

char *
lf_rpt_chart_curve (const LfRptSection *s, LfRptCurveKind k, int size[2], GError **error)
{
  const LfRptCurveInfo *info = lf_rpt_curve_info (k);
  g_autofree gboolean *shown = g_new0 (gboolean, MAX (s->methods->len, 1));
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  gboolean any = FALSE;
  for (guint i = 0; i < s->methods->len; i++)
    {
      const LfRptMethod *m = s->methods->pdata[i];
      for (guint j = 0; m->curve[k] && j < m->curve[k]->len; j++)
        {
          const LfRptCurvePoint *p = &g_array_index (m->curve[k], LfRptCurvePoint, j);
          /* the x axis spans every point, drawn or not (a null first row) */
          xmin = MIN (xmin, p->x);
          xmax = MAX (xmax, p->x);
          if (p->n == 0)
            continue;
          shown[i] = any = TRUE;
          ymin = MIN (ymin, p->min);
          ymax = MAX (ymax, p->max);
        }
    }
  if (!any)
    return NULL;
  Chart c;
  chart_begin (&c, 600, 360);
  c.left = 62;
  c.top = 36;
  c.right = c.w - legend_width_of (&c, s, shown);
  c.bottom = c.h - 48;
  if (info->x_experience)
    {
      c.xmin = xmin - 0.25;
      c.xmax = xmax + 0.25;
    }
  else
    {
      /* samples seen: from 0 (the stream's start) to the last point */
      c.xmin = 0;
      c.xmax = xmax > 0 ? xmax : 1;
      nice_range (&c.xmin, &c.xmax, 6);
    }
  /* accuracies and AUROC are fractions: [0, 1], or the top of it when
   * every seed is above one half (as the seen-experiences chart) */
  c.ymin = ymin > 0.5 ? floor ((ymin - 0.02) * 20) / 20 : 0;
  c.ymax = ymax > 1 ? ymax : 1;
  chart_frame (&c, info->title, info->xlabel, info->ylabel, info->x_experience);
  cairo_t *cr = c.cr;
  /* the seeds' range first, as a pale band under every line */
  for (guint i = 0; i < s->methods->len; i++)
    {
      const LfRptMethod *m = s->methods->pdata[i];
      if (!shown[i])
        continue;
      double rgb[3];
      lf_rpt_colour (m->colour, rgb);
      cairo_set_source_rgba (cr, rgb[0], rgb[1], rgb[2], 0.18);
      /* each run of points with a value: along the max, back along the min */
      guint len = m->curve[k]->len;
      for (guint a = 0; a < len;)
        {
          const LfRptCurvePoint *pts = (const LfRptCurvePoint *) (void *) m->curve[k]->data;
          if (pts[a].n == 0)
            {
              a++;
              continue;
            }
          guint b = a;
          while (b + 1 < len && pts[b + 1].n > 0)
            b++;
          if (b > a)
            {
              cairo_new_path (cr);
              for (guint j = a; j <= b; j++)
                cairo_line_to (cr, chart_x (&c, pts[j].x), chart_y (&c, pts[j].max));
              for (guint j = b + 1; j-- > a;)
                cairo_line_to (cr, chart_x (&c, pts[j].x), chart_y (&c, pts[j].min));
              cairo_close_path (cr);
              cairo_fill (cr);
            }
          a = b + 1;
        }
    }
  for (guint i = 0; i < s->methods->len; i++)
    {
      const LfRptMethod *m = s->methods->pdata[i];
      if (!shown[i])
        continue;
      const LfRptCurvePoint *pts = (const LfRptCurvePoint *) (void *) m->curve[k]->data;
      guint len = m->curve[k]->len;
      set_colour (cr, m->colour);
      set_dash (cr, m->colour);
      cairo_set_line_width (cr, 2);
      gboolean pen = FALSE;
      for (guint j = 0; j < len; j++)
        {
          if (pts[j].n == 0)
            {
              pen = FALSE;
              continue;
            }
          double x = chart_x (&c, pts[j].x), y = chart_y (&c, pts[j].mean);
          if (pen)
            cairo_line_to (cr, x, y);
          else
            cairo_move_to (cr, x, y);
          pen = TRUE;
        }
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      /* markers where they do not merge into a line */
      if (len <= 40)
        for (guint j = 0; j < len; j++)
          if (pts[j].n > 0)
            marker (cr, m->colour, chart_x (&c, pts[j].x), chart_y (&c, pts[j].mean), 3);
    }
  chart_legend_of (&c, s, shown);
  return chart_finish (&c, size, error);
}

/* ---- forgetting bars ------------------------------------------------------- */

static int
metric_index (const LfRptSection *s, const char *name)
{
  for (guint i = 0; i < s->metric_names->len; i++)
    if (strcmp (s->metric_names->pdata[i], name) == 0)
      return (int) i;
  return -1;
}

char *
lf_rpt_chart_forgetting (const LfRptSection *s, int size[2], GError **error)
{
  int k = metric_index (s, "average_forgetting");
  if (k < 0)
    return NULL;
  double lo = 0, hi = 0;
  gboolean any = FALSE;
  for (guint i = 0; i < s->methods->len; i++)
    {
      const LfRptStat *st = &((const LfRptMethod *) s->methods->pdata[i])->stats[k];
      if (!isfinite (st->mean))
        continue;
      any = TRUE;
      double e = isfinite (st->ci) ? st->ci : 0;
      lo = MIN (lo, st->mean - e);
      hi = MAX (hi, st->mean + e);
    }
  if (!any)
    return NULL;
  /* the methods with a result (a method with no result is in the tables) */
  g_autoptr (GPtrArray) shown = g_ptr_array_new ();
  for (guint i = 0; i < s->methods->len; i++)
    if (((const LfRptMethod *) s->methods->pdata[i])->n_ok > 0)
      g_ptr_array_add (shown, s->methods->pdata[i]);
  int n = (int) shown->len;
  Chart c;
  chart_begin (&c, CLAMP (100 + 62 * n, 420, 600), 360);
  cairo_t *cr = c.cr;
  /* method names under the bars, turned when they do not fit */
  font (cr, 11, FALSE);
  double slot_guess = (c.w - 90) / n, widest = 0;
  for (int i = 0; i < n; i++)
    widest = MAX (widest, text_width (cr, ((const LfRptMethod *) shown->pdata[i])->name));
  gboolean turn = widest > slot_guess - 6;
  c.left = 62;
  c.top = 36;
  c.right = c.w - 20;
  c.bottom = c.h - (turn ? 34 + MIN (widest, 140) * 0.71 : 48);
  c.xmin = 0;
  c.xmax = n;
  c.ymin = lo;
  c.ymax = hi;
  nice_range (&c.ymin, &c.ymax, 5);
  if (lo >= 0)
    c.ymin = 0;
  double ys = nice_step (c.ymin, c.ymax, 5);
  /* the frame without x ticks (categories) */
  y_grid (&c, ys);
  double slot = (c.right - c.left) / n, bw = MIN (slot * 0.6, 56);
  for (int i = 0; i < n; i++)
    {
      const LfRptMethod *m = shown->pdata[i];
      const LfRptStat *st = &m->stats[k];
      double xc = c.left + slot * (i + 0.5);
      if (isfinite (st->mean))
        {
          double y0 = chart_y (&c, 0), y1 = chart_y (&c, st->mean);
          set_colour (cr, m->colour);
          cairo_rectangle (cr, xc - bw / 2, MIN (y0, y1), bw, MAX (fabs (y1 - y0), 1));
          cairo_fill (cr);
          if (isfinite (st->ci) && st->ci > 0)
            {
              double ya = chart_y (&c, st->mean - st->ci), yb = chart_y (&c, st->mean + st->ci);
              cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
              cairo_set_line_width (cr, 1.5);
              cairo_move_to (cr, xc, ya);
              cairo_line_to (cr, xc, yb);
              cairo_move_to (cr, xc - 7, ya);
              cairo_line_to (cr, xc + 7, ya);
              cairo_move_to (cr, xc - 7, yb);
              cairo_line_to (cr, xc + 7, yb);
              cairo_stroke (cr);
            }
        }
      else
        {
          cairo_set_source_rgb (cr, 0.45, 0.45, 0.45);
          font (cr, 10, FALSE);
          text (cr, xc, chart_y (&c, 0) - 4, "n/a", 0.5, 1);
        }
      cairo_set_source_rgb (cr, 0.15, 0.15, 0.15);
      font (cr, 11, FALSE);
      if (turn)
        {
          cairo_save (cr);
          cairo_translate (cr, xc + 4, c.bottom + 6);
          cairo_rotate (cr, -G_PI / 4);
          text (cr, 0, 0, m->name, 1, 0.5);
          cairo_restore (cr);
        }
      else
        text (cr, xc, c.bottom + 6, m->name, 0.5, 0);
    }
  /* the zero line and the box */
  cairo_set_source_rgb (cr, 0.35, 0.35, 0.35);
  cairo_set_line_width (cr, 1);
  cairo_move_to (cr, c.left, chart_y (&c, 0));
  cairo_line_to (cr, c.right, chart_y (&c, 0));
  cairo_stroke (cr);
  cairo_rectangle (cr, c.left, c.top, c.right - c.left, c.bottom - c.top);
  cairo_stroke (cr);
  cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
  font (cr, 12, FALSE);
  text_vertical (cr, 14, (c.top + c.bottom) / 2,
                 accuracy_like (s) ? "average forgetting (lower is better)" : "rise in loss (lower is better)");
  font (cr, 14, TRUE);
  text (cr, c.left, 10, "Forgetting, mean and 95% CI over seeds", 0, 0);
  return chart_finish (&c, size, error);
}

/* ---- expert utilization ------------------------------------------------------ */

/* Expert x's colour: the palette, paler on each wrap (experts > 8). */
static void
expert_colour (int x, double rgb[3])
{
  lf_rpt_colour (x, rgb);
  double pale = 0.3 * ((x / N_PALETTE) % 3);
  for (int k = 0; k < 3; k++)
    rgb[k] += (1 - rgb[k]) * pale;
}

char *
lf_rpt_chart_utilization (const LfRptSection *s, const LfRptMethod *m, int size[2], GError **error)
{
  (void) s;
  if (m->util_mean == NULL)
    return NULL;
  const int64_t T = m->util_T, E = m->util_E;
  /* the tallest stack (1 for well-formed fractions) */
  double top = 1;
  for (int64_t e = 0; e < T; e++)
    {
      double sum = 0;
      for (int64_t x = 0; m->util_seeds[e] > 0 && x < E; x++)
        sum += m->util_mean[e * E + x];
      top = MAX (top, sum);
    }
  const int legend_rows = (int) MIN (E, 16);
  Chart c;
  chart_begin (&c, CLAMP (190 + 44 * (double) T, 420, 720), MAX (340, 110 + 18 * legend_rows));
  cairo_t *cr = c.cr;
  c.left = 62;
  c.top = 36;
  c.right = c.w - 110;
  c.bottom = c.h - 48;
  c.xmin = 0;
  c.xmax = (double) T;
  c.ymin = 0;
  c.ymax = top;
  nice_range (&c.ymin, &c.ymax, 5);
  c.ymin = 0;
  double ys = nice_step (c.ymin, c.ymax, 5);
  char buf[64];
  y_grid (&c, ys);
  double slot = (c.right - c.left) / (double) T, bw = MIN (slot * 0.7, 48);
  int label_every = (int) ceil (24.0 / slot);
  for (int64_t e = 0; e < T; e++)
    {
      double xc = c.left + slot * ((double) e + 0.5), acc = 0;
      if (m->util_seeds[e] > 0)
        for (int64_t x = 0; x < E; x++)
          {
            double f = m->util_mean[e * E + x];
            if (!(f > 0))
              continue;
            double rgb[3];
            expert_colour ((int) x, rgb);
            cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
            double y0 = chart_y (&c, acc), y1 = chart_y (&c, acc + f);
            cairo_rectangle (cr, xc - bw / 2, y1, bw, y0 - y1);
            cairo_fill (cr);
            acc += f;
          }
      else
        {
          cairo_set_source_rgb (cr, 0.45, 0.45, 0.45);
          font (cr, 10, FALSE);
          text (cr, xc, chart_y (&c, 0) - 4, "n/a", 0.5, 1);
        }
      if (e % label_every == 0)
        {
          cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
          font (cr, 11, FALSE);
          snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, e);
          text (cr, xc, c.bottom + 5, buf, 0.5, 0);
        }
    }
  cairo_set_source_rgb (cr, 0.35, 0.35, 0.35);
  cairo_rectangle (cr, c.left, c.top, c.right - c.left, c.bottom - c.top);
  cairo_stroke (cr);
  /* the legend: one swatch per expert (the first 16) */
  font (cr, 11, FALSE);
  for (int x = 0; x < legend_rows; x++)
    {
      double rgb[3], y = c.top + 4 + 18 * x;
      expert_colour (x, rgb);
      cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
      cairo_rectangle (cr, c.right + 14, y + 1, 12, 12);
      cairo_fill (cr);
      cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
      snprintf (buf, sizeof buf, "expert %d", x);
      text (cr, c.right + 32, y + 7, buf, 0, 0.5);
    }
  if (E > legend_rows)
    {
      snprintf (buf, sizeof buf, "+ %" G_GINT64_FORMAT " more", E - legend_rows);
      text (cr, c.right + 14, c.top + 11 + 18 * legend_rows, buf, 0, 0.5);
    }
  cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
  font (cr, 12, FALSE);
  text (cr, (c.left + c.right) / 2, c.bottom + 24, "experience", 0.5, 0);
  text_vertical (cr, 14, (c.top + c.bottom) / 2, "fraction of routed tokens");
  font (cr, 14, TRUE);
  g_autofree char *title = g_strdup_printf ("%s: expert utilization", m->name);
  text (cr, c.left, 10, title, 0, 0);
  return chart_finish (&c, size, error);
}

/* ---- training loss --------------------------------------------------------- */

char *
lf_rpt_chart_loss (const LfRptSection *s, int size[2], GError **error)
{
  double xmax = 0, ymax = -INFINITY, ymin = INFINITY;
  for (guint i = 0; i < s->methods->len; i++)
    {
      const LfRptMethod *m = s->methods->pdata[i];
      for (guint k = 0; k < m->loss_step->len; k++)
        {
          double v = g_array_index (m->loss_mean, double, k);
          xmax = MAX (xmax, g_array_index (m->loss_step, double, k));
          ymax = MAX (ymax, v);
          ymin = MIN (ymin, v);
        }
    }
  if (!isfinite (ymax))
    return NULL;
  Chart c;
  chart_begin (&c, 600, 360);
  c.left = 62;
  c.top = 36;
  c.right = c.w - legend_width (&c, s, has_loss);
  c.bottom = c.h - 48;
  c.xmin = 0;
  c.xmax = MAX (xmax, 1);
  nice_range (&c.xmin, &c.xmax, 6);
  /* a logarithmic loss axis when the loss spans more than a decade and a
   * half: the spikes at experience boundaries would flatten the rest */
  c.ylog = ymin > 0 && ymax / ymin > 30;
  c.ymin = c.ylog ? ymin : MIN (0, ymin);
  c.ymax = ymax;
  if (c.ylog)
    log_range (&c.ymin, &c.ymax);
  else
    nice_range (&c.ymin, &c.ymax, 5);
  chart_frame (&c, "Training loss, mean over seeds", "step", c.ylog ? "loss (log scale)" : "loss", FALSE);
  cairo_t *cr = c.cr;
  cairo_save (cr);
  cairo_rectangle (cr, c.left, c.top, c.right - c.left, c.bottom - c.top);
  cairo_clip (cr);
  for (guint i = 0; i < s->methods->len; i++)
    {
      const LfRptMethod *m = s->methods->pdata[i];
      if (m->loss_step->len == 0)
        continue;
      set_colour (cr, m->colour);
      set_dash (cr, m->colour);
      cairo_set_line_width (cr, 1.6);
      for (guint k = 0; k < m->loss_step->len; k++)
        {
          double x = chart_x (&c, g_array_index (m->loss_step, double, k));
          double y = chart_y (&c, g_array_index (m->loss_mean, double, k));
          if (k == 0)
            cairo_move_to (cr, x, y);
          else
            cairo_line_to (cr, x, y);
        }
      if (m->loss_step->len == 1)
        marker (cr, m->colour, chart_x (&c, g_array_index (m->loss_step, double, 0)),
                chart_y (&c, g_array_index (m->loss_mean, double, 0)), 3);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
    }
  cairo_restore (cr);
  chart_legend (&c, s, has_loss);
  return chart_finish (&c, size, error);
}

/* ---- score against wall time or memory ------------------------------------- */

char *
lf_rpt_chart_scatter (const LfRptSection *s, int which, int size[2], GError **error)
{
  if (s->primary < 0)
    return NULL;
  int n = (int) s->methods->len;
  g_autofree double *xs = g_new (double, n);
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (int i = 0; i < n; i++)
    {
      const LfRptMethod *m = s->methods->pdata[i];
      const LfRptStat *st = &m->stats[s->primary];
      xs[i] = which == 0 ? m->wall_s.mean : m->peak_rss.mean / (1024.0 * 1024.0);
      if (!isfinite (xs[i]) || !isfinite (st->mean))
        {
          xs[i] = NAN;
          continue;
        }
      double e = isfinite (st->ci) ? st->ci : 0;
      xlo = MIN (xlo, xs[i]);
      xhi = MAX (xhi, xs[i]);
      ylo = MIN (ylo, st->mean - e);
      yhi = MAX (yhi, st->mean + e);
    }
  if (!isfinite (xlo))
    return NULL;
  Chart c;
  chart_begin (&c, 600, 360);
  cairo_t *cr = c.cr;
  c.left = 62;
  c.top = 36;
  c.bottom = c.h - 48;
  c.right = c.w - 20;
  /* the data's own range (a memory axis from 0 would squeeze every point
   * into its right end), logarithmic when it spans more than 30x */
  c.xlog = xlo > 0 && xhi / xlo > 30;
  if (c.xlog)
    {
      c.xmin = xlo;
      c.xmax = xhi;
      log_range (&c.xmin, &c.xmax);
    }
  else
    {
      double pad = xhi > xlo ? (xhi - xlo) * 0.08 : (xlo > 0 ? xlo * 0.1 : 1);
      c.xmin = xlo - pad;
      c.xmax = xhi + pad;
      if (xlo >= 0)
        c.xmin = MAX (c.xmin, 0);
      nice_range (&c.xmin, &c.xmax, 6);
    }
  c.ymin = ylo;
  c.ymax = yhi;
  nice_range (&c.ymin, &c.ymax, 5);
  if (accuracy_like (s))
    {
      c.ymin = MAX (c.ymin, 0);
      c.ymax = MIN (c.ymax, 1);
      if (!(c.ymax > c.ymin))
        {
          c.ymin = 0;
          c.ymax = 1;
        }
    }
  char ylabel[96];
  snprintf (ylabel, sizeof ylabel, "%s (%s is better)", primary_name (s),
            accuracy_like (s) ? "higher" : "lower");
  chart_frame (&c, which == 0 ? "Score against wall time" : "Score against peak memory",
               which == 0 ? "wall time per run (s)" : "peak resident memory (MiB)", ylabel, FALSE);
  /* the points and whiskers first, then the names where they collide with
   * nothing drawn so far */
  g_autofree double *boxes = g_new (double, 4 * 2 * n);   /* x0 y0 x1 y1 */
  int n_boxes = 0;
  cairo_save (cr);
  cairo_rectangle (cr, c.left, c.top, c.right - c.left, c.bottom - c.top);
  cairo_clip (cr);   /* a whisker past [0, 1] stops at the frame */
  for (int i = 0; i < n; i++)
    {
      if (!isfinite (xs[i]))
        continue;
      const LfRptMethod *m = s->methods->pdata[i];
      const LfRptStat *st = &m->stats[s->primary];
      double x = chart_x (&c, xs[i]), y = chart_y (&c, st->mean);
      set_colour (cr, m->colour);
      if (isfinite (st->ci) && st->ci > 0)
        {
          cairo_set_line_width (cr, 1.5);
          cairo_move_to (cr, x, chart_y (&c, st->mean - st->ci));
          cairo_line_to (cr, x, chart_y (&c, st->mean + st->ci));
          cairo_stroke (cr);
        }
      marker (cr, m->colour, x, y, 5);
      double *b = &boxes[4 * n_boxes++];
      b[0] = x - 6;
      b[1] = y - 6;
      b[2] = x + 6;
      b[3] = y + 6;
    }
  cairo_restore (cr);
  font (cr, 11, FALSE);
  cairo_font_extents_t fe;
  cairo_font_extents (cr, &fe);
  const double th = fe.ascent + fe.descent;
  for (int i = 0; i < n; i++)
    {
      if (!isfinite (xs[i]))
        continue;
      const LfRptMethod *m = s->methods->pdata[i];
      double x = chart_x (&c, xs[i]), y = chart_y (&c, m->stats[s->primary].mean);
      double tw = text_width (cr, m->name);
      /* right, left, above, below, then the four corners */
      const double cand[8][2] = {
        { x + 8, y - th / 2 }, { x - 8 - tw, y - th / 2 }, { x - tw / 2, y - 8 - th }, { x - tw / 2, y + 8 },
        { x + 5, y - 5 - th }, { x + 5, y + 5 }, { x - 5 - tw, y - 5 - th }, { x - 5 - tw, y + 5 } };
      int pick = 0;
      for (int q = 0; q < 8; q++)
        {
          double x0 = cand[q][0], y0 = cand[q][1], x1 = x0 + tw, y1 = y0 + th;
          gboolean free = x0 >= c.left + 2 && x1 <= c.w - 2 && y0 >= c.top && y1 <= c.bottom;
          for (int b = 0; b < n_boxes && free; b++)
            if (x0 < boxes[4 * b + 2] && x1 > boxes[4 * b] && y0 < boxes[4 * b + 3] && y1 > boxes[4 * b + 1])
              free = FALSE;
          if (free)
            {
              pick = q;
              break;
            }
        }
      double *b = &boxes[4 * n_boxes++];
      b[0] = cand[pick][0];
      b[1] = cand[pick][1];
      b[2] = b[0] + tw;
      b[3] = b[1] + th;
      cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
      text (cr, cand[pick][0], cand[pick][1], m->name, 0, 0);
    }
  return chart_finish (&c, size, error);
}

/* ---- critical-difference diagram (Demšar 2006) ------------------------------ */

char *
lf_rpt_chart_cd (const LfReport *r, int size[2], GError **error)
{
  int k = (int) r->cd_methods->len;
  if (k < 2 || !isfinite (r->cd))
    return NULL;
  const double *rank = (const double *) (void *) r->cd_ranks->data;
  /* groups not significantly different: from each method, every later one
   * within CD; a group inside the previous one is not drawn again */
  int n_groups = 0;
  g_autofree int *g_from = g_new (int, k), *g_to = g_new (int, k);
  int last_to = -1;
  for (int i = 0; i < k; i++)
    {
      int j = i;
      while (j + 1 < k && rank[j + 1] - rank[i] < r->cd)
        j++;
      if (j > i && j > last_to)
        {
          g_from[n_groups] = i;
          g_to[n_groups] = j;
          n_groups++;
          last_to = j;
        }
    }
  int half = (k + 1) / 2;
  /* top to bottom: title, the CD interval, the axis label and ticks, the
   * axis, the group bars, the names */
  const double row = 20, cd_y = 44, axis_y = 100, groups_y = axis_y + 14;
  double first_label = groups_y + n_groups * 8 + 14;
  double h = first_label + MAX (half, k - half) * row + 16;
  Chart c;
  chart_begin (&c, 860, MAX (h, 160));
  cairo_t *cr = c.cr;
  /* room for the names on both sides */
  font (cr, 12, FALSE);
  double widest = 0;
  char buf[160];
  for (int i = 0; i < k; i++)
    {
      snprintf (buf, sizeof buf, "%s  %.2f", (const char *) r->cd_methods->pdata[i], rank[i]);
      widest = MAX (widest, text_width (cr, buf));
    }
  widest = MAX (MIN (widest, 260), 70);
  c.left = widest + 40;
  c.right = c.w - widest - 40;
  c.top = axis_y;
  c.bottom = axis_y;
  c.xmin = 1;
  c.xmax = MAX (k, 2);
  font (cr, 13, TRUE);
  cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
  text (cr, 10, 8, "Critical difference (Nemenyi, α = 0.05)", 0, 0);
  /* the axis: 1 (best) on the left */
  cairo_set_source_rgb (cr, 0.15, 0.15, 0.15);
  cairo_set_line_width (cr, 1.2);
  cairo_move_to (cr, c.left, axis_y);
  cairo_line_to (cr, c.right, axis_y);
  cairo_stroke (cr);
  font (cr, 11, FALSE);
  for (int t = 1; t <= (int) c.xmax; t++)
    {
      double x = chart_x (&c, t);
      cairo_move_to (cr, x, axis_y);
      cairo_line_to (cr, x, axis_y - 7);
      if (t < (int) c.xmax)
        {
          cairo_move_to (cr, chart_x (&c, t + 0.5), axis_y);
          cairo_line_to (cr, chart_x (&c, t + 0.5), axis_y - 4);
        }
      cairo_stroke (cr);
      snprintf (buf, sizeof buf, "%d", t);
      text (cr, x, axis_y - 10, buf, 0.5, 1);
    }
  cairo_set_source_rgb (cr, 0.35, 0.35, 0.35);
  text (cr, (c.left + c.right) / 2, axis_y - 28, "average rank (1 = best)", 0.5, 1);
  /* the CD interval, from rank 1; cut at the axis' end (with an arrow) when
   * it is wider than the whole axis */
  gboolean wider = r->cd > c.xmax - 1;
  double cd_x0 = chart_x (&c, 1), cd_x1 = chart_x (&c, wider ? c.xmax : 1 + r->cd);
  cairo_set_source_rgb (cr, 0.15, 0.15, 0.15);
  cairo_set_line_width (cr, 1.5);
  cairo_move_to (cr, cd_x0, cd_y);
  cairo_line_to (cr, cd_x1, cd_y);
  cairo_move_to (cr, cd_x0, cd_y - 5);
  cairo_line_to (cr, cd_x0, cd_y + 5);
  if (wider)
    {
      cairo_move_to (cr, cd_x1 - 7, cd_y - 4);
      cairo_line_to (cr, cd_x1, cd_y);
      cairo_line_to (cr, cd_x1 - 7, cd_y + 4);
    }
  else
    {
      cairo_move_to (cr, cd_x1, cd_y - 5);
      cairo_line_to (cr, cd_x1, cd_y + 5);
    }
  cairo_stroke (cr);
  snprintf (buf, sizeof buf, "CD = %.2f", r->cd);
  text (cr, cd_x0 - 8, cd_y, buf, 1, 0.5);
  if (wider)
    {
      cairo_set_source_rgb (cr, 0.35, 0.35, 0.35);
      text (cr, cd_x1 + 8, cd_y, "wider than the axis", 0, 0.5);
    }
  /* the groups */
  cairo_set_line_width (cr, 3);
  for (int g = 0; g < n_groups; g++)
    {
      double y = groups_y + g * 8;
      cairo_move_to (cr, chart_x (&c, rank[g_from[g]]) - 4, y);
      cairo_line_to (cr, chart_x (&c, rank[g_to[g]]) + 4, y);
      cairo_stroke (cr);
    }
  /* the methods: the better half on the left, the rest on the right */
  font (cr, 12, FALSE);
  cairo_set_line_width (cr, 1);
  for (int i = 0; i < k; i++)
    {
      const char *name = r->cd_methods->pdata[i];
      gboolean left = i < half;
      int slot = left ? i : k - 1 - i;
      double y = first_label + slot * row, x = chart_x (&c, rank[i]);
      int colour = 0;
      for (guint q = 0; q < r->method_order->len; q++)
        if (strcmp (r->method_order->pdata[q], name) == 0)
          colour = (int) q;
      cairo_set_source_rgb (cr, 0.25, 0.25, 0.25);
      cairo_move_to (cr, x, axis_y);
      cairo_line_to (cr, x, y);
      cairo_line_to (cr, left ? c.left - 10 : c.right + 10, y);
      cairo_stroke (cr);
      set_colour (cr, colour);
      cairo_arc (cr, x, axis_y, 3.5, 0, 2 * G_PI);
      cairo_fill (cr);
      cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
      if (left)
        snprintf (buf, sizeof buf, "%s  %.2f", name, rank[i]);
      else
        snprintf (buf, sizeof buf, "%.2f  %s", rank[i], name);
      text (cr, left ? c.left - 14 : c.right + 14, y, buf, left ? 1 : 0, 0.5);
    }
  return chart_finish (&c, size, error);
}
