/* lifelong — the feedback scenario's stream and measurements (feedback.h):
 * recurrences keyed by item and appearance, rounds checked by the oracle,
 * repeat errors counted item by item.  docs/open-environments.md. */
#include "feedback.h"
#include "host.h"
#include "plugin-private.h"
#include <math.h>

static const LfParam feedback_params[] = {
  { "budget", LF_PARAM_INT, NULL, 0, 1e12, NULL,
    "corrections the corrector gives in the whole run (each wrong answer it fixes costs one, a repeated one too)" },
  { "revisit_probability", LF_PARAM_FLOAT, "0.5", 0, 1, NULL,
    "the probability that an appearance of an item is followed by another one later in the stream" },
  { "revisit_gap", LF_PARAM_INT, "500", 1, 1e9, NULL,
    "mean stream samples between two appearances of an item (uniform in 1 .. 2 gap - 1)" },
  { "repeats", LF_PARAM_INT, "2", 0, 1000, NULL, "the most appearances an item has after its first" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

gboolean
lf_feedback_config_parse (const char *json, LfFeedbackConfig *c, GError **error)
{
  g_autoptr (JsonNode) node = json ? json_from_string (json, NULL) : NULL;
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.feedback: expected an object such as {\"budget\": 1000, \"revisit_probability\": 0.5}, "
                   "got %s", json ? json : "nothing");
      return FALSE;
    }
  g_autoptr (GError) local = NULL;
  g_autoptr (LfParams) p = lf_params_from_json (feedback_params, json_node_get_object (node), "scenario.feedback",
                                                NULL, &local);
  if (p == NULL)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "%s", local->message);
      return FALSE;
    }
  c->budget = lf_params_get_int (p, "budget");
  c->revisit_probability = lf_params_get_float (p, "revisit_probability");
  c->revisit_gap = lf_params_get_int (p, "revisit_gap");
  c->repeats = lf_params_get_int (p, "repeats");
  return TRUE;
}

/* ---- repeat errors ---------------------------------------------------------- */

typedef struct {
  int64_t emitted;          /* appearances put in the stream */
  int64_t corrected_round;  /* the round of its first correction, or -1 */
  int64_t corrected_exp;    /* the experience (task) it was in then */
  int64_t corrections;
} Item;

/* id -> Item, the counts of repeats */
typedef struct {
  GHashTable *items;
  int64_t     repeats, repeat_errors, corrected_items, recurring;
  int64_t     later_repeats, later_errors;   /* the repeats in a later task than the correction */
} Tracker;

static void
tracker_init (Tracker *t)
{
  memset (t, 0, sizeof *t);
  t->items = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
}

static Item *
tracker_item (Tracker *t, int64_t id)
{
  Item *it = g_hash_table_lookup (t->items, &id);
  if (it == NULL)
    {
      /* the key lives in the item: one allocation per item */
      it = g_malloc0 (sizeof (Item) + sizeof (int64_t));
      it->corrected_round = -1;
      int64_t *key = (int64_t *) (it + 1);
      *key = id;
      g_hash_table_insert (t->items, key, it);
    }
  return it;
}

/* A round: every answer is given before any correction of the round, so
 * a repeat is an appearance in a later round than the correction. */
static void
tracker_round (Tracker *t, const int64_t *ids, const uint8_t *wrong, const uint8_t *corrected, int64_t n,
               int64_t round, int64_t exp)
{
  for (int64_t i = 0; i < n; i++)
    {
      Item *it = tracker_item (t, ids[i]);
      if (it->corrected_round >= 0 && it->corrected_round < round)
        {
          t->repeats++;
          t->repeat_errors += wrong[i] != 0;
          if (it->corrected_exp < exp)
            {
              t->later_repeats++;
              t->later_errors += wrong[i] != 0;
            }
        }
    }
  for (int64_t i = 0; i < n; i++)
    if (corrected[i])
      {
        Item *it = tracker_item (t, ids[i]);
        if (it->corrected_round < 0)
          {
            it->corrected_round = round;
            it->corrected_exp = exp;
            t->corrected_items++;
          }
        it->corrections++;
      }
}

static double
tracker_rate (const Tracker *t)
{
  return t->repeats > 0 ? (double) t->repeat_errors / (double) t->repeats : NAN;
}

double
lf_feedback_repeat_error_rate (const int64_t *items, const int64_t *round, const uint8_t *wrong,
                               const uint8_t *corrected, int64_t n, int64_t *repeats, int64_t *errors)
{
  Tracker t;
  tracker_init (&t);
  for (int64_t s = 0; s < n;)
    {
      int64_t e = s;
      while (e < n && round[e] == round[s])
        e++;
      tracker_round (&t, items + s, wrong + s, corrected + s, e - s, round[s], 0);
      s = e;
    }
  double rate = tracker_rate (&t);
  if (repeats)
    *repeats = t.repeats;
  if (errors)
    *errors = t.repeat_errors;
  g_hash_table_unref (t.items);
  return rate;
}

/* ---- the stream ------------------------------------------------------------- */

typedef struct {
  int64_t due, seq, id;
} Pending;

struct LfFeedback {
  LfFeedbackConfig cfg;
  uint64_t  seed;
  Tracker   t;
  GArray   *pending;        /* Pending, by (due, seq) */
  int64_t   pos, seq;       /* stream samples emitted; recurrences scheduled */
  int64_t   rounds, answers, wrong, corrections, refused;
  int64_t   win_answers, win_right;
  GArray   *window;         /* double: prequential accuracy of each window between two points */
  GArray   *window_at;      /* double: the stream position of each point */
};

LfFeedback *
lf_feedback_new (const LfFeedbackConfig *c, uint64_t seed)
{
  LfFeedback *fb = g_new0 (LfFeedback, 1);
  fb->cfg = *c;
  fb->seed = seed;
  tracker_init (&fb->t);
  fb->pending = g_array_new (FALSE, FALSE, sizeof (Pending));
  fb->window = g_array_new (FALSE, FALSE, sizeof (double));
  fb->window_at = g_array_new (FALSE, FALSE, sizeof (double));
  return fb;
}

void
lf_feedback_free (LfFeedback *fb)
{
  if (fb == NULL)
    return;
  g_hash_table_unref (fb->t.items);
  g_array_unref (fb->pending);
  g_array_unref (fb->window);
  g_array_unref (fb->window_at);
  g_free (fb);
}

/* Puts id in the stream; its next appearance, if it has one, is drawn from
 * a generator keyed by the item and the appearance (the same whatever the
 * order of the rest). */
static void
emit (LfFeedback *fb, GArray *out, int64_t id)
{
  g_array_append_val (out, id);
  fb->pos++;
  Item *it = tracker_item (&fb->t, id);
  int64_t k = ++it->emitted;
  if (k == 2)
    fb->t.recurring++;
  if (k > fb->cfg.repeats)
    return;
  LfRng r;
  lf_rng_init (&r, lf_rng_key (fb->seed, (uint64_t) id, (uint64_t) k, 0, "feedback-revisit"));
  if (!(lf_rng_uniform (&r) < fb->cfg.revisit_probability))
    return;
  int64_t G = fb->cfg.revisit_gap;
  Pending p = { .due = fb->pos + 1 + (int64_t) lf_rng_below (&r, (uint64_t) MAX (2 * G - 1, 1)), .seq = fb->seq++,
                .id = id };
  /* insertion from the end: dues mostly grow */
  guint at = fb->pending->len;
  while (at > 0)
    {
      const Pending *q = &g_array_index (fb->pending, Pending, at - 1);
      if (q->due < p.due || (q->due == p.due && q->seq < p.seq))
        break;
      at--;
    }
  g_array_insert_val (fb->pending, at, p);
}

GArray *
lf_feedback_stream (LfFeedback *fb, const int64_t *ids, int64_t n, gboolean last)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (int64_t));
  for (int64_t i = 0; i < n; i++)
    {
      while (fb->pending->len > 0 && g_array_index (fb->pending, Pending, 0).due <= fb->pos)
        {
          int64_t id = g_array_index (fb->pending, Pending, 0).id;
          g_array_remove_index (fb->pending, 0);
          emit (fb, out, id);
        }
      emit (fb, out, ids[i]);
    }
  if (last)
    {
      /* the stream ends: what is still due comes now, in order (with
       * its own recurrences: `repeats` bounds them) */
      while (fb->pending->len > 0)
        {
          int64_t id = g_array_index (fb->pending, Pending, 0).id;
          g_array_remove_index (fb->pending, 0);
          emit (fb, out, id);
        }
    }
  return out;
}

/* ---- rounds ----------------------------------------------------------------- */

int64_t
lf_feedback_round (LfFeedback *fb, LfOracle *o, const int64_t *ids, const int32_t *answers, const int32_t *truth,
                   int64_t n, int64_t now, int64_t step, int64_t *corrected, GError **error)
{
  g_autofree int32_t *labels = g_new (int32_t, MAX (n, 1));
  int64_t k = lf_oracle_check (o, LF_SPLIT_TRAIN, ids, answers, n, now, step, labels, error);
  if (k < 0)
    return -1;
  g_autofree uint8_t *wrong = g_new (uint8_t, MAX (n, 1));
  g_autofree uint8_t *fixed = g_new (uint8_t, MAX (n, 1));
  int64_t m = 0;
  for (int64_t i = 0; i < n; i++)
    {
      wrong[i] = answers[i] != truth[i];
      fixed[i] = labels[i] != LF_LABEL_UNKNOWN;
      /* the corrector's truth is the host's: a right answer is never corrected */
      g_assert (!fixed[i] || (wrong[i] && labels[i] == truth[i]));
      if (fixed[i])
        corrected[m++] = ids[i];
      fb->refused += wrong[i] && !fixed[i];
      fb->wrong += wrong[i];
      fb->win_right += !wrong[i];
    }
  tracker_round (&fb->t, ids, wrong, fixed, n, fb->rounds++, now);
  fb->answers += n;
  fb->win_answers += n;
  fb->corrections += m;
  return m;
}

void
lf_feedback_mark (LfFeedback *fb)
{
  double acc = fb->win_answers > 0 ? (double) fb->win_right / (double) fb->win_answers : NAN, at = (double) fb->answers;
  g_array_append_val (fb->window, acc);
  g_array_append_val (fb->window_at, at);
  fb->win_answers = fb->win_right = 0;
}

static void
set_double_or_null (JsonObject *o, const char *key, double v)
{
  if (isfinite (v))
    json_object_set_double_member (o, key, v);
  else
    json_object_set_null_member (o, key);
}

void
lf_feedback_add_metrics (const LfFeedback *fb, JsonObject *metrics)
{
  set_double_or_null (metrics, "repeat_error_rate", tracker_rate (&fb->t));
  set_double_or_null (metrics, "prequential_accuracy",
                      fb->answers > 0 ? (double) (fb->answers - fb->wrong) / (double) fb->answers : NAN);
  json_object_set_int_member (metrics, "corrections", fb->corrections);
}

JsonNode *
lf_feedback_json (const LfFeedback *fb, const LfOracle *o)
{
  JsonObject *obj = json_object_new ();
  json_object_set_int_member (obj, "budget", fb->cfg.budget);
  json_object_set_double_member (obj, "revisit_probability", fb->cfg.revisit_probability);
  json_object_set_int_member (obj, "revisit_gap", fb->cfg.revisit_gap);
  json_object_set_int_member (obj, "repeats", fb->cfg.repeats);
  json_object_set_int_member (obj, "stream_samples", fb->answers);
  json_object_set_int_member (obj, "items", g_hash_table_size (fb->t.items));
  json_object_set_int_member (obj, "recurring_items", fb->t.recurring);
  json_object_set_int_member (obj, "rounds", fb->rounds);
  json_object_set_int_member (obj, "wrong_answers", fb->wrong);
  json_object_set_int_member (obj, "corrections", fb->corrections);
  json_object_set_int_member (obj, "corrected_items", fb->t.corrected_items);
  json_object_set_int_member (obj, "uncorrected_mistakes", fb->refused);
  json_object_set_int_member (obj, "oracle_used", lf_oracle_used (o));
  json_object_set_int_member (obj, "repeat_appearances", fb->t.repeats);
  json_object_set_int_member (obj, "repeat_errors", fb->t.repeat_errors);
  set_double_or_null (obj, "repeat_error_rate", tracker_rate (&fb->t));
  /* the repeats that came in a later task than their correction (the
   * rest came in the same one) */
  json_object_set_int_member (obj, "later_task_repeat_appearances", fb->t.later_repeats);
  json_object_set_int_member (obj, "later_task_repeat_errors", fb->t.later_errors);
  int64_t same = fb->t.repeats - fb->t.later_repeats, same_err = fb->t.repeat_errors - fb->t.later_errors;
  set_double_or_null (obj, "later_task_repeat_error_rate",
                      fb->t.later_repeats > 0 ? (double) fb->t.later_errors / (double) fb->t.later_repeats : NAN);
  set_double_or_null (obj, "same_task_repeat_error_rate", same > 0 ? (double) same_err / (double) same : NAN);
  set_double_or_null (obj, "prequential_accuracy",
                      fb->answers > 0 ? (double) (fb->answers - fb->wrong) / (double) fb->answers : NAN);
  JsonArray *at = json_array_new (), *acc = json_array_new ();
  for (guint i = 0; i < fb->window->len; i++)
    {
      json_array_add_double_element (at, g_array_index (fb->window_at, double, i));
      double v = g_array_index (fb->window, double, i);
      if (isfinite (v))
        json_array_add_double_element (acc, v);
      else
        json_array_add_null_element (acc);
    }
  json_object_set_array_member (obj, "samples", at);
  json_object_set_array_member (obj, "prequential", acc);
  JsonNode *n = json_node_alloc ();
  json_node_init_object (n, obj);
  json_object_unref (obj);
  return n;
}
