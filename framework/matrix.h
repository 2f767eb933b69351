/* lifelong — running a benchmark matrix (private). */
#pragma once

#include "host.h"

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
