/* lifelong plugin — strategy "hat", Hard Attention to the Task (Serra, Suris,
 * Miron & Karatzoglou, ICML 2018): a learned, almost binary gate per task on
 * every hidden unit; the gradient of a weight is scaled down by how much
 * earlier tasks use both units it connects, so what they use stays put.
 *
 * - Embeddings e_t per hidden layer are parameters of the module tree (a
 *   container "hat" under the root: "hat.emb.0", "hat.emb.1", ... of shape
 *   (tasks, units)), so the optimizer and checkpoints see them.
 * - Gate a_t = sigmoid(s e_t), applied by a post-hook on each layers.N to
 *   the linear's output (before the model's activation; for ReLU, a >= 0
 *   makes that the same as gating the activation).  s anneals from 1/s_max
 *   to s_max over each epoch's samples; evaluation uses s_max.
 * - after_backward: dL/dW_ij *= 1 - min(a<t_i, a<t_j) with a<t the
 *   element-wise max of the finished tasks' gates at s_max (the input of
 *   the first layer counts as used: a = 1); bias: 1 - a<t_i.  The
 *   embedding's gradient is compensated as in the authors' code: times
 *   s_max/s (cosh(clamp(s e, +-50)) + 1) / (cosh(e) + 1); after each step
 *   the embeddings are clamped to +-6 (also their code).
 * - Loss: + c sum(a_t (1 - a<t)) / sum(1 - a<t) over every layer (for the
 *   first task: c sum(a_t) / units).
 * - Beyond the paper (which uses SGD and one head per task): a weight whose
 *   gradient factor is exactly 0 is also frozen in the optimizer, and so are
 *   the other tasks' embedding rows and the finished tasks' classifier rows,
 *   so neither Adam's moments nor weight decay can move what the gradient
 *   gating protects. */
#include <lifelong/lifelong.h>
#include <math.h>

#define HAT_THRES_COSH 50.0
#define HAT_THRES_EMB 6.0

/* What the gate hooks read; shared (reference counted) by the strategy and
 * the hooks, which live as long as the model. */
typedef struct {
  double s;       /* the current training scale */
  double s_max;
} HatScale;

typedef struct {
  HatScale *scale;   /* a reference */
  LfTensor *emb;     /* (T, units), owned by the model */
} HatHook;

typedef struct {
  int        n_layers;
  LfModule **layer;     /* layers.N (borrowed) */
  LfTensor **emb;       /* (T, units) */
  LfTensor **w, **b;    /* each layer's weight (units, in) and bias (units) or NULL */
  int64_t   *units;
  LfReal   **prev;      /* units: a<t, the max of the finished tasks' gates */
  HatScale  *scale;
  double     s_max, c;
  int64_t    T, experience, done;
  int64_t    n_sel, offset, epoch;   /* annealing over one epoch's samples */
  LfTensor  *head_w, *head_b;
  int64_t    n_classes;
  int32_t   *class_task;             /* n_classes: the task whose classifier row it is, or -1 */
  double     init_distance;          /* mean |a - round(a)| of the initial gates at s_max */
} Hat;

static const LfParam hat_params[] = {
  { "s_max", LF_PARAM_FLOAT, "400", 1, 1e6, NULL,
    "largest gate scale s: the gates are sigmoid(s e), s annealed from 1/s_max to s_max over each epoch" },
  { "c", LF_PARAM_FLOAT, "0.75", 0, 1e3, NULL,
    "weight of the sparsity regulariser on the gates (capacity left for later tasks)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

/* ---- the gate ------------------------------------------------------------------ */

static void
hat_scale_unref (void *p)
{
  g_rc_box_release (p);
}

static void
hat_hook_free (void *p)
{
  HatHook *hk = p;
  hat_scale_unref (hk->scale);
  g_free (hk);
}

/* y: (n, units) -> y * sigmoid(s e[task_i]) row by row. */
static LfTensor *
hat_gate_hook (LfModule *m, LfTensor *x, LfTensor *y, LfForward *fwd, void *user)
{
  (void) m; (void) x;
  HatHook *hk = user;
  const LfBatch *batch = fwd->batch;
  if (batch == NULL || batch->task_ids == NULL)
    return y;
  double s = fwd->training ? hk->scale->s : hk->scale->s_max;
  LfTensor *e = lf_embedding (hk->emb, batch->task_ids, batch->n);   /* (n, units) */
  return lf_mul (y, lf_sigmoid (lf_scale (e, s)));
}

/* a_t at scale s: (units) values, no graph. */
static void
hat_gate_values (Hat *h, int l, int64_t t, double s, LfReal *out)
{
  const LfReal *e = lf_tensor_data (h->emb[l]) + t * h->units[l];
  for (int64_t i = 0; i < h->units[l]; i++)
    out[i] = (LfReal) (1.0 / (1.0 + exp (-s * (double) e[i])));
}

/* mean |a - round(a)| of task t's gates at s_max, and how many gates */
static double
hat_binary_distance (Hat *h, int64_t t, int64_t *count)
{
  double d = 0;
  *count = 0;
  for (int l = 0; l < h->n_layers; l++)
    {
      g_autofree LfReal *a = g_new (LfReal, h->units[l]);
      hat_gate_values (h, l, t, h->s_max, a);
      for (int64_t i = 0; i < h->units[l]; i++)
        d += fabs ((double) a[i] - round ((double) a[i]));
      *count += h->units[l];
    }
  return d;
}

/* ---- masks in the optimizer ------------------------------------------------------ */

/* The current task's embedding rows move, no other; finished tasks'
 * classifier rows are frozen; a weight or bias whose gradient factor is
 * exactly 0 is frozen. */
static void
hat_apply_masks (Hat *h, LfStrategyCtx *ctx)
{
  LfOptimizer *opt = lf_ctx_optimizer (ctx);
  int64_t t = h->experience;
  for (int l = 0; l < h->n_layers; l++)
    {
      int64_t U = h->units[l], in = lf_tensor_dim (h->w[l], 1);
      g_autofree uint8_t *m = g_new0 (uint8_t, MAX (h->T * U, U * in));
      memset (m + t * U, 1, (size_t) U);
      lf_optimizer_set_mask (opt, h->emb[l], m);
      const LfReal *post = h->prev[l], *pre = l > 0 ? h->prev[l - 1] : NULL;
      for (int64_t i = 0; i < U; i++)
        for (int64_t j = 0; j < in; j++)
          m[i * in + j] = 1 - MIN (post[i], pre ? pre[j] : 1) > 0;
      lf_optimizer_set_mask (opt, h->w[l], m);
      if (h->b[l])
        {
          for (int64_t i = 0; i < U; i++)
            m[i] = 1 - post[i] > 0;
          lf_optimizer_set_mask (opt, h->b[l], m);
        }
    }
  if (h->head_w)
    {
      int64_t d = lf_tensor_dim (h->head_w, 1);
      g_autofree uint8_t *m = g_new (uint8_t, h->n_classes * d);
      for (int64_t c = 0; c < h->n_classes; c++)
        memset (m + c * d, h->class_task[c] < 0, (size_t) d);
      lf_optimizer_set_mask (opt, h->head_w, m);
      if (h->head_b)
        {
          for (int64_t c = 0; c < h->n_classes; c++)
            m[c] = h->class_task[c] < 0;
          lf_optimizer_set_mask (opt, h->head_b, m);
        }
    }
}

/* ---- hooks ------------------------------------------------------------------------- */

static void
hat_destroy (void *self)
{
  Hat *h = self;
  /* the gate hooks stay on the model: each holds its own reference to the
   * scale, and the embeddings are the model's */
  for (int l = 0; l < h->n_layers; l++)
    g_free (h->prev[l]);
  g_free (h->layer);
  g_free (h->emb);
  g_free (h->w);
  g_free (h->b);
  g_free (h->units);
  g_free (h->prev);
  g_free (h->class_task);
  hat_scale_unref (h->scale);
  g_free (h);
}

static void *
hat_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  LfModel *model = lf_ctx_model (ctx);
  LfModule *root = lf_model_root (model);
  const LfDataSpec *spec = lf_ctx_spec (ctx);
  LfModule *layers = lf_module_find (root, "layers");
  int n = layers ? lf_module_n_children (layers) : 0;
  for (int l = 0; l < n; l++)
    {
      LfTensor *w = lf_module_param (lf_module_child (layers, l), "weight");
      LfTensor *prev = l > 0 ? lf_module_param (lf_module_child (layers, l - 1), "weight") : NULL;
      if (w == NULL || lf_tensor_ndim (w) != 2 || (prev && lf_tensor_dim (prev, 0) != lf_tensor_dim (w, 1)))
        n = 0;
    }
  if (n == 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                   "strategy hat: model %s has no hidden linears layers.N, each feeding the next (an mlp)",
                   lf_model_name (model));
      return NULL;
    }
  if (lf_module_find (root, "hat") != NULL)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "strategy hat: the model already has a module \"hat\"");
      return NULL;
    }
  Hat *h = g_new0 (Hat, 1);
  h->n_layers = n;
  h->s_max = lf_params_get_float (p, "s_max");
  h->c = lf_params_get_float (p, "c");
  h->T = MAX (spec->n_tasks, 1);
  h->layer = g_new0 (LfModule *, n);
  h->emb = g_new0 (LfTensor *, n);
  h->w = g_new0 (LfTensor *, n);
  h->b = g_new0 (LfTensor *, n);
  h->units = g_new0 (int64_t, n);
  h->prev = g_new0 (LfReal *, n);
  h->scale = g_rc_box_new0 (HatScale);
  h->scale->s_max = h->s_max;
  h->scale->s = h->s_max;
  h->epoch = -1;
  LfModule *hat = lf_module_new ("hat", LF_MODULE_CONTAINER, NULL, NULL);
  LfModule *embs = lf_module_new ("emb", LF_MODULE_CONTAINER, NULL, NULL);
  lf_module_add_child (hat, embs);
  lf_module_add_child (root, hat);   /* never run: the model's forward runs layers and head */
  LfRng rng;
  lf_rng_init (&rng, lf_ctx_rng_key (ctx, "hat-embeddings"));
  for (int l = 0; l < n; l++)
    {
      LfModule *lm = lf_module_child (layers, l);
      h->layer[l] = lm;
      h->w[l] = lf_module_param (lm, "weight");
      h->b[l] = lf_module_param (lm, "bias");
      h->units[l] = lf_tensor_dim (h->w[l], 0);
      h->prev[l] = g_new0 (LfReal, h->units[l]);
      g_autofree char *name = g_strdup_printf ("%d", l);
      int64_t shape[2] = { h->T, h->units[l] };
      h->emb[l] = lf_module_add_param (embs, name, 2, shape);
      /* N(0, 1), as torch.nn.Embedding */
      for (int64_t i = 0; i < h->T * h->units[l]; i++)
        lf_tensor_data (h->emb[l])[i] = (LfReal) lf_rng_normal (&rng);
      HatHook *hk = g_new0 (HatHook, 1);
      hk->scale = g_rc_box_acquire (h->scale);
      hk->emb = h->emb[l];
      lf_module_add_post_hook (lm, hat_gate_hook, hk, hat_hook_free);
    }
  double d = 0;
  int64_t cnt = 0;
  for (int64_t t = 0; t < h->T; t++)
    {
      int64_t k;
      d += hat_binary_distance (h, t, &k);
      cnt += k;
    }
  h->init_distance = d / (double) MAX (cnt, 1);
  LfModule *head = lf_module_find (root, "head");
  LfTensor *hw = head ? lf_module_param (head, "weight") : NULL;
  if (hw && lf_tensor_ndim (hw) == 2 && lf_tensor_dim (hw, 0) == spec->n_classes)
    {
      h->head_w = hw;
      h->head_b = lf_module_param (head, "bias");
    }
  h->n_classes = MAX (spec->n_classes, 1);
  h->class_task = g_new (int32_t, h->n_classes);
  for (int64_t c = 0; c < h->n_classes; c++)
    h->class_task[c] = -1;
  return h;
}

static gboolean
hat_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  Hat *h = self;
  int64_t e = lf_ctx_experience (ctx);
  if (e < 0 || e >= h->T)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                   "strategy hat: experience %" G_GINT64_FORMAT " has no task embedding (%" G_GINT64_FORMAT " tasks)",
                   e, h->T);
      return FALSE;
    }
  h->experience = e;
  h->epoch = -1;
  hat_apply_masks (h, ctx);
  return TRUE;
}

static gboolean
hat_select (void *self, LfStrategyCtx *ctx, LfSelection *sel, GError **error)
{
  (void) ctx; (void) error;
  Hat *h = self;
  h->n_sel = sel->n;
  return TRUE;
}

/* s for this batch: 1/s_max + (s_max - 1/s_max) * (samples before it in the epoch) / (samples per epoch). */
static LfBatch *
hat_before_batch (void *self, LfStrategyCtx *ctx, LfBatch *batch)
{
  Hat *h = self;
  if (lf_ctx_epoch (ctx) != h->epoch)
    {
      h->epoch = lf_ctx_epoch (ctx);
      h->offset = 0;
    }
  double frac = h->n_sel > 0 ? (double) h->offset / (double) h->n_sel : 0;
  h->scale->s = 1.0 / h->s_max + (h->s_max - 1.0 / h->s_max) * frac;
  h->offset += batch->n;
  return batch;
}

/* + c sum_l sum(a_t (1 - a<t)) / sum_l sum(1 - a<t) */
static LfTensor *
hat_loss (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out, LfTensor *loss)
{
  (void) ctx; (void) batch; (void) out;
  Hat *h = self;
  if (h->c <= 0)
    return loss;
  int32_t t = (int32_t) h->experience;
  LfTensor *num = NULL;
  double den = 0;
  for (int l = 0; l < h->n_layers; l++)
    {
      int64_t U = h->units[l];
      LfTensor *free_ = lf_tensor_new (1, &U);
      for (int64_t i = 0; i < U; i++)
        den += lf_tensor_data (free_)[i] = 1 - h->prev[l][i];
      LfTensor *a = lf_sigmoid (lf_scale (lf_embedding (h->emb[l], &t, 1), h->scale->s));   /* (1, U) */
      LfTensor *term = lf_sum (lf_mul (a, free_));
      num = num ? lf_add (num, term) : term;
    }
  if (den <= 0)
    return loss;
  return lf_add (loss, lf_scale (num, h->c / den));
}

static void
hat_after_backward (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) ctx; (void) batch;
  Hat *h = self;
  int64_t t = h->experience;
  double s = h->scale->s;
  for (int l = 0; l < h->n_layers; l++)
    {
      int64_t U = h->units[l], in = lf_tensor_dim (h->w[l], 1);
      const LfReal *post = h->prev[l], *pre = l > 0 ? h->prev[l - 1] : NULL;
      LfReal *gw = h->done > 0 ? lf_tensor_grad (h->w[l]) : NULL;
      for (int64_t i = 0; gw && i < U; i++)
        for (int64_t j = 0; j < in; j++)
          gw[i * in + j] *= 1 - MIN (post[i], pre ? pre[j] : 1);
      LfReal *gb = h->done > 0 && h->b[l] ? lf_tensor_grad (h->b[l]) : NULL;
      for (int64_t i = 0; gb && i < U; i++)
        gb[i] *= 1 - post[i];
      /* embedding compensation (the authors' code) */
      LfReal *ge = lf_tensor_grad (h->emb[l]);
      if (ge == NULL)
        continue;
      const LfReal *e = lf_tensor_data (h->emb[l]) + t * U;
      ge += t * U;
      for (int64_t i = 0; i < U; i++)
        {
          double se = CLAMP (s * (double) e[i], -HAT_THRES_COSH, HAT_THRES_COSH);
          ge[i] = (LfReal) ((double) ge[i] * h->s_max / s * (cosh (se) + 1) / (cosh ((double) e[i]) + 1));
        }
    }
}

static void
hat_after_step (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) ctx; (void) batch;
  Hat *h = self;
  for (int l = 0; l < h->n_layers; l++)
    {
      LfReal *e = lf_tensor_data (h->emb[l]) + h->experience * h->units[l];
      for (int64_t i = 0; i < h->units[l]; i++)
        e[i] = CLAMP (e[i], (LfReal) -HAT_THRES_EMB, (LfReal) HAT_THRES_EMB);
    }
}

static gboolean
hat_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Hat *h = self;
  int64_t e = h->experience;
  for (int l = 0; l < h->n_layers; l++)
    {
      g_autofree LfReal *a = g_new (LfReal, h->units[l]);
      hat_gate_values (h, l, e, h->s_max, a);
      for (int64_t i = 0; i < h->units[l]; i++)
        h->prev[l][i] = MAX (h->prev[l][i], a[i]);
    }
  int64_t n;
  const int64_t *ids = lf_ctx_experience_samples (ctx, e, &n);
  g_autofree int32_t *labels = g_new (int32_t, MAX (n, 1));
  lf_ctx_labels (ctx, ids, n, labels);
  for (int64_t i = 0; i < n; i++)
    if (labels[i] >= 0 && labels[i] < h->n_classes && h->class_task[labels[i]] < 0)
      h->class_task[labels[i]] = (int32_t) e;
  h->done = e + 1;
  hat_apply_masks (h, ctx);
  return TRUE;
}

static void
hat_report (void *self, LfStrategyCtx *ctx)
{
  Hat *h = self;
  /* how binary the finished tasks' gates are at s_max: mean |a - round(a)| */
  double dist = 0, used = 0;
  int64_t cnt = 0, ucnt = 0;
  g_autoptr (GString) per = g_string_new ("[");
  for (int64_t t = 0; t < h->done; t++)
    {
      int64_t ct;
      double dt = hat_binary_distance (h, t, &ct);
      dist += dt;
      cnt += ct;
      g_string_append_printf (per, "%s%.6g", t ? ", " : "", dt / (double) MAX (ct, 1));
    }
  g_string_append_c (per, ']');
  g_autoptr (GString) cap = g_string_new ("[");
  for (int l = 0; l < h->n_layers; l++)
    {
      double u = 0;
      for (int64_t i = 0; i < h->units[l]; i++)
        u += h->prev[l][i] > 0.5;
      used += u;
      ucnt += h->units[l];
      g_string_append_printf (cap, "%s%.6g", l ? ", " : "", u / (double) h->units[l]);
    }
  g_string_append_c (cap, ']');
  lf_ctx_report_number (ctx, "gate_distance_to_binary", cnt > 0 ? dist / (double) cnt : 0);
  lf_ctx_report_json (ctx, "gate_distance_to_binary_per_task", per->str);
  /* the same for the initial embeddings (N(0, 1)): what training changed */
  lf_ctx_report_number (ctx, "gate_distance_to_binary_at_init", h->init_distance);
  lf_ctx_report_number (ctx, "units_used", ucnt > 0 ? used / (double) ucnt : 0);
  lf_ctx_report_json (ctx, "units_used_per_layer", cap->str);
}

static gboolean
hat_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Hat *h = self;
  lf_state_put_int (st, "done", h->done);
  lf_state_put_int (st, "layers", h->n_layers);
  for (int l = 0; l < h->n_layers; l++)
    {
      g_autoptr (LfTensor) t = lf_tensor_new_owned (1, &h->units[l]);
      memcpy (lf_tensor_data (t), h->prev[l], (size_t) h->units[l] * sizeof (LfReal));
      g_autofree char *name = g_strdup_printf ("prev.%d", l);
      lf_state_put_tensor (st, name, t);
    }
  lf_state_put_bytes (st, "class_task", h->class_task, (size_t) h->n_classes * sizeof (int32_t));
  return TRUE;
}

static gboolean
hat_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  Hat *h = self;
  int64_t done = 0, nl = 0;
  size_t nc = 0;
  const void *ct = lf_state_get_bytes (st, "class_task", &nc);
  gboolean ok = lf_state_get_int (st, "done", &done) && lf_state_get_int (st, "layers", &nl)
                && nl == h->n_layers && done >= 0 && done <= h->T
                && ct && nc == (size_t) h->n_classes * sizeof (int32_t);
  for (int l = 0; ok && l < h->n_layers; l++)
    {
      g_autofree char *name = g_strdup_printf ("prev.%d", l);
      g_autoptr (LfTensor) t = lf_state_get_tensor (st, name);
      ok = t && lf_tensor_numel (t) == h->units[l];
      if (ok)
        memcpy (h->prev[l], lf_tensor_data (t), (size_t) h->units[l] * sizeof (LfReal));
    }
  if (!ok)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                   "strategy hat: the checkpoint's state does not match this model (%" G_GINT64_FORMAT
                   " gated layers saved, %d here)", nl, h->n_layers);
      return FALSE;
    }
  memcpy (h->class_task, ct, nc);
  h->done = done;
  h->experience = MAX (done - 1, 0);
  hat_apply_masks (h, ctx);
  return TRUE;
}

static size_t
hat_memory_bytes (void *self)
{
  Hat *h = self;
  size_t b = (size_t) h->n_classes * sizeof (int32_t);
  for (int l = 0; l < h->n_layers; l++)
    b += (size_t) h->units[l] * sizeof (LfReal);
  return b;
}

static const LfStrategyVTable hat_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = hat_create,
  .destroy = hat_destroy,
  .before_experience = hat_before_experience,
  .select_training = hat_select,
  .before_batch = hat_before_batch,
  .loss = hat_loss,
  .after_backward = hat_after_backward,
  .after_step = hat_after_step,
  .after_experience = hat_after_experience,
  .report = hat_report,
  .save = hat_save,
  .load = hat_load,
  .memory_bytes = hat_memory_bytes,
};

static const char *const hat_scenarios[] = { "task-incremental", NULL };
static const char *const hat_models[] = { "mlp", NULL };
static const LfCapabilities hat_caps = {
  .touches = LF_TOUCHES_LOSS | LF_TOUCHES_GRADIENTS | LF_TOUCHES_STRUCTURE | LF_TOUCHES_OPTIMIZER,
  .needs = LF_NEEDS_TASK_IDS | LF_NEEDS_TASK_IDS_AT_TEST | LF_NEEDS_BOUNDARIES | LF_NEEDS_LABELS,
  .supports = LF_SUPPORTS_CLASSIFICATION,
  .model_kinds = hat_models,
  .scenarios = hat_scenarios,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "hat",
    .version = "0.1.0",
    .summary = "HAT: learned, almost binary task gates on hidden units; gradients of units earlier tasks use are "
               "gated off (Serra, Suris, Miron & Karatzoglou, \"Overcoming Catastrophic Forgetting with Hard "
               "Attention to the Task\", ICML 2018)",
    .params = hat_params,
    .caps = &hat_caps,
    .vtable = &hat_vtable,
  };
  return &info;
}
