/* tgemm: training's matrix products over the pool. Each thread takes one
 * fixed slice of C's rows (tokens for y = x W^T and dx = dy W, output
 * features for dW = dy^T x: thousands of rows that split evenly, where the
 * 288 columns of a stories15M activation would not) and runs the
 * single-threaded kernel on it; every thread packs all of B. */
#include "tgemm.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "pool.h"
#include "sgemm.h"

extern void openblas_set_num_threads(int);
extern char *openblas_get_corename(void);
/* OpenBLAS's pthreads build: stops and joins its worker threads (what its
 * fork handler calls). Weak: a build without it (OpenMP, serial) has no
 * spinning server to stop. */
extern int blas_thread_shutdown_(void) __attribute__((weak));

/* OpenBLAS (Debian's pthreads build) starts nproc - 1 worker threads when
 * the library is loaded, before main, and each spins on sched_yield for
 * 2^28 TSC cycles (~0.1 s here) before it sleeps. A short run (stories15m's
 * bench: model loaded and 12 steps timed within that window) then burns a
 * second core at -t 1: its process CPU time read twice the wall time on a
 * quiet machine, and at -t 2 the spinner competed with the pool's worker.
 * This process never runs OpenBLAS threaded (the pool provides the threads),
 * so: one thread, and the idle server stopped. Once only: a later
 * openblas_set_num_threads would start the server again. */
static void blas_serial_once(void) {
    openblas_set_num_threads(1);
    if (blas_thread_shutdown_) blas_thread_shutdown_();
}

void tgemm_blas_serial(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, blas_serial_once);
}

static atomic_int impl_in_force;   /* 0 until the first call decides */

/* Whether OpenBLAS runs kernels made for this CPU: it names the core it
 * picked, and a misdetected newer Intel CPU gets "Prescott" (generic SSE3
 * code, a fifth of the speed). Cores with AVX2-or-better kernels: */
static bool blas_is_right(void) {
    static const char *good[] = { "haswell", "skylakex", "cooperlake", "sapphirerapids", "zen", "excavator",
                                  "neoversen1", "neoversen2", "neoversev1", "armv8", "power9", "power10" };
    const char *c = openblas_get_corename();
    for (size_t i = 0; c && i < sizeof good / sizeof good[0]; i++)
        if (strcasecmp(c, good[i]) == 0) return true;
    return false;
}

int tgemm_set_impl(int impl) {
    /* AVX-512: the own kernel matches OpenBLAS's (bench/gemmbench.c) and its
     * results do not depend on the thread count; AVX2 only: OpenBLAS's
     * kernels are faster than the own 6x16 one, unless it fell back */
    if (impl == TGEMM_AUTO)
        impl = sgemm_has_avx512() || (sgemm_has_simd() && !blas_is_right()) ? TGEMM_OWN : TGEMM_BLAS;
    if (impl == TGEMM_BLAS) tgemm_blas_serial();   /* the pool provides the threads */
    atomic_store(&impl_in_force, impl);
    return impl;
}

static int impl_now(void) {
    int i = atomic_load(&impl_in_force);
    return i ? i : tgemm_set_impl(TGEMM_AUTO);
}

const char *tgemm_impl_name(void) {
    if (impl_now() == TGEMM_BLAS) return "OpenBLAS";
    return sgemm_has_avx512() ? "own AVX-512" : sgemm_has_simd() ? "own AVX2/FMA" : "own portable";
}

const char *tgemm_blas_core(void) { return openblas_get_corename(); }

typedef struct job {
    bool ta, tb;
    int n, m, k, lda, ldb;
    const float *a, *b;
    float beta, *c;
    int impl;
    float *ws;           /* NULL, or tgemm_nt_ws_floats: one slice a thread */
} job;

/* Rows of C per block of the split: the own kernels' tile height (no
 * partial tiles inside a thread's slice), else 16. */
static int row_grain(int impl) {
    if (impl == TGEMM_BLAS) return 16;
    return sgemm_has_avx512() ? 14 : sgemm_has_simd() ? 6 : 16;
}

/* Floats of one thread's slice of the scratch: A's panels for the most
 * rows a thread gets (pool_split's parts differ by one block at most). */
static size_t ws_slice(int n, int k, int nth) {
    int g = row_grain(TGEMM_OWN);
    long blocks = (n + g - 1) / g, most = (blocks + nth - 1) / nth;
    return (sgemm_apack_floats((int)(most * g), k) + 15) & ~(size_t)15;
}

size_t tgemm_nt_ws_floats(pool *p, int n, int k) {
    int nth = p ? pool_size(p) : 1;
    return (size_t)nth * ws_slice(n, k, nth);
}

static void run(void *arg, int ith, int nth) {
    job *j = arg;
    int g = row_grain(j->impl);
    long blocks = (j->n + g - 1) / g, lo, hi;
    pool_split(blocks, ith, nth, &lo, &hi);
    int s0 = (int)lo * g, s1 = (int)hi * g < j->n ? (int)hi * g : j->n;
    if (s0 >= s1) return;
    /* rows s0..s1 of C: rows of A, or columns of A^T's source */
    const float *a = j->a + (j->ta ? (size_t)s0 : (size_t)s0 * j->lda);
    float *c = j->c + (size_t)s0 * j->m;
    int rows = s1 - s0;
    if (j->impl == TGEMM_BLAS)
        cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans,
                    rows, j->m, j->k, 1.0f, a, j->lda, j->b, j->ldb, j->beta, c, j->m);
    else
        sgemm_f32_ws(j->ta, j->tb, rows, j->m, j->k, a, j->lda, j->b, j->ldb, j->beta, c, j->m,
                     j->ws ? j->ws + (size_t)ith * ws_slice(j->n, j->k, nth) : NULL);
}

static void go(pool *p, job *j) {
    j->impl = impl_now();
    if (j->n <= 0 || j->m <= 0) return;
    if (p) pool_run(p, run, j);
    else run(j, 0, 1);
}

void tgemm_nt(pool *p, int n, int m, int k, const float *a, const float *b, float beta, float *c) {
    tgemm_nt_ws(p, n, m, k, a, b, beta, c, NULL);
}

void tgemm_nt_ws(pool *p, int n, int m, int k, const float *a, const float *b, float beta, float *c, float *ws) {
    job j = { false, true, n, m, k, k, k, a, b, beta, c, 0, ws };
    go(p, &j);
}

void tgemm_nn(pool *p, int n, int m, int k, const float *a, const float *b, float beta, float *c) {
    job j = { false, false, n, m, k, k, m, a, b, beta, c, 0, NULL };
    go(p, &j);
}

void tgemm_tn(pool *p, int n, int m, int k, const float *a, const float *b, float beta, float *c) {
    job j = { true, false, n, m, k, n, m, a, b, beta, c, 0, NULL };
    go(p, &j);
}
