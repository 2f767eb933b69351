/* lifelong — the op table: one entry per LfOpId, its name and backward.
 * A new op (RMSNorm, rotary, fused attention) appends an id, a backward in
 * its own file and a line here; the assertion keeps the two in step. */
#include "ops-private.h"

static void
leaf_backward (LfTensor *out)
{
  (void) out;   /* a leaf has nothing upstream */
}

const LfOpInfo lf_op_table[] = {
  [LF_OP_NONE]          = { "leaf",          leaf_backward },
  [LF_OP_MATMUL]        = { "matmul",        lf_matmul_backward },
  [LF_OP_LINEAR]        = { "linear",        lf_linear_backward },
  [LF_OP_ADD]           = { "add",           lf_add_backward },
  [LF_OP_SUB]           = { "sub",           lf_sub_backward },
  [LF_OP_MUL]           = { "mul",           lf_mul_backward },
  [LF_OP_SCALE]         = { "scale",         lf_scale_backward },
  [LF_OP_ADD_SCALAR]    = { "add_scalar",    lf_add_scalar_backward },
  [LF_OP_EXP]           = { "exp",           lf_exp_backward },
  [LF_OP_LOG]           = { "log",           lf_log_backward },
  [LF_OP_SQR]           = { "sqr",           lf_sqr_backward },
  [LF_OP_RELU]          = { "relu",          lf_relu_backward },
  [LF_OP_GELU]          = { "gelu",          lf_gelu_backward },
  [LF_OP_SILU]          = { "silu",          lf_silu_backward },
  [LF_OP_TANH]          = { "tanh",          lf_tanh_backward },
  [LF_OP_SIGMOID]       = { "sigmoid",       lf_sigmoid_backward },
  [LF_OP_SOFTMAX]       = { "softmax",       lf_softmax_backward },
  [LF_OP_LOG_SOFTMAX]   = { "log_softmax",   lf_log_softmax_backward },
  [LF_OP_SUM]           = { "sum",           lf_sum_backward },
  [LF_OP_SUM_AXIS]      = { "sum_axis",      lf_sum_axis_backward },
  [LF_OP_RESHAPE]       = { "reshape",       lf_reshape_backward },
  [LF_OP_TRANSPOSE]     = { "transpose",     lf_transpose_backward },
  [LF_OP_SLICE]         = { "slice",         lf_slice_backward },
  [LF_OP_CONCAT]        = { "concat",        lf_concat_backward },
  [LF_OP_EMBEDDING]     = { "embedding",     lf_embedding_backward },
  [LF_OP_GATHER]        = { "gather",        lf_gather_backward },
  [LF_OP_LAYERNORM]     = { "layernorm",     lf_layernorm_backward },
  [LF_OP_DROPOUT]       = { "dropout",       lf_dropout_backward },
  [LF_OP_CROSS_ENTROPY] = { "cross_entropy", lf_cross_entropy_backward },
  [LF_OP_MSE]           = { "mse",           lf_mse_backward },
  [LF_OP_DISTILL_KL]    = { "distill_kl",    lf_distill_kl_backward },
  [LF_OP_CUSTOM]        = { "custom",        lf_custom_backward },
  [LF_OP_RMSNORM]       = { "rmsnorm",       lf_rmsnorm_backward },
  [LF_OP_ROPE]          = { "rope",          lf_rope_backward },
  [LF_OP_ATTENTION]     = { "attention",     lf_attention_backward },
};

_Static_assert (G_N_ELEMENTS (lf_op_table) == LF_OP_COUNT,
                "every LfOpId needs an entry in lf_op_table");
