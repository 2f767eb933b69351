/* lifelong — running a benchmark matrix (private). */
#pragma once

#include "host.h"
#include "plugin-private.h"

typedef struct {
  const char *matrix_path;
  const char *out_dir;
  const char *exe;             /* the lifelong executable the cells run */
  const char *plugin_path;     /* passed on to every cell               */
  int         jobs;            /* cells at once                         */
  double      cell_timeout_s;  /* 0: none                               */
  double      cell_memory_mb;  /* 0: none; watched through the RSS      */
  gboolean    dry_run;         /* list the cells, run nothing           */
  gboolean    quiet;
} LfMatrixOptions;

/* Runs every pending cell.  FALSE with error when the matrix itself cannot
 * run (a bad matrix file, an unwritable --out); cells that fail are counted
 * in *n_failed and recorded in their status.json. */
gboolean lf_matrix_run (const LfMatrixOptions *o, int *n_failed, GError **error);

/* The cells of a matrix, for schedulers other than lf_matrix_run (the MPI
 * launcher): every rank builds the same plan from the same file. */
typedef struct LfMatrixPlan LfMatrixPlan;
LfMatrixPlan *lf_matrix_plan_new (const LfMatrixOptions *o, GError **error);
/* The cells of a matrix given as text (len -1: NUL-terminated), resolved
 * against reg, touching no file: o->matrix_path only names the text in
 * messages, o->out_dir is not read.  Such a plan is for looking at (cell
 * count, ids, configs), not for running.  NULL with error as
 * lf_matrix_plan_new. */
LfMatrixPlan *lf_matrix_plan_new_from_data (const LfMatrixOptions *o, const char *data, gssize len,
                                           LfPluginRegistry *reg, GError **error);
void          lf_matrix_plan_free (LfMatrixPlan *p);
int           lf_matrix_plan_n_cells (LfMatrixPlan *p);
gboolean      lf_matrix_plan_pending (LfMatrixPlan *p, int i);
const char   *lf_matrix_plan_describe (LfMatrixPlan *p, int i);
/* Cell i's config, as its config.json has it (borrowed). */
JsonObject   *lf_matrix_plan_config (LfMatrixPlan *p, int i);
/* Runs cell i here, waiting for it (limits apply); TRUE when it succeeded. */
gboolean      lf_matrix_plan_run_cell (LfMatrixPlan *p, int i, GError **error);
/* Reads back cell i's status after another process ran it. */
void          lf_matrix_plan_refresh (LfMatrixPlan *p, int i);
gboolean      lf_matrix_plan_write_index (LfMatrixPlan *p, GError **error);
