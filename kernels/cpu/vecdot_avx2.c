/* vecdot_avx2: AVX2 + FMA + F16C tile kernels (built with -mavx2 -mfma -mf16c;
 * only called after vd_init saw those features).
 *
 * A tile is NR weight rows x NX activation rows (NR * NX <= 4). The `*_tile`
 * bodies are always_inline and instantiated with constant NR, NX by TILE_WRAP,
 * so accumulators live in registers; a weight block is unpacked once for the
 * NX activations and an activation block loaded once for the NR rows. At
 * decode (one activation) the 4x1 tile gives four independent FMA chains and
 * finishes four rows with one horizontal reduction.
 *
 * Quantized blocks use byte dot products: _mm256_maddubs_epi16 multiplies
 * unsigned by signed bytes and adds pairs into int16 (never saturating here:
 * at most 2*63*127 < 32767), _mm256_madd_epi16 widens to int32 with a weight
 * (1 or a sub-block scale). Q8_0 weights are signed and use |w| * (x*sign(w));
 * Q4_0/Q5_0 weights stay unsigned codes u and the offset comes back as
 * maddubs(u, x) - maddubs(8 or 16, x), the latter computed once per
 * activation block. Integer sums are exact, so results differ from the
 * portable kernels only in float summation order.
 */
#include "vecdot.h"
#include "qtypes.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#include <math.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))
/* Loops over r < NR, j < NX, u < U, c < 4 have constant trip counts once
 * inlined; they must be fully unrolled (not left to -O2's heuristics) so that
 * the accumulator arrays become registers. */
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

INLINE float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Writes the tile's sums: acc[r * NX + j] -> y[j * ldy + r], every entry
 * reduced by hsum whatever the tile shape (the float order, vecdot.h). */
INLINE void store_tile(const __m256 *acc, float *y, int64_t ldy, const int NR, const int NX) {
    UNROLL
    for (int r = 0; r < NR; r++)
        UNROLL
        for (int j = 0; j < NX; j++) y[j * ldy + r] = hsum(acc[r * NX + j]);
}

INLINE __m256i loadu(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }
INLINE __m128i loadu128(const void *p) { return _mm_loadu_si128((const __m128i *)p); }
INLINE float f16(uint16_t h) { return _cvtsh_ss(h); }

/* Prefetches the same offset of the next tile's rows (w + NR * ws onwards).
 * A tile walks NR rows side by side, each a short stream (a 4096-element
 * Q4_0 row is 36 cache lines) that the hardware prefetcher barely trains on
 * before it ends; fetching the next tile's lines while this one computes
 * keeps DRAM busy. Prefetches past the matrix are harmless (no faults). */
INLINE void prefetch_next(const char *w, size_t ws, size_t off, const int NR) {
    UNROLL for (int r = 0; r < NR; r++) _mm_prefetch(w + (size_t)(NR + r) * ws + off, _MM_HINT_T0);
}

/* ---- float types: 8 elements per vector, scalar tail ---------------------- */

INLINE __m256 ld_f32(const void *p, int64_t i) { return _mm256_loadu_ps((const float *)p + i); }
/* Address of element i, for prefetching (ld_f32_at, ld_f16_at, ld_bf16_at). */
INLINE const void *ld_f32_at(const void *p, int64_t i) { return (const float *)p + i; }
INLINE const void *ld_f16_at(const void *p, int64_t i) { return (const uint16_t *)p + i; }
INLINE const void *ld_bf16_at(const void *p, int64_t i) { return (const uint16_t *)p + i; }
INLINE __m256 ld_f16(const void *p, int64_t i) {
    return _mm256_cvtph_ps(loadu128((const uint16_t *)p + i));
}
INLINE __m256 ld_bf16(const void *p, int64_t i) {   /* bf16 is the top half of an fp32 */
    __m256i v = _mm256_cvtepu16_epi32(loadu128((const uint16_t *)p + i));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}
INLINE float sc_f32(const void *p, int64_t i) { return ((const float *)p)[i]; }
INLINE float sc_f16(const void *p, int64_t i) { return f16(((const uint16_t *)p)[i]); }
INLINE float sc_bf16(const void *p, int64_t i) {
    return qt_bf16_to_f32(((const uint16_t *)p)[i]);
}

/* A 1x1 tile (F32 weights at decode: one row at a time, vecdot.c) issues no
 * software prefetch: its rows follow each other in memory, so the hardware
 * prefetcher already sees one long stream, and the extra requests cost
 * single-core bandwidth (stories15m F32 on one core: 212-218 -> 277-288
 * tokens/s without them; two cores unchanged, DRAM-bound either way).
 * ORDER (every float kernel, the portable one too; vecdot.h "Summation
 * order"): U = 2 vectors per entry whatever the tile shape, so element k
 * goes to lane k % 16 while 16 remain, then lane k % 8 while 8 remain, by
 * FMA; the 16 lanes fold as l + (l + 8), then hsum's tree; the last n % 8
 * products are summed in order (multiply, add) and added to that. Tiles of
 * 2-4 entries keep 4-8 FMA chains in flight (acc[(r * NX + j) * U + u]). */
#define FLOAT_TILE(NAME, LD, SC)                                                       \
    INLINE void NAME(const char *w, size_t ws, const char *x, size_t xs, int64_t n,    \
                     float *y, int64_t ldy, const int NR, const int NX) {              \
        const int U = 2;                                                               \
        __m256 acc[16], sum[4];                                                        \
        UNROLL for (int k = 0; k < NR * NX * U; k++) acc[k] = _mm256_setzero_ps();     \
        int64_t i = 0;                                                                 \
        for (; i + 8 * U <= n; i += 8 * U) {                                           \
            if (NR * NX > 1)                                                           \
                prefetch_next(w, ws, (size_t)((const char *)LD##_at(w, i) - w), NR);   \
            UNROLL for (int u = 0; u < U; u++) {                                       \
                __m256 wv[4];                                                          \
                UNROLL for (int r = 0; r < NR; r++) wv[r] = LD(w + r * ws, i + 8 * u); \
                UNROLL for (int j = 0; j < NX; j++) {                                  \
                    __m256 xv = LD(x + j * xs, i + 8 * u);                             \
                    UNROLL for (int r = 0; r < NR; r++)                                \
                        acc[(r * NX + j) * U + u] =                                    \
                            _mm256_fmadd_ps(wv[r], xv, acc[(r * NX + j) * U + u]);     \
                }                                                                      \
            }                                                                          \
        }                                                                              \
        for (; i + 8 <= n; i += 8) {                                                   \
            UNROLL for (int j = 0; j < NX; j++) {                                      \
                __m256 xv = LD(x + j * xs, i);                                         \
                UNROLL for (int r = 0; r < NR; r++)                                    \
                    acc[(r * NX + j) * U] = _mm256_fmadd_ps(LD(w + r * ws, i), xv,     \
                                                            acc[(r * NX + j) * U]);    \
            }                                                                          \
        }                                                                              \
        UNROLL for (int k = 0; k < NR * NX; k++) {                                     \
            sum[k] = acc[k * U];                                                       \
            UNROLL for (int u = 1; u < U; u++) sum[k] = _mm256_add_ps(sum[k], acc[k * U + u]); \
        }                                                                              \
        store_tile(sum, y, ldy, NR, NX);                                               \
        if (i < n)                                                                     \
            UNROLL for (int r = 0; r < NR; r++)                                        \
                UNROLL for (int j = 0; j < NX; j++) {                                  \
                    float s = 0;                                                       \
                    for (int64_t k = i; k < n; k++) s += SC(w + r * ws, k) * SC(x + j * xs, k); \
                    y[j * ldy + r] += s;                                               \
                }                                                                      \
    }

FLOAT_TILE(f32_tile, ld_f32, sc_f32)
FLOAT_TILE(f16_tile, ld_f16, sc_f16)
FLOAT_TILE(bf16_tile, ld_bf16, sc_bf16)
TILE_WRAP(tile_f32, f32_tile)
TILE_WRAP(tile_f16, f16_tile)
TILE_WRAP(tile_bf16, bf16_tile)

/* ---- Q8_0 / Q4_0 / Q5_0 weights x Q8_0 activations ------------------------- */

/* The four totals of four int32x8 vectors (exact: integer adds). */
INLINE __m128i hsum4_epi32(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i t = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
    return _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
}

/* ORDER (the one every Q8_0/Q4_0/Q5_0 kernel keeps, vecdot.h "Summation
 * order"): per block b in order, the block's exact integer sum s_b, then
 * acc = fma((float)s_b, dw_b * dx_b, acc) with one accumulator per output.
 *
 * One tile entry (r, j) is one lane of a 4-lane accumulator, so each block
 * ends in one madd per entry, one 4-way integer reduction, one convert and
 * one FMA for the whole tile. Q8_0 weights are signed and use |w| * (x *
 * sign(w)) (pairs < 2*128*127); Q4_0/Q5_0 codes u = q + 8 (or + 16) go
 * unsigned into maddubs and the offset comes back as maddubs(8 or 16, x),
 * once per activation block. T: 0 = Q8_0, 1 = Q4_0, 2 = Q5_0. */
INLINE void q32_tile(const char *w, size_t ws, const char *x, size_t xs, int64_t n, float *y,
                     int64_t ldy, const int NR, const int NX, const int T) {
    const __m256i ones = _mm256_set1_epi16(1), m4 = _mm256_set1_epi8(15);
    const __m256i off = _mm256_set1_epi8(T == 2 ? 16 : 8);
    const size_t bsz = T == 0 ? sizeof(qt_block_q8_0) : T == 1 ? sizeof(qt_block_q4_0) : sizeof(qt_block_q5_0);
    __m128 acc = _mm_setzero_ps();
    for (int64_t b = 0; b < n / 32; b++) {
        if ((b & 1) == 0) prefetch_next(w, ws, (size_t)b * bsz, NR);
        __m256i xq[4], xo[4], p[4];
        float dx[4], dw[4], dd[4] = {0, 0, 0, 0};
        UNROLL for (int j = 0; j < NX; j++) {
            const qt_block_q8_0 *xb = (const qt_block_q8_0 *)(x + j * xs) + b;
            xq[j] = loadu(xb->qs);
            dx[j] = f16(xb->d);
            if (T) xo[j] = _mm256_maddubs_epi16(off, xq[j]);
        }
        UNROLL for (int k = 0; k < 4; k++) p[k] = _mm256_setzero_si256();
        UNROLL for (int r = 0; r < NR; r++) {
            const char *pb = w + r * ws + (size_t)b * bsz;
            if (T == 0) {
                const qt_block_q8_0 *q = (const qt_block_q8_0 *)pb;
                __m256i wv = loadu(q->qs), a = _mm256_sign_epi8(wv, wv);
                dw[r] = f16(q->d);
                UNROLL for (int j = 0; j < NX; j++)
                    p[r * NX + j] = _mm256_madd_epi16(_mm256_maddubs_epi16(a, _mm256_sign_epi8(xq[j], wv)), ones);
                continue;
            }
            const uint8_t *qs = T == 1 ? ((const qt_block_q4_0 *)pb)->qs : ((const qt_block_q5_0 *)pb)->qs;
            dw[r] = f16(T == 1 ? ((const qt_block_q4_0 *)pb)->d : ((const qt_block_q5_0 *)pb)->d);
            __m128i q = loadu128(qs);   /* elements 0-15 low nibbles, 16-31 high */
            __m256i u = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), m4);
            if (T == 2) {   /* byte e takes bit e of qh: byte e / 8 of it, bit e % 8 */
                const __m256i sel = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                                     2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
                const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
                int32_t h;
                memcpy(&h, ((const qt_block_q5_0 *)pb)->qh, 4);
                __m256i hb = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32(h), sel), bit);
                u = _mm256_or_si256(u, _mm256_and_si256(_mm256_cmpeq_epi8(hb, bit), _mm256_set1_epi8(16)));
            }
            UNROLL for (int j = 0; j < NX; j++)
                p[r * NX + j] = _mm256_madd_epi16(_mm256_sub_epi16(_mm256_maddubs_epi16(u, xq[j]), xo[j]), ones);
        }
        UNROLL for (int r = 0; r < NR; r++)
            UNROLL for (int j = 0; j < NX; j++) dd[r * NX + j] = dw[r] * dx[j];
        __m128i s = hsum4_epi32(p[0], p[1], p[2], p[3]);
        acc = _mm_fmadd_ps(_mm_cvtepi32_ps(s), _mm_loadu_ps(dd), acc);
    }
    float out[4];
    _mm_storeu_ps(out, acc);
    UNROLL for (int r = 0; r < NR; r++)
        UNROLL for (int j = 0; j < NX; j++) y[j * ldy + r] = out[r * NX + j];
}

#define Q8_0_TILE(...) q32_tile(__VA_ARGS__, 0)
#define Q4_0_TILE(...) q32_tile(__VA_ARGS__, 1)
#define Q5_0_TILE(...) q32_tile(__VA_ARGS__, 2)
TILE_WRAP(tile_q8_0, Q8_0_TILE)
TILE_WRAP(tile_q4_0, Q4_0_TILE)
TILE_WRAP(tile_q5_0, Q5_0_TILE)

/* ---- K-quants x Q8_K -------------------------------------------------------- */

/* pshufb controls that broadcast int16 lane k of each 128-bit half. */
static const uint8_t bcast16[8][32] __attribute__((aligned(32))) = {
#define B(k) {2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1,     \
              2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1,     \
              2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1, 2*k, 2*k+1}
    B(0), B(1), B(2), B(3), B(4), B(5), B(6), B(7)
#undef B
};
INLINE __m256i bcast(__m256i v, int k) {
    return _mm256_shuffle_epi8(v, _mm256_load_si256((const __m256i *)bcast16[k]));
}

/* The 12-byte Q4_K/Q5_K scale field (layout in qtypes.c) as: sc16 = the 8
 * scales as int16 in both halves; mn16 = [mn0, mn0, mn1, mn1, ..., mn7, mn7]
 * as int16, matching the 16 bsums (two per 32-element sub-block). With u32
 * words A = bytes 0-3, B = 4-7, C = 8-11 (the 16-byte load stays inside the
 * block: qs follows):
 *   sc[0..3] = A & 63              sc[4..7] = C & 15 | (A >> 2) & 0x30
 *   mn[0..3] = B & 63              mn[4..7] = C >> 4 & 15 | (B >> 2) & 0x30
 * (per byte; bits a 32-bit shift drags in from the next byte are masked). */
INLINE void k4_scales(const uint8_t *s12, __m256i *sc16, __m256i *mn16) {
    const __m128i m_lo = _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f);
    const __m128i m_hi = _mm_setr_epi32(0, 0x30303030, 0, 0x30303030);
    __m128i v = loadu128(s12);
    __m128i lo = _mm_srlv_epi32(_mm_shuffle_epi32(v, _MM_SHUFFLE(2, 1, 2, 0)), _mm_setr_epi32(0, 0, 0, 4));
    __m128i hi = _mm_srlv_epi32(_mm_shuffle_epi32(v, _MM_SHUFFLE(1, 1, 0, 0)), _mm_setr_epi32(0, 2, 0, 2));
    v = _mm_or_si128(_mm_and_si128(lo, m_lo), _mm_and_si128(hi, m_hi));   /* sc0-7, mn0-7 */
    *sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(v));
    *mn16 = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(v, v));
}

/* ORDER (every Q4_K/Q5_K kernel, vecdot.h "Summation order"): per
 * super-block in order, the exact integer sums is = sum_j sc_j * dot_j and
 * im = sum_j mn_j * bsum_j, then acc = fma(is, d * dx, acc) and acc =
 * fma(-im, dmin * dx, acc), one accumulator per output (a lane per activation).
 * Q4_K (Q5 = 0) or Q5_K (Q5 = 1). Per chunk c of 64: low nibbles are
 * sub-block 2c (activations 64c..64c+31), high nibbles 2c+1; Q5_K's fifth
 * bits for chunk c are bits 2c, 2c+1 of qh[l], walked down by shifting qh 2
 * bits per chunk (16-bit shifts leak bits from the neighbour byte only into
 * bits >= 8 - shift, never into the two bits read). */
INLINE void k4_tile(const char *w, size_t ws, const char *x, size_t xs, int64_t n, float *y,
                    int64_t ldy, const int NR, const int NX, const int Q5) {
    const __m256i m4 = _mm256_set1_epi8(15), m16 = _mm256_set1_epi8(16);
    const size_t bsz = Q5 ? sizeof(qt_block_q5_K) : sizeof(qt_block_q4_K);
    for (int r = 0; r < NR; r++) {   /* rows one after another: a block is long enough */
        __m128 acc = _mm_setzero_ps();   /* lane j: activation j */
        for (int64_t b = 0; b < n / 256; b++) {
            const char *p = w + r * ws + b * bsz;
            const qt_block_q4_K *p4 = (const qt_block_q4_K *)p;
            const qt_block_q5_K *p5 = (const qt_block_q5_K *)p;
            const uint8_t *qs = Q5 ? p5->qs : p4->qs, *s12 = Q5 ? p5->scales : p4->scales;
            const qt_block_q8_K *xb[4];
            __m256i sc16, mn16, sumi[4];
            UNROLL for (int j = 0; j < NX; j++) {
                xb[j] = (const qt_block_q8_K *)(x + j * xs) + b;
                sumi[j] = _mm256_setzero_si256();
            }
            k4_scales(s12, &sc16, &mn16);
            __m256i qh = Q5 ? loadu(p5->qh) : _mm256_setzero_si256();
            UNROLL for (int c = 0; c < 4; c++) {
                __m256i q = loadu(qs + 32 * c);
                __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
                if (Q5) {
                    lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(qh, 4), m16));
                    hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(qh, 3), m16));
                    qh = _mm256_srli_epi16(qh, 2);
                }
                __m256i s0 = bcast(sc16, 2 * c), s1 = bcast(sc16, 2 * c + 1);
                UNROLL for (int j = 0; j < NX; j++) {
                    __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, loadu(xb[j]->qs + 64 * c)), s0);
                    __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, loadu(xb[j]->qs + 64 * c + 32)), s1);
                    sumi[j] = _mm256_add_epi32(sumi[j], _mm256_add_epi32(p0, p1));
                }
            }
            /* the NX activations' sums reduced together, one lane each */
            __m256i pm[4], z = _mm256_setzero_si256();
            float dx[4] = {0, 0, 0, 0};
            UNROLL for (int j = 0; j < NX; j++) {
                pm[j] = _mm256_madd_epi16(loadu(xb[j]->bsums), mn16);
                dx[j] = xb[j]->d;
            }
            UNROLL for (int j = NX; j < 4; j++) sumi[j] = pm[j] = z;
            __m128 is = _mm_cvtepi32_ps(hsum4_epi32(sumi[0], sumi[1], sumi[2], sumi[3]));
            __m128 im = _mm_cvtepi32_ps(hsum4_epi32(pm[0], pm[1], pm[2], pm[3]));
            __m128 vdx = _mm_loadu_ps(dx);
            acc = _mm_fmadd_ps(is, _mm_mul_ps(_mm_set1_ps(f16(Q5 ? p5->d : p4->d)), vdx), acc);
            acc = _mm_fnmadd_ps(im, _mm_mul_ps(_mm_set1_ps(f16(Q5 ? p5->dmin : p4->dmin)), vdx), acc);
        }
        float out[4];
        _mm_storeu_ps(out, acc);
        UNROLL for (int j = 0; j < NX; j++) y[j * ldy + r] = out[j];
    }
}

#define Q4_K_TILE(...) k4_tile(__VA_ARGS__, 0)
#define Q5_K_TILE(...) k4_tile(__VA_ARGS__, 1)
TILE_WRAP(tile_q4_K, Q4_K_TILE)
TILE_WRAP(tile_q5_K, Q5_K_TILE)

/* ORDER: per super-block in order, its exact integer sum, then acc =
 * fma(sum, d * dx, acc), one accumulator per output (a lane per activation).
 * Q6_K: codes u = q + 32 in 0..63 go unsigned into maddubs; the -32 comes back
 * as 32 * sum_g sc[g] * bsums[g]. Half h, part k (32 elements) covers scale
 * groups 8h+2k (low 128 bits of the int16 products) and 8h+2k+1 (high), so
 * `sce` holds even groups in its low half and odd groups in its high half and
 * bcast(sce, 4h+k) yields both. */
INLINE void q6_K_tile(const char *w, size_t ws, const char *x, size_t xs, int64_t n, float *y,
                      int64_t ldy, const int NR, const int NX) {
    const __m256i m4 = _mm256_set1_epi8(15), m30 = _mm256_set1_epi8(0x30);
    const __m128i evenodd = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    for (int r = 0; r < NR; r++) {   /* rows one after another: a block is long enough */
        __m128 acc = _mm_setzero_ps();   /* lane j: activation j */
        for (int64_t b = 0; b < n / 256; b++) {
            const qt_block_q6_K *p = (const qt_block_q6_K *)(w + r * ws) + b;
            const qt_block_q8_K *xb[4];
            __m256i sumi[4];
            UNROLL for (int j = 0; j < NX; j++) {
                xb[j] = (const qt_block_q8_K *)(x + j * xs) + b;
                sumi[j] = _mm256_setzero_si256();
            }
            __m128i sc8 = loadu128(p->scales);
            __m256i sce = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, evenodd));
            UNROLL for (int h = 0; h < 2; h++) {
                __m256i l0 = loadu(p->ql + 64 * h), l1 = loadu(p->ql + 64 * h + 32);
                __m256i qh = loadu(p->qh + 32 * h);
                __m256i q[4];
                q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
                q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
                q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m30));
                q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                       _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
                UNROLL for (int k = 0; k < 4; k++) {
                    __m256i s = bcast(sce, 4 * h + k);
                    UNROLL for (int j = 0; j < NX; j++) {
                        __m256i pr = _mm256_maddubs_epi16(q[k], loadu(xb[j]->qs + 128 * h + 32 * k));
                        sumi[j] = _mm256_add_epi32(sumi[j], _mm256_madd_epi16(pr, s));
                    }
                }
            }
            __m256i scn = _mm256_cvtepi8_epi16(sc8);
            __m256i t[4], z = _mm256_setzero_si256();
            float dx[4] = {0, 0, 0, 0};
            UNROLL for (int j = 0; j < NX; j++) {
                __m256i bias = _mm256_slli_epi32(_mm256_madd_epi16(loadu(xb[j]->bsums), scn), 5);
                t[j] = _mm256_sub_epi32(sumi[j], bias);
                dx[j] = xb[j]->d;
            }
            UNROLL for (int j = NX; j < 4; j++) t[j] = z;
            __m128 is = _mm_cvtepi32_ps(hsum4_epi32(t[0], t[1], t[2], t[3]));
            acc = _mm_fmadd_ps(is, _mm_mul_ps(_mm_set1_ps(f16(p->d)), _mm_loadu_ps(dx)), acc);
        }
        float out[4];
        _mm_storeu_ps(out, acc);
        UNROLL for (int j = 0; j < NX; j++) y[j * ldy + r] = out[j];
    }
}

TILE_WRAP(tile_q6_K, q6_K_tile)

/* ---- plain float helpers ---------------------------------------------------- */

static float dot_f32(const float *a, const float *b, int64_t n) {
    float out;
    f32_tile((const char *)a, 0, (const char *)b, 0, n, &out, 0, 1, 1);
    return out;
}

static void axpy_f32(float *y, float a, const float *x, int64_t n) {
    __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
        _mm256_storeu_ps(y + i + 8, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8)));
    }
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}

#include "vexp_avx2.h"   /* exp8 */

/* g = silu(g) * u = g / (1 + exp(-g)) * u, as the portable loop computes it
 * with expf (a true division, so only exp8's error remains). A value's
 * result must not depend on where it sits in the call (a batch of several
 * sequences gates their rows in one call, split across threads): the last
 * n % 8 go through exp8 too, from a padded copy, not through expf. */
INLINE __m256 silu8(__m256 v, __m256 u) {
    const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
    return _mm256_mul_ps(_mm256_div_ps(v, _mm256_add_ps(one, exp8(_mm256_xor_ps(v, sign)))), u);
}

static void silu_mul(float *g, const float *u, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(g + i, silu8(_mm256_loadu_ps(g + i), _mm256_loadu_ps(u + i)));
    if (i < n) {
        float tg[8] = {0}, tu[8] = {0};
        memcpy(tg, g + i, sizeof(float) * (size_t)(n - i));
        memcpy(tu, u + i, sizeof(float) * (size_t)(n - i));
        _mm256_storeu_ps(tg, silu8(_mm256_loadu_ps(tg), _mm256_loadu_ps(tu)));
        memcpy(g + i, tg, sizeof(float) * (size_t)(n - i));
    }
}

/* Every value through exp8, the tail from a padded copy (as silu_mul). */
static void exp_f32(float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, exp8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float t[8] = {0};
        memcpy(t, x + i, sizeof(float) * (size_t)(n - i));
        _mm256_storeu_ps(t, exp8(_mm256_loadu_ps(t)));
        memcpy(x + i, t, sizeof(float) * (size_t)(n - i));
    }
}

/* Q8_0 activation blocks: amax, d = fp16(amax / 127), codes = round(x *
 * (127 / amax)) to nearest even, as the portable quant_act_q8_0 computes. */
static void quant_q8_0(const float *x, void *xq, int64_t nb) {
    qt_block_q8_0 *b = xq;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < nb; i++, x += 32) {
        __m256 v[4], m = _mm256_setzero_ps();
        UNROLL for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[k]));
        }
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_movehdup_ps(h));
        float amax = _mm_cvtss_f32(h);
        float id = amax != 0 ? 127.0f / amax : 0.0f;
        /* vcvtps2ph, round to nearest even: qt_f32_to_f16 bit for bit (all
         * 2^32 floats compared), without its ~15-cycle software path */
        b[i].d = (uint16_t)_cvtss_sh(amax / 127.0f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        UNROLL for (int k = 0; k < 4; k++) q[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], vid));
        /* int32 -> int8 with packs (in-lane), then undo the lane interleave */
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)b[i].qs, p);
    }
}

/* Q8_K activation blocks (the K-quants' decode input), bitwise as the
 * portable quant_q8_K (qtypes.c): the signed element of largest magnitude
 * (the first of equal ones) sets iscale = -127 / max, codes are
 * round_half_even(iscale * x) (cvtps rounds as lrintf in the default mode)
 * saturated to 127 by the packs, bsums[g] the sum of group g's 16 codes, d
 * = 1 / iscale. Largest |x| by unsigned maxima of the magnitude bits; a
 * block holding inf or nan, or so small that iscale overflows, takes the
 * portable code (libm's lrintf of inf and nan). It was scalar: ~3% of tinyllama Q4_K batch-1 decode at one
 * thread (perf: qt_quantize_row + lrintf 270 samples against the kernel's
 * 6700), serial on the main thread, where Q4_0's vectorised rounding took 28. */
static void quant_q8_K(const float *x, void *xq, int64_t nb) {
    qt_block_q8_K *b = xq;
    const __m256i abs = _mm256_set1_epi32(0x7fffffff);
    for (int64_t i = 0; i < nb; i++, x += 256) {
        __m256i m = _mm256_setzero_si256();
        UNROLL for (int k = 0; k < 32; k++)
            m = _mm256_max_epu32(m, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + 8 * k)), abs));
        __m128i h = _mm_max_epu32(_mm256_castsi256_si128(m), _mm256_extracti128_si256(m, 1));
        h = _mm_max_epu32(h, _mm_shuffle_epi32(h, 0x4e));
        h = _mm_max_epu32(h, _mm_shuffle_epi32(h, 0xb1));
        uint32_t amax = (uint32_t)_mm_cvtsi128_si32(h);
        if (amax >= 0x7f800000u) { qt_quantize_row(QT_Q8_K, x, &b[i], 256); continue; }
        if (amax == 0) { memset(&b[i], 0, sizeof b[i]); continue; }
        int first = 0;
        const __m256i t = _mm256_set1_epi32((int32_t)amax);
        for (int k = 0; k < 32; k++) {
            __m256i e = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + 8 * k)), abs), t);
            int mask = _mm256_movemask_ps(_mm256_castsi256_ps(e));
            if (mask) { first = 8 * k + __builtin_ctz((unsigned)mask); break; }
        }
        float iscale = -127.0f / x[first];
        if (!isfinite(iscale)) { qt_quantize_row(QT_Q8_K, x, &b[i], 256); continue; }   /* max < 127 / FLT_MAX */
        const __m256 vs = _mm256_set1_ps(iscale);
        UNROLL for (int k = 0; k < 8; k++) {   /* 32 codes: groups 2k and 2k + 1 */
            __m256i q[4];
            UNROLL for (int j = 0; j < 4; j++) q[j] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * k + 8 * j), vs));
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
            p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(b[i].qs + 32 * k), p);
            /* pairs (1 * code, int16), quads (int32), then each 128-bit half */
            __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), p), _mm256_set1_epi16(1));
            s = _mm256_hadd_epi32(s, s);
            s = _mm256_hadd_epi32(s, s);
            b[i].bsums[2 * k] = (int16_t)_mm256_extract_epi32(s, 0);
            b[i].bsums[2 * k + 1] = (int16_t)_mm256_extract_epi32(s, 4);
        }
        b[i].d = 1 / iscale;
    }
}

/* vd_finite_f32: the largest |x| bits by four unsigned maxima (order-free). */
static bool finite_f32(const float *x, int64_t n) {
    const __m256i abs = _mm256_set1_epi32(0x7fffffff);
    __m256i m0 = _mm256_setzero_si256(), m1 = m0, m2 = m0, m3 = m0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        m0 = _mm256_max_epu32(m0, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + i)), abs));
        m1 = _mm256_max_epu32(m1, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + i + 8)), abs));
        m2 = _mm256_max_epu32(m2, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + i + 16)), abs));
        m3 = _mm256_max_epu32(m3, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + i + 24)), abs));
    }
    m0 = _mm256_max_epu32(_mm256_max_epu32(m0, m1), _mm256_max_epu32(m2, m3));
    uint32_t l[8], m = 0;
    _mm256_storeu_si256((__m256i *)l, m0);
    for (int k = 0; k < 8; k++) m = l[k] > m ? l[k] : m;
    for (; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, 4);
        u &= 0x7fffffffu;
        m = u > m ? u : m;
    }
    return m < 0x7f800000u;
}

static const vd_backend avx2 = {
    .tile = {
        [QT_F32] = tile_f32, [QT_F16] = tile_f16, [QT_BF16] = tile_bf16,
        [QT_Q8_0] = tile_q8_0, [QT_Q4_0] = tile_q4_0, [QT_Q5_0] = tile_q5_0,
        [QT_Q4_K] = tile_q4_K, [QT_Q5_K] = tile_q5_K, [QT_Q6_K] = tile_q6_K,
    },
    .dot_f32 = dot_f32,
    .axpy_f32 = axpy_f32,
    .quant_q8_0 = quant_q8_0,
    .quant_q8_K = quant_q8_K,
    .silu_mul = silu_mul,
    .exp_f32 = exp_f32,
    .finite_f32 = finite_f32,
};

const vd_backend *vd_backend_avx2(void) { return &avx2; }

#else
const vd_backend *vd_backend_avx2(void) { return 0; }
#endif
