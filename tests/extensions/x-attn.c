/* lifelong test plugin — model "x-attn": a tiny attention classifier whose
 * attention module honours the "prefix_key" / "prefix_value" slots, so a
 * prefix-tuning strategy (x-prefix) can work on it.  An input of D features
 * is read as T = D / token_dim tokens of token_dim features:
 *
 *   embed    linear token_dim -> width, then ReLU        (n, T, width)
 *   attn     single-head attention (q_proj, k_proj, v_proj, o_proj), whose
 *            keys and values are the prefix slots (P, width), when set,
 *            followed by the T tokens' own; added to its input (residual)
 *   mean over the tokens                                 (n, width): features
 *   head     linear width -> classes                     (n, classes): logits */
#include <lifelong/lifelong.h>
#include <math.h>

typedef struct {
  int64_t   tokens, token_dim, width, classes;
  LfModule *root;
} XAttn;

static const LfParam xattn_params[] = {
  { "token_dim", LF_PARAM_INT, "4", 1, 1e6, NULL, "features per token (must divide the input size)" },
  { "width", LF_PARAM_INT, "16", 1, 1e6, NULL, "model width: token embedding, queries, keys and values" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

/* x: (n, T, w) -> (n, T, w) */
static LfTensor *
attn_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  LfTensor *q = lf_module_forward (lf_module_find (m, "q_proj"), x, fwd);
  LfTensor *k = lf_module_forward (lf_module_find (m, "k_proj"), x, fwd);
  LfTensor *v = lf_module_forward (lf_module_find (m, "v_proj"), x, fwd);
  LfTensor *pk = lf_module_get_slot (m, "prefix_key"), *pv = lf_module_get_slot (m, "prefix_value");
  if (pk && pv)
    {
      /* (P, w) broadcast to (n, P, w), then joined ahead of the tokens */
      int64_t shape[3] = { lf_tensor_dim (x, 0), lf_tensor_dim (pk, 0), lf_tensor_dim (pk, 1) };
      LfTensor *ks[2] = { lf_add (lf_tensor_zeros (3, shape), pk), k };
      LfTensor *vs[2] = { lf_add (lf_tensor_zeros (3, shape), pv), v };
      k = lf_concat (ks, 2, 1);
      v = lf_concat (vs, 2, 1);
    }
  LfTensor *scores = lf_scale (lf_matmul_t (q, FALSE, k, TRUE), 1.0 / sqrt ((double) lf_tensor_dim (q, -1)));
  LfTensor *o = lf_matmul (lf_softmax (scores), v);     /* (n, T, P + T) (n, P + T, w) */
  return lf_module_forward (lf_module_find (m, "o_proj"), o, fwd);
}

static const LfModuleClass attn_class = {
  .struct_size = sizeof (LfModuleClass),
  .type_name = "x-attention",
  .forward = attn_forward,
};

static void
xattn_init (XAttn *a, uint64_t key)
{
  g_autoptr (GPtrArray) lin = lf_module_find_all (a->root, "*", LF_MODULE_LINEAR);
  for (guint i = 0; i < lin->len; i++)
    if (lf_module_class (lin->pdata[i]) == &lf_linear_class)
      lf_module_init_linear (lin->pdata[i], lf_rng_key (key, i, 0, 0, "x-attn-init"));
}

static XAttn *
xattn_build (const XAttn *cfg, uint64_t key)
{
  XAttn *a = g_new0 (XAttn, 1);
  *a = *cfg;
  int64_t w = a->width;
  a->root = lf_module_new ("", LF_MODULE_CONTAINER, NULL, NULL);
  lf_module_add_child (a->root, lf_module_new_linear ("embed", a->token_dim, w, TRUE));
  LfModule *attn = lf_module_new ("attn", LF_MODULE_ATTENTION, &attn_class, NULL);
  const char *proj[] = { "q_proj", "k_proj", "v_proj", "o_proj" };
  for (int i = 0; i < 4; i++)
    lf_module_add_child (attn, lf_module_new_linear (proj[i], w, w, FALSE));
  lf_module_add_child (a->root, attn);
  lf_module_add_child (a->root, lf_module_new_linear ("head", w, a->classes, TRUE));
  xattn_init (a, key);
  return a;
}

static void *
xattn_create (const LfParams *p, const LfDataSpec *spec, uint64_t key, GError **error)
{
  int64_t D = 1;
  for (int i = 0; i < spec->input_ndim; i++)
    D *= spec->input_shape[i];
  XAttn cfg = {
    .token_dim = lf_params_get_int (p, "token_dim"),
    .width = lf_params_get_int (p, "width"),
    .classes = spec->n_classes,
  };
  if (spec->input_ndim <= 0 || spec->n_classes <= 0 || D % cfg.token_dim != 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                   "model x-attn needs labelled dense inputs whose size (%" G_GINT64_FORMAT
                   ") model.token_dim (%" G_GINT64_FORMAT ") divides", D, cfg.token_dim);
      return NULL;
    }
  cfg.tokens = D / cfg.token_dim;
  return xattn_build (&cfg, key);
}

static void
xattn_destroy (void *self)
{
  XAttn *a = self;
  lf_module_free (a->root);
  g_free (a);
}

static LfModule *
xattn_root (void *self)
{
  return ((XAttn *) self)->root;
}

static void
xattn_forward (void *self, const LfBatch *batch, LfForward *fwd, LfModelOutput *out)
{
  XAttn *a = self;
  int64_t shape[3] = { batch->n, a->tokens, a->token_dim };
  LfTensor *x = lf_relu (lf_module_forward (lf_module_find (a->root, "embed"), lf_reshape (batch->inputs, 3, shape), fwd));
  x = lf_add (x, lf_module_forward (lf_module_find (a->root, "attn"), x, fwd));
  out->features = lf_mean_axis (x, 1, FALSE);
  out->logits = lf_module_forward (lf_module_find (a->root, "head"), out->features, fwd);
}

static void
xattn_reset (void *self, uint64_t key)
{
  xattn_init (self, key);
}

static void *
xattn_clone (void *self)
{
  return xattn_build (self, 0);
}

static const LfModelVTable xattn_vtable = {
  .struct_size = sizeof (LfModelVTable),
  .create = xattn_create,
  .destroy = xattn_destroy,
  .root = xattn_root,
  .forward = xattn_forward,
  .reset = xattn_reset,
  .clone = xattn_clone,
};

static const char *const xattn_kinds[] = { "x-attn", NULL };
static const LfCapabilities xattn_caps = {
  .supports = LF_SUPPORTS_CLASSIFICATION,
  .model_kinds = xattn_kinds,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_MODEL,
    .name = "x-attn",
    .version = "0.1.0",
    .summary = "test plugin: inputs read as tokens, one attention layer with a key/value prefix slot, mean-pooled head",
    .params = xattn_params,
    .caps = &xattn_caps,
    .vtable = &xattn_vtable,
  };
  return &info;
}
