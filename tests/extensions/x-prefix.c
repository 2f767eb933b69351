/* lifelong test plugin — strategy "x-prefix": prefix tuning (Li & Liang,
 * 2021) through the attention module's "prefix_key" / "prefix_value" slots.
 * create freezes every parameter of the model, then gives each attention
 * module a child "prefix" (a module with no computation of its own) holding
 * two new parameters, "key" and "value" (length x kv_dim), and points the
 * slots at them.  Being in the tree is what makes the optimizer train them:
 * the host hands the optimizer lf_model_params after every change, so a
 * parameter only the strategy knew of would never move.
 *
 * kv_dim is read from the attention's "k_proj" weight (Hugging Face naming):
 * the module API has no accessor for it.  The report carries a hash of the
 * frozen parameters' bytes at create and at report (they must agree). */
#include <lifelong/lifelong.h>
#include <inttypes.h>
#include <stdio.h>

typedef struct {
  uint64_t hash_at_create;
  int64_t  prefix_params;
} XPrefix;

static const LfParam xprefix_params[] = {
  { "length", LF_PARAM_INT, "8", 1, 1e6, NULL, "prefix length P: key/value rows prepended in every attention" },
  { "init_std", LF_PARAM_FLOAT, "1", 0, 1e3, NULL, "standard deviation of the prefixes' normal initialisation" },
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
xprefix_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  LfModel *model = lf_ctx_model (ctx);
  LfModule *root = lf_model_root (model);
  int64_t P = lf_params_get_int (p, "length");
  double std = lf_params_get_float (p, "init_std");
  g_autoptr (GPtrArray) attns = lf_module_find_all (root, "*", LF_MODULE_ATTENTION);
  if (attns->len == 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "model %s has no attention module", lf_model_name (model));
      return NULL;
    }
  lf_module_freeze (root, "*", TRUE);
  LfRng rng;
  lf_rng_init (&rng, lf_ctx_rng_key (ctx, "x-prefix-init"));
  for (guint i = 0; i < attns->len; i++)
    {
      LfModule *attn = attns->pdata[i];
      LfModule *kp = lf_module_find (attn, "k_proj");
      LfTensor *kw = kp ? lf_module_param (kp, "weight") : NULL;
      if (kw == NULL || lf_tensor_ndim (kw) != 2)
        {
          g_autofree char *path = lf_module_path (attn);
          g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                       "attention module '%s' has no k_proj linear to size the prefix by", path);
          return NULL;
        }
      int64_t shape[2] = { P, lf_tensor_dim (kw, 0) };
      LfModule *holder = lf_module_new ("prefix", LF_MODULE_CUSTOM, NULL, NULL);
      LfTensor *key = lf_module_add_param (holder, "key", 2, shape);
      LfTensor *value = lf_module_add_param (holder, "value", 2, shape);
      for (int64_t k = 0; k < P * shape[1]; k++)
        {
          lf_tensor_data (key)[k] = (LfReal) (std * lf_rng_normal (&rng));
          lf_tensor_data (value)[k] = (LfReal) (std * lf_rng_normal (&rng));
        }
      lf_module_add_child (attn, holder);
      lf_module_set_slot (attn, "prefix_key", key);
      lf_module_set_slot (attn, "prefix_value", value);
    }
  XPrefix *x = g_new0 (XPrefix, 1);
  x->prefix_params = lf_module_count_params (root, "*.prefix.*", FALSE);
  x->hash_at_create = frozen_hash (model);
  return x;
}

static void
xprefix_report (void *self, LfStrategyCtx *ctx)
{
  XPrefix *x = self;
  report_hash (ctx, "frozen_hash_at_create", x->hash_at_create);
  report_hash (ctx, "frozen_hash_at_report", frozen_hash (lf_ctx_model (ctx)));
  lf_ctx_report_number (ctx, "prefix_parameters", (double) x->prefix_params);
}

static const LfStrategyVTable xprefix_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = xprefix_create,
  .destroy = g_free,
  .report = xprefix_report,
};

static const char *const xprefix_kinds[] = { "x-attn", NULL };
static const LfCapabilities xprefix_caps = {
  .touches = LF_TOUCHES_STRUCTURE | LF_TOUCHES_OPTIMIZER,
  .supports = LF_SUPPORTS_CLASSIFICATION,
  .model_kinds = xprefix_kinds,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "x-prefix",
    .version = "0.1.0",
    .summary = "test plugin: prefix tuning through the attention prefix slots, the model frozen (Li & Liang, 2021)",
    .params = xprefix_params,
    .caps = &xprefix_caps,
    .vtable = &xprefix_vtable,
  };
  return &info;
}
