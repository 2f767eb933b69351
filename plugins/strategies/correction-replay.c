/* lifelong plugin — strategy "correction-replay": a memory of the
 * corrections (the feedback scenario's training data, docs/open-environments.md)
 * that keeps every one (or up to `memory`), and replays a batch drawn from it
 * at every step, items corrected more than once drawn with more weight; with
 * recall, it also answers an input it was corrected on with the correction
 * (the input's content is the key, as a deployed system would see a query
 * again).  Its defining property: a corrected mistake is not made again (a
 * lower repeat_error_rate than naive's).  Needs no boundaries. */
#include <lifelong/lifelong.h>

typedef struct {
  GArray     *ids;        /* int64: the stored samples */
  GArray     *labels;     /* int32: their labels (the corrections) */
  GArray     *count;      /* int64: times each was corrected (trained on as a new sample) */
  GArray     *seq;        /* int64: when each was stored (eviction: the oldest of the least corrected) */
  GArray     *key;        /* uint64: each one's input content hash (recall) */
  GHashTable *recall;     /* input hash -> slot + 1 (recall only) */
  GHashTable *slot;       /* sample id -> slot + 1 */
  int64_t     memory, replay, n_current, stored, evicted;
  gboolean    balanced, use_recall;
  int64_t     recalled;   /* answers given from the memory */
  double      repeat_weight;
} Cr;

static const LfParam cr_params[] = {
  { "memory", LF_PARAM_INT, "0", 0, 1e9, NULL,
    "corrections kept (0: every one); a full memory drops the oldest of the least often corrected" },
  { "replay_batch_size", LF_PARAM_INT, "32", 0, 1e9, NULL, "kept corrections replayed with every batch" },
  { "balanced", LF_PARAM_BOOL, "true", 0, 0, NULL,
    "the loss is the mean over the step's new corrections plus the mean over the replayed ones (false: the mean "
    "over all rows, so a few new corrections beside a larger replay weigh little)" },
  { "recall", LF_PARAM_BOOL, "true", 0, 0, NULL,
    "answer an input the memory holds a correction for (the same content: a 64-bit hash of its features or "
    "tokens) with that correction; other inputs get the model's arg-max" },
  { "repeat_weight", LF_PARAM_FLOAT, "1", 0, 1e6, NULL,
    "an item corrected k times is drawn with weight 1 + repeat_weight (k - 1)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
cr_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  (void) ctx; (void) error;
  Cr *s = g_new0 (Cr, 1);
  s->ids = g_array_new (FALSE, FALSE, sizeof (int64_t));
  s->labels = g_array_new (FALSE, FALSE, sizeof (int32_t));
  s->count = g_array_new (FALSE, FALSE, sizeof (int64_t));
  s->seq = g_array_new (FALSE, FALSE, sizeof (int64_t));
  s->slot = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  s->key = g_array_new (FALSE, FALSE, sizeof (uint64_t));
  s->recall = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  s->memory = lf_params_get_int (p, "memory");
  s->replay = lf_params_get_int (p, "replay_batch_size");
  s->repeat_weight = lf_params_get_float (p, "repeat_weight");
  s->balanced = lf_params_get_bool (p, "balanced");
  s->use_recall = lf_params_get_bool (p, "recall");
  return s;
}

static void
cr_destroy (void *self)
{
  Cr *s = self;
  g_array_unref (s->ids);
  g_array_unref (s->labels);
  g_array_unref (s->count);
  g_array_unref (s->seq);
  g_hash_table_unref (s->slot);
  g_array_unref (s->key);
  g_hash_table_unref (s->recall);
  g_free (s);
}

/* FNV-1a over row i's features (dense) or tokens (sequences). */
static uint64_t
cr_input_hash (const LfBatch *batch, int64_t i)
{
  const uint8_t *p;
  size_t len;
  if (batch->inputs != NULL)
    {
      int64_t row = lf_tensor_numel (batch->inputs) / MAX (batch->n, 1);
      p = (const uint8_t *) (lf_tensor_data (batch->inputs) + i * row);
      len = (size_t) row * sizeof (LfReal);
    }
  else
    {
      p = (const uint8_t *) (batch->tokens + i * batch->seq_len);
      len = (size_t) batch->seq_len * sizeof (int32_t);
    }
  uint64_t h = 1469598103934665603ull;
  for (size_t k = 0; k < len; k++)
    h = (h ^ p[k]) * 1099511628211ull;
  return h;
}

static void
cr_recall_put (Cr *s, uint64_t h, int64_t k)
{
  g_hash_table_insert (s->recall, g_memdup2 (&h, sizeof h), GSIZE_TO_POINTER ((gsize) k + 1));
}

static double
cr_weight (const Cr *s, int64_t k)
{
  return 1.0 + s->repeat_weight * (double) (g_array_index (s->count, int64_t, k) - 1);
}

/* Appends replay_batch_size kept corrections, drawn with replacement by
 * weight (a generator keyed by the step). */
static LfBatch *
cr_before_batch (void *self, LfStrategyCtx *ctx, LfBatch *batch)
{
  Cr *s = self;
  s->n_current = batch->n;
  int64_t m = s->ids->len, want = s->replay;
  if (m == 0 || want == 0)
    return batch;
  double *cum = lf_scope_alloc ((size_t) m * sizeof (double)), total = 0;
  for (int64_t k = 0; k < m; k++)
    cum[k] = total += cr_weight (s, k);
  int64_t *ids = lf_scope_alloc ((size_t) want * sizeof (int64_t));
  LfRng r;
  lf_rng_init (&r, lf_ctx_rng_key (ctx, "correction-replay"));
  for (int64_t i = 0; i < want; i++)
    {
      double u = lf_rng_uniform (&r) * total;
      int64_t lo = 0, hi = m - 1;
      while (lo < hi)
        {
          int64_t mid = (lo + hi) / 2;
          if (cum[mid] > u)
            hi = mid;
          else
            lo = mid + 1;
        }
      ids[i] = g_array_index (s->ids, int64_t, lo);
    }
  return lf_ctx_concat_batches (ctx, batch, lf_ctx_batch (ctx, ids, want));
}

/* balanced: mean over the new rows + mean over the replayed rows, one
 * weighted cross-entropy (weights 1/n_new and 1/n_replayed, times 2). */
static LfTensor *
cr_loss (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out, LfTensor *loss)
{
  (void) ctx;
  Cr *s = self;
  int64_t nc = MIN (s->n_current, batch->n), nr = batch->n - nc;
  if (!s->balanced || nc == 0 || nr == 0 || batch->seq_len > 0)
    return loss;
  LfReal *w = lf_scope_alloc ((size_t) batch->n * sizeof (LfReal));
  for (int64_t i = 0; i < batch->n; i++)
    w[i] = (LfReal) (i < nc ? 1.0 / (double) nc : 1.0 / (double) nr);
  LfCrossEntropyOptions o = LF_CROSS_ENTROPY_OPTIONS_INIT;
  o.weights = w;
  return lf_scale (lf_cross_entropy (out->logits, batch->labels, &o), 2.0);
}

/* The slot a new correction takes when the memory is full: the oldest of
 * the least corrected. */
static int64_t
cr_victim (const Cr *s)
{
  int64_t best = 0;
  for (int64_t k = 1; k < (int64_t) s->ids->len; k++)
    {
      int64_t ck = g_array_index (s->count, int64_t, k), cb = g_array_index (s->count, int64_t, best);
      if (ck < cb || (ck == cb && g_array_index (s->seq, int64_t, k) < g_array_index (s->seq, int64_t, best)))
        best = k;
    }
  return best;
}

static void
cr_remember (Cr *s, int64_t id, int32_t label, uint64_t h)
{
  gpointer v = g_hash_table_lookup (s->slot, &id);
  if (v != NULL)
    {
      /* corrected again: more weight */
      int64_t k = GPOINTER_TO_SIZE (v) - 1;
      g_array_index (s->count, int64_t, k)++;
      g_array_index (s->labels, int32_t, k) = label;
      return;
    }
  int64_t one = 1, seq = s->stored++;
  int64_t k = s->ids->len;
  if (s->memory > 0 && k >= s->memory)
    {
      k = cr_victim (s);
      g_hash_table_remove (s->slot, &g_array_index (s->ids, int64_t, k));
      g_hash_table_remove (s->recall, &g_array_index (s->key, uint64_t, k));
      g_array_index (s->key, uint64_t, k) = h;
      g_array_index (s->ids, int64_t, k) = id;
      g_array_index (s->labels, int32_t, k) = label;
      g_array_index (s->count, int64_t, k) = one;
      g_array_index (s->seq, int64_t, k) = seq;
      s->evicted++;
    }
  else
    {
      g_array_append_val (s->ids, id);
      g_array_append_val (s->labels, label);
      g_array_append_val (s->count, one);
      g_array_append_val (s->seq, seq);
      g_array_append_val (s->key, h);
    }
  if (s->use_recall)
    cr_recall_put (s, h, k);
  g_hash_table_insert (s->slot, g_memdup2 (&id, sizeof id), GSIZE_TO_POINTER ((gsize) k + 1));
}

/* The step's own labelled rows (the first n_current) are corrections. */
static void
cr_after_step (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) ctx;
  Cr *s = self;
  for (int64_t i = 0; i < MIN (s->n_current, batch->n); i++)
    if (batch->labels[i] != LF_LABEL_UNKNOWN)
      cr_remember (s, batch->sample_ids[i], batch->labels[i], cr_input_hash (batch, i));
}

/* The arg-max, or (recall) the correction kept for the same input. */
static void
cr_predict (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out, int32_t *pred)
{
  (void) ctx;
  Cr *s = self;
  int64_t C = lf_tensor_dim (out->logits, -1);
  const LfReal *L = lf_tensor_data (out->logits);
  for (int64_t i = 0; i < batch->n; i++)
    {
      int32_t best = 0;
      for (int64_t c = 1; c < C; c++)
        if (L[i * C + c] > L[i * C + best])
          best = (int32_t) c;
      pred[i] = best;
      if (!s->use_recall || g_hash_table_size (s->recall) == 0)
        continue;
      uint64_t h = cr_input_hash (batch, i);
      gpointer v = g_hash_table_lookup (s->recall, &h);
      if (v != NULL)
        {
          pred[i] = g_array_index (s->labels, int32_t, GPOINTER_TO_SIZE (v) - 1);
          s->recalled++;
        }
    }
}

static void
cr_report (void *self, LfStrategyCtx *ctx)
{
  Cr *s = self;
  int64_t repeated = 0, total = 0;
  for (guint k = 0; k < s->count->len; k++)
    {
      int64_t c = g_array_index (s->count, int64_t, k);
      repeated += c > 1;
      total += c;
    }
  lf_ctx_report_buffer (ctx, (const int64_t *) s->ids->data, s->ids->len);
  lf_ctx_report_number (ctx, "memory_size", (double) s->ids->len);
  lf_ctx_report_number (ctx, "corrections_kept", (double) total);
  lf_ctx_report_number (ctx, "items_corrected_again", (double) repeated);
  lf_ctx_report_number (ctx, "evicted", (double) s->evicted);
  if (s->use_recall)
    lf_ctx_report_number (ctx, "answers_recalled", (double) s->recalled);
}

static gboolean
cr_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Cr *s = self;
  lf_state_put_int (st, "correction-replay.n", s->ids->len);
  lf_state_put_int (st, "correction-replay.stored", s->stored);
  lf_state_put_int (st, "correction-replay.evicted", s->evicted);
  lf_state_put_bytes (st, "correction-replay.ids", s->ids->data, s->ids->len * sizeof (int64_t));
  lf_state_put_bytes (st, "correction-replay.labels", s->labels->data, s->labels->len * sizeof (int32_t));
  lf_state_put_bytes (st, "correction-replay.count", s->count->data, s->count->len * sizeof (int64_t));
  lf_state_put_bytes (st, "correction-replay.seq", s->seq->data, s->seq->len * sizeof (int64_t));
  lf_state_put_bytes (st, "correction-replay.key", s->key->data, s->key->len * sizeof (uint64_t));
  return TRUE;
}

static gboolean
cr_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  (void) ctx;
  Cr *s = self;
  int64_t n = -1;
  size_t bi = 0, bl = 0, bc = 0, bs = 0;
  lf_state_get_int (st, "correction-replay.n", &n);
  const void *ids = lf_state_get_bytes (st, "correction-replay.ids", &bi);
  const void *labels = lf_state_get_bytes (st, "correction-replay.labels", &bl);
  const void *count = lf_state_get_bytes (st, "correction-replay.count", &bc);
  const void *seq = lf_state_get_bytes (st, "correction-replay.seq", &bs);
  size_t bk = 0;
  const void *key = lf_state_get_bytes (st, "correction-replay.key", &bk);
  if (n < 0 || bk != (size_t) n * sizeof (uint64_t) || (n > 0 && !key) || bi != (size_t) n * sizeof (int64_t) || bl != (size_t) n * sizeof (int32_t)
      || bc != (size_t) n * sizeof (int64_t) || bs != (size_t) n * sizeof (int64_t)
      || (n > 0 && (!ids || !labels || !count || !seq)))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                   "correction-replay: the checkpoint's memory (correction-replay.*) is missing or damaged");
      return FALSE;
    }
  g_array_set_size (s->ids, 0);
  g_array_set_size (s->labels, 0);
  g_array_set_size (s->count, 0);
  g_array_set_size (s->seq, 0);
  g_array_set_size (s->key, 0);
  g_hash_table_remove_all (s->slot);
  g_hash_table_remove_all (s->recall);
  if (n > 0)
    {
      g_array_append_vals (s->ids, ids, (guint) n);
      g_array_append_vals (s->labels, labels, (guint) n);
      g_array_append_vals (s->count, count, (guint) n);
      g_array_append_vals (s->seq, seq, (guint) n);
      g_array_append_vals (s->key, key, (guint) n);
    }
  for (int64_t k = 0; k < n; k++)
    {
      g_hash_table_insert (s->slot, g_memdup2 (&g_array_index (s->ids, int64_t, k), sizeof (int64_t)),
                           GSIZE_TO_POINTER ((gsize) k + 1));
      if (s->use_recall)
        cr_recall_put (s, g_array_index (s->key, uint64_t, k), k);
    }
  lf_state_get_int (st, "correction-replay.stored", &s->stored);
  lf_state_get_int (st, "correction-replay.evicted", &s->evicted);
  return TRUE;
}

static size_t
cr_memory_bytes (void *self)
{
  const Cr *s = self;
  return s->ids->len * (4 * sizeof (int64_t) + sizeof (int32_t));
}

static const LfStrategyVTable cr_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = cr_create,
  .destroy = cr_destroy,
  .before_batch = cr_before_batch,
  .loss = cr_loss,
  .after_step = cr_after_step,
  .predict = cr_predict,
  .report = cr_report,
  .save = cr_save,
  .load = cr_load,
  .memory_bytes = cr_memory_bytes,
};

static const LfCapabilities cr_caps = {
  .touches = LF_TOUCHES_DATA,
  .needs = LF_NEEDS_LABELS,
  .supports = LF_SUPPORTS_ONLINE | LF_SUPPORTS_CLASSIFICATION,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "correction-replay",
    .version = "0.1.0",
    .summary = "keeps every correction of the feedback scenario and replays them at every step, those corrected "
               "more than once with more weight, and answers an input it was corrected on with its correction "
               "(recall; docs/open-environments.md)",
    .params = cr_params,
    .caps = &cr_caps,
    .vtable = &cr_vtable,
  };
  return &info;
}
