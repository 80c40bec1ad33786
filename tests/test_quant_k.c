/* test_quant_k: qtypes and vecdot for the K-quants (Q4_K, Q5_K, Q6_K, and
 * Q8_K, their activation type): block layouts, quantizer accuracy, Q8_K
 * activation rounding, every matmul kernel on every ISA this CPU has, the
 * repacked Q4_K rows and the golden files. test_quant.c has the float and
 * 32-element block types; the matmul harness both use is quant_check.h.
 * Expected values come from the GGUF block layouts restated here in a
 * different form than qtypes.c uses, or from float64 references. */
#include "quant_check.h"

static const int types[] = {QT_Q4_K, QT_Q5_K, QT_Q6_K};
#define NTYPES (int)(sizeof types / sizeof types[0])

/* ---- dequantizer layouts on hand-built blocks ------------------------------- */

static void test_layouts(void) {
    float y[256];
    int ok;
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
}

/* ---- quantizers ---------------------------------------------------------------- */

static void test_roundtrip(void) {
    static const qc_bound b[] = { {QT_Q6_K, 0.02}, {QT_Q5_K, 0.039}, {QT_Q4_K, 0.076} };
    qc_roundtrip(b, (int)(sizeof b / sizeof b[0]));
    qc_zero_rows(types, NTYPES);
    /* A row with one outlier per block must still code the rest sensibly. */
    enum { N = 256 * 64 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    void *q = malloc(N * 4);
    fill_normal(x, N, 1);
    for (int k = 0; k < N; k += 256) x[k + 7] = 40;
    qt_quantize_row(QT_Q4_K, x, q, N);
    qt_dequantize_row(QT_Q4_K, q, y, N);
    double worst = 0;
    for (int k = 0; k < N; k++) worst = fmax(worst, fabs(y[k] - x[k]));
    CHECK(worst < 2.0, "q4_K with outliers: worst abs error %g", worst);
    free(x); free(y); free(q);
}

/* Small weights (block maxima below about 0.25) give the K-quants an
 * fp16-subnormal super-scale d, rounded by up to a few percent: each
 * sub-block's scale must still be chosen inside its range (a scale rounded
 * to 128 or 64 used to leave no candidate, and the sub-block was coded as
 * zeros: 9 of 1024 Q6_K groups at sigma 0.0016, 84 Q5_K ones at 1e-4). */
static void test_subnormal_scales(void) {
    static const int kt[] = {QT_Q4_K, QT_Q5_K, QT_Q6_K};
    enum { N = 256 * 64 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    void *q = malloc(N * 4);
    for (int ti = 0; ti < 3; ti++)
        for (float sigma = 1e-4f; sigma < 2e-3f; sigma *= 4) {
            fill_normal(x, N, sigma);
            qt_quantize_row(kt[ti], x, q, N);
            qt_dequantize_row(kt[ti], q, y, N);
            int zero = 0;
            double worst = 0;
            for (int g = 0; g < N / 16; g++) {
                int allz = 1;
                double e = 0, s = 0;
                for (int k = 16 * g; k < 16 * g + 16; k++) {
                    allz &= y[k] == 0;
                    e += (double)(y[k] - x[k]) * (y[k] - x[k]); s += (double)x[k] * x[k];
                }
                zero += allz;
                worst = fmax(worst, sqrt(e / s));
            }
            CHECK(zero == 0 && worst < 0.5, "%s sigma %g (subnormal d): %d sub-blocks of 16 coded as zero, "
                  "worst relative rms %.3f", qt_get(kt[ti])->name, sigma, zero, worst);
        }
    free(x); free(y); free(q);
}

/* ---- activation rounding ---------------------------------------------------- */

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
}

/* ---- matmul ------------------------------------------------------------------ */

static void test_matmul(void) {
    qc_matmul(types, NTYPES);
    qc_matmul_tiled(QT_Q4_K, 8192, 2, 70, "q4_K");
}

/* Rows repacked by eight (Q4_K super-blocks), where this CPU has the kernel. */
static void test_repack(void) {
    static const qc_shape kshapes[] = {
        {256, 8, 0, 8, 1}, {512, 17, 0, 16, 2}, {768, 24, 8, 24, 3}, {256, 16, 0, 16, 4}, {512, 9, 0, 8, 7},
        {512, 40, 0, 40, 19},   /* the AMX kernel (sixteen) and the VNNI rest */
        {512, 40, 0, 40, 31},   /* a sixteen and a zero-padded one of 15 (vd_r8_amx_tail) */
        {2048, 264, 0, 264, 28}, /* a sixteen and a VNNI rest of 12 (6 + 6) after it, two blocks of rows */
    };
    if (!vd_repack_size(QT_Q4_0, 8, 32)) {
        printf("# no repacked kernels on %s: repack checks skipped\n", vd_isa_name(vd_isa()));
        return;
    }
    CHECK(vd_repack_size(QT_Q4_K, 17, 512) == 2 * 2 * sizeof(vd_block_q4_Kx8), "Q4_K: two groups of two super-blocks");
    for (size_t s = 0; s < sizeof kshapes / sizeof kshapes[0]; s++) qc_repack(QT_Q4_K, &kshapes[s]);
}

static void test_golden_files(void) {
    static const qc_golden files[] = {
        {"models/synthetic/synth-A-q4_k.gguf", 0}, {"models/synthetic/synth-A-q6_k.gguf", 0},
    };
    qc_golden_files(files, (int)(sizeof files / sizeof files[0]));
}

/* The eight-wide and repacked kernels and the ISAs' agreement, run on each
 * kernel path this CPU has (qc_each_path). */
static void kernel_checks(void) {
    qc_matmul8(types, NTYPES);
    test_repack();
    qc_isa_agree(types, NTYPES);
}

int main(void) {
    vd_init();
    test_layouts();
    test_roundtrip();
    test_subnormal_scales();
    test_act_q8_K();
    test_matmul();
    qc_each_path(kernel_checks);
    test_golden_files();
    return check_done();
}
