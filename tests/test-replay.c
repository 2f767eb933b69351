/* lifelong tests — the replay buffer: the budget is never exceeded, the
 * reservoir keeps every streamed sample with the same probability (a
 * chi-square test over fixed-key trials), class-balanced selection evens out
 * a skewed stream, sampling is without replacement, logits travel with their
 * samples, and the checkpoint blob round-trips and refuses damage (also
 * through a strategy's checkpoint state, lf_replay_put_state / _get_state). */
#include "host.h"
#include "tensor-private.h"
#include <math.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------- */

static void
offer_range (LfReplayBuffer *b, int64_t from, int64_t to, const int32_t *labels_of_id)
{
  int64_t n = to - from;
  int64_t *ids = g_new (int64_t, MAX (n, 1));
  int32_t *labels = g_new (int32_t, MAX (n, 1));
  for (int64_t i = 0; i < n; i++)
    {
      ids[i] = from + i;
      labels[i] = labels_of_id ? labels_of_id[from + i] : (int32_t) ((from + i) % 10);
    }
  lf_replay_offer (b, ids, labels, NULL, n);
  g_free (ids);
  g_free (labels);
}

/* ---- capacity --------------------------------------------------------------- */

static void
test_capacity (void)
{
  for (int policy = 0; policy < 2; policy++)
    {
      g_autoptr (LfReplayBuffer) b = lf_replay_new (50, (LfReplayPolicy) policy, 0, 7);
      g_assert_cmpint (lf_replay_capacity (b), ==, 50);
      g_assert_cmpint (lf_replay_size (b), ==, 0);
      g_assert_null (lf_replay_logits (b));
      int64_t offered = 0;
      /* batches of uneven size, far past the budget */
      for (int64_t batch = 1; offered < 2000; batch = batch * 3 % 37 + 1)
        {
          offer_range (b, offered, offered + batch, NULL);
          offered += batch;
          g_assert_cmpint (lf_replay_size (b), ==, MIN (offered, 50));
          g_assert_cmpint (lf_replay_seen (b), ==, offered);
        }
      /* every stored id is one that was offered, each at most once */
      g_autofree uint8_t *seen = g_new0 (uint8_t, offered);
      for (int64_t s = 0; s < lf_replay_size (b); s++)
        {
          int64_t id = lf_replay_ids (b)[s];
          g_assert_cmpint (id, >=, 0);
          g_assert_cmpint (id, <, offered);
          g_assert_cmpint (seen[id], ==, 0);
          seen[id] = 1;
          g_assert_cmpint (lf_replay_labels (b)[s], ==, id % 10);
        }
      lf_replay_clear (b);
      g_assert_cmpint (lf_replay_size (b), ==, 0);
      offer_range (b, 0, 3, NULL);
      g_assert_cmpint (lf_replay_size (b), ==, 3);
    }
  /* a zero budget stores nothing */
  g_autoptr (LfReplayBuffer) z = lf_replay_new (0, LF_REPLAY_RESERVOIR, 0, 1);
  int64_t id = 5;
  int32_t label = 1;
  g_assert_cmpint (lf_replay_offer (z, &id, &label, NULL, 1), ==, 0);
  g_assert_cmpint (lf_replay_size (z), ==, 0);
  g_assert_cmpint (lf_replay_seen (z), ==, 1);
}

/* ---- reservoir: uniform inclusion ---------------------------------------------
 * 2000 trials, each with its own fixed key, stream 1000 samples into a
 * buffer of 100.  Each sample must end up stored with probability 1/10.
 * Binned into 10 groups of 100 consecutive ids (early vs late in the
 * stream), the inclusion counts are tested against the uniform expectation
 * with a chi-square test at the 0.1% level (9 degrees of freedom: 27.88).
 * The keys are fixed, so the test is deterministic; it fails for a buffer
 * that favours early or late samples (e.g. one that replaces with
 * probability capacity / seen using the wrong count). */
static void
test_reservoir_uniform (void)
{
  const int trials = 2000, capacity = 100, stream = 1000, bins = 10;
  int64_t per_id[1000] = { 0 };
  for (int t = 0; t < trials; t++)
    {
      g_autoptr (LfReplayBuffer) b =
        lf_replay_new (capacity, LF_REPLAY_RESERVOIR, 0, lf_rng_key (2024, (uint64_t) t, 0, 0, "reservoir"));
      /* the stream arrives in batches of 32, as from a data loader */
      for (int64_t at = 0; at < stream; at += 32)
        offer_range (b, at, MIN (at + 32, stream), NULL);
      g_assert_cmpint (lf_replay_size (b), ==, capacity);
      for (int64_t s = 0; s < capacity; s++)
        per_id[lf_replay_ids (b)[s]]++;
    }
  double per_bin[10] = { 0 };
  for (int i = 0; i < stream; i++)
    per_bin[i / (stream / bins)] += (double) per_id[i];
  double expect_bin = (double) trials * capacity / bins;
  double chi2 = 0;
  for (int k = 0; k < bins; k++)
    chi2 += (per_bin[k] - expect_bin) * (per_bin[k] - expect_bin) / expect_bin;
  g_test_message ("reservoir: chi-square over %d bins %.3f (0.1%% critical value 27.88)", bins, chi2);
  g_assert_cmpfloat (chi2, <, 27.88);
  /* per sample: 999 degrees of freedom, mean 999, sd 44.7; 5 sd above */
  double expect_id = (double) trials * capacity / stream, chi2_id = 0;
  for (int i = 0; i < stream; i++)
    chi2_id += ((double) per_id[i] - expect_id) * ((double) per_id[i] - expect_id) / expect_id;
  g_test_message ("reservoir: chi-square over %d samples %.1f", stream, chi2_id);
  g_assert_cmpfloat (chi2_id, <, 999 + 5 * 44.7);
  /* the very first and very last samples in particular */
  g_assert_cmpfloat (fabs ((double) per_id[0] - expect_id), <, 5 * sqrt (expect_id));
  g_assert_cmpfloat (fabs ((double) per_id[stream - 1] - expect_id), <, 5 * sqrt (expect_id));
}

static void
test_reservoir_deterministic (void)
{
  g_autoptr (LfReplayBuffer) a = lf_replay_new (64, LF_REPLAY_RESERVOIR, 0, 99);
  g_autoptr (LfReplayBuffer) b = lf_replay_new (64, LF_REPLAY_RESERVOIR, 0, 99);
  g_autoptr (LfReplayBuffer) c = lf_replay_new (64, LF_REPLAY_RESERVOIR, 0, 100);
  /* same stream, different batching: the same choices */
  offer_range (a, 0, 5000, NULL);
  for (int64_t at = 0; at < 5000; at += 7)
    offer_range (b, at, MIN (at + 7, 5000), NULL);
  offer_range (c, 0, 5000, NULL);
  g_assert_cmpmem (lf_replay_ids (a), 64 * sizeof (int64_t), lf_replay_ids (b), 64 * sizeof (int64_t));
  g_assert_true (memcmp (lf_replay_ids (a), lf_replay_ids (c), 64 * sizeof (int64_t)) != 0);
}

/* ---- class-balanced --------------------------------------------------------- */

static void
check_balanced (LfReplayBuffer *b, int n_classes, const gboolean *present)
{
  int64_t counts[16];
  lf_replay_class_counts (b, n_classes, counts);
  int64_t lo = G_MAXINT64, hi = 0, total = 0;
  for (int c = 0; c < n_classes; c++)
    {
      total += counts[c];
      if (!present[c])
        {
          g_assert_cmpint (counts[c], ==, 0);
          continue;
        }
      lo = MIN (lo, counts[c]);
      hi = MAX (hi, counts[c]);
    }
  g_assert_cmpint (total, ==, lf_replay_size (b));
  g_assert_cmpint (hi - lo, <=, 1);
}

static void
test_balanced_skewed (void)
{
  /* a long-tailed stream: class c is drawn with weight 2^(7-c), so class 0
   * is 128 times as frequent as class 7 */
  enum { N = 20000, C = 8, CAP = 100 };
  g_autofree int32_t *labels = g_new (int32_t, N);
  LfRng rng;
  lf_rng_init (&rng, 5);
  for (int i = 0; i < N; i++)
    {
      uint64_t r = lf_rng_below (&rng, 255);   /* weights sum to 255 */
      int c = 0;
      for (uint64_t acc = 128; r >= acc; c++)
        acc += (uint64_t) 128 >> (c + 1);
      labels[i] = c;
    }
  int64_t raw[C] = { 0 };
  for (int i = 0; i < N; i++)
    raw[labels[i]]++;
  g_assert_cmpint (raw[0], >, 50 * raw[C - 1]);
  g_autoptr (LfReplayBuffer) b = lf_replay_new (CAP, LF_REPLAY_CLASS_BALANCED, 0, 11);
  offer_range (b, 0, N, labels);
  g_assert_cmpint (lf_replay_size (b), ==, CAP);
  gboolean present[C];
  for (int c = 0; c < C; c++)
    present[c] = TRUE;
  check_balanced (b, C, present);
  /* labels stored with their ids */
  for (int64_t s = 0; s < CAP; s++)
    g_assert_cmpint (lf_replay_labels (b)[s], ==, labels[lf_replay_ids (b)[s]]);

  /* class-incremental: two new classes per experience; after each, the
   * classes seen so far share the budget within one sample */
  g_autoptr (LfReplayBuffer) ci = lf_replay_new (CAP, LF_REPLAY_CLASS_BALANCED, 0, 12);
  g_autofree int32_t *ci_labels = g_new (int32_t, 5 * 400);
  gboolean seen[10] = { FALSE };
  for (int e = 0; e < 5; e++)
    {
      for (int i = 0; i < 400; i++)
        ci_labels[e * 400 + i] = 2 * e + (i % 3 == 0);   /* 2:1 within the experience */
      offer_range (ci, e * 400, (e + 1) * 400, ci_labels);
      seen[2 * e] = seen[2 * e + 1] = TRUE;
      check_balanced (ci, 10, seen);
    }
}

/* The rule itself: a full buffer refuses a sample of a largest class
 * (ties included) and evicts from the largest class otherwise. */
static void
test_balanced_rule (void)
{
  g_autoptr (LfReplayBuffer) b = lf_replay_new (4, LF_REPLAY_CLASS_BALANCED, 0, 3);
  int64_t ids[4] = { 0, 1, 2, 3 };
  int32_t labels[4] = { 0, 0, 0, 1 };
  g_assert_cmpint (lf_replay_offer (b, ids, labels, NULL, 4), ==, 4);
  int64_t counts[3];
  /* class 0 is the largest: another 0 is refused */
  int64_t id = 10;
  int32_t label = 0;
  g_assert_cmpint (lf_replay_offer (b, &id, &label, NULL, 1), ==, 0);
  /* a 1 evicts a 0 (0: 3 -> 2, 1: 1 -> 2) */
  id = 11, label = 1;
  g_assert_cmpint (lf_replay_offer (b, &id, &label, NULL, 1), ==, 1);
  lf_replay_class_counts (b, 3, counts);
  g_assert_cmpint (counts[0], ==, 2);
  g_assert_cmpint (counts[1], ==, 2);
  /* tied largest: neither 0 nor 1 gets in; a new class 2 does */
  id = 12, label = 1;
  g_assert_cmpint (lf_replay_offer (b, &id, &label, NULL, 1), ==, 0);
  id = 13, label = 2;
  g_assert_cmpint (lf_replay_offer (b, &id, &label, NULL, 1), ==, 1);
  lf_replay_class_counts (b, 3, counts);
  g_assert_cmpint (counts[0] + counts[1], ==, 3);
  g_assert_cmpint (counts[2], ==, 1);
  g_assert_cmpint (lf_replay_seen (b), ==, 8);
  /* lf_replay_set keeps the class bookkeeping: relabel the class-2 sample as 0 */
  for (int64_t s = 0; s < 4; s++)
    if (lf_replay_labels (b)[s] == 2)
      lf_replay_set (b, s, 20, 0, NULL);
  lf_replay_class_counts (b, 3, counts);
  g_assert_cmpint (counts[2], ==, 0);
  /* a class-2 sample is now the smallest class: it gets in again */
  id = 14, label = 2;
  g_assert_cmpint (lf_replay_offer (b, &id, &label, NULL, 1), ==, 1);
}

/* ---- sampling ----------------------------------------------------------------- */

static void
test_sample (void)
{
  g_autoptr (LfReplayBuffer) b = lf_replay_new (40, LF_REPLAY_RESERVOIR, 0, 1);
  offer_range (b, 0, 30, NULL);
  int64_t slots[64];
  /* without replacement, in range */
  for (uint64_t key = 0; key < 50; key++)
    {
      int64_t n = lf_replay_sample (b, 20, key, slots);
      g_assert_cmpint (n, ==, 20);
      uint8_t hit[30] = { 0 };
      for (int64_t k = 0; k < n; k++)
        {
          g_assert_cmpint (slots[k], >=, 0);
          g_assert_cmpint (slots[k], <, 30);
          g_assert_cmpint (hit[slots[k]], ==, 0);
          hit[slots[k]] = 1;
        }
    }
  /* clipped to the size: a permutation of every slot */
  g_assert_cmpint (lf_replay_sample (b, 64, 3, slots), ==, 30);
  int64_t sum = 0;
  for (int k = 0; k < 30; k++)
    sum += slots[k];
  g_assert_cmpint (sum, ==, 29 * 30 / 2);
  /* the same key draws the same slots; another key others */
  int64_t a[10], c[10], d[10];
  lf_replay_sample (b, 10, 77, a);
  lf_replay_sample (b, 10, 77, c);
  lf_replay_sample (b, 10, 78, d);
  g_assert_cmpmem (a, sizeof a, c, sizeof c);
  g_assert_true (memcmp (a, d, sizeof a) != 0);
  /* every slot equally likely: 3000 draws of 5 from 30, 500 per slot */
  int64_t freq[30] = { 0 };
  for (uint64_t key = 0; key < 3000; key++)
    {
      lf_replay_sample (b, 5, lf_rng_key (1, key, 0, 0, "sample"), slots);
      for (int k = 0; k < 5; k++)
        freq[slots[k]]++;
    }
  double chi2 = 0;
  for (int s = 0; s < 30; s++)
    chi2 += (freq[s] - 500.0) * (freq[s] - 500.0) / 500.0;
  g_assert_cmpfloat (chi2, <, 58.3);   /* chi-square(29) at 0.1% */
  /* an empty buffer samples nothing */
  g_autoptr (LfReplayBuffer) e = lf_replay_new (4, LF_REPLAY_RESERVOIR, 0, 1);
  g_assert_cmpint (lf_replay_sample (e, 3, 1, slots), ==, 0);
}

/* ---- logits ---------------------------------------------------------------------- */

static void
test_logits (void)
{
  enum { D = 3, N = 500 };
  for (int policy = 0; policy < 2; policy++)
    {
      g_autoptr (LfReplayBuffer) b = lf_replay_new (32, (LfReplayPolicy) policy, D, 4);
      g_assert_cmpint (lf_replay_logit_dim (b), ==, D);
      int64_t ids[N];
      int32_t labels[N];
      LfReal logits[N * D];
      for (int i = 0; i < N; i++)
        {
          ids[i] = 1000 + i;
          labels[i] = i % 5;
          for (int j = 0; j < D; j++)
            logits[i * D + j] = (LfReal) (i * 10 + j);
        }
      for (int at = 0; at < N; at += 50)
        lf_replay_offer (b, ids + at, labels + at, logits + at * D, 50);
      const LfReal *stored = lf_replay_logits (b);
      g_assert_nonnull (stored);
      for (int64_t s = 0; s < lf_replay_size (b); s++)
        {
          int64_t i = lf_replay_ids (b)[s] - 1000;
          g_assert_cmpint (lf_replay_labels (b)[s], ==, labels[i]);
          for (int j = 0; j < D; j++)
            g_assert_cmpfloat (stored[s * D + j], ==, (LfReal) (i * 10 + j));
        }
      /* set replaces a slot's logits; NULL logits store zeros */
      LfReal row[D] = { -1, -2, -3 };
      lf_replay_set (b, 2, 7, 1, row);
      g_assert_cmpint (lf_replay_ids (b)[2], ==, 7);
      g_assert_cmpfloat (lf_replay_logits (b)[2 * D + 2], ==, -3);
      lf_replay_set (b, 2, 8, 1, NULL);
      g_assert_cmpfloat (lf_replay_logits (b)[2 * D + 0], ==, 0);
    }
}

/* ---- serialisation ----------------------------------------------------------------- */

static void
assert_same (LfReplayBuffer *a, LfReplayBuffer *b)
{
  g_assert_cmpint (lf_replay_size (a), ==, lf_replay_size (b));
  g_assert_cmpint (lf_replay_capacity (a), ==, lf_replay_capacity (b));
  g_assert_cmpint (lf_replay_seen (a), ==, lf_replay_seen (b));
  g_assert_cmpint (lf_replay_logit_dim (a), ==, lf_replay_logit_dim (b));
  int64_t n = lf_replay_size (a), d = lf_replay_logit_dim (a);
  g_assert_cmpmem (lf_replay_ids (a), n * 8, lf_replay_ids (b), n * 8);
  g_assert_cmpmem (lf_replay_labels (a), n * 4, lf_replay_labels (b), n * 4);
  if (d > 0)
    g_assert_cmpmem (lf_replay_logits (a), n * d * sizeof (LfReal), lf_replay_logits (b), n * d * sizeof (LfReal));
}

static void
offer_with_logits (LfReplayBuffer *b, int64_t from, int64_t to)
{
  for (int64_t i = from; i < to; i++)
    {
      int32_t label = (int32_t) (i % 3 == 0 ? i % 7 : 1);
      LfReal logits[2] = { (LfReal) i * 0.5f, -(LfReal) i };
      lf_replay_offer (b, &i, &label, logits, 1);
    }
}

static void
test_serialize_roundtrip (void)
{
  for (int policy = 0; policy < 2; policy++)
    {
      g_autoptr (LfReplayBuffer) a = lf_replay_new (25, (LfReplayPolicy) policy, 2, 8);
      offer_with_logits (a, 0, 300);
      g_autoptr (GBytes) blob = lf_replay_serialize (a);
      g_autoptr (GError) error = NULL;
      g_autoptr (LfReplayBuffer) b = lf_replay_deserialize (blob, &error);
      g_assert_no_error (error);
      g_assert_nonnull (b);
      assert_same (a, b);
      /* the generator's state came along: a resumed buffer makes the same
       * choices as one that never stopped */
      offer_with_logits (a, 300, 900);
      offer_with_logits (b, 300, 900);
      assert_same (a, b);
      int64_t sa[10], sb[10];
      lf_replay_sample (a, 10, 5, sa);
      lf_replay_sample (b, 10, 5, sb);
      g_assert_cmpmem (sa, sizeof sa, sb, sizeof sb);
    }
  /* an empty buffer without logits round-trips too */
  g_autoptr (LfReplayBuffer) e = lf_replay_new (3, LF_REPLAY_RESERVOIR, 0, 1);
  g_autoptr (GBytes) blob = lf_replay_serialize (e);
  g_autoptr (LfReplayBuffer) f = lf_replay_deserialize (blob, NULL);
  g_assert_nonnull (f);
  assert_same (e, f);
  g_assert_null (lf_replay_logits (f));
}

/* A damaged copy of blob: the first len bytes, byte at flipped with xor. */
static void
assert_refused (GBytes *blob, gsize len, gssize at, guint8 xor, const char *needle)
{
  gsize n;
  const guint8 *p = g_bytes_get_data (blob, &n);
  g_autofree guint8 *copy = g_malloc (MAX (len, 1));
  memcpy (copy, p, MIN (len, n));
  if (at >= 0)
    copy[at] ^= xor;
  g_autoptr (GBytes) bad = g_bytes_new (copy, len);
  g_autoptr (GError) error = NULL;
  LfReplayBuffer *b = lf_replay_deserialize (bad, &error);
  g_assert_null (b);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  if (strstr (error->message, needle) == NULL)
    g_error ("expected '%s' in: %s", needle, error->message);
}

static void
test_state_roundtrip (void)
{
  g_autoptr (LfReplayBuffer) a = lf_replay_new (25, LF_REPLAY_RESERVOIR, 2, 8);
  offer_with_logits (a, 0, 300);
  LfState *st = lf_state_new ();
  lf_replay_put_state (a, st, "x.buffer");
  g_autoptr (GError) error = NULL;
  g_autoptr (LfReplayBuffer) b = lf_replay_get_state (st, "x.buffer", &error);
  g_assert_no_error (error);
  assert_same (a, b);
  /* a missing key and bytes that are not a buffer are refused by name */
  g_assert_null (lf_replay_get_state (st, "y.buffer", &error));
  g_assert_error (error, LF_ERROR, LF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "y.buffer"));
  g_clear_error (&error);
  lf_state_put_bytes (st, "z.buffer", "not a buffer", 12);
  g_assert_null (lf_replay_get_state (st, "z.buffer", &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "z.buffer"));
  lf_state_free (st);
}

static void
test_serialize_corrupt (void)
{
  g_autoptr (LfReplayBuffer) a = lf_replay_new (10, LF_REPLAY_CLASS_BALANCED, 2, 8);
  offer_with_logits (a, 0, 50);
  g_autoptr (GBytes) blob = lf_replay_serialize (a);
  gsize n = g_bytes_get_size (blob);
  g_assert_cmpuint (n, ==, 72 + 10 * (8 + 4 + 8) + 4);
  assert_refused (blob, 0, -1, 0, "magic");
  assert_refused (blob, 5, -1, 0, "magic");
  assert_refused (blob, 40, -1, 0, "truncated");
  assert_refused (blob, n - 1, -1, 0, "truncated");
  assert_refused (blob, n - 37, -1, 0, "truncated");
  assert_refused (blob, n, 0, 0x20, "magic");
  assert_refused (blob, n, 8, 0x02, "version");
  assert_refused (blob, n, 16, 0x07, "policy");
  assert_refused (blob, n, 40, 0x40, "size");        /* size 10 -> 74 > capacity */
  assert_refused (blob, n, 100, 0x01, "checksum");   /* an id */
  assert_refused (blob, n, (gssize) n - 9, 0x80, "checksum");   /* a logit */
  assert_refused (blob, n, (gssize) n - 1, 0x01, "checksum");   /* the checksum itself */
  /* trailing garbage */
  {
    const guint8 *p = g_bytes_get_data (blob, NULL);
    g_autofree guint8 *longer = g_malloc0 (n + 8);
    memcpy (longer, p, n);
    g_autoptr (GBytes) bad = g_bytes_new (longer, n + 8);
    g_autoptr (GError) error = NULL;
    g_assert_null (lf_replay_deserialize (bad, &error));
    g_assert_nonnull (strstr (error->message, "trailing"));
  }
  /* a good blob still reads */
  g_autoptr (LfReplayBuffer) ok = lf_replay_deserialize (blob, NULL);
  g_assert_nonnull (ok);
  assert_same (a, ok);
}

/* ---- bytes ------------------------------------------------------------------------- */

static void
test_bytes (void)
{
  g_autoptr (LfReplayBuffer) plain = lf_replay_new (1000, LF_REPLAY_RESERVOIR, 0, 1);
  g_autoptr (LfReplayBuffer) der = lf_replay_new (1000, LF_REPLAY_RESERVOIR, 10, 1);
  size_t p0 = lf_replay_bytes (plain), d0 = lf_replay_bytes (der);
  /* ids and labels for the whole budget, allocated up front */
  g_assert_cmpuint (p0, >=, 1000 * (8 + 4));
  g_assert_cmpuint (p0, <, 1000 * (8 + 4) * 3);
  g_assert_cmpuint (d0 - p0, ==, 1000 * 10 * sizeof (LfReal));
  /* contiguous arrays: filling the buffer does not grow it */
  offer_range (plain, 0, 5000, NULL);
  g_assert_cmpuint (lf_replay_bytes (plain), ==, p0);
  /* class-balanced bookkeeping is counted (a few bytes per class) */
  g_autoptr (LfReplayBuffer) cb = lf_replay_new (1000, LF_REPLAY_CLASS_BALANCED, 0, 1);
  size_t c0 = lf_replay_bytes (cb);
  offer_range (cb, 0, 5000, NULL);
  g_assert_cmpuint (lf_replay_bytes (cb), >=, c0 + 10 * sizeof (int64_t));
  g_assert_cmpuint (lf_replay_bytes (cb), <, c0 + 1024);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/replay/capacity", test_capacity);
  g_test_add_func ("/replay/reservoir/uniform", test_reservoir_uniform);
  g_test_add_func ("/replay/reservoir/deterministic", test_reservoir_deterministic);
  g_test_add_func ("/replay/class-balanced/skewed", test_balanced_skewed);
  g_test_add_func ("/replay/class-balanced/rule", test_balanced_rule);
  g_test_add_func ("/replay/sample", test_sample);
  g_test_add_func ("/replay/logits", test_logits);
  g_test_add_func ("/replay/serialize/roundtrip", test_serialize_roundtrip);
  g_test_add_func ("/replay/serialize/state", test_state_roundtrip);
  g_test_add_func ("/replay/serialize/corrupt", test_serialize_corrupt);
  g_test_add_func ("/replay/bytes", test_bytes);
  return g_test_run ();
}
