/* vexp_avx2: exp of eight floats with AVX2/FMA, shared by the inference
 * kernels (vecdot_avx2.c: silu, vd_exp_f32) and training's loops (tvec_avx2.c),
 * so both compute the same bits. Include only from files built with
 * -mavx2 -mfma. */
#ifndef VEXP_AVX2_H
#define VEXP_AVX2_H
#include <immintrin.h>

/* exp(x) for eight floats: x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in
 * two so n ln2 is exact), exp(r) by the degree-7 minimax polynomial of Cephes
 * expf (Moshier, "Methods and Programs for Mathematical Functions", 1989),
 * 2^n built in the exponent bits. Within 2 ulp of expf on [-87, 88]; below
 * that it returns 2^-126-ish small values, above it +inf never occurs (the
 * input is clamped), which silu below does not need. */
static inline __attribute__((always_inline)) __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}
#endif
