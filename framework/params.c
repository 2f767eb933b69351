/* lifelong — parameter tables: checking a plugin's table when it loads,
 * validating a config section against it (every message names the JSON
 * path and the value given), and the typed values a plugin reads. */
#include "plugin-private.h"
#include <math.h>
#include <string.h>

G_DEFINE_QUARK (lf-params-error-quark, lf_params_error)

#define PARAMS_MAX_ROWS 256     /* a table longer than this has lost its terminator */
#define PARAMS_VALUE_SHOWN 60   /* characters of an offending value quoted in a message */

const char *
lf_param_type_name (LfParamType type)
{
  switch (type)
    {
    case LF_PARAM_BOOL: return "bool";
    case LF_PARAM_INT: return "int";
    case LF_PARAM_FLOAT: return "float";
    case LF_PARAM_STRING: return "string";
    case LF_PARAM_INT_LIST: return "int list";
    case LF_PARAM_FLOAT_LIST: return "float list";
    case LF_PARAM_STRING_LIST: return "string list";
    case LF_PARAM_JSON: return "json";
    default: return "unknown";
    }
}

/* What a message says was expected. */
static const char *
type_expected (LfParamType type)
{
  switch (type)
    {
    case LF_PARAM_BOOL: return "true or false";
    case LF_PARAM_INT: return "an integer";
    case LF_PARAM_FLOAT: return "a number";
    case LF_PARAM_STRING: return "a string";
    case LF_PARAM_INT_LIST: return "a list of integers";
    case LF_PARAM_FLOAT_LIST: return "a list of numbers";
    case LF_PARAM_STRING_LIST: return "a list of strings";
    case LF_PARAM_JSON: return "any JSON value";
    default: return "?";
    }
}

static gboolean
type_is_known (int type)
{
  return type >= LF_PARAM_BOOL && type <= LF_PARAM_JSON;
}

static gboolean
type_is_numeric (LfParamType type)
{
  return type == LF_PARAM_INT || type == LF_PARAM_FLOAT
      || type == LF_PARAM_INT_LIST || type == LF_PARAM_FLOAT_LIST;
}

static gboolean
type_is_stringy (LfParamType type)
{
  return type == LF_PARAM_STRING || type == LF_PARAM_STRING_LIST;
}

static gboolean
has_range (const LfParam *decl)
{
  return decl->min < decl->max;
}

/* The shortest text that reads back as d ("0.1", not json-glib's %.17g
 * "0.10000000000000001"). */
static char *
double_text (double d)
{
  static const char *const formats[] = { "%.15g", "%.16g", "%.17g" };
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  for (int i = 0; i < 3; i++)
    {
      g_ascii_formatd (buf, sizeof buf, formats[i], d);
      if (g_ascii_strtod (buf, NULL) == d)
        break;
    }
  return g_strdup (buf);
}

/* The value as compact JSON, cut short if long: what messages quote. */
static char *
node_text (JsonNode *node)
{
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_DOUBLE)
    return double_text (json_node_get_double (node));
  char *s = json_to_string (node, FALSE);
  if (g_utf8_strlen (s, -1) > PARAMS_VALUE_SHOWN)
    {
      char *cut = g_utf8_substring (s, 0, PARAMS_VALUE_SHOWN);
      g_free (s);
      s = g_strconcat (cut, "...", NULL);
      g_free (cut);
    }
  return s;
}

static char *
join_path (const char *prefix, const char *key)
{
  if (prefix == NULL || *prefix == '\0')
    return g_strdup (key);
  return g_strconcat (prefix, ".", key, NULL);
}

/* A range bound as a message shows it ("1e+06", "inf"). */
static void
format_bound (char buf[G_ASCII_DTOSTR_BUF_SIZE], double v)
{
  if (isinf (v))
    g_strlcpy (buf, v > 0 ? "inf" : "-inf", G_ASCII_DTOSTR_BUF_SIZE);
  else
    g_ascii_formatd (buf, G_ASCII_DTOSTR_BUF_SIZE, "%.10g", v);
}

/* ---- choices ("relu|gelu|tanh") ---- */

static gboolean
choice_ok (const char *choices, const char *s)
{
  size_t len = strlen (s);
  const char *p = choices;
  for (;;)
    {
      const char *bar = strchr (p, '|');
      size_t n = bar != NULL ? (size_t) (bar - p) : strlen (p);
      if (n == len && strncmp (p, s, n) == 0)
        return TRUE;
      if (bar == NULL)
        return FALSE;
      p = bar + 1;
    }
}

static char *
choices_text (const char *choices)
{
  g_auto (GStrv) parts = g_strsplit (choices, "|", -1);
  return g_strjoinv (", ", parts);
}

/* ---- one value --------------------------------------------------------- */

static gboolean
node_is (JsonNode *node, GType t)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == t;
}

static gboolean
type_error (const char *path, LfParamType type, JsonNode *node, GError **error)
{
  g_autofree char *text = node_text (node);
  g_set_error (error, LF_PARAMS_ERROR, LF_PARAMS_ERROR_TYPE, "%s: expected %s, got %s",
               path, type_expected (type), text);
  return FALSE;
}

static gboolean
range_check (const LfParam *decl, const char *path, double v, JsonNode *node, GError **error)
{
  if (!has_range (decl) || (v >= decl->min && v <= decl->max))
    return TRUE;
  char lo[G_ASCII_DTOSTR_BUF_SIZE], hi[G_ASCII_DTOSTR_BUF_SIZE];
  format_bound (lo, decl->min);
  format_bound (hi, decl->max);
  g_autofree char *text = node_text (node);
  g_set_error (error, LF_PARAMS_ERROR, LF_PARAMS_ERROR_RANGE, "%s: %s is out of range [%s, %s]",
               path, text, lo, hi);
  return FALSE;
}

/* A JSON integer, or a float with an integral value (2.0), in int64 range. */
static gboolean
node_to_int (const LfParam *decl, const char *path, JsonNode *node, int64_t *out, GError **error)
{
  if (node_is (node, G_TYPE_INT64))
    *out = json_node_get_int (node);
  else if (node_is (node, G_TYPE_DOUBLE))
    {
      double d = json_node_get_double (node);
      /* -2^63 <= d < 2^63 is exactly the int64 range for integral doubles. */
      if (!isfinite (d) || d != floor (d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0)
        return type_error (path, LF_PARAM_INT, node, error);
      *out = (int64_t) d;
    }
  else
    return type_error (path, LF_PARAM_INT, node, error);
  return range_check (decl, path, (double) *out, node, error);
}

/* Any finite JSON number. */
static gboolean
node_to_float (const LfParam *decl, const char *path, JsonNode *node, double *out, GError **error)
{
  if (node_is (node, G_TYPE_INT64))
    *out = (double) json_node_get_int (node);
  else if (node_is (node, G_TYPE_DOUBLE) && isfinite (json_node_get_double (node)))
    *out = json_node_get_double (node);
  else
    return type_error (path, LF_PARAM_FLOAT, node, error);
  return range_check (decl, path, *out, node, error);
}

static gboolean
node_to_string (const LfParam *decl, const char *path, JsonNode *node, char **out, GError **error)
{
  if (!node_is (node, G_TYPE_STRING))
    return type_error (path, LF_PARAM_STRING, node, error);
  const char *s = json_node_get_string (node);
  if (decl->choices != NULL && !choice_ok (decl->choices, s))
    {
      g_autofree char *text = node_text (node);
      g_autofree char *list = choices_text (decl->choices);
      g_set_error (error, LF_PARAMS_ERROR, LF_PARAMS_ERROR_CHOICE, "%s: %s is not one of %s",
                   path, text, list);
      return FALSE;
    }
  *out = g_strdup (s);
  return TRUE;
}

static void
value_clear (LfParamValue *v)
{
  g_clear_pointer (&v->s, g_free);
  g_clear_pointer (&v->ints, g_free);
  g_clear_pointer (&v->floats, g_free);
  g_clear_pointer (&v->strings, g_strfreev);
  v->n = 0;
}

/* Converts node to decl's type into v (cleared first), checking range and
 * choices; messages start with path. */
static gboolean
value_from_node (const LfParam *decl, JsonNode *node, const char *path, LfParamValue *v,
                 GError **error)
{
  value_clear (v);
  v->decl = decl;
  LfParamType type = decl->type;
  switch (type)
    {
    case LF_PARAM_BOOL:
      if (!node_is (node, G_TYPE_BOOLEAN))
        return type_error (path, type, node, error);
      v->b = json_node_get_boolean (node);
      return TRUE;
    case LF_PARAM_INT:
      return node_to_int (decl, path, node, &v->i, error);
    case LF_PARAM_FLOAT:
      return node_to_float (decl, path, node, &v->f, error);
    case LF_PARAM_STRING:
      return node_to_string (decl, path, node, &v->s, error);
    case LF_PARAM_JSON:
      v->s = json_to_string (node, FALSE);
      return TRUE;
    case LF_PARAM_INT_LIST:
    case LF_PARAM_FLOAT_LIST:
    case LF_PARAM_STRING_LIST:
      break;
    default:
      g_set_error (error, LF_PARAMS_ERROR, LF_PARAMS_ERROR_TYPE, "%s: unknown parameter type %d",
                   path, (int) type);
      return FALSE;
    }

  if (!JSON_NODE_HOLDS_ARRAY (node))
    return type_error (path, type, node, error);
  JsonArray *a = json_node_get_array (node);
  int64_t n = json_array_get_length (a);
  v->n = n;
  if (type == LF_PARAM_INT_LIST)
    v->ints = g_new0 (int64_t, n + 1);
  else if (type == LF_PARAM_FLOAT_LIST)
    v->floats = g_new0 (double, n + 1);
  else
    v->strings = g_new0 (char *, n + 1);
  for (int64_t k = 0; k < n; k++)
    {
      JsonNode *el = json_array_get_element (a, (guint) k);
      g_autofree char *el_path = g_strdup_printf ("%s[%" G_GINT64_FORMAT "]", path, k);
      gboolean ok;
      if (type == LF_PARAM_INT_LIST)
        ok = node_to_int (decl, el_path, el, &v->ints[k], error);
      else if (type == LF_PARAM_FLOAT_LIST)
        ok = node_to_float (decl, el_path, el, &v->floats[k], error);
      else
        ok = node_to_string (decl, el_path, el, &v->strings[k], error);
      if (!ok)
        {
          /* An element of the wrong type: say what the list holds too. */
          if (error != NULL && *error != NULL && (*error)->code == LF_PARAMS_ERROR_TYPE)
            {
              char *msg = g_strdup_printf ("%s (%s is %s)", (*error)->message, path, type_expected (type));
              g_free ((*error)->message);
              (*error)->message = msg;
            }
          return FALSE;
        }
    }
  return TRUE;
}

/* Parses a default's JSON text; NULL with an error for text that is not JSON. */
static JsonNode *
parse_default (const LfParam *decl, GError **error)
{
  g_autoptr (GError) local = NULL;
  JsonNode *node = json_from_string (decl->default_json, &local);
  if (node == NULL)
    {
      g_set_error (error, LF_PARAMS_ERROR, LF_PARAMS_ERROR_TYPE,
                   "parameter '%s': default '%s' is not JSON (%s)", decl->name, decl->default_json,
                   local != NULL ? local->message : "empty text");
      return NULL;
    }
  return node;
}

/* ---- the table ----------------------------------------------------------- */

static gboolean
param_name_ok (const char *s)
{
  if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
    return FALSE;
  for (s++; *s != '\0'; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
      return FALSE;
  return TRUE;
}

#define TABLE_FAIL(...) \
  do { g_set_error (error, LF_PLUGIN_ERROR, LF_PLUGIN_ERROR_PARAMS, __VA_ARGS__); return FALSE; } while (0)

static gboolean
choices_ok (const char *choices)
{
  if (*choices == '\0')
    return FALSE;
  g_auto (GStrv) parts = g_strsplit (choices, "|", -1);
  for (int i = 0; parts[i] != NULL; i++)
    {
      if (*parts[i] == '\0')
        return FALSE;
      for (int j = 0; j < i; j++)
        if (strcmp (parts[i], parts[j]) == 0)
          return FALSE;
    }
  return TRUE;
}

gboolean
lf_param_table_check (const LfParam *table, GError **error)
{
  if (table == NULL)
    return TRUE;
  for (int64_t r = 0;; r++)
    {
      if (r >= PARAMS_MAX_ROWS)
        TABLE_FAIL ("parameter table: no end row (name NULL) within %d rows", PARAMS_MAX_ROWS);
      const LfParam *decl = &table[r];
      if (decl->name == NULL)
        break;
      const char *name = decl->name;
      if (!param_name_ok (name))
        TABLE_FAIL ("parameter table: row %" G_GINT64_FORMAT ": name '%s' is not [a-z_][a-z0-9_]*",
                    r, name);
      if (strcmp (name, "name") == 0)
        TABLE_FAIL ("parameter table: 'name' is reserved (the host reads it to choose the plugin)");
      for (int64_t q = 0; q < r; q++)
        if (strcmp (table[q].name, name) == 0)
          TABLE_FAIL ("parameter table: '%s' is declared twice (rows %" G_GINT64_FORMAT
                      " and %" G_GINT64_FORMAT ")", name, q, r);
      if (!type_is_known ((int) decl->type))
        TABLE_FAIL ("parameter table: '%s' has unknown type %d", name, (int) decl->type);
      if (isnan (decl->min) || isnan (decl->max))
        TABLE_FAIL ("parameter table: '%s' has a NaN bound", name);
      if (decl->min > decl->max || (decl->min == decl->max && decl->min != 0))
        {
          char lo[G_ASCII_DTOSTR_BUF_SIZE], hi[G_ASCII_DTOSTR_BUF_SIZE];
          format_bound (lo, decl->min);
          format_bound (hi, decl->max);
          TABLE_FAIL ("parameter table: '%s' has min %s >= max %s (leave both 0 for no range)",
                      name, lo, hi);
        }
      if (has_range (decl) && !type_is_numeric (decl->type))
        TABLE_FAIL ("parameter table: '%s' is of type %s but has a range (ranges are for numbers)",
                    name, lf_param_type_name (decl->type));
      if (decl->choices != NULL && !type_is_stringy (decl->type))
        TABLE_FAIL ("parameter table: '%s' is of type %s but has choices (choices are for strings)",
                    name, lf_param_type_name (decl->type));
      if (decl->choices != NULL && !choices_ok (decl->choices))
        TABLE_FAIL ("parameter table: '%s' has malformed choices \"%s\" (want \"a|b|c\", distinct)",
                    name, decl->choices);
      if (decl->default_json != NULL)
        {
          g_autoptr (GError) local = NULL;
          g_autoptr (JsonNode) node = parse_default (decl, &local);
          LfParamValue v = { 0 };
          g_autofree char *path = g_strdup_printf ("parameter '%s' default", name);
          if (node == NULL || !value_from_node (decl, node, path, &v, &local))
            {
              value_clear (&v);
              TABLE_FAIL ("parameter table: %s", local->message);
            }
          value_clear (&v);
        }
    }
  return TRUE;
}

/* ---- validating a config ----------------------------------------------- */

/* Optimal string alignment distance (Levenshtein plus adjacent swaps). */
static size_t
edit_distance (const char *a, const char *b)
{
  size_t n = strlen (a), m = strlen (b);
  g_autofree size_t *d = g_new (size_t, (n + 1) * (m + 1));
#define D(i, j) d[(i) * (m + 1) + (j)]
  for (size_t i = 0; i <= n; i++)
    D (i, 0) = i;
  for (size_t j = 0; j <= m; j++)
    D (0, j) = j;
  for (size_t i = 1; i <= n; i++)
    for (size_t j = 1; j <= m; j++)
      {
        size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
        size_t best = MIN (D (i - 1, j) + 1, D (i, j - 1) + 1);
        best = MIN (best, D (i - 1, j - 1) + cost);
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
          best = MIN (best, D (i - 2, j - 2) + 1);
        D (i, j) = best;
      }
  size_t r = D (n, m);
#undef D
  return r;
}

static int64_t
table_length (const LfParam *table)
{
  int64_t n = 0;
  while (table != NULL && table[n].name != NULL)
    n++;
  return n;
}

static const LfParam *
table_find (const LfParam *table, const char *name)
{
  for (int64_t r = 0; table != NULL && table[r].name != NULL; r++)
    if (strcmp (table[r].name, name) == 0)
      return &table[r];
  return NULL;
}

static gboolean
unknown_key (const LfParam *table, const char *key, const char *path, GError **error)
{
  const char *best = NULL;
  size_t best_d = SIZE_MAX;
  for (int64_t r = 0; table != NULL && table[r].name != NULL; r++)
    {
      size_t d = edit_distance (key, table[r].name);
      if (d < best_d)
        best = table[r].name, best_d = d;
    }
  /* Close enough to be a typo: one edit per three characters, at least one. */
  size_t limit = MAX ((size_t) 1, (strlen (key) + 2) / 3);
  if (best != NULL && best_d <= limit)
    {
      g_set_error (error, LF_PARAMS_ERROR, LF_PARAMS_ERROR_UNKNOWN_KEY,
                   "%s: unknown parameter '%s'; did you mean '%s'?", path, key, best);
      return FALSE;
    }
  if (best == NULL)
    {
      g_set_error (error, LF_PARAMS_ERROR, LF_PARAMS_ERROR_UNKNOWN_KEY,
                   "%s: unknown parameter '%s' (this plugin takes no parameters)", path, key);
      return FALSE;
    }
  GString *names = g_string_new (NULL);
  for (int64_t r = 0; table[r].name != NULL; r++)
    g_string_append_printf (names, "%s%s", r ? ", " : "", table[r].name);
  g_set_error (error, LF_PARAMS_ERROR, LF_PARAMS_ERROR_UNKNOWN_KEY,
               "%s: unknown parameter '%s' (valid: %s)", path, key, names->str);
  g_string_free (names, TRUE);
  return FALSE;
}

static gboolean
key_skipped (const char *const *skip_keys, const char *key)
{
  for (int i = 0; skip_keys != NULL && skip_keys[i] != NULL; i++)
    if (strcmp (skip_keys[i], key) == 0)
      return TRUE;
  return FALSE;
}

LfParams *
lf_params_from_json (const LfParam *table, JsonObject *config, const char *json_path_prefix,
                     const char *const *skip_keys, GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  /* Unknown keys first: a typo of a required name says "did you mean",
   * not "missing". */
  if (config != NULL)
    {
      g_autoptr (GList) members = json_object_get_members (config);
      for (GList *l = members; l != NULL; l = l->next)
        {
          const char *key = l->data;
          if (key_skipped (skip_keys, key) || table_find (table, key) != NULL)
            continue;
          g_autofree char *path = join_path (json_path_prefix, key);
          unknown_key (table, key, path, error);
          return NULL;
        }
    }

  g_autoptr (LfParams) p = g_new0 (LfParams, 1);
  p->table = table;
  p->n = table_length (table);
  p->values = g_new0 (LfParamValue, p->n + 1);
  for (int64_t r = 0; r < p->n; r++)
    {
      const LfParam *decl = &table[r];
      LfParamValue *v = &p->values[r];
      v->decl = decl;
      g_autofree char *path = join_path (json_path_prefix, decl->name);
      JsonNode *given = config != NULL ? json_object_get_member (config, decl->name) : NULL;
      if (given != NULL)
        {
          if (!value_from_node (decl, given, path, v, error))
            return NULL;
          v->set = TRUE;
        }
      else if (decl->default_json != NULL)
        {
          g_autoptr (JsonNode) node = parse_default (decl, error);
          g_autofree char *dpath = g_strconcat (path, " (default)", NULL);
          if (node == NULL || !value_from_node (decl, node, dpath, v, error))
            return NULL;
        }
      else
        {
          g_set_error (error, LF_PARAMS_ERROR, LF_PARAMS_ERROR_REQUIRED,
                       "%s: required parameter missing (%s%s%s)", path,
                       lf_param_type_name (decl->type), decl->doc != NULL ? ": " : "",
                       decl->doc != NULL ? decl->doc : "");
          return NULL;
        }
    }
  return g_steal_pointer (&p);
}

void
lf_params_free (LfParams *p)
{
  if (p == NULL)
    return;
  for (int64_t r = 0; r < p->n; r++)
    value_clear (&p->values[r]);
  g_free (p->values);
  g_free (p);
}

/* ---- back to JSON ---------------------------------------------------- */

static JsonNode *
value_to_node (const LfParamValue *v)
{
  JsonNode *node;
  JsonArray *a;
  switch (v->decl->type)
    {
    case LF_PARAM_BOOL:
      node = json_node_new (JSON_NODE_VALUE);
      json_node_set_boolean (node, v->b);
      return node;
    case LF_PARAM_INT:
      node = json_node_new (JSON_NODE_VALUE);
      json_node_set_int (node, v->i);
      return node;
    case LF_PARAM_FLOAT:
      node = json_node_new (JSON_NODE_VALUE);
      json_node_set_double (node, v->f);
      return node;
    case LF_PARAM_STRING:
      node = json_node_new (JSON_NODE_VALUE);
      json_node_set_string (node, v->s);
      return node;
    case LF_PARAM_JSON:
      node = json_from_string (v->s, NULL);
      return node != NULL ? node : json_node_new (JSON_NODE_NULL);
    case LF_PARAM_INT_LIST:
    case LF_PARAM_FLOAT_LIST:
    case LF_PARAM_STRING_LIST:
      a = json_array_sized_new ((guint) v->n);
      for (int64_t k = 0; k < v->n; k++)
        if (v->decl->type == LF_PARAM_INT_LIST)
          json_array_add_int_element (a, v->ints[k]);
        else if (v->decl->type == LF_PARAM_FLOAT_LIST)
          json_array_add_double_element (a, v->floats[k]);
        else
          json_array_add_string_element (a, v->strings[k]);
      node = json_node_new (JSON_NODE_ARRAY);
      json_node_take_array (node, a);
      return node;
    default:
      return json_node_new (JSON_NODE_NULL);
    }
}

JsonNode *
lf_params_to_json_node (const LfParams *p)
{
  g_return_val_if_fail (p != NULL, NULL);
  JsonObject *o = json_object_new ();
  for (int64_t r = 0; r < p->n; r++)
    json_object_set_member (o, p->values[r].decl->name, value_to_node (&p->values[r]));
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, o);
  return node;
}

char *
lf_params_to_json (const LfParams *p)
{
  g_return_val_if_fail (p != NULL, NULL);
  g_autoptr (JsonNode) node = lf_params_to_json_node (p);
  return json_to_string (node, FALSE);
}

/* ---- what plugins read -------------------------------------------------- */

/* The value of name if the table declares it with that type; otherwise a
 * g_critical naming the caller's mistake, and NULL. */
static const LfParamValue *
lookup (const LfParams *p, const char *name, LfParamType type, const char *func)
{
  if (p == NULL || name == NULL)
    {
      g_critical ("%s: %s is NULL", func, p == NULL ? "params" : "name");
      return NULL;
    }
  for (int64_t r = 0; r < p->n; r++)
    {
      const LfParamValue *v = &p->values[r];
      if (strcmp (v->decl->name, name) != 0)
        continue;
      if (v->decl->type != type)
        {
          g_critical ("%s: parameter '%s' is declared as %s, not %s", func, name,
                      lf_param_type_name (v->decl->type), lf_param_type_name (type));
          return NULL;
        }
      return v;
    }
  g_critical ("%s: the parameter table declares no '%s'", func, name);
  return NULL;
}

gboolean
lf_params_get_bool (const LfParams *p, const char *name)
{
  const LfParamValue *v = lookup (p, name, LF_PARAM_BOOL, G_STRFUNC);
  return v != NULL ? v->b : FALSE;
}

int64_t
lf_params_get_int (const LfParams *p, const char *name)
{
  const LfParamValue *v = lookup (p, name, LF_PARAM_INT, G_STRFUNC);
  return v != NULL ? v->i : 0;
}

double
lf_params_get_float (const LfParams *p, const char *name)
{
  const LfParamValue *v = lookup (p, name, LF_PARAM_FLOAT, G_STRFUNC);
  return v != NULL ? v->f : 0.0;
}

const char *
lf_params_get_string (const LfParams *p, const char *name)
{
  const LfParamValue *v = lookup (p, name, LF_PARAM_STRING, G_STRFUNC);
  return v != NULL ? v->s : NULL;
}

const int64_t *
lf_params_get_int_list (const LfParams *p, const char *name, int64_t *n)
{
  const LfParamValue *v = lookup (p, name, LF_PARAM_INT_LIST, G_STRFUNC);
  if (n != NULL)
    *n = v != NULL ? v->n : 0;
  return v != NULL ? v->ints : NULL;
}

const double *
lf_params_get_float_list (const LfParams *p, const char *name, int64_t *n)
{
  const LfParamValue *v = lookup (p, name, LF_PARAM_FLOAT_LIST, G_STRFUNC);
  if (n != NULL)
    *n = v != NULL ? v->n : 0;
  return v != NULL ? v->floats : NULL;
}

const char *const *
lf_params_get_string_list (const LfParams *p, const char *name, int64_t *n)
{
  const LfParamValue *v = lookup (p, name, LF_PARAM_STRING_LIST, G_STRFUNC);
  if (n != NULL)
    *n = v != NULL ? v->n : 0;
  return v != NULL ? (const char *const *) v->strings : NULL;
}

const char *
lf_params_get_json (const LfParams *p, const char *name)
{
  const LfParamValue *v = lookup (p, name, LF_PARAM_JSON, G_STRFUNC);
  return v != NULL ? v->s : NULL;
}

gboolean
lf_params_is_set (const LfParams *p, const char *name)
{
  if (p == NULL || name == NULL)
    {
      g_critical ("%s: %s is NULL", G_STRFUNC, p == NULL ? "params" : "name");
      return FALSE;
    }
  for (int64_t r = 0; r < p->n; r++)
    if (strcmp (p->values[r].decl->name, name) == 0)
      return p->values[r].set;
  g_critical ("%s: the parameter table declares no '%s'", G_STRFUNC, name);
  return FALSE;
}
