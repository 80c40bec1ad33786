/* vecdot_r8v.h: the 256-bit repacked VNNI kernels (rows interleaved by
 * eight, vd_repack, vecdot.h), written once and compiled twice:
 * vecdot_r8_avx512.c defines R8V_DPBUSD as _mm256_dpbusd_epi32 (AVX512-VNNI
 * with AVX512VL, EVEX-encoded) and adds the 512-bit pair forms;
 * vecdot_r8_avxvnni.c defines it as _mm256_dpbusd_avx_epi32 (AVX-VNNI,
 * VEX-encoded: Alder Lake and later, Zen 5; no AVX-512 needed). Both are
 * the same operation (four u8 x s8 products added into each int32 lane,
 * wrapping, no saturation), and everything else here is AVX2, FMA and F16C,
 * so the two builds compute the same exact integer sums and the same float
 * steps: the same bits. Both builds are tested on a CPU that has both
 * (tests/test_invariance_kernels.c and test_quant.c run every kernel path,
 * vd_set_path); elsewhere the one the CPU has. Include it once,
 * inside the includer's ISA guard, after immintrin.h, vecdot.h, qtypes.h. */
#ifndef VECDOT_R8V_H
#define VECDOT_R8V_H
#ifndef R8V_DPBUSD
#error "vecdot_r8v.h: define R8V_DPBUSD(s, u, x) (a 256-bit vpdpbusd) first"
#endif
#include <string.h>

#define INLINE static inline __attribute__((always_inline))
/* Constant-trip loops (k < 8, j < NX) must be fully unrolled so the
 * accumulator arrays become registers. */
#define UNROLL _Pragma("GCC unroll 16")

INLINE __m256i bc4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* The one inner loop of every repacked VNNI kernel: s + the 32 products of
 * u[0..7] (four unsigned code bytes of each row a lane) with the activation
 * codes q[0..31] (four bytes broadcast per vpdpbusd), in two chains (half
 * the latency). An exact integer: how it is grouped changes no bit. */
INLINE __m256i dot32_256(__m256i s, const __m256i u[8], const int8_t *q) {
    __m256i t = _mm256_setzero_si256();
    UNROLL for (int k = 0; k < 8; k += 2) {
        s = R8V_DPBUSD(s, u[k], bc4(q + 4 * k));
        t = R8V_DPBUSD(t, u[k + 1], bc4(q + 4 * k + 4));
    }
    return _mm256_add_epi32(s, t);
}

/* dot32_256 with nl lines of the next group from pf (and one more when
 * extra: PF_LINES below) prefetched into L2, one line after each pair of
 * vpdpbusd (batch-1 decode: one activation; Q4_0, Q5_0, Q8_0 and, per
 * chunk, Q4_K/Q5_K). Written this way
 * because gcc's generic tuning (the flags of this build) schedules
 * prefetch_blk's calls, and _mm_prefetch calls placed between the loads,
 * all together before the block's loads, and that cost Q8_0 10%: Intel
 * session 11, one core, CPU time, tinyllama's 155 Q8_0 matrices (1099 MB,
 * random codes), interleaved, medians of 7: 86.1 -> 77.7 ms with the lines
 * spread (-mtune=icelake-server spreads them itself: 79.0). So PF_SPREAD is
 * a volatile asm with a memory clobber: the compiler keeps it between the
 * instructions around it. tinyllama decode, -t 1, step CPU time, five and
 * three interleaved rounds: Q4_0 44.2 -> 41.4 ms (0.94x), Q8_0 83.9 ->
 * 76.7 ms (0.91x). Prefetches change no bit, and the sum is dot32_256's
 * (the same vpdpbusd in the same two chains). */
#define PF_SPREAD(p) __asm__ volatile("prefetcht1 %0" : : "m"(*(const char *)(p)) : "memory")
INLINE __m256i dot32_pf(__m256i s, const __m256i u[8], const int8_t *q, const char *pf, const int nl, int extra) {
    __m256i t = _mm256_setzero_si256();
    UNROLL for (int k = 0; k < 8; k += 2) {
        s = R8V_DPBUSD(s, u[k], bc4(q + 4 * k));
        t = R8V_DPBUSD(t, u[k + 1], bc4(q + 4 * k + 4));
        if (k / 2 < nl) PF_SPREAD(pf + 32 * k);
    }
    if (extra) PF_SPREAD(pf + 64 * nl);
    return _mm256_add_epi32(s, t);
}

/* Bit s of each byte moved to bit 4 (the fifth code bit), others cleared:
 * a 16-bit shift never carries a byte's neighbour into bit 4 (s < 8). */
INLINE __m256i bit4_256(__m256i v, int s) {
    v = s < 4 ? _mm256_slli_epi16(v, 4 - s) : s > 4 ? _mm256_srli_epi16(v, s - 4) : v;
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/* Q4_0, Q5_0 and Q8_0 (T) share one body; they differ only in how a block
 * of eight (or sixteen) rows is made unsigned: Q4_0 the nibbles u = q + 8,
 * Q5_0 the nibble and its fifth bit u = q + 16, Q8_0 u = w + 128 (w xor
 * 0x80), so sum(u * x) = sum(w * x) + 8, 16 or 128 * sum(x), and the chain
 * starts at off = -8, -16 or -128 * sum(x) (vd_matmul_r8; any code, -128
 * included, is exact). Per activation and block: dot32 from off, one
 * conversion and acc = fma(sum, dw * dx, acc). Q5_0's fifth bits (vecdot.h,
 * vd_block_q5_0x8): byte 4r + i of hq holds, for row r, the bits of
 * elements 4k + i (bit k) and 16 + 4k + i (bit 4 + k), k < 4. */
enum { B32_Q4 = 0, B32_Q8 = 1, B32_Q5 = 2 };
/* Batch-1 decode (one activation, Q4_0 and Q8_0) prefetches each line of
 * the weights twice, each time once: the next group's lines into L2
 * (dot32_pf, T1: the DRAM stream, a group ahead) and this group's lines
 * R8V_T0_AHEAD blocks ahead from L2 into L1 (T0), PF_LINES lines a block
 * and one more every fourth block: four blocks are 17 lines (Q8_0, 4 x 272
 * bytes) or 9 (Q4_0, 4 x 144). The kernel used to ask for five (three)
 * lines a block, one line in five (three) twice, and nothing into L1.
 * Intel session 12, one core, CPU time: the T1 lines once alone changed
 * nothing measurable (tinyllama's 155 Q8_0 matrices, 15 rounds in random
 * order: 71.1 vs 70.6 ms); with the T0 lines 8 blocks ahead 0.97-0.98x of
 * the old kernel in the same harness (4 and 16 blocks ahead: the same
 * within noise), and tinyllama decode -t 1, step CPU time, four
 * interleaved rounds each, every round lower: Q8_0 76.3 -> 74.6 ms
 * (0.978x), Q4_0 40.8 -> 39.6 ms (0.971x). Prefetches change no bit. */
enum { R8V_T0_AHEAD = 8 };
#define PF_T0(p) __asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)(p)))
#define PF_LINES(T) ((T) == B32_Q8 ? 4 : 2)
#define B32_SIZE(T) ((T) == B32_Q8 ? sizeof(vd_block_q8_0x8) : (T) == B32_Q5 ? sizeof(vd_block_q5_0x8) : sizeof(vd_block_q4_0x8))

INLINE void r8v_blk_unpack(const char *blk, int T, __m256i u[8], __m256 *dw) {
    if (T == B32_Q8) {
        const vd_block_q8_0x8 *B = (const vd_block_q8_0x8 *)blk;
        UNROLL for (int k = 0; k < 8; k++)
            u[k] = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(B->qs + 32 * k)), _mm256_set1_epi8((char)0x80));
        *dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)B->d));
        return;
    }
    /* u[k]: elements 4k..4k+3 of each row (k < 4 low nibbles, else high) */
    const uint8_t *qs = T == B32_Q5 ? ((const vd_block_q5_0x8 *)blk)->qs : ((const vd_block_q4_0x8 *)blk)->qs;
    UNROLL for (int k = 0; k < 4; k++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * k));
        u[k] = _mm256_and_si256(v, _mm256_set1_epi8(15));
        u[k + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(15));
    }
    if (T == B32_Q5) {
        __m256i h = _mm256_loadu_si256((const __m256i *)((const vd_block_q5_0x8 *)blk)->hq);
        UNROLL for (int k = 0; k < 8; k++) u[k] = _mm256_or_si256(u[k], bit4_256(h, k));
    }
    *dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk));   /* d[8] leads every block */
}

/* The next group's block into L1 (T0), two or more activations: its lines
 * (Q8_0 272 bytes: five; Q5_0 176: three; Q4_0 144: two). One activation
 * (batch-1 decode, read from DRAM) prefetches into L2 in dot32_pf instead:
 * T1 and three lines for Q4_0 (a 144-byte block starting at 144b spans up
 * to three; with two, one line in nine was left to the hardware
 * prefetcher) measured on the Intel Xeon of session 10 (one core, CPU
 * time, tinyllama's 155 matrices, 582 MB, interleaved, medians of 9): Q4_0
 * T0 two lines 40.7 ms, T1 three 37.3 (0.92x); Q8_0 (116 MB) 0.88x.
 * Prefetches change no bit. */
INLINE void prefetch_blk(const char *p, int T) {
    _mm_prefetch(p, _MM_HINT_T0);
    _mm_prefetch(p + 64, _MM_HINT_T0);
    if (T != B32_Q4) _mm_prefetch(p + 128, _MM_HINT_T0);
    if (T == B32_Q8) {
        _mm_prefetch(p + 192, _MM_HINT_T0);
        _mm_prefetch(p + 256, _MM_HINT_T0);
    }
}

INLINE void r8v_b32_nx(const void *w, int64_t cols, int64_t g0, int64_t g1, const char *x, size_t xs,
                       const int32_t *off, const float *dx, float *y, int64_t ldy, const int NX, const int T) {
    const int64_t nb = cols / 32;
    const size_t bs = B32_SIZE(T);
    for (int64_t g = g0; g < g1; g++) {
        const char *B = (const char *)w + (size_t)(g * nb) * bs, *next = B + (size_t)nb * bs;
        const char *pf = next, *ahead = B + R8V_T0_AHEAD * bs;   /* spread: T1 and T0 lines (above) */
        __m256 acc[VD_R8V_NX];
        UNROLL for (int j = 0; j < NX; j++) acc[j] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            /* one activation: dot32_pf prefetches (Q5_0 too since session 12:
             * Intel, one core, tinyllama's 155 Q5_0 matrices, 711 MB, CPU
             * time, interleaved in one process with Q4_0, medians of 9:
             * 13.86 -> 15.16 GB/s, per byte 0.93 -> 1.02 of Q4_0, where
             * prefetch_blk's three T1 lines came out clustered) */
            const int spread = NX == 1;
            if (!spread) prefetch_blk(next + b * bs, T);
            __m256i u[8];
            __m256 dw;
            r8v_blk_unpack(B + b * bs, T, u, &dw);
            /* Q5_0 keeps its three T1 lines of the block a group ahead (w22k);
             * Q4_0/Q8_0 take each line once plus the T0 lines (above) */
            const int once = spread && T != B32_Q5;
            const int nl = once ? PF_LINES(T) : 3, extra = once && (b & 3) == 3;
            if (once) { PF_T0(ahead); PF_T0(ahead + 64); }
            UNROLL for (int j = 0; j < NX; j++) {
                const int8_t *q = ((const qt_block_q8_0 *)(x + j * xs))[b].qs;
                __m256i s = spread ? dot32_pf(_mm256_set1_epi32(off[j * nb + b]), u, q, once ? pf : next + b * bs, nl, extra)
                                   : dot32_256(_mm256_set1_epi32(off[j * nb + b]), u, q);
                acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(dw, _mm256_set1_ps(dx[j * nb + b])), acc[j]);
            }
            if (once) {
                if (nl > 2) { PF_T0(ahead + 128); PF_T0(ahead + 192); }
                if (extra) PF_T0(ahead + 64 * nl);
                ahead += 64 * (nl + extra);
                pf += 64 * (nl + extra);
            }
        }
        UNROLL for (int j = 0; j < NX; j++) _mm256_storeu_ps(y + j * ldy + 8 * g, acc[j]);
    }
}

#define r8v_q4_0_nx(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX) r8v_b32_nx(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX, B32_Q4)

#define r8v_q8_0_nx(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX) r8v_b32_nx(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX, B32_Q8)

#define r8v_q5_0_nx(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX) r8v_b32_nx(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX, B32_Q5)

/* Q4_K repacked (vd_block_q4_Kx8) against Q8_K rows. ORDER (the Q4_K order
 * of vecdot.h, as r8_q4_K in vecdot_r8_avx2.c): per super-block the exact
 * integer sums is = sum_s sc_s * dot_s over its eight sub-blocks and im =
 * sum_s mn_s * (sum of the activation's codes in s), then acc = fma(is, d *
 * dx, acc) and acc = fma(-im, dmin * dx, acc), one lane per row. A
 * sub-block's 32 elements of eight rows are eight vectors of nibbles
 * (unpacked once for all activations); each activation's dot_s is eight
 * vpdpbusd (int32 lanes, so no int16 intermediate), scaled by sc_s with
 * one vpmulld. |is| < 8 * 63 * 32 * 15 * 127 < 2^31: exact. */
/* Q5_K (Q5 = 1) shares the Q4_K body: its copy (vd_block_q5_Kx8) is Q4_K's
 * followed by the fifth bits, qh[32k + 4r + i] = qh byte 4k + i of row r;
 * sub-block s's codes gain bit s of qh as their bit 4 (as dot1_k4 in
 * vecdot.c), |is| < 8 * 63 * 32 * 31 * 127 < 2^31: still exact. */
#define KX8_SIZE(Q5) ((Q5) ? sizeof(vd_block_q5_Kx8) : sizeof(vd_block_q4_Kx8))
/* u (codes 0..15) with bit s of each byte of h added as 16: the same bytes
 * either way. With AVX512BW+VL (the AVX-512 build) a byte test into a mask
 * and a masked add (two instructions, one of them the test) replace the
 * shift, and and or of bit4_256: Q5_K one activation, Intel session 10,
 * one core, 727 MB, CPU time, medians of 5: 66.2 -> 57.5 ms (0.87x). */
INLINE __m256i q5_bit4(__m256i u, __m256i h, int s) {
#if defined(__AVX512BW__) && defined(__AVX512VL__)
    return _mm256_mask_add_epi8(u, _mm256_test_epi8_mask(h, _mm256_set1_epi8((char)(1 << s))), u, _mm256_set1_epi8(16));
#else
    return _mm256_or_si256(u, bit4_256(h, s));
#endif
}
/* Chunk c's share of the next group's super-block: five lines (Q4_K, 1184
 * bytes), six (Q5_K, 1440), into L1 (T0): two or more activations. One
 * activation (batch-1 decode, read from DRAM) prefetches them into L2 in
 * dot32_pf instead, four after the pairs of vpdpbusd of the chunk's low
 * nibbles, the rest after those of its high nibbles. As _mm_prefetch calls
 * (gcc put them before the chunk's first loads) and as held lines before
 * every other unpacked vector (Q5_K since session 11) both read slower:
 * Intel session 12, one core, tinyllama's 155 matrices, CPU time,
 * interleaved in one process with Q4_0 (unchanged), medians of 7 and 9,
 * per byte vs Q4_0: Q4_K 0.962-0.988 -> 1.04-1.06 (598 MB, 14.7-15.0 ->
 * 15.8-16.1 GB/s), Q5_K 0.963-0.973 -> 0.987/0.994; of eleven other
 * placements of Q4_K's lines (before, between or after the loads, every
 * vector, every second or third, two groups or four super-blocks ahead,
 * T0, T2, none) none beat the _mm_prefetch calls. Prefetches change no
 * bit, and dot32_pf's sum is dot32_256's. */
/* Q5_K one activation also takes this group's lines R8V_Q5K_T0_AHEAD
 * super-blocks (2.9 KB) ahead from L2 into L1 (T0), as Q4_0/Q8_0 take
 * theirs: decbench, Intel session 13 (loaded, load 4.5-6.5), one core, CPU
 * time, old and new libraries alternating, per byte vs Q4_0 in the same
 * process: none 0.894-0.926 (median 0.921 of six), 1 ahead 0.950-0.979,
 * 2 ahead 0.950-0.963, 4 ahead 0.927-0.992, 8 ahead 0.863-0.889 (past a
 * 2048-column group: not yet in L2), 16 ahead 0.72-0.75; a second run, 3
 * rounds: none 0.937 each, 2 ahead 0.962-0.974 (the eight qh vectors
 * loaded once a super-block instead: 0.944-0.957). Q4_K with T0
 * lines gained nothing (w22k, session 12). Prefetches change no bit. */
enum { R8V_Q5K_T0_AHEAD = 2 };
INLINE void prefetch_kx8(const char *p, int c, int Q5) {
    const int n = Q5 ? 6 : 5;
    _mm_prefetch(p + 64 * (n * c), _MM_HINT_T0);
    _mm_prefetch(p + 64 * (n * c + 1), _MM_HINT_T0);
    _mm_prefetch(p + 64 * (n * c + 2), _MM_HINT_T0);
    _mm_prefetch(p + 64 * (n * c + 3), _MM_HINT_T0);
    _mm_prefetch(p + 64 * (n * c + 4), _MM_HINT_T0);
    if (Q5) _mm_prefetch(p + 64 * (n * c + 5), _MM_HINT_T0);
}

INLINE void r8v_q4_K_nx(const void *w, int64_t cols, int64_t g0, int64_t g1, const char *x, size_t xs,
                        float *y, int64_t ldy, const int NX, const int Q5) {
    const __m256i m4 = _mm256_set1_epi8(15);
    const int64_t nb = cols / 256;
    const size_t bs = KX8_SIZE(Q5);
    for (int64_t g = g0; g < g1; g++) {
        const char *B = (const char *)w + (size_t)(g * nb) * bs, *next = B + (size_t)nb * bs;
        __m256 acc[VD_R8V_NX];
        UNROLL for (int j = 0; j < NX; j++) acc[j] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const vd_block_q4_Kx8 *K = (const vd_block_q4_Kx8 *)(B + b * bs);
            const uint8_t *qh = Q5 ? ((const vd_block_q5_Kx8 *)K)->qh : NULL;
            __m256i is[VD_R8V_NX];
            UNROLL for (int j = 0; j < NX; j++) is[j] = _mm256_setzero_si256();
            for (int c = 0; c < 4; c++) {
                if (NX > 1) prefetch_kx8(next + b * bs, c, Q5);
                UNROLL for (int h = 0; h < 2; h++) {   /* sub-block 2c + h: low (h = 0) or high nibbles */
                    __m256i u[8];
                    UNROLL for (int k = 0; k < 8; k++) {
                        __m256i v = _mm256_loadu_si256((const __m256i *)(K->qs + 256 * c + 32 * k));
                        u[k] = _mm256_and_si256(h ? _mm256_srli_epi16(v, 4) : v, m4);
                        if (Q5) u[k] = q5_bit4(u[k], _mm256_loadu_si256((const __m256i *)(qh + 32 * k)), 2 * c + h);
                    }
                    __m256i sc = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)K->sc[2 * c + h]));
                    UNROLL for (int j = 0; j < NX; j++) {
                        const int8_t *q = ((const qt_block_q8_K *)(x + j * xs) + b)->qs + 64 * c + 32 * h;
                        const int n = Q5 ? 6 : 5;   /* chunk c's lines (prefetch_kx8) */
                        __m256i d = NX == 1 ? dot32_pf(_mm256_setzero_si256(), u, q, next + b * bs + 64 * (n * c + 4 * h), h ? n - 4 : 4, 0)
                                            : dot32_256(_mm256_setzero_si256(), u, q);
                        is[j] = _mm256_add_epi32(is[j], _mm256_mullo_epi32(d, sc));
                    }
                    /* Q5_K, one activation: this group's super-block
                     * R8V_Q5K_T0_AHEAD ahead from L2 into L1, three lines
                     * after each sub-block's dot (24 lines cover its 1440
                     * bytes at either alignment) */
                    if (NX == 1 && Q5) {
                        const char *t0 = B + (b + R8V_Q5K_T0_AHEAD) * bs + 64 * 3 * (2 * c + h);
                        PF_T0(t0); PF_T0(t0 + 64); PF_T0(t0 + 128);
                    }
                }
            }
            /* [mn_2p, mn_2p+1] per row against the two sub-blocks' code sums */
            __m256i mn[4];
            UNROLL for (int p = 0; p < 4; p++) mn[p] = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)K->mn[p]));
            __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)K->d));
            __m256 dm = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)K->dmin));
            UNROLL for (int j = 0; j < NX; j++) {
                const qt_block_q8_K *xb = (const qt_block_q8_K *)(x + j * xs) + b;
                __m256i im = _mm256_setzero_si256();
                UNROLL for (int p = 0; p < 4; p++) {
                    const int16_t *bs = xb->bsums + 4 * p;
                    uint32_t pair = (uint16_t)(bs[0] + bs[1]) | (uint32_t)(uint16_t)(bs[2] + bs[3]) << 16;
                    im = _mm256_add_epi32(im, _mm256_madd_epi16(mn[p], _mm256_set1_epi32((int32_t)pair)));
                }
                __m256 dx = _mm256_set1_ps(xb->d);
                acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is[j]), _mm256_mul_ps(dw, dx), acc[j]);
                acc[j] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(im), _mm256_mul_ps(dm, dx), acc[j]);
            }
        }
        UNROLL for (int j = 0; j < NX; j++) _mm256_storeu_ps(y + j * ldy + 8 * g, acc[j]);
    }
}

/* Q6_K repacked (vd_block_q6_Kx8) against Q8_K rows. ORDER (the Q6_K order
 * of vecdot.h, as dot1_q6_K in vecdot.c): per super-block the exact integer
 * is = sum_k sc_k * sum_{i in k} (q_i - 32) * x_i over its sixteen
 * 16-element sub-blocks k, then acc = fma(is, d * dx, acc), one lane per
 * row. The codes u = q (0..63, four low bits from ql, two from qh, both
 * kept packed as in the file: the copy has the original's bytes) are
 * unsigned, so a sub-block's chain starts at -32 * (the activation's code
 * sum over it: Q8_K's bsums) and adds four vpdpbusd; one vpmulld scales it
 * by sc_k. The sums are exact integers (|is| < 16 * 128 * 16 * 63 * 128 <
 * 2^31), so their grouping changes no bit. Elements 128h + 32t + 4m + i
 * (half h, quarter t, m < 8, i < 4): low bits in ql vector 16h + 8(t & 1) +
 * m (the high nibble when t >= 2), high bits in qh vector 8h + m at bit 2t;
 * sub-block 8h + 2t + m / 4. */
INLINE __m256i q6_u256(const vd_block_q6_Kx8 *K, int h, int t, int m) {
    __m256i l = _mm256_loadu_si256((const __m256i *)(K->ql + 32 * (16 * h + 8 * (t & 1) + m)));
    __m256i q = _mm256_loadu_si256((const __m256i *)(K->qh + 32 * (8 * h + m)));
    l = t >> 1 ? _mm256_srli_epi16(l, 4) : l;
    q = t == 3 ? _mm256_srli_epi16(q, 2) : t == 2 ? q : _mm256_slli_epi16(q, 4 - 2 * t);
    return _mm256_or_si256(_mm256_and_si256(l, _mm256_set1_epi8(15)), _mm256_and_si256(q, _mm256_set1_epi8(0x30)));
}

/* Step (h, t)'s share of the next group's super-block: lines 16h + 4t ..
 * + 3, only the 27 lines of its 1680 bytes (the old 32 reached into the
 * block after). Into L2 (T1), not L1: with T0 batch-1 decode read 13-14
 * GB/s from DRAM on one core (Zen 4, 32000 x 2048, Q4_0 30 GB/s: the
 * prefetches stalled on full miss buffers), with T1 28-30 GB/s (/tmp
 * microbench, session 9 notes). Q4_0/Q4_K/Q8_0 are slower with T1. */
INLINE void prefetch_q6(const char *p, int h, int t, const int NX) {
    UNROLL for (int pf = 0; pf < 4; pf++) {
        if (16 * h + 4 * t + pf >= 27) continue;
        if (NX <= 4) _mm_prefetch(p + 64 * (16 * h + 4 * t + pf), _MM_HINT_T1);
        else _mm_prefetch(p + 64 * (16 * h + 4 * t + pf), _MM_HINT_T0);
    }
}

/* One activation (batch-1 decode): step (h, t)'s lines into L2 one at a
 * time, before every other unpacked vector, rather than four at the start
 * of the step. A volatile asm with a memory clobber, not _mm_prefetch:
 * gcc's generic tuning (this build's flags) schedules _mm_prefetch calls
 * together ahead of the loads around them, and kept that way the spreading
 * gained 2-4%; held in place by the clobber it gained 14-17%: Intel session
 * 11, one core, tinyllama's 155 Q6_K matrices (849 MB), CPU time,
 * interleaved in one process, medians of 11: 13.1-13.3 -> 15.1-15.4 GB/s,
 * Q4_0 14.4 in the same runs (w22q found the same for Q4_0/Q8_0's
 * prefetch_blk). Prefetches change no bit. */
INLINE void prefetch_q6_line(const char *p, int line) {
    if (line < 27) __asm__ volatile("prefetcht1 %0" : : "m"(*(p + 64 * line)) : "memory");
}

INLINE void r8v_q6_K_nx(const void *w, int64_t cols, int64_t g0, int64_t g1, const char *x, size_t xs,
                        float *y, int64_t ldy, const int NX) {
    const int64_t nb = cols / 256;
    for (int64_t g = g0; g < g1; g++) {
        const vd_block_q6_Kx8 *B = (const vd_block_q6_Kx8 *)w + g * nb;
        const char *next = (const char *)(B + nb);
        __m256 acc[VD_R8V_NX];
        UNROLL for (int j = 0; j < NX; j++) acc[j] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const vd_block_q6_Kx8 *K = B + b;
            __m256i is[VD_R8V_NX];
            UNROLL for (int j = 0; j < NX; j++) is[j] = _mm256_setzero_si256();
            for (int h = 0; h < 2; h++)
                UNROLL for (int t = 0; t < 4; t++) {
                    if (NX > 1) prefetch_q6(next + b * sizeof *K, h, t, NX);
                    __m256i u[8];
                    UNROLL for (int m = 0; m < 8; m++) {
                        if (NX == 1 && !(m & 1)) prefetch_q6_line(next + b * sizeof *K, 16 * h + 4 * t + m / 2);
                        u[m] = q6_u256(K, h, t, m);
                    }
                    int k = 8 * h + 2 * t;
                    __m256i sc0 = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)K->sc[k]));
                    __m256i sc1 = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)K->sc[k + 1]));
                    UNROLL for (int j = 0; j < NX; j++) {
                        const qt_block_q8_K *xb = (const qt_block_q8_K *)(x + j * xs) + b;
                        const int8_t *q = xb->qs + 128 * h + 32 * t;
                        __m256i d0 = _mm256_set1_epi32(-32 * xb->bsums[k]), d1 = _mm256_set1_epi32(-32 * xb->bsums[k + 1]);
                        UNROLL for (int m = 0; m < 4; m++) {
                            d0 = R8V_DPBUSD(d0, u[m], bc4(q + 4 * m));
                            d1 = R8V_DPBUSD(d1, u[m + 4], bc4(q + 16 + 4 * m));
                        }
                        is[j] = _mm256_add_epi32(is[j], _mm256_add_epi32(_mm256_mullo_epi32(d0, sc0), _mm256_mullo_epi32(d1, sc1)));
                    }
                }
            __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)K->d));
            UNROLL for (int j = 0; j < NX; j++) {
                const qt_block_q8_K *xb = (const qt_block_q8_K *)(x + j * xs) + b;
                acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is[j]), _mm256_mul_ps(dw, _mm256_set1_ps(xb->d)), acc[j]);
            }
        }
        UNROLL for (int j = 0; j < NX; j++) _mm256_storeu_ps(y + j * ldy + 8 * g, acc[j]);
    }
}

/* One activation (batch-1 decode, DRAM-bound) keeps the 256-bit form body1:
 * measured under load, the pair form read no faster from DRAM there. */
#define R8V_WRAP(name, body1, body)                                                               \
    static void name(const void *w, int64_t cols, int64_t g0, int64_t g1, const void *xv, size_t xs, \
                     int nx, const int32_t *off, const float *dx, float *y, int64_t ldy) {        \
        const char *x = xv;                                                                       \
        switch (nx) {                                                                             \
        case 1: body1(w, cols, g0, g1, x, xs, off, dx, y, ldy, 1); break;                         \
        case 2: body(w, cols, g0, g1, x, xs, off, dx, y, ldy, 2); break;                          \
        case 3: body(w, cols, g0, g1, x, xs, off, dx, y, ldy, 3); break;                          \
        case 4: body(w, cols, g0, g1, x, xs, off, dx, y, ldy, 4); break;                          \
        case 5: body(w, cols, g0, g1, x, xs, off, dx, y, ldy, 5); break;                          \
        case 6: body(w, cols, g0, g1, x, xs, off, dx, y, ldy, 6); break;                          \
        case 7: body(w, cols, g0, g1, x, xs, off, dx, y, ldy, 7); break;                          \
        default: body(w, cols, g0, g1, x, xs, off, dx, y, ldy, 8); break;                         \
        }                                                                                         \
    }

#endif
