/* The CUDA backend against the CPU backend (the reference).
 *
 * Without a usable GPU (a CPU-only build, no device, a device too old) the
 * refusal must say why, and the test stops there. With one:
 * 1. every operation of backend.h on random data, both backends given the
 *    same inputs (ggml's backend-ops test): matmul for every weight type on
 *    both paths (decode, cuBLAS), embed, rmsnorm (also in place), rope,
 *    swiglu, add, get_rows (also overlapping), kv_store + attention over
 *    fragmented runs in several head geometries, long enough to be split;
 * 2. whole models through the ctx API: stories260K (F32) and the synthetic
 *    GQA models in F16, Q8_0, Q4_0, Q4_K, Q6_K: a 40-token prompt, decode
 *    steps, 8 forks decoded in one batch, rewind, and a 390-position context.
 * Prints the deviations it measured ("# ..." lines). Tolerances: the CPU
 * disagrees with itself by this much when only the summation order changes
 * (a 40-token prompt in one batch vs token by token, last row's max |diff|
 * over max |logit|): F32 4e-7, F16 4.3e-4 (activations are rounded to fp16,
 * so order differences become fp16 steps), Q8_0 1.6e-2, Q4_0 1.7e-2, Q4_K
 * 1.2e-2, Q6_K 3e-7; the limits below leave room above that.
 * `test_cuda SUBSTRING` runs only the models whose path contains SUBSTRING
 * ("none": none), after all the operation checks.
 */
#include "check.h"
#include "backend.h"
#include "ctx.h"
#include "model.h"
#include "qtypes.h"
#include <math.h>
#ifdef LOGITLAB_CUDA
#include "backend_cuda.h"
#endif

#ifdef LOGITLAB_CUDA
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(void) {   /* uniform in [-1, 1) */
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)(rng >> 40) / (float)(1 << 23) - 1.0f;
}
static int irand(int n) { frand(); return (int)((rng >> 20) % (uint64_t)n); }

static float *randv(size_t n, float amp) {
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = amp * frand();
    return v;
}

/* max |a - b| / max |a|; NaN anywhere counts as infinitely wrong */
static double reldiff(const float *a, const float *b, size_t n) {
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= d)) d = isnan(e) ? INFINITY : e;
        if (fabs(a[i]) > m) m = fabs(a[i]);
    }
    return d / (m > 0 ? m : 1);
}

/* ---- both backends side by side ---- */

typedef struct duo { backend *cpu, *gpu; } duo;

static duo duo_create(be_kvgeom g) {
    char err[256] = "";
    duo d = { backend_cpu_create(2, g), backend_create("cuda", 1, g, err, sizeof err) };
    if (!d.gpu) fprintf(stderr, "cuda backend: %s\n", err);
    return d;
}

static void duo_destroy(duo *d) {
    d->cpu->ops->destroy(d->cpu);
    if (d->gpu) d->gpu->ops->destroy(d->gpu);
}

/* A buffer on each backend holding the same n floats (h, or zeros). */
typedef struct buf2 { float *c, *g; size_t n; } buf2;

static buf2 buf_new(duo *d, const float *h, size_t n) {
    buf2 b = { d->cpu->ops->alloc(d->cpu, n * 4), d->gpu->ops->alloc(d->gpu, n * 4), n };
    float *z = h ? NULL : calloc(n, 4);
    d->cpu->ops->to_dev(d->cpu, b.c, h ? h : z, n * 4);
    d->gpu->ops->to_dev(d->gpu, b.g, h ? h : z, n * 4);
    free(z);
    return b;
}

static void buf_free(duo *d, buf2 *b) {
    d->cpu->ops->free(d->cpu, b->c);
    d->gpu->ops->free(d->gpu, b->g);
}

/* Relative difference of the two copies; prints the GPU's error if any. */
static double buf_diff(duo *d, const buf2 *b) {
    float *hc = malloc(b->n * 4), *hg = malloc(b->n * 4);
    d->cpu->ops->to_host(d->cpu, hc, b->c, b->n * 4);
    d->gpu->ops->to_host(d->gpu, hg, b->g, b->n * 4);
    double r = reldiff(hc, hg, b->n);
    if (*backend_cuda_last_error(d->gpu)) fprintf(stderr, "cuda: %s\n", backend_cuda_last_error(d->gpu));
    free(hc); free(hg);
    return r;
}

/* ---- 1. operations ---- */

/* A random weight (rows, cols) of type t, quantized from floats in [-amp, amp). */
static model_weight make_weight(duo *d, int t, int64_t rows, int64_t cols) {
    size_t rs = qt_row_size(t, cols);
    char *data = malloc(rs * rows), err[256];
    for (int64_t r = 0; r < rows; r++) {
        float *src = randv(cols, 0.5f + (float)(r % 5));
        qt_quantize_row(t, src, data + rs * r, cols);
        free(src);
    }
    CHECK(backend_cuda_upload(d->gpu, data, rs * rows, err, sizeof err) == 0, "upload: %s", err);
    return (model_weight){ data, t, rows, cols };
}

static void check_matmul(duo *d, int t, int64_t cols) {
    static const int ns[] = { 1, 3, 8, 11, 40 };
    int nw = cols % 32 ? 1 : 2;   /* a second weight, Q8_0, shares the call where it can */
    model_weight w0 = make_weight(d, t, 99, cols), w1 = w0;
    if (nw == 2) w1 = make_weight(d, QT_Q8_0, 37, cols);
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        int32_t n = ns[k];
        float *xh = randv((size_t)n * cols, 2.0f);
        buf2 x = buf_new(d, xh, (size_t)n * cols), y0 = buf_new(d, NULL, (size_t)n * 99),
             y1 = buf_new(d, NULL, (size_t)n * 37);
        const model_weight *ws[2] = { &w0, &w1 };
        float *yc[2] = { y0.c, y1.c }, *yg[2] = { y0.g, y1.g };
        int rc = d->cpu->ops->matmul(d->cpu, nw, ws, x.c, n, yc) | d->gpu->ops->matmul(d->gpu, nw, ws, x.g, n, yg);
        double e0 = buf_diff(d, &y0), e1 = nw > 1 ? buf_diff(d, &y1) : 0;
        CHECK(rc == 0 && e0 < 1e-4 && e1 < 1e-4, "matmul %s cols %lld n %d: rel. diff %.3g, %.3g (%s)",
              qt_get(t)->name, (long long)cols, n, e0, e1, backend_cuda_last_error(d->gpu));
        buf_free(d, &x); buf_free(d, &y0); buf_free(d, &y1);
        free(xh);
    }

    /* embed: rows of the weight, bit for bit */
    int32_t tok[4] = { 5, 0, 98, 5 };
    buf2 e = buf_new(d, NULL, 4 * (size_t)cols);
    d->cpu->ops->embed(d->cpu, &w0, tok, 4, e.c);
    d->gpu->ops->embed(d->gpu, &w0, tok, 4, e.g);
    double ee = buf_diff(d, &e);
    CHECK(ee == 0, "embed %s: rel. diff %.3g", qt_get(t)->name, ee);
    buf_free(d, &e);
    free((void *)w0.data);
    if (nw == 2) free((void *)w1.data);
}

static void check_rowwise(duo *d) {
    const int32_t n = 3, dim = 512;
    float *xh = randv((size_t)n * dim, 3.0f), *wh = randv(dim, 1.0f), *uh = randv((size_t)n * dim, 2.0f);
    buf2 x = buf_new(d, xh, (size_t)n * dim), y = buf_new(d, NULL, (size_t)n * dim), u = buf_new(d, uh, (size_t)n * dim);
    d->cpu->ops->rmsnorm(d->cpu, y.c, x.c, wh, n, dim, 1e-5f);
    d->gpu->ops->rmsnorm(d->gpu, y.g, x.g, wh, n, dim, 1e-5f);
    CHECK(buf_diff(d, &y) < 1e-6, "rmsnorm (%.3g)", buf_diff(d, &y));
    d->cpu->ops->rmsnorm(d->cpu, x.c, x.c, wh, n, dim, 1e-5f);
    d->gpu->ops->rmsnorm(d->gpu, x.g, x.g, wh, n, dim, 1e-5f);
    CHECK(buf_diff(d, &x) < 1e-6, "rmsnorm in place (%.3g)", buf_diff(d, &x));

    /* rope: 3 rows of 16 heads of 32, rotating the first 24 dims of each */
    int32_t pos[3] = { 0, 7, 1000 };
    float inv[16];
    for (int j = 0; j < 16; j++) inv[j] = powf(10000.0f, -2.0f * j / 24.0f);
    CHECK(d->cpu->ops->rope(d->cpu, u.c, n, 16, 32, 24, pos, inv) == 0 &&
          d->gpu->ops->rope(d->gpu, u.g, n, 16, 32, 24, pos, inv) == 0, "rope runs");
    CHECK(buf_diff(d, &u) < 1e-6, "rope (%.3g)", buf_diff(d, &u));

    d->cpu->ops->swiglu(d->cpu, y.c, u.c, (size_t)n * dim);
    d->gpu->ops->swiglu(d->gpu, y.g, u.g, (size_t)n * dim);
    CHECK(buf_diff(d, &y) < 1e-6, "swiglu (%.3g)", buf_diff(d, &y));
    d->cpu->ops->add(d->cpu, y.c, x.c, (size_t)n * dim);
    d->gpu->ops->add(d->gpu, y.g, x.g, (size_t)n * dim);
    CHECK(buf_diff(d, &y) < 1e-6, "add (%.3g)", buf_diff(d, &y));

    int32_t idx[2] = { 2, 0 }, idx2[2] = { 1, 2 };
    d->cpu->ops->get_rows(d->cpu, u.c, y.c, idx, 2, dim);
    d->gpu->ops->get_rows(d->gpu, u.g, y.g, idx, 2, dim);
    CHECK(buf_diff(d, &u) == 0, "get_rows");
    d->cpu->ops->get_rows(d->cpu, y.c, y.c, idx2, 2, dim);   /* overlapping, as forward.c never does */
    d->gpu->ops->get_rows(d->gpu, y.g, y.g, idx2, 2, dim);
    CHECK(buf_diff(d, &y) == 0, "get_rows in place");
    buf_free(d, &x); buf_free(d, &y); buf_free(d, &u);
    free(xh); free(wh); free(uh);
}

/* Runs covering `len` positions in shuffled blocks, each run 1..16 cells
 * inside one block (as kv.c makes them after forks and rewinds). */
static int32_t make_runs(kv_run *runs, int32_t len, int32_t n_blocks) {
    int32_t n = 0, p = 0, *perm = malloc(n_blocks * sizeof *perm);
    for (int32_t b = 0; b < n_blocks; b++) perm[b] = b;
    for (int32_t b = n_blocks - 1; b > 0; b--) { int32_t j = irand(b + 1), t = perm[b]; perm[b] = perm[j]; perm[j] = t; }
    for (int32_t b = 0; p < len && b < n_blocks; b++) {
        int32_t off = irand(4), cnt = 1 + irand(KV_BLOCK - off);
        if (cnt > len - p) cnt = len - p;
        runs[n++] = (kv_run){ perm[b] * KV_BLOCK + off, cnt };
        p += cnt;
    }
    free(perm);
    return n;
}

static void check_attention(int32_t n_heads, int32_t n_kv, int32_t hd, int32_t n) {
    const int32_t n_layers = 2, n_blocks = 320, kvd = n_kv * hd, maxlen = 1000;
    be_kvgeom g = { n_layers, kvd, hd, n_heads, n_kv };
    duo d = duo_create(g);
    if (!d.gpu) { CHECK(0, "cuda backend for attention"); d.cpu->ops->destroy(d.cpu); return; }
    size_t kvfloats = (size_t)n_blocks * n_layers * 2 * KV_BLOCK * kvd;
    buf2 kv = buf_new(&d, NULL, kvfloats);
    /* every cell of both layers gets its own K and V, stored by both backends */
    int32_t chunk = 256, *cells = malloc(chunk * sizeof *cells);
    for (int32_t il = 0; il < n_layers; il++)
        for (int32_t c0 = 0; c0 < n_blocks * KV_BLOCK; c0 += chunk) {
            float *kh = randv((size_t)chunk * kvd, 1.5f), *vh = randv((size_t)chunk * kvd, 1.0f);
            buf2 k = buf_new(&d, kh, (size_t)chunk * kvd), v = buf_new(&d, vh, (size_t)chunk * kvd);
            for (int32_t i = 0; i < chunk; i++) cells[i] = c0 + i;
            d.cpu->ops->kv_store(d.cpu, kv.c, il, chunk, k.c, v.c, cells);
            d.gpu->ops->kv_store(d.gpu, kv.g, il, chunk, k.g, v.g, cells);
            buf_free(&d, &k); buf_free(&d, &v); free(kh); free(vh);
        }
    CHECK(buf_diff(&d, &kv) == 0, "kv_store (hd %d)", hd);
    /* a few sequences, each with its own fragmented runs; entries share them */
    kv_run *runs[3];
    int32_t nr[3];
    for (int s = 0; s < 3; s++) { runs[s] = malloc(maxlen * sizeof(kv_run)); nr[s] = make_runs(runs[s], maxlen, n_blocks); }
    be_attn *at = malloc(n * sizeof *at);
    for (int32_t i = 0; i < n; i++) {
        static const int32_t npos[] = { 1000, 999, 17, 1, 300, 129, 128, 640 };
        int s = i % 3;
        at[i] = (be_attn){ runs[s], nr[s], n <= 8 ? npos[i % 8] : 1 + irand(maxlen) };
    }
    float *qh = randv((size_t)n * n_heads * hd, 1.0f);
    buf2 q = buf_new(&d, qh, (size_t)n * n_heads * hd), o = buf_new(&d, NULL, (size_t)n * n_heads * hd);
    int rc = d.cpu->ops->attention(d.cpu, kv.c, 1, n, at, q.c, o.c) | d.gpu->ops->attention(d.gpu, kv.g, 1, n, at, q.g, o.g);
    double e = buf_diff(&d, &o);
    CHECK(rc == 0 && e < 1e-5, "attention %d heads, %d KV heads, head_dim %d, %d entries: rel. diff %.3g (%s)",
          n_heads, n_kv, hd, n, e, backend_cuda_last_error(d.gpu));
    printf("# attention h%d kv%d hd%d n%d: %.3g\n", n_heads, n_kv, hd, n, e);
    buf_free(&d, &q); buf_free(&d, &o); buf_free(&d, &kv);
    for (int s = 0; s < 3; s++) free(runs[s]);
    free(at); free(qh); free(cells);
    duo_destroy(&d);
}

static void check_ops(void) {
    be_kvgeom g = { 2, 64, 32, 4, 2 };
    duo d = duo_create(g);
    if (!d.gpu) { CHECK(0, "cuda backend for the operations"); d.cpu->ops->destroy(d.cpu); return; }
    static const int types[] = { QT_F32, QT_F16, QT_BF16, QT_Q8_0, QT_Q4_0, QT_Q5_0, QT_Q4_K, QT_Q5_K, QT_Q6_K };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) check_matmul(&d, types[i], 512);
    check_matmul(&d, QT_F32, 172);   /* rows of a length that is no multiple of 8: the scalar paths */
    check_matmul(&d, QT_F16, 172);
    check_rowwise(&d);
    duo_destroy(&d);
    check_attention(8, 2, 32, 5);     /* the synthetic models' geometry */
    check_attention(32, 8, 128, 5);   /* Llama 3 8B */
    check_attention(32, 32, 128, 3);  /* Llama 2 7B */
    check_attention(8, 4, 8, 6);      /* stories260K */
    check_attention(4, 4, 256, 2);    /* head_dim above the block width */
    check_attention(6, 6, 6, 4);      /* head_dim not a multiple of 4 */
    check_attention(8, 2, 32, 300);   /* many entries: no split, many tiles per block */
}

/* ---- 2. models through ctx ---- */

static ctx *open_ctx(model *m, const char *be) {
    ctx_params p;
    ctx_params_default(&p);
    p.n_ctx = 512; p.n_batch = 64; p.n_seq_max = 16; p.backend = be;
    ctx *c = NULL;
    char err[256];
    if (ctx_create(&c, m, &p, err, sizeof err)) fprintf(stderr, "ctx_create(%s): %s\n", be, err);
    return c;
}

/* Evaluates the same batch on both contexts; returns the worst relative
 * difference of the logits rows (or infinity if either failed). */
static double eval2(ctx *a, ctx *b, const ctx_entry *e, int32_t n, int32_t V) {
    char err[256];
    if (ctx_eval(a, e, n, err, sizeof err) || ctx_eval(b, e, n, err, sizeof err)) {
        fprintf(stderr, "ctx_eval: %s\n", err);
        return INFINITY;
    }
    double worst = 0;
    for (int32_t i = 0; i < ctx_n_logits(a); i++) {
        double r = reldiff(ctx_logits(a, i), ctx_logits(b, i), (size_t)V);
        if (!(r <= worst)) worst = r;
    }
    return worst;
}

static void check_model(const char *rel, double tol) {
    char path[1024], err[512];
    model *m = NULL;
    if (model_open(&m, check_path(path, sizeof path, rel), NULL, err, sizeof err)) { CHECK(0, "%s", err); return; }
    int32_t V = model_get_info(m)->n_vocab;
    ctx *cc = open_ctx(m, "cpu"), *cg = open_ctx(m, "cuda");
    if (!cc || !cg) { CHECK(0, "%s: contexts", rel); ctx_destroy(cc); ctx_destroy(cg); model_close(m); return; }
    ctx_entry b[64];
    double worst = 0, w;
    int32_t s = ctx_seq_create(cc);
    CHECK(ctx_seq_create(cg) == s, "same sequence ids");
    /* a 40-token prompt (the cuBLAS path) with every row's logits, then decode steps */
    for (int i = 0; i < 40; i++) b[i] = (ctx_entry){ s, i, (7 * i + 1) % V, true };
    worst = fmax(worst, eval2(cc, cg, b, 40, V));
    for (int i = 40; i < 46; i++) {
        b[0] = (ctx_entry){ s, i, (13 * i + 5) % V, true };
        worst = fmax(worst, eval2(cc, cg, b, 1, V));
    }
    CHECK(worst < tol, "%s: prompt and decode logits, rel. diff %.3g (tolerance %g)", rel, worst, tol);
    printf("# %s: prompt + decode %.3g", rel, worst);

    /* 8 forks decoded in one batch */
    int32_t seqs[8];
    for (int k = 0; k < 8; k++) {
        seqs[k] = k ? ctx_seq_fork(cc, s) : s;
        if (k) CHECK(ctx_seq_fork(cg, s) == seqs[k], "same fork ids");
        b[k] = (ctx_entry){ seqs[k], 46, (100 + 31 * k) % V, true };
    }
    w = eval2(cc, cg, b, 8, V);
    CHECK(w < tol, "%s: batch of 8 forks, rel. diff %.3g", rel, w);
    printf(", forks %.3g", w);

    /* rewind one fork into the shared prefix and go on */
    CHECK(ctx_seq_rewind(cc, seqs[3], 20) == 0 && ctx_seq_rewind(cg, seqs[3], 20) == 0, "rewind");
    b[0] = (ctx_entry){ seqs[3], 20, 9 % V, false };
    b[1] = (ctx_entry){ seqs[3], 21, 10 % V, true };
    b[2] = (ctx_entry){ seqs[5], 47, 11 % V, true };
    w = eval2(cc, cg, b, 3, V);
    CHECK(w < tol, "%s: rewind and continue, rel. diff %.3g", rel, w);
    printf(", rewind %.3g", w);

    /* a long context: 390 positions, then one decode step (split attention) */
    for (int k = 0; k < 8; k++) { ctx_seq_drop(cc, seqs[k]); ctx_seq_drop(cg, seqs[k]); }
    s = ctx_seq_create(cc);
    ctx_seq_create(cg);
    w = 0;
    for (int p0 = 0; p0 < 390; p0 += 65) {   /* batches of 64 and of 1: both paths fill the cache */
        for (int i = 0; i < 64; i++) b[i] = (ctx_entry){ s, p0 + i, (3 * (p0 + i) + 2) % V, false };
        w = fmax(w, eval2(cc, cg, b, 64, V));
        b[0] = (ctx_entry){ s, p0 + 64, (3 * (p0 + 64) + 2) % V, true };
        w = fmax(w, eval2(cc, cg, b, 1, V));
    }
    CHECK(w < tol, "%s: decode up to position 389, rel. diff %.3g", rel, w);
    printf(", long %.3g\n", w);
    ctx_destroy(cc); ctx_destroy(cg);
    model_close(m);
}
#endif

int main(int argc, char **argv) {
    char err[512] = "";
    be_kvgeom g = { 2, 64, 32, 4, 2 };
    backend *gpu = backend_create("cuda", 1, g, err, sizeof err);
    if (!gpu) {
        if (strncmp(err, "no CUDA device", 14) == 0) printf("# skip: %s\n", err);
        else printf("# skip: no CUDA device (%s)\n", err);
        CHECK(strstr(err, "CUDA") || strstr(err, "cuda"), "the refusal says why: '%s'", err);
        return check_done();
    }
    gpu->ops->destroy(gpu);
#ifdef LOGITLAB_CUDA
    static const struct { const char *path; double tol; } models[] = {
        { "models/stories260K.gguf", 1e-3 },
        { "models/synthetic/synth-A-f16.gguf", 3e-3 },
        { "models/synthetic/synth-A-q8_0.gguf", 5e-2 },
        { "models/synthetic/synth-A-q4_0.gguf", 5e-2 },
        { "models/synthetic/synth-A-q4_k.gguf", 5e-2 },
        { "models/synthetic/synth-A-q6_k.gguf", 5e-2 },
    };
    check_ops();
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        if (argc < 2 || strstr(models[i].path, argv[1])) check_model(models[i].path, models[i].tol);
#else
    (void)argc; (void)argv;
#endif
    return check_done();
}
