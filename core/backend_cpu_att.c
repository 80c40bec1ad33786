/* backend_cpu_att: RoPE, the KV cells and attention for the CPU backend
 * (backend_cpu_att.h). Attention: one work item computes a (batch entry,
 * head group) whole, positions summed in position order, so the numbers do
 * not depend on the batch or the thread. */
#include "backend_cpu_att.h"
#include "backend_cpu_impl.h"
#include "vecdot.h"
#include <math.h>
#include <string.h>

#define MAX_HPI 16          /* query heads an attention item takes at most */
/* cpu_rope_attention's check that every block is a different sequence is
 * quadratic: batches of more blocks (prompts) take the separate ops */
#define FUSE_MAX_BLOCKS 256
#define ATT_PREFETCH ((size_t)128 << 10)   /* K bytes of a block fetched ahead (att_heads) */

/* The cos/sin table of a call's positions is kept for the next call: q
 * and k of every layer rotate the same positions, so it is computed once
 * per step instead of 2 x n_layers times (it was ~2% of a stories15m pp512,
 * all on one thread). Reused only when positions and frequencies are equal,
 * so the numbers are those of computing it afresh. Makes c->rope the
 * table of pos[n] x inv_freq[half] unless it holds it already. */
static int rope_table(cpu *c, int32_t n, int32_t half, const int32_t *pos, const float *inv_freq) {
    if (c->rope_n == n && c->rope_half == half && !memcmp(c->rope_pos, pos, sizeof *pos * (size_t)n) &&
        !memcmp(c->rope_freq, inv_freq, sizeof *inv_freq * (size_t)half))
        return 0;
    c->rope_n = 0;   /* nothing valid until filled */
    if (grow((void **)&c->rope, &c->rope_cap, sizeof(float) * 2 * (size_t)half * (size_t)n) ||
        grow((void **)&c->rope_pos, &c->rope_pos_cap, sizeof *pos * (size_t)n) ||
        grow((void **)&c->rope_freq, &c->rope_freq_cap, sizeof *inv_freq * (size_t)half))
        return -1;
    for (int32_t i = 0; i < n; i++)
        for (int32_t j = 0; j < half; j++) {
            double th = (double)pos[i] * (double)inv_freq[j];
            c->rope[2 * ((size_t)i * half + j)] = (float)cos(th);
            c->rope[2 * ((size_t)i * half + j) + 1] = (float)sin(th);
        }
    memcpy(c->rope_pos, pos, sizeof *pos * (size_t)n);
    memcpy(c->rope_freq, inv_freq, sizeof *inv_freq * (size_t)half);
    c->rope_n = n; c->rope_half = half;
    return 0;
}

/* Rotates the n_heads heads of one row by its table row cs. */
static void rope_row(float *x, int32_t n_heads, int32_t head_dim, const float *cs, int32_t half) {
    bool simd = CPU_HAS_AVX512_LOOPS && vd_isa() >= VD_AVX512;
    for (int32_t h = 0; h < n_heads; h++) {
        float *v = x + (size_t)h * head_dim;
        if (simd) { cpu_rope_head_avx512(v, cs, half); continue; }
        for (int32_t j = 0; j < half; j++) {
            float co = cs[2 * j], si = cs[2 * j + 1];
            float a = v[2 * j], bb = v[2 * j + 1];
            v[2 * j] = a * co - bb * si;
            v[2 * j + 1] = a * si + bb * co;
        }
    }
}

int cpu_rope(backend *b, float *x, int32_t n, int32_t n_heads, int32_t head_dim,
             int32_t rope_dim, const int32_t *pos, const float *inv_freq) {
    cpu *c = C(b);
    int32_t half = rope_dim / 2;
    if (n <= 0 || half <= 0) return 0;
    if (rope_table(c, n, half, pos, inv_freq)) return -1;
    for (int32_t i = 0; i < n; i++)
        rope_row(x + (size_t)i * n_heads * head_dim, n_heads, head_dim, c->rope + 2 * (size_t)i * half, half);
    return 0;
}

static float *kv_at(const backend *b, const void *kvbuf, int32_t il, int32_t cell, int is_v) {
    const be_kvgeom *g = &b->kv;
    size_t blk = (size_t)(cell / KV_BLOCK) * g->n_layers + (size_t)il;
    return (float *)kvbuf + (blk * 2 + (size_t)is_v) * KV_BLOCK * g->kv_dim +
           (size_t)(cell % KV_BLOCK) * g->kv_dim;
}

void cpu_kv_store(backend *b, void *kvbuf, int32_t il, int32_t n, const float *k,
                  const float *v, const int32_t *cells) {
    int32_t d = b->kv.kv_dim;
    for (int32_t i = 0; i < n; i++) {
        memcpy(kv_at(b, kvbuf, il, cells[i], 0), k + (size_t)i * d, sizeof(float) * d);
        memcpy(kv_at(b, kvbuf, il, cells[i], 1), v + (size_t)i * d, sizeof(float) * d);
    }
}

typedef struct att_job {
    cpu *c;
    const void *kvbuf;
    int32_t il, n;
    const be_attn *at;
    const float *q;
    float *out;
    const int32_t *blk;   /* block b is entries [blk[b], blk[b + 1]) */
    int32_t hpi;          /* query heads per work item: they share one KV head */
    long items;           /* blocks x head groups (cpu_rope_attention: blocks) */
    size_t stride;        /* scores per query; a thread has VD_MQ rows of them and the block's row pointers */
    atomic_long next;     /* items taken so far */
    home_split hs;        /* cpu_rope_attention: blocks, each thread its own first */
    /* cpu_rope_attention only (else cells is NULL): an item is a whole
     * block, which first rotates its entries' q (in place: qr is q) and k
     * by the table c->rope (half pairs a row) and stores their k, v */
    float *qr, *k;
    const float *v;
    const int32_t *cells;
    int32_t half;
} att_job;

/* s[0..n) = softmax(s * scale). The maximum is taken over eight lanes (a
 * maximum does not depend on the order); the exponentials are summed in
 * double in eight chains, element p into chain p % 8, folded in a fixed tree
 * (one dependent add per element was half the time of this function): one
 * order for a row of n scores wherever it is evaluated. */
static void softmax(float *s, int32_t n, float scale) {
    float m[8];
    for (int l = 0; l < 8; l++) m[l] = -INFINITY;
    for (int32_t p = 0; p < n; p++) s[p] *= scale;
    int32_t p = 0;
    for (; p + 8 <= n; p += 8)
        for (int l = 0; l < 8; l++) m[l] = s[p + l] > m[l] ? s[p + l] : m[l];
    for (; p < n; p++) m[p & 7] = s[p] > m[p & 7] ? s[p] : m[p & 7];
    float mx = -INFINITY;
    for (int l = 0; l < 8; l++) mx = m[l] > mx ? m[l] : mx;
    for (p = 0; p < n; p++) s[p] -= mx;
    vd_exp_f32(s, n);
    double a[8] = { 0 };
    for (p = 0; p + 8 <= n; p += 8)
        for (int l = 0; l < 8; l++) a[l] += s[p + l];
    for (; p < n; p++) a[p & 7] += s[p];
    double sum = ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
    float inv = (float)(1.0 / sum);
    for (p = 0; p < n; p++) s[p] *= inv;
}

/* One work item is one block of up to VD_MQ consecutive entries of one
 * sequence (they share its runs, so each one's cells are a prefix of the
 * longest one's) and hpi query heads of one GQA group. The block's cached
 * rows are listed once; each head's scores are one vd_dots_f32_mq and its
 * outputs one vd_wsum_f32_mq over them (each row read once for the whole
 * block; per query bitwise vd_dots_f32 / vd_wsum_f32, which are the
 * per-position dot and axpy); the softmax's exp runs vectorized over a row.
 * Each query's sums run over its positions in order, whatever else is in
 * the batch or its block. sc and rows are the thread's scratch; *rows_of
 * names the block `rows` lists (*np of them). */
static void att_heads(const att_job *j, float *sc, const float **rows, int32_t *rows_of, int32_t *np,
                      int32_t bk, int32_t h0) {
    const backend *b = &j->c->base;
    const be_kvgeom *g = &b->kv;
    int32_t hd = g->head_dim, group = g->n_heads / g->n_kv_heads, hpi = j->hpi;
    size_t qrow = (size_t)g->n_heads * hd;
    float scale = 1.0f / sqrtf((float)hd);
    /* a cell's V row is its K row's place in the other half of its KV block */
    int64_t voff = (int64_t)KV_BLOCK * g->kv_dim;
    int32_t e0 = j->blk[bk], nq = j->blk[bk + 1] - e0, hk = h0 / group;
    int64_t npq[VD_MQ], npmax = 0;
    for (int32_t k = 0; k < nq; k++) {
        npq[k] = j->at[e0 + k].n_pos;
        if (npq[k] > npmax) npmax = npq[k];
    }
    if (bk != *rows_of) {   /* the block's cells in position order */
        const be_attn *a = &j->at[e0];
        int32_t n = 0;
        for (int32_t r = 0; r < a->n_runs && n < npmax; r++)
            for (int32_t e = 0; e < a->runs[r].n && n < npmax; e++)
                rows[n++] = kv_at(b, j->kvbuf, j->il, a->runs[r].cell + e, 0);
        *np = n;
        *rows_of = bk;
        /* the block's whole K rows (every head's slice) fetched towards L2
         * now: its items (one head or head group each, taken one after the
         * other) then find them there instead of each waiting on its own
         * slices from L3 or DRAM, a sequence's cells being scattered over
         * the cache. Up to ATT_PREFETCH bytes (the first rows of a long
         * context; the rest the hardware streams). Stories15m Q4_0, one
         * thread, 16-56 sequences at 9 positions on average, 6 alternating
         * rounds, attention's rdtsc: 0.75-0.80x (session 14, notes w22b). */
        size_t rb = (size_t)g->kv_dim * sizeof(float);
        for (int32_t p = 0; p < n && (size_t)p * rb < ATT_PREFETCH; p++)
            for (size_t o = 0; o < rb; o += 64) __builtin_prefetch((const char *)rows[p] + o, 0, 2);
    }
    int64_t hoff = (int64_t)hk * hd;
    /* the V slices the weighted sum reads after the softmax, fetched
     * while the scores are computed: in a step of many sequences a
     * sequence's cells lie far apart (64 sequences: 73 KB) and its K/V
     * come from L3 or DRAM, and vd_wsum_f32's own prefetch (16
     * positions ahead) leaves the first 16 to wait. Stories15m Q8_0, 64
     * sequences, T1, perf samples of the attention functions: 2086/1984
     * without, 1741/1776 with; Q4_0, 8 sequences: 912/894 vs 552/749.
     * (Prefetching the first K slices too gained no more.) */
    for (int64_t p = 0; p < *np; p++) {
        const char *vr = (const char *)(rows[p] + voff + hoff);
        for (int64_t o = 0; o < hd * (int64_t)sizeof(float); o += 64) __builtin_prefetch(vr + o, 0, 2);
    }
    for (int32_t h = 0; h < hpi; h++) {
        const float *q = j->q + (size_t)e0 * qrow + (size_t)(h0 + h) * hd;
        float *o = j->out + (size_t)e0 * qrow + (size_t)(h0 + h) * hd;
        vd_dots_f32_mq(sc, j->stride, q, qrow, nq, npq, rows, hoff, hd);
        for (int32_t k = 0; k < nq; k++) softmax(sc + (size_t)k * j->stride, (int32_t)npq[k], scale);
        vd_wsum_f32_mq(o, qrow, sc, j->stride, nq, npq, rows, voff + hoff, hd);
    }
}

/* cpu_rope_attention's first part of an item: block bk's entries rotated
 * and stored, as cpu_rope and cpu_kv_store do them (the same operations on
 * each value, whoever runs them). */
static void rope_store_block(const att_job *j, int32_t bk) {
    const backend *b = &j->c->base;
    const be_kvgeom *g = &b->kv;
    int32_t hd = g->head_dim;
    size_t qrow = (size_t)g->n_heads * hd, kvd = (size_t)g->kv_dim;
    for (int32_t i = j->blk[bk]; i < j->blk[bk + 1]; i++) {
        float *k = j->k + (size_t)i * kvd;
        if (j->half > 0) {
            const float *cs = j->c->rope + 2 * (size_t)i * (size_t)j->half;
            rope_row(j->qr + (size_t)i * qrow, g->n_heads, hd, cs, j->half);
            rope_row(k, g->n_kv_heads, hd, cs, j->half);
        }
        memcpy(kv_at(b, j->kvbuf, j->il, j->cells[i], 0), k, sizeof(float) * kvd);
        memcpy(kv_at(b, j->kvbuf, j->il, j->cells[i], 1), j->v + (size_t)i * kvd, sizeof(float) * kvd);
    }
}

/* Threads take items from a shared counter, last item first: in a prompt
 * the last entries attend to the most positions, so the costly items go
 * first and the cheap ones even out the end (a split into equal halves
 * gave the second thread three quarters of the work). */
static void att_worker(void *arg, int ith, int nth) {
    att_job *j = arg;
    (void)nth;
    const be_kvgeom *g = &j->c->base.kv;
    int32_t items_per_blk = g->n_heads / j->hpi;
    float *sc = j->c->att + (size_t)ith * j->stride * (size_t)(VD_MQ + 2);
    const float **rows = (const float **)(sc + (size_t)VD_MQ * j->stride);   /* K rows of the block's cells */
    int32_t rows_of = -1, np = 0;   /* the block `rows` lists, and its length */
    if (j->cells) {   /* whole blocks, each thread its own sequences first: its stores come before its reads */
        for (long bk, e; home_take(&j->hs, ith, &bk, &e);) {
            rope_store_block(j, (int32_t)bk);
            for (int32_t h0 = 0; h0 < g->n_heads; h0 += j->hpi) att_heads(j, sc, rows, &rows_of, &np, (int32_t)bk, h0);
        }
        return;
    }
    for (;;) {
        long t = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (t >= j->items) break;
        t = j->items - 1 - t;
        att_heads(j, sc, rows, &rows_of, &np, (int32_t)(t / items_per_blk), (int32_t)(t % items_per_blk) * j->hpi);
    }
}

/* Attention this small (query-key products plus weighted sums, in
 * multiply-adds: positions x heads x head_dim over the batch) runs on the
 * caller alone. A decode step of one sequence on stories15m costs ~0.9 us
 * of attention a layer at one position (mostly per-head fixed costs) and
 * ~2 us at 16; a pool_run_any region of six ~150 ns items took 1.18 us
 * when the worker joined against 0.91 us on the caller alone (the handoff
 * and the shared counter's line), break-even near 2 us
 * (measured on the 2-vCPU development VM). Same numbers either way: every item is
 * att_worker's, whoever runs it. 4096 is 14 positions of stories15m,
 * 2 of a 32-head model of head_dim 64. */
#define ATT_SERIAL 4096

/* The blocks of a batch (c->blk: runs of up to VD_MQ consecutive entries
 * with the same runs; returns their number, -1 without memory), the work
 * (positions x heads x head_dim), the longest row and the scratch for nth
 * threads. */
static int32_t att_plan(cpu *c, int32_t n, const be_attn *at, int nth, long *work, size_t *stride) {
    const backend *b = &c->base;
    int32_t maxp = 1;
    long w = 0;
    for (int32_t i = 0; i < n; i++) {
        if (at[i].n_pos > maxp) maxp = at[i].n_pos;
        w += at[i].n_pos;
    }
    *work = w * (long)b->kv.n_heads * b->kv.head_dim;
    if (grow((void **)&c->blk, &c->blk_cap, sizeof(int32_t) * ((size_t)n + 1))) return -1;
    int32_t nb = 0;
    for (int32_t i = 0; i < n; i++)
        if (i == 0 || i - c->blk[nb - 1] == VD_MQ || at[i].runs != at[i - 1].runs ||
            at[i].n_runs != at[i - 1].n_runs)
            c->blk[nb++] = i;
    c->blk[nb] = n;
    /* per thread: VD_MQ rows of scores, then the row pointers (two floats' room each) */
    *stride = ((size_t)maxp + 15) & ~(size_t)15;
    if (grow((void **)&c->att, &c->att_cap, *stride * (size_t)(VD_MQ + 2) * sizeof(float) * (size_t)nth)) return -1;
    return nb;
}

/* As many heads per item as the group allows while there are still `min`
 * items (a decode step of one entry has only n_heads of them). */
static int32_t att_hpi(const backend *b, int32_t nb, long min) {
    int32_t group = b->kv.n_heads / b->kv.n_kv_heads, hpi = group;
    while (hpi > 1 && (hpi > MAX_HPI || group % hpi || (long)nb * (b->kv.n_heads / hpi) < min)) hpi--;
    return hpi;
}

int cpu_attention(backend *b, const void *kvbuf, int32_t il, int32_t n, const be_attn *at,
                  const float *q, float *out) {
    cpu *c = C(b);
    int nth = pool_size(c->pool);
    long work;
    size_t stride;
    int32_t nb = att_plan(c, n, at, nth, &work, &stride);
    if (nb < 0) return -1;
    bool alone = work < ATT_SERIAL || nth == 1;
    /* every thread gets two items */
    int32_t hpi = att_hpi(b, nb, 2L * (alone ? 1 : nth));
    att_job j = { c, kvbuf, il, n, at, q, out, c->blk, hpi, (long)nb * (b->kv.n_heads / hpi), stride, 0, { 0 },
                  NULL, NULL, NULL, NULL, 0 };
    atomic_init(&j.next, 0);
    if (alone) att_worker(&j, 0, 1);
    else pool_run_any(c->pool, att_worker, &j);
    return 0;
}

/* RoPE of q and k, the K/V stores and attention in one region, a block
 * (one sequence's entries) an item, when each sequence of the batch is one
 * block (a decode step of several sequences): an entry then reads only
 * cells stored by its own block or before the call (the cells a batch
 * appends belong to the sequence of the entry that writes them;
 * ctx.c reserve), so no item waits for another. Why: separately, RoPE and
 * the stores ran on the caller alone while the other threads waited (64
 * sequences, stories15m: the stores alone were ~5% of a two-thread step,
 * RFO misses on 128 scattered cells a layer), and the attention items then
 * read q and the fresh K/V rows from the caller's cache, so two threads
 * were no faster than one. Now each thread rotates, stores and reads back
 * its own sequences. The numbers are those of cpu_rope, cpu_kv_store and
 * cpu_attention: the same operations on each value. Returns 1 (nothing
 * done) when it does not apply: one thread, attention small enough for the
 * caller alone, fewer than two blocks a thread, or a sequence in several
 * blocks (a prompt). */
int cpu_rope_attention(backend *b, void *kvbuf, int32_t il, int32_t n, float *q, float *k, const float *v,
                       int32_t rope_dim, const int32_t *pos, const float *inv_freq, const int32_t *cells,
                       const be_attn *at, float *out) {
    cpu *c = C(b);
    int nth = pool_size(c->pool);
    if (nth == 1 || n < 2 * nth) return 1;
    long work;
    size_t stride;
    int32_t nb = att_plan(c, n, at, nth, &work, &stride);
    if (nb < 0) return -1;
    if (work < ATT_SERIAL || nb < 2 * nth || nb > FUSE_MAX_BLOCKS) return 1;
    for (int32_t x = 0; x < nb; x++)   /* every block a different sequence */
        for (int32_t y = x + 1; y < nb; y++)
            if (at[c->blk[x]].runs == at[c->blk[y]].runs) return 1;
    int32_t half = rope_dim / 2;
    if (half > 0 && rope_table(c, n, half, pos, inv_freq)) return -1;
    /* whole blocks: all heads in an item; hpi only groups the heads that share a KV head */
    int32_t hpi = att_hpi(b, 1, 1);
    att_job j = { c, kvbuf, il, n, at, q, out, c->blk, hpi, nb, stride, 0, { 0 }, q, k, v, cells, half };
    atomic_init(&j.next, 0);
    home_init(&j.hs, nb, 1, nth);
    pool_run_any(c->pool, att_worker, &j);
    return 0;
}
