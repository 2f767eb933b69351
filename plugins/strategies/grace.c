/* lifelong plugin — strategy "grace": GRACE (Hartvigsen et al., NeurIPS
 * 2023, "Aging with GRACE: Lifelong Model Editing with Discrete Key-Value
 * Adaptors"), for the knowledge-editing scenario (docs/editing.md).
 *
 * A codebook (grace-codebook.c) sits at model.layers.L.mlp.down_proj: its
 * keys are the layer's input at the edit prompt's last token (the position
 * that predicts the answer's first token), its values replace the layer's
 * output.  The model's weights never change: a post-hook on the layer, at
 * every position of every sequence, looks the position's input up and, when
 * the nearest key is within its radius, puts that key's value in place of
 * the output there; other positions (and whole batches with no hit) are the
 * layer's output untouched.  An edit adds or updates an entry (GRACE's add /
 * expand / split rules) and trains its value, `steps` steps at `lr`, on the
 * edit's answer loss, everything else frozen. */
#include "ft-edit.h"
#include "grace-codebook.h"
#include <string.h>

static const LfParam grace_params[] = {
  { "layer", LF_PARAM_INT, "-1", -1, 100000, NULL,
    "the layer whose mlp.down_proj gets the codebook (-1: the middle one, layers / 2)" },
  { "steps", LF_PARAM_INT, "40", 0, 1000000, NULL,
    "optimizer steps training each edit's value (0: values stay the layer's own output)" },
  { "lr", LF_PARAM_FLOAT, "0.05", 0, 1e3, NULL,
    "learning rate of the value's steps (the optimizer is train.optimizer; 0: train.lr)" },
  { "eps_init", LF_PARAM_FLOAT, "1.0", 0, 1e9, NULL,
    "a new key's deferral radius (Euclidean, on the layer's input)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

typedef struct {
  FtEdit         ft;           /* layer, steps, lr (the fine-tuning editors' reading of them) */
  double         eps_init;
  GraceCodebook  cb;
  LfModule      *layer;        /* model.layers.L.mlp.down_proj */
  LfModule      *holder;       /* during an edit: the module holding the trained value */
  LfTensor      *value;        /* its parameter */
  int64_t        entry;        /* the entry the edit trains, or -1 */
  /* capturing the edit's key: the row to read, and what it read */
  gboolean       capturing;
  int64_t        capture_row;
  LfReal        *cap_key, *cap_out;
  GArray        *distances;    /* each edit's distance to the nearest earlier key */
} Grace;

/* ---- the replacement: y with the codebook's rows in place ---------------- */

typedef struct {
  int64_t        rows, vd, train_entry;
  const int32_t *idx;          /* per row: the entry replacing it, or -1 */
  const LfReal  *values;       /* the codebook's values */
} GraceOp;

static void
grace_op_forward (void *c, int n_in, LfTensor *const *in, LfTensor *out)
{
  GraceOp *o = c;
  LfReal *dst = lf_tensor_data (out);
  memcpy (dst, lf_tensor_data (in[0]), (size_t) (o->rows * o->vd) * sizeof (LfReal));
  for (int64_t r = 0; r < o->rows; r++)
    if (o->idx[r] >= 0)
      {
        const LfReal *src = n_in > 1 && o->idx[r] == o->train_entry ? lf_tensor_data (in[1])
                                                                     : o->values + o->idx[r] * o->vd;
        memcpy (dst + r * o->vd, src, (size_t) o->vd * sizeof (LfReal));
      }
}

static void
grace_op_backward (void *c, int n_in, LfTensor *const *in, LfTensor *out, const LfReal *g, LfReal *const *ig)
{
  (void) in; (void) out;
  GraceOp *o = c;
  for (int64_t r = 0; r < o->rows; r++)
    {
      LfReal *dst = NULL;   /* the untouched rows' gradient goes to y; a trained row's to the value */
      if (o->idx[r] < 0)
        dst = ig[0] ? ig[0] + r * o->vd : NULL;
      else if (n_in > 1 && o->idx[r] == o->train_entry)
        dst = ig[1];
      if (dst)
        for (int64_t j = 0; j < o->vd; j++)
          dst[j] += g[r * o->vd + j];
    }
}

static const LfCustomOp grace_op = {
  sizeof (LfCustomOp), "grace-replace", grace_op_forward, grace_op_backward,
};

static LfTensor *
grace_hook (LfModule *m, LfTensor *x, LfTensor *y, LfForward *fwd, void *user)
{
  (void) m; (void) fwd;
  Grace *s = user;
  int64_t kd = s->cb.key_dim, vd = s->cb.value_dim;
  int64_t rows = lf_tensor_numel (y) / vd;
  g_assert (lf_tensor_numel (x) == rows * kd);
  const LfReal *xd = lf_tensor_data (x);
  if (s->capturing)
    {
      g_assert (s->capture_row < rows);
      memcpy (s->cap_key, xd + s->capture_row * kd, (size_t) kd * sizeof (LfReal));
      memcpy (s->cap_out, lf_tensor_data (y) + s->capture_row * vd, (size_t) vd * sizeof (LfReal));
      return y;
    }
  if (s->cb.n == 0)
    return y;
  int32_t *idx = lf_scope_alloc ((size_t) rows * sizeof (int32_t));
  gboolean any = FALSE;
  for (int64_t r = 0; r < rows; r++)
    {
      idx[r] = (int32_t) grace_codebook_lookup (&s->cb, xd + r * kd);
      any |= idx[r] >= 0;
    }
  if (!any)
    return y;   /* bitwise the layer's output */
  GraceOp *o = lf_scope_alloc (sizeof *o);
  *o = (GraceOp) { rows, vd, s->value ? s->entry : -1, idx, s->cb.values };
  LfTensor *in[2] = { y, s->value };
  return lf_custom (&grace_op, o, s->value ? 2 : 1, in, lf_tensor_ndim (y), lf_tensor_shape (y));
}

/* ---- the strategy ---------------------------------------------------------- */

static void
grace_destroy (void *self)
{
  Grace *s = self;
  if (s->holder)
    {
      lf_module_detach (s->holder);
      lf_module_free (s->holder);
    }
  grace_codebook_clear (&s->cb);
  ft_edit_clear (&s->ft);
  g_free (s->cap_key);
  g_free (s->cap_out);
  if (s->distances)
    g_array_unref (s->distances);
  g_free (s);
}

static void *
grace_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  Grace *s = g_new0 (Grace, 1);
  s->entry = -1;
  s->distances = g_array_new (FALSE, FALSE, sizeof (double));
  /* the layer as ft-l reads it; then nothing of the model is trained */
  if (!ft_edit_init (&s->ft, p, ctx, error))
    {
      grace_destroy (s);
      return NULL;
    }
  LfModule *root = lf_model_root (lf_ctx_model (ctx));
  lf_module_freeze (root, "*", TRUE);
  s->eps_init = lf_params_get_float (p, "eps_init");
  g_autofree char *path = g_strdup_printf ("model.layers.%" G_GINT64_FORMAT ".mlp.down_proj", s->ft.layer);
  s->layer = lf_module_find (root, path);
  LfTensor *w = s->layer ? lf_module_param (s->layer, "weight") : NULL;
  if (w == NULL || lf_tensor_ndim (w) != 2)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "strategy grace: %s is not a linear layer", path);
      grace_destroy (s);
      return NULL;
    }
  /* weight (out, in): keys are inputs, values outputs */
  grace_codebook_init (&s->cb, lf_tensor_dim (w, 1), lf_tensor_dim (w, 0));
  s->cap_key = g_new0 (LfReal, s->cb.key_dim);
  s->cap_out = g_new0 (LfReal, s->cb.value_dim);
  lf_module_add_post_hook (s->layer, grace_hook, s, NULL);
  return s;
}

/* The edit's key (the layer's input at the prompt's last token) and answer,
 * then GRACE's codebook update and a module holding the value to train. */
static gboolean
grace_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  Grace *s = self;
  int64_t n;
  const int64_t *ids = lf_ctx_experience_samples (ctx, lf_ctx_experience (ctx), &n);
  if (n != 1)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "strategy grace: an edit is one sample, got %" G_GINT64_FORMAT,
                   n);
      return FALSE;
    }
  lf_tape_push (FALSE);
  LfBatch *b = lf_ctx_batch (ctx, ids, 1);
  int64_t pos = -1, n_ans = 0;
  g_autofree int32_t *ans = g_new (int32_t, b->seq_len);
  for (int64_t t = 0; t < b->seq_len; t++)
    if (b->labels[t] != -100)
      {
        if (pos < 0)
          pos = t;
        ans[n_ans++] = b->labels[t];
      }
  if (pos < 0)
    {
      lf_tape_pop ();
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "strategy grace: the edit sample has no answer tokens");
      return FALSE;
    }
  s->capturing = TRUE;
  s->capture_row = pos;
  LfModelOutput out;
  lf_ctx_forward (ctx, b, FALSE, &out);
  s->capturing = FALSE;
  lf_tape_pop ();

  double d;
  if (grace_codebook_nearest (&s->cb, s->cap_key, &d) >= 0)
    g_array_append_val (s->distances, d);
  grace_codebook_update (&s->cb, s->cap_key, ans, n_ans, s->cap_out, s->eps_init, &s->entry);
  if (s->ft.steps > 0)
    {
      s->holder = lf_module_new ("grace", LF_MODULE_CUSTOM, NULL, NULL);
      int64_t shape[1] = { s->cb.value_dim };
      s->value = lf_module_add_param (s->holder, "value", 1, shape);
      memcpy (lf_tensor_data (s->value), s->cb.values + s->entry * s->cb.value_dim,
              (size_t) s->cb.value_dim * sizeof (LfReal));
      lf_module_add_child (lf_module_parent (s->layer), s->holder);
    }
  return TRUE;
}

static gboolean
grace_select_training (void *self, LfStrategyCtx *ctx, LfSelection *sel, GError **error)
{
  (void) ctx; (void) error;
  ft_edit_select (&((Grace *) self)->ft, sel);
  return TRUE;
}

/* The trained value into the codebook; the holder leaves the model. */
static gboolean
grace_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) ctx; (void) error;
  Grace *s = self;
  if (s->holder)
    {
      memcpy (s->cb.values + s->entry * s->cb.value_dim, lf_tensor_data (s->value),
              (size_t) s->cb.value_dim * sizeof (LfReal));
      lf_module_detach (s->holder);
      lf_module_free (s->holder);
      s->holder = NULL;
      s->value = NULL;
    }
  s->entry = -1;
  return TRUE;
}

static void
grace_report (void *self, LfStrategyCtx *ctx)
{
  Grace *s = self;
  lf_ctx_report_number (ctx, "layer", (double) s->ft.layer);
  lf_ctx_report_number (ctx, "codebook_size", (double) s->cb.n);
  lf_ctx_report_number (ctx, "added", (double) s->cb.n_added);
  lf_ctx_report_number (ctx, "expands", (double) s->cb.n_expanded);
  lf_ctx_report_number (ctx, "splits", (double) s->cb.n_split);
  lf_ctx_report_number (ctx, "covered", (double) s->cb.n_covered);
  double eps = 0, dist = 0;
  for (int64_t i = 0; i < s->cb.n; i++)
    eps += s->cb.eps[i] / (double) s->cb.n;
  for (guint i = 0; i < s->distances->len; i++)
    dist += g_array_index (s->distances, double, i) / s->distances->len;
  lf_ctx_report_number (ctx, "radius_mean", eps);
  /* how far a new edit's key was from the nearest earlier one (to set eps_init) */
  lf_ctx_report_number (ctx, "nearest_key_distance_mean", dist);
  g_autofree char *path = lf_module_path (s->layer);
  g_autofree char *q = g_strdup_printf ("\"%s\"", path);
  lf_ctx_report_json (ctx, "codebook_layer", q);
}

static gboolean
grace_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  grace_codebook_save (&((Grace *) self)->cb, st);
  return TRUE;
}

static gboolean
grace_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  (void) ctx;
  return grace_codebook_load (&((Grace *) self)->cb, st, error);
}

static size_t
grace_memory_bytes (void *self)
{
  return grace_codebook_bytes (&((Grace *) self)->cb);
}

static const LfStrategyVTable grace_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = grace_create,
  .destroy = grace_destroy,
  .before_experience = grace_before_experience,
  .select_training = grace_select_training,
  .after_experience = grace_after_experience,
  .report = grace_report,
  .save = grace_save,
  .load = grace_load,
  .memory_bytes = grace_memory_bytes,
};

static const char *const grace_scenarios[] = { "knowledge-editing", NULL };

static const LfCapabilities grace_caps = {
  .touches = LF_TOUCHES_OPTIMIZER,
  .needs = LF_NEEDS_BOUNDARIES | LF_NEEDS_SEQUENCES,
  .supports = LF_SUPPORTS_LANGUAGE_MODEL,
  .scenarios = grace_scenarios,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "grace",
    .version = "0.1.0",
    .summary = "knowledge editing with a discrete key-value codebook at one layer (GRACE)",
    .params = grace_params,
    .caps = &grace_caps,
    .vtable = &grace_vtable,
  };
  return &info;
}
