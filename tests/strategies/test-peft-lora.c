/* lifelong tests — the LoRA family (lora, o-lora, inflora), each shown by
 * its defining property on split Fashion-MNIST with a small MLP and on
 * fortunes with a tiny transformer (d_model 32, one layer): the base
 * weights are bitwise unchanged without a merge (the saved model against
 * the checkpoint it started from), trainable counts are exact, a merged
 * adapter computes what the unmerged one did, a step does fewer GEMM flops
 * than full fine-tuning (frozen weights get no weight gradient), O-LoRA's
 * penalty is 0 for orthogonal subspaces and right on a hand-made case,
 * InfLoRA's A_t is orthogonal to the earlier input subspace and its update
 * B A_t stays in span(A_t), and bad parameters are refused by name.
 *
 * Runs go through `lifelong run` (cli.c); the GEMM count and the hand-made
 * penalty run in this process (liblifelong's private gemm counter). */
#include "cli.h"
#include "run.h"
#include "safetensors.h"
#include "tensor-private.h"
#include <math.h>
#include <string.h>

static const char *const cil2 = "{\"type\": \"class-incremental\", \"experiences\": 2}";

/* mlp [hidden] on the first 3000 / 1000 Fashion-MNIST images, batch 64,
 * one epoch at lr 0.003; extra is appended to the model section. */
static char *
fmnist_config (const char *name, const char *strategy, const char *scenario, const char *hidden, const char *model_extra,
               int epochs)
{
  g_autofree char *text = g_strdup_printf (
    "{\"model\": {\"name\": \"mlp\", \"hidden\": %s%s},"
    " \"strategy\": %s,"
    " \"dataset\": {\"name\": \"fashion-mnist\", \"train_limit\": 3000, \"test_limit\": 1000},"
    " \"scenario\": %s,"
    " \"train\": {\"epochs\": %d, \"batch_size\": 64, \"lr\": 0.003},"
    " \"seed\": 0, \"threads\": 1}", hidden, model_extra ? model_extra : "", strategy, scenario, epochs);
  g_autofree char *file = g_strconcat (name, ".json", NULL);
  return cli_write (file, text);
}

/* the tiny transformer on two fortune domains, 3000 training tokens */
static char *
fortunes_config (const char *name, const char *strategy, const char *model_extra, const char *domains)
{
  g_autofree char *text = g_strdup_printf (
    "{\"model\": {\"name\": \"transformer\", \"d_model\": 32, \"layers\": 1, \"heads\": 2, \"context\": 32%s},"
    " \"strategy\": %s,"
    " \"dataset\": {\"name\": \"fortunes\", \"domains\": %s},"
    " \"scenario\": {\"type\": \"continual-pretraining\", \"context\": 32},"
    " \"train\": {\"batch_size\": 16, \"lr\": 0.003, \"tokens\": 3000},"
    " \"seed\": 0, \"threads\": 1}", model_extra ? model_extra : "", strategy, domains);
  g_autofree char *file = g_strconcat (name, ".json", NULL);
  return cli_write (file, text);
}

static const char *const two_domains = "[\"en/computers\", \"en/science\"]";

static gboolean
have_fortunes (void)
{
  if (g_file_test ("/usr/share/games/fortunes/computers", G_FILE_TEST_EXISTS))
    return TRUE;
  g_test_skip ("Debian's fortunes are not installed");
  return FALSE;
}

/* Runs a config; save_dir (or NULL) gets the final model. */
static JsonObject *
run_ok (const char *cfg, const char *name, const char *save_dir)
{
  g_autofree char *out = g_strconcat (name, ".result.json", NULL);
  const char *extra[] = { "--save-model", save_dir, NULL };
  g_autofree char *err = NULL;
  JsonObject *res = cli_run (cfg, out, save_dir ? extra : NULL, &err);
  if (res == NULL)
    g_error ("%s failed: %s", name, err);
  return res;
}

/* The run's error message (it must fail). */
static char *
run_fails (const char *cfg, const char *name)
{
  g_autofree char *out = g_strconcat (name, ".result.json", NULL);
  char *err = NULL;
  JsonObject *res = cli_run (cfg, out, NULL, &err);
  if (res)
    g_error ("%s should have failed", name);
  g_assert_nonnull (err);
  return err;
}

static char *
tmp_path (const char *name)
{
  g_autofree char *probe = cli_write (".probe", "");
  g_autofree char *dir = g_path_get_dirname (probe);
  return g_build_filename (dir, name, NULL);
}

static int64_t
params_of (JsonObject *res, const char *key)
{
  return json_object_get_int_member (json_object_get_object_member (res, "parameters"), key);
}

/* ---- saved models ------------------------------------------------------------ */

typedef struct {
  int     ndim;
  int64_t shape[LF_MAX_DIMS];
  int64_t numel;
  float  *data;
} Tensor;

static void
tensor_clear (Tensor *t)
{
  g_clear_pointer (&t->data, g_free);
}

static LfSafetensors *
open_model (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  LfSafetensors *st = lf_safetensors_open (path, &error);
  g_assert_no_error (error);
  return st;
}

static gboolean
get_tensor (LfSafetensors *st, const char *name, Tensor *t)
{
  memset (t, 0, sizeof *t);
  if (!lf_safetensors_get (st, name, &t->ndim, t->shape, &t->data, NULL))
    return FALSE;
  t->numel = 1;
  for (int i = 0; i < t->ndim; i++)
    t->numel *= t->shape[i];
  return TRUE;
}

/* Every tensor of the model saved after a LoRA-family run (in after_dir)
 * that is not an adapter's is bitwise the checkpoint's (in before_dir) of
 * the same name without ".base", except head ones (prefix head_prefix, or
 * NULL) that must have moved.  Returns how many base tensors matched. */
static int
assert_base_unchanged (const char *before_dir, const char *after_dir, const char *head_prefix)
{
  g_autoptr (LfSafetensors) a = open_model (before_dir), b = open_model (after_dir);
  const char *const *names = lf_safetensors_names (b);
  int same = 0, adapters = 0;
  for (int i = 0; names[i]; i++)
    {
      if (strstr (names[i], ".lora") != NULL)
        {
          adapters++;
          continue;
        }
      g_autofree char *orig = g_strdup (names[i]);
      char *base = strstr (orig, ".base.");
      if (base)
        memmove (base, base + 5, strlen (base + 5) + 1);
      Tensor t0, t1;
      g_assert_true (get_tensor (a, orig, &t0));
      g_assert_true (get_tensor (b, names[i], &t1));
      g_assert_cmpint (t0.numel, ==, t1.numel);
      gboolean equal = memcmp (t0.data, t1.data, sizeof (float) * (size_t) t0.numel) == 0;
      if (head_prefix && g_str_has_prefix (orig, head_prefix))
        g_assert_false (equal);
      else
        {
          if (!equal)
            g_error ("%s moved during a LoRA run without merge", names[i]);
          same++;
        }
      tensor_clear (&t0);
      tensor_clear (&t1);
    }
  g_assert_cmpint (adapters, >, 0);
  return same;
}

/* ---- lora: the base never moves ------------------------------------------------ */

static void
test_lora_base_unchanged_mlp (void)
{
  g_autofree char *m0 = tmp_path ("mlp-start"), *m1 = tmp_path ("mlp-lora");
  g_autofree char *c0 = fmnist_config ("mlp-start", "{\"name\": \"naive\"}",
                                       "{\"type\": \"class-incremental\", \"experiences\": 1}", "[64, 32]", NULL, 1);
  json_object_unref (run_ok (c0, "mlp-start", m0));
  g_autofree char *ck = g_strdup_printf (", \"checkpoint\": \"%s\"", m0);
  g_autofree char *c1 = fmnist_config ("mlp-lora", "{\"name\": \"lora\", \"rank\": 4}", cil2, "[64, 32]", ck, 1);
  g_autoptr (JsonObject) res = run_ok (c1, "mlp-lora", m1);
  int same = assert_base_unchanged (m0, m1, "head.");
  g_test_message ("lora on mlp [64, 32] from a checkpoint: %d base tensors bitwise unchanged, the head trained; "
                  "accuracy matrix row 2: %.3f %.3f", same, cli_matrix (res, 1, 0), cli_matrix (res, 1, 1));
  g_assert_cmpint (same, ==, 4);   /* layers.{0,1}.base.{weight,bias} */
  /* the adapters learned something: better than chance on the experience just trained */
  g_assert_cmpfloat (cli_matrix (res, 1, 1), >, 0.4);
}

static void
test_lora_base_unchanged_transformer (void)
{
  if (!have_fortunes ())
    return;
  g_autofree char *m0 = tmp_path ("lm-start"), *m1 = tmp_path ("lm-lora");
  g_autofree char *c0 = fortunes_config ("lm-start", "{\"name\": \"naive\"}", NULL, "[\"en/computers\"]");
  json_object_unref (run_ok (c0, "lm-start", m0));
  g_autofree char *ck = g_strdup_printf (", \"checkpoint\": \"%s\"", m0);
  const char *strategies[] = { "{\"name\": \"lora\", \"targets\": [\"model.layers.*\"]}",
                               "{\"name\": \"o-lora\"}", "{\"name\": \"inflora\"}" };
  for (guint s = 0; s < G_N_ELEMENTS (strategies); s++)
    {
      g_autofree char *name = g_strdup_printf ("lm-peft-%u", s);
      g_autofree char *dir = tmp_path (name);
      g_autofree char *c1 = fortunes_config (name, strategies[s], ck, two_domains);
      g_autoptr (JsonObject) res = run_ok (c1, name, dir);
      /* every weight outside the adapters, lm_head included (a language
       * model's head is frozen), is the checkpoint's */
      int same = assert_base_unchanged (m0, dir, NULL);
      g_test_message ("%s on the transformer: %d tensors bitwise unchanged; losses after the second domain %.4f %.4f",
                      strategies[s], same, cli_matrix (res, 1, 0), cli_matrix (res, 1, 1));
      g_assert_cmpint (same, ==, 12);   /* embedding, 7 projections, 3 norms, lm_head */
      g_assert_cmpstr (json_object_get_string_member (res, "matrix_kind"), ==, "loss");
    }
}

/* ---- exact trainable counts ------------------------------------------------------ */

static void
test_trainable_counts (void)
{
  /* mlp 784 -> 64 -> 32 -> head 10, adapters on layers.0 and layers.1 */
  const int64_t r = 4, base = 784 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10;
  const int64_t adapters = r * (784 + 64) + r * (64 + 32), head = 32 * 10 + 10;
  struct { const char *strategy; int64_t trainable; } cases[] = {
    { "{\"name\": \"lora\", \"rank\": 4}", adapters + head },
    { "{\"name\": \"lora\", \"rank\": 4, \"train_head\": false}", adapters },
    { "{\"name\": \"o-lora\", \"rank\": 4}", adapters + head },
    { "{\"name\": \"inflora\", \"rank\": 4}", r * 64 + r * 32 + head },   /* only B_t (out, r) */
    { "{\"name\": \"lora\", \"rank\": 4, \"targets\": [\"layers.1\"]}", r * (64 + 32) + head },
  };
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autofree char *name = g_strdup_printf ("count-%u", k);
      g_autofree char *cfg = fmnist_config (name, cases[k].strategy, cil2, "[64, 32]", NULL, 1);
      g_autoptr (JsonObject) res = run_ok (cfg, name, NULL);
      JsonArray *per = json_object_get_array_member (json_object_get_object_member (res, "strategy"),
                                                     "trainable_per_experience");
      g_test_message ("%s: trainable %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " (expected %" G_GINT64_FORMAT ")",
                      cases[k].strategy, params_of (res, "trainable"), params_of (res, "total"), cases[k].trainable);
      g_assert_cmpint (params_of (res, "trainable"), ==, cases[k].trainable);
      g_assert_cmpuint (json_array_get_length (per), ==, 2);
      for (guint e = 0; e < 2; e++)
        g_assert_cmpint (json_array_get_int_element (per, e), ==, cases[k].trainable);
      /* two experiences' adapters in the model */
      int64_t one = k == 4 ? r * (64 + 32) : adapters;
      g_assert_cmpint (params_of (res, "total"), ==, base + 2 * one);
      g_assert_cmpfloat (cli_strategy_figure (res, "adapter_parameters"), ==, (double) one);
    }
  /* the transformer (d 32, ff 32, one layer): q_proj and v_proj by default,
   * lm_head frozen */
  if (!have_fortunes ())
    return;
  g_autofree char *cfg = fortunes_config ("count-lm", "{\"name\": \"lora\", \"rank\": 2}", NULL, two_domains);
  g_autoptr (JsonObject) res = run_ok (cfg, "count-lm", NULL);
  g_assert_cmpint (params_of (res, "trainable"), ==, 2 * 2 * (32 + 32));
  g_assert_cmpfloat (cli_strategy_figure (res, "head_trained"), ==, 0);
}

/* ---- merge ------------------------------------------------------------------------ */

/* One experience with and without merge: the merged model's weight is
 * W + (alpha/r) B A of the unmerged one, its B zero, its A the same, and
 * it scores the same. */
static void
test_lora_merge_equivalent (void)
{
  const char *one = "{\"type\": \"class-incremental\", \"experiences\": 1}";
  g_autofree char *du = tmp_path ("merge-no"), *dm = tmp_path ("merge-yes");
  g_autofree char *cu = fmnist_config ("merge-no", "{\"name\": \"lora\", \"rank\": 4, \"alpha\": 8}", one, "[64]",
                                       NULL, 1);
  g_autofree char *cm = fmnist_config ("merge-yes", "{\"name\": \"lora\", \"rank\": 4, \"alpha\": 8, \"merge\": true}",
                                       one, "[64]", NULL, 1);
  g_autoptr (JsonObject) ru = run_ok (cu, "merge-no", du);
  g_autoptr (JsonObject) rm = run_ok (cm, "merge-yes", dm);
  g_autoptr (LfSafetensors) su = open_model (du), sm = open_model (dm);
  Tensor W, A, B, Wm, Am, Bm;
  g_assert_true (get_tensor (su, "layers.0.base.weight", &W));
  g_assert_true (get_tensor (su, "layers.0.lora0.A.weight", &A));
  g_assert_true (get_tensor (su, "layers.0.lora0.B.weight", &B));
  g_assert_true (get_tensor (sm, "layers.0.base.weight", &Wm));
  g_assert_true (get_tensor (sm, "layers.0.lora0.A.weight", &Am));
  g_assert_true (get_tensor (sm, "layers.0.lora0.B.weight", &Bm));
  const int64_t out = 64, in = 784, r = 4;
  double err = 0, bnorm = 0, moved = 0;
  for (int64_t o = 0; o < out; o++)
    for (int64_t i = 0; i < in; i++)
      {
        double s = 0;
        for (int64_t c = 0; c < r; c++)
          s += (double) B.data[o * r + c] * A.data[c * in + i];
        double want = W.data[o * in + i] + 2.0 * s;    /* alpha / r = 2 */
        err = fmax (err, fabs (Wm.data[o * in + i] - want));
        moved = fmax (moved, fabs (Wm.data[o * in + i] - W.data[o * in + i]));
      }
  for (int64_t k = 0; k < B.numel; k++)
    bnorm += fabs (Bm.data[k]);
  g_test_message ("merge: max |W_merged - (W + 2 B A)| = %.3g (the merge moved W by up to %.3g); accuracy %.4f "
                  "unmerged, %.4f merged", err, moved, cli_matrix (ru, 0, 0), cli_matrix (rm, 0, 0));
  g_assert_cmpfloat (err, <, 1e-6);
  g_assert_cmpfloat (moved, >, 1e-4);
  g_assert_cmpfloat (bnorm, ==, 0);
  g_assert_cmpmem (A.data, sizeof (float) * (size_t) A.numel, Am.data, sizeof (float) * (size_t) Am.numel);
  g_assert_cmpfloat (fabs (cli_matrix (ru, 0, 0) - cli_matrix (rm, 0, 0)), <=, 1e-3);   /* one image of 1000 */
  g_assert_cmpfloat (cli_strategy_figure (rm, "merged_experiences"), ==, 1);
  Tensor *all[] = { &W, &A, &B, &Wm, &Am, &Bm };
  for (guint k = 0; k < G_N_ELEMENTS (all); k++)
    tensor_clear (all[k]);
}

/* The language model after the first domain: the loss the merged model
 * gives on both domains is the unmerged one's within float rounding. */
static void
test_lora_merge_equivalent_lm (void)
{
  if (!have_fortunes ())
    return;
  g_autofree char *cu = fortunes_config ("lm-merge-no", "{\"name\": \"lora\"}", NULL, two_domains);
  g_autofree char *cm = fortunes_config ("lm-merge-yes", "{\"name\": \"lora\", \"merge\": true}", NULL, two_domains);
  g_autoptr (JsonObject) ru = run_ok (cu, "lm-merge-no", NULL);
  g_autoptr (JsonObject) rm = run_ok (cm, "lm-merge-yes", NULL);
  for (guint j = 0; j < 2; j++)
    {
      double u = cli_matrix (ru, 0, j), m = cli_matrix (rm, 0, j);
      g_test_message ("domain %u after the first: loss %.7f unmerged, %.7f merged", j, u, m);
      g_assert_cmpfloat (fabs (u - m), <=, 1e-5 * u);
    }
}

/* ---- fewer GEMM flops than full fine-tuning ------------------------------------------ */

/* GEMM flops of a whole run in this process (one thread: every GEMM runs
 * on it). */
static double
run_flops (const char *cfg)
{
  LfRunOptions o = { .config_path = cfg, .threads = 1, .quiet = TRUE };
  g_autoptr (GError) error = NULL;
  g_autofree char *result = NULL;
  LfGemmStats s0 = lf_gemm_stats ();
  gboolean ok = lf_run (&o, &result, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  return lf_gemm_stats ().flops - s0.flops;
}

/* Two epochs minus one: the flops of one epoch of training (evaluation and
 * everything else cancel).  With the base frozen, each wrapped linear
 * (in -> out) drops its weight-gradient GEMM (2 N in out for N samples)
 * and adds its adapter's: forward A and B, B's weight and input
 * gradients, A's weight gradient, and A's input gradient where the input
 * needs one (not for the first layer, whose input is the data), each
 * 2 N r (in or out). */
static void
test_lora_fewer_flops (void)
{
  const int64_t N = 3000, in = 784, h = 256, r = 4;
  const char *lora = "{\"name\": \"lora\", \"rank\": 4, \"targets\": [\"layers.0\"]}";
  double f[2][2];
  for (int s = 0; s < 2; s++)
    for (int e = 0; e < 2; e++)
      {
        g_autofree char *name = g_strdup_printf ("flops-%d-%d", s, e);
        g_autofree char *cfg = fmnist_config (name, s ? lora : "{\"name\": \"naive\"}",
                                              "{\"type\": \"class-incremental\", \"experiences\": 1}", "[256]", NULL,
                                              e + 1);
        f[s][e] = run_flops (cfg);
      }
  double naive = f[0][1] - f[0][0], lo = f[1][1] - f[1][0];
  double dropped = 2.0 * N * in * h;
  double added = 2.0 * N * r * (in + h) /* forward */ + 2.0 * N * r * h * 2 /* B: dW, dX */ + 2.0 * N * r * in;
  g_test_message ("one training epoch on mlp [256], 3000 images: naive %.4g GEMM flops, lora (layers.0, r 4) %.4g "
                  "(%.1f%%); expected naive - lora = %.4g, measured %.4g", naive, lo, 100 * lo / naive,
                  dropped - added, naive - lo);
  g_assert_cmpfloat (lo, <, 0.75 * naive);
  g_assert_cmpfloat (fabs ((naive - lo) - (dropped - added)), <=, 1e-9 * naive);
}

/* ---- O-LoRA ---------------------------------------------------------------------------- */

static void
set_rows (LfTensor *t, const float *v)
{
  memcpy (lf_tensor_data (t), v, sizeof (float) * (size_t) lf_tensor_numel (t));
}

/* sum_{i<j} ||A_i A_j^T||_F^2 on hand-made adapters of a 5 -> 3 linear. */
static void
test_o_lora_penalty_by_hand (void)
{
  LfModule *root = lf_module_new ("", LF_MODULE_CONTAINER, NULL, NULL);
  LfModule *lin = lf_module_new_linear ("q_proj", 5, 3, FALSE);
  lf_module_add_child (root, lin);
  const char *glob = "q_proj";
  g_autoptr (GPtrArray) ws = lf_lora_wrap_matching (root, 1, &glob, NULL);
  g_assert_nonnull (ws);
  g_assert_cmpuint (ws->len, ==, 1);
  LfModule *w = ws->pdata[0];
  LfLoraConfig cfg = { .struct_size = sizeof cfg, .rank = 2, .alpha = 2, .rng_key = 1 };
  for (int j = 0; j < 3; j++)
    lf_lora_add (w, &cfg);
  /* A0 spans e0, e1; A1 spans e2, e3 (orthogonal to A0); A2 = [[1, 1, 0, 0, 0], [0, 0, 3, 0, 1]] */
  const float a0[] = { 1, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
  const float a1[] = { 0, 0, 2, 0, 0, 0, 0, 0, -1, 0 };
  const float a2[] = { 1, 1, 0, 0, 0, 0, 0, 3, 0, 1 };
  set_rows (lf_lora_A (w, 0), a0);
  set_rows (lf_lora_A (w, 1), a1);
  set_rows (lf_lora_A (w, 2), a2);
  lf_tape_push (TRUE);
  g_assert_cmpfloat (lf_tensor_data (lf_lora_orthogonality (w, 0))[0], ==, 0);
  /* orthogonal row spaces: exactly 0 */
  g_assert_cmpfloat (lf_tensor_data (lf_lora_orthogonality (w, 1))[0], ==, 0);
  /* A0 A2^T = [[1, 0], [1, 0]] -> 2;  A1 A2^T = [[0, 6], [0, 0]] -> 36 */
  lf_lora_freeze (w, 0, TRUE);
  lf_lora_freeze (w, 1, TRUE);
  LfTensor *p = lf_lora_orthogonality (w, 2);
  g_assert_cmpfloat (lf_tensor_data (p)[0], ==, 38);
  /* its gradient in A2: 2 (A2 A_i^T) A_i summed over i:
   * i = 0: 2 [[1, 1], [0, 0]] A0 = [[2, 2, 0, 0, 0], [0, 0, 0, 0, 0]]
   * i = 1: 2 [[0, 0], [6, 0]] A1 = [[0, 0, 0, 0, 0], [0, 0, 24, 0, 0]] */
  lf_backward (p);
  const float want[] = { 2, 2, 0, 0, 0, 0, 0, 24, 0, 0 };
  const LfReal *g = lf_tensor_grad (lf_lora_A (w, 2));
  g_assert_nonnull (g);
  for (int k = 0; k < 10; k++)
    g_assert_cmpfloat (g[k], ==, want[k]);
  g_assert_null (lf_tensor_grad (lf_lora_A (w, 0)));   /* frozen: no gradient computed */
  lf_tape_pop ();
  lf_module_free (root);
}

/* Through a run: the new A starts nearly orthogonal to the old one (two
 * random (4, 784) matrices); training alone makes them overlap, the
 * penalty keeps them apart. */
static void
test_o_lora_run (void)
{
  const double lambdas[] = { 0, 100 };
  double start[2], last[2];
  for (guint k = 0; k < 2; k++)
    {
      g_autofree char *st = g_strdup_printf ("{\"name\": \"o-lora\", \"rank\": 4, \"lambda\": %g}", lambdas[k]);
      g_autofree char *name = g_strdup_printf ("olora-%u", k);
      g_autofree char *cfg = fmnist_config (name, st, cil2, "[64]", NULL, 1);
      g_autoptr (JsonObject) res = run_ok (cfg, name, NULL);
      start[k] = cli_strategy_figure (res, "orthogonality_at_start");
      last[k] = cli_strategy_figure (res, "orthogonality_last");
      g_test_message ("o-lora lambda=%g: sum ||A_1 A_2^T||^2 %.5g at the first step of experience 2, %.5g at the "
                      "last", lambdas[k], start[k], last[k]);
    }
  g_assert_cmpfloat (start[0], >, 0);
  g_assert_cmpfloat (start[0], ==, start[1]);      /* the same initial A_2 */
  /* without the penalty training rotates A_2 into A_1's rows; with it the
   * overlap stays at its (small, random) initial size */
  g_assert_cmpfloat (last[0], >, 100 * start[0]);
  g_assert_cmpfloat (last[1], <, 1e-3 * last[0]);
  g_assert_cmpfloat (last[1], <, 10 * start[1]);
}

/* ---- InfLoRA ---------------------------------------------------------------------------------- */

/* ||X (I - P)||_F / ||X||_F, P the projector onto the row space of A (r, d) */
static double
outside_rows (const float *X, int64_t rows, const float *A, int64_t r, int64_t d)
{
  /* orthonormal basis of A's rows by Gram-Schmidt, in double */
  g_autofree double *q = g_new0 (double, r * d);
  int64_t nq = 0;
  for (int64_t i = 0; i < r; i++)
    {
      double *v = q + nq * d;
      for (int64_t k = 0; k < d; k++)
        v[k] = A[i * d + k];
      for (int64_t j = 0; j < nq; j++)
        {
          double dot = 0;
          for (int64_t k = 0; k < d; k++)
            dot += v[k] * q[j * d + k];
          for (int64_t k = 0; k < d; k++)
            v[k] -= dot * q[j * d + k];
        }
      double n = 0;
      for (int64_t k = 0; k < d; k++)
        n += v[k] * v[k];
      if (n > 1e-12)
        {
          for (int64_t k = 0; k < d; k++)
            v[k] /= sqrt (n);
          nq++;
        }
    }
  double all = 0, out = 0;
  for (int64_t row = 0; row < rows; row++)
    {
      g_autofree double *res = g_new (double, d);
      for (int64_t k = 0; k < d; k++)
        res[k] = X[row * d + k];
      for (int64_t j = 0; j < nq; j++)
        {
          double dot = 0;
          for (int64_t k = 0; k < d; k++)
            dot += res[k] * q[j * d + k];
          for (int64_t k = 0; k < d; k++)
            res[k] -= dot * q[j * d + k];
        }
      for (int64_t k = 0; k < d; k++)
        {
          all += (double) X[row * d + k] * X[row * d + k];
          out += res[k] * res[k];
        }
    }
  return all > 0 ? sqrt (out / all) : 0;
}

/* From the saved model: the second experience's A (of the input layer,
 * whose inputs training does not change) is orthogonal to the first's,
 * which the subspace holds; dW_2 = B_2 A_2 has nothing outside span(A_2);
 * and the figures say the same for every layer. */
static void
test_inflora_subspace (void)
{
  g_autofree char *dir = tmp_path ("inflora");
  g_autofree char *cfg = fmnist_config ("inflora", "{\"name\": \"inflora\", \"rank\": 4}", cil2, "[64, 32]", NULL, 1);
  g_autoptr (JsonObject) res = run_ok (cfg, "inflora", dir);
  g_autoptr (LfSafetensors) st = open_model (dir);
  const int64_t r = 4, d = 784, out = 64;
  Tensor A0, A1, B1;
  g_assert_true (get_tensor (st, "layers.0.lora0.A.weight", &A0));
  g_assert_true (get_tensor (st, "layers.0.lora1.A.weight", &A1));
  g_assert_true (get_tensor (st, "layers.0.lora1.B.weight", &B1));
  double cross = 0, norm1 = 0;
  for (int64_t i = 0; i < r; i++)
    for (int64_t j = 0; j < r; j++)
      {
        double dot = 0;
        for (int64_t k = 0; k < d; k++)
          dot += (double) A1.data[i * d + k] * A0.data[j * d + k];
        cross = fmax (cross, fabs (dot));
        if (i == j)
          {
            /* rows of A: unit vectors / sqrt(3) */
            double n = 0;
            for (int64_t k = 0; k < d; k++)
              n += (double) A1.data[i * d + k] * A1.data[j * d + k];
            norm1 = fmax (norm1, fabs (n - 1.0 / 3));
          }
      }
  g_autofree float *dw = g_new0 (float, out * d);
  double bn = 0;
  for (int64_t o = 0; o < out; o++)
    for (int64_t c = 0; c < r; c++)
      {
        bn += fabs (B1.data[o * r + c]);
        for (int64_t k = 0; k < d; k++)
          dw[o * d + k] += B1.data[o * r + c] * A1.data[c * d + k];
      }
  double outside = outside_rows (dw, out, A1.data, r, d);
  double overlap = cli_strategy_figure (res, "a_overlap_with_old_subspace_max");
  g_test_message ("inflora layers.0: max |A_2 A_1^T| = %.3g, max | ||a_i||^2 - 1/3 | = %.3g, ||dW_2 outside "
                  "span(A_2)|| / ||dW_2|| = %.3g; every layer: ||A_t M|| / ||A_t|| <= %.3g, A moved by %g, dW outside "
                  "%.3g", cross, norm1, outside, overlap, cli_strategy_figure (res, "a_moved_max"),
                  cli_strategy_figure (res, "update_outside_span_max"));
  g_assert_cmpfloat (bn, >, 0);           /* B trained */
  g_assert_cmpfloat (cross, <, 1e-5);
  g_assert_cmpfloat (norm1, <, 1e-5);
  g_assert_cmpfloat (outside, <, 1e-5);
  g_assert_cmpfloat (overlap, <, 1e-5);
  g_assert_cmpfloat (cli_strategy_figure (res, "a_moved_max"), ==, 0);
  g_assert_cmpfloat (cli_strategy_figure (res, "update_outside_span_max"), <, 1e-5);
  /* the subspace grew in every layer, and keeps less than the whole space */
  JsonArray *dims = json_object_get_array_member (json_object_get_object_member (res, "strategy"), "subspace_dims");
  g_assert_cmpuint (json_array_get_length (dims), ==, 2);
  g_assert_cmpint (json_array_get_int_element (dims, 0), >, r);
  g_assert_cmpint (json_array_get_int_element (dims, 0), <, d);
  Tensor *all[] = { &A0, &A1, &B1 };
  for (guint k = 0; k < G_N_ELEMENTS (all); k++)
    tensor_clear (all[k]);
}

/* On the language model the fixed A_t is orthogonal to the earlier
 * subspace too (k_proj and v_proj of the tiny transformer). */
static void
test_inflora_lm (void)
{
  if (!have_fortunes ())
    return;
  g_autofree char *cfg = fortunes_config ("inflora-lm", "{\"name\": \"inflora\", \"rank\": 4}", NULL, two_domains);
  g_autoptr (JsonObject) res = run_ok (cfg, "inflora-lm", NULL);
  g_test_message ("inflora on the transformer: ||A_t M|| / ||A_t|| <= %.3g, dW outside span(A_t) %.3g",
                  cli_strategy_figure (res, "a_overlap_with_old_subspace_max"),
                  cli_strategy_figure (res, "update_outside_span_max"));
  g_assert_cmpfloat (cli_strategy_figure (res, "a_overlap_with_old_subspace_max"), <, 1e-5);
  g_assert_cmpfloat (cli_strategy_figure (res, "a_moved_max"), ==, 0);
  g_assert_cmpint (params_of (res, "trainable"), ==, 2 * 32 * 4);   /* B of k_proj and v_proj */
}

/* ---- bad parameters ---------------------------------------------------------------------------- */

static void
test_bad_params (void)
{
  struct { const char *strategy, *want1, *want2; } cases[] = {
    { "{\"name\": \"lora\", \"rank\": 0}", "strategy.rank", "0" },
    { "{\"name\": \"o-lora\", \"targets\": [\"model.layers.*.q_proj\"]}", "strategy.targets",
      "\"model.layers.*.q_proj\" matches no linear" },
    { "{\"name\": \"inflora\", \"rank\": 65}", "strategy.rank", "65" },
  };
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autofree char *name = g_strdup_printf ("bad-%u", k);
      g_autofree char *cfg = fmnist_config (name, cases[k].strategy, cil2, "[64]", NULL, 1);
      g_autofree char *err = run_fails (cfg, name);
      g_test_message ("%s: %s", cases[k].strategy, err);
      g_assert_nonnull (strstr (err, cases[k].want1));
      g_assert_nonnull (strstr (err, cases[k].want2));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cli_init ("peft-lora");
  g_test_add_func ("/peft-lora/lora/base-unchanged/mlp", test_lora_base_unchanged_mlp);
  g_test_add_func ("/peft-lora/base-unchanged/transformer", test_lora_base_unchanged_transformer);
  g_test_add_func ("/peft-lora/trainable-counts", test_trainable_counts);
  g_test_add_func ("/peft-lora/lora/merge/mlp", test_lora_merge_equivalent);
  g_test_add_func ("/peft-lora/lora/merge/transformer", test_lora_merge_equivalent_lm);
  g_test_add_func ("/peft-lora/lora/fewer-gemm-flops", test_lora_fewer_flops);
  g_test_add_func ("/peft-lora/o-lora/penalty-by-hand", test_o_lora_penalty_by_hand);
  g_test_add_func ("/peft-lora/o-lora/run", test_o_lora_run);
  g_test_add_func ("/peft-lora/inflora/subspace", test_inflora_subspace);
  g_test_add_func ("/peft-lora/inflora/transformer", test_inflora_lm);
  g_test_add_func ("/peft-lora/bad-params", test_bad_params);
  int rc = g_test_run ();
  cli_cleanup ();
  return rc;
}
