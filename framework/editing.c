/* lifelong — measuring a knowledge-editing run: teacher-forced arg-max on
 * the answer spans of the edit prompts, their paraphrases and unrelated
 * prompts, scored as EasyEdit and WISE score them (lf_metrics_editing). */
#include "editing.h"
#include <lifelong/metrics.h>
#include <math.h>

struct LfEditingEval {
  LfModel          *model;
  const LfScenario *sc;
  LfDataset        *ds;
  int64_t           B;
  GArray           *base_loc;    /* int32: the unedited model's arg-max on every edit's locality answers */
  int64_t          *loc_offs;    /* sum_e n_locality + 1 offsets into base_loc */
  double           *baseline;    /* n_exp: the unedited model's reliability per edit */
  JsonObject       *base;        /* "base_model" */
  JsonArray        *points;
};

/* Samples ids[0..n) of split (dataset indices): the arg-max at each answer
 * position appended to pred, the target to ref; offs[i] .. offs[i+1] are
 * sample i's positions (n + 1 offsets). */
static void
editing_predict (LfEditingEval *ev, LfSplit split, const int64_t *ids, int64_t n, GArray *pred, GArray *ref,
                 int64_t *offs)
{
  offs[0] = pred->len;
  for (int64_t s = 0; s < n; s += ev->B)
    {
      int64_t b = MIN (ev->B, n - s);
      lf_tape_push (FALSE);
      LfBatch *batch = lf_scenario_batch (ev->sc, ev->ds, split, ids + s, b);
      LfModelOutput out;
      lf_model_forward (ev->model, batch, FALSE, &out);
      const int64_t T = batch->seq_len, V = lf_tensor_dim (out.logits, -1);
      const LfReal *L = lf_tensor_data (out.logits);
      for (int64_t i = 0; i < b; i++)
        {
          for (int64_t t = 0; t < T; t++)
            {
              int32_t y = batch->labels[i * T + t];
              if (y < 0)
                continue;
              const LfReal *z = L + (i * T + t) * V;
              int32_t best = 0;
              for (int64_t c = 1; c < V; c++)
                if (z[c] > z[best])
                  best = (int32_t) c;
              g_array_append_val (pred, best);
              g_array_append_val (ref, y);
            }
          offs[s + i + 1] = pred->len;
        }
      lf_tape_pop ();
    }
}

/* The samples of the first k edits, chosen by which (0: rewrites, 1:
 * paraphrases, 2: locality prompts), with the edit each belongs to. */
static int64_t *
editing_samples (const LfScenario *sc, int64_t k, int which, GArray *group)
{
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (int64_t));
  for (int64_t e = 0; e < k; e++)
    {
      const LfEdit *x = &sc->edits[e];
      const int64_t *a = which == 0 ? &x->rewrite : which == 1 ? x->paraphrases : x->locality;
      int64_t n = which == 0 ? 1 : which == 1 ? x->n_paraphrases : x->n_locality;
      g_array_append_vals (ids, a, (guint) n);
      for (int64_t j = 0; j < n; j++)
        g_array_append_val (group, e);
    }
  return (int64_t *) g_array_free (g_steal_pointer (&ids), FALSE);
}

/* Reliability or generalization of the first k edits; per_edit (k values,
 * or NULL) gets each rewrite's score. */
static void
editing_scores (LfEditingEval *ev, int64_t k, int which, double *tok, double *exact, double *per_edit)
{
  g_autoptr (GArray) group = g_array_new (FALSE, FALSE, sizeof (int64_t));
  g_autoptr (GArray) pred = g_array_new (FALSE, FALSE, sizeof (int32_t));
  g_autoptr (GArray) ref = g_array_new (FALSE, FALSE, sizeof (int32_t));
  g_autofree int64_t *ids = editing_samples (ev->sc, k, which, group);
  int64_t n = group->len;
  g_autofree int64_t *offs = g_new (int64_t, n + 1);
  editing_predict (ev, which == 0 ? LF_SPLIT_TRAIN : LF_SPLIT_TEST, ids, n, pred, ref, offs);
  const int32_t *p = (const int32_t *) pred->data, *r = (const int32_t *) ref->data;
  const int64_t *g = (const int64_t *) group->data;
  *tok = lf_metrics_editing (p, r, offs, g, n, FALSE);
  *exact = lf_metrics_editing (p, r, offs, g, n, TRUE);
  for (int64_t i = 0; per_edit && i < n; i++)
    per_edit[i] = lf_metrics_editing (p, r, offs + i, NULL, 1, FALSE);
}

static void
set_num (JsonObject *o, const char *key, double v)
{
  if (isfinite (v))
    json_object_set_double_member (o, key, v);
  else
    json_object_set_null_member (o, key);
}

LfEditingEval *
lf_editing_eval_new (LfModel *model, const LfScenario *sc, LfDataset *ds, int64_t B)
{
  LfEditingEval *ev = g_new0 (LfEditingEval, 1);
  *ev = (LfEditingEval) { .model = model, .sc = sc, .ds = ds, .B = B };
  const int64_t T = sc->n_exp;
  ev->base_loc = g_array_new (FALSE, FALSE, sizeof (int32_t));
  g_autoptr (GArray) group = g_array_new (FALSE, FALSE, sizeof (int64_t));
  g_autoptr (GArray) ref = g_array_new (FALSE, FALSE, sizeof (int32_t));
  g_autofree int64_t *loc = editing_samples (sc, T, 2, group);
  ev->loc_offs = g_new (int64_t, group->len + 1);
  editing_predict (ev, LF_SPLIT_TEST, loc, group->len, ev->base_loc, ref, ev->loc_offs);

  ev->base = json_object_new ();
  ev->points = json_array_new ();
  /* the knowledge base, as the base model knows it */
  const int64_t nk = sc->reference ? sc->reference->len : 0;
  if (nk > 0)
    {
      g_autoptr (GArray) pred = g_array_new (FALSE, FALSE, sizeof (int32_t));
      g_array_set_size (ref, 0);
      g_autofree int64_t *offs = g_new (int64_t, nk + 1);
      editing_predict (ev, LF_SPLIT_TRAIN, (const int64_t *) sc->reference->data, nk, pred, ref, offs);
      const int32_t *p = (const int32_t *) pred->data, *r = (const int32_t *) ref->data;
      set_num (ev->base, "kb_token_accuracy", lf_metrics_editing (p, r, offs, NULL, nk, FALSE));
      set_num (ev->base, "kb_exact_match", lf_metrics_editing (p, r, offs, NULL, nk, TRUE));
    }
  json_object_set_int_member (ev->base, "kb_samples", nk);
  /* before any edit: how often the new objects come out already */
  double tok, exact;
  ev->baseline = g_new (double, T);
  editing_scores (ev, T, 0, &tok, &exact, ev->baseline);
  set_num (ev->base, "reliability", tok);
  editing_scores (ev, T, 1, &tok, &exact, NULL);
  set_num (ev->base, "generalization", tok);
  return ev;
}

void
lf_editing_eval_free (LfEditingEval *ev)
{
  if (ev == NULL)
    return;
  g_array_unref (ev->base_loc);
  g_free (ev->loc_offs);
  g_free (ev->baseline);
  json_object_unref (ev->base);
  json_array_unref (ev->points);
  g_free (ev);
}

const double *
lf_editing_eval_baseline (const LfEditingEval *ev)
{
  return ev->baseline;
}

void
lf_editing_eval_point (LfEditingEval *ev, int64_t k, double edit_s, double *row)
{
  const int64_t T = ev->sc->n_exp;
  double rel, rel_x, gen, gen_x;
  for (int64_t j = 0; j < T; j++)
    row[j] = NAN;
  editing_scores (ev, k, 0, &rel, &rel_x, row);
  editing_scores (ev, k, 1, &gen, &gen_x, NULL);
  /* locality: the first k edits' prompts, against the unedited arg-max */
  g_autoptr (GArray) group = g_array_new (FALSE, FALSE, sizeof (int64_t));
  g_autoptr (GArray) pred = g_array_new (FALSE, FALSE, sizeof (int32_t));
  g_autoptr (GArray) ref = g_array_new (FALSE, FALSE, sizeof (int32_t));
  g_autofree int64_t *ids = editing_samples (ev->sc, k, 2, group);
  int64_t n = group->len;
  g_autofree int64_t *offs = g_new (int64_t, n + 1);
  editing_predict (ev, LF_SPLIT_TEST, ids, n, pred, ref, offs);
  /* the same samples in the same order as the base's prefix */
  g_assert (pred->len == (guint) ev->loc_offs[n]);
  double loc = lf_metrics_editing ((const int32_t *) pred->data, (const int32_t *) ev->base_loc->data, offs,
                                   (const int64_t *) group->data, n, FALSE);
  JsonObject *o = json_object_new ();
  json_object_set_int_member (o, "edits", k);
  set_num (o, "reliability", rel);
  set_num (o, "generalization", gen);
  set_num (o, "locality", loc);
  set_num (o, "score", (rel + gen + loc) / 3);
  set_num (o, "reliability_exact", rel_x);
  set_num (o, "generalization_exact", gen_x);
  set_num (o, "time_per_edit_s", k > 0 ? edit_s / (double) k : NAN);
  json_array_add_object_element (ev->points, o);
}

JsonNode *
lf_editing_eval_json (const LfEditingEval *ev)
{
  JsonObject *o = json_object_new ();
  json_object_set_object_member (o, "base_model", json_object_ref (ev->base));
  json_object_set_array_member (o, "points", json_array_ref (ev->points));
  JsonNode *n = json_node_alloc ();
  json_node_init_object (n, o);
  json_object_unref (o);
  return n;
}

JsonObject *
lf_editing_eval_metrics (const LfEditingEval *ev)
{
  JsonObject *m = json_object_new ();
  guint n = json_array_get_length (ev->points);
  const char *keys[] = { "reliability", "generalization", "locality", "score" };
  const char *names[] = { "reliability", "generalization", "locality", "edit_score" };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      JsonObject *last = n > 0 ? json_array_get_object_element (ev->points, n - 1) : NULL;
      JsonNode *v = last ? json_object_get_member (last, keys[i]) : NULL;
      if (v)
        json_object_set_member (m, names[i], json_node_copy (v));
      else
        json_object_set_null_member (m, names[i]);
    }
  return m;
}
