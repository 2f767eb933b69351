/* lifelong plugin — strategy "skill-library": a growing library of small
 * modules, each keyed by a task embedding, with a searcher and an evaluator
 * (docs/open-environments.md, "The skill library").
 *
 * A skill is what one LoRA adapter slot holds: adapter 0's A and B on the
 * target linears and (train_head) the classifier head.  The model's base is
 * frozen for good; the library keeps each skill's values and loads one into
 * the slot when it is needed.
 *
 *   search     at an experience's start, the task embedding of its data
 *              (the normalised mean of the base model's features: adapters
 *              off) is compared by cosine with every skill's key; at or
 *              above `threshold` the closest skill is reused (trained
 *              further), else a new skill starts (A re-drawn, B zero, the
 *              head at its initial values).
 *   evaluate   `holdout` of the experience's samples are kept out of
 *              training.  A reused skill is kept updated only if its
 *              accuracy on its whole validation set (this experience's
 *              held-out samples and those of every experience it learned
 *              before) is higher after training than before; a new skill is
 *              kept only if it beats the library without it on the held-out
 *              samples.  Otherwise the library stays as it was.
 *   predict    task-free: each test sample goes to the skill owning the
 *              nearest class prototype (base features again), whose head
 *              decides among that skill's classes.
 *
 * Figures: library_size, reuse_rate, created / reused / rejected, per
 * experience the similarity, the skill chosen and the evaluator's decision
 * with its two accuracies. */
#include "lora-family.h"
#include <math.h>
#include <string.h>

#define SL_CHUNK 500
#define SL_VAL_PER_EXPERIENCE 256   /* held-out ids a skill keeps per experience it learned */

static const LfParam sl_params[] = {
  LORA_FAMILY_PARAMS ("every layers.N of an MLP, the q_proj and v_proj of every transformer layer"),
  { "threshold", LF_PARAM_FLOAT, "0.99", -1, 1, NULL,
    "cosine similarity between task embeddings at or above which the searcher reuses the closest skill; "
    "below it a new skill is made" },
  { "holdout", LF_PARAM_FLOAT, "0.1", 0.01, 0.9, NULL,
    "fraction of each experience's training samples the evaluator keeps for validation (never trained on)" },
  { "min_gain", LF_PARAM_FLOAT, "0", 0, 1, NULL,
    "a new or updated skill is kept only when its validation accuracy beats the library's without it by more "
    "than this" },
  { "embed_samples", LF_PARAM_INT, "512", 1, 1e9, NULL,
    "training samples (the first, in id order) whose base features make an experience's task embedding and "
    "class prototypes" },
  { "max_skills", LF_PARAM_INT, "64", 1, 100000, NULL,
    "library size limit; when it is full the searcher reuses the closest skill whatever the similarity" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

typedef struct {
  LfReal  *w;            /* the slot's values */
  double  *key;          /* (d) normalised mean base feature of the data it learned */
  double   key_weight;   /* samples behind the key */
  GArray  *classes;      /* int32: model classes it learned */
  GArray  *protos;       /* double (classes->len, d): class sums of normalised base features */
  GArray  *val;          /* int64: held-out ids of the experiences it learned */
  int64_t  trained;      /* experiences it learned (kept updates) */
} Skill;

enum { SL_NEW_KEPT, SL_NEW_REJECTED, SL_REUSE_KEPT, SL_REUSE_REJECTED };
static const char *const sl_decision_names[] = { "new-kept", "new-rejected", "reuse-kept", "reuse-rejected" };

typedef struct {
  int64_t  skill;        /* the skill trained (the index a new one gets) */
  double   similarity;   /* to the closest skill; NAN when the library was empty */
  int      decision;
  double   before, after;
} SlRecord;

typedef struct {
  LoraFamily f;
  double     threshold, holdout, min_gain;
  int64_t    embed_samples, max_skills;
  GPtrArray *slot;       /* LfTensor *, borrowed: the adapters' A and B, the head */
  GArray    *slot_is_b;  /* gboolean per slot tensor: an up-projection (zero: adapters off) */
  GArray    *slot_is_a;  /* gboolean per slot tensor: a down-projection (re-drawn for a new skill) */
  int64_t    slot_n;
  LfReal    *pristine;   /* the slot at the start */
  int64_t    d;          /* feature width */
  int64_t    C;          /* model classes */
  GPtrArray *skills;     /* Skill * */
  /* the experience under way */
  double    *emb;        /* (d) its embedding */
  int64_t    emb_n;      /* samples behind it */
  double    *cls_sum;    /* (C, d) its class sums of normalised base features */
  GArray    *val_ids;    /* int64 held out */
  GArray    *exp_classes;/* int32 classes of its samples */
  SlRecord   cur;
  GArray    *records;    /* SlRecord per experience */
} SkillLib;

static void
skill_free (gpointer p)
{
  Skill *k = p;
  g_free (k->w);
  g_free (k->key);
  g_array_unref (k->classes);
  g_array_unref (k->protos);
  g_array_unref (k->val);
  g_free (k);
}

static Skill *
skill_new (int64_t slot_n, int64_t d)
{
  Skill *k = g_new0 (Skill, 1);
  k->w = g_new (LfReal, MAX (slot_n, 1));
  k->key = g_new0 (double, MAX (d, 1));
  k->classes = g_array_new (FALSE, FALSE, sizeof (int32_t));
  k->protos = g_array_new (FALSE, TRUE, sizeof (double));
  k->val = g_array_new (FALSE, FALSE, sizeof (int64_t));
  return k;
}

/* ---- the slot ------------------------------------------------------------ */

static void
slot_get (SkillLib *s, LfReal *dst)
{
  for (guint i = 0; i < s->slot->len; i++)
    {
      LfTensor *t = s->slot->pdata[i];
      int64_t n = lf_tensor_numel (t);
      memcpy (dst, lf_tensor_data (t), (size_t) n * sizeof (LfReal));
      dst += n;
    }
}

static void
slot_set (SkillLib *s, const LfReal *src)
{
  for (guint i = 0; i < s->slot->len; i++)
    {
      LfTensor *t = s->slot->pdata[i];
      int64_t n = lf_tensor_numel (t);
      memcpy (lf_tensor_data (t), src, (size_t) n * sizeof (LfReal));
      src += n;
    }
}

/* B = 0 everywhere: the model computes the base's function (the head aside) */
static void
slot_adapters_off (SkillLib *s)
{
  for (guint i = 0; i < s->slot->len; i++)
    if (g_array_index (s->slot_is_b, gboolean, i))
      {
        LfTensor *t = s->slot->pdata[i];
        memset (lf_tensor_data (t), 0, (size_t) lf_tensor_numel (t) * sizeof (LfReal));
      }
}

/* The slot tensors are the parameters trainable once adapter 0 exists. */
static gboolean
slot_collect (SkillLib *s, LfStrategyCtx *ctx, GError **error)
{
  LfModule *root = lf_model_root (lf_ctx_model (ctx));
  if (lf_module_find (root, "heads"))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                   "skill-library: the model has one head per task (\"heads\": \"multi\"); a skill carries its own "
                   "head, so use a single-head model");
      return FALSE;
    }
  g_clear_pointer (&s->slot, g_ptr_array_unref);
  s->slot = lf_module_params (root, "*", TRUE);
  s->slot_is_a = g_array_sized_new (FALSE, TRUE, sizeof (gboolean), s->slot->len);
  s->slot_is_b = g_array_sized_new (FALSE, TRUE, sizeof (gboolean), s->slot->len);
  g_array_set_size (s->slot_is_a, s->slot->len);
  g_array_set_size (s->slot_is_b, s->slot->len);
  s->slot_n = 0;
  for (guint i = 0; i < s->slot->len; i++)
    {
      LfTensor *t = s->slot->pdata[i];
      s->slot_n += lf_tensor_numel (t);
      for (guint w = 0; w < s->f.wrappers->len; w++)
        {
          g_array_index (s->slot_is_a, gboolean, i) |= t == lf_lora_A (s->f.wrappers->pdata[w], 0);
          g_array_index (s->slot_is_b, gboolean, i) |= t == lf_lora_B (s->f.wrappers->pdata[w], 0);
        }
    }
  return TRUE;
}

/* A new skill: the pristine slot with every A re-drawn (Kaiming-uniform,
 * U(-1/sqrt(in), 1/sqrt(in)), as the toolkit draws it), keyed by the skill's
 * index. */
static void
slot_fresh (SkillLib *s, int64_t index)
{
  slot_set (s, s->pristine);
  for (guint i = 0; i < s->slot->len; i++)
    if (g_array_index (s->slot_is_a, gboolean, i))
      {
        LfTensor *t = s->slot->pdata[i];
        double bound = 1.0 / sqrt ((double) lf_tensor_dim (t, 1));
        LfRng r;
        lf_rng_init (&r, lf_rng_key (s->f.key, (uint64_t) index, i, 0, "skill-A"));
        LfReal *a = lf_tensor_data (t);
        for (int64_t j = 0; j < lf_tensor_numel (t); j++)
          a[j] = (LfReal) ((2 * lf_rng_uniform (&r) - 1) * bound);
      }
}

/* ---- features and predictions --------------------------------------------- */

static void
normalise (double *x, int64_t d)
{
  double n = 0;
  for (int64_t k = 0; k < d; k++)
    n += x[k] * x[k];
  n = sqrt (n);
  for (int64_t k = 0; k < d; k++)
    x[k] = n > 0 ? x[k] / n : 0;
}

static double
dot (const double *a, const double *b, int64_t d)
{
  double v = 0;
  for (int64_t k = 0; k < d; k++)
    v += a[k] * b[k];
  return v;
}

/* Normalised features of the batch with the slot as it is: F (n, d). */
static gboolean
batch_features (SkillLib *s, LfStrategyCtx *ctx, const LfBatch *b, double *F, GError **error)
{
  LfModelOutput out = { 0 };
  lf_ctx_forward (ctx, b, FALSE, &out);
  if (out.features == NULL || lf_tensor_ndim (out.features) != 2 || lf_tensor_dim (out.features, 1) != s->d)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "skill-library: the model's forward gives no (n, %" G_GINT64_FORMAT
                   ") features", s->d);
      return FALSE;
    }
  const LfReal *f = lf_tensor_data (out.features);
  for (int64_t i = 0; i < b->n * s->d; i++)
    F[i] = f[i];
  for (int64_t i = 0; i < b->n; i++)
    normalise (F + i * s->d, s->d);
  return TRUE;
}

/* Arg-max of row i of the logits among the allowed classes (all when NULL). */
static int32_t
argmax_among (const LfReal *row, int64_t C, const GArray *allowed)
{
  int32_t best = -1;
  double bv = -INFINITY;
  if (allowed == NULL)
    {
      for (int64_t c = 0; c < C; c++)
        if (row[c] > bv)
          bv = row[c], best = (int32_t) c;
      return best;
    }
  for (guint k = 0; k < allowed->len; k++)
    {
      int32_t c = g_array_index (allowed, int32_t, k);
      if (c >= 0 && c < C && row[c] > bv)
        bv = row[c], best = c;
    }
  return best;
}

/* With the slot as it is: predictions for the rows whose route is `which`
 * (every row when route is NULL), among the allowed classes. */
static void
predict_rows (LfStrategyCtx *ctx, const LfBatch *b, const GArray *allowed, const int32_t *route,
              int32_t which, int32_t *pred)
{
  LfModelOutput out = { 0 };
  lf_ctx_forward (ctx, b, FALSE, &out);
  const LfReal *L = lf_tensor_data (out.logits);
  int64_t C = lf_tensor_dim (out.logits, -1);
  for (int64_t i = 0; i < b->n; i++)
    if (route == NULL || route[i] == which)
      pred[i] = argmax_among (L + i * C, C, allowed);
}

/* The library's task-free prediction: each sample to the skill owning the
 * nearest class prototype, that skill's head among its classes.  Leaves
 * some skill in the slot. */
static void
library_predict (SkillLib *s, LfStrategyCtx *ctx, const LfBatch *b, int32_t *pred)
{
  int64_t n = b->n, d = s->d;
  for (int64_t i = 0; i < n; i++)
    pred[i] = -1;
  if (s->skills->len == 0)
    return;
  g_autofree double *F = g_new (double, MAX (n * d, 1));
  g_autofree int32_t *route = g_new (int32_t, MAX (n, 1));
  slot_adapters_off (s);
  if (!batch_features (s, ctx, b, F, NULL))
    return;
  for (int64_t i = 0; i < n; i++)
    {
      double best = -INFINITY;
      route[i] = 0;
      for (guint k = 0; k < s->skills->len; k++)
        {
          Skill *sk = s->skills->pdata[k];
          for (guint c = 0; c < sk->classes->len; c++)
            {
              double v = dot (F + i * d, &g_array_index (sk->protos, double, (gsize) c * d), d);
              if (v > best)
                best = v, route[i] = (int32_t) k;
            }
        }
    }
  for (guint k = 0; k < s->skills->len; k++)
    {
      gboolean used = FALSE;
      for (int64_t i = 0; i < n && !used; i++)
        used = route[i] == (int32_t) k;
      if (!used)
        continue;
      Skill *sk = s->skills->pdata[k];
      slot_set (s, sk->w);
      predict_rows (ctx, b, sk->classes, route, (int32_t) k, pred);
    }
}

/* Accuracy on training ids: the library's (w NULL) or the slot values w's
 * among the allowed classes. */
static double
accuracy (SkillLib *s, LfStrategyCtx *ctx, const GArray *ids, const LfReal *w, const GArray *allowed)
{
  if (ids->len == 0)
    return 0;
  if (w)
    slot_set (s, w);   /* once: library_predict is not called then */
  int64_t right = 0;
  for (guint at = 0; at < ids->len; at += SL_CHUNK)
    {
      int64_t n = MIN (SL_CHUNK, (int64_t) ids->len - at);
      lf_tape_push (FALSE);
      LfBatch *b = lf_ctx_batch (ctx, &g_array_index (ids, int64_t, at), n);
      int32_t *pred = lf_scope_alloc ((size_t) n * sizeof (int32_t));
      if (w)
        predict_rows (ctx, b, allowed, NULL, 0, pred);
      else
        library_predict (s, ctx, b, pred);
      for (int64_t i = 0; i < n; i++)
        right += pred[i] == b->labels[i];
      lf_tape_pop ();
    }
  return (double) right / (double) ids->len;
}

/* Where class c stands in the int32 array, or its length when absent. */
static guint
class_at (const GArray *classes, int32_t c)
{
  guint j = 0;
  while (j < classes->len && g_array_index (classes, int32_t, j) != c)
    j++;
  return j;
}

/* Appends c unless it is there already; returns its place. */
static guint
class_add (GArray *classes, int32_t c)
{
  guint j = class_at (classes, c);
  if (j == classes->len)
    g_array_append_val (classes, c);
  return j;
}

static GArray *
class_union (const GArray *a, const GArray *b)
{
  GArray *u = g_array_copy ((GArray *) a);
  for (guint i = 0; i < b->len; i++)
    class_add (u, g_array_index (b, int32_t, i));
  return u;
}

/* ---- the hooks ------------------------------------------------------------ */

static void *
sl_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  SkillLib *s = lora_family_new (sizeof (SkillLib), "skill-library", p, ctx, lora_family_qv_targets, error);
  if (s == NULL)
    return NULL;
  s->threshold = lf_params_get_float (p, "threshold");
  s->holdout = lf_params_get_float (p, "holdout");
  s->min_gain = lf_params_get_float (p, "min_gain");
  s->embed_samples = lf_params_get_int (p, "embed_samples");
  s->max_skills = lf_params_get_int (p, "max_skills");
  s->skills = g_ptr_array_new_with_free_func (skill_free);
  s->records = g_array_new (FALSE, FALSE, sizeof (SlRecord));
  s->val_ids = g_array_new (FALSE, FALSE, sizeof (int64_t));
  s->exp_classes = g_array_new (FALSE, FALSE, sizeof (int32_t));
  s->C = lf_ctx_spec (ctx)->n_classes;
  if (s->C <= 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                   "skill-library: needs a classifier (its skills carry a head and predict classes)");
      lora_family_free (s);
      return NULL;
    }
  return s;
}

static void
sl_destroy (void *self)
{
  SkillLib *s = self;
  g_clear_pointer (&s->slot, g_ptr_array_unref);
  g_clear_pointer (&s->slot_is_a, g_array_unref);
  g_clear_pointer (&s->slot_is_b, g_array_unref);
  g_clear_pointer (&s->skills, g_ptr_array_unref);
  g_clear_pointer (&s->records, g_array_unref);
  g_clear_pointer (&s->val_ids, g_array_unref);
  g_clear_pointer (&s->exp_classes, g_array_unref);
  g_free (s->pristine);
  g_free (s->emb);
  g_free (s->cls_sum);
  lora_family_free (s);
}

/* The experience's embedding, class sums and classes, from the base
 * features of its first embed_samples training samples. */
static gboolean
embed_experience (SkillLib *s, LfStrategyCtx *ctx, int64_t e, GError **error)
{
  int64_t n;
  const int64_t *ids = lf_ctx_experience_samples (ctx, e, &n);
  g_autofree int32_t *labels = g_new (int32_t, MAX (n, 1));
  lf_ctx_labels (ctx, ids, n, labels);
  g_array_set_size (s->exp_classes, 0);
  for (int64_t i = 0; i < n; i++)
    class_add (s->exp_classes, labels[i]);
  int64_t m = MIN (n, s->embed_samples);
  s->emb_n = m;
  slot_adapters_off (s);
  for (int64_t at = 0; at < m; at += SL_CHUNK)
    {
      int64_t b = MIN (SL_CHUNK, m - at);
      lf_tape_push (FALSE);
      LfBatch *batch = lf_ctx_batch (ctx, ids + at, b);
      if (s->d == 0)
        {
          LfModelOutput out = { 0 };
          lf_ctx_forward (ctx, batch, FALSE, &out);
          if (out.features == NULL || lf_tensor_ndim (out.features) != 2)
            {
              lf_tape_pop ();
              g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "skill-library: the model's forward gives no (n, d) "
                           "features to embed tasks with");
              return FALSE;
            }
          s->d = lf_tensor_dim (out.features, 1);
        }
      if (s->emb == NULL)
        {
          s->emb = g_new (double, s->d);
          s->cls_sum = g_new (double, s->C * s->d);
        }
      if (at == 0)
        {
          memset (s->emb, 0, (size_t) s->d * sizeof (double));
          memset (s->cls_sum, 0, (size_t) (s->C * s->d) * sizeof (double));
        }
      double *F = lf_scope_alloc ((size_t) (b * s->d) * sizeof (double));
      gboolean ok = batch_features (s, ctx, batch, F, error);
      for (int64_t i = 0; ok && i < b; i++)
        {
          int32_t c = labels[at + i];
          for (int64_t k = 0; k < s->d; k++)
            {
              s->emb[k] += F[i * s->d + k];
              if (c >= 0 && c < s->C)
                s->cls_sum[c * s->d + k] += F[i * s->d + k];
            }
        }
      lf_tape_pop ();
      if (!ok)
        return FALSE;
    }
  normalise (s->emb, s->d);
  return TRUE;
}

static gboolean
sl_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  SkillLib *s = self;
  int64_t e = lf_ctx_experience (ctx);
  if (s->slot == NULL)
    {
      /* the one adapter slot, and what a new skill starts from */
      lora_family_begin (&s->f, ctx);
      if (!slot_collect (s, ctx, error))
        return FALSE;
      s->pristine = g_new (LfReal, MAX (s->slot_n, 1));
      slot_get (s, s->pristine);
    }
  if (!embed_experience (s, ctx, e, error))
    return FALSE;
  /* the searcher */
  memset (&s->cur, 0, sizeof s->cur);
  s->cur.similarity = NAN;
  s->cur.skill = s->skills->len;
  double best = -INFINITY;
  for (guint k = 0; k < s->skills->len; k++)
    {
      double v = dot (s->emb, ((Skill *) s->skills->pdata[k])->key, s->d);
      if (v > best)
        best = v, s->cur.skill = k;
    }
  if (s->skills->len > 0)
    {
      s->cur.similarity = best;
      if (best < s->threshold && (int64_t) s->skills->len < s->max_skills)
        s->cur.skill = s->skills->len;
    }
  return TRUE;
}

static gboolean
sl_select_training (void *self, LfStrategyCtx *ctx, LfSelection *sel, GError **error)
{
  (void) error;
  SkillLib *s = self;
  /* the evaluator's held-out part: a keyed shuffle, the first holdout * n */
  g_autofree int64_t *ids = g_memdup2 (sel->sample_ids, (gsize) sel->n * sizeof (int64_t));
  LfRng r;
  lf_rng_init (&r, lf_ctx_rng_key (ctx, "skill-holdout"));
  for (int64_t i = sel->n - 1; i > 0; i--)
    {
      int64_t j = (int64_t) lf_rng_below (&r, (uint64_t) i + 1), t = ids[i];
      ids[i] = ids[j];
      ids[j] = t;
    }
  int64_t nv = MIN ((int64_t) floor (s->holdout * (double) sel->n), sel->n - 1);
  g_array_set_size (s->val_ids, 0);
  g_array_append_vals (s->val_ids, ids, (guint) MAX (nv, 0));
  g_free (sel->sample_ids);
  sel->n -= MAX (nv, 0);
  sel->sample_ids = g_memdup2 (ids + MAX (nv, 0), (gsize) MAX (sel->n, 1) * sizeof (int64_t));

  /* the evaluator's "before", then the candidate into the slot */
  gboolean reuse = s->cur.skill < (int64_t) s->skills->len;
  if (reuse)
    {
      Skill *sk = s->skills->pdata[s->cur.skill];
      g_autoptr (GArray) all = g_array_copy (s->val_ids);
      g_array_append_vals (all, sk->val->data, sk->val->len);
      g_autoptr (GArray) allowed = class_union (sk->classes, s->exp_classes);
      s->cur.before = accuracy (s, ctx, all, sk->w, allowed);
      slot_set (s, sk->w);
    }
  else
    {
      s->cur.before = s->skills->len ? accuracy (s, ctx, s->val_ids, NULL, NULL) : 0;
      slot_fresh (s, s->cur.skill);
    }
  /* the optimizer's moments belong to whatever skill trained last */
  lf_optimizer_reset_state (lf_ctx_optimizer (ctx));
  return TRUE;
}

static gboolean
sl_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  SkillLib *s = self;
  g_autofree LfReal *w = g_new (LfReal, MAX (s->slot_n, 1));
  slot_get (s, w);
  gboolean reuse = s->cur.skill < (int64_t) s->skills->len;
  Skill *sk = reuse ? s->skills->pdata[s->cur.skill] : NULL;
  g_autoptr (GArray) all = g_array_copy (s->val_ids);
  if (reuse)
    g_array_append_vals (all, sk->val->data, sk->val->len);
  g_autoptr (GArray) allowed = reuse ? class_union (sk->classes, s->exp_classes) : g_array_copy (s->exp_classes);
  s->cur.after = accuracy (s, ctx, all, w, allowed);
  gboolean keep = s->cur.after > s->cur.before + s->min_gain;
  s->cur.decision = reuse ? (keep ? SL_REUSE_KEPT : SL_REUSE_REJECTED) : (keep ? SL_NEW_KEPT : SL_NEW_REJECTED);
  if (keep)
    {
      if (!reuse)
        {
          sk = skill_new (s->slot_n, s->d);
          g_ptr_array_add (s->skills, sk);
        }
      memcpy (sk->w, w, (size_t) s->slot_n * sizeof (LfReal));
      /* the key: the mean of the embeddings of what it learned, weighted by
       * samples; the prototypes: class sums, added */
      double wn = (double) s->emb_n;
      for (int64_t k = 0; k < s->d; k++)
        sk->key[k] = sk->key[k] * sk->key_weight + s->emb[k] * wn;
      sk->key_weight += wn;
      normalise (sk->key, s->d);
      for (guint i = 0; i < s->exp_classes->len; i++)
        {
          int32_t c = g_array_index (s->exp_classes, int32_t, i);
          guint at = class_add (sk->classes, c);
          g_array_set_size (sk->protos, sk->classes->len * s->d);   /* a new class: a zero prototype */
          double *pr = &g_array_index (sk->protos, double, (gsize) at * s->d);
          for (int64_t k = 0; k < s->d; k++)
            pr[k] += s->cls_sum[c * s->d + k];
        }
      /* prototypes are compared by dot product: keep them unit vectors of
       * the summed direction */
      for (guint j = 0; j < sk->classes->len; j++)
        normalise (&g_array_index (sk->protos, double, (gsize) j * s->d), s->d);
      g_array_append_vals (sk->val, s->val_ids->data, MIN (s->val_ids->len, SL_VAL_PER_EXPERIENCE));
      sk->trained++;
    }
  g_array_append_val (s->records, s->cur);
  lf_ctx_log (ctx, "skill-library: experience %" G_GINT64_FORMAT ": %s skill %" G_GINT64_FORMAT
              " (similarity %.4f), validation %.4f -> %.4f; library %u", lf_ctx_experience (ctx),
              sl_decision_names[s->cur.decision], s->cur.skill, s->cur.similarity, s->cur.before, s->cur.after,
              s->skills->len);
  return TRUE;
}

static void
sl_predict (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out, int32_t *pred)
{
  SkillLib *s = self;
  if (s->skills->len == 0)
    {
      int64_t C = lf_tensor_dim (out->logits, -1);
      for (int64_t i = 0; i < batch->n; i++)
        pred[i] = argmax_among (lf_tensor_data (out->logits) + i * C, C, NULL);
      return;
    }
  library_predict (s, ctx, batch, pred);
}

static void
sl_report (void *self, LfStrategyCtx *ctx)
{
  SkillLib *s = self;
  lora_family_report (&s->f, ctx);
  int64_t counts[4] = { 0 };
  g_autoptr (GString) j = g_string_new ("[");
  for (guint i = 0; i < s->records->len; i++)
    {
      SlRecord *r = &g_array_index (s->records, SlRecord, i);
      counts[r->decision]++;
      g_autofree char *sim = isnan (r->similarity) ? g_strdup ("null") : g_strdup_printf ("%.6f", r->similarity);
      g_string_append_printf (j, "%s{\"skill\": %" G_GINT64_FORMAT ", \"similarity\": %s, \"decision\": \"%s\", "
                              "\"validation_before\": %.6f, \"validation_after\": %.6f}", i ? ", " : "", r->skill, sim,
                              sl_decision_names[r->decision], r->before, r->after);
    }
  g_string_append (j, "]");
  lf_ctx_report_json (ctx, "experiences", j->str);
  int64_t searched = (int64_t) s->records->len;
  int64_t reused = counts[SL_REUSE_KEPT] + counts[SL_REUSE_REJECTED];
  lf_ctx_report_number (ctx, "library_size", (double) s->skills->len);
  lf_ctx_report_number (ctx, "reused", (double) reused);
  lf_ctx_report_number (ctx, "created", (double) counts[SL_NEW_KEPT]);
  lf_ctx_report_number (ctx, "rejected", (double) (counts[SL_NEW_REJECTED] + counts[SL_REUSE_REJECTED]));
  lf_ctx_report_number (ctx, "reuse_rate", searched > 0 ? (double) reused / (double) searched : 0);
  lf_ctx_report_number (ctx, "skill_parameters", (double) s->slot_n);
}

static size_t
sl_memory_bytes (void *self)
{
  SkillLib *s = self;
  size_t b = (size_t) s->slot_n * sizeof (LfReal);   /* the pristine slot */
  for (guint k = 0; s->skills && k < s->skills->len; k++)
    {
      Skill *sk = s->skills->pdata[k];
      b += (size_t) s->slot_n * sizeof (LfReal) + (size_t) s->d * sizeof (double)
           + sk->protos->len * sizeof (double) + sk->classes->len * sizeof (int32_t) + sk->val->len * sizeof (int64_t);
    }
  return b;
}

/* ---- checkpoints ------------------------------------------------------------ */

static void
put_array (LfState *st, const char *name, const GArray *a)
{
  lf_state_put_bytes (st, name, a->data, a->len * g_array_get_element_size ((GArray *) a));
}

static gboolean
get_array (const LfState *st, const char *name, GArray *a, GError **error)
{
  size_t n;
  const void *p = lf_state_get_bytes (st, name, &n);
  guint es = g_array_get_element_size (a);
  if (p == NULL || n % es != 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "skill-library: the checkpoint's %s is missing or torn", name);
      return FALSE;
    }
  g_array_set_size (a, 0);
  g_array_append_vals (a, p, (guint) (n / es));
  return TRUE;
}

static gboolean
get_exact (const LfState *st, const char *name, void *dst, size_t want, GError **error)
{
  size_t n;
  const void *p = lf_state_get_bytes (st, name, &n);
  if (p == NULL || n != want)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "skill-library: the checkpoint's %s is missing or has %zu bytes, "
                   "not %zu", name, p ? n : 0, want);
      return FALSE;
    }
  memcpy (dst, p, want);
  return TRUE;
}

static gboolean
sl_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  SkillLib *s = self;
  lora_family_save (&s->f, st);
  lf_state_put_int (st, "skill.d", s->d);
  lf_state_put_int (st, "skill.n", s->skills->len);
  lf_state_put_bytes (st, "skill.pristine", s->pristine, (size_t) s->slot_n * sizeof (LfReal));
  put_array (st, "skill.records", s->records);
  for (guint k = 0; k < s->skills->len; k++)
    {
      Skill *sk = s->skills->pdata[k];
      char name[64];
      g_snprintf (name, sizeof name, "skill.%u.w", k);
      lf_state_put_bytes (st, name, sk->w, (size_t) s->slot_n * sizeof (LfReal));
      g_snprintf (name, sizeof name, "skill.%u.key", k);
      lf_state_put_bytes (st, name, sk->key, (size_t) s->d * sizeof (double));
      g_snprintf (name, sizeof name, "skill.%u.key_weight", k);
      lf_state_put_bytes (st, name, &sk->key_weight, sizeof (double));
      g_snprintf (name, sizeof name, "skill.%u.trained", k);
      lf_state_put_int (st, name, sk->trained);
      g_snprintf (name, sizeof name, "skill.%u.classes", k);
      put_array (st, name, sk->classes);
      g_snprintf (name, sizeof name, "skill.%u.protos", k);
      put_array (st, name, sk->protos);
      g_snprintf (name, sizeof name, "skill.%u.val", k);
      put_array (st, name, sk->val);
    }
  return TRUE;
}

static gboolean
sl_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  SkillLib *s = self;
  int64_t n;
  if (!lora_family_load (&s->f, ctx, st, error))
    return FALSE;
  if (!lf_state_get_int (st, "skill.d", &s->d) || !lf_state_get_int (st, "skill.n", &n) || n < 0 || s->d < 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "skill-library: the checkpoint has no library (skill.d, skill.n)");
      return FALSE;
    }
  /* the slot as the first experience made it: adapter 0 trainable, the head
   * as train_head says */
  for (guint w = 0; w < s->f.wrappers->len; w++)
    lf_lora_freeze (s->f.wrappers->pdata[w], 0, FALSE);
  LfModule *root = lf_model_root (lf_ctx_model (ctx));
  for (guint i = 0; i < 2; i++)
    {
      LfModule *h = lf_module_find (root, i == 0 ? "head" : "score");
      if (h)
        lf_module_freeze (h, "*", !s->f.train_head);
      s->f.head_found |= h != NULL;
    }
  if (!slot_collect (s, ctx, error))
    return FALSE;
  s->pristine = g_new (LfReal, MAX (s->slot_n, 1));
  if (!get_exact (st, "skill.pristine", s->pristine, (size_t) s->slot_n * sizeof (LfReal), error)
      || !get_array (st, "skill.records", s->records, error))
    return FALSE;
  if (s->d > 0 && s->emb == NULL)
    {
      s->emb = g_new (double, s->d);
      s->cls_sum = g_new (double, s->C * s->d);
    }
  for (int64_t k = 0; k < n; k++)
    {
      Skill *sk = skill_new (s->slot_n, s->d);
      g_ptr_array_add (s->skills, sk);
      char name[64];
      g_snprintf (name, sizeof name, "skill.%" G_GINT64_FORMAT ".trained", k);
      if (!lf_state_get_int (st, name, &sk->trained))
        {
          g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "skill-library: the checkpoint's %s is missing", name);
          return FALSE;
        }
#define SL_GET(field, dst, size)                                            \
      g_snprintf (name, sizeof name, "skill.%" G_GINT64_FORMAT "." field, k); \
      if (!get_exact (st, name, dst, size, error))                          \
        return FALSE;
      SL_GET ("w", sk->w, (size_t) s->slot_n * sizeof (LfReal));
      SL_GET ("key", sk->key, (size_t) s->d * sizeof (double));
      SL_GET ("key_weight", &sk->key_weight, sizeof (double));
#undef SL_GET
      const char *arrays[] = { "classes", "protos", "val" };
      GArray *dst[] = { sk->classes, sk->protos, sk->val };
      for (guint a = 0; a < G_N_ELEMENTS (arrays); a++)
        {
          g_snprintf (name, sizeof name, "skill.%" G_GINT64_FORMAT ".%s", k, arrays[a]);
          if (!get_array (st, name, dst[a], error))
            return FALSE;
        }
      if (sk->protos->len != sk->classes->len * s->d)
        {
          g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "skill-library: skill %" G_GINT64_FORMAT "'s prototypes do "
                       "not match its classes", k);
          return FALSE;
        }
    }
  return TRUE;
}

static const LfStrategyVTable sl_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = sl_create,
  .destroy = sl_destroy,
  .before_experience = sl_before_experience,
  .select_training = sl_select_training,
  .after_experience = sl_after_experience,
  .predict = sl_predict,
  .report = sl_report,
  .save = sl_save,
  .load = sl_load,
  .memory_bytes = sl_memory_bytes,
};

static const LfCapabilities sl_caps = {
  .touches = LF_TOUCHES_STRUCTURE | LF_TOUCHES_OPTIMIZER,
  .needs = LF_NEEDS_BOUNDARIES,
  .supports = LF_SUPPORTS_CLASSIFICATION,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "skill-library",
    .version = "0.1.0",
    .summary = "a growing library of LoRA skills keyed by task embeddings: a searcher reuses the closest skill "
               "above a similarity threshold or makes a new one, an evaluator keeps a new or updated skill only "
               "if validation improves; task-free prediction routes each sample to its nearest skill",
    .params = sl_params,
    .caps = &sl_caps,
    .vtable = &sl_vtable,
  };
  return &info;
}
