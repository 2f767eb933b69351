/* lifelong plugins — the shared part of the PEFT strategies (prompt, l2p,
 * prefix, adapter): see peft-common.h. */
#include "peft-common.h"
#include <math.h>

gboolean
peft_is_head (const char *name)
{
  return g_str_has_prefix (name, "score.") || g_str_has_prefix (name, "head.") || g_str_has_prefix (name, "heads.");
}

LfModule *
peft_base_init (PeftBase *b, LfStrategyCtx *ctx, const char *name, const char *own, gboolean train_head)
{
  LfModule *root = lf_model_root (lf_ctx_model (ctx));
  b->name = name;
  b->own = own;
  b->train_head = train_head && lf_ctx_spec (ctx)->n_classes > 0;
  b->trainable = g_array_new (FALSE, FALSE, sizeof (int64_t));
  lf_module_freeze (root, "*", TRUE);
  b->hash_start = peft_base_hash (root, own, b->train_head);
  LfModule *c = lf_module_new (own, LF_MODULE_CUSTOM, NULL, NULL);
  lf_module_add_child (root, c);
  return c;
}

void
peft_base_begin (PeftBase *b, LfStrategyCtx *ctx, int64_t e)
{
  LfModule *root = lf_model_root (lf_ctx_model (ctx));
  if (b->train_head)
    {
      lf_module_freeze (root, "score.*", FALSE);
      lf_module_freeze (root, "head.*", FALSE);
      /* one head per task: only this experience's learns (Adam's moments
       * would move the others even with a zero gradient) */
      lf_module_freeze (root, "heads.*", TRUE);
      g_autofree char *mine = g_strdup_printf ("heads.%" G_GINT64_FORMAT ".*", MAX (e, 0));
      lf_module_freeze (root, mine, FALSE);
    }
  int64_t n = lf_module_count_params (root, "*", TRUE);
  g_array_append_val (b->trainable, n);
}

void
peft_base_clear (PeftBase *b)
{
  g_clear_pointer (&b->trainable, g_array_unref);
}

void
peft_base_report (PeftBase *b, LfStrategyCtx *ctx)
{
  LfModule *root = lf_model_root (lf_ctx_model (ctx));
  g_autofree char *h0 = g_strdup_printf ("\"%016" G_GINT64_MODIFIER "x\"", b->hash_start);
  g_autofree char *h1 = g_strdup_printf ("\"%016" G_GINT64_MODIFIER "x\"",
                                         peft_base_hash (root, b->own, b->train_head));
  lf_ctx_report_json (ctx, "base_hash_start", h0);
  lf_ctx_report_json (ctx, "base_hash_end", h1);
  peft_report_ints (ctx, "trainable_per_experience", (const int64_t *) b->trainable->data, b->trainable->len);
  lf_ctx_report_number (ctx, "head_trained", b->train_head);
  g_autofree char *glob = g_strconcat (b->own, ".*", NULL);
  lf_ctx_report_number (ctx, "strategy_parameters", (double) lf_module_count_params (root, glob, FALSE));
}

void
peft_base_save (PeftBase *b, LfState *st)
{
  lf_state_put_int (st, "peft.hash_start", (int64_t) b->hash_start);
  lf_state_put_int (st, "peft.experiences", b->trainable->len);
  for (guint i = 0; i < b->trainable->len; i++)
    {
      g_autofree char *k = g_strdup_printf ("peft.trainable.%u", i);
      lf_state_put_int (st, k, g_array_index (b->trainable, int64_t, i));
    }
}

gboolean
peft_base_load (PeftBase *b, const LfState *st, GError **error)
{
  int64_t h, n;
  if (!lf_state_get_int (st, "peft.hash_start", &h) || !lf_state_get_int (st, "peft.experiences", &n))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "%s: the checkpoint has no %s state", b->name, b->name);
      return FALSE;
    }
  b->hash_start = (uint64_t) h;
  g_array_set_size (b->trainable, 0);
  for (int64_t i = 0; i < n; i++)
    {
      g_autofree char *k = g_strdup_printf ("peft.trainable.%" G_GINT64_FORMAT, i);
      int64_t v = 0;
      lf_state_get_int (st, k, &v);
      g_array_append_val (b->trainable, v);
    }
  return TRUE;
}

uint64_t
peft_base_hash (LfModule *root, const char *own, gboolean skip_head)
{
  uint64_t h = 0xcbf29ce484222325ull;
  g_autoptr (GPtrArray) ps = lf_module_params (root, "*", FALSE);
  size_t ol = strlen (own);
  for (guint i = 0; i < ps->len; i++)
    {
      LfTensor *p = ps->pdata[i];
      const char *name = lf_tensor_name (p);
      if ((strncmp (name, own, ol) == 0 && name[ol] == '.') || (skip_head && peft_is_head (name)))
        continue;
      const unsigned char *d = (const unsigned char *) lf_tensor_data (p);
      size_t nb = (size_t) lf_tensor_numel (p) * sizeof (LfReal);
      for (size_t k = 0; k < nb; k++)
        h = (h ^ d[k]) * 0x100000001b3ull;
    }
  return h;
}

LfModule *
peft_need_embedding (LfStrategyCtx *ctx, const char *strategy, GError **error)
{
  LfModel *model = lf_ctx_model (ctx);
  g_autoptr (GPtrArray) e = lf_module_find_all (lf_model_root (model), "*", LF_MODULE_EMBEDDING);
  if (e->len == 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "strategy %s prepends soft tokens at a token embedding "
                   "(its \"prompt\" slot), and model %s has no embedding (use the transformer)", strategy,
                   lf_model_name (model));
      return NULL;
    }
  return e->pdata[0];
}

GPtrArray *
peft_need_attention (LfStrategyCtx *ctx, const char *strategy, GError **error)
{
  LfModel *model = lf_ctx_model (ctx);
  GPtrArray *a = lf_module_find_all (lf_model_root (model), "*", LF_MODULE_ATTENTION);
  if (a->len == 0)
    {
      g_ptr_array_unref (a);
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "strategy %s fills the key/value prefix slots of "
                   "attention modules, and model %s has none (use the transformer)", strategy, lf_model_name (model));
      return NULL;
    }
  return a;
}

LfTensor *
peft_query (PeftBase *b, LfModel *model, const LfBatch *batch)
{
  int64_t n = batch->n, d = 0;
  LfReal *q = NULL;
  gboolean was = b->bypass;
  b->bypass = TRUE;
  lf_tape_push (FALSE);
  LfModelOutput out;
  lf_model_forward (model, batch, FALSE, &out);
  LfTensor *f = out.features;
  d = lf_tensor_dim (f, -1);
  q = g_new0 (LfReal, n * d);
  const LfReal *fd = lf_tensor_data (f);
  if (lf_tensor_ndim (f) == 2)
    memcpy (q, fd, sizeof (LfReal) * (size_t) (n * d));
  else
    {
      /* (n, T, d): the mean over real tokens */
      int64_t T = lf_tensor_dim (f, 1);
      for (int64_t i = 0; i < n; i++)
        {
          int64_t real = 0;
          g_autofree double *acc = g_new0 (double, d);
          for (int64_t t = 0; t < T; t++)
            {
              if (batch->tokens && batch->tokens[i * T + t] == LF_TOKEN_PAD)
                continue;
              real++;
              for (int64_t j = 0; j < d; j++)
                acc[j] += fd[(i * T + t) * d + j];
            }
          for (int64_t j = 0; j < d; j++)
            q[i * d + j] = (LfReal) (acc[j] / (double) MAX (real, 1));
        }
    }
  lf_tape_pop ();
  b->bypass = was;
  int64_t shape[2] = { n, d };
  LfTensor *t = lf_tensor_from_data (2, shape, q);
  g_free (q);
  return t;
}

double
peft_norm (const LfReal *x, int64_t d)
{
  double s = 0;
  for (int64_t j = 0; j < d; j++)
    s += (double) x[j] * x[j];
  return sqrt (s);
}

void
peft_select_topn (const LfReal *queries, int64_t n, const LfReal *keys, int64_t M, int64_t d, int64_t top_n,
                  int32_t *idx)
{
  g_autofree double *sim = g_new (double, M);
  g_autofree double *kn = g_new (double, M);
  for (int64_t m = 0; m < M; m++)
    kn[m] = peft_norm (keys + m * d, d);
  for (int64_t i = 0; i < n; i++)
    {
      const LfReal *q = queries + i * d;
      double qn = peft_norm (q, d);
      for (int64_t m = 0; m < M; m++)
        {
          double dot = 0;
          for (int64_t j = 0; j < d; j++)
            dot += (double) q[j] * keys[m * d + j];
          sim[m] = qn > 0 && kn[m] > 0 ? dot / (qn * kn[m]) : 0;
        }
      for (int64_t r = 0; r < top_n; r++)
        {
          int64_t best = -1;
          for (int64_t m = 0; m < M; m++)
            if (!isnan (sim[m]) && (best < 0 || sim[m] > sim[best]))
              best = m;
          idx[i * top_n + r] = (int32_t) best;
          sim[best] = NAN;   /* taken */
        }
    }
}

int32_t *
peft_route (const LfForward *fwd, int64_t n, int64_t n_sets, int64_t current)
{
  if (n_sets <= 0)
    return NULL;
  int32_t *r = lf_scope_alloc (sizeof (int32_t) * (size_t) MAX (n, 1));
  const LfBatch *b = fwd ? fwd->batch : NULL;
  for (int64_t i = 0; i < n; i++)
    {
      if (fwd && fwd->training && current >= 0)
        r[i] = (int32_t) MIN (current, n_sets - 1);
      else if (b && b->task_ids && b->n == n)
        r[i] = (int32_t) CLAMP (b->task_ids[i], 0, n_sets - 1);
      else
        r[i] = -1;
    }
  return r;
}

gboolean
peft_route_uniform (const int32_t *route, int64_t n)
{
  for (int64_t i = 1; i < n; i++)
    if (route[i] != route[0])
      return FALSE;
  return TRUE;
}

void
peft_init_from_vocab (LfTensor *p, LfModule *embedding, uint64_t key)
{
  LfTensor *W = lf_module_param (embedding, "weight");
  int64_t V = lf_tensor_dim (W, 0), d = lf_tensor_dim (W, 1), rows = lf_tensor_numel (p) / d;
  g_return_if_fail (lf_tensor_dim (p, -1) == d);
  LfRng r;
  lf_rng_init (&r, key);
  /* the 256 byte tokens (the specials carry no text) when the vocabulary has them */
  uint64_t draw = (uint64_t) (V >= LF_BYTE_VOCAB ? 256 : V);
  for (int64_t i = 0; i < rows; i++)
    {
      int64_t tok = (int64_t) lf_rng_below (&r, draw);
      memcpy (lf_tensor_data (p) + i * d, lf_tensor_data (W) + tok * d, sizeof (LfReal) * (size_t) d);
    }
}

void
peft_init_normal (LfTensor *t, double std, uint64_t key)
{
  LfRng r;
  lf_rng_init (&r, key);
  for (int64_t j = 0; j < lf_tensor_numel (t); j++)
    lf_tensor_data (t)[j] = (LfReal) (std * lf_rng_normal (&r));
}

double
peft_logit_change (PeftBase *b, LfStrategyCtx *ctx, LfModel *model)
{
  int64_t n;
  const int64_t *ids = lf_ctx_experience_samples (ctx, MAX (lf_ctx_experience (ctx), 0), &n);
  n = MIN (n, 64);
  if (n == 0)
    return 0;
  lf_tape_push (FALSE);
  LfBatch *batch = lf_ctx_batch (ctx, ids, n);
  LfModelOutput with, without;
  lf_model_forward (model, batch, FALSE, &with);
  b->bypass = TRUE;
  lf_model_forward (model, batch, FALSE, &without);
  b->bypass = FALSE;
  double m = 0;
  const LfReal *x = lf_tensor_data (with.logits), *y = lf_tensor_data (without.logits);
  for (int64_t i = 0; i < lf_tensor_numel (with.logits); i++)
    m = MAX (m, fabs ((double) x[i] - (double) y[i]));
  lf_tape_pop ();
  return m;
}

void
peft_report_ints (LfStrategyCtx *ctx, const char *key, const int64_t *v, int64_t n)
{
  GString *a = g_string_new ("[");
  for (int64_t i = 0; i < n; i++)
    g_string_append_printf (a, "%s%" G_GINT64_FORMAT, i ? ", " : "", v[i]);
  g_string_append (a, "]");
  lf_ctx_report_json (ctx, key, a->str);
  g_string_free (a, TRUE);
}
