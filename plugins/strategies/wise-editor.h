/* lifelong plugins — WISE (Wang et al., NeurIPS 2024, "WISE: Rethinking the
 * Knowledge Memory for Lifelong Model Editing of Large Language Models"):
 * what the strategies "wise" and "wise-retrieve" share (docs/editing.md).
 * A side memory is a copy of one feed-forward's down_proj; edits train it
 * in random subspaces (shards) merged with TIES (wise-ops.c); a router
 * sends a sequence to the side memory when its activation score
 * max_t ||A(x_t) (W' - W)^T|| passes the threshold learned from the edits,
 * else to the main memory, the model's own, never-changed down_proj.
 * wise.c has one side memory, wise-retrieve.c a new one every
 * edits_per_memory edits and retrieves the most activated. */
#pragma once

#include "ft-edit.h"

/* The parameter-table rows both plugins start with. */
#define WISE_PARAMS \
  { "layer", LF_PARAM_INT, "-1", -1, 100000, NULL, \
    "the layer whose mlp.down_proj is copied into the side memory (-1: the middle one, layers / 2)" }, \
  { "steps", LF_PARAM_INT, "40", 0, 1000000, NULL, \
    "optimizer steps on each edit (0: the side memory stays a copy of the main one)" }, \
  { "lr", LF_PARAM_FLOAT, "0.02", 0, 1e3, NULL, \
    "learning rate of the edit steps (the optimizer is train.optimizer, fresh for each edit; 0: train.lr)" }, \
  { "rho", LF_PARAM_FLOAT, "0.2", 0, 1, NULL, \
    "density of a shard's random subspace: the fraction of the side memory's weights an edit trains (0 < rho <= 1)" }, \
  { "shards", LF_PARAM_INT, "2", 1, 1000, NULL, \
    "k: knowledge shards (random subspaces) per side memory, filled in turn" }, \
  { "edits_per_shard", LF_PARAM_INT, "5", 1, 1000000, NULL, \
    "consecutive edits a shard takes before the next shard's turn" }, \
  { "merge_density", LF_PARAM_FLOAT, "0.53", 0, 1, NULL, \
    "TIES's trim: the fraction of each shard's task vector kept (the largest magnitudes; 0 < density <= 1)" }, \
  { "act_ratio", LF_PARAM_FLOAT, "0.88", 0, 1e3, NULL, \
    "threshold = act_ratio * the smallest activation score of the memory's edits" }, \
  { "alpha", LF_PARAM_FLOAT, "0.5", 0, 1e6, NULL, \
    "margin loss: irrelevant inputs' activation score pushed below alpha" }, \
  { "beta", LF_PARAM_FLOAT, "2.0", 0, 1e6, NULL, \
    "margin loss: the edit's activation score pushed above beta" }, \
  { "gamma", LF_PARAM_FLOAT, "1.5", 0, 1e6, NULL, \
    "margin loss: the edit's score pushed gamma above each irrelevant input's" }, \
  { "score", LF_PARAM_STRING, "\"mean\"", 0, 0, "mean|max", \
    "the activation score of a sequence: max or mean over its positions of ||A(x_t) (W' - W)^T||" }, \
  { "irrelevant", LF_PARAM_INT, "4", 0, 1024, NULL, \
    "knowledge-base texts per edit for the margin loss (drawn at random, fixed for the edit's steps; 0: none)" }, \
  { "replay", LF_PARAM_INT, "0", 0, 1024, NULL, \
    "earlier edits of the same side memory replayed at each step, their activation kept above beta (0: none)" }, \
  { "replay_answer", LF_PARAM_BOOL, "false", 0, 0, NULL, \
    "replayed edits also add their answer loss" }, \
  { "through_memory", LF_PARAM_BOOL, "false", 0, 0, NULL, \
    "an edit's steps run through the side memory as merged so far plus the shard's change (false: the shard alone, as the paper)" }

/* create for both plugins: retrieve FALSE, one side memory; TRUE, a new one
 * every edits_per_memory edits (the parameter must be in the table).
 * Errors name strategy.FIELD and the value. */
void    *wise_editor_create (const LfParams *p, LfStrategyCtx *ctx, gboolean retrieve, const char *name,
                             GError **error);
void     wise_editor_destroy (void *self);
gboolean wise_editor_before_experience (void *self, LfStrategyCtx *ctx, GError **error);
gboolean wise_editor_select_training (void *self, LfStrategyCtx *ctx, LfSelection *sel, GError **error);
LfTensor *wise_editor_loss (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out,
                            LfTensor *loss);
gboolean wise_editor_after_experience (void *self, LfStrategyCtx *ctx, GError **error);
void     wise_editor_report (void *self, LfStrategyCtx *ctx);
size_t   wise_editor_memory_bytes (void *self);

#define WISE_EDITOR_VTABLE(create_fn) { \
  .struct_size = sizeof (LfStrategyVTable), \
  .create = create_fn, \
  .destroy = wise_editor_destroy, \
  .before_experience = wise_editor_before_experience, \
  .select_training = wise_editor_select_training, \
  .loss = wise_editor_loss, \
  .after_experience = wise_editor_after_experience, \
  .report = wise_editor_report, \
  .memory_bytes = wise_editor_memory_bytes, \
}
