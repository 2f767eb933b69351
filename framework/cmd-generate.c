/* lifelong — `lifelong generate DIR --prompt TEXT`: text from a byte-level
 * language model that `lifelong run --save-model DIR` saved. */
#include "commands.h"
#include "config.h"
#include "json-write.h"
#include "model-dir.h"
#include <stdio.h>
#include <stdlib.h>

static const char generate_usage[] =
  "usage: lifelong generate DIR [--prompt TEXT] [--max-tokens N] [--temperature T]\n"
  "                             [--top-k K] [--seed S] [--no-cache] [--json]\n"
  "                             [--threads N] [--plugin-path DIR]\n"
  "\n"
  "Continues TEXT with a byte-level language model saved by\n"
  "`lifelong run --save-model DIR` (DIR/config.json names the model plugin and\n"
  "its parameters, DIR/model.safetensors holds the weights).  The prompt is\n"
  "BOS followed by TEXT's bytes; generation stops at the end-of-text token, after\n"
  "N tokens, or when the model's context is full.  Prints TEXT and its\n"
  "continuation (then a newline when the text does not end with one).\n"
  "\n"
  "  --prompt TEXT       what to continue (default: nothing, only BOS)\n"
  "  --max-tokens N      at most N new tokens (default 200)\n"
  "  --temperature T     0: greedy (arg-max); else sample softmax(logits / T)\n"
  "                      (default 0.8)\n"
  "  --top-k K           sample among the K most likely tokens; 0: all (default 40)\n"
  "  --seed S            the sampling seed (default 0)\n"
  "  --no-cache          re-run the whole sequence for every token instead of the\n"
  "                      model's key/value cache (the reference; slower)\n"
  "  --json              print {\"tokens\", \"text\", \"stopped\", ...} instead\n"
  "  --threads N         threads for BLIS and the engine (default 1)\n"
  "  --plugin-path DIR   also look for plugins in DIR (may repeat)\n";

int
lf_cmd_generate (int argc, char **argv)
{
  const char *dir = NULL, *prompt = "";
  int64_t max_new = 200, top_k = 40, seed = 0, threads = 1;
  double temperature = 0.8;
  gboolean no_cache = FALSE, json = FALSE;
  g_autoptr (GPtrArray) paths = g_ptr_array_new ();
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      gboolean has_val = i + 1 < argc;
      if (g_str_equal (a, "--help") || g_str_equal (a, "-h"))
        {
          fputs (generate_usage, stdout);
          return 0;
        }
      else if (g_str_equal (a, "--prompt") && has_val)
        prompt = argv[++i];
      else if (g_str_equal (a, "--max-tokens") && has_val)
        {
          if (!lf_cli_parse_int ("generate", a, argv[++i], 0, 100000000, &max_new))
            return 2;
        }
      else if (g_str_equal (a, "--top-k") && has_val)
        {
          if (!lf_cli_parse_int ("generate", a, argv[++i], 0, 100000000, &top_k))
            return 2;
        }
      else if (g_str_equal (a, "--seed") && has_val)
        {
          if (!lf_cli_parse_int ("generate", a, argv[++i], 0, G_MAXINT64, &seed))
            return 2;
        }
      else if (g_str_equal (a, "--threads") && has_val)
        {
          if (!lf_cli_parse_int ("generate", a, argv[++i], 1, 256, &threads))
            return 2;
        }
      else if (g_str_equal (a, "--temperature") && has_val)
        {
          char *end;
          const char *s = argv[++i];
          temperature = g_ascii_strtod (s, &end);
          if (*s == '\0' || *end != '\0' || !(temperature >= 0) || temperature > 1e6)
            {
              fprintf (stderr, "lifelong generate: --temperature %s: expected a number in [0, 1e6]\n", s);
              return 2;
            }
        }
      else if (g_str_equal (a, "--plugin-path") && has_val)
        g_ptr_array_add (paths, argv[++i]);
      else if (g_str_equal (a, "--no-cache"))
        no_cache = TRUE;
      else if (g_str_equal (a, "--json"))
        json = TRUE;
      else if (a[0] == '-')
        {
          fprintf (stderr, "lifelong generate: unknown option %s%s\n%s", a,
                   has_val ? "" : " (or its value is missing)", generate_usage);
          return 2;
        }
      else if (dir == NULL)
        dir = a;
      else
        {
          fprintf (stderr, "lifelong generate: one model folder only (got %s and %s)\n", dir, a);
          return 2;
        }
    }
  if (dir == NULL)
    {
      fputs (generate_usage, stderr);
      return 2;
    }
  lf_set_threads ((int) threads);
  g_ptr_array_add (paths, NULL);
  g_autofree char *joined = g_strjoinv (":", (char **) paths->pdata);
  g_autoptr (LfPluginRegistry) reg = lf_registry_new ();
  g_autoptr (GError) error = NULL;
  LfModel *m = lf_model_dir_open (dir, paths->len > 1 ? joined : NULL, reg, &error);
  if (m == NULL)
    {
      fprintf (stderr, "lifelong generate: %s\n", error->message);
      return 1;
    }
  /* byte-level tokens: BOS, then the prompt's bytes */
  const int64_t plen = (int64_t) strlen (prompt), n_prompt = plen + 1;
  g_autofree int32_t *tokens = g_new (int32_t, n_prompt);
  tokens[0] = LF_TOKEN_BOS;
  for (int64_t i = 0; i < plen; i++)
    tokens[i + 1] = (uint8_t) prompt[i];
  g_autofree int32_t *out = g_new (int32_t, MAX (max_new, 1));
  int64_t n_out = 0;
  LfGenerateOptions opts = { .struct_size = sizeof opts, .temperature = temperature, .top_k = top_k,
                             .seed = (uint64_t) seed, .stop_at_eos = TRUE };
  gboolean ok = lf_model_generate (m, tokens, n_prompt, max_new, &opts, !no_cache, out, &n_out, &error);
  const int64_t context = lf_model_spec (m)->context;
  lf_model_free (m);
  if (!ok)
    {
      fprintf (stderr, "lifelong generate: %s\n", error->message);
      return 1;
    }
  const char *stopped = n_out > 0 && out[n_out - 1] == LF_TOKEN_EOS ? "eos"
                        : n_out == max_new ? "max_tokens" : "context";
  g_autoptr (GByteArray) text = g_byte_array_new ();
  for (int64_t i = 0; i < n_out; i++)
    if (out[i] >= 0 && out[i] < 256)   /* the specials are not text */
      {
        uint8_t b = (uint8_t) out[i];
        g_byte_array_append (text, &b, 1);
      }
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "prompt_tokens");
      json_builder_add_int_value (b, n_prompt);
      json_builder_set_member_name (b, "tokens");
      json_builder_begin_array (b);
      for (int64_t i = 0; i < n_out; i++)
        json_builder_add_int_value (b, out[i]);
      json_builder_end_array (b);
      g_autofree char *valid = g_utf8_make_valid ((const char *) text->data, (gssize) text->len);
      json_builder_set_member_name (b, "text");
      json_builder_add_string_value (b, valid);
      json_builder_set_member_name (b, "stopped");
      json_builder_add_string_value (b, stopped);
      json_builder_set_member_name (b, "context");
      json_builder_add_int_value (b, context);
      json_builder_set_member_name (b, "cache");
      json_builder_add_boolean_value (b, !no_cache);
      json_builder_end_object (b);
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      g_autofree char *s = lf_json_to_string (root, FALSE);
      puts (s);
    }
  else
    {
      fwrite (prompt, 1, (size_t) plen, stdout);
      fwrite (text->data, 1, text->len, stdout);
      gboolean nl = text->len > 0 ? text->data[text->len - 1] == '\n' : plen > 0 && prompt[plen - 1] == '\n';
      if (!nl)
        fputc ('\n', stdout);
    }
  if (fflush (stdout) != 0)
    {
      fprintf (stderr, "lifelong generate: cannot write to standard output\n");
      return 1;
    }
  return 0;
}
