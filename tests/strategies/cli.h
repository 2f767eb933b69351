/* lifelong tests — running `lifelong run` from a test: configs in a
 * temporary folder, the exit status, stderr, and the result as JSON.
 * Shared by the strategy-family tests. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

/* Creates the temporary folder; reads LIFELONG_EXE (exits if unset). */
void        cli_init (const char *name);
/* Removes the folder. */
void        cli_cleanup (void);
/* Writes text to <folder>/<name>; returns the path (g_free). */
char       *cli_write (const char *name, const char *text);
/* Runs `lifelong run CONFIG --out <folder>/<out_name> --quiet [extra...]`
 * (extra NULL-terminated, may be NULL).  Returns the result object (unref
 * with json_object_unref), or NULL when the run failed (stderr in *err if
 * err is not NULL). */
JsonObject *cli_run (const char *config_path, const char *out_name, const char *const *extra, char **err);
/* matrix[i][j] of a result; metrics[key]; strategy[key] (NAN if absent). */
double      cli_matrix (JsonObject *res, guint i, guint j);
double      cli_metric (JsonObject *res, const char *key);
double      cli_strategy_figure (JsonObject *res, const char *key);
/* Writes text to <folder>/<name>.json, runs it (out <name>.result.json)
 * and returns the result; fails the test (printing stderr) if the run
 * fails. */
JsonObject *cli_run_text (const char *name, const char *text);
/* A member of o as compact JSON text (g_free). */
char       *cli_member_json (JsonObject *o, const char *key);
/* Runs config_path (out out_name, extra arguments or NULL) and returns the
 * result; fails the test (printing stderr) if the run fails. */
JsonObject *cli_run_ok (const char *config_path, const char *out_name, const char *const *extra);
/* Runs cfg killed right after the checkpoint of experience 0
 * (LIFELONG_TEST_ABORT_AFTER_EXPERIENCE), resumes it, and checks the result
 * equals the uninterrupted run's `whole` (matrix and the strategy's
 * figures). */
void        cli_check_resume (const char *cfg, const char *tag, JsonObject *whole);
