/* lifelong plugin — dataset "fortunes": Debian's fortune files as text by
 * domain ("en/computers", "de/computer", "it/italia", ...).  The top folder
 * holds the English categories (and symlinks into other languages, which
 * are not followed); de/, it/, es/ hold the others.  Every fortune is one
 * sample; every tenth (by its place in its file) is a test sample; the
 * label of a sample is its domain, for text classification. */
#include <lifelong/lifelong.h>
#include "fortune-file.h"
#include <glib/gstdio.h>
#include <sys/stat.h>

typedef struct {
  GPtrArray *text[2];      /* GBytes per sample, by split */
  GArray    *domain[2];    /* int32 per sample */
  char     **domain_names; /* NULL-terminated */
  int64_t    n_domains;
} Fortunes;

static const LfParam fortunes_params[] = {
  { "path", LF_PARAM_STRING, "\"/usr/share/games/fortunes\"", 0, 0, NULL,
    "folder of fortune files (Debian's fortunes, fortunes-de, fortunes-it, fortunes-es)" },
  { "domains", LF_PARAM_STRING_LIST, "[\"en/computers\", \"en/science\", \"en/literature\", \"en/linux\"]", 0, 0,
    NULL, "domain ids in order: \"en/<file>\" for the top folder, \"<lang>/<file>\" for a language folder" },
  { "max_bytes", LF_PARAM_INT, "2048", 16, 1e7, NULL, "longer fortunes are cut to this many bytes" },
  { NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void fortunes_close (void *self);

/* "en/computers" -> <path>/computers; "de/computer" -> <path>/de/computer
 * (also tries the ".fortunes" suffix Spanish files use). */
static char *
fortunes_file (const char *root, const char *domain, GError **error)
{
  const char *slash = strchr (domain, '/');
  if (slash == NULL || slash == domain || slash[1] == '\0' || strchr (slash + 1, '/') || strstr (domain, ".."))
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                   "dataset.domains: \"%s\" is not a domain id (expected LANG/CATEGORY, e.g. en/computers)", domain);
      return NULL;
    }
  g_autofree char *lang = g_strndup (domain, (gsize) (slash - domain));
  const char *cat = slash + 1;
  for (int suffix = 0; suffix < 2; suffix++)
    {
      g_autofree char *name = g_strconcat (cat, suffix ? ".fortunes" : "", NULL);
      char *p = g_str_equal (lang, "en") ? g_build_filename (root, name, NULL)
                                          : g_build_filename (root, lang, name, NULL);
      GStatBuf st;
      /* regular files only: the top folder's symlinks point into other languages */
      if (g_lstat (p, &st) == 0 && S_ISREG (st.st_mode))
        return p;
      g_free (p);
    }
  g_set_error (error, LF_ERROR, LF_ERROR_IO,
               "dataset.domains: no fortune file for \"%s\" under %s (is Debian's fortunes%s%s installed?)",
               domain, root, g_str_equal (lang, "en") ? "" : "-", g_str_equal (lang, "en") ? "" : lang);
  return NULL;
}

static void *
fortunes_open (const LfParams *p, uint64_t key, GError **error)
{
  (void) key;
  const char *root = lf_params_get_string (p, "path");
  int64_t nd, max_bytes = lf_params_get_int (p, "max_bytes");
  const char *const *domains = lf_params_get_string_list (p, "domains", &nd);
  if (nd == 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "dataset.domains: empty");
      return NULL;
    }
  Fortunes *f = g_new0 (Fortunes, 1);
  for (int s = 0; s < 2; s++)
    {
      f->text[s] = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      f->domain[s] = g_array_new (FALSE, FALSE, sizeof (int32_t));
    }
  f->domain_names = g_new0 (char *, nd + 1);
  f->n_domains = nd;
  for (int64_t d = 0; d < nd; d++)
    {
      for (int64_t e = 0; e < d; e++)
        if (g_str_equal (domains[e], domains[d]))
          {
            g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "dataset.domains: \"%s\" is listed twice", domains[d]);
            fortunes_close (f);
            return NULL;
          }
      f->domain_names[d] = g_strdup (domains[d]);
      g_autofree char *file = fortunes_file (root, domains[d], error);
      g_autofree char *text = NULL;
      gsize len;
      if (file == NULL)
        {
          fortunes_close (f);
          return NULL;
        }
      if (!g_file_get_contents (file, &text, &len, error))
        {
          fortunes_close (f);
          return NULL;
        }
      /* fortunes are separated by lines holding a single '%' */
      g_autoptr (GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      int64_t k = fortune_file_split (text, len, (gsize) max_bytes, all);
      for (int64_t j = 0; j < k; j++)
        {
          int split = FORTUNE_IS_TEST (j) ? 1 : 0;   /* every tenth fortune is a test sample */
          g_ptr_array_add (f->text[split], g_bytes_ref (all->pdata[j]));
          int32_t dd = (int32_t) d;
          g_array_append_val (f->domain[split], dd);
        }
      if (k < 10)
        {
          g_set_error (error, LF_ERROR, LF_ERROR_INVALID, "%s: only %" G_GINT64_FORMAT " fortunes (need at least 10)",
                       file, k);
          fortunes_close (f);
          return NULL;
        }
    }
  return f;
}

static void
fortunes_close (void *self)
{
  Fortunes *f = self;
  for (int s = 0; s < 2; s++)
    {
      g_ptr_array_unref (f->text[s]);
      g_array_unref (f->domain[s]);
    }
  g_strfreev (f->domain_names);
  g_free (f);
}

static void
fortunes_info (void *self, LfDatasetInfo *info)
{
  Fortunes *f = self;
  info->n_train = f->text[0]->len;
  info->n_test = f->text[1]->len;
  info->input_ndim = 0;
  info->vocab = 256;
  info->n_classes = f->n_domains;
  info->n_domains = f->n_domains;
  info->class_names = (const char *const *) f->domain_names;
  info->domain_names = (const char *const *) f->domain_names;
}

static int32_t
fortunes_domain (void *self, LfSplit split, int64_t i)
{
  return g_array_index (((Fortunes *) self)->domain[split], int32_t, i);
}

static int64_t
fortunes_sequence (void *self, LfSplit split, int64_t i, const uint8_t **bytes)
{
  gsize n;
  *bytes = g_bytes_get_data (((Fortunes *) self)->text[split]->pdata[i], &n);
  return (int64_t) n;
}

static const LfDatasetVTable fortunes_vtable = {
  .struct_size = sizeof (LfDatasetVTable),
  .open = fortunes_open,
  .close = fortunes_close,
  .info = fortunes_info,
  .label = fortunes_domain,
  .domain = fortunes_domain,
  .sequence = fortunes_sequence,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_DATASET,
    .name = "fortunes",
    .version = "0.1.0",
    .summary = "Debian's fortune files: real text by category and language, one domain per file",
    .params = fortunes_params,
    .vtable = &fortunes_vtable,
  };
  return &info;
}
