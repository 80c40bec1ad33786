/* test_quant: qtypes and vecdot for the float types (F32, F16, BF16) and the
 * 32-element block types (Q8_0, Q4_0, Q5_0): the type table, fp16/bf16, block
 * layouts, quantizers, Q8_0 activation rounding, every matmul kernel on every
 * ISA this CPU has, and the F32 helpers. The K-quants (Q4_K, Q5_K, Q6_K, Q8_K)
 * are test_quant_k.c's; the matmul harness both use is quant_check.h.
 * Expected values come from the GGUF block layouts restated here in a
 * different form than qtypes.c uses, or from float64 references. */
#include "quant_check.h"

static float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static const int types[] = {QT_F32, QT_F16, QT_BF16, QT_Q8_0, QT_Q4_0, QT_Q5_0};
#define NTYPES (int)(sizeof types / sizeof types[0])

/* ---- type table (every type, K-quants included) ------------------------------ */

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

    qc_zero_rows(types, NTYPES);
}

/* Relative RMS error of quantize->dequantize on N(0, 1) data (and a scaled copy). */
static void test_roundtrip(void) {
    static const qc_bound b[] = {
        {QT_F32, 0}, {QT_F16, 3e-4}, {QT_BF16, 2e-3}, {QT_Q8_0, 0.006}, {QT_Q5_0, 0.047}, {QT_Q4_0, 0.095},
    };
    qc_roundtrip(b, (int)(sizeof b / sizeof b[0]));
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
        /* scales whose fp16 d is subnormal (1e-4) or overflows to inf (1e7) */
        fill_normal(xs + 32 * i, 32, i % 5 == 0 ? 1e-4f : i % 11 == 3 ? 1e7f : 3.0f);
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

static void test_act_float(void) {
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

static void test_matmul(void) {
    int best = vd_isa_best();
    CHECK(vd_set_isa(VD_AVX512 + 5) == best && vd_isa() == best, "isa clamps to best");
    CHECK(vd_set_isa(-3) == VD_PORTABLE, "isa clamps to portable");
    printf("# best isa: %s\n", vd_isa_name(best));
    qc_matmul(types, NTYPES);
    qc_matmul_tiled(QT_F32, 4096, 3, 37, "f32");
    CHECK(vd_isa() == best, "vd_init restores best");
}

static void test_matmul8(void) {
    qc_matmul8(types, NTYPES);
    vd_set_isa(VD_PORTABLE);
    CHECK(vd_act8_size(QT_Q4_0, 64, 8) == 0, "portable isa: no packed path");
    vd_init();
}

/* Rows repacked by eight, where this CPU has the kernel (Q4_0 and Q8_0 here,
 * Q4_K in test_quant_k.c). */
static void test_repack(void) {
    static const qc_shape shapes[] = {
        {32, 8, 0, 8, 1}, {96, 17, 0, 16, 1}, {288, 40, 8, 32, 1}, {2048, 24, 16, 24, 1}, {160, 9, 0, 8, 1},
        {96, 16, 0, 16, 2}, {288, 24, 8, 24, 3}, {160, 17, 0, 16, 4}, {64, 8, 0, 8, 6},
        /* sixteen and more: the AMX kernels' chunks of sixteen (pairs of
         * groups, an odd group, an odd number of blocks) and the VNNI rest */
        {288, 40, 0, 40, 16}, {96, 33, 8, 32, 19}, {64, 24, 0, 24, 40},
        /* a rest of eight to fifteen: one zero-padded sixteen (vd_r8_amx_tail),
         * with whole sixteens and alone; 2080 columns: its copy on the heap */
        {288, 40, 0, 40, 27}, {96, 24, 8, 24, 13}, {2080, 24, 0, 24, 25}, {96, 24, 0, 24, 24},
        /* a VNNI rest of 4-5 after the AMX calls over about
         * VD_R8_AMX_REST_BYTES of weights: 2048 columns, rows 8-520 in two
         * (Q4_0) or four (Q8_0) such blocks */
        {288, 40, 0, 40, 20}, {2048, 520, 8, 520, 21},
        /* the least padded rest (VD_R8_AMX_PAD 6) */
        {288, 40, 0, 40, 22},
    };
    if (!vd_repack_size(QT_Q4_0, 8, 32)) {
        printf("# no repacked kernels on %s: repack checks skipped\n", vd_isa_name(vd_isa()));
        return;
    }
    CHECK(vd_repack_size(QT_Q4_0, 7, 32) == 0, "fewer than eight rows: no repacked copy");
    CHECK(vd_repack_size(QT_Q4_0, 17, 64) == 2 * 2 * sizeof(vd_block_q4_0x8), "two groups of two blocks");
    CHECK(vd_repack_size(QT_Q8_0, 17, 64) == 2 * 2 * sizeof(vd_block_q8_0x8), "Q8_0: two groups of two blocks");
    CHECK(vd_repack_size(QT_Q4_K, 16, 32) == 0 && vd_repack_size(QT_F32, 16, 256) == 0, "Q4_0, Q8_0 and Q4_K only");
    for (size_t s = 0; s < 2 * sizeof shapes / sizeof shapes[0]; s++)
        qc_repack(s % 2 ? QT_Q8_0 : QT_Q4_0, &shapes[s / 2]);
    vd_set_isa(VD_PORTABLE);
    CHECK(vd_repack_size(QT_Q4_0, 8, 32) == 0, "portable isa: no repacked copy");
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

static void test_golden_files(void) {
    static const qc_golden files[] = {
        {"models/synthetic/synth-A-q8_0.gguf", 1}, {"models/synthetic/synth-A-q4_0.gguf", 1},
    };
    qc_golden_files(files, (int)(sizeof files / sizeof files[0]));
}

/* The eight-wide and repacked kernels and the ISAs' agreement, run on each
 * kernel path this CPU has (qc_each_path). */
static void kernel_checks(void) {
    test_matmul8();
    test_repack();
    qc_isa_agree(types, NTYPES);
}

int main(void) {
    vd_init();
    test_table();
    test_half();
    test_layouts();
    test_simple_quantizers();
    test_roundtrip();
    test_act_q8_0();
    test_act_float();
    test_matmul();
    qc_each_path(kernel_checks);
    test_f32_helpers();
    test_golden_files();
    return check_done();
}
