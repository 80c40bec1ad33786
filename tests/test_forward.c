/* The forward pass against llama.cpp's reference logits (shared/golden):
 * stories260K in GGUF and llama2.c form (every row within 1e-4, the 200-token
 * greedy continuations identical), and the synthetic GQA models in every
 * weight type (F32/F16 within 0.02; quantized within 0.15 RMS and the same
 * top-1 at >= 42 of 48 positions). Prints the measured deviations. */
#include "golden.h"
#include "ctx.h"
#include "gguf.h"
#include "ggufw.h"
#include "model.h"
#include "qtypes.h"
#include <math.h>
#include <unistd.h>

/* max that lets a NaN through as infinity, so a NaN logit can never pass */
static double worse(double m, double d) { d = fabs(d); return d <= m ? m : (isnan(d) ? INFINITY : d); }

static char P[1024], Q[1024];

static ctx *open_ctx(model *m, int n_batch) {
    ctx_params p;
    ctx_params_default(&p);
    p.n_ctx = 512; p.n_batch = n_batch; p.n_seq_max = 8;
    ctx *c = NULL;
    char err[256];
    if (ctx_create(&c, m, &p, err, sizeof err)) fprintf(stderr, "ctx_create: %s\n", err);
    return c;
}

static int argmax(const float *v, int32_t n) {
    int best = 0;
    for (int32_t i = 1; i < n; i++) if (v[i] > v[best]) best = i;
    return best;
}

/* Teacher-forced rows (prompt in one batch, then one token per call) and a
 * free greedy run; returns max |diff| over all rows. */
static void stories_case(const char *model_path, const char *name) {
    char err[512];
    model *m = NULL;
    if (model_open(&m, model_path, NULL, err, sizeof err)) { CHECK(0, "%s", err); return; }
    snprintf(Q, sizeof Q, "golden/stories260K/%s.json", name);
    json_doc *d = golden_json(check_path(P, sizeof P, Q));
    snprintf(Q, sizeof Q, "golden/stories260K/%s.f32", name);
    size_t fbytes = 0;
    float *ref = check_slurp(check_path(P, sizeof P, Q), &fbytes);
    if (!d || !ref) { CHECK(0, "golden %s missing", name); model_close(m); json_free(d); free(ref); return; }
    int32_t nt, np, ng;
    int32_t *toks = golden_ints(json_get(json_root(d), "tokens"), &nt);
    int32_t *ptoks = golden_ints(json_get(json_root(d), "prompt_tokens"), &np);
    int32_t *gen = golden_ints(json_get(json_root(d), "generated_tokens"), &ng);
    int32_t V = model_get_info(m)->n_vocab;
    CHECK(fbytes == (size_t)nt * V * 4, "%s: golden size", name);

    ctx *c = open_ctx(m, 64);
    int32_t s = ctx_seq_create(c);
    ctx_entry b[64];
    for (int32_t i = 0; i < np; i++) b[i] = (ctx_entry){ s, i, toks[i], true };
    double maxd = 0;
    int rc = ctx_eval(c, b, np, err, sizeof err);
    CHECK(rc == 0, "%s: prompt eval: %s", name, err);
    for (int32_t i = 0; rc == 0 && i < np; i++)
        for (int32_t j = 0; j < V; j++) maxd = worse(maxd, ctx_logits(c, i)[j] - ref[(size_t)i * V + j]);
    for (int32_t i = np; rc == 0 && i < nt; i++) {
        ctx_entry e = { s, i, toks[i], true };
        if ((rc = ctx_eval(c, &e, 1, err, sizeof err))) { CHECK(0, "%s: eval %d: %s", name, i, err); break; }
        for (int32_t j = 0; j < V; j++) maxd = worse(maxd, ctx_logits(c, 0)[j] - ref[(size_t)i * V + j]);
    }
    CHECK(maxd < 1e-4, "%s (%s): max |logit - llama.cpp| = %.3g over %d rows (limit 1e-4)", name, model_path, maxd, nt);
    printf("%-22s %-9s rows %3d  max|diff| %.2e\n", name, strstr(model_path, ".bin") ? "llama2.c" : "gguf", nt, maxd);

    /* greedy from the prompt alone, in a fresh sequence */
    ctx_seq_drop(c, s);
    s = ctx_seq_create(c);
    for (int32_t i = 0; i < np; i++) b[i] = (ctx_entry){ s, i, ptoks[i], i == np - 1 };
    rc = ctx_eval(c, b, np, err, sizeof err);
    int same = 0;
    for (int32_t t = 0; rc == 0 && t < ng; t++) {
        int next = argmax(ctx_logits(c, 0), V);
        if (next != gen[t]) break;
        same++;
        ctx_entry e = { s, np + t, next, true };
        rc = ctx_eval(c, &e, 1, err, sizeof err);
    }
    CHECK(same == ng, "%s: greedy continuation identical for %d of %d tokens", name, same, ng);
    ctx_destroy(c);
    model_close(m);
    json_free(d); free(ref); free(toks); free(ptoks); free(gen);
}

/* Writes a copy of a GGUF with every F16 tensor widened to F32. */
static int widen_to_f32(const char *in, const char *out) {
    char err[512];
    gguf *g = NULL;
    if (gguf_open(&g, in, err, sizeof err)) { fprintf(stderr, "%s\n", err); return -1; }
    ggufw *w = ggufw_create();
    for (int64_t i = 0; i < gguf_n_kv(g); i++) ggufw_copy_kv(w, gguf_kv_key(g, i), gguf_kv_value(g, i));
    ggufw_set_u32(w, "general.file_type", 0);
    for (int64_t i = 0; i < gguf_n_tensors(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        ggufw_add_tensor(w, t->name, QT_F32, t->n_dims, t->ne);
    }
    int rc = ggufw_begin(w, out, err, sizeof err);
    for (int64_t i = 0; rc == 0 && i < gguf_n_tensors(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        uint64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
        float *buf = malloc(n * sizeof(float));
        qt_dequantize_row((int)t->type, t->data, buf, (int64_t)n);
        rc = ggufw_write_data(w, buf, n * sizeof(float), err, sizeof err);
        free(buf);
    }
    if (rc == 0) rc = ggufw_end(w, err, sizeof err);
    if (rc) fprintf(stderr, "widen: %s\n", err);
    ggufw_destroy(w);
    gguf_close(g);
    return rc;
}

static void synth_case(const char *type) {
    char err[512], path[1024];
    if (strcmp(type, "f32") == 0) {
        snprintf(path, sizeof path, "/tmp/logitlab-test-synth-A-f32-%d.gguf", (int)getpid());
        if (widen_to_f32(check_path(P, sizeof P, "models/synthetic/synth-A-f16.gguf"), path)) {
            CHECK(0, "cannot widen synth-A-f16 to F32"); return;
        }
    } else {
        snprintf(Q, sizeof Q, "models/synthetic/synth-A-%s.gguf", type);
        check_path(path, sizeof path, Q);
    }
    model *m = NULL;
    if (model_open(&m, path, NULL, err, sizeof err)) { CHECK(0, "%s", err); return; }
    snprintf(Q, sizeof Q, "golden/synthetic/synth-A-%s.json", type);
    json_doc *d = golden_json(check_path(P, sizeof P, Q));
    snprintf(Q, sizeof Q, "golden/synthetic/synth-A-%s.last.f32", type);
    float *last = check_slurp(check_path(P, sizeof P, Q), NULL);
    snprintf(Q, sizeof Q, "golden/synthetic/synth-A-%s.top64_ids.i32", type);
    int32_t *tids = check_slurp(check_path(P, sizeof P, Q), NULL);
    snprintf(Q, sizeof Q, "golden/synthetic/synth-A-%s.top64_logits.f32", type);
    float *tlog = check_slurp(check_path(P, sizeof P, Q), NULL);
    int32_t nt;
    int32_t *toks = d ? golden_ints(json_get(json_root(d), "tokens"), &nt) : NULL;
    if (!d || !last || !tids || !tlog || !toks) { CHECK(0, "golden synth %s missing", type); goto out; }
    int32_t V = model_get_info(m)->n_vocab;
    ctx *c = open_ctx(m, 64);
    int32_t s = ctx_seq_create(c);
    ctx_entry b[64];
    for (int32_t i = 0; i < nt; i++) b[i] = (ctx_entry){ s, i, toks[i], true };
    if (ctx_eval(c, b, nt, err, sizeof err)) { CHECK(0, "synth %s eval: %s", type, err); ctx_destroy(c); goto out; }
    double maxd = 0, ss = 0;
    long cnt = 0;
    int top1 = 0;
    for (int32_t i = 0; i < nt; i++) {
        const float *l = ctx_logits(c, i);
        for (int k = 0; k < 64; k++) {
            double dd = l[tids[i * 64 + k]] - tlog[i * 64 + k];
            maxd = worse(maxd, dd); ss += dd * dd; cnt++;
        }
        top1 += argmax(l, V) == tids[i * 64];
    }
    const float *l = ctx_logits(c, nt - 1);
    for (int32_t j = 0; j < V; j++) {
        double dd = l[j] - last[j];
        maxd = worse(maxd, dd); ss += dd * dd; cnt++;
    }
    double rms = sqrt(ss / (double)cnt);
    bool is_float = strcmp(type, "f32") == 0 || strcmp(type, "f16") == 0;
    if (is_float) CHECK(maxd < 0.02, "synth-A-%s: max |diff| %.4g (limit 0.02)", type, maxd);
    else CHECK(rms < 0.15, "synth-A-%s: RMS diff %.4g (limit 0.15)", type, rms);
    CHECK(top1 >= 42, "synth-A-%s: top-1 agrees at %d of %d positions (need 42)", type, top1, nt);
    printf("synth-A-%-5s max|diff| %.2e  RMS %.2e  top-1 %d/%d\n", type, maxd, rms, top1, nt);
    ctx_destroy(c);
out:
    if (strcmp(type, "f32") == 0) remove(path);
    model_close(m); json_free(d); free(last); free(tids); free(tlog); free(toks);
}

int main(void) {
    const char *cases[] = { "s1_bos_only", "s2_once_upon_a_time", "s3_tom_and_mia", "s4_quote_newline" };
    char gg[1024], bin[1024];
    check_path(gg, sizeof gg, "models/stories260K.gguf");
    for (int i = 0; i < 4; i++) stories_case(gg, cases[i]);
    stories_case(check_path(bin, sizeof bin, "models/stories260K.bin"), "s2_once_upon_a_time");
    const char *types[] = { "f32", "f16", "q8_0", "q4_0", "q4_k", "q6_k" };
    for (int i = 0; i < 6; i++) synth_case(types[i]);
    return check_done();
}
