/* lifelong tests — strategy "abi10-probe", compiled against the frozen ABI
 * 1.0 headers in tests/abi-1.0/include only (never the live ones), so that
 * every later host proves it still runs a plugin built for 1.0.  It touches
 * as much of the 1.0 surface as a small method can: a parameter table of
 * every scalar type, capabilities, every hook, the selection, batches
 * (replay through lf_ctx_batch and lf_ctx_concat_batches), the model's
 * output, gradients, snapshots, the quadratic penalty, a replay buffer, the
 * keyed generator, checkpoint state and report figures.  Its figures let
 * tests/test-abi-compat.c check that each hook ran with sensible data. */
#include <lifelong/lifelong.h>

#if LF_ABI_MAJOR != 1 || LF_ABI_MINOR != 0
#error "abi10-probe must be compiled against the frozen headers in tests/abi-1.0/include"
#endif

typedef struct {
  double          strength;
  int64_t         replay;         /* replayed samples appended per batch      */
  gboolean        use_predict;
  LfReplayBuffer *buffer;         /* ids of earlier experiences' samples      */
  int             n;
  LfTensor      **params;         /* borrowed from the model                  */
  LfSnapshot     *anchor;         /* the weights after the last experience    */
  int64_t         created_T;      /* lf_ctx_n_experiences at create           */
  int64_t         experiences, selected, steps, replayed, predicted, predict_calls;
  double          grad_sq, penalty;
} Probe;

static const LfParam probe_params[] = {
  { "strength", LF_PARAM_FLOAT, "0.5", 0, 1e6, NULL, "L2 pull toward the previous experience's weights" },
  { "replay", LF_PARAM_INT, "8", 0, 1e6, NULL, "replayed samples appended to each batch" },
  { "predict", LF_PARAM_BOOL, "true", 0, 0, NULL, "evaluate through this plugin's predict" },
  { "mode", LF_PARAM_STRING, "\"pull\"", 0, 0, "pull|none", "pull: add the L2 pull; none: plain loss" },
  { "tags", LF_PARAM_INT_LIST, "[1, 2]", 0, 100, NULL, "an int list, read and reported" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
probe_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  if (lf_ctx_n_experiences (ctx) < 1)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "abi10-probe needs experience boundaries");
      return NULL;
    }
  Probe *s = g_new0 (Probe, 1);
  s->strength = g_str_equal (lf_params_get_string (p, "mode"), "pull") ? lf_params_get_float (p, "strength") : 0;
  s->replay = lf_params_get_int (p, "replay");
  s->use_predict = lf_params_get_bool (p, "predict");
  int64_t n_tags = 0;
  const int64_t *tags = lf_params_get_int_list (p, "tags", &n_tags);
  g_return_val_if_fail (n_tags == 0 || tags != NULL, NULL);
  s->created_T = lf_ctx_n_experiences (ctx);
  s->buffer = lf_replay_new (200, LF_REPLAY_RESERVOIR, 0, lf_ctx_rng_key (ctx, "abi10-probe-buffer"));
  g_autoptr (GPtrArray) ps = lf_model_params (lf_ctx_model (ctx), TRUE);
  s->n = (int) ps->len;
  s->params = g_memdup2 (ps->pdata, sizeof (LfTensor *) * MAX (ps->len, 1));
  return s;
}

static void
probe_destroy (void *self)
{
  Probe *s = self;
  lf_replay_free (s->buffer);
  lf_snapshot_free (s->anchor);
  g_free (s->params);
  g_free (s);
}

static gboolean
probe_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Probe *s = self;
  g_return_val_if_fail (lf_ctx_experience (ctx) == s->experiences, FALSE);
  return TRUE;
}

static gboolean
probe_select_training (void *self, LfStrategyCtx *ctx, LfSelection *sel, GError **error)
{
  (void) ctx; (void) error;
  Probe *s = self;
  g_return_val_if_fail (sel->struct_size >= sizeof (LfSelection) && sel->n > 0 && sel->epochs > 0, FALSE);
  s->selected += sel->n;
  return TRUE;
}

static LfBatch *
probe_before_batch (void *self, LfStrategyCtx *ctx, LfBatch *batch)
{
  Probe *s = self;
  int64_t k = MIN (s->replay, lf_replay_size (s->buffer));
  if (k <= 0)
    return batch;
  int64_t *slots = lf_scope_alloc (sizeof (int64_t) * (size_t) k), *ids = lf_scope_alloc (sizeof (int64_t) * (size_t) k);
  k = lf_replay_sample (s->buffer, k, lf_ctx_rng_key (ctx, "abi10-probe-replay"), slots);
  for (int64_t i = 0; i < k; i++)
    ids[i] = lf_replay_ids (s->buffer)[slots[i]];
  LfBatch *old = lf_ctx_batch (ctx, ids, k);
  s->replayed += old->n;
  return lf_ctx_concat_batches (ctx, batch, old);
}

static LfTensor *
probe_loss (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out, LfTensor *loss)
{
  (void) ctx;
  Probe *s = self;
  g_return_val_if_fail (lf_tensor_dim (out->logits, 0) == batch->n && out->features != NULL, loss);
  if (s->anchor == NULL || s->strength == 0)
    return loss;
  LfTensor **anchors = lf_scope_alloc (sizeof (LfTensor *) * (size_t) MAX (s->n, 1));
  lf_snapshot_lookup (s->anchor, s->n, s->params, anchors);
  LfTensor *pull = lf_quadratic_penalty (s->n, s->params, anchors, NULL);
  s->penalty = lf_tensor_data (pull)[0];
  return lf_add (loss, lf_scale (pull, s->strength / 2));
}

static void
probe_after_backward (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) ctx; (void) batch;
  Probe *s = self;
  for (int i = 0; i < s->n; i++)
    {
      const LfReal *g = lf_tensor_grad (s->params[i]);
      for (int64_t k = 0; g != NULL && k < lf_tensor_numel (s->params[i]); k++)
        s->grad_sq += (double) g[k] * g[k];
    }
}

static void
probe_after_step (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) ctx; (void) batch;
  ((Probe *) self)->steps++;
}

static gboolean
probe_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Probe *s = self;
  int64_t n;
  const int64_t *ids = lf_ctx_experience_samples (ctx, lf_ctx_experience (ctx), &n);
  int32_t *labels = g_new (int32_t, MAX (n, 1));
  lf_ctx_labels (ctx, ids, n, labels);
  lf_replay_offer (s->buffer, ids, labels, NULL, n);
  g_free (labels);
  lf_snapshot_free (s->anchor);
  s->anchor = lf_snapshot_take (lf_model_root (lf_ctx_model (ctx)), TRUE);
  s->experiences++;
  return TRUE;
}

static void
probe_predict (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out, int32_t *pred)
{
  (void) ctx;
  Probe *s = self;
  int64_t C = lf_tensor_dim (out->logits, -1);
  const LfReal *z = lf_tensor_data (out->logits);
  for (int64_t i = 0; i < batch->n; i++)
    {
      int32_t best = 0;
      for (int64_t c = 1; c < C; c++)
        if (z[i * C + c] > z[i * C + best])
          best = (int32_t) c;
      pred[i] = best;
    }
  s->predicted += batch->n;
  s->predict_calls++;
}

static void
probe_report (void *self, LfStrategyCtx *ctx)
{
  Probe *s = self;
  lf_ctx_report_number (ctx, "created_T", (double) s->created_T);
  lf_ctx_report_number (ctx, "experiences", (double) s->experiences);
  lf_ctx_report_number (ctx, "selected", (double) s->selected);
  lf_ctx_report_number (ctx, "steps", (double) s->steps);
  lf_ctx_report_number (ctx, "replayed", (double) s->replayed);
  lf_ctx_report_number (ctx, "predicted", (double) s->predicted);
  lf_ctx_report_number (ctx, "predict_calls", (double) s->predict_calls);
  lf_ctx_report_number (ctx, "buffer", (double) lf_replay_size (s->buffer));
  lf_ctx_report_number (ctx, "grad_norm_sq_sum", s->grad_sq);
  lf_ctx_report_number (ctx, "penalty_last", s->penalty);
  lf_ctx_report_json (ctx, "abi", "{\"major\": 1, \"minor\": 0}");
}

static gboolean
probe_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Probe *s = self;
  int64_t counts[6] = { s->experiences, s->selected, s->steps, s->replayed, s->predicted, s->predict_calls };
  lf_state_put_bytes (st, "abi10.counts", counts, sizeof counts);
  lf_state_put_bytes (st, "abi10.figures", (double[2]) { s->grad_sq, s->penalty }, 2 * sizeof (double));
  g_autoptr (GBytes) blob = lf_replay_serialize (s->buffer);
  gsize nb;
  const void *data = g_bytes_get_data (blob, &nb);
  lf_state_put_bytes (st, "abi10.buffer", data, nb);
  for (int i = 0; s->anchor != NULL && i < s->n; i++)
    {
      g_autofree char *key = g_strconcat ("abi10.anchor.", lf_tensor_name (s->params[i]), NULL);
      lf_state_put_tensor (st, key, lf_snapshot_get (s->anchor, lf_tensor_name (s->params[i])));
    }
  lf_state_put_int (st, "abi10.has_anchor", s->anchor != NULL);
  return TRUE;
}

static gboolean
probe_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  Probe *s = self;
  size_t nc = 0, nf = 0, nb = 0;
  const int64_t *counts = lf_state_get_bytes (st, "abi10.counts", &nc);
  const double *fig = lf_state_get_bytes (st, "abi10.figures", &nf);
  const void *buf = lf_state_get_bytes (st, "abi10.buffer", &nb);
  int64_t has_anchor = 0;
  if (counts == NULL || nc != 6 * sizeof (int64_t) || fig == NULL || nf != 2 * sizeof (double) || buf == NULL
      || !lf_state_get_int (st, "abi10.has_anchor", &has_anchor))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "abi10-probe: the checkpoint lacks its state");
      return FALSE;
    }
  s->experiences = counts[0]; s->selected = counts[1]; s->steps = counts[2];
  s->replayed = counts[3]; s->predicted = counts[4]; s->predict_calls = counts[5];
  s->grad_sq = fig[0];
  s->penalty = fig[1];
  g_autoptr (GBytes) blob = g_bytes_new (buf, nb);
  LfReplayBuffer *b = lf_replay_deserialize (blob, error);
  if (b == NULL)
    return FALSE;
  lf_replay_free (s->buffer);
  s->buffer = b;
  lf_snapshot_free (s->anchor);
  s->anchor = has_anchor ? lf_snapshot_take (lf_model_root (lf_ctx_model (ctx)), TRUE) : NULL;
  for (int i = 0; s->anchor != NULL && i < s->n; i++)
    {
      g_autofree char *key = g_strconcat ("abi10.anchor.", lf_tensor_name (s->params[i]), NULL);
      g_autoptr (LfTensor) t = lf_state_get_tensor (st, key);
      LfTensor *dst = lf_snapshot_get (s->anchor, lf_tensor_name (s->params[i]));
      if (t == NULL || dst == NULL || lf_tensor_numel (t) != lf_tensor_numel (dst))
        {
          g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "abi10-probe: the checkpoint lacks %s", key);
          return FALSE;
        }
      lf_tensor_copy_data (dst, t);
    }
  return TRUE;
}

static size_t
probe_memory_bytes (void *self)
{
  Probe *s = self;
  return sizeof *s + lf_replay_bytes (s->buffer) + (s->anchor != NULL ? lf_snapshot_bytes (s->anchor) : 0);
}

/* Every 1.0 slot, in order. */
static const LfStrategyVTable probe_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = probe_create,
  .destroy = probe_destroy,
  .before_experience = probe_before_experience,
  .select_training = probe_select_training,
  .before_batch = probe_before_batch,
  .loss = probe_loss,
  .after_backward = probe_after_backward,
  .after_step = probe_after_step,
  .after_experience = probe_after_experience,
  .predict = probe_predict,
  .report = probe_report,
  .save = probe_save,
  .load = probe_load,
  .memory_bytes = probe_memory_bytes,
};

static const char *const probe_scenarios[] = { "class-incremental", "task-incremental", NULL };
static const LfCapabilities probe_caps = {
  .touches = LF_TOUCHES_LOSS | LF_TOUCHES_DATA | LF_TOUCHES_INFERENCE,
  .needs = LF_NEEDS_BOUNDARIES | LF_NEEDS_LABELS,
  .supports = LF_SUPPORTS_CLASSIFICATION,
  .scenarios = probe_scenarios,
};

static const char *const probe_aliases[] = { "abi-1-0-probe", NULL };

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "abi10-probe",
    .version = "1.0.0",
    .summary = "a strategy built against the frozen ABI 1.0 headers: proves later hosts still run it",
    .params = probe_params,
    .caps = &probe_caps,
    .aliases = probe_aliases,
    .vtable = &probe_vtable,
  };
  return &info;
}
