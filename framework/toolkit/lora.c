/* lifelong toolkit — LoRA (Hu et al. 2021): a linear wrapped with low-rank
 * adapters, y = base(x) + sum_j (alpha_j / r_j) B_j (A_j dropout(x)).  The
 * adapters are ordinary linear modules in the tree ("loraJ.A", "loraJ.B"),
 * so their parameters have names, can be frozen, saved and swapped like
 * any other; the wrapper's state only holds each adapter's scale and keys. */
#include "tensor-private.h"

typedef struct {
  int64_t  rank;
  double   alpha;
  double   dropout;
  uint64_t key;          /* this adapter's own key (dropout masks) */
  char     name[24];     /* "loraJ" */
} LoraAdapter;

typedef struct {
  int          n;
  LoraAdapter *ad;       /* n entries */
} LoraState;

enum { LORA_ERROR_NOT_LINEAR, LORA_ERROR_ROOT };

static GQuark
lora_error_quark (void)
{
  return g_quark_from_static_string ("lf-lora-error-quark");
}

static void
lora_state_free (void *p)
{
  LoraState *st = p;
  g_free (st->ad);
  g_free (st);
}

static LfTensor *lora_forward (LfModule *m, LfTensor *x, LfForward *fwd);

static const LfModuleClass lora_class = {
  .struct_size = sizeof (LfModuleClass),
  .type_name = "lora-linear",
  .forward = lora_forward,
  .destroy_state = lora_state_free,
};

gboolean
lf_lora_is_wrapper (const LfModule *m)
{
  return m != NULL && lf_module_class (m) == &lora_class;
}

static LoraState *
state_of (LfModule *wrapper)
{
  g_return_val_if_fail (lf_lora_is_wrapper (wrapper), NULL);
  return lf_module_state (wrapper);
}

LfModule *
lf_lora_base (LfModule *wrapper)
{
  g_return_val_if_fail (lf_lora_is_wrapper (wrapper), NULL);
  return lf_module_find (wrapper, "base");
}

/* Adapter j's A or B linear module (by name: the tree is the truth). */
static LfModule *
adapter_linear (LfModule *wrapper, int j, const char *which)
{
  LoraState *st = state_of (wrapper);
  g_return_val_if_fail (st != NULL && j >= 0 && j < st->n, NULL);
  LfModule *c = lf_module_find (wrapper, st->ad[j].name);
  lf_check (c != NULL, "lora: adapter %s is missing from its wrapper", st->ad[j].name);
  LfModule *l = lf_module_find (c, which);
  lf_check (l != NULL, "lora: %s.%s is missing", st->ad[j].name, which);
  return l;
}

/* x: (..., in) -> (..., out) */
static LfTensor *
lora_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  LoraState *st = lf_module_state (m);
  LfTensor *y = lf_module_forward (lf_lora_base (m), x, fwd);
  for (int j = 0; j < st->n; j++)
    {
      const LoraAdapter *ad = &st->ad[j];
      LfTensor *h = x;
      if (fwd->training && ad->dropout > 0)
        h = lf_dropout (x, ad->dropout, lf_rng_key (ad->key, fwd->rng_key, 0, 0, "lora-dropout"));
      h = lf_module_forward (adapter_linear (m, j, "A"), h, fwd);    /* (..., r)   */
      h = lf_module_forward (adapter_linear (m, j, "B"), h, fwd);    /* (..., out) */
      y = lf_add (y, lf_scale (h, ad->alpha / (double) ad->rank));
    }
  return y;
}

LfModule *
lf_lora_wrap (LfModule *linear, GError **error)
{
  g_return_val_if_fail (linear != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  if (lf_lora_is_wrapper (linear))
    return linear;
  LfModule *parent = lf_module_parent (linear);
  if (parent && lf_lora_is_wrapper (parent) && lf_lora_base (parent) == linear)
    return parent;
  g_autofree char *path = lf_module_path (linear);
  LfTensor *w = lf_module_param (linear, "weight");
  if (lf_module_kind (linear) != LF_MODULE_LINEAR || w == NULL || lf_tensor_ndim (w) != 2)
    {
      g_set_error (error, lora_error_quark (), LORA_ERROR_NOT_LINEAR,
                   "lora: module '%s' is a %s, not a linear with a (out, in) weight",
                   path, lf_module_kind_name (lf_module_kind (linear)));
      return NULL;
    }
  if (parent == NULL)
    {
      g_set_error (error, lora_error_quark (), LORA_ERROR_ROOT,
                   "lora: module '%s' is the root of its tree: a wrapper needs a place to take", path);
      return NULL;
    }
  LoraState *st = g_new0 (LoraState, 1);
  LfModule *wrapper = lf_module_wrap (linear, &lora_class, st, LF_MODULE_LINEAR);
  if (wrapper == NULL)
    lora_state_free (st);
  return wrapper;
}

int
lf_lora_add (LfModule *wrapper, const LfLoraConfig *cfg)
{
  LoraState *st = state_of (wrapper);
  g_return_val_if_fail (st != NULL && cfg != NULL, -1);
  g_return_val_if_fail (cfg->struct_size >= sizeof (LfLoraConfig), -1);
  g_return_val_if_fail (cfg->rank > 0, -1);
  g_return_val_if_fail (cfg->dropout >= 0 && cfg->dropout < 1, -1);
  LfTensor *w = lf_module_param (lf_lora_base (wrapper), "weight");
  g_return_val_if_fail (w != NULL && lf_tensor_ndim (w) == 2, -1);
  const int64_t out = lf_tensor_dim (w, 0), in = lf_tensor_dim (w, 1);
  int j = st->n;
  LoraAdapter ad = { .rank = cfg->rank, .alpha = cfg->alpha, .dropout = cfg->dropout };
  g_snprintf (ad.name, sizeof ad.name, "lora%d", j);
  g_return_val_if_fail (lf_module_find (wrapper, ad.name) == NULL, -1);

  LfModule *box = lf_module_new (ad.name, LF_MODULE_CONTAINER, NULL, NULL);
  LfModule *a = lf_module_new_linear ("A", in, cfg->rank, FALSE);    /* (r, in)  */
  LfModule *b = lf_module_new_linear ("B", cfg->rank, out, FALSE);   /* (out, r) */
  lf_module_add_child (box, a);
  lf_module_add_child (box, b);
  lf_module_add_child (wrapper, box);
  /* Keys mix in the wrapper's path, so one configured key gives every
   * wrapped module its own A and its own dropout masks. */
  g_autofree char *path = lf_module_path (wrapper);
  /* Kaiming-uniform with a = sqrt(5), as PEFT: U(-1/sqrt(in), 1/sqrt(in)) */
  lf_module_init_linear (a, lf_rng_key (cfg->rng_key, (uint64_t) j, 0, 0, path));
  ad.key = lf_rng_key (cfg->rng_key, (uint64_t) j, 1, 0, path);
  /* B stays zero: the wrapped linear computes what it did before */
  st->ad = g_renew (LoraAdapter, st->ad, (gsize) st->n + 1);
  st->ad[st->n++] = ad;
  return j;
}

int
lf_lora_n (const LfModule *wrapper)
{
  g_return_val_if_fail (lf_lora_is_wrapper (wrapper), 0);
  return ((const LoraState *) lf_module_state ((LfModule *) wrapper))->n;
}

LfTensor *
lf_lora_A (LfModule *wrapper, int j)
{
  LfModule *l = adapter_linear (wrapper, j, "A");
  return l ? lf_module_param (l, "weight") : NULL;
}

LfTensor *
lf_lora_B (LfModule *wrapper, int j)
{
  LfModule *l = adapter_linear (wrapper, j, "B");
  return l ? lf_module_param (l, "weight") : NULL;
}

void
lf_lora_freeze (LfModule *wrapper, int j, gboolean frozen)
{
  LoraState *st = state_of (wrapper);
  g_return_if_fail (st != NULL && j >= 0 && j < st->n);
  LfModule *box = lf_module_find (wrapper, st->ad[j].name);
  g_return_if_fail (box != NULL);
  lf_module_freeze (box, "*", frozen);
}

/* W (out, in) += (alpha / r) B (out, r) A (r, in); then B = 0.  Values
 * change in place: merge between steps, not while a recorded graph that
 * reads W or B waits for its backward. */
void
lf_lora_merge (LfModule *wrapper, int j)
{
  LoraState *st = state_of (wrapper);
  g_return_if_fail (st != NULL && j >= 0 && j < st->n);
  LfTensor *w = lf_module_param (lf_lora_base (wrapper), "weight");
  LfTensor *a = lf_lora_A (wrapper, j), *b = lf_lora_B (wrapper, j);
  g_return_if_fail (w != NULL && a != NULL && b != NULL);
  const int64_t out = w->shape[0], in = w->shape[1], r = st->ad[j].rank;
  lf_check (a->shape[0] == r && a->shape[1] == in && b->shape[0] == out && b->shape[1] == r,
            "lora merge: W %s, A %s, B %s do not fit rank %" G_GINT64_FORMAT,
            LF_SHAPE (w), LF_SHAPE (a), LF_SHAPE (b), r);
  lf_gemm (FALSE, FALSE, out, in, r, (LfReal) (st->ad[j].alpha / (double) r),
           b->data, r, a->data, in, 1, w->data, in);
  memset (b->data, 0, (size_t) b->numel * sizeof (LfReal));
}

/* TRUE when m lives inside a LoRA wrapper (its base, or an adapter's A or B). */
static gboolean
lora_inside_wrapper (LfModule *m)
{
  for (LfModule *p = lf_module_parent (m); p != NULL; p = lf_module_parent (p))
    if (lf_lora_is_wrapper (p))
      return TRUE;
  return FALSE;
}

/* "a, b, c": the paths of the linears below root outside any wrapper. */
static char *
lora_linear_list (LfModule *root)
{
  g_autoptr (GPtrArray) all = lf_module_find_all (root, "*", LF_MODULE_LINEAR);
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; i < all->len; i++)
    if (!lora_inside_wrapper (all->pdata[i]))
      {
        g_autofree char *path = lf_module_path (all->pdata[i]);
        g_string_append_printf (s, "%s%s", s->len ? ", " : "", path);
      }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

GPtrArray *
lf_lora_wrap_matching (LfModule *root, int n, const char *const *globs, GError **error)
{
  g_return_val_if_fail (root != NULL && n >= 0 && (n == 0 || globs != NULL), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  g_autoptr (GPtrArray) out = g_ptr_array_new ();
  for (int g = 0; g < n; g++)
    {
      g_autoptr (GPtrArray) hits = lf_module_find_all (root, globs[g], LF_MODULE_LINEAR);
      int taken = 0;
      for (guint i = 0; i < hits->len; i++)
        {
          LfModule *m = hits->pdata[i];
          if (lora_inside_wrapper (m))
            continue;
          LfModule *w = lf_lora_wrap (m, error);
          if (w == NULL)
            return NULL;
          taken++;
          if (!g_ptr_array_find (out, w, NULL))
            g_ptr_array_add (out, w);
        }
      if (taken == 0)
        {
          g_autofree char *list = lora_linear_list (root);
          g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "\"%s\" matches no linear module (the model's linears: %s)",
                       globs[g], list[0] ? list : "none");
          return NULL;
        }
    }
  return g_steal_pointer (&out);
}

/* sum_{i<j} ||A_i (r_i, in) A_j^T (in, r_j)||_F^2 -> (1) */
LfTensor *
lf_lora_orthogonality (LfModule *wrapper, int j)
{
  LoraState *st = state_of (wrapper);
  g_return_val_if_fail (st != NULL && j >= 0 && j < st->n, NULL);
  LfTensor *aj = lf_lora_A (wrapper, j);
  LfTensor *sum = lf_tensor_zeros (1, (int64_t[]) { 1 });
  for (int i = 0; i < j; i++)
    sum = lf_add (sum, lf_sum (lf_sqr (lf_matmul_t (lf_lora_A (wrapper, i), FALSE, aj, TRUE))));
  return sum;
}
