/* vecdot_r8_avx2: up to four activations against Q4_0, Q8_0, Q4_K, Q5_0,
 * Q5_K or Q6_K weights repacked eight rows at a time (built with -mavx2 -mfma -mf16c; called after vd_init saw them).
 *
 * The tile kernels of vecdot_avx2.c keep one row per accumulator: every row
 * and block pays a horizontal pairing, a scale conversion and a final
 * reduction. In the repacked layout (vd_repack, vecdot.h) one 256-bit load
 * holds the same four code bytes of eight rows, so the activation's four
 * bytes, broadcast, meet eight rows in one maddubs; one accumulator lane is
 * one row and eight row scales convert in one instruction. Per block and
 * eight rows: four loads, eight maddubs, one widening, one conversion and
 * one FMA, and the results are stored as they are (no reduction).
 *
 * ORDER (vecdot.h "Summation order"): per block in order, the exact
 * integer sum, then acc = fma(sum, dw * dx, acc), one accumulator lane per
 * row: bitwise the tile kernels' and the eight-wide kernels' results.
 */
#include "vecdot.h"
#include "qtypes.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#include <string.h>

static inline __attribute__((always_inline)) __m256i bcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* Groups [g0, g1) of eight rows (y + 8g) against NX <= 4 Q8_0 rows x + j *
 * xs. off and dx hold, per activation and block (j * nb + b), 8 * (the sum
 * of its codes) and its scale: the Q4_0 codes u = q + 8 go unsigned into
 * maddubs and the 8 is taken back once per block. A block's codes are
 * unpacked once for the NX activations. */
static inline __attribute__((always_inline)) void
r8_q4_0_nx(const void *w, int64_t cols, int64_t g0, int64_t g1, const char *x, size_t xs,
           const int32_t *off, const float *dx, float *y, int64_t ldy, const int NX) {
    const __m256i m4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    const int64_t nb = cols / 32;
    for (int64_t g = g0; g < g1; g++) {
        const vd_block_q4_0x8 *B = (const vd_block_q4_0x8 *)w + g * nb;
        const char *next = (const char *)(B + nb);
        __m256 acc[4];
        _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) acc[j] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            _mm_prefetch(next + b * sizeof *B, _MM_HINT_T0);
            _mm_prefetch(next + b * sizeof *B + 64, _MM_HINT_T0);
            __m256i u[8];   /* u[k]: elements 4k..4k+3 of each row (k < 4 low nibbles, else high) */
            _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) {
                __m256i v = _mm256_loadu_si256((const __m256i *)(B[b].qs + 32 * k));
                u[k] = _mm256_and_si256(v, m4);
                u[k + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            }
            __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)B[b].d));
            _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) {
                const int8_t *q = ((const qt_block_q8_0 *)(x + j * xs))[b].qs;
                __m256i s = _mm256_maddubs_epi16(u[0], bcast4(q));
                _Pragma("GCC unroll 8") for (int k = 1; k < 8; k++) s = _mm256_add_epi16(s, _mm256_maddubs_epi16(u[k], bcast4(q + 4 * k)));
                __m256i p = _mm256_sub_epi32(_mm256_madd_epi16(s, ones), _mm256_set1_epi32(off[j * nb + b]));
                acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(dw, _mm256_set1_ps(dx[j * nb + b])), acc[j]);
            }
        }
        _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) _mm256_storeu_ps(y + j * ldy + 8 * g, acc[j]);
    }
}

/* One activation: the layout's plain case (kept apart from the general
 * body, which measured 40% slower for a single activation). */
static void r8_q4_0_1(const void *w, int64_t cols, int64_t g0, int64_t g1, const int8_t *x0,
                      const int32_t *off, const float *dx, float *y) {
    const __m256i m4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    const int64_t nb = cols / 32;
    const qt_block_q8_0 *x = (const qt_block_q8_0 *)(const void *)x0;
    for (int64_t g = g0; g < g1; g++) {
        const vd_block_q4_0x8 *B = (const vd_block_q4_0x8 *)w + g * nb;
        const char *next = (const char *)(B + nb);
        __m256 acc = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            _mm_prefetch(next + b * sizeof *B, _MM_HINT_T0);
            _mm_prefetch(next + b * sizeof *B + 64, _MM_HINT_T0);
            __m256i s = _mm256_setzero_si256();
            for (int k = 0; k < 4; k++) {   /* bytes 4k..4k+3: elements 4k.. and 16+4k.. */
                __m256i v = _mm256_loadu_si256((const __m256i *)(B[b].qs + 32 * k));
                __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                s = _mm256_add_epi16(s, _mm256_maddubs_epi16(lo, bcast4(x[b].qs + 4 * k)));
                s = _mm256_add_epi16(s, _mm256_maddubs_epi16(hi, bcast4(x[b].qs + 16 + 4 * k)));
            }
            __m256i p = _mm256_sub_epi32(_mm256_madd_epi16(s, ones), _mm256_set1_epi32(off[b]));
            __m256 d = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)B[b].d)),
                                     _mm256_set1_ps(dx[b]));
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), d, acc);
        }
        _mm256_storeu_ps(y + 8 * g, acc);
    }
}

static void r8_q4_0(const void *w, int64_t cols, int64_t g0, int64_t g1, const void *xv, size_t xs, int nx,
                    const int32_t *off, const float *dx, float *y, int64_t ldy) {
    const char *x = xv;
    switch (nx) {
    case 1: r8_q4_0_1(w, cols, g0, g1, (const int8_t *)x, off, dx, y); break;
    case 2: r8_q4_0_nx(w, cols, g0, g1, x, xs, off, dx, y, ldy, 2); break;
    case 3: r8_q4_0_nx(w, cols, g0, g1, x, xs, off, dx, y, ldy, 3); break;
    default: r8_q4_0_nx(w, cols, g0, g1, x, xs, off, dx, y, ldy, 4); break;
    }
}

/* Q8_0: signed codes. The activation's magnitudes |x| go unsigned into
 * maddubs against w * sign(x), one sign per four elements of eight rows (x
 * is the one broadcast to all rows, so its abs is shared by them); a pair of
 * products reaches 2*127*127, so each maddubs is widened before the sum. Activations are taken one at a time, inside the
 * group loop, so a group's blocks are read from DRAM once for all of them. */
static void r8_q8_0(const void *w, int64_t cols, int64_t g0, int64_t g1, const void *xv, size_t xs, int nx,
                    const int32_t *off, const float *dx, float *y, int64_t ldy) {
    (void)off;
    const __m256i ones = _mm256_set1_epi16(1);
    const int64_t nb = cols / 32;
    for (int64_t g = g0; g < g1; g++) {
        const vd_block_q8_0x8 *B = (const vd_block_q8_0x8 *)w + g * nb;
        const char *next = (const char *)(B + nb);
        for (int j = 0; j < nx; j++) {
            const qt_block_q8_0 *x = (const qt_block_q8_0 *)((const char *)xv + (size_t)j * xs);
            __m256 acc = _mm256_setzero_ps();
            for (int64_t b = 0; b < nb; b++) {
                if (j == 0)
                    for (int c = 0; c < 5; c++) _mm_prefetch(next + b * sizeof *B + 64 * c, _MM_HINT_T0);
                __m256i p = _mm256_setzero_si256();
                for (int k = 0; k < 8; k++) {
                    __m256i xb = bcast4(x[b].qs + 4 * k);
                    __m256i v = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)(B[b].qs + 32 * k)), xb);
                    p = _mm256_add_epi32(p, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(xb), v), ones));
                }
                __m256 d = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)B[b].d)),
                                         _mm256_set1_ps(dx[j * nb + b]));
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), d, acc);
            }
            _mm256_storeu_ps(y + j * ldy + 8 * g, acc);
        }
    }
}

/* Q4_K repacked (vd_block_q4_Kx8) against NX <= 4 Q8_K rows. ORDER (the
 * Q4_K order of vecdot.h, as k4_tile in vecdot_avx2.c): per super-block,
 * the exact integer sums is = sum_j sc_j * dot_j and im = sum_j mn_j *
 * (sum of activation j's codes), then acc = fma(is, d * dx, acc) and acc =
 * fma(-im, dmin * dx, acc), one lane per row.
 * Per chunk c (64 elements, sub-blocks 2c and 2c+1), eight loads of 32 bytes
 * hold four code bytes of each of the eight rows: low nibbles meet the
 * activation's bytes 64c + 4k.., high nibbles 64c + 32 + 4k... A row's eight
 * maddubs per sub-block add up in int16 (8 * 2*15*127 < 32767); one madd
 * against [sc, sc] per row widens and scales them. The mins' term pairs
 * sub-blocks: madd of [mn_2p, mn_2p+1] per row with the activation's two
 * 32-element code sums. */
static inline __attribute__((always_inline)) void
r8_q4_K_nx(const void *w, int64_t cols, int64_t g0, int64_t g1, const char *x, size_t xs, float *y,
           int64_t ldy, const int NX) {
    const __m256i m4 = _mm256_set1_epi8(15);
    const int64_t nb = cols / 256;
    for (int64_t g = g0; g < g1; g++) {
        const vd_block_q4_Kx8 *B = (const vd_block_q4_Kx8 *)w + g * nb;
        const char *next = (const char *)(B + nb);
        __m256 acc[4];
        _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) acc[j] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const vd_block_q4_Kx8 *K = B + b;
            const qt_block_q8_K *xb[4];
            __m256i is[4], im[4];
            _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) {
                xb[j] = (const qt_block_q8_K *)(x + j * xs) + b;
                is[j] = _mm256_setzero_si256();
                im[j] = _mm256_setzero_si256();
            }
            for (int c = 0; c < 4; c++) {
                for (int pf = 0; pf < 5; pf++) _mm_prefetch(next + b * sizeof *K + 64 * (5 * c + pf), _MM_HINT_T0);
                __m256i slo[4], shi[4];
                _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) slo[j] = shi[j] = _mm256_setzero_si256();
                _Pragma("GCC unroll 8") for (int k = 0; k < 8; k++) {
                    __m256i v = _mm256_loadu_si256((const __m256i *)(K->qs + 256 * c + 32 * k));
                    __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                    _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) {
                        slo[j] = _mm256_add_epi16(slo[j], _mm256_maddubs_epi16(lo, bcast4(xb[j]->qs + 64 * c + 4 * k)));
                        shi[j] = _mm256_add_epi16(shi[j], _mm256_maddubs_epi16(hi, bcast4(xb[j]->qs + 64 * c + 32 + 4 * k)));
                    }
                }
                /* [sc, sc] as int16 per row for sub-blocks 2c and 2c+1 */
                __m256i s0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)K->sc[2 * c]));
                __m256i s1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)K->sc[2 * c + 1]));
                s0 = _mm256_or_si256(s0, _mm256_slli_epi32(s0, 16));
                s1 = _mm256_or_si256(s1, _mm256_slli_epi32(s1, 16));
                /* [mn_2c, mn_2c+1] per row against the two sub-blocks' code sums */
                __m256i mn = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)K->mn[c]));
                _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) {
                    is[j] = _mm256_add_epi32(is[j], _mm256_add_epi32(_mm256_madd_epi16(slo[j], s0), _mm256_madd_epi16(shi[j], s1)));
                    const int16_t *bs = xb[j]->bsums + 4 * c;
                    uint32_t pair = (uint16_t)(bs[0] + bs[1]) | (uint32_t)(uint16_t)(bs[2] + bs[3]) << 16;
                    im[j] = _mm256_add_epi32(im[j], _mm256_madd_epi16(mn, _mm256_set1_epi32((int32_t)pair)));
                }
            }
            __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)K->d));
            __m256 dm = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)K->dmin));
            _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) {
                __m256 dx = _mm256_set1_ps(xb[j]->d);
                acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is[j]), _mm256_mul_ps(dw, dx), acc[j]);
                acc[j] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(im[j]), _mm256_mul_ps(dm, dx), acc[j]);
            }
        }
        _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) _mm256_storeu_ps(y + j * ldy + 8 * g, acc[j]);
    }
}

static void r8_q4_K(const void *w, int64_t cols, int64_t g0, int64_t g1, const void *xv, size_t xs, int nx,
                    const int32_t *off, const float *dx, float *y, int64_t ldy) {
    (void)off; (void)dx;
    const char *x = xv;
    switch (nx) {
    case 1: r8_q4_K_nx(w, cols, g0, g1, x, xs, y, ldy, 1); break;
    case 2: r8_q4_K_nx(w, cols, g0, g1, x, xs, y, ldy, 2); break;
    case 3: r8_q4_K_nx(w, cols, g0, g1, x, xs, y, ldy, 3); break;
    default: r8_q4_K_nx(w, cols, g0, g1, x, xs, y, ldy, 4); break;
    }
}

/* ---- Q5_0, Q5_K, Q6_K ------------------------------------------------------
 * The layouts of vecdot.h (vd_block_q5_0x8, vd_block_q5_Kx8,
 * vd_block_q6_Kx8) with the bodies of the AVX512-VNNI kernels
 * (vecdot_r8_avx512.c r8v_*), each vpdpbusd done as maddubs + madd (dotu
 * below), so a CPU with AVX2 and no AVX-512 repacks these types too. The
 * ORDERs are those kernels': the same exact integers, then the same float
 * operations per block or super-block, one lane per row (bitwise the
 * portable kernels; tests/test_invariance_kernels.c forces this ISA). */

/* s + the products of u[0..n) (four unsigned code bytes of each row a lane,
 * at most umax) with the activation codes q[0..4n) (four bytes broadcast a
 * vector): maddubs' int16 pairs are at most 2 * umax * 128 and G of them
 * are added in int16 before madd widens them, so nothing saturates or
 * wraps when G * 2 * umax * 128 <= 32767 (Q5 codes: umax 31, G = 4; Q6_K:
 * umax 63, G = 2). An exact integer, whatever the grouping. */
static inline __attribute__((always_inline)) __m256i dotu(__m256i s, const __m256i *u, const int8_t *q, const int n,
                                                          const int G) {
    const __m256i ones = _mm256_set1_epi16(1);
    _Pragma("GCC unroll 8") for (int k = 0; k < n; k += G) {
        __m256i t = _mm256_maddubs_epi16(u[k], bcast4(q + 4 * k));
        _Pragma("GCC unroll 4") for (int i = 1; i < G; i++)
            t = _mm256_add_epi16(t, _mm256_maddubs_epi16(u[k + i], bcast4(q + 4 * (k + i))));
        s = _mm256_add_epi32(s, _mm256_madd_epi16(t, ones));
    }
    return s;
}

/* Bit s of each byte moved to bit 4 (the fifth code bit), others cleared. */
static inline __attribute__((always_inline)) __m256i bit4(__m256i v, int s) {
    v = s < 4 ? _mm256_slli_epi16(v, 4 - s) : s > 4 ? _mm256_srli_epi16(v, s - 4) : v;
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/* Q5_0: u = nibble | fifth bit << 4 = q + 16, the chain starting at off =
 * -16 * (the activation's code sum in the block) (vd_r8_prep, mult -16);
 * then acc = fma(sum, dw * dx, acc) per block. */
static inline __attribute__((always_inline)) void
r8_q5_0_nx(const void *w, int64_t cols, int64_t g0, int64_t g1, const char *x, size_t xs,
           const int32_t *off, const float *dx, float *y, int64_t ldy, const int NX) {
    const __m256i m4 = _mm256_set1_epi8(15);
    const int64_t nb = cols / 32;
    for (int64_t g = g0; g < g1; g++) {
        const vd_block_q5_0x8 *B = (const vd_block_q5_0x8 *)w + g * nb;
        const char *next = (const char *)(B + nb);
        __m256 acc[4];
        _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) acc[j] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            for (int c = 0; c < 3; c++) _mm_prefetch(next + b * sizeof *B + 64 * c, _MM_HINT_T0);
            __m256i u[8], h = _mm256_loadu_si256((const __m256i *)B[b].hq);
            _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) {
                __m256i v = _mm256_loadu_si256((const __m256i *)(B[b].qs + 32 * k));
                u[k] = _mm256_and_si256(v, m4);
                u[k + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            }
            _Pragma("GCC unroll 8") for (int k = 0; k < 8; k++) u[k] = _mm256_or_si256(u[k], bit4(h, k));
            __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)B[b].d));
            _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) {
                const int8_t *q = ((const qt_block_q8_0 *)(x + j * xs))[b].qs;
                __m256i s = dotu(_mm256_set1_epi32(off[j * nb + b]), u, q, 8, 4);
                acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(dw, _mm256_set1_ps(dx[j * nb + b])), acc[j]);
            }
        }
        _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) _mm256_storeu_ps(y + j * ldy + 8 * g, acc[j]);
    }
}

static void r8_q5_0(const void *w, int64_t cols, int64_t g0, int64_t g1, const void *xv, size_t xs, int nx,
                    const int32_t *off, const float *dx, float *y, int64_t ldy) {
    const char *x = xv;
    switch (nx) {
    case 1: r8_q5_0_nx(w, cols, g0, g1, x, xs, off, dx, y, ldy, 1); break;
    case 2: r8_q5_0_nx(w, cols, g0, g1, x, xs, off, dx, y, ldy, 2); break;
    case 3: r8_q5_0_nx(w, cols, g0, g1, x, xs, off, dx, y, ldy, 3); break;
    default: r8_q5_0_nx(w, cols, g0, g1, x, xs, off, dx, y, ldy, 4); break;
    }
}

/* Q5_K: per sub-block s the exact dot of its codes (nibble | bit s of qh
 * << 4) times sc_s, summed into is; im = sum_s mn_s * (the activation's
 * code sum over s); acc = fma(is, d * dx, acc), then acc = fma(-im, dmin *
 * dx, acc) (the Q4_K/Q5_K order, dot1_k4 in vecdot.c). */
static inline __attribute__((always_inline)) void
r8_q5_K_nx(const void *w, int64_t cols, int64_t g0, int64_t g1, const char *x, size_t xs, float *y,
           int64_t ldy, const int NX) {
    const __m256i m4 = _mm256_set1_epi8(15);
    const int64_t nb = cols / 256;
    for (int64_t g = g0; g < g1; g++) {
        const vd_block_q5_Kx8 *B = (const vd_block_q5_Kx8 *)w + g * nb;
        const char *next = (const char *)(B + nb);
        __m256 acc[4];
        _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) acc[j] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const vd_block_q4_Kx8 *K = &B[b].k4;
            __m256i is[4];
            _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) is[j] = _mm256_setzero_si256();
            for (int c = 0; c < 4; c++) {
                for (int pf = 0; pf < 6; pf++) _mm_prefetch(next + b * sizeof *B + 64 * (6 * c + pf), _MM_HINT_T0);
                _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++) {   /* sub-block 2c + h */
                    __m256i u[8];
                    _Pragma("GCC unroll 8") for (int k = 0; k < 8; k++) {
                        __m256i v = _mm256_loadu_si256((const __m256i *)(K->qs + 256 * c + 32 * k));
                        u[k] = _mm256_or_si256(_mm256_and_si256(h ? _mm256_srli_epi16(v, 4) : v, m4),
                                               bit4(_mm256_loadu_si256((const __m256i *)(B[b].qh + 32 * k)), 2 * c + h));
                    }
                    __m256i sc = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)K->sc[2 * c + h]));
                    _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) {
                        const int8_t *q = ((const qt_block_q8_K *)(x + j * xs) + b)->qs + 64 * c + 32 * h;
                        is[j] = _mm256_add_epi32(is[j], _mm256_mullo_epi32(dotu(_mm256_setzero_si256(), u, q, 8, 4), sc));
                    }
                }
            }
            __m256i mn[4];
            _Pragma("GCC unroll 4") for (int p = 0; p < 4; p++) mn[p] = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)K->mn[p]));
            __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)K->d));
            __m256 dm = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)K->dmin));
            _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) {
                const qt_block_q8_K *xb = (const qt_block_q8_K *)(x + j * xs) + b;
                __m256i im = _mm256_setzero_si256();
                _Pragma("GCC unroll 4") for (int p = 0; p < 4; p++) {
                    const int16_t *bs = xb->bsums + 4 * p;
                    uint32_t pair = (uint16_t)(bs[0] + bs[1]) | (uint32_t)(uint16_t)(bs[2] + bs[3]) << 16;
                    im = _mm256_add_epi32(im, _mm256_madd_epi16(mn[p], _mm256_set1_epi32((int32_t)pair)));
                }
                __m256 d = _mm256_set1_ps(xb->d);
                acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is[j]), _mm256_mul_ps(dw, d), acc[j]);
                acc[j] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(im), _mm256_mul_ps(dm, d), acc[j]);
            }
        }
        _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) _mm256_storeu_ps(y + j * ldy + 8 * g, acc[j]);
    }
}

static void r8_q5_K(const void *w, int64_t cols, int64_t g0, int64_t g1, const void *xv, size_t xs, int nx,
                    const int32_t *off, const float *dx, float *y, int64_t ldy) {
    (void)off; (void)dx;
    const char *x = xv;
    switch (nx) {
    case 1: r8_q5_K_nx(w, cols, g0, g1, x, xs, y, ldy, 1); break;
    case 2: r8_q5_K_nx(w, cols, g0, g1, x, xs, y, ldy, 2); break;
    case 3: r8_q5_K_nx(w, cols, g0, g1, x, xs, y, ldy, 3); break;
    default: r8_q5_K_nx(w, cols, g0, g1, x, xs, y, ldy, 4); break;
    }
}

/* Q6_K: the codes u = q + 32 (0..63) as in r8v_q6_K_nx; per 16-element
 * sub-block k the chain starts at -32 * bsums[k] (exact: sum (u - 32) x),
 * is += sc_k * chain, then acc = fma(is, d * dx, acc) per super-block (the
 * Q6_K order, dot1_q6_K in vecdot.c). Elements 128h + 32t + 4m + i: low
 * bits in ql vector 16h + 8(t & 1) + m (the high nibble when t >= 2), high
 * bits in qh vector 8h + m at bit 2t; sub-block 8h + 2t + m / 4. */
static inline __attribute__((always_inline)) __m256i q6_u(const vd_block_q6_Kx8 *K, int h, int t, int m) {
    __m256i l = _mm256_loadu_si256((const __m256i *)(K->ql + 32 * (16 * h + 8 * (t & 1) + m)));
    __m256i q = _mm256_loadu_si256((const __m256i *)(K->qh + 32 * (8 * h + m)));
    l = t >> 1 ? _mm256_srli_epi16(l, 4) : l;
    q = t == 3 ? _mm256_srli_epi16(q, 2) : t == 2 ? q : _mm256_slli_epi16(q, 4 - 2 * t);
    return _mm256_or_si256(_mm256_and_si256(l, _mm256_set1_epi8(15)), _mm256_and_si256(q, _mm256_set1_epi8(0x30)));
}

static inline __attribute__((always_inline)) void
r8_q6_K_nx(const void *w, int64_t cols, int64_t g0, int64_t g1, const char *x, size_t xs, float *y,
           int64_t ldy, const int NX) {
    const int64_t nb = cols / 256;
    for (int64_t g = g0; g < g1; g++) {
        const vd_block_q6_Kx8 *B = (const vd_block_q6_Kx8 *)w + g * nb;
        const char *next = (const char *)(B + nb);
        __m256 acc[4];
        _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) acc[j] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const vd_block_q6_Kx8 *K = B + b;
            __m256i is[4];
            _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) is[j] = _mm256_setzero_si256();
            for (int h = 0; h < 2; h++)
                _Pragma("GCC unroll 4") for (int t = 0; t < 4; t++) {
                    for (int pf = 0; pf < 4; pf++)
                        _mm_prefetch(next + b * sizeof *K + 64 * (16 * h + 4 * t + pf), _MM_HINT_T0);
                    __m256i u[8];
                    _Pragma("GCC unroll 8") for (int m = 0; m < 8; m++) u[m] = q6_u(K, h, t, m);
                    int k = 8 * h + 2 * t;
                    __m256i sc0 = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)K->sc[k]));
                    __m256i sc1 = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)K->sc[k + 1]));
                    _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) {
                        const qt_block_q8_K *xb = (const qt_block_q8_K *)(x + j * xs) + b;
                        const int8_t *q = xb->qs + 128 * h + 32 * t;
                        __m256i d0 = dotu(_mm256_set1_epi32(-32 * xb->bsums[k]), u, q, 4, 2);
                        __m256i d1 = dotu(_mm256_set1_epi32(-32 * xb->bsums[k + 1]), u + 4, q + 16, 4, 2);
                        is[j] = _mm256_add_epi32(is[j], _mm256_add_epi32(_mm256_mullo_epi32(d0, sc0), _mm256_mullo_epi32(d1, sc1)));
                    }
                }
            __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)K->d));
            _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) {
                const qt_block_q8_K *xb = (const qt_block_q8_K *)(x + j * xs) + b;
                acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is[j]), _mm256_mul_ps(dw, _mm256_set1_ps(xb->d)), acc[j]);
            }
        }
        _Pragma("GCC unroll 4") for (int j = 0; j < NX; j++) _mm256_storeu_ps(y + j * ldy + 8 * g, acc[j]);
    }
}

static void r8_q6_K(const void *w, int64_t cols, int64_t g0, int64_t g1, const void *xv, size_t xs, int nx,
                    const int32_t *off, const float *dx, float *y, int64_t ldy) {
    (void)off; (void)dx;
    const char *x = xv;
    switch (nx) {
    case 1: r8_q6_K_nx(w, cols, g0, g1, x, xs, y, ldy, 1); break;
    case 2: r8_q6_K_nx(w, cols, g0, g1, x, xs, y, ldy, 2); break;
    case 3: r8_q6_K_nx(w, cols, g0, g1, x, xs, y, ldy, 3); break;
    default: r8_q6_K_nx(w, cols, g0, g1, x, xs, y, ldy, 4); break;
    }
}

vd_r8_fn vd_r8_avx2(int wtype) {
    switch (wtype) {
    case QT_Q4_0: return r8_q4_0;
    case QT_Q8_0: return r8_q8_0;
    case QT_Q4_K: return r8_q4_K;
    case QT_Q5_0: return r8_q5_0;
    case QT_Q5_K: return r8_q5_K;
    case QT_Q6_K: return r8_q6_K;
    default: return 0;
    }
}

#else
vd_r8_fn vd_r8_avx2(int wtype) { (void)wtype; return 0; }
#endif
