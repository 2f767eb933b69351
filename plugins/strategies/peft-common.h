/* lifelong plugins — what the prompt, l2p, prefix and adapter strategies
 * share: freezing the base model (the head optionally trainable), the hash
 * that proves the base unchanged, the frozen query feature, cosine top-N
 * selection and the structure checks.  Compiled into each of those plugins
 * (and into tests/strategies/test-peft-prompt.c); not a public API. */
#pragma once

#include <lifelong/lifelong.h>

/* The part of a PEFT strategy's state every method has. */
typedef struct {
  const char *name;          /* the strategy's name, for errors and reports     */
  const char *own;           /* its container under the root ("prompt")        */
  gboolean    train_head;    /* the classifier head trains (never an LM head)   */
  uint64_t    hash_start;    /* peft_base_hash when the strategy was created    */
  GArray     *trainable;     /* int64: trainable elements at each experience's start */
  gboolean    bypass;        /* inside peft_query: every PEFT part is off       */
} PeftBase;

/* Freezes every parameter of the model; with train_head, leaves the
 * classifier head trainable (the transformer's "score", the MLP's "head";
 * of a multi-head MLP only "heads.<head_task>", -1: all heads).  Makes the
 * container b->own under the root and returns it. */
LfModule *peft_base_init (PeftBase *b, LfStrategyCtx *ctx, const char *name, const char *own,
                          gboolean train_head);
/* Re-applies the head's freezing for experience e (a multi-head MLP trains
 * only heads.e) and records the trainable element count. */
void      peft_base_begin (PeftBase *b, LfStrategyCtx *ctx, int64_t e);
void      peft_base_clear (PeftBase *b);
/* "base_hash_start", "base_hash_end" (16 hex digits; equal when no base
 * weight moved), "trainable_per_experience", "head_trained". */
void      peft_base_report (PeftBase *b, LfStrategyCtx *ctx);
void      peft_base_save (PeftBase *b, LfState *st);
gboolean  peft_base_load (PeftBase *b, const LfState *st, GError **error);

/* TRUE for a classifier head's parameter name. */
gboolean  peft_is_head (const char *name);
/* FNV-1a (64 bits) of the raw bytes of every parameter below root outside
 * the container own (and outside the head when skip_head), in tree order. */
uint64_t  peft_base_hash (LfModule *root, const char *own, gboolean skip_head);

/* The token embedding whose "prompt" slot the model reads (the first
 * module of kind embedding), or NULL with an error naming the strategy and
 * the model. */
LfModule *peft_need_embedding (LfStrategyCtx *ctx, const char *strategy, GError **error);
/* The attention modules (tree order), or NULL with such an error. */
GPtrArray *peft_need_attention (LfStrategyCtx *ctx, const char *strategy, GError **error);

/* The query of L2P: the frozen model's own feature of each sample, with
 * every PEFT part off (b->bypass during the forward; no dropout, no tape):
 * the classifier's pooled feature, or for a language model the mean of the
 * last hidden state over the real (non-padding) tokens.  -> (n, d), a
 * constant tensor of the current scope. */
LfTensor *peft_query (PeftBase *b, LfModel *model, const LfBatch *batch);
/* For each of the n queries (n, d), the top_n of the M keys (M, d) by
 * cosine similarity, best first, ties to the lower index, into idx (n,
 * top_n).  A zero vector has similarity 0 with everything. */
void      peft_select_topn (const LfReal *queries, int64_t n, const LfReal *keys, int64_t M, int64_t d,
                            int64_t top_n, int32_t *idx);

/* Per-sample routing for a forward: which of n_sets parameter sets each
 * sample uses.  Training (fwd->training): current (when >= 0).  Else the
 * batch's task ids when it has them (clamped to the last set), else -1 for
 * every sample (the caller decides: the latest, or key matching).
 * Returns an array of batch->n in the current scope, or NULL when there is
 * no set. */
int32_t  *peft_route (const LfForward *fwd, int64_t n, int64_t n_sets, int64_t current);
/* TRUE when every entry of route equals route[0]. */
gboolean  peft_route_uniform (const int32_t *route, int64_t n);

/* max |f - g| over the logits of the current experience's first (up to)
 * 64 training samples, f with the strategy's parts (an evaluation forward:
 * their task id, or the latest set), g bypassing them. */
double    peft_logit_change (PeftBase *b, LfStrategyCtx *ctx, LfModel *model);

/* The Euclidean norm of x (d values), in double. */
double    peft_norm (const LfReal *x, int64_t d);
/* Reports v[0..n) as a JSON array of integers under key. */
void      peft_report_ints (LfStrategyCtx *ctx, const char *key, const int64_t *v, int64_t n);

/* Fills a (rows, d) parameter with the embeddings of random tokens of the
 * model's vocabulary (Lester et al.'s "sampled vocabulary" initialisation). */
void      peft_init_from_vocab (LfTensor *p, LfModule *embedding, uint64_t key);
/* N(0, std) into t. */
void      peft_init_normal (LfTensor *t, double std, uint64_t key);
