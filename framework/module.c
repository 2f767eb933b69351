/* lifelong — the module tree: named modules that own their parameters, the
 * operations plugins use to change the tree (wrap, replace, insert after,
 * detach), forward hooks and slots, and the built-in linear module.
 *
 * Naming.  A module's path is the dotted list of names from its root down.
 * The root's own name is part of it unless it is "" (models use a root
 * named "", so their paths are "layers.0" and their parameters
 * "layers.0.weight"); every other module has a non-empty name without dots.
 * A parameter's or buffer's name (lf_tensor_name) is always
 * "<module path>.<local name>" (just the local name on a root named "");
 * whenever a subtree moves (add_child, replace, wrap, insert_after, detach)
 * every tensor in it is renamed to keep that true.
 *
 * Forward.  A module without a class forward (a container) runs its
 * children in order, like nn.Sequential (the identity when it has none).
 * Wrap and replace hand the old module's place to the new one, including
 * its place in insert-after lists (what ran after the old module runs after
 * the new one); hooks and slots stay on the module they were set on (a
 * wrapped module still runs its hooks when its wrapper calls it, and reads
 * slots set on the wrapper too).
 *
 * Not thread-safe: one thread changes or runs a tree at a time. */
#include "tensor-private.h"

/* A parameter or buffer: its local name ("weight") and the tensor, owned. */
typedef struct {
  char     *local;
  LfTensor *t;
} LfNamedTensor;

typedef struct {
  guint          id;
  gboolean       pre;
  gboolean       removed;     /* removed while the module was running */
  LfPreHook      pre_fn;
  LfPostHook     post_fn;
  void          *user;
  GDestroyNotify destroy;
} LfHook;

struct LfModule {
  char                *name;
  LfModuleKind         kind;
  const LfModuleClass *klass;
  void                *state;         /* owned; klass->destroy_state frees it */
  LfModule            *parent;
  GPtrArray           *children;      /* LfModule *, owned (freed by free_tree) */
  GPtrArray           *params;        /* LfNamedTensor *, owned, in order added */
  GPtrArray           *buffers;       /* LfNamedTensor *, owned                 */
  GHashTable          *slots;         /* name -> borrowed LfTensor *, lazily    */
  GPtrArray           *hooks;         /* LfHook *, owned, in order added        */
  GPtrArray           *inserted;      /* borrowed siblings run after this one   */
  LfModule            *inserted_after;/* the sibling whose output this one takes */
  gboolean             is_wrapper;    /* made by lf_module_wrap: child 0 is "base" */
  uint64_t             version;       /* meaningful on a root only              */
  int                  running;       /* forward calls in progress              */
  gboolean             hooks_dirty;   /* hooks marked removed while running     */
};

/* A class built against ABI 1.0 has every slot up to destroy_state; a
 * later slot is read only when struct_size covers it. */
#define LF_MODULE_CLASS_1_0_SIZE \
  (offsetof (LfModuleClass, destroy_state) + sizeof (((LfModuleClass *) NULL)->destroy_state))

static gint lf_hook_last_id;

/* ---- helpers ---------------------------------------------------------------- */

static gboolean
valid_local_name (const char *name)
{
  return name != NULL && name[0] != '\0' && strchr (name, '.') == NULL;
}

static LfModule *
module_root (LfModule *m)
{
  while (m->parent)
    m = m->parent;
  return m;
}

static void
bump (LfModule *m)
{
  module_root (m)->version++;
}

static LfModule *
child_by_name (LfModule *m, const char *name, size_t len)
{
  for (guint i = 0; i < m->children->len; i++)
    {
      LfModule *c = m->children->pdata[i];
      if (strlen (c->name) == len && memcmp (c->name, name, len) == 0)
        return c;
    }
  return NULL;
}

static LfNamedTensor *
named_lookup (GPtrArray *a, const char *local)
{
  for (guint i = 0; i < a->len; i++)
    {
      LfNamedTensor *nt = a->pdata[i];
      if (strcmp (nt->local, local) == 0)
        return nt;
    }
  return NULL;
}

static void
named_free (gpointer p)
{
  LfNamedTensor *nt = p;
  lf_tensor_free (nt->t);
  g_free (nt->local);
  g_free (nt);
}

static void
hook_free (gpointer p)
{
  LfHook *h = p;
  if (h->destroy)
    h->destroy (h->user);
  g_free (h);
}

/* "<prefix>.<name>", or name alone when prefix is "". */
static char *
join_path (const char *prefix, const char *name)
{
  return prefix[0] ? g_strconcat (prefix, ".", name, NULL) : g_strdup (name);
}

static void
rename_tensors (GPtrArray *a, const char *prefix)
{
  for (guint i = 0; i < a->len; i++)
    {
      LfNamedTensor *nt = a->pdata[i];
      g_autofree char *full = join_path (prefix, nt->local);
      lf_tensor_set_name (nt->t, full);
    }
}

static void
rename_rec (LfModule *m, const char *path)
{
  rename_tensors (m->params, path);
  rename_tensors (m->buffers, path);
  for (guint i = 0; i < m->children->len; i++)
    {
      LfModule *c = m->children->pdata[i];
      g_autofree char *cp = join_path (path, c->name);
      rename_rec (c, cp);
    }
}

/* Renames every tensor below m after m moved. */
static void
rename_subtree (LfModule *m)
{
  g_autofree char *path = lf_module_path (m);
  rename_rec (m, path);
}

/* Hands m's place in the insert-after links to r (wrap and replace): the
 * modules that ran after m run after r, and if m ran after a target, r
 * does instead. */
static void
transfer_links (LfModule *m, LfModule *r)
{
  GPtrArray *tmp = r->inserted;
  r->inserted = m->inserted;
  m->inserted = tmp;
  for (guint i = 0; i < r->inserted->len; i++)
    ((LfModule *) r->inserted->pdata[i])->inserted_after = r;
  if (m->inserted_after)
    {
      GPtrArray *list = m->inserted_after->inserted;
      guint idx;
      if (g_ptr_array_find (list, m, &idx))
        list->pdata[idx] = r;
      r->inserted_after = m->inserted_after;
      m->inserted_after = NULL;
    }
}

/* Frees m and its subtree; m's parent (if any) is being freed too. */
static void
free_tree (LfModule *m)
{
  g_return_if_fail (m->running == 0);
  for (guint i = 0; i < m->children->len; i++)
    free_tree (m->children->pdata[i]);
  g_ptr_array_unref (m->children);
  g_ptr_array_unref (m->hooks);     /* calls the destroy notifies */
  g_ptr_array_unref (m->params);
  g_ptr_array_unref (m->buffers);
  g_ptr_array_unref (m->inserted);
  if (m->slots)
    g_hash_table_unref (m->slots);
  if (m->state && m->klass && m->klass->destroy_state)
    m->klass->destroy_state (m->state);
  g_free (m->name);
  g_free (m);
}

/* ---- building ----------------------------------------------------------------- */

LfModule *
lf_module_new (const char *name, LfModuleKind kind, const LfModuleClass *klass, void *state)
{
  if (name == NULL)
    name = "";
  g_return_val_if_fail (strchr (name, '.') == NULL, NULL);
  g_return_val_if_fail ((int) kind >= 0 && kind < LF_MODULE_KIND_COUNT, NULL);
  g_return_val_if_fail (klass == NULL || klass->struct_size >= LF_MODULE_CLASS_1_0_SIZE, NULL);
  LfModule *m = g_new0 (LfModule, 1);
  m->name = g_strdup (name);
  m->kind = kind;
  m->klass = klass;
  m->state = state;
  m->children = g_ptr_array_new ();
  m->params = g_ptr_array_new_with_free_func (named_free);
  m->buffers = g_ptr_array_new_with_free_func (named_free);
  m->hooks = g_ptr_array_new_with_free_func (hook_free);
  m->inserted = g_ptr_array_new ();
  return m;
}

void
lf_module_free (LfModule *m)
{
  if (m == NULL)
    return;
  g_return_if_fail (m->parent == NULL);
  free_tree (m);
}

void
lf_module_add_child (LfModule *parent, LfModule *child)
{
  g_return_if_fail (parent != NULL && child != NULL);
  g_return_if_fail (child->parent == NULL);
  g_return_if_fail (module_root (parent) != child);
  g_return_if_fail (valid_local_name (child->name));
  g_return_if_fail (child_by_name (parent, child->name, strlen (child->name)) == NULL);
  g_ptr_array_add (parent->children, child);
  child->parent = parent;
  rename_subtree (child);
  bump (parent);
}

static LfTensor *
add_named (LfModule *m, GPtrArray *list, const char *name, LfTensor *t)
{
  LfNamedTensor *nt = g_new (LfNamedTensor, 1);
  nt->local = g_strdup (name);
  nt->t = t;
  g_ptr_array_add (list, nt);
  g_autofree char *path = lf_module_path (m);
  g_autofree char *full = join_path (path, name);
  lf_tensor_set_name (t, full);
  bump (m);
  return t;
}

LfTensor *
lf_module_add_param (LfModule *m, const char *name, int ndim, const int64_t *shape)
{
  g_return_val_if_fail (m != NULL && valid_local_name (name), NULL);
  g_return_val_if_fail (named_lookup (m->params, name) == NULL, NULL);
  g_return_val_if_fail (named_lookup (m->buffers, name) == NULL, NULL);
  return add_named (m, m->params, name, lf_param_new (NULL, ndim, shape));
}

LfTensor *
lf_module_param (LfModule *m, const char *name)
{
  g_return_val_if_fail (m != NULL && name != NULL, NULL);
  LfNamedTensor *nt = named_lookup (m->params, name);
  return nt ? nt->t : NULL;
}

LfTensor *
lf_module_add_buffer (LfModule *m, const char *name, int ndim, const int64_t *shape)
{
  g_return_val_if_fail (m != NULL && valid_local_name (name), NULL);
  g_return_val_if_fail (named_lookup (m->params, name) == NULL, NULL);
  g_return_val_if_fail (named_lookup (m->buffers, name) == NULL, NULL);
  return add_named (m, m->buffers, name, lf_tensor_new_owned (ndim, shape));
}

LfTensor *
lf_module_buffer (LfModule *m, const char *name)
{
  g_return_val_if_fail (m != NULL && name != NULL, NULL);
  LfNamedTensor *nt = named_lookup (m->buffers, name);
  return nt ? nt->t : NULL;
}

/* ---- reading ---------------------------------------------------------------------- */

const char *
lf_module_name (const LfModule *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  return m->name;
}

char *
lf_module_path (const LfModule *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  GPtrArray *names = g_ptr_array_new ();
  for (const LfModule *p = m; p; p = p->parent)
    if (p->parent || p->name[0])
      g_ptr_array_add (names, p->name);
  GString *s = g_string_new (NULL);
  for (guint i = names->len; i-- > 0;)
    {
      if (s->len)
        g_string_append_c (s, '.');
      g_string_append (s, names->pdata[i]);
    }
  g_ptr_array_unref (names);
  return g_string_free (s, FALSE);
}

LfModuleKind
lf_module_kind (const LfModule *m)
{
  g_return_val_if_fail (m != NULL, LF_MODULE_CUSTOM);
  return m->kind;
}

const char *
lf_module_kind_name (LfModuleKind kind)
{
  static const char *const names[] = {
    [LF_MODULE_CONTAINER] = "container",
    [LF_MODULE_LINEAR] = "linear",
    [LF_MODULE_EMBEDDING] = "embedding",
    [LF_MODULE_ATTENTION] = "attention",
    [LF_MODULE_FEEDFORWARD] = "feedforward",
    [LF_MODULE_NORM] = "norm",
    [LF_MODULE_BLOCK] = "block",
    [LF_MODULE_HEAD] = "head",
    [LF_MODULE_CUSTOM] = "custom",
  };
  _Static_assert (G_N_ELEMENTS (names) == LF_MODULE_KIND_COUNT, "a kind without a name");
  g_return_val_if_fail ((int) kind >= 0 && kind < LF_MODULE_KIND_COUNT, NULL);
  return names[kind];
}

const LfModuleClass *
lf_module_class (const LfModule *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  return m->klass;
}

void *
lf_module_state (LfModule *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  return m->state;
}

LfModule *
lf_module_parent (LfModule *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  return m->parent;
}

int
lf_module_n_children (const LfModule *m)
{
  g_return_val_if_fail (m != NULL, 0);
  return (int) m->children->len;
}

LfModule *
lf_module_child (LfModule *m, int i)
{
  g_return_val_if_fail (m != NULL, NULL);
  g_return_val_if_fail (i >= 0 && (guint) i < m->children->len, NULL);
  return m->children->pdata[i];
}

/* The path is relative to root (root's own name is not part of it), so
 * lf_module_find (block, "self_attn.q_proj") works on any subtree; ""
 * is root itself.  On a model's root (named "") it equals lf_module_path. */
LfModule *
lf_module_find (LfModule *root, const char *path)
{
  g_return_val_if_fail (root != NULL && path != NULL, NULL);
  LfModule *m = root;
  const char *p = path;
  while (*p && m)
    {
      const char *dot = strchr (p, '.');
      size_t len = dot ? (size_t) (dot - p) : strlen (p);
      m = child_by_name (m, p, len);
      p += len;
      if (*p == '.')
        {
          p++;
          if (*p == '\0')
            return NULL;            /* a trailing dot names nothing */
        }
    }
  return m;
}

static void
find_all_rec (LfModule *m, GString *path, GPatternSpec *spec, int kind, GPtrArray *out)
{
  if ((kind < 0 || (int) m->kind == kind) && g_pattern_spec_match_string (spec, path->str))
    g_ptr_array_add (out, m);
  gsize len = path->len;
  for (guint i = 0; i < m->children->len; i++)
    {
      LfModule *c = m->children->pdata[i];
      if (len)
        g_string_append_c (path, '.');
      g_string_append (path, c->name);
      find_all_rec (c, path, spec, kind, out);
      g_string_truncate (path, len);
    }
}

GPtrArray *
lf_module_find_all (LfModule *root, const char *glob, int kind)
{
  g_return_val_if_fail (root != NULL && glob != NULL, NULL);
  GPtrArray *out = g_ptr_array_new ();
  GPatternSpec *spec = g_pattern_spec_new (glob);
  g_autofree char *p = lf_module_path (root);
  GString *path = g_string_new (p);
  find_all_rec (root, path, spec, kind, out);
  g_string_free (path, TRUE);
  g_pattern_spec_free (spec);
  return out;
}

static void
params_rec (LfModule *m, GPatternSpec *spec, gboolean trainable_only, GPtrArray *out)
{
  for (guint i = 0; i < m->params->len; i++)
    {
      LfTensor *t = ((LfNamedTensor *) m->params->pdata[i])->t;
      if (trainable_only && !lf_tensor_requires_grad (t))
        continue;
      if (spec == NULL || g_pattern_spec_match_string (spec, lf_tensor_name (t)))
        g_ptr_array_add (out, t);
    }
  for (guint i = 0; i < m->children->len; i++)
    params_rec (m->children->pdata[i], spec, trainable_only, out);
}

GPtrArray *
lf_module_params (LfModule *root, const char *glob, gboolean trainable_only)
{
  g_return_val_if_fail (root != NULL, NULL);
  if (glob == NULL)
    glob = "*";
  GPtrArray *out = g_ptr_array_new ();
  GPatternSpec *spec = strcmp (glob, "*") == 0 ? NULL : g_pattern_spec_new (glob);
  params_rec (root, spec, trainable_only, out);
  if (spec)
    g_pattern_spec_free (spec);
  return out;
}

int
lf_module_freeze (LfModule *root, const char *glob, gboolean frozen)
{
  g_return_val_if_fail (root != NULL, 0);
  GPtrArray *ps = lf_module_params (root, glob, FALSE);
  gboolean changed = FALSE;
  for (guint i = 0; i < ps->len; i++)
    {
      LfTensor *t = ps->pdata[i];
      if (lf_tensor_requires_grad (t) == !!frozen)
        {
          lf_tensor_set_requires_grad (t, !frozen);
          changed = TRUE;
        }
    }
  int n = (int) ps->len;
  g_ptr_array_unref (ps);
  if (changed)
    bump (root);
  return n;
}

int64_t
lf_module_count_params (LfModule *root, const char *glob, gboolean trainable_only)
{
  g_return_val_if_fail (root != NULL, 0);
  GPtrArray *ps = lf_module_params (root, glob, trainable_only);
  int64_t n = 0;
  for (guint i = 0; i < ps->len; i++)
    n += lf_tensor_numel (ps->pdata[i]);
  g_ptr_array_unref (ps);
  return n;
}

/* ---- changing the tree ------------------------------------------------------------- */

LfModule *
lf_module_replace (LfModule *old, LfModule *replacement)
{
  g_return_val_if_fail (old != NULL && replacement != NULL, NULL);
  g_return_val_if_fail (old->parent != NULL, NULL);          /* the root has no place */
  g_return_val_if_fail (replacement->parent == NULL, NULL);
  g_return_val_if_fail (module_root (old) != replacement, NULL);
  LfModule *parent = old->parent;
  guint idx = 0;
  gboolean found = g_ptr_array_find (parent->children, old, &idx);
  lf_check (found, "module tree: a child missing from its parent");
  g_free (replacement->name);
  replacement->name = g_strdup (old->name);
  transfer_links (old, replacement);
  parent->children->pdata[idx] = replacement;
  replacement->parent = parent;
  old->parent = NULL;
  rename_subtree (replacement);
  rename_subtree (old);
  bump (parent);
  old->version++;
  return old;
}

LfModule *
lf_module_wrap (LfModule *target, const LfModuleClass *klass, void *state, LfModuleKind kind)
{
  g_return_val_if_fail (target != NULL, NULL);
  g_return_val_if_fail (target->parent != NULL, NULL);       /* the root has no place */
  LfModule *w = lf_module_new (target->name, kind, klass, state);
  g_return_val_if_fail (w != NULL, NULL);
  w->is_wrapper = TRUE;
  LfModule *parent = target->parent;
  guint idx = 0;
  gboolean found = g_ptr_array_find (parent->children, target, &idx);
  lf_check (found, "module tree: a child missing from its parent");
  transfer_links (target, w);
  parent->children->pdata[idx] = w;
  w->parent = parent;
  g_free (target->name);
  target->name = g_strdup ("base");
  target->parent = w;
  g_ptr_array_add (w->children, target);
  rename_subtree (w);
  bump (w);
  return w;
}

void
lf_module_insert_after (LfModule *target, LfModule *inserted)
{
  g_return_if_fail (target != NULL && inserted != NULL);
  g_return_if_fail (target->parent != NULL);
  g_return_if_fail (inserted->parent == NULL);
  g_return_if_fail (module_root (target) != inserted);
  g_return_if_fail (valid_local_name (inserted->name));
  LfModule *parent = target->parent;
  g_return_if_fail (child_by_name (parent, inserted->name, strlen (inserted->name)) == NULL);
  /* place it after target and after what already runs after target, so
   * tree order is the order things run in */
  LfModule *tail = target;
  while (tail->inserted->len)
    tail = tail->inserted->pdata[tail->inserted->len - 1];
  guint idx = 0;
  gboolean found = g_ptr_array_find (parent->children, tail, &idx);
  lf_check (found, "module tree: a child missing from its parent");
  g_ptr_array_insert (parent->children, (gint) idx + 1, inserted);
  inserted->parent = parent;
  inserted->inserted_after = target;
  g_ptr_array_add (target->inserted, inserted);
  rename_subtree (inserted);
  bump (parent);
}

void
lf_module_detach (LfModule *m)
{
  g_return_if_fail (m != NULL);
  if (m->parent == NULL)
    return;
  bump (m);
  if (m->inserted_after)
    {
      g_ptr_array_remove (m->inserted_after->inserted, m);
      m->inserted_after = NULL;
    }
  /* what ran after m stays with the parent as ordinary children */
  for (guint i = 0; i < m->inserted->len; i++)
    ((LfModule *) m->inserted->pdata[i])->inserted_after = NULL;
  g_ptr_array_set_size (m->inserted, 0);
  g_ptr_array_remove (m->parent->children, m);
  m->parent = NULL;
  rename_subtree (m);
  m->version++;
}

uint64_t
lf_module_structure_version (const LfModule *root)
{
  g_return_val_if_fail (root != NULL, 0);
  while (root->parent)
    root = root->parent;
  return root->version;
}

/* ---- slots ------------------------------------------------------------------------- */

void
lf_module_set_slot (LfModule *m, const char *name, LfTensor *t)
{
  g_return_if_fail (m != NULL && name != NULL);
  if (t == NULL)
    {
      if (m->slots)
        g_hash_table_remove (m->slots, name);
      return;
    }
  if (m->slots == NULL)
    m->slots = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_insert (m->slots, g_strdup (name), t);
}

/* A wrapped module also sees the slots set on its wrapper: a plugin that
 * finds "…self_attn" after another plugin wrapped it sets the slot on the
 * wrapper, and the attention's forward (now the "base") still reads it. */
LfTensor *
lf_module_get_slot (LfModule *m, const char *name)
{
  g_return_val_if_fail (m != NULL && name != NULL, NULL);
  for (;;)
    {
      LfTensor *t = m->slots ? g_hash_table_lookup (m->slots, name) : NULL;
      if (t)
        return t;
      LfModule *p = m->parent;
      if (p == NULL || !p->is_wrapper || p->children->len == 0 || p->children->pdata[0] != m)
        return NULL;
      m = p;
    }
}

/* ---- running ------------------------------------------------------------------------- */

static guint
add_hook (LfModule *m, gboolean pre, LfPreHook pre_fn, LfPostHook post_fn,
          void *user, GDestroyNotify destroy)
{
  LfHook *h = g_new0 (LfHook, 1);
  h->id = (guint) g_atomic_int_add (&lf_hook_last_id, 1) + 1;
  h->pre = pre;
  h->pre_fn = pre_fn;
  h->post_fn = post_fn;
  h->user = user;
  h->destroy = destroy;
  g_ptr_array_add (m->hooks, h);
  return h->id;
}

guint
lf_module_add_pre_hook (LfModule *m, LfPreHook hook, void *user, GDestroyNotify destroy)
{
  g_return_val_if_fail (m != NULL && hook != NULL, 0);
  return add_hook (m, TRUE, hook, NULL, user, destroy);
}

guint
lf_module_add_post_hook (LfModule *m, LfPostHook hook, void *user, GDestroyNotify destroy)
{
  g_return_val_if_fail (m != NULL && hook != NULL, 0);
  return add_hook (m, FALSE, NULL, hook, user, destroy);
}

/* A hook may remove itself (or another) while the module runs: it is marked
 * and dropped when the outermost forward of the module returns. */
void
lf_module_remove_hook (LfModule *m, guint id)
{
  g_return_if_fail (m != NULL);
  for (guint i = 0; i < m->hooks->len; i++)
    {
      LfHook *h = m->hooks->pdata[i];
      if (h->id != id || h->removed)
        continue;
      if (m->running)
        {
          h->removed = TRUE;
          m->hooks_dirty = TRUE;
        }
      else
        g_ptr_array_remove_index (m->hooks, i);
      return;
    }
  g_critical ("lf_module_remove_hook: module '%s' has no hook %u", m->name, id);
}

/* A module without a class forward (a container) runs its children in
 * order, each on the previous one's output (PyTorch's nn.Sequential),
 * skipping children inserted after a sibling (their target runs them).
 * Without children it is the identity. */
static LfTensor *
sequential_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  for (guint i = 0; i < m->children->len; i++)
    {
      LfModule *c = m->children->pdata[i];
      if (c->inserted_after == NULL)
        x = lf_module_forward (c, x, fwd);
    }
  return x;
}

LfTensor *
lf_module_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  g_return_val_if_fail (m != NULL && x != NULL, NULL);
  LfForward dflt;
  if (fwd == NULL)
    {
      memset (&dflt, 0, sizeof dflt);
      dflt.struct_size = sizeof dflt;
      fwd = &dflt;
    }
  m->running++;
  /* hooks added while running wait for the next call */
  const guint n_hooks = m->hooks->len;
  for (guint i = 0; i < n_hooks; i++)
    {
      LfHook *h = m->hooks->pdata[i];
      if (h->pre && !h->removed)
        {
          x = h->pre_fn (m, x, fwd, h->user);
          lf_check (x != NULL, "module '%s': a pre-hook returned NULL", m->name);
        }
    }
  LfTensor *y = m->klass && m->klass->forward ? m->klass->forward (m, x, fwd)
                                              : sequential_forward (m, x, fwd);
  lf_check (y != NULL, "module '%s' (%s): forward returned NULL", m->name,
            m->klass && m->klass->type_name ? m->klass->type_name : "container");
  for (guint i = 0; i < n_hooks; i++)
    {
      LfHook *h = m->hooks->pdata[i];
      if (!h->pre && !h->removed)
        {
          y = h->post_fn (m, x, y, fwd, h->user);
          lf_check (y != NULL, "module '%s': a post-hook returned NULL", m->name);
        }
    }
  for (guint i = 0; i < m->inserted->len; i++)
    y = lf_module_forward (m->inserted->pdata[i], y, fwd);
  if (--m->running == 0 && m->hooks_dirty)
    {
      for (guint i = m->hooks->len; i-- > 0;)
        if (((LfHook *) m->hooks->pdata[i])->removed)
          g_ptr_array_remove_index (m->hooks, i);
      m->hooks_dirty = FALSE;
    }
  return y;
}

/* ---- the linear module ----------------------------------------------------------------- */

/* x: (..., in) -> (..., out) */
static LfTensor *
linear_forward (LfModule *m, LfTensor *x, LfForward *fwd)
{
  (void) fwd;
  return lf_linear (x, lf_module_param (m, "weight"), lf_module_param (m, "bias"));
}

const LfModuleClass lf_linear_class = {
  .struct_size = sizeof (LfModuleClass),
  .type_name = "linear",
  .forward = linear_forward,
  .destroy_state = NULL,
};

LfModule *
lf_module_new_linear (const char *name, int64_t in, int64_t out, gboolean bias)
{
  g_return_val_if_fail (in > 0 && out > 0, NULL);
  LfModule *m = lf_module_new (name, LF_MODULE_LINEAR, &lf_linear_class, NULL);
  g_return_val_if_fail (m != NULL, NULL);
  const int64_t ws[2] = { out, in };
  lf_module_add_param (m, "weight", 2, ws);
  if (bias)
    lf_module_add_param (m, "bias", 1, &out);
  return m;
}

/* The weight takes values 0 .. out*in-1 of the stream rng_key, the bias the
 * next out values. */
void
lf_module_init_linear (LfModule *linear, uint64_t rng_key)
{
  g_return_if_fail (linear != NULL);
  LfTensor *w = lf_module_param (linear, "weight");
  g_return_if_fail (w != NULL && lf_tensor_ndim (w) == 2);
  LfTensor *b = lf_module_param (linear, "bias");
  const double bound = 1.0 / sqrt ((double) lf_tensor_dim (w, 1));
  LfReal *wd = lf_tensor_data (w);
  const int64_t nw = lf_tensor_numel (w);
  for (int64_t i = 0; i < nw; i++)
    wd[i] = (LfReal) (bound * (2.0 * lf_rng_uniform_at (rng_key, (uint64_t) i) - 1.0));
  if (b)
    {
      LfReal *bd = lf_tensor_data (b);
      for (int64_t i = 0; i < lf_tensor_numel (b); i++)
        bd[i] = (LfReal) (bound * (2.0 * lf_rng_uniform_at (rng_key, (uint64_t) (nw + i)) - 1.0));
    }
}
