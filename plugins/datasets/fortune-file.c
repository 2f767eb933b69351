/* lifelong plugins — reading Debian's fortune files (fortune-file.h). */
#include "fortune-file.h"

int64_t
fortune_file_split (const char *text, gsize len, gsize max_bytes, GPtrArray *out)
{
  int64_t k = 0;
  const char *start = text, *end = text + len;
  while (start < end)
    {
      const char *sep = g_strstr_len (start, end - start, "\n%\n");
      const char *stop = sep ? sep + 1 : end;
      if (start[0] == '%' && (start + 1 == end || start[1] == '\n'))
        {
          start += 2;
          continue;
        }
      gsize n = (gsize) (stop - start);
      while (n > 0 && (start[n - 1] == '\n' || start[n - 1] == '\r'))
        n--;
      if (n > 0)
        {
          g_ptr_array_add (out, g_bytes_new (start, MIN (n, max_bytes)));
          k++;
        }
      start = sep ? sep + 3 : end;
    }
  return k;
}
