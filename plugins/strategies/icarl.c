/* lifelong plugin — strategy "icarl": incremental Classifier and
 * Representation Learning.  A fixed budget of exemplars, chosen per class by
 * herding on L2-normalised features; training replays them and distils the
 * previous model's sigmoid outputs on the old classes; prediction is the
 * nearest mean of exemplars. */
#include <lifelong/lifelong.h>
#include <lifelong/toolkit/snapshot.h>
#include <math.h>

#define ICARL_CHUNK 256            /* samples per feature-extraction forward */
#define ICARL_MASKED(v) ((v) < (LfReal) -1e8)   /* the host's task mask adds -1e9 */

typedef struct {
  int64_t  K, replay_batch, C;
  double   distill_weight;
  gboolean sigmoid;         /* the paper's loss: one sigmoid BCE over the seen classes */
  GArray **ex;              /* (C): exemplar ids of each class in herding order, or NULL */
  uint8_t *seen;            /* (C): classes trained so far (after after_experience) */
  uint8_t *old;             /* (C): classes seen before the current experience */
  uint8_t *cur;             /* (C): classes of the current experience */
  int64_t  n_old;
  LfSnapshot *teacher;      /* the model at the end of the previous experience */
  int64_t  d;               /* feature width (0 until the first features) */
  double  *means;           /* (C, d) L2-normalised means of exemplars, for prediction */
  uint8_t *has_mean;        /* (C) */
  /* this step (memory of the step's scope) */
  const LfReal *q;          /* (rows, C) teacher sigmoid outputs, or NULL */
  int64_t  q_rows;
  /* figures */
  int64_t  herded_classes, first_not_nearest;
  double   first_gap_max;   /* max over herded classes of dist(first) - min dist: 0 */
  double   herd_err_sum, rand_err_sum;
  double   distill_sum;
  int64_t  distill_steps;
} Icarl;

static const LfParam icarl_params[] = {
  { "memory_size", LF_PARAM_INT, "500", 1, 1e9, NULL,
    "exemplars kept over all classes (K); each seen class keeps K / classes_seen" },
  { "replay_batch_size", LF_PARAM_INT, "0", 0, 1e9, NULL,
    "exemplars appended to every batch (0: as many as the current batch has)" },
  { "classification", LF_PARAM_STRING, "\"sigmoid\"", 0, 0, "sigmoid|softmax",
    "sigmoid: the paper's loss, one binary cross-entropy per seen class (one-hot targets for the new "
    "classes, the previous model's sigmoid outputs for the old); softmax: the scenario's cross-entropy "
    "plus that distillation term on the old classes" },
  { "distill_weight", LF_PARAM_FLOAT, "1", 0, 1e6, NULL,
    "weight of the old classes' binary cross-entropy against the previous model's sigmoid outputs" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void *
icarl_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  int64_t C = lf_ctx_spec (ctx)->n_classes;
  if (C <= 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                   "icarl: needs a classifier (the model has %" G_GINT64_FORMAT " classes)", C);
      return NULL;
    }
  Icarl *s = g_new0 (Icarl, 1);
  s->K = lf_params_get_int (p, "memory_size");
  s->replay_batch = lf_params_get_int (p, "replay_batch_size");
  s->distill_weight = lf_params_get_float (p, "distill_weight");
  s->sigmoid = g_str_equal (lf_params_get_string (p, "classification"), "sigmoid");
  s->C = C;
  s->ex = g_new0 (GArray *, C);
  s->seen = g_new0 (uint8_t, C);
  s->old = g_new0 (uint8_t, C);
  s->cur = g_new0 (uint8_t, C);
  s->has_mean = g_new0 (uint8_t, C);
  return s;
}

static void
icarl_destroy (void *self)
{
  Icarl *s = self;
  for (int64_t c = 0; c < s->C; c++)
    if (s->ex[c])
      g_array_unref (s->ex[c]);
  g_free (s->ex);
  g_free (s->seen);
  g_free (s->old);
  g_free (s->cur);
  g_free (s->has_mean);
  g_free (s->means);
  lf_snapshot_free (s->teacher);
  g_free (s);
}

/* ---- features ------------------------------------------------------------- */

/* L2-normalised features of n training samples into F (n x d, double),
 * evaluation-mode forwards in no-record scopes.  Sets s->d the first time;
 * FALSE with error when the model gives no features. */
static gboolean
icarl_features (Icarl *s, LfStrategyCtx *ctx, const int64_t *ids, int64_t n, double **F, GError **error)
{
  *F = NULL;
  for (int64_t at = 0; at < n; at += ICARL_CHUNK)
    {
      int64_t b = MIN (ICARL_CHUNK, n - at);
      lf_tape_push (FALSE);
      LfBatch *batch = lf_ctx_batch (ctx, ids + at, b);
      LfModelOutput out = { 0 };
      lf_ctx_forward (ctx, batch, FALSE, &out);
      if (out.features == NULL || lf_tensor_ndim (out.features) != 2 || (s->d > 0 && lf_tensor_dim (out.features, 1) != s->d))
        {
          lf_tape_pop ();
          g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                       "icarl: the model's forward gives no (n, d) features%s", s->d > 0 ? " of the width it gave before" : "");
          g_clear_pointer (F, g_free);
          return FALSE;
        }
      if (s->d == 0)
        s->d = lf_tensor_dim (out.features, 1);
      if (*F == NULL)
        *F = g_new (double, MAX (n * s->d, 1));
      const LfReal *f = lf_tensor_data (out.features);
      for (int64_t i = 0; i < b; i++)
        {
          double *row = *F + (at + i) * s->d, nrm = 0;
          for (int64_t k = 0; k < s->d; k++)
            {
              row[k] = f[i * s->d + k];
              nrm += row[k] * row[k];
            }
          nrm = sqrt (nrm);
          for (int64_t k = 0; k < s->d; k++)
            row[k] = nrm > 0 ? row[k] / nrm : 0;
        }
      lf_tape_pop ();
    }
  return TRUE;
}

static double
icarl_dist2 (const double *a, const double *b, int64_t d)
{
  double s = 0;
  for (int64_t k = 0; k < d; k++)
    s += (a[k] - b[k]) * (a[k] - b[k]);
  return s;
}

/* || mu - mean of the rows of F listed in pick[0..m) || */
static double
icarl_mean_error (const double *F, const double *mu, const int64_t *pick, int64_t m, int64_t d)
{
  g_autofree double *acc = g_new0 (double, d);
  for (int64_t j = 0; j < m; j++)
    for (int64_t k = 0; k < d; k++)
      acc[k] += F[pick[j] * d + k] / (double) m;
  return sqrt (icarl_dist2 (acc, mu, d));
}

/* Herding (Welling 2009, iCaRL's Algorithm 4): the k-th exemplar is the
 * candidate that brings the mean of the chosen ones closest to the class
 * mean mu.  F: (n, d) normalised features; pick: m row indices, in order. */
static void
icarl_herd (const double *F, int64_t n, int64_t d, const double *mu, int64_t m, int64_t *pick)
{
  g_autofree double *sum = g_new0 (double, d);
  g_autofree double *cand = g_new (double, d);
  g_autofree uint8_t *taken = g_new0 (uint8_t, n);
  for (int64_t k = 0; k < m; k++)
    {
      int64_t best = -1;
      double best_d = INFINITY;
      for (int64_t i = 0; i < n; i++)
        {
          if (taken[i])
            continue;
          for (int64_t j = 0; j < d; j++)
            cand[j] = (sum[j] + F[i * d + j]) / (double) (k + 1);
          double dist = icarl_dist2 (cand, mu, d);
          if (dist < best_d)
            best_d = dist, best = i;
        }
      pick[k] = best;
      taken[best] = 1;
      for (int64_t j = 0; j < d; j++)
        sum[j] += F[best * d + j];
    }
}

/* ---- hooks ------------------------------------------------------------------ */

/* The model as it ended the previous experience becomes the teacher; the
 * classes seen so far become the old ones. */
static gboolean
icarl_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  Icarl *s = self;
  memcpy (s->old, s->seen, (size_t) s->C);
  s->n_old = 0;
  for (int64_t c = 0; c < s->C; c++)
    s->n_old += s->old[c];
  int64_t n;
  const int64_t *samples = lf_ctx_experience_samples (ctx, lf_ctx_experience (ctx), &n);
  g_autofree int32_t *labels = g_new (int32_t, MAX (n, 1));
  lf_ctx_labels (ctx, samples, n, labels);
  memset (s->cur, 0, (size_t) s->C);
  for (int64_t i = 0; i < n; i++)
    {
      if (labels[i] < 0 || labels[i] >= s->C)
        {
          g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "icarl: sample %" G_GINT64_FORMAT " has label %d, "
                       "outside the model's %" G_GINT64_FORMAT " classes", samples[i], labels[i], s->C);
          return FALSE;
        }
      s->cur[labels[i]] = 1;
    }
  g_clear_pointer (&s->teacher, lf_snapshot_free);
  if (s->n_old > 0)
    s->teacher = lf_snapshot_take (lf_model_root (lf_ctx_model (ctx)), FALSE);
  return TRUE;
}

/* [current | exemplars]; with a teacher, its sigmoid outputs on the whole
 * batch are computed here, before the student's forward is recorded. */
static LfBatch *
icarl_before_batch (void *self, LfStrategyCtx *ctx, LfBatch *batch)
{
  Icarl *s = self;
  s->q = NULL;
  s->q_rows = 0;
  int64_t total = 0;
  for (int64_t c = 0; c < s->C; c++)
    total += s->ex[c] ? (int64_t) s->ex[c]->len : 0;
  int64_t want = MIN (s->replay_batch > 0 ? s->replay_batch : batch->n, total);
  if (want > 0)
    {
      int64_t *flat = lf_scope_alloc ((size_t) total * sizeof (int64_t)), at = 0;
      for (int64_t c = 0; c < s->C; c++)
        if (s->ex[c] && s->ex[c]->len > 0)
          {
            memcpy (flat + at, s->ex[c]->data, s->ex[c]->len * sizeof (int64_t));
            at += s->ex[c]->len;
          }
      LfRng r;
      lf_rng_init (&r, lf_ctx_rng_key (ctx, "icarl-replay"));
      for (int64_t k = 0; k < want; k++)
        {
          int64_t j = k + (int64_t) lf_rng_below (&r, (uint64_t) (total - k)), t = flat[k];
          flat[k] = flat[j];
          flat[j] = t;
        }
      batch = lf_ctx_concat_batches (ctx, batch, lf_ctx_batch (ctx, flat, want));
    }
  if (s->teacher == NULL || s->n_old == 0 || s->distill_weight == 0)
    return batch;
  int64_t n = batch->n, C = s->C;
  LfReal *q = lf_scope_alloc ((size_t) (n * C) * sizeof (LfReal));   /* outlives the scope below */
  LfModule *root = lf_model_root (lf_ctx_model (ctx));
  lf_tape_push (FALSE);
  lf_snapshot_swap (s->teacher, root);
  LfModelOutput out = { 0 };
  lf_ctx_forward (ctx, batch, FALSE, &out);
  const LfReal *L = lf_tensor_data (out.logits);
  for (int64_t i = 0; i < n * C; i++)
    q[i] = (LfReal) (1.0 / (1.0 + exp (-(double) L[i])));
  lf_snapshot_swap (s->teacher, root);
  lf_tape_pop ();
  s->q = q;
  s->q_rows = n;
  return batch;
}

/* Binary cross-entropy with logits, column-weighted:
 *   sum_i sum_c w_c (softplus(z_ic) - t_ic z_ic) / count
 * (softplus(z) - t z = -t log s(z) - (1 - t) log(1 - s(z)), computed without
 * overflow).  in: logits (N, C) -> (1); d/dz = w_c (s(z) - t) / count. */
typedef struct {
  const LfReal *t;       /* (N, C) targets */
  const double *w;       /* (C) column weights; 0: the column is left out */
  int64_t N, C;
  double  count;
} IcarlBce;

static void
icarl_bce_forward (void *ctx, int n_inputs, LfTensor *const *in, LfTensor *out)
{
  (void) n_inputs;
  const IcarlBce *b = ctx;
  const LfReal *z = lf_tensor_data (in[0]);
  double acc = 0;
  for (int64_t i = 0; i < b->N; i++)
    for (int64_t c = 0; c < b->C; c++)
      if (b->w[c] != 0)
        {
          double x = z[i * b->C + c];
          acc += b->w[c] * (fmax (x, 0) + log1p (exp (-fabs (x))) - (double) b->t[i * b->C + c] * x);
        }
  lf_tensor_data (out)[0] = (LfReal) (acc / b->count);
}

static void
icarl_bce_backward (void *ctx, int n_inputs, LfTensor *const *in, LfTensor *out, const LfReal *out_grad,
                    LfReal *const *in_grads)
{
  (void) n_inputs; (void) out;
  const IcarlBce *b = ctx;
  if (in_grads[0] == NULL)
    return;
  const LfReal *z = lf_tensor_data (in[0]);
  double g = (double) out_grad[0] / b->count;
  for (int64_t i = 0; i < b->N; i++)
    for (int64_t c = 0; c < b->C; c++)
      if (b->w[c] != 0)
        {
          int64_t k = i * b->C + c;
          double sig = 1.0 / (1.0 + exp (-(double) z[k]));
          in_grads[0][k] += (LfReal) (g * b->w[c] * (sig - (double) b->t[k]));
        }
}

static const LfCustomOp icarl_bce_op = {
  .struct_size = sizeof (LfCustomOp),
  .name = "icarl-bce",
  .forward = icarl_bce_forward,
  .backward = icarl_bce_backward,
};

/* sigmoid: the paper's loss replaces the scenario's: a BCE over the
 * classes seen so far, targets one-hot on the new classes and the teacher's
 * sigmoid outputs q on the old ones (weighted by distill_weight), averaged
 * over rows and those classes.  softmax: the scenario's cross-entropy plus
 * distill_weight x the BCE against q averaged over the old classes only. */
static LfTensor *
icarl_loss (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out, LfTensor *loss)
{
  (void) ctx;
  Icarl *s = self;
  int64_t N = batch->n, C = s->C;
  g_return_val_if_fail (lf_tensor_ndim (out->logits) == 2 && lf_tensor_dim (out->logits, 1) == C, loss);
  g_return_val_if_fail (s->q == NULL || s->q_rows == N, loss);
  if (!s->sigmoid && s->q == NULL)
    return loss;
  const LfReal *z = lf_tensor_data (out->logits);
  LfReal *t = lf_scope_alloc ((size_t) (N * C) * sizeof (LfReal));
  double *w = lf_scope_alloc ((size_t) C * sizeof (double));
  int64_t cols = 0;
  for (int64_t c = 0; c < C; c++)
    {
      gboolean old = s->old[c] && s->q != NULL;
      w[c] = old ? s->distill_weight : s->sigmoid && (s->cur[c] || s->old[c]) ? 1 : 0;
      cols += old || (s->sigmoid && (s->cur[c] || s->old[c]));
    }
  double distill = 0;
  for (int64_t i = 0; i < N; i++)
    for (int64_t c = 0; c < C; c++)
      {
        int64_t k = i * C + c;
        if (s->old[c] && s->q != NULL)
          {
            t[k] = s->q[k];
            double x = z[k];
            distill += fmax (x, 0) + log1p (exp (-fabs (x))) - (double) t[k] * x;
          }
        else
          t[k] = batch->labels[i] == c ? 1 : 0;
      }
  if (s->q != NULL && s->n_old > 0)
    {
      s->distill_sum += distill / (double) (N * s->n_old);
      s->distill_steps++;
    }
  if (cols == 0)
    return loss;
  IcarlBce *b = lf_scope_alloc (sizeof (IcarlBce));
  *b = (IcarlBce) { .t = t, .w = w, .N = N, .C = C, .count = (double) (N * cols) };
  int64_t one = 1;
  LfTensor *in[1] = { out->logits };
  LfTensor *bce = lf_custom (&icarl_bce_op, b, 1, in, 1, &one);
  return s->sigmoid ? bce : lf_add (loss, bce);
}

/* Exemplars for the new classes (herding with the model just trained),
 * earlier classes cut to the first m of theirs, then the class means the
 * prediction uses. */
static gboolean
icarl_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  Icarl *s = self;
  int64_t e = lf_ctx_experience (ctx), n;
  const int64_t *samples = lf_ctx_experience_samples (ctx, e, &n);
  g_autofree int32_t *labels = g_new (int32_t, MAX (n, 1));
  lf_ctx_labels (ctx, samples, n, labels);
  g_autofree uint8_t *fresh = g_new0 (uint8_t, s->C);
  for (int64_t i = 0; i < n; i++)
    {
      if (labels[i] < 0 || labels[i] >= s->C)
        {
          g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "icarl: sample %" G_GINT64_FORMAT " has label %d, "
                       "outside the model's %" G_GINT64_FORMAT " classes", samples[i], labels[i], s->C);
          return FALSE;
        }
      fresh[labels[i]] = !s->seen[labels[i]];
    }
  int64_t n_seen = 0;
  for (int64_t c = 0; c < s->C; c++)
    {
      s->seen[c] |= fresh[c];
      n_seen += s->seen[c];
    }
  if (n_seen == 0)
    return TRUE;
  int64_t m = s->K / n_seen;
  /* earlier classes keep the first m of theirs: herding order makes every
   * prefix a good approximation of the mean */
  for (int64_t c = 0; c < s->C; c++)
    if (s->ex[c] && !fresh[c] && (int64_t) s->ex[c]->len > m)
      g_array_set_size (s->ex[c], (guint) m);

  LfRng r;
  lf_rng_init (&r, lf_ctx_rng_key (ctx, "icarl-random-subset"));
  for (int64_t c = 0; c < s->C; c++)
    {
      if (!fresh[c])
        continue;
      int64_t nc = 0;
      for (int64_t i = 0; i < n; i++)
        nc += labels[i] == c;
      g_autofree int64_t *ids = g_new (int64_t, MAX (nc, 1));
      for (int64_t i = 0, k = 0; i < n; i++)
        if (labels[i] == c)
          ids[k++] = samples[i];
      g_autofree double *F = NULL;
      if (!icarl_features (s, ctx, ids, nc, &F, error))
        return FALSE;
      int64_t d = s->d, mc = MIN (m, nc);
      g_autofree double *mu = g_new0 (double, d);
      for (int64_t i = 0; i < nc; i++)
        for (int64_t k = 0; k < d; k++)
          mu[k] += F[i * d + k] / (double) nc;
      g_autofree int64_t *pick = g_new (int64_t, MAX (mc, 1));
      icarl_herd (F, nc, d, mu, mc, pick);
      if (s->ex[c])
        g_array_unref (s->ex[c]);
      s->ex[c] = g_array_sized_new (FALSE, FALSE, sizeof (int64_t), (guint) mc);
      for (int64_t k = 0; k < mc; k++)
        g_array_append_val (s->ex[c], ids[pick[k]]);
      if (mc == 0)
        continue;
      /* the defining property, checked independently: the first exemplar is
       * the candidate nearest the class mean; and the herded set's mean is
       * closer to the class mean than a random set of the same size */
      double first = icarl_dist2 (F + pick[0] * d, mu, d), nearest = INFINITY;
      for (int64_t i = 0; i < nc; i++)
        nearest = MIN (nearest, icarl_dist2 (F + i * d, mu, d));
      s->first_not_nearest += first > nearest;
      s->first_gap_max = MAX (s->first_gap_max, sqrt (first) - sqrt (nearest));
      g_autofree int64_t *perm = g_new (int64_t, nc);
      for (int64_t i = 0; i < nc; i++)
        perm[i] = i;
      for (int64_t k = 0; k < mc; k++)
        {
          int64_t j = k + (int64_t) lf_rng_below (&r, (uint64_t) (nc - k)), t = perm[k];
          perm[k] = perm[j];
          perm[j] = t;
        }
      s->herd_err_sum += icarl_mean_error (F, mu, pick, mc, d);
      s->rand_err_sum += icarl_mean_error (F, mu, perm, mc, d);
      s->herded_classes++;
    }

  /* nearest-mean-of-exemplars: each class's mean feature over its
   * exemplars under the current model, normalised again */
  for (int64_t c = 0; c < s->C; c++)
    {
      s->has_mean[c] = 0;
      if (!s->ex[c] || s->ex[c]->len == 0)
        continue;
      g_autofree double *F = NULL;
      int64_t nc = s->ex[c]->len;
      if (!icarl_features (s, ctx, (const int64_t *) s->ex[c]->data, nc, &F, error))
        return FALSE;
      if (s->means == NULL)
        s->means = g_new0 (double, s->C * s->d);
      double *mu = s->means + c * s->d, nrm = 0;
      memset (mu, 0, (size_t) s->d * sizeof (double));
      for (int64_t i = 0; i < nc; i++)
        for (int64_t k = 0; k < s->d; k++)
          mu[k] += F[i * s->d + k] / (double) nc;
      for (int64_t k = 0; k < s->d; k++)
        nrm += mu[k] * mu[k];
      nrm = sqrt (nrm);
      for (int64_t k = 0; k < s->d; k++)
        mu[k] = nrm > 0 ? mu[k] / nrm : 0;
      s->has_mean[c] = 1;
    }
  return TRUE;
}

/* The nearest class mean to the normalised feature, among the classes the
 * (task-masked) logits allow; the arg-max of the logits when no class has
 * exemplars. */
static void
icarl_predict (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out, int32_t *pred)
{
  (void) ctx;
  Icarl *s = self;
  int64_t n = batch->n, C = s->C, d = s->d;
  const LfReal *L = lf_tensor_data (out->logits);
  gboolean nme = s->means != NULL && out->features != NULL && lf_tensor_dim (out->features, -1) == d;
  const LfReal *F = nme ? lf_tensor_data (out->features) : NULL;
  g_autofree double *x = g_new (double, MAX (d, 1));
  for (int64_t i = 0; i < n; i++)
    {
      int32_t best = -1;
      if (nme)
        {
          double nrm = 0, best_d = INFINITY;
          for (int64_t k = 0; k < d; k++)
            {
              x[k] = F[i * d + k];
              nrm += x[k] * x[k];
            }
          nrm = sqrt (nrm);
          for (int64_t k = 0; k < d; k++)
            x[k] = nrm > 0 ? x[k] / nrm : 0;
          for (int64_t c = 0; c < C; c++)
            {
              if (!s->has_mean[c] || ICARL_MASKED (L[i * C + c]))
                continue;
              double dist = icarl_dist2 (x, s->means + c * d, d);
              if (dist < best_d)
                best_d = dist, best = (int32_t) c;
            }
        }
      if (best < 0)
        {
          best = 0;
          for (int64_t c = 1; c < C; c++)
            if (L[i * C + c] > L[i * C + best])
              best = (int32_t) c;
        }
      pred[i] = best;
    }
}

static void
icarl_report (void *self, LfStrategyCtx *ctx)
{
  Icarl *s = self;
  g_autoptr (GString) js = g_string_new ("[");
  int64_t total = 0;
  for (int64_t c = 0; c < s->C; c++)
    {
      int64_t k = s->ex[c] ? (int64_t) s->ex[c]->len : 0;
      total += k;
      g_string_append_printf (js, "%s%" G_GINT64_FORMAT, c ? ", " : "", k);
    }
  g_string_append_c (js, ']');
  lf_ctx_report_json (ctx, "exemplars_per_class", js->str);
  lf_ctx_report_number (ctx, "exemplars", (double) total);
  lf_ctx_report_number (ctx, "memory_size", (double) s->K);
  lf_ctx_report_number (ctx, "herded_classes", (double) s->herded_classes);
  lf_ctx_report_number (ctx, "herding_first_is_nearest", s->herded_classes > 0 && s->first_not_nearest == 0);
  lf_ctx_report_number (ctx, "herding_first_gap", s->first_gap_max);
  if (s->herded_classes > 0)
    {
      lf_ctx_report_number (ctx, "herding_mean_error", s->herd_err_sum / (double) s->herded_classes);
      lf_ctx_report_number (ctx, "random_mean_error", s->rand_err_sum / (double) s->herded_classes);
    }
  lf_ctx_report_number (ctx, "distill_bce_mean", s->distill_steps ? s->distill_sum / (double) s->distill_steps : 0);
}

/* ---- checkpoints: the exemplar sets, the classes seen and the figures; the
 * teacher is the restored model itself (taken again in before_experience)
 * and the means are recomputed by the next after_experience. */

static gboolean
icarl_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  Icarl *s = self;
  g_autofree int64_t *counts = g_new0 (int64_t, s->C);
  int64_t total = 0;
  for (int64_t c = 0; c < s->C; c++)
    {
      counts[c] = s->ex[c] ? (int64_t) s->ex[c]->len : -1;   /* -1: no set yet */
      total += MAX (counts[c], 0);
    }
  g_autofree int64_t *ids = g_new (int64_t, MAX (total, 1));
  int64_t at = 0;
  for (int64_t c = 0; c < s->C; c++)
    if (s->ex[c] && s->ex[c]->len > 0)
      {
        memcpy (ids + at, s->ex[c]->data, s->ex[c]->len * sizeof (int64_t));
        at += s->ex[c]->len;
      }
  lf_state_put_bytes (st, "icarl.counts", counts, (size_t) s->C * sizeof (int64_t));
  lf_state_put_int (st, "icarl.total", at);
  if (at > 0)
    lf_state_put_bytes (st, "icarl.ids", ids, (size_t) at * sizeof (int64_t));
  lf_state_put_bytes (st, "icarl.seen", s->seen, (size_t) s->C);
  double fig[7] = { (double) s->herded_classes, (double) s->first_not_nearest, s->first_gap_max,
                    s->herd_err_sum, s->rand_err_sum, s->distill_sum, (double) s->distill_steps };
  lf_state_put_bytes (st, "icarl.figures", fig, sizeof fig);
  return TRUE;
}

static gboolean
icarl_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  (void) ctx;
  Icarl *s = self;
  size_t nc = 0, ni = 0, ns = 0, nf = 0;
  int64_t total = -1;
  const void *counts = lf_state_get_bytes (st, "icarl.counts", &nc);
  const void *seen = lf_state_get_bytes (st, "icarl.seen", &ns);
  const void *ids = NULL;
  gboolean ok = counts && seen && nc == (size_t) s->C * sizeof (int64_t) && ns == (size_t) s->C
                && lf_state_get_int (st, "icarl.total", &total) && total >= 0;
  if (ok && total > 0)
    ok = (ids = lf_state_get_bytes (st, "icarl.ids", &ni)) != NULL && ni == (size_t) total * sizeof (int64_t);
  g_autofree int64_t *c = ok ? g_memdup2 (counts, nc) : NULL;
  int64_t sum = 0;
  for (int64_t k = 0; ok && k < s->C; k++)
    if (c[k] > 0)
      sum += c[k];
  if (!ok || sum != total)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                   "icarl: the checkpoint's exemplars (icarl.counts, icarl.ids, icarl.seen) are missing or inconsistent");
      return FALSE;
    }
  const int64_t *all = ids;
  for (int64_t k = 0, at = 0; k < s->C; k++)
    {
      if (s->ex[k])
        g_array_unref (s->ex[k]);
      s->ex[k] = NULL;
      if (c[k] < 0)
        continue;
      s->ex[k] = g_array_sized_new (FALSE, FALSE, sizeof (int64_t), (guint) c[k]);
      if (c[k] > 0)
        g_array_append_vals (s->ex[k], all + at, (guint) c[k]);
      at += c[k];
    }
  memcpy (s->seen, seen, ns);
  const void *fig = lf_state_get_bytes (st, "icarl.figures", &nf);
  if (fig && nf == 7 * sizeof (double))
    {
      double f[7];
      memcpy (f, fig, sizeof f);
      s->herded_classes = (int64_t) f[0];
      s->first_not_nearest = (int64_t) f[1];
      s->first_gap_max = f[2];
      s->herd_err_sum = f[3];
      s->rand_err_sum = f[4];
      s->distill_sum = f[5];
      s->distill_steps = (int64_t) f[6];
    }
  return TRUE;
}

static size_t
icarl_memory_bytes (void *self)
{
  Icarl *s = self;
  size_t bytes = sizeof *s + (size_t) s->C * (sizeof (GArray *) + 3);
  for (int64_t c = 0; c < s->C; c++)
    if (s->ex[c])
      bytes += sizeof (GArray) + s->ex[c]->len * sizeof (int64_t);
  if (s->means)
    bytes += (size_t) (s->C * s->d) * sizeof (double);
  if (s->teacher)
    bytes += lf_snapshot_bytes (s->teacher);
  return bytes;
}

static const LfStrategyVTable icarl_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = icarl_create,
  .destroy = icarl_destroy,
  .before_experience = icarl_before_experience,
  .before_batch = icarl_before_batch,
  .loss = icarl_loss,
  .after_experience = icarl_after_experience,
  .predict = icarl_predict,
  .report = icarl_report,
  .save = icarl_save,
  .load = icarl_load,
  .memory_bytes = icarl_memory_bytes,
};

static const char *const icarl_scenarios[] = { "class-incremental", "task-incremental", NULL };

/* Exemplars are chosen and the teacher is taken at experience boundaries;
 * classes arrive once (a class-incremental method: in a domain-incremental
 * scenario the labels would come back with new data and no new herding). */
static const LfCapabilities icarl_caps = {
  .touches = LF_TOUCHES_DATA | LF_TOUCHES_LOSS | LF_TOUCHES_INFERENCE,
  .needs = LF_NEEDS_BOUNDARIES | LF_NEEDS_LABELS,
  .supports = LF_SUPPORTS_CLASSIFICATION,
  .scenarios = icarl_scenarios,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "icarl",
    .version = "0.1.0",
    .summary = "iCaRL: herding exemplars, sigmoid distillation from the previous model, nearest-mean-of-exemplars "
               "prediction (Rebuffi, Kolesnikov, Sperl, Lampert, \"iCaRL: Incremental Classifier and "
               "Representation Learning\", CVPR 2017)",
    .params = icarl_params,
    .caps = &icarl_caps,
    .vtable = &icarl_vtable,
  };
  return &info;
}
