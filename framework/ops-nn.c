/* lifelong — STUB: to be implemented. */
#include "ops-private.h"

LfTensor *lf_softmax (LfTensor *a)
{
  (void) a;
  lf_fatal ("lf_softmax: not implemented");
}

LfTensor *lf_log_softmax (LfTensor *a)
{
  (void) a;
  lf_fatal ("lf_log_softmax: not implemented");
}

LfTensor *lf_layernorm (LfTensor *x, LfTensor *gamma, LfTensor *beta, double eps)
{
  (void) x;
  (void) gamma;
  (void) beta;
  (void) eps;
  lf_fatal ("lf_layernorm: not implemented");
}

LfTensor *lf_dropout (LfTensor *x, double p, uint64_t seed)
{
  (void) x;
  (void) p;
  (void) seed;
  lf_fatal ("lf_dropout: not implemented");
}

LfTensor *lf_cross_entropy (LfTensor *logits, const int32_t *labels,
                            const LfCrossEntropyOptions *opts)
{
  (void) logits;
  (void) labels;
  (void) opts;
  lf_fatal ("lf_cross_entropy: not implemented");
}

LfTensor *lf_mse (LfTensor *a, LfTensor *b)
{
  (void) a;
  (void) b;
  lf_fatal ("lf_mse: not implemented");
}

LfTensor *lf_distill_kl (LfTensor *student, LfTensor *teacher, double temperature)
{
  (void) student;
  (void) teacher;
  (void) temperature;
  lf_fatal ("lf_distill_kl: not implemented");
}

void lf_softmax_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_log_softmax_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_layernorm_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_dropout_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_cross_entropy_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_mse_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
void lf_distill_kl_backward (LfTensor *out) { (void) out; lf_fatal ("not implemented"); }
