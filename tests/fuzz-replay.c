/* lifelong tests — the fuzz harnesses (fuzz/fuzz-<target>.c) in the
 * ordinary build: each is fed every seed of fuzz/corpus/<target>/ and every
 * input that once crashed it (fuzz/regressions/<target>/), and must take
 * each without a crash, a failed property, a GLib critical or (in the
 * sanitizer build) a sanitizer report.  One test case per file, each in a
 * subprocess; docs/reliability.md. */
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
replay (gconstpointer data)
{
  const char *path = data;
  if (g_test_subprocess ())
    {
      g_autofree char *bytes = NULL;
      gsize len = 0;
      g_autoptr (GError) error = NULL;
      if (!g_file_get_contents (path, &bytes, &len, &error))
        g_error ("%s", error->message);
      LLVMFuzzerTestOneInput ((const uint8_t *) bytes, len);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  const char *src = g_getenv ("LIFELONG_SOURCE_DIR");
  if (src == NULL)
    {
      g_printerr ("LIFELONG_SOURCE_DIR must be set (meson test sets it)\n");
      return 1;
    }
  static const char *const kinds[] = { "corpus", "regressions" };
  int n = 0;
  for (int k = 0; k < 2; k++)
    {
      g_autofree char *dir = g_build_filename (src, "fuzz", kinds[k], FUZZ_TARGET, NULL);
      g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
      if (d == NULL)
        continue;
      g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      for (const char *name; (name = g_dir_read_name (d)) != NULL;)
        if (name[0] != '.' && !g_str_has_suffix (name, ".md"))
          g_ptr_array_add (names, g_strdup (name));
      g_ptr_array_sort (names, compare_names);
      for (guint i = 0; i < names->len; i++)
        {
          g_autofree char *test = g_strdup_printf ("/fuzz/%s/%s/%s", FUZZ_TARGET, kinds[k], (char *) names->pdata[i]);
          g_test_add_data_func_full (test, g_build_filename (dir, names->pdata[i], NULL), replay, g_free);
          n++;
        }
    }
  if (n == 0)
    {
      g_printerr ("no inputs for %s under %s/fuzz\n", FUZZ_TARGET, src);
      return 1;
    }
  return g_test_run ();
}
