/* qunit: decoding of one "unit" (32 consecutive elements of a weight row) of
 * every quantized type the CUDA backend computes with, in a form shared by
 * the device kernels and by a host test.
 *
 * This header is both CUDA C++ (included by mm.cu) and plain C11 (included by
 * tests/test_cuda_qunit.c, which checks it bit for bit against the reference
 * dequantizers of kernels/cpu/qtypes.c and the dot products of vecdot.c, so
 * the block layouts are verified on any machine, with or without a GPU).
 *
 * A unit decodes to 32 signed 8-bit codes q[0..31] (packed four to an int,
 * element 4k+b in byte b of q[k]) and an affine map
 *     w[i] = (fa * m(i)) * q[i] - fb * mn,      m(i) = i < 16 ? m0 : m1,
 * which covers every type:
 *   Q8_0, Q4_0, Q5_0  fa = d, m0 = m1 = 1, fb = 0   (one 32-block = one unit)
 *   Q4_K, Q5_K        fa = d, m0 = m1 = sc[j], fb = dmin, mn = mn[j] (sub-block j)
 *   Q6_K              fa = d, m0, m1 = the two int8 scales of the unit's 16s, fb = 0
 * Unit u of a row covers elements [32u, 32u + 32); for K-quants it is
 * sub-block u % 8 of super-block u / 8. Layouts are the GGUF file format
 * (restated in kernels/cpu/qtypes.c); all values little-endian.
 *
 * Alignment: callers keep every row of a tensor at an address that is a
 * multiple of its block's alignment (2 bytes for Q8_0/Q4_0/Q5_0/Q6_K, 16 for
 * Q4_K/Q5_K); the loaders below only use loads of that width.
 */
#ifndef QUNIT_CUH
#define QUNIT_CUH
#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#include <cuda_fp16.h>
#define QU_FN static __host__ __device__ __forceinline__
#else
#define QU_FN static inline
#endif

/* ggml type ids (kernels/cpu/qtypes.h), restated so that this header stands alone */
enum { QU_F32 = 0, QU_F16 = 1, QU_Q4_0 = 2, QU_Q5_0 = 6, QU_Q8_0 = 8, QU_Q4_K = 12,
       QU_Q5_K = 13, QU_Q6_K = 14, QU_BF16 = 30 };

typedef struct qunit {
    int32_t q[8];        /* 32 codes, 4 per int */
    int32_t m0, m1, mn;  /* integer scales of elements 0-15 and 16-31, integer min */
    float fa, fb;        /* float scale of m * q, float scale of mn */
} qunit;

/* ---- loads (device: one instruction of the stated width; host: memcpy) ---- */

QU_FN uint32_t qu_ld16x2(const uint8_t *p) {          /* 4 bytes at a 2-aligned address */
#ifdef __CUDA_ARCH__
    const uint16_t *h = (const uint16_t *)p;
    return (uint32_t)h[0] | (uint32_t)h[1] << 16;
#else
    uint32_t v; memcpy(&v, p, 4); return v;
#endif
}

QU_FN uint32_t qu_ld32(const uint8_t *p) {            /* 4 bytes at a 4-aligned address */
#ifdef __CUDA_ARCH__
    return *(const uint32_t *)p;
#else
    uint32_t v; memcpy(&v, p, 4); return v;
#endif
}

QU_FN float qu_f16(const uint8_t *p) {                /* fp16 at a 2-aligned address */
#ifdef __CUDA_ARCH__
    return __half2float(__ushort_as_half(*(const uint16_t *)p));
#else
    uint16_t h; memcpy(&h, p, 2);
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, u;
    float f;
    if (e == 0x1f) u = sign | 0x7f800000u | (m << 13);
    else if (e == 0) { f = (float)m * 0x1p-24f; return sign ? -f : f; }
    else u = sign | ((e + 112) << 23) | (m << 13);
    memcpy(&f, &u, 4);
    return f;
#endif
}

/* ---- byte-lane arithmetic ---- */

/* Subtracts c from each byte of v, every byte in [0, 127], c in [0, 128]: with
 * bit 7 set first no byte borrows from its neighbour; flipping it back gives
 * the two's complement int8 of byte - c. */
QU_FN int32_t qu_subb(uint32_t v, uint32_t c) {
    return (int32_t)(((v | 0x80808080u) - c * 0x01010101u) ^ 0x80808080u);
}

/* Moves bits 0..3 of h to bit 4 of bytes 0..3 (the fifth bit of Q5_0 codes). */
QU_FN uint32_t qu_spread4(uint32_t h) {
    return (h & 1) << 4 | (h & 2) << 11 | (h & 4) << 18 | (h & 8) << 25;
}

/* c + sum of the four int8 products of a and b. */
QU_FN int32_t qu_dp4a(int32_t a, int32_t b, int32_t c) {
#ifdef __CUDA_ARCH__
    return __dp4a(a, b, c);
#else
    for (int k = 0; k < 4; k++) c += (int8_t)(a >> 8 * k) * (int8_t)(b >> 8 * k);
    return c;
#endif
}

QU_FN float qu_mul(float a, float b) {   /* a*b rounded alone: never fused into an FMA */
#ifdef __CUDA_ARCH__
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}

QU_FN float qu_sub(float a, float b) {
#ifdef __CUDA_ARCH__
    return __fsub_rn(a, b);
#else
    return a - b;
#endif
}

/* ---- per-type unit loaders ---- */

/* Q8_0 block (34 B): d fp16, qs[32]. */
QU_FN void qu_load_q8_0(const uint8_t *row, int u, qunit *w) {
    const uint8_t *b = row + (size_t)u * 34;
    w->fa = qu_f16(b); w->fb = 0; w->m0 = w->m1 = 1; w->mn = 0;
    for (int k = 0; k < 8; k++) w->q[k] = (int32_t)qu_ld16x2(b + 2 + 4 * k);
}

/* Q4_0 block (18 B): d, qs[16]; element l < 16 is the low nibble of qs[l],
 * element l + 16 the high nibble; code = nibble - 8. */
QU_FN void qu_load_q4_0(const uint8_t *row, int u, qunit *w) {
    const uint8_t *b = row + (size_t)u * 18;
    w->fa = qu_f16(b); w->fb = 0; w->m0 = w->m1 = 1; w->mn = 0;
    for (int k = 0; k < 4; k++) {
        uint32_t v = qu_ld16x2(b + 2 + 4 * k);
        w->q[k] = qu_subb(v & 0x0f0f0f0fu, 8);
        w->q[k + 4] = qu_subb(v >> 4 & 0x0f0f0f0fu, 8);
    }
}

/* Q5_0 block (22 B): d, qh (u32: bit l = fifth bit of element l), qs[16] as
 * Q4_0; code = (nibble | bit << 4) - 16. */
QU_FN void qu_load_q5_0(const uint8_t *row, int u, qunit *w) {
    const uint8_t *b = row + (size_t)u * 22;
    uint32_t qh = qu_ld16x2(b + 2);
    w->fa = qu_f16(b); w->fb = 0; w->m0 = w->m1 = 1; w->mn = 0;
    for (int k = 0; k < 4; k++) {
        uint32_t v = qu_ld16x2(b + 6 + 4 * k);
        w->q[k] = qu_subb((v & 0x0f0f0f0fu) | qu_spread4(qh >> 4 * k & 15), 16);
        w->q[k + 4] = qu_subb((v >> 4 & 0x0f0f0f0fu) | qu_spread4(qh >> (16 + 4 * k) & 15), 16);
    }
}

/* Six-bit scale and min of sub-block j from the 12 packed bytes s of
 * Q4_K/Q5_K: bytes 0-3 low bits of sc[0..3] (top 2 bits: sc[4..7] >> 4),
 * bytes 4-7 likewise for mn, bytes 8-11 the low nibbles of sc[4..7] | mn[4..7] << 4. */
QU_FN void qu_scale_k4(const uint8_t *s, int j, int32_t *sc, int32_t *mn) {
    if (j < 4) {
        *sc = s[j] & 63;
        *mn = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4;
        *mn = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
    }
}

/* Q4_K super-block (144 B): d, dmin, scales[12], qs[128]. Sub-block j reads
 * qs[32 (j/2) ..+32], low nibbles for even j, high for odd j. Q5_K (176 B)
 * adds qh[32] before qs: bit j of qh[l] is the fifth bit of element l of
 * sub-block j. Codes are unsigned (0..15 or 0..31); the min carries the offset. */
QU_FN void qu_load_k4(const uint8_t *row, int u, int q5, qunit *w) {
    const uint8_t *b = row + (size_t)(u >> 3) * (q5 ? 176 : 144);
    int j = u & 7, sh = 4 * (j & 1);
    const uint8_t *qs = b + (q5 ? 48 : 16) + 32 * (j >> 1), *qh = b + 16;
    w->fa = qu_f16(b); w->fb = qu_f16(b + 2);
    qu_scale_k4(b + 4, j, &w->m0, &w->mn);
    w->m1 = w->m0;
    for (int k = 0; k < 8; k++) {
        uint32_t v = qu_ld32(qs + 4 * k) >> sh & 0x0f0f0f0fu;
        if (q5) v |= (qu_ld32(qh + 4 * k) >> j & 0x01010101u) << 4;
        w->q[k] = (int32_t)v;
    }
}

/* Q6_K super-block (210 B): ql[128], qh[64], scales[16] (int8), d. Unit j
 * (0..7) is quarter t = j % 4 of half h = j / 4: element l takes the low
 * (t < 2) or high (t >= 2) nibble of ql[64h + 32(t & 1) + l], bits 2t..2t+1
 * of qh[32h + l], scale scales[8h + 2t + l/16]; code = value - 32. */
QU_FN void qu_load_q6_k(const uint8_t *row, int u, qunit *w) {
    const uint8_t *b = row + (size_t)(u >> 3) * 210;
    int j = u & 7, h = j >> 2, t = j & 3;
    const uint8_t *ql = b + 64 * h + 32 * (t & 1), *qh = b + 128 + 32 * h;
    int sh = 4 * (t >> 1);
    w->fa = qu_f16(b + 208); w->fb = 0; w->mn = 0;
    w->m0 = (int8_t)b[192 + 8 * h + 2 * t];
    w->m1 = (int8_t)b[192 + 8 * h + 2 * t + 1];
    for (int k = 0; k < 8; k++) {
        uint32_t lo = qu_ld16x2(ql + 4 * k) >> sh & 0x0f0f0f0fu;
        uint32_t hi = (qu_ld16x2(qh + 4 * k) >> 2 * t & 0x03030303u) << 4;
        w->q[k] = qu_subb(lo | hi, 32);
    }
}

/* Unit u of a row of a quantized type (constant-folded where type is a
 * compile-time constant). */
QU_FN void qu_load(int type, const uint8_t *row, int u, qunit *w) {
    switch (type) {
    case QU_Q8_0: qu_load_q8_0(row, u, w); break;
    case QU_Q4_0: qu_load_q4_0(row, u, w); break;
    case QU_Q5_0: qu_load_q5_0(row, u, w); break;
    case QU_Q4_K: qu_load_k4(row, u, 0, w); break;
    case QU_Q5_K: qu_load_k4(row, u, 1, w); break;
    default:      qu_load_q6_k(row, u, w); break;   /* QU_Q6_K */
    }
}

/* ---- what a unit computes ---- */

/* The unit's contribution to dot(weight row, activation row), where the
 * activation's 32 elements are int8 codes x[8] (4 per int) with scale dx
 * (Q8_0: the block's fp16 d; Q8_K: the super-block's d) and code sum xsum
 * (Q8_K only; 0 otherwise). Integer sums inside the unit as the CPU kernels
 * do, so only the float summation order differs from them. */
QU_FN float qu_dot(const qunit *w, const int32_t x[8], float dx, int32_t xsum) {
    int32_t s0 = 0, s1 = 0;
    for (int k = 0; k < 4; k++) s0 = qu_dp4a(w->q[k], x[k], s0);
    for (int k = 4; k < 8; k++) s1 = qu_dp4a(w->q[k], x[k], s1);
    float r = w->fa * dx * (float)(w->m0 * s0 + w->m1 * s1);
    return r - w->fb * dx * (float)(w->mn * xsum);
}

/* Dequantizes the unit to out[32], with the same float operations (and
 * roundings) as qt_dequantize_row. */
QU_FN void qu_deq(const qunit *w, float out[32]) {
    float s0 = qu_mul(w->fa, (float)w->m0), s1 = qu_mul(w->fa, (float)w->m1);
    float m = qu_mul(w->fb, (float)w->mn);
    for (int i = 0; i < 32; i++) {
        float q = (float)(int8_t)(w->q[i >> 2] >> 8 * (i & 3));
        out[i] = qu_sub(qu_mul(i < 16 ? s0 : s1, q), m);
    }
}

#endif
