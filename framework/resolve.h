/* lifelong — resolving a config: plugins found, every section validated
 * with defaults filled, capabilities checked, and a stable hash of the
 * result (private; shared by `run` and `matrix`). */
#pragma once

#include "config.h"

typedef struct {
  const LfPluginInfo *mi, *si, *di;
  LfParams *mp, *sp, *dp, *scp, *tp;
  uint64_t  seed;
  int       threads;
  char     *hash;       /* SHA-256 hex of every resolved value but threads */
  char     *checkpoint; /* model.checkpoint: a folder to load the model from, or NULL */
  gboolean  checkpoint_new_head;   /* model.checkpoint_head "new" */
  /* model.checkpoint {"cache": NAME, "config": {...}} (cache.h): checkpoint
   * is then the cache entry's folder */
  char     *cache_name;
  char     *cache_key;    /* the hash of the resolved config that trains it */
  JsonNode *cache_config; /* that config, as given */
} LfResolved;

/* Checks cfg (top-level keys, plugin names, every section's parameters,
 * capabilities) and fills res.  Errors: LF_HOST_ERROR_CONFIG / _PLUGIN /
 * LF_PARAMS_ERROR for a wrong config, LF_HOST_ERROR_INCOMPATIBLE when the
 * plugins cannot run in this scenario (a matrix skips such cells). */
gboolean  lf_resolve (JsonObject *cfg, LfPluginRegistry *reg, LfResolved *res, GError **error);
void      lf_resolved_clear (LfResolved *res);
/* The resolved config as the result's "config" (a new node). */
JsonNode *lf_resolved_to_json (const LfResolved *res);
