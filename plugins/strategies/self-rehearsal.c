/* lifelong plugins — rehearsal from the model's own generations
 * (self-rehearsal.h). */
#include "self-rehearsal.h"
#include <json-glib/json-glib.h>

static void
sr_sample_clear (gpointer p)
{
  g_free (((SrSample *) p)->text);
}

void
sr_store_init (SrStore *st, double gamma)
{
  st->prefix = g_ptr_array_new_with_free_func (g_free);
  st->pseudo = g_array_new (FALSE, FALSE, sizeof (SrSample));
  g_array_set_clear_func (st->pseudo, sr_sample_clear);
  st->gamma = gamma;
  st->cursor = 0;
  st->carry = 0;
}

void
sr_store_clear (SrStore *st)
{
  g_clear_pointer (&st->prefix, g_ptr_array_unref);
  g_clear_pointer (&st->pseudo, g_array_unref);
}

void
sr_store_reset_pseudo (SrStore *st)
{
  g_array_set_size (st->pseudo, 0);
  st->cursor = 0;
  st->carry = 0;
}

void
sr_store_add (SrStore *st, const char *text, int64_t answer, int64_t task)
{
  SrSample s = { g_strdup (text), answer, task };
  g_array_append_val (st->pseudo, s);
}

size_t
sr_store_bytes (const SrStore *st)
{
  size_t n = 0;
  for (guint i = 0; i < st->prefix->len; i++)
    n += strlen (st->prefix->pdata[i]) + 1;
  for (guint i = 0; i < st->pseudo->len; i++)
    n += strlen (g_array_index (st->pseudo, SrSample, i).text) + 1 + sizeof (SrSample);
  return n;
}

gboolean
sr_store_learn_prefix (SrStore *st, LfStrategyCtx *ctx, const char *who, GError **error)
{
  int64_t e = lf_ctx_experience (ctx), n;
  const int64_t *ids = lf_ctx_experience_samples (ctx, e, &n);
  g_autoptr (GString) prefix = g_string_new (NULL);
  if (n > 0)
    {
      lf_tape_push (FALSE);
      LfBatch *b = lf_ctx_batch (ctx, ids, 1);
      /* tokens: BOS, the prompt's bytes; the prefix ends after ": " */
      for (int64_t t = 1; t + 1 < b->seq_len && b->tokens[t] < 256; t++)
        {
          g_string_append_c (prefix, (char) b->tokens[t]);
          if (b->tokens[t] == ':' && b->tokens[t + 1] == ' ')
            {
              g_string_append_c (prefix, ' ');
              break;
            }
        }
      lf_tape_pop ();
    }
  if (!g_str_has_suffix (prefix->str, ": "))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "%s: the prompts of experience %" G_GINT64_FORMAT
                   " do not start with a task prefix (\"name: \"), so it cannot generate that task's samples",
                   who, e);
      return FALSE;
    }
  /* experience e's prefix at index e */
  while ((int64_t) st->prefix->len < e)
    g_ptr_array_add (st->prefix, g_strdup (""));
  if ((int64_t) st->prefix->len == e)
    g_ptr_array_add (st->prefix, g_strdup (prefix->str));
  return TRUE;
}

void
sr_store_shuffle (SrStore *st, uint64_t key)
{
  LfRng r;
  lf_rng_init (&r, key);
  SrSample *a = (SrSample *) st->pseudo->data;
  for (int64_t i = (int64_t) st->pseudo->len - 1; i > 0; i--)
    {
      int64_t j = (int64_t) lf_rng_below (&r, (uint64_t) i + 1);
      SrSample t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  st->cursor = 0;
  st->carry = 0;
}

uint64_t
sr_seed (LfStrategyCtx *ctx, const char *purpose, int64_t j, int64_t i)
{
  /* `lifelong generate --seed` takes 0 .. 2^63 - 1 */
  return lf_rng_key (lf_ctx_rng_key (ctx, purpose), (uint64_t) j, (uint64_t) i, 0, "sample") >> 1;
}

gboolean
sr_generate (LfStrategyCtx *ctx, const char *prompt, double temperature, int64_t top_k, uint64_t seed, GString *out)
{
  LfModel *m = lf_ctx_model (ctx);
  const int64_t C = lf_ctx_spec (ctx)->context, np = (int64_t) strlen (prompt) + 1;
  g_string_truncate (out, 0);
  if (np >= C)
    return FALSE;
  g_autofree int32_t *tok = g_new (int32_t, np);
  g_autofree int32_t *gen = g_new (int32_t, C);
  tok[0] = LF_TOKEN_BOS;
  for (int64_t i = 1; i < np; i++)
    tok[i] = (uint8_t) prompt[i - 1];
  LfGenerateOptions o = { .struct_size = sizeof o, .temperature = temperature, .top_k = top_k, .seed = seed,
                          .stop_at_eos = TRUE };
  int64_t n = 0;
  g_autoptr (GError) error = NULL;
  if (!lf_model_generate (m, tok, np, C - np, &o, TRUE, gen, &n, &error))
    {
      /* a structure the cache does not know: the reference path */
      g_clear_error (&error);
      if (!lf_model_generate (m, tok, np, C - np, &o, FALSE, gen, &n, &error))
        {
          g_warning ("generation failed: %s", error->message);
          return FALSE;
        }
    }
  for (int64_t i = 0; i < n; i++)
    if (gen[i] < 256)
      g_string_append_c (out, (char) gen[i]);
  return n > 0 && gen[n - 1] == LF_TOKEN_EOS;
}

LfBatch *
sr_store_append (SrStore *st, LfStrategyCtx *ctx, LfBatch *batch)
{
  const int64_t P = st->pseudo->len, T = batch->seq_len;
  if (P == 0 || batch->tokens == NULL)
    return batch;
  double want = st->gamma * (double) batch->n + st->carry;
  int64_t k = (int64_t) want;
  st->carry = want - (double) k;
  if (k <= 0)
    return batch;
  int32_t *tok = lf_scope_alloc ((size_t) (k * T) * sizeof (int32_t));
  int32_t *lab = lf_scope_alloc ((size_t) (k * T) * sizeof (int32_t));
  uint8_t *mask = lf_scope_alloc ((size_t) (k * T));
  int64_t *ids = lf_scope_alloc ((size_t) k * sizeof (int64_t));
  for (int64_t i = 0; i < k; i++)
    {
      const SrSample *s = &g_array_index (st->pseudo, SrSample, st->cursor);
      st->cursor = (st->cursor + 1) % P;
      const int64_t len = (int64_t) strlen (s->text);
      ids[i] = -1 - s->task;   /* not a dataset sample */
      /* as lf_scenario_batch lays out text: BOS, bytes, EOS, PAD; the loss on
       * the answer's bytes and the end token */
      for (int64_t t = 0; t < T; t++)
        {
          int32_t cur = t == 0 ? LF_TOKEN_BOS : t <= len ? (uint8_t) s->text[t - 1]
                        : t == len + 1 ? LF_TOKEN_EOS : LF_TOKEN_PAD;
          int64_t nx = t + 1;
          int32_t next = nx <= len ? (uint8_t) s->text[nx - 1] : nx == len + 1 ? LF_TOKEN_EOS : -100;
          if (t < s->answer)
            next = -100;
          tok[i * T + t] = cur;
          lab[i * T + t] = next;
          mask[i * T + t] = next >= 0;
        }
    }
  LfBatch *pb = lf_scope_alloc (sizeof (LfBatch));
  memset (pb, 0, sizeof *pb);
  pb->struct_size = sizeof (LfBatch);
  pb->n = k;
  pb->split = batch->split;
  pb->tokens = tok;
  pb->seq_len = T;
  pb->labels = lab;
  pb->loss_mask = batch->loss_mask ? mask : NULL;
  pb->sample_ids = ids;
  return lf_ctx_concat_batches (ctx, batch, pb);
}

LfTensor *
sr_lm_loss (const LfBatch *batch, const LfModelOutput *out, gboolean whole)
{
  const int64_t n = batch->n, T = batch->seq_len;
  int32_t *lab = lf_scope_alloc ((size_t) MAX (n * T, 1) * sizeof (int32_t));
  int64_t kept = 0;
  for (int64_t i = 0; i < n; i++)
    {
      const int32_t *tok = batch->tokens + i * T, *y = batch->labels + i * T;
      /* p: the prefix's last token (the space of ": "); a: the position
       * that predicts the answer's first byte (its token a is the "\n") */
      int64_t p = -1, a = T;
      for (int64_t t = 1; t + 1 < T && p < 0 && tok[t] < 256; t++)
        if (tok[t] == ':' && tok[t + 1] == ' ')
          p = t + 1;
      for (int64_t t = 0; t < T && a == T; t++)
        if (y[t] >= 0)
          a = t;
      for (int64_t t = 0; t < T; t++)
        {
          int32_t next = t + 1 < T ? tok[t + 1] : LF_TOKEN_PAD;
          gboolean keep = p >= 0 && t >= p && next != LF_TOKEN_PAD && (whole || t < a);
          lab[i * T + t] = keep ? next : -100;
          kept += keep;
        }
    }
  if (kept == 0)
    return NULL;
  int64_t shape[2] = { n * T, lf_tensor_dim (out->logits, -1) };
  LfCrossEntropyOptions o = LF_CROSS_ENTROPY_OPTIONS_INIT;
  return lf_cross_entropy (lf_reshape (out->logits, 2, shape), lab, &o);
}

char *
sr_store_examples_json (const SrStore *st, int64_t k)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_array (b);
  for (int64_t i = 0; i < MIN (k, (int64_t) st->pseudo->len); i++)
    {
      const SrSample *s = &g_array_index (st->pseudo, SrSample, i);
      g_autofree char *text = g_utf8_make_valid (s->text, -1);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "task");
      json_builder_add_int_value (b, s->task);
      json_builder_set_member_name (b, "text");
      json_builder_add_string_value (b, text);
      json_builder_set_member_name (b, "answer_at");
      json_builder_add_int_value (b, s->answer);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}
