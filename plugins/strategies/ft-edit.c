/* lifelong plugins — the fine-tuning editors' shared part (ft-edit.h). */
#include "ft-edit.h"

gboolean
ft_edit_init (FtEdit *ft, const LfParams *p, LfStrategyCtx *ctx, GError **error)
{
  LfModule *root = lf_model_root (lf_ctx_model (ctx));
  g_autoptr (GPtrArray) ffs = lf_module_find_all (root, "model.layers.*.mlp.down_proj", -1);
  int64_t n = ffs->len;
  if (n == 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,
                   "strategy: the model has no model.layers.N.mlp.down_proj (a LLaMA-style transformer has)");
      return FALSE;
    }
  ft->layer = lf_params_get_int (p, "layer");
  if (ft->layer >= n)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_INVALID,
                   "strategy.layer: %" G_GINT64_FORMAT ", the model has %" G_GINT64_FORMAT " layers (0 .. %"
                   G_GINT64_FORMAT ", or -1 for the middle one)", ft->layer, n, n - 1);
      return FALSE;
    }
  if (ft->layer < 0)
    ft->layer = n / 2;
  ft->steps = lf_params_get_int (p, "steps");
  ft->lr = lf_params_get_float (p, "lr");
  ft->param = g_strdup_printf ("model.layers.%" G_GINT64_FORMAT ".mlp.down_proj.weight", ft->layer);
  lf_module_freeze (root, "*", TRUE);
  if (lf_module_freeze (root, ft->param, FALSE) != 1)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "strategy: the model has no parameter %s", ft->param);
      return FALSE;
    }
  return TRUE;
}

void
ft_edit_clear (FtEdit *ft)
{
  g_free (ft->param);
}

void
ft_edit_select (FtEdit *ft, LfSelection *sel)
{
  /* the experience is the edit's one sample: an epoch is a step */
  sel->epochs = MAX (ft->steps, 1);
  if (ft->steps == 0)
    sel->n = 0;
  if (sel->struct_size >= G_STRUCT_OFFSET (LfSelection, lr) + sizeof (double))
    sel->lr = ft->lr;
}

void
ft_edit_report (FtEdit *ft, LfStrategyCtx *ctx)
{
  lf_ctx_report_number (ctx, "layer", (double) ft->layer);
  g_autofree char *q = g_strdup_printf ("\"%s\"", ft->param);
  lf_ctx_report_json (ctx, "trained_parameter", q);
}
