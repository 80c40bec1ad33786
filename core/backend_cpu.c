/* backend_cpu: the CPU implementation of backend.h.
 *
 * The rule (docs/architecture.md, "Batch invariance"): a position's numbers
 * depend on its sequence alone, bitwise, whatever else is in the batch,
 * whichever path evaluated it and whatever the thread count. So:
 * - matrix products round the activations to the weight type's activation
 *   type (vd_quantize_act), split the weight rows over the pool (never one
 *   dot product), and pick a kernel by batch size (repacked rows for a few
 *   sequences, eight-wide for more, tiles otherwise); every kernel keeps
 *   the one summation order of its weight type (vecdot.h), so the choice
 *   changes the speed, never a bit. Prompts take the same kernels: no
 *   dequantize-then-sgemm path whose order would differ.
 * - attention: one work item computes a (batch entry, head group) whole,
 *   positions summed in position order; RMSNorm sums a row in order; the
 *   element-wise steps give each value the same operations wherever it sits.
 */
#include "backend_cpu_att.h"
#include "backend_cpu_impl.h"
#include "logits.h"
#include "qtypes.h"
#include "vecdot.h"
#include <stdatomic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_MATMUL_W 4

static void cpu_destroy(backend *b) {
    cpu *c = C(b);
    if (c->own_pool) pool_destroy(c->pool);
    free(c->act); free(c->amax); free(c->att); free(c->rope); free(c->rope_pos); free(c->rope_freq);
    free(c->blk);
    model_share_put(c->m, (void *)c->cp);
    free(c->q8chk);
    free(c);
}

/* Memory for a weight copy, on 2 MiB pages where the kernel gives them
 * (transparent huge pages; madvise is advice, and the copy works either
 * way). Batch-1 decode streams every weight once per token: with 4 KiB
 * pages a core walks a page table every 4 KiB, and an F32 matrix-vector
 * product read 15-22 GB/s where the same loop on 2 MiB pages read 31-40
 * (one core, 58 MB, CPU time). */
#define HUGE_PAGE ((size_t)2 << 20)
static void *alloc_huge(size_t sz, bool huge) {
    void *d = NULL;
    if (sz < HUGE_PAGE || !huge) return posix_memalign(&d, 64, sz) ? NULL : d;
    sz = (sz + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    if (posix_memalign(&d, HUGE_PAGE, sz)) return NULL;
    (void)madvise(d, sz, MADV_HUGEPAGE);
    return d;
}

/* Repacks every matrix that has a repacked kernel (Q4_0, Q8_0, Q4_K, Q5_0,
 * Q5_K, Q6_K with AVX2 or AVX512-VNNI: vd_repack_size) eight rows at a time
 * (vecdot_r8_avx2.c: Q4_0 about 1.9x, Q8_0 about 1.2x less work than the
 * tiles; VNNI on one core, 5632 x 2048 in cache, one activation: Q5_0
 * 0.18 vs 0.78 ms, Q5_K 0.23 vs 0.54, Q6_K 0.21 vs 0.47), and copies the float matrices as they are into huge pages (the
 * mapping of the file has 4 KiB pages; same bytes, so the same numbers).
 * The copies are extra memory: they are made only while all of them
 * together stay under a quarter of physical memory, so a model near the
 * machine's size keeps the original layout alone; so does one whose
 * arena cannot be allocated. With backend.no_huge_pages (ctx_params,
 * LOGITLAB_HUGEPAGES=0) the arena is ordinary memory and holds only the
 * repacked copies (zeroing 2 MiB pages made a llama3-8b load 8 s slower on
 * one VM; THP "never" gives no gain for the memory). */
typedef struct cpu_copies {
    /* weights repacked by eight rows (vd_repack), by the weight they copy */
    struct { const model_weight *w; void *data; } *r8;
    int n_r8;
    /* float weights (F32/F16/BF16) copied as they are into huge pages */
    struct { const model_weight *w; void *data; } *fl;
    int n_fl;
    void *arena;                       /* holds every copy above (alloc_huge) */
} cpu_copies;

static void copies_free(void *obj) {
    cpu_copies *cp = obj;
    free(cp->r8); free(cp->fl); free(cp->arena);
    free(cp);
}

typedef struct repack_job {
    cpu_copies *cp;
    atomic_int next;        /* the first copy not yet taken */
} repack_job;

static void repack_worker(void *arg, int ith, int nth) {
    repack_job *j = arg;
    cpu_copies *cp = j->cp;
    (void)ith; (void)nth;
    for (int i; (i = atomic_fetch_add(&j->next, 1)) < cp->n_r8 + cp->n_fl;) {
        if (i < cp->n_r8) {
            const model_weight *w = cp->r8[i].w;
            vd_repack(w->type, w->data, w->rows, w->cols, cp->r8[i].data);
        } else {
            const model_weight *w = cp->fl[i - cp->n_r8].w;
            memcpy(cp->fl[i - cp->n_r8].data, w->data, qt_row_size(w->type, w->cols) * (size_t)w->rows);
        }
    }
}

static bool float_type(int t) { return t == QT_F32 || t == QT_F16 || t == QT_BF16; }

/* Bytes of w's copy: float as it is, else repacked (0: none). */
static size_t copy_size(const model_weight *w) {
    return float_type(w->type) ? qt_row_size(w->type, w->cols) * (size_t)w->rows
                               : vd_repack_size(w->type, w->rows, w->cols);
}

typedef struct copies_arg {
    cpu *c;                 /* the context whose pool makes the copies */
    const model *m;
    bool huge;
} copies_arg;

/* model_share's make: the copies of every matrix of the model (NULL only when
 * out of memory for the lists; a model over budget gets an empty set, so the
 * decision is made once too). */
static void *copies_make(void *arg, size_t *bytes) {
    copies_arg *a = arg;
    const model_info *h = model_get_info(a->m);
    int cap = 7 * h->n_layers + 1;
    cpu_copies *cp = calloc(1, sizeof *cp);
    const model_weight **ws = malloc((size_t)cap * sizeof *ws);
    if (!cp || !ws || !(cp->r8 = calloc((size_t)cap, sizeof *cp->r8)) || !(cp->fl = calloc((size_t)cap, sizeof *cp->fl))) {
        if (cp) { free(cp->r8); free(cp); }
        free(ws);
        return NULL;
    }
    int n = 0;
    for (int32_t il = 0; il < h->n_layers; il++) {
        const model_layer *ly = model_get_layer(a->m, il);
        const model_weight *lw[7] = { &ly->wq, &ly->wk, &ly->wv, &ly->wo, &ly->w_gate, &ly->w_up, &ly->w_down };
        for (int k = 0; k < 7; k++) ws[n++] = lw[k];
    }
    ws[n++] = model_output(a->m);
    /* one arena for all copies, each at a 64-byte boundary: a layer's
     * matrices are smaller than a huge page, so separate allocations would
     * stay on 4 KiB pages */
    size_t total = 0, tfl = 0;
    for (int i = 0; i < n; i++) {
        size_t sz = (copy_size(ws[i]) + 63) & ~(size_t)63;
        total += sz;
        if (float_type(ws[i]->type)) tfl += sz;
    }
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    size_t budget = pages > 0 && psz > 0 ? (size_t)pages * (size_t)psz / 4 : 0;
    /* over budget: the float copies go first (the repacked ones also save
     * work per byte, not just page walks) */
    bool with_fl = total <= budget && a->huge;   /* float copies exist for the pages alone */
    if (!with_fl) total -= tfl;
    if (total && total <= budget && (cp->arena = alloc_huge(total, a->huge))) {
        char *d = cp->arena;
        for (int i = 0; i < n; i++) {
            size_t sz = copy_size(ws[i]);
            if (!sz || (!with_fl && float_type(ws[i]->type))) continue;
            if (float_type(ws[i]->type)) { cp->fl[cp->n_fl].w = ws[i]; cp->fl[cp->n_fl++].data = d; }
            else { cp->r8[cp->n_r8].w = ws[i]; cp->r8[cp->n_r8++].data = d; }
            d += (sz + 63) & ~(size_t)63;
        }
        repack_job j = { .cp = cp };
        atomic_init(&j.next, 0);
        pool_run_any(a->c->pool, repack_worker, &j);   /* GB of weights: every core copies */
        *bytes = total;
    }
    free(ws);
    return cp;
}

/* The copies are the model's, not the context's: a second context of the
 * same model (same ISA and VNNI features, since vd_repack_size and the layouts depend on them —
 * cpu_create's vd_init picks the best one for every context, the key keeps
 * it anyway — and same page setting) takes a reference to the first one's set instead of
 * making its own (model_share; same bytes, so the same numbers). Without
 * them (out of memory) the context reads the file's layout. */
static int cpu_prepare(backend *b, const model *m, char *err, size_t errlen) {
    (void)err; (void)errlen;
    cpu *c = C(b);
    char key[64];
    snprintf(key, sizeof key, "cpu-copies isa=%d feat=%u huge=%d", vd_isa(), vd_cpu_features(), !b->no_huge_pages);
    copies_arg a = { c, m, !b->no_huge_pages };
    c->cp = model_share_get(m, key, copies_make, copies_free, &a);
    if (c->cp) c->m = m;
    return 0;
}

/* The bytes of w to read: its huge-page copy, else the original. */
static const void *wdata(const cpu *c, const model_weight *w) {
    const cpu_copies *cp = c->cp;
    if (cp) for (int i = 0; i < cp->n_fl; i++) if (cp->fl[i].w == w) return cp->fl[i].data;
    return w->data;
}

/* The repacked copy of w, or NULL. */
static const void *repacked(const cpu *c, const model_weight *w) {
    const cpu_copies *cp = c->cp;
    if (cp) for (int i = 0; i < cp->n_r8; i++) if (cp->r8[i].w == w) return cp->r8[i].data;
    return NULL;
}

/* The repacked copy a product of n sequences should read, or NULL. With
 * AVX512-VNNI (vd_r8_width 8) every n on Q4_0/Q8_0: the VNNI repacked kernel
 * beats the VNNI eight-wide one at every n (one core, 5632 x 2048, in cache:
 * Q4_0 n = 8 0.74 vs 1.04 ms, n = 16 1.49 vs 2.09; Q8_0 n = 8 0.76 vs 1.13,
 * n = 16 1.59 vs 2.31). With AVX2: one to four sequences, up to eight on
 * Q4_0, where it beats vd_matmul8 (measured: 5.5x vs 6.5x one sequence for
 * eight; Q8_0's signed codes favour vd_matmul8). Q4_K, Q5_0, Q5_K, Q6_K:
 * any number (four at a time with AVX2): they have no eight-wide kernel
 * and their tiles cost more (AVX2, one core, 2816 x 2048 in cache, CPU ms
 * repacked vs tiles: Q5_0 one activation 0.12 vs 0.35, eight 0.58 vs 1.97;
 * Q5_K 0.17 vs 0.27, 0.65 vs 0.88; Q6_K 0.17 vs 0.24, 0.69 vs 0.84). */
static const void *r8_for(const cpu *c, const model_weight *w, int32_t n) {
    bool any_n = w->type == QT_Q4_K || w->type == QT_Q5_0 || w->type == QT_Q5_K || w->type == QT_Q6_K;
    if (vd_r8_width(w->type) < 8 && !any_n && (n > 8 || (n > 4 && w->type != QT_Q4_0))) return NULL;
    return repacked(c, w);
}

/* VD_W_NO_MIN for a Q8_0 weight free of -128 codes, else 0. The first ask
 * reads the matrix once (the first step of several sequences pays it);
 * when the answer cannot be kept it is 0, the form right for any code. */
static unsigned x8_flags(cpu *c, const model_weight *w) {
    if (w->type != QT_Q8_0) return 0;
    for (int i = 0; i < c->n_q8chk; i++)
        if (c->q8chk[i].w == w) return c->q8chk[i].no_min ? VD_W_NO_MIN : 0;
    if (c->n_q8chk == c->cap_q8chk) {
        int cap = c->cap_q8chk ? 2 * c->cap_q8chk : 64;
        void *n = realloc(c->q8chk, (size_t)cap * sizeof *c->q8chk);
        if (!n) return 0;
        c->q8chk = n;
        c->cap_q8chk = cap;
    }
    bool ok = vd_q8_0_no_min(w->data, w->rows, w->cols);
    c->q8chk[c->n_q8chk].w = w;
    c->q8chk[c->n_q8chk++].no_min = ok;
    return ok ? VD_W_NO_MIN : 0;
}

/* Buffers of 2 MiB or more (the KV cells, a prompt's activations) on huge
 * pages unless the context asked for none: a decode step of many sequences
 * reads and appends K/V rows scattered over the whole cache (each
 * sequence's own blocks), a 4 KiB page for every few rows. Stories15m Q4_0,
 * one thread, per-stage rdtsc, 8 alternating rounds: the K/V stores
 * 0.7-0.85x at 16-56 sequences, attention 0.95-1.0x (session 14, notes
 * w22b). */
static void *cpu_alloc(backend *b, size_t bytes) {
    if (bytes >= HUGE_PAGE && !b->no_huge_pages) return alloc_huge(bytes, true);
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? (bytes + 63) & ~(size_t)63 : 64)) return NULL;
    return p;
}

static void cpu_free(backend *b, void *p) { (void)b; free(p); }

static void cpu_copy(backend *b, void *dst, const void *src, size_t bytes) {
    (void)b;
    if (dst != src) memcpy(dst, src, bytes);
}

static void cpu_embed(backend *b, const model_weight *emb, const int32_t *tok, int32_t n, float *x) {
    (void)b;
    size_t rs = qt_row_size(emb->type, emb->cols);
    for (int32_t i = 0; i < n; i++)
        qt_dequantize_row(emb->type, (const char *)emb->data + (size_t)tok[i] * rs,
                          x + (size_t)i * emb->cols, emb->cols);
}

/* Rows [r0, r1): each row's squares summed in double in order j = 0..dim-1
 * (as llama.cpp does), four rows interleaved so that four independent
 * chains fill the adder (one row's chain is latency-bound: ~4 cycles an
 * element); each row keeps its own order, so a row's result does not depend
 * on its neighbours. */
static void rms_rows(float *y, const float *x, const float *w, int32_t r0, int32_t r1, int32_t dim, float eps) {
    int32_t i = r0;
    if (CPU_HAS_AVX512_LOOPS && vd_isa() >= VD_AVX512) i = cpu_rms_rows_avx512(y, x, w, r0, r1, dim, eps);
    for (; i + 4 <= r1; i += 4) {
        const float *x0 = x + (size_t)i * dim, *x1 = x0 + dim, *x2 = x1 + dim, *x3 = x2 + dim;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int32_t j = 0; j < dim; j++) {
            s0 += (double)(x0[j] * x0[j]);
            s1 += (double)(x1[j] * x1[j]);
            s2 += (double)(x2[j] * x2[j]);
            s3 += (double)(x3[j] * x3[j]);
        }
        const double ss[4] = { s0, s1, s2, s3 };
        for (int r = 0; r < 4; r++) {
            const float *xi = x + (size_t)(i + r) * dim;
            float *yi = y + (size_t)(i + r) * dim;
            float scale = 1.0f / sqrtf((float)(ss[r] / dim) + eps);
            for (int32_t j = 0; j < dim; j++) yi[j] = (xi[j] * scale) * w[j];
        }
    }
    for (; i < r1; i++) {
        const float *xi = x + (size_t)i * dim;
        float *yi = y + (size_t)i * dim;
        double ss = 0;
        for (int32_t j = 0; j < dim; j++) ss += (double)(xi[j] * xi[j]);
        float scale = 1.0f / sqrtf((float)(ss / dim) + eps);
        for (int32_t j = 0; j < dim; j++) yi[j] = (xi[j] * scale) * w[j];
    }
}

typedef struct rows_job {
    float *y; const float *x, *w;
    int32_t n, dim;
    float eps;
    long step;
    atomic_long next;
} rows_job;

static void rmsnorm_worker(void *arg, int ith, int nth) {
    rows_job *j = arg;
    (void)ith; (void)nth;
    for (long lo, hi; take(&j->next, j->n, j->step, &lo, &hi);)
        rms_rows(j->y, j->x, j->w, (int32_t)lo, (int32_t)hi, j->dim, j->eps);
}

/* Rows are independent (each summed in order by one thread), so a prompt's
 * rows are split over the pool: on one thread the 13 norms of a
 * stories15m pp512 were ~2% of the step, serial. Not below RMS_SPLIT
 * values: a decode step's norm reads the residual the caller's own add just
 * wrote, and a worker would fetch its rows from the caller's cache (64
 * sequences of stories15m, 18k values: split, the two norms of a layer
 * took 2x the time of the one-thread step's; serial on the caller, the
 * two-thread step's were as fast as one thread's, and its adds got
 * faster too; session 13, notes w22b). */
#define RMS_SPLIT 65536
static void cpu_rmsnorm(backend *b, float *y, const float *x, const float *w, int32_t n,
                        int32_t dim, float eps) {
    cpu *c = C(b);
    rows_job j = { y, x, w, n, dim, eps, piece(n, pool_size(c->pool), 4, 4), 0 };
    atomic_init(&j.next, 0);
    if ((long)n * dim >= RMS_SPLIT && n > 1 && pool_size(c->pool) > 1) pool_run_any(c->pool, rmsnorm_worker, &j);
    else rms_rows(y, x, w, 0, n, dim, eps);
}

/* ---- matrix products ---- */

typedef struct mm_job {
    cpu *c;
    int nw;
    const model_weight *const *w;
    float *const *y;
    int32_t n;
    const void *const *xq;   /* per weight: rounded activations */
    const void *const *x8;   /* per weight: the same interleaved by eight, or NULL */
    const void *const *r8;   /* per weight: its repacked copy to read (r8_for), or NULL */
    const void *const *rp;   /* per weight: its repacked copy whatever n, or NULL */
    const int32_t *const *off; /* per weight: vd_r8_prep's terms for rp, or NULL */
    const float *const *dx;
    const unsigned *wflags;  /* per weight: vd_matmul8's flags (x8_flags) */
    const void *const *wd;   /* per weight: the bytes the tiles read (wdata) */
    long total_rows;
    long chunk;              /* rows a thread takes at a time (a multiple of 16) */
    home_split hs;           /* chunks of rows, each thread its own first */
    bool check;              /* matmul_check: one weight; find non-finite outputs */
    atomic_int bad;          /* the first output row (activation) found non-finite, or n */
    int32_t *cidx;           /* matmul_check's amax: per chunk and row, the slice's argmax */
    float *cval;             /* (column index) and its value, [chunk * n + row]; or NULL */
    bool gate;               /* cpu_matmul_swiglu: two weights of the same rows, taken in pairs */
    const void *const *pad;  /* per weight: vd_r8_pad's padded sixteen for rp and n, or NULL */
} mm_job;

/* Rows [r0, r1) of w against nact activations xq from the repacked copy rp,
 * all activations at once: whole groups of eight rows from the copy,
 * the edges from the original. */
static void r8_rows(const model_weight *w, const void *rp, long r0, long r1, const char *xq, int nact,
                    const int32_t *off, const float *dx, const void *pad, float *y) {
    long a = (r0 + 7) / 8 * 8, e = (r1 < w->rows / 8 * 8 ? r1 : w->rows / 8 * 8) / 8 * 8;
    if (a >= e) { vd_matmul(w->type, w->data, w->cols, r0, r1, xq, nact, y, w->rows); return; }
    /* the edges only when there are any: chunks are whole groups, and an
     * empty vd_matmul still dispatches (batch-1 decode at two threads:
     * ~2% of the step's CPU samples for two empty calls a chunk) */
    if (r0 < a) vd_matmul(w->type, w->data, w->cols, r0, a, xq, nact, y, w->rows);
    vd_matmul_r8p_pad(w->type, rp, w->cols, a, e, xq, nact, off, dx, pad, y, w->rows);
    if (e < r1) vd_matmul(w->type, w->data, w->cols, e, r1, xq, nact, y, w->rows);
}

/* Runs rows [lo, hi) of the concatenation of all weights of the job. The
 * three kernels keep one order (vecdot.h), so which one a row meets (by batch
 * size, by where a thread's chunk cuts the groups of eight) changes no bit. */
static void mm_rows(mm_job *j, long lo, long hi) {
    long base = 0;
    for (int k = 0; k < j->nw && lo < hi; k++) {
        const model_weight *w = j->w[k];
        long r0 = lo - base, r1 = hi - base;
        base += w->rows;
        if (r1 <= 0 || r0 >= w->rows) continue;
        if (r0 < 0) r0 = 0;
        if (r1 > w->rows) r1 = w->rows;
        if (j->x8[k]) {
            /* a last chunk of one to four activations would cost a whole
             * eight-lane pass: the repacked kernel takes it (no cliff past
             * each multiple of eight) */
            int tail = j->n % 8, n8 = tail && tail <= vd_r8_width(w->type) && j->rp[k] ? j->n - tail : j->n;
            vd_matmul8(w->type, w->data, w->cols, r0, r1, j->x8[k], n8, j->y[k], w->rows, j->wflags[k]);
            int64_t nb = vd_r8_prep_blocks(w->type, w->cols);
            if (n8 < j->n)
                r8_rows(w, j->rp[k], r0, r1, (const char *)j->xq[k] + (size_t)n8 * vd_act_row_size(w->type, w->cols),
                        j->n - n8, j->off[k] ? j->off[k] + n8 * nb : NULL, j->dx[k] ? j->dx[k] + n8 * nb : NULL,
                        NULL, j->y[k] + (size_t)n8 * w->rows);
            continue;
        }
        if (j->r8[k]) r8_rows(w, j->r8[k], r0, r1, j->xq[k], j->n, j->off[k], j->dx[k], j->pad[k], j->y[k]);
        else vd_matmul(w->type, j->wd[k], w->cols, r0, r1, j->xq[k], j->n, j->y[k], w->rows);
    }
}

/* matmul_check: columns [lo, hi) of each output row, just computed (in
 * cache). Records the lowest row found bad and, with amax, each finite
 * row's argmax over the slice (its 4 KB are in L1 after the check). */
static void check_cols(mm_job *j, long lo, long hi) {
    size_t ci = (size_t)(lo / j->chunk) * (size_t)j->n;
    for (int32_t a = 0; a < j->n && a < atomic_load_explicit(&j->bad, memory_order_relaxed); a++) {
        const float *ya = j->y[0] + (size_t)a * (size_t)j->w[0]->rows + lo;
        if (j->cidx) {   /* one pass over the slice where it can (cpu_finite_argmax_avx512) */
            int32_t k = CPU_HAS_AVX512_LOOPS && vd_isa() >= VD_AVX512 ? cpu_finite_argmax_avx512(ya, (int32_t)(hi - lo))
                      : vd_finite_f32(ya, hi - lo) ? logits_argmax(ya, (int32_t)(hi - lo)) : -1;
            if (k >= 0) {
                j->cidx[ci + a] = (int32_t)lo + k;
                j->cval[ci + a] = ya[k];
                continue;
            }
        } else if (vd_finite_f32(ya, hi - lo)) continue;
        int cur = atomic_load_explicit(&j->bad, memory_order_relaxed);
        while (a < cur && !atomic_compare_exchange_weak(&j->bad, &cur, a)) {}
        return;
    }
}

/* A gated product's chunk: rows [lo, hi) of the gate and of the up
 * weight, then silu(gate) * up over those columns of every activation
 * while they are in cache (what cpu_swiglu does to each value). */
static void gate_rows(mm_job *j, long lo, long hi) {
    long r = j->w[0]->rows;
    mm_rows(j, lo, hi);
    mm_rows(j, r + lo, r + hi);
    for (int32_t a = 0; a < j->n; a++)
        vd_silu_mul(j->y[0] + (size_t)a * (size_t)r + lo, j->y[1] + (size_t)a * (size_t)r + lo, hi - lo);
}

/* Threads take chunks of rows rather than fixed halves: when one core is
 * slowed (another process, a frequency drop) the other takes more,
 * instead of spinning at the barrier. Each takes its own home share's
 * chunks first (home_take): the same rows of a matrix go to the same core
 * at every step, so its half of the weights stays in its L2 (stories15m
 * Q4_0, 64 sequences, 2 threads, perf samples of the step's work, 7
 * alternating runs: the AMX kernel 0.93x, all work 0.93x, spinning 0.72x
 * of a shared counter's; session 13). Chunks are a multiple of 16 rows, so
 * threads never share a cache line of y, and large enough (1/4 of a
 * thread's share) that each stays one long stream. */
static void mm_worker(void *arg, int ith, int nth) {
    mm_job *j = arg;
    (void)nth;
    for (long lo, hi; home_take(&j->hs, ith, &lo, &hi);) {
        if (j->gate) { gate_rows(j, lo, hi); continue; }
        mm_rows(j, lo, hi);
        if (j->check) check_cols(j, lo, hi);
    }
}

/* Rounding the activations: rows are independent, so a step of many
 * sequences splits them across the pool above QUANT_SPLIT values (64 rows
 * of 288 were ~2% of a step, serial while the other threads waited). */
#define QUANT_SPLIT 8192
typedef struct quant_job {
    cpu *c;
    const float *x;
    int32_t n;
    int64_t cols;
    int nt;
    const int *types;
    const size_t *off;
    home_split hs;           /* rows (sequences), each thread its own first */
    int np;                  /* repacked weight types needing vd_r8_prep terms */
    const int *ptypes;
    const void *const *pxq;
    int32_t *const *poff;
    float *const *pdx;
} quant_job;

static void quant_worker(void *arg, int ith, int nth) {
    quant_job *j = arg;
    (void)nth;
    for (long lo, hi; home_take(&j->hs, ith, &lo, &hi);) {
        for (int t = 0; t < j->nt; t++) {
            if (qt_get(j->types[t])->act_type == QT_F32) continue;   /* used in place (cpu_matmul) */
            char *dst = (char *)j->c->act + j->off[t];
            size_t qrow = vd_act_row_size(j->types[t], j->cols);
            for (long i = lo; i < hi; i++)
                vd_quantize_act(j->types[t], j->x + (size_t)i * j->cols, dst + (size_t)i * qrow, j->cols);
        }
        /* the repacked kernels' per-activation terms, of the rows this
         * thread just rounded: once a product instead of once per row chunk */
        for (int t = 0; t < j->np; t++)
            vd_r8_prep(j->ptypes[t], j->pxq[t], j->cols, (int)lo, (int)hi, j->poff[t], j->pdx[t]);
    }
}

/* cpu_matmul, cpu_matmul_check and cpu_matmul_swiglu: bad non-NULL checks
 * the outputs; amax (with bad) also finds each row's argmax; gate (two
 * weights of the same shape) gates the first output by the second. */
static int matmul(backend *b, int nw, const model_weight *const *w, const float *x,
                  int32_t n, float *const *y, int32_t *bad, int32_t *amax, bool gate) {
    cpu *c = C(b);
    int64_t cols = w[0]->cols;
    /* one rounded copy per distinct activation type among the weights */
    int act_of[MAX_MATMUL_W], types[MAX_MATMUL_W], nt = 0;
    size_t off[MAX_MATMUL_W], total = 0;
    for (int k = 0; k < nw; k++) {
        int at = qt_get(w[k]->type)->act_type, f = -1;
        for (int t = 0; t < nt; t++) if (qt_get(types[t])->act_type == at) f = t;
        if (f < 0) {
            f = nt++;
            types[f] = w[k]->type;
            off[f] = total;
            /* float activations are used as they are: rounding to F32 is
             * the identity, and the copy was ~2% of an F32 prompt, serial */
            if (at != QT_F32) total += ((size_t)n * vd_act_row_size(w[k]->type, cols) + 63) & ~(size_t)63;
        }
        act_of[k] = f;
    }
    /* batches of several rows (decode or prompt): one interleaved copy per
     * group whose weights have an eight-wide kernel (vecdot.h), placed after */
    size_t off8[MAX_MATMUL_W], size8[MAX_MATMUL_W] = { 0 };
    const void *r8[MAX_MATMUL_W], *x8[MAX_MATMUL_W], *rp[MAX_MATMUL_W];
    for (int k = 0; k < nw; k++) { r8[k] = r8_for(c, w[k], n); rp[k] = repacked(c, w[k]); }
    for (int k = 0; k < nw; k++) {
        size_t s8 = r8[k] ? 0 : vd_act8_size(w[k]->type, cols, n);   /* a repacked weight needs none */
        if (s8 > size8[act_of[k]]) size8[act_of[k]] = s8;
    }
    for (int t = 0; t < nt; t++) {
        off8[t] = total;
        total += (size8[t] + 63) & ~(size_t)63;
    }
    /* vd_r8_prep's terms, one set per weight type read from a repacked copy,
     * and the zero-padded sixteen of a rest (K-quants: that alone), once a
     * product, not once a row chunk (vecdot.h) */
    int np = 0, ptypes[MAX_MATMUL_W], prep_of[MAX_MATMUL_W];
    size_t poffs[MAX_MATMUL_W], ppads[MAX_MATMUL_W];
    for (int k = 0; k < nw; k++) {
        prep_of[k] = -1;
        int64_t nb = vd_r8_prep_blocks(w[k]->type, cols);
        size_t ps = vd_r8_pad_size(w[k]->type, cols, n);
        if (!(nb || ps) || !(r8[k] || rp[k])) continue;
        for (int t = 0; t < np; t++) if (ptypes[t] == w[k]->type) prep_of[k] = t;
        if (prep_of[k] >= 0) continue;
        prep_of[k] = np;
        ptypes[np] = w[k]->type;
        poffs[np++] = total;
        total += ((size_t)n * (size_t)nb * (sizeof(int32_t) + sizeof(float)) + 63) & ~(size_t)63;
        ppads[np - 1] = total;
        total += (ps + 63) & ~(size_t)63;
    }
    if (grow(&c->act, &c->act_cap, total)) return -1;
    const void *xq[MAX_MATMUL_W], *pxq[MAX_MATMUL_W];
    int32_t *poff[MAX_MATMUL_W];
    float *pdx[MAX_MATMUL_W];
    for (int t = 0; t < np; t++) {
        poff[t] = (int32_t *)((char *)c->act + poffs[t]);
        pdx[t] = (float *)(poff[t] + (size_t)n * (size_t)vd_r8_prep_blocks(ptypes[t], cols));
        for (int k = 0; k < nw; k++) if (prep_of[k] == t) pxq[t] = (const char *)c->act + off[act_of[k]];
    }
    quant_job qj = { .c = c, .x = x, .n = n, .cols = cols, .nt = nt, .types = types, .off = off,
                     .np = np, .ptypes = ptypes, .pxq = pxq, .poff = poff, .pdx = pdx };
    home_init(&qj.hs, n, (long)n * cols >= QUANT_SPLIT ? piece(n, pool_size(c->pool), 1, 1) : n, pool_size(c->pool));
    if ((long)n * cols >= QUANT_SPLIT) pool_run_any(c->pool, quant_worker, &qj);
    else quant_worker(&qj, 0, 1);
    for (int t = 0; t < np; t++) vd_r8_pad(ptypes[t], pxq[t], cols, n, poff[t], pdx[t], (char *)c->act + ppads[t]);
    for (int t = 0; t < nt; t++)
        if (size8[t]) vd_act8_pack(types[t], (char *)c->act + off[t], n, cols, (char *)c->act + off8[t]);
    for (int k = 0; k < nw; k++) {
        xq[k] = qt_get(w[k]->type)->act_type == QT_F32 ? (const void *)x : (const char *)c->act + off[act_of[k]];
        x8[k] = !r8[k] && size8[act_of[k]] && vd_act8_size(w[k]->type, cols, n)
                    ? (const char *)c->act + off8[act_of[k]] : NULL;
    }
    unsigned wflags[MAX_MATMUL_W];
    for (int k = 0; k < nw; k++) wflags[k] = x8[k] ? x8_flags(c, w[k]) : 0;
    const void *wd[MAX_MATMUL_W];
    for (int k = 0; k < nw; k++) wd[k] = wdata(c, w[k]);
    const int32_t *joff[MAX_MATMUL_W];
    const float *jdx[MAX_MATMUL_W];
    const void *jpad[MAX_MATMUL_W];
    for (int k = 0; k < nw; k++) {
        bool terms = prep_of[k] >= 0 && vd_r8_prep_blocks(w[k]->type, cols);
        joff[k] = terms ? poff[prep_of[k]] : NULL;
        jdx[k] = terms ? pdx[prep_of[k]] : NULL;
        jpad[k] = prep_of[k] >= 0 && vd_r8_pad_size(w[k]->type, cols, n) ? (const char *)c->act + ppads[prep_of[k]] : NULL;
    }
    mm_job j = { c, nw, w, y, n, xq, x8, r8, rp, joff, jdx, wflags, wd, 0, 0, { 0 }, bad != NULL, 0, NULL, NULL, gate, jpad };
    for (int k = 0; k < nw; k++) j.total_rows += w[k]->rows;
    if (gate) j.total_rows = w[0]->rows;   /* a chunk is rows of both (the same work as two chunks) */
    long nth = pool_size(c->pool);
    /* a quarter of a thread's share: with home shares each thread's chunks
     * are one stream front to back (batch-1 decode too). Chunks of an
     * eighth (w22q's batch-1 ranges) cost stories15m Q4_0 batch 1 at two
     * threads 1.10x the CPU samples of a quarter (3 alternating runs:
     * twice the kernel calls a product; session 13, notes w22b). */
    j.chunk = (j.total_rows / (4 * nth) + 15) / 16 * 16;
    /* a checked product: slices of at most CHECK_BYTES of output, so the
     * check reads them from L2 */
    enum { CHECK_BYTES = 256 << 10 };
    long cchunk = (long)(CHECK_BYTES / sizeof(float)) / n / 64 * 64;
    if (bad && cchunk < j.chunk) {
        j.chunk = cchunk < 64 ? 64 : cchunk;
        /* a whole number of slices a thread, all of about one size: 22
         * sequences made 11 slices of 2944 rows, 6 for one thread and 5
         * for the other, so the two-thread region lasted 6 slices instead
         * of 5.5 (stories15m Q4_0, T2, the output product's rdtsc: 22 = 16
         * + 6 cost 88 us more than its split; session 14, notes w22b) */
        long ns = (j.total_rows + j.chunk - 1) / j.chunk;
        ns = (ns + nth - 1) / nth * nth;
        j.chunk = ((j.total_rows + ns - 1) / ns + 63) / 64 * 64;
    }
    if (j.chunk < 16) j.chunk = 16;
    long nchunk = (j.total_rows + j.chunk - 1) / j.chunk;
    if (bad && amax) {
        size_t ab = (size_t)nchunk * (size_t)n * (sizeof(int32_t) + sizeof(float));
        if (grow(&c->amax, &c->amax_cap, ab)) return -1;
        j.cidx = c->amax;
        j.cval = (float *)(j.cidx + (size_t)nchunk * (size_t)n);
    }
    home_init(&j.hs, j.total_rows, j.chunk, (int)nth);
    atomic_init(&j.bad, n);
    pool_run_any(c->pool, mm_worker, &j);   /* a late worker is not waited for */
    if (bad) {
        int first = atomic_load(&j.bad);
        *bad = first < n ? first : -1;
    }
    /* the slices in column order, a later one only when strictly larger:
     * the first column of the row's maximum, as logits_argmax over the row
     * (finite rows: no NaN to rank) */
    if (bad && amax && *bad < 0)
        for (int32_t a = 0; a < n; a++) {
            int32_t bi = j.cidx[a];
            float bv = j.cval[a];
            for (long k = 1; k < nchunk; k++) {
                size_t e = (size_t)k * (size_t)n + (size_t)a;
                if (j.cval[e] > bv) { bv = j.cval[e]; bi = j.cidx[e]; }
            }
            amax[a] = bi;
        }
    return 0;
}

static int cpu_matmul(backend *b, int nw, const model_weight *const *w, const float *x,
                      int32_t n, float *const *y) {
    return matmul(b, nw, w, x, n, y, NULL, NULL, false);
}

static int cpu_matmul_check(backend *b, const model_weight *w, const float *x, int32_t n, float *y,
                            int32_t *bad, int32_t *amax) {
    return matmul(b, 1, &w, x, n, &y, bad, amax, false);
}

/* The gate and up products and the SwiGLU of a feed-forward block in one
 * region: each chunk of rows is gated right after both its products (the
 * chunks are whole lines of 16 floats of every output row), instead of a
 * separate pass over n x ffn_dim values in another region that read half
 * of them from the other core's cache (64 sequences of stories15m: the
 * swiglu region was ~3% of a two-thread step). Same numbers: the same
 * products and vd_silu_mul on each value (its result does not depend on
 * where the value sits in a call). */
static int cpu_matmul_swiglu(backend *b, const model_weight *wg, const model_weight *wu, const float *x,
                             int32_t n, float *g, float *u) {
    if (wg->rows != wu->rows || wg->cols != wu->cols) return 1;
    const model_weight *w[2] = { wg, wu };
    float *y[2] = { g, u };
    return matmul(b, 2, w, x, n, y, NULL, NULL, true);
}

/* Element-wise jobs run in pieces of whole lines of 16 floats, so threads
 * never share a cache line. */
typedef struct swiglu_job { float *g; const float *u; size_t n; long step; atomic_long next; } swiglu_job;

static void swiglu_worker(void *arg, int ith, int nth) {
    swiglu_job *j = arg;
    (void)ith; (void)nth;
    for (long lo, hi; take(&j->next, (long)((j->n + 15) / 16), j->step, &lo, &hi);) {
        size_t a = (size_t)lo * 16, e = (size_t)hi * 16 < j->n ? (size_t)hi * 16 : j->n;
        vd_silu_mul(j->g + a, j->u + a, (int64_t)(e - a));
    }
}

/* A decode step of several sequences gates n_seq * ffn_dim values per layer
 * (45k for eight on a 1B model): split across the pool above SWIGLU_SPLIT,
 * where a region (~2 us) costs less than the half it saves. */
#define SWIGLU_SPLIT 16384
static void cpu_swiglu(backend *b, float *g, const float *u, size_t n) {
    cpu *c = C(b);
    swiglu_job j = { g, u, n, piece((long)((n + 15) / 16), pool_size(c->pool), 16, 1), 0 };
    atomic_init(&j.next, 0);
    if (n >= SWIGLU_SPLIT) pool_run_any(c->pool, swiglu_worker, &j);
    else vd_silu_mul(g, u, (int64_t)n);
}

/* x += y: an addition per element, the same bits in any width */
static void add_f32(float *x, const float *y, size_t n) {
    if (CPU_HAS_AVX512_LOOPS && vd_isa() >= VD_AVX512) { cpu_add_avx512(x, y, n); return; }
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

typedef struct add_job { float *x; const float *y; size_t n; long step; atomic_long next; } add_job;

static void add_worker(void *arg, int ith, int nth) {
    add_job *j = arg;
    (void)ith; (void)nth;
    for (long lo, hi; take(&j->next, (long)((j->n + 15) / 16), j->step, &lo, &hi);) {
        size_t a = (size_t)lo * 16, e = (size_t)hi * 16 < j->n ? (size_t)hi * 16 : j->n;
        add_f32(j->x + a, j->y + a, e - a);
    }
}

static void cpu_add(backend *b, float *x, const float *y, size_t n) {
    cpu *c = C(b);
    add_job j = { x, y, n, piece((long)((n + 15) / 16), pool_size(c->pool), 16, 1), 0 };
    atomic_init(&j.next, 0);
    if (n >= RMS_SPLIT && pool_size(c->pool) > 1) pool_run_any(c->pool, add_worker, &j);
    else add_f32(x, y, n);
}

static void cpu_get_rows(backend *b, float *y, const float *x, const int32_t *idx, int32_t n,
                         int32_t dim) {
    (void)b;
    for (int32_t i = 0; i < n; i++)
        memmove(y + (size_t)i * dim, x + (size_t)idx[i] * dim, sizeof(float) * dim);
}

static const backend_ops cpu_ops = {
    "cpu", cpu_destroy, cpu_prepare, cpu_alloc, cpu_free, cpu_copy, cpu_copy,
    cpu_embed, cpu_rmsnorm, cpu_matmul, cpu_rope, cpu_kv_store, cpu_attention,
    cpu_swiglu, cpu_add, cpu_get_rows, cpu_matmul_check, cpu_rope_attention, cpu_matmul_swiglu,
};

static backend *cpu_create(pool *p, bool own, be_kvgeom geom) {
    cpu *c = calloc(1, sizeof *c);
    if (!c) { if (own) pool_destroy(p); return NULL; }
    vd_init();
    c->pool = p;
    c->own_pool = own;
    c->base.ops = &cpu_ops;
    c->base.kv = geom;
    c->base.n_threads = pool_size(c->pool);
    c->base.host_mem = true;
    return &c->base;
}

backend *backend_cpu_create(int n_threads, be_kvgeom geom) {
    pool *p = pool_create(n_threads);
    return p ? cpu_create(p, true, geom) : NULL;
}

backend *backend_cpu_create_shared(pool *p, be_kvgeom geom) { return cpu_create(p, false, geom); }

pool *backend_cpu_pool(backend *b) { return b && b->ops == &cpu_ops ? ((cpu *)b)->pool : NULL; }
