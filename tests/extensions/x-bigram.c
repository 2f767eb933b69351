/* lifelong test plugin — model "x-bigram": a byte-level bigram language
 * model (logits of token t+1 = a learned row of token t); for text
 * classification, the rows averaged over the sequence feed a linear head.
 * Small enough to test the text scenarios end to end without the
 * transformer. */
#include <lifelong/lifelong.h>

typedef struct {
  LfModule *root;
  int64_t   vocab, classes;
} Bigram;

static LfTensor *
bigram_embed_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  (void) m; (void) x; (void) fwd;
  return x;   /* the model reads the table directly: tokens are not a tensor */
}

static const LfModuleClass bigram_embed_class = {
  .struct_size = sizeof (LfModuleClass), .type_name = "bigram-table", .forward = bigram_embed_forward,
};

static void *
bigram_create (const LfParams *p, const LfDataSpec *spec, uint64_t key, GError **error)
{
  (void) p;
  if (spec->vocab <= 0)
    {
      g_set_error (error, LF_ERROR, LF_ERROR_UNSUPPORTED, "model x-bigram works on byte tokens (text datasets)");
      return NULL;
    }
  Bigram *b = g_new0 (Bigram, 1);
  b->vocab = spec->vocab;
  b->classes = spec->n_classes;
  b->root = lf_module_new ("", LF_MODULE_CONTAINER, NULL, NULL);
  LfModule *emb = lf_module_new ("embed", LF_MODULE_EMBEDDING, &bigram_embed_class, NULL);
  lf_module_add_child (b->root, emb);
  int64_t shape[2] = { spec->vocab, spec->vocab };
  LfTensor *w = lf_module_add_param (emb, "weight", 2, shape);
  for (int64_t i = 0; i < lf_tensor_numel (w); i++)
    lf_tensor_data (w)[i] = (LfReal) (0.01 * (lf_rng_uniform_at (key, (uint64_t) i) - 0.5));
  if (b->classes > 0)
    {
      LfModule *head = lf_module_new_linear ("head", spec->vocab, b->classes, TRUE);
      lf_module_add_child (b->root, head);
      lf_module_init_linear (head, key + 1);
    }
  return b;
}

static void
bigram_destroy (void *self)
{
  Bigram *b = self;
  lf_module_free (b->root);
  g_free (b);
}

static LfModule *bigram_root (void *self) { return ((Bigram *) self)->root; }

/* tokens (n, T) -> logits (n, T, V) */
static void
bigram_forward (void *self, const LfBatch *batch, LfForward *fwd, LfModelOutput *out)
{
  Bigram *b = self;
  LfTensor *w = lf_module_param (lf_module_find (b->root, "embed"), "weight");
  LfTensor *rows = lf_embedding (w, batch->tokens, batch->n * batch->seq_len);
  int64_t shape[3] = { batch->n, batch->seq_len, b->vocab };
  if (b->classes == 0)
    {
      out->logits = lf_reshape (rows, 3, shape);
      out->features = rows;
      return;
    }
  /* classification: mean of the rows over each sequence */
  int64_t s3[3] = { batch->n, batch->seq_len, b->vocab };
  out->features = lf_mean_axis (lf_reshape (rows, 3, s3), 1, FALSE);
  out->logits = lf_module_forward (lf_module_find (b->root, "head"), out->features, fwd);
}

static const LfModelVTable bigram_vtable = {
  .struct_size = sizeof (LfModelVTable),
  .create = bigram_create,
  .destroy = bigram_destroy,
  .root = bigram_root,
  .forward = bigram_forward,
};

static const LfCapabilities bigram_caps = { .supports = LF_SUPPORTS_LANGUAGE_MODEL };

LF_PLUGIN_EXPORT const LfPluginInfo *
lf_plugin_query (void)
{
  static const LfPluginInfo info = {
    LF_PLUGIN_INFO_HEADER,
    .kind = LF_PLUGIN_MODEL,
    .name = "x-bigram",
    .version = "0.1.0",
    .summary = "test model: a byte-level bigram language model",
    .caps = &bigram_caps,
    .vtable = &bigram_vtable,
  };
  return &info;
}
