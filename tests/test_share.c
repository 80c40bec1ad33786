/* The CPU backend's weight copies belong to the model (model_share): a
 * second context of the same model reads the first one's repacked / huge-page
 * copies instead of making its own, the copies live as long as any context
 * uses them, contexts with another page setting get their own, and
 * contexts created at once on several threads make one set. Every context
 * gives the same logits bit for bit (memcmp), whichever set it reads.
 * Models: synth-A Q4_0 (repacked copies) and stories260K (F32: float copies). */
#include "check.h"
#include "ctx.h"
#include "model.h"
#include "vecdot.h"
#include <pthread.h>

enum { NP = 12, NT = 4 };
static const int32_t prompt[NP] = { 1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 300, 301 };

static ctx *mk(model *m, int threads, bool no_huge) {
    ctx_params p;
    ctx_params_default(&p);
    p.n_ctx = 64; p.n_batch = 16; p.n_seq_max = 2; p.n_threads = threads; p.no_huge_pages = no_huge;
    ctx *c = NULL;
    char err[256];
    if (ctx_create(&c, m, &p, err, sizeof err)) fprintf(stderr, "ctx_create: %s\n", err);
    return c;
}

/* The logits of every prompt position (one batch), into out[NP * V]. */
static int run(ctx *c, int32_t V, float *out) {
    int32_t s = ctx_seq_create(c);
    ctx_entry b[NP];
    for (int i = 0; i < NP; i++) b[i] = (ctx_entry){ s, i, prompt[i] % V, true };
    char err[256];
    int rc = ctx_eval(c, b, NP, err, sizeof err);
    if (rc) fprintf(stderr, "ctx_eval: %s\n", err);
    else for (int i = 0; i < NP; i++) memcpy(out + (size_t)i * V, ctx_logits(c, i), sizeof(float) * (size_t)V);
    ctx_seq_drop(c, s);
    return rc;
}

static int nobj(model *m) { int o; model_share_stats(m, &o, NULL, NULL); return o; }
static int nref(model *m) { int r; model_share_stats(m, NULL, &r, NULL); return r; }

typedef struct tjob {
    model *m;
    int32_t V;
    const float *ref;
    pthread_barrier_t *made, *checked;
    int same, ok;
    int objects, refs;      /* seen by thread 0 while all NT contexts live */
    int id;
} tjob;

static void *thread_main(void *arg) {
    tjob *j = arg;
    float *got = malloc(sizeof(float) * (size_t)NP * (size_t)j->V);
    pthread_barrier_wait(j->made);          /* all create their context at once */
    ctx *c = mk(j->m, 1, false);
    j->ok = c && got && run(c, j->V, got) == 0;
    j->same = j->ok && memcmp(got, j->ref, sizeof(float) * (size_t)NP * (size_t)j->V) == 0;
    pthread_barrier_wait(j->checked);       /* every context alive here */
    if (j->id == 0) model_share_stats(j->m, &j->objects, &j->refs, NULL);
    pthread_barrier_wait(j->checked);
    ctx_destroy(c);
    free(got);
    return NULL;
}

static void one_model(const char *rel) {
    char path[1024], err[512];
    model *m = NULL;
    if (model_open(&m, check_path(path, sizeof path, rel), NULL, err, sizeof err)) { CHECK(0, "%s", err); return; }
    int32_t V = model_get_info(m)->n_vocab;
    size_t sz = sizeof(float) * (size_t)NP * (size_t)V;
    float *ref = malloc(sz), *got = malloc(sz);
    CHECK(nobj(m) == 0, "%s: no copies before a context", rel);

    /* two contexts: one set of copies, two references */
    ctx *a = mk(m, 2, false);
    size_t bytes = 0;
    model_share_stats(m, NULL, NULL, &bytes);
    CHECK(a && nobj(m) == 1 && nref(m) == 1 && bytes > 0, "%s: the first context makes the copies (%d, %zu bytes)",
          rel, nobj(m), bytes);
    ctx *b = mk(m, 1, false);
    size_t bytes2 = 0;
    model_share_stats(m, NULL, NULL, &bytes2);
    CHECK(b && nobj(m) == 1 && nref(m) == 2 && bytes2 == bytes, "%s: the second shares them (%d objects, %d refs)",
          rel, nobj(m), nref(m));
    CHECK(a && run(a, V, ref) == 0, "%s: eval a", rel);
    CHECK(b && run(b, V, got) == 0 && memcmp(ref, got, sz) == 0, "%s: the sharing context gives the same bits", rel);

    /* another page setting: its own set (ordinary pages), the same bits */
    ctx *p = mk(m, 2, true);
    CHECK(p && nobj(m) == 2 && nref(m) == 3, "%s: no_huge_pages gets its own copies (%d objects)", rel, nobj(m));
    CHECK(p && run(p, V, got) == 0 && memcmp(ref, got, sz) == 0, "%s: no_huge_pages: the same bits", rel);
    ctx_destroy(p);
    CHECK(nobj(m) == 1 && nref(m) == 2, "%s: its copies go with its last context", rel);

    /* the first context goes: the second still reads the copies */
    ctx_destroy(a);
    CHECK(nobj(m) == 1 && nref(m) == 1, "%s: one reference left", rel);
    memset(got, 0, sz);
    CHECK(b && run(b, V, got) == 0 && memcmp(ref, got, sz) == 0, "%s: after the maker is gone: the same bits", rel);
    ctx_destroy(b);
    CHECK(nobj(m) == 0, "%s: the last context frees the copies", rel);

    /* NT contexts created at once on NT threads: one set, NT references */
    pthread_barrier_t made, checked;
    pthread_barrier_init(&made, NULL, NT);
    pthread_barrier_init(&checked, NULL, NT);
    tjob jobs[NT];
    pthread_t th[NT];
    for (int i = 0; i < NT; i++) {
        jobs[i] = (tjob){ .m = m, .V = V, .ref = ref, .made = &made, .checked = &checked, .id = i };
        pthread_create(&th[i], NULL, thread_main, &jobs[i]);
    }
    int same = 0, ok = 0;
    for (int i = 0; i < NT; i++) { pthread_join(th[i], NULL); same += jobs[i].same; ok += jobs[i].ok; }
    CHECK(ok == NT && same == NT, "%s: %d of %d contexts made on threads at once give the same bits", rel, same, NT);
    CHECK(jobs[0].objects == 1 && jobs[0].refs == NT, "%s: threads made one set (%d objects, %d refs)", rel,
          jobs[0].objects, jobs[0].refs);
    CHECK(nobj(m) == 0, "%s: freed after the threads' contexts", rel);
    pthread_barrier_destroy(&made);
    pthread_barrier_destroy(&checked);

    free(ref); free(got);
    model_close(m);
}

/* model_share itself: keys, make failures, put of NULL. */
static int made, freed;
static void *mk_obj(void *arg, size_t *bytes) { made++; *bytes = 10; return arg; }
static void *mk_fail(void *arg, size_t *bytes) { (void)arg; (void)bytes; made++; return NULL; }
static void free_obj(void *obj) { (void)obj; freed++; }

static void api(void) {
    char path[1024], err[512];
    model *m = NULL;
    if (model_open(&m, check_path(path, sizeof path, "models/stories260K.gguf"), NULL, err, sizeof err)) {
        CHECK(0, "%s", err);
        return;
    }
    int x, y;
    CHECK(model_share_get(m, "k1", mk_obj, free_obj, &x) == &x && made == 1, "get makes");
    CHECK(model_share_get(m, "k1", mk_obj, free_obj, &y) == &x && made == 1, "get again shares, no make");
    CHECK(model_share_get(m, "k2", mk_obj, free_obj, &y) == &y && made == 2, "another key, another object");
    size_t bytes;
    int o, r;
    model_share_stats(m, &o, &r, &bytes);
    CHECK(o == 2 && r == 3 && bytes == 20, "stats %d objects %d refs %zu bytes", o, r, bytes);
    CHECK(model_share_get(m, "k3", mk_fail, free_obj, NULL) == NULL && nobj(m) == 2, "a failed make stores nothing");
    char longkey[80];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = 0;
    CHECK(model_share_get(m, longkey, mk_obj, free_obj, &x) == NULL && made == 3, "a key of 64 bytes or more is refused");
    model_share_put(m, NULL);
    model_share_put(m, &x);
    CHECK(freed == 0 && nref(m) == 2, "put drops one reference");
    model_share_put(m, &x);
    CHECK(freed == 1 && nobj(m) == 1, "the last put frees");
    model_close(m);   /* k2 still held: freed by model_close */
    CHECK(freed == 2, "model_close frees what is left (%d)", freed);
}

int main(void) {
    vd_init();
    api();
    one_model("models/synthetic/synth-A-q4_0.gguf");
    one_model("models/stories260K.gguf");
    return check_done();
}
