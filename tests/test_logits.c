/* The logits toolkit: distributions on small hand-worked vectors (values
 * computed on paper / to 7 digits with a calculator), stability at extreme
 * and masked logits, ranking with ties and NaN, top-k against the golden
 * llama.cpp top-64 lists, mixes and their vocabulary check, bias and masks. */
#include "golden.h"
#include "logits.h"
#include "model.h"
#include "tok.h"
#include "vecdot.h"
#include <math.h>
#include <stdlib.h>

static char P[4096];

static void distributions(void) {
    float x[4] = { logf(1), logf(2), logf(3), logf(4) }, p[4], lp[4];
    logits_softmax(x, 4, p);
    for (int i = 0; i < 4; i++) CHECK_NEAR(p[i], 0.1 * (i + 1), 1e-7, "softmax[%d] = %g", i, p[i]);
    CHECK_NEAR(logits_logsumexp(x, 4), log(10.0), 1e-6, "logsumexp = log 10");
    logits_log_softmax(x, 4, lp);
    for (int i = 0; i < 4; i++) CHECK_NEAR(lp[i], log(0.1 * (i + 1)), 1e-6, "log_softmax[%d]", i);
    /* -sum p ln p for (.1,.2,.3,.4): .2302585 + .3218876 + .3611918 + .3665163 */
    CHECK_NEAR(logits_entropy(p, 4), 1.2798542, 1e-6, "entropy nats = %.7f", logits_entropy(p, 4));
    CHECK_NEAR(logits_entropy_bits(p, 4), 1.8464393, 1e-6, "entropy bits = %.7f", logits_entropy_bits(p, 4));
    CHECK_NEAR(logits_entropy_of(x, 4), 1.2798542, 1e-6, "entropy from logits");

    /* shifting by 1000 changes nothing; in place works */
    float big[3] = { 1000, 1001, 1002 }, small[3] = { 0, 1, 2 }, ps[3];
    logits_softmax(small, 3, ps);
    logits_softmax(big, 3, big);
    for (int i = 0; i < 3; i++) CHECK_NEAR(big[i], ps[i], 1e-7, "softmax shift invariance %d", i);
    CHECK_NEAR(ps[2], 0.66524096, 1e-7, "softmax(0,1,2)[2] = e^2/(1+e+e^2)");
    float neg[3] = { -1e4f, -1e4f + 1, -1e4f + 2 };
    CHECK_NEAR(logits_logsumexp(neg, 3), -1e4 + 2 + log(1 + exp(-1.0) + exp(-2.0)), 1e-3, "logsumexp at -1e4");
    CHECK_NEAR(logits_entropy_of(neg, 3), logits_entropy(ps, 3), 1e-6, "entropy at -1e4");

    /* masked entries */
    float m[4] = { -INFINITY, 0, -INFINITY, 0 }, pm[4];
    logits_softmax(m, 4, pm);
    CHECK(pm[0] == 0 && pm[2] == 0 && fabsf(pm[1] - 0.5f) < 1e-7f, "masked softmax");
    CHECK_NEAR(logits_entropy_of(m, 4), log(2.0), 1e-7, "masked entropy = ln 2");
    float all[2] = { -INFINITY, -INFINITY }, pa[2];
    logits_softmax(all, 2, pa);
    CHECK(pa[0] == 0 && pa[1] == 0 && logits_logsumexp(all, 2) == -INFINITY && logits_entropy_of(all, 2) == 0,
          "all masked: zeros, lse -inf, entropy 0");

    /* uniform */
    static float u[512];
    CHECK_NEAR(logits_entropy_of(u, 512), log(512.0), 1e-9, "uniform entropy = ln 512");

    /* divergences */
    float a[2] = { .5f, .5f }, b[2] = { .25f, .75f }, c1[2] = { 1, 0 }, c2[2] = { 0, 1 };
    CHECK_NEAR(logits_kl(a, b, 2), 0.1438410, 1e-6, "KL = .5 ln 2 + .5 ln(2/3) = %.7f", logits_kl(a, b, 2));
    CHECK_NEAR(logits_kl(b, a, 2), 0.1308120, 1e-6, "KL reversed = .25 ln .5 + .75 ln 1.5 = %.7f", logits_kl(b, a, 2));
    CHECK(logits_kl(a, a, 2) == 0, "KL(p||p) = 0");
    CHECK(isinf(logits_kl(a, c1, 2)), "KL with q = 0 where p > 0 is inf");
    CHECK_NEAR(logits_kl(c1, a, 2), log(2.0), 1e-7, "KL(onehot||uniform) = ln 2");
    CHECK_NEAR(logits_js(a, b, 2), 0.0338221, 1e-6, "JS hand value = %.7f", logits_js(a, b, 2));
    CHECK_NEAR(logits_js(a, b, 2), logits_js(b, a, 2), 1e-12, "JS symmetric");
    CHECK_NEAR(logits_js(c1, c2, 2), LOGITS_LN2, 1e-7, "JS of disjoint = ln 2");
}

static void ranking(void) {
    float x[7] = { 1, 3, 3, 2, -INFINITY, NAN, 5 };
    int32_t ids[7];
    CHECK(logits_top_k(x, 7, 4, ids) == 4, "top_k count");
    CHECK(ids[0] == 6 && ids[1] == 1 && ids[2] == 2 && ids[3] == 3, "top4 = 6 1 2 3 (tie: lower id first), got %d %d %d %d",
          ids[0], ids[1], ids[2], ids[3]);
    CHECK(logits_top_k(x, 7, 10, ids) == 7 && ids[4] == 0 && ids[5] == 4 && ids[6] == 5, "top all: -inf then NaN last");
    CHECK(logits_rank(x, 7, 6) == 1 && logits_rank(x, 7, 2) == 3 && logits_rank(x, 7, 5) == 7, "ranks");
    CHECK(logits_argmax(x, 7) == 6, "argmax");
    CHECK(logits_top_k(x, 7, 0, ids) == 0, "top 0");

    /* argmax is the id of rank 1 on every length (the vectorized body, the
     * tail and both together; past 256 several blocks, the maximum tied
     * across blocks), with ties, NaN, -inf and all-NaN rows */
    float r[777];
    uint32_t s = 12345;
    int bad = 0, cases = 0;
    static const int32_t longer[] = { 255, 256, 257, 511, 512, 600, 777 };
    for (int32_t li = 0; li < 70 + 7; li++) {
        int32_t n = li < 70 ? li + 1 : longer[li - 70];
        for (int trial = 0; trial < 20; trial++, cases++) {
            for (int32_t i = 0; i < n; i++) {
                s = s * 1664525u + 1013904223u;
                uint32_t u = s >> 24;
                r[i] = u < 8 ? NAN : u < 16 ? -INFINITY : (float)(u % 13);   /* many ties */
                if (trial == 0) r[i] = NAN;
            }
            int32_t best = 0;
            for (int32_t i = 0; i < n; i++)
                if (logits_rank(r, n, i) == 1) { best = i; break; }
            bad += logits_argmax(r, n) != best;
        }
    }
    CHECK(bad == 0, "argmax == the id of rank 1 on %d of %d random rows", cases - bad, cases);
}

static void golden_topk(void) {
    size_t nb = 0, ni = 0;
    float *last = check_slurp(check_path(P, sizeof P, "golden/synthetic/synth-A-f32.last.f32"), &nb);
    int32_t *top = check_slurp(check_path(P, sizeof P, "golden/synthetic/synth-A-f32.top64_ids.i32"), &ni);
    if (!last || !top || nb != 32000 * 4 || ni != 48 * 64 * 4) { CHECK(0, "golden synthetic files"); free(last); free(top); return; }
    int32_t ids[64];
    logits_top_k(last, 32000, 64, ids);
    int same = 0, ranks = 0;
    for (int i = 0; i < 64; i++) {
        same += ids[i] == top[47 * 64 + i];
        ranks += logits_rank(last, 32000, top[47 * 64 + i]) == i + 1;
    }
    CHECK(same == 64, "top-64 ids equal llama.cpp's golden list (%d of 64)", same);
    CHECK(ranks == 64, "ranks of the golden top-64 are 1..64 (%d of 64)", ranks);
    /* entropy and softmax against a plain double computation */
    double mx = -1e30, s = 0, t = 0;
    for (int i = 0; i < 32000; i++) if (last[i] > mx) mx = last[i];
    for (int i = 0; i < 32000; i++) s += exp(last[i] - mx);
    for (int i = 0; i < 32000; i++) { double q = exp(last[i] - mx) / s; if (q > 0) t -= q * log(q); }
    static float p[32000];
    logits_softmax(last, 32000, p);
    double sum = 0;
    for (int i = 0; i < 32000; i++) sum += p[i];
    CHECK_NEAR(sum, 1.0, 1e-5, "softmax sums to 1");
    CHECK_NEAR(p[ids[0]], exp(last[ids[0]] - mx) / s, 1e-7, "p(top1)");
    CHECK_NEAR(logits_entropy_of(last, 32000), t, 1e-9, "entropy_of vs double reference");
    CHECK_NEAR(logits_entropy(p, 32000), t, 1e-4, "entropy(softmax) vs double reference");
    CHECK_NEAR(logits_logsumexp(last, 32000), mx + log(s), 1e-9, "logsumexp");
    free(last);
    free(top);

    /* stories260K: top-1 of every golden row is llama.cpp's argmax */
    json_doc *d = golden_json(check_path(P, sizeof P, "golden/stories260K/s3_tom_and_mia.json"));
    float *rows = check_slurp(check_path(P, sizeof P, "golden/stories260K/s3_tom_and_mia.f32"), &nb);
    if (!d || !rows) { CHECK(0, "golden s3"); json_free(d); free(rows); return; }
    int32_t na;
    int32_t *am = golden_ints(json_get(json_root(d), "argmax_per_row"), &na);
    int ok = 0;
    for (int32_t r = 0; r < na; r++) {
        int32_t id;
        logits_top_k(rows + (size_t)r * 512, 512, 1, &id);
        ok += id == am[r] && logits_argmax(rows + (size_t)r * 512, 512) == am[r];
    }
    CHECK(ok == na && na == 221, "s3: top-1 == golden argmax on %d of %d rows", ok, na);
    free(am);
    free(rows);
    json_free(d);
}

static void mixes(void) {
    char err[256];
    float M[3] = { 1, 2, 3 }, Mp[3] = { 2, 2, 0 }, Mm[3] = { 1, 3, 0 }, out[3];
    /* proxy tuning: M + 0.5 (M+ - M-) = (1.5, 1.5, 3) */
    logits_term proxy[2] = { { 1, M, NULL, 3, 0, false }, { 0.5f, Mp, Mm, 3, 3, false } };
    CHECK(logits_mix(out, 3, proxy, 2, 0, err, sizeof err) == 3, "proxy mix");
    CHECK(out[0] == 1.5f && out[1] == 1.5f && out[2] == 3.0f, "proxy values %g %g %g", out[0], out[1], out[2]);
    /* contrastive: big - 0.5 small */
    float big[3] = { 4, 2, 0 }, sm[3] = { 2, 4, -2 };
    logits_term cd[2] = { { 1, big, NULL, 3, 0, false }, { -0.5f, sm, NULL, 3, 0, false } };
    logits_mix(out, 3, cd, 2, 0, err, sizeof err);
    CHECK(out[0] == 3 && out[1] == 0 && out[2] == 1, "contrastive values %g %g %g", out[0], out[1], out[2]);
    /* generic prediction: v_b - 2 ReLU(v_r - v_b), in place over v_b */
    float vb[3] = { 1, 5, 2 }, vr[3] = { 3, 1, 2 };
    logits_term gp[2] = { { 1, vb, NULL, 3, 0, false }, { -2, vr, vb, 3, 3, true } };
    logits_mix(vb, 3, gp, 2, 0, err, sizeof err);
    CHECK(vb[0] == -3 && vb[1] == 5 && vb[2] == 2, "generic prediction (aliased out) %g %g %g", vb[0], vb[1], vb[2]);
    /* vocabularies */
    float l4[4] = { 1, 1, 1, 7 };
    logits_term mis[2] = { { 1, M, NULL, 3, 0, false }, { 1, l4, NULL, 4, 0, false } };
    CHECK(logits_mix(out, 3, mis, 2, 0, err, sizeof err) == LOGITS_EVOCAB && strstr(err, "vocabulary"),
          "different lengths refused: %s", err);
    CHECK(logits_mix(out, 3, mis, 2, LOGITS_TRIM, err, sizeof err) == 3 && out[0] == 2 && out[2] == 4,
          "trim to the common 3");
    CHECK(logits_mix(out, 2, mis, 2, LOGITS_TRIM, err, sizeof err) == LOGITS_EINVAL, "small output refused");
    CHECK(logits_mix(out, 3, mis, 0, 0, err, sizeof err) == LOGITS_EINVAL, "no terms refused");
    logits_term relu_only = { 1, Mm, NULL, 3, 0, true };
    float neg[3] = { -1, 2, 0 };
    relu_only.a = neg;
    logits_mix(out, 3, &relu_only, 1, 0, err, sizeof err);
    CHECK(out[0] == 0 && out[1] == 2 && out[2] == 0, "relu of a alone");
}

static void vocab_and_bias(void) {
    char err[512];
    model *m = NULL;
    tok *big = NULL;
    if (model_open(&m, check_path(P, sizeof P, "models/stories260K.gguf"), NULL, err, sizeof err) ||
        tok_open(&big, check_path(P, sizeof P, "models/ggml-vocab-llama-spm.gguf"), err, sizeof err)) {
        CHECK(0, "open: %s", err);
        model_close(m);
        return;
    }
    const tok *t = model_tok(m);
    int32_t nc = 0;
    CHECK(logits_vocab_check(t, t, false, &nc, err, sizeof err) == 0 && nc == 512, "same vocabulary");
    CHECK(logits_vocab_check(t, big, false, &nc, err, sizeof err) == LOGITS_EVOCAB && strstr(err, "512"),
          "different sizes refused: %s", err);
    CHECK(logits_vocab_check(t, big, true, &nc, err, sizeof err) == LOGITS_EVOCAB && strstr(err, "token"),
          "trimmed but different strings refused: %s", err);

    logits_bias b;
    logits_bias_init(&b);
    CHECK(logits_bias_add(&b, 7, 1.5f) == 0 && logits_bias_add(&b, 3, -1) == 0 && logits_bias_add(&b, 7, 1) == 0,
          "bias add");
    CHECK(b.n == 2 && b.ids[0] == 3 && logits_bias_get(&b, 7) == 2.5f && logits_bias_get(&b, 5) == 0, "bias sums, sorted");
    CHECK(logits_bias_add(&b, -1, 1) == LOGITS_EINVAL, "negative id refused");
    logits_bias_add(&b, 600, -INFINITY);        /* beyond this row: ignored by apply */
    logits_bias_add(&b, 1, -INFINITY);
    float row[8] = { 0 };
    logits_bias_apply(&b, row, 8);
    CHECK(row[7] == 2.5f && row[3] == -1 && row[1] == -INFINITY && row[0] == 0, "bias applied, -inf masks");

    /* by text: the encoding of " Lily" (SPM adds the space), exact and contains */
    int32_t want[16], got[16];
    int32_t nw = tok_encode(t, "Lily", 4, false, false, want, 16, err, sizeof err);
    int32_t ng = logits_ids_of_text(t, "Lily", 4, LOGITS_MATCH_ENCODE, got, 16, err, sizeof err);
    CHECK(nw > 0 && ng == nw && !memcmp(want, got, sizeof *got * (size_t)ng), "ENCODE = tok_encode ids");
    char piece[64];
    int32_t pl = tok_piece(t, 400, piece, sizeof piece, false);
    int32_t ne = logits_ids_of_text(t, piece, (size_t)pl, LOGITS_MATCH_EXACT, got, 16, err, sizeof err);
    CHECK(ne >= 1 && got[0] <= 400, "EXACT finds the piece of id 400 ('%.*s'): %d ids", (int)pl, piece, ne);
    static int32_t all[512];
    int32_t nci = logits_ids_of_text(t, "a", 1, LOGITS_MATCH_CONTAINS, all, 512, err, sizeof err);
    int good = 0;
    for (int32_t i = 0; i < nci; i++) {
        int32_t l = tok_piece(t, all[i], piece, sizeof piece, false);
        good += l > 0 && memchr(piece, 'a', (size_t)l) != NULL;
    }
    CHECK(nci > 20 && good == nci, "CONTAINS 'a': %d ids, all contain it", nci);
    CHECK(logits_ids_of_text(t, "", 0, LOGITS_MATCH_EXACT, got, 16, err, sizeof err) == LOGITS_EINVAL, "empty text refused");
    logits_bias_fini(&b);
    logits_bias_init(&b);
    CHECK(logits_bias_add_text(&b, t, "a", 1, LOGITS_MATCH_CONTAINS, -INFINITY, err, sizeof err) == nci && b.n == nci,
          "bias by text (more than 64 ids)");
    logits_bias copy;
    CHECK(logits_bias_copy(&copy, &b) == 0 && copy.n == b.n && logits_bias_get(&copy, all[3]) == -INFINITY, "copy");
    logits_bias_fini(&copy);
    logits_bias_fini(&b);

    float k[5] = { 1, 2, 3, 4, 5 };
    int32_t keep[3] = { 4, 1, 99 };
    CHECK(logits_keep_only(k, 5, keep, 3) == 0, "keep_only");
    CHECK(k[0] == -INFINITY && k[1] == 2 && k[2] == -INFINITY && k[4] == 5, "keep_only masks the rest");
    tok_destroy(big);
    model_close(m);
}

/* logits_argmax on every ISA path this CPU has (portable, AVX2, AVX-512:
 * logits_simd_*.c) against the definition (the first id of the largest
 * key, NaN as -inf), on rows past the SIMD blocks of 1024 and their tails:
 * ties within and across blocks, +0 / -0, NaN and -inf, the maximum in the
 * first, a middle or the last element, all -inf, all NaN. */
static float argkey(float v) { return isnan(v) ? -INFINITY : v; }
static void argmax_paths(void) {
    static const int32_t lens[] = { 1, 7, 8, 15, 16, 17, 31, 33, 255, 1023, 1024, 1025, 1040, 2047, 2048, 2049, 3000, 4111 };
    enum { NL = sizeof lens / sizeof lens[0], TRIALS = 12, MAXN = 4111 };
    float *r = malloc(sizeof(float) * MAXN);
    int best_isa = vd_isa_best();
    for (int isa = VD_PORTABLE; isa <= best_isa; isa++) {
        if (vd_set_isa(isa) != isa) continue;
        uint32_t s = 777u + (uint32_t)isa;
        int bad = 0, cases = 0;
        for (int li = 0; li < NL; li++) {
            int32_t n = lens[li];
            for (int t = 0; t < TRIALS; t++, cases++) {
                for (int32_t i = 0; i < n; i++) {
                    s = s * 1664525u + 1013904223u;
                    uint32_t u = s >> 24;
                    r[i] = u < 8 ? NAN : u < 16 ? -INFINITY : (float)(u % 29) - 14.0f;   /* ties, +-0 */
                    if (r[i] == 0 && (u & 1)) r[i] = -0.0f;
                    if (t == 0) r[i] = NAN;
                    if (t == 1) r[i] = (u & 1) ? -INFINITY : NAN;
                    if (t >= 2 && t <= 5) r[i] = (u & 1) ? -0.0f : -INFINITY;   /* the max is a zero */
                }
                if (t == 3) r[0] = 100;                /* the maximum first */
                if (t == 4) r[n - 1] = 100;            /* last (the tail) */
                if (t == 5) r[n / 2] = 100, r[n - 1] = 100;   /* a middle one, tied at the end */
                if (t == 2 && n > 1) r[n - 1] = 0.0f;  /* +0 ties the -0 before it */
                int32_t ref = 0;
                for (int32_t i = 1; i < n; i++) if (argkey(r[i]) > argkey(r[ref])) ref = i;
                int32_t got = logits_argmax(r, n);
                if (got != ref && bad++ < 3) fprintf(stderr, "# %s n=%d trial %d: argmax %d, expected %d\n", vd_isa_name(isa), n, t, got, ref);
            }
        }
        CHECK(bad == 0, "argmax on %s: the first id of the largest key on %d of %d rows", vd_isa_name(isa), cases - bad, cases);
    }
    vd_set_isa(best_isa);
    free(r);
}

int main(void) {
    distributions();
    ranking();
    argmax_paths();
    golden_topk();
    mixes();
    vocab_and_bias();
    return check_done();
}
