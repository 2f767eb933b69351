/* lifelong plugin — strategy "o-lora": Orthogonal Subspace Learning for
 * Language Model Continual Learning (Wang et al., Findings of EMNLP 2023).
 * A new adapter (A_t, B_t) per experience on the target linears, the
 * earlier ones and the base frozen; the loss gains
 *   lambda  * sum_layers sum_{i<t} ||A_i A_t^T||_F^2      (orthogonality, the paper's lambda_1)
 *   lambda2 * sum_layers (||A_t||_F^2 + ||B_t||_F^2)       (L2 on the new adapter, lambda_2)
 * so that each task's update lives in a row space of its own
 * (lf_lora_orthogonality). */
#include "lora-family.h"
#include <math.h>

typedef struct {
  LoraFamily f;
  double     lambda, lambda2;
  int        seen;                     /* adapters whose first step has been taken */
  double     orth_start, orth_last;   /* sum of the orthogonality terms (before lambda); NAN: not yet */
} OLora;

static const LfParam o_lora_params[] = {
  LORA_FAMILY_PARAMS ("every layers.N of an MLP, the q_proj and v_proj of every transformer layer (as O-LoRA)"),
  { "lambda", LF_PARAM_FLOAT, "0.5", 0, 1e9, NULL,
    "weight of the orthogonality term sum_i ||A_i A_t^T||_F^2 (the paper's lambda_1)" },
  { "lambda2", LF_PARAM_FLOAT, "0", 0, 1e9, NULL,
    "weight of the squared L2 norm of the new adapter's A and B (the paper's lambda_2)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
o_lora_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  OLora *s = lora_family_new (sizeof (OLora), "o-lora", p, ctx, lora_family_qv_targets, error);
  if (s == NULL)
    return NULL;
  s->lambda = lf_params_get_float (p, "lambda");
  s->lambda2 = lf_params_get_float (p, "lambda2");
  s->orth_start = s->orth_last = NAN;
  return s;
}

static LfTensor *
o_lora_loss (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out, LfTensor *loss)
{
  (void) ctx; (void) batch; (void) out;
  OLora *s = self;
  int t = s->f.n - 1;
  LfTensor *orth = NULL, *l2 = NULL;
  for (guint i = 0; i < s->f.wrappers->len; i++)
    {
      LfModule *w = s->f.wrappers->pdata[i];
      if (t > 0)
        {
          LfTensor *o = lf_lora_orthogonality (w, t);
          orth = orth ? lf_add (orth, o) : o;
        }
      if (s->lambda2 > 0)
        {
          LfTensor *n = lf_add (lf_sum (lf_sqr (lf_lora_A (w, t))), lf_sum (lf_sqr (lf_lora_B (w, t))));
          l2 = l2 ? lf_add (l2, n) : n;
        }
    }
  if (orth)
    {
      s->orth_last = lf_tensor_data (orth)[0];
      if (s->seen < s->f.n)
        s->orth_start = s->orth_last;
      if (s->lambda > 0)
        loss = lf_add (loss, lf_scale (orth, s->lambda));
    }
  s->seen = s->f.n;
  if (l2)
    loss = lf_add (loss, lf_scale (l2, s->lambda2));
  return loss;
}

static void
o_lora_report (void *self, LfStrategyCtx *ctx)
{
  OLora *s = self;
  lora_family_report (&s->f, ctx);
  if (!isnan (s->orth_start))
    {
      lf_ctx_report_number (ctx, "orthogonality_at_start", s->orth_start);
      lf_ctx_report_number (ctx, "orthogonality_last", s->orth_last);
    }
}

static const LfStrategyVTable o_lora_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = o_lora_create,
  .destroy = lora_family_free,
  .before_experience = lora_family_before_experience,
  .loss = o_lora_loss,
  .report = o_lora_report,
  .save = lora_family_save_slot,
  .load = lora_family_load_slot,
};

static const LfCapabilities o_lora_caps = {
  .touches = LF_TOUCHES_LOSS | LF_TOUCHES_STRUCTURE | LF_TOUCHES_OPTIMIZER,
  .needs = LF_NEEDS_BOUNDARIES,
  .supports = LF_SUPPORTS_CLASSIFICATION | LF_SUPPORTS_LANGUAGE_MODEL,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "o-lora",
    .version = "0.1.0",
    .summary = "O-LoRA (Wang et al., Findings of EMNLP 2023): a new LoRA per experience, earlier ones frozen, "
               "with the penalty lambda * sum_i ||A_i A_t^T||_F^2 keeping the new down-projection orthogonal to the old",
    .params = o_lora_params,
    .caps = &o_lora_caps,
    .vtable = &o_lora_vtable,
  };
  return &info;
}
