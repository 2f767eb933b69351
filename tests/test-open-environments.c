/* lifelong tests — open environments (docs/open-environments.md): the
 * online scenario's streams (fixed, and i-Blurry-N-M's disjoint and leaking
 * classes) and the curve a run measures on them; withheld boundaries and
 * task ids; label noise (exact rates, clean test labels, reproducible);
 * PuriDivER's memory against ER's reservoir on a noisy stream.  Scenarios
 * are built in process on the synthetic dataset; runs go through the
 * executable. */
#include "host.h"
#include "config.h"
#include "plugin-private.h"
#include "strategies/cli.h"
#include "testutil.h"
#include <math.h>

static LfPluginRegistry *reg;

/* ---- in process: scenarios ------------------------------------------------ */

typedef struct {
  LfDataset  *ds;
  LfScenario *sc;
} Built;

#define SYNTH "{\"classes\": 10, \"dim\": 8, \"train_per_class\": 60, \"test_per_class\": 20}"

static LfParams *
params_of (const LfParam *table, const char *json, const char *path)
{
  g_autoptr (JsonNode) node = json_from_string (json, NULL);
  g_assert_nonnull (node);
  static const char *const skip[] = { "name", NULL };
  g_autoptr (GError) error = NULL;
  LfParams *p = lf_params_from_json (table, json_node_get_object (node), path, skip, &error);
  g_assert_no_error (error);
  return p;
}

/* The synthetic dataset (SYNTH) turned into the scenario; NULL with error
 * when the scenario is refused. */
static gboolean
build (const char *scenario, uint64_t seed, Built *b, GError **error)
{
  const LfPluginInfo *info = lf_registry_find (reg, LF_PLUGIN_DATASET, "synthetic");
  g_assert_nonnull (info);
  g_autoptr (LfParams) dp = params_of (info->params, SYNTH, "dataset");
  b->ds = lf_dataset_open (info, dp, 0, NULL);
  g_assert_nonnull (b->ds);
  g_autoptr (LfParams) sp = params_of (lf_scenario_params, scenario, "scenario");
  b->sc = lf_scenario_build (sp, b->ds, seed, error);
  return b->sc != NULL;
}

static void
built_clear (Built *b)
{
  lf_scenario_free (b->sc);
  lf_dataset_close (b->ds);
}

static int32_t
clean_label (const Built *b, LfSplit split, int64_t id)
{
  int64_t N = split == LF_SPLIT_TRAIN ? b->sc->n_train : b->sc->n_test;
  return b->ds->vt->label (b->ds->self, split, id % N);
}

/* A fixed online stream is class-incremental: each class in one task. */
static void
test_fixed_stream (void)
{
  Built b;
  g_assert_true (build ("{\"type\": \"online\", \"experiences\": 5}", 0, &b, NULL));
  g_assert_true (b.sc->online);
  g_assert_false (b.sc->blurry);
  int64_t task_of[10];
  for (int c = 0; c < 10; c++)
    task_of[c] = -1;
  int64_t total = 0;
  for (int64_t e = 0; e < 5; e++)
    {
      const GArray *t = b.sc->exps[e].train;
      total += t->len;
      for (guint i = 0; i < t->len; i++)
        {
          int32_t c = clean_label (&b, LF_SPLIT_TRAIN, g_array_index (t, int64_t, i));
          g_assert_true (task_of[c] == -1 || task_of[c] == e);
          task_of[c] = e;
        }
    }
  g_assert_cmpint (total, ==, 600);
  built_clear (&b);
}

/* i-Blurry-40-20: 4 of 10 classes disjoint (all their samples in one
 * task), and exactly round(20% n_c) of each blurry class's samples outside
 * its home task, spread over more than one other task; every training
 * sample in exactly one task; test samples at home. */
static void
test_blurry_stream (void)
{
  Built b;
  g_assert_true (build ("{\"type\": \"online\", \"experiences\": 5, \"blurry\": "
                        "{\"disjoint_percent\": 40, \"blurry_percent\": 20}}", 7, &b, NULL));
  const LfScenario *sc = b.sc;
  g_assert_true (sc->blurry);
  int64_t home[10], in_home[10] = { 0 }, away[10] = { 0 }, n_disjoint = 0;
  g_autofree uint8_t *seen = g_new0 (uint8_t, sc->n_train);
  gboolean dest[10][5] = { { FALSE } };
  for (int c = 0; c < 10; c++)
    home[c] = -1;
  for (int64_t e = 0; e < 5; e++)
    for (guint k = 0; k < sc->exps[e].classes->len; k++)
      home[g_array_index (sc->exps[e].classes, int32_t, k)] = e;
  for (int c = 0; c < 10; c++)
    {
      g_assert_cmpint (home[c], >=, 0);   /* every class has a home task */
      n_disjoint += sc->class_disjoint[c];
    }
  g_assert_cmpint (n_disjoint, ==, 4);
  for (int64_t e = 0; e < 5; e++)
    {
      const GArray *t = sc->exps[e].train;
      g_assert_cmpuint (t->len, >, 0);
      for (guint i = 0; i < t->len; i++)
        {
          int64_t id = g_array_index (t, int64_t, i);
          g_assert_cmpint (id / sc->n_train, ==, e);
          g_assert_false (seen[id % sc->n_train]);
          seen[id % sc->n_train] = 1;
          int32_t c = clean_label (&b, LF_SPLIT_TRAIN, id);
          if (home[c] == e)
            in_home[c]++;
          else
            {
              away[c]++;
              dest[c][e] = TRUE;
            }
        }
      const GArray *te = sc->exps[e].test;
      for (guint i = 0; i < te->len; i++)
        g_assert_cmpint (home[clean_label (&b, LF_SPLIT_TEST, g_array_index (te, int64_t, i))], ==, e);
    }
  for (int64_t i = 0; i < sc->n_train; i++)
    g_assert_true (seen[i]);
  int64_t leaked = 0;
  for (int c = 0; c < 10; c++)
    {
      g_assert_cmpint (in_home[c] + away[c], ==, 60);
      if (sc->class_disjoint[c])
        g_assert_cmpint (away[c], ==, 0);
      else
        {
          g_assert_cmpint (away[c], ==, 12);   /* round (20% of 60) */
          int spread = 0;
          for (int e = 0; e < 5; e++)
            spread += dest[c][e];
          g_assert_cmpint (spread, >=, 2);
        }
      leaked += away[c];
    }
  g_assert_cmpint (leaked, ==, sc->n_leaked);
  /* the same seed gives the same stream, another seed another */
  Built again, other;
  g_assert_true (build ("{\"type\": \"online\", \"experiences\": 5, \"blurry\": "
                        "{\"disjoint_percent\": 40, \"blurry_percent\": 20}}", 7, &again, NULL));
  g_assert_true (build ("{\"type\": \"online\", \"experiences\": 5, \"blurry\": "
                        "{\"disjoint_percent\": 40, \"blurry_percent\": 20}}", 8, &other, NULL));
  gboolean differs = FALSE;
  for (int64_t e = 0; e < 5; e++)
    {
      const GArray *x = sc->exps[e].train, *y = again.sc->exps[e].train, *z = other.sc->exps[e].train;
      g_assert_cmpuint (x->len, ==, y->len);
      g_assert_cmpmem (x->data, x->len * sizeof (int64_t), y->data, y->len * sizeof (int64_t));
      differs |= x->len != z->len || memcmp (x->data, z->data, x->len * sizeof (int64_t)) != 0;
    }
  g_assert_true (differs);
  built_clear (&again);
  built_clear (&other);
  built_clear (&b);
}

/* Symmetric noise: exactly round(rate n) training labels wrong, each a
 * class other than the true one, spread over every other class; batches of
 * training ids carry the noisy labels, test batches the clean ones; the
 * same seed flips the same samples. */
static void
test_noise_symmetric (void)
{
  Built b, again, other;
  const char *cfg = "{\"type\": \"class-incremental\", \"experiences\": 5, "
                    "\"label_noise\": {\"type\": \"symmetric\", \"rate\": 0.3}}";
  g_assert_true (build (cfg, 1, &b, NULL));
  g_assert_true (build (cfg, 1, &again, NULL));
  g_assert_true (build (cfg, 2, &other, NULL));
  const LfScenario *sc = b.sc;
  g_assert_cmpint (sc->n_flipped, ==, 180);   /* 0.3 * 600 */
  int64_t flipped = 0, targets[10][10] = { { 0 } };
  for (int64_t i = 0; i < sc->n_train; i++)
    {
      int32_t c = clean_label (&b, LF_SPLIT_TRAIN, i);
      if (sc->noisy[i] >= 0)
        {
          flipped++;
          g_assert_cmpint (sc->noisy[i], !=, c);
          targets[c][sc->noisy[i]]++;
        }
      g_assert_cmpint (sc->noisy[i], ==, again.sc->noisy[i]);
    }
  g_assert_cmpint (flipped, ==, 180);
  g_assert_cmpmem (sc->noisy, sc->n_train * sizeof (int32_t), again.sc->noisy, sc->n_train * sizeof (int32_t));
  g_assert_true (memcmp (sc->noisy, other.sc->noisy, sc->n_train * sizeof (int32_t)) != 0);
  /* a uniform other class: 180 flips over 90 (class, target) pairs; every
   * target class is hit */
  for (int t = 0; t < 10; t++)
    {
      int64_t hits = 0;
      for (int c = 0; c < 10; c++)
        hits += targets[c][t];
      g_assert_cmpint (hits, >, 0);
    }
  /* what the loss sees, and what evaluation sees */
  for (int64_t e = 0; e < 5; e++)
    {
      lf_tape_push (FALSE);
      const GArray *t = sc->exps[e].train, *te = sc->exps[e].test;
      LfBatch *tb = lf_scenario_batch (sc, b.ds, LF_SPLIT_TRAIN, (const int64_t *) t->data, t->len);
      for (guint i = 0; i < t->len; i++)
        {
          int64_t id = g_array_index (t, int64_t, i), idx = id % sc->n_train;
          g_assert_cmpint (tb->labels[i], ==, sc->noisy[idx] >= 0 ? sc->noisy[idx] : clean_label (&b, LF_SPLIT_TRAIN, id));
        }
      LfBatch *eb = lf_scenario_batch (sc, b.ds, LF_SPLIT_TEST, (const int64_t *) te->data, te->len);
      for (guint i = 0; i < te->len; i++)
        g_assert_cmpint (eb->labels[i], ==, clean_label (&b, LF_SPLIT_TEST, g_array_index (te, int64_t, i)));
      lf_tape_pop ();
    }
  built_clear (&again);
  built_clear (&other);
  built_clear (&b);
}

/* Class-flip: every flipped sample of class c has the same wrong label,
 * the next class of c's task. */
static void
test_noise_class_flip (void)
{
  Built b;
  g_assert_true (build ("{\"type\": \"class-incremental\", \"experiences\": 5, \"order_seed\": 3, "
                        "\"label_noise\": {\"type\": \"class-flip\", \"rate\": 0.4}}", 0, &b, NULL));
  const LfScenario *sc = b.sc;
  g_assert_cmpint (sc->n_flipped, ==, 240);
  int32_t to[10];
  for (int c = 0; c < 10; c++)
    to[c] = -1;
  for (int64_t i = 0; i < sc->n_train; i++)
    if (sc->noisy[i] >= 0)
      {
        int32_t c = clean_label (&b, LF_SPLIT_TRAIN, i);
        g_assert_true (to[c] == -1 || to[c] == sc->noisy[i]);
        to[c] = sc->noisy[i];
      }
  for (int64_t e = 0; e < 5; e++)
    {
      const GArray *cls = sc->exps[e].classes;
      g_assert_cmpuint (cls->len, ==, 2);
      int32_t a = g_array_index (cls, int32_t, 0), z = g_array_index (cls, int32_t, 1);
      g_assert_cmpint (to[a], ==, z);
      g_assert_cmpint (to[z], ==, a);
    }
  built_clear (&b);
}

/* ---- through the executable ---------------------------------------------- */

static char *
config (const char *strategy, const char *scenario, const char *train)
{
  return g_strdup_printf ("{\"model\": {\"name\": \"mlp\", \"hidden\": [32]},"
                          " \"strategy\": %s,"
                          " \"dataset\": {\"name\": \"synthetic\", \"classes\": 6, \"dim\": 16, \"train_per_class\": 100,"
                          "               \"test_per_class\": 50},"
                          " \"scenario\": %s,"
                          " \"train\": %s,"
                          " \"seed\": 0}", strategy, scenario, train ? train : "{\"batch_size\": 10, \"lr\": 0.03}");
}

#define FIXED "{\"type\": \"online\", \"experiences\": 3, \"eval_every\": 100}"
#define FIXED_TOLD "{\"type\": \"online\", \"experiences\": 3, \"eval_every\": 100, \"boundaries\": true}"
#define FIXED_TOLD_ORDER "{\"type\": \"online\", \"experiences\": 3, \"eval_every\": 100, \"boundaries\": true, " \
                         "\"order_seed\": 1}"
#define BLURRY "{\"type\": \"online\", \"experiences\": 3, \"eval_every\": 100, " \
               "\"blurry\": {\"disjoint_percent\": 50, \"blurry_percent\": 10}}"

static JsonObject *
run_ok (const char *tag, const char *strategy, const char *scenario)
{
  g_autofree char *text = config (strategy, scenario, NULL);
  return cli_run_text (tag, text);
}

/* The run is refused; its stderr contains every one of the NULL-ended
 * fragments. */
static void
run_refused (const char *tag, const char *strategy, const char *scenario, const char *train, ...)
{
  g_autofree char *text = config (strategy, scenario, train);
  g_autofree char *name = g_strdup_printf ("%s.json", tag);
  g_autofree char *out = g_strdup_printf ("%s.result.json", tag);
  g_autofree char *path = cli_write (name, text);
  g_autofree char *err = NULL;
  JsonObject *res = cli_run (path, out, NULL, &err);
  g_assert_null (res);
  g_assert_nonnull (err);
  va_list ap;
  va_start (ap, train);
  for (const char *frag; (frag = va_arg (ap, const char *)) != NULL;)
    if (strstr (err, frag) == NULL)
      {
        g_printerr ("%s: expected \"%s\" in: %s", tag, frag, err);
        g_assert_not_reached ();
      }
  va_end (ap);
}

static JsonArray *
online_array (JsonObject *res, const char *key)
{
  JsonObject *o = json_object_get_object_member (res, "online");
  g_assert_nonnull (o);
  return json_object_get_array_member (o, key);
}

/* The curve: a point every eval_every stream samples (and one at the end),
 * on the classes seen so far; a_auc is its step-sum area over the stream
 * (docs/metrics.md), a_last its last point; the matrix has a row per task. */
static void
test_curve (void)
{
  g_autoptr (JsonObject) res = run_ok ("curve", "{\"name\": \"naive\"}", FIXED);
  JsonArray *at = online_array (res, "samples"), *acc = online_array (res, "accuracy");
  JsonArray *cls = online_array (res, "classes_seen");
  guint n = json_array_get_length (at);
  g_assert_cmpuint (n, ==, 6);   /* 600 samples, every 100 */
  g_assert_cmpuint (json_array_get_length (acc), ==, n);
  double area = 0, prev = 0;
  for (guint k = 0; k < n; k++)
    {
      double s = json_array_get_double_element (at, k), a = json_array_get_double_element (acc, k);
      g_assert_cmpfloat (s, ==, 100.0 * (k + 1));
      g_assert_cmpfloat (a, >=, 0);
      g_assert_cmpfloat (a, <=, 1);
      area += a * (s - prev);
      prev = s;
      /* 2 classes per task, 200 samples per task */
      g_assert_cmpint (json_array_get_int_element (cls, k), ==, 2 * ((int64_t) (s - 1) / 200 + 1));
    }
  g_assert_cmpfloat_with_epsilon (cli_metric (res, "a_auc"), area / prev, 1e-12);
  g_assert_cmpfloat (cli_metric (res, "a_last"), ==, json_array_get_double_element (acc, n - 1));
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (res, "online"), "stream_samples"), ==, 600);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (res, "matrix")), ==, 3);
  g_assert_true (isfinite (cli_metric (res, "average_forgetting")));
  /* the last point tests every class: it is the last row's mean weighted
   * by test samples (50 per class, 2 classes per task: the plain mean) */
  g_assert_cmpfloat_with_epsilon (cli_metric (res, "a_last"), cli_metric (res, "average_accuracy"), 1e-9);
  /* naive forgets: its curve falls from its best */
  double best = 0;
  for (guint k = 0; k < n; k++)
    best = MAX (best, json_array_get_double_element (acc, k));
  g_assert_cmpfloat (cli_metric (res, "a_last"), <, best);
}

/* Withheld boundaries: the strategy sees experience -1, no task count, no
 * task ids, and one before/after_experience around the whole stream;
 * scenario.boundaries gives them on a fixed stream. */
static void
test_withheld (void)
{
  const char *const extra[] = { "--plugin-path", g_getenv ("LIFELONG_RECORDER_DIR"), NULL };
  const char *scen[] = { BLURRY, FIXED, FIXED_TOLD };
  for (int k = 0; k < 3; k++)
    {
      g_autofree char *text = config ("{\"name\": \"stream-probe\"}", scen[k], NULL);
      g_autofree char *name = g_strdup_printf ("probe-%d.json", k);
      g_autofree char *out = g_strdup_printf ("probe-%d.result.json", k);
      g_autofree char *path = cli_write (name, text);
      g_autofree char *err = NULL;
      g_autoptr (JsonObject) res = cli_run (path, out, extra, &err);
      if (res == NULL)
        g_printerr ("%s", err);
      g_assert_nonnull (res);
      gboolean told = k == 2;
      g_assert_cmpfloat (cli_strategy_figure (res, "before_experience_calls"), ==, told ? 3 : 1);
      g_assert_cmpfloat (cli_strategy_figure (res, "after_experience_calls"), ==, told ? 3 : 1);
      g_assert_cmpfloat (cli_strategy_figure (res, "min_experience"), ==, told ? 0 : -1);
      g_assert_cmpfloat (cli_strategy_figure (res, "max_experience"), ==, told ? 2 : -1);
      g_assert_cmpfloat (cli_strategy_figure (res, "n_experiences"), ==, told ? 3 : -1);
      /* 600 samples in batches of 10; the blurry tasks' sizes are not
       * multiples of 10 (197, 203, ...), and withheld, no short batch marks
       * where one ends: its last samples open the next task's first batch */
      g_assert_cmpfloat (cli_strategy_figure (res, "batches"), ==, 60);
      g_assert_cmpfloat (cli_strategy_figure (res, "min_batch"), ==, 10);
      g_assert_cmpfloat (cli_strategy_figure (res, "batches_with_task_ids"), ==, 0);
      g_assert_cmpfloat (cli_strategy_figure (res, "has_task_ids"), ==, 0);
    }
  /* a strategy that picks each experience's data has none to pick from */
  g_autofree char *text = config ("{\"name\": \"recorder\", \"file\": \"/dev/null\"}", BLURRY, NULL);
  g_autofree char *path = cli_write ("recorder-blurry.json", text);
  g_autofree char *err = NULL;
  g_assert_null (cli_run (path, "recorder-blurry.result.json", extra, &err));
  g_assert_nonnull (strstr (err, "strategy recorder chooses each experience's training data (select_training)"));
}

/* Strategies that need boundaries are refused where they are withheld,
 * naming why; given, they run (GDumb's point at each task's end). */
static void
test_needs_boundaries (void)
{
  run_refused ("gdumb-blurry", "{\"name\": \"gdumb\"}", BLURRY, NULL, "strategy gdumb needs experience boundaries",
               "blurry", NULL);
  run_refused ("oewc-fixed", "{\"name\": \"online-ewc\"}", FIXED, NULL, "strategy online-ewc needs experience boundaries",
               "scenario.boundaries", NULL);
  run_refused ("cumulative-fixed", "{\"name\": \"cumulative\"}", FIXED, NULL, "strategy cumulative",
               "needs experience boundaries", NULL);
  g_autoptr (JsonObject) g = run_ok ("gdumb-told", "{\"name\": \"gdumb\", \"buffer_size\": 60}", FIXED_TOLD);
  JsonArray *at = online_array (g, "samples");
  g_assert_cmpuint (json_array_get_length (at), ==, 3);
  g_assert_cmpfloat (json_array_get_double_element (at, 2), ==, 600);
  g_autoptr (JsonObject) o = run_ok ("oewc-told", "{\"name\": \"online-ewc\", \"lambda\": 100}", FIXED_TOLD);
  g_assert_true (isfinite (cli_metric (o, "a_auc")));
}

/* Online class-incremental: replay (ER, DER++) keeps what naive forgets;
 * A-GEM without boundaries fills its memory from the stream and never
 * leaves a step's gradient against it. */
static void
test_strategies (void)
{
  g_autoptr (JsonObject) naive = run_ok ("naive-fixed", "{\"name\": \"naive\"}", FIXED);
  g_autoptr (JsonObject) er = run_ok ("er-fixed", "{\"name\": \"er\", \"buffer_size\": 100}", FIXED);
  g_autoptr (JsonObject) derpp = run_ok ("derpp-fixed", "{\"name\": \"derpp\", \"buffer_size\": 100}", FIXED);
  g_assert_cmpfloat (cli_metric (er, "a_last"), >, cli_metric (naive, "a_last") + 0.15);
  g_assert_cmpfloat (cli_metric (derpp, "a_last"), >, cli_metric (naive, "a_last") + 0.15);
  g_assert_cmpfloat (cli_metric (er, "average_forgetting"), <, cli_metric (naive, "average_forgetting"));
  g_autoptr (JsonObject) agem = run_ok ("agem-blurry", "{\"name\": \"agem\", \"memory_size\": 100}", BLURRY);
  g_assert_cmpfloat (cli_strategy_figure (agem, "memory_stream_samples"), ==, 100);
  g_assert_cmpfloat (cli_strategy_figure (agem, "projections"), >, 0);
  g_assert_cmpfloat (cli_strategy_figure (agem, "min_dot_after_projection"), >=, -1e-6);
  g_autoptr (JsonObject) erb = run_ok ("er-blurry", "{\"name\": \"er\", \"buffer_size\": 100}", BLURRY);
  g_autoptr (JsonObject) erb2 = run_ok ("er-blurry-again", "{\"name\": \"er\", \"buffer_size\": 100}", BLURRY);
  /* reproducible: the same config gives the same curve */
  g_autofree char *c1 = cli_member_json (json_object_get_object_member (erb, "online"), "accuracy");
  g_autofree char *c2 = cli_member_json (json_object_get_object_member (erb2, "online"), "accuracy");
  g_assert_cmpstr (c1, ==, c2);
  JsonObject *bl = json_object_get_object_member (json_object_get_object_member (erb, "online"), "blurry");
  g_assert_cmpint (json_object_get_int_member (bl, "leaked_samples"), ==, 30);   /* 10% of 3 blurry classes x 100 */
}

/* Malformed stream and noise settings: each error names the key and value. */
static void
test_config_errors (void)
{
  const char *ci = "{\"type\": \"class-incremental\", \"experiences\": 3, ";
  g_autofree char *s1 = g_strconcat (ci, "\"blurry\": {\"disjoint_percent\": 50, \"blurry_percent\": 10}}", NULL);
  run_refused ("e-blurry-ci", "{\"name\": \"naive\"}", s1, NULL, "scenario.blurry", "online", NULL);
  g_autofree char *s2 = g_strconcat (ci, "\"eval_every\": 50}", NULL);
  run_refused ("e-every-ci", "{\"name\": \"naive\"}", s2, NULL, "scenario.eval_every", NULL);
  run_refused ("e-blurry-range", "{\"name\": \"naive\"}",
               "{\"type\": \"online\", \"blurry\": {\"disjoint_percent\": 120, \"blurry_percent\": 10}}", NULL,
               "scenario.blurry.disjoint_percent", "120", NULL);
  run_refused ("e-blurry-missing", "{\"name\": \"naive\"}", "{\"type\": \"online\", \"blurry\": {\"disjoint_percent\": 20}}",
               NULL, "scenario.blurry.blurry_percent", NULL);
  run_refused ("e-blurry-type", "{\"name\": \"naive\"}", "{\"type\": \"online\", \"blurry\": 5}", NULL,
               "scenario.blurry", "5", NULL);
  run_refused ("e-blurry-told", "{\"name\": \"naive\"}",
               "{\"type\": \"online\", \"boundaries\": true, \"blurry\": {\"disjoint_percent\": 0, \"blurry_percent\": 10}}",
               NULL, "scenario.boundaries", "blurry", NULL);
  run_refused ("e-epochs", "{\"name\": \"naive\"}", FIXED, "{\"epochs\": 2}", "train.epochs", "2", "one pass", NULL);
  run_refused ("e-schedule", "{\"name\": \"naive\"}", BLURRY, "{\"schedule\": \"cosine\"}", "train.schedule",
               "cosine", "withholds", NULL);
  g_autofree char *n1 = g_strconcat (ci, "\"label_noise\": {\"type\": \"gaussian\", \"rate\": 0.2}}", NULL);
  run_refused ("e-noise-type", "{\"name\": \"naive\"}", n1, NULL, "scenario.label_noise.type", "gaussian", NULL);
  g_autofree char *n2 = g_strconcat (ci, "\"label_noise\": {\"type\": \"symmetric\", \"rate\": 1.5}}", NULL);
  run_refused ("e-noise-rate", "{\"name\": \"naive\"}", n2, NULL, "scenario.label_noise.rate", "1.5", NULL);
  g_autofree char *n3 = g_strconcat (ci, "\"label_noise\": {\"type\": \"symmetric\"}}", NULL);
  run_refused ("e-noise-missing", "{\"name\": \"naive\"}", n3, NULL, "scenario.label_noise.rate", NULL);
  g_autofree char *n4 = g_strconcat (ci, "\"label_noise\": \"lots\"}", NULL);
  run_refused ("e-noise-kind", "{\"name\": \"naive\"}", n4, NULL, "scenario.label_noise", "lots", NULL);
  {
    /* a language model's labels are next tokens: no noise to put on them */
    g_autofree char *text = g_strdup_printf (
      "{\"model\": {\"name\": \"transformer\"}, \"strategy\": {\"name\": \"naive\"},"
      " \"dataset\": {\"name\": \"fortunes\"},"
      " \"scenario\": {\"type\": \"continual-pretraining\", \"label_noise\": {\"type\": \"symmetric\", \"rate\": 0.2}}}");
    g_autofree char *path = cli_write ("e-noise-lm.json", text);
    g_autofree char *err = NULL;
    g_assert_null (cli_run (path, "e-noise-lm.result.json", NULL, &err));
    g_assert_nonnull (strstr (err, "scenario.label_noise: needs class labels"));
  }
  /* puridiver's robust-learning keys */
  run_refused ("e-pd-threshold", "{\"name\": \"puridiver\", \"relabel_threshold\": 1.5}", FIXED, NULL,
               "strategy.relabel_threshold", "1.5", NULL);
  run_refused ("e-pd-every", "{\"name\": \"puridiver\", \"robust_every\": 0}", FIXED, NULL,
               "strategy.robust_every", "0", NULL);
  run_refused ("e-pd-robust", "{\"name\": \"puridiver\", \"robust\": \"yes\"}", FIXED, NULL,
               "strategy.robust", "yes", NULL);
  run_refused ("e-pd-by-class", "{\"name\": \"puridiver\", \"split_by_class\": 2}", FIXED, NULL,
               "strategy.split_by_class", "2", NULL);
  run_refused ("e-pd-split-test", "{\"name\": \"puridiver\", \"split_test\": \"aic\"}", FIXED, NULL,
               "strategy.split_test", "aic", NULL);
  g_autofree char *n5 = g_strconcat (ci, "\"label_noise\": {\"type\": \"symmetric\", \"rate\": 0.2, \"seed\": 1}}", NULL);
  run_refused ("e-noise-key", "{\"name\": \"naive\"}", n5, NULL, "scenario.label_noise.seed", NULL);
}

/* PuriDivER's defining property: on a noisy stream its memory is purer
 * than ER's reservoir (whose purity is about 1 - rate), measured by the
 * host from the ids the strategies report; and at 60% noise it ends more
 * accurate than ER.  The noise itself is in the result, at its exact rate. */
static void
test_purity (void)
{
  const char *scen = "{\"type\": \"online\", \"experiences\": 3, \"eval_every\": 100, "
                     "\"blurry\": {\"disjoint_percent\": 50, \"blurry_percent\": 10}, "
                     "\"label_noise\": {\"type\": \"symmetric\", \"rate\": 0.6}}";
  g_autoptr (JsonObject) er = run_ok ("er-noisy", "{\"name\": \"er\", \"buffer_size\": 100}", scen);
  g_autoptr (JsonObject) pd = run_ok ("puridiver-noisy", "{\"name\": \"puridiver\", \"buffer_size\": 100}", scen);
  JsonObject *ne = json_object_get_object_member (er, "label_noise");
  JsonObject *np = json_object_get_object_member (pd, "label_noise");
  g_assert_cmpint (json_object_get_int_member (ne, "flipped"), ==, 360);
  g_assert_cmpfloat (json_object_get_double_member (ne, "flipped_fraction"), ==, 0.6);
  g_assert_cmpint (json_object_get_int_member (ne, "buffer_size"), ==, 100);
  g_assert_cmpint (json_object_get_int_member (np, "buffer_size"), ==, 100);
  double er_pur = json_object_get_double_member (ne, "buffer_purity");
  double pd_pur = json_object_get_double_member (np, "buffer_purity");
  g_assert_cmpfloat (fabs (er_pur - 0.4), <, 0.15);
  g_assert_cmpfloat (pd_pur, >, er_pur + 0.25);
  g_assert_cmpfloat (json_object_get_double_member (np, "replay_purity"), >,
                     json_object_get_double_member (ne, "replay_purity"));
  g_assert_cmpfloat (cli_metric (pd, "a_last"), >, cli_metric (er, "a_last") + 0.1);
  /* PuriDivER's code trains on the memory alone: every row it trains on is
   * replayed, none is the step's stream batch as such */
  g_autoptr (JsonObject) mo = run_ok ("puridiver-memory-only",
                                      "{\"name\": \"puridiver\", \"buffer_size\": 100, \"stream_in_batch\": false}", scen);
  JsonObject *nm = json_object_get_object_member (mo, "label_noise");
  double rows = json_object_get_int_member (json_object_get_object_member (mo, "throughput"), "train_samples");
  double own = rows - (double) json_object_get_int_member (nm, "replay_rows");
  g_assert_cmpfloat (own, <, 300);   /* ER trains on all 600 as they come */
  double er_rows = json_object_get_int_member (json_object_get_object_member (er, "throughput"), "train_samples");
  g_assert_cmpfloat (er_rows - (double) json_object_get_int_member (ne, "replay_rows"), ==, 600);
  g_assert_cmpfloat (json_object_get_double_member (nm, "buffer_purity"), >, er_pur);
  /* label_noise on a scenario that is not online: the noise is there too */
  g_autoptr (JsonObject) ci = run_ok ("er-noisy-ci", "{\"name\": \"er\", \"buffer_size\": 100}",
                                      "{\"type\": \"class-incremental\", \"experiences\": 3, "
                                      "\"label_noise\": {\"type\": \"class-flip\", \"rate\": 0.2}}");
  JsonObject *nc = json_object_get_object_member (ci, "label_noise");
  g_assert_cmpstr (json_object_get_string_member (nc, "type"), ==, "class-flip");
  g_assert_cmpint (json_object_get_int_member (nc, "flipped"), ==, 120);
  g_assert_false (json_object_has_member (ci, "online"));
}

/* PuriDivER's robust learning, its defining property: trained on the
 * memory alone (stream_in_batch false, PuriDivER's way), the model without
 * robust learning learns the memory's wrong labels by heart, their losses
 * fall and the memory stops purifying itself; with the robust split
 * (clean part with its labels, noisy part relabelled by the model or
 * unlabelled) it keeps the wrong labels out of the loss: the memory ends
 * purer and the model more accurate on the clean test labels.  The split's
 * figures say it ran and took labels off. */
static void
test_robust (void)
{
  const char *scen = "{\"type\": \"online\", \"experiences\": 3, \"eval_every\": 100, "
                     "\"blurry\": {\"disjoint_percent\": 50, \"blurry_percent\": 10}, "
                     "\"label_noise\": {\"type\": \"symmetric\", \"rate\": 0.6}}";
  g_autoptr (JsonObject) on = run_ok ("puridiver-robust",
                                      "{\"name\": \"puridiver\", \"buffer_size\": 100, \"stream_in_batch\": false}", scen);
  g_autoptr (JsonObject) off = run_ok ("puridiver-not-robust",
                                       "{\"name\": \"puridiver\", \"buffer_size\": 100, \"stream_in_batch\": false,"
                                       " \"robust\": false}", scen);
  double pur_on = json_object_get_double_member (json_object_get_object_member (on, "label_noise"), "buffer_purity");
  double pur_off = json_object_get_double_member (json_object_get_object_member (off, "label_noise"), "buffer_purity");
  g_assert_cmpfloat (pur_on, >, pur_off + 0.1);
  g_assert_cmpfloat (cli_metric (on, "a_last"), >, cli_metric (off, "a_last") + 0.15);
  JsonObject *fig = json_object_get_object_member (on, "strategy");
  g_assert_cmpfloat (json_object_get_double_member (fig, "robust_splits"), >=, 4);   /* every 10 steps from a full memory */
  double clean = json_object_get_double_member (fig, "robust_clean");
  double relab = json_object_get_double_member (fig, "robust_relabeled");
  double unlab = json_object_get_double_member (fig, "robust_unlabeled");
  g_assert_cmpfloat (clean + relab + unlab, ==, 100);
  g_assert_cmpfloat (relab + unlab, >, 0);
  g_assert_cmpfloat (json_object_get_double_member (fig, "robust_unlabeled_rows"), >, 0);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (fig, "robust_split")), ==, 100);
  g_assert_false (json_object_has_member (json_object_get_object_member (off, "strategy"), "robust_splits"));
}

/* `lifelong matrix` names the streams apart and `lifelong report` ranks
 * them by a_auc and a_last too. */
static void
test_report (void)
{
  const char *text =
    "{\"base\": {\"model\": {\"name\": \"mlp\", \"hidden\": [16]}, \"train\": {\"batch_size\": 10}},"
    " \"models\": [{\"name\": \"mlp\", \"hidden\": [16]}],"
    " \"strategies\": [{\"name\": \"naive\"}, {\"name\": \"er\", \"buffer_size\": 50}],"
    " \"datasets\": [{\"name\": \"synthetic\", \"classes\": 4, \"dim\": 8, \"train_per_class\": 40, \"test_per_class\": 10}],"
    " \"scenarios\": [" FIXED_TOLD ", " BLURRY ", " FIXED_TOLD_ORDER "], \"seeds\": [0]}";
  g_autofree char *path = cli_write ("matrix.json", text);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *out = g_build_filename (dir, "matrix-out", NULL);
  g_autofree char *rep = g_build_filename (dir, "matrix-report", NULL);
  const char *exe = g_getenv ("LIFELONG_EXE");
  const char *m_argv[] = { exe, "matrix", path, "--out", out, "--quiet", NULL };
  const char *r_argv[] = { exe, "report", out, "--out", rep, NULL };
  g_autofree char *merr = NULL, *rerr = NULL;
  g_assert_cmpint (tu_spawn (m_argv, NULL, NULL, &merr), ==, 0);
  g_assert_cmpint (tu_spawn (r_argv, NULL, NULL, &rerr), ==, 0);
  g_autofree char *index = g_build_filename (out, "index.json", NULL);
  g_autofree char *ix = NULL;
  g_assert_true (g_file_get_contents (index, &ix, NULL, NULL));
  g_assert_nonnull (strstr (ix, "online/3/fixed-told"));
  g_assert_nonnull (strstr (ix, "online/3/blurry-50-10"));
  /* another class order is another scenario, not another seed */
  g_assert_nonnull (strstr (ix, "online/3/fixed-told/order-1\""));
  g_autofree char *lb = g_build_filename (rep, "leaderboard.md", NULL);
  g_autofree char *md = NULL;
  g_assert_true (g_file_get_contents (lb, &md, NULL, NULL));
  g_assert_nonnull (strstr (md, "a_auc"));
  g_assert_nonnull (strstr (md, "a_last"));
  /* and draws each stream's accuracy over the samples seen (a file per
   * section, referenced from the Markdown), nothing malformed on the way;
   * with one seed, each method's last point in curves.csv is its a_last */
  g_assert_null (strstr (rerr, "warning"));
  for (int k = 1; k <= 3; k++)
    {
      g_autofree char *name = g_strdup_printf ("online-accuracy-s%d.png", k);
      g_autofree char *png = g_build_filename (rep, name, NULL);
      g_assert_true (g_file_test (png, G_FILE_TEST_IS_REGULAR));
      g_assert_nonnull (strstr (md, name));
    }
  g_autofree char *cpath = g_build_filename (rep, "curves.csv", NULL);
  g_autofree char *lpath = g_build_filename (rep, "leaderboard.csv", NULL);
  g_autofree char *ctext = NULL, *ltext = NULL;
  g_assert_true (g_file_get_contents (cpath, &ctext, NULL, NULL));
  g_assert_true (g_file_get_contents (lpath, &ltext, NULL, NULL));
  g_auto (GStrv) clines = g_strsplit (ctext, "\n", -1);
  g_auto (GStrv) llines = g_strsplit (ltext, "\n", -1);
  g_assert_cmpstr (clines[0], ==, "scenario,dataset,model,method,strategy,curve,x,mean,min,max,seeds");
  g_auto (GStrv) lhead = g_strsplit (llines[0], ",", -1);
  int a_last_col = -1;
  for (int c = 0; lhead[c]; c++)
    if (g_str_equal (lhead[c], "a_last_mean"))
      a_last_col = c;
  g_assert_cmpint (a_last_col, >=, 0);
  int checked = 0;
  for (int l = 1; llines[l] && *llines[l]; l++)
    {
      g_auto (GStrv) lf = g_strsplit (llines[l], ",", -1);
      /* the curve's last row for this (scenario, method) */
      double last = NAN, last_x = -1;
      for (int c = 1; clines[c] && *clines[c]; c++)
        {
          g_auto (GStrv) cf = g_strsplit (clines[c], ",", -1);
          if (g_str_equal (cf[0], lf[0]) && g_str_equal (cf[3], lf[3]) && g_ascii_strtod (cf[6], NULL) > last_x)
            {
              last_x = g_ascii_strtod (cf[6], NULL);
              last = g_ascii_strtod (cf[7], NULL);
              g_assert_cmpstr (cf[10], ==, "1");
            }
        }
      g_assert_cmpfloat (last_x, >, 0);
      g_assert_cmpfloat_with_epsilon (last, g_ascii_strtod (lf[a_last_col], NULL), 1e-6);
      checked++;
    }
  g_assert_cmpint (checked, ==, 6);   /* three streams x two methods */
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cli_init ("open-environments");
  reg = lf_registry_new ();
  const char *dirs[] = { g_getenv ("LIFELONG_PLUGIN_DIR"), NULL };
  g_assert_nonnull (dirs[0]);
  g_assert_true (lf_registry_scan (reg, dirs, NULL));
  g_test_add_func ("/open/stream/fixed", test_fixed_stream);
  g_test_add_func ("/open/stream/blurry", test_blurry_stream);
  g_test_add_func ("/open/noise/symmetric", test_noise_symmetric);
  g_test_add_func ("/open/noise/class-flip", test_noise_class_flip);
  g_test_add_func ("/open/online/curve", test_curve);
  g_test_add_func ("/open/online/withheld", test_withheld);
  g_test_add_func ("/open/online/needs-boundaries", test_needs_boundaries);
  g_test_add_func ("/open/online/strategies", test_strategies);
  g_test_add_func ("/open/config-errors", test_config_errors);
  g_test_add_func ("/open/noise/puridiver-purity", test_purity);
  g_test_add_func ("/open/noise/puridiver-robust", test_robust);
  g_test_add_func ("/open/report", test_report);
  int rc = g_test_run ();
  lf_registry_free (reg);
  cli_cleanup ();
  return rc;
}
