/* lifelong plugin — strategy "pnn", progressive neural networks (Rusu et al.,
 * 2016, arXiv:1606.04671): one column of the network per task; column k's
 * layer l reads the layer below of its own column and, through lateral
 * connections, of every earlier column; a finished column is frozen, so
 * earlier tasks cannot be forgotten, and a task's sample runs through its
 * own column (task ids at test).
 *
 * On the mlp: each hidden linear layers.N is wrapped; its input is the
 * activations of every column side by side (n, K * in), its output the
 * columns' pre-activations side by side (n, K * units) (the model applies
 * its activation elementwise, so per column).  Column 0 is the model's own
 * linear ("base"); column k is the child "colk", one linear over
 * [h_0 | ... | h_k] (its own weights and the laterals in one matrix); at
 * layer 0 every column reads the input alone.  The head is wrapped the same
 * way: column k's classifier reads column k's last hidden layer.
 * Simplification: the laterals are plain linear maps (the paper's
 * adapters, a learned scale and a projection with a nonlinearity, are
 * left out). */
#include <lifelong/lifelong.h>
#include <inttypes.h>

/* State of a wrapped layer or head (the wrapper owns it). */
typedef struct {
  gboolean head;      /* the classifier (reads one column) or a hidden layer */
  gboolean first;     /* layer 0: every column reads the input alone          */
  int64_t  in;        /* a column's input width (the input, or a column below) */
  int64_t  units;     /* a column's output width                              */
  int64_t *n_cols;    /* shared with the strategy's counter (a reference)      */
} PnnLayer;

typedef struct {
  int64_t  *n_cols;        /* columns built (g_rc_box, shared with the wrappers) */
  GPtrArray *wrappers;     /* LfModule *: the hidden layers' wrappers, then the head's */
  int64_t   T, done;
  uint64_t *hash_at_own_end;
} Pnn;

/* ---- the wrappers ---------------------------------------------------------------- */

static void
pnn_layer_free (void *p)
{
  PnnLayer *L = p;
  g_rc_box_release (L->n_cols);
  g_free (L);
}

/* Columns a forward computes: every built one in training; at test, up to
 * the largest task in the batch (a task's column never reads later ones). */
static int64_t
pnn_cols_for (const PnnLayer *L, const LfForward *fwd)
{
  int64_t K = *L->n_cols;
  const LfBatch *b = fwd ? fwd->batch : NULL;
  if (fwd == NULL || fwd->training || b == NULL || b->task_ids == NULL || b->n == 0)
    return K;
  int32_t hi = 0;
  for (int64_t i = 0; i < b->n; i++)
    hi = MAX (hi, b->task_ids[i]);
  return MIN (K, (int64_t) hi + 1);
}

/* hidden: x (n, K in) -> (n, K units); head: x (n, K in) -> (n, classes),
 * each row through the classifier of its task's column (the last column
 * for a task without one yet). */
static LfTensor *
pnn_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  PnnLayer *L = lf_module_state (m);
  int64_t K = pnn_cols_for (L, fwd);
  if (!L->head)
    {
      LfTensor *outs[64];
      g_autofree LfTensor **many = K > 64 ? g_new (LfTensor *, K) : NULL;
      LfTensor **o = many ? many : outs;
      for (int64_t k = 0; k < K; k++)
        {
          LfTensor *in = L->first ? x : lf_slice (x, 1, 0, (k + 1) * L->in);
          o[k] = lf_module_forward (lf_module_child (m, (int) k), in, fwd);
        }
      return K == 1 ? o[0] : lf_concat (o, (int) K, 1);
    }
  const LfBatch *b = fwd ? fwd->batch : NULL;
  int64_t n = lf_tensor_dim (x, 0);
  gboolean per_row = b && b->task_ids && b->n == n && !(fwd && fwd->training);
  if (!per_row)
    return lf_module_forward (lf_module_child (m, (int) (K - 1)), lf_slice (x, 1, (K - 1) * L->in, K * L->in), fwd);
  LfTensor *y = NULL;
  for (int64_t k = 0; k < K; k++)
    {
      int64_t rs[2] = { n, 1 }, rows = 0;
      LfTensor *mask = lf_tensor_new (2, rs);
      for (int64_t i = 0; i < n; i++)
        rows += (lf_tensor_data (mask)[i] = MIN ((int64_t) b->task_ids[i], K - 1) == k ? 1 : 0) != 0;
      if (rows == 0)
        continue;
      LfTensor *yk = lf_module_forward (lf_module_child (m, (int) k), lf_slice (x, 1, k * L->in, (k + 1) * L->in), fwd);
      if (rows == n)
        return yk;
      yk = lf_mul (yk, mask);
      y = y ? lf_add (y, yk) : yk;
    }
  return y;
}

static const LfModuleClass pnn_class = {
  .struct_size = sizeof (LfModuleClass),
  .type_name = "pnn-columns",
  .forward = pnn_forward,
  .destroy_state = pnn_layer_free,
};

/* ---- columns ------------------------------------------------------------------------ */

/* Adds column k to every wrapper (k == number of children). */
static void
pnn_add_column (Pnn *p, int64_t k, uint64_t rng_key)
{
  for (guint i = 0; i < p->wrappers->len; i++)
    {
      LfModule *w = p->wrappers->pdata[i];
      PnnLayer *L = lf_module_state (w);
      g_return_if_fail (lf_module_n_children (w) == k);
      gboolean bias = lf_module_param (lf_module_child (w, 0), "bias") != NULL;
      int64_t in = L->head || L->first ? L->in : (k + 1) * L->in;
      g_autofree char *name = g_strdup_printf ("col%" G_GINT64_FORMAT, k);
      LfModule *lin = lf_module_new_linear (name, in, L->units, bias);
      lf_module_init_linear (lin, lf_rng_key (rng_key, i, (uint64_t) k, 0, "pnn-column"));
      lf_module_add_child (w, lin);
    }
  *p->n_cols = k + 1;
}

/* Freezes columns 0 .. k-1 everywhere. */
static void
pnn_freeze_before (Pnn *p, int64_t k)
{
  for (guint i = 0; i < p->wrappers->len; i++)
    {
      LfModule *w = p->wrappers->pdata[i];
      for (int64_t c = 0; c < k && c < lf_module_n_children (w); c++)
        lf_module_freeze (lf_module_child (w, (int) c), "*", TRUE);
    }
}

/* FNV-1a over the raw bytes of column k's parameters, every layer. */
static uint64_t
pnn_column_hash (Pnn *p, int64_t k)
{
  uint64_t h = 0xcbf29ce484222325u;
  for (guint i = 0; i < p->wrappers->len; i++)
    {
      LfModule *w = p->wrappers->pdata[i];
      if (k >= lf_module_n_children (w))
        continue;
      g_autoptr (GPtrArray) ps = lf_module_params (lf_module_child (w, (int) k), "*", FALSE);
      for (guint j = 0; j < ps->len; j++)
        {
          const unsigned char *b = (const unsigned char *) lf_tensor_data (ps->pdata[j]);
          for (size_t q = 0; q < (size_t) lf_tensor_numel (ps->pdata[j]) * sizeof (LfReal); q++)
            h = (h ^ b[q]) * 0x100000001b3u;
        }
    }
  return h;
}

/* ---- hooks ---------------------------------------------------------------------------- */

static void
pnn_free (void *self)
{
  Pnn *p = self;
  g_rc_box_release (p->n_cols);
  g_ptr_array_unref (p->wrappers);
  g_free (p->hash_at_own_end);
  g_free (p);
}

static void *
pnn_create (const LfParams *params, LfStrategyCtx *ctx, GError **error)
{
  (void) params;
  LfModel *model = lf_ctx_model (ctx);
  LfModule *root = lf_model_root (model);
  LfModule *layers = lf_module_find (root, "layers"), *head = lf_module_find (root, "head");
  int n = layers ? lf_module_n_children (layers) : 0;
  gboolean ok = n > 0 && head && lf_module_class (head) == &lf_linear_class;
  for (int l = 0; ok && l < n; l++)
    ok = lf_module_class (lf_module_child (layers, l)) == &lf_linear_class;
  if (!ok)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                   "strategy pnn: model %s needs hidden linears layers.N and one \"head\" linear "
                   "(an mlp with heads \"single\")", lf_model_name (model));
      return NULL;
    }
  Pnn *p = g_new0 (Pnn, 1);
  p->n_cols = g_rc_box_new0 (int64_t);
  *p->n_cols = 1;
  p->wrappers = g_ptr_array_new ();
  p->T = MAX (lf_ctx_spec (ctx)->n_tasks, 1);
  p->hash_at_own_end = g_new0 (uint64_t, p->T);
  g_autoptr (GPtrArray) targets = g_ptr_array_new ();
  for (int l = 0; l < n; l++)
    g_ptr_array_add (targets, lf_module_child (layers, l));
  g_ptr_array_add (targets, head);
  for (guint i = 0; i < targets->len; i++)
    {
      LfTensor *w = lf_module_param (targets->pdata[i], "weight");
      PnnLayer *L = g_new0 (PnnLayer, 1);
      L->head = i == targets->len - 1;
      L->first = i == 0;
      L->units = lf_tensor_dim (w, 0);
      L->in = lf_tensor_dim (w, 1);
      L->n_cols = g_rc_box_acquire (p->n_cols);
      g_ptr_array_add (p->wrappers, lf_module_wrap (targets->pdata[i], &pnn_class, L,
                                                    L->head ? LF_MODULE_HEAD : LF_MODULE_LINEAR));
    }
  return p;
}

static gboolean
pnn_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Pnn *p = self;
  int64_t e = lf_ctx_experience (ctx);
  if (e < 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "strategy pnn: needs experience boundaries");
      return FALSE;
    }
  while (*p->n_cols <= e)
    pnn_add_column (p, *p->n_cols, lf_ctx_rng_key (ctx, "pnn-column"));
  return TRUE;
}

static gboolean
pnn_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Pnn *p = self;
  int64_t e = lf_ctx_experience (ctx);
  pnn_freeze_before (p, e + 1);
  p->done = e + 1;
  if (e < p->T)
    p->hash_at_own_end[e] = pnn_column_hash (p, e);
  return TRUE;
}

static void
pnn_report (void *self, LfStrategyCtx *ctx)
{
  Pnn *p = self;
  g_autoptr (GString) sizes = g_string_new ("["), own = g_string_new ("["), fin = g_string_new ("[");
  for (int64_t k = 0; k < *p->n_cols; k++)
    {
      int64_t c = 0;
      for (guint i = 0; i < p->wrappers->len; i++)
        c += lf_module_count_params (lf_module_child (p->wrappers->pdata[i], (int) k), "*", FALSE);
      g_string_append_printf (sizes, "%s%" G_GINT64_FORMAT, k ? ", " : "", c);
      if (k < p->done)
        {
          g_string_append_printf (own, "%s\"%016" PRIx64 "\"", k ? ", " : "", p->hash_at_own_end[k]);
          g_string_append_printf (fin, "%s\"%016" PRIx64 "\"", k ? ", " : "", pnn_column_hash (p, k));
        }
    }
  g_string_append_c (sizes, ']');
  g_string_append_c (own, ']');
  g_string_append_c (fin, ']');
  lf_ctx_report_number (ctx, "columns", (double) *p->n_cols);
  lf_ctx_report_json (ctx, "parameters_per_column", sizes->str);
  lf_ctx_report_json (ctx, "column_hash_at_own_end", own->str);
  lf_ctx_report_json (ctx, "column_hash_final", fin->str);
}

static gboolean
pnn_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Pnn *p = self;
  lf_state_put_int (st, "columns", *p->n_cols);
  lf_state_put_int (st, "done", p->done);
  lf_state_put_bytes (st, "hash_at_own_end", p->hash_at_own_end, (size_t) p->T * sizeof (uint64_t));
  return TRUE;
}

/* Rebuilds the columns the checkpoint has (it then restores their values). */
static gboolean
pnn_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  Pnn *p = self;
  int64_t cols = 0, done = 0;
  size_t nh = 0;
  const void *hh = lf_state_get_bytes (st, "hash_at_own_end", &nh);
  if (!lf_state_get_int (st, "columns", &cols) || !lf_state_get_int (st, "done", &done) || cols < 1
      || cols > p->T || done < 0 || done > cols || hh == NULL || nh != (size_t) p->T * sizeof (uint64_t))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "strategy pnn: the checkpoint's state does not match this run");
      return FALSE;
    }
  while (*p->n_cols < cols)
    pnn_add_column (p, *p->n_cols, lf_ctx_rng_key (ctx, "pnn-column"));
  memcpy (p->hash_at_own_end, hh, nh);
  p->done = done;
  pnn_freeze_before (p, done);
  return TRUE;
}

static const LfStrategyVTable pnn_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = pnn_create,
  .destroy = pnn_free,
  .before_experience = pnn_before_experience,
  .after_experience = pnn_after_experience,
  .report = pnn_report,
  .save = pnn_save,
  .load = pnn_load,
};

static const char *const pnn_scenarios[] = { "task-incremental", NULL };
static const char *const pnn_models[] = { "mlp", NULL };
static const LfCapabilities pnn_caps = {
  .touches = LF_TOUCHES_STRUCTURE,
  .needs = LF_NEEDS_TASK_IDS | LF_NEEDS_TASK_IDS_AT_TEST | LF_NEEDS_BOUNDARIES,
  .supports = LF_SUPPORTS_CLASSIFICATION,
  .model_kinds = pnn_models,
  .scenarios = pnn_scenarios,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "pnn",
    .version = "0.1.0",
    .summary = "progressive neural networks: a new column per task with lateral connections from the frozen "
               "earlier columns (Rusu, Rabinowitz, Desjardins, Soyer, Kirkpatrick, Kavukcuoglu, Pascanu & Hadsell, "
               "\"Progressive Neural Networks\", arXiv:1606.04671, 2016)",
    .caps = &pnn_caps,
    .vtable = &pnn_vtable,
  };
  return &info;
}
