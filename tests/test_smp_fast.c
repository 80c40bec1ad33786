/* The whole-row sampler passes (core/smp_mass.c) against the stages they
 * replaced (tests/smp_ref.h): on random rows of 1 to 128256 tokens (flat,
 * a random model's spread, peaked, ties, masked, NaN, +inf, all masked),
 * for chains with top-p, typical-p, min-p, top-k, temperature and the dist
 * draw, the same seed picks the same tokens, and after every pick the
 * candidates hold the same ids, logits and probabilities, bit for bit
 * (memcmp), with the same flags. With the best SIMD loops, with AVX2 alone
 * (where AVX-512 is there) and with the scalar ones (vd_set_isa). */
#include "check.h"
#include "smp_mass.h"
#include "smp_ref.h"
#include "smp_simd.h"

#include <stdint.h>

/* The reference chain for a spec: top_p, typical and dist from smp_ref.h
 * (top-p and typical-p over rows of more than 1024 tokens: the library's),
 * the other stages from the library (unchanged by smp_mass.c). */
static smp *ref_chain(const char *spec, const smp_params *p) {
    smp *ch = smp_create_chain();
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        smp *st;
        if (!strcmp(tok, "top_p")) st = ref_stage(&ref_top_p_iface, p->top_p, p->min_keep, 0);
        else if (!strcmp(tok, "typical")) st = ref_stage(&ref_typical_iface, p->typical_p, p->min_keep, 0);
        else if (!strcmp(tok, "dist")) st = ref_stage(&ref_dist_iface, 0, 0, p->seed);
        else {
            char err[128];
            if (smp_chain_parse(&st, tok, p, err, sizeof err)) return NULL;
        }
        smp_chain_add(ch, st);
    }
    return ch;
}

static uint64_t rs = 0x9e3779b97f4a7c15ULL;
static double urand(void) {                  /* splitmix64 -> [0, 1) */
    uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

static const char *const kinds[] = { "flat", "spread", "peaked", "ties", "masked", "nan", "inf", "all-masked", "one-hot" };
enum { NKINDS = sizeof kinds / sizeof *kinds };

static void fill(float *x, int32_t n, int kind) {
    for (int32_t i = 0; i < n; i++) {
        double u = urand(), v = urand() + 1e-12;
        double g = sqrt(-2 * log(v)) * cos(2 * M_PI * u);
        float f = (float)(1.5 * g);
        switch (kind) {
        case 0: f = (float)u; break;
        case 2: f = (float)(6 * g); break;
        case 3: f = (float)(0.5 * floor(2 * g)); break;
        case 4: if (u < 0.4) f = -INFINITY; break;
        case 5: if (u < 0.05) f = NAN; else if (u < 0.1) f = -INFINITY; break;
        case 6: if (u < 0.001) f = INFINITY; break;
        case 7: f = -INFINITY; break;
        case 8: f = u < 0.5 ? -1e30f : (float)g; break;
        }
        x[i] = f;
    }
    if (kind == 6 && n > 3) x[n / 3] = INFINITY;
    if (kind == 8 && n > 0) x[(int32_t)(urand() * n)] = 100.0f;
}

static int same(const smp_cands *a, const smp_cands *b) {
    return a->n == b->n && a->selected == b->selected && a->sorted == b->sorted &&
           a->normalized == b->normalized && !memcmp(a->data, b->data, sizeof *a->data * (size_t)a->n);
}

static const char *const specs[] = {
    "top_p,dist", "typical,dist", "top_p,temp,dist", "temp,top_p,dist", "typical,top_p,min_p,temp,dist",
    "top_k,top_p,dist", "min_p,typical,dist", "top_p,typical,dist", "penalties,top_k,typical,top_p,min_p,temp,dist",
    "temp,dist",   /* a whole row into the draw (smp_mass_softmax_draw's prefix sums) */
    /* the penalties keep the row's range for top-p; min-p on top-p's pending cut from its buckets */
    "penalties,top_p,min_p,temp,dist",
    /* typical-p's pending cut over top-k's columns in rank order, not id
     * order: compacted (then in id order) before the draw */
    "top_k,typical,dist",
};
enum { NSPECS = sizeof specs / sizeof *specs };

static int bad, cases;

static void one(const float *x, int32_t n, int kind, const char *spec, const smp_params *p) {
    smp *fast, *ref = ref_chain(spec, p);
    char err[256];
    if (smp_chain_parse(&fast, spec, p, err, sizeof err) || !ref) { CHECK(0, "chain %s: %s", spec, err); return; }
    smp_cands a, b;
    smp_cands_init(&a, n);
    smp_cands_init(&b, n);
    /* every other pick as lab's samplers take it: only data[selected]
     * written, the rest after smp_cands_sync */
    a.only_selected = urand() < 0.5;
    /* every other chain reads its own copy of the row where it is
     * (smp_cands_set_ref, session 15): the same picks, and the row left as
     * it was, also after smp_cands_sync */
    float *xr = urand() < 0.5 && n > 0 ? malloc(sizeof *xr * (size_t)n) : NULL;
    for (int pick = 0; pick < 3; pick++) {      /* the random stream goes on */
        if (xr) {
            memcpy(xr, x, sizeof *xr * (size_t)n);
            smp_cands_set_ref(&a, xr, n);
        } else {
            smp_cands_set(&a, x, n);
        }
        smp_cands_set(&b, x, n);
        smp_cands_sync(&b);                     /* the old stages start from data[] */
        int32_t ta = smp_sample(fast, &a), tb = smp_sample(ref, &b);
        cases++;
        int sel_ok = 1;
        if (a.only_selected && ta >= 0 && a.selected >= 0 && a.selected < a.n && a.selected == b.selected)
            sel_ok = !memcmp(&a.data[a.selected], &b.data[b.selected], sizeof *a.data) &&
                     a.normalized == b.normalized;   /* lab reads the pick's p when normalized */
        smp_cands_sync(&a);
        if (xr && memcmp(xr, x, sizeof *xr * (size_t)n)) {
            if (bad++ < 8) CHECK(0, "%s n=%d %s pick %d: smp_cands_set_ref's row was written", spec, (int)n, kinds[kind], pick);
            break;
        }
        if (ta != tb || !sel_ok || !same(&a, &b)) {
            if (bad++ < 8)
                CHECK(0, "%s n=%d %s p=%.3f typ=%.3f min_keep=%d pick %d: token %d vs %d, kept %d vs %d",
                      spec, (int)n, kinds[kind], p->top_p, p->typical_p, (int)p->min_keep, pick,
                      (int)ta, (int)tb, (int)a.n, (int)b.n);
            break;
        }
        smp_accept(fast, ta);
        smp_accept(ref, tb);
    }
    free(xr);
    smp_cands_fini(&a);
    smp_cands_fini(&b);
    smp_destroy(fast);
    smp_destroy(ref);
}

static void run(const char *label) {
    static const int32_t fixed[] = { 1, 2, 3, 7, 8, 9, 255, 1023, 1024, 1025, 1031, 4099, 32000, 128256 };
    static const float ps[] = { 0.05f, 0.5f, 0.9f, 0.95f, 0.999f };
    static const int32_t keeps[] = { 0, 1, 50, 200000 };
    float *x = malloc(sizeof *x * 128256);
    bad = cases = 0;
    for (int r = 0; r < 26; r++) {
        int32_t n = r < 14 ? fixed[r] : 1 + (int32_t)(urand() * urand() * urand() * 128256);
        for (int kind = 0; kind < NKINDS; kind++) {
            fill(x, n, kind);
            smp_params p;
            smp_params_default(&p);
            p.top_p = ps[(int)(urand() * 5)];
            p.typical_p = ps[(int)(urand() * 5)];
            p.min_keep = keeps[(int)(urand() * urand() * 4)];
            p.temp = urand() < 0.5 ? 1.0f : 0.7f;
            p.top_k = urand() < 0.5 ? 0 : 2000;
            p.repeat_penalty = urand() < 0.7 ? 1.3f : 1.0f;
            p.repeat_last_n = urand() < 0.3 ? -1 : urand() < 0.5 ? 2 : 64;
            p.frequency_penalty = urand() < 0.5 ? 0.0f : 0.25f;
            p.presence_penalty = urand() < 0.5 ? 0.0f : 0.5f;
            p.seed = (uint64_t)(urand() * 1e9);
            /* the big rows try the cheap chains (and the default one with
             * top-k and penalties); the rest every chain */
            if (n > 20000) {
                static const int big[] = { 0, 1, 8, 9, 10, 11 };
                for (int s = 0; s < 6; s++) one(x, n, kind, specs[big[s]], &p);
            } else {
                for (int s = 0; s < NSPECS; s++) one(x, n, kind, specs[s], &p);
            }
        }
    }
    free(x);
    CHECK(bad == 0, "%s: the fast stages equal the old ones on %d picks (%d differ)", label, cases, bad);
}

/* ---- top-p and typical-p against float64 ------------------------------
 * Since session 7 the mass stages sum per bucket (core/smp_mass.c), so
 * these, not the old stages, check that the selection is right: a float64
 * computation of each (softmax with exp in double, keys, a sort by key then
 * id, a walk to p with min_keep). The library's set must be a minimal
 * prefix within tol of the mass: of the reference order itself for top-p
 * (its key -logit is exact), and for typical-p (float keys can tie where
 * double ones do not) at most 2 tokens away from the reference set; every
 * kept p within 1e-6 (relative) of e / (the kept mass) in double, the
 * kept ones in id order. */
typedef struct dref { double d; int32_t id; } dref;
static int cmp_dref(const void *pa, const void *pb) {
    const dref *a = pa, *b = pb;
    if (a->d != b->d) return a->d < b->d ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

/* 0 when the library's selection of x (stage "top_p" or "typical") agrees
 * with float64; otherwise a message in why. */
static int vs_f64(const float *x, int32_t n, int typical, double p, int32_t min_keep, double tol, char *why,
                  size_t wl) {
    double *pd = malloc(sizeof *pd * (size_t)n);
    dref *r = malloc(sizeof *r * (size_t)n);
    int32_t *rank = malloc(sizeof *rank * (size_t)n);
    double m = -INFINITY, sum = 0, el = 0;
    for (int32_t i = 0; i < n; i++) if (x[i] > m) m = x[i];
    for (int32_t i = 0; i < n; i++) sum += pd[i] = (m > -INFINITY && x[i] - m >= -87) ? exp((double)x[i] - m) : 0;
    for (int32_t i = 0; i < n; i++) if (pd[i] > 0) el += pd[i] / sum * x[i];
    for (int32_t i = 0; i < n; i++) {
        double k = typical ? (pd[i] > 0 ? fabs(x[i] - el) : INFINITY) : (isnan(x[i]) ? INFINITY : -(double)x[i]);
        r[i] = (dref){ k, i };
    }
    qsort(r, (size_t)n, sizeof *r, cmp_dref);
    for (int32_t k = 0; k < n; k++) rank[r[k].id] = k;
    int32_t mk = min_keep < 1 ? 1 : min_keep, keep = n;
    double cum = 0;
    for (int32_t k = 0; k < n; k++)
        if ((cum += pd[r[k].id] / sum) >= p && k + 1 >= mk) { keep = k + 1; break; }
    smp *st = typical ? smp_create_typical((float)p, min_keep) : smp_create_top_p((float)p, min_keep);
    smp_cands c;
    smp_cands_init(&c, n);
    smp_cands_set(&c, x, n);
    smp_apply(st, &c);
    int bad = 0;
    *why = 0;
    if (sum > 0 && n > mk) {
        /* the kept set: in id order, its ranks, its mass in double */
        int32_t maxrank = -1, diff = 0;
        double mass = 0;
        for (int32_t i = 0; i < c.n && !bad; i++) {
            int32_t id = c.data[i].id;
            if (i && c.data[i - 1].id >= id) { snprintf(why, wl, "not in id order at %d", (int)i); bad = 1; }
            if (rank[id] > maxrank) maxrank = rank[id];
            if (rank[id] >= keep) diff++;
            mass += pd[id] / sum;
        }
        diff += keep - (c.n - diff);                   /* the reference's tokens not kept */
        /* the mass before the last kept (in the reference order, for
         * top-p; for typical the smallest kept in ours) */
        double last = 0;
        for (int32_t i = 0; i < c.n; i++) if (rank[c.data[i].id] == maxrank) last = pd[c.data[i].id] / sum;
        int minimal = mass - last < p + tol || c.n <= mk;
        if (!bad && !typical && maxrank != c.n - 1) { snprintf(why, wl, "not a prefix of the rank order"); bad = 1; }
        if (!bad && typical && diff > 2) { snprintf(why, wl, "%d tokens differ from float64", (int)diff); bad = 1; }
        if (!bad && (!(mass >= p - tol || c.n == n) || !minimal || c.n < mk)) {
            snprintf(why, wl, "kept %d (float64 %d): mass %.12f for p %.6f", (int)c.n, (int)keep, mass, p);
            bad = 1;
        }
        for (int32_t i = 0; i < c.n && !bad; i++) {
            double want = pd[c.data[i].id] / sum / mass, got = c.data[i].p;
            if (fabs(got - want) > 1e-6 * want + 1e-30) {
                snprintf(why, wl, "p of %d: %.9g, float64 %.9g", (int)c.data[i].id, got, want);
                bad = 1;
            }
        }
        if (!bad && !c.normalized) { snprintf(why, wl, "not normalized"); bad = 1; }
    } else if (c.n != n) {
        snprintf(why, wl, "kept %d of %d (no mass or n <= min_keep: all)", (int)c.n, (int)n);
        bad = 1;
    }
    smp_cands_fini(&c);
    smp_destroy(st);
    free(pd);
    free(r);
    free(rank);
    return bad;
}

static void mass_vs_f64(void) {
    static const int32_t sizes[] = { 1025, 4099, 32000, 128256 };
    static const double ps[] = { 0.2, 0.5, 0.9, 0.95, 0.999 };
    static const int kk[] = { 0, 1, 2, 3, 4, 5, 8 };   /* flat .. nan, one-hot */
    float *x = malloc(sizeof *x * 128256);
    int ok = 1, cases = 0;
    char why[160];
    for (int si = 0; si < 4; si++)
        for (int ki = 0; ki < 7; ki++) {
            fill(x, sizes[si], kk[ki]);
            for (int pi = 0; pi < 5; pi++)
                for (int typ = 0; typ < 2; typ++) {
                    int32_t mk = (pi + ki) % 3 == 0 ? 50 : 1;
                    cases++;
                    if (vs_f64(x, sizes[si], typ, ps[pi], mk, 1e-6, why, sizeof why) && ok) {
                        ok = 0;
                        CHECK(0, "%s %.3f min_keep %d n=%d %s: %s", typ ? "typical" : "top_p", ps[pi], (int)mk,
                              (int)sizes[si], kinds[kk[ki]], why);
                    }
                }
        }
    CHECK(ok, "top-p and typical-p on %d big rows select what float64 does", cases);
    free(x);
}

/* Brute force on small rows with many ties (a few distinct logits,
 * masked and NaN ones among them): every p and min_keep from 1 to 40 on
 * rows of 1025-1600 tokens; with few distinct values the cut lands on
 * ties, which the walk orders by id. */
static void mass_brute(void) {
    float *x = malloc(sizeof *x * 1600);
    int ok = 1, cases = 0;
    char why[160];
    for (int r = 0; r < 60 && ok; r++) {
        int32_t n = 1025 + (int32_t)(urand() * 575);
        int distinct = 1 + (int)(urand() * 12);
        for (int32_t i = 0; i < n; i++) {
            double u = urand();
            x[i] = (float)(0.75 * (int)(urand() * distinct));
            if (r % 3 == 1 && u < 0.2) x[i] = -INFINITY;
            if (r % 5 == 2 && u > 0.97) x[i] = NAN;
        }
        double p = r % 4 == 0 ? 1.0 - urand() * 1e-3 : 0.01 + 0.98 * urand();
        int32_t mk = r % 2 ? 1 : 1 + (int32_t)(urand() * 40);
        for (int typ = 0; typ < 2 && ok; typ++) {
            cases++;
            if (vs_f64(x, n, typ, p, mk, 1e-9, why, sizeof why)) {
                ok = 0;
                CHECK(0, "brute force %s p %.6f min_keep %d n=%d distinct %d: %s", typ ? "typical" : "top_p", p,
                      (int)mk, (int)n, distinct, why);
            }
        }
    }
    CHECK(ok, "top-p and typical-p on %d small rows with ties equal a brute force in float64", cases);
    free(x);
}

/* The SIMD loops against the plain loops of smp_mass.c (smp_simd_set_plain;
 * the exp is smp_simd_exp's either way): same tokens, same candidates, bit
 * for bit, for the chains with top-p and typical-p on big rows, and the
 * whole-row draw. */
static void simd_vs_plain(void) {
    float *x = malloc(sizeof *x * 128256);
    int ok = 1, cases = 0;
    for (int r = 0; r < 24; r++) {
        int32_t n = r < 4 ? 128256 : r < 8 ? 32000 : 1025 + (int32_t)(urand() * urand() * 100000);
        int kind = r % NKINDS;
        fill(x, n, kind);
        smp_params p;
        smp_params_default(&p);
        p.top_p = (float)(0.05 + 0.949 * urand());
        p.typical_p = (float)(0.05 + 0.949 * urand());
        p.min_keep = r % 4 == 3 ? 60 : 1;
        p.seed = (uint64_t)r;
        for (int sp = 0; sp < 4; sp++) {
            static const char *const chains[] = { "top_p,dist", "typical,dist", "typical,top_p,temp,dist", "temp,dist" };
            smp *a, *b;
            char err[128];
            smp_chain_parse(&a, chains[sp], &p, err, sizeof err);
            smp_chain_parse(&b, chains[sp], &p, err, sizeof err);
            smp_cands ca, cb;
            smp_cands_init(&ca, n);
            smp_cands_init(&cb, n);
            smp_cands_set(&ca, x, n);
            smp_cands_set(&cb, x, n);
            int32_t ta = smp_sample(a, &ca);
            smp_simd_set_plain(1);
            int32_t tb = smp_sample(b, &cb);
            smp_simd_set_plain(0);
            smp_cands_sync(&ca);
            smp_cands_sync(&cb);
            cases++;
            if ((ta != tb || !same(&ca, &cb)) && ok) {
                ok = 0;
                CHECK(0, "%s n=%d %s: SIMD token %d kept %d, plain %d kept %d", chains[sp], (int)n, kinds[kind],
                      (int)ta, (int)ca.n, (int)tb, (int)cb.n);
            }
            smp_cands_fini(&ca);
            smp_cands_fini(&cb);
            smp_destroy(a);
            smp_destroy(b);
        }
    }
    CHECK(ok, "the mass stages' SIMD loops give the plain loops' bits on %d picks", cases);
    free(x);
}

/* The samplers' exp (session 14, smp_simd.h): on every 499th float in
 * [-87, 0] (2.2 million) and the edges, the AVX-512 exp pass, the AVX2
 * loop and the plain one (vd_set_isa(VD_PORTABLE)) give the same bits,
 * within 8e-8 of exp (7.6e-8 = 2^-23.6 over every float there, checked once);
 * 0 below -87, for -inf and NaN. */
static void exp_check(void) {
    enum { K = 4096 };
    float x[K], a[K], b[K], c[K];
    union { float f; uint32_t u; } lo = { -87.0f };
    const int best = vd_isa();
    int ok = 1;
    double worst = 0;
    uint32_t u = 0x80000000u;
    while (ok && u <= lo.u) {
        int32_t k = 0;
        for (; k < K - 8 && u <= lo.u; u += 499) x[k++] = ((union { uint32_t u; float f; }){ u }).f;
        if (u > lo.u) {                              /* the edges and what is zeroed */
            x[k++] = -87.0f; x[k++] = -0.0f; x[k++] = 0.0f; x[k++] = nextafterf(-87.0f, 0.0f);
            x[k++] = nextafterf(-87.0f, -INFINITY); x[k++] = -INFINITY; x[k++] = NAN; x[k++] = -1e30f;
        }
        for (int32_t j = 0; j < k; j++) a[j] = b[j] = c[j] = x[j];
        vd_set_isa(VD_PORTABLE);
        smp_simd_exp(c, k);
        vd_set_isa(best);
        smp_simd_exp(b, k);
        if (smp_simd_512()) {                        /* the exp pass with max 0: P = exp(L - 0) */
            int32_t i = smp_simd_exp_pass_512(x, a, 0, k, 0.0f, NULL, NULL, 0, NULL, NULL);
            for (; i < k; i++) a[i] = b[i];
        } else {
            memcpy(a, b, sizeof *a * (size_t)k);
        }
        for (int32_t j = 0; j < k && ok; j++) {
            float want = x[j] >= -87.0f ? x[j] : 0.0f;
            double ex = x[j] >= -87.0f ? exp((double)want) : 0.0, err = ex > 0 ? fabs(b[j] - ex) / ex : b[j];
            if (err > worst) worst = err;
            if (memcmp(&a[j], &b[j], 4) || memcmp(&b[j], &c[j], 4) || !(err <= 8e-8)) {
                ok = 0;
                CHECK(0, "exp(%.9g): AVX-512 %.9g, AVX2 %.9g, plain %.9g, exp %.9g", x[j], a[j], b[j], c[j], ex);
            }
        }
    }
    CHECK(ok, "the samplers' exp: the three loops agree bit for bit, largest relative error 2^%.2f", log2(worst));
}

/* E[l]'s sums (session 14, smp_simd.h's SMP_SIMD_EL_BLK): the SIMD exp
 * passes (AVX-512 with and without typical-p's interleaved histogram,
 * AVX2) against the documented rule written out here (products e * l in
 * float into sixteen float lanes per block of 256, lane k then lane k + 8
 * into double sum k), memcmp of the eight sums; they stop at the last
 * whole block. */
static void el_blocks(void) {
    enum { NMAX = 3 * 2048 + 700 };
    float *L = malloc(sizeof *L * NMAX), *P = malloc(sizeof *P * NMAX), *E = malloc(sizeof *E * NMAX);
    uint16_t *B = malloc(sizeof *B * NMAX);
    double (*h)[SMP_SIMD_NB] = malloc(sizeof *h * 4);
    int ok = 1, runs = 0;
    for (int r = 0; r < 12 && ok; r++) {
        int32_t n = r < 4 ? NMAX : 256 + (int32_t)(urand() * (NMAX - 256));
        int kind = (int[]){ 0, 1, 2, 4, 5 }[r % 5];
        fill(L, n, kind);
        float m = -INFINITY;
        for (int32_t i = 0; i < n; i++) if (L[i] > m) m = L[i];
        for (int32_t i = 0; i < n; i++) E[i] = L[i] - m;
        smp_simd_exp(E, n);
        for (int32_t i = 0; i < n; i++) if (!(L[i] - m >= -87.0f)) E[i] = 0.0f;
        const int32_t nw = n & -SMP_SIMD_EL_BLK;   /* the whole blocks */
        double ref[8] = { 0 };
        float f[16] = { 0 };
        for (int32_t i = 0; i < nw; i++) {
            if (E[i] > 0) f[i & 15] += E[i] * L[i];
            if ((i & (SMP_SIMD_EL_BLK - 1)) == SMP_SIMD_EL_BLK - 1)
                for (int k = 0; k < 8; k++) {
                    ref[k] = (ref[k] + f[k]) + f[k + 8];
                    f[k] = f[k + 8] = 0;
                }
        }
        for (int way = 0; way < 3; way++) {
            if (way < 2 ? !smp_simd_512() : !smp_simd_on()) continue;
            double el[8] = { 0 };
            int32_t end = 0;
            for (int32_t i0 = 0; i0 < n; i0 += 2048) {
                int32_t i1 = n - i0 < 2048 ? n : i0 + 2048;
                end = way == 2 ? smp_simd_exp_pass(L, P, i0, i1, m, NULL, B, 100.0f, el)
                               : smp_simd_exp_pass_512(L, P, i0, i1, m, NULL, B, 100.0f, el, way ? h : NULL);
            }
            runs++;
            if (end != nw || memcmp(el, ref, sizeof el) || memcmp(P, E, sizeof *P * (size_t)nw)) {
                ok = 0;
                CHECK(0, "E[l]'s block sums, %s n=%d: stopped at %d of %d, sums %s, e %s", way == 2 ? "AVX2" : "AVX-512",
                      (int)n, (int)end, (int)nw, memcmp(el, ref, sizeof el) ? "differ" : "equal",
                      memcmp(P, E, sizeof *P * (size_t)nw) ? "differ" : "equal");
            }
        }
    }
    CHECK(ok, "E[l]'s block sums of the SIMD exp passes equal the rule's, bit for bit (%d runs)", runs);
    /* and the plain loop (smp_mass.c's row_exp) through typical-p's E[l]
     * as the pending cut keeps it, in float, on rows with a partial last
     * block: a float sum in another order shows in cut_lb on some of them */
    int same_lb = 1, cuts = 0;
    for (int r = 0; r < 40 && same_lb; r++) {
        int32_t n = 1025 + (int32_t)(urand() * (NMAX - 1025));
        fill(L, n, r % 3);
        float lb[2];
        int cut[2];
        for (int plain = 0; plain < 2; plain++) {
            smp *st = smp_create_typical(0.9f, 1);
            smp_cands c;
            smp_cands_init(&c, n);
            c.only_selected = true;               /* (else the stage's cut is compacted) */
            smp_cands_set(&c, L, n);
            smp_simd_set_plain(plain);
            smp_apply(st, &c);
            smp_simd_set_plain(0);
            lb[plain] = c.cut_lb;
            cut[plain] = c.cut && c.cut_typical;
            smp_cands_fini(&c);
            smp_destroy(st);
        }
        cuts += cut[0];
        if (cut[0] != cut[1] || (cut[0] && memcmp(&lb[0], &lb[1], sizeof *lb))) same_lb = 0;
    }
    CHECK(same_lb && cuts > 20, "typical-p's E[l] from the plain loop equals the SIMD loops' (%d pending cuts)", cuts);
    free(L);
    free(P);
    free(E);
    free(B);
    free(h);
}

/* ---- the pending cut (session 10) ------------------------------------
 * top-p and typical-p over a whole row leave their cut pending and the
 * dist draw picks among the kept in the whole row (core/smp_cut.c). The
 * same chain with a stage between them that takes no columns (so the cut
 * is compacted first, as before) must pick the same token with the same
 * data[selected], the same kept set after smp_cands_sync, on flat rows and
 * on rows where a kept p is below 2^-29 (the draw then compacts and takes
 * the chained sums); so must min-p between them (it keeps among top-p's
 * pending cut), with min_keep 1 and 300, and a temperature (the
 * compaction divides, session 13). And the cut must be pending after
 * the stage alone, with n counted. */
static int ident_apply(smp *s, smp_cands *c) { (void)s; (void)c; return SMP_OK; }
static const smp_iface ident_iface = { "ident", ident_apply, NULL, NULL, NULL };

static smp *cut_chain(int typical, int ident, int min_p, const smp_params *p) {
    smp *ch = smp_create_chain();
    smp_chain_add(ch, typical ? smp_create_typical(p->typical_p, p->min_keep) : smp_create_top_p(p->top_p, p->min_keep));
    if (ident) smp_chain_add(ch, smp_create(&ident_iface, NULL));
    if (min_p) smp_chain_add(ch, smp_create_min_p(p->min_p, p->min_keep));
    if (p->temp != 1.0f) smp_chain_add(ch, smp_create_temp(p->temp));   /* divides in the compaction (session 13) */
    smp_chain_add(ch, smp_create_dist(p->seed));
    return ch;
}

static void pending_cut(void) {
    float *x = malloc(sizeof *x * 128256);
    int ok = 1, cases = 0, pending = 0;
    for (int r = 0; r < 8 && ok; r++) {
        int32_t n = r < 4 ? 128256 : 32000 + 97 * r;
        for (int32_t i = 0; i < n; i++) {
            double u = urand(), v = urand() + 1e-12, g = sqrt(-2 * log(v)) * cos(2 * M_PI * u);
            x[i] = (float)(1.5 * g);
            if (r % 4 == 2) x[i] = i % 9 ? -14.0f - (float)u : (float)g;   /* kept p below 2^-29 at p ~ 1 */
            if (r % 4 == 3 && u < 0.01) x[i] = -INFINITY;
        }
        smp_params p;
        smp_params_default(&p);
        p.top_p = p.typical_p = r % 4 == 2 ? 0.9999999f : (float)(0.3 + 0.69 * urand());
        p.min_keep = 1;
        for (int typ = 0; typ < 2 && ok; typ++) {
            smp *st = typ ? smp_create_typical(p.typical_p, 1) : smp_create_top_p(p.top_p, 1);
            smp_cands a, b;
            smp_cands_init(&a, n);
            smp_cands_init(&b, n);
            a.only_selected = true;
            smp_cands_set(&a, x, n);
            smp_apply(st, &a);
            pending += a.cut;
            int32_t counted = a.n;
            smp_cands_sync(&a);
            if (a.n != counted || a.cut) {
                ok = 0;
                CHECK(0, "%s n=%d: counted %d, compacted %d", typ ? "typical" : "top_p", (int)n, (int)counted, (int)a.n);
            }
            smp_destroy(st);
            for (int s = 0; s < 8 && ok; s++) {
                p.seed = (uint64_t)(1000 * r + s);
                p.min_p = s < 6 ? 0.05f : 0.9f;       /* min-p after top-p keeps among its cut */
                p.min_keep = s == 7 ? 300 : 1;
                p.temp = s % 4 == 1 ? 0.7f : 1.0f;
                smp *fa = cut_chain(typ, 0, s >= 4, &p), *fb = cut_chain(typ, 1, s >= 4, &p);
                a.only_selected = s % 2 == 0;
                smp_cands_set(&a, x, n);
                smp_cands_set(&b, x, n);
                int32_t ta = smp_sample(fa, &a), tb = smp_sample(fb, &b);
                cases++;
                int sel = ta >= 0 && ta == tb && a.selected == b.selected &&
                          !memcmp(&a.data[a.selected], &b.data[b.selected], sizeof *a.data);
                smp_cands_sync(&a);
                if (!sel || !same(&a, &b)) {
                    ok = 0;
                    CHECK(0, "%s n=%d row %d seed %d: pending token %d (index %d), compacted %d (index %d)",
                          typ ? "typical" : "top_p", (int)n, r, s, (int)ta, (int)a.selected, (int)tb, (int)b.selected);
                }
                smp_destroy(fa);
                smp_destroy(fb);
            }
            smp_cands_fini(&a);
            smp_cands_fini(&b);
        }
    }
    CHECK(ok && pending >= 12, "a pending cut's draw equals the compacted one's on %d picks (%d cuts left pending)", cases,
          pending);
    free(x);
}

/* ---- the draw's rule over a truncation's set (session 13) --------------
 * Over more than 1024 candidates that arrive normalized, u = r * (1 +
 * 2^-20), drawn again when past the total (core/smp_mass.h): the pending
 * cut and the compacted one answer alike at the edge (r just below 1: draw
 * again) and inside; and the picks' frequencies match the kept masses
 * (chi-square over 16 bins of ids, 12000 seeded picks of a 3000-token row,
 * fixed seeds: the statistic is a number of the code, 15 degrees of
 * freedom, 0.01 % point ~42.6). */
static void draw_rule(void) {
    enum { N = 3000, BINS = 16, PICKS = 12000 };
    static float x[N];
    for (int32_t i = 0; i < N; i++) x[i] = (float)(1.5 * sin(0.37 * i) + 0.5 * cos(0.011 * i));
    smp *tp = smp_create_top_p(0.95f, 1);
    smp_cands a, b;
    smp_cands_init(&a, N);
    smp_cands_init(&b, N);
    int ok = 1;
    a.only_selected = true;                      /* the cut stays pending after the stage */
    static const double rs[] = { 1.0 - 0x1p-22, 0.0, 0.3, 0.7, 0.999999 };
    for (int k = 0; k < 5; k++) {
        smp_cands_set(&a, x, N);
        smp_cands_set(&b, x, N);
        smp_apply(tp, &a);
        smp_apply(tp, &b);
        ok &= a.cut && a.n > 1024;
        smp_cands_sync(&b);                      /* compacted */
        int32_t pa = smp_mass_softmax_draw(&a, rs[k]), pb = smp_mass_softmax_draw(&b, rs[k]);
        ok &= pa == pb && (k > 0 || pa == SMP_DRAW_AGAIN);
    }
    CHECK(ok, "the rejection rule: pending and compacted cuts draw alike, again past the total");
    /* the expected mass per bin: the kept p after the compaction */
    double want[BINS] = { 0 }, got[BINS] = { 0 }, chi = 0;
    smp_cands_set(&b, x, N);
    smp_apply(tp, &b);
    smp_cands_sync(&b);
    for (int32_t i = 0; i < b.n; i++) want[b.data[i].id * BINS / N] += b.data[i].p;
    smp *ch = smp_create_chain();
    smp_chain_add(ch, smp_create_top_p(0.95f, 1));
    smp_chain_add(ch, smp_create_dist(1));
    for (int i = 0; i < PICKS; i++) {
        smp_reseed(ch, smp_seed_mix(77, (uint64_t)i));
        smp_cands_set(&a, x, N);
        int32_t t = smp_sample(ch, &a);
        if (t >= 0) got[t * BINS / N] += 1;
    }
    for (int j = 0; j < BINS; j++) {
        double e = want[j] * PICKS;
        chi += (got[j] - e) * (got[j] - e) / e;
    }
    CHECK(chi < 42.6, "the draw's frequencies match the kept masses (chi-square %.1f over %d bins)", chi, BINS);
    smp_destroy(ch);
    smp_destroy(tp);
    smp_cands_fini(&a);
    smp_cands_fini(&b);
}

int main(void) {
    draw_rule();
    pending_cut();
    mass_vs_f64();
    mass_brute();
    if (vd_isa() >= VD_AVX2) simd_vs_plain();
    if (vd_isa() >= VD_AVX2) el_blocks();
    exp_check();
    int best = vd_isa();
    if (best >= VD_AVX2) {                       /* the plain loops of the pending cut too */
        smp_simd_set_plain(1);
        pending_cut();
        smp_simd_set_plain(0);
    }
    run(best >= VD_AVX2 ? "SIMD" : "portable");
    if (best >= VD_AVX512) {                     /* AVX2 without the AVX-512 compaction */
        vd_set_isa(VD_AVX2);
        run("AVX2");
        vd_set_isa(best);
    }
    if (best >= VD_AVX2) {
        vd_set_isa(VD_PORTABLE);
        run("scalar");
        vd_set_isa(best);
    }
    return check_done();
}
