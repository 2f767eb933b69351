/* lifelong plugins — the LoRA family's shared part (lora-family.h): target
 * linears wrapped once at create, the base frozen, one adapter per
 * experience. */
#include "lora-family.h"

static const char *const lora_family_qv[] = { "model.layers.*.self_attn.q_proj", "model.layers.*.self_attn.v_proj",
                                              NULL };
static const char *const lora_family_mlp[] = { "layers.*", NULL };
const LoraTargetSet lora_family_qv_targets[] = { { lora_family_qv }, { lora_family_mlp }, { NULL } };

/* The classifier head's modules: the root's children "head", "score", or
 * with a multi-head MLP only "heads.<e>". */
static void
lora_family_head_freeze (LoraFamily *f, LfModule *root, int64_t e)
{
  static const char *const single[] = { "head", "score" };
  for (guint i = 0; i < G_N_ELEMENTS (single); i++)
    {
      LfModule *h = lf_module_find (root, single[i]);
      if (h)
        lf_module_freeze (h, "*", !f->train_head);
      f->head_found |= h != NULL;
    }
  LfModule *heads = lf_module_find (root, "heads");
  f->head_found |= heads != NULL;
  for (int i = 0; heads && i < lf_module_n_children (heads); i++)
    lf_module_freeze (lf_module_child (heads, i), "*", !(f->train_head && i == e));
}

static gboolean
lora_family_wrap (LoraFamily *f, LfModule *root, const LfParams *p, const LoraTargetSet *defaults, GError **error)
{
  int64_t n = 0;
  const char *const *globs = lf_params_get_string_list (p, "targets", &n);
  if (n > 0)
    {
      f->wrappers = lf_lora_wrap_matching (root, (int) n, globs, error);
      if (f->wrappers == NULL)
        g_prefix_error (error, "strategy.targets: ");
      return f->wrappers != NULL;
    }
  for (const LoraTargetSet *d = defaults; d->globs; d++)
    {
      /* a set is usable when every glob matches a linear */
      gboolean ok = TRUE;
      for (int g = 0; ok && d->globs[g]; g++)
        {
          g_autoptr (GPtrArray) hits = lf_module_find_all (root, d->globs[g], LF_MODULE_LINEAR);
          ok = hits->len > 0;
        }
      if (ok)
        {
          f->wrappers = lf_lora_wrap_matching (root, (int) g_strv_length ((char **) d->globs), d->globs, error);
          return f->wrappers != NULL;
        }
    }
  g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "strategy.targets: [] (the default) finds none of %s's usual "
               "linears in this model; name them (a glob such as \"layers.*\")", f->name);
  return FALSE;
}

gboolean
lora_family_init (LoraFamily *f, const char *name, const LfParams *p, LfStrategyCtx *ctx,
                  const LoraTargetSet *defaults, GError **error)
{
  memset (f, 0, sizeof *f);
  f->name = name;
  f->rank = lf_params_get_int (p, "rank");
  f->alpha = lf_params_get_float (p, "alpha");
  f->dropout = lf_params_get_float (p, "dropout");
  f->train_head = lf_params_get_bool (p, "train_head");
  f->key = lf_ctx_rng_key (ctx, name);
  f->trainable = g_array_new (FALSE, FALSE, sizeof (int64_t));
  LfModule *root = lf_model_root (lf_ctx_model (ctx));
  if (!lora_family_wrap (f, root, p, defaults, error))
    return FALSE;
  for (guint i = 0; i < f->wrappers->len; i++)
    {
      LfTensor *w = lf_module_param (lf_lora_base (f->wrappers->pdata[i]), "weight");
      int64_t in = lf_tensor_dim (w, 1), out = lf_tensor_dim (w, 0);
      if (f->rank > MIN (in, out))
        {
          g_autofree char *path = lf_module_path (f->wrappers->pdata[i]);
          g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "strategy.rank: %" G_GINT64_FORMAT " is more than the "
                       "smaller side of %s (%" G_GINT64_FORMAT " x %" G_GINT64_FORMAT ")", f->rank, path, out, in);
          return FALSE;
        }
      f->adapter_elems += f->rank * (in + out);
    }
  /* the base (embeddings, norms, biases, untargeted linears) never trains */
  lf_module_freeze (root, "*", TRUE);
  return TRUE;
}

void
lora_family_clear (LoraFamily *f)
{
  g_clear_pointer (&f->wrappers, g_ptr_array_unref);
  g_clear_pointer (&f->trainable, g_array_unref);
}

static void
lora_family_add (LoraFamily *f)
{
  LfLoraConfig cfg = { .struct_size = sizeof cfg, .rank = f->rank, .alpha = f->alpha, .dropout = f->dropout,
                       .rng_key = lf_rng_key (f->key, (uint64_t) f->n, 0, 0, "adapter") };
  for (guint i = 0; i < f->wrappers->len; i++)
    {
      LfModule *w = f->wrappers->pdata[i];
      for (int j = 0; j < lf_lora_n (w); j++)
        lf_lora_freeze (w, j, TRUE);
      lf_lora_add (w, &cfg);
    }
  f->n++;
}

void
lora_family_begin (LoraFamily *f, LfStrategyCtx *ctx)
{
  LfModule *root = lf_model_root (lf_ctx_model (ctx));
  lora_family_head_freeze (f, root, MAX (lf_ctx_experience (ctx), 0));
  lora_family_add (f);
  int64_t t = lf_module_count_params (root, "*", TRUE);
  g_array_append_val (f->trainable, t);
}

void
lora_family_recount (LoraFamily *f, LfStrategyCtx *ctx)
{
  g_return_if_fail (f->trainable->len > 0);
  g_array_index (f->trainable, int64_t, f->trainable->len - 1)
    = lf_module_count_params (lf_model_root (lf_ctx_model (ctx)), "*", TRUE);
}

void
lora_family_report (LoraFamily *f, LfStrategyCtx *ctx)
{
  g_autoptr (GString) s = g_string_new ("[");
  for (guint i = 0; i < f->wrappers->len; i++)
    {
      g_autofree char *path = lf_module_path (f->wrappers->pdata[i]);
      g_string_append_printf (s, "%s\"%s\"", i ? ", " : "", path);
    }
  g_string_append (s, "]");
  lf_ctx_report_json (ctx, "targets", s->str);
  g_string_assign (s, "[");
  for (guint e = 0; e < f->trainable->len; e++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, e ? ", " : "", g_array_index (f->trainable, int64_t, e));
  g_string_append (s, "]");
  lf_ctx_report_json (ctx, "trainable_per_experience", s->str);
  lf_ctx_report_number (ctx, "rank", (double) f->rank);
  lf_ctx_report_number (ctx, "adapter_parameters", (double) f->adapter_elems);
  lf_ctx_report_number (ctx, "adapters", f->n);
  lf_ctx_report_number (ctx, "head_trained", f->train_head && f->head_found);
}

void
lora_family_save (LoraFamily *f, LfState *st)
{
  lf_state_put_int (st, "lora.adapters", f->n);
  lf_state_put_bytes (st, "lora.trainable", f->trainable->data, f->trainable->len * sizeof (int64_t));
}

gboolean
lora_family_load (LoraFamily *f, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  (void) ctx;
  int64_t n = 0;
  size_t nb = 0;
  const void *tb = lf_state_get_bytes (st, "lora.trainable", &nb);
  if (!lf_state_get_int (st, "lora.adapters", &n) || n < f->n || n > 100000 || tb == NULL
      || nb % sizeof (int64_t) != 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "strategy %s: the checkpoint's state does not match this run",
                   f->name);
      return FALSE;
    }
  while (f->n < n)
    lora_family_add (f);
  for (guint i = 0; i < f->wrappers->len; i++)
    lf_lora_freeze (f->wrappers->pdata[i], (int) n - 1, TRUE);
  g_array_set_size (f->trainable, 0);
  g_array_append_vals (f->trainable, tb, (guint) (nb / sizeof (int64_t)));
  return TRUE;
}

void *
lora_family_new (size_t size, const char *name, const LfParams *p, LfStrategyCtx *ctx,
                 const LoraTargetSet *defaults, GError **error)
{
  g_return_val_if_fail (size >= sizeof (LoraFamily), NULL);
  LoraFamily *f = g_malloc0 (size);
  if (!lora_family_init (f, name, p, ctx, defaults, error))
    {
      lora_family_free (f);
      return NULL;
    }
  return f;
}

void
lora_family_free (void *self)
{
  lora_family_clear (self);
  g_free (self);
}

gboolean
lora_family_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  lora_family_begin (self, ctx);
  return TRUE;
}

gboolean
lora_family_save_slot (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  lora_family_save (self, st);
  return TRUE;
}

gboolean
lora_family_load_slot (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  return lora_family_load (self, ctx, st, error);
}

const LfCapabilities lora_family_caps = {
  .touches = LF_TOUCHES_STRUCTURE | LF_TOUCHES_OPTIMIZER,
  .needs = LF_NEEDS_BOUNDARIES,
  .supports = LF_SUPPORTS_CLASSIFICATION | LF_SUPPORTS_LANGUAGE_MODEL,
};
