/* lifelong — the model cache (private): a base model trained once from a
 * run config and kept under the config's hash, so that later runs start
 * from it through model.checkpoint {"cache": NAME, "config": {...}}
 * (docs/editing.md, "The base model and its cache"). */
#pragma once

#include "resolve.h"

/* $LIFELONG_CACHE, else the user's cache folder + "/lifelong" (new string). */
char    *lf_cache_root (void);
/* Reads model.checkpoint given as an object: checks NAME, resolves the
 * config (errors name model.checkpoint.config...), and fills r's
 * cache_name, cache_key (the config's hash), cache_config (the resolved
 * config) and checkpoint (the entry's folder, which need not exist yet). */
gboolean lf_cache_resolve (JsonObject *spec, LfPluginRegistry *reg, LfResolved *r, GError **error);
/* Makes sure r's cache entry holds a model: when it has none (or one that
 * does not read back, which is removed), trains it with `lifelong run` in
 * this process, under an exclusive lock on "<entry>.lock" so that two
 * processes never train one entry twice, in a temporary folder renamed into
 * place when complete.  *trained: whether this call trained it. */
gboolean lf_cache_ensure (const LfResolved *r, const char *plugin_path, gboolean quiet, gboolean *trained,
                          GError **error);
