/* lifelong plugin — strategy "gdumb": Greedy sampler and Dumb learner.  A
 * class-balanced memory takes the stream greedily; at every experience the
 * model is re-initialised and trained from scratch on the memory alone. */
#include <lifelong/lifelong.h>
#include <lifelong/toolkit/replay.h>

typedef struct {
  LfReplayBuffer *buf;
  int64_t  epochs;          /* 0: train.epochs */
  int64_t  n_classes;
  uint8_t *seen;            /* (n_classes): a label of that class was offered */
} Gdumb;

static const LfParam gdumb_params[] = {
  { "buffer_size", LF_PARAM_INT, "500", 1, 1e9, NULL,
    "samples the class-balanced memory holds (the only data the learner ever trains on)" },
  { "epochs", LF_PARAM_INT, "0", 0, 1e6, NULL,
    "epochs of training from scratch on the memory at each experience (0: train.epochs)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
gdumb_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  int64_t C = lf_ctx_spec (ctx)->n_classes;
  if (C <= 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                   "gdumb: needs class labels (the model has %" G_GINT64_FORMAT " classes)", C);
      return NULL;
    }
  Gdumb *s = g_new0 (Gdumb, 1);
  s->buf = lf_replay_new (lf_params_get_int (p, "buffer_size"), LF_REPLAY_CLASS_BALANCED, 0,
                          lf_ctx_rng_key (ctx, "gdumb-buffer"));
  s->epochs = lf_params_get_int (p, "epochs");
  s->n_classes = C;
  s->seen = g_new0 (uint8_t, C);
  return s;
}

static void
gdumb_destroy (void *self)
{
  Gdumb *s = self;
  lf_replay_free (s->buf);
  g_free (s->seen);
  g_free (s);
}

/* The new experience's samples stream into the memory in a seeded random
 * order (not the dataset's), each with the label the model will see. */
static gboolean
gdumb_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Gdumb *s = self;
  int64_t n;
  const int64_t *samples = lf_ctx_experience_samples (ctx, lf_ctx_experience (ctx), &n);
  if (n == 0)
    return TRUE;
  g_autofree int64_t *ids = g_memdup2 (samples, (gsize) n * sizeof (int64_t));
  g_autofree int32_t *labels = g_new (int32_t, n);
  LfRng r;
  lf_rng_init (&r, lf_ctx_rng_key (ctx, "gdumb-stream"));
  for (int64_t i = n - 1; i > 0; i--)
    {
      int64_t j = (int64_t) lf_rng_below (&r, (uint64_t) i + 1), t = ids[i];
      ids[i] = ids[j];
      ids[j] = t;
    }
  lf_ctx_labels (ctx, ids, n, labels);
  for (int64_t i = 0; i < n; i++)
    {
      if (labels[i] < 0 || labels[i] >= s->n_classes)
        {
          g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                       "gdumb: sample %" G_GINT64_FORMAT " has label %d, outside the model's %" G_GINT64_FORMAT
                       " classes", ids[i], labels[i], s->n_classes);
          return FALSE;
        }
      s->seen[labels[i]] = 1;
    }
  lf_replay_offer (s->buf, ids, labels, NULL, n);
  return TRUE;
}

/* Train on the memory only, from a freshly initialised model. */
static gboolean
gdumb_select (void *self, LfStrategyCtx *ctx, LfSelection *sel, GError **error)
{
  (void) ctx; (void) error;
  Gdumb *s = self;
  int64_t n = lf_replay_size (s->buf);
  g_free (sel->sample_ids);
  sel->sample_ids = g_memdup2 (lf_replay_ids (s->buf), (gsize) MAX (n, 1) * sizeof (int64_t));
  sel->n = n;
  sel->reset_model = TRUE;
  if (s->epochs > 0)
    sel->epochs = s->epochs;
  return TRUE;
}

static void
gdumb_report (void *self, LfStrategyCtx *ctx)
{
  Gdumb *s = self;
  lf_ctx_report_buffer (ctx, lf_replay_ids (s->buf), lf_replay_size (s->buf));
  g_autofree int64_t *counts = g_new0 (int64_t, s->n_classes);
  lf_replay_class_counts (s->buf, s->n_classes, counts);
  g_autoptr (GString) js = g_string_new ("[");
  int64_t lo = G_MAXINT64, hi = 0, seen = 0, stored = 0;
  for (int64_t c = 0; c < s->n_classes; c++)
    {
      g_string_append_printf (js, "%s%" G_GINT64_FORMAT, c ? ", " : "", counts[c]);
      if (s->seen[c])
        {
          seen++;
          stored += counts[c] > 0;
          lo = MIN (lo, counts[c]);
          hi = MAX (hi, counts[c]);
        }
    }
  g_string_append_c (js, ']');
  lf_ctx_report_json (ctx, "class_counts", js->str);
  lf_ctx_report_number (ctx, "class_imbalance", seen ? (double) (hi - lo) : 0);
  lf_ctx_report_number (ctx, "classes_seen", (double) seen);
  lf_ctx_report_number (ctx, "classes_in_memory", (double) stored);
  lf_ctx_report_number (ctx, "buffer_size", (double) lf_replay_size (s->buf));
  lf_ctx_report_number (ctx, "buffer_capacity", (double) lf_replay_capacity (s->buf));
}

static gboolean
gdumb_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Gdumb *s = self;
  lf_replay_put_state (s->buf, st, "gdumb.buffer");
  lf_state_put_bytes (st, "gdumb.seen", s->seen, (size_t) s->n_classes);
  return TRUE;
}

static gboolean
gdumb_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  (void) ctx;
  Gdumb *s = self;
  size_t ns = 0;
  const void *seen = lf_state_get_bytes (st, "gdumb.seen", &ns);
  if (seen == NULL || ns != (size_t) s->n_classes)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                   "gdumb: the checkpoint's seen classes (gdumb.seen) are missing or have another class count");
      return FALSE;
    }
  LfReplayBuffer *b = lf_replay_get_state (st, "gdumb.buffer", error);
  if (b == NULL)
    return FALSE;
  lf_replay_free (s->buf);
  s->buf = b;
  memcpy (s->seen, seen, ns);
  return TRUE;
}

static size_t
gdumb_memory_bytes (void *self)
{
  Gdumb *s = self;
  return lf_replay_bytes (s->buf) + (size_t) s->n_classes;
}

static const LfStrategyVTable gdumb_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = gdumb_create,
  .destroy = gdumb_destroy,
  .before_experience = gdumb_before_experience,
  .select_training = gdumb_select,
  .report = gdumb_report,
  .save = gdumb_save,
  .load = gdumb_load,
  .memory_bytes = gdumb_memory_bytes,
};

/* The memory takes each experience's samples when it starts, and the model
 * is retrained then: this host needs boundaries for that. */
static const LfCapabilities gdumb_caps = {
  .touches = LF_TOUCHES_DATA,
  .needs = LF_NEEDS_BOUNDARIES | LF_NEEDS_LABELS,
  .supports = LF_SUPPORTS_CLASSIFICATION,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "gdumb",
    .version = "0.1.0",
    .summary = "GDumb: a greedy class-balanced memory and a model retrained from scratch on it "
               "(Prabhu, Torr, Dokania, \"GDumb: A Simple Approach that Questions Our Progress in "
               "Continual Learning\", ECCV 2020)",
    .params = gdumb_params,
    .caps = &gdumb_caps,
    .vtable = &gdumb_vtable,
  };
  return &info;
}
