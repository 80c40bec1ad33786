/* attn: the packed attention plan, the split kernel and the reduction (see
 * attn.cuh for the algorithm and its sources).
 *
 * Plan layout (int32, one upload per call, reused while unchanged):
 *   entries (n) {run_off, n_runs, n_pos, 0}, then runs {cell, n, start, 0}
 * where start is the position of the run's first cell; n_pos is clamped to
 * the positions the runs cover. Invariants of the split kernel: blockDim.x
 * == ATT_THREADS, head_dim <= 256, group <= 8, and every position < n_pos
 * lies in some run.
 */
#include "attn.cuh"
#include "cuerr.cuh"
#include <cmath>
#include <cstdlib>
#include <cstring>

#define ATT_THREADS 128   /* threads of a split block */
#define ATT_TILE 128      /* positions per online-softmax step (one per thread) */
#define RED_THREADS 128
#define FULL_MASK 0xffffffffu

typedef struct plan_entry { int32_t run_off, n_runs, n_pos, pad; } plan_entry;
typedef struct plan_run { int32_t cell, n, start, pad; } plan_run;

/* A distinct run table of the batch (host). */
typedef struct seen_table { const kv_run *runs; int32_t n_runs, off, len; } seen_table;

typedef struct split_args {
    const float *kv;
    int32_t n_layers, kv_dim, il, head_dim, n_heads, group;
    const plan_entry *ent;
    const plan_run *runs;
    const float *q;         /* (n, n_heads, head_dim) */
    int32_t nsplit, span;   /* splits per entry, positions per split (a multiple of ATT_TILE) */
    float scale;
    float *o_part;          /* (n, n_heads, nsplit, head_dim) */
    float2 *ml;             /* (n, n_heads, nsplit): running max, sum of exponentials */
} split_args;

static __device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

static __device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

/* The cell of position p: the last run starting at or before p (binary search). */
static __device__ int32_t find_cell(const plan_run *r, int32_t n_runs, int32_t p) {
    int32_t lo = 0, hi = n_runs - 1;
    while (lo < hi) {
        int32_t mid = (lo + hi + 1) >> 1;
        if (r[mid].start <= p) lo = mid; else hi = mid - 1;
    }
    return r[lo].cell + (p - r[lo].start);
}

/* K (is_v 0) or V (1) row of cell c in layer il: the be_kvgeom layout. */
static __device__ __forceinline__ const float *kv_row(const split_args &a, int32_t c, int is_v) {
    size_t blk = (size_t)(c / KV_BLOCK) * a.n_layers + a.il;
    return a.kv + (blk * 2 + is_v) * KV_BLOCK * a.kv_dim + (size_t)(c % KV_BLOCK) * a.kv_dim;
}

/* Step 1 of a tile: thread t takes position t0 + t: its cell, and its score
 * q_g . k * scale for every query head g of the group. */
static __device__ void tile_scores(const split_args &a, const plan_entry &e, int hk, int t0, int nt,
                                   const float *qs, float *sc, int32_t *cell) {
    const int tid = threadIdx.x, G = a.group, hd = a.head_dim;
    if (tid >= nt) return;
    int32_t c = find_cell(a.runs + e.run_off, e.n_runs, t0 + tid);
    cell[tid] = c;
    const float *k = kv_row(a, c, 0) + (size_t)hk * hd;
    float dot[ATTN_MAX_GROUP];
#pragma unroll
    for (int g = 0; g < ATTN_MAX_GROUP; g++) dot[g] = 0.0f;
    if ((hd & 3) == 0) {
        for (int d = 0; d < hd; d += 4) {
            float4 kk = *(const float4 *)(k + d);
#pragma unroll
            for (int g = 0; g < ATTN_MAX_GROUP; g++) {
                if (g >= G) break;
                const float *qg = qs + g * hd + d;   /* the same address in every lane: a broadcast */
                dot[g] += qg[0] * kk.x + qg[1] * kk.y + qg[2] * kk.z + qg[3] * kk.w;
            }
        }
    } else {
        for (int d = 0; d < hd; d++) {
            float kd = k[d];
#pragma unroll
            for (int g = 0; g < ATTN_MAX_GROUP; g++) {
                if (g >= G) break;
                dot[g] += qs[g * hd + d] * kd;
            }
        }
    }
#pragma unroll
    for (int g = 0; g < ATTN_MAX_GROUP; g++)
        if (g < G) sc[g * ATT_TILE + tid] = dot[g] * a.scale;
}

/* Step 2: per head (one warp each), the new running max m, the correction
 * exp(m_old - m) of what was accumulated, the tile's probabilities
 * exp(s - m) in place of its scores, and the running sum l. */
static __device__ void tile_softmax(int G, int nt, float *sc, float *m, float *l, float *corr) {
    const int lane = threadIdx.x & 31, nwarps = blockDim.x >> 5;
    for (int g = threadIdx.x >> 5; g < G; g += nwarps) {
        float *s = sc + g * ATT_TILE, mt = -INFINITY, sum = 0.0f;
        for (int t = lane; t < nt; t += 32) mt = fmaxf(mt, s[t]);
        float m_old = m[g], m_new = fmaxf(m_old, warp_max(mt));
        for (int t = lane; t < nt; t += 32) {
            float p = expf(s[t] - m_new);
            s[t] = p;
            sum += p;
        }
        sum = warp_sum(sum);
        if (lane == 0) {
            float c = expf(m_old - m_new);   /* 0 on the first tile (m_old = -inf) */
            corr[g] = c;
            l[g] = l[g] * c + sum;
            m[g] = m_new;
        }
    }
}

/* End of a split block: folds the slices' accumulators into slice 0 (through
 * red) and writes the partial (output, max, sum) of every head of the group. */
static __device__ __forceinline__ void write_partial(const split_args &a, float acc[ATTN_MAX_GROUP][2], float *red,
                                                     const float *m, const float *l, size_t part0, int ns, int sl,
                                                     int d0, bool active, bool second) {
    const int G = a.group, hd = a.head_dim, tid = threadIdx.x;
    if (ns > 1) {
        if (active)
#pragma unroll
            for (int g = 0; g < ATTN_MAX_GROUP; g++)
                if (g < G) red[(sl * G + g) * hd + d0] = acc[g][0];
        __syncthreads();
        if (active && sl == 0)
#pragma unroll
            for (int g = 0; g < ATTN_MAX_GROUP; g++) {
                if (g >= G) break;
                float sum = 0.0f;
                for (int k = 0; k < ns; k++) sum += red[(k * G + g) * hd + d0];
                acc[g][0] = sum;
            }
    }
    if (active && sl == 0)
#pragma unroll
        for (int g = 0; g < ATTN_MAX_GROUP; g++) {
            if (g >= G) break;
            float *o = a.o_part + (part0 + (size_t)g * a.nsplit) * hd;
            o[d0] = acc[g][0];
            if (second) o[d0 + ATT_THREADS] = acc[g][1];
        }
    if (tid < G) a.ml[part0 + (size_t)tid * a.nsplit] = make_float2(m[tid], l[tid]);
}

/* Block (split s, KV head hk, entry i): see attn.cuh. Thread roles in the V
 * product: for head_dim <= 128 the block is ns = 128 / head_dim slices of
 * head_dim threads, slice sl summing positions sl, sl + ns, ... of each tile
 * for dimension d0; for head_dim > 128 thread t owns dimensions t and t + 128. */
__global__ void __launch_bounds__(ATT_THREADS) attn_split_k(split_args a) {
    const int s = blockIdx.x, hk = blockIdx.y, i = blockIdx.z, tid = threadIdx.x;
    const int G = a.group, hd = a.head_dim;
    const plan_entry e = a.ent[i];
    const int32_t p0 = s * a.span, p1 = min(p0 + a.span, e.n_pos);
    const size_t part0 = ((size_t)i * a.n_heads + (size_t)hk * G) * a.nsplit + s;  /* + g * nsplit */
    if (p0 >= p1) {   /* nothing of this entry in this split: an empty partial */
        for (int t = tid; t < G * hd; t += blockDim.x)
            a.o_part[(part0 + (size_t)(t / hd) * a.nsplit) * hd + t % hd] = 0.0f;
        if (tid < G) a.ml[part0 + (size_t)tid * a.nsplit] = make_float2(-INFINITY, 0.0f);
        return;
    }
    extern __shared__ float smem[];
    float *qs = smem;                            /* (G, hd) */
    float *sc = qs + G * hd;                     /* (G, ATT_TILE) scores, then probabilities */
    float *m = sc + G * ATT_TILE, *l = m + G, *corr = l + G;   /* (G) each */
    int32_t *cell = (int32_t *)(corr + G);       /* (ATT_TILE) */
    float *red = (float *)(cell + ATT_TILE);     /* (ns, G, hd) when ns > 1 */

    const bool wide = hd > ATT_THREADS;
    const int ns = wide ? 1 : ATT_THREADS / hd, sl = wide ? 0 : tid / hd, d0 = wide ? tid : tid % hd;
    const bool active = sl < ns, second = wide && d0 + ATT_THREADS < hd;

    const float *qrow = a.q + ((size_t)i * a.n_heads + (size_t)hk * G) * hd;   /* heads of the group are adjacent */
    for (int t = tid; t < G * hd; t += blockDim.x) qs[t] = qrow[t];
    if (tid < G) { m[tid] = -INFINITY; l[tid] = 0.0f; }
    float acc[ATTN_MAX_GROUP][2];
#pragma unroll
    for (int g = 0; g < ATTN_MAX_GROUP; g++) acc[g][0] = acc[g][1] = 0.0f;
    __syncthreads();

    for (int32_t t0 = p0; t0 < p1; t0 += ATT_TILE) {
        const int nt = min(ATT_TILE, p1 - t0);
        tile_scores(a, e, hk, t0, nt, qs, sc, cell);
        __syncthreads();
        tile_softmax(G, nt, sc, m, l, corr);
        __syncthreads();
        if (active) {   /* step 3: acc = acc * corr + sum_t p_t v_t */
#pragma unroll
            for (int g = 0; g < ATTN_MAX_GROUP; g++)
                if (g < G) { acc[g][0] *= corr[g]; acc[g][1] *= corr[g]; }
            for (int t = sl; t < nt; t += ns) {
                const float *v = kv_row(a, cell[t], 1) + (size_t)hk * hd;
                float v0 = v[d0], v1 = second ? v[d0 + ATT_THREADS] : 0.0f;
#pragma unroll
                for (int g = 0; g < ATTN_MAX_GROUP; g++) {
                    if (g >= G) break;
                    float p = sc[g * ATT_TILE + t];
                    acc[g][0] += p * v0;
                    acc[g][1] += p * v1;
                }
            }
        }
        __syncthreads();   /* the next tile overwrites sc and cell */
    }

    write_partial(a, acc, red, m, l, part0, ns, sl, d0, active, second);
}

/* Block (head h, entry i): out = sum_c o_c exp(m_c - M) / sum_c l_c exp(m_c - M)
 * over the entry's splits c, M the largest m_c. */
__global__ void __launch_bounds__(RED_THREADS)
attn_reduce_k(const plan_entry *__restrict__ ent, int32_t n_heads, int32_t hd, int32_t nsplit, int32_t span,
              const float *__restrict__ o_part, const float2 *__restrict__ ml, float *__restrict__ out) {
    extern __shared__ float wgt[];   /* (nsplit) */
    const int h = blockIdx.x, i = blockIdx.y, tid = threadIdx.x;
    const int ns = (ent[i].n_pos + span - 1) / span;
    const size_t base = ((size_t)i * n_heads + h) * nsplit;
    float M = -INFINITY;
    for (int c = 0; c < ns; c++) M = fmaxf(M, ml[base + c].x);
    for (int c = tid; c < ns; c += blockDim.x) wgt[c] = expf(ml[base + c].x - M);
    __syncthreads();
    float L = 0.0f;
    for (int c = 0; c < ns; c++) L += ml[base + c].y * wgt[c];
    float inv = L > 0.0f ? 1.0f / L : 0.0f;   /* no positions: zeros, as the CPU */
    for (int d = tid; d < hd; d += blockDim.x) {
        float o = 0.0f;
        for (int c = 0; c < ns; c++) o += o_part[(base + c) * hd + d] * wgt[c];
        out[((size_t)i * n_heads + h) * hd + d] = o * inv;
    }
}

/* ---- host side ---- */

void attn_init(attn *a, int n_sm) {
    memset(a, 0, sizeof *a);
    a->n_sm = n_sm > 0 ? n_sm : 1;
}

void attn_fini(attn *a) {
    mem_slot_free(&a->plan);
    mem_buf_free(&a->part);
    free(a->host);
    free(a->seen);
    memset(a, 0, sizeof *a);
}

bool attn_supported(const be_kvgeom *g, char *err, size_t errlen) {
    const char *why = NULL;
    if (g->n_kv_heads <= 0 || g->n_heads % g->n_kv_heads) why = "heads not a multiple of the KV heads";
    else if (g->n_heads / g->n_kv_heads > ATTN_MAX_GROUP) why = "more than 8 query heads per KV head";
    else if (g->head_dim <= 0 || g->head_dim > ATTN_MAX_HEAD_DIM) why = "head_dim above 256";
    if (why && err && errlen)
        snprintf(err, errlen, "cuda: attention with %d heads, %d KV heads, head_dim %d is not supported (%s)",
                 g->n_heads, g->n_kv_heads, g->head_dim, why);
    return why == NULL;
}

static int grow_host(void **p, size_t *cap, size_t need, char *err, size_t errlen) {
    if (need <= *cap) return 0;
    size_t n = need > 2 * *cap ? need : 2 * *cap;
    void *q = realloc(*p, n);
    if (!q) {
        if (err && errlen) snprintf(err, errlen, "cuda: out of host memory for the attention plan");
        return -1;
    }
    *p = q; *cap = n;
    return 0;
}

/* Packs the plan into a->host (layout: top of this file); *bytes its size,
 * *maxpos the longest n_pos. Entries with the same run table share it. */
static int pack_plan(attn *a, int32_t n, const be_attn *at, size_t *bytes, int32_t *maxpos,
                     char *err, size_t errlen) {
    if (grow_host(&a->seen, &a->seen_cap, (size_t)n * (sizeof(seen_table) + sizeof(int32_t)), err, errlen))
        return -1;
    seen_table *seen = (seen_table *)a->seen;
    int32_t *table = (int32_t *)(seen + n);   /* (n) entry -> index in seen */
    int32_t n_seen = 0, n_runs = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t k = 0;
        while (k < n_seen && !(seen[k].runs == at[i].runs && seen[k].n_runs == at[i].n_runs)) k++;
        if (k == n_seen) {
            seen[n_seen++] = seen_table{ at[i].runs, at[i].n_runs > 0 ? at[i].n_runs : 0, n_runs, 0 };
            n_runs += seen[k].n_runs;
        }
        table[i] = k;
    }
    *bytes = (size_t)n * sizeof(plan_entry) + (size_t)n_runs * sizeof(plan_run);
    if (grow_host(&a->host, &a->host_cap, *bytes, err, errlen)) return -1;
    plan_entry *ent = (plan_entry *)a->host;
    plan_run *runs = (plan_run *)(ent + n);
    for (int32_t k = 0; k < n_seen; k++) {
        int32_t start = 0;
        for (int32_t r = 0; r < seen[k].n_runs; r++) {
            runs[seen[k].off + r] = plan_run{ seen[k].runs[r].cell, seen[k].runs[r].n, start, 0 };
            start += seen[k].runs[r].n;
        }
        seen[k].len = start;
    }
    *maxpos = 0;
    for (int32_t i = 0; i < n; i++) {
        const seen_table *t = &seen[table[i]];
        int32_t np = at[i].n_pos < t->len ? at[i].n_pos : t->len;
        if (np < 0) np = 0;
        ent[i] = plan_entry{ t->off, t->n_runs, np, 0 };
        if (np > *maxpos) *maxpos = np;
    }
    return 0;
}

int attn_run(attn *a, cudaStream_t st, const float *kv, const be_kvgeom *g, int32_t il, int32_t n,
             const be_attn *at, const float *q, float *out, char *err, size_t errlen) {
    if (n <= 0) return 0;
    if (n > 65535) {
        if (err && errlen) snprintf(err, errlen, "cuda: attention over %d entries at once (at most 65535)", n);
        return -1;
    }
    size_t bytes;
    int32_t maxpos;
    if (pack_plan(a, n, at, &bytes, &maxpos, err, errlen)) return -1;
    const void *plan;
    if (mem_upload(&a->plan, a->host, bytes, st, &plan, err, errlen)) return -1;
    const int G = g->n_heads / g->n_kv_heads, hd = g->head_dim;

    /* splits: enough blocks for ~4 per multiprocessor, whole tiles each */
    int64_t pairs = (int64_t)n * g->n_kv_heads, want = (4 * (int64_t)a->n_sm + pairs - 1) / pairs;
    int32_t tiles = (maxpos + ATT_TILE - 1) / ATT_TILE;
    int32_t nsplit = (int32_t)(want < tiles ? want : tiles);
    if (nsplit < 1) nsplit = 1;
    int32_t span = ((maxpos + nsplit - 1) / nsplit + ATT_TILE - 1) / ATT_TILE * ATT_TILE;
    if (span < ATT_TILE) span = ATT_TILE;
    nsplit = (maxpos + span - 1) / span;
    if (nsplit < 1) nsplit = 1;

    size_t parts = (size_t)n * g->n_heads * nsplit, obytes = (parts * hd * sizeof(float) + 255) & ~(size_t)255;
    if (mem_grow(&a->part, obytes + parts * sizeof(float2), st, err, errlen)) return -1;

    split_args s;
    s.kv = kv; s.n_layers = g->n_layers; s.kv_dim = g->kv_dim; s.il = il;
    s.head_dim = hd; s.n_heads = g->n_heads; s.group = G;
    s.ent = (const plan_entry *)plan;
    s.runs = (const plan_run *)((const plan_entry *)plan + n);
    s.q = q; s.nsplit = nsplit; s.span = span;
    s.scale = 1.0f / sqrtf((float)hd);
    s.o_part = (float *)a->part.p;
    s.ml = (float2 *)((char *)a->part.p + obytes);
    int ns = hd > ATT_THREADS ? 1 : ATT_THREADS / hd;
    size_t smem = ((size_t)G * hd + (size_t)G * ATT_TILE + 3 * (size_t)G + ATT_TILE +
                   (ns > 1 ? (size_t)ns * G * hd : 0)) * sizeof(float);
    attn_split_k<<<dim3(nsplit, g->n_kv_heads, n), ATT_THREADS, smem, st>>>(s);
    CUERR_TRY(cudaGetLastError());
    attn_reduce_k<<<dim3(g->n_heads, n), RED_THREADS, (size_t)nsplit * sizeof(float), st>>>(
        s.ent, g->n_heads, hd, nsplit, span, s.o_part, s.ml, out);
    CUERR_TRY(cudaGetLastError());
    return 0;
}
