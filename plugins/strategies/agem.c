/* lifelong plugin — strategy "agem": Averaged Gradient Episodic Memory.
 * After each backward, a reference gradient on a batch drawn from the
 * episodic memory of past experiences; when the step's gradient points
 * against it (g . g_ref < 0), g is projected onto the half-space where it
 * does not: g <- g - (g . g_ref) / (g_ref . g_ref) g_ref.
 * On a stream whose boundaries are withheld (online, blurry) the memory is
 * one reservoir sample of the stream so far, updated after every step, as
 * the online continual-learning surveys run A-GEM (Mai et al., 2022). */
#include <lifelong/lifelong.h>
#include <lifelong/toolkit/replay.h>
#include <math.h>

typedef struct {
  int64_t  memory_size, sample_size;
  GPtrArray *sets;        /* GArray of int64 sample ids, one per past experience (a random subset) */
  LfReplayBuffer *stream; /* without boundaries: a reservoir of the stream (else empty) */
  /* figures */
  int64_t  projections, reference_steps;
  double   min_dot_after;  /* g . g_ref after a projection, recomputed; +inf before the first */
  double   min_dot_before; /* the most negative g . g_ref seen before projecting */
} Agem;

static const LfParam agem_params[] = {
  { "memory_size", LF_PARAM_INT, "500", 1, 1e9, NULL,
    "samples kept over all past experiences, split evenly between them" },
  { "sample_size", LF_PARAM_INT, "256", 1, 1e9, NULL,
    "memory samples in each reference batch (drawn uniformly from the whole memory, every step)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
agem_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Agem *s = g_new0 (Agem, 1);
  s->memory_size = lf_params_get_int (p, "memory_size");
  s->sample_size = lf_params_get_int (p, "sample_size");
  s->sets = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  s->stream = lf_replay_new (s->memory_size, LF_REPLAY_RESERVOIR, 0, lf_ctx_rng_key (ctx, "agem-stream"));
  s->min_dot_after = INFINITY;
  s->min_dot_before = INFINITY;
  return s;
}

static void
agem_destroy (void *self)
{
  Agem *s = self;
  g_ptr_array_unref (s->sets);
  lf_replay_free (s->stream);
  g_free (s);
}

static int64_t
agem_total (const Agem *s)
{
  int64_t n = lf_replay_size (s->stream);
  for (guint k = 0; k < s->sets->len; k++)
    n += ((GArray *) s->sets->pdata[k])->len;
  return n;
}

/* The first n of a uniform random permutation of [0, N) into out
 * (partial Fisher-Yates; idx is N entries of scratch). */
static void
agem_choose (uint64_t key, int64_t N, int64_t n, int64_t *idx, int64_t *out)
{
  LfRng r;
  lf_rng_init (&r, key);
  for (int64_t i = 0; i < N; i++)
    idx[i] = i;
  for (int64_t k = 0; k < n; k++)
    {
      int64_t j = k + (int64_t) lf_rng_below (&r, (uint64_t) (N - k)), t = idx[k];
      idx[k] = idx[j];
      idx[j] = t;
      out[k] = idx[k];
    }
}

/* sum over params of a_i . b_i in double, in parameter order; a NULL
 * buffer counts as zero. */
static double
agem_dot (guint n, LfReal *const *a, LfReal *const *b, const int64_t *numel)
{
  double d = 0;
  for (guint i = 0; i < n; i++)
    if (a[i] && b[i])
      for (int64_t k = 0; k < numel[i]; k++)
        d += (double) a[i][k] * (double) b[i][k];
  return d;
}

static void
agem_after_backward (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) batch;
  Agem *s = self;
  int64_t total = agem_total (s);
  if (total == 0)
    return;
  g_autoptr (GPtrArray) params = lf_model_params (lf_ctx_model (ctx), TRUE);
  guint np = params->len;
  if (np == 0)
    return;
  /* step-scope memory: the reference gradient and the memory batch's ids */
  LfReal **ref = lf_scope_alloc (np * sizeof (LfReal *));
  LfReal **g = lf_scope_alloc (np * sizeof (LfReal *));
  int64_t *numel = lf_scope_alloc (np * sizeof (int64_t));
  for (guint i = 0; i < np; i++)
    {
      LfTensor *p = params->pdata[i];
      numel[i] = lf_tensor_numel (p);
      ref[i] = lf_scope_alloc ((size_t) MAX (numel[i], 1) * sizeof (LfReal));
      g[i] = lf_tensor_grad (p);
    }
  int64_t k = MIN (s->sample_size, total);
  int64_t *flat = lf_scope_alloc ((size_t) total * sizeof (int64_t));
  int64_t *idx = lf_scope_alloc ((size_t) total * sizeof (int64_t));
  int64_t *pick = lf_scope_alloc ((size_t) k * sizeof (int64_t));
  int64_t *ids = lf_scope_alloc ((size_t) k * sizeof (int64_t));
  int64_t at = 0;
  for (guint e = 0; e < s->sets->len; e++)
    {
      GArray *a = s->sets->pdata[e];
      memcpy (flat + at, a->data, (size_t) a->len * sizeof (int64_t));
      at += a->len;
    }
  memcpy (flat + at, lf_replay_ids (s->stream), (size_t) lf_replay_size (s->stream) * sizeof (int64_t));
  agem_choose (lf_ctx_rng_key (ctx, "agem-reference"), total, k, idx, pick);
  for (int64_t i = 0; i < k; i++)
    ids[i] = flat[pick[i]];

  /* g_ref = d(loss on the memory batch)/d(params), in a scope of its own:
   * the step's tape and .grad buffers are untouched */
  lf_tape_push (TRUE);
  LfBatch *mb = lf_ctx_batch (ctx, ids, k);
  LfModelOutput out;
  lf_ctx_forward (ctx, mb, TRUE, &out);
  LfTensor *loss = lf_ctx_task_loss (ctx, mb, &out);
  lf_grad_into (loss, (int) np, (LfTensor *const *) params->pdata, ref);
  lf_tape_pop ();
  s->reference_steps++;

  /* Parameters without a gradient this step (NULL .grad: zero, and no
   * buffer to write) are left out of the projection: it is the projection
   * within the subspace the step's gradient lives in, and its dot product
   * with g_ref is still exactly zero. */
  double dot = agem_dot (np, g, ref, numel);
  if (!(dot < 0))
    return;
  double rr = 0;
  for (guint i = 0; i < np; i++)
    if (g[i])
      for (int64_t j = 0; j < numel[i]; j++)
        rr += (double) ref[i][j] * (double) ref[i][j];
  if (!(rr > 0))
    return;
  double a = dot / rr;
  for (guint i = 0; i < np; i++)
    if (g[i])
      for (int64_t j = 0; j < numel[i]; j++)
        g[i][j] = (LfReal) ((double) g[i][j] - a * (double) ref[i][j]);
  s->projections++;
  s->min_dot_before = MIN (s->min_dot_before, dot);
  s->min_dot_after = MIN (s->min_dot_after, agem_dot (np, g, ref, numel));
}

/* The finished experience's share of the memory: a seeded random subset of
 * its training samples; earlier experiences keep a prefix of theirs (a
 * random subset too), so the memory stays split evenly. */
static gboolean
agem_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Agem *s = self;
  int64_t e = lf_ctx_experience (ctx), n;
  if (e < 0)
    return TRUE;   /* no boundaries: the reservoir is the memory */
  const int64_t *samples = lf_ctx_experience_samples (ctx, e, &n);
  guint K = s->sets->len + 1;
  for (guint j = 0; j < K; j++)
    {
      int64_t quota = s->memory_size / K + ((int64_t) j < s->memory_size % K);
      if (j + 1 < K)
        {
          GArray *a = s->sets->pdata[j];
          if ((int64_t) a->len > quota)
            g_array_set_size (a, (guint) quota);
          continue;
        }
      int64_t m = MIN (quota, n);
      g_autofree int64_t *idx = g_new (int64_t, MAX (n, 1));
      g_autofree int64_t *pick = g_new (int64_t, MAX (m, 1));
      agem_choose (lf_ctx_rng_key (ctx, "agem-memory"), n, m, idx, pick);
      GArray *a = g_array_sized_new (FALSE, FALSE, sizeof (int64_t), (guint) m);
      for (int64_t i = 0; i < m; i++)
        g_array_append_val (a, samples[pick[i]]);
      g_ptr_array_add (s->sets, a);
    }
  return TRUE;
}

/* Without boundaries the step's samples are offered to the reservoir. */
static void
agem_after_step (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  Agem *s = self;
  if (lf_ctx_experience (ctx) < 0)
    lf_replay_offer (s->stream, batch->sample_ids, batch->labels, NULL, batch->n);
}

static void
agem_report (void *self, LfStrategyCtx *ctx)
{
  Agem *s = self;
  lf_ctx_report_number (ctx, "projections", (double) s->projections);
  lf_ctx_report_number (ctx, "reference_steps", (double) s->reference_steps);
  if (s->projections > 0)
    {
      lf_ctx_report_number (ctx, "min_dot_after_projection", s->min_dot_after);
      lf_ctx_report_number (ctx, "min_dot_before_projection", s->min_dot_before);
    }
  lf_ctx_report_number (ctx, "memory_samples", (double) agem_total (s));
  g_autoptr (GString) js = g_string_new ("[");
  for (guint k = 0; k < s->sets->len; k++)
    g_string_append_printf (js, "%s%u", k ? ", " : "", ((GArray *) s->sets->pdata[k])->len);
  g_string_append_c (js, ']');
  lf_ctx_report_json (ctx, "memory_per_experience", js->str);
  lf_ctx_report_number (ctx, "memory_stream_samples", (double) lf_replay_size (s->stream));
}

static gboolean
agem_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Agem *s = self;
  int64_t K = s->sets->len, total = agem_total (s);
  g_autofree int64_t *counts = g_new (int64_t, MAX (K, 1));
  g_autofree int64_t *ids = g_new (int64_t, MAX (total, 1));
  int64_t at = 0;
  for (int64_t k = 0; k < K; k++)
    {
      GArray *a = s->sets->pdata[k];
      counts[k] = a->len;
      memcpy (ids + at, a->data, (size_t) a->len * sizeof (int64_t));
      at += a->len;
    }
  lf_state_put_int (st, "agem.sets", K);
  lf_state_put_int (st, "agem.total", total);
  if (K > 0)
    lf_state_put_bytes (st, "agem.counts", counts, (size_t) K * sizeof (int64_t));
  if (total > 0)
    lf_state_put_bytes (st, "agem.ids", ids, (size_t) total * sizeof (int64_t));
  lf_state_put_int (st, "agem.projections", s->projections);
  lf_state_put_int (st, "agem.reference_steps", s->reference_steps);
  double mins[2] = { s->min_dot_after, s->min_dot_before };
  lf_state_put_bytes (st, "agem.min_dots", mins, sizeof mins);
  lf_replay_put_state (s->stream, st, "agem.stream");
  return TRUE;
}

static gboolean
agem_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  (void) ctx;
  Agem *s = self;
  int64_t K = 0, total = 0;
  size_t nc = 0, ni = 0, nm = 0;
  const void *counts = NULL, *ids = NULL, *mins = NULL;
  gboolean ok = lf_state_get_int (st, "agem.sets", &K) && lf_state_get_int (st, "agem.total", &total)
                && K >= 0 && total >= 0;
  if (ok && K > 0)
    ok = (counts = lf_state_get_bytes (st, "agem.counts", &nc)) != NULL && nc == (size_t) K * sizeof (int64_t);
  if (ok && total > 0)
    ok = (ids = lf_state_get_bytes (st, "agem.ids", &ni)) != NULL && ni == (size_t) total * sizeof (int64_t);
  g_autofree int64_t *c = K > 0 && ok ? g_memdup2 (counts, nc) : NULL;
  int64_t sum = 0;
  for (int64_t k = 0; ok && k < K; k++)
    {
      ok = c[k] >= 0 && c[k] <= total - sum;
      sum += ok ? c[k] : 0;
    }
  if (!ok || sum != total)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                   "agem: the checkpoint's episodic memory (agem.sets, agem.counts, agem.ids) is missing or inconsistent");
      return FALSE;
    }
  g_ptr_array_set_size (s->sets, 0);
  const int64_t *all = ids;
  for (int64_t k = 0, at = 0; k < K; at += c[k], k++)
    {
      GArray *a = g_array_sized_new (FALSE, FALSE, sizeof (int64_t), (guint) c[k]);
      if (c[k] > 0)
        g_array_append_vals (a, all + at, (guint) c[k]);
      g_ptr_array_add (s->sets, a);
    }
  lf_state_get_int (st, "agem.projections", &s->projections);
  lf_state_get_int (st, "agem.reference_steps", &s->reference_steps);
  if ((mins = lf_state_get_bytes (st, "agem.min_dots", &nm)) != NULL && nm == 2 * sizeof (double))
    {
      double m[2];
      memcpy (m, mins, sizeof m);
      s->min_dot_after = m[0];
      s->min_dot_before = m[1];
    }
  if (lf_state_get_bytes (st, "agem.stream", NULL) != NULL)   /* (checkpoints before the reservoir have none: it was empty) */
    {
      LfReplayBuffer *r = lf_replay_get_state (st, "agem.stream", error);
      if (r == NULL)
        return FALSE;
      lf_replay_free (s->stream);
      s->stream = r;
    }
  return TRUE;
}

static size_t
agem_memory_bytes (void *self)
{
  Agem *s = self;
  return sizeof *s + (size_t) agem_total (s) * sizeof (int64_t) + s->sets->len * sizeof (GArray)
         + lf_replay_bytes (s->stream);
}

static const LfStrategyVTable agem_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = agem_create,
  .destroy = agem_destroy,
  .after_backward = agem_after_backward,
  .after_experience = agem_after_experience,
  .after_step = agem_after_step,
  .report = agem_report,
  .save = agem_save,
  .load = agem_load,
  .memory_bytes = agem_memory_bytes,
};

/* The memory is filled when an experience ends, or, without boundaries,
 * from the stream as it goes. */
static const LfCapabilities agem_caps = {
  .touches = LF_TOUCHES_GRADIENTS,
  .supports = LF_SUPPORTS_ONLINE | LF_SUPPORTS_CLASSIFICATION | LF_SUPPORTS_LANGUAGE_MODEL,
};

static const char *const agem_aliases[] = { "a-gem", NULL };

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "agem",
    .version = "0.1.0",
    .summary = "A-GEM: projects the gradient when it conflicts with the gradient on an episodic memory "
               "(Chaudhry, Ranzato, Rohrbach, Elhoseiny, \"Efficient Lifelong Learning with A-GEM\", ICLR 2019)",
    .params = agem_params,
    .caps = &agem_caps,
    .aliases = agem_aliases,
    .vtable = &agem_vtable,
  };
  return &info;
}
