/* lifelong toolkit — a replay buffer: a fixed budget of stored samples
 * (dataset sample ids, labels and optionally logits), filled by reservoir
 * sampling or class-balanced greedy selection.  Samples stay in the dataset
 * (compact bytes); the buffer holds their ids, so it never copies inputs. */
#pragma once

#include <lifelong/tensor.h>

G_BEGIN_DECLS

typedef enum {
  LF_REPLAY_RESERVOIR = 0,     /* every sample offered so far is kept with equal probability */
  LF_REPLAY_CLASS_BALANCED,    /* greedy: a full buffer evicts at random from its largest class */
} LfReplayPolicy;

typedef struct LfReplayBuffer LfReplayBuffer;

/* capacity samples; logit_dim > 0 also stores one row of logits per sample
 * (DER).  rng_key drives every random choice the buffer makes. */
LfReplayBuffer *lf_replay_new (int64_t capacity, LfReplayPolicy policy, int64_t logit_dim, uint64_t rng_key);
void            lf_replay_free (LfReplayBuffer *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LfReplayBuffer, lf_replay_free)

/* Offers n samples of the stream (logits: n x logit_dim, or NULL).  Returns
 * how many were stored. */
int64_t  lf_replay_offer (LfReplayBuffer *b, const int64_t *sample_ids, const int32_t *labels,
                          const LfReal *logits, int64_t n);
int64_t  lf_replay_size (const LfReplayBuffer *b);
int64_t  lf_replay_capacity (const LfReplayBuffer *b);
/* Samples offered so far. */
int64_t  lf_replay_seen (const LfReplayBuffer *b);
/* n slots drawn uniformly without replacement (n clipped to the size) into
 * slots; returns how many. */
int64_t  lf_replay_sample (LfReplayBuffer *b, int64_t n, uint64_t rng_key, int64_t *slots);
/* The stored columns, size() rows each; borrowed. */
const int64_t *lf_replay_ids (const LfReplayBuffer *b);
const int32_t *lf_replay_labels (const LfReplayBuffer *b);
const LfReal  *lf_replay_logits (const LfReplayBuffer *b);   /* NULL if logit_dim is 0 */
int64_t  lf_replay_logit_dim (const LfReplayBuffer *b);
/* Stored samples per class (n_classes entries into counts). */
void     lf_replay_class_counts (const LfReplayBuffer *b, int64_t n_classes, int64_t *counts);
/* Replaces slot's content (herding, purification). */
void     lf_replay_set (LfReplayBuffer *b, int64_t slot, int64_t sample_id, int32_t label, const LfReal *logits);
/* Drops every sample. */
void     lf_replay_clear (LfReplayBuffer *b);
/* Bytes held (ids, labels, logits and bookkeeping). */
size_t   lf_replay_bytes (const LfReplayBuffer *b);
/* Serialisation for checkpoints: a versioned byte blob. */
GBytes  *lf_replay_serialize (const LfReplayBuffer *b);
/* NULL with error when blob is not a buffer this version wrote. */
LfReplayBuffer *lf_replay_deserialize (GBytes *blob, GError **error);

/* ---- Since ABI 1.3: a buffer in a strategy's checkpoint state ---- */
typedef struct LfState LfState;
/* Puts the buffer's serialisation into st under key. */
void            lf_replay_put_state (const LfReplayBuffer *b, LfState *st, const char *key);
/* The buffer stored under key; NULL with error (LF_ERROR, LF_ERROR_INVALID,
 * naming the key) when the state has none or it is not a buffer. */
LfReplayBuffer *lf_replay_get_state (const LfState *st, const char *key, GError **error);

G_END_DECLS
