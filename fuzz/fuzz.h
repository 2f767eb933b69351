/* lifelong fuzzing — what every harness shares: GLib criticals made fatal
 * (a g_return_if_fail reached from input is a bug, not a message), the
 * input as a file without touching the disk (a memfd, opened again through
 * /proc/self/fd), and an input cut into parts at NUL bytes.  Included by
 * fuzz/fuzz-*.c only, which also build into tests/fuzz-replay (docs/reliability.md). */
#pragma once

#ifndef _GNU_SOURCE
#define _GNU_SOURCE     /* memfd_create */
#endif
#include <errno.h>
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "plugin-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Criticals, warnings and errors abort (libFuzzer catches SIGABRT; GLib's
 * own fatal path raises SIGTRAP, which it does not); quieter messages are
 * dropped. */
static void
fuzz_log (const char *domain, GLogLevelFlags level, const char *message, gpointer user)
{
  (void) user;
  if (!(level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)))
    return;
  fprintf (stderr, "%s-%s **: %s\n", domain != NULL ? domain : "", level & G_LOG_LEVEL_ERROR ? "ERROR"
           : level & G_LOG_LEVEL_CRITICAL ? "CRITICAL" : "WARNING", message);
  abort ();
}

/* Once per process: a g_return_if_fail reached from an input is a crash to
 * the fuzzer (and to the replay test). */
static inline void
fuzz_init (void)
{
  static gboolean done = FALSE;
  if (done)
    return;
  done = TRUE;
  g_log_set_default_handler (fuzz_log, NULL);
}

/* The bundled plugins' folder of this build tree. */
static inline const char *
fuzz_plugin_dir (void)
{
  const char *env = g_getenv ("LIFELONG_FUZZ_PLUGIN_DIR");
  return env != NULL ? env : FUZZ_PLUGIN_DIR;
}

/* data as the content of a file, at the returned path ("/proc/self/fd/N",
 * valid until the next call).  One memfd per process, rewritten each time. */
/* The bundled plugins (fuzz_plugin_dir), scanned once per process; stops
 * the harness when the plugin it needs is not there. */
static inline LfPluginRegistry *
fuzz_registry (LfPluginKind kind, const char *needed)
{
  static LfPluginRegistry *reg;
  if (reg == NULL)
    {
      reg = lf_registry_new ();
      const char *dirs[] = { fuzz_plugin_dir (), NULL };
      lf_registry_scan (reg, dirs, NULL);
    }
  if (lf_registry_find (reg, kind, needed) == NULL)
    g_error ("no %s plugin in %s (build the bundled plugins first)", needed, fuzz_plugin_dir ());
  return reg;
}

static inline const char *
fuzz_as_file (const uint8_t *data, size_t size)
{
  static int fd = -1;
  static char path[64];
  if (fd < 0)
    {
      fd = memfd_create ("lifelong-fuzz", MFD_CLOEXEC);
      if (fd < 0)
        g_error ("memfd_create: %s", g_strerror (errno));
      g_snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
    }
  if (ftruncate (fd, 0) != 0)
    g_error ("ftruncate: %s", g_strerror (errno));
  for (size_t done = 0; done < size;)
    {
      ssize_t w = pwrite (fd, data + done, size - done, (off_t) done);
      if (w <= 0)
        g_error ("pwrite: %s", g_strerror (errno));
      done += (size_t) w;
    }
  return path;
}

/* The input cut at NUL bytes into at most max parts (anything after the
 * max-th NUL is ignored), each a NUL-terminated copy.  Free with
 * g_strfreev. */
static inline char **
fuzz_split (const uint8_t *data, size_t size, int max)
{
  GPtrArray *parts = g_ptr_array_new ();
  size_t at = 0;
  if (data == NULL)
    data = (const uint8_t *) "", size = 0;
  while ((int) parts->len < max)
    {
      const uint8_t *nul = at < size ? memchr (data + at, 0, size - at) : NULL;
      size_t end = nul != NULL ? (size_t) (nul - data) : size;
      g_ptr_array_add (parts, g_strndup ((const char *) data + at, end - at));
      if (nul == NULL)
        break;
      at = end + 1;
    }
  g_ptr_array_add (parts, NULL);
  return (char **) g_ptr_array_free (parts, FALSE);
}
