/* vecdot8_avx2: weight rows against eight activations at once (built with
 * -mavx2 -mfma -mf16c; only called after vd_init saw those features).
 *
 * The tile kernels of vecdot_avx2.c hold one activation per accumulator, so
 * every (row, block, activation) pays the block's unpacking, a horizontal
 * pairing and a scale conversion: eight sequences cost ~7x one. Here the
 * activations are interleaved instead (vd_act8_pack, layout in vecdot.h):
 * one 256-bit vector holds the same four elements of all eight activations,
 * so four weight codes broadcast to every lane meet eight activations in one
 * maddubs, and one accumulator lane is one activation. Per weight block and
 * eight activations: four broadcast loads of code bytes (each two groups:
 * low and high nibbles), eight maddubs, one widening, one conversion and one
 * FMA. Measured on one core (2048 x 2048, eight activations, Zen 3):
 * Q4_0 3.8x one activation where the tiles take 7.7x; Q8_0 5.0x vs 7.1x.
 *
 * ORDER (vecdot.h "Summation order"): per block in order, the exact
 * integer sum, then acc = fma(sum, dw * dx, acc), one accumulator lane per
 * activation: bitwise the portable kernel's result.
 */
#include "vecdot.h"
#include "qtypes.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 8")

/* Four bytes to every 32-bit lane, loaded straight from the weight block (a
 * broadcast load costs no vector ALU slot; measured alternatives: unpacking
 * to a stack copy first stalls on store forwarding, vpermd is slow on Zen 3,
 * byte shifts + register broadcasts cost two ALU slots per group). */
INLINE __m256i bcast4(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* Writes lane j of acc to y[j * ldy] for the nx live activations. */
INLINE void store_lanes(__m256 acc, float *y, int64_t ldy, int nx) {
    float t[8];
    _mm256_storeu_ps(t, acc);
    for (int j = 0; j < nx; j++) y[j * ldy] = t[j];
}

/* Q4_0 codes u = q + 8 are unsigned, so they go first into maddubs against
 * the signed activations; eight products of a block fit int16 (8 * 2*15*127
 * < 32767) and the offset comes back as the block's 8 * sum(x) (off). As
 * for Q8_0 below, NR rows share each activation load. */
INLINE void q4_0_rows(const void *w, size_t ws, int64_t r, const vd_act8_block *xb0, int64_t nb,
                      int nx, float *y, int64_t ldy, const int NR) {
    const __m256i m4 = _mm256_set1_epi8(15);
    const __m256i ones = _mm256_set1_epi16(1);
    const qt_block_q4_0 *wb[4];
    UNROLL for (int k = 0; k < NR; k++) wb[k] = (const qt_block_q4_0 *)((const char *)w + (size_t)(r + k) * ws);
    const char *next = (const char *)w + (size_t)(r + NR) * ws;
    __m256 acc[4];
    UNROLL for (int k = 0; k < NR; k++) acc[k] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        if ((b & 1) == 0)
            UNROLL for (int k = 0; k < NR; k++) _mm_prefetch(next + k * ws + b * sizeof(qt_block_q4_0), _MM_HINT_T0);
        const vd_act8_block *xb = xb0 + b;
        /* bytes 4g..4g+3 hold elements 4g..4g+3 (low nibbles, group g)
         * and 16+4g.. (high nibbles, group g + 4): one broadcast load
         * serves two groups */
        __m256i s[4];
        UNROLL for (int k = 0; k < NR; k++) s[k] = _mm256_setzero_si256();
        UNROLL
        for (int g = 0; g < 4; g++) {
            __m256i xl = _mm256_loadu_si256((const __m256i *)xb->q[g]);
            __m256i xh = _mm256_loadu_si256((const __m256i *)xb->q[g + 4]);
            UNROLL for (int k = 0; k < NR; k++) {
                __m256i v = bcast4(wb[k][b].qs + 4 * g);
                __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                s[k] = _mm256_add_epi16(s[k], _mm256_maddubs_epi16(lo, xl));
                s[k] = _mm256_add_epi16(s[k], _mm256_maddubs_epi16(hi, xh));
            }
        }
        __m256i off = _mm256_loadu_si256((const __m256i *)xb->off);
        __m256 dx = _mm256_loadu_ps(xb->d);
        UNROLL for (int k = 0; k < NR; k++) {
            __m256i p = _mm256_sub_epi32(_mm256_madd_epi16(s[k], ones), off);
            acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p),
                                     _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(wb[k][b].d)), dx), acc[k]);
        }
    }
    UNROLL for (int k = 0; k < NR; k++) store_lanes(acc[k], y + r + k, ldy, nx);
}

static void x8_q4_0(const void *w, size_t ws, int64_t nr, const void *x8, int64_t cols, int nx,
                    float *y, int64_t ldy) {
    const int64_t nb = cols / 32;
    int64_t r = 0;
    for (; r + 4 <= nr; r += 4) q4_0_rows(w, ws, r, x8, nb, nx, y, ldy, 4);
    for (; r < nr; r++) q4_0_rows(w, ws, r, x8, nb, nx, y, ldy, 1);
}

/* Q8_0 codes are signed, and a pair of products reaches 2*127*127, so each
 * maddubs is widened (madd) before the sum. Two forms, both exact:
 * - full range: |w| unsigned against x * sign(w) (x is never -128, being
 *   our own rounding), per four elements and row: abs, sign, maddubs, madd,
 *   add. Any code, -128 included, is right.
 * - FAST (the caller checked the matrix holds no -128 code, which llama.cpp's
 *   and our quantizers never write): |x| from the pack (a[]) unsigned
 *   against w * sign(x), one op fewer; w = -128 against a negative x would
 *   wrap, hence the check.
 * NR rows share each activation load. Measured on one core, eight
 * activations, FAST with four rows against full range with one or two:
 * 2048x2048 1.17x, 256x2048 1.31x, 256x5632 1.32x faster (full range with
 * four rows runs out of registers and slows down). */
INLINE void q8_0_rows(const void *w, size_t ws, int64_t r, const vd_act8_block *xb0, int64_t nb,
                      int nx, float *y, int64_t ldy, const int NR, const int FAST) {
    const __m256i ones = _mm256_set1_epi16(1);
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
        UNROLL
        for (int g = 0; g < 8; g++) {
            __m256i xq = _mm256_loadu_si256((const __m256i *)xb->q[g]);
            __m256i xa = FAST ? _mm256_loadu_si256((const __m256i *)xb->a[g]) : xq;
            UNROLL for (int k = 0; k < NR; k++) {
                __m256i v = bcast4((const uint8_t *)wb[k][b].qs + 4 * g);
                __m256i m = FAST ? _mm256_maddubs_epi16(xa, _mm256_sign_epi8(v, xq))
                                 : _mm256_maddubs_epi16(_mm256_sign_epi8(v, v), _mm256_sign_epi8(xq, v));
                p[k] = _mm256_add_epi32(p[k], _mm256_madd_epi16(m, ones));
            }
        }
        __m256 dx = _mm256_loadu_ps(xb->d);
        UNROLL for (int k = 0; k < NR; k++)
            acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p[k]),
                                     _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(wb[k][b].d)), dx), acc[k]);
    }
    UNROLL for (int k = 0; k < NR; k++) store_lanes(acc[k], y + r + k, ldy, nx);
}

static void x8_q8_0(const void *w, size_t ws, int64_t nr, const void *x8, int64_t cols, int nx,
                    float *y, int64_t ldy) {
    const int64_t nb = cols / 32;
    int64_t r = 0;
    for (; r + 2 <= nr; r += 2) q8_0_rows(w, ws, r, x8, nb, nx, y, ldy, 2, 0);
    for (; r < nr; r++) q8_0_rows(w, ws, r, x8, nb, nx, y, ldy, 1, 0);
}

static void x8_q8_0_fast(const void *w, size_t ws, int64_t nr, const void *x8, int64_t cols, int nx,
                         float *y, int64_t ldy) {
    const int64_t nb = cols / 32;
    int64_t r = 0;
    for (; r + 4 <= nr; r += 4) q8_0_rows(w, ws, r, x8, nb, nx, y, ldy, 4, 1);
    for (; r < nr; r++) q8_0_rows(w, ws, r, x8, nb, nx, y, ldy, 1, 1);
}

static const vd_x8_fn x8[VD_NTYPES] = { [QT_Q4_0] = x8_q4_0, [QT_Q8_0] = x8_q8_0 };

vd_x8_fn vd_x8_avx2(int wtype, unsigned wflags) {
    if (wtype == QT_Q8_0 && (wflags & VD_W_NO_MIN)) return x8_q8_0_fast;
    return wtype >= 0 && wtype < VD_NTYPES ? x8[wtype] : 0;
}

#else
vd_x8_fn vd_x8_avx2(int wtype, unsigned wflags) { (void)wtype; (void)wflags; return 0; }
#endif
