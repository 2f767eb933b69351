/* lifelong plugin — strategy "lwf": Learning without Forgetting (Li &
 * Hoiem, ECCV 2016 / TPAMI 2017).  The model as it was after the previous
 * experience is a frozen teacher (a snapshot swapped into the live tree for
 * its forward); on every batch of the current experience the loss gains
 *   alpha * sum_g T^2 KL (softmax (teacher_g / T) || softmax (student_g / T))
 * (lf_distill_kl, mean over the batch) where g runs over the old outputs:
 *   - class- and domain-incremental: one group, the logits of every class
 *     seen in earlier experiences (softmax over those columns only; the new
 *     classes' logits are free);
 *   - task-incremental: one group per earlier task, that task's classes,
 *     with the batch run through the model as if it carried that task's id
 *     (so a multi-head model answers with the old head), as in the paper's
 *     multi-head setting;
 *   - a language model (continual pre-training): one group, the whole
 *     next-token distribution at every position the batch predicts.
 * The teacher's logits are computed in a no-record scope and copied into a
 * tensor of the step's scope, so they are constants of the step. */
#include <lifelong/lifelong.h>
#include <math.h>

enum {
  LWF_FIG_DIFF_START,      /* max |teacher - student| logits at the first step of the last experience */
  LWF_FIG_DISTILL_START,   /* sum_g distill at that step (before alpha)                  */
  LWF_FIG_DISTILL_LAST,    /* the same at the last step                                  */
  LWF_FIG_COUNT
};

typedef struct {
  int32_t  task;      /* the task id the batch is given for this group, or -1: as it comes */
  int64_t  n;
  int32_t *cols;      /* sorted class columns */
} LwfGroup;

typedef struct {
  double      alpha, temperature;
  LfSnapshot *teacher;       /* every parameter after the previous experience */
  LwfGroup   *groups;
  int         n_groups;
  int64_t     old_columns;   /* distilled columns in the current experience */
  gboolean    first_step;
  double      fig[LWF_FIG_COUNT];   /* figures, kept in checkpoints */
} Lwf;

static const LfParam lwf_params[] = {
  { "alpha", LF_PARAM_FLOAT, "1", 0, 1e9, NULL,
    "weight of the distillation term (Li & Hoiem's lambda_o)" },
  { "temperature", LF_PARAM_FLOAT, "2", 1e-3, 1e3, NULL,
    "softmax temperature T of the distillation; the term is scaled by T^2 (Hinton et al.)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
lwf_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  if (lf_ctx_n_experiences (ctx) < 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "lwf needs experience boundaries");
      return NULL;
    }
  Lwf *s = g_new0 (Lwf, 1);
  s->alpha = lf_params_get_float (p, "alpha");
  s->temperature = lf_params_get_float (p, "temperature");
  for (int k = 0; k < LWF_FIG_COUNT; k++)
    s->fig[k] = NAN;
  return s;
}

static void
lwf_clear_groups (Lwf *s)
{
  for (int g = 0; g < s->n_groups; g++)
    g_free (s->groups[g].cols);
  g_clear_pointer (&s->groups, g_free);
  s->n_groups = 0;
  s->old_columns = 0;
}

static void
lwf_destroy (void *self)
{
  Lwf *s = self;
  lwf_clear_groups (s);
  lf_snapshot_free (s->teacher);
  g_free (s);
}

/* seen[c] = 1 for every class label of experience k's training samples */
static void
lwf_mark_classes (LfStrategyCtx *ctx, int64_t k, uint8_t *seen, int64_t C)
{
  int64_t n;
  const int64_t *ids = lf_ctx_experience_samples (ctx, k, &n);
  g_autofree int32_t *labels = g_new (int32_t, MAX (n, 1));
  lf_ctx_labels (ctx, ids, n, labels);
  for (int64_t i = 0; i < n; i++)
    if (labels[i] >= 0 && labels[i] < C)
      seen[labels[i]] = 1;
}

static void
lwf_add_group (Lwf *s, int32_t task, const uint8_t *seen, int64_t C)
{
  int64_t n = 0;
  for (int64_t c = 0; c < C; c++)
    n += seen[c];
  if (n == 0)
    return;
  s->groups = g_renew (LwfGroup, s->groups, s->n_groups + 1);
  LwfGroup *g = &s->groups[s->n_groups++];
  g->task = task;
  g->n = n;
  g->cols = g_new (int32_t, n);
  for (int64_t c = 0, j = 0; c < C; c++)
    if (seen[c])
      g->cols[j++] = (int32_t) c;
  s->old_columns += n;
}

/* The old outputs of experience e, from the scenario (so a resumed run
 * rebuilds them without any saved state). */
static gboolean
lwf_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Lwf *s = self;
  lwf_clear_groups (s);
  s->first_step = TRUE;
  int64_t e = lf_ctx_experience (ctx), C = lf_ctx_spec (ctx)->n_classes, V = lf_ctx_spec (ctx)->vocab;
  if (e > 0 && C <= 0 && V > 0)
    {
      /* a language model: every token's logit */
      g_autofree uint8_t *all = g_malloc ((gsize) V);
      memset (all, 1, (size_t) V);
      lwf_add_group (s, -1, all, V);
      return TRUE;
    }
  if (e <= 0 || C <= 0)
    return TRUE;
  g_autofree uint8_t *seen = g_new0 (uint8_t, C);
  if (lf_ctx_spec (ctx)->multi_head)
    for (int64_t k = 0; k < e; k++)
      {
        memset (seen, 0, (size_t) C);
        lwf_mark_classes (ctx, k, seen, C);
        lwf_add_group (s, (int32_t) k, seen, C);
      }
  else
    {
      for (int64_t k = 0; k < e; k++)
        lwf_mark_classes (ctx, k, seen, C);
      lwf_add_group (s, -1, seen, C);
    }
  return TRUE;
}

/* x: (N, C) -> (N, g->n), the group's columns: x itself, a slice, or
 * x S with a 0/1 selection matrix S (C, n) (exact: one 1 per column). */
static LfTensor *
lwf_select (LfTensor *x, const LwfGroup *g)
{
  int64_t C = lf_tensor_dim (x, -1);
  if (g->n == C)
    return x;
  if (g->cols[g->n - 1] - g->cols[0] + 1 == g->n)
    return lf_slice (x, 1, g->cols[0], g->cols[0] + g->n);
  int64_t shape[2] = { C, g->n };
  LfTensor *S = lf_tensor_zeros (2, shape);
  LfReal *sd = lf_tensor_data (S);
  for (int64_t j = 0; j < g->n; j++)
    sd[g->cols[j] * g->n + j] = 1;
  return lf_matmul (x, S);
}

/* The batch as if every sample carried task id t (a copy in the step's
 * scope; the inputs are shared). */
static const LfBatch *
lwf_batch_as_task (const LfBatch *b, int32_t t)
{
  LfBatch *c = lf_scope_alloc (sizeof (LfBatch));
  memset (c, 0, sizeof (LfBatch));
  memcpy (c, b, MIN (b->struct_size, sizeof (LfBatch)));
  c->struct_size = sizeof (LfBatch);
  int32_t *ids = lf_scope_alloc (sizeof (int32_t) * (size_t) MAX (b->n, 1));
  for (int64_t i = 0; i < b->n; i++)
    ids[i] = t;
  c->task_ids = ids;
  return c;
}

/* The teacher's logits for batch, shaped like like (the student's), as a
 * constant tensor of the step's scope: the snapshot swapped in, a
 * no-record forward (no dropout), copied out, swapped back.  raw: the
 * model's own forward (no task mask), else the host's. */
static LfTensor *
lwf_teacher_logits (Lwf *s, LfStrategyCtx *ctx, const LfBatch *batch, gboolean raw, const LfTensor *like)
{
  LfModel *model = lf_ctx_model (ctx);
  LfModule *root = lf_model_root (model);
  /* allocated before the push: it must outlive the teacher's scope */
  LfTensor *t = lf_tensor_new (lf_tensor_ndim (like), lf_tensor_shape (like));
  lf_snapshot_swap (s->teacher, root);
  lf_tape_push (FALSE);
  LfModelOutput out;
  if (raw)
    lf_model_forward (model, batch, FALSE, &out);
  else
    lf_ctx_forward (ctx, batch, FALSE, &out);
  lf_tensor_copy_data (t, out.logits);   /* same shape: checked (aborts on a mismatch) */
  lf_tape_pop ();
  lf_snapshot_swap (s->teacher, root);
  return t;
}

/* A language model's logits (n, T, V) -> (k, V): the k positions the batch
 * predicts (label >= 0, kept by the loss mask), by a row gather through
 * which the gradient flows back; NULL when there are none. */
static LfTensor *
lwf_lm_rows (LfTensor *x, const LfBatch *b)
{
  int64_t n = lf_tensor_dim (x, 0), T = lf_tensor_dim (x, 1), V = lf_tensor_dim (x, 2), k = 0;
  int32_t *rows = lf_scope_alloc (sizeof (int32_t) * (size_t) MAX (n * T, 1));
  for (int64_t i = 0; i < n * T; i++)
    if (b->labels[i] >= 0 && (b->loss_mask == NULL || b->loss_mask[i]))
      rows[k++] = (int32_t) i;
  int64_t shape[2] = { n * T, V };
  return k > 0 ? lf_embedding (lf_reshape (x, 2, shape), rows, k) : NULL;
}

static double
lwf_max_abs_diff (LfTensor *a, LfTensor *b)
{
  const LfReal *x = lf_tensor_data (a), *y = lf_tensor_data (b);
  double m = 0;
  for (int64_t k = 0; k < lf_tensor_numel (a); k++)
    m = MAX (m, fabs ((double) x[k] - (double) y[k]));
  return m;
}

static LfTensor *
lwf_loss (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out, LfTensor *loss)
{
  Lwf *s = self;
  if (s->teacher == NULL || s->n_groups == 0)
    return loss;
  LfTensor *term = NULL;
  double diff = 0;
  for (int g = 0; g < s->n_groups; g++)
    {
      const LwfGroup *grp = &s->groups[g];
      LfTensor *student = out->logits, *teacher;
      if (grp->task >= 0)
        {
          /* task-incremental: the old task's outputs on the current data,
           * student and teacher alike, without the host's task mask */
          const LfBatch *bt = lwf_batch_as_task (batch, grp->task);
          LfModelOutput so;
          lf_model_forward (lf_ctx_model (ctx), bt, TRUE, &so);
          student = so.logits;
          teacher = lwf_teacher_logits (s, ctx, bt, TRUE, student);
        }
      else
        teacher = lwf_teacher_logits (s, ctx, batch, FALSE, student);
      if (s->first_step)
        diff = MAX (diff, lwf_max_abs_diff (student, teacher));
      if (lf_tensor_ndim (student) == 3)
        {
          student = lwf_lm_rows (student, batch);
          teacher = lwf_lm_rows (teacher, batch);
          if (student == NULL)
            continue;
        }
      LfTensor *d = lf_distill_kl (lwf_select (student, grp), lwf_select (teacher, grp), s->temperature);
      term = term ? lf_add (term, d) : d;
    }
  if (term == NULL)
    return loss;
  double dv = lf_tensor_data (term)[0];
  if (s->first_step)
    {
      s->fig[LWF_FIG_DIFF_START] = diff;
      s->fig[LWF_FIG_DISTILL_START] = dv;
      s->first_step = FALSE;
    }
  s->fig[LWF_FIG_DISTILL_LAST] = dv;
  if (s->alpha == 0)
    return loss;
  return lf_add (loss, lf_scale (term, s->alpha));
}

static gboolean
lwf_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Lwf *s = self;
  lf_snapshot_free (s->teacher);
  s->teacher = lf_snapshot_take (lf_model_root (lf_ctx_model (ctx)), FALSE);
  return TRUE;
}

static void
lwf_report (void *self, LfStrategyCtx *ctx)
{
  Lwf *s = self;
  const char *keys[LWF_FIG_COUNT] = { "teacher_max_abs_diff_at_start", "distill_at_start", "distill_last" };
  for (int k = 0; k < LWF_FIG_COUNT; k++)
    if (!isnan (s->fig[k]))
      lf_ctx_report_number (ctx, keys[k], s->fig[k]);
  lf_ctx_report_number (ctx, "distilled_groups", s->n_groups);
  lf_ctx_report_number (ctx, "distilled_columns", (double) s->old_columns);
}

static gboolean
lwf_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) error;
  Lwf *s = self;
  lf_state_put_int (st, "lwf.has_teacher", s->teacher != NULL);
  if (s->teacher)
    {
      g_autoptr (GPtrArray) ps = lf_model_params (lf_ctx_model (ctx), FALSE);
      for (guint i = 0; i < ps->len; i++)
        {
          const char *name = lf_tensor_name (ps->pdata[i]);
          LfTensor *t = lf_snapshot_get (s->teacher, name);
          if (t)
            {
              g_autofree char *key = g_strconcat ("teacher.", name, NULL);
              lf_state_put_tensor (st, key, t);
            }
        }
    }
  lf_state_put_bytes (st, "lwf.figures", s->fig, sizeof s->fig);
  return TRUE;
}

static gboolean
lwf_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  Lwf *s = self;
  int64_t has = 0;
  if (!lf_state_get_int (st, "lwf.has_teacher", &has))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "lwf: the checkpoint has no lwf state");
      return FALSE;
    }
  g_clear_pointer (&s->teacher, lf_snapshot_free);
  if (has)
    {
      /* the live tree's names and shapes, then the stored values */
      s->teacher = lf_snapshot_take (lf_model_root (lf_ctx_model (ctx)), FALSE);
      g_autoptr (GPtrArray) ps = lf_model_params (lf_ctx_model (ctx), FALSE);
      for (guint i = 0; i < ps->len; i++)
        {
          const char *name = lf_tensor_name (ps->pdata[i]);
          LfTensor *dst = lf_snapshot_get (s->teacher, name);
          if (dst == NULL)
            continue;
          g_autofree char *key = g_strconcat ("teacher.", name, NULL);
          g_autoptr (LfTensor) t = lf_state_get_tensor (st, key);
          if (t == NULL || lf_tensor_numel (t) != lf_tensor_numel (dst))
            {
              g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "lwf: the checkpoint %s tensor %s",
                           t ? "has another shape for" : "lacks", key);
              return FALSE;
            }
          lf_tensor_copy_data (dst, t);
        }
    }
  size_t nb;
  const void *b = lf_state_get_bytes (st, "lwf.figures", &nb);
  if (b && nb == sizeof s->fig)
    memcpy (s->fig, b, nb);
  return TRUE;
}

static size_t
lwf_memory_bytes (void *self)
{
  Lwf *s = self;
  size_t b = sizeof *s + (size_t) s->n_groups * sizeof (LwfGroup) + (size_t) s->old_columns * sizeof (int32_t);
  if (s->teacher)
    b += lf_snapshot_bytes (s->teacher);
  return b;
}

static const LfStrategyVTable lwf_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = lwf_create,
  .destroy = lwf_destroy,
  .before_experience = lwf_before_experience,
  .loss = lwf_loss,
  .after_experience = lwf_after_experience,
  .report = lwf_report,
  .save = lwf_save,
  .load = lwf_load,
  .memory_bytes = lwf_memory_bytes,
};

static const LfCapabilities lwf_caps = {
  .touches = LF_TOUCHES_LOSS,
  .needs = LF_NEEDS_BOUNDARIES,
  .supports = LF_SUPPORTS_CLASSIFICATION | LF_SUPPORTS_LANGUAGE_MODEL,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "lwf",
    .version = "0.1.0",
    .summary = "Learning without Forgetting (Li & Hoiem, ECCV 2016 / TPAMI 2017): T^2-scaled KL distillation "
               "of the old classes' logits toward the model frozen after the previous experience",
    .params = lwf_params,
    .caps = &lwf_caps,
    .vtable = &lwf_vtable,
  };
  return &info;
}
