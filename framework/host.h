/* lifelong — the host's private view of a run: loaded plugins' instances,
 * the scenario (experiences as lists of sample ids), and the context a
 * strategy sees.  Never installed. */
#pragma once

#include "tensor-private.h"
#include "oracle.h"
#include "feedback.h"
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
  /* online streams (framework/scenario-online.c, docs/open-environments.md) */
  gboolean       online;              /* one pass, evaluated every eval_every samples */
  gboolean       blurry;              /* i-Blurry-N-M: tasks share classes           */
  gboolean       give_boundaries;     /* the strategy is told the tasks (fixed streams only) */
  int64_t        eval_every;          /* stream samples between evaluations */
  int64_t        disjoint_percent, blurry_percent;
  uint8_t       *class_disjoint;      /* (n_classes): the class appears in its own task only (blurry) */
  int64_t        n_leaked;            /* training samples moved out of their class's task (blurry) */
  /* label noise (framework/label-noise.c) */
  int32_t       *noisy;               /* (n_train): the noisy dataset class of a training sample, -1 when
                                       * clean; NULL without label_noise.  Strategies never see it. */
  const char    *noise_type;
  double         noise_rate;
  int64_t        n_flipped;
  /* open-world (framework/scenario-openworld.c, docs/open-environments.md):
   * experiences from labelled_exps on are unlabelled streams whose labels
   * only the oracle gives */
  gboolean       open_world;
  gboolean       hidden_labels;
  int64_t        labelled_exps;
  int64_t        known_classes;
  LfOracle      *oracle;             /* scenario.oracle, or NULL (owned) */
  /* feedback (framework/feedback.c): an online stream whose items recur,
   * every training label hidden; the oracle is the corrector */
  gboolean       feedback;
  LfFeedbackConfig feedback_cfg;
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
/* The dataset class a strategy and the loss see for training sample idx
 * (dataset index): the noisy one when label_noise flipped it. */
static inline int32_t
lf_scenario_train_class (const LfScenario *sc, LfDataset *ds, int64_t idx)
{
  if (sc->noisy != NULL && sc->noisy[idx] >= 0)
    return sc->noisy[idx];
  return ds->vt->label (ds->self, LF_SPLIT_TRAIN, idx);
}
/* online (scenario-online.c): the scenario parameters that only an online
 * scenario takes are refused elsewhere; blurry classes assigned to their
 * tasks (class_exp, exps[e].classes) before samples are placed, and the
 * blurry part of the training samples moved to other tasks after. */
gboolean    lf_scenario_online_setup (LfScenario *sc, const LfParams *p, GError **error);
void        lf_scenario_online_classes (LfScenario *sc, int32_t *class_exp);
void        lf_scenario_online_blur (LfScenario *sc, LfDataset *ds, uint64_t seed);
/* What a matrix adds to a scenario's "type/T" label: "/fixed", "/fixed-told"
 * or "/blurry-N-M" for online streams, "/noise-TYPE-RATE" with label_noise,
 * "/order-N", "/order-natural" or "/order-given" when the scenario sets its
 * class order; "" otherwise (g_free).  Names the settings apart in reports. */
char       *lf_scenario_label_suffix (const LfParams *p);
/* label_noise (label-noise.c): parses scenario.label_noise and flips the
 * training labels (sc->noisy); TRUE and nothing done when it is null. */
gboolean    lf_scenario_label_noise (LfScenario *sc, const LfParams *p, LfDataset *ds, uint64_t seed,
                                     GError **error);
/* TRUE when training sample id (a scenario id) carries a flipped label. */
static inline gboolean
lf_scenario_flipped (const LfScenario *sc, int64_t id)
{
  return sc->noisy != NULL && sc->noisy[id % sc->n_train] >= 0;
}
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
  GArray      *buffer;         /* int64: the ids a strategy last said it holds (lf_ctx_report_buffer), or NULL */
};
