/* lifelong tests — the module tree: names and paths that follow every move,
 * find and globs, freezing, the container forward, wrapping (a low-rank
 * adapter around a linear), replacing (a feed-forward by a mixture of two
 * experts), inserting after a module, hooks, slots, detaching and freeing,
 * the structure version, and gradients and optimizer steps through a
 * wrapped tree whose base is frozen.  Public API only, as a plugin sees it. */
#include <lifelong/lifelong.h>
#include <math.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------------- */

/* Fills t with values in [-1, 1) keyed by seed. */
static void
fill (LfTensor *t, uint64_t seed)
{
  LfReal *d = lf_tensor_data (t);
  for (int64_t i = 0; i < lf_tensor_numel (t); i++)
    d[i] = (LfReal) (2.0 * lf_rng_uniform_at (seed, (uint64_t) i) - 1.0);
}

static LfTensor *
input_new (int64_t n, int64_t d, uint64_t seed)
{
  const int64_t s[2] = { n, d };
  LfTensor *x = lf_tensor_new (2, s);
  fill (x, seed);
  return x;
}

/* y (n, out) = x (n, in) W^T + b, in double from the raw values. */
static void
ref_linear (const LfReal *x, int64_t n, int64_t in, LfTensor *w, LfTensor *b,
            double *y)
{
  const int64_t out = lf_tensor_dim (w, 0);
  const LfReal *wd = lf_tensor_data (w);
  for (int64_t r = 0; r < n; r++)
    for (int64_t o = 0; o < out; o++)
      {
        double s = b ? lf_tensor_data (b)[o] : 0.0;
        for (int64_t i = 0; i < in; i++)
          s += (double) x[r * in + i] * wd[o * in + i];
        y[r * out + o] = s;
      }
}

static void
assert_close (LfTensor *y, const double *ref, int64_t n)
{
  g_assert_cmpint (lf_tensor_numel (y), ==, n);
  for (int64_t i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (lf_tensor_data (y)[i], ref[i], 1e-5 * (1.0 + fabs (ref[i])));
}

static const char *
pname (GPtrArray *ps, guint i)
{
  return lf_tensor_name (ps->pdata[i]);
}

/* root "" -> layers -> 0 (linear 4->5), 1 (linear 5->3), initialised. */
static LfModule *
mlp_new (void)
{
  LfModule *root = lf_module_new ("", LF_MODULE_CONTAINER, NULL, NULL);
  LfModule *layers = lf_module_new ("layers", LF_MODULE_CONTAINER, NULL, NULL);
  lf_module_add_child (root, layers);
  LfModule *l0 = lf_module_new_linear ("0", 4, 5, TRUE);
  LfModule *l1 = lf_module_new_linear ("1", 5, 3, TRUE);
  lf_module_add_child (layers, l0);
  lf_module_add_child (layers, l1);
  lf_module_init_linear (l0, 11);
  lf_module_init_linear (l1, 12);
  /* non-zero biases, so that a bias that is not applied shows */
  fill (lf_module_param (l0, "bias"), 13);
  fill (lf_module_param (l1, "bias"), 14);
  return root;
}

/* ---- a low-rank adapter: y = base(x) + x A^T B^T ------------------------------ */

static LfTensor *
lowrank_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  /* x: (N, in), A: (r, in), B: (out, r) -> (N, out) */
  LfTensor *y = lf_module_forward (lf_module_child (m, 0), x, fwd);
  LfTensor *h = lf_linear (x, lf_module_param (m, "lora_A"), NULL);
  return lf_add (y, lf_linear (h, lf_module_param (m, "lora_B"), NULL));
}

static const LfModuleClass lowrank_class = {
  .struct_size = sizeof (LfModuleClass),
  .type_name = "test-lowrank",
  .forward = lowrank_forward,
};

static LfModule *
lowrank_wrap (LfModule *linear, int64_t rank, uint64_t seed)
{
  LfTensor *w = lf_module_param (linear, "weight");
  const int64_t out = lf_tensor_dim (w, 0), in = lf_tensor_dim (w, 1);
  LfModule *wr = lf_module_wrap (linear, &lowrank_class, NULL, LF_MODULE_LINEAR);
  const int64_t sa[2] = { rank, in }, sb[2] = { out, rank };
  fill (lf_module_add_param (wr, "lora_A", 2, sa), seed);
  fill (lf_module_add_param (wr, "lora_B", 2, sb), seed + 1);
  return wr;
}

/* the reference: base(x) + (x A^T) B^T */
static void
ref_lowrank (LfModule *wr, const LfReal *x, int64_t n, double *y)
{
  LfModule *base = lf_module_child (wr, 0);
  LfTensor *w = lf_module_param (base, "weight");
  LfTensor *a = lf_module_param (wr, "lora_A"), *b = lf_module_param (wr, "lora_B");
  const int64_t out = lf_tensor_dim (w, 0), in = lf_tensor_dim (w, 1), r = lf_tensor_dim (a, 0);
  ref_linear (x, n, in, w, lf_module_param (base, "bias"), y);
  for (int64_t s = 0; s < n; s++)
    for (int64_t j = 0; j < r; j++)
      {
        double h = 0;
        for (int64_t i = 0; i < in; i++)
          h += (double) x[s * in + i] * lf_tensor_data (a)[j * in + i];
        for (int64_t o = 0; o < out; o++)
          y[s * out + o] += h * lf_tensor_data (b)[o * r + j];
      }
}

/* ---- tests ------------------------------------------------------------------- */

static void
test_kind_names (void)
{
  static const char *const want[] = { "container", "linear", "embedding", "attention",
                                      "feedforward", "norm", "block", "head", "custom" };
  G_STATIC_ASSERT (G_N_ELEMENTS (want) == LF_MODULE_KIND_COUNT);
  for (int k = 0; k < LF_MODULE_KIND_COUNT; k++)
    g_assert_cmpstr (lf_module_kind_name ((LfModuleKind) k), ==, want[k]);
}

static void
test_names (void)
{
  LfModule *root = mlp_new ();
  LfModule *l0 = lf_module_find (root, "layers.0");
  g_assert_nonnull (l0);
  g_assert_cmpstr (lf_module_name (l0), ==, "0");
  g_assert_cmpint (lf_module_kind (l0), ==, LF_MODULE_LINEAR);
  g_assert_true (lf_module_class (l0) == &lf_linear_class);
  g_autofree char *p0 = lf_module_path (l0);
  g_assert_cmpstr (p0, ==, "layers.0");
  g_autofree char *proot = lf_module_path (root);
  g_assert_cmpstr (proot, ==, "");
  g_assert_cmpstr (lf_tensor_name (lf_module_param (l0, "weight")), ==, "layers.0.weight");
  g_assert_cmpstr (lf_tensor_name (lf_module_param (l0, "bias")), ==, "layers.0.bias");
  g_assert_cmpint (lf_tensor_dim (lf_module_param (l0, "weight"), 0), ==, 5);
  g_assert_cmpint (lf_tensor_dim (lf_module_param (l0, "weight"), 1), ==, 4);
  g_assert_true (lf_tensor_is_param (lf_module_param (l0, "weight")));
  g_assert_null (lf_module_param (l0, "nope"));
  g_assert_true (lf_module_parent (l0) == lf_module_find (root, "layers"));
  g_assert_cmpint (lf_module_n_children (lf_module_parent (l0)), ==, 2);

  /* a subtree built detached is renamed when it is attached */
  LfModule *model = lf_module_new ("model", LF_MODULE_CONTAINER, NULL, NULL);
  LfModule *layer = lf_module_new ("0", LF_MODULE_BLOCK, NULL, NULL);
  LfModule *attn = lf_module_new ("self_attn", LF_MODULE_ATTENTION, NULL, NULL);
  LfModule *q = lf_module_new_linear ("q_proj", 4, 4, FALSE);
  g_assert_cmpstr (lf_tensor_name (lf_module_param (q, "weight")), ==, "q_proj.weight");
  g_assert_null (lf_module_param (q, "bias"));
  lf_module_add_child (attn, q);
  g_assert_cmpstr (lf_tensor_name (lf_module_param (q, "weight")), ==, "self_attn.q_proj.weight");
  LfTensor *stat = lf_module_add_buffer (attn, "stat", 1, (const int64_t[]) { 3 });
  g_assert_false (lf_tensor_requires_grad (stat));
  g_assert_true (lf_module_buffer (attn, "stat") == stat);
  lf_module_add_child (layer, attn);
  LfModule *layers = lf_module_new ("layers", LF_MODULE_CONTAINER, NULL, NULL);
  lf_module_add_child (layers, layer);
  lf_module_add_child (model, layers);
  /* a named root is part of its paths */
  g_assert_cmpstr (lf_tensor_name (lf_module_param (q, "weight")), ==, "model.layers.0.self_attn.q_proj.weight");
  g_assert_cmpstr (lf_tensor_name (stat), ==, "model.layers.0.self_attn.stat");
  /* and a root named "" is not */
  lf_module_add_child (root, model);
  g_autofree char *pq = lf_module_path (q);
  g_assert_cmpstr (pq, ==, "model.layers.0.self_attn.q_proj");
  g_assert_cmpstr (lf_tensor_name (lf_module_param (q, "weight")), ==, "model.layers.0.self_attn.q_proj.weight");
  g_assert_cmpstr (lf_tensor_name (stat), ==, "model.layers.0.self_attn.stat");
  /* a parameter on a root named "" is named by its local name */
  g_assert_cmpstr (lf_tensor_name (lf_module_add_param (root, "scale", 1, (const int64_t[]) { 1 })), ==, "scale");
  /* buffers are not parameters */
  g_assert_cmpint (lf_module_count_params (root, "*.stat", FALSE), ==, 0);
  lf_module_free (root);
}

static void
test_find (void)
{
  LfModule *root = mlp_new ();
  LfModule *enc = lf_module_new ("encoder", LF_MODULE_CONTAINER, NULL, NULL);
  LfModule *block = lf_module_new ("block", LF_MODULE_BLOCK, NULL, NULL);
  lf_module_add_child (block, lf_module_new_linear ("proj", 3, 3, FALSE));
  lf_module_add_child (enc, block);
  lf_module_add_child (root, enc);

  g_assert_true (lf_module_find (root, "") == root);
  g_assert_true (lf_module_find (root, "encoder.block.proj") == lf_module_child (block, 0));
  g_assert_true (lf_module_find (enc, "block.proj") == lf_module_child (block, 0));  /* relative */
  g_assert_null (lf_module_find (root, "encoder.block.nope"));
  g_assert_null (lf_module_find (root, "layers.2"));
  g_assert_null (lf_module_find (root, "layers."));
  g_assert_null (lf_module_find (root, "layer"));

  /* globs over paths, in tree order; "*" crosses dots */
  g_autoptr (GPtrArray) lin = lf_module_find_all (root, "*", LF_MODULE_LINEAR);
  g_assert_cmpuint (lin->len, ==, 3);
  g_assert_true (lin->pdata[0] == lf_module_find (root, "layers.0"));
  g_assert_true (lin->pdata[1] == lf_module_find (root, "layers.1"));
  g_assert_true (lin->pdata[2] == lf_module_find (root, "encoder.block.proj"));
  g_autoptr (GPtrArray) all = lf_module_find_all (root, "*", -1);
  g_assert_cmpuint (all->len, ==, 7);      /* root, layers, 0, 1, encoder, block, proj */
  g_assert_true (all->pdata[0] == root);
  g_autoptr (GPtrArray) lay = lf_module_find_all (root, "layers.?", -1);
  g_assert_cmpuint (lay->len, ==, 2);
  g_autoptr (GPtrArray) blocks = lf_module_find_all (root, "*block*", LF_MODULE_BLOCK);
  g_assert_cmpuint (blocks->len, ==, 1);
  g_assert_true (blocks->pdata[0] == block);
  /* on a subtree the glob still sees full paths */
  g_autoptr (GPtrArray) sub = lf_module_find_all (enc, "encoder.*", -1);
  g_assert_cmpuint (sub->len, ==, 2);

  g_autoptr (GPtrArray) ws = lf_module_params (root, "layers.*.weight", FALSE);
  g_assert_cmpuint (ws->len, ==, 2);
  g_assert_cmpstr (pname (ws, 0), ==, "layers.0.weight");
  g_assert_cmpstr (pname (ws, 1), ==, "layers.1.weight");
  g_autoptr (GPtrArray) ps = lf_module_params (root, "*", FALSE);
  g_assert_cmpuint (ps->len, ==, 5);
  g_assert_cmpstr (pname (ps, 0), ==, "layers.0.weight");
  g_assert_cmpstr (pname (ps, 1), ==, "layers.0.bias");
  g_assert_cmpstr (pname (ps, 2), ==, "layers.1.weight");
  g_assert_cmpstr (pname (ps, 3), ==, "layers.1.bias");
  g_assert_cmpstr (pname (ps, 4), ==, "encoder.block.proj.weight");
  g_assert_cmpint (lf_module_count_params (root, "*", FALSE), ==, 5 * 4 + 5 + 3 * 5 + 3 + 9);
  g_assert_cmpint (lf_module_count_params (root, "*.bias", FALSE), ==, 8);
  lf_module_free (root);
}

static void
test_freeze (void)
{
  LfModule *root = mlp_new ();
  const int64_t total = lf_module_count_params (root, "*", FALSE);
  uint64_t v = lf_module_structure_version (root);
  g_assert_cmpint (lf_module_freeze (root, "layers.0.*", TRUE), ==, 2);
  g_assert_cmpuint (lf_module_structure_version (root), >, v);
  g_assert_false (lf_tensor_requires_grad (lf_module_param (lf_module_find (root, "layers.0"), "weight")));
  g_assert_cmpint (lf_module_count_params (root, "*", TRUE), ==, total - (20 + 5));
  g_autoptr (GPtrArray) tr = lf_module_params (root, "*", TRUE);
  g_assert_cmpuint (tr->len, ==, 2);
  g_assert_cmpstr (pname (tr, 0), ==, "layers.1.weight");
  /* freezing what is frozen changes nothing and bumps nothing */
  v = lf_module_structure_version (root);
  g_assert_cmpint (lf_module_freeze (root, "layers.0.*", TRUE), ==, 2);
  g_assert_cmpuint (lf_module_structure_version (root), ==, v);
  g_assert_cmpint (lf_module_freeze (root, "*.bias", TRUE), ==, 2);
  g_assert_cmpint (lf_module_count_params (root, "*", TRUE), ==, 15);
  g_assert_cmpint (lf_module_freeze (root, "nothing", TRUE), ==, 0);
  g_assert_cmpint (lf_module_freeze (root, "*", FALSE), ==, 4);
  g_assert_cmpint (lf_module_count_params (root, "*", TRUE), ==, total);
  lf_module_free (root);
}

static void
test_container_forward (void)
{
  LfModule *root = mlp_new ();
  lf_tape_push (FALSE);
  LfTensor *x = input_new (2, 4, 21);
  LfTensor *y = lf_module_forward (root, x, NULL);
  g_assert_cmpint (lf_tensor_dim (y, 0), ==, 2);
  g_assert_cmpint (lf_tensor_dim (y, 1), ==, 3);
  LfModule *l0 = lf_module_find (root, "layers.0"), *l1 = lf_module_find (root, "layers.1");
  double h[10], ref[6];
  ref_linear (lf_tensor_data (x), 2, 4, lf_module_param (l0, "weight"), lf_module_param (l0, "bias"), h);
  LfReal hr[10];
  for (int i = 0; i < 10; i++)
    hr[i] = (LfReal) h[i];
  ref_linear (hr, 2, 5, lf_module_param (l1, "weight"), lf_module_param (l1, "bias"), ref);
  assert_close (y, ref, 6);
  /* a container without children is the identity */
  LfModule *empty = lf_module_new ("", LF_MODULE_CONTAINER, NULL, NULL);
  g_assert_true (lf_module_forward (empty, x, NULL) == x);
  lf_module_free (empty);
  lf_tape_pop ();
  lf_module_free (root);
}

static void
test_linear_init (void)
{
  LfModule *a = lf_module_new_linear ("a", 9, 7, TRUE);
  LfModule *b = lf_module_new_linear ("b", 9, 7, TRUE);
  lf_module_init_linear (a, 42);
  lf_module_init_linear (b, 42);
  LfTensor *wa = lf_module_param (a, "weight"), *wb = lf_module_param (b, "weight");
  g_assert_cmpmem (lf_tensor_data (wa), 63 * sizeof (LfReal), lf_tensor_data (wb), 63 * sizeof (LfReal));
  const double bound = 1.0 / 3.0;
  double lo = 1, hi = -1;
  for (int i = 0; i < 63; i++)
    {
      LfReal v = lf_tensor_data (wa)[i];
      g_assert_cmpfloat (fabs (v), <=, bound);
      lo = MIN (lo, v);
      hi = MAX (hi, v);
    }
  g_assert_cmpfloat (lo, <, -bound / 2);      /* spread over the range */
  g_assert_cmpfloat (hi, >, bound / 2);
  LfTensor *ba = lf_module_param (a, "bias");
  gboolean nonzero = FALSE;
  for (int i = 0; i < 7; i++)
    {
      g_assert_cmpfloat (fabs (lf_tensor_data (ba)[i]), <=, bound);
      nonzero |= lf_tensor_data (ba)[i] != 0;
    }
  g_assert_true (nonzero);
  lf_module_init_linear (b, 43);
  g_assert_true (memcmp (lf_tensor_data (wa), lf_tensor_data (wb), 63 * sizeof (LfReal)) != 0);
  lf_module_free (a);
  lf_module_free (b);
}

static void
test_wrap (void)
{
  LfModule *root = mlp_new ();
  LfModule *l0 = lf_module_find (root, "layers.0");
  LfTensor *w0 = lf_module_param (l0, "weight");
  uint64_t v = lf_module_structure_version (root);
  LfModule *wr = lowrank_wrap (l0, 2, 31);
  g_assert_cmpuint (lf_module_structure_version (root), >, v);
  g_assert_true (lf_module_find (root, "layers.0") == wr);
  g_assert_true (lf_module_find (root, "layers.0.base") == l0);
  g_assert_true (lf_module_child (wr, 0) == l0);
  g_assert_true (lf_module_class (wr) == &lowrank_class);
  g_assert_cmpint (lf_module_kind (wr), ==, LF_MODULE_LINEAR);
  g_assert_cmpstr (lf_module_name (l0), ==, "base");
  g_assert_cmpstr (lf_tensor_name (w0), ==, "layers.0.base.weight");
  /* the wrapper keeps its place: layers.0 before layers.1 */
  g_assert_true (lf_module_child (lf_module_find (root, "layers"), 0) == wr);

  g_autoptr (GPtrArray) ps = lf_module_params (root, "*", FALSE);
  g_assert_cmpuint (ps->len, ==, 6);
  g_assert_cmpstr (pname (ps, 0), ==, "layers.0.lora_A");
  g_assert_cmpstr (pname (ps, 1), ==, "layers.0.lora_B");
  g_assert_cmpstr (pname (ps, 2), ==, "layers.0.base.weight");
  g_assert_cmpstr (pname (ps, 3), ==, "layers.0.base.bias");
  g_autoptr (GPtrArray) lin = lf_module_find_all (root, "layers.*", LF_MODULE_LINEAR);
  g_assert_cmpuint (lin->len, ==, 3);     /* the wrapper, its base, layers.1 */

  lf_tape_push (FALSE);
  LfTensor *x = input_new (3, 4, 22);
  double ref[15];
  ref_lowrank (wr, lf_tensor_data (x), 3, ref);
  assert_close (lf_module_forward (wr, x, NULL), ref, 15);
  /* and through the whole tree */
  LfModule *l1 = lf_module_find (root, "layers.1");
  LfReal hr[15];
  for (int i = 0; i < 15; i++)
    hr[i] = (LfReal) ref[i];
  double ref2[9];
  ref_linear (hr, 3, 5, lf_module_param (l1, "weight"), lf_module_param (l1, "bias"), ref2);
  assert_close (lf_module_forward (root, x, NULL), ref2, 9);
  lf_tape_pop ();
  lf_module_free (root);
}

/* ---- a feed-forward replaced by a mixture of two experts --------------------- */

/* y = down(relu(up(x))) */
static LfTensor *
ffn_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  LfTensor *h = lf_relu (lf_module_forward (lf_module_find (m, "up"), x, fwd));
  return lf_module_forward (lf_module_find (m, "down"), h, fwd);
}

static const LfModuleClass ffn_class = {
  .struct_size = sizeof (LfModuleClass),
  .type_name = "test-ffn",
  .forward = ffn_forward,
};

/* g = softmax(router(x)) (N, 2); y = g[:, 0] * expert0(x) + g[:, 1] * expert1(x) */
static LfTensor *
moe_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  LfTensor *g = lf_softmax (lf_module_forward (lf_module_find (m, "router"), x, fwd));
  LfTensor *y0 = lf_module_forward (lf_module_find (m, "experts.0"), x, fwd);
  LfTensor *y1 = lf_module_forward (lf_module_find (m, "experts.1"), x, fwd);
  return lf_add (lf_mul (lf_slice (g, 1, 0, 1), y0), lf_mul (lf_slice (g, 1, 1, 2), y1));
}

static const LfModuleClass moe_class = {
  .struct_size = sizeof (LfModuleClass),
  .type_name = "test-moe",
  .forward = moe_forward,
};

static void
test_replace (void)
{
  const int64_t d = 4;
  LfModule *root = lf_module_new ("", LF_MODULE_CONTAINER, NULL, NULL);
  LfModule *layers = lf_module_new ("layers", LF_MODULE_CONTAINER, NULL, NULL);
  LfModule *block = lf_module_new ("0", LF_MODULE_BLOCK, NULL, NULL);
  LfModule *ffn = lf_module_new ("mlp", LF_MODULE_FEEDFORWARD, &ffn_class, NULL);
  lf_module_add_child (ffn, lf_module_new_linear ("up", d, 8, TRUE));
  lf_module_add_child (ffn, lf_module_new_linear ("down", 8, d, TRUE));
  lf_module_add_child (block, ffn);
  lf_module_add_child (layers, block);
  lf_module_add_child (root, layers);

  LfModule *moe = lf_module_new ("moe", LF_MODULE_FEEDFORWARD, &moe_class, NULL);
  LfModule *router = lf_module_new_linear ("router", d, 2, TRUE);
  LfModule *experts = lf_module_new ("experts", LF_MODULE_CONTAINER, NULL, NULL);
  LfModule *e0 = lf_module_new_linear ("0", d, d, TRUE), *e1 = lf_module_new_linear ("1", d, d, TRUE);
  lf_module_add_child (moe, router);
  lf_module_add_child (moe, experts);
  lf_module_add_child (experts, e0);
  lf_module_add_child (experts, e1);
  g_assert_cmpstr (lf_tensor_name (lf_module_param (e1, "weight")), ==, "moe.experts.1.weight");
  LfModule *lins[3] = { router, e0, e1 };
  for (int i = 0; i < 3; i++)
    {
      fill (lf_module_param (lins[i], "weight"), 40 + (uint64_t) i);
      fill (lf_module_param (lins[i], "bias"), 50 + (uint64_t) i);
    }

  uint64_t v = lf_module_structure_version (root);
  LfModule *old = lf_module_replace (lf_module_find (root, "layers.0.mlp"), moe);
  g_assert_cmpuint (lf_module_structure_version (root), >, v);
  g_assert_true (old == ffn);
  g_assert_null (lf_module_parent (old));
  g_assert_true (lf_module_find (root, "layers.0.mlp") == moe);
  g_assert_cmpstr (lf_module_name (moe), ==, "mlp");
  g_assert_cmpstr (lf_tensor_name (lf_module_param (e1, "weight")), ==, "layers.0.mlp.experts.1.weight");
  g_assert_cmpstr (lf_tensor_name (lf_module_param (router, "bias")), ==, "layers.0.mlp.router.bias");
  /* the old module is detached: named from itself now */
  g_assert_cmpstr (lf_tensor_name (lf_module_param (lf_module_find (old, "up"), "weight")), ==, "mlp.up.weight");
  g_assert_cmpint (lf_module_count_params (root, "*", FALSE), ==, 3 * (d * d + d) - (d * d + d) + (2 * d + 2));
  g_autoptr (GPtrArray) ex = lf_module_params (root, "*.experts.*.weight", FALSE);
  g_assert_cmpuint (ex->len, ==, 2);

  lf_tape_push (FALSE);
  const int64_t n = 3;
  LfTensor *x = input_new (n, d, 23);
  LfTensor *y = lf_module_forward (root, x, NULL);
  double r[6], y0[12], y1[12], ref[12];
  const LfReal *xd = lf_tensor_data (x);
  ref_linear (xd, n, d, lf_module_param (router, "weight"), lf_module_param (router, "bias"), r);
  ref_linear (xd, n, d, lf_module_param (e0, "weight"), lf_module_param (e0, "bias"), y0);
  ref_linear (xd, n, d, lf_module_param (e1, "weight"), lf_module_param (e1, "bias"), y1);
  for (int64_t s = 0; s < n; s++)
    {
      double m = MAX (r[2 * s], r[2 * s + 1]);
      double g0 = exp (r[2 * s] - m), g1 = exp (r[2 * s + 1] - m);
      double z = g0 + g1;
      for (int64_t j = 0; j < d; j++)
        ref[s * d + j] = g0 / z * y0[s * d + j] + g1 / z * y1[s * d + j];
    }
  assert_close (y, ref, n * d);
  lf_tape_pop ();
  lf_module_free (old);
  lf_module_free (root);
}

/* ---- insert after --------------------------------------------------------------- */

/* y = x + up(relu(down(x))): a bottleneck adapter (Houlsby et al.) */
static LfTensor *
adapter_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  LfTensor *h = lf_relu (lf_module_forward (lf_module_find (m, "down"), x, fwd));
  return lf_add (x, lf_module_forward (lf_module_find (m, "up"), h, fwd));
}

static const LfModuleClass adapter_class = {
  .struct_size = sizeof (LfModuleClass),
  .type_name = "test-adapter",
  .forward = adapter_forward,
};

static LfModule *
adapter_new (const char *name, int64_t d, uint64_t seed)
{
  LfModule *a = lf_module_new (name, LF_MODULE_CUSTOM, &adapter_class, NULL);
  LfModule *down = lf_module_new_linear ("down", d, 2, TRUE);
  LfModule *up = lf_module_new_linear ("up", 2, d, TRUE);
  lf_module_add_child (a, down);
  lf_module_add_child (a, up);
  lf_module_init_linear (down, seed);
  lf_module_init_linear (up, seed + 1);
  fill (lf_module_param (up, "bias"), seed + 2);
  return a;
}

static void
ref_adapter (LfModule *a, const double *x, int64_t n, int64_t d, double *y)
{
  LfModule *down = lf_module_find (a, "down"), *up = lf_module_find (a, "up");
  LfReal *xr = g_new (LfReal, n * d);
  for (int64_t i = 0; i < n * d; i++)
    xr[i] = (LfReal) x[i];
  double *h = g_new (double, n * 2);
  ref_linear (xr, n, d, lf_module_param (down, "weight"), lf_module_param (down, "bias"), h);
  LfReal *hr = g_new (LfReal, n * 2);
  for (int64_t i = 0; i < n * 2; i++)
    hr[i] = (LfReal) MAX (h[i], 0.0);
  ref_linear (hr, n, 2, lf_module_param (up, "weight"), lf_module_param (up, "bias"), y);
  for (int64_t i = 0; i < n * d; i++)
    y[i] += xr[i];
  g_free (xr);
  g_free (h);
  g_free (hr);
}

static void
test_insert_after (void)
{
  /* root "" -> layers -> 0 (linear 4->4), 1 (linear 4->3) */
  LfModule *root = lf_module_new ("", LF_MODULE_CONTAINER, NULL, NULL);
  LfModule *layers = lf_module_new ("layers", LF_MODULE_CONTAINER, NULL, NULL);
  lf_module_add_child (root, layers);
  LfModule *l0 = lf_module_new_linear ("0", 4, 4, TRUE), *l1 = lf_module_new_linear ("1", 4, 3, FALSE);
  lf_module_add_child (layers, l0);
  lf_module_add_child (layers, l1);
  lf_module_init_linear (l0, 61);
  lf_module_init_linear (l1, 62);

  LfModule *ad = adapter_new ("adapter", 4, 70);
  uint64_t v = lf_module_structure_version (root);
  lf_module_insert_after (l0, ad);
  g_assert_cmpuint (lf_module_structure_version (root), >, v);
  g_assert_true (lf_module_parent (ad) == layers);
  g_assert_true (lf_module_child (layers, 1) == ad);      /* tree order is run order */
  g_assert_cmpstr (lf_tensor_name (lf_module_param (lf_module_find (ad, "down"), "weight")), ==,
                   "layers.adapter.down.weight");

  lf_tape_push (FALSE);
  const int64_t n = 2;
  LfTensor *x = input_new (n, 4, 24);
  double b[8], ref[8];
  ref_linear (lf_tensor_data (x), n, 4, lf_module_param (l0, "weight"), lf_module_param (l0, "bias"), b);
  ref_adapter (ad, b, n, 4, ref);
  /* the target's forward runs the adapter: y = adapter(block(x)) */
  assert_close (lf_module_forward (l0, x, NULL), ref, n * 4);
  /* the container runs it once, through its target */
  LfReal rr[8];
  for (int i = 0; i < 8; i++)
    rr[i] = (LfReal) ref[i];
  double ref2[6];
  ref_linear (rr, n, 4, lf_module_param (l1, "weight"), NULL, ref2);
  assert_close (lf_module_forward (root, x, NULL), ref2, n * 3);

  /* a second adapter runs after the first */
  LfModule *ad2 = adapter_new ("adapter2", 4, 80);
  lf_module_insert_after (l0, ad2);
  g_assert_true (lf_module_child (layers, 2) == ad2);
  double ref3[8];
  ref_adapter (ad2, ref, n, 4, ref3);
  assert_close (lf_module_forward (l0, x, NULL), ref3, n * 4);

  /* wrapping the target keeps the adapters after it (now after the wrapper) */
  LfModule *wr = lowrank_wrap (l0, 1, 90);
  double w[8], ref4[8], ref5[8];
  ref_lowrank (wr, lf_tensor_data (x), n, w);
  ref_adapter (ad, w, n, 4, ref4);
  ref_adapter (ad2, ref4, n, 4, ref5);
  assert_close (lf_module_forward (wr, x, NULL), ref5, n * 4);
  /* the base alone runs no adapter */
  ref_linear (lf_tensor_data (x), n, 4, lf_module_param (l0, "weight"), lf_module_param (l0, "bias"), b);
  assert_close (lf_module_forward (l0, x, NULL), b, n * 4);

  /* detaching the first adapter leaves the second one */
  v = lf_module_structure_version (root);
  lf_module_detach (ad);
  g_assert_cmpuint (lf_module_structure_version (root), >, v);
  g_assert_null (lf_module_parent (ad));
  g_assert_cmpstr (lf_tensor_name (lf_module_param (lf_module_find (ad, "down"), "weight")), ==,
                   "adapter.down.weight");
  ref_adapter (ad2, w, n, 4, ref4);
  assert_close (lf_module_forward (wr, x, NULL), ref4, n * 4);
  lf_tape_pop ();
  lf_module_free (ad);
  lf_module_free (root);
}

/* ---- hooks ------------------------------------------------------------------------ */

typedef struct {
  GString *log;
  char     tag;
  double   scale;
  int     *destroyed;
  guint    id;            /* its own id, for a hook that removes itself */
} HookData;

static HookData *
hook_data_new (GString *log, char tag, double scale, int *destroyed)
{
  HookData *h = g_new0 (HookData, 1);
  h->log = log;
  h->tag = tag;
  h->scale = scale;
  h->destroyed = destroyed;
  return h;
}

static void
hook_data_free (void *p)
{
  HookData *h = p;
  (*h->destroyed)++;
  g_free (h);
}

static LfTensor *
scale_pre (LfModule *m, LfTensor *x, LfForward *fwd, void *user)
{
  (void) m; (void) fwd;
  HookData *h = user;
  g_string_append_c (h->log, h->tag);
  return h->scale == 1.0 ? x : lf_scale (x, h->scale);
}

static LfTensor *
scale_post (LfModule *m, LfTensor *x, LfTensor *y, LfForward *fwd, void *user)
{
  (void) m; (void) x; (void) fwd;
  HookData *h = user;
  g_string_append_c (h->log, h->tag);
  return h->scale == 1.0 ? y : lf_scale (y, h->scale);
}

static LfTensor *
once_post (LfModule *m, LfTensor *x, LfTensor *y, LfForward *fwd, void *user)
{
  HookData *h = user;
  LfTensor *r = scale_post (m, x, y, fwd, user);
  lf_module_remove_hook (m, h->id);
  return r;
}

/* records that the training flag and key reached the hook */
static LfTensor *
fwd_pre (LfModule *m, LfTensor *x, LfForward *fwd, void *user)
{
  (void) m;
  HookData *h = user;
  g_assert_nonnull (fwd);
  g_assert_cmpuint (fwd->struct_size, >=, sizeof (LfForward));
  g_string_append_printf (h->log, "%d:%" G_GUINT64_FORMAT, fwd->training, fwd->rng_key);
  return x;
}

static void
test_hooks (void)
{
  LfModule *lin = lf_module_new_linear ("lin", 3, 2, TRUE);
  lf_module_init_linear (lin, 5);
  fill (lf_module_param (lin, "bias"), 6);
  GString *log = g_string_new (NULL);
  int destroyed = 0;
  lf_tape_push (FALSE);
  LfTensor *x = input_new (2, 3, 25);
  double base[4];
  ref_linear (lf_tensor_data (x), 2, 3, lf_module_param (lin, "weight"), lf_module_param (lin, "bias"), base);

  /* pre-hooks scale the input: y = W (3 * 2 x) + b; post-hooks scale the
   * output: y' = 0.5 * (-1 * y) */
  guint pa = lf_module_add_pre_hook (lin, scale_pre, hook_data_new (log, 'a', 2.0, &destroyed), hook_data_free);
  guint qc = lf_module_add_post_hook (lin, scale_post, hook_data_new (log, 'c', -1.0, &destroyed), hook_data_free);
  guint pb = lf_module_add_pre_hook (lin, scale_pre, hook_data_new (log, 'b', 3.0, &destroyed), hook_data_free);
  guint qd = lf_module_add_post_hook (lin, scale_post, hook_data_new (log, 'd', 0.5, &destroyed), hook_data_free);
  g_assert_cmpuint (pa, !=, 0);
  g_assert_cmpuint (pa, !=, pb);
  g_assert_cmpuint (qc, !=, qd);
  uint64_t v = lf_module_structure_version (lin);
  LfTensor *y = lf_module_forward (lin, x, NULL);
  g_assert_cmpstr (log->str, ==, "abcd");
  g_assert_cmpuint (lf_module_structure_version (lin), ==, v);   /* hooks are not structure */
  LfTensor *xs = lf_scale (x, 6.0);
  double ref[4];
  ref_linear (lf_tensor_data (xs), 2, 3, lf_module_param (lin, "weight"), lf_module_param (lin, "bias"), ref);
  for (int i = 0; i < 4; i++)
    ref[i] *= -0.5;
  assert_close (y, ref, 4);

  /* removal by id, the destroy notify runs at once */
  lf_module_remove_hook (lin, pa);
  lf_module_remove_hook (lin, qc);
  g_assert_cmpint (destroyed, ==, 2);
  g_string_truncate (log, 0);
  y = lf_module_forward (lin, x, NULL);
  g_assert_cmpstr (log->str, ==, "bd");
  xs = lf_scale (x, 3.0);
  ref_linear (lf_tensor_data (xs), 2, 3, lf_module_param (lin, "weight"), lf_module_param (lin, "bias"), ref);
  for (int i = 0; i < 4; i++)
    ref[i] *= 0.5;
  assert_close (y, ref, 4);
  lf_module_remove_hook (lin, pb);
  lf_module_remove_hook (lin, qd);
  g_assert_cmpint (destroyed, ==, 4);

  /* a hook that removes itself runs once; its data is freed when the
   * forward returns */
  HookData *once = hook_data_new (log, 'o', 10.0, &destroyed);
  once->id = lf_module_add_post_hook (lin, once_post, once, hook_data_free);
  guint qp = lf_module_add_post_hook (lin, scale_post, hook_data_new (log, 'p', 1.0, &destroyed), hook_data_free);
  guint qq = lf_module_add_post_hook (lin, scale_post, hook_data_new (log, 'q', 1.0, &destroyed), hook_data_free);
  g_string_truncate (log, 0);
  y = lf_module_forward (lin, x, NULL);
  g_assert_cmpstr (log->str, ==, "opq");       /* the later hooks run once each */
  g_assert_cmpint (destroyed, ==, 5);
  for (int i = 0; i < 4; i++)
    ref[i] = 10.0 * base[i];
  assert_close (y, ref, 4);
  y = lf_module_forward (lin, x, NULL);
  g_assert_cmpstr (log->str, ==, "opqpq");
  assert_close (y, base, 4);
  lf_module_remove_hook (lin, qp);
  lf_module_remove_hook (lin, qq);
  g_assert_cmpint (destroyed, ==, 7);

  /* the LfForward reaches hooks; NULL means an evaluation default */
  lf_module_add_pre_hook (lin, fwd_pre, hook_data_new (log, 'f', 1.0, &destroyed), hook_data_free);
  g_string_truncate (log, 0);
  LfForward fwd = { .struct_size = sizeof fwd, .training = TRUE, .rng_key = 77 };
  lf_module_forward (lin, x, &fwd);
  lf_module_forward (lin, x, NULL);
  g_assert_cmpstr (log->str, ==, "1:770:0");
  lf_tape_pop ();

  /* freeing the module runs the remaining destroy notifies */
  lf_module_free (lin);
  g_assert_cmpint (destroyed, ==, 8);
  g_string_free (log, TRUE);
}

/* ---- slots ------------------------------------------------------------------------ */

/* x: (T, d) -> [prefix; x]: (P + T, d) when the "prefix" slot is set. */
static LfTensor *
prefix_attn_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  (void) fwd;
  LfTensor *prefix = lf_module_get_slot (m, "prefix");
  if (prefix == NULL)
    return x;
  LfTensor *parts[2] = { prefix, x };
  return lf_concat (parts, 2, 0);
}

static const LfModuleClass prefix_attn_class = {
  .struct_size = sizeof (LfModuleClass),
  .type_name = "test-prefix-attention",
  .forward = prefix_attn_forward,
};

static LfTensor *
pass_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  return lf_module_forward (lf_module_child (m, 0), x, fwd);
}

static const LfModuleClass pass_class = {
  .struct_size = sizeof (LfModuleClass),
  .type_name = "test-pass",
  .forward = pass_forward,
};

static void
test_slots (void)
{
  LfModule *root = lf_module_new ("", LF_MODULE_CONTAINER, NULL, NULL);
  LfModule *attn = lf_module_new ("self_attn", LF_MODULE_ATTENTION, &prefix_attn_class, NULL);
  lf_module_add_child (root, attn);
  const int64_t sp[2] = { 2, 3 };
  g_autoptr (LfTensor) prefix = lf_param_new ("prefix", 2, sp);
  fill (prefix, 26);

  lf_tape_push (FALSE);
  LfTensor *x = input_new (4, 3, 27);
  g_assert_null (lf_module_get_slot (attn, "prefix"));
  g_assert_true (lf_module_forward (root, x, NULL) == x);
  uint64_t v = lf_module_structure_version (root);
  lf_module_set_slot (attn, "prefix", prefix);
  g_assert_cmpuint (lf_module_structure_version (root), ==, v);
  g_assert_true (lf_module_get_slot (attn, "prefix") == prefix);
  g_assert_null (lf_module_get_slot (attn, "prefix_key"));
  LfTensor *y = lf_module_forward (root, x, NULL);
  g_assert_cmpint (lf_tensor_dim (y, 0), ==, 6);
  g_assert_cmpint (lf_tensor_dim (y, 1), ==, 3);
  g_assert_cmpmem (lf_tensor_data (y), 6 * sizeof (LfReal), lf_tensor_data (prefix), 6 * sizeof (LfReal));
  g_assert_cmpmem (lf_tensor_data (y) + 6, 12 * sizeof (LfReal), lf_tensor_data (x), 12 * sizeof (LfReal));
  /* slots are borrowed: not parameters of the module */
  g_assert_cmpint (lf_module_count_params (root, "*", FALSE), ==, 0);
  lf_module_set_slot (attn, "prefix", NULL);
  g_assert_null (lf_module_get_slot (attn, "prefix"));
  g_assert_true (lf_module_forward (root, x, NULL) == x);

  /* once wrapped, a slot set on the wrapper (what find returns) reaches the
   * attention's own forward */
  LfModule *wr = lf_module_wrap (attn, &pass_class, NULL, LF_MODULE_ATTENTION);
  g_assert_true (lf_module_find (root, "self_attn") == wr);
  lf_module_set_slot (wr, "prefix", prefix);
  g_assert_true (lf_module_get_slot (attn, "prefix") == prefix);
  y = lf_module_forward (root, x, NULL);
  g_assert_cmpint (lf_tensor_dim (y, 0), ==, 6);
  lf_tape_pop ();
  lf_module_free (root);
}

/* ---- detaching and freeing ------------------------------------------------------- */

static void
count_destroy (void *state)
{
  (*(int *) state)++;
}

static const LfModuleClass counted_class = {
  .struct_size = sizeof (LfModuleClass),
  .type_name = "test-counted",
  .forward = pass_forward,
  .destroy_state = count_destroy,
};

static LfTensor *
noop_pre (LfModule *m, LfTensor *x, LfForward *fwd, void *user)
{
  (void) m; (void) fwd; (void) user;
  return x;
}

static void
test_detach_free (void)
{
  int freed_state = 0, freed_hooks = 0;
  LfModule *root = mlp_new ();
  LfModule *enc = lf_module_new ("encoder", LF_MODULE_CONTAINER, NULL, NULL);
  LfModule *block = lf_module_new ("block", LF_MODULE_BLOCK, &counted_class, &freed_state);
  LfModule *proj = lf_module_new_linear ("proj", 3, 3, TRUE);
  lf_module_add_child (block, proj);
  lf_module_add_child (enc, block);
  lf_module_add_child (root, enc);
  lf_module_add_buffer (block, "running_mean", 1, (const int64_t[]) { 3 });
  lf_module_add_pre_hook (block, noop_pre, hook_data_new (NULL, 'h', 1.0, &freed_hooks), hook_data_free);
  g_autoptr (LfTensor) slot = lf_param_new ("s", 1, (const int64_t[]) { 3 });
  lf_module_set_slot (block, "prompt", slot);
  LfModule *ad = adapter_new ("adapter", 3, 100);
  lf_module_insert_after (block, ad);
  g_assert_cmpstr (lf_tensor_name (lf_module_buffer (block, "running_mean")), ==, "encoder.block.running_mean");

  uint64_t v = lf_module_structure_version (root);
  lf_module_detach (enc);
  g_assert_cmpuint (lf_module_structure_version (root), >, v);
  g_assert_null (lf_module_find (root, "encoder"));
  g_assert_null (lf_module_parent (enc));
  g_assert_cmpstr (lf_tensor_name (lf_module_param (proj, "weight")), ==, "encoder.block.proj.weight");
  g_assert_cmpint (lf_module_count_params (root, "*", FALSE), ==, 20 + 5 + 15 + 3);
  lf_module_detach (enc);                 /* already detached: nothing happens */

  /* detaching a target: what ran after it becomes an ordinary child, which
   * the container now runs in order */
  lf_module_detach (block);
  g_assert_cmpstr (lf_tensor_name (lf_module_param (proj, "bias")), ==, "block.proj.bias");
  g_assert_cmpstr (lf_tensor_name (lf_module_buffer (block, "running_mean")), ==, "block.running_mean");
  g_assert_true (lf_module_child (enc, 0) == ad);
  lf_tape_push (FALSE);
  LfTensor *x = input_new (2, 3, 28);
  double ref[6];
  double xd[6];
  for (int i = 0; i < 6; i++)
    xd[i] = lf_tensor_data (x)[i];
  ref_adapter (ad, xd, 2, 3, ref);
  assert_close (lf_module_forward (enc, x, NULL), ref, 6);
  lf_tape_pop ();

  lf_module_free (block);
  g_assert_cmpint (freed_state, ==, 1);
  g_assert_cmpint (freed_hooks, ==, 1);
  lf_module_free (enc);
  lf_module_free (root);
  lf_module_free (NULL);
}

static void
test_version (void)
{
  LfModule *root = lf_module_new ("", LF_MODULE_CONTAINER, NULL, NULL);
  uint64_t v = lf_module_structure_version (root);
#define BUMPED()                                                         \
  do {                                                                   \
    uint64_t nv = lf_module_structure_version (root);                    \
    g_assert_cmpuint (nv, >, v);                                         \
    v = nv;                                                              \
  } while (0)
  LfModule *layers = lf_module_new ("layers", LF_MODULE_CONTAINER, NULL, NULL);
  lf_module_add_child (root, layers);
  BUMPED ();
  LfModule *l0 = lf_module_new_linear ("0", 2, 2, FALSE);
  lf_module_add_child (layers, l0);
  BUMPED ();
  lf_module_add_param (l0, "bias", 1, (const int64_t[]) { 2 });        /* deep below the root */
  BUMPED ();
  lf_module_add_buffer (l0, "mask", 1, (const int64_t[]) { 2 });
  BUMPED ();
  LfModule *wr = lf_module_wrap (l0, &pass_class, NULL, LF_MODULE_LINEAR);
  BUMPED ();
  /* the version is the root's, asked from anywhere */
  g_assert_cmpuint (lf_module_structure_version (l0), ==, v);
  lf_module_insert_after (wr, lf_module_new_linear ("after", 2, 2, FALSE));
  BUMPED ();
  LfModule *old = lf_module_replace (wr, lf_module_new_linear ("new", 2, 2, FALSE));
  BUMPED ();
  lf_module_freeze (root, "*", TRUE);
  BUMPED ();
  lf_module_freeze (root, "*", FALSE);
  BUMPED ();
  LfModule *after = lf_module_find (root, "layers.after");
  g_assert_nonnull (after);
  lf_module_detach (after);
  BUMPED ();
  /* reading changes nothing */
  g_autoptr (GPtrArray) ps = lf_module_params (root, "*", TRUE);
  g_autoptr (GPtrArray) ms = lf_module_find_all (root, "*", -1);
  g_assert_cmpuint (ps->len, ==, 1);              /* the replacement's weight */
  g_assert_cmpstr (pname (ps, 0), ==, "layers.0.weight");
  g_assert_cmpuint (ms->len, ==, 3);              /* root, layers, layers.0 */
  g_assert_cmpuint (lf_module_structure_version (root), ==, v);
#undef BUMPED
  lf_module_free (after);
  lf_module_free (old);
  lf_module_free (root);
}

/* ---- gradients and the optimizer through a wrapped, frozen base -------------------- */

static void
test_wrap_backward (void)
{
  LfModule *root = mlp_new ();
  LfModule *l0 = lf_module_find (root, "layers.0");
  LfModule *wr = lowrank_wrap (l0, 2, 32);
  g_assert_cmpint (lf_module_freeze (root, "*.base.*", TRUE), ==, 2);
  g_autoptr (GPtrArray) tr = lf_module_params (root, "*", TRUE);
  g_assert_cmpuint (tr->len, ==, 4);
  g_assert_cmpstr (pname (tr, 0), ==, "layers.0.lora_A");
  g_assert_cmpstr (pname (tr, 1), ==, "layers.0.lora_B");

  const int64_t n = 3;
  lf_tape_push (TRUE);
  LfTensor *x = input_new (n, 4, 29);
  lf_backward (lf_sum (lf_module_forward (wr, x, NULL)));
  lf_tape_pop ();
  g_assert_null (lf_tensor_grad (lf_module_param (l0, "weight")));
  g_assert_null (lf_tensor_grad (lf_module_param (l0, "bias")));
  LfTensor *a = lf_module_param (wr, "lora_A"), *b = lf_module_param (wr, "lora_B");
  g_assert_nonnull (lf_tensor_grad (a));
  g_assert_nonnull (lf_tensor_grad (b));
  /* loss = sum(y): dB[o][j] = sum_s h[s][j], dA[j][i] = sum_o B[o][j] * sum_s x[s][i] */
  const LfReal *xd = lf_tensor_data (x), *ad = lf_tensor_data (a), *bd = lf_tensor_data (b);
  for (int64_t j = 0; j < 2; j++)
    {
      double hs = 0, bs = 0;
      for (int64_t s = 0; s < n; s++)
        for (int64_t i = 0; i < 4; i++)
          hs += (double) xd[s * 4 + i] * ad[j * 4 + i];
      for (int64_t o = 0; o < 5; o++)
        {
          g_assert_cmpfloat_with_epsilon (lf_tensor_grad (b)[o * 2 + j], hs, 1e-5);
          bs += bd[o * 2 + j];
        }
      for (int64_t i = 0; i < 4; i++)
        {
          double xs = 0;
          for (int64_t s = 0; s < n; s++)
            xs += xd[s * 4 + i];
          g_assert_cmpfloat_with_epsilon (lf_tensor_grad (a)[j * 4 + i], bs * xs, 1e-5);
        }
    }
  lf_module_free (root);
}

static void
test_wrap_optimizer (void)
{
  LfModule *root = mlp_new ();
  LfOptimConfig cfg;
  lf_optim_config_init (&cfg, LF_OPTIM_ADAMW);
  cfg.lr = 0.05;
  cfg.weight_decay = 0.1;
  g_autoptr (LfOptimizer) opt = lf_optimizer_new (&cfg);
  {
    g_autoptr (GPtrArray) ps = lf_module_params (root, "*", TRUE);
    lf_optimizer_set_params (opt, (int) ps->len, (LfTensor *const *) ps->pdata);
  }
  g_assert_cmpint (lf_optimizer_n_params (opt), ==, 4);

  /* a plugin wraps layers.0 and freezes the original */
  LfModule *l0 = lf_module_find (root, "layers.0");
  uint64_t v = lf_module_structure_version (root);
  LfModule *wr = lowrank_wrap (l0, 2, 33);
  lf_module_freeze (root, "layers.0.base.*", TRUE);
  /* the host sees the version move and re-reads the list */
  g_assert_cmpuint (lf_module_structure_version (root), >, v);
  {
    g_autoptr (GPtrArray) ps = lf_module_params (root, "*", TRUE);
    lf_optimizer_set_params (opt, (int) ps->len, (LfTensor *const *) ps->pdata);
  }
  g_assert_cmpint (lf_optimizer_n_params (opt), ==, 4);

  LfTensor *w0 = lf_module_param (l0, "weight"), *b0 = lf_module_param (l0, "bias");
  LfTensor *a = lf_module_param (wr, "lora_A"), *b = lf_module_param (wr, "lora_B");
  LfTensor *w1 = lf_module_param (lf_module_find (root, "layers.1"), "weight");
  g_autofree LfReal *w0_before = g_memdup2 (lf_tensor_data (w0), 20 * sizeof (LfReal));
  g_autofree LfReal *b0_before = g_memdup2 (lf_tensor_data (b0), 5 * sizeof (LfReal));
  g_autofree LfReal *a_before = g_memdup2 (lf_tensor_data (a), 8 * sizeof (LfReal));
  g_autofree LfReal *b_before = g_memdup2 (lf_tensor_data (b), 10 * sizeof (LfReal));
  g_autofree LfReal *w1_before = g_memdup2 (lf_tensor_data (w1), 15 * sizeof (LfReal));

  const int32_t labels[4] = { 0, 2, 1, 2 };
  for (int step = 0; step < 3; step++)
    {
      if (step == 2)
        {
          /* even handed every parameter, the optimizer never moves a frozen one */
          g_autoptr (GPtrArray) ps = lf_module_params (root, "*", FALSE);
          lf_optimizer_set_params (opt, (int) ps->len, (LfTensor *const *) ps->pdata);
          g_assert_cmpint (lf_optimizer_n_params (opt), ==, 6);
        }
      lf_optimizer_zero_grad (opt);
      lf_tape_push (TRUE);
      LfTensor *x = input_new (4, 4, 30 + (uint64_t) step);
      lf_backward (lf_cross_entropy (lf_module_forward (root, x, NULL), labels, NULL));
      lf_tape_pop ();
      lf_optimizer_step (opt);
    }
  g_assert_cmpmem (lf_tensor_data (w0), 20 * sizeof (LfReal), w0_before, 20 * sizeof (LfReal));
  g_assert_cmpmem (lf_tensor_data (b0), 5 * sizeof (LfReal), b0_before, 5 * sizeof (LfReal));
  g_assert_true (memcmp (lf_tensor_data (a), a_before, 8 * sizeof (LfReal)) != 0);
  g_assert_true (memcmp (lf_tensor_data (b), b_before, 10 * sizeof (LfReal)) != 0);
  g_assert_true (memcmp (lf_tensor_data (w1), w1_before, 15 * sizeof (LfReal)) != 0);
  lf_module_free (root);
}

/* ---- misuse --------------------------------------------------------------------------- */

static void
test_misuse (void)
{
  LfModule *root = mlp_new ();
  LfModule *layers = lf_module_find (root, "layers");

  /* a second child with a taken name is refused (and stays the caller's) */
  LfModule *dup = lf_module_new_linear ("0", 2, 2, FALSE);
  g_test_expect_message (NULL, G_LOG_LEVEL_CRITICAL, "*child_by_name*");
  lf_module_add_child (layers, dup);
  g_test_assert_expected_messages ();
  g_assert_null (lf_module_parent (dup));
  lf_module_free (dup);

  g_test_expect_message (NULL, G_LOG_LEVEL_CRITICAL, "*child->parent == NULL*");
  lf_module_add_child (root, lf_module_find (root, "layers.1"));
  g_test_assert_expected_messages ();

  g_test_expect_message (NULL, G_LOG_LEVEL_CRITICAL, "*strchr*");
  g_assert_null (lf_module_new ("a.b", LF_MODULE_CUSTOM, NULL, NULL));
  g_test_assert_expected_messages ();

  g_test_expect_message (NULL, G_LOG_LEVEL_CRITICAL, "*named_lookup*");
  g_assert_null (lf_module_add_param (lf_module_find (root, "layers.0"), "weight", 1, (const int64_t[]) { 1 }));
  g_test_assert_expected_messages ();

  g_test_expect_message (NULL, G_LOG_LEVEL_CRITICAL, "*parent != NULL*");
  g_assert_null (lf_module_wrap (root, &pass_class, NULL, LF_MODULE_CUSTOM));
  g_test_assert_expected_messages ();

  g_test_expect_message (NULL, G_LOG_LEVEL_CRITICAL, "*parent == NULL*");
  lf_module_free (layers);
  g_test_assert_expected_messages ();

  lf_module_free (root);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/module/kind-names", test_kind_names);
  g_test_add_func ("/module/names", test_names);
  g_test_add_func ("/module/find", test_find);
  g_test_add_func ("/module/freeze", test_freeze);
  g_test_add_func ("/module/forward/container", test_container_forward);
  g_test_add_func ("/module/linear/init", test_linear_init);
  g_test_add_func ("/module/wrap", test_wrap);
  g_test_add_func ("/module/replace", test_replace);
  g_test_add_func ("/module/insert-after", test_insert_after);
  g_test_add_func ("/module/hooks", test_hooks);
  g_test_add_func ("/module/slots", test_slots);
  g_test_add_func ("/module/detach-free", test_detach_free);
  g_test_add_func ("/module/version", test_version);
  g_test_add_func ("/module/wrap/backward", test_wrap_backward);
  g_test_add_func ("/module/wrap/optimizer", test_wrap_optimizer);
  g_test_add_func ("/module/misuse", test_misuse);
  return g_test_run ();
}
