/* lifelong tests — the architecture family (packnet, hat, pnn, head-expansion),
 * each proven by its defining property through `lifelong run` on the
 * synthetic dataset:
 *   packnet: the weights a task kept are bitwise unchanged by later tasks
 *            (Adam with weight decay), each task keeps its share of the free
 *            weights, and a task's test accuracy never moves;
 *   hat: the task gates end up (almost) binary, and task-incremental
 *        forgetting is far below naive fine-tuning's;
 *   head-expansion: classes not seen yet get the pad logit and are never
 *                   predicted, the grown head's old rows are the previous
 *                   head's exactly.
 *   pnn: earlier columns are bitwise frozen, and a task's accuracy never
 *        moves.
 * Each also resumes from a checkpoint to the same result. */
#include "cli.h"
#include <math.h>
#include <string.h>

/* Task-incremental, 3 tasks of 2 classes.  Clusters close enough that naive
 * fine-tuning with Adam forgets task 0 (measured: forgetting 0.36). */
#define TASK_IL_DATA \
  " \"dataset\": {\"name\": \"synthetic\", \"classes\": 6, \"dim\": 32, \"train_per_class\": 200," \
  "               \"test_per_class\": 100, \"separation\": 1.0}," \
  " \"scenario\": {\"type\": \"task-incremental\", \"experiences\": 3},"

static char *
config (const char *name, const char *model, const char *strategy, const char *data, const char *train)
{
  g_autofree char *text = g_strdup_printf ("{\"model\": %s, \"strategy\": %s, %s \"train\": %s, \"seed\": 0}",
                                           model, strategy, data, train);
  return cli_write (name, text);
}

static const char *
figure_string (JsonObject *res, const char *key, guint i)
{
  JsonObject *s = json_object_get_object_member (res, "strategy");
  JsonNode *n = json_object_get_member (s, key);
  g_assert_nonnull (n);
  if (JSON_NODE_HOLDS_ARRAY (n))
    return json_array_get_string_element (json_node_get_array (n), i);
  return json_node_get_string (n);
}

static JsonArray *
figure_array (JsonObject *res, const char *key)
{
  JsonObject *s = json_object_get_object_member (res, "strategy");
  g_assert_true (json_object_has_member (s, key));
  return json_object_get_array_member (s, key);
}

/* ---- packnet ------------------------------------------------------------------- */

static const char pn_model[] = "{\"name\": \"mlp\", \"hidden\": [64, 64]}";
static const char pn_train[] = "{\"epochs\": 4, \"batch_size\": 32, \"lr\": 0.01, \"optimizer\": \"adam\", "
                               "\"weight_decay\": 0.01}";

static void
test_packnet_frozen_bitwise (void)
{
  g_autofree char *cfg = config ("packnet.json", pn_model, "{\"name\": \"packnet\"}", TASK_IL_DATA, pn_train);
  g_autoptr (JsonObject) res = cli_run_ok (cfg, "packnet.json.out", NULL);
  /* the weights task t kept (and, for task 0, the shared biases; its
   * classifier rows) hash the same when t finished and at the end of the
   * run: Adam's moments and weight decay never moved them */
  for (guint t = 0; t < 3; t++)
    {
      const char *own = figure_string (res, "task_hash_at_own_end", t);
      const char *fin = figure_string (res, "task_hash_final", t);
      g_test_message ("task %u: weights hash %s after its experience, %s at the end", t, own, fin);
      g_assert_cmpstr (own, ==, fin);
    }
  /* each task keeps (1 - prune_ratio) of what was free: 1/2, 1/4, 1/8 (the
   * layers' sizes are powers of two, so exactly) */
  JsonArray *fr = figure_array (res, "owned_fraction");
  g_assert_cmpuint (json_array_get_length (fr), ==, 3);
  g_assert_cmpfloat (json_array_get_double_element (fr, 0), ==, 0.5);
  g_assert_cmpfloat (json_array_get_double_element (fr, 1), ==, 0.25);
  g_assert_cmpfloat (json_array_get_double_element (fr, 2), ==, 0.125);
  g_assert_cmpfloat (cli_strategy_figure (res, "free_fraction"), ==, 0.125);
  /* a task's accuracy never moves: at test it sees the same weights (its
   * own and earlier tasks', bitwise unchanged; later tasks' masked to
   * zero) and the same logit mask, so the same arithmetic */
  for (guint j = 0; j < 3; j++)
    for (guint i = j + 1; i < 3; i++)
      g_assert_cmpfloat (cli_matrix (res, i, j), ==, cli_matrix (res, j, j));
  g_assert_cmpfloat (cli_metric (res, "average_forgetting"), ==, 0);
  g_test_message ("packnet R = [[%g], [%g, %g], [%g, %g, %g]]", cli_matrix (res, 0, 0), cli_matrix (res, 1, 0),
                  cli_matrix (res, 1, 1), cli_matrix (res, 2, 0), cli_matrix (res, 2, 1), cli_matrix (res, 2, 2));
  for (guint j = 0; j < 3; j++)
    g_assert_cmpfloat (cli_matrix (res, j, j), >, 0.8);
  cli_check_resume (cfg, "packnet", res);
}

static void
test_packnet_ratio_adamw (void)
{
  /* AdamW's decoupled decay, momentum kept across experiences, two
   * retraining epochs and prune_ratio 0.75: each task keeps a quarter of
   * what is free (512 + 1024 of 2048 + 4096 per layer, rounded per layer) */
  g_autofree char *cfg = config ("packnet-adamw.json", pn_model,
                                 "{\"name\": \"packnet\", \"prune_ratio\": 0.75, \"retrain_epochs\": 2}",
                                 TASK_IL_DATA,
                                 "{\"epochs\": 3, \"batch_size\": 32, \"lr\": 0.01, \"optimizer\": \"adamw\", "
                                 "\"weight_decay\": 0.1, \"reset_optimizer\": false}");
  g_autoptr (JsonObject) res = cli_run_ok (cfg, "packnet-adamw.json.out", NULL);
  JsonArray *fr = figure_array (res, "owned_fraction");
  double expect = 0.25, free_ = 1;
  for (guint t = 0; t < 3; t++)
    {
      g_assert_cmpfloat (fabs (json_array_get_double_element (fr, t) - expect), <, 1e-3);
      free_ -= json_array_get_double_element (fr, t);
      expect *= 0.75;
      g_assert_cmpstr (figure_string (res, "task_hash_at_own_end", t), ==, figure_string (res, "task_hash_final", t));
    }
  g_assert_cmpfloat (fabs (cli_strategy_figure (res, "free_fraction") - free_), <, 1e-12);
  g_assert_cmpfloat (cli_matrix (res, 2, 0), ==, cli_matrix (res, 0, 0));
  g_assert_cmpfloat (cli_matrix (res, 2, 1), ==, cli_matrix (res, 1, 1));
}

static void
test_packnet_needs_task_ids (void)
{
  g_autofree char *cfg = config ("packnet-cil.json", pn_model, "{\"name\": \"packnet\"}",
                                 " \"dataset\": {\"name\": \"synthetic\", \"classes\": 4, \"dim\": 8},"
                                 " \"scenario\": {\"type\": \"class-incremental\", \"experiences\": 2},",
                                 pn_train);
  g_autofree char *err = NULL;
  JsonObject *res = cli_run (cfg, "packnet-cil.json.out", NULL, &err);
  g_assert_null (res);
  g_assert_nonnull (strstr (err, "task"));
}

/* ---- hat ------------------------------------------------------------------------ */

static void
test_hat_forgets_less_than_naive (void)
{
  g_autofree char *hat = config ("hat.json", pn_model, "{\"name\": \"hat\"}", TASK_IL_DATA, pn_train);
  g_autofree char *naive = config ("hat-naive.json", pn_model, "{\"name\": \"naive\"}", TASK_IL_DATA, pn_train);
  g_autoptr (JsonObject) rh = cli_run_ok (hat, "hat.json.out", NULL);
  g_autoptr (JsonObject) rn = cli_run_ok (naive, "hat-naive.json.out", NULL);
  double fh = cli_metric (rh, "average_forgetting"), fn = cli_metric (rn, "average_forgetting");
  double ah = cli_metric (rh, "average_accuracy"), an = cli_metric (rn, "average_accuracy");
  g_test_message ("task-IL forgetting: hat %.4f, naive %.4f; average accuracy: hat %.4f, naive %.4f", fh, fn, ah, an);
  g_assert_cmpfloat (fn, >, 0.2);
  g_assert_cmpfloat (fh, <, 0.05);
  g_assert_cmpfloat (fh, <, fn / 4);
  g_assert_cmpfloat (ah, >, an);
  g_assert_cmpfloat (cli_strategy_figure (rh, "gate_distance_to_binary"), <, 0.01);
  double used = cli_strategy_figure (rh, "units_used");
  g_assert_cmpfloat (used, >, 0);
  g_assert_cmpfloat (used, <=, 1);
  cli_check_resume (hat, "hat", rh);
}

static void
test_hat_gates_saturate (void)
{
  /* the paper's optimizer (SGD, lr 0.05-0.1, s_max 400): the embeddings
   * move away from zero and every gate of every task ends at 0 or 1 */
  g_autofree char *cfg = config ("hat-sgd.json", pn_model, "{\"name\": \"hat\"}", TASK_IL_DATA,
                                 "{\"epochs\": 10, \"batch_size\": 32, \"lr\": 0.1, \"optimizer\": \"sgd\"}");
  g_autoptr (JsonObject) res = cli_run_ok (cfg, "hat-sgd.json.out", NULL);
  double d = cli_strategy_figure (res, "gate_distance_to_binary");
  double d0 = cli_strategy_figure (res, "gate_distance_to_binary_at_init");
  g_test_message ("mean |a - round(a)| at s_max: %.3g trained, %.3g at initialisation", d, d0);
  g_assert_cmpfloat (d, <, 1e-4);
  g_assert_cmpfloat (d, <, d0 / 100);
  JsonArray *per = figure_array (res, "gate_distance_to_binary_per_task");
  g_assert_cmpuint (json_array_get_length (per), ==, 3);
  g_assert_cmpfloat (cli_metric (res, "average_forgetting"), <, 0.02);
  g_assert_cmpfloat (cli_metric (res, "average_accuracy"), >, 0.8);
}

/* ---- pnn ------------------------------------------------------------------------ */

static void
test_pnn_columns_frozen (void)
{
  g_autofree char *cfg = config ("pnn.json", pn_model, "{\"name\": \"pnn\"}", TASK_IL_DATA, pn_train);
  g_autoptr (JsonObject) res = cli_run_ok (cfg, "pnn.json.out", NULL);
  g_assert_cmpfloat (cli_strategy_figure (res, "columns"), ==, 3);
  /* column k: its own weights and the laterals from the k columns before
   * it (32-64-64 MLP, 6 classes: 6662, then + 4096 per earlier column) */
  JsonArray *sizes = figure_array (res, "parameters_per_column");
  g_assert_cmpint (json_array_get_int_element (sizes, 0), ==, 6662);
  g_assert_cmpint (json_array_get_int_element (sizes, 1), ==, 6662 + 4096);
  g_assert_cmpint (json_array_get_int_element (sizes, 2), ==, 6662 + 2 * 4096);
  for (guint t = 0; t < 3; t++)
    g_assert_cmpstr (figure_string (res, "column_hash_at_own_end", t), ==, figure_string (res, "column_hash_final", t));
  /* a task runs through its own column, which later ones never feed:
   * the same arithmetic at every row of the matrix */
  for (guint j = 0; j < 3; j++)
    for (guint i = j + 1; i < 3; i++)
      g_assert_cmpfloat (cli_matrix (res, i, j), ==, cli_matrix (res, j, j));
  for (guint j = 0; j < 3; j++)
    g_assert_cmpfloat (cli_matrix (res, j, j), >, 0.8);
  cli_check_resume (cfg, "pnn", res);
}

/* ---- head-expansion ------------------------------------------------------------- */

static const char hx_data[] =
  " \"dataset\": {\"name\": \"synthetic\", \"classes\": 6, \"dim\": 32, \"train_per_class\": 200,"
  "               \"test_per_class\": 100},"
  " \"scenario\": {\"type\": \"class-incremental\", \"experiences\": 3%s},";
static const char hx_train[] = "{\"epochs\": 3, \"batch_size\": 32, \"lr\": 0.01}";

static void
check_head_expansion (JsonObject *res)
{
  JsonArray *w = figure_array (res, "head_width");
  g_assert_cmpuint (json_array_get_length (w), ==, 3);
  for (guint e = 0; e < 3; e++)
    g_assert_cmpint (json_array_get_int_element (w, e), ==, 2 * (e + 1));
  g_assert_cmpfloat (cli_strategy_figure (res, "growths"), ==, 2);
  /* the grown head's old rows are the previous head's, exactly */
  g_assert_cmpfloat (cli_strategy_figure (res, "copy_max_abs_diff"), ==, 0);
  /* every logit of a class not seen yet was the pad value, and none won */
  double pad = cli_strategy_figure (res, "pad_logit");
  g_assert_cmpfloat (pad, ==, -1e9);
  g_assert_cmpfloat (cli_strategy_figure (res, "unseen_logit_min"), ==, pad);
  g_assert_cmpfloat (cli_strategy_figure (res, "unseen_logit_max"), ==, pad);
  g_assert_cmpfloat (cli_strategy_figure (res, "unseen_predictions"), ==, 0);
  g_assert_cmpfloat (cli_strategy_figure (res, "eval_rows"), >, 0);
  /* seen from outside: a class-incremental experience whose classes have
   * not come yet scores exactly 0, even untrained */
  JsonArray *base = json_object_get_array_member (res, "baseline");
  for (guint j = 1; j < 3; j++)
    g_assert_cmpfloat (json_array_get_double_element (base, j), ==, 0);
  for (guint i = 0; i < 3; i++)
    {
      for (guint j = i + 1; j < 3; j++)
        g_assert_cmpfloat (cli_matrix (res, i, j), ==, 0);
      g_assert_cmpfloat (cli_matrix (res, i, i), >, 0.9);
    }
}

static void
test_head_expansion_pads_and_copies (void)
{
  /* classes in their natural order: the seen ones are a prefix, [h | pad] */
  g_autofree char *d1 = g_strdup_printf (hx_data, "");
  g_autofree char *c1 = config ("hx.json", "{\"name\": \"mlp\", \"hidden\": [64]}", "{\"name\": \"head-expansion\"}",
                                d1, hx_train);
  g_autoptr (JsonObject) r1 = cli_run_ok (c1, "hx.json.out", NULL);
  check_head_expansion (r1);
  /* a shuffled order: rows scattered into their classes' columns */
  g_autofree char *d2 = g_strdup_printf (hx_data, ", \"order_seed\": 3");
  g_autofree char *c2 = config ("hx-order.json", "{\"name\": \"mlp\", \"hidden\": [64]}",
                                "{\"name\": \"head-expansion\"}", d2, hx_train);
  g_autoptr (JsonObject) r2 = cli_run_ok (c2, "hx-order.json.out", NULL);
  check_head_expansion (r2);
  /* without freeze_old, the old rows keep learning (class-IL) */
  g_assert_cmpstr (figure_string (r1, "rows0_hash_after_experience0", 0), !=,
                   figure_string (r1, "rows0_hash_final", 0));
  cli_check_resume (c2, "hx-order", r2);
}

static void
test_head_expansion_freeze_old (void)
{
  g_autofree char *d = g_strdup_printf (hx_data, "");
  g_autofree char *cfg = config ("hx-freeze.json", "{\"name\": \"mlp\", \"hidden\": [64]}",
                                 "{\"name\": \"head-expansion\", \"freeze_old\": true}", d,
                                 "{\"epochs\": 3, \"batch_size\": 32, \"lr\": 0.01, \"weight_decay\": 0.01}");
  g_autoptr (JsonObject) res = cli_run_ok (cfg, "hx-freeze.json.out", NULL);
  check_head_expansion (res);
  /* experience 0's rows are bitwise those it ended with */
  g_assert_cmpstr (figure_string (res, "rows0_hash_after_experience0", 0), ==,
                   figure_string (res, "rows0_hash_final", 0));
  cli_check_resume (cfg, "hx-freeze", res);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cli_init ("architecture");
  g_test_add_func ("/architecture/packnet/frozen-bitwise", test_packnet_frozen_bitwise);
  g_test_add_func ("/architecture/packnet/ratio-adamw", test_packnet_ratio_adamw);
  g_test_add_func ("/architecture/packnet/needs-task-ids", test_packnet_needs_task_ids);
  g_test_add_func ("/architecture/hat/forgets-less-than-naive", test_hat_forgets_less_than_naive);
  g_test_add_func ("/architecture/hat/gates-saturate", test_hat_gates_saturate);
  g_test_add_func ("/architecture/pnn/columns-frozen", test_pnn_columns_frozen);
  g_test_add_func ("/architecture/head-expansion/pads-and-copies", test_head_expansion_pads_and_copies);
  g_test_add_func ("/architecture/head-expansion/freeze-old", test_head_expansion_freeze_old);
  int rc = g_test_run ();
  cli_cleanup ();
  return rc;
}
