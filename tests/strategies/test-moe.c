/* lifelong tests — the mixture-of-experts layer and the moe, lifelong-moe
 * and cl-moe strategies, each shown by its defining property:
 *   - the layer: one expert with k = 1, or N identical (upcycled) copies,
 *     computes exactly the dense feed-forward it replaced; every token goes
 *     to exactly k experts; padding is not routed; counts sum to k x tokens;
 *   - lifelong-moe: earlier groups of experts and router rows are bitwise
 *     unchanged after later experiences, the new experts get gradients,
 *     routing stays top-k as experts are added;
 *   - cl-moe: the momentum merge is the formula on hand-made tensors, the
 *     lambdas it applied follow the shared/specific/other rule from the
 *     experts each task used most;
 *   - every method: expert_utilization per experience, at the result's top
 *     level (not in its "strategy" section), sums to the tokens;
 *   - lifelong-moe killed after experience 1 and resumed gives the
 *     uninterrupted matrix, utilization and figures.
 * Tiny configs: the transformer d_model 32, 2 layers, context 32, on
 * Debian's fortunes (continual pre-training). */
#include "cli.h"
#include "../../plugins/strategies/moe-layer.h"
#include <math.h>
#include <string.h>

#define FORTUNES "/usr/share/games/fortunes"

static gboolean
have_fortunes (void)
{
  if (g_file_test (FORTUNES "/computers", G_FILE_TEST_IS_REGULAR))
    return TRUE;
  g_test_skip ("Debian's fortunes are not installed in " FORTUNES);
  return FALSE;
}

/* ---- the layer, in process ------------------------------------------------ */

static void
fill_uniform (LfTensor *t, uint64_t seed, double scale)
{
  for (int64_t i = 0; i < lf_tensor_numel (t); i++)
    lf_tensor_data (t)[i] = (LfReal) (scale * (2 * lf_rng_uniform_at (seed, (uint64_t) i) - 1));
}

/* root "" -> "mlp", a SwiGLU 16 -> 24 -> 16 with random weights */
static LfModule *
dense_tree (void)
{
  LfModule *root = lf_module_new ("", LF_MODULE_CONTAINER, NULL, NULL);
  lf_module_add_child (root, moe_swiglu_new ("mlp", 16, 24));
  g_autoptr (GPtrArray) ps = lf_module_params (root, "*", FALSE);
  for (guint i = 0; i < ps->len; i++)
    fill_uniform (ps->pdata[i], 100 + i, 0.3);
  return root;
}

/* y of the tree's mlp on x (2, 5, 16) as an owned copy; training records stats */
static LfTensor *
run_mlp (LfModule *root, const LfBatch *batch, gboolean training)
{
  int64_t xs[3] = { 2, 5, 16 };
  lf_tape_push (training);
  LfTensor *x = lf_tensor_new (3, xs);
  fill_uniform (x, 7, 1);
  LfForward fwd = { .struct_size = sizeof fwd, .batch = batch, .training = training };
  LfTensor *y = lf_tensor_clone_owned (lf_module_forward (lf_module_find (root, "mlp"), x, &fwd));
  lf_tape_pop ();
  return y;
}

static double
max_abs_diff (LfTensor *a, LfTensor *b)
{
  double m = 0;
  for (int64_t i = 0; i < lf_tensor_numel (a); i++)
    m = MAX (m, fabs ((double) lf_tensor_data (a)[i] - (double) lf_tensor_data (b)[i]));
  return m;
}

static void
test_dense_equivalence (void)
{
  struct { int64_t n, k; gboolean norm_all; double tol; } cases[] = {
    { 1, 1, FALSE, 0 },       /* gate exactly 1: the same GEMMs on the same rows */
    { 1, 1, TRUE, 0 },
    { 4, 2, FALSE, 1e-6 },    /* identical copies: sum_i g_i E (x) with sum g_i = 1 */
    { 6, 3, FALSE, 1e-6 },
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr (LfModule) root = dense_tree ();
      g_autoptr (LfTensor) y0 = run_mlp (root, NULL, FALSE);
      g_autoptr (GError) error = NULL;
      LfModule *moe = moe_layer_replace (lf_module_find (root, "mlp"), cases[c].n, cases[c].k, TRUE,
                                         cases[c].norm_all, 5, &error);
      g_assert_no_error (error);
      g_assert_true (lf_module_find (root, "mlp") == moe);
      g_assert_nonnull (lf_module_find (root, "mlp.experts.0.up_proj"));
      g_autoptr (LfTensor) y1 = run_mlp (root, NULL, FALSE);
      double diff = max_abs_diff (y0, y1);
      g_test_message ("%" G_GINT64_FORMAT " experts, top-%" G_GINT64_FORMAT ", %s: max |moe - dense| = %.3g",
                      cases[c].n, cases[c].k, cases[c].norm_all ? "softmax-all" : "softmax-topk", diff);
      g_assert_cmpfloat (diff, <=, cases[c].tol);
    }
}

/* every routed token goes to exactly k experts; padding is not routed
 * (its output is 0); the counters sum to k x tokens */
static void
test_exactly_k (void)
{
  g_autoptr (LfModule) root = dense_tree ();
  g_autoptr (GError) error = NULL;
  LfModule *moe = moe_layer_replace (lf_module_find (root, "mlp"), 6, 2, FALSE, FALSE, 9, &error);
  g_assert_no_error (error);
  MoeLayer *s = moe_layer_state (moe);
  /* two sequences of 5: the second has 2 padding positions at its end */
  int32_t tokens[10] = { 256, 65, 66, 67, 257, 256, 70, 257, LF_TOKEN_PAD, LF_TOKEN_PAD };
  int64_t ids[2] = { 0, 1 };
  LfBatch b = { .struct_size = sizeof b, .n = 2, .tokens = tokens, .seq_len = 5, .sample_ids = ids };
  g_autoptr (LfTensor) y = run_mlp (root, &b, TRUE);
  g_assert_cmpint (s->tokens, ==, 8);
  g_assert_cmpint (s->min_per_token, ==, 2);
  g_assert_cmpint (s->max_per_token, ==, 2);
  int64_t sum = 0, used = 0;
  for (int64_t e = 0; e < s->n_experts; e++)
    {
      sum += s->counts[e];
      used += s->counts[e] > 0;
    }
  g_assert_cmpint (sum, ==, 2 * 8);
  g_assert_cmpint (used, >=, 2);
  for (int64_t i = 8 * 16; i < 10 * 16; i++)
    g_assert_cmpfloat (lf_tensor_data (y)[i], ==, 0);
  /* evaluation collects nothing */
  g_autoptr (LfTensor) y2 = run_mlp (root, &b, FALSE);
  g_assert_cmpint (s->tokens, ==, 8);
}

/* theta = lambda old + (1 - lambda) new, and the lambda of each kind */
static void
test_momentum_formula (void)
{
  LfReal theta[4] = { 1, 2, -3, 0.5f }, old[4] = { 5, 5, 1, 0.5f };
  moe_momentum_merge (theta, old, 4, 0.7);
  const double want[4] = { 0.7 * 5 + 0.3 * 1, 0.7 * 5 + 0.3 * 2, 0.7 * 1 - 0.3 * 3, 0.5 };
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat_with_epsilon (theta[i], want[i], 1e-6);
  /* experts 0..4: used now and before (shared), now only (specific), before
   * only and neither (other) */
  const uint8_t now[5] = { 1, 1, 0, 0, 1 }, before[5] = { 1, 0, 1, 0, 0 };
  double lambda[5];
  moe_momentum_lambdas (now, before, 5, 0.9, 0.2, 1.0, lambda);
  const double wl[5] = { 0.9, 0.2, 1.0, 1.0, 0.2 };
  for (int i = 0; i < 5; i++)
    g_assert_cmpfloat (lambda[i], ==, wl[i]);
  int64_t counts[5] = { 3, 9, 9, 0, 4 };
  uint8_t top[5];
  moe_most_used (counts, 5, 2, top);
  g_assert_true (!top[0] && top[1] && top[2] && !top[3] && !top[4]);
}

/* ---- the strategies, through the executable --------------------------------- */

static char *
strategy_config (const char *strategy, int domains)
{
  const char *doms = domains == 3 ? "[\"en/computers\", \"en/science\", \"de/computer\"]"
                                  : "[\"en/computers\", \"en/science\"]";
  return g_strdup_printf (
    "{\"model\": {\"name\": \"transformer\", \"d_model\": 32, \"layers\": 2, \"heads\": 2, \"context\": 32},"
    " \"strategy\": %s, \"dataset\": {\"name\": \"fortunes\", \"domains\": %s},"
    " \"scenario\": {\"type\": \"continual-pretraining\", \"context\": 32},"
    " \"train\": {\"batch_size\": 16, \"lr\": 0.003, \"tokens\": 2000}, \"seed\": 0, \"threads\": 1}",
    strategy, doms);
}

static JsonObject *
run_strategy (const char *name, const char *strategy, int domains)
{
  g_autofree char *text = strategy_config (strategy, domains);
  return cli_run_text (name, text);
}

static JsonArray *
figure_array (JsonObject *res, const char *key)
{
  JsonObject *s = json_object_get_object_member (res, "strategy");
  g_assert_true (json_object_has_member (s, key));
  return json_object_get_array_member (s, key);
}

/* per experience and layer: counts sum to (between k and kmax) x tokens,
 * fractions to 1; the layer's tokens are the experience's */
static void
check_utilization (JsonObject *res, int64_t n_exp, int64_t k, int64_t kmax)
{
  /* one place: the top level */
  g_assert_false (json_object_has_member (json_object_get_object_member (res, "strategy"), "expert_utilization"));
  g_assert_true (json_object_has_member (res, "expert_utilization"));
  JsonArray *u = json_object_get_array_member (res, "expert_utilization");
  g_assert_cmpint (json_array_get_length (u), ==, n_exp);
  for (guint e = 0; e < json_array_get_length (u); e++)
    {
      JsonObject *ex = json_array_get_object_element (u, e);
      g_assert_cmpint (json_object_get_int_member (ex, "experience"), ==, e);
      int64_t tokens = json_object_get_int_member (ex, "tokens");
      g_assert_cmpint (tokens, >, 0);
      JsonObject *layers = json_object_get_object_member (ex, "layers");
      g_assert_cmpint (json_object_get_size (layers), ==, 2);
      g_autoptr (GList) names = json_object_get_members (layers);
      for (GList *l = names; l; l = l->next)
        {
          JsonObject *lo = json_object_get_object_member (layers, l->data);
          g_assert_cmpint (json_object_get_int_member (lo, "tokens"), ==, tokens);
          JsonArray *c = json_object_get_array_member (lo, "counts"), *f = json_object_get_array_member (lo, "fractions");
          int64_t sum = 0;
          double fs = 0;
          for (guint i = 0; i < json_array_get_length (c); i++)
            {
              sum += json_array_get_int_element (c, i);
              fs += json_array_get_double_element (f, i);
            }
          if (k == kmax)
            g_assert_cmpint (sum, ==, k * tokens);
          else
            g_assert_true (sum >= k * tokens && sum <= kmax * tokens);
          g_assert_cmpfloat (fabs (fs - 1), <, 1e-4);
        }
    }
}

static void
test_moe_baseline (void)
{
  if (!have_fortunes ())
    return;
  g_autoptr (JsonObject) res = run_strategy ("moe", "{\"name\": \"moe\", \"experts\": 4, \"top_k\": 2}", 2);
  check_utilization (res, 2, 2, 2);
  g_assert_cmpfloat (cli_strategy_figure (res, "experts_per_token_min"), ==, 2);
  g_assert_cmpfloat (cli_strategy_figure (res, "experts_per_token_max"), ==, 2);
  g_assert_cmpfloat (cli_strategy_figure (res, "aux_loss_last"), >=, 1.0 - 1e-6);  /* N sum f P >= 1 */
}

static void
test_lifelong_moe (void)
{
  if (!have_fortunes ())
    return;
  g_autoptr (JsonObject) res = run_strategy ("lifelong-moe",
    "{\"name\": \"lifelong-moe\", \"experts\": 4, \"top_k\": 2, \"grow\": 2}", 3);
  /* 4 + 2 + 2 experts; still two per token */
  JsonArray *per = figure_array (res, "experts_per_layer");
  for (guint i = 0; i < json_array_get_length (per); i++)
    g_assert_cmpint (json_array_get_int_element (per, i), ==, 8);
  g_assert_cmpfloat (cli_strategy_figure (res, "experts_per_token_min"), ==, 2);
  g_assert_cmpfloat (cli_strategy_figure (res, "experts_per_token_max"), ==, 2);
  /* groups 0 and 1 frozen at the starts of experiences 1 and 2: bitwise
   * the same at the end */
  JsonArray *at = figure_array (res, "frozen_group_hash_at_freeze"), *end = figure_array (res, "frozen_group_hash_end");
  g_assert_cmpint (json_array_get_length (at), ==, 2);
  for (guint g = 0; g < 2; g++)
    {
      g_test_message ("group %u: %s at freeze, %s at the end", g, json_array_get_string_element (at, g),
                      json_array_get_string_element (end, g));
      g_assert_cmpstr (json_array_get_string_element (at, g), ==, json_array_get_string_element (end, g));
    }
  /* the new experts get gradients; the distillation is on */
  g_assert_cmpfloat (cli_strategy_figure (res, "new_experts_grad_abs_sum_min"), >, 0);
  g_assert_cmpfloat (cli_strategy_figure (res, "distill_last"), >, 0);
  check_utilization (res, 3, 2, 2);
  /* the parameter count: 3 groups, per layer 8 experts of 3 x 32 x 96 and 8 router rows of 32 */
  JsonObject *params = json_object_get_object_member (res, "parameters");
  g_assert_cmpint (json_object_get_int_member (params, "trainable"), <, json_object_get_int_member (params, "total"));
}

static void
test_cl_moe (void)
{
  if (!have_fortunes ())
    return;
  g_autoptr (JsonObject) res = run_strategy ("cl-moe",
    "{\"name\": \"cl-moe\", \"experts\": 4, \"top_k\": 1, \"lambda_shared\": 0.6, \"lambda_specific\": 0.25,"
    " \"lambda_other\": 0.9}", 3);
  /* G_I's k plus G_T's k: one or two experts per token */
  check_utilization (res, 3, 1, 2);
  JsonArray *used = figure_array (res, "task_experts"), *lam = figure_array (res, "momentum_lambdas");
  g_assert_cmpint (json_array_get_length (used), ==, 3);
  for (guint e = 1; e < 3; e++)
    for (guint l = 0; l < 2; l++)
      {
        uint8_t now[4] = { 0 }, before[4] = { 0 };
        JsonArray *un = json_array_get_array_element (json_array_get_array_element (used, e), l);
        for (guint i = 0; i < json_array_get_length (un); i++)
          now[json_array_get_int_element (un, i)] = 1;
        for (guint j = 0; j < e; j++)
          {
            JsonArray *ub = json_array_get_array_element (json_array_get_array_element (used, j), l);
            for (guint i = 0; i < json_array_get_length (ub); i++)
              before[json_array_get_int_element (ub, i)] = 1;
          }
        JsonArray *la = json_array_get_array_element (json_array_get_array_element (lam, e), l);
        for (guint i = 0; i < 4; i++)
          {
            double want = !now[i] ? 0.9 : before[i] ? 0.6 : 0.25;
            g_assert_cmpfloat_with_epsilon (json_array_get_double_element (la, i), want, 1e-9);
          }
      }
}

/* lifelong-moe (growing at experiences 1 and 2) killed right after the
 * checkpoint of experience 1 (index 1: the model has grown once) and
 * resumed: the matrix, the utilization of every experience (the earlier
 * ones from the checkpoint) and the figures are the uninterrupted run's. */
static void
test_lifelong_moe_resume (void)
{
  if (!have_fortunes ())
    return;
  g_autofree char *text = strategy_config ("{\"name\": \"lifelong-moe\", \"experts\": 2, \"top_k\": 1, \"grow\": 1}", 3);
  g_autofree char *cfg = cli_write ("lmoe-resume.json", text);
  g_autoptr (JsonObject) full = cli_run (cfg, "lmoe-full.json", NULL, NULL);
  g_assert_nonnull (full);
  g_setenv ("LIFELONG_TEST_ABORT_AFTER_EXPERIENCE", "1", TRUE);
  g_autofree char *err = NULL;
  JsonObject *none = cli_run (cfg, "lmoe-cut.json", NULL, &err);
  g_unsetenv ("LIFELONG_TEST_ABORT_AFTER_EXPERIENCE");
  g_assert_null (none);
  /* it died after writing the checkpoint the resume starts from */
  g_autofree char *folder = g_path_get_dirname (cfg);
  g_autofree char *ckpt = g_build_filename (folder, "lmoe-cut.ckpt.safetensors", NULL);
  g_assert_true (g_file_test (ckpt, G_FILE_TEST_IS_REGULAR));
  const char *resume[] = { "--resume", NULL };
  g_autofree char *rerr = NULL;
  g_autoptr (JsonObject) resumed = cli_run (cfg, "lmoe-cut.json", resume, &rerr);
  if (resumed == NULL)
    g_printerr ("%s", rerr);
  g_assert_nonnull (resumed);
  check_utilization (resumed, 3, 1, 1);
  static const char *const keys[] = { "matrix", "expert_utilization", "strategy" };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autofree char *a = cli_member_json (full, keys[i]), *b = cli_member_json (resumed, keys[i]);
      g_test_message ("%s: %s", keys[i], b);
      g_assert_cmpstr (a, ==, b);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cli_init ("moe");
  g_test_add_func ("/moe/layer/dense-equivalence", test_dense_equivalence);
  g_test_add_func ("/moe/layer/exactly-k", test_exactly_k);
  g_test_add_func ("/moe/cl-moe/momentum-formula", test_momentum_formula);
  g_test_add_func ("/moe/moe/utilization", test_moe_baseline);
  g_test_add_func ("/moe/lifelong-moe/frozen-new-grad-top-k", test_lifelong_moe);
  g_test_add_func ("/moe/cl-moe/merge-rule", test_cl_moe);
  g_test_add_func ("/moe/lifelong-moe/resume", test_lifelong_moe_resume);
  int rc = g_test_run ();
  cli_cleanup ();
  return rc;
}
