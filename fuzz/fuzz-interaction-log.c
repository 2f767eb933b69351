/* lifelong fuzzing — a day's interaction log (docs/evolve.md), as
 * `lifelong evolve` and the dataset instructions (dataset.logs) read it:
 * interaction_log_read.
 *
 * Input: the log's bytes.
 *
 * Properties:
 * - it succeeds with at least one turn, or fails with an error whose
 *   message starts with the file's path, and then adds nothing;
 * - every turn it returns is one the night can train on: a non-empty
 *   prompt, the prompt and the answers one line each, at most 1000 bytes,
 *   valid UTF-8, a correction absent or non-empty, and an answer (the
 *   correction, else the reply) that is not empty. */
#include "fuzz.h"
#include "../plugins/datasets/interaction-log.h"

static void
check_text (const char *s, gboolean may_be_empty)
{
  g_assert_nonnull (s);
  g_assert_true (may_be_empty || s[0] != '\0');
  g_assert_null (strchr (s, '\n'));
  g_assert_cmpuint (strlen (s), <=, 1000);
  g_assert_true (g_utf8_validate (s, -1, NULL));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_init ();
  const char *path = fuzz_as_file (data, size);
  g_autoptr (GPtrArray) turns = g_ptr_array_new_with_free_func ((GDestroyNotify) interaction_turn_free);
  g_autoptr (GError) error = NULL;
  if (!interaction_log_read (path, turns, &error))
    {
      g_assert_nonnull (error);
      g_assert_true (g_str_has_prefix (error->message, path));
      g_assert_cmpuint (turns->len, ==, 0);
      return 0;
    }
  g_assert_null (error);
  g_assert_cmpuint (turns->len, >, 0);
  for (guint i = 0; i < turns->len; i++)
    {
      const InteractionTurn *t = turns->pdata[i];
      check_text (t->prompt, FALSE);
      check_text (t->reply, TRUE);
      if (t->correction)
        check_text (t->correction, FALSE);
      g_assert_true (INTERACTION_TARGET (t)[0] != '\0');
    }
  return 0;
}
