/* lifelong — `lifelong-mpi`: the cells of a matrix spread over MPI ranks.
 * Rank 0 schedules; every other rank asks for a cell, runs it as its own
 * `lifelong run` process (the same runner, limits and files as `lifelong
 * matrix`), writes the results into the shared output directory and asks
 * for the next.  liblifelong never links MPI: only this executable does. */
#include "matrix.h"
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

enum { TAG_READY = 1, TAG_WORK = 2 };

static const char usage[] =
  "usage: mpirun -np N lifelong-mpi MATRIX.json --out DIR [--cell-timeout S] [--cell-memory MB]\n"
  "                                 [--plugin-path DIR] [--quiet]\n"
  "Rank 0 schedules the matrix's cells; ranks 1..N-1 run them (DIR must be shared).\n"
  "Rerunning resumes, as with `lifelong matrix`.\n";

static int
parse (int argc, char **argv, LfMatrixOptions *o)
{
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      gboolean v = i + 1 < argc;
      if (g_str_equal (a, "--out") && v) o->out_dir = argv[++i];
      else if (g_str_equal (a, "--cell-timeout") && v) o->cell_timeout_s = g_ascii_strtod (argv[++i], NULL);
      else if (g_str_equal (a, "--cell-memory") && v) o->cell_memory_mb = g_ascii_strtod (argv[++i], NULL);
      else if (g_str_equal (a, "--plugin-path") && v) o->plugin_path = argv[++i];
      else if (g_str_equal (a, "--quiet")) o->quiet = TRUE;
      else if (a[0] != '-' && o->matrix_path == NULL) o->matrix_path = a;
      else
        return 2;
    }
  return o->matrix_path && o->out_dir ? 0 : 2;
}

int
main (int argc, char **argv)
{
  MPI_Init (&argc, &argv);
  int rank, size;
  MPI_Comm_rank (MPI_COMM_WORLD, &rank);
  MPI_Comm_size (MPI_COMM_WORLD, &size);
  LfMatrixOptions o = { .jobs = 1 };
  if (parse (argc, argv, &o) != 0)
    {
      if (rank == 0)
        fputs (usage, stderr);
      MPI_Finalize ();
      return 2;
    }
  /* the cells run the lifelong executable installed beside this one */
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *bindir = self ? g_path_get_dirname (self) : g_strdup (".");
  g_autofree char *exe = g_build_filename (bindir, "lifelong", NULL);
  o.exe = exe;
  g_autoptr (GError) error = NULL;
  LfMatrixPlan *plan = lf_matrix_plan_new (&o, &error);
  int ok_plan = plan != NULL, all_ok = 0;
  MPI_Allreduce (&ok_plan, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!all_ok)
    {
      if (error)
        fprintf (stderr, "lifelong-mpi (rank %d): %s\n", rank, error->message);
      lf_matrix_plan_free (plan);
      MPI_Finalize ();
      return 1;
    }
  int n = lf_matrix_plan_n_cells (plan), failed = 0;
  if (rank == 0)
    {
      if (!lf_matrix_plan_write_index (plan, &error))
        fprintf (stderr, "lifelong-mpi: %s\n", error->message);
      int next = 0, stopped = 0, done = 0;
      if (size == 1)
        {
          /* no workers: run everything here */
          for (int i = 0; i < n; i++)
            if (lf_matrix_plan_pending (plan, i))
              failed += !lf_matrix_plan_run_cell (plan, i, NULL);
          stopped = 0;
        }
      while (stopped < size - 1)
        {
          int msg[2];   /* finished cell (-1: none yet), its success */
          MPI_Status st;
          MPI_Recv (msg, 2, MPI_INT, MPI_ANY_SOURCE, TAG_READY, MPI_COMM_WORLD, &st);
          if (msg[0] >= 0)
            {
              lf_matrix_plan_refresh (plan, msg[0]);
              failed += !msg[1];
              done++;
              g_clear_error (&error);
              if (!lf_matrix_plan_write_index (plan, &error))
                fprintf (stderr, "lifelong-mpi: %s\n", error->message);
              if (!o.quiet)
                fprintf (stderr, "cell %s %s on rank %d (%d done)\n", lf_matrix_plan_describe (plan, msg[0]),
                         msg[1] ? "ok" : "failed", st.MPI_SOURCE, done);
            }
          while (next < n && !lf_matrix_plan_pending (plan, next))
            next++;
          int work = next < n ? next++ : -1;
          MPI_Send (&work, 1, MPI_INT, st.MPI_SOURCE, TAG_WORK, MPI_COMM_WORLD);
          if (work < 0)
            stopped++;
        }
      if (!o.quiet)
        fprintf (stderr, "lifelong-mpi: %d cells, %d failed; results in %s\n", n, failed, o.out_dir);
    }
  else
    {
      int msg[2] = { -1, 0 };
      for (;;)
        {
          MPI_Send (msg, 2, MPI_INT, 0, TAG_READY, MPI_COMM_WORLD);
          int work;
          MPI_Recv (&work, 1, MPI_INT, 0, TAG_WORK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
          if (work < 0)
            break;
          g_autoptr (GError) e = NULL;
          msg[0] = work;
          msg[1] = lf_matrix_plan_run_cell (plan, work, &e);
          if (e)
            fprintf (stderr, "lifelong-mpi (rank %d): %s\n", rank, e->message);
        }
    }
  lf_matrix_plan_free (plan);
  MPI_Finalize ();
  return rank == 0 && failed > 0 ? 1 : 0;
}
