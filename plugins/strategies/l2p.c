/* lifelong plugin — strategy "l2p": Learning to Prompt (Wang, Zhang, Lee,
 * Zhang, Sun, Ren, Su, Perot, Dy & Pfister, CVPR 2022).  A pool of M
 * (key, prompt) pairs shared by every experience; each sample's query is
 * the frozen model's own feature of it (a forward without prompt); the
 * top_n prompts whose keys are most cosine-similar to the query are
 * concatenated (best first) and prepended at the embedding, per sample; the
 * loss gains lambda * mean_i sum_{selected k} (1 - cos (q_i, k)), pulling
 * the selected keys toward the query (the paper's surrogate loss).  No task
 * id is used, at training or at test. */
#include "peft-common.h"
#include <math.h>

typedef struct {
  PeftBase  base;
  int64_t   M, top_n, length;
  double    lambda;
  LfModule *emb;
  LfModel  *model;
  LfTensor *prompts, *keys;   /* borrowed parameters "l2p.prompts" (M length, d), "l2p.keys" (M, d) */
  /* the training forward's selection, for the loss of the same step */
  LfTensor *query;
  int32_t  *idx;
  int64_t   n;
  int64_t  *picked_train, *picked_eval;   /* selections per prompt */
  double    pull_last;
} L2p;

static const LfParam l2p_params[] = {
  { "pool_size", LF_PARAM_INT, "10", 1, 100000, NULL, "M: (key, prompt) pairs in the pool" },
  { "top_n", LF_PARAM_INT, "5", 1, 100000, NULL, "N: prompts selected per sample (at most pool_size)" },
  { "prompt_length", LF_PARAM_INT, "5", 1, 4096, NULL, "L_p: soft tokens per prompt (N L_p are prepended)" },
  { "lambda", LF_PARAM_FLOAT, "0.1", 0, 1e6, NULL, "weight of the key-matching (surrogate) loss" },
  { "train_head", LF_PARAM_BOOL, "true", 0, 0, NULL,
    "the classifier head (\"score\") trains with the pool; a language model's head stays frozen" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

/* ---- the key-matching loss: keys (M, d) -> (1), a custom op ---- */

typedef struct {
  const LfReal  *q;        /* (n, d) */
  const int32_t *idx;      /* (n, N) */
  int64_t        n, N, d;
} L2pPull;

static void
l2p_pull_forward (void *ctx, int n_in, LfTensor *const *in, LfTensor *out)
{
  (void) n_in;
  const L2pPull *c = ctx;
  const LfReal *K = lf_tensor_data (in[0]);
  double sum = 0;
  for (int64_t i = 0; i < c->n; i++)
    for (int64_t r = 0; r < c->N; r++)
      {
        const LfReal *q = c->q + i * c->d, *k = K + c->idx[i * c->N + r] * c->d;
        double qn = peft_norm (q, c->d), kn = peft_norm (k, c->d), dot = 0;
        for (int64_t j = 0; j < c->d; j++)
          dot += (double) q[j] * k[j];
        sum += 1 - (qn > 0 && kn > 0 ? dot / (qn * kn) : 0);
      }
  lf_tensor_data (out)[0] = (LfReal) (sum / (double) MAX (c->n, 1));
}

/* d (1 - cos (q, k)) / dk = -(q / (|q| |k|) - cos k / |k|^2) */
static void
l2p_pull_backward (void *ctx, int n_in, LfTensor *const *in, LfTensor *out, const LfReal *g,
                   LfReal *const *in_grads)
{
  (void) n_in; (void) out;
  const L2pPull *c = ctx;
  if (in_grads[0] == NULL)
    return;
  const LfReal *K = lf_tensor_data (in[0]);
  double scale = (double) g[0] / (double) MAX (c->n, 1);
  for (int64_t i = 0; i < c->n; i++)
    for (int64_t r = 0; r < c->N; r++)
      {
        int64_t m = c->idx[i * c->N + r];
        const LfReal *q = c->q + i * c->d, *k = K + m * c->d;
        double qn = peft_norm (q, c->d), kn = peft_norm (k, c->d), dot = 0;
        if (qn == 0 || kn == 0)
          continue;
        for (int64_t j = 0; j < c->d; j++)
          dot += (double) q[j] * k[j];
        double cosv = dot / (qn * kn);
        for (int64_t j = 0; j < c->d; j++)
          in_grads[0][m * c->d + j] -= (LfReal) (scale * (q[j] / (qn * kn) - cosv * k[j] / (kn * kn)));
      }
}

static const LfCustomOp l2p_pull_op = {
  sizeof (LfCustomOp), "l2p-key-pull", l2p_pull_forward, l2p_pull_backward,
};

/* ---- selection at the embedding ---- */

/* The embedding's post-hook: the query of each sample (a forward of the
 * model without prompt: this hook is bypassed inside it), its top_n keys,
 * and the slot gets their prompts concatenated, (n, N L_p, d). */
static LfTensor *
l2p_hook (LfModule *m, LfTensor *x, LfTensor *y, LfForward *fwd, void *user)
{
  (void) x;
  L2p *s = user;
  if (s->base.bypass || fwd->batch == NULL)
    {
      lf_module_set_slot (m, "prompt", NULL);
      return y;
    }
  const LfBatch *b = fwd->batch;
  int64_t n = b->n, d = lf_tensor_dim (s->keys, 1), N = s->top_n, Lp = s->length;
  LfTensor *q = peft_query (&s->base, s->model, b);
  int32_t *idx = lf_scope_alloc (sizeof (int32_t) * (size_t) (n * N));
  peft_select_topn (lf_tensor_data (q), n, lf_tensor_data (s->keys), s->M, d, N, idx);
  int32_t *rows = lf_scope_alloc (sizeof (int32_t) * (size_t) (n * N * Lp));
  for (int64_t i = 0; i < n * N; i++)
    {
      for (int64_t j = 0; j < Lp; j++)
        rows[i * Lp + j] = (int32_t) (idx[i] * Lp + j);
      (fwd->training ? s->picked_train : s->picked_eval)[idx[i]]++;
    }
  int64_t shape[3] = { n, N * Lp, d };
  lf_module_set_slot (m, "prompt", lf_reshape (lf_embedding (s->prompts, rows, n * N * Lp), 3, shape));
  if (fwd->training)
    {
      s->query = q;
      s->idx = idx;
      s->n = n;
    }
  return y;
}

static LfTensor *
l2p_loss (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out, LfTensor *loss)
{
  (void) ctx; (void) batch; (void) out;
  L2p *s = self;
  if (s->idx == NULL)
    return loss;
  L2pPull *c = lf_scope_alloc (sizeof (L2pPull));
  *c = (L2pPull) { lf_tensor_data (s->query), s->idx, s->n, s->top_n, lf_tensor_dim (s->keys, 1) };
  int64_t one = 1;
  LfTensor *pull = lf_custom (&l2p_pull_op, c, 1, &s->keys, 1, &one);
  s->pull_last = lf_tensor_data (pull)[0];
  s->idx = NULL;   /* the step's arena goes with the step */
  s->query = NULL;
  return s->lambda > 0 ? lf_add (loss, lf_scale (pull, s->lambda)) : loss;
}

static void *
l2p_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  LfModule *emb = peft_need_embedding (ctx, "l2p", error);
  if (emb == NULL)
    return NULL;
  int64_t M = lf_params_get_int (p, "pool_size"), N = lf_params_get_int (p, "top_n");
  if (N > M)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "strategy.top_n: %" G_GINT64_FORMAT " prompts per sample "
                   "from a pool of %" G_GINT64_FORMAT " (pool_size)", N, M);
      return NULL;
    }
  L2p *s = g_new0 (L2p, 1);
  s->M = M;
  s->top_n = N;
  s->length = lf_params_get_int (p, "prompt_length");
  s->lambda = lf_params_get_float (p, "lambda");
  s->emb = emb;
  s->model = lf_ctx_model (ctx);
  s->pull_last = NAN;
  s->picked_train = g_new0 (int64_t, M);
  s->picked_eval = g_new0 (int64_t, M);
  LfModule *own = peft_base_init (&s->base, ctx, "l2p", "l2p", lf_params_get_bool (p, "train_head"));
  int64_t d = lf_tensor_dim (lf_module_param (emb, "weight"), 1);
  int64_t ps[2] = { M * s->length, d }, ks[2] = { M, d };
  s->prompts = lf_module_add_param (own, "prompts", 2, ps);
  s->keys = lf_module_add_param (own, "keys", 2, ks);
  /* prompts from sampled vocabulary embeddings (the paper's uniform init
   * is for a ViT's patch scale); keys uniform in [-1, 1) */
  peft_init_from_vocab (s->prompts, emb, lf_ctx_rng_key (ctx, "l2p-prompts"));
  LfRng r;
  lf_rng_init (&r, lf_ctx_rng_key (ctx, "l2p-keys"));
  for (int64_t j = 0; j < M * d; j++)
    lf_tensor_data (s->keys)[j] = (LfReal) (2 * lf_rng_uniform (&r) - 1);
  lf_module_add_post_hook (emb, l2p_hook, s, NULL);
  return s;
}

static void
l2p_destroy (void *self)
{
  L2p *s = self;
  peft_base_clear (&s->base);
  g_free (s->picked_train);
  g_free (s->picked_eval);
  g_free (s);
}

static gboolean
l2p_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  L2p *s = self;
  peft_base_begin (&s->base, ctx, lf_ctx_experience (ctx));
  return TRUE;
}

static void
l2p_report (void *self, LfStrategyCtx *ctx)
{
  L2p *s = self;
  peft_base_report (&s->base, ctx);
  peft_report_ints (ctx, "selected_in_training", s->picked_train, s->M);
  peft_report_ints (ctx, "selected_in_evaluation", s->picked_eval, s->M);
  if (!isnan (s->pull_last))
    lf_ctx_report_number (ctx, "key_pull_last", s->pull_last);
}

static gboolean
l2p_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  L2p *s = self;
  peft_base_save (&s->base, st);
  lf_state_put_bytes (st, "l2p.picked_train", s->picked_train, sizeof (int64_t) * (size_t) s->M);
  lf_state_put_bytes (st, "l2p.picked_eval", s->picked_eval, sizeof (int64_t) * (size_t) s->M);
  return TRUE;
}

static gboolean
l2p_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  (void) ctx;
  L2p *s = self;
  if (!peft_base_load (&s->base, st, error))
    return FALSE;
  size_t nb;
  const void *bt = lf_state_get_bytes (st, "l2p.picked_train", &nb);
  if (bt && nb == sizeof (int64_t) * (size_t) s->M)
    memcpy (s->picked_train, bt, nb);
  const void *be = lf_state_get_bytes (st, "l2p.picked_eval", &nb);
  if (be && nb == sizeof (int64_t) * (size_t) s->M)
    memcpy (s->picked_eval, be, nb);
  return TRUE;
}

static size_t
l2p_memory_bytes (void *self)
{
  return sizeof (L2p) + 2 * sizeof (int64_t) * (size_t) ((L2p *) self)->M;
}

static const LfStrategyVTable l2p_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = l2p_create,
  .destroy = l2p_destroy,
  .before_experience = l2p_before_experience,
  .loss = l2p_loss,
  .report = l2p_report,
  .save = l2p_save,
  .load = l2p_load,
  .memory_bytes = l2p_memory_bytes,
};

static const char *const l2p_kinds[] = { "transformer", NULL };
static const LfCapabilities l2p_caps = {
  .touches = LF_TOUCHES_STRUCTURE | LF_TOUCHES_OPTIMIZER | LF_TOUCHES_LOSS,
  .supports = LF_SUPPORTS_CLASSIFICATION | LF_SUPPORTS_LANGUAGE_MODEL,
  .model_kinds = l2p_kinds,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "l2p",
    .version = "0.1.0",
    .summary = "Learning to Prompt (Wang et al., CVPR 2022): a pool of key/prompt pairs, the top-N keys nearest "
               "(cosine) to the frozen model's feature pick the prompts per sample; no task id",
    .params = l2p_params,
    .caps = &l2p_caps,
    .vtable = &l2p_vtable,
  };
  return &info;
}
