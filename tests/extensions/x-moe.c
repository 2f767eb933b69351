/* lifelong test plugin — strategy "x-moe": replaces one linear of the model
 * (`target`, default the MLP's "layers.1") with a soft mixture of two
 * experts, a module class defined here:
 *
 *   target            kind feed-forward, class "x-moe"
 *     experts.0       linear in -> out (starts as a copy of the old linear)
 *     experts.1       linear in -> out (fresh)
 *     router          linear in -> 2
 *
 *   y = g_0 experts.0(x) + g_1 experts.1(x),   g = softmax(router(x))
 *
 * It reports the experts' parameter count and how far the router's weight
 * moved from its initial value, so a test sees that the new parameters are
 * in the tree the optimizer follows. */
#include <lifelong/lifelong.h>
#include <math.h>

typedef struct {
  char     *target;
  LfTensor *router_init;   /* owned copy of the router's weight at create */
} XMoe;

static const LfParam xmoe_params[] = {
  { "target", LF_PARAM_STRING, "\"layers.1\"", 0, 0, NULL, "path of the linear module to replace" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

/* x: (n, in) -> (n, out) */
static LfTensor *
moe_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  LfTensor *g = lf_softmax (lf_module_forward (lf_module_find (m, "router"), x, fwd));   /* (n, 2) */
  LfTensor *y0 = lf_module_forward (lf_module_find (m, "experts.0"), x, fwd);
  LfTensor *y1 = lf_module_forward (lf_module_find (m, "experts.1"), x, fwd);
  return lf_add (lf_mul (lf_slice (g, 1, 0, 1), y0), lf_mul (lf_slice (g, 1, 1, 2), y1));
}

static const LfModuleClass moe_class = {
  .struct_size = sizeof (LfModuleClass),
  .type_name = "x-moe",
  .forward = moe_forward,
};

static void
xmoe_destroy (void *self)
{
  XMoe *x = self;
  lf_tensor_free (x->router_init);
  g_free (x->target);
  g_free (x);
}

static void *
xmoe_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  LfModule *root = lf_model_root (lf_ctx_model (ctx));
  const char *target = lf_params_get_string (p, "target");
  LfModule *old = lf_module_find (root, target);
  LfTensor *w = old ? lf_module_param (old, "weight") : NULL;
  if (w == NULL || lf_module_kind (old) != LF_MODULE_LINEAR || lf_tensor_ndim (w) != 2)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "strategy.target: \"%s\" is not a linear module of model %s",
                   target, lf_model_name (lf_ctx_model (ctx)));
      return NULL;
    }
  int64_t out = lf_tensor_dim (w, 0), in = lf_tensor_dim (w, 1);
  gboolean bias = lf_module_param (old, "bias") != NULL;

  LfModule *moe = lf_module_new ("moe", LF_MODULE_FEEDFORWARD, &moe_class, NULL);
  LfModule *experts = lf_module_new ("experts", LF_MODULE_CONTAINER, NULL, NULL);
  LfModule *e0 = lf_module_new_linear ("0", in, out, bias), *e1 = lf_module_new_linear ("1", in, out, bias);
  LfModule *router = lf_module_new_linear ("router", in, 2, TRUE);
  lf_module_add_child (experts, e0);
  lf_module_add_child (experts, e1);
  lf_module_add_child (moe, experts);
  lf_module_add_child (moe, router);
  /* expert 0 upcycles the old linear; expert 1 and the router start fresh */
  lf_tensor_copy_data (lf_module_param (e0, "weight"), w);
  if (bias)
    lf_tensor_copy_data (lf_module_param (e0, "bias"), lf_module_param (old, "bias"));
  lf_module_init_linear (e1, lf_ctx_rng_key (ctx, "x-moe-expert"));
  lf_module_init_linear (router, lf_ctx_rng_key (ctx, "x-moe-router"));
  lf_module_free (lf_module_replace (old, moe));

  XMoe *x = g_new0 (XMoe, 1);
  x->target = g_strdup (target);
  x->router_init = lf_tensor_clone_owned (lf_module_param (router, "weight"));
  return x;
}

static void
xmoe_report (void *self, LfStrategyCtx *ctx)
{
  XMoe *x = self;
  LfModule *root = lf_model_root (lf_ctx_model (ctx));
  g_autofree char *experts = g_strconcat (x->target, ".experts.*", NULL);
  g_autofree char *router = g_strconcat (x->target, ".router", NULL);
  LfTensor *w = lf_module_param (lf_module_find (root, router), "weight");
  const LfReal *now = lf_tensor_data (w), *then = lf_tensor_data (x->router_init);
  double moved = 0;
  for (int64_t i = 0; i < lf_tensor_numel (w); i++)
    moved = fmax (moved, fabs ((double) now[i] - (double) then[i]));
  lf_ctx_report_number (ctx, "expert_parameters", (double) lf_module_count_params (root, experts, FALSE));
  lf_ctx_report_number (ctx, "router_max_change", moved);
}

static const LfStrategyVTable xmoe_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = xmoe_create,
  .destroy = xmoe_destroy,
  .report = xmoe_report,
};

static const LfCapabilities xmoe_caps = {
  .touches = LF_TOUCHES_STRUCTURE,
  .supports = LF_SUPPORTS_CLASSIFICATION,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "x-moe",
    .version = "0.1.0",
    .summary = "test plugin: replaces a linear with a softly routed mixture of two experts",
    .params = xmoe_params,
    .caps = &xmoe_caps,
    .vtable = &xmoe_vtable,
  };
  return &info;
}
