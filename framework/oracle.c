/* lifelong — the oracle (oracle.h): a budget of true labels, the labels it
 * has given (so a repeated question is free and the scenario can show them
 * in batches), and a log of every query for the result. */
#include "oracle.h"
#include "host.h"

typedef struct {
  int64_t experience, step, split, asked, answered, charged, refused;
} OracleEntry;

#define ORACLE_ENTRY_FIELDS 7

struct LfOracle {
  int64_t         budget, used, refused;
  LfOracleTruthFn truth;
  void           *data;
  GHashTable     *given[2];   /* per split: id -> label (int64 keys, boxed) */
  GArray         *log;        /* OracleEntry */
  GArray         *kinds;      /* uint8 per log entry: ORACLE_LABEL or ORACLE_CHECK */
};

enum { ORACLE_LABEL = 0, ORACLE_CHECK = 1 };

LfOracle *
lf_oracle_new (int64_t budget, LfOracleTruthFn truth, void *data)
{
  g_return_val_if_fail (budget >= 0 && truth != NULL, NULL);
  LfOracle *o = g_new0 (LfOracle, 1);
  o->budget = budget;
  o->truth = truth;
  o->data = data;
  for (int s = 0; s < 2; s++)
    o->given[s] = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  o->log = g_array_new (FALSE, FALSE, sizeof (OracleEntry));
  o->kinds = g_array_new (FALSE, TRUE, sizeof (uint8_t));   /* cleared: set_size gives label queries */
  return o;
}

void
lf_oracle_free (LfOracle *o)
{
  if (o == NULL)
    return;
  for (int s = 0; s < 2; s++)
    g_hash_table_unref (o->given[s]);
  g_array_unref (o->log);
  g_array_unref (o->kinds);
  g_free (o);
}

gboolean
lf_oracle_config_parse (const char *json, int64_t *budget, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (JsonNode) node = json_from_string (json, &local);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.oracle: expected an object such as {\"budget\": 500}, got %s", json);
      return FALSE;
    }
  JsonObject *obj = json_node_get_object (node);
  g_autoptr (GList) keys = json_object_get_members (obj);
  for (GList *l = keys; l; l = l->next)
    if (!g_str_equal (l->data, "budget"))
      {
        g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                     "scenario.oracle.%s: unknown key (the oracle takes \"budget\")", (const char *) l->data);
        return FALSE;
      }
  JsonNode *b = json_object_get_member (obj, "budget");
  if (b == NULL)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.oracle.budget: required (labels the oracle may give in the whole run)");
      return FALSE;
    }
  g_autofree char *text = json_to_string (b, FALSE);
  double v = JSON_NODE_HOLDS_VALUE (b) && json_node_get_value_type (b) != G_TYPE_STRING
             && json_node_get_value_type (b) != G_TYPE_BOOLEAN ? json_node_get_double (b) : NAN;
  if (!(v >= 0 && v <= 1e12 && v == (double) (int64_t) v))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG,
                   "scenario.oracle.budget: expected an integer in [0, 1e12], got %s", text);
      return FALSE;
    }
  *budget = (int64_t) v;
  return TRUE;
}

int64_t lf_oracle_budget (const LfOracle *o) { return o ? o->budget : 0; }
int64_t lf_oracle_used (const LfOracle *o) { return o ? o->used : 0; }
int64_t lf_oracle_refused (const LfOracle *o) { return o ? o->refused : 0; }
int64_t lf_oracle_n_queries (const LfOracle *o) { return o ? o->log->len : 0; }

gboolean
lf_oracle_known (const LfOracle *o, LfSplit split, int64_t id, int32_t *label)
{
  if (o == NULL || (split != LF_SPLIT_TRAIN && split != LF_SPLIT_TEST))
    return FALSE;
  gpointer v;
  if (!g_hash_table_lookup_extended (o->given[split], &id, NULL, &v))
    return FALSE;
  *label = (int32_t) GPOINTER_TO_INT (v);
  return TRUE;
}

static void
oracle_give (LfOracle *o, LfSplit split, int64_t id, int32_t label)
{
  g_hash_table_insert (o->given[split], g_memdup2 (&id, sizeof id), GINT_TO_POINTER (label));
}

int64_t
lf_oracle_query (LfOracle *o, LfSplit split, const int64_t *ids, int64_t n, int64_t now, int64_t step,
                 int32_t *labels, GError **error)
{
  g_return_val_if_fail (o != NULL && n >= 0 && (n == 0 || (ids != NULL && labels != NULL)), -1);
  if (split != LF_SPLIT_TRAIN && split != LF_SPLIT_TEST)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "oracle: unknown split %d", (int) split);
      return -1;
    }
  /* every id checked first: a failed query spends nothing */
  g_autofree int32_t *truth = g_new (int32_t, MAX (n, 1));
  for (int64_t i = 0; i < n; i++)
    if (!o->truth (o->data, split, ids[i], now, &truth[i], error))
      return -1;
  OracleEntry e = { .experience = now, .step = step, .split = split, .asked = n };
  g_autoptr (GHashTable) this_call = g_hash_table_new (g_int64_hash, g_int64_equal);
  for (int64_t i = 0; i < n; i++)
    {
      int32_t known;
      if (lf_oracle_known (o, split, ids[i], &known))
        labels[i] = known;           /* given before: free */
      else if (o->used < o->budget)
        {
          oracle_give (o, split, ids[i], truth[i]);
          labels[i] = truth[i];
          o->used++;
          e.charged++;
        }
      else
        {
          labels[i] = LF_LABEL_UNKNOWN;
          e.refused++;
          continue;
        }
      e.answered++;
    }
  o->refused += e.refused;
  g_array_append_val (o->log, e);
  uint8_t kind = ORACLE_LABEL;
  g_array_append_val (o->kinds, kind);
  return e.answered;
}

int64_t
lf_oracle_check (LfOracle *o, LfSplit split, const int64_t *ids, const int32_t *answers, int64_t n, int64_t now,
                 int64_t step, int32_t *labels, GError **error)
{
  g_return_val_if_fail (o != NULL && n >= 0 && (n == 0 || (ids != NULL && answers != NULL && labels != NULL)), -1);
  if (split != LF_SPLIT_TRAIN && split != LF_SPLIT_TEST)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "oracle: unknown split %d", (int) split);
      return -1;
    }
  g_autofree int32_t *truth = g_new (int32_t, MAX (n, 1));
  for (int64_t i = 0; i < n; i++)
    if (!o->truth (o->data, split, ids[i], now, &truth[i], error))
      return -1;
  OracleEntry e = { .experience = now, .step = step, .split = split, .asked = n };
  for (int64_t i = 0; i < n; i++)
    {
      labels[i] = LF_LABEL_UNKNOWN;
      if (answers[i] == truth[i])
        continue;                    /* right: nothing revealed, nothing spent */
      if (o->used >= o->budget)
        {
          e.refused++;
          continue;
        }
      oracle_give (o, split, ids[i], truth[i]);
      labels[i] = truth[i];
      o->used++;
      e.charged++;
      e.answered++;
    }
  o->refused += e.refused;
  g_array_append_val (o->log, e);
  uint8_t kind = ORACLE_CHECK;
  g_array_append_val (o->kinds, kind);
  return e.answered;
}

JsonNode *
lf_oracle_to_json (const LfOracle *o)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "budget");
  json_builder_add_int_value (b, o->budget);
  json_builder_set_member_name (b, "used");
  json_builder_add_int_value (b, o->used);
  json_builder_set_member_name (b, "refused");
  json_builder_add_int_value (b, o->refused);
  json_builder_set_member_name (b, "queries");
  json_builder_begin_array (b);
  for (guint i = 0; i < o->log->len; i++)
    {
      const OracleEntry *e = &g_array_index (o->log, OracleEntry, i);
      const char *names[ORACLE_ENTRY_FIELDS] = { "experience", "step", "split", "asked", "answered", "charged",
                                                 "refused" };
      const int64_t vals[ORACLE_ENTRY_FIELDS] = { e->experience, e->step, e->split, e->asked, e->answered,
                                                  e->charged, e->refused };
      json_builder_begin_object (b);
      if (g_array_index (o->kinds, uint8_t, i) == ORACLE_CHECK)
        {
          json_builder_set_member_name (b, "kind");
          json_builder_add_string_value (b, "check");
        }
      for (int k = 0; k < ORACLE_ENTRY_FIELDS; k++)
        {
          json_builder_set_member_name (b, names[k]);
          if (k == 2)
            json_builder_add_string_value (b, e->split == LF_SPLIT_TRAIN ? "train" : "test");
          else
            json_builder_add_int_value (b, vals[k]);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* (id, label) pairs by id */
static int
cmp_pair (const void *a, const void *b)
{
  int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
  return (x > y) - (x < y);
}

void
lf_oracle_save (const LfOracle *o, LfState *st)
{
  lf_state_put_int (st, "host.oracle.used", o->used);
  lf_state_put_int (st, "host.oracle.refused", o->refused);
  lf_state_put_int (st, "host.oracle.n_queries", o->log->len);
  if (o->log->len > 0)
    lf_state_put_bytes (st, "host.oracle.log", o->log->data, o->log->len * sizeof (OracleEntry));
  /* the kinds only when a check was made: older checkpoints have none */
  gboolean checks = FALSE;
  for (guint i = 0; i < o->kinds->len; i++)
    checks |= g_array_index (o->kinds, uint8_t, i) != ORACLE_LABEL;
  if (checks)
    lf_state_put_bytes (st, "host.oracle.kinds", o->kinds->data, o->kinds->len);
  for (int s = 0; s < 2; s++)
    {
      /* (id, label) pairs in id order: the same bytes every time */
      int64_t n = g_hash_table_size (o->given[s]);
      char key[40];
      g_snprintf (key, sizeof key, "host.oracle.given%d.n", s);
      lf_state_put_int (st, key, n);
      if (n == 0)
        continue;
      g_autofree int64_t *pairs = g_new (int64_t, 2 * n);
      GHashTableIter it;
      gpointer k, v;
      int64_t at = 0;
      g_hash_table_iter_init (&it, o->given[s]);
      while (g_hash_table_iter_next (&it, &k, &v))
        {
          pairs[2 * at] = *(int64_t *) k;
          pairs[2 * at + 1] = GPOINTER_TO_INT (v);
          at++;
        }
      qsort (pairs, (size_t) n, 2 * sizeof (int64_t), cmp_pair);
      g_snprintf (key, sizeof key, "host.oracle.given%d", s);
      lf_state_put_bytes (st, key, pairs, (size_t) (2 * n) * sizeof (int64_t));
    }
}

gboolean
lf_oracle_load (LfOracle *o, const LfState *st, GError **error)
{
  int64_t used = 0, refused = 0, nq = 0;
  if (!lf_state_get_int (st, "host.oracle.used", &used) || !lf_state_get_int (st, "host.oracle.refused", &refused)
      || !lf_state_get_int (st, "host.oracle.n_queries", &nq) || used < 0 || used > o->budget)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT,
                   "the checkpoint has no oracle state for this run's budget (%" G_GINT64_FORMAT ")", o->budget);
      return FALSE;
    }
  size_t nb = 0;
  const void *log = lf_state_get_bytes (st, "host.oracle.log", &nb);
  if (nb != (size_t) nq * sizeof (OracleEntry) || (nq > 0 && log == NULL))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT, "the checkpoint's oracle log is damaged");
      return FALSE;
    }
  size_t nk = 0;
  const void *kinds = lf_state_get_bytes (st, "host.oracle.kinds", &nk);
  if (kinds != NULL && nk != (size_t) nq)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT, "the checkpoint's oracle log kinds are damaged");
      return FALSE;
    }
  g_array_set_size (o->log, 0);
  g_array_set_size (o->kinds, 0);
  if (nq > 0)
    g_array_append_vals (o->log, log, (guint) nq);
  if (kinds != NULL)
    g_array_append_vals (o->kinds, kinds, (guint) nq);
  else
    g_array_set_size (o->kinds, (guint) nq);   /* zeroed: label queries */
  for (int s = 0; s < 2; s++)
    {
      char key[40];
      int64_t n = 0;
      g_snprintf (key, sizeof key, "host.oracle.given%d.n", s);
      lf_state_get_int (st, key, &n);
      g_snprintf (key, sizeof key, "host.oracle.given%d", s);
      const int64_t *pairs = n > 0 ? lf_state_get_bytes (st, key, &nb) : NULL;
      if (n > 0 && (pairs == NULL || nb != (size_t) (2 * n) * sizeof (int64_t)))
        {
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CHECKPOINT, "the checkpoint's oracle labels are damaged");
          return FALSE;
        }
      g_hash_table_remove_all (o->given[s]);
      for (int64_t i = 0; i < n; i++)
        oracle_give (o, (LfSplit) s, pairs[2 * i], (int32_t) pairs[2 * i + 1]);
    }
  o->used = used;
  o->refused = refused;
  return TRUE;
}
