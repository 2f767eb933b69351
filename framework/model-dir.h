/* lifelong — a model as a Hugging Face folder (private): model.safetensors
 * (every parameter under its tree name, float32) and config.json (the
 * plugin's describe, plus a "lifelong" member the host writes and reads). */
#pragma once

#include "host.h"
#include "plugin-private.h"

#define LF_MODEL_DIR_WEIGHTS "model.safetensors"
#define LF_MODEL_DIR_CONFIG  "config.json"
/* config.json's lifelong.format_version */
#define LF_MODEL_DIR_FORMAT_VERSION 1
/* config.json's lifelong.context at most (the scenario's context limit) */
#define LF_MODEL_DIR_MAX_CONTEXT 1000000

/* Writes dir (made when missing) /model.safetensors (with
 * __metadata__.format "pt", which transformers requires) and
 * dir/config.json: the model's describe text (when it has one) with the
 * member "lifelong": {"format_version", "version", "model": model_section
 * without "checkpoint", "tokenizer": "bytes" or null, "context",
 * "started_from": started_from (when not NULL)}.  model_section is the
 * resolved model section, with "name"; it is not changed.  Errors:
 * LF_HOST_ERROR_IO naming the path, LF_HOST_ERROR_PLUGIN when describe gives
 * something that is not a JSON object. */
/* With fold_lora, LoRA wrappers (toolkit/lora.h) are written as the plain
 * linears they wrap: every adapter is merged into its base weight first
 * (lf_lora_merge: the model computes the same function), the adapters' A
 * and B are left out, and the base's weight and bias are written under the
 * wrapper's own name — a model its plugin loads without the strategy (a
 * personal model's next version, `lifelong evolve`).  The model keeps the
 * merged weights. */
gboolean    lf_model_dir_save (LfModel *m, const char *dir, JsonObject *model_section, const char *started_from,
                               gboolean fold_lora, GError **error);

/* dir/config.json's "lifelong" member (a new reference).  NULL with error
 * set (LF_HOST_ERROR_CHECKPOINT, naming the file) when config.json exists
 * but cannot be read or parsed, or its lifelong member is not an object, or
 * one of the members the host reads has another type or range than
 * lf_model_dir_save writes (the error names the field and the value):
 * format_version an integer in [1, LF_MODEL_DIR_FORMAT_VERSION], version a
 * string, model an object, tokenizer a string or null, context an integer
 * in [0, LF_MODEL_DIR_MAX_CONTEXT], classes an integer >= 0, started_from a
 * string (each may be absent).  NULL with no error when there is no
 * config.json or no such member. */
JsonObject *lf_model_dir_lifelong (const char *dir, GError **error);

/* Loads dir/model.safetensors into m, all or nothing: every parameter of m
 * must be in the file with the same shape (F32, F16 or BF16), and every
 * tensor of the file must be a parameter of m.  When model_section is not
 * NULL and dir/config.json's lifelong.model gives a plugin name or one of
 * d_model, layers, heads, kv_heads, ff, vocab that model_section has with
 * another value, that is an error too, naming the key and both values
 * (LF_HOST_ERROR_CONFIG).  File errors: LF_HOST_ERROR_CHECKPOINT, the
 * message naming the file and the tensor (and both shapes).
 * model_section's "checkpoint_head": "new" loosens the match to the
 * modules both have at the top of the tree: a parameter of m under a top
 * module the file has no tensor under keeps its value (a classifier's
 * "score" started from a language model), and a tensor of the file under
 * a top module m lacks is not read ("lm_head"); within the shared modules
 * the rule stays all or nothing. */
gboolean    lf_model_dir_load (LfModel *m, const char *dir, JsonObject *model_section, GError **error);

/* The model dir/config.json describes (a byte-level language model saved by
 * lf_model_dir_save: its plugin found on the search path plus plugin_path,
 * through reg), created and loaded with dir's weights: a new model the
 * caller frees.  Errors name dir's files (LF_HOST_ERROR_CHECKPOINT) or the
 * plugin. */
LfModel    *lf_model_dir_open (const char *dir, const char *plugin_path, LfPluginRegistry *reg, GError **error);
