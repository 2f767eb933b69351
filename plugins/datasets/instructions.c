/* lifelong plugin — dataset "instructions": a seeded generator of small
 * instruction tasks in plain text ("reverse: abc\n" -> "cba"), one natural
 * domain per task, for continual instruction tuning
 * (docs/instruction-tuning.md).  Each sample's answer span marks the answer;
 * the end token (EOS) ends it.  Held-out fortunes ride along in the test
 * split, outside every task, for the general-ability loss. */
#include <lifelong/lifelong.h>
#include "fortune-file.h"
#include "interaction-log.h"

typedef enum {
  IN_COPY, IN_REVERSE, IN_UPPERCASE, IN_SORT, IN_COUNT_WORDS, IN_ADD, IN_FORTUNE_CATEGORY, IN_TRANSLATE,
  IN_N_KINDS
} InKind;

static const char *const in_kind_names[IN_N_KINDS + 1] = {
  "copy", "reverse", "uppercase", "sort", "count-words", "add", "fortune-category", "translate", NULL
};

/* translate: a fixed English -> Spanish vocabulary (ASCII, no accents) */
static const char *const in_vocab[][2] = {
  { "cat", "gato" }, { "dog", "perro" }, { "house", "casa" }, { "water", "agua" }, { "sun", "sol" },
  { "moon", "luna" }, { "red", "rojo" }, { "big", "grande" }, { "small", "chico" }, { "book", "libro" },
  { "tree", "arbol" }, { "bread", "pan" }, { "milk", "leche" }, { "city", "ciudad" }, { "friend", "amigo" },
  { "day", "dia" }, { "night", "noche" }, { "sea", "mar" }, { "fire", "fuego" }, { "hand", "mano" },
  { "eye", "ojo" }, { "bird", "pajaro" }, { "apple", "manzana" }, { "green", "verde" },
};
#define IN_VOCAB ((int64_t) G_N_ELEMENTS (in_vocab))

/* count-words: the words counted */
static const char *const in_words[] = {
  "the", "a", "cat", "sat", "on", "mat", "big", "red", "fox", "ran", "far", "away", "we", "go", "up", "now",
};

typedef struct {
  GPtrArray *text[2];       /* GBytes per sample, by split */
  GArray    *span[2];       /* int64 pairs: the answer's [start, end) */
  GArray    *dom[2];        /* int32: the task, -1 for the general texts */
  char     **task_names;    /* NULL-terminated */
  int64_t    n_tasks;
} Instr;

static const LfParam in_params[] = {
  { "tasks", LF_PARAM_STRING_LIST, "[\"copy\", \"reverse\", \"uppercase\", \"sort\", \"add\"]", 0, 0, NULL,
    "the tasks, in order (one domain each): copy, reverse, uppercase, sort, count-words, add, "
    "fortune-category, translate" },
  { "train_per_task", LF_PARAM_INT, "200", 1, 1e6, NULL, "training items per task" },
  { "test_per_task", LF_PARAM_INT, "50", 1, 1e6, NULL, "held-out test items per task (inputs never in training)" },
  { "min_len", LF_PARAM_INT, "3", 1, 64, NULL, "copy, reverse, uppercase, sort: fewest letters of an input" },
  { "max_len", LF_PARAM_INT, "8", 1, 64, NULL, "copy, reverse, uppercase, sort: most letters of an input" },
  { "max_words", LF_PARAM_INT, "3", 1, 16, NULL, "count-words, translate: most words of an input" },
  { "max_number", LF_PARAM_INT, "99", 1, 1e9, NULL, "add: the largest operand" },
  { "fortune_bytes", LF_PARAM_INT, "32", 8, 1024, NULL,
    "fortune-category: the input is a fortune's first N bytes (white space as single spaces)" },
  { "fortunes_path", LF_PARAM_STRING, "\"/usr/share/games/fortunes\"", 0, 0, NULL,
    "folder of Debian's fortune files (fortune-category, general texts)" },
  { "fortune_categories", LF_PARAM_STRING_LIST, "[\"computers\", \"science\", \"literature\", \"linux\"]", 0, 0,
    NULL, "English fortune files: fortune-category's answers, and where the general texts come from" },
  { "general_texts", LF_PARAM_INT, "64", 0, 1e6, NULL,
    "held-out fortunes (the fortunes dataset's test split) in the test split, outside every task: the "
    "general-ability loss; 0: none" },
  { "general_bytes", LF_PARAM_INT, "60", 8, 1e6, NULL, "general texts are cut to this many bytes" },
  { "seed", LF_PARAM_INT, "0", 0, 9.2e18, NULL, "seed of the items (independent of the run's seed)" },
  { "logs", LF_PARAM_STRING_LIST, "[]", 0, 0, NULL,
    "interaction logs (JSON lines of prompt, reply, correction: docs/evolve.md), one domain each (day-1, "
    "day-2, ...) instead of tasks: \"PROMPT\\nANSWER\", the answer the correction or else the accepted "
    "reply, in both splits" },
  { "log_prefix", LF_PARAM_STRING, "\"\"", 0, 0, NULL,
    "logs: put before every prompt (\"user: \" gives lamol and ssr their task prefix)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void in_close (void *self);

static void
in_random_letters (LfRng *r, int64_t lo, int64_t hi, GString *s)
{
  int64_t n = lo + (int64_t) lf_rng_below (r, (uint64_t) (hi - lo + 1));
  for (int64_t i = 0; i < n; i++)
    g_string_append_c (s, (char) ('a' + lf_rng_below (r, 26)));
}

static int
in_cmp_char (const void *a, const void *b)
{
  return *(const char *) a - *(const char *) b;
}

/* The fortunes of the categories, split as the fortunes dataset splits
 * them: its training fortunes (fortune-category) and its test ones
 * (general texts), each tagged with its category. */
typedef struct {
  GPtrArray *train, *test;     /* GBytes */
  GArray    *train_cat;        /* int32 category */
} InFortunes;

static gboolean
in_fortunes_read (const LfParams *p, InFortunes *fo, GError **error)
{
  const char *root = lf_params_get_string (p, "fortunes_path");
  int64_t nc;
  const char *const *cats = lf_params_get_string_list (p, "fortune_categories", &nc);
  if (nc == 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "dataset.fortune_categories: empty");
      return FALSE;
    }
  for (int64_t c = 0; c < nc; c++)
    {
      if (strchr (cats[c], '/') || cats[c][0] == '\0' || cats[c][0] == '.')
        {
          g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                       "dataset.fortune_categories[%" G_GINT64_FORMAT "]: \"%s\" is not a fortune file name", c,
                       cats[c]);
          return FALSE;
        }
      g_autofree char *file = g_build_filename (root, cats[c], NULL);
      g_autofree char *text = NULL;
      gsize len;
      g_autoptr (GError) local = NULL;
      if (!g_file_get_contents (file, &text, &len, &local))
        {
          g_set_error (error, LF_ERROR, LF_ERROR_IO,
                       "dataset.fortune_categories[%" G_GINT64_FORMAT "]: cannot read %s: %s (fortune-category and "
                       "the general texts need Debian's fortunes: apt install fortunes, or set "
                       "dataset.fortunes_path)", c, file, local->message);
          return FALSE;
        }
      g_autoptr (GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      int64_t k = fortune_file_split (text, len, 1 << 20, all);
      for (int64_t j = 0; j < k; j++)
        {
          if (FORTUNE_IS_TEST (j))
            g_ptr_array_add (fo->test, g_bytes_ref (all->pdata[j]));
          else
            {
              int32_t cc = (int32_t) c;
              g_ptr_array_add (fo->train, g_bytes_ref (all->pdata[j]));
              g_array_append_val (fo->train_cat, cc);
            }
        }
    }
  return TRUE;
}

/* The first n bytes of a fortune, white space runs as one space, trimmed. */
static void
in_fortune_text (GBytes *b, int64_t n, GString *out)
{
  gsize len;
  const char *s = g_bytes_get_data (b, &len);
  gboolean space = TRUE;
  for (gsize i = 0; i < len && (int64_t) out->len < n; i++)
    {
      unsigned char ch = (unsigned char) s[i];
      if (g_ascii_isspace (ch) || ch < 32 || ch >= 127)
        {
          if (!space)
            g_string_append_c (out, ' ');
          space = TRUE;
          continue;
        }
      g_string_append_c (out, (char) ch);
      space = FALSE;
    }
  while (out->len > 0 && out->str[out->len - 1] == ' ')
    g_string_truncate (out, out->len - 1);
}

/* One item of task kind: its input and its answer. */
static void
in_item (InKind kind, const LfParams *p, LfRng *r, const InFortunes *fo, const char *const *cats, GString *in,
         GString *ans)
{
  const int64_t lo = lf_params_get_int (p, "min_len"), hi = lf_params_get_int (p, "max_len");
  const int64_t mw = lf_params_get_int (p, "max_words");
  switch (kind)
    {
    case IN_COPY:
    case IN_REVERSE:
    case IN_UPPERCASE:
    case IN_SORT:
      in_random_letters (r, lo, hi, in);
      g_string_assign (ans, in->str);
      if (kind == IN_REVERSE)
        g_strreverse (ans->str);
      else if (kind == IN_UPPERCASE)
        for (gsize i = 0; i < ans->len; i++)
          ans->str[i] = g_ascii_toupper (ans->str[i]);
      else if (kind == IN_SORT)
        qsort (ans->str, ans->len, 1, in_cmp_char);
      break;
    case IN_COUNT_WORDS:
      {
        int64_t n = 1 + (int64_t) lf_rng_below (r, (uint64_t) mw);
        for (int64_t i = 0; i < n; i++)
          g_string_append_printf (in, "%s%s", i ? " " : "", in_words[lf_rng_below (r, G_N_ELEMENTS (in_words))]);
        g_string_printf (ans, "%" G_GINT64_FORMAT, n);
        break;
      }
    case IN_ADD:
      {
        int64_t m = lf_params_get_int (p, "max_number");
        int64_t a = (int64_t) lf_rng_below (r, (uint64_t) m + 1), b = (int64_t) lf_rng_below (r, (uint64_t) m + 1);
        g_string_printf (in, "%" G_GINT64_FORMAT "+%" G_GINT64_FORMAT, a, b);
        g_string_printf (ans, "%" G_GINT64_FORMAT, a + b);
        break;
      }
    case IN_FORTUNE_CATEGORY:
      {
        guint i = (guint) lf_rng_below (r, fo->train->len);
        in_fortune_text (fo->train->pdata[i], lf_params_get_int (p, "fortune_bytes"), in);
        g_string_assign (ans, cats[g_array_index (fo->train_cat, int32_t, i)]);
        break;
      }
    case IN_TRANSLATE:
      {
        int64_t n = 1 + (int64_t) lf_rng_below (r, (uint64_t) mw);
        for (int64_t i = 0; i < n; i++)
          {
            uint64_t w = lf_rng_below (r, IN_VOCAB);
            g_string_append_printf (in, "%s%s", i ? " " : "", in_vocab[w][0]);
            g_string_append_printf (ans, "%s%s", i ? " " : "", in_vocab[w][1]);
          }
        break;
      }
    default:
      g_assert_not_reached ();
    }
}

static void
in_add (Instr *d, int split, const char *text, int64_t a, int64_t e, int32_t dom)
{
  g_ptr_array_add (d->text[split], g_bytes_new (text, strlen (text)));
  int64_t s[2] = { a, e };
  g_array_append_vals (d->span[split], s, 2);
  g_array_append_val (d->dom[split], dom);
}

/* Log l (day l + 1): its turns as "PREFIX PROMPT\nANSWER" in both splits (the
 * answer the correction, else the accepted reply); a prompt asked twice
 * in the day counts once, with its last answer, at its first place. */
static gboolean
in_add_log (Instr *d, const char *path, const char *prefix, int64_t l, GError **error)
{
  g_autoptr (GPtrArray) turns = g_ptr_array_new_with_free_func ((GDestroyNotify) interaction_turn_free);
  g_autoptr (GError) local = NULL;
  if (!interaction_log_read (path, turns, &local))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_IO, "dataset.logs[%" G_GINT64_FORMAT "]: %s", l, local->message);
      return FALSE;
    }
  d->task_names[l] = g_strdup_printf ("day-%" G_GINT64_FORMAT, l + 1);
  g_autoptr (GHashTable) last = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < turns->len; i++)
    {
      InteractionTurn *t = turns->pdata[i];
      g_hash_table_insert (last, t->prompt, t);
    }
  for (guint i = 0; i < turns->len; i++)
    {
      InteractionTurn *t = turns->pdata[i];
      InteractionTurn *fin = g_hash_table_lookup (last, t->prompt);
      if (fin == NULL)
        continue;   /* placed already */
      g_hash_table_insert (last, t->prompt, NULL);
      g_autofree char *prompt = g_strconcat (prefix, t->prompt, "\n", NULL);
      g_autofree char *text = g_strconcat (prompt, INTERACTION_TARGET (fin), NULL);
      for (int split = 0; split < 2; split++)
        in_add (d, split == 0 ? LF_SPLIT_TRAIN : LF_SPLIT_TEST, text, (int64_t) strlen (prompt),
                (int64_t) strlen (text), (int32_t) l);
    }
  return TRUE;
}

static void *
in_open (const LfParams *p, uint64_t key, GError **error)
{
  (void) key;
  int64_t nt;
  const char *const *tasks = lf_params_get_string_list (p, "tasks", &nt);
  const int64_t n_train = lf_params_get_int (p, "train_per_task"), n_test = lf_params_get_int (p, "test_per_task");
  const int64_t n_general = lf_params_get_int (p, "general_texts");
  const uint64_t seed = (uint64_t) lf_params_get_int (p, "seed");
  int64_t nlogs;
  const char *const *logs = lf_params_get_string_list (p, "logs", &nlogs);
  if (nlogs > 0)
    {
      if (lf_params_is_set (p, "tasks"))
        {
          g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "dataset.tasks: not with dataset.logs (the logs are "
                       "the tasks, one per day)");
          return NULL;
        }
      nt = 0;
    }
  if (nt == 0 && nlogs == 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "dataset.tasks: empty (name at least one of: copy, reverse, "
                   "uppercase, sort, count-words, add, fortune-category, translate)");
      return NULL;
    }
  if (lf_params_get_int (p, "min_len") > lf_params_get_int (p, "max_len"))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "dataset.min_len: %" G_GINT64_FORMAT " is more than "
                   "dataset.max_len (%" G_GINT64_FORMAT ")", lf_params_get_int (p, "min_len"),
                   lf_params_get_int (p, "max_len"));
      return NULL;
    }
  g_autofree InKind *kinds = g_new (InKind, nt);
  gboolean need_fortunes = n_general > 0;
  for (int64_t t = 0; t < nt; t++)
    {
      int k = 0;
      while (in_kind_names[k] && !g_str_equal (in_kind_names[k], tasks[t]))
        k++;
      if (in_kind_names[k] == NULL)
        {
          g_autofree char *known = g_strjoinv (", ", (char **) in_kind_names);
          g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "dataset.tasks[%" G_GINT64_FORMAT "]: unknown task \"%s\" "
                       "(known: %s)", t, tasks[t], known);
          return NULL;
        }
      for (int64_t u = 0; u < t; u++)
        if (kinds[u] == (InKind) k)
          {
            g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "dataset.tasks[%" G_GINT64_FORMAT "]: \"%s\" is listed "
                         "twice", t, tasks[t]);
            return NULL;
          }
      kinds[t] = (InKind) k;
      need_fortunes |= k == IN_FORTUNE_CATEGORY;
    }

  InFortunes fo = { g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref),
                    g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref),
                    g_array_new (FALSE, FALSE, sizeof (int32_t)) };
  Instr *d = g_new0 (Instr, 1);
  for (int s = 0; s < 2; s++)
    {
      d->text[s] = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      d->span[s] = g_array_new (FALSE, FALSE, sizeof (int64_t));
      d->dom[s] = g_array_new (FALSE, FALSE, sizeof (int32_t));
    }
  d->n_tasks = nt + nlogs;
  d->task_names = g_new0 (char *, nt + nlogs + 1);
  int64_t ncat;
  const char *const *cats = lf_params_get_string_list (p, "fortune_categories", &ncat);
  gboolean ok = !need_fortunes || in_fortunes_read (p, &fo, error);
  for (int64_t t = 0; ok && t < nt; t++)
    {
      d->task_names[t] = g_strdup (tasks[t]);
      /* test items first, then training items with inputs never seen */
      g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      LfRng r;
      lf_rng_init (&r, lf_rng_key (seed, (uint64_t) kinds[t], 0, 0, "instructions"));
      const int64_t want = n_test + n_train;
      int64_t got = 0, tries = 0;
      g_autoptr (GString) in = g_string_new (NULL);
      g_autoptr (GString) ans = g_string_new (NULL);
      while (got < want && tries < 50 * want + 1000)
        {
          tries++;
          g_string_truncate (in, 0);
          g_string_truncate (ans, 0);
          in_item (kinds[t], p, &r, &fo, cats, in, ans);
          if (in->len == 0 || ans->len == 0 || g_hash_table_contains (seen, in->str))
            continue;
          g_hash_table_add (seen, g_strdup (in->str));
          g_autofree char *prompt = g_strdup_printf ("%s: %s\n", tasks[t], in->str);
          g_autofree char *text = g_strconcat (prompt, ans->str, NULL);
          int64_t a = (int64_t) strlen (prompt);
          in_add (d, got < n_test ? LF_SPLIT_TEST : LF_SPLIT_TRAIN, text, a, (int64_t) strlen (text), (int32_t) t);
          got++;
        }
      if (got < want)
        {
          g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "dataset.train_per_task: task \"%s\" has only %"
                       G_GINT64_FORMAT " distinct inputs with these settings, %" G_GINT64_FORMAT " asked for "
                       "(train_per_task + test_per_task); lower them or widen the inputs", tasks[t], got, want);
          ok = FALSE;
        }
    }
  for (int64_t l = 0; ok && l < nlogs; l++)
    ok = in_add_log (d, logs[l], lf_params_get_string (p, "log_prefix"), l, error);
  if (ok && n_general > (int64_t) fo.test->len)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "dataset.general_texts: %" G_GINT64_FORMAT " asked for, the "
                   "fortune categories hold %u held-out fortunes", n_general, fo.test->len);
      ok = FALSE;
    }
  /* the general texts: held-out fortunes spread over the categories (every
   * k-th), their whole text the span the loss reads */
  for (int64_t i = 0; ok && i < n_general; i++)
    {
      guint at = (guint) (i * (int64_t) fo.test->len / n_general);
      gsize len;
      const char *s = g_bytes_get_data (fo.test->pdata[at], &len);
      g_autofree char *text = g_strndup (s, MIN (len, (gsize) lf_params_get_int (p, "general_bytes")));
      in_add (d, LF_SPLIT_TEST, text, 0, (int64_t) strlen (text), -1);
    }
  g_ptr_array_unref (fo.train);
  g_ptr_array_unref (fo.test);
  g_array_unref (fo.train_cat);
  if (!ok)
    {
      in_close (d);
      return NULL;
    }
  return d;
}

static void
in_close (void *self)
{
  Instr *d = self;
  for (int s = 0; s < 2; s++)
    {
      g_ptr_array_unref (d->text[s]);
      g_array_unref (d->span[s]);
      g_array_unref (d->dom[s]);
    }
  g_strfreev (d->task_names);
  g_free (d);
}

static void
in_info (void *self, LfDatasetInfo *info)
{
  Instr *d = self;
  info->n_train = d->text[0]->len;
  info->n_test = d->text[1]->len;
  info->input_ndim = 0;
  info->vocab = 256;
  info->n_domains = d->n_tasks;
  info->domain_names = (const char *const *) d->task_names;
}

static int32_t
in_domain (void *self, LfSplit split, int64_t i)
{
  return g_array_index (((Instr *) self)->dom[split], int32_t, i);
}

static int64_t
in_sequence (void *self, LfSplit split, int64_t i, const uint8_t **bytes)
{
  gsize n;
  *bytes = g_bytes_get_data (((Instr *) self)->text[split]->pdata[i], &n);
  return (int64_t) n;
}

static void
in_answer_span (void *self, LfSplit split, int64_t i, int64_t *start, int64_t *end)
{
  const int64_t *s = &g_array_index (((Instr *) self)->span[split], int64_t, 2 * i);
  *start = s[0];
  *end = s[1];
}

static const LfDatasetVTable in_vtable = {
  .struct_size = sizeof (LfDatasetVTable),
  .open = in_open,
  .close = in_close,
  .info = in_info,
  .domain = in_domain,
  .sequence = in_sequence,
  .answer_span = in_answer_span,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_DATASET,
    .name = "instructions",
    .version = "0.1.0",
    .summary = "seeded instruction tasks in plain text (copy, reverse, uppercase, sort, count-words, add, "
               "fortune-category, translate), one domain per task, answers marked: continual instruction tuning",
    .params = in_params,
    .vtable = &in_vtable,
  };
  return &info;
}
