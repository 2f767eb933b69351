/* lifelong test plugin — strategy "x-lora": LoRA through the public headers
 * only.  create wraps every linear whose path matches `targets` with the
 * toolkit's LoRA (one adapter of rank `rank`) and freezes every other
 * parameter of the model, so only the adapters train.  It reports a hash of
 * the raw bytes of the frozen parameters at create and at report, and the
 * adapters' size: tests/test-extensions.c checks that the base weights are
 * bitwise unchanged and that only the adapters count as trainable. */
#include <lifelong/lifelong.h>
#include <inttypes.h>
#include <stdio.h>

typedef struct {
  uint64_t hash_at_create;
  int64_t  n_wrapped, lora_params;
} XLora;

static const LfParam xlora_params[] = {
  { "targets", LF_PARAM_STRING, "\"layers.*\"", 0, 0, NULL, "glob over module paths: the linears to adapt" },
  { "rank", LF_PARAM_INT, "4", 1, 4096, NULL, "rank r of each adapter" },
  { "alpha", LF_PARAM_FLOAT, "8", 0, 1e6, NULL, "adapter scale numerator (the update is alpha/r B A x)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

/* FNV-1a over the names and raw bytes of every frozen parameter, in tree order. */
static uint64_t
frozen_hash (LfModel *model)
{
  g_autoptr (GPtrArray) ps = lf_model_params (model, FALSE);
  uint64_t h = 0xcbf29ce484222325u;
  for (guint i = 0; i < ps->len; i++)
    {
      LfTensor *t = ps->pdata[i];
      if (lf_tensor_requires_grad (t))
        continue;
      const unsigned char *name = (const unsigned char *) lf_tensor_name (t);
      const unsigned char *bytes = (const unsigned char *) lf_tensor_data (t);
      for (size_t k = 0; name[k]; k++)
        h = (h ^ name[k]) * 0x100000001b3u;
      for (size_t k = 0; k < (size_t) lf_tensor_numel (t) * sizeof (LfReal); k++)
        h = (h ^ bytes[k]) * 0x100000001b3u;
    }
  return h;
}

static void
report_hash (LfStrategyCtx *ctx, const char *key, uint64_t h)
{
  char json[24];
  g_snprintf (json, sizeof json, "\"%016" PRIx64 "\"", h);
  lf_ctx_report_json (ctx, key, json);
}

static void *
xlora_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  LfModule *root = lf_model_root (lf_ctx_model (ctx));
  const char *targets = lf_params_get_string (p, "targets");
  LfLoraConfig cfg = {
    .struct_size = sizeof cfg,
    .rank = lf_params_get_int (p, "rank"),
    .alpha = lf_params_get_float (p, "alpha"),
    .rng_key = lf_ctx_rng_key (ctx, "x-lora"),
  };
  /* every weight and bias the model has now is a base weight */
  lf_module_freeze (root, "*", TRUE);
  g_autoptr (GPtrArray) linears = lf_module_find_all (root, targets, LF_MODULE_LINEAR);
  XLora *x = g_new0 (XLora, 1);
  for (guint i = 0; i < linears->len; i++)
    {
      LfModule *w = lf_lora_wrap (linears->pdata[i], error);
      if (w == NULL)
        {
          g_free (x);
          return NULL;
        }
      lf_lora_add (w, &cfg);
      x->n_wrapped++;
    }
  if (x->n_wrapped == 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "strategy.targets: no linear module matches \"%s\"", targets);
      g_free (x);
      return NULL;
    }
  x->lora_params = lf_module_count_params (root, "*.lora*", FALSE);
  x->hash_at_create = frozen_hash (lf_ctx_model (ctx));
  return x;
}

static void
xlora_report (void *self, LfStrategyCtx *ctx)
{
  XLora *x = self;
  report_hash (ctx, "base_hash_at_create", x->hash_at_create);
  report_hash (ctx, "base_hash_at_report", frozen_hash (lf_ctx_model (ctx)));
  lf_ctx_report_number (ctx, "wrapped", (double) x->n_wrapped);
  lf_ctx_report_number (ctx, "lora_parameters", (double) x->lora_params);
}

static const LfStrategyVTable xlora_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = xlora_create,
  .destroy = g_free,
  .report = xlora_report,
};

static const LfCapabilities xlora_caps = {
  .touches = LF_TOUCHES_STRUCTURE | LF_TOUCHES_OPTIMIZER,
  .supports = LF_SUPPORTS_CLASSIFICATION | LF_SUPPORTS_LANGUAGE_MODEL,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "x-lora",
    .version = "0.1.0",
    .summary = "test plugin: LoRA adapters on the target linears, everything else frozen (Hu et al., ICLR 2022)",
    .params = xlora_params,
    .caps = &xlora_caps,
    .vtable = &xlora_vtable,
  };
  return &info;
}
