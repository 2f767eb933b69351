/* lifelong — reading a day's interaction log (docs/evolve.md), shared by
 * the dataset instructions (its "logs") and `lifelong evolve`: JSON lines
 * of {"prompt", "reply", "correction"?}. */
#pragma once

#include <glib.h>

typedef struct {
  char *prompt;       /* one line: no newline, not empty */
  char *reply;        /* what the model answered (may be empty) */
  char *correction;   /* the user's fix, or NULL when the reply was accepted */
} InteractionTurn;

/* The answer the model should give: the correction, else the reply. */
#define INTERACTION_TARGET(t) ((t)->correction ? (t)->correction : (t)->reply)

void interaction_turn_free (InteractionTurn *t);

/* Reads path into turns (InteractionTurn *, owned; set the free function
 * to interaction_turn_free), in the file's order.  Blank lines are
 * skipped.  Fails (G_IO_ERROR / G_FILE_ERROR for I/O, else
 * G_IO_ERROR_INVALID_DATA) naming the file, the line number and the field
 * when a line is not a JSON object, "prompt" or "reply" is missing or not
 * a string, "correction" is present and not a string, an unknown member is
 * present, the prompt is empty or holds a newline, an answer holds a
 * newline, a text holds a NUL byte (raw or \u0000), is not valid UTF-8 or is longer than 1000 bytes, or the
 * file has no turn at all.  Nothing is added to turns on failure. */
gboolean interaction_log_read (const char *path, GPtrArray *turns, GError **error);
