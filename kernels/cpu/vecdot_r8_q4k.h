/* vecdot_r8_q4k.h: the end of one repacked Q4_K / Q5_K super-block on two
 * groups per 512-bit vector (sixteen rows), written once for the
 * AVX512-VNNI kernel (vecdot_r8_avx512.c, r8z_q4_K_nx) and the AMX one
 * (vecdot_r8_amx.c), which must give the same bits: the mins' integer term
 * from the activation's bsums, then acc = fma(is * (dw * dx), acc) and
 * acc = fnmadd(im * (dm * dx), acc) per activation, in that order (the
 * ORDER of vecdot.h; tests/test_invariance_kernels.c and test_quant.c run both
 * paths). Include it inside the includer's ISA guard (AVX-512 F/BW, FMA,
 * F16C), after immintrin.h, vecdot.h and qtypes.h, with INLINE, UNROLL and
 * ld2x128 (the 128-bit vectors at p and p + d as one 256-bit vector)
 * defined. */
#ifndef VECDOT_R8_Q4K_H
#define VECDOT_R8_Q4K_H

/* Super-block b of the group pair at K (gs bytes from the first group's
 * blocks to the second's): is[j] holds activation j's scaled integer sums
 * (j < NX, the activations x + j * xs); their sixteen running sums are at
 * y + j * ldy + 8 * g. */
INLINE void r8z_q4_K_end(const vd_block_q4_Kx8 *K, size_t gs, const __m512i *is, const int NX, const char *x,
                         size_t xs, int64_t b, float *y, int64_t ldy, int64_t g) {
    __m512i mn[4];
    UNROLL for (int p = 0; p < 4; p++) mn[p] = _mm512_cvtepu8_epi16(ld2x128(K->mn[p], gs));
    __m512 dw = _mm512_cvtph_ps(ld2x128(K->d, gs));
    __m512 dm = _mm512_cvtph_ps(ld2x128(K->dmin, gs));
    UNROLL for (int j = 0; j < NX; j++) {
        const qt_block_q8_K *xb = (const qt_block_q8_K *)(x + j * xs) + b;
        __m512i im = _mm512_setzero_si512();
        UNROLL for (int p = 0; p < 4; p++) {
            const int16_t *bsum = xb->bsums + 4 * p;
            uint32_t pair = (uint16_t)(bsum[0] + bsum[1]) | (uint32_t)(uint16_t)(bsum[2] + bsum[3]) << 16;
            im = _mm512_add_epi32(im, _mm512_madd_epi16(mn[p], _mm512_set1_epi32((int32_t)pair)));
        }
        __m512 dx = _mm512_set1_ps(xb->d);
        __m512 acc = _mm512_loadu_ps(y + j * ldy + 8 * g);
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is[j]), _mm512_mul_ps(dw, dx), acc);
        acc = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(im), _mm512_mul_ps(dm, dx), acc);
        _mm512_storeu_ps(y + j * ldy + 8 * g, acc);
    }
}
#endif
