/* lifelong — plugin-defined differentiable ops: the plugin gives forward and
 * backward callbacks; the engine records the node and hands backward the
 * gradient buffers of the inputs that need one. */
#include "ops-private.h"

LfTensor *
lf_custom (const LfCustomOp *op, void *ctx, int n_inputs, LfTensor *const *inputs,
           int out_ndim, const int64_t *out_shape)
{
  g_return_val_if_fail (op != NULL && op->forward != NULL, NULL);
  g_return_val_if_fail (op->struct_size >= sizeof (LfCustomOp), NULL);
  g_return_val_if_fail (n_inputs >= 0 && n_inputs <= LF_CUSTOM_MAX_INPUTS, NULL);
  lf_check (out_ndim >= 1 && out_ndim <= LF_MAX_DIMS, "custom op %s: ndim %d", op->name, out_ndim);
  /* without a backward the output is a constant */
  LfTensor *out = lf_node_new (op->backward ? LF_OP_CUSTOM : LF_OP_NONE, out_ndim, out_shape,
                               op->backward ? n_inputs : 0, inputs);
  out->aux = (void *) op;
  out->aux2 = ctx;
  out->ip[0] = n_inputs;
  op->forward (ctx, n_inputs, inputs, out);
  return out;
}

void
lf_custom_backward (LfTensor *out)
{
  const LfCustomOp *op = out->aux;
  int n = (int) out->ip[0];
  LfReal *in_grads[LF_CUSTOM_MAX_INPUTS] = { NULL };
  for (int i = 0; i < n; i++)
    {
      gboolean fresh;
      in_grads[i] = lf_grad_acc (out->src[i], &fresh);
      /* the callback adds: give it zeros to add to */
      if (in_grads[i] && fresh)
        memset (in_grads[i], 0, (size_t) out->src[i]->numel * sizeof (LfReal));
    }
  op->backward (out->aux2, n, out->src, out, lf_out_grad (out), in_grads);
}
