/* lifelong — the strategy vtable: every continual-learning method is a set
 * of hooks the host calls in a fixed order.  create and destroy are
 * required; every other hook is optional (NULL: not used).
 *
 * The order, for each run (tests/test-hook-order.c checks it with a
 * recording plugin):
 *
 *   create
 *   for each experience e = 0 .. T-1:
 *     before_experience
 *     select_training            which samples, how many epochs, reset model?
 *     for each epoch, for each batch of the selection:
 *       [the host opens the step's tape scope]
 *       before_batch             may return a bigger batch (replay)
 *       forward                  the model, once: logits and features
 *       loss                     may add terms to the host's loss
 *       backward
 *       after_backward           may edit gradients (projection, masking)
 *       optimizer step
 *       after_step               bookkeeping that needs the new weights (SI)
 *       [the host pops the scope: the step's tensors are gone]
 *     after_experience           consolidate: importance, buffer, freeze, expand
 *     evaluation on every experience's test data, in no-record scopes,
 *       through predict when the strategy has one
 *   report                       add the method's own figures to the result
 *   destroy
 *
 * save and load run at experience boundaries (checkpoints), after
 * after_experience and before the next before_experience.  memory_bytes is
 * asked after every experience.
 *
 * What a hook may change: the model's parameters only through the optimizer
 * or in after_experience / before_experience (never inside a step, except
 * through the tape); the module tree only in create, before_experience and
 * after_experience (the host re-reads the parameter list afterwards). */
#pragma once

#include <lifelong/model.h>
#include <lifelong/optim.h>

G_BEGIN_DECLS

typedef struct LfStrategyCtx LfStrategyCtx;

/* What to train on in one experience; the host fills the defaults (the
 * experience's training samples, the configured epochs) before calling
 * select_training. */
typedef struct {
  size_t    struct_size;
  int64_t  *sample_ids;    /* g_malloc'd; a strategy that replaces it frees the old one */
  int64_t   n;
  int64_t   epochs;
  gboolean  reset_model;   /* re-initialise the model first (GDumb)  */
  gboolean  skip;          /* train nothing in this experience (joint before the last) */
  void     *reserved[4];
  /* Since ABI 1.2 (write it only when struct_size covers it): the learning
   * rate of this experience's steps, in place of train.lr (the schedule
   * scales it the same way); 0: train.lr. */
  double    lr;
} LfSelection;

/* Named tensors and numbers a strategy keeps in a checkpoint. */
typedef struct LfState LfState;
void      lf_state_put_tensor (LfState *st, const char *name, const LfTensor *t);
/* An owned copy of the stored tensor (caller frees), or NULL if absent. */
LfTensor *lf_state_get_tensor (const LfState *st, const char *name);
/* Since ABI 1.2.  Copies the stored tensor name into dst, which must have
 * as many elements; FALSE with error (LF_ERROR_INVALID, naming the key)
 * when it is absent or has another number of elements. */
gboolean  lf_state_get_tensor_into (const LfState *st, const char *name, LfTensor *dst, GError **error);
void      lf_state_put_int (LfState *st, const char *name, int64_t v);
gboolean  lf_state_get_int (const LfState *st, const char *name, int64_t *v);
void      lf_state_put_bytes (LfState *st, const char *name, const void *data, size_t n);
/* Borrowed bytes (valid until the state is freed), or NULL. */
const void *lf_state_get_bytes (const LfState *st, const char *name, size_t *n);

/* Since: ABI 1.0; append only. */
typedef struct {
  size_t   struct_size;
  void    *(*create) (const LfParams *params, LfStrategyCtx *ctx, GError **error);
  void     (*destroy) (void *self);
  gboolean (*before_experience) (void *self, LfStrategyCtx *ctx, GError **error);
  gboolean (*select_training) (void *self, LfStrategyCtx *ctx, LfSelection *sel, GError **error);
  /* Returns the batch to train on: batch itself, or a new one (for example
   * lf_ctx_concat_batches (ctx, batch, replayed)). */
  LfBatch *(*before_batch) (void *self, LfStrategyCtx *ctx, LfBatch *batch);
  /* Returns the loss to back-propagate: loss itself, or loss plus terms. */
  LfTensor *(*loss) (void *self, LfStrategyCtx *ctx, const LfBatch *batch,
                     const LfModelOutput *out, LfTensor *loss);
  void     (*after_backward) (void *self, LfStrategyCtx *ctx, const LfBatch *batch);
  void     (*after_step) (void *self, LfStrategyCtx *ctx, const LfBatch *batch);
  gboolean (*after_experience) (void *self, LfStrategyCtx *ctx, GError **error);
  /* Class predictions for an evaluation batch (n values into pred).  NULL:
   * the arg-max of the (task-masked) logits. */
  void     (*predict) (void *self, LfStrategyCtx *ctx, const LfBatch *batch,
                       const LfModelOutput *out, int32_t *pred);
  /* Adds the method's own figures with lf_ctx_report_*. */
  void     (*report) (void *self, LfStrategyCtx *ctx);
  gboolean (*save) (void *self, LfStrategyCtx *ctx, LfState *st, GError **error);
  gboolean (*load) (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error);
  /* Bytes the method keeps beyond the model (buffers, importances, snapshots). */
  size_t   (*memory_bytes) (void *self);
  /* Since ABI 1.3.  Novelty scores of an evaluation batch in an open-world
   * scenario (docs/open-environments.md): n values into scores, higher
   * meaning more likely a class the model has not learned.  Runs in a
   * no-record scope after evaluation.  NULL: the host scores 1 - the
   * largest softmax probability of the logits (lf_novelty_msp). */
  void     (*novelty) (void *self, LfStrategyCtx *ctx, const LfBatch *batch,
                       const LfModelOutput *out, double *scores);
} LfStrategyVTable;

/* Task-incremental scenarios add this to the logits of classes outside a
 * sample's task (lf_ctx_forward, and the outputs the loss hook sees). */
#define LF_MASKED_LOGIT (-1e9)

/* ---- what the host gives a strategy ------------------------------------- */

LfModel          *lf_ctx_model (LfStrategyCtx *ctx);
LfOptimizer      *lf_ctx_optimizer (LfStrategyCtx *ctx);
const LfDataSpec *lf_ctx_spec (LfStrategyCtx *ctx);
/* The experience being trained (0-based), or -1 when the scenario withholds
 * boundaries.  lf_ctx_n_experiences: -1 when unknown. */
int64_t           lf_ctx_experience (LfStrategyCtx *ctx);
int64_t           lf_ctx_n_experiences (LfStrategyCtx *ctx);
int64_t           lf_ctx_epoch (LfStrategyCtx *ctx);
/* Optimizer steps taken so far in the run. */
int64_t           lf_ctx_step (LfStrategyCtx *ctx);
gboolean          lf_ctx_has_task_ids (LfStrategyCtx *ctx);
/* A random key for this run, experience and step, and what it is for. */
uint64_t          lf_ctx_rng_key (LfStrategyCtx *ctx, const char *purpose);
/* Training sample ids of experience e (e <= the current one; the
 * validation part excluded).  Borrowed. */
const int64_t    *lf_ctx_experience_samples (LfStrategyCtx *ctx, int64_t e, int64_t *n);
/* The training ids of experiences 0..last together (last <= the current
 * one), newly allocated (g_free); *n gets the count. */
int64_t          *lf_ctx_samples_through (LfStrategyCtx *ctx, int64_t last, int64_t *n);
/* Since ABI 1.2.  What the model is expected to know already, as training
 * ids for lf_ctx_batch: in knowledge-editing, the knowledge base's facts
 * (the texts the base model was trained on), with their answers as labels.
 * Borrowed; NULL with *n = 0 when the scenario has none. */
const int64_t    *lf_ctx_reference_samples (LfStrategyCtx *ctx, int64_t *n);
/* A training batch of the given samples (inputs, labels, task ids), in the
 * current scope's arena. */
LfBatch          *lf_ctx_batch (LfStrategyCtx *ctx, const int64_t *sample_ids, int64_t n);
/* The labels (as the model sees them) of training samples, without
 * building their inputs: n values into labels. */
void              lf_ctx_labels (LfStrategyCtx *ctx, const int64_t *sample_ids, int64_t n, int32_t *labels);
/* a's samples followed by b's, in the current scope's arena. */
LfBatch          *lf_ctx_concat_batches (LfStrategyCtx *ctx, const LfBatch *a, const LfBatch *b);
/* The model's forward as the host runs it (task masking included). */
void              lf_ctx_forward (LfStrategyCtx *ctx, const LfBatch *batch, gboolean training,
                                  LfModelOutput *out);
/* The scenario's own loss for a batch (cross-entropy with task masking, or
 * the next-token loss over the loss mask) -> (1). */
LfTensor         *lf_ctx_task_loss (LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out);
/* Figures for the result's "strategy" section. */
void              lf_ctx_report_number (LfStrategyCtx *ctx, const char *key, double value);
void              lf_ctx_report_json (LfStrategyCtx *ctx, const char *key, const char *json);
/* Since ABI 1.2.  A member of the result's top level, beside "matrix" and
 * "metrics", for a figure every method of its kind reports and readers
 * look for there (the MoE strategies' "expert_utilization",
 * docs/running.md).  The host's own members ("matrix", "metrics",
 * "strategy", ...) cannot be taken: such a key, or json that is not JSON,
 * is left out with a warning.  Reported again, the key is replaced. */
void              lf_ctx_report_result_json (LfStrategyCtx *ctx, const char *key, const char *json);
/* A line in the run's log. */
void              lf_ctx_log (LfStrategyCtx *ctx, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

/* ---- Since ABI 1.3: unlabelled streams and the oracle --------------------
 * Some scenarios hide the labels of part of the training data (open-world:
 * every experience after the first is an unlabelled deployment stream).
 * The labels of such samples read LF_LABEL_UNKNOWN (the cross-entropy's
 * ignore index: a row without a label trains nothing) until the oracle
 * gives them.  lf_ctx_experience_samples and lf_ctx_samples_through list
 * only samples whose labels are known; lf_ctx_stream_samples lists all. */
#define LF_LABEL_UNKNOWN (-100)

/* Every training id experience e (<= the current one) brings, labelled or
 * not.  Borrowed.  In scenarios that hide no labels it is
 * lf_ctx_experience_samples. */
const int64_t    *lf_ctx_stream_samples (LfStrategyCtx *ctx, int64_t e, int64_t *n);
/* The oracle: a budgeted source of true labels (scenario.oracle.budget).
 * lf_ctx_oracle_budget: labels it may give in the whole run (0 when the
 * scenario has no oracle); lf_ctx_oracle_used: labels given so far. */
int64_t           lf_ctx_oracle_budget (LfStrategyCtx *ctx);
int64_t           lf_ctx_oracle_used (LfStrategyCtx *ctx);
/* Asks for the true labels of n samples of split (ids as in batches; the
 * open-world oracle answers about training samples of experiences up to
 * the current one).  Each new label costs one unit of the budget; a label
 * given before is given again for free.  When the budget runs out the
 * remaining ids are refused: their labels[i] = LF_LABEL_UNKNOWN.  Returns
 * how many were answered (0 .. n).  An id the oracle cannot answer about
 * (another split, out of range, a later experience) fails the whole query:
 * -1 with error (LF_ERROR_INVALID, naming the id), nothing spent.  Every
 * call is logged in the result's "oracle" member; labels given become the
 * samples' labels in lf_ctx_batch and lf_ctx_labels. */
int64_t           lf_ctx_oracle_query (LfStrategyCtx *ctx, LfSplit split, const int64_t *ids, int64_t n,
                                       int32_t *labels, GError **error);

G_END_DECLS
