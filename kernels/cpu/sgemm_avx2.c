/* sgemm_avx2: the packed, register-blocked F32 product (sgemm.h) with AVX2
 * FMA. Block sizes: a 6x16 tile of C lives in twelve ymm registers; a KC x 16
 * panel of B (24 KB) stays in L1, an MC x KC block of A (144 KB) in L2, a
 * KC x NC block of B (768 KB) in L2/L3. Packed panels are zero-padded at
 * the edges, so the kernel never branches on sizes; edge tiles go through a
 * temporary. The packing buffers live on the stack (912 KB). */
#include "sgemm.h"
#include <immintrin.h>
#include <string.h>

#define MR 6
#define NR 16
#define KC 384         /* most k per block; k is cut into equal blocks of at most this */
#define MC 96
#define NC 512

/* A block (mc, kc) into panels of MR rows: panel[p * MR + i] = A(i, p).
 * The loops follow the source's layout so the reads stream. */
static void pack_a(bool ta, const float *a, int lda, int mc, int kc, float *dst) {
    for (int i0 = 0; i0 < mc; i0 += MR) {
        int mr = mc - i0 < MR ? mc - i0 : MR;
        if (mr < MR) memset(dst, 0, sizeof(float) * (size_t)kc * MR);
        if (ta) {
            for (int p = 0; p < kc; p++)
                for (int i = 0; i < mr; i++) dst[p * MR + i] = a[(size_t)p * lda + i0 + i];
        } else {
            for (int i = 0; i < mr; i++) {
                const float *row = a + (size_t)(i0 + i) * lda;
                for (int p = 0; p < kc; p++) dst[p * MR + i] = row[p];
            }
        }
        dst += (size_t)kc * MR;
    }
}

/* B block (kc, nc) into panels of NR columns: panel[p * NR + j] = B(p, j). */
static void pack_b(bool tb, const float *b, int ldb, int kc, int nc, float *dst) {
    for (int j0 = 0; j0 < nc; j0 += NR) {
        int nr = nc - j0 < NR ? nc - j0 : NR;
        if (nr < NR) memset(dst, 0, sizeof(float) * (size_t)kc * NR);
        if (!tb) {
            for (int p = 0; p < kc; p++) memcpy(dst + p * NR, b + (size_t)p * ldb + j0, sizeof(float) * (size_t)nr);
        } else {
            for (int j = 0; j < nr; j++) {
                const float *row = b + (size_t)(j0 + j) * ldb;
                for (int p = 0; p < kc; p++) dst[p * NR + j] = row[p];
            }
        }
        dst += (size_t)kc * NR;
    }
}

/* C (mr, nr) += Ap (kc, MR panel) * Bp (kc, NR panel). */
static void kernel(int kc, const float *ap, const float *bp, float *c, int ldc, int mr, int nr) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int p = 0; p < kc; p++) {
        __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
        __m256 a;
        a = _mm256_broadcast_ss(ap + 0); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
        a = _mm256_broadcast_ss(ap + 1); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
        a = _mm256_broadcast_ss(ap + 2); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
        a = _mm256_broadcast_ss(ap + 3); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
        a = _mm256_broadcast_ss(ap + 4); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
        a = _mm256_broadcast_ss(ap + 5); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
        ap += MR;
        bp += NR;
    }
    __m256 acc[MR][2] = { { c00, c01 }, { c10, c11 }, { c20, c21 }, { c30, c31 }, { c40, c41 }, { c50, c51 } };
    if (mr == MR && nr == NR) {
        for (int i = 0; i < MR; i++) {
            float *ci = c + (size_t)i * ldc;
            _mm256_storeu_ps(ci, _mm256_add_ps(_mm256_loadu_ps(ci), acc[i][0]));
            _mm256_storeu_ps(ci + 8, _mm256_add_ps(_mm256_loadu_ps(ci + 8), acc[i][1]));
        }
        return;
    }
    float t[MR * NR];
    for (int i = 0; i < MR; i++) {
        _mm256_storeu_ps(t + i * NR, acc[i][0]);
        _mm256_storeu_ps(t + i * NR + 8, acc[i][1]);
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) c[(size_t)i * ldc + j] += t[i * NR + j];
}

void sgemm_f32_avx2(bool ta, bool tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                    float beta, float *c, int ldc) {
    _Alignas(32) float ap[MC * KC];
    _Alignas(32) float bp[KC * NC];
    /* equal k blocks (a multiple of 8): no short last block; the order of the
     * sums depends on k alone */
    int nkb = (k + KC - 1) / KC;
    int kb = nkb ? ((k + nkb - 1) / nkb + 7) / 8 * 8 : 0;
    if (kb > KC) kb = KC;
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        if (beta == 0.0f) memset(ci, 0, sizeof(float) * (size_t)n);
        else if (beta != 1.0f) for (int j = 0; j < n; j++) ci[j] *= beta;
    }
    for (int jc = 0; jc < n; jc += NC) {
        int nc = n - jc < NC ? n - jc : NC;
        for (int pc = 0; pc < k; pc += kb) {
            int kc = k - pc < kb ? k - pc : kb;
            pack_b(tb, tb ? b + (size_t)jc * ldb + pc : b + (size_t)pc * ldb + jc, ldb, kc, nc, bp);
            for (int ic = 0; ic < m; ic += MC) {
                int mc = m - ic < MC ? m - ic : MC;
                pack_a(ta, ta ? a + (size_t)pc * lda + ic : a + (size_t)ic * lda + pc, lda, mc, kc, ap);
                for (int jr = 0; jr < nc; jr += NR)
                    for (int ir = 0; ir < mc; ir += MR)
                        kernel(kc, ap + (size_t)ir * kc, bp + (size_t)jr * kc,
                               c + (size_t)(ic + ir) * ldc + jc + jr, ldc,
                               mc - ir < MR ? mc - ir : MR, nc - jr < NR ? nc - jr : NR);
            }
        }
    }
}
