/* lifelong plugin — strategy "moe": the chosen feed-forwards of a
 * transformer become top-k mixtures of experts (moe-layer.c), trained like
 * naive fine-tuning plus the load-balancing loss.  No expansion, no
 * freezing: the baseline the lifelong-moe and cl-moe methods are measured
 * against.  docs/moe.md. */
#include "moe-layer.h"

typedef struct {
  MoeBase b;
} Moe;

static const LfParam moe_params[] = {
  MOE_LAYER_PARAMS,
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
moe_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  Moe *s = g_new0 (Moe, 1);
  if (!moe_base_init (&s->b, p, ctx, "moe", error))
    {
      moe_base_clear (&s->b);
      g_free (s);
      return NULL;
    }
  return s;
}

static void
moe_destroy (void *self)
{
  moe_base_clear (self);
  g_free (self);
}

static gboolean
moe_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  moe_base_end_experience (self, lf_ctx_experience (ctx));
  return TRUE;
}

static gboolean
moe_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  moe_base_save (self, st);
  return TRUE;
}

static gboolean
moe_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  (void) ctx;
  return moe_base_load (self, st, 0, error);
}

static const LfStrategyVTable moe_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = moe_create,
  .destroy = moe_destroy,
  .loss = moe_hook_loss,
  .after_experience = moe_after_experience,
  .report = moe_hook_report,
  .save = moe_save,
  .load = moe_load,
  .memory_bytes = moe_hook_memory,
};

static const char *const moe_kinds[] = { "transformer", NULL };
static const LfCapabilities moe_caps = {
  .touches = LF_TOUCHES_LOSS | LF_TOUCHES_STRUCTURE,
  .supports = LF_SUPPORTS_CLASSIFICATION | LF_SUPPORTS_LANGUAGE_MODEL,
  .model_kinds = moe_kinds,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "moe",
    .version = "0.1.0",
    .summary = "Mixture-of-experts baseline: chosen SwiGLU feed-forwards become top-k MoE layers (upcycled "
               "experts, Switch load-balancing loss), fine-tuned without expansion or freezing",
    .params = moe_params,
    .caps = &moe_caps,
    .vtable = &moe_vtable,
  };
  return &info;
}
