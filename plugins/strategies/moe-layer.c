/* lifelong plugins — the mixture-of-experts feed-forward and the plumbing
 * the moe strategies share (see moe-layer.h). */
#include "moe-layer.h"
#include <math.h>
#include <string.h>

/* ---- the SwiGLU expert ---- */

static LfTensor *
moe_swiglu_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  LfTensor *g = lf_silu (lf_module_forward (lf_module_child (m, 0), x, fwd));
  LfTensor *u = lf_module_forward (lf_module_child (m, 1), x, fwd);
  return lf_module_forward (lf_module_child (m, 2), lf_mul (g, u), fwd);
}

static const LfModuleClass moe_swiglu_class = {
  sizeof (LfModuleClass), "moe-swiglu-expert", moe_swiglu_forward, NULL,
};

LfModule *
moe_swiglu_new (const char *name, int64_t d, int64_t ff)
{
  LfModule *m = lf_module_new (name, LF_MODULE_FEEDFORWARD, &moe_swiglu_class, NULL);
  lf_module_add_child (m, lf_module_new_linear ("gate_proj", d, ff, FALSE));
  lf_module_add_child (m, lf_module_new_linear ("up_proj", d, ff, FALSE));
  lf_module_add_child (m, lf_module_new_linear ("down_proj", ff, d, FALSE));
  return m;
}

/* N(0, 0.02): the transformer's initializer_range */
static void
moe_fill_normal (LfTensor *t, uint64_t key)
{
  LfRng r;
  lf_rng_init (&r, key);
  for (int64_t j = 0; j < lf_tensor_numel (t); j++)
    lf_tensor_data (t)[j] = (LfReal) (0.02 * lf_rng_normal (&r));
}

static void
moe_layer_destroy (void *state)
{
  MoeLayer *s = state;
  g_array_unref (s->group_end);
  g_free (s->counts);
  g_free (s);
}

MoeLayer *moe_layer_state (LfModule *moe) { return lf_module_state (moe); }
LfModule *moe_layer_expert (LfModule *moe, int64_t i) { return lf_module_child (lf_module_find (moe, "experts"), (int) i); }
int64_t moe_layer_n_groups (LfModule *moe) { return moe_layer_state (moe)->group_end->len; }

LfTensor *
moe_layer_router (LfModule *moe, int64_t group)
{
  return lf_module_param (lf_module_child (lf_module_find (moe, "router"), (int) group), "weight");
}

/* ---- the forward ---- */

typedef struct {
  LfModule  *experts;
  LfForward *fwd;
} MoeRun;

static LfTensor *
moe_run_expert (int64_t e, LfTensor *x, void *user)
{
  MoeRun *r = user;
  return lf_module_forward (lf_module_child (r->experts, (int) e), x, r->fwd);
}

/* CL-MoE's task for each of the na routed rows: the training task; at
 * evaluation the batch's task id when the scenario gives one, else, per
 * sample, the seen task whose G_T (t) is nearest (cosine) to the sample's
 * mean instance distribution softmax (logits). */
static int32_t *
moe_row_tasks (MoeLayer *s, LfForward *fwd, LfTensor *logits, const int32_t *arow, int64_t na, int64_t R)
{
  int32_t *t = lf_scope_alloc (sizeof (int32_t) * (size_t) MAX (na, 1));
  const int64_t N = s->n_active, T = lf_tensor_dim (s->task_router, 0);
  const LfBatch *b = fwd ? fwd->batch : NULL;
  const int64_t per = b && b->n > 0 && R % b->n == 0 ? R / b->n : R, samples = R / per;
  if (fwd && fwd->training)
    {
      for (int64_t i = 0; i < na; i++)
        t[i] = (int32_t) MIN (s->task, T - 1);
      return t;
    }
  if (b && b->task_ids && samples == b->n)
    {
      for (int64_t i = 0; i < na; i++)
        t[i] = CLAMP (b->task_ids[arow[i] / per], 0, (int32_t) T - 1);
      return t;
    }
  const int64_t seen = CLAMP (s->n_seen, 1, T);
  g_autofree double *mean = g_new0 (double, samples * N);
  g_autofree double *gt = g_new (double, seen * N);
  for (int64_t u = 0; u < seen; u++)
    {
      const LfReal *l = lf_tensor_data (s->task_router) + u * lf_tensor_dim (s->task_router, 1);
      double mx = -INFINITY, z = 0, nn = 0;
      for (int64_t e = 0; e < N; e++)
        mx = MAX (mx, l[e]);
      for (int64_t e = 0; e < N; e++)
        z += (gt[u * N + e] = exp (l[e] - mx));
      for (int64_t e = 0; e < N; e++)
        {
          gt[u * N + e] /= z;
          nn += gt[u * N + e] * gt[u * N + e];
        }
      for (int64_t e = 0; e < N; e++)
        gt[u * N + e] /= sqrt (nn);
    }
  const LfReal *ld = lf_tensor_data (logits);
  for (int64_t i = 0; i < na; i++)
    {
      const LfReal *l = ld + i * N;
      double mx = -INFINITY, z = 0;
      for (int64_t e = 0; e < N; e++)
        mx = MAX (mx, l[e]);
      for (int64_t e = 0; e < N; e++)
        z += exp (l[e] - mx);
      for (int64_t e = 0; e < N; e++)
        mean[(arow[i] / per) * N + e] += exp (l[e] - mx) / z;
    }
  g_autofree int32_t *pick = g_new0 (int32_t, samples);
  for (int64_t q = 0; q < samples; q++)
    {
      double best = -INFINITY;
      for (int64_t u = 0; u < seen; u++)
        {
          double dot = 0;
          for (int64_t e = 0; e < N; e++)
            dot += mean[q * N + e] * gt[u * N + e];
          if (dot > best)   /* the mean's own norm does not change the arg-max */
            {
              best = dot;
              pick[q] = (int32_t) u;
            }
        }
    }
  for (int64_t i = 0; i < na; i++)
    t[i] = pick[arow[i] / per];
  return t;
}

/* x (..., d) -> (..., d).  Padding positions of a token batch are not
 * routed (their output is 0: right padding, so no real token reads them). */
static LfTensor *
moe_layer_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  MoeLayer *s = lf_module_state (m);
  const int64_t d = s->d, R = lf_tensor_numel (x) / d, N = s->n_active;
  int64_t shape2[2] = { R, d };
  LfTensor *x2 = lf_reshape (x, 2, shape2);
  const LfBatch *b = fwd ? fwd->batch : NULL;
  int32_t *arow = lf_scope_alloc (sizeof (int32_t) * (size_t) MAX (R, 1));
  int64_t na = 0;
  const gboolean by_token = b && b->tokens && b->n * b->seq_len == R;
  for (int64_t r = 0; r < R; r++)
    if (!by_token || b->tokens[r] != LF_TOKEN_PAD)
      arow[na++] = (int32_t) r;
  if (na == 0)
    return lf_tensor_zeros (lf_tensor_ndim (x), lf_tensor_shape (x));
  LfTensor *xa = na == R ? x2 : lf_embedding (x2, arow, na);

  /* the instance router over the active experts: its groups' rows */
  LfModule *router = lf_module_find (m, "router");
  LfTensor *rw[64];
  int nrw = 0;
  for (guint g = 0; g < s->group_end->len && g_array_index (s->group_end, int64_t, g) <= N; g++)
    rw[nrw++] = lf_module_param (lf_module_child (router, (int) g), "weight");
  g_assert (nrw > 0 && nrw <= 64);
  LfTensor *logits = lf_linear (xa, nrw == 1 ? rw[0] : lf_concat (rw, nrw, 0), NULL);   /* (na, N) */
  uint8_t *sel = lf_scope_alloc ((size_t) (na * N));
  moe_topk (lf_tensor_data (logits), na, N, s->k, sel);
  LfTensor *gates = moe_gates (logits, sel, s->norm_all);
  const gboolean collect = s->collect && fwd && fwd->training && lf_tape_recording ();
  if (collect)
    s->aux = moe_balance_loss (logits, sel);
  uint8_t *all = sel;
  if (s->task_router)
    {
      /* CL-MoE: beta G_I (x) + (1 - beta) G_T (t), G_T also top-k */
      const int32_t *t = moe_row_tasks (s, fwd, logits, arow, na, R);
      LfTensor *tl = lf_embedding (s->task_router, t, na);
      if (N < lf_tensor_dim (tl, 1))
        tl = lf_slice (tl, 1, 0, N);
      uint8_t *tsel = lf_scope_alloc ((size_t) (na * N));
      moe_topk (lf_tensor_data (tl), na, N, s->k, tsel);
      gates = lf_add (lf_scale (gates, s->beta), lf_scale (moe_gates (tl, tsel, s->norm_all), 1 - s->beta));
      all = lf_scope_alloc ((size_t) (na * N));
      for (int64_t i = 0; i < na * N; i++)
        all[i] = sel[i] | tsel[i];
    }
  if (collect)
    {
      s->tokens += na;
      s->min_per_token = INT64_MAX;
      s->max_per_token = 0;
      for (int64_t i = 0; i < na; i++)
        {
          int64_t c = 0;
          for (int64_t e = 0; e < N; e++)
            if (all[i * N + e])
              {
                s->counts[e]++;
                c++;
              }
          s->min_per_token = MIN (s->min_per_token, c);
          s->max_per_token = MAX (s->max_per_token, c);
        }
    }
  MoeRun run = { lf_module_find (m, "experts"), fwd };
  LfTensor *y = moe_dispatch (xa, gates, all, na == R ? NULL : arow, R, moe_run_expert, &run);
  return lf_reshape (y, lf_tensor_ndim (x), lf_tensor_shape (x));
}

static const LfModuleClass moe_layer_class = {
  sizeof (LfModuleClass), "moe", moe_layer_forward, moe_layer_destroy,
};

/* ---- building and growing ---- */

static void
moe_copy_expert (LfModule *dst, LfModule *src)
{
  static const char *const lin[] = { "gate_proj", "up_proj", "down_proj" };
  for (int i = 0; i < 3; i++)
    lf_tensor_copy_data (lf_module_param (lf_module_find (dst, lin[i]), "weight"),
                         lf_module_param (lf_module_find (src, lin[i]), "weight"));
}

void
moe_layer_add_group (LfModule *moe, int64_t n, gboolean copy, uint64_t key)
{
  MoeLayer *s = moe_layer_state (moe);
  LfModule *experts = lf_module_find (moe, "experts"), *router = lf_module_find (moe, "router");
  const int64_t old = s->n_experts, g = s->group_end->len;
  for (int64_t i = 0; i < n; i++)
    {
      char name[24];
      g_snprintf (name, sizeof name, "%" G_GINT64_FORMAT, old + i);
      LfModule *e = moe_swiglu_new (name, s->d, s->ff);
      lf_module_add_child (experts, e);
      if (copy && old > 0)
        moe_copy_expert (e, lf_module_child (experts, (int) (i % old)));
      else
        for (int j = 0; j < 3; j++)
          moe_fill_normal (lf_module_param (lf_module_child (e, j), "weight"),
                           lf_rng_key (key, (uint64_t) (old + i), (uint64_t) j, 0, "moe-expert"));
    }
  char gname[24];
  g_snprintf (gname, sizeof gname, "%" G_GINT64_FORMAT, g);
  LfModule *rg = lf_module_new_linear (gname, s->d, n, FALSE);
  lf_module_add_child (router, rg);
  moe_fill_normal (lf_module_param (rg, "weight"), lf_rng_key (key, (uint64_t) g, 0, 0, "moe-router"));
  s->n_experts = old + n;
  s->n_active = s->n_experts;
  g_array_append_val (s->group_end, s->n_experts);
  s->counts = g_renew (int64_t, s->counts, s->n_experts);
  memset (s->counts + old, 0, sizeof (int64_t) * (size_t) n);
}

void
moe_layer_add_task_router (LfModule *moe, int64_t tasks, double beta, uint64_t key)
{
  MoeLayer *s = moe_layer_state (moe);
  LfModule *tr = lf_module_new ("task_router", LF_MODULE_CUSTOM, NULL, NULL);
  int64_t shape[2] = { MAX (tasks, 1), s->n_experts };
  s->task_router = lf_module_add_param (tr, "weight", 2, shape);
  lf_module_add_child (moe, tr);
  moe_fill_normal (s->task_router, lf_rng_key (key, 0, 0, 0, "moe-task-router"));
  s->beta = beta;
}

void
moe_layer_freeze_group (LfModule *moe, int64_t g, gboolean frozen)
{
  MoeLayer *s = moe_layer_state (moe);
  const int64_t lo = g > 0 ? g_array_index (s->group_end, int64_t, g - 1) : 0;
  const int64_t hi = g_array_index (s->group_end, int64_t, g);
  lf_tensor_set_requires_grad (moe_layer_router (moe, g), !frozen);
  for (int64_t i = lo; i < hi; i++)
    {
      g_autoptr (GPtrArray) ps = lf_module_params (moe_layer_expert (moe, i), "*", FALSE);
      for (guint j = 0; j < ps->len; j++)
        lf_tensor_set_requires_grad (ps->pdata[j], !frozen);
    }
}

LfModule *
moe_layer_replace (LfModule *ffn, int64_t n, int64_t k, gboolean upcycle, gboolean norm_all, uint64_t key,
                   GError **error)
{
  LfModule *g = lf_module_find (ffn, "gate_proj"), *u = lf_module_find (ffn, "up_proj"),
           *dn = lf_module_find (ffn, "down_proj");
  LfTensor *gw = g ? lf_module_param (g, "weight") : NULL;
  if (!gw || !u || !dn || lf_module_kind (g) != LF_MODULE_LINEAR)
    {
      g_autofree char *path = lf_module_path (ffn);
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "%s is not a SwiGLU feed-forward (gate_proj, up_proj, "
                   "down_proj linears): it cannot become a mixture of experts", path);
      return NULL;
    }
  MoeLayer *s = g_new0 (MoeLayer, 1);
  s->ff = lf_tensor_dim (gw, 0);
  s->d = lf_tensor_dim (gw, 1);
  s->k = MIN (k, n);
  s->norm_all = norm_all;
  s->group_end = g_array_new (FALSE, FALSE, sizeof (int64_t));
  s->collect = TRUE;
  LfModule *moe = lf_module_new (lf_module_name (ffn), LF_MODULE_FEEDFORWARD, &moe_layer_class, s);
  lf_module_add_child (moe, lf_module_new ("router", LF_MODULE_CONTAINER, NULL, NULL));
  lf_module_add_child (moe, lf_module_new ("experts", LF_MODULE_CONTAINER, NULL, NULL));
  /* the replacement goes in first, so the experts' parameters carry their
   * final names ("model.layers.0.mlp.experts.1.up_proj.weight") */
  LfModule *old = lf_module_replace (ffn, moe);
  moe_layer_add_group (moe, n, FALSE, key);
  if (upcycle)
    for (int64_t i = 0; i < n; i++)
      moe_copy_expert (moe_layer_expert (moe, i), old);
  lf_module_free (old);
  return moe;
}

/* ---- the strategies' share ---- */

static gboolean
moe_base_add_target (MoeBase *b, GPtrArray *found, LfModule *m)
{
  for (guint i = 0; i < found->len; i++)
    if (found->pdata[i] == m)
      return FALSE;
  g_ptr_array_add (found, m);
  (void) b;
  return TRUE;
}

gboolean
moe_base_init (MoeBase *b, const LfParams *p, LfStrategyCtx *ctx, const char *name, GError **error)
{
  memset (b, 0, sizeof *b);
  b->name = name;
  b->layers = g_ptr_array_new ();
  b->paths = g_ptr_array_new_with_free_func (g_free);
  b->util = g_ptr_array_new_with_free_func (g_free);
  b->n_start = lf_params_get_int (p, "experts");
  b->k = lf_params_get_int (p, "top_k");
  b->aux_weight = lf_params_get_float (p, "aux_weight");
  b->aux_last = NAN;
  b->min_k = INT64_MAX;
  if (b->k > b->n_start)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "strategy.top_k: %" G_GINT64_FORMAT " is more than the %"
                   G_GINT64_FORMAT " experts", b->k, b->n_start);
      return FALSE;
    }
  LfModule *root = lf_model_root (lf_ctx_model (ctx));
  g_autoptr (GPtrArray) found = g_ptr_array_new ();
  int64_t nl, nt;
  const int64_t *layers = lf_params_get_int_list (p, "layers", &nl);
  const char *const *targets = lf_params_get_string_list (p, "targets", &nt);
  for (int64_t i = 0; i < nl; i++)
    {
      g_autofree char *path = g_strdup_printf ("model.layers.%" G_GINT64_FORMAT ".mlp", layers[i]);
      LfModule *m = lf_module_find (root, path);
      if (m == NULL || lf_module_kind (m) != LF_MODULE_FEEDFORWARD)
        {
          g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "strategy.layers: the model has no feed-forward %s", path);
          return FALSE;
        }
      moe_base_add_target (b, found, m);
    }
  for (int64_t i = 0; nl == 0 && i < MAX (nt, 1); i++)
    {
      g_autoptr (GPtrArray) ms = lf_module_find_all (root, nt > 0 ? targets[i] : "*", LF_MODULE_FEEDFORWARD);
      if (ms->len == 0)
        {
          g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "strategy.targets: \"%s\" matches no feed-forward module "
                       "(a transformer's are model.layers.N.mlp)", nt > 0 ? targets[i] : "*");
          return FALSE;
        }
      for (guint j = 0; j < ms->len; j++)
        moe_base_add_target (b, found, ms->pdata[j]);
    }
  const gboolean upcycle = g_str_equal (lf_params_get_string (p, "init"), "upcycle");
  const gboolean norm_all = g_str_equal (lf_params_get_string (p, "router_norm"), "all");
  uint64_t key = lf_ctx_rng_key (ctx, "moe-init");
  for (guint i = 0; i < found->len; i++)
    {
      char *path = lf_module_path (found->pdata[i]);
      LfModule *moe = moe_layer_replace (found->pdata[i], b->n_start, b->k, upcycle, norm_all,
                                         lf_rng_key (key, i, 0, 0, "moe-layer"), error);
      if (moe == NULL)
        {
          g_free (path);
          return FALSE;
        }
      g_ptr_array_add (b->layers, moe);
      g_ptr_array_add (b->paths, path);
    }
  return TRUE;
}

void
moe_base_clear (MoeBase *b)
{
  g_clear_pointer (&b->layers, g_ptr_array_unref);
  g_clear_pointer (&b->paths, g_ptr_array_unref);
  g_clear_pointer (&b->util, g_ptr_array_unref);
}

LfTensor *
moe_base_loss (MoeBase *b, LfTensor *loss)
{
  LfTensor *sum = NULL;
  int n = 0;
  for (guint i = 0; i < b->layers->len; i++)
    {
      MoeLayer *s = moe_layer_state (b->layers->pdata[i]);
      b->min_k = MIN (b->min_k, s->min_per_token);
      b->max_k = MAX (b->max_k, s->max_per_token);
      if (s->aux == NULL)
        continue;
      sum = sum ? lf_add (sum, s->aux) : s->aux;
      s->aux = NULL;
      n++;
    }
  if (sum == NULL)
    return loss;
  LfTensor *mean = lf_scale (sum, 1.0 / n);
  b->aux_last = lf_tensor_data (mean)[0];
  return b->aux_weight > 0 ? lf_add (loss, lf_scale (mean, b->aux_weight)) : loss;
}

void
moe_base_end_experience (MoeBase *b, int64_t e)
{
  GString *j = g_string_new (NULL);
  int64_t tokens = b->layers->len ? moe_layer_state (b->layers->pdata[0])->tokens : 0;
  g_string_append_printf (j, "{\"experience\": %" G_GINT64_FORMAT ", \"tokens\": %" G_GINT64_FORMAT
                          ", \"layers\": {", e, tokens);
  for (guint i = 0; i < b->layers->len; i++)
    {
      MoeLayer *s = moe_layer_state (b->layers->pdata[i]);
      int64_t total = 0;
      for (int64_t x = 0; x < s->n_experts; x++)
        total += s->counts[x];
      g_string_append_printf (j, "%s\"%s\": {\"tokens\": %" G_GINT64_FORMAT ", \"counts\": [", i ? ", " : "",
                              (const char *) b->paths->pdata[i], s->tokens);
      for (int64_t x = 0; x < s->n_experts; x++)
        g_string_append_printf (j, "%s%" G_GINT64_FORMAT, x ? ", " : "", s->counts[x]);
      g_string_append (j, "], \"fractions\": [");
      for (int64_t x = 0; x < s->n_experts; x++)
        {
          char num[G_ASCII_DTOSTR_BUF_SIZE];
          g_ascii_formatd (num, sizeof num, "%.6g", total > 0 ? (double) s->counts[x] / (double) total : 0.0);
          g_string_append_printf (j, "%s%s", x ? ", " : "", num);
        }
      g_string_append (j, "]}");
      memset (s->counts, 0, sizeof (int64_t) * (size_t) s->n_experts);
      s->tokens = 0;
    }
  g_string_append (j, "}}");
  g_ptr_array_add (b->util, g_string_free (j, FALSE));
}

void
moe_report_arrays (LfStrategyCtx *ctx, const char *key_a, GString *a, const char *key_b, GString *b)
{
  g_string_append (a, "]");
  g_string_append (b, "]");
  lf_ctx_report_json (ctx, key_a, a->str);
  lf_ctx_report_json (ctx, key_b, b->str);
  g_string_free (a, TRUE);
  g_string_free (b, TRUE);
}

void
moe_base_report (MoeBase *b, LfStrategyCtx *ctx)
{
  GString *j = g_string_new ("[");
  for (guint i = 0; i < b->util->len; i++)
    g_string_append_printf (j, "%s%s", i ? ", " : "", (const char *) b->util->pdata[i]);
  g_string_append (j, "]");
  lf_ctx_report_result_json (ctx, "expert_utilization", j->str);   /* top level: docs/moe.md */
  g_string_free (j, TRUE);
  GString *paths = g_string_new ("[");
  GString *counts = g_string_new ("[");
  for (guint i = 0; i < b->layers->len; i++)
    {
      g_string_append_printf (paths, "%s\"%s\"", i ? ", " : "", (const char *) b->paths->pdata[i]);
      g_string_append_printf (counts, "%s%" G_GINT64_FORMAT, i ? ", " : "",
                              moe_layer_state (b->layers->pdata[i])->n_experts);
    }
  moe_report_arrays (ctx, "moe_layers", paths, "experts_per_layer", counts);
  lf_ctx_report_number (ctx, "top_k", (double) b->k);
  if (b->max_k > 0)
    {
      lf_ctx_report_number (ctx, "experts_per_token_min", (double) b->min_k);
      lf_ctx_report_number (ctx, "experts_per_token_max", (double) b->max_k);
    }
  if (!isnan (b->aux_last))
    lf_ctx_report_number (ctx, "aux_loss_last", b->aux_last);
}

void
moe_base_save (MoeBase *b, LfState *st)
{
  lf_state_put_int (st, "moe.groups", b->layers->len ? moe_layer_n_groups (b->layers->pdata[0]) : 0);
  lf_state_put_int (st, "moe.util", b->util->len);
  lf_state_put_int (st, "moe.min_k", b->min_k);   /* over every training forward so far */
  lf_state_put_int (st, "moe.max_k", b->max_k);
  for (guint i = 0; i < b->util->len; i++)
    {
      g_autofree char *key = g_strdup_printf ("moe.util.%u", i);
      lf_state_put_bytes (st, key, b->util->pdata[i], strlen (b->util->pdata[i]));
    }
}

/* Re-adds the groups of experts a checkpoint has (grow experts each; the
 * host then restores their values by name) and the utilization history. */
gboolean
moe_base_load (MoeBase *b, const LfState *st, int64_t grow, GError **error)
{
  int64_t groups = 0, nu = 0;
  if (!lf_state_get_int (st, "moe.groups", &groups) || !lf_state_get_int (st, "moe.util", &nu))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "%s: the checkpoint has no moe state", b->name);
      return FALSE;
    }
  for (guint i = 0; i < b->layers->len; i++)
    while (moe_layer_n_groups (b->layers->pdata[i]) < groups)
      moe_layer_add_group (b->layers->pdata[i], grow, FALSE, 0);
  lf_state_get_int (st, "moe.min_k", &b->min_k);   /* absent in older checkpoints: kept */
  lf_state_get_int (st, "moe.max_k", &b->max_k);
  g_ptr_array_set_size (b->util, 0);
  for (int64_t i = 0; i < nu; i++)
    {
      g_autofree char *key = g_strdup_printf ("moe.util.%" G_GINT64_FORMAT, i);
      size_t n;
      const char *t = lf_state_get_bytes (st, key, &n);
      g_ptr_array_add (b->util, t ? g_strndup (t, n) : g_strdup ("{}"));
    }
  return TRUE;
}

size_t
moe_base_memory (MoeBase *b)
{
  size_t bytes = sizeof *b;
  for (guint i = 0; i < b->util->len; i++)
    bytes += strlen (b->util->pdata[i]) + 1;
  return bytes;
}

void
moe_momentum_lambdas (const uint8_t *used_now, const uint8_t *used_before, int64_t N, double shared,
                      double specific, double other, double *lambda)
{
  for (int64_t i = 0; i < N; i++)
    lambda[i] = !used_now[i] ? other : used_before[i] ? shared : specific;
}

void
moe_most_used (const int64_t *counts, int64_t N, int64_t m, uint8_t *used)
{
  g_autofree LfReal *c = g_new (LfReal, MAX (N, 1));
  for (int64_t i = 0; i < N; i++)
    c[i] = (LfReal) counts[i];
  moe_topk (c, 1, N, m, used);
}

LfTensor *
moe_hook_loss (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out, LfTensor *loss)
{
  (void) ctx; (void) batch; (void) out;
  return moe_base_loss (self, loss);
}

void
moe_hook_report (void *self, LfStrategyCtx *ctx)
{
  moe_base_report (self, ctx);
}

size_t
moe_hook_memory (void *self)
{
  return moe_base_memory (self);
}
