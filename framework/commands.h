/* lifelong — the subcommands of the `lifelong` executable.  Each takes the
 * arguments after `lifelong` (argv[0] is the command's own name, e.g.
 * "plugins") and returns the process exit status. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* An option's integer value: s must be a whole decimal integer in [lo, hi];
 * otherwise prints "lifelong CMD: OPT S: expected an integer in [LO, HI]"
 * to stderr and returns FALSE (the command's usage error). */
gboolean lf_cli_parse_int (const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out);

/* lifelong plugins [--json] [--plugin-path DIR]...
 * Lists every plugin on the search path (stdout); files that failed to load
 * go to stderr, each naming the file.  0 when the listing was printed, 2 on
 * a usage error, 1 when stdout could not be written. */
int lf_cmd_plugins (int argc, char **argv);

/* lifelong matrix MATRIX.json --out DIR [-j N] ... (cmd-matrix.c) */
int lf_cmd_matrix (int argc, char **argv);

/* lifelong run CONFIG.json [--out RESULT.json] ... (cmd-run.c) */
int lf_cmd_run (int argc, char **argv);

/* lifelong report DIR [--out REPORT_DIR] (report.c): index.html,
 * leaderboard.md and leaderboard.csv from a matrix output directory.  0 when
 * written, 1 when DIR or its index.json cannot be read or a file cannot be
 * written (nothing partial is left), 2 on a usage error. */
int lf_cmd_report (int argc, char **argv);

/* lifelong new strategy|model|dataset NAME [--dir DIR] [--plugin-path DIR]...
 * (cmd-new.c): writes DIR (default ./NAME), a meson project for a new plugin
 * built against the installed headers through pkg-config.  0 when written,
 * 1 when DIR exists, a file cannot be written (nothing partial is left) or
 * the name is taken on the search path, 2 on a usage error. */
int lf_cmd_new (int argc, char **argv);

/* lifelong generate DIR [--prompt TEXT] [--max-tokens N] [--temperature T]
 * [--top-k K] [--seed S] [--no-cache] [--json] (cmd-generate.c): text from
 * a byte-level language model saved by `lifelong run --save-model DIR`.
 * 0 when printed, 1 when DIR does not load or generation fails, 2 on a
 * usage error. */
int lf_cmd_generate (int argc, char **argv);

/* lifelong evolve --model SNAPSHOT --log DAY.jsonl [--strategy NAME] ...
 * and lifelong evolve --init --from DIR --out PERSONAL (cmd-evolve.c): a
 * personal model's next versioned snapshot (docs/evolve.md).  0 when
 * written, 1 when a snapshot, the log or the night's run fails (nothing is
 * written), 2 on a usage error. */
int lf_cmd_evolve (int argc, char **argv);

/* lifelong simulate-user --model SNAPSHOT --day N --out DAY.jsonl [--seed S]
 * [--new K] [--repeats R] (cmd-simulate-user.c): a simulated user's day of
 * questions answered by the snapshot and corrected.  0 when written, 1 on
 * an error, 2 on a usage error. */
int lf_cmd_simulate_user (int argc, char **argv);

G_END_DECLS
