/* lifelong plugin — strategy "der": Dark Experience Replay.  A reservoir
 * buffer keeps each sample's logits as the model computed them when the
 * sample was seen; replayed samples are pulled towards those logits (MSE).
 * derpp.c builds this file again with DER_PLUSPLUS defined: DER++ also
 * replays a second sample with its stored labels (cross-entropy). */
#include <lifelong/lifelong.h>
#include <lifelong/toolkit/replay.h>
#include <math.h>

#ifdef DER_PLUSPLUS
#define DER_NAME "derpp"
#else
#define DER_NAME "der"
#endif

/* Task-incremental logits arrive masked: the host adds -1e9 outside the
 * sample's task.  Stored rows keep that sentinel; the logit loss skips it. */
#define DER_MASKED(v) ((v) < (LfReal) -1e8)

/* DER and DER++ use the same random keys ("der-..."), so DER++ with
 * beta = 0 is DER exactly. */
typedef struct {
  LfReplayBuffer *buf;
  double   alpha, beta;
  int64_t  replay_batch;      /* 0: the current batch's size */
  int64_t  C;                 /* logits per sample (the model's classes) */
  /* this step (arena memory of the step's scope) */
  int64_t  n_current, n_logit, n_label;
  const LfReal  *logit_targets;  /* (n_logit, C) stored logits of the first replayed rows */
  const int32_t *label_targets;  /* (n_label) stored labels of the second replayed rows (DER++) */
  /* the current rows' logits, kept from loss to after_step (owned) */
  LfReal  *pending;
  int64_t  pending_cap, pending_n;
  /* figures */
  int64_t  max_size, replay_steps;
  double   logit_loss_sum;
} Der;

static const LfParam der_params[] = {
  { "alpha", LF_PARAM_FLOAT, "0.3", 0, 1e6, NULL,
    "weight of the MSE between replayed samples' current and stored logits" },
#ifdef DER_PLUSPLUS
  { "beta", LF_PARAM_FLOAT, "0.5", 0, 1e6, NULL,
    "weight of the cross-entropy on a second replayed sample with its stored labels" },
#endif
  { "buffer_size", LF_PARAM_INT, "500", 0, 1e9, NULL,
    "samples the reservoir buffer holds (ids, labels and one row of logits each)" },
  { "replay_batch_size", LF_PARAM_INT, "0", 0, 1e9, NULL,
    "samples drawn from the buffer for each replay term per step (0: the current batch's size)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
der_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  int64_t C = lf_ctx_spec (ctx)->n_classes;
  if (C <= 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                   DER_NAME ": needs a classifier head (the model has %" G_GINT64_FORMAT " classes)", C);
      return NULL;
    }
  Der *s = g_new0 (Der, 1);
  s->alpha = lf_params_get_float (p, "alpha");
#ifdef DER_PLUSPLUS
  s->beta = lf_params_get_float (p, "beta");
#endif
  s->replay_batch = lf_params_get_int (p, "replay_batch_size");
  s->C = C;
  s->buf = lf_replay_new (lf_params_get_int (p, "buffer_size"), LF_REPLAY_RESERVOIR, C,
                          lf_ctx_rng_key (ctx, "der-buffer"));
  return s;
}

static void
der_destroy (void *self)
{
  Der *s = self;
  lf_replay_free (s->buf);
  g_free (s->pending);
  g_free (s);
}

/* A copy of batch (in the arena) whose rows all carry weight w in the
 * host's cross-entropy (existing weights are scaled). */
static LfBatch *
der_weighted (const LfBatch *batch, LfReal w)
{
  LfBatch *b = lf_scope_alloc (sizeof (LfBatch));
  *b = *batch;
  LfReal *wt = lf_scope_alloc ((size_t) MAX (batch->n, 1) * sizeof (LfReal));
  for (int64_t i = 0; i < batch->n; i++)
    wt[i] = batch->weights ? batch->weights[i] * w : w;
  b->weights = wt;
  return b;
}

/* n samples drawn from the buffer (keyed by purpose); their slots into
 * *slots_out (arena).  Returns the batch (weight 0: the host's loss does
 * not see them) or NULL when the buffer is empty. */
static LfBatch *
der_draw (Der *s, LfStrategyCtx *ctx, int64_t want, const char *purpose, int64_t **slots_out, int64_t *n_out)
{
  int64_t *slots = lf_scope_alloc ((size_t) MAX (want, 1) * sizeof (int64_t));
  int64_t n = lf_replay_sample (s->buf, want, lf_ctx_rng_key (ctx, purpose), slots);
  *n_out = n;
  *slots_out = slots;
  if (n == 0)
    return NULL;
  int64_t *ids = lf_scope_alloc ((size_t) n * sizeof (int64_t));
  const int64_t *stored = lf_replay_ids (s->buf);
  for (int64_t i = 0; i < n; i++)
    ids[i] = stored[slots[i]];
  return der_weighted (lf_ctx_batch (ctx, ids, n), 0);
}

/* The batch becomes [current | replay for the logit term | replay for the
 * label term (DER++)], one forward for all; replayed rows have weight 0 in
 * the host's cross-entropy, so it stays the current samples' loss. */
static LfBatch *
der_before_batch (void *self, LfStrategyCtx *ctx, LfBatch *batch)
{
  Der *s = self;
  s->n_current = batch->n;
  s->n_logit = s->n_label = 0;
  s->logit_targets = NULL;
  s->label_targets = NULL;
  int64_t want = s->replay_batch > 0 ? s->replay_batch : batch->n;
  if (lf_replay_size (s->buf) == 0 || want == 0 || (s->alpha == 0 && s->beta == 0))
    return batch;
  LfBatch *out = der_weighted (batch, 1);
  int64_t *slots, n;
  if (s->alpha > 0)
    {
      LfBatch *r = der_draw (s, ctx, want, "der-replay-logits", &slots, &n);
      LfReal *t = lf_scope_alloc ((size_t) (n * s->C) * sizeof (LfReal));
      const LfReal *L = lf_replay_logits (s->buf);
      for (int64_t i = 0; i < n; i++)
        memcpy (t + i * s->C, L + slots[i] * s->C, (size_t) s->C * sizeof (LfReal));
      s->logit_targets = t;
      s->n_logit = n;
      out = lf_ctx_concat_batches (ctx, out, r);
    }
  if (s->beta > 0)
    {
      LfBatch *r = der_draw (s, ctx, want, "der-replay-labels", &slots, &n);
      int32_t *y = lf_scope_alloc ((size_t) n * sizeof (int32_t));
      const int32_t *Y = lf_replay_labels (s->buf);
      for (int64_t i = 0; i < n; i++)
        y[i] = Y[slots[i]];
      s->label_targets = y;
      s->n_label = n;
      out = lf_ctx_concat_batches (ctx, out, r);
    }
  return out;
}

/* mean over the entries the task mask keeps of (cur - target)^2 -> (1),
 * or NULL when it keeps none.  cur: (n, C) rows of the step's logits;
 * target: n x C stored values. */
static LfTensor *
der_logit_mse (LfTensor *cur, const LfReal *target, int64_t n, int64_t C)
{
  int64_t shape[2] = { n, C };
  LfTensor *t = lf_tensor_from_data (2, shape, target);
  int64_t kept = 0;
  for (int64_t i = 0; i < n * C; i++)
    kept += !DER_MASKED (target[i]);
  if (kept == n * C)
    return lf_mse (cur, t);
  if (kept == 0)
    return NULL;
  LfTensor *mask = lf_tensor_new (2, shape);
  LfReal *m = lf_tensor_data (mask);
  for (int64_t i = 0; i < n * C; i++)
    m[i] = DER_MASKED (target[i]) ? 0 : 1;
  /* the masked entries' difference is rounding noise of -1e9; x 0 */
  LfTensor *sq = lf_mul (lf_sqr (lf_sub (cur, t)), mask);
  return lf_scale (lf_sum (sq), 1.0 / (double) kept);
}

static LfTensor *
der_loss (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out, LfTensor *loss)
{
  (void) ctx;
  Der *s = self;
  int64_t n = s->n_current, C = s->C;
  g_return_val_if_fail (lf_tensor_ndim (out->logits) == 2 && lf_tensor_dim (out->logits, 1) == C, loss);
  g_return_val_if_fail (batch->n == n + s->n_logit + s->n_label, loss);
  /* the logits offered with the current samples: computed now, stored
   * after the step (values, not the graph) */
  if (n > s->pending_cap)
    {
      s->pending_cap = n;
      s->pending = g_renew (LfReal, s->pending, (gsize) (n * C));
    }
  memcpy (s->pending, lf_tensor_data (out->logits), (size_t) (n * C) * sizeof (LfReal));
  s->pending_n = n;
  if (s->n_logit > 0)
    {
      LfTensor *cur = lf_slice (out->logits, 0, n, n + s->n_logit);
      LfTensor *mse = der_logit_mse (cur, s->logit_targets, s->n_logit, C);
      if (mse)
        {
          s->logit_loss_sum += lf_tensor_data (mse)[0];
          s->replay_steps++;
          loss = lf_add (loss, lf_scale (mse, s->alpha));
        }
    }
  if (s->n_label > 0)
    {
      int64_t at = n + s->n_logit;
      LfTensor *cur = lf_slice (out->logits, 0, at, at + s->n_label);
      loss = lf_add (loss, lf_scale (lf_cross_entropy (cur, s->label_targets, NULL), s->beta));
    }
  return loss;
}

static void
der_after_step (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) ctx;
  Der *s = self;
  int64_t n = MIN (s->pending_n, batch->n);
  lf_replay_offer (s->buf, batch->sample_ids, batch->labels, s->pending, n);
  s->pending_n = 0;
  s->max_size = MAX (s->max_size, lf_replay_size (s->buf));
}

static void
der_report (void *self, LfStrategyCtx *ctx)
{
  Der *s = self;
  /* what it keeps, for the host's purity figure under label_noise */
  lf_ctx_report_buffer (ctx, lf_replay_ids (s->buf), lf_replay_size (s->buf));
  lf_ctx_report_number (ctx, "buffer_capacity", (double) lf_replay_capacity (s->buf));
  lf_ctx_report_number (ctx, "buffer_size", (double) lf_replay_size (s->buf));
  lf_ctx_report_number (ctx, "buffer_max_size", (double) s->max_size);
  lf_ctx_report_number (ctx, "samples_offered", (double) lf_replay_seen (s->buf));
  /* over the stored entries the task mask kept */
  const LfReal *L = lf_replay_logits (s->buf);
  double sum = 0;
  int64_t kept = 0;
  for (int64_t i = 0; i < lf_replay_size (s->buf) * s->C; i++)
    if (!DER_MASKED (L[i]))
      {
        sum += fabs ((double) L[i]);
        kept++;
      }
  lf_ctx_report_number (ctx, "stored_logit_mean_abs", kept ? sum / (double) kept : 0);
  lf_ctx_report_number (ctx, "replay_steps", (double) s->replay_steps);
  lf_ctx_report_number (ctx, "logit_mse_mean",
                        s->replay_steps ? s->logit_loss_sum / (double) s->replay_steps : 0);
}

static gboolean
der_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Der *s = self;
  lf_replay_put_state (s->buf, st, DER_NAME ".buffer");
  lf_state_put_int (st, DER_NAME ".max_size", s->max_size);
  lf_state_put_int (st, DER_NAME ".replay_steps", s->replay_steps);
  lf_state_put_bytes (st, DER_NAME ".logit_loss_sum", &s->logit_loss_sum, sizeof (double));
  return TRUE;
}

static gboolean
der_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  (void) ctx;
  Der *s = self;
  LfReplayBuffer *b = lf_replay_get_state (st, DER_NAME ".buffer", error);
  if (b == NULL)
    return FALSE;
  if (lf_replay_logit_dim (b) != s->C)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                   DER_NAME ": the checkpoint's buffer stores %" G_GINT64_FORMAT " logits per sample, the model has %"
                   G_GINT64_FORMAT " classes", lf_replay_logit_dim (b), s->C);
      lf_replay_free (b);
      return FALSE;
    }
  lf_replay_free (s->buf);
  s->buf = b;
  lf_state_get_int (st, DER_NAME ".max_size", &s->max_size);
  lf_state_get_int (st, DER_NAME ".replay_steps", &s->replay_steps);
  size_t nl = 0;
  const void *sum = lf_state_get_bytes (st, DER_NAME ".logit_loss_sum", &nl);
  if (sum && nl == sizeof (double))
    memcpy (&s->logit_loss_sum, sum, sizeof (double));
  return TRUE;
}

static size_t
der_memory_bytes (void *self)
{
  Der *s = self;
  return lf_replay_bytes (s->buf) + (size_t) (s->pending_cap * s->C) * sizeof (LfReal);
}

static const LfStrategyVTable der_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = der_create,
  .destroy = der_destroy,
  .before_batch = der_before_batch,
  .loss = der_loss,
  .after_step = der_after_step,
  .report = der_report,
  .save = der_save,
  .load = der_load,
  .memory_bytes = der_memory_bytes,
};

static const LfCapabilities der_caps = {
  .touches = LF_TOUCHES_DATA | LF_TOUCHES_LOSS,
  .needs = LF_NEEDS_LABELS,
  .supports = LF_SUPPORTS_ONLINE | LF_SUPPORTS_CLASSIFICATION,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = DER_NAME,
    .version = "0.1.0",
#ifdef DER_PLUSPLUS
    .summary = "DER++: Dark Experience Replay with stored logits (MSE) and stored labels (cross-entropy) "
               "(Buzzega, Boschini, Porrello, Abati, Calderara, NeurIPS 2020)",
#else
    .summary = "Dark Experience Replay: replays samples with the logits stored when they were seen (MSE) "
               "(Buzzega, Boschini, Porrello, Abati, Calderara, NeurIPS 2020)",
#endif
    .params = der_params,
    .caps = &der_caps,
    .vtable = &der_vtable,
  };
  return &info;
}
