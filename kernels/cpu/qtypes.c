/* qtypes: the ggml/GGUF element types: a table of block geometry, scalar
 * fp16/bf16 conversions, and the reference (portable, readable) dequantizers
 * and quantizers. These routines define what every SIMD kernel must compute.
 *
 * Block layouts are the GGUF file format (ggml-common.h in llama.cpp), restated
 * next to each routine. Values are little-endian; the structs in qtypes.h are
 * byte-exact with the file. Invariant: every row routine takes n as a multiple
 * of the type's block and touches exactly qt_row_size(type, n) bytes.
 */
#include "qtypes.h"
#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <string.h>

_Static_assert(sizeof(qt_block_q8_0) == 34, "q8_0 layout");
_Static_assert(sizeof(qt_block_q4_0) == 18, "q4_0 layout");
_Static_assert(sizeof(qt_block_q5_0) == 22, "q5_0 layout");
_Static_assert(sizeof(qt_block_q4_K) == 144, "q4_K layout");
_Static_assert(sizeof(qt_block_q5_K) == 176, "q5_K layout");
_Static_assert(sizeof(qt_block_q6_K) == 210, "q6_K layout");
_Static_assert(sizeof(qt_block_q8_K) == 292, "q8_K layout");

/* ---- type table ---------------------------------------------------------- */

/* act_type is ggml's vec_dot type; -1 where no dot product exists. The IQ and
 * TQ sizes are listed so that files holding them validate; we never compute
 * with them. Ids 4, 5, 31-33, 36-38 were removed from ggml and stay unknown. */
static const qt_traits traits[QT_COUNT] = {
    [QT_F32]  = {"f32", 1, 4, true, QT_F32},
    [QT_F16]  = {"f16", 1, 2, true, QT_F16},
    [QT_Q4_0] = {"q4_0", 32, 18, true, QT_Q8_0},
    [QT_Q4_1] = {"q4_1", 32, 20, false, QT_Q8_1},
    [QT_Q5_0] = {"q5_0", 32, 22, true, QT_Q8_0},
    [QT_Q5_1] = {"q5_1", 32, 24, false, QT_Q8_1},
    [QT_Q8_0] = {"q8_0", 32, 34, true, QT_Q8_0},
    [QT_Q8_1] = {"q8_1", 32, 36, false, QT_Q8_1},
    [QT_Q2_K] = {"q2_K", 256, 84, false, QT_Q8_K},
    [QT_Q3_K] = {"q3_K", 256, 110, false, QT_Q8_K},
    [QT_Q4_K] = {"q4_K", 256, 144, true, QT_Q8_K},
    [QT_Q5_K] = {"q5_K", 256, 176, true, QT_Q8_K},
    [QT_Q6_K] = {"q6_K", 256, 210, true, QT_Q8_K},
    [QT_Q8_K] = {"q8_K", 256, 292, false, QT_Q8_K},
    [16] = {"iq2_xxs", 256, 66, false, QT_Q8_K},
    [17] = {"iq2_xs", 256, 74, false, QT_Q8_K},
    [18] = {"iq3_xxs", 256, 98, false, QT_Q8_K},
    [19] = {"iq1_s", 256, 50, false, QT_Q8_K},
    [20] = {"iq4_nl", 32, 18, false, QT_Q8_0},
    [21] = {"iq3_s", 256, 110, false, QT_Q8_K},
    [22] = {"iq2_s", 256, 82, false, QT_Q8_K},
    [23] = {"iq4_xs", 256, 136, false, QT_Q8_K},
    [QT_I8]   = {"i8", 1, 1, false, -1},
    [QT_I16]  = {"i16", 1, 2, false, -1},
    [QT_I32]  = {"i32", 1, 4, false, -1},
    [QT_I64]  = {"i64", 1, 8, false, -1},
    [QT_F64]  = {"f64", 1, 8, false, -1},
    [29] = {"iq1_m", 256, 56, false, QT_Q8_K},
    [QT_BF16] = {"bf16", 1, 2, true, QT_BF16},
    [34] = {"tq1_0", 256, 54, false, QT_Q8_K},
    [35] = {"tq2_0", 256, 66, false, QT_Q8_K},
    [39] = {"mxfp4", 32, 17, false, QT_Q8_0},
};

const qt_traits *qt_get(int type) {
    if (type < 0 || type >= QT_COUNT || !traits[type].name) return NULL;
    return &traits[type];
}

int qt_from_name(const char *name) {
    if (!name) return -1;
    for (int t = 0; t < QT_COUNT; t++) {
        const char *a = traits[t].name, *b = name;
        if (!a) continue;
        while (*a && tolower((unsigned char)*a) == tolower((unsigned char)*b)) { a++; b++; }
        if (!*a && !*b) return t;
    }
    return -1;
}

size_t qt_row_size(int type, int64_t n) {
    const qt_traits *t = qt_get(type);
    if (!t || n < 0 || n % t->block) return 0;
    return (size_t)(n / t->block) * (size_t)t->bytes;
}

/* ---- scalar conversions ---------------------------------------------------- */

static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float qt_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e == 0x1f)                        /* inf; nan made quiet, as F16C does */
        return u2f(sign | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0));
    if (e == 0) {                                     /* zero, subnormal: m * 2^-24 */
        float v = (float)m * 0x1p-24f;
        return sign ? -v : v;
    }
    return u2f(sign | ((e + 112) << 23) | (m << 13));  /* rebias 15 -> 127 */
}

uint16_t qt_f32_to_f16(float f) {
    uint32_t u = f2u(f), sign = (u >> 16) & 0x8000, a = u & 0x7fffffffu;
    if (a > 0x7f800000u)                               /* nan: keep it quiet */
        return (uint16_t)(sign | 0x7e00 | ((a >> 13) & 0x3ff));
    uint32_t e = a >> 23;
    if (e >= 143) return (uint16_t)(sign | 0x7c00);    /* >= 2^16 (and inf) -> inf */
    uint32_t mant, shift;
    if (e >= 113) {        /* normal half: drop 13 mantissa bits; carry may reach inf */
        mant = ((e - 112) << 10 | ((a >> 13) & 0x3ff)) << 13 | (a & 0x1fff);
        shift = 13;
    } else {               /* subnormal half: units of 2^-24 */
        if (e < 102) return (uint16_t)sign;            /* < 2^-25 rounds to zero */
        mant = (a & 0x7fffff) | 0x800000;
        shift = 126 - e;
    }
    uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

float qt_bf16_to_f32(uint16_t h) { return u2f((uint32_t)h << 16); }

uint16_t qt_f32_to_bf16(float f) {
    uint32_t u = f2u(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet nan */
    return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

/* ---- dequantizers ---------------------------------------------------------- */

/* Q4_K/Q5_K: 8 sub-blocks of 32, each with a 6-bit scale and a 6-bit min packed
 * in 12 bytes: bytes 0-3 hold sc[0..3] (low 6 bits) and sc[4..7]>>4 (top 2);
 * bytes 4-7 hold mn[0..3] and mn[4..7]>>4 likewise; bytes 8-11 hold the low
 * nibbles sc[4..7] & 15 | (mn[4..7] & 15) << 4. */
void qt_unpack_scales_k4(const uint8_t s[12], uint8_t sc[8], uint8_t mn[8]) {
    for (int j = 0; j < 4; j++) {
        sc[j] = s[j] & 63;
        mn[j] = s[j + 4] & 63;
        sc[j + 4] = (uint8_t)((s[j + 8] & 15) | (s[j] >> 6) << 4);
        mn[j + 4] = (uint8_t)((s[j + 8] >> 4) | (s[j + 4] >> 6) << 4);
    }
}

static void pack_scales_k4(uint8_t s[12], const uint8_t sc[8], const uint8_t mn[8]) {
    for (int j = 0; j < 4; j++) {
        s[j] = (uint8_t)((sc[j] & 63) | (sc[j + 4] >> 4) << 6);
        s[j + 4] = (uint8_t)((mn[j] & 63) | (mn[j + 4] >> 4) << 6);
        s[j + 8] = (uint8_t)((sc[j + 4] & 15) | (mn[j + 4] & 15) << 4);
    }
}

/* Q8_0: d (fp16), qs[32]; x = d * q. */
static void deq_q8_0(const qt_block_q8_0 *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += 32) {
        float d = qt_f16_to_f32(b[i].d);
        for (int l = 0; l < 32; l++) y[l] = (float)b[i].qs[l] * d;
    }
}

/* Q4_0: d, qs[16]; element l is the low nibble of qs[l], element l+16 the high
 * nibble; x = d * (q - 8). */
static void deq_q4_0(const qt_block_q4_0 *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += 32) {
        float d = qt_f16_to_f32(b[i].d);
        for (int l = 0; l < 16; l++) {
            y[l] = (float)((b[i].qs[l] & 15) - 8) * d;
            y[l + 16] = (float)((b[i].qs[l] >> 4) - 8) * d;
        }
    }
}

/* Q5_0: as Q4_0 plus a fifth bit: bit l of the little-endian u32 qh belongs to
 * element l; x = d * (q - 16). */
static void deq_q5_0(const qt_block_q5_0 *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += 32) {
        float d = qt_f16_to_f32(b[i].d);
        uint32_t qh = (uint32_t)b[i].qh[0] | (uint32_t)b[i].qh[1] << 8 |
                      (uint32_t)b[i].qh[2] << 16 | (uint32_t)b[i].qh[3] << 24;
        for (int l = 0; l < 16; l++) {
            int q0 = (b[i].qs[l] & 15) | (int)((qh >> l) & 1) << 4;
            int q1 = (b[i].qs[l] >> 4) | (int)((qh >> (l + 16)) & 1) << 4;
            y[l] = (float)(q0 - 16) * d;
            y[l + 16] = (float)(q1 - 16) * d;
        }
    }
}

/* Q4_K: d, dmin, scales[12], qs[128]. Chunk c (0..3) of 64 elements uses
 * qs[32c..32c+31]: low nibbles are sub-block 2c, high nibbles 2c+1;
 * x = d*sc*q - dmin*mn. Q5_K adds qh[32]: bit 2c of qh[l] is the fifth bit of
 * element l of sub-block 2c, bit 2c+1 that of sub-block 2c+1. */
static void deq_k4(const uint8_t *qs, const uint8_t *qh, float d, float dmin,
                   const uint8_t s[12], float *y) {
    uint8_t sc[8], mn[8];
    qt_unpack_scales_k4(s, sc, mn);
    for (int c = 0; c < 4; c++, qs += 32, y += 64) {
        float d0 = d * sc[2 * c], m0 = dmin * mn[2 * c];
        float d1 = d * sc[2 * c + 1], m1 = dmin * mn[2 * c + 1];
        for (int l = 0; l < 32; l++) {
            int h0 = qh ? ((qh[l] >> (2 * c)) & 1) << 4 : 0;
            int h1 = qh ? ((qh[l] >> (2 * c + 1)) & 1) << 4 : 0;
            y[l] = d0 * (float)((qs[l] & 15) | h0) - m0;
            y[l + 32] = d1 * (float)((qs[l] >> 4) | h1) - m1;
        }
    }
}

/* Q6_K: ql[128], qh[64], scales[16] (int8, one per 16 elements), d. Half h
 * (128 elements) uses ql[64h..], qh[32h..]; for l in 0..31 the four elements
 * l, l+32, l+64, l+96 take low nibble of ql[l], low of ql[l+32], high of ql[l],
 * high of ql[l+32], and bit pairs 0-1, 2-3, 4-5, 6-7 of qh[l]; x = d*sc*(q-32). */
static void deq_q6_K(const qt_block_q6_K *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        float d = qt_f16_to_f32(b[i].d);
        for (int h = 0; h < 2; h++, y += 128) {
            const uint8_t *ql = b[i].ql + 64 * h, *qh = b[i].qh + 32 * h;
            const int8_t *sc = b[i].scales + 8 * h;
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q0 = ((ql[l] & 15) | (qh[l] & 3) << 4) - 32;
                int q1 = ((ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4) - 32;
                int q2 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                int q3 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                y[l] = d * (float)sc[is] * (float)q0;
                y[l + 32] = d * (float)sc[is + 2] * (float)q1;
                y[l + 64] = d * (float)sc[is + 4] * (float)q2;
                y[l + 96] = d * (float)sc[is + 6] * (float)q3;
            }
        }
    }
}

void qt_dequantize_row(int type, const void *src, float *dst, int64_t n) {
    const qt_traits *t = qt_get(type);
    assert(t && n % t->block == 0 && "qt_dequantize_row: bad type or length");
    int64_t nb = n / t->block;
    switch (type) {
    case QT_F32: memcpy(dst, src, (size_t)n * 4); break;
    case QT_F16: {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = qt_f16_to_f32(s[i]);
    } break;
    case QT_BF16: {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = qt_bf16_to_f32(s[i]);
    } break;
    case QT_Q8_0: deq_q8_0(src, dst, nb); break;
    case QT_Q4_0: deq_q4_0(src, dst, nb); break;
    case QT_Q5_0: deq_q5_0(src, dst, nb); break;
    case QT_Q4_K: {
        const qt_block_q4_K *b = src;
        for (int64_t i = 0; i < nb; i++)
            deq_k4(b[i].qs, NULL, qt_f16_to_f32(b[i].d), qt_f16_to_f32(b[i].dmin),
                   b[i].scales, dst + 256 * i);
    } break;
    case QT_Q5_K: {
        const qt_block_q5_K *b = src;
        for (int64_t i = 0; i < nb; i++)
            deq_k4(b[i].qs, b[i].qh, qt_f16_to_f32(b[i].d), qt_f16_to_f32(b[i].dmin),
                   b[i].scales, dst + 256 * i);
    } break;
    case QT_Q6_K: deq_q6_K(src, dst, nb); break;
    case QT_Q8_K: {
        const qt_block_q8_K *b = src;
        for (int64_t i = 0; i < n; i++) dst[i] = b[i / 256].d * (float)b[i / 256].qs[i % 256];
    } break;
    default: assert(!"qt_dequantize_row: unsupported type");
    }
}

/* ---- quantizers: the simple block formats --------------------------------- */

/* Element of largest magnitude, with its sign (the first one on ties). */
static float signed_amax(const float *x, int n) {
    float amax = 0, v = 0;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > amax) { amax = fabsf(x[i]); v = x[i]; }
    return v;
}

/* The published Q8_0 scheme: d = amax/127, q = round-half-away(x / d). */
static void quant_q8_0(const float *x, qt_block_q8_0 *b, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 32) {
        float amax = fabsf(signed_amax(x, 32)), d = amax / 127, id = d ? 1.0f / d : 0.0f;
        b[i].d = qt_f32_to_f16(d);
        for (int l = 0; l < 32; l++) b[i].qs[l] = (int8_t)roundf(x[l] * id);
    }
}

/* The published Q4_0/Q5_0 schemes: the signed largest element maps to -2^(bits-1)
 * (d = max / -8 or / -16), so the asymmetric range gains one level; q is
 * floor(x/d + 2^(bits-1) + 0.5) clamped to the top code. */
static void quant_q4_0(const float *x, qt_block_q4_0 *b, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 32) {
        float d = signed_amax(x, 32) / -8, id = d ? 1.0f / d : 0.0f;
        b[i].d = qt_f32_to_f16(d);
        for (int l = 0; l < 16; l++) {
            int q0 = (int)(x[l] * id + 8.5f), q1 = (int)(x[l + 16] * id + 8.5f);
            q0 = q0 > 15 ? 15 : q0; q1 = q1 > 15 ? 15 : q1;
            b[i].qs[l] = (uint8_t)(q0 | q1 << 4);
        }
    }
}

static void quant_q5_0(const float *x, qt_block_q5_0 *b, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 32) {
        float d = signed_amax(x, 32) / -16, id = d ? 1.0f / d : 0.0f;
        uint32_t qh = 0;
        b[i].d = qt_f32_to_f16(d);
        for (int l = 0; l < 16; l++) {
            int q0 = (int)(x[l] * id + 16.5f), q1 = (int)(x[l + 16] * id + 16.5f);
            q0 = q0 > 31 ? 31 : q0; q1 = q1 > 31 ? 31 : q1;
            b[i].qs[l] = (uint8_t)((q0 & 15) | (q1 & 15) << 4);
            qh |= (uint32_t)(q0 >> 4) << l | (uint32_t)(q1 >> 4) << (l + 16);
        }
        for (int k = 0; k < 4; k++) b[i].qh[k] = (uint8_t)(qh >> (8 * k));
    }
}

/* Q8_K activation rounding, as llama.cpp does it (see the golden README,
 * "Numerics"): iscale = -127 / (signed largest element), q = min(127,
 * round_half_even(iscale * x)), d = 1 / iscale, bsums[g] = sum of q over the
 * 16 elements of group g. An all-zero block gets d = 0 and q = 0. */
static void quant_q8_K(const float *x, qt_block_q8_K *b, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 256) {
        float max = signed_amax(x, 256);
        memset(&b[i], 0, sizeof b[i]);
        if (max == 0) continue;
        float iscale = -127.0f / max;
        for (int l = 0; l < 256; l++) {
            long v = lrintf(iscale * x[l]);
            b[i].qs[l] = (int8_t)(v > 127 ? 127 : v);
            b[i].bsums[l / 16] = (int16_t)(b[i].bsums[l / 16] + b[i].qs[l]);
        }
        b[i].d = 1 / iscale;
    }
}

/* ---- quantizers: K-quants ------------------------------------------------- */

/* Grid points each side of the plain range/levels step in the scale searches;
 * more is slower for little gain (see test_quant's round-trip errors). */
#ifndef KQ_STEPS
#define KQ_STEPS 3
#endif

/* Nearest integer to v, ties to even, clamped to [lo, hi]. Adding and
 * subtracting 1.5 * 2^23 rounds in the default mode (exact for |v| < 2^22,
 * which the clamp ensures) without a libm call in the quantizers' inner loops.
 * A nan lands on lo. */
static int rndc(float v, int lo, int hi) {
    v = v > (float)lo ? v : (float)lo;   /* maxss, minss: no branches */
    v = v < (float)hi ? v : (float)hi;
    return (int)((v + 12582912.0f) - 12582912.0f);
}

/* Codes x[n] with step s and offset m, then refits (s, m) to those codes by
 * least squares (m clamped at zero, then s refit alone). Returns the squared
 * error of the codes under the refit pair (from the sums; sx, sxx are the
 * sums of x and x^2), or INFINITY when no positive step fits. */
static double refit_affine(const float *x, int n, int qmax, float s, float m, double sx,
                           double sxx, float *ps, float *pm) {
    int sq = 0, sqq = 0;
    float is = 1 / s, sxq = 0;
    for (int i = 0; i < n; i++) {
        int q = rndc((x[i] + m) * is, 0, qmax);
        sq += q; sqq += q * q; sxq += x[i] * (float)q;
    }
    double det = (double)n * sqq - (double)sq * sq, ns, nb;   /* x ~ ns * q + nb */
    if (det <= 0) return INFINITY;
    ns = ((double)n * sxq - sq * sx) / det;
    nb = (sqq * sx - (double)sq * sxq) / det;
    if (nb > 0) { nb = 0; ns = (double)sxq / sqq; }           /* sqq > 0 since det > 0 */
    if (ns <= 0) return INFINITY;
    *ps = (float)ns; *pm = (float)-nb;
    return ns * ns * sqq + n * nb * nb + sxx + 2 * ns * nb * sq - 2 * ns * sxq - 2 * nb * sx;
}

/* Fits x[n] ~ s*q - m with integer q in [0, qmax] and m >= 0, minimising the
 * squared error: a grid of steps range / (qmax + delta) from the minimum,
 * each refit to its codes, then two more recode-and-refit rounds from the
 * best. Returns the best error. */
static float fit_affine(const float *x, int n, int qmax, float *ps, float *pm) {
    float lo = 0, hi = x[0];
    double sx = 0, sxx = 0;
    for (int i = 0; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo; hi = x[i] > hi ? x[i] : hi;
        sx += x[i]; sxx += (double)x[i] * x[i];
    }
    *ps = 0; *pm = -lo;
    if (hi <= lo) return 0;
    double best = INFINITY;
    for (int k = -KQ_STEPS; k <= KQ_STEPS; k++) {
        float s, m, d = (float)k * (1.0f / KQ_STEPS);
        double e = refit_affine(x, n, qmax, (hi - lo) / ((float)qmax + d), -lo, sx, sxx, &s, &m);
        if (e < best) { best = e; *ps = s; *pm = m; }
    }
    for (int round = 0; round < 2 && best < INFINITY; round++) {
        float s, m;
        double e = refit_affine(x, n, qmax, *ps, *pm, sx, sxx, &s, &m);
        if (!(e < best)) break;
        best = e; *ps = s; *pm = m;
    }
    return (float)best;
}

/* Error of sub-block x[n] coded with step s and offset m (codes re-rounded). */
static float affine_err(const float *x, int n, int qmax, float s, float m) {
    float err = 0, is = s > 0 ? 1 / s : 0;
    for (int i = 0; i < n; i++) {
        int q = rndc((x[i] + m) * is, 0, qmax);
        float e = s * (float)q - m - x[i];
        err += e * e;
    }
    return err;
}

/* Q4_K/Q5_K: fit each of the 8 sub-blocks, quantize the 8 steps and 8 offsets
 * to 6 bits against fp16 super-scales d and dmin, then pick each 6-bit pair
 * among the neighbours of the rounded values by the real error, and code the
 * elements with the final effective step and offset. q[256] gets the codes. */
static void quant_k4(const float *x, int qmax, uint16_t *pd, uint16_t *pdmin,
                     uint8_t scales[12], uint8_t q[256]) {
    float s[8], m[8], smax = 0, mmax = 0;
    uint8_t sc[8], mn[8];
    for (int j = 0; j < 8; j++) {
        fit_affine(x + 32 * j, 32, qmax, &s[j], &m[j]);
        smax = fmaxf(smax, s[j]); mmax = fmaxf(mmax, m[j]);
    }
    *pd = qt_f32_to_f16(smax / 63);
    *pdmin = qt_f32_to_f16(mmax / 63);
    float d = qt_f16_to_f32(*pd), dmin = qt_f16_to_f32(*pdmin);
    for (int j = 0; j < 8; j++) {
        const float *xj = x + 32 * j;
        int s0 = d > 0 ? (int)lrintf(s[j] / d) : 0, m0 = dmin > 0 ? (int)lrintf(m[j] / dmin) : 0;
        /* an fp16-subnormal d (sub-blocks of small weights) is rounded by up
         * to a few percent, so s / d can pass 64: without the clamp every
         * candidate lies outside 0..63 and the sub-block was coded as zero */
        s0 = s0 < 0 ? 0 : s0 > 63 ? 63 : s0;
        m0 = m0 < 0 ? 0 : m0 > 63 ? 63 : m0;
        float best = INFINITY;
        sc[j] = mn[j] = 0;
        for (int a = s0 - 1; a <= s0 + 1; a++)
            for (int b = m0 - 1; b <= m0 + 1; b++) {
                if (a < 0 || a > 63 || b < 0 || b > 63) continue;
                float e = affine_err(xj, 32, qmax, d * (float)a, dmin * (float)b);
                if (e < best) { best = e; sc[j] = (uint8_t)a; mn[j] = (uint8_t)b; }
            }
        float se = d * sc[j], me = dmin * mn[j], ise = se > 0 ? 1 / se : 0;
        for (int l = 0; l < 32; l++) q[32 * j + l] = (uint8_t)rndc((xj[l] + me) * ise, 0, qmax);
    }
    pack_scales_k4(scales, sc, mn);
}

static void quant_q4_K(const float *x, qt_block_q4_K *b, int64_t nb) {
    uint8_t q[256];
    for (int64_t i = 0; i < nb; i++, x += 256) {
        quant_k4(x, 15, &b[i].d, &b[i].dmin, b[i].scales, q);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++)
                b[i].qs[32 * c + l] = (uint8_t)(q[64 * c + l] | q[64 * c + 32 + l] << 4);
    }
}

static void quant_q5_K(const float *x, qt_block_q5_K *b, int64_t nb) {
    uint8_t q[256];
    for (int64_t i = 0; i < nb; i++, x += 256) {
        quant_k4(x, 31, &b[i].d, &b[i].dmin, b[i].scales, q);
        memset(b[i].qh, 0, 32);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) {
                int q0 = q[64 * c + l], q1 = q[64 * c + 32 + l];
                b[i].qs[32 * c + l] = (uint8_t)((q0 & 15) | (q1 & 15) << 4);
                b[i].qh[l] |= (uint8_t)((q0 >> 4) << (2 * c) | (q1 >> 4) << (2 * c + 1));
            }
    }
}

/* Fits x[n] ~ s*q with q in [-32, 31]: the signed largest element is aimed at
 * code -32 (the wider side) through a grid of steps; with the codes fixed the
 * least-squares step is sxq/sqq and its error sxx - sxq^2/sqq. Returns the
 * step of the best grid point. */
static float fit_sym6(const float *x, int n) {
    float v = signed_amax(x, n), bs = 0;
    double best = INFINITY;
    if (v == 0) return 0;
    for (int k = -KQ_STEPS; k <= KQ_STEPS; k++) {
        float is = -(32.0f + (float)k * (1.0f / KQ_STEPS)) / v;
        int sqq = 0;
        float sxq = 0;
        for (int i = 0; i < n; i++) {
            int q = rndc(x[i] * is, -32, 31);
            sqq += q * q; sxq += x[i] * (float)q;
        }
        if (sqq <= 0) continue;
        double err = -(double)sxq * sxq / sqq;               /* + sxx, the same for all */
        if (err < best) { best = err; bs = (float)((double)sxq / sqq); }
    }
    return bs;
}

/* Q6_K: 16 sub-blocks of 16 with int8 scales against an fp16 d; each scale is
 * chosen among the neighbours of its rounded value by the real error. */
static void quant_q6_K(const float *x, qt_block_q6_K *b, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += 256) {
        float s[16], smax = 0;
        uint8_t q[256];
        for (int g = 0; g < 16; g++) { s[g] = fit_sym6(x + 16 * g, 16); smax = fmaxf(smax, fabsf(s[g])); }
        b[i].d = qt_f32_to_f16(smax / 127);
        float d = qt_f16_to_f32(b[i].d);
        for (int g = 0; g < 16; g++) {
            const float *xg = x + 16 * g;
            int r = d > 0 ? (int)lrintf(s[g] / d) : 0, bsc = 0;
            r = r < -128 ? -128 : r > 127 ? 127 : r;   /* a subnormal d: see quant_k4 */
            float best = INFINITY;
            for (int a = r - 1; a <= r + 1; a++) {
                if (a < -128 || a > 127) continue;
                float se = d * (float)a, ise = se != 0 ? 1 / se : 0, err = 0;
                for (int l = 0; l < 16; l++) {
                    float e = se * (float)rndc(xg[l] * ise, -32, 31) - xg[l];
                    err += e * e;
                }
                if (err < best) { best = err; bsc = a; }
            }
            b[i].scales[g] = (int8_t)bsc;
            float se = d * (float)bsc, ise = se != 0 ? 1 / se : 0;
            for (int l = 0; l < 16; l++) q[16 * g + l] = (uint8_t)(rndc(xg[l] * ise, -32, 31) + 32);
        }
        for (int h = 0; h < 2; h++) {
            uint8_t *ql = b[i].ql + 64 * h, *qh = b[i].qh + 32 * h;
            const uint8_t *qq = q + 128 * h;
            for (int l = 0; l < 32; l++) {
                ql[l] = (uint8_t)((qq[l] & 15) | (qq[l + 64] & 15) << 4);
                ql[l + 32] = (uint8_t)((qq[l + 32] & 15) | (qq[l + 96] & 15) << 4);
                qh[l] = (uint8_t)((qq[l] >> 4) | (qq[l + 32] >> 4) << 2 |
                                  (qq[l + 64] >> 4) << 4 | (qq[l + 96] >> 4) << 6);
            }
        }
    }
}

void qt_quantize_row(int type, const float *src, void *dst, int64_t n) {
    const qt_traits *t = qt_get(type);
    assert(t && n % t->block == 0 && "qt_quantize_row: bad type or length");
    int64_t nb = n / t->block;
    switch (type) {
    case QT_F32: memcpy(dst, src, (size_t)n * 4); break;
    case QT_F16: {
        uint16_t *d = dst;
        for (int64_t i = 0; i < n; i++) d[i] = qt_f32_to_f16(src[i]);
    } break;
    case QT_BF16: {
        uint16_t *d = dst;
        for (int64_t i = 0; i < n; i++) d[i] = qt_f32_to_bf16(src[i]);
    } break;
    case QT_Q8_0: quant_q8_0(src, dst, nb); break;
    case QT_Q4_0: quant_q4_0(src, dst, nb); break;
    case QT_Q5_0: quant_q5_0(src, dst, nb); break;
    case QT_Q4_K: quant_q4_K(src, dst, nb); break;
    case QT_Q5_K: quant_q5_K(src, dst, nb); break;
    case QT_Q6_K: quant_q6_K(src, dst, nb); break;
    case QT_Q8_K: quant_q8_K(src, dst, nb); break;
    default: assert(!"qt_quantize_row: unsupported type");
    }
}
