/* worker: the engine thread (see worker.h).
 *
 * Invariants kept on the worker thread: row holds the logits after the last
 * position of row_seq when row_len == ctx_seq_len(row_seq) (any other
 * operation on that seq invalidates it); the chain matches chain_version; a
 * WEV_TOKEN is posted only after its token was evaluated, so a node's seq
 * always holds exactly the node's path. Buffers for the token loop (row,
 * post row, candidates, top-k ids) are allocated when a model opens.
 * handle[s] is the UI's handle of engine sequence s, or -1: set only for a
 * live sequence the UI was told about (WEV_SEQ), cleared whenever s is
 * dropped (seq_drop), so a stale handle never resolves to a reused id.
 *
 * Split in two, one concept each and each well under ~800 lines: this file
 * is the thread, its queue, its events and the model's open and close;
 * worker_job.c is the engine work of the jobs on sequences (JOB_GEN,
 * JOB_DIST, JOB_DROP). The structs they share are in worker_impl.h.
 */
#include "worker.h"
#include "worker_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gmatch.h"
#include "model.h"
#include "thread.h"
#include "tok.h"

/* ---- events ------------------------------------------------------------ */

void worker_post(worker *w, const worker_ev *e) {
    pthread_mutex_lock(&w->mu);
    int f = w->fill;
    if (w->n_ev[f] == w->cap_ev[f]) {
        int32_t cap = w->cap_ev[f] ? w->cap_ev[f] * 2 : 64;
        worker_ev *n = realloc(w->evs[f], sizeof *n * (size_t)cap);
        if (!n) { pthread_mutex_unlock(&w->mu); return; }   /* the UI misses one event; nothing breaks */
        w->evs[f] = n;
        w->cap_ev[f] = cap;
    }
    w->evs[f][w->n_ev[f]++] = *e;
    pthread_mutex_unlock(&w->mu);
    char b = 1;
    ssize_t k = write(w->pipe[1], &b, 1);     /* a full pipe already wakes the UI */
    (void)k;
}

/* Copies s into d (cap bytes), cut if needed. */
static void copy_str(char *d, size_t cap, const char *s) {
    size_t n = strlen(s);
    if (n >= cap) n = cap - 1;
    memcpy(d, s, n);
    d[n] = 0;
}

void worker_post_simple(worker *w, int kind, int32_t node, int32_t seq, int reason, const char *msg) {
    worker_ev e;
    memset(&e, 0, sizeof e);
    e.kind = kind;
    e.node = node;
    e.seq = seq;
    e.reason = reason;
    if (msg) copy_str(e.msg, sizeof e.msg, msg);
    worker_post(w, &e);
}

int32_t worker_take(worker *w, const worker_ev **evs) {
    char buf[256];
    while (read(w->pipe[0], buf, sizeof buf) > 0) {}
    pthread_mutex_lock(&w->mu);
    int f = w->fill;
    int32_t n = w->n_ev[f];
    w->fill = 1 - f;
    w->n_ev[w->fill] = 0;
    pthread_mutex_unlock(&w->mu);
    *evs = w->evs[f];
    return n;
}

void worker_get_stats(worker *w, worker_stats *out) {
    pthread_mutex_lock(&w->mu);
    *out = w->stats;
    pthread_mutex_unlock(&w->mu);
}

void worker_update_stats(worker *w, double tok_s, int64_t add) {
    pthread_mutex_lock(&w->mu);
    if (w->c) {
        w->stats.kv_used = ctx_kv_used(w->c);
        w->stats.kv_size = ctx_kv_size(w->c);
        w->stats.n_seq = ctx_n_seq(w->c);
        w->stats.n_threads = ctx_n_threads(w->c);
        snprintf(w->stats.backend, sizeof w->stats.backend, "%s", ctx_backend_name(w->c));
    }
    if (tok_s >= 0) w->stats.tok_s = tok_s;
    w->stats.n_generated += add;
    pthread_mutex_unlock(&w->mu);
}

/* ---- the model --------------------------------------------------------- */

static void close_model(worker *w) {
    smp_destroy(w->chain);
    w->chain = NULL;
    w->gstage = NULL;
    gmatch_vocab_unref(w->gvocab);
    w->gvocab = NULL;
    w->have_chain = false;
    smp_cands_fini(&w->cands);
    memset(&w->cands, 0, sizeof w->cands);
    free(w->row); free(w->post); free(w->top); free(w->batch); free(w->handle);
    w->row = w->post = NULL; w->top = NULL; w->batch = NULL; w->handle = NULL;
    w->n_handle = 0;
    ctx_destroy(w->c);
    model_close(w->m);
    w->c = NULL; w->m = NULL; w->t = NULL;
    w->row_seq = -1;
}

/* The context's cancel question (worker thread, between two layers of a
 * batch): the job running now was stopped (worker_stop: Ctrl-C, Esc), so a
 * long prompt's batch of n_batch tokens ends within one layer rather than
 * at its end; feed and the token loop see CTX_ECANCELED as stopped. */
static bool job_stopped(void *ud) {
    worker *w = ud;
    return w->cur_serial <= atomic_load(&w->stop_upto);
}

/* The new model and its context are made before the open one is given up:
 * a file that fails past its header (a damaged tensor table, a llama2.c
 * checkpoint without its tokenizer) leaves a keep job's model in place
 * (WEV_ERROR with reason 1). The old model itself is parked (w->retired)
 * until worker_retire, since the UI reads its tokenizer until WEV_READY. */
static void do_open(worker *w, job *j) {
    char err[512], cerr[400];
    model *nm = NULL;
    ctx *nc = NULL;
    int rc = model_open(&nm, j->path, NULL, err, sizeof err);
    if (!rc && (rc = ctx_create(&nc, nm, &j->cp, cerr, sizeof cerr))) {
        snprintf(err, sizeof err, "%s: %s", j->path, cerr);
        model_close(nm);
    }
    if (rc) {
        bool kept = j->keep && w->m;
        if (!kept) {
            close_model(w);
            pthread_mutex_lock(&w->mu);
            memset(&w->stats, 0, sizeof w->stats);
            pthread_mutex_unlock(&w->mu);
        }
        worker_post_simple(w, WEV_ERROR, -1, -1, kept ? 1 : 0, err);
        return;
    }
    model_close(w->retired);
    w->retired = w->m;
    w->m = NULL;
    close_model(w);                     /* the old context and buffers; the model stays parked */
    pthread_mutex_lock(&w->mu);
    memset(&w->stats, 0, sizeof w->stats);
    pthread_mutex_unlock(&w->mu);
    w->m = nm;
    w->c = nc;
    ctx_set_cancel(w->c, job_stopped, w);
    w->t = model_tok(w->m);
    w->nv = model_get_info(w->m)->n_vocab;
    w->row = malloc(sizeof *w->row * (size_t)w->nv);
    w->post = malloc(sizeof *w->post * (size_t)w->nv);
    w->top = malloc(sizeof *w->top * LOOM_TOPK);
    w->batch = malloc(sizeof *w->batch * (size_t)ctx_n_batch(w->c));
    w->n_handle = ctx_n_seq_max(w->c);
    w->handle = malloc(sizeof *w->handle * (size_t)w->n_handle);
    if (w->handle) for (int32_t i = 0; i < w->n_handle; i++) w->handle[i] = -1;
    if (!w->row || !w->post || !w->top || !w->batch || !w->handle || smp_cands_init(&w->cands, w->nv)) {
        close_model(w);
        worker_post_simple(w, WEV_ERROR, -1, -1, 0, "out of memory");
        return;
    }
    worker_update_stats(w, 0, 0);
    worker_ev e;
    memset(&e, 0, sizeof e);
    e.kind = WEV_READY;
    e.node = -1;
    e.model = w->m;
    copy_str(e.msg, sizeof e.msg, j->path);
    worker_post(w, &e);
}

/* ---- the thread and the queue ---------------------------------------------- */

static void job_free(job *j) {
    if (!j) return;
    free(j->path);
    free(j->path_ids);
    free(j->evict);
    free(j);
}

static void *run(void *arg) {
    worker *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->head && !w->quit) pthread_cond_wait(&w->cv, &w->mu);
        if (w->quit) { pthread_mutex_unlock(&w->mu); break; }
        job *j = w->head;
        w->head = j->next;
        if (!w->head) w->tail = NULL;
        pthread_mutex_unlock(&w->mu);
        w->cur_serial = j->serial;
        if (j->kind == JOB_OPEN) do_open(w, j);
        else if (j->kind == JOB_GEN) worker_job_gen(w, j);
        else if (j->kind == JOB_DIST) worker_job_dist(w, j);
        else if (j->kind == JOB_RETIRE && w->retired != j->in_use) { model_close(w->retired); w->retired = NULL; }
        else if (j->kind == JOB_DROP && w->c) worker_job_drop(w, j);
        job_free(j);
    }
    return NULL;
}

static int submit(worker *w, job *j) {
    pthread_mutex_lock(&w->mu);
    j->serial = atomic_fetch_add(&w->submitted, 1) + 1;
    if (w->tail) w->tail->next = j; else w->head = j;
    w->tail = j;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return WORKER_OK;
}

int worker_create(worker **out, char *err, size_t errlen) {
    *out = NULL;
    worker *w = calloc(1, sizeof *w);
    if (!w) { snprintf(err, errlen, "out of memory"); return WORKER_ENOMEM; }
    w->row_seq = -1;
    w->pipe[0] = w->pipe[1] = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    atomic_init(&w->stop_upto, 0);
    atomic_init(&w->submitted, 0);
    if (pipe(w->pipe) || fcntl(w->pipe[0], F_SETFL, O_NONBLOCK) || fcntl(w->pipe[1], F_SETFL, O_NONBLOCK) ||
        fcntl(w->pipe[0], F_SETFD, FD_CLOEXEC) || fcntl(w->pipe[1], F_SETFD, FD_CLOEXEC)) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        worker_destroy(w);
        return WORKER_ESYS;
    }
    if (thread_create(&w->th, NULL, run, w)) {
        snprintf(err, errlen, "cannot start the engine thread");
        worker_destroy(w);
        return WORKER_ESYS;
    }
    w->started = true;
    *out = w;
    return WORKER_OK;
}

void worker_destroy(worker *w) {
    if (!w) return;
    worker_stop(w);
    pthread_mutex_lock(&w->mu);
    w->quit = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->started) pthread_join(w->th, NULL);
    while (w->head) { job *j = w->head; w->head = j->next; job_free(j); }
    close_model(w);
    model_close(w->retired);
    free(w->evs[0]);
    free(w->evs[1]);
    if (w->pipe[0] >= 0) close(w->pipe[0]);
    if (w->pipe[1] >= 0) close(w->pipe[1]);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

int worker_fd(const worker *w) { return w->pipe[0]; }

void worker_stop(worker *w) {
    /* A job submitted at the same moment may or may not stop: the caller's
     * race anyway. Lock-free atomics only, for the SIGINT handler. */
    atomic_store(&w->stop_upto, atomic_load(&w->submitted));
}

int worker_open_keep(worker *w, const char *path, const ctx_params *cp, bool keep) {
    job *j = calloc(1, sizeof *j);
    if (!j || !(j->path = strdup(path))) { free(j); return WORKER_ENOMEM; }
    j->kind = JOB_OPEN;
    j->keep = keep;
    if (cp) j->cp = *cp; else ctx_params_default(&j->cp);
    return submit(w, j);
}

int worker_open(worker *w, const char *path, const ctx_params *cp) { return worker_open_keep(w, path, cp, false); }

int worker_retire(worker *w, const struct model *in_use) {
    job *j = calloc(1, sizeof *j);
    if (!j) return WORKER_ENOMEM;
    j->kind = JOB_RETIRE;
    j->in_use = in_use;
    return submit(w, j);
}

static int submit_req(worker *w, const worker_req *r, int kind) {
    job *j = calloc(1, sizeof *j);
    if (!j || !(j->path_ids = malloc(sizeof *j->path_ids * (size_t)(r->n_path > 0 ? r->n_path : 1)))) {
        free(j);
        return WORKER_ENOMEM;
    }
    j->kind = kind;
    j->r = *r;
    if (r->n_path > 0) memcpy(j->path_ids, r->path, sizeof *j->path_ids * (size_t)r->n_path);
    j->r.path = j->path_ids;
    if (r->sp) j->sp = *r->sp; else smp_params_default(&j->sp);
    j->r.sp = &j->sp;
    if (r->spec) snprintf(j->spec, sizeof j->spec, "%s", r->spec);
    j->r.spec = r->spec ? j->spec : NULL;
    if (r->bias) snprintf(j->bias, sizeof j->bias, "%s", r->bias);
    j->r.bias = r->bias ? j->bias : NULL;
    if (r->grammar) snprintf(j->grammar, sizeof j->grammar, "%s", r->grammar);
    j->r.grammar = r->grammar ? j->grammar : NULL;
    if (r->end_tokens) snprintf(j->end_tokens, sizeof j->end_tokens, "%s", r->end_tokens);
    j->r.end_tokens = r->end_tokens ? j->end_tokens : NULL;
    j->r.evict = j->r.evict_node = NULL;
    j->r.n_evict = 0;
    if (r->n_evict > 0 && r->evict && r->evict_node) {
        if (!(j->evict = malloc(sizeof *j->evict * 2 * (size_t)r->n_evict))) { job_free(j); return WORKER_ENOMEM; }
        memcpy(j->evict, r->evict, sizeof *j->evict * (size_t)r->n_evict);
        memcpy(j->evict + r->n_evict, r->evict_node, sizeof *j->evict * (size_t)r->n_evict);
        j->r.evict = j->evict;
        j->r.evict_node = j->evict + r->n_evict;
        j->r.n_evict = r->n_evict;
    }
    if (j->r.dist_from < 1) j->r.dist_from = 1;
    if (j->r.dist_from > j->r.n_path) j->r.dist_from = j->r.n_path;
    return submit(w, j);
}

int worker_gen(worker *w, const worker_req *r) { return submit_req(w, r, JOB_GEN); }
int worker_dist(worker *w, const worker_req *r) { return submit_req(w, r, JOB_DIST); }

int worker_drop(worker *w, int32_t seq) {
    job *j = calloc(1, sizeof *j);
    if (!j) return WORKER_ENOMEM;
    j->kind = JOB_DROP;
    j->seq = seq;
    return submit(w, j);
}
