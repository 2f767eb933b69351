/* lifelong — runtime pieces shared between runtime.c and gemm.c. */
#pragma once

/* BLIS's numeric id for a kernel-set name, or -1.  Makes no BLIS call that
 * initialises the library. */
int         lf_blis_arch_id (const char *name);
/* The kernel set BLIS initialised with (initialises BLIS). */
const char *lf_blis_arch_active (void);
