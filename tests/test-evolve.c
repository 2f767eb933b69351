/* lifelong tests — `lifelong evolve` and `lifelong simulate-user`
 * (docs/evolve.md): the log's errors, versions that never overwrite, the
 * snapshot's round trip and corruption, the corrections learned (the
 * defining property), replay keeping earlier days, and a simulated user's
 * three days end to end.  All through the executable, on a tiny
 * transformer. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

static const char *exe;
static char *dir;       /* the test's temporary folder */
static char *base;      /* a tiny saved transformer */

/* Runs `lifelong ARGS...` (NULL-terminated); returns the exit status. */
static int
lf (char **out, char **err, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) exe);
  va_list ap;
  va_start (ap, err);
  const char *a;
  while ((a = va_arg (ap, const char *)))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  int status;
  g_autofree char *sout = NULL, *serr = NULL;
  g_assert_true (g_spawn_sync (dir, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &sout, &serr, &status,
                               NULL));
  if (out)
    *out = g_steal_pointer (&sout);
  if (err)
    *err = g_steal_pointer (&serr);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128;
}

static char *
path (const char *rel)
{
  return g_build_filename (dir, rel, NULL);
}

static void
put_file (const char *rel, const char *text)
{
  g_autofree char *p = path (rel);
  g_assert_true (g_file_set_contents (p, text, -1, NULL));
}

static gboolean
exists (const char *rel)
{
  g_autofree char *p = path (rel);
  return g_file_test (p, G_FILE_TEST_EXISTS);
}

static JsonObject *
read_json (const char *rel)
{
  g_autofree char *p = path (rel);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  if (!json_parser_load_from_file (parser, p, &error))
    g_error ("%s: %s", p, error->message);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* metrics.<what>.<key> of a snapshot's evolve.json */
static double
metric (const char *snap, const char *what, const char *key)
{
  g_autofree char *rel = g_build_filename (snap, "evolve.json", NULL);
  g_autoptr (JsonObject) m = read_json (rel);
  JsonObject *o = json_object_get_object_member (json_object_get_object_member (m, "metrics"), what);
  return json_object_get_double_member (o, key);
}

/* Folders in rel whose name starts with prefix. */
static int
count_entries (const char *rel, const char *prefix)
{
  g_autofree char *p = path (rel);
  GDir *d = g_dir_open (p, 0, NULL);
  g_assert_nonnull (d);
  int n = 0;
  const char *e;
  while ((e = g_dir_read_name (d)))
    n += g_str_has_prefix (e, prefix);
  g_dir_close (d);
  return n;
}

static void
init_personal (const char *out)
{
  g_autofree char *err = NULL;
  g_autofree char *rm = g_strdup_printf ("rm -rf '%s/%s'", dir, out);
  g_assert_cmpint (system (rm), ==, 0);
  int rc = lf (NULL, &err, "evolve", "--init", "--from", "base", "--out", out, NULL);
  if (rc != 0)
    g_printerr ("%s", err);
  g_assert_cmpint (rc, ==, 0);
}

/* A simulated user's day with snapshot snap, then the evolution to the
 * next version; extra: more evolve arguments (NULL-terminated). */
static void
day (const char *personal, const char *snap, int d, const char *strategy, const char *const *extra)
{
  g_autofree char *log = g_strdup_printf ("%s-day%d.jsonl", personal, d);
  g_autofree char *ds = g_strdup_printf ("%d", d);
  g_autofree char *err = NULL;
  g_autofree char *sp = g_build_filename (personal, snap, NULL);
  int rc = lf (NULL, &err, "simulate-user", "--model", sp, "--day", ds, "--out", log, "--new", "4", "--repeats",
               "2", NULL);
  if (rc != 0)
    g_printerr ("%s", err);
  g_assert_cmpint (rc, ==, 0);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) exe);
  /* enough steps for a model this small to learn a day's facts */
  const char *fixed[] = { "evolve", "--model", sp, "--log", log, "--strategy", strategy, "--quiet", "--set",
                          "train.epochs=80", "--set", "train.lr=0.003" };
  for (guint i = 0; i < G_N_ELEMENTS (fixed); i++)
    g_ptr_array_add (argv, (gpointer) fixed[i]);
  for (int i = 0; extra && extra[i]; i++)
    g_ptr_array_add (argv, (gpointer) extra[i]);
  g_ptr_array_add (argv, NULL);
  int status;
  g_clear_pointer (&err, g_free);
  g_autofree char *out = NULL;
  g_assert_true (g_spawn_sync (dir, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status,
                               NULL));
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("evolve %s day %d: %s", personal, d, err);
}

/* ---- the log's errors ---- */

static void
test_log_errors (void)
{
  init_personal ("E");
  static const struct { const char *text, *needs[3]; } cases[] = {
    { "{\"prompt\": \"a?\", \"reply\": \"b\"}\nnot json\n", { "bad.jsonl:2:", "not JSON", NULL } },
    { "{\"reply\": \"b\"}\n", { "bad.jsonl:1:", "field \"prompt\": missing", NULL } },
    { "\n{\"prompt\": \"a?\", \"reply\": 3}\n", { "bad.jsonl:2:", "field \"reply\": expected a string", NULL } },
    { "{\"prompt\": \"a?\", \"reply\": \"b\", \"correction\": \"\"}\n", { "bad.jsonl:1:", "field \"correction\": empty",
                                                                         NULL } },
    { "{\"prompt\": \"a?\", \"reply\": \"b\", \"corection\": \"c\"}\n", { "bad.jsonl:1:", "field \"corection\": unknown",
                                                                         NULL } },
    { "{\"prompt\": \"a\\nb?\", \"reply\": \"b\"}\n", { "bad.jsonl:1:", "field \"prompt\"", "newline" } },
    { "{\"prompt\": \"a?\", \"reply\": \"b\", \"correction\": null}\n", { "bad.jsonl:1:", "field \"correction\"",
                                                                         "got null" } },
    { "[1, 2]\n", { "bad.jsonl:1:", "expected a JSON object", NULL } },
    { "{\"prompt\": \"\", \"reply\": \"b\"}\n", { "bad.jsonl:1:", "field \"prompt\": empty", NULL } },
    { "\n\n", { "bad.jsonl", "no interaction", NULL } },
    { "{\"prompt\": \"a\\u0000b?\", \"reply\": \"b\"}\n", { "bad.jsonl:1:", "\\u0000", NULL } },
    { "{\"prompt\": \"a?\", \"reply\": \"ok \\ud83u\\$de00\"}\n", { "bad.jsonl:1:", "field \"reply\": not valid UTF-8",
                                                                      NULL } },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      put_file ("bad.jsonl", cases[i].text);
      g_autofree char *err = NULL;
      int rc = lf (NULL, &err, "evolve", "--model", "E/v1.0", "--log", "bad.jsonl", "--quiet", NULL);
      g_assert_cmpint (rc, ==, 1);
      for (int k = 0; k < 3 && cases[i].needs[k]; k++)
        if (strstr (err, cases[i].needs[k]) == NULL)
          g_error ("case %u: \"%s\" not in: %s", i, cases[i].needs[k], err);
      /* nothing written: no version, no temporary folder */
      g_assert_cmpint (count_entries ("E", ""), ==, 1);
      g_assert_cmpint (count_entries ("E", ".v"), ==, 0);
    }
  /* a missing log names the file */
  g_autofree char *err = NULL;
  g_assert_cmpint (lf (NULL, &err, "evolve", "--model", "E/v1.0", "--log", "none.jsonl", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "none.jsonl"));
  /* the dataset reads the same logs: its errors name dataset.logs[i] */
  put_file ("ok.jsonl", "{\"prompt\": \"a?\", \"reply\": \"b\"}\n");
  put_file ("bad.jsonl", "{\"prompt\": \"a?\"}\n");
  put_file ("logs-run.json",
         "{\"model\": {\"name\": \"transformer\", \"d_model\": 16, \"layers\": 1, \"heads\": 2, \"context\": 32},"
         " \"strategy\": {\"name\": \"naive\"},"
         " \"dataset\": {\"name\": \"instructions\", \"logs\": [\"ok.jsonl\", \"bad.jsonl\"], \"general_texts\": 0},"
         " \"scenario\": {\"type\": \"instruction-tuning\", \"context\": 32}, \"train\": {\"epochs\": 1}}");
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (lf (NULL, &err, "run", "logs-run.json", "--quiet", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "dataset.logs[1]: bad.jsonl:1: field \"reply\": missing"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (lf (NULL, &err, "run", "logs-run.json", "--quiet", "--set", "dataset.tasks=[\"copy\"]", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "dataset.tasks: not with dataset.logs"));
  /* and the logs are one domain a day, "PROMPT\nANSWER" */
  g_clear_pointer (&err, g_free);
  g_autofree char *out = NULL;
  g_assert_cmpint (lf (&out, &err, "run", "logs-run.json", "--quiet", "--set", "dataset.logs=[\"ok.jsonl\"]",
                       "--set", "scenario.generations=5", NULL), ==, 0);
  g_autoptr (JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, out, -1, NULL));
  JsonObject *ins = json_object_get_object_member (json_node_get_object (json_parser_get_root (p)), "instruction");
  JsonObject *g0 = json_array_get_object_element (json_object_get_array_member (ins, "generations"), 0);
  g_assert_cmpstr (json_object_get_string_member (g0, "task"), ==, "day-1");
  g_assert_cmpstr (json_object_get_string_member (g0, "prompt"), ==, "a?\n");
  g_assert_cmpstr (json_object_get_string_member (g0, "reference"), ==, "b");
}

/* ---- versions ---- */

static char *
file_text (const char *rel)
{
  g_autofree char *p = path (rel);
  char *t = NULL;
  g_assert_true (g_file_get_contents (p, &t, NULL, NULL));
  return t;
}

static void check_round_trip (const char *version, guint n_generations);

static void
test_versions (void)
{
  init_personal ("V");
  put_file ("v-day.jsonl", "{\"prompt\": \"what is my name?\", \"reply\": \"x\", \"correction\": \"Ana\"}\n"
                        "{\"prompt\": \"which city do I live in?\", \"reply\": \"Oslo\"}\n");
  const char *fast[] = { "--set", "train.epochs=2", NULL };
  g_autofree char *err = NULL;
  g_assert_cmpint (lf (NULL, &err, "evolve", "--model", "V/v1.0", "--log", "v-day.jsonl", "--quiet", fast[0], fast[1],
                       NULL), ==, 0);
  g_autoptr (JsonObject) m = read_json ("V/v1.1/evolve.json");
  g_assert_cmpstr (json_object_get_string_member (m, "version"), ==, "1.1");
  g_assert_cmpstr (json_object_get_string_member (m, "parent"), ==, "1.0");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (m, "strategy"), "name"), ==, "er");
  g_assert_true (exists ("V/v1.1/model.safetensors") && exists ("V/v1.1/config.json") && exists ("V/v1.1/report.md")
                 && exists ("V/v1.1/logs/day-001.jsonl") && exists ("V/v1.1/strategy-state.safetensors"));
  g_autofree char *copied = file_text ("V/v1.1/logs/day-001.jsonl");
  g_autofree char *orig = file_text ("v-day.jsonl");
  g_assert_cmpstr (copied, ==, orig);
  /* evolving v1.0 again would write v1.1: refused, v1.1 untouched */
  g_autofree char *before = file_text ("V/v1.1/evolve.json");
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (lf (NULL, &err, "evolve", "--model", "V/v1.0", "--log", "v-day.jsonl", "--quiet", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "v1.1 exists: a version is never overwritten"));
  g_autofree char *after = file_text ("V/v1.1/evolve.json");
  g_assert_cmpstr (before, ==, after);
  /* the next minor (named with a trailing slash), then a major bump */
  g_assert_cmpint (lf (NULL, NULL, "evolve", "--model", "V/v1.1/", "--log", "v-day.jsonl", "--quiet", fast[0], fast[1],
                       NULL), ==, 0);
  g_assert_cmpint (lf (NULL, NULL, "evolve", "--model", "V/v1.2", "--log", "v-day.jsonl", "--quiet", "--major",
                       fast[0], fast[1], NULL), ==, 0);
  g_autoptr (JsonObject) m2 = read_json ("V/v2.0/evolve.json");
  g_assert_cmpstr (json_object_get_string_member (m2, "version"), ==, "2.0");
  g_assert_cmpstr (json_object_get_string_member (m2, "parent"), ==, "1.2");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (m2, "days")), ==, 3);
  g_assert_true (json_object_get_boolean_member (m2, "state_carried"));
  /* --init never overwrites either */
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (lf (NULL, &err, "evolve", "--init", "--from", "base", "--out", "V", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "v1.0 exists"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (lf (NULL, &err, "evolve", "--init", "--from", "base", "--out", "V2", "--prompt-prefix", "a\nb",
                       NULL), ==, 2);
  g_assert_nonnull (strstr (err, "--prompt-prefix \"a\nb\": must be one line"));
  g_assert_false (exists ("V2"));
  g_assert_cmpint (count_entries ("V", ".v"), ==, 0);
  g_assert_cmpint (count_entries ("V", "v"), ==, 4);
  /* a strategy whose new modules stay in the model (adapters) would leave
   * a version the next night cannot load: refused, nothing written */
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (lf (NULL, &err, "evolve", "--model", "V/v2.0", "--log", "v-day.jsonl", "--quiet", "--strategy",
                       "adapter", fast[0], fast[1], NULL), ==, 1);
  g_assert_nonnull (strstr (err, "strategy adapter changed the model's structure"));
  g_assert_false (exists ("V/v2.1"));
  g_assert_cmpint (count_entries ("V", ".v"), ==, 0);
  /* the LoRA family: its adapters are merged into the weights, so the
   * version is a plain model that answers as the adapted one did, and the
   * next night starts a fresh adapter (no state carried) */
  const char *lora_lr[] = { "--set", "strategy.rank=4", NULL };
  for (int night = 0; night < 2; night++)
    g_assert_cmpint (lf (NULL, NULL, "evolve", "--model", night ? "V/v2.1" : "V/v2.0", "--log", "v-day.jsonl",
                         "--quiet", "--strategy", "lora", fast[0], fast[1], lora_lr[0], lora_lr[1], NULL), ==, 0);
  check_round_trip ("V/v2.1", 2);
  check_round_trip ("V/v2.2", 2);
  g_autoptr (JsonObject) m3 = read_json ("V/v2.2/evolve.json");
  g_assert_false (json_object_get_boolean_member (m3, "state_carried"));
  /* the safetensors header (after its 8-byte length): plain names only */
  g_autofree char *wpath = g_build_filename (dir, "V/v2.2/model.safetensors", NULL);
  g_autofree char *weights = NULL;
  gsize wn = 0;
  g_assert_true (g_file_get_contents (wpath, &weights, &wn, NULL));
  g_assert_cmpuint (wn, >, 8);
  guint64 hlen = 0;
  for (int b = 7; b >= 0; b--)
    hlen = hlen << 8 | (guchar) weights[b];
  g_assert_cmpuint (hlen, <=, wn - 8);
  g_assert_null (g_strstr_len (weights + 8, (gssize) hlen, "lora"));
  g_assert_null (g_strstr_len (weights + 8, (gssize) hlen, ".base."));
  g_assert_nonnull (g_strstr_len (weights + 8, (gssize) hlen, "q_proj.weight"));
}

/* ---- the snapshot ---- */

static void
corrupt_copy (const char *what)
{
  g_autofree char *cmd = g_strdup_printf ("cd '%s' && rm -rf C && mkdir C && cp -r S/v1.1 C/v1.1 && %s", dir, what);
  g_assert_cmpint (system (cmd), ==, 0);
}

static void
expect_corrupt (const char *needs)
{
  g_autofree char *err = NULL;
  g_assert_cmpint (lf (NULL, &err, "evolve", "--model", "C/v1.1", "--log", "s-day.jsonl", "--quiet", NULL), ==, 1);
  if (strstr (err, needs) == NULL)
    g_error ("\"%s\" not in: %s", needs, err);
  g_assert_false (exists ("C/v1.2"));
  g_assert_cmpint (count_entries ("C", ".v"), ==, 0);
}

/* The saved version answers every generation the night measured (after;
 * at least n_generations of them)
 * as the night's model did: the model folder is the model that was
 * measured. */
static void
check_round_trip (const char *version, guint n_generations)
{
  g_autofree char *rpath = g_build_filename (version, "night-result.json", NULL);
  g_autoptr (JsonObject) res = read_json (rpath);
  JsonArray *gens = json_object_get_array_member (json_object_get_object_member (res, "instruction"), "generations");
  g_assert_cmpuint (json_array_get_length (gens), >=, n_generations);
  for (guint i = 0; i < json_array_get_length (gens); i++)
    {
      JsonObject *g = json_array_get_object_element (gens, i);
      g_autofree char *out = NULL;
      g_assert_cmpint (lf (&out, NULL, "generate", version, "--prompt", json_object_get_string_member (g, "prompt"),
                           "--temperature", "0", "--max-tokens", "24", "--json", NULL), ==, 0);
      g_autoptr (JsonParser) p = json_parser_new ();
      g_assert_true (json_parser_load_from_data (p, out, -1, NULL));
      const char *text = json_object_get_string_member (json_node_get_object (json_parser_get_root (p)), "text");
      g_assert_true (g_str_has_prefix (text, json_object_get_string_member (g, "after")));
    }
}

static void
test_snapshot (void)
{
  init_personal ("S");
  put_file ("s-day.jsonl", "{\"prompt\": \"what is my dog's name?\", \"reply\": \"x\", \"correction\": \"Rex\"}\n"
                        "{\"prompt\": \"what is my job?\", \"reply\": \"y\", \"correction\": \"baker\"}\n");
  g_assert_cmpint (lf (NULL, NULL, "evolve", "--model", "S/v1.0", "--log", "s-day.jsonl", "--quiet", NULL), ==, 0);
  /* round trip: the saved model answers as the night's measurement said */
  check_round_trip ("S/v1.1", 2);
  /* reproducible: the same night on 2 threads (a major version beside it)
   * gives the same weights, byte for byte, and the same report */
  g_assert_cmpint (lf (NULL, NULL, "evolve", "--model", "S/v1.0", "--log", "s-day.jsonl", "--quiet", "--major",
                       "--threads", "2", NULL), ==, 0);
  gsize n1 = 0, n2 = 0;
  {
    g_autofree char *p1 = path ("S/v1.1/model.safetensors"), *p2 = path ("S/v2.0/model.safetensors");
    g_autofree char *b1 = NULL, *b2 = NULL;
    g_assert_true (g_file_get_contents (p1, &b1, &n1, NULL) && g_file_get_contents (p2, &b2, &n2, NULL));
    g_assert_cmpmem (b1, n1, b2, n2);
  }
  g_autoptr (JsonObject) e1 = read_json ("S/v1.1/evolve.json");
  g_autoptr (JsonObject) e2 = read_json ("S/v2.0/evolve.json");
  g_assert_true (json_node_equal (json_object_get_member (e1, "metrics"), json_object_get_member (e2, "metrics")));
  g_assert_true (json_node_equal (json_object_get_member (e1, "changes"), json_object_get_member (e2, "changes")));
  /* and the snapshot's model is the one a new version starts from */
  g_autoptr (JsonObject) rc = read_json ("S/v1.1/run-config.json");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (rc, "model"), "checkpoint"), ==,
                   "S/v1.0");
  /* corrupt or truncated snapshots: clear errors, nothing written */
  corrupt_copy ("printf '{\"prompt\": \"x?\", \"reply\": \"y\"}\\n' > C/v1.1/logs/day-001.jsonl");
  expect_corrupt ("evolve.json's days[0].sha256 says");
  corrupt_copy ("rm C/v1.1/logs/day-001.jsonl");
  expect_corrupt ("days[0].log");
  corrupt_copy ("head -c 20 S/v1.1/evolve.json > C/v1.1/evolve.json");
  expect_corrupt ("C/v1.1/evolve.json: not JSON");
  corrupt_copy ("sed -i 's/\"version\": \"1.1\"/\"version\": \"one\"/' C/v1.1/evolve.json");
  expect_corrupt ("version: \"one\" is not MAJOR.MINOR");
  corrupt_copy ("rm C/v1.1/model.safetensors");
  expect_corrupt ("C/v1.1/model.safetensors: missing");
  corrupt_copy ("rm C/v1.1/strategy-state.safetensors");
  expect_corrupt ("strategy-state.safetensors: missing");
  corrupt_copy ("head -c 1000 S/v1.1/model.safetensors > C/v1.1/model.safetensors");
  expect_corrupt ("model.safetensors");
  corrupt_copy ("sed -i 's/\"name\": \"er\"/\"name\": 5/' C/v1.1/evolve.json");
  expect_corrupt ("strategy: not an object with a \"name\"");
  corrupt_copy ("rm C/v1.1/evolve.json");
  expect_corrupt ("evolve.json: missing: not a snapshot");
}

/* ---- the defining property: the corrections are learned ---- */

static void
test_learns_corrections (void)
{
  init_personal ("L");
  day ("L", "v1.0", 1, "naive", NULL);
  /* the tiny random model knew none; after the night it answers every one */
  g_assert_cmpfloat (metric ("L/v1.1", "corrected_today", "count"), ==, 4);
  g_assert_cmpfloat (metric ("L/v1.1", "corrected_today", "exact_match_before"), ==, 0.0);
  g_assert_cmpfloat (metric ("L/v1.1", "corrected_today", "exact_match_after"), >=, 0.75);
  /* the next day's simulated user gets those answers from v1.1 */
  g_autofree char *facts = NULL;
  g_assert_cmpint (lf (&facts, NULL, "simulate-user", "--facts", NULL), ==, 0);
  g_autoptr (JsonObject) m = read_json ("L/v1.1/evolve.json");
  JsonArray *ch = json_object_get_array_member (m, "changes");
  gboolean seen = FALSE;
  for (guint i = 0; i < json_array_get_length (ch); i++)
    {
      JsonObject *c = json_array_get_object_element (ch, i);
      g_autofree char *row = g_strdup_printf ("\t%s\t%s\n", json_object_get_string_member (c, "prompt"),
                                              json_object_get_string_member (c, "expected"));
      g_assert_nonnull (strstr (facts, row));   /* what the user taught is the user's fact */
      seen |= g_str_equal (json_object_get_string_member (c, "after"), json_object_get_string_member (c, "expected"));
    }
  g_assert_true (seen);
}

/* ---- replay keeps earlier days; a simulated user's three days ---- */

static double
earlier_after (const char *personal, int days)
{
  /* earlier days' facts answered after each night, summed over days 2.. */
  double s = 0;
  for (int d = 2; d <= days; d++)
    {
      g_autofree char *snap = g_strdup_printf ("%s/v1.%d", personal, d);
      s += metric (snap, "earlier_facts", "answered_after");
    }
  return s;
}

static void
test_three_days (void)
{
  const char *strategies[] = { "naive", "er" };
  double kept[2];
  for (int k = 0; k < 2; k++)
    {
      g_autofree char *P = g_strdup_printf ("D-%s", strategies[k]);
      init_personal (P);
      for (int d = 1; d <= 3; d++)
        {
          g_autofree char *snap = g_strdup_printf ("v1.%d", d - 1);
          day (P, snap, d, strategies[k], NULL);
        }
      /* a chain of versions, each with every day's log so far */
      for (int d = 1; d <= 3; d++)
        {
          g_autofree char *rel = g_strdup_printf ("%s/v1.%d/evolve.json", P, d);
          g_autoptr (JsonObject) m = read_json (rel);
          g_autofree char *parent = g_strdup_printf ("1.%d", d - 1);
          g_assert_cmpstr (json_object_get_string_member (m, "parent"), ==, parent);
          g_assert_cmpuint (json_array_get_length (json_object_get_array_member (m, "days")), ==, (guint) d);
          g_assert_true (json_object_get_boolean_member (m, "state_carried") == (d > 1));
          /* today's log is the simulated user's, talking to the parent */
          g_autofree char *lrel = g_strdup_printf ("%s/v1.%d/logs/day-%03d.jsonl", P, d, d);
          g_autofree char *urel = g_strdup_printf ("%s-day%d.jsonl", P, d);
          g_autofree char *a = file_text (lrel), *b = file_text (urel);
          g_assert_cmpstr (a, ==, b);
        }
      /* the user is deterministic: day 3 again from v1.2 gives the same log */
      g_autofree char *again = g_strdup_printf ("%s-again.jsonl", P);
      g_autofree char *v12 = g_strdup_printf ("%s/v1.2", P);
      g_assert_cmpint (lf (NULL, NULL, "simulate-user", "--model", v12, "--day", "3", "--out", again, "--new", "4",
                           "--repeats", "2", NULL), ==, 0);
      g_autofree char *urel = g_strdup_printf ("%s-day3.jsonl", P);
      g_autofree char *a = file_text (again), *b = file_text (urel);
      g_assert_cmpstr (a, ==, b);
      /* every night learns its corrections */
      for (int d = 1; d <= 3; d++)
        {
          g_autofree char *snap = g_strdup_printf ("%s/v1.%d", P, d);
          if (metric (snap, "corrected_today", "count") > 0)
            g_assert_cmpfloat (metric (snap, "corrected_today", "exact_match_after"), >=, 0.5);
        }
      kept[k] = earlier_after (P, 3);
      g_test_message ("%s: earlier days' facts answered after days 2 and 3: %g", strategies[k], kept[k]);
    }
  /* replay keeps earlier days' facts better than naive fine-tuning */
  g_assert_cmpfloat (kept[1], >, kept[0]);
}

/* A strategy with no saved state (lamol has no save/load) still sees the
 * earlier days: it learns their task prefix ("user: ", the snapshot's
 * prompt prefix) and generates pseudo-samples of them from the model. */
static void
test_strategy_without_state (void)
{
  init_personal ("G");
  const char *more[] = { "--set", "strategy.gamma=1", NULL };
  day ("G", "v1.0", 1, "lamol", more);
  day ("G", "v1.1", 2, "lamol", more);
  g_autoptr (JsonObject) res = read_json ("G/v1.2/night-result.json");
  JsonObject *st = json_object_get_object_member (res, "strategy");
  JsonArray *pre = json_object_get_array_member (st, "task_prefixes");
  g_assert_cmpuint (json_array_get_length (pre), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (pre, 0), ==, "user: ");
  g_assert_cmpint (json_object_get_int_member (st, "pseudo_generated"), >, 0);
  g_assert_cmpint (json_object_get_int_member (st, "real_samples_kept"), ==, 0);
  g_autoptr (JsonObject) m = read_json ("G/v1.2/evolve.json");
  g_assert_cmpstr (json_object_get_string_member (m, "prompt_prefix"), ==, "user: ");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  exe = g_getenv ("LIFELONG_EXE");
  if (exe == NULL)
    {
      g_printerr ("LIFELONG_EXE must be set (meson test sets it)\n");
      return 1;
    }
  dir = g_dir_make_tmp ("lifelong-evolve-XXXXXX", NULL);
  g_assert_nonnull (dir);
  /* a tiny byte-level transformer, saved: every personal model starts here */
  put_file ("base.json",
         "{\"model\": {\"name\": \"transformer\", \"d_model\": 32, \"layers\": 1, \"heads\": 2, \"context\": 48},"
         " \"strategy\": {\"name\": \"naive\"},"
         " \"dataset\": {\"name\": \"instructions\", \"tasks\": [\"copy\"], \"train_per_task\": 16,"
         "               \"test_per_task\": 4, \"general_texts\": 0},"
         " \"scenario\": {\"type\": \"instruction-tuning\", \"context\": 48},"
         " \"train\": {\"epochs\": 1, \"batch_size\": 8}, \"seed\": 0, \"threads\": 1}");
  g_autofree char *err = NULL;
  if (lf (NULL, &err, "run", "base.json", "--quiet", "--save-model", "base", NULL) != 0)
    g_error ("the base model: %s", err);
  base = path ("base");
  g_test_add_func ("/evolve/log/errors", test_log_errors);
  g_test_add_func ("/evolve/versions/never-overwrite", test_versions);
  g_test_add_func ("/evolve/snapshot/round-trip-and-corruption", test_snapshot);
  g_test_add_func ("/evolve/learns-corrections", test_learns_corrections);
  g_test_add_func ("/evolve/simulated-user/three-days", test_three_days);
  g_test_add_func ("/evolve/strategy-without-state", test_strategy_without_state);
  int rc = g_test_run ();
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  if (system (cmd) != 0)
    g_printerr ("could not remove %s\n", dir);
  g_free (base);
  g_free (dir);
  return rc;
}
