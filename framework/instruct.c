/* lifelong — measuring an instruction-tuning run: greedy generation with
 * the model's key/value cache, exact match and token accuracy per task, the
 * general-ability loss, and generations before and after the sequence. */
#include "instruct.h"
#include <math.h>

struct LfInstructEval {
  LfModel          *model;
  const LfScenario *sc;
  LfDataset        *ds;
  int64_t           B, n_gen;
  gboolean          use_cache;
  GArray           *tok_rows;       /* double, T per row (the baseline's apart) */
  double           *tok_base;       /* T */
  double            general_before;
  GArray           *general;        /* double per row */
  JsonArray        *generations;    /* {"task", "prompt", "reference", "before", "after"} */
};

static gboolean
instruct_generate (LfInstructEval *ev, const int32_t *prompt, int64_t n_prompt, int64_t max_new, int32_t *out,
                   int64_t *n_out)
{
  LfGenerateOptions o = { .struct_size = sizeof o, .temperature = 0, .stop_at_eos = TRUE };
  g_autoptr (GError) error = NULL;
  if (lf_model_generate (ev->model, prompt, n_prompt, max_new, &o, ev->use_cache, out, n_out, &error))
    return TRUE;
  if (!ev->use_cache)
    {
      g_warning ("instruction-tuning: generation failed: %s", error->message);
      return FALSE;
    }
  /* a structure the cache does not know (a plugin replaced a module):
   * the host's reference generation gives the same tokens, slower */
  g_printerr ("instruction-tuning: generating without the key/value cache (%s)\n", error->message);
  ev->use_cache = FALSE;
  g_clear_error (&error);
  if (lf_model_generate (ev->model, prompt, n_prompt, max_new, &o, FALSE, out, n_out, &error))
    return TRUE;
  g_warning ("instruction-tuning: generation failed: %s", error->message);
  return FALSE;
}

/* Dataset sample i of split: its prompt tokens (BOS, the bytes before the
 * answer) and its answer's bytes; returns the prompt's token count. */
static int64_t
instruct_prompt (LfInstructEval *ev, LfSplit split, int64_t i, int32_t *prompt, const uint8_t **answer,
                 int64_t *n_answer)
{
  const uint8_t *bytes;
  int64_t len = ev->ds->vt->sequence (ev->ds->self, split, i, &bytes), a, e;
  ev->ds->vt->answer_span (ev->ds->self, split, i, &a, &e);
  prompt[0] = LF_TOKEN_BOS;
  for (int64_t t = 0; t < a; t++)
    prompt[t + 1] = bytes[t];
  (void) len;
  *answer = bytes + a;
  *n_answer = e - a;
  return a + 1;
}

double
lf_instruct_eval_score (LfInstructEval *ev, LfSplit split, const GArray *ids, double *token_acc)
{
  const int64_t N = split == LF_SPLIT_TRAIN ? ev->sc->n_train : ev->sc->n_test, C = ev->sc->context;
  g_autofree int32_t *prompt = g_new (int32_t, C + 1);
  g_autofree int32_t *out = g_new (int32_t, C + 1);
  double exact = 0, tok = 0;
  int64_t n = ids->len;
  for (int64_t k = 0; k < n; k++)
    {
      const uint8_t *ans;
      int64_t m, n_out = 0;
      int64_t np = instruct_prompt (ev, split, g_array_index (ids, int64_t, k) % N, prompt, &ans, &m);
      /* the answer and its end token are the first m + 1 generated tokens
       * or it is wrong: no need to generate further */
      if (!instruct_generate (ev, prompt, np, m + 1, out, &n_out))
        n_out = 0;
      int64_t right = 0;
      for (int64_t t = 0; t <= m; t++)
        right += t < n_out && out[t] == (t < m ? (int32_t) ans[t] : LF_TOKEN_EOS);
      exact += right == m + 1;
      tok += (double) right / (double) (m + 1);
    }
  *token_acc = n > 0 ? tok / (double) n : NAN;
  return n > 0 ? exact / (double) n : NAN;
}

/* Mean next-token loss (nats per token) over the general texts, every byte
 * and the end token. */
static double
instruct_general_loss (LfInstructEval *ev)
{
  const GArray *g = ev->sc->general;
  if (g == NULL || g->len == 0)
    return NAN;
  double nll = 0, tokens = 0;
  for (int64_t s = 0; s < g->len; s += ev->B)
    {
      int64_t b = MIN (ev->B, (int64_t) g->len - s);
      lf_tape_push (FALSE);
      LfBatch *batch = lf_scenario_batch (ev->sc, ev->ds, LF_SPLIT_TEST, (const int64_t *) g->data + s, b);
      LfModelOutput out;
      lf_model_forward (ev->model, batch, FALSE, &out);
      int64_t V = lf_tensor_dim (out.logits, -1), rows = b * batch->seq_len, kept = 0;
      int64_t shape[2] = { rows, V };
      for (int64_t i = 0; i < rows; i++)
        kept += batch->labels[i] >= 0;
      LfCrossEntropyOptions o = LF_CROSS_ENTROPY_OPTIONS_INIT;
      nll += lf_tensor_data (lf_cross_entropy (lf_reshape (out.logits, 2, shape), batch->labels, &o))[0]
             * (double) kept;
      tokens += (double) kept;
      lf_tape_pop ();
    }
  return tokens > 0 ? nll / tokens : NAN;
}

/* Text for JSON: the bytes, the end token as nothing (generation stops
 * there), other specials as <bos>/<pad>. */
static char *
instruct_text (const int32_t *tok, int64_t n)
{
  GString *s = g_string_new (NULL);
  for (int64_t i = 0; i < n; i++)
    if (tok[i] < 256)
      g_string_append_c (s, (char) tok[i]);
    else if (tok[i] != LF_TOKEN_EOS)
      g_string_append (s, tok[i] == LF_TOKEN_BOS ? "<bos>" : "<pad>");
  char *valid = g_utf8_make_valid (s->str, (gssize) s->len);   /* JSON strings are UTF-8 */
  g_string_free (s, TRUE);
  return valid;
}

static void
instruct_keep_generations (LfInstructEval *ev, gboolean before)
{
  const int64_t C = ev->sc->context;
  g_autofree int32_t *prompt = g_new (int32_t, C + 1);
  g_autofree int32_t *out = g_new (int32_t, C + 1);
  guint k = 0;
  for (int64_t e = 0; e < ev->sc->n_exp; e++)
    {
      const GArray *test = ev->sc->exps[e].test;
      for (int64_t j = 0; j < MIN (ev->n_gen, (int64_t) test->len); j++, k++)
        {
          const uint8_t *ans;
          int64_t m, n_out = 0;
          int64_t np = instruct_prompt (ev, LF_SPLIT_TEST, g_array_index (test, int64_t, j) % ev->sc->n_test, prompt,
                                        &ans, &m);
          /* room to show what comes out past a wrong answer */
          if (!instruct_generate (ev, prompt, np, m + 16, out, &n_out))
            n_out = 0;
          g_autofree char *gen = instruct_text (out, n_out);
          JsonObject *o;
          if (before)
            {
              o = json_object_new ();
              g_autofree char *p = instruct_text (prompt + 1, np - 1);
              g_autofree char *ref = g_strndup ((const char *) ans, (gsize) m);
              /* the dataset task of experience e (scenario.schedule may repeat tasks) */
              int64_t task = ev->sc->exp_task ? ev->sc->exp_task[e] : e;
              json_object_set_string_member (o, "task", ev->ds->di.domain_names ? ev->ds->di.domain_names[task] : "");
              json_object_set_string_member (o, "prompt", p);
              json_object_set_string_member (o, "reference", ref);
              json_object_set_string_member (o, "before", gen);
              json_array_add_object_element (ev->generations, o);
            }
          else
            {
              o = json_array_get_object_element (ev->generations, k);
              json_object_set_string_member (o, "after", gen);
            }
        }
    }
}

LfInstructEval *
lf_instruct_eval_new (LfModel *model, const LfScenario *sc, LfDataset *ds, int64_t B, int64_t n_generations)
{
  LfInstructEval *ev = g_new0 (LfInstructEval, 1);
  *ev = (LfInstructEval) { .model = model, .sc = sc, .ds = ds, .B = B, .n_gen = n_generations, .use_cache = TRUE,
                           .general_before = NAN };
  ev->tok_rows = g_array_new (FALSE, FALSE, sizeof (double));
  ev->tok_base = g_new (double, sc->n_exp);
  for (int64_t j = 0; j < sc->n_exp; j++)
    ev->tok_base[j] = NAN;
  ev->general = g_array_new (FALSE, FALSE, sizeof (double));
  ev->generations = json_array_new ();
  return ev;
}

void
lf_instruct_eval_free (LfInstructEval *ev)
{
  if (ev == NULL)
    return;
  g_array_unref (ev->tok_rows);
  g_free (ev->tok_base);
  g_array_unref (ev->general);
  json_array_unref (ev->generations);
  g_free (ev);
}

void
lf_instruct_eval_row (LfInstructEval *ev, const double *token_acc, gboolean baseline)
{
  const int64_t T = ev->sc->n_exp;
  double gl = instruct_general_loss (ev);
  if (baseline)
    {
      memcpy (ev->tok_base, token_acc, (size_t) T * sizeof (double));
      ev->general_before = gl;
      instruct_keep_generations (ev, TRUE);
      return;
    }
  g_array_append_vals (ev->tok_rows, token_acc, (guint) T);
  g_array_append_val (ev->general, gl);
  /* the latest row's generations: after the sequence, once it ends */
  instruct_keep_generations (ev, FALSE);
}

double
lf_instruct_eval_general_delta (const LfInstructEval *ev)
{
  if (ev->general->len == 0)
    return NAN;
  return g_array_index (ev->general, double, ev->general->len - 1) - ev->general_before;
}

static JsonNode *
num_node (double v)
{
  JsonNode *n = json_node_new (JSON_NODE_VALUE);
  if (isfinite (v))
    json_node_set_double (n, v);
  else
    json_node_init_null (n);
  return n;
}

JsonNode *
lf_instruct_eval_json (const LfInstructEval *ev)
{
  const int64_t T = ev->sc->n_exp, rows = ev->tok_rows->len / (guint) MAX (T, 1);
  JsonObject *o = json_object_new ();
  json_object_set_member (o, "general_loss_before", num_node (ev->general_before));
  JsonArray *gl = json_array_new ();
  for (guint i = 0; i < ev->general->len; i++)
    json_array_add_element (gl, num_node (g_array_index (ev->general, double, i)));
  json_object_set_array_member (o, "general_loss", gl);
  json_object_set_int_member (o, "general_texts", ev->sc->general ? ev->sc->general->len : 0);
  JsonArray *m = json_array_new ();
  for (int64_t i = 0; i < rows; i++)
    {
      JsonArray *row = json_array_new ();
      for (int64_t j = 0; j < T; j++)
        json_array_add_element (row, num_node (g_array_index (ev->tok_rows, double, i * T + j)));
      json_array_add_array_element (m, row);
    }
  json_object_set_array_member (o, "token_accuracy", m);
  JsonArray *b = json_array_new ();
  for (int64_t j = 0; j < T; j++)
    json_array_add_element (b, num_node (ev->tok_base[j]));
  json_object_set_array_member (o, "token_accuracy_baseline", b);
  json_object_set_array_member (o, "generations", json_array_ref (ev->generations));
  json_object_set_boolean_member (o, "kv_cache", ev->use_cache);
  JsonNode *n = json_node_alloc ();
  json_node_init_object (n, o);
  json_object_unref (o);
  return n;
}
