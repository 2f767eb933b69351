/* lifelong plugin — strategy "cl-moe": Huai, Zhou, Wu, Chen, Bai, Zhou &
 * He, "CL-MoE: Enhancing Multimodal Large Language Model with Dual Momentum
 * Mixture-of-Experts for Continual Visual Question Answering", CVPR 2025.
 *
 * Dual-router MoE: every MoE layer (moe-layer.c) mixes an instance-level
 * router G_I (x) and a task-level router G_T (t) (a learned row of logits
 * per task), both top-k:
 *   y = beta sum_i G_I (x)_i E_i (x) + (1 - beta) sum_i G_T (t)_i E_i (x).
 * t is the experience while training; at evaluation the batch's task id
 * when the scenario gives one, else per sample the seen task whose G_T is
 * nearest (cosine) to the sample's mean instance distribution.
 *
 * Momentum MoE: after experience t > 0, per layer, U_t = the top_experts
 * experts with the most routed tokens in t; an expert in U_t and in some
 * earlier U_j is task-shared, one in U_t only task-specific, the rest
 * other; each expert's parameters become
 *   theta = lambda theta_old + (1 - lambda) theta_new
 * (theta_old: at the start of t) with lambda_shared, lambda_specific or
 * lambda_other.  docs/moe.md. */
#include "moe-layer.h"
#include <math.h>
#include <string.h>

typedef struct {
  MoeBase     b;
  double      beta, lam_shared, lam_specific, lam_other;
  int64_t     top_experts;
  LfSnapshot *old;          /* expert parameters at the start of the experience */
  GByteArray *used;         /* (experience, layer, expert): in U_e             */
  int64_t     n_used;       /* experiences recorded                            */
  GString    *lambdas;      /* JSON of the lambdas applied, per experience     */
} Clmoe;

static const LfParam clmoe_params[] = {
  MOE_LAYER_PARAMS,
  { "beta", LF_PARAM_FLOAT, "0.5", 0, 1, NULL, "share of the instance-level router (1 - beta: the task-level router)" },
  { "lambda_shared", LF_PARAM_FLOAT, "0.7", 0, 1, NULL,
    "momentum of task-shared experts (used most by this task and an earlier one): weight of the old parameters" },
  { "lambda_specific", LF_PARAM_FLOAT, "0.3", 0, 1, NULL,
    "momentum of task-specific experts (used most by this task only)" },
  { "lambda_other", LF_PARAM_FLOAT, "1", 0, 1, NULL,
    "momentum of the experts this task did not use most (1: they keep their values from before the task)" },
  { "top_experts", LF_PARAM_INT, "0", 0, 1024, NULL, "experts per task counted as used most (0: top_k)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void
clmoe_free (Clmoe *s)
{
  moe_base_clear (&s->b);
  lf_snapshot_free (s->old);
  g_byte_array_unref (s->used);
  g_string_free (s->lambdas, TRUE);
  g_free (s);
}

static void *
clmoe_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  Clmoe *s = g_new0 (Clmoe, 1);
  s->used = g_byte_array_new ();
  s->lambdas = g_string_new (NULL);
  if (!moe_base_init (&s->b, p, ctx, "cl-moe", error))
    {
      clmoe_free (s);
      return NULL;
    }
  s->beta = lf_params_get_float (p, "beta");
  s->lam_shared = lf_params_get_float (p, "lambda_shared");
  s->lam_specific = lf_params_get_float (p, "lambda_specific");
  s->lam_other = lf_params_get_float (p, "lambda_other");
  s->top_experts = lf_params_get_int (p, "top_experts") > 0 ? lf_params_get_int (p, "top_experts") : s->b.k;
  s->top_experts = MIN (s->top_experts, s->b.n_start);
  uint64_t key = lf_ctx_rng_key (ctx, "cl-moe-task-router");
  LfModule *moe;
  moe_base_foreach (&s->b, moe)
    moe_layer_add_task_router (moe, MAX (lf_ctx_n_experiences (ctx), 1), s->beta, lf_rng_key (key, _i, 0, 0, "layer"));
  return s;
}

static void
clmoe_destroy (void *self)
{
  clmoe_free (self);
}

static gboolean
clmoe_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Clmoe *s = self;
  const int64_t e = lf_ctx_experience (ctx);
  lf_snapshot_free (s->old);
  s->old = NULL;
  LfModule *moe;
  moe_base_foreach (&s->b, moe)
    {
      moe_layer_state (moe)->task = MAX (e, 0);
      moe_layer_state (moe)->n_seen = MAX (e, 0);
    }
  if (e > 0)
    {
      s->old = lf_snapshot_take (lf_model_root (lf_ctx_model (ctx)), FALSE);
    }
  return TRUE;
}

static const uint8_t *
clmoe_used (Clmoe *s, int64_t e, guint layer)
{
  return s->used->data + (e * s->b.layers->len + layer) * s->b.n_start;
}

/* U_e of every layer from the counters, then the merge of the experts */
static gboolean
clmoe_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Clmoe *s = self;
  const int64_t e = lf_ctx_experience (ctx), N = s->b.n_start;
  g_autofree uint8_t *u = g_new0 (uint8_t, N);
  g_autofree uint8_t *before = g_new0 (uint8_t, N);
  g_autofree double *lambda = g_new (double, N);
  LfModule *moe;
  if (e >= s->n_used)
    {
      moe_base_foreach (&s->b, moe)
        {
          moe_most_used (moe_layer_state (moe)->counts, N, s->top_experts, u);
          g_byte_array_append (s->used, u, (guint) N);
        }
      s->n_used = e + 1;
    }
  g_string_append_printf (s->lambdas, "%s[", s->lambdas->len ? ", " : "");
  moe_base_foreach (&s->b, moe)
    {
      memset (before, 0, (size_t) N);
      for (int64_t j = 0; j < e; j++)
        for (int64_t i = 0; i < N; i++)
          before[i] |= clmoe_used (s, j, _i)[i];
      moe_momentum_lambdas (clmoe_used (s, e, _i), before, N, s->lam_shared, s->lam_specific, s->lam_other, lambda);
      g_string_append_printf (s->lambdas, "%s[", _i ? ", " : "");
      for (int64_t i = 0; i < N; i++)
        {
          char num[G_ASCII_DTOSTR_BUF_SIZE];
          g_ascii_formatd (num, sizeof num, "%.6g", e > 0 ? lambda[i] : 0.0);
          g_string_append_printf (s->lambdas, "%s%s", i ? ", " : "", num);
          if (e == 0 || s->old == NULL)
            continue;
          g_autoptr (GPtrArray) ps = lf_module_params (moe_layer_expert (moe, i), "*", FALSE);
          for (guint j = 0; j < ps->len; j++)
            {
              LfTensor *old = lf_snapshot_get (s->old, lf_tensor_name (ps->pdata[j]));
              if (old)
                moe_momentum_merge (lf_tensor_data (ps->pdata[j]), lf_tensor_data (old),
                                    lf_tensor_numel (old), lambda[i]);
            }
        }
      g_string_append (s->lambdas, "]");
      moe_layer_state (moe)->n_seen = e + 1;
    }
  g_string_append (s->lambdas, "]");
  moe_base_end_experience (&s->b, e);
  g_clear_pointer (&s->old, lf_snapshot_free);
  return TRUE;
}

static void
clmoe_report (void *self, LfStrategyCtx *ctx)
{
  Clmoe *s = self;
  moe_base_report (&s->b, ctx);
  g_autofree char *lj = g_strdup_printf ("[%s]", s->lambdas->str);
  lf_ctx_report_json (ctx, "momentum_lambdas", lj);
  GString *u = g_string_new ("[");
  for (int64_t e = 0; e < s->n_used; e++)
    {
      g_string_append_printf (u, "%s[", e ? ", " : "");
      for (guint l = 0; l < s->b.layers->len; l++)
        {
          g_string_append_printf (u, "%s[", l ? ", " : "");
          gboolean first = TRUE;
          for (int64_t i = 0; i < s->b.n_start; i++)
            if (clmoe_used (s, e, l)[i])
              {
                g_string_append_printf (u, "%s%" G_GINT64_FORMAT, first ? "" : ", ", i);
                first = FALSE;
              }
          g_string_append (u, "]");
        }
      g_string_append (u, "]");
    }
  g_string_append (u, "]");
  lf_ctx_report_json (ctx, "task_experts", u->str);
  g_string_free (u, TRUE);
  lf_ctx_report_number (ctx, "beta", s->beta);
}

static gboolean
clmoe_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Clmoe *s = self;
  moe_base_save (&s->b, st);
  lf_state_put_int (st, "cl-moe.experiences", s->n_used);
  if (s->used->len)
    lf_state_put_bytes (st, "cl-moe.used", s->used->data, s->used->len);
  if (s->lambdas->len)
    lf_state_put_bytes (st, "cl-moe.lambdas", s->lambdas->str, s->lambdas->len);
  return TRUE;
}

static gboolean
clmoe_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  (void) ctx;
  Clmoe *s = self;
  if (!moe_base_load (&s->b, st, 0, error) || !lf_state_get_int (st, "cl-moe.experiences", &s->n_used))
    return FALSE;
  size_t n = 0;
  const void *u = lf_state_get_bytes (st, "cl-moe.used", &n);
  g_byte_array_set_size (s->used, 0);
  if (u)
    g_byte_array_append (s->used, u, (guint) n);
  const char *l = lf_state_get_bytes (st, "cl-moe.lambdas", &n);
  g_string_truncate (s->lambdas, 0);
  if (l)
    g_string_append_len (s->lambdas, l, (gssize) n);
  return TRUE;
}

static size_t
clmoe_memory (void *self)
{
  Clmoe *s = self;
  return moe_base_memory (&s->b) + s->used->len + (s->old ? lf_snapshot_bytes (s->old) : 0);
}

static const LfStrategyVTable clmoe_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = clmoe_create,
  .destroy = clmoe_destroy,
  .before_experience = clmoe_before_experience,
  .loss = moe_hook_loss,
  .after_experience = clmoe_after_experience,
  .report = clmoe_report,
  .save = clmoe_save,
  .load = clmoe_load,
  .memory_bytes = clmoe_memory,
};

static const char *const clmoe_kinds[] = { "transformer", NULL };
static const LfCapabilities clmoe_caps = {
  .touches = LF_TOUCHES_LOSS | LF_TOUCHES_STRUCTURE,
  .needs = LF_NEEDS_BOUNDARIES,
  .supports = LF_SUPPORTS_CLASSIFICATION | LF_SUPPORTS_LANGUAGE_MODEL,
  .model_kinds = clmoe_kinds,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "cl-moe",
    .version = "0.1.0",
    .summary = "CL-MoE (Huai et al., CVPR 2025): dual instance/task routers mixed by beta, and a momentum merge "
               "of task-shared and task-specific experts after each experience",
    .params = clmoe_params,
    .caps = &clmoe_caps,
    .vtable = &clmoe_vtable,
  };
  return &info;
}
