/* lifelong — what the host gives a strategy: the model, the optimizer, the
 * scenario's samples as batches, keyed randomness, and the result's
 * "strategy" section and strategy-given top-level members. */
#include "host.h"
#include <stdio.h>

LfModel *lf_ctx_model (LfStrategyCtx *ctx) { return ctx->model; }
LfOptimizer *lf_ctx_optimizer (LfStrategyCtx *ctx) { return ctx->opt; }
const LfDataSpec *lf_ctx_spec (LfStrategyCtx *ctx) { return &ctx->model->spec; }
int64_t lf_ctx_experience (LfStrategyCtx *ctx) { return ctx->boundaries ? ctx->experience : -1; }
int64_t lf_ctx_n_experiences (LfStrategyCtx *ctx) { return ctx->boundaries ? ctx->sc->n_exp : -1; }
int64_t lf_ctx_epoch (LfStrategyCtx *ctx) { return ctx->epoch; }
int64_t lf_ctx_step (LfStrategyCtx *ctx) { return ctx->step; }
gboolean lf_ctx_has_task_ids (LfStrategyCtx *ctx) { return ctx->sc->task_ids; }

uint64_t
lf_ctx_rng_key (LfStrategyCtx *ctx, const char *purpose)
{
  return lf_rng_key (ctx->seed, (uint64_t) ctx->experience, (uint64_t) ctx->step, 1, purpose);
}

const int64_t *
lf_ctx_experience_samples (LfStrategyCtx *ctx, int64_t e, int64_t *n)
{
  g_return_val_if_fail (e >= 0 && e <= ctx->experience && e < ctx->sc->n_exp, NULL);
  GArray *a = lf_scenario_labelled (ctx->sc, e);
  *n = a->len;
  return (const int64_t *) a->data;
}

const int64_t *
lf_ctx_stream_samples (LfStrategyCtx *ctx, int64_t e, int64_t *n)
{
  g_return_val_if_fail (e >= 0 && e <= ctx->experience && e < ctx->sc->n_exp, NULL);
  GArray *a = ctx->sc->exps[e].train;
  *n = a->len;
  return (const int64_t *) a->data;
}

int64_t
lf_ctx_oracle_budget (LfStrategyCtx *ctx)
{
  return lf_oracle_budget (ctx->sc->oracle);
}

int64_t
lf_ctx_oracle_used (LfStrategyCtx *ctx)
{
  return lf_oracle_used (ctx->sc->oracle);
}

int64_t
lf_ctx_oracle_query (LfStrategyCtx *ctx, LfSplit split, const int64_t *ids, int64_t n, int32_t *labels,
                     GError **error)
{
  g_return_val_if_fail (n >= 0 && (n == 0 || (ids != NULL && labels != NULL)), -1);
  if (ctx->sc->oracle == NULL)
    {
      /* no oracle: every question refused */
      for (int64_t i = 0; i < n; i++)
        labels[i] = LF_LABEL_UNKNOWN;
      return 0;
    }
  return lf_oracle_query (ctx->sc->oracle, split, ids, n, ctx->experience, ctx->step, labels, error);
}

int64_t *
lf_ctx_samples_through (LfStrategyCtx *ctx, int64_t last, int64_t *n)
{
  g_return_val_if_fail (last >= 0 && last < ctx->sc->n_exp, NULL);
  int64_t total = 0;
  for (int64_t k = 0; k <= last; k++)
    total += lf_scenario_labelled (ctx->sc, k)->len;
  int64_t *ids = g_new (int64_t, MAX (total, 1)), at = 0;
  for (int64_t k = 0; k <= last; k++)
    {
      GArray *a = lf_scenario_labelled (ctx->sc, k);
      memcpy (ids + at, a->data, (size_t) a->len * sizeof (int64_t));
      at += a->len;
    }
  *n = total;
  return ids;
}

const int64_t *
lf_ctx_reference_samples (LfStrategyCtx *ctx, int64_t *n)
{
  GArray *a = ctx->sc->reference;
  *n = a ? a->len : 0;
  return a && a->len > 0 ? (const int64_t *) a->data : NULL;
}

LfBatch *
lf_ctx_batch (LfStrategyCtx *ctx, const int64_t *sample_ids, int64_t n)
{
  return lf_scenario_batch (ctx->sc, ctx->ds, LF_SPLIT_TRAIN, sample_ids, n);
}

void
lf_ctx_labels (LfStrategyCtx *ctx, const int64_t *sample_ids, int64_t n, int32_t *labels)
{
  const LfScenario *sc = ctx->sc;
  for (int64_t i = 0; i < n; i++)
    labels[i] = lf_scenario_train_label (sc, ctx->ds, sample_ids[i]);
}

/* Joins two arena arrays of n_a and n_b elements of size sz (NULL if either is NULL). */
static void *
join (const void *a, int64_t na, const void *b, int64_t nb, size_t sz)
{
  if (a == NULL || b == NULL)
    return NULL;
  char *p = lf_arena_alloc ((size_t) MAX (na + nb, 1) * sz);
  memcpy (p, a, (size_t) na * sz);
  memcpy (p + (size_t) na * sz, b, (size_t) nb * sz);
  return p;
}

LfBatch *
lf_ctx_concat_batches (LfStrategyCtx *ctx, const LfBatch *a, const LfBatch *b)
{
  g_return_val_if_fail (a->split == b->split, NULL);
  LfBatch *c = lf_arena_alloc (sizeof (LfBatch));
  memset (c, 0, sizeof *c);
  c->struct_size = sizeof (LfBatch);
  c->n = a->n + b->n;
  c->split = a->split;
  c->seq_len = a->seq_len;
  if (a->inputs && b->inputs)
    {
      LfTensor *both[2] = { a->inputs, b->inputs };
      c->inputs = lf_concat (both, 2, 0);
    }
  int64_t per_tok = a->seq_len > 0 ? a->seq_len : 1;
  c->tokens = join (a->tokens, a->n * per_tok, b->tokens, b->n * per_tok, sizeof (int32_t));
  /* a language model's labels are next-token targets (n, seq_len); a
   * classifier's (text classification included) one per sample */
  int64_t per_label = ctx->sc->lm ? per_tok : 1;
  c->labels = join (a->labels, a->n * per_label, b->labels, b->n * per_label, sizeof (int32_t));
  c->task_ids = join (a->task_ids, a->n, b->task_ids, b->n, sizeof (int32_t));
  c->sample_ids = join (a->sample_ids, a->n, b->sample_ids, b->n, sizeof (int64_t));
  c->loss_mask = join (a->loss_mask, a->n * per_tok, b->loss_mask, b->n * per_tok, sizeof (uint8_t));
  c->weights = join (a->weights, a->n, b->weights, b->n, sizeof (LfReal));
  return c;
}

void
lf_ctx_forward (LfStrategyCtx *ctx, const LfBatch *batch, gboolean training, LfModelOutput *out)
{
  lf_model_forward (ctx->model, batch, training, out);
  if (out->logits && batch->labels)
    out->logits = lf_scenario_mask_logits (ctx->sc, batch, out->logits);
}

LfTensor *
lf_ctx_task_loss (LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out)
{
  LfCrossEntropyOptions o = LF_CROSS_ENTROPY_OPTIONS_INIT;
  if (ctx->sc->lm)
    {
      /* next-token loss over every position the loss mask keeps */
      int64_t V = lf_tensor_dim (out->logits, -1), rows = batch->n * batch->seq_len;
      int64_t shape[2] = { rows, V };
      return lf_cross_entropy (lf_reshape (out->logits, 2, shape), batch->labels, &o);
    }
  o.weights = batch->weights;
  return lf_cross_entropy (out->logits, batch->labels, &o);
}

void
lf_ctx_report_number (LfStrategyCtx *ctx, const char *key, double value)
{
  json_object_set_double_member (ctx->report, key, value);
}

/* json parsed for member key of obj; a warning from fn when it is not JSON. */
static void
set_json_member (JsonObject *obj, const char *fn, const char *key, const char *json)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = json_from_string (json, &error);
  if (node == NULL)
    {
      g_warning ("%s: %s is not JSON: %s", fn, key, error ? error->message : "empty");
      return;
    }
  json_object_set_member (obj, key, node);
}

void
lf_ctx_report_json (LfStrategyCtx *ctx, const char *key, const char *json)
{
  set_json_member (ctx->report, "lf_ctx_report_json", key, json);
}

/* The members the host writes at the result's top level (framework/run.c's
 * result_json, docs/running.md), and two a failed run's result may carry:
 * a strategy cannot take them. */
static const char *const host_result_keys[] = {
  "schema_version", "status", "error", "reason", "config", "matrix_kind", "matrix", "matrix_rows",
  "baseline", "metrics", "editing", "instruction", "checkpoint", "bits_per_byte", "domains", "validation_matrix",
  "validation_metrics", "time_s", "throughput", "peak_rss_bytes", "memory_bytes", "parameters",
  "strategy", "versions", "online", "label_noise", "open_world", "oracle", "feedback",
};

void
lf_ctx_report_result_json (LfStrategyCtx *ctx, const char *key, const char *json)
{
  for (guint i = 0; i < G_N_ELEMENTS (host_result_keys); i++)
    if (strcmp (key, host_result_keys[i]) == 0)
      {
        g_warning ("lf_ctx_report_result_json: %s is the host's own member of the result", key);
        return;
      }
  set_json_member (ctx->result, "lf_ctx_report_result_json", key, json);
}

void
lf_ctx_report_buffer (LfStrategyCtx *ctx, const int64_t *sample_ids, int64_t n)
{
  g_return_if_fail (n >= 0 && (n == 0 || sample_ids != NULL));
  if (ctx->buffer == NULL)
    ctx->buffer = g_array_new (FALSE, FALSE, sizeof (int64_t));
  g_array_set_size (ctx->buffer, 0);
  g_array_append_vals (ctx->buffer, sample_ids, (guint) n);
}

void
lf_ctx_log (LfStrategyCtx *ctx, const char *fmt, ...)
{
  (void) ctx;
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  fprintf (stderr, "  %s\n", msg);
}
