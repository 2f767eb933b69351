/* lifelong plugins — what ft-l and ft-ewc share: fine-tuning one
 * feed-forward layer's down_proj on each edit, everything else frozen
 * (EasyEdit's FT-L without its norm constraint; docs/editing.md). */
#pragma once

#include <lifelong/lifelong.h>

/* The parameter-table rows both plugins start with. */
#define FT_EDIT_PARAMS \
  { "layer", LF_PARAM_INT, "-1", -1, 100000, NULL, \
    "the layer whose mlp.down_proj is trained (-1: the middle one, layers / 2)" }, \
  { "steps", LF_PARAM_INT, "10", 0, 1000000, NULL, \
    "optimizer steps on each edit (0: edits change nothing)" }, \
  { "lr", LF_PARAM_FLOAT, "0.005", 0, 1e3, NULL, \
    "learning rate of the edit steps (the optimizer is train.optimizer, fresh for each edit; 0: train.lr)" }

typedef struct {
  int64_t layer, steps;
  double  lr;
  char   *param;     /* "model.layers.L.mlp.down_proj.weight" */
} FtEdit;

/* Reads the rows above and freezes every parameter but the layer's
 * down_proj; errors name strategy.layer. */
gboolean ft_edit_init (FtEdit *ft, const LfParams *p, LfStrategyCtx *ctx, GError **error);
void     ft_edit_clear (FtEdit *ft);
/* The edit (the experience's one sample), steps times, at lr. */
void     ft_edit_select (FtEdit *ft, LfSelection *sel);
void     ft_edit_report (FtEdit *ft, LfStrategyCtx *ctx);
