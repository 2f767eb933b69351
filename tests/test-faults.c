/* lifelong tests — faults, through the executable: a run SIGKILLed at
 * random moments never leaves a file a reader would trust wrongly and
 * resumes to the same numbers; a plugin that segfaults, loops or eats
 * memory fails only its own matrix cell; a full disk, an unwritable output
 * directory, a diverging loss and a damaged checkpoint each end in a clear
 * error and no result.  docs/reliability.md says what each proves. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE     /* unshare, CLONE_NEWNS */
#endif
#include "testutil.h"
#include "safetensors.h"
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;
static const char *exe, *fault_dir;

/* Many small experiences, so a checkpoint is written often. */
static const char kill_config[] =
  "{\"model\": {\"name\": \"mlp\", \"hidden\": [64, 64]}, \"strategy\": {\"name\": \"er\", \"buffer_size\": 40},"
  " \"dataset\": {\"name\": \"synthetic\", \"classes\": 20, \"dim\": 32, \"train_per_class\": 400,"
  "               \"test_per_class\": 20},"
  " \"scenario\": {\"type\": \"class-incremental\", \"experiences\": 10},"
  " \"train\": {\"epochs\": 4, \"batch_size\": 16, \"lr\": 0.01}, \"seed\": 1}";

static char *
path_in (const char *name)
{
  return g_build_filename (dir, name, NULL);
}

static char *
write_file (const char *name, const char *text)
{
  char *path = path_in (name);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

/* Starts `lifelong ARGS...` (NULL-terminated), its standard error appended
 * to err_path (or dropped); returns its pid, not reaped. */
static GPid
start (const char *err_path, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) exe);
  for (int i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  int err_fd = open (err_path ? err_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  g_assert_cmpint (err_fd, >=, 0);
  GPid pid;
  g_autoptr (GError) error = NULL;
  gboolean ok = g_spawn_async_with_fds (NULL, (char **) argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                        &pid, -1, -1, err_fd, &error);
  close (err_fd);
  g_assert_no_error (error);
  g_assert_true (ok);
  return pid;
}

/* Runs `lifelong ARGS...` to the end: its exit status (128 + signal when
 * killed), standard error in *err. */
static int
run (char **err, const char *const *args, const char *const *env)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) exe);
  for (int i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  return tu_spawn ((const char *const *) argv->pdata, env, NULL, err);
}


static char *
matrix_of (const char *result_path)
{
  g_autoptr (JsonObject) r = tu_load_json (result_path);
  return json_to_string (json_object_get_member (r, "matrix"), FALSE);
}

/* Names in d that are not one of keep[] (NULL-terminated). */
static GPtrArray *
others_in (const char *d, const char *const *keep)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) gd = g_dir_open (d, 0, NULL);
  g_assert_nonnull (gd);
  for (const char *name; (name = g_dir_read_name (gd)) != NULL;)
    if (!g_strv_contains (keep, name))
      g_ptr_array_add (out, g_strdup (name));
  return out;
}

/* ---- SIGKILL at random moments -------------------------------------------- */

/* What a kill may leave in d: a result (absent, or complete with the
 * uninterrupted run's numbers), a checkpoint (absent, or sealed: its
 * checksum holds), the step log, and hidden or suffixed temporaries that no
 * reader opens.  Returns how many temporaries there are. */
static int
check_after_kill (const char *d, const char *want_matrix)
{
  g_autofree char *res = g_build_filename (d, "r.json", NULL);
  g_autofree char *ck = g_build_filename (d, "r.ckpt.safetensors", NULL);
  if (g_file_test (res, G_FILE_TEST_EXISTS))
    {
      g_autoptr (JsonObject) r = tu_load_json (res);
      g_assert_cmpstr (json_object_get_string_member (r, "status"), ==, "ok");
      g_autofree char *m = matrix_of (res);
      g_assert_cmpstr (m, ==, want_matrix);
    }
  if (g_file_test (ck, G_FILE_TEST_EXISTS))
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (LfSafetensors) st = lf_safetensors_open (ck, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (lf_safetensors_meta (st, "lifelong.kind"), ==, "checkpoint");
    }
  static const char *const keep[] = { "r.json", "r.steps.jsonl", "r.ckpt.safetensors", "err.txt", NULL };
  g_autoptr (GPtrArray) rest = others_in (d, keep);
  for (guint i = 0; i < rest->len; i++)
    {
      const char *name = rest->pdata[i];
      /* lf_write_file_atomic's and lf_safetensors_write's temporaries */
      if (!g_str_has_prefix (name, ".r.json.tmp-") && !g_str_has_prefix (name, ".r.steps.jsonl.tmp-")
          && !g_str_has_prefix (name, "r.ckpt.safetensors.tmp-"))
        g_error ("%s: unexpected file %s after a kill", d, name);
    }
  return (int) rest->len;
}

static void
test_sigkill_run (void)
{
  g_autofree char *cfg = write_file ("kill.json", kill_config);
  /* the uninterrupted run: its numbers and its time */
  g_autofree char *clean = path_in ("kill-clean.json");
  g_autofree char *err = NULL;
  gint64 t0 = g_get_monotonic_time ();
  int rc = run (&err, (const char *[]) { "run", cfg, "--out", clean, "--quiet", NULL }, NULL);
  if (rc != 0)
    g_printerr ("%s", err);
  g_assert_cmpint (rc, ==, 0);
  double full_s = (double) (g_get_monotonic_time () - t0) / 1e6;
  g_autofree char *want = matrix_of (clean);

  g_autofree char *d = path_in ("killed");
  g_assert_cmpint (g_mkdir (d, 0755), ==, 0);
  g_autofree char *out = g_build_filename (d, "r.json", NULL);
  g_autofree char *log = g_build_filename (d, "err.txt", NULL);
  const char *args[] = { "run", cfg, "--out", out, "--resume", "--quiet", NULL };
  /* seeded: the same moments every time */
  g_autoptr (GRand) rand = g_rand_new_with_seed (20261129);
  int finished = 0, killed = 0, temporaries = 0;
  for (int trial = 0; trial < 20; trial++)
    {
      /* a moment within the first half of a run: a resumed chain gets
       * further with each trial, and kills land in every phase */
      double delay = g_rand_double_range (rand, 0.0, full_s * 0.5);
      GPid pid = start (log, args);
      int status = 0;
      pid_t ended = 0;
      for (gint64 end = g_get_monotonic_time () + (gint64) (delay * 1e6);
           (ended = waitpid (pid, &status, WNOHANG)) == 0 && g_get_monotonic_time () < end;)
        g_usleep (1000);
      if (ended == 0)
        {
          kill (pid, SIGKILL);
          g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
        }
      if (WIFSIGNALED (status))
        killed++;
      else
        {
          /* ended on its own: only ever with a result */
          if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
            {
              g_autofree char *text = NULL;
              g_file_get_contents (log, &text, NULL, NULL);
              g_error ("trial %d: lifelong run failed (status %d):\n%s", trial, status, text);
            }
          finished++;
        }
      temporaries = check_after_kill (d, want);
      if (g_file_test (out, G_FILE_TEST_EXISTS))
        {
          /* a chain completed: start the next from nothing */
          g_unlink (out);
          g_autofree char *steps = g_build_filename (d, "r.steps.jsonl", NULL);
          g_unlink (steps);
        }
    }
  g_test_message ("%d runs killed, %d finished; %d temporaries after the last kill", killed, finished, temporaries);
  g_assert_cmpint (killed, >=, 10);
  /* the last chain, resumed to the end: the uninterrupted numbers */
  g_autofree char *err2 = NULL;
  rc = run (&err2, args, NULL);
  if (rc != 0)
    g_printerr ("%s", err2);
  g_assert_cmpint (rc, ==, 0);
  g_autofree char *final = matrix_of (out);
  g_assert_cmpstr (final, ==, want);
  /* and the step log too: nothing lost, nothing logged twice */
  g_autofree char *clean_log = path_in ("kill-clean.steps.jsonl");
  g_autofree char *resumed_log = g_build_filename (d, "r.steps.jsonl", NULL);
  g_autofree char *a = NULL, *b = NULL;
  g_assert_true (g_file_get_contents (clean_log, &a, NULL, NULL));
  g_assert_true (g_file_get_contents (resumed_log, &b, NULL, NULL));
  g_assert_cmpstr (a, ==, b);
  g_autofree char *ck = g_build_filename (d, "r.ckpt.safetensors", NULL);
  g_assert_false (g_file_test (ck, G_FILE_TEST_EXISTS));
  /* the temporaries the kills left were cleared by the runs after them */
  g_assert_cmpint (check_after_kill (d, want), ==, 0);
}

/* ---- plugins that crash, hang, or eat memory -------------------------------- */

static const char fault_matrix[] =
  "{\"base\": {\"dataset\": {\"name\": \"synthetic\", \"classes\": 4, \"dim\": 16, \"train_per_class\": 50,"
  "                          \"test_per_class\": 20},"
  "           \"train\": {\"epochs\": 2, \"batch_size\": 16}},"
  " \"models\": [{\"name\": \"mlp\", \"hidden\": [16]}],"
  " \"strategies\": [{\"name\": \"naive\"}, {\"name\": \"fault-segv\"}, {\"name\": \"fault-loop\"},"
  "                  {\"name\": \"fault-alloc\"}],"
  " \"datasets\": [{\"name\": \"synthetic\"}], \"scenarios\": [{\"experiences\": 2}]}";

static void
test_plugin_faults (void)
{
  g_autofree char *mp = write_file ("faults.json", fault_matrix);
  g_autofree char *out = path_in ("faults-out");
  /* under AddressSanitizer a segfault is reported and turned into an
   * abort; here it must stay the signal a plain build dies of */
  const char *asan = g_getenv ("ASAN_OPTIONS");
  g_autofree char *asan_opts = g_strconcat (asan ? asan : "", asan ? ":" : "", "handle_segv=0", NULL);
  g_autofree char *err = NULL;
  gint64 t0 = g_get_monotonic_time ();
  /* the timeout leaves the other cells room to start and reach their
   * fault on a loaded machine under ASan (at 5 s, fault-alloc once timed
   * out before its first step at a load of 10 on 2 cores) */
  int rc = run (&err, (const char *[]) { "matrix", mp, "--out", out, "--plugin-path", fault_dir, "-j", "2",
                                         "--cell-timeout", "15", "--cell-memory", "400", "--quiet", NULL },
                (const char *[]) { "ASAN_OPTIONS", asan_opts, NULL });
  double wall = (double) (g_get_monotonic_time () - t0) / 1e6;
  g_test_message ("matrix of faulty plugins: %.1f s", wall);
  g_assert_cmpint (rc, ==, 1);   /* some cells failed; the matrix itself did not */
  g_assert_cmpfloat (wall, <, 60);
  g_autofree char *ip = g_build_filename (out, "index.json", NULL);
  g_autoptr (JsonObject) index = tu_load_json (ip);
  JsonArray *cells = json_object_get_array_member (index, "cells");
  g_assert_cmpuint (json_array_get_length (cells), ==, 4);
  for (guint i = 0; i < 4; i++)
    {
      JsonObject *c = json_array_get_object_element (cells, i);
      const char *method = json_object_get_string_member (c, "method");
      const char *status = json_object_get_string_member (c, "status");
      const char *reason = json_object_get_string_member_with_default (c, "reason", "");
      g_autofree char *res = g_build_filename (out, "cells", json_object_get_string_member (c, "id"), "result.json", NULL);
      g_test_message ("%s: %s %s", method, status, reason);
      if (g_str_equal (method, "naive"))
        {
          g_assert_cmpstr (status, ==, "ok");
          g_autoptr (JsonObject) r = tu_load_json (res);
          g_assert_cmpstr (json_object_get_string_member (r, "status"), ==, "ok");
          continue;
        }
      g_assert_cmpstr (status, ==, "failed");
      g_assert_false (g_file_test (res, G_FILE_TEST_EXISTS));
      const char *want = g_str_equal (method, "fault-segv") ? "killed by signal 11"
                         : g_str_equal (method, "fault-loop") ? "timeout" : "memory";
      if (strstr (reason, want) == NULL)
        g_error ("%s: expected \"%s\" in the reason, got \"%s\"", method, want, reason);
      g_autofree char *sp = g_build_filename (out, "cells", json_object_get_string_member (c, "id"), "status.json", NULL);
      g_autoptr (JsonObject) st = tu_load_json (sp);
      g_assert_cmpint (json_object_get_int_member (st, "signal"), ==, g_str_equal (method, "fault-segv") ? SIGSEGV : SIGKILL);
    }
}

/* ---- a full disk, an unwritable directory -------------------------------------- */

/* A tiny config: T experiences, one epoch. */
static char *
tiny_config (const char *name, int T, int epochs)
{
  g_autofree char *text = g_strdup_printf (
    "{\"model\": {\"name\": \"mlp\", \"hidden\": [32]}, \"strategy\": {\"name\": \"naive\"},"
    " \"dataset\": {\"name\": \"synthetic\", \"classes\": 4, \"dim\": 16, \"train_per_class\": 50,"
    "               \"test_per_class\": 20},"
    " \"scenario\": {\"experiences\": %d}, \"train\": {\"epochs\": %d, \"batch_size\": 16}}", T, epochs);
  return write_file (name, text);
}

/* Expects `lifelong run CFG --out OUT` to fail with one line naming
 * needle1 and needle2, and to leave no result. */
static void
expect_refused (const char *cfg, const char *out, const char *needle1, const char *needle2, double max_s)
{
  g_autofree char *err = NULL;
  gint64 t0 = g_get_monotonic_time ();
  int rc = run (&err, (const char *[]) { "run", cfg, "--out", out, "--quiet", NULL }, NULL);
  double took = (double) (g_get_monotonic_time () - t0) / 1e6;
  g_test_message ("--out %s: %.2f s: %s", out, took, err);
  g_assert_cmpint (rc, ==, 1);
  if (strstr (err, needle1) == NULL || strstr (err, needle2) == NULL)
    g_error ("expected \"%s\" and \"%s\" in: %s", needle1, needle2, err);
  g_assert_cmpint ((int) (strchr (err, '\n') - err + 1), ==, (int) strlen (err));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  if (max_s > 0)
    g_assert_cmpfloat (took, <, max_s);
}

/* In a mount namespace of this process's own (so nothing is left mounted
 * when it exits), a 200 KiB tmpfs at DIR/full.  FALSE, with the reason in
 * *why, when mounting is not permitted here. */
static gboolean
mount_tiny_fs (const char *where, char **why)
{
  if (unshare (CLONE_NEWNS) != 0)
    {
      *why = g_strdup_printf ("cannot make a mount namespace (unshare: %s)", g_strerror (errno));
      return FALSE;
    }
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0
      || mount ("tmpfs", where, "tmpfs", 0, "size=200k") != 0)
    {
      *why = g_strdup_printf ("cannot mount a tmpfs (%s)", g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

static void
test_full_disk (void)
{
  g_autofree char *full = path_in ("full");
  g_assert_cmpint (g_mkdir (full, 0755), ==, 0);
  g_autofree char *why = NULL;
  if (!mount_tiny_fs (full, &why))
    {
      g_test_skip (why);
      return;
    }
  /* fill it */
  g_autofree char *filler = g_build_filename (full, "filler", NULL);
  int fd = open (filler, O_WRONLY | O_CREAT, 0644);
  g_assert_cmpint (fd, >=, 0);
  char block[4096] = { 0 };
  while (write (fd, block, sizeof block) > 0)
    ;
  g_assert_cmpint (errno, ==, ENOSPC);
  close (fd);
  g_autofree char *out = g_build_filename (full, "r.json", NULL);
  /* two experiences: the checkpoint after the first is the write that fails */
  g_autofree char *two = tiny_config ("full-2.json", 2, 1);
  expect_refused (two, out, "r.ckpt.safetensors", "No space left on device", 0);
  /* one experience, no checkpoint: the result is */
  g_autofree char *one = tiny_config ("full-1.json", 1, 1);
  expect_refused (one, out, "r.json", "No space left on device", 0);
  /* and no temporary file stays behind */
  static const char *const keep[] = { "filler", "r.steps.jsonl", NULL };
  g_autoptr (GPtrArray) rest = others_in (full, keep);
  for (guint i = 0; i < rest->len; i++)
    g_error ("%s left in the full filesystem", (char *) rest->pdata[i]);

  /* a read-only directory (a read-only bind mount: root ignores modes) is
   * refused before any training: at once, with no step log */
  g_autofree char *ro = path_in ("ro");
  g_assert_cmpint (g_mkdir (ro, 0755), ==, 0);
  g_assert_cmpint (mount (ro, ro, NULL, MS_BIND, NULL), ==, 0);
  g_assert_cmpint (mount (NULL, ro, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), ==, 0);
  g_autofree char *slow = tiny_config ("slow.json", 2, 2000);
  g_autofree char *ro_out = g_build_filename (ro, "r.json", NULL);
  expect_refused (slow, ro_out, ro_out, "not writable", 5);
  g_autofree char *ro_log = g_build_filename (ro, "r.steps.jsonl", NULL);
  g_assert_false (g_file_test (ro_log, G_FILE_TEST_EXISTS));
  umount2 (ro, MNT_DETACH);
  umount2 (full, MNT_DETACH);
}

static void
test_unwritable_out (void)
{
  /* a config that would train for minutes: refused in well under that */
  g_autofree char *slow = tiny_config ("slow-2.json", 2, 2000);
  /* a file used as a directory (ENOTDIR) */
  expect_refused (slow, "/etc/hostname/r.json", "/etc/hostname/r.json", "not a directory", 5);
  /* a directory no one may create files in, root included */
  expect_refused (slow, "/proc/self/r.json", "/proc/self/r.json", "not writable", 5);
  /* one that is not there */
  g_autofree char *missing = path_in ("no-such-dir/r.json");
  expect_refused (slow, missing, missing, "does not exist", 5);
  g_autofree char *log = path_in ("no-such-dir/r.steps.jsonl");
  g_assert_false (g_file_test (log, G_FILE_TEST_EXISTS));
}

/* ---- numbers that blow up -------------------------------------------------------- */

static void
test_nan (void)
{
  /* SGD at the largest learning rate the config allows diverges */
  g_autofree char *cfg = write_file ("nan.json",
    "{\"model\": {\"name\": \"mlp\", \"hidden\": [32]}, \"strategy\": {\"name\": \"naive\"},"
    " \"dataset\": {\"name\": \"synthetic\", \"classes\": 4, \"dim\": 16, \"train_per_class\": 100,"
    "               \"test_per_class\": 50},"
    " \"scenario\": {\"experiences\": 2},"
    " \"train\": {\"epochs\": 10, \"batch_size\": 32, \"optimizer\": \"sgd\", \"lr\": 1000}}");
  g_autofree char *out = path_in ("nan-result.json");
  g_autofree char *err = NULL;
  int rc = run (&err, (const char *[]) { "run", cfg, "--out", out, "--quiet", NULL }, NULL);
  g_test_message ("%s", err);
  g_assert_cmpint (rc, ==, 1);
  g_assert_true (g_regex_match_simple ("experience [0-9]+, epoch [0-9]+, step [0-9]+: the (loss is|gradient of .* is not finite)",
                                       err, 0, 0));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

/* ---- a damaged checkpoint ---------------------------------------------------------- */

/* The checksum seals the data, not the header: a checkpoint whose progress
 * metadata says it finished experience -5 (found by fuzz-safetensors) must
 * be refused by name, where it once made the resumed run index before the
 * first experience and crash. */
static void
test_damaged_checkpoint (void)
{
  g_autofree char *cfg = tiny_config ("ck.json", 3, 1);
  g_autofree char *out = path_in ("ck-result.json");
  g_autofree char *ck = path_in ("ck-result.ckpt.safetensors");
  g_autofree char *err = NULL;
  /* a run that stops right after its first checkpoint */
  g_assert_cmpint (run (&err, (const char *[]) { "run", cfg, "--out", out, "--quiet", NULL },
                        (const char *[]) { "LIFELONG_TEST_ABORT_AFTER_EXPERIENCE", "0", NULL }), ==, 128 + SIGABRT);
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (ck, &bytes, &len, NULL));
  /* "experience_done":0 -> "experience_done":-5 in place: one byte longer,
   * so the header is rewritten with its new length */
  uint64_t hlen = 0;
  for (int k = 7; k >= 0; k--)
    hlen = hlen << 8 | (uint8_t) bytes[k];
  g_autofree char *header = g_strndup (bytes + 8, hlen);
  g_autofree char *pattern = g_strdup ("\\\"experience_done\\\":0");
  char *at = strstr (header, pattern);
  g_assert_nonnull (at);
  g_autoptr (GString) h = g_string_new_len (header, at - header);
  g_string_append (h, "\\\"experience_done\\\":-5");
  g_string_append (h, at + strlen (pattern));
  while (h->len % 8 != 0)
    g_string_append_c (h, ' ');
  g_autoptr (GString) file = g_string_new (NULL);
  for (int k = 0; k < 8; k++)
    g_string_append_c (file, (char) ((uint64_t) h->len >> (8 * k) & 0xff));
  g_string_append_len (file, h->str, (gssize) h->len);
  g_string_append_len (file, bytes + 8 + hlen, (gssize) (len - 8 - hlen));
  g_assert_true (g_file_set_contents (ck, file->str, (gssize) file->len, NULL));
  g_autofree char *err2 = NULL;
  int rc = run (&err2, (const char *[]) { "run", cfg, "--out", out, "--resume", "--quiet", NULL }, NULL);
  g_test_message ("%s", err2);
  g_assert_cmpint (rc, ==, 1);
  g_assert_nonnull (strstr (err2, ck));
  g_assert_nonnull (strstr (err2, "experience_done"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  exe = g_getenv ("LIFELONG_EXE");
  fault_dir = g_getenv ("LIFELONG_FAULTS_DIR");
  if (exe == NULL || fault_dir == NULL)
    {
      g_printerr ("LIFELONG_EXE and LIFELONG_FAULTS_DIR must be set (meson test sets them)\n");
      return 1;
    }
  dir = g_dir_make_tmp ("lifelong-faults-XXXXXX", NULL);
  g_test_add_func ("/faults/sigkill-run", test_sigkill_run);
  g_test_add_func ("/faults/plugins", test_plugin_faults);
  g_test_add_func ("/faults/unwritable-out", test_unwritable_out);
  g_test_add_func ("/faults/nan", test_nan);
  g_test_add_func ("/faults/damaged-checkpoint", test_damaged_checkpoint);
  /* last: it moves this process into a mount namespace of its own */
  g_test_add_func ("/faults/full-disk", test_full_disk);
  int rc = g_test_run ();
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  if (system (cmd) != 0)
    g_printerr ("could not remove %s\n", dir);
  return rc;
}
