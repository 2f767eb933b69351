/* lifelong tests — the regularisation family (ewc, online-ewc, si, mas,
 * lwf), each shown by its defining property through `lifelong run` on the
 * synthetic dataset: the penalty is exactly zero at the anchor and pulls
 * toward it, forgetting falls as the strength grows, online EWC is EWC when
 * there is one past experience and its running Fisher decays by gamma, the
 * importances are zero on parameters an experience never used, LwF's target
 * is the frozen previous model, and every state survives --resume.
 *
 * The scenario most tests use is domain-incremental split (6 classes, 2
 * experiences, 3 labels each): naive fine-tuning forgets there (about 0.3
 * of the first experience), while task-incremental synthetic clusters are
 * too easy to forget anything. */
#include "cli.h"
#include <math.h>
#include <string.h>

static const char *const dil2 = "{\"type\": \"domain-incremental\", \"experiences\": 2}";
static const char *const perm3 = "{\"type\": \"domain-incremental\", \"domains\": \"permutation\", \"experiences\": 3}";
static const char *const til3 = "{\"type\": \"task-incremental\", \"experiences\": 3}";
static const char *const cil2 = "{\"type\": \"class-incremental\", \"experiences\": 2}";

/* Runs one config (mlp [32], synthetic 6 classes of dim 16, 100 training
 * samples per class, batch 32, 5 epochs at lr 0.01) and returns its result;
 * fails the test if the run fails. */
static JsonObject *
run_config (const char *name, const char *strategy, const char *scenario, const char *model_extra)
{
  g_autofree char *text = g_strdup_printf (
    "{\"model\": {\"name\": \"mlp\", \"hidden\": [32]%s},"
    " \"strategy\": %s,"
    " \"dataset\": {\"name\": \"synthetic\", \"classes\": 6, \"dim\": 16, \"train_per_class\": 100,"
    "               \"test_per_class\": 50},"
    " \"scenario\": %s,"
    " \"train\": {\"epochs\": 5, \"batch_size\": 32, \"lr\": 0.01},"
    " \"seed\": 0}", model_extra ? model_extra : "", strategy, scenario);
  return cli_run_text (name, text);
}

/* strategy[key][i] for an array figure */
static double
figure_at (JsonObject *res, const char *key, guint i)
{
  JsonObject *s = json_object_get_object_member (res, "strategy");
  JsonArray *a = json_object_get_array_member (s, key);
  g_assert_nonnull (a);
  g_assert_cmpuint (i, <, json_array_get_length (a));
  return json_array_get_double_element (a, i);
}

/* strategy[key][param][i] for a per-parameter history */
static double
param_figure_at (JsonObject *res, const char *key, const char *param, guint i)
{
  JsonObject *s = json_object_get_object_member (res, "strategy");
  JsonObject *o = json_object_get_object_member (s, key);
  g_assert_nonnull (o);
  JsonArray *a = json_object_get_array_member (o, param);
  g_assert_nonnull (a);
  g_assert_cmpuint (i, <, json_array_get_length (a));
  return json_array_get_double_element (a, i);
}

/* ---- EWC ------------------------------------------------------------------ */

/* At the first step of experience 2 the weights are the anchor, bit for
 * bit: the quadratic term is exactly 0 (not small: 0).  It grows as soon as
 * the weights move. */
static void
test_ewc_zero_at_anchor (void)
{
  g_autoptr (JsonObject) res = run_config ("ewc-anchor", "{\"name\": \"ewc\", \"lambda\": 1e5}", dil2, NULL);
  double q0 = cli_strategy_figure (res, "quadratic_at_start");
  double p0 = cli_strategy_figure (res, "penalty_at_start");
  double pl = cli_strategy_figure (res, "penalty_last");
  g_test_message ("ewc lambda=1e5: quadratic at the first step of experience 2 = %g, penalty then %g, at the last step %g",
                  q0, p0, pl);
  g_assert_cmpfloat (q0, ==, 0.0);
  g_assert_cmpfloat (p0, ==, 0.0);
  g_assert_cmpfloat (pl, >, 0.0);
  g_assert_cmpfloat (cli_strategy_figure (res, "fisher_total"), >, 0.0);
  g_assert_cmpfloat (cli_strategy_figure (res, "experiences_stored"), ==, 2);
  g_assert_cmpfloat (cli_strategy_figure (res, "fisher_samples_used"), ==, 300);   /* 3 classes x 100 < 500 */
}

/* The penalty's gradient pulls toward the old weights: with a large lambda
 * the final weights end closer to the anchor of experience 1 than with
 * lambda = 0 (same seed, same data, same order). */
static void
test_ewc_pulls_toward_anchor (void)
{
  g_autoptr (JsonObject) loose = run_config ("ewc-l0", "{\"name\": \"ewc\", \"lambda\": 0}", dil2, NULL);
  g_autoptr (JsonObject) held = run_config ("ewc-l1e6", "{\"name\": \"ewc\", \"lambda\": 1e6}", dil2, NULL);
  double d0 = cli_strategy_figure (loose, "anchor_distance"), d1 = cli_strategy_figure (held, "anchor_distance");
  g_test_message ("ewc: |theta - theta*_1| after experience 2: lambda=0 %.4f, lambda=1e6 %.4f", d0, d1);
  g_assert_cmpfloat (d0, >, 0.0);
  g_assert_cmpfloat (d1, <, 0.9 * d0);
}

/* Forgetting falls as lambda grows; lambda = 0 is naive fine-tuning. */
static void
test_ewc_forgetting_falls (void)
{
  g_autoptr (JsonObject) naive = run_config ("ewc-naive", "{\"name\": \"naive\"}", dil2, NULL);
  const double lambdas[] = { 0, 1e4, 1e5, 1e6 };
  double f[G_N_ELEMENTS (lambdas)];
  for (guint k = 0; k < G_N_ELEMENTS (lambdas); k++)
    {
      g_autofree char *st = g_strdup_printf ("{\"name\": \"ewc\", \"lambda\": %g}", lambdas[k]);
      g_autofree char *name = g_strdup_printf ("ewc-f%u", k);
      g_autoptr (JsonObject) res = run_config (name, st, dil2, NULL);
      f[k] = cli_metric (res, "average_forgetting");
      g_test_message ("ewc lambda=%g: forgetting %.4f, average accuracy %.4f", lambdas[k], f[k],
                      cli_metric (res, "average_accuracy"));
      if (k == 0)
        {
          /* no penalty: the same training as naive, to the bit */
          g_autofree char *m0 = cli_member_json (res, "matrix"), *mn = cli_member_json (naive, "matrix");
          g_assert_cmpstr (m0, ==, mn);
        }
      if (k > 0)
        g_assert_cmpfloat (f[k], <=, f[k - 1] + 0.02);
    }
  g_assert_cmpfloat (f[0], >, 0.2);
  g_assert_cmpfloat (f[G_N_ELEMENTS (lambdas) - 1], <, 0.5 * f[0]);
}

/* One penalty per past experience: with three experiences, at the first
 * step of the third the term of experience 1's anchor is not zero (online
 * EWC, one anchor, the latest, starts at exactly 0). */
static void
test_ewc_per_experience_anchors (void)
{
  g_autoptr (JsonObject) ewc = run_config ("ewc-perm3", "{\"name\": \"ewc\", \"lambda\": 1e3}", perm3, NULL);
  g_autoptr (JsonObject) on = run_config ("oewc-perm3", "{\"name\": \"online-ewc\", \"lambda\": 1e3}", perm3, NULL);
  double qe = cli_strategy_figure (ewc, "quadratic_at_start"), qo = cli_strategy_figure (on, "quadratic_at_start");
  g_test_message ("3 experiences, quadratic at the first step of the third: ewc %g (anchors 1 and 2), online-ewc %g",
                  qe, qo);
  g_assert_cmpfloat (cli_strategy_figure (ewc, "experiences_stored"), ==, 3);
  g_assert_cmpfloat (qe, >, 0.0);
  g_assert_cmpfloat (qo, ==, 0.0);
}

/* ---- online EWC ------------------------------------------------------------- */

/* With one past experience, F = gamma * 0 + F_1 whatever gamma: online EWC
 * trains exactly as EWC (same Fisher samples, same penalty). */
static void
test_online_ewc_equals_ewc (void)
{
  g_autoptr (JsonObject) ewc = run_config ("ewc-eq", "{\"name\": \"ewc\", \"lambda\": 1e5}", dil2, NULL);
  g_autoptr (JsonObject) on = run_config ("oewc-eq", "{\"name\": \"online-ewc\", \"lambda\": 1e5, \"gamma\": 0.3}",
                                          dil2, NULL);
  g_autofree char *me = cli_member_json (ewc, "matrix"), *mo = cli_member_json (on, "matrix");
  g_test_message ("2 experiences: ewc %s, online-ewc (gamma 0.3) %s", me, mo);
  g_assert_cmpstr (me, ==, mo);
  g_assert_cmpfloat (cli_strategy_figure (ewc, "penalty_last"), ==, cli_strategy_figure (on, "penalty_last"));
  g_assert_cmpfloat (cli_strategy_figure (ewc, "anchor_distance"), ==, cli_strategy_figure (on, "anchor_distance"));
}

/* F <- gamma F + F_new: the reported running total follows the recursion,
 * gamma < 1 forgets old Fisher mass, and gamma = 1 behaves like EWC. */
static void
test_online_ewc_gamma_decays (void)
{
  g_autoptr (JsonObject) g1 = run_config ("oewc-g1", "{\"name\": \"online-ewc\", \"lambda\": 1e3}", perm3, NULL);
  g_autoptr (JsonObject) gh = run_config ("oewc-g05", "{\"name\": \"online-ewc\", \"lambda\": 1e3, \"gamma\": 0.5}",
                                          perm3, NULL);
  g_autoptr (JsonObject) ewc = run_config ("ewc-g", "{\"name\": \"ewc\", \"lambda\": 1e3}", perm3, NULL);
  g_autoptr (JsonObject) naive = run_config ("naive-g", "{\"name\": \"naive\"}", perm3, NULL);
  JsonObject *runs[2] = { g1, gh };
  double gammas[2] = { 1.0, 0.5 };
  for (int r = 0; r < 2; r++)
    for (guint e = 1; e < 3; e++)
      {
        double prev = figure_at (runs[r], "fisher_total_history", e - 1);
        double now = figure_at (runs[r], "fisher_total_history", e);
        double fresh = figure_at (runs[r], "fisher_new_history", e);
        g_test_message ("online-ewc gamma=%g, experience %u: F total %.6g = %.6g * %.6g + %.6g", gammas[r], e + 1, now,
                        gammas[r], prev, fresh);
        g_assert_cmpfloat (fabs (now - (gammas[r] * prev + fresh)), <=, 1e-5 * now);
      }
  /* the decayed total is below the plain sum of the new Fishers */
  double sum_new = figure_at (gh, "fisher_new_history", 0) + figure_at (gh, "fisher_new_history", 1)
                   + figure_at (gh, "fisher_new_history", 2);
  g_assert_cmpfloat (cli_strategy_figure (gh, "fisher_total"), <, sum_new);
  double a1 = cli_metric (g1, "average_accuracy"), ae = cli_metric (ewc, "average_accuracy");
  double f1 = cli_metric (g1, "average_forgetting"), fe = cli_metric (ewc, "average_forgetting");
  double fn = cli_metric (naive, "average_forgetting");
  g_test_message ("3 permuted experiences: online-ewc (gamma 1) A %.4f F %.4f, ewc A %.4f F %.4f, naive F %.4f",
                  a1, f1, ae, fe, fn);
  g_assert_cmpfloat (fabs (a1 - ae), <, 0.1);
  g_assert_cmpfloat (f1, <, fn);
  g_assert_cmpfloat (fe, <, fn);
}

/* ---- importances are local ----------------------------------------------------
 * A multi-head MLP in task-incremental: experience k trains heads.k only,
 * so the importance an experience computes is exactly 0 on the other heads
 * (EWC: F_k; SI: no gradient, no movement, no path integral; MAS: the
 * output does not depend on them). */
static void
test_importance_local (void)
{
  struct { const char *strategy, *key; gboolean per_experience; } cases[] = {
    { "{\"name\": \"ewc\", \"fisher_samples\": 100}", "fisher_by_param", TRUE },
    { "{\"name\": \"si\"}", "omega_by_param", FALSE },
    { "{\"name\": \"mas\", \"importance_samples\": 100}", "omega_by_param", FALSE },
  };
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autofree char *name = g_strdup_printf ("local%u", k);
      g_autoptr (JsonObject) res = run_config (name, cases[k].strategy, til3, ", \"heads\": \"multi\"");
      g_test_message ("%s: %s heads.0 [%g %g %g] heads.1 [%g %g %g] heads.2 [%g %g %g]", cases[k].strategy,
                      cases[k].key,
                      param_figure_at (res, cases[k].key, "heads.0.weight", 0),
                      param_figure_at (res, cases[k].key, "heads.0.weight", 1),
                      param_figure_at (res, cases[k].key, "heads.0.weight", 2),
                      param_figure_at (res, cases[k].key, "heads.1.weight", 0),
                      param_figure_at (res, cases[k].key, "heads.1.weight", 1),
                      param_figure_at (res, cases[k].key, "heads.1.weight", 2),
                      param_figure_at (res, cases[k].key, "heads.2.weight", 0),
                      param_figure_at (res, cases[k].key, "heads.2.weight", 1),
                      param_figure_at (res, cases[k].key, "heads.2.weight", 2));
      for (guint e = 0; e < 3; e++)
        for (guint h = 0; h < 3; h++)
          {
            g_autofree char *param = g_strdup_printf ("heads.%u.weight", h);
            double v = param_figure_at (res, cases[k].key, param, e);
            /* per experience (EWC's F_e): only head e; accumulated (SI, MAS):
             * heads 0..e */
            gboolean used = cases[k].per_experience ? h == e : h <= e;
            if (used)
              g_assert_cmpfloat (v, >, 0.0);
            else
              g_assert_cmpfloat (v, ==, 0.0);
          }
      g_assert_cmpfloat (param_figure_at (res, cases[k].key, "layers.0.weight", 0), >, 0.0);
    }
}

/* ---- SI ------------------------------------------------------------------------- */

/* Omega is non-negative, positive in total, the penalty is 0 at the anchor,
 * and it reduces forgetting (c = 0 is naive fine-tuning, to the bit: the
 * path-integral bookkeeping changes nothing). */
static void
test_si (void)
{
  g_autoptr (JsonObject) naive = run_config ("si-naive", "{\"name\": \"naive\"}", dil2, NULL);
  g_autoptr (JsonObject) c0 = run_config ("si-c0", "{\"name\": \"si\", \"c\": 0}", dil2, NULL);
  g_autoptr (JsonObject) c1 = run_config ("si-c05", "{\"name\": \"si\"}", dil2, NULL);
  g_autoptr (JsonObject) c5 = run_config ("si-c5", "{\"name\": \"si\", \"c\": 5}", dil2, NULL);
  g_autofree char *mn = cli_member_json (naive, "matrix"), *m0 = cli_member_json (c0, "matrix");
  g_assert_cmpstr (mn, ==, m0);
  JsonObject *runs[3] = { c0, c1, c5 };
  const char *names[3] = { "c=0", "c=0.5", "c=5" };
  for (int r = 0; r < 3; r++)
    {
      g_test_message ("si %s: Omega total %.4g, min %.3g, clamped %g, quadratic at start %g, distance to anchor %.4f, "
                      "forgetting %.4f, accuracy %.4f", names[r],
                      cli_strategy_figure (runs[r], "omega_total"), cli_strategy_figure (runs[r], "omega_min"),
                      cli_strategy_figure (runs[r], "omega_clamped"), cli_strategy_figure (runs[r], "quadratic_at_start"),
                      cli_strategy_figure (runs[r], "anchor_distance"), cli_metric (runs[r], "average_forgetting"),
                      cli_metric (runs[r], "average_accuracy"));
      g_assert_cmpfloat (cli_strategy_figure (runs[r], "omega_total"), >, 0.0);
      g_assert_cmpfloat (cli_strategy_figure (runs[r], "omega_min"), >=, 0.0);
      g_assert_cmpfloat (cli_strategy_figure (runs[r], "quadratic_at_start"), ==, 0.0);
    }
  double f0 = cli_metric (c0, "average_forgetting"), f1 = cli_metric (c1, "average_forgetting");
  double f5 = cli_metric (c5, "average_forgetting");
  g_assert_cmpfloat (f0, >, 0.2);
  g_assert_cmpfloat (f1, <, f0);
  g_assert_cmpfloat (f5, <, 0.5 * f0);
  g_assert_cmpfloat (cli_strategy_figure (c5, "anchor_distance"), <, cli_strategy_figure (c0, "anchor_distance"));
}

/* ---- MAS ------------------------------------------------------------------------- */

static void
test_mas (void)
{
  const double lambdas[] = { 0, 0.01, 0.1 };
  double f[G_N_ELEMENTS (lambdas)], d[G_N_ELEMENTS (lambdas)];
  for (guint k = 0; k < G_N_ELEMENTS (lambdas); k++)
    {
      g_autofree char *st = g_strdup_printf ("{\"name\": \"mas\", \"lambda\": %g}", lambdas[k]);
      g_autofree char *name = g_strdup_printf ("mas-%u", k);
      g_autoptr (JsonObject) res = run_config (name, st, dil2, NULL);
      f[k] = cli_metric (res, "average_forgetting");
      d[k] = cli_strategy_figure (res, "anchor_distance");
      g_test_message ("mas lambda=%g: Omega total %.4g, quadratic at start %g, distance to anchor %.4f, "
                      "forgetting %.4f, accuracy %.4f", lambdas[k], cli_strategy_figure (res, "omega_total"),
                      cli_strategy_figure (res, "quadratic_at_start"), d[k], f[k], cli_metric (res, "average_accuracy"));
      g_assert_cmpfloat (cli_strategy_figure (res, "omega_total"), >, 0.0);
      g_assert_cmpfloat (cli_strategy_figure (res, "quadratic_at_start"), ==, 0.0);
      if (k > 0)
        {
          g_assert_cmpfloat (f[k], <=, f[k - 1] + 0.02);
          g_assert_cmpfloat (d[k], <, d[k - 1]);
        }
    }
  g_assert_cmpfloat (f[0], >, 0.2);
  g_assert_cmpfloat (f[G_N_ELEMENTS (lambdas) - 1], <, 0.5 * f[0]);
}

/* ---- LwF --------------------------------------------------------------------------- */

/* The target is the frozen previous model: at the first step of experience
 * 2, before any update, the teacher's logits equal the model's own exactly,
 * and so the distillation term is exactly 0.  Class-incremental distills
 * the old classes' columns (a slice, or any set); task-incremental one
 * group per old task. */
static void
test_lwf_teacher (void)
{
  struct { const char *name, *scenario, *model; double groups, columns; } cases[] = {
    { "lwf-dil", dil2, NULL, 1, 3 },
    { "lwf-cil", cil2, NULL, 1, 3 },
    { "lwf-til", til3, ", \"heads\": \"multi\"", 2, 4 },
    /* old classes 0, 3, 1, 4: not a slice, selected by a 0/1 matrix */
    { "lwf-cil-order", "{\"type\": \"class-incremental\", \"experiences\": 3, \"class_order\": [0, 3, 1, 4, 2, 5]}",
      NULL, 1, 4 },
  };
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autoptr (JsonObject) res = run_config (cases[k].name, "{\"name\": \"lwf\"}", cases[k].scenario, cases[k].model);
      double diff = cli_strategy_figure (res, "teacher_max_abs_diff_at_start");
      double d0 = cli_strategy_figure (res, "distill_at_start"), dl = cli_strategy_figure (res, "distill_last");
      g_test_message ("%s: max |teacher - model| logits at the first step of the last experience %g, distillation "
                      "then %g, at the last step %g, %g groups, %g columns", cases[k].name, diff, d0, dl,
                      cli_strategy_figure (res, "distilled_groups"), cli_strategy_figure (res, "distilled_columns"));
      g_assert_cmpfloat (diff, ==, 0.0);
      g_assert_cmpfloat (d0, ==, 0.0);
      g_assert_cmpfloat (dl, >, 0.0);
      g_assert_cmpfloat (cli_strategy_figure (res, "distilled_groups"), ==, cases[k].groups);
      g_assert_cmpfloat (cli_strategy_figure (res, "distilled_columns"), ==, cases[k].columns);
    }
}

static void
test_lwf_forgetting (void)
{
  g_autoptr (JsonObject) a0 = run_config ("lwf-a0", "{\"name\": \"lwf\", \"alpha\": 0}", dil2, NULL);
  g_autoptr (JsonObject) a1 = run_config ("lwf-a1", "{\"name\": \"lwf\", \"alpha\": 1}", dil2, NULL);
  g_autoptr (JsonObject) naive = run_config ("lwf-naive", "{\"name\": \"naive\"}", dil2, NULL);
  g_autoptr (JsonObject) c0 = run_config ("lwf-cil-a0", "{\"name\": \"lwf\", \"alpha\": 0}", cil2, NULL);
  g_autoptr (JsonObject) c1 = run_config ("lwf-cil-a1", "{\"name\": \"lwf\", \"alpha\": 1}", cil2, NULL);
  g_autofree char *m0 = cli_member_json (a0, "matrix"), *mn = cli_member_json (naive, "matrix");
  g_assert_cmpstr (m0, ==, mn);
  double f0 = cli_metric (a0, "average_forgetting"), f1 = cli_metric (a1, "average_forgetting");
  double cf0 = cli_metric (c0, "average_forgetting"), cf1 = cli_metric (c1, "average_forgetting");
  g_test_message ("lwf domain-incremental: forgetting alpha=0 %.4f, alpha=1 %.4f; class-incremental: %.4f, %.4f "
                  "(accuracy %.4f, %.4f)", f0, f1, cf0, cf1, cli_metric (c0, "average_accuracy"),
                  cli_metric (c1, "average_accuracy"));
  g_assert_cmpfloat (f0, >, 0.2);
  g_assert_cmpfloat (f1, <, 0.5 * f0);
  g_assert_cmpfloat (cf1, <, cf0);   /* a little above naive in class-incremental */
}

/* ---- every state survives a resume -------------------------------------------------- */

/* A run killed right after the checkpoint of experience 1 and resumed gives
 * the uninterrupted result: the same matrix and the same figures, so the
 * importances, anchors and teacher were saved and loaded whole. */
static void
test_resume (void)
{
  const char *strategies[] = {
    "{\"name\": \"ewc\", \"lambda\": 1e3, \"fisher_samples\": 100}",
    "{\"name\": \"online-ewc\", \"lambda\": 1e3, \"gamma\": 0.7, \"fisher_samples\": 100}",
    "{\"name\": \"si\", \"c\": 1}",
    "{\"name\": \"mas\", \"lambda\": 0.05, \"importance_samples\": 100}",
    "{\"name\": \"lwf\"}",
  };
  for (guint k = 0; k < G_N_ELEMENTS (strategies); k++)
    {
      g_autofree char *text = g_strdup_printf (
        "{\"model\": {\"name\": \"mlp\", \"hidden\": [32]}, \"strategy\": %s,"
        " \"dataset\": {\"name\": \"synthetic\", \"classes\": 6, \"dim\": 16, \"train_per_class\": 100,"
        "               \"test_per_class\": 50},"
        " \"scenario\": %s, \"train\": {\"epochs\": 5, \"batch_size\": 32, \"lr\": 0.01}, \"seed\": 1}",
        strategies[k], perm3);
      g_autofree char *cname = g_strdup_printf ("resume%u.json", k);
      g_autofree char *full_name = g_strdup_printf ("resume%u-full.json", k);
      g_autofree char *cut_name = g_strdup_printf ("resume%u-cut.json", k);
      g_autofree char *cfg = cli_write (cname, text);
      g_autoptr (JsonObject) full = cli_run (cfg, full_name, NULL, NULL);
      g_assert_nonnull (full);
      g_setenv ("LIFELONG_TEST_ABORT_AFTER_EXPERIENCE", "0", TRUE);
      g_autofree char *err = NULL;
      JsonObject *none = cli_run (cfg, cut_name, NULL, &err);
      g_unsetenv ("LIFELONG_TEST_ABORT_AFTER_EXPERIENCE");
      g_assert_null (none);
      const char *resume[] = { "--resume", NULL };
      g_autoptr (JsonObject) resumed = cli_run (cfg, cut_name, resume, NULL);
      g_assert_nonnull (resumed);
      g_autofree char *mf = cli_member_json (full, "matrix"), *mr = cli_member_json (resumed, "matrix");
      g_autofree char *sf = cli_member_json (full, "strategy"), *sr = cli_member_json (resumed, "strategy");
      g_test_message ("%s resumed after experience 1: matrix %s", strategies[k], mr);
      g_assert_cmpstr (mf, ==, mr);
      g_assert_cmpstr (sf, ==, sr);
      /* it keeps at least one copy of the parameters (anchor or teacher) */
      JsonObject *mem = json_object_get_object_member (resumed, "memory_bytes");
      g_assert_cmpint (json_object_get_int_member (mem, "strategy"), >=,
                       json_object_get_int_member (mem, "model_parameters"));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cli_init ("regularization");
  g_test_add_func ("/regularization/ewc/zero-at-anchor", test_ewc_zero_at_anchor);
  g_test_add_func ("/regularization/ewc/pulls-toward-anchor", test_ewc_pulls_toward_anchor);
  g_test_add_func ("/regularization/ewc/forgetting-falls-with-lambda", test_ewc_forgetting_falls);
  g_test_add_func ("/regularization/ewc/per-experience-anchors", test_ewc_per_experience_anchors);
  g_test_add_func ("/regularization/online-ewc/equals-ewc-with-one-past-experience", test_online_ewc_equals_ewc);
  g_test_add_func ("/regularization/online-ewc/gamma-decays", test_online_ewc_gamma_decays);
  g_test_add_func ("/regularization/importance-is-local", test_importance_local);
  g_test_add_func ("/regularization/si/path-integral", test_si);
  g_test_add_func ("/regularization/mas/forgetting-falls-with-lambda", test_mas);
  g_test_add_func ("/regularization/lwf/teacher-is-the-frozen-previous-model", test_lwf_teacher);
  g_test_add_func ("/regularization/lwf/reduces-forgetting", test_lwf_forgetting);
  g_test_add_func ("/regularization/resume", test_resume);
  int rc = g_test_run ();
  cli_cleanup ();
  return rc;
}
