/* vecdot_avx512: AVX-512 (F, BW, VL, DQ) tile kernels for the float weight
 * types and the float helpers; built with -mavx512f -mavx512bw -mavx512vl
 * -mavx512dq -mfma -mf16c.
 *
 * The quantized types keep their AVX2 tiles (their slots stay NULL and
 * vecdot.c falls back to the AVX2 back-end); with AVX512-VNNI the
 * eight-wide kernels below take vpdpbusd (the repacked ones are in
 * vecdot_r8_avx512.c). Tails use
 * masked loads (lanes past n read as zero and touch no memory), so every
 * length is handled without a scalar loop. Same tile contract as the AVX2
 * file (vecdot.h): y[j * ldy + r] = dot(W[r], X[j]), one read of each row.
 */
#include "vecdot.h"
#include "qtypes.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__FMA__) && \
    defined(__F16C__)
#include <immintrin.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))
/* Constant-trip loops (r < NR, j < NX, u < U) must be fully unrolled so the
 * accumulator arrays become registers. */
#define UNROLL _Pragma("GCC unroll 16")

/* Instantiates body for every tile shape VD_TILE_OK allows and for the
 * edges of the wide shapes (up to 4 x 3) of the float types. */
#define TILE_WRAP(name, body)                                                          \
    static void name(const void *w, size_t ws, int nr, const void *x, size_t xs, int nx, \
                     int64_t n, float *y, int64_t ldy) {                               \
        const char *wc = w, *xc = x;                                                   \
        switch (nr * 8 + nx) {                                                         \
        case 9: body(wc, ws, xc, xs, n, y, ldy, 1, 1, NULL, 0); break;                          \
        case 10: body(wc, ws, xc, xs, n, y, ldy, 1, 2, NULL, 0); break;                         \
        case 11: body(wc, ws, xc, xs, n, y, ldy, 1, 3, NULL, 0); break;                         \
        case 12: body(wc, ws, xc, xs, n, y, ldy, 1, 4, NULL, 0); break;                         \
        case 17: body(wc, ws, xc, xs, n, y, ldy, 2, 1, NULL, 0); break;                         \
        case 18: body(wc, ws, xc, xs, n, y, ldy, 2, 2, NULL, 0); break;                         \
        case 19: body(wc, ws, xc, xs, n, y, ldy, 2, 3, NULL, 0); break;                         \
        case 25: body(wc, ws, xc, xs, n, y, ldy, 3, 1, NULL, 0); break;                         \
        case 26: body(wc, ws, xc, xs, n, y, ldy, 3, 2, NULL, 0); break;                         \
        case 27: body(wc, ws, xc, xs, n, y, ldy, 3, 3, NULL, 0); break;                         \
        case 33: body(wc, ws, xc, xs, n, y, ldy, 4, 1, NULL, 0); break;                         \
        case 34: body(wc, ws, xc, xs, n, y, ldy, 4, 2, NULL, 0); break;                         \
        case 35: body(wc, ws, xc, xs, n, y, ldy, 4, 3, NULL, 0); break;                         \
        case 20: body(wc, ws, xc, xs, n, y, ldy, 2, 4, NULL, 0); break;                         \
        case 28: body(wc, ws, xc, xs, n, y, ldy, 3, 4, NULL, 0); break;                         \
        default: /* not a tile shape: one dot at a time */                             \
            for (int r_ = 0; r_ < nr; r_++)                                            \
                for (int j_ = 0; j_ < nx; j_++)                                        \
                    body(wc + r_ * ws, ws, xc + j_ * xs, xs, n, y + j_ * ldy + r_, ldy, 1, 1, NULL, 0); \
        }                                                                              \
    }

/* 16 elements at i as fp32 under mask m. */
INLINE __m512 ld_f32(const void *p, int64_t i, __mmask16 m) {
    return _mm512_maskz_loadu_ps(m, (const float *)p + i);
}
INLINE __m512 ld_f16(const void *p, int64_t i, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)p + i));
}
INLINE __m512 ld_bf16(const void *p, int64_t i, __mmask16 m) {   /* bf16: top half of fp32 */
    __m512i v = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, (const uint16_t *)p + i));
    return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

/* The horizontal sum of the order below: lanes l + (l + 8), then + 4, + 2,
 * + 1 (what GCC's _mm512_reduce_add_ps does, written out so that
 * hsum16x16 can keep it exactly). */
INLINE float hsum16(__m512 v) {
    __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    __m128 c = _mm_add_ps(b, _mm_movehl_ps(b, b));
    return _mm_cvtss_f32(_mm_add_ss(c, _mm_movehdup_ps(c)));
}

/* hsum16 of sixteen vectors at once, result j in lane j: the same pairs are
 * added (float addition commutes, so a + b is b + a bitwise), only moved
 * together: halves, then quarters, then pairs, then neighbours. */
INLINE __m512 hsum16x16(const __m512 f[16]) {
    __m512 w[8], x[4], y[2];
    UNROLL for (int i = 0; i < 8; i++)   /* lane l < 8: f[2i][l] + f[2i][l+8]; l >= 8: f[2i+1] */
        w[i] = _mm512_add_ps(_mm512_shuffle_f32x4(f[2 * i], f[2 * i + 1], 0x44),
                             _mm512_shuffle_f32x4(f[2 * i], f[2 * i + 1], 0xEE));
    UNROLL for (int i = 0; i < 4; i++)   /* block k: vector 4i+k, lanes l + (l+4) */
        x[i] = _mm512_add_ps(_mm512_shuffle_f32x4(w[2 * i], w[2 * i + 1], 0x88),
                             _mm512_shuffle_f32x4(w[2 * i], w[2 * i + 1], 0xDD));
    UNROLL for (int i = 0; i < 2; i++)   /* block k: (8i+k) x2, (8i+4+k) x2, lanes l + (l+2) */
        y[i] = _mm512_add_ps(_mm512_shuffle_ps(x[2 * i], x[2 * i + 1], 0x44),
                             _mm512_shuffle_ps(x[2 * i], x[2 * i + 1], 0xEE));
    /* lane 4k+m: vector 4m+k, lane 0 + lane 1 */
    __m512 z = _mm512_add_ps(_mm512_shuffle_ps(y[0], y[1], 0x88), _mm512_shuffle_ps(y[0], y[1], 0xDD));
    const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    return _mm512_permutexvar_ps(idx, z);
}

/* ORDER: U = 2 vectors per entry whatever the tile shape (element k to lane
 * k % 32 while 32 remain, then lane k % 16 by the masked loop), folded as
 * l + (l + 16), then hsum16 (the pairs of _mm512_reduce_add_ps): one order
 * for an output on every path of this ISA (it differs from the AVX2 order; a
 * machine uses one ISA). Tiles of 2-4 entries keep 4-8 FMA chains in
 * flight. tests/test_invariance_kernels.c checks every tile shape, FLOAT_TILE44 and
 * the attention kernels against the 1 x 1 tile with memcmp on a CPU that has
 * AVX-512. */
#define FLOAT_TILE(NAME, LD)                                                           \
    INLINE void NAME(const char *w, size_t ws, const char *x, size_t xs, int64_t n,    \
                     float *y, int64_t ldy, const int NR, const int NX, const char *pf,  \
                     int64_t pfl) {                                                    \
        const int U = 2;                                                               \
        const __mmask16 all = 0xffff;                                                  \
        __m512 acc[VD_WIDE_NR * 3 * 2];   /* NR x NX <= 4 x 3, U = 2 */                \
        UNROLL for (int k = 0; k < NR * NX * U; k++) acc[k] = _mm512_setzero_ps();      \
        /* as FLOAT_TILE44: pfl lines from pf to L1, from pf + 8 ws to L2 */          \
        const int64_t steps = n / (16 * U), per = steps ? (pfl + steps - 1) / steps : 0; \
        int64_t i = 0, pfo = 0;                                                        \
        for (; i + 16 * U <= n; i += 16 * U) {                                         \
            for (int64_t q = 0; q < per && pfo < pfl; q++, pfo++) {                    \
                _mm_prefetch(pf + 64 * pfo, _MM_HINT_T0);                              \
                _mm_prefetch(pf + 8 * ws + 64 * pfo, _MM_HINT_T1);                     \
            }                                                                          \
            UNROLL for (int u = 0; u < U; u++) {                                       \
                __m512 wv[VD_WIDE_NR];                                                 \
                UNROLL for (int r = 0; r < NR; r++) wv[r] = LD(w + r * ws, i + 16 * u, all); \
                UNROLL for (int j = 0; j < NX; j++) {                                  \
                    __m512 xv = LD(x + j * xs, i + 16 * u, all);                       \
                    UNROLL for (int r = 0; r < NR; r++)                                \
                        acc[(r * NX + j) * U + u] =                                    \
                            _mm512_fmadd_ps(wv[r], xv, acc[(r * NX + j) * U + u]);     \
                }                                                                      \
            }                                                                          \
        }                                                                              \
        for (; i < n; i += 16) {                                                       \
            __mmask16 m = n - i >= 16 ? all : (__mmask16)((1u << (n - i)) - 1);        \
            UNROLL for (int j = 0; j < NX; j++) {                                      \
                __m512 xv = LD(x + j * xs, i, m);                                      \
                UNROLL for (int r = 0; r < NR; r++)                                    \
                    acc[(r * NX + j) * U] = _mm512_fmadd_ps(LD(w + r * ws, i, m), xv,  \
                                                            acc[(r * NX + j) * U]);    \
            }                                                                          \
        }                                                                              \
        UNROLL for (int r = 0; r < NR; r++)                                            \
            UNROLL for (int j = 0; j < NX; j++) {                                      \
                __m512 s = acc[(r * NX + j) * U];                                      \
                UNROLL for (int u = 1; u < U; u++) s = _mm512_add_ps(s, acc[(r * NX + j) * U + u]); \
                y[j * ldy + r] = hsum16(s);                                            \
            }                                                                          \
    }

/* The 4 x 4 tile of the wide shapes, register-blocked: sixteen outputs,
 * each with the two chains of the order above, run one chain after the
 * other (chain 0: the 32-element steps' first halves, then the masked loop;
 * chain 1: the second halves), so only sixteen accumulators are live: each
 * 16-element step is 8 loads for 16 FMAs (the 4 x 3 tile with both chains
 * live: 7 for 12). Each accumulator sees the FMAs of its chain in the same
 * order as in the interleaved loop, then chain 0 + chain 1 and hsum16x16
 * (the pairs of hsum16, sixteen outputs at once, instead of sixteen
 * separate horizontal sums: a third of the instructions of a 288-long dot
 * went to them). So every output is bitwise the 1 x 1 tile's. */
#define FLOAT_TILE44(NAME, LD)                                                         \
    INLINE void NAME(const char *w, size_t ws, const char *x, size_t xs, int64_t n,    \
                     float *y, int64_t ldy, const char *pf, int64_t pfl) {             \
        const __mmask16 all = 0xffff;                                                  \
        const int64_t nmain = n / 32 * 32;                                             \
        /* pfl lines from pf (to L1) and from pf + 8 ws (to L2), spread over  \
         * the 32-element steps */                                                     \
        const int64_t steps = nmain / 16, per = steps ? (pfl + steps - 1) / steps : 0; \
        int64_t pfo = 0;                                                               \
        __m512 acc[16], f[16];                                                         \
        for (int ch = 0; ch < 2; ch++) {                                               \
            UNROLL for (int k = 0; k < 16; k++) acc[k] = _mm512_setzero_ps();          \
            for (int64_t i = 16 * ch; i < nmain; i += 32) {                            \
                __m512 wv[4];                                                          \
                for (int64_t q = 0; q < per && pfo < pfl; q++, pfo++) {                \
                    _mm_prefetch(pf + 64 * pfo, _MM_HINT_T0);                          \
                    _mm_prefetch(pf + 8 * ws + 64 * pfo, _MM_HINT_T1);                 \
                }                                                                      \
                UNROLL for (int r = 0; r < 4; r++) wv[r] = LD(w + r * ws, i, all);     \
                UNROLL for (int j = 0; j < 4; j++) {                                   \
                    __m512 xv = LD(x + j * xs, i, all);                                \
                    UNROLL for (int r = 0; r < 4; r++)                                 \
                        acc[j * 4 + r] = _mm512_fmadd_ps(wv[r], xv, acc[j * 4 + r]);   \
                }                                                                      \
            }                                                                          \
            for (int64_t i = nmain; ch == 0 && i < n; i += 16) {                       \
                __mmask16 m = n - i >= 16 ? all : (__mmask16)((1u << (n - i)) - 1);    \
                __m512 wv[4];                                                          \
                UNROLL for (int r = 0; r < 4; r++) wv[r] = LD(w + r * ws, i, m);       \
                UNROLL for (int j = 0; j < 4; j++) {                                   \
                    __m512 xv = LD(x + j * xs, i, m);                                  \
                    UNROLL for (int r = 0; r < 4; r++)                                 \
                        acc[j * 4 + r] = _mm512_fmadd_ps(wv[r], xv, acc[j * 4 + r]);   \
                }                                                                      \
            }                                                                          \
            if (ch == 0) { UNROLL for (int k = 0; k < 16; k++) f[k] = acc[k]; }        \
            else { UNROLL for (int k = 0; k < 16; k++) f[k] = _mm512_add_ps(f[k], acc[k]); } \
        }                                                                              \
        __m512 v = hsum16x16(f);   /* lane 4j + r: row r, activation j */              \
        _mm_storeu_ps(y, _mm512_castps512_ps128(v));                                   \
        _mm_storeu_ps(y + ldy, _mm512_extractf32x4_ps(v, 1));                          \
        _mm_storeu_ps(y + 2 * ldy, _mm512_extractf32x4_ps(v, 2));                      \
        _mm_storeu_ps(y + 3 * ldy, _mm512_extractf32x4_ps(v, 3));                      \
    }

FLOAT_TILE(f32_tile, ld_f32)
FLOAT_TILE(f16_tile, ld_f16)
FLOAT_TILE(bf16_tile, ld_bf16)
FLOAT_TILE44(f32_tile44, ld_f32)
FLOAT_TILE44(f16_tile44, ld_f16)
FLOAT_TILE44(bf16_tile44, ld_bf16)
TILE_WRAP(tile_f32, f32_tile)
TILE_WRAP(tile_f16, f16_tile)
TILE_WRAP(tile_bf16, bf16_tile)

/* One activation against nr consecutive rows, each row the 1 x 1 tile.
 * F16 and BF16 also fetch the next row into L1 and the ninth into L2
 * (FLOAT_TILE's pf, spread over the row's steps); before session 12 they
 * took 4 x 1 tiles without prefetch. Intel session 12, one core,
 * tinyllama-shape matrices (4 layers + output, 483 MB each type), CPU
 * time, interleaved in one process, medians of 7, two runs: F16 38.5 /
 * 39.2 -> 32.5 / 33.3 ms, BF16 39.0 / 40.1 -> 33.7 / 34.1 (0.84-0.86x;
 * per byte 0.90-0.95 -> 1.05-1.12 of F32's rows1); the same prefetch gave
 * F32 (8 KiB rows) nothing (72.0 vs 73.0). Prefetches change no bit and
 * the 1 x 1 tile is every tile's order. */
static void rows1_f32(const void *w, size_t ws, int64_t nr, const void *x, int64_t n, float *y) {
    for (int64_t r = 0; r < nr; r++) f32_tile((const char *)w + r * ws, ws, x, 0, n, y + r, 0, 1, 1, NULL, 0);
}
#define ROWS1_PF(name, tile)                                                            \
    static void name(const void *w, size_t ws, int64_t nr, const void *x, int64_t n, float *y) { \
        for (int64_t r = 0; r < nr; r++) {                                             \
            const char *wr = (const char *)w + r * ws;                                 \
            int last = r + 1 == nr;                                                    \
            tile(wr, ws, x, 0, n, y + r, 0, 1, 1, last ? NULL : wr + ws, last ? 0 : (int64_t)(ws / 64)); \
        }                                                                              \
    }
ROWS1_PF(rows1_f16, f16_tile)
ROWS1_PF(rows1_bf16, bf16_tile)

/* The wide tiles: up to 4 rows x any number of activations (vd_matmul
 * passes all of a group of rows at once), each four activations of four
 * rows by the 4 x 4 register-blocked tile, the edges by the tiles above.
 * The 4 x 4 calls also prefetch the next four rows into L1 and the four
 * after the next two groups into L2 (vd_matmul walks rows in order), spread
 * over all their steps: a decode step of a few sequences streams F32
 * weights from DRAM, and the hardware prefetcher followed four rows read a
 * half-line apart poorly (one core, F32 on 2 MiB pages, CPU ms, best of 10,
 * interleaved rounds: 32000 x 288, 8 activations 4.46-4.63 without,
 * 1.63-1.64 with; 16 activations 6.05-6.09 vs 3.08-3.10; 12000 x 768, 8
 * activations 3.85-3.96 vs 2.08); a prompt's many calls share the one
 * prefetch of the next rows (768 x 288 in cache, 64 activations: 0.270-0.273
 * vs 0.270-0.277). Prefetching changes no number. */
#define WIDE_WRAP(name, tile, body, tile44)                                            \
    static void name(const void *w, size_t ws, int nr, const void *x, size_t xs, int nx, \
                     int64_t n, float *y, int64_t ldy) {                               \
        if (nr < 4) {   /* the rows' edge: no next rows; shapes nr x 1..4 (VD_TILE_OK) */ \
            for (int j = 0; j < nx; j += 4)                                            \
                tile(w, ws, nr, (const char *)x + j * xs, xs, nx - j < 4 ? nx - j : 4, n, y + j * ldy, ldy); \
            return;                                                                    \
        }                                                                              \
        const char *wc = w, *xc = x, *pf = wc + 4 * ws;                                \
        int64_t lines = (int64_t)(4 * ws + 63) / 64, calls = (nx + 3) / 4, done = 0;   \
        for (int j = 0; j < nx; j += 4, calls--) {                                     \
            int64_t take = (lines - done + calls - 1) / calls;                          \
            const char *xj = xc + j * xs, *p = pf + 64 * done;                         \
            float *yj = y + j * ldy;                                                   \
            switch (nx - j) {                                                          \
            case 1: body(wc, ws, xj, xs, n, yj, ldy, 4, 1, p, take); break;            \
            case 2: body(wc, ws, xj, xs, n, yj, ldy, 4, 2, p, take); break;            \
            case 3: body(wc, ws, xj, xs, n, yj, ldy, 4, 3, p, take); break;            \
            default: tile44(wc, ws, xj, xs, n, yj, ldy, p, take);                      \
            }                                                                          \
            done += take;                                                              \
        }                                                                              \
    }
WIDE_WRAP(wide_f32, tile_f32, f32_tile, f32_tile44)
WIDE_WRAP(wide_f16, tile_f16, f16_tile, f16_tile44)
WIDE_WRAP(wide_bf16, tile_bf16, bf16_tile, bf16_tile44)

/* The wide tiles (.wide below) serve prompt batches: 4 rows x 4
 * activations by FLOAT_TILE44, edges of up to 4 x 3 by the tiles above (24
 * accumulators + 4 weight vectors + 1 activation in the 32 registers: 7
 * loads for 12 FMAs, where a 2x2 tile does 4 for 4, and is load-bound).
 * Each output keeps its own two chains of the order above, so a wide tile
 * is bitwise a 1x1 tile (tests/test_invariance_kernels.c). */

static float dot_f32(const float *a, const float *b, int64_t n) {
    float out;
    f32_tile((const char *)a, 0, (const char *)b, 0, n, &out, 0, 1, 1, NULL, 0);
    return out;
}

static void axpy_f32(float *y, float a, const float *x, int64_t n) {
    __m512 va = _mm512_set1_ps(a);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

/* vd_dots_f32: each dot in f32_tile's order (two chains over 32-element
 * steps, the masked tail into the first, chains added), sixteen rows at a
 * time so that the horizontal sums are done together (hsum16x16). */
static void dots_f32(float *s, const float *q, const float *const *rows, int64_t off, int64_t np, int64_t hd) {
    const __mmask16 all = 0xffff;
    for (int64_t p0 = 0; p0 < np; p0 += 16) {
        int nk = np - p0 < 16 ? (int)(np - p0) : 16;
        __m512 f[16];
        for (int k = 0; k < 16; k++) {
            if (k >= nk) { f[k] = _mm512_setzero_ps(); continue; }
            const float *r = rows[p0 + k] + off;
            if (p0 + k + 16 < np) {
                const char *nx = (const char *)(rows[p0 + k + 16] + off);
                for (int64_t b = 0; b < hd * 4; b += 64) _mm_prefetch(nx + b, _MM_HINT_T0);
            }
            __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
            int64_t i = 0;
            for (; i + 32 <= hd; i += 32) {
                a0 = _mm512_fmadd_ps(_mm512_loadu_ps(r + i), _mm512_loadu_ps(q + i), a0);
                a1 = _mm512_fmadd_ps(_mm512_loadu_ps(r + i + 16), _mm512_loadu_ps(q + i + 16), a1);
            }
            for (; i < hd; i += 16) {
                __mmask16 m = hd - i >= 16 ? all : (__mmask16)((1u << (hd - i)) - 1);
                a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, r + i), _mm512_maskz_loadu_ps(m, q + i), a0);
            }
            f[k] = _mm512_add_ps(a0, a1);
        }
        _mm512_mask_storeu_ps(s + p0, (__mmask16)((1u << nk) - 1), hsum16x16(f));
    }
}

/* vd_wsum_f32: o in registers, 64 elements at a time, each element one FMA
 * chain over p in order (axpy_f32's fmadd(a, x, y)). */
static void wsum_f32(float *o, const float *a, const float *const *rows, int64_t off, int64_t np, int64_t hd) {
    for (int64_t i = 0; i < hd; i += 64) {
        __mmask16 m[4];
        __m512 acc[4];
        UNROLL for (int c = 0; c < 4; c++) {
            int64_t e = i + 16 * c, left = hd - e;
            m[c] = left >= 16 ? 0xffff : left > 0 ? (__mmask16)((1u << left) - 1) : 0;
            acc[c] = _mm512_setzero_ps();
        }
        int64_t span = (hd - i < 64 ? hd - i : 64) * 4;
        for (int64_t p = 0; p < np; p++) {
            const float *r = rows[p] + off + i;
            /* a head's slices of consecutive cells are short pieces kv_dim
             * apart, which the hardware prefetcher follows poorly */
            if (p + 16 < np)
                for (int64_t b = 0; b < span; b += 64) _mm_prefetch((const char *)(rows[p + 16] + off + i) + b, _MM_HINT_T0);
            __m512 va = _mm512_set1_ps(a[p]);
            UNROLL for (int c = 0; c < 4; c++)
                acc[c] = _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m[c], r + 16 * c), acc[c]);
        }
        UNROLL for (int c = 0; c < 4; c++) _mm512_mask_storeu_ps(o + i + 16 * c, m[c], acc[c]);
    }
}

/* vd_dots_f32_mq: NQ queries against each row, the row's chunks loaded once.
 * Per (query, row) the chains of dots_f32: chunk c (16 elements at 16c) of
 * the 32-element steps goes to chain c & 1, the chunks after them (the
 * masked loop) to chain 0, then chain 0 + chain 1 and hsum16x16. The queries'
 * first four chunks (hd <= 64) stay in registers, later ones (llama3-8b's hd
 * 128) are loaded from L1 per row: each row is still read once for all. */
INLINE void dots_mq_body(float *s, size_t ss, const float *q, size_t qs, const int64_t *np,
                         const float *const *rows, int64_t off, int64_t hd, const int NQ) {
    const int nc = (int)((hd + 15) / 16), nmain = (int)(hd / 32) * 2;
    __mmask16 mk[4];
    __m512 qv[VD_MQ][4];
    int64_t npmax = 0;
    UNROLL for (int c = 0; c < 4; c++) {
        int64_t left = hd - 16 * c;
        mk[c] = left >= 16 ? 0xffff : left > 0 ? (__mmask16)((1u << left) - 1) : 0;
    }
    UNROLL for (int k = 0; k < NQ; k++) {
        UNROLL for (int c = 0; c < 4; c++) qv[k][c] = _mm512_maskz_loadu_ps(mk[c], q + k * qs + 16 * c);
        if (np[k] > npmax) npmax = np[k];
    }
    for (int64_t p0 = 0; p0 < npmax; p0 += 16) {
        int nk = npmax - p0 < 16 ? (int)(npmax - p0) : 16;
        __m512 f[VD_MQ][16];
        for (int i = 0; i < 16; i++) {
            if (i >= nk) {
                UNROLL for (int k = 0; k < NQ; k++) f[k][i] = _mm512_setzero_ps();
                continue;
            }
            const float *r = rows[p0 + i] + off;
            if (p0 + i + 16 < npmax) {
                const char *nx = (const char *)(rows[p0 + i + 16] + off);
                for (int64_t b = 0; b < hd * 4; b += 64) _mm_prefetch(nx + b, _MM_HINT_T0);
            }
            __m512 a0[VD_MQ], a1[VD_MQ];
            UNROLL for (int k = 0; k < NQ; k++) a0[k] = a1[k] = _mm512_setzero_ps();
            UNROLL for (int c = 0; c < 4; c++) {
                if (c >= nc) break;
                __m512 kv = _mm512_maskz_loadu_ps(mk[c], r + 16 * c);
                if (c < nmain && (c & 1)) {
                    UNROLL for (int k = 0; k < NQ; k++) a1[k] = _mm512_fmadd_ps(kv, qv[k][c], a1[k]);
                } else {
                    UNROLL for (int k = 0; k < NQ; k++) a0[k] = _mm512_fmadd_ps(kv, qv[k][c], a0[k]);
                }
            }
            for (int c = 4; c < nc; c++) {   /* hd > 64: the queries' later chunks from L1 */
                int64_t left = hd - 16 * c;
                __mmask16 m = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
                __m512 kv = _mm512_maskz_loadu_ps(m, r + 16 * c);
                if (c < nmain && (c & 1)) {
                    UNROLL for (int k = 0; k < NQ; k++)
                        a1[k] = _mm512_fmadd_ps(kv, _mm512_maskz_loadu_ps(m, q + k * qs + 16 * c), a1[k]);
                } else {
                    UNROLL for (int k = 0; k < NQ; k++)
                        a0[k] = _mm512_fmadd_ps(kv, _mm512_maskz_loadu_ps(m, q + k * qs + 16 * c), a0[k]);
                }
            }
            UNROLL for (int k = 0; k < NQ; k++) f[k][i] = _mm512_add_ps(a0[k], a1[k]);
        }
        UNROLL for (int k = 0; k < NQ; k++) {
            int64_t left = np[k] - p0;
            if (left <= 0) continue;
            __mmask16 m = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
            _mm512_mask_storeu_ps(s + k * ss + p0, m, hsum16x16(f[k]));
        }
    }
}

static void dots_f32_mq(float *s, size_t ss, const float *q, size_t qs, int nq, const int64_t *np,
                        const float *const *rows, int64_t off, int64_t hd) {
    switch (nq) {
    case 2: dots_mq_body(s, ss, q, qs, np, rows, off, hd, 2); return;
    case 3: dots_mq_body(s, ss, q, qs, np, rows, off, hd, 3); return;
    case 4: dots_mq_body(s, ss, q, qs, np, rows, off, hd, 4); return;
    default:   /* one query */
        for (int k = 0; k < nq; k++) dots_f32(s + k * ss, q + k * qs, rows, off, np[k], hd);
    }
}

/* vd_wsum_f32_mq: wsum_f32 for NQ queries, each row slice loaded once; per
 * query and element the FMA chain over p in order, the positions past the
 * shortest query's continuing each longer query's own chain. */
INLINE void wsum_mq_body(float *o, size_t os, const float *a, size_t as, const int64_t *np,
                         const float *const *rows, int64_t off, int64_t hd, const int NQ) {
    int64_t npmin = np[0];
    UNROLL for (int k = 1; k < NQ; k++) npmin = np[k] < npmin ? np[k] : npmin;
    for (int64_t i = 0; i < hd; i += 64) {
        __mmask16 m[4];
        __m512 acc[VD_MQ][4];
        UNROLL for (int c = 0; c < 4; c++) {
            int64_t e = i + 16 * c, left = hd - e;
            m[c] = left >= 16 ? 0xffff : left > 0 ? (__mmask16)((1u << left) - 1) : 0;
            UNROLL for (int k = 0; k < NQ; k++) acc[k][c] = _mm512_setzero_ps();
        }
        int64_t span = (hd - i < 64 ? hd - i : 64) * 4;
        for (int64_t p = 0; p < npmin; p++) {
            const float *r = rows[p] + off + i;
            if (p + 16 < npmin)
                for (int64_t b = 0; b < span; b += 64) _mm_prefetch((const char *)(rows[p + 16] + off + i) + b, _MM_HINT_T0);
            __m512 v[4];
            UNROLL for (int c = 0; c < 4; c++) v[c] = _mm512_maskz_loadu_ps(m[c], r + 16 * c);
            UNROLL for (int k = 0; k < NQ; k++) {
                __m512 va = _mm512_set1_ps(a[k * as + p]);
                UNROLL for (int c = 0; c < 4; c++) acc[k][c] = _mm512_fmadd_ps(va, v[c], acc[k][c]);
            }
        }
        UNROLL for (int k = 0; k < NQ; k++) {
            for (int64_t p = npmin; p < np[k]; p++) {
                const float *r = rows[p] + off + i;
                __m512 va = _mm512_set1_ps(a[k * as + p]);
                UNROLL for (int c = 0; c < 4; c++)
                    acc[k][c] = _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m[c], r + 16 * c), acc[k][c]);
            }
            UNROLL for (int c = 0; c < 4; c++) _mm512_mask_storeu_ps(o + k * os + i + 16 * c, m[c], acc[k][c]);
        }
    }
}

static void wsum_f32_mq(float *o, size_t os, const float *a, size_t as, int nq, const int64_t *np,
                        const float *const *rows, int64_t off, int64_t hd) {
    switch (nq) {
    case 2: wsum_mq_body(o, os, a, as, np, rows, off, hd, 2); return;
    case 3: wsum_mq_body(o, os, a, as, np, rows, off, hd, 3); return;
    case 4: wsum_mq_body(o, os, a, as, np, rows, off, hd, 4); return;
    default:
        for (int k = 0; k < nq; k++) wsum_f32(o + k * os, a + k * as, rows, off, np[k], hd);
    }
}

/* vd_finite_f32: the largest |x| bits by four unsigned maxima (order-free);
 * the tail by a masked load (zeros are finite). */
static bool finite_f32(const float *x, int64_t n) {
    const __m512i abs = _mm512_set1_epi32(0x7fffffff);
    __m512i m0 = _mm512_setzero_si512(), m1 = m0, m2 = m0, m3 = m0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        m0 = _mm512_max_epu32(m0, _mm512_and_si512(_mm512_loadu_si512(x + i), abs));
        m1 = _mm512_max_epu32(m1, _mm512_and_si512(_mm512_loadu_si512(x + i + 16), abs));
        m2 = _mm512_max_epu32(m2, _mm512_and_si512(_mm512_loadu_si512(x + i + 32), abs));
        m3 = _mm512_max_epu32(m3, _mm512_and_si512(_mm512_loadu_si512(x + i + 48), abs));
    }
    for (; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        m0 = _mm512_max_epu32(m0, _mm512_and_si512(_mm512_maskz_loadu_epi32(k, x + i), abs));
    }
    m0 = _mm512_max_epu32(_mm512_max_epu32(m0, m1), _mm512_max_epu32(m2, m3));
    return _mm512_reduce_max_epu32(m0) < 0x7f800000u;
}

/* Q8_0 activation rounding, bitwise the AVX2 quant_q8_0 (vecdot_avx2.c)
 * and the portable one: the same amax (a maximum of magnitudes: its order
 * changes no bit for NaN-free input; a NaN activation makes the logits
 * NaN and the step fails), id = 127 / amax, codes cvtps (round half even)
 * of x * id saturated to int8 (vpmovsdb, as packs), d = amax / 127 by
 * vcvtps2ph in round-to-nearest-even: qt_f32_to_f16's rounding, checked
 * equal on all 2^32 floats. Why: a step of 64 sequences rounds ~23k blocks
 * (stories15m), and the AVX2 loop with the software half conversion was
 * ~5% of it. */
static void quant_q8_0(const float *x, void *xq, int64_t nb) {
    qt_block_q8_0 *b = xq;
    const __m512i abs = _mm512_set1_epi32(0x7fffffff);
    for (int64_t i = 0; i < nb; i++, x += 32) {
        __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        __m512 m = _mm512_max_ps(_mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v0), abs)),
                                 _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v1), abs)));
        __m256 h8 = _mm256_max_ps(_mm512_castps512_ps256(m), _mm512_extractf32x8_ps(m, 1));
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(h8), _mm256_extractf128_ps(h8, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_movehdup_ps(h));
        float amax = _mm_cvtss_f32(h);
        float id = amax != 0 ? 127.0f / amax : 0.0f;
        b[i].d = (uint16_t)_cvtss_sh(amax / 127.0f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m512 vid = _mm512_set1_ps(id);
        _mm_storeu_si128((__m128i *)b[i].qs, _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v0, vid))));
        _mm_storeu_si128((__m128i *)(b[i].qs + 16), _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v1, vid))));
    }
}

static const vd_backend avx512 = {
    .tile = { [QT_F32] = tile_f32, [QT_F16] = tile_f16, [QT_BF16] = tile_bf16 },
    .wide = { [QT_F32] = wide_f32, [QT_F16] = wide_f16, [QT_BF16] = wide_bf16 },
    .rows1 = { [QT_F32] = rows1_f32, [QT_F16] = rows1_f16, [QT_BF16] = rows1_bf16 },
    .dot_f32 = dot_f32,
    .axpy_f32 = axpy_f32,
    .dots_f32 = dots_f32,
    .wsum_f32 = wsum_f32,
    .dots_f32_mq = dots_f32_mq,
    .wsum_f32_mq = wsum_f32_mq,
    .finite_f32 = finite_f32,
    .quant_q8_0 = quant_q8_0,
};

const vd_backend *vd_backend_avx512(void) { return &avx512; }

#if defined(__AVX512VNNI__)
/* ---- eight activations with AVX512-VNNI ------------------------------------
 * The eight-wide kernels of vecdot8_avx2.c with vpdpbusd (unsigned x signed
 * bytes, four products added into each int32 lane) in place of maddubs +
 * madd + add: one instruction per four elements of eight activations, and no
 * int16 intermediate. ORDER: the block's integer sum is the same exact
 * integer, and the float steps are those of vecdot8_avx2.c (acc =
 * fma(sum, dw * dx, acc) per block in order), so the results are bitwise
 * theirs (tests/test_invariance_kernels.c compares them with the portable kernel).
 * Chosen at run time (vd_init checks the CPUID bit). */

INLINE void store_lanes(__m256 acc, float *y, int64_t ldy, int nx) {
    float t[8];
    _mm256_storeu_ps(t, acc);
    for (int j = 0; j < nx; j++) y[j * ldy] = t[j];
}

/* Both kernels use 512-bit vectors: the low half meets elements 4g..4g+3 of
 * the eight activations, the high half 4(g+1)..4(g+1)+3 (q[g] and q[g+1]
 * are adjacent in the pack, so one load covers both), and one permute
 * spreads the two weight dwords; the halves are added at the end of the
 * block. That halves the instructions per block against 256-bit vectors
 * (eight sequences a step are compute-bound). The block's sum is still the
 * same exact integer, so the ORDER above holds. */
INLINE __m256i add_halves(__m512i v) {
    return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}

/* dwords d, d+1 of p (16 or 32 bytes) spread over the low and high half */
INLINE __m512i spread2(__m512i p, int d) {
    return _mm512_permutexvar_epi32(_mm512_setr_epi32(d, d, d, d, d, d, d, d, d + 1, d + 1, d + 1, d + 1,
                                                      d + 1, d + 1, d + 1, d + 1), p);
}

/* Q4_0: unsigned codes u against the signed activations, the offset 8 *
 * sum(x) taken back per block (off), as in vecdot8_avx2.c. */
INLINE void q4_0_rows_vnni(const void *w, size_t ws, int64_t r, const vd_act8_block *xb0, int64_t nb,
                           int nx, float *y, int64_t ldy, const int NR) {
    const __m512i m4 = _mm512_set1_epi8(15);
    const qt_block_q4_0 *wb[4];
    UNROLL for (int k = 0; k < NR; k++) wb[k] = (const qt_block_q4_0 *)((const char *)w + (size_t)(r + k) * ws);
    const char *next = (const char *)w + (size_t)(r + NR) * ws;
    __m256 acc[4];
    UNROLL for (int k = 0; k < NR; k++) acc[k] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        if ((b & 1) == 0)
            UNROLL for (int k = 0; k < NR; k++) _mm_prefetch(next + k * ws + b * sizeof(qt_block_q4_0), _MM_HINT_T0);
        const vd_act8_block *xb = xb0 + b;
        __m512i s[4], qs[4];
        UNROLL for (int k = 0; k < NR; k++) {
            s[k] = _mm512_setzero_si512();
            qs[k] = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)wb[k][b].qs));
        }
        UNROLL for (int g = 0; g < 4; g += 2) {
            __m512i xl = _mm512_loadu_si512(xb->q[g]), xh = _mm512_loadu_si512(xb->q[g + 4]);
            UNROLL for (int k = 0; k < NR; k++) {
                __m512i v = spread2(qs[k], g);
                s[k] = _mm512_dpbusd_epi32(s[k], _mm512_and_si512(v, m4), xl);
                s[k] = _mm512_dpbusd_epi32(s[k], _mm512_and_si512(_mm512_srli_epi16(v, 4), m4), xh);
            }
        }
        __m256i off = _mm256_loadu_si256((const __m256i *)xb->off);
        __m256 dx = _mm256_loadu_ps(xb->d);
        UNROLL for (int k = 0; k < NR; k++)
            acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(add_halves(s[k]), off)),
                                     _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(wb[k][b].d)), dx), acc[k]);
    }
    UNROLL for (int k = 0; k < NR; k++) store_lanes(acc[k], y + r + k, ldy, nx);
}

/* Q8_0: FAST (no -128 code in the matrix, vd_q8_0_no_min): |x| from the
 * pack against w negated where x < 0; otherwise |w| against x negated where
 * w < 0 (AVX-512 has no sign_epi8: a masked subtract; where the sign source
 * is 0 the other operand is 0 too, so the products are those of sign). */
INLINE void q8_0_rows_vnni(const void *w, size_t ws, int64_t r, const vd_act8_block *xb0, int64_t nb,
                           int nx, float *y, int64_t ldy, const int NR, const int FAST) {
    const __m512i zero = _mm512_setzero_si512();
    const qt_block_q8_0 *wb[4];
    UNROLL for (int k = 0; k < NR; k++) wb[k] = (const qt_block_q8_0 *)((const char *)w + (size_t)(r + k) * ws);
    const char *next = (const char *)w + (size_t)(r + NR) * ws;
    __m256 acc[4];
    UNROLL for (int k = 0; k < NR; k++) acc[k] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        UNROLL for (int k = 0; k < NR; k++) _mm_prefetch(next + k * ws + b * sizeof(qt_block_q8_0), _MM_HINT_T0);
        const vd_act8_block *xb = xb0 + b;
        __m512i p[4], qs[4];
        UNROLL for (int k = 0; k < NR; k++) {
            p[k] = _mm512_setzero_si512();
            qs[k] = _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)wb[k][b].qs));
        }
        UNROLL for (int g = 0; g < 8; g += 2) {
            __m512i xq = _mm512_loadu_si512(xb->q[g]);
            __m512i xa = FAST ? _mm512_loadu_si512(xb->a[g]) : xq;
            __mmask64 xneg = _mm512_movepi8_mask(xq);
            UNROLL for (int k = 0; k < NR; k++) {
                __m512i v = spread2(qs[k], g);
                if (FAST) {
                    p[k] = _mm512_dpbusd_epi32(p[k], xa, _mm512_mask_sub_epi8(v, xneg, zero, v));
                } else {
                    __mmask64 wneg = _mm512_movepi8_mask(v);
                    p[k] = _mm512_dpbusd_epi32(p[k], _mm512_abs_epi8(v), _mm512_mask_sub_epi8(xq, wneg, zero, xq));
                }
            }
        }
        __m256 dx = _mm256_loadu_ps(xb->d);
        UNROLL for (int k = 0; k < NR; k++)
            acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(add_halves(p[k])),
                                     _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(wb[k][b].d)), dx), acc[k]);
    }
    UNROLL for (int k = 0; k < NR; k++) store_lanes(acc[k], y + r + k, ldy, nx);
}

static void x8_q4_0_vnni(const void *w, size_t ws, int64_t nr, const void *x8, int64_t cols, int nx,
                         float *y, int64_t ldy) {
    int64_t r = 0;
    for (; r + 4 <= nr; r += 4) q4_0_rows_vnni(w, ws, r, x8, cols / 32, nx, y, ldy, 4);
    for (; r < nr; r++) q4_0_rows_vnni(w, ws, r, x8, cols / 32, nx, y, ldy, 1);
}

static void x8_q8_0_vnni(const void *w, size_t ws, int64_t nr, const void *x8, int64_t cols, int nx,
                         float *y, int64_t ldy) {
    int64_t r = 0;
    for (; r + 4 <= nr; r += 4) q8_0_rows_vnni(w, ws, r, x8, cols / 32, nx, y, ldy, 4, 0);
    for (; r < nr; r++) q8_0_rows_vnni(w, ws, r, x8, cols / 32, nx, y, ldy, 1, 0);
}

static void x8_q8_0_vnni_fast(const void *w, size_t ws, int64_t nr, const void *x8, int64_t cols, int nx,
                              float *y, int64_t ldy) {
    int64_t r = 0;
    for (; r + 4 <= nr; r += 4) q8_0_rows_vnni(w, ws, r, x8, cols / 32, nx, y, ldy, 4, 1);
    for (; r < nr; r++) q8_0_rows_vnni(w, ws, r, x8, cols / 32, nx, y, ldy, 1, 1);
}

vd_x8_fn vd_x8_vnni(int wtype, unsigned wflags) {
    if (wtype == QT_Q8_0) return wflags & VD_W_NO_MIN ? x8_q8_0_vnni_fast : x8_q8_0_vnni;
    return wtype == QT_Q4_0 ? x8_q4_0_vnni : 0;
}

#else
vd_x8_fn vd_x8_vnni(int wtype, unsigned wflags) { (void)wtype; (void)wflags; return 0; }
#endif

#else
const vd_backend *vd_backend_avx512(void) { return 0; }
vd_x8_fn vd_x8_vnni(int wtype, unsigned wflags) { (void)wtype; (void)wflags; return 0; }
#endif
