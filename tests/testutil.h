/* lifelong tests — what the test programs that drive the executable share:
 * running a program to the end, and reading a JSON file. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdarg.h>

/* Runs argv (NULL-terminated) to the end, with the environment plus env
 * (NAME, VALUE pairs, NULL-terminated; NULL: none).  Standard output goes to
 * *out and standard error to *err when they are not NULL.  Returns the
 * exit status, 128 + the signal when it was killed.  Fails the test when
 * the program cannot be started. */
int         tu_spawn (const char *const *argv, const char *const *env, char **out, char **err);
/* tu_spawn of exe, the arguments in ap (up to a NULL), then tail
 * (NULL-terminated, or NULL). */
int         tu_spawn_va (const char *exe, va_list ap, const char *const *tail, const char *const *env,
                         char **out, char **err);
/* The JSON object in path; fails the test (naming the file) when it is
 * not one. */
JsonObject *tu_load_json (const char *path);
