/* lifelong plugin — strategy "puridiver": the memory of PuriDivER (Bang et
 * al., "Online Continual Learning on a Contaminated Data Stream with Blurry
 * Task Boundaries", CVPR 2022) for streams with noisy labels.  Replay as
 * ER does (a batch from the memory appended to every step's stream batch);
 * the difference is which samples the memory keeps.  A full memory offered a
 * sample takes it from the most populous class among its samples and the
 * new one (class balance), evicting the candidate of that class with the
 * highest score
 *   score = (1 - alpha) z(loss) + alpha z(similarity)
 * loss: the cross-entropy of the sample's (possibly wrong) label under the
 * current model, large for a flipped label once the model has learnt the
 * class (purity: small-loss samples are likely clean); similarity: its
 * mean cosine similarity to the class's other candidates in feature space,
 * large for a redundant sample (diversity); z: standardised over the
 * candidates.  The strategy never sees which labels are wrong: it reports
 * its memory's ids (lf_ctx_report_buffer) and the host measures purity.
 * PuriDivER's second part, robust learning on the memory (robust, on by
 * default): every robust_every steps once the memory is full, the whole
 * memory is measured and split (puridiver-robust.c) by a two-component
 * Gaussian mixture over its losses into a clean part, trained with its own
 * labels, and a noisy part; a noisy sample the model is confident about
 * (a second mixture over the noisy part's uncertainty, or a threshold) is
 * replayed with the model's prediction as its label, the others without a
 * label (ignored by the loss), so the model does not learn the wrong labels
 * by heart.  The paper's consistency term on the unlabelled part is not
 * here (docs/open-environments.md). */
#include <lifelong/lifelong.h>
#include <lifelong/toolkit/replay.h>
#include <math.h>
#include "puridiver-robust.h"

typedef struct {
  LfReplayBuffer *buf;
  int64_t  capacity, replay_batch, n_current, C, F;
  int64_t  rescore;    /* steps a slot's measurement stays in use */
  gboolean stream_in_batch;
  double   alpha;
  int64_t *counts;     /* (C): samples of each class in the memory */
  /* per slot: the loss and unit feature under the model of the step they
   * were measured in (stamp), measured again once rescore_every steps old */
  double  *loss;       /* (capacity) */
  float   *feat;       /* (capacity, F) */
  int64_t *stamp;      /* (capacity): step + 1 of the measurement, 0: none */
  /* robust learning: the label each slot is replayed with (-1: none) and
   * what the last split made of it (PURIDIVER_*), valid from the first
   * split on (split_step > 0) */
  gboolean robust, by_class;
  int64_t  robust_every;
  double   threshold;
  int      split_test; /* PURIDIVER_SPLIT_* */
  int32_t *target;     /* (capacity) */
  uint8_t *kind;       /* (capacity) */
  int64_t  split_step; /* step + 1 of the last split, 0: none yet */
  /* figures */
  int64_t  evictions, rejected, scored;
  int64_t  splits, split_counts[3];   /* the last split's clean / relabelled / unlabelled */
  int64_t  relabeled_rows, unlabeled_rows;
  int64_t  mixtures, unimodal;        /* loss mixtures fitted, and those split_test found one mode in */
} Puridiver;

static const LfParam puridiver_params[] = {
  { "buffer_size", LF_PARAM_INT, "500", 1, 1e9, NULL, "samples the memory holds (ids and labels)" },
  { "alpha", LF_PARAM_FLOAT, "0.25", 0, 1, NULL,
    "weight of redundancy (feature similarity) against loss in the eviction score (0: loss only, 1: diversity only)" },
  { "replay_batch_size", LF_PARAM_INT, "0", 0, 1e9, NULL,
    "replayed samples appended to every batch (0: as many as the current batch has)" },
  { "stream_in_batch", LF_PARAM_BOOL, "true", 0, 0, NULL,
    "true: the stream batch plus a replayed batch (ER's way); false: batches drawn from the memory only, the "
    "stream feeding the memory first (PuriDivER's code)" },
  { "rescore_every", LF_PARAM_INT, "10", 1, 1e9, NULL,
    "steps a memory sample's loss and feature are reused before they are measured again under the moving model "
    "(1: every step, as exact as it is slow)" },
  { "robust", LF_PARAM_BOOL, "true", 0, 0, NULL,
    "PuriDivER's robust learning on the memory: split it by a Gaussian mixture over losses, replay the clean part "
    "with its labels, the noisy part relabelled by the model where it is confident and unlabelled otherwise "
    "(false: the memory's own labels, the behaviour of 0.1.0)" },
  { "robust_every", LF_PARAM_INT, "10", 1, 1e9, NULL,
    "steps between two robust splits of the memory (the first when the memory is full)" },
  { "split_by_class", LF_PARAM_BOOL, "true", 0, 0, NULL,
    "fit the mixtures to each class's samples of the memory apart (by the labels it holds); false: to the whole "
    "memory at once, as PuriDivER's code does (docs/open-environments.md: a forgotten class then loses its labels)" },
  { "relabel_threshold", LF_PARAM_FLOAT, "0", 0, 1, NULL,
    "a noisy sample is relabelled when the model's largest probability reaches this; 0: when it falls in the "
    "low-uncertainty component of a second Gaussian mixture over the noisy part (the paper)" },
  { "split_test", LF_PARAM_STRING, "\"ashman\"", 0, 0, "none|bic|ashman",
    "whether a loss mixture has two modes at all before it splits (else all its samples stay clean): ashman, "
    "Ashman's D of the two components above 2; bic, the mixture's BIC below one Gaussian's; none, always split "
    "(PuriDivER's code, the behaviour of 0.2.0)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
puridiver_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  int64_t C = lf_ctx_spec (ctx)->n_classes;
  if (C <= 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                   "puridiver: needs class labels (the model has %" G_GINT64_FORMAT " classes)", C);
      return NULL;
    }
  Puridiver *s = g_new0 (Puridiver, 1);
  s->capacity = lf_params_get_int (p, "buffer_size");
  s->alpha = lf_params_get_float (p, "alpha");
  s->replay_batch = lf_params_get_int (p, "replay_batch_size");
  s->rescore = lf_params_get_int (p, "rescore_every");
  s->stream_in_batch = lf_params_get_bool (p, "stream_in_batch");
  s->robust = lf_params_get_bool (p, "robust");
  s->robust_every = lf_params_get_int (p, "robust_every");
  s->by_class = lf_params_get_bool (p, "split_by_class");
  s->threshold = lf_params_get_float (p, "relabel_threshold");
  const char *test = lf_params_get_string (p, "split_test");
  s->split_test = g_str_equal (test, "bic")      ? PURIDIVER_SPLIT_BIC
                  : g_str_equal (test, "ashman") ? PURIDIVER_SPLIT_ASHMAN
                                                 : PURIDIVER_SPLIT_NONE;
  s->C = C;
  s->target = g_new0 (int32_t, s->capacity);
  s->kind = g_new0 (uint8_t, s->capacity);
  s->buf = lf_replay_new (s->capacity, LF_REPLAY_RESERVOIR, 0, lf_ctx_rng_key (ctx, "puridiver-buffer"));
  s->counts = g_new0 (int64_t, C);
  s->loss = g_new0 (double, s->capacity);
  s->stamp = g_new0 (int64_t, s->capacity);
  return s;
}

static void
puridiver_destroy (void *self)
{
  Puridiver *s = self;
  lf_replay_free (s->buf);
  g_free (s->counts);
  g_free (s->loss);
  g_free (s->feat);
  g_free (s->stamp);
  g_free (s->target);
  g_free (s->kind);
  g_free (s);
}

/* The loss of each sample's stored label and its unit-length feature, under
 * the model as it is now (no dropout, no tape): n samples into loss[] and
 * feat[] (n x F, allocated by the first call that learns F), and the
 * softmax into prob[] (n x C) when not NULL. */
static void
puridiver_measure (LfStrategyCtx *ctx, const int64_t *ids, const int32_t *labels, int64_t n,
                   double *loss, float *feat, double *prob)
{
  lf_tape_push (FALSE);
  LfBatch *b = lf_ctx_batch (ctx, ids, n);
  LfModelOutput out;
  lf_ctx_forward (ctx, b, FALSE, &out);
  int64_t C = lf_tensor_dim (out.logits, -1), F = lf_tensor_dim (out.features, -1);
  const LfReal *L = lf_tensor_data (out.logits), *X = lf_tensor_data (out.features);
  for (int64_t i = 0; i < n; i++)
    {
      const LfReal *row = L + i * C;
      double mx = row[0], z = 0;
      for (int64_t c = 1; c < C; c++)
        mx = MAX (mx, (double) row[c]);
      for (int64_t c = 0; c < C; c++)
        z += exp ((double) row[c] - mx);
      loss[i] = mx + log (z) - (double) row[labels[i]];
      if (prob)
        for (int64_t c = 0; c < C; c++)
          prob[i * C + c] = exp ((double) row[c] - mx) / z;
      double nn = 0;
      for (int64_t f = 0; f < F; f++)
        nn += (double) X[i * F + f] * (double) X[i * F + f];
      nn = nn > 0 ? 1 / sqrt (nn) : 0;
      for (int64_t f = 0; f < F; f++)
        feat[i * F + f] = (float) ((double) X[i * F + f] * nn);
    }
  lf_tape_pop ();
}

/* z-scores of v[0..n) in place (all 0 when they do not vary). */
static void
puridiver_standardise (double *v, int64_t n)
{
  double m = 0, sd = 0;
  for (int64_t i = 0; i < n; i++)
    m += v[i];
  m /= (double) n;
  for (int64_t i = 0; i < n; i++)
    sd += (v[i] - m) * (v[i] - m);
  sd = sqrt (sd / (double) n);
  for (int64_t i = 0; i < n; i++)
    v[i] = sd > 1e-12 ? (v[i] - m) / sd : 0;
}

/* One stream sample (id, label, its measured loss and feature) offered to
 * a full memory. */
static void
puridiver_offer_full (Puridiver *s, LfStrategyCtx *ctx, int64_t id, int32_t label, double loss, const float *feat)
{
  const int64_t F = s->F, size = lf_replay_size (s->buf), step = lf_ctx_step (ctx) + 1;
  /* the class that gives up a sample: the most populous among the memory
   * and the new sample (the lowest class on a tie) */
  int32_t k = 0;
  for (int32_t c = 0; c < s->C; c++)
    if (s->counts[c] + (c == label) > s->counts[k] + (k == label))
      k = c;
  const int64_t *ids = lf_replay_ids (s->buf);
  const int32_t *labels = lf_replay_labels (s->buf);
  /* its candidates: the memory's samples of class k (measured again when
   * their measurement is rescore_every steps old), and the new sample when
   * it is of class k */
  g_autofree int64_t *slot = g_new (int64_t, size + 1);
  int64_t m = 0, stale = 0;
  for (int64_t j = 0; j < size; j++)
    if (labels[j] == k)
      {
        slot[m++] = j;
        stale += s->stamp[j] == 0 || step - s->stamp[j] >= s->rescore;
      }
  if (stale > 0)
    {
      g_autofree int64_t *sid = g_new (int64_t, stale);
      g_autofree int32_t *slab = g_new (int32_t, stale);
      g_autofree int64_t *where = g_new (int64_t, stale);
      int64_t q = 0;
      for (int64_t a = 0; a < m; a++)
        if (s->stamp[slot[a]] == 0 || step - s->stamp[slot[a]] >= s->rescore)
          {
            where[q] = slot[a];
            sid[q] = ids[slot[a]];
            slab[q++] = labels[slot[a]];
          }
      g_autofree double *l = g_new (double, stale);
      g_autofree float *f = g_new (float, stale * F);
      puridiver_measure (ctx, sid, slab, stale, l, f, NULL);
      for (int64_t a = 0; a < stale; a++)
        {
          s->loss[where[a]] = l[a];
          memcpy (s->feat + where[a] * F, f + a * F, (size_t) F * sizeof (float));
          s->stamp[where[a]] = step;
        }
      s->scored += stale;
    }
  const gboolean new_in = label == k;
  int64_t n = m + new_in;   /* candidate a < m: slot[a]; a == m: the new sample */
  g_autofree double *zl = g_new (double, MAX (n, 1));
  g_autofree double *zs = g_new (double, MAX (n, 1));
  g_autofree double *sum = g_new0 (double, MAX (F, 1));
  for (int64_t a = 0; a < n; a++)
    {
      const float *fa = a < m ? s->feat + slot[a] * F : feat;
      zl[a] = a < m ? s->loss[slot[a]] : loss;
      for (int64_t f = 0; f < F; f++)
        sum[f] += fa[f];
    }
  /* mean cosine similarity to the other candidates: (u_a . sum - 1) / (n - 1) */
  for (int64_t a = 0; a < n; a++)
    {
      const float *fa = a < m ? s->feat + slot[a] * F : feat;
      double d = 0;
      for (int64_t f = 0; f < F; f++)
        d += (double) fa[f] * sum[f];
      zs[a] = n > 1 ? (d - 1) / (double) (n - 1) : 0;
    }
  puridiver_standardise (zl, n);
  puridiver_standardise (zs, n);
  int64_t worst = 0;
  double best = -INFINITY;
  for (int64_t a = 0; a < n; a++)
    {
      double sc = (1 - s->alpha) * zl[a] + s->alpha * zs[a];
      if (sc > best)
        {
          best = sc;
          worst = a;
        }
    }
  if (worst == m)
    {
      s->rejected++;   /* the new sample is the one to drop */
      return;
    }
  int64_t j = slot[worst];
  lf_replay_set (s->buf, j, id, label, NULL);
  s->target[j] = label;   /* a new sample keeps its label until the next split */
  s->kind[j] = PURIDIVER_CLEAN;
  s->counts[k]--;
  s->counts[label]++;
  s->loss[j] = loss;
  memcpy (s->feat + j * F, feat, (size_t) F * sizeof (float));
  s->stamp[j] = step;
  s->evictions++;
}

/* Stream samples (ids, labels as the model sees them) offered one by one. */
static void
puridiver_offer (Puridiver *s, LfStrategyCtx *ctx, const int64_t *ids, const int32_t *labels, int64_t n)
{
  int64_t i = 0;
  for (; i < n && lf_replay_size (s->buf) < s->capacity; i++)
    {
      if (labels[i] < 0 || labels[i] >= s->C)
        continue;
      int64_t j = lf_replay_size (s->buf);
      lf_replay_offer (s->buf, ids + i, labels + i, NULL, 1);
      s->target[j] = labels[i];
      s->kind[j] = PURIDIVER_CLEAN;
      s->counts[labels[i]]++;
    }
  if (i >= n)
    return;
  /* the rest meet a full memory: measured once, under the model as it is */
  int64_t rest = n - i;
  g_autofree double *loss = g_new (double, rest);
  if (s->feat == NULL)
    {
      /* F from one forward (the model's feature width) */
      lf_tape_push (FALSE);
      LfModelOutput out;
      lf_ctx_forward (ctx, lf_ctx_batch (ctx, ids + i, 1), FALSE, &out);
      s->F = lf_tensor_dim (out.features, -1);
      lf_tape_pop ();
      s->feat = g_new0 (float, s->capacity * s->F);
    }
  g_autofree float *feat = g_new (float, rest * s->F);
  puridiver_measure (ctx, ids + i, labels + i, rest, loss, feat, NULL);
  for (int64_t a = 0; a < rest; a++)
    if (labels[i + a] >= 0 && labels[i + a] < s->C)
      puridiver_offer_full (s, ctx, ids[i + a], labels[i + a], loss[a], feat + a * s->F);
}

/* PuriDivER's robust split: the whole memory measured under the model as
 * it is (its losses and features refreshed on the way) and each slot given
 * the label it is replayed with until the next split. */
static void
puridiver_split (Puridiver *s, LfStrategyCtx *ctx)
{
  const int64_t n = lf_replay_size (s->buf), step = lf_ctx_step (ctx) + 1;
  const int64_t *ids = lf_replay_ids (s->buf);
  const int32_t *labels = lf_replay_labels (s->buf);
  g_autofree double *loss = g_new (double, n);
  g_autofree double *prob = g_new (double, n * s->C);
  puridiver_measure (ctx, ids, labels, n, loss, s->feat, prob);
  for (int64_t j = 0; j < n; j++)
    {
      s->loss[j] = loss[j];
      s->stamp[j] = step;
    }
  s->scored += n;
  gboolean one = FALSE;
  if (!s->by_class)
    {
      puridiver_robust_split_tested (loss, prob, labels, n, s->C, s->threshold, s->split_test, s->target, s->kind,
                                     NULL, &one);
      s->mixtures++;
      s->unimodal += one;
    }
  else
    {
      /* each class's samples apart: a class the model has forgotten has
       * large losses all through, and split with the others it would lose
       * every label it still has in the memory */
      g_autofree int64_t *slot = g_new (int64_t, n);
      g_autofree double *l = g_new (double, n);
      g_autofree double *pr = g_new (double, n * s->C);
      g_autofree int32_t *lab = g_new (int32_t, n);
      g_autofree int32_t *tg = g_new (int32_t, n);
      g_autofree uint8_t *kd = g_new (uint8_t, n);
      for (int32_t c = 0; c < s->C; c++)
        {
          int64_t m = 0;
          for (int64_t j = 0; j < n; j++)
            if (labels[j] == c)
              {
                slot[m] = j;
                l[m] = loss[j];
                lab[m] = c;
                memcpy (pr + m * s->C, prob + j * s->C, (size_t) s->C * sizeof (double));
                m++;
              }
          if (m == 0)
            continue;
          puridiver_robust_split_tested (l, pr, lab, m, s->C, s->threshold, s->split_test, tg, kd, NULL, &one);
          s->mixtures++;
          s->unimodal += one;
          for (int64_t a = 0; a < m; a++)
            {
              s->target[slot[a]] = tg[a];
              s->kind[slot[a]] = kd[a];
            }
        }
    }
  memset (s->split_counts, 0, sizeof s->split_counts);
  for (int64_t j = 0; j < n; j++)
    s->split_counts[s->kind[j]]++;
  s->split_step = step;
  s->splits++;
}

/* PuriDivER trains on its memory only: the step's stream samples go to the
 * memory first, and the batch the model trains on is drawn from it (as
 * many samples as the stream batch and the replay batch together), so a
 * noisy label reaches the model only while the memory keeps it.  With
 * stream_in_batch, ER's way: the stream batch plus a replayed one, the
 * stream offered after the step. */
static LfBatch *
puridiver_before_batch (void *self, LfStrategyCtx *ctx, LfBatch *batch)
{
  Puridiver *s = self;
  s->n_current = batch->n;
  int64_t want = s->replay_batch > 0 ? s->replay_batch : batch->n;
  if (!s->stream_in_batch)
    {
      puridiver_offer (s, ctx, batch->sample_ids, batch->labels, batch->n);
      want += batch->n;
    }
  if (lf_replay_size (s->buf) == 0 || want == 0)
    return batch;
  /* the robust split: once the memory is full (the model has seen a
   * memory's worth of the stream), then every robust_every steps */
  if (s->robust && lf_replay_size (s->buf) == s->capacity && s->F > 0
      && (s->split_step == 0 || lf_ctx_step (ctx) + 1 - s->split_step >= s->robust_every))
    puridiver_split (s, ctx);
  int64_t *slots = lf_scope_alloc ((size_t) want * sizeof (int64_t));
  int64_t n = lf_replay_sample (s->buf, want, lf_ctx_rng_key (ctx, "puridiver-replay"), slots);
  int64_t *ids = lf_scope_alloc ((size_t) n * sizeof (int64_t));
  const int64_t *stored = lf_replay_ids (s->buf);
  for (int64_t i = 0; i < n; i++)
    ids[i] = stored[slots[i]];
  LfBatch *memory = lf_ctx_batch (ctx, ids, n);
  if (s->split_step > 0)
    {
      /* replayed with the split's labels: a relabelled sample with the
       * model's prediction, an unlabelled one with none (the loss's
       * ignore index) */
      int32_t *lab = lf_scope_alloc ((size_t) n * sizeof (int32_t));
      for (int64_t i = 0; i < n; i++)
        {
          int32_t t = s->target[slots[i]];
          lab[i] = t >= 0 ? t : -100;
          s->relabeled_rows += s->kind[slots[i]] == PURIDIVER_RELABELED;
          s->unlabeled_rows += t < 0;
        }
      LfBatch *m = lf_scope_alloc (sizeof (LfBatch));
      *m = *memory;
      m->labels = lab;
      memory = m;
    }
  return s->stream_in_batch ? lf_ctx_concat_batches (ctx, batch, memory) : memory;
}

static void
puridiver_after_step (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  Puridiver *s = self;
  if (s->stream_in_batch)
    puridiver_offer (s, ctx, batch->sample_ids, batch->labels, MIN (s->n_current, batch->n));
}

static void
puridiver_report (void *self, LfStrategyCtx *ctx)
{
  Puridiver *s = self;
  lf_ctx_report_buffer (ctx, lf_replay_ids (s->buf), lf_replay_size (s->buf));
  lf_ctx_report_number (ctx, "buffer_capacity", (double) s->capacity);
  lf_ctx_report_number (ctx, "buffer_size", (double) lf_replay_size (s->buf));
  lf_ctx_report_number (ctx, "evictions", (double) s->evictions);
  lf_ctx_report_number (ctx, "rejected", (double) s->rejected);
  lf_ctx_report_number (ctx, "samples_scored", (double) s->scored);
  if (s->robust)
    {
      lf_ctx_report_number (ctx, "robust_splits", (double) s->splits);
      lf_ctx_report_number (ctx, "robust_clean", (double) s->split_counts[PURIDIVER_CLEAN]);
      lf_ctx_report_number (ctx, "robust_relabeled", (double) s->split_counts[PURIDIVER_RELABELED]);
      lf_ctx_report_number (ctx, "robust_unlabeled", (double) s->split_counts[PURIDIVER_UNLABELED]);
      lf_ctx_report_number (ctx, "robust_relabeled_rows", (double) s->relabeled_rows);
      lf_ctx_report_number (ctx, "robust_unlabeled_rows", (double) s->unlabeled_rows);
      lf_ctx_report_number (ctx, "robust_mixtures", (double) s->mixtures);
      lf_ctx_report_number (ctx, "robust_unimodal", (double) s->unimodal);
      /* the last split, slot by slot: [sample id, stored label, label replayed (-1: none)] */
      g_autoptr (GString) sp = g_string_new ("[");
      const int64_t *ids = lf_replay_ids (s->buf);
      const int32_t *labels = lf_replay_labels (s->buf);
      for (int64_t j = 0; s->split_step > 0 && j < lf_replay_size (s->buf); j++)
        g_string_append_printf (sp, "%s[%" G_GINT64_FORMAT ", %d, %d]", j ? ", " : "", ids[j], labels[j],
                                s->target[j]);
      g_string_append_c (sp, ']');
      lf_ctx_report_json (ctx, "robust_split", sp->str);
    }
  g_autoptr (GString) js = g_string_new ("[");
  for (int64_t c = 0; c < s->C; c++)
    g_string_append_printf (js, "%s%" G_GINT64_FORMAT, c ? ", " : "", s->counts[c]);
  g_string_append_c (js, ']');
  lf_ctx_report_json (ctx, "buffer_class_counts", js->str);
}

static gboolean
puridiver_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Puridiver *s = self;
  lf_replay_put_state (s->buf, st, "puridiver.buffer");
  lf_state_put_int (st, "puridiver.evictions", s->evictions);
  lf_state_put_int (st, "puridiver.rejected", s->rejected);
  lf_state_put_int (st, "puridiver.scored", s->scored);
  return TRUE;
}

static gboolean
puridiver_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  (void) ctx;
  Puridiver *s = self;
  LfReplayBuffer *b = lf_replay_get_state (st, "puridiver.buffer", error);
  if (b == NULL)
    return FALSE;
  lf_replay_free (s->buf);
  s->buf = b;
  /* the class counts follow the memory; its measurements are stale */
  memset (s->counts, 0, (size_t) s->C * sizeof (int64_t));
  lf_replay_class_counts (s->buf, s->C, s->counts);
  memset (s->stamp, 0, (size_t) s->capacity * sizeof (int64_t));
  /* the split is redone at the next step with a full memory */
  const int32_t *labels = lf_replay_labels (s->buf);
  for (int64_t j = 0; j < lf_replay_size (s->buf); j++)
    {
      s->target[j] = labels[j];
      s->kind[j] = PURIDIVER_CLEAN;
    }
  s->split_step = 0;
  lf_state_get_int (st, "puridiver.evictions", &s->evictions);
  lf_state_get_int (st, "puridiver.rejected", &s->rejected);
  lf_state_get_int (st, "puridiver.scored", &s->scored);
  return TRUE;
}

static size_t
puridiver_memory_bytes (void *self)
{
  Puridiver *s = self;
  return lf_replay_bytes (s->buf) + (size_t) s->capacity * (sizeof (double) + 2 * sizeof (int64_t) + 1)
         + (size_t) (s->capacity * s->F) * sizeof (float);
}

static const LfStrategyVTable puridiver_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = puridiver_create,
  .destroy = puridiver_destroy,
  .before_batch = puridiver_before_batch,
  .after_step = puridiver_after_step,
  .report = puridiver_report,
  .save = puridiver_save,
  .load = puridiver_load,
  .memory_bytes = puridiver_memory_bytes,
};

static const LfCapabilities puridiver_caps = {
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
    .name = "puridiver",
    .version = "0.3.0",
    .summary = "PuriDivER: class-balanced replay that evicts by loss (purity) and feature similarity "
               "(diversity), and replays the memory's noisy part relabelled or unlabelled (Bang et al., \"Online Continual Learning on a Contaminated Data Stream "
               "with Blurry Task Boundaries\", CVPR 2022)",
    .params = puridiver_params,
    .caps = &puridiver_caps,
    .vtable = &puridiver_vtable,
  };
  return &info;
}
