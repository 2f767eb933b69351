/* lifelong plugin — strategy "lifelong-moe": Chen, Zhou, Du, Huang, Laudon,
 * Chen & Cui, "Lifelong Language Pretraining with Distribution-Specialized
 * Experts", ICML 2023.
 *
 * The chosen feed-forwards are top-k MoE layers (moe-layer.c).  When
 * experience e > 0 starts:
 *   - every MoE layer gains `grow` experts and as many router rows (a new
 *     group; the new experts copies of the old ones, or fresh);
 *   - every earlier group (its experts and its router rows) is frozen:
 *     bitwise unchanged from then on (no gradient is computed for it);
 *   - the model as it was (old experts only: the teacher routes among the
 *     experts it had) is the teacher of an output regularization on the new
 *     data: distill * T^2 KL (softmax (teacher / T) || softmax (student / T))
 *     of the next-token distribution at every predicted position.
 * Routing stays top-k over all experts, so the compute per token does not
 * grow with the experts.  docs/moe.md. */
#include "moe-layer.h"
#include <math.h>
#include <string.h>

typedef struct {
  MoeBase     b;
  int64_t     grow;
  gboolean    copy;
  double      distill, temperature;
  LfSnapshot *teacher;         /* every parameter at the start of the experience */
  int64_t     teacher_experts; /* per layer: experts before the new group        */
  GArray     *hash_frozen;     /* uint64 per group: its hash when frozen         */
  double      new_grad_min;    /* min over experiences > 0 of the new group's |grad| sum at its first step */
  gboolean    first_step;
  double      distill_last;
} Lmoe;

static const LfParam lmoe_params[] = {
  MOE_LAYER_PARAMS,
  { "grow", LF_PARAM_INT, "2", 1, 1024, NULL, "experts added to every MoE layer when an experience starts (after the first)" },
  { "new_init", LF_PARAM_STRING, "\"copy\"", 0, 0, "copy|fresh",
    "new experts start as copies of the existing ones (in order) or N(0, 0.02)" },
  { "distill", LF_PARAM_FLOAT, "1", 0, 1e9, NULL,
    "weight of the output regularization (KL from the previous model on the new data)" },
  { "temperature", LF_PARAM_FLOAT, "1", 1e-3, 1e3, NULL, "softmax temperature of the distillation (scaled by T^2)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
lmoe_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  Lmoe *s = g_new0 (Lmoe, 1);
  s->hash_frozen = g_array_new (FALSE, FALSE, sizeof (uint64_t));
  if (!moe_base_init (&s->b, p, ctx, "lifelong-moe", error))
    {
      moe_base_clear (&s->b);
      g_array_unref (s->hash_frozen);
      g_free (s);
      return NULL;
    }
  s->grow = lf_params_get_int (p, "grow");
  s->copy = g_str_equal (lf_params_get_string (p, "new_init"), "copy");
  s->distill = lf_params_get_float (p, "distill");
  s->temperature = lf_params_get_float (p, "temperature");
  s->new_grad_min = NAN;
  s->distill_last = NAN;
  return s;
}

static void
lmoe_destroy (void *self)
{
  Lmoe *s = self;
  moe_base_clear (&s->b);
  lf_snapshot_free (s->teacher);
  g_array_unref (s->hash_frozen);
  g_free (s);
}

/* FNV-1a of group g's parameters (router rows and experts) in every layer */
static uint64_t
lmoe_group_hash (Lmoe *s, int64_t g)
{
  uint64_t h = 0xcbf29ce484222325ull;
  LfModule *moe;
  moe_base_foreach (&s->b, moe)
    {
      MoeLayer *st = moe_layer_state (moe);
      const int64_t lo = g > 0 ? g_array_index (st->group_end, int64_t, g - 1) : 0;
      const int64_t hi = g_array_index (st->group_end, int64_t, g);
      GPtrArray *ps = g_ptr_array_new ();
      g_ptr_array_add (ps, moe_layer_router (moe, g));
      for (int64_t i = lo; i < hi; i++)
        {
          g_autoptr (GPtrArray) ep = lf_module_params (moe_layer_expert (moe, i), "*", FALSE);
          g_ptr_array_extend (ps, ep, NULL, NULL);
        }
      for (guint j = 0; j < ps->len; j++)
        {
          const unsigned char *p = (const unsigned char *) lf_tensor_data (ps->pdata[j]);
          for (size_t k = 0; k < (size_t) lf_tensor_numel (ps->pdata[j]) * sizeof (LfReal); k++)
            h = (h ^ p[k]) * 0x100000001b3ull;
        }
      g_ptr_array_unref (ps);
    }
  return h;
}

static gboolean
lmoe_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Lmoe *s = self;
  const int64_t e = lf_ctx_experience (ctx);
  s->first_step = TRUE;
  g_clear_pointer (&s->teacher, lf_snapshot_free);
  if (e <= 0 || s->b.layers->len == 0)
    return TRUE;
  LfModule *root = lf_model_root (lf_ctx_model (ctx));
  /* the previous model, before it grows (a resumed run: the restored one) */
  s->teacher = lf_snapshot_take (root, FALSE);
  uint64_t key = lf_ctx_rng_key (ctx, "lifelong-moe-grow");
  LfModule *moe;
  moe_base_foreach (&s->b, moe)
    {
      if (moe_layer_n_groups (moe) < e + 1)
        moe_layer_add_group (moe, s->grow, s->copy, lf_rng_key (key, _i, 0, 0, "layer"));
      for (int64_t g = 0; g < moe_layer_n_groups (moe); g++)
        moe_layer_freeze_group (moe, g, g < e);
    }
  LfModule *first = s->b.layers->pdata[0];
  s->teacher_experts = g_array_index (moe_layer_state (first)->group_end, int64_t, e - 1);
  for (int64_t g = s->hash_frozen->len; g < e; g++)
    {
      uint64_t h = lmoe_group_hash (s, g);
      g_array_append_val (s->hash_frozen, h);
    }
  return TRUE;
}

/* The teacher's next-token logits, like the student's (n, T, V): the
 * snapshot swapped in, routing among the old experts only, no tape, no
 * statistics. */
static LfTensor *
lmoe_teacher (Lmoe *s, LfStrategyCtx *ctx, const LfBatch *batch, const LfTensor *like)
{
  LfModel *model = lf_ctx_model (ctx);
  LfTensor *t = lf_tensor_new (lf_tensor_ndim (like), lf_tensor_shape (like));
  LfModule *moe;
  moe_base_foreach (&s->b, moe)
    {
      moe_layer_state (moe)->n_active = s->teacher_experts;
      moe_layer_state (moe)->collect = FALSE;
    }
  lf_snapshot_swap (s->teacher, lf_model_root (model));
  lf_tape_push (FALSE);
  LfModelOutput out;
  lf_model_forward (model, batch, FALSE, &out);
  lf_tensor_copy_data (t, out.logits);
  lf_tape_pop ();
  lf_snapshot_swap (s->teacher, lf_model_root (model));
  moe_base_foreach (&s->b, moe)
    {
      moe_layer_state (moe)->n_active = moe_layer_state (moe)->n_experts;
      moe_layer_state (moe)->collect = TRUE;
    }
  return t;
}

/* (n, T, V) -> (k, V): the rows whose next token is predicted */
static LfTensor *
lmoe_predicted (LfTensor *logits, const int32_t *rows, int64_t k)
{
  int64_t V = lf_tensor_dim (logits, -1), shape[2] = { lf_tensor_numel (logits) / V, V };
  return lf_embedding (lf_reshape (logits, 2, shape), rows, k);
}

static LfTensor *
lmoe_loss (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out, LfTensor *loss)
{
  Lmoe *s = self;
  loss = moe_base_loss (&s->b, loss);
  if (s->teacher == NULL || s->distill == 0)
    return loss;
  LfTensor *teacher = lmoe_teacher (s, ctx, batch, out->logits);
  LfTensor *student = out->logits;
  if (lf_tensor_ndim (student) == 3)
    {
      const int64_t n = lf_tensor_numel (student) / lf_tensor_dim (student, -1);
      int32_t *rows = lf_scope_alloc (sizeof (int32_t) * (size_t) MAX (n, 1));
      int64_t k = 0;
      for (int64_t i = 0; i < n; i++)
        if (batch->labels[i] >= 0 && (!batch->loss_mask || batch->loss_mask[i]))
          rows[k++] = (int32_t) i;
      if (k == 0)
        return loss;
      student = lmoe_predicted (student, rows, k);
      teacher = lmoe_predicted (teacher, rows, k);
    }
  LfTensor *kl = lf_distill_kl (student, teacher, s->temperature);
  s->distill_last = lf_tensor_data (kl)[0];
  return lf_add (loss, lf_scale (kl, s->distill));
}

/* the newest group's gradient at the first step of an experience > 0 */
static void
lmoe_after_backward (void *self, LfStrategyCtx *ctx, const LfBatch *batch)
{
  (void) batch;
  Lmoe *s = self;
  if (!s->first_step || lf_ctx_experience (ctx) <= 0)
    return;
  s->first_step = FALSE;
  double sum = 0;
  LfModule *moe;
  moe_base_foreach (&s->b, moe)
    {
      MoeLayer *st = moe_layer_state (moe);
      const int64_t g = moe_layer_n_groups (moe) - 1, lo = g_array_index (st->group_end, int64_t, g - 1);
      for (int64_t i = lo; i < st->n_experts; i++)
        {
          g_autoptr (GPtrArray) ps = lf_module_params (moe_layer_expert (moe, i), "*", FALSE);
          for (guint j = 0; j < ps->len; j++)
            {
              const LfReal *gr = lf_tensor_grad (ps->pdata[j]);
              for (int64_t k = 0; gr && k < lf_tensor_numel (ps->pdata[j]); k++)
                sum += fabs ((double) gr[k]);
            }
        }
    }
  s->new_grad_min = isnan (s->new_grad_min) ? sum : MIN (s->new_grad_min, sum);
}

static gboolean
lmoe_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Lmoe *s = self;
  moe_base_end_experience (&s->b, lf_ctx_experience (ctx));
  g_clear_pointer (&s->teacher, lf_snapshot_free);
  return TRUE;
}

static void
lmoe_report (void *self, LfStrategyCtx *ctx)
{
  Lmoe *s = self;
  moe_base_report (&s->b, ctx);
  GString *at = g_string_new ("["), *end = g_string_new ("[");
  for (guint g = 0; g < s->hash_frozen->len; g++)
    {
      g_string_append_printf (at, "%s\"%016" G_GINT64_MODIFIER "x\"", g ? ", " : "",
                              g_array_index (s->hash_frozen, uint64_t, g));
      g_string_append_printf (end, "%s\"%016" G_GINT64_MODIFIER "x\"", g ? ", " : "", lmoe_group_hash (s, g));
    }
  moe_report_arrays (ctx, "frozen_group_hash_at_freeze", at, "frozen_group_hash_end", end);
  if (!isnan (s->new_grad_min))
    lf_ctx_report_number (ctx, "new_experts_grad_abs_sum_min", s->new_grad_min);
  if (!isnan (s->distill_last))
    lf_ctx_report_number (ctx, "distill_last", s->distill_last);
}

static gboolean
lmoe_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Lmoe *s = self;
  moe_base_save (&s->b, st);
  if (s->hash_frozen->len > 0)
    lf_state_put_bytes (st, "lifelong-moe.hash_frozen", s->hash_frozen->data, s->hash_frozen->len * sizeof (uint64_t));
  /* a minimum over experiences: the resumed run's report needs the earlier ones */
  lf_state_put_bytes (st, "lifelong-moe.new_grad_min", &s->new_grad_min, sizeof s->new_grad_min);
  return TRUE;
}

static gboolean
lmoe_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  (void) ctx;
  Lmoe *s = self;
  if (!moe_base_load (&s->b, st, s->grow, error))
    return FALSE;
  size_t n = 0;
  const void *h = lf_state_get_bytes (st, "lifelong-moe.hash_frozen", &n);
  g_array_set_size (s->hash_frozen, 0);
  if (h)
    g_array_append_vals (s->hash_frozen, h, (guint) (n / sizeof (uint64_t)));
  const void *g = lf_state_get_bytes (st, "lifelong-moe.new_grad_min", &n);
  if (g && n == sizeof s->new_grad_min)
    memcpy (&s->new_grad_min, g, n);
  return TRUE;
}

static size_t
lmoe_memory (void *self)
{
  Lmoe *s = self;
  return moe_base_memory (&s->b) + (s->teacher ? lf_snapshot_bytes (s->teacher) : 0);
}

static const LfStrategyVTable lmoe_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = lmoe_create,
  .destroy = lmoe_destroy,
  .before_experience = lmoe_before_experience,
  .loss = lmoe_loss,
  .after_backward = lmoe_after_backward,
  .after_experience = lmoe_after_experience,
  .report = lmoe_report,
  .save = lmoe_save,
  .load = lmoe_load,
  .memory_bytes = lmoe_memory,
};

static const char *const lmoe_kinds[] = { "transformer", NULL };
static const LfCapabilities lmoe_caps = {
  .touches = LF_TOUCHES_LOSS | LF_TOUCHES_STRUCTURE | LF_TOUCHES_OPTIMIZER,
  .needs = LF_NEEDS_BOUNDARIES,
  .supports = LF_SUPPORTS_CLASSIFICATION | LF_SUPPORTS_LANGUAGE_MODEL,
  .model_kinds = lmoe_kinds,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "lifelong-moe",
    .version = "0.1.0",
    .summary = "Lifelong-MoE (Chen et al., ICML 2023): experts and router rows added per experience, the old "
               "ones frozen, KL output regularization toward the previous model; top-k routing",
    .params = lmoe_params,
    .caps = &lmoe_caps,
    .vtable = &lmoe_vtable,
  };
  return &info;
}
