/* lifelong plugin — strategy "inflora": InfLoRA, Interference-Free Low-Rank
 * Adaptation for Continual Learning (Liang & Li, CVPR 2024).  Each target
 * linear keeps M, an orthonormal basis (in, k) of the inputs the earlier
 * experiences gave it.  At the start of experience t the new adapter's
 * down-projection A_t (r, in) is fixed, not trained: its rows are the top-r
 * left singular vectors of  H^ = (I - M M^T) H,  H the experience's inputs to
 * that linear, scaled by 1/sqrt(3) (the row norm of a Kaiming-uniform A, as
 * the reference code).  Only B_t (and the head) train, so the update
 * dW = (alpha/r) B_t A_t has its rows in span(A_t), orthogonal to M: it
 * does not change the layer's output on the earlier experiences' inputs
 * (as far as M holds them).  After the experience, M grows by the
 * directions of the (trained model's) inputs that keep the fraction
 * threshold_t of their energy (GPM's criterion, Saha et al. 2021).
 *
 * The singular vectors of H^ are the eigenvectors of H^ H^^T = P C P with
 * C = H H^T / tr(H H^T) (accumulated over the experience's samples, in
 * double) and P = I - M M^T.  One symmetric eigendecomposition (LAPACK's
 * dsyevd) of  P C P - M M^T  gives them all at once: it is block diagonal
 * on span(M) (eigenvalue -1) and its complement (eigenvalues >= 0, the
 * energies of H^), so every vector kept is orthogonal to M to rounding. */
#include "lora-family.h"
#include <lapacke.h>
#include <math.h>

#define INFLORA_BATCH 128        /* samples per forward when collecting inputs */

typedef struct InfLora InfLora;

typedef struct {
  InfLora  *owner;
  LfModule *w;
  guint     hook;
  int64_t   d;          /* input features                                */
  double   *cov;        /* (d, d): sum over rows of x x^T                 */
  int64_t   rows;
  double   *M;          /* (d, k) row-major: orthonormal columns, or NULL */
  int64_t   k;
  LfTensor *a_fixed;    /* owned copy of A_t as fixed                     */
} InfLayer;

enum {
  INFLORA_FIG_OVERLAP,     /* max ||A_t M||_F / ||A_t||_F when A_t was fixed          */
  INFLORA_FIG_A_MOVED,     /* max |A_t after training - A_t fixed|                    */
  INFLORA_FIG_OUTSIDE,     /* max ||dW (I - proj onto span(A_t^T))||_F / ||dW||_F      */
  INFLORA_FIG_COUNT
};

struct InfLora {
  LoraFamily f;
  double     threshold, threshold_last;
  int64_t    input_samples;
  InfLayer  *layers;
  int        n_layers;
  gboolean   collecting;
  double     fig[INFLORA_FIG_COUNT];
};

static const LfParam inflora_params[] = {
  LORA_FAMILY_PARAMS ("every layers.N of an MLP, the k_proj and v_proj of every transformer layer (as InfLoRA)"),
  { "threshold", LF_PARAM_FLOAT, "0.95", 0, 1, NULL,
    "energy fraction of the first experience's inputs the subspace M keeps (the reference's lamb)" },
  { "threshold_last", LF_PARAM_FLOAT, "1", 0, 1, NULL,
    "the fraction rises linearly toward this: threshold + (threshold_last - threshold) t / T at experience t "
    "(the reference's lame)" },
  { "input_samples", LF_PARAM_INT, "0", 0, 1e9, NULL,
    "training samples of each experience whose inputs estimate H H^T (0: all of them)" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static const char *const inflora_kv[] = { "model.layers.*.self_attn.k_proj", "model.layers.*.self_attn.v_proj",
                                          NULL };
static const char *const inflora_mlp[] = { "layers.*", NULL };
static const LoraTargetSet inflora_defaults[] = { { inflora_kv }, { inflora_mlp }, { NULL } };

/* Before the wrapper's forward while collecting: cov += x^T x over the
 * rows of x (..., d), a sequence's padding positions left out. */
static LfTensor *
inflora_hook (LfModule *m, LfTensor *x, LfForward *fwd, void *user)
{
  (void) m;
  InfLayer *L = user;
  if (!L->owner->collecting)
    return x;
  int64_t d = lf_tensor_dim (x, -1), rows = lf_tensor_numel (x) / d, real = rows;
  LfTensor *x2 = lf_reshape (x, 2, (int64_t[]) { rows, d });
  const LfBatch *b = fwd->batch;
  if (b && b->tokens && rows == b->n * b->seq_len)
    {
      LfTensor *mask = lf_tensor_new (2, (int64_t[]) { rows, 1 });
      real = 0;
      for (int64_t i = 0; i < rows; i++)
        {
          gboolean keep = b->tokens[i] != LF_TOKEN_PAD;
          lf_tensor_data (mask)[i] = keep;
          real += keep;
        }
      x2 = lf_mul (x2, mask);
    }
  const LfReal *g = lf_tensor_data (lf_matmul_t (x2, TRUE, x2, FALSE));   /* (d, d) */
  for (int64_t i = 0; i < d * d; i++)
    L->cov[i] += g[i];
  L->rows += real;
  return x;
}

static void
inflora_destroy (void *self)
{
  InfLora *s = self;
  for (int i = 0; i < s->n_layers; i++)
    {
      InfLayer *L = &s->layers[i];
      if (L->hook)
        lf_module_remove_hook (L->w, L->hook);
      g_free (L->cov);
      g_free (L->M);
      lf_tensor_free (L->a_fixed);
    }
  g_free (s->layers);
  lora_family_free (s);
}

static void *
inflora_create (const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  InfLora *s = lora_family_new (sizeof (InfLora), "inflora", p, ctx, inflora_defaults, error);
  if (s == NULL)
    return NULL;
  s->threshold = lf_params_get_float (p, "threshold");
  s->threshold_last = lf_params_get_float (p, "threshold_last");
  s->input_samples = lf_params_get_int (p, "input_samples");
  s->n_layers = (int) s->f.wrappers->len;
  s->layers = g_new0 (InfLayer, s->n_layers);
  for (int i = 0; i < s->n_layers; i++)
    {
      InfLayer *L = &s->layers[i];
      L->owner = s;
      L->w = s->f.wrappers->pdata[i];
      L->d = lf_tensor_dim (lf_module_param (lf_lora_base (L->w), "weight"), 1);
      L->cov = g_new0 (double, L->d * L->d);
      L->hook = lf_module_add_pre_hook (L->w, inflora_hook, L, NULL);
    }
  return s;
}

/* Every layer's cov: the current model's inputs over experience e's
 * training samples (no dropout, no tape), normalised to trace 1. */
static void
inflora_collect (InfLora *s, LfStrategyCtx *ctx)
{
  for (int i = 0; i < s->n_layers; i++)
    {
      memset (s->layers[i].cov, 0, sizeof (double) * (size_t) (s->layers[i].d * s->layers[i].d));
      s->layers[i].rows = 0;
    }
  int64_t n;
  const int64_t *ids = lf_ctx_experience_samples (ctx, lf_ctx_experience (ctx), &n);
  if (s->input_samples > 0)
    n = MIN (n, s->input_samples);
  s->collecting = TRUE;
  for (int64_t at = 0; at < n; at += INFLORA_BATCH)
    {
      lf_tape_push (FALSE);
      LfModelOutput out;
      lf_ctx_forward (ctx, lf_ctx_batch (ctx, ids + at, MIN (INFLORA_BATCH, n - at)), FALSE, &out);
      lf_tape_pop ();
    }
  s->collecting = FALSE;
  for (int i = 0; i < s->n_layers; i++)
    {
      InfLayer *L = &s->layers[i];
      double tr = 0;
      for (int64_t j = 0; j < L->d; j++)
        tr += L->cov[j * L->d + j];
      for (int64_t j = 0; tr > 0 && j < L->d * L->d; j++)
        L->cov[j] /= tr;
    }
}

/* The energies and directions of (I - M M^T) H outside span(M): into vals
 * (descending, q of them) and vecs (d, q) row-major (column j a unit vector
 * orthogonal to M).  Returns q = d - k, or -1 when LAPACK fails. */
static int64_t
inflora_residual_eig (const InfLayer *L, double *vals, double *vecs)
{
  const int64_t d = L->d, k = L->k;
  g_autofree double *a = g_memdup2 (L->cov, sizeof (double) * (size_t) (d * d));
  g_autofree double *w = g_new (double, d);
  if (k > 0)
    {
      /* a = P C P - M M^T with P = I - M M^T, M^T M = I:
       *   = C - M (CM)^T - (CM - M G) M^T,  G = M^T C M - I  (k, k)
       * in O(d^2 k). */
      const double *M = L->M;
      g_autofree double *cm = g_new0 (double, d * k), *g = g_new0 (double, k * k), *e = g_new (double, d * k);
      for (int64_t i = 0; i < d; i++)
        for (int64_t j = 0; j < d; j++)
          for (int64_t c = 0; c < k; c++)
            cm[i * k + c] += L->cov[i * d + j] * M[j * k + c];
      for (int64_t j = 0; j < d; j++)
        for (int64_t c = 0; c < k; c++)
          for (int64_t c2 = 0; c2 < k; c2++)
            g[c * k + c2] += M[j * k + c] * cm[j * k + c2];
      for (int64_t c = 0; c < k; c++)
        g[c * k + c] -= 1;
      for (int64_t i = 0; i < d; i++)
        for (int64_t c = 0; c < k; c++)
          {
            double v = cm[i * k + c];
            for (int64_t c2 = 0; c2 < k; c2++)
              v -= M[i * k + c2] * g[c2 * k + c];
            e[i * k + c] = v;
          }
      for (int64_t i = 0; i < d; i++)
        for (int64_t j = 0; j < d; j++)
          {
            double v = 0;
            for (int64_t c = 0; c < k; c++)
              v += M[i * k + c] * cm[j * k + c] + e[i * k + c] * M[j * k + c];
            a[i * d + j] -= v;
          }
    }
  if (LAPACKE_dsyevd (LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int) d, a, (lapack_int) d, w) != 0)
    return -1;
  /* ascending: the d - k largest are the complement's, largest first */
  const int64_t q = d - k;
  for (int64_t j = 0; j < q; j++)
    {
      int64_t src = d - 1 - j;
      vals[j] = MAX (w[src], 0.0);
      for (int64_t i = 0; i < d; i++)
        vecs[i * q + j] = a[i * d + src];
    }
  return q;
}

static gboolean
inflora_lapack_error (GError **error, const InfLayer *L)
{
  g_autofree char *path = lf_module_path (L->w);
  g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "strategy inflora: the eigendecomposition of %s's inputs failed "
               "(LAPACK dsyevd)", path);
  return FALSE;
}

/* A_t = the top-r directions of (I - M M^T) H, / sqrt(3); rows past d - k
 * are zero.  Frozen; a copy kept to check that it never moves. */
static gboolean
inflora_fix_a (InfLora *s, InfLayer *L, GError **error)
{
  const int64_t d = L->d, r = s->f.rank;
  g_autofree double *vals = g_new (double, d), *vecs = g_new (double, d * d);
  int64_t q = inflora_residual_eig (L, vals, vecs);
  if (q < 0)
    return inflora_lapack_error (error, L);
  LfTensor *A = lf_lora_A (L->w, s->f.n - 1);
  LfReal *a = lf_tensor_data (A);
  double na = 0, nam = 0;
  for (int64_t row = 0; row < r; row++)
    for (int64_t i = 0; i < d; i++)
      {
        a[row * d + i] = row < q ? (LfReal) (vecs[i * q + row] / sqrt (3.0)) : 0;
        na += (double) a[row * d + i] * a[row * d + i];
      }
  for (int64_t row = 0; row < r; row++)     /* ||A M||_F^2 */
    for (int64_t c = 0; c < L->k; c++)
      {
        double dot = 0;
        for (int64_t i = 0; i < d; i++)
          dot += (double) a[row * d + i] * L->M[i * L->k + c];
        nam += dot * dot;
      }
  if (na > 0)
    s->fig[INFLORA_FIG_OVERLAP] = MAX (s->fig[INFLORA_FIG_OVERLAP], sqrt (nam / na));
  lf_tensor_set_requires_grad (A, FALSE);
  lf_tensor_free (L->a_fixed);
  L->a_fixed = lf_tensor_clone_owned (A);
  return TRUE;
}

static gboolean
inflora_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  InfLora *s = self;
  inflora_collect (s, ctx);
  lora_family_begin (&s->f, ctx);
  for (int i = 0; i < s->n_layers; i++)
    if (!inflora_fix_a (s, &s->layers[i], error))
      return FALSE;
  lora_family_recount (&s->f, ctx);
  return TRUE;
}

/* After training: A_t unmoved, and dW = B A_t with no part outside
 * span(A_t^T) (the rows of A_t are orthogonal, of norm 1/sqrt(3) or 0). */
static void
inflora_check (InfLora *s, InfLayer *L)
{
  LfTensor *A = lf_lora_A (L->w, s->f.n - 1), *B = lf_lora_B (L->w, s->f.n - 1);
  const LfReal *a = lf_tensor_data (A), *b = lf_tensor_data (B), *a0 = lf_tensor_data (L->a_fixed);
  const int64_t r = lf_tensor_dim (A, 0), d = L->d, out = lf_tensor_dim (B, 0);
  for (int64_t i = 0; i < r * d; i++)
    s->fig[INFLORA_FIG_A_MOVED] = MAX (s->fig[INFLORA_FIG_A_MOVED], fabs ((double) a[i] - a0[i]));
  g_autofree double *dw = g_new0 (double, out * d), *da = g_new0 (double, out * r);
  for (int64_t o = 0; o < out; o++)
    for (int64_t c = 0; c < r; c++)
      for (int64_t i = 0; i < d; i++)
        dw[o * d + i] += (double) b[o * r + c] * a[c * d + i];
  for (int64_t o = 0; o < out; o++)      /* dW A^T */
    for (int64_t c = 0; c < r; c++)
      for (int64_t i = 0; i < d; i++)
        da[o * r + c] += dw[o * d + i] * a[c * d + i];
  double n_all = 0, n_out = 0;
  for (int64_t o = 0; o < out; o++)      /* dW - 3 (dW A^T) A */
    for (int64_t i = 0; i < d; i++)
      {
        double v = dw[o * d + i];
        for (int64_t c = 0; c < r; c++)
          v -= 3 * da[o * r + c] * a[c * d + i];
        n_all += dw[o * d + i] * dw[o * d + i];
        n_out += v * v;
      }
  if (n_all > 0)
    s->fig[INFLORA_FIG_OUTSIDE] = MAX (s->fig[INFLORA_FIG_OUTSIDE], sqrt (n_out / n_all));
}

/* GPM's update: add the top directions of (I - M M^T) H until the part of
 * H's energy inside M reaches the threshold. */
static gboolean
inflora_extend (InfLayer *L, double threshold, GError **error)
{
  const int64_t d = L->d;
  g_autofree double *vals = g_new (double, d), *vecs = g_new (double, d * d);
  int64_t q = inflora_residual_eig (L, vals, vecs);
  if (q < 0)
    return inflora_lapack_error (error, L);
  double residual = 0;
  for (int64_t j = 0; j < q; j++)
    residual += vals[j];
  double kept = 1 - residual;   /* the energy M already holds (tr C = 1) */
  int64_t add = 0;
  while (add < q && kept < threshold)
    kept += vals[add++];
  if (add == 0)
    return TRUE;
  double *M = g_new (double, d * (L->k + add));
  for (int64_t i = 0; i < d; i++)
    {
      for (int64_t c = 0; c < L->k; c++)
        M[i * (L->k + add) + c] = L->M[i * L->k + c];
      for (int64_t c = 0; c < add; c++)
        M[i * (L->k + add) + L->k + c] = vecs[i * q + c];
    }
  g_free (L->M);
  L->M = M;
  L->k += add;
  return TRUE;
}

static gboolean
inflora_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  InfLora *s = self;
  for (int i = 0; i < s->n_layers; i++)
    inflora_check (s, &s->layers[i]);
  int64_t T = MAX (lf_ctx_n_experiences (ctx), 1), t = lf_ctx_experience (ctx);
  double threshold = s->threshold + (s->threshold_last - s->threshold) * (double) t / (double) T;
  inflora_collect (s, ctx);
  for (int i = 0; i < s->n_layers; i++)
    if (!inflora_extend (&s->layers[i], threshold, error))
      return FALSE;
  return TRUE;
}

static void
inflora_report (void *self, LfStrategyCtx *ctx)
{
  InfLora *s = self;
  lora_family_report (&s->f, ctx);
  g_autoptr (GString) dims = g_string_new ("[");
  for (int i = 0; i < s->n_layers; i++)
    g_string_append_printf (dims, "%s%" G_GINT64_FORMAT, i ? ", " : "", s->layers[i].k);
  g_string_append (dims, "]");
  lf_ctx_report_json (ctx, "subspace_dims", dims->str);
  lf_ctx_report_number (ctx, "a_overlap_with_old_subspace_max", s->fig[INFLORA_FIG_OVERLAP]);
  lf_ctx_report_number (ctx, "a_moved_max", s->fig[INFLORA_FIG_A_MOVED]);
  lf_ctx_report_number (ctx, "update_outside_span_max", s->fig[INFLORA_FIG_OUTSIDE]);
}

static gboolean
inflora_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)
{
  (void) ctx; (void) error;
  InfLora *s = self;
  lora_family_save (&s->f, st);
  for (int i = 0; i < s->n_layers; i++)
    {
      g_autofree char *key = g_strdup_printf ("inflora.M.%d", i);
      lf_state_put_bytes (st, key, s->layers[i].M, sizeof (double) * (size_t) (s->layers[i].d * s->layers[i].k));
    }
  lf_state_put_bytes (st, "inflora.figures", s->fig, sizeof s->fig);
  return TRUE;
}

static gboolean
inflora_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)
{
  InfLora *s = self;
  if (!lora_family_load (&s->f, ctx, st, error))
    return FALSE;
  for (int i = 0; i < s->n_layers; i++)
    {
      InfLayer *L = &s->layers[i];
      g_autofree char *key = g_strdup_printf ("inflora.M.%d", i);
      size_t nb = 0;
      const void *m = lf_state_get_bytes (st, key, &nb);
      if (m == NULL || nb % (sizeof (double) * (size_t) L->d) != 0)
        {
          g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "strategy inflora: the checkpoint has no %s of this "
                       "model's shape", key);
          return FALSE;
        }
      g_free (L->M);
      L->k = (int64_t) (nb / (sizeof (double) * (size_t) L->d));
      L->M = L->k > 0 ? g_memdup2 (m, nb) : NULL;
      /* the fixed A stays frozen in a resumed run too */
      lf_tensor_set_requires_grad (lf_lora_A (L->w, s->f.n - 1), FALSE);
    }
  size_t nb = 0;
  const void *fig = lf_state_get_bytes (st, "inflora.figures", &nb);
  if (fig && nb == sizeof s->fig)
    memcpy (s->fig, fig, nb);
  return TRUE;
}

static size_t
inflora_memory_bytes (void *self)
{
  InfLora *s = self;
  size_t b = sizeof *s;
  for (int i = 0; i < s->n_layers; i++)
    b += sizeof (double) * (size_t) (s->layers[i].d * (s->layers[i].d + s->layers[i].k));
  return b;
}

static const LfStrategyVTable inflora_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = inflora_create,
  .destroy = inflora_destroy,
  .before_experience = inflora_before_experience,
  .after_experience = inflora_after_experience,
  .report = inflora_report,
  .save = inflora_save,
  .load = inflora_load,
  .memory_bytes = inflora_memory_bytes,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "inflora",
    .version = "0.1.0",
    .summary = "InfLoRA (Liang & Li, CVPR 2024): per experience a LoRA whose down-projection is fixed to the new "
               "inputs' directions outside the earlier experiences' input subspace (SVD, GPM threshold); only B trains",
    .params = inflora_params,
    .caps = &lora_family_caps,
    .vtable = &inflora_vtable,
  };
  return &info;
}
