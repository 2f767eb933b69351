/* lifelong plugin — dataset "synthetic": seeded Gaussian clusters, one per
 * class, optionally shifted per natural domain.  Small and fast: the data of
 * tests and examples. */
#include <lifelong/lifelong.h>
#include <math.h>

typedef struct {
  int64_t classes, dim, domains, n[2];
  LfReal *x[2];     /* (n, dim) */
  int32_t *y[2];
  int32_t *dom[2];
} Syn;

static const LfParam syn_params[] = {
  { "classes", LF_PARAM_INT, "10", 2, 1000, NULL, "number of classes (clusters)" },
  { "dim", LF_PARAM_INT, "32", 1, 100000, NULL, "input features" },
  { "train_per_class", LF_PARAM_INT, "200", 1, 1e7, NULL, "training samples per class (and domain)" },
  { "test_per_class", LF_PARAM_INT, "100", 1, 1e7, NULL, "test samples per class (and domain)" },
  { "separation", LF_PARAM_FLOAT, "3", 0, 1000, NULL, "distance scale between class means" },
  { "noise", LF_PARAM_FLOAT, "1", 0, 1000, NULL, "standard deviation around each mean" },
  { "domains", LF_PARAM_INT, "0", 0, 1000, NULL,
    "natural domains: each shifts every class mean by its own offset (0: none)" },
  { "seed", LF_PARAM_INT, "0", 0, 9.2e18, NULL, "seed of the data (independent of the run's seed)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
syn_open (const LfParams *p, uint64_t key, GError **error)
{
  (void) key;
  (void) error;
  Syn *s = g_new0 (Syn, 1);
  s->classes = lf_params_get_int (p, "classes");
  s->dim = lf_params_get_int (p, "dim");
  s->domains = lf_params_get_int (p, "domains");
  uint64_t seed = (uint64_t) lf_params_get_int (p, "seed");
  double sep = lf_params_get_float (p, "separation"), noise = lf_params_get_float (p, "noise");
  int64_t per[2] = { lf_params_get_int (p, "train_per_class"), lf_params_get_int (p, "test_per_class") };
  int64_t D = s->dim, C = s->classes, ND = MAX (s->domains, 1);
  g_autofree double *means = g_new (double, C * D);
  g_autofree double *shift = g_new0 (double, ND * D);
  LfRng r;
  lf_rng_init (&r, lf_rng_key (seed, 0, 0, 0, "synthetic-means"));
  for (int64_t i = 0; i < C * D; i++)
    means[i] = sep * lf_rng_normal (&r) / sqrt ((double) D) * 2;
  if (s->domains > 0)
    for (int64_t i = 0; i < ND * D; i++)
      shift[i] = sep * lf_rng_normal (&r) / sqrt ((double) D) * 2;
  for (int sp = 0; sp < 2; sp++)
    {
      s->n[sp] = per[sp] * C * ND;
      s->x[sp] = g_new (LfReal, s->n[sp] * D);
      s->y[sp] = g_new (int32_t, s->n[sp]);
      s->dom[sp] = g_new (int32_t, s->n[sp]);
      lf_rng_init (&r, lf_rng_key (seed, (uint64_t) sp, 0, 0, "synthetic-samples"));
      int64_t i = 0;
      /* interleaved: sample k of every class, then k+1, ... */
      for (int64_t k = 0; k < per[sp]; k++)
        for (int64_t d = 0; d < ND; d++)
          for (int64_t c = 0; c < C; c++, i++)
            {
              s->y[sp][i] = (int32_t) c;
              s->dom[sp][i] = s->domains > 0 ? (int32_t) d : -1;
              for (int64_t j = 0; j < D; j++)
                s->x[sp][i * D + j] = (LfReal) (means[c * D + j] + shift[d * D + j] + noise * lf_rng_normal (&r));
            }
    }
  return s;
}

static void
syn_close (void *self)
{
  Syn *s = self;
  for (int sp = 0; sp < 2; sp++)
    {
      g_free (s->x[sp]);
      g_free (s->y[sp]);
      g_free (s->dom[sp]);
    }
  g_free (s);
}

static void
syn_info (void *self, LfDatasetInfo *info)
{
  Syn *s = self;
  info->n_train = s->n[0];
  info->n_test = s->n[1];
  info->input_ndim = 1;
  info->input_shape[0] = s->dim;
  info->n_classes = s->classes;
  info->n_domains = s->domains;
}

static int32_t syn_label (void *self, LfSplit sp, int64_t i) { return ((Syn *) self)->y[sp][i]; }
static int32_t syn_domain (void *self, LfSplit sp, int64_t i) { return ((Syn *) self)->dom[sp][i]; }

static void
syn_fill (void *self, LfSplit sp, const int64_t *idx, int64_t n, LfReal *out)
{
  Syn *s = self;
  for (int64_t r = 0; r < n; r++)
    memcpy (out + r * s->dim, s->x[sp] + idx[r] * s->dim, (size_t) s->dim * sizeof (LfReal));
}

static const LfDatasetVTable syn_vtable = {
  .struct_size = sizeof (LfDatasetVTable),
  .open = syn_open,
  .close = syn_close,
  .info = syn_info,
  .label = syn_label,
  .domain = syn_domain,
  .fill_inputs = syn_fill,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_DATASET,
    .name = "synthetic",
    .version = "0.1.0",
    .summary = "seeded Gaussian clusters, one per class, optional natural domains: fast data for tests",
    .params = syn_params,
    .vtable = &syn_vtable,
  };
  return &info;
}
