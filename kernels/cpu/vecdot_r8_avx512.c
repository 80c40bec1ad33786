/* vecdot_r8_avx512: the repacked kernels (rows interleaved by eight,
 * vd_repack) with AVX512-VNNI, for Q4_0, Q8_0, Q5_0, Q4_K, Q5_K and Q6_K;
 * built with the AVX-512 flags (Makefile) and chosen at run time (vecdot_isa.c
 * vd_r8_path, from CPUID). The 256-bit forms live in vecdot_r8v.h, shared
 * with the AVX-VNNI build (vecdot_r8_avxvnni.c); the 512-bit pair forms are
 * here. Split from vecdot_avx512.c (the float tiles and the eight-wide
 * kernels stay there).
 */
#include "vecdot.h"
#include "qtypes.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__FMA__) && \
    defined(__F16C__) && defined(__AVX512VNNI__)
#include <immintrin.h>

/* ---- rows repacked by eight, with AVX512-VNNI ------------------------------
 * The repacked layout (vd_repack, vecdot.h) is the one VNNI wants: one
 * 256-bit load holds four code bytes of eight rows, and vpdpbusd against the
 * activation's four bytes broadcast to every lane adds four products into
 * each row's int32 lane. Per block and eight rows the weights are made
 * unsigned once (Q4_0: the nibbles u = q + 8; Q8_0: u = w + 128, a sign-bit
 * flip), then each activation costs eight vpdpbusd whose chain starts at
 * the block's offset term off (vd_matmul_r8 passes -8 * sum(x) for Q4_0,
 * -128 * sum(x) for Q8_0: a broadcast load, no arithmetic), one conversion
 * and one FMA. Up to eight activations share the unpacked block
 * (VD_R8V_NX), so eight sequences a step do one eighth of the unpacking,
 * and no widening step is needed (the AVX2 form pays maddubs + madd + add).
 * Two groups (sixteen rows) go in one 512-bit vector (r8z_*: each half is
 * one group's 256-bit vector, so one broadcast dword serves both): per
 * activation and block half the instructions and broadcasts of 256-bit
 * vectors. Measured on one core (Zen 4, 5632 x 2048 in cache, eight
 * activations): Q4_0 0.71 -> 0.52 ms, Q8_0 0.75 -> 0.55, Q4_K 0.72 -> 0.58
 * (the AVX2 repacked kernel: Q4_0 0.95, Q4_K 1.18). A last odd group takes
 * the 256-bit form (r8v_*), and so does a single activation (R8V_WRAP).
 * ORDER (vecdot.h): the block's sum is the same exact integer (|sum| <
 * 32 * 255 * 127 < 2^31), then acc = fma((float)sum, dw * dx, acc) per
 * block in order, one lane per row: bitwise the AVX2 and portable kernels
 * (tests/test_invariance_kernels.c). The products take the activation's bytes as
 * an embedded broadcast (dpbusd_bc) and vd_matmul_r8p cuts the activations
 * into even chunks: both change the instructions and the tiling, not the
 * integer sums nor the order of the float accumulation. */

/* The 256-bit forms (batch 1, a last odd group) and R8V_WRAP: shared with
 * the AVX-VNNI build (vecdot_r8v.h). */
#define R8V_DPBUSD _mm256_dpbusd_epi32
#include "vecdot_r8v.h"

/* The 256-bit vectors at p and p + d as one 512-bit vector (two groups). */
INLINE __m512i ld2x256(const void *p, size_t d) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p)),
                              _mm256_loadu_si256((const __m256i *)((const char *)p + d)), 1);
}
/* The 128-bit vectors at p and p + d as one 256-bit vector. */
INLINE __m256i ld2x128(const void *p, size_t d) {
    return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p)),
                                   _mm_loadu_si128((const __m128i *)((const char *)p + d)), 1);
}
/* the Q4_K super-block's end, shared with the AMX kernel (the same bits) */
#include "vecdot_r8_q4k.h"

/* s = vpdpbusd(s, u, the four bytes at p broadcast): the bytes as the
 * instruction's embedded broadcast operand ({1to16}). Written as
 * _mm512_dpbusd_epi32(s, u, _mm512_set1_epi32(*p)), gcc 12 emits a separate
 * vpbroadcastd per product: 72 of the 244 instructions of a block against
 * eight activations, and the loop is bound by instructions rather than by
 * the products (one core of this Xeon, 32000 x 288 against 64 activations,
 * CPU time, interleaved: Q4_0 0.90-0.94x, Q8_0 0.88-0.91x the time). The
 * same instruction, so the same integer. */
INLINE __m512i dpbusd_bc(__m512i s, __m512i u, const int8_t *p) {
    __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(s) : "v"(u), "m"(*(const int32_t (*)[1])p));
    return s;
}

INLINE __m512i dot32_512(__m512i s, const __m512i u[8], const int8_t *q) {
    __m512i t = _mm512_setzero_si512();
    UNROLL for (int k = 0; k < 8; k += 2) {
        s = dpbusd_bc(s, u[k], q + 4 * k);
        t = dpbusd_bc(t, u[k + 1], q + 4 * k + 4);
    }
    return _mm512_add_epi32(s, t);
}

/* is + sc * (the 32 products of u[0..7] with q[0..31]) for Q4_K
 * sub-blocks (unsigned codes below 16): each of the two chains adds 16
 * products, |sum| <= 16 * 15 * 128 < 2^15, so the pair fits the int16
 * halves of one lane and one vpdpwssd against sc2 = (sc, sc) adds sc * s +
 * sc * t (vpmulld costs two uops and ten cycles; Q4_K prompts ~5% faster).
 * Exact integers: the same sum as is + sc * (s + t). Not for Q5_K (codes
 * to 31: a chain reaches 16 * 31 * 128 > 2^15). */
INLINE __m512i dot32_sc_512(__m512i is, const __m512i u[8], const int8_t *q, __m512i sc2) {
    __m512i s = _mm512_setzero_si512(), t = _mm512_setzero_si512();
    UNROLL for (int k = 0; k < 8; k += 2) {
        s = dpbusd_bc(s, u[k], q + 4 * k);
        t = dpbusd_bc(t, u[k + 1], q + 4 * k + 4);
    }
    return _mm512_dpwssd_epi32(is, _mm512_mask_blend_epi16(0xAAAAAAAAu, s, _mm512_slli_epi32(t, 16)), sc2);
}

INLINE __m512i bit4_512(__m512i v, int s) {
    v = s < 4 ? _mm512_slli_epi16(v, 4 - s) : s > 4 ? _mm512_srli_epi16(v, s - 4) : v;
    return _mm512_and_si512(v, _mm512_set1_epi8(0x10));
}

/* The same for two groups gs bytes apart, one per 256-bit half. */
INLINE void r8z_blk_unpack(const char *blk, size_t gs, int T, __m512i u[8], __m512 *dw) {
    if (T == B32_Q8) {
        const vd_block_q8_0x8 *B = (const vd_block_q8_0x8 *)blk;
        UNROLL for (int k = 0; k < 8; k++) u[k] = _mm512_xor_si512(ld2x256(B->qs + 32 * k, gs), _mm512_set1_epi8((char)0x80));
        *dw = _mm512_cvtph_ps(ld2x128(B->d, gs));
        return;
    }
    const uint8_t *qs = T == B32_Q5 ? ((const vd_block_q5_0x8 *)blk)->qs : ((const vd_block_q4_0x8 *)blk)->qs;
    UNROLL for (int k = 0; k < 4; k++) {
        __m512i v = ld2x256(qs + 32 * k, gs);
        u[k] = _mm512_and_si512(v, _mm512_set1_epi8(15));
        u[k + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(15));
    }
    if (T == B32_Q5) {
        __m512i h = ld2x256(((const vd_block_q5_0x8 *)blk)->hq, gs);
        UNROLL for (int k = 0; k < 8; k++) u[k] = _mm512_or_si512(u[k], bit4_512(h, k));
    }
    *dw = _mm512_cvtph_ps(ld2x128(blk, gs));
}

/* Two groups (sixteen rows) per 512-bit vector: the halves are the two
 * groups' 256-bit vectors of r8v_b32_nx, so each lane does exactly what it
 * does there (the same ORDER, bitwise), with half the instructions and half
 * the activation broadcasts per row. A last odd group goes to r8v_b32_nx. */
INLINE void r8z_b32_nx(const void *w, int64_t cols, int64_t g0, int64_t g1, const char *x, size_t xs,
                       const int32_t *off, const float *dx, float *y, int64_t ldy, const int NX, const int T) {
    const int64_t nb = cols / 32;
    const size_t bs = B32_SIZE(T), gs = (size_t)nb * bs;
    int64_t g = g0;
    for (; g + 2 <= g1; g += 2) {
        const char *B = (const char *)w + (size_t)(g * nb) * bs, *next = B + 2 * gs;
        __m512 acc[VD_R8V_NX];
        UNROLL for (int j = 0; j < NX; j++) acc[j] = _mm512_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            prefetch_blk(next + b * bs, T);
            prefetch_blk(next + gs + b * bs, T);
            __m512i u[8];
            __m512 dw;
            r8z_blk_unpack(B + b * bs, gs, T, u, &dw);
            UNROLL for (int j = 0; j < NX; j++) {
                __m512i s = dot32_512(_mm512_set1_epi32(off[j * nb + b]), u, ((const qt_block_q8_0 *)(x + j * xs))[b].qs);
                acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(dx[j * nb + b])), acc[j]);
            }
        }
        UNROLL for (int j = 0; j < NX; j++) _mm512_storeu_ps(y + j * ldy + 8 * g, acc[j]);
    }
    if (g < g1) r8v_b32_nx(w, cols, g, g1, x, xs, off, dx, y, ldy, NX, T);
}
#define r8z_q4_0_nx(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX) r8z_b32_nx(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX, B32_Q4)
#define r8z_q8_0_nx(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX) r8z_b32_nx(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX, B32_Q8)
#define r8z_q5_0_nx(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX) r8z_b32_nx(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX, B32_Q5)

/* Q4_K on two groups per 512-bit vector, as r8z_q4_0_nx. */
INLINE void r8z_q4_K_nx(const void *w, int64_t cols, int64_t g0, int64_t g1, const char *x, size_t xs,
                        float *y, int64_t ldy, const int NX, const int Q5) {
    const __m512i m4 = _mm512_set1_epi8(15);
    const int64_t nb = cols / 256;
    const size_t bs = KX8_SIZE(Q5), gs = (size_t)nb * bs;
    int64_t g = g0;
    for (; g + 2 <= g1; g += 2) {
        const char *B = (const char *)w + (size_t)(g * nb) * bs, *next = B + 2 * gs;
        /* the running sums live in y, not in registers: with eight
         * activations is[], u[] and the sums did not fit the 32 vectors */
        UNROLL for (int j = 0; j < NX; j++) _mm512_storeu_ps(y + j * ldy + 8 * g, _mm512_setzero_ps());
        for (int64_t b = 0; b < nb; b++) {
            const vd_block_q4_Kx8 *K = (const vd_block_q4_Kx8 *)(B + b * bs);
            const uint8_t *qh = Q5 ? ((const vd_block_q5_Kx8 *)K)->qh : NULL;
            __m512i is[VD_R8V_NX];
            UNROLL for (int j = 0; j < NX; j++) is[j] = _mm512_setzero_si512();
            for (int c = 0; c < 4; c++) {
                prefetch_kx8(next + b * bs, c, Q5);
                prefetch_kx8(next + gs + b * bs, c, Q5);
                UNROLL for (int h = 0; h < 2; h++) {
                    __m512i u[8];
                    UNROLL for (int k = 0; k < 8; k++) {
                        __m512i v = ld2x256(K->qs + 256 * c + 32 * k, gs);
                        u[k] = _mm512_and_si512(h ? _mm512_srli_epi16(v, 4) : v, m4);
                        if (Q5) u[k] = _mm512_or_si512(u[k], bit4_512(ld2x256(qh + 32 * k, gs), 2 * c + h));
                    }
                    __m128i sc8 = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)K->sc[2 * c + h]),
                                                     _mm_loadl_epi64((const __m128i *)((const char *)K->sc[2 * c + h] + gs)));
                    __m512i sc = _mm512_cvtepu8_epi32(sc8), sc2 = _mm512_or_si512(sc, _mm512_slli_epi32(sc, 16));
                    UNROLL for (int j = 0; j < NX; j++) {
                        const int8_t *q = ((const qt_block_q8_K *)(x + j * xs) + b)->qs + 64 * c + 32 * h;
                        is[j] = Q5 ? _mm512_add_epi32(is[j], _mm512_mullo_epi32(dot32_512(_mm512_setzero_si512(), u, q), sc))
                                   : dot32_sc_512(is[j], u, q, sc2);
                    }
                }
            }
            r8z_q4_K_end(K, gs, is, NX, x, xs, b, y, ldy, g);
        }
    }
    if (g < g1) r8v_q4_K_nx(w, cols, g, g1, x, xs, y, ldy, NX, Q5);
}

/* Q6_K on two groups per 512-bit vector, as r8z_q4_0_nx. */
INLINE __m512i q6_u512(const vd_block_q6_Kx8 *K, size_t gs, int h, int t, int m) {
    __m512i l = ld2x256(K->ql + 32 * (16 * h + 8 * (t & 1) + m), gs);
    __m512i q = ld2x256(K->qh + 32 * (8 * h + m), gs);
    l = t >> 1 ? _mm512_srli_epi16(l, 4) : l;
    q = t == 3 ? _mm512_srli_epi16(q, 2) : t == 2 ? q : _mm512_slli_epi16(q, 4 - 2 * t);
    return _mm512_or_si512(_mm512_and_si512(l, _mm512_set1_epi8(15)), _mm512_and_si512(q, _mm512_set1_epi8(0x30)));
}

INLINE void r8z_q6_K_nx(const void *w, int64_t cols, int64_t g0, int64_t g1, const char *x, size_t xs,
                        float *y, int64_t ldy, const int NX) {
    const int64_t nb = cols / 256;
    const size_t gs = (size_t)nb * sizeof(vd_block_q6_Kx8);
    int64_t g = g0;
    for (; g + 2 <= g1; g += 2) {
        const vd_block_q6_Kx8 *B = (const vd_block_q6_Kx8 *)w + g * nb;
        const char *next = (const char *)(B + 2 * nb);
        __m512 acc[VD_R8V_NX];
        UNROLL for (int j = 0; j < NX; j++) acc[j] = _mm512_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const vd_block_q6_Kx8 *K = B + b;
            __m512i is[VD_R8V_NX];
            UNROLL for (int j = 0; j < NX; j++) is[j] = _mm512_setzero_si512();
            for (int h = 0; h < 2; h++)
                UNROLL for (int t = 0; t < 4; t++) {
                    prefetch_q6(next + b * sizeof *K, h, t, NX);
                    prefetch_q6(next + gs + b * sizeof *K, h, t, NX);
                    __m512i u[8];
                    UNROLL for (int m = 0; m < 8; m++) u[m] = q6_u512(K, gs, h, t, m);
                    int k = 8 * h + 2 * t;
                    __m512i sc0 = _mm512_cvtepi8_epi32(_mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)K->sc[k]),
                                                                         _mm_loadl_epi64((const __m128i *)((const char *)K->sc[k] + gs))));
                    __m512i sc1 = _mm512_cvtepi8_epi32(_mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)K->sc[k + 1]),
                                                                         _mm_loadl_epi64((const __m128i *)((const char *)K->sc[k + 1] + gs))));
                    UNROLL for (int j = 0; j < NX; j++) {
                        const qt_block_q8_K *xb = (const qt_block_q8_K *)(x + j * xs) + b;
                        const int8_t *q = xb->qs + 128 * h + 32 * t;
                        __m512i d0 = _mm512_set1_epi32(-32 * xb->bsums[k]), d1 = _mm512_set1_epi32(-32 * xb->bsums[k + 1]);
                        UNROLL for (int m = 0; m < 4; m++) {
                            d0 = dpbusd_bc(d0, u[m], q + 4 * m);
                            d1 = dpbusd_bc(d1, u[m + 4], q + 16 + 4 * m);
                        }
                        is[j] = _mm512_add_epi32(is[j], _mm512_add_epi32(_mm512_mullo_epi32(d0, sc0), _mm512_mullo_epi32(d1, sc1)));
                    }
                }
            __m512 dw = _mm512_cvtph_ps(ld2x128(K->d, gs));
            UNROLL for (int j = 0; j < NX; j++) {
                const qt_block_q8_K *xb = (const qt_block_q8_K *)(x + j * xs) + b;
                acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is[j]), _mm512_mul_ps(dw, _mm512_set1_ps(xb->d)), acc[j]);
            }
        }
        UNROLL for (int j = 0; j < NX; j++) _mm512_storeu_ps(y + j * ldy + 8 * g, acc[j]);
    }
    if (g < g1) r8v_q6_K_nx(w, cols, g, g1, x, xs, y, ldy, NX);
}

/* The K-quant bodies take no off/dx (they read their Q8_K rows). */
#define r8v_q4_K_body(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX) \
    ((void)(off), (void)(dx), r8z_q4_K_nx(w, cols, g0, g1, x, xs, y, ldy, NX, 0))

#define r8v_q4_K_body1(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX) \
    ((void)(off), (void)(dx), r8v_q4_K_nx(w, cols, g0, g1, x, xs, y, ldy, NX, 0))
R8V_WRAP(r8v_q4_0, r8v_q4_0_nx, r8z_q4_0_nx)
R8V_WRAP(r8v_q8_0, r8v_q8_0_nx, r8z_q8_0_nx)
R8V_WRAP(r8v_q5_0, r8v_q5_0_nx, r8z_q5_0_nx)
R8V_WRAP(r8v_q4_K, r8v_q4_K_body1, r8v_q4_K_body)
#define r8v_q5_K_body(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX) \
    ((void)(off), (void)(dx), r8z_q4_K_nx(w, cols, g0, g1, x, xs, y, ldy, NX, 1))
#define r8v_q5_K_body1(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX) \
    ((void)(off), (void)(dx), r8v_q4_K_nx(w, cols, g0, g1, x, xs, y, ldy, NX, 1))
R8V_WRAP(r8v_q5_K, r8v_q5_K_body1, r8v_q5_K_body)
#define r8v_q6_K_body(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX) \
    ((void)(off), (void)(dx), r8z_q6_K_nx(w, cols, g0, g1, x, xs, y, ldy, NX))
#define r8v_q6_K_body1(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX) \
    ((void)(off), (void)(dx), r8v_q6_K_nx(w, cols, g0, g1, x, xs, y, ldy, NX))
R8V_WRAP(r8v_q6_K, r8v_q6_K_body1, r8v_q6_K_body)

vd_r8_fn vd_r8_vnni(int wtype) {
    return wtype == QT_Q4_0 ? r8v_q4_0 : wtype == QT_Q8_0 ? r8v_q8_0 : wtype == QT_Q4_K ? r8v_q4_K
         : wtype == QT_Q6_K ? r8v_q6_K : wtype == QT_Q5_0 ? r8v_q5_0 : wtype == QT_Q5_K ? r8v_q5_K : 0;
}
#else
vd_r8_fn vd_r8_vnni(int wtype) { (void)wtype; return 0; }
#endif
