/* lifelong — online streams: the "online" scenario's settings (eval_every,
 * boundaries, blurry) and the i-Blurry-N-M task configuration of Koh et al.
 * (ICLR 2022): N% of the classes are disjoint (in one task only), the
 * others' home tasks hold most of their samples and M% leak into the other
 * tasks.  docs/open-environments.md. */
#include "host.h"
#include "plugin-private.h"
#include <math.h>

static const LfParam blurry_params[] = {
  { "disjoint_percent", LF_PARAM_INT, NULL, 0, 100, NULL,
    "N: percent of the classes that are disjoint (each appears in its own task only)" },
  { "blurry_percent", LF_PARAM_INT, NULL, 0, 100, NULL,
    "M: percent of each blurry class's training samples spread over the other tasks" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

gboolean
lf_scenario_online_setup (LfScenario *sc, const LfParams *p, GError **error)
{
  const char *type = lf_params_get_string (p, "type");
  const char *blurry = lf_params_get_json (p, "blurry");
  gboolean has_blurry = blurry != NULL && !g_str_equal (blurry, "null");
  const char *fj = lf_params_get_json (p, "feedback");
  const gboolean feedback = g_str_equal (type, "feedback");
  if (!feedback && fj != NULL && !g_str_equal (fj, "null"))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "scenario.feedback: applies to feedback scenarios, not %s",
                   type);
      return FALSE;
    }
  if (feedback)
    {
      /* the corrector is the oracle: one budget, given here */
      if (fj == NULL || g_str_equal (fj, "null"))
        {
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                       "scenario.feedback: required by the feedback scenario, such as {\"budget\": 1000}");
          return FALSE;
        }
      if (!g_str_equal (lf_params_get_json (p, "oracle"), "null"))
        {
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                       "scenario.oracle: %s given, and a feedback scenario's oracle is its corrector; give the budget "
                       "as scenario.feedback.budget", lf_params_get_json (p, "oracle"));
          return FALSE;
        }
      const char *noise = lf_params_get_json (p, "label_noise");
      if (noise != NULL && !g_str_equal (noise, "null"))
        {
          /* the labels a feedback run trains on are the corrector's */
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                       "scenario.label_noise: %s given, and a feedback scenario trains on the corrector's labels "
                       "only (true ones); use label_noise with other scenarios", noise);
          return FALSE;
        }
      if (!lf_feedback_config_parse (fj, &sc->feedback_cfg, error))
        return FALSE;
      sc->feedback = TRUE;
    }
  if (!g_str_equal (type, "online") && !feedback)
    {
      const char *online_only[] = { "blurry", "eval_every", "boundaries" };
      const gboolean given[] = { has_blurry, lf_params_is_set (p, "eval_every"), lf_params_is_set (p, "boundaries") };
      for (guint i = 0; i < G_N_ELEMENTS (online_only); i++)
        if (given[i])
          {
            g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                         "scenario.%s: applies to online scenarios, not %s", online_only[i], type);
            return FALSE;
          }
      return TRUE;
    }
  sc->online = TRUE;
  sc->eval_every = lf_params_get_int (p, "eval_every");
  sc->give_boundaries = lf_params_get_bool (p, "boundaries");
  if (!has_blurry)
    return TRUE;
  g_autoptr (JsonNode) node = json_from_string (blurry, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.blurry: %s is not an object {\"disjoint_percent\": N, \"blurry_percent\": M}", blurry);
      return FALSE;
    }
  g_autoptr (GError) local = NULL;
  g_autoptr (LfParams) bp = lf_params_from_json (blurry_params, json_node_get_object (node), "scenario.blurry", NULL,
                                                 &local);
  if (bp == NULL)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "%s", local->message);
      return FALSE;
    }
  if (sc->give_boundaries)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.boundaries: true, but a blurry stream has no boundaries to give (its tasks share "
                   "classes); drop scenario.blurry or scenario.boundaries");
      return FALSE;
    }
  sc->blurry = TRUE;
  sc->disjoint_percent = lf_params_get_int (bp, "disjoint_percent");
  sc->blurry_percent = lf_params_get_int (bp, "blurry_percent");
  return TRUE;
}

/* n items into T groups, the first n % T one larger: group g starts at
 * start (g). */
static int64_t
chunk_start (int64_t n, int64_t T, int64_t g)
{
  return g * (n / T) + MIN (g, n % T);
}

void
lf_scenario_online_classes (LfScenario *sc, int32_t *class_exp)
{
  if (!sc->blurry)
    return;
  /* the first round(N% C) classes of the class order are disjoint, split
   * over the tasks as evenly as they go; the blurry rest likewise */
  int64_t C = sc->n_classes, T = sc->n_exp;
  int64_t nd = (int64_t) floor ((double) sc->disjoint_percent * (double) C / 100.0 + 0.5), nb = C - nd;
  sc->class_disjoint = g_new0 (uint8_t, C);
  for (int64_t e = 0; e < T; e++)
    g_array_set_size (sc->exps[e].classes, 0);
  for (int64_t e = 0; e < T; e++)
    {
      for (int64_t k = chunk_start (nd, T, e); k < chunk_start (nd, T, e + 1); k++)
        {
          int32_t c = sc->class_order[k];
          sc->class_disjoint[c] = 1;
          class_exp[c] = (int32_t) e;
          g_array_append_val (sc->exps[e].classes, c);
        }
      /* the blurry chunks in reverse, so that with C >= T every task gets
       * a class when the disjoint ones run out (the larger chunks of one
       * kind go first, of the other last) */
      int64_t g = T - 1 - e;
      for (int64_t k = chunk_start (nb, T, g); k < chunk_start (nb, T, g + 1); k++)
        {
          int32_t c = sc->class_order[nd + k];
          class_exp[c] = (int32_t) e;
          g_array_append_val (sc->exps[e].classes, c);
        }
    }
}

/* M% of each blurry class's training samples (exactly round(M% n_c),
 * chosen by a keyed shuffle) move from the class's home task to another
 * task, uniformly among the other T - 1.  Test samples stay home: the
 * matrix tests each task on its own classes.  Runs before validation is
 * carved and the ids are sorted. */
void
lf_scenario_online_blur (LfScenario *sc, LfDataset *ds, uint64_t seed)
{
  int64_t T = sc->n_exp, N = sc->n_train;
  if (!sc->blurry || T < 2 || sc->blurry_percent == 0)
    return;
  g_autofree int64_t *in_class = g_new (int64_t, MAX (N, 1));
  g_autofree int32_t *dest = g_new (int32_t, MAX (N, 1));
  for (int64_t e = 0; e < T; e++)
    {
      LfExperience *x = &sc->exps[e];
      for (int64_t i = 0; i < N; i++)
        dest[i] = -1;
      for (guint k = 0; k < x->classes->len; k++)
        {
          int32_t c = g_array_index (x->classes, int32_t, k);
          if (sc->class_disjoint[c])
            continue;
          int64_t n = 0;
          for (guint i = 0; i < x->train->len; i++)
            {
              int64_t idx = g_array_index (x->train, int64_t, i) - e * N;
              if (ds->vt->label (ds->self, LF_SPLIT_TRAIN, idx) == c)
                in_class[n++] = idx;
            }
          int64_t m = (int64_t) floor ((double) sc->blurry_percent * (double) n / 100.0 + 0.5);
          LfRng r;
          lf_rng_init (&r, lf_rng_key (seed, (uint64_t) c, 0, 0, "blurry"));
          for (int64_t j = 0; j < m; j++)
            {
              /* partial Fisher-Yates: in_class[0..m) is a uniform subset */
              int64_t pick = j + (int64_t) lf_rng_below (&r, (uint64_t) (n - j)), t = in_class[j];
              in_class[j] = in_class[pick];
              in_class[pick] = t;
              int64_t to = (int64_t) lf_rng_below (&r, (uint64_t) (T - 1));
              dest[in_class[j]] = (int32_t) (to >= e ? to + 1 : to);
            }
        }
      /* move them, keeping the rest in place */
      guint kept = 0;
      for (guint i = 0; i < x->train->len; i++)
        {
          int64_t id = g_array_index (x->train, int64_t, i), idx = id - e * N;
          if (dest[idx] < 0)
            {
              g_array_index (x->train, int64_t, kept++) = id;
              continue;
            }
          int64_t nid = (int64_t) dest[idx] * N + idx;
          g_array_append_val (sc->exps[dest[idx]].train, nid);
          sc->n_leaked++;
        }
      /* (samples appended to later tasks were appended past their
       * original length, and are not visited as theirs: dest is reset per
       * task and a moved id's task differs from e) */
      g_array_set_size (x->train, kept);
    }
}

/* The member key of a JSON object text, as an integer (-1 if absent). */
static int64_t
json_text_int (const char *text, const char *key)
{
  g_autoptr (JsonNode) n = json_from_string (text, NULL);
  if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n) || !json_object_has_member (json_node_get_object (n), key))
    return -1;
  return json_object_get_int_member (json_node_get_object (n), key);
}

char *
lf_scenario_label_suffix (const LfParams *p)
{
  GString *s = g_string_new (NULL);
  const char *blurry = lf_params_get_json (p, "blurry");
  const char *type = lf_params_get_string (p, "type");
  if (g_str_equal (type, "online") || g_str_equal (type, "feedback"))
    {
      if (blurry != NULL && !g_str_equal (blurry, "null"))
        g_string_append_printf (s, "/blurry-%" G_GINT64_FORMAT "-%" G_GINT64_FORMAT,
                                json_text_int (blurry, "disjoint_percent"), json_text_int (blurry, "blurry_percent"));
      else
        g_string_append (s, lf_params_get_bool (p, "boundaries") ? "/fixed-told" : "/fixed");
    }
  LfFeedbackConfig fc;
  if (g_str_equal (type, "feedback") && lf_feedback_config_parse (lf_params_get_json (p, "feedback"), &fc, NULL))
    g_string_append_printf (s, "/budget-%" G_GINT64_FORMAT "-revisit-%g-gap-%" G_GINT64_FORMAT, fc.budget,
                            fc.revisit_probability, fc.revisit_gap);
  const char *noise = lf_params_get_json (p, "label_noise");
  g_autoptr (JsonNode) n = noise && !g_str_equal (noise, "null") ? json_from_string (noise, NULL) : NULL;
  if (n != NULL && JSON_NODE_HOLDS_OBJECT (n))
    {
      JsonObject *o = json_node_get_object (n);
      const char *type = json_object_has_member (o, "type") ? json_object_get_string_member (o, "type") : NULL;
      double rate = json_object_has_member (o, "rate") ? json_object_get_double_member (o, "rate") : NAN;
      g_string_append_printf (s, "/noise-%s-%g", type ? type : "?", rate);
    }
  /* scenarios that differ only in their class order are not seeds of one
   * another: a matrix over orders keeps them apart */
  int64_t n_order;
  lf_params_get_int_list (p, "class_order", &n_order);
  if (n_order > 0)
    g_string_append (s, "/order-given");
  else if (lf_params_is_set (p, "order_seed"))
    {
      int64_t os = lf_params_get_int (p, "order_seed");
      if (os < 0)
        g_string_append (s, "/order-natural");
      else
        g_string_append_printf (s, "/order-%" G_GINT64_FORMAT, os);
    }
  return g_string_free (s, FALSE);
}
