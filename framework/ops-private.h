/* lifelong — the backward function of every built-in op, one per LfOpId,
 * gathered into lf_op_table by ops.c. */
#pragma once

#include "tensor-private.h"

void lf_matmul_backward (LfTensor *out);
void lf_linear_backward (LfTensor *out);
void lf_add_backward (LfTensor *out);
void lf_sub_backward (LfTensor *out);
void lf_mul_backward (LfTensor *out);
void lf_scale_backward (LfTensor *out);
void lf_add_scalar_backward (LfTensor *out);
void lf_exp_backward (LfTensor *out);
void lf_log_backward (LfTensor *out);
void lf_sqr_backward (LfTensor *out);
void lf_relu_backward (LfTensor *out);
void lf_gelu_backward (LfTensor *out);
void lf_silu_backward (LfTensor *out);
void lf_tanh_backward (LfTensor *out);
void lf_sigmoid_backward (LfTensor *out);
void lf_softmax_backward (LfTensor *out);
void lf_log_softmax_backward (LfTensor *out);
void lf_sum_backward (LfTensor *out);
void lf_sum_axis_backward (LfTensor *out);
void lf_reshape_backward (LfTensor *out);
void lf_transpose_backward (LfTensor *out);
void lf_slice_backward (LfTensor *out);
void lf_concat_backward (LfTensor *out);
void lf_embedding_backward (LfTensor *out);
void lf_gather_backward (LfTensor *out);
void lf_layernorm_backward (LfTensor *out);
void lf_dropout_backward (LfTensor *out);
void lf_cross_entropy_backward (LfTensor *out);
void lf_mse_backward (LfTensor *out);
void lf_distill_kl_backward (LfTensor *out);
void lf_custom_backward (LfTensor *out);
void lf_rmsnorm_backward (LfTensor *out);
void lf_rope_backward (LfTensor *out);
void lf_attention_backward (LfTensor *out);
