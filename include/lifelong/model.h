/* lifelong — the model vtable and the host's model handle.  A model plugin
 * builds a module tree and a forward that gives logits and features in one
 * call, so methods that need features (iCaRL, DER, novelty scores) never run
 * a second pass. */
#pragma once

#include <lifelong/dataset.h>
#include <lifelong/module.h>

G_BEGIN_DECLS

/* Byte-level text: tokens 0..255 are the bytes, then three specials.  A
 * sequence is BOS, its bytes, EOS, then PAD up to the context. */
#define LF_TOKEN_BOS   256
#define LF_TOKEN_EOS   257
#define LF_TOKEN_PAD   258
#define LF_BYTE_VOCAB  259

/* What the scenario tells a model when it is created. */
typedef struct {
  size_t   struct_size;
  int      input_ndim;         /* dense inputs per sample; 0 for sequences       */
  int64_t  input_shape[3];
  int64_t  n_classes;          /* width of the classifier head (0: language model only) */
  int64_t  n_tasks;            /* experiences in the scenario                    */
  gboolean multi_head;         /* task-incremental: classes are split by task and
                                * logits are masked to the sample's task         */
  int64_t  vocab;              /* sequences: token alphabet with the specials
                                * (LF_BYTE_VOCAB for byte-level text), else 0    */
  int64_t  context;            /* sequences: tokens per sequence, else 0         */
  void    *reserved[4];
} LfDataSpec;

typedef struct {
  LfTensor *logits;     /* classification: (n, n_classes); language model (n_classes 0):
                         * (n, T, vocab), position t predicting token t+1     */
  LfTensor *features;   /* (n, d): the representation the head reads          */
} LfModelOutput;

/* How a model generates text (LfModelVTable.generate, lf_model_generate).
 * Since: ABI 1.1; fields are appended (check struct_size). */
typedef struct {
  size_t   struct_size;
  double   temperature;    /* 0: greedy (arg-max, the lowest id on a tie); else
                            * softmax (logits / temperature)                  */
  int64_t  top_k;          /* sample among the k most likely tokens; 0: all   */
  uint64_t seed;           /* the draw of step i is lf_rng_uniform_at (
                            * lf_rng_key (seed, 0, 0, 0, "generate"), i)      */
  gboolean stop_at_eos;    /* stop after producing LF_TOKEN_EOS (kept in out) */
} LfGenerateOptions;

/* Since: ABI 1.0; append only.  create, destroy, root and forward are
 * required. */
typedef struct {
  size_t  struct_size;
  void  *(*create) (const LfParams *params, const LfDataSpec *spec, uint64_t rng_key, GError **error);
  void   (*destroy) (void *self);
  /* The module tree; owned by the model. */
  LfModule *(*root) (void *self);
  /* One forward pass over the batch, through lf_module_forward on the tree
   * (so wrappers and hooks apply). */
  void   (*forward) (void *self, const LfBatch *batch, LfForward *fwd, LfModelOutput *out);
  /* Re-initialises every parameter (GDumb).  NULL: not supported. */
  void   (*reset) (void *self, uint64_t rng_key);
  /* A new model with the structure create made and this one's parameter
   * values (the host then copies every parameter both share by name and
   * freezes the copy).  NULL: not supported (use a snapshot instead). */
  void  *(*clone) (void *self);
  /* ---- Since: ABI 1.1 ---- */
  /* The model's configuration as JSON text (an object), newly allocated
   * with g_malloc: for `lifelong run --save-model`, which writes it as
   * config.json (the transformer gives a Hugging Face LlamaConfig) and adds
   * its own "lifelong" member.  NULL slot, or NULL returned: config.json
   * holds only the "lifelong" member. */
  char  *(*describe) (void *self);
  /* Autoregressive generation, no tape: continues prompt[0..n_prompt)
   * (n_prompt >= 1) by up to max_new tokens written to out (room for
   * max_new), their number in *n_out.  Each token is chosen by
   * lf_generate_sample from the logits of the last position (so a model
   * with a key/value cache and one that re-runs the whole sequence give
   * the same tokens).  Stops early after LF_TOKEN_EOS when
   * opts->stop_at_eos, and when the sequence fills the model's context.
   * FALSE with error (LF_ERROR) when it cannot (a classifier, a prompt
   * longer than the context, a structure it does not know).  NULL slot:
   * lf_model_generate re-runs forward on the whole sequence each step. */
  gboolean (*generate) (void *self, const int32_t *prompt, int64_t n_prompt, int64_t max_new,
                        const LfGenerateOptions *opts, int32_t *out, int64_t *n_out, GError **error);
} LfModelVTable;

/* ---- the host's handle (what strategies hold) ---------------------------- */

typedef struct LfModel LfModel;

const char       *lf_model_name (const LfModel *m);
const LfDataSpec *lf_model_spec (const LfModel *m);
LfModule         *lf_model_root (LfModel *m);
/* Forward through the model (training: dropout on, and the tape records if
 * the caller's scope does). */
void              lf_model_forward (LfModel *m, const LfBatch *batch, gboolean training,
                                    LfModelOutput *out);
/* Re-initialises parameters; FALSE with error when the model cannot. */
gboolean          lf_model_reset (LfModel *m, uint64_t rng_key, GError **error);
/* A frozen copy (LwF's teacher, a previous model): every parameter the
 * copy shares with m by name has m's value; requires_grad is off.  A
 * structure that plugins changed since create is not reproduced: take the
 * clone before changing it, or use an LfSnapshot (toolkit/snapshot.h). */
LfModel          *lf_model_clone (LfModel *m, GError **error);
void              lf_model_free (LfModel *m);
/* Every parameter (trainable_only: not frozen), in tree order; borrowed. */
GPtrArray        *lf_model_params (LfModel *m, gboolean trainable_only);

/* ---- generation (Since: ABI 1.1) ------------------------------------------ */

/* The next token from one position's logits (vocab values): the arg-max
 * when opts->temperature is 0 (the lowest id on a tie), else a draw from
 * softmax (logits / temperature) restricted to the top_k most likely (0:
 * all), computed in double, with the uniform value of step (0 for the first
 * generated token) keyed by opts->seed.  A pure function of its arguments. */
int32_t           lf_generate_sample (const LfReal *logits, int64_t vocab, const LfGenerateOptions *opts,
                                      int64_t step);
/* Generates as LfModelVTable.generate describes, through the model's
 * generate slot (a key/value cache) when it has one and use_cache is TRUE,
 * else by re-running lf_model_forward (no dropout, no tape) on the whole
 * sequence for every token: the reference the cache must agree with.  The
 * sequence stops at the spec's context (the model's, for the slot).
 * Errors: LF_ERROR_INVALID for an empty prompt or one longer than the
 * context, LF_ERROR_UNSUPPORTED for a classifier (n_classes > 0); the
 * slot's own errors. */
gboolean          lf_model_generate (LfModel *m, const int32_t *prompt, int64_t n_prompt, int64_t max_new,
                                     const LfGenerateOptions *opts, gboolean use_cache,
                                     int32_t *out, int64_t *n_out, GError **error);
/* The model's describe slot's JSON text (g_free it), or NULL. */
char             *lf_model_describe (LfModel *m);

G_END_DECLS
