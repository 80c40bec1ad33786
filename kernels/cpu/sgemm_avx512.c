/* sgemm_avx512: the packed, register-blocked F32 product (sgemm.h) with
 * 16-wide AVX-512 FMAs, for CPUs that run them at twice the AVX2 rate (this
 * project's AMD EPYC: 346 against 172 GFLOPS a core, bench/fmapeak.c).
 *
 * Micro-kernel: a 14x32 tile of C in 28 zmm accumulators; per step of k two
 * 16-wide loads of the B panel and 14 broadcasts of the A panel feed 28 FMAs,
 * enough independent chains to cover the FMA latency on two ports, and few
 * enough loads (16 for 28 FMAs) to stay under the load ports' rate. Loops
 * (Goto and van de Geijn, ACM TOMS 34(3), 2008; BLIS): a KC x NC block of B
 * is packed into 32-column panels (KC x NC x 4 bytes: 576 KB, the L2), an
 * MC x KC block of A into 14-row panels; each A panel (21 KB) then stays in
 * L1 while the kernel walks the B panels past it.
 *
 * Summation order: every element of C adds its k products one by one with
 * FMA, from zero, within k blocks cut exactly as sgemm_avx2.c cuts them, and
 * adds each block's sum to C: the same operations in the same order as the
 * AVX2 kernel, so both give bitwise the same C (tests/test_train_ops.c checks
 * it), whatever m, n or the slice of C a thread is given. Edge tiles use
 * masked loads and stores; packed panels are zero-padded. */
#include "sgemm.h"
#include <immintrin.h>
#include <string.h>

#define MR 14
#define NR 32
#define KC 384         /* most k per block; must match sgemm_avx2.c (same sums) */
#define MC 112
#define NC 384

/* 16 rows of 16 floats (src, stride ld) transposed into dst (stride ldd):
 * dst[j * ldd + i] = src[i * ld + j], j in increasing order. With ldd < 16
 * (A's 14-row panels) each row's store runs 16 - ldd floats into the next
 * row, which the next store (or the caller's later writes) overwrites: the
 * destination needs 16 - ldd floats of slack after its last row. Four
 * rounds of unpack/shuffle. */
static void transpose16(const float *src, size_t ld, float *dst, size_t ldd) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + (size_t)i * ld);
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    }
    /* r[4q + s] now holds, in each 128-bit lane L, column 4L + s of rows 4q..4q+3 */
    for (int s = 0; s < 4; s++) {
        /* gather lane L of r[4q + s] for q = 0..3 into one vector per L */
        __m512 a0 = _mm512_shuffle_f32x4(r[s], r[4 + s], 0x44);       /* q0 L0 L1, q1 L0 L1 */
        __m512 a1 = _mm512_shuffle_f32x4(r[s], r[4 + s], 0xee);       /* q0 L2 L3, q1 L2 L3 */
        __m512 b0 = _mm512_shuffle_f32x4(r[8 + s], r[12 + s], 0x44);
        __m512 b1 = _mm512_shuffle_f32x4(r[8 + s], r[12 + s], 0xee);
        t[0 + s] = _mm512_shuffle_f32x4(a0, b0, 0x88);                /* q0 L0, q1 L0, q2 L0, q3 L0 */
        t[4 + s] = _mm512_shuffle_f32x4(a0, b0, 0xdd);
        t[8 + s] = _mm512_shuffle_f32x4(a1, b1, 0x88);
        t[12 + s] = _mm512_shuffle_f32x4(a1, b1, 0xdd);
    }
    for (int j = 0; j < 16; j++) _mm512_storeu_ps(dst + (size_t)j * ldd, t[j]);
}

/* A block (mc, kc) into panels of MR rows: panel[p * MR + i] = A(i, p).
 * Untransposed sources go 16 rows x 16 k at a time through transpose16
 * where 16 rows exist (rows: how many the source has from the block's
 * first); its 2 floats past each 14-float row are rewritten by the next row,
 * the scalar tail or the next panel, in that order, or land in the
 * buffer's slack. */
__attribute__((noinline)) static void pack_a(bool ta, const float *a, int lda, int mc, int kc, int rows, float *dst) {
    if (ta) {   /* rows of the source are p: each one's mc floats go to every panel in turn */
        int np = (mc + MR - 1) / MR, last = mc - (np - 1) * MR;
        __mmask16 full = (__mmask16)((1u << MR) - 1), lm = (__mmask16)((1u << last) - 1);
        if (last < MR) memset(dst + (size_t)(np - 1) * kc * MR, 0, sizeof(float) * (size_t)kc * MR);
        for (int p = 0; p < kc; p++) {
            const float *src = a + (size_t)p * lda;
            for (int q = 0; q < np; q++) {
                __mmask16 mm = q == np - 1 ? lm : full;
                _mm512_mask_storeu_ps(dst + (size_t)q * kc * MR + p * MR, mm, _mm512_maskz_loadu_ps(mm, src + q * MR));
            }
        }
        return;
    }
    for (int i0 = 0; i0 < mc; i0 += MR) {
        int mr = mc - i0 < MR ? mc - i0 : MR;
        __mmask16 mm = (__mmask16)((1u << mr) - 1);
        if (mr < MR) memset(dst, 0, sizeof(float) * (size_t)kc * MR);
        if (ta) {                       /* rows of the source are p: contiguous runs of i */
            for (int p = 0; p < kc; p++)
                _mm512_mask_storeu_ps(dst + p * MR, mm, _mm512_maskz_loadu_ps(mm, a + (size_t)p * lda + i0));
        } else {
            int p = 0;
            if (mr == MR && i0 + 16 <= rows)
                for (; p + 16 <= kc; p += 16)
                    transpose16(a + (size_t)i0 * lda + p, (size_t)lda, dst + p * MR, MR);
            for (int i = 0; i < mr; i++) {
                const float *row = a + (size_t)(i0 + i) * lda;
                float *d = dst + i;
                for (int q = p; q < kc; q++) d[q * MR] = row[q];
            }
        }
        dst += (size_t)kc * MR;
    }
}

/* B block (kc, nc) into panels of NR columns: panel[p * NR + j] = B(p, j).
 * Transposed sources (tb: B(p, j) = b[j * ldb + p]) go 16 x 16 at a time. */
__attribute__((noinline)) static void pack_b(bool tb, const float *b, int ldb, int kc, int nc, float *dst) {
    for (int j0 = 0; j0 < nc; j0 += NR) {
        int nr = nc - j0 < NR ? nc - j0 : NR;
        if (nr < NR) memset(dst, 0, sizeof(float) * (size_t)kc * NR);
        if (!tb && nr == NR) {   /* two vector copies a row (memcpy calls cost more than the copy) */
            for (int p = 0; p < kc; p++) {
                const float *src = b + (size_t)p * ldb + j0;
                _mm512_storeu_ps(dst + p * NR, _mm512_loadu_ps(src));
                _mm512_storeu_ps(dst + p * NR + 16, _mm512_loadu_ps(src + 16));
            }
        } else if (!tb) {
            for (int p = 0; p < kc; p++) memcpy(dst + p * NR, b + (size_t)p * ldb + j0, sizeof(float) * (size_t)nr);
        } else {
            int j = 0, p16 = kc / 16 * 16;
            for (; j + 16 <= nr; j += 16) {
                const float *src = b + (size_t)(j0 + j) * ldb;
                for (int p = 0; p < p16; p += 16) transpose16(src + p, (size_t)ldb, dst + p * NR + j, NR);
                for (int jj = j; jj < j + 16; jj++)
                    for (int p = p16; p < kc; p++) dst[p * NR + jj] = b[(size_t)(j0 + jj) * ldb + p];
            }
            for (; j < nr; j++) {
                const float *row = b + (size_t)(j0 + j) * ldb;
                for (int p = 0; p < kc; p++) dst[p * NR + j] = row[p];
            }
        }
        dst += (size_t)kc * NR;
    }
}

/* C (mr, nr) += Ap (kc, MR panel) * Bp (kc, NR panel); with fresh, C is
 * not read: it gets 0 + the sum (the same bits as adding to zeros: -0
 * becomes +0), for beta = 0's first k block. */
__attribute__((noinline)) static void kernel(int kc, const float *ap, const float *bp, float *c, int ldc, int mr, int nr, bool fresh) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    __m512 c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    __m512 c80 = c00, c81 = c00, c90 = c00, c91 = c00, ca0 = c00, ca1 = c00, cb0 = c00, cb1 = c00;
    __m512 cc0 = c00, cc1 = c00, cd0 = c00, cd1 = c00;
    for (int i = 0; i < mr && !fresh; i++) {   /* C's tile arrives while the FMAs run (large C lives in memory) */
        _mm_prefetch((const char *)(c + (size_t)i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + (size_t)i * ldc + 16), _MM_HINT_T0);
    }
#define ROW(r, i)                                                                                              \
    a = _mm512_set1_ps(ap[i]);                                                                                 \
    c##r##0 = _mm512_fmadd_ps(a, b0, c##r##0);                                                                 \
    c##r##1 = _mm512_fmadd_ps(a, b1, c##r##1);
    for (int p = 0; p < kc; p++) {
        __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16), a;
        ROW(0, 0) ROW(1, 1) ROW(2, 2) ROW(3, 3) ROW(4, 4) ROW(5, 5) ROW(6, 6)
        ROW(7, 7) ROW(8, 8) ROW(9, 9) ROW(a, 10) ROW(b, 11) ROW(c, 12) ROW(d, 13)
        ap += MR;
        bp += NR;
    }
#undef ROW
    __m512 acc[MR][2] = { { c00, c01 }, { c10, c11 }, { c20, c21 }, { c30, c31 }, { c40, c41 },
                          { c50, c51 }, { c60, c61 }, { c70, c71 }, { c80, c81 }, { c90, c91 },
                          { ca0, ca1 }, { cb0, cb1 }, { cc0, cc1 }, { cd0, cd1 } };
    __m512 zero = _mm512_setzero_ps();
    if (nr == NR) {
        for (int i = 0; i < mr; i++) {
            float *ci = c + (size_t)i * ldc;
            _mm512_storeu_ps(ci, _mm512_add_ps(fresh ? zero : _mm512_loadu_ps(ci), acc[i][0]));
            _mm512_storeu_ps(ci + 16, _mm512_add_ps(fresh ? zero : _mm512_loadu_ps(ci + 16), acc[i][1]));
        }
        return;
    }
    __mmask16 m0 = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1);
    __mmask16 m1 = nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
    for (int i = 0; i < mr; i++) {
        float *ci = c + (size_t)i * ldc;
        _mm512_mask_storeu_ps(ci, m0, _mm512_add_ps(fresh ? zero : _mm512_maskz_loadu_ps(m0, ci), acc[i][0]));
        if (m1)
            _mm512_mask_storeu_ps(ci + 16, m1,
                                  _mm512_add_ps(fresh ? zero : _mm512_maskz_loadu_ps(m1, ci + 16), acc[i][1]));
    }
}

/* The kernel for a panel with at most 16 columns in use (nr <= 16: the
 * last panel of a 48-wide attention head): only the first vector of B, 14
 * FMAs a step instead of 28 with half of them on padding. Per element of C
 * the same FMAs in the same order as kernel(): the same bits. */
__attribute__((noinline)) static void kernel16(int kc, const float *ap, const float *bp, float *c, int ldc, int mr,
                                               int nr, bool fresh) {
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0;
    __m512 c7 = c0, c8 = c0, c9 = c0, ca = c0, cb = c0, cc = c0, cd = c0;
#define ROW(r, i) c##r = _mm512_fmadd_ps(_mm512_set1_ps(ap[i]), b0, c##r);
    for (int p = 0; p < kc; p++) {
        __m512 b0 = _mm512_loadu_ps(bp);
        ROW(0, 0) ROW(1, 1) ROW(2, 2) ROW(3, 3) ROW(4, 4) ROW(5, 5) ROW(6, 6)
        ROW(7, 7) ROW(8, 8) ROW(9, 9) ROW(a, 10) ROW(b, 11) ROW(c, 12) ROW(d, 13)
        ap += MR;
        bp += NR;
    }
#undef ROW
    __m512 acc[MR] = { c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, ca, cb, cc, cd };
    __mmask16 m0 = (__mmask16)((1u << nr) - 1);
    for (int i = 0; i < mr; i++) {
        float *ci = c + (size_t)i * ldc;
        _mm512_mask_storeu_ps(ci, m0, _mm512_add_ps(fresh ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m0, ci), acc[i]));
    }
}

/* One tile: the narrow kernel where at most 16 columns are in use. */
static inline void tile(int kc, const float *ap, const float *bp, float *c, int ldc, int mr, int nr, bool fresh) {
    if (nr <= 16) kernel16(kc, ap, bp, c, ldc, mr, nr, fresh);
    else kernel(kc, ap, bp, c, ldc, mr, nr, fresh);
}

size_t sgemm_apack_floats(int m, int k) {
    int nkb = (k + KC - 1) / KC;
    int kb = nkb ? ((k + nkb - 1) / nkb + 7) / 8 * 8 : 0;
    if (kb > KC) kb = KC;
    return (size_t)((m + MR - 1) / MR) * MR * (size_t)kb + 16;   /* slack: transpose16 */
}

void sgemm_f32_avx512_ws(bool ta, bool tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                         float beta, float *c, int ldc, float *apack) {
    _Alignas(64) float ap[MC * KC + 16];   /* slack: transpose16 */
    _Alignas(64) float bp[KC * NC];
    /* equal k blocks (a multiple of 8), cut exactly as sgemm_avx2.c cuts them */
    int nkb = (k + KC - 1) / KC;
    int kb = nkb ? ((k + nkb - 1) / nkb + 7) / 8 * 8 : 0;
    if (kb > KC) kb = KC;
    /* beta 0: the first k block writes C without reading it (below) */
    if (k <= 0 && beta == 0.0f)
        for (int i = 0; i < m; i++) memset(c + (size_t)i * ldc, 0, sizeof(float) * (size_t)n);
    if (beta != 0.0f && beta != 1.0f)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) c[(size_t)i * ldc + j] *= beta;
    if (apack && n > NC) {
        /* Wide C (x W^T at a 32000-token vocabulary): all of A's panels for
         * a k block are packed once into the caller's buffer and meet every
         * NC block of B, instead of being packed again for each (n / NC
         * times). Per element of C the same k blocks in the same order: the
         * same bits as below. */
        for (int pc = 0; pc < k; pc += kb) {
            int kc = k - pc < kb ? k - pc : kb;
            for (int ic = 0; ic < m; ic += MC) {
                int mc = m - ic < MC ? m - ic : MC;
                pack_a(ta, ta ? a + (size_t)pc * lda + ic : a + (size_t)ic * lda + pc, lda, mc, kc, m - ic,
                       apack + (size_t)ic * kc);
            }
            for (int jc = 0; jc < n; jc += NC) {
                int nc = n - jc < NC ? n - jc : NC;
                pack_b(tb, tb ? b + (size_t)jc * ldb + pc : b + (size_t)pc * ldb + jc, ldb, kc, nc, bp);
                for (int ir = 0; ir < m; ir += MR)
                    for (int jr = 0; jr < nc; jr += NR)
                        tile(kc, apack + (size_t)ir * kc, bp + (size_t)jr * kc, c + (size_t)ir * ldc + jc + jr,
                               ldc, m - ir < MR ? m - ir : MR, nc - jr < NR ? nc - jr : NR, beta == 0.0f && pc == 0);
            }
        }
        return;
    }
    for (int jc = 0; jc < n; jc += NC) {
        int nc = n - jc < NC ? n - jc : NC;
        for (int pc = 0; pc < k; pc += kb) {
            int kc = k - pc < kb ? k - pc : kb;
            pack_b(tb, tb ? b + (size_t)jc * ldb + pc : b + (size_t)pc * ldb + jc, ldb, kc, nc, bp);
            for (int ic = 0; ic < m; ic += MC) {
                int mc = m - ic < MC ? m - ic : MC;
                pack_a(ta, ta ? a + (size_t)pc * lda + ic : a + (size_t)ic * lda + pc, lda, mc, kc, m - ic, ap);
                for (int ir = 0; ir < mc; ir += MR)
                    for (int jr = 0; jr < nc; jr += NR)
                        tile(kc, ap + (size_t)ir * kc, bp + (size_t)jr * kc,
                               c + (size_t)(ic + ir) * ldc + jc + jr, ldc,
                               mc - ir < MR ? mc - ir : MR, nc - jr < NR ? nc - jr : NR, beta == 0.0f && pc == 0);
            }
        }
    }
}

void sgemm_f32_avx512(bool ta, bool tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                      float beta, float *c, int ldc) {
    sgemm_f32_avx512_ws(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc, NULL);
}
