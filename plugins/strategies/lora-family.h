/* lifelong plugins — what the lora, o-lora and inflora strategies share:
 * choosing and wrapping the target linears, freezing the base model (the
 * classifier head optionally trainable), one new adapter per experience
 * with the earlier ones frozen, the trainable counts, and the state a
 * resumed run needs.  Compiled into each of those plugins; not a public
 * API (docs/peft.md). */
#pragma once

#include <lifelong/lifelong.h>

/* The parameter rows every LoRA-family strategy has; TARGETS_DOC says what
 * [] (the default) chooses for that method. */
#define LORA_FAMILY_PARAMS(TARGETS_DOC)                                                                    \
  { "targets", LF_PARAM_STRING_LIST, "[]", 0, 0, NULL,                                                   \
    "globs over module paths choosing the linears to adapt (\"model.layers.*.self_attn.q_proj\", "       \
    "\"layers.*\"); [] is " TARGETS_DOC },                                                                \
  { "rank", LF_PARAM_INT, "8", 1, 65536, NULL, "r: rows of each adapter's down-projection A (r, in)" },   \
  { "alpha", LF_PARAM_FLOAT, "16", 1e-9, 1e9, NULL, "the update is scaled by alpha / r" },               \
  { "dropout", LF_PARAM_FLOAT, "0", 0, 0.99, NULL,                                                       \
    "dropout on the adapters' input while training (the base sees the whole input)" },                   \
  { "train_head", LF_PARAM_BOOL, "true", 0, 0, NULL,                                                     \
    "a classifier's head (score, head, or heads.<task> of a multi-head MLP) trains with the adapters; "  \
    "a language model's lm_head stays frozen either way" }

/* The targets [] stands for, tried in order: the first list whose globs
 * all match a linear is used. */
typedef struct {
  const char *const *globs;   /* NULL-terminated */
} LoraTargetSet;

/* The q_proj and v_proj of every transformer layer (Hu et al.'s choice, and
 * PEFT's default for LLaMA), else every layers.N of an MLP. */
extern const LoraTargetSet lora_family_qv_targets[];

typedef struct {
  const char *name;          /* the strategy's name, for errors            */
  GPtrArray  *wrappers;      /* LfModule *, borrowed, in target order      */
  int64_t     rank;
  double      alpha, dropout;
  gboolean    train_head;
  gboolean    head_found;    /* the model has a classifier head             */
  uint64_t    key;           /* adapter j's keys derive from (key, j)      */
  int         n;             /* adapters per wrapper so far                */
  GArray     *trainable;     /* int64: trainable elements at each experience's start */
  int64_t     adapter_elems; /* elements of one experience's adapters      */
} LoraFamily;

/* A strategy's state of `size` bytes whose first member is a LoraFamily,
 * initialised by lora_family_init (NULL, with its error, when that fails);
 * lora_family_free clears and frees it (a strategy's destroy). */
void    *lora_family_new (size_t size, const char *name, const LfParams *p, LfStrategyCtx *ctx,
                          const LoraTargetSet *defaults, GError **error);
void     lora_family_free (void *self);
/* Vtable slots for a state that starts with a LoraFamily: before_experience
 * (lora_family_begin), save and load. */
gboolean lora_family_before_experience (void *self, LfStrategyCtx *ctx, GError **error);
gboolean lora_family_save_slot (void *self, LfStrategyCtx *ctx, LfState *st, GError **error);
gboolean lora_family_load_slot (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error);
/* Changes the structure and freezes; needs boundaries; classifiers and
 * language models. */
extern const LfCapabilities lora_family_caps;

/* Reads the common parameters, wraps the targets (defaults: the first
 * usable set of defaults, NULL-terminated) and freezes the model.  FALSE
 * with error naming "strategy.targets" and the glob when one matches no
 * linear. */
gboolean lora_family_init (LoraFamily *f, const char *name, const LfParams *p, LfStrategyCtx *ctx,
                           const LoraTargetSet *defaults, GError **error);
void     lora_family_clear (LoraFamily *f);
/* Experience e's start: the head's freezing for e, the earlier adapters
 * frozen, adapter e added to every wrapper (its A and B trainable). */
void     lora_family_begin (LoraFamily *f, LfStrategyCtx *ctx);
/* Re-counts the trainable elements of the experience begun last (after a
 * method froze part of its adapter). */
void     lora_family_recount (LoraFamily *f, LfStrategyCtx *ctx);
/* "targets" (the wrapped paths), "rank", "adapter_parameters" (one
 * experience's adapters), "trainable_per_experience", "head_trained". */
void     lora_family_report (LoraFamily *f, LfStrategyCtx *ctx);
void     lora_family_save (LoraFamily *f, LfState *st);
/* Re-adds (frozen) the adapters the checkpoint has; the host then restores
 * their values. */
gboolean lora_family_load (LoraFamily *f, LfStrategyCtx *ctx, const LfState *st, GError **error);
