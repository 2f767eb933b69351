/* lifelong — run configs: reading the JSON file (errors with line and
 * column), --set overrides, the host's own sections (scenario, train) as
 * parameter tables, and resolving plugin names. */
#include "config.h"
#include <errno.h>
#include <stdio.h>

/* ---- the host's tables ---------------------------------------------------- */

const LfParam lf_scenario_params[] = {
  { "type", LF_PARAM_STRING, "\"class-incremental\"", 0, 0,
    "class-incremental|task-incremental|domain-incremental|continual-pretraining|text-classification|"
    "knowledge-editing|online|open-world|instruction-tuning|feedback",
    "how experiences differ: new classes, new tasks (task id given), new input domains; or, for text: "
    "language modelling over domains in sequence (a loss matrix), classifying which domain a text comes from, "
    "or a stream of fact edits (one experience per edit, docs/editing.md); online: one pass over a class-incremental "
    "stream, fixed or blurry task boundaries, evaluated every eval_every samples; open-world: labelled known classes, "
    "then unlabelled deployment streams that bring unseen classes (docs/open-environments.md); "
    "instruction-tuning: instruction tasks in sequence scored by greedy generation and exact match "
    "(docs/instruction-tuning.md); feedback: an online class-incremental deployment stream whose items recur, "
    "answered by the model before a corrector fixes its mistakes within a budget; the corrections are the "
    "training data (docs/open-environments.md)" },
  { "experiences", LF_PARAM_INT, "5", 1, 100000, NULL, "number of experiences (T)" },
  { "domains", LF_PARAM_STRING, "\"split\"", 0, 0, "split|permutation|rotation|natural",
    "domain-incremental only: class split with within-experience labels, pixel permutations, "
    "rotations (0..180 degrees), or the dataset's natural domains" },
  { "order_seed", LF_PARAM_INT, "-1", -1, 9.2e18, NULL,
    "seed of a shuffled class order; -1: the natural order 0..C-1 (as van de Ven & Tolias and Mammoth)" },
  { "class_order", LF_PARAM_INT_LIST, "[]", 0, 1e9, NULL,
    "explicit class order (a permutation of 0..C-1); overrides order_seed" },
  { "context", LF_PARAM_INT, "128", 2, 1e6, NULL,
    "text: tokens per sequence (byte-level: one token per byte, plus begin and end tokens); longer texts are cut" },
  { "edits", LF_PARAM_INT, "10", 1, 1000000, NULL,
    "knowledge-editing: edits applied one after another (T; the dataset's first T edit requests)" },
  { "eval_at", LF_PARAM_INT_LIST, "[]", 1, 1000000, NULL,
    "knowledge-editing: also measure after these many edits (increasing, each <= edits; the end is always measured)" },
  { "eval_items", LF_PARAM_INT, "0", 0, 1e9, NULL,
    "instruction-tuning: test items per task answered by greedy generation at each evaluation (the first N; "
    "0: all)" },
  { "generations", LF_PARAM_INT, "2", 0, 1000, NULL,
    "instruction-tuning: test items per task whose generations before and after the sequence the result keeps" },
  { "schedule", LF_PARAM_INT_LIST, "[]", 0, 100000, NULL,
    "replay the experiences built above in this order, repeats allowed ([0, 1, 0, 2]: experience 0's classes "
    "or domain come back as the third experience); [] is 0 .. experiences-1.  A recurring experience keeps its "
    "task id (the first occurrence's) but gets its own sample ids" },
  { "validation_fraction", LF_PARAM_FLOAT, "0", 0, 0.9, NULL,
    "fraction of each experience's training data kept for validation (early stopping, tuning)" },
  { "blurry", LF_PARAM_JSON, "null", 0, 0, NULL,
    "online: i-Blurry-N-M task boundaries, {\"disjoint_percent\": N, \"blurry_percent\": M} (null: fixed, disjoint "
    "tasks); boundaries are then withheld from the strategy" },
  { "eval_every", LF_PARAM_INT, "1000", 1, 1e12, NULL,
    "online: training samples of the stream between two evaluations on the classes seen so far" },
  { "boundaries", LF_PARAM_BOOL, "false", 0, 0, NULL,
    "online with fixed tasks: tell the strategy where each task starts and ends (false: withheld)" },
  { "label_noise", LF_PARAM_JSON, "null", 0, 0, NULL,
    "noisy training labels, {\"type\": \"symmetric\"|\"class-flip\", \"rate\": R}; test labels stay clean "
    "(null: none)" },
  { "known_classes", LF_PARAM_INT, "0", 0, 1e6, NULL,
    "open-world: classes the first experience trains with labels; the others arrive unlabelled, evenly over "
    "the later experiences (0: all but one class per later experience)" },
  { "oracle", LF_PARAM_JSON, "null", 0, 0, NULL,
    "a budgeted source of true labels strategies may query, {\"budget\": N} (labels for the whole run; "
    "null: none; docs/plugin-hooks.md)" },
  { "feedback", LF_PARAM_JSON, "null", 0, 0, NULL,
    "feedback: the corrector and the recurrences, {\"budget\": N, \"revisit_probability\": P, \"revisit_gap\": G, "
    "\"repeats\": R} (required there; docs/open-environments.md)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

const LfParam lf_train_params[] = {
  { "epochs", LF_PARAM_INT, "1", 1, 100000, NULL, "passes over each experience's selection" },
  { "batch_size", LF_PARAM_INT, "128", 1, 1e7, NULL, "training samples per step" },
  { "eval_batch_size", LF_PARAM_INT, "1000", 1, 1e7, NULL, "samples per evaluation batch" },
  { "optimizer", LF_PARAM_STRING, "\"adam\"", 0, 0, "sgd|adam|adamw", "the optimizer" },
  { "lr", LF_PARAM_FLOAT, "0.001", 0, 1e3, NULL, "learning rate" },
  { "momentum", LF_PARAM_FLOAT, "0", 0, 1, NULL, "SGD momentum" },
  { "nesterov", LF_PARAM_BOOL, "false", 0, 0, NULL, "SGD: Nesterov momentum" },
  { "weight_decay", LF_PARAM_FLOAT, "0", 0, 10, NULL, "L2 (SGD, Adam) or decoupled (AdamW) decay" },
  { "beta1", LF_PARAM_FLOAT, "0.9", 0, 1, NULL, "Adam beta1" },
  { "beta2", LF_PARAM_FLOAT, "0.999", 0, 1, NULL, "Adam beta2" },
  { "schedule", LF_PARAM_STRING, "\"constant\"", 0, 0, "constant|step|cosine",
    "learning-rate schedule, restarted every experience" },
  { "warmup_steps", LF_PARAM_INT, "0", 0, 1e12, NULL, "linear warm-up steps" },
  { "step_size", LF_PARAM_INT, "1000", 1, 1e12, NULL, "step schedule: steps between decays" },
  { "gamma", LF_PARAM_FLOAT, "0.1", 0, 1, NULL, "step schedule: decay factor" },
  { "min_lr", LF_PARAM_FLOAT, "0", 0, 1e3, NULL, "cosine schedule: final learning rate" },
  { "clip", LF_PARAM_FLOAT, "0", 0, 1e9, NULL, "global gradient-norm clipping (0: off)" },
  { "reset_optimizer", LF_PARAM_BOOL, "true", 0, 0, NULL,
    "forget optimizer state at the start of every experience" },
  { "early_stopping_patience", LF_PARAM_INT, "0", 0, 100000, NULL,
    "epochs without validation improvement before stopping (0: off; needs validation_fraction > 0)" },
  { "log_every", LF_PARAM_INT, "10", 1, 1e9, NULL, "steps between lines of the per-step log" },
  { "tokens", LF_PARAM_INT, "0", 0, 1e15, NULL,
    "text: a budget of training tokens per experience instead of epochs (0: use epochs)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static const char *const top_keys[] = {
  "model", "strategy", "dataset", "scenario", "train", "seed", "threads", "name", NULL,
};

/* ---- nearest names ------------------------------------------------------- */

static int
edit_distance (const char *a, const char *b)
{
  size_t n = strlen (a), m = strlen (b);
  g_autofree int *row = g_new (int, m + 1);
  for (size_t j = 0; j <= m; j++)
    row[j] = (int) j;
  for (size_t i = 1; i <= n; i++)
    {
      int diag = row[0];
      row[0] = (int) i;
      for (size_t j = 1; j <= m; j++)
        {
          int up = row[j];
          int cost = a[i - 1] == b[j - 1] ? 0 : 1;
          row[j] = MIN (MIN (row[j] + 1, row[j - 1] + 1), diag + cost);
          diag = up;
        }
    }
  return row[m];
}

const char *
lf_nearest_name (const char *s, const char *const *candidates)
{
  const char *best = NULL;
  int best_d = G_MAXINT;
  for (int i = 0; candidates && candidates[i]; i++)
    {
      int d = edit_distance (s, candidates[i]);
      if (d < best_d)
        {
          best_d = d;
          best = candidates[i];
        }
    }
  /* only a plausible typo is worth suggesting */
  return best && best_d <= MAX (2, (int) strlen (s) / 3) ? best : NULL;
}

/* ---- reading -------------------------------------------------------------- */

/* The parsed document's root as a config object, or an error naming path. */
static JsonObject *
config_root (JsonParser *parser, const char *path, GError **error)
{
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "%s: the config must be a JSON object", path);
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

JsonObject *
lf_config_load (const char *path, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_file (parser, path, &local))
    {
      /* json-glib's message carries "FILE:line:column: ..." for syntax errors */
      if (local->domain == JSON_PARSER_ERROR && g_str_has_prefix (local->message, path))
        g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "%s", local->message);
      else if (local->domain == JSON_PARSER_ERROR)
        g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "%s:%s", path, local->message);
      else
        g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "%s: %s", path, local->message);
      return NULL;
    }
  return config_root (parser, path, error);
}

JsonObject *
lf_config_load_data (const char *data, gssize len, const char *path, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_data (parser, data, len, &local))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "%s:%s", path, local->message);
      return NULL;
    }
  return config_root (parser, path, error);
}

/* --set a.b.c=VALUE: VALUE is JSON if it parses, else a string. */
gboolean
lf_config_set (JsonObject *cfg, const char *assignment, GError **error)
{
  const char *eq = strchr (assignment, '=');
  if (eq == NULL || eq == assignment)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "--set %s: expected key.path=value", assignment);
      return FALSE;
    }
  g_autofree char *key = g_strndup (assignment, (gsize) (eq - assignment));
  g_auto (GStrv) parts = g_strsplit (key, ".", -1);
  JsonObject *obj = cfg;
  for (int i = 0; parts[i + 1] != NULL; i++)
    {
      if (!json_object_has_member (obj, parts[i]))
        json_object_set_object_member (obj, parts[i], json_object_new ());
      JsonNode *n = json_object_get_member (obj, parts[i]);
      if (!JSON_NODE_HOLDS_OBJECT (n))
        {
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                       "--set %s: %s is not an object", assignment, parts[i]);
          return FALSE;
        }
      obj = json_node_get_object (n);
    }
  JsonNode *value = json_from_string (eq + 1, NULL);
  if (value == NULL)
    {
      value = json_node_new (JSON_NODE_VALUE);
      json_node_set_string (value, eq + 1);
    }
  json_object_set_member (obj, parts[g_strv_length (parts) - 1], value);
  return TRUE;
}

gboolean
lf_config_check_top (JsonObject *cfg, const char *path, GError **error)
{
  g_autoptr (GList) members = json_object_get_members (cfg);
  for (GList *l = members; l; l = l->next)
    {
      const char *k = l->data;
      if (g_strv_contains (top_keys, k))
        continue;
      const char *near = lf_nearest_name (k, top_keys);
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "%s: unknown key \"%s\"%s%s%s", path, k,
                   near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "");
      return FALSE;
    }
  for (int i = 0; i < 3; i++)
    {
      const char *sec = (const char *[]) { "model", "strategy", "dataset" }[i];
      JsonNode *n = json_object_get_member (cfg, sec);
      if (n == NULL)
        {
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "%s: \"%s\" is missing", path, sec);
          return FALSE;
        }
      if (!JSON_NODE_HOLDS_OBJECT (n)
          || !json_object_has_member (json_node_get_object (n), "name")
          || json_node_get_value_type (json_object_get_member (json_node_get_object (n), "name")) != G_TYPE_STRING)
        {
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                       "%s: %s must be an object with a string \"name\"", path, sec);
          return FALSE;
        }
    }
  for (int i = 0; i < 2; i++)
    {
      const char *sec = (const char *[]) { "scenario", "train" }[i];
      JsonNode *n = json_object_get_member (cfg, sec);
      if (n != NULL && !JSON_NODE_HOLDS_OBJECT (n))
        {
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "%s: %s must be an object", path, sec);
          return FALSE;
        }
    }
  for (int i = 0; i < 2; i++)
    {
      const char *k = (const char *[]) { "seed", "threads" }[i];
      JsonNode *n = json_object_get_member (cfg, k);
      if (n == NULL)
        continue;
      if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64
          || json_node_get_int (n) < (i == 0 ? 0 : 1) || (i == 1 && json_node_get_int (n) > 256))
        {
          g_autofree char *v = json_to_string (n, FALSE);
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                       "%s: %s must be an integer %s, not %s", path, k, i == 0 ? ">= 0" : "in [1, 256]", v);
          return FALSE;
        }
    }
  return TRUE;
}

const LfPluginInfo *
lf_config_find_plugin (LfPluginRegistry *reg, LfPluginKind kind, JsonObject *cfg, const char *section,
                       GError **error)
{
  const char *name = json_object_get_string_member (json_object_get_object_member (cfg, section), "name");
  const LfPluginInfo *info = lf_registry_find (reg, kind, name);
  if (info)
    return info;
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (guint i = 0; i < lf_registry_n_plugins (reg); i++)
    {
      const LfPluginInfo *p = lf_registry_nth (reg, i);
      if (p->kind != (uint32_t) kind)
        continue;
      g_ptr_array_add (names, (gpointer) p->name);
      for (int a = 0; p->aliases && p->aliases[a]; a++)
        g_ptr_array_add (names, (gpointer) p->aliases[a]);
    }
  g_ptr_array_add (names, NULL);
  const char *near = lf_nearest_name (name, (const char *const *) names->pdata);
  g_autofree char *all = g_strjoinv (", ", (char **) names->pdata);
  g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_PLUGIN,
               "%s.name: no %s plugin \"%s\"%s%s%s (found: %s)", section, lf_plugin_kind_name (kind), name,
               near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "",
               names->len > 1 ? all : "none; see `lifelong plugins`");
  return NULL;
}
