/* lifelong — process-wide runtime: initialisation, the BLIS kernel set,
 * threads, and the keyed random generator. */
#pragma once

#include <stdint.h>
#include <glib.h>

G_BEGIN_DECLS

#define LF_VERSION_MAJOR 0
#define LF_VERSION_MINOR 1
#define LF_VERSION_MICRO 0
#define LF_VERSION_STRING "0.1.0"

/* Initialises the engine: chooses BLIS's kernel set from the CPU's features
 * (unless BLIS_ARCH_TYPE is already set) before any BLIS call.  Idempotent;
 * every other entry point calls it. */
void        lf_init (void);
/* The kernel set BLIS runs ("skx", "haswell", "zen", "generic", ...) and
 * how it was chosen ("cpuid", "BLIS_ARCH_TYPE"). */
const char *lf_blis_arch (void);
const char *lf_blis_arch_source (void);
/* BLIS's numeric id of that kernel set: the value to give BLIS_ARCH_TYPE to
 * make another BLIS program (PyTorch in the benchmarks) run the same. */
int         lf_blis_arch_type (void);
/* What cpuid reported ("avx512", "avx2+fma", "none"). */
const char *lf_cpu_features (void);

/* One thread count for BLIS and the engine's OpenMP loops (n >= 1). */
void        lf_set_threads (int n);
int         lf_get_threads (void);

/* ---- randomness ----------------------------------------------------------
 * A counter-based generator (SplitMix64-derived): every stream is a pure
 * function of its key, so results never depend on call order across plugins
 * or on the thread count.  Derive keys with lf_rng_key from (seed, run,
 * experience, step, purpose). */
typedef struct {
  uint64_t key;
  uint64_t counter;
} LfRng;

uint64_t lf_rng_key (uint64_t seed, uint64_t a, uint64_t b, uint64_t c, const char *purpose);
void     lf_rng_init (LfRng *r, uint64_t key);
uint64_t lf_rng_next_u64 (LfRng *r);
/* Uniform in [0, 1). */
double   lf_rng_uniform (LfRng *r);
/* Standard normal (Box-Muller). */
double   lf_rng_normal (LfRng *r);
/* Uniform integer in [0, n). */
uint64_t lf_rng_below (LfRng *r, uint64_t n);
/* The i-th value of stream key, without state: uniform in [0, 1). */
double   lf_rng_uniform_at (uint64_t key, uint64_t i);

G_END_DECLS
