/* vecdot: the portable kernels, activation rounding, and the matmul
 * drivers shared by every ISA (which ISA and kernel path runs is
 * vecdot_isa.c's). Every kernel of every ISA computes
 * dot(dequantized weight, dequantized activation) with integer sums inside a
 * block, in the summation order of vecdot.h, which the portable kernels
 * below define.
 */
#include "vecdot.h"
#include "qtypes.h"
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

/* ---- activation rounding ---------------------------------------------------- */

size_t vd_act_row_size(int wtype, int64_t cols) {
    const qt_traits *t = qt_get(wtype);
    assert(t && t->supported && "vd_act_row_size: unsupported weight type");
    return qt_row_size(t->act_type, cols);
}

/* Q8_0 as llama.cpp's CPU backend rounds activations (golden README,
 * "Numerics"): d = amax/127 stored as fp16, but the codes use the unrounded
 * 127/amax: q = round_half_even(x * 127/amax). (The weight quantizer in
 * qtypes.c uses 1/d and rounds half away from zero, as the file format's
 * reference quantizer does.) */
static void quant_act_q8_0(const float *x, qt_block_q8_0 *b, int64_t nb) {
    const vd_backend *b2 = vd_backend_avx2(), *b512 = vd_backend_avx512();
    int isa = vd_isa();
    if (isa >= VD_AVX512 && b512 && b512->quant_q8_0) { b512->quant_q8_0(x, b, nb); return; }
    if (isa >= VD_AVX2 && b2 && b2->quant_q8_0) { b2->quant_q8_0(x, b, nb); return; }
    for (int64_t i = 0; i < nb; i++, x += 32) {
        float amax = 0;
        for (int l = 0; l < 32; l++) amax = fabsf(x[l]) > amax ? fabsf(x[l]) : amax;
        float id = amax != 0 ? 127.0f / amax : 0.0f;
        b[i].d = qt_f32_to_f16(amax / 127.0f);
        for (int l = 0; l < 32; l++) b[i].qs[l] = (int8_t)lrintf(x[l] * id);
    }
}

void vd_quantize_act(int wtype, const float *x, void *xq, int64_t cols) {
    const qt_traits *t = qt_get(wtype);
    assert(t && t->supported && cols % t->block == 0 && "vd_quantize_act: bad type or length");
    const vd_backend *b2 = vd_backend_avx2();
    if (t->act_type == QT_Q8_0) quant_act_q8_0(x, xq, cols / 32);
    else if (t->act_type == QT_Q8_K && vd_isa() >= VD_AVX2 && b2 && b2->quant_q8_K) b2->quant_q8_K(x, xq, cols / 256);
    else qt_quantize_row(t->act_type, x, xq, cols);   /* F32, F16, BF16, Q8_K */
}

/* ---- portable kernels: one activation at a time ---------------------------- */

/* ORDER of every float dot (vecdot.h "Summation order"; the SIMD kernels
 * keep it exactly): element k goes by FMA into lane k % 16 while 16
 * elements remain, then into lane k % 8 while 8 remain; the lanes fold as
 * s[l] = a[l] + a[l + 8], then ((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 +
 * s7)); the last n % 8 products are summed in order and added last. */
#define DOT_LANES(LD)                                                                  \
    float a[16] = {0}, s[8], tail = 0;                                                 \
    int64_t i = 0;                                                                     \
    for (; i + 16 <= n; i += 16)                                                       \
        for (int l = 0; l < 16; l++) a[l] = fmaf(LD(w, i + l), LD(x, i + l), a[l]);    \
    for (; i + 8 <= n; i += 8)                                                         \
        for (int l = 0; l < 8; l++) a[l] = fmaf(LD(w, i + l), LD(x, i + l), a[l]);     \
    for (int l = 0; l < 8; l++) s[l] = a[l] + a[l + 8];                                \
    float r = ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));       \
    if (i == n) return r;                                                              \
    for (; i < n; i++) tail += LD(w, i) * LD(x, i);                                    \
    return r + tail;

static inline float ld_f32(const void *p, int64_t i) { return ((const float *)p)[i]; }
static inline float ld_f16(const void *p, int64_t i) { return qt_f16_to_f32(((const uint16_t *)p)[i]); }
static inline float ld_bf16(const void *p, int64_t i) { return qt_bf16_to_f32(((const uint16_t *)p)[i]); }

static float dot_f32(const float *w, const float *x, int64_t n) { DOT_LANES(ld_f32) }
static float dot1_f16(const void *w, const void *x, int64_t n) { DOT_LANES(ld_f16) }
static float dot1_bf16(const void *w, const void *x, int64_t n) { DOT_LANES(ld_bf16) }

static float dot1_q8_0(const void *w, const void *x, int64_t n) {
    const qt_block_q8_0 *a = w, *b = x;
    float s = 0;
    for (int64_t i = 0; i < n / 32; i++) {
        int sum = 0;
        for (int l = 0; l < 32; l++) sum += a[i].qs[l] * b[i].qs[l];
        s = fmaf((float)sum, qt_f16_to_f32(a[i].d) * qt_f16_to_f32(b[i].d), s);
    }
    return s;
}

static float dot1_q4_0(const void *w, const void *x, int64_t n) {
    const qt_block_q4_0 *a = w;
    const qt_block_q8_0 *b = x;
    float s = 0;
    for (int64_t i = 0; i < n / 32; i++) {
        int sum = 0;
        for (int l = 0; l < 16; l++)
            sum += ((a[i].qs[l] & 15) - 8) * b[i].qs[l] + ((a[i].qs[l] >> 4) - 8) * b[i].qs[l + 16];
        s = fmaf((float)sum, qt_f16_to_f32(a[i].d) * qt_f16_to_f32(b[i].d), s);
    }
    return s;
}

static float dot1_q5_0(const void *w, const void *x, int64_t n) {
    const qt_block_q5_0 *a = w;
    const qt_block_q8_0 *b = x;
    float s = 0;
    for (int64_t i = 0; i < n / 32; i++) {
        uint32_t qh;
        memcpy(&qh, a[i].qh, 4);   /* little-endian hosts only, as all of vecdot */
        int sum = 0;
        for (int l = 0; l < 16; l++) {
            int q0 = ((a[i].qs[l] & 15) | (int)((qh >> l) & 1) << 4) - 16;
            int q1 = ((a[i].qs[l] >> 4) | (int)((qh >> (l + 16)) & 1) << 4) - 16;
            sum += q0 * b[i].qs[l] + q1 * b[i].qs[l + 16];
        }
        s = fmaf((float)sum, qt_f16_to_f32(a[i].d) * qt_f16_to_f32(b[i].d), s);
    }
    return s;
}

/* Q4_K/Q5_K x Q8_K: sum_j d*sc_j*dot(q, xq) - dmin*mn_j*sum(xq), where the
 * activation sums per 16 come precomputed in bsums. ORDER: the integer
 * sums exact, then two FMAs into the running sum s (vecdot_avx2.c keeps it). */
static float dot1_k4(float s, const uint8_t *qs, const uint8_t *qh, uint16_t d16, uint16_t dmin16,
                     const uint8_t s12[12], const qt_block_q8_K *b) {
    uint8_t sc[8], mn[8];
    qt_unpack_scales_k4(s12, sc, mn);
    int sumi = 0, summ = 0;
    for (int c = 0; c < 4; c++, qs += 32) {
        int s0 = 0, s1 = 0;
        for (int l = 0; l < 32; l++) {
            int h0 = qh ? ((qh[l] >> (2 * c)) & 1) << 4 : 0;
            int h1 = qh ? ((qh[l] >> (2 * c + 1)) & 1) << 4 : 0;
            s0 += ((qs[l] & 15) | h0) * b->qs[64 * c + l];
            s1 += ((qs[l] >> 4) | h1) * b->qs[64 * c + 32 + l];
        }
        sumi += sc[2 * c] * s0 + sc[2 * c + 1] * s1;
    }
    for (int j = 0; j < 8; j++) summ += mn[j] * (b->bsums[2 * j] + b->bsums[2 * j + 1]);
    s = fmaf((float)sumi, qt_f16_to_f32(d16) * b->d, s);
    return fmaf(-(float)summ, qt_f16_to_f32(dmin16) * b->d, s);
}

static float dot1_q4_K(const void *w, const void *x, int64_t n) {
    const qt_block_q4_K *a = w;
    const qt_block_q8_K *b = x;
    float s = 0;
    for (int64_t i = 0; i < n / 256; i++)
        s = dot1_k4(s, a[i].qs, NULL, a[i].d, a[i].dmin, a[i].scales, &b[i]);
    return s;
}

static float dot1_q5_K(const void *w, const void *x, int64_t n) {
    const qt_block_q5_K *a = w;
    const qt_block_q8_K *b = x;
    float s = 0;
    for (int64_t i = 0; i < n / 256; i++)
        s = dot1_k4(s, a[i].qs, a[i].qh, a[i].d, a[i].dmin, a[i].scales, &b[i]);
    return s;
}

static float dot1_q6_K(const void *w, const void *x, int64_t n) {
    const qt_block_q6_K *a = w;
    const qt_block_q8_K *b = x;
    float s = 0;
    for (int64_t i = 0; i < n / 256; i++) {
        int sumi = 0;
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = a[i].ql + 64 * h, *qh = a[i].qh + 32 * h;
            const int8_t *sc = a[i].scales + 8 * h, *xq = b[i].qs + 128 * h;
            int g[8] = {0};
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                g[is] += (((ql[l] & 15) | (qh[l] & 3) << 4) - 32) * xq[l];
                g[is + 2] += (((ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4) - 32) * xq[l + 32];
                g[is + 4] += (((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32) * xq[l + 64];
                g[is + 6] += (((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32) * xq[l + 96];
            }
            for (int k = 0; k < 8; k++) sumi += sc[k] * g[k];
        }
        s = fmaf((float)sumi, qt_f16_to_f32(a[i].d) * b[i].d, s);
    }
    return s;
}

static float dot1_f32(const void *w, const void *x, int64_t n) { DOT_LANES(ld_f32) }

typedef float (*dot1_fn)(const void *w, const void *x, int64_t n);

static dot1_fn portable_dot(int wtype) {
    switch (wtype) {
    case QT_F32: return dot1_f32;
    case QT_F16: return dot1_f16;
    case QT_BF16: return dot1_bf16;
    case QT_Q8_0: return dot1_q8_0;
    case QT_Q4_0: return dot1_q4_0;
    case QT_Q5_0: return dot1_q5_0;
    case QT_Q4_K: return dot1_q4_K;
    case QT_Q5_K: return dot1_q5_K;
    case QT_Q6_K: return dot1_q6_K;
    default: return NULL;
    }
}

static void axpy_f32(float *y, float a, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

/* ---- dispatch and the matmul driver --------------------------------------- */

static vd_tile_fn simd_tile(int wtype) {
    const vd_backend *b512 = vd_backend_avx512(), *b2 = vd_backend_avx2();
    int isa = vd_isa();
    if (wtype < 0 || wtype >= VD_NTYPES) return NULL;
    if (isa >= VD_AVX512 && b512 && b512->tile[wtype]) return b512->tile[wtype];
    if (isa >= VD_AVX2 && b2 && b2->tile[wtype]) return b2->tile[wtype];
    return NULL;
}

static vd_tile_fn wide_tile(int wtype) {
    const vd_backend *b512 = vd_backend_avx512();
    if (wtype < 0 || wtype >= VD_NTYPES) return NULL;
    return vd_isa() >= VD_AVX512 && b512 ? b512->wide[wtype] : NULL;
}

/* Activation rows per pass over the weights: as many as fit in ~256 KiB (half
 * a typical L2), so every weight row, once loaded, is used against activations
 * that stay in cache. Decode batches fit in one pass (one read of the
 * weights); large prompt batches take a few passes, where compute dominates. */
static int act_tile(size_t xrs, int nact) {
    size_t t = (256u << 10) / (xrs ? xrs : 1);
    if (t < VD_NX) t = VD_NX;
    t -= t % VD_NX;
    return t >= (size_t)nact ? nact : (int)t;
}

/* Tile shapes (see VD_TILE_OK): one activation -> 4 rows at a time (four
 * independent chains, one reduction per 4 rows); two activations -> 2x2;
 * more -> one row against groups of 4 activations, so each weight block is
 * unpacked once for 4 of them. Q4_0/Q5_0 kernels also rearrange every
 * activation block per tile, so they stay on 2x2 to share that across rows. */
void vd_matmul(int wtype, const void *w, int64_t cols, int64_t r0, int64_t r1,
               const void *xq, int nact, float *y, int64_t ldy) {
    const qt_traits *t = qt_get(wtype);
    assert(t && t->supported && cols % t->block == 0 && "vd_matmul: bad type or length");
    size_t wrs = qt_row_size(wtype, cols), xrs = vd_act_row_size(wtype, cols);
    vd_tile_fn tile = simd_tile(wtype);
    dot1_fn dot1 = portable_dot(wtype);
    int at = act_tile(xrs, nact), pairs = wtype != QT_Q4_K && wtype != QT_Q5_K && wtype != QT_Q6_K;
    for (int j0 = 0; j0 < nact; j0 += at) {
        int j1 = j0 + at < nact ? j0 + at : nact;
        /* one activation: 4 rows at a time, except F32, which streams more
         * bytes per FLOP than anything else and is DRAM-bound: one row at a
         * time keeps one sequential stream per thread, which measured 5-15%
         * faster on stories15m than four rows side by side; with AVX-512
         * the float types' rows1 (F16 and BF16 with the next rows
         * prefetched: vecdot_avx512.c) */
        int one = wtype == QT_F32 ? 1 : 4;
        const vd_backend *b512 = vd_backend_avx512();
        if (j1 - j0 == 1 && vd_isa() >= VD_AVX512 && b512 && b512->rows1[wtype]) {
            b512->rows1[wtype]((const char *)w + (size_t)r0 * wrs, wrs, r1 - r0, (const char *)xq + (size_t)j0 * xrs,
                               cols, y + (int64_t)j0 * ldy + r0);
            continue;
        }
        int rstep = j1 - j0 == 1 ? one : j1 - j0 == 2 || pairs ? 2 : 1, jstep = 4 / rstep;
        vd_tile_fn tl = tile, wide = wide_tile(wtype);
        /* two or more activations: four rows at a time (4 x 2 and 4 x 3 fill
         * the registers with both chains); the wide tile takes all
         * activations of a group of rows at once and fetches the next rows
         * (F32 two and three sequences a step read DRAM at 3.1 and 3.9 ms a
         * 32000 x 288 product by 2 x 2 tiles, against 0.9 for one and 1.1
         * for four: a cliff) */
        if (wide && j1 - j0 >= 2) rstep = VD_WIDE_NR, jstep = j1 - j0, tl = wide;
        for (int64_t r = r0; r < r1; r += rstep) {
            int nr = r1 - r < rstep ? (int)(r1 - r) : rstep;
            const char *wr = (const char *)w + (size_t)r * wrs;
            for (int j = j0; j < j1; j += jstep) {
                int nx = j1 - j < jstep ? j1 - j : jstep;
                const char *xj = (const char *)xq + (size_t)j * xrs;
                float *yj = y + (int64_t)j * ldy + r;
                if (tl) { tl(wr, wrs, nr, xj, xrs, nx, cols, yj, ldy); continue; }
                for (int a = 0; a < nr; a++)
                    for (int k = 0; k < nx; k++)
                        yj[k * ldy + a] = dot1(wr + (size_t)a * wrs, xj + (size_t)k * xrs, cols);
            }
        }
    }
}

/* ---- eight activations at once ------------------------------------------- */

static vd_x8_fn x8_kernel(int wtype, unsigned wflags) {
    vd_x8_fn f = vd_isa() >= VD_AVX512 && (vd_cpu_features() & VD_CPU_AVX512VNNI) ? vd_x8_vnni(wtype, wflags) : NULL;
    return f ? f : vd_isa() >= VD_AVX2 ? vd_x8_avx2(wtype, wflags) : NULL;
}

size_t vd_act8_size(int wtype, int64_t cols, int nact) {
    if (nact < VD_X8_MIN || !x8_kernel(wtype, 0) || qt_get(wtype)->act_type != QT_Q8_0) return 0;
    return (size_t)((nact + 7) / 8) * (size_t)(cols / 32) * sizeof(vd_act8_block);
}

void vd_act8_pack(int wtype, const void *xq, int nact, int64_t cols, void *x8) {
    assert(qt_get(wtype)->act_type == QT_Q8_0 && cols % 32 == 0 && "vd_act8_pack: bad type or length");
    int64_t nb = cols / 32;
    size_t xrs = vd_act_row_size(wtype, cols);
    vd_act8_block *o = x8;
    /* four bytes at a time and whole-block loops the compiler vectorizes:
     * this runs once per product, on the one thread, before the pool starts */
    for (int c = 0; c < nact; c += 8, o += nb) {
        int nx = nact - c < 8 ? nact - c : 8;
        for (int64_t b = 0; b < nb; b++) {
            vd_act8_block *ob = o + b;
            if (nx < 8) memset(ob, 0, sizeof *ob);
            for (int j = 0; j < nx; j++) {
                const qt_block_q8_0 *x = (const qt_block_q8_0 *)((const char *)xq + (size_t)(c + j) * xrs) + b;
                for (int g = 0; g < 8; g++) memcpy(&ob->q[g][4 * j], x->qs + 4 * g, 4);
                int32_t sum = 0;
                for (int i = 0; i < 32; i++) sum += x->qs[i];
                ob->d[j] = qt_f16_to_f32(x->d);
                ob->off[j] = 8 * sum;
            }
            if (wtype != QT_Q8_0) continue;   /* |q| serves only the Q8_0 kernel */
            const int8_t *q = &ob->q[0][0];
            uint8_t *a = &ob->a[0][0];
            for (int i = 0; i < 256; i++) a[i] = (uint8_t)(q[i] < 0 ? -q[i] : q[i]);
        }
    }
}

bool vd_q8_0_no_min(const void *w, int64_t rows, int64_t cols) {
    const qt_block_q8_0 *b = w;
    int64_t n = rows * (cols / 32);
    for (int64_t i = 0; i < n; i++) {
        int hit = 0;   /* no early exit inside a block: the loop vectorizes */
        for (int k = 0; k < 32; k++) hit |= b[i].qs[k] == -128;
        if (hit) return false;
    }
    return true;
}

void vd_matmul8(int wtype, const void *w, int64_t cols, int64_t r0, int64_t r1, const void *x8,
                int nact, float *y, int64_t ldy, unsigned wflags) {
    vd_x8_fn k = x8_kernel(wtype, wflags);
    assert(k && "vd_matmul8: no eight-wide kernel (check vd_act8_size first)");
    size_t wrs = qt_row_size(wtype, cols), chunk = (size_t)(cols / 32) * sizeof(vd_act8_block);
    const char *wr = (const char *)w + (size_t)r0 * wrs;
    for (int c = 0; c < nact; c += 8) {
        int nx = nact - c < 8 ? nact - c : 8;
        k(wr, wrs, r1 - r0, (const char *)x8 + (size_t)(c / 8) * chunk, cols, nx, y + (int64_t)c * ldy + r0, ldy);
    }
}

/* ---- one activation, rows repacked by eight -------------------------------- */

#define R8_MAX_BLOCKS 2048      /* per-block activation terms live on the stack (cols <= 65536) */

/* The repacked kernel for wtype and how many activations it takes a call
 * (*nx): the VNNI one (vd_r8_path: AVX512-VNNI, else AVX-VNNI) where this CPU has it, else AVX2's. *mult: the
 * kernel's off term per unit of a block's code sum (vd_r8_fn): AVX2 takes
 * 8 * sum and subtracts it; VNNI starts its chain at -8 * sum (Q4_0) or
 * -128 * sum (Q8_0, whose codes it offsets by 128). */
static vd_r8_fn r8_kernel(int wtype, int *nx, int *mult) {
    int path = vd_r8_path(vd_isa(), vd_cpu_features());
    vd_r8_fn a = path == VD_R8_AMX ? vd_r8_amx(wtype) : NULL;   /* Q4_K, Q4_0, Q8_0; the others take AVX512-VNNI's */
    vd_r8_fn f = a ? a : path >= VD_R8_AVX512VNNI ? vd_r8_vnni(wtype) : path == VD_R8_AVXVNNI ? vd_r8_avxvnni(wtype) : NULL;
    if (nx) *nx = a ? VD_R8_AMX_NX : f ? VD_R8V_NX : VD_R8_NX;
    if (mult) *mult = wtype == QT_Q5_0 ? -16 : !f ? 8 : wtype == QT_Q8_0 ? -128 : -8;   /* AVX2's Q5_0 starts at -16 * sum too */
    return f ? f : vd_isa() >= VD_AVX2 ? vd_r8_avx2(wtype) : NULL;
}

int vd_r8_width(int wtype) {
    int nx;
    return r8_kernel(wtype, &nx, NULL) ? nx : 0;
}

size_t vd_repack_size(int wtype, int64_t rows, int64_t cols) {
    if (!r8_kernel(wtype, NULL, NULL) || rows < 8 || cols % 32 || cols / 32 > R8_MAX_BLOCKS) return 0;
    if (wtype == QT_Q4_K || wtype == QT_Q5_K || wtype == QT_Q6_K)
        return cols % 256 ? 0 : (size_t)(rows / 8) * (size_t)(cols / 256) *
                                    (wtype == QT_Q4_K ? sizeof(vd_block_q4_Kx8) : wtype == QT_Q5_K ? sizeof(vd_block_q5_Kx8)
                                                                                                   : sizeof(vd_block_q6_Kx8));
    size_t blk = wtype == QT_Q8_0 ? sizeof(vd_block_q8_0x8) : wtype == QT_Q5_0 ? sizeof(vd_block_q5_0x8) : sizeof(vd_block_q4_0x8);
    return (size_t)(rows / 8) * (size_t)(cols / 32) * blk;
}

/* One Q4_K-layout super-block of row r (vecdot.h, vd_block_q4_Kx8). */
static void repack_k4_row(vd_block_q4_Kx8 *o, int r, uint16_t d, uint16_t dmin, const uint8_t *s12, const uint8_t *qs) {
    uint8_t sc[8], mn[8];
    qt_unpack_scales_k4(s12, sc, mn);
    o->d[r] = d;
    o->dmin[r] = dmin;
    for (int j = 0; j < 8; j++) o->sc[j][r] = sc[j];
    for (int p = 0; p < 4; p++) { o->mn[p][2 * r] = mn[2 * p]; o->mn[p][2 * r + 1] = mn[2 * p + 1]; }
    for (int c = 0; c < 4; c++)
        for (int k = 0; k < 8; k++) memcpy(o->qs + 256 * c + 32 * k + 4 * r, qs + 32 * c + 4 * k, 4);
}

static void repack_q4_K(const void *w, int64_t rows, int64_t cols, void *out) {
    int64_t nb = cols / 256;
    size_t wrs = qt_row_size(QT_Q4_K, cols);
    vd_block_q4_Kx8 *o = out;
    for (int64_t g = 0; g < rows / 8; g++)
        for (int64_t b = 0; b < nb; b++, o++)
            for (int r = 0; r < 8; r++) {
                const qt_block_q4_K *src = (const qt_block_q4_K *)((const char *)w + (size_t)(8 * g + r) * wrs) + b;
                repack_k4_row(o, r, src->d, src->dmin, src->scales, src->qs);
            }
}

static void repack_q5_K(const void *w, int64_t rows, int64_t cols, void *out) {
    int64_t nb = cols / 256;
    size_t wrs = qt_row_size(QT_Q5_K, cols);
    vd_block_q5_Kx8 *o = out;
    for (int64_t g = 0; g < rows / 8; g++)
        for (int64_t b = 0; b < nb; b++, o++)
            for (int r = 0; r < 8; r++) {
                const qt_block_q5_K *src = (const qt_block_q5_K *)((const char *)w + (size_t)(8 * g + r) * wrs) + b;
                repack_k4_row(&o->k4, r, src->d, src->dmin, src->scales, src->qs);
                for (int k = 0; k < 8; k++) memcpy(o->qh + 32 * k + 4 * r, src->qh + 4 * k, 4);
            }
}

/* Q6_K: the same bytes, eight rows interleaved by four bytes (vecdot.h). */
static void repack_q6_K(const void *w, int64_t rows, int64_t cols, void *out) {
    int64_t nb = cols / 256;
    size_t wrs = qt_row_size(QT_Q6_K, cols);
    vd_block_q6_Kx8 *o = out;
    for (int64_t g = 0; g < rows / 8; g++)
        for (int64_t b = 0; b < nb; b++, o++)
            for (int r = 0; r < 8; r++) {
                const qt_block_q6_K *src = (const qt_block_q6_K *)((const char *)w + (size_t)(8 * g + r) * wrs) + b;
                o->d[r] = src->d;
                for (int k = 0; k < 16; k++) o->sc[k][r] = src->scales[k];
                for (int k = 0; k < 32; k++) memcpy(o->ql + 32 * k + 4 * r, src->ql + 4 * k, 4);
                for (int k = 0; k < 16; k++) memcpy(o->qh + 32 * k + 4 * r, src->qh + 4 * k, 4);
            }
}

/* Q5_0: the nibbles as Q4_0's; the fifth bits regrouped by byte (vecdot.h). */
static void repack_q5_0(const void *w, int64_t rows, int64_t cols, void *out) {
    int64_t nb = cols / 32;
    size_t wrs = qt_row_size(QT_Q5_0, cols);
    vd_block_q5_0x8 *o = out;
    for (int64_t g = 0; g < rows / 8; g++)
        for (int64_t b = 0; b < nb; b++, o++)
            for (int r = 0; r < 8; r++) {
                const qt_block_q5_0 *src = (const qt_block_q5_0 *)((const char *)w + (size_t)(8 * g + r) * wrs) + b;
                uint32_t qh;
                memcpy(&qh, src->qh, 4);
                o->d[r] = src->d;
                for (int i = 0; i < 4; i++) {
                    uint8_t h = 0;
                    for (int k = 0; k < 4; k++)
                        h |= (uint8_t)(((qh >> (4 * k + i)) & 1) << k | ((qh >> (16 + 4 * k + i)) & 1) << (4 + k));
                    o->hq[4 * r + i] = h;
                }
                for (int k = 0; k < 4; k++) memcpy(o->qs + 32 * k + 4 * r, src->qs + 4 * k, 4);
            }
}

void vd_repack(int wtype, const void *w, int64_t rows, int64_t cols, void *out) {
    if (wtype == QT_Q4_K) { repack_q4_K(w, rows, cols, out); return; }
    if (wtype == QT_Q5_K) { repack_q5_K(w, rows, cols, out); return; }
    if (wtype == QT_Q6_K) { repack_q6_K(w, rows, cols, out); return; }
    if (wtype == QT_Q5_0) { repack_q5_0(w, rows, cols, out); return; }
    assert((wtype == QT_Q4_0 || wtype == QT_Q8_0) && cols % 32 == 0 && "vd_repack: Q4_0/Q8_0/Q5_0/Q4_K/Q6_K whole blocks only");
    int64_t nb = cols / 32;
    size_t wrs = qt_row_size(wtype, cols);
    bool q8 = wtype == QT_Q8_0;
    char *o = out;
    for (int64_t g = 0; g < rows / 8; g++)
        for (int64_t b = 0; b < nb; b++) {
            for (int r = 0; r < 8; r++) {
                const char *row = (const char *)w + (size_t)(8 * g + r) * wrs;
                if (q8) {
                    const qt_block_q8_0 *src = (const qt_block_q8_0 *)row + b;
                    vd_block_q8_0x8 *d = (vd_block_q8_0x8 *)o;
                    d->d[r] = src->d;
                    for (int k = 0; k < 8; k++) memcpy(d->qs + 32 * k + 4 * r, src->qs + 4 * k, 4);
                } else {
                    const qt_block_q4_0 *src = (const qt_block_q4_0 *)row + b;
                    vd_block_q4_0x8 *d = (vd_block_q4_0x8 *)o;
                    d->d[r] = src->d;
                    for (int k = 0; k < 4; k++) memcpy(d->qs + 32 * k + 4 * r, src->qs + 4 * k, 4);
                }
            }
            o += q8 ? sizeof(vd_block_q8_0x8) : sizeof(vd_block_q4_0x8);
        }
}

static bool r8_kquant(int wtype) { return wtype == QT_Q4_K || wtype == QT_Q5_K || wtype == QT_Q6_K; }

/* K-quant kernels read their Q8_K rows' own sums: no terms. */
int64_t vd_r8_prep_blocks(int wtype, int64_t cols) {
    return r8_kernel(wtype, NULL, NULL) && !r8_kquant(wtype) ? cols / 32 : 0;
}

void vd_r8_prep(int wtype, const void *xq, int64_t cols, int j0, int j1, int32_t *off, float *dx) {
    int mult;
    r8_kernel(wtype, NULL, &mult);
    int64_t nb = vd_r8_prep_blocks(wtype, cols);
    size_t xrs = vd_act_row_size(wtype, cols);
    for (int j = j0; j < j1; j++) {
        const qt_block_q8_0 *x = (const qt_block_q8_0 *)((const char *)xq + (size_t)j * xrs);
        for (int64_t b = 0; b < nb; b++) {
            int32_t s = 0;
            for (int i = 0; i < 32; i++) s += x[b].qs[i];
            off[j * nb + b] = mult * s;
            dx[j * nb + b] = qt_f16_to_f32(x[b].d);
        }
    }
}

/* Whether nact activations end in a zero-padded AMX sixteen on this CPU
 * (vd_matmul_r8p_pad's comment has the rule), and its tail kernel. */
static vd_r8t_fn r8_pad_kernel(int wtype, int nact, int *rest) {
    int knx;
    r8_kernel(wtype, &knx, NULL);
    if (knx != VD_R8_AMX_NX) return NULL;
    *rest = nact % knx;
    if (wtype == QT_Q4_K) return nact >= knx && *rest >= VD_R8_AMX_PAD_K ? vd_r8_amx_tail(wtype) : NULL;
    int least = nact >= knx ? VD_R8_AMX_PAD : wtype == QT_Q4_0 ? VD_R8_AMX_PAD_ALONE_Q4 : VD_R8_AMX_PAD_ALONE;
    return *rest >= least ? vd_r8_amx_tail(wtype) : NULL;
}

/* The padded sixteen: sixteen activation rows (64-byte aligned), then
 * sixteen rows of off terms and sixteen of dx, the rest's first. */
static size_t pad_xbytes(int wtype, int64_t cols) {
    return ((size_t)VD_R8_AMX_NX * vd_act_row_size(wtype, cols) + 63) & ~(size_t)63;
}

size_t vd_r8_pad_size(int wtype, int64_t cols, int nact) {
    int rest;
    if (!r8_kernel(wtype, NULL, NULL) || !r8_pad_kernel(wtype, nact, &rest)) return 0;
    return pad_xbytes(wtype, cols) +
           (size_t)VD_R8_AMX_NX * (size_t)vd_r8_prep_blocks(wtype, cols) * (sizeof(int32_t) + sizeof(float));
}

void vd_r8_pad(int wtype, const void *xq, int64_t cols, int nact, const int32_t *off, const float *dx, void *pad) {
    int rest;
    if (!r8_pad_kernel(wtype, nact, &rest)) return;
    size_t xrs = vd_act_row_size(wtype, cols), nb = (size_t)vd_r8_prep_blocks(wtype, cols), j0 = (size_t)(nact - rest);
    char *xt = pad;
    int32_t *offt = (int32_t *)(xt + pad_xbytes(wtype, cols));
    float *dxt = (float *)(offt + VD_R8_AMX_NX * nb);
    memset(pad, 0, vd_r8_pad_size(wtype, cols, nact));
    memcpy(xt, (const char *)xq + j0 * xrs, (size_t)rest * xrs);
    if (nb) {   /* K-quants: none (their Q8_K rows hold their own sums) */
        memcpy(offt, off + j0 * nb, (size_t)rest * nb * sizeof *offt);
        memcpy(dxt, dx + j0 * nb, (size_t)rest * nb * sizeof *dxt);
    }
}

/* Activations [j0, j0 + n) in even chunks of at most rnx, groups [g0, g1). */
static void r8_rest(vd_r8_fn k, const void *wr, int64_t cols, int64_t g0, int64_t g1, const void *xq, size_t xrs,
                    int j0, int n, int rnx, const int32_t *off, const float *dx, int64_t nb, float *y, int64_t ldy) {
    int nch = (n + rnx - 1) / rnx;
    for (int c = 0; c < nch; c++) {
        int nx = n / nch + (c < n % nch);
        k(wr, cols, g0, g1, (const char *)xq + (size_t)j0 * xrs, xrs, nx, off ? off + (size_t)j0 * nb : NULL,
          dx ? dx + (size_t)j0 * nb : NULL, y + (int64_t)j0 * ldy, ldy);
        j0 += nx;
    }
}

void vd_matmul_r8p(int wtype, const void *wr, int64_t cols, int64_t r0, int64_t r1, const void *xq,
                   int nact, const int32_t *off, const float *dx, float *y, int64_t ldy) {
    vd_matmul_r8p_pad(wtype, wr, cols, r0, r1, xq, nact, off, dx, NULL, y, ldy);
}

void vd_matmul_r8p_pad(int wtype, const void *wr, int64_t cols, int64_t r0, int64_t r1, const void *xq,
                       int nact, const int32_t *off, const float *dx, const void *pad, float *y, int64_t ldy) {
    int knx;
    vd_r8_fn k = r8_kernel(wtype, &knx, NULL);
    assert(k && r0 % 8 == 0 && r1 % 8 == 0 && nact >= 0 && cols / 32 <= R8_MAX_BLOCKS &&
           (r8_kquant(wtype) || (off && dx)) && "vd_matmul_r8p: bad call");
    int64_t nb = cols / 32;
    size_t xrs = vd_act_row_size(wtype, cols);
    /* The activations in chunks of at most knx, as even as their number
     * allows (9 as 5 + 4, not 8 + 1): a chunk of one takes the one-activation
     * form, which costs about twice as much per activation as the wide ones
     * (256-bit vectors, made for batch 1, where the weights come from
     * memory), and made the ninth sequence of a step cost as much as a whole
     * step of one: stories15m Q4_0 at one thread, CPU time, 8 sequences
     * 0.94 ms, 9 sequences 1.25 ms. The chunking changes no number: each
     * activation's sums are the kernel's whatever the chunk (vecdot.h). */
    /* The AMX kernels (knx 16) take every whole sixteen in one call (they
     * unpack a block once for all of them). A rest of VD_R8_AMX_PAD (6) to
     * fifteen (VD_R8_AMX_PAD_ALONE(_Q4) when there is none) rides along as one
     * zero-padded sixteen (vd_r8_amx_tail): a rest of nine or more would
     * take two VNNI chunks, two more passes over each block, and one more
     * sixteen costs less once the unpacking is shared. A smaller rest goes to
     * the VNNI kernel in even chunks of at most eight, as a call of that many
     * would (21 = 16 + 5, 20 = 16 + 4). Kernel-only cross-over, one core,
     * the matrices of a stories15m step, CPU time, the two forms alternating
     * (notes w22a): session 12, min of 40 rounds, Q4_0 25 as 16 + 9 2.10 ms
     * padded vs 2.41 VNNI, 31 2.52 vs 3.03, 15 alone 1.14 vs 1.43, alone
     * 9-11 about even, 12 1.09 vs 1.21; Q8_0 likewise (25 2.34 vs 2.45, 9
     * alone 1.25 vs 1.11); session 13, the rows in the backend's chunks, min
     * of 100 rounds: rest 8 padded / VNNI 0.90-0.97 (24, 40, 56; both
     * types), rest 7 1.0-1.1, rest 4-6 1.0-1.24; session 15, since the
     * padded sixteen's float work covers only its real rows, engine steps
     * (20-24 paired rounds) rest 6-7 0.90-0.99 padded / VNNI, 5 0.93-1.06
     * (vecdot.h). Q4_K (one tinyllama layer,
     * 20 rounds): rest 13-15 0.89-0.94 (29-31, 45, 47), 9-12 about even
     * (0.94-1.06), alone 12-15 1.03-1.14: from 13, with whole sixteens
     * only. Which form a row takes changes no bit (vecdot_r8_amx.c). The padded sixteen comes
     * built (pad, vd_r8_pad: once a product, whose row chunks are separate
     * calls) or is built here. The tile configuration is loaded once here
     * for all the calls.
     * Where a VNNI rest runs (VD_R8_AMX_AFTER, VD_R8_AMX_REST_BYTES): kernel
     * only, session 14, the matrices of a stories15m step in the backend's
     * T1 row chunks, CPU time, medians of 31-41 alternating rounds, against
     * the same N as two products (16k, then r): the rest right after each
     * step's AMX call 22 = 16 + 6 1.09-1.16, 23 1.06-1.15, 38 1.03-1.09,
     * 54 1.20-1.33 (output product); after the AMX calls over the whole
     * row chunk 1.0-1.06; over 256 KiB of weights at a time 0.94, 0.98,
     * 0.95, 0.90 (Q8_0 0.96, 0.98, 0.94, 0.88), the layers' products
     * 0.92-0.99 (were 1.02-1.08). One tinyllama layer and its output
     * product (5 rounds, against the interleaved rest): the whole chunk
     * Q8_0 1.08-1.19, Q4_0 0.99-1.01, Q4_K 0.98-1.03; 256 KiB Q8_0
     * 0.96-1.01, Q4_0 0.97-0.99, Q4_K 0.97-0.99. A rest of 1-2 measured
     * 0.93-0.96 interleaved vs 0.96-1.0 after (17, 18, 33, 34), 3-4 even.
     * ORDER: each activation's sums are the kernel's whatever rows a call
     * takes (vecdot.h): the same bits in either place (test_invariance_kernels'
     * amx_mix_case, test_quant's repack shapes of 20 and 21 activations). */
    bool amx = knx == VD_R8_AMX_NX;
    int rest = amx ? nact % knx : nact, full = amx && nact >= knx ? 1 : 0, rnx = amx ? VD_R8V_NX : knx;
    vd_r8t_fn kt = r8_pad_kernel(wtype, nact, &rest);
    /* built here: on the stack up to 64 blocks a row */
    enum { PAD_STACK = 64 };
    _Alignas(64) char pad_s[VD_R8_AMX_NX * PAD_STACK * (sizeof(qt_block_q8_0) + sizeof(int32_t) + sizeof(float)) + 64];
    char *own = NULL;
    if (kt && !pad) {
        size_t ps = vd_r8_pad_size(wtype, cols, nact);
        own = ps <= sizeof pad_s ? pad_s : malloc(ps);
        if (own) vd_r8_pad(wtype, xq, cols, nact, off, dx, own);
        else kt = NULL;   /* no memory: the VNNI rest, same bits */
        pad = own;
    }
    const char *xt = pad;
    const int32_t *offt = kt && off ? (const int32_t *)(xt + pad_xbytes(wtype, cols)) : NULL;
    const float *dxt = kt && off ? (const float *)(offt + VD_R8_AMX_NX * nb) : NULL;
    if (amx) vd_r8_amx_begin();
    /* a few groups at a time against every chunk of activations, so the
     * later chunks find the groups' blocks in cache, not in DRAM */
    enum { GSTEP = 8 };
    /* With whole sixteens, a VNNI rest of VD_R8_AMX_AFTER or more
     * activations does not run right after each step's AMX call over the
     * same rows (as the smaller rest and the VNNI chunks alone do) but after
     * the AMX calls over about VD_R8_AMX_REST_BYTES of weights (see there). */
    int nf = full ? nact - rest : 0;
    bool after = full && !kt && rest >= VD_R8_AMX_AFTER;
    int64_t rstep = after ? (int64_t)(VD_R8_AMX_REST_BYTES / vd_repack_size(wtype, 8, cols)) : 0, rs0 = r0 / 8;
    for (int64_t g = r0 / 8; g < r1 / 8; g += GSTEP) {
        int64_t g1 = g + GSTEP < r1 / 8 ? g + GSTEP : r1 / 8;
        if (kt) {   /* the rest rides along */
            kt(wr, cols, g, g1, xq, xrs, nf, off, dx, xt, offt, dxt, rest, y, ldy);
            continue;
        }
        if (nf) k(wr, cols, g, g1, xq, xrs, nf, off, dx, y, ldy);
        if (!after) r8_rest(k, wr, cols, g, g1, xq, xrs, nf, rest, rnx, off, dx, nb, y, ldy);
        else if (g1 - rs0 >= rstep || g1 == r1 / 8) {
            r8_rest(k, wr, cols, rs0, g1, xq, xrs, nf, rest, rnx, off, dx, nb, y, ldy);
            rs0 = g1;
        }
    }
    if (amx) vd_r8_amx_end();
    if (own != pad_s) free(own);
}

void vd_matmul_r8(int wtype, const void *wr, int64_t cols, int64_t r0, int64_t r1, const void *xq,
                  int nact, float *y, int64_t ldy) {
    assert(r8_kernel(wtype, NULL, NULL) && cols / 32 <= R8_MAX_BLOCKS && nact >= 0 && "vd_matmul_r8: bad call");
    int64_t nb = vd_r8_prep_blocks(wtype, cols);
    size_t xrs = vd_act_row_size(wtype, cols);
    enum { NSTACK = 8 };
    int32_t off_s[NSTACK * R8_MAX_BLOCKS];     /* 128 KiB of stack together */
    float dx_s[NSTACK * R8_MAX_BLOCKS];
    int32_t *off = nb ? off_s : NULL;
    float *dx = nb ? dx_s : NULL;
    if (nact > NSTACK && nb) {
        off = malloc((size_t)nact * (size_t)nb * sizeof *off);
        dx = malloc((size_t)nact * (size_t)nb * sizeof *dx);
        if (!off || !dx) {   /* no memory: eight activations at a time, same results */
            free(off); free(dx);
            for (int j0 = 0; j0 < nact; j0 += NSTACK)
                vd_matmul_r8(wtype, wr, cols, r0, r1, (const char *)xq + (size_t)j0 * xrs,
                             nact - j0 < NSTACK ? nact - j0 : NSTACK, y + (int64_t)j0 * ldy, ldy);
            return;
        }
    }
    if (nb) vd_r8_prep(wtype, xq, cols, 0, nact, off, dx);
    vd_matmul_r8p(wtype, wr, cols, r0, r1, xq, nact, off, dx, y, ldy);
    if (off != off_s) { free(off); free(dx); }
}

vd_dot_f32_fn vd_dot_f32_get(void) {
    const vd_backend *b512 = vd_backend_avx512(), *b2 = vd_backend_avx2();
    int isa = vd_isa();
    if (isa >= VD_AVX512 && b512 && b512->dot_f32) return b512->dot_f32;
    if (isa >= VD_AVX2 && b2 && b2->dot_f32) return b2->dot_f32;
    return dot_f32;
}

vd_axpy_f32_fn vd_axpy_f32_get(void) {
    const vd_backend *b512 = vd_backend_avx512(), *b2 = vd_backend_avx2();
    int isa = vd_isa();
    if (isa >= VD_AVX512 && b512 && b512->axpy_f32) return b512->axpy_f32;
    if (isa >= VD_AVX2 && b2 && b2->axpy_f32) return b2->axpy_f32;
    return axpy_f32;
}

float vd_dot_f32(const float *a, const float *b, int64_t n) { return vd_dot_f32_get()(a, b, n); }

static bool finite_f32(const float *x, int64_t n) {
    uint32_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, 4);
        u &= 0x7fffffffu;
        m = u > m ? u : m;
    }
    return m < 0x7f800000u;
}

bool vd_finite_f32(const float *x, int64_t n) {
    const vd_backend *b512 = vd_backend_avx512(), *b2 = vd_backend_avx2();
    int isa = vd_isa();
    if (isa >= VD_AVX512 && b512 && b512->finite_f32) return b512->finite_f32(x, n);
    if (isa >= VD_AVX2 && b2 && b2->finite_f32) return b2->finite_f32(x, n);
    return finite_f32(x, n);
}

void vd_axpy_f32(float *y, float a, const float *x, int64_t n) { vd_axpy_f32_get()(y, a, x, n); }

void vd_dots_f32(float *s, const float *q, const float *const *rows, int64_t off, int64_t np, int64_t hd) {
    const vd_backend *b512 = vd_backend_avx512();
    if (vd_isa() >= VD_AVX512 && b512 && b512->dots_f32) { b512->dots_f32(s, q, rows, off, np, hd); return; }
    vd_dot_f32_fn dot = vd_dot_f32_get();
    for (int64_t p = 0; p < np; p++) s[p] = dot(q, rows[p] + off, hd);
}

void vd_wsum_f32(float *o, const float *a, const float *const *rows, int64_t off, int64_t np, int64_t hd) {
    const vd_backend *b512 = vd_backend_avx512();
    if (vd_isa() >= VD_AVX512 && b512 && b512->wsum_f32) { b512->wsum_f32(o, a, rows, off, np, hd); return; }
    vd_axpy_f32_fn axpy = vd_axpy_f32_get();
    memset(o, 0, sizeof(float) * (size_t)hd);
    for (int64_t p = 0; p < np; p++) axpy(o, a[p], rows[p] + off, hd);
}

void vd_dots_f32_mq(float *s, size_t ss, const float *q, size_t qs, int nq, const int64_t *np,
                    const float *const *rows, int64_t off, int64_t hd) {
    const vd_backend *b512 = vd_backend_avx512();
    assert(nq >= 1 && nq <= VD_MQ);
    if (vd_isa() >= VD_AVX512 && b512 && b512->dots_f32_mq) {
        b512->dots_f32_mq(s, ss, q, qs, nq, np, rows, off, hd);
        return;
    }
    for (int k = 0; k < nq; k++) vd_dots_f32(s + k * ss, q + k * qs, rows, off, np[k], hd);
}

void vd_wsum_f32_mq(float *o, size_t os, const float *a, size_t as, int nq, const int64_t *np,
                    const float *const *rows, int64_t off, int64_t hd) {
    const vd_backend *b512 = vd_backend_avx512();
    assert(nq >= 1 && nq <= VD_MQ);
    if (vd_isa() >= VD_AVX512 && b512 && b512->wsum_f32_mq) {
        b512->wsum_f32_mq(o, os, a, as, nq, np, rows, off, hd);
        return;
    }
    for (int k = 0; k < nq; k++) vd_wsum_f32(o + k * os, a + k * as, rows, off, np[k], hd);
}

void vd_exp_f32(float *x, int64_t n) {
    const vd_backend *b2 = vd_backend_avx2();
    if (vd_isa() >= VD_AVX2 && b2 && b2->exp_f32) { b2->exp_f32(x, n); return; }
    for (int64_t i = 0; i < n; i++) x[i] = expf(x[i]);
}

static void silu_mul(float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

void vd_silu_mul(float *g, const float *u, int64_t n) {
    const vd_backend *b2 = vd_backend_avx2();
    if (vd_isa() >= VD_AVX2 && b2 && b2->silu_mul) b2->silu_mul(g, u, n);
    else silu_mul(g, u, n);
}

