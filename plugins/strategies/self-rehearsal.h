/* lifelong plugins — rehearsal from the model's own generations (shared by
 * lamol and ssr, docs/instruction-tuning.md): a task's prefix ("reverse: ",
 * the text of its prompts up to the first ": "), sampling text with the
 * model (its key/value cache), pseudo-samples appended to training
 * batches, and the language-model loss on the text after the prefix. */
#pragma once

#include <lifelong/lifelong.h>

/* One pseudo-sample: prefix + input + "\n" + answer, the answer starting at
 * byte answer; task: the experience it stands for. */
typedef struct {
  char    *text;
  int64_t  answer;
  int64_t  task;
} SrSample;

typedef struct {
  GPtrArray *prefix;        /* char *: experience e's task prefix, e < experiences learned */
  GArray    *pseudo;        /* SrSample: the current experience's pseudo-samples */
  int64_t    cursor;        /* next pseudo-sample to replay */
  double     carry;         /* the fraction of a pseudo-sample owed to the next batch */
  double     gamma;         /* pseudo-samples per real training sample */
} SrStore;

void     sr_store_init (SrStore *st, double gamma);
void     sr_store_clear (SrStore *st);
/* Drops the pseudo-samples (a new experience makes its own). */
void     sr_store_reset_pseudo (SrStore *st);
void     sr_store_add (SrStore *st, const char *text, int64_t answer, int64_t task);
/* Bytes held: prefixes and pseudo-samples (no real sample is kept). */
size_t   sr_store_bytes (const SrStore *st);
/* Records experience e's task prefix, read from one of its training
 * samples' prompt; FALSE with error when the prompt has no "name: ". */
gboolean sr_store_learn_prefix (SrStore *st, LfStrategyCtx *ctx, const char *who, GError **error);
/* Shuffles the pseudo-samples (keyed) and rewinds the cursor. */
void     sr_store_shuffle (SrStore *st, uint64_t key);
/* Continues BOS + prompt with the model (temperature 0: greedy; else a draw
 * keyed by seed among the top_k) up to the context; out gets the generated
 * bytes (specials dropped).  Returns TRUE when generation ended with the end
 * token, FALSE when it ran out of context (or failed: a warning). */
gboolean sr_generate (LfStrategyCtx *ctx, const char *prompt, double temperature, int64_t top_k, uint64_t seed,
                      GString *out);
/* The generation seed of pseudo-sample i of task j in this experience:
 * keyed by the run, the experience, j and i (fits `lifelong generate
 * --seed`). */
uint64_t sr_seed (LfStrategyCtx *ctx, const char *purpose, int64_t j, int64_t i);
/* batch followed by gamma * batch->n pseudo-samples (rounded, carried over
 * to the next batch), labelled as the scenario labels its own (the answer
 * and the end token); batch itself when there are none. */
LfBatch *sr_store_append (SrStore *st, LfStrategyCtx *ctx, LfBatch *batch);
/* The next-token loss of the text after each sample's task prefix: the
 * input and "\n" (whole FALSE), or everything through the end token (whole
 * TRUE); NULL when nothing is left. */
LfTensor *sr_lm_loss (const LfBatch *batch, const LfModelOutput *out, gboolean whole);
/* Up to k pseudo-samples as JSON [{"task", "text", "answer_at"}, ...] (g_free). */
char     *sr_store_examples_json (const SrStore *st, int64_t k);
