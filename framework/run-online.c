/* lifelong — what a run measures on an online stream and on noisy labels:
 * the accuracy-over-stream curve (every eval_every samples, on the test
 * data of the classes seen so far) with a_auc and a_last, and the purity of
 * what a strategy replays and keeps.  framework/run.c calls it; the
 * definitions are in docs/open-environments.md and docs/metrics.md. */
#include "run-online.h"
#include <lifelong/metrics.h>
#include <math.h>

struct LfOnlineCurve {
  const LfScenario *sc;
  LfDataset  *ds;
  GPtrArray  *class_test;   /* (n_classes) GArray of int64 test ids of each class */
  uint8_t    *seen;         /* (n_classes): a training sample of the class was in the stream */
  int64_t     n_seen;
  int64_t     pos;          /* stream samples trained on */
  int64_t     next;         /* the next evaluation is due at this position */
  GArray     *at, *acc;     /* double: the curve */
  GArray     *classes;      /* int64: classes seen at each point */
  int64_t     replay_rows, replay_clean;
};

LfOnlineCurve *
lf_online_curve_new (const LfScenario *sc, LfDataset *ds)
{
  LfOnlineCurve *c = g_new0 (LfOnlineCurve, 1);
  c->sc = sc;
  c->ds = ds;
  c->seen = g_new0 (uint8_t, MAX (sc->n_classes, 1));
  c->next = sc->eval_every;
  c->at = g_array_new (FALSE, FALSE, sizeof (double));
  c->acc = g_array_new (FALSE, FALSE, sizeof (double));
  c->classes = g_array_new (FALSE, FALSE, sizeof (int64_t));
  if (sc->online)
    {
      c->class_test = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
      for (int64_t k = 0; k < sc->n_classes; k++)
        g_ptr_array_add (c->class_test, g_array_new (FALSE, FALSE, sizeof (int64_t)));
      for (int64_t e = 0; e < sc->n_exp; e++)
        {
          const GArray *t = sc->exps[e].test;
          for (guint i = 0; i < t->len; i++)
            {
              int64_t id = g_array_index (t, int64_t, i);
              int32_t k = ds->vt->label (ds->self, LF_SPLIT_TEST, id % sc->n_test);
              g_array_append_val (c->class_test->pdata[k], id);
            }
        }
    }
  return c;
}

void
lf_online_curve_free (LfOnlineCurve *c)
{
  if (c == NULL)
    return;
  if (c->class_test)
    g_ptr_array_unref (c->class_test);
  g_array_unref (c->at);
  g_array_unref (c->acc);
  g_array_unref (c->classes);
  g_free (c->seen);
  g_free (c);
}

gboolean
lf_online_curve_advance (LfOnlineCurve *c, const int64_t *ids, int64_t n)
{
  if (!c->sc->online)
    return FALSE;
  for (int64_t i = 0; i < n; i++)
    {
      /* the class the sample truly is: the curve is the host's measurement */
      int32_t k = c->ds->vt->label (c->ds->self, LF_SPLIT_TRAIN, ids[i] % c->sc->n_train);
      c->n_seen += !c->seen[k];
      c->seen[k] = 1;
    }
  c->pos += n;
  if (c->pos < c->next)
    return FALSE;
  while (c->next <= c->pos)
    c->next += c->sc->eval_every;
  return TRUE;
}

gboolean
lf_online_curve_end_due (const LfOnlineCurve *c)
{
  int64_t n = c->at->len;
  return c->sc->online && c->pos > 0 && (n == 0 || g_array_index (c->at, double, n - 1) < (double) c->pos);
}

GArray *
lf_online_curve_eval_ids (const LfOnlineCurve *c)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (int64_t));
  for (int64_t k = 0; k < c->sc->n_classes; k++)
    if (c->seen[k])
      {
        const GArray *t = c->class_test->pdata[k];
        g_array_append_vals (ids, t->data, t->len);
      }
  return ids;
}

void
lf_online_curve_record (LfOnlineCurve *c, double acc)
{
  double at = (double) c->pos;
  g_array_append_val (c->at, at);
  g_array_append_val (c->acc, acc);
  g_array_append_val (c->classes, c->n_seen);
}

void
lf_online_curve_replay (LfOnlineCurve *c, const LfBatch *batch, const int64_t *stream, int64_t n)
{
  if (c->sc->noisy == NULL || batch->sample_ids == NULL)
    return;
  for (int64_t i = 0; i < batch->n; i++)
    {
      /* a row of the step's own samples is not replay (a strategy may put
       * them anywhere, or train on its memory alone) */
      gboolean own = FALSE;
      for (int64_t k = 0; k < n && !own; k++)
        own = batch->sample_ids[i] == stream[k];
      if (own)
        continue;
      c->replay_rows++;
      c->replay_clean += !lf_scenario_flipped (c->sc, batch->sample_ids[i]);
    }
}

static JsonArray *
doubles (const GArray *a)
{
  JsonArray *arr = json_array_new ();
  for (guint i = 0; i < a->len; i++)
    json_array_add_double_element (arr, g_array_index (a, double, i));
  return arr;
}

void
lf_online_curve_add_metrics (const LfOnlineCurve *c, JsonObject *metrics)
{
  if (!c->sc->online)
    return;
  const double *acc = (const double *) c->acc->data, *at = (const double *) c->at->data;
  double auc = lf_metrics_auc (acc, at, c->acc->len), last = lf_metrics_a_last (acc, c->acc->len);
  if (isfinite (auc))
    json_object_set_double_member (metrics, "a_auc", auc);
  else
    json_object_set_null_member (metrics, "a_auc");
  if (isfinite (last))
    json_object_set_double_member (metrics, "a_last", last);
  else
    json_object_set_null_member (metrics, "a_last");
}

JsonNode *
lf_online_curve_json (const LfOnlineCurve *c)
{
  const LfScenario *sc = c->sc;
  JsonObject *o = json_object_new ();
  json_object_set_int_member (o, "eval_every", sc->eval_every);
  json_object_set_boolean_member (o, "boundaries_given", !sc->blurry && sc->give_boundaries);
  if (sc->blurry)
    {
      JsonObject *b = json_object_new ();
      json_object_set_int_member (b, "disjoint_percent", sc->disjoint_percent);
      json_object_set_int_member (b, "blurry_percent", sc->blurry_percent);
      json_object_set_int_member (b, "leaked_samples", sc->n_leaked);
      JsonArray *dj = json_array_new ();
      for (int64_t k = 0; k < sc->n_classes; k++)
        if (sc->class_disjoint[k])
          json_array_add_int_element (dj, k);
      json_object_set_array_member (b, "disjoint_classes", dj);
      json_object_set_object_member (o, "blurry", b);
    }
  else
    json_object_set_null_member (o, "blurry");
  json_object_set_int_member (o, "stream_samples", c->pos);
  json_object_set_array_member (o, "samples", doubles (c->at));
  json_object_set_array_member (o, "accuracy", doubles (c->acc));
  JsonArray *cl = json_array_new ();
  for (guint i = 0; i < c->classes->len; i++)
    json_array_add_int_element (cl, g_array_index (c->classes, int64_t, i));
  json_object_set_array_member (o, "classes_seen", cl);
  JsonNode *n = json_node_alloc ();
  json_node_init_object (n, o);
  json_object_unref (o);
  return n;
}

JsonNode *
lf_label_noise_json (const LfOnlineCurve *c, const GArray *buffer)
{
  const LfScenario *sc = c->sc;
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "type", sc->noise_type);
  json_object_set_double_member (o, "rate", sc->noise_rate);
  json_object_set_int_member (o, "train_samples", sc->n_train);
  json_object_set_int_member (o, "flipped", sc->n_flipped);
  json_object_set_double_member (o, "flipped_fraction",
                                 sc->n_train > 0 ? (double) sc->n_flipped / (double) sc->n_train : 0);
  json_object_set_int_member (o, "replay_rows", c->replay_rows);
  if (c->replay_rows > 0)
    json_object_set_double_member (o, "replay_purity", (double) c->replay_clean / (double) c->replay_rows);
  else
    json_object_set_null_member (o, "replay_purity");
  if (buffer != NULL)
    {
      int64_t clean = 0;
      for (guint i = 0; i < buffer->len; i++)
        clean += !lf_scenario_flipped (sc, g_array_index (buffer, int64_t, i));
      json_object_set_int_member (o, "buffer_size", buffer->len);
      if (buffer->len > 0)
        json_object_set_double_member (o, "buffer_purity", (double) clean / (double) buffer->len);
      else
        json_object_set_null_member (o, "buffer_purity");
    }
  JsonNode *n = json_node_alloc ();
  json_node_init_object (n, o);
  json_object_unref (o);
  return n;
}
