/* lifelong — `lifelong new strategy|model|dataset NAME [--dir DIR]`: writes
 * a small, complete meson project for a new plugin that builds out of tree
 * against the installed headers (pkg-config lifelong), loads as written and
 * carries its own test.  The templates are below; "@NAME@" becomes the
 * plugin's name, "@IDENT@" its C identifier ('-' -> '_'), "@TYPE@" its state
 * type (my-method -> MyMethod), "@KIND@" the kind. */
#define _XOPEN_SOURCE 700       /* realpath */
#include "commands.h"
#include "plugin-private.h"
#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEW_NAME_MAX 64

/* ---- the templates ---------------------------------------------------------
 * Arrays of pieces (ISO C caps one string literal at 4095 characters),
 * joined, then substituted. */

/* meson.build: the plugin (pkg-config lifelong) and its test */
static const char *const tpl_meson_build[] = {
  "# @NAME@: a lifelong @KIND@ plugin, built out of tree against an installed\n"
  "# lifelong, found through pkg-config (lifelong.pc).  Written by\n"
  "# `lifelong new @KIND@ @NAME@`; README.md has the commands.\n"
  "project('@NAME@', 'c',\n"
  "  version : '0.1.0',\n"
  "  meson_version : '>= 0.62.0',\n"
  "  default_options : ['c_std=c11', 'warning_level=3', 'buildtype=release'])\n"
  "\n"
  "lifelong_dep = dependency('lifelong')\n"
  "m_dep = meson.get_compiler('c').find_library('m', required : false)\n"
  "\n"
  "# One shared object with no \"lib\" prefix that exports one symbol,\n"
  "# lf_plugin_query; `meson install` puts it in the installed lifelong's\n"
  "# plugin folder, where every `lifelong` command finds it.\n"
  "plugin = shared_module('@NAME@', '@NAME@.c',\n"
  "  name_prefix : '',\n"
  "  gnu_symbol_visibility : 'hidden',\n"
  "  dependencies : [lifelong_dep, m_dep],\n"
  "  install : true,\n"
  "  install_dir : lifelong_dep.get_variable(pkgconfig : 'plugindir'))\n"
  "\n"
  "# `meson test`: runs example.json through `lifelong run` with this build\n"
  "# folder on the plugin path and checks the result file.  The lifelong is\n"
  "# the one lifelong.pc describes, else the first on PATH.\n"
  "lifelong = find_program(lifelong_dep.get_variable(pkgconfig : 'lifelong', default_value : 'lifelong'),\n"
  "  'lifelong')\n"
  "test_exe = executable('test-@NAME@', 'tests/test-@NAME@.c',\n"
  "  dependencies : [dependency('glib-2.0'), dependency('json-glib-1.0')])\n"
  "test('@NAME@', test_exe,\n"
  "  args : [lifelong.full_path(), files('example.json'), meson.current_build_dir()],\n"
  "  depends : plugin,\n"
  "  timeout : 300)\n",
  NULL,
};

/* README.md: build, run, test, install */
static const char *const tpl_readme[] = {
  "# @NAME@\n"
  "\n"
  "A lifelong @KIND@ plugin, created by `lifelong new @KIND@ @NAME@`.  It is\n"
  "one C file, `@NAME@.c`, built against the installed lifelong headers and\n"
  "loaded by `lifelong` at run time; the host needs no change.\n"
  "\n"
  "## Build\n"
  "\n"
  "    meson setup build\n"
  "    meson compile -C build\n"
  "\n"
  "`meson setup` finds lifelong through pkg-config.  If lifelong is installed\n"
  "in a prefix pkg-config does not search, point it there first:\n"
  "`export PKG_CONFIG_PATH=PREFIX/lib/x86_64-linux-gnu/pkgconfig` (the folder\n"
  "that holds `lifelong.pc`; `PREFIX/lib/pkgconfig` on some systems).  To build\n"
  "against an uninstalled lifelong, use its build folder's `meson-uninstalled`.\n"
  "\n"
  "## Run\n"
  "\n"
  "    lifelong plugins --plugin-path build\n"
  "    lifelong run example.json --plugin-path build --out result.json\n"
  "\n"
  "`lifelong plugins` shows the descriptor as the host sees it (parameters,\n"
  "capabilities, the file it came from) and any error loading it.\n"
  "`example.json` runs the @KIND@ on a small problem in a few seconds;\n"
  "`result.json` holds the accuracy matrix and the metrics\n"
  "(`lifelong run --help`).\n"
  "\n"
  "## Test\n"
  "\n"
  "    meson test -C build\n"
  "\n"
  "checks that `lifelong` loads @NAME@ from `build` (and not from an installed\n"
  "copy), runs `example.json` through `lifelong run` with `build` on the plugin\n"
  "path, and checks the result file (`tests/test-@NAME@.c`).\n"
  "\n"
  "## Install\n"
  "\n"
  "    meson install -C build\n"
  "\n"
  "puts `@NAME@.so` in lifelong's plugin folder\n"
  "(`pkg-config --variable=plugindir lifelong`), where every `lifelong`\n"
  "command finds it without `--plugin-path`.  Once it is installed, drop\n"
  "`--plugin-path build`: the same name found twice is refused the second time,\n"
  "so the installed copy would be the one that runs.\n"
  "\n"
  "## Where to read next\n"
  "\n"
  "In the lifelong sources: `docs/plugin-guide.md` (a tutorial),\n"
  "`docs/plugin-hooks.md` (the strategy hooks: when each runs, what it may\n"
  "change), `docs/abi.md` (what the host checks when it loads a plugin), and\n"
  "the headers in `include/lifelong/` (installed under `PREFIX/include/lifelong`).\n",
  NULL,
};

/* tests/test-NAME.c: runs example.json through `lifelong run` and checks the result */
static const char *const tpl_test_c[] = {
  "/* test-@NAME@: the host loads @NAME@ from the build folder; example.json\n"
  " * runs through `lifelong run` with that folder on the plugin path, and the\n"
  " * result file says so.\n"
  " * Usage: test-@NAME@ LIFELONG CONFIG.json BUILD_DIR */\n"
  "#include <glib.h>\n"
  "#include <json-glib/json-glib.h>\n"
  "#include <string.h>\n"
  "\n"
  "static const char *lifelong, *config, *build_dir;\n"
  "\n"
  "/* The host loads @NAME@ from this build folder, not an installed copy that\n"
  " * would shadow it (the installed folder comes first on the search path). */\n"
  "static void\n"
  "test_loads_from_build (void)\n"
  "{\n"
  "  const char *argv[] = { lifelong, \"plugins\", \"--plugin-path\", build_dir, NULL };\n"
  "  g_autofree char *out = NULL, *err = NULL;\n"
  "  g_autoptr (GError) error = NULL;\n"
  "  int status = 0;\n"
  "  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status,\n"
  "                               &error));\n"
  "  g_autofree char *file = g_build_filename (build_dir, \"@NAME@.so\", NULL);\n"
  "  g_autofree char *line = g_strdup_printf (\"file: %s (\", file);\n"
  "  if (strstr (out, line) == NULL)\n"
  "    {\n"
  "      g_printerr (\"lifelong does not load %s (is another @NAME@ installed? `lifelong plugins` says where \"\n"
  "                  \"each plugin comes from)\\n%s\", file, err);\n"
  "      g_test_fail ();\n"
  "    }\n"
  "}\n"
  "\n"
  "static void\n"
  "test_example_run (void)\n"
  "{\n"
  "  g_autofree char *out = g_build_filename (build_dir, \"example-result.json\", NULL);\n"
  "  const char *argv[] = { lifelong, \"run\", config, \"--plugin-path\", build_dir, \"--out\", out, \"--quiet\", NULL };\n"
  "  g_autofree char *err = NULL;\n"
  "  g_autoptr (GError) error = NULL;\n"
  "  int status = 0;\n"
  "  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err,\n"
  "                               &status, &error));\n"
  "  if (!g_spawn_check_wait_status (status, NULL))\n"
  "    {\n"
  "      g_printerr (\"%s run %s failed:\\n%s\", lifelong, config, err);\n"
  "      g_test_fail ();\n"
  "      return;\n"
  "    }\n"
  "\n"
  "  g_autoptr (JsonParser) parser = json_parser_new ();\n"
  "  g_assert_true (json_parser_load_from_file (parser, out, &error));\n"
  "  JsonObject *res = json_node_get_object (json_parser_get_root (parser));\n"
  "  g_assert_cmpstr (json_object_get_string_member (res, \"status\"), ==, \"ok\");\n"
  "  /* the run used this plugin */\n"
  "  JsonObject *plugins = json_object_get_object_member (json_object_get_object_member (res, \"versions\"), \"plugins\");\n"
  "  g_assert_true (json_object_has_member (plugins, \"@NAME@\"));\n"
  "  /* an accuracy matrix: R[i][j] after training through row i, tested on j */\n"
  "  JsonArray *m = json_object_get_array_member (res, \"matrix\");\n"
  "  guint rows = json_array_get_length (m);\n"
  "  g_assert_cmpuint (rows, >, 0);\n"
  "  JsonArray *last = json_array_get_array_element (m, rows - 1);\n"
  "  guint T = json_array_get_length (last);\n"
  "  for (guint i = 0; i < rows; i++)\n"
  "    for (guint j = 0; j < T; j++)\n"
  "      {\n"
  "        double r = json_array_get_double_element (json_array_get_array_element (m, i), j);\n"
  "        g_assert_cmpfloat (r, >=, 0.0);\n"
  "        g_assert_cmpfloat (r, <=, 1.0);\n"
  "      }\n"
  "  /* the model learned the last experience (example.json makes that easy) */\n"
  "  g_assert_cmpfloat (json_array_get_double_element (last, T - 1), >, 0.5);\n"
  "}\n"
  "\n"
  "int\n"
  "main (int argc, char **argv)\n"
  "{\n"
  "  g_test_init (&argc, &argv, NULL);\n"
  "  if (argc != 4)\n"
  "    {\n"
  "      g_printerr (\"usage: %s LIFELONG CONFIG.json BUILD_DIR\\n\", argv[0]);\n"
  "      return 2;\n"
  "    }\n"
  "  lifelong = argv[1];\n"
  "  config = argv[2];\n"
  "  build_dir = argv[3];\n"
  "  g_test_add_func (\"/@NAME@/loads-from-build\", test_loads_from_build);\n"
,
  "  g_test_add_func (\"/@NAME@/example-run\", test_example_run);\n"
  "  return g_test_run ();\n"
  "}\n",
  NULL,
};

/* NAME.c for a strategy: every hook stubbed, in the order the host calls them */
static const char *const tpl_strategy_c[] = {
  "/* lifelong plugin — strategy \"@NAME@\": TODO say in one line what the method\n"
  " * does and cite its paper.  Written by `lifelong new strategy @NAME@`; the\n"
  " * hooks run in the order below (docs/plugin-hooks.md says what each may\n"
  " * change).  Delete the hooks you do not need: a NULL slot is skipped. */\n"
  "#include <lifelong/lifelong.h>\n"
  "\n"
  "/* The method's state, kept between hooks (create makes it, destroy frees it). */\n"
  "typedef struct {\n"
  "  double  strength;\n"
  "  int64_t steps;        /* optimizer steps seen: an example of state */\n"
  "} @TYPE@;\n"
  "\n"
  "/* The parameters a config may give.  The host validates them (type, range)\n"
  " * and fills in the defaults before create; `lifelong plugins` lists them. */\n"
  "static const LfParam @IDENT@_params[] = {\n"
  "  { \"strength\", LF_PARAM_FLOAT, \"1\", 0, 1e9, NULL,\n"
  "    \"how strongly the method acts (an example parameter: rename it, add rows)\" },\n"
  "  { NULL, 0, NULL, 0, 0, NULL, NULL },\n"
  "};\n"
  "\n"
  "/* Once, after the model and the optimizer exist: make the state. */\n"
  "static void *\n"
  "@IDENT@_create (const LfParams *params, LfStrategyCtx *ctx, GError **error)\n"
  "{\n"
  "  (void) ctx; (void) error;\n"
  "  @TYPE@ *s = g_new0 (@TYPE@, 1);\n"
  "  s->strength = lf_params_get_float (params, \"strength\");\n"
  "  return s;\n"
  "}\n"
  "\n"
  "/* Once, at the end of the run (also after a failed one): free the state. */\n"
  "static void\n"
  "@IDENT@_destroy (void *self)\n"
  "{\n"
  "  g_free (self);\n"
  "}\n"
  "\n"
  "/* Before each experience (lf_ctx_experience (ctx) is the new one). */\n"
  "static gboolean\n"
  "@IDENT@_before_experience (void *self, LfStrategyCtx *ctx, GError **error)\n"
  "{\n"
  "  (void) self; (void) ctx; (void) error;\n"
  "  return TRUE;\n"
  "}\n"
  "\n"
  "/* After before_experience: may change the samples and epochs to train on. */\n"
  "static gboolean\n"
  "@IDENT@_select_training (void *self, LfStrategyCtx *ctx, LfSelection *sel, GError **error)\n"
  "{\n"
  "  (void) self; (void) ctx; (void) sel; (void) error;\n"
  "  return TRUE;\n"
  "}\n"
  "\n"
  "/* At the start of each step: returns the batch to train on (replay adds here). */\n"
  "static LfBatch *\n"
  "@IDENT@_before_batch (void *self, LfStrategyCtx *ctx, LfBatch *batch)\n"
  "{\n"
  "  (void) self; (void) ctx;\n"
  "  return batch;\n"
  "}\n"
  "\n"
  "/* After the forward: returns the loss to back-propagate (add terms here). */\n"
  "static LfTensor *\n"
  "@IDENT@_loss (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out,\n"
  "@ALIGN@ LfTensor *loss)\n"
  "{\n"
  "  (void) self; (void) ctx; (void) batch; (void) out;\n"
  "  return loss;\n"
  "}\n"
  "\n"
  "/* After backward, before clipping and the optimizer step: may edit gradients. */\n"
  "static void\n"
  "@IDENT@_after_backward (void *self, LfStrategyCtx *ctx, const LfBatch *batch)\n"
  "{\n"
  "  (void) self; (void) ctx; (void) batch;\n"
  "}\n"
  "\n"
  "/* After the optimizer step: bookkeeping that needs the new weights. */\n"
  "static void\n"
  "@IDENT@_after_step (void *self, LfStrategyCtx *ctx, const LfBatch *batch)\n"
  "{\n"
  "  (void) ctx; (void) batch;\n"
  "  ((@TYPE@ *) self)->steps++;\n"
  "}\n"
  "\n"
  "/* After the last step of an experience: consolidate (importance, buffers). */\n"
  "static gboolean\n"
  "@IDENT@_after_experience (void *self, LfStrategyCtx *ctx, GError **error)\n"
  "{\n"
  "  (void) self; (void) ctx; (void) error;\n"
  "  return TRUE;\n"
  "}\n"
  "\n"
  "/* On evaluation batches: batch->n class ids into pred (here the arg-max of\n"
  " * the task-masked logits, which is also what a NULL slot gives). */\n"
  "static void\n"
  "@IDENT@_predict (void *self, LfStrategyCtx *ctx, const LfBatch *batch, const LfModelOutput *out,\n"
  "@ALIGN@    int32_t *pred)\n"
  "{\n"
  "  (void) self; (void) ctx;\n"
  "  int64_t C = lf_tensor_dim (out->logits, -1);\n"
  "  const LfReal *z = lf_tensor_data (out->logits);\n"
  "  for (int64_t i = 0; i < batch->n; i++)\n"
  "    {\n"
  "      int32_t best = 0;\n"
,
  "      for (int64_t c = 1; c < C; c++)\n"
  "        if (z[i * C + c] > z[i * C + best])\n"
  "          best = (int32_t) c;\n"
  "      pred[i] = best;\n"
  "    }\n"
  "}\n"
  "\n"
  "/* Once, after the last experience: the method's figures for the result. */\n"
  "static void\n"
  "@IDENT@_report (void *self, LfStrategyCtx *ctx)\n"
  "{\n"
  "  lf_ctx_report_number (ctx, \"steps_seen\", (double) ((@TYPE@ *) self)->steps);\n"
  "}\n"
  "\n"
  "/* At each checkpoint (after after_experience): what a resumed run needs. */\n"
  "static gboolean\n"
  "@IDENT@_save (void *self, LfStrategyCtx *ctx, LfState *st, GError **error)\n"
  "{\n"
  "  (void) ctx; (void) error;\n"
  "  lf_state_put_int (st, \"@NAME@.steps\", ((@TYPE@ *) self)->steps);\n"
  "  return TRUE;\n"
  "}\n"
  "\n"
  "/* When a run resumes, before its first experience: read back what save put. */\n"
  "static gboolean\n"
  "@IDENT@_load (void *self, LfStrategyCtx *ctx, const LfState *st, GError **error)\n"
  "{\n"
  "  (void) ctx;\n"
  "  if (!lf_state_get_int (st, \"@NAME@.steps\", &((@TYPE@ *) self)->steps))\n"
  "    {\n"
  "      g_set_error (error, LF_ERROR, LF_ERROR_INVALID, \"@NAME@: the checkpoint has no @NAME@.steps\");\n"
  "      return FALSE;\n"
  "    }\n"
  "  return TRUE;\n"
  "}\n"
  "\n"
  "/* After every experience: bytes kept beyond the model (buffers, copies). */\n"
  "static size_t\n"
  "@IDENT@_memory_bytes (void *self)\n"
  "{\n"
  "  (void) self;\n"
  "  return sizeof (@TYPE@);\n"
  "}\n"
  "\n"
  "static const LfStrategyVTable @IDENT@_vtable = {\n"
  "  .struct_size = sizeof (LfStrategyVTable),\n"
  "  .create = @IDENT@_create,\n"
  "  .destroy = @IDENT@_destroy,\n"
  "  .before_experience = @IDENT@_before_experience,\n"
  "  .select_training = @IDENT@_select_training,\n"
  "  .before_batch = @IDENT@_before_batch,\n"
  "  .loss = @IDENT@_loss,\n"
  "  .after_backward = @IDENT@_after_backward,\n"
  "  .after_step = @IDENT@_after_step,\n"
  "  .after_experience = @IDENT@_after_experience,\n"
  "  .predict = @IDENT@_predict,\n"
  "  .report = @IDENT@_report,\n"
  "  .save = @IDENT@_save,\n"
  "  .load = @IDENT@_load,\n"
  "  .memory_bytes = @IDENT@_memory_bytes,\n"
  "};\n"
  "\n"
  "/* What the method touches and needs from a scenario: the host refuses a\n"
  " * run it cannot support before it starts, and `lifelong plugins` shows it. */\n"
  "static const LfCapabilities @IDENT@_caps = {\n"
  "  .touches = 0,                           /* LF_TOUCHES_LOSS | _GRADIENTS | _DATA | _STRUCTURE | ... */\n"
  "  .needs = LF_NEEDS_BOUNDARIES,           /* LF_NEEDS_TASK_IDS, LF_NEEDS_LABELS, ...                */\n"
  "  .supports = LF_SUPPORTS_CLASSIFICATION, /* | LF_SUPPORTS_ONLINE | LF_SUPPORTS_LANGUAGE_MODEL      */\n"
  "};\n"
  "\n"
  "/* The one exported symbol: the descriptor the host reads when it loads the file. */\n"
  "LF_PLUGIN_EXPORT const LfPluginInfo *\n"
  "lf_plugin_query (void)\n"
  "{\n"
  "  static const LfPluginInfo info = {\n"
  "    LF_PLUGIN_INFO_HEADER,\n"
  "    .kind = LF_PLUGIN_STRATEGY,\n"
  "    .name = \"@NAME@\",\n"
  "    .version = \"0.1.0\",\n"
  "    .summary = \"@NAME@: a new strategy (TODO: one line, and the paper reference)\",\n"
  "    .params = @IDENT@_params,\n"
  "    .caps = &@IDENT@_caps,\n"
  "    .vtable = &@IDENT@_vtable,\n"
  "  };\n"
  "  return &info;\n"
  "}\n",
  NULL,
};

/* example.json for a strategy: the synthetic dataset, two experiences */
static const char *const tpl_strategy_json[] = {
  "{\n"
  "  \"model\":    {\"name\": \"mlp\", \"hidden\": [32]},\n"
  "  \"strategy\": {\"name\": \"@NAME@\", \"strength\": 1.0},\n"
  "  \"dataset\":  {\"name\": \"synthetic\", \"classes\": 4, \"dim\": 16, \"train_per_class\": 100, \"test_per_class\": 50},\n"
  "  \"scenario\": {\"type\": \"class-incremental\", \"experiences\": 2},\n"
  "  \"train\":    {\"epochs\": 5, \"batch_size\": 32, \"lr\": 0.01},\n"
  "  \"seed\": 0,\n"
  "  \"threads\": 1\n"
  "}\n",
  NULL,
};

/* NAME.c for a model: a small working perceptron */
static const char *const tpl_model_c[] = {
  "/* lifelong plugin — model \"@NAME@\": TODO say in one line what the model is.\n"
  " * Written by `lifelong new model @NAME@` as a small perceptron to start\n"
  " * from: layers.0 (linear, then ReLU) and head (linear to the classes).\n"
  " * Strategies see the module tree by these names (freezing, LoRA, snapshots). */\n"
  "#include <lifelong/lifelong.h>\n"
  "\n"
  "typedef struct {\n"
  "  int64_t   in, hidden, classes;   /* flattened input size, hidden width, head width */\n"
  "  LfModule *root;                  /* the module tree; owns every parameter */\n"
  "} @TYPE@;\n"
  "\n"
  "/* The parameters a config may give (validated, defaults filled in by the host). */\n"
  "static const LfParam @IDENT@_params[] = {\n"
  "  { \"hidden\", LF_PARAM_INT, \"64\", 1, 1e6, NULL, \"width of the hidden layer\" },\n"
  "  { NULL, 0, NULL, 0, 0, NULL, NULL },\n"
  "};\n"
  "\n"
  "/* Fills every linear like PyTorch does, from the run's key. */\n"
  "static void\n"
  "@IDENT@_init (@TYPE@ *m, uint64_t rng_key)\n"
  "{\n"
  "  g_autoptr (GPtrArray) lin = lf_module_find_all (m->root, \"*\", LF_MODULE_LINEAR);\n"
  "  for (guint i = 0; i < lin->len; i++)\n"
  "    if (lf_module_class (lin->pdata[i]) == &lf_linear_class)   /* not a wrapper (LoRA) */\n"
  "      lf_module_init_linear (lin->pdata[i], lf_rng_key (rng_key, i, 0, 0, \"@NAME@-init\"));\n"
  "}\n"
  "\n"
  "static @TYPE@ *\n"
  "@IDENT@_build (int64_t in, int64_t hidden, int64_t classes, uint64_t rng_key)\n"
  "{\n"
  "  @TYPE@ *m = g_new0 (@TYPE@, 1);\n"
  "  m->in = in;\n"
  "  m->hidden = hidden;\n"
  "  m->classes = classes;\n"
  "  m->root = lf_module_new (\"\", LF_MODULE_CONTAINER, NULL, NULL);\n"
  "  LfModule *layers = lf_module_new (\"layers\", LF_MODULE_CONTAINER, NULL, NULL);\n"
  "  lf_module_add_child (m->root, layers);\n"
  "  lf_module_add_child (layers, lf_module_new_linear (\"0\", in, hidden, TRUE));\n"
  "  lf_module_add_child (m->root, lf_module_new_linear (\"head\", hidden, classes, TRUE));\n"
  "  @IDENT@_init (m, rng_key);\n"
  "  return m;\n"
  "}\n"
  "\n"
  "/* Once per run: spec says what the scenario gives (input shape, classes, tasks). */\n"
  "static void *\n"
  "@IDENT@_create (const LfParams *params, const LfDataSpec *spec, uint64_t rng_key, GError **error)\n"
  "{\n"
  "  if (spec->input_ndim <= 0 || spec->n_classes <= 0)\n"
  "    {\n"
  "      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED,\n"
  "                   \"model @NAME@ needs dense inputs and class labels\");\n"
  "      return NULL;\n"
  "    }\n"
  "  int64_t in = 1;\n"
  "  for (int i = 0; i < spec->input_ndim; i++)\n"
  "    in *= spec->input_shape[i];\n"
  "  return @IDENT@_build (in, lf_params_get_int (params, \"hidden\"), spec->n_classes, rng_key);\n"
  "}\n"
  "\n"
  "/* Once, at the end: frees the tree (and every parameter in it). */\n"
  "static void\n"
  "@IDENT@_destroy (void *self)\n"
  "{\n"
  "  @TYPE@ *m = self;\n"
  "  lf_module_free (m->root);\n"
  "  g_free (m);\n"
  "}\n"
  "\n"
  "/* The module tree, owned by the model. */\n"
  "static LfModule *\n"
  "@IDENT@_root (void *self)\n"
  "{\n"
  "  return ((@TYPE@ *) self)->root;\n"
  "}\n"
  "\n"
  "/* Every step and evaluation batch: x (n, in...) -> features (n, hidden)\n"
  " * -> logits (n, classes).  Through lf_module_forward, so wrappers and hooks\n"
  " * that strategies add apply; the host masks logits per task itself. */\n"
  "static void\n"
  "@IDENT@_forward (void *self, const LfBatch *batch, LfForward *fwd, LfModelOutput *out)\n"
  "{\n"
  "  @TYPE@ *m = self;\n"
  "  LfTensor *x = batch->inputs;\n"
  "  if (lf_tensor_ndim (x) != 2)\n"
  "    {\n"
  "      int64_t shape[2] = { batch->n, m->in };\n"
  "      x = lf_reshape (x, 2, shape);\n"
  "    }\n"
  "  LfTensor *h = lf_relu (lf_module_forward (lf_module_find (m->root, \"layers.0\"), x, fwd));\n"
  "  out->features = h;\n"
  "  out->logits = lf_module_forward (lf_module_find (m->root, \"head\"), h, fwd);\n"
  "}\n"
  "\n"
  "/* When a strategy asks for a fresh model (GDumb): re-initialise in place. */\n"
  "static void\n"
,
  "@IDENT@_reset (void *self, uint64_t rng_key)\n"
  "{\n"
  "  @IDENT@_init (self, rng_key);\n"
  "}\n"
  "\n"
  "/* When a strategy asks for a frozen copy (LwF's teacher): the same\n"
  " * structure; the host copies the parameter values by name. */\n"
  "static void *\n"
  "@IDENT@_clone (void *self)\n"
  "{\n"
  "  @TYPE@ *m = self;\n"
  "  return @IDENT@_build (m->in, m->hidden, m->classes, 0);\n"
  "}\n"
  "\n"
  "static const LfModelVTable @IDENT@_vtable = {\n"
  "  .struct_size = sizeof (LfModelVTable),\n"
  "  .create = @IDENT@_create,\n"
  "  .destroy = @IDENT@_destroy,\n"
  "  .root = @IDENT@_root,\n"
  "  .forward = @IDENT@_forward,\n"
  "  .reset = @IDENT@_reset,\n"
  "  .clone = @IDENT@_clone,\n"
  "};\n"
  "\n"
  "/* The kinds of model this is: strategies that work only on some kinds\n"
  " * name them in their capabilities.  It has the MLP's names (layers.N, head). */\n"
  "static const char *const @IDENT@_kinds[] = { \"mlp\", NULL };\n"
  "static const LfCapabilities @IDENT@_caps = {\n"
  "  .supports = LF_SUPPORTS_CLASSIFICATION,\n"
  "  .model_kinds = @IDENT@_kinds,\n"
  "};\n"
  "\n"
  "/* The one exported symbol: the descriptor the host reads when it loads the file. */\n"
  "LF_PLUGIN_EXPORT const LfPluginInfo *\n"
  "lf_plugin_query (void)\n"
  "{\n"
  "  static const LfPluginInfo info = {\n"
  "    LF_PLUGIN_INFO_HEADER,\n"
  "    .kind = LF_PLUGIN_MODEL,\n"
  "    .name = \"@NAME@\",\n"
  "    .version = \"0.1.0\",\n"
  "    .summary = \"@NAME@: a new model (TODO: one line)\",\n"
  "    .params = @IDENT@_params,\n"
  "    .caps = &@IDENT@_caps,\n"
  "    .vtable = &@IDENT@_vtable,\n"
  "  };\n"
  "  return &info;\n"
  "}\n",
  NULL,
};

/* example.json for a model */
static const char *const tpl_model_json[] = {
  "{\n"
  "  \"model\":    {\"name\": \"@NAME@\", \"hidden\": 32},\n"
  "  \"strategy\": {\"name\": \"naive\"},\n"
  "  \"dataset\":  {\"name\": \"synthetic\", \"classes\": 4, \"dim\": 16, \"train_per_class\": 100, \"test_per_class\": 50},\n"
  "  \"scenario\": {\"type\": \"class-incremental\", \"experiences\": 2},\n"
  "  \"train\":    {\"epochs\": 5, \"batch_size\": 32, \"lr\": 0.01},\n"
  "  \"seed\": 0,\n"
  "  \"threads\": 1\n"
  "}\n",
  NULL,
};

/* NAME.c for a dataset: a tiny generated one that works */
static const char *const tpl_dataset_c[] = {
  "/* lifelong plugin — dataset \"@NAME@\": TODO say in one line what the data\n"
  " * is and where it comes from.  Written by `lifelong new dataset @NAME@` as\n"
  " * a tiny generated dataset to start from: one Gaussian blob per class.\n"
  " * Keep data compact and convert only the rows a batch asks for. */\n"
  "#include <lifelong/lifelong.h>\n"
  "#include <string.h>\n"
  "\n"
  "typedef struct {\n"
  "  int64_t  classes, dim;\n"
  "  int64_t  n[2];     /* samples per split: [LF_SPLIT_TRAIN], [LF_SPLIT_TEST] */\n"
  "  LfReal  *x[2];     /* (n, dim) */\n"
  "  int32_t *y[2];     /* (n)      */\n"
  "} @TYPE@;\n"
  "\n"
  "/* The parameters a config may give (validated, defaults filled in by the host). */\n"
  "static const LfParam @IDENT@_params[] = {\n"
  "  { \"classes\", LF_PARAM_INT, \"4\", 2, 1000, NULL, \"number of classes\" },\n"
  "  { \"dim\", LF_PARAM_INT, \"8\", 1, 100000, NULL, \"input features per sample\" },\n"
  "  { \"train_per_class\", LF_PARAM_INT, \"100\", 1, 1e6, NULL, \"training samples per class\" },\n"
  "  { \"test_per_class\", LF_PARAM_INT, \"50\", 1, 1e6, NULL, \"test samples per class\" },\n"
  "  { \"seed\", LF_PARAM_INT, \"0\", 0, 1e9, NULL, \"seed of the data (independent of the run's seed)\" },\n"
  "  { NULL, 0, NULL, 0, 0, NULL, NULL },\n"
  "};\n"
  "\n"
  "/* Once per run: read (here: generate) the data.  Errors name the file. */\n"
  "static void *\n"
  "@IDENT@_open (const LfParams *params, uint64_t rng_key, GError **error)\n"
  "{\n"
  "  (void) rng_key; (void) error;\n"
  "  @TYPE@ *d = g_new0 (@TYPE@, 1);\n"
  "  d->classes = lf_params_get_int (params, \"classes\");\n"
  "  d->dim = lf_params_get_int (params, \"dim\");\n"
  "  int64_t per[2] = { lf_params_get_int (params, \"train_per_class\"),\n"
  "                     lf_params_get_int (params, \"test_per_class\") };\n"
  "  uint64_t seed = (uint64_t) lf_params_get_int (params, \"seed\");\n"
  "  int64_t C = d->classes, D = d->dim;\n"
  "  g_autofree double *mean = g_new (double, C * D);\n"
  "  LfRng r;\n"
  "  lf_rng_init (&r, lf_rng_key (seed, 0, 0, 0, \"@NAME@-means\"));\n"
  "  for (int64_t k = 0; k < C * D; k++)\n"
  "    mean[k] = 3 * lf_rng_normal (&r);\n"
  "  for (int sp = 0; sp < 2; sp++)\n"
  "    {\n"
  "      d->n[sp] = per[sp] * C;\n"
  "      d->x[sp] = g_new (LfReal, d->n[sp] * D);\n"
  "      d->y[sp] = g_new (int32_t, d->n[sp]);\n"
  "      lf_rng_init (&r, lf_rng_key (seed, (uint64_t) sp + 1, 0, 0, \"@NAME@-samples\"));\n"
  "      for (int64_t i = 0; i < d->n[sp]; i++)\n"
  "        {\n"
  "          int64_t c = i % C;          /* interleaved: every class in every stretch */\n"
  "          d->y[sp][i] = (int32_t) c;\n"
  "          for (int64_t j = 0; j < D; j++)\n"
  "            d->x[sp][i * D + j] = (LfReal) (mean[c * D + j] + lf_rng_normal (&r));\n"
  "        }\n"
  "    }\n"
  "  return d;\n"
  "}\n"
  "\n"
  "/* Once, at the end. */\n"
  "static void\n"
  "@IDENT@_close (void *self)\n"
  "{\n"
  "  @TYPE@ *d = self;\n"
  "  for (int sp = 0; sp < 2; sp++)\n"
  "    {\n"
  "      g_free (d->x[sp]);\n"
  "      g_free (d->y[sp]);\n"
  "    }\n"
  "  g_free (d);\n"
  "}\n"
  "\n"
  "/* After open: sizes, input shape, classes (the scenario is built from these). */\n"
  "static void\n"
  "@IDENT@_info (void *self, LfDatasetInfo *info)\n"
  "{\n"
  "  @TYPE@ *d = self;\n"
  "  info->n_train = d->n[LF_SPLIT_TRAIN];\n"
  "  info->n_test = d->n[LF_SPLIT_TEST];\n"
  "  info->input_ndim = 1;\n"
  "  info->input_shape[0] = d->dim;\n"
  "  info->n_classes = d->classes;\n"
  "}\n"
  "\n"
  "/* When the scenario splits the classes into experiences: sample i's class. */\n"
  "static int32_t\n"
  "@IDENT@_label (void *self, LfSplit split, int64_t i)\n"
  "{\n"
  "  return ((@TYPE@ *) self)->y[split][i];\n"
  "}\n"
  "\n"
  "/* For every batch: the inputs of samples idx[0..n) into out, row-major. */\n"
  "static void\n"
  "@IDENT@_fill_inputs (void *self, LfSplit split, const int64_t *idx, int64_t n, LfReal *out)\n"
  "{\n"
  "  @TYPE@ *d = self;\n"
  "  for (int64_t r = 0; r < n; r++)\n"
,
  "    memcpy (out + r * d->dim, d->x[split] + idx[r] * d->dim, (size_t) d->dim * sizeof (LfReal));\n"
  "}\n"
  "\n"
  "static const LfDatasetVTable @IDENT@_vtable = {\n"
  "  .struct_size = sizeof (LfDatasetVTable),\n"
  "  .open = @IDENT@_open,\n"
  "  .close = @IDENT@_close,\n"
  "  .info = @IDENT@_info,\n"
  "  .label = @IDENT@_label,\n"
  "  .fill_inputs = @IDENT@_fill_inputs,\n"
  "};\n"
  "\n"
  "/* The one exported symbol: the descriptor the host reads when it loads the file. */\n"
  "LF_PLUGIN_EXPORT const LfPluginInfo *\n"
  "lf_plugin_query (void)\n"
  "{\n"
  "  static const LfPluginInfo info = {\n"
  "    LF_PLUGIN_INFO_HEADER,\n"
  "    .kind = LF_PLUGIN_DATASET,\n"
  "    .name = \"@NAME@\",\n"
  "    .version = \"0.1.0\",\n"
  "    .summary = \"@NAME@: a new dataset (TODO: one line, and where the data comes from)\",\n"
  "    .params = @IDENT@_params,\n"
  "    .vtable = &@IDENT@_vtable,\n"
  "  };\n"
  "  return &info;\n"
  "}\n",
  NULL,
};

/* example.json for a dataset */
static const char *const tpl_dataset_json[] = {
  "{\n"
  "  \"model\":    {\"name\": \"mlp\", \"hidden\": [32]},\n"
  "  \"strategy\": {\"name\": \"naive\"},\n"
  "  \"dataset\":  {\"name\": \"@NAME@\", \"classes\": 4, \"dim\": 8},\n"
  "  \"scenario\": {\"type\": \"class-incremental\", \"experiences\": 2},\n"
  "  \"train\":    {\"epochs\": 5, \"batch_size\": 32, \"lr\": 0.01},\n"
  "  \"seed\": 0,\n"
  "  \"threads\": 1\n"
  "}\n",
  NULL,
};

/* ---- the command --------------------------------------------------------- */

typedef struct {
  const char        *kind;
  LfPluginKind       plugin_kind;
  const char *const *source, *const *example;
  const char        *what;       /* for the closing message */
} NewKind;

static const NewKind new_kinds[] = {
  { "strategy", LF_PLUGIN_STRATEGY, tpl_strategy_c, tpl_strategy_json,
    "every hook stubbed, in the order the host calls them" },
  { "model", LF_PLUGIN_MODEL, tpl_model_c, tpl_model_json, "a small working perceptron" },
  { "dataset", LF_PLUGIN_DATASET, tpl_dataset_c, tpl_dataset_json, "a tiny generated dataset" },
};

static const char new_usage[] =
  "usage: lifelong new strategy|model|dataset NAME [--dir DIR] [--plugin-path DIR]...\n"
  "\n"
  "Writes DIR (default ./NAME), a meson project for a new plugin that builds out of\n"
  "tree against the installed lifelong (found with pkg-config) and loads as written:\n"
  "\n"
  "  meson.build         the plugin (a shared module) and its test\n"
  "  NAME.c              the descriptor, a parameter with a default, capabilities, and\n"
  "                      every hook stubbed (strategy), a small working perceptron\n"
  "                      (model) or a tiny generated dataset (dataset)\n"
  "  example.json        a run of it on a small problem (the synthetic dataset)\n"
  "  tests/test-NAME.c   `meson test`: runs example.json through `lifelong run`\n"
  "                      with the build folder on the plugin path, checks the result\n"
  "  README.md           the commands to build, run, test and install it\n"
  "\n"
  "NAME is [a-z][a-z0-9-]* (at most 64 characters); its C identifier replaces '-'\n"
  "with '_'.  It must not be taken by a plugin of the same kind on the search path\n"
  "(which --plugin-path extends, as for `lifelong plugins`).  DIR must not exist:\n"
  "nothing is ever overwritten.\n"
  "\n"
  "Then: cd DIR && meson setup build && meson compile -C build && meson test -C build\n"
  "docs/plugin-guide.md walks through writing a strategy this way.\n";

static gboolean
new_name_ok (const char *s)
{
  if (s == NULL || !(*s >= 'a' && *s <= 'z') || strlen (s) > NEW_NAME_MAX)
    return FALSE;
  for (; *s != '\0'; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
      return FALSE;
  return TRUE;
}

/* my-method -> MyMethod */
static char *
new_type_name (const char *name)
{
  GString *t = g_string_new (NULL);
  gboolean up = TRUE;
  for (const char *s = name; *s != '\0'; s++)
    {
      if (*s == '-')
        up = TRUE;
      else
        {
          g_string_append_c (t, up ? g_ascii_toupper (*s) : *s);
          up = FALSE;
        }
    }
  return g_string_free (t, FALSE);
}

static char *
new_expand (const char *const *pieces, const char *kind, const char *name)
{
  g_autofree char *ident = g_strdelimit (g_strdup (name), "-", '_');
  g_autofree char *type = new_type_name (name);
  g_autofree char *align = g_strnfill (strlen (ident) + 6, ' ');
  GString *s = g_string_new (NULL);
  for (int i = 0; pieces[i] != NULL; i++)
    g_string_append (s, pieces[i]);
  g_string_replace (s, "@NAME@", name, 0);
  g_string_replace (s, "@IDENT@", ident, 0);
  g_string_replace (s, "@TYPE@", type, 0);
  g_string_replace (s, "@KIND@", kind, 0);
  g_string_replace (s, "@ALIGN@", align, 0);
  return g_string_free (s, FALSE);
}

/* Removes what a failed write created, newest first. */
static void
new_undo (GPtrArray *made)
{
  for (guint i = made->len; i-- > 0;)
    {
      const char *p = made->pdata[i];
      if (g_file_test (p, G_FILE_TEST_IS_DIR))
        g_rmdir (p);
      else
        g_unlink (p);
    }
}

static gboolean
new_mkdir (const char *path, GPtrArray *made, GError **error)
{
  if (g_mkdir (path, 0777) != 0)
    {
      int e = errno;
      if (e == EEXIST)
        g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                     "%s already exists: lifelong new never overwrites (remove it, or choose "
                     "another folder with --dir)", path);
      else
        g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "cannot create %s: %s", path,
                     g_strerror (e));
      return FALSE;
    }
  g_ptr_array_add (made, g_strdup (path));
  return TRUE;
}

static gboolean
new_write (const char *dir, const char *rel, const char *text, GPtrArray *made, GError **error)
{
  g_autofree char *path = g_build_filename (dir, rel, NULL);
  if (!g_file_set_contents (path, text, -1, error))
    return FALSE;
  g_ptr_array_add (made, g_strdup (path));
  return TRUE;
}

/* The project's files, in DIR (which must not exist). */
static gboolean
new_project (const NewKind *k, const char *name, const char *dir, GError **error)
{
  g_autofree char *parent = g_path_get_dirname (dir);
  if (g_mkdir_with_parents (parent, 0777) != 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "cannot create %s: %s", parent,
                   g_strerror (e));
      return FALSE;
    }
  g_autoptr (GPtrArray) made = g_ptr_array_new_with_free_func (g_free);
  if (!new_mkdir (dir, made, error))
    return FALSE;
  g_autofree char *tests = g_build_filename (dir, "tests", NULL);
  g_autofree char *source = g_strconcat (name, ".c", NULL);
  g_autofree char *test = g_strconcat ("tests/test-", name, ".c", NULL);
  struct { const char *rel; const char *const *tpl; } files[] = {
    { "meson.build", tpl_meson_build }, { source, k->source }, { "example.json", k->example },
    { test, tpl_test_c }, { "README.md", tpl_readme },
  };
  gboolean ok = new_mkdir (tests, made, error);
  for (guint i = 0; ok && i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *text = new_expand (files[i].tpl, k->kind, name);
      ok = new_write (dir, files[i].rel, text, made, error);
    }
  if (!ok)
    new_undo (made);
  return ok;
}

/* The file of a plugin of this kind that already answers to name, or NULL. */
static char *
new_taken_by (const NewKind *k, const char *name, const char *extra_dirs)
{
  g_auto (GStrv) dirs = lf_plugin_search_path (extra_dirs);
  g_autoptr (LfPluginRegistry) reg = lf_registry_new ();
  lf_registry_scan (reg, (const char *const *) dirs, NULL);   /* broken files are not our business here */
  const LfPluginInfo *info = lf_registry_find (reg, k->plugin_kind, name);
  return info != NULL ? g_strdup (lf_registry_file (reg, info)) : NULL;
}

/* How to call this lifelong: "lifelong" when that is the one on PATH, else
 * its full path. */
static char *
new_self_command (void)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *found = g_find_program_in_path ("lifelong");
  g_autofree char *found_real = found != NULL ? realpath (found, NULL) : NULL;
  if (self == NULL || (found_real != NULL && strcmp (found_real, self) == 0))
    return g_strdup ("lifelong");
  return g_steal_pointer (&self);
}

/* Where pkg-config must look for this lifelong's lifelong.pc, or NULL when
 * it already finds it there. */
static char *
new_pkg_config_hint (void)
{
#if defined (LF_BUILD_ROOT) && defined (LF_PKGCONFIG_DIR)
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *root = realpath (LF_BUILD_ROOT, NULL);
  gboolean in_build = self != NULL && root != NULL && g_str_has_prefix (self, root)
                      && self[strlen (root)] == '/';
  const char *want_dir = in_build ? LF_BUILD_ROOT "/meson-uninstalled" : LF_PKGCONFIG_DIR;
  g_autofree char *want = realpath (want_dir, NULL);
  const char *argv[] = { "pkg-config", "--variable=pcfiledir", "lifelong", NULL };
  g_autofree char *out = NULL;
  int status = 0;
  if (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                    NULL, &out, NULL, &status, NULL)
      && g_spawn_check_wait_status (status, NULL) && out != NULL)
    {
      g_autofree char *got = realpath (g_strstrip (out), NULL);
      if (want != NULL && got != NULL && strcmp (want, got) == 0)
        return NULL;
    }
  return g_strdup (want != NULL ? want : want_dir);
#else
  return NULL;
#endif
}

int
lf_cmd_new (int argc, char **argv)
{
  const char *dir = NULL;
  g_autoptr (GPtrArray) pos = g_ptr_array_new ();
  g_autoptr (GPtrArray) paths = g_ptr_array_new ();
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      if (g_str_equal (a, "--help") || g_str_equal (a, "-h"))
        {
          fputs (new_usage, stdout);
          return 0;
        }
      if ((g_str_equal (a, "--dir") || g_str_equal (a, "--plugin-path")) && i + 1 < argc)
        {
          if (g_str_equal (a, "--dir"))
            dir = argv[++i];
          else
            g_ptr_array_add (paths, argv[++i]);
        }
      else if (a[0] == '-')
        {
          fprintf (stderr, "lifelong new: unknown option or missing value: %s (see --help)\n", a);
          return 2;
        }
      else
        g_ptr_array_add (pos, (gpointer) a);
    }
  if (pos->len != 2)
    {
      fputs (new_usage, stderr);
      return 2;
    }
  const char *kind = pos->pdata[0], *name = pos->pdata[1];
  const NewKind *k = NULL;
  for (guint i = 0; i < G_N_ELEMENTS (new_kinds); i++)
    if (g_str_equal (kind, new_kinds[i].kind))
      k = &new_kinds[i];
  if (k == NULL)
    {
      fprintf (stderr, "lifelong new: unknown kind \"%s\": expected strategy, model or dataset\n", kind);
      return 2;
    }
  if (!new_name_ok (name))
    {
      fprintf (stderr, "lifelong new: NAME \"%s\" is not [a-z][a-z0-9-]* (lower-case letters, digits "
               "and '-', starting with a letter, at most %d characters)\n", name, NEW_NAME_MAX);
      return 2;
    }
  if (dir == NULL)
    dir = name;
  if (*dir == '\0')
    {
      fprintf (stderr, "lifelong new: --dir: an empty folder name\n");
      return 2;
    }

  if (g_file_test (dir, G_FILE_TEST_EXISTS))
    {
      fprintf (stderr, "lifelong new: %s already exists: lifelong new never overwrites (remove it, or "
               "choose another folder with --dir)\n", dir);
      return 1;
    }

  g_ptr_array_add (paths, NULL);
  g_autofree char *extra = paths->len > 1 ? g_strjoinv (G_SEARCHPATH_SEPARATOR_S, (char **) paths->pdata) : NULL;
  g_autofree char *taken = new_taken_by (k, name, extra);
  if (taken != NULL)
    {
      fprintf (stderr, "lifelong new: a %s named \"%s\" is already on the plugin search path (%s); a "
               "second one would be refused when loaded: choose another name\n", kind, name, taken);
      return 1;
    }
  g_autoptr (GError) error = NULL;
  if (!new_project (k, name, dir, &error))
    {
      fprintf (stderr, "lifelong new: %s\n", error->message);
      return 1;
    }

  g_autofree char *self = new_self_command ();
  g_autofree char *hint = new_pkg_config_hint ();
  printf ("created %s \"%s\" in %s: %s\n"
          "  %s/meson.build\n  %s/%s.c\n  %s/example.json\n  %s/tests/test-%s.c\n  %s/README.md\n"
          "next:\n", kind, name, dir, k->what, dir, dir, name, dir, dir, name, dir);
  if (hint != NULL)
    printf ("  export PKG_CONFIG_PATH=%s%s$PKG_CONFIG_PATH   # so that meson finds this lifelong\n", hint,
            G_SEARCHPATH_SEPARATOR_S);
  gboolean plain = TRUE;
  for (const char *c = dir; *c != '\0'; c++)
    plain = plain && (g_ascii_isalnum (*c) || strchr ("/._-+", *c) != NULL);
  g_autofree char *qdir = plain ? g_strdup (dir) : g_shell_quote (dir);
  printf ("  cd %s\n"
          "  meson setup build && meson compile -C build\n"
          "  %s run example.json --plugin-path build --out result.json\n"
          "  meson test -C build\n", qdir, self);
  return 0;
}
