/* smp_simd: the AVX2 and AVX-512 loops of the samplers' whole-row passes
 * (internal to the smp module: used by smp_mass.c and smp.c).
 *
 * Each function does what a plain loop in smp_mass.c does, on the first
 * part of a range (eight or sixteen at a time), and returns where the plain
 * loop goes on: the same float and double operations in the same order per
 * candidate, and sums kept in the same lanes (sum j of eight gets
 * candidates j, j + 8, ... in order), so a row gives the same bits with or
 * without them. Callers use them only when smp_simd_on() (vd_isa() >=
 * VD_AVX2: tests switch the kernels and these loops off together) and the
 * _512 ones only when smp_simd_512().
 */
#ifndef SMP_SIMD_H
#define SMP_SIMD_H
#include <stdint.h>

/* The buckets of the mass selection (smp_mass.c): key k >= 0 goes to
 * bucket (int)(k * scale), the last one for keys beyond, +inf and NaN. */
#define SMP_SIMD_NB 1024
/* The blocks of smp_simd_cut_sums_512 */
#define SMP_SIMD_CUT_BLK 256
/* E[l]'s blocks (session 14): the products e * l of a block of this many
 * candidates (from a multiple of it) are summed in sixteen float lanes
 * (candidate j into lane j % 16, in order), then lane k and lane k + 8
 * added, in that order, into double sum k of eight. */
#define SMP_SIMD_EL_BLK 256

/* The samplers' exp (session 14): e = 2^n * p(r), n = x * log2(e)
 * rounded to nearest even, r = x - n ln2 in two parts, p a degree-6
 * polynomial (1 + r + c2 r^2 + ... + c6 r^6, Horner, FMA; c2..c6 fitted
 * for the least largest relative error on |r| <= ln2 / 2), 2^n applied
 * exactly (vscalefps, a multiply by the float 2^n, ldexpf). For every
 * float x in [-87, 0] it is within 2^-23.6 of exp(x) (checked for each
 * of them once; tests/test_smp_fast.c checks a sample), and the AVX-512,
 * AVX2 and plain versions give the same bits (same float operations: FMA
 * rounds once, 2^n is exact; for x < -87 and NaN: 0). Two vector uops
 * fewer than kernels/cpu/vexp_avx2.h's (vd_exp_f32: degree 7 as
 * r^2 p5(r) + r + 1) and more accurate (its error is ~2^-23). */
#define SMP_EXP_LOG2E 1.44269504088896341f
#define SMP_EXP_LN2_HI 0.693359375f
#define SMP_EXP_LN2_LO (-2.12194440e-4f)
#define SMP_EXP_C6 1.3879675239e-03f
#define SMP_EXP_C5 8.3687297573e-03f
#define SMP_EXP_C4 4.1667227738e-02f
#define SMP_EXP_C3 1.6666520570e-01f
#define SMP_EXP_C2 4.9999998250e-01f
/* x[j] = the samplers' exp of x[j] (0 where !(x >= -87)); x <= 88. */
void smp_simd_exp(float *x, int32_t n);
/* The same eight at a time (AVX2); returns n rounded down to 8. */
int32_t smp_simd_exp_avx2(float *x, int32_t n);

int smp_simd_on(void);
/* Tests: with on, smp_simd_on() and smp_simd_512() say 0, so the plain
 * loops run with the SIMD kernels (smp_simd_exp's AVX2 loop) still on: the two must give
 * the same bits. Process-wide, like vd_set_isa. */
void smp_simd_set_plain(int on);
int smp_simd_512(void);

/* The largest of x[0..i) (NaN skipped) into *m, the smallest above -inf
 * into *lo; i = n rounded down to 8. */
int32_t smp_simd_range(const float *x, int32_t n, float *m, float *lo);
/* The same sixteen at a time (AVX-512). */
int32_t smp_simd_range_512(const float *x, int32_t n, float *m, float *lo);
/* The same while copying x[0..i) to y (AVX-512). */
int32_t smp_simd_copy_range_512(const float *x, float *y, int32_t n, float *m, float *lo);
/* x = L[j] - m, P[j] = exp(x) (smp_simd_exp's bits), 0 where !(x >= -87);
 * with part, part[j % 8] += P[j]; with B, B[j] = the bucket of the key
 * m - L[j]; with el, the products P[j] * L[j] where P[j] > 0 summed by
 * blocks of SMP_SIMD_EL_BLK into el[8] (and then only whole blocks are
 * done: i a multiple of SMP_SIMD_EL_BLK). i a multiple of 8. */
int32_t smp_simd_exp_pass(const float *L, float *P, int32_t i, int32_t i1, float m, double *part, uint16_t *B,
                          float scale, double *el);
/* The same sixteen at a time (AVX-512; i a multiple of 16, of
 * SMP_SIMD_EL_BLK with el), same bits;
 * m must be the largest of L (x <= 0). With h (and B): also h[j % 4][B[j]]
 * += P[j] for each j it did, in order of j (the histogram's scalar adds
 * interleaved with the vector work, two vectors behind). */
int32_t smp_simd_exp_pass_512(const float *L, float *P, int32_t i, int32_t i1, float m, double *part, uint16_t *B,
                              float scale, double *el, double (*h)[SMP_SIMD_NB]);
/* P[j] = (float)(P[j] * inv) */
int32_t smp_simd_scale(float *P, int32_t n, double inv);
/* P[0..i) = (float)(P / s) in double; i returned */
int32_t smp_simd_div_d(float *P, int32_t n, double s);
/* B[j] = the bucket of typical's key: P[j] > 0 ? |L[j] - lbar| (in float)
 * : +inf. */
int32_t smp_simd_typical_keys(const float *L, const float *P, int32_t i, int32_t i1, float lbar, uint16_t *B,
                              float scale);
/* The same sixteen at a time (AVX-512; i a multiple of 16). */
int32_t smp_simd_typical_keys_512(const float *L, const float *P, int32_t i, int32_t i1, float lbar, uint16_t *B,
                                  float scale);
/* The first index in [i, n) rounded down to 16 of a block with x >= v. */
int32_t smp_simd_skip_below(const float *x, int32_t i, int32_t n, float v);
/* L[j] /= t */
int32_t smp_simd_div(float *L, int32_t n, float t);
/* Appends to out[*nout ...] every j in [i, n) rounded down to 16 (from
 * i) with B[j] == b, in order, and adds to *cnt how many have B[j] < b
 * (b < 32768); returns where the caller goes on. */
int32_t smp_simd_members(const uint16_t *B, int32_t i, int32_t n, int32_t b, int32_t *cnt, int32_t *out, int32_t *nout);
/* The same 32 at a time (AVX-512BW). It stores sixteen ints at a time, so
 * out must have room for 16 more than the members it gets. */
int32_t smp_simd_members_512(const uint16_t *B, int32_t i, int32_t n, int32_t b, int32_t *cnt, int32_t *out,
                             int32_t *nout);
/* Appends to out[*nout ...] every j in [0, n) rounded down to 32 with
 * B[j] <= b, in order (AVX-512BW, no branch per block: out must have room
 * for 16 more than the members); returns where the caller goes on. */
int32_t smp_simd_le_512(const uint16_t *B, int32_t n, int32_t b, int32_t *out, int32_t *nout);
/* smp_simd_members_512 that also appends to le[*nle ...] every j with
 * B[j] <= bt, in order (room for 16 more than them), as smp_simd_le_512. */
int32_t smp_simd_members_le_512(const uint16_t *B, int32_t i, int32_t n, int32_t b, int32_t *cnt, int32_t *out,
                                int32_t *nout, int32_t bt, int32_t *le, int32_t *nle);
/* smp_simd_members and smp_simd_members_512 for every bucket in [u1, u2]
 * or [v1, v2] (u1 <= u2, v1 <= v2), adding to *cnt how many have a bucket
 * in [k1, k2] (none when k1 > k2). */
int32_t smp_simd_members2(const uint16_t *B, int32_t i, int32_t n, int32_t u1, int32_t u2, int32_t v1, int32_t v2,
                          int32_t k1, int32_t k2, int32_t *cnt, int32_t *out, int32_t *nout);
int32_t smp_simd_members2_512(const uint16_t *B, int32_t i, int32_t n, int32_t u1, int32_t u2, int32_t v1, int32_t v2,
                              int32_t k1, int32_t k2, int32_t *cnt, int32_t *out, int32_t *nout);
/* Keeps, in place and in order, the candidates at or ahead of a cut:
 * top-p: L[j] > c, or L[j] == c with the id <= lid; typical: the key
 * (P[j] > 0 ? |L[j] - lb| : +inf) < c, or == c with the id <= lid. Ids
 * from id (or j), written to out_id; P[j] times inv when norm; L[j] / t
 * (a temperature, session 13; t == 1: as it is) written to Lo (L itself,
 * or col_own when L is the caller's row: session 15). Sixteen at a time by
 * a compressing permutation; *pi: where the plain loop goes on. */
int32_t smp_simd_compact_512(int typical, float lb, float c, int32_t lid, const int32_t *id, int32_t *out_id,
                             const float *L, float *Lo, float *P, int32_t n, int norm, float inv, float t,
                             int32_t *pi);
/* How many candidates of [0, i) are at or ahead of such a cut (i = n
 * rounded down to 16, into *pi). ties 0: no candidate has the cut's key
 * and an id above lid, and the key is finite (then key <= the cut's is the
 * test, where e > 0 for typical-p). */
int32_t smp_simd_cut_count_512(int typical, int ties, float lb, float c, int32_t lid, const int32_t *id,
                               const float *L, const float *P, int32_t n, int32_t *pi);
/* For each block b < nb of SMP_SIMD_CUT_BLK candidates: bs[b] = the sum of p = P * inv
 * (in float) over those at or ahead of such a cut (0 for the others), in
 * an order of its own, and cnt[b] = how many; with check, 1 when some
 * such p is neither 0 nor >= 2^-29 (then the sums are not exact: not to be
 * used), else 0 (always 0 without check). */
int smp_simd_cut_sums_512(int typical, int ties, float lb, float c, int32_t lid, const int32_t *id,
                          const float *L, const float *P, int32_t nb, float inv, double *bs, int32_t *cnt, int check);
/* smp_simd_cut_sums_512 over the candidates whose bucket B is in [k1, k2]
 * (none when k1 > k2; B < 2^16 - 1) instead of a cut's key test. */
int smp_simd_cut_sums_b_512(const uint16_t *B, const float *P, int32_t nb, int32_t k1, int32_t k2, float inv,
                            double *bs, int32_t *cnt, int check);
/* how many of x[0..i) are >= v (into *cnt); i returned */
int32_t smp_simd_count_ge(const float *x, int32_t n, float v, int32_t *cnt);
/* Keeps the candidates with L >= v, as smp_simd_compact_512 (their L into Lo). */
int32_t smp_simd_compact_ge_512(const float *L, float *Lo, float *P, const int32_t *id, int32_t *out_id, int32_t n,
                                float v, int32_t *pi);
/* For each block b < nb of 64, bs[b] = the block's sum, in an order of
 * its own (smp_mass.c uses it only when every p is 0 or >= 2^-29, where
 * every order gives the exact sum); 1 when some p is not, else 0. AVX-512. */
int smp_simd_block_sums_512(const float *P, int32_t nb, double *bs);
/* The sum of P[0..64) as exact_draw takes it; 1 when a p is neither 0
 * nor >= 2^-29. */
int smp_simd_block_sum(const float *P, double *sum);

#endif
