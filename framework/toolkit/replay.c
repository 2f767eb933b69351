/* lifelong toolkit — the replay buffer: a fixed budget of dataset sample ids
 * with their labels (and optionally logits, for DER), filled by reservoir
 * sampling (Vitter's algorithm R) or GDumb's class-balanced greedy rule.
 * Every random choice comes from the buffer's own keyed generator, whose
 * state is serialised with the samples, so a resumed run makes the same
 * choices as one that never stopped. */
#include "tensor-private.h"
#include <zlib.h>

struct LfReplayBuffer {
  LfReplayPolicy policy;
  int64_t  capacity;
  int64_t  logit_dim;
  int64_t  size;          /* stored samples, <= capacity                    */
  int64_t  seen;          /* samples offered so far                         */
  LfRng    rng;           /* admission and eviction choices                  */
  int64_t *ids;           /* (capacity)                                      */
  int32_t *labels;        /* (capacity)                                      */
  LfReal  *logits;        /* (capacity, logit_dim), or NULL                   */
  int64_t *scratch;       /* (capacity): index array for lf_replay_sample     */
  /* class-balanced bookkeeping: stored samples per label (labels >= 0) */
  int64_t *class_n;
  int64_t  n_class_slots;
};

/* ---- errors --------------------------------------------------------------
 * replay.h declares no error domain of its own; the quark is private and the
 * codes say which check failed. */
enum {
  REPLAY_ERROR_TRUNCATED,   /* fewer bytes than the header promises  */
  REPLAY_ERROR_FORMAT,      /* bad magic, version or field           */
  REPLAY_ERROR_CHECKSUM,    /* the payload does not match its CRC    */
};

static GQuark
replay_error_quark (void)
{
  return g_quark_from_static_string ("lf-replay-error-quark");
}

/* ---- creation --------------------------------------------------------------- */

static LfReplayBuffer *
replay_alloc (int64_t capacity, LfReplayPolicy policy, int64_t logit_dim, uint64_t rng_key)
{
  LfReplayBuffer *b = g_new0 (LfReplayBuffer, 1);
  b->policy = policy;
  b->capacity = capacity;
  b->logit_dim = logit_dim;
  lf_rng_init (&b->rng, rng_key);
  gsize cap = (gsize) MAX (capacity, 1);
  b->ids = g_new0 (int64_t, cap);
  b->labels = g_new0 (int32_t, cap);
  b->scratch = g_new0 (int64_t, cap);
  if (logit_dim > 0)
    b->logits = g_new0 (LfReal, cap * (gsize) logit_dim);
  return b;
}

LfReplayBuffer *
lf_replay_new (int64_t capacity, LfReplayPolicy policy, int64_t logit_dim, uint64_t rng_key)
{
  g_return_val_if_fail (capacity >= 0, NULL);
  g_return_val_if_fail (logit_dim >= 0, NULL);
  g_return_val_if_fail (policy == LF_REPLAY_RESERVOIR || policy == LF_REPLAY_CLASS_BALANCED, NULL);
  return replay_alloc (capacity, policy, logit_dim, rng_key);
}

void
lf_replay_free (LfReplayBuffer *b)
{
  if (b == NULL)
    return;
  g_free (b->ids);
  g_free (b->labels);
  g_free (b->logits);
  g_free (b->scratch);
  g_free (b->class_n);
  g_free (b);
}

int64_t lf_replay_size (const LfReplayBuffer *b) { return b->size; }
int64_t lf_replay_capacity (const LfReplayBuffer *b) { return b->capacity; }
int64_t lf_replay_seen (const LfReplayBuffer *b) { return b->seen; }
const int64_t *lf_replay_ids (const LfReplayBuffer *b) { return b->ids; }
const int32_t *lf_replay_labels (const LfReplayBuffer *b) { return b->labels; }
const LfReal *lf_replay_logits (const LfReplayBuffer *b) { return b->logits; }
int64_t lf_replay_logit_dim (const LfReplayBuffer *b) { return b->logit_dim; }

/* ---- class bookkeeping ------------------------------------------------------- */

static void
class_add (LfReplayBuffer *b, int32_t label, int64_t delta)
{
  if (label < 0)
    return;
  if (label >= b->n_class_slots)
    {
      int64_t n = MAX ((int64_t) label + 1, 2 * b->n_class_slots);
      b->class_n = g_renew (int64_t, b->class_n, (gsize) n);
      memset (b->class_n + b->n_class_slots, 0, (size_t) (n - b->n_class_slots) * sizeof (int64_t));
      b->n_class_slots = n;
    }
  b->class_n[label] += delta;
}

static void
class_rebuild (LfReplayBuffer *b)
{
  if (b->class_n)
    memset (b->class_n, 0, (size_t) b->n_class_slots * sizeof (int64_t));
  for (int64_t s = 0; s < b->size; s++)
    class_add (b, b->labels[s], 1);
}

/* ---- storing -------------------------------------------------------------- */

static void
store (LfReplayBuffer *b, int64_t slot, int64_t id, int32_t label, const LfReal *logits)
{
  b->ids[slot] = id;
  b->labels[slot] = label;
  if (b->logit_dim > 0)
    {
      LfReal *dst = b->logits + slot * b->logit_dim;
      if (logits)
        memcpy (dst, logits, (size_t) b->logit_dim * sizeof (LfReal));
      else
        memset (dst, 0, (size_t) b->logit_dim * sizeof (LfReal));
    }
}

/* Algorithm R: the t-th offered sample (0-based) replaces a uniformly chosen
 * slot with probability capacity / (t + 1), so after N offers each of them
 * is stored with probability capacity / N. */
static gboolean
offer_reservoir (LfReplayBuffer *b, int64_t id, int32_t label, const LfReal *logits)
{
  if (b->size < b->capacity)
    {
      store (b, b->size++, id, label, logits);
      return TRUE;
    }
  uint64_t j = lf_rng_below (&b->rng, (uint64_t) b->seen + 1);
  if (j >= (uint64_t) b->capacity)
    return FALSE;
  store (b, (int64_t) j, id, label, logits);
  return TRUE;
}

/* GDumb (Prabhu et al. 2020): a buffer with room takes every sample; a full
 * one takes a sample only when its class is not the largest (ties count as
 * largest), evicting a random sample of a largest class (a random one of
 * them when several tie).  The victim is the k-th sample of its class in
 * slot order: a canonical choice, so it survives serialisation. */
static gboolean
offer_balanced (LfReplayBuffer *b, int64_t id, int32_t label, const LfReal *logits)
{
  if (b->size < b->capacity)
    {
      class_add (b, label, 1);
      store (b, b->size++, id, label, logits);
      return TRUE;
    }
  if (b->capacity == 0)
    return FALSE;
  int64_t max = 0, n_max = 0;
  for (int64_t c = 0; c < b->n_class_slots; c++)
    if (b->class_n[c] > max)
      max = b->class_n[c], n_max = 1;
    else if (b->class_n[c] == max && max > 0)
      n_max++;
  int64_t mine = label < b->n_class_slots ? b->class_n[label] : 0;
  if (mine >= max)
    return FALSE;
  /* the victim class: the k-th of the tied largest ones */
  int64_t k = n_max > 1 ? (int64_t) lf_rng_below (&b->rng, (uint64_t) n_max) : 0;
  int32_t victim = -1;
  for (int64_t c = 0; c < b->n_class_slots; c++)
    if (b->class_n[c] == max && k-- == 0)
      {
        victim = (int32_t) c;
        break;
      }
  g_assert (victim >= 0);
  int64_t r = (int64_t) lf_rng_below (&b->rng, (uint64_t) max);
  int64_t slot = -1;
  for (int64_t s = 0; s < b->size; s++)
    if (b->labels[s] == victim && r-- == 0)
      {
        slot = s;
        break;
      }
  g_assert (slot >= 0);
  class_add (b, victim, -1);
  class_add (b, label, 1);
  store (b, slot, id, label, logits);
  return TRUE;
}

int64_t
lf_replay_offer (LfReplayBuffer *b, const int64_t *sample_ids, const int32_t *labels,
                 const LfReal *logits, int64_t n)
{
  g_return_val_if_fail (b != NULL && n >= 0, 0);
  g_return_val_if_fail (n == 0 || (sample_ids != NULL && labels != NULL), 0);
  if (b->policy == LF_REPLAY_CLASS_BALANCED)
    for (int64_t i = 0; i < n; i++)
      g_return_val_if_fail (labels[i] >= 0, 0);
  int64_t stored = 0;
  for (int64_t i = 0; i < n; i++)
    {
      const LfReal *row = logits && b->logit_dim > 0 ? logits + i * b->logit_dim : NULL;
      gboolean kept = b->policy == LF_REPLAY_RESERVOIR
                        ? offer_reservoir (b, sample_ids[i], labels[i], row)
                        : offer_balanced (b, sample_ids[i], labels[i], row);
      stored += kept;
      b->seen++;
    }
  return stored;
}

/* ---- reading ------------------------------------------------------------------ */

/* A partial Fisher-Yates shuffle of the slot indices: the first n entries
 * are a uniform draw without replacement. */
int64_t
lf_replay_sample (LfReplayBuffer *b, int64_t n, uint64_t rng_key, int64_t *slots)
{
  g_return_val_if_fail (b != NULL && n >= 0, 0);
  n = MIN (n, b->size);
  g_return_val_if_fail (n == 0 || slots != NULL, 0);
  LfRng rng;
  lf_rng_init (&rng, rng_key);
  int64_t *idx = b->scratch;
  for (int64_t i = 0; i < b->size; i++)
    idx[i] = i;
  for (int64_t k = 0; k < n; k++)
    {
      int64_t j = k + (int64_t) lf_rng_below (&rng, (uint64_t) (b->size - k));
      int64_t t = idx[k];
      idx[k] = idx[j];
      idx[j] = t;
      slots[k] = idx[k];
    }
  return n;
}

void
lf_replay_class_counts (const LfReplayBuffer *b, int64_t n_classes, int64_t *counts)
{
  g_return_if_fail (b != NULL && n_classes >= 0);
  g_return_if_fail (n_classes == 0 || counts != NULL);
  memset (counts, 0, (size_t) n_classes * sizeof (int64_t));
  for (int64_t s = 0; s < b->size; s++)
    if (b->labels[s] >= 0 && b->labels[s] < n_classes)
      counts[b->labels[s]]++;
}

void
lf_replay_set (LfReplayBuffer *b, int64_t slot, int64_t sample_id, int32_t label, const LfReal *logits)
{
  g_return_if_fail (b != NULL);
  g_return_if_fail (slot >= 0 && slot < b->size);
  g_return_if_fail (b->policy != LF_REPLAY_CLASS_BALANCED || label >= 0);
  if (b->policy == LF_REPLAY_CLASS_BALANCED)
    {
      class_add (b, b->labels[slot], -1);
      class_add (b, label, 1);
    }
  store (b, slot, sample_id, label, logits);
}

void
lf_replay_clear (LfReplayBuffer *b)
{
  g_return_if_fail (b != NULL);
  b->size = 0;
  if (b->class_n)
    memset (b->class_n, 0, (size_t) b->n_class_slots * sizeof (int64_t));
}

size_t
lf_replay_bytes (const LfReplayBuffer *b)
{
  g_return_val_if_fail (b != NULL, 0);
  size_t cap = (size_t) MAX (b->capacity, 1);
  size_t bytes = sizeof *b
                 + cap * (sizeof (int64_t) + sizeof (int32_t) + sizeof (int64_t))
                 + (size_t) b->n_class_slots * sizeof (int64_t);
  if (b->logits)
    bytes += cap * (size_t) b->logit_dim * sizeof (LfReal);
  return bytes;
}

/* ---- serialisation --------------------------------------------------------------
 * Little-endian, whatever the host:
 *   0  magic "LFREPLAY"           8 bytes
 *   8  version (1)                u32
 *  12  sizeof (LfReal) (4)        u32
 *  16  policy                     u32
 *  20  reserved (0)               u32
 *  24  capacity, logit_dim, size, seen           i64 each
 *  56  rng key, rng counter                      u64 each
 *  72  ids (size x i64), labels (size x i32), logits (size x logit_dim x f32)
 *  end crc32 (zlib) of every byte before it     u32
 */
#define REPLAY_MAGIC   "LFREPLAY"
#define REPLAY_VERSION 1u
#define REPLAY_HEADER  72u

static void
put_u32 (GByteArray *a, uint32_t v)
{
  guint8 b[4];
  for (int i = 0; i < 4; i++)
    b[i] = (guint8) (v >> (8 * i));
  g_byte_array_append (a, b, 4);
}

static void
put_u64 (GByteArray *a, uint64_t v)
{
  guint8 b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (guint8) (v >> (8 * i));
  g_byte_array_append (a, b, 8);
}

static uint32_t
get_u32 (const guint8 *p)
{
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

static uint64_t
get_u64 (const guint8 *p)
{
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

static uint32_t
real_bits (LfReal x)
{
  float f = (float) x;
  uint32_t u;
  memcpy (&u, &f, 4);
  return u;
}

static LfReal
real_from_bits (uint32_t u)
{
  float f;
  memcpy (&f, &u, 4);
  return (LfReal) f;
}

static uint32_t
crc_of (const guint8 *p, size_t n)
{
  uLong crc = crc32 (0L, Z_NULL, 0);
  while (n > 0)
    {
      uInt chunk = (uInt) MIN (n, (size_t) G_MAXUINT32);
      crc = crc32 (crc, p, chunk);
      p += chunk;
      n -= chunk;
    }
  return (uint32_t) crc;
}

GBytes *
lf_replay_serialize (const LfReplayBuffer *b)
{
  g_return_val_if_fail (b != NULL, NULL);
  size_t total = REPLAY_HEADER + (size_t) b->size * (8 + 4 + 4 * (size_t) b->logit_dim) + 4;
  GByteArray *a = g_byte_array_sized_new ((guint) total);
  g_byte_array_append (a, (const guint8 *) REPLAY_MAGIC, 8);
  put_u32 (a, REPLAY_VERSION);
  put_u32 (a, 4);
  put_u32 (a, (uint32_t) b->policy);
  put_u32 (a, 0);
  put_u64 (a, (uint64_t) b->capacity);
  put_u64 (a, (uint64_t) b->logit_dim);
  put_u64 (a, (uint64_t) b->size);
  put_u64 (a, (uint64_t) b->seen);
  put_u64 (a, b->rng.key);
  put_u64 (a, b->rng.counter);
  for (int64_t s = 0; s < b->size; s++)
    put_u64 (a, (uint64_t) b->ids[s]);
  for (int64_t s = 0; s < b->size; s++)
    put_u32 (a, (uint32_t) b->labels[s]);
  for (int64_t i = 0; i < b->size * b->logit_dim; i++)
    put_u32 (a, real_bits (b->logits[i]));
  put_u32 (a, crc_of (a->data, a->len));
  g_assert (a->len == total);
  return g_byte_array_free_to_bytes (a);
}

LfReplayBuffer *
lf_replay_deserialize (GBytes *blob, GError **error)
{
  g_return_val_if_fail (blob != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  gsize len;
  const guint8 *p = g_bytes_get_data (blob, &len);
  GQuark q = replay_error_quark ();
  if (len < 8 || memcmp (p, REPLAY_MAGIC, 8) != 0)
    {
      g_set_error (error, q, REPLAY_ERROR_FORMAT,
                   "replay buffer blob: bad magic (not a replay buffer, %" G_GSIZE_FORMAT " bytes)", len);
      return NULL;
    }
  if (len < REPLAY_HEADER + 4)
    {
      g_set_error (error, q, REPLAY_ERROR_TRUNCATED,
                   "replay buffer blob: truncated header (%" G_GSIZE_FORMAT " bytes, need %u)",
                   len, REPLAY_HEADER + 4);
      return NULL;
    }
  uint32_t version = get_u32 (p + 8), real_size = get_u32 (p + 12), policy = get_u32 (p + 16);
  if (version != REPLAY_VERSION)
    {
      g_set_error (error, q, REPLAY_ERROR_FORMAT,
                   "replay buffer blob: version %u, this build reads version %u", version, REPLAY_VERSION);
      return NULL;
    }
  if (real_size != 4)
    {
      g_set_error (error, q, REPLAY_ERROR_FORMAT,
                   "replay buffer blob: logits of %u bytes, expected 4 (float32)", real_size);
      return NULL;
    }
  if (policy != LF_REPLAY_RESERVOIR && policy != LF_REPLAY_CLASS_BALANCED)
    {
      g_set_error (error, q, REPLAY_ERROR_FORMAT, "replay buffer blob: unknown policy %u", policy);
      return NULL;
    }
  int64_t capacity = (int64_t) get_u64 (p + 24), logit_dim = (int64_t) get_u64 (p + 32);
  int64_t size = (int64_t) get_u64 (p + 40), seen = (int64_t) get_u64 (p + 48);
  if (capacity < 0 || logit_dim < 0 || size < 0 || seen < 0 || size > capacity || size > seen
      || logit_dim > (int64_t) len)
    {
      g_set_error (error, q, REPLAY_ERROR_FORMAT,
                   "replay buffer blob: inconsistent sizes (capacity %" G_GINT64_FORMAT ", size %"
                   G_GINT64_FORMAT ", seen %" G_GINT64_FORMAT ", logit_dim %" G_GINT64_FORMAT ")",
                   capacity, size, seen, logit_dim);
      return NULL;
    }
  /* size <= capacity and the payload must be in the blob: bound the
   * arithmetic before trusting it */
  uint64_t row = 8 + 4 + 4 * (uint64_t) logit_dim;
  if ((uint64_t) size > (uint64_t) len / row + 1)
    {
      g_set_error (error, q, REPLAY_ERROR_TRUNCATED,
                   "replay buffer blob: truncated (%" G_GSIZE_FORMAT " bytes cannot hold %" G_GINT64_FORMAT
                   " samples)", len, size);
      return NULL;
    }
  uint64_t want = REPLAY_HEADER + (uint64_t) size * row + 4;
  if ((uint64_t) len != want)
    {
      g_set_error (error, q, REPLAY_ERROR_TRUNCATED,
                   "replay buffer blob: %s (%" G_GSIZE_FORMAT " bytes, expected %" G_GUINT64_FORMAT
                   " for %" G_GINT64_FORMAT " samples with %" G_GINT64_FORMAT " logits each)",
                   (uint64_t) len < want ? "truncated" : "trailing bytes", len, want, size, logit_dim);
      return NULL;
    }
  uint32_t stored = get_u32 (p + len - 4), computed = crc_of (p, len - 4);
  if (stored != computed)
    {
      g_set_error (error, q, REPLAY_ERROR_CHECKSUM,
                   "replay buffer blob: checksum mismatch (stored %08x, computed %08x): corrupted",
                   stored, computed);
      return NULL;
    }
  LfReplayBuffer *b = replay_alloc (capacity, (LfReplayPolicy) policy, logit_dim, get_u64 (p + 56));
  b->rng.counter = get_u64 (p + 64);
  b->size = size;
  b->seen = seen;
  const guint8 *at = p + REPLAY_HEADER;
  for (int64_t s = 0; s < size; s++, at += 8)
    b->ids[s] = (int64_t) get_u64 (at);
  for (int64_t s = 0; s < size; s++, at += 4)
    b->labels[s] = (int32_t) get_u32 (at);
  for (int64_t i = 0; i < size * logit_dim; i++, at += 4)
    b->logits[i] = real_from_bits (get_u32 (at));
  if (policy == LF_REPLAY_CLASS_BALANCED)
    {
      for (int64_t s = 0; s < size; s++)
        if (b->labels[s] < 0)
          {
            g_set_error (error, q, REPLAY_ERROR_FORMAT,
                         "replay buffer blob: negative label %d in slot %" G_GINT64_FORMAT
                         " of a class-balanced buffer", b->labels[s], s);
            lf_replay_free (b);
            return NULL;
          }
      class_rebuild (b);
    }
  return b;
}

void
lf_replay_put_state (const LfReplayBuffer *b, LfState *st, const char *key)
{
  g_autoptr (GBytes) blob = lf_replay_serialize (b);
  gsize n;
  const void *data = g_bytes_get_data (blob, &n);
  lf_state_put_bytes (st, key, data, n);
}

LfReplayBuffer *
lf_replay_get_state (const LfState *st, const char *key, GError **error)
{
  size_t n = 0;
  const void *data = lf_state_get_bytes (st, key, &n);
  if (data == NULL)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "the checkpoint has no replay buffer (%s)", key);
      return NULL;
    }
  g_autoptr (GBytes) blob = g_bytes_new (data, n);
  LfReplayBuffer *b = lf_replay_deserialize (blob, error);
  if (b == NULL)
    g_prefix_error (error, "the checkpoint's %s: ", key);
  return b;
}
