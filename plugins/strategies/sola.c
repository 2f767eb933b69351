/* lifelong plugin — strategy "sola": self-initiated open-world learning (in
 * the spirit of Liu et al., "AI Autonomy: Self-Initiated Open-World
 * Continual Learning and Adaptation", AI Magazine 2023).  On each unlabelled
 * deployment stream it scores every sample's novelty (maximum softmax,
 * energy or feature distance, over the classes it has learned), keeps the
 * samples scored above what its own labelled data scores (the detected
 * novelties), asks the oracle for the labels of the most novel of them
 * within its budget, and learns the classes it is told about in the head
 * units the model reserves for them, replaying a class-balanced buffer of
 * the labelled samples so the old classes are not forgotten. */
#include <lifelong/lifelong.h>
#include <math.h>

typedef enum { SOLA_MSP, SOLA_ENERGY, SOLA_DISTANCE } SolaScore;

typedef struct {
  SolaScore       score;
  double          temperature;
  double          quantile;
  int64_t         queries;         /* per experience; 0: the budget spread evenly */
  int64_t         epochs;          /* passes over a stream's labelled samples; 0: train.epochs */
  int64_t         replay_batch;    /* 0: as many as the step's batch */
  int64_t         C;
  uint8_t        *learned;         /* (C): classes the head has been taught */
  LfReplayBuffer *buf;
  LfReal         *centres;         /* (k, d) feature means of the learned classes (distance) */
  int64_t         n_centres, d;
  gboolean        centres_stale;
  double          threshold;       /* the detector's threshold for the stream being scored */
  int64_t         n_current;
  /* figures, per experience (index = experience) */
  GArray         *detected, *asked, *answered, *new_class_answers;
} Sola;

static const LfParam sola_params[] = {
  { "score", LF_PARAM_STRING, "\"energy\"", 0, 0, "msp|energy|distance",
    "novelty score over the learned classes: 1 - maximum softmax probability, energy (-T logsumexp (logits / T)), "
    "or squared distance of the normalised feature to the nearest learned class's normalised mean" },
  { "temperature", LF_PARAM_FLOAT, "1", 1e-6, 1e6, NULL, "energy: the temperature T" },
  { "quantile", LF_PARAM_FLOAT, "0.95", 0, 1, NULL,
    "a stream sample is detected as novel when it scores above this quantile of the scores of the labelled "
    "samples in the buffer" },
  { "queries", LF_PARAM_INT, "0", 0, 1e9, NULL,
    "labels asked for per deployment experience, the most novel detected samples first (0: the remaining "
    "budget divided by the remaining experiences)" },
  { "epochs", LF_PARAM_INT, "50", 0, 100000, NULL,
    "passes over a deployment experience's labelled samples, each batch with as many replayed (they are few: "
    "many passes; 0: train.epochs)" },
  { "buffer_size", LF_PARAM_INT, "1000", 1, 1e9, NULL,
    "labelled samples kept for replay and calibration (class-balanced; ids and labels only)" },
  { "replay_batch_size", LF_PARAM_INT, "0", 0, 1e9, NULL,
    "replayed samples appended to every batch (0: as many as the current batch has)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

/* ---- scores -------------------------------------------------------------- */

/* Novelty scores of the samples ids (n) into scores, in a no-record scope. */
static void sola_score_ids (Sola *s, LfStrategyCtx *ctx, const int64_t *ids, int64_t n, double *scores);

static void
sola_score_output (Sola *s, const LfModelOutput *out, int64_t n, double *scores)
{
  const LfReal *L = lf_tensor_data (out->logits);
  switch (s->score)
    {
    case SOLA_MSP:
      lf_novelty_msp (L, n, s->C, s->learned, scores);
      break;
    case SOLA_ENERGY:
      lf_novelty_energy (L, n, s->C, s->learned, s->temperature, scores);
      break;
    case SOLA_DISTANCE:
      if (s->n_centres > 0)
        lf_novelty_distance (lf_tensor_data (out->features), n, s->d, s->centres, s->n_centres, scores);
      else
        memset (scores, 0, (size_t) n * sizeof (double));   /* no class means yet: no information */
      break;
    }
}

/* Class means of the buffer's features (distance score): one per learned
 * class that has buffer samples. */
static void
sola_update_centres (Sola *s, LfStrategyCtx *ctx)
{
  s->centres_stale = FALSE;
  if (s->score != SOLA_DISTANCE)
    return;
  int64_t n = lf_replay_size (s->buf), B = 256;
  const int64_t *ids = lf_replay_ids (s->buf);
  const int32_t *y = lf_replay_labels (s->buf);
  g_autofree double *sum = NULL;
  g_autofree int64_t *count = g_new0 (int64_t, s->C);
  for (int64_t at = 0; at < n; at += B)
    {
      int64_t b = MIN (B, n - at);
      lf_tape_push (FALSE);
      LfModelOutput out;
      lf_ctx_forward (ctx, lf_ctx_batch (ctx, ids + at, b), FALSE, &out);
      int64_t d = lf_tensor_dim (out.features, -1);
      if (sum == NULL)
        {
          s->d = d;
          sum = g_new0 (double, s->C * d);
        }
      const LfReal *F = lf_tensor_data (out.features);
      for (int64_t i = 0; i < b; i++)
        {
          int32_t c = y[at + i];
          count[c]++;
          for (int64_t j = 0; j < d; j++)
            sum[c * d + j] += F[i * d + j];
        }
      lf_tape_pop ();
    }
  g_free (s->centres);
  s->centres = g_new0 (LfReal, MAX (s->C * MAX (s->d, 1), 1));
  s->n_centres = 0;
  for (int64_t c = 0; c < s->C && sum; c++)
    if (count[c] > 0)
      {
        for (int64_t j = 0; j < s->d; j++)
          s->centres[s->n_centres * s->d + j] = (LfReal) (sum[c * s->d + j] / (double) count[c]);
        s->n_centres++;
      }
}

static void
sola_score_ids (Sola *s, LfStrategyCtx *ctx, const int64_t *ids, int64_t n, double *scores)
{
  const int64_t B = 512;
  if (s->centres_stale)
    sola_update_centres (s, ctx);
  for (int64_t at = 0; at < n; at += B)
    {
      int64_t b = MIN (B, n - at);
      lf_tape_push (FALSE);
      LfModelOutput out;
      lf_ctx_forward (ctx, lf_ctx_batch (ctx, ids + at, b), FALSE, &out);
      sola_score_output (s, &out, b, scores + at);
      lf_tape_pop ();
    }
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* (score, id) for the ranking of a stream */
typedef struct {
  double  s;
  int64_t id;
} SolaRanked;

/* most novel first; equal scores by id, so the order never depends on qsort */
static int
cmp_ranked (const void *a, const void *b)
{
  const SolaRanked *x = a, *y = b;
  if (x->s != y->s)
    return (x->s < y->s) - (x->s > y->s);
  return (x->id > y->id) - (x->id < y->id);
}

/* ---- hooks --------------------------------------------------------------- */

static void
sola_destroy (void *self)
{
  Sola *s = self;
  lf_replay_free (s->buf);
  g_free (s->learned);
  g_free (s->centres);
  g_array_unref (s->detected);
  g_array_unref (s->asked);
  g_array_unref (s->answered);
  g_array_unref (s->new_class_answers);
  g_free (s);
}

static void *
sola_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  const LfDataSpec *spec = lf_ctx_spec (ctx);
  if (spec->n_classes <= 1)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                   "strategy sola: needs a classifier with one logit per class (the model has %" G_GINT64_FORMAT ")",
                   spec->n_classes);
      return NULL;
    }
  Sola *s = g_new0 (Sola, 1);
  const char *score = lf_params_get_string (p, "score");
  s->score = g_str_equal (score, "msp") ? SOLA_MSP : g_str_equal (score, "energy") ? SOLA_ENERGY : SOLA_DISTANCE;
  s->temperature = lf_params_get_float (p, "temperature");
  s->quantile = lf_params_get_float (p, "quantile");
  s->queries = lf_params_get_int (p, "queries");
  s->epochs = lf_params_get_int (p, "epochs");
  s->replay_batch = lf_params_get_int (p, "replay_batch_size");
  s->C = spec->n_classes;
  s->learned = g_new0 (uint8_t, s->C);
  s->buf = lf_replay_new (lf_params_get_int (p, "buffer_size"), LF_REPLAY_CLASS_BALANCED, 0,
                          lf_ctx_rng_key (ctx, "sola-buffer"));
  s->detected = g_array_new (FALSE, TRUE, sizeof (int64_t));
  s->asked = g_array_new (FALSE, TRUE, sizeof (int64_t));
  s->answered = g_array_new (FALSE, TRUE, sizeof (int64_t));
  s->new_class_answers = g_array_new (FALSE, TRUE, sizeof (int64_t));
  return s;
}

/* Marks the classes of the labelled samples ids (n) as learned. */
static void
sola_learn_labels (Sola *s, const int32_t *labels, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    if (labels[i] >= 0 && labels[i] < s->C)
      s->learned[labels[i]] = 1;
}

static void
sola_set_figure (GArray *a, int64_t e, int64_t v)
{
  if ((int64_t) a->len <= e)
    g_array_set_size (a, (guint) e + 1);
  g_array_index (a, int64_t, e) = v;
}

/* A deployment stream: score, detect, ask the oracle about the most novel. */
static gboolean
sola_explore (Sola *s, LfStrategyCtx *ctx, int64_t e, GError **error)
{
  int64_t n, nb = lf_replay_size (s->buf);
  const int64_t *stream = lf_ctx_stream_samples (ctx, e, &n);
  if (n == 0 || nb == 0)
    return TRUE;
  /* the threshold: the quantile of what known, labelled samples score */
  g_autofree double *ref = g_new (double, nb);
  sola_score_ids (s, ctx, lf_replay_ids (s->buf), nb, ref);
  qsort (ref, (size_t) nb, sizeof (double), cmp_double);
  s->threshold = ref[MIN (nb - 1, (int64_t) floor (s->quantile * (double) (nb - 1) + 0.5))];
  g_autofree double *sc = g_new (double, n);
  sola_score_ids (s, ctx, stream, n, sc);
  g_autofree SolaRanked *rk = g_new (SolaRanked, n);
  int64_t k = 0;
  for (int64_t i = 0; i < n; i++)
    if (sc[i] > s->threshold)
      rk[k++] = (SolaRanked) { sc[i], stream[i] };
  qsort (rk, (size_t) k, sizeof *rk, cmp_ranked);
  sola_set_figure (s->detected, e, k);
  /* the allotment: the remaining budget spread over the remaining streams */
  int64_t left = lf_ctx_oracle_budget (ctx) - lf_ctx_oracle_used (ctx), T = lf_ctx_n_experiences (ctx);
  int64_t want = s->queries > 0 ? MIN (s->queries, left) : left / MAX (T - e, 1);
  want = MIN (want, k);
  sola_set_figure (s->asked, e, want);
  if (want <= 0)
    return TRUE;
  g_autofree int64_t *ids = g_new (int64_t, want);
  g_autofree int32_t *labels = g_new (int32_t, want);
  for (int64_t i = 0; i < want; i++)
    ids[i] = rk[i].id;
  int64_t got = lf_ctx_oracle_query (ctx, LF_SPLIT_TRAIN, ids, want, labels, error);
  if (got < 0)
    return FALSE;
  int64_t fresh = 0;
  for (int64_t i = 0; i < want; i++)
    fresh += labels[i] >= 0 && labels[i] < s->C && !s->learned[labels[i]];
  sola_set_figure (s->answered, e, got);
  sola_set_figure (s->new_class_answers, e, fresh);
  sola_learn_labels (s, labels, want);
  lf_ctx_log (ctx, "sola: experience %" G_GINT64_FORMAT ": %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
              " stream samples detected as novel, %" G_GINT64_FORMAT " labels asked, %" G_GINT64_FORMAT
              " answered (%" G_GINT64_FORMAT " of classes not learned yet)", e, k, n, want, got, fresh);
  return TRUE;
}

static gboolean
sola_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  Sola *s = self;
  int64_t e = lf_ctx_experience (ctx), n;
  if (e > 0 && !sola_explore (s, ctx, e, error))
    return FALSE;
  /* what is labelled now (the first experience, or the oracle's answers) */
  const int64_t *ids = lf_ctx_experience_samples (ctx, e, &n);
  g_autofree int32_t *labels = g_new (int32_t, MAX (n, 1));
  lf_ctx_labels (ctx, ids, n, labels);
  sola_learn_labels (s, labels, n);
  return TRUE;
}

static gboolean
sola_select_training (void *self, LfStrategyCtx *ctx, LfSelection *sel, GError **error)
{
  (void) error;
  Sola *s = self;
  if (lf_ctx_experience (ctx) > 0 && s->epochs > 0)
    sel->epochs = s->epochs;
  return TRUE;
}

static LfBatch *
sola_before_batch (void *self, LfStrategyCtx *ctx, LfBatch *batch)
{
  Sola *s = self;
  s->n_current = batch->n;
  int64_t want = s->replay_batch > 0 ? s->replay_batch : batch->n;
  if (lf_replay_size (s->buf) == 0 || want == 0)
    return batch;
  int64_t *slots = lf_scope_alloc ((size_t) want * sizeof (int64_t));
  int64_t n = lf_replay_sample (s->buf, want, lf_ctx_rng_key (ctx, "sola-replay"), slots);
  int64_t *ids = lf_scope_alloc ((size_t) MAX (n, 1) * sizeof (int64_t));
  const int64_t *stored = lf_replay_ids (s->buf);
  for (int64_t i = 0; i < n; i++)
    ids[i] = stored[slots[i]];
  return lf_ctx_concat_batches (ctx, batch, lf_ctx_batch (ctx, ids, n));
}

static gboolean
sola_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Sola *s = self;
  int64_t n;
  const int64_t *ids = lf_ctx_experience_samples (ctx, lf_ctx_experience (ctx), &n);
  g_autofree int32_t *labels = g_new (int32_t, MAX (n, 1));
  lf_ctx_labels (ctx, ids, n, labels);
  lf_replay_offer (s->buf, ids, labels, NULL, n);
  sola_update_centres (s, ctx);
  return TRUE;
}

/* The arg-max over the learned classes: a reserved unit is never predicted. */
static void
sola_predict (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out, int32_t *pred)
{
  (void) ctx;
  Sola *s = self;
  const LfReal *L = lf_tensor_data (out->logits);
  for (int64_t i = 0; i < batch->n; i++)
    {
      int32_t best = -1;
      for (int64_t c = 0; c < s->C; c++)
        if (s->learned[c] && (best < 0 || L[i * s->C + c] > L[i * s->C + best]))
          best = (int32_t) c;
      pred[i] = MAX (best, 0);
    }
}

static void
sola_novelty (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out, double *scores)
{
  Sola *s = self;
  if (s->centres_stale)
    sola_update_centres (s, ctx);
  sola_score_output (s, out, batch->n, scores);
}

static void
sola_report_array (LfStrategyCtx *ctx, const char *key, GArray *a)
{
  g_autoptr (GString) js = g_string_new ("[");
  for (guint i = 0; i < a->len; i++)
    g_string_append_printf (js, "%s%" G_GINT64_FORMAT, i ? ", " : "", g_array_index (a, int64_t, i));
  g_string_append_c (js, ']');
  lf_ctx_report_json (ctx, key, js->str);
}

static void
sola_report (void *self, LfStrategyCtx *ctx)
{
  Sola *s = self;
  sola_report_array (ctx, "detected", s->detected);
  sola_report_array (ctx, "asked", s->asked);
  sola_report_array (ctx, "answered", s->answered);
  sola_report_array (ctx, "new_class_answers", s->new_class_answers);
  int64_t learned = 0;
  for (int64_t c = 0; c < s->C; c++)
    learned += s->learned[c];
  lf_ctx_report_number (ctx, "learned_classes", (double) learned);
  lf_ctx_report_number (ctx, "labels_used", (double) lf_ctx_oracle_used (ctx));
  lf_ctx_report_number (ctx, "buffer_size", (double) lf_replay_size (s->buf));
}

static void
sola_put_array (LfState *st, const char *key, GArray *a)
{
  char nkey[64];
  g_snprintf (nkey, sizeof nkey, "%s.n", key);
  lf_state_put_int (st, nkey, a->len);
  if (a->len > 0)
    lf_state_put_bytes (st, key, a->data, a->len * sizeof (int64_t));
}

static void
sola_get_array (const LfState *st, const char *key, GArray *a)
{
  char nkey[64];
  int64_t n = 0;
  size_t nb = 0;
  g_snprintf (nkey, sizeof nkey, "%s.n", key);
  lf_state_get_int (st, nkey, &n);
  const void *d = n > 0 ? lf_state_get_bytes (st, key, &nb) : NULL;
  g_array_set_size (a, 0);
  if (d && nb == (size_t) n * sizeof (int64_t))
    g_array_append_vals (a, d, (guint) n);
}

static gboolean
sola_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Sola *s = self;
  lf_replay_put_state (s->buf, st, "sola.buffer");
  lf_state_put_bytes (st, "sola.learned", s->learned, (size_t) s->C);
  sola_put_array (st, "sola.detected", s->detected);
  sola_put_array (st, "sola.asked", s->asked);
  sola_put_array (st, "sola.answered", s->answered);
  sola_put_array (st, "sola.new_class_answers", s->new_class_answers);
  return TRUE;
}

static gboolean
sola_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  (void) ctx;
  Sola *s = self;
  size_t nl = 0;
  const void *learned = lf_state_get_bytes (st, "sola.learned", &nl);
  if (learned == NULL || nl != (size_t) s->C)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                   "sola: the checkpoint has no learned classes for %" G_GINT64_FORMAT " classes", s->C);
      return FALSE;
    }
  LfReplayBuffer *b = lf_replay_get_state (st, "sola.buffer", error);
  if (b == NULL)
    return FALSE;
  lf_replay_free (s->buf);
  s->buf = b;
  memcpy (s->learned, learned, nl);
  sola_get_array (st, "sola.detected", s->detected);
  sola_get_array (st, "sola.asked", s->asked);
  sola_get_array (st, "sola.answered", s->answered);
  sola_get_array (st, "sola.new_class_answers", s->new_class_answers);
  /* the centres come from the weights, restored after load */
  s->centres_stale = TRUE;
  return TRUE;
}

static size_t
sola_memory_bytes (void *self)
{
  Sola *s = self;
  return lf_replay_bytes (s->buf) + (size_t) s->C + (size_t) (s->n_centres * s->d) * sizeof (LfReal);
}

static const LfStrategyVTable sola_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = sola_create,
  .destroy = sola_destroy,
  .before_experience = sola_before_experience,
  .select_training = sola_select_training,
  .before_batch = sola_before_batch,
  .after_experience = sola_after_experience,
  .predict = sola_predict,
  .report = sola_report,
  .save = sola_save,
  .load = sola_load,
  .memory_bytes = sola_memory_bytes,
  .novelty = sola_novelty,
};

static const char *const sola_scenarios[] = { "open-world", NULL };
static const char *const sola_aliases[] = { "self-initiated", NULL };

static const LfCapabilities sola_caps = {
  .touches = LF_TOUCHES_DATA | LF_TOUCHES_INFERENCE,
  .needs = LF_NEEDS_BOUNDARIES | LF_NEEDS_LABELS,
  .supports = LF_SUPPORTS_CLASSIFICATION,
  .scenarios = sola_scenarios,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "sola",
    .version = "0.1.0",
    .summary = "self-initiated open-world learning (after Liu et al., AI Magazine 2023): detects novel samples in "
               "an unlabelled stream (maximum softmax, energy or feature distance), asks the oracle for the labels "
               "of the most novel within its budget, and learns the new classes in reserved head units with "
               "class-balanced replay",
    .aliases = sola_aliases,
    .params = sola_params,
    .caps = &sola_caps,
    .vtable = &sola_vtable,
  };
  return &info;
}
