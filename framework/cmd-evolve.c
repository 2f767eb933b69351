/* lifelong — `lifelong evolve`: a personal model consolidated from a day's
 * interaction log into the next versioned snapshot ("day conversation,
 * night evolution"; docs/evolve.md).  The night's training is an ordinary
 * instruction-tuning run (lf_run) whose experiences are the days so far,
 * only the last one trained. */
#include "commands.h"
#include "config.h"
#include "json-write.h"
#include "model-dir.h"
#include "run.h"
#include "../plugins/datasets/interaction-log.h"
#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define EVOLVE_META          "evolve.json"
#define EVOLVE_REPORT        "report.md"
#define EVOLVE_STATE         "strategy-state.safetensors"
#define EVOLVE_RUN_CONFIG    "run-config.json"
#define EVOLVE_FORMAT        1
/* before every prompt: the task prefix ("name: ") lamol and ssr need */
#define EVOLVE_DEFAULT_PREFIX "user: "

static const char evolve_usage[] =
  "usage: lifelong evolve --model SNAPSHOT --log DAY.jsonl [--strategy NAME]\n"
  "                       [--set key.path=value]... [--major] [--seed S]\n"
  "                       [--threads N] [--show N] [--plugin-path DIR] [--quiet]\n"
  "       lifelong evolve --init --from MODEL_DIR --out PERSONAL [--prompt-prefix P]\n"
  "\n"
  "Consolidates a personal model snapshot (PERSONAL/vX.Y) with a day's\n"
  "interaction log (JSON lines {\"prompt\", \"reply\", \"correction\"?}) and writes\n"
  "the next version beside it (PERSONAL/vX.Y+1, or vX+1.0 with --major): the\n"
  "model, evolve.json (version, parent, the logs' digests, strategy, metrics),\n"
  "report.md, every day's log so far and the strategy's state.  The day trains\n"
  "on prompt -> correction (or the accepted reply), the loss on the answer only;\n"
  "earlier days are earlier experiences of the same run, so replay and\n"
  "regularization strategies keep them.  An existing version is never\n"
  "overwritten; nothing is written when anything fails.\n"
  "\n"
  "  --model DIR         the snapshot to evolve (PERSONAL/vX.Y)\n"
  "  --log FILE          the day's interaction log\n"
  "  --strategy NAME     the continual-learning strategy (default: the parent's,\n"
  "                      else er)\n"
  "  --set K=V           override the night's run config: strategy.buffer_size=50,\n"
  "                      train.epochs=20, train.lr=0.003, dataset.general_texts=32\n"
  "  --major             write v(X+1).0 instead of vX.(Y+1)\n"
  "  --seed S            the run's seed (default 0)\n"
  "  --threads N         threads (default 1)\n"
  "  --show N            changed answers listed in the summary (default 5)\n"
  "  --init --from DIR --out PERSONAL\n"
  "                      make PERSONAL/v1.0 from a model saved by\n"
  "                      `lifelong run --save-model DIR`; --prompt-prefix P goes\n"
  "                      before every prompt the model sees (default \"user: \")\n";

/* ---- snapshots ---- */

typedef struct {
  char       *dir;
  JsonObject *meta;       /* evolve.json */
  int64_t     major, minor;
  GPtrArray  *logs;       /* absolute paths of days 1..n, in order */
  JsonObject *lifelong;   /* config.json's lifelong member */
  const char *prefix;     /* evolve.json's prompt_prefix ("" when absent) */
} Snapshot;

static void
snapshot_free (Snapshot *s)
{
  if (s == NULL)
    return;
  g_free (s->dir);
  if (s->meta)
    json_object_unref (s->meta);
  if (s->logs)
    g_ptr_array_unref (s->logs);
  if (s->lifelong)
    json_object_unref (s->lifelong);
  g_free (s);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Snapshot, snapshot_free)

static gboolean
parse_version (const char *v, int64_t *major, int64_t *minor)
{
  char *end;
  if (v == NULL || !g_ascii_isdigit (v[0]))
    return FALSE;
  *major = g_ascii_strtoll (v, &end, 10);
  if (*end != '.' || !g_ascii_isdigit (end[1]))
    return FALSE;
  *minor = g_ascii_strtoll (end + 1, &end, 10);
  return *end == '\0' && *major >= 1 && *major < 1000000 && *minor >= 0 && *minor < 1000000;
}

static char *
file_sha256 (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len;
  if (!g_file_get_contents (path, &text, &len, error))
    return NULL;
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) text, len);
}

/* o.key when it is a string, else NULL (no GLib critical on other types) */
static const char *
member_string (JsonObject *o, const char *key)
{
  JsonNode *n = o ? json_object_get_member (o, key) : NULL;
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING ? json_node_get_string (n)
                                                                                         : NULL;
}

static gboolean
snap_fail (GError **error, const char *path, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static gboolean
snap_fail (GError **error, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT, "%s: %s (a truncated or corrupt snapshot?)", path,
               msg);
  return FALSE;
}

/* Opens and checks a snapshot: evolve.json's fields, every day's log
 * against its digest, the model's files. */
static Snapshot *
snapshot_open (const char *dir, GError **error)
{
  g_autoptr (Snapshot) s = g_new0 (Snapshot, 1);
  /* "P/v1.0/" is "P/v1.0": its versions' folder is P */
  s->dir = g_strdup (dir);
  for (size_t n = strlen (s->dir); n > 1 && s->dir[n - 1] == '/'; n--)
    s->dir[n - 1] = '\0';
  dir = s->dir;
  g_autofree char *mpath = g_build_filename (dir, EVOLVE_META, NULL);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "%s: no such snapshot folder", dir);
      return NULL;
    }
  if (!g_file_test (mpath, G_FILE_TEST_EXISTS))
    {
      snap_fail (error, mpath, "missing: not a snapshot (make v1.0 from a saved model with `lifelong evolve "
                 "--init --from DIR --out PERSONAL`)");
      return NULL;
    }
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) perr = NULL;
  if (!json_parser_load_from_file (p, mpath, &perr))
    {
      snap_fail (error, mpath, "not JSON: %s", perr->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (p);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      snap_fail (error, mpath, "not a JSON object");
      return NULL;
    }
  s->meta = json_object_ref (json_node_get_object (root));
  JsonNode *fv = json_object_get_member (s->meta, "format_version");
  if (fv == NULL || json_node_get_value_type (fv) != G_TYPE_INT64 || json_node_get_int (fv) < 1
      || json_node_get_int (fv) > EVOLVE_FORMAT)
    {
      snap_fail (error, mpath, "format_version: missing or not an integer in [1, %d]", EVOLVE_FORMAT);
      return NULL;
    }
  JsonNode *vn = json_object_get_member (s->meta, "version");
  const char *v = vn && JSON_NODE_HOLDS_VALUE (vn) && json_node_get_value_type (vn) == G_TYPE_STRING
                  ? json_node_get_string (vn) : NULL;
  if (!parse_version (v, &s->major, &s->minor))
    {
      snap_fail (error, mpath, "version: %s%s%s is not MAJOR.MINOR", v ? "\"" : "", v ? v : "missing", v ? "\"" : "");
      return NULL;
    }
  JsonNode *pn = json_object_get_member (s->meta, "prompt_prefix");
  if (pn && (!JSON_NODE_HOLDS_VALUE (pn) || json_node_get_value_type (pn) != G_TYPE_STRING
             || strchr (json_node_get_string (pn), '\n')))
    {
      snap_fail (error, mpath, "prompt_prefix: not a one-line string");
      return NULL;
    }
  s->prefix = pn ? json_node_get_string (pn) : "";
  JsonNode *dn = json_object_get_member (s->meta, "days");
  if (dn == NULL || !JSON_NODE_HOLDS_ARRAY (dn))
    {
      snap_fail (error, mpath, "days: missing or not an array");
      return NULL;
    }
  JsonArray *days = json_node_get_array (dn);
  s->logs = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < json_array_get_length (days); i++)
    {
      JsonNode *d = json_array_get_element (days, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (d) ? json_node_get_object (d) : NULL;
      const char *log = member_string (o, "log");
      const char *sha = member_string (o, "sha256");
      if (log == NULL || sha == NULL || strchr (log, '/') == NULL || strstr (log, ".."))
        {
          snap_fail (error, mpath, "days[%u]: expected {\"log\": \"logs/day-N.jsonl\", \"sha256\": ...}", i);
          return NULL;
        }
      g_autofree char *lp = g_build_filename (dir, log, NULL);
      g_autoptr (GError) lerr = NULL;
      g_autofree char *got = file_sha256 (lp, &lerr);
      if (got == NULL)
        {
          snap_fail (error, mpath, "days[%u].log: %s", i, lerr->message);
          return NULL;
        }
      if (!g_str_equal (got, sha))
        {
          snap_fail (error, lp, "sha256 %s, evolve.json's days[%u].sha256 says %s", got, i, sha);
          return NULL;
        }
      g_ptr_array_add (s->logs, g_steal_pointer (&lp));
    }
  JsonNode *sn = json_object_get_member (s->meta, "strategy");
  if (sn && !JSON_NODE_HOLDS_NULL (sn)
      && (!JSON_NODE_HOLDS_OBJECT (sn) || member_string (json_node_get_object (sn), "name") == NULL))
    {
      snap_fail (error, mpath, "strategy: not an object with a \"name\"");
      return NULL;
    }
  JsonNode *st = json_object_get_member (s->meta, "state");
  if (st && !JSON_NODE_HOLDS_NULL (st))
    {
      g_autofree char *sp = g_build_filename (dir, EVOLVE_STATE, NULL);
      if (!g_file_test (sp, G_FILE_TEST_EXISTS))
        {
          snap_fail (error, sp, "missing (evolve.json's state names it)");
          return NULL;
        }
    }
  g_autofree char *wpath = g_build_filename (dir, LF_MODEL_DIR_WEIGHTS, NULL);
  if (!g_file_test (wpath, G_FILE_TEST_EXISTS))
    {
      snap_fail (error, wpath, "missing");
      return NULL;
    }
  g_autoptr (GError) lerr = NULL;
  s->lifelong = lf_model_dir_lifelong (dir, &lerr);
  if (s->lifelong == NULL)
    {
      if (lerr)
        g_propagate_error (error, g_steal_pointer (&lerr));
      else
        {
          g_autofree char *cp = g_build_filename (dir, LF_MODEL_DIR_CONFIG, NULL);
          snap_fail (error, cp, "missing or without its \"lifelong\" member");
        }
      return NULL;
    }
  JsonNode *mn = json_object_get_member (s->lifelong, "model");
  if (mn == NULL || !JSON_NODE_HOLDS_OBJECT (mn) || member_string (json_node_get_object (mn), "name") == NULL)
    {
      g_autofree char *cp = g_build_filename (dir, LF_MODEL_DIR_CONFIG, NULL);
      snap_fail (error, cp, "lifelong.model with a \"name\" is missing");
      return NULL;
    }
  return g_steal_pointer (&s);
}

/* ---- writing ---- */

static gboolean
copy_file (const char *from, const char *to, GError **error)
{
  g_autofree char *text = NULL;
  gsize len;
  if (!g_file_get_contents (from, &text, &len, error))
    return FALSE;
  return g_file_set_contents (to, text, (gssize) len, error);
}

static void
remove_tree (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  if (d)
    {
      const char *n;
      while ((n = g_dir_read_name (d)))
        {
          g_autofree char *p = g_build_filename (dir, n, NULL);
          if (g_file_test (p, G_FILE_TEST_IS_DIR) && !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
            remove_tree (p);
          else
            g_unlink (p);
        }
      g_dir_close (d);
    }
  g_rmdir (dir);
}

static gboolean
write_json (const char *path, JsonObject *o, GError **error)
{
  g_autoptr (JsonNode) n = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (n, o);
  g_autofree char *text = lf_json_to_string (n, TRUE);
  return lf_write_file_atomic (path, text, strlen (text), error);
}

/* A temporary folder beside target, for a version written whole then
 * renamed into place. */
static char *
make_temp_beside (const char *target, GError **error)
{
  g_autofree char *parent = g_path_get_dirname (target);
  g_autofree char *base = g_path_get_basename (target);
  if (g_mkdir_with_parents (parent, 0755) != 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "%s: cannot make the folder: %s", parent,
                   g_strerror (errno));
      return NULL;
    }
  char *tmp = g_strdup_printf ("%s/.%s.tmp-XXXXXX", parent, base);
  if (g_mkdtemp (tmp) == NULL)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "%s: cannot make a temporary folder: %s", parent,
                   g_strerror (errno));
      g_free (tmp);
      return NULL;
    }
  return tmp;
}

static gboolean
refuse_existing (const char *target, GError **error)
{
  if (!g_file_test (target, G_FILE_TEST_EXISTS))
    return TRUE;
  g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "%s exists: a version is never overwritten (evolve the "
               "latest version, or use --major for a new major one)", target);
  return FALSE;
}

/* Renames the finished temporary folder to target. */
static gboolean
publish (const char *tmp, const char *target, GError **error)
{
  if (!refuse_existing (target, error))
    return FALSE;
  if (g_rename (tmp, target) != 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "cannot rename %s to %s: %s", tmp, target,
                   g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

static char *
now_iso (void)
{
  g_autoptr (GDateTime) t = g_date_time_new_now_utc ();
  return g_date_time_format (t, "%Y-%m-%dT%H:%M:%SZ");
}

/* ---- --init ---- */

static int
evolve_init (const char *from, const char *out, const char *prompt_prefix)
{
  g_autoptr (GError) error = NULL;
  if (from == NULL || out == NULL)
    {
      fprintf (stderr, "lifelong evolve --init: needs --from MODEL_DIR and --out PERSONAL\n");
      return 2;
    }
  if (strchr (prompt_prefix, '\n') || !g_utf8_validate (prompt_prefix, -1, NULL))
    {
      fprintf (stderr, "lifelong evolve --init: --prompt-prefix \"%s\": must be one line of UTF-8 text\n",
               prompt_prefix);
      return 2;
    }
  g_autoptr (JsonObject) lo = lf_model_dir_lifelong (from, &error);
  g_autofree char *wpath = g_build_filename (from, LF_MODEL_DIR_WEIGHTS, NULL);
  g_autofree char *cpath = g_build_filename (from, LF_MODEL_DIR_CONFIG, NULL);
  if (lo == NULL || !g_file_test (wpath, G_FILE_TEST_EXISTS))
    {
      fprintf (stderr, "lifelong evolve --init: %s\n", error ? error->message
               : "--from: not a model saved by `lifelong run --save-model DIR` (config.json with its "
                 "\"lifelong\" member and model.safetensors)");
      return 1;
    }
  const char *tok = json_object_has_member (lo, "tokenizer") && !json_object_get_null_member (lo, "tokenizer")
                    ? json_object_get_string_member (lo, "tokenizer") : NULL;
  if (g_strcmp0 (tok, "bytes") != 0)
    {
      fprintf (stderr, "lifelong evolve --init: %s: lifelong.tokenizer is not \"bytes\": a personal model is a "
               "byte-level language model\n", cpath);
      return 1;
    }
  g_autofree char *target = g_build_filename (out, "v1.0", NULL);
  if (!refuse_existing (target, &error))
    {
      fprintf (stderr, "lifelong evolve --init: %s\n", error->message);
      return 1;
    }
  g_autofree char *tmp = make_temp_beside (target, &error);
  if (tmp == NULL)
    {
      fprintf (stderr, "lifelong evolve --init: %s\n", error->message);
      return 1;
    }
  g_autofree char *tw = g_build_filename (tmp, LF_MODEL_DIR_WEIGHTS, NULL);
  g_autofree char *tc = g_build_filename (tmp, LF_MODEL_DIR_CONFIG, NULL);
  g_autofree char *tm = g_build_filename (tmp, EVOLVE_META, NULL);
  g_autofree char *tl = g_build_filename (tmp, "logs", NULL);
  g_autofree char *when = now_iso ();
  g_autoptr (JsonObject) meta = json_object_new ();
  json_object_set_int_member (meta, "format_version", EVOLVE_FORMAT);
  json_object_set_string_member (meta, "version", "1.0");
  json_object_set_null_member (meta, "parent");
  json_object_set_string_member (meta, "from", from);
  json_object_set_string_member (meta, "created", when);
  json_object_set_array_member (meta, "days", json_array_new ());
  json_object_set_null_member (meta, "state");
  json_object_set_string_member (meta, "prompt_prefix", prompt_prefix);
  gboolean ok = copy_file (wpath, tw, &error) && copy_file (cpath, tc, &error) && write_json (tm, meta, &error);
  if (ok && g_mkdir (tl, 0755) != 0)
    {
      g_set_error (&error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "%s: %s", tl, g_strerror (errno));
      ok = FALSE;
    }
  ok = ok && publish (tmp, target, &error);
  if (!ok)
    {
      remove_tree (tmp);
      fprintf (stderr, "lifelong evolve --init: %s\n", error->message);
      return 1;
    }
  printf ("%s: version 1.0 from %s\n", target, from);
  return 0;
}

/* ---- the report ---- */

typedef struct {
  const char *key;        /* the prompt as generated from: prefix, question, "\n" */
  char       *prompt;     /* the question */
  const char *reference, *before, *after;
  int64_t     day;        /* 1-based */
} Item;

typedef struct {
  int64_t n, before, after;
} Count;

static JsonObject *
count_json (const Count *c)
{
  JsonObject *o = json_object_new ();
  json_object_set_int_member (o, "count", c->n);
  json_object_set_int_member (o, "answered_before", c->before);
  json_object_set_int_member (o, "answered_after", c->after);
  if (c->n > 0)
    {
      json_object_set_double_member (o, "exact_match_before", (double) c->before / (double) c->n);
      json_object_set_double_member (o, "exact_match_after", (double) c->after / (double) c->n);
    }
  else
    {
      json_object_set_null_member (o, "exact_match_before");
      json_object_set_null_member (o, "exact_match_after");
    }
  return o;
}

static void
count_add (Count *c, const Item *it)
{
  c->n++;
  c->before += g_str_equal (it->before, it->reference);
  c->after += g_str_equal (it->after, it->reference);
}

static double
json_num (JsonObject *o, const char *key)
{
  JsonNode *n = o ? json_object_get_member (o, key) : NULL;
  return n && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_double (n) : NAN;
}

static void
set_number (JsonObject *o, const char *key, double v)
{
  if (isfinite (v))
    json_object_set_double_member (o, key, v);
  else
    json_object_set_null_member (o, key);
}

/* A model's text for display: control bytes as '?' */
static char *
shown (const char *s)
{
  char *t = g_strdup (s);
  for (char *c = t; *c; c++)
    if ((unsigned char) *c < 32 || *c == 127)
      *c = '?';
  return t;
}

static void
md_escape (GString *md, const char *text)
{
  g_autofree char *s = shown (text);
  g_string_append_c (md, '`');
  for (const char *c = s; *c; c++)
    if (*c == '`')
      g_string_append (md, "'");
    else if (*c == '|')
      g_string_append (md, "\\|");
    else
      g_string_append_c (md, *c);
  g_string_append_c (md, '`');
}

static void
md_pct (GString *md, const Count *c, gboolean after)
{
  if (c->n == 0)
    g_string_append (md, "–");
  else
    g_string_append_printf (md, "%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT " (%.2f)", after ? c->after : c->before,
                            c->n, (double) (after ? c->after : c->before) / (double) c->n);
}

/* Everything the report says, from the run's result: the generations of
 * every day's items by the parent (before) and the new version (after). */
static gboolean
build_report (JsonObject *result, const char *prefix, GPtrArray *today, int64_t n_days, const char *parent_v, const char *new_v,
              int64_t show, JsonObject *meta, GString *md, GString *summary, GError **error)
{
  JsonObject *ins = json_object_has_member (result, "instruction")
                    ? json_object_get_object_member (result, "instruction") : NULL;
  JsonArray *gens = ins && json_object_has_member (ins, "generations")
                    ? json_object_get_array_member (ins, "generations") : NULL;
  if (gens == NULL)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_PLUGIN, "the night's run gave no generations");
      return FALSE;
    }
  const guint ng = json_array_get_length (gens);
  g_autofree Item *items = g_new0 (Item, MAX (ng, 1));
  g_autoptr (GPtrArray) owned = g_ptr_array_new_with_free_func (g_free);
  /* the facts: each prompt's latest day */
  g_autoptr (GHashTable) latest = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < ng; i++)
    {
      JsonObject *g = json_array_get_object_element (gens, i);
      Item *it = &items[i];
      const char *task = json_object_get_string_member (g, "task");
      it->day = task && g_str_has_prefix (task, "day-") ? g_ascii_strtoll (task + 4, NULL, 10) : 0;
      it->key = json_object_get_string_member (g, "prompt");
      it->reference = json_object_get_string_member (g, "reference");
      it->before = json_object_get_string_member (g, "before");
      it->after = json_object_get_string_member (g, "after");
      if (!it->key || !it->reference || !it->before || !it->after || it->day < 1 || it->day > n_days
          || !g_str_has_suffix (it->key, "\n") || !g_str_has_prefix (it->key, prefix)
          || strlen (it->key) < strlen (prefix) + 1)
        {
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_PLUGIN, "the night's run: generations[%u] is not a "
                       "day's item", i);
          return FALSE;
        }
      it->prompt = g_strndup (it->key + strlen (prefix), strlen (it->key) - strlen (prefix) - 1);
      g_ptr_array_add (owned, it->prompt);
      g_hash_table_insert (latest, (gpointer) it->key, it);
    }
  g_autoptr (GHashTable) corrected = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < today->len; i++)
    {
      InteractionTurn *t = today->pdata[i];
      g_autofree char *key = g_strconcat (prefix, t->prompt, "\n", NULL);
      Item *it = g_hash_table_lookup (latest, key);
      /* the day's last word on a prompt decides (a later accepted reply
       * of the same prompt confirms, it does not correct) */
      if (it && it->day == n_days)
        {
          if (t->correction)
            g_hash_table_insert (corrected, (gpointer) it->key, it);
          else
            g_hash_table_remove (corrected, it->key);
        }
    }
  Count c_corr = { 0 }, c_today = { 0 }, c_facts = { 0 }, c_earlier = { 0 };
  g_autoptr (GPtrArray) changed = g_ptr_array_new ();
  for (guint i = 0; i < ng; i++)
    {
      Item *it = &items[i];
      if (g_hash_table_lookup (latest, it->key) != it)
        continue;   /* a fact retaught later: its latest answer counts */
      count_add (&c_facts, it);
      if (it->day == n_days)
        count_add (&c_today, it);
      else
        count_add (&c_earlier, it);
      if (g_hash_table_contains (corrected, it->key))
        count_add (&c_corr, it);
      if (!g_str_equal (it->before, it->after))
        g_ptr_array_add (changed, it);
    }
  const double gl_before = json_num (ins, "general_loss_before");
  JsonArray *gla = json_object_has_member (ins, "general_loss") ? json_object_get_array_member (ins, "general_loss")
                                                                : NULL;
  const double gl_after = gla && json_array_get_length (gla) > 0
                          ? json_node_get_double (json_array_get_element (gla, json_array_get_length (gla) - 1))
                          : NAN;

  JsonObject *m = json_object_new ();
  json_object_set_object_member (m, "corrected_today", count_json (&c_corr));
  json_object_set_object_member (m, "today", count_json (&c_today));
  json_object_set_object_member (m, "facts", count_json (&c_facts));
  json_object_set_object_member (m, "earlier_facts", count_json (&c_earlier));
  set_number (m, "general_loss_before", gl_before);
  set_number (m, "general_loss_after", gl_after);
  if (isfinite (gl_before) && isfinite (gl_after))
    json_object_set_double_member (m, "general_loss_delta", gl_after - gl_before);
  else
    json_object_set_null_member (m, "general_loss_delta");
  json_object_set_int_member (m, "changed", changed->len);
  json_object_set_object_member (meta, "metrics", m);
  JsonArray *ch = json_array_new ();
  for (guint i = 0; i < changed->len; i++)
    {
      Item *it = changed->pdata[i];
      JsonObject *o = json_object_new ();
      json_object_set_string_member (o, "prompt", it->prompt);
      json_object_set_int_member (o, "day", it->day);
      json_object_set_string_member (o, "expected", it->reference);
      json_object_set_string_member (o, "before", it->before);
      json_object_set_string_member (o, "after", it->after);
      json_array_add_object_element (ch, o);
    }
  json_object_set_array_member (meta, "changes", ch);

  g_string_append_printf (md, "# Personal model v%s (from v%s)\n\n", new_v, parent_v);
  g_string_append_printf (md, "Day %" G_GINT64_FORMAT ": %u interactions, %u corrected prompts.\n\n", n_days,
                          today->len, g_hash_table_size (corrected));
  g_string_append_printf (md, "| | v%s (before) | v%s (after) |\n|---|---:|---:|\n", parent_v, new_v);
  const struct { const char *what; const Count *c; } rows[] = {
    { "learned: today's corrected prompts answered", &c_corr },
    { "today's prompts answered", &c_today },
    { "kept: earlier days' facts answered", &c_earlier },
    { "all facts taught so far answered", &c_facts },
  };
  for (guint r = 0; r < G_N_ELEMENTS (rows); r++)
    {
      g_string_append_printf (md, "| %s | ", rows[r].what);
      md_pct (md, rows[r].c, FALSE);
      g_string_append (md, " | ");
      md_pct (md, rows[r].c, TRUE);
      g_string_append (md, " |\n");
    }
  g_string_append_printf (md, "| kept: general loss on held-out text (nats/token) | %.3f | %.3f |\n\n", gl_before,
                          gl_after);
  g_string_append_printf (md, "## What changed (%u answers)\n\n", changed->len);
  if (changed->len > 0)
    {
      g_string_append_printf (md, "| day | prompt | expected | v%s | v%s |\n|---:|---|---|---|---|\n", parent_v,
                              new_v);
      for (guint i = 0; i < changed->len; i++)
        {
          Item *it = changed->pdata[i];
          g_string_append_printf (md, "| %" G_GINT64_FORMAT " | ", it->day);
          md_escape (md, it->prompt);
          g_string_append (md, " | ");
          md_escape (md, it->reference);
          g_string_append (md, " | ");
          md_escape (md, it->before);
          g_string_append (md, " | ");
          md_escape (md, it->after);
          g_string_append (md, " |\n");
        }
    }

  g_string_append_printf (summary, "v%s -> v%s (day %" G_GINT64_FORMAT ")\n", parent_v, new_v, n_days);
  for (guint r = 0; r < G_N_ELEMENTS (rows); r++)
    {
      g_string_append_printf (summary, "  %-46s ", rows[r].what);
      md_pct (summary, rows[r].c, FALSE);
      g_string_append (summary, " -> ");
      md_pct (summary, rows[r].c, TRUE);
      g_string_append_c (summary, '\n');
    }
  g_string_append_printf (summary, "  %-46s %.3f -> %.3f\n", "general loss (held-out text)", gl_before, gl_after);
  g_string_append_printf (summary, "  changed answers: %u\n", changed->len);
  for (guint i = 0; i < changed->len && (int64_t) i < show; i++)
    {
      Item *it = changed->pdata[i];
      g_autofree char *b = shown (it->before), *af = shown (it->after);
      g_string_append_printf (summary, "    %s  [%s] -> [%s]  (expected [%s])\n", it->prompt, b, af, it->reference);
    }
  return TRUE;
}

/* ---- evolve ---- */

typedef struct {
  const char *model, *log, *strategy, *plugin_path;
  GPtrArray  *sets;
  gboolean    major, quiet;
  int64_t     seed, threads, show;
} EvolveArgs;

/* The night's run config: the parent's model, the days' logs, the
 * instruction-tuning scenario, the strategy, sane defaults for training. */
/* Whether the strategy declares that it changes the model's structure
 * (LF_TOUCHES_STRUCTURE); FALSE when it is not found (the run reports it). */
static gboolean
strategy_changes_structure (const EvolveArgs *a, const char *strategy)
{
  g_autoptr (LfPluginRegistry) reg = lf_registry_new ();
  g_auto (GStrv) dirs = lf_plugin_search_path (a->plugin_path);
  g_autoptr (GError) scan_error = NULL;
  if (!lf_registry_scan (reg, (const char *const *) dirs, &scan_error))
    g_debug ("plugin scan: %s", scan_error ? scan_error->message : "");
  const LfPluginInfo *info = lf_registry_find (reg, LF_PLUGIN_STRATEGY, strategy);
  return info && info->caps && (info->caps->touches & LF_TOUCHES_STRUCTURE);
}

static JsonObject *
night_config (const EvolveArgs *a, Snapshot *par, GPtrArray *logs, const char *strategy)
{
  JsonObject *cfg = json_object_new ();
  JsonObject *model = json_object_new ();
  JsonObject *pm = json_object_get_object_member (par->lifelong, "model");
  g_autoptr (GList) keys = json_object_get_members (pm);
  for (GList *k = keys; k; k = k->next)
    json_object_set_member (model, k->data, json_node_copy (json_object_get_member (pm, k->data)));
  json_object_set_string_member (model, "checkpoint", par->dir);
  json_object_set_object_member (cfg, "model", model);
  JsonObject *st = json_object_new ();
  json_object_set_string_member (st, "name", strategy);
  /* the parent's strategy settings carry over when the strategy does */
  JsonObject *ps = json_object_has_member (par->meta, "strategy")
                   && JSON_NODE_HOLDS_OBJECT (json_object_get_member (par->meta, "strategy"))
                   ? json_object_get_object_member (par->meta, "strategy") : NULL;
  if (ps && g_strcmp0 (member_string (ps, "name"), strategy) == 0)
    {
      g_autoptr (GList) sk = json_object_get_members (ps);
      for (GList *k = sk; k; k = k->next)
        json_object_set_member (st, k->data, json_node_copy (json_object_get_member (ps, k->data)));
    }
  json_object_set_object_member (cfg, "strategy", st);
  JsonObject *ds = json_object_new ();
  json_object_set_string_member (ds, "name", "instructions");
  JsonArray *la = json_array_new ();
  for (guint i = 0; i < logs->len; i++)
    json_array_add_string_element (la, logs->pdata[i]);
  json_object_set_array_member (ds, "logs", la);
  json_object_set_int_member (ds, "general_texts", 32);
  json_object_set_string_member (ds, "log_prefix", par->prefix);
  json_object_set_object_member (cfg, "dataset", ds);
  JsonObject *sc = json_object_new ();
  json_object_set_string_member (sc, "type", "instruction-tuning");
  int64_t context = json_object_has_member (par->lifelong, "context")
                    ? json_object_get_int_member (par->lifelong, "context") : 64;
  json_object_set_int_member (sc, "context", context);
  json_object_set_int_member (sc, "generations", 1000);
  json_object_set_object_member (cfg, "scenario", sc);
  JsonObject *tr = json_object_new ();
  json_object_set_int_member (tr, "epochs", 40);
  json_object_set_int_member (tr, "batch_size", 8);
  json_object_set_string_member (tr, "optimizer", "adam");
  json_object_set_double_member (tr, "lr", 0.001);
  json_object_set_double_member (tr, "clip", 1.0);
  json_object_set_object_member (cfg, "train", tr);
  json_object_set_int_member (cfg, "seed", a->seed);
  json_object_set_int_member (cfg, "threads", a->threads);
  return cfg;
}

static gboolean
evolve (const EvolveArgs *a, GError **error)
{
  g_autoptr (Snapshot) par = snapshot_open (a->model, error);
  if (par == NULL)
    return FALSE;
  /* the day's log first: a malformed one stops everything */
  g_autoptr (GPtrArray) today = g_ptr_array_new_with_free_func ((GDestroyNotify) interaction_turn_free);
  if (!interaction_log_read (a->log, today, error))
    return FALSE;
  const int64_t n_days = (int64_t) par->logs->len + 1;
  const int64_t major = a->major ? par->major + 1 : par->major, minor = a->major ? 0 : par->minor + 1;
  g_autofree char *parent_v = g_strdup_printf ("%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT, par->major, par->minor);
  g_autofree char *new_v = g_strdup_printf ("%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT, major, minor);
  g_autofree char *root = g_path_get_dirname (par->dir);
  g_autofree char *vname = g_strdup_printf ("v%s", new_v);
  g_autofree char *target = g_build_filename (root, vname, NULL);
  if (!refuse_existing (target, error))
    return FALSE;
  JsonObject *pst = json_object_has_member (par->meta, "strategy")
                    && JSON_NODE_HOLDS_OBJECT (json_object_get_member (par->meta, "strategy"))
                    ? json_object_get_object_member (par->meta, "strategy") : NULL;
  const char *parent_strategy = member_string (pst, "name");
  const char *strategy = a->strategy ? a->strategy : parent_strategy ? parent_strategy : "er";

  g_autofree char *tmp = make_temp_beside (target, error);
  if (tmp == NULL)
    return FALSE;
  gboolean ok = TRUE;
  g_autofree char *logdir = g_build_filename (tmp, "logs", NULL);
  g_autoptr (GPtrArray) logs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (JsonArray) days = json_array_new ();
  if (g_mkdir (logdir, 0755) != 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "%s: %s", logdir, g_strerror (errno));
      ok = FALSE;
    }
  for (int64_t d = 0; ok && d < n_days; d++)
    {
      const char *from = d + 1 < n_days ? par->logs->pdata[d] : a->log;
      g_autofree char *rel = g_strdup_printf ("logs/day-%03" G_GINT64_FORMAT ".jsonl", d + 1);
      g_autofree char *to = g_build_filename (tmp, rel, NULL);
      ok = copy_file (from, to, error);
      g_autofree char *sha = ok ? file_sha256 (to, error) : NULL;
      ok = ok && sha != NULL;
      if (!ok)
        break;
      JsonObject *o = json_object_new ();
      json_object_set_string_member (o, "log", rel);
      json_object_set_string_member (o, "sha256", sha);
      if (d + 1 == n_days)
        {
          json_object_set_string_member (o, "source", a->log);
          int64_t nc = 0;
          for (guint i = 0; i < today->len; i++)
            nc += ((InteractionTurn *) today->pdata[i])->correction != NULL;
          json_object_set_int_member (o, "turns", today->len);
          json_object_set_int_member (o, "corrections", nc);
        }
      else
        {
          /* the parent's record of the day, as it was */
          JsonArray *pd = json_object_get_array_member (par->meta, "days");
          JsonObject *po = json_array_get_object_element (pd, (guint) d);
          g_autoptr (GList) keys = json_object_get_members (po);
          for (GList *k = keys; k; k = k->next)
            if (!json_object_has_member (o, k->data))
              json_object_set_member (o, k->data, json_node_copy (json_object_get_member (po, k->data)));
        }
      json_array_add_object_element (days, o);
      /* the night's run reads the logs where they stay: the parent's
       * (checked against their digests) and today's file */
      g_ptr_array_add (logs, g_strdup (from));
    }

  /* the night's run, its config kept in the snapshot */
  g_autofree char *cfg_path = g_build_filename (tmp, EVOLVE_RUN_CONFIG, NULL);
  g_autofree char *state_out = g_build_filename (tmp, EVOLVE_STATE, NULL);
  g_autofree char *state_in = g_build_filename (par->dir, EVOLVE_STATE, NULL);
  g_autofree char *result_text = NULL;
  g_autoptr (JsonObject) cfg = NULL;
  if (ok)
    {
      cfg = night_config (a, par, logs, strategy);
      for (guint i = 0; ok && i < a->sets->len; i++)
        ok = lf_config_set (cfg, a->sets->pdata[i], error);
      ok = ok && write_json (cfg_path, cfg, error);
    }
  /* a strategy that changes the model's structure (the LoRA family) leaves
   * a plain model (its adapters folded in, below): its state describes
   * modules the next night's model no longer has, so it starts afresh */
  gboolean carry = parent_strategy && g_str_equal (parent_strategy, strategy)
                   && g_file_test (state_in, G_FILE_TEST_EXISTS) && !strategy_changes_structure (a, strategy);
  if (ok)
    {
      const char *const none[] = { NULL };   /* the sets are in the written config already */
      LfRunOptions o = {
        .config_path = cfg_path, .sets = none, .plugin_path = a->plugin_path, .quiet = a->quiet,
        .save_model_dir = tmp, .first_experience = n_days - 1,
        .state_in = carry ? state_in : NULL, .state_in_experiences = n_days - 1, .state_out = state_out,
        .save_model_plain = TRUE,
      };
      ok = lf_run (&o, &result_text, error);
      if (!ok)
        g_prefix_error (error, "the night's run (%s): ", cfg_path);
    }
  if (ok)
    {
      /* the new version must load as a plain model, the next night's
       * start: a strategy that changed the tree (LoRA, adapters, prompts)
       * saved modules a fresh model does not have */
      g_autoptr (LfPluginRegistry) reg = lf_registry_new ();
      g_autoptr (GError) lerr = NULL;
      LfModel *m = lf_model_dir_open (tmp, a->plugin_path, reg, &lerr);
      if (m == NULL)
        {
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "strategy %s changed the model's structure, so "
                       "the new version would not load as a plain %s (%s); a personal model stays one: use a "
                       "strategy that leaves the structure alone (naive, er, ewc, lwf, si, agem, lamol, ssr, ...) "
                       "or one of the LoRA family (lora, o-lora, inflora: their adapters are merged into the weights)",
                       strategy, member_string (json_object_get_object_member (par->lifelong, "model"), "name"),
                       lerr->message);
          ok = FALSE;
        }
      else
        lf_model_free (m);
    }
  g_autoptr (JsonParser) rp = json_parser_new ();
  JsonObject *result = NULL;
  if (ok)
    {
      ok = json_parser_load_from_data (rp, result_text, -1, error);
      result = ok ? json_node_get_object (json_parser_get_root (rp)) : NULL;
    }
  g_autoptr (JsonObject) meta = json_object_new ();
  g_autoptr (GString) md = g_string_new (NULL);
  g_autoptr (GString) summary = g_string_new (NULL);
  if (ok)
    {
      g_autofree char *when = now_iso ();
      JsonObject *last = json_array_get_object_element (days, json_array_get_length (days) - 1);
      const char *digest = json_object_get_string_member (last, "sha256");
      json_object_set_int_member (meta, "format_version", EVOLVE_FORMAT);
      json_object_set_string_member (meta, "version", new_v);
      json_object_set_string_member (meta, "parent", parent_v);
      json_object_set_string_member (meta, "parent_dir", par->dir);
      json_object_set_string_member (meta, "prompt_prefix", par->prefix);
      json_object_set_string_member (meta, "created", when);
      json_object_set_string_member (meta, "log_sha256", digest);
      json_object_set_array_member (meta, "days", json_array_ref (days));
      JsonObject *rc = json_object_get_object_member (result, "config");
      json_object_set_member (meta, "strategy", json_node_copy (json_object_get_member (rc, "strategy")));
      json_object_set_member (meta, "train", json_node_copy (json_object_get_member (rc, "train")));
      json_object_set_member (meta, "seed", json_node_copy (json_object_get_member (rc, "seed")));
      json_object_set_string_member (meta, "state", EVOLVE_STATE);
      json_object_set_boolean_member (meta, "state_carried", carry);
      json_object_set_string_member (meta, "run_config", EVOLVE_RUN_CONFIG);
      if (json_object_has_member (result, "time_s"))
        json_object_set_member (meta, "time_s", json_node_copy (json_object_get_member (result, "time_s")));
      ok = build_report (result, par->prefix, today, n_days, parent_v, new_v, a->show, meta, md, summary, error);
    }
  if (ok)
    {
      g_autofree char *mp = g_build_filename (tmp, EVOLVE_META, NULL);
      g_autofree char *rp_ = g_build_filename (tmp, EVOLVE_REPORT, NULL);
      g_autofree char *res = g_build_filename (tmp, "night-result.json", NULL);
      ok = write_json (mp, meta, error) && lf_write_file_atomic (rp_, md->str, md->len, error)
           && lf_write_file_atomic (res, result_text, strlen (result_text), error);
    }
  ok = ok && publish (tmp, target, error);
  if (!ok)
    {
      remove_tree (tmp);
      return FALSE;
    }
  fputs (summary->str, stdout);
  printf ("written: %s\n", target);
  return TRUE;
}

int
lf_cmd_evolve (int argc, char **argv)
{
  g_autoptr (GPtrArray) sets = g_ptr_array_new ();
  g_autoptr (GPtrArray) paths = g_ptr_array_new ();
  EvolveArgs a = { .sets = sets, .seed = 0, .threads = 1, .show = 5 };
  gboolean init = FALSE;
  const char *from = NULL, *out = NULL, *prompt_prefix = NULL;
  for (int i = 1; i < argc; i++)
    {
      const char *s = argv[i];
      gboolean has_val = i + 1 < argc;
      if (g_str_equal (s, "--help") || g_str_equal (s, "-h"))
        {
          fputs (evolve_usage, stdout);
          return 0;
        }
      else if (g_str_equal (s, "--model") && has_val)
        a.model = argv[++i];
      else if (g_str_equal (s, "--log") && has_val)
        a.log = argv[++i];
      else if (g_str_equal (s, "--strategy") && has_val)
        a.strategy = argv[++i];
      else if (g_str_equal (s, "--set") && has_val)
        g_ptr_array_add (sets, argv[++i]);
      else if (g_str_equal (s, "--plugin-path") && has_val)
        g_ptr_array_add (paths, argv[++i]);
      else if (g_str_equal (s, "--from") && has_val)
        from = argv[++i];
      else if (g_str_equal (s, "--out") && has_val)
        out = argv[++i];
      else if (g_str_equal (s, "--prompt-prefix") && has_val)
        prompt_prefix = argv[++i];
      else if (g_str_equal (s, "--seed") && has_val)
        {
          if (!lf_cli_parse_int ("evolve", s, argv[++i], 0, G_MAXINT64, &a.seed))
            return 2;
        }
      else if (g_str_equal (s, "--threads") && has_val)
        {
          if (!lf_cli_parse_int ("evolve", s, argv[++i], 1, 256, &a.threads))
            return 2;
        }
      else if (g_str_equal (s, "--show") && has_val)
        {
          if (!lf_cli_parse_int ("evolve", s, argv[++i], 0, 1000000, &a.show))
            return 2;
        }
      else if (g_str_equal (s, "--major"))
        a.major = TRUE;
      else if (g_str_equal (s, "--init"))
        init = TRUE;
      else if (g_str_equal (s, "--quiet"))
        a.quiet = TRUE;
      else
        {
          fprintf (stderr, "lifelong evolve: unknown option or argument %s%s\n%s", s,
                   s[0] == '-' && !has_val ? " (or its value is missing)" : "", evolve_usage);
          return 2;
        }
    }
  if (init)
    return evolve_init (from, out, prompt_prefix ? prompt_prefix : EVOLVE_DEFAULT_PREFIX);
  if (prompt_prefix)
    {
      fprintf (stderr, "lifelong evolve: --prompt-prefix goes with --init (a snapshot keeps its own)\n");
      return 2;
    }
  if (a.model == NULL || a.log == NULL || from || out)
    {
      fprintf (stderr, "lifelong evolve: needs --model SNAPSHOT and --log DAY.jsonl (--from and --out go with "
               "--init)\n%s", evolve_usage);
      return 2;
    }
  g_ptr_array_add (paths, NULL);
  g_autofree char *joined = g_strjoinv (":", (char **) paths->pdata);
  a.plugin_path = paths->len > 1 ? joined : NULL;
  g_autoptr (GError) error = NULL;
  if (!evolve (&a, &error))
    {
      fprintf (stderr, "lifelong evolve: %s\n", error->message);
      return 1;
    }
  return 0;
}
