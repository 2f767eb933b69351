/* lifelong — process start-up: the CPU's features pick BLIS's kernel set
 * before its first call (Debian's BLIS 0.9 does not recognise recent CPUs
 * and falls back to slow kernels), one thread count for BLIS and OpenMP,
 * and the keyed random generator. */
#include "tensor-private.h"
#include "runtime-private.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <omp.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

static const char *cpu_features = "none";
static const char *arch_name = "unknown";
static const char *arch_source = "BLIS default";
static int n_threads = 1;

/* Which of BLIS's kernel sets this CPU can run fastest. */
static const char *
choose_arch (void)
{
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (!__get_cpuid (0, &a, &b, &c, &d))
    return NULL;
  gboolean amd = b == 0x68747541u;          /* "Auth" of AuthenticAMD */
  unsigned max_leaf = a;
  if (!__get_cpuid (1, &a, &b, &c, &d))
    return NULL;
  gboolean fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
  if (!osxsave || !avx || max_leaf < 7)
    return NULL;
  unsigned lo, hi;
  __asm__ volatile ("xgetbv" : "=a" (lo), "=d" (hi) : "c" (0));
  (void) hi;
  gboolean ymm = (lo & 0x6) == 0x6, zmm = (lo & 0xe6) == 0xe6;
  __cpuid_count (7, 0, a, b, c, d);
  gboolean avx2 = (b >> 5) & 1;
  gboolean f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
  if (zmm && f && dq && bw && vl)
    {
      cpu_features = "avx512";
      return "skx";
    }
  if (ymm && avx2 && fma)
    {
      cpu_features = "avx2+fma";
      return amd ? "zen" : "haswell";
    }
#endif
  return NULL;
}

static void
runtime_init (void)
{
  const char *env = getenv ("BLIS_ARCH_TYPE");
  const char *want = choose_arch ();
  if (env != NULL && *env != '\0')
    arch_source = "BLIS_ARCH_TYPE";
  else if (want != NULL)
    {
      int id = lf_blis_arch_id (want);
      if (id >= 0)
        {
          char buf[16];
          g_snprintf (buf, sizeof buf, "%d", id);
          setenv ("BLIS_ARCH_TYPE", buf, 1);
          arch_source = "cpuid";
        }
    }
  arch_name = lf_blis_arch_active ();
  const char *t = getenv ("LIFELONG_THREADS");
  n_threads = t != NULL && atoi (t) > 0 ? atoi (t) : 1;
  omp_set_num_threads (n_threads);
  lf_blis_set_threads (n_threads);
}

void
lf_init (void)
{
  static gsize done = 0;
  if (g_once_init_enter (&done))
    {
      runtime_init ();
      g_once_init_leave (&done, 1);
    }
}

const char *lf_blis_arch (void) { lf_init (); return arch_name; }
const char *lf_blis_arch_source (void) { lf_init (); return arch_source; }
int lf_blis_arch_type (void) { lf_init (); return lf_blis_arch_id (arch_name); }
const char *lf_cpu_features (void) { lf_init (); return cpu_features; }
int lf_get_threads (void) { lf_init (); return n_threads; }

void
lf_set_threads (int n)
{
  g_return_if_fail (n >= 1);
  lf_init ();
  n_threads = n;
  omp_set_num_threads (n);
  lf_blis_set_threads (n);
}

/* ---- randomness ---- */

static inline uint64_t
mix64 (uint64_t z)
{
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t
lf_rng_key (uint64_t seed, uint64_t a, uint64_t b, uint64_t c, const char *purpose)
{
  uint64_t h = 0xcbf29ce484222325ull;            /* FNV-1a of the purpose */
  for (const char *p = purpose ? purpose : ""; *p; p++)
    h = (h ^ (unsigned char) *p) * 0x100000001b3ull;
  uint64_t k = mix64 (seed);
  k = mix64 (k ^ a);
  k = mix64 (k ^ (b + 0x632be59bd9b4e019ull));
  k = mix64 (k ^ (c + 0x8cb92ba72f3d8dd7ull));
  return mix64 (k ^ h);
}

void lf_rng_init (LfRng *r, uint64_t key) { r->key = key; r->counter = 0; }

static inline uint64_t
rng_at (uint64_t key, uint64_t i)
{
  return mix64 (key ^ mix64 (i));
}

uint64_t lf_rng_next_u64 (LfRng *r) { return rng_at (r->key, r->counter++); }

double
lf_rng_uniform_at (uint64_t key, uint64_t i)
{
  return (double) (rng_at (key, i) >> 11) * 0x1.0p-53;
}

double lf_rng_uniform (LfRng *r) { return (double) (lf_rng_next_u64 (r) >> 11) * 0x1.0p-53; }

double
lf_rng_normal (LfRng *r)
{
  double u1 = lf_rng_uniform (r), u2 = lf_rng_uniform (r);
  if (u1 < 1e-300)
    u1 = 1e-300;
  return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}

uint64_t
lf_rng_below (LfRng *r, uint64_t n)
{
  g_return_val_if_fail (n > 0, 0);
  /* rejection sampling: no modulo bias */
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do
    x = lf_rng_next_u64 (r);
  while (x >= limit);
  return x % n;
}
