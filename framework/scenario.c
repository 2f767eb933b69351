/* lifelong — scenarios: a dataset turned into a sequence of experiences,
 * each a list of sample ids (never a copy of the data), with the label map,
 * task ids and input transforms (permutation, rotation) the scenario type
 * asks for, and a validation part carved from each experience's training
 * data. */
#include "host.h"
#include <math.h>

static GArray *
ids_new (void)
{
  return g_array_new (FALSE, FALSE, sizeof (int64_t));
}

void
lf_scenario_free (LfScenario *sc)
{
  if (sc == NULL)
    return;
  for (int64_t e = 0; e < sc->n_exp; e++)
    {
      LfExperience *x = &sc->exps[e];
      if (x->train) g_array_unref (x->train);
      if (x->valid) g_array_unref (x->valid);
      if (x->test) g_array_unref (x->test);
      if (x->classes) g_array_unref (x->classes);
      if (x->labelled) g_array_unref (x->labelled);
      g_free (x->perm);
    }
  g_free (sc->class_disjoint);
  g_free (sc->noisy);
  g_free (sc->exps);
  g_free (sc->exp_task);
  g_free (sc->edits);
  if (sc->eval_at) g_array_unref (sc->eval_at);
  if (sc->reference) g_array_unref (sc->reference);
  if (sc->general) g_array_unref (sc->general);
  g_free (sc->label_map);
  g_free (sc->class_order);
  lf_oracle_free (sc->oracle);
  g_free (sc);
}

/* Fisher-Yates with a keyed generator. */
static void
shuffle_i64 (int64_t *a, int64_t n, uint64_t key)
{
  LfRng r;
  lf_rng_init (&r, key);
  for (int64_t i = n - 1; i > 0; i--)
    {
      int64_t j = (int64_t) lf_rng_below (&r, (uint64_t) i + 1), t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
}

/* Moves the first floor(frac * n) of a shuffled copy of train into valid. */
static void
carve_validation (LfExperience *x, double frac, uint64_t key)
{
  x->valid = ids_new ();
  int64_t n = x->train->len, nv = (int64_t) floor (frac * (double) n);
  if (nv <= 0)
    return;
  int64_t *a = (int64_t *) x->train->data;
  shuffle_i64 (a, n, key);
  g_array_append_vals (x->valid, a, (guint) nv);
  g_array_remove_range (x->train, 0, (guint) nv);
}

static int
cmp_i64 (const void *a, const void *b)
{
  int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
  return (x > y) - (x < y);
}

static gboolean
class_order_from_params (const LfParams *p, int64_t C, int32_t *order, GError **error)
{
  int64_t n;
  const int64_t *given = lf_params_get_int_list (p, "class_order", &n);
  if (n > 0)
    {
      if (n != C)
        {
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                       "scenario.class_order: %" G_GINT64_FORMAT " classes given, the dataset has %" G_GINT64_FORMAT,
                       n, C);
          return FALSE;
        }
      g_autofree gboolean *seen = g_new0 (gboolean, C);
      for (int64_t i = 0; i < C; i++)
        {
          if (given[i] < 0 || given[i] >= C || seen[given[i]])
            {
              g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                           "scenario.class_order[%" G_GINT64_FORMAT "]: %" G_GINT64_FORMAT
                           " is not a permutation entry of 0..%" G_GINT64_FORMAT " (out of range or repeated)",
                           i, given[i], C - 1);
              return FALSE;
            }
          seen[given[i]] = TRUE;
          order[i] = (int32_t) given[i];
        }
      return TRUE;
    }
  int64_t os = lf_params_get_int (p, "order_seed");
  g_autofree int64_t *tmp = g_new (int64_t, C);
  for (int64_t i = 0; i < C; i++)
    tmp[i] = i;
  /* -1: the natural order; a seed >= 0 shuffles (independently of the
   * run's seed, so seeds vary initialisation and data order only) */
  if (os >= 0)
    shuffle_i64 (tmp, C, lf_rng_key ((uint64_t) os, 0, 0, 0, "class-order"));
  for (int64_t i = 0; i < C; i++)
    order[i] = (int32_t) tmp[i];
  return TRUE;
}

#define DS_HAS(ds, field) \
  ((ds)->vt->struct_size >= G_STRUCT_OFFSET (LfDatasetVTable, field) + sizeof (void *) && (ds)->vt->field != NULL)

static GArray *
rebase_ids (const GArray *ids, int64_t n, int64_t k)
{
  GArray *out = ids_new ();
  for (guint i = 0; i < ids->len; i++)
    {
      int64_t id = k * n + g_array_index (ids, int64_t, i) % n;
      g_array_append_val (out, id);
    }
  return out;
}

/* scenario.schedule: the experiences built so far become tasks, played in
 * the schedule's order; a task that recurs keeps its task id, classes,
 * transform and validation part, with sample ids of its new position (so
 * replay and the matrix keep the occurrences apart). */
static gboolean
apply_schedule (LfScenario *sc, const LfParams *p, int64_t D, GError **error)
{
  int64_t S;
  const int64_t *sched = lf_params_get_int_list (p, "schedule", &S);
  sc->n_tasks = sc->n_exp;
  if (S == 0)
    return TRUE;
  for (int64_t k = 0; k < S; k++)
    if (sched[k] < 0 || sched[k] >= sc->n_exp)
      {
        g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                     "scenario.schedule[%" G_GINT64_FORMAT "]: %" G_GINT64_FORMAT " is not an experience "
                     "(0 .. %" G_GINT64_FORMAT ")", k, sched[k], sc->n_exp - 1);
        return FALSE;
      }
  LfExperience *exps = g_new0 (LfExperience, S);
  sc->exp_task = g_new (int32_t, S);
  for (int64_t k = 0; k < S; k++)
    {
      const LfExperience *g = &sc->exps[sched[k]];
      LfExperience *x = &exps[k];
      x->train = rebase_ids (g->train, sc->n_train, k);
      x->valid = rebase_ids (g->valid, sc->n_train, k);
      x->test = rebase_ids (g->test, sc->n_test, k);
      x->classes = g_array_copy (g->classes);
      x->perm = g->perm ? g_memdup2 (g->perm, (gsize) D * sizeof (int32_t)) : NULL;
      x->angle = g->angle;
      sc->exp_task[k] = (int32_t) sched[k];
    }
  int64_t T = sc->n_exp;
  sc->n_exp = S;   /* lf_scenario_free below frees S experiences: swap first */
  LfExperience *old = sc->exps;
  sc->exps = exps;
  for (int64_t e = 0; e < T; e++)
    {
      g_array_unref (old[e].train);
      g_array_unref (old[e].valid);
      g_array_unref (old[e].test);
      g_array_unref (old[e].classes);
      g_free (old[e].perm);
    }
  g_free (old);
  sc->n_tasks = T;
  return TRUE;
}

/* knowledge-editing: experience e holds edit e's rewrite (its training
 * sample) and its paraphrases (its test samples); the locality prompts and
 * the knowledge base stay with the scenario (docs/editing.md). */
static gboolean
editing_build (LfScenario *sc, const LfParams *p, LfDataset *ds, GError **error)
{
  const char *name = ds->info->name;
  if (!sc->sequences || !DS_HAS (ds, edit) || !DS_HAS (ds, answer_span))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.type: knowledge-editing needs a text dataset with edit requests and answer spans "
                   "(such as facts), and %s has none", name);
      return FALSE;
    }
  /* keys of other scenarios, given other than at their defaults (a
   * resolved config, which lists every key, runs again) */
  int64_t n_order;
  lf_params_get_int_list (p, "class_order", &n_order);
  const char *not_here[] = { "experiences", "domains", "class_order", "order_seed", "validation_fraction" };
  const gboolean changed[] = { lf_params_get_int (p, "experiences") != 5,
                               !g_str_equal (lf_params_get_string (p, "domains"), "split"), n_order > 0,
                               lf_params_get_int (p, "order_seed") != -1,
                               lf_params_get_float (p, "validation_fraction") != 0 };
  for (guint i = 0; i < G_N_ELEMENTS (not_here); i++)
    if (changed[i])
      {
        g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                     "scenario.%s: does not apply to knowledge-editing (one experience per edit: scenario.edits)",
                     not_here[i]);
        return FALSE;
      }
  int64_t T = lf_params_get_int (p, "edits"), n_at;
  const int64_t *at = lf_params_get_int_list (p, "eval_at", &n_at);
  sc->eval_at = g_array_new (FALSE, FALSE, sizeof (int64_t));
  for (int64_t i = 0; i < n_at; i++)
    {
      if (at[i] > T || (i > 0 && at[i] <= at[i - 1]))
        {
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                       "scenario.eval_at[%" G_GINT64_FORMAT "]: %" G_GINT64_FORMAT " %s", i, at[i],
                       at[i] > T ? "is past the last edit (scenario.edits)" : "does not follow the one before it "
                       "(the list must increase)");
          return FALSE;
        }
      if (at[i] < T)
        g_array_append_val (sc->eval_at, at[i]);
    }
  g_array_append_val (sc->eval_at, T);
  sc->edits = g_new0 (LfEdit, T);
  for (int64_t e = 0; e < T; e++)
    {
      sc->edits[e].struct_size = sizeof (LfEdit);
      if (!ds->vt->edit (ds->self, e, &sc->edits[e]))
        {
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                       "scenario.edits: %" G_GINT64_FORMAT " edits asked for, dataset %s has %" G_GINT64_FORMAT
                       " edit requests (make its knowledge base bigger)", T, name, e);
          return FALSE;
        }
    }
  sc->type = LF_SCENARIO_DOMAIN_IL;
  sc->domains = LF_DOMAINS_NATURAL;
  sc->lm = sc->editing = TRUE;
  sc->n_classes = 1;
  sc->class_order = g_new0 (int32_t, 1);
  sc->label_map = g_new0 (int32_t, 1);
  sc->n_exp = T;
  sc->exps = g_new0 (LfExperience, T);
  for (int64_t e = 0; e < T; e++)
    {
      LfExperience *x = &sc->exps[e];
      x->classes = g_array_new (FALSE, FALSE, sizeof (int32_t));
      x->train = ids_new ();
      x->valid = ids_new ();
      x->test = ids_new ();
      int64_t id = e * sc->n_train + sc->edits[e].rewrite;
      g_array_append_val (x->train, id);
      for (int64_t j = 0; j < sc->edits[e].n_paraphrases; j++)
        {
          id = e * sc->n_test + sc->edits[e].paraphrases[j];
          g_array_append_val (x->test, id);
        }
    }
  /* the knowledge base: the training texts of the dataset's domains (the
   * rewrites have none) */
  sc->reference = ids_new ();
  for (int64_t i = 0; DS_HAS (ds, domain) && i < sc->n_train; i++)
    if (ds->vt->domain (ds->self, LF_SPLIT_TRAIN, i) >= 0)
      g_array_append_val (sc->reference, i);
  return TRUE;
}

/* instruction-tuning: every task sample (its prompt, answer and end token)
 * fits the context, and the evaluation keeps the first eval_items test items of
 * each task. */
static gboolean
instruct_check (LfScenario *sc, const LfParams *p, LfDataset *ds, GError **error)
{
  for (int split = 0; split < 2; split++)
    {
      int64_t n = split == 0 ? sc->n_train : sc->n_test;
      for (int64_t i = 0; i < n; i++)
        {
          const uint8_t *bytes;
          int64_t len = ds->vt->sequence (ds->self, (LfSplit) split, i, &bytes), a, e;
          ds->vt->answer_span (ds->self, (LfSplit) split, i, &a, &e);
          /* a general text may be cut like any text; an answer may not */
          if (len + 2 > sc->context && ds->vt->domain (ds->self, (LfSplit) split, i) >= 0)
            {
              g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                           "scenario.context: %" G_GINT64_FORMAT " tokens, and %s %s sample %" G_GINT64_FORMAT
                           " needs %" G_GINT64_FORMAT " (begin, its %" G_GINT64_FORMAT " bytes, end): an answer "
                           "must not be cut", sc->context, ds->info->name, split == 0 ? "training" : "test", i,
                           len + 2, len);
              return FALSE;
            }
          if (a < 0 || a > e || e > len)
            {
              g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_PLUGIN,
                           "dataset %s: %s sample %" G_GINT64_FORMAT " has answer span [%" G_GINT64_FORMAT ", %"
                           G_GINT64_FORMAT ") outside its %" G_GINT64_FORMAT " bytes", ds->info->name,
                           split == 0 ? "training" : "test", i, a, e, len);
              return FALSE;
            }
        }
    }
  int64_t k = lf_params_get_int (p, "eval_items");
  for (int64_t e = 0; k > 0 && e < sc->n_exp; e++)
    if (sc->exps[e].test->len > (guint) k)
      g_array_set_size (sc->exps[e].test, (guint) k);
  return TRUE;
}

LfScenario *
lf_scenario_build (const LfParams *p, LfDataset *ds, uint64_t seed, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree int32_t *class_exp = NULL;
  LfScenario *sc = g_new0 (LfScenario, 1);
  const char *type = lf_params_get_string (p, "type");
  const char *domains = lf_params_get_string (p, "domains");
  sc->type_name = type;
  sc->domains_name = domains;
  sc->n_train = ds->di.n_train;
  sc->n_test = ds->di.n_test;
  int64_t C = ds->di.n_classes;
  int64_t T = lf_params_get_int (p, "experiences");
  double vfrac = lf_params_get_float (p, "validation_fraction");

  sc->sequences = ds->vt->sequence != NULL && ds->di.input_ndim == 0;
  sc->context = lf_params_get_int (p, "context");
  if (!lf_scenario_online_setup (sc, p, &local) || !lf_openworld_check_keys (p, type, &local))
    goto fail;
  if (g_str_equal (type, "knowledge-editing"))
    {
      if (lf_params_is_set (p, "schedule"))
        {
          g_set_error (&local, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                       "scenario.schedule: applies to experiences built from classes or domains, not to %s", type);
          goto fail;
        }
      if (!editing_build (sc, p, ds, &local) || !lf_scenario_label_noise (sc, p, ds, seed, &local))
        goto fail;
      return sc;
    }
  int64_t n_at;
  lf_params_get_int_list (p, "eval_at", &n_at);
  const gboolean instruct = g_str_equal (type, "instruction-tuning");
  const char *editing_only[] = { "edits", "eval_at", "eval_items", "generations" };
  const char *only_in[] = { "knowledge-editing", "knowledge-editing", "instruction-tuning", "instruction-tuning" };
  const gboolean given[] = { lf_params_get_int (p, "edits") != 10, n_at > 0,   /* not at their defaults */
                             !instruct && lf_params_get_int (p, "eval_items") != 0,
                             !instruct && lf_params_get_int (p, "generations") != 2 };
  for (guint i = 0; i < G_N_ELEMENTS (editing_only); i++)
    if (given[i])
      {
        g_set_error (&local, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                     "scenario.%s: applies to %s scenarios, not %s", editing_only[i], only_in[i], type);
        goto fail;
      }
  gboolean text_type = g_str_equal (type, "continual-pretraining") || g_str_equal (type, "text-classification")
                       || instruct;
  if (text_type && !sc->sequences)
    {
      g_set_error (&local, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.type: %s needs a text dataset, and %s has dense inputs", type, ds->info->name);
      goto fail;
    }
  if (instruct && !DS_HAS (ds, answer_span))
    {
      g_set_error (&local, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.type: instruction-tuning needs a text dataset with answer spans (such as "
                   "instructions), and %s has none", ds->info->name);
      goto fail;
    }
  if (g_str_equal (type, "continual-pretraining") || instruct)
    {
      /* one experience per natural domain, a next-token loss (instruction
       * tuning: over the answers) */
      sc->type = LF_SCENARIO_DOMAIN_IL;
      sc->lm = TRUE;
      sc->instruct = instruct;
    }
  else if (g_str_equal (type, "class-incremental") || g_str_equal (type, "text-classification") || sc->online)
    sc->type = LF_SCENARIO_CLASS_IL;
  else if (g_str_equal (type, "open-world"))
    {
      sc->type = LF_SCENARIO_CLASS_IL;
      sc->open_world = TRUE;
    }
  else if (g_str_equal (type, "task-incremental"))
    sc->type = LF_SCENARIO_TASK_IL;
  else
    sc->type = LF_SCENARIO_DOMAIN_IL;
  sc->domains = sc->lm ? LF_DOMAINS_NATURAL : LF_DOMAINS_SPLIT;
  if (sc->type == LF_SCENARIO_DOMAIN_IL && !sc->lm)
    {
      if (g_str_equal (domains, "permutation")) sc->domains = LF_DOMAINS_PERMUTATION;
      else if (g_str_equal (domains, "rotation")) sc->domains = LF_DOMAINS_ROTATION;
      else if (g_str_equal (domains, "natural")) sc->domains = LF_DOMAINS_NATURAL;
    }
  else if (lf_params_is_set (p, "domains"))
    {
      g_set_error (&local, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.domains: \"%s\" applies to domain-incremental scenarios, not %s", domains, type);
      goto fail;
    }
  if (!sc->lm && C > 0 && ds->vt->label == NULL)
    {
      g_set_error (&local, LF_HOST_ERROR, LF_HOST_ERROR_PLUGIN,
                   "dataset %s declares %" G_GINT64_FORMAT " classes but gives no labels (its label slot is empty)",
                   ds->info->name, C);
      goto fail;
    }
  if (sc->lm)
    C = MAX (C, 1);   /* labels play no part in language modelling */
  else if (C <= 0)
    {
      g_set_error (&local, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.type: %s needs class labels, and dataset %s has none", type, ds->info->name);
      goto fail;
    }

  sc->class_order = g_new (int32_t, C);
  if (!class_order_from_params (p, C, sc->class_order, &local))
    goto fail;
  sc->n_classes = C;
  sc->label_map = g_new (int32_t, C);
  for (int64_t c = 0; c < C; c++)
    sc->label_map[c] = (int32_t) c;

  if (sc->open_world && !lf_openworld_setup (sc, p, C, T, &local))
    goto fail;
  gboolean split_by_class = sc->domains == LF_DOMAINS_SPLIT;
  if (sc->domains == LF_DOMAINS_NATURAL)
    {
      if (ds->di.n_domains <= 0 || ds->vt->domain == NULL)
        {
          g_set_error (&local, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                       "scenario.domains: \"natural\" needs a dataset with natural domains, and %s has none",
                       ds->info->name);
          goto fail;
        }
      if (lf_params_is_set (p, "experiences") && T != ds->di.n_domains)
        {
          g_set_error (&local, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                       "scenario.experiences: %" G_GINT64_FORMAT " given, but natural domains make one experience "
                       "per domain (%" G_GINT64_FORMAT ")", T, ds->di.n_domains);
          goto fail;
        }
      T = ds->di.n_domains;
    }
  if (sc->domains == LF_DOMAINS_ROTATION && ds->di.input_ndim != 2)
    {
      g_set_error (&local, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.domains: \"rotation\" needs 2-D inputs (images), dataset %s has %d-D inputs",
                   ds->info->name, ds->di.input_ndim);
      goto fail;
    }
  if ((sc->domains == LF_DOMAINS_PERMUTATION || sc->domains == LF_DOMAINS_ROTATION) && ds->di.input_ndim == 0)
    {
      g_set_error (&local, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.domains: \"%s\" needs dense inputs, dataset %s has sequences", domains, ds->info->name);
      goto fail;
    }
  if (split_by_class && T > C)
    {
      g_set_error (&local, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.experiences: %" G_GINT64_FORMAT " experiences, but the dataset has only %" G_GINT64_FORMAT
                   " classes to split", T, C);
      goto fail;
    }
  if (split_by_class && sc->type == LF_SCENARIO_DOMAIN_IL && C % T != 0)
    {
      g_set_error (&local, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.experiences: domain-incremental split needs the same number of classes in every "
                   "experience; %" G_GINT64_FORMAT " classes do not split into %" G_GINT64_FORMAT, C, T);
      goto fail;
    }

  sc->n_exp = T;
  sc->exps = g_new0 (LfExperience, T);
  /* class -> experience for split scenarios: the first C % T experiences
   * get one class more */
  class_exp = g_new (int32_t, C);
  for (int64_t e = 0, at = 0; e < T; e++)
    {
      LfExperience *x = &sc->exps[e];
      x->classes = g_array_new (FALSE, FALSE, sizeof (int32_t));
      x->train = ids_new ();
      x->test = ids_new ();
      if (split_by_class)
        {
          int64_t k = sc->open_world ? lf_openworld_classes_in (sc, e, C, T) : C / T + (e < C % T ? 1 : 0);
          for (int64_t j = 0; j < k; j++, at++)
            {
              int32_t c = sc->class_order[at];
              g_array_append_val (x->classes, c);
              class_exp[c] = (int32_t) e;
              if (sc->type == LF_SCENARIO_DOMAIN_IL)
                sc->label_map[c] = (int32_t) j;
            }
        }
      else
        for (int64_t c = 0; c < C; c++)
          {
            int32_t cc = (int32_t) c;
            g_array_append_val (x->classes, cc);
          }
    }
  lf_scenario_online_classes (sc, class_exp);
  sc->model_classes = sc->lm ? 0 : sc->type == LF_SCENARIO_DOMAIN_IL && split_by_class ? C / T : C;
  sc->task_ids = sc->type == LF_SCENARIO_TASK_IL;
  sc->mask_by_task = sc->type == LF_SCENARIO_TASK_IL;

  /* samples into experiences */
  for (int split = 0; split < 2; split++)
    {
      int64_t n = split == 0 ? sc->n_train : sc->n_test;
      for (int64_t i = 0; i < n; i++)
        {
          int32_t c = sc->lm ? 0 : ds->vt->label (ds->self, (LfSplit) split, i);
          if (c < 0 || c >= C)
            {
              g_set_error (&local, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                           "dataset %s: %s sample %" G_GINT64_FORMAT " has label %d outside [0, %" G_GINT64_FORMAT ")",
                           ds->info->name, split == 0 ? "training" : "test", i, c, C);
              goto fail;
            }
          if (split_by_class)
            {
              /* open-world: a class keeps appearing in the streams after it arrives */
              int64_t e = sc->open_world && split == 0 ? lf_openworld_stream_of (i, class_exp[c], T, seed)
                                                       : class_exp[c];
              int64_t id = e * n + i;
              g_array_append_val (split == 0 ? sc->exps[e].train : sc->exps[e].test, id);
            }
          else if (sc->domains == LF_DOMAINS_NATURAL)
            {
              int32_t d = ds->vt->domain (ds->self, (LfSplit) split, i);
              if (instruct && split == LF_SPLIT_TEST && d < 0)
                {
                  /* a test text outside every task: general ability */
                  if (sc->general == NULL)
                    sc->general = ids_new ();
                  g_array_append_val (sc->general, i);
                }
              if (d < 0 || d >= T)
                continue;   /* a sample outside the chosen domains */
              int64_t id = (int64_t) d * n + i;
              g_array_append_val (split == 0 ? sc->exps[d].train : sc->exps[d].test, id);
            }
          else
            for (int64_t e = 0; e < T; e++)
              {
                int64_t id = e * n + i;
                g_array_append_val (split == 0 ? sc->exps[e].train : sc->exps[e].test, id);
              }
        }
    }

  lf_scenario_online_blur (sc, ds, seed);
  if (instruct && !instruct_check (sc, p, ds, &local))
    goto fail;

  /* input transforms */
  int64_t D = ds->input_numel;
  for (int64_t e = 0; e < T; e++)
    {
      LfExperience *x = &sc->exps[e];
      if (sc->domains == LF_DOMAINS_PERMUTATION)
        {
          g_autofree int64_t *tmp = g_new (int64_t, D);
          for (int64_t j = 0; j < D; j++)
            tmp[j] = j;
          shuffle_i64 (tmp, D, lf_rng_key (seed, (uint64_t) e, 0, 0, "permutation"));
          x->perm = g_new (int32_t, D);
          for (int64_t j = 0; j < D; j++)
            x->perm[j] = (int32_t) tmp[j];
        }
      else if (sc->domains == LF_DOMAINS_ROTATION)
        x->angle = 180.0 * (double) e / (double) T;
      carve_validation (x, vfrac, lf_rng_key (seed, (uint64_t) e, 0, 0, "validation"));
      if (x->train->len > 1)
        qsort (x->train->data, x->train->len, sizeof (int64_t), cmp_i64);
      if (x->valid->len > 1)
        qsort (x->valid->data, x->valid->len, sizeof (int64_t), cmp_i64);
      if (x->train->len == 0)
        {
          g_set_error (&local, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                       "scenario: experience %" G_GINT64_FORMAT " has no training samples", e);
          goto fail;
        }
    }
  if (!apply_schedule (sc, p, D, &local) || !lf_openworld_finish (sc, p, ds, &local)
      || !lf_scenario_label_noise (sc, p, ds, seed, &local))
    goto fail;
  return sc;

fail:
  lf_scenario_free (sc);
  g_propagate_error (error, g_steal_pointer (&local));
  return NULL;
}

/* Rotates a (H, W) image by angle degrees about its centre, bilinear, zero
 * outside. */
static void
rotate_image (const LfReal *src, LfReal *dst, int64_t H, int64_t W, double angle)
{
  double a = angle * G_PI / 180.0, ca = cos (a), sa = sin (a);
  double cy = (double) (H - 1) / 2, cx = (double) (W - 1) / 2;
  for (int64_t y = 0; y < H; y++)
    for (int64_t x = 0; x < W; x++)
      {
        /* inverse map: where does output (y, x) come from */
        double dy = (double) y - cy, dx = (double) x - cx;
        double sy = ca * dy - sa * dx + cy, sx = sa * dy + ca * dx + cx;
        int64_t y0 = (int64_t) floor (sy), x0 = (int64_t) floor (sx);
        double fy = sy - (double) y0, fx = sx - (double) x0, v = 0;
        for (int k = 0; k < 4; k++)
          {
            int64_t yy = y0 + (k >> 1), xx = x0 + (k & 1);
            if (yy < 0 || yy >= H || xx < 0 || xx >= W)
              continue;
            double w = ((k >> 1) ? fy : 1 - fy) * ((k & 1) ? fx : 1 - fx);
            v += w * src[yy * W + xx];
          }
        dst[y * W + x] = (LfReal) v;
      }
}

LfBatch *
lf_scenario_batch (const LfScenario *sc, LfDataset *ds, LfSplit split, const int64_t *ids, int64_t n)
{
  LfBatch *b = lf_arena_alloc (sizeof (LfBatch));
  memset (b, 0, sizeof *b);
  b->struct_size = sizeof (LfBatch);
  b->n = n;
  b->split = split;
  int64_t N = split == LF_SPLIT_TRAIN ? sc->n_train : sc->n_test;
  int64_t *sid = lf_arena_alloc ((size_t) MAX (n, 1) * sizeof (int64_t));
  int64_t *idx = lf_arena_alloc ((size_t) MAX (n, 1) * sizeof (int64_t));
  int32_t *labels = lf_arena_alloc ((size_t) MAX (n, 1) * sizeof (int32_t));
  int32_t *tasks = lf_arena_alloc ((size_t) MAX (n, 1) * sizeof (int32_t));
  gboolean transformed = FALSE;
  for (int64_t i = 0; i < n; i++)
    {
      sid[i] = ids[i];
      idx[i] = ids[i] % N;
      int64_t e = ids[i] / N;
      tasks[i] = sc->exp_task ? sc->exp_task[e] : (int32_t) e;
      /* training labels as strategies see them: noisy (label_noise), or
       * hidden until the oracle gives them (open-world) */
      labels[i] = sc->lm || ds->vt->label == NULL ? 0
                  : split == LF_SPLIT_TRAIN ? lf_scenario_train_label (sc, ds, ids[i])
                  : sc->label_map[ds->vt->label (ds->self, split, idx[i])];
      transformed |= sc->exps[e].perm != NULL || sc->exps[e].angle != 0;
    }
  b->sample_ids = sid;
  b->labels = labels;
  b->task_ids = sc->task_ids ? tasks : NULL;
  if (sc->sequences)
    {
      /* byte-level tokens: BOS, the bytes, EOS, PAD; a language model
       * predicts token t+1 at position t */
      int64_t T = sc->context;
      int32_t *tok = lf_arena_alloc ((size_t) MAX (n * T, 1) * sizeof (int32_t));
      int32_t *tgt = sc->lm ? lf_arena_alloc ((size_t) MAX (n * T, 1) * sizeof (int32_t)) : NULL;
      uint8_t *mask = sc->lm ? lf_arena_alloc ((size_t) MAX (n * T, 1)) : NULL;
      for (int64_t i = 0; i < n; i++)
        {
          const uint8_t *bytes;
          int64_t len = ds->vt->sequence (ds->self, split, idx[i], &bytes);
          /* the sequence s: s[0] = BOS, s[1..len] = bytes, s[len+1] = EOS */
          for (int64_t t = 0; t < T; t++)
            {
              int64_t at = t;
              int32_t cur = at == 0 ? LF_TOKEN_BOS : at <= len ? bytes[at - 1] : at == len + 1 ? LF_TOKEN_EOS : LF_TOKEN_PAD;
              tok[i * T + t] = cur;
              if (tgt)
                {
                  int64_t nx = t + 1;
                  int32_t next = nx <= len ? bytes[nx - 1] : nx == len + 1 ? LF_TOKEN_EOS : -100;
                  tgt[i * T + t] = next;
                  mask[i * T + t] = next >= 0;
                }
            }
        }
      if (sc->editing || sc->instruct)
        for (int64_t i = 0; i < n; i++)
          {
            /* only the answer is predicted: bytes [a, e) are tokens a+1 .. e,
             * predicted at positions a .. e-1; in instruction tuning also
             * the end token after an answer that ends the text (position
             * len), so that generation learns where to stop */
            int64_t a, e;
            const uint8_t *bytes;
            int64_t len = ds->vt->sequence (ds->self, split, idx[i], &bytes);
            ds->vt->answer_span (ds->self, split, idx[i], &a, &e);
            if (sc->instruct && e == len)
              e = len + 1;
            for (int64_t t = 0; t < T; t++)
              if (t < a || t >= e)
                {
                  tgt[i * T + t] = -100;
                  mask[i * T + t] = 0;
                }
          }
      b->tokens = tok;
      b->seq_len = T;
      if (sc->lm)
        {
          b->labels = tgt;
          b->loss_mask = mask;
        }
      return b;
    }
  if (ds->vt->fill_inputs)
    {
      int64_t D = ds->input_numel, shape[2] = { n, D };
      b->inputs = lf_tensor_new (2, shape);
      LfReal *x = lf_tensor_data (b->inputs);
      ds->vt->fill_inputs (ds->self, split, idx, n, x);
      if (transformed)
        {
          LfReal *tmp = lf_arena_alloc ((size_t) D * sizeof (LfReal));
          for (int64_t i = 0; i < n; i++)
            {
              const LfExperience *xe = &sc->exps[ids[i] / N];
              LfReal *row = x + i * D;
              if (xe->perm)
                {
                  for (int64_t j = 0; j < D; j++)
                    tmp[j] = row[xe->perm[j]];
                  memcpy (row, tmp, (size_t) D * sizeof (LfReal));
                }
              else if (xe->angle != 0)
                {
                  rotate_image (row, tmp, ds->di.input_shape[0], ds->di.input_shape[1], xe->angle);
                  memcpy (row, tmp, (size_t) D * sizeof (LfReal));
                }
            }
        }
    }
  return b;
}

LfTensor *
lf_scenario_mask_logits (const LfScenario *sc, const LfBatch *batch, LfTensor *logits)
{
  if (!sc->mask_by_task || sc->lm)
    return logits;
  int64_t n = batch->n, C = lf_tensor_dim (logits, -1);
  int64_t shape[2] = { n, C };
  LfTensor *mask = lf_tensor_new (2, shape);
  LfReal *m = lf_tensor_data (mask);
  int64_t N = batch->split == LF_SPLIT_TRAIN ? sc->n_train : sc->n_test;
  for (int64_t i = 0; i < n; i++)
    {
      LfReal *row = m + i * C;
      for (int64_t c = 0; c < C; c++)
        row[c] = (LfReal) LF_MASKED_LOGIT;
      const GArray *cls = sc->exps[batch->sample_ids[i] / N].classes;
      for (guint k = 0; k < cls->len; k++)
        row[sc->label_map[g_array_index (cls, int32_t, k)]] = 0;
    }
  return lf_add (logits, mask);
}
