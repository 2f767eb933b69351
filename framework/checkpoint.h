/* lifelong — run checkpoints at experience boundaries (private). */
#pragma once

#include "host.h"
#include <math.h>

/* What a resumed run needs to carry on as if it had never stopped. */
typedef struct {
  int64_t  experience_done;   /* last experience finished (-1: none) */
  int64_t  step;
  int64_t  train_samples;
  double   t_train, t_eval;
  GArray  *rows;              /* double, T per row */
  GArray  *vrows;             /* double: the validation rows (may stay empty) */
  GArray  *row_exp;           /* int64 */
  double  *baseline;          /* T */
  int64_t  T;
} LfProgress;

typedef struct LfCheckpoint LfCheckpoint;

/* Writes path atomically: every model parameter, the optimizer's moments,
 * the strategy's state (st may be NULL) and pg. */
gboolean      lf_checkpoint_write (const char *path, const char *config_hash, LfModel *model, LfOptimizer *opt,
                                   const LfState *st, const LfProgress *pg, GError **error);
/* Opens and checks a checkpoint (checksum, kind, config hash) and reads the
 * progress (into pg, whose arrays exist and T is set) and the strategy's
 * state (a new LfState in *state). */
LfCheckpoint *lf_checkpoint_open (const char *path, const char *config_hash, LfProgress *pg, LfState **state,
                                  GError **error);
/* Loads every model parameter (names and shapes must match) and the
 * optimizer's moments. */
gboolean      lf_checkpoint_restore_model (LfCheckpoint *ck, LfModel *model, LfOptimizer *opt, GError **error);
void          lf_checkpoint_free (LfCheckpoint *ck);
