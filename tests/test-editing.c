/* lifelong tests — knowledge editing (docs/editing.md): the facts
 * generator in process; the knowledge-editing scenario, the model cache and
 * the ft-l / ft-ewc / grace editors through the executable, on a tiny model;
 * GRACE's codebook rules in process (plugins/strategies/grace-codebook.c);
 * WISE's shard masks and TIES merge in process (wise-ops.c), its router
 * and its untouched main memory through the executable. */
#include "strategies/cli.h"
#include "host.h"
#include "plugin-private.h"
#include "safetensors.h"
#include "../plugins/strategies/grace-codebook.h"
#include "../plugins/strategies/wise-ops.h"
#include <math.h>
#include <stdio.h>
#include <glib/gstdio.h>

/* ---- the facts dataset, in process -------------------------------------- */

static LfPluginRegistry *reg;

static LfDataset *
facts_open (const char *json)
{
  const LfPluginInfo *info = lf_registry_find (reg, LF_PLUGIN_DATASET, "facts");
  g_assert_nonnull (info);
  g_autoptr (JsonNode) node = json_from_string (json, NULL);
  static const char *const skip[] = { "name", NULL };
  g_autoptr (GError) error = NULL;
  LfParams *p = lf_params_from_json (info->params, json_node_get_object (node), "dataset", skip, &error);
  g_assert_no_error (error);
  LfDataset *ds = lf_dataset_open (info, p, 0, &error);
  g_assert_no_error (error);
  lf_params_free (p);
  return ds;
}

/* Every sample of both splits, as one string. */
static char *
facts_all_bytes (LfDataset *ds)
{
  GString *s = g_string_new (NULL);
  for (int split = 0; split < 2; split++)
    for (int64_t i = 0; i < (split ? ds->di.n_test : ds->di.n_train); i++)
      {
        const uint8_t *b;
        int64_t n = ds->vt->sequence (ds->self, (LfSplit) split, i, &b);
        int64_t a, e;
        ds->vt->answer_span (ds->self, (LfSplit) split, i, &a, &e);
        g_assert_cmpint (0, <, a);
        g_assert_cmpint (a, <, e);
        g_assert_cmpint (e, <=, n);
        g_string_append_len (s, (const char *) b, n);
        g_string_append_printf (s, "|%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT "\n", a, e);
      }
  return g_string_free (s, FALSE);
}

/* Same seed, same bytes (and answer spans); another seed, other bytes. */
static void
test_facts_deterministic (void)
{
  LfDataset *a = facts_open ("{\"seed\": 3}"), *b = facts_open ("{\"seed\": 3}"), *c = facts_open ("{\"seed\": 4}");
  g_autofree char *ta = facts_all_bytes (a), *tb = facts_all_bytes (b), *tc = facts_all_bytes (c);
  g_assert_cmpstr (ta, ==, tb);
  g_assert_cmpstr (ta, !=, tc);
  /* plain ASCII, as the byte-level transformer reads it */
  for (const char *p = ta; *p; p++)
    g_assert_true ((unsigned char) *p < 128);
  lf_dataset_close (a);
  lf_dataset_close (b);
  lf_dataset_close (c);
}

/* The prompt (the bytes before the answer) or the answer of sample i. */
static char *
facts_part (LfDataset *ds, LfSplit split, int64_t i, gboolean answer)
{
  const uint8_t *b;
  int64_t a, e;
  ds->vt->sequence (ds->self, split, i, &b);
  ds->vt->answer_span (ds->self, split, i, &a, &e);
  return answer ? g_strndup ((const char *) b + a, (gsize) (e - a)) : g_strndup ((const char *) b, (gsize) a);
}
#define facts_prompt(ds, split, i) facts_part (ds, split, i, FALSE)
#define facts_answer(ds, split, i) facts_part (ds, split, i, TRUE)

/* No paraphrase prompt is ever an editing prompt (the text a strategy
 * trains on); a paraphrase asks for the edit's new object; locality prompts
 * are facts of subjects no edit touches; the new object is never the true
 * one. */
static void
test_facts_paraphrases_held_out (void)
{
  LfDataset *ds = facts_open ("{}");
  g_autoptr (GHashTable) editing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) kb = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (int64_t i = 0; i < ds->di.n_train; i++)
    if (ds->vt->domain (ds->self, LF_SPLIT_TRAIN, i) >= 0)
      g_hash_table_insert (kb, facts_prompt (ds, LF_SPLIT_TRAIN, i), facts_answer (ds, LF_SPLIT_TRAIN, i));
  LfEdit x = { .struct_size = sizeof x };
  int64_t n_edits = 0;
  for (; ds->vt->edit (ds->self, n_edits, &x); n_edits++)
    g_hash_table_add (editing, facts_prompt (ds, LF_SPLIT_TRAIN, x.rewrite));
  g_assert_cmpint (n_edits, ==, 50 * 5);   /* (60 - 10 locality entities) x 5 relations */
  for (int64_t k = 0; k < n_edits; k++)
    {
      g_assert_true (ds->vt->edit (ds->self, k, &x));
      g_autofree char *rp = facts_prompt (ds, LF_SPLIT_TRAIN, x.rewrite);
      g_autofree char *new_obj = facts_answer (ds, LF_SPLIT_TRAIN, x.rewrite);
      g_assert_cmpstr (g_hash_table_lookup (kb, rp), !=, new_obj);
      g_assert_cmpint (x.n_paraphrases, ==, 2);
      for (int64_t j = 0; j < x.n_paraphrases; j++)
        {
          g_autofree char *pp = facts_prompt (ds, LF_SPLIT_TEST, x.paraphrases[j]);
          g_autofree char *pa = facts_answer (ds, LF_SPLIT_TEST, x.paraphrases[j]);
          g_assert_false (g_hash_table_contains (editing, pp));
          g_assert_cmpstr (pa, ==, new_obj);
        }
      g_assert_cmpint (x.n_locality, ==, 1);
      g_autofree char *lp = facts_prompt (ds, LF_SPLIT_TEST, x.locality[0]);
      g_assert_true (g_hash_table_contains (kb, lp));
      g_assert_false (g_hash_table_contains (editing, lp));
    }
  lf_dataset_close (ds);
}

/* ---- runs through the executable ----------------------------------------- */

#define TINY_MODEL "\"name\": \"transformer\", \"d_model\": 16, \"layers\": 2, \"heads\": 2, \"context\": 64"
#define TINY_DATA "{\"name\": \"facts\", \"entities\": 8, \"relations\": 2, \"objects\": 4, \"locality_entities\": 3}"
#define TINY_PRETRAIN \
  "{\"model\": {" TINY_MODEL "}, \"strategy\": {\"name\": \"naive\"}, \"dataset\": " TINY_DATA ", " \
  "\"scenario\": {\"type\": \"continual-pretraining\", \"context\": 64}, " \
  "\"train\": {\"epochs\": 2, \"batch_size\": 8, \"lr\": 0.01}, \"seed\": 0}"

/* The same tiny model pre-trained 40 epochs: it tells its subjects apart
 * (WISE's router needs activations that differ between facts). */
#define TINY_PRETRAIN_40 \
  "{\"model\": {" TINY_MODEL "}, \"strategy\": {\"name\": \"naive\"}, \"dataset\": " TINY_DATA ", " \
  "\"scenario\": {\"type\": \"continual-pretraining\", \"context\": 64}, " \
  "\"train\": {\"epochs\": 40, \"batch_size\": 8, \"lr\": 0.01}, \"seed\": 0}"

/* The base model editing_config starts from: the cache entry and the
 * config that trains it. */
static const char *base_cache = "tiny", *base_config = TINY_PRETRAIN;

/* An editing config from the cached tiny base model. */
static char *
editing_config (const char *strategy, int64_t edits, const char *eval_at)
{
  return g_strdup_printf ("{\"model\": {" TINY_MODEL ", \"checkpoint\": {\"cache\": \"%s\", \"config\": "
                          "%s}}, \"strategy\": %s, \"dataset\": " TINY_DATA ", "
                          "\"scenario\": {\"type\": \"knowledge-editing\", \"edits\": %" G_GINT64_FORMAT
                          ", \"eval_at\": %s, \"context\": 64}, \"train\": {\"batch_size\": 1}, \"seed\": 0}",
                          base_cache, base_config, strategy, edits, eval_at);
}

static JsonObject *
run_editing (const char *name, const char *strategy, int64_t edits, const char *eval_at, const char *const *extra)
{
  g_autofree char *cfg = editing_config (strategy, edits, eval_at);
  g_autofree char *file = g_strconcat (name, ".json", NULL);
  g_autofree char *out = g_strconcat (name, ".result.json", NULL);
  g_autofree char *path = cli_write (file, cfg);
  g_autofree char *err = NULL;
  JsonObject *res = cli_run (path, out, extra, &err);
  if (res == NULL)
    g_error ("%s failed: %s", name, err ? err : "");
  return res;
}

static const char *
cache_source (JsonObject *res)
{
  return json_object_get_string_member (json_object_get_object_member (res, "checkpoint"), "cache");
}

/* The cache trains the base model once; the next run loads it; an entry
 * whose model does not read back (a flipped byte) is trained again. */
static void
test_cache (void)
{
  g_autoptr (JsonObject) a = run_editing ("cache-a", "{\"name\": \"ft-l\", \"steps\": 1}", 2, "[]", NULL);
  g_assert_cmpstr (cache_source (a), ==, "trained");
  g_autoptr (JsonObject) b = run_editing ("cache-b", "{\"name\": \"ft-l\", \"steps\": 1}", 2, "[]", NULL);
  g_assert_cmpstr (cache_source (b), ==, "hit");
  const char *dir = json_object_get_string_member (json_object_get_object_member (b, "checkpoint"), "path");
  g_assert_true (g_str_has_prefix (dir, g_getenv ("LIFELONG_CACHE")));
  /* the same numbers from the cached model as from the one just trained */
  g_autofree char *ma = cli_member_json (a, "editing"), *mb = cli_member_json (b, "editing");
  g_autofree char *ra = cli_member_json (a, "matrix"), *rb = cli_member_json (b, "matrix");
  g_assert_cmpstr (ra, ==, rb);

  /* corrupt the entry's weights: refused, trained again */
  g_autofree char *w = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *bytes = NULL;
  gsize n;
  g_assert_true (g_file_get_contents (w, &bytes, &n, NULL));
  bytes[n - 3] ^= 0x40;
  g_assert_true (g_file_set_contents (w, bytes, (gssize) n, NULL));
  g_autoptr (JsonObject) c = run_editing ("cache-c", "{\"name\": \"ft-l\", \"steps\": 1}", 2, "[]", NULL);
  g_assert_cmpstr (cache_source (c), ==, "trained");
  g_autofree char *rc = cli_member_json (c, "matrix");
  g_assert_cmpstr (ra, ==, rc);

  /* a partial entry (what a killed trainer leaves: a temporary folder, no
   * entry) is never used */
  g_autofree char *base = g_path_get_basename (dir);
  g_autofree char *root = g_path_get_dirname (dir);
  g_autofree char *tmp = g_strdup_printf ("%s/.%s.tmp-ABCDEF", root, base);
  g_assert_cmpint (g_mkdir (tmp, 0755), ==, 0);
  g_autofree char *moved = g_strconcat (dir, ".moved", NULL);
  g_assert_cmpint (g_rename (dir, moved), ==, 0);
  g_autoptr (JsonObject) d = run_editing ("cache-d", "{\"name\": \"ft-l\", \"steps\": 1}", 2, "[]", NULL);
  g_assert_cmpstr (cache_source (d), ==, "trained");
  g_assert_false (g_file_test (tmp, G_FILE_TEST_EXISTS));   /* cleaned up under the lock */
  (void) ma; (void) mb;
}

static double
point (JsonObject *res, guint i, const char *key)
{
  JsonArray *pts = json_object_get_array_member (json_object_get_object_member (res, "editing"), "points");
  return json_object_get_double_member (json_array_get_object_element (pts, i), key);
}

/* An editor that changes nothing: locality exactly 1, reliability and
 * generalization those of the base model; the eval points as asked. */
static void
test_unedited (void)
{
  g_autoptr (JsonObject) r = run_editing ("unedited", "{\"name\": \"ft-l\", \"steps\": 0}", 6, "[1, 3]", NULL);
  JsonArray *pts = json_object_get_array_member (json_object_get_object_member (r, "editing"), "points");
  g_assert_cmpuint (json_array_get_length (pts), ==, 3);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (pts, 2), "edits"), ==, 6);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpfloat (point (r, i, "locality"), ==, 1.0);
  JsonObject *base = json_object_get_object_member (json_object_get_object_member (r, "editing"), "base_model");
  g_assert_cmpfloat_with_epsilon (point (r, 2, "reliability"), json_object_get_double_member (base, "reliability"),
                                  1e-12);
  g_assert_cmpfloat (cli_metric (r, "locality"), ==, 1.0);
  g_assert_true (isfinite (json_object_get_double_member (base, "kb_token_accuracy")));
  /* the matrix: one row per eval point, each edit's reliability, null
   * for edits not applied yet */
  JsonArray *m = json_object_get_array_member (r, "matrix");
  g_assert_cmpuint (json_array_get_length (m), ==, 3);
  JsonArray *row0 = json_array_get_array_element (m, 0);
  g_assert_cmpuint (json_array_get_length (row0), ==, 6);
  g_assert_true (JSON_NODE_HOLDS_NULL (json_array_get_element (row0, 1)));
}

/* Compares the saved model of run r (saved_dir) with its base model
 * tensor by tensor: `trained` (or NULL) must differ, every other tensor
 * must be bitwise equal (each that is not is printed and counted). */
static int
count_changed_tensors (JsonObject *r, const char *saved_dir, const char *trained)
{
  const char *dir = json_object_get_string_member (json_object_get_object_member (r, "checkpoint"), "path");
  g_autofree char *wb = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *we = g_build_filename (saved_dir, "model.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (LfSafetensors) sb = lf_safetensors_open (wb, &error);
  g_assert_no_error (error);
  g_autoptr (LfSafetensors) se = lf_safetensors_open (we, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lf_safetensors_n_tensors (sb), ==, lf_safetensors_n_tensors (se));
  int changed = 0;
  for (const char *const *nm = lf_safetensors_names (sb); *nm; nm++)
    {
      int nd_b, nd_e;
      int64_t sh_b[4], sh_e[4];
      g_autofree float *vb = NULL, *ve = NULL;
      g_assert_true (lf_safetensors_get (sb, *nm, &nd_b, sh_b, &vb, NULL));
      g_assert_true (lf_safetensors_get (se, *nm, &nd_e, sh_e, &ve, NULL));
      int64_t numel = 1;
      for (int d = 0; d < nd_b; d++)
        numel *= sh_b[d];
      gboolean same = memcmp (vb, ve, (size_t) numel * sizeof (float)) == 0;
      if (trained && g_str_equal (*nm, trained))
        g_assert_false (same);
      else if (!same)
        {
          g_printerr ("changed: %s\n", *nm);
          changed++;
        }
    }
  return changed;
}

/* ft-l trains one down_proj: every other weight is bitwise the base
 * model's; and editing raises reliability over the unedited model. */
static void
test_ftl_only_layer (void)
{
  g_autofree char *saved = cli_write ("ftl-model", "");
  g_unlink (saved);
  const char *extra[] = { "--save-model", saved, NULL };
  g_autoptr (JsonObject) r = run_editing ("ftl", "{\"name\": \"ft-l\", \"steps\": 20, \"lr\": 0.05}", 4, "[1]", extra);
  /* the middle of 2 layers */
  g_assert_cmpint (count_changed_tensors (r, saved, "model.layers.1.mlp.down_proj.weight"), ==, 0);
  g_assert_cmpfloat (cli_strategy_figure (r, "layer"), ==, 1);
  /* right after it, the first edit is more reliable than before it */
  double before = json_array_get_double_element (json_object_get_array_member (r, "baseline"), 0);
  g_assert_cmpfloat (cli_matrix (r, 0, 0), >, before);
}

/* ft-ewc: the Fisher of the knowledge base is estimated and pulls. */
static void
test_ftewc (void)
{
  g_autoptr (JsonObject) r = run_editing ("ftewc", "{\"name\": \"ft-ewc\", \"steps\": 5, \"fisher_samples\": 16}", 3,
                                          "[1]", NULL);
  g_assert_cmpfloat (cli_strategy_figure (r, "fisher_total"), >, 0);
  g_assert_cmpfloat (cli_strategy_figure (r, "fisher_samples_used"), ==, 16);
  g_assert_true (isfinite (cli_metric (r, "locality")));
}

/* ---- grace ---------------------------------------------------------------- */

/* The codebook's rules on hand-made 2-d keys: add, expand (same answer),
 * covered, split (another answer: disjoint radii of half the distance),
 * lookups inside and outside the radii; never more entries than updates;
 * the save / load round trip. */
static void
test_grace_codebook (void)
{
  GraceCodebook cb;
  grace_codebook_init (&cb, 2, 3);
  const int32_t A[] = { 65, 66 }, B[] = { 67 };
  const LfReal v[3] = { 1, 2, 3 };
  int64_t e, updates = 0;
  const LfReal k0[2] = { 0, 0 }, k1[2] = { 1.5, 0 }, k2[2] = { 0, 0.5 }, k3[2] = { 0, -1 }, far[2] = { 10, 10 };
  g_assert_cmpint (grace_codebook_lookup (&cb, k0), ==, -1);   /* empty: nothing replaced */
  g_assert_cmpint (grace_codebook_update (&cb, k0, A, 2, v, 1.0, &e), ==, GRACE_ADDED);
  g_assert_cmpint (e, ==, 0);
  g_assert_cmpfloat (cb.eps[0], ==, 1.0);
  g_assert_cmpint (grace_codebook_lookup (&cb, k1), ==, -1);   /* 1.5 > radius 1 */
  /* same answer, balls overlap (1.5 <= 1 + 1), outside the radius: expand */
  g_assert_cmpint (grace_codebook_update (&cb, k1, A, 2, v, 1.0, &e), ==, GRACE_EXPANDED);
  g_assert_cmpint (e, ==, 0);
  g_assert_cmpfloat (cb.eps[0], ==, 1.5);
  g_assert_cmpint (grace_codebook_lookup (&cb, k1), ==, 0);
  /* same answer inside the radius: covered, nothing changes */
  g_assert_cmpint (grace_codebook_update (&cb, k2, A, 2, v, 1.0, &e), ==, GRACE_COVERED);
  g_assert_cmpint (cb.n, ==, 1);
  /* another answer (a prefix of A is not A) at distance 1: split */
  g_assert_cmpint (grace_codebook_update (&cb, k3, A, 1, v, 1.0, &e), ==, GRACE_SPLIT);
  g_assert_cmpint (e, ==, 1);
  g_assert_cmpint (cb.n, ==, 2);
  g_assert_cmpfloat (cb.eps[1], ==, 0.5);
  g_assert_cmpfloat (cb.eps[0], <, 0.5);
  g_assert_cmpfloat (cb.eps[0], >, 0.5 - 1e-12);
  g_assert_cmpfloat (cb.eps[1], <=, 0.5);   /* with eps[0] < 0.5: disjoint balls (distance 1) */
  g_assert_cmpint (grace_codebook_lookup (&cb, k0), ==, 0);
  g_assert_cmpint (grace_codebook_lookup (&cb, k3), ==, 1);
  g_assert_cmpint (grace_codebook_lookup (&cb, k1), ==, -1);  /* the expanded cover is gone */
  /* a split never grows a radius: a key with radius 0.5 - , eps_init 3 */
  const LfReal k4[2] = { 0, 0.9 };
  g_assert_cmpint (grace_codebook_update (&cb, k4, B, 1, v, 3.0, &e), ==, GRACE_SPLIT);
  g_assert_cmpfloat (cb.eps[0], <, 0.45);
  g_assert_cmpfloat_with_epsilon (cb.eps[2], 0.45, 1e-6);
  g_assert_cmpint (grace_codebook_update (&cb, far, B, 1, v, 1.0, &e), ==, GRACE_ADDED);
  updates = 6;
  g_assert_cmpint (cb.n, <=, updates);
  g_assert_cmpint (cb.n_added + cb.n_split, ==, cb.n);
  g_assert_cmpint (cb.n_expanded, ==, 1);
  g_assert_cmpint (cb.n_split, ==, 2);
  cb.values[4 * 3 + 1] = 42;

  /* save / load */
  LfState *st = lf_state_new ();
  grace_codebook_save (&cb, st);
  GraceCodebook back;
  grace_codebook_init (&back, 2, 3);
  g_autoptr (GError) error = NULL;
  g_assert_true (grace_codebook_load (&back, st, &error));
  g_assert_no_error (error);
  g_assert_cmpint (back.n, ==, cb.n);
  g_assert_cmpmem (back.keys, cb.n * 2 * sizeof (LfReal), cb.keys, cb.n * 2 * sizeof (LfReal));
  g_assert_cmpmem (back.values, cb.n * 3 * sizeof (LfReal), cb.values, cb.n * 3 * sizeof (LfReal));
  g_assert_cmpmem (back.eps, cb.n * sizeof (double), cb.eps, cb.n * sizeof (double));
  g_assert_cmpint (back.n_split, ==, 2);
  g_assert_cmpint (back.n_expanded, ==, 1);
  g_assert_cmpuint (grace_codebook_bytes (&back), ==, grace_codebook_bytes (&cb));
  for (int64_t i = 0; i < cb.n; i++)
    g_assert_true (g_bytes_equal (g_ptr_array_index (back.answers, i), g_ptr_array_index (cb.answers, i)));
  /* the same rules after loading: k3's answer again is covered by its key */
  g_assert_cmpint (grace_codebook_update (&back, k3, A, 1, v, 1.0, &e), ==, GRACE_COVERED);
  g_assert_cmpint (e, ==, 1);
  /* another layer's codebook does not load */
  GraceCodebook other;
  grace_codebook_init (&other, 4, 3);
  g_assert_false (grace_codebook_load (&other, st, &error));
  g_assert_error (error, LF_ERROR, LF_ERROR_INVALID);
  grace_codebook_clear (&other);
  grace_codebook_clear (&back);
  grace_codebook_clear (&cb);
  lf_state_free (st);
}

/* grace through the executable: locality exactly 1 at every point (no
 * unrelated prompt reaches a key; eps_init fits the tiny model, whose keys
 * are about 0.01 apart), the model's weights bitwise the base model's (the
 * codebook is beside it, the hook returns the layer's own output when no
 * position hits), edits that take, a codebook no bigger than the edits. */
static void
test_grace_run (void)
{
  g_autofree char *saved = cli_write ("grace-model", "");
  g_unlink (saved);
  const char *extra[] = { "--save-model", saved, NULL };
  g_autoptr (JsonObject) r = run_editing ("grace", "{\"name\": \"grace\", \"steps\": 60, \"lr\": 0.1, \"eps_init\": 0.001}",
                                          4, "[1, 2]", extra);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpfloat (point (r, i, "locality"), ==, 1.0);
  /* the tiny model (2 epochs) knows no object name, so no exact match
   * (benchmarks/editing.json: exact-match reliability 1 at T = 1); at the
   * token level the edits are more reliable than before them */
  JsonObject *base = json_object_get_object_member (json_object_get_object_member (r, "editing"), "base_model");
  g_assert_cmpfloat (cli_metric (r, "reliability"), >, json_object_get_double_member (base, "reliability"));
  g_assert_cmpfloat (cli_strategy_figure (r, "codebook_size"), >=, 1);
  g_assert_cmpfloat (cli_strategy_figure (r, "codebook_size"), <=, 4);
  g_assert_cmpfloat (cli_strategy_figure (r, "added") + cli_strategy_figure (r, "splits"), ==,
                     cli_strategy_figure (r, "codebook_size"));
  g_assert_cmpint (count_changed_tensors (r, saved, NULL), ==, 0);
}

/* ---- wise ----------------------------------------------------------------- */

/* A shard's mask has exactly round (rho * n) ones; the same key gives the
 * same mask, another key another one. */
static void
test_wise_masks (void)
{
  const int64_t n = 1000;
  g_autofree uint8_t *a = g_new (uint8_t, n), *b = g_new (uint8_t, n), *c = g_new (uint8_t, n);
  g_assert_cmpint (wise_shard_mask (a, n, 0.2, 42), ==, 200);
  g_assert_cmpint (wise_shard_mask (b, n, 0.2, 42), ==, 200);
  g_assert_cmpint (wise_shard_mask (c, n, 0.2, 43), ==, 200);
  int64_t ones = 0, same_ac = 0;
  for (int64_t i = 0; i < n; i++)
    {
      g_assert_true (a[i] == 0 || a[i] == 1);
      ones += a[i];
      same_ac += a[i] && c[i];
    }
  g_assert_cmpint (ones, ==, 200);
  g_assert_cmpmem (a, n, b, n);
  /* two independent subspaces of density 0.2 share about 0.2 * 0.2 * n = 40 */
  g_assert_cmpint (same_ac, <, 200);
  g_assert_cmpint (same_ac, >, 0);
  /* rounding: 10 * 0.333 -> 3; 10 * 0.35 -> 4 (llround, half away from zero) */
  g_assert_cmpint (wise_shard_mask (a, 10, 0.333, 1), ==, 3);
  g_assert_cmpint (wise_shard_mask (a, 10, 0.35, 1), ==, 4);
  g_assert_cmpint (wise_shard_mask (a, 10, 1.0, 1), ==, 10);
  for (int i = 0; i < 10; i++)
    g_assert_cmpint (a[i], ==, 1);
}

/* TIES on two hand-made task vectors (worked by hand below). */
static void
test_wise_ties (void)
{
  /* dyadic values: every difference below is exact in float */
  const LfReal base[6] = { 1, 1, 1, 1, 1, 1 };
  /* tau1 = ( 0.5,  -0.125,  0.0625,  0,      -0.375,  0.25)
   * tau2 = ( 0.25,  0.75,  -0.03125, 0.0625,  0.3125, -0.25) */
  const LfReal t1[6] = { 1.5, 0.875, 1.0625, 1.0, 0.625, 1.25 };
  const LfReal t2[6] = { 1.25, 1.75, 0.96875, 1.0625, 1.3125, 0.75 };
  const LfReal *thetas[2] = { t1, t2 };
  LfReal out[6];
  /* density 0.5: keep 3 of 6.
   *   tau1 -> (0.5,  0,    0, 0, -0.375,  0.25)
   *   tau2 -> (0.25, 0.75, 0, 0,  0.3125, 0)   |0.25| at 0 and 5 tie: the lower index stays
   * elected signs (of the sums 0.75, 0.75, 0, 0, -0.0625, 0.25): +, +, 0, 0, -, +
   * disjoint means: 0.375, 0.75, 0, 0, -0.375 (tau2's 0.3125 disagrees: dropped), 0.25 */
  g_assert_cmpint (wise_ties_merge (base, thetas, 2, 6, 0.5, 1.0, out), ==, 1);
  const LfReal want[6] = { 1.375, 1.75, 1.0, 1.0, 0.625, 1.25 };
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat_with_epsilon (out[i], want[i], 1e-6);
  /* lambda scales the merged task vector */
  wise_ties_merge (base, thetas, 2, 6, 0.5, 2.0, out);
  const LfReal want2[6] = { 1.75, 2.5, 1.0, 1.0, 0.25, 1.5 };
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat_with_epsilon (out[i], want2[i], 1e-6);
  /* one task vector, nothing trimmed: the merge is that model */
  g_assert_cmpint (wise_ties_merge (base, thetas, 1, 6, 1.0, 1.0, out), ==, 0);
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat_with_epsilon (out[i], t1[i], 1e-6);
  /* out may alias base */
  LfReal b2[6];
  memcpy (b2, base, sizeof b2);
  wise_ties_merge (b2, thetas, 2, 6, 0.5, 1.0, b2);
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat_with_epsilon (b2[i], want[i], 1e-6);
}

/* The training ids of the knowledge-base texts of never-edited subjects
 * (every edit's locality prompts; the knowledge base has the same ids in
 * both splits). */
static GHashTable *
wise_locality_ids (void)
{
  LfDataset *ds = facts_open (TINY_DATA);
  GHashTable *ids = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  LfEdit x = { .struct_size = sizeof x };
  for (int64_t k = 0; ds->vt->edit (ds->self, k, &x); k++)
    for (int64_t j = 0; j < x.n_locality; j++)
      g_hash_table_add (ids, g_memdup2 (&x.locality[j], sizeof (int64_t)));
  lf_dataset_close (ds);
  return ids;
}

/* WISE's defining properties through the executable: the main memory (the
 * model's down_proj, and every other weight) is bitwise the base model's
 * after the edits; the router sends every edit prompt to a side memory and
 * no prompt of a never-edited subject (the locality prompts) to one — read
 * from the router's own decisions (kb_routed_side_ids, edits_routed_side);
 * the edits take.  wise-retrieve: a side memory per edits_per_memory edits. */
static void
wise_check_run (const char *name, const char *strategy, int64_t T, int64_t memories)
{
  base_cache = "tiny-40";
  base_config = TINY_PRETRAIN_40;
  g_autofree char *model = g_strconcat (name, "-model", NULL);
  g_autofree char *saved = cli_write (model, "");
  g_unlink (saved);
  const char *extra[] = { "--save-model", saved, NULL };
  g_autoptr (JsonObject) r = run_editing (name, strategy, T, T > 1 ? "[1]" : "[]", extra);
  g_assert_cmpint (count_changed_tensors (r, saved, NULL), ==, 0);
  g_assert_cmpfloat (cli_strategy_figure (r, "side_memories"), ==, (double) memories);
  g_assert_cmpfloat (cli_strategy_figure (r, "edits_routed_side"), ==, (double) T);
  g_autofree char *routed = cli_member_json (json_object_get_object_member (r, "strategy"), "kb_routed_side_ids");
  g_autoptr (JsonNode) node = json_from_string (routed, NULL);
  JsonArray *ids = json_node_get_array (node);
  g_autoptr (GHashTable) loc = wise_locality_ids ();
  g_assert_cmpuint (g_hash_table_size (loc), >, 0);
  for (guint i = 0; i < json_array_get_length (ids); i++)
    {
      int64_t id = json_array_get_int_element (ids, i);
      if (g_hash_table_contains (loc, &id))
        g_error ("%s: the locality text %" G_GINT64_FORMAT " went to a side memory", name, id);
    }
  /* the router decided for every knowledge-base text */
  g_assert_cmpfloat (cli_strategy_figure (r, "kb_texts"), >, 0);
  /* locality exactly 1: the main memory answered every locality prompt */
  for (guint i = 0; i < (T > 1 ? 2 : 1); i++)
    g_assert_cmpfloat (point (r, i, "locality"), ==, 1.0);
  JsonObject *base = json_object_get_object_member (json_object_get_object_member (r, "editing"), "base_model");
  g_assert_cmpfloat (cli_metric (r, "reliability"), >, json_object_get_double_member (base, "reliability"));
  base_cache = "tiny";
  base_config = TINY_PRETRAIN;
}

/* One edit in one side memory.  (With more edits in one memory the tiny
 * model's scope widens: docs/editing.md, "wise".) */
static void
test_wise_run (void)
{
  wise_check_run ("wise", "{\"name\": \"wise\", \"steps\": 40, \"lr\": 0.05}", 1, 1);
}

/* Two edits, a side memory each (the default edits_per_memory = 1).  (At
 * four edits a few knowledge-base texts of never-edited subjects pass a
 * threshold in this tiny model: docs/editing.md, "wise".) */
static void
test_wise_retrieve_run (void)
{
  wise_check_run ("wise-retrieve", "{\"name\": \"wise-retrieve\", \"steps\": 40, \"lr\": 0.05}", 2, 2);
}

/* Bad values: exit 1 without a result, naming the field and the value. */
static void
test_config_errors (void)
{
  struct { const char *strategy; int64_t edits; const char *eval_at; const char *msg; } cases[] = {
    { "{\"name\": \"ft-l\"}", 2, "[3]", "scenario.eval_at[0]: 3 is past the last edit" },
    { "{\"name\": \"ft-l\"}", 5, "[3, 2]", "scenario.eval_at[1]: 2 does not follow" },
    { "{\"name\": \"ft-l\"}", 500, "[]", "scenario.edits: 500 edits asked for, dataset facts has 10" },
    { "{\"name\": \"ft-l\", \"layer\": 7}", 2, "[]", "strategy.layer: 7, the model has 2 layers" },
    { "{\"name\": \"ft-l\", \"steps\": -1}", 2, "[]", "strategy.steps" },
    { "{\"name\": \"wise\", \"rho\": 0}", 2, "[]", "strategy.rho: 0 is out of range" },
    { "{\"name\": \"wise\", \"rho\": 1.5}", 2, "[]", "strategy.rho" },
    { "{\"name\": \"wise\", \"shards\": 0}", 2, "[]", "strategy.shards" },
    { "{\"name\": \"wise\", \"merge_density\": 0}", 2, "[]", "strategy.merge_density: 0 is out of range" },
    { "{\"name\": \"wise\", \"score\": \"median\"}", 2, "[]", "strategy.score" },
    { "{\"name\": \"wise\", \"layer\": 9}", 2, "[]", "strategy.layer: 9, the model has 2 layers" },
    { "{\"name\": \"wise-retrieve\", \"edits_per_memory\": 0}", 2, "[]", "strategy.edits_per_memory" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *cfg = editing_config (cases[i].strategy, cases[i].edits, cases[i].eval_at);
      g_autofree char *path = cli_write ("bad.json", cfg);
      g_autofree char *err = NULL;
      JsonObject *res = cli_run (path, "bad.result.json", NULL, &err);
      g_assert_null (res);
      if (strstr (err, cases[i].msg) == NULL)
        g_error ("case %u: expected \"%s\" in: %s", i, cases[i].msg, err);
    }
  /* the cache's own fields */
  const char *bad[] = {
    "{\"model\": {" TINY_MODEL ", \"checkpoint\": {\"cache\": \"../x\", \"config\": " TINY_PRETRAIN "}}, "
    "\"strategy\": {\"name\": \"ft-l\"}, \"dataset\": " TINY_DATA ", \"scenario\": {\"type\": \"knowledge-editing\", "
    "\"edits\": 2, \"context\": 64}}",
    "{\"model\": {" TINY_MODEL ", \"checkpoint\": {\"cache\": \"x\", \"config\": {\"model\": {\"name\": \"nope\"}}}}, "
    "\"strategy\": {\"name\": \"ft-l\"}, \"dataset\": " TINY_DATA ", \"scenario\": {\"type\": \"knowledge-editing\", "
    "\"edits\": 2, \"context\": 64}}",
    /* edits outside knowledge-editing; ft-l outside it */
    "{\"model\": {" TINY_MODEL "}, \"strategy\": {\"name\": \"naive\"}, \"dataset\": " TINY_DATA ", "
    "\"scenario\": {\"type\": \"continual-pretraining\", \"edits\": 3, \"context\": 64}}",
    "{\"model\": {" TINY_MODEL "}, \"strategy\": {\"name\": \"ft-l\"}, \"dataset\": " TINY_DATA ", "
    "\"scenario\": {\"type\": \"continual-pretraining\", \"context\": 64}}",
  };
  const char *msgs[] = { "model.checkpoint.cache: \"../x\" is not a cache entry name",
                         "model.checkpoint.config: ", "scenario.edits: applies to knowledge-editing",
                         "strategy ft-l works in knowledge-editing scenarios, not continual-pretraining" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *path = cli_write ("bad.json", bad[i]);
      g_autofree char *err = NULL;
      g_assert_null (cli_run (path, "bad.result.json", NULL, &err));
      if (strstr (err, msgs[i]) == NULL)
        g_error ("cache case %u: expected \"%s\" in: %s", i, msgs[i], err);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cli_init ("editing");
  g_autofree char *cache = cli_write ("cache", "");
  g_unlink (cache);
  g_setenv ("LIFELONG_CACHE", cache, TRUE);
  reg = lf_registry_new ();
  const char *dirs[] = { g_getenv ("LIFELONG_PLUGIN_DIR"), NULL };
  g_assert_nonnull (dirs[0]);
  g_assert_true (lf_registry_scan (reg, dirs, NULL));
  g_test_add_func ("/editing/facts/deterministic", test_facts_deterministic);
  g_test_add_func ("/editing/facts/paraphrases-held-out", test_facts_paraphrases_held_out);
  g_test_add_func ("/editing/cache", test_cache);
  g_test_add_func ("/editing/unedited-locality", test_unedited);
  g_test_add_func ("/editing/ft-l/only-its-layer", test_ftl_only_layer);
  g_test_add_func ("/editing/ft-ewc", test_ftewc);
  g_test_add_func ("/editing/grace/codebook", test_grace_codebook);
  g_test_add_func ("/editing/grace/run", test_grace_run);
  g_test_add_func ("/editing/wise/masks", test_wise_masks);
  g_test_add_func ("/editing/wise/ties", test_wise_ties);
  g_test_add_func ("/editing/wise/run", test_wise_run);
  g_test_add_func ("/editing/wise-retrieve/run", test_wise_retrieve_run);
  g_test_add_func ("/editing/config-errors", test_config_errors);
  int rc = g_test_run ();
  lf_registry_free (reg);
  cli_cleanup ();
  return rc;
}
