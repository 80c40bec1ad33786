/* Batch, path and thread-count invariance of the engine (docs/architecture.md,
 * "Batch invariance"): a position's logits are a property of its sequence
 * alone (the kernels' side: test_invariance_kernels.c).
 *
 * On the synth-A model in all nine weight types, random sequences
 * evaluated alone token by token (the reference) against random batches
 * mixing prompt chunks and single decode rows of many sequences, at one and
 * two threads, each whole sequence as one prompt, a forked branch stepped
 * token by token, and score_tokens against teacher-forced decoding (a ctx
 * of n_batch 1): every row compared with memcmp; then the same on the lower
 * kernel paths the CPU runs, and one prompt's logits compared across the
 * paths of an ISA level. */
#include "check.h"
#include "ctx.h"
#include "gguf.h"
#include "ggufw.h"
#include "invariance.h"
#include "model.h"
#include "qtypes.h"
#include "score.h"
#include "vecdot.h"
#include <math.h>
#include <unistd.h>

/* Writes a copy of a GGUF with every 2-D tensor converted to type. */
static int convert(const char *in, const char *out, int type) {
    char err[512];
    gguf *g = NULL;
    if (gguf_open(&g, in, err, sizeof err)) { fprintf(stderr, "%s\n", err); return -1; }
    ggufw *w = ggufw_create();
    for (int64_t i = 0; i < gguf_n_kv(g); i++) ggufw_copy_kv(w, gguf_kv_key(g, i), gguf_kv_value(g, i));
    for (int64_t i = 0; i < gguf_n_tensors(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        ggufw_add_tensor(w, t->name, t->n_dims == 2 ? type : (int)t->type, t->n_dims, t->ne);
    }
    int rc = ggufw_begin(w, out, err, sizeof err);
    for (int64_t i = 0; rc == 0 && i < gguf_n_tensors(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        int64_t n = (int64_t)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
        int tt = t->n_dims == 2 ? type : (int)t->type;
        float *buf = malloc((size_t)n * sizeof(float));
        void *q = malloc(qt_row_size(tt, n));
        qt_dequantize_row((int)t->type, t->data, buf, n);
        if (tt == QT_F32) memcpy(q, buf, (size_t)n * sizeof(float));
        else qt_quantize_row(tt, buf, q, n);
        rc = ggufw_write_data(w, q, qt_row_size(tt, n), err, sizeof err);
        free(buf); free(q);
    }
    if (rc == 0) rc = ggufw_end(w, err, sizeof err);
    if (rc) fprintf(stderr, "convert: %s\n", err);
    ggufw_destroy(w);
    gguf_close(g);
    return rc;
}

/* pass_rows: ctx_params.n_pass_rows (a batch evaluated in passes of that
 * many logits rows; 0 automatic) */
static ctx *open_ctx_pass(model *m, int nth, int n_batch, int pass_rows) {
    ctx_params p;
    ctx_params_default(&p);
    p.n_ctx = 512; p.n_batch = n_batch; p.n_seq_max = 16; p.n_threads = nth; p.n_pass_rows = pass_rows;
    ctx *c = NULL;
    char err[256];
    if (ctx_create(&c, m, &p, err, sizeof err)) fprintf(stderr, "ctx_create: %s\n", err);
    return c;
}

static ctx *open_ctx(model *m, int nth, int n_batch) { return open_ctx_pass(m, nth, n_batch, 0); }

enum { NS = 6, MAXL = 32 };
typedef struct ref {
    int32_t len[NS], tok[NS][MAXL];
    float *lg[NS];          /* (len, V): each position alone, token by token */
    int32_t V;
} ref;

/* Counts rows of the batch's logits that differ from the reference. */
static int compare(ctx *c, const ctx_entry *b, const int32_t *which, int32_t n, const ref *R, double *md) {
    int bad = 0, k = 0;
    for (int32_t i = 0; i < n; i++) {
        if (!b[i].logits) continue;
        const float *want = R->lg[which[i]] + (size_t)b[i].pos * R->V, *got = ctx_logits(c, k++);
        if (memcmp(want, got, sizeof(float) * (size_t)R->V)) {
            bad++;
            double d = maxdiff(want, got, (size_t)R->V);
            *md = d > *md ? d : *md;
        }
    }
    return bad;
}

static void engine_case(const char *name, const char *path) {
    char err[512];
    model *m = NULL;
    if (model_open(&m, path, NULL, err, sizeof err)) { CHECK(0, "%s", err); return; }
    ref R;
    R.V = model_get_info(m)->n_vocab;
    ctx *c = open_ctx(m, 1, 64);
    if (!c) { CHECK(0, "%s: no ctx", name); model_close(m); return; }
    for (int s = 0; s < NS; s++) {
        R.len[s] = s == 0 ? 1 : MAXL / 2 + (int32_t)rnd(MAXL / 2 + 1);   /* one of a single token */
        R.tok[s][0] = 1;
        for (int32_t i = 1; i < R.len[s]; i++) R.tok[s][i] = (int32_t)rnd((uint32_t)R.V);
        R.lg[s] = malloc(sizeof(float) * (size_t)R.len[s] * (size_t)R.V);
        int32_t q = ctx_seq_create(c);
        for (int32_t i = 0; i < R.len[s]; i++) {
            ctx_entry e = { q, i, R.tok[s][i], true };
            if (ctx_eval(c, &e, 1, err, sizeof err)) { CHECK(0, "%s: %s", name, err); break; }
            memcpy(R.lg[s] + (size_t)i * R.V, ctx_logits(c, 0), sizeof(float) * (size_t)R.V);
        }
        ctx_seq_drop(c, q);
    }
    ctx_destroy(c);

    /* one and two threads; then two threads with batches cut into passes
     * of three logits rows (ctx_params.n_pass_rows: a prompt's rows and a
     * step's sequences split across passes), for two of the types */
    bool passes = strcmp(name, "q8_0") == 0 || strcmp(name, "f32") == 0;
    const char *name0 = name;
    for (int cfg = 0; cfg < (passes ? 3 : 2); cfg++) {
        int nth = cfg ? 2 : 1, bad = 0, rows = 0, maxb = 0;
        double md = 0;
        c = open_ctx_pass(m, nth, 64, cfg == 2 ? 3 : 0);
        if (cfg == 2) name = !strcmp(name, "f32") ? "f32 in passes of 3" : "q8_0 in passes of 3";
        if (!c) { CHECK(0, "%s: no ctx", name); continue; }
        /* random mixes: each step takes a random chunk (a prompt of many
         * rows, or one decode row) of random sequences, up to 64 rows */
        for (int round = 0; round < 1; round++) {
            int32_t id[NS], done[NS] = {0};
            for (int s = 0; s < NS; s++) id[s] = ctx_seq_create(c);
            for (;;) {
                ctx_entry b[64];
                int32_t which[64], n = 0;
                for (int s0 = (int)rnd(NS), k = 0; k < NS; k++) {
                    int s = (s0 + k) % NS;
                    int32_t left = R.len[s] - done[s];
                    if (!left || rnd(4) == 0) continue;
                    int32_t take = rnd(2) ? 1 : 1 + (int32_t)rnd((uint32_t)left);
                    if (take > left) take = left;
                    if (take > 64 - n) take = 64 - n;
                    for (int32_t t = 0; t < take; t++, n++) {
                        int32_t pos = done[s] + t;
                        b[n] = (ctx_entry){ id[s], pos, R.tok[s][pos], rnd(3) != 0 };
                        which[n] = s;
                    }
                    done[s] += take;
                }
                if (n == 0) {
                    int left = 0;
                    for (int s = 0; s < NS; s++) left += R.len[s] - done[s];
                    if (!left) break;
                    continue;
                }
                if (ctx_eval(c, b, n, err, sizeof err)) { CHECK(0, "%s: %s", name, err); break; }
                bad += compare(c, b, which, n, &R, &md);
                rows += n;
                maxb = n > maxb ? n : maxb;
            }
            for (int s = 0; s < NS; s++) ctx_seq_drop(c, id[s]);
        }
        CHECK(bad == 0, "%s, %d thread(s): %d of %d rows in random batches differ from the sequence alone (max %.3g)",
              name, nth, bad, rows, md);
        /* lockstep: every sequence's prompt in one batch, then steps of one
         * token for every sequence still going (a decode step of several
         * sequences: at two threads cpu_rope_attention's fused region) */
        bad = 0;
        {
            int32_t id[NS], done[NS];
            for (int s = 0; s < NS; s++) { id[s] = ctx_seq_create(c); done[s] = 0; }
            for (bool first = true;; first = false) {
                ctx_entry b[NS * MAXL];
                int32_t which[NS * MAXL], n = 0;
                for (int s = 0; s < NS; s++) {
                    int32_t take = first ? 1 + R.len[s] / 3 : 1;
                    for (int32_t t = 0; t < take && done[s] < R.len[s]; t++, n++) {
                        b[n] = (ctx_entry){ id[s], done[s], R.tok[s][done[s]], true };
                        which[n] = s;
                        done[s]++;
                    }
                }
                if (n == 0) break;
                if (ctx_eval(c, b, n, err, sizeof err)) { CHECK(0, "%s: %s", name, err); break; }
                bad += compare(c, b, which, n, &R, &md);
            }
            for (int s = 0; s < NS; s++) ctx_seq_drop(c, id[s]);
        }
        CHECK(bad == 0, "%s, %d thread(s): %d rows of lockstep decode steps differ from the sequence alone (max %.3g)",
              name, nth, bad, md);
        /* each sequence as one prompt */
        bad = 0;
        for (int s = 0; s < NS; s++) {
            ctx_entry b[MAXL];
            int32_t which[MAXL], q = ctx_seq_create(c);
            for (int32_t i = 0; i < R.len[s]; i++) { b[i] = (ctx_entry){ q, i, R.tok[s][i], true }; which[i] = s; }
            if (ctx_eval(c, b, R.len[s], err, sizeof err)) CHECK(0, "%s: %s", name, err);
            else bad += compare(c, b, which, R.len[s], &R, &md);
            ctx_seq_drop(c, q);
        }
        CHECK(bad == 0, "%s, %d thread(s): %d prompt rows differ from token-by-token decoding (max %.3g)", name, nth, bad, md);
        /* a branch forked mid-prompt, stepped token by token */
        bad = 0;
        for (int s = 0; s < NS; s++) {
            if (R.len[s] < 3) continue;
            int32_t cut = 1 + (int32_t)rnd((uint32_t)R.len[s] - 2), q = ctx_seq_create(c);
            ctx_entry b[MAXL];
            for (int32_t i = 0; i < cut; i++) b[i] = (ctx_entry){ q, i, R.tok[s][i], false };
            if (ctx_eval(c, b, cut, err, sizeof err)) { CHECK(0, "%s: %s", name, err); ctx_seq_drop(c, q); continue; }
            int32_t f = ctx_seq_fork(c, q);
            for (int32_t i = cut; i < R.len[s]; i++) {
                ctx_entry e = { f, i, R.tok[s][i], true };
                if (ctx_eval(c, &e, 1, err, sizeof err)) { CHECK(0, "%s: %s", name, err); break; }
                bad += compare(c, &e, &s, 1, &R, &md);
            }
            ctx_seq_drop(c, f);
            ctx_seq_drop(c, q);
        }
        CHECK(bad == 0, "%s, %d thread(s): %d rows of a forked branch differ (max %.3g)", name, nth, bad, md);
        printf("# %-5s %d thread(s): %d rows in random batches (up to %d a step), prompts, branches: identical\n",
               name, nth, rows, maxb);
        ctx_destroy(c);
    }
    name = name0;

    /* score_tokens (batched) against teacher-forced decoding (n_batch 1) */
    ctx *cb = open_ctx(m, 2, 64), *c1 = open_ctx(m, 1, 1);
    int bad = 0;
    for (int s = 0; cb && c1 && s < NS; s++) {
        if (R.len[s] < 2) continue;
        int32_t n = R.len[s];
        float a[MAXL], b[MAXL];
        double sa = 0, sb = 0;
        if (score_tokens(cb, R.tok[s], n, 1, a, &sa, err, sizeof err) ||
            score_tokens(c1, R.tok[s], n, 1, b, &sb, err, sizeof err)) { CHECK(0, "%s: %s", name, err); break; }
        bad += memcmp(a, b, sizeof(float) * (size_t)(n - 1)) != 0 || memcmp(&sa, &sb, sizeof sa) != 0;
    }
    CHECK(bad == 0, "%s: score_tokens differs from teacher-forced decoding for %d sequences", name, bad);
    ctx_destroy(cb);
    ctx_destroy(c1);
    for (int s = 0; s < NS; s++) free(R.lg[s]);
    model_close(m);
}

/* Across kernel paths of one ISA level (vecdot.h: with and without VNNI):
 * one fixed sequence as a prompt of PL rows, two threads, every row's
 * logits; the first path that probes a type keeps them and the other must
 * give the same bits. Within a path engine_case ties prompts to
 * token-by-token decoding, so decode agrees across the two paths too.
 * Across ISA levels only the products are bitwise equal (test_invariance_kernels.c):
 * attention's float dots keep AVX-512's own order there, and portable's
 * expf is not the SIMD exp; Q8_0 activations mostly absorb such an ulp in
 * their fp16 scale, Q8_K's float scale passes it on (synth-A Q4_K: a few
 * rows 4e-6 apart between AVX2 and AVX-512). */
enum { PL = 12 };
static float *probe_ref[NTYPES][3];
static const char *probe_from[NTYPES][3];

static void path_probe(int ti, const char *name, const char *path) {
    char err[256];
    model *m = NULL;
    if (model_open(&m, path, NULL, err, sizeof err)) { CHECK(0, "%s probe: %s", name, err); return; }
    int32_t V = model_get_info(m)->n_vocab;
    ctx *c = open_ctx(m, 2, 64);
    float *lg = malloc(sizeof(float) * PL * (size_t)V);
    ctx_entry b[PL];
    int32_t q = c ? ctx_seq_create(c) : -1;
    for (int32_t i = 0; i < PL; i++) b[i] = (ctx_entry){ q, i, i ? (i * 7919 + 13) % V : 1, true };
    if (!c || ctx_eval(c, b, PL, err, sizeof err)) {
        CHECK(0, "%s probe: %s", name, c ? err : "no ctx");
    } else {
        for (int32_t i = 0; i < PL; i++) memcpy(lg + (size_t)i * V, ctx_logits(c, i), sizeof(float) * (size_t)V);
        int order = vd_isa();
        const char *pn = vd_path_name(vd_path());
        if (!probe_ref[ti][order]) {
            probe_ref[ti][order] = lg;
            probe_from[ti][order] = pn;
            lg = NULL;
        } else {
            int bad = 0;
            for (int32_t i = 0; i < PL; i++)
                bad += memcmp(lg + (size_t)i * V, probe_ref[ti][order] + (size_t)i * V, sizeof(float) * (size_t)V) != 0;
            CHECK(bad == 0, "%s: %d of %d prompt rows on path %s differ from path %s", name, bad, PL, pn,
                  probe_from[ti][order]);
        }
    }
    free(lg);
    ctx_destroy(c);
    model_close(m);
}

/* engine_case on synth-A in every type (quant_only: the quantized ones;
 * probe_only: none), each case named TYPE + suffix: the shared files where
 * they exist, else converted from its F16 file f16; path_probe on every type */
static void engine_types(const char *f16, const char *suffix, bool quant_only, bool probe_only) {
    static const struct { const char *name; int type; const char *file; } M[] = {
        { "f32", QT_F32, NULL }, { "f16", QT_F16, "synth-A-f16" }, { "bf16", QT_BF16, NULL },
        { "q8_0", QT_Q8_0, "synth-A-q8_0" }, { "q4_0", QT_Q4_0, "synth-A-q4_0" }, { "q5_0", QT_Q5_0, NULL },
        { "q4_K", QT_Q4_K, "synth-A-q4_k" }, { "q5_K", QT_Q5_K, NULL }, { "q6_K", QT_Q6_K, "synth-A-q6_k" },
    };
    for (size_t i = 0; i < sizeof M / sizeof M[0]; i++) {
        bool flt = M[i].type == QT_F32 || M[i].type == QT_F16 || M[i].type == QT_BF16;
        char path[1024], rel[256], name[64];
        snprintf(name, sizeof name, "%s%s", M[i].name, suffix);
        if (M[i].file) {
            snprintf(rel, sizeof rel, "models/synthetic/%s.gguf", M[i].file);
            check_path(path, sizeof path, rel);
        } else {
            snprintf(path, sizeof path, "/tmp/logitlab-test-inv-%s-%d.gguf", M[i].name, (int)getpid());
            if (convert(f16, path, M[i].type)) { CHECK(0, "cannot convert synth-A-f16 to %s", M[i].name); continue; }
        }
        if (!probe_only && (!quant_only || !flt)) engine_case(name, path);
        int ti = 0;
        while (TYPES[ti] != M[i].type) ti++;
        path_probe(ti, name, path);
        if (!M[i].file) remove(path);
    }
}

/* Under ASAN the lower paths' engine rounds are left to the plain build
 * (path_probe still runs there): they run the same engine code as the best
 * path's round, their kernels are checked under ASAN by test_invariance_kernels.c and
 * test_quant, and they cost ~80 s of CI's 30-minute budget. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED true
#else
#define SANITIZED false
#endif

int main(void) {
    vd_init();
    char f16[1024];
    check_path(f16, sizeof f16, "models/synthetic/synth-A-f16.gguf");
    engine_types(f16, "", false, false);
    /* the whole engine on the lower kernel paths this CPU runs too (AVX2
     * alone: repacked Q4_0/Q5_0/Q4_K/Q5_K/Q6_K, eight-wide Q4_0/Q8_0;
     * AVX-VNNI), for the quantized types (the float tiles are covered per
     * kernel); AVX-512 alone runs those same AVX2 kernels (test_invariance_kernels.c):
     * there path_probe only, for every type, as on every path */
    int best = vd_path_best(), npath = 1;
    for (int p = best - 1; p > VD_PATH_PORTABLE; p--) {
        if (!vd_set_path(p)) continue;
        char suffix[32];
        snprintf(suffix, sizeof suffix, " %s", vd_path_name(p));
        engine_types(f16, suffix, true, (p != VD_PATH_AVX2 && p != VD_PATH_AVXVNNI) || SANITIZED);
        npath++;
    }
    vd_set_path(best);
    printf("# engine on %d kernel paths, best %s\n", npath, vd_path_name(best));
    for (int t = 0; t < NTYPES; t++)
        for (int o = 0; o < 3; o++) free(probe_ref[t][o]);
    return check_done();
}
