/* lifelong fuzzing — matrix files: the cell-building path of `lifelong
 * matrix` (unknown keys, the lists, strategy labels and variants merged
 * over base, every cell checked and resolved against the bundled plugins,
 * skipped cells, duplicate cells), through lf_matrix_plan_new_from_data,
 * which touches no file.
 *
 * Input: the matrix file's text.
 * Property: every cell has a 16-hex-digit id, distinct from the others, and
 * a config that passes the top-level check. */
#include "fuzz.h"
#include "config.h"
#include "matrix.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_init ();
  g_autofree char *text = g_strndup ((const char *) data, size);
  const LfMatrixOptions o = { .matrix_path = "matrix.json", .jobs = 1, .dry_run = TRUE, .quiet = TRUE };
  g_autoptr (GError) error = NULL;
  LfMatrixPlan *plan = lf_matrix_plan_new_from_data (&o, text != NULL ? text : "", -1,
                                                     fuzz_registry (LF_PLUGIN_MODEL, "mlp"), &error);
  if (plan == NULL)
    {
      if (error == NULL)
        g_error ("lf_matrix_plan_new_from_data failed without an error");
      return 0;
    }
  g_autoptr (GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);
  for (int i = 0; i < lf_matrix_plan_n_cells (plan); i++)
    {
      const char *id = lf_matrix_plan_describe (plan, i);
      if (id == NULL || strlen (id) != 16 || strspn (id, "0123456789abcdef") != 16)
        g_error ("cell %d has the id \"%s\"", i, id ? id : "(null)");
      if (!g_hash_table_add (ids, (gpointer) id))
        g_error ("two cells have the id %s", id);
      g_autoptr (GError) top_error = NULL;
      if (!lf_config_check_top (lf_matrix_plan_config (plan, i), "cell", &top_error))
        g_error ("cell %s: %s", id, top_error->message);
    }
  lf_matrix_plan_free (plan);
  return 0;
}
