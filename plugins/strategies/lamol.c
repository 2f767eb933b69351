/* lifelong plugin — strategy "lamol": LAMOL, language modeling for lifelong
 * language learning (Sun, Ho & Lee, ICLR 2020).  The model also learns to
 * generate whole examples after their task's prefix (the task token): the
 * loss gains gen_weight * the next-token loss of everything after the
 * prefix.  Before experience k it samples gamma * |experience k| examples of
 * the earlier tasks from its own generation (top-k sampling after each
 * task's prefix, the key/value cache), keeps the well-formed ones (an input,
 * a "\n", an answer, the end token) and trains on them with the new data.
 * No real sample of an earlier task is kept: only the tasks' prefixes. */
#include "self-rehearsal.h"
#include <math.h>

typedef struct {
  SrStore  st;
  double   gen_weight, temperature;
  int64_t  top_k;
  int64_t  generated, kept;          /* in the latest experience */
  int64_t  total_generated, total_kept;
  double   gen_loss_last;
  char    *first_seeds;              /* JSON: the seeds of the kept examples reported */
} Lamol;

static const LfParam lamol_params[] = {
  { "gamma", LF_PARAM_FLOAT, "0.2", 0, 100, NULL,
    "pseudo-samples generated before experience k, as a fraction of its training samples (split evenly over the "
    "earlier tasks); also the pseudo-samples replayed per real sample of a batch" },
  { "gen_weight", LF_PARAM_FLOAT, "0.25", 0, 1e3, NULL,
    "lambda: weight of the generation loss (the whole example after the task prefix)" },
  { "temperature", LF_PARAM_FLOAT, "1", 0, 100, NULL, "sampling temperature of the pseudo-samples (0: greedy)" },
  { "top_k", LF_PARAM_INT, "20", 0, 1e6, NULL, "sample among the k most likely tokens (0: all); LAMOL uses 20" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
lamol_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  if (lf_ctx_n_experiences (ctx) < 0 || lf_ctx_spec (ctx)->vocab <= 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "lamol needs experience boundaries and a language model");
      return NULL;
    }
  Lamol *s = g_new0 (Lamol, 1);
  sr_store_init (&s->st, lf_params_get_float (p, "gamma"));
  s->gen_weight = lf_params_get_float (p, "gen_weight");
  s->temperature = lf_params_get_float (p, "temperature");
  s->top_k = lf_params_get_int (p, "top_k");
  s->gen_loss_last = NAN;
  return s;
}

static void
lamol_destroy (void *self)
{
  Lamol *s = self;
  sr_store_clear (&s->st);
  g_free (s->first_seeds);
  g_free (s);
}

/* Pseudo-samples of every earlier task, from the model's own generation. */
static gboolean
lamol_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Lamol *s = self;
  const int64_t k = lf_ctx_experience (ctx);
  sr_store_reset_pseudo (&s->st);
  s->generated = s->kept = 0;
  if (k == 0 || s->st.gamma <= 0)
    return TRUE;
  int64_t n_new;
  lf_ctx_experience_samples (ctx, k, &n_new);
  const int64_t total = (int64_t) ceil (s->st.gamma * (double) n_new);
  g_autoptr (GString) gen = g_string_new (NULL);
  g_autoptr (GString) seeds = g_string_new ("[");
  for (int64_t j = 0; j < k; j++)
    {
      const char *prefix = s->st.prefix->pdata[j];
      /* an even share, the first tasks taking the remainder */
      const int64_t want = total / k + (j < total % k ? 1 : 0);
      for (int64_t i = 0; i < want; i++)
        {
          uint64_t seed = sr_seed (ctx, "lamol", j, i);
          gboolean ended = sr_generate (ctx, prefix, s->temperature, s->top_k, seed, gen);
          s->generated++;
          /* well formed: "input\nanswer" then the end token */
          const char *nl = strchr (gen->str, '\n');
          if (!ended || nl == NULL || nl == gen->str || nl[1] == '\0')
            continue;
          g_autofree char *text = g_strconcat (prefix, gen->str, NULL);
          sr_store_add (&s->st, text, (int64_t) (strlen (prefix) + (size_t) (nl - gen->str) + 1), j);
          if (s->kept < 3)
            g_string_append_printf (seeds, "%s{\"task\": %" G_GINT64_FORMAT ", \"seed\": %" G_GUINT64_FORMAT "}",
                                    s->kept ? ", " : "", j, seed);
          s->kept++;
        }
    }
  g_string_append_c (seeds, ']');
  g_free (s->first_seeds);
  s->first_seeds = g_strdup (seeds->str);
  s->total_generated += s->generated;
  s->total_kept += s->kept;
  lf_ctx_log (ctx, "lamol: experience %" G_GINT64_FORMAT ": %" G_GINT64_FORMAT " pseudo-samples of %" G_GINT64_FORMAT
              " earlier tasks generated, %" G_GINT64_FORMAT " well formed", k, s->generated, k, s->kept);
  /* the report's examples are the first generated; replay goes in a keyed order */
  g_autofree char *ex = sr_store_examples_json (&s->st, 3);
  g_autofree char *json = g_strdup_printf ("{\"experience\": %" G_GINT64_FORMAT ", \"seeds\": %s, \"samples\": %s}",
                                           k, s->first_seeds, ex);
  lf_ctx_report_json (ctx, "pseudo_examples", json);
  sr_store_shuffle (&s->st, lf_ctx_rng_key (ctx, "lamol-order"));
  return TRUE;
}

static LfBatch *
lamol_before_batch (void *self, LfStrategyCtx *ctx, LfBatch *batch)
{
  Lamol *s = self;
  return sr_store_append (&s->st, ctx, batch);
}

static LfTensor *
lamol_loss (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out, LfTensor *loss)
{
  (void) ctx;
  Lamol *s = self;
  if (s->gen_weight <= 0)
    return loss;
  LfTensor *g = sr_lm_loss (batch, out, TRUE);
  if (g == NULL)
    return loss;
  s->gen_loss_last = lf_tensor_data (g)[0];
  return lf_add (loss, lf_scale (g, s->gen_weight));
}

static gboolean
lamol_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  Lamol *s = self;
  sr_store_reset_pseudo (&s->st);
  return sr_store_learn_prefix (&s->st, ctx, "lamol", error);
}

static void
lamol_report (void *self, LfStrategyCtx *ctx)
{
  Lamol *s = self;
  lf_ctx_report_number (ctx, "pseudo_generated", (double) s->total_generated);
  lf_ctx_report_number (ctx, "pseudo_kept", (double) s->total_kept);
  lf_ctx_report_number (ctx, "real_samples_kept", 0);
  lf_ctx_report_number (ctx, "gen_loss_last", s->gen_loss_last);
  g_autoptr (GString) p = g_string_new ("[");
  for (guint i = 0; i < s->st.prefix->len; i++)
    {
      g_autofree char *q = g_strescape (s->st.prefix->pdata[i], NULL);
      g_string_append_printf (p, "%s\"%s\"", i ? ", " : "", q);
    }
  g_string_append_c (p, ']');
  lf_ctx_report_json (ctx, "task_prefixes", p->str);
}

static size_t
lamol_memory_bytes (void *self)
{
  return sr_store_bytes (&((Lamol *) self)->st);
}

static const LfStrategyVTable lamol_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = lamol_create,
  .destroy = lamol_destroy,
  .before_experience = lamol_before_experience,
  .before_batch = lamol_before_batch,
  .loss = lamol_loss,
  .after_experience = lamol_after_experience,
  .report = lamol_report,
  .memory_bytes = lamol_memory_bytes,
};

static const char *const lamol_scenarios[] = { "instruction-tuning", NULL };

static const LfCapabilities lamol_caps = {
  .touches = LF_TOUCHES_DATA | LF_TOUCHES_LOSS,
  .needs = LF_NEEDS_BOUNDARIES | LF_NEEDS_SEQUENCES,
  .supports = LF_SUPPORTS_LANGUAGE_MODEL,
  .scenarios = lamol_scenarios,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "lamol",
    .version = "0.1.0",
    .summary = "LAMOL: the model learns to generate its tasks' examples and replays its own pseudo-samples of "
               "earlier tasks (Sun, Ho & Lee, \"LAMOL: LAnguage MOdeling for Lifelong Language Learning\", ICLR 2020)",
    .params = lamol_params,
    .caps = &lamol_caps,
    .vtable = &lamol_vtable,
  };
  return &info;
}
