/* vecdot_avx512: AVX-512 (F, BW, VL, DQ) tile kernels for the float weight
 * types and the float helpers; built with -mavx512f -mavx512bw -mavx512vl
 * -mavx512dq -mfma -mf16c.
 *
 * Deliberately small: the quantized types keep their AVX2 kernels (their
 * slots stay NULL and vecdot.c falls back to the AVX2 back-end), which avoids
 * a second set of integer kernels that no machine here can run. Tails use
 * masked loads (lanes past n read as zero and touch no memory), so every
 * length is handled without a scalar loop. Same tile contract as the AVX2
 * file (vecdot.h): y[j * ldy + r] = dot(W[r], X[j]), one read of each row.
 */
#include "vecdot.h"
#include "qtypes.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__FMA__) && \
    defined(__F16C__)
#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))
/* Constant-trip loops (r < NR, j < NX, u < U) must be fully unrolled so the
 * accumulator arrays become registers. */
#define UNROLL _Pragma("GCC unroll 16")

/* Instantiates body for every tile shape VD_TILE_OK allows. */
#define TILE_WRAP(name, body)                                                          \
    static void name(const void *w, size_t ws, int nr, const void *x, size_t xs, int nx, \
                     int64_t n, float *y, int64_t ldy) {                               \
        const char *wc = w, *xc = x;                                                   \
        switch (nr * 8 + nx) {                                                         \
        case 9: body(wc, ws, xc, xs, n, y, ldy, 1, 1); break;                          \
        case 10: body(wc, ws, xc, xs, n, y, ldy, 1, 2); break;                         \
        case 11: body(wc, ws, xc, xs, n, y, ldy, 1, 3); break;                         \
        case 12: body(wc, ws, xc, xs, n, y, ldy, 1, 4); break;                         \
        case 17: body(wc, ws, xc, xs, n, y, ldy, 2, 1); break;                         \
        case 18: body(wc, ws, xc, xs, n, y, ldy, 2, 2); break;                         \
        case 25: body(wc, ws, xc, xs, n, y, ldy, 3, 1); break;                         \
        case 33: body(wc, ws, xc, xs, n, y, ldy, 4, 1); break;                         \
        default: /* not a tile shape: one dot at a time */                             \
            for (int r_ = 0; r_ < nr; r_++)                                            \
                for (int j_ = 0; j_ < nx; j_++)                                        \
                    body(wc + r_ * ws, ws, xc + j_ * xs, xs, n, y + j_ * ldy + r_, ldy, 1, 1); \
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

/* ORDER: U = 2 vectors per entry whatever the tile shape (element k to lane
 * k % 32 while 32 remain, then lane k % 16 by the masked loop), folded as
 * l + (l + 16), then _mm512_reduce_add_ps: one order for an output on every
 * path of this ISA (it differs from the AVX2 order; a machine uses one ISA).
 * Tiles of 2-4 entries keep 4-8 FMA chains in flight. Not run on the
 * development machine (no AVX-512 there): tests/test_invariance.c checks it
 * wherever it runs on a CPU that has it. */
#define FLOAT_TILE(NAME, LD)                                                           \
    INLINE void NAME(const char *w, size_t ws, const char *x, size_t xs, int64_t n,    \
                     float *y, int64_t ldy, const int NR, const int NX) {              \
        const int U = 2;                                                               \
        const __mmask16 all = 0xffff;                                                  \
        __m512 acc[8];                                                                 \
        UNROLL for (int k = 0; k < 8; k++) acc[k] = _mm512_setzero_ps();               \
        int64_t i = 0;                                                                 \
        for (; i + 16 * U <= n; i += 16 * U) {                                         \
            UNROLL for (int u = 0; u < U; u++) {                                       \
                __m512 wv[4];                                                          \
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
                y[j * ldy + r] = _mm512_reduce_add_ps(s);                              \
            }                                                                          \
    }

FLOAT_TILE(f32_tile, ld_f32)
FLOAT_TILE(f16_tile, ld_f16)
FLOAT_TILE(bf16_tile, ld_bf16)
TILE_WRAP(tile_f32, f32_tile)
TILE_WRAP(tile_f16, f16_tile)
TILE_WRAP(tile_bf16, bf16_tile)

static float dot_f32(const float *a, const float *b, int64_t n) {
    float out;
    f32_tile((const char *)a, 0, (const char *)b, 0, n, &out, 0, 1, 1);
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

static const vd_backend avx512 = {
    .tile = { [QT_F32] = tile_f32, [QT_F16] = tile_f16, [QT_BF16] = tile_bf16 },
    .dot_f32 = dot_f32,
    .axpy_f32 = axpy_f32,
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
 * theirs (tests/test_invariance.c compares them with the portable kernel).
 * Chosen at run time (vd_init checks the CPUID bit). */

INLINE __m256i bcast4(const void *p) {
    int32_t v;
    __builtin_memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

INLINE void store_lanes(__m256 acc, float *y, int64_t ldy, int nx) {
    float t[8];
    _mm256_storeu_ps(t, acc);
    for (int j = 0; j < nx; j++) y[j * ldy] = t[j];
}

/* Q4_0: unsigned codes u against the signed activations, the offset 8 *
 * sum(x) taken back per block (off), as in vecdot8_avx2.c. */
INLINE void q4_0_rows_vnni(const void *w, size_t ws, int64_t r, const vd_act8_block *xb0, int64_t nb,
                           int nx, float *y, int64_t ldy, const int NR) {
    const __m256i m4 = _mm256_set1_epi8(15);
    const qt_block_q4_0 *wb[4];
    UNROLL for (int k = 0; k < NR; k++) wb[k] = (const qt_block_q4_0 *)((const char *)w + (size_t)(r + k) * ws);
    const char *next = (const char *)w + (size_t)(r + NR) * ws;
    __m256 acc[4];
    UNROLL for (int k = 0; k < NR; k++) acc[k] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        if ((b & 1) == 0)
            UNROLL for (int k = 0; k < NR; k++) _mm_prefetch(next + k * ws + b * sizeof(qt_block_q4_0), _MM_HINT_T0);
        const vd_act8_block *xb = xb0 + b;
        __m256i s[4];
        UNROLL for (int k = 0; k < NR; k++) s[k] = _mm256_setzero_si256();
        UNROLL for (int g = 0; g < 4; g++) {
            __m256i xl = _mm256_loadu_si256((const __m256i *)xb->q[g]);
            __m256i xh = _mm256_loadu_si256((const __m256i *)xb->q[g + 4]);
            UNROLL for (int k = 0; k < NR; k++) {
                __m256i v = bcast4(wb[k][b].qs + 4 * g);
                s[k] = _mm256_dpbusd_epi32(s[k], _mm256_and_si256(v, m4), xl);
                s[k] = _mm256_dpbusd_epi32(s[k], _mm256_and_si256(_mm256_srli_epi16(v, 4), m4), xh);
            }
        }
        __m256i off = _mm256_loadu_si256((const __m256i *)xb->off);
        __m256 dx = _mm256_loadu_ps(xb->d);
        UNROLL for (int k = 0; k < NR; k++)
            acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(s[k], off)),
                                     _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(wb[k][b].d)), dx), acc[k]);
    }
    UNROLL for (int k = 0; k < NR; k++) store_lanes(acc[k], y + r + k, ldy, nx);
}

/* Q8_0: FAST (no -128 code in the matrix, vd_q8_0_no_min): |x| from the
 * pack against w * sign(x); otherwise |w| against x * sign(w). */
INLINE void q8_0_rows_vnni(const void *w, size_t ws, int64_t r, const vd_act8_block *xb0, int64_t nb,
                           int nx, float *y, int64_t ldy, const int NR, const int FAST) {
    const qt_block_q8_0 *wb[4];
    UNROLL for (int k = 0; k < NR; k++) wb[k] = (const qt_block_q8_0 *)((const char *)w + (size_t)(r + k) * ws);
    const char *next = (const char *)w + (size_t)(r + NR) * ws;
    __m256 acc[4];
    UNROLL for (int k = 0; k < NR; k++) acc[k] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        UNROLL for (int k = 0; k < NR; k++) _mm_prefetch(next + k * ws + b * sizeof(qt_block_q8_0), _MM_HINT_T0);
        const vd_act8_block *xb = xb0 + b;
        __m256i p[4];
        UNROLL for (int k = 0; k < NR; k++) p[k] = _mm256_setzero_si256();
        UNROLL for (int g = 0; g < 8; g++) {
            __m256i xq = _mm256_loadu_si256((const __m256i *)xb->q[g]);
            __m256i xa = FAST ? _mm256_loadu_si256((const __m256i *)xb->a[g]) : xq;
            UNROLL for (int k = 0; k < NR; k++) {
                __m256i v = bcast4(wb[k][b].qs + 4 * g);
                p[k] = FAST ? _mm256_dpbusd_epi32(p[k], xa, _mm256_sign_epi8(v, xq))
                            : _mm256_dpbusd_epi32(p[k], _mm256_sign_epi8(v, v), _mm256_sign_epi8(xq, v));
            }
        }
        __m256 dx = _mm256_loadu_ps(xb->d);
        UNROLL for (int k = 0; k < NR; k++)
            acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p[k]),
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
