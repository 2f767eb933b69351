/* lifelong plugins — the mixture-of-experts feed-forward and what the moe,
 * lifelong-moe and cl-moe strategies share: replacing the chosen
 * feed-forwards (model.layers.N.mlp) through the module tree, experts added
 * in groups with their router rows, the balance loss, utilization per
 * experience, reports and checkpoints.  docs/moe.md describes the layer.
 * Compiled into those plugins (and tests/strategies/test-moe.c); not a
 * public API. */
#pragma once

#include "moe-ops.h"

/* The state of one MoE module ("moe").  Its children: "router" (one linear
 * per group of experts, "router.<g>", (experts of g, d)), "experts"
 * ("experts.<i>", SwiGLU: gate_proj, up_proj, down_proj) and, for CL-MoE,
 * "task_router" (weight (tasks, N)). */
typedef struct {
  int64_t  d, ff, k;
  int64_t  n_experts;     /* all experts                                       */
  int64_t  n_active;      /* routing uses experts [0, n_active): a teacher's old set */
  GArray  *group_end;     /* int64: experts [group_end[g-1], group_end[g]) form group g */
  gboolean norm_all;      /* gates: full softmax at the selection (else softmax over it) */
  /* CL-MoE's task-level router (task_router NULL: none) */
  LfTensor *task_router;  /* (tasks, N) logits per task                        */
  double   beta;          /* instance share of the mixture                      */
  int64_t  task;          /* the training task                                  */
  int64_t  n_seen;        /* tasks trained so far: evaluation infers t among them */
  /* statistics of training forwards (training and recording) */
  gboolean collect;       /* FALSE: no statistics, no balance loss              */
  int64_t *counts;        /* n_experts: (token, expert) assignments             */
  int64_t  tokens;        /* tokens routed                                      */
  int64_t  min_per_token, max_per_token;   /* experts per token, last training forward */
  LfTensor *aux;          /* the last training forward's balance loss (step arena) */
} MoeLayer;

/* A SwiGLU feed-forward module, down (silu (gate x) * up x), parameters
 * zero (tests build dense references with it). */
LfModule *moe_swiglu_new (const char *name, int64_t d, int64_t ff);

/* Replaces the dense SwiGLU ffn (gate_proj, up_proj, down_proj) by an MoE
 * module of n experts, top-k, and frees ffn.  upcycle: every expert a copy
 * of ffn (Komatsuzaki et al., "Sparse Upcycling", ICLR 2023); else each
 * drawn N(0, 0.02) like the transformer's own init.  The router N(0, 0.02),
 * keyed by key.  Returns the new module (in ffn's place); NULL with error
 * when ffn is not such a feed-forward. */
LfModule *moe_layer_replace (LfModule *ffn, int64_t n, int64_t k, gboolean upcycle, gboolean norm_all,
                             uint64_t key, GError **error);
MoeLayer *moe_layer_state (LfModule *moe);
LfModule *moe_layer_expert (LfModule *moe, int64_t i);
LfTensor *moe_layer_router (LfModule *moe, int64_t group);
int64_t   moe_layer_n_groups (LfModule *moe);
/* A new group of n experts and its n router rows (N(0, 0.02)); each new
 * expert a copy of expert (i mod the old count) when copy, else fresh. */
void      moe_layer_add_group (LfModule *moe, int64_t n, gboolean copy, uint64_t key);
/* Adds CL-MoE's task-level router: (tasks, N) logits N(0, 0.02). */
void      moe_layer_add_task_router (LfModule *moe, int64_t tasks, double beta, uint64_t key);
/* Freezes (or unfreezes) every parameter of group g: its experts and its
 * router rows. */
void      moe_layer_freeze_group (LfModule *moe, int64_t g, gboolean frozen);

/* ---- what the three strategies share ------------------------------------ */

#define MOE_LAYER_PARAMS \
  { "layers", LF_PARAM_INT_LIST, "[]", 0, 1e6, NULL, \
    "transformer layers whose feed-forward (model.layers.N.mlp) becomes an MoE; [] with targets [] : every layer" }, \
  { "targets", LF_PARAM_STRING_LIST, "[]", 0, 0, NULL, \
    "globs over feed-forward module paths to replace (e.g. \"model.layers.*.mlp\"); used when layers is []" }, \
  { "experts", LF_PARAM_INT, "4", 1, 1024, NULL, "experts per MoE layer at the start" }, \
  { "top_k", LF_PARAM_INT, "2", 1, 1024, NULL, "experts each token is routed to (at most experts)" }, \
  { "aux_weight", LF_PARAM_FLOAT, "0.01", 0, 1e6, NULL, \
    "weight of the load-balancing loss N sum_i f_i P_i, averaged over the MoE layers (Switch: 0.01)" }, \
  { "init", LF_PARAM_STRING, "\"upcycle\"", 0, 0, "upcycle|fresh", \
    "experts start as copies of the dense feed-forward (sparse upcycling) or N(0, 0.02)" }, \
  { "router_norm", LF_PARAM_STRING, "\"topk\"", 0, 0, "topk|all", \
    "gates: softmax over the k selected logits (Mixtral), or the full softmax at the selection (Switch)" }

typedef struct {
  const char *name;
  int64_t     k, n_start;
  double      aux_weight;
  GPtrArray  *layers;       /* LfModule *, the MoE modules in tree order        */
  GPtrArray  *paths;        /* char *, their paths                              */
  GPtrArray  *util;         /* char *, JSON of each finished experience         */
  double      aux_last;     /* the last step's mean balance loss                */
  int64_t     min_k, max_k; /* experts per token over every training forward    */
} MoeBase;

/* Reads MOE_LAYER_PARAMS and replaces the targets. */
gboolean  moe_base_init (MoeBase *b, const LfParams *p, LfStrategyCtx *ctx, const char *name, GError **error);
void      moe_base_clear (MoeBase *b);
/* loss + aux_weight * mean over layers of the last training forward's
 * balance loss (the strategy's loss hook). */
LfTensor *moe_base_loss (MoeBase *b, LfTensor *loss);
/* The utilization of experience e from the layers' counters (then reset). */
void      moe_base_end_experience (MoeBase *b, int64_t e);
/* The result's top-level "expert_utilization" (per experience: tokens, per
 * layer counts and fractions); in its "strategy" section "moe_layers",
 * "experts_per_layer", "top_k", "experts_per_token_min/max",
 * "aux_loss_last". */
void      moe_base_report (MoeBase *b, LfStrategyCtx *ctx);
/* Closes two JSON arrays under construction ("[1, 2"), reports them as
 * key_a and key_b and frees them. */
void      moe_report_arrays (LfStrategyCtx *ctx, const char *key_a, GString *a, const char *key_b, GString *b);
void      moe_base_save (MoeBase *b, LfState *st);
/* grow: experts in every group after the first (lifelong-moe's). */
gboolean  moe_base_load (MoeBase *b, const LfState *st, int64_t grow, GError **error);
size_t    moe_base_memory (MoeBase *b);
/* Runs f on every MoE module. */
#define moe_base_foreach(b, m) \
  for (guint _i = 0; _i < (b)->layers->len && ((m) = (b)->layers->pdata[_i], TRUE); _i++)

/* CL-MoE's momentum per expert after task t > 0 (docs/moe.md): used_now (N)
 * marks the experts task t used most, used_before those any earlier task
 * used most.  lambda[i] = shared for an expert in both (task-shared),
 * specific for one in used_now only (task-specific), other for the rest. */
void      moe_momentum_lambdas (const uint8_t *used_now, const uint8_t *used_before, int64_t N, double shared,
                                double specific, double other, double *lambda);
/* used (N) = 1 for the m experts with the most counts (ties to the lower index). */
void      moe_most_used (const int64_t *counts, int64_t N, int64_t m, uint8_t *used);

/* Hooks every MoE strategy uses as they are (self's first member is its
 * MoeBase). */
LfTensor *moe_hook_loss (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out,
                         LfTensor *loss);
void      moe_hook_report (void *self, LfStrategyCtx *ctx);
size_t    moe_hook_memory (void *self);
