/* lifelong plugins — reading Debian's fortune files (shared by the datasets
 * fortunes and instructions): the fortunes of one file, in order. */
#pragma once

#include <glib.h>

/* Splits a fortune file's text (fortunes separated by lines holding a single
 * '%') into out (GBytes each, trailing newlines dropped, cut to max_bytes),
 * in the file's order; empty fortunes are skipped.  Returns how many were
 * added.  Every tenth fortune (k % 10 == 9) is the fortunes dataset's test
 * split: FORTUNE_IS_TEST (k). */
int64_t fortune_file_split (const char *text, gsize len, gsize max_bytes, GPtrArray *out);
#define FORTUNE_IS_TEST(k) ((k) % 10 == 9)
