/* vecdot: the portable kernels, activation rounding, and the matmul
 * drivers shared by every ISA (which ISA and kernel path runs is
 * vecdot_isa.c's; the repacked-by-eight weights and their drivers are
 * vecdot_r8.c's). Every kernel of every ISA computes
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

/* ---- float vectors: attention's dots and sums, the activations' helpers ---- */

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

