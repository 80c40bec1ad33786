/* vecdot_r8_amx: the repacked Q4_K, Q4_0 and Q8_0 kernels for prompts and
 * large decode batches with AMX-INT8 (Intel
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
 * bits (tests/test_invariance_kernels.c, test_quant.c: every kernel path).
 * Fewer than sixteen activations, and a last odd group of eight rows, go to
 * the AVX512-VNNI kernel (same bits); past whole sixteens, a rest of 13 to
 * 15 may come as one zero-padded sixteen (amx_q4_Kt, vd_matmul_r8p).
 *
 * Q4_0 and Q8_0 (amx_b32): the same with one TDPBSSD per 32-element block
 * (below); a rest of six to fifteen activations may come as one
 * zero-padded sixteen (vd_r8_amx_tail, chosen by vd_matmul_r8p). The tile
 * configuration is loaded once per vd_matmul_r8p call (vd_r8_amx_begin /
 * vd_r8_amx_end), not per kernel call: a stories15m product is many calls
 * of a few blocks each.
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

/* A constant in memory, not a local filled in: gcc's _tile_loadconfig
 * tells the compiler it reads 8 bytes, so stores to the rest of a local
 * may be dropped (they were, once this became a small function of its
 * own: garbage rows and columns, a #GP at ldtilecfg). */
static const _Alignas(64) tilecfg CFG = {
    .palette = 1,
    .colsb = {64, 32, 64, 64, 32, 64},
    .rows = {16, 16, 8, 16, 16, 8},   /* the same three again: two blocks / sub-blocks in flight */
};

void vd_r8_amx_begin(void) {
    _tile_loadconfig(&CFG);
}

/* The tile state unused again: context switches need not save its 8 KiB. */
void vd_r8_amx_end(void) { _tile_release(); }

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

/* Fewer than sixteen activations: the VNNI kernel in even chunks of at most
 * eight (vd_matmul_r8p hands at most eight here; the padded sixteen's real
 * rows against an odd last group, up to fifteen; a whole sixteen there, two
 * chunks of eight). */
INLINE void amx_vnni_rest(vd_r8_fn vnni, const void *w, int64_t cols, int64_t g0, int64_t g1, const char *x,
                          size_t xs, int nx, const int32_t *off, const float *dx, float *y, int64_t ldy) {
    int64_t nb = off ? cols / 32 : 0;
    int nch = (nx + VD_R8V_NX - 1) / VD_R8V_NX;
    for (int c = 0, j0 = 0; c < nch; c++) {
        int n = nx / nch + (c < nx % nch);
        vnni(w, cols, g0, g1, x + j0 * xs, xs, n, off ? off + j0 * nb : NULL, dx ? dx + j0 * nb : NULL, y + j0 * ldy,
             ldy);
        j0 += n;
    }
}

/* Groups [g0, g1) (pairs; a last odd group to the VNNI kernel) against
 * sixteen activations, the first nv real: y rows nv.. are neither read nor
 * written (a zero-padded sixteen, vd_r8_amx_tail: a real row's sums are the
 * same instructions on the same values whatever the other A rows hold, the
 * same bits; the padded rows' are computed and dropped). */
static void amx_q4_K16(const void *w, int64_t cols, int64_t g0, int64_t g1, const char *x, size_t xs, float *y,
                       int64_t ldy, vd_r8_fn vnni, int nv) {
    const __m512i m4 = _mm512_set1_epi8(15);
    const int64_t nb = cols / 256;
    const size_t bs = sizeof(vd_block_q4_Kx8), gs = (size_t)nb * bs;
    _Alignas(64) uint8_t bt[8][8][64];        /* per sub-block: the B tile */
    _Alignas(64) int32_t ct[8][AMX_NX][16];   /* per sub-block: the C tile */
    int64_t g = g0;
    for (; g + 2 <= g1; g += 2) {
        const char *B = (const char *)w + (size_t)(g * nb) * bs;
        UNROLL for (int j = 0; j < AMX_NX; j++)
            if (j < nv) _mm512_storeu_ps(y + j * ldy + 8 * g, _mm512_setzero_ps());
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
            if (nv == AMX_NX) r8z_q4_K_end(K, gs, is, AMX_NX, x, xs, b, y, ldy, g);
            else r8z_q4_K_end(K, gs, is, nv, x, xs, b, y, ldy, g);
        }
    }
    if (g < g1) amx_vnni_rest(vnni, w, cols, g, g1, x, xs, nv, NULL, NULL, y, ldy);
}

/* ---- Q4_0 and Q8_0 ------------------------------------------------------------
 * Why: a decode step of 64 sequences (and a prompt) of Q4_0/Q8_0 is bound by
 * the AVX512-VNNI kernel's instructions (eight vpdpbusd per activation,
 * block and sixteen rows, ~40% of the vpdpbusd peak); one TDPBSSD computes a
 * block's 16 x 16 sums (sixteen activations, sixteen rows) at once.
 * What: per 32-element block and pair of groups, the B tile is r8z's u[0..7]
 * (vecdot_r8_avx512.c) made signed: Q4_0 nibble - 8, Q8_0 the codes as they
 * are (8 rows of 64 bytes: row k = code bytes 4k..4k+3 of the sixteen weight
 * rows), the A tile the sixteen activations' 32 code bytes read in place
 * (stride xs). C[j][lane] = sum x * q, exactly the integer the VNNI chain
 * gives (off + sum x * u with off = -8 * sum x or -128 * sum x: the same
 * sum, |sum| < 32 * 128 * 128 < 2^31, no wrap either way).
 * ORDER (vecdot.h): then acc[j] = fma((float)C[j], dw * dx[j][b], acc[j])
 * per block b in order, one lane per row, the instructions of r8z_b32_nx's
 * epilogue: bitwise the VNNI, AVX2 and portable kernels (test_invariance_kernels'
 * kernel_case, test_quant's repack shapes on every path).
 * Two tile sets alternate: block b + 1's TDPBSSD is issued before block b's C
 * is stored, and block b's float work comes a step later (storing C right
 * after its own TDPBSSD waits for it every time: w22v's Q4_K finding).
 * Cost on session 10/11's Xeon, TSC cycles per block of 16 x 16 x 32 in a
 * loop of its own: the tile part (two TILELOADD, TILEZERO, TDPBSSD,
 * TILESTORED) ~25, the float part (16 x load C, convert, scale, FMA) ~33,
 * both ~53: they did not overlap, so the float part, which the VNNI kernel
 * pays too, bounds the gain (kernel 0.7-0.85x the VNNI time, notes w22a). */
enum { AMX_Q4 = 0, AMX_Q8 = 1 };

/* Block blk's B tile for groups g and g + 1 (gs bytes apart) into bt. */
INLINE void b32_unpack(const char *blk, size_t gs, int T, uint8_t bt[8][64]) {
    if (T == AMX_Q8) {
        const int8_t *qs = ((const vd_block_q8_0x8 *)blk)->qs;
        UNROLL for (int k = 0; k < 8; k++) _mm512_store_si512((__m512i *)bt[k], ld2x256(qs + 32 * k, gs));
        return;
    }
    const __m512i m4 = _mm512_set1_epi8(15), e8 = _mm512_set1_epi8(8);
    const uint8_t *qs = ((const vd_block_q4_0x8 *)blk)->qs;
    UNROLL for (int k = 0; k < 4; k++) {
        __m512i v = ld2x256(qs + 32 * k, gs);
        _mm512_store_si512((__m512i *)bt[k], _mm512_sub_epi8(_mm512_and_si512(v, m4), e8));
        _mm512_store_si512((__m512i *)bt[k + 4], _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(v, 4), m4), e8));
    }
}

/* acc[j] += C[j] * (dw * dx[j * nb]) (dx at the block), as r8z_b32_nx,
 * for the first NV rows (a padded sixteen's rows past its real ones are
 * zero sums never stored: their work is skipped, in fours). */
INLINE void b32_epi(__m512 acc[AMX_NX], const int32_t ct[AMX_NX][16], const char *blk, size_t gs, const float *dx,
                    int64_t nb, const int NV) {
    __m512 dw = _mm512_cvtph_ps(ld2x128(blk, gs));   /* d[8] leads both block types */
    UNROLL for (int j = 0; j < NV; j++)
        acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512((const __m512i *)ct[j])),
                                 _mm512_mul_ps(dw, _mm512_set1_ps(dx[j * nb])), acc[j]);
}

/* Tile set 0 (C 0, A 1, B 2) or 1 (3, 4, 5): C = A . B for one block. */
#define B32_ISSUE(C, A, Bt, bt, a)          \
    do {                                    \
        _tile_loadd(Bt, bt, 64);            \
        _tile_loadd(A, a, (long)xs);        \
        _tile_zero(C);                      \
        _tile_dpbssd(C, A, Bt);             \
    } while (0)

enum { B32_WIN = 32 };   /* blocks unpacked at a time: 16 KiB of B tiles */

/* One window of nw blocks (from w0) of a pair of groups against one
 * sixteen (A rows at a0, dx at d0), the running sums of its first nv rows
 * in y (yj, read when w0 > 0); the float work for the first NV rows (NV >=
 * nv; a padded sixteen's rows past its nt real ones hold zero sums).
 * ORDER: a real row's lanes take the same instructions whatever NV. */
INLINE void b32_win(const char *B, int64_t w0, int64_t nw, size_t bs, size_t gs, uint8_t bt[B32_WIN][8][64],
                    int32_t ct[2][AMX_NX][16], const char *a0, size_t xs, const float *d0, int64_t nb, float *yj,
                    int64_t ldy, int nv, const int NV) {
    const size_t xb = sizeof(qt_block_q8_0);
    __m512 acc[AMX_NX];
    UNROLL for (int j = 0; j < NV; j++)
        acc[j] = w0 && j < nv ? _mm512_loadu_ps(yj + j * ldy) : _mm512_setzero_ps();
    /* block b: issued at step b, its C stored at step b + 1, its float
     * work at step b + 2 (two tile sets, two C buffers) */
    B32_ISSUE(0, 1, 2, bt[0], a0);
    for (int64_t b = 0; b <= nw; b++) {
        if (b % 2 == 0) {
            if (b + 1 < nw) B32_ISSUE(3, 4, 5, bt[b + 1], a0 + (b + 1) * xb);
            if (b < nw) _tile_stored(0, ct[0], 64);
            if (b) b32_epi(acc, ct[1], B + (w0 + b - 1) * bs, gs, d0 + b - 1, nb, NV);
        } else {
            if (b + 1 < nw) B32_ISSUE(0, 1, 2, bt[b + 1], a0 + (b + 1) * xb);
            if (b < nw) _tile_stored(3, ct[1], 64);
            b32_epi(acc, ct[0], B + (w0 + b - 1) * bs, gs, d0 + b - 1, nb, NV);
        }
    }
    UNROLL for (int j = 0; j < NV; j++)
        if (j < nv) _mm512_storeu_ps(yj + j * ldy, acc[j]);
}

/* Groups [g0, g1) (pairs; a last odd group to the VNNI kernel) against nx
 * activations, a multiple of sixteen (Q8_0 rows at x, stride xs), and then,
 * when nt > 0, one zero-padded sixteen: xt, offt and dxt hold sixteen rows
 * (stride xs, nb, nb), the first nt real (the nt activations after x's),
 * the rest zero; only those nt rows of y are read or written.
 * Per pair of groups, B32_WIN blocks' B tiles are unpacked first and then
 * serve every sixteen activations: the unpacking is paid once per pair, not
 * once per sixteen, and a B tile is written long before TILELOADD reads it
 * (a tile load right after the vector stores it reads waited for them).
 * Likewise each C is stored one block before the float work reads it back.
 * The running sums of a window's end wait in y (stored and loaded exactly).
 * ORDER of the padded sixteen (vecdot.h): a real row's lanes take the same
 * instructions on the same values as in a whole sixteen (its C row is the
 * exact block sum whatever the other fifteen A rows hold; then the per-block
 * FMA in block order): the same bits, test_invariance_kernels' amx_mix_case
 * (batches of 13, 24, 25, 31, 47, 62 against each activation alone). A
 * padded row's C and dx are zero; its float work is skipped in fours past
 * the real rows (b32_win's NV), the rest computed and never stored. */
INLINE void amx_b32(const void *w, int64_t cols, int64_t g0, int64_t g1, const char *x, size_t xs, int nx,
                    const int32_t *off, const float *dx, const char *xt, const int32_t *offt, const float *dxt,
                    int nt, float *y, int64_t ldy, vd_r8_fn vnni, const int T) {
    const int64_t nb = cols / 32;
    const size_t bs = T == AMX_Q8 ? sizeof(vd_block_q8_0x8) : sizeof(vd_block_q4_0x8), gs = (size_t)nb * bs;
    const size_t xb = sizeof(qt_block_q8_0);
    const int nall = nx + (nt ? AMX_NX : 0);
    _Alignas(64) uint8_t bt[B32_WIN][8][64];
    _Alignas(64) int32_t ct[2][AMX_NX][16];
    int64_t g = g0;
    for (; g + 2 <= g1; g += 2) {
        const char *B = (const char *)w + (size_t)(g * nb) * bs, *next = B + 2 * gs;
        for (int64_t w0 = 0; w0 < nb; w0 += B32_WIN) {
            const int64_t nw = nb - w0 < B32_WIN ? nb - w0 : B32_WIN;
            for (int64_t b = 0; b < nw; b++) {
                b32_unpack(B + (w0 + b) * bs, gs, T, bt[b]);
                for (size_t l = 0; l < bs; l += 64) {
                    _mm_prefetch(next + (w0 + b) * bs + l, _MM_HINT_T0);
                    _mm_prefetch(next + gs + (w0 + b) * bs + l, _MM_HINT_T0);
                }
            }
            for (int j0 = 0; j0 < nall; j0 += AMX_NX) {
                const bool pad = j0 >= nx;   /* the padded sixteen: nt real rows */
                const int nv = pad ? nt : AMX_NX;
                const char *a0 = (pad ? xt : x + (size_t)j0 * xs) + offsetof(qt_block_q8_0, qs) + (size_t)w0 * xb;
                const float *d0 = (pad ? dxt : dx + (size_t)j0 * nb) + w0;
                float *yj = y + (int64_t)j0 * ldy + 8 * g;
                /* a padded sixteen's float work over its real rows, in
                 * fours from eight (its rest is 8-15): kernel-only, a
                 * stories15m step's products, 24 = 16 + 8 0.88-0.95x the
                 * sixteen rows' time, 25-27 0.92-0.98, 40 0.93-0.96 */
                if (nv > 12) b32_win(B, w0, nw, bs, gs, bt, ct, a0, xs, d0, nb, yj, ldy, nv, 16);
                else if (nv > 8) b32_win(B, w0, nw, bs, gs, bt, ct, a0, xs, d0, nb, yj, ldy, nv, 12);
                else b32_win(B, w0, nw, bs, gs, bt, ct, a0, xs, d0, nb, yj, ldy, nv, 8);
            }
        }
    }
    if (g < g1) {
        for (int j0 = 0; j0 < nx; j0 += VD_R8V_NX)
            vnni(w, cols, g, g1, x + j0 * xs, xs, VD_R8V_NX, off + j0 * nb, dx + j0 * nb, y + j0 * ldy, ldy);
        if (nt) amx_vnni_rest(vnni, w, cols, g, g1, xt, xs, nt, offt, dxt, y + (int64_t)nx * ldy, ldy);
    }
}

static void amx_q4_0(const void *w, int64_t cols, int64_t g0, int64_t g1, const void *x, size_t xs, int nx,
                     const int32_t *off, const float *dx, float *y, int64_t ldy) {
    vd_r8_fn vnni = vd_r8_vnni(QT_Q4_0);
    if (nx % AMX_NX == 0) amx_b32(w, cols, g0, g1, x, xs, nx, off, dx, NULL, NULL, NULL, 0, y, ldy, vnni, AMX_Q4);
    else amx_vnni_rest(vnni, w, cols, g0, g1, x, xs, nx, off, dx, y, ldy);
}

static void amx_q8_0(const void *w, int64_t cols, int64_t g0, int64_t g1, const void *x, size_t xs, int nx,
                     const int32_t *off, const float *dx, float *y, int64_t ldy) {
    vd_r8_fn vnni = vd_r8_vnni(QT_Q8_0);
    if (nx % AMX_NX == 0) amx_b32(w, cols, g0, g1, x, xs, nx, off, dx, NULL, NULL, NULL, 0, y, ldy, vnni, AMX_Q8);
    else amx_vnni_rest(vnni, w, cols, g0, g1, x, xs, nx, off, dx, y, ldy);
}

static void amx_q4_K(const void *w, int64_t cols, int64_t g0, int64_t g1, const void *x, size_t xs, int nx,
                     const int32_t *off, const float *dx, float *y, int64_t ldy) {
    vd_r8_fn vnni = vd_r8_vnni(QT_Q4_K);
    if (nx % AMX_NX == 0)
        for (int j0 = 0; j0 < nx; j0 += AMX_NX)
            amx_q4_K16(w, cols, g0, g1, (const char *)x + j0 * xs, xs, y + j0 * ldy, ldy, vnni, AMX_NX);
    else amx_vnni_rest(vnni, w, cols, g0, g1, x, xs, nx, off, dx, y, ldy);
}

/* Whole sixteens, then the zero-padded one (Q8_K rows at xt; no terms). */
static void amx_q4_Kt(const void *w, int64_t cols, int64_t g0, int64_t g1, const void *x, size_t xs, int nx,
                      const int32_t *off, const float *dx, const void *xt, const int32_t *offt, const float *dxt,
                      int nt, float *y, int64_t ldy) {
    (void)off; (void)dx; (void)offt; (void)dxt;
    vd_r8_fn vnni = vd_r8_vnni(QT_Q4_K);
    for (int j0 = 0; j0 < nx; j0 += AMX_NX)
        amx_q4_K16(w, cols, g0, g1, (const char *)x + j0 * xs, xs, y + j0 * ldy, ldy, vnni, AMX_NX);
    amx_q4_K16(w, cols, g0, g1, xt, xs, y + (int64_t)nx * ldy, ldy, vnni, nt);
}

static void amx_q4_0t(const void *w, int64_t cols, int64_t g0, int64_t g1, const void *x, size_t xs, int nx,
                      const int32_t *off, const float *dx, const void *xt, const int32_t *offt, const float *dxt,
                      int nt, float *y, int64_t ldy) {
    amx_b32(w, cols, g0, g1, x, xs, nx, off, dx, xt, offt, dxt, nt, y, ldy, vd_r8_vnni(QT_Q4_0), AMX_Q4);
}

static void amx_q8_0t(const void *w, int64_t cols, int64_t g0, int64_t g1, const void *x, size_t xs, int nx,
                      const int32_t *off, const float *dx, const void *xt, const int32_t *offt, const float *dxt,
                      int nt, float *y, int64_t ldy) {
    amx_b32(w, cols, g0, g1, x, xs, nx, off, dx, xt, offt, dxt, nt, y, ldy, vd_r8_vnni(QT_Q8_0), AMX_Q8);
}

vd_r8t_fn vd_r8_amx_tail(int wtype) {
    if (!vd_r8_vnni(wtype)) return 0;
    return wtype == QT_Q4_0 ? amx_q4_0t : wtype == QT_Q8_0 ? amx_q8_0t : wtype == QT_Q4_K ? amx_q4_Kt : 0;
}

vd_r8_fn vd_r8_amx(int wtype) {
    if (!vd_r8_vnni(wtype)) return 0;
    return wtype == QT_Q4_K ? amx_q4_K : wtype == QT_Q4_0 ? amx_q4_0 : wtype == QT_Q8_0 ? amx_q8_0 : 0;
}
#else
vd_r8_fn vd_r8_amx(int wtype) { (void)wtype; return 0; }
vd_r8t_fn vd_r8_amx_tail(int wtype) { (void)wtype; return 0; }
void vd_r8_amx_begin(void) {}
void vd_r8_amx_end(void) {}
#endif
