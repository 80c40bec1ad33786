/* quant_check.h: what test_quant.c (float and 32-block types) and
 * test_quant_k.c (K-quants) share: a seeded random source, and the matmul
 * harness (a case of quantized weights and activations, its float64
 * reference, the checks of vd_matmul / vd_matmul8 / vd_matmul_r8 against it),
 * and the case loops both files run over their own list of types. */
#ifndef QUANT_CHECK_H
#define QUANT_CHECK_H
#include "check.h"
#include "gguf.h"
#include "qtypes.h"
#include "vecdot.h"
#include <math.h>
#include <stdint.h>

/* ---- helpers ---------------------------------------------------------------- */
/* The kernel path qc_each_path runs the checks on, for their messages. */
static const char *qc_path_tag = "";

/* Runs fn on every kernel path this CPU runs above portable (vecdot.h:
 * AVX2 alone, AVX-VNNI, AVX-512 alone, AVX512-VNNI, AMX; a CPU without the
 * higher ones runs the lower), with qc_path_tag naming it, then goes back to
 * the best path. Returns how many paths ran. */
static inline int qc_each_path(void (*fn)(void)) {
    int npath = 0;
    for (int p = VD_PATH_AVX2; p < VD_NPATHS; p++) {
        if (!vd_set_path(p)) continue;
        npath++;
        qc_path_tag = vd_path_name(p);
        CHECK(vd_path() == p && vd_isa() == vd_isa_best(), "path %s in use after vd_set_path (%s)", qc_path_tag,
              vd_path_name(vd_path()));
        fn();
    }
    printf("# kernel paths tested: %d of the %d above portable\n", npath, VD_NPATHS - 1);
    vd_set_path(vd_path_best());
    qc_path_tag = "";
    return npath;
}


static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static inline uint32_t rnd_u32(void) {
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}
static inline double rnd_unit(void) { return (rnd_u32() + 0.5) / 4294967296.0; }
static inline float rnd_normal(void) {
    return (float)(sqrt(-2 * log(rnd_unit())) * cos(6.283185307179586 * rnd_unit()));
}
static inline void fill_normal(float *x, int64_t n, float sigma) {
    for (int64_t i = 0; i < n; i++) x[i] = sigma * rnd_normal();
}

/* ---- matmul ------------------------------------------------------------------ */


/* ---- matmul ------------------------------------------------------------------ */

typedef struct {
    int t;
    int64_t cols, rows;
    int nact;
    void *w, *xq;
    double *ref;      /* (nact, rows) exact dot of dequantized values */
    double *mag;      /* (nact, rows) sum |w x|, for tolerances */
} mm_case;

static inline void mm_setup(mm_case *c, int t, int64_t cols, int64_t rows, int nact) {
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

static inline void mm_free(mm_case *c) { free(c->w); free(c->xq); free(c->ref); free(c->mag); }

/* Checks y (stride ldy > rows) after a product of rows [r0, r1): every value
 * written against the float64 reference, and nothing else touched (the
 * caller filled y with -12345). Returns the number of bad values. */
static inline int mm_verify(const mm_case *c, const float *y, int64_t ldy, int64_t r0, int64_t r1, const char *what) {
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

static inline float *mm_out(const mm_case *c, int64_t ldy) {
    float *y = malloc((size_t)(ldy * c->nact) * sizeof *y);
    for (int64_t i = 0; i < ldy * c->nact; i++) y[i] = -12345.0f;
    return y;
}

/* Runs rows [r0, r1) through vd_matmul and checks them (mm_verify). */
static inline int mm_check(const mm_case *c, int64_t r0, int64_t r1, const char *isa) {
    int64_t ldy = c->rows + 3;
    float *y = mm_out(c, ldy);
    vd_matmul(c->t, c->w, c->cols, r0, r1, c->xq, c->nact, y, ldy);
    int bad = mm_verify(c, y, ldy, r0, r1, isa);
    free(y);
    return bad;
}

/* vd_matmul8 (eight activations interleaved) on the same case, where this
 * CPU has the kernel: the same tolerance, nothing outside [r0, r1) written. */
static inline int mm_check8(const mm_case *c, int64_t r0, int64_t r1) {
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

/* ---- case loops, over the caller's types -------------------------------------- */

/* Relative RMS error of quantize->dequantize on N(0, 1) data (and a scaled
 * copy), for each type against its bound. */
typedef struct { int t; double bound; } qc_bound;
static inline void qc_roundtrip(const qc_bound *b, int nb) {
    enum { N = 256 * 64 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    void *q = malloc(N * 4);
    for (int i = 0; i < nb; i++) {
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
    free(x); free(y); free(q);
}

/* All-zero rows stay zero, with no nan, for each type. */
static inline void qc_zero_rows(const int *types, int n) {
    float z[512] = {0}, zy[512];
    uint8_t buf[2048];
    for (int t = 0; t < n; t++) {
        qt_quantize_row(types[t], z, buf, 512);
        qt_dequantize_row(types[t], buf, zy, 512);
        int ok = 1;
        for (int i = 0; i < 512; i++) ok &= zy[i] == 0;
        CHECK(ok, "zero row %s", qt_get(types[t])->name);
    }
}

/* vd_matmul on every ISA: (cols for 256-blocks, cols for 32-blocks): tiles
 * 4x1 + 1x1, 4x1 + 3x1, 2x2 + 2x1, 1x4 + 1x1, odd row ranges, odd block
 * counts (1, 3, 5 blocks); float types also every tail length. */
static inline void qc_matmul(const int *types, int n) {
    int best = vd_isa_best();
    static const struct { int64_t cols, cols32, rows; int nact; int64_t r0, r1; } shapes[] = {
        {256, 32, 9, 1, 0, 9}, {512, 96, 7, 8, 0, 7}, {768, 160, 11, 5, 3, 10},
        {256, 64, 6, 3, 5, 6}, {1024, 288, 4, 13, 1, 3}, {512, 96, 5, 2, 0, 5},
        {256, 256, 4, 4, 2, 4}, {512, 32, 7, 1, 0, 7}, {256, 96, 6, 2, 1, 6},
        {256, 160, 8, 6, 0, 8},
    };
    static const int64_t oddcols[] = {1, 7, 8, 9, 15, 17, 31, 33, 63, 65, 100, 259};
    for (int ti = 0; ti < n; ti++) {
        int t = types[ti];
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
    vd_init();
}

/* Enough activations that vd_matmul makes several passes (activation tiles). */
static inline void qc_matmul_tiled(int t, int64_t cols, int64_t rows, int nact, const char *what) {
    mm_case c;
    mm_setup(&c, t, cols, rows, nact);
    for (int isa = VD_PORTABLE; isa <= vd_isa_best(); isa++) {
        vd_set_isa(isa);
        CHECK(mm_check(&c, 0, rows, vd_isa_name(isa)) == 0, "tiled %s matmul on %s", what, vd_isa_name(isa));
    }
    mm_free(&c);
    vd_init();
}

/* Eight-wide kernels: partial and several chunks (5..17 activations), odd
 * row ranges and block counts; below VD_X8_MIN there is no packed path. */
static inline void qc_matmul8(const int *types, int n) {
    static const struct { int64_t cols, rows; int nact; int64_t r0, r1; } shapes[] = {
        {32, 3, 5, 0, 3}, {96, 7, 8, 1, 6}, {160, 9, 9, 0, 9}, {2048, 5, 16, 2, 5}, {288, 4, 17, 0, 4},
    };
    int any = 0;
    for (int ti = 0; ti < n; ti++) {
        int t = types[ti];
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
            CHECK(bad == 0, "matmul8 %s %s cols %lld nact %d rows [%lld,%lld): %d bad", qc_path_tag, qt_get(t)->name,
                  (long long)shapes[s].cols, shapes[s].nact, (long long)shapes[s].r0,
                  (long long)shapes[s].r1, bad);
            mm_free(&c);
        }
    }
    if (!any) printf("# no eight-wide kernels for these types on %s: matmul8 checks skipped\n", vd_isa_name(vd_isa()));
}

/* Rows repacked by eight (vd_repack + vd_matmul_r8) of type t: every whole
 * group against the float64 reference, sub-ranges of groups, and nothing
 * written outside the range. */
typedef struct { int64_t cols, rows, r0, r1; int nact; } qc_shape;
static inline void qc_repack(int t, const qc_shape *sh) {
    mm_case c;
    mm_setup(&c, t, sh->cols, sh->rows, sh->nact);
    void *wr = malloc(vd_repack_size(t, c.rows, c.cols));
    vd_repack(t, c.w, c.rows, c.cols, wr);
    int64_t ldy = c.rows + 8;
    float *y = mm_out(&c, ldy);
    vd_matmul_r8(t, wr, c.cols, sh->r0, sh->r1, c.xq, c.nact, y, ldy);
    int bad = mm_verify(&c, y, ldy, sh->r0, sh->r1, "r8");
    CHECK(bad == 0, "repacked %s %s cols %lld rows [%lld,%lld) of %lld, %d activations: %d bad", qc_path_tag, qt_get(t)->name,
          (long long)c.cols, (long long)sh->r0, (long long)sh->r1, (long long)c.rows, c.nact, bad);
    free(y); free(wr);
    mm_free(&c);
}

/* Every ISA against the portable path on identical inputs (no quantization
 * noise in the comparison), with extreme codes: all-max weights and acts. */
static inline void qc_isa_agree(const int *types, int n) {
    int best = vd_isa_best();
    for (int ti = 0; ti < n; ti++) {
        int t = types[ti];
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
            CHECK(bad == 0, "%s vs portable, %s, raw blocks (path %s): %d bad", vd_isa_name(isa), qt_get(t)->name, qc_path_tag, bad);
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
                  qt_get(t)->name, qc_path_tag, bad);
            free(x8);
        }
        free(w); free(x); free(xf);
    }
    vd_init();
}

/* Golden: llama-quantize --pure made the synthetic files from weights that
 * synth-A-f16.gguf holds exactly (golden README, section 4). Our Q8_0/Q4_0
 * quantizers follow the published reference scheme and must reproduce its
 * bytes; our K-quant search must be at least about as accurate as llama.cpp's. */
typedef struct { const char *file; int exact; } qc_golden;
static inline void qc_golden_files(const qc_golden *files, int nfiles) {
    char path[512], err[256];
    gguf *src;
    if (gguf_open(&src, check_path(path, sizeof path, "models/synthetic/synth-A-f16.gguf"), err, sizeof err)) {
        printf("# skip golden quantizer checks: %s\n", err);
        return;
    }
    for (int f = 0; f < nfiles; f++) {
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
#endif
