/* lifelong — datasets and batches.  A dataset plugin keeps its data compact
 * (bytes) and converts only the rows a batch needs; an experience is a list
 * of sample indices, never a copy. */
#pragma once

#include <lifelong/plugin.h>
#include <lifelong/tensor.h>

G_BEGIN_DECLS

typedef enum {
  LF_SPLIT_TRAIN = 0,
  LF_SPLIT_TEST = 1,
} LfSplit;

/* One batch.  Arrays live in the step's arena (or are the caller's); every
 * field may be read by models and strategies.  Appended fields are read
 * only after checking struct_size. */
struct LfBatch {
  size_t         struct_size;
  int64_t        n;            /* samples                                          */
  LfSplit        split;        /* which split sample_ids index                     */
  LfTensor      *inputs;       /* dense: (n, features...) ; NULL for sequences     */
  const int32_t *tokens;       /* sequences: (n, seq_len) token ids, else NULL     */
  int64_t        seq_len;
  const int32_t *labels;       /* classification: (n); language model: (n, seq_len)
                                * next-token targets, -100 where nothing is predicted */
  const int32_t *task_ids;     /* (n), or NULL when the scenario withholds them    */
  const int64_t *sample_ids;   /* (n): stable indices into the dataset's split     */
  const uint8_t *loss_mask;    /* sequences: (n, seq_len), 1 where the loss counts; NULL: all */
  const LfReal  *weights;      /* (n) per-sample loss weights, or NULL             */
  void          *reserved[6];
};
#ifndef LF_BATCH_TYPEDEF
#define LF_BATCH_TYPEDEF
typedef struct LfBatch LfBatch;
#endif

typedef struct {
  size_t   struct_size;
  int64_t  n_train, n_test;
  int      input_ndim;            /* dense inputs: per-sample dims (e.g. 1: 784); 0 for sequences */
  int64_t  input_shape[3];
  int64_t  n_classes;             /* 0 when unlabelled                          */
  int64_t  vocab;                 /* sequences: token alphabet size             */
  int64_t  n_domains;             /* natural domains, 0 if none                 */
  const char *const *class_names; /* n_classes names, or NULL                   */
  const char *const *domain_names;/* n_domains names ("en/computers"), or NULL  */
  void    *reserved[4];
} LfDatasetInfo;

/* Since ABI 1.2.  One knowledge edit (the knowledge-editing scenario): ids
 * of samples of the dataset's splits, whose answer spans (answer_span) are
 * what the edit is measured on.  The arrays are borrowed from the dataset
 * and valid while it is open. */
typedef struct {
  size_t         struct_size;
  int64_t        rewrite;        /* training split: the edit prompt with the new object as its answer */
  const int64_t *paraphrases;    /* test split: held-out phrasings of it, the new object as their answer */
  int64_t        n_paraphrases;
  const int64_t *locality;       /* test split: unrelated facts, whose answers must not change */
  int64_t        n_locality;
  void          *reserved[4];
} LfEdit;

/* The dataset vtable.  open and info are required; a dense dataset has
 * fill_inputs, a text dataset has sequence.  Since: ABI 1.0; append only. */
typedef struct {
  size_t   struct_size;
  /* Reads the data.  Errors name the file and what is wrong. */
  void    *(*open) (const LfParams *params, uint64_t rng_key, GError **error);
  void     (*close) (void *self);
  void     (*info) (void *self, LfDatasetInfo *info);
  /* Class label of sample i, or -1. */
  int32_t  (*label) (void *self, LfSplit split, int64_t i);
  /* Natural domain of sample i, or -1.  NULL: no domains. */
  int32_t  (*domain) (void *self, LfSplit split, int64_t i);
  /* Dense inputs of samples idx[0..n) into out (n * prod(input_shape)
   * values, row-major), as floats (images: scaled to [0, 1]). */
  void     (*fill_inputs) (void *self, LfSplit split, const int64_t *idx, int64_t n, LfReal *out);
  /* Text: the bytes of sample i (borrowed, valid while open); returns the length. */
  int64_t  (*sequence) (void *self, LfSplit split, int64_t i, const uint8_t **bytes);
  /* Since ABI 1.2.  Text with an answer: bytes [*start, *end) of sample i
   * are its answer (a fact's object), the bytes before it its prompt; a
   * scenario that trains on answers (knowledge-editing) puts the loss and
   * the editing metrics on them only.  NULL: no sample has an answer. */
  void     (*answer_span) (void *self, LfSplit split, int64_t i, int64_t *start, int64_t *end);
  /* Since ABI 1.2.  Knowledge editing: fills *edit (its struct_size set by
   * the caller) with the k-th edit request (0-based) and returns TRUE, or
   * returns FALSE when the dataset has k requests or fewer.  NULL: the
   * dataset has none. */
  gboolean (*edit) (void *self, int64_t k, LfEdit *edit);
} LfDatasetVTable;

G_END_DECLS
