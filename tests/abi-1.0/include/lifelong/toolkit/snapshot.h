/* lifelong toolkit — snapshots: owned copies of a module tree's parameter
 * values by name (EWC's and L2's anchors, LwF's and DER's previous model).
 * A snapshot can be swapped into the live tree for a teacher's forward, so
 * it works whatever plugins did to the structure. */
#pragma once

#include <lifelong/module.h>

G_BEGIN_DECLS

typedef struct LfSnapshot LfSnapshot;

/* Copies every parameter below root (trainable_only: not frozen ones). */
LfSnapshot *lf_snapshot_take (LfModule *root, gboolean trainable_only);
void        lf_snapshot_free (LfSnapshot *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LfSnapshot, lf_snapshot_free)
int         lf_snapshot_n (const LfSnapshot *s);
/* The stored copy of a parameter by full name, or NULL; borrowed. */
LfTensor   *lf_snapshot_get (const LfSnapshot *s, const char *name);
/* The stored copies in the order of params (NULL where absent) into out. */
void        lf_snapshot_lookup (const LfSnapshot *s, int n, LfTensor *const *params, LfTensor **out);
/* Exchanges the live values of every parameter below root that the snapshot
 * has with the stored ones (data pointers only: O(parameters)).  Call it
 * again to swap back.  Returns how many were swapped. */
int         lf_snapshot_swap (LfSnapshot *s, LfModule *root);
/* Copies the stored values into the live parameters (restore). */
int         lf_snapshot_restore (const LfSnapshot *s, LfModule *root);
size_t      lf_snapshot_bytes (const LfSnapshot *s);

G_END_DECLS
