/* lifelong fuzzing — plugin parameter tables: lf_param_table_check (what
 * the loader runs on every plugin's table) on a table decoded from the
 * input, then a config section validated against a table that passed
 * (lf_params_from_json), its values read back the way a plugin reads them,
 * and written out as the result's config.
 *
 * Input: the table, NUL, the config section.  The table is a JSON array of
 * rows {"name", "type", "default", "min", "max", "choices", "doc"}: type a
 * number (LfParamType, unknown ones too) or a type name ("int", "float
 * list", ...), default the row's default_json text (absent: required), min
 * and max numbers or "nan", "inf", "-inf"; a row without a string name is
 * the end row.  The section is a JSON object (empty: none given).
 * Property (docs/abi.md): the resolved values, written as JSON and
 * validated again, are the same values. */
#include "fuzz.h"
#include "plugin-private.h"
#include <math.h>

#define MAX_ROWS 300   /* past the checker's 256, to reach its end-row check */

static const char *const type_names[] = { NULL, "bool", "int", "float", "string", "int list",
                                          "float list", "string list", "json" };

static double
bound (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
    return 0;
  GType t = json_node_get_value_type (n);
  if (t == G_TYPE_INT64 || t == G_TYPE_DOUBLE)
    return json_node_get_double (n);
  if (t == G_TYPE_STRING)
    {
      const char *s = json_node_get_string (n);
      return g_str_equal (s, "nan") ? NAN : g_str_equal (s, "inf") ? INFINITY : g_str_equal (s, "-inf") ? -INFINITY : 0;
    }
  return 0;
}

static const char *
string_or_null (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

/* The table the array describes (rows point into the parser's strings),
 * always with an end row after the last. */
static LfParam *
decode_table (JsonArray *a)
{
  guint n = MIN (json_array_get_length (a), MAX_ROWS);
  LfParam *t = g_new0 (LfParam, n + 1);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *rn = json_array_get_element (a, i);
      if (!JSON_NODE_HOLDS_OBJECT (rn))
        continue;   /* a row of zeros: an end row */
      JsonObject *o = json_node_get_object (rn);
      t[i].name = string_or_null (o, "name");
      JsonNode *tn = json_object_get_member (o, "type");
      if (tn != NULL && JSON_NODE_HOLDS_VALUE (tn) && json_node_get_value_type (tn) == G_TYPE_INT64)
        t[i].type = (LfParamType) CLAMP (json_node_get_int (tn), -1000, 1000);
      else if (string_or_null (o, "type") != NULL)
        for (int k = 1; k < (int) G_N_ELEMENTS (type_names); k++)
          if (g_str_equal (type_names[k], string_or_null (o, "type")))
            t[i].type = (LfParamType) k;
      t[i].default_json = string_or_null (o, "default");
      t[i].min = bound (o, "min");
      t[i].max = bound (o, "max");
      t[i].choices = string_or_null (o, "choices");
      t[i].doc = string_or_null (o, "doc");
    }
  return t;
}

/* Every value read the way a plugin reads it: no critical may fire. */
static void
read_all (const LfParam *table, const LfParams *p)
{
  for (int r = 0; table[r].name != NULL; r++)
    {
      int64_t n = -1;
      const char *name = table[r].name;
      switch (table[r].type)
        {
        case LF_PARAM_BOOL: (void) lf_params_get_bool (p, name); break;
        case LF_PARAM_INT: (void) lf_params_get_int (p, name); break;
        case LF_PARAM_FLOAT:
          if (!isfinite (lf_params_get_float (p, name)))
            g_error ("%s is not finite", name);
          break;
        case LF_PARAM_STRING:
          if (lf_params_get_string (p, name) == NULL)
            g_error ("%s: no string", name);
          break;
        case LF_PARAM_JSON:
          if (lf_params_get_json (p, name) == NULL)
            g_error ("%s: no JSON", name);
          break;
        case LF_PARAM_INT_LIST: (void) lf_params_get_int_list (p, name, &n); break;
        case LF_PARAM_FLOAT_LIST: (void) lf_params_get_float_list (p, name, &n); break;
        case LF_PARAM_STRING_LIST:
          {
            const char *const *s = lf_params_get_string_list (p, name, &n);
            for (int64_t k = 0; k < n; k++)
              if (s[k] == NULL)
                g_error ("%s[%" G_GINT64_FORMAT "] is NULL", name, k);
            if (s[n] != NULL)
              g_error ("%s is not NULL-terminated", name);
          }
          break;
        default:
          g_error ("a table with type %d passed the check", (int) table[r].type);
        }
      (void) lf_params_is_set (p, name);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_init ();
  g_auto (GStrv) parts = fuzz_split (data, size, 2);
  g_autoptr (JsonParser) tp = json_parser_new ();
  if (!json_parser_load_from_data (tp, parts[0], -1, NULL) || json_parser_get_root (tp) == NULL
      || !JSON_NODE_HOLDS_ARRAY (json_parser_get_root (tp)))
    return 0;
  g_autofree LfParam *table = decode_table (json_node_get_array (json_parser_get_root (tp)));
  g_autoptr (GError) error = NULL;
  if (!lf_param_table_check (table, &error))
    {
      if (error == NULL)
        g_error ("lf_param_table_check failed without an error");
      return 0;
    }
  JsonObject *section = NULL;
  g_autoptr (JsonParser) cp = json_parser_new ();
  if (parts[1] != NULL && parts[1][0] != '\0')
    {
      if (!json_parser_load_from_data (cp, parts[1], -1, NULL) || json_parser_get_root (cp) == NULL
          || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (cp)))
        return 0;
      section = json_node_get_object (json_parser_get_root (cp));
    }
  static const char *const skip[] = { "name", NULL };
  g_autoptr (LfParams) p = lf_params_from_json (table, section, "strategy", skip, &error);
  if (p == NULL)
    {
      if (error == NULL)
        g_error ("lf_params_from_json failed without an error");
      return 0;
    }
  read_all (table, p);
  /* written out and validated again: the same values */
  g_autofree char *text = lf_params_to_json (p);
  g_autoptr (JsonNode) node = json_from_string (text, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    g_error ("lf_params_to_json wrote what does not read back: %s", text);
  g_autoptr (GError) again_error = NULL;
  g_autoptr (LfParams) again = lf_params_from_json (table, json_node_get_object (node), "strategy", skip, &again_error);
  if (again == NULL)
    g_error ("the resolved values do not validate: %s\n%s", again_error->message, text);
  g_autofree char *text2 = lf_params_to_json (again);
  if (strcmp (text, text2) != 0)
    g_error ("the resolved values change when read back:\n%s\n%s", text, text2);
  return 0;
}
