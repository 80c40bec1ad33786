/* vecdot_r8_avxvnni: the repacked kernels (rows interleaved by eight,
 * vd_repack) with AVX-VNNI, the VEX-encoded 256-bit vpdpbusd of CPUs that
 * may have no AVX-512 (Alder Lake and later, Zen 5); built with the AVX2
 * flags plus -mavxvnni (Makefile) and chosen at run time (vecdot_isa.c
 * vd_r8_path, CPUID leaf 7 subleaf 1 EAX bit 4) when AVX512-VNNI is not in
 * use. The kernels are vecdot_r8v.h's, the very source of the AVX-512
 * build's 256-bit forms with the VEX instruction in place of the EVEX one:
 * the same ORDER and the same bits (vecdot.h, tests/test_invariance_kernels.c).
 * Without AVX-512 there is no 512-bit pair form: every group of eight rows
 * takes the 256-bit body, up to VD_R8V_NX activations a call, and the
 * vectors are ymm0-15 only (eight accumulators of eight activations spill).
 * Measured on a Xeon that has both (LOGITLAB_ISA=avx-vnni, 2 threads,
 * interleaved): prompts at 0.51-0.72 of the AVX512-VNNI path's speed,
 * AVX2's kernels at 0.31-0.49 (docs/architecture.md).
 */
#include "vecdot.h"
#include "qtypes.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__) && defined(__AVXVNNI__)
#include <immintrin.h>

#define R8V_DPBUSD _mm256_dpbusd_avx_epi32
#include "vecdot_r8v.h"

#define r8a_q4_K(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX) \
    ((void)(off), (void)(dx), r8v_q4_K_nx(w, cols, g0, g1, x, xs, y, ldy, NX, 0))
#define r8a_q5_K(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX) \
    ((void)(off), (void)(dx), r8v_q4_K_nx(w, cols, g0, g1, x, xs, y, ldy, NX, 1))
#define r8a_q6_K(w, cols, g0, g1, x, xs, off, dx, y, ldy, NX) \
    ((void)(off), (void)(dx), r8v_q6_K_nx(w, cols, g0, g1, x, xs, y, ldy, NX))
R8V_WRAP(r8a_q4_0_fn, r8v_q4_0_nx, r8v_q4_0_nx)
R8V_WRAP(r8a_q8_0_fn, r8v_q8_0_nx, r8v_q8_0_nx)
R8V_WRAP(r8a_q5_0_fn, r8v_q5_0_nx, r8v_q5_0_nx)
R8V_WRAP(r8a_q4_K_fn, r8a_q4_K, r8a_q4_K)
R8V_WRAP(r8a_q5_K_fn, r8a_q5_K, r8a_q5_K)
R8V_WRAP(r8a_q6_K_fn, r8a_q6_K, r8a_q6_K)

vd_r8_fn vd_r8_avxvnni(int wtype) {
    return wtype == QT_Q4_0 ? r8a_q4_0_fn : wtype == QT_Q8_0 ? r8a_q8_0_fn : wtype == QT_Q4_K ? r8a_q4_K_fn
         : wtype == QT_Q6_K ? r8a_q6_K_fn : wtype == QT_Q5_0 ? r8a_q5_0_fn : wtype == QT_Q5_K ? r8a_q5_K_fn : 0;
}
#else
vd_r8_fn vd_r8_avxvnni(int wtype) { (void)wtype; return 0; }
#endif
