/* lifelong fuzzing — run configs: the text as `lifelong run` reads it
 * (lf_config_load_data), --set overrides, the top-level check and
 * lf_resolve against the bundled plugins (every section's parameter table,
 * the host's scenario and train tables, capabilities, the config hash).
 *
 * Input: the config, then up to 8 --set assignments, separated by NUL bytes.
 * Property: a config that resolves, written out as its result's "config"
 * and read back, resolves again to the same run (the same hash): what a
 * matrix cell's config.json and a resumed run rely on. */
#include "fuzz.h"
#include "config.h"
#include "json-write.h"
#include "resolve.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_init ();
  LfPluginRegistry *reg = fuzz_registry (LF_PLUGIN_MODEL, "mlp");
  g_auto (GStrv) parts = fuzz_split (data, size, 9);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) cfg = lf_config_load_data (parts[0], -1, "config.json", &error);
  if (cfg == NULL)
    return 0;
  for (int i = 1; parts[i] != NULL; i++)
    if (!lf_config_set (cfg, parts[i], &error))
      return 0;
  if (!lf_config_check_top (cfg, "config.json", &error))
    return 0;
  LfResolved res;
  gboolean ok = lf_resolve (cfg, reg, &res, &error);
  if (!ok && error == NULL)
    g_error ("lf_resolve failed without an error");
  if (ok)
    {
      JsonNode *node = lf_resolved_to_json (&res);
      g_autofree char *text = lf_json_to_string (node, TRUE);
      json_node_unref (node);
      g_autoptr (GError) again_error = NULL;
      g_autoptr (JsonObject) again = lf_config_load_data (text, -1, "resolved.json", &again_error);
      LfResolved res2;
      memset (&res2, 0, sizeof res2);
      if (again == NULL || !lf_config_check_top (again, "resolved.json", &again_error)
          || !lf_resolve (again, reg, &res2, &again_error))
        g_error ("the resolved config does not resolve: %s\n%s", again_error->message, text);
      if (strcmp (res.hash, res2.hash) != 0)
        g_error ("the resolved config resolves to another run (hash %s, then %s)\n%s", res.hash, res2.hash, text);
      lf_resolved_clear (&res2);
    }
  lf_resolved_clear (&res);
  return 0;
}
