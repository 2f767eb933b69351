/* lifelong — checkpoints in the safetensors format: an atomic writer (F32,
 * with format, version and a SHA-256 of the data in __metadata__) and a
 * reader that checks every byte it is given (F32, F16 and BF16 in). */
#pragma once

#include <lifelong/tensor.h>

G_BEGIN_DECLS

#define LF_SAFETENSORS_ERROR (lf_safetensors_error_quark ())
GQuark lf_safetensors_error_quark (void);

typedef enum {
  LF_SAFETENSORS_ERROR_IO,           /* cannot open, read, write, sync or rename       */
  LF_SAFETENSORS_ERROR_TRUNCATED,    /* fewer bytes than the header promises           */
  LF_SAFETENSORS_ERROR_FORMAT,       /* bad header length, JSON, entry, offsets, trailing bytes */
  LF_SAFETENSORS_ERROR_CORRUPT,      /* the data does not match its checksum           */
  LF_SAFETENSORS_ERROR_UNSUPPORTED,  /* a dtype or rank lifelong does not read, a newer format_version */
  LF_SAFETENSORS_ERROR_NOT_FOUND,    /* no tensor of that name                         */
  LF_SAFETENSORS_ERROR_INVALID,      /* the writer was given a bad name or metadata key */
} LfSafetensorsError;

/* The metadata every file written by lf_safetensors_write carries. */
#define LF_SAFETENSORS_FORMAT          "lifelong"
#define LF_SAFETENSORS_FORMAT_VERSION  1

/* Writes n tensors (float32, shapes as they are) under the given names, in
 * that order, with n_meta extra string pairs in "__metadata__".  The keys
 * "format", "format_version" and "checksum" are the writer's own
 * ("lifelong", "1", "sha256:" + the hex SHA-256 of the data section) and are
 * refused in meta_keys, as are duplicate or empty tensor names and the name
 * "__metadata__" (LF_SAFETENSORS_ERROR_INVALID).
 *
 * Atomic: the file is written to "PATH.tmp-XXXXXX" in the same directory,
 * fsync'd, renamed over path, and the directory is fsync'd.  On failure
 * (LF_SAFETENSORS_ERROR_IO, naming path) the temporary file is removed and
 * whatever was at path before is left untouched. */
gboolean lf_safetensors_write (const char *path, int n, const char *const *names,
                               LfTensor *const *tensors,
                               const char *const *meta_keys, const char *const *meta_values,
                               int n_meta, GError **error);

/* The same with another "format" value: "pt" for files Hugging Face
 * transformers loads (its from_pretrained refuses a safetensors file whose
 * __metadata__.format is not "pt", "tf", "flax" or "mlx").  format_version
 * and checksum are written and checked as usual; only a "lifelong" file has
 * its format_version checked on reading. */
gboolean lf_safetensors_write_format (const char *path, const char *format, int n, const char *const *names,
                                      LfTensor *const *tensors,
                                      const char *const *meta_keys, const char *const *meta_values,
                                      int n_meta, GError **error);

typedef struct LfSafetensors LfSafetensors;

/* Maps path and validates all of it before returning: the header length,
 * the JSON header (every entry's dtype, shape and data_offsets), that the
 * tensors tile the data section exactly (no overlap, gap or trailing
 * byte), the checksum when the metadata has one, and format_version when
 * format is "lifelong".  Files from other writers (Hugging Face's) are read
 * too.  Returns NULL and sets error, naming the file and the tensor or
 * field at fault, on any failure.  The caller owns the result
 * (lf_safetensors_free). */
LfSafetensors *lf_safetensors_open (const char *path, GError **error);
void           lf_safetensors_free (LfSafetensors *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LfSafetensors, lf_safetensors_free)

/* The path it was opened from. */
const char    *lf_safetensors_path (LfSafetensors *st);
/* Number of tensors, and their names (NULL-terminated, owned by st) in the
 * order of their data in the file, which for files from lf_safetensors_write
 * is the order given to the writer. */
int                lf_safetensors_n_tensors (LfSafetensors *st);
const char *const *lf_safetensors_names (LfSafetensors *st);

/* Reads tensor name as float32: *ndim (0 for a scalar) and shape[0..ndim-1],
 * and *data_out a new array of the product of the shape (at least one)
 * values that the caller frees with g_free.  F16 and BF16 are converted
 * exactly (subnormals, infinities and NaN included).  Returns FALSE and
 * sets error, naming the file and the tensor, when there is no such tensor
 * (LF_SAFETENSORS_ERROR_NOT_FOUND) or it has more than 4 dims or a dtype
 * other than F32, F16 and BF16 (LF_SAFETENSORS_ERROR_UNSUPPORTED); the
 * outputs are then untouched.  ndim, shape and data_out may be NULL. */
gboolean lf_safetensors_get (LfSafetensors *st, const char *name, int *ndim,
                             int64_t shape[LF_MAX_DIMS], float **data_out, GError **error);

/* The "__metadata__" value of key (owned by st), or NULL. */
const char *lf_safetensors_meta (LfSafetensors *st, const char *key);

/* IEEE half and bfloat16 to float, exact. */
float lf_f16_to_f32 (uint16_t h);
float lf_bf16_to_f32 (uint16_t h);

G_END_DECLS
