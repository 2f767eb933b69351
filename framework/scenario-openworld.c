/* lifelong — the open-world scenario (docs/open-environments.md): the
 * first experience trains K known classes with labels; every later one is
 * an unlabelled deployment stream that brings unseen classes (in stages)
 * mixed with the classes seen before, whose labels only the oracle gives.
 * Also the oracle's truth for any scenario that has one. */
#include "host.h"
#include <math.h>

gboolean
lf_openworld_check_keys (const LfParams *p, const char *type, GError **error)
{
  gboolean ow = g_str_equal (type, "open-world");
  if (!ow && lf_params_get_int (p, "known_classes") != 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.known_classes: applies to open-world scenarios, not %s", type);
      return FALSE;
    }
  const char *oracle = lf_params_get_json (p, "oracle");
  gboolean text = g_str_equal (type, "knowledge-editing") || g_str_equal (type, "continual-pretraining");
  if (text && !g_str_equal (oracle, "null"))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.oracle: the oracle gives class labels, and a %s scenario has none", type);
      return FALSE;
    }
  if (ow && lf_params_is_set (p, "schedule"))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.schedule: does not apply to open-world (its streams come in the order classes arrive)");
      return FALSE;
    }
  if (ow && lf_params_get_float (p, "validation_fraction") != 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.validation_fraction: %g given, but an open-world scenario has no labelled data to "
                   "spare after its first experience (use 0)", lf_params_get_float (p, "validation_fraction"));
      return FALSE;
    }
  return TRUE;
}

gboolean
lf_openworld_setup (LfScenario *sc, const LfParams *p, int64_t C, int64_t T, GError **error)
{
  int64_t K = lf_params_get_int (p, "known_classes");
  if (T < 2)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.experiences: open-world needs at least 2 (the labelled one and a deployment stream), "
                   "got %" G_GINT64_FORMAT, T);
      return FALSE;
    }
  if (K == 0)
    K = C - (T - 1);
  if (K < 1 || C - K < T - 1)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.known_classes: %" G_GINT64_FORMAT " known classes leave %" G_GINT64_FORMAT
                   " of the dataset's %" G_GINT64_FORMAT " for %" G_GINT64_FORMAT " deployment experiences "
                   "(each needs at least one new class; at least one known class)",
                   lf_params_get_int (p, "known_classes"), C - K, C, T - 1);
      return FALSE;
    }
  sc->known_classes = K;
  return TRUE;
}

int64_t
lf_openworld_classes_in (const LfScenario *sc, int64_t e, int64_t C, int64_t T)
{
  int64_t K = sc->known_classes, S = T - 1, U = C - K;
  if (e == 0)
    return K;
  /* like class-incremental: the first U % S stages get one class more */
  return U / S + (e - 1 < U % S ? 1 : 0);
}

int64_t
lf_openworld_stream_of (int64_t i, int64_t first, int64_t T, uint64_t seed)
{
  LfRng r;
  lf_rng_init (&r, lf_rng_key (seed, (uint64_t) i, 0, 0, "open-world-stream"));
  return first + (int64_t) lf_rng_below (&r, (uint64_t) (T - first));
}

static int
cmp_id (const void *a, const void *b)
{
  int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
  return (x > y) - (x < y);
}

/* The oracle's truth: a training sample of a stream that has arrived. */
static gboolean
openworld_truth (void *data, LfSplit split, int64_t id, int64_t now, int32_t *label, GError **error)
{
  LfScenario *sc = data;
  if (split != LF_SPLIT_TRAIN)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                   "oracle: sample %" G_GINT64_FORMAT " of the test split: the oracle answers about training "
                   "samples only (test samples are for evaluation)", id);
      return FALSE;
    }
  int64_t e = id >= 0 ? id / sc->n_train : -1;
  if (id < 0 || e >= sc->n_exp)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                   "oracle: sample id %" G_GINT64_FORMAT " is not a training sample of this scenario "
                   "(ids are experience * %" G_GINT64_FORMAT " + index, below %" G_GINT64_FORMAT ")", id,
                   sc->n_train, sc->n_exp * sc->n_train);
      return FALSE;
    }
  if (e > now)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                   "oracle: sample %" G_GINT64_FORMAT " belongs to experience %" G_GINT64_FORMAT
                   ", which has not arrived (the current one is %" G_GINT64_FORMAT ")", id, e, now);
      return FALSE;
    }
  GArray *tr = sc->exps[e].train;
  if (bsearch (&id, tr->data, tr->len, sizeof (int64_t), cmp_id) == NULL)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                   "oracle: sample %" G_GINT64_FORMAT " is not in experience %" G_GINT64_FORMAT "'s stream", id, e);
      return FALSE;
    }
  *label = sc->label_map[sc->ds->vt->label (sc->ds->self, LF_SPLIT_TRAIN, id % sc->n_train)];
  return TRUE;
}

gboolean
lf_openworld_finish (LfScenario *sc, const LfParams *p, LfDataset *ds, GError **error)
{
  sc->ds = ds;
  if (sc->open_world)
    {
      sc->hidden_labels = TRUE;
      sc->labelled_exps = 1;
    }
  if (sc->feedback)
    {
      /* every label of the stream hidden: the corrector gives them */
      sc->hidden_labels = TRUE;
      sc->labelled_exps = 0;
      sc->oracle = lf_oracle_new (sc->feedback_cfg.budget, openworld_truth, sc);
      return TRUE;
    }
  const char *oj = lf_params_get_json (p, "oracle");
  if (g_str_equal (oj, "null"))
    return TRUE;
  int64_t budget;
  if (!lf_oracle_config_parse (oj, &budget, error))
    return FALSE;
  sc->oracle = lf_oracle_new (budget, openworld_truth, sc);
  return TRUE;
}

int32_t
lf_scenario_train_label (const LfScenario *sc, LfDataset *ds, int64_t id)
{
  int32_t y;
  if (sc->hidden_labels && id / sc->n_train >= sc->labelled_exps)
    return lf_oracle_known (sc->oracle, LF_SPLIT_TRAIN, id, &y) ? y : LF_LABEL_UNKNOWN;
  return sc->label_map[lf_scenario_train_class (sc, ds, id % sc->n_train)];   /* noisy under label_noise */
}

GArray *
lf_scenario_labelled (LfScenario *sc, int64_t e)
{
  LfExperience *x = &sc->exps[e];
  if (!sc->hidden_labels || e < sc->labelled_exps)
    return x->train;
  if (x->labelled == NULL)
    x->labelled = g_array_new (FALSE, FALSE, sizeof (int64_t));
  g_array_set_size (x->labelled, 0);
  int32_t y;
  for (guint i = 0; i < x->train->len; i++)
    {
      int64_t id = g_array_index (x->train, int64_t, i);
      if (lf_oracle_known (sc->oracle, LF_SPLIT_TRAIN, id, &y))
        g_array_append_val (x->labelled, id);
    }
  return x->labelled;
}

/* ---- evaluation ---------------------------------------------------------- */

#define SV_HAS(vt, field) \
  ((vt)->struct_size >= G_STRUCT_OFFSET (LfStrategyVTable, field) + sizeof (void *) && (vt)->field != NULL)

double
lf_openworld_novelty_auroc (LfScenario *sc, LfStrategyCtx *ctx, const LfStrategyVTable *svt, void *strat,
                            int64_t e, int64_t B)
{
  int64_t T = sc->n_exp, total = 0;
  if (e + 1 >= T)
    return NAN;   /* every class has arrived: nothing is unseen */
  for (int64_t j = 0; j < T; j++)
    total += sc->exps[j].test->len;
  g_autofree double *scores = g_new (double, MAX (total, 1));
  g_autofree uint8_t *positive = g_new (uint8_t, MAX (total, 1));
  int64_t at = 0;
  for (int64_t j = 0; j < T; j++)
    {
      GArray *ids = sc->exps[j].test;
      for (int64_t s = 0; s < (int64_t) ids->len; s += B)
        {
          int64_t b = MIN (B, (int64_t) ids->len - s);
          lf_tape_push (FALSE);
          LfBatch *batch = lf_scenario_batch (sc, sc->ds, LF_SPLIT_TEST, (const int64_t *) ids->data + s, b);
          LfModelOutput out;
          lf_ctx_forward (ctx, batch, FALSE, &out);
          if (SV_HAS (svt, novelty))
            svt->novelty (strat, ctx, batch, &out, scores + at);
          else
            lf_novelty_msp (lf_tensor_data (out.logits), b, lf_tensor_dim (out.logits, -1), NULL, scores + at);
          memset (positive + at, j > e, (size_t) b);
          at += b;
          lf_tape_pop ();
        }
    }
  return lf_metrics_auroc (scores, positive, total);
}

static JsonNode *
number_or_null (double v)
{
  JsonNode *n = json_node_new (JSON_NODE_VALUE);
  if (isfinite (v))
    json_node_set_double (n, v);
  else
    json_node_init_null (n);
  return n;
}

/* Row i's accuracy on the classes that arrived after the first experience
 * and up to row_exp[i], pooled over their test samples (NaN before any). */
static double
new_accuracy (const LfScenario *sc, const double *row, int64_t upto)
{
  double hit = 0, n = 0;
  for (int64_t j = 1; j <= upto && j < sc->n_exp; j++)
    {
      double m = (double) sc->exps[j].test->len;
      hit += row[j] * m;
      n += m;
    }
  return n > 0 ? hit / n : NAN;
}

void
lf_openworld_result (const LfScenario *sc, const double *R, const int64_t *row_exp, int64_t nrows,
                     const double *novelty, gboolean strategy_scores, JsonObject *metrics, JsonObject *top)
{
  int64_t T = sc->n_exp;
  JsonObject *ow = json_object_new ();
  json_object_set_int_member (ow, "known_classes", sc->known_classes);
  JsonArray *cls = json_array_new ();
  for (int64_t e = 0; e < T; e++)
    {
      JsonArray *a = json_array_new ();
      for (guint k = 0; k < sc->exps[e].classes->len; k++)
        json_array_add_int_element (a, g_array_index (sc->exps[e].classes, int32_t, k));
      json_array_add_array_element (cls, a);
    }
  json_object_set_array_member (ow, "classes", cls);
  json_object_set_string_member (ow, "novelty_score", strategy_scores ? "strategy" : "msp");
  JsonArray *na = json_array_new (), *oa = json_array_new (), *wa = json_array_new ();
  double sum = 0, last_old = NAN, last_new = NAN;
  int64_t defined = 0;
  for (int64_t i = 0; i < nrows; i++)
    {
      json_array_add_element (na, number_or_null (novelty[i]));
      if (isfinite (novelty[i]))
        {
          sum += novelty[i];
          defined++;
        }
      last_old = R[i * T];
      last_new = new_accuracy (sc, R + i * T, row_exp[i]);
      json_array_add_element (oa, number_or_null (last_old));
      json_array_add_element (wa, number_or_null (last_new));
    }
  json_object_set_array_member (ow, "novelty_auroc", na);
  json_object_set_array_member (ow, "old_accuracy", oa);
  json_object_set_array_member (ow, "new_accuracy", wa);
  json_object_set_member (ow, "labels_used", json_node_init_int (json_node_alloc (), lf_oracle_used (sc->oracle)));
  json_object_set_object_member (top, "open_world", ow);
  json_object_set_member (metrics, "novelty_auroc", number_or_null (defined > 0 ? sum / (double) defined : NAN));
  json_object_set_member (metrics, "old_accuracy", number_or_null (last_old));
  json_object_set_member (metrics, "new_accuracy", number_or_null (last_new));
}
