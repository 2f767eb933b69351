/* lifelong plugins — the WISE editor both WISE plugins share
 * (wise-editor.h; docs/editing.md, "wise").
 *
 * Memories.  The main memory is model.layers.L.mlp.down_proj.weight W, which
 * nothing ever writes.  A side memory S starts as a copy of W.  It has k
 * shards, each a full copy V_j of W with a random mask M_j of density rho
 * (wise-ops.c): an edit goes to one shard (edits_per_shard consecutive
 * edits each, the shards in turn) and trains only V_j's masked weights,
 * with the forward through V_j alone.  After the edit, S = W + TIES (V_j - W
 * over the shards that hold edits).
 *
 * Routing.  A post-hook on the layer scores each sequence for each side
 * memory: s(x) = max over its (non-padding) positions t of
 * ||A(x_t) (S - W)^T||_2, A(x_t) the layer's input (the gated activation);
 * the sequence takes the most activated side memory whose score exceeds the
 * memory's threshold (act_ratio times the smallest score of its edits, each
 * measured right after its edit's merge), else the main memory.  A batch in
 * which no sequence passes gets the layer's output tensor itself.
 *
 * Training.  During an edit's steps the hook returns A(x) V_j^T at every
 * position and the sequence's score s(x) under V_j (a custom op, whose
 * gradient goes to the arg-max position); the loss hook adds WISE's margin
 * loss on the edit and `irrelevant` knowledge-base texts x_i:
 *   mean_i relu (s(x_i) - alpha) + relu (beta - s(x_e))
 *   + mean_i relu (gamma - (s(x_e) - s(x_i))). */
#include "wise-editor.h"
#include "wise-ops.h"
#include <math.h>
#include <string.h>

typedef struct {
  LfTensor  *side;          /* (d, ff), owned: S */
  LfReal   **shard;         /* k: V_j (d * ff), NULL until the shard's first edit; freed when the memory closes */
  uint8_t  **mask;          /* k: M_j */
  int64_t   *shard_edits;   /* k */
  int64_t    n_edits;
  GArray    *edit_ids;      /* the training ids of its edits (replay) */
  double     score_min;     /* the smallest score of its edits after their merge */
  double     eps;           /* act_ratio * score_min */
  int64_t    k;
} WiseMemory;

/* What a probing forward collects: for each sequence, each memory's score
 * and the router's choice (-1: the main memory). */
typedef struct {
  int64_t  nseq;
  double  *scores;          /* (nseq, n_memories) */
  int32_t *choice;          /* (nseq) */
} WiseProbe;

typedef struct {
  FtEdit     ft;
  const char *name;
  gboolean   retrieve;
  gboolean   mean;          /* score: the mean over positions (else the max) */
  double     rho, density, act_ratio, alpha, beta, gamma;
  int64_t    k, per_shard, per_memory, n_irr, replay;
  gboolean   replay_answer;
  gboolean   through_memory;  /* an edit trains S + its shard's change, not V_j alone */
  uint64_t   mask_key;
  LfModule  *layer;
  LfTensor  *w;             /* the main memory (borrowed from the model) */
  int64_t    d, ff, numel;
  GPtrArray *mems;          /* WiseMemory */
  int64_t    n_edits;
  /* during an edit */
  LfModule  *holder;        /* model.layers.L.mlp.wise: holds V, the trained shard */
  LfTensor  *v;
  int64_t    cur_mem, cur_shard;
  int64_t   *irr_ids;       /* the edit's irrelevant texts */
  int64_t    irr_n;
  LfTensor  *last_score;    /* the training forward's scores, (nseq) */
  WiseProbe *probe;
  /* figures */
  GArray    *edit_scores;   /* each edit's score after its merge */
  int64_t    ties_dropped, eval_side, eval_main;
  double     last_margin_loss;
} Wise;

static void
wise_memory_free (gpointer p)
{
  WiseMemory *m = p;
  lf_tensor_free (m->side);
  for (int64_t j = 0; j < m->k; j++)
    {
      g_free (m->shard[j]);
      g_free (m->mask[j]);
    }
  g_free (m->shard);
  g_free (m->mask);
  g_free (m->shard_edits);
  g_array_unref (m->edit_ids);
  g_free (m);
}

/* ---- the hook ---------------------------------------------------------------- */

static LfTensor *
wise_hook (LfModule *m, LfTensor *x, LfTensor *y, LfForward *fwd, void *user)
{
  (void) m;
  Wise *s = user;
  int64_t rows = lf_tensor_numel (y) / s->d;
  int64_t nseq = 1, T = rows;
  const int32_t *tok = NULL;
  const LfBatch *b = fwd ? fwd->batch : NULL;
  if (b && b->tokens && b->n * b->seq_len == rows)
    {
      nseq = b->n;
      T = b->seq_len;
      tok = b->tokens;
    }
  if (s->v)
    {
      /* an edit's steps: the shard alone, everywhere; its scores for the loss */
      LfTensor *z = lf_linear (x, s->v, NULL);
      s->last_score = wise_activation_score (z, y, nseq, T, tok, s->mean);
      return z;
    }
  int64_t M = s->mems->len;
  gboolean any_mem = FALSE;
  for (int64_t mi = 0; mi < M; mi++)
    any_mem |= ((WiseMemory *) s->mems->pdata[mi])->n_edits > 0;
  if (!any_mem && s->probe == NULL)
    return y;
  const LfReal *yd = lf_tensor_data (y);
  double *best = g_new (double, nseq);
  int32_t *choice = g_new (int32_t, nseq);
  for (int64_t i = 0; i < nseq; i++)
    {
      best[i] = -1;
      choice[i] = -1;
    }
  LfTensor *res = NULL;
  for (int64_t mi = 0; mi < M; mi++)
    {
      WiseMemory *mem = s->mems->pdata[mi];
      if (mem->n_edits == 0 && s->probe == NULL)
        continue;
      LfTensor *z = lf_linear (x, mem->side, NULL);
      const LfReal *zd = lf_tensor_data (z);
      const LfReal *scores = lf_tensor_data (wise_activation_score (z, y, nseq, T, tok, s->mean));
      for (int64_t i = 0; i < nseq; i++)
        {
          double sc = scores[i];
          if (s->probe)
            s->probe->scores[i * M + mi] = sc;
          if (mem->n_edits > 0 && sc > mem->eps && sc > best[i])
            {
              best[i] = sc;
              choice[i] = (int32_t) mi;
              if (res == NULL)
                {
                  res = lf_tensor_new (lf_tensor_ndim (y), lf_tensor_shape (y));
                  memcpy (lf_tensor_data (res), yd, (size_t) (rows * s->d) * sizeof (LfReal));
                }
              memcpy (lf_tensor_data (res) + i * T * s->d, zd + i * T * s->d, (size_t) (T * s->d) * sizeof (LfReal));
            }
        }
    }
  for (int64_t i = 0; i < nseq; i++)
    {
      if (s->probe)
        s->probe->choice[i] = choice[i];
      else if (choice[i] >= 0)
        s->eval_side++;
      else
        s->eval_main++;
    }
  g_free (best);
  g_free (choice);
  return res ? res : y;   /* no sequence routed: bitwise the layer's output */
}

/* The router's decision (and every memory's score) for n training samples,
 * in batches, without a tape: choice (n) and scores (n, memories) or NULL. */
static void
wise_route (Wise *s, LfStrategyCtx *ctx, const int64_t *ids, int64_t n, int32_t *choice, double *scores)
{
  const int64_t B = 32, M = s->mems->len;
  for (int64_t at = 0; at < n; at += B)
    {
      int64_t nb = MIN (B, n - at);
      lf_tape_push (FALSE);
      WiseProbe pr = { nb, g_new0 (double, MAX (nb * M, 1)), choice + at };
      s->probe = &pr;
      LfBatch *b = lf_ctx_batch (ctx, ids + at, nb);
      LfModelOutput out;
      lf_ctx_forward (ctx, b, FALSE, &out);
      s->probe = NULL;
      if (scores)
        memcpy (scores + at * M, pr.scores, (size_t) (nb * M) * sizeof (double));
      g_free (pr.scores);
      lf_tape_pop ();
    }
}

/* ---- the strategy ---------------------------------------------------------------- */

void
wise_editor_destroy (void *self)
{
  Wise *s = self;
  if (s->holder)
    {
      lf_module_detach (s->holder);
      lf_module_free (s->holder);
    }
  if (s->mems)
    g_ptr_array_unref (s->mems);
  if (s->edit_scores)
    g_array_unref (s->edit_scores);
  g_free (s->irr_ids);
  ft_edit_clear (&s->ft);
  g_free (s);
}

void *
wise_editor_create (const LfParams *p, LfStrategyCtx *ctx, gboolean retrieve, const char *name, GError **error)
{
  Wise *s = g_new0 (Wise, 1);
  s->name = name;
  s->retrieve = retrieve;
  s->mems = g_ptr_array_new_with_free_func (wise_memory_free);
  s->edit_scores = g_array_new (FALSE, FALSE, sizeof (double));
  if (!ft_edit_init (&s->ft, p, ctx, error))
    {
      g_prefix_error (error, "%s: ", name);
      wise_editor_destroy (s);
      return NULL;
    }
  LfModule *root = lf_model_root (lf_ctx_model (ctx));
  lf_module_freeze (root, "*", TRUE);   /* the main memory too: only the side memory trains */
  s->rho = lf_params_get_float (p, "rho");
  s->density = lf_params_get_float (p, "merge_density");
  s->act_ratio = lf_params_get_float (p, "act_ratio");
  s->alpha = lf_params_get_float (p, "alpha");
  s->beta = lf_params_get_float (p, "beta");
  s->gamma = lf_params_get_float (p, "gamma");
  s->k = lf_params_get_int (p, "shards");
  s->per_shard = lf_params_get_int (p, "edits_per_shard");
  s->n_irr = lf_params_get_int (p, "irrelevant");
  s->replay = lf_params_get_int (p, "replay");
  s->replay_answer = lf_params_get_bool (p, "replay_answer");
  s->through_memory = lf_params_get_bool (p, "through_memory");
  const char *score = lf_params_get_string (p, "score");
  if (!g_str_equal (score, "max") && !g_str_equal (score, "mean"))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "strategy.score: \"%s\" is not max or mean", score);
      wise_editor_destroy (s);
      return NULL;
    }
  s->mean = g_str_equal (score, "mean");
  s->per_memory = retrieve ? lf_params_get_int (p, "edits_per_memory") : 0;
  s->irr_ids = g_new (int64_t, MAX (s->n_irr, 1));
  /* the table's ranges include 0; a subspace or a trim of nothing is not an edit */
  if (!(s->rho > 0 && s->rho <= 1))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                   "strategy.rho: %g is out of range (0 < rho <= 1: the fraction of the side memory a shard trains)",
                   s->rho);
      wise_editor_destroy (s);
      return NULL;
    }
  if (!(s->density > 0 && s->density <= 1))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                   "strategy.merge_density: %g is out of range (0 < merge_density <= 1)", s->density);
      wise_editor_destroy (s);
      return NULL;
    }
  g_autofree char *path = g_strdup_printf ("model.layers.%" G_GINT64_FORMAT ".mlp.down_proj", s->ft.layer);
  s->layer = lf_module_find (root, path);
  s->w = s->layer ? lf_module_param (s->layer, "weight") : NULL;
  if (s->w == NULL || lf_tensor_ndim (s->w) != 2)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "strategy %s: %s is not a linear layer", name, path);
      wise_editor_destroy (s);
      return NULL;
    }
  s->d = lf_tensor_dim (s->w, 0);
  s->ff = lf_tensor_dim (s->w, 1);
  s->numel = s->d * s->ff;
  s->mask_key = lf_ctx_rng_key (ctx, "wise-masks");
  lf_module_add_post_hook (s->layer, wise_hook, s, NULL);
  return s;
}

static WiseMemory *
wise_memory_new (Wise *s)
{
  WiseMemory *m = g_new0 (WiseMemory, 1);
  m->side = lf_tensor_clone_owned (s->w);
  m->shard = g_new0 (LfReal *, s->k);
  m->mask = g_new0 (uint8_t *, s->k);
  m->shard_edits = g_new0 (int64_t, s->k);
  m->k = s->k;
  m->edit_ids = g_array_new (FALSE, FALSE, sizeof (int64_t));
  m->score_min = INFINITY;
  m->eps = INFINITY;
  return m;
}

/* The edit's irrelevant inputs (as EasyEdit's WISE takes one locality
 * prompt per edit): `irrelevant` knowledge-base texts drawn at random for
 * the edit, fixed for its steps, leaving out texts whose prompt is the
 * edit's own (the fact being edited, in the same phrasing: what the edit
 * must change, not keep). */
static void
wise_draw_irrelevant (Wise *s, LfStrategyCtx *ctx)
{
  int64_t n_ref, n;
  const int64_t *ref = lf_ctx_reference_samples (ctx, &n_ref);
  const int64_t *ids = lf_ctx_experience_samples (ctx, lf_ctx_experience (ctx), &n);
  s->irr_n = 0;
  if (n_ref == 0 || s->n_irr == 0)
    return;
  lf_tape_push (FALSE);
  LfBatch *e = lf_ctx_batch (ctx, ids, 1);
  int64_t prompt = 0;   /* the edit's prompt: the tokens before its first label */
  while (prompt < e->seq_len && e->labels[prompt] == -100)
    prompt++;
  LfRng rng;
  lf_rng_init (&rng, lf_ctx_rng_key (ctx, "wise-irrelevant"));
  for (int64_t tries = 0; s->irr_n < s->n_irr && tries < 4 * s->n_irr; tries++)
    {
      int64_t id = ref[lf_rng_below (&rng, (uint64_t) n_ref)];
      LfBatch *r = lf_ctx_batch (ctx, &id, 1);
      if (r->seq_len >= prompt && memcmp (r->tokens, e->tokens, (size_t) (prompt + 1) * sizeof (int32_t)) == 0)
        continue;
      s->irr_ids[s->irr_n++] = id;
    }
  lf_tape_pop ();
}

/* The edit's memory and shard; a module holding V_j, trainable on M_j only;
 */
gboolean
wise_editor_before_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  Wise *s = self;
  int64_t n;
  lf_ctx_experience_samples (ctx, lf_ctx_experience (ctx), &n);
  if (n != 1)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "strategy %s: an edit is one sample, got %" G_GINT64_FORMAT,
                   s->name, n);
      return FALSE;
    }
  s->cur_mem = s->retrieve ? s->n_edits / s->per_memory : 0;
  while ((int64_t) s->mems->len <= s->cur_mem)
    g_ptr_array_add (s->mems, wise_memory_new (s));
  WiseMemory *mem = s->mems->pdata[s->cur_mem];
  s->cur_shard = (mem->n_edits / s->per_shard) % s->k;
  int64_t j = s->cur_shard;
  if (mem->shard[j] == NULL)
    {
      mem->shard[j] = g_memdup2 (lf_tensor_data (s->w), (gsize) s->numel * sizeof (LfReal));
      mem->mask[j] = g_new (uint8_t, s->numel);
      wise_shard_mask (mem->mask[j], s->numel, s->rho,
                       lf_rng_key (s->mask_key, (uint64_t) s->cur_mem, (uint64_t) j, 0, "wise-shard"));
    }
  if (s->ft.steps > 0)
    {
      s->holder = lf_module_new ("wise", LF_MODULE_CUSTOM, NULL, NULL);
      int64_t shape[2] = { s->d, s->ff };
      s->v = lf_module_add_param (s->holder, "weight", 2, shape);
      /* the shard alone (the paper's independent shards), or the side memory
       * as merged so far, whose masked weights the edit moves */
      memcpy (lf_tensor_data (s->v), s->through_memory ? lf_tensor_data (mem->side) : mem->shard[j],
              (size_t) s->numel * sizeof (LfReal));
      lf_module_add_child (lf_module_parent (s->layer), s->holder);
      lf_optimizer_set_mask (lf_ctx_optimizer (ctx), s->v, mem->mask[j]);
    }
  wise_draw_irrelevant (s, ctx);
  return TRUE;
}

gboolean
wise_editor_select_training (void *self, LfStrategyCtx *ctx, LfSelection *sel, GError **error)
{
  (void) ctx; (void) error;
  ft_edit_select (&((Wise *) self)->ft, sel);
  return TRUE;
}

/* The task loss plus WISE's margin loss on the activation scores. */
LfTensor *
wise_editor_loss (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out, LfTensor *loss)
{
  (void) batch; (void) out;
  Wise *s = self;
  if (s->v == NULL || s->last_score == NULL)
    return loss;
  LfTensor *edit = s->last_score;   /* (1) */
  int64_t one[1] = { 1 };
  edit = lf_reshape (lf_slice (edit, 0, 0, 1), 1, one);
  /* relu (beta - s(x_e)) */
  LfTensor *margin = lf_relu (lf_add_scalar (lf_scale (edit, -1), s->beta));
  if (s->irr_n > 0)
    {
      LfBatch *b = lf_ctx_batch (ctx, s->irr_ids, s->irr_n);
      LfModelOutput o;
      lf_ctx_forward (ctx, b, TRUE, &o);
      LfTensor *irr = s->last_score;  /* (irr_n) */
      LfTensor *below = lf_mean (lf_relu (lf_add_scalar (irr, -s->alpha)));
      LfTensor *gap = lf_mean (lf_relu (lf_add_scalar (lf_sub (irr, edit), s->gamma)));
      margin = lf_add (margin, lf_reshape (lf_add (below, gap), 1, one));
    }
  /* replay (WISE's appendix B.3): earlier edits of the same memory keep
   * their activation above beta (and, with replay_answer, their answer) */
  WiseMemory *mem = s->mems->pdata[s->cur_mem];
  int64_t n_old = mem->edit_ids->len;
  if (s->replay > 0 && n_old > 0)
    {
      int64_t nr = MIN (s->replay, n_old);
      int64_t *rid = lf_scope_alloc ((size_t) nr * sizeof (int64_t));
      LfRng rng;
      lf_rng_init (&rng, lf_ctx_rng_key (ctx, "wise-replay"));
      for (int64_t i = 0; i < nr; i++)
        rid[i] = g_array_index (mem->edit_ids, int64_t, nr == n_old ? i : (int64_t) lf_rng_below (&rng, (uint64_t) n_old));
      LfBatch *b = lf_ctx_batch (ctx, rid, nr);
      LfModelOutput o;
      lf_ctx_forward (ctx, b, TRUE, &o);
      LfTensor *old = s->last_score;   /* (nr) */
      LfTensor *keep = lf_mean (lf_relu (lf_add_scalar (lf_scale (old, -1), s->beta)));
      margin = lf_add (margin, lf_reshape (keep, 1, one));
      if (s->replay_answer)
        margin = lf_add (margin, lf_reshape (lf_ctx_task_loss (ctx, b, &o), 1, one));
    }
  s->last_margin_loss = lf_tensor_data (margin)[0];
  s->last_score = NULL;
  return lf_add (loss, lf_reshape (margin, lf_tensor_ndim (loss), lf_tensor_shape (loss)));
}

/* V_j back into its shard, TIES into the side memory, the edit's score
 * under the merged memory into the threshold. */
gboolean
wise_editor_after_experience (void *self, LfStrategyCtx *ctx, GError **error)
{
  (void) error;
  Wise *s = self;
  WiseMemory *mem = s->mems->pdata[s->cur_mem];
  int64_t j = s->cur_shard;
  if (s->holder)
    {
      const LfReal *v = lf_tensor_data (s->v), *side = lf_tensor_data (mem->side);
      if (s->through_memory)
        for (int64_t i = 0; i < s->numel; i++)
          mem->shard[j][i] += v[i] - side[i];   /* zero off the mask */
      else
        memcpy (mem->shard[j], v, (size_t) s->numel * sizeof (LfReal));
      lf_optimizer_set_mask (lf_ctx_optimizer (ctx), s->v, NULL);
      lf_module_detach (s->holder);
      lf_module_free (s->holder);
      s->holder = NULL;
      s->v = NULL;
    }
  s->last_score = NULL;
  mem->shard_edits[j]++;
  mem->n_edits++;
  {
    int64_t ne;
    const int64_t *eid = lf_ctx_experience_samples (ctx, lf_ctx_experience (ctx), &ne);
    g_array_append_val (mem->edit_ids, eid[0]);
  }
  s->n_edits++;
  g_autofree const LfReal **thetas = g_new (const LfReal *, s->k);
  int nt = 0;
  for (int64_t i = 0; i < s->k; i++)
    if (mem->shard_edits[i] > 0)
      thetas[nt++] = mem->shard[i];
  s->ties_dropped += wise_ties_merge (lf_tensor_data (s->w), thetas, nt, s->numel, s->density, 1.0,
                                     lf_tensor_data (mem->side));
  /* the edit's activation score under the merged memory */
  int64_t n;
  const int64_t *ids = lf_ctx_experience_samples (ctx, lf_ctx_experience (ctx), &n);
  int64_t M = s->mems->len;
  int32_t choice;
  double *scores = g_new (double, M);
  wise_route (s, ctx, ids, 1, &choice, scores);
  double sc = scores[s->cur_mem];
  g_free (scores);
  g_array_append_val (s->edit_scores, sc);
  mem->score_min = MIN (mem->score_min, sc);
  mem->eps = s->act_ratio * mem->score_min;
  /* a full memory of wise-retrieve keeps only its merged side memory */
  if (s->retrieve && mem->n_edits == s->per_memory)
    for (int64_t i = 0; i < s->k; i++)
      {
        g_clear_pointer (&mem->shard[i], g_free);
        g_clear_pointer (&mem->mask[i], g_free);
      }
  return TRUE;
}

void
wise_editor_report (void *self, LfStrategyCtx *ctx)
{
  Wise *s = self;
  int64_t M = s->mems->len;
  lf_ctx_report_number (ctx, "layer", (double) s->ft.layer);
  lf_ctx_report_number (ctx, "side_memories", (double) M);
  lf_ctx_report_number (ctx, "ties_dropped", (double) s->ties_dropped);
  lf_ctx_report_number (ctx, "margin_loss_last", s->last_margin_loss);
  double eps = 0, smin = INFINITY, smean = 0;
  for (int64_t i = 0; i < M; i++)
    eps += ((WiseMemory *) s->mems->pdata[i])->eps / (double) M;
  for (guint i = 0; i < s->edit_scores->len; i++)
    {
      double v = g_array_index (s->edit_scores, double, i);
      smin = MIN (smin, v);
      smean += v / s->edit_scores->len;
    }
  lf_ctx_report_number (ctx, "threshold_mean", M ? eps : 0);
  lf_ctx_report_number (ctx, "edit_score_min", s->edit_scores->len ? smin : 0);
  lf_ctx_report_number (ctx, "edit_score_mean", smean);
  lf_ctx_report_number (ctx, "eval_routed_side", (double) s->eval_side);
  lf_ctx_report_number (ctx, "eval_routed_main", (double) s->eval_main);
  g_autofree char *path = lf_module_path (s->layer);
  g_autofree char *q = g_strdup_printf ("\"%s\"", path);
  lf_ctx_report_json (ctx, "side_memory_layer", q);
  if (M == 0)
    return;
  /* the router on the knowledge base (what the base model knew) and on the
   * edits' own prompts */
  int64_t n_ref;
  const int64_t *ref = lf_ctx_reference_samples (ctx, &n_ref);
  int32_t *choice = g_new (int32_t, MAX (n_ref, 1));
  double *scores = g_new (double, MAX (n_ref * M, 1));
  wise_route (s, ctx, ref, n_ref, choice, scores);
  GString *ids = g_string_new ("[");
  int64_t side = 0;
  double kb_max = 0;
  for (int64_t i = 0; i < n_ref; i++)
    {
      for (int64_t m = 0; m < M; m++)
        kb_max = MAX (kb_max, scores[i * M + m]);
      if (choice[i] < 0)
        continue;
      g_string_append_printf (ids, "%s%" G_GINT64_FORMAT, side ? ", " : "", ref[i]);
      side++;
    }
  g_string_append (ids, "]");
  lf_ctx_report_number (ctx, "kb_routed_side", (double) side);
  lf_ctx_report_number (ctx, "kb_texts", (double) n_ref);
  lf_ctx_report_number (ctx, "kb_score_max", kb_max);
  lf_ctx_report_json (ctx, "kb_routed_side_ids", ids->str);
  g_string_free (ids, TRUE);
  g_free (choice);
  g_free (scores);
  int64_t n_edit;
  g_autofree int64_t *edits = lf_ctx_samples_through (ctx, lf_ctx_experience (ctx), &n_edit);
  choice = g_new (int32_t, MAX (n_edit, 1));
  wise_route (s, ctx, edits, n_edit, choice, NULL);
  int64_t edit_side = 0;
  for (int64_t i = 0; i < n_edit; i++)
    edit_side += choice[i] >= 0;
  lf_ctx_report_number (ctx, "edits_routed_side", (double) edit_side);
  g_free (choice);
}

size_t
wise_editor_memory_bytes (void *self)
{
  Wise *s = self;
  size_t bytes = 0;
  for (guint i = 0; i < s->mems->len; i++)
    {
      WiseMemory *m = s->mems->pdata[i];
      bytes += (size_t) s->numel * sizeof (LfReal);
      for (int64_t j = 0; j < s->k; j++)
        bytes += (m->shard[j] ? (size_t) s->numel * sizeof (LfReal) : 0) + (m->mask[j] ? (size_t) s->numel : 0);
    }
  return bytes;
}
