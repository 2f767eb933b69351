/* lifelong fuzzing — the files `lifelong report` reads (a matrix
 * directory's index.json, and a cell's result.json, status.json and step
 * log), then everything it computes and writes from them: grouping,
 * statistics, ranks, leaderboard.csv, leaderboard.md, utilization.csv,
 * curves.csv and index.html with its Cairo charts (the curve charts too) (lf_rpt_read and the writers, kept in memory).
 *
 * Input: index.json, result.json, status.json and result.steps.jsonl,
 * separated by NUL bytes; the last three are the files of cells/c0, the
 * directory any cell of the index without a "dir" of its own and with the
 * id "c0" reads (a part left out is a file that is not there).
 * Property: an index that reads gives a report, whatever its cells hold.
 *
 * Built twice for fuzzing: fuzz-report without index.html (FUZZ_REPORT_HTML
 * 0: the reading, statistics and text writers, some 50 times faster) and
 * fuzz-report-html with it; the replay test always draws it. */
#include "fuzz.h"
#include "report.h"
#include <glib/gstdio.h>

#ifndef FUZZ_REPORT_HTML
#define FUZZ_REPORT_HTML 1
#endif

static const char *const files[] = { "index.json", "cells/c0/result.json", "cells/c0/status.json",
                                     "cells/c0/result.steps.jsonl" };

static char *dir;

/* At exit: the directory and what the last input left in it. */
static void
remove_work_dir (void)
{
  for (guint k = 0; k < G_N_ELEMENTS (files); k++)
    {
      g_autofree char *path = g_build_filename (dir, files[k], NULL);
      g_unlink (path);
    }
  g_autofree char *cell = g_build_filename (dir, "cells", "c0", NULL);
  g_autofree char *cells = g_build_filename (dir, "cells", NULL);
  g_rmdir (cell);
  g_rmdir (cells);
  g_rmdir (dir);
}

static const char *
work_dir (void)
{
  if (dir == NULL)
    {
      /* in memory when /dev/shm is there */
      g_autofree char *tmpl = g_build_filename (g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) ? "/dev/shm" : g_get_tmp_dir (),
                                                "lifelong-fuzz-report-XXXXXX", NULL);
      dir = g_mkdtemp (g_steal_pointer (&tmpl));
      if (dir == NULL)
        g_error ("cannot make a directory: %s", g_strerror (errno));
      g_autofree char *cell = g_build_filename (dir, "cells", "c0", NULL);
      g_mkdir_with_parents (cell, 0700);
      atexit (remove_work_dir);
    }
  return dir;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_init ();
  const char *dir = work_dir ();
  g_auto (GStrv) parts = fuzz_split (data, size, G_N_ELEMENTS (files));
  for (guint k = 0; k < G_N_ELEMENTS (files); k++)
    {
      g_autofree char *path = g_build_filename (dir, files[k], NULL);
      if (k < g_strv_length (parts))
        {
          if (!g_file_set_contents (path, parts[k], -1, NULL))
            g_error ("cannot write %s", path);
        }
      else
        g_unlink (path);
    }
  g_autoptr (GError) error = NULL;
  LfReport *r = lf_rpt_read (dir, NULL, &error);
  if (r == NULL)
    {
      if (error == NULL)
        g_error ("lf_rpt_read failed without an error");
      return 0;
    }
  g_free (lf_rpt_write_csv (r));
  g_free (lf_rpt_write_md (r));
  g_free (lf_rpt_write_utilization_csv (r));
  g_free (lf_rpt_write_curves_csv (r));
  g_ptr_array_unref (lf_rpt_curve_problems (r));
  if (FUZZ_REPORT_HTML)
    {
      g_autoptr (GError) html_error = NULL;
      if (lf_rpt_draw_curves (r, &html_error))
        {
          g_free (lf_rpt_write_md (r));   /* now with the charts' files */
          g_free (lf_rpt_write_html (r, &html_error));
        }
      lf_rpt_charts_release ();
    }
  lf_rpt_free (r);
  return 0;
}
