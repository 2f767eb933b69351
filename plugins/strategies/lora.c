/* lifelong plugin — strategy "lora": LoRA (Hu et al., ICLR 2022) as a
 * continual learner.  The chosen linears are wrapped once; every experience
 * gets its own adapter, (alpha/r) B_e A_e, with the earlier adapters and
 * the whole base frozen (the classifier head trains, see train_head), so a
 * step computes no weight gradient for any frozen weight.  With merge, the
 * experience's adapter is folded into the base weight after the experience
 * (W += (alpha/r) B_e A_e, then B_e = 0): the model computes the same
 * function, and the next adapter starts from the merged weights. */
#include "lora-family.h"

typedef struct {
  LoraFamily f;
  gboolean   merge;
  int64_t    merged;       /* experiences folded into the base */
} Lora;

static const LfParam lora_params[] = {
  LORA_FAMILY_PARAMS ("every layers.N of an MLP, the q_proj and v_proj of every transformer layer (Hu et al.)"),
  { "merge", LF_PARAM_BOOL, "false", 0, 0, NULL,
    "after each experience, fold its adapter into the base weight (W += alpha/r B A, B = 0)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
lora_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  Lora *s = lora_family_new (sizeof (Lora), "lora", p, ctx, lora_family_qv_targets, error);
  if (s)
    s->merge = lf_params_get_bool (p, "merge");
  return s;
}

static gboolean
lora_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) ctx; (void) error;
  Lora *s = self;
  if (!s->merge)
    return TRUE;
  for (guint i = 0; i < s->f.wrappers->len; i++)
    lf_lora_merge (s->f.wrappers->pdata[i], s->f.n - 1);
  s->merged++;
  return TRUE;
}

static void
lora_report (void *self, LfStrategyCtx *ctx)
{
  Lora *s = self;
  lora_family_report (&s->f, ctx);
  lf_ctx_report_number (ctx, "merged_experiences", (double) s->merged);
}

static gboolean
lora_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Lora *s = self;
  lora_family_save (&s->f, st);
  lf_state_put_int (st, "lora.merged", s->merged);
  return TRUE;
}

static gboolean
lora_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  Lora *s = self;
  return lora_family_load (&s->f, ctx, st, error) && lf_state_get_int (st, "lora.merged", &s->merged);
}

static const LfStrategyVTable lora_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = lora_create,
  .destroy = lora_family_free,
  .before_experience = lora_family_before_experience,
  .after_experience = lora_after_experience,
  .report = lora_report,
  .save = lora_save,
  .load = lora_load,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "lora",
    .version = "0.1.0",
    .summary = "LoRA (Hu et al., ICLR 2022): a new low-rank adapter (alpha/r) B A per experience on the target "
               "linears, earlier adapters and the base frozen; optionally merged into the base after each experience",
    .params = lora_params,
    .caps = &lora_family_caps,
    .vtable = &lora_vtable,
  };
  return &info;
}
