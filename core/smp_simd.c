/* smp_simd: which of the samplers' SIMD loops run (see smp_simd.h). The
 * loops are in smp_simd_avx2.c and smp_simd_avx512.c, built with their ISA
 * flags like kernels/cpu/vecdot_avx2.c, and run only where the CPU has the
 * instructions (vd_isa()). */
#include "smp_simd.h"

#include <math.h>

#include "vecdot.h"

#if defined(__x86_64__) || defined(__i386__)
#define SMP_X86 1
#else
#define SMP_X86 0
#endif

/* Process-wide, like vd_set_isa: only tests switch it. */
static int plain_only;
void smp_simd_set_plain(int on) { plain_only = on; }
int smp_simd_on(void) { return SMP_X86 && !plain_only && vd_isa() >= VD_AVX2; }
int smp_simd_512(void) { return SMP_X86 && !plain_only && vd_isa() >= VD_AVX512; }

/* smp_simd.h's exp, one float: the vector versions' operations in order
 * (fmaf rounds once, as the FMA instructions; rintf rounds to nearest
 * even as they do; ldexpf is p * 2^n rounded once) */
static float exp1(float x) {
    if (!(x >= -87.0f)) return 0.0f;
    float n = rintf(x * SMP_EXP_LOG2E);
    float r = fmaf(-n, SMP_EXP_LN2_HI, x);
    r = fmaf(-n, SMP_EXP_LN2_LO, r);
    float p = fmaf(SMP_EXP_C6, r, SMP_EXP_C5);
    p = fmaf(p, r, SMP_EXP_C4);
    p = fmaf(p, r, SMP_EXP_C3);
    p = fmaf(p, r, SMP_EXP_C2);
    p = fmaf(p, r, 1.0f);
    p = fmaf(p, r, 1.0f);
    return ldexpf(p, (int)n);
}

/* With the AVX2 loop wherever the kernels' SIMD is on, also when the
 * samplers' plain loops are (smp_simd_set_plain): the same bits either way */
void smp_simd_exp(float *x, int32_t n) {
    int32_t i = SMP_X86 && vd_isa() >= VD_AVX2 ? smp_simd_exp_avx2(x, n) : 0;
    for (; i < n; i++) x[i] = exp1(x[i]);
}

#if !SMP_X86 /* smp_simd_on() is 0, so none of these is called; smp_simd_avx2.c and
               * smp_simd_avx512.c define them on x86 */
int32_t smp_simd_range(const float *x, int32_t n, float *m, float *lo) { (void)x; (void)n; (void)m; (void)lo; return 0; }
int32_t smp_simd_copy_range_512(const float *x, float *y, int32_t n, float *m, float *lo) {
    (void)x; (void)y; (void)n; (void)m; (void)lo; return 0;
}
int32_t smp_simd_range_512(const float *x, int32_t n, float *m, float *lo) { (void)x; (void)n; (void)m; (void)lo; return 0; }
int32_t smp_simd_typical_keys_512(const float *L, const float *P, int32_t i, int32_t i1, float lbar, uint16_t *B, float scale) {
    (void)L; (void)P; (void)i1; (void)lbar; (void)B; (void)scale; return i;
}
int32_t smp_simd_exp_pass(const float *L, float *P, int32_t i, int32_t i1, float m, double *part, uint16_t *B,
                          float scale, double *el) {
    (void)L; (void)P; (void)i1; (void)m; (void)part; (void)B; (void)scale; (void)el; return i;
}
int32_t smp_simd_exp_pass_512(const float *L, float *P, int32_t i, int32_t i1, float m, double *part, uint16_t *B,
                              float scale, double *el, double (*h)[SMP_SIMD_NB]) {
    (void)L; (void)P; (void)i1; (void)m; (void)part; (void)B; (void)scale; (void)el; (void)h; return i;
}
int32_t smp_simd_scale(float *P, int32_t n, double inv) { (void)P; (void)n; (void)inv; return 0; }
int32_t smp_simd_exp_avx2(float *x, int32_t n) { (void)x; (void)n; return 0; }
int32_t smp_simd_div_d(float *P, int32_t n, double s) { (void)P; (void)n; (void)s; return 0; }
int32_t smp_simd_typical_keys(const float *L, const float *P, int32_t i, int32_t i1, float lbar, uint16_t *B, float scale) {
    (void)L; (void)P; (void)i1; (void)lbar; (void)B; (void)scale; return i;
}
int32_t smp_simd_skip_below(const float *x, int32_t i, int32_t n, float v) { (void)x; (void)n; (void)v; return i; }
int32_t smp_simd_div(float *L, int32_t n, float t) { (void)L; (void)n; (void)t; return 0; }
int32_t smp_simd_members(const uint16_t *B, int32_t i, int32_t n, int32_t b, int32_t *cnt, int32_t *out, int32_t *nout) {
    (void)B; (void)n; (void)b; (void)cnt; (void)out; (void)nout; return i;
}
int32_t smp_simd_members_512(const uint16_t *B, int32_t i, int32_t n, int32_t b, int32_t *cnt, int32_t *out,
                             int32_t *nout) {
    (void)B; (void)n; (void)b; (void)cnt; (void)out; (void)nout; return i;
}
int32_t smp_simd_members_le_512(const uint16_t *B, int32_t i, int32_t n, int32_t b, int32_t *cnt, int32_t *out,
                                int32_t *nout, int32_t bt, int32_t *le, int32_t *nle) {
    (void)B; (void)n; (void)b; (void)cnt; (void)out; (void)nout; (void)bt; (void)le; (void)nle; return i;
}
int32_t smp_simd_le_512(const uint16_t *B, int32_t n, int32_t b, int32_t *out, int32_t *nout) {
    (void)B; (void)n; (void)b; (void)out; (void)nout; return 0;
}
int32_t smp_simd_members2(const uint16_t *B, int32_t i, int32_t n, int32_t u1, int32_t u2, int32_t v1, int32_t v2,
                          int32_t k1, int32_t k2, int32_t *cnt, int32_t *out, int32_t *nout) {
    (void)B; (void)n; (void)u1; (void)u2; (void)v1; (void)v2; (void)k1; (void)k2; (void)cnt; (void)out; (void)nout;
    return i;
}
int32_t smp_simd_members2_512(const uint16_t *B, int32_t i, int32_t n, int32_t u1, int32_t u2, int32_t v1, int32_t v2,
                              int32_t k1, int32_t k2, int32_t *cnt, int32_t *out, int32_t *nout) {
    (void)B; (void)n; (void)u1; (void)u2; (void)v1; (void)v2; (void)k1; (void)k2; (void)cnt; (void)out; (void)nout;
    return i;
}
int32_t smp_simd_compact_512(int typical, float lb, float c, int32_t lid, const int32_t *id, int32_t *out_id,
                             float *L, float *P, int32_t n, int norm, float inv, float t, int32_t *pi) {
    (void)typical; (void)lb; (void)c; (void)lid; (void)id; (void)out_id; (void)L; (void)P; (void)n; (void)norm; (void)inv;
    (void)t;
    *pi = 0;
    return 0;
}
int32_t smp_simd_count_ge(const float *x, int32_t n, float v, int32_t *cnt) { (void)x; (void)n; (void)v; (void)cnt; return 0; }
int32_t smp_simd_compact_ge_512(float *L, float *P, const int32_t *id, int32_t *out_id, int32_t n, float v, int32_t *pi) {
    (void)L; (void)P; (void)id; (void)out_id; (void)n; (void)v;
    *pi = 0;
    return 0;
}
int32_t smp_simd_cut_count_512(int typical, int ties, float lb, float c, int32_t lid, const int32_t *id,
                               const float *L, const float *P, int32_t n, int32_t *pi) {
    (void)typical; (void)ties; (void)lb; (void)c; (void)lid; (void)id; (void)L; (void)P; (void)n;
    *pi = 0;
    return 0;
}
int smp_simd_cut_sums_512(int typical, int ties, float lb, float c, int32_t lid, const int32_t *id,
                          const float *L, const float *P, int32_t nb, float inv, double *bs, int32_t *cnt, int check) {
    (void)typical; (void)ties; (void)lb; (void)c; (void)lid; (void)id; (void)L; (void)P; (void)nb; (void)inv; (void)bs;
    (void)cnt; (void)check;
    return 1;
}
int smp_simd_cut_sums_b_512(const uint16_t *B, const float *P, int32_t nb, int32_t k1, int32_t k2, float inv,
                            double *bs, int32_t *cnt, int check) {
    (void)B; (void)P; (void)nb; (void)k1; (void)k2; (void)inv; (void)bs; (void)cnt; (void)check;
    return 1;
}
int smp_simd_block_sums_512(const float *P, int32_t nb, double *bs) { (void)P; (void)nb; (void)bs; return 1; }
int smp_simd_block_sum(const float *P, double *sum) { (void)P; (void)sum; return 1; }
#endif
