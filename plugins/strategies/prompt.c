/* lifelong plugin — strategy "prompt": prompt tuning (Lester, Al-Rfou &
 * Constant, "The Power of Scale for Parameter-Efficient Prompt Tuning",
 * EMNLP 2021).  P soft tokens are prepended at the token embedding (its
 * "prompt" slot); everything else is frozen, except the classifier head
 * when train_head.  Each experience gets its own prompt (earlier ones are
 * kept, frozen); a sample uses its task's prompt when the scenario gives
 * task ids, else the latest one. */
#include "peft-common.h"

typedef struct {
  PeftBase   base;
  int64_t    length;
  LfModule  *emb, *own;
  GPtrArray *prompts;     /* borrowed parameters "prompt.<e>" (P, d), one per experience */
  int64_t    current;     /* the experience being trained, or -1 */
  int64_t    routed_by_task, routed_latest;   /* evaluation samples, for the report */
} Prompt;

static const LfParam prompt_params[] = {
  { "length", LF_PARAM_INT, "10", 1, 4096, NULL, "soft tokens P prepended to every sequence" },
  { "train_head", LF_PARAM_BOOL, "true", 0, 0, NULL,
    "the classifier head (\"score\") trains with the prompt; a language model's head stays frozen" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

/* The embedding's post-hook: the slot gets this pass's prompt, the
 * parameter itself when every sample uses the same one, else a gather of
 * each sample's prompt (n, P, d). */
static LfTensor *
prompt_hook (LfModule *m, LfTensor *x, LfTensor *y, LfForward *fwd, void *user)
{
  (void) x;
  Prompt *s = user;
  int64_t n = lf_tensor_dim (y, 0), E = s->prompts->len;
  int32_t *route = s->base.bypass ? NULL : peft_route (fwd, n, E, s->current);
  if (route == NULL)
    {
      lf_module_set_slot (m, "prompt", NULL);
      return y;
    }
  for (int64_t i = 0; i < n; i++)
    {
      if (!fwd->training)
        {
          if (route[i] >= 0)
            s->routed_by_task++;
          else
            s->routed_latest++;
        }
      if (route[i] < 0)
        route[i] = (int32_t) (E - 1);
    }
  if (peft_route_uniform (route, n))
    {
      lf_module_set_slot (m, "prompt", s->prompts->pdata[route[0]]);
      return y;
    }
  LfTensor *table = lf_concat ((LfTensor *const *) s->prompts->pdata, (int) E, 0);   /* (E P, d) */
  int32_t *ids = lf_scope_alloc (sizeof (int32_t) * (size_t) (n * s->length));
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < s->length; j++)
      ids[i * s->length + j] = (int32_t) (route[i] * s->length + j);
  int64_t shape[3] = { n, s->length, lf_tensor_dim (table, 1) };
  lf_module_set_slot (m, "prompt", lf_reshape (lf_embedding (table, ids, n * s->length), 3, shape));
  return y;
}

static void
prompt_add (Prompt *s, LfStrategyCtx *ctx)
{
  int64_t e = s->prompts->len;
  g_autofree char *name = g_strdup_printf ("%" G_GINT64_FORMAT, e);
  LfModule *holder = lf_module_new (name, LF_MODULE_CUSTOM, NULL, NULL);
  lf_module_add_child (s->own, holder);
  int64_t shape[2] = { s->length, lf_tensor_dim (lf_module_param (s->emb, "weight"), 1) };
  LfTensor *p = lf_module_add_param (holder, "weight", 2, shape);
  /* the first from sampled vocabulary embeddings (Lester et al.), each
   * later one from its predecessor (so "the latest" keeps what was learnt) */
  if (e == 0)
    peft_init_from_vocab (p, s->emb, lf_ctx_rng_key (ctx, "prompt-init"));
  else
    lf_tensor_copy_data (p, s->prompts->pdata[e - 1]);
  g_ptr_array_add (s->prompts, p);
}

static void *
prompt_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  LfModule *emb = peft_need_embedding (ctx, "prompt", error);
  if (emb == NULL)
    return NULL;
  Prompt *s = g_new0 (Prompt, 1);
  s->length = lf_params_get_int (p, "length");
  s->emb = emb;
  s->current = -1;
  s->prompts = g_ptr_array_new ();
  s->own = peft_base_init (&s->base, ctx, "prompt", "prompt", lf_params_get_bool (p, "train_head"));
  lf_module_add_post_hook (emb, prompt_hook, s, NULL);
  return s;
}

static void
prompt_destroy (void *self)
{
  Prompt *s = self;
  peft_base_clear (&s->base);
  g_ptr_array_unref (s->prompts);
  g_free (s);
}

static gboolean
prompt_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Prompt *s = self;
  int64_t e = MAX (lf_ctx_experience (ctx), 0);
  while (s->prompts->len <= (guint) e)
    prompt_add (s, ctx);
  for (guint i = 0; i < s->prompts->len; i++)
    lf_tensor_set_requires_grad (s->prompts->pdata[i], (int64_t) i == e);
  s->current = e;
  peft_base_begin (&s->base, ctx, e);
  return TRUE;
}

static gboolean
prompt_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) ctx; (void) error;
  Prompt *s = self;
  s->current = -1;
  for (guint i = 0; i < s->prompts->len; i++)
    lf_tensor_set_requires_grad (s->prompts->pdata[i], FALSE);
  return TRUE;
}

static void
prompt_report (void *self, LfStrategyCtx *ctx)
{
  Prompt *s = self;
  peft_base_report (&s->base, ctx);
  lf_ctx_report_number (ctx, "prompts", s->prompts->len);
  lf_ctx_report_number (ctx, "prompt_length", (double) s->length);
  lf_ctx_report_number (ctx, "eval_samples_by_task_id", (double) s->routed_by_task);
  lf_ctx_report_number (ctx, "eval_samples_latest_prompt", (double) s->routed_latest);
}

static gboolean
prompt_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Prompt *s = self;
  peft_base_save (&s->base, st);
  lf_state_put_int (st, "prompt.count", s->prompts->len);
  return TRUE;
}

/* before the host restores the parameters: the prompts must exist */
static gboolean
prompt_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  Prompt *s = self;
  int64_t n;
  if (!peft_base_load (&s->base, st, error))
    return FALSE;
  if (!lf_state_get_int (st, "prompt.count", &n))
    n = 0;
  while (s->prompts->len < (guint) n)
    prompt_add (s, ctx);
  for (guint i = 0; i < s->prompts->len; i++)
    lf_tensor_set_requires_grad (s->prompts->pdata[i], FALSE);
  return TRUE;
}

static size_t
prompt_memory_bytes (void *self)
{
  return sizeof (Prompt) + ((Prompt *) self)->prompts->len * sizeof (void *);
}

static const LfStrategyVTable prompt_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = prompt_create,
  .destroy = prompt_destroy,
  .before_experience = prompt_before_experience,
  .after_experience = prompt_after_experience,
  .report = prompt_report,
  .save = prompt_save,
  .load = prompt_load,
  .memory_bytes = prompt_memory_bytes,
};

static const char *const prompt_kinds[] = { "transformer", NULL };
static const LfCapabilities prompt_caps = {
  .touches = LF_TOUCHES_STRUCTURE | LF_TOUCHES_OPTIMIZER,
  .supports = LF_SUPPORTS_CLASSIFICATION | LF_SUPPORTS_LANGUAGE_MODEL,
  .model_kinds = prompt_kinds,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "prompt",
    .version = "0.1.0",
    .summary = "prompt tuning (Lester et al., EMNLP 2021): P trainable soft tokens at the embedding, the model "
               "frozen; one prompt per experience, chosen by task id at test (else the latest)",
    .params = prompt_params,
    .caps = &prompt_caps,
    .vtable = &prompt_vtable,
  };
  return &info;
}
