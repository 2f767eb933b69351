/* lifelong — `lifelong matrix MATRIX.json --out DIR [-j N] ...`. */
#include "commands.h"
#include "matrix.h"
#include <stdio.h>
#include <stdlib.h>

static const char matrix_usage[] =
  "usage: lifelong matrix MATRIX.json --out DIR [-j N] [--cell-timeout SECONDS]\n"
  "                       [--cell-memory MB] [--plugin-path DIR] [--dry-run] [--quiet]\n"
  "\n"
  "Runs every cell of a matrix (the product of its models, strategies and their\n"
  "variants, datasets, scenarios and seeds), each as its own `lifelong run`\n"
  "process.  Cells are named by a hash of their resolved config; results go to\n"
  "DIR/cells/<id>/result.json, written atomically.  Rerunning the same command\n"
  "skips finished cells and resumes unfinished ones from their last checkpoint.\n"
  "A cell that crashes, runs past --cell-timeout or grows past --cell-memory\n"
  "fails alone (DIR/cells/<id>/status.json keeps the reason and its log's tail).\n"
  "Cells that a plugin's capabilities rule out are listed as skipped, with why.\n"
  "\n"
  "  -j N               cells at once (default 1); -j x threads per cell should not\n"
  "                     exceed the cores\n"
  "  --cell-timeout S   kill a cell after S seconds\n"
  "  --cell-memory MB   kill a cell whose resident memory passes MB\n"
  "  --dry-run          list the cells and their status, run nothing\n"
  "\n"
  "Then: lifelong report DIR\n";

static gboolean
parse_double (const char *opt, const char *s, double *out)
{
  char *end;
  double v = g_ascii_strtod (s, &end);
  if (*end != '\0' || v < 0 || !(v < 1e12))
    {
      fprintf (stderr, "lifelong matrix: %s %s: expected a number >= 0\n", opt, s);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

int
lf_cmd_matrix (int argc, char **argv)
{
  LfMatrixOptions o = { .jobs = 1 };
  g_autoptr (GPtrArray) paths = g_ptr_array_new ();
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      gboolean has_val = i + 1 < argc;
      if (g_str_equal (a, "--help") || g_str_equal (a, "-h"))
        {
          fputs (matrix_usage, stdout);
          return 0;
        }
      else if (g_str_equal (a, "--out") && has_val)
        o.out_dir = argv[++i];
      else if (g_str_equal (a, "-j") && has_val)
        {
          char *end;
          long j = strtol (argv[++i], &end, 10);
          if (*end != '\0' || j < 1 || j > 256)
            {
              fprintf (stderr, "lifelong matrix: -j %s: expected an integer in [1, 256]\n", argv[i]);
              return 2;
            }
          o.jobs = (int) j;
        }
      else if (g_str_equal (a, "--cell-timeout") && has_val)
        {
          if (!parse_double (a, argv[++i], &o.cell_timeout_s))
            return 2;
        }
      else if (g_str_equal (a, "--cell-memory") && has_val)
        {
          if (!parse_double (a, argv[++i], &o.cell_memory_mb))
            return 2;
        }
      else if (g_str_equal (a, "--plugin-path") && has_val)
        g_ptr_array_add (paths, argv[++i]);
      else if (g_str_equal (a, "--dry-run"))
        o.dry_run = TRUE;
      else if (g_str_equal (a, "--quiet"))
        o.quiet = TRUE;
      else if (a[0] == '-')
        {
          fprintf (stderr, "lifelong matrix: unknown option %s%s\n%s", a,
                   has_val ? "" : " (or its value is missing)", matrix_usage);
          return 2;
        }
      else if (o.matrix_path == NULL)
        o.matrix_path = a;
      else
        {
          fprintf (stderr, "lifelong matrix: one matrix file only (got %s and %s)\n", o.matrix_path, a);
          return 2;
        }
    }
  if (o.matrix_path == NULL || o.out_dir == NULL)
    {
      fputs (matrix_usage, stderr);
      return 2;
    }
  g_ptr_array_add (paths, NULL);
  g_autofree char *joined = g_strjoinv (":", (char **) paths->pdata);
  o.plugin_path = paths->len > 1 ? joined : NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", &error);
  if (exe == NULL)
    {
      fprintf (stderr, "lifelong matrix: cannot find my own executable: %s\n", error->message);
      return 1;
    }
  o.exe = exe;
  int failed = 0;
  if (!lf_matrix_run (&o, &failed, &error))
    {
      fprintf (stderr, "lifelong matrix: %s\n", error->message);
      return 1;
    }
  if (!o.dry_run && !o.quiet)
    fprintf (stderr, "results: %s (then: lifelong report %s)\n", o.out_dir, o.out_dir);
  return failed > 0 ? 1 : 0;
}
