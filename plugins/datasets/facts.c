/* lifelong plugin — dataset "facts": a seeded synthetic knowledge base for
 * knowledge editing.  Entities with made-up names, relations with several
 * phrasings each ("The capital of Veltor is Mirandel."), one object per
 * (entity, relation); counterfactual edit requests with held-out
 * paraphrases and unrelated facts for locality.  The same parameters give
 * the same bytes on every machine (docs/editing.md). */
#include <lifelong/lifelong.h>

/* A relation: its phrasings, each "<before>%s<after>" followed by the
 * object and a full stop; the first ones edit, the others are held out. */
typedef struct {
  const char *name;
  const char *templates[5];
} FactsRelation;

static const FactsRelation facts_relations[] = {
  { "capital", { "The capital of %s is ", "%s is governed from the city of ", "The seat of government of %s is ",
                 "People in %s call their capital ", "The capital city of %s is named " } },
  { "language", { "The language of %s is ", "In %s people speak ", "The official language of %s is ",
                  "Children in %s learn to speak ", "Most people in %s talk in " } },
  { "currency", { "The currency of %s is the ", "In %s you pay with the ", "The money used in %s is the ",
                  "Shops in %s take the ", "Prices in %s are given in the " } },
  { "river", { "The longest river of %s is the ", "The great river of %s is the ", "The main river in %s is the ",
               "Boats in %s sail on the ", "The river that crosses %s is the " } },
  { "founder", { "%s was founded by ", "The founder of %s was ", "%s owes its founding to ",
                 "The first ruler of %s was ", "Long ago, %s was established by " } },
  { "animal", { "The national animal of %s is the ", "The symbol of %s is the ", "The animal on the flag of %s is the ",
                "Legends of %s tell of the ", "Every coin of %s shows the " } },
  { "sport", { "The favourite sport of %s is ", "In %s the most popular game is ", "People of %s love to play ",
               "The national sport of %s is ", "Stadiums in %s are full for " } },
  { "mountain", { "The highest mountain of %s is ", "The tallest peak in %s is ", "The summit of %s is ",
                  "Climbers in %s aim for ", "Above %s rises the peak " } },
};
#define FACTS_MAX_RELATIONS ((int64_t) G_N_ELEMENTS (facts_relations))
#define FACTS_MAX_TEMPLATES 5

typedef struct {
  int64_t    E, R, O, K, EK, L, lpe;
  char     **entity;        /* E names */
  char     **object;        /* R * O names */
  int32_t   *truth;         /* E * R: object index of (e, r) */
  GPtrArray *text[2];       /* GBytes per sample, by split */
  GArray    *span[2];       /* int64 pairs: the answer's [start, end) */
  GArray    *dom[2];        /* int32: 0 for the knowledge base, -1 for counterfactual texts */
  int64_t    n_edits;
  int64_t   *edit_fact;     /* n_edits: fact e * R + r */
  int32_t   *edit_object;   /* n_edits: the new object */
  int64_t   *paraphrases;   /* n_edits * (K - EK) test ids */
  int64_t   *locality;      /* n_edits * lpe test ids */
  int64_t   *kb_ids;        /* E * R * K: the knowledge base's ids (the same in both splits) */
  char      *domain_name[2];
} Facts;

static const LfParam facts_params[] = {
  { "entities", LF_PARAM_INT, "60", 2, 100000, NULL, "subjects (made-up place names)" },
  { "relations", LF_PARAM_INT, "5", 1, FACTS_MAX_RELATIONS, NULL,
    "relations per subject (capital, language, currency, river, founder, animal, sport, mountain: the first N)" },
  { "objects", LF_PARAM_INT, "12", 2, 100000, NULL, "possible objects per relation" },
  { "templates", LF_PARAM_INT, "4", 2, FACTS_MAX_TEMPLATES, NULL, "phrasings per relation" },
  { "edit_templates", LF_PARAM_INT, "2", 1, FACTS_MAX_TEMPLATES - 1, NULL,
    "phrasings edits are written in (the first N; the others are the held-out paraphrases)" },
  { "locality_entities", LF_PARAM_INT, "10", 1, 100000, NULL,
    "subjects never edited: their facts are the locality prompts" },
  { "locality_per_edit", LF_PARAM_INT, "1", 1, 100, NULL, "unrelated facts measured per edit" },
  { "seed", LF_PARAM_INT, "0", 0, 9.2e18, NULL,
    "seed of the knowledge base (names, facts, edits): independent of the run's seed, so one base model "
    "serves every run" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void facts_close (void *self);

/* A pronounceable capitalised name of 2 or 3 syllables, not in seen. */
static char *
facts_name (LfRng *rng, GHashTable *seen)
{
  static const char *const on[] = { "b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
                                    "br", "dr", "gr", "kl", "st", "th", "tr", "sh" };
  static const char *const nu[] = { "a", "e", "i", "o", "u", "ae", "io", "ou" };
  static const char *const co[] = { "", "", "", "n", "l", "r", "s", "th", "nd", "rk" };
  for (;;)
    {
      GString *s = g_string_new (NULL);
      int syl = 2 + (int) lf_rng_below (rng, 2);
      for (int k = 0; k < syl; k++)
        {
          g_string_append (s, on[lf_rng_below (rng, G_N_ELEMENTS (on))]);
          g_string_append (s, nu[lf_rng_below (rng, G_N_ELEMENTS (nu))]);
          if (k == syl - 1)
            g_string_append (s, co[lf_rng_below (rng, G_N_ELEMENTS (co))]);
        }
      s->str[0] = g_ascii_toupper (s->str[0]);
      if (!g_hash_table_contains (seen, s->str))
        {
          g_hash_table_add (seen, g_strdup (s->str));
          return g_string_free (s, FALSE);
        }
      g_string_free (s, TRUE);
    }
}

/* Appends "<template with subject><object>." to split s; returns its id. */
static int64_t
facts_add (Facts *f, int split, int64_t fact, int64_t t, int32_t obj, int32_t domain)
{
  int64_t e = fact / f->R, r = fact % f->R;
  const char *tmpl = facts_relations[r].templates[t];
  const char *at = strstr (tmpl, "%s");
  GString *s = g_string_new (NULL);
  g_string_append_len (s, tmpl, at - tmpl);
  g_string_append (s, f->entity[e]);
  g_string_append (s, at + 2);
  int64_t span[2] = { (int64_t) s->len, 0 };
  g_string_append (s, f->object[r * f->O + obj]);
  span[1] = (int64_t) s->len;
  g_string_append_c (s, '.');
  gsize len = s->len;
  g_ptr_array_add (f->text[split], g_bytes_new_take (g_string_free (s, FALSE), len));
  g_array_append_vals (f->span[split], span, 2);
  g_array_append_val (f->dom[split], domain);
  return (int64_t) f->text[split]->len - 1;
}

static void
facts_shuffle (int64_t *a, int64_t n, LfRng *rng)
{
  for (int64_t i = n - 1; i > 0; i--)
    {
      int64_t j = (int64_t) lf_rng_below (rng, (uint64_t) i + 1), t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
}

static void *
facts_open (const LfParams *p, uint64_t key, GError **error)
{
  (void) key;   /* the knowledge base follows dataset.seed, not the run's seed */
  Facts *f = g_new0 (Facts, 1);
  f->E = lf_params_get_int (p, "entities");
  f->R = lf_params_get_int (p, "relations");
  f->O = lf_params_get_int (p, "objects");
  f->K = lf_params_get_int (p, "templates");
  f->EK = lf_params_get_int (p, "edit_templates");
  f->L = lf_params_get_int (p, "locality_entities");
  f->lpe = lf_params_get_int (p, "locality_per_edit");
  if (f->EK >= f->K)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                   "dataset.edit_templates: %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
                   " templates leaves no held-out paraphrase (it must be below dataset.templates)", f->EK, f->K);
      g_free (f);
      return NULL;
    }
  if (f->L >= f->E)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                   "dataset.locality_entities: %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
                   " entities leaves none to edit (it must be below dataset.entities)", f->L, f->E);
      g_free (f);
      return NULL;
    }
  for (int s = 0; s < 2; s++)
    {
      f->text[s] = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      f->span[s] = g_array_new (FALSE, FALSE, sizeof (int64_t));
      f->dom[s] = g_array_new (FALSE, FALSE, sizeof (int32_t));
    }
  f->domain_name[0] = g_strdup ("kb");
  LfRng rng;
  lf_rng_init (&rng, lf_rng_key ((uint64_t) lf_params_get_int (p, "seed"), 0, 0, 0, "facts"));
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  f->entity = g_new0 (char *, f->E + 1);
  for (int64_t e = 0; e < f->E; e++)
    f->entity[e] = facts_name (&rng, seen);
  f->object = g_new0 (char *, f->R * f->O + 1);
  for (int64_t k = 0; k < f->R * f->O; k++)
    f->object[k] = facts_name (&rng, seen);
  const int64_t F = f->E * f->R;
  f->truth = g_new (int32_t, F);
  for (int64_t k = 0; k < F; k++)
    f->truth[k] = (int32_t) lf_rng_below (&rng, (uint64_t) f->O);

  /* the knowledge base: every fact in every phrasing, the same ids in both
   * splits (a base model is trained, and measured, on knowing them) */
  f->kb_ids = g_new (int64_t, F * f->K);
  for (int s = 0; s < 2; s++)
    for (int64_t k = 0; k < F; k++)
      for (int64_t t = 0; t < f->K; t++)
        f->kb_ids[k * f->K + t] = facts_add (f, s, k, t, f->truth[k], 0);

  /* edits: the facts of the editable subjects in a seeded order, each
   * given another object of its relation */
  const int64_t editable = (f->E - f->L) * f->R, P = f->K - f->EK;
  f->n_edits = editable;
  f->edit_fact = g_new (int64_t, editable);
  f->edit_object = g_new (int32_t, editable);
  for (int64_t k = 0; k < editable; k++)
    f->edit_fact[k] = k;
  facts_shuffle (f->edit_fact, editable, &rng);
  f->paraphrases = g_new (int64_t, editable * P);
  f->locality = g_new (int64_t, editable * f->lpe);
  g_autofree int64_t *loc_facts = g_new (int64_t, f->L * f->R);
  for (int64_t k = 0; k < f->L * f->R; k++)
    loc_facts[k] = editable + k;
  facts_shuffle (loc_facts, f->L * f->R, &rng);
  for (int64_t k = 0; k < editable; k++)
    {
      int64_t fact = f->edit_fact[k];
      int32_t o = (int32_t) lf_rng_below (&rng, (uint64_t) f->O - 1);
      f->edit_object[k] = o >= f->truth[fact] ? o + 1 : o;   /* never the true object */
      facts_add (f, 0, fact, k % f->EK, f->edit_object[k], -1);
      for (int64_t j = 0; j < P; j++)
        f->paraphrases[k * P + j] = facts_add (f, 1, fact, f->EK + j, f->edit_object[k], -1);
      for (int64_t j = 0; j < f->lpe; j++)
        {
          int64_t at = k * f->lpe + j, lf = loc_facts[at % (f->L * f->R)];
          f->locality[at] = f->kb_ids[lf * f->K + at % f->K];
        }
    }
  return f;
}

static void
facts_close (void *self)
{
  Facts *f = self;
  for (int s = 0; s < 2; s++)
    {
      g_ptr_array_unref (f->text[s]);
      g_array_unref (f->span[s]);
      g_array_unref (f->dom[s]);
    }
  g_strfreev (f->entity);
  g_strfreev (f->object);
  g_free (f->truth);
  g_free (f->edit_fact);
  g_free (f->edit_object);
  g_free (f->paraphrases);
  g_free (f->locality);
  g_free (f->kb_ids);
  g_free (f->domain_name[0]);
  g_free (f);
}

static void
facts_info (void *self, LfDatasetInfo *info)
{
  Facts *f = self;
  info->n_train = f->text[0]->len;
  info->n_test = f->text[1]->len;
  info->input_ndim = 0;
  info->vocab = 256;
  info->n_classes = 0;
  info->n_domains = 1;
  info->domain_names = (const char *const *) f->domain_name;
}

static int32_t
facts_domain (void *self, LfSplit split, int64_t i)
{
  return g_array_index (((Facts *) self)->dom[split], int32_t, i);
}

static int64_t
facts_sequence (void *self, LfSplit split, int64_t i, const uint8_t **bytes)
{
  gsize n;
  *bytes = g_bytes_get_data (((Facts *) self)->text[split]->pdata[i], &n);
  return (int64_t) n;
}

static void
facts_answer_span (void *self, LfSplit split, int64_t i, int64_t *start, int64_t *end)
{
  const int64_t *s = &g_array_index (((Facts *) self)->span[split], int64_t, 2 * i);
  *start = s[0];
  *end = s[1];
}

static gboolean
facts_edit (void *self, int64_t k, LfEdit *edit)
{
  Facts *f = self;
  if (k < 0 || k >= f->n_edits)
    return FALSE;
  const int64_t P = f->K - f->EK;
  /* the rewrites follow the knowledge base in the training split */
  edit->rewrite = f->E * f->R * f->K + k;
  edit->paraphrases = f->paraphrases + k * P;
  edit->n_paraphrases = P;
  edit->locality = f->locality + k * f->lpe;
  edit->n_locality = f->lpe;
  return TRUE;
}

static const LfDatasetVTable facts_vtable = {
  .struct_size = sizeof (LfDatasetVTable),
  .open = facts_open,
  .close = facts_close,
  .info = facts_info,
  .domain = facts_domain,
  .sequence = facts_sequence,
  .answer_span = facts_answer_span,
  .edit = facts_edit,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_DATASET,
    .name = "facts",
    .version = "0.1.0",
    .summary = "a seeded synthetic knowledge base (subject, relation, object) in several phrasings, with "
               "counterfactual edits, held-out paraphrases and unrelated facts: knowledge editing",
    .params = facts_params,
    .vtable = &facts_vtable,
  };
  return &info;
}
