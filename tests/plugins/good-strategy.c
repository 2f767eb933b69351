/* lifelong test plugin — a well-formed strategy with aliases, capabilities
 * and a parameter table of every type: what the loader must accept and
 * `lifelong plugins` must show. */
#include <lifelong/lifelong.h>

typedef struct {
  double lambda;
} GoodStrategy;

static void *
good_strategy_create (const LfParams *params, LfStrategyCtx *ctx, GError **error)
{
  (void) ctx;
  (void) error;
  GoodStrategy *self = g_new0 (GoodStrategy, 1);
  self->lambda = lf_params_get_float (params, "lambda");
  return self;
}

static void
good_strategy_destroy (void *self)
{
  g_free (self);
}

static const LfStrategyVTable good_strategy_vtable = {
  .struct_size = sizeof (LfStrategyVTable),
  .create = good_strategy_create,
  .destroy = good_strategy_destroy,
};

static const LfParam good_strategy_params[] = {
  { "lambda", LF_PARAM_FLOAT, "5000", 0, 1e6, NULL, "Weight of the penalty." },
  { "mode", LF_PARAM_STRING, "\"fisher\"", 0, 0, "fisher|si|mas", "Importance estimate." },
  { "buffer", LF_PARAM_INT, "200", 0, 100000, NULL, "Replay buffer size, in samples." },
  { "online", LF_PARAM_BOOL, "false", 0, 0, NULL, "Accumulate importances online." },
  { "hidden", LF_PARAM_INT_LIST, "[400, 400]", 1, 65536, NULL, "Widths of the hidden layers." },
  { "decays", LF_PARAM_FLOAT_LIST, "[0.5, 1]", 0, 1, NULL, "Per-experience decay factors." },
  { "targets", LF_PARAM_STRING_LIST, "[\"q_proj\", \"v_proj\"]", 0, 0, "q_proj|k_proj|v_proj|o_proj",
    "Modules to adapt." },
  { "extra", LF_PARAM_JSON, "{\"a\": [1, 2]}", 0, 0, NULL, "Free-form settings." },
  { "seed_offset", LF_PARAM_INT, NULL, 0, 0, NULL, "Required: added to the run's seed." },
  { NULL, 0, NULL, 0, 0, NULL, NULL }
};

static const char *const good_strategy_aliases[] = { "test-alias", "good-strategy", NULL };
static const char *const good_strategy_model_kinds[] = { "mlp", NULL };
static const char *const good_strategy_scenarios[] = { "class-incremental", "task-incremental", NULL };

static const LfCapabilities good_strategy_caps = {
  .touches = LF_TOUCHES_LOSS | LF_TOUCHES_DATA,
  .needs = LF_NEEDS_BOUNDARIES | LF_NEEDS_LABELS,
  .supports = LF_SUPPORTS_CLASSIFICATION | LF_SUPPORTS_ONLINE,
  .model_kinds = good_strategy_model_kinds,
  .scenarios = good_strategy_scenarios,
};

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_STRATEGY,
    .name = "test-good",
    .version = "1.2.3",
    .summary = "A well-formed strategy for the loader's tests.",
    .params = good_strategy_params,
    .caps = &good_strategy_caps,
    .aliases = good_strategy_aliases,
    .vtable = &good_strategy_vtable,
  };
  return &info;
}
