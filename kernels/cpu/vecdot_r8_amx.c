/* vecdot_r8_amx: the repacked Q4_K kernel for prompts with AMX-INT8 (Intel
 * Sapphire Rapids and later; Intel SDM vol. 1 ch. 18, "Intel AMX"), built
 * with the AVX-512 flags plus -mamx-tile -mamx-int8 (Makefile) and chosen
 * at run time (vecdot_isa.c: CPUID leaf 7 EDX bits 24 and 25, and Linux's
 * arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) granted).
 *
 * Why: with AVX512-VNNI the Q4_K prompt kernel is bound by the one port
 * that runs 512-bit vpdpbusd (eight per activation, sub-block and sixteen
 * rows, plus the scale's multiply); one TDPBSUD computes the same sub-block
 * for sixteen activations and sixteen rows at once.
 *
 * What: sixteen activations (Q8_K rows, the A tile: 16 x 32 signed bytes
 * read in place with the rows' stride) against two groups of eight
 * repacked rows (the B tile: the sub-block's codes unpacked to bytes, eight
 * rows of 64 bytes: row k holds code bytes 4k..4k+3 of the sixteen weight
 * rows, which is exactly the 512-bit vector u[k] of vecdot_r8_avx512.c's
 * r8z_q4_K_nx). The C tile is the exact int32 dot of every activation with
 * every row for that sub-block; stored, each activation's row of C is the
 * lane layout of r8z's is[j], and everything after (scale, mins, the two
 * FMAs per super-block, in order) is r8z's: the ORDER of vecdot.h, the same
 * bits (tests/test_invariance.c, test_quant.c: every kernel path).
 * Fewer than sixteen activations, and a last odd group of eight rows, go to
 * the AVX512-VNNI kernel (same bits).
 */
#include "vecdot.h"
#include "qtypes.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__FMA__) && \
    defined(__F16C__) && defined(__AVX512VNNI__) && defined(__AMX_TILE__) && defined(__AMX_INT8__)
#include <immintrin.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 16")

enum { AMX_NX = 16 };

/* Palette 1: tile 0 = C (16 rows x 64 bytes: 16 int32), tile 1 = A (16
 * activations x 32 bytes), tile 2 = B (8 rows x 64 bytes); 3-5 the same. */
typedef struct __attribute__((packed)) tilecfg {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tilecfg;

static void amx_config(void) {
    tilecfg c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    c.colsb[0] = 64; c.rows[0] = 16;
    c.colsb[1] = 32; c.rows[1] = 16;
    c.colsb[2] = 64; c.rows[2] = 8;
    c.colsb[3] = 64; c.rows[3] = 16;   /* the same three again: two sub-blocks in flight */
    c.colsb[4] = 32; c.rows[4] = 16;
    c.colsb[5] = 64; c.rows[5] = 8;
    _tile_loadconfig(&c);
}

/* The 256-bit vectors at p and p + d as one 512-bit vector (two groups). */
INLINE __m512i ld2x256(const void *p, size_t d) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p)),
                              _mm256_loadu_si256((const __m256i *)((const char *)p + d)), 1);
}
INLINE __m256i ld2x128(const void *p, size_t d) {
    return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p)),
                                   _mm_loadu_si128((const __m128i *)((const char *)p + d)), 1);
}
/* the Q4_K super-block's end, shared with the AVX512-VNNI kernel (the same bits) */
#include "vecdot_r8_q4k.h"

/* Groups [g0, g1) (pairs; a last odd group to the VNNI kernel) against
 * sixteen activations. */
static void amx_q4_K16(const void *w, int64_t cols, int64_t g0, int64_t g1, const char *x, size_t xs, float *y,
                       int64_t ldy, vd_r8_fn vnni) {
    const __m512i m4 = _mm512_set1_epi8(15);
    const int64_t nb = cols / 256;
    const size_t bs = sizeof(vd_block_q4_Kx8), gs = (size_t)nb * bs;
    _Alignas(64) uint8_t bt[8][8][64];        /* per sub-block: the B tile */
    _Alignas(64) int32_t ct[8][AMX_NX][16];   /* per sub-block: the C tile */
    amx_config();
    int64_t g = g0;
    for (; g + 2 <= g1; g += 2) {
        const char *B = (const char *)w + (size_t)(g * nb) * bs;
        UNROLL for (int j = 0; j < AMX_NX; j++) _mm512_storeu_ps(y + j * ldy + 8 * g, _mm512_setzero_ps());
        for (int64_t b = 0; b < nb; b++) {
            const vd_block_q4_Kx8 *K = (const vd_block_q4_Kx8 *)(B + b * bs);
            /* the eight sub-blocks' codes unpacked first, then their
             * products two at a time (two sets of tiles: both TDPBSUD
             * issued before either C is stored), and only then the scales:
             * storing each C right after its own TDPBSUD waited for it
             * every time (10-15% slower than AVX512-VNNI alone; this
             * order ~18% faster, 5632 x 2048 x 512 activations, one core) */
            for (int s = 0; s < 8; s++) {
                int c = s / 2, h = s % 2;
                UNROLL for (int k = 0; k < 8; k++) {
                    __m512i v = ld2x256(K->qs + 256 * c + 32 * k, gs);
                    _mm512_store_si512((__m512i *)bt[s][k], _mm512_and_si512(h ? _mm512_srli_epi16(v, 4) : v, m4));
                }
            }
            const int8_t *a = ((const qt_block_q8_K *)x + b)->qs;
            for (int s = 0; s < 8; s += 2) {
                _tile_loadd(2, bt[s], 64);
                _tile_loadd(1, a + 32 * s, (long)xs);
                _tile_zero(0);
                _tile_dpbsud(0, 1, 2);
                _tile_loadd(5, bt[s + 1], 64);
                _tile_loadd(4, a + 32 * s + 32, (long)xs);
                _tile_zero(3);
                _tile_dpbsud(3, 4, 5);
                _tile_stored(0, ct[s], 64);
                _tile_stored(3, ct[s + 1], 64);
            }
            __m512i is[AMX_NX];
            UNROLL for (int j = 0; j < AMX_NX; j++) is[j] = _mm512_setzero_si512();
            for (int s = 0; s < 8; s++) {
                __m128i sc8 = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)K->sc[s]),
                                                 _mm_loadl_epi64((const __m128i *)((const char *)K->sc[s] + gs)));
                __m512i sc = _mm512_cvtepu8_epi32(sc8);
                UNROLL for (int j = 0; j < AMX_NX; j++)
                    is[j] = _mm512_add_epi32(is[j], _mm512_mullo_epi32(_mm512_load_si512((const __m512i *)ct[s][j]), sc));
            }
            r8z_q4_K_end(K, gs, is, AMX_NX, x, xs, b, y, ldy, g);
        }
    }
    _tile_release();   /* the tile state unused again: context switches need not save its 8 KiB */
    if (g < g1)
        for (int j0 = 0; j0 < AMX_NX; j0 += VD_R8V_NX)
            vnni(w, cols, g, g1, x + j0 * xs, xs, VD_R8V_NX, NULL, NULL, y + j0 * ldy, ldy);
}

static void amx_q4_K(const void *w, int64_t cols, int64_t g0, int64_t g1, const void *x, size_t xs, int nx,
                     const int32_t *off, const float *dx, float *y, int64_t ldy) {
    vd_r8_fn vnni = vd_r8_vnni(QT_Q4_K);
    if (nx == AMX_NX) { amx_q4_K16(w, cols, g0, g1, x, xs, y, ldy, vnni); return; }
    for (int j0 = 0; j0 < nx; j0 += VD_R8V_NX)
        vnni(w, cols, g0, g1, (const char *)x + j0 * xs, xs, nx - j0 < VD_R8V_NX ? nx - j0 : VD_R8V_NX, off, dx,
             y + j0 * ldy, ldy);
}

vd_r8_fn vd_r8_amx(int wtype) { return wtype == QT_Q4_K && vd_r8_vnni(QT_Q4_K) ? amx_q4_K : 0; }
#else
vd_r8_fn vd_r8_amx(int wtype) { (void)wtype; return 0; }
#endif
