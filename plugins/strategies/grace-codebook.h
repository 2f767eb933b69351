/* lifelong plugins — GRACE's codebook (Hartvigsen et al., NeurIPS 2023;
 * docs/editing.md, "grace"): keys (activations entering the edited layer),
 * values (replacement outputs of the layer), a deferral radius per key and
 * the answer each key was made for.  The rules only; grace.c hooks it into
 * the model.  Compiled into tests/test-editing-grace.c as well. */
#pragma once

#include <lifelong/lifelong.h>

typedef struct {
  int64_t  key_dim, value_dim;
  int64_t  n, cap;
  LfReal  *keys;        /* (n, key_dim)   */
  LfReal  *values;      /* (n, value_dim) */
  double  *eps;         /* (n) deferral radii */
  GPtrArray *answers;   /* n GBytes: the answer tokens (int32) each key was made for */
  int64_t  n_added, n_expanded, n_split, n_covered;
} GraceCodebook;

typedef enum {
  GRACE_ADDED,       /* no key's ball overlaps the new one: a new entry, radius eps_init */
  GRACE_EXPANDED,    /* the nearest key has the same answer: its radius grows to the distance */
  GRACE_COVERED,     /* the same answer, already inside the nearest key's radius: nothing changes */
  GRACE_SPLIT,       /* another answer: both radii become half the distance, a new entry */
} GraceUpdate;

void        grace_codebook_init (GraceCodebook *cb, int64_t key_dim, int64_t value_dim);
void        grace_codebook_clear (GraceCodebook *cb);
/* The nearest key to q (Euclidean) and its distance; -1 when empty. */
int64_t     grace_codebook_nearest (const GraceCodebook *cb, const LfReal *q, double *dist);
/* The entry whose value replaces the layer's output for query q: the
 * nearest key when q is within its radius (dist <= eps), else -1. */
int64_t     grace_codebook_lookup (const GraceCodebook *cb, const LfReal *q);
/* An edit with key q, answer (n_answer tokens), initial value v0: GRACE's
 * update rule.  *entry gets the entry whose value the edit trains (the new
 * one, or the nearest for EXPANDED / COVERED). */
GraceUpdate grace_codebook_update (GraceCodebook *cb, const LfReal *q, const int32_t *answer, int64_t n_answer,
                                   const LfReal *v0, double eps_init, int64_t *entry);
size_t      grace_codebook_bytes (const GraceCodebook *cb);
void        grace_codebook_save (const GraceCodebook *cb, LfState *st);
/* Replaces cb's entries with the saved ones; FALSE with error (naming the
 * key) when they are missing or of other dimensions. */
gboolean    grace_codebook_load (GraceCodebook *cb, const LfState *st, GError **error);
