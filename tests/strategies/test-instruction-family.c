/* lifelong tests — strategies on the instruction-tuning scenario
 * (docs/instruction-tuning.md), through `lifelong run` on a tiny
 * transformer: lamol's pseudo-samples are the model's own generations and
 * reduce forgetting, ssr's replayed answers are the previous model's greedy
 * answers, and the classic and PEFT families run on the scenario unchanged. */
#include "cli.h"
#include "../testutil.h"
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

/* Two fast tasks a 2-layer model learns in seconds. */
#define IT_MODEL "{\"name\": \"transformer\", \"d_model\": 64, \"layers\": 2, \"heads\": 4, \"context\": 48}"
#define IT_DATA(tasks) "{\"name\": \"instructions\", \"tasks\": " tasks ", \"train_per_task\": 200, " \
  "\"test_per_task\": 30, \"max_words\": 3, \"fortune_bytes\": 16, \"general_texts\": 16}"
#define IT_TWO "[\"count-words\", \"fortune-category\"]"
#define IT_ONE "[\"count-words\"]"

static JsonObject *
it_run (const char *name, const char *strategy, const char *tasks, int64_t epochs, const char *const *extra)
{
  g_autofree char *text = g_strdup_printf (
    "{\"model\": " IT_MODEL ", \"strategy\": %s, \"dataset\": " IT_DATA ("%s") ", "
    "\"scenario\": {\"type\": \"instruction-tuning\", \"context\": 48}, "
    "\"train\": {\"epochs\": %" G_GINT64_FORMAT ", \"batch_size\": 32, \"lr\": 0.005}, \"seed\": 0, \"threads\": 1}",
    strategy, tasks, epochs);
  g_autofree char *file = g_strconcat (name, ".json", NULL);
  g_autofree char *out = g_strconcat (name, ".result.json", NULL);
  g_autofree char *path = cli_write (file, text);
  g_autofree char *err = NULL;
  JsonObject *res = cli_run (path, out, extra, &err);
  if (res == NULL)
    g_error ("%s failed: %s", name, err);
  return res;
}

/* A valid exact-match matrix: T x T values in [0, 1], a baseline, the
 * metrics (general_loss_delta among them) and the token accuracies. */
static void
it_check_result (JsonObject *res, guint T, guint rows)
{
  g_assert_cmpstr (json_object_get_string_member (res, "matrix_kind"), ==, "exact_match");
  JsonArray *m = json_object_get_array_member (res, "matrix");
  g_assert_cmpuint (json_array_get_length (m), ==, rows);
  for (guint i = 0; i < rows; i++)
    for (guint j = 0; j < T; j++)
      {
        double v = cli_matrix (res, i, j);
        g_assert_true (v >= 0 && v <= 1);
      }
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (res, "baseline")), ==, T);
  g_assert_true (isfinite (cli_metric (res, "average_accuracy")));
  g_assert_true (rows < T || isfinite (cli_metric (res, "average_forgetting")));
  g_assert_true (isfinite (cli_metric (res, "general_loss_delta")));
  JsonObject *ins = json_object_get_object_member (res, "instruction");
  JsonArray *tok = json_object_get_array_member (ins, "token_accuracy");
  g_assert_cmpuint (json_array_get_length (tok), ==, rows);
  /* an exact answer has every token right: token accuracy >= exact match */
  for (guint i = 0; i < rows; i++)
    for (guint j = 0; j < T; j++)
      g_assert_cmpfloat (json_array_get_double_element (json_array_get_array_element (tok, i), j), >=,
                         cli_matrix (res, i, j) - 1e-12);
}

/* The two-task runs of lamol and ssr, run once and shared by the tests. */
static JsonObject *lamol_result, *ssr_result;

static JsonObject *
lamol_two (void)
{
  if (lamol_result == NULL)
    lamol_result = it_run ("lamol-two", "{\"name\": \"lamol\"}", IT_TWO, 10, NULL);
  return lamol_result;
}

static JsonObject *
ssr_two (void)
{
  if (ssr_result == NULL)
    ssr_result = it_run ("ssr-two", "{\"name\": \"ssr\"}", IT_TWO, 10, NULL);
  return ssr_result;
}

/* `lifelong generate DIR --json ARGS...`: the generated text. */
static char *
it_generate (const char *dir, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("LIFELONG_EXE"));
  g_ptr_array_add (argv, (gpointer) "generate");
  g_ptr_array_add (argv, (gpointer) dir);
  g_ptr_array_add (argv, (gpointer) "--json");
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_autofree char *out = NULL, *err = NULL;
  if (tu_spawn ((const char *const *) argv->pdata, NULL, &out, &err) != 0)
    g_error ("lifelong generate failed: %s", err);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = json_from_string (out, &error);
  g_assert_no_error (error);
  return g_strdup (json_object_get_string_member (json_node_get_object (node), "text"));
}

/* LAMOL's pseudo-samples are the model's own generations: the model after
 * the first task, saved by a one-task run (the same training), sampled with
 * the seed the two-task run reports, writes exactly the text it replayed;
 * at the end the strategy holds only the task prefixes, no sample. */
static void
test_lamol_own_generations (void)
{
  g_autofree char *dir = cli_write ("lamol-one.model", "");
  g_remove (dir);
  const char *save[] = { "--save-model", dir, NULL };
  g_autoptr (JsonObject) one = it_run ("lamol-one", "{\"name\": \"lamol\"}", IT_ONE, 10, save);
  JsonObject *two = lamol_two ();
  it_check_result (two, 2, 2);
  JsonObject *st = json_object_get_object_member (two, "strategy");
  g_assert_cmpfloat (json_object_get_double_member (st, "real_samples_kept"), ==, 0);
  g_assert_cmpfloat (json_object_get_double_member (st, "pseudo_generated"), ==, 40);   /* 0.2 x 200 */
  g_assert_cmpfloat (json_object_get_double_member (st, "pseudo_kept"), >, 10);
  JsonObject *ex = json_object_get_object_member (st, "pseudo_examples");
  JsonArray *seeds = json_object_get_array_member (ex, "seeds");
  JsonArray *samples = json_object_get_array_member (ex, "samples");
  g_assert_cmpuint (json_array_get_length (seeds), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      JsonObject *s = json_array_get_object_element (samples, i);
      const char *text = json_object_get_string_member (s, "text");
      g_assert_true (g_str_has_prefix (text, "count-words: "));
      g_autofree char *seed = g_strdup_printf ("%" G_GINT64_FORMAT,
                                               json_object_get_int_member (json_array_get_object_element (seeds, i),
                                                                           "seed"));
      const char *args[] = { "--prompt", "count-words: ", "--seed", seed, "--temperature", "1", "--top-k", "20",
                             NULL };
      g_autofree char *gen = it_generate (dir, args);
      g_autofree char *full = g_strconcat ("count-words: ", gen, NULL);
      g_assert_cmpstr (full, ==, text);
    }
  /* what it keeps at the end: the two prefixes, with their terminators */
  JsonObject *mem = json_object_get_object_member (two, "memory_bytes");
  g_assert_cmpint (json_object_get_int_member (mem, "strategy"), ==,
                   (gint64) (strlen ("count-words: ") + 1 + strlen ("fortune-category: ") + 1));
}

/* Replaying its own pseudo-samples keeps the first task: less forgetting
 * than naive fine-tuning. */
static void
test_rehearsal_forgetting (void)
{
  g_autoptr (JsonObject) naive = it_run ("forget-naive", "{\"name\": \"naive\"}", IT_TWO, 10, NULL);
  JsonObject *lamol = lamol_two (), *ssr = ssr_two ();
  double fn = cli_metric (naive, "average_forgetting"), fl = cli_metric (lamol, "average_forgetting");
  double fs = cli_metric (ssr, "average_forgetting");
  g_test_message ("forgetting: naive %.4f, lamol %.4f, ssr %.4f (first task learned to %.2f / %.2f / %.2f)", fn, fl,
                  fs, cli_matrix (naive, 0, 0), cli_matrix (lamol, 0, 0), cli_matrix (ssr, 0, 0));
  /* naive learns the first task and loses most of it */
  g_assert_cmpfloat (cli_matrix (naive, 0, 0), >=, 0.5);
  g_assert_cmpfloat (fn, >=, 0.4);
  g_assert_cmpfloat (fl, <, fn - 0.2);
  g_assert_cmpfloat (fs, <, fn - 0.2);
}

/* SSR's replayed answers are the previous model's greedy answers to the
 * synthesized inputs: the model after the first task (a one-task run, the
 * same training) answers each reported input with exactly that text. */
static void
test_ssr_previous_answers (void)
{
  g_autofree char *dir = cli_write ("ssr-one.model", "");
  g_remove (dir);
  const char *save[] = { "--save-model", dir, NULL };
  g_autoptr (JsonObject) one = it_run ("ssr-one", "{\"name\": \"ssr\"}", IT_ONE, 10, save);
  JsonObject *two = ssr_two ();
  it_check_result (two, 2, 2);
  JsonObject *st = json_object_get_object_member (two, "strategy");
  g_assert_cmpfloat (json_object_get_double_member (st, "real_samples_kept"), ==, 0);
  g_assert_cmpfloat (json_object_get_double_member (st, "synthesized"), ==, 40);
  g_assert_cmpfloat (json_object_get_double_member (st, "kept"), >, 10);
  JsonArray *ex = json_object_get_array_member (st, "pseudo_examples");
  g_assert_cmpuint (json_array_get_length (ex), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      JsonObject *s = json_array_get_object_element (ex, i);
      const char *prompt = json_object_get_string_member (s, "prompt");
      g_assert_true (g_str_has_prefix (prompt, "count-words: ") && g_str_has_suffix (prompt, "\n"));
      const char *args[] = { "--prompt", prompt, "--temperature", "0", NULL };
      g_autofree char *gen = it_generate (dir, args);
      g_assert_cmpstr (gen, ==, json_object_get_string_member (s, "answer"));
    }
}

/* The classic and PEFT families run on the scenario unchanged: each gives
 * a valid exact-match matrix. */
static void
test_family (gconstpointer data)
{
  const char *strategy = data;
  g_autofree char *name = g_strdup_printf ("family-%u", g_str_hash (strategy));
  g_autoptr (JsonObject) res = it_run (name, strategy, IT_TWO, 1, NULL);
  /* joint trains once, at the end: one row */
  it_check_result (res, 2, strstr (strategy, "joint") ? 1 : 2);
}

/* Adapters route each sequence by the frozen model's features, a forward
 * inside the model's forward: the key/value cache cannot serve it, so the
 * transformer says so and the scenario generates without the cache (it
 * used to abort in the cache). */
static void
test_family_adapter (void)
{
  g_autoptr (JsonObject) res = it_run ("family-adapter", "{\"name\": \"adapter\"}", IT_TWO, 1, NULL);
  it_check_result (res, 2, 2);
  JsonObject *ins = json_object_get_object_member (res, "instruction");
  g_assert_false (json_object_get_boolean_member (ins, "kv_cache"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cli_init ("instruction-family");
  g_test_add_func ("/instruction/lamol/pseudo-samples-are-own-generations", test_lamol_own_generations);
  g_test_add_func ("/instruction/ssr/answers-are-previous-model-greedy", test_ssr_previous_answers);
  g_test_add_func ("/instruction/rehearsal/reduces-forgetting", test_rehearsal_forgetting);
  g_test_add_data_func ("/instruction/family/replay/er", "{\"name\": \"er\", \"buffer_size\": 50}", test_family);
  g_test_add_data_func ("/instruction/family/regularization/ewc", "{\"name\": \"ewc\"}", test_family);
  g_test_add_data_func ("/instruction/family/distillation/lwf", "{\"name\": \"lwf\"}", test_family);
  g_test_add_data_func ("/instruction/family/peft/lora", "{\"name\": \"lora\"}", test_family);
  g_test_add_data_func ("/instruction/family/peft/o-lora", "{\"name\": \"o-lora\"}", test_family);
  g_test_add_func ("/instruction/family/peft/adapter", test_family_adapter);
  g_test_add_data_func ("/instruction/family/peft/prompt", "{\"name\": \"prompt\"}", test_family);
  g_test_add_data_func ("/instruction/family/joint", "{\"name\": \"joint\"}", test_family);
  int rc = g_test_run ();
  g_clear_pointer (&lamol_result, json_object_unref);
  g_clear_pointer (&ssr_result, json_object_unref);
  cli_cleanup ();
  return rc;
}
