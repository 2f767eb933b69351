/* lifelong — the IDX reader: header checked field by field, then exactly
 * the promised number of bytes, or an error naming the file and the fault. */
#include <lifelong/idx.h>
#include <errno.h>
#include <string.h>
#include <zlib.h>

G_DEFINE_QUARK (lf-idx-error-quark, lf_idx_error)

#define IDX_MAX_BYTES ((int64_t) 1 << 34)   /* 16 GiB: anything larger is corrupt here */

static gboolean
read_exact (gzFile f, void *buf, size_t n, const char *path, const char *what, GError **error)
{
  size_t got = 0;
  while (got < n)
    {
      unsigned chunk = (unsigned) MIN (n - got, (size_t) 1 << 30);
      int r = gzread (f, (char *) buf + got, chunk);
      if (r < 0)
        {
          int errnum;
          const char *msg = gzerror (f, &errnum);
          g_set_error (error, LF_IDX_ERROR, LF_IDX_ERROR_IO, "%s: cannot read %s: %s", path, what, msg);
          return FALSE;
        }
      if (r == 0)
        {
          g_set_error (error, LF_IDX_ERROR, LF_IDX_ERROR_TRUNCATED,
                       "%s: truncated: %s needs %zu bytes, the file has %zu", path, what, n, got);
          return FALSE;
        }
      got += (size_t) r;
    }
  return TRUE;
}

gboolean
lf_idx_load (const char *path, LfIdx *out, GError **error)
{
  g_return_val_if_fail (path != NULL && out != NULL, FALSE);
  memset (out, 0, sizeof *out);
  gzFile f = gzopen (path, "rb");
  if (f == NULL)
    {
      g_set_error (error, LF_IDX_ERROR, LF_IDX_ERROR_IO, "%s: cannot open: %s", path, g_strerror (errno));
      return FALSE;
    }
  gboolean ok = FALSE;
  uint8_t magic[4];
  if (!read_exact (f, magic, 4, path, "the header", error))
    goto done;
  if (magic[0] != 0 || magic[1] != 0)
    {
      g_set_error (error, LF_IDX_ERROR, LF_IDX_ERROR_FORMAT,
                   "%s: not an IDX file (magic bytes %02x %02x, expected 00 00)", path, magic[0], magic[1]);
      goto done;
    }
  if (magic[2] != 0x08)
    {
      g_set_error (error, LF_IDX_ERROR, LF_IDX_ERROR_FORMAT,
                   "%s: element type 0x%02x is not supported (only unsigned bytes, 0x08)", path, magic[2]);
      goto done;
    }
  if (magic[3] < 1 || magic[3] > 4)
    {
      g_set_error (error, LF_IDX_ERROR, LF_IDX_ERROR_FORMAT,
                   "%s: %u dimensions (expected 1 to 4)", path, magic[3]);
      goto done;
    }
  out->ndim = magic[3];
  uint8_t dims[16];
  if (!read_exact (f, dims, (size_t) out->ndim * 4, path, "the dimensions", error))
    goto done;
  int64_t total = 1;
  out->item_size = 1;
  for (int i = 0; i < out->ndim; i++)
    {
      uint32_t d = (uint32_t) dims[4 * i] << 24 | (uint32_t) dims[4 * i + 1] << 16
                   | (uint32_t) dims[4 * i + 2] << 8 | dims[4 * i + 3];
      out->dims[i] = d;
      if (d == 0 || (int64_t) d > IDX_MAX_BYTES / total)
        {
          g_set_error (error, LF_IDX_ERROR, LF_IDX_ERROR_FORMAT,
                       "%s: dimension %d is %u (empty or implausibly large)", path, i, d);
          goto done;
        }
      total *= d;
      if (i > 0)
        out->item_size *= d;
    }
  /* The buffer grows with what the file delivers (doubling, from 1 MiB):
   * a damaged header that promises gigabytes fails at the end of the data
   * as a truncated file, after allocating about what the file holds, not
   * in malloc. */
  size_t cap = 0, got = 0;
  while (got < (size_t) total)
    {
      if (got == cap)
        {
          cap = MIN ((size_t) total, MAX (cap * 2, (size_t) 1 << 20));
          uint8_t *grown = g_try_realloc (out->data, cap);
          if (grown == NULL)
            {
              g_set_error (error, LF_IDX_ERROR, LF_IDX_ERROR_IO, "%s: cannot allocate %zu bytes", path, cap);
              goto done;
            }
          out->data = grown;
        }
      int r = gzread (f, out->data + got, (unsigned) MIN (cap - got, (size_t) 1 << 30));
      if (r < 0)
        {
          int errnum;
          g_set_error (error, LF_IDX_ERROR, LF_IDX_ERROR_IO, "%s: cannot read the data: %s", path, gzerror (f, &errnum));
          goto done;
        }
      if (r == 0)
        {
          g_set_error (error, LF_IDX_ERROR, LF_IDX_ERROR_TRUNCATED,
                       "%s: truncated: the data needs %" G_GINT64_FORMAT " bytes, the file has %zu", path, total, got);
          goto done;
        }
      got += (size_t) r;
    }
  uint8_t extra;
  if (gzread (f, &extra, 1) > 0)
    {
      g_set_error (error, LF_IDX_ERROR, LF_IDX_ERROR_TRAILING,
                   "%s: trailing bytes after the %" G_GINT64_FORMAT " the header promises", path, total);
      goto done;
    }
  ok = TRUE;
done:
  gzclose (f);
  if (!ok)
    lf_idx_clear (out);
  return ok;
}

void
lf_idx_clear (LfIdx *idx)
{
  g_free (idx->data);
  memset (idx, 0, sizeof *idx);
}
