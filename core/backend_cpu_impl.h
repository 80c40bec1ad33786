/* backend_cpu_impl.h: what the CPU backend's two files share (backend_cpu.c:
 * weights, products, element-wise steps; backend_cpu_att.c: RoPE, the KV
 * cells and attention): the backend's state and the helpers that split a
 * region of a step over the pool. Internal to those two files. */
#ifndef BACKEND_CPU_IMPL_H
#define BACKEND_CPU_IMPL_H

#include "backend.h"
#include "pool.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct cpu {
    backend base;
    pool *pool;
    bool own_pool;                     /* false: borrowed (ctx_params.pool) */
    void *act;    size_t act_cap;      /* rounded activations */
    void *amax;   size_t amax_cap;     /* matmul_check's per-slice argmax (index, value) */
    float *att;   size_t att_cap;      /* per-thread attention scores */
    float *rope;  size_t rope_cap;     /* (n, rope_dim) cos/sin pairs */
    /* what `rope` holds: the table of positions rope_pos[rope_n] for
     * rope_freq[rope_half] (q and k of every layer share it: computed once
     * a step, not 2 * n_layers times) */
    int32_t *rope_pos; size_t rope_pos_cap;
    float *rope_freq;  size_t rope_freq_cap;
    int32_t rope_n, rope_half;         /* rope_n 0: nothing held */
    int32_t *blk; size_t blk_cap;      /* attention blocks (cpu_attention) */
    /* the model's weight copies (repacked by eight rows, floats on huge
     * pages; backend_cpu.c, cpu_prepare), shared by every context of the
     * model with the same ISA and page setting (model_share): read-only */
    const struct cpu_copies *cp;
    const struct model *m;             /* whose copies cp are (released in cpu_destroy) */
    /* Q8_0 weights checked for -128 codes (vd_q8_0_no_min), on first use
     * by the eight-wide kernel; the answer decides its form */
    struct { const model_weight *w; bool no_min; } *q8chk;
    int n_q8chk, cap_q8chk;
} cpu;

static inline cpu *C(backend *b) { return (cpu *)b; }

/* backend_cpu_avx512.c (x86 with AVX-512 only: call where vd_isa() >=
 * VD_AVX512): bitwise the portable loops they stand for. */
int32_t cpu_rms_rows_avx512(float *y, const float *x, const float *w, int32_t r0, int32_t r1, int32_t dim, float eps);
void cpu_add_avx512(float *x, const float *y, size_t n);
void cpu_rope_head_avx512(float *v, const float *cs, int32_t half);
int32_t cpu_finite_argmax_avx512(const float *x, int32_t n);   /* -1: NaN/Inf; else logits_argmax */
#if defined(__x86_64__) || defined(__i386__)
#define CPU_HAS_AVX512_LOOPS 1
#else
#define CPU_HAS_AVX512_LOOPS 0
#endif

static inline int grow(void **p, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    void *n = NULL;
    size_t sz = (need + 63) & ~(size_t)63;
    if (posix_memalign(&n, 64, sz)) return -1;
    free(*p);
    *p = n; *cap = sz;
    return 0;
}

/* Pieces of [0, n), `step` at a time, from a shared counter: how every
 * region of a step is split (pool_run_any), so whoever is running takes the
 * next piece and a descheduled worker holds up nobody. Each element is
 * computed the same way whichever thread takes it. */
static inline bool take(atomic_long *next, long n, long step, long *lo, long *hi) {
    long a = atomic_fetch_add_explicit(next, step, memory_order_relaxed);
    if (a >= n) return false;
    *lo = a;
    *hi = a + step < n ? a + step : n;
    return true;
}

/* Pieces of [0, n), `step` at a time, each thread first from its own
 * home share (thread ith of nth: the ith nth of the pieces, in order),
 * front to back, then what is left of the others' shares from their ends.
 * A region then gives the same rows to the same thread at every call (a
 * matrix's rows: that core's half of the weights stays in its L2; a step's
 * sequences: a sequence stays with one core from stage to stage; batch-1
 * decode: each thread one stream, its next chunk the rows after its last,
 * which the kernels' next-group prefetch has read), no counter's cache line
 * bounces per piece, and a descheduled worker's share is still taken by
 * whoever runs. Which thread computes an element changes no number. ith
 * beyond HOME_MAX shares a home with ith % HOME_MAX. (The owner-front,
 * thief-back ranges are w22q's batch-1 scheme, generalised.) */
#define HOME_MAX 16
typedef struct home_range {
    _Alignas(64) _Atomic uint64_t v;   /* pieces [lo, hi) not yet taken: lo | hi << 32 */
} home_range;
typedef struct home_split {
    long n, step;
    int nth;
    home_range r[HOME_MAX];
} home_split;

static inline void home_init(home_split *h, long n, long step, int nth) {
    uint64_t np = (uint64_t)((n + step - 1) / step);
    h->n = n; h->step = step; h->nth = nth < HOME_MAX ? nth : HOME_MAX;
    for (int t = 0; t < h->nth; t++)
        atomic_init(&h->r[t].v, np * (uint64_t)t / (uint64_t)h->nth | (np * (uint64_t)(t + 1) / (uint64_t)h->nth) << 32);
}

/* The owner takes a range's first piece, another thread its last: the
 * piece's index, or -1 when none is left. */
static inline long home_piece(home_range *r, bool owner) {
    uint64_t v = atomic_load_explicit(&r->v, memory_order_relaxed);
    for (;;) {
        uint32_t lo = (uint32_t)v, hi = (uint32_t)(v >> 32);
        if (lo >= hi) return -1;
        if (atomic_compare_exchange_weak_explicit(&r->v, &v, owner ? v + 1 : v - (1ull << 32),
                                                  memory_order_relaxed, memory_order_relaxed))
            return owner ? (long)lo : (long)hi - 1;
    }
}

static inline bool home_take(home_split *h, int ith, long *lo, long *hi) {
    for (int k = 0; k < h->nth; k++) {
        long p = home_piece(&h->r[(ith + k) % h->nth], k == 0);
        if (p < 0) continue;
        *lo = p * h->step;
        *hi = *lo + h->step < h->n ? *lo + h->step : h->n;
        return true;
    }
    return false;
}

/* A piece: a quarter of a thread's share, at least `min` (a multiple of
 * `align`). */
static inline long piece(long n, int nth, long min, long align) {
    long s = (n / (4L * nth) + align - 1) / align * align;
    return s < min ? min : s;
}

#endif
