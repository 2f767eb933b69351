/* lifelong tests — safetensors checkpoints: a bitwise round trip, F16 and
 * BF16 files crafted byte by byte, every corruption refused with an error
 * naming the file, and an atomic writer that leaves nothing behind. */
#include <lifelong/lifelong.h>
#include "safetensors.h"
#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

static char *dir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (dir, name, NULL);
}

static char *
write_bytes (const char *name, const void *data, size_t n)
{
  char *path = tmp_path (name);
  g_assert_true (g_file_set_contents (path, data, (gssize) n, NULL));
  return path;
}

/* A file from a header (used as is, no padding) and a data section. */
static char *
craft (const char *name, const char *header, const void *data, size_t data_len)
{
  const size_t hlen = strlen (header);
  g_autofree uint8_t *buf = g_malloc (8 + hlen + data_len);
  for (int k = 0; k < 8; k++)
    buf[k] = (uint8_t) ((uint64_t) hlen >> (8 * k));
  memcpy (buf + 8, header, hlen);
  if (data_len)
    memcpy (buf + 8 + hlen, data, data_len);
  return write_bytes (name, buf, 8 + hlen + data_len);
}

static void
expect_open_error (const char *path, int code, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LfSafetensors) st = lf_safetensors_open (path, &error);
  g_assert_null (st);
  g_test_message ("%s", error ? error->message : "(no error)");
  if (!g_error_matches (error, LF_SAFETENSORS_ERROR, code) || !strstr (error->message, path)
      || !strstr (error->message, needle))
    g_error ("%s: expected error %d with \"%s\", got %d: %s", path, code, needle,
             error ? error->code : -1, error ? error->message : "none");
}

static void
expect_crafted_error (const char *name, const char *header, const void *data, size_t data_len,
                      int code, const char *needle)
{
  g_autofree char *path = craft (name, header, data, data_len);
  expect_open_error (path, code, needle);
}

static char **
list_dir (const char *d)
{
  g_autoptr (GDir) gd = g_dir_open (d, 0, NULL);
  g_assert_nonnull (gd);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  const char *name;
  while ((name = g_dir_read_name (gd)))
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

static float
f32_from_bits (uint32_t u)
{
  float f;
  memcpy (&f, &u, sizeof f);
  return f;
}

static uint32_t
bits_of (float f)
{
  uint32_t u;
  memcpy (&u, &f, sizeof u);
  return u;
}

/* ---- a written file reads back exactly ---------------------------------- */

static void
test_round_trip (void)
{
  static const int64_t s0[] = { 2, 3 }, s1[] = { 4 }, s2[] = { 1, 2, 3, 4 };
  LfTensor *t[3] = { lf_tensor_new_owned (2, s0), lf_tensor_new_owned (1, s1),
                     lf_tensor_new_owned (4, s2) };
  /* awkward values too: -0, a subnormal, infinities, a NaN with a payload */
  const float special[] = { -0.0f, f32_from_bits (0x00000001u), INFINITY, -INFINITY,
                            f32_from_bits (0x7fc12345u), 1e-38f };
  for (int i = 0; i < 3; i++)
    {
      float *d = lf_tensor_data (t[i]);
      for (int64_t k = 0; k < lf_tensor_numel (t[i]); k++)
        d[k] = (float) (i * 100 + k) * 0.37f - 3.0f;
    }
  memcpy (lf_tensor_data (t[0]), special, sizeof special);
  /* the writer keeps the order given, not an alphabetical one */
  const char *names[3] = { "model.layers.1.weight", "bias", "a.z" };
  const char *keys[2] = { "experience", "strategy" };
  const char *values[2] = { "3", "ewc {\"lambda\": 5000}" };
  g_autofree char *path = tmp_path ("round.safetensors");
  g_autoptr (GError) error = NULL;
  g_assert_true (lf_safetensors_write (path, 3, names, t, keys, values, 2, &error));
  g_assert_no_error (error);

  /* layout: 8-byte little-endian length, a header padded to 8 with spaces */
  g_autofree char *raw = NULL;
  gsize raw_len;
  g_assert_true (g_file_get_contents (path, &raw, &raw_len, NULL));
  uint64_t hlen = 0;
  for (int k = 7; k >= 0; k--)
    hlen = hlen << 8 | (uint8_t) raw[k];
  g_assert_cmpuint (hlen % 8, ==, 0);
  g_assert_cmpuint (raw_len, ==, 8 + hlen + (6 + 4 + 24) * 4);
  g_assert_cmpint (raw[8], ==, '{');

  g_autoptr (LfSafetensors) st = lf_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (st);
  g_assert_cmpstr (lf_safetensors_path (st), ==, path);
  g_assert_cmpint (lf_safetensors_n_tensors (st), ==, 3);
  const char *const *got_names = lf_safetensors_names (st);
  for (int i = 0; i < 3; i++)
    g_assert_cmpstr (got_names[i], ==, names[i]);
  g_assert_null (got_names[3]);
  for (int i = 0; i < 3; i++)
    {
      int ndim = -1;
      int64_t shape[LF_MAX_DIMS] = { 0 };
      g_autofree float *data = NULL;
      g_assert_true (lf_safetensors_get (st, names[i], &ndim, shape, &data, &error));
      g_assert_no_error (error);
      g_assert_cmpint (ndim, ==, lf_tensor_ndim (t[i]));
      g_assert_cmpmem (shape, (size_t) ndim * sizeof (int64_t), lf_tensor_shape (t[i]),
                       (size_t) ndim * sizeof (int64_t));
      g_assert_cmpmem (data, (size_t) lf_tensor_numel (t[i]) * sizeof (float), lf_tensor_data (t[i]),
                       (size_t) lf_tensor_numel (t[i]) * sizeof (float));
    }
  g_assert_cmpstr (lf_safetensors_meta (st, "experience"), ==, "3");
  g_assert_cmpstr (lf_safetensors_meta (st, "strategy"), ==, values[1]);
  g_assert_cmpstr (lf_safetensors_meta (st, "format"), ==, "lifelong");
  g_assert_cmpstr (lf_safetensors_meta (st, "format_version"), ==, "1");
  const char *sum = lf_safetensors_meta (st, "checksum");
  g_assert_nonnull (sum);
  g_assert_true (g_str_has_prefix (sum, "sha256:"));
  g_assert_cmpuint (strlen (sum), ==, 7 + 64);
  g_assert_null (lf_safetensors_meta (st, "missing"));

  /* shape only, no data */
  int ndim = 0;
  g_assert_true (lf_safetensors_get (st, "bias", &ndim, NULL, NULL, &error));
  g_assert_cmpint (ndim, ==, 1);

  /* no such tensor */
  float *none = NULL;
  g_assert_false (lf_safetensors_get (st, "nope", NULL, NULL, &none, &error));
  g_assert_error (error, LF_SAFETENSORS_ERROR, LF_SAFETENSORS_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "'nope'"));
  g_assert_null (none);
  g_clear_error (&error);

  /* writing again replaces the file; no temporary file is left behind */
  lf_tensor_data (t[1])[0] = 42.0f;
  g_assert_true (lf_safetensors_write (path, 2, names, t, NULL, NULL, 0, &error));
  g_assert_no_error (error);
  g_autoptr (LfSafetensors) st2 = lf_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lf_safetensors_n_tensors (st2), ==, 2);
  g_autofree float *b = NULL;
  g_assert_true (lf_safetensors_get (st2, "bias", NULL, NULL, &b, &error));
  g_assert_cmpfloat (b[0], ==, 42.0f);
  g_assert_null (lf_safetensors_meta (st2, "experience"));
  g_auto (GStrv) entries = list_dir (dir);
  for (char **e = entries; *e; e++)
    g_assert_null (strstr (*e, ".tmp-"));

  /* no tensors at all is a valid (empty) checkpoint */
  g_autofree char *empty = tmp_path ("empty.safetensors");
  g_assert_true (lf_safetensors_write (empty, 0, NULL, NULL, NULL, NULL, 0, &error));
  g_assert_no_error (error);
  g_autoptr (LfSafetensors) st3 = lf_safetensors_open (empty, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lf_safetensors_n_tensors (st3), ==, 0);
  g_assert_null (lf_safetensors_names (st3)[0]);

  for (int i = 0; i < 3; i++)
    lf_tensor_free (t[i]);
}

/* The writer refuses names and keys it could not write unambiguously, and
 * creates nothing. */
static void
test_write_invalid (void)
{
  static const int64_t s[] = { 2 };
  g_autoptr (LfTensor) t = lf_tensor_new_owned (1, s);
  LfTensor *ts[2] = { t, t };
  g_autofree char *path = tmp_path ("invalid.safetensors");
  struct {
    int n;
    const char *names[2];
    const char *key;
    const char *needle;
  } cases[] = {
    { 2, { "w", "w" }, NULL, "'w' appears twice" },
    { 1, { "__metadata__", NULL }, NULL, "__metadata__" },
    { 1, { "", NULL }, NULL, "empty" },
    { 1, { "w", NULL }, "checksum", "'checksum' is reserved" },
    { 1, { "w", NULL }, "format", "'format' is reserved" },
  };
  for (unsigned c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr (GError) error = NULL;
      const char *keys[1] = { cases[c].key }, *values[1] = { "x" };
      g_assert_false (lf_safetensors_write (path, cases[c].n, cases[c].names, ts, keys, values,
                                            cases[c].key ? 1 : 0, &error));
      g_assert_error (error, LF_SAFETENSORS_ERROR, LF_SAFETENSORS_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_nonnull (strstr (error->message, cases[c].needle));
      g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
    }
}

/* ---- half precision in ------------------------------------------------ */

static void
check_get (LfSafetensors *st, const char *name, const uint32_t *want_bits, int n)
{
  g_autoptr (GError) error = NULL;
  int ndim;
  int64_t shape[LF_MAX_DIMS];
  g_autofree float *data = NULL;
  g_assert_true (lf_safetensors_get (st, name, &ndim, shape, &data, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ndim, ==, 1);
  g_assert_cmpint (shape[0], ==, n);
  for (int i = 0; i < n; i++)
    if (bits_of (data[i]) != want_bits[i])
      g_error ("%s[%d]: got %a (0x%08x), want %a (0x%08x)", name, i, (double) data[i], bits_of (data[i]),
               (double) f32_from_bits (want_bits[i]), want_bits[i]);
}

static void
test_half (void)
{
  /* F16 bit patterns and the float32 bits they stand for */
  static const uint16_t h[] = {
    0x3c00,   /* 1.0 */
    0xc100,   /* -2.5 */
    0x7bff,   /* 65504, the largest half */
    0x0400,   /* 2^-14, the smallest normal */
    0x0001,   /* 2^-24, the smallest subnormal */
    0x83ff,   /* -1023 * 2^-24, the largest subnormal, negative */
    0x7c00,   /* +inf */
    0xfc00,   /* -inf */
    0x7e00,   /* quiet NaN */
    0x7d01,   /* signalling NaN with a payload: mantissa bits move up by 13 */
    0x8000,   /* -0 */
  };
  static const uint32_t hf[] = {
    0x3f800000u, 0xc0200000u, 0x477fe000u, 0x38800000u, 0x33800000u,
    0xb87fc000u, /* -(1023 * 2^-24) = -0x1.ff8p-15 */
    0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7fa02000u, 0x80000000u,
  };
  /* BF16: the top half of a float32, whatever it is */
  static const uint16_t bf[] = {
    0x3f80,   /* 1.0 */
    0xc020,   /* -2.5 */
    0x7f7f,   /* 3.3895314e38, the largest bfloat16 */
    0x0001,   /* 2^-133, a float32 subnormal */
    0x7f80,   /* +inf */
    0xff80,   /* -inf */
    0x7fc0,   /* NaN */
  };
  static const uint32_t bff[] = { 0x3f800000u, 0xc0200000u, 0x7f7f0000u, 0x00010000u,
                                  0x7f800000u, 0xff800000u, 0x7fc00000u };
  G_STATIC_ASSERT (G_N_ELEMENTS (h) == G_N_ELEMENTS (hf) && G_N_ELEMENTS (bf) == G_N_ELEMENTS (bff));
  g_assert_cmpfloat (f32_from_bits (hf[2]), ==, 65504.0f);
  g_assert_cmpfloat (f32_from_bits (hf[4]), ==, 0x1p-24f);
  g_assert_cmpfloat (f32_from_bits (hf[5]), ==, -1023 * 0x1p-24f);

  /* data: 11 halves (22 bytes), 7 bfloat16 (14 bytes), then one float32 at
   * byte 36 and one at 40: the readers must not assume alignment */
  uint8_t data[44];
  size_t at = 0;
  for (unsigned i = 0; i < G_N_ELEMENTS (h); i++, at += 2)
    data[at] = (uint8_t) h[i], data[at + 1] = (uint8_t) (h[i] >> 8);
  for (unsigned i = 0; i < G_N_ELEMENTS (bf); i++, at += 2)
    data[at] = (uint8_t) bf[i], data[at + 1] = (uint8_t) (bf[i] >> 8);
  g_assert_cmpuint (at, ==, 36);
  const uint32_t f = 0xbfc00000u;   /* -1.5 */
  for (int k = 0; k < 4; k++)
    data[36 + k] = (uint8_t) (f >> (8 * k));
  memcpy (data + 40, data + 36, 4);
  /* a Hugging Face-style header: keys sorted, data in another order */
  const char *header =
    "{\"__metadata__\":{\"format\":\"pt\"},"
    "\"a.f32\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[36,40]},"
    "\"b.bf16\":{\"dtype\":\"BF16\",\"shape\":[7],\"data_offsets\":[22,36]},"
    "\"c.f16\":{\"dtype\":\"F16\",\"shape\":[11],\"data_offsets\":[0,22]},"
    "\"d.scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[40,44]}}";
  g_autofree char *path = craft ("half.safetensors", header, data, sizeof data);
  g_autoptr (GError) error = NULL;
  g_autoptr (LfSafetensors) st = lf_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lf_safetensors_n_tensors (st), ==, 4);
  const char *const *names = lf_safetensors_names (st);
  g_assert_cmpstr (names[0], ==, "c.f16");   /* data order */
  g_assert_cmpstr (names[1], ==, "b.bf16");
  g_assert_cmpstr (names[2], ==, "a.f32");
  g_assert_cmpstr (names[3], ==, "d.scalar");
  g_assert_cmpstr (lf_safetensors_meta (st, "format"), ==, "pt");
  check_get (st, "c.f16", hf, G_N_ELEMENTS (hf));
  check_get (st, "b.bf16", bff, G_N_ELEMENTS (bff));
  check_get (st, "a.f32", &f, 1);
  int ndim = -1;
  g_autofree float *scalar = NULL;
  g_assert_true (lf_safetensors_get (st, "d.scalar", &ndim, NULL, &scalar, &error));
  g_assert_cmpint (ndim, ==, 0);
  g_assert_cmpfloat (scalar[0], ==, -1.5f);

  /* every half converts like the hardware would: all 65536 patterns
   * against a reference built from ldexp */
  for (uint32_t u = 0; u < 65536; u++)
    {
      const int e = (u >> 10) & 0x1f, m = u & 0x3ff;
      const float s = (u & 0x8000) ? -1.0f : 1.0f;
      const float got = lf_f16_to_f32 ((uint16_t) u);
      if (e == 31)
        g_assert_true (m ? isnan (got) : got == s * INFINITY);
      else
        {
          const float want = s * (e ? ldexpf ((float) (m | 0x400), e - 25) : ldexpf ((float) m, -24));
          g_assert_cmphex (bits_of (got), ==, bits_of (want));
        }
    }
}

/* Known dtypes lifelong does not convert, and ranks it cannot hold: the file
 * opens (it is well formed), the tensor is refused by name. */
static void
test_unsupported (void)
{
  uint8_t data[8 + 8 + 32 * 4] = { 0 };
  const char *header =
    "{\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},"
    "\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[8,16]},"
    "\"r5\":{\"dtype\":\"F32\",\"shape\":[2,2,2,2,2],\"data_offsets\":[16,144]}}";
  g_autofree char *path = craft ("unsupported.safetensors", header, data, sizeof data);
  g_autoptr (GError) error = NULL;
  g_autoptr (LfSafetensors) st = lf_safetensors_open (path, &error);
  g_assert_no_error (error);
  const struct { const char *name, *needle; } cases[] = {
    { "d", "'d' has dtype F64" }, { "i", "'i' has dtype I64" }, { "r5", "'r5' has 5 dims" },
  };
  for (unsigned c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      float *out = NULL;
      int ndim = -1;
      g_assert_false (lf_safetensors_get (st, cases[c].name, &ndim, NULL, &out, &error));
      g_assert_error (error, LF_SAFETENSORS_ERROR, LF_SAFETENSORS_ERROR_UNSUPPORTED);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_nonnull (strstr (error->message, cases[c].needle));
      g_assert_null (out);
      g_assert_cmpint (ndim, ==, -1);
      g_clear_error (&error);
    }
}

/* ---- corruption --------------------------------------------------------- */

static void
test_truncated (void)
{
  static const int64_t s[] = { 3, 5 };
  g_autoptr (LfTensor) t = lf_tensor_new_owned (2, s);
  for (int k = 0; k < 15; k++)
    lf_tensor_data (t)[k] = (float) k;
  const char *names[1] = { "w" };
  LfTensor *ts[1] = { t };
  g_autofree char *good = tmp_path ("good.safetensors");
  g_assert_true (lf_safetensors_write (good, 1, names, ts, NULL, NULL, 0, NULL));
  g_autofree char *raw = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (good, &raw, &len, NULL));
  const size_t hlen = (uint8_t) raw[0] | (size_t) (uint8_t) raw[1] << 8;
  g_assert_cmpuint (len, ==, 8 + hlen + 60);

  const struct { size_t at; int code; const char *needle; } cuts[] = {
    { 0, LF_SAFETENSORS_ERROR_TRUNCATED, "shorter than the 8-byte header length" },
    { 5, LF_SAFETENSORS_ERROR_TRUNCATED, "shorter than the 8-byte header length" },
    { 8, LF_SAFETENSORS_ERROR_TRUNCATED, "the header length is" },
    { 8 + hlen / 2, LF_SAFETENSORS_ERROR_TRUNCATED, "the header length is" },
    { 8 + hlen - 1, LF_SAFETENSORS_ERROR_TRUNCATED, "the header length is" },
    { 8 + hlen, LF_SAFETENSORS_ERROR_TRUNCATED, "tensor 'w': data_offsets [0, 60] run past the end" },
    { 8 + hlen + 30, LF_SAFETENSORS_ERROR_TRUNCATED, "truncated" },
    { len - 1, LF_SAFETENSORS_ERROR_TRUNCATED, "the data section (59 bytes)" },
  };
  for (unsigned c = 0; c < G_N_ELEMENTS (cuts); c++)
    {
      g_autofree char *name = g_strdup_printf ("cut-%zu.safetensors", cuts[c].at);
      g_autofree char *path = write_bytes (name, raw, cuts[c].at);
      expect_open_error (path, cuts[c].code, cuts[c].needle);
    }

  /* one flipped bit in the data: only the checksum can tell */
  raw[8 + hlen + 17] ^= 0x04;
  g_autofree char *flipped = write_bytes ("flipped.safetensors", raw, len);
  expect_open_error (flipped, LF_SAFETENSORS_ERROR_CORRUPT, "the file is corrupt or truncated");
  raw[8 + hlen + 17] ^= 0x04;

  /* a header length that cannot be one, and one just past the file */
  g_autofree char *big = g_memdup2 (raw, len);
  const uint64_t absurd = 200000000;
  for (int k = 0; k < 8; k++)
    big[k] = (char) (absurd >> (8 * k));
  g_autofree char *p_big = write_bytes ("absurd.safetensors", big, len);
  expect_open_error (p_big, LF_SAFETENSORS_ERROR_FORMAT, "header length 200000000 is absurd");
  const uint64_t past = len - 8 + 1;
  for (int k = 0; k < 8; k++)
    big[k] = (char) (past >> (8 * k));
  g_autofree char *p_past = write_bytes ("past.safetensors", big, len);
  expect_open_error (p_past, LF_SAFETENSORS_ERROR_TRUNCATED, "the header length is");

  /* bytes appended after the last tensor */
  g_autofree char *longer = g_malloc (len + 3);
  memcpy (longer, raw, len);
  memset (longer + len, 0, 3);
  g_autofree char *p_long = write_bytes ("trailing.safetensors", longer, len + 3);
  expect_open_error (p_long, LF_SAFETENSORS_ERROR_FORMAT, "3 trailing bytes");

  /* a missing file, and a directory */
  g_autofree char *missing = tmp_path ("missing.safetensors");
  expect_open_error (missing, LF_SAFETENSORS_ERROR_IO, "cannot open");
  expect_open_error (dir, LF_SAFETENSORS_ERROR_IO, "not a regular file");
}

static void
test_bad_header (void)
{
  const uint8_t z[16] = { 0 };
  /* JSON errors come with json-glib's line:column */
  expect_crafted_error ("json.st", "{\"w\": {\"dtype\": \"F32\",, }}", z, 0, LF_SAFETENSORS_ERROR_FORMAT,
                        "not valid JSON: <data>:1:");
  expect_crafted_error ("utf8.st", "{\"w\xff\": 1}", z, 0, LF_SAFETENSORS_ERROR_FORMAT, "UTF-8");
  expect_crafted_error ("array.st", "[1, 2]        ", z, 0, LF_SAFETENSORS_ERROR_FORMAT, "not a JSON object");
  expect_crafted_error ("entry.st", "{\"w\": 3}", z, 0, LF_SAFETENSORS_ERROR_FORMAT,
                        "tensor 'w': the entry is not a JSON object");
  expect_crafted_error ("dtype.st", "{\"w\":{\"dtype\":\"XYZ\",\"shape\":[1],\"data_offsets\":[0,4]}}", z, 4,
                        LF_SAFETENSORS_ERROR_FORMAT, "tensor 'w': unknown dtype \"XYZ\"");
  expect_crafted_error ("nodtype.st", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", z, 4,
                        LF_SAFETENSORS_ERROR_FORMAT, "tensor 'w': dtype is missing");
  expect_crafted_error ("shape.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", z, 4,
                        LF_SAFETENSORS_ERROR_FORMAT, "tensor 'w': shape[0] is not a non-negative integer");
  expect_crafted_error ("shapef.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1, 2.0],\"data_offsets\":[0,8]}}", z,
                        8, LF_SAFETENSORS_ERROR_FORMAT, "tensor 'w': shape[1]");
  expect_crafted_error ("meta.st", "{\"__metadata__\":{\"x\":1}}", z, 0, LF_SAFETENSORS_ERROR_FORMAT,
                        "__metadata__.x is not a string");
  expect_crafted_error ("version.st", "{\"__metadata__\":{\"format\":\"lifelong\",\"format_version\":\"2\"}}",
                        z, 0, LF_SAFETENSORS_ERROR_UNSUPPORTED, "format_version 2 is newer");
  expect_crafted_error ("checksum.st", "{\"__metadata__\":{\"checksum\":\"md5:00\"}}", z, 0,
                        LF_SAFETENSORS_ERROR_FORMAT, "__metadata__.checksum \"md5:00\"");
}

static void
test_bad_offsets (void)
{
  const uint8_t z[16] = { 0 };
  expect_crafted_error ("size.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", z, 4,
                        LF_SAFETENSORS_ERROR_FORMAT,
                        "tensor 'w': shape (2) of F32 needs 8 bytes, but data_offsets [0, 4] hold 4");
  expect_crafted_error ("decrease.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", z, 8,
                        LF_SAFETENSORS_ERROR_FORMAT, "tensor 'w': data_offsets [8, 4] decrease");
  expect_crafted_error ("pair.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", z, 4,
                        LF_SAFETENSORS_ERROR_FORMAT, "tensor 'w': data_offsets is not a pair");
  expect_crafted_error ("range.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", z, 4,
                        LF_SAFETENSORS_ERROR_TRUNCATED, "tensor 'w': data_offsets [0, 8] run past the end");
  expect_crafted_error ("overlap.st",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", z, 12,
                        LF_SAFETENSORS_ERROR_FORMAT, "tensor 'b': data_offsets [4, 12] overlap tensor 'a'");
  expect_crafted_error ("same.st",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", z, 4,
                        LF_SAFETENSORS_ERROR_FORMAT, "tensor 'b': data_offsets [0, 4] overlap tensor 'a'");
  expect_crafted_error ("gap.st",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", z, 12,
                        LF_SAFETENSORS_ERROR_FORMAT, "tensor 'b': data_offsets [8, 12] leave a gap of 4 bytes");
  expect_crafted_error ("start.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", z, 8,
                        LF_SAFETENSORS_ERROR_FORMAT, "leave a gap of 4 bytes after the start");
  expect_crafted_error ("trail.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", z, 8,
                        LF_SAFETENSORS_ERROR_FORMAT, "4 trailing bytes");
}

/* ---- atomic writes ------------------------------------------------------ */

static void
test_atomic (void)
{
  static const int64_t s[] = { 4 };
  g_autoptr (LfTensor) t = lf_tensor_new_owned (1, s);
  lf_tensor_fill (t, 1.0f);
  const char *names[1] = { "w" };
  LfTensor *ts[1] = { t };

  /* the target is a directory: everything is written, the rename fails,
   * and the temporary file goes */
  g_autofree char *sub = tmp_path ("atomic");
  g_assert_cmpint (g_mkdir (sub, 0700), ==, 0);
  g_autofree char *target = g_build_filename (sub, "ckpt.safetensors", NULL);
  g_assert_cmpint (g_mkdir (target, 0700), ==, 0);
  g_autoptr (GError) error = NULL;
  g_assert_false (lf_safetensors_write (target, 1, names, ts, NULL, NULL, 0, &error));
  g_assert_error (error, LF_SAFETENSORS_ERROR, LF_SAFETENSORS_ERROR_IO);
  g_assert_nonnull (strstr (error->message, target));
  g_assert_nonnull (strstr (error->message, "cannot rename"));
  g_clear_error (&error);
  g_auto (GStrv) after = list_dir (sub);
  g_assert_cmpuint (g_strv_length (after), ==, 1);
  g_assert_cmpstr (after[0], ==, "ckpt.safetensors");
  g_assert_true (g_file_test (target, G_FILE_TEST_IS_DIR));
  g_rmdir (target);

  /* a directory that does not exist */
  g_autofree char *nowhere = g_build_filename (sub, "no-such-dir", "ckpt.safetensors", NULL);
  g_assert_false (lf_safetensors_write (nowhere, 1, names, ts, NULL, NULL, 0, &error));
  g_assert_error (error, LF_SAFETENSORS_ERROR, LF_SAFETENSORS_ERROR_IO);
  g_assert_nonnull (strstr (error->message, nowhere));
  g_clear_error (&error);
  g_auto (GStrv) still = list_dir (sub);
  g_assert_cmpuint (g_strv_length (still), ==, 0);

  /* a read-only directory: no temporary file, no partial file */
  g_autofree char *ro = g_build_filename (sub, "read-only", NULL);
  g_assert_cmpint (g_mkdir (ro, 0700), ==, 0);
  g_assert_cmpint (g_chmod (ro, 0500), ==, 0);
  g_autofree char *path = g_build_filename (ro, "ckpt.safetensors", NULL);
  gboolean ok = lf_safetensors_write (path, 1, names, ts, NULL, NULL, 0, &error);
  g_auto (GStrv) inside = list_dir (ro);
  g_assert_cmpint (g_chmod (ro, 0700), ==, 0);
  if (ok && geteuid () == 0)
    {
      g_unlink (path);
      g_rmdir (ro);
      g_test_skip ("running as root: permissions are not enforced");
      return;
    }
  g_assert_false (ok);
  g_assert_error (error, LF_SAFETENSORS_ERROR, LF_SAFETENSORS_ERROR_IO);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "cannot create a temporary file"));
  g_assert_cmpuint (g_strv_length (inside), ==, 0);
  g_rmdir (ro);
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_chmod (path, 0700);
      g_auto (GStrv) names = list_dir (path);
      for (char **n = names; *n; n++)
        {
          g_autofree char *p = g_build_filename (path, *n, NULL);
          remove_tree (p);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  lf_init ();
  dir = g_dir_make_tmp ("lifelong-safetensors-XXXXXX", NULL);
  g_test_add_func ("/safetensors/round-trip", test_round_trip);
  g_test_add_func ("/safetensors/write-invalid", test_write_invalid);
  g_test_add_func ("/safetensors/half", test_half);
  g_test_add_func ("/safetensors/unsupported", test_unsupported);
  g_test_add_func ("/safetensors/corrupt/truncated", test_truncated);
  g_test_add_func ("/safetensors/corrupt/header", test_bad_header);
  g_test_add_func ("/safetensors/corrupt/offsets", test_bad_offsets);
  g_test_add_func ("/safetensors/atomic", test_atomic);
  int r = g_test_run ();
  remove_tree (dir);
  g_free (dir);
  return r;
}
