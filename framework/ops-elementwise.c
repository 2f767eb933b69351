/* lifelong — STUB: to be implemented. */
#include "ops-private.h"

LfTensor *lf_add (LfTensor *a, LfTensor *b)
{
  (void) a;
  (void) b;
  lf_fatal ("lf_add: not implemented");
}

LfTensor *lf_sub (LfTensor *a, LfTensor *b)
{
  (void) a;
  (void) b;
  lf_fatal ("lf_sub: not implemented");
}

LfTensor *lf_mul (LfTensor *a, LfTensor *b)
{
  (void) a;
  (void) b;
  lf_fatal ("lf_mul: not implemented");
}

LfTensor *lf_scale (LfTensor *a, double s)
{
  (void) a;
  (void) s;
  lf_fatal ("lf_scale: not implemented");
}

LfTensor *lf_add_scalar (LfTensor *a, double s)
{
  (void) a;
  (void) s;
  lf_fatal ("lf_add_scalar: not implemented");
}

LfTensor *lf_exp (LfTensor *a)
{
  (void) a;
  lf_fatal ("lf_exp: not implemented");
}

LfTensor *lf_log (LfTensor *a)
{
  (void) a;
  lf_fatal ("lf_log: not implemented");
}

LfTensor *lf_sqr (LfTensor *a)
{
  (void) a;
  lf_fatal ("lf_sqr: not implemented");
}

LfTensor *lf_relu (LfTensor *a)
{
  (void) a;
  lf_fatal ("lf_relu: not implemented");
}

LfTensor *lf_gelu (LfTensor *a)
{
  (void) a;
  lf_fatal ("lf_gelu: not implemented");
}

LfTensor *lf_silu (LfTensor *a)
{
  (void) a;
  lf_fatal ("lf_silu: not implemented");
}

LfTensor *lf_tanh (LfTensor *a)
{
  (void) a;
  lf_fatal ("lf_tanh: not implemented");
}

LfTensor *lf_sigmoid (LfTensor *a)
{
  (void) a;
  lf_fatal ("lf_sigmoid: not implemented");
}

void lf_add_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_sub_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_mul_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_scale_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_add_scalar_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_exp_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_log_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_sqr_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_relu_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_gelu_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_silu_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_tanh_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_sigmoid_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
