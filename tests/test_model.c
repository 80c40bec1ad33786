/* Model loading beyond the golden files: variants of stories260K written
 * with the GGUF writer (missing or misshapen tensors, another architecture,
 * bad hyperparameters, a rope_freqs tensor), llama2.c checkpoints with a
 * separate classifier or cut short, and the weight types the golden set does
 * not cover (BF16, Q5_0, Q5_K), checked against the F32 reference. */
#include "golden.h"
#include "ctx.h"
#include "gguf.h"
#include "ggufw.h"
#include "model.h"
#include "qtypes.h"
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

static char P[1024], T[1024];

/* Edit applied while copying a GGUF: may rename/skip keys and tensors. */
typedef struct edit {
    const char *skip_tensor;     /* leave this tensor out */
    const char *set_arch;        /* general.architecture */
    int heads;                   /* llama.attention.head_count, 0 = keep */
    bool add_rope_freqs;         /* rope_freqs.weight of ones */
    bool bad_shape;              /* blk.0.attn_q.weight declared [64, 32] */
    int retype;                  /* convert 2-D weights to this type, -1 = keep */
    bool set_ctx;                /* llama.context_length = ctx_len (as i32) */
    int ctx_len;
    float poison;                /* nonzero: output_norm.weight[0] = poison (NaN, Inf) */
} edit;

static int copy_gguf(const char *in, const char *out, const edit *e) {
    char err[512];
    gguf *g = NULL;
    if (gguf_open(&g, in, err, sizeof err)) { fprintf(stderr, "%s\n", err); return -1; }
    ggufw *w = ggufw_create();
    int rope_dim = 0;
    for (int64_t i = 0; i < gguf_n_kv(g); i++) {
        const char *k = gguf_kv_key(g, i);
        if (e->set_arch && strcmp(k, "general.architecture") == 0) { ggufw_set_str(w, k, e->set_arch); continue; }
        if (e->heads && strcmp(k, "llama.attention.head_count") == 0) { ggufw_set_u32(w, k, (uint32_t)e->heads); continue; }
        if (e->set_ctx && strcmp(k, "llama.context_length") == 0) { ggufw_set_i32(w, k, e->ctx_len); continue; }
        if (strcmp(k, "llama.rope.dimension_count") == 0) rope_dim = (int)gguf_kv_value(g, i)->num.u;
        ggufw_copy_kv(w, k, gguf_kv_value(g, i));
    }
    int types[512];
    for (int64_t i = 0; i < gguf_n_tensors(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        if (e->skip_tensor && strcmp(t->name, e->skip_tensor) == 0) continue;
        uint64_t ne[4] = { t->ne[0], t->ne[1], t->ne[2], t->ne[3] };
        if (e->bad_shape && strcmp(t->name, "blk.0.attn_q.weight") == 0) ne[1] = 32;
        types[i] = e->retype >= 0 && t->n_dims == 2 ? e->retype : (int)t->type;
        ggufw_add_tensor(w, t->name, (uint32_t)types[i], t->n_dims, ne);
    }
    if (e->add_rope_freqs) { uint64_t ne[4] = { (uint64_t)rope_dim / 2, 1, 1, 1 }; ggufw_add_tensor(w, "rope_freqs.weight", QT_F32, 1, ne); }
    int rc = ggufw_begin(w, out, err, sizeof err);
    for (int64_t i = 0; rc == 0 && i < gguf_n_tensors(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        if (e->skip_tensor && strcmp(t->name, e->skip_tensor) == 0) continue;
        uint64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
        if (e->bad_shape && strcmp(t->name, "blk.0.attn_q.weight") == 0) n /= 2;
        float *f = malloc(n * sizeof(float));
        qt_dequantize_row((int)t->type, t->data, f, (int64_t)n);
        if (e->poison != 0 && strcmp(t->name, "output_norm.weight") == 0) f[0] = e->poison;
        size_t bytes = qt_row_size(types[i], (int64_t)t->ne[0]) * (n / t->ne[0]);
        void *q = malloc(bytes);
        for (uint64_t r = 0; r < n / t->ne[0]; r++)
            qt_quantize_row(types[i], f + r * t->ne[0], (char *)q + r * qt_row_size(types[i], (int64_t)t->ne[0]), (int64_t)t->ne[0]);
        rc = ggufw_write_data(w, q, bytes, err, sizeof err);
        free(f); free(q);
    }
    if (rc == 0 && e->add_rope_freqs) {
        float ones[256];
        for (int i = 0; i < 256; i++) ones[i] = 1.0f;
        rc = ggufw_write_data(w, ones, sizeof(float) * (size_t)rope_dim / 2, err, sizeof err);
    }
    if (rc == 0) rc = ggufw_end(w, err, sizeof err);
    if (rc) fprintf(stderr, "copy_gguf: %s\n", err);
    ggufw_destroy(w);
    gguf_close(g);
    return rc;
}

/* Last-position logits of `toks` under the model at path (n_vocab floats, caller frees). */
static float *last_logits(const char *path, const int32_t *toks, int n) {
    char err[512];
    model *m = NULL;
    if (model_open(&m, path, NULL, err, sizeof err)) { fprintf(stderr, "%s\n", err); return NULL; }
    ctx_params p;
    ctx_params_default(&p);
    p.n_ctx = 128; p.n_batch = 64; p.n_seq_max = 2;
    ctx *c = NULL;
    float *out = NULL;
    if (ctx_create(&c, m, &p, err, sizeof err) == 0) {
        int32_t s = ctx_seq_create(c);
        ctx_entry b[64];
        for (int i = 0; i < n; i++) b[i] = (ctx_entry){ s, i, toks[i], i == n - 1 };
        if (ctx_eval(c, b, n, err, sizeof err) == 0) {
            int32_t V = model_get_info(m)->n_vocab;
            out = malloc(sizeof(float) * (size_t)V);
            memcpy(out, ctx_logits(c, 0), sizeof(float) * (size_t)V);
        }
        ctx_destroy(c);
    }
    model_close(m);
    return out;
}

static void expect_refused(const char *what, const edit *e, const char *needle) {
    char err[512] = "";
    snprintf(T, sizeof T, "/tmp/logitlab-test-model-%d.gguf", (int)getpid());
    if (copy_gguf(check_path(P, sizeof P, "models/stories260K.gguf"), T, e)) { CHECK(0, "%s: cannot write the variant", what); return; }
    model *m = NULL;
    int rc = model_open(&m, T, NULL, err, sizeof err);
    CHECK(rc != 0 && m == NULL && strstr(err, needle) && strstr(err, T), "%s refused with a message naming the file and '%s': %s", what, needle, err);
    model_close(m);
    remove(T);
}

static void llama2c_variants(void) {
    size_t n = 0;
    char *bin = check_slurp(check_path(P, sizeof P, "models/stories260K.bin"), &n);
    if (!bin) { CHECK(0, "stories260K.bin missing"); return; }
    int32_t hd[7];
    memcpy(hd, bin, sizeof hd);
    size_t emb = (size_t)hd[5] * (size_t)hd[0] * sizeof(float);
    /* a separate classifier: negative vocab size, a copy of the embedding appended */
    char dir[256];
    snprintf(dir, sizeof dir, "/tmp/logitlab-test-l2c-%d", (int)getpid());
    mkdir(dir, 0700);
    snprintf(T, sizeof T, "%s/tok512.bin", dir);
    size_t tl = 0;
    char *tokb = check_slurp(check_path(P, sizeof P, "models/tok512.bin"), &tl);
    FILE *f = fopen(T, "wb"); fwrite(tokb, 1, tl, f); fclose(f);
    snprintf(T, sizeof T, "%s/sep.bin", dir);
    f = fopen(T, "wb");
    int32_t neg = -hd[5];
    fwrite(bin, 1, 20, f); fwrite(&neg, 4, 1, f); fwrite(bin + 24, 1, n - 24, f);
    fwrite(bin + 28, 1, emb, f);
    fclose(f);
    int32_t toks[5] = { 1, 403, 407, 261, 378 };
    float *a = last_logits(check_path(P, sizeof P, "models/stories260K.bin"), toks, 5);
    float *b = last_logits(T, toks, 5);
    double d = 0;
    for (int i = 0; a && b && i < hd[5]; i++) d = fmax(d, fabs(a[i] - b[i]));
    CHECK(a && b && d == 0, "llama2.c with a separate classifier equals the shared one (diff %g)", d);
    free(a); free(b);
    /* cut short: refused with the expected size */
    f = fopen(T, "wb"); fwrite(bin, 1, n / 2, f); fclose(f);
    char err[512] = "";
    model *m = NULL;
    CHECK(model_open(&m, T, NULL, err, sizeof err) != 0 && strstr(err, "does not match"), "truncated llama2.c refused: %s", err);
    /* absurd header */
    int32_t bad[7] = { 64, 172, 5, 7, 4, 512, 512 };
    f = fopen(T, "wb"); fwrite(bad, 4, 7, f); fwrite(bin + 28, 1, n - 28, f); fclose(f);
    CHECK(model_open(&m, T, NULL, err, sizeof err) != 0 && strstr(err, "head count"), "bad llama2.c header refused: %s", err);
    /* no tokenizer beside it */
    remove(T);
    snprintf(T, sizeof T, "%s/tok512.bin", dir); remove(T);
    snprintf(T, sizeof T, "%s/sep.bin", dir);
    f = fopen(T, "wb"); fwrite(bin, 1, n, f); fclose(f);
    CHECK(model_open(&m, T, NULL, err, sizeof err) != 0 && strstr(err, "tokenizer.bin"), "missing tokenizer reported: %s", err);
    remove(T); rmdir(dir);
    free(bin); free(tokb);
}

/* BF16, Q5_0 and Q5_K made from synth-A-f16 by our quantizer, against the
 * F32 reference logits: bounds a little wider than llama.cpp's own yardstick
 * for the neighbouring types (Q8_0 RMS 0.105, Q4_K 1.02). */
static void other_types(void) {
    struct { int type; const char *name; double rms; int top1; } cases[] = {
        { QT_BF16, "bf16", 0.15, 40 }, { QT_Q5_0, "q5_0", 1.0, 20 }, { QT_Q5_K, "q5_K", 0.8, 24 } };
    json_doc *d = golden_json(check_path(P, sizeof P, "golden/synthetic/synth-A-f32.json"));
    float *last = check_slurp(check_path(P, sizeof P, "golden/synthetic/synth-A-f32.last.f32"), NULL);
    int32_t nt = 0, *toks = d ? golden_ints(json_get(json_root(d), "tokens"), &nt) : NULL;
    if (!d || !last) { CHECK(0, "synthetic golden missing"); json_free(d); free(last); free(toks); return; }
    for (int k = 0; k < 3; k++) {
        snprintf(T, sizeof T, "/tmp/logitlab-test-%s-%d.gguf", cases[k].name, (int)getpid());
        edit e = { .retype = cases[k].type };
        if (copy_gguf(check_path(P, sizeof P, "models/synthetic/synth-A-f16.gguf"), T, &e)) { CHECK(0, "write %s", cases[k].name); continue; }
        float *l = last_logits(T, toks, nt);
        double ss = 0;
        int am = 0, ar = 0;
        for (int i = 0; l && i < 32000; i++) {
            ss += (l[i] - last[i]) * (double)(l[i] - last[i]);
            if (l[i] > l[am]) am = i;
            if (last[i] > last[ar]) ar = i;
        }
        double rms = sqrt(ss / 32000);
        CHECK(l && rms < cases[k].rms, "synth-A as %s: RMS %.3f vs F32 (limit %.2f)", cases[k].name, rms, cases[k].rms);
        printf("synth-A-%-5s (our quantizer) vs F32 reference: RMS %.3f, argmax %s\n", cases[k].name, rms, am == ar ? "same" : "differs");
        free(l);
        remove(T);
    }
    json_free(d); free(last); free(toks);
}

/* Issue 13, item 21: weights holding NaN or Inf load (the file is well
 * formed) but evaluation stops with CTX_ENONFINITE naming the model, instead
 * of generating <unk> from NaN logits. */
static void nonfinite_weights(void) {
    const float poisons[] = { NAN, INFINITY };
    for (int k = 0; k < 2; k++) {
        snprintf(T, sizeof T, "/tmp/logitlab-test-nan-%d.gguf", (int)getpid());
        if (copy_gguf(check_path(P, sizeof P, "models/stories260K.gguf"), T, &(edit){ .retype = -1, .poison = poisons[k] })) {
            CHECK(0, "cannot write the poisoned variant");
            return;
        }
        char err[512] = "";
        model *m = NULL;
        ctx *c = NULL;
        ctx_params p;
        ctx_params_default(&p);
        p.n_ctx = 64; p.n_batch = 8; p.n_seq_max = 1;
        int rc = model_open(&m, T, NULL, err, sizeof err);
        if (!rc) rc = ctx_create(&c, m, &p, err, sizeof err);
        CHECK(rc == 0, "the poisoned model opens (%s)", err);
        if (!rc) {
            int32_t s = ctx_seq_create(c);
            ctx_entry b[2] = { { s, 0, 1, false }, { s, 1, 403, true } };
            rc = ctx_eval(c, b, 2, err, sizeof err);
            CHECK(rc == CTX_ENONFINITE && strstr(err, T) && strstr(err, "NaN or infinite"), "%s weights: %d %s",
                  k ? "Inf" : "NaN", rc, err);
            CHECK(ctx_seq_len(c, s) == 0, "the batch is undone");
        }
        ctx_destroy(c);
        model_close(m);
        remove(T);
    }
}

int main(void) {
    nonfinite_weights();
    expect_refused("context length 0", &(edit){ .retype = -1, .set_ctx = true, .ctx_len = 0 }, "context length 0");
    expect_refused("context length -5", &(edit){ .retype = -1, .set_ctx = true, .ctx_len = -5 }, "context length -5");
    expect_refused("a missing tensor", &(edit){ .skip_tensor = "blk.3.ffn_down.weight", .retype = -1 }, "blk.3.ffn_down.weight");
    expect_refused("a misshapen tensor", &(edit){ .bad_shape = true, .retype = -1 }, "shape");
    expect_refused("another architecture", &(edit){ .set_arch = "gpt2", .retype = -1 }, "not supported");
    expect_refused("heads not dividing dim", &(edit){ .heads = 7, .retype = -1 }, "head count");
    expect_refused("the embedding missing", &(edit){ .skip_tensor = "token_embd.weight", .retype = -1 }, "token_embd.weight");

    /* rope_freqs of ones (Llama 3.1 layout) loads and changes nothing */
    snprintf(T, sizeof T, "/tmp/logitlab-test-rope-%d.gguf", (int)getpid());
    int32_t toks[6] = { 1, 403, 407, 261, 378, 432 };
    if (copy_gguf(check_path(P, sizeof P, "models/stories260K.gguf"), T, &(edit){ .add_rope_freqs = true, .retype = -1 }) == 0) {
        float *a = last_logits(check_path(P, sizeof P, "models/stories260K.gguf"), toks, 6), *b = last_logits(T, toks, 6);
        double d = 0;
        for (int i = 0; a && b && i < 512; i++) d = fmax(d, fabs(a[i] - b[i]));
        CHECK(a && b && d == 0, "rope_freqs of ones changes nothing (diff %g)", d);
        char err[256];
        model *m = NULL;
        CHECK(model_open(&m, T, NULL, err, sizeof err) == 0 && model_get_info(m)->has_rope_freqs, "rope_freqs detected");
        model_close(m);
        free(a); free(b);
        remove(T);
    } else CHECK(0, "cannot write the rope_freqs variant");

    llama2c_variants();
    other_types();
    return check_done();
}
