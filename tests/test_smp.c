/* The sampler chain: PCG32 against the published reference stream, every
 * stage on hand-worked vectors, penalties over a sliding window, chain
 * parsing and its error messages, observers, custom processors, seeded draws
 * (chi-square against the target distribution, reproducibility, pinned
 * tokens for a fixed seed) and temp 0 = greedy on the golden rows. */
#include "golden.h"
#include "logits.h"
#include "smp.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char P[4096];

static smp_cands cands_of(const float *x, int32_t n) {
    smp_cands c;
    smp_cands_init(&c, n);
    smp_cands_set(&c, x, n);
    return c;
}

/* true when the candidates hold exactly ids[0..n) in this order */
static int holds(const smp_cands *c, const int32_t *ids, int32_t n) {
    if (c->n != n) return 0;
    for (int32_t i = 0; i < n; i++) if (c->data[i].id != ids[i]) return 0;
    return 1;
}

static double psum(const smp_cands *c) {
    double s = 0;
    for (int32_t i = 0; i < c->n; i++) s += c->data[i].p;
    return s;
}

static void rng(void) {
    /* pcg32-demo (pcg-random.org, pcg-c-basic): seed 42, sequence 54 */
    static const uint32_t want[6] = { 0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e };
    smp_rng r;
    smp_rng_init(&r, 42, 54);
    int ok = 0;
    for (int i = 0; i < 6; i++) ok += smp_rng_u32(&r) == want[i];
    CHECK(ok == 6, "PCG32 reference stream (%d of 6)", ok);
    double lo = 1, hi = 0, mean = 0;
    smp_rng_init(&r, 7, 0);
    for (int i = 0; i < 10000; i++) {
        double u = smp_rng_double(&r);
        lo = u < lo ? u : lo; hi = u > hi ? u : hi; mean += u / 10000;
    }
    CHECK(lo >= 0 && hi < 1 && fabs(mean - 0.5) < 0.01, "doubles in [0,1), mean %.4f", mean);
}

static void stages(void) {
    float x[5] = { 1, 3, 3, 2, 5 };
    smp_cands c = cands_of(x, 5);
    smp *s = smp_create_top_k(2);
    smp_cands_softmax(&c);
    smp_apply(s, &c);
    CHECK(holds(&c, (int32_t[]){ 4, 1 }, 2) && c.sorted, "top_k 2 keeps 5 then the lower-id 3");
    CHECK(c.normalized && fabs(psum(&c) - 1) < 1e-6 && fabs(c.data[1].p - 1 / (1 + exp(2.0))) < 1e-6,
          "top_k renormalizes p");
    smp_destroy(s);

    s = smp_create_temp(0);
    smp_cands_set(&c, x, 5);
    smp_apply(s, &c);
    CHECK(holds(&c, (int32_t[]){ 4 }, 1) && c.data[0].p == 1, "temp 0 keeps the best only");
    smp_destroy(s);
    s = smp_create_temp(2);
    smp_cands_set(&c, x, 5);
    smp_apply(s, &c);
    CHECK(c.data[1].logit == 1.5f && c.data[4].logit == 2.5f && !c.normalized, "temp 2 halves logits");
    smp_destroy(s);
    CHECK(smp_create_temp(-1) == NULL && smp_create_top_p(0, 1) == NULL && smp_create_top_p(1.5f, 1) == NULL &&
          smp_create_min_p(-0.1f, 1) == NULL && smp_create_typical(0, 1) == NULL &&
          smp_create_penalties(-2, 1, 0, 0) == NULL && smp_create_penalties(8, 0, 0, 0) == NULL,
          "constructors refuse out-of-range values");
    smp_cands_fini(&c);

    /* p = (.4 .3 .2 .1) */
    float q[4] = { logf(.4f), logf(.3f), logf(.2f), logf(.1f) };
    c = cands_of(q, 4);
    s = smp_create_top_p(0.6f, 1);
    smp_apply(s, &c);
    CHECK(holds(&c, (int32_t[]){ 0, 1 }, 2) && fabs(c.data[0].p - 4.0 / 7) < 1e-6, "top_p .6 keeps .4 .3, renormalized");
    smp_destroy(s);
    smp_cands_set(&c, q, 4);
    s = smp_create_top_p(0.75f, 1);
    smp_apply(s, &c);
    CHECK(holds(&c, (int32_t[]){ 0, 1, 2 }, 3), "top_p .75 keeps three");
    smp_destroy(s);
    smp_cands_set(&c, q, 4);
    s = smp_create_top_p(0.1f, 3);
    smp_apply(s, &c);
    CHECK(c.n == 3, "top_p min_keep 3");
    smp_destroy(s);

    smp_cands_set(&c, q, 4);
    s = smp_create_min_p(0.45f, 1);
    smp_apply(s, &c);
    CHECK(holds(&c, (int32_t[]){ 0, 1, 2 }, 3), "min_p .45 keeps p >= .18 in id order (stable)");
    smp_destroy(s);
    smp_cands_set(&c, q, 4);
    s = smp_create_min_p(0.9f, 2);
    smp_apply(s, &c);
    CHECK(holds(&c, (int32_t[]){ 0, 1 }, 2), "min_p .9 with min_keep 2");
    smp_destroy(s);

    /* typical: H = 1.27985; |-ln p - H| = .364 .076 .330 1.023 -> order 1 2 0 3 */
    smp_cands_set(&c, q, 4);
    s = smp_create_typical(0.45f, 1);
    smp_apply(s, &c);
    CHECK(holds(&c, (int32_t[]){ 1, 2 }, 2) && fabs(c.data[0].p - 0.6) < 1e-6, "typical .45 keeps .3 .2");
    smp_destroy(s);
    smp_cands_set(&c, q, 4);
    s = smp_create_typical(0.85f, 1);
    smp_apply(s, &c);
    CHECK(holds(&c, (int32_t[]){ 1, 2, 0 }, 3) && !c.sorted, "typical .85 keeps three, not in rank order");
    smp_destroy(s);

    s = smp_create_greedy();
    float tie[4] = { 0, 7, 2, 7 };
    smp_cands_set(&c, tie, 4);
    CHECK(smp_sample(s, &c) == 1, "greedy: tie goes to the lower id");
    smp_destroy(s);
    smp_cands_fini(&c);
}

static void penalties(void) {
    float x[5] = { 2, 2, -2, 1, 3 };
    smp_cands c = cands_of(x, 5);
    smp *s = smp_create_penalties(3, 2.0f, 0.5f, 0.25f);
    int32_t seen[4] = { 0, 1, 1, 2 };            /* window of 3: 1 1 2 */
    for (int i = 0; i < 4; i++) smp_accept(s, seen[i]);
    smp_apply(s, &c);
    CHECK(c.data[0].logit == 2, "token that left the window is not penalized");
    CHECK(c.data[1].logit == -0.25f, "2/2 - (2*.5 + .25) = -0.25, got %g", c.data[1].logit);
    CHECK(c.data[2].logit == -4.75f, "-2*2 - (.5 + .25) = -4.75, got %g", c.data[2].logit);
    CHECK(c.data[3].logit == 1 && c.data[4].logit == 3, "unseen tokens unchanged");
    smp_reset(s);
    smp_cands_set(&c, x, 5);
    smp_apply(s, &c);
    CHECK(c.data[1].logit == 2, "reset forgets the window");
    smp_destroy(s);

    s = smp_create_penalties(-1, 1.0f, 1.0f, 0.0f);
    for (int i = 0; i < 100; i++) smp_accept(s, 4);
    smp_cands_set(&c, x, 5);
    smp_apply(s, &c);
    CHECK(c.data[4].logit == 3 - 100, "last_n -1 counts the whole history");
    smp_destroy(s);
    s = smp_create_penalties(0, 5.0f, 1.0f, 1.0f);
    smp_accept(s, 4);
    smp_cands_set(&c, x, 5);
    smp_apply(s, &c);
    CHECK(c.data[4].logit == 3, "last_n 0 disables");
    smp_destroy(s);

    /* bias on the full row and after a truncation (not in id order) */
    logits_bias b;
    logits_bias_init(&b);
    logits_bias_add(&b, 3, 10);
    logits_bias_add(&b, 4, -INFINITY);
    s = smp_create_bias(&b);
    logits_bias_fini(&b);
    smp_cands_set(&c, x, 5);
    smp_apply(s, &c);
    CHECK(c.data[3].logit == 11 && c.data[4].logit == -INFINITY, "bias on the full row");
    smp *k = smp_create_top_k(3);
    smp_cands_set(&c, x, 5);
    smp_apply(k, &c);                            /* 4 0 1 */
    smp_apply(s, &c);
    CHECK(c.n == 3 && c.data[0].id == 4 && c.data[0].logit == -INFINITY && c.data[1].logit == 2, "bias by id search");
    smp_destroy(k);
    smp_destroy(s);
    smp_cands_fini(&c);
}

typedef struct obs { int calls, bad; int32_t last_stage; int32_t n_after[16]; } obs;

static void observe(void *ud, int32_t stage, const char *name, const smp_cands *c) {
    obs *o = ud;
    double s = psum(c);
    o->bad += stage != o->last_stage + 1 || !name || !c->normalized || fabs(s - 1) > 1e-5;
    if (stage >= 0 && stage < 16) o->n_after[stage] = c->n;
    o->last_stage = stage;
    o->calls++;
}

/* a custom processor: bans even ids */
static int ban_even(smp *s, smp_cands *c) {
    (void)s;
    for (int32_t i = 0; i < c->n; i++) if (c->data[i].id % 2 == 0) c->data[i].logit = -INFINITY;
    c->sorted = c->normalized = false;
    return SMP_OK;
}
static const smp_iface ban_even_iface = { "ban_even", ban_even, NULL, NULL, NULL };

static void chains(void) {
    char err[256];
    smp_params p;
    smp_params_default(&p);
    smp *ch = NULL;
    CHECK(smp_chain_parse(&ch, NULL, &p, err, sizeof err) == 0 && smp_chain_n(ch) == 8, "default chain: %s", err);
    CHECK(!strcmp(smp_name(smp_chain_get(ch, 0)), "bias") && !strcmp(smp_name(smp_chain_get(ch, 7)), "dist"),
          "default chain order");
    smp_destroy(ch);
    CHECK(smp_chain_parse(&ch, " Top-K ; temperature,typ_p, greedy ", &p, err, sizeof err) == 0 &&
          smp_chain_n(ch) == 4 && !strcmp(smp_name(smp_chain_get(ch, 1)), "temp"), "aliases, case, spaces: %s", err);
    smp_destroy(ch);
    CHECK(smp_chain_parse(&ch, "top_k,nucleus", &p, err, sizeof err) == SMP_EINVAL && !ch &&
          strstr(err, "unknown sampler 'nucleus'") && strstr(err, "known:"), "unknown name: %s", err);
    CHECK(smp_chain_parse(&ch, "dist,top_k", &p, err, sizeof err) == SMP_EINVAL && strstr(err, "last"),
          "selector must be last: %s", err);
    static const struct { const char *what, *msg; } bad[] = {
        { "temp -1", "temperature" }, { "top_p 0", "top-p" }, { "top_p 1.5", "top-p" }, { "min_p 2", "min-p" },
        { "typical 0", "typical" }, { "repeat 0", "repeat" }, { "top_k -3", "top-k" }, { "last_n -2", "repeat-last-n" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        smp_params_default(&p);
        switch (i) {
        case 0: p.temp = -1; break; case 1: p.top_p = 0; break; case 2: p.top_p = 1.5f; break;
        case 3: p.min_p = 2; break; case 4: p.typical_p = 0; break; case 5: p.repeat_penalty = 0; break;
        case 6: p.top_k = -3; break; case 7: p.repeat_last_n = -2; break;
        }
        int rc = smp_chain_parse(&ch, NULL, &p, err, sizeof err);
        CHECK(rc == SMP_EINVAL && !ch && strstr(err, bad[i].msg), "%s refused: %s", bad[i].what, err);
    }
    smp_params_default(&p);
    p.temp = NAN;
    CHECK(smp_params_check(&p, err, sizeof err) == SMP_EINVAL, "NaN temperature refused");

    /* observer and a nested chain with a custom stage */
    smp_params_default(&p);
    p.top_k = 6;
    smp_chain_parse(&ch, "top_k,top_p,temp", &p, err, sizeof err);
    smp *outer = smp_create_chain();
    smp_chain_add(outer, smp_create(&ban_even_iface, NULL));
    smp_chain_add(outer, ch);
    smp_chain_add(outer, smp_create_dist(1));
    obs o = { 0, 0, -2, { 0 } };
    smp_chain_set_observer(ch, observe, &o);
    float x[16];
    for (int i = 0; i < 16; i++) x[i] = (float)(i % 5) * 0.5f;
    smp_cands c = cands_of(x, 16);
    int32_t id = smp_sample(outer, &c);
    CHECK(id >= 0 && id % 2 == 1, "custom stage bans even ids (drew %d)", id);
    CHECK(o.calls == 4 && o.bad == 0 && o.n_after[0] == 6, "observer: input + 3 stages, normalized (%d calls, %d bad)",
          o.calls, o.bad);
    CHECK(smp_chain_add(smp_chain_get(outer, 0), smp_create_greedy()) == SMP_EINVAL, "add to a non-chain");
    smp_destroy(outer);

    smp *nosel = smp_create_chain();
    smp_chain_add(nosel, smp_create_top_k(3));
    smp_cands_set(&c, x, 16);
    CHECK(smp_sample(nosel, &c) == SMP_ENOSEL, "no selector: SMP_ENOSEL");
    smp_destroy(nosel);
    smp_cands_fini(&c);
}

/* Chi-square of n draws against target p over k cells; draws from `s` on
 * fresh candidates of x each time. */
static double chi2(smp *s, const float *x, int32_t k, const double *p, int n, int *outside) {
    smp_cands c = cands_of(x, k);
    int cnt[64] = { 0 };
    *outside = 0;
    for (int i = 0; i < n; i++) {
        smp_cands_set(&c, x, k);
        int32_t id = smp_sample(s, &c);
        if (id < 0 || id >= k || p[id] == 0) (*outside)++;
        else cnt[id]++;
    }
    double x2 = 0;
    for (int32_t i = 0; i < k; i++)
        if (p[i] > 0) x2 += (cnt[i] - n * p[i]) * (cnt[i] - n * p[i]) / (n * p[i]);
    smp_cands_fini(&c);
    return x2;
}

static void draws(void) {
    /* 8 tokens, p proportional to 1..8 */
    float x[8];
    double p[8];
    for (int i = 0; i < 8; i++) { x[i] = logf((float)(i + 1)); p[i] = (i + 1) / 36.0; }
    smp *d = smp_create_dist(1234);
    int out;
    double x2 = chi2(d, x, 8, p, 20000, &out);
    /* chi-square with 7 degrees of freedom: 24.32 is the 0.999 quantile */
    CHECK(out == 0 && x2 < 24.32, "dist: chi2 %.2f over 20000 draws (df 7, limit 24.32)", x2);
    smp_destroy(d);

    /* top_k 4 then top_p .8 on p ~ 1..8: top-4 = 8 7 6 5 (mass 26/36); of those
     * renormalized 8/26 7/26 6/26 5/26, .8 needs 8+7+6 (21/26 = .808) */
    smp_params sp;
    smp_params_default(&sp);
    sp.top_k = 4; sp.top_p = 0.8f; sp.temp = 1; sp.seed = 99;
    smp *ch;
    char err[256];
    smp_chain_parse(&ch, "top_k,top_p,temp,dist", &sp, err, sizeof err);
    double q[8] = { 0, 0, 0, 0, 0, 6 / 21.0, 7 / 21.0, 8 / 21.0 };
    x2 = chi2(ch, x, 8, q, 20000, &out);
    CHECK(out == 0 && x2 < 13.82, "top_k+top_p: chi2 %.2f (df 2, limit 13.82), %d outside", x2, out);
    smp_destroy(ch);

    /* temperature 2 flattens: p ~ sqrt(i+1) */
    sp.top_k = 0; sp.top_p = 1; sp.temp = 2;
    smp_chain_parse(&ch, "temp,dist", &sp, err, sizeof err);
    double z = 0, r[8];
    for (int i = 0; i < 8; i++) z += sqrt(i + 1.0);
    for (int i = 0; i < 8; i++) r[i] = sqrt(i + 1.0) / z;
    x2 = chi2(ch, x, 8, r, 20000, &out);
    CHECK(out == 0 && x2 < 24.32, "temp 2: chi2 %.2f (df 7)", x2);
    smp_destroy(ch);

    /* reproducibility: same seed, same tokens; reset restarts; the first
     * tokens for seed 5 are pinned: they were computed by an independent
     * Python re-implementation of PCG32 and the id-order inverse CDF (integer
     * arithmetic and one double per draw, so every machine agrees) */
    static const int32_t pinned[12] = { 1, 4, 7, 5, 1, 0, 6, 6, 4, 7, 1, 7 };
    smp *a = smp_create_dist(5), *b = smp_create_dist(5), *other = smp_create_dist(6);
    smp_cands c = cands_of(x, 8);
    int same = 0, diff = 0, pin = 0;
    int32_t first[200];
    for (int i = 0; i < 200; i++) {
        smp_cands_set(&c, x, 8); int32_t ia = smp_sample(a, &c);
        smp_cands_set(&c, x, 8); int32_t ib = smp_sample(b, &c);
        smp_cands_set(&c, x, 8); int32_t io = smp_sample(other, &c);
        first[i] = ia;
        same += ia == ib; diff += ia != io;
        if (i < 12) pin += ia == pinned[i];
    }
    CHECK(same == 200 && diff > 50, "same seed same tokens (%d/200), other seed differs (%d)", same, diff);
    CHECK(pin == 12, "seed 5 gives the pinned tokens (%d of 12): %d %d %d %d", pin, first[0], first[1], first[2], first[3]);
    smp_reset(a);
    int again = 0;
    for (int i = 0; i < 200; i++) { smp_cands_set(&c, x, 8); again += smp_sample(a, &c) == first[i]; }
    CHECK(again == 200, "reset restarts the stream");
    /* the draw does not depend on the candidate order */
    smp *e = smp_create_dist(5);
    smp_cands_set(&c, x, 8);
    smp_cands_sort(&c);
    CHECK(smp_sample(e, &c) == first[0], "order-independent draw");
    smp_destroy(a); smp_destroy(b); smp_destroy(other); smp_destroy(e);
    smp_cands_fini(&c);
}

/* top_p on a wide, flat row needs more than the first 256: both paths agree
 * with a brute-force nucleus */
static void wide_top_p(void) {
    enum { N = 2000 };
    static float x[N];
    smp_rng r;
    smp_rng_init(&r, 3, 0);
    for (int i = 0; i < N; i++) x[i] = (float)smp_rng_double(&r);
    static float pr[N];
    static int32_t ord[N];
    logits_softmax(x, N, pr);
    logits_top_k(x, N, N, ord);
    for (int t = 0; t < 2; t++) {
        float top = t ? 0.9f : 0.05f;
        double cum = 0;
        int32_t want = 0;
        while (cum < top) cum += pr[ord[want++]];
        smp_cands c = cands_of(x, N);
        smp *s = smp_create_top_p(top, 1);
        smp_apply(s, &c);
        /* a row this long is cut without sorting: the kept tokens stay in
         * id order, and are exactly the `want` best */
        static char best[N];
        memset(best, 0, sizeof best);
        for (int32_t i = 0; i < want; i++) best[ord[i]] = 1;
        int ok = c.n == want;
        for (int32_t i = 0; ok && i < c.n; i++) ok = best[c.data[i].id] && (i == 0 || c.data[i - 1].id < c.data[i].id);
        CHECK(ok, "top_p %.2f on %d flat tokens keeps the %d best (got %d)", top, N, want, c.n);
        smp_destroy(s);
        smp_cands_fini(&c);
    }
}

/* keep_mass (core/smp_mass.c: top-p and typical-p on rows over 1024 tokens, without a
 * sort) keeps exactly the set a full sort and a walk keep, on flat,
 * spread, peaked, tied and masked rows, for several p and min_keep. */
typedef struct ref_item { float key; int32_t id; float p; } ref_item;
static int cmp_ref(const void *pa, const void *pb) {
    const ref_item *a = pa, *b = pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static void mass_selection(void) {
    static const int32_t sizes[] = { 1500, 40000 };
    static const double ps[] = { 0.05, 0.5, 0.95, 0.999 };
    static const int32_t keeps[] = { 1, 50 };
    smp_rng r;
    smp_rng_init(&r, 11, 3);
    int bad = 0, cases = 0;
    for (int si = 0; si < 2; si++) {
        int32_t n = sizes[si];
        float *x = malloc(sizeof *x * (size_t)n);
        ref_item *ref = malloc(sizeof *ref * (size_t)n);
        char *kept = malloc((size_t)n);
        for (int kind = 0; kind < 5; kind++) {
            for (int32_t i = 0; i < n; i++) {
                double u = smp_rng_double(&r), v = smp_rng_double(&r) + 1e-12;
                double g = sqrt(-2 * log(v)) * cos(2 * M_PI * u);
                x[i] = kind == 0 ? (float)u                             /* flat */
                     : kind == 1 ? (float)(1.5 * g)                     /* a random model's spread */
                     : kind == 2 ? (float)(4 * g)                       /* peaked */
                     : kind == 3 ? (float)(0.5 * floor(2 * g))          /* many ties */
                     : (u < 0.3 ? -INFINITY : (float)g);                /* masked tokens */
            }
            for (int typical = 0; typical < 2; typical++)
                for (int pi = 0; pi < 4; pi++)
                    for (int ki = 0; ki < 2; ki++) {
                        smp_cands c = cands_of(x, n);
                        smp *st = typical ? smp_create_typical((float)ps[pi], keeps[ki]) : smp_create_top_p((float)ps[pi], keeps[ki]);
                        /* the reference: the same p and keys, fully sorted */
                        smp_cands_softmax(&c);
                        double lbar = 0;
                        for (int32_t i = 0; i < n; i++) if (c.data[i].p > 0) lbar += c.data[i].p * (double)c.data[i].logit;
                        for (int32_t i = 0; i < n; i++) {
                            float key = typical ? (c.data[i].p > 0 ? (float)fabs((double)c.data[i].logit - lbar) : INFINITY)
                                                : -c.data[i].logit;
                            ref[i] = (ref_item){ isnan(key) ? INFINITY : key, c.data[i].id, c.data[i].p };
                        }
                        qsort(ref, (size_t)n, sizeof *ref, cmp_ref);
                        double cum = 0;
                        int32_t want = n;
                        for (int32_t i = 0; i < n; i++) {
                            cum += ref[i].p;
                            if (cum >= ps[pi] && i + 1 >= keeps[ki]) { want = i + 1; break; }
                        }
                        for (int32_t i = 0; i < n; i++) kept[i] = 0;
                        for (int32_t i = 0; i < want; i++) kept[ref[i].id] = 1;
                        smp_apply(st, &c);
                        int ok = c.n == want;
                        double mass = 0;
                        for (int32_t i = 0; ok && i < c.n; i++) { ok = kept[c.data[i].id]; mass += c.data[i].p; }
                        ok = ok && fabs(mass - 1) < 1e-5;
                        if (!ok && bad++ < 5)
                            CHECK(0, "%s p=%.3f min_keep=%d on %d tokens (kind %d): kept %d, a full sort keeps %d",
                                  typical ? "typical" : "top_p", ps[pi], (int)keeps[ki], (int)n, kind, (int)c.n, (int)want);
                        cases++;
                        smp_destroy(st);
                        smp_cands_fini(&c);
                    }
        }
        free(x);
        free(ref);
        free(kept);
    }
    CHECK(bad == 0, "the histogram selection equals a full sort on %d cases (%d differ)", cases, bad);
}

/* temp 0 after the default truncations is the golden argmax on every row */
static void greedy_rows(void) {
    size_t nb = 0;
    float *rows = check_slurp(check_path(P, sizeof P, "golden/stories260K/s2_once_upon_a_time.f32"), &nb);
    if (!rows) { CHECK(0, "golden s2 rows"); return; }
    smp_params p;
    smp_params_default(&p);
    p.temp = 0;
    p.repeat_penalty = 1.0f;
    smp *ch;
    char err[256];
    smp_chain_parse(&ch, NULL, &p, err, sizeof err);
    smp_cands c;
    smp_cands_init(&c, 512);
    int32_t nr = (int32_t)(nb / (512 * 4)), ok = 0;
    for (int32_t i = 0; i < nr; i++) {
        smp_cands_set(&c, rows + (size_t)i * 512, 512);
        ok += smp_sample(ch, &c) == logits_argmax(rows + (size_t)i * 512, 512);
    }
    CHECK(ok == nr && nr == 205, "temp 0 = argmax on %d of %d golden rows", ok, nr);
    smp_cands_fini(&c);
    smp_destroy(ch);
    free(rows);
}

/* smp_reseed restarts the dist stage of a chain as a fresh chain of that
 * seed would draw; smp_seed_mix is SplitMix64 (its published first outputs
 * for seed 0: 0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4). */
static void reseed(void) {
    CHECK(smp_seed_mix(0xE220A8397B1DCDAFull, 0) == 0xE220A8397B1DCDAFull, "mix(x, 0) = SplitMix64(x ^ SplitMix64(0))");
    CHECK(smp_seed_mix(0xE220A8397B1DCDAFull ^ 0x9E3779B97F4A7C15ull, 0) == 0x6E789E6AA1B965F4ull,
          "SplitMix64's second output");
    CHECK(smp_seed_mix(42, 1) != smp_seed_mix(1, 42) && smp_seed_mix(42, 1) != smp_seed_mix(42, 2), "mix is not symmetric");
    float row[64];
    for (int i = 0; i < 64; i++) row[i] = (float)((i * 37) % 64) / 16.0f;
    smp_params p;
    smp_params_default(&p);
    p.temp = 1.5f;
    p.top_k = 0;
    p.top_p = 1;
    p.min_p = 0;
    smp *a, *b, *g;
    char err[256];
    smp_chain_parse(&a, NULL, &p, err, sizeof err);
    p.seed = 7;
    smp_chain_parse(&b, NULL, &p, err, sizeof err);
    p.temp = 0;
    smp_chain_parse(&g, "greedy", &p, err, sizeof err);
    CHECK(smp_reseed(a, 7) == 1 && smp_reseed(g, 7) == 0, "one dist stage reseeded; none in a greedy chain");
    smp_cands c;
    smp_cands_init(&c, 64);
    int same = 0, differ = 0;
    for (int k = 0; k < 200; k++) {
        smp_cands_set(&c, row, 64);
        int32_t x = smp_sample(a, &c);
        smp_cands_set(&c, row, 64);
        same += x == smp_sample(b, &c);
    }
    CHECK(same == 200, "a reseeded chain draws as a fresh one of that seed (%d of 200)", same);
    /* reseeding per token from (draw, index): a token's draw depends on those alone */
    for (int k = 0; k < 50; k++) {
        smp_reseed(a, smp_seed_mix(99, (uint64_t)k));
        smp_cands_set(&c, row, 64);
        int32_t x = smp_sample(a, &c);
        for (int j = 0; j < k % 3; j++) { smp_cands_set(&c, row, 64); smp_sample(b, &c); }   /* other draws between */
        smp_reseed(b, smp_seed_mix(99, (uint64_t)k));
        smp_cands_set(&c, row, 64);
        differ += x != smp_sample(b, &c);
    }
    CHECK(differ == 0, "per-token reseeding: %d of 50 draws depend on what ran before", differ);
    smp_cands_fini(&c);
    smp_destroy(a);
    smp_destroy(b);
    smp_destroy(g);
}

int main(void) {
    rng();
    reseed();
    stages();
    penalties();
    chains();
    draws();
    wide_top_p();
    mass_selection();
    greedy_rows();
    return check_done();
}
