/* lifelong plugin — strategy "ssr": Self-Synthesized Rehearsal (Huang et
 * al., "Mitigating Catastrophic Forgetting in Large Language Models with
 * Self-Synthesized Rehearsal", ACL 2024).  Before experience k the model
 * synthesizes inputs for every earlier task (top-k sampling after the
 * task's prefix, the key/value cache); the previous model -- a snapshot
 * taken when the last experience ended -- answers each input by greedy
 * generation; pairs that are malformed, repeat an input or get no answer
 * are dropped, and the rest are replayed with the new data.  The paper's
 * base model writes inputs from in-context demonstrations; a model this
 * small has no in-context learning, so the model learns its tasks' input
 * distribution itself (input_weight * the next-token loss of the input
 * after the prefix).  No real sample of an earlier task is kept. */
#include "self-rehearsal.h"
#include <math.h>

typedef struct {
  SrStore     st;
  double      input_weight, temperature;
  int64_t     top_k;
  LfSnapshot *previous;           /* the model when the last experience ended */
  int64_t     synthesized, kept, dropped_dup, dropped_bad;
  char       *examples;           /* JSON: inputs and the previous model's answers */
} Ssr;

static const LfParam ssr_params[] = {
  { "gamma", LF_PARAM_FLOAT, "0.2", 0, 100, NULL,
    "inputs synthesized before experience k, as a fraction of its training samples (split evenly over the "
    "earlier tasks); also the pairs replayed per real sample of a batch" },
  { "input_weight", LF_PARAM_FLOAT, "0.25", 0, 1e3, NULL,
    "weight of the next-token loss of the inputs (after the task prefix), which teaches the model to write them" },
  { "temperature", LF_PARAM_FLOAT, "1", 0, 100, NULL, "sampling temperature of the synthesized inputs" },
  { "top_k", LF_PARAM_INT, "20", 0, 1e6, NULL, "sample inputs among the k most likely tokens (0: all)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
ssr_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  if (lf_ctx_n_experiences (ctx) < 0 || lf_ctx_spec (ctx)->vocab <= 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "ssr needs experience boundaries and a language model");
      return NULL;
    }
  Ssr *s = g_new0 (Ssr, 1);
  sr_store_init (&s->st, lf_params_get_float (p, "gamma"));
  s->input_weight = lf_params_get_float (p, "input_weight");
  s->temperature = lf_params_get_float (p, "temperature");
  s->top_k = lf_params_get_int (p, "top_k");
  return s;
}

static void
ssr_destroy (void *self)
{
  Ssr *s = self;
  sr_store_clear (&s->st);
  if (s->previous)
    lf_snapshot_free (s->previous);
  g_free (s->examples);
  g_free (s);
}

static gboolean
ssr_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Ssr *s = self;
  const int64_t k = lf_ctx_experience (ctx);
  sr_store_reset_pseudo (&s->st);
  if (k == 0 || s->st.gamma <= 0 || s->previous == NULL)
    return TRUE;
  int64_t n_new;
  lf_ctx_experience_samples (ctx, k, &n_new);
  const int64_t total = (int64_t) ceil (s->st.gamma * (double) n_new);
  LfModule *root = lf_model_root (lf_ctx_model (ctx));
  g_autoptr (GString) gen = g_string_new (NULL);
  g_autoptr (GString) ex = g_string_new ("[");
  int64_t shown = 0;
  for (int64_t j = 0; j < k; j++)
    {
      const char *prefix = s->st.prefix->pdata[j];
      const int64_t want = total / k + (j < total % k ? 1 : 0);
      /* 1. inputs from the model (the text up to the first "\n") */
      g_autoptr (GPtrArray) prompts = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
      for (int64_t i = 0; i < want; i++)
        {
          sr_generate (ctx, prefix, s->temperature, s->top_k, sr_seed (ctx, "ssr", j, i), gen);
          s->synthesized++;
          const char *nl = strchr (gen->str, '\n');
          if (nl == NULL || nl == gen->str)
            {
              s->dropped_bad++;
              continue;
            }
          char *prompt = g_strdup_printf ("%s%.*s\n", prefix, (int) (nl - gen->str), gen->str);
          if (g_hash_table_contains (seen, prompt))
            {
              s->dropped_dup++;
              g_free (prompt);
              continue;
            }
          g_ptr_array_add (prompts, prompt);
          g_hash_table_add (seen, prompt);
        }
      /* 2. the previous model's greedy answers */
      lf_snapshot_swap (s->previous, root);
      for (guint i = 0; i < prompts->len; i++)
        {
          const char *prompt = prompts->pdata[i];
          gboolean ended = sr_generate (ctx, prompt, 0, 0, 0, gen);
          if (!ended || gen->len == 0)
            {
              s->dropped_bad++;
              continue;
            }
          g_autofree char *text = g_strconcat (prompt, gen->str, NULL);
          sr_store_add (&s->st, text, (int64_t) strlen (prompt), j);
          s->kept++;
          if (shown < 3)
            {
              g_autofree char *p = g_strescape (prompt, NULL);
              g_autofree char *a = g_strescape (gen->str, NULL);
              g_string_append_printf (ex, "%s{\"task\": %" G_GINT64_FORMAT ", \"prompt\": \"%s\", \"answer\": \"%s\"}",
                                      shown ? ", " : "", j, p, a);
              shown++;
            }
        }
      lf_snapshot_swap (s->previous, root);
    }
  g_string_append_c (ex, ']');
  g_free (s->examples);
  s->examples = g_strdup (ex->str);
  lf_ctx_log (ctx, "ssr: experience %" G_GINT64_FORMAT ": %u pairs of %" G_GINT64_FORMAT " earlier tasks to replay",
              k, s->st.pseudo->len, k);
  sr_store_shuffle (&s->st, lf_ctx_rng_key (ctx, "ssr-order"));
  return TRUE;
}

static LfBatch *
ssr_before_batch (void *self, LfStrategyCtx *ctx, LfBatch *batch)
{
  Ssr *s = self;
  return sr_store_append (&s->st, ctx, batch);
}

static LfTensor *
ssr_loss (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out, LfTensor *loss)
{
  (void) ctx;
  Ssr *s = self;
  if (s->input_weight <= 0)
    return loss;
  LfTensor *g = sr_lm_loss (batch, out, FALSE);
  return g ? lf_add (loss, lf_scale (g, s->input_weight)) : loss;
}

static gboolean
ssr_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  Ssr *s = self;
  sr_store_reset_pseudo (&s->st);
  if (s->previous)
    lf_snapshot_free (s->previous);
  s->previous = lf_snapshot_take (lf_model_root (lf_ctx_model (ctx)), FALSE);
  return sr_store_learn_prefix (&s->st, ctx, "ssr", error);
}

static void
ssr_report (void *self, LfStrategyCtx *ctx)
{
  Ssr *s = self;
  lf_ctx_report_number (ctx, "synthesized", (double) s->synthesized);
  lf_ctx_report_number (ctx, "kept", (double) s->kept);
  lf_ctx_report_number (ctx, "dropped_duplicate", (double) s->dropped_dup);
  lf_ctx_report_number (ctx, "dropped_malformed", (double) s->dropped_bad);
  lf_ctx_report_number (ctx, "real_samples_kept", 0);
  if (s->examples)
    lf_ctx_report_json (ctx, "pseudo_examples", s->examples);
}

static size_t
ssr_memory_bytes (void *self)
{
  Ssr *s = self;
  return sr_store_bytes (&s->st) + (s->previous ? lf_snapshot_bytes (s->previous) : 0);
}

static const LfStrategyVTable ssr_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = ssr_create,
  .destroy = ssr_destroy,
  .before_experience = ssr_before_experience,
  .before_batch = ssr_before_batch,
  .loss = ssr_loss,
  .after_experience = ssr_after_experience,
  .report = ssr_report,
  .memory_bytes = ssr_memory_bytes,
};

static const char *const ssr_scenarios[] = { "instruction-tuning", NULL };

static const LfCapabilities ssr_caps = {
  .touches = LF_TOUCHES_DATA | LF_TOUCHES_LOSS,
  .needs = LF_NEEDS_BOUNDARIES | LF_NEEDS_SEQUENCES,
  .supports = LF_SUPPORTS_LANGUAGE_MODEL,
  .scenarios = ssr_scenarios,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "ssr",
    .version = "0.1.0",
    .summary = "Self-Synthesized Rehearsal: the model writes inputs of earlier tasks, the previous model answers "
               "them, the pairs are replayed (Huang et al., ACL 2024)",
    .params = ssr_params,
    .caps = &ssr_caps,
    .vtable = &ssr_vtable,
  };
  return &info;
}
