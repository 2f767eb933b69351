/* lifelong — the host's handles on model and dataset plugin instances. */
#include "host.h"

G_DEFINE_QUARK (lf-host-error-quark, lf_host_error)
G_DEFINE_QUARK (lf-error-quark, lf_error)

LfModel *
lf_model_create (const LfPluginInfo *info, const LfParams *params, const LfDataSpec *spec,
                 uint64_t rng_key, GError **error)
{
  const LfModelVTable *vt = info->vtable;
  void *self = vt->create (params, spec, rng_key, error);
  if (self == NULL)
    {
      if (error && *error == NULL)
        g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_PLUGIN, "model %s: create failed", info->name);
      return NULL;
    }
  LfModel *m = g_new0 (LfModel, 1);
  m->info = info;
  m->vt = vt;
  m->self = self;
  m->spec = *spec;
  m->rng_key = rng_key;
  return m;
}

void
lf_model_free (LfModel *m)
{
  if (m == NULL)
    return;
  m->vt->destroy (m->self);
  g_free (m);
}

const char *lf_model_name (const LfModel *m) { return m->info->name; }
const LfDataSpec *lf_model_spec (const LfModel *m) { return &m->spec; }
LfModule *lf_model_root (LfModel *m) { return m->vt->root (m->self); }

void
lf_model_forward (LfModel *m, const LfBatch *batch, gboolean training, LfModelOutput *out)
{
  LfForward fwd = { .struct_size = sizeof (LfForward), .batch = batch, .training = training,
                    .rng_key = lf_rng_key (m->rng_key, 0, 0, 0, "forward") };
  memset (out, 0, sizeof *out);
  m->vt->forward (m->self, batch, &fwd, out);
}

gboolean
lf_model_reset (LfModel *m, uint64_t rng_key, GError **error)
{
  if (m->vt->struct_size < G_STRUCT_OFFSET (LfModelVTable, reset) + sizeof (void *) || m->vt->reset == NULL)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_PLUGIN, "model %s cannot re-initialise itself (no reset)",
                   m->info->name);
      return FALSE;
    }
  m->vt->reset (m->self, rng_key);
  return TRUE;
}

GPtrArray *
lf_model_params (LfModel *m, gboolean trainable_only)
{
  return lf_module_params (lf_model_root (m), "*", trainable_only);
}

LfModel *
lf_model_clone (LfModel *m, GError **error)
{
  if (m->vt->struct_size < G_STRUCT_OFFSET (LfModelVTable, clone) + sizeof (void *) || m->vt->clone == NULL)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_PLUGIN, "model %s cannot be cloned (no clone)", m->info->name);
      return NULL;
    }
  void *self = m->vt->clone (m->self);
  if (self == NULL)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_PLUGIN, "model %s: clone failed", m->info->name);
      return NULL;
    }
  LfModel *c = g_new0 (LfModel, 1);
  *c = *m;
  c->self = self;
  /* every parameter both share by name takes m's value; the copy is frozen */
  g_autoptr (GPtrArray) src = lf_model_params (m, FALSE);
  g_autoptr (GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < src->len; i++)
    g_hash_table_insert (by_name, (gpointer) lf_tensor_name (src->pdata[i]), src->pdata[i]);
  g_autoptr (GPtrArray) dst = lf_model_params (c, FALSE);
  for (guint i = 0; i < dst->len; i++)
    {
      LfTensor *d = dst->pdata[i], *s = g_hash_table_lookup (by_name, lf_tensor_name (d));
      if (s && lf_tensor_same_shape (s, d))
        lf_tensor_copy_data (d, s);
      lf_tensor_set_requires_grad (d, FALSE);
    }
  return c;
}

LfDataset *
lf_dataset_open (const LfPluginInfo *info, const LfParams *params, uint64_t rng_key, GError **error)
{
  const LfDatasetVTable *vt = info->vtable;
  void *self = vt->open (params, rng_key, error);
  if (self == NULL)
    {
      if (error && *error == NULL)
        g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_PLUGIN, "dataset %s: open failed", info->name);
      return NULL;
    }
  LfDataset *ds = g_new0 (LfDataset, 1);
  ds->info = info;
  ds->vt = vt;
  ds->self = self;
  ds->di.struct_size = sizeof ds->di;
  vt->info (self, &ds->di);
  ds->input_numel = ds->di.input_ndim > 0 ? lf_shape_numel (ds->di.input_ndim, ds->di.input_shape) : 0;
  return ds;
}

void
lf_dataset_close (LfDataset *ds)
{
  if (ds == NULL)
    return;
  ds->vt->close (ds->self);
  g_free (ds);
}
