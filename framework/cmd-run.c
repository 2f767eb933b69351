/* lifelong — `lifelong run CONFIG.json [options]`. */
#include "commands.h"
#include "run.h"
#include <stdio.h>
#include <stdlib.h>

static const char run_usage[] =
  "usage: lifelong run CONFIG.json [--out RESULT.json] [--set key.path=value]...\n"
  "                    [--threads N] [--resume] [--plugin-path DIR] [--quiet]\n"
  "                    [--save-model DIR]\n"
  "\n"
  "Runs one configuration: a model, a strategy, a dataset, a scenario and a seed.\n"
  "The result (matrix, metrics, times, versions) goes to RESULT.json, written\n"
  "atomically; a per-step log goes beside it (RESULT.steps.jsonl).  Without --out\n"
  "the result is printed on standard output.\n"
  "\n"
  "  --out FILE          where the result goes\n"
  "  --set K=V           override a config value (V is JSON, or a string):\n"
  "                      --set strategy.lambda=100 --set train.epochs=2\n"
  "  --threads N         threads for BLIS and the engine (overrides \"threads\")\n"
  "  --resume            continue from the last experience checkpoint\n"
  "  --plugin-path DIR   also look for plugins in DIR (may repeat)\n"
  "  --quiet             no progress on standard error\n"
  "  --save-model DIR    write the final model to DIR as model.safetensors and\n"
  "                      config.json (Hugging Face layout); a config's\n"
  "                      model.checkpoint = DIR starts a run from it, and\n"
  "                      `lifelong generate DIR` samples text from a language model\n";

int
lf_cmd_run (int argc, char **argv)
{
  LfRunOptions o = { 0 };
  g_autoptr (GPtrArray) sets = g_ptr_array_new ();
  g_autoptr (GPtrArray) paths = g_ptr_array_new ();
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      gboolean has_val = i + 1 < argc;
      if (g_str_equal (a, "--help") || g_str_equal (a, "-h"))
        {
          fputs (run_usage, stdout);
          return 0;
        }
      else if (g_str_equal (a, "--out") && has_val)
        o.out_path = argv[++i];
      else if (g_str_equal (a, "--set") && has_val)
        g_ptr_array_add (sets, argv[++i]);
      else if (g_str_equal (a, "--threads") && has_val)
        {
          char *end;
          long t = strtol (argv[++i], &end, 10);
          if (*end != '\0' || t < 1 || t > 256)
            {
              fprintf (stderr, "lifelong run: --threads %s: expected an integer in [1, 256]\n", argv[i]);
              return 2;
            }
          o.threads = (int) t;
        }
      else if (g_str_equal (a, "--save-model") && has_val)
        o.save_model_dir = argv[++i];
      else if (g_str_equal (a, "--plugin-path") && has_val)
        g_ptr_array_add (paths, argv[++i]);
      else if (g_str_equal (a, "--resume"))
        o.resume = TRUE;
      else if (g_str_equal (a, "--quiet"))
        o.quiet = TRUE;
      else if (a[0] == '-')
        {
          fprintf (stderr, "lifelong run: unknown option %s%s\n%s", a,
                   has_val ? "" : " (or its value is missing)", run_usage);
          return 2;
        }
      else if (o.config_path == NULL)
        o.config_path = a;
      else
        {
          fprintf (stderr, "lifelong run: one config only (got %s and %s)\n", o.config_path, a);
          return 2;
        }
    }
  if (o.config_path == NULL)
    {
      fputs (run_usage, stderr);
      return 2;
    }
  g_ptr_array_add (sets, NULL);
  o.sets = (const char *const *) sets->pdata;
  g_ptr_array_add (paths, NULL);
  g_autofree char *joined = g_strjoinv (":", (char **) paths->pdata);
  o.plugin_path = paths->len > 1 ? joined : NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *result = NULL;
  if (!lf_run (&o, o.out_path ? NULL : &result, &error))
    {
      fprintf (stderr, "lifelong run: %s\n", error->message);
      return 1;
    }
  if (result)
    puts (result);
  else if (!o.quiet)
    fprintf (stderr, "result: %s\n", o.out_path);
  return 0;
}
