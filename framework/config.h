/* lifelong — reading and checking run configs (private). */
#pragma once

#include "host.h"
#include "plugin-private.h"

extern const LfParam lf_scenario_params[];
extern const LfParam lf_train_params[];

/* The closest of candidates (NULL-terminated) to s, if it is a plausible
 * typo of it, else NULL. */
const char *lf_nearest_name (const char *s, const char *const *candidates);
/* Parses a config file; errors carry path:line:column. */
JsonObject *lf_config_load (const char *path, GError **error);
/* The same from text in memory (len -1: NUL-terminated); path only names it
 * in messages. */
JsonObject *lf_config_load_data (const char *data, gssize len, const char *path, GError **error);
/* Applies one --set key.path=value (value parsed as JSON, else a string). */
gboolean    lf_config_set (JsonObject *cfg, const char *assignment, GError **error);
/* Unknown top-level keys (with a suggestion), missing sections, seed/threads. */
gboolean    lf_config_check_top (JsonObject *cfg, const char *path, GError **error);
/* The plugin a section names, or an error with a suggestion. */
const LfPluginInfo *lf_config_find_plugin (LfPluginRegistry *reg, LfPluginKind kind, JsonObject *cfg,
                                           const char *section, GError **error);
