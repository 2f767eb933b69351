/* lifelong plugin — model "mlp": a multilayer perceptron.  Layers are
 * `layers.N` (linear), then the activation; the head is `head` (one linear),
 * or `heads.T` (one per task: the sample's task id picks it). */
#include <lifelong/lifelong.h>

typedef enum { ACT_RELU, ACT_GELU, ACT_TANH, ACT_SIGMOID, ACT_SILU } MlpAct;

typedef struct {
  int64_t    in;         /* flattened input size */
  int64_t   *hidden;
  int64_t    n_hidden;
  int64_t    classes, tasks;
  MlpAct     act;
  double     dropout;
  gboolean   multi;
  LfModule  *root;
} Mlp;

static const LfParam mlp_params[] = {
  { "hidden", LF_PARAM_INT_LIST, "[400, 400]", 1, 1e6, NULL, "sizes of the hidden layers" },
  { "activation", LF_PARAM_STRING, "\"relu\"", 0, 0, "relu|gelu|tanh|sigmoid|silu", "hidden activation" },
  { "dropout", LF_PARAM_FLOAT, "0", 0, 0.95, NULL, "dropout after each hidden activation (training only)" },
  { "heads", LF_PARAM_STRING, "\"single\"", 0, 0, "single|multi",
    "one shared head, or one head per task chosen by the task id (needs task ids)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void
mlp_init (Mlp *m, uint64_t key)
{
  g_autoptr (GPtrArray) lin = lf_module_find_all (m->root, "*", LF_MODULE_LINEAR);
  for (guint i = 0; i < lin->len; i++)
    if (lf_module_class (lin->pdata[i]) == &lf_linear_class)   /* not a wrapper (LoRA) */
      lf_module_init_linear (lin->pdata[i], lf_rng_key (key, i, 0, 0, "mlp-init"));
}

static Mlp *
mlp_build (const Mlp *cfg, uint64_t key)
{
  Mlp *m = g_new0 (Mlp, 1);
  *m = *cfg;
  m->hidden = g_memdup2 (cfg->hidden, (gsize) cfg->n_hidden * sizeof (int64_t));
  m->root = lf_module_new ("", LF_MODULE_CONTAINER, NULL, NULL);
  LfModule *layers = lf_module_new ("layers", LF_MODULE_CONTAINER, NULL, NULL);
  lf_module_add_child (m->root, layers);
  int64_t prev = m->in;
  for (int64_t i = 0; i < m->n_hidden; i++)
    {
      g_autofree char *name = g_strdup_printf ("%" G_GINT64_FORMAT, i);
      lf_module_add_child (layers, lf_module_new_linear (name, prev, m->hidden[i], TRUE));
      prev = m->hidden[i];
    }
  if (m->multi)
    {
      LfModule *heads = lf_module_new ("heads", LF_MODULE_HEAD, NULL, NULL);
      lf_module_add_child (m->root, heads);
      for (int64_t t = 0; t < m->tasks; t++)
        {
          g_autofree char *name = g_strdup_printf ("%" G_GINT64_FORMAT, t);
          lf_module_add_child (heads, lf_module_new_linear (name, prev, m->classes, TRUE));
        }
    }
  else
    lf_module_add_child (m->root, lf_module_new_linear ("head", prev, m->classes, TRUE));
  mlp_init (m, key);
  return m;
}

static void *
mlp_create (const LfParams *p, const LfDataSpec *spec, uint64_t key, GError **error)
{
  if (spec->input_ndim <= 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                   "model mlp needs dense inputs; the dataset gives sequences (use a sequence model)");
      return NULL;
    }
  if (spec->n_classes <= 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "model mlp needs class labels");
      return NULL;
    }
  Mlp cfg = { 0 };
  int64_t n;
  const int64_t *h = lf_params_get_int_list (p, "hidden", &n);
  cfg.hidden = (int64_t *) h;
  cfg.n_hidden = n;
  cfg.in = 1;
  for (int i = 0; i < spec->input_ndim; i++)
    cfg.in *= spec->input_shape[i];
  cfg.classes = spec->n_classes;
  cfg.tasks = spec->n_tasks;
  const char *act = lf_params_get_string (p, "activation");
  cfg.act = g_str_equal (act, "gelu") ? ACT_GELU : g_str_equal (act, "tanh") ? ACT_TANH
          : g_str_equal (act, "sigmoid") ? ACT_SIGMOID : g_str_equal (act, "silu") ? ACT_SILU : ACT_RELU;
  cfg.dropout = lf_params_get_float (p, "dropout");
  cfg.multi = g_str_equal (lf_params_get_string (p, "heads"), "multi");
  if (cfg.multi && !spec->multi_head)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                   "model.heads: \"multi\" picks a head by task id, and only a task-incremental scenario gives them");
      return NULL;
    }
  return mlp_build (&cfg, key);
}

static void
mlp_destroy (void *self)
{
  Mlp *m = self;
  lf_module_free (m->root);
  g_free (m->hidden);
  g_free (m);
}

static LfModule *
mlp_root (void *self)
{
  return ((Mlp *) self)->root;
}

static LfTensor *
mlp_activation (const Mlp *m, LfTensor *x)
{
  switch (m->act)
    {
    case ACT_GELU: return lf_gelu (x);
    case ACT_TANH: return lf_tanh (x);
    case ACT_SIGMOID: return lf_sigmoid (x);
    case ACT_SILU: return lf_silu (x);
    case ACT_RELU:
    default: return lf_relu (x);
    }
}

/* x: (n, in) -> logits (n, classes), features (n, hidden[-1]) */
static void
mlp_forward (void *self, const LfBatch *batch, LfForward *fwd, LfModelOutput *out)
{
  Mlp *m = self;
  LfTensor *x = batch->inputs;
  if (lf_tensor_ndim (x) != 2)
    {
      int64_t shape[2] = { batch->n, -1 };
      x = lf_reshape (x, 2, shape);
    }
  /* the hidden layers by name, not every child of `layers`: a module a
   * plugin inserted after a layer is a child too, and runs as part of it */
  LfModule *layers = lf_module_find (m->root, "layers");
  for (int64_t i = 0; i < m->n_hidden; i++)
    {
      char name[24];
      g_snprintf (name, sizeof name, "%" G_GINT64_FORMAT, i);
      x = mlp_activation (m, lf_module_forward (lf_module_find (layers, name), x, fwd));
      if (fwd->training && m->dropout > 0)
        x = lf_dropout (x, m->dropout, lf_rng_key (fwd->rng_key, (uint64_t) i, 0, 0, "mlp-dropout"));
    }
  out->features = x;
  if (!m->multi)
    {
      out->logits = lf_module_forward (lf_module_find (m->root, "head"), x, fwd);
      return;
    }
  /* one head per task: each row takes the logits of its task's head */
  g_return_if_fail (batch->task_ids != NULL);
  LfModule *heads = lf_module_find (m->root, "heads");
  int64_t n = batch->n;
  LfTensor *logits = NULL;
  for (int t = 0; t < lf_module_n_children (heads); t++)
    {
      int64_t rows = 0;
      for (int64_t i = 0; i < n; i++)
        rows += batch->task_ids[i] == t;
      if (rows == 0)
        continue;
      int64_t ms[2] = { n, 1 };
      LfTensor *mask = lf_tensor_new (2, ms);
      for (int64_t i = 0; i < n; i++)
        lf_tensor_data (mask)[i] = batch->task_ids[i] == t ? 1 : 0;
      LfTensor *lt = lf_mul (lf_module_forward (lf_module_child (heads, t), x, fwd), mask);
      logits = logits ? lf_add (logits, lt) : lt;
    }
  out->logits = logits;
}

static void
mlp_reset (void *self, uint64_t key)
{
  mlp_init (self, key);
}

static void *
mlp_clone (void *self)
{
  Mlp *m = self;
  return mlp_build (m, 0);
}

static const LfModelVTable mlp_vtable = {
  .struct_size = sizeof (LfModelVTable),
  .create = mlp_create,
  .destroy = mlp_destroy,
  .root = mlp_root,
  .forward = mlp_forward,
  .reset = mlp_reset,
  .clone = mlp_clone,
};

static const char *const mlp_kinds[] = { "mlp", NULL };
static const LfCapabilities mlp_caps = {
  .supports = LF_SUPPORTS_CLASSIFICATION,
  .model_kinds = mlp_kinds,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_MODEL,
    .name = "mlp",
    .version = "0.1.0",
    .summary = "multilayer perceptron: layers.N linears with an activation, one head or one per task",
    .params = mlp_params,
    .caps = &mlp_caps,
    .vtable = &mlp_vtable,
  };
  return &info;
}
