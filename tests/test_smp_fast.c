/* The whole-row sampler passes (core/smp_mass.c) against the stages they
 * replaced (tests/smp_ref.h): on random rows of 1 to 128256 tokens (flat,
 * a random model's spread, peaked, ties, masked, NaN, +inf, all masked),
 * for chains with top-p, typical-p, min-p, top-k, temperature and the dist
 * draw, the same seed picks the same tokens, and after every pick the
 * candidates hold the same ids, logits and probabilities, bit for bit
 * (memcmp), with the same flags. With the best SIMD loops, with AVX2 alone
 * (where AVX-512 is there) and with the scalar ones (vd_set_isa). */
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
    /* every other pick as lab's samplers take it: only data[selected]
     * written, the rest after smp_cands_sync */
    a.only_selected = urand() < 0.5;
    for (int pick = 0; pick < 3; pick++) {      /* the random stream goes on */
        smp_cands_set(&a, x, n);
        smp_cands_set(&b, x, n);
        smp_cands_sync(&b);                     /* the old stages start from data[] */
        int32_t ta = smp_sample(fast, &a), tb = smp_sample(ref, &b);
        cases++;
        int sel_ok = 1;
        if (a.only_selected && ta >= 0 && a.selected >= 0 && a.selected < a.n && a.selected == b.selected)
            sel_ok = !memcmp(&a.data[a.selected], &b.data[b.selected], sizeof *a.data);
        smp_cands_sync(&a);
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
                static const int big[] = { 0, 1, 8 };
                for (int s = 0; s < 3; s++) one(x, n, kind, specs[big[s]], &p);
            } else {
                for (int s = 0; s < NSPECS; s++) one(x, n, kind, specs[s], &p);
            }
        }
    }
    free(x);
    CHECK(bad == 0, "%s: the fast stages equal the old ones on %d picks (%d differ)", label, cases, bad);
}

/* typical-p over a big row against a float64 computation of its own
 * (softmax, E[l], distances |l - E[l]|, sort, walk to p, all in double):
 * E[l] is summed in eight partial sums since session 6, so this, not the
 * old stage, is the check that the selection is right. The sets may differ
 * only at the cut (float keys can tie where double distances do not): at
 * most 2 tokens of the symmetric difference, the kept mass within 1e-6. */
typedef struct dref { double d; int32_t id; } dref;
static int cmp_dref(const void *pa, const void *pb) {
    const dref *a = pa, *b = pb;
    if (a->d != b->d) return a->d < b->d ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static void typical_vs_f64(void) {
    static const int32_t sizes[] = { 4099, 32000, 128256 };
    static const double ps[] = { 0.2, 0.9, 0.95 };
    float *x = malloc(sizeof *x * 128256);
    double *pd = malloc(sizeof *pd * 128256);
    dref *r = malloc(sizeof *r * 128256);
    unsigned char *in = malloc(128256);
    int worst = 0, ok = 1;
    for (int si = 0; si < 3; si++)
        for (int kind = 0; kind < 3; kind++)
            for (int pi = 0; pi < 3; pi++) {
                int32_t n = sizes[si];
                fill(x, n, kind);
                double m = -INFINITY, sum = 0, el = 0;
                for (int32_t i = 0; i < n; i++) if (x[i] > m) m = x[i];
                for (int32_t i = 0; i < n; i++) sum += pd[i] = exp((double)x[i] - m);
                for (int32_t i = 0; i < n; i++) el += (pd[i] /= sum) * x[i];
                for (int32_t i = 0; i < n; i++) r[i] = (dref){ fabs(x[i] - el), i };
                qsort(r, (size_t)n, sizeof *r, cmp_dref);
                double cum = 0;
                int32_t keep = n;
                for (int32_t k = 0; k < n; k++)
                    if ((cum += pd[r[k].id]) >= ps[pi]) { keep = k + 1; break; }
                memset(in, 0, 128256);
                for (int32_t k = 0; k < keep; k++) in[r[k].id] = 1;
                smp *st = smp_create_typical((float)ps[pi], 1);
                smp_cands c;
                smp_cands_init(&c, n);
                smp_cands_set(&c, x, n);
                smp_apply(st, &c);
                int32_t diff = keep, mine = 0;
                double mass = 0;
                for (int32_t i = 0; i < c.n; i++) {
                    int32_t id = c.data[i].id;
                    mass += pd[id];
                    if (in[id]) { diff--; mine++; } else diff++;
                }
                (void)mine;
                if (diff > worst) worst = diff;
                if (diff > 2 || fabs(mass - cum) > 1e-6) {
                    ok = 0;
                    CHECK(0, "typical %.2f n=%d %s: %d tokens differ from float64, mass %.9f vs %.9f", ps[pi], (int)n,
                          kinds[kind], (int)diff, mass, cum);
                }
                smp_cands_fini(&c);
                smp_destroy(st);
            }
    CHECK(ok, "typical-p on 27 big rows selects what float64 does (at most %d tokens differ at the cut)", worst);
    free(x);
    free(pd);
    free(r);
    free(in);
}

int main(void) {
    typical_vs_f64();
    int best = vd_isa();
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
