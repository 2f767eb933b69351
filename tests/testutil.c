/* lifelong tests — testutil.h. */
#include "testutil.h"
#include <sys/wait.h>

int
tu_spawn (const char *const *argv, const char *const *env, char **out, char **err)
{
  g_auto (GStrv) envp = g_get_environ ();
  for (int i = 0; env != NULL && env[i] != NULL; i += 2)
    envp = g_environ_setenv (envp, env[i], env[i + 1], TRUE);
  int status = 0;
  g_autofree char *o = NULL, *e = NULL;
  g_autoptr (GError) error = NULL;
  if (!g_spawn_sync (NULL, (char **) argv, envp, G_SPAWN_DEFAULT, NULL, NULL, &o, &e, &status, &error))
    g_error ("cannot run %s: %s", argv[0], error->message);
  if (out)
    *out = g_steal_pointer (&o);
  if (err)
    *err = g_steal_pointer (&e);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

int
tu_spawn_va (const char *exe, va_list ap, const char *const *tail, const char *const *env, char **out, char **err)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) exe);
  for (const char *a; (a = va_arg (ap, const char *)) != NULL;)
    g_ptr_array_add (argv, (gpointer) a);
  for (int i = 0; tail != NULL && tail[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) tail[i]);
  g_ptr_array_add (argv, NULL);
  return tu_spawn ((const char *const *) argv->pdata, env, out, err);
}

JsonObject *
tu_load_json (const char *path)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) error = NULL;
  if (!json_parser_load_from_file (p, path, &error))
    g_error ("%s: %s", path, error->message);
  JsonNode *root = json_parser_get_root (p);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    g_error ("%s: not a JSON object", path);
  return json_object_ref (json_node_get_object (root));
}
