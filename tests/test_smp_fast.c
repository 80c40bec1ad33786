/* The whole-row sampler passes (core/smp_mass.c) against the stages they
 * replaced (tests/smp_ref.h): on random rows of 1 to 128256 tokens (flat,
 * a random model's spread, peaked, ties, masked, NaN, +inf, all masked),
 * for chains with top-p, typical-p, min-p, top-k, temperature and the dist
 * draw, the same seed picks the same tokens, and after every pick the
 * candidates hold the same ids, logits and probabilities, bit for bit
 * (memcmp), with the same flags. Once with the SIMD loops and once with the
 * scalar ones (vd_set_isa). */
#include "check.h"
#include "smp_ref.h"

#include <stdint.h>

/* The reference chain for a spec: top_p, typical and dist from smp_ref.h,
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
    for (int pick = 0; pick < 3; pick++) {      /* the random stream goes on */
        smp_cands_set(&a, x, n);
        smp_cands_set(&b, x, n);
        smp_cands_sync(&b);                     /* the old stages start from data[] */
        int32_t ta = smp_sample(fast, &a), tb = smp_sample(ref, &b);
        cases++;
        if (ta != tb || !same(&a, &b)) {
            if (bad++ < 8)
                CHECK(0, "%s n=%d %s p=%.3f typ=%.3f min_keep=%d pick %d: token %d vs %d, kept %d vs %d",
                      spec, (int)n, kinds[kind], p->top_p, p->typical_p, (int)p->min_keep, pick,
                      (int)ta, (int)tb, (int)a.n, (int)b.n);
            break;
        }
        smp_accept(fast, ta);
        smp_accept(ref, tb);
    }
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
            p.repeat_penalty = 1.3f;
            p.seed = (uint64_t)(urand() * 1e9);
            /* the big rows try the two cheap chains; the rest every chain */
            int nspec = n > 20000 ? 2 : NSPECS;
            for (int s = 0; s < nspec; s++) one(x, n, kind, specs[s], &p);
        }
    }
    free(x);
    CHECK(bad == 0, "%s: the fast stages equal the old ones on %d picks (%d differ)", label, cases, bad);
}

int main(void) {
    int best = vd_isa();
    run(best >= VD_AVX2 ? "SIMD" : "portable");
    if (best >= VD_AVX2) {
        vd_set_isa(VD_PORTABLE);
        run("scalar");
        vd_set_isa(best);
    }
    return check_done();
}
