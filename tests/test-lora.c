/* lifelong tests — LoRA: wrapping keeps the tree's names and the output, a
 * fresh adapter changes nothing (B = 0), a trained one adds (alpha/r) B A x
 * exactly as computed by hand, merging folds it into the base weight, a
 * step with the base frozen moves only A and B, a second adapter trains
 * with the first frozen, and dropout is keyed and only on in training. */
#include "tensor-private.h"
#include <math.h>

enum { IN = 5, OUT = 4, ROWS = 3 };

/* root "" -> model.layers.0.self_attn.q_proj (linear 5 -> 4, bias) */
typedef struct {
  LfModule *root, *q;
  LfReal    x[ROWS * IN];
} Net;

static void
net_init (Net *n)
{
  n->root = lf_module_new ("", LF_MODULE_CONTAINER, NULL, NULL);
  LfModule *at = n->root;
  static const char *const path[] = { "model", "layers", "0", "self_attn" };
  for (guint i = 0; i < G_N_ELEMENTS (path); i++)
    {
      LfModule *c = lf_module_new (path[i], LF_MODULE_CONTAINER, NULL, NULL);
      lf_module_add_child (at, c);
      at = c;
    }
  n->q = lf_module_new_linear ("q_proj", IN, OUT, TRUE);
  lf_module_add_child (at, n->q);
  lf_module_init_linear (n->q, 42);
  for (int i = 0; i < ROWS * IN; i++)
    n->x[i] = (LfReal) (2 * lf_rng_uniform_at (43, (uint64_t) i) - 1);
}

static LfLoraConfig
config (int64_t rank, double alpha, double dropout, uint64_t key)
{
  LfLoraConfig c = { .struct_size = sizeof (LfLoraConfig), .rank = rank, .alpha = alpha,
                     .dropout = dropout, .rng_key = key };
  return c;
}

/* out (ROWS x OUT) = module (x), evaluated (or training with key) */
static void
run (LfModule *m, const LfReal *x, gboolean training, uint64_t key, LfReal *out)
{
  LfForward fwd = { .struct_size = sizeof (LfForward), .training = training, .rng_key = key };
  lf_tape_push (FALSE);
  LfTensor *xt = lf_tensor_from_data (2, (int64_t[]) { ROWS, IN }, x);
  LfTensor *y = lf_module_forward (m, xt, &fwd);
  g_assert_cmpint (lf_tensor_dim (y, 0), ==, ROWS);
  g_assert_cmpint (lf_tensor_dim (y, 1), ==, OUT);
  memcpy (out, lf_tensor_data (y), ROWS * OUT * sizeof (LfReal));
  lf_tape_pop ();
}

/* y = x W^T + b + sum_j s_j (x A_j^T) B_j^T, in double */
static void
by_hand (LfModule *wrapper, const LfReal *x, double *y)
{
  LfModule *base = lf_lora_base (wrapper);
  const LfReal *w = lf_tensor_data (lf_module_param (base, "weight"));
  const LfReal *b = lf_tensor_data (lf_module_param (base, "bias"));
  for (int r = 0; r < ROWS; r++)
    for (int o = 0; o < OUT; o++)
      {
        double s = b[o];
        for (int i = 0; i < IN; i++)
          s += (double) x[r * IN + i] * w[o * IN + i];
        y[r * OUT + o] = s;
      }
  for (int j = 0; j < lf_lora_n (wrapper); j++)
    {
      LfTensor *A = lf_lora_A (wrapper, j), *B = lf_lora_B (wrapper, j);
      const int64_t rank = lf_tensor_dim (A, 0);
      /* the scale is alpha / r; the adapters here use alpha = 2 r */
      const double scale = 2.0;
      for (int r = 0; r < ROWS; r++)
        for (int o = 0; o < OUT; o++)
          {
            double s = 0;
            for (int64_t k = 0; k < rank; k++)
              {
                double ax = 0;
                for (int i = 0; i < IN; i++)
                  ax += (double) lf_tensor_data (A)[k * IN + i] * x[r * IN + i];
                s += (double) lf_tensor_data (B)[o * rank + k] * ax;
              }
            y[r * OUT + o] += scale * s;
          }
    }
}

static void
assert_near (const LfReal *got, const double *want, int n, double tol)
{
  for (int i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (got[i], want[i], tol * fmax (1, fabs (want[i])));
}

static void
fill_B (LfModule *wrapper, int j, uint64_t seed)
{
  LfTensor *B = lf_lora_B (wrapper, j);
  for (int64_t k = 0; k < lf_tensor_numel (B); k++)
    lf_tensor_data (B)[k] = (LfReal) (lf_rng_uniform_at (seed, (uint64_t) k) - 0.5);
}

/* ---- tests ------------------------------------------------------------------ */

static void
test_wrap (void)
{
  Net n;
  net_init (&n);
  LfReal y0[ROWS * OUT], y1[ROWS * OUT];
  run (n.q, n.x, FALSE, 0, y0);
  g_autoptr (GError) error = NULL;
  LfModule *w = lf_lora_wrap (n.q, &error);
  g_assert_no_error (error);
  g_assert_nonnull (w);
  g_assert_true (lf_lora_is_wrapper (w));
  g_assert_false (lf_lora_is_wrapper (n.q));
  g_assert_cmpint (lf_module_kind (w), ==, LF_MODULE_LINEAR);
  g_assert_cmpstr (lf_module_class (w)->type_name, ==, "lora-linear");
  g_assert_true (lf_module_find (n.root, "model.layers.0.self_attn.q_proj") == w);
  g_assert_true (lf_lora_base (w) == n.q);
  g_assert_cmpstr (lf_tensor_name (lf_module_param (n.q, "weight")), ==,
                   "model.layers.0.self_attn.q_proj.base.weight");
  g_assert_cmpint (lf_lora_n (w), ==, 0);
  /* no adapter yet: the same output, bit for bit */
  run (w, n.x, FALSE, 0, y1);
  g_assert_cmpmem (y0, sizeof y0, y1, sizeof y1);
  /* wrapping again (the wrapper or its base) gives the same wrapper */
  g_assert_true (lf_lora_wrap (w, NULL) == w);
  g_assert_true (lf_lora_wrap (n.q, NULL) == w);
  /* not a linear, or the root: an error naming the module */
  LfModule *attn = lf_module_find (n.root, "model.layers.0.self_attn");
  g_assert_null (lf_lora_wrap (attn, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "model.layers.0.self_attn"));
  g_clear_error (&error);
  LfModule *lone = lf_module_new_linear ("lone", 2, 2, FALSE);
  g_assert_null (lf_lora_wrap (lone, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  lf_module_free (lone);
  lf_module_free (n.root);
}

static void
test_fresh_unchanged (void)
{
  Net n;
  net_init (&n);
  LfReal y0[ROWS * OUT], y1[ROWS * OUT], y2[ROWS * OUT];
  run (n.q, n.x, FALSE, 0, y0);
  LfModule *w = lf_lora_wrap (n.q, NULL);
  LfLoraConfig cfg = config (2, 4.0, 0.1, 7);
  g_assert_cmpint (lf_lora_add (w, &cfg), ==, 0);
  g_assert_cmpint (lf_lora_n (w), ==, 1);
  /* the names, shapes and initial values */
  LfTensor *A = lf_lora_A (w, 0), *B = lf_lora_B (w, 0);
  g_assert_cmpstr (lf_tensor_name (A), ==, "model.layers.0.self_attn.q_proj.lora0.A.weight");
  g_assert_cmpstr (lf_tensor_name (B), ==, "model.layers.0.self_attn.q_proj.lora0.B.weight");
  g_assert_cmpint (lf_tensor_dim (A, 0), ==, 2);
  g_assert_cmpint (lf_tensor_dim (A, 1), ==, IN);
  g_assert_cmpint (lf_tensor_dim (B, 0), ==, OUT);
  g_assert_cmpint (lf_tensor_dim (B, 1), ==, 2);
  g_assert_true (lf_module_kind (lf_module_find (w, "lora0.A")) == LF_MODULE_LINEAR);
  g_assert_null (lf_module_param (lf_module_find (w, "lora0.A"), "bias"));
  g_assert_true (lf_module_find (n.root, "model.layers.0.self_attn.q_proj.lora0.B") != NULL);
  double bound = 1 / sqrt ((double) IN), sum_abs = 0;
  for (int64_t k = 0; k < lf_tensor_numel (A); k++)
    {
      g_assert_cmpfloat (fabs (lf_tensor_data (A)[k]), <=, bound);
      sum_abs += fabs (lf_tensor_data (A)[k]);
    }
  for (int64_t k = 0; k < lf_tensor_numel (B); k++)
    g_assert_cmpfloat (lf_tensor_data (B)[k], ==, 0);
  g_assert_cmpfloat (sum_abs, >, 0.1 * bound * (double) lf_tensor_numel (A));
  g_assert_true (lf_tensor_requires_grad (A));
  /* B = 0: the output is unchanged, in evaluation and in training (dropout
   * only feeds the adapter) */
  run (w, n.x, FALSE, 0, y1);
  g_assert_cmpmem (y0, sizeof y0, y1, sizeof y1);
  run (w, n.x, TRUE, 3, y2);
  g_assert_cmpmem (y0, sizeof y0, y2, sizeof y2);
  /* parameter listing: base weight and bias, then A and B */
  g_autoptr (GPtrArray) ps = lf_module_params (n.root, "*.lora0.*", FALSE);
  g_assert_cmpuint (ps->len, ==, 2);
  g_assert_cmpint (lf_module_count_params (n.root, "*", FALSE), ==, OUT * IN + OUT + 2 * IN + OUT * 2);
  lf_module_free (n.root);
}

static void
test_by_hand (void)
{
  Net n;
  net_init (&n);
  LfModule *w = lf_lora_wrap (n.q, NULL);
  LfLoraConfig cfg = config (3, 6.0, 0.0, 9);     /* alpha / r = 2 */
  lf_lora_add (w, &cfg);
  fill_B (w, 0, 11);
  LfReal y[ROWS * OUT];
  double want[ROWS * OUT];
  run (w, n.x, FALSE, 0, y);
  by_hand (w, n.x, want);
  assert_near (y, want, ROWS * OUT, 1e-5);
  /* dropout 0 in training: the same */
  run (w, n.x, TRUE, 5, y);
  assert_near (y, want, ROWS * OUT, 1e-5);
  /* the adapter really contributes */
  LfReal base[ROWS * OUT];
  run (lf_lora_base (w), n.x, FALSE, 0, base);
  double diff = 0;
  for (int i = 0; i < ROWS * OUT; i++)
    diff += fabs ((double) y[i] - base[i]);
  g_assert_cmpfloat (diff, >, 0.01);
  lf_module_free (n.root);
}

static void
test_merge (void)
{
  Net n;
  net_init (&n);
  LfModule *w = lf_lora_wrap (n.q, NULL);
  LfLoraConfig cfg = config (2, 4.0, 0.0, 13);
  lf_lora_add (w, &cfg);
  fill_B (w, 0, 14);
  LfReal before[ROWS * OUT], after[ROWS * OUT];
  run (w, n.x, FALSE, 0, before);
  /* W' = W + 2 B A, by hand */
  LfTensor *W = lf_module_param (lf_lora_base (w), "weight");
  LfTensor *A = lf_lora_A (w, 0), *B = lf_lora_B (w, 0);
  double want_w[OUT * IN];
  for (int o = 0; o < OUT; o++)
    for (int i = 0; i < IN; i++)
      {
        double s = 0;
        for (int k = 0; k < 2; k++)
          s += (double) lf_tensor_data (B)[o * 2 + k] * lf_tensor_data (A)[k * IN + i];
        want_w[o * IN + i] = lf_tensor_data (W)[o * IN + i] + 2 * s;
      }
  LfReal a_before[2 * IN];
  memcpy (a_before, lf_tensor_data (A), sizeof a_before);
  lf_lora_merge (w, 0);
  assert_near (lf_tensor_data (W), want_w, OUT * IN, 1e-6);
  for (int64_t k = 0; k < lf_tensor_numel (B); k++)
    g_assert_cmpfloat (lf_tensor_data (B)[k], ==, 0);
  g_assert_cmpmem (lf_tensor_data (A), sizeof a_before, a_before, sizeof a_before);   /* A kept */
  g_assert_cmpint (lf_lora_n (w), ==, 1);
  run (w, n.x, FALSE, 0, after);
  double want[ROWS * OUT];
  for (int i = 0; i < ROWS * OUT; i++)
    want[i] = before[i];
  assert_near (after, want, ROWS * OUT, 1e-5);
  lf_module_free (n.root);
}

/* one SGD step on mse (y, target) for the trainable parameters below root */
static void
train_steps (LfModule *root, LfModule *m, const LfReal *x, int steps)
{
  LfOptimConfig oc;
  lf_optim_config_init (&oc, LF_OPTIM_SGD);
  oc.lr = 0.1;
  g_autoptr (LfOptimizer) opt = lf_optimizer_new (&oc);
  g_autoptr (GPtrArray) ps = lf_module_params (root, "*", TRUE);
  lf_optimizer_set_params (opt, (int) ps->len, (LfTensor *const *) ps->pdata);
  LfReal target[ROWS * OUT];
  for (int i = 0; i < ROWS * OUT; i++)
    target[i] = (LfReal) (i % 3) - 1;
  for (int s = 0; s < steps; s++)
    {
      LfForward fwd = { .struct_size = sizeof (LfForward), .training = TRUE, .rng_key = (uint64_t) s };
      lf_optimizer_zero_grad (opt);
      lf_tape_push (TRUE);
      LfTensor *xt = lf_tensor_from_data (2, (int64_t[]) { ROWS, IN }, x);
      LfTensor *tt = lf_tensor_from_data (2, (int64_t[]) { ROWS, OUT }, target);
      lf_backward (lf_mse (lf_module_forward (m, xt, &fwd), tt));
      lf_optimizer_step (opt);
      lf_tape_pop ();
    }
}

static LfReal *
dup (LfTensor *t)
{
  return g_memdup2 (lf_tensor_data (t), (gsize) lf_tensor_numel (t) * sizeof (LfReal));
}

static void
assert_same (LfTensor *t, const LfReal *v)
{
  g_assert_cmpmem (lf_tensor_data (t), lf_tensor_numel (t) * sizeof (LfReal), v, lf_tensor_numel (t) * sizeof (LfReal));
}

static void
assert_moved (LfTensor *t, const LfReal *v)
{
  g_assert_true (memcmp (lf_tensor_data (t), v, (size_t) lf_tensor_numel (t) * sizeof (LfReal)) != 0);
}

static void
test_train_frozen_base (void)
{
  Net n;
  net_init (&n);
  LfModule *w = lf_lora_wrap (n.q, NULL);
  LfLoraConfig cfg = config (2, 4.0, 0.0, 15);
  lf_lora_add (w, &cfg);
  g_assert_cmpint (lf_module_freeze (n.root, "*.base.*", TRUE), ==, 2);
  g_autoptr (GPtrArray) trainable = lf_module_params (n.root, "*", TRUE);
  g_assert_cmpuint (trainable->len, ==, 2);
  LfTensor *W = lf_module_param (n.q, "weight"), *b = lf_module_param (n.q, "bias");
  g_autofree LfReal *w0 = dup (W), *b0 = dup (b), *a0 = dup (lf_lora_A (w, 0)), *B0 = dup (lf_lora_B (w, 0));
  /* two steps: the first moves B (A's gradient is B^T ... = 0), the second A too */
  train_steps (n.root, w, n.x, 2);
  assert_same (W, w0);
  assert_same (b, b0);
  assert_moved (lf_lora_A (w, 0), a0);
  assert_moved (lf_lora_B (w, 0), B0);
  g_assert_null (lf_tensor_grad (W));      /* no gradient computed for the frozen base */
  lf_module_free (n.root);
}

static void
test_second_adapter (void)
{
  Net n;
  net_init (&n);
  LfModule *w = lf_lora_wrap (n.q, NULL);
  LfLoraConfig c0 = config (2, 4.0, 0.0, 16), c1 = config (3, 6.0, 0.0, 17);
  lf_lora_add (w, &c0);
  lf_module_freeze (n.root, "*.base.*", TRUE);
  train_steps (n.root, w, n.x, 3);
  /* the first task's adapter is frozen, the second one learns */
  lf_lora_freeze (w, 0, TRUE);
  g_assert_cmpint (lf_lora_add (w, &c1), ==, 1);
  g_assert_cmpint (lf_lora_n (w), ==, 2);
  g_assert_cmpstr (lf_tensor_name (lf_lora_A (w, 1)), ==, "model.layers.0.self_attn.q_proj.lora1.A.weight");
  g_assert_false (lf_tensor_requires_grad (lf_lora_A (w, 0)));
  g_assert_false (lf_tensor_requires_grad (lf_lora_B (w, 0)));
  g_autoptr (GPtrArray) trainable = lf_module_params (n.root, "*", TRUE);
  g_assert_cmpuint (trainable->len, ==, 2);
  g_assert_true (trainable->pdata[0] == lf_lora_A (w, 1));
  g_assert_true (trainable->pdata[1] == lf_lora_B (w, 1));
  /* adapters with different keys start differently */
  g_autofree LfReal *a0 = dup (lf_lora_A (w, 0)), *B0 = dup (lf_lora_B (w, 0));
  g_autofree LfReal *a1 = dup (lf_lora_A (w, 1)), *B1 = dup (lf_lora_B (w, 1));
  train_steps (n.root, w, n.x, 3);
  assert_same (lf_lora_A (w, 0), a0);
  assert_same (lf_lora_B (w, 0), B0);
  assert_moved (lf_lora_A (w, 1), a1);
  assert_moved (lf_lora_B (w, 1), B1);
  /* both contribute: base + 2 B0 A0 x + 2 B1 A1 x */
  LfReal y[ROWS * OUT];
  double want[ROWS * OUT];
  run (w, n.x, FALSE, 0, y);
  by_hand (w, n.x, want);
  assert_near (y, want, ROWS * OUT, 1e-5);
  /* unfreezing gives the first one back to the optimizer */
  lf_lora_freeze (w, 0, FALSE);
  g_assert_true (lf_tensor_requires_grad (lf_lora_A (w, 0)));
  lf_module_free (n.root);
}

static void
test_dropout (void)
{
  Net n;
  net_init (&n);
  LfModule *w = lf_lora_wrap (n.q, NULL);
  LfLoraConfig cfg = config (2, 4.0, 0.5, 18);
  lf_lora_add (w, &cfg);
  fill_B (w, 0, 19);
  LfReal eval[ROWS * OUT], t1[ROWS * OUT], t1b[ROWS * OUT], t2[ROWS * OUT];
  double want[ROWS * OUT];
  run (w, n.x, FALSE, 1, eval);
  by_hand (w, n.x, want);
  assert_near (eval, want, ROWS * OUT, 1e-5);        /* evaluation: no dropout */
  run (w, n.x, TRUE, 1, t1);
  run (w, n.x, TRUE, 1, t1b);
  run (w, n.x, TRUE, 2, t2);
  g_assert_cmpmem (t1, sizeof t1, t1b, sizeof t1b);  /* keyed: the same mask */
  g_assert_true (memcmp (t1, eval, sizeof t1) != 0);
  g_assert_true (memcmp (t1, t2, sizeof t1) != 0);   /* another step, another mask */
  lf_module_free (n.root);
}

/* One configured key still gives each wrapped module its own A. */
static void
test_keys_per_module (void)
{
  LfModule *root = lf_module_new ("", LF_MODULE_CONTAINER, NULL, NULL);
  LfModule *q = lf_module_new_linear ("q_proj", IN, OUT, FALSE);
  LfModule *v = lf_module_new_linear ("v_proj", IN, OUT, FALSE);
  lf_module_add_child (root, q);
  lf_module_add_child (root, v);
  LfLoraConfig cfg = config (2, 4.0, 0.0, 20);
  LfModule *wq = lf_lora_wrap (q, NULL), *wv = lf_lora_wrap (v, NULL);
  lf_lora_add (wq, &cfg);
  lf_lora_add (wv, &cfg);
  g_assert_true (memcmp (lf_tensor_data (lf_lora_A (wq, 0)), lf_tensor_data (lf_lora_A (wv, 0)),
                         2 * IN * sizeof (LfReal)) != 0);
  g_assert_cmpstr (lf_tensor_name (lf_lora_B (wv, 0)), ==, "v_proj.lora0.B.weight");
  lf_module_free (root);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lora/wrap", test_wrap);
  g_test_add_func ("/lora/fresh-unchanged", test_fresh_unchanged);
  g_test_add_func ("/lora/by-hand", test_by_hand);
  g_test_add_func ("/lora/merge", test_merge);
  g_test_add_func ("/lora/train-frozen-base", test_train_frozen_base);
  g_test_add_func ("/lora/second-adapter", test_second_adapter);
  g_test_add_func ("/lora/dropout", test_dropout);
  g_test_add_func ("/lora/keys-per-module", test_keys_per_module);
  return g_test_run ();
}
