/* lifelong — the module tree.  A model is a tree of named modules; its
 * forward calls lf_module_forward on its children, so a plugin can wrap,
 * replace or extend any module (LoRA wraps a linear, an adapter is inserted
 * after a block, an MoE replaces a feed-forward, prefix tuning fills an
 * attention's key/value prefix slot, an editor hooks a feed-forward) and the
 * model itself needs no change.  Names follow Hugging Face: the MLP's layers
 * are `layers.N`, the transformer's `model.layers.0.self_attn.q_proj`. */
#pragma once

#include <lifelong/tensor.h>

G_BEGIN_DECLS

typedef enum {
  LF_MODULE_CONTAINER = 0,   /* groups children, no computation of its own   */
  LF_MODULE_LINEAR,          /* params "weight" (out, in), optional "bias" (out) */
  LF_MODULE_EMBEDDING,       /* param "weight" (vocab, d); slot "prompt" (P, d),
                              * or (n, P, d) for one prompt per sample     */
  LF_MODULE_ATTENTION,       /* slots "prefix_key", "prefix_value" (P, kv_dim);
                              * kv_dim is the row count of its k_proj.weight */
  LF_MODULE_FEEDFORWARD,
  LF_MODULE_NORM,
  LF_MODULE_BLOCK,           /* one residual block of a network              */
  LF_MODULE_HEAD,            /* the classifier / language-model head         */
  LF_MODULE_CUSTOM,
  LF_MODULE_KIND_COUNT
} LfModuleKind;

typedef struct LfModule LfModule;
#ifndef LF_BATCH_TYPEDEF
#define LF_BATCH_TYPEDEF
typedef struct LfBatch LfBatch;
#endif

/* What one forward call knows beyond its input.  Plugins read it; the host
 * fills it.  New fields are appended (check struct_size). */
typedef struct {
  size_t         struct_size;
  const LfBatch *batch;        /* the batch being processed, or NULL            */
  gboolean       training;     /* dropout on, routing statistics collected, ... */
  uint64_t       rng_key;      /* this step's key for dropout and other noise   */
  void          *reserved[8];
} LfForward;

typedef LfTensor *(*LfModuleForwardFn) (LfModule *m, LfTensor *x, LfForward *fwd);

/* What a module does.  Static data; a plugin that adds a module type
 * defines one.  Since: ABI 1.0; append only. */
typedef struct {
  size_t            struct_size;
  const char       *type_name;            /* "linear", "lora-linear", "moe", ... */
  LfModuleForwardFn forward;
  void            (*destroy_state) (void *state);   /* frees state, may be NULL */
} LfModuleClass;

/* ---- building ---------------------------------------------------------- */

/* A new detached module.  name is its local name ("q_proj", "0"); state
 * belongs to the module and is freed by klass->destroy_state. */
LfModule   *lf_module_new (const char *name, LfModuleKind kind, const LfModuleClass *klass, void *state);
/* Frees a detached module and its whole subtree (parameters included). */
void        lf_module_free (LfModule *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LfModule, lf_module_free)
/* Appends child (which must be detached); parent owns it. */
void        lf_module_add_child (LfModule *parent, LfModule *child);
/* A new parameter owned by m, named "<m's path>.<name>" (zero filled,
 * requires_grad).  Returns it (not owned by the caller). */
LfTensor   *lf_module_add_param (LfModule *m, const char *name, int ndim, const int64_t *shape);
/* m's own parameter by local name ("weight"), or NULL. */
LfTensor   *lf_module_param (LfModule *m, const char *name);
/* A buffer owned by m that is not trained (running statistics, masks):
 * saved with the model, never given to the optimizer. */
LfTensor   *lf_module_add_buffer (LfModule *m, const char *name, int ndim, const int64_t *shape);
LfTensor   *lf_module_buffer (LfModule *m, const char *name);

/* ---- reading ------------------------------------------------------------ */

const char *lf_module_name (const LfModule *m);
/* The dotted path from the root: "model.layers.0.mlp" (newly allocated). */
char       *lf_module_path (const LfModule *m);
LfModuleKind lf_module_kind (const LfModule *m);
const char *lf_module_kind_name (LfModuleKind kind);
const LfModuleClass *lf_module_class (const LfModule *m);
void       *lf_module_state (LfModule *m);
LfModule   *lf_module_parent (LfModule *m);
int         lf_module_n_children (const LfModule *m);
LfModule   *lf_module_child (LfModule *m, int i);
/* The module at a dotted path relative to root ("" is root itself), or
 * NULL.  (find_all and params below match full paths from the tree's root;
 * the two agree when root is the model's root, whose name is "".) */
LfModule   *lf_module_find (LfModule *root, const char *path);

/* Modules below (and including) root whose path matches glob (GLib
 * pattern: "*" and "?", e.g. "model.layers.*.self_attn.q_proj"), in tree
 * order; kind -1 for any.  A new array of borrowed pointers. */
GPtrArray  *lf_module_find_all (LfModule *root, const char *glob, int kind);
/* Parameters below root whose full name matches glob ("*" for all), in tree
 * order.  A new array of borrowed pointers.  With trainable_only, frozen
 * ones are left out. */
GPtrArray  *lf_module_params (LfModule *root, const char *glob, gboolean trainable_only);
/* Freezes (frozen = TRUE) or unfreezes the matching parameters; returns how
 * many matched. */
int         lf_module_freeze (LfModule *root, const char *glob, gboolean frozen);
/* Total elements of the matching parameters. */
int64_t     lf_module_count_params (LfModule *root, const char *glob, gboolean trainable_only);

/* ---- changing the tree --------------------------------------------------
 * Every change bumps the root's structure version: the host re-reads the
 * parameter list into the optimizer before the next step. */

/* Puts replacement (detached) where old is, under old's name; old is
 * detached and returned (the caller owns it: keep it or lf_module_free it). */
LfModule   *lf_module_replace (LfModule *old, LfModule *replacement);
/* Puts a new module of klass where target is, under target's name, and
 * makes target its only child, named "base".  The wrapper's forward calls
 * lf_module_forward (lf_module_child (self, 0), x, fwd) where it wants the
 * original.  Returns the wrapper. */
LfModule   *lf_module_wrap (LfModule *target, const LfModuleClass *klass, void *state,
                            LfModuleKind kind);
/* Runs inserted on target's output (y = inserted (target (x))).  inserted
 * becomes a child of target's parent, so its parameters are named beside
 * target's ("model.layers.0.adapter.down.weight"). */
void        lf_module_insert_after (LfModule *target, LfModule *inserted);
/* Detaches m from its parent (and from any insert-after list); the caller
 * owns it. */
void        lf_module_detach (LfModule *m);
uint64_t    lf_module_structure_version (const LfModule *root);

/* ---- slots ---------------------------------------------------------------
 * Named tensors a module's forward reads if present: an attention module's
 * "prefix_key" / "prefix_value" (P, kv_dim), an embedding's "prompt" (P, d)
 * or (n, P, d) (one per sample of the batch: L2P's selected prompts).
 * The module does not own them (the plugin that set them does).  To train
 * them, make them parameters of a module in the tree (for example a child
 * of kind LF_MODULE_CUSTOM without a class): the optimizer's list is re-read
 * from the tree after create and at every experience boundary, so a
 * parameter only given to the optimizer directly is dropped. */
void        lf_module_set_slot (LfModule *m, const char *name, LfTensor *t);
LfTensor   *lf_module_get_slot (LfModule *m, const char *name);

/* ---- running ------------------------------------------------------------- */

/* Pre-hooks may replace the input, post-hooks the output (return the new
 * tensor, or the one they got).  Hooks run in the order they were added. */
typedef LfTensor *(*LfPreHook) (LfModule *m, LfTensor *x, LfForward *fwd, void *user);
typedef LfTensor *(*LfPostHook) (LfModule *m, LfTensor *x, LfTensor *y, LfForward *fwd, void *user);

guint       lf_module_add_pre_hook (LfModule *m, LfPreHook hook, void *user, GDestroyNotify destroy);
guint       lf_module_add_post_hook (LfModule *m, LfPostHook hook, void *user, GDestroyNotify destroy);
void        lf_module_remove_hook (LfModule *m, guint id);

/* pre-hooks, the class's forward, post-hooks, then insert-after modules. */
LfTensor   *lf_module_forward (LfModule *m, LfTensor *x, LfForward *fwd);

/* The built-in linear module (y = x W^T + b, Hugging Face layout), for
 * models and for plugins that add linears. */
extern const LfModuleClass lf_linear_class;
LfModule   *lf_module_new_linear (const char *name, int64_t in, int64_t out, gboolean bias);
/* Fills a linear's weight and bias like PyTorch: U(-1/sqrt(in), 1/sqrt(in)). */
void        lf_module_init_linear (LfModule *linear, uint64_t rng_key);

G_END_DECLS
