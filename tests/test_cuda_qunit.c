/* The CUDA backend's block decoders (kernels/cuda/qunit.cuh, compiled here as
 * plain C) against the CPU reference: for every quantized weight type,
 * dequantizing unit by unit equals qt_dequantize_row bit for bit, and the sum
 * of the units' integer dot products against activations rounded by
 * vd_quantize_act equals the CPU's vd_matmul up to float summation order.
 * Needs no GPU: it pins the bit layouts the device kernels rely on. */
#include "check.h"
#include "qtypes.h"
#include "vecdot.h"
#include "../kernels/cuda/qunit.cuh"
#include <math.h>

#define COLS 512   /* two K-quant super-blocks, sixteen 32-blocks */
#define ROWS 8

static uint64_t rng = 88172645463325252ull;
static float frand(void) {   /* xorshift64, uniform in [-1, 1) */
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)(rng >> 40) / (float)(1 << 23) - 1.0f;
}

/* Activation unit u of a row rounded by vd_quantize_act, in the form qu_dot
 * takes (the device keeps activations in the same form). */
static void act_unit(int wtype, const void *xq, int u, int32_t x[8], float *dx, int32_t *xsum) {
    if (qt_get(wtype)->act_type == QT_Q8_0) {
        const qt_block_q8_0 *b = (const qt_block_q8_0 *)xq + u;
        memcpy(x, b->qs, 32);
        *dx = qt_f16_to_f32(b->d);
        *xsum = 0;
    } else {
        const qt_block_q8_K *b = (const qt_block_q8_K *)xq + u / 8;
        int j = u % 8;
        memcpy(x, b->qs + 32 * j, 32);
        *dx = b->d;
        *xsum = b->bsums[2 * j] + b->bsums[2 * j + 1];
    }
}

static void check_type(int type) {
    const char *name = qt_get(type)->name;
    size_t rs = qt_row_size(type, COLS);
    uint8_t *w = malloc(rs * ROWS), xq[COLS * 2];
    float src[COLS], ref[COLS], got[COLS], x[COLS];
    int exact = 1;
    double worst = 0;
    for (int r = 0; r < ROWS; r++) {
        /* rows of different scales; within a row every 32 elements get their own
         * spread and offset, so that the 6-bit sub-block scales and mins take
         * all their bits; row 7 starts with a constant stretch (flat sub-blocks) */
        float amp = r == 0 ? 1e-3f : (float)(r + 1), spread = 1, off = 0;
        for (int i = 0; i < COLS; i++) {
            if (i % 32 == 0) { spread = 0.02f + fabsf(frand()); off = 0.5f * frand(); }
            src[i] = r == 7 && i < 64 ? 0.25f : amp * (spread * frand() + off);
        }
        uint8_t *row = w + rs * r;
        qt_quantize_row(type, src, row, COLS);
        qt_dequantize_row(type, row, ref, COLS);
        for (int u = 0; u < COLS / 32; u++) {
            qunit q;
            qu_load(type, row, u, &q);
            qu_deq(&q, got + 32 * u);
        }
        for (int i = 0; i < COLS; i++)
            if (memcmp(&ref[i], &got[i], 4)) {
                if (exact) fprintf(stderr, "%s row %d elem %d: %g vs %g\n", name, r, i, ref[i], got[i]);
                exact = 0;
            }

        for (int i = 0; i < COLS; i++) x[i] = frand() * (i % 7 == 0 ? 4.0f : 1.0f);
        vd_quantize_act(type, x, xq, COLS);
        float y = 0, sum = 0, mag = 0;
        vd_matmul(type, row, COLS, 0, 1, xq, 1, &y, 1);
        for (int u = 0; u < COLS / 32; u++) {
            qunit q;
            int32_t xi[8], xs;
            float dx;
            qu_load(type, row, u, &q);
            act_unit(type, xq, u, xi, &dx, &xs);
            float part = qu_dot(&q, xi, dx, xs);
            sum += part;
            mag += fabsf(part);
        }
        double rel = fabs((double)sum - y) / (mag > 0 ? mag : 1);
        if (rel > worst) worst = rel;
    }
    CHECK(exact, "%s: unit dequantization equals qt_dequantize_row bit for bit", name);
    CHECK(worst < 1e-5, "%s: unit dot products equal vd_matmul (rel. diff %.3g)", name, worst);
    free(w);
}

int main(void) {
    vd_init();
    const int types[] = { QT_Q8_0, QT_Q4_0, QT_Q5_0, QT_Q4_K, QT_Q5_K, QT_Q6_K };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) check_type(types[i]);
    /* the header's own ids must be ggml's */
    static const int ids[][2] = { {QU_Q8_0, QT_Q8_0}, {QU_Q4_0, QT_Q4_0}, {QU_Q5_0, QT_Q5_0},
        {QU_Q4_K, QT_Q4_K}, {QU_Q5_K, QT_Q5_K}, {QU_Q6_K, QT_Q6_K}, {QU_F16, QT_F16},
        {QU_BF16, QT_BF16}, {QU_F32, QT_F32} };
    int same = 1;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) same &= ids[i][0] == ids[i][1];
    CHECK(same, "qunit type ids are ggml's");
    /* byte-lane helpers at their extremes */
    CHECK(qu_subb(0x0f000f00u, 8) == (int32_t)0x07f807f8, "qu_subb keeps bytes apart");
    CHECK(qu_subb(0x3f1f0020u, 32) == (int32_t)0x1fffe000, "qu_subb: 63, 31, 0, 32 minus 32");
    CHECK(qu_spread4(15) == 0x10101010u, "qu_spread4 sets bit 4 of every byte");
    CHECK(qu_dp4a((int32_t)0x80ff7f01, (int32_t)0x7f7f7f7f, 5) == 5 + 127 * (-128 - 1 + 127 + 1),
          "qu_dp4a multiplies signed bytes");
    return check_done();
}
