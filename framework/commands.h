/* lifelong — the subcommands of the `lifelong` executable.  Each takes the
 * arguments after `lifelong` (argv[0] is the command's own name, e.g.
 * "plugins") and returns the process exit status. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* lifelong plugins [--json] [--plugin-path DIR]...
 * Lists every plugin on the search path (stdout); files that failed to load
 * go to stderr, each naming the file.  0 when the listing was printed, 2 on
 * a usage error, 1 when stdout could not be written. */
int lf_cmd_plugins (int argc, char **argv);

/* lifelong matrix MATRIX.json --out DIR [-j N] ... (cmd-matrix.c) */
int lf_cmd_matrix (int argc, char **argv);

/* lifelong run CONFIG.json [--out RESULT.json] ... (cmd-run.c) */
int lf_cmd_run (int argc, char **argv);

G_END_DECLS
