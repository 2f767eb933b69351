/* lifelong — resolving a run config before anything runs: plugins, every
 * section's parameters (defaults filled), capabilities, the config hash. */
#include "resolve.h"
#include "cache.h"

/* An online stream: one pass (train.epochs 1), and with its boundaries
 * withheld (blurry, or scenario.boundaries false) no strategy that needs
 * them or picks each experience's training data. */
static gboolean
check_online (const LfResolved *r, GError **error)
{
  const char *type = lf_params_get_string (r->scp, "type");
  if (!g_str_equal (type, "online") && !g_str_equal (type, "feedback"))
    return TRUE;
  if (lf_params_get_int (r->tp, "epochs") != 1)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "train.epochs: %" G_GINT64_FORMAT " given, and a%s %s scenario is one pass over its stream "
                   "(epochs 1)", lf_params_get_int (r->tp, "epochs"), type[0] == 'o' ? "n" : "", type);
      return FALSE;
    }
  const LfStrategyVTable *svt = r->si->vtable;
  const gboolean selects = svt->struct_size >= G_STRUCT_OFFSET (LfStrategyVTable, select_training) + sizeof (void *)
                           && svt->select_training != NULL;
  if (g_str_equal (type, "feedback") && selects)
    {
      /* the rounds answer and correct the stream as it comes: a selection
       * of its own (a memory retrained, every sample so far) would be
       * answered and corrected again */
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_INCOMPATIBLE,
                   "strategy %s chooses each experience's training data (select_training), and a feedback "
                   "scenario's training data are the corrections of the stream as it comes", r->si->name);
      return FALSE;
    }
  const char *blurry = lf_params_get_json (r->scp, "blurry");
  gboolean is_blurry = blurry != NULL && !g_str_equal (blurry, "null");
  if (!is_blurry && lf_params_get_bool (r->scp, "boundaries"))
    return TRUE;
  const char *why = is_blurry ? "a blurry online stream withholds task boundaries"
                              : "this online stream withholds task boundaries (scenario.boundaries: false)";
  /* the host restarts a schedule at every task: that would show where
   * the withheld boundaries are */
  if (!g_str_equal (lf_params_get_string (r->tp, "schedule"), "constant") || lf_params_get_int (r->tp, "warmup_steps") > 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "train.schedule: \"%s\" (warmup_steps %" G_GINT64_FORMAT ") restarts at every task, and %s; use "
                   "the constant schedule without warm-up", lf_params_get_string (r->tp, "schedule"),
                   lf_params_get_int (r->tp, "warmup_steps"), why);
      return FALSE;
    }
  const LfCapabilities *caps = r->si->caps;
  if (caps && (caps->needs & LF_NEEDS_BOUNDARIES))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_INCOMPATIBLE, "strategy %s needs experience boundaries, and %s%s",
                   r->si->name, why, is_blurry ? "" : "; set scenario.boundaries to true to give them");
      return FALSE;
    }
  const LfStrategyVTable *vt = r->si->vtable;
  if (vt->struct_size >= G_STRUCT_OFFSET (LfStrategyVTable, select_training) + sizeof (void *)
      && vt->select_training != NULL)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_INCOMPATIBLE,
                   "strategy %s chooses each experience's training data (select_training), and %s",
                   r->si->name, why);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_capabilities (const LfResolved *r, GError **error)
{
  if (!check_online (r, error))
    return FALSE;
  const LfCapabilities *caps = r->si->caps;
  if (caps == NULL)
    return TRUE;
  const char *stype = lf_params_get_string (r->scp, "type");
  /* language modelling: only strategies that say they handle next-token
   * outputs (logits (n, T, vocab), no class labels) */
  gboolean lm = g_str_equal (stype, "continual-pretraining") || g_str_equal (stype, "knowledge-editing")
                || g_str_equal (stype, "instruction-tuning");
  if (lm && !(caps->supports & LF_SUPPORTS_LANGUAGE_MODEL))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_INCOMPATIBLE,
                   "strategy %s works on classifiers, not on language models (%s)", r->si->name, stype);
      return FALSE;
    }
  if (!lm && caps->supports == LF_SUPPORTS_LANGUAGE_MODEL)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_INCOMPATIBLE,
                   "strategy %s works on language models only (continual-pretraining, knowledge-editing, "
                   "instruction-tuning), not in %s",
                   r->si->name, stype);
      return FALSE;
    }
  if ((caps->needs & (LF_NEEDS_TASK_IDS | LF_NEEDS_TASK_IDS_AT_TEST)) && !g_str_equal (stype, "task-incremental"))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_INCOMPATIBLE,
                   "strategy %s needs task ids, and a %s scenario does not give them (use task-incremental)",
                   r->si->name, stype);
      return FALSE;
    }
  if (caps->scenarios && !g_strv_contains (caps->scenarios, stype))
    {
      g_autofree char *ok = g_strjoinv (", ", (char **) caps->scenarios);
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_INCOMPATIBLE,
                   "strategy %s works in %s scenarios, not %s", r->si->name, ok, stype);
      return FALSE;
    }
  if (caps->model_kinds)
    {
      gboolean ok = g_strv_contains (caps->model_kinds, r->mi->name);
      const LfCapabilities *mc = r->mi->caps;
      for (int i = 0; !ok && mc && mc->model_kinds && mc->model_kinds[i]; i++)
        ok = g_strv_contains (caps->model_kinds, mc->model_kinds[i]);
      if (!ok)
        {
          g_autofree char *kinds = g_strjoinv (", ", (char **) caps->model_kinds);
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_INCOMPATIBLE,
                       "strategy %s works on %s models, not on model %s", r->si->name, kinds, r->mi->name);
          return FALSE;
        }
    }
  return TRUE;
}

/* Keys the host reads itself: every plugin section's "name"; the model's
 * "checkpoint" (a folder to load the weights from, docs/transformer.md). */
static const char *const skip_named[] = { "name", NULL };
static const char *const skip_model[] = { "name", "checkpoint", "checkpoint_head", NULL };

static LfParams *
section_params (JsonObject *cfg, const char *sec, const LfParam *table, const char *const *skip, GError **error)
{
  JsonObject *obj = json_object_has_member (cfg, sec) ? json_object_get_object_member (cfg, sec) : NULL;
  return lf_params_from_json (table, obj, sec, skip, error);
}

/* model.checkpoint: a folder with model.safetensors (checked now, so a
 * matrix refuses the cell before it starts). */
static gboolean
model_checkpoint (JsonObject *cfg, LfPluginRegistry *reg, LfResolved *r, GError **error)
{
  JsonNode *mn = json_object_get_member (cfg, "model");
  JsonObject *m = mn && JSON_NODE_HOLDS_OBJECT (mn) ? json_node_get_object (mn) : NULL;
  if (m != NULL && json_object_has_member (m, "checkpoint_head") && !json_object_has_member (m, "checkpoint"))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "model.checkpoint_head: given without model.checkpoint (it says how to load one)");
      return FALSE;
    }
  if (m == NULL || !json_object_has_member (m, "checkpoint"))
    return TRUE;
  JsonNode *n = json_object_get_member (m, "checkpoint");
  gboolean cached = JSON_NODE_HOLDS_OBJECT (n);
  if (cached && !lf_cache_resolve (json_node_get_object (n), reg, r, error))
    return FALSE;
  if (!cached && (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING
      || *json_node_get_string (n) == '\0'))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "model.checkpoint: expected a folder name (a string), the one `lifelong run --save-model` wrote, "
                   "or {\"cache\": NAME, \"config\": {...}} (a cached base model, docs/editing.md)");
      return FALSE;
    }
  const char *dir = cached ? r->checkpoint : json_node_get_string (n);
  if (json_object_has_member (m, "checkpoint_head"))
    {
      JsonNode *h = json_object_get_member (m, "checkpoint_head");
      const char *hv = JSON_NODE_HOLDS_VALUE (h) && json_node_get_value_type (h) == G_TYPE_STRING
                       ? json_node_get_string (h) : NULL;
      if (hv == NULL || !(g_str_equal (hv, "load") || g_str_equal (hv, "new")))
        {
          g_autofree char *v = json_to_string (h, FALSE);
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                       "model.checkpoint_head: %s is not \"load\" (every tensor from the checkpoint) or \"new\" "
                       "(a head the checkpoint lacks starts afresh)", v);
          return FALSE;
        }
      r->checkpoint_new_head = g_str_equal (hv, "new");
    }
  if (cached)   /* trained when the run starts, unless the cache has it */
    return TRUE;
  g_autofree char *w = g_build_filename (dir, "model.safetensors", NULL);
  if (!g_file_test (w, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "model.checkpoint: \"%s\": there is no %s", dir, w);
      return FALSE;
    }
  r->checkpoint = g_strdup (dir);
  return TRUE;
}

gboolean
lf_resolve (JsonObject *cfg, LfPluginRegistry *reg, LfResolved *r, GError **error)
{
  memset (r, 0, sizeof *r);
  r->seed = json_object_has_member (cfg, "seed") ? (uint64_t) json_object_get_int_member (cfg, "seed") : 0;
  r->threads = json_object_has_member (cfg, "threads") ? (int) json_object_get_int_member (cfg, "threads") : 1;
  if (!(r->mi = lf_config_find_plugin (reg, LF_PLUGIN_MODEL, cfg, "model", error))
      || !(r->si = lf_config_find_plugin (reg, LF_PLUGIN_STRATEGY, cfg, "strategy", error))
      || !(r->di = lf_config_find_plugin (reg, LF_PLUGIN_DATASET, cfg, "dataset", error)))
    return FALSE;
  if (!(r->mp = section_params (cfg, "model", r->mi->params, skip_model, error))
      || !(r->sp = section_params (cfg, "strategy", r->si->params, skip_named, error))
      || !(r->dp = section_params (cfg, "dataset", r->di->params, skip_named, error))
      || !(r->scp = section_params (cfg, "scenario", lf_scenario_params, NULL, error))
      || !(r->tp = section_params (cfg, "train", lf_train_params, NULL, error))
      || !model_checkpoint (cfg, reg, r, error))
    return FALSE;
  if (lf_params_get_int (r->tp, "early_stopping_patience") > 0
      && lf_params_get_float (r->scp, "validation_fraction") <= 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "train.early_stopping_patience: needs scenario.validation_fraction > 0 "
                   "(early stopping never looks at the test set)");
      return FALSE;
    }
  /* what makes two runs the same run: every resolved value but threads
   * (the numbers do not depend on them) */
  g_autoptr (GString) key = g_string_new (NULL);
  const LfParams *secs[] = { r->mp, r->sp, r->dp, r->scp, r->tp };
  const char *names[] = { r->mi->name, r->si->name, r->di->name, "", "" };
  for (int i = 0; i < 5; i++)
    {
      g_autofree char *j = lf_params_to_json (secs[i]);
      g_string_append_printf (key, "%s:%s;", names[i], j);
    }
  g_string_append_printf (key, "seed=%" G_GUINT64_FORMAT, r->seed);
  if (r->cache_name)   /* the model the config trains, wherever the cache is */
    g_string_append_printf (key, ";checkpoint-cache=%s:%s", r->cache_name, r->cache_key);
  else if (r->checkpoint)   /* only then: hashes of configs without one stay as they were */
    g_string_append_printf (key, ";checkpoint=%s", r->checkpoint);
  r->hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, key->str, -1);
  return check_capabilities (r, error);
}

void
lf_resolved_clear (LfResolved *r)
{
  lf_params_free (r->mp);
  lf_params_free (r->sp);
  lf_params_free (r->dp);
  lf_params_free (r->scp);
  lf_params_free (r->tp);
  g_free (r->hash);
  g_free (r->checkpoint);
  g_free (r->cache_name);
  g_free (r->cache_key);
  if (r->cache_config)
    json_node_unref (r->cache_config);
  memset (r, 0, sizeof *r);
}

JsonNode *
lf_resolved_to_json (const LfResolved *r)
{
  JsonObject *o = json_object_new ();
  const char *secs[] = { "model", "strategy", "dataset", "scenario", "train" };
  LfParams *ps[] = { r->mp, r->sp, r->dp, r->scp, r->tp };
  const char *names[] = { r->mi->name, r->si->name, r->di->name, NULL, NULL };
  for (int i = 0; i < 5; i++)
    {
      JsonNode *node = lf_params_to_json_node (ps[i]);
      if (names[i])
        json_object_set_string_member (json_node_get_object (node), "name", names[i]);
      if (i == 0 && r->cache_name)
        {
          JsonObject *c = json_object_new ();
          json_object_set_string_member (c, "cache", r->cache_name);
          json_object_set_member (c, "config", json_node_copy (r->cache_config));
          json_object_set_object_member (json_node_get_object (node), "checkpoint", c);
        }
      else if (i == 0 && r->checkpoint)
        json_object_set_string_member (json_node_get_object (node), "checkpoint", r->checkpoint);
      if (i == 0 && r->checkpoint_new_head)
        json_object_set_string_member (json_node_get_object (node), "checkpoint_head", "new");
      json_object_set_member (o, secs[i], node);
    }
  json_object_set_int_member (o, "seed", (gint64) r->seed);
  json_object_set_int_member (o, "threads", r->threads);
  JsonNode *n = json_node_alloc ();
  json_node_init_object (n, o);
  json_object_unref (o);
  return n;
}
