/* llama2.c checkpoints of every version: stories260K.bin (version 0)
 * rewritten here as version 1 (must give bitwise the same logits) and as
 * version 2 with several group sizes (int8 groups quantized as export.py
 * does: scale = max|w| / 127, code = round(w / scale)), in both scale layouts;
 * which matrices become Q8_0 and that every converted value is the code times
 * its (fp16-rounded for Q8_0) scale; the real stories3M-q80.bin; and damaged
 * or foreign headers refused with a description, not with their bytes read
 * as numbers. */
#include "check.h"
#include "ctx.h"
#include "model.h"
#include "qtypes.h"
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static char P[1024], DIR_[256], T[1024];

/* stories260K's arrays, by kind, from its version 0 layout. */
enum { A_EMB, A_AN, A_Q, A_K, A_V, A_O, A_FN, A_W1, A_W2, A_W3, A_ON, A_N };
typedef struct src {
    int32_t hd[7];
    const float *a[A_N];    /* first layer's array of each kind */
    int64_t rows[A_N], cols[A_N];
    char *buf;
    size_t n;
} src;

static int src_load(src *s) {
    s->buf = check_slurp(check_path(P, sizeof P, "models/stories260K.bin"), &s->n);
    if (!s->buf) return -1;
    memcpy(s->hd, s->buf, sizeof s->hd);
    int64_t D = s->hd[0], F = s->hd[1], L = s->hd[2], V = s->hd[5], KV = s->hd[4] * (D / s->hd[3]);
    int64_t r[A_N] = { V, 1, D, KV, KV, D, 1, F, D, F, 1 }, c[A_N] = { D, D, D, D, D, D, D, D, F, D, D };
    const float *f = (const float *)(s->buf + 28);
    for (int k = 0; k < A_N; k++) {
        s->a[k] = f; s->rows[k] = r[k]; s->cols[k] = c[k];
        f += r[k] * c[k] * (k == A_EMB || k == A_ON ? 1 : L);
    }
    return 0;
}

static void put(FILE *f, const void *p, size_t n) { fwrite(p, 1, n, f); }

static void header(FILE *f, const src *s, int version, int32_t group) {
    unsigned char h[256] = {0};
    uint32_t magic = 0x616b3432;
    memcpy(h, &magic, 4);
    memcpy(h + 4, &version, 4);
    memcpy(h + 8, s->hd, 28);
    h[36] = 1;
    if (version == 2) memcpy(h + 37, &group, 4);
    put(f, h, 256);
}

/* Matrix kinds in the order versions 1 and 2 store them. */
static const int MATS[] = { A_EMB, A_Q, A_K, A_V, A_O, A_W1, A_W2, A_W3 };

static int64_t count(const src *s, int k) { return s->rows[k] * s->cols[k] * (k == A_EMB || k == A_ON ? 1 : s->hd[2]); }

static void norms(FILE *f, const src *s) {
    put(f, s->a[A_AN], sizeof(float) * (size_t)count(s, A_AN));
    put(f, s->a[A_FN], sizeof(float) * (size_t)count(s, A_FN));
    put(f, s->a[A_ON], sizeof(float) * (size_t)s->hd[0]);
}

static const char *write_v1(const src *s) {
    snprintf(T, sizeof T, "%s/v1.bin", DIR_);
    FILE *f = fopen(T, "wb");
    header(f, s, 1, 0);
    norms(f, s);
    for (size_t i = 0; i < sizeof MATS / sizeof MATS[0]; i++)
        put(f, s->a[MATS[i]], sizeof(float) * (size_t)count(s, MATS[i]));
    fclose(f);
    return T;
}

/* export.py's quantize_q80 over a flattened matrix. */
static void quantize(const float *w, int64_t n, int32_t g, int8_t *q, float *sc) {
    for (int64_t j = 0; j < n / g; j++) {
        float mx = 0;
        for (int64_t i = 0; i < g; i++) mx = fmaxf(mx, fabsf(w[j * g + i]));
        sc[j] = mx / 127.0f;
        for (int64_t i = 0; i < g; i++) q[j * g + i] = (int8_t)(sc[j] > 0 ? nearbyintf(w[j * g + i] / sc[j]) : 0);
    }
}

/* Version 2 of stories260K; with dequant also a version 0 file holding
 * code * scale in fp32 (the exact reference). */
static const char *write_v2(const src *s, int32_t g, bool scales_last, const char *name, const char *dequant) {
    snprintf(T, sizeof T, "%s/%s", DIR_, name);
    FILE *f = fopen(T, "wb");
    header(f, s, 2, g);
    norms(f, s);
    size_t nm = sizeof MATS / sizeof MATS[0];
    int8_t *q[8]; float *sc[8];
    for (size_t i = 0; i < nm; i++) {
        /* each layer's matrix is its own tensor: codes, then its scales */
        int64_t n = count(s, MATS[i]), per = s->rows[MATS[i]] * s->cols[MATS[i]];
        q[i] = malloc((size_t)n); sc[i] = malloc(sizeof(float) * (size_t)(n / g));
        quantize(s->a[MATS[i]], n, g, q[i], sc[i]);
        for (int64_t l = 0; l < n / per; l++) {
            put(f, q[i] + l * per, (size_t)per);
            if (!scales_last) put(f, sc[i] + l * per / g, sizeof(float) * (size_t)(per / g));
        }
    }
    for (size_t i = 0; scales_last && i < nm; i++) put(f, sc[i], sizeof(float) * (size_t)(count(s, MATS[i]) / g));
    fclose(f);
    if (dequant) {
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", DIR_, dequant);
        FILE *o = fopen(p, "wb");
        put(o, s->buf, 28);
        /* version 0 order: emb, an, q, k, v, o, fn, w1, w2, w3, on, cos/sin */
        const int order[] = { A_EMB, A_AN, A_Q, A_K, A_V, A_O, A_FN, A_W1, A_W2, A_W3, A_ON };
        for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
            int kind = order[k];
            size_t mi = 0;
            while (mi < nm && MATS[mi] != kind) mi++;
            if (mi == nm) { put(o, s->a[kind], sizeof(float) * (size_t)count(s, kind)); continue; }
            int64_t n = count(s, kind);
            float *w = malloc(sizeof(float) * (size_t)n);
            for (int64_t i = 0; i < n; i++) w[i] = (float)q[mi][i] * sc[mi][i / g];
            put(o, w, sizeof(float) * (size_t)n);
            free(w);
        }
        const char *tail = (const char *)s->a[A_ON] + sizeof(float) * (size_t)s->hd[0];
        put(o, tail, s->n - (size_t)(tail - s->buf));
        fclose(o);
    }
    for (size_t i = 0; i < nm; i++) { free(q[i]); free(sc[i]); }
    return T;
}

/* Logits of every position of toks (n * n_vocab floats, caller frees). */
static float *logits(const char *path, bool exact, const int32_t *toks, int n, int32_t *nv) {
    char err[512];
    model *m = NULL;
    model_params mp = { .l2c_exact = exact };
    if (model_open(&m, path, &mp, err, sizeof err)) { fprintf(stderr, "%s\n", err); return NULL; }
    ctx_params p;
    ctx_params_default(&p);
    p.n_ctx = 64; p.n_batch = 32; p.n_seq_max = 1; p.n_threads = 1;
    ctx *c = NULL;
    float *out = NULL;
    *nv = model_get_info(m)->n_vocab;
    if (ctx_create(&c, m, &p, err, sizeof err) == 0) {
        int32_t s = ctx_seq_create(c);
        ctx_entry b[32];
        for (int i = 0; i < n; i++) b[i] = (ctx_entry){ s, i, toks[i], true };
        if (ctx_eval(c, b, n, err, sizeof err) == 0) {
            out = malloc(sizeof(float) * (size_t)(n * *nv));
            for (int i = 0; i < n; i++) memcpy(out + (size_t)i * *nv, ctx_logits(c, i), sizeof(float) * (size_t)*nv);
        } else fprintf(stderr, "%s\n", err);
        ctx_destroy(c);
    } else fprintf(stderr, "%s\n", err);
    model_close(m);
    return out;
}

static const int32_t TOKS[8] = { 1, 403, 407, 261, 378, 432, 270, 301 };

static bool same_logits(const char *a, bool ea, const char *b, bool eb) {
    int32_t na = 0, nb = 0;
    float *x = logits(a, ea, TOKS, 8, &na), *y = logits(b, eb, TOKS, 8, &nb);
    bool ok = x && y && na == nb && memcmp(x, y, sizeof(float) * 8 * (size_t)na) == 0;
    free(x); free(y);
    return ok;
}

/* Every weight of the loaded model against code * scale. */
static void check_converted(const char *path, int32_t g, bool exact, const src *s, int want_q8) {
    char err[512];
    model *m = NULL;
    model_params mp = { .l2c_exact = exact };
    if (model_open(&m, path, &mp, err, sizeof err)) { CHECK(0, "open %s: %s", path, err); return; }
    const model_info *h = model_get_info(m);
    CHECK(h->l2c_version == 2 && h->l2c_group == g && strcmp(h->format, "llama2.c v2") == 0,
          "group %d: version %d, group %d, format '%s'", g, h->l2c_version, h->l2c_group, h->format);
    const model_layer *ly = model_get_layer(m, 0);
    const model_weight *ws[] = { model_tok_embd(m), &ly->wq, &ly->w_down };
    const int kinds[] = { A_EMB, A_Q, A_W2 };
    int n_q8 = 0;
    bool exact_ok = true;
    for (int k = 0; k < 3; k++) {
        const model_weight *w = ws[k];
        int64_t n = w->rows * w->cols;
        int8_t *q = malloc((size_t)n);
        float *sc = malloc(sizeof(float) * (size_t)(n / g)), *got = malloc(sizeof(float) * (size_t)n);
        quantize(s->a[kinds[k]], n, g, q, sc);
        qt_dequantize_row(w->type, w->data, got, n);
        n_q8 += w->type == QT_Q8_0;
        for (int64_t i = 0; i < n && exact_ok; i++) {
            float sv = sc[i / g];
            if (w->type == QT_Q8_0) sv = qt_f16_to_f32(qt_f32_to_f16(sv));
            if (got[i] != (float)q[i] * sv) {
                exact_ok = false;
                fprintf(stderr, "group %d, weight %d, value %lld: %g != %d * %g\n", g, k, (long long)i, got[i], q[i], sv);
            }
        }
        free(q); free(sc); free(got);
    }
    CHECK(exact_ok, "group %d%s: every value is code * scale", g, exact ? " (exact)" : "");
    CHECK(n_q8 == want_q8, "group %d%s: %d of 3 sampled matrices as Q8_0, expected %d", g, exact ? " (exact)" : "", n_q8, want_q8);
    model_close(m);
}

static void versions(void) {
    src s;
    if (src_load(&s)) { CHECK(0, "stories260K.bin missing"); return; }
    snprintf(T, sizeof T, "%s/tok512.bin", DIR_);
    size_t tl = 0;
    char *tokb = check_slurp(check_path(P, sizeof P, "models/tok512.bin"), &tl);
    FILE *f = fopen(T, "wb"); put(f, tokb, tl); fclose(f); free(tokb);
    char v0[1024];
    snprintf(v0, sizeof v0, "%s", check_path(P, sizeof P, "models/stories260K.bin"));

    char v1[1024];
    snprintf(v1, sizeof v1, "%s", write_v1(&s));
    CHECK(same_logits(v0, false, v1, false), "version 1 gives bitwise the logits of version 0");

    /* group 64: rows of 64 become Q8_0; ffn_down's rows of 172 stay F32 */
    char v2[1024], ref[1024];
    snprintf(v2, sizeof v2, "%s", write_v2(&s, 64, false, "v2-64.bin", "v2-64-deq.bin"));
    snprintf(ref, sizeof ref, "%s/v2-64-deq.bin", DIR_);
    check_converted(v2, 64, false, &s, 2);
    check_converted(v2, 64, true, &s, 0);
    CHECK(same_logits(v2, true, ref, false), "version 2, group 64, exact: bitwise the logits of its fp32 dequantization");
    char last[1024];
    snprintf(last, sizeof last, "%s", write_v2(&s, 64, true, "v2-64-last.bin", NULL));
    CHECK(same_logits(v2, false, last, false), "scales after all the codes (older export.py): the same model");
    int32_t nv = 0;
    float *a = logits(v2, false, TOKS, 8, &nv), *b = logits(ref, false, TOKS, 8, &nv);
    double d = 0, ss = 0;
    for (int i = 0; a && b && i < 8 * nv; i++) { d = fmax(d, fabs(a[i] - b[i])); ss += (a[i] - b[i]) * (double)(a[i] - b[i]); }
    ss = sqrt(ss / (8.0 * nv));
    /* Q8_0 also rounds activations to 8 bits: llama.cpp's own Q8_0 yardstick on
     * synth-A is RMS 0.105 */
    CHECK(a && b && ss < 0.1 && d < 0.5, "version 2 as Q8_0 near its exact dequantization (RMS %g, max %g)", ss, d);
    free(a); free(b);
    /* group 128 spans rows of 64: still Q8_0 blocks; group 16: F32 everywhere */
    snprintf(v2, sizeof v2, "%s", write_v2(&s, 128, false, "v2-128.bin", "v2-128-deq.bin"));
    check_converted(v2, 128, false, &s, 2);
    snprintf(v2, sizeof v2, "%s", write_v2(&s, 16, false, "v2-16.bin", "v2-16-deq.bin"));
    snprintf(ref, sizeof ref, "%s/v2-16-deq.bin", DIR_);
    check_converted(v2, 16, false, &s, 0);
    CHECK(same_logits(v2, false, ref, false), "version 2, group 16 (F32): bitwise the logits of its dequantization");
    free(s.buf);
}

/* A file made of `n` bytes of b, then `pad` zero bytes. */
static const char *file_of(const void *b, size_t n, size_t pad) {
    snprintf(T, sizeof T, "%s/bad.bin", DIR_);
    FILE *f = fopen(T, "wb");
    put(f, b, n);
    for (size_t i = 0; i < pad; i++) fputc(0, f);
    fclose(f);
    return T;
}

/* in_header: model_sniff (the first 256 bytes) refuses it too, with
 * model_open's words; else only model_open can tell, and model_sniff lets
 * it through. */
static void expect_refused_at(const char *what, const char *path, const char *needle, bool in_header) {
    char err[1024] = "", serr[1024] = "";
    model *m = NULL;
    int rc = model_open(&m, path, NULL, err, sizeof err);
    CHECK(rc != 0 && !m && strstr(err, needle) && strstr(err, path) && !strstr(err, "1634415666"),
          "%s refused, naming the file and '%s': %s", what, needle, err);
    model_close(m);
    int src = model_sniff(path, serr, sizeof serr);
    if (in_header) CHECK(src != 0 && strcmp(serr, err) == 0, "model_sniff refuses %s as model_open: '%s'", what, serr);
    else CHECK(src == 0, "model_sniff lets %s through (only the whole file tells): '%s'", what, serr);
}

static void expect_refused(const char *what, const char *path, const char *needle) {
    expect_refused_at(what, path, needle, true);
}

static void damaged(void) {
    char v2[1024];
    snprintf(v2, sizeof v2, "%s/v2-64.bin", DIR_);
    size_t n = 0;
    unsigned char *b = check_slurp(v2, &n);
    if (!b) { CHECK(0, "v2-64.bin missing"); return; }
    unsigned char h[256];
    memcpy(h, b, 256);
    expect_refused("an empty file", file_of("", 0, 0), "empty");
    expect_refused("text", file_of("Once upon a time there was a model file that was not one.", 57, 0), "text");
    expect_refused("a zip (PyTorch checkpoint)", file_of("PK\3\4", 4, 60), "zip");
    expect_refused("a tokenizer", check_path(P, sizeof P, "models/tok512.bin"), "tokenizer");
    expect_refused("\"ak42\" cut inside the header", file_of(h, 100, 0), "256-byte header");
    unsigned char x[256];
    memcpy(x, h, 256); x[4] = 3;
    expect_refused("an unknown \"ak42\" version", file_of(x, 256, 4096), "format version");
    memcpy(x, h, 256); x[36] = 7;
    expect_refused("a bad shared flag", file_of(x, 256, 4096), "flag");
    memcpy(x, h, 256); memset(x + 8, 0xff, 8);
    expect_refused("garbage hyperparameters", file_of(x, 256, 4096), "hyperparameters");
    memcpy(x, h, 256); memset(x + 37, 0, 4);
    expect_refused("group size 0", file_of(x, 256, 4096), "group size");
    memcpy(x, h, 256); x[37] = 7;
    expect_refused_at("group size 7", file_of(x, 256, 4096), "does not divide", false);
    expect_refused_at("a version 2 file cut short", file_of(b, n - 100, 0), "does not match", false);
    /* a NaN scale where the first matrix's scales are */
    int64_t emb = 512 * 64, norms = (2 * 5 + 1) * 64 * 4;
    float nan = NAN;
    memcpy(b + 256 + norms + emb, &nan, 4);
    expect_refused_at("a NaN scale", file_of(b, n, 0), "group scales", false);
    /* the reported case: the magic read as a dimension */
    uint32_t magic = 0x616b3432;
    memcpy(x, h, 256); memcpy(x, &magic, 4); x[0] ^= 1;
    expect_refused("a mangled magic", file_of(x, 256, 4096), "not a model");
    free(b);
}

static void real(void) {
    char err[512];
    model *m = NULL;
    const char *p = check_path(P, sizeof P, "models/real/stories3M-q80.bin");
    if (access(p, R_OK) != 0) { CHECK(0, "%s missing", p); return; }
    CHECK(model_sniff(p, err, sizeof err) == 0, "model_sniff takes stories3M-q80.bin: %s", err);
    char g[1024];
    CHECK(model_sniff(check_path(g, sizeof g, "models/stories260K.gguf"), err, sizeof err) == 0,
          "model_sniff takes a GGUF: %s", err);
    CHECK(model_sniff(DIR_, err, sizeof err) != 0 && strstr(err, DIR_), "model_sniff refuses a folder: %s", err);
    int rc = model_open(&m, p, NULL, err, sizeof err);
    CHECK(rc == 0, "stories3M-q80.bin opens: %s", rc ? err : "ok");
    if (rc) return;
    const model_info *h = model_get_info(m);
    CHECK(h->l2c_version == 2 && h->l2c_group == 64 && h->dim == 192 && h->n_kv_heads == 2 && h->n_vocab == 4096 &&
          h->tied_output && model_tok_embd(m)->type == QT_Q8_0 && h->wtype == QT_Q8_0,
          "stories3M-q80: version 2, groups of 64, GQA 3:1, Q8_0 (%s)", h->format);
    model_close(m);
}

int main(void) {
    snprintf(DIR_, sizeof DIR_, "/tmp/logitlab-test-l2cv-%d", (int)getpid());
    mkdir(DIR_, 0700);
    versions();
    damaged();
    real();
    const char *names[] = { "tok512.bin", "v1.bin", "v2-64.bin", "v2-64-deq.bin", "v2-64-last.bin", "v2-128.bin",
                            "v2-128-deq.bin", "v2-16.bin", "v2-16-deq.bin", "bad.bin" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(T, sizeof T, "%s/%s", DIR_, names[i]);
        remove(T);
    }
    rmdir(DIR_);
    return check_done();
}
