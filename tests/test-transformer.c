/* lifelong tests — the transformer as a language model, through the
 * executable: checkpoints in the Hugging Face layout (`run --save-model`,
 * model.checkpoint; F32, F16 and BF16 in; every kind of bad file refused
 * with its name), generation with the key/value cache against the full
 * re-run (`generate --no-cache`), `lifelong generate` on fortunes, and
 * strategies running unchanged on the language model.
 *
 * The checkpoint and cache tests train on a small corpus written here (the
 * fortunes dataset reading a folder of its own), so they need no system
 * files; the fortunes tests skip when Debian's fortunes are missing. */
#include "testutil.h"
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char *dir, *corpus;
static const char *exe;

#define FORTUNES "/usr/share/games/fortunes"

/* ---- running the executable ---- */

/* Runs `lifelong ARGS...`: the exit status, stdout and stderr (either may
 * be NULL). */
static int
run_cli (char **out, char **err, ...)
{
  va_list ap;
  va_start (ap, err);
  int status = tu_spawn_va (exe, ap, NULL, NULL, out, err);
  va_end (ap);
  return status;
}

static char *
path_in (const char *name)
{
  return g_build_filename (dir, name, NULL);
}


static JsonObject *
parse_json (const char *text)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) error = NULL;
  if (!json_parser_load_from_data (p, text, -1, &error))
    g_error ("%s: %s", text, error->message);
  return json_object_ref (json_node_get_object (json_parser_get_root (p)));
}

/* The corpus: two domains of 60 "fortunes" each, sentences over two
 * different small vocabularies (fixed seed). */
static void
write_corpus (void)
{
  static const char *const words[2][8] = {
    { "the", "kernel", "boots", "a", "fast", "disk", "and", "compiles" },
    { "every", "star", "shines", "over", "cold", "oceans", "while", "moons" },
  };
  static const char *const names[2] = { "alpha", "beta" };
  corpus = path_in ("corpus");
  g_assert_cmpint (g_mkdir_with_parents (corpus, 0755), ==, 0);
  g_autoptr (GRand) r = g_rand_new_with_seed (7);
  for (int d = 0; d < 2; d++)
    {
      g_autoptr (GString) s = g_string_new (NULL);
      for (int f = 0; f < 60; f++)
        {
          int n = g_rand_int_range (r, 3, 9);
          for (int w = 0; w < n; w++)
            g_string_append_printf (s, "%s%s", w ? " " : "", words[d][g_rand_int_range (r, 0, 8)]);
          g_string_append (s, ".\n%\n");
        }
      g_autofree char *file = g_build_filename (corpus, names[d], NULL);
      g_assert_true (g_file_set_contents (file, s->str, -1, NULL));
    }
}

/* A continual-pretraining config on the corpus; model: the model section's
 * members after "name" (e.g. "\"d_model\": 32"), train: the train
 * section's. */
static char *
corpus_config (const char *name, const char *model, const char *strategy, const char *train)
{
  g_autofree char *text = g_strdup_printf (
    "{\"model\": {\"name\": \"transformer\", %s},"
    " \"strategy\": {\"name\": \"%s\"},"
    " \"dataset\": {\"name\": \"fortunes\", \"path\": \"%s\", \"domains\": [\"en/alpha\", \"en/beta\"]},"
    " \"scenario\": {\"type\": \"continual-pretraining\", \"context\": 48},"
    " \"train\": {\"batch_size\": 8, %s},"
    " \"seed\": 3}", model, strategy, corpus, train);
  g_autofree char *file = g_strconcat (name, ".json", NULL);
  char *path = path_in (file);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static const char tiny_model[] = "\"d_model\": 32, \"layers\": 2, \"heads\": 4, \"kv_heads\": 2, \"context\": 48";
static const char tiny_train[] = "\"lr\": 0.01, \"tokens\": 4000";

/* Runs a config to completion (exit 0); extra arguments after it. */
static JsonObject *
run_ok (const char *config, const char *name, const char *save_dir)
{
  g_autofree char *file = g_strconcat (name, "-result.json", NULL);
  g_autofree char *out = path_in (file);
  g_autofree char *err = NULL;
  int rc = save_dir ? run_cli (NULL, &err, "run", config, "--out", out, "--quiet", "--save-model", save_dir, NULL)
                    : run_cli (NULL, &err, "run", config, "--out", out, "--quiet", NULL);
  if (rc != 0)
    g_error ("lifelong run %s failed (%d):\n%s", config, rc, err);
  JsonObject *res = tu_load_json (out);
  g_assert_cmpstr (json_object_get_string_member (res, "status"), ==, "ok");
  return res;
}

/* Runs a config that must fail with status 1; returns stderr. */
static char *
run_fails (const char *config)
{
  g_autofree char *out = path_in ("failed-result.json");
  char *err = NULL;
  int rc = run_cli (NULL, &err, "run", config, "--out", out, "--quiet", NULL);
  g_test_message ("%s", err);
  g_assert_cmpint (rc, ==, 1);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  return err;
}

static void
assert_contains (const char *text, const char *needle)
{
  if (strstr (text, needle) == NULL)
    g_error ("expected \"%s\" in:\n%s", needle, text);
}

/* ---- safetensors, by hand (the test reads and writes its own) ---- */

typedef struct {
  char    *name;
  char    *dtype;             /* "F32", "BF16", ... */
  int      ndim;
  int64_t  shape[4];
  GBytes  *bytes;             /* little-endian data */
} StTensor;

static void
st_tensor_free (StTensor *t)
{
  g_free (t->name);
  g_free (t->dtype);
  g_bytes_unref (t->bytes);
  g_free (t);
}

/* Reads every tensor of a safetensors file, in file order; the metadata
 * object in *meta (when not NULL). */
static GPtrArray *
st_read (const char *path, JsonObject **meta)
{
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_assert_cmpuint (len, >=, 8);
  uint64_t hl = 0;
  for (int k = 0; k < 8; k++)
    hl |= (uint64_t) (uint8_t) data[k] << (8 * k);
  g_autofree char *header = g_strndup (data + 8, hl);
  g_autoptr (JsonObject) h = parse_json (header);
  const char *base = data + 8 + hl;
  GPtrArray *ts = g_ptr_array_new_with_free_func ((GDestroyNotify) st_tensor_free);
  g_autoptr (GList) members = json_object_get_members (h);
  for (GList *l = members; l; l = l->next)
    {
      const char *name = l->data;
      JsonObject *e = json_object_get_object_member (h, name);
      if (g_str_equal (name, "__metadata__"))
        {
          if (meta)
            *meta = json_object_ref (e);
          continue;
        }
      StTensor *t = g_new0 (StTensor, 1);
      t->name = g_strdup (name);
      t->dtype = g_strdup (json_object_get_string_member (e, "dtype"));
      JsonArray *sh = json_object_get_array_member (e, "shape");
      t->ndim = (int) json_array_get_length (sh);
      for (int d = 0; d < t->ndim; d++)
        t->shape[d] = json_array_get_int_element (sh, (guint) d);
      JsonArray *off = json_object_get_array_member (e, "data_offsets");
      int64_t b = json_array_get_int_element (off, 0), en = json_array_get_int_element (off, 1);
      g_assert_cmpint (8 + (int64_t) hl + en, <=, (int64_t) len);
      t->bytes = g_bytes_new (base + b, (gsize) (en - b));
      g_ptr_array_add (ts, t);
    }
  return ts;
}

static StTensor *
st_find (GPtrArray *ts, const char *name)
{
  for (guint i = 0; i < ts->len; i++)
    if (g_str_equal (((StTensor *) ts->pdata[i])->name, name))
      return ts->pdata[i];
  return NULL;
}

/* Writes tensors (in order) as a safetensors file with {"format": "pt"}. */
static void
st_write (const char *path, GPtrArray *ts)
{
  g_autoptr (GString) h = g_string_new ("{\"__metadata__\": {\"format\": \"pt\"}");
  int64_t off = 0;
  for (guint i = 0; i < ts->len; i++)
    {
      StTensor *t = ts->pdata[i];
      g_string_append_printf (h, ", \"%s\": {\"dtype\": \"%s\", \"shape\": [", t->name, t->dtype);
      for (int d = 0; d < t->ndim; d++)
        g_string_append_printf (h, "%s%" G_GINT64_FORMAT, d ? ", " : "", t->shape[d]);
      int64_t n = (int64_t) g_bytes_get_size (t->bytes);
      g_string_append_printf (h, "], \"data_offsets\": [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]}", off, off + n);
      off += n;
    }
  g_string_append_c (h, '}');
  while (h->len % 8)
    g_string_append_c (h, ' ');
  g_autoptr (GByteArray) file = g_byte_array_new ();
  for (int k = 0; k < 8; k++)
    {
      uint8_t b = (uint8_t) ((uint64_t) h->len >> (8 * k));
      g_byte_array_append (file, &b, 1);
    }
  g_byte_array_append (file, (const guint8 *) h->str, (guint) h->len);
  for (guint i = 0; i < ts->len; i++)
    {
      StTensor *t = ts->pdata[i];
      gsize n;
      const guint8 *d = g_bytes_get_data (t->bytes, &n);
      g_byte_array_append (file, d, (guint) n);
    }
  g_assert_true (g_file_set_contents (path, (const char *) file->data, (gssize) file->len, NULL));
}

static StTensor *
st_copy (const StTensor *s)
{
  StTensor *t = g_new0 (StTensor, 1);
  *t = *s;
  t->name = g_strdup (s->name);
  t->dtype = g_strdup (s->dtype);
  t->bytes = g_bytes_ref (s->bytes);
  return t;
}

static int64_t
st_numel (const StTensor *t)
{
  int64_t n = 1;
  for (int d = 0; d < t->ndim; d++)
    n *= t->shape[d];
  return n;
}

static float
st_f32 (const StTensor *t, int64_t i)
{
  const uint8_t *p = (const uint8_t *) g_bytes_get_data (t->bytes, NULL) + 4 * i;
  uint32_t u = (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
  float f;
  memcpy (&f, &u, 4);
  return f;
}

/* float -> bfloat16, round to nearest even (no NaN here) */
static uint16_t
to_bf16 (float f)
{
  uint32_t u;
  memcpy (&u, &f, 4);
  return (uint16_t) ((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

static float
from_bf16 (uint16_t h)
{
  uint32_t u = (uint32_t) h << 16;
  float f;
  memcpy (&f, &u, 4);
  return f;
}

/* float -> IEEE half, round to nearest (finite values within range) */
static uint16_t
to_f16 (float f)
{
  uint32_t u;
  memcpy (&u, &f, 4);
  uint16_t sign = (uint16_t) ((u >> 16) & 0x8000);
  float a = fabsf (f);
  if (a >= 65504.0f)
    return sign | 0x7bff;
  if (a < 6.103515625e-05f)   /* subnormal: multiples of 2^-24 (1024 is the smallest normal) */
    return sign | (uint16_t) lrintf (a * 16777216.0f);
  int e;
  float m = frexpf (a, &e);    /* a = m 2^e, m in [0.5, 1) */
  uint32_t mant = (uint32_t) lrintf ((m * 2 - 1) * 1024), E = (uint32_t) (e - 1 + 15);
  if (mant == 1024)
    {
      mant = 0;
      E++;
    }
  return sign | (uint16_t) (E << 10) | (uint16_t) mant;
}

static float
from_f16 (uint16_t h)
{
  int E = (h >> 10) & 31, m = h & 1023;
  float v = E == 0 ? ldexpf ((float) m, -24) : ldexpf ((float) (1024 + m), E - 25);
  return h & 0x8000 ? -v : v;
}

/* An F32 tensor converted to 16 bits; *expect gets the values a reader
 * must give back. */
static StTensor *
st_to_16 (const StTensor *s, gboolean bf16, float *expect)
{
  StTensor *t = st_copy (s);
  g_free (t->dtype);
  t->dtype = g_strdup (bf16 ? "BF16" : "F16");
  int64_t n = st_numel (s);
  uint8_t *b = g_malloc ((gsize) n * 2);
  for (int64_t i = 0; i < n; i++)
    {
      uint16_t h = bf16 ? to_bf16 (st_f32 (s, i)) : to_f16 (st_f32 (s, i));
      expect[i] = bf16 ? from_bf16 (h) : from_f16 (h);
      b[2 * i] = (uint8_t) h;
      b[2 * i + 1] = (uint8_t) (h >> 8);
    }
  g_bytes_unref (t->bytes);
  t->bytes = g_bytes_new_take (b, (gsize) n * 2);
  return t;
}

/* A model folder: the tensors as model.safetensors, config.json copied
 * from src (when not NULL). */
static char *
write_model_dir (const char *name, GPtrArray *ts, const char *config_from)
{
  char *d = path_in (name);
  g_assert_cmpint (g_mkdir_with_parents (d, 0755), ==, 0);
  g_autofree char *w = g_build_filename (d, "model.safetensors", NULL);
  st_write (w, ts);
  if (config_from)
    {
      g_autofree char *src = g_build_filename (config_from, "config.json", NULL);
      g_autofree char *dst = g_build_filename (d, "config.json", NULL);
      g_autofree char *text = NULL;
      g_assert_true (g_file_get_contents (src, &text, NULL, NULL));
      g_assert_true (g_file_set_contents (dst, text, -1, NULL));
    }
  return d;
}

/* ---- the saved model (made once, by test_save) ---- */

static char *saved;           /* the folder */
static JsonObject *saved_res; /* the run that saved it */

static void
need_saved (void)
{
  if (saved == NULL)
    {
      g_autofree char *cfg = corpus_config ("save", tiny_model, "naive", tiny_train);
      saved = path_in ("saved");
      saved_res = run_ok (cfg, "save", saved);
    }
}

static double
row_at (JsonArray *a, guint j)
{
  return json_array_get_double_element (a, j);
}

/* --save-model: Hugging Face names, shapes and config; a run started
 * from it begins with the saved model (its baseline is the saving run's
 * last row, exactly). */
static void
test_save_load (void)
{
  need_saved ();
  g_autofree char *cpath = g_build_filename (saved, "config.json", NULL);
  g_autoptr (JsonObject) cfg = tu_load_json (cpath);
  JsonArray *arch = json_object_get_array_member (cfg, "architectures");
  g_assert_cmpstr (json_array_get_string_element (arch, 0), ==, "LlamaForCausalLM");
  g_assert_cmpstr (json_object_get_string_member (cfg, "model_type"), ==, "llama");
  g_assert_cmpint (json_object_get_int_member (cfg, "hidden_size"), ==, 32);
  g_assert_cmpint (json_object_get_int_member (cfg, "intermediate_size"), ==, 96);
  g_assert_cmpint (json_object_get_int_member (cfg, "num_hidden_layers"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (cfg, "num_attention_heads"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (cfg, "num_key_value_heads"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (cfg, "vocab_size"), ==, 259);
  g_assert_cmpint (json_object_get_int_member (cfg, "max_position_embeddings"), ==, 48);
  g_assert_cmpfloat (json_object_get_double_member (cfg, "rms_norm_eps"), ==, 1e-6);
  g_assert_cmpfloat (json_object_get_double_member (cfg, "rope_theta"), ==, 10000);
  g_assert_false (json_object_get_boolean_member (cfg, "tie_word_embeddings"));
  g_assert_cmpint (json_object_get_int_member (cfg, "eos_token_id"), ==, 257);
  JsonObject *lo = json_object_get_object_member (cfg, "lifelong");
  g_assert_cmpstr (json_object_get_string_member (lo, "tokenizer"), ==, "bytes");
  g_assert_cmpint (json_object_get_int_member (lo, "context"), ==, 48);
  JsonObject *lm = json_object_get_object_member (lo, "model");
  g_assert_cmpstr (json_object_get_string_member (lm, "name"), ==, "transformer");
  g_assert_cmpint (json_object_get_int_member (lm, "d_model"), ==, 32);
  g_assert_cmpint (json_object_get_int_member (lm, "kv_heads"), ==, 2);

  /* the weights: float32, Hugging Face names and shapes, format "pt" */
  g_autofree char *wpath = g_build_filename (saved, "model.safetensors", NULL);
  JsonObject *meta = NULL;
  g_autoptr (GPtrArray) ts = st_read (wpath, &meta);
  g_assert_nonnull (meta);
  g_assert_cmpstr (json_object_get_string_member (meta, "format"), ==, "pt");
  json_object_unref (meta);
  g_assert_cmpuint (ts->len, ==, 3 + 2 * 9);   /* embedding, final norm, head; 9 per layer */
  struct { const char *name; int64_t r, c; } expect[] = {
    { "model.embed_tokens.weight", 259, 32 },
    { "model.layers.0.self_attn.q_proj.weight", 32, 32 },
    { "model.layers.0.self_attn.k_proj.weight", 16, 32 },   /* 2 kv heads of 8 */
    { "model.layers.1.self_attn.v_proj.weight", 16, 32 },
    { "model.layers.1.self_attn.o_proj.weight", 32, 32 },
    { "model.layers.0.mlp.gate_proj.weight", 96, 32 },
    { "model.layers.1.mlp.up_proj.weight", 96, 32 },
    { "model.layers.1.mlp.down_proj.weight", 32, 96 },
    { "model.layers.0.input_layernorm.weight", 32, 0 },
    { "model.layers.1.post_attention_layernorm.weight", 32, 0 },
    { "model.norm.weight", 32, 0 },
    { "lm_head.weight", 259, 32 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (expect); i++)
    {
      StTensor *t = st_find (ts, expect[i].name);
      if (t == NULL)
        g_error ("%s is not in %s", expect[i].name, wpath);
      g_assert_cmpstr (t->dtype, ==, "F32");
      g_assert_cmpint (t->ndim, ==, expect[i].c ? 2 : 1);
      g_assert_cmpint (t->shape[0], ==, expect[i].r);
      if (expect[i].c)
        g_assert_cmpint (t->shape[1], ==, expect[i].c);
    }

  /* a run from the checkpoint starts where the saving run ended */
  g_autofree char *model = g_strdup_printf ("%s, \"checkpoint\": \"%s\"", tiny_model, saved);
  g_autofree char *cfg2 = corpus_config ("load", model, "naive", tiny_train);
  g_autoptr (JsonObject) res = run_ok (cfg2, "load", NULL);
  JsonArray *m = json_object_get_array_member (saved_res, "matrix");
  JsonArray *last = json_array_get_array_element (m, json_array_get_length (m) - 1);
  JsonArray *base = json_object_get_array_member (res, "baseline");
  for (guint j = 0; j < 2; j++)
    g_assert_cmpfloat (row_at (base, j), ==, row_at (last, j));
  /* and the untrained model's was worse */
  JsonArray *base0 = json_object_get_array_member (saved_res, "baseline");
  g_assert_cmpfloat (row_at (base, 0), <, row_at (base0, 0));
  /* the checkpoint is part of the resolved config */
  JsonObject *rm = json_object_get_object_member (json_object_get_object_member (res, "config"), "model");
  g_assert_cmpstr (json_object_get_string_member (rm, "checkpoint"), ==, saved);
}

/* Grouped-query attention with one kv head and a tied head: no lm_head in
 * the file, and the config says so. */
static void
test_save_tied (void)
{
  g_autofree char *cfg = corpus_config ("tied", "\"d_model\": 32, \"layers\": 1, \"heads\": 4, \"kv_heads\": 1, "
                                        "\"tie_embeddings\": true", "naive", "\"lr\": 0.01, \"tokens\": 1000");
  g_autofree char *d = path_in ("tied");
  g_autoptr (JsonObject) res = run_ok (cfg, "tied", d);
  g_autofree char *cpath = g_build_filename (d, "config.json", NULL);
  g_autofree char *wpath = g_build_filename (d, "model.safetensors", NULL);
  g_autoptr (JsonObject) c = tu_load_json (cpath);
  g_assert_true (json_object_get_boolean_member (c, "tie_word_embeddings"));
  g_assert_cmpint (json_object_get_int_member (c, "num_key_value_heads"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (c, "max_position_embeddings"), ==, 48);   /* the scenario's */
  g_autoptr (GPtrArray) ts = st_read (wpath, NULL);
  g_assert_null (st_find (ts, "lm_head.weight"));
  g_assert_cmpint (st_find (ts, "model.layers.0.self_attn.k_proj.weight")->shape[0], ==, 8);
  /* and it loads back */
  g_autofree char *model = g_strdup_printf ("\"d_model\": 32, \"layers\": 1, \"heads\": 4, \"kv_heads\": 1, "
                                            "\"tie_embeddings\": true, \"checkpoint\": \"%s\"", d);
  g_autofree char *cfg2 = corpus_config ("tied-load", model, "naive", "\"lr\": 0.01, \"tokens\": 1000");
  g_autoptr (JsonObject) res2 = run_ok (cfg2, "tied-load", NULL);
  JsonArray *m = json_object_get_array_member (res, "matrix");
  JsonArray *last = json_array_get_array_element (m, json_array_get_length (m) - 1);
  g_assert_cmpfloat (row_at (json_object_get_array_member (res2, "baseline"), 1), ==, row_at (last, 1));
}

/* Any model saves and loads: the MLP has no describe, so config.json holds
 * only the "lifelong" member. */
static void
test_save_mlp (void)
{
  g_autofree char *d = path_in ("mlp-saved");
  static const char fmt[] =
    "{\"model\": {\"name\": \"mlp\", \"hidden\": [16]%s},"
    " \"strategy\": {\"name\": \"naive\"},"
    " \"dataset\": {\"name\": \"synthetic\", \"classes\": 4, \"dim\": 8, \"train_per_class\": 50,"
    "               \"test_per_class\": 20},"
    " \"scenario\": {\"type\": \"class-incremental\", \"experiences\": 2},"
    " \"train\": {\"epochs\": 3, \"batch_size\": 16, \"lr\": 0.03}, \"seed\": 1}";
  g_autofree char *t1 = g_strdup_printf (fmt, "");
  g_autofree char *c1 = path_in ("mlp.json");
  g_assert_true (g_file_set_contents (c1, t1, -1, NULL));
  g_autoptr (JsonObject) r1 = run_ok (c1, "mlp", d);
  g_autofree char *cpath = g_build_filename (d, "config.json", NULL);
  g_autoptr (JsonObject) cfg = tu_load_json (cpath);
  g_assert_cmpuint (json_object_get_size (cfg), ==, 1);
  JsonObject *lo = json_object_get_object_member (cfg, "lifelong");
  g_assert_true (json_object_get_null_member (lo, "tokenizer"));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (lo, "model"), "name"), ==, "mlp");
  g_autofree char *extra = g_strdup_printf (", \"checkpoint\": \"%s\"", d);
  g_autofree char *t2 = g_strdup_printf (fmt, extra);
  g_autofree char *c2 = path_in ("mlp-load.json");
  g_assert_true (g_file_set_contents (c2, t2, -1, NULL));
  g_autoptr (JsonObject) r2 = run_ok (c2, "mlp-load", NULL);
  JsonArray *last = json_array_get_array_element (json_object_get_array_member (r1, "matrix"), 1);
  JsonArray *base = json_object_get_array_member (r2, "baseline");
  for (guint j = 0; j < 2; j++)
    g_assert_cmpfloat (row_at (base, j), ==, row_at (last, j));
  /* generate refuses it: not a byte-level language model */
  g_autofree char *err = NULL;
  g_assert_cmpint (run_cli (NULL, &err, "generate", d, "--prompt", "x", NULL), ==, 1);
  assert_contains (err, "only byte-level language models generate");
}

/* F16 and BF16 in: a hand-made file (some tensors BF16, some F16, the rest
 * F32) loads to exactly the converted values; a run with lr 0 saves them
 * back unchanged as F32. */
static void
test_half (void)
{
  need_saved ();
  g_autofree char *wpath = g_build_filename (saved, "model.safetensors", NULL);
  g_autoptr (GPtrArray) src = st_read (wpath, NULL);
  g_autoptr (GPtrArray) ts = g_ptr_array_new_with_free_func ((GDestroyNotify) st_tensor_free);
  g_autoptr (GHashTable) expect = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < src->len; i++)
    {
      StTensor *s = src->pdata[i];
      float *e = g_new (float, st_numel (s));
      StTensor *t;
      if (i % 3 == 2)
        {
          t = st_copy (s);
          for (int64_t k = 0; k < st_numel (s); k++)
            e[k] = st_f32 (s, k);
        }
      else
        t = st_to_16 (s, i % 3 == 0, e);
      g_ptr_array_add (ts, t);
      g_hash_table_insert (expect, g_strdup (s->name), e);
    }
  g_autofree char *d = write_model_dir ("half", ts, saved);
  g_autofree char *model = g_strdup_printf ("%s, \"checkpoint\": \"%s\"", tiny_model, d);
  g_autofree char *cfg = corpus_config ("half", model, "naive", "\"lr\": 0, \"tokens\": 500");
  g_autofree char *back = path_in ("half-back");
  json_object_unref (run_ok (cfg, "half", back));
  g_autofree char *bpath = g_build_filename (back, "model.safetensors", NULL);
  g_autoptr (GPtrArray) got = st_read (bpath, NULL);
  g_assert_cmpuint (got->len, ==, src->len);
  int n16 = 0;
  for (guint i = 0; i < got->len; i++)
    {
      StTensor *t = got->pdata[i];
      const float *e = g_hash_table_lookup (expect, t->name);
      g_assert_nonnull (e);
      g_assert_cmpstr (t->dtype, ==, "F32");
      for (int64_t k = 0; k < st_numel (t); k++)
        if (st_f32 (t, k) != e[k])
          g_error ("%s[%" G_GINT64_FORMAT "]: loaded %.9g, the file held %.9g", t->name, k, st_f32 (t, k), e[k]);
      n16 += !g_str_equal (((StTensor *) ts->pdata[i])->dtype, "F32");
    }
  g_assert_cmpint (n16, >=, 10);
  /* the 16-bit values are not the F32 ones: the conversion was exercised */
  StTensor *s0 = src->pdata[0];
  const float *e0 = g_hash_table_lookup (expect, s0->name);
  int differ = 0;
  for (int64_t k = 0; k < st_numel (s0); k++)
    differ += st_f32 (s0, k) != e0[k];
  g_assert_cmpint (differ, >, 0);
}

/* Each bad checkpoint is refused before training, naming the file, the
 * tensor and what is wrong. */
static void
test_errors (void)
{
  need_saved ();
  g_autofree char *wpath = g_build_filename (saved, "model.safetensors", NULL);
  g_autoptr (GPtrArray) src = st_read (wpath, NULL);

  struct { const char *name; const char *needle[3]; } cases[] = {
    { "truncated", { "truncated", "model.safetensors", NULL } },
    { "wrong-shape", { "model.layers.0.self_attn.q_proj.weight", "[32, 16]", "[32, 32]" } },
    { "wrong-dtype", { "model.norm.weight", "dtype I32", NULL } },
    { "unknown-name", { "model.layers.0.self_attn.rotary_emb.inv_freq", "does not have", NULL } },
    { "missing", { "no tensor lm_head.weight", "[259, 32]", NULL } },
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr (GPtrArray) ts = g_ptr_array_new_with_free_func ((GDestroyNotify) st_tensor_free);
      for (guint i = 0; i < src->len; i++)
        {
          StTensor *t = st_copy (src->pdata[i]);
          if (c == 1 && g_str_equal (t->name, "model.layers.0.self_attn.q_proj.weight"))
            {
              /* the same bytes as (32, 16) would not tile: keep half of them */
              t->shape[1] = 16;
              GBytes *half = g_bytes_new_from_bytes (t->bytes, 0, g_bytes_get_size (t->bytes) / 2);
              g_bytes_unref (t->bytes);
              t->bytes = half;
            }
          if (c == 2 && g_str_equal (t->name, "model.norm.weight"))
            {
              g_free (t->dtype);
              t->dtype = g_strdup ("I32");
            }
          if (c == 4 && g_str_equal (t->name, "lm_head.weight"))
            {
              st_tensor_free (t);
              continue;
            }
          g_ptr_array_add (ts, t);
        }
      if (c == 3)
        {
          StTensor *t = g_new0 (StTensor, 1);
          t->name = g_strdup ("model.layers.0.self_attn.rotary_emb.inv_freq");
          t->dtype = g_strdup ("F32");
          t->ndim = 1;
          t->shape[0] = 4;
          t->bytes = g_bytes_new_take (g_malloc0 (16), 16);
          g_ptr_array_add (ts, t);
        }
      g_autofree char *dname = g_strconcat ("bad-", cases[c].name, NULL);
      g_autofree char *d = write_model_dir (dname, ts, saved);
      if (c == 0)
        {
          g_autofree char *w = g_build_filename (d, "model.safetensors", NULL);
          g_autofree char *text = NULL;
          gsize len;
          g_assert_true (g_file_get_contents (w, &text, &len, NULL));
          g_assert_true (g_file_set_contents (w, text, (gssize) (len - 100), NULL));
        }
      g_autofree char *model = g_strdup_printf ("%s, \"checkpoint\": \"%s\"", tiny_model, d);
      g_autofree char *cfg = corpus_config (dname, model, "naive", tiny_train);
      g_autofree char *err = run_fails (cfg);
      assert_contains (err, "model.checkpoint: ");
      assert_contains (err, d);
      for (int k = 0; k < 3 && cases[c].needle[k]; k++)
        assert_contains (err, cases[c].needle[k]);
    }

  /* the config asks for another model than the checkpoint's */
  g_autofree char *model = g_strdup_printf ("\"d_model\": 64, \"layers\": 2, \"heads\": 4, \"kv_heads\": 2, "
                                            "\"context\": 48, \"checkpoint\": \"%s\"", saved);
  g_autofree char *cfg = corpus_config ("conflict", model, "naive", tiny_train);
  g_autofree char *err = run_fails (cfg);
  assert_contains (err, "config.json");
  assert_contains (err, "model.d_model is 32, this config's model.d_model is 64");

  /* no such folder; not a string */
  g_autofree char *missing = g_strdup_printf ("%s, \"checkpoint\": \"%s/nowhere\"", tiny_model, dir);
  g_autofree char *cfg2 = corpus_config ("nowhere", missing, "naive", tiny_train);
  g_autofree char *err2 = run_fails (cfg2);
  assert_contains (err2, "model.checkpoint: ");
  assert_contains (err2, "nowhere/model.safetensors");
  g_autofree char *number = g_strdup_printf ("%s, \"checkpoint\": 3", tiny_model);
  g_autofree char *cfg3 = corpus_config ("number", number, "naive", tiny_train);
  g_autofree char *err3 = run_fails (cfg3);
  assert_contains (err3, "model.checkpoint: expected a folder name");
}

/* `lifelong generate --json`: the generated ids. */
static JsonArray *
generate_tokens (const char *model_dir, const char *prompt, gboolean cache, const char *temperature,
                 const char *top_k, const char *max_tokens, JsonObject **res_out)
{
  g_autofree char *out = NULL, *err = NULL;
  int rc = cache ? run_cli (&out, &err, "generate", model_dir, "--prompt", prompt, "--temperature", temperature,
                            "--top-k", top_k, "--seed", "11", "--max-tokens", max_tokens, "--json", NULL)
                 : run_cli (&out, &err, "generate", model_dir, "--prompt", prompt, "--temperature", temperature,
                            "--top-k", top_k, "--seed", "11", "--max-tokens", max_tokens, "--json", "--no-cache",
                            NULL);
  if (rc != 0)
    g_error ("lifelong generate %s failed (%d):\n%s", model_dir, rc, err);
  JsonObject *res = parse_json (out);
  g_assert_true (json_object_get_boolean_member (res, "cache") == cache);
  *res_out = res;
  return json_object_get_array_member (res, "tokens");
}

/* The key/value cache gives the tokens the full re-run gives: greedy and
 * sampled, from several prompts (two layers, grouped-query attention),
 * up to the end of the context. */
static void
test_cache (void)
{
  need_saved ();
  g_autofree char *tied = path_in ("tied");
  const char *dirs[2] = { saved, tied };
  const char *prompts[] = { "", "the kernel", "every star shines over", "a" };
  const char *temps[][2] = { { "0", "0" }, { "1", "0" }, { "0.7", "5" } };
  int compared = 0;
  for (int d = 0; d < 2; d++)
    {
      if (!g_file_test (dirs[d], G_FILE_TEST_IS_DIR))
        continue;   /* test_save_tied did not run */
      for (guint p = 0; p < G_N_ELEMENTS (prompts); p++)
        for (guint t = 0; t < G_N_ELEMENTS (temps); t++)
          {
            g_autoptr (JsonObject) a = NULL, b = NULL;
            JsonArray *x = generate_tokens (dirs[d], prompts[p], TRUE, temps[t][0], temps[t][1], "100", &a);
            JsonArray *y = generate_tokens (dirs[d], prompts[p], FALSE, temps[t][0], temps[t][1], "100", &b);
            g_assert_cmpuint (json_array_get_length (x), ==, json_array_get_length (y));
            for (guint i = 0; i < json_array_get_length (x); i++)
              if (json_array_get_int_element (x, i) != json_array_get_int_element (y, i))
                g_error ("%s, prompt \"%s\", temperature %s: token %u is %" G_GINT64_FORMAT " with the cache, %"
                         G_GINT64_FORMAT " without", dirs[d], prompts[p], temps[t][0], i,
                         json_array_get_int_element (x, i), json_array_get_int_element (y, i));
            g_assert_cmpstr (json_object_get_string_member (a, "stopped"), ==,
                             json_object_get_string_member (b, "stopped"));
            /* the sequence never outgrows the context (48) */
            g_assert_cmpint (json_object_get_int_member (a, "prompt_tokens") + (int64_t) json_array_get_length (x),
                             <=, 48);
            compared += (int) json_array_get_length (x);
          }
    }
  g_test_message ("%d generated tokens compared", compared);
  g_assert_cmpint (compared, >, 100);

  /* the context fills: "stopped": "context" after 48 - 11 tokens */
  g_autoptr (JsonObject) full = NULL;
  JsonArray *x = generate_tokens (saved, "0123456789", TRUE, "1", "0", "1000", &full);
  if (!g_str_equal (json_object_get_string_member (full, "stopped"), "eos"))
    {
      g_assert_cmpstr (json_object_get_string_member (full, "stopped"), ==, "context");
      g_assert_cmpuint (json_array_get_length (x), ==, 48 - 11);
    }
  /* max-tokens */
  g_autoptr (JsonObject) few = NULL;
  x = generate_tokens (saved, "the", TRUE, "0", "0", "3", &few);
  g_assert_cmpuint (json_array_get_length (x), <=, 3);
}

static void
test_generate_errors (void)
{
  need_saved ();
  g_autofree char *err = NULL, *out = NULL;
  /* a prompt longer than the context */
  g_autofree char *longp = g_strnfill (60, 'a');
  g_assert_cmpint (run_cli (NULL, &err, "generate", saved, "--prompt", longp, NULL), ==, 1);
  assert_contains (err, "more than the model's context of 48");
  g_clear_pointer (&err, g_free);
  /* not a model folder; a Hugging Face folder without our member */
  g_assert_cmpint (run_cli (NULL, &err, "generate", dir, NULL), ==, 1);
  assert_contains (err, "config.json: no such file");
  g_clear_pointer (&err, g_free);
  g_autofree char *hf = path_in ("hf-only");
  g_assert_cmpint (g_mkdir_with_parents (hf, 0755), ==, 0);
  g_autofree char *hfc = g_build_filename (hf, "config.json", NULL);
  g_assert_true (g_file_set_contents (hfc, "{\"model_type\": \"llama\"}", -1, NULL));
  g_assert_cmpint (run_cli (NULL, &err, "generate", hf, NULL), ==, 1);
  assert_contains (err, "no \"lifelong\" member");
  assert_contains (err, "BPE tokenizer do not load");
  g_clear_pointer (&err, g_free);
  /* usage */
  g_assert_cmpint (run_cli (NULL, &err, "generate", NULL), ==, 2);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (NULL, &err, "generate", saved, "--temperature", "hot", NULL), ==, 2);
  assert_contains (err, "--temperature hot");
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (&out, NULL, "generate", "--help", NULL), ==, 0);
  assert_contains (out, "--no-cache");
}

static gboolean
have_fortunes (void)
{
  if (g_file_test (FORTUNES "/computers", G_FILE_TEST_IS_REGULAR)
      && g_file_test (FORTUNES "/science", G_FILE_TEST_IS_REGULAR))
    return TRUE;
  g_test_skip ("Debian's fortunes are not installed in " FORTUNES " (scripts/install-deps.sh installs them)");
  return FALSE;
}

static char *
fortunes_config (const char *name, const char *strategy, const char *domains, int64_t tokens)
{
  g_autofree char *text = g_strdup_printf (
    "{\"model\": {\"name\": \"transformer\", \"d_model\": 32, \"layers\": 1, \"heads\": 2, \"context\": 32},"
    " \"strategy\": {\"name\": \"%s\"},"
    " \"dataset\": {\"name\": \"fortunes\", \"domains\": %s},"
    " \"scenario\": {\"type\": \"continual-pretraining\", \"context\": 32},"
    " \"train\": {\"batch_size\": 16, \"lr\": 0.003, \"tokens\": %" G_GINT64_FORMAT "},"
    " \"seed\": 0}", strategy, domains, tokens);
  g_autofree char *file = g_strconcat (name, ".json", NULL);
  char *path = path_in (file);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

/* `lifelong generate` on a tiny model trained briefly on computer
 * fortunes prints the prompt and a continuation. */
static void
test_generate_fortunes (void)
{
  if (!have_fortunes ())
    return;
  g_autofree char *cfg = fortunes_config ("gen-fortunes", "naive", "[\"en/computers\"]", 30000);
  g_autofree char *d = path_in ("fortunes-model");
  json_object_unref (run_ok (cfg, "gen-fortunes", d));
  for (int greedy = 0; greedy < 2; greedy++)
    {
      g_autofree char *out = NULL, *err = NULL;
      int rc = run_cli (&out, &err, "generate", d, "--prompt", "The ", "--max-tokens", "24", "--seed", "1",
                        "--temperature", greedy ? "0" : "0.8", NULL);
      if (rc != 0)
        g_error ("lifelong generate failed (%d):\n%s", rc, err);
      g_test_message ("%s: %s", greedy ? "greedy" : "sampled", out);
      g_assert_true (g_str_has_prefix (out, "The "));
      g_assert_cmpuint (strlen (out), >, 5);
      g_assert_true (g_str_has_suffix (out, "\n"));
    }
}

/* Strategies written for classifiers run unchanged on the language model. */
static void
test_strategies (void)
{
  if (!have_fortunes ())
    return;
  const char *strategies[] = { "naive", "cumulative", "er", "ewc", "lwf" };
  for (guint s = 0; s < G_N_ELEMENTS (strategies); s++)
    {
      g_autofree char *name = g_strconcat ("lm-", strategies[s], NULL);
      g_autofree char *cfg = fortunes_config (name, strategies[s], "[\"en/computers\", \"en/science\"]", 3000);
      g_autoptr (JsonObject) res = run_ok (cfg, name, NULL);
      g_assert_cmpstr (json_object_get_string_member (res, "matrix_kind"), ==, "loss");
      JsonArray *m = json_object_get_array_member (res, "matrix");
      g_assert_cmpuint (json_array_get_length (m), ==, 2);
      for (guint i = 0; i < 2; i++)
        for (guint j = 0; j < 2; j++)
          {
            double v = json_array_get_double_element (json_array_get_array_element (m, i), j);
            g_assert_true (isfinite (v) && v > 0 && v < 10);
          }
      /* and they act on it (not a silent no-op) */
      JsonObject *fig = json_object_get_object_member (res, "strategy");
      if (g_str_equal (strategies[s], "ewc"))
        g_assert_cmpfloat (json_object_get_double_member (fig, "fisher_total"), >, 0);
      if (g_str_equal (strategies[s], "lwf"))
        {
          g_assert_cmpint (json_object_get_int_member (fig, "distilled_columns"), ==, 259);
          g_assert_cmpfloat (json_object_get_double_member (fig, "distill_last"), >, 0);
        }
      g_test_message ("%s: final losses %.4f %.4f", strategies[s],
                      row_at (json_array_get_array_element (m, 1), 0), row_at (json_array_get_array_element (m, 1), 1));
    }
}

/* The defining pattern of continual pre-training: after English computer
 * fortunes then German ones, naive fine-tuning's loss on the English
 * domain rises (forgetting), and cumulative training (every domain seen so
 * far, the same token budget) ends lower on it. */
static void
test_cumulative_forgets_less (void)
{
  if (!have_fortunes ())
    return;
  double old_loss[2], rise[2];
  const char *strategies[] = { "naive", "cumulative" };
  for (int s = 0; s < 2; s++)
    {
      g_autofree char *name = g_strconcat ("cl-", strategies[s], NULL);
      g_autofree char *cfg = fortunes_config (name, strategies[s], "[\"en/computers\", \"de/computer\"]", 30000);
      g_autoptr (JsonObject) res = run_ok (cfg, name, NULL);
      JsonArray *m = json_object_get_array_member (res, "matrix");
      double first = row_at (json_array_get_array_element (m, 0), 0);
      old_loss[s] = row_at (json_array_get_array_element (m, 1), 0);
      rise[s] = old_loss[s] - first;
      g_test_message ("%s: en/computers loss %.4f after it, %.4f after de/computer (rise %+.4f)", strategies[s],
                      first, old_loss[s], rise[s]);
    }
  g_assert_cmpfloat (rise[0], >, 0.05);            /* naive forgets */
  g_assert_cmpfloat (old_loss[1], <, old_loss[0] - 0.1);
  g_assert_cmpfloat (rise[1], <, rise[0]);
}

/* The raw bytes of tensor name in a safetensors file (NULL if absent). */
static GBytes *
tensor_bytes (const char *file, const char *name)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (file, &text, &len, NULL));
  g_assert_cmpuint (len, >=, 8);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | (uint8_t) text[i];
  g_assert_cmpuint (8 + hlen, <=, len);
  g_autoptr (JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, text + 8, (gssize) hlen, NULL));
  JsonObject *h = json_node_get_object (json_parser_get_root (p));
  if (!json_object_has_member (h, name))
    return NULL;
  JsonArray *off = json_object_get_array_member (json_object_get_object_member (h, name), "data_offsets");
  gsize lo = (gsize) json_array_get_int_element (off, 0), hi = (gsize) json_array_get_int_element (off, 1);
  return g_bytes_new (text + 8 + hlen + lo, hi - lo);
}

/* model.checkpoint_head "new": a language model's checkpoint starts a
 * classifier: the body is loaded (bitwise: LoRA keeps it frozen), the
 * classifier's score starts afresh, the checkpoint's lm_head is not read.
 * Without it the run stops naming the missing tensor; a wrong value or no
 * checkpoint are config errors. */
static void
test_checkpoint_new_head (void)
{
  if (!have_fortunes ())
    return;
  g_autofree char *lm_dir = path_in ("head-lm");
  g_autofree char *lm_cfg = fortunes_config ("head-lm", "naive", "[\"en/computers\"]", 3000);
  json_object_unref (run_ok (lm_cfg, "head-lm", lm_dir));
  const char *fmt = "{\"model\": {\"name\": \"transformer\", \"d_model\": 32, \"layers\": 1, \"heads\": 2, "
                    "\"context\": 32, \"checkpoint\": \"%s\"%s},"
                    " \"strategy\": {\"name\": \"lora\"},"
                    " \"dataset\": {\"name\": \"fortunes\", \"domains\": [\"en/computers\", \"en/science\"]},"
                    " \"scenario\": {\"type\": \"text-classification\", \"context\": 32, \"experiences\": 1},"
                    " \"train\": {\"batch_size\": 16, \"lr\": 0.003, \"epochs\": 1}, \"seed\": 0}";
  const char *variants[] = { ", \"checkpoint_head\": \"new\"", "", ", \"checkpoint_head\": \"maybe\"" };
  char *cfgs[3];
  for (int v = 0; v < 3; v++)
    {
      g_autofree char *text = g_strdup_printf (fmt, lm_dir, variants[v]);
      g_autofree char *file = g_strdup_printf ("head-tc-%d.json", v);
      cfgs[v] = path_in (file);
      g_assert_true (g_file_set_contents (cfgs[v], text, -1, NULL));
    }
  g_autofree char *tc_dir = path_in ("head-tc");
  g_autoptr (JsonObject) res = run_ok (cfgs[0], "head-tc", tc_dir);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (json_object_get_object_member (res,
                   "config"), "model"), "checkpoint_head"), ==, "new");
  g_autofree char *a = g_build_filename (lm_dir, "model.safetensors", NULL);
  g_autofree char *b = g_build_filename (tc_dir, "model.safetensors", NULL);
  const char *body[] = { "model.embed_tokens.weight", "model.layers.0.mlp.down_proj.weight", "model.norm.weight" };
  for (guint i = 0; i < G_N_ELEMENTS (body); i++)
    {
      g_autoptr (GBytes) x = tensor_bytes (a, body[i]), y = tensor_bytes (b, body[i]);
      g_assert_nonnull (x);
      g_assert_nonnull (y);
      g_assert_true (g_bytes_equal (x, y));
    }
  g_autoptr (GBytes) score = tensor_bytes (b, "score.weight");
  g_autoptr (GBytes) lm_head = tensor_bytes (b, "lm_head.weight");
  g_assert_nonnull (score);
  g_assert_null (lm_head);
  g_autofree char *err = run_fails (cfgs[1]);
  assert_contains (err, "no tensor score.weight");
  g_autofree char *err2 = run_fails (cfgs[2]);
  assert_contains (err2, "model.checkpoint_head: \"maybe\" is not");
  for (int v = 0; v < 3; v++)
    g_free (cfgs[v]);
}

/* The classifier strategies on the transformer as a text classifier (which
 * fortunes domain a fortune is from, two experiences of two domains):
 * every one finishes with a 2 x 2 accuracy matrix.  Replay concatenates
 * batches of sequences whose labels are one per sample (ER once joined
 * them as next-token targets, seq_len per sample, and trained on garbage
 * labels until cross_entropy aborted). */
static void
test_text_classification_strategies (void)
{
  if (!have_fortunes ())
    return;
  const char *strategies[] = { "naive", "er", "derpp", "agem", "gdumb", "ewc", "lwf", "lora", "adapter" };
  for (guint k = 0; k < G_N_ELEMENTS (strategies); k++)
    {
      g_autofree char *text = g_strdup_printf (
        "{\"model\": {\"name\": \"transformer\", \"d_model\": 32, \"layers\": 1, \"heads\": 2, \"context\": 32},"
        " \"strategy\": {\"name\": \"%s\"},"
        " \"dataset\": {\"name\": \"fortunes\", \"domains\": [\"en/computers\", \"en/science\", \"de/computer\", "
        "\"it/computer\"]},"
        " \"scenario\": {\"type\": \"text-classification\", \"context\": 32, \"experiences\": 2},"
        " \"train\": {\"batch_size\": 16, \"lr\": 0.003, \"epochs\": 1}, \"seed\": 0}", strategies[k]);
      g_autofree char *name = g_strconcat ("tc-", strategies[k], NULL);
      g_autofree char *file = g_strconcat (name, ".json", NULL);
      g_autofree char *cfg = path_in (file);
      g_assert_true (g_file_set_contents (cfg, text, -1, NULL));
      g_autoptr (JsonObject) res = run_ok (cfg, name, NULL);
      JsonArray *m = json_object_get_array_member (res, "matrix");
      g_assert_cmpuint (json_array_get_length (m), ==, 2);
      double a = json_object_get_double_member (json_object_get_object_member (res, "metrics"), "average_accuracy");
      g_assert_true (a >= 0 && a <= 1);
      g_test_message ("%s: average accuracy %.3f", strategies[k], a);
    }
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
  dir = g_dir_make_tmp ("lifelong-transformer-XXXXXX", NULL);
  write_corpus ();
  g_test_add_func ("/transformer/checkpoint/save-load", test_save_load);
  g_test_add_func ("/transformer/checkpoint/tied", test_save_tied);
  g_test_add_func ("/transformer/checkpoint/mlp", test_save_mlp);
  g_test_add_func ("/transformer/checkpoint/half", test_half);
  g_test_add_func ("/transformer/checkpoint/errors", test_errors);
  g_test_add_func ("/transformer/checkpoint/new-head", test_checkpoint_new_head);
  g_test_add_func ("/transformer/generate/cache", test_cache);
  g_test_add_func ("/transformer/generate/errors", test_generate_errors);
  g_test_add_func ("/transformer/generate/fortunes", test_generate_fortunes);
  g_test_add_func ("/transformer/strategies", test_strategies);
  g_test_add_func ("/transformer/strategies/cumulative-forgets-less", test_cumulative_forgets_less);
  g_test_add_func ("/transformer/strategies/text-classification", test_text_classification_strategies);
  int rc = g_test_run ();
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  if (system (cmd) != 0)
    g_printerr ("could not remove %s\n", dir);
  g_clear_pointer (&saved_res, json_object_unref);
  g_free (saved);
  g_free (corpus);
  g_free (dir);
  return rc;
}
