/* lifelong plugin — strategy "head-expansion": the classifier grows with the
 * classes.  The model's head (a linear with one row per class) is replaced
 * by an expanding head: a linear with one row per class seen so far, whose
 * output is scattered into the n_classes logits the host expects, classes
 * not seen yet padded with a large negative constant (never predicted, no
 * gradient).  Before each experience, the classes it brings get new rows:
 * the old rows and biases are copied exactly, the new ones start from the
 * model's own initial rows for those classes; `freeze_old` freezes the old
 * rows through an optimizer mask. */
#include <lifelong/lifelong.h>
#include <inttypes.h>
#include <math.h>

/* State of the expanding head module (the module owns it). */
typedef struct {
  int64_t   n_classes;    /* C: logits the forward produces            */
  int64_t   width;        /* k: rows of the linear (classes seen)       */
  int32_t  *cls;          /* k: the class of row j (order of arrival)   */
  int32_t  *first_exp;    /* k: the experience that brought row j       */
  double    pad;
  gboolean  prefix;       /* cls[j] == j for every j: concatenation suffices */
  LfTensor *scatter;      /* (k, C) one-hot: row j -> column cls[j] (general order) */
  LfTensor *pad_row;      /* (C): 0 for a seen class, pad for the others */
  /* what evaluation saw in the unseen columns */
  int64_t   eval_rows, unseen_argmax;
  double    unseen_min, unseen_max;
} ExpandingHead;

typedef struct {
  LfModule *head;          /* borrowed: the expanding head, "head" */
  ExpandingHead   *hx;            /* its state */
  LfModule *orig;          /* the model's own head, detached: initial rows of new classes */
  gboolean  freeze_old;
  int64_t   growths;
  double    copy_max_abs_diff;
  GArray   *widths;        /* int64: width after each experience's growth */
  gboolean  have_rows0_hash;
  uint64_t  rows0_hash_after0;
} HeadExp;

static const LfParam headexp_params[] = {
  { "freeze_old", LF_PARAM_BOOL, "false", 0, 0, NULL,
    "freeze the rows (and bias entries) of classes from earlier experiences through an optimizer mask" },
  { "pad_logit", LF_PARAM_FLOAT, "-1e9", -1e15, -1, NULL,
    "the logit given to classes not seen yet (a constant: never predicted, no gradient)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

/* ---- the expanding head module --------------------------------------------- */

static void
headexp_head_free (void *p)
{
  ExpandingHead *h = p;
  g_free (h->cls);
  g_free (h->first_exp);
  lf_tensor_free (h->scatter);
  lf_tensor_free (h->pad_row);
  g_free (h);
}

/* Rebuilds the scatter matrix and the pad row after the rows changed. */
static void
headexp_head_layout (ExpandingHead *h)
{
  int64_t C = h->n_classes, k = h->width;
  h->prefix = TRUE;
  for (int64_t j = 0; j < k; j++)
    h->prefix &= h->cls[j] == j;
  lf_tensor_free (h->pad_row);
  h->pad_row = lf_tensor_new_owned (1, &C);
  lf_tensor_fill (h->pad_row, (LfReal) h->pad);
  for (int64_t j = 0; j < k; j++)
    lf_tensor_data (h->pad_row)[h->cls[j]] = 0;
  g_clear_pointer (&h->scatter, lf_tensor_free);
  if (!h->prefix)
    {
      int64_t s[2] = { k, C };
      h->scatter = lf_tensor_new_owned (2, s);
      lf_tensor_fill (h->scatter, 0);
      for (int64_t j = 0; j < k; j++)
        lf_tensor_data (h->scatter)[j * C + h->cls[j]] = 1;
    }
}

/* x: (n, d) -> logits (n, C): the linear's k outputs in their classes'
 * columns, pad elsewhere.  Classes 0..k-1 in order: [h | pad]; any other
 * order: h S + pad_row with S the one-hot (k, C) scatter (each output is one
 * h value times 1 plus zeros: exact). */
static LfTensor *
headexp_head_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  ExpandingHead *h = lf_module_state (m);
  LfTensor *y = lf_module_forward (lf_module_child (m, 0), x, fwd);
  int64_t n = lf_tensor_dim (y, 0), C = h->n_classes, k = h->width;
  LfTensor *logits;
  if (k == C && h->prefix)
    logits = y;
  else if (h->prefix)
    {
      int64_t s[2] = { n, C - k };
      LfTensor *pad = lf_tensor_new (2, s);
      lf_tensor_fill (pad, (LfReal) h->pad);
      LfTensor *parts[2] = { y, pad };
      logits = lf_concat (parts, 2, 1);
    }
  else
    logits = lf_add (lf_matmul (y, h->scatter), h->pad_row);
  if (!fwd->training && lf_tensor_ndim (logits) == 2)
    {
      /* evaluation: what the unseen columns hold, and whether one wins */
      const LfReal *L = lf_tensor_data (logits), *pr = lf_tensor_data (h->pad_row);
      for (int64_t i = 0; i < n; i++)
        {
          int64_t best = 0;
          for (int64_t c = 0; c < C; c++)
            {
              if (L[i * C + c] > L[i * C + best])
                best = c;
              if (pr[c] != 0)
                {
                  h->unseen_min = MIN (h->unseen_min, (double) L[i * C + c]);
                  h->unseen_max = MAX (h->unseen_max, (double) L[i * C + c]);
                }
            }
          h->unseen_argmax += pr[best] != 0;
        }
      h->eval_rows += n;
    }
  return logits;
}

static const LfModuleClass headexp_head_class = {
  .struct_size = sizeof (LfModuleClass),
  .type_name = "expanding-head",
  .forward = headexp_head_forward,
  .destroy_state = headexp_head_free,
};

/* ---- growing ------------------------------------------------------------------ */

/* The classes (sorted) of experience e's training samples that the head has
 * no row for yet. */
static GArray *
headexp_new_classes (HeadExp *x, LfStrategyCtx *ctx, int64_t e)
{
  int64_t n, C = x->hx->n_classes;
  const int64_t *ids = lf_ctx_experience_samples (ctx, e, &n);
  g_autofree int32_t *labels = g_new (int32_t, MAX (n, 1));
  lf_ctx_labels (ctx, ids, n, labels);
  g_autofree gboolean *seen = g_new0 (gboolean, C);
  for (int64_t j = 0; j < x->hx->width; j++)
    seen[x->hx->cls[j]] = TRUE;
  g_autofree gboolean *is_new = g_new0 (gboolean, C);
  for (int64_t i = 0; i < n; i++)
    if (labels[i] >= 0 && labels[i] < C && !seen[labels[i]])
      is_new[labels[i]] = TRUE;
  GArray *out = g_array_new (FALSE, FALSE, sizeof (int32_t));
  for (int32_t c = 0; c < C; c++)
    if (is_new[c])
      g_array_append_val (out, c);
  return out;
}

/* Gives the head rows for the classes in add (brought by experience e): a
 * new linear whose first rows are the old ones (copied bit for bit) and
 * whose new rows are the model's initial rows for those classes. */
static void
headexp_grow (HeadExp *x, const int32_t *add, int64_t n_add, int64_t e)
{
  ExpandingHead *h = x->hx;
  LfModule *old = lf_module_child (x->head, 0);
  LfTensor *ow = lf_module_param (old, "weight"), *ob = lf_module_param (old, "bias");
  LfTensor *iw = lf_module_param (x->orig, "weight"), *ib = lf_module_param (x->orig, "bias");
  int64_t k = h->width, d = lf_tensor_dim (ow, 1), k2 = k + n_add;
  LfModule *lin = lf_module_new_linear ("linear", d, k2, ob != NULL);
  LfTensor *nw = lf_module_param (lin, "weight"), *nb = lf_module_param (lin, "bias");
  memcpy (lf_tensor_data (nw), lf_tensor_data (ow), (size_t) (k * d) * sizeof (LfReal));
  if (nb)
    memcpy (lf_tensor_data (nb), lf_tensor_data (ob), (size_t) k * sizeof (LfReal));
  for (int64_t j = 0; j < n_add; j++)
    {
      memcpy (lf_tensor_data (nw) + (k + j) * d, lf_tensor_data (iw) + add[j] * d, (size_t) d * sizeof (LfReal));
      if (nb)
        lf_tensor_data (nb)[k + j] = ib ? lf_tensor_data (ib)[add[j]] : 0;
    }
  /* the defining property, measured: the old rows as the grown head has them */
  double diff = 0;
  for (int64_t i = 0; i < k * d; i++)
    diff = MAX (diff, fabs ((double) lf_tensor_data (nw)[i] - (double) lf_tensor_data (ow)[i]));
  for (int64_t i = 0; nb && i < k; i++)
    diff = MAX (diff, fabs ((double) lf_tensor_data (nb)[i] - (double) lf_tensor_data (ob)[i]));
  x->copy_max_abs_diff = MAX (x->copy_max_abs_diff, diff);
  h->cls = g_renew (int32_t, h->cls, k2);
  h->first_exp = g_renew (int32_t, h->first_exp, k2);
  for (int64_t j = 0; j < n_add; j++)
    {
      h->cls[k + j] = add[j];
      h->first_exp[k + j] = (int32_t) e;
    }
  h->width = k2;
  headexp_head_layout (h);
  lf_module_free (lf_module_replace (old, lin));
  x->growths++;
}

/* freeze_old: rows (and bias entries) of classes from earlier experiences
 * keep their values, moments included. */
static void
headexp_apply_mask (HeadExp *x, LfStrategyCtx *ctx, int64_t e)
{
  if (!x->freeze_old)
    return;
  LfModule *lin = lf_module_child (x->head, 0);
  LfTensor *w = lf_module_param (lin, "weight"), *b = lf_module_param (lin, "bias");
  int64_t k = x->hx->width, d = lf_tensor_dim (w, 1);
  g_autofree uint8_t *m = g_new (uint8_t, k * d);
  for (int64_t j = 0; j < k; j++)
    memset (m + j * d, x->hx->first_exp[j] >= e, (size_t) d);
  lf_optimizer_set_mask (lf_ctx_optimizer (ctx), w, m);
  if (b)
    {
      for (int64_t j = 0; j < k; j++)
        m[j] = x->hx->first_exp[j] >= e;
      lf_optimizer_set_mask (lf_ctx_optimizer (ctx), b, m);
    }
}

/* FNV-1a of the raw bytes of the rows (and bias entries) experience 0 brought. */
static uint64_t
headexp_rows0_hash (HeadExp *x)
{
  LfModule *lin = lf_module_child (x->head, 0);
  LfTensor *w = lf_module_param (lin, "weight"), *b = lf_module_param (lin, "bias");
  int64_t d = lf_tensor_dim (w, 1);
  uint64_t hash = 0xcbf29ce484222325u;
  for (int64_t j = 0; j < x->hx->width; j++)
    {
      if (x->hx->first_exp[j] != 0)
        continue;
      const unsigned char *p = (const unsigned char *) (lf_tensor_data (w) + j * d);
      for (size_t i = 0; i < (size_t) d * sizeof (LfReal); i++)
        hash = (hash ^ p[i]) * 0x100000001b3u;
      if (b)
        {
          p = (const unsigned char *) (lf_tensor_data (b) + j);
          for (size_t i = 0; i < sizeof (LfReal); i++)
            hash = (hash ^ p[i]) * 0x100000001b3u;
        }
    }
  return hash;
}

/* ---- hooks -------------------------------------------------------------------- */

static void
headexp_free (void *self)
{
  HeadExp *x = self;
  lf_module_free (x->orig);
  g_array_unref (x->widths);
  g_free (x);
}

static void *
headexp_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  LfModel *model = lf_ctx_model (ctx);
  const LfDataSpec *spec = lf_ctx_spec (ctx);
  LfModule *head = lf_module_find (lf_model_root (model), "head");
  LfTensor *w = head ? lf_module_param (head, "weight") : NULL;
  if (w == NULL || lf_module_class (head) != &lf_linear_class || lf_tensor_ndim (w) != 2
      || spec->n_classes <= 0 || lf_tensor_dim (w, 0) != spec->n_classes)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                   "strategy head-expansion: model %s has no \"head\" linear with one row per class "
                   "(%" G_GINT64_FORMAT " classes); one head per task is already per-experience",
                   lf_model_name (model), spec->n_classes);
      return NULL;
    }
  HeadExp *x = g_new0 (HeadExp, 1);
  x->freeze_old = lf_params_get_bool (p, "freeze_old");
  x->widths = g_array_new (FALSE, FALSE, sizeof (int64_t));
  ExpandingHead *h = g_new0 (ExpandingHead, 1);
  h->n_classes = spec->n_classes;
  h->pad = lf_params_get_float (p, "pad_logit");
  h->unseen_min = INFINITY;
  h->unseen_max = -INFINITY;
  /* an empty linear of zero rows cannot exist: start with experience 0's classes */
  LfModule *lin0 = lf_module_new_linear ("linear", lf_tensor_dim (w, 1), 1, lf_module_param (head, "bias") != NULL);
  LfModule *mod = lf_module_new ("head", LF_MODULE_HEAD, &headexp_head_class, h);
  lf_module_add_child (mod, lin0);
  x->orig = lf_module_replace (head, mod);
  x->head = mod;
  x->hx = h;
  g_autoptr (GArray) first = headexp_new_classes (x, ctx, 0);
  if (first->len == 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "strategy head-expansion: experience 0 has no labelled samples");
      headexp_free (x);
      return NULL;
    }
  /* the placeholder row is replaced: grow from zero rows */
  h->width = 0;
  headexp_grow (x, (const int32_t *) first->data, first->len, 0);
  x->growths = 0;   /* the first head is not a growth */
  return x;
}

static gboolean
headexp_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  HeadExp *x = self;
  int64_t e = lf_ctx_experience (ctx);
  g_autoptr (GArray) add = headexp_new_classes (x, ctx, e);
  if (add->len > 0)
    headexp_grow (x, (const int32_t *) add->data, add->len, e);
  headexp_apply_mask (x, ctx, e);
  g_array_set_size (x->widths, (guint) MAX (e, 0));
  g_array_append_val (x->widths, x->hx->width);
  return TRUE;
}

static gboolean
headexp_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  HeadExp *x = self;
  if (lf_ctx_experience (ctx) == 0)
    {
      x->rows0_hash_after0 = headexp_rows0_hash (x);
      x->have_rows0_hash = TRUE;
    }
  return TRUE;
}

static void
headexp_report (void *self, LfStrategyCtx *ctx)
{
  HeadExp *x = self;
  ExpandingHead *h = x->hx;
  g_autoptr (GString) w = g_string_new ("[");
  for (guint i = 0; i < x->widths->len; i++)
    g_string_append_printf (w, "%s%" G_GINT64_FORMAT, i ? ", " : "", g_array_index (x->widths, int64_t, i));
  g_string_append_c (w, ']');
  lf_ctx_report_json (ctx, "head_width", w->str);
  lf_ctx_report_number (ctx, "growths", (double) x->growths);
  lf_ctx_report_number (ctx, "copy_max_abs_diff", x->copy_max_abs_diff);
  lf_ctx_report_number (ctx, "pad_logit", h->pad);
  lf_ctx_report_number (ctx, "eval_rows", (double) h->eval_rows);
  lf_ctx_report_number (ctx, "unseen_predictions", (double) h->unseen_argmax);
  if (h->unseen_min <= h->unseen_max)
    {
      lf_ctx_report_number (ctx, "unseen_logit_min", h->unseen_min);
      lf_ctx_report_number (ctx, "unseen_logit_max", h->unseen_max);
    }
  if (x->have_rows0_hash)
    {
      char json[24];
      g_snprintf (json, sizeof json, "\"%016" PRIx64 "\"", x->rows0_hash_after0);
      lf_ctx_report_json (ctx, "rows0_hash_after_experience0", json);
      g_snprintf (json, sizeof json, "\"%016" PRIx64 "\"", headexp_rows0_hash (x));
      lf_ctx_report_json (ctx, "rows0_hash_final", json);
    }
}

static gboolean
headexp_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  HeadExp *x = self;
  lf_state_put_bytes (st, "classes", x->hx->cls, (size_t) x->hx->width * sizeof (int32_t));
  lf_state_put_bytes (st, "first_experience", x->hx->first_exp, (size_t) x->hx->width * sizeof (int32_t));
  lf_state_put_bytes (st, "widths", x->widths->data, x->widths->len * sizeof (int64_t));
  lf_state_put_int (st, "growths", x->growths);
  lf_state_put_int (st, "rows0_hash", (int64_t) x->rows0_hash_after0);
  lf_state_put_int (st, "have_rows0_hash", x->have_rows0_hash);
  /* a double's bits, so that the figure survives exactly */
  int64_t bits;
  memcpy (&bits, &x->copy_max_abs_diff, sizeof bits);
  lf_state_put_int (st, "copy_max_abs_diff_bits", bits);
  /* what evaluation saw so far */
  double seen[2] = { x->hx->unseen_min, x->hx->unseen_max };
  int64_t counts[2] = { x->hx->eval_rows, x->hx->unseen_argmax };
  lf_state_put_bytes (st, "unseen_range", seen, sizeof seen);
  lf_state_put_bytes (st, "eval_counts", counts, sizeof counts);
  return TRUE;
}

/* Rebuilds the head at the width it had (the checkpoint then restores its
 * values); the rows beyond experience 0's are grown in arrival order. */
static gboolean
headexp_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  HeadExp *x = self;
  ExpandingHead *h = x->hx;
  size_t nc = 0, nf = 0, nw = 0;
  const int32_t *cls = lf_state_get_bytes (st, "classes", &nc);
  const int32_t *fe = lf_state_get_bytes (st, "first_experience", &nf);
  const void *widths = lf_state_get_bytes (st, "widths", &nw);
  int64_t growths = 0, r0 = 0, have = 0, bits = 0;
  gboolean ok = cls && fe && widths && nc == nf && nc % sizeof (int32_t) == 0
                && nc / sizeof (int32_t) >= (size_t) h->width
                && lf_state_get_int (st, "growths", &growths) && lf_state_get_int (st, "rows0_hash", &r0)
                && lf_state_get_int (st, "have_rows0_hash", &have)
                && lf_state_get_int (st, "copy_max_abs_diff_bits", &bits);
  int64_t k = ok ? (int64_t) (nc / sizeof (int32_t)) : 0;
  for (int64_t j = 0; ok && j < k; j++)
    ok = cls[j] >= 0 && cls[j] < h->n_classes && (j >= h->width || cls[j] == h->cls[j]);
  if (!ok)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                   "strategy head-expansion: the checkpoint's head does not match this scenario's classes");
      return FALSE;
    }
  for (int64_t j = h->width; j < k;)
    {
      int64_t j2 = j;
      while (j2 < k && fe[j2] == fe[j])
        j2++;
      headexp_grow (x, cls + j, j2 - j, fe[j]);
      j = j2;
    }
  memcpy (h->first_exp, fe, nf);
  g_array_set_size (x->widths, 0);
  g_array_append_vals (x->widths, widths, (guint) (nw / sizeof (int64_t)));
  x->growths = growths;
  x->rows0_hash_after0 = (uint64_t) r0;
  x->have_rows0_hash = have != 0;
  memcpy (&x->copy_max_abs_diff, &bits, sizeof bits);
  size_t ns = 0, nk = 0;
  const double *seen = lf_state_get_bytes (st, "unseen_range", &ns);
  const int64_t *counts = lf_state_get_bytes (st, "eval_counts", &nk);
  if (seen && ns == 2 * sizeof (double) && counts && nk == 2 * sizeof (int64_t))
    {
      h->unseen_min = seen[0];
      h->unseen_max = seen[1];
      h->eval_rows = counts[0];
      h->unseen_argmax = counts[1];
    }
  headexp_apply_mask (x, ctx, lf_ctx_experience (ctx));
  return TRUE;
}

static size_t
headexp_memory_bytes (void *self)
{
  HeadExp *x = self;
  ExpandingHead *h = x->hx;
  size_t b = (size_t) lf_module_count_params (x->orig, "*", FALSE) * sizeof (LfReal)
           + (size_t) h->width * 2 * sizeof (int32_t) + (size_t) h->n_classes * sizeof (LfReal);
  if (h->scatter)
    b += (size_t) lf_tensor_numel (h->scatter) * sizeof (LfReal);
  return b;
}

static const LfStrategyVTable headexp_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = headexp_create,
  .destroy = headexp_free,
  .before_experience = headexp_before_experience,
  .after_experience = headexp_after_experience,
  .report = headexp_report,
  .save = headexp_save,
  .load = headexp_load,
  .memory_bytes = headexp_memory_bytes,
};

static const LfCapabilities headexp_caps = {
  .touches = LF_TOUCHES_STRUCTURE | LF_TOUCHES_OPTIMIZER,
  .needs = LF_NEEDS_BOUNDARIES | LF_NEEDS_LABELS,
  .supports = LF_SUPPORTS_CLASSIFICATION,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "head-expansion",
    .version = "0.1.0",
    .summary = "expanding classifier: one head row per class seen so far, grown at each experience with the old "
               "rows copied exactly, unseen classes padded with a constant logit (the incremental classifier of "
               "class-incremental learners, as Avalanche's IncrementalClassifier)",
    .params = headexp_params,
    .caps = &headexp_caps,
    .vtable = &headexp_vtable,
  };
  return &info;
}
