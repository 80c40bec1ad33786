/* qtypes: the tensor element types of GGUF/ggml, their block layouts, and the
 * portable reference conversions (dequantize, quantize) for each.
 *
 * Contract: type ids are ggml's numeric ids as stored in GGUF files. A row of
 * n elements of a block type occupies (n / block) * bytes; n must be a multiple
 * of the block. The reference routines are the ground truth that every SIMD
 * kernel in vecdot_*.c is tested against. Block layouts follow ggml's
 * (ggml-common.h in llama.cpp, facts of the file format) and are re-derived here.
 */
#ifndef QTYPES_H
#define QTYPES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum qt_type {
    QT_F32 = 0, QT_F16 = 1, QT_Q4_0 = 2, QT_Q4_1 = 3, QT_Q5_0 = 6, QT_Q5_1 = 7,
    QT_Q8_0 = 8, QT_Q8_1 = 9, QT_Q2_K = 10, QT_Q3_K = 11, QT_Q4_K = 12,
    QT_Q5_K = 13, QT_Q6_K = 14, QT_Q8_K = 15, QT_I8 = 24, QT_I16 = 25,
    QT_I32 = 26, QT_I64 = 27, QT_F64 = 28, QT_BF16 = 30,
    QT_COUNT = 40 /* ids >= QT_COUNT are unknown */
};

#define QK8_0 32   /* Q8_0, Q4_0, Q5_0 block length */
#define QK_K 256   /* K-quant super-block length */

typedef struct qt_traits {
    const char *name;   /* "q4_K" etc., as llama.cpp spells it */
    int block;          /* elements per block (1 for scalar types) */
    int bytes;          /* bytes per block */
    bool supported;     /* logitlab can compute with it (dequant + dot) */
    int act_type;       /* type the activation is rounded to for dot products */
} qt_traits;

/* Traits of a type id, or NULL for an id that is not a known ggml type. Known
 * but unsupported types (Q4_1, Q2_K, ...) return traits with supported=false so
 * that files holding them can still be listed by `logitlab info`. */
const qt_traits *qt_get(int type);

/* Type id from its name ("q8_0", "Q4_K", "f16", case-insensitive); -1 if none. */
int qt_from_name(const char *name);

/* Bytes of a row of n elements; 0 if n is not a multiple of the block. */
size_t qt_row_size(int type, int64_t n);

/* Scalar conversions (IEEE half and bfloat16), round to nearest even. */
float qt_f16_to_f32(uint16_t h);
uint16_t qt_f32_to_f16(float f);
float qt_bf16_to_f32(uint16_t h);
uint16_t qt_f32_to_bf16(float f);

/* Reference dequantizer: n elements (multiple of the block) of a supported
 * type to float. */
void qt_dequantize_row(int type, const void *src, float *dst, int64_t n);

/* Reference quantizer: n floats (multiple of the block) into a supported type
 * (also QT_Q8_K, used for activations). K-quants search scales/mins per
 * sub-block to minimise squared error. */
void qt_quantize_row(int type, const float *src, void *dst, int64_t n);

/* Q4_K/Q5_K: unpacks the 12-byte packed field into 8 six-bit scales and 8
 * six-bit mins (sub-block j of 32 elements: x = d*sc[j]*q - dmin*mn[j]). */
void qt_unpack_scales_k4(const uint8_t s[12], uint8_t sc[8], uint8_t mn[8]);

/* Block structs, byte-exact with the GGUF file layout. */
typedef struct { uint16_t d; int8_t qs[32]; } qt_block_q8_0;            /* 34 B */
typedef struct { uint16_t d; uint8_t qs[16]; } qt_block_q4_0;           /* 18 B */
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } qt_block_q5_0; /* 22 B */
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; } qt_block_q4_K; /* 144 B */
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } qt_block_q5_K; /* 176 B */
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } qt_block_q6_K; /* 210 B */
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; } qt_block_q8_K; /* 292 B */

#endif
