/* lifelong fuzzing — IDX files (the MNIST format), raw or gzip-compressed,
 * through lf_idx_load as the idx dataset plugin calls it.
 *
 * Input: the file's bytes.
 * Property: a file that loads has 1 to 4 non-zero dims whose product is the
 * data's size, and every byte of the data can be read. */
#include "fuzz.h"
#include <lifelong/idx.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_init ();
  const char *path = fuzz_as_file (data, size);
  LfIdx idx;
  g_autoptr (GError) error = NULL;
  if (!lf_idx_load (path, &idx, &error))
    {
      if (error == NULL || idx.data != NULL)
        g_error ("lf_idx_load failed without an error, or left data behind");
      return 0;
    }
  if (idx.ndim < 1 || idx.ndim > 4)
    g_error ("%d dims", idx.ndim);
  int64_t item = 1;
  for (int d = 0; d < idx.ndim; d++)
    {
      if (idx.dims[d] < 1)
        g_error ("dims[%d] = %" G_GINT64_FORMAT, d, idx.dims[d]);
      if (d > 0)
        item *= idx.dims[d];
    }
  if (item != idx.item_size)
    g_error ("item_size %" G_GINT64_FORMAT ", the dims say %" G_GINT64_FORMAT, idx.item_size, item);
  /* touch every byte: AddressSanitizer checks the buffer is that large */
  unsigned sum = 0;
  for (int64_t i = 0; i < idx.dims[0] * idx.item_size; i++)
    sum += idx.data[i];
  volatile unsigned sink = sum;
  (void) sink;
  lf_idx_clear (&idx);
  return 0;
}
