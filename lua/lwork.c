/* lwork: the host's worker thread and the jobs it runs.
 *
 * One worker per host runs engine jobs (ctx_eval batches, scoring) in FIFO
 * order, so the Lua thread never waits for the engine unless it asks to.
 * Invariants: a job's models have busy > 0 from lwork_submit until the job
 * is done, and the Lua side touches a model's ctx only when busy == 0
 * (lwork_wait_model); `done` is stored with release order after every
 * result field, so a reader that sees it set (acquire) sees the results.
 * When a job finishes the worker writes one byte to a pipe: the host's
 * event loop polls it (lhost_wake_fd).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctx.h"
#include "lhost_impl.h"
#include "thread.h"

#define LWORK_GROUP_MAX 256

struct lwork {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv_job;      /* a job was queued, or stop */
    pthread_cond_t cv_done;     /* a job finished */
    ljob *head, *tail;
    bool stop;
    int held;                   /* lwork_hold depth: queued jobs wait */
    bool flush;                 /* a blocking wait: run them anyway */
    int pipe[2];                /* [0] read end polled by the host */
    /* the group running now (worker thread only): its steps stop when
     * every job of it is cancelled */
    ljob **run;
    int n_run;
};

/* The models' cancel question while a group runs (on the worker thread,
 * between two layers of a step): a step shared with a job nobody
 * cancelled goes on. */
static bool group_cancelled(void *ud) {
    lwork *w = ud;
    for (int g = 0; g < w->n_run; g++)
        if (!atomic_load_explicit(&w->run[g]->cancel, memory_order_relaxed)) return false;
    return w->n_run > 0;
}

static void set_cancel(ljob **grp, int ng, lwork *w) {
    for (int g = 0; g < ng; g++)
        for (int i = 0; i < grp[g]->n_models; i++)
            ctx_set_cancel(grp[g]->models[i]->c, w ? group_cancelled : NULL, w);
}

ljob *lwork_job_new(void (*run)(ljob *), void (*free_fn)(ljob *), void *p) {
    ljob *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    atomic_init(&j->refs, 1);
    atomic_init(&j->done, 0);
    atomic_init(&j->cancel, 0);
    j->run = run;
    j->free = free_fn;
    j->p = p;
    return j;
}

void lwork_job_ref(ljob *j) { atomic_fetch_add(&j->refs, 1); }

void lwork_job_unref(ljob *j) {
    if (!j || atomic_fetch_sub(&j->refs, 1) != 1) return;
    if (j->free) j->free(j);
    for (int i = 0; i < j->n_models; i++) lab_model_unref(j->models[i]);
    free(j->models);
    free(j);
}

bool lwork_job_done(const ljob *j) { return atomic_load_explicit(&j->done, memory_order_acquire) != 0; }

void lwork_job_finish(ljob *j, int status, const char *err) {
    j->status = status;
    if (err) snprintf(j->err, sizeof j->err, "%s", err);
    atomic_store_explicit(&j->done, 1, memory_order_release);
}

static void wake(lwork *w) {
    char b = 1;
    ssize_t r = write(w->pipe[1], &b, 1);   /* a full pipe is already readable */
    (void)r;
}

void lwork_wake(lwork *w) { wake(w); }

static void *worker(void *arg) {
    lwork *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while ((!w->head || (w->held && !w->flush)) && !w->stop) pthread_cond_wait(&w->cv_job, &w->mu);
        if (!w->head) break;
        ljob *grp[LWORK_GROUP_MAX];
        int ng = 0;
        ljob *j = w->head;
        do {            /* the job at the head, and those that can share its engine steps (any models) */
            grp[ng++] = w->head;
            w->head = w->head->next;
        } while (w->head && ng < LWORK_GROUP_MAX && j->run_group && w->head->run_group == j->run_group);
        if (!w->head) w->tail = NULL;
        pthread_mutex_unlock(&w->mu);
        w->run = grp;
        w->n_run = ng;
        set_cancel(grp, ng, w);
        if (ng > 1) j->run_group(grp, ng);
        else j->run(j);
        set_cancel(grp, ng, NULL);      /* before done: the Lua side may use the contexts then */
        w->n_run = 0;
        pthread_mutex_lock(&w->mu);
        for (int g = 0; g < ng; g++) {
            for (int i = 0; i < grp[g]->n_models; i++) grp[g]->models[i]->busy--;
            atomic_store_explicit(&grp[g]->done, 1, memory_order_release);
        }
        pthread_cond_broadcast(&w->cv_done);
        pthread_mutex_unlock(&w->mu);
        wake(w);
        for (int g = 0; g < ng; g++) lwork_job_unref(grp[g]);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Releases what lwork_create made, once no thread runs in w. */
static void free_worker(lwork *w) {
    close(w->pipe[0]);
    close(w->pipe[1]);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv_job);
    pthread_cond_destroy(&w->cv_done);
    free(w);
}

int lwork_create(lwork **out, char *err, size_t errlen) {
    *out = NULL;
    lwork *w = calloc(1, sizeof *w);
    if (!w) { snprintf(err, errlen, "out of memory"); return LHOST_ENOMEM; }
    if (pipe(w->pipe) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        free(w);
        return LHOST_EINVAL;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(w->pipe[i], F_SETFL, fcntl(w->pipe[i], F_GETFL) | O_NONBLOCK);
        fcntl(w->pipe[i], F_SETFD, FD_CLOEXEC);
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv_job, NULL);
    pthread_cond_init(&w->cv_done, NULL);
    if (thread_create(&w->thread, NULL, worker, w) != 0) {
        snprintf(err, errlen, "cannot start the worker thread");
        free_worker(w);
        return LHOST_ENOMEM;
    }
    *out = w;
    return LHOST_OK;
}

void lwork_destroy(lwork *w) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    ljob *q = w->head;
    w->head = w->tail = NULL;
    w->stop = true;
    for (ljob *j = q; j; j = j->next)
        for (int i = 0; i < j->n_models; i++) j->models[i]->busy--;
    pthread_cond_broadcast(&w->cv_job);
    pthread_mutex_unlock(&w->mu);
    while (q) {
        ljob *n = q->next;
        lwork_job_finish(q, LHOST_EINVAL, "cancelled: the host is shutting down");
        lwork_job_unref(q);
        q = n;
    }
    pthread_join(w->thread, NULL);
    free_worker(w);
}

int lwork_submit(lwork *w, ljob *j) {
    lwork_job_ref(j);
    j->next = NULL;
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < j->n_models; i++) j->models[i]->busy++;
    if (w->tail) w->tail->next = j;
    else w->head = j;
    w->tail = j;
    pthread_cond_signal(&w->cv_job);
    pthread_mutex_unlock(&w->mu);
    return LHOST_OK;
}

bool lwork_cancel(lwork *w, ljob *j, const char *err) {
    pthread_mutex_lock(&w->mu);
    ljob **p = &w->head, *prev = NULL;
    while (*p && *p != j) { prev = *p; p = &(*p)->next; }
    bool found = *p == j;
    if (found) {
        *p = j->next;
        if (w->tail == j) w->tail = prev;
        for (int i = 0; i < j->n_models; i++) j->models[i]->busy--;
    }
    pthread_mutex_unlock(&w->mu);
    if (!found) {                            /* running (or done): its steps stop soon */
        atomic_store_explicit(&j->cancel, 1, memory_order_relaxed);
        return false;
    }
    /* as lwork_destroy fails the queued jobs: their sequences settle with
     * nothing evaluated, their pending tokens still pending */
    lwork_job_finish(j, LHOST_EINVAL, err);
    pthread_mutex_lock(&w->mu);
    pthread_cond_broadcast(&w->cv_done);     /* lwork_wait_model may wait on its models */
    pthread_mutex_unlock(&w->mu);
    lwork_job_unref(j);                      /* the queue's reference */
    return true;
}

void lwork_hold(lwork *w) {
    pthread_mutex_lock(&w->mu);
    if (w->held++ == 0) w->flush = false;
    pthread_mutex_unlock(&w->mu);
}

void lwork_release(lwork *w) {
    pthread_mutex_lock(&w->mu);
    if (w->held > 0 && --w->held == 0) pthread_cond_signal(&w->cv_job);
    pthread_mutex_unlock(&w->mu);
}

void lwork_wait(lwork *w, ljob *j) {
    if (lwork_job_done(j)) return;
    pthread_mutex_lock(&w->mu);
    w->flush = true;                    /* held jobs must not wait for us */
    pthread_cond_signal(&w->cv_job);
    while (!lwork_job_done(j)) pthread_cond_wait(&w->cv_done, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

void lwork_wait_model(lwork *w, lmodel *m) {
    pthread_mutex_lock(&w->mu);
    if (m->busy > 0) {
        w->flush = true;
        pthread_cond_signal(&w->cv_job);
    }
    while (m->busy > 0) pthread_cond_wait(&w->cv_done, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

int lwork_fd(const lwork *w) { return w->pipe[0]; }

void lwork_clear_fd(lwork *w) {
    char buf[64];
    while (read(w->pipe[0], buf, sizeof buf) > 0) {}
}
