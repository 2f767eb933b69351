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

G_END_DECLS
