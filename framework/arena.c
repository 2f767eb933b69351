/* lifelong — the activation arena: a per-thread bump allocator over a list of
 * blocks.  Tape scopes take a mark and release to it, so a training step (or
 * an evaluation batch) frees all its activations at once and, in steady
 * state, never calls malloc. */
#include "tensor-private.h"
#include <stdlib.h>

#define ARENA_ALIGN 64
#define ARENA_MIN_BLOCK ((size_t) 4 << 20)

typedef struct {
  char  *base;
  size_t size;
} ArenaBlock;

typedef struct {
  ArenaBlock *blocks;
  int32_t     n_blocks, cap_blocks;
  int32_t     cur;        /* block being filled */
  size_t      offset;     /* bytes used in blocks[cur] */
  size_t      used_before;/* bytes used in blocks[0..cur) */
} Arena;

static _Thread_local Arena arena;

static void
arena_add_block (size_t min_size)
{
  size_t size = min_size > ARENA_MIN_BLOCK ? min_size : ARENA_MIN_BLOCK;
  if (arena.n_blocks == arena.cap_blocks)
    {
      arena.cap_blocks = arena.cap_blocks ? 2 * arena.cap_blocks : 8;
      arena.blocks = g_realloc_n (arena.blocks, arena.cap_blocks, sizeof (ArenaBlock));
    }
  void *p = NULL;
  if (posix_memalign (&p, ARENA_ALIGN, size) != 0)
    lf_fatal ("lifelong: out of memory allocating a %zu-byte arena block", size);
  arena.blocks[arena.n_blocks++] = (ArenaBlock) { p, size };
}

void *
lf_arena_alloc (size_t bytes)
{
  bytes = (bytes + ARENA_ALIGN - 1) & ~(size_t) (ARENA_ALIGN - 1);
  if (bytes == 0)
    bytes = ARENA_ALIGN;
  if (arena.n_blocks == 0)
    arena_add_block (bytes);
  for (;;)
    {
      ArenaBlock *b = &arena.blocks[arena.cur];
      if (arena.offset + bytes <= b->size)
        {
          void *p = b->base + arena.offset;
          arena.offset += bytes;
          return p;
        }
      /* Move on to the next block that fits, reusing kept blocks. */
      arena.used_before += arena.offset;
      arena.offset = 0;
      arena.cur++;
      while (arena.cur < arena.n_blocks && arena.blocks[arena.cur].size < bytes)
        arena.cur++;
      if (arena.cur >= arena.n_blocks)
        {
          arena_add_block (bytes);
          arena.cur = arena.n_blocks - 1;
        }
    }
}

LfArenaMark
lf_arena_mark (void)
{
  return (LfArenaMark) { arena.cur, arena.offset };
}

void
lf_arena_release (LfArenaMark m)
{
  /* Recompute used_before for the mark's block: blocks skipped by a large
   * allocation count as fully used, which only makes lf_arena_used an
   * upper bound. */
  size_t before = 0;
  for (int32_t i = 0; i < m.block && i < arena.n_blocks; i++)
    before += arena.blocks[i].size;
  arena.cur = m.block;
  arena.offset = m.offset;
  arena.used_before = before;
}

size_t
lf_arena_used (void)
{
  return arena.used_before + arena.offset;
}

size_t
lf_arena_reserved (void)
{
  size_t total = 0;
  for (int32_t i = 0; i < arena.n_blocks; i++)
    total += arena.blocks[i].size;
  return total;
}

void *
lf_scope_alloc (size_t bytes)
{
  return lf_arena_alloc (bytes);
}
