/* lifelong benchmark — one epoch of Fashion-MNIST on an MLP 784-400-400-10
 * (ReLU, Adam 1e-3, batch 128), timed against the same GEMMs run alone.
 * Prints one JSON object; benchmarks/run-engine.sh sets it beside PyTorch. */
#include "tensor-private.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double
now (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (double) t.tv_sec + 1e-9 * (double) t.tv_nsec;
}

typedef struct {
  LfIdx images, labels;
} Split;

static void
load_split (const char *dir, const char *prefix, Split *s)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ip = g_strdup_printf ("%s/%s-images-idx3-ubyte.gz", dir, prefix);
  g_autofree char *lp = g_strdup_printf ("%s/%s-labels-idx1-ubyte.gz", dir, prefix);
  if (!lf_idx_load (ip, &s->images, &error) || !lf_idx_load (lp, &s->labels, &error))
    {
      fprintf (stderr, "bench-mlp: %s\n", error->message);
      exit (1);
    }
  if (s->images.dims[0] != s->labels.dims[0] || s->images.item_size != 784)
    {
      fprintf (stderr, "bench-mlp: %s: images and labels do not match\n", dir);
      exit (1);
    }
}

static LfTensor *
linear_param (const char *name, int64_t out, int64_t in, uint64_t key, gboolean bias)
{
  int64_t shape[2] = { out, in };
  LfTensor *p = bias ? lf_param_new (name, 1, shape) : lf_param_new (name, 2, shape);
  /* PyTorch's default: U(-1/sqrt(in), 1/sqrt(in)) */
  double bound = 1.0 / sqrt ((double) in);
  for (int64_t i = 0; i < lf_tensor_numel (p); i++)
    lf_tensor_data (p)[i] = (LfReal) ((2 * lf_rng_uniform_at (key, (uint64_t) i) - 1) * bound);
  return p;
}

static void
fill_batch (const Split *s, const int64_t *order, int64_t start, int64_t n, LfTensor *x, int32_t *y)
{
  LfReal *xd = lf_tensor_data (x);
  for (int64_t r = 0; r < n; r++)
    {
      int64_t idx = order ? order[start + r] : start + r;
      const uint8_t *img = s->images.data + idx * 784;
      for (int j = 0; j < 784; j++)
        xd[r * 784 + j] = (LfReal) img[j] * (1.0f / 255.0f);
      y[r] = s->labels.data[idx];
    }
}

int
main (int argc, char **argv)
{
  const char *dir = "/usr/share/datasets/fashion-mnist";
  int threads = 1, batch = 128, epochs = 1;
  for (int i = 1; i + 1 < argc; i += 2)
    {
      if (strcmp (argv[i], "--data") == 0) dir = argv[i + 1];
      else if (strcmp (argv[i], "--threads") == 0) threads = atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--batch") == 0) batch = atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--epochs") == 0) epochs = atoi (argv[i + 1]);
      else { fprintf (stderr, "bench-mlp: unknown option %s\n", argv[i]); return 2; }
    }
  lf_set_threads (threads);
  Split train, test;
  load_split (dir, "train", &train);
  load_split (dir, "t10k", &test);
  int64_t n = train.images.dims[0];

  const int64_t H = 400, D = 784, C = 10;
  LfTensor *P[6] = {
    linear_param ("layers.0.weight", H, D, 1, FALSE), linear_param ("layers.0.bias", H, D, 2, TRUE),
    linear_param ("layers.1.weight", H, H, 3, FALSE), linear_param ("layers.1.bias", H, H, 4, TRUE),
    linear_param ("layers.2.weight", C, H, 5, FALSE), linear_param ("layers.2.bias", C, H, 6, TRUE),
  };
  LfOptimConfig oc;
  lf_optim_config_init (&oc, LF_OPTIM_ADAM);
  oc.lr = 1e-3;
  LfOptimizer *opt = lf_optimizer_new (&oc);
  lf_optimizer_set_params (opt, 6, P);

  int64_t *order = g_new (int64_t, n);
  int32_t *y = g_new (int32_t, batch);
  int64_t steps = 0;
  double loss_sum = 0, t0 = now ();
  double ph[4] = { 0 };   /* data, forward, backward, optimizer */
  for (int e = 0; e < epochs; e++)
    {
      LfRng rng;
      lf_rng_init (&rng, lf_rng_key (0, (uint64_t) e, 0, 0, "shuffle"));
      for (int64_t i = 0; i < n; i++)
        order[i] = i;
      for (int64_t i = n - 1; i > 0; i--)
        {
          int64_t j = (int64_t) lf_rng_below (&rng, (uint64_t) i + 1), t = order[i];
          order[i] = order[j];
          order[j] = t;
        }
      for (int64_t s = 0; s < n; s += batch, steps++)
        {
          int64_t b = MIN (batch, n - s);
          double a0 = now ();
          lf_tape_push (TRUE);
          int64_t xs[2] = { b, D };
          LfTensor *x = lf_tensor_new (2, xs);
          fill_batch (&train, order, s, b, x, y);
          double a1 = now ();
          LfTensor *h = lf_relu (lf_linear (x, P[0], P[1]));
          h = lf_relu (lf_linear (h, P[2], P[3]));
          LfTensor *loss = lf_cross_entropy (lf_linear (h, P[4], P[5]), y, NULL);
          double a2 = now ();
          lf_optimizer_zero_grad (opt);
          lf_backward (loss);
          double a3 = now ();
          lf_optimizer_step (opt);
          double a4 = now ();
          ph[0] += a1 - a0; ph[1] += a2 - a1; ph[2] += a3 - a2; ph[3] += a4 - a3;
          loss_sum += lf_tensor_data (loss)[0];
          lf_tape_pop ();
        }
    }
  double train_s = now () - t0;

  /* the same GEMMs alone: forward 3, backward dW 3 and dX 2 per step */
  int64_t mb = batch;
  LfReal *bx = g_new0 (LfReal, mb * D), *bh1 = g_new0 (LfReal, mb * H), *bh2 = g_new0 (LfReal, mb * H);
  LfReal *bo = g_new0 (LfReal, mb * C), *dW = g_new0 (LfReal, H * D);
  t0 = now ();
  for (int64_t s = 0; s < steps; s++)
    {
      int64_t b = (s + 1) * batch <= n * epochs ? batch : (n * epochs) % batch;
      if (b == 0) b = batch;
      lf_gemm (FALSE, TRUE, b, H, D, 1, bx, D, lf_tensor_data (P[0]), D, 0, bh1, H);
      lf_gemm (FALSE, TRUE, b, H, H, 1, bh1, H, lf_tensor_data (P[2]), H, 0, bh2, H);
      lf_gemm (FALSE, TRUE, b, C, H, 1, bh2, H, lf_tensor_data (P[4]), H, 0, bo, C);
      lf_gemm (TRUE, FALSE, C, H, b, 1, bo, C, bh2, H, 0, dW, H);
      lf_gemm (FALSE, FALSE, b, H, C, 1, bo, C, lf_tensor_data (P[4]), H, 0, bh2, H);
      lf_gemm (TRUE, FALSE, H, H, b, 1, bh2, H, bh1, H, 0, dW, H);
      lf_gemm (FALSE, FALSE, b, H, H, 1, bh2, H, lf_tensor_data (P[2]), H, 0, bh1, H);
      lf_gemm (TRUE, FALSE, H, D, b, 1, bh1, H, bx, D, 0, dW, D);
    }
  double gemm_s = now () - t0;

  /* test accuracy: a sanity check that the epoch learned */
  int64_t correct = 0, nt = test.images.dims[0];
  for (int64_t s = 0; s < nt; s += 1000)
    {
      int64_t b = MIN (1000, nt - s);
      lf_tape_push (FALSE);
      int64_t xs[2] = { b, D };
      LfTensor *x = lf_tensor_new (2, xs);
      int32_t *yt = g_new (int32_t, b);
      fill_batch (&test, NULL, s, b, x, yt);
      LfTensor *h = lf_relu (lf_linear (x, P[0], P[1]));
      h = lf_relu (lf_linear (h, P[2], P[3]));
      LfTensor *logits = lf_linear (h, P[4], P[5]);
      for (int64_t r = 0; r < b; r++)
        {
          const LfReal *row = lf_tensor_data (logits) + r * C;
          int best = 0;
          for (int c = 1; c < C; c++)
            if (row[c] > row[best]) best = c;
          correct += best == yt[r];
        }
      g_free (yt);
      lf_tape_pop ();
    }
  printf ("{\"impl\": \"lifelong\", \"threads\": %d, \"blis_arch\": \"%s\", \"steps\": %" G_GINT64_FORMAT ", "
          "\"train_s\": %.4f, \"samples_per_s\": %.1f, \"gemm_s\": %.4f, \"step_over_gemm\": %.3f, "
          "\"phase_s\": {\"data\": %.4f, \"forward\": %.4f, \"backward\": %.4f, \"optimizer\": %.4f}, "
          "\"mean_loss\": %.4f, \"test_accuracy\": %.4f}\n",
          threads, lf_blis_arch (), steps, train_s, (double) n * epochs / train_s, gemm_s,
          train_s / gemm_s, ph[0], ph[1], ph[2], ph[3], loss_sum / (double) steps, (double) correct / (double) nt);
  for (int i = 0; i < 6; i++)
    lf_tensor_free (P[i]);
  lf_optimizer_free (opt);
  return 0;
}
