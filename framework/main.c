/* lifelong — the command-line entry point: dispatches to the subcommands. */
#include "commands.h"
#include <lifelong/lifelong.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
  "usage: lifelong COMMAND [options]\n"
  "\n"
  "commands:\n"
  "  run CONFIG.json      one continual-learning run -> a result file\n"
  "  matrix MATRIX.json   methods x scenarios x seeds, each cell its own process\n"
  "  report DIR           a matrix's results -> index.html, leaderboard.md, leaderboard.csv\n"
  "  plugins [--json]     every plugin found: kind, version, file, parameters, capabilities\n"
  "  new KIND NAME        a new strategy, model or dataset plugin: a meson project to build\n"
  "  generate DIR         continue a prompt with a language model saved by run --save-model\n"
  "  evolve               a personal model's next version from a day's interaction log\n"
  "  simulate-user        a simulated user's day with a personal model: an interaction log\n"
  "  --version            versions, the BLIS kernel set and the thread count\n"
  "\n"
  "`lifelong COMMAND --help` describes each command.\n";

gboolean
lf_cli_parse_int (const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
  char *end;
  long long v = strtoll (s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < lo || v > hi)
    {
      fprintf (stderr, "lifelong %s: %s %s: expected an integer in [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]\n",
               cmd, opt, s, lo, hi);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

static void
print_version (void)
{
  printf ("lifelong %s (plugin ABI %d.%d)\n", LF_VERSION_STRING, LF_ABI_MAJOR, LF_ABI_MINOR);
  printf ("blis kernel set: %s (BLIS_ARCH_TYPE=%d, chosen by %s; cpu: %s)\n",
          lf_blis_arch (), lf_blis_arch_type (), lf_blis_arch_source (), lf_cpu_features ());
  printf ("threads: %d\n", lf_get_threads ());
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      fputs (usage, stderr);
      return 2;
    }
  const char *cmd = argv[1];
  if (strcmp (cmd, "--version") == 0 || strcmp (cmd, "version") == 0)
    {
      print_version ();
      return 0;
    }
  if (strcmp (cmd, "--help") == 0 || strcmp (cmd, "-h") == 0 || strcmp (cmd, "help") == 0)
    {
      fputs (usage, stdout);
      return 0;
    }
  if (strcmp (cmd, "run") == 0)
    return lf_cmd_run (argc - 1, argv + 1);
  if (strcmp (cmd, "matrix") == 0)
    return lf_cmd_matrix (argc - 1, argv + 1);
  if (strcmp (cmd, "report") == 0)
    return lf_cmd_report (argc - 1, argv + 1);
  if (strcmp (cmd, "plugins") == 0)
    return lf_cmd_plugins (argc - 1, argv + 1);
  if (strcmp (cmd, "new") == 0)
    return lf_cmd_new (argc - 1, argv + 1);
  if (strcmp (cmd, "generate") == 0)
    return lf_cmd_generate (argc - 1, argv + 1);
  if (strcmp (cmd, "evolve") == 0)
    return lf_cmd_evolve (argc - 1, argv + 1);
  if (strcmp (cmd, "simulate-user") == 0)
    return lf_cmd_simulate_user (argc - 1, argv + 1);
  fprintf (stderr, "lifelong: unknown command \"%s\"\n\n%s", cmd, usage);
  return 2;
}
