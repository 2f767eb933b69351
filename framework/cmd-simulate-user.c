/* lifelong — `lifelong simulate-user`: a simulated user's day with a
 * personal model (docs/evolve.md).  The user has personal facts drawn by
 * seed from fixed vocabularies; each day asks some new ones and repeats
 * some earlier ones, takes the snapshot's greedy replies and corrects the
 * wrong ones: the day's interaction log for `lifelong evolve`. */
#include "commands.h"
#include "json-write.h"
#include "model-dir.h"
#include "run.h"
#include <stdio.h>
#include <stdlib.h>

static const char sim_usage[] =
  "usage: lifelong simulate-user --model SNAPSHOT --day N --out DAY.jsonl\n"
  "                              [--seed S] [--new K] [--repeats R]\n"
  "                              [--threads N] [--plugin-path DIR]\n"
  "       lifelong simulate-user --facts [--seed S]\n"
  "\n"
  "A simulated user (deterministic by --seed) with personal facts (name, city,\n"
  "pet's name, favourite things, ...).  Day N (1, 2, ...) asks the K facts\n"
  "numbered (N-1)K .. NK-1 (new ones) and R facts of earlier days (repeats),\n"
  "in a seeded order; the model in SNAPSHOT (a folder with model.safetensors\n"
  "and config.json, such as PERSONAL/vX.Y) replies greedily to \"QUESTION\\n\"\n"
  "(after the snapshot's prompt prefix, evolve.json's prompt_prefix),\n"
  "and the user corrects each reply that is not the fact.  Writes the day's\n"
  "interaction log (JSON lines) atomically.  --facts prints the user's facts.\n"
  "\n"
  "  --new K       new facts a day (default 3)\n"
  "  --repeats R   earlier facts asked again a day (default 2)\n";

typedef struct {
  const char *question;
  const char *const *values;
} SimFact;

#define V(...) (const char *const[]) { __VA_ARGS__, NULL }
static const SimFact sim_facts[] = {
  { "what is my name?", V ("Ana", "Ben", "Carla", "Dev", "Eli", "Fay", "Gus", "Hana") },
  { "what is my dog's name?", V ("Rex", "Max", "Bella", "Luna", "Rocky", "Daisy") },
  { "which city do I live in?", V ("Lisbon", "Oslo", "Lima", "Kyoto", "Denver", "Cairo") },
  { "what is my favourite colour?", V ("red", "blue", "green", "yellow", "purple", "orange") },
  { "what is my favourite food?", V ("pizza", "sushi", "tacos", "curry", "pasta", "ramen") },
  { "what is my cat's name?", V ("Tom", "Misty", "Olive", "Simba", "Coco", "Pepper") },
  { "what is my sister's name?", V ("Maya", "Nora", "Iris", "Zoe", "Ruth", "Lena") },
  { "what is my job?", V ("nurse", "teacher", "baker", "pilot", "chemist", "plumber") },
  { "what sport do I play?", V ("tennis", "chess", "rugby", "golf", "hockey", "squash") },
  { "what is my favourite drink?", V ("tea", "coffee", "cocoa", "lemonade", "milk", "cider") },
  { "which month is my birthday?", V ("May", "June", "March", "April", "July", "October") },
  { "what is my brother's name?", V ("Sam", "Leo", "Omar", "Hugo", "Ivan", "Theo") },
  { "what instrument do I play?", V ("piano", "violin", "drums", "flute", "cello", "guitar") },
  { "what is my lucky number?", V ("7", "13", "42", "3", "21", "9") },
  { "what car do I drive?", V ("Volvo", "Fiat", "Honda", "Tesla", "Mini", "Skoda") },
  { "what is my favourite season?", V ("spring", "summer", "autumn", "winter") },
  { "which language am I learning?", V ("Spanish", "German", "Korean", "Greek", "Hindi", "Polish") },
  { "what is my favourite fruit?", V ("mango", "apple", "kiwi", "plum", "cherry", "banana") },
  { "what is my street?", V ("Elm", "Oak", "Pine", "Maple", "Cedar", "Birch") },
  { "what is my favourite band?", V ("Queen", "Abba", "Blur", "Muse", "Oasis", "Toto") },
  { "who is my best friend?", V ("Kim", "Raj", "Ola", "Pia", "Ugo", "Vic") },
  { "what is my favourite flower?", V ("rose", "tulip", "lily", "daisy", "orchid", "poppy") },
  { "which planet do I like?", V ("Mars", "Venus", "Saturn", "Jupiter", "Neptune", "Mercury") },
  { "what is my hobby?", V ("knitting", "hiking", "baking", "fishing", "painting", "cycling") },
  { "what is my favourite animal?", V ("otter", "zebra", "panda", "koala", "eagle", "whale") },
  { "what is my mother's name?", V ("Rosa", "Mia", "Sara", "Ella", "Vera", "Alma") },
  { "what is my favourite game?", V ("Go", "poker", "bridge", "Tetris", "Doom", "Risk") },
  { "what is my favourite tree?", V ("oak", "willow", "palm", "birch", "pine", "ash") },
};
#undef V
#define SIM_N_FACTS ((int64_t) G_N_ELEMENTS (sim_facts))

/* The user's value of fact f: drawn by seed, the same on every day. */
static const char *
sim_value (uint64_t seed, int64_t f)
{
  int64_t n = 0;
  while (sim_facts[f].values[n])
    n++;
  LfRng r;
  lf_rng_init (&r, lf_rng_key (seed, (uint64_t) f, 0, 0, "simulated-user-fact"));
  return sim_facts[f].values[lf_rng_below (&r, (uint64_t) n)];
}

/* The model's greedy reply to question: the text up to the end token or
 * the first newline, printable ASCII only (a log's reply is one line). */
static char *
sim_reply (LfModel *m, const char *prefix, const char *question, GError **error)
{
  const int64_t C = lf_model_spec (m)->context;
  g_autofree char *prompt = g_strconcat (prefix, question, "\n", NULL);
  const int64_t n_prompt = (int64_t) strlen (prompt) + 1;
  const int64_t max_new = MIN (32, C - n_prompt);
  if (max_new < 1)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "\"%s\": longer than the model's context (%"
                   G_GINT64_FORMAT ")", question, C);
      return NULL;
    }
  g_autofree int32_t *tokens = g_new (int32_t, n_prompt);
  tokens[0] = LF_TOKEN_BOS;
  for (int64_t i = 1; i < n_prompt; i++)
    tokens[i] = (uint8_t) prompt[i - 1];
  g_autofree int32_t *out = g_new (int32_t, max_new);
  int64_t n_out = 0;
  LfGenerateOptions o = { .struct_size = sizeof o, .temperature = 0, .stop_at_eos = TRUE };
  if (!lf_model_generate (m, tokens, n_prompt, max_new, &o, TRUE, out, &n_out, error))
    return NULL;
  GString *s = g_string_new (NULL);
  for (int64_t i = 0; i < n_out && out[i] != LF_TOKEN_EOS && out[i] != '\n'; i++)
    if (out[i] >= 32 && out[i] < 127)
      g_string_append_c (s, (char) out[i]);
  return g_string_free (s, FALSE);
}

int
lf_cmd_simulate_user (int argc, char **argv)
{
  const char *model = NULL, *out = NULL;
  int64_t day = 0, seed = 0, n_new = 3, n_rep = 2, threads = 1;
  gboolean facts = FALSE;
  g_autoptr (GPtrArray) paths = g_ptr_array_new ();
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      gboolean has_val = i + 1 < argc;
      if (g_str_equal (a, "--help") || g_str_equal (a, "-h"))
        {
          fputs (sim_usage, stdout);
          return 0;
        }
      else if (g_str_equal (a, "--model") && has_val)
        model = argv[++i];
      else if (g_str_equal (a, "--out") && has_val)
        out = argv[++i];
      else if (g_str_equal (a, "--plugin-path") && has_val)
        g_ptr_array_add (paths, argv[++i]);
      else if (g_str_equal (a, "--day") && has_val)
        {
          if (!lf_cli_parse_int ("simulate-user", a, argv[++i], 1, 100000, &day))
            return 2;
        }
      else if (g_str_equal (a, "--seed") && has_val)
        {
          if (!lf_cli_parse_int ("simulate-user", a, argv[++i], 0, G_MAXINT64, &seed))
            return 2;
        }
      else if (g_str_equal (a, "--new") && has_val)
        {
          if (!lf_cli_parse_int ("simulate-user", a, argv[++i], 0, SIM_N_FACTS, &n_new))
            return 2;
        }
      else if (g_str_equal (a, "--repeats") && has_val)
        {
          if (!lf_cli_parse_int ("simulate-user", a, argv[++i], 0, SIM_N_FACTS, &n_rep))
            return 2;
        }
      else if (g_str_equal (a, "--threads") && has_val)
        {
          if (!lf_cli_parse_int ("simulate-user", a, argv[++i], 1, 256, &threads))
            return 2;
        }
      else if (g_str_equal (a, "--facts"))
        facts = TRUE;
      else
        {
          fprintf (stderr, "lifelong simulate-user: unknown option or argument %s%s\n%s", a,
                   a[0] == '-' && !has_val ? " (or its value is missing)" : "", sim_usage);
          return 2;
        }
    }
  if (facts)
    {
      for (int64_t f = 0; f < SIM_N_FACTS; f++)
        printf ("%" G_GINT64_FORMAT "\t%s\t%s\n", f, sim_facts[f].question, sim_value ((uint64_t) seed, f));
      return 0;
    }
  if (model == NULL || out == NULL || day == 0)
    {
      fprintf (stderr, "lifelong simulate-user: needs --model, --day and --out\n%s", sim_usage);
      return 2;
    }
  /* the day's questions: new facts, then repeats of earlier days' facts */
  const int64_t first_new = MIN ((day - 1) * n_new, SIM_N_FACTS), end_new = MIN (day * n_new, SIM_N_FACTS);
  g_autoptr (GArray) ask = g_array_new (FALSE, FALSE, sizeof (int64_t));
  for (int64_t f = first_new; f < end_new; f++)
    g_array_append_val (ask, f);
  LfRng r;
  lf_rng_init (&r, lf_rng_key ((uint64_t) seed, (uint64_t) day, 0, 0, "simulated-user-repeats"));
  g_autofree int64_t *earlier = g_new (int64_t, MAX (first_new, 1));
  for (int64_t f = 0; f < first_new; f++)
    earlier[f] = f;
  for (int64_t k = 0; k < MIN (n_rep, first_new); k++)
    {
      /* a partial Fisher-Yates draw without replacement */
      int64_t j = k + (int64_t) lf_rng_below (&r, (uint64_t) (first_new - k)), t = earlier[k];
      earlier[k] = earlier[j];
      earlier[j] = t;
      g_array_append_val (ask, earlier[k]);
    }
  if (ask->len == 0)
    {
      fprintf (stderr, "lifelong simulate-user: day %" G_GINT64_FORMAT " has no question (%" G_GINT64_FORMAT
               " facts, --new %" G_GINT64_FORMAT ", --repeats %" G_GINT64_FORMAT ")\n", day, SIM_N_FACTS, n_new, n_rep);
      return 1;
    }
  lf_rng_init (&r, lf_rng_key ((uint64_t) seed, (uint64_t) day, 0, 0, "simulated-user-order"));
  int64_t *q = (int64_t *) ask->data;
  for (int64_t i = (int64_t) ask->len - 1; i > 0; i--)
    {
      int64_t j = (int64_t) lf_rng_below (&r, (uint64_t) i + 1), t = q[i];
      q[i] = q[j];
      q[j] = t;
    }

  /* the snapshot's prompt prefix (docs/evolve.md), "" for a plain model folder */
  g_autofree char *prefix = NULL;
  g_autofree char *meta = g_build_filename (model, "evolve.json", NULL);
  if (g_file_test (meta, G_FILE_TEST_EXISTS))
    {
      g_autoptr (JsonParser) p = json_parser_new ();
      JsonNode *root = json_parser_load_from_file (p, meta, NULL) ? json_parser_get_root (p) : NULL;
      JsonNode *pn = root && JSON_NODE_HOLDS_OBJECT (root)
                     ? json_object_get_member (json_node_get_object (root), "prompt_prefix") : NULL;
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)
          || (pn && (!JSON_NODE_HOLDS_VALUE (pn) || json_node_get_value_type (pn) != G_TYPE_STRING)))
        {
          fprintf (stderr, "lifelong simulate-user: %s: not JSON, or its prompt_prefix is not a string\n", meta);
          return 1;
        }
      if (pn)
        prefix = g_strdup (json_node_get_string (pn));
    }
  if (prefix == NULL)
    prefix = g_strdup ("");
  lf_set_threads ((int) threads);
  g_ptr_array_add (paths, NULL);
  g_autofree char *joined = g_strjoinv (":", (char **) paths->pdata);
  g_autoptr (LfPluginRegistry) reg = lf_registry_new ();
  g_autoptr (GError) error = NULL;
  LfModel *m = lf_model_dir_open (model, paths->len > 1 ? joined : NULL, reg, &error);
  if (m == NULL)
    {
      fprintf (stderr, "lifelong simulate-user: %s\n", error->message);
      return 1;
    }
  g_autoptr (GString) log = g_string_new (NULL);
  int64_t wrong = 0;
  for (guint i = 0; i < ask->len; i++)
    {
      const int64_t f = q[i];
      const char *truth = sim_value ((uint64_t) seed, f);
      g_autofree char *reply = sim_reply (m, prefix, sim_facts[f].question, &error);
      if (reply == NULL)
        {
          lf_model_free (m);
          fprintf (stderr, "lifelong simulate-user: %s\n", error->message);
          return 1;
        }
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "prompt");
      json_builder_add_string_value (b, sim_facts[f].question);
      json_builder_set_member_name (b, "reply");
      json_builder_add_string_value (b, reply);
      if (!g_str_equal (reply, truth))
        {
          json_builder_set_member_name (b, "correction");
          json_builder_add_string_value (b, truth);
          wrong++;
        }
      json_builder_end_object (b);
      g_autoptr (JsonNode) node = json_builder_get_root (b);
      g_autofree char *line = lf_json_to_string (node, FALSE);
      g_string_append_printf (log, "%s\n", line);
    }
  lf_model_free (m);
  if (!lf_write_file_atomic (out, log->str, log->len, &error))
    {
      fprintf (stderr, "lifelong simulate-user: %s\n", error->message);
      return 1;
    }
  printf ("day %" G_GINT64_FORMAT ": %u questions (%" G_GINT64_FORMAT " new), %" G_GINT64_FORMAT " corrected -> %s\n",
          day, ask->len, end_new - first_new, wrong, out);
  return 0;
}
