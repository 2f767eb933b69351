/* lifelong plugin — strategy "packnet" (Mallya & Lazebnik, CVPR 2018): each
 * task trains on the weights earlier tasks left free, keeps the largest of
 * them, releases the rest, retrains what it kept, and freezes it for good.
 * At test a task sees only the weights of the tasks up to it.
 *
 * Choices (docs/strategies.md, "Architecture"):
 * - Pruned: every linear weight matrix outside the head, layer by layer
 *   (each layer keeps the largest (1 - prune_ratio) of its own free
 *   weights, as in the paper).  Each such linear is wrapped by a module
 *   whose forward is lf_linear (x, W ⊙ M_t, b), M_t the weights owned by
 *   tasks <= t (t: the batch's task id at test; the experience in
 *   training) plus the free ones, which are zero outside training.
 * - Biases of those linears are trained with the first task and frozen
 *   afterwards (they are not pruned: a bias shared by every task).
 * - The head is not pruned: it is the per-task classifier.  In a
 *   task-incremental scenario the shared head's logits are masked to the
 *   task's classes, so the rows (weight and bias) of a task's classes are
 *   that task's classifier; they are frozen after the task.  One head per
 *   task (`heads.T`): heads.T is frozen after task T.
 * - Freezing is per element in the optimizer (lf_optimizer_set_mask): a
 *   frozen weight and its Adam moments are bitwise unchanged, weight decay
 *   included. */
#include <lifelong/lifelong.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#define PACKNET_FREE 255u   /* owner of a weight no task has kept */
#define PACKNET_MAX_TASKS 254

/* State of one wrapped linear (the wrapper module owns it). */
typedef struct {
  int64_t   numel;       /* out * in                                        */
  uint8_t  *owner;       /* numel: the task that kept each weight, or PACKNET_FREE */
  int       max_owner;   /* largest owner present, -1 if none               */
  LfTensor *mask;        /* (out, in) cache of M_level, or NULL             */
  int64_t   mask_level;  /* the level the cache holds; -1: stale            */
  int64_t   current;     /* the experience being trained                     */
} PackNetLayer;

typedef struct {
  double     prune_ratio;
  int64_t    train_epochs_param, retrain_epochs;
  int64_t    train_epochs;   /* of the current experience */
  int64_t    experience;     /* current (or last finished after load) */
  int64_t    done;           /* experiences finished */
  gboolean   pruned;         /* in the current experience */
  int64_t    n_tasks;
  GPtrArray *layers;         /* PackNetLayer *, borrowed from the wrappers */
  GPtrArray *weights;        /* LfTensor *, the base weights (borrowed) */
  GPtrArray *biases;         /* LfTensor * or NULL, per layer */
  LfTensor  *head_w, *head_b;/* the shared head, or NULL */
  GPtrArray *task_heads;     /* LfModule * heads.T (one head per task), or empty */
  int64_t    n_classes;
  uint8_t   *class_owner;    /* n_classes: the task whose classifier row it is, or PACKNET_FREE */
  uint64_t  *hash_at_own_end;/* n_tasks: hash of task t's weights when t finished */
} PackNet;

static const LfParam packnet_params[] = {
  { "prune_ratio", LF_PARAM_FLOAT, "0.5", 0, 1,
    NULL, "fraction of each layer's free weights released after training a task (the rest is kept by it)" },
  { "train_epochs", LF_PARAM_INT, "0", 0, 1e6,
    NULL, "epochs before pruning; 0: train.epochs" },
  { "retrain_epochs", LF_PARAM_INT, "1", 0, 1e6,
    NULL, "epochs of retraining the kept weights after pruning (0: prune at the end of the experience)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

/* ---- the wrapper module ---------------------------------------------------- */

static void
packnet_layer_free (void *p)
{
  PackNetLayer *L = p;
  g_free (L->owner);
  lf_tensor_free (L->mask);
  g_free (L);
}

static void
packnet_layer_owners_changed (PackNetLayer *L)
{
  L->max_owner = -1;
  for (int64_t i = 0; i < L->numel; i++)
    if (L->owner[i] != PACKNET_FREE && L->owner[i] > L->max_owner)
      L->max_owner = L->owner[i];
  L->mask_level = -1;
}

/* M_level: 1 where the weight is owned by a task <= level or is free.  NULL
 * when every weight qualifies (no multiplication needed). */
static LfTensor *
packnet_layer_mask (PackNetLayer *L, LfTensor *w, int64_t level)
{
  if (level >= L->max_owner)
    return NULL;
  if (L->mask == NULL)
    L->mask = lf_tensor_new_owned (2, lf_tensor_shape (w));
  if (L->mask_level != level)
    {
      LfReal *m = lf_tensor_data (L->mask);
      for (int64_t i = 0; i < L->numel; i++)
        m[i] = (L->owner[i] == PACKNET_FREE || L->owner[i] <= level) ? 1 : 0;
      L->mask_level = level;
    }
  return L->mask;
}

static LfTensor *
packnet_linear_at (PackNetLayer *L, LfTensor *x, LfTensor *w, LfTensor *b, int64_t level)
{
  LfTensor *m = packnet_layer_mask (L, w, level);
  return lf_linear (x, m ? lf_mul (w, m) : w, b);
}

/* x: (n, in) -> (n, out).  In training every weight is owned by a task <=
 * the current one or free, so the mask is all ones; at test each row sees
 * the weights of the tasks up to its own. */
static LfTensor *
packnet_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  PackNetLayer *L = lf_module_state (m);
  LfModule *base = lf_module_child (m, 0);
  LfTensor *w = lf_module_param (base, "weight"), *b = lf_module_param (base, "bias");
  const LfBatch *batch = fwd ? fwd->batch : NULL;
  if (fwd == NULL || fwd->training || batch == NULL || batch->task_ids == NULL || batch->n == 0)
    return packnet_linear_at (L, x, w, b, L->current);
  int32_t lo = batch->task_ids[0], hi = lo;
  for (int64_t i = 1; i < batch->n; i++)
    {
      lo = MIN (lo, batch->task_ids[i]);
      hi = MAX (hi, batch->task_ids[i]);
    }
  if (lo == hi || lf_tensor_ndim (x) != 2 || lf_tensor_dim (x, 0) != batch->n)
    return packnet_linear_at (L, x, w, b, lo);
  /* rows of several tasks: each row takes the output of its own task's mask */
  LfTensor *y = NULL;
  for (int32_t t = lo; t <= hi; t++)
    {
      int64_t rs[2] = { batch->n, 1 };
      LfTensor *rows = lf_tensor_new (2, rs);
      int64_t k = 0;
      for (int64_t i = 0; i < batch->n; i++)
        k += (lf_tensor_data (rows)[i] = batch->task_ids[i] == t ? 1 : 0) != 0;
      if (k == 0)
        continue;
      LfTensor *yt = lf_mul (packnet_linear_at (L, x, w, b, t), rows);
      y = y ? lf_add (y, yt) : yt;
    }
  return y;
}

static const LfModuleClass packnet_linear_class = {
  .struct_size = sizeof (LfModuleClass),
  .type_name = "packnet-linear",
  .forward = packnet_forward,
  .destroy_state = packnet_layer_free,
};

/* ---- helpers ------------------------------------------------------------------ */

/* A classifier: the head, lm_head, heads.T, or anything below a head module. */
static gboolean
packnet_is_head (LfModule *m)
{
  for (LfModule *p = m; p != NULL; p = lf_module_parent (p))
    {
      const char *n = lf_module_name (p);
      if (lf_module_kind (p) == LF_MODULE_HEAD || g_str_equal (n, "head") || g_str_equal (n, "lm_head")
          || g_str_equal (n, "heads"))
        return TRUE;
    }
  return FALSE;
}

static void
packnet_free (void *self)
{
  PackNet *pn = self;
  g_ptr_array_unref (pn->layers);
  g_ptr_array_unref (pn->weights);
  g_ptr_array_unref (pn->biases);
  g_ptr_array_unref (pn->task_heads);
  g_free (pn->class_owner);
  g_free (pn->hash_at_own_end);
  g_free (pn);
}

static inline uint64_t
fnv_bytes (uint64_t h, const void *p, size_t n)
{
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * 0x100000001b3u;
  return h;
}

/* FNV-1a over the raw bytes of every weight task t owns, in layer order: its
 * kept weights, its classifier rows (and bias entries), and for task 0 the
 * shared biases.  Equal hashes: bitwise-equal weights. */
static uint64_t
packnet_task_hash (PackNet *pn, int64_t t)
{
  uint64_t h = 0xcbf29ce484222325u;
  for (guint l = 0; l < pn->layers->len; l++)
    {
      PackNetLayer *L = pn->layers->pdata[l];
      const LfReal *w = lf_tensor_data (pn->weights->pdata[l]);
      for (int64_t i = 0; i < L->numel; i++)
        if (L->owner[i] == t)
          h = fnv_bytes (h, &w[i], sizeof (LfReal));
      LfTensor *b = pn->biases->pdata[l];
      if (t == 0 && b)
        h = fnv_bytes (h, lf_tensor_data (b), (size_t) lf_tensor_numel (b) * sizeof (LfReal));
    }
  if (pn->head_w)
    {
      int64_t d = lf_tensor_dim (pn->head_w, 1);
      for (int64_t c = 0; c < pn->n_classes; c++)
        if (pn->class_owner[c] == t)
          {
            h = fnv_bytes (h, lf_tensor_data (pn->head_w) + c * d, (size_t) d * sizeof (LfReal));
            if (pn->head_b)
              h = fnv_bytes (h, lf_tensor_data (pn->head_b) + c, sizeof (LfReal));
          }
    }
  if (t < (int64_t) pn->task_heads->len)
    {
      g_autoptr (GPtrArray) ps = lf_module_params (pn->task_heads->pdata[t], "*", FALSE);
      for (guint i = 0; i < ps->len; i++)
        h = fnv_bytes (h, lf_tensor_data (ps->pdata[i]), (size_t) lf_tensor_numel (ps->pdata[i]) * sizeof (LfReal));
    }
  return h;
}

typedef enum { PACKNET_TRAIN, PACKNET_RETRAIN, PACKNET_FROZEN } PackNetPhase;

/* The optimizer's element masks for a phase: training moves the free
 * weights, retraining only the current task's kept ones, and between
 * experiences the free ones are the only movable ones (they are zero). */
static void
packnet_apply_masks (PackNet *pn, LfStrategyCtx *ctx, PackNetPhase phase)
{
  LfOptimizer *opt = lf_ctx_optimizer (ctx);
  for (guint l = 0; l < pn->layers->len; l++)
    {
      PackNetLayer *L = pn->layers->pdata[l];
      g_autofree uint8_t *m = g_new (uint8_t, L->numel);
      for (int64_t i = 0; i < L->numel; i++)
        m[i] = phase == PACKNET_RETRAIN ? L->owner[i] == pn->experience : L->owner[i] == PACKNET_FREE;
      lf_optimizer_set_mask (opt, pn->weights->pdata[l], m);
    }
  if (pn->head_w)
    {
      int64_t d = lf_tensor_dim (pn->head_w, 1);
      g_autofree uint8_t *m = g_new (uint8_t, pn->n_classes * d);
      for (int64_t c = 0; c < pn->n_classes; c++)
        memset (m + c * d, pn->class_owner[c] == PACKNET_FREE, (size_t) d);
      lf_optimizer_set_mask (opt, pn->head_w, m);
      if (pn->head_b)
        {
          for (int64_t c = 0; c < pn->n_classes; c++)
            m[c] = pn->class_owner[c] == PACKNET_FREE;
          lf_optimizer_set_mask (opt, pn->head_b, m);
        }
    }
}

/* Biases and per-task heads of finished tasks are frozen whole. */
static void
packnet_freeze_finished (PackNet *pn)
{
  if (pn->done < 1)
    return;
  for (guint l = 0; l < pn->biases->len; l++)
    if (pn->biases->pdata[l])
      lf_tensor_set_requires_grad (pn->biases->pdata[l], FALSE);
  for (guint t = 0; t < pn->task_heads->len && (int64_t) t < pn->done; t++)
    lf_module_freeze (pn->task_heads->pdata[t], "*", TRUE);
}

static int
packnet_cmp_desc (const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
  return (x < y) - (x > y);
}

/* Per layer: the free weights, largest magnitude first (ties: lower index
 * first), keep the first round((1 - ratio) * free) for the current task and
 * zero the rest (they stay free). */
static void
packnet_prune (PackNet *pn)
{
  const uint8_t t = (uint8_t) pn->experience;
  for (guint l = 0; l < pn->layers->len; l++)
    {
      PackNetLayer *L = pn->layers->pdata[l];
      LfReal *w = lf_tensor_data (pn->weights->pdata[l]);
      int64_t nfree = 0;
      for (int64_t i = 0; i < L->numel; i++)
        nfree += L->owner[i] == PACKNET_FREE;
      g_autofree uint64_t *key = g_new (uint64_t, MAX (nfree, 1));
      int64_t k = 0;
      for (int64_t i = 0; i < L->numel; i++)
        if (L->owner[i] == PACKNET_FREE)
          {
            /* |w| as a float's bits orders like its value (non-negative) */
            float a = fabsf ((float) w[i]);
            uint32_t bits;
            memcpy (&bits, &a, sizeof bits);
            key[k++] = ((uint64_t) bits << 32) | (uint64_t) (UINT32_MAX - (uint32_t) i);
          }
      qsort (key, (size_t) nfree, sizeof (uint64_t), packnet_cmp_desc);
      int64_t keep = (int64_t) floor ((1.0 - pn->prune_ratio) * (double) nfree + 0.5);
      for (int64_t j = 0; j < nfree; j++)
        {
          int64_t i = (int64_t) (UINT32_MAX - (uint32_t) (key[j] & 0xffffffffu));
          if (j < keep)
            L->owner[i] = t;
          else
            w[i] = 0;
        }
      packnet_layer_owners_changed (L);
    }
  pn->pruned = TRUE;
}

/* Free weights are zero between experiences (they were released, or early
 * stopping restored an earlier copy). */
static void
packnet_zero_free (PackNet *pn)
{
  for (guint l = 0; l < pn->layers->len; l++)
    {
      PackNetLayer *L = pn->layers->pdata[l];
      LfReal *w = lf_tensor_data (pn->weights->pdata[l]);
      for (int64_t i = 0; i < L->numel; i++)
        if (L->owner[i] == PACKNET_FREE)
          w[i] = 0;
    }
}

static void
packnet_set_current (PackNet *pn, int64_t e)
{
  pn->experience = e;
  for (guint l = 0; l < pn->layers->len; l++)
    ((PackNetLayer *) pn->layers->pdata[l])->current = e;
}

/* ---- hooks -------------------------------------------------------------------- */

static void *
packnet_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  LfModel *model = lf_ctx_model (ctx);
  LfModule *root = lf_model_root (model);
  const LfDataSpec *spec = lf_ctx_spec (ctx);
  if (spec->n_tasks > PACKNET_MAX_TASKS)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                   "strategy packnet: %" G_GINT64_FORMAT " experiences; a weight's owner is one byte, at most %d tasks",
                   spec->n_tasks, PACKNET_MAX_TASKS);
      return NULL;
    }
  g_autoptr (GPtrArray) lin = lf_module_find_all (root, "*", LF_MODULE_LINEAR);
  g_autoptr (GPtrArray) body = g_ptr_array_new ();
  for (guint i = 0; i < lin->len; i++)
    if (lf_module_class (lin->pdata[i]) == &lf_linear_class && !packnet_is_head (lin->pdata[i]))
      {
        LfTensor *w = lf_module_param (lin->pdata[i], "weight");
        if (w && lf_tensor_numel (w) >= (int64_t) UINT32_MAX)
          {
            g_autofree char *path = lf_module_path (lin->pdata[i]);
            g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                         "strategy packnet: linear %s has %" G_GINT64_FORMAT " weights, more than 2^32 - 1",
                         path, lf_tensor_numel (w));
            return NULL;
          }
        g_ptr_array_add (body, lin->pdata[i]);
      }
  if (body->len == 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                   "strategy packnet: model %s has no linear outside its head to prune", lf_model_name (model));
      return NULL;
    }
  PackNet *pn = g_new0 (PackNet, 1);
  pn->prune_ratio = lf_params_get_float (p, "prune_ratio");
  pn->train_epochs_param = lf_params_get_int (p, "train_epochs");
  pn->retrain_epochs = lf_params_get_int (p, "retrain_epochs");
  pn->n_tasks = MAX (spec->n_tasks, 1);
  pn->done = 0;
  pn->layers = g_ptr_array_new ();
  pn->weights = g_ptr_array_new ();
  pn->biases = g_ptr_array_new ();
  pn->task_heads = g_ptr_array_new ();
  pn->hash_at_own_end = g_new0 (uint64_t, pn->n_tasks);
  for (guint i = 0; i < body->len; i++)
    {
      LfModule *lm = body->pdata[i];
      LfTensor *w = lf_module_param (lm, "weight");
      PackNetLayer *L = g_new0 (PackNetLayer, 1);
      L->numel = lf_tensor_numel (w);
      L->owner = g_malloc (L->numel);
      memset (L->owner, PACKNET_FREE, (size_t) L->numel);
      L->max_owner = -1;
      L->mask_level = -1;
      lf_module_wrap (lm, &packnet_linear_class, L, LF_MODULE_LINEAR);
      g_ptr_array_add (pn->layers, L);
      g_ptr_array_add (pn->weights, w);
      g_ptr_array_add (pn->biases, lf_module_param (lm, "bias"));
    }
  LfModule *head = lf_module_find (root, "head");
  LfTensor *hw = head ? lf_module_param (head, "weight") : NULL;
  if (hw && lf_tensor_ndim (hw) == 2 && lf_tensor_dim (hw, 0) == spec->n_classes)
    {
      pn->head_w = hw;
      pn->head_b = lf_module_param (head, "bias");
    }
  pn->n_classes = MAX (spec->n_classes, 1);
  pn->class_owner = g_malloc (pn->n_classes);
  memset (pn->class_owner, PACKNET_FREE, (size_t) pn->n_classes);
  LfModule *heads = lf_module_find (root, "heads");
  for (int i = 0; heads && i < lf_module_n_children (heads); i++)
    g_ptr_array_add (pn->task_heads, lf_module_child (heads, i));
  return pn;
}

static gboolean
packnet_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  PackNet *pn = self;
  int64_t e = lf_ctx_experience (ctx);
  if (e < 0 || e >= PACKNET_MAX_TASKS)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                   "strategy packnet: experience %" G_GINT64_FORMAT " (needs boundaries, and at most %d tasks)",
                   e, PACKNET_MAX_TASKS);
      return FALSE;
    }
  packnet_set_current (pn, e);
  pn->pruned = FALSE;
  packnet_apply_masks (pn, ctx, PACKNET_TRAIN);
  return TRUE;
}

static gboolean
packnet_select (void *self, LfStrategyCtx *ctx, LfSelection *sel, GError **error)
{
  (void) ctx; (void) error;
  PackNet *pn = self;
  pn->train_epochs = pn->train_epochs_param > 0 ? pn->train_epochs_param : sel->epochs;
  sel->epochs = pn->train_epochs + pn->retrain_epochs;
  return TRUE;
}

/* The first batch of the first retraining epoch: prune, then only the kept
 * weights move. */
static LfBatch *
packnet_before_batch (void *self, LfStrategyCtx *ctx, LfBatch *batch)
{
  PackNet *pn = self;
  if (!pn->pruned && pn->retrain_epochs > 0 && lf_ctx_epoch (ctx) >= pn->train_epochs)
    {
      packnet_prune (pn);
      packnet_apply_masks (pn, ctx, PACKNET_RETRAIN);
    }
  return batch;
}

static gboolean
packnet_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  PackNet *pn = self;
  int64_t e = pn->experience;
  if (!pn->pruned)
    packnet_prune (pn);
  packnet_zero_free (pn);
  /* the classifier rows of this task's classes are its own */
  int64_t n;
  const int64_t *ids = lf_ctx_experience_samples (ctx, e, &n);
  g_autofree int32_t *labels = g_new (int32_t, MAX (n, 1));
  lf_ctx_labels (ctx, ids, n, labels);
  for (int64_t i = 0; i < n; i++)
    if (labels[i] >= 0 && labels[i] < pn->n_classes && pn->class_owner[labels[i]] == PACKNET_FREE)
      pn->class_owner[labels[i]] = (uint8_t) e;
  pn->done = e + 1;
  packnet_freeze_finished (pn);
  packnet_apply_masks (pn, ctx, PACKNET_FROZEN);
  for (guint l = 0; l < pn->layers->len; l++)
    packnet_layer_owners_changed (pn->layers->pdata[l]);
  if (e < pn->n_tasks)
    pn->hash_at_own_end[e] = packnet_task_hash (pn, e);
  return TRUE;
}

static void
packnet_report (void *self, LfStrategyCtx *ctx)
{
  PackNet *pn = self;
  int64_t total = 0;
  g_autofree int64_t *owned = g_new0 (int64_t, pn->n_tasks + 1);
  for (guint l = 0; l < pn->layers->len; l++)
    {
      PackNetLayer *L = pn->layers->pdata[l];
      total += L->numel;
      for (int64_t i = 0; i < L->numel; i++)
        owned[L->owner[i] == PACKNET_FREE ? pn->n_tasks : L->owner[i]]++;
    }
  g_autoptr (GString) fr = g_string_new ("[");
  g_autoptr (GString) h_own = g_string_new ("["), h_now = g_string_new ("[");
  for (int64_t t = 0; t < pn->done; t++)
    {
      const char *sep = t ? ", " : "";
      g_string_append_printf (fr, "%s%.17g", sep, (double) owned[t] / (double) MAX (total, 1));
      g_string_append_printf (h_own, "%s\"%016" PRIx64 "\"", sep, pn->hash_at_own_end[t]);
      g_string_append_printf (h_now, "%s\"%016" PRIx64 "\"", sep, packnet_task_hash (pn, t));
    }
  g_string_append_c (fr, ']');
  g_string_append_c (h_own, ']');
  g_string_append_c (h_now, ']');
  lf_ctx_report_json (ctx, "owned_fraction", fr->str);
  lf_ctx_report_number (ctx, "free_fraction", (double) owned[pn->n_tasks] / (double) MAX (total, 1));
  lf_ctx_report_number (ctx, "pruned_layers", (double) pn->layers->len);
  lf_ctx_report_number (ctx, "pruned_weights", (double) total);
  /* hash of each task's weights when it finished, and at the end of the run */
  lf_ctx_report_json (ctx, "task_hash_at_own_end", h_own->str);
  lf_ctx_report_json (ctx, "task_hash_final", h_now->str);
}

static gboolean
packnet_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  PackNet *pn = self;
  lf_state_put_int (st, "done", pn->done);
  lf_state_put_int (st, "layers", pn->layers->len);
  for (guint l = 0; l < pn->layers->len; l++)
    {
      PackNetLayer *L = pn->layers->pdata[l];
      /* binary in the checkpoint's tensor section (bytes would go to its JSON header) */
      g_autoptr (LfTensor) o = lf_tensor_new_owned (1, &L->numel);
      for (int64_t i = 0; i < L->numel; i++)
        lf_tensor_data (o)[i] = L->owner[i];
      g_autofree char *name = g_strdup_printf ("owner.%u", l);
      lf_state_put_tensor (st, name, o);
    }
  lf_state_put_bytes (st, "class_owner", pn->class_owner, (size_t) pn->n_classes);
  lf_state_put_bytes (st, "hash_at_own_end", pn->hash_at_own_end, (size_t) pn->n_tasks * sizeof (uint64_t));
  return TRUE;
}

static gboolean
packnet_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  PackNet *pn = self;
  int64_t done = 0, nl = 0;
  size_t n_co = 0, n_h = 0;
  const void *co = lf_state_get_bytes (st, "class_owner", &n_co);
  const void *hh = lf_state_get_bytes (st, "hash_at_own_end", &n_h);
  if (!lf_state_get_int (st, "done", &done) || !lf_state_get_int (st, "layers", &nl)
      || nl != (int64_t) pn->layers->len || co == NULL || n_co != (size_t) pn->n_classes
      || hh == NULL || n_h != (size_t) pn->n_tasks * sizeof (uint64_t) || done < 0 || done > pn->n_tasks)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                   "strategy packnet: the checkpoint's state does not match this model (%" G_GINT64_FORMAT
                   " pruned layers saved, %u here)", nl, pn->layers->len);
      return FALSE;
    }
  for (guint l = 0; l < pn->layers->len; l++)
    {
      PackNetLayer *L = pn->layers->pdata[l];
      g_autofree char *name = g_strdup_printf ("owner.%u", l);
      g_autoptr (LfTensor) o = lf_state_get_tensor (st, name);
      if (o == NULL || lf_tensor_numel (o) != L->numel)
        {
          g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "strategy packnet: the checkpoint has no owner map %s of %"
                       G_GINT64_FORMAT " weights", name, L->numel);
          return FALSE;
        }
      for (int64_t i = 0; i < L->numel; i++)
        L->owner[i] = (uint8_t) lf_tensor_data (o)[i];
      packnet_layer_owners_changed (L);
    }
  memcpy (pn->class_owner, co, n_co);
  memcpy (pn->hash_at_own_end, hh, n_h);
  pn->done = done;
  packnet_set_current (pn, MAX (done - 1, 0));
  pn->pruned = TRUE;
  packnet_freeze_finished (pn);
  packnet_apply_masks (pn, ctx, PACKNET_FROZEN);
  return TRUE;
}

static size_t
packnet_memory_bytes (void *self)
{
  PackNet *pn = self;
  size_t b = (size_t) pn->n_classes + (size_t) pn->n_tasks * sizeof (uint64_t);
  for (guint l = 0; l < pn->layers->len; l++)
    {
      PackNetLayer *L = pn->layers->pdata[l];
      b += (size_t) L->numel * (1 + (L->mask ? sizeof (LfReal) : 0));
    }
  return b;
}

static const LfStrategyVTable packnet_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = packnet_create,
  .destroy = packnet_free,
  .before_experience = packnet_before_experience,
  .select_training = packnet_select,
  .before_batch = packnet_before_batch,
  .after_experience = packnet_after_experience,
  .report = packnet_report,
  .save = packnet_save,
  .load = packnet_load,
  .memory_bytes = packnet_memory_bytes,
};

static const char *const packnet_scenarios[] = { "task-incremental", NULL };
static const LfCapabilities packnet_caps = {
  .touches = LF_TOUCHES_STRUCTURE | LF_TOUCHES_OPTIMIZER,
  .needs = LF_NEEDS_TASK_IDS | LF_NEEDS_TASK_IDS_AT_TEST | LF_NEEDS_BOUNDARIES | LF_NEEDS_LABELS,
  .supports = LF_SUPPORTS_CLASSIFICATION,
  .scenarios = packnet_scenarios,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "packnet",
    .version = "0.1.0",
    .summary = "PackNet: train, prune, retrain and freeze a share of each layer per task; a task sees only its "
               "own and earlier tasks' weights (Mallya & Lazebnik, \"PackNet: Adding Multiple Tasks to a Single "
               "Network by Iterative Pruning\", CVPR 2018)",
    .params = packnet_params,
    .caps = &packnet_caps,
    .vtable = &packnet_vtable,
  };
  return &info;
}
