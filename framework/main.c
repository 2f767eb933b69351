/* lifelong — the command-line entry point. */
#include <lifelong/lifelong.h>
#include <stdio.h>
#include <string.h>

static void
print_version (void)
{
  printf ("lifelong %s\n", LF_VERSION_STRING);
  printf ("blis kernel set: %s (BLIS_ARCH_TYPE=%d, chosen by %s; cpu: %s)\n",
          lf_blis_arch (), lf_blis_arch_type (), lf_blis_arch_source (), lf_cpu_features ());
  printf ("threads: %d\n", lf_get_threads ());
}

int
main (int argc, char **argv)
{
  if (argc >= 2 && (strcmp (argv[1], "--version") == 0 || strcmp (argv[1], "version") == 0))
    {
      print_version ();
      return 0;
    }
  fprintf (stderr, "usage: lifelong --version\n"
                   "(run, matrix, report and plugins arrive with the runs issue)\n");
  return argc >= 2 && strcmp (argv[1], "--help") == 0 ? 0 : 2;
}
