/* lifelong tests — prompt tuning, L2P, prefix tuning and adapters, each
 * shown by its defining property: the base weights are bitwise unchanged,
 * the trainable parameter counts are exact, the prompt pool's selection
 * picks the expected keys (the selection function itself, on hand-made
 * keys and queries), the attention reads the prefixes (and with the
 * reparameterisation the trained parameters are the MLP's), a new adapter
 * set leaves the output bitwise unchanged, task ids pick each task's
 * adapter and prompt, every state survives --resume, and a training step
 * runs fewer GEMMs than full fine-tuning (counted, not timed).
 *
 * Tiny configs: the transformer d_model 32, 1 layer, 2 heads, context 32 on
 * Debian's fortunes (text-classification: 4 domains in 2 experiences, or
 * continual pre-training on 2 domains); the MLP on the synthetic data. */
#include "cli.h"
#include "run.h"
#include "../../plugins/strategies/peft-common.h"
#include <math.h>
#include <string.h>

#define FORTUNES "/usr/share/games/fortunes"

static const char *const tf = "{\"name\": \"transformer\", \"d_model\": 32, \"layers\": 1, \"heads\": 2, \"context\": 32}";
static const char *const fort4 =
  "{\"name\": \"fortunes\", \"domains\": [\"en/computers\", \"en/science\", \"en/literature\", \"en/linux\"]}";
static const char *const fort2 = "{\"name\": \"fortunes\", \"domains\": [\"en/computers\", \"en/science\"]}";
static const char *const tc2 = "{\"type\": \"text-classification\", \"experiences\": 2, \"context\": 32}";
static const char *const ti2 = "{\"type\": \"task-incremental\", \"experiences\": 2, \"context\": 32}";
static const char *const cpt = "{\"type\": \"continual-pretraining\", \"context\": 32}";
static const char *const train_tc = "{\"batch_size\": 16, \"lr\": 0.01, \"epochs\": 1}";
static const char *const train_lm = "{\"batch_size\": 16, \"lr\": 0.003, \"tokens\": 3000}";
static const char *const mlp = "{\"name\": \"mlp\", \"hidden\": [32, 32]}";
static const char *const synth =
  "{\"name\": \"synthetic\", \"classes\": 6, \"dim\": 16, \"train_per_class\": 100, \"test_per_class\": 50}";
static const char *const train_mlp = "{\"epochs\": 5, \"batch_size\": 32, \"lr\": 0.01}";

static gboolean
have_fortunes (void)
{
  if (g_file_test (FORTUNES "/computers", G_FILE_TEST_IS_REGULAR))
    return TRUE;
  g_test_skip ("Debian's fortunes are not installed in " FORTUNES);
  return FALSE;
}

static char *
config_text (const char *model, const char *strategy, const char *dataset, const char *scenario, const char *train)
{
  return g_strdup_printf ("{\"model\": %s, \"strategy\": %s, \"dataset\": %s, \"scenario\": %s, \"train\": %s,"
                          " \"seed\": 0, \"threads\": 1}", model, strategy, dataset, scenario, train);
}

static JsonObject *
run_config (const char *name, const char *model, const char *strategy, const char *dataset, const char *scenario,
            const char *train)
{
  g_autofree char *text = config_text (model, strategy, dataset, scenario, train);
  return cli_run_text (name, text);
}

static const char *
figure_string (JsonObject *res, const char *key)
{
  JsonObject *s = json_object_get_object_member (res, "strategy");
  g_assert_true (json_object_has_member (s, key));
  return json_object_get_string_member (s, key);
}

static JsonArray *
figure_array (JsonObject *res, const char *key)
{
  JsonObject *s = json_object_get_object_member (res, "strategy");
  JsonArray *a = json_object_get_array_member (s, key);
  g_assert_nonnull (a);
  return a;
}

/* ---- the base is frozen, the counts are exact ------------------------------ */

/* d 32, one layer (kv_dim 32), 4 classes: the head "score" has 4 x 32 = 128
 * weights (no bias); the MLP's head 32 x 6 + 6 = 198. */
static void
test_frozen_and_counts (void)
{
  if (!have_fortunes ())
    return;
  struct {
    const char *name, *model, *strategy, *dataset, *scenario, *train;
    int64_t per_experience, strategy_total;
  } cases[] = {
    /* P d = 320 per experience, + the head */
    { "prompt-tc", tf, "{\"name\": \"prompt\"}", fort4, tc2, train_tc, 320 + 128, 2 * 320 },
    { "prompt-tc-nohead", tf, "{\"name\": \"prompt\", \"train_head\": false}", fort4, tc2, train_tc, 320, 640 },
    { "prompt-lm", tf, "{\"name\": \"prompt\"}", fort2, cpt, train_lm, 320, 640 },
    /* a pool of 10 prompts of 5 tokens and 10 keys: 1600 + 320 */
    { "l2p-tc", tf, "{\"name\": \"l2p\"}", fort4, tc2, train_tc, 1920 + 128, 1920 },
    { "l2p-lm", tf, "{\"name\": \"l2p\"}", fort2, cpt, train_lm, 1920, 1920 },
    /* keys and values: 2 x 10 x 32 per layer */
    { "prefix-tc", tf, "{\"name\": \"prefix\"}", fort4, tc2, train_tc, 640 + 128, 2 * 640 },
    { "prefix-lm", tf, "{\"name\": \"prefix\"}", fort2, cpt, train_lm, 640, 2 * 640 },
    /* reparameterised: E (10 x 32) + down (16 x 32 + 16) + up (64 x 16 + 64) = 1936,
     * and no per-layer key/value parameter */
    { "prefix-reparam", tf, "{\"name\": \"prefix\", \"reparam_hidden\": 16}", fort4, tc2, train_tc, 1936 + 128,
      2 * 1936 },
    /* two targets (attention, feed-forward) x (32 x 16 + 16 + 16 x 32 + 32) = 2144 */
    { "adapter-tc", tf, "{\"name\": \"adapter\"}", fort4, tc2, train_tc, 2144 + 128, 2 * 2144 },
    { "adapter-lm", tf, "{\"name\": \"adapter\"}", fort2, cpt, train_lm, 2144, 2 * 2144 },
    /* attention only, r 8: 32 x 8 + 8 + 8 x 32 + 32 = 552 */
    { "adapter-attn", tf, "{\"name\": \"adapter\", \"where\": \"attention\", \"bottleneck\": 8}", fort4, tc2,
      train_tc, 552 + 128, 2 * 552 },
    /* the MLP 16-32-32: after layers.0 and layers.1, r 8: 2 x 552, 3 experiences */
    { "adapter-mlp", mlp, "{\"name\": \"adapter\", \"bottleneck\": 8}", synth,
      "{\"type\": \"class-incremental\", \"experiences\": 3}", train_mlp, 1104 + 198, 3 * 1104 },
  };
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autoptr (JsonObject) res = run_config (cases[k].name, cases[k].model, cases[k].strategy, cases[k].dataset,
                                               cases[k].scenario, cases[k].train);
      const char *h0 = figure_string (res, "base_hash_start"), *h1 = figure_string (res, "base_hash_end");
      JsonArray *tr = figure_array (res, "trainable_per_experience");
      g_autofree char *trs = cli_member_json (json_object_get_object_member (res, "strategy"), "trainable_per_experience");
      double total = cli_strategy_figure (res, "strategy_parameters");
      g_test_message ("%s: base hash %s -> %s, trainable per experience %s, strategy parameters %g", cases[k].name,
                      h0, h1, trs, total);
      g_assert_cmpstr (h0, ==, h1);
      g_assert_cmpuint (json_array_get_length (tr), >=, 2);
      for (guint e = 0; e < json_array_get_length (tr); e++)
        g_assert_cmpint (json_array_get_int_element (tr, e), ==, cases[k].per_experience);
      g_assert_cmpfloat (total, ==, (double) cases[k].strategy_total);
      /* the host counts what trained in the last experience, not the
       * frozen modules at the end */
      JsonObject *params = json_object_get_object_member (res, "parameters");
      g_assert_cmpint (json_object_get_int_member (params, "trainable"), ==, cases[k].per_experience);
    }
}

/* Prompts, prefixes and L2P need a token embedding / attention: the host
 * refuses them on the MLP before the run starts, naming both. */
static void
test_transformer_only (void)
{
  const char *names[] = { "prompt", "l2p", "prefix" };
  for (guint k = 0; k < G_N_ELEMENTS (names); k++)
    {
      g_autofree char *st = g_strdup_printf ("{\"name\": \"%s\"}", names[k]);
      g_autofree char *text = config_text (mlp, st, synth, "{\"type\": \"class-incremental\", \"experiences\": 2}",
                                           train_mlp);
      g_autofree char *cfg_name = g_strdup_printf ("refuse-%s.json", names[k]);
      g_autofree char *cfg = cli_write (cfg_name, text);
      g_autofree char *err = NULL;
      JsonObject *res = cli_run (cfg, "refused.json", NULL, &err);
      g_assert_null (res);
      g_test_message ("%s on the mlp: %s", names[k], err);
      g_autofree char *who = g_strdup_printf ("strategy %s", names[k]);
      g_assert_nonnull (strstr (err, who));
      g_assert_nonnull (strstr (err, "mlp"));
    }
}

/* ---- selection ------------------------------------------------------------------ */

/* The pool's selection on hand-made keys: cosine (so a key's length does
 * not matter), best first, ties to the lower index, a zero query similar
 * to nothing; top 1 is the adapter's key matching. */
static void
test_select_topn (void)
{
  const LfReal keys[5 * 3] = {
    1, 0, 0,       /* 0 */
    0, 5, 0,       /* 1: e2, long */
    0, 0, 1,       /* 2 */
    1, 1, 0,       /* 3 */
    -1, 0, 0,      /* 4 */
  };
  const LfReal q[5 * 3] = {
    2, 0.2f, 0,    /* nearest 0, then 3 */
    0, 0, 3,       /* 2, then a tie of 0, 1, 3 at 0: the lowest, 0 */
    1, 1, 0,       /* 3, then 0 and 1 tie (0.707): 0 */
    0, 0, 0,       /* all 0: 0, 1 */
    -1, -0.1f, 0,  /* 4, then 2 (0 beats the negative ones) */
  };
  const int32_t want[5 * 2] = { 0, 3, 2, 0, 3, 0, 0, 1, 4, 2 };
  int32_t got[5 * 2];
  peft_select_topn (q, 5, keys, 5, 3, 2, got);
  for (int i = 0; i < 10; i++)
    g_assert_cmpint (got[i], ==, want[i]);
  /* top 1: each query of a cluster finds its own key */
  const LfReal centers[3 * 3] = { 3, 0, 0, 0, 0.1f, 0, 0, 0, 7 };
  const LfReal samples[4 * 3] = { 0.9f, 0.2f, -0.1f, 0.1f, 2, 0.3f, -0.2f, 0.1f, 1, 0.5f, 0.4f, 0.1f };
  const int32_t want1[4] = { 0, 1, 2, 0 };
  int32_t got1[4];
  peft_select_topn (samples, 4, centers, 3, 3, 1, got1);
  for (int i = 0; i < 4; i++)
    g_assert_cmpint (got1[i], ==, want1[i]);
}

/* L2P picks top_n prompts for every training sample, and its key-matching
 * loss pulls the selected keys (the pool is task-agnostic: no task id). */
static void
test_l2p_run (void)
{
  if (!have_fortunes ())
    return;
  g_autoptr (JsonObject) res = run_config ("l2p-sel", tf, "{\"name\": \"l2p\", \"top_n\": 3}", fort4, tc2, train_tc);
  JsonArray *sel = figure_array (res, "selected_in_training");
  int64_t sum = 0, used = 0;
  for (guint m = 0; m < json_array_get_length (sel); m++)
    {
      sum += json_array_get_int_element (sel, m);
      used += json_array_get_int_element (sel, m) > 0;
    }
  JsonObject *thr = json_object_get_object_member (res, "throughput");
  int64_t samples = json_object_get_int_member (thr, "train_samples");
  g_test_message ("l2p top 3: %" G_GINT64_FORMAT " selections over %" G_GINT64_FORMAT " training samples, %"
                  G_GINT64_FORMAT " of 10 prompts used, key pull at the last step %g", sum, samples, used,
                  cli_strategy_figure (res, "key_pull_last"));
  g_assert_cmpint (sum, ==, 3 * samples);
  g_assert_cmpint (used, >=, 3);
  g_assert_cmpfloat (cli_strategy_figure (res, "key_pull_last"), >=, 0.0);
}

/* ---- prompts and task ids ------------------------------------------------------------ */

/* With task ids every test sample reads its task's prompt; with the head
 * frozen (train_head false), a task's accuracy is then the same number
 * after any later experience: R[1][0] == R[0][0], bit for bit. */
static void
test_prompt_task_ids (void)
{
  if (!have_fortunes ())
    return;
  const char *train = "{\"batch_size\": 16, \"lr\": 0.03, \"epochs\": 3}";
  g_autoptr (JsonObject) ti = run_config ("prompt-ti", tf, "{\"name\": \"prompt\", \"train_head\": false}", fort4, ti2,
                                          train);
  g_autoptr (JsonObject) tc = run_config ("prompt-tc-latest", tf, "{\"name\": \"prompt\", \"train_head\": false}",
                                          fort4, tc2, train);
  g_autofree char *mt = cli_member_json (ti, "matrix"), *mc = cli_member_json (tc, "matrix");
  g_test_message ("prompt, task ids: %s (by task id %g, latest %g); without: %s", mt,
                  cli_strategy_figure (ti, "eval_samples_by_task_id"),
                  cli_strategy_figure (ti, "eval_samples_latest_prompt"), mc);
  g_assert_cmpfloat (cli_matrix (ti, 1, 0), ==, cli_matrix (ti, 0, 0));
  g_assert_cmpfloat (cli_strategy_figure (ti, "eval_samples_by_task_id"), >, 0);
  g_assert_cmpfloat (cli_strategy_figure (ti, "eval_samples_latest_prompt"), ==, 0);
  g_assert_cmpfloat (cli_strategy_figure (tc, "eval_samples_by_task_id"), ==, 0);
}

/* ---- prefixes ------------------------------------------------------------------------- */

/* The attention reads the strategy's prefixes: at the start of each
 * experience the logits with them differ from the logits without (the
 * slot's exact semantics, keys and values placed before the sequence, are
 * tests/test-transformer-ops.c's). */
static void
test_prefix_read (void)
{
  if (!have_fortunes ())
    return;
  const char *strategies[] = { "{\"name\": \"prefix\"}", "{\"name\": \"prefix\", \"reparam_hidden\": 16}" };
  for (guint k = 0; k < G_N_ELEMENTS (strategies); k++)
    {
      g_autofree char *name = g_strdup_printf ("prefix-read%u", k);
      g_autoptr (JsonObject) res = run_config (name, tf, strategies[k], fort4, tc2, train_tc);
      double e0 = cli_strategy_figure (res, "prefix_effect_at_start_0");
      double e1 = cli_strategy_figure (res, "prefix_effect_at_start_1");
      g_test_message ("%s: max |logit change| from the prefixes at the start of experience 1: %g, 2: %g",
                      strategies[k], e0, e1);
      g_assert_cmpfloat (e0, >, 0);
      g_assert_cmpfloat (e1, >, 0);
      g_assert_cmpfloat (cli_strategy_figure (res, "mixed_task_batches"), ==, 0);
    }
}

/* ---- adapters ---------------------------------------------------------------------------- */

/* A new set (up-projection zero) leaves the logits bitwise unchanged. */
static void
test_adapter_zero_init (void)
{
  g_autoptr (JsonObject) m = run_config ("adapter-zero-mlp", mlp, "{\"name\": \"adapter\", \"bottleneck\": 8}", synth,
                                         "{\"type\": \"class-incremental\", \"experiences\": 3}", train_mlp);
  for (int e = 0; e < 3; e++)
    {
      g_autofree char *key = g_strdup_printf ("zero_init_max_diff_%d", e);
      g_assert_cmpfloat (cli_strategy_figure (m, key), ==, 0.0);
    }
  if (!have_fortunes ())
    return;
  g_autoptr (JsonObject) t = run_config ("adapter-zero-tf", tf, "{\"name\": \"adapter\"}", fort4, tc2, train_tc);
  g_assert_cmpfloat (cli_strategy_figure (t, "zero_init_max_diff_0"), ==, 0.0);
  g_assert_cmpfloat (cli_strategy_figure (t, "zero_init_max_diff_1"), ==, 0.0);
}

/* Task ids pick task t's adapter (and, one head per task, its head) for
 * task t's test samples: nothing a task uses moves afterwards, so R[i][j]
 * == R[j][j] bit for bit.  Without task ids, key matching spreads the test
 * samples over the sets. */
static void
test_adapter_routing (void)
{
  const char *mlp_multi = "{\"name\": \"mlp\", \"hidden\": [32, 32], \"heads\": \"multi\"}";
  g_autoptr (JsonObject) ti = run_config ("adapter-ti", mlp_multi, "{\"name\": \"adapter\", \"bottleneck\": 8}", synth,
                                          "{\"type\": \"task-incremental\", \"experiences\": 3}", train_mlp);
  g_autofree char *mt = cli_member_json (ti, "matrix");
  g_autofree char *rt = cli_member_json (json_object_get_object_member (ti, "strategy"), "evaluation_samples_per_set");
  g_test_message ("adapter, task ids: R = %s, evaluation samples per set %s", mt, rt);
  for (guint i = 1; i < 3; i++)
    for (guint j = 0; j < i; j++)
      g_assert_cmpfloat (cli_matrix (ti, i, j), ==, cli_matrix (ti, j, j));
  g_assert_cmpfloat (cli_matrix (ti, 2, 2), >, 0.6);
  g_autoptr (JsonObject) ci = run_config ("adapter-ci", mlp, "{\"name\": \"adapter\", \"bottleneck\": 8}", synth,
                                          "{\"type\": \"class-incremental\", \"experiences\": 3}", train_mlp);
  JsonArray *per = figure_array (ci, "evaluation_samples_per_set");
  g_autofree char *rc = cli_member_json (json_object_get_object_member (ci, "strategy"), "evaluation_samples_per_set");
  g_test_message ("adapter, key matching: evaluation samples per set %s", rc);
  int used = 0;
  for (guint g = 0; g < json_array_get_length (per); g++)
    used += json_array_get_int_element (per, g) > 0;
  g_assert_cmpint (used, >=, 2);
}

/* ---- resume --------------------------------------------------------------------------------- */

static void
test_resume (void)
{
  if (!have_fortunes ())
    return;
  const char *strategies[] = {
    "{\"name\": \"prompt\"}",
    "{\"name\": \"l2p\"}",
    "{\"name\": \"prefix\", \"reparam_hidden\": 8}",
    "{\"name\": \"adapter\", \"bottleneck\": 4}",
  };
  for (guint k = 0; k < G_N_ELEMENTS (strategies); k++)
    {
      g_autofree char *text = config_text (tf, strategies[k], fort4, tc2, train_tc);
      g_autofree char *cname = g_strdup_printf ("resume%u.json", k);
      g_autofree char *full_name = g_strdup_printf ("resume%u-full.json", k);
      g_autofree char *cut_name = g_strdup_printf ("resume%u-cut.json", k);
      g_autofree char *cfg = cli_write (cname, text);
      g_autoptr (JsonObject) full = cli_run (cfg, full_name, NULL, NULL);
      g_assert_nonnull (full);
      g_setenv ("LIFELONG_TEST_ABORT_AFTER_EXPERIENCE", "0", TRUE);
      JsonObject *none = cli_run (cfg, cut_name, NULL, NULL);
      g_unsetenv ("LIFELONG_TEST_ABORT_AFTER_EXPERIENCE");
      g_assert_null (none);
      const char *resume[] = { "--resume", NULL };
      g_autoptr (JsonObject) resumed = cli_run (cfg, cut_name, resume, NULL);
      g_assert_nonnull (resumed);
      g_autofree char *mf = cli_member_json (full, "matrix"), *mr = cli_member_json (resumed, "matrix");
      g_test_message ("%s resumed after experience 1: %s (uninterrupted %s)", strategies[k], mr, mf);
      g_assert_cmpstr (mf, ==, mr);
      g_assert_cmpstr (figure_string (full, "base_hash_start"), ==, figure_string (resumed, "base_hash_end"));
    }
}

/* ---- GEMMs ------------------------------------------------------------------------------------- */

/* GEMM calls and flops of one training epoch: a run of 2 epochs minus a
 * run of 1 (everything else, evaluation included, is the same in both),
 * in this process (lf_gemm_stats counts the calling process). */
static void
epoch_gemms (const char *strategy, int64_t *calls, double *flops)
{
  LfGemmStats at[2];
  for (int ep = 1; ep <= 2; ep++)
    {
      g_autofree char *train = g_strdup_printf ("{\"batch_size\": 16, \"lr\": 0.01, \"epochs\": %d}", ep);
      g_autofree char *text = config_text (tf, strategy, fort4, "{\"type\": \"text-classification\", "
                                           "\"experiences\": 2, \"context\": 32}", train);
      g_autofree char *cfg = cli_write ("gemm.json", text);
      LfRunOptions o = { .config_path = cfg, .quiet = TRUE, .threads = 1 };
      g_autofree char *result = NULL;
      g_autoptr (GError) error = NULL;
      LfGemmStats s0 = lf_gemm_stats ();
      gboolean ok = lf_run (&o, &result, &error);
      g_assert_no_error (error);
      g_assert_true (ok);
      LfGemmStats s1 = lf_gemm_stats ();
      at[ep - 1].calls = s1.calls - s0.calls;
      at[ep - 1].flops = s1.flops - s0.flops;
    }
  *calls = at[1].calls - at[0].calls;
  *flops = at[1].flops - at[0].flops;
}

static void
test_gemm_counts (void)
{
  if (!have_fortunes ())
    return;
  int64_t naive_calls;
  double naive_flops;
  epoch_gemms ("{\"name\": \"naive\"}", &naive_calls, &naive_flops);
  g_test_message ("naive: %" G_GINT64_FORMAT " GEMMs, %.4g flops per epoch", naive_calls, naive_flops);
  struct { const char *strategy; gboolean fewer_calls; } cases[] = {
    { "{\"name\": \"prompt\", \"length\": 4}", TRUE },
    { "{\"name\": \"prefix\", \"length\": 4}", TRUE },
    { "{\"name\": \"prefix\", \"length\": 4, \"reparam_hidden\": 8}", FALSE },
    { "{\"name\": \"adapter\", \"bottleneck\": 4}", FALSE },
    /* its query is one more forward per step */
    { "{\"name\": \"l2p\", \"prompt_length\": 1, \"top_n\": 2}", FALSE },
  };
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      int64_t calls;
      double flops;
      epoch_gemms (cases[k].strategy, &calls, &flops);
      g_test_message ("%s: %" G_GINT64_FORMAT " GEMMs (naive %" G_GINT64_FORMAT "), %.4g flops per epoch "
                      "(%.2f of naive)", cases[k].strategy, calls, naive_calls, flops, flops / naive_flops);
      g_assert_cmpint (calls, >, 0);
      if (cases[k].fewer_calls)
        g_assert_cmpint (calls, <, naive_calls);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cli_init ("peft-prompt");
  g_test_add_func ("/peft-prompt/base-frozen-and-exact-counts", test_frozen_and_counts);
  g_test_add_func ("/peft-prompt/transformer-only", test_transformer_only);
  g_test_add_func ("/peft-prompt/select-topn", test_select_topn);
  g_test_add_func ("/peft-prompt/l2p/selects-top-n-per-sample", test_l2p_run);
  g_test_add_func ("/peft-prompt/prompt/task-ids-pick-the-prompt", test_prompt_task_ids);
  g_test_add_func ("/peft-prompt/prefix/attention-reads-the-prefixes", test_prefix_read);
  g_test_add_func ("/peft-prompt/adapter/zero-init-changes-nothing", test_adapter_zero_init);
  g_test_add_func ("/peft-prompt/adapter/routing", test_adapter_routing);
  g_test_add_func ("/peft-prompt/resume", test_resume);
  g_test_add_func ("/peft-prompt/gemm-counts", test_gemm_counts);
  int rc = g_test_run ();
  cli_cleanup ();
  return rc;
}
