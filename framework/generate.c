/* lifelong — text generation through a model: the one sampler every path
 * shares (so a model's key/value cache and the host's full re-run pick the
 * same tokens from the same logits), and the host's reference generation
 * that re-runs the whole sequence for every new token. */
#include "host.h"
#include <math.h>

int32_t
lf_generate_sample (const LfReal *logits, int64_t vocab, const LfGenerateOptions *opts, int64_t step)
{
  g_return_val_if_fail (logits != NULL && vocab > 0 && opts != NULL && step >= 0, 0);
  int32_t best = 0;
  for (int64_t v = 1; v < vocab; v++)
    if (logits[v] > logits[best])
      best = (int32_t) v;
  if (!(opts->temperature > 0) || opts->top_k == 1)
    return best;
  /* the k most likely ids, by logit then id (a stable, total order) */
  int64_t k = opts->top_k > 0 && opts->top_k < vocab ? opts->top_k : vocab;
  g_autofree int32_t *ids = g_new (int32_t, vocab);
  for (int64_t v = 0; v < vocab; v++)
    ids[v] = (int32_t) v;
  if (k < vocab)
    /* partial selection sort: k is small in practice */
    for (int64_t i = 0; i < k; i++)
      {
        int64_t m = i;
        for (int64_t j = i + 1; j < vocab; j++)
          if (logits[ids[j]] > logits[ids[m]] || (logits[ids[j]] == logits[ids[m]] && ids[j] < ids[m]))
            m = j;
        int32_t t = ids[i];
        ids[i] = ids[m];
        ids[m] = t;
      }
  /* softmax (logits / T) over the k, in double, shifted by the maximum */
  g_autofree double *p = g_new (double, k);
  double mx = logits[best], sum = 0;
  for (int64_t i = 0; i < k; i++)
    sum += p[i] = exp (((double) logits[ids[i]] - mx) / opts->temperature);
  double u = lf_rng_uniform_at (lf_rng_key (opts->seed, 0, 0, 0, "generate"), (uint64_t) step) * sum;
  for (int64_t i = 0; i < k; i++)
    {
      u -= p[i];
      if (u < 0)
        return ids[i];
    }
  return ids[k - 1];   /* u landed on the rounding error of the sum */
}

/* The reference: forward on the whole sequence, no tape, for every token. */
static gboolean
generate_full (LfModel *m, const int32_t *prompt, int64_t n_prompt, int64_t max_new,
               const LfGenerateOptions *opts, int32_t *out, int64_t *n_out, GError **error)
{
  g_autofree int32_t *seq = g_new (int32_t, n_prompt + max_new);
  memcpy (seq, prompt, (size_t) n_prompt * sizeof *seq);
  int64_t len = n_prompt, sample_id = 0;
  for (int64_t step = 0; step < max_new; step++)
    {
      lf_tape_push (FALSE);
      LfBatch batch = { .struct_size = sizeof batch, .n = 1, .split = LF_SPLIT_TEST, .tokens = seq,
                        .seq_len = len, .sample_ids = &sample_id };
      LfModelOutput o;
      lf_model_forward (m, &batch, FALSE, &o);
      if (o.logits == NULL || lf_tensor_ndim (o.logits) != 3 || lf_tensor_dim (o.logits, 1) != len)
        {
          lf_tape_pop ();
          g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "model %s gives no per-position logits "
                       "(n, T, vocab): it is not a language model", lf_model_name (m));
          return FALSE;
        }
      int64_t V = lf_tensor_dim (o.logits, 2);
      int32_t tok = lf_generate_sample (lf_tensor_data (o.logits) + (len - 1) * V, V, opts, step);
      lf_tape_pop ();
      out[step] = seq[len++] = tok;
      *n_out = step + 1;
      if (opts->stop_at_eos && tok == LF_TOKEN_EOS)
        break;
    }
  return TRUE;
}

gboolean
lf_model_generate (LfModel *m, const int32_t *prompt, int64_t n_prompt, int64_t max_new,
                   const LfGenerateOptions *opts, gboolean use_cache,
                   int32_t *out, int64_t *n_out, GError **error)
{
  g_return_val_if_fail (m != NULL && opts != NULL && n_out != NULL && max_new >= 0, FALSE);
  g_return_val_if_fail (max_new == 0 || out != NULL, FALSE);
  *n_out = 0;
  const LfDataSpec *spec = lf_model_spec (m);
  if (spec->n_classes > 0 || spec->vocab <= 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "model %s was made as a classifier "
                   "(%" G_GINT64_FORMAT " classes, vocabulary %" G_GINT64_FORMAT "): it does not generate text",
                   lf_model_name (m), spec->n_classes, spec->vocab);
      return FALSE;
    }
  if (prompt == NULL || n_prompt < 1)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "generate: the prompt is empty (it needs at least one token, "
                   "such as LF_TOKEN_BOS)");
      return FALSE;
    }
  if (spec->context > 0 && n_prompt > spec->context)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "generate: the prompt has %" G_GINT64_FORMAT
                   " tokens, more than the model's context of %" G_GINT64_FORMAT, n_prompt, spec->context);
      return FALSE;
    }
  for (int64_t i = 0; i < n_prompt; i++)
    if (prompt[i] < 0 || prompt[i] >= spec->vocab)
      {
        g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "generate: prompt token %" G_GINT64_FORMAT " is %d, "
                     "outside the vocabulary [0, %" G_GINT64_FORMAT ")", i, prompt[i], spec->vocab);
        return FALSE;
      }
  /* the whole sequence stays within the context */
  if (spec->context > 0)
    max_new = MIN (max_new, spec->context - n_prompt);
  if (max_new == 0)
    return TRUE;
  const LfModelVTable *vt = m->vt;
  gboolean has_slot = vt->struct_size >= G_STRUCT_OFFSET (LfModelVTable, generate) + sizeof (void *)
                      && vt->generate != NULL;
  if (!use_cache || !has_slot)
    return generate_full (m, prompt, n_prompt, max_new, opts, out, n_out, error);
  LfGenerateOptions o = *opts;
  o.struct_size = sizeof o;
  if (!vt->generate (m->self, prompt, n_prompt, max_new, &o, out, n_out, error))
    {
      if (error && *error == NULL)
        g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_PLUGIN, "model %s: generate failed", lf_model_name (m));
      return FALSE;
    }
  g_return_val_if_fail (*n_out >= 0 && *n_out <= max_new, FALSE);
  return TRUE;
}

char *
lf_model_describe (LfModel *m)
{
  const LfModelVTable *vt = m->vt;
  if (vt->struct_size < G_STRUCT_OFFSET (LfModelVTable, describe) + sizeof (void *) || vt->describe == NULL)
    return NULL;
  return vt->describe (m->self);
}
