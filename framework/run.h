/* lifelong — running one configuration (private). */
#pragma once

#include "host.h"

typedef struct {
  const char         *config_path;
  const char         *out_path;      /* NULL: no files, result only returned */
  const char *const  *sets;          /* --set key.path=value, NULL-terminated */
  const char         *plugin_path;   /* extra plugin dirs, ':'-separated      */
  int                 threads;       /* > 0 overrides the config              */
  gboolean            resume;
  gboolean            quiet;
  const char         *save_model_dir;/* --save-model: the final model as a Hugging Face
                                      * folder (model.safetensors, config.json), or NULL */
} LfRunOptions;

/* Runs it.  On success the result JSON is written atomically to out_path
 * (when given) and returned in *result_out (when not NULL).  On failure
 * nothing is written at out_path. */
gboolean lf_run (const LfRunOptions *o, char **result_out, GError **error);
/* "<out without .json>.steps.jsonl" */
char    *lf_run_steplog_path (const char *out_path);
/* Writes data to path through a temporary file (".NAME.tmp-XXXXXX" beside
 * it), fsync and rename. */
gboolean lf_write_file_atomic (const char *path, const char *data, size_t len, GError **error);
/* Removes the temporaries a writer killed mid-write left for path
 * (".NAME.tmp-XXXXXX" of lf_write_file_atomic, "NAME.tmp-XXXXXX" of
 * lf_safetensors_write).  Only for a path no other process is writing. */
void     lf_remove_stale_temporaries (const char *path);
