/* lwork_cancel on a job the worker is already running (Ctrl-C while a long
 * prompt's engine step is under way): the job's ctx_eval stops at its next
 * layer (CTX_ECANCELED) instead of finishing, unused; a job nobody cancels
 * gives the logits ctx_eval gives anywhere, bit for bit; once the job is
 * done the context answers the Lua thread again with nothing asked; a queued
 * job is still taken out of the queue. Deterministic: the test job says it
 * started and waits for the test's go (pipes), so a cancel lands while it
 * runs, before its ctx_eval.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ctx.h"
#include "lhost_impl.h"
#include "model.h"

enum { N = 24 };

typedef struct tjob {
    int started[2], go[2];
    lmodel *lm;
    int rc;
    float *row;             /* (n_vocab) the last row when rc is 0 */
} tjob;

/* N tokens in a fresh sequence, the last row kept; the sequence dropped. */
static int eval_n(ctx *c, float *row, int32_t nv) {
    int32_t s = ctx_seq_create(c);
    ctx_entry e[N];
    for (int i = 0; i < N; i++) e[i] = (ctx_entry){ s, i, i * 7 % nv, i == N - 1 };
    char err[128];
    int rc = ctx_eval(c, e, N, err, sizeof err);
    if (rc == 0) memcpy(row, ctx_logits(c, 0), sizeof *row * (size_t)nv);
    ctx_seq_drop(c, s);
    return rc;
}

static void t_run(ljob *j) {
    tjob *t = j->p;
    char b = 1;
    if (write(t->started[1], &b, 1) != 1 || read(t->go[0], &b, 1) != 1) { t->rc = -100; return; }
    t->rc = eval_n(t->lm->c, t->row, t->lm->n_vocab);
}

static ljob *submit(lwork *w, tjob *t) {
    ljob *j = lwork_job_new(t_run, NULL, t);
    j->models = malloc(sizeof *j->models);
    j->models[0] = t->lm;
    j->n_models = 1;
    atomic_fetch_add(&t->lm->refs, 1);     /* the job's; dropped when it is freed */
    t->rc = -99;
    lwork_submit(w, j);
    return j;
}

static void started(tjob *t) { char b; CHECK(read(t->started[0], &b, 1) == 1, "the job runs"); }
static void go(tjob *t) { char b = 1; CHECK(write(t->go[1], &b, 1) == 1, "go"); }

int main(void) {
    char path[1024], err[512];
    model *m;
    if (model_open(&m, check_path(path, sizeof path, "models/stories260K.gguf"), NULL, err, sizeof err)) {
        CHECK(0, "%s", err);
        return check_done();
    }
    ctx_params p;
    ctx_params_default(&p);
    p.n_ctx = 128; p.n_batch = 32; p.n_seq_max = 4; p.n_threads = 1;
    lmodel lm = { .m = m, .n_vocab = model_get_info(m)->n_vocab };
    atomic_init(&lm.refs, 1);               /* this test's: never freed by a job */
    CHECK(ctx_create(&lm.c, m, &p, err, sizeof err) == 0, "context: %s", err);
    float *ref = malloc(sizeof *ref * (size_t)lm.n_vocab), *row = malloc(sizeof *row * (size_t)lm.n_vocab);
    CHECK(eval_n(lm.c, ref, lm.n_vocab) == 0, "reference on this thread");
    lwork *w;
    CHECK(lwork_create(&w, err, sizeof err) == LHOST_OK, "worker: %s", err);
    tjob t = { .lm = &lm, .row = row };
    CHECK(pipe(t.started) == 0 && pipe(t.go) == 0, "pipes");

    /* nobody cancels: the same bits as on this thread */
    ljob *j = submit(w, &t);
    started(&t);
    go(&t);
    lwork_wait(w, j);
    CHECK(t.rc == 0 && memcmp(row, ref, sizeof *row * (size_t)lm.n_vocab) == 0,
          "a running job nobody cancels: rc %d, the same bits", t.rc);
    lwork_job_unref(j);

    /* cancelled while it runs: not taken from the queue, its step stops */
    j = submit(w, &t);
    started(&t);
    CHECK(!lwork_cancel(w, j, "cancelled (Ctrl-C)"), "a running job is not in the queue any more");
    go(&t);
    lwork_wait(w, j);
    CHECK(t.rc == CTX_ECANCELED, "its engine step stopped at a layer: rc %d", t.rc);
    lwork_job_unref(j);
    CHECK(eval_n(lm.c, row, lm.n_vocab) == 0 && memcmp(row, ref, sizeof *row * (size_t)lm.n_vocab) == 0,
          "after it: this thread's evaluation is not asked to stop, and the cancelled step left nothing");

    /* a queued job behind a running one: taken out, done, failed with the reason */
    j = submit(w, &t);
    started(&t);
    tjob t2 = t;
    ljob *q = submit(w, &t2);
    CHECK(lwork_cancel(w, q, "cancelled (Ctrl-C)") && lwork_job_done(q) && strcmp(q->err, "cancelled (Ctrl-C)") == 0,
          "a queued job is taken out and done: %s", q->err);
    go(&t);
    lwork_wait(w, j);
    CHECK(t.rc == 0, "the running one was not cancelled with it: rc %d", t.rc);
    lwork_job_unref(q);
    lwork_job_unref(j);

    lwork_destroy(w);
    CHECK(atomic_load(&lm.refs) == 1, "the jobs dropped their references");
    ctx_destroy(lm.c);
    model_close(m);
    free(ref);
    free(row);
    close(t.started[0]); close(t.started[1]); close(t.go[0]); close(t.go[1]);
    return check_done();
}
