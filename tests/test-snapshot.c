/* lifelong tests — snapshots of a module tree: copies by name (all or
 * trainable only), swap in and back (data pointers only), restore, lookup
 * in parameter order with absent and reshaped parameters, bytes, and a
 * teacher's forward on swapped-in values. */
#include "tensor-private.h"
#include <math.h>

/* root "" -> layers.0 (linear 4->3, bias), layers.1 (linear 3->2), head
 * (linear 2->2, frozen) */
typedef struct {
  LfModule *root, *l0, *l1, *head;
} Net;

static void
net_init (Net *n)
{
  n->root = lf_module_new ("", LF_MODULE_CONTAINER, NULL, NULL);
  LfModule *layers = lf_module_new ("layers", LF_MODULE_CONTAINER, NULL, NULL);
  lf_module_add_child (n->root, layers);
  n->l0 = lf_module_new_linear ("0", 4, 3, TRUE);
  n->l1 = lf_module_new_linear ("1", 3, 2, FALSE);
  n->head = lf_module_new_linear ("head", 2, 2, FALSE);
  lf_module_add_child (layers, n->l0);
  lf_module_add_child (layers, n->l1);
  lf_module_add_child (n->root, n->head);
  lf_module_init_linear (n->l0, 1);
  lf_module_init_linear (n->l1, 2);
  lf_module_init_linear (n->head, 3);
  lf_module_freeze (n->root, "head.*", TRUE);
}

static GPtrArray *
all_params (Net *n)
{
  return lf_module_params (n->root, "*", FALSE);
}

/* Adds 1 + k/10 to every live value (a training step's worth of change). */
static void
perturb (Net *n)
{
  g_autoptr (GPtrArray) ps = all_params (n);
  for (guint i = 0; i < ps->len; i++)
    {
      LfTensor *p = ps->pdata[i];
      for (int64_t k = 0; k < lf_tensor_numel (p); k++)
        lf_tensor_data (p)[k] += (LfReal) (1 + 0.1 * (double) k);
    }
}

/* A copy of every live value, in tree order. */
static LfReal **
values (Net *n)
{
  g_autoptr (GPtrArray) ps = all_params (n);
  LfReal **v = g_new0 (LfReal *, ps->len + 1);
  for (guint i = 0; i < ps->len; i++)
    v[i] = g_memdup2 (lf_tensor_data (ps->pdata[i]), (gsize) lf_tensor_numel (ps->pdata[i]) * sizeof (LfReal));
  return v;
}

static void
assert_values (Net *n, LfReal **v)
{
  g_autoptr (GPtrArray) ps = all_params (n);
  for (guint i = 0; i < ps->len; i++)
    g_assert_cmpmem (lf_tensor_data (ps->pdata[i]), lf_tensor_numel (ps->pdata[i]) * sizeof (LfReal),
                     v[i], lf_tensor_numel (ps->pdata[i]) * sizeof (LfReal));
}

static void
values_free (LfReal **v)
{
  for (int i = 0; v[i]; i++)
    g_free (v[i]);
  g_free (v);
}

static void
test_take (void)
{
  Net n;
  net_init (&n);
  g_autoptr (LfSnapshot) all = lf_snapshot_take (n.root, FALSE);
  g_autoptr (LfSnapshot) trainable = lf_snapshot_take (n.root, TRUE);
  g_assert_cmpint (lf_snapshot_n (all), ==, 4);
  g_assert_cmpint (lf_snapshot_n (trainable), ==, 3);
  g_assert_nonnull (lf_snapshot_get (all, "head.weight"));
  g_assert_null (lf_snapshot_get (trainable, "head.weight"));
  g_assert_null (lf_snapshot_get (all, "layers.1.bias"));
  g_assert_null (lf_snapshot_get (all, NULL));
  LfTensor *live = lf_module_param (n.l0, "weight");
  LfTensor *copy = lf_snapshot_get (all, "layers.0.weight");
  g_assert_nonnull (copy);
  g_assert_true (copy != live);
  g_assert_true (lf_tensor_data (copy) != lf_tensor_data (live));
  g_assert_true (lf_tensor_same_shape (copy, live));
  g_assert_false (lf_tensor_requires_grad (copy));
  g_assert_cmpstr (lf_tensor_name (copy), ==, "layers.0.weight");
  g_assert_cmpmem (lf_tensor_data (copy), 12 * sizeof (LfReal), lf_tensor_data (live), 12 * sizeof (LfReal));
  /* a copy, not a view: changing the live tree leaves it alone */
  LfReal keep = lf_tensor_data (copy)[0];
  lf_tensor_data (live)[0] += 5;
  g_assert_cmpfloat (lf_tensor_data (copy)[0], ==, keep);

  /* bytes: at least every value once, not wildly more */
  size_t values_bytes = (12 + 3 + 6 + 4) * sizeof (LfReal);
  g_assert_cmpuint (lf_snapshot_bytes (all), >=, values_bytes);
  g_assert_cmpuint (lf_snapshot_bytes (all), <, values_bytes + 4 * 1024);
  g_assert_cmpuint (lf_snapshot_bytes (trainable), <, lf_snapshot_bytes (all));
  lf_module_free (n.root);
}

static void
test_swap (void)
{
  Net n;
  net_init (&n);
  LfReal **orig = values (&n);
  g_autoptr (LfSnapshot) s = lf_snapshot_take (n.root, FALSE);
  perturb (&n);
  LfReal **trained = values (&n);
  LfTensor *w = lf_module_param (n.l0, "weight");
  LfReal *live_ptr = lf_tensor_data (w), *copy_ptr = lf_tensor_data (lf_snapshot_get (s, "layers.0.weight"));

  /* in: the live tree holds the snapshot's values, the snapshot the live ones */
  g_assert_cmpint (lf_snapshot_swap (s, n.root), ==, 4);
  assert_values (&n, orig);
  g_assert_true (lf_tensor_data (w) == copy_ptr);           /* pointers changed hands */
  g_assert_true (lf_tensor_data (lf_snapshot_get (s, "layers.0.weight")) == live_ptr);
  g_assert_cmpfloat (lf_tensor_data (lf_snapshot_get (s, "layers.0.weight"))[0], ==, trained[0][0]);
  /* still aligned (the tensors' buffers only changed hands) */
  g_assert_cmpuint ((guintptr) lf_tensor_data (w) % 64, ==, 0);
  /* back */
  g_assert_cmpint (lf_snapshot_swap (s, n.root), ==, 4);
  assert_values (&n, trained);
  g_assert_true (lf_tensor_data (w) == live_ptr);
  /* swap below a subtree only touches that subtree */
  LfModule *layers = lf_module_find (n.root, "layers");
  g_assert_cmpint (lf_snapshot_swap (s, layers), ==, 3);
  g_assert_cmpfloat (lf_tensor_data (w)[0], ==, orig[0][0]);
  g_assert_cmpfloat (lf_tensor_data (lf_module_param (n.head, "weight"))[0], ==, trained[3][0]);
  g_assert_cmpint (lf_snapshot_swap (s, layers), ==, 3);
  assert_values (&n, trained);

  /* a trainable-only snapshot leaves the frozen head alone */
  g_autoptr (LfSnapshot) t = lf_snapshot_take (n.root, TRUE);
  perturb (&n);
  g_assert_cmpint (lf_snapshot_swap (t, n.root), ==, 3);
  g_assert_cmpfloat (lf_tensor_data (lf_module_param (n.head, "weight"))[0], ==, trained[3][0] + 1);
  g_assert_cmpfloat (lf_tensor_data (w)[0], ==, trained[0][0]);
  lf_snapshot_swap (t, n.root);

  values_free (orig);
  values_free (trained);
  lf_module_free (n.root);
}

static void
test_restore (void)
{
  Net n;
  net_init (&n);
  LfReal **orig = values (&n);
  g_autoptr (LfSnapshot) s = lf_snapshot_take (n.root, FALSE);
  perturb (&n);
  LfTensor *w = lf_module_param (n.l0, "weight");
  LfReal *live_ptr = lf_tensor_data (w);
  g_assert_cmpint (lf_snapshot_restore (s, n.root), ==, 4);
  assert_values (&n, orig);
  g_assert_true (lf_tensor_data (w) == live_ptr);   /* a copy, not a swap */
  /* the snapshot still holds the values: restore again after more change */
  perturb (&n);
  lf_snapshot_restore (s, n.root);
  assert_values (&n, orig);
  values_free (orig);
  lf_module_free (n.root);
}

/* A teacher's forward: swap in, run, swap back (LwF, DER). */
static void
test_teacher_forward (void)
{
  Net n;
  net_init (&n);
  int64_t xs[2] = { 2, 4 };
  LfReal xv[8] = { 0.5f, -1, 2, 0.25f, 1, 1, -0.5f, 3 };
  lf_tape_push (FALSE);
  LfTensor *x = lf_tensor_from_data (2, xs, xv);
  LfTensor *before = lf_module_forward (n.root, x, NULL);
  g_autoptr (LfSnapshot) s = lf_snapshot_take (n.root, FALSE);
  perturb (&n);
  LfTensor *student = lf_module_forward (n.root, x, NULL);
  lf_snapshot_swap (s, n.root);
  LfTensor *teacher = lf_module_forward (n.root, x, NULL);
  lf_snapshot_swap (s, n.root);
  LfTensor *again = lf_module_forward (n.root, x, NULL);
  g_assert_cmpmem (lf_tensor_data (teacher), 4 * sizeof (LfReal), lf_tensor_data (before), 4 * sizeof (LfReal));
  g_assert_cmpmem (lf_tensor_data (again), 4 * sizeof (LfReal), lf_tensor_data (student), 4 * sizeof (LfReal));
  g_assert_true (memcmp (lf_tensor_data (student), lf_tensor_data (teacher), 4 * sizeof (LfReal)) != 0);
  lf_tape_pop ();
  lf_module_free (n.root);
}

static void
test_lookup (void)
{
  Net n;
  net_init (&n);
  g_autoptr (LfSnapshot) s = lf_snapshot_take (n.root, FALSE);
  /* the tree changes: layers.1 is replaced by a wider linear (same name,
   * other shape) and a new parameter appears */
  LfModule *wider = lf_module_new_linear ("1", 3, 5, FALSE);
  LfModule *old = lf_module_replace (n.l1, wider);
  lf_module_free (old);
  LfTensor *extra = lf_module_add_param (n.head, "scale", 1, (int64_t[]) { 2 });
  g_autoptr (GPtrArray) ps = all_params (&n);
  g_assert_cmpuint (ps->len, ==, 5);
  LfTensor *out[5];
  lf_snapshot_lookup (s, 5, (LfTensor *const *) ps->pdata, out);
  g_assert_true (out[0] == lf_snapshot_get (s, "layers.0.weight"));
  g_assert_true (out[1] == lf_snapshot_get (s, "layers.0.bias"));
  g_assert_null (out[2]);                                     /* reshaped */
  g_assert_true (out[3] == lf_snapshot_get (s, "head.weight"));
  g_assert_null (out[4]);                                     /* new */
  g_assert_true (ps->pdata[4] == extra);
  /* swap and restore skip what does not match, and say so in the count */
  g_assert_cmpint (lf_snapshot_swap (s, n.root), ==, 3);
  g_assert_cmpint (lf_snapshot_swap (s, n.root), ==, 3);
  g_assert_cmpint (lf_snapshot_restore (s, n.root), ==, 3);
  lf_module_free (n.root);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/snapshot/take", test_take);
  g_test_add_func ("/snapshot/swap", test_swap);
  g_test_add_func ("/snapshot/restore", test_restore);
  g_test_add_func ("/snapshot/teacher-forward", test_teacher_forward);
  g_test_add_func ("/snapshot/lookup", test_lookup);
  return g_test_run ();
}
