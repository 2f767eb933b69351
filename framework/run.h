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
  /* lifelong evolve (docs/evolve.md), instruction-tuning runs only: the
   * experiences before first_experience are neither trained nor measured
   * (the model has learnt them already); the baseline still measures
   * every experience.  state_in (or NULL): the strategy's state as
   * state_out wrote it at the end of a run of state_in_experiences
   * experiences, loaded before first_experience.  A strategy that gets no
   * state (state_in NULL, or no load slot) sees the earlier experiences
   * instead: their before_experience and after_experience hooks, no
   * training in between. */
  int64_t             first_experience;
  const char         *state_in;
  int64_t             state_in_experiences;
  const char         *state_out;     /* the strategy's state after the last experience, or NULL */
  /* save_model_dir gets a plain model: LoRA adapters merged into the
   * weights they adapt (lf_model_dir_save's fold_lora) */
  gboolean            save_model_plain;
} LfRunOptions;

/* The config hash of state_out's files (a checkpoint of no run config). */
#define LF_RUN_STATE_HASH "strategy-state"

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
