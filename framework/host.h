/* lifelong — the host's private view of a run: loaded plugins' instances,
 * the scenario (experiences as lists of sample ids), and the context a
 * strategy sees.  Never installed. */
#pragma once

#include "tensor-private.h"
#include "oracle.h"
#include <lifelong/lifelong.h>
#include <json-glib/json-glib.h>

#define LF_HOST_ERROR (lf_host_error_quark ())
GQuark lf_host_error_quark (void);
typedef enum {
  LF_HOST_ERROR_CONFIG,      /* the config is wrong: names the JSON path   */
  LF_HOST_ERROR_IO,          /* a file could not be read or written        */
  LF_HOST_ERROR_PLUGIN,      /* a plugin is missing or refused the run     */
  LF_HOST_ERROR_INCOMPATIBLE,/* capabilities rule the run out              */
  LF_HOST_ERROR_NUMERIC,     /* NaN or Inf in the loss or gradients        */
  LF_HOST_ERROR_CHECKPOINT,  /* a checkpoint is missing, corrupt or foreign */
} LfHostError;

/* ---- instances of plugins ---- */

struct LfModel {
  const LfPluginInfo  *info;
  const LfModelVTable *vt;
  void                *self;
  LfDataSpec           spec;
  uint64_t             rng_key;
};

typedef struct {
  const LfPluginInfo    *info;
  const LfDatasetVTable *vt;
  void                  *self;
  LfDatasetInfo          di;
  int64_t                input_numel;   /* prod (input_shape) for dense data */
} LfDataset;

/* Creates a model from its plugin (params validated already). */
LfModel   *lf_model_create (const LfPluginInfo *info, const LfParams *params, const LfDataSpec *spec,
                            uint64_t rng_key, GError **error);
LfDataset *lf_dataset_open (const LfPluginInfo *info, const LfParams *params, uint64_t rng_key,
                            GError **error);
void       lf_dataset_close (LfDataset *ds);

/* ---- the scenario ---- */

typedef enum {
  LF_SCENARIO_CLASS_IL = 0,
  LF_SCENARIO_TASK_IL,
  LF_SCENARIO_DOMAIN_IL,
} LfScenarioType;

typedef enum {
  LF_DOMAINS_SPLIT = 0,
  LF_DOMAINS_PERMUTATION,
  LF_DOMAINS_ROTATION,
  LF_DOMAINS_NATURAL,
} LfDomainsKind;

typedef struct {
  GArray  *train;     /* int64 scenario sample ids (training split), validation excluded */
  GArray  *valid;     /* int64 ids carved from the training split                       */
  GArray  *test;      /* int64 ids into the test split                                  */
  GArray  *classes;   /* int32 dataset classes of this experience                       */
  int32_t *perm;      /* permutation of input features, or NULL                         */
  double   angle;     /* rotation in degrees (0: none)                                  */
  GArray  *labelled;  /* int64: the train ids whose labels are known, when they are hidden */
} LfExperience;

/* Scenario sample id = experience * split_size + dataset index, so the same
 * image under two permutations has two ids and replay keeps them apart. */
typedef struct {
  LfScenarioType type;
  LfDomainsKind  domains;
  const char    *type_name, *domains_name;
  int64_t        n_exp;
  LfExperience  *exps;
  int64_t        n_tasks;             /* distinct tasks (n_exp unless scenario.schedule repeats some) */
  int32_t       *exp_task;            /* n_exp: experience -> task id, or NULL (the identity) */
  int64_t        n_train, n_test;     /* dataset split sizes */
  int64_t        n_classes;           /* dataset classes */
  int64_t        model_classes;       /* width of the model's head */
  int32_t       *label_map;           /* dataset class -> model class */
  int32_t       *class_order;         /* n_classes */
  gboolean       task_ids;            /* task ids at train and test */
  gboolean       sequences;           /* text: batches carry tokens     */
  gboolean       lm;                  /* continual pre-training: next-token loss, a loss matrix */
  int64_t        context;             /* tokens per sequence            */
  gboolean       mask_by_task;        /* logits masked to the sample's task's classes */
  /* knowledge-editing (docs/editing.md): experience e applies edit e; the
   * loss covers the answer spans only */
  gboolean       editing;
  LfEdit        *edits;               /* n_exp requests (arrays borrowed from the dataset) */
  GArray        *eval_at;             /* int64: edits after which to measure, increasing, ending at n_exp */
  GArray        *reference;           /* int64 training ids of the knowledge base (lf_ctx_reference_samples) */
  /* open-world (framework/scenario-openworld.c, docs/open-environments.md):
   * experiences from labelled_exps on are unlabelled streams whose labels
   * only the oracle gives */
  gboolean       open_world;
  gboolean       hidden_labels;
  int64_t        labelled_exps;
  int64_t        known_classes;
  LfOracle      *oracle;             /* scenario.oracle, or NULL (owned) */
  LfDataset     *ds;                  /* borrowed: the oracle's truth */
  /* instruction-tuning (docs/instruction-tuning.md): the loss covers the
   * answer spans and the end token; experiences are scored by greedy
   * generation and exact match */
  gboolean       instruct;
  GArray        *general;             /* int64 test ids (dataset indices) of the general-ability texts */
} LfScenario;

LfScenario *lf_scenario_build (const LfParams *p, LfDataset *ds, uint64_t seed, GError **error);

/* ---- open-world (scenario-openworld.c) ---- */
/* The scenario keys only open-world takes, and scenario.oracle, checked
 * against the type before anything is built. */
gboolean    lf_openworld_check_keys (const LfParams *p, const char *type, GError **error);
/* Classes of experience e (of T, C classes): K known ones first, the rest
 * spread evenly over the later experiences. */
int64_t     lf_openworld_classes_in (const LfScenario *sc, int64_t e, int64_t C, int64_t T);
/* The experience whose stream brings training sample i of a class first
 * seen in experience first (one of first .. T-1, keyed by seed). */
int64_t     lf_openworld_stream_of (int64_t i, int64_t first, int64_t T, uint64_t seed);
/* Sets known_classes (checked against C and T) for open-world. */
gboolean    lf_openworld_setup (LfScenario *sc, const LfParams *p, int64_t C, int64_t T, GError **error);
/* After the experiences exist: hides the streams' labels, makes the oracle. */
gboolean    lf_openworld_finish (LfScenario *sc, const LfParams *p, LfDataset *ds, GError **error);
/* A training sample's label as strategies may see it: LF_LABEL_UNKNOWN for
 * an unlabelled stream's sample the oracle has not answered about. */
int32_t     lf_scenario_train_label (const LfScenario *sc, LfDataset *ds, int64_t id);
/* Experience e's training ids whose labels are known (all of them when
 * none are hidden).  Borrowed, valid until the next oracle query. */
GArray     *lf_scenario_labelled (LfScenario *sc, int64_t e);
/* open-world evaluation after experience e: the AUROC of the novelty
 * scores (the strategy's novelty slot, else lf_novelty_msp) of the test
 * samples of experiences after e (unseen classes) against those of 0..e;
 * NaN after the last experience.  B: samples per batch. */
double      lf_openworld_novelty_auroc (LfScenario *sc, LfStrategyCtx *ctx, const LfStrategyVTable *svt,
                                        void *strat, int64_t e, int64_t B);
/* The result's "open_world" member (into top) and the metrics
 * novelty_auroc (mean over the rows where it is defined), old_accuracy and
 * new_accuracy (last row) into metrics.  R: nrows x n_exp. */
void        lf_openworld_result (const LfScenario *sc, const double *R, const int64_t *row_exp, int64_t nrows,
                                 const double *novelty, gboolean strategy_scores, JsonObject *metrics,
                                 JsonObject *top);
void        lf_scenario_free (LfScenario *sc);
/* A batch of scenario ids of one split, in the current scope's arena. */
LfBatch    *lf_scenario_batch (const LfScenario *sc, LfDataset *ds, LfSplit split,
                               const int64_t *ids, int64_t n);
/* Which experience a scenario id belongs to. */
static inline int64_t
lf_scenario_experience_of (const LfScenario *sc, LfSplit split, int64_t id)
{
  return id / (split == LF_SPLIT_TRAIN ? sc->n_train : sc->n_test);
}
/* Adds -1e9 to logits outside each sample's task (task-incremental); returns
 * logits unchanged otherwise. */
LfTensor   *lf_scenario_mask_logits (const LfScenario *sc, const LfBatch *batch, LfTensor *logits);

/* ---- strategy state blobs (checkpoints) ---- */

struct LfState {
  GHashTable *tensors;   /* name -> LfTensor (owned) */
  GHashTable *ints;      /* name -> int64 (boxed)    */
  GHashTable *bytes;     /* name -> GBytes           */
};
LfState *lf_state_new (void);
void     lf_state_free (LfState *st);

/* ---- the context a strategy sees ---- */

struct LfStrategyCtx {
  LfModel     *model;
  LfOptimizer *opt;
  LfScenario  *sc;
  LfDataset   *ds;
  uint64_t     seed;
  int64_t      experience;     /* -1 when withheld */
  int64_t      epoch;
  int64_t      step;
  gboolean     boundaries;     /* the strategy is told experience ids */
  JsonObject  *report;         /* the result's "strategy" section */
  JsonObject  *result;         /* members for the result's top level (lf_ctx_report_result_json) */
};
