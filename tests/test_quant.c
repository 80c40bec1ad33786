/* test_quant: qtypes (type table, fp16/bf16, block layouts, quantizers) and
 * vecdot (activation rounding, every matmul kernel on every ISA this CPU has).
 * Expected values come from the GGUF block layouts restated here in a
 * different form than qtypes.c uses, or from float64 references. */
#include "check.h"
#include "gguf.h"
#include "qtypes.h"
#include "vecdot.h"
#include <math.h>
#include <stdint.h>

/* ---- helpers ---------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd_u32(void) {
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}
static double rnd_unit(void) { return (rnd_u32() + 0.5) / 4294967296.0; }
static float rnd_normal(void) {
    return (float)(sqrt(-2 * log(rnd_unit())) * cos(6.283185307179586 * rnd_unit()));
}
static void fill_normal(float *x, int64_t n, float sigma) {
    for (int64_t i = 0; i < n; i++) x[i] = sigma * rnd_normal();
}
static float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static const int supported[] = {QT_F32, QT_F16, QT_BF16, QT_Q8_0, QT_Q4_0, QT_Q5_0,
                                QT_Q4_K, QT_Q5_K, QT_Q6_K};
#define NSUP (int)(sizeof supported / sizeof supported[0])

/* ---- type table ------------------------------------------------------------- */

static void test_table(void) {
    static const struct { int t, block, bytes; bool sup; int act; } want[] = {
        {QT_F32, 1, 4, true, QT_F32}, {QT_F16, 1, 2, true, QT_F16}, {QT_BF16, 1, 2, true, QT_BF16},
        {QT_Q4_0, 32, 18, true, QT_Q8_0}, {QT_Q4_1, 32, 20, false, -2}, {QT_Q5_0, 32, 22, true, QT_Q8_0},
        {QT_Q5_1, 32, 24, false, -2}, {QT_Q8_0, 32, 34, true, QT_Q8_0}, {QT_Q8_1, 32, 36, false, -2},
        {QT_Q2_K, 256, 84, false, -2}, {QT_Q3_K, 256, 110, false, -2}, {QT_Q4_K, 256, 144, true, QT_Q8_K},
        {QT_Q5_K, 256, 176, true, QT_Q8_K}, {QT_Q6_K, 256, 210, true, QT_Q8_K},
        {QT_Q8_K, 256, 292, false, -2}, {QT_I8, 1, 1, false, -2}, {QT_I16, 1, 2, false, -2},
        {QT_I32, 1, 4, false, -2}, {QT_I64, 1, 8, false, -2}, {QT_F64, 1, 8, false, -2},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const qt_traits *t = qt_get(want[i].t);
        CHECK(t != NULL, "type %d known", want[i].t);
        if (!t) continue;
        CHECK(t->block == want[i].block && t->bytes == want[i].bytes, "%s geometry %d/%d",
              t->name, t->block, t->bytes);
        CHECK(t->supported == want[i].sup, "%s supported", t->name);
        if (want[i].act != -2) CHECK(t->act_type == want[i].act, "%s act_type %d", t->name, t->act_type);
        CHECK(qt_from_name(t->name) == want[i].t, "name round trip %s", t->name);
    }
    CHECK(qt_get(-1) == NULL && qt_get(4) == NULL && qt_get(5) == NULL && qt_get(31) == NULL &&
          qt_get(QT_COUNT) == NULL && qt_get(1000) == NULL, "unknown ids");
    CHECK(qt_from_name("Q4_K") == QT_Q4_K && qt_from_name("q4_k") == QT_Q4_K &&
          qt_from_name("F16") == QT_F16 && qt_from_name("BF16") == QT_BF16, "names, any case");
    CHECK(qt_from_name("q4") == -1 && qt_from_name("q4_kk") == -1 && qt_from_name("") == -1 &&
          qt_from_name(NULL) == -1, "bad names");
    CHECK(qt_row_size(QT_Q4_K, 512) == 288 && qt_row_size(QT_Q4_K, 100) == 0 &&
          qt_row_size(QT_F16, 7) == 14 && qt_row_size(QT_Q8_0, 64) == 68 &&
          qt_row_size(QT_Q6_K, 4096) == 16 * 210 && qt_row_size(99, 32) == 0 &&
          qt_row_size(QT_F32, -1) == 0, "row sizes");
}

/* ---- fp16 / bf16 -------------------------------------------------------------- */

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
__attribute__((target("f16c"))) static uint16_t hw_f32_to_f16(float f) {
    return (uint16_t)_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT), 0);
}
__attribute__((target("f16c"))) static float hw_f16_to_f32(uint16_t h) {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}
#endif

static void test_half(void) {
    static const struct { float f; uint16_t h; } cases[] = {
        {0.0f, 0x0000}, {1.0f, 0x3c00}, {-2.0f, 0xc000}, {0.5f, 0x3800},
        {65504.0f, 0x7bff}, {65519.0f, 0x7bff}, {65520.0f, 0x7c00}, {1e10f, 0x7c00},
        {0x1p-14f, 0x0400}, {0x1p-24f, 0x0001}, {0x1p-25f, 0x0000} /* tie -> even 0 */,
        {0x1.000002p-25f, 0x0001}, {0x3p-25f, 0x0002} /* 1.5 ulp -> 2 */,
        {0x5p-25f, 0x0002} /* 2.5 ulp -> 2 */, {0x7p-25f, 0x0004}, {0x1p-26f, 0x0000},
        {1.0f + 0x1p-11f, 0x3c00} /* tie -> even */, {1.0f + 0x3p-11f, 0x3c02},
        {1.0f + 0x1.2p-11f, 0x3c01}, {0x1.ffcp-15f, 0x0400} /* subnormal rounds up to normal */,
        {-0x1p-24f, 0x8001}, {65536.0f, 0x7c00},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(qt_f32_to_f16(cases[i].f) == cases[i].h, "f16(%a) = %04x want %04x", cases[i].f,
              qt_f32_to_f16(cases[i].f), cases[i].h);
    CHECK(qt_f32_to_f16(-0.0f) == 0x8000, "f16 -0");
    CHECK(qt_f32_to_f16(INFINITY) == 0x7c00 && qt_f32_to_f16(-INFINITY) == 0xfc00, "f16 inf");
    uint16_t hn = qt_f32_to_f16(NAN);
    CHECK((hn & 0x7c00) == 0x7c00 && (hn & 0x3ff) != 0 && (hn & 0x200), "f16 nan quiet %04x", hn);
    CHECK(isinf(qt_f16_to_f32(0x7c00)) && qt_f16_to_f32(0xfc00) < 0 && isnan(qt_f16_to_f32(0x7e01)),
          "f16 specials widen");
    CHECK(qt_f16_to_f32(0x0001) == 0x1p-24f && qt_f16_to_f32(0x83ff) == -0x3ffp-24f &&
          qt_f16_to_f32(0x7bff) == 65504.0f, "f16 widen values");
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {   /* every non-nan half survives the round trip */
        float f = qt_f16_to_f32((uint16_t)h);
        if (!isnan(f) && qt_f32_to_f16(f) != h) bad++;
    }
    CHECK(bad == 0, "f16 round trip: %d bad", bad);
#if defined(__x86_64__) || defined(__i386__)
    if (__builtin_cpu_supports("avx2")) {   /* F16C ships with every AVX2 CPU */
        int bad16 = 0, bad32 = 0;
        for (uint32_t h = 0; h < 65536; h++) {
            float a = qt_f16_to_f32((uint16_t)h), b = hw_f16_to_f32((uint16_t)h);
            if (f2u(a) != f2u(b)) bad16++;
        }
        for (int i = 0; i < 2000000; i++) {
            uint32_t u = rnd_u32();
            if (i & 1) u = (u & 0x80000000u) | ((u & 0x0fffffffu) + (0x66u << 23)); /* near the half range */
            if (qt_f32_to_f16(u2f(u)) != hw_f32_to_f16(u2f(u))) bad32++;
        }
        CHECK(bad16 == 0 && bad32 == 0, "f16 vs F16C: %d widen, %d narrow mismatches", bad16, bad32);
    }
#endif
    static const struct { uint32_t f; uint16_t h; } bc[] = {
        {0x3f800000, 0x3f80}, {0x3f808000, 0x3f80} /* tie -> even */, {0x3f818000, 0x3f82},
        {0x3f808001, 0x3f81}, {0x7f7fffff, 0x7f80} /* max float -> inf */, {0x7f800000, 0x7f80},
        {0xff800000, 0xff80}, {0x00008000, 0x0000}, {0x00018000, 0x0002}, {0x80000000, 0x8000},
        {0x00010000, 0x0001},
    };
    for (size_t i = 0; i < sizeof bc / sizeof bc[0]; i++)
        CHECK(qt_f32_to_bf16(u2f(bc[i].f)) == bc[i].h, "bf16(%08x) = %04x want %04x", bc[i].f,
              qt_f32_to_bf16(u2f(bc[i].f)), bc[i].h);
    uint16_t bn = qt_f32_to_bf16(u2f(0x7f800001));   /* signalling nan stays nan, made quiet */
    CHECK((bn & 0x7f80) == 0x7f80 && (bn & 0x7f) != 0 && (bn & 0x40), "bf16 nan %04x", bn);
    CHECK(f2u(qt_bf16_to_f32(0xc0a0)) == 0xc0a00000, "bf16 widen");
}

/* ---- dequantizer layouts on hand-built blocks ------------------------------- */

static void test_layouts(void) {
    float y[256];
    qt_block_q8_0 b8 = {.d = 0x3800};          /* d = 0.5 */
    for (int i = 0; i < 32; i++) b8.qs[i] = (int8_t)(i * 8 - 128);
    qt_dequantize_row(QT_Q8_0, &b8, y, 32);
    int ok = 1;
    for (int i = 0; i < 32; i++) ok &= y[i] == (float)(i * 8 - 128) * 0.5f;
    CHECK(ok, "q8_0 layout");

    qt_block_q4_0 b4 = {.d = 0x4000};          /* d = 2 */
    for (int l = 0; l < 16; l++) b4.qs[l] = (uint8_t)(l | (15 - l) << 4);
    qt_dequantize_row(QT_Q4_0, &b4, y, 32);
    ok = 1;
    for (int l = 0; l < 16; l++) ok &= y[l] == 2.0f * (l - 8) && y[l + 16] == 2.0f * (7 - l);
    CHECK(ok && y[0] == -16 && y[31] == -16 && y[15] == 14, "q4_0 layout");

    /* Q5_0: qh little-endian bytes 0x01 0x00 0x02 0x80: fifth bits of elements 0, 17, 31. */
    qt_block_q5_0 b5 = {.d = 0x3c00, .qh = {0x01, 0x00, 0x02, 0x80}};
    for (int l = 0; l < 16; l++) b5.qs[l] = (uint8_t)(3 | 5 << 4);
    qt_dequantize_row(QT_Q5_0, &b5, y, 32);
    CHECK(y[0] == 3 && y[1] == 3 - 16 && y[16] == 5 - 16 && y[17] == 5 && y[31] == 5 && y[30] == -11,
          "q5_0 layout: %g %g %g %g %g", y[0], y[1], y[16], y[17], y[31]);

    /* Q4_K: scales for sub-blocks j = sc[j], mins mn[j]; packed by the byte rule
     * of the format (bytes 0-3: sc low 6 | sc[j+4] top 2; 4-7 same for mins;
     * 8-11: sc[j+4] low 4 | mn[j+4] low 4 << 4). */
    static const uint8_t sc[8] = {1, 2, 3, 63, 17, 33, 48, 5}, mn[8] = {10, 0, 30, 40, 50, 60, 63, 36};
    qt_block_q4_K k4 = {.d = 0x3c00, .dmin = 0x3800};   /* d = 1, dmin = 0.5 */
    for (int j = 0; j < 4; j++) {
        k4.scales[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
        k4.scales[j + 4] = (uint8_t)(mn[j] | (mn[j + 4] >> 4) << 6);
        k4.scales[j + 8] = (uint8_t)((sc[j + 4] & 15) | (mn[j + 4] & 15) << 4);
    }
    for (int i = 0; i < 128; i++) k4.qs[i] = (uint8_t)(i * 37 + 11);
    qt_dequantize_row(QT_Q4_K, &k4, y, 256);
    ok = 1;
    for (int e = 0; e < 256; e++) {            /* element e: sub-block e/32, byte 32*(e/64) + e%32 */
        int j = e / 32, byte = k4.qs[32 * (e / 64) + e % 32], q = (j & 1) ? byte >> 4 : byte & 15;
        ok &= y[e] == (float)(sc[j] * q) - 0.5f * (float)mn[j];
    }
    CHECK(ok, "q4_K layout");
    uint8_t usc[8], umn[8];
    qt_unpack_scales_k4(k4.scales, usc, umn);
    CHECK(memcmp(usc, sc, 8) == 0 && memcmp(umn, mn, 8) == 0, "q4_K scale unpack");

    qt_block_q5_K k5 = {.d = 0x4000, .dmin = 0x3c00};   /* d = 2, dmin = 1 */
    memcpy(k5.scales, k4.scales, 12);
    memcpy(k5.qs, k4.qs, 128);
    for (int i = 0; i < 32; i++) k5.qh[i] = (uint8_t)(i * 73 + 5);
    qt_dequantize_row(QT_Q5_K, &k5, y, 256);
    ok = 1;
    for (int e = 0; e < 256; e++) {            /* fifth bit: bit j of qh[e % 32] */
        int j = e / 32, byte = k5.qs[32 * (e / 64) + e % 32], q = (j & 1) ? byte >> 4 : byte & 15;
        q |= ((k5.qh[e % 32] >> j) & 1) << 4;
        ok &= y[e] == (float)(2 * sc[j] * q) - (float)mn[j];
    }
    CHECK(ok, "q5_K layout");

    /* Q6_K: element e: half h = e/128, part k = (e%128)/32, l = e%32; low 4 bits
     * from ql[64h + l + 32*(k&1)] (k < 2: low nibble), high 2 from bits 2k of
     * qh[32h + l]; scale group e/16; x = d * sc * (q - 32). */
    qt_block_q6_K k6 = {.d = 0x3800};          /* d = 0.5 */
    for (int i = 0; i < 128; i++) k6.ql[i] = (uint8_t)(i * 29 + 3);
    for (int i = 0; i < 64; i++) k6.qh[i] = (uint8_t)(i * 151 + 77);
    for (int g = 0; g < 16; g++) k6.scales[g] = (int8_t)(g * 17 - 128);
    qt_dequantize_row(QT_Q6_K, &k6, y, 256);
    ok = 1;
    for (int e = 0; e < 256; e++) {
        int h = e / 128, k = (e % 128) / 32, l = e % 32;
        int lb = k6.ql[64 * h + l + 32 * (k & 1)], lo = k < 2 ? lb & 15 : lb >> 4;
        int q = lo | ((k6.qh[32 * h + l] >> (2 * k)) & 3) << 4;
        ok &= y[e] == 0.5f * (float)k6.scales[e / 16] * (float)(q - 32);
    }
    CHECK(ok, "q6_K layout");

    qt_block_q8_K k8 = {.d = 0.25f};
    for (int i = 0; i < 256; i++) k8.qs[i] = (int8_t)(i - 128);
    qt_dequantize_row(QT_Q8_K, &k8, y, 256);
    CHECK(y[0] == -32 && y[255] == 31.75f && y[128] == 0, "q8_K layout");

    uint16_t h[3] = {0x3c00, 0xc000, 0x3555};
    qt_dequantize_row(QT_F16, h, y, 3);
    CHECK(y[0] == 1 && y[1] == -2 && y[2] == qt_f16_to_f32(0x3555), "f16 row");
}

/* ---- quantizers ---------------------------------------------------------------- */

static void test_simple_quantizers(void) {
    float x[32], y[32];
    /* Q4_0: signed max -8 -> d = 1, codes q + 8 (floor(x + 8.5) clamped at 15). */
    for (int i = 0; i < 32; i++) x[i] = (float)(i % 16) - 8;
    x[5] = -8; x[6] = 7.4f; x[7] = 7.6f;
    qt_block_q4_0 b4;
    qt_quantize_row(QT_Q4_0, x, &b4, 32);
    qt_dequantize_row(QT_Q4_0, &b4, y, 32);
    CHECK(b4.d == 0x3c00 && y[0] == -8 && y[15] == 7 && y[6] == 7 && y[7] == 7 && y[8] == 0,
          "q4_0 quantize d=%04x", b4.d);
    /* positive signed max: 16 maps to code 0 (d = -2); smaller values round. */
    for (int i = 0; i < 32; i++) x[i] = (float)i - 15;
    qt_quantize_row(QT_Q4_0, x, &b4, 32);
    qt_dequantize_row(QT_Q4_0, &b4, y, 32);
    CHECK(qt_f16_to_f32(b4.d) == -2 && y[31] == 16 && y[0] == -14, "q4_0 positive max");

    qt_block_q8_0 b8;
    for (int i = 0; i < 32; i++) x[i] = (float)(i - 16) * 0.25f;   /* amax 4 */
    qt_quantize_row(QT_Q8_0, x, &b8, 32);
    CHECK(b8.d == qt_f32_to_f16(4.0f / 127) && b8.qs[0] == -127 && b8.qs[16] == 0 &&
          b8.qs[24] == (int8_t)roundf(2.0f * (1.0f / (4.0f / 127))), "q8_0 quantize");

    qt_block_q5_0 b5;
    for (int i = 0; i < 32; i++) x[i] = (float)(i - 16);           /* max -16: d = 1 */
    qt_quantize_row(QT_Q5_0, x, &b5, 32);
    qt_dequantize_row(QT_Q5_0, &b5, y, 32);
    int ok = b5.d == 0x3c00;
    for (int i = 0; i < 32; i++) ok &= y[i] == x[i];
    CHECK(ok, "q5_0 quantize exact grid");

    /* All-zero rows stay zero, with no nan, for every type. */
    float z[512] = {0}, zy[512];
    uint8_t buf[2048];
    for (int t = 0; t < NSUP; t++) {
        qt_quantize_row(supported[t], z, buf, 512);
        qt_dequantize_row(supported[t], buf, zy, 512);
        ok = 1;
        for (int i = 0; i < 512; i++) ok &= zy[i] == 0;
        CHECK(ok, "zero row %s", qt_get(supported[t])->name);
    }
}

/* Relative RMS error of quantize->dequantize on N(0, 1) data (and a scaled copy). */
static void test_roundtrip(void) {
    static const struct { int t; double bound; } b[] = {
        {QT_F32, 0}, {QT_F16, 3e-4}, {QT_BF16, 2e-3}, {QT_Q8_0, 0.006}, {QT_Q5_0, 0.047},
        {QT_Q4_0, 0.095}, {QT_Q6_K, 0.02}, {QT_Q5_K, 0.039}, {QT_Q4_K, 0.076},
    };
    enum { N = 256 * 64 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    void *q = malloc(N * 4);
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        const char *name = qt_get(b[i].t)->name;
        for (int s = 0; s < 2; s++) {
            float sigma = s ? 3e-3f : 1.0f;
            fill_normal(x, N, sigma);
            qt_quantize_row(b[i].t, x, q, N);
            qt_dequantize_row(b[i].t, q, y, N);
            double e = 0, sig = 0;
            for (int k = 0; k < N; k++) { e += (double)(y[k] - x[k]) * (y[k] - x[k]); sig += (double)x[k] * x[k]; }
            double rel = sqrt(e / sig);
            if (!s) printf("# rms relative error %-5s %.5f\n", name, rel);
            CHECK(rel <= b[i].bound, "%s round trip rel rms %.5f > %.5f (sigma %g)", name, rel, b[i].bound, sigma);
        }
    }
    /* A row with one outlier per block must still code the rest sensibly. */
    fill_normal(x, N, 1);
    for (int k = 0; k < N; k += 256) x[k + 7] = 40;
    qt_quantize_row(QT_Q4_K, x, q, N);
    qt_dequantize_row(QT_Q4_K, q, y, N);
    double worst = 0;
    for (int k = 0; k < N; k++) worst = fmax(worst, fabs(y[k] - x[k]));
    CHECK(worst < 2.0, "q4_K with outliers: worst abs error %g", worst);
    free(x); free(y); free(q);
}

/* ---- activation rounding ---------------------------------------------------- */

static void test_act_q8_0(void) {
    float x[32];
    qt_block_q8_0 b;
    /* amax 127 -> 127/amax = 1: codes are round_half_even(x). */
    static const float v[16] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 126.5f, 127, -127, 3.49f,
                                -3.51f, 0.49999997f, 100.5f, 101.5f, -100.5f, 0};
    static const int8_t want[16] = {0, 2, 2, 0, -2, -2, 126, 127, -127, 3, -4, 0, 100, 102, -100, 0};
    for (int i = 0; i < 32; i++) x[i] = v[i % 16];
    vd_quantize_act(QT_Q4_0, x, &b, 32);
    int ok = b.d == 0x3c00;
    for (int i = 0; i < 32; i++) ok &= b.qs[i] == want[i % 16];
    CHECK(ok, "q8_0 act ties (d=%04x)", b.d);
    /* amax 63.5 -> scale 2: 0.25 -> 0.5 -> 0; 0.75 -> 1.5 -> 2; 1.25 -> 2.5 -> 2. */
    for (int i = 0; i < 32; i++) x[i] = 0;
    x[0] = 63.5f; x[1] = 0.25f; x[2] = 0.75f; x[3] = 1.25f; x[4] = -1.25f; x[5] = -0.25f;
    vd_quantize_act(QT_Q8_0, x, &b, 32);
    CHECK(b.d == 0x3800 && b.qs[0] == 127 && b.qs[1] == 0 && b.qs[2] == 2 && b.qs[3] == 2 &&
          b.qs[4] == -2 && b.qs[5] == 0, "q8_0 act scale 2");
    /* The codes use 127/amax (not 1/fp16(d)); random blocks, rule restated. */
    int bad = 0;
    for (int r = 0; r < 200; r++) {
        fill_normal(x, 32, 0.37f);
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[i]));
        vd_quantize_act(QT_Q5_0, x, &b, 32);
        if (b.d != qt_f32_to_f16(amax / 127)) bad++;
        for (int i = 0; i < 32; i++) if (b.qs[i] != (int8_t)nearbyintf(x[i] * (127 / amax))) bad++;
    }
    CHECK(bad == 0, "q8_0 act random: %d mismatches", bad);
    float z[32] = {0};
    vd_quantize_act(QT_Q8_0, z, &b, 32);
    ok = b.d == 0;
    for (int i = 0; i < 32; i++) ok &= b.qs[i] == 0;
    CHECK(ok, "q8_0 act zero block");
    /* Every ISA rounds bit-identically to the portable path (ties included:
     * half-integers times an exact scale of 1). */
    enum { NB = 512 };
    float *xs = malloc(NB * 32 * sizeof *xs);
    qt_block_q8_0 *b0 = malloc(NB * sizeof *b0), *b1 = malloc(NB * sizeof *b1);
    for (int i = 0; i < NB; i++) {
        fill_normal(xs + 32 * i, 32, i % 5 == 0 ? 1e-4f : 3.0f);
        if (i % 7 == 0) { for (int l = 0; l < 32; l++) xs[32 * i + l] = (float)(l - 16) + 0.5f; xs[32 * i] = 127; }
    }
    vd_set_isa(VD_PORTABLE);
    vd_quantize_act(QT_Q8_0, xs, b0, NB * 32);
    for (int isa = VD_AVX2; isa <= vd_isa_best(); isa++) {
        vd_set_isa(isa);
        vd_quantize_act(QT_Q8_0, xs, b1, NB * 32);
        CHECK(memcmp(b0, b1, NB * sizeof *b0) == 0, "q8_0 act rounding: %s == portable", vd_isa_name(isa));
    }
    vd_init();
    free(xs); free(b0); free(b1);
}

static void test_act_q8_K(void) {
    float x[512];
    qt_block_q8_K b[2];
    /* Block 0: signed max -127 -> iscale 1, codes round_half_even(x); block 1:
     * signed max +63.5 -> iscale -2, so -63.5 -> 127. */
    for (int i = 0; i < 512; i++) x[i] = (float)((i * 7) % 50) - 25 + ((i % 3) ? 0.5f : 0.0f);
    x[10] = -127; x[11] = 126.5f; x[12] = 2.5f; x[13] = -3.5f;
    for (int i = 256; i < 512; i++) x[i] = 0.25f * (float)((i % 9) - 4);
    x[256 + 3] = 63.5f; x[256 + 4] = -63.5f; x[256 + 5] = 0.25f; x[256 + 6] = -0.75f;
    vd_quantize_act(QT_Q6_K, x, b, 512);
    CHECK(b[0].d == 1.0f && b[1].d == -0.5f, "q8_K d %g %g", b[0].d, b[1].d);
    CHECK(b[0].qs[10] == -127 && b[0].qs[11] == 126 && b[0].qs[12] == 2 && b[0].qs[13] == -4,
          "q8_K ties block 0");
    CHECK(b[1].qs[3] == -127 && b[1].qs[4] == 127 && b[1].qs[5] == 0 && b[1].qs[6] == 2,
          "q8_K ties block 1: %d %d %d %d", b[1].qs[3], b[1].qs[4], b[1].qs[5], b[1].qs[6]);
    int ok = 1;
    for (int k = 0; k < 2; k++)
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int l = 0; l < 16; l++) s += b[k].qs[16 * g + l];
            ok &= b[k].bsums[g] == s;
        }
    CHECK(ok, "q8_K bsums");
    ok = 1;
    for (int i = 0; i < 256; i++) {
        float e = x[i];
        ok &= b[0].qs[i] == (int8_t)nearbyintf(e);
    }
    CHECK(ok, "q8_K block 0 codes");
    /* Equal magnitudes: the first one sets the sign. */
    for (int i = 0; i < 256; i++) x[i] = 0;
    x[3] = 5; x[7] = -5; x[8] = 1;
    vd_quantize_act(QT_Q4_K, x, b, 256);
    CHECK(b[0].d == 1 / (-127.0f / 5) && b[0].qs[3] == -127 && b[0].qs[7] == 127 &&
          b[0].qs[8] == (int8_t)nearbyintf(-127.0f / 5), "q8_K first max wins");
    for (int i = 0; i < 256; i++) x[i] = 0;
    vd_quantize_act(QT_Q5_K, x, b, 256);
    ok = b[0].d == 0;
    for (int i = 0; i < 256; i++) ok &= b[0].qs[i] == 0;
    for (int g = 0; g < 16; g++) ok &= b[0].bsums[g] == 0;
    CHECK(ok, "q8_K zero block");
    /* Every ISA rounds bit-identically to the portable path: random blocks
     * of several scales, ties (half-integers with max -127: iscale 1), equal
     * magnitudes of both signs, -0 only, denormals, and inf / nan blocks. */
    enum { NB = 96 };
    float *xs = malloc(NB * 256 * sizeof *xs);
    qt_block_q8_K *k0 = malloc(NB * sizeof *k0), *k1 = malloc(NB * sizeof *k1);
    for (int i = 0; i < NB; i++) {
        float *v = xs + 256 * i;
        fill_normal(v, 256, i % 5 == 0 ? 1e-4f : 3.0f);
        switch (i % 12) {
        case 1: for (int l = 0; l < 256; l++) v[l] = (float)((l * 37) % 200 - 100) + 0.5f;
                v[77] = -127; break;
        case 2: v[200] = -v[13] * 4; v[250] = v[13] * 4; break;           /* first of +-m sets the sign */
        case 3: v[9] = 1e30f; v[10] = -1e30f; break;
        case 4: for (int l = 0; l < 256; l++) v[l] = -0.0f; break;
        case 5: for (int l = 0; l < 256; l++) v[l] = (float)(l % 7) * 0x1p-140f; break;
        case 6: v[31] = NAN; break;
        case 7: v[255] = -INFINITY; break;
        case 8: v[0] = NAN; v[1] = 0; break;
        case 9: v[128] = v[129] = v[130] = 2e3f; break;
        default: break;
        }
    }
    vd_set_isa(VD_PORTABLE);
    vd_quantize_act(QT_Q4_K, xs, k0, NB * 256);
    for (int isa = VD_AVX2; isa <= vd_isa_best(); isa++) {
        vd_set_isa(isa);
        memset(k1, 0x5a, NB * sizeof *k1);
        vd_quantize_act(QT_Q6_K, xs, k1, NB * 256);
        int bad = -1;
        for (int i = 0; i < NB && bad < 0; i++) if (memcmp(&k0[i], &k1[i], sizeof *k0)) bad = i;
        CHECK(bad < 0, "q8_K act rounding: %s == portable (first differing block %d)", vd_isa_name(isa), bad);
    }
    vd_init();
    free(xs); free(k0); free(k1);
    /* F16 / BF16 / F32 activations are plain conversions. */
    float f[3] = {1.0f + 0x1p-11f, -3.0f, 0x1.0101p0f};
    uint16_t h[3];
    vd_quantize_act(QT_F16, f, h, 3);
    CHECK(h[0] == 0x3c00 && h[1] == 0xc200, "f16 act");
    vd_quantize_act(QT_BF16, f, h, 3);
    CHECK(h[2] == qt_f32_to_bf16(f[2]) && h[1] == 0xc040, "bf16 act");
    CHECK(vd_act_row_size(QT_Q4_0, 64) == 68 && vd_act_row_size(QT_Q6_K, 512) == 584 &&
          vd_act_row_size(QT_F16, 5) == 10 && vd_act_row_size(QT_F32, 5) == 20 &&
          vd_act_row_size(QT_BF16, 6) == 12, "act row sizes");
}

/* ---- matmul ------------------------------------------------------------------ */

typedef struct {
    int t;
    int64_t cols, rows;
    int nact;
    void *w, *xq;
    double *ref;      /* (nact, rows) exact dot of dequantized values */
    double *mag;      /* (nact, rows) sum |w x|, for tolerances */
} mm_case;

static void mm_setup(mm_case *c, int t, int64_t cols, int64_t rows, int nact) {
    c->t = t; c->cols = cols; c->rows = rows; c->nact = nact;
    size_t wrs = qt_row_size(t, cols), xrs = vd_act_row_size(t, cols);
    float *tmp = malloc((size_t)cols * sizeof *tmp);
    float *wd = malloc((size_t)(cols * rows) * sizeof *wd), *xd = malloc((size_t)(cols * nact) * sizeof *xd);
    c->w = malloc(wrs * (size_t)rows);
    c->xq = malloc(xrs * (size_t)nact);
    for (int64_t r = 0; r < rows; r++) {
        fill_normal(tmp, cols, 0.05f);
        qt_quantize_row(t, tmp, (char *)c->w + wrs * (size_t)r, cols);
        qt_dequantize_row(t, (char *)c->w + wrs * (size_t)r, wd + r * cols, cols);
    }
    for (int j = 0; j < nact; j++) {
        fill_normal(tmp, cols, 1.0f);
        if (j % 3 == 2) for (int64_t i = 0; i < cols; i++) tmp[i] *= 1e-3f;   /* varied scales */
        vd_quantize_act(t, tmp, (char *)c->xq + xrs * (size_t)j, cols);
        qt_dequantize_row(qt_get(t)->act_type, (char *)c->xq + xrs * (size_t)j, xd + j * cols, cols);
    }
    c->ref = malloc((size_t)(nact * rows) * sizeof *c->ref);
    c->mag = malloc((size_t)(nact * rows) * sizeof *c->mag);
    for (int j = 0; j < nact; j++)
        for (int64_t r = 0; r < rows; r++) {
            double s = 0, m = 0;
            for (int64_t i = 0; i < cols; i++) {
                double p = (double)wd[r * cols + i] * xd[j * cols + i];
                s += p; m += fabs(p);
            }
            c->ref[j * rows + r] = s; c->mag[j * rows + r] = m;
        }
    free(tmp); free(wd); free(xd);
}

static void mm_free(mm_case *c) { free(c->w); free(c->xq); free(c->ref); free(c->mag); }

/* Checks y (stride ldy > rows) after a product of rows [r0, r1): every value
 * written against the float64 reference, and nothing else touched (the
 * caller filled y with -12345). Returns the number of bad values. */
static int mm_verify(const mm_case *c, const float *y, int64_t ldy, int64_t r0, int64_t r1, const char *what) {
    int bad = 0;
    for (int j = 0; j < c->nact; j++)
        for (int64_t r = 0; r < ldy; r++) {
            float v = y[j * ldy + r];
            if (r < r0 || r >= r1) { bad += v != -12345.0f; continue; }
            double ref = c->ref[j * c->rows + r], tol = 3e-6 * c->mag[j * c->rows + r] + 1e-30;
            if (!(fabs(v - ref) <= tol)) {
                if (bad < 3)
                    fprintf(stderr, "  %s %s cols %lld row %lld act %d: %.9g vs %.9g (tol %.3g)\n", what,
                            qt_get(c->t)->name, (long long)c->cols, (long long)r, j, v, ref, tol);
                bad++;
            }
        }
    return bad;
}

static float *mm_out(const mm_case *c, int64_t ldy) {
    float *y = malloc((size_t)(ldy * c->nact) * sizeof *y);
    for (int64_t i = 0; i < ldy * c->nact; i++) y[i] = -12345.0f;
    return y;
}

/* Runs rows [r0, r1) through vd_matmul and checks them (mm_verify). */
static int mm_check(const mm_case *c, int64_t r0, int64_t r1, const char *isa) {
    int64_t ldy = c->rows + 3;
    float *y = mm_out(c, ldy);
    vd_matmul(c->t, c->w, c->cols, r0, r1, c->xq, c->nact, y, ldy);
    int bad = mm_verify(c, y, ldy, r0, r1, isa);
    free(y);
    return bad;
}

/* The kernel path main() runs the next tests on, for their messages. */
static const char *path_tag = "";

/* vd_matmul8 (eight activations interleaved) on the same case, where this
 * CPU has the kernel: the same tolerance, nothing outside [r0, r1) written. */
static int mm_check8(const mm_case *c, int64_t r0, int64_t r1) {
    size_t sz = vd_act8_size(c->t, c->cols, c->nact);
    if (!sz) return 0;
    int64_t ldy = c->rows + 3;
    float *y = mm_out(c, ldy);
    void *x8 = malloc(sz);
    vd_act8_pack(c->t, c->xq, c->nact, c->cols, x8);
    vd_matmul8(c->t, c->w, c->cols, r0, r1, x8, c->nact, y, ldy, 0);
    int bad = mm_verify(c, y, ldy, r0, r1, "x8");
    if (c->t == QT_Q8_0) {   /* the faster form too: our quantizer writes no -128 */
        CHECK(vd_q8_0_no_min(c->w, c->rows, c->cols), "quantized Q8_0 rows hold no -128 code");
        for (int64_t i = 0; i < ldy * c->nact; i++) y[i] = -12345.0f;
        vd_matmul8(c->t, c->w, c->cols, r0, r1, x8, c->nact, y, ldy, VD_W_NO_MIN);
        bad += mm_verify(c, y, ldy, r0, r1, "x8 no-min");
    }
    free(y); free(x8);
    return bad;
}

/* Eight-wide kernels: partial and several chunks (5..17 activations), odd
 * row ranges and block counts; below VD_X8_MIN there is no packed path. */
static void test_matmul8(void) {
    static const struct { int64_t cols, rows; int nact; int64_t r0, r1; } shapes[] = {
        {32, 3, 5, 0, 3}, {96, 7, 8, 1, 6}, {160, 9, 9, 0, 9}, {2048, 5, 16, 2, 5}, {288, 4, 17, 0, 4},
    };
    int any = 0;
    for (int ti = 0; ti < NSUP; ti++) {
        int t = supported[ti];
        if (!vd_act8_size(t, 64, 8)) continue;
        any++;
        CHECK(vd_act8_size(t, 64, VD_X8_MIN - 1) == 0, "%s: no packed path below %d activations",
              qt_get(t)->name, VD_X8_MIN);
        CHECK(vd_act8_size(t, 64, 9) == 2 * 2 * sizeof(vd_act8_block), "%s: two chunks of two blocks",
              qt_get(t)->name);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            mm_case c;
            mm_setup(&c, t, shapes[s].cols, shapes[s].rows, shapes[s].nact);
            int bad = mm_check8(&c, shapes[s].r0, shapes[s].r1);
            CHECK(bad == 0, "matmul8 %s %s cols %lld nact %d rows [%lld,%lld): %d bad", path_tag, qt_get(t)->name,
                  (long long)shapes[s].cols, shapes[s].nact, (long long)shapes[s].r0,
                  (long long)shapes[s].r1, bad);
            mm_free(&c);
        }
    }
    if (!any) printf("# no eight-wide kernels on %s: matmul8 checks skipped\n", vd_isa_name(vd_isa()));
    vd_set_isa(VD_PORTABLE);
    CHECK(vd_act8_size(QT_Q4_0, 64, 8) == 0, "portable isa: no packed path");
    vd_init();
}

/* Rows repacked by eight (vd_repack + vd_matvec_r8), where this CPU has the
 * kernel: every whole group against the float64 reference, sub-ranges of
 * groups, and nothing written outside the range. */
static void test_repack(void) {
    typedef struct { int64_t cols, rows, r0, r1; int nact; } shape;
    static const shape shapes[] = {
        {32, 8, 0, 8, 1}, {96, 17, 0, 16, 1}, {288, 40, 8, 32, 1}, {2048, 24, 16, 24, 1}, {160, 9, 0, 8, 1},
        {96, 16, 0, 16, 2}, {288, 24, 8, 24, 3}, {160, 17, 0, 16, 4}, {64, 8, 0, 8, 6},
    };
    if (!vd_repack_size(QT_Q4_0, 8, 32)) {
        printf("# no repacked kernels on %s: repack checks skipped\n", vd_isa_name(vd_isa()));
        return;
    }
    CHECK(vd_repack_size(QT_Q4_0, 7, 32) == 0, "fewer than eight rows: no repacked copy");
    CHECK(vd_repack_size(QT_Q4_0, 17, 64) == 2 * 2 * sizeof(vd_block_q4_0x8), "two groups of two blocks");
    CHECK(vd_repack_size(QT_Q8_0, 17, 64) == 2 * 2 * sizeof(vd_block_q8_0x8), "Q8_0: two groups of two blocks");
    CHECK(vd_repack_size(QT_Q4_K, 17, 512) == 2 * 2 * sizeof(vd_block_q4_Kx8), "Q4_K: two groups of two super-blocks");
    CHECK(vd_repack_size(QT_Q4_K, 16, 32) == 0 && vd_repack_size(QT_F32, 16, 256) == 0, "Q4_0, Q8_0 and Q4_K only");
    static const shape kshapes[] = {
        {256, 8, 0, 8, 1}, {512, 17, 0, 16, 2}, {768, 24, 8, 24, 3}, {256, 16, 0, 16, 4}, {512, 9, 0, 8, 7},
    };
    size_t n4 = 2 * sizeof shapes / sizeof shapes[0], nk = sizeof kshapes / sizeof kshapes[0];
    for (size_t s = 0; s < n4 + nk; s++) {
        int t = s >= n4 ? QT_Q4_K : s % 2 ? QT_Q8_0 : QT_Q4_0;
        mm_case c;
        const shape *sh = t == QT_Q4_K ? &kshapes[s - n4] : &shapes[s / 2];
        mm_setup(&c, t, sh->cols, sh->rows, sh->nact);
        void *wr = malloc(vd_repack_size(t, c.rows, c.cols));
        vd_repack(t, c.w, c.rows, c.cols, wr);
        int64_t ldy = c.rows + 8;
        float *y = mm_out(&c, ldy);
        vd_matmul_r8(t, wr, c.cols, sh->r0, sh->r1, c.xq, c.nact, y, ldy);
        int bad = mm_verify(&c, y, ldy, sh->r0, sh->r1, "r8");
        CHECK(bad == 0, "repacked %s %s cols %lld rows [%lld,%lld) of %lld, %d activations: %d bad", path_tag, qt_get(t)->name,
              (long long)c.cols, (long long)sh->r0, (long long)sh->r1, (long long)c.rows, c.nact, bad);
        free(y); free(wr);
        mm_free(&c);
    }
    vd_set_isa(VD_PORTABLE);
    CHECK(vd_repack_size(QT_Q4_0, 8, 32) == 0, "portable isa: no repacked copy");
    vd_init();
}

static void test_matmul(void) {
    int best = vd_isa_best();
    CHECK(vd_set_isa(VD_AVX512 + 5) == best && vd_isa() == best, "isa clamps to best");
    CHECK(vd_set_isa(-3) == VD_PORTABLE, "isa clamps to portable");
    printf("# best isa: %s\n", vd_isa_name(best));
    /* (cols for 256-blocks, cols for 32-blocks): tiles 4x1 + 1x1, 4x1 + 3x1,
     * 2x2 + 2x1, 1x4 + 1x1, odd row ranges, odd block counts (1, 3, 5 blocks). */
    static const struct { int64_t cols, cols32, rows; int nact; int64_t r0, r1; } shapes[] = {
        {256, 32, 9, 1, 0, 9}, {512, 96, 7, 8, 0, 7}, {768, 160, 11, 5, 3, 10},
        {256, 64, 6, 3, 5, 6}, {1024, 288, 4, 13, 1, 3}, {512, 96, 5, 2, 0, 5},
        {256, 256, 4, 4, 2, 4}, {512, 32, 7, 1, 0, 7}, {256, 96, 6, 2, 1, 6},
        {256, 160, 8, 6, 0, 8},
    };
    static const int64_t oddcols[] = {1, 7, 8, 9, 15, 17, 31, 33, 63, 65, 100, 259};
    for (int ti = 0; ti < NSUP; ti++) {
        int t = supported[ti];
        int64_t blk = qt_get(t)->block;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            mm_case c;
            int64_t cols = blk == 32 ? shapes[s].cols32 : shapes[s].cols;
            mm_setup(&c, t, cols, shapes[s].rows, shapes[s].nact);
            for (int isa = VD_PORTABLE; isa <= best; isa++) {
                vd_set_isa(isa);
                int bad = mm_check(&c, shapes[s].r0, shapes[s].r1, vd_isa_name(isa));
                CHECK(bad == 0, "matmul %s %s cols %lld nact %d rows [%lld,%lld): %d bad",
                      vd_isa_name(isa), qt_get(t)->name, (long long)cols, c.nact,
                      (long long)shapes[s].r0, (long long)shapes[s].r1, bad);
            }
            mm_free(&c);
        }
        if (blk == 1)                          /* float types: every tail length */
            for (size_t k = 0; k < sizeof oddcols / sizeof oddcols[0]; k++) {
                mm_case c;
                mm_setup(&c, t, oddcols[k], 3, 5);
                int bad = 0;
                for (int isa = VD_PORTABLE; isa <= best; isa++) {
                    vd_set_isa(isa);
                    bad += mm_check(&c, 0, 3, vd_isa_name(isa));
                }
                CHECK(bad == 0, "matmul %s cols %lld tails: %d bad", qt_get(t)->name,
                      (long long)oddcols[k], bad);
                mm_free(&c);
            }
    }
    /* Enough activations that vd_matmul makes several passes (activation tiles). */
    mm_case c;
    mm_setup(&c, QT_F32, 4096, 3, 37);
    for (int isa = VD_PORTABLE; isa <= best; isa++) {
        vd_set_isa(isa);
        CHECK(mm_check(&c, 0, 3, vd_isa_name(isa)) == 0, "tiled f32 matmul on %s", vd_isa_name(isa));
    }
    mm_free(&c);
    mm_setup(&c, QT_Q4_K, 8192, 2, 70);
    for (int isa = VD_PORTABLE; isa <= best; isa++) {
        vd_set_isa(isa);
        CHECK(mm_check(&c, 0, 2, vd_isa_name(isa)) == 0, "tiled q4_K matmul on %s", vd_isa_name(isa));
    }
    mm_free(&c);
    vd_init();
    CHECK(vd_isa() == best, "vd_init restores best");
}

/* Every ISA against the portable path on identical inputs (no quantization
 * noise in the comparison), with extreme codes: all-max weights and acts. */
static void test_isa_agree(void) {
    int best = vd_isa_best();
    for (int ti = 0; ti < NSUP; ti++) {
        int t = supported[ti];
        int64_t cols = 512, rows = 6;
        size_t wrs = qt_row_size(t, cols), xrs = vd_act_row_size(t, cols);
        uint8_t *w = malloc(wrs * rows), *x = malloc(xrs * 8);
        float *xf = malloc(cols * sizeof *xf), y0[8 * 6], y1[8 * 6];
        for (size_t i = 0; i < wrs * rows; i++) w[i] = (uint8_t)rnd_u32();
        if (qt_get(t)->block > 1)              /* sane scales in random blocks: set fp16 fields */
            for (int64_t r = 0; r < rows; r++) {
                float tmp[512];
                fill_normal(tmp, cols, 1);
                if (r == 0) for (int i = 0; i < 512; i++) tmp[i] = (i & 1) ? 1.0f : -1.0f;
                qt_quantize_row(t, tmp, w + wrs * r, cols);
                if (r >= 2) {   /* randomize codes, keep block scales */
                    int bytes = qt_get(t)->bytes;
                    for (int64_t b = 0; b < cols / qt_get(t)->block; b++) {
                        uint8_t *blk = w + wrs * r + b * bytes;
                        int lo = t == QT_Q6_K ? 0 : t == QT_Q4_K || t == QT_Q5_K ? 16 : 2;
                        int hi = t == QT_Q6_K ? 192 : bytes;
                        for (int k = lo; k < hi; k++) blk[k] = (uint8_t)rnd_u32();
                    }
                }
            }
        else if (t == QT_F32)
            for (int64_t i = 0; i < cols * rows; i++) ((float *)w)[i] = rnd_normal();
        else
            for (int64_t i = 0; i < cols * rows; i++)
                ((uint16_t *)w)[i] = t == QT_F16 ? qt_f32_to_f16(rnd_normal()) : qt_f32_to_bf16(rnd_normal());
        for (int j = 0; j < 8; j++) {
            fill_normal(xf, cols, 1);
            if (j == 0) for (int i = 0; i < cols; i++) xf[i] = (i % 3) ? 2.0f : -2.0f;
            vd_quantize_act(t, xf, x + xrs * j, cols);
        }
        double mag[8 * 6];                     /* sum |w x| over dequantized values */
        float *wd = malloc(cols * rows * sizeof *wd), *xd = malloc(cols * 8 * sizeof *xd);
        for (int64_t r = 0; r < rows; r++) qt_dequantize_row(t, w + wrs * r, wd + cols * r, cols);
        for (int j = 0; j < 8; j++) qt_dequantize_row(qt_get(t)->act_type, x + xrs * j, xd + cols * j, cols);
        for (int j = 0; j < 8; j++)
            for (int64_t r = 0; r < rows; r++) {
                mag[j * rows + r] = 0;
                for (int64_t i = 0; i < cols; i++) mag[j * rows + r] += fabs((double)wd[r * cols + i] * xd[j * cols + i]);
            }
        free(wd); free(xd);
        vd_set_isa(VD_PORTABLE);
        vd_matmul(t, w, cols, 0, rows, x, 8, y0, rows);
        for (int isa = VD_AVX2; isa <= best; isa++) {
            vd_set_isa(isa);
            vd_matmul(t, w, cols, 0, rows, x, 8, y1, rows);
            int bad = 0;
            for (int i = 0; i < 8 * 6; i++)
                if (!(fabs(y0[i] - y1[i]) <= 2e-6 * mag[i] + 1e-30)) bad++;
            CHECK(bad == 0, "%s vs portable, %s, raw blocks (path %s): %d bad", vd_isa_name(isa), qt_get(t)->name, path_tag, bad);
            size_t sz = vd_act8_size(t, cols, 8);
            if (!sz) continue;
            void *x8 = malloc(sz);
            vd_act8_pack(t, x, 8, cols, x8);
            /* random codes include -128: the check must say so and the
             * full-range form must stay exact */
            CHECK(t != QT_Q8_0 || !vd_q8_0_no_min(w, rows, cols), "raw Q8_0 blocks hold -128 codes");
            vd_matmul8(t, w, cols, 0, rows, x8, 8, y1, rows, t == QT_Q8_0 && vd_q8_0_no_min(w, rows, cols) ? VD_W_NO_MIN : 0);
            bad = 0;
            for (int i = 0; i < 8 * 6; i++)
                if (!(fabs(y0[i] - y1[i]) <= 2e-6 * mag[i] + 1e-30)) bad++;
            CHECK(bad == 0, "%s eight-wide vs portable, %s, raw blocks (path %s): %d bad", vd_isa_name(isa),
                  qt_get(t)->name, path_tag, bad);
            free(x8);
        }
        free(w); free(x); free(xf);
    }
    vd_init();
}

static void test_f32_helpers(void) {
    static const int ns[] = {0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 100, 1000, 4099};
    float *a = malloc(4099 * sizeof *a), *b = malloc(4099 * sizeof *b), *y = malloc(4099 * sizeof *y);
    fill_normal(a, 4099, 1); fill_normal(b, 4099, 1);
    for (int isa = VD_PORTABLE; isa <= vd_isa_best(); isa++) {
        vd_set_isa(isa);
        int bad = 0;
        for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
            int n = ns[k];
            double s = 0, m = 0;
            for (int i = 0; i < n; i++) { s += (double)a[i] * b[i]; m += fabs((double)a[i] * b[i]); }
            if (!(fabs(vd_dot_f32(a, b, n) - s) <= 1e-6 * m + 1e-30)) bad++;
            for (int i = 0; i < n + 1 && i < 4099; i++) y[i] = b[i];
            vd_axpy_f32(y, 0.37f, a, n);
            for (int i = 0; i < n; i++)
                if (!(fabs(y[i] - (b[i] + 0.37 * a[i])) <= 1e-6 * (fabs(b[i]) + fabs(a[i])))) bad++;
            if (n < 4099 && y[n] != b[n]) bad++;   /* nothing written past n */
        }
        CHECK(bad == 0, "dot/axpy on %s: %d bad", vd_isa_name(isa), bad);

        /* silu_mul against expf in double over [-100, 100] (both clamps of
         * the SIMD exp), on every length class; nothing written past n */
        int sbad = 0;
        double worst = 0;
        for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
            int n = ns[k];
            for (int i = 0; i < n + 1 && i < 4099; i++) {
                y[i] = -100.0f + 200.0f * (float)i / 4099.0f + 0.01f * a[i];
                b[i] = a[(i * 7) % 4099];
            }
            float g_n = n < 4099 ? y[n] : 0;
            float *g0 = malloc((size_t)(n + 1) * sizeof *g0);
            memcpy(g0, y, (size_t)n * sizeof *g0);
            vd_silu_mul(y, b, n);
            for (int i = 0; i < n; i++) {
                double x = g0[i], want = x / (1.0 + exp(-x)) * b[i];
                double err = fabs(y[i] - want) / (fabs(want) + 1e-30);
                if (fabs(want) < 1e-30) err = fabs(y[i]) < 1e-30 ? 0 : 1;
                if (err > worst) worst = err;
                if (!(err <= 1e-6)) sbad++;
            }
            if (n < 4099 && y[n] != g_n) sbad++;
            free(g0);
        }
        CHECK(sbad == 0, "silu_mul on %s within 1e-6 relative of double (worst %.2e): %d bad",
              vd_isa_name(isa), worst, sbad);

        /* exp over the softmax range [-87, 0] and a little above: within
         * 1e-6 relative of double; nothing written past n */
        int ebad = 0;
        for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
            int n = ns[k];
            /* from -87 on: every value, tails included, goes through the SIMD
             * exp, whose range starts there (vecdot.h) */
            for (int i = 0; i < n + 1 && i < 4099; i++) y[i] = -87.0f + 90.0f * (float)i / 4099.0f + 0.001f * fabsf(a[i]);
            float e_n = n < 4099 ? y[n] : 0;
            memcpy(b, y, (size_t)n * sizeof *b);
            vd_exp_f32(y, n);
            for (int i = 0; i < n; i++) {
                double want = exp((double)b[i]);
                if (!(fabs(y[i] - want) <= 1e-6 * want)) ebad++;
            }
            if (n < 4099 && y[n] != e_n) ebad++;
        }
        CHECK(ebad == 0, "exp on %s within 1e-6 relative of double: %d bad", vd_isa_name(isa), ebad);
    }
    vd_init();
    free(a); free(b); free(y);
}

/* Golden: llama-quantize --pure made the synthetic files from weights that
 * synth-A-f16.gguf holds exactly (golden README, section 4). Our Q8_0/Q4_0
 * quantizers follow the published reference scheme and must reproduce its
 * bytes; our K-quant search must be at least about as accurate as llama.cpp's. */
static void test_golden_files(void) {
    static const struct { const char *file; int exact; } files[] = {
        {"models/synthetic/synth-A-q8_0.gguf", 1}, {"models/synthetic/synth-A-q4_0.gguf", 1},
        {"models/synthetic/synth-A-q4_k.gguf", 0}, {"models/synthetic/synth-A-q6_k.gguf", 0},
    };
    char path[512], err[256];
    gguf *src;
    if (gguf_open(&src, check_path(path, sizeof path, "models/synthetic/synth-A-f16.gguf"), err, sizeof err)) {
        printf("# skip golden quantizer checks: %s\n", err);
        return;
    }
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        gguf *ref;
        if (gguf_open(&ref, check_path(path, sizeof path, files[f].file), err, sizeof err)) {
            CHECK(0, "open %s", err);
            continue;
        }
        long blocks = 0, bad = 0;
        double e_us = 0, e_ref = 0;
        for (int64_t i = 0; i < gguf_n_tensors(src); i++) {
            const gguf_tensor *ts = gguf_tensor_at(src, i), *tr = gguf_find_tensor(ref, ts->name);
            if (!tr || ts->type != QT_F16 || tr->type == QT_F32) continue;
            int64_t n = (int64_t)ts->ne[0], rows = (int64_t)(ts->size / 2) / n;
            const qt_traits *t = qt_get((int)tr->type);
            size_t rs = qt_row_size((int)tr->type, n);
            float *x = malloc((size_t)n * 3 * sizeof *x), *a = x + n, *b = a + n;
            unsigned char *q = malloc(rs);
            for (int64_t r = 0; r < rows; r++) {
                const unsigned char *qr = (const unsigned char *)tr->data + (size_t)r * rs;
                qt_dequantize_row(QT_F16, (const char *)ts->data + (size_t)(r * n) * 2, x, n);
                qt_quantize_row((int)tr->type, x, q, n);
                for (size_t k = 0; k < rs; k += (size_t)t->bytes, blocks++)
                    bad += memcmp(q + k, qr + k, (size_t)t->bytes) != 0;
                qt_dequantize_row((int)tr->type, q, a, n);
                qt_dequantize_row((int)tr->type, qr, b, n);
                for (int64_t k = 0; k < n; k++) {
                    e_us += (double)(a[k] - x[k]) * (a[k] - x[k]);
                    e_ref += (double)(b[k] - x[k]) * (b[k] - x[k]);
                }
            }
            free(x); free(q);
        }
        printf("# %s: %ld blocks, %ld differ; squared error ours/llama.cpp %.4f\n", files[f].file,
               blocks, bad, e_us / e_ref);
        CHECK(blocks > 0, "%s: no tensors compared", files[f].file);
        if (files[f].exact) CHECK(bad == 0, "%s: %ld of %ld blocks differ", files[f].file, bad, blocks);
        else CHECK(e_us <= 1.02 * e_ref, "%s: error ratio %.4f", files[f].file, e_us / e_ref);
        gguf_close(ref);
    }
    gguf_close(src);
}

int main(void) {
    vd_init();
    test_table();
    test_half();
    test_layouts();
    test_simple_quantizers();
    test_roundtrip();
    test_act_q8_0();
    test_act_q8_K();
    test_matmul();
    /* the eight-wide and repacked kernels and the ISAs' agreement on every
     * kernel path this CPU runs (vecdot.h: AVX2 alone, AVX-VNNI, AVX-512
     * alone, AVX512-VNNI): a CPU without the higher ones runs the lower */
    int npath = 0;
    for (int p = VD_PATH_AVX2; p < VD_NPATHS; p++) {
        if (!vd_set_path(p)) continue;
        npath++;
        path_tag = vd_path_name(p);
        CHECK(vd_path() == p && vd_isa() == vd_isa_best(), "path %s in use after vd_set_path (%s)", path_tag,
              vd_path_name(vd_path()));
        test_matmul8();
        test_repack();
        test_isa_agree();
    }
    printf("# kernel paths tested: %d of the %d above portable\n", npath, VD_NPATHS - 1);
    vd_set_path(vd_path_best());
    path_tag = "";
    test_f32_helpers();
    test_golden_files();
    return check_done();
}
