/* lifelong — reading IDX files (the MNIST format), gzip-compressed or raw.
 * Shared by the idx dataset plugin and the benchmarks. */
#pragma once

#include <stdint.h>
#include <glib.h>

G_BEGIN_DECLS

#define LF_IDX_ERROR (lf_idx_error_quark ())
GQuark lf_idx_error_quark (void);

typedef enum {
  LF_IDX_ERROR_IO,         /* cannot open or read the file            */
  LF_IDX_ERROR_FORMAT,     /* bad magic, unsupported type, bad dims   */
  LF_IDX_ERROR_TRUNCATED,  /* fewer bytes than the header promises    */
  LF_IDX_ERROR_TRAILING,   /* more bytes than the header promises     */
  LF_IDX_ERROR_MISMATCH,   /* images and labels do not go together    */
} LfIdxError;

/* An unsigned-byte IDX array: dims[0] items of item_size bytes. */
typedef struct {
  int      ndim;
  int64_t  dims[4];
  int64_t  item_size;    /* product of dims[1..] */
  uint8_t *data;         /* dims[0] * item_size bytes, owned */
} LfIdx;

/* Reads path (".gz" or raw: the content decides).  Returns FALSE and sets
 * error (naming the file and what is wrong) on any failure; on success the
 * caller owns out->data (lf_idx_clear frees it). */
gboolean lf_idx_load (const char *path, LfIdx *out, GError **error);
void     lf_idx_clear (LfIdx *idx);

G_END_DECLS
