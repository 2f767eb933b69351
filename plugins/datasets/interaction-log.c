/* lifelong — reading a day's interaction log: JSON lines of prompts,
 * replies and corrections (docs/evolve.md). */
#include "interaction-log.h"
#include <json-glib/json-glib.h>
#include <string.h>

#define INTERACTION_MAX_BYTES 1000

void
interaction_turn_free (InteractionTurn *t)
{
  if (t == NULL)
    return;
  g_free (t->prompt);
  g_free (t->reply);
  g_free (t->correction);
  g_free (t);
}

static gboolean
log_fail (GError **error, const char *path, int64_t line, const char *fmt, ...) G_GNUC_PRINTF (4, 5);

static gboolean
log_fail (GError **error, const char *path, int64_t line, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s:%" G_GINT64_FORMAT ": %s", path, line, msg);
  return FALSE;
}

/* o.key as a checked text: NULL when absent (and not required) */
static gboolean
log_text (JsonObject *o, const char *key, gboolean required, gboolean answer, char **out, const char *path,
          int64_t line, GError **error)
{
  *out = NULL;
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL)
    return required ? log_fail (error, path, line, "field \"%s\": missing", key) : TRUE;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return log_fail (error, path, line, "field \"%s\": expected a string, got %s", key,
                     JSON_NODE_HOLDS_NULL (n) ? "null" : JSON_NODE_HOLDS_OBJECT (n) ? "an object"
                     : JSON_NODE_HOLDS_ARRAY (n) ? "an array" : "a number or boolean");
  const char *s = json_node_get_string (n);
  size_t len = strlen (s);
  /* json-glib lets a broken \u escape (a lone surrogate) through as bytes
   * that are not UTF-8: refuse them, every text is written back as JSON */
  if (!g_utf8_validate (s, (gssize) len, NULL))
    return log_fail (error, path, line, "field \"%s\": not valid UTF-8 (a broken \\u escape?)", key);
  if (len > INTERACTION_MAX_BYTES)
    return log_fail (error, path, line, "field \"%s\": %zu bytes, at most %d", key, len, INTERACTION_MAX_BYTES);
  if (!answer && len == 0)
    return log_fail (error, path, line, "field \"%s\": empty", key);
  if (strchr (s, '\n'))
    return log_fail (error, path, line, "field \"%s\": \"%s\" holds a newline (a %s is one line)", key, s,
                     answer ? "reply or correction" : "prompt");
  *out = g_strdup (s);
  return TRUE;
}

gboolean
interaction_log_read (const char *path, GPtrArray *turns, GError **error)
{
  g_autofree char *text = NULL;
  gsize len;
  if (!g_file_get_contents (path, &text, &len, error))
    return FALSE;
  if (memchr (text, '\0', len))
    {
      const char *z = memchr (text, '\0', len);
      int64_t line = 1;
      for (const char *c = text; c < z; c++)
        line += *c == '\n';
      return log_fail (error, path, line, "a NUL byte (not a text file)");
    }
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) interaction_turn_free);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (JsonParser) parser = json_parser_new ();
  for (int64_t i = 0; lines[i]; i++)
    {
      const int64_t ln = i + 1;
      g_strstrip (lines[i]);
      if (lines[i][0] == '\0')
        continue;
      /* json-glib would cut a string at an escaped NUL: refuse it first */
      for (const char *c = lines[i]; *c; c++)
        if (*c == '\\' && c[1] != '\0')
          {
            if (g_ascii_strncasecmp (c + 1, "u0000", 5) == 0)
              return log_fail (error, path, ln, "a string holds \\u0000 (a NUL character)");
            c++;
          }
      g_autoptr (GError) perr = NULL;
      if (!json_parser_load_from_data (parser, lines[i], -1, &perr))
        return log_fail (error, path, ln, "not JSON: %s", perr->message);
      JsonNode *root = json_parser_get_root (parser);
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        return log_fail (error, path, ln, "expected a JSON object {\"prompt\": ..., \"reply\": ..., "
                         "\"correction\": ...}");
      JsonObject *o = json_node_get_object (root);
      g_autoptr (GList) members = json_object_get_members (o);
      for (GList *m = members; m; m = m->next)
        if (!g_str_equal (m->data, "prompt") && !g_str_equal (m->data, "reply")
            && !g_str_equal (m->data, "correction"))
          return log_fail (error, path, ln, "field \"%s\": unknown (known: prompt, reply, correction)",
                           (const char *) m->data);
      InteractionTurn *t = g_new0 (InteractionTurn, 1);
      g_ptr_array_add (got, t);
      if (!log_text (o, "prompt", TRUE, FALSE, &t->prompt, path, ln, error)
          || !log_text (o, "reply", TRUE, TRUE, &t->reply, path, ln, error)
          || !log_text (o, "correction", FALSE, TRUE, &t->correction, path, ln, error))
        return FALSE;
      if (t->correction && t->correction[0] == '\0')
        return log_fail (error, path, ln, "field \"correction\": empty (leave it out when the reply was "
                         "accepted)");
      if (t->correction == NULL && t->reply[0] == '\0')
        return log_fail (error, path, ln, "field \"reply\": empty and not corrected (nothing to learn)");
    }
  if (got->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: no interaction (one JSON object per line)",
                   path);
      return FALSE;
    }
  for (guint i = 0; i < got->len; i++)
    g_ptr_array_add (turns, g_steal_pointer (&got->pdata[i]));
  return TRUE;
}
