/* lifelong — STUB: to be implemented. */
#include "ops-private.h"

LfTensor *lf_sum (LfTensor *a)
{
  (void) a;
  lf_fatal ("lf_sum: not implemented");
}

LfTensor *lf_mean (LfTensor *a)
{
  (void) a;
  lf_fatal ("lf_mean: not implemented");
}

LfTensor *lf_sum_axis (LfTensor *a, int axis, gboolean keepdim)
{
  (void) a;
  (void) axis;
  (void) keepdim;
  lf_fatal ("lf_sum_axis: not implemented");
}

LfTensor *lf_mean_axis (LfTensor *a, int axis, gboolean keepdim)
{
  (void) a;
  (void) axis;
  (void) keepdim;
  lf_fatal ("lf_mean_axis: not implemented");
}

LfTensor *lf_reshape (LfTensor *a, int ndim, const int64_t *shape)
{
  (void) a;
  (void) ndim;
  (void) shape;
  lf_fatal ("lf_reshape: not implemented");
}

LfTensor *lf_transpose (LfTensor *a, int axis0, int axis1)
{
  (void) a;
  (void) axis0;
  (void) axis1;
  lf_fatal ("lf_transpose: not implemented");
}

LfTensor *lf_slice (LfTensor *a, int axis, int64_t start, int64_t end)
{
  (void) a;
  (void) axis;
  (void) start;
  (void) end;
  lf_fatal ("lf_slice: not implemented");
}

LfTensor *lf_concat (LfTensor *const *ts, int n, int axis)
{
  (void) ts;
  (void) n;
  (void) axis;
  lf_fatal ("lf_concat: not implemented");
}

LfTensor *lf_detach (LfTensor *a)
{
  (void) a;
  lf_fatal ("lf_detach: not implemented");
}

LfTensor *lf_embedding (LfTensor *table, const int32_t *ids, int64_t n)
{
  (void) table;
  (void) ids;
  (void) n;
  lf_fatal ("lf_embedding: not implemented");
}

LfTensor *lf_gather (LfTensor *a, const int32_t *idx)
{
  (void) a;
  (void) idx;
  lf_fatal ("lf_gather: not implemented");
}

void lf_sum_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_sum_axis_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_reshape_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_transpose_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_slice_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_concat_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_embedding_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_gather_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
