/* lifelong — one run: config -> plugins -> scenario -> training with the
 * strategy's hooks in their documented order -> the accuracy matrix ->
 * metrics -> a result file written atomically.  Everything that can be
 * checked is checked before training starts. */
#include "run.h"
#include "config.h"
#include "checkpoint.h"
#include "resolve.h"
#include "json-write.h"
#include "model-dir.h"
#include "editing.h"
#include "instruct.h"
#include "cache.h"
#include "run-online.h"
#include <lifelong/metrics.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>
#include <glib/gstdio.h>

#define HAS_SLOT(vt, type, field) \
  ((vt)->struct_size >= G_STRUCT_OFFSET (type, field) + sizeof (void *) && (vt)->field != NULL)
#define S_HAS(run, field) HAS_SLOT ((run)->svt, LfStrategyVTable, field)

typedef struct {
  const LfRunOptions *o;
  JsonObject   *cfg;
  LfPluginRegistry *reg;
  const LfPluginInfo *mi, *si, *di;
  LfParams     *mp, *sp, *dp, *scp, *tp;
  uint64_t      seed;
  int           threads;
  LfDataset    *ds;
  LfScenario   *sc;
  LfModel      *model;
  LfOptimizer  *opt;
  const LfStrategyVTable *svt;
  void         *strat;
  int64_t       trainable;   /* trainable parameters while the last experience trained; -1 before */
  LfStrategyCtx ctx;
  LfSchedule    sched;
  double        base_lr;
  /* results */
  GArray       *rows;       /* double, T per row */
  GArray       *vrows;      /* the same on the validation parts (when there are any) */
  GArray       *row_exp;    /* int64: the experience each row follows */
  GArray       *novelty;    /* double per row: open-world novelty AUROC */
  double       *baseline;
  double        t_train, t_eval;
  int64_t       train_samples;
  int64_t       train_tokens;
  FILE         *steplog;
  gboolean      tty;
  gint64        t_start;
  char         *config_hash;
  LfResolved    res;          /* owns mi..tp above */
  char         *ckpt_path;
  int64_t       first_exp;    /* > 0 when resumed */
  LfEditingEval *editing;     /* knowledge-editing: the measurements */
  double        t_edit;       /* knowledge-editing: seconds spent applying edits */
  gboolean      cache_trained;/* model.checkpoint from the cache: trained by this run */
  LfOnlineCurve *curve;       /* online streams and label noise: what the host measures */
  gboolean      stream_on;    /* online: this experience trains on the stream itself */
  GArray       *carry;        /* withheld online: a task's last, partial batch, trained with the next task's */
  LfInstructEval *instruct;   /* instruction-tuning: generations, token accuracy, general loss */
  double       *instruct_tok; /* instruction-tuning: the row being measured's token accuracies */
  LfFeedback   *feedback;     /* feedback: the stream's recurrences, the rounds, repeat errors */
} Run;

/* ---- small helpers ---- */

static double
now_s (void)
{
  return (double) g_get_monotonic_time () / 1e6;
}

gboolean
lf_write_file_atomic (const char *path, const char *data, size_t len, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  /* hidden, and named after its file: lf_remove_stale_temporaries */
  g_autofree char *tmp_name = g_strconcat (".", base, ".tmp-XXXXXX", NULL);
  g_autofree char *tmpl = g_build_filename (dir, tmp_name, NULL);
  int fd = g_mkstemp (tmpl);
  if (fd < 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "%s: cannot write in %s: %s", path, dir,
                   g_strerror (errno));
      return FALSE;
    }
  size_t done = 0;
  while (done < len)
    {
      ssize_t w = write (fd, data + done, len - done);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        {
          int e = errno;
          close (fd);
          unlink (tmpl);
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "%s: write failed: %s", path, g_strerror (e));
          return FALSE;
        }
      done += (size_t) w;
    }
  if (fsync (fd) != 0 || close (fd) != 0)
    {
      int e = errno;
      unlink (tmpl);
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "%s: cannot flush to disk: %s", path, g_strerror (e));
      return FALSE;
    }
  if (rename (tmpl, path) != 0)
    {
      int e = errno;
      unlink (tmpl);
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "%s: cannot rename into place: %s", path, g_strerror (e));
      return FALSE;
    }
  int dfd = open (dir, O_RDONLY);
  if (dfd >= 0)
    {
      fsync (dfd);
      close (dfd);
    }
  return TRUE;
}

void
lf_remove_stale_temporaries (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *hidden = g_strconcat (".", base, ".tmp-", NULL);
  g_autofree char *plain = g_strconcat (base, ".tmp-", NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  for (const char *name; d != NULL && (name = g_dir_read_name (d)) != NULL;)
    {
      /* exactly PREFIX + the six characters g_mkstemp puts for XXXXXX */
      const char *prefix = g_str_has_prefix (name, hidden) ? hidden : g_str_has_prefix (name, plain) ? plain : NULL;
      if (prefix == NULL || strlen (name) != strlen (prefix) + 6)
        continue;
      g_autofree char *stale = g_build_filename (dir, name, NULL);
      g_unlink (stale);
    }
}

static void
sync_optimizer (Run *r)
{
  g_autoptr (GPtrArray) ps = lf_model_params (r->model, FALSE);
  lf_optimizer_set_params (r->opt, (int) ps->len, (LfTensor *const *) ps->pdata);
}

static void
progress (Run *r, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
progress (Run *r, const char *fmt, ...)
{
  if (r->o->quiet)
    return;
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (r->tty)
    fprintf (stderr, "\r\033[K%s", msg);
  else
    fprintf (stderr, "%s\n", msg);
  fflush (stderr);
}

/* ---- setup: everything checked before any training ---- */

static gboolean
check_output (const char *out, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (out);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "--out %s: %s %s", out, dir,
                   g_file_test (dir, G_FILE_TEST_EXISTS) ? "is not a directory" : "does not exist");
      return FALSE;
    }
  if (access (dir, W_OK) != 0)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "--out %s: directory %s is not writable", out, dir);
      return FALSE;
    }
  return TRUE;
}

static gboolean load_state (Run *r, GError **error);

static gboolean
setup (Run *r, GError **error)
{
  const LfRunOptions *o = r->o;
  r->cfg = lf_config_load (o->config_path, error);
  if (r->cfg == NULL)
    return FALSE;
  for (int i = 0; o->sets && o->sets[i]; i++)
    if (!lf_config_set (r->cfg, o->sets[i], error))
      return FALSE;
  if (o->threads > 0)
    json_object_set_int_member (r->cfg, "threads", o->threads);
  if (!lf_config_check_top (r->cfg, o->config_path, error))
    return FALSE;
  if (o->out_path && !check_output (o->out_path, error))
    return FALSE;
  if (o->save_model_dir && g_file_test (o->save_model_dir, G_FILE_TEST_EXISTS)
      && !g_file_test (o->save_model_dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "--save-model %s: exists and is not a folder",
                   o->save_model_dir);
      return FALSE;
    }
  r->reg = lf_registry_new ();
  g_auto (GStrv) dirs = lf_plugin_search_path (o->plugin_path);
  g_autoptr (GError) scan_error = NULL;
  if (!lf_registry_scan (r->reg, (const char *const *) dirs, &scan_error))
    /* broken plugins elsewhere on the path do not stop this run; the ones
     * it names are checked by lf_resolve */
    g_debug ("plugin scan: %s", scan_error ? scan_error->message : "");
  if (!lf_resolve (r->cfg, r->reg, &r->res, error))
    return FALSE;
  r->mi = r->res.mi; r->si = r->res.si; r->di = r->res.di;
  r->mp = r->res.mp; r->sp = r->res.sp; r->dp = r->res.dp; r->scp = r->res.scp; r->tp = r->res.tp;
  r->seed = r->res.seed;
  r->threads = r->res.threads;
  r->config_hash = g_strdup (r->res.hash);

  lf_set_threads (r->threads);
  r->ds = lf_dataset_open (r->di, r->dp, lf_rng_key (r->seed, 0, 0, 0, "dataset"), error);
  if (r->ds == NULL)
    return FALSE;
  r->sc = lf_scenario_build (r->scp, r->ds, r->seed, error);
  if (r->sc == NULL)
    return FALSE;
  LfDataSpec spec = {
    .struct_size = sizeof spec,
    .input_ndim = r->ds->di.input_ndim,
    .n_classes = r->sc->model_classes,
    .n_tasks = r->sc->n_tasks > 0 ? r->sc->n_tasks : r->sc->n_exp,
    .multi_head = r->sc->mask_by_task,
    .vocab = r->sc->sequences ? LF_BYTE_VOCAB : 0,
    .context = r->sc->sequences ? r->sc->context : 0,
  };
  memcpy (spec.input_shape, r->ds->di.input_shape, sizeof spec.input_shape);
  r->model = lf_model_create (r->mi, r->mp, &spec, lf_rng_key (r->seed, 0, 0, 0, "model-init"), error);
  if (r->model == NULL)
    return FALSE;
  if (r->res.cache_name)
    {
      /* model.checkpoint {"cache": ...}: trained now unless the cache has it */
      if (!lf_cache_ensure (&r->res, o->plugin_path, o->quiet, &r->cache_trained, error))
        return FALSE;
      lf_set_threads (r->threads);
    }
  if (r->res.checkpoint)
    {
      /* start from a saved model (before the strategy sees it) */
      g_autoptr (JsonNode) conf = lf_resolved_to_json (&r->res);
      JsonObject *ms = json_object_get_object_member (json_node_get_object (conf), "model");
      if (!lf_model_dir_load (r->model, r->res.checkpoint, ms, error))
        {
          g_prefix_error (error, "model.checkpoint: ");
          return FALSE;
        }
      progress (r, "model %s: weights from %s%s", r->mi->name, r->res.checkpoint,
                r->res.cache_name ? (r->cache_trained ? " (trained for the cache by this run)"
                                                      : " (from the cache)") : "");
    }

  LfOptimConfig oc;
  LfOptimKind kind = LF_OPTIM_ADAM;
  lf_optim_kind_from_string (lf_params_get_string (r->tp, "optimizer"), &kind);
  lf_optim_config_init (&oc, kind);
  oc.lr = r->base_lr = lf_params_get_float (r->tp, "lr");
  oc.momentum = lf_params_get_float (r->tp, "momentum");
  oc.nesterov = lf_params_get_bool (r->tp, "nesterov");
  if (lf_params_is_set (r->tp, "weight_decay") || kind != LF_OPTIM_ADAMW)
    oc.weight_decay = lf_params_get_float (r->tp, "weight_decay");
  oc.beta1 = lf_params_get_float (r->tp, "beta1");
  oc.beta2 = lf_params_get_float (r->tp, "beta2");
  r->opt = lf_optimizer_new (&oc);
  const char *sch = lf_params_get_string (r->tp, "schedule");
  r->sched = (LfSchedule) {
    .kind = g_str_equal (sch, "step") ? LF_SCHEDULE_STEP : g_str_equal (sch, "cosine") ? LF_SCHEDULE_COSINE
                                                                                      : LF_SCHEDULE_CONSTANT,
    .warmup_steps = lf_params_get_int (r->tp, "warmup_steps"),
    .step_size = lf_params_get_int (r->tp, "step_size"),
    .gamma = lf_params_get_float (r->tp, "gamma"),
    .min_lr = lf_params_get_float (r->tp, "min_lr"),
  };

  r->ctx = (LfStrategyCtx) {
    .model = r->model, .opt = r->opt, .sc = r->sc, .ds = r->ds, .seed = r->seed,
    .experience = 0, .boundaries = !r->sc->online || r->sc->give_boundaries, .report = json_object_new (),
    .result = json_object_new (),
  };
  r->curve = lf_online_curve_new (r->sc, r->ds);
  if (r->sc->feedback)
    r->feedback = lf_feedback_new (&r->sc->feedback_cfg, lf_rng_key (r->seed, 0, 0, 0, "feedback"));
  r->svt = r->si->vtable;
  if (S_HAS (r, create))
    {
      r->strat = r->svt->create (r->sp, &r->ctx, error);
      if (r->strat == NULL)
        {
          if (error && *error == NULL)
            g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_PLUGIN, "strategy %s: create failed", r->si->name);
          return FALSE;
        }
    }
  sync_optimizer (r);

  if (o->out_path)
    {
      g_autofree char *base = g_str_has_suffix (o->out_path, ".json")
                              ? g_strndup (o->out_path, strlen (o->out_path) - 5) : g_strdup (o->out_path);
      r->ckpt_path = g_strconcat (base, ".ckpt.safetensors", NULL);
    }
  r->baseline = g_new (double, r->sc->n_exp);
  if (o->resume && r->ckpt_path && g_file_test (r->ckpt_path, G_FILE_TEST_EXISTS))
    {
      LfProgress pg = { .rows = r->rows, .vrows = r->vrows, .row_exp = r->row_exp, .baseline = r->baseline,
                        .T = r->sc->n_exp };
      LfState *st = NULL;
      LfCheckpoint *ck = lf_checkpoint_open (r->ckpt_path, r->config_hash, &pg, &st, error);
      if (ck == NULL)
        return FALSE;
      gboolean ok = TRUE;
      r->ctx.experience = pg.experience_done;
      if (r->sc->oracle)
        ok = lf_oracle_load (r->sc->oracle, st, error);
      size_t nb = 0;
      const void *nov = lf_state_get_bytes (st, "host.open_world.novelty", &nb);
      if (nov)
        g_array_append_vals (r->novelty, nov, (guint) (nb / sizeof (double)));
      if (ok && S_HAS (r, load))
        ok = r->svt->load (r->strat, &r->ctx, st, error);
      sync_optimizer (r);
      ok = ok && lf_checkpoint_restore_model (ck, r->model, r->opt, error);
      lf_state_free (st);
      lf_checkpoint_free (ck);
      if (!ok)
        return FALSE;
      r->first_exp = pg.experience_done + 1;
      r->ctx.step = pg.step;
      r->train_samples = pg.train_samples;
      r->t_train = pg.t_train;
      r->t_eval = pg.t_eval;
      progress (r, "resumed from %s after experience %" G_GINT64_FORMAT, r->ckpt_path, pg.experience_done + 1);
    }
  else if (o->resume)
    progress (r, "no checkpoint at %s: starting from the beginning", r->ckpt_path ? r->ckpt_path : "(no --out)");
  if (o->first_experience != 0 || o->state_in || o->state_out)
    {
      if (!r->sc->instruct || o->first_experience < 0 || o->first_experience >= r->sc->n_exp)
        {
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "first experience %" G_GINT64_FORMAT ": needs an "
                       "instruction-tuning scenario of more experiences (it has %" G_GINT64_FORMAT ")",
                       o->first_experience, r->sc->n_exp);
          return FALSE;
        }
      if (o->state_in && S_HAS (r, load) && !load_state (r, error))
        return FALSE;
    }
  return TRUE;
}

/* The model, the optimizer, the strategy's state and the progress after
 * experience e, in a checkpoint file at path. */
static gboolean
write_state (Run *r, int64_t e, const char *path, const char *hash, GError **error)
{
  LfState *st = lf_state_new ();
  gboolean ok = !S_HAS (r, save) || r->svt->save (r->strat, &r->ctx, st, error);
  /* the host's own state beside the strategy's: the oracle, the novelty row */
  if (r->sc->oracle)
    lf_oracle_save (r->sc->oracle, st);
  if (r->novelty->len > 0)
    lf_state_put_bytes (st, "host.open_world.novelty", r->novelty->data, r->novelty->len * sizeof (double));
  LfProgress pg = { .experience_done = e, .step = r->ctx.step, .train_samples = r->train_samples,
                    .t_train = r->t_train, .t_eval = r->t_eval, .rows = r->rows, .vrows = r->vrows,
                    .row_exp = r->row_exp,
                    .baseline = r->baseline, .T = r->sc->n_exp };
  ok = ok && lf_checkpoint_write (path, hash, r->model, r->opt, st, &pg, error);
  lf_state_free (st);
  return ok;
}

/* lifelong evolve: the strategy's state of an earlier run (LfRunOptions.state_in) */
static gboolean
load_state (Run *r, GError **error)
{
  const LfRunOptions *o = r->o;
  const int64_t T = o->state_in_experiences;
  if (T < 1 || T > o->first_experience)
    {
      g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_CONFIG, "%s: the state of a run of %" G_GINT64_FORMAT
                   " experiences does not go before experience %" G_GINT64_FORMAT, o->state_in, T,
                   o->first_experience);
      return FALSE;
    }
  g_autoptr (GArray) rows = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) vrows = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) row_exp = g_array_new (FALSE, FALSE, sizeof (int64_t));
  g_autofree double *baseline = g_new (double, T);
  LfProgress pg = { .rows = rows, .vrows = vrows, .row_exp = row_exp, .baseline = baseline, .T = T };
  LfState *st = NULL;
  LfCheckpoint *ck = lf_checkpoint_open (o->state_in, LF_RUN_STATE_HASH, &pg, &st, error);
  if (ck == NULL)
    return FALSE;
  /* the strategy sees the experience it last finished, as on --resume */
  r->ctx.experience = pg.experience_done;
  gboolean ok = !S_HAS (r, load) || r->svt->load (r->strat, &r->ctx, st, error);
  sync_optimizer (r);
  lf_state_free (st);
  lf_checkpoint_free (ck);
  if (ok)
    progress (r, "strategy %s: state from %s", r->si->name, o->state_in);
  return ok;
}

static gboolean
write_checkpoint (Run *r, int64_t e, GError **error)
{
  /* an online stream is one pass that does not stop at its tasks: its
   * strategy and curve are not saved mid-stream (docs/open-environments.md);
   * instruction-tuning keeps measurements a checkpoint does not hold: such
   * a run does not resume (docs/instruction-tuning.md) */
  if (r->ckpt_path == NULL || r->sc->online || r->sc->instruct)
    return TRUE;
  /* the step log up to here is out of this process before the checkpoint
   * that a resumed run starts from (steplog_reopen) */
  if (r->steplog)
    fflush (r->steplog);
  gboolean ok = write_state (r, e, r->ckpt_path, r->config_hash, error);
  /* a test's way to crash at a known point, right after a checkpoint */
  const char *abort_at = g_getenv ("LIFELONG_TEST_ABORT_AFTER_EXPERIENCE");
  if (ok && abort_at && g_ascii_strtoll (abort_at, NULL, 10) == e)
    abort ();
  return ok;
}

/* ---- evaluation ---- */

/* Accuracy on a list of ids, or for a language model the mean next-token
 * loss (nats per predicted token). */
static void
predict_rows (Run *r, const LfBatch *batch, LfModelOutput *out, gboolean use_predict, int32_t *pred)
{
  out->logits = lf_scenario_mask_logits (r->sc, batch, out->logits);
  if (use_predict && S_HAS (r, predict))
    {
      r->svt->predict (r->strat, &r->ctx, batch, out, pred);
      return;
    }
  int64_t C = lf_tensor_dim (out->logits, -1);
  const LfReal *L = lf_tensor_data (out->logits);
  for (int64_t i = 0; i < batch->n; i++)
    {
      int32_t best = 0;
      for (int64_t c = 1; c < C; c++)
        if (L[i * C + c] > L[i * C + best])
          best = (int32_t) c;
      pred[i] = best;
    }
}

static double
evaluate (Run *r, int64_t e, gboolean use_predict, GArray *ids)
{
  int64_t n = ids->len, B = lf_params_get_int (r->tp, "eval_batch_size"), correct = 0;
  double nll = 0, tokens = 0;
  const int64_t *all = (const int64_t *) ids->data;
  LfSplit split = ids == r->sc->exps[e].valid ? LF_SPLIT_TRAIN : LF_SPLIT_TEST;
  if (r->sc->instruct)
    {
      /* greedy generation, exact match (the token accuracy beside it) */
      double tok;
      double em = lf_instruct_eval_score (r->instruct, split, ids, &tok);
      if (split == LF_SPLIT_TEST)
        r->instruct_tok[e] = tok;
      return em;
    }
  for (int64_t s = 0; s < n; s += B)
    {
      int64_t b = MIN (B, n - s);
      lf_tape_push (FALSE);
      LfBatch *batch = lf_scenario_batch (r->sc, r->ds, split, all + s, b);
      LfModelOutput out;
      lf_model_forward (r->model, batch, FALSE, &out);
      if (r->sc->lm)
        {
          int64_t kept = 0;
          for (int64_t i = 0; i < b * batch->seq_len; i++)
            kept += batch->labels[i] >= 0;
          nll += lf_tensor_data (lf_ctx_task_loss (&r->ctx, batch, &out))[0] * (double) kept;
          tokens += (double) kept;
          lf_tape_pop ();
          continue;
        }
      int32_t *pred = lf_arena_alloc ((size_t) b * sizeof (int32_t));
      predict_rows (r, batch, &out, use_predict, pred);
      for (int64_t i = 0; i < b; i++)
        correct += pred[i] == batch->labels[i];
      lf_tape_pop ();
    }
  if (r->sc->lm)
    return tokens > 0 ? nll / tokens : NAN;
  return n > 0 ? (double) correct / (double) n : NAN;
}

static void
evaluate_all (Run *r, double *row, gboolean use_predict)
{
  double t0 = now_s ();
  for (int64_t j = 0; j < r->sc->n_exp; j++)
    row[j] = evaluate (r, j, use_predict, r->sc->exps[j].test);
  if (r->instruct)
    /* the untrained (or base) model is the only one measured without predict */
    lf_instruct_eval_row (r->instruct, r->instruct_tok, !use_predict);
  r->t_eval += now_s () - t0;
}

/* An online stream's point: accuracy on the test data of every class seen
 * so far (docs/open-environments.md). */
static void
online_point (Run *r)
{
  double t0 = now_s ();
  g_autoptr (GArray) ids = lf_online_curve_eval_ids (r->curve);
  lf_online_curve_record (r->curve, evaluate (r, 0, TRUE, ids));
  if (r->feedback)
    lf_feedback_mark (r->feedback);
  r->t_eval += now_s () - t0;
}

/* A feedback round (docs/open-environments.md): the model answers the n
 * stream items as the strategy's predict would (no training, labels
 * hidden), then the corrector checks the answers; the ids it corrected
 * go to corrected.  Returns how many, or -1 with error. */
static int64_t
feedback_round (Run *r, const int64_t *ids, int64_t n, int64_t *corrected, GError **error)
{
  lf_tape_push (FALSE);
  LfBatch *batch = lf_scenario_batch (r->sc, r->ds, LF_SPLIT_TRAIN, ids, n);
  LfModelOutput out;
  lf_model_forward (r->model, batch, FALSE, &out);
  int32_t *answers = lf_arena_alloc ((size_t) n * sizeof (int32_t));
  int32_t *truth = lf_arena_alloc ((size_t) n * sizeof (int32_t));
  predict_rows (r, batch, &out, TRUE, answers);
  for (int64_t i = 0; i < n; i++)
    /* the host's measurement: the true (clean) label */
    truth[i] = r->sc->label_map[r->ds->vt->label (r->ds->self, LF_SPLIT_TRAIN, ids[i] % r->sc->n_train)];
  int64_t k = lf_feedback_round (r->feedback, r->sc->oracle, ids, answers, truth, n, r->ctx.experience, r->ctx.step,
                                 corrected, error);
  lf_tape_pop ();
  return k;
}

/* ---- training ---- */

static gboolean
train_experience (Run *r, int64_t e, LfSelection *sel, GError **error)
{
  const int64_t B = lf_params_get_int (r->tp, "batch_size");
  const int64_t log_every = lf_params_get_int (r->tp, "log_every");
  const double clip = lf_params_get_float (r->tp, "clip");
  const int64_t patience = lf_params_get_int (r->tp, "early_stopping_patience");
  GArray *valid = r->sc->exps[e].valid;
  double best_val = -1;
  int64_t since_best = 0;
  g_autoptr (LfSnapshot) best = NULL;
  int64_t steps_per_epoch = (sel->n + B - 1) / B;
  /* text with a token budget: epochs until the budget is spent */
  const int64_t budget = r->sc->sequences ? lf_params_get_int (r->tp, "tokens") : 0;
  int64_t exp_tokens = 0;
  if (budget > 0)
    {
      int64_t per_epoch = MAX (1, sel->n * r->sc->context);
      sel->epochs = (budget + per_epoch - 1) / per_epoch + 1;
    }
  r->sched.total_steps = steps_per_epoch * sel->epochs;
  int64_t exp_step = 0;
  double t0 = now_s ();
  /* an online stream whose tasks are withheld runs on across them: a
   * task's last samples that do not fill a batch open the next task's
   * first (no short batch marks the boundary) */
  const gboolean carry = r->stream_on && !r->ctx.boundaries;
  const int64_t nc = carry && r->carry ? r->carry->len : 0;
  int64_t total = sel->n + nc;
  g_autofree int64_t *order = g_new (int64_t, MAX (total, 1));
  g_autofree int64_t *corrected = r->feedback ? g_new (int64_t, MAX (B, 1)) : NULL;
  for (int64_t ep = 0; ep < sel->epochs; ep++)
    {
      r->ctx.epoch = ep;
      memcpy (order + nc, sel->sample_ids, (size_t) sel->n * sizeof (int64_t));
      LfRng rng;
      lf_rng_init (&rng, lf_rng_key (r->seed, (uint64_t) e, (uint64_t) ep, 0, "shuffle"));
      for (int64_t i = sel->n - 1; i > 0; i--)
        {
          int64_t j = (int64_t) lf_rng_below (&rng, (uint64_t) i + 1), t = order[nc + i];
          order[nc + i] = order[nc + j];
          order[nc + j] = t;
        }
      if (nc > 0)
        {
          memcpy (order, r->carry->data, (size_t) nc * sizeof (int64_t));
          g_array_set_size (r->carry, 0);
        }
      if (r->feedback)
        {
          /* the experience's items in the order they came, with the
           * recurrences of earlier ones where they fall due (one pass) */
          g_autoptr (GArray) st = lf_feedback_stream (r->feedback, order + nc, sel->n, e == r->sc->n_exp - 1);
          total = nc + st->len;
          order = g_renew (int64_t, order, MAX (total, 1));
          memcpy (order + nc, st->data, (size_t) st->len * sizeof (int64_t));
          steps_per_epoch = (total + B - 1) / B;
          r->sched.total_steps = steps_per_epoch;
        }
      double loss_sum = 0;
      int64_t loss_n = 0;
      for (int64_t s = 0; s < total; s += B, exp_step++)
        {
          int64_t b = MIN (B, total - s);
          if (carry && b < B && e + 1 < r->sc->n_exp)
            {
              if (r->carry == NULL)
                r->carry = g_array_new (FALSE, FALSE, sizeof (int64_t));
              g_array_append_vals (r->carry, order + s, (guint) b);
              break;
            }
          const int64_t *step_ids = order + s;
          int64_t nb = b;
          if (r->feedback)
            {
              /* answer first, then train on what the corrector fixed */
              nb = feedback_round (r, order + s, b, corrected, error);
              if (nb < 0)
                return FALSE;
              step_ids = corrected;
              if (nb == 0)
                {
                  /* nothing to learn from: the stream moves on */
                  if (r->stream_on && lf_online_curve_advance (r->curve, order + s, b))
                    {
                      double te = now_s ();
                      online_point (r);
                      t0 += now_s () - te;
                    }
                  continue;
                }
            }
          lf_tape_push (TRUE);
          LfBatch *batch = lf_scenario_batch (r->sc, r->ds, LF_SPLIT_TRAIN, step_ids, nb);
          if (S_HAS (r, before_batch))
            batch = r->svt->before_batch (r->strat, &r->ctx, batch);
          lf_online_curve_replay (r->curve, batch, step_ids, nb);
          LfModelOutput out;
          lf_ctx_forward (&r->ctx, batch, TRUE, &out);
          LfTensor *loss = lf_ctx_task_loss (&r->ctx, batch, &out);
          if (S_HAS (r, loss))
            loss = r->svt->loss (r->strat, &r->ctx, batch, &out, loss);
          double lv = lf_tensor_data (loss)[0];
          if (!isfinite (lv))
            {
              lf_tape_pop ();
              g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_NUMERIC,
                           "experience %" G_GINT64_FORMAT ", epoch %" G_GINT64_FORMAT ", step %" G_GINT64_FORMAT
                           ": the loss is %g (lower train.lr, or set train.clip)", e, ep, r->ctx.step, lv);
              return FALSE;
            }
          lf_optimizer_zero_grad (r->opt);
          lf_backward (loss);
          if (S_HAS (r, after_backward))
            r->svt->after_backward (r->strat, &r->ctx, batch);
          gboolean log_now = r->steplog && (r->ctx.step % log_every == 0);
          double gnorm = NAN;
          if (clip > 0 || log_now)
            {
              g_autoptr (GPtrArray) ps = lf_model_params (r->model, TRUE);
              gnorm = lf_clip_grad_norm ((int) ps->len, (LfTensor *const *) ps->pdata, clip);
              if (!isfinite (gnorm))
                {
                  /* name the first parameter whose gradient is not finite */
                  const char *bad = "?";
                  for (guint k = 0; k < ps->len && g_str_equal (bad, "?"); k++)
                    {
                      LfTensor *p = ps->pdata[k];
                      const LfReal *g = lf_tensor_grad (p);
                      for (int64_t j = 0; g && j < lf_tensor_numel (p); j++)
                        if (!isfinite (g[j]))
                          {
                            bad = lf_tensor_name (p);
                            break;
                          }
                    }
                  lf_tape_pop ();
                  g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_NUMERIC,
                               "experience %" G_GINT64_FORMAT ", epoch %" G_GINT64_FORMAT ", step %" G_GINT64_FORMAT
                               ": the gradient of %s is not finite (norm %g); lower train.lr or set train.clip",
                               e, ep, r->ctx.step, bad, gnorm);
                  return FALSE;
                }
            }
          double lr = lf_schedule_lr (&r->sched, sel->lr > 0 ? sel->lr : r->base_lr, exp_step);
          lf_optimizer_set_lr (r->opt, lr);
          lf_optimizer_step (r->opt);
          if (S_HAS (r, after_step))
            r->svt->after_step (r->strat, &r->ctx, batch);
          r->train_samples += batch->n;
          if (r->sc->sequences)
            {
              /* tokens trained on: predicted positions (LM) or non-padding ones */
              int64_t k = 0;
              for (int64_t i = 0; i < batch->n * batch->seq_len; i++)
                k += r->sc->lm ? batch->labels[i] >= 0 : batch->tokens[i] != LF_TOKEN_PAD;
              r->train_tokens += k;
              exp_tokens += k;
            }
          lf_tape_pop ();
          if (log_now)
            fprintf (r->steplog, "{\"step\": %" G_GINT64_FORMAT ", \"experience\": %" G_GINT64_FORMAT
                     ", \"epoch\": %" G_GINT64_FORMAT ", \"loss\": %.6g, \"grad_norm\": %.6g, \"lr\": %.6g}\n",
                     r->ctx.step, e, ep, lv, gnorm, lr);
          loss_sum += lv;
          loss_n++;
          r->ctx.step++;
          if (r->stream_on && lf_online_curve_advance (r->curve, order + s, b))
            {
              double te = now_s ();
              online_point (r);
              t0 += now_s () - te;   /* (evaluation is not training time) */
            }
          if (budget > 0 && exp_tokens >= budget)
            break;
          if (r->tty && exp_step % 20 == 0)
            {
              double el = now_s () - t0, frac = (double) (exp_step + 1) / (double) (steps_per_epoch * sel->epochs);
              progress (r, "experience %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT "  epoch %" G_GINT64_FORMAT
                        "/%" G_GINT64_FORMAT "  loss %.4f  ETA %.0fs", e + 1, r->sc->n_exp, ep + 1,
                        sel->epochs, loss_sum / (double) loss_n, el / frac - el);
            }
        }
      double vacc = NAN;
      if (patience > 0 && valid->len > 0)
        {
          double te = now_s ();
          vacc = evaluate (r, e, TRUE, valid);
          r->t_eval += now_s () - te;
          if (vacc > best_val)
            {
              best_val = vacc;
              since_best = 0;
              g_clear_pointer (&best, lf_snapshot_free);
              best = lf_snapshot_take (lf_model_root (r->model), FALSE);
            }
          else if (++since_best >= patience)
            {
              progress (r, "experience %" G_GINT64_FORMAT ": early stop after epoch %" G_GINT64_FORMAT
                        " (validation %.4f, best %.4f)", e + 1, ep + 1, vacc, best_val);
              break;
            }
        }
      if (budget > 0 && exp_tokens >= budget)
        {
          progress (r, "experience %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT ": %" G_GINT64_FORMAT
                    " tokens (budget %" G_GINT64_FORMAT ") loss %.4f", e + 1, r->sc->n_exp, exp_tokens, budget,
                    loss_n ? loss_sum / (double) loss_n : NAN);
          break;
        }
      if (!r->tty)
        progress (r, "experience %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT " epoch %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT
                  " loss %.4f%s", e + 1, r->sc->n_exp, ep + 1, sel->epochs,
                  loss_n ? loss_sum / (double) loss_n : NAN, isnan (vacc) ? "" : " (validation measured)");
    }
  if (best)
    lf_snapshot_restore (best, lf_model_root (r->model));
  r->t_train += now_s () - t0;
  if (r->tty)
    fputc ('\n', stderr);
  return TRUE;
}

static gboolean
run_experiences (Run *r, GError **error)
{
  int64_t T = r->sc->n_exp;
  /* b: the untrained model's scores (arg-max; a strategy's predict may not
   * work before it has seen data) */
  if (r->sc->editing)
    {
      /* an editing run measures at its eval_at points and does not resume */
      double t0 = now_s ();
      r->first_exp = 0;
      r->editing = lf_editing_eval_new (r->model, r->sc, r->ds, lf_params_get_int (r->tp, "eval_batch_size"));
      memcpy (r->baseline, lf_editing_eval_baseline (r->editing), (size_t) T * sizeof (double));
      r->t_eval += now_s () - t0;
    }
  else
    {
      if (r->sc->instruct)
        {
          /* measured from the start: it writes no checkpoint to resume from */
          r->first_exp = r->o->first_experience;
          r->instruct = lf_instruct_eval_new (r->model, r->sc, r->ds, lf_params_get_int (r->tp, "eval_batch_size"),
                                              lf_params_get_int (r->scp, "generations"));
          r->instruct_tok = g_new (double, T);
        }
      if (r->first_exp == 0 || r->instruct)
        evaluate_all (r, r->baseline, FALSE);
    }
  /* lifelong evolve: a strategy whose state was not loaded (none was
   * given, or it cannot load one) still sees the earlier experiences, the
   * model trained on them already: their before_experience and
   * after_experience hooks run, without training (a prefix learned, a
   * Fisher estimated at today's weights) */
  if (r->first_exp > 0 && r->instruct && (r->o->state_in == NULL || !S_HAS (r, load)))
    for (int64_t e = 0; e < r->first_exp; e++)
      {
        r->ctx.experience = e;
        r->ctx.epoch = 0;
        if (S_HAS (r, before_experience) && !r->svt->before_experience (r->strat, &r->ctx, error))
          return FALSE;
        if (S_HAS (r, after_experience) && !r->svt->after_experience (r->strat, &r->ctx, error))
          return FALSE;
        sync_optimizer (r);
      }
  guint next_at = 0;
  for (int64_t e = r->first_exp; e < T; e++)
    {
      double t_exp = now_s ();
      r->ctx.experience = e;
      r->ctx.epoch = 0;
      /* withheld boundaries (an online stream): to the strategy (and the
       * optimizer) the stream is one experience, from the first task's
       * start to the last task's end */
      const gboolean told = r->ctx.boundaries, starts = told || e == r->first_exp, ends = told || e == T - 1;
      if (starts && lf_params_get_bool (r->tp, "reset_optimizer"))
        lf_optimizer_reset_state (r->opt);
      if (starts && S_HAS (r, before_experience) && !r->svt->before_experience (r->strat, &r->ctx, error))
        return FALSE;
      /* what trains now (a strategy may freeze its modules once the
       * experience ends: counted at the end, PEFT would report 0) */
      r->trainable = lf_module_count_params (lf_model_root (r->model), "*", TRUE);
      /* an unlabelled stream trains, by default, on what the oracle labelled */
      GArray *tr = r->sc->feedback ? r->sc->exps[e].train : lf_scenario_labelled (r->sc, e);
      LfSelection sel = {
        .struct_size = sizeof sel,
        .sample_ids = g_memdup2 (tr->data, (gsize) tr->len * sizeof (int64_t)),
        .n = tr->len,
        .epochs = lf_params_get_int (r->tp, "epochs"),
      };
      if (told && S_HAS (r, select_training) && !r->svt->select_training (r->strat, &r->ctx, &sel, error))
        {
          g_free (sel.sample_ids);
          return FALSE;
        }
      if (sel.reset_model && !lf_model_reset (r->model, lf_rng_key (r->seed, (uint64_t) e, 0, 0, "reset"), error))
        {
          g_free (sel.sample_ids);
          return FALSE;
        }
      sync_optimizer (r);
      /* online: the curve follows the stream step by step when the
       * experience trains on it, once, as it came (GDumb trains on its
       * memory instead: its point is at the task's end) */
      r->stream_on = r->sc->online && !sel.skip && !sel.reset_model && sel.epochs == 1 && sel.n == tr->len
                     && memcmp (sel.sample_ids, tr->data, (size_t) tr->len * sizeof (int64_t)) == 0;
      gboolean ok = sel.skip || sel.n == 0 || train_experience (r, e, &sel, error);
      g_free (sel.sample_ids);
      if (!ok)
        return FALSE;
      if (ends && S_HAS (r, after_experience) && !r->svt->after_experience (r->strat, &r->ctx, error))
        return FALSE;
      sync_optimizer (r);
      if (r->sc->online && !r->stream_on)
        lf_online_curve_advance (r->curve, (const int64_t *) tr->data, tr->len);
      if (r->sc->online && (!r->stream_on || e == T - 1) && lf_online_curve_end_due (r->curve))
        online_point (r);
      if (r->sc->editing)
        {
          r->t_edit += now_s () - t_exp;
          if (e + 1 != g_array_index (r->sc->eval_at, int64_t, next_at))
            continue;
          next_at++;
          double t0 = now_s ();
          double *row = g_new (double, T);
          lf_editing_eval_point (r->editing, e + 1, r->t_edit, row);
          g_array_append_vals (r->rows, row, (guint) T);
          g_array_append_val (r->row_exp, e);
          g_free (row);
          r->t_eval += now_s () - t0;
          progress (r, "%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT " edits measured", e + 1, T);
          continue;
        }
      if (sel.skip)
        {
          if (!write_checkpoint (r, e, error))
            return FALSE;
          continue;
        }
      double *row = g_new (double, T);
      evaluate_all (r, row, TRUE);
      g_array_append_vals (r->rows, row, (guint) T);
      if (r->sc->open_world)
        {
          double t0 = now_s ();
          double auroc = lf_openworld_novelty_auroc (r->sc, &r->ctx, r->svt, r->strat, e,
                                                     lf_params_get_int (r->tp, "eval_batch_size"));
          g_array_append_val (r->novelty, auroc);
          r->t_eval += now_s () - t0;
        }
      if (lf_params_get_float (r->scp, "validation_fraction") > 0)
        {
          /* the numbers tuning reads: never the test set */
          double t0 = now_s ();
          for (int64_t j = 0; j < T; j++)
            row[j] = evaluate (r, j, TRUE, r->sc->exps[j].valid);
          r->t_eval += now_s () - t0;
          g_array_append_vals (r->vrows, row, (guint) T);
        }
      g_array_append_val (r->row_exp, e);
      g_free (row);
      progress (r, "experience %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT " done: %s on experience %"
                G_GINT64_FORMAT " %.4f", e + 1, T, r->sc->instruct ? "exact match" : r->sc->lm ? "loss" : "accuracy", e + 1,
                g_array_index (r->rows, double, r->rows->len - (guint) T + (guint) e));
      if (r->tty)
        fputc ('\n', stderr);
      if (e + 1 < T && !write_checkpoint (r, e, error))
        return FALSE;
    }
  return TRUE;
}

/* ---- the result ---- */

static JsonNode *
double_node (double v)
{
  JsonNode *n = json_node_new (JSON_NODE_VALUE);
  if (isfinite (v))
    json_node_set_double (n, v);
  else
    json_node_init_null (n);
  return n;
}

static char *
result_json (Run *r)
{
  int64_t T = r->sc->n_exp, nrows = r->row_exp->len;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "schema_version");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, "ok");

  /* the resolved config */
  json_builder_set_member_name (b, "config");
  json_builder_add_value (b, lf_resolved_to_json (&r->res));

  json_builder_set_member_name (b, "matrix_kind");
  LfMatrixKind kind = r->sc->instruct ? LF_MATRIX_EXACT_MATCH
                      : r->sc->lm && !r->sc->editing ? LF_MATRIX_LOSS : LF_MATRIX_ACCURACY;
  json_builder_add_string_value (b, lf_matrix_kind_name (kind));
  json_builder_set_member_name (b, "matrix");
  json_builder_begin_array (b);
  const double *R = (const double *) r->rows->data;
  for (int64_t i = 0; i < nrows; i++)
    {
      json_builder_begin_array (b);
      for (int64_t j = 0; j < T; j++)
        json_builder_add_value (b, double_node (R[i * T + j]));
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "matrix_rows");
  json_builder_begin_array (b);
  for (int64_t i = 0; i < nrows; i++)
    json_builder_add_int_value (b, g_array_index (r->row_exp, int64_t, i));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "baseline");
  json_builder_begin_array (b);
  for (int64_t j = 0; j < T; j++)
    json_builder_add_value (b, double_node (r->baseline[j]));
  json_builder_end_array (b);

  json_builder_set_member_name (b, "metrics");
  if (r->editing)
    {
      /* the editing scores; the matrix holds each edit's reliability */
      JsonNode *mn = json_node_alloc ();
      json_node_take_object (mn, lf_editing_eval_metrics (r->editing));
      json_builder_add_value (b, mn);
      json_builder_set_member_name (b, "editing");
      json_builder_add_value (b, lf_editing_eval_json (r->editing));
    }
  else
    {
      LfMetrics m;
      lf_metrics_compute_rows (kind, T, nrows, R, r->baseline, &m);
      g_autofree char *mj = lf_metrics_to_json (&m);
      JsonNode *mn = json_from_string (mj, NULL);
      lf_online_curve_add_metrics (r->curve, json_node_get_object (mn));
      if (r->feedback)
        lf_feedback_add_metrics (r->feedback, json_node_get_object (mn));
      if (r->sc->open_world && (int64_t) r->novelty->len == nrows)
        lf_openworld_result (r->sc, R, (const int64_t *) r->row_exp->data, nrows, (const double *) r->novelty->data,
                             S_HAS (r, novelty), json_node_get_object (mn), r->ctx.result);
      if (r->instruct)
        /* general ability: the held-out text's loss after the sequence minus before it */
        json_object_set_member (json_node_get_object (mn), "general_loss_delta",
                                double_node (lf_instruct_eval_general_delta (r->instruct)));
      json_builder_add_value (b, mn);
    }
  if (r->sc->online)
    {
      json_builder_set_member_name (b, "online");
      json_builder_add_value (b, lf_online_curve_json (r->curve));
    }
  if (r->sc->noisy)
    {
      json_builder_set_member_name (b, "label_noise");
      json_builder_add_value (b, lf_label_noise_json (r->curve, r->ctx.buffer));
    }
  if (r->instruct)
    {
      json_builder_set_member_name (b, "instruction");
      json_builder_add_value (b, lf_instruct_eval_json (r->instruct));
    }
  if (r->feedback)
    {
      json_builder_set_member_name (b, "feedback");
      json_builder_add_value (b, lf_feedback_json (r->feedback, r->sc->oracle));
    }
  if (r->sc->oracle)
    {
      json_builder_set_member_name (b, "oracle");
      json_builder_add_value (b, lf_oracle_to_json (r->sc->oracle));
    }
  if (r->res.cache_name)
    {
      json_builder_set_member_name (b, "checkpoint");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, r->res.checkpoint);
      json_builder_set_member_name (b, "cache");
      json_builder_add_string_value (b, r->cache_trained ? "trained" : "hit");
      json_builder_set_member_name (b, "key");
      json_builder_add_string_value (b, r->res.cache_key);
      json_builder_end_object (b);
    }

  if (r->sc->lm && !r->sc->editing && !r->sc->instruct && nrows > 0)
    {
      /* nats per token -> bits per token; tokens are bytes (plus the end token) */
      json_builder_set_member_name (b, "bits_per_byte");
      json_builder_begin_array (b);
      for (int64_t j = 0; j < T; j++)
        json_builder_add_value (b, double_node (R[(nrows - 1) * T + j] / G_LN2));
      json_builder_end_array (b);
      json_builder_set_member_name (b, "domains");
      json_builder_begin_array (b);
      for (int64_t j = 0; j < T; j++)
        json_builder_add_string_value (b, r->ds->di.domain_names ? r->ds->di.domain_names[j] : "");
      json_builder_end_array (b);
    }
  if (r->vrows->len == r->rows->len && r->vrows->len > 0)
    {
      const double *V = (const double *) r->vrows->data;
      json_builder_set_member_name (b, "validation_matrix");
      json_builder_begin_array (b);
      for (int64_t i = 0; i < nrows; i++)
        {
          json_builder_begin_array (b);
          for (int64_t j = 0; j < T; j++)
            json_builder_add_value (b, double_node (V[i * T + j]));
          json_builder_end_array (b);
        }
      json_builder_end_array (b);
      LfMetrics vm;
      lf_metrics_compute_rows (kind, T, nrows, V, NULL, &vm);
      g_autofree char *vj = lf_metrics_to_json (&vm);
      json_builder_set_member_name (b, "validation_metrics");
      json_builder_add_value (b, json_from_string (vj, NULL));
    }

  double total = (double) (g_get_monotonic_time () - r->t_start) / 1e6;
  json_builder_set_member_name (b, "time_s");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "total");
  json_builder_add_double_value (b, total);
  json_builder_set_member_name (b, "train");
  json_builder_add_double_value (b, r->t_train);
  json_builder_set_member_name (b, "eval");
  json_builder_add_double_value (b, r->t_eval);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "throughput");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "train_samples");
  json_builder_add_int_value (b, r->train_samples);
  json_builder_set_member_name (b, "steps");
  json_builder_add_int_value (b, r->ctx.step);
  json_builder_set_member_name (b, "train_samples_per_s");
  json_builder_add_value (b, double_node (r->t_train > 0 ? (double) r->train_samples / r->t_train : NAN));
  json_builder_set_member_name (b, "train_tokens");
  json_builder_add_int_value (b, r->train_tokens);
  json_builder_set_member_name (b, "train_tokens_per_s");
  if (r->sc->sequences && r->t_train > 0)
    json_builder_add_value (b, double_node ((double) r->train_tokens / r->t_train));
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);

  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  json_builder_set_member_name (b, "peak_rss_bytes");
  json_builder_add_int_value (b, (gint64) ru.ru_maxrss * 1024);

  json_builder_set_member_name (b, "memory_bytes");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "strategy");
  json_builder_add_int_value (b, S_HAS (r, memory_bytes) ? (gint64) r->svt->memory_bytes (r->strat) : 0);
  json_builder_set_member_name (b, "optimizer_state");
  json_builder_add_int_value (b, (gint64) lf_optimizer_state_bytes (r->opt));
  json_builder_set_member_name (b, "model_parameters");
  json_builder_add_int_value (b, lf_module_count_params (lf_model_root (r->model), "*", FALSE) * (gint64) sizeof (LfReal));
  json_builder_end_object (b);

  json_builder_set_member_name (b, "parameters");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "total");
  json_builder_add_int_value (b, lf_module_count_params (lf_model_root (r->model), "*", FALSE));
  json_builder_set_member_name (b, "trainable");
  json_builder_add_int_value (b, r->trainable >= 0 ? r->trainable
                                                   : lf_module_count_params (lf_model_root (r->model), "*", TRUE));
  json_builder_end_object (b);

  json_builder_set_member_name (b, "strategy");
  JsonNode *rep = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (rep, r->ctx.report);
  json_builder_add_value (b, rep);

  /* the strategy's result-level members (lf_ctx_report_result_json keeps
   * the host's own names out) */
  g_autoptr (GList) extra = json_object_get_members (r->ctx.result);
  for (GList *l = extra; l != NULL; l = l->next)
    {
      json_builder_set_member_name (b, l->data);
      json_builder_add_value (b, json_node_copy (json_object_get_member (r->ctx.result, l->data)));
    }

  json_builder_set_member_name (b, "versions");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "lifelong");
  json_builder_add_string_value (b, LF_VERSION_STRING);
  json_builder_set_member_name (b, "abi");
  g_autofree char *abi = g_strdup_printf ("%d.%d", LF_ABI_MAJOR, LF_ABI_MINOR);
  json_builder_add_string_value (b, abi);
  json_builder_set_member_name (b, "blis_arch");
  json_builder_add_string_value (b, lf_blis_arch ());
  json_builder_set_member_name (b, "blis_arch_source");
  json_builder_add_string_value (b, lf_blis_arch_source ());
  json_builder_set_member_name (b, "plugins");
  json_builder_begin_object (b);
  const LfPluginInfo *infos[] = { r->mi, r->si, r->di };
  for (int i = 0; i < 3; i++)
    {
      json_builder_set_member_name (b, infos[i]->name);
      json_builder_add_string_value (b, infos[i]->version);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_end_object (b);

  JsonNode *root = json_builder_get_root (b);
  char *text = lf_json_to_string (root, TRUE);
  json_node_unref (root);
  return text;
}

static void
run_clear (Run *r)
{
  if (r->strat && S_HAS (r, destroy))
    r->svt->destroy (r->strat);
  if (r->ctx.report)
    json_object_unref (r->ctx.report);
  if (r->ctx.result)
    json_object_unref (r->ctx.result);
  if (r->ctx.buffer)
    g_array_unref (r->ctx.buffer);
  if (r->carry)
    g_array_unref (r->carry);
  lf_online_curve_free (r->curve);
  lf_feedback_free (r->feedback);
  lf_editing_eval_free (r->editing);
  lf_instruct_eval_free (r->instruct);
  g_free (r->instruct_tok);
  lf_optimizer_free (r->opt);
  lf_model_free (r->model);
  lf_scenario_free (r->sc);
  lf_dataset_close (r->ds);
  lf_resolved_clear (&r->res);
  if (r->reg)
    lf_registry_free (r->reg);
  if (r->cfg)
    json_object_unref (r->cfg);
  if (r->rows)
    g_array_unref (r->rows);
  if (r->row_exp)
    g_array_unref (r->row_exp);
  if (r->novelty)
    g_array_unref (r->novelty);
  if (r->vrows)
    g_array_unref (r->vrows);
  g_free (r->baseline);
  g_free (r->config_hash);
  g_free (r->ckpt_path);
  if (r->steplog)
    fclose (r->steplog);
}

char *
lf_run_steplog_path (const char *out_path)
{
  g_autofree char *base = g_str_has_suffix (out_path, ".json")
                          ? g_strndup (out_path, strlen (out_path) - 5) : g_strdup (out_path);
  return g_strconcat (base, ".steps.jsonl", NULL);
}

/* The step log of a resumed run: the lines of the steps before the
 * checkpoint's (flushed when it was written) are kept, later ones dropped
 * (they are logged again), so a run killed and resumed leaves the same log
 * as one that never stopped.  NULL with errno set on failure. */
static FILE *
steplog_reopen (const char *path, int64_t resume_step)
{
  g_autofree char *text = NULL;
  g_autoptr (GString) keep = g_string_new (NULL);
  if (g_file_get_contents (path, &text, NULL, NULL))
    {
      char *save = NULL;
      for (char *line = strtok_r (text, "\n", &save); line != NULL; line = strtok_r (NULL, "\n", &save))
        if (g_str_has_prefix (line, "{\"step\": ") && g_str_has_suffix (line, "}")
            && g_ascii_strtoll (line + strlen ("{\"step\": "), NULL, 10) < resume_step)
          g_string_append_printf (keep, "%s\n", line);
      if (!lf_write_file_atomic (path, keep->str, keep->len, NULL))
        return NULL;
    }
  return fopen (path, "a");
}

gboolean
lf_run (const LfRunOptions *o, char **result_out, GError **error)
{
  Run r = { .o = o, .trainable = -1, .t_start = g_get_monotonic_time (), .tty = isatty (2) && !o->quiet };
  r.rows = g_array_new (FALSE, FALSE, sizeof (double));
  r.row_exp = g_array_new (FALSE, FALSE, sizeof (int64_t));
  r.vrows = g_array_new (FALSE, FALSE, sizeof (double));
  r.novelty = g_array_new (FALSE, FALSE, sizeof (double));
  gboolean ok = setup (&r, error);
  if (ok && o->out_path)
    {
      g_autofree char *lp = lf_run_steplog_path (o->out_path);
      /* what a run killed in the middle of a write left behind */
      lf_remove_stale_temporaries (o->out_path);
      lf_remove_stale_temporaries (lp);
      if (r.ckpt_path)
        lf_remove_stale_temporaries (r.ckpt_path);
      /* a resumed run goes on with the log it had */
      r.steplog = r.first_exp > 0 ? steplog_reopen (lp, r.ctx.step) : fopen (lp, "w");
      if (r.steplog == NULL)
        {
          g_set_error (error, LF_HOST_ERROR, LF_HOST_ERROR_IO, "%s: cannot write the step log: %s", lp,
                       g_strerror (errno));
          ok = FALSE;
        }
    }
  if (ok)
    ok = run_experiences (&r, error);
  if (ok && o->state_out)
    ok = write_state (&r, r.sc->n_exp - 1, o->state_out, LF_RUN_STATE_HASH, error);
  if (ok && S_HAS (&r, report))
    r.svt->report (r.strat, &r.ctx);
  if (ok && o->save_model_dir)
    {
      /* the model as the last row of the matrix measured it */
      g_autoptr (JsonNode) conf = lf_resolved_to_json (&r.res);
      JsonObject *ms = json_object_get_object_member (json_node_get_object (conf), "model");
      ok = lf_model_dir_save (r.model, o->save_model_dir, ms, r.res.checkpoint, o->save_model_plain, error);
      if (ok)
        progress (&r, "model saved in %s", o->save_model_dir);
    }
  if (ok)
    {
      g_autofree char *text = result_json (&r);
      if (o->out_path)
        ok = lf_write_file_atomic (o->out_path, text, strlen (text), error);
      /* a step log that lost lines (a full disk) is worth a word */
      if (ok && r.steplog && (fflush (r.steplog) != 0 || ferror (r.steplog)))
        {
          g_autofree char *lp = lf_run_steplog_path (o->out_path);
          g_printerr ("lifelong run: warning: %s: lines of the step log could not be written\n", lp);
        }
      /* the result is final: its checkpoint is no longer needed */
      if (ok && r.ckpt_path)
        g_unlink (r.ckpt_path);
      if (ok && result_out)
        *result_out = g_steal_pointer (&text);
    }
  run_clear (&r);
  return ok;
}
