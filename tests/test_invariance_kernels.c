/* Batch, path and thread-count invariance of the kernels (docs/architecture.md,
 * "Batch invariance"; the engine's side: test_invariance_engine.c).
 *
 * For every weight type, vd_matmul (every tile shape), the eight-wide and
 * the repacked kernels give bitwise the same outputs as the portable kernel
 * (the one order of vecdot.h); AVX-512's float tiles (their own order)
 * agree with themselves across batch sizes. Attention's many-row and
 * several-query kernels equal the per-position ones, on every ISA. The CPU
 * backend's checked product (the logits: non-finite outputs found by the
 * threads slice by slice) gives the plain product's bits and finds the
 * first bad row wherever the bad value sits. */
#include "backend.h"
#include "backend_cpu_impl.h"
#include "check.h"
#include "invariance.h"
#include "model.h"
#include "qtypes.h"
#include "vecdot.h"
#include <float.h>
#include <math.h>

/* Extreme data (kernel_case): in every 16 weights one -1 and fifteen
 * 0.99, so the others quantize to a type's largest unsigned code (Q4_0 15,
 * Q5_0 / Q5_K 31, Q6_K 63), against activations all +1 or all -1 (codes
 * +-127, or -128 where Q8_K rounds so): the int16 pairs of the AVX2
 * kernels are at their largest, where adding one more before widening would
 * wrap (random data never gets there). */
static bool extreme;

/* y (nact, rows) by the kernels the CPU backend may pick for nact rows. */
static void kernel_case(int type, int64_t rows, int64_t cols) {
    const char *name = qt_get(type)->name;
    size_t wrs = qt_row_size(type, cols), xrs = vd_act_row_size(type, cols);
    float *wf = malloc(sizeof(float) * (size_t)(rows * cols));
    char *w = malloc(wrs * (size_t)rows);
    for (int64_t i = 0; i < rows * cols; i++) wf[i] = !extreme ? frnd() : i % 16 ? 0.99f : -1.0f;
    for (int64_t r = 0; r < rows; r++) qt_quantize_row(type, wf + r * cols, w + (size_t)r * wrs, cols);
    enum { NA = 20 };
    float *xf = malloc(sizeof(float) * NA * (size_t)cols);
    for (int64_t i = 0; i < NA * cols; i++) xf[i] = !extreme ? frnd() * 3 : i / cols % 2 ? -1.0f : 1.0f;
    char *xq = malloc(xrs * NA);
    float *ref = malloc(sizeof(float) * NA * (size_t)rows), *y = malloc(sizeof(float) * NA * (size_t)rows);
    int best = vd_isa_best();
    /* portable, one activation at a time: the definition of the order */
    vd_set_isa(VD_PORTABLE);
    for (int j = 0; j < NA; j++) vd_quantize_act(type, xf + j * cols, xq + (size_t)j * xrs, cols);
    for (int j = 0; j < NA; j++) vd_matmul(type, w, cols, 0, rows, xq + (size_t)j * xrs, 1, ref + j * rows, rows);
    bool flt = type == QT_F32 || type == QT_F16 || type == QT_BF16;
    /* every kernel path this CPU runs (vecdot.h); the float tiles depend on
     * the ISA level alone: once per level */
    for (int path = VD_PATH_AVX2; path < VD_NPATHS; path++) {
        if ((flt && (path == VD_PATH_AVXVNNI || (path == VD_PATH_AVX512 && vd_path_ok(VD_PATH_AVX512VNNI)))) ||
            !vd_set_path(path))
            continue;
        int isa = vd_isa();
        /* AVX-512 float tiles keep their own order: compared with nact = 1 */
        bool own = isa == VD_AVX512 && flt;
        float *r0 = ref;
        if (own) {
            r0 = malloc(sizeof(float) * NA * (size_t)rows);
            for (int j = 0; j < NA; j++) vd_matmul(type, w, cols, 0, rows, xq + (size_t)j * xrs, 1, r0 + j * rows, rows);
        }
        int bad = 0;
        double md = 0;
        for (int nact = 1; nact <= NA; nact++) {
            /* tiles over uneven row ranges */
            memset(y, 0xff, sizeof(float) * NA * (size_t)rows);
            int64_t cut = rnd((uint32_t)rows);
            vd_matmul(type, w, cols, 0, cut, xq, nact, y, rows);
            vd_matmul(type, w, cols, cut, rows, xq, nact, y, rows);
            for (int j = 0; j < nact; j++)
                if (memcmp(y + j * rows, r0 + j * rows, sizeof(float) * (size_t)rows)) {
                    bad++; double d = maxdiff(y + j * rows, r0 + j * rows, (size_t)rows); md = d > md ? d : md;
                }
            size_t s8 = vd_act8_size(type, cols, nact);
            if (s8) {
                void *x8 = malloc(s8);
                vd_act8_pack(type, xq, nact, cols, x8);
                for (unsigned fl = 0; fl <= (type == QT_Q8_0 ? VD_W_NO_MIN : 0u); fl++) {
                    memset(y, 0xff, sizeof(float) * NA * (size_t)rows);
                    vd_matmul8(type, w, cols, 0, rows, x8, nact, y, rows, fl);
                    for (int j = 0; j < nact; j++)
                        bad += memcmp(y + j * rows, r0 + j * rows, sizeof(float) * (size_t)rows) != 0;
                }
                free(x8);
            }
            size_t sr = vd_repack_size(type, rows, cols);
            if (sr) {
                void *wr = malloc(sr);
                vd_repack(type, w, rows, cols, wr);
                memset(y, 0xff, sizeof(float) * NA * (size_t)rows);
                int64_t e = rows / 8 * 8;
                vd_matmul_r8(type, wr, cols, 0, e, xq, nact, y, rows);
                vd_matmul(type, w, cols, e, rows, xq, nact, y, rows);
                for (int j = 0; j < nact; j++)
                    bad += memcmp(y + j * rows, r0 + j * rows, sizeof(float) * (size_t)rows) != 0;
                free(wr);
            }
        }
        CHECK(bad == 0, "kernels %s %s (%lldx%lld%s): %d rows of outputs differ from %s (max %.3g)", name,
              vd_path_name(path), (long long)rows, (long long)cols, extreme ? ", extreme codes" : "", bad,
              own ? "nact 1" : "portable", md);
        if (own) free(r0);
    }
    vd_set_path(vd_path_best());
    vd_set_isa(best);
    free(wf); free(w); free(xf); free(xq); free(ref); free(y);
}

/* Batches around the AMX kernels' sixteen (vecdot_r8_amx.c, vd_matmul_r8p):
 * 67 = four sixteens by AMX tiles + 3 by the VNNI kernel; 22 = 16 + 6
 * (VNNI rest); 31, 25, 47 and 24 = whole sixteens + one zero-padded sixteen
 * of 15, 9, 15 and 8 real rows (vd_r8_amx_tail; Q4_K 31 too); 17 = 16 + 1 (the one-activation
 * form as the rest); 13 and 11 alone (a padded sixteen; VNNI chunks).
 * Every activation's outputs must be memcmp-equal to the same activation's
 * product alone (one activation: the 256-bit VNNI form), on the best path
 * and on avx512-vnni (whose batch is VNNI throughout). Rows: 40 = two pairs
 * of groups and an odd group (the padded sixteen's VNNI tail too); cols
 * 288 = nine blocks (odd: the two tile sets end on either), 512 for the
 * K-quant, and Q4_0 at 2080 = 65 blocks (the padded copy on the heap, past
 * the 32-block window: a window's sums wait in y). */
static void amx_mix_case(void) {
    /* rows 0: 40 (two pairs and an odd group). A VNNI rest of 4-5 past
     * whole sixteens (Q4_K: 4-12) runs after the AMX calls over about
     * VD_R8_AMX_REST_BYTES of weights: 20 and 67's 3 (with them) at 40
     * rows, and at 2048 columns over 264 or 520 rows (21, 37), two to four such
     * blocks of rows, the last with the odd group. Past three whole
     * sixteens a rest pads from VD_R8_AMX_PAD as anywhere (56, 59 and 62:
     * session 14 tried VNNI there, see docs/architecture.md). Alone, Q4_0 pads from 10 (9 VNNI), Q8_0 from 12
     * (11 VNNI). 22 = 16 + 6: the least padded rest (VD_R8_AMX_PAD) */
    static const struct { int type; int64_t cols; int na, rows; } T[] = {
        {QT_Q4_0, 288, 67, 0}, {QT_Q8_0, 288, 67, 0}, {QT_Q4_K, 512, 67, 0}, {QT_Q4_0, 288, 22, 0}, {QT_Q4_0, 288, 31, 0},
        {QT_Q8_0, 288, 25, 0}, {QT_Q8_0, 288, 47, 0}, {QT_Q4_0, 288, 17, 0}, {QT_Q8_0, 288, 13, 0}, {QT_Q4_0, 288, 11, 0},
        {QT_Q4_0, 2080, 27, 0}, {QT_Q8_0, 288, 24, 0}, {QT_Q4_K, 512, 31, 0}, {QT_Q4_0, 288, 20, 0},
        {QT_Q4_0, 2048, 21, 520}, {QT_Q8_0, 2048, 37, 264}, {QT_Q4_K, 2048, 28, 264},
        {QT_Q8_0, 288, 56, 0}, {QT_Q4_0, 288, 59, 0}, {QT_Q4_0, 288, 62, 0},
        {QT_Q4_0, 288, 9, 0}, {QT_Q4_0, 288, 10, 0}, {QT_Q8_0, 288, 11, 0},
    };
    for (size_t ti = 0; ti < sizeof T / sizeof T[0]; ti++) {
        int type = T[ti].type, NA = T[ti].na, ROWS = T[ti].rows ? T[ti].rows : 40;
        int64_t cols = T[ti].cols;
        size_t wrs = qt_row_size(type, cols), xrs = vd_act_row_size(type, cols);
        float *f = malloc(sizeof(float) * (size_t)cols);
        char *w = malloc(wrs * ROWS), *xq = malloc(xrs * (size_t)NA);
        for (int r = 0; r < ROWS; r++) {
            for (int64_t i = 0; i < cols; i++) f[i] = frnd();
            qt_quantize_row(type, f, w + (size_t)r * wrs, cols);
        }
        for (int j = 0; j < NA; j++) {
            for (int64_t i = 0; i < cols; i++) f[i] = frnd() * 3;
            vd_quantize_act(type, f, xq + (size_t)j * xrs, cols);
        }
        float *y = malloc(sizeof(float) * (size_t)NA * ROWS), *y1 = malloc(sizeof(float) * ROWS);
        for (int path = VD_PATH_AVX512VNNI; path < VD_NPATHS; path++) {
            if (!vd_set_path(path)) continue;
            size_t sr = vd_repack_size(type, ROWS, cols);
            void *wr = malloc(sr);
            vd_repack(type, w, ROWS, cols, wr);
            memset(y, 0xff, sizeof(float) * (size_t)NA * ROWS);   /* NaN: a row left unwritten fails */
            vd_matmul_r8(type, wr, cols, 0, ROWS, xq, NA, y, ROWS);
            int bad = 0;
            for (int j = 0; j < NA; j++) {
                vd_matmul_r8(type, wr, cols, 0, ROWS, xq + (size_t)j * xrs, 1, y1, ROWS);
                bad += memcmp(y + j * ROWS, y1, sizeof(float) * ROWS) != 0;
            }
            CHECK(bad == 0, "%s cols %d %s: %d of %d activations in a batch of %d (width %d) differ from alone",
                  qt_get(type)->name, (int)cols, vd_path_name(path), bad, NA, NA, vd_r8_width(type));
            /* the backend's form: the terms and the padded sixteen built
             * once (vd_r8_prep, vd_r8_pad), the rows in chunks of 16 + 24
             * (a chunk per thread), each a call given them */
            int64_t nb = vd_r8_prep_blocks(type, cols);
            size_t ps = vd_r8_pad_size(type, cols, NA);
            int rest = NA % 16;
            int least = NA >= 16 ? VD_R8_AMX_PAD
                      : type == QT_Q4_0 ? VD_R8_AMX_PAD_ALONE_Q4 : VD_R8_AMX_PAD_ALONE;
            bool want = path == VD_PATH_AMX && (type == QT_Q4_K ? NA >= 16 && rest >= VD_R8_AMX_PAD_K : rest >= least);
            CHECK((ps > 0) == want, "%s %s batch %d: padded sixteen %zu bytes, want %s", qt_get(type)->name,
                  vd_path_name(path), NA, ps, want ? "one" : "none");
            {   /* K-quants: no terms (NULL) */
                int32_t *off = nb ? malloc(sizeof *off * (size_t)(NA * nb)) : NULL;
                float *dx = nb ? malloc(sizeof *dx * (size_t)(NA * nb)) : NULL, *y2 = malloc(sizeof(float) * (size_t)NA * ROWS);
                void *pad = ps ? malloc(ps) : NULL;
                if (nb) vd_r8_prep(type, xq, cols, 0, NA, off, dx);
                if (pad) vd_r8_pad(type, xq, cols, NA, off, dx, pad);
                memset(y2, 0xff, sizeof(float) * (size_t)NA * ROWS);
                vd_matmul_r8p_pad(type, wr, cols, 0, 16, xq, NA, off, dx, pad, y2, ROWS);
                vd_matmul_r8p_pad(type, wr, cols, 16, ROWS, xq, NA, off, dx, pad, y2, ROWS);
                CHECK(!memcmp(y, y2, sizeof(float) * (size_t)NA * ROWS),
                      "%s cols %d %s batch %d: the product from a padded sixteen built once differs", qt_get(type)->name,
                      (int)cols, vd_path_name(path), NA);
                free(off); free(dx); free(y2); free(pad);
            }
            free(wr);
        }
        vd_set_path(vd_path_best());
        free(f); free(w); free(xq); free(y); free(y1);
    }
}

/* Which repacked kernels serve which CPU (vd_r8_path): every combination of
 * ISA level and VNNI features, then this CPU with its features forced off
 * and back (a feature it lacks cannot be forced on), then every kernel
 * path (vecdot.h) this CPU runs. The AVX-VNNI kernels (vecdot_r8_avxvnni.c,
 * vecdot_r8v.h's source built for VEX) run where the CPU has AVX-VNNI;
 * tests/test_isa_objs.sh checks their encoding everywhere. */
static void dispatch_case(void) {
    static const struct { int isa; unsigned feat; int want; } T[] = {
        { VD_PORTABLE, 0, VD_R8_NONE },
        { VD_PORTABLE, VD_CPU_AVX512VNNI | VD_CPU_AVXVNNI, VD_R8_NONE },
        { VD_AVX2, 0, VD_R8_AVX2 },
        { VD_AVX2, VD_CPU_AVX512VNNI, VD_R8_AVX2 },
        { VD_AVX2, VD_CPU_AVXVNNI, VD_R8_AVXVNNI },
        { VD_AVX2, VD_CPU_AVX512VNNI | VD_CPU_AVXVNNI, VD_R8_AVXVNNI },
        { VD_AVX512, 0, VD_R8_AVX2 },
        { VD_AVX512, VD_CPU_AVXVNNI, VD_R8_AVXVNNI },
        { VD_AVX512, VD_CPU_AVX512VNNI, VD_R8_AVX512VNNI },
        { VD_AVX512, VD_CPU_AVX512VNNI | VD_CPU_AVXVNNI, VD_R8_AVX512VNNI },
        { VD_AVX512, VD_CPU_AVX512VNNI | VD_CPU_AMX, VD_R8_AMX },
        { VD_AVX512, VD_CPU_AMX, VD_R8_AVX2 },
        { VD_AVX2, VD_CPU_AVX512VNNI | VD_CPU_AVXVNNI | VD_CPU_AMX, VD_R8_AVXVNNI },
        { VD_PORTABLE, VD_CPU_AVX512VNNI | VD_CPU_AMX, VD_R8_NONE },
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        int got = vd_r8_path(T[i].isa, T[i].feat);
        CHECK(got == T[i].want, "vd_r8_path(%s, features %u) = %s, want %s", vd_isa_name(T[i].isa), T[i].feat,
              vd_r8_path_name(got), vd_r8_path_name(T[i].want));
    }
    unsigned all = vd_cpu_features();
    int best = vd_isa_best();
    CHECK(vd_set_cpu_features(0) == 0 && vd_cpu_features() == 0, "features forced off");
    if (best >= VD_AVX2)
        CHECK(vd_r8_width(QT_Q4_0) == VD_R8_NX, "VNNI off: the AVX2 repacked kernels (width %d)", vd_r8_width(QT_Q4_0));
    CHECK(vd_set_cpu_features(~0u) == all, "features back: %u, detected %u", vd_cpu_features(), all);
    if (vd_r8_path(best, all) >= VD_R8_AVXVNNI)
        CHECK(vd_r8_width(QT_Q4_0) == (vd_r8_path(best, all) == VD_R8_AMX ? VD_R8_AMX_NX : VD_R8V_NX) &&
                  vd_r8_width(QT_Q5_0) == VD_R8V_NX && vd_repack_size(QT_Q6_K, 8, 256) > 0,
              "%s: the VNNI repacked kernels (width %d)", vd_r8_path_name(vd_r8_path(best, all)), vd_r8_width(QT_Q4_0));
    CHECK(vd_set_cpu_features(VD_CPU_AVX512VNNI | VD_CPU_AVXVNNI | VD_CPU_AMX) == all, "forcing cannot add a feature");
    printf("# this CPU: %s, repacked kernels %s\n", vd_isa_name(best), vd_r8_path_name(vd_r8_path(best, all)));
    /* kernel paths (vecdot.h): names, which repacked kernels each runs, and
     * that vd_init (every CPU backend's) keeps the path set; a path this
     * CPU lacks is refused and changes nothing */
    static const int R8[VD_NPATHS] = { VD_R8_NONE, VD_R8_AVX2, VD_R8_AVXVNNI, VD_R8_AVX2, VD_R8_AVX512VNNI, VD_R8_AMX };
    int bestp = vd_path_best(), n = 0;
    char list[128] = "";
    CHECK(vd_path() == bestp && vd_path_ok(bestp) && !vd_path_ok(VD_NPATHS) && !vd_path_ok(-1),
          "best path %s in use (%s)", vd_path_name(bestp), vd_path_name(vd_path()));
    CHECK(vd_path_parse("AVX2") < 0 && vd_path_parse("") < 0 && vd_path_parse(NULL) < 0, "path names are exact");
    for (int p = 0; p < VD_NPATHS; p++) {
        CHECK(vd_path_parse(vd_path_name(p)) == p, "path %d named %s", p, vd_path_name(p));
        if (!vd_path_ok(p)) {
            CHECK(!vd_set_path(p) && vd_path() == bestp, "path %s refused", vd_path_name(p));
            continue;
        }
        CHECK(vd_set_path(p), "path %s set", vd_path_name(p));
        vd_init();
        int r8 = vd_r8_path(vd_isa(), vd_cpu_features());
        CHECK(vd_path() == p && r8 == R8[p], "path %s: in use %s, repacked kernels %s", vd_path_name(p),
              vd_path_name(vd_path()), vd_r8_path_name(r8));
        if (p >= VD_PATH_AVX2)
            CHECK(vd_r8_width(QT_Q5_0) == (p == VD_PATH_AVX2 || p == VD_PATH_AVX512 ? VD_R8_NX : VD_R8V_NX) &&
                      vd_r8_width(QT_Q4_K) == (p == VD_PATH_AMX ? VD_R8_AMX_NX : vd_r8_width(QT_Q5_0)) &&
                      vd_r8_width(QT_Q4_0) == vd_r8_width(QT_Q4_K) && vd_r8_width(QT_Q8_0) == vd_r8_width(QT_Q4_K),
                  "path %s: repacked width %d, Q4_K %d, Q4_0 %d, Q8_0 %d", vd_path_name(p), vd_r8_width(QT_Q5_0),
                  vd_r8_width(QT_Q4_K), vd_r8_width(QT_Q4_0), vd_r8_width(QT_Q8_0));
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", n++ ? ", " : "", vd_path_name(p));
    }
    CHECK(vd_set_path(bestp) && vd_path() == bestp && vd_cpu_features() == all && vd_isa() == best,
          "best path back: %s", vd_path_name(vd_path()));
    printf("# kernel paths this CPU runs: %s\n", list);
}

/* Element-wise steps: a value's result does not depend on its place. */
static void elementwise_case(void) {
    enum { N = 203 };
    float g[N], u[N], a[N], b[N];
    for (int i = 0; i < N; i++) { g[i] = frnd() * 8; u[i] = frnd(); }
    int bad = 0;
    for (int off = 0; off < 9; off++) {
        memcpy(a, g, sizeof g);
        vd_silu_mul(a + off, u + off, N - off);   /* every value at another lane / in the tail */
        for (int i = off; i < N; i++) {
            float one = g[i];
            vd_silu_mul(&one, &u[i], 1);
            bad += memcmp(&one, &a[i], sizeof one) != 0;
        }
        memcpy(b, g, sizeof g);
        vd_exp_f32(b + off, N - off);
        for (int i = off; i < N; i++) {
            float one = g[i];
            vd_exp_f32(&one, 1);
            bad += memcmp(&one, &b[i], sizeof one) != 0;
        }
    }
    CHECK(bad == 0, "silu/exp: %d values depend on their place in the call", bad);
}

/* The CPU backend's RMSNorm, residual add and RoPE (backend_cpu_avx512.c
 * where the CPU has AVX-512): bitwise the portable loops, on shapes with
 * whole and partial sixteens of rows (a rest of five or more rows padded
 * to sixteen lanes, fewer scalar), dims past and short of eight and
 * sixteen, a partial rotary dimension. */
static void backend_loops_case(void) {
    backend *b = backend_cpu_create(1, (be_kvgeom){ 1, 64, 16, 4, 4 });
    if (!b) { CHECK(0, "no CPU backend"); return; }
    static const int32_t shapes[][2] = { { 64, 288 }, { 37, 100 }, { 17, 45 }, { 5, 288 }, { 16, 7 }, { 22, 288 }, { 15, 33 }, { 4, 288 } };
    enum { MAXE = 64 * 288 + 64 };
    float *x = malloc(sizeof(float) * MAXE), *w = malloc(sizeof(float) * 288), *y[2], *z[2];
    for (int k = 0; k < 2; k++) { y[k] = malloc(sizeof(float) * MAXE); z[k] = malloc(sizeof(float) * MAXE); }
    for (int i = 0; i < MAXE; i++) x[i] = frnd() * (i % 13 == 0 ? 40.0f : 2.0f);
    for (int i = 0; i < 288; i++) w[i] = frnd() + 0.5f;
    int32_t pos[64];
    float inv_freq[32];
    for (int i = 0; i < 64; i++) pos[i] = (i * 37) % 500;
    for (int i = 0; i < 32; i++) inv_freq[i] = powf(10000.0f, -(float)i / 32);
    int best = vd_isa_best(), bad = 0, cases = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++, cases++) {
        int32_t n = shapes[s][0], d = shapes[s][1];
        for (int k = 0; k < 2; k++) {
            vd_set_isa(k ? best : VD_PORTABLE);
            b->ops->rmsnorm(b, y[k], x, w, n, d, 1e-5f);
            memcpy(z[k], x, sizeof(float) * (size_t)n * d);
            b->ops->add(b, z[k], x + 3, (size_t)n * d);   /* x += x shifted by three */
        }
        bad += memcmp(y[0], y[1], sizeof(float) * (size_t)n * d) != 0;
        bad += memcmp(z[0], z[1], sizeof(float) * (size_t)n * d) != 0;
    }
    static const int32_t ropes[][4] = { { 64, 6, 48, 48 }, { 3, 4, 64, 32 }, { 19, 2, 20, 20 }, { 5, 3, 36, 34 } };
    for (size_t s = 0; s < sizeof ropes / sizeof ropes[0]; s++, cases++) {
        int32_t n = ropes[s][0], nh = ropes[s][1], hd = ropes[s][2], rd = ropes[s][3];
        for (int k = 0; k < 2; k++) {
            vd_set_isa(k ? best : VD_PORTABLE);
            memcpy(y[k], x, sizeof(float) * (size_t)n * nh * hd);
            CHECK(b->ops->rope(b, y[k], n, nh, hd, rd, pos, inv_freq) == 0, "rope call");
        }
        bad += memcmp(y[0], y[1], sizeof(float) * (size_t)n * nh * hd) != 0;
    }
    vd_set_isa(best);
    CHECK(bad == 0, "backend rmsnorm/add/rope: %d of %d shapes differ between portable and %s", bad, cases,
          vd_isa_name(best));
    free(x); free(w);
    for (int k = 0; k < 2; k++) { free(y[k]); free(z[k]); }
    b->ops->destroy(b);
}

/* The backend's gated product (matmul_swiglu: both products and the SwiGLU
 * in one region, a chunk of rows gated as soon as it is computed) against
 * matmul then swiglu, at one and two threads, F32 and Q8_0, batch sizes
 * that leave a short last chunk. */
static void gated_case(void) {
    enum { R = 200, K = 96, MAXN = 40 };
    static const int types[] = { QT_F32, QT_Q8_0 };
    float *wf = malloc(sizeof(float) * 2 * R * K), *x = malloc(sizeof(float) * MAXN * K);
    float *g[2], *u[2];
    for (int k = 0; k < 2; k++) { g[k] = malloc(sizeof(float) * MAXN * R); u[k] = malloc(sizeof(float) * MAXN * R); }
    for (int i = 0; i < 2 * R * K; i++) wf[i] = frnd() * 0.3f;
    for (int i = 0; i < MAXN * K; i++) x[i] = frnd() * 2.0f;
    int bad = 0, cases = 0;
    for (int nth = 1; nth <= 2; nth++) {
        backend *b = backend_cpu_create(nth, (be_kvgeom){ 1, 64, 16, 4, 4 });
        if (!b) { CHECK(0, "no CPU backend"); break; }
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
            size_t rs = qt_row_size(types[t], K);
            char *wq = malloc(rs * 2 * R);
            for (int r = 0; r < 2 * R; r++) qt_quantize_row(types[t], wf + (size_t)r * K, wq + (size_t)r * rs, K);
            model_weight wg = { wq, types[t], R, K }, wu = { wq + rs * R, types[t], R, K };
            const model_weight *w2[2] = { &wg, &wu };
            static const int32_t ns[] = { 1, 3, 17, 40 };
            for (size_t s = 0; s < sizeof ns / sizeof ns[0]; s++, cases++) {
                int32_t n = ns[s];
                float *y[2] = { g[0], u[0] };
                CHECK(b->ops->matmul(b, 2, w2, x, n, y) == 0, "matmul");
                b->ops->swiglu(b, g[0], u[0], (size_t)n * R);
                CHECK(b->ops->matmul_swiglu && b->ops->matmul_swiglu(b, &wg, &wu, x, n, g[1], u[1]) == 0, "matmul_swiglu");
                bad += memcmp(g[0], g[1], sizeof(float) * (size_t)n * R) != 0;
            }
            free(wq);
        }
        b->ops->destroy(b);
    }
    CHECK(bad == 0, "matmul_swiglu: %d of %d products differ from matmul then swiglu", bad, cases);
    free(wf); free(x);
    for (int k = 0; k < 2; k++) { free(g[k]); free(u[k]); }
}

/* home_take (backend_cpu_impl.h), the split of the CPU backend's regions:
 * every element taken exactly once whichever threads come and in what
 * order, and a thread that comes first takes its own share first. */
static void home_case(void) {
    static const long ns[] = { 1, 7, 64, 100, 1537 }, steps[] = { 1, 3, 16, 96 };
    int bad = 0, cases = 0;
    for (int nth = 1; nth <= 5; nth++)
        for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
            for (size_t b = 0; b < sizeof steps / sizeof steps[0]; b++)
                for (int absent = -1; absent < nth; absent++, cases++) {   /* -1: all come */
                    long n = ns[a], step = steps[b], got = 0;
                    unsigned char *seen = calloc((size_t)n, 1);
                    home_split h;
                    home_init(&h, n, step, nth);
                    long np = (n + step - 1) / step;
                    /* each present thread takes one piece in turn, the last present one first */
                    bool any = true;
                    for (int round = 0; any; round++) {
                        any = false;
                        for (int t = nth - 1; t >= 0; t--) {
                            if (t == absent && nth > 1) continue;
                            long lo, hi;
                            if (!home_take(&h, t, &lo, &hi)) continue;
                            any = true;
                            /* a thread's first piece is the first of its own share, when it has one */
                            if (round == 0 && np * t / nth < np * (t + 1) / nth && lo != np * t / nth * step) bad++;
                            for (long i = lo; i < hi; i++) { if (seen[i]) bad++; seen[i] = 1; got++; }
                        }
                    }
                    if (got != n) bad++;
                    free(seen);
                }
    CHECK(bad == 0, "home_take: %d errors over %d splits (an element taken twice or never, or a share not taken first)",
          bad, cases);
}

/* Attention's many-row kernels against the per-position dot and axpy they
 * replace, on every ISA: head sizes with and without a masked tail, more
 * and fewer than sixteen positions, rows scattered in memory. */
static void attention_case(void) {
    int bad = 0;
    enum { MAXP = 41, MAXD = 136 };
    float *pool = malloc(sizeof(float) * MAXP * 3 * MAXD), q[MAXD], a[MAXP], s1[MAXP], s2[MAXP];
    float o1[MAXD], o2[MAXD];
    const float *rows[MAXP];
    for (int i = 0; i < MAXP * 3 * MAXD; i++) pool[i] = frnd();
    for (int isa = VD_PORTABLE; isa <= vd_isa_best(); isa++) {
        vd_set_isa(isa);
        static const int HD[] = { 1, 7, 16, 31, 32, 48, 64, 80, 100, 128, 136 };
        for (size_t h = 0; h < sizeof HD / sizeof HD[0]; h++)
            for (int np = 1; np <= MAXP; np += 3) {   /* groups of sixteen and last groups of 1-15 */
                int hd = HD[h];
                for (int p = 0; p < np; p++) rows[p] = pool + (size_t)rnd(MAXP * 2) * MAXD;
                for (int i = 0; i < hd; i++) q[i] = frnd() * 2;
                for (int p = 0; p < np; p++) a[p] = frnd();
                int64_t off = rnd(MAXD - hd + 1);
                vd_dots_f32(s1, q, rows, off, np, hd);
                for (int p = 0; p < np; p++) s2[p] = vd_dot_f32(q, rows[p] + off, hd);
                bad += memcmp(s1, s2, sizeof(float) * (size_t)np) != 0;
                memset(o1, 0xff, sizeof o1);
                vd_wsum_f32(o1, a, rows, off, np, hd);
                memset(o2, 0, sizeof o2);
                for (int p = 0; p < np; p++) vd_axpy_f32(o2, a[p], rows[p] + off, hd);
                bad += memcmp(o1, o2, sizeof(float) * (size_t)hd) != 0;
            }
    }
    vd_set_isa(vd_isa_best());
    free(pool);
    CHECK(bad == 0, "attention kernels: %d of vd_dots_f32/vd_wsum_f32 differ from per-position dot/axpy", bad);
}

/* The several-query forms against one query at a time, on every ISA: each
 * query its own length (equal, rising by one as in a prompt, random), head
 * sizes on both sides of the in-register limit, rows scattered. */
static void attention_mq_case(void) {
    int bad = 0, runs = 0;
    enum { MAXP = 53, MAXD = 136, QS = 160, SS = 64 };
    float *pool = malloc(sizeof(float) * MAXP * 3 * MAXD);
    float q[VD_MQ * QS], a[VD_MQ * SS], s1[VD_MQ * SS], s2[SS], o1[VD_MQ * QS], o2[QS];
    const float *rows[MAXP];
    for (int i = 0; i < MAXP * 3 * MAXD; i++) pool[i] = frnd();
    for (int isa = VD_PORTABLE; isa <= vd_isa_best(); isa++) {
        vd_set_isa(isa);
        static const int HD[] = { 1, 7, 16, 31, 32, 40, 48, 56, 63, 64, 65, 80, 128, 136 };
        for (size_t h = 0; h < sizeof HD / sizeof HD[0]; h++)
            for (int nq = 1; nq <= VD_MQ; nq++)
                for (int shape = 0; shape < 3; shape++) {
                    int hd = HD[h];
                    int64_t np[VD_MQ];
                    int base = 1 + (int)rnd(MAXP - VD_MQ);
                    for (int k = 0; k < nq; k++)
                        np[k] = shape == 0 ? base : shape == 1 ? base + k : 1 + (int)rnd(MAXP);
                    for (int p = 0; p < MAXP; p++) rows[p] = pool + (size_t)rnd(MAXP * 2) * MAXD;
                    for (int i = 0; i < VD_MQ * QS; i++) q[i] = frnd() * 2;
                    for (int i = 0; i < VD_MQ * SS; i++) a[i] = frnd();
                    int64_t off = rnd(MAXD - hd + 1);
                    memset(s1, 0xff, sizeof s1);
                    memset(o1, 0xff, sizeof o1);
                    vd_dots_f32_mq(s1, SS, q, QS, nq, np, rows, off, hd);
                    vd_wsum_f32_mq(o1, QS, a, SS, nq, np, rows, off, hd);
                    for (int k = 0; k < nq; k++) {
                        vd_dots_f32(s2, q + k * QS, rows, off, np[k], hd);
                        bad += memcmp(s1 + k * SS, s2, sizeof(float) * (size_t)np[k]) != 0;
                        vd_wsum_f32(o2, a + k * SS, rows, off, np[k], hd);
                        bad += memcmp(o1 + k * QS, o2, sizeof(float) * (size_t)hd) != 0;
                        runs += 2;
                    }
                }
    }
    vd_set_isa(vd_isa_best());
    free(pool);
    CHECK(bad == 0, "attention kernels: %d of %d several-query sums differ from one query's", bad, runs);
}

/* vd_finite_f32 on every ISA: lengths 0..200 around the vector and unroll
 * steps, one NaN / +Inf / -Inf / the largest finite value at every place. */
static void finite_case(void) {
    float x[200];
    int bad = 0;
    for (int isa = VD_PORTABLE; isa <= vd_isa_best(); isa++) {
        vd_set_isa(isa);
        for (int n = 0; n <= 200; n++) {
            for (int i = 0; i < n; i++) x[i] = (float)(i % 7) - 3.5f;
            bad += !vd_finite_f32(x, n);
            for (int p = 0; p < n; p++) {
                const float v[4] = { NAN, INFINITY, -INFINITY, -FLT_MAX };
                for (int k = 0; k < 4; k++) {
                    x[p] = v[k];
                    bad += vd_finite_f32(x, n) != (k == 3);
                    /* past the length: not looked at */
                    if (p + 1 < n) bad += !vd_finite_f32(x, p);
                }
                x[p] = 1.0f;
            }
        }
    }
    vd_set_isa(vd_isa_best());
    CHECK(bad == 0, "vd_finite_f32: %d wrong answers", bad);
}

/* matmul_check against matmul (same bits) and the row it reports: a NaN in
 * one activation, an Inf from overflow in one output element of the last
 * slice, none; F32 (tiles) and Q8_0 weights, 2 threads. */
static void check_case(void) {
    enum { R = 3000, K = 64, N = 40 };
    backend *b = backend_cpu_create(2, (be_kvgeom){ 1, 64, 16, 4, 4 });
    if (!b) { CHECK(0, "no CPU backend"); return; }
    float *w = malloc(sizeof(float) * R * K), *x = malloc(sizeof(float) * N * K);
    float *y0 = malloc(sizeof(float) * N * R), *y1 = malloc(sizeof(float) * N * R);
    void *wq = malloc(qt_row_size(QT_Q8_0, K) * R);
    uint32_t s = 7;
    for (int i = 0; i < R * K; i++) w[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    for (int r = 0; r < R; r++) qt_quantize_row(QT_Q8_0, w + (size_t)r * K, (char *)wq + qt_row_size(QT_Q8_0, K) * r, K);
    for (int t = 0; t < 2; t++) {
        model_weight mw = { t ? wq : (const void *)w, t ? QT_Q8_0 : QT_F32, R, K };
        const model_weight *wp = &mw;
        for (int c = 0; c < 4; c++) {
            for (int i = 0; i < N * K; i++) x[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
            int want = -1;
            /* NaN/Inf activations: F32 only (rounding to Q8_0 does not keep them) */
            if (c == 1 && t == 0) { x[17 * K + 5] = NAN; x[30 * K] = NAN; want = 17; }
            if (c == 1 && t == 1) {   /* a NaN scale in the last weight row: every row's last column */
                qt_block_q8_0 *blk = (qt_block_q8_0 *)((char *)wq + qt_row_size(QT_Q8_0, K) * (R - 1));
                blk->d = 0x7e00;
                want = 0;
            }
            if (c == 2 && t == 0) {   /* only output (33, R - 1) overflows */
                for (int k = 0; k < K; k++) { w[(R - 1) * K + k] = 1e30f; x[33 * K + k] = 1e10f; }
                want = 33;
            }
            if (c == 3 && t == 0) { x[(N - 1) * K + K - 1] = INFINITY; want = N - 1; }
            int32_t bad = -7;
            int rc = b->ops->matmul(b, 1, &wp, x, N, &y0) | b->ops->matmul_check(b, wp, x, N, y1, &bad, NULL);
            CHECK(rc == 0 && bad == want, "matmul_check %s case %d: bad row %d, want %d", t ? "q8_0" : "f32", c, bad, want);
            CHECK(memcmp(y0, y1, sizeof(float) * N * R) == 0, "matmul_check %s case %d: outputs differ from matmul",
                  t ? "q8_0" : "f32", c);
            if (c == 2 && t == 0) for (int k = 0; k < K; k++) w[(R - 1) * K + k] = 0.25f;
            if (c == 1 && t == 1) qt_quantize_row(QT_Q8_0, w + (size_t)(R - 1) * K, (char *)wq + qt_row_size(QT_Q8_0, K) * (R - 1), K);
        }
    }
    free(w); free(x); free(y0); free(y1); free(wq);
    b->ops->destroy(b);
}

int main(void) {
    vd_init();
    attention_case();
    attention_mq_case();
    /* which repacked kernels serve which CPU; then VNNI forced off: the AVX2
     * repacked kernels (where a type has one) at every ISA level */
    dispatch_case();
    amx_mix_case();
    for (int t = 0; t < NTYPES; t++) {
        bool k = TYPES[t] == QT_Q4_K || TYPES[t] == QT_Q5_K || TYPES[t] == QT_Q6_K;
        kernel_case(TYPES[t], 37, k ? 512 : 96);
        kernel_case(TYPES[t], 64, k ? 256 : 288);
        kernel_case(TYPES[t], 24, 256);   /* three groups of eight: the VNNI pair kernels' odd group */
        if (TYPES[t] == QT_F32 || TYPES[t] == QT_F16 || TYPES[t] == QT_BF16) {
            /* lengths past the 32-element steps: a full and a masked 16
             * after them, a masked one alone, no 32-step at all (the
             * register-blocked tile runs its chains one after the other) */
            kernel_case(TYPES[t], 23, 1000);
            kernel_case(TYPES[t], 19, 56);
            kernel_case(TYPES[t], 13, 8);
        }
    }
    extreme = true;
    for (int t = 0; t < NTYPES; t++)
        if (TYPES[t] != QT_F32 && TYPES[t] != QT_F16 && TYPES[t] != QT_BF16) kernel_case(TYPES[t], 64, 512);
    extreme = false;
    elementwise_case();
    backend_loops_case();
    gated_case();
    home_case();
    finite_case();
    check_case();
    return check_done();
}
