/* lifelong toolkit — LoRA: a linear wrapped with low-rank adapters.
 * y = base(x) + sum_j (alpha_j / r_j) * B_j (A_j dropout(x)), with
 * A_j in R^{r x in} (down-projection, Kaiming-uniform initialised) and
 * B_j in R^{out x r} (up-projection, zero initialised).  Adapter j is the
 * child "loraJ" with children "A" and "B" (linears without bias), so its
 * parameters are "<linear path>.lora0.A.weight" and ".lora0.B.weight". */
#pragma once

#include <lifelong/module.h>

G_BEGIN_DECLS

typedef struct {
  size_t   struct_size;
  int64_t  rank;
  double   alpha;
  double   dropout;
  uint64_t rng_key;          /* initialisation of A and the dropout masks */
} LfLoraConfig;

/* Wraps a linear module (kind LF_MODULE_LINEAR) with no adapter yet; the
 * original linear becomes the child "base".  Returns the wrapper, which
 * takes the linear's place and kind.  A linear already wrapped is returned
 * as it is. */
LfModule *lf_lora_wrap (LfModule *linear, GError **error);
gboolean  lf_lora_is_wrapper (const LfModule *m);
/* Adds adapter j (returned) to a wrapper. */
int       lf_lora_add (LfModule *wrapper, const LfLoraConfig *cfg);
int       lf_lora_n (const LfModule *wrapper);
LfTensor *lf_lora_A (LfModule *wrapper, int j);
LfTensor *lf_lora_B (LfModule *wrapper, int j);
LfModule *lf_lora_base (LfModule *wrapper);
/* Freezes (or unfreezes) adapter j's A and B. */
void      lf_lora_freeze (LfModule *wrapper, int j, gboolean frozen);
/* Folds adapter j into the base weight, W += (alpha/r) B A, and zeroes its
 * B so the output is unchanged. */
void      lf_lora_merge (LfModule *wrapper, int j);

/* ---- Since: ABI 1.2 ---- */

/* Wraps every linear below root whose path matches one of the n globs
 * (lf_module_find_all's patterns), leaving alone the linears a LoRA
 * wrapper already owns (its "base", its adapters' "A" and "B"); a wrapper
 * that matches is taken as it is.  Returns the wrappers, each once, in
 * the order of the globs and then of the tree (a new array of borrowed
 * pointers).  NULL with error (LF_ERROR, LF_ERROR_INVALID) when a glob
 * matches no linear: the message quotes the glob and lists the model's
 * linears. */
GPtrArray *lf_lora_wrap_matching (LfModule *root, int n, const char *const *globs, GError **error);
/* O-LoRA's orthogonality term of adapter j against the adapters before
 * it:  sum_{i<j} ||A_i A_j^T||_F^2  -> (1), recorded on the tape (the
 * gradient reaches every A that requires one).  0 when j == 0. */
LfTensor  *lf_lora_orthogonality (LfModule *wrapper, int j);

G_END_DECLS
