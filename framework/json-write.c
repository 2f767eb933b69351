/* lifelong — writing JSON: json-glib's generator prints doubles with 17
 * digits (0.69 -> 0.68999999999999995) and, in 1.6, turns 1e+30 into the
 * invalid "1e+30.0".  Every file lifelong writes goes through this writer
 * instead: the shortest decimal that reads back to the same double, null
 * for non-finite numbers, and proper string escapes. */
#include "json-write.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void
lf_json_append_double (GString *out, double v)
{
  if (!isfinite (v))
    {
      g_string_append (out, "null");
      return;
    }
  char buf[40];
  for (int prec = 15; prec <= 17; prec++)
    {
      g_snprintf (buf, sizeof buf, "%.*g", prec, v);
      if (g_ascii_strtod (buf, NULL) == v)
        break;
    }
  /* "%g" may use the locale's decimal separator; JSON wants '.' */
  for (char *p = buf; *p; p++)
    if (*p == ',')
      *p = '.';
  g_string_append (out, buf);
}

static void
append_string (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    switch (*p)
      {
      case '"': g_string_append (out, "\\\""); break;
      case '\\': g_string_append (out, "\\\\"); break;
      case '\n': g_string_append (out, "\\n"); break;
      case '\r': g_string_append (out, "\\r"); break;
      case '\t': g_string_append (out, "\\t"); break;
      case '\b': g_string_append (out, "\\b"); break;
      case '\f': g_string_append (out, "\\f"); break;
      default:
        if (*p < 0x20)
          g_string_append_printf (out, "\\u%04x", *p);
        else
          g_string_append_c (out, (char) *p);
      }
  g_string_append_c (out, '"');
}

static void
indent (GString *out, int pretty, int depth)
{
  if (!pretty)
    return;
  g_string_append_c (out, '\n');
  for (int i = 0; i < depth; i++)
    g_string_append (out, "  ");
}

/* Arrays of numbers only stay on one line when pretty: matrices read well. */
static gboolean
flat_array (JsonArray *a)
{
  for (guint i = 0; i < json_array_get_length (a); i++)
    if (!JSON_NODE_HOLDS_VALUE (json_array_get_element (a, i)) && !JSON_NODE_HOLDS_NULL (json_array_get_element (a, i)))
      return FALSE;
  return TRUE;
}

static void
append_node (GString *out, JsonNode *n, int pretty, int depth)
{
  switch (json_node_get_node_type (n))
    {
    case JSON_NODE_NULL:
      g_string_append (out, "null");
      break;
    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (n))
        {
        case G_TYPE_INT64:
          g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (n));
          break;
        case G_TYPE_DOUBLE:
          lf_json_append_double (out, json_node_get_double (n));
          break;
        case G_TYPE_BOOLEAN:
          g_string_append (out, json_node_get_boolean (n) ? "true" : "false");
          break;
        case G_TYPE_STRING:
          append_string (out, json_node_get_string (n));
          break;
        default:
          g_string_append (out, "null");
        }
      break;
    case JSON_NODE_ARRAY:
      {
        JsonArray *a = json_node_get_array (n);
        guint len = json_array_get_length (a);
        gboolean flat = flat_array (a);
        g_string_append_c (out, '[');
        for (guint i = 0; i < len; i++)
          {
            if (i)
              g_string_append (out, flat && pretty ? ", " : ",");
            if (!flat)
              indent (out, pretty, depth + 1);
            append_node (out, json_array_get_element (a, i), pretty, depth + 1);
          }
        if (!flat && len)
          indent (out, pretty, depth);
        g_string_append_c (out, ']');
        break;
      }
    case JSON_NODE_OBJECT:
      {
        JsonObject *o = json_node_get_object (n);
        g_autoptr (GList) keys = json_object_get_members (o);
        g_string_append_c (out, '{');
        for (GList *l = keys; l; l = l->next)
          {
            if (l != keys)
              g_string_append_c (out, ',');
            indent (out, pretty, depth + 1);
            append_string (out, l->data);
            g_string_append (out, pretty ? ": " : ":");
            append_node (out, json_object_get_member (o, l->data), pretty, depth + 1);
          }
        if (keys)
          indent (out, pretty, depth);
        g_string_append_c (out, '}');
        break;
      }
    }
}

char *
lf_json_to_string (JsonNode *node, gboolean pretty)
{
  GString *out = g_string_new (NULL);
  append_node (out, node, pretty, 0);
  if (pretty)
    g_string_append_c (out, '\n');
  return g_string_free (out, FALSE);
}
