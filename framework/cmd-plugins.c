/* lifelong — `lifelong plugins`: every plugin on the search path with its
 * file, parameters and capabilities, as text or JSON (the registry's
 * listing, lf_registry_to_json / _to_text, lives here too). */
#include "commands.h"
#include "plugin-private.h"
#include "json-write.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- capability words -------------------------------------------------- */

typedef struct {
  uint32_t    bit;
  const char *word;
} LfFlagWord;

static const LfFlagWord touches_words[] = {
  { LF_TOUCHES_LOSS, "loss" }, { LF_TOUCHES_GRADIENTS, "gradients" }, { LF_TOUCHES_DATA, "data" },
  { LF_TOUCHES_STRUCTURE, "structure" }, { LF_TOUCHES_INFERENCE, "inference" },
  { LF_TOUCHES_OPTIMIZER, "optimizer" }, { 0, NULL } };
static const LfFlagWord needs_words[] = {
  { LF_NEEDS_TASK_IDS, "task-ids" }, { LF_NEEDS_TASK_IDS_AT_TEST, "task-ids-at-test" },
  { LF_NEEDS_BOUNDARIES, "boundaries" }, { LF_NEEDS_LABELS, "labels" },
  { LF_NEEDS_SEQUENCES, "sequences" }, { 0, NULL } };
static const LfFlagWord supports_words[] = {
  { LF_SUPPORTS_ONLINE, "online" }, { LF_SUPPORTS_CLASSIFICATION, "classification" },
  { LF_SUPPORTS_LANGUAGE_MODEL, "language-model" }, { 0, NULL } };

/* supports == 0 means classification only (plugin.h); show what it means. */
static uint32_t
effective_supports (const LfCapabilities *caps)
{
  return caps != NULL && caps->supports != 0 ? caps->supports : LF_SUPPORTS_CLASSIFICATION;
}

static void
add_flag_words (JsonBuilder *b, const LfFlagWord *words, uint32_t flags)
{
  json_builder_begin_array (b);
  for (int i = 0; words[i].word != NULL; i++)
    if (flags & words[i].bit)
      json_builder_add_string_value (b, words[i].word);
  json_builder_end_array (b);
}

static void
append_flag_words (GString *s, const LfFlagWord *words, uint32_t flags)
{
  gboolean any = FALSE;
  for (int i = 0; words[i].word != NULL; i++)
    if (flags & words[i].bit)
      {
        g_string_append_printf (s, "%s%s", any ? ", " : "", words[i].word);
        any = TRUE;
      }
  if (!any)
    g_string_append (s, "-");
}

/* ---- order ----------------------------------------------------------------- */

static gint
compare_plugins (gconstpointer a, gconstpointer b)
{
  const LfPluginInfo *x = *(const LfPluginInfo *const *) a, *y = *(const LfPluginInfo *const *) b;
  if (x->kind != y->kind)
    return x->kind < y->kind ? -1 : 1;
  return strcmp (x->name, y->name);
}

/* The registry's plugins sorted by kind, then name. */
static GPtrArray *
sorted_plugins (LfPluginRegistry *reg)
{
  GPtrArray *all = g_ptr_array_new ();
  for (guint i = 0; i < lf_registry_n_plugins (reg); i++)
    g_ptr_array_add (all, (gpointer) lf_registry_nth (reg, i));
  g_ptr_array_sort (all, compare_plugins);
  return all;
}

/* ---- JSON --------------------------------------------------------------------- */

static void
add_string_list (JsonBuilder *b, const char *const *list)
{
  if (list == NULL)
    {
      json_builder_add_null_value (b);
      return;
    }
  json_builder_begin_array (b);
  for (int i = 0; list[i] != NULL; i++)
    json_builder_add_string_value (b, list[i]);
  json_builder_end_array (b);
}

static void
add_bound (JsonBuilder *b, const char *key, double v, gboolean ranged)
{
  json_builder_set_member_name (b, key);
  if (ranged && isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);   /* no range, or unbounded on this side */
}

static void
add_param (JsonBuilder *b, const LfParam *p)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, p->name);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, lf_param_type_name (p->type));
  json_builder_set_member_name (b, "required");
  json_builder_add_boolean_value (b, p->default_json == NULL);
  json_builder_set_member_name (b, "default");
  JsonNode *def = p->default_json != NULL ? json_from_string (p->default_json, NULL) : NULL;
  if (def != NULL)
    json_builder_add_value (b, def);   /* takes def */
  else
    json_builder_add_null_value (b);
  gboolean ranged = p->min < p->max;
  add_bound (b, "min", p->min, ranged);
  add_bound (b, "max", p->max, ranged);
  json_builder_set_member_name (b, "choices");
  if (p->choices != NULL)
    {
      g_auto (GStrv) parts = g_strsplit (p->choices, "|", -1);
      add_string_list (b, (const char *const *) parts);
    }
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "doc");
  json_builder_add_string_value (b, p->doc != NULL ? p->doc : "");
  json_builder_end_object (b);
}

static void
add_plugin (JsonBuilder *b, LfPluginRegistry *reg, const LfPluginInfo *info)
{
  const LfCapabilities *caps = info->caps;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, lf_plugin_kind_name ((LfPluginKind) info->kind));
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, info->name);
  json_builder_set_member_name (b, "aliases");
  if (info->aliases != NULL)
    add_string_list (b, info->aliases);
  else
    {
      json_builder_begin_array (b);
      json_builder_end_array (b);
    }
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, info->version);
  json_builder_set_member_name (b, "summary");
  json_builder_add_string_value (b, info->summary);
  json_builder_set_member_name (b, "file");
  json_builder_add_string_value (b, lf_registry_file (reg, info));
  json_builder_set_member_name (b, "abi");
  g_autofree char *abi = g_strdup_printf ("%u.%u", info->abi_major, info->abi_minor);
  json_builder_add_string_value (b, abi);

  json_builder_set_member_name (b, "parameters");
  json_builder_begin_array (b);
  for (int i = 0; info->params != NULL && info->params[i].name != NULL; i++)
    add_param (b, &info->params[i]);
  json_builder_end_array (b);

  json_builder_set_member_name (b, "capabilities");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "touches");
  add_flag_words (b, touches_words, caps != NULL ? caps->touches : 0);
  json_builder_set_member_name (b, "needs");
  add_flag_words (b, needs_words, caps != NULL ? caps->needs : 0);
  json_builder_set_member_name (b, "supports");
  add_flag_words (b, supports_words, effective_supports (caps));
  json_builder_set_member_name (b, "model_kinds");
  add_string_list (b, caps != NULL ? caps->model_kinds : NULL);
  json_builder_set_member_name (b, "scenarios");
  add_string_list (b, caps != NULL ? caps->scenarios : NULL);
  json_builder_end_object (b);
  json_builder_end_object (b);
}

char *
lf_registry_to_json (LfPluginRegistry *reg)
{
  g_return_val_if_fail (reg != NULL, NULL);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "abi");
  json_builder_add_string_value (b, G_STRINGIFY (LF_ABI_MAJOR) "." G_STRINGIFY (LF_ABI_MINOR));
  json_builder_set_member_name (b, "search_path");
  add_string_list (b, lf_registry_dirs (reg));

  json_builder_set_member_name (b, "plugins");
  json_builder_begin_array (b);
  g_autoptr (GPtrArray) all = sorted_plugins (reg);
  for (guint i = 0; i < all->len; i++)
    add_plugin (b, reg, all->pdata[i]);
  json_builder_end_array (b);

  json_builder_set_member_name (b, "errors");
  json_builder_begin_array (b);
  const GPtrArray *errors = lf_registry_errors (reg);
  for (guint i = 0; i < errors->len; i++)
    {
      const LfPluginLoadError *le = errors->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "file");
      json_builder_add_string_value (b, le->file);
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, le->error->message);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return lf_json_to_string (root, TRUE);
}

/* ---- text ---------------------------------------------------------------------- */

static void
append_list (GString *s, const char *const *list, const char *none)
{
  if (list == NULL || list[0] == NULL)
    {
      g_string_append (s, none);
      return;
    }
  for (int i = 0; list[i] != NULL; i++)
    g_string_append_printf (s, "%s%s", i ? ", " : "", list[i]);
}

static void
append_params (GString *s, const LfParam *params)
{
  int64_t n = 0;
  int w_name = 4, w_type = 4, w_def = 7;
  for (; params != NULL && params[n].name != NULL; n++)
    {
      w_name = MAX (w_name, (int) strlen (params[n].name));
      w_type = MAX (w_type, (int) strlen (lf_param_type_name (params[n].type)));
      w_def = MAX (w_def, params[n].default_json != NULL ? (int) strlen (params[n].default_json) : 8);
    }
  if (n == 0)
    {
      g_string_append (s, "  parameters: none\n");
      return;
    }
  g_string_append (s, "  parameters:\n");
  for (int64_t i = 0; i < n; i++)
    {
      const LfParam *p = &params[i];
      g_string_append_printf (s, "    %-*s  %-*s  %-*s", w_name, p->name, w_type,
                              lf_param_type_name (p->type), w_def,
                              p->default_json != NULL ? p->default_json : "required");
      if (p->min < p->max)
        {
          char lo[G_ASCII_DTOSTR_BUF_SIZE], hi[G_ASCII_DTOSTR_BUF_SIZE];
          g_ascii_formatd (lo, sizeof lo, "%g", p->min);
          g_ascii_formatd (hi, sizeof hi, "%g", p->max);
          g_string_append_printf (s, "  in [%s, %s]", lo, hi);
        }
      if (p->choices != NULL)
        g_string_append_printf (s, "  one of %s", p->choices);
      if (p->doc != NULL && *p->doc != '\0')
        g_string_append_printf (s, "  %s", p->doc);
      g_string_append_c (s, '\n');
    }
}

char *
lf_registry_to_text (LfPluginRegistry *reg)
{
  g_return_val_if_fail (reg != NULL, NULL);
  GString *s = g_string_new (NULL);
  g_autoptr (GPtrArray) all = sorted_plugins (reg);
  if (all->len == 0)
    {
      g_string_append (s, "no plugins found in: ");
      append_list (s, lf_registry_dirs (reg), "(no directories)");
      g_string_append_c (s, '\n');
    }
  for (guint i = 0; i < all->len; i++)
    {
      const LfPluginInfo *info = all->pdata[i];
      const LfCapabilities *caps = info->caps;
      if (i > 0)
        g_string_append_c (s, '\n');
      g_string_append_printf (s, "%s %s %s: %s\n", lf_plugin_kind_name ((LfPluginKind) info->kind),
                              info->name, info->version, info->summary);
      if (info->aliases != NULL && info->aliases[0] != NULL)
        {
          g_string_append (s, "  aliases: ");
          append_list (s, info->aliases, "");
          g_string_append_c (s, '\n');
        }
      g_string_append_printf (s, "  file: %s (ABI %u.%u)\n", lf_registry_file (reg, info),
                              info->abi_major, info->abi_minor);
      if (info->kind == LF_PLUGIN_STRATEGY)
        {
          g_string_append (s, "  touches: ");
          append_flag_words (s, touches_words, caps != NULL ? caps->touches : 0);
          g_string_append_c (s, '\n');
        }
      g_string_append (s, "  needs: ");
      append_flag_words (s, needs_words, caps != NULL ? caps->needs : 0);
      g_string_append (s, "\n  supports: ");
      append_flag_words (s, supports_words, effective_supports (caps));
      const char *const *kinds = caps != NULL ? caps->model_kinds : NULL;
      if (info->kind == LF_PLUGIN_MODEL)
        g_string_append (s, "\n  model kinds: ");
      else if (info->kind == LF_PLUGIN_STRATEGY || kinds != NULL)
        g_string_append (s, "\n  works on models: ");
      if (info->kind != LF_PLUGIN_DATASET || kinds != NULL)
        append_list (s, kinds, info->kind == LF_PLUGIN_MODEL ? "-" : "any");
      g_string_append (s, "\n  scenarios: ");
      append_list (s, caps != NULL ? caps->scenarios : NULL, "any");
      g_string_append_c (s, '\n');
      append_params (s, info->params);
    }
  return g_string_free (s, FALSE);
}

/* ---- the command -------------------------------------------------------------------- */

int
lf_cmd_plugins (int argc, char **argv)
{
  gboolean json = FALSE;
  g_auto (GStrv) paths = NULL;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON instead of text", NULL },
    { "plugin-path", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &paths,
      "Also search DIR, after the built-in folders and $LIFELONG_PLUGIN_PATH (repeatable)", "DIR" },
    G_OPTION_ENTRY_NULL
  };
  /* GOption names the program after argv[0] ("plugins") unless main did. */
  if (g_get_prgname () == NULL)
    g_set_prgname ("lifelong");
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- list the plugins on the search path");
  g_option_context_set_summary (ctx, "lifelong plugins [--json] [--plugin-path DIR]...");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx,
      "Search path, in order: the build tree's plugin folder (only for a lifelong run from its\n"
      "build tree, never an installed one), the installed plugin folder,\n"
      "$LIFELONG_PLUGIN_PATH (':'-separated), then each --plugin-path.  Never the current\n"
      "directory.  Files that fail to load are listed on stderr.");
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "lifelong plugins: %s\n", error->message);
      return 2;
    }
  if (argc > 1)
    {
      fprintf (stderr, "lifelong plugins: unexpected argument '%s' (see --help)\n", argv[1]);
      return 2;
    }

  g_autofree char *extra = paths != NULL ? g_strjoinv (G_SEARCHPATH_SEPARATOR_S, paths) : NULL;
  g_auto (GStrv) dirs = lf_plugin_search_path (extra);
  g_autoptr (LfPluginRegistry) reg = lf_registry_new ();
  lf_registry_scan (reg, (const char *const *) dirs, NULL);

  const GPtrArray *errors = lf_registry_errors (reg);
  for (guint i = 0; i < errors->len; i++)
    fprintf (stderr, "lifelong plugins: %s\n", ((const LfPluginLoadError *) errors->pdata[i])->error->message);

  g_autofree char *out = json ? lf_registry_to_json (reg) : lf_registry_to_text (reg);
  fputs (out, stdout);
  if (fflush (stdout) != 0 || ferror (stdout))
    {
      fprintf (stderr, "lifelong plugins: cannot write the listing\n");
      return 1;
    }
  return 0;
}
