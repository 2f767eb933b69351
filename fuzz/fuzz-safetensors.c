/* lifelong fuzzing — safetensors files and their JSON headers
 * (lf_safetensors_open, which checks every field, the tiling and the
 * checksum; lf_safetensors_get of every tensor), then the same file as a
 * run checkpoint (lf_checkpoint_open: the progress metadata `lifelong run
 * --resume` carries on from, in a 3-experience scenario).
 *
 * Input: the file's bytes.
 * Properties: every tensor of a file that opens reads back with as many
 * values as its shape says; a checkpoint that opens describes a progress a
 * 3-experience run can resume from (experience_done in [-1, 2], one matrix
 * row of 3 values per finished row, each after an experience already done,
 * in order). */
#include "fuzz.h"
#include "checkpoint.h"
#include "safetensors.h"

#define N_EXP 3

static void
check_progress (const LfProgress *pg)
{
  if (pg->experience_done < -1 || pg->experience_done >= N_EXP)
    g_error ("experience_done %" G_GINT64_FORMAT " with %d experiences", pg->experience_done, N_EXP);
  if (pg->rows->len != pg->row_exp->len * N_EXP || (pg->vrows->len != 0 && pg->vrows->len != pg->rows->len))
    g_error ("%u rows of values, %u row experiences, %u validation values", pg->rows->len, pg->row_exp->len,
             pg->vrows->len);
  for (guint i = 0; i < pg->row_exp->len; i++)
    {
      int64_t e = g_array_index (pg->row_exp, int64_t, i);
      if (e < 0 || e > pg->experience_done || (i > 0 && e <= g_array_index (pg->row_exp, int64_t, i - 1)))
        g_error ("row %u follows experience %" G_GINT64_FORMAT " (done: %" G_GINT64_FORMAT ")", i, e,
                 pg->experience_done);
    }
  if (pg->step < 0 || pg->train_samples < 0 || !(pg->t_train >= 0) || !(pg->t_eval >= 0))
    g_error ("step %" G_GINT64_FORMAT ", samples %" G_GINT64_FORMAT ", times %g %g", pg->step, pg->train_samples,
             pg->t_train, pg->t_eval);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_init ();
  const char *path = fuzz_as_file (data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (LfSafetensors) st = lf_safetensors_open (path, &error);
  if (st == NULL)
    {
      if (error == NULL)
        g_error ("lf_safetensors_open failed without an error");
      return 0;
    }
  const char *const *names = lf_safetensors_names (st);
  int n = 0;
  for (; names[n] != NULL; n++)
    {
      int ndim = -1;
      int64_t shape[LF_MAX_DIMS];
      g_autofree float *values = NULL;
      g_autoptr (GError) get_error = NULL;
      if (!lf_safetensors_get (st, names[n], &ndim, shape, &values, &get_error))
        {
          if (get_error == NULL || get_error->code == LF_SAFETENSORS_ERROR_NOT_FOUND)
            g_error ("tensor '%s' is listed but cannot be read", names[n]);
          continue;
        }
      int64_t numel = 1;
      for (int d = 0; d < ndim; d++)
        numel *= shape[d];
      double sum = 0;
      for (int64_t k = 0; k < numel; k++)   /* AddressSanitizer checks the size */
        sum += values[k];
      volatile double sink = sum;
      (void) sink;
    }
  if (n != lf_safetensors_n_tensors (st))
    g_error ("%d names, %d tensors", n, lf_safetensors_n_tensors (st));
  g_autoptr (GError) no_error = NULL;
  if (lf_safetensors_get (st, "no such tensor \x01", NULL, NULL, NULL, &no_error))
    g_error ("a tensor that is not there was found");

  /* the same file as a checkpoint of a 3-experience run with its own hash */
  const char *hash = lf_safetensors_meta (st, "lifelong.config_sha256");
  LfProgress pg = { .rows = g_array_new (FALSE, FALSE, sizeof (double)),
                    .vrows = g_array_new (FALSE, FALSE, sizeof (double)),
                    .row_exp = g_array_new (FALSE, FALSE, sizeof (int64_t)),
                    .baseline = g_new0 (double, N_EXP), .T = N_EXP };
  LfState *state = NULL;
  g_autoptr (GError) ck_error = NULL;
  LfCheckpoint *ck = lf_checkpoint_open (path, hash != NULL ? hash : "0", &pg, &state, &ck_error);
  if (ck != NULL)
    {
      check_progress (&pg);
      lf_state_free (state);
      lf_checkpoint_free (ck);
    }
  else if (ck_error == NULL)
    g_error ("lf_checkpoint_open failed without an error");
  g_array_unref (pg.rows);
  g_array_unref (pg.vrows);
  g_array_unref (pg.row_exp);
  g_free (pg.baseline);
  return 0;
}
