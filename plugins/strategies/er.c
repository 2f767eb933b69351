/* lifelong plugin — strategy "er": Experience Replay.  A reservoir (or
 * class-balanced) buffer of dataset sample ids; every step appends a batch
 * drawn from it to the current one, and the current samples are offered to
 * the buffer after the step.  Needs no boundaries: it works online. */
#include <lifelong/lifelong.h>
#include <lifelong/toolkit/replay.h>

typedef struct {
  LfReplayBuffer *buf;
  int64_t  replay_batch;    /* 0: the current batch's size */
  int64_t  n_current;       /* rows of the step's batch that are new samples */
  int64_t  max_size;        /* the largest size the buffer ever had */
  int64_t  n_classes;
} Er;

static const LfParam er_params[] = {
  { "buffer_size", LF_PARAM_INT, "500", 0, 1e9, NULL,
    "samples the buffer holds (dataset ids and labels; inputs stay in the dataset)" },
  { "class_balanced", LF_PARAM_BOOL, "false", 0, 0, NULL,
    "false: reservoir sampling (Vitter's algorithm R); true: GDumb's greedy class-balanced admission" },
  { "replay_batch_size", LF_PARAM_INT, "0", 0, 1e9, NULL,
    "replayed samples appended to every batch (0: as many as the current batch has)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
er_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Er *s = g_new0 (Er, 1);
  LfReplayPolicy policy = lf_params_get_bool (p, "class_balanced") ? LF_REPLAY_CLASS_BALANCED
                                                                   : LF_REPLAY_RESERVOIR;
  s->buf = lf_replay_new (lf_params_get_int (p, "buffer_size"), policy, 0, lf_ctx_rng_key (ctx, "er-buffer"));
  s->replay_batch = lf_params_get_int (p, "replay_batch_size");
  s->n_classes = lf_ctx_spec (ctx)->n_classes;
  return s;
}

static void
er_destroy (void *self)
{
  Er *s = self;
  lf_replay_free (s->buf);
  g_free (s);
}

static LfBatch *
er_before_batch (void *self, LfStrategyCtx *ctx, LfBatch *batch)
{
  Er *s = self;
  s->n_current = batch->n;
  int64_t want = s->replay_batch > 0 ? s->replay_batch : batch->n;
  if (lf_replay_size (s->buf) == 0 || want == 0)
    return batch;
  int64_t *slots = lf_scope_alloc ((size_t) want * sizeof (int64_t));
  int64_t n = lf_replay_sample (s->buf, want, lf_ctx_rng_key (ctx, "er-replay"), slots);
  int64_t *ids = lf_scope_alloc ((size_t) n * sizeof (int64_t));
  const int64_t *stored = lf_replay_ids (s->buf);
  for (int64_t i = 0; i < n; i++)
    ids[i] = stored[slots[i]];
  return lf_ctx_concat_batches (ctx, batch, lf_ctx_batch (ctx, ids, n));
}

/* Only the step's own samples (the first n_current rows) enter the buffer,
 * with the labels the model trained on. */
static void
er_after_step (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) ctx;
  Er *s = self;
  lf_replay_offer (s->buf, batch->sample_ids, batch->labels, NULL, MIN (s->n_current, batch->n));
  s->max_size = MAX (s->max_size, lf_replay_size (s->buf));
}

static void
er_report (void *self, LfStrategyCtx *ctx)
{
  Er *s = self;
  /* what it keeps, for the host's purity figure under label_noise */
  lf_ctx_report_buffer (ctx, lf_replay_ids (s->buf), lf_replay_size (s->buf));
  lf_ctx_report_number (ctx, "buffer_capacity", (double) lf_replay_capacity (s->buf));
  lf_ctx_report_number (ctx, "buffer_size", (double) lf_replay_size (s->buf));
  lf_ctx_report_number (ctx, "buffer_max_size", (double) s->max_size);
  lf_ctx_report_number (ctx, "samples_offered", (double) lf_replay_seen (s->buf));
  if (s->n_classes > 0)
    {
      g_autofree int64_t *counts = g_new0 (int64_t, s->n_classes);
      lf_replay_class_counts (s->buf, s->n_classes, counts);
      g_autoptr (GString) js = g_string_new ("[");
      for (int64_t c = 0; c < s->n_classes; c++)
        g_string_append_printf (js, "%s%" G_GINT64_FORMAT, c ? ", " : "", counts[c]);
      g_string_append_c (js, ']');
      lf_ctx_report_json (ctx, "buffer_class_counts", js->str);
    }
}

static gboolean
er_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Er *s = self;
  lf_replay_put_state (s->buf, st, "er.buffer");
  lf_state_put_int (st, "er.max_size", s->max_size);
  return TRUE;
}

static gboolean
er_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  (void) ctx;
  Er *s = self;
  LfReplayBuffer *b = lf_replay_get_state (st, "er.buffer", error);
  if (b == NULL)
    return FALSE;
  lf_replay_free (s->buf);
  s->buf = b;
  lf_state_get_int (st, "er.max_size", &s->max_size);
  return TRUE;
}

static size_t
er_memory_bytes (void *self)
{
  return lf_replay_bytes (((Er *) self)->buf);
}

static const LfStrategyVTable er_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = er_create,
  .destroy = er_destroy,
  .before_batch = er_before_batch,
  .after_step = er_after_step,
  .report = er_report,
  .save = er_save,
  .load = er_load,
  .memory_bytes = er_memory_bytes,
};

static const LfCapabilities er_caps = {
  .touches = LF_TOUCHES_DATA,
  .needs = LF_NEEDS_LABELS,
  .supports = LF_SUPPORTS_ONLINE | LF_SUPPORTS_CLASSIFICATION | LF_SUPPORTS_LANGUAGE_MODEL,
};

static const char *const er_aliases[] = { "experience-replay", NULL };

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "er",
    .version = "0.1.0",
    .summary = "Experience Replay with a reservoir buffer (Chaudhry et al., \"On Tiny Episodic Memories in "
               "Continual Learning\", arXiv 2019; Rolnick et al., NeurIPS 2019)",
    .params = er_params,
    .caps = &er_caps,
    .aliases = er_aliases,
    .vtable = &er_vtable,
  };
  return &info;
}
