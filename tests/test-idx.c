/* lifelong tests — the IDX reader: raw and gzip files read back exactly;
 * every corruption gets an error that names the file and the fault. */
#include <lifelong/lifelong.h>
#include <glib/gstdio.h>
#include <sys/resource.h>
#include <zlib.h>

static char *dir;

static char *
write_file (const char *name, const void *data, size_t n, gboolean gz)
{
  char *path = g_build_filename (dir, name, NULL);
  if (gz)
    {
      gzFile f = gzopen (path, "wb");
      g_assert_nonnull (f);
      g_assert_cmpint (gzwrite (f, data, (unsigned) n), ==, (int) n);
      gzclose (f);
    }
  else
    g_assert_true (g_file_set_contents (path, data, (gssize) n, NULL));
  return path;
}

/* a 3 x 2 x 2 image file */
static const uint8_t good[] = { 0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2,
                                1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

static void
test_read_good (void)
{
  for (int gz = 0; gz < 2; gz++)
    {
      g_autofree char *path = write_file (gz ? "good.gz" : "good", good, sizeof good, gz);
      LfIdx idx;
      g_autoptr (GError) error = NULL;
      g_assert_true (lf_idx_load (path, &idx, &error));
      g_assert_no_error (error);
      g_assert_cmpint (idx.ndim, ==, 3);
      g_assert_cmpint (idx.dims[0], ==, 3);
      g_assert_cmpint (idx.item_size, ==, 4);
      g_assert_cmpmem (idx.data, 12, good + 16, 12);
      lf_idx_clear (&idx);
    }
}

static void
expect_error (const char *name, const uint8_t *data, size_t n, gboolean gz, int code, const char *needle)
{
  g_autofree char *path = write_file (name, data, n, gz);
  LfIdx idx;
  g_autoptr (GError) error = NULL;
  g_assert_false (lf_idx_load (path, &idx, &error));
  g_assert_error (error, LF_IDX_ERROR, code);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, needle));
  g_assert_null (idx.data);
}

static void
test_corrupt (void)
{
  uint8_t bad[sizeof good];
  memcpy (bad, good, sizeof good);
  bad[0] = 0x1f;
  expect_error ("magic", bad, sizeof bad, FALSE, LF_IDX_ERROR_FORMAT, "not an IDX file");
  memcpy (bad, good, sizeof good);
  bad[2] = 0x0d;
  expect_error ("type", bad, sizeof bad, FALSE, LF_IDX_ERROR_FORMAT, "element type 0x0d");
  memcpy (bad, good, sizeof good);
  bad[3] = 9;
  expect_error ("ndim", bad, sizeof bad, FALSE, LF_IDX_ERROR_FORMAT, "9 dimensions");
  memcpy (bad, good, sizeof good);
  bad[7] = 0;
  expect_error ("zero", bad, sizeof bad, FALSE, LF_IDX_ERROR_FORMAT, "dimension 0 is 0");
  expect_error ("short-data", good, sizeof good - 3, FALSE, LF_IDX_ERROR_TRUNCATED, "truncated");
  expect_error ("short-data.gz", good, sizeof good - 3, TRUE, LF_IDX_ERROR_TRUNCATED, "truncated");
  expect_error ("short-header", good, 10, FALSE, LF_IDX_ERROR_TRUNCATED, "dimensions");
  expect_error ("empty", good, 0, FALSE, LF_IDX_ERROR_TRUNCATED, "header");
  uint8_t longer[sizeof good + 1];
  memcpy (longer, good, sizeof good);
  longer[sizeof good] = 7;
  expect_error ("trailing", longer, sizeof longer, FALSE, LF_IDX_ERROR_TRAILING, "trailing");
  /* a gzip stream cut in half */
  g_autofree char *gzpath = write_file ("whole.gz", good, sizeof good, TRUE);
  g_autofree char *gzdata = NULL;
  gsize gzlen;
  g_assert_true (g_file_get_contents (gzpath, &gzdata, &gzlen, NULL));
  g_autofree char *cut = write_file ("cut.gz", gzdata, gzlen / 2, FALSE);
  LfIdx idx;
  g_autoptr (GError) error = NULL;
  g_assert_false (lf_idx_load (cut, &idx, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, cut));
  g_autofree char *missing = g_build_filename (dir, "missing", NULL);
  g_clear_error (&error);
  g_assert_false (lf_idx_load (missing, &idx, &error));
  g_assert_error (error, LF_IDX_ERROR, LF_IDX_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "missing"));
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature (address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* A header promising 16 GiB (16384 x 1024 x 1024) in front of 10 bytes,
 * found by fuzz-idx (fuzz/regressions/idx/header-promises-16gb): the reader
 * must fail on the missing data, not first allocate what the header
 * claims.  Under a 1 GiB address-space limit it still says "truncated". */
static void
test_huge_header (void)
{
#ifdef UNDER_ASAN
  g_test_skip ("AddressSanitizer reserves more address space than the limit this test sets");
#else
  if (g_test_subprocess ())
    {
      static const uint8_t huge[] = { 0, 0, 8, 3, 0, 0, 0x40, 0, 0, 0, 4, 0, 0, 0, 4, 0,
                                      1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
      struct rlimit rl = { (rlim_t) 1 << 30, (rlim_t) 1 << 30 };
      g_assert_cmpint (setrlimit (RLIMIT_AS, &rl), ==, 0);
      for (int gz = 0; gz < 2; gz++)
        expect_error (gz ? "huge.gz" : "huge", huge, sizeof huge, gz, LF_IDX_ERROR_TRUNCATED,
                      "the data needs 17179869184 bytes, the file has 10");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
#endif
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  dir = g_dir_make_tmp ("lifelong-idx-XXXXXX", NULL);
  g_test_add_func ("/idx/read", test_read_good);
  g_test_add_func ("/idx/corrupt", test_corrupt);
  g_test_add_func ("/idx/huge-header", test_huge_header);
  int r = g_test_run ();
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (dir);
  g_free (dir);
  return r;
}
