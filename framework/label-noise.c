/* lifelong — noisy labels on any scenario (scenario.label_noise): exactly
 * round(rate * n) training samples get a wrong label, symmetric (a uniformly
 * random other class) or class-flip (each class to one fixed other class);
 * test labels stay clean, and which samples were flipped stays with the
 * host (buffer purity), never with the strategy.  docs/open-environments.md. */
#include "host.h"
#include "plugin-private.h"
#include <math.h>

static const LfParam noise_params[] = {
  { "type", LF_PARAM_STRING, NULL, 0, 0, "symmetric|class-flip",
    "symmetric: a flipped label is a uniformly random other class; class-flip: each class flips to the next "
    "class of its task (in the class order), or to the next class overall when its task has one class" },
  { "rate", LF_PARAM_FLOAT, NULL, 0, 1, NULL, "fraction of the training samples whose label is wrong" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

/* class-flip's target of every class: the next class of the first
 * experience that lists it, cyclically; a class alone in its experience
 * (or a scenario with one class per experience) goes to the next class of
 * the class order. */
static void
flip_targets (const LfScenario *sc, int32_t *to)
{
  int64_t C = sc->n_classes;
  for (int64_t c = 0; c < C; c++)
    to[c] = -1;
  for (int64_t e = 0; e < sc->n_exp; e++)
    {
      const GArray *cls = sc->exps[e].classes;
      for (guint k = 0; cls->len > 1 && k < cls->len; k++)
        {
          int32_t c = g_array_index (cls, int32_t, k);
          if (to[c] < 0)
            to[c] = g_array_index (cls, int32_t, (k + 1) % cls->len);
        }
    }
  for (int64_t k = 0; k < C; k++)
    {
      int32_t c = sc->class_order[k];
      if (to[c] < 0)
        to[c] = sc->class_order[(k + 1) % C];
    }
}

gboolean
lf_scenario_label_noise (LfScenario *sc, const LfParams *p, LfDataset *ds, uint64_t seed, GError **error)
{
  const char *text = lf_params_get_json (p, "label_noise");
  if (text == NULL || g_str_equal (text, "null"))
    return TRUE;
  g_autoptr (JsonNode) node = json_from_string (text, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.label_noise: %s is not an object {\"type\": \"symmetric\"|\"class-flip\", \"rate\": R}",
                   text);
      return FALSE;
    }
  g_autoptr (GError) local = NULL;
  g_autoptr (LfParams) np = lf_params_from_json (noise_params, json_node_get_object (node), "scenario.label_noise",
                                                 NULL, &local);
  if (np == NULL)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "%s", local->message);
      return FALSE;
    }
  if (sc->lm || sc->n_classes < 2)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.label_noise: needs class labels, at least 2 classes (dataset %s, scenario %s)",
                   ds->info->name, sc->type_name);
      return FALSE;
    }
  sc->noise_type = g_str_equal (lf_params_get_string (np, "type"), "symmetric") ? "symmetric" : "class-flip";
  sc->noise_rate = lf_params_get_float (np, "rate");
  int64_t N = sc->n_train, C = sc->n_classes;
  int64_t m = (int64_t) floor (sc->noise_rate * (double) N + 0.5);
  sc->noisy = g_new (int32_t, MAX (N, 1));
  for (int64_t i = 0; i < N; i++)
    sc->noisy[i] = -1;
  g_autofree int32_t *to = g_new (int32_t, C);
  flip_targets (sc, to);
  g_autofree int64_t *idx = g_new (int64_t, MAX (N, 1));
  for (int64_t i = 0; i < N; i++)
    idx[i] = i;
  /* the first m of a keyed partial shuffle are flipped; the noise has a
   * key of its own, so it is the same whatever the strategy draws */
  LfRng r;
  lf_rng_init (&r, lf_rng_key (seed, 0, 0, 0, "label-noise"));
  for (int64_t j = 0; j < m; j++)
    {
      int64_t k = j + (int64_t) lf_rng_below (&r, (uint64_t) (N - j)), t = idx[j];
      idx[j] = idx[k];
      idx[k] = t;
      int32_t c = ds->vt->label (ds->self, LF_SPLIT_TRAIN, idx[j]);
      int32_t w;
      if (g_str_equal (sc->noise_type, "symmetric"))
        {
          w = (int32_t) lf_rng_below (&r, (uint64_t) (C - 1));
          w += w >= c;   /* any class but c */
        }
      else
        w = to[c];
      sc->noisy[idx[j]] = w;
    }
  sc->n_flipped = m;
  return TRUE;
}
