/* lifelong — safetensors checkpoints.  The writer is atomic (temporary file,
 * fsync, rename, fsync of the directory) and seals the data with a SHA-256;
 * the reader maps the file and checks every field before trusting any. */
#include "safetensors.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

G_DEFINE_QUARK (lf-safetensors-error-quark, lf_safetensors_error)

/* Hugging Face's reader refuses headers above this too: anything larger is
 * not a header but garbage read as a length. */
#define ST_MAX_HEADER 100000000u
#define ST_CHECKSUM_PREFIX "sha256:"

/* The writer stores LfReal bytes as F32: this file belongs to the float
 * build only. */
_Static_assert (sizeof (LfReal) == sizeof (float), "safetensors.c writes LfReal as F32");

/* ---- dtypes -------------------------------------------------------------- */

/* Every fixed-size dtype of the safetensors format, so that a file is
 * validated whole even when a tensor has a dtype lifelong cannot convert;
 * lf_safetensors_get refuses those. */
typedef struct {
  const char *name;
  uint32_t    size;
  gboolean    readable;
} StDtype;

static const StDtype st_dtypes[] = {
  { "F32", 4, TRUE }, { "F16", 2, TRUE }, { "BF16", 2, TRUE },
  { "F64", 8, FALSE }, { "I64", 8, FALSE }, { "U64", 8, FALSE },
  { "I32", 4, FALSE }, { "U32", 4, FALSE }, { "I16", 2, FALSE }, { "U16", 2, FALSE },
  { "I8", 1, FALSE }, { "U8", 1, FALSE }, { "BOOL", 1, FALSE },
  { "F8_E4M3", 1, FALSE }, { "F8_E5M2", 1, FALSE }, { "F8_E8M0", 1, FALSE },
};

static const StDtype *
st_dtype_lookup (const char *name)
{
  for (unsigned i = 0; i < G_N_ELEMENTS (st_dtypes); i++)
    if (strcmp (st_dtypes[i].name, name) == 0)
      return &st_dtypes[i];
  return NULL;
}

static float
bits_to_f32 (uint32_t bits)
{
  float f;
  memcpy (&f, &bits, sizeof f);
  return f;
}

float
lf_f16_to_f32 (uint16_t h)
{
  const uint32_t sign = (uint32_t) (h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0)
    {
      /* zero or subnormal: mant * 2^-24, exact in float (a normal there) */
      float v = (float) mant * 0x1p-24f;
      return sign ? -v : v;
    }
  if (exp == 0x1f)   /* inf, or NaN keeping its payload (and quiet bit) */
    return bits_to_f32 (sign | 0x7f800000u | mant << 13);
  return bits_to_f32 (sign | (exp + 127 - 15) << 23 | mant << 13);
}

float
lf_bf16_to_f32 (uint16_t h)
{
  /* bfloat16 is the top half of a float32, whatever the value */
  return bits_to_f32 ((uint32_t) h << 16);
}

/* ---- writing --------------------------------------------------------------- */

static gboolean
write_all (int fd, const void *buf, size_t n)
{
  const uint8_t *p = buf;
  while (n > 0)
    {
      ssize_t w = write (fd, p, MIN (n, (size_t) 1 << 30));
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        {
          if (w == 0)
            errno = EIO;
          return FALSE;
        }
      p += w;
      n -= (size_t) w;
    }
  return TRUE;
}

/* A tensor's values as little-endian float32 bytes: the data itself on a
 * little-endian host, else a swapped copy in *tmp (freed by the caller). */
static const void *
tensor_le_bytes (LfTensor *t, uint32_t **tmp)
{
  *tmp = NULL;
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  return lf_tensor_data (t);
#else
  const int64_t n = lf_tensor_numel (t);
  uint32_t *le = g_new (uint32_t, n);
  memcpy (le, lf_tensor_data (t), (size_t) n * sizeof *le);
  for (int64_t i = 0; i < n; i++)
    le[i] = GUINT32_TO_LE (le[i]);
  *tmp = le;
  return le;
#endif
}

static gboolean
is_reserved_key (const char *key)
{
  return strcmp (key, "format") == 0 || strcmp (key, "format_version") == 0
         || strcmp (key, "checksum") == 0;
}

static gboolean
check_write_args (const char *path, int n, const char *const *names, LfTensor *const *tensors,
                  const char *const *meta_keys, const char *const *meta_values, int n_meta,
                  GError **error)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (int i = 0; i < n; i++)
    {
      if (names[i] == NULL || names[i][0] == '\0' || strcmp (names[i], "__metadata__") == 0)
        {
          g_set_error (error, LF_SAFETENSORS_ERROR, LF_SAFETENSORS_ERROR_INVALID,
                       "%s: tensor %d has no usable name (%s)", path, i,
                       names[i] == NULL ? "NULL" : names[i][0] == '\0' ? "empty" : "__metadata__");
          return FALSE;
        }
      if (!g_hash_table_add (seen, (gpointer) names[i]))
        {
          g_set_error (error, LF_SAFETENSORS_ERROR, LF_SAFETENSORS_ERROR_INVALID,
                       "%s: tensor name '%s' appears twice", path, names[i]);
          return FALSE;
        }
      if (tensors[i] == NULL)
        {
          g_set_error (error, LF_SAFETENSORS_ERROR, LF_SAFETENSORS_ERROR_INVALID,
                       "%s: tensor '%s' is NULL", path, names[i]);
          return FALSE;
        }
    }
  g_hash_table_remove_all (seen);
  for (int i = 0; i < n_meta; i++)
    {
      if (meta_keys[i] == NULL || meta_values[i] == NULL)
        {
          g_set_error (error, LF_SAFETENSORS_ERROR, LF_SAFETENSORS_ERROR_INVALID,
                       "%s: metadata entry %d has a NULL key or value", path, i);
          return FALSE;
        }
      if (is_reserved_key (meta_keys[i]))
        {
          g_set_error (error, LF_SAFETENSORS_ERROR, LF_SAFETENSORS_ERROR_INVALID,
                       "%s: metadata key '%s' is reserved for the writer", path, meta_keys[i]);
          return FALSE;
        }
      if (!g_hash_table_add (seen, (gpointer) meta_keys[i]))
        {
          g_set_error (error, LF_SAFETENSORS_ERROR, LF_SAFETENSORS_ERROR_INVALID,
                       "%s: metadata key '%s' appears twice", path, meta_keys[i]);
          return FALSE;
        }
    }
  return TRUE;
}

/* The JSON header, padded with spaces to a multiple of 8 so that the data
 * section starts 8-aligned in the file. */
static char *
build_header (int n, const char *const *names, LfTensor *const *tensors,
              const char *const *meta_keys, const char *const *meta_values, int n_meta,
              const char *format, const char *checksum, size_t *len_out)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "__metadata__");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, format);
  json_builder_set_member_name (b, "format_version");
  json_builder_add_string_value (b, G_STRINGIFY (LF_SAFETENSORS_FORMAT_VERSION));
  json_builder_set_member_name (b, "checksum");
  json_builder_add_string_value (b, checksum);
  for (int i = 0; i < n_meta; i++)
    {
      json_builder_set_member_name (b, meta_keys[i]);
      json_builder_add_string_value (b, meta_values[i]);
    }
  json_builder_end_object (b);
  int64_t offset = 0;
  for (int i = 0; i < n; i++)
    {
      const int ndim = lf_tensor_ndim (tensors[i]);
      const int64_t *shape = lf_tensor_shape (tensors[i]);
      const int64_t bytes = lf_tensor_numel (tensors[i]) * (int64_t) sizeof (float);
      json_builder_set_member_name (b, names[i]);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "dtype");
      json_builder_add_string_value (b, "F32");
      json_builder_set_member_name (b, "shape");
      json_builder_begin_array (b);
      for (int d = 0; d < ndim; d++)
        json_builder_add_int_value (b, shape[d]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "data_offsets");
      json_builder_begin_array (b);
      json_builder_add_int_value (b, offset);
      json_builder_add_int_value (b, offset + bytes);
      json_builder_end_array (b);
      json_builder_end_object (b);
      offset += bytes;
    }
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, root);
  gsize len;
  g_autofree char *json = json_generator_to_data (gen, &len);
  const size_t padded = (len + 7) / 8 * 8;
  char *header = g_malloc (padded);
  memcpy (header, json, len);
  memset (header + len, ' ', padded - len);
  *len_out = padded;
  return header;
}

static void
set_io_error (GError **error, const char *path, const char *what, int errnum)
{
  g_set_error (error, LF_SAFETENSORS_ERROR, LF_SAFETENSORS_ERROR_IO,
               "%s: %s: %s", path, what, g_strerror (errnum));
}

gboolean
lf_safetensors_write (const char *path, int n, const char *const *names,
                      LfTensor *const *tensors,
                      const char *const *meta_keys, const char *const *meta_values,
                      int n_meta, GError **error)
{
  return lf_safetensors_write_format (path, LF_SAFETENSORS_FORMAT, n, names, tensors, meta_keys, meta_values,
                                      n_meta, error);
}

gboolean
lf_safetensors_write_format (const char *path, const char *format, int n, const char *const *names,
                             LfTensor *const *tensors,
                             const char *const *meta_keys, const char *const *meta_values,
                             int n_meta, GError **error)
{
  g_return_val_if_fail (path != NULL && format != NULL && *format != '\0' && n >= 0 && n_meta >= 0, FALSE);
  g_return_val_if_fail (n == 0 || (names != NULL && tensors != NULL), FALSE);
  g_return_val_if_fail (n_meta == 0 || (meta_keys != NULL && meta_values != NULL), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  if (!check_write_args (path, n, names, tensors, meta_keys, meta_values, n_meta, error))
    return FALSE;

  /* The checksum goes in the header, so it is computed first. */
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  for (int i = 0; i < n; i++)
    {
      g_autofree uint32_t *tmp = NULL;
      const void *bytes = tensor_le_bytes (tensors[i], &tmp);
      const size_t len = (size_t) lf_tensor_numel (tensors[i]) * sizeof (float);
      for (size_t off = 0; off < len; off += (size_t) 1 << 30)
        g_checksum_update (sum, (const guchar *) bytes + off, (gssize) MIN (len - off, (size_t) 1 << 30));
    }
  g_autofree char *checksum = g_strconcat (ST_CHECKSUM_PREFIX, g_checksum_get_string (sum), NULL);
  size_t header_len;
  g_autofree char *header = build_header (n, names, tensors, meta_keys, meta_values, n_meta,
                                          format, checksum, &header_len);

  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *tmp_path = g_strconcat (path, ".tmp-XXXXXX", NULL);
  int fd = g_mkstemp_full (tmp_path, O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      const int errnum = errno;
      g_autofree char *what = g_strdup_printf ("cannot create a temporary file in %s", dir);
      set_io_error (error, path, what, errnum);
      return FALSE;
    }

  uint8_t len_le[8];
  for (int k = 0; k < 8; k++)
    len_le[k] = (uint8_t) ((uint64_t) header_len >> (8 * k));
  gboolean ok = write_all (fd, len_le, sizeof len_le) && write_all (fd, header, header_len);
  for (int i = 0; ok && i < n; i++)
    {
      g_autofree uint32_t *tmp = NULL;
      const void *bytes = tensor_le_bytes (tensors[i], &tmp);
      ok = write_all (fd, bytes, (size_t) lf_tensor_numel (tensors[i]) * sizeof (float));
    }
  if (!ok)
    {
      set_io_error (error, path, "cannot write the temporary file", errno);
      goto fail;
    }
  if (fsync (fd) != 0)
    {
      set_io_error (error, path, "cannot sync the temporary file", errno);
      goto fail;
    }
  const int fd_closed = fd;
  fd = -1;
  if (close (fd_closed) != 0)
    {
      set_io_error (error, path, "cannot close the temporary file", errno);
      goto fail;
    }
  if (rename (tmp_path, path) != 0)
    {
      const int errnum = errno;
      g_autofree char *what = g_strdup_printf ("cannot rename %s to it", tmp_path);
      set_io_error (error, path, what, errnum);
      goto fail;
    }

  /* The rename is durable only once the directory is on disk too.  Past
   * this point the new file is in place, complete and valid: a failure is
   * reported, but the file stays. */
  int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    {
      set_io_error (error, path, "cannot open its directory to sync it", errno);
      return FALSE;
    }
  /* Some file systems cannot sync a directory (EINVAL): nothing to do. */
  if (fsync (dfd) != 0 && errno != EINVAL)
    {
      set_io_error (error, path, "cannot sync its directory", errno);
      close (dfd);
      return FALSE;
    }
  close (dfd);
  return TRUE;

fail:
  if (fd >= 0)
    close (fd);
  g_unlink (tmp_path);
  return FALSE;
}

/* ---- reading --------------------------------------------------------------- */

typedef struct {
  char          *name;
  const StDtype *dtype;
  int            ndim;
  int64_t       *shape;
  uint64_t       begin, end;    /* within the data section */
  guint          order;         /* position in the header */
} StEntry;

struct LfSafetensors {
  char        *path;
  GMappedFile *map;
  const uint8_t *data;          /* the data section */
  size_t       data_len;
  GPtrArray   *entries;         /* StEntry, in data order */
  GHashTable  *by_name;         /* name -> StEntry */
  GHashTable  *meta;            /* key -> value, both owned */
  const char **names;           /* NULL-terminated, in data order */
};

static void
st_entry_free (gpointer p)
{
  StEntry *e = p;
  g_free (e->name);
  g_free (e->shape);
  g_free (e);
}

void
lf_safetensors_free (LfSafetensors *st)
{
  if (st == NULL)
    return;
  g_free (st->names);
  g_clear_pointer (&st->by_name, g_hash_table_unref);
  g_clear_pointer (&st->entries, g_ptr_array_unref);
  g_clear_pointer (&st->meta, g_hash_table_unref);
  g_clear_pointer (&st->map, g_mapped_file_unref);
  g_free (st->path);
  g_free (st);
}

#define ST_FAIL(code, ...)                                                    \
  do {                                                                        \
    g_set_error (error, LF_SAFETENSORS_ERROR, LF_SAFETENSORS_ERROR_##code, __VA_ARGS__); \
    return FALSE;                                                             \
  } while (0)

/* A JSON integer >= 0 (json-glib parses integers as int64, anything with a
 * point or an exponent as double: both "2.0" and "-1" are refused). */
static gboolean
json_uint (JsonNode *node, uint64_t *out)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  const int64_t v = json_node_get_int (node);
  if (v < 0)
    return FALSE;
  *out = (uint64_t) v;
  return TRUE;
}

static gboolean
parse_metadata (LfSafetensors *st, JsonNode *node, GError **error)
{
  const char *path = st->path;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    ST_FAIL (FORMAT, "%s: __metadata__ is not a JSON object", path);
  JsonObjectIter it;
  const char *key;
  JsonNode *value;
  json_object_iter_init (&it, json_node_get_object (node));
  while (json_object_iter_next (&it, &key, &value))
    {
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        ST_FAIL (FORMAT, "%s: __metadata__.%s is not a string (safetensors metadata maps strings to strings)",
                 path, key);
      g_hash_table_insert (st->meta, g_strdup (key), g_strdup (json_node_get_string (value)));
    }
  return TRUE;
}

static gboolean
parse_entry (LfSafetensors *st, const char *name, JsonNode *node, GError **error)
{
  const char *path = st->path;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    ST_FAIL (FORMAT, "%s: tensor '%s': the entry is not a JSON object", path, name);
  JsonObject *o = json_node_get_object (node);

  JsonNode *dn = json_object_get_member (o, "dtype");
  if (dn == NULL || !JSON_NODE_HOLDS_VALUE (dn) || json_node_get_value_type (dn) != G_TYPE_STRING)
    ST_FAIL (FORMAT, "%s: tensor '%s': dtype is missing or not a string", path, name);
  const char *dtype_name = json_node_get_string (dn);
  const StDtype *dtype = st_dtype_lookup (dtype_name);
  if (dtype == NULL)
    ST_FAIL (FORMAT, "%s: tensor '%s': unknown dtype \"%s\"", path, name, dtype_name);

  JsonNode *sn = json_object_get_member (o, "shape");
  if (sn == NULL || !JSON_NODE_HOLDS_ARRAY (sn))
    ST_FAIL (FORMAT, "%s: tensor '%s': shape is missing or not an array", path, name);
  JsonArray *sa = json_node_get_array (sn);
  const guint ndim = json_array_get_length (sa);
  if (ndim > 64)
    ST_FAIL (FORMAT, "%s: tensor '%s': shape has %u dims", path, name, ndim);
  g_autofree int64_t *shape = g_new (int64_t, MAX (ndim, 1u));
  uint64_t numel = 1;
  for (guint d = 0; d < ndim; d++)
    {
      uint64_t v;
      if (!json_uint (json_array_get_element (sa, d), &v) || v > (uint64_t) G_MAXINT64)
        ST_FAIL (FORMAT, "%s: tensor '%s': shape[%u] is not a non-negative integer", path, name, d);
      shape[d] = (int64_t) v;
      if (!g_uint64_checked_mul (&numel, numel, v))
        ST_FAIL (FORMAT, "%s: tensor '%s': the shape's product overflows", path, name);
    }
  uint64_t bytes;
  if (!g_uint64_checked_mul (&bytes, numel, dtype->size))
    ST_FAIL (FORMAT, "%s: tensor '%s': the shape's size in bytes overflows", path, name);

  JsonNode *on = json_object_get_member (o, "data_offsets");
  uint64_t begin, end;
  if (on == NULL || !JSON_NODE_HOLDS_ARRAY (on) || json_array_get_length (json_node_get_array (on)) != 2
      || !json_uint (json_array_get_element (json_node_get_array (on), 0), &begin)
      || !json_uint (json_array_get_element (json_node_get_array (on), 1), &end))
    ST_FAIL (FORMAT, "%s: tensor '%s': data_offsets is not a pair of non-negative integers [begin, end]",
             path, name);
  if (end < begin)
    ST_FAIL (FORMAT, "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] decrease",
             path, name, begin, end);
  if (end - begin != bytes)
    {
      g_autoptr (GString) s = g_string_new ("(");
      for (guint d = 0; d < ndim; d++)
        g_string_append_printf (s, "%s%" PRId64, d ? ", " : "", shape[d]);
      g_string_append_c (s, ')');
      ST_FAIL (FORMAT, "%s: tensor '%s': shape %s of %s needs %" PRIu64 " bytes, but data_offsets [%"
               PRIu64 ", %" PRIu64 "] hold %" PRIu64, path, name, s->str, dtype->name, bytes, begin, end,
               end - begin);
    }
  if (end > st->data_len)
    ST_FAIL (TRUNCATED, "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] run past the end of "
             "the data section (%zu bytes): the file is truncated or the offsets are wrong",
             path, name, begin, end, st->data_len);

  StEntry *e = g_new0 (StEntry, 1);
  e->name = g_strdup (name);
  e->dtype = dtype;
  e->ndim = (int) ndim;
  e->shape = g_steal_pointer (&shape);
  e->begin = begin;
  e->end = end;
  e->order = st->entries->len;
  g_ptr_array_add (st->entries, e);
  g_hash_table_insert (st->by_name, e->name, e);
  return TRUE;
}

static gint
entry_cmp (gconstpointer a, gconstpointer b)
{
  const StEntry *x = *(StEntry *const *) a, *y = *(StEntry *const *) b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* The tensors must tile the data section exactly: sorted by offset, each
 * starts where the previous ended, the first at 0, the last at the end. */
static gboolean
check_tiling (LfSafetensors *st, GError **error)
{
  const char *path = st->path;
  g_ptr_array_sort (st->entries, entry_cmp);
  uint64_t at = 0;
  const StEntry *prev = NULL;
  for (guint i = 0; i < st->entries->len; i++)
    {
      const StEntry *e = g_ptr_array_index (st->entries, i);
      if (e->begin < at)
        ST_FAIL (FORMAT, "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] overlap tensor '%s' "
                 "(which ends at %" PRIu64 ")", path, e->name, e->begin, e->end, prev->name, at);
      if (e->begin > at)
        ST_FAIL (FORMAT, "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] leave a gap of %" PRIu64
                 " bytes after %s%s%s (the tensors must tile the data section)", path, e->name, e->begin,
                 e->end, e->begin - at, prev ? "tensor '" : "the start", prev ? prev->name : "",
                 prev ? "'" : "");
      at = e->end;
      prev = e;
    }
  if (at < st->data_len)
    ST_FAIL (FORMAT, "%s: %" PRIu64 " trailing bytes after the last tensor's data", path,
             (uint64_t) st->data_len - at);
  return TRUE;
}

static gboolean
check_metadata (LfSafetensors *st, GError **error)
{
  const char *path = st->path;
  const char *format = g_hash_table_lookup (st->meta, "format");
  if (g_strcmp0 (format, LF_SAFETENSORS_FORMAT) == 0)
    {
      const char *v = g_hash_table_lookup (st->meta, "format_version");
      guint64 version;
      if (v == NULL || !g_ascii_string_to_unsigned (v, 10, 1, G_MAXINT, &version, NULL))
        ST_FAIL (FORMAT, "%s: __metadata__.format_version is %s%s%s, not a version number", path,
                 v ? "\"" : "", v ? v : "missing", v ? "\"" : "");
      if (version > LF_SAFETENSORS_FORMAT_VERSION)
        ST_FAIL (UNSUPPORTED, "%s: __metadata__.format_version %s is newer than this lifelong reads (%d)",
                 path, v, LF_SAFETENSORS_FORMAT_VERSION);
    }
  const char *want = g_hash_table_lookup (st->meta, "checksum");
  if (want == NULL)
    return TRUE;
  if (!g_str_has_prefix (want, ST_CHECKSUM_PREFIX))
    ST_FAIL (FORMAT, "%s: __metadata__.checksum \"%s\" is not " ST_CHECKSUM_PREFIX "<hex>", path, want);
  g_autofree char *got = g_compute_checksum_for_data (G_CHECKSUM_SHA256, st->data, st->data_len);
  if (g_ascii_strcasecmp (want + strlen (ST_CHECKSUM_PREFIX), got) != 0)
    ST_FAIL (CORRUPT, "%s: the data section does not match __metadata__.checksum: the file is corrupt "
             "or truncated (expected %s, found " ST_CHECKSUM_PREFIX "%s)", path, want, got);
  return TRUE;
}

static gboolean
st_load (LfSafetensors *st, GError **error)
{
  const char *path = st->path;
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    ST_FAIL (IO, "%s: cannot open: %s", path, g_strerror (errno));
  struct stat sb;
  if (fstat (fd, &sb) != 0)
    {
      const int errnum = errno;
      close (fd);
      ST_FAIL (IO, "%s: cannot read: %s", path, g_strerror (errnum));
    }
  if (!S_ISREG (sb.st_mode))
    {
      close (fd);
      ST_FAIL (IO, "%s: cannot read: not a regular file", path);
    }
  g_autoptr (GError) map_error = NULL;
  st->map = sb.st_size > 0 ? g_mapped_file_new_from_fd (fd, FALSE, &map_error) : NULL;
  close (fd);
  if (sb.st_size > 0 && st->map == NULL)
    ST_FAIL (IO, "%s: cannot map: %s", path, map_error->message);
  const uint8_t *bytes = st->map ? (const uint8_t *) g_mapped_file_get_contents (st->map) : NULL;
  const size_t size = st->map ? g_mapped_file_get_length (st->map) : 0;

  if (size < 8)
    ST_FAIL (TRUNCATED, "%s: truncated: %zu bytes, shorter than the 8-byte header length", path, size);
  uint64_t hlen = 0;
  for (int k = 7; k >= 0; k--)
    hlen = hlen << 8 | bytes[k];
  if (hlen > ST_MAX_HEADER)
    ST_FAIL (FORMAT, "%s: header length %" PRIu64 " is absurd (the limit is %u bytes): not a "
             "safetensors file, or a corrupt one", path, hlen, ST_MAX_HEADER);
  if (hlen > size - 8)
    ST_FAIL (TRUNCATED, "%s: truncated: the header length is %" PRIu64 " bytes, but only %zu follow",
             path, hlen, size - 8);
  const char *header = (const char *) bytes + 8;
  st->data = bytes + 8 + hlen;
  st->data_len = size - 8 - (size_t) hlen;

  if (!g_utf8_validate_len (header, (gsize) hlen, NULL))
    ST_FAIL (FORMAT, "%s: the header is not valid UTF-8", path);
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) json_error = NULL;
  if (!json_parser_load_from_data (parser, header, (gssize) hlen, &json_error))
    ST_FAIL (FORMAT, "%s: the header is not valid JSON: %s", path, json_error->message);
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    ST_FAIL (FORMAT, "%s: the header is not a JSON object", path);

  JsonObjectIter it;
  const char *name;
  JsonNode *node;
  /* in header order, which breaks ties between empty tensors */
  json_object_iter_init_ordered (&it, json_node_get_object (root));
  while (json_object_iter_next_ordered (&it, &name, &node))
    {
      if (strcmp (name, "__metadata__") == 0)
        {
          if (!parse_metadata (st, node, error))
            return FALSE;
        }
      else if (!parse_entry (st, name, node, error))
        return FALSE;
    }
  if (!check_tiling (st, error) || !check_metadata (st, error))
    return FALSE;

  st->names = g_new (const char *, st->entries->len + 1);
  for (guint i = 0; i < st->entries->len; i++)
    st->names[i] = ((StEntry *) g_ptr_array_index (st->entries, i))->name;
  st->names[st->entries->len] = NULL;
  return TRUE;
}

LfSafetensors *
lf_safetensors_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  g_autoptr (LfSafetensors) st = g_new0 (LfSafetensors, 1);
  st->path = g_strdup (path);
  st->entries = g_ptr_array_new_with_free_func (st_entry_free);
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  st->meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!st_load (st, error))
    return NULL;
  return g_steal_pointer (&st);
}

const char *
lf_safetensors_path (LfSafetensors *st)
{
  g_return_val_if_fail (st != NULL, NULL);
  return st->path;
}

int
lf_safetensors_n_tensors (LfSafetensors *st)
{
  g_return_val_if_fail (st != NULL, 0);
  return (int) st->entries->len;
}

const char *const *
lf_safetensors_names (LfSafetensors *st)
{
  g_return_val_if_fail (st != NULL, NULL);
  return st->names;
}

const char *
lf_safetensors_meta (LfSafetensors *st, const char *key)
{
  g_return_val_if_fail (st != NULL && key != NULL, NULL);
  return g_hash_table_lookup (st->meta, key);
}

gboolean
lf_safetensors_get (LfSafetensors *st, const char *name, int *ndim,
                    int64_t shape[LF_MAX_DIMS], float **data_out, GError **error)
{
  g_return_val_if_fail (st != NULL && name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  const char *path = st->path;
  const StEntry *e = g_hash_table_lookup (st->by_name, name);
  if (e == NULL)
    ST_FAIL (NOT_FOUND, "%s: no tensor named '%s'", path, name);
  if (e->ndim > LF_MAX_DIMS)
    ST_FAIL (UNSUPPORTED, "%s: tensor '%s' has %d dims; lifelong tensors have at most %d",
             path, name, e->ndim, LF_MAX_DIMS);
  if (!e->dtype->readable)
    ST_FAIL (UNSUPPORTED, "%s: tensor '%s' has dtype %s; lifelong reads only F32, F16 and BF16",
             path, name, e->dtype->name);
  if (ndim != NULL)
    *ndim = e->ndim;
  if (shape != NULL)
    for (int d = 0; d < e->ndim; d++)
      shape[d] = e->shape[d];
  if (data_out == NULL)
    return TRUE;

  const size_t numel = (size_t) ((e->end - e->begin) / e->dtype->size);
  const uint8_t *src = st->data + e->begin;
  float *out = g_new (float, numel);
  if (e->dtype->size == 4)
    {
      /* F32: memcpy, since the data need not be aligned */
      memcpy (out, src, numel * sizeof (float));
#if G_BYTE_ORDER != G_LITTLE_ENDIAN
      for (size_t i = 0; i < numel; i++)
        {
          uint32_t u;
          memcpy (&u, &out[i], 4);
          u = GUINT32_FROM_LE (u);
          memcpy (&out[i], &u, 4);
        }
#endif
    }
  else
    {
      const gboolean bf16 = strcmp (e->dtype->name, "BF16") == 0;
      for (size_t i = 0; i < numel; i++)
        {
          const uint16_t h = (uint16_t) (src[2 * i] | src[2 * i + 1] << 8);
          out[i] = bf16 ? lf_bf16_to_f32 (h) : lf_f16_to_f32 (h);
        }
    }
  *data_out = out;
  return TRUE;
}
