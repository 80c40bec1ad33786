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
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gmatch.h"
#include "gram.h"
#include "logits.h"
#include "model.h"
#include "tok.h"
#include "thread.h"

enum { JOB_OPEN, JOB_GEN, JOB_DROP, JOB_DIST, JOB_RETIRE };

typedef struct job {
    int kind;
    unsigned serial;
    struct job *next;
    /* JOB_OPEN */
    char *path;
    ctx_params cp;
    bool keep;              /* the open model stays when this one fails (worker_open_keep) */
    const model *in_use;    /* JOB_RETIRE: the model the UI reads now (not freed) */
    /* JOB_GEN */
    worker_req r;           /* r.path points at path_ids, r.sp at sp, r.spec at spec */
    int32_t *path_ids;
    smp_params sp;
    char spec[256];
    char bias[256];
    char grammar[512];
    char end_tokens[128];
    bool has_spec;
    /* JOB_DROP */
    int32_t seq;
    /* room in the KV cache: r.evict / r.evict_node point into evict */
    int32_t *evict;
    int32_t evict_at;       /* the next entry to try */
} job;

struct worker {
    pthread_t th;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *head, *tail;       /* queue, under mu */
    bool quit;              /* under mu */
    worker_ev *evs[2];      /* double buffer: [fill] is filled under mu, the other was taken */
    int32_t n_ev[2], cap_ev[2];
    int fill;
    int pipe[2];
    atomic_uint submitted;  /* jobs submitted so far (their serials) */
    atomic_uint stop_upto;  /* jobs with serial <= this stop */
    worker_stats stats;     /* under mu */
    /* engine state: worker thread only */
    unsigned cur_serial;    /* the job running now */
    model *m;
    model *retired;         /* the model before the last open, kept until worker_retire: the UI may still read it */
    ctx *c;
    const tok *t;
    int32_t nv;
    smp *chain;
    smp *gstage;            /* the chain's grammar stage (borrowed), or NULL */
    gmatch_vocab *gvocab;   /* the open model's vocabulary for grammars, built on first use */
    uint32_t chain_version;
    bool have_chain;
    smp_cands cands;
    float *row, *post;      /* (nv) the last logits row; the post-sampler logits */
    int32_t row_seq, row_len;
    int32_t *handle;        /* (n_handle = the context's n_seq_max) the UI's handle of each sequence, -1 none */
    int32_t n_handle;
    int32_t next_handle;    /* handles are never given twice */
    int32_t *top;           /* (LOOM_TOPK) */
    ctx_entry *batch;       /* (n_batch) */
    int32_t n_stage;        /* observer capture for the token being sampled */
    int32_t stage_n[LOOM_STAGES];
    uint8_t stage_kind[LOOM_STAGES];
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- events ------------------------------------------------------------ */

static void post(worker *w, const worker_ev *e) {
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

static void post_simple(worker *w, int kind, int32_t node, int32_t seq, int reason, const char *msg) {
    worker_ev e;
    memset(&e, 0, sizeof e);
    e.kind = kind;
    e.node = node;
    e.seq = seq;
    e.reason = reason;
    if (msg) copy_str(e.msg, sizeof e.msg, msg);
    post(w, &e);
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

static void update_stats(worker *w, double tok_s, int64_t add) {
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
        post_simple(w, WEV_ERROR, -1, -1, kept ? 1 : 0, err);
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
        post_simple(w, WEV_ERROR, -1, -1, 0, "out of memory");
        return;
    }
    update_stats(w, 0, 0);
    worker_ev e;
    memset(&e, 0, sizeof e);
    e.kind = WEV_READY;
    e.node = -1;
    e.model = w->m;
    copy_str(e.msg, sizeof e.msg, j->path);
    post(w, &e);
}

/* ---- distributions ------------------------------------------------------- */

static void top_of(worker *w, const float *x, int32_t k_max, loom_dist *d) {
    double lse = logits_logsumexp(x, w->nv);
    int32_t k = logits_top_k(x, w->nv, k_max, w->top);
    d->n_top = 0;
    for (int32_t i = 0; i < k; i++) {
        if (isinf(x[w->top[i]]) && x[w->top[i]] < 0) break;
        d->top[d->n_top++] = (loom_alt){ w->top[i], (float)(x[w->top[i]] - lse) };
    }
}

/* The raw part of a record: the distribution row predicts, and id in it. */
static void raw_record(worker *w, const float *row, int32_t id, loom_tok *t) {
    t->id = id;
    t->masked = 0;
    t->flags |= LOOM_TOK_RAW;
    t->raw.entropy = (float)logits_entropy_of(row, w->nv);
    t->raw.n = w->nv;
    top_of(w, row, LOOM_TOPK, &t->raw);
    if (w->gstage) {                    /* which of the model's favourites the grammar refused */
        gmatch *m = gmatch_smp_matcher(w->gstage);
        for (int32_t i = 0; i < t->raw.n_top && i < 32; i++)
            if (!gmatch_allowed(m, t->raw.top[i].id)) t->masked |= 1u << i;
    }
    t->lp_raw = (float)(row[id] - logits_logsumexp(row, w->nv));
    t->rank_raw = logits_rank(row, w->nv, id);
}

/* The post part: the candidates the chain drew from, as a logits row with
 * -inf for every token it cut. */
static void post_record(worker *w, int32_t id, loom_tok *t) {
    smp_cands *c = &w->cands;
    for (int32_t i = 0; i < w->nv; i++) w->post[i] = -INFINITY;
    for (int32_t i = 0; i < c->n; i++)
        if (c->data[i].id >= 0 && c->data[i].id < w->nv) w->post[c->data[i].id] = c->data[i].logit;
    t->flags |= LOOM_TOK_POST;
    t->post.n = c->n;
    t->post.entropy = (float)logits_entropy_of(w->post, w->nv);
    top_of(w, w->post, LOOM_TOPK < c->n ? LOOM_TOPK : c->n, &t->post);
    double lse = logits_logsumexp(w->post, w->nv);
    t->lp_post = (float)(w->post[id] - lse);
    t->rank_post = isinf(w->post[id]) ? 0 : logits_rank(w->post, w->nv, id);
    t->n_stage = w->n_stage;
    memcpy(t->stage_n, w->stage_n, sizeof t->stage_n);
    memcpy(t->stage_kind, w->stage_kind, sizeof t->stage_kind);
}

static void observe(void *ud, int32_t stage, const char *name, const smp_cands *c) {
    worker *w = ud;
    if (stage < 0) w->n_stage = 0;
    if (w->n_stage >= LOOM_STAGES) return;
    w->stage_n[w->n_stage] = c->n;
    w->stage_kind[w->n_stage] = (uint8_t)loom_stage_kind(name);
    w->n_stage++;
}

/* ---- sequences ----------------------------------------------------------- */

/* The engine sequence of a UI handle, or -1 when it is gone. */
static int32_t seq_of(const worker *w, int32_t h) {
    for (int32_t i = 0; h >= 0 && i < w->n_handle; i++)
        if (w->handle[i] == h) return i;
    return -1;
}

/* The UI's handle of live sequence s, given now if it has none. */
static int32_t handle_of(worker *w, int32_t s) {
    if (s < 0 || s >= w->n_handle) return -1;
    if (w->handle[s] < 0) {
        w->handle[s] = w->next_handle;
        w->next_handle = w->next_handle < INT32_MAX ? w->next_handle + 1 : 0;   /* 2^31 sequences later */
    }
    return w->handle[s];
}

static void seq_drop(worker *w, int32_t s) {
    if (s < 0) return;
    ctx_seq_drop(w->c, s);
    if (s < w->n_handle) w->handle[s] = -1;
    if (w->row_seq == s) w->row_seq = -1;
}

/* Room for the job: drops the next sequence of its evict list that is
 * still alive (a hidden branch; `keep` never), reports it, and frees the
 * cells nobody reaches any more (ctx_trim: a dropped donor's tail behind a
 * fork taken from its middle). false: none is left. */
static bool evict_one(worker *w, job *j, int32_t keep) {
    while (j->evict_at < j->r.n_evict) {
        int32_t k = j->evict_at++;
        int32_t s = seq_of(w, j->r.evict[k]);
        if (s < 0 || s == keep) continue;
        seq_drop(w, s);
        post_simple(w, WEV_EVICT, j->r.evict_node[k], j->r.evict[k], 0, NULL);
        ctx_trim(w->c);
        return true;
    }
    return false;
}

/* ctx_eval, dropping the job's evictable sequences one at a time while the
 * cache is full. A cache still full then says what to do about it: the
 * path alone needs `need` cells. */
static int eval_room(worker *w, job *j, int32_t seq, const ctx_entry *b, int32_t n, int32_t need, char *err, size_t errlen) {
    int rc;
    while ((rc = ctx_eval(w->c, b, n, err, errlen)) == CTX_EFULL && evict_one(w, j, seq)) {}
    if (rc != CTX_EFULL) return rc;
    if (need > ctx_kv_size(w->c))
        snprintf(err, errlen, "the path needs %d cells and the KV cache holds %d: start the workbench with a larger -c (--ctx-size)",
                 (int)need, (int)ctx_kv_size(w->c));
    else
        snprintf(err, errlen, "the KV cache is full (%d of %d cells) and no hidden branch is left to free: "
                 "start the workbench with a larger -c (--ctx-size)", (int)ctx_kv_used(w->c), (int)ctx_kv_size(w->c));
    return rc;
}

/* A new sequence: a fork of donor when it is alive (*forked), else an empty
 * one; while every id is taken, drops the job's evictable sequences (the
 * donor last of all, the UI lists it so). -1 when none is left. */
static int32_t new_seq(worker *w, job *j, int32_t donor, bool *forked) {
    for (;;) {
        *forked = donor >= 0 && ctx_seq_alive(w->c, donor);
        int32_t s = *forked ? ctx_seq_fork(w->c, donor) : ctx_seq_create(w->c);
        if (s >= 0) return s;
        if (!evict_one(w, j, -1)) return -1;
    }
}

/* Evaluates path[from..n) into seq, keeping the last row (and, for
 * positions p >= dist_from - 1, posting the raw distribution of the token
 * after p). Stops early (returning 1) when stopped. */
static int feed(worker *w, job *j, int32_t seq, int32_t from, char *err, size_t errlen) {
    const worker_req *r = &j->r;
    int32_t nb = ctx_n_batch(w->c);
    for (int32_t at = from; at < r->n_path;) {
        if (j->serial <= atomic_load(&w->stop_upto)) return 1;
        int32_t m = r->n_path - at < nb ? r->n_path - at : nb;
        for (int32_t k = 0; k < m; k++) {
            int32_t p = at + k;
            bool want = p == r->n_path - 1 || (p >= r->dist_from - 1 && p + 1 < r->n_path);
            w->batch[k] = (ctx_entry){ seq, p, r->path[p], want };
        }
        int rc = eval_room(w, j, seq, w->batch, m, r->n_path, err, errlen);
        if (rc) return rc == CTX_ECANCELED ? 1 : rc;
        int32_t li = 0;
        for (int32_t k = 0; k < m; k++) {
            if (!w->batch[k].logits) continue;
            const float *x = ctx_logits(w->c, li++);
            int32_t p = at + k;
            if (p + 1 < r->n_path) {
                worker_ev e;
                memset(&e, 0, sizeof e);
                e.kind = WEV_DIST;
                e.node = r->dist_node;
                e.pos = p + 1;
                e.tok.flags = LOOM_TOK_PROMPT;
                raw_record(w, x, r->path[p + 1], &e.tok);
                post(w, &e);
            } else {
                memcpy(w->row, x, sizeof *w->row * (size_t)w->nv);
                w->row_seq = seq;
                w->row_len = p + 1;
            }
        }
        at += m;
    }
    return 0;
}

/* A sequence holding exactly the request's path with its last row in
 * w->row; its id, or a negative code (err set), or -9 when stopped. */
static int32_t materialize(worker *w, job *j, char *err, size_t errlen) {
    const worker_req *r = &j->r;
    int32_t s = seq_of(w, r->seq);
    if (s >= 0 && ctx_seq_len(w->c, s) == r->n_path && r->dist_from >= r->n_path) {
        if (w->row_seq == s && w->row_len == r->n_path) return s;
        if (w->row_seq == s) w->row_seq = -1;
        ctx_seq_rewind(w->c, s, r->n_path - 1);
        int rc = feed(w, j, s, r->n_path - 1, err, errlen);
        return rc == 1 ? -9 : rc ? rc : s;
    }
    seq_drop(w, s);
    int32_t from = 0;
    bool forked;
    s = new_seq(w, j, r->shared > 0 ? seq_of(w, r->donor) : -1, &forked);
    if (s < 0) {
        snprintf(err, errlen, "no free sequence (%d alive, all on the selected path)", (int)ctx_n_seq(w->c));
        return CTX_EFULL;
    }
    if (forked) {
        from = r->shared < r->n_path ? r->shared : r->n_path - 1;   /* re-evaluate the last for its row */
        if (from > r->dist_from - 1) from = r->dist_from - 1;        /* and the rows asked for */
        if (from > ctx_seq_len(w->c, s)) from = ctx_seq_len(w->c, s);
        ctx_seq_rewind(w->c, s, from);
    }
    int rc = feed(w, j, s, from, err, errlen);
    if (rc) {
        seq_drop(w, s);
        return rc == 1 ? -9 : rc;
    }
    return s;
}

/* Prepends the constraint "KIND VALUE" to ch as its first stage. */
static int add_grammar(worker *w, smp *ch, const char *spec, char *err, size_t errlen) {
    char kind[32];
    const char *sp = strchr(spec, ' ');
    size_t kl = sp ? (size_t)(sp - spec) : strlen(spec);
    snprintf(kind, sizeof kind, "%.*s", (int)(kl < sizeof kind ? kl : sizeof kind - 1), spec);
    gram *g;
    if (gram_from_option(&g, kind, sp ? sp + 1 : "", err, errlen)) return -1;
    if (!w->gvocab) w->gvocab = gmatch_vocab_create(w->t);
    gmatch_ctx *gc = w->gvocab ? gmatch_ctx_create(g, w->gvocab) : NULL;
    gram_unref(g);
    gmatch *m = gc ? gmatch_create(gc) : NULL;
    gmatch_ctx_destroy(gc);
    smp *st = m ? gmatch_smp_create(m) : NULL;
    if (!st || smp_chain_prepend(ch, st)) { snprintf(err, errlen, "out of memory"); return -1; }
    w->gstage = st;
    return 0;
}

/* The request's chain, ended by dist when no selector ends it, observed
 * into w's stage counts. */
static smp *build_chain(worker *w, const worker_req *r, char *err, size_t errlen) {
    smp *ch;
    smp_params sp = *r->sp;
    logits_bias lb;
    logits_bias_init(&lb);
    if (r->bias && logits_bias_parse(&lb, r->bias, w->nv, err, errlen)) { logits_bias_fini(&lb); return NULL; }
    sp.bias = r->bias ? &lb : NULL;
    int rc = smp_chain_parse(&ch, r->spec, &sp, err, errlen);   /* copies the bias */
    logits_bias_fini(&lb);
    if (rc) return NULL;
    int32_t last = smp_chain_n(ch) - 1;
    const char *ln = last >= 0 ? smp_name(smp_chain_get(ch, last)) : "";
    if (strcmp(ln, "greedy") && strcmp(ln, "dist") && smp_chain_add(ch, smp_create_dist(sp.seed))) {
        smp_destroy(ch);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->gstage = NULL;
    if (r->grammar && add_grammar(w, ch, r->grammar, err, errlen)) {
        smp_destroy(ch);
        return NULL;
    }
    smp_chain_set_observer(ch, observe, w);
    return ch;
}

/* Rebuilds the chain when the sampler settings changed, then sets its
 * history (penalties) to the path. Without r->reseed the draw's stream is
 * kept across jobs; with it (the workbench) every token is drawn from its
 * own seed, so stepping and free running sample alike and a node's draws
 * can be made again. */
static int prepare_chain(worker *w, job *j, char *err, size_t errlen) {
    const worker_req *r = &j->r;
    if (!w->have_chain || w->chain_version != r->sp_version) {
        smp *ch = build_chain(w, r, err, errlen);
        if (!ch) return -1;
        smp_destroy(w->chain);
        w->chain = ch;
        w->chain_version = r->sp_version;
        w->have_chain = true;
    }
    for (int32_t i = 0; i < smp_chain_n(w->chain); i++) {
        smp *st = smp_chain_get(w->chain, i);
        if (strcmp(smp_name(st), "dist")) smp_reset(st);
    }
    for (int32_t i = 0; i < r->n_path; i++) smp_accept(w->chain, r->path[i]);
    if (w->gstage) {                    /* the constrained text: the path after the prompt */
        gmatch *m = gmatch_smp_matcher(w->gstage);
        for (int32_t i = r->grammar_from > 0 ? r->grammar_from : 0; i < r->n_path; i++)
            if (gmatch_accept(m, r->path[i]) != 0) {
                snprintf(err, errlen, "grammar: the text so far does not follow it (token %d at position %d)", (int)r->path[i], (int)i);
                return -1;
            }
    }
    return 0;
}

static void do_gen(worker *w, job *j) {
    const worker_req *r = &j->r;
    char err[256] = "";
    if (!w->c) { post_simple(w, WEV_ERROR, r->node, -1, 0, "no model is open"); post_simple(w, WEV_DONE, r->node, -1, WDONE_ERROR, NULL); return; }
    if (prepare_chain(w, j, err, sizeof err)) {
        post_simple(w, WEV_ERROR, r->node, -1, 0, err);
        post_simple(w, WEV_DONE, r->node, -1, WDONE_ERROR, NULL);
        return;
    }
    int32_t s = materialize(w, j, err, sizeof err);
    if (s < 0) {                        /* a full cache is said by WEV_DONE, as when a run fills it */
        if (s != -9 && s != CTX_EFULL) post_simple(w, WEV_ERROR, r->node, -1, 0, err);
        post_simple(w, WEV_DONE, r->node, -1, s == -9 ? WDONE_STOPPED : s == CTX_EFULL ? WDONE_FULL : WDONE_ERROR,
                    s == CTX_EFULL ? err : NULL);
        return;
    }
    int32_t hs = handle_of(w, s);
    if (hs != r->seq) post_simple(w, WEV_SEQ, r->node, hs, 0, NULL);
    update_stats(w, -1, 0);
    int32_t ends[16], n_end = 0;
    if (r->end_tokens && (n_end = tok_parse_ids(w->t, r->end_tokens, ends, 16, err, sizeof err)) < 0) {
        char e2[300];
        snprintf(e2, sizeof e2, "end_tokens: %s", err);
        post_simple(w, WEV_ERROR, r->node, hs, 0, e2);
        post_simple(w, WEV_DONE, r->node, hs, WDONE_ERROR, NULL);
        return;
    }
    int32_t eos = tok_eos(w->t), eot = tok_eot(w->t), pos = r->n_path;
    double t0 = now_s();
    int reason = WDONE_LIMIT;
    for (int32_t i = 0; r->n_new < 0 || i < r->n_new; i++) {
        if (j->serial <= atomic_load(&w->stop_upto)) { reason = WDONE_STOPPED; break; }
        smp_cands_set_ref(&w->cands, w->row, w->nv);   /* w->row changes only after post_record */
        if (r->reseed) smp_reseed(w->chain, smp_seed_mix(r->draw, (uint64_t)r->draw_at + (uint64_t)i));
        int32_t id = smp_sample(w->chain, &w->cands);
        if (id == SMP_EMASK && w->gstage) {
            gmatch *gm = gmatch_smp_matcher(w->gstage);
            if (gmatch_complete(gm) || gmatch_finished(gm)) { reason = WDONE_EOS; break; }
            snprintf(err, sizeof err, "stopped: the grammar allows no token of this vocabulary here");
            reason = WDONE_ERROR;
            break;
        }
        if (id < 0) { snprintf(err, sizeof err, "the sampler chain failed (%d)", (int)id); reason = WDONE_ERROR; break; }
        smp_cands_softmax(&w->cands);
        worker_ev e;
        memset(&e, 0, sizeof e);
        e.kind = WEV_TOKEN;
        e.node = r->node;
        e.seq = hs;
        e.pos = pos;
        raw_record(w, w->row, id, &e.tok);
        post_record(w, id, &e.tok);
        ctx_entry b = { s, pos, id, true };
        int rc = eval_room(w, j, s, &b, 1, pos + 1, err, sizeof err);
        if (rc) { reason = rc == CTX_EFULL ? WDONE_FULL : rc == CTX_ECANCELED ? WDONE_STOPPED : WDONE_ERROR; break; }
        smp_accept(w->chain, id);
        memcpy(w->row, ctx_logits(w->c, 0), sizeof *w->row * (size_t)w->nv);
        w->row_seq = s;
        w->row_len = ++pos;
        post(w, &e);
        double dt = now_s() - t0;
        update_stats(w, dt > 0 ? (i + 1) / dt : 0, 1);
        if (r->stop_at_eos && (id == eos || (eot >= 0 && id == eot))) { reason = WDONE_EOS; break; }
        bool end = false;
        for (int32_t k = 0; k < n_end; k++) end = end || id == ends[k];
        if (end) { reason = WDONE_END; break; }
        if (pos >= ctx_kv_size(w->c)) {
            snprintf(err, sizeof err, "the path fills the KV cache (%d cells): a longer one needs a larger -c (--ctx-size)",
                     (int)ctx_kv_size(w->c));
            reason = WDONE_FULL;
            break;
        }
    }
    if (reason == WDONE_ERROR) post_simple(w, WEV_ERROR, r->node, hs, 0, err[0] ? err : "the sampler failed");
    post_simple(w, WEV_DONE, r->node, hs, reason, reason == WDONE_FULL ? err : NULL);
}

/* JOB_DIST: the distributions the last token of the path was drawn from,
 * on a sequence of its own (forked from the donor when there is one) that
 * is dropped after; a chain of its own keeps generation's draw stream as it
 * was. With a grammar (r->grammar), its state is the constrained text before
 * the token, so the marks of refused favourites and the post distribution
 * are those generation saw. Posts one WEV_DIST, with no flags when it could
 * not. */
static void do_dist(worker *w, job *j) {
    const worker_req *r = &j->r;
    int32_t q = r->n_path - 1;                  /* the token's position */
    worker_ev e;
    memset(&e, 0, sizeof e);
    e.kind = WEV_DIST;
    e.node = r->dist_node;
    e.pos = q;
    e.tok.id = q >= 0 ? r->path[q] : -1;
    char err[256] = "";
    smp *gen_gstage = w->gstage;                /* build_chain points gstage at the new chain's */
    smp *ch = w->c && q >= 1 ? build_chain(w, r, err, sizeof err) : NULL;
    smp *dist_gstage = ch ? w->gstage : NULL;
    w->gstage = gen_gstage;
    int32_t s = -1;
    if (ch) {
        bool fork;
        s = new_seq(w, j, r->shared > 0 ? seq_of(w, r->donor) : -1, &fork);
        int32_t from = fork ? (r->shared < q - 1 ? r->shared : q - 1) : 0;
        if (s >= 0 && from > ctx_seq_len(w->c, s)) from = ctx_seq_len(w->c, s);
        if (s >= 0) ctx_seq_rewind(w->c, s, from);
        job pre = *j;                           /* evaluates path[0..q), keeping the last row */
        pre.r.n_path = q;
        pre.r.dist_from = q;
        if (s >= 0 && feed(w, &pre, s, from, err, sizeof err) == 0) {
            /* the grammar's state before the token: the constrained text up to it; a
             * path that does not follow the grammar gets its raw distribution only */
            bool follows = true;
            if (dist_gstage) {
                gmatch *m = gmatch_smp_matcher(dist_gstage);
                for (int32_t i = r->grammar_from > 0 ? r->grammar_from : 0; i < q && follows; i++)
                    follows = gmatch_accept(m, r->path[i]) == 0;
            }
            w->gstage = follows ? dist_gstage : NULL;
            raw_record(w, w->row, e.tok.id, &e.tok);
            w->gstage = gen_gstage;
            for (int32_t i = 0; i < q; i++) smp_accept(ch, r->path[i]);
            smp_cands_set_ref(&w->cands, w->row, w->nv);   /* w->row unchanged through post_record */
            if (follows && smp_sample(ch, &w->cands) >= 0) {
                smp_cands_softmax(&w->cands);
                post_record(w, e.tok.id, &e.tok);
            }
        }
        seq_drop(w, s);
        if (s < 0) snprintf(err, sizeof err, "no free sequence (%d alive, all on the selected path)", (int)ctx_n_seq(w->c));
    }
    smp_destroy(ch);
    if (err[0]) post_simple(w, WEV_ERROR, r->dist_node, -1, 0, err);
    post(w, &e);
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
        else if (j->kind == JOB_GEN) do_gen(w, j);
        else if (j->kind == JOB_DIST) do_dist(w, j);
        else if (j->kind == JOB_RETIRE && w->retired != j->in_use) { model_close(w->retired); w->retired = NULL; }
        else if (j->kind == JOB_DROP && w->c) {
            seq_drop(w, seq_of(w, j->seq));
            update_stats(w, -1, 0);
        }
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
