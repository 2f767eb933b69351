/* lifelong tests — "the ABI fits": plugins built only against the public
 * headers (tests/extensions/) change a model in the ways DESIGN.md promises
 * without a host change, each run end to end through `lifelong run
 * --plugin-path` on the synthetic dataset, each checked for its defining
 * property from the result file:
 *
 *   x-lora     LoRA wraps linears; base weights bitwise unchanged, only the
 *              adapters trainable, and the model still learns
 *   x-moe      a linear replaced by a module class of the plugin's own (two
 *              experts and a router); the router trains
 *   x-prefix   (on model x-attn) prefix tuning through the attention slots;
 *              only the prefixes train, the model is bitwise unchanged
 *   x-project  A-GEM projection in after_backward with a side gradient; the
 *              projected gradient never points against the reference, also
 *              with one head per task (parameters without a .grad)
 *   x-ncm      nearest-class-mean predict; clearly beats naive's arg-max */
#include "testutil.h"
#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char *dir;
static const char *exe, *ext_dir;

static const char dataset_4[] =
  "{\"name\": \"synthetic\", \"classes\": 4, \"dim\": 16, \"train_per_class\": 100, \"test_per_class\": 50}";
static const char train[] = "{\"epochs\": 10, \"batch_size\": 32, \"lr\": 0.03}";

/* Runs `lifelong ARGS... --plugin-path EXT_DIR --quiet`; the exit status,
 * stderr in *err. */
static int
run_cli (char **err, ...)
{
  const char *tail[] = { "--plugin-path", ext_dir, NULL };
  va_list ap;
  va_start (ap, err);
  int status = tu_spawn_va (exe, ap, tail, NULL, NULL, err);
  va_end (ap);
  return status;
}

static JsonObject *
parse_object (const char *text, gssize len)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_data (p, text, len, &error));
  return json_object_ref (json_node_get_object (json_parser_get_root (p)));
}

/* Runs one config (model, strategy, dataset, scenario as JSON texts) and
 * returns its result. */
static JsonObject *
run_config (const char *name, const char *model, const char *strategy, const char *dataset, const char *scenario)
{
  g_autofree char *text = g_strdup_printf (
    "{\"model\": %s, \"strategy\": %s, \"dataset\": %s, \"scenario\": %s, \"train\": %s, \"seed\": 0}",
    model, strategy, dataset, scenario, train);
  g_autofree char *cname = g_strconcat (name, ".json", NULL), *oname = g_strconcat (name, "-result.json", NULL);
  g_autofree char *cfg = g_build_filename (dir, cname, NULL), *out = g_build_filename (dir, oname, NULL);
  g_assert_true (g_file_set_contents (cfg, text, -1, NULL));
  g_autofree char *err = NULL;
  int rc = run_cli (&err, "run", cfg, "--out", out, "--quiet", NULL);
  if (rc != 0)
    g_printerr ("%s: %s", name, err);
  g_assert_cmpint (rc, ==, 0);
  g_autofree char *result = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (out, &result, &len, NULL));
  JsonObject *res = parse_object (result, (gssize) len);
  g_assert_cmpstr (json_object_get_string_member (res, "status"), ==, "ok");
  return res;
}

/* Runs one whole config text and returns its result. */
static JsonObject *
run_ok (const char *name, const char *text)
{
  g_autofree char *cname = g_strconcat (name, ".json", NULL), *oname = g_strconcat (name, "-result.json", NULL);
  g_autofree char *cfg = g_build_filename (dir, cname, NULL), *out = g_build_filename (dir, oname, NULL);
  g_assert_true (g_file_set_contents (cfg, text, -1, NULL));
  g_autofree char *err = NULL;
  int rc = run_cli (&err, "run", cfg, "--out", out, "--quiet", NULL);
  if (rc != 0)
    g_printerr ("%s: %s", name, err);
  g_assert_cmpint (rc, ==, 0);
  g_autofree char *result = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (out, &result, &len, NULL));
  return parse_object (result, (gssize) len);
}

static double
matrix_at (JsonObject *res, guint i, guint j)
{
  JsonArray *m = json_object_get_array_member (res, "matrix");
  return json_array_get_double_element (json_array_get_array_element (m, i), j);
}

static JsonObject *
section (JsonObject *res, const char *name)
{
  g_assert_true (json_object_has_member (res, name));
  return json_object_get_object_member (res, name);
}

static double
average_accuracy (JsonObject *res)
{
  return json_object_get_double_member (section (res, "metrics"), "average_accuracy");
}

static void
test_descriptors (void)
{
  g_autofree char *err = NULL, *out = NULL;
  const char *argv[] = { exe, "plugins", "--json", "--plugin-path", ext_dir, NULL };
  g_assert_cmpint (tu_spawn (argv, NULL, &out, &err), ==, 0);
  g_autoptr (JsonObject) listing = parse_object (out, -1);
  JsonArray *plugins = json_object_get_array_member (listing, "plugins");
  struct { const char *name, *touches; } want[] = {
    { "x-lora", "structure" }, { "x-moe", "structure" }, { "x-prefix", "structure" },
    { "x-project", "gradients" }, { "x-ncm", "inference" }, { "x-attn", NULL },
  };
  for (guint k = 0; k < G_N_ELEMENTS (want); k++)
    {
      JsonObject *found = NULL;
      for (guint i = 0; i < json_array_get_length (plugins); i++)
        {
          JsonObject *p = json_array_get_object_element (plugins, i);
          if (g_str_equal (json_object_get_string_member (p, "name"), want[k].name))
            found = p;
        }
      g_assert_nonnull (found);
      g_assert_true (g_str_has_prefix (json_object_get_string_member (found, "summary"), "test plugin"));
      g_assert_true (g_str_has_prefix (json_object_get_string_member (found, "file"), ext_dir));
      JsonObject *caps = json_object_get_object_member (found, "capabilities");
      if (want[k].touches == NULL)
        continue;
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (found, "parameters")), >, 0);
      JsonArray *t = json_object_get_array_member (caps, "touches");
      gboolean has = FALSE;
      for (guint i = 0; i < json_array_get_length (t); i++)
        has |= g_str_equal (json_array_get_string_element (t, i), want[k].touches);
      g_assert_true (has);
    }
}

static void
test_lora (void)
{
  g_autoptr (JsonObject) res = run_config ("lora", "{\"name\": \"mlp\", \"hidden\": [32, 32]}",
                                           "{\"name\": \"x-lora\", \"rank\": 4}", dataset_4,
                                           "{\"type\": \"class-incremental\", \"experiences\": 2}");
  JsonObject *s = section (res, "strategy");
  /* the frozen base weights, bitwise */
  g_assert_cmpstr (json_object_get_string_member (s, "base_hash_at_create"), ==,
                   json_object_get_string_member (s, "base_hash_at_report"));
  /* trainable: exactly the adapters, r (in + out) for layers.0 (16 -> 32) and layers.1 (32 -> 32) */
  const gint64 lora = 4 * (16 + 32) + 4 * (32 + 32);
  g_assert_cmpint (json_object_get_int_member (section (res, "parameters"), "trainable"), ==, lora);
  g_assert_cmpint ((gint64) json_object_get_double_member (s, "lora_parameters"), ==, lora);
  g_assert_cmpint ((gint64) json_object_get_double_member (s, "wrapped"), ==, 2);
  /* the base (16*32+32 + 32*32+32 + 32*4+4) plus the adapters */
  g_assert_cmpint (json_object_get_int_member (section (res, "parameters"), "total"), ==, 1732 + lora);
  /* and the adapters alone learn the last experience (chance: 1/2 within it) */
  g_assert_cmpfloat (matrix_at (res, 1, 1), >, 0.9);
}

static void
test_moe (void)
{
  g_autoptr (JsonObject) res = run_config ("moe", "{\"name\": \"mlp\", \"hidden\": [32, 32]}",
                                           "{\"name\": \"x-moe\"}", dataset_4,
                                           "{\"type\": \"class-incremental\", \"experiences\": 2}");
  JsonObject *s = section (res, "strategy");
  const gint64 expert = 32 * 32 + 32, router = 32 * 2 + 2;
  g_assert_cmpint ((gint64) json_object_get_double_member (s, "expert_parameters"), ==, 2 * expert);
  /* layers.1 (one linear) became two experts and a router, all trainable */
  JsonObject *p = section (res, "parameters");
  g_assert_cmpint (json_object_get_int_member (p, "total"), ==, 1732 - expert + 2 * expert + router);
  g_assert_cmpint (json_object_get_int_member (p, "trainable"), ==, json_object_get_int_member (p, "total"));
  /* the router is in the tree the optimizer follows: it trained */
  g_assert_cmpfloat (json_object_get_double_member (s, "router_max_change"), >, 1e-3);
  g_assert_cmpfloat (matrix_at (res, 0, 0), >, 0.9);
  g_assert_cmpfloat (matrix_at (res, 1, 1), >, 0.9);
}

static void
test_prefix (void)
{
  const char *model = "{\"name\": \"x-attn\", \"token_dim\": 8, \"width\": 32}";
  g_autoptr (JsonObject) res = run_config ("prefix", model, "{\"name\": \"x-prefix\", \"length\": 8}", dataset_4,
                                           "{\"type\": \"class-incremental\", \"experiences\": 2}");
  JsonObject *s = section (res, "strategy");
  g_assert_cmpstr (json_object_get_string_member (s, "frozen_hash_at_create"), ==,
                   json_object_get_string_member (s, "frozen_hash_at_report"));
  /* only the prefixes train: key and value, P x width each */
  g_assert_cmpint (json_object_get_int_member (section (res, "parameters"), "trainable"), ==, 2 * 8 * 32);
  g_assert_cmpint ((gint64) json_object_get_double_member (s, "prefix_parameters"), ==, 2 * 8 * 32);
  /* the frozen model learns through them (chance: 1/4 overall, 1/2 within the experience) */
  g_assert_cmpfloat (matrix_at (res, 0, 0), >, 0.75);
  g_assert_cmpfloat (matrix_at (res, 1, 1), >, 0.75);

  /* the capability is enforced: x-prefix refuses a model that is not x-attn */
  g_autofree char *text = g_strdup_printf (
    "{\"model\": {\"name\": \"mlp\"}, \"strategy\": {\"name\": \"x-prefix\"}, \"dataset\": %s,"
    " \"scenario\": {\"experiences\": 2}}", dataset_4);
  g_autofree char *cfg = g_build_filename (dir, "prefix-mlp.json", NULL);
  g_autofree char *out = g_build_filename (dir, "prefix-mlp-result.json", NULL);
  g_assert_true (g_file_set_contents (cfg, text, -1, NULL));
  g_autofree char *err = NULL;
  g_assert_cmpint (run_cli (&err, "run", cfg, "--out", out, "--quiet", NULL), !=, 0);
  g_assert_nonnull (strstr (err, "x-attn"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

/* g . g_ref after projection is >= 0 up to float rounding, relative to |g| |g_ref| */
static void
check_projection (JsonObject *s)
{
  g_assert_cmpfloat (json_object_get_double_member (s, "projections"), >, 0);
  double rel = json_object_get_double_member (s, "min_relative_dot_after_projection");
  if (rel < -1e-6)
    g_printerr ("g . g_ref after projection: %g (relative %g)\n",
                json_object_get_double_member (s, "min_dot_after_projection"), rel);
  g_assert_cmpfloat (rel, >=, -1e-6);
}

static void
test_project (void)
{
  const char *dataset =
    "{\"name\": \"synthetic\", \"classes\": 6, \"dim\": 16, \"train_per_class\": 100, \"test_per_class\": 50}";
  g_autoptr (JsonObject) res = run_config ("project", "{\"name\": \"mlp\", \"hidden\": [32]}",
                                           "{\"name\": \"x-project\"}", dataset,
                                           "{\"type\": \"class-incremental\", \"experiences\": 3}");
  JsonObject *s = section (res, "strategy");
  /* 200 samples per experience in batches of 32: 7 steps x 10 epochs, checked from experience 2 on */
  g_assert_cmpint ((gint64) json_object_get_double_member (s, "steps_checked"), ==, 2 * 7 * 10);
  check_projection (s);
  /* the memory is what it says */
  g_assert_cmpint (json_object_get_int_member (section (res, "memory_bytes"), "strategy"), ==, 3 * 64 * 8);
  g_assert_cmpfloat (matrix_at (res, 2, 2), >, 0.9);

  /* one head per task: the step's loss gives earlier heads no gradient at
   * all (lf_tensor_grad is NULL) while the reference gradient needs them;
   * the projection still holds exactly */
  g_autoptr (JsonObject) ti = run_config ("project-ti", "{\"name\": \"mlp\", \"hidden\": [32], \"heads\": \"multi\"}",
                                          "{\"name\": \"x-project\"}", dataset,
                                          "{\"type\": \"task-incremental\", \"experiences\": 3}");
  JsonObject *st = section (ti, "strategy");
  g_assert_cmpfloat (json_object_get_double_member (st, "gradients_materialised"), >, 0);
  check_projection (st);
}

static void
test_ncm (void)
{
  const char *scenario = "{\"type\": \"class-incremental\", \"experiences\": 2}";
  const char *model = "{\"name\": \"mlp\", \"hidden\": [32]}";
  g_autoptr (JsonObject) naive = run_config ("ncm-naive", model, "{\"name\": \"naive\"}", dataset_4, scenario);
  g_autoptr (JsonObject) ncm = run_config ("ncm", model, "{\"name\": \"x-ncm\"}", dataset_4, scenario);
  /* naive's arg-max forgets the first experience completely; the class means keep it */
  g_assert_cmpfloat (matrix_at (naive, 1, 0), <, 0.05);
  g_assert_cmpfloat (matrix_at (ncm, 1, 0), >, 0.5);
  g_assert_cmpfloat (average_accuracy (ncm), >, average_accuracy (naive) + 0.2);
}

/* Text through the host: continual pre-training gives a loss matrix, and
 * cumulative forgets less than naive; text classification learns domains. */
static void
test_text (void)
{
  if (!g_file_test ("/usr/share/games/fortunes/computers", G_FILE_TEST_IS_REGULAR)
      || !g_file_test ("/usr/share/games/fortunes/de/computer", G_FILE_TEST_IS_REGULAR)
      || !g_file_test ("/usr/share/games/fortunes/it/italia", G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("Debian's fortunes, fortunes-de and fortunes-it are not installed (scripts/install-deps.sh installs them)");
      return;
    }
  double forgetting[2];
  const char *strategies[2] = { "naive", "cumulative" };
  for (int k = 0; k < 2; k++)
    {
      g_autofree char *cfg = g_strdup_printf (
        "{\"model\": {\"name\": \"x-bigram\"}, \"strategy\": {\"name\": \"%s\"},"
        " \"dataset\": {\"name\": \"fortunes\", \"domains\": [\"en/computers\", \"de/computer\", \"it/italia\"]},"
        " \"scenario\": {\"type\": \"continual-pretraining\", \"context\": 64},"
        " \"train\": {\"batch_size\": 32, \"lr\": 0.05, \"tokens\": 60000}}", strategies[k]);
      g_autofree char *name = g_strdup_printf ("cpt-%s", strategies[k]);
      g_autoptr (JsonObject) res = run_ok (name, cfg);
      g_assert_cmpstr (json_object_get_string_member (res, "matrix_kind"), ==, "loss");
      JsonArray *m = json_object_get_array_member (res, "matrix");
      g_assert_cmpuint (json_array_get_length (m), ==, 3);
      /* every loss is below the untrained model's on the domain it trained on */
      JsonArray *base = json_object_get_array_member (res, "baseline");
      for (guint j = 0; j < 3; j++)
        g_assert_cmpfloat (json_array_get_double_element (json_array_get_array_element (m, j), j), <,
                           json_array_get_double_element (base, j));
      JsonObject *tp = json_object_get_object_member (res, "throughput");
      g_assert_cmpint (json_object_get_int_member (tp, "train_tokens"), >=, 3 * 60000);
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (res, "bits_per_byte")), ==, 3);
      forgetting[k] = json_object_get_double_member (json_object_get_object_member (res, "metrics"),
                                                     "average_forgetting");
    }
  g_test_message ("forgetting (rise in loss): naive %.4f, cumulative %.4f", forgetting[0], forgetting[1]);
  g_assert_cmpfloat (forgetting[0], >, 0);
  g_assert_cmpfloat (forgetting[1], <, forgetting[0]);

  g_autoptr (JsonObject) cls = run_ok ("text-cls",
    "{\"model\": {\"name\": \"x-bigram\"}, \"strategy\": {\"name\": \"joint\"},"
    " \"dataset\": {\"name\": \"fortunes\", \"domains\": [\"en/computers\", \"de/computer\"]},"
    " \"scenario\": {\"type\": \"text-classification\", \"experiences\": 1, \"context\": 64},"
    " \"train\": {\"epochs\": 20, \"batch_size\": 32, \"lr\": 0.05}}");
  /* English vs German computer fortunes: bytes tell them apart */
  JsonArray *m = json_object_get_array_member (cls, "matrix");
  g_assert_cmpfloat (json_array_get_double_element (json_array_get_array_element (m, 0), 0), >, 0.8);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  exe = g_getenv ("LIFELONG_EXE");
  ext_dir = g_getenv ("LIFELONG_EXTENSIONS_DIR");
  if (exe == NULL || ext_dir == NULL)
    {
      g_printerr ("LIFELONG_EXE and LIFELONG_EXTENSIONS_DIR must be set (meson test sets them)\n");
      return 1;
    }
  dir = g_dir_make_tmp ("lifelong-ext-XXXXXX", NULL);
  g_test_add_func ("/extensions/descriptors", test_descriptors);
  g_test_add_func ("/extensions/lora", test_lora);
  g_test_add_func ("/extensions/moe", test_moe);
  g_test_add_func ("/extensions/prefix", test_prefix);
  g_test_add_func ("/extensions/project", test_project);
  g_test_add_func ("/extensions/ncm", test_ncm);
  g_test_add_func ("/extensions/text", test_text);
  int rc = g_test_run ();
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  if (system (cmd) != 0)
    g_printerr ("could not remove %s\n", dir);
  g_free (dir);
  return rc;
}
