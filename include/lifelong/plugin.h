/* lifelong — the plugin descriptor: ABI version, kind, names, the typed
 * parameter table, capabilities and the vtable.  Every plugin shared object
 * exports exactly one symbol, lf_plugin_query, returning its descriptor.
 *
 *   LF_PLUGIN_EXPORT const LfPluginInfo *
 *   lf_plugin_query (void)
 *   {
 *     static const LfPluginInfo info = {
 *       LF_PLUGIN_INFO_HEADER,
 *       .kind = LF_PLUGIN_STRATEGY, .name = "ewc", .version = "0.1.0",
 *       .summary = "...", .params = ewc_params, .caps = &ewc_caps,
 *       .vtable = &ewc_vtable,
 *     };
 *     return &info;
 *   }
 *
 * docs/abi.md says what a minor version may change and what needs a major. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

G_BEGIN_DECLS

#define LF_ABI_MAJOR 1   /* bump: the host refuses plugins of another major */
#define LF_ABI_MINOR 3   /* bump: fields, slots or functions were appended
                          * (1.1: model describe and generate,
                          * LfGenerateOptions; 1.2: the optimizer's pull
                          * and path integral, toolkit penalty.h, LoRA
                          * helpers, per-sample prompt slots, the dataset
                          * slots answer_span and edit, LfSelection.lr;
                          * 1.3: the oracle, unlabelled streams, the
                          * novelty slot, toolkit novelty.h, AUROC)  */

#define LF_PLUGIN_EXPORT __attribute__ ((visibility ("default")))
#define LF_PLUGIN_SYMBOL "lf_plugin_query"

typedef enum {
  LF_PLUGIN_MODEL = 1,
  LF_PLUGIN_STRATEGY = 2,
  LF_PLUGIN_DATASET = 3,
} LfPluginKind;

/* ---- parameters ------------------------------------------------------- */

typedef enum {
  LF_PARAM_BOOL = 1,
  LF_PARAM_INT,
  LF_PARAM_FLOAT,
  LF_PARAM_STRING,
  LF_PARAM_INT_LIST,
  LF_PARAM_FLOAT_LIST,
  LF_PARAM_STRING_LIST,
  LF_PARAM_JSON,          /* any JSON value, handed over as text */
} LfParamType;

/* One row of a plugin's parameter table; the table ends with a row whose
 * name is NULL.  The host validates configs against it (unknown key with
 * the nearest valid name, wrong type, out of range, not one of the choices)
 * and fills in defaults before the plugin sees anything. */
typedef struct {
  const char *name;
  LfParamType type;
  const char *default_json;  /* JSON text: "5000", "[400, 400]", "\"relu\""; NULL: required */
  double      min, max;      /* numbers and list elements; checked only when min < max */
  const char *choices;       /* strings: "relu|gelu|tanh", or NULL for any */
  const char *doc;           /* one sentence: what it is, its unit, where it comes from */
} LfParam;

/* The validated values a plugin reads in create/open.  Asking for a name
 * the table does not declare, or with the wrong type, is a programming
 * error (g_critical, and 0 / NULL back). */
typedef struct LfParams LfParams;

gboolean       lf_params_get_bool (const LfParams *p, const char *name);
int64_t        lf_params_get_int (const LfParams *p, const char *name);
double         lf_params_get_float (const LfParams *p, const char *name);
const char    *lf_params_get_string (const LfParams *p, const char *name);
const int64_t *lf_params_get_int_list (const LfParams *p, const char *name, int64_t *n);
const double  *lf_params_get_float_list (const LfParams *p, const char *name, int64_t *n);
const char *const *lf_params_get_string_list (const LfParams *p, const char *name, int64_t *n);
const char    *lf_params_get_json (const LfParams *p, const char *name);
/* TRUE when the config gave the value (FALSE: the default). */
gboolean       lf_params_is_set (const LfParams *p, const char *name);

/* ---- capabilities ------------------------------------------------------ */

/* What a strategy touches (shown by `lifelong plugins`, used by the report). */
enum {
  LF_TOUCHES_LOSS       = 1u << 0,   /* adds loss terms                        */
  LF_TOUCHES_GRADIENTS  = 1u << 1,   /* edits gradients after backward         */
  LF_TOUCHES_DATA       = 1u << 2,   /* changes what is trained on (replay)    */
  LF_TOUCHES_STRUCTURE  = 1u << 3,   /* changes the module tree                */
  LF_TOUCHES_INFERENCE  = 1u << 4,   /* predicts itself (nearest mean, routing)*/
  LF_TOUCHES_OPTIMIZER  = 1u << 5,   /* freezes, masks or resets optimizer state */
};

/* What it needs from the scenario; the host refuses a run that cannot give it. */
enum {
  LF_NEEDS_TASK_IDS         = 1u << 0,  /* task ids while training        */
  LF_NEEDS_TASK_IDS_AT_TEST = 1u << 1,  /* task ids at evaluation too     */
  LF_NEEDS_BOUNDARIES       = 1u << 2,  /* knows when an experience ends  */
  LF_NEEDS_LABELS           = 1u << 3,  /* class labels (not a pure LM)   */
  LF_NEEDS_SEQUENCES        = 1u << 4,  /* token sequences (a language model) */
};

/* What it can work with. */
enum {
  LF_SUPPORTS_ONLINE        = 1u << 0,  /* one pass, no boundaries needed */
  LF_SUPPORTS_CLASSIFICATION= 1u << 1,
  LF_SUPPORTS_LANGUAGE_MODEL= 1u << 2,
};

typedef struct {
  uint32_t touches;              /* LF_TOUCHES_*  (strategies)                  */
  uint32_t needs;                /* LF_NEEDS_*                                  */
  uint32_t supports;             /* LF_SUPPORTS_*; 0 means classification only */
  const char *const *model_kinds;/* strategies: model kinds it works on (NULL: any);
                                  * models: the kinds it is ("transformer")     */
  const char *const *scenarios;  /* scenario types it works in (NULL: any)      */
  void *reserved[4];
} LfCapabilities;

/* ---- the descriptor ---------------------------------------------------- */

typedef struct {
  uint16_t abi_major, abi_minor;
  uint32_t struct_size;          /* sizeof (LfPluginInfo) at build time       */
  uint32_t kind;                 /* LfPluginKind                              */
  const char *name;              /* [a-z0-9-]+, unique across the search path */
  const char *version;
  const char *summary;           /* one line; the paper reference goes here   */
  const LfParam *params;         /* NULL-name terminated, or NULL for none    */
  const LfCapabilities *caps;    /* or NULL: no needs, touches nothing        */
  const char *const *aliases;    /* NULL-terminated, or NULL                  */
  const void *vtable;            /* LfModelVTable, LfStrategyVTable or LfDatasetVTable */
  void *reserved[4];
} LfPluginInfo;

#define LF_PLUGIN_INFO_HEADER \
  .abi_major = LF_ABI_MAJOR, .abi_minor = LF_ABI_MINOR, .struct_size = sizeof (LfPluginInfo)

typedef const LfPluginInfo *(*LfPluginQueryFn) (void);

/* The error domain plugins use for their own failures (the host adds the
 * plugin's name and file when it reports them). */
#define LF_ERROR (lf_error_quark ())
GQuark lf_error_quark (void);
typedef enum {
  LF_ERROR_INVALID = 1,     /* a parameter or the data is wrong for this plugin */
  LF_ERROR_IO,              /* a file could not be read or written              */
  LF_ERROR_UNSUPPORTED,     /* the scenario or model asks for something it cannot do */
} LfErrorCode;

G_END_DECLS
