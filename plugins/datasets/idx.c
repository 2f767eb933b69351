/* lifelong plugin — dataset "idx" (alias "fashion-mnist"): any MNIST-format
 * directory (train/t10k images and labels, gzip or raw).  The images stay
 * bytes; a batch converts its rows to floats in [0, 1]. */
#include <lifelong/lifelong.h>
#include <glib/gstdio.h>

typedef struct {
  LfIdx images[2], labels[2];   /* [LF_SPLIT_TRAIN], [LF_SPLIT_TEST] */
  int64_t n[2];
  int64_t classes;
  int64_t h, w;
  char   *class_names_buf[64];
} Idx;

static const LfParam idx_params[] = {
  { "path", LF_PARAM_STRING, "\"/usr/share/datasets/fashion-mnist\"", 0, 0, NULL,
    "directory with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (Debian's dataset-fashion-mnist by default)" },
  { "train_limit", LF_PARAM_INT, "0", 0, 1e9, NULL, "use only the first N training samples (0: all)" },
  { "test_limit", LF_PARAM_INT, "0", 0, 1e9, NULL, "use only the first N test samples (0: all)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

/* "<dir>/<stem>.gz" if it exists, else "<dir>/<stem>". */
static char *
idx_file (const char *dir, const char *stem)
{
  g_autofree char *gz = g_strdup_printf ("%s/%s.gz", dir, stem);
  if (g_file_test (gz, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&gz);
  return g_strdup_printf ("%s/%s", dir, stem);
}

static void idx_close (void *self);

static void *
idx_open (const LfParams *p, uint64_t key, GError **error)
{
  (void) key;
  const char *dir = lf_params_get_string (p, "path");
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_IO,
                   "dataset.path: %s is not a directory%s", dir,
                   g_str_has_prefix (dir, "/usr/share/datasets/fashion-mnist")
                   ? " (install Debian's dataset-fashion-mnist)" : "");
      return NULL;
    }
  Idx *d = g_new0 (Idx, 1);
  const char *prefix[2] = { "train", "t10k" };
  int64_t limit[2] = { lf_params_get_int (p, "train_limit"), lf_params_get_int (p, "test_limit") };
  for (int s = 0; s < 2; s++)
    {
      g_autofree char *istem = g_strdup_printf ("%s-images-idx3-ubyte", prefix[s]);
      g_autofree char *lstem = g_strdup_printf ("%s-labels-idx1-ubyte", prefix[s]);
      g_autofree char *ip = idx_file (dir, istem), *lp = idx_file (dir, lstem);
      if (!lf_idx_load (ip, &d->images[s], error) || !lf_idx_load (lp, &d->labels[s], error))
        goto fail;
      if (d->images[s].ndim != 3)
        {
          g_set_error (error, LF_IDX_ERROR, LF_IDX_ERROR_MISMATCH,
                       "%s: images need 3 dimensions (count, rows, columns), the file has %d", ip, d->images[s].ndim);
          goto fail;
        }
      if (d->labels[s].ndim != 1 || d->labels[s].dims[0] != d->images[s].dims[0])
        {
          g_set_error (error, LF_IDX_ERROR, LF_IDX_ERROR_MISMATCH,
                       "%s: %" G_GINT64_FORMAT " labels for the %" G_GINT64_FORMAT " images of %s", lp,
                       d->labels[s].dims[0], d->images[s].dims[0], ip);
          goto fail;
        }
      if (s == 1 && (d->images[1].dims[1] != d->h || d->images[1].dims[2] != d->w))
        {
          g_set_error (error, LF_IDX_ERROR, LF_IDX_ERROR_MISMATCH,
                       "%s: test images are %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT ", training images %"
                       G_GINT64_FORMAT "x%" G_GINT64_FORMAT, ip, d->images[1].dims[1], d->images[1].dims[2], d->h, d->w);
          goto fail;
        }
      d->h = d->images[s].dims[1];
      d->w = d->images[s].dims[2];
      d->n[s] = limit[s] > 0 ? MIN (limit[s], d->images[s].dims[0]) : d->images[s].dims[0];
      for (int64_t i = 0; i < d->n[s]; i++)
        d->classes = MAX (d->classes, (int64_t) d->labels[s].data[i] + 1);
    }
  return d;
fail:
  idx_close (d);
  return NULL;
}

static void
idx_close (void *self)
{
  Idx *d = self;
  for (int s = 0; s < 2; s++)
    {
      lf_idx_clear (&d->images[s]);
      lf_idx_clear (&d->labels[s]);
    }
  g_free (d);
}

static void
idx_info (void *self, LfDatasetInfo *info)
{
  Idx *d = self;
  info->n_train = d->n[0];
  info->n_test = d->n[1];
  info->input_ndim = 2;
  info->input_shape[0] = d->h;
  info->input_shape[1] = d->w;
  info->n_classes = d->classes;
}

static int32_t
idx_label (void *self, LfSplit split, int64_t i)
{
  Idx *d = self;
  return d->labels[split].data[i];
}

static void
idx_fill (void *self, LfSplit split, const int64_t *idx, int64_t n, LfReal *out)
{
  Idx *d = self;
  int64_t D = d->h * d->w;
  const LfReal scale = (LfReal) (1.0 / 255.0);
  for (int64_t r = 0; r < n; r++)
    {
      const uint8_t *img = d->images[split].data + idx[r] * D;
      LfReal *row = out + r * D;
      for (int64_t j = 0; j < D; j++)
        row[j] = (LfReal) img[j] * scale;
    }
}

static const LfDatasetVTable idx_vtable = {
  .struct_size = sizeof (LfDatasetVTable),
  .open = idx_open,
  .close = idx_close,
  .info = idx_info,
  .label = idx_label,
  .fill_inputs = idx_fill,
};

static const char *const idx_aliases[] = { "fashion-mnist", NULL };

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_DATASET,
    .name = "idx",
    .version = "0.1.0",
    .summary = "MNIST-format (IDX) image classification data, gzip or raw; Fashion-MNIST by default",
    .params = idx_params,
    .aliases = idx_aliases,
    .vtable = &idx_vtable,
  };
  return &info;
}
