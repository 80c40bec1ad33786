/* lab_train_bg: lab.train{..., background = true}, a training run on its own
 * thread, so that the workbench (or a script's other tasks) go on meanwhile.
 *
 * The run (core/trun) gets deep copies of its data and its own thread pool;
 * the model it fine-tunes stays referenced (its weights are copied at the
 * start, its tokenizer only read). The workspace is touched on the host's
 * thread only: the training thread keeps every step's statistics in a list
 * under a mutex, and the host records them in the run (trun_record_step)
 * whenever Lua looks at the Training (status, history, stop, lab.await,
 * its collection). Stopping asks trun to end after the current step, which
 * writes the checkpoint (a later run with resume = true continues from it).
 * A Training collected while it runs (its state closing, the workbench
 * quitting) is stopped the same way and waited for.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "lhost_impl.h"
#include "store.h"
#include "trun.h"
#include "thread.h"

#define TRAINING_T "lab.Training"

typedef struct tjob {
    /* set before the thread starts, then read-only */
    trun_spec s;
    char output[4096];          /* resolved path */
    char *output_arg;           /* as the caller wrote it, for the result */
    char ckpt[4096];
    char *sep, *chat;
    char *blob;                 /* texts and examples, copied */
    const char **tx;
    size_t *tl;
    trun_example *ex;
    lmodel *lm;                 /* finetuned model, referenced */
    lwork *work;                /* to wake the host when done */
    atomic_int *n_training;     /* the host's count of running trainings, less one when done */
    bool use_ws;
    /* shared with the thread, under mu */
    pthread_mutex_t mu;
    train_stat *hist;
    int64_t n_hist, cap_hist;
    bool hist_full;             /* out of memory for more steps: the latest is still kept */
    train_stat last;
    bool ready;                 /* trun set up (res.settings valid) */
    bool finished;
    trun_result res;
    int rc;
    char err[2048];
    atomic_int stop;            /* TRUN_STOP (stop(), collected) or TRUN_STOP_INT (Ctrl-C) */
    /* the host's thread only */
    pthread_t th;
    bool joined;
    ljob *fin;                  /* done when the thread ends (lab.await) */
    int64_t run_id, n_recorded;
    bool run_begun, run_ended;
    bool ws_failed;
    bool warned;                /* the <unk> warning was printed */
    lhost *h;                   /* its list (h->trainings) */
    struct tjob *prev, *next;
    char owner[64];             /* the name of the state that started it */
} tjob;

typedef struct training_ud {
    tjob *j;
} training_ud;

static void on_ready(void *ud, const trun_result *r, const char *kernel) {
    (void)kernel;
    tjob *j = ud;
    pthread_mutex_lock(&j->mu);
    j->res = *r;
    j->ready = true;
    pthread_mutex_unlock(&j->mu);
}

static int on_step(void *ud, const train_stat *st) {
    tjob *j = ud;
    pthread_mutex_lock(&j->mu);
    j->last = *st;
    if (j->n_hist == j->cap_hist && !j->hist_full) {
        int64_t cap = j->cap_hist ? j->cap_hist * 2 : 256;
        train_stat *h = realloc(j->hist, sizeof *h * (size_t)cap);
        if (h) { j->hist = h; j->cap_hist = cap; }
        else j->hist_full = true;
    }
    if (j->n_hist < j->cap_hist) j->hist[j->n_hist++] = *st;
    pthread_mutex_unlock(&j->mu);
    return atomic_load(&j->stop) != 0;
}

static void *thread_main(void *arg) {
    tjob *j = arg;
    trun_result *res = malloc(sizeof *res);
    char err[2048] = "";
    int rc = res ? trun_run(&j->s, on_ready, on_step, j, res, err, sizeof err) : TRAIN_ENOMEM;
    if (!res) snprintf(err, sizeof err, "out of memory");
    pthread_mutex_lock(&j->mu);
    if (res) j->res = *res;
    j->rc = rc;
    snprintf(j->err, sizeof j->err, "%s", err);
    j->finished = true;
    pthread_mutex_unlock(&j->mu);
    free(res);
    atomic_fetch_sub(j->n_training, 1);
    lwork_job_finish(j->fin, rc ? -1 : 0, err);
    lwork_wake(j->work);
    return NULL;
}

/* Records what the thread did since the last call in the workspace. */
static void drain(lhost *h, tjob *j) {
    if (!j->warned) {
        pthread_mutex_lock(&j->mu);
        bool ready = j->ready;
        static trun_result r;           /* host thread only */
        if (ready) r = j->res;
        pthread_mutex_unlock(&j->mu);
        if (ready) {
            j->warned = true;
            lab_train_warn(h, &r);
        }
    }
    if (!j->use_ws || j->ws_failed || j->run_ended) return;
    char serr[512];
    store *ws = lab_store_writer(h, serr, sizeof serr);
    if (!ws) return;                    /* busy: try again at the next look */
    pthread_mutex_lock(&j->mu);
    bool ready = j->ready, finished = j->finished;
    int64_t from = j->n_recorded, to = j->n_hist;
    train_stat *news = to > from ? malloc(sizeof *news * (size_t)(to - from)) : NULL;
    if (news) memcpy(news, j->hist + from, sizeof *news * (size_t)(to - from));
    int rc = j->rc;
    char *err = finished && rc ? strdup(j->err) : NULL;
    if (!j->run_begun && ready) {
        store_run_info ri = { .plugin = "train", .params = j->res.settings, .seed = (int64_t)j->s.opts.seed,
                              .has_seed = true };
        if (store_run_begin(ws, &ri, &j->run_id, serr, sizeof serr)) j->ws_failed = true;
        j->run_begun = true;
    }
    pthread_mutex_unlock(&j->mu);
    if (j->run_id && (news || to == from)) {
        for (int64_t i = 0; i < to - from; i++) trun_record_step(ws, j->run_id, &news[i]);
        j->n_recorded = to;
    }
    if (j->run_id && finished && j->n_recorded == to) {
        store_run_end(ws, j->run_id, rc == TRAIN_OK ? "ok" : rc != TRAIN_ESTOPPED ? "failed" :
                      atomic_load(&j->stop) == TRUN_STOP_INT ? "interrupted" : "cancelled", err,
                      serr, sizeof serr);
        j->run_ended = true;
    }
    free(news);
    free(err);
}

static void join(tjob *j) {
    if (j->joined) return;
    pthread_join(j->th, NULL);
    j->joined = true;
}

static void tjob_free(tjob *j) {
    if (!j) return;
    if (j->h) {                         /* linked: unlink */
        if (j->prev) j->prev->next = j->next;
        else j->h->trainings = j->next;
        if (j->next) j->next->prev = j->prev;
    }
    if (j->fin) { j->fin->p = NULL; lwork_job_unref(j->fin); }
    if (j->lm) lab_model_unref(j->lm);
    pthread_mutex_destroy(&j->mu);
    free(j->hist);
    free(j->output_arg);
    free(j->sep);
    free(j->chat);
    free(j->blob);
    free(j->tx);
    free(j->tl);
    free(j->ex);
    free(j);
}

static tjob *check_job(lua_State *L, int idx) {
    training_ud *u = luaL_checkudata(L, idx, TRAINING_T);
    if (!u->j) luaL_argerror(L, idx, "the training was released");
    return u->j;
}

static void set_num(lua_State *L, const char *k, double v) {
    if (isnan(v)) return;
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

/* The result of a finished run, as lab.train returns it. */
static void push_result(lua_State *L, tjob *j) {
    lua_createtable(L, 0, 8);
    lua_pushstring(L, j->output_arg);
    lua_setfield(L, -2, "output");
    lua_pushinteger(L, j->res.steps);
    lua_setfield(L, -2, "steps");
    set_num(L, "loss", j->res.loss);
    set_num(L, "val_loss", j->res.val_loss);
    lua_pushinteger(L, j->run_id);
    lua_setfield(L, -2, "run");
    lua_pushinteger(L, (lua_Integer)j->res.n_params);
    lua_setfield(L, -2, "params");
    lua_pushinteger(L, j->res.resumed_from);
    lua_setfield(L, -2, "resumed_from");
    lua_pushstring(L, j->res.data_sha256);
    lua_setfield(L, -2, "data_sha256");
    lab_train_push_unk(L, &j->res);
}

/* lab.await(training): the thread has ended (fin done). */
static int fin_push(lua_State *L, ljob *fj, int idx) {
    (void)idx;
    tjob *j = fj->p;
    if (!j) { lua_pushnil(L); return 1; }
    join(j);
    drain(lhost_of(L), j);
    push_result(L, j);
    return 1;
}

ljob *lab_train_awaitable(lua_State *L, int idx) {
    training_ud *u = luaL_testudata(L, idx, TRAINING_T);
    if (!u) return NULL;
    if (!u->j) luaL_argerror(L, idx, "the training was released");
    drain(lhost_of(L), u->j);
    return u->j->fin;
}

static void push_stat(lua_State *L, const train_stat *st) {
    lua_createtable(L, 0, 10);
    lua_pushinteger(L, st->step);
    lua_setfield(L, -2, "step");
    lua_pushinteger(L, st->steps);
    lua_setfield(L, -2, "steps");
    set_num(L, "loss", st->loss);
    set_num(L, "val_loss", st->val_loss);
    set_num(L, "lr", st->lr);
    set_num(L, "grad_norm", st->grad_norm);
    set_num(L, "tok_per_s", st->tok_per_s);
    set_num(L, "elapsed_s", st->elapsed_s);
    set_num(L, "eta_s", st->eta_s);
}

/* Pushes j's status table (training:status()). */
static void push_status(lua_State *L, tjob *j) {
    pthread_mutex_lock(&j->mu);
    train_stat st = j->last;
    bool ready = j->ready, finished = j->finished;
    int64_t n = j->n_hist;
    int rc = j->rc;
    char err[2048];
    snprintf(err, sizeof err, "%s", j->err);
    pthread_mutex_unlock(&j->mu);
    if (n) push_stat(L, &st);
    else {
        lua_createtable(L, 0, 4);
        lua_pushinteger(L, 0);
        lua_setfield(L, -2, "step");
        lua_pushinteger(L, j->s.opts.steps);
        lua_setfield(L, -2, "steps");
    }
    const char *state = !finished ? (ready ? (atomic_load(&j->stop) ? "stopping" : "running") : "starting")
                      : rc == TRAIN_OK ? "ok" : rc == TRAIN_ESTOPPED ? "stopped" : "failed";
    lua_pushstring(L, state);
    lua_setfield(L, -2, "state");
    if (finished && rc) {
        lua_pushstring(L, err);
        lua_setfield(L, -2, "error");
    }
    if (j->run_id) {
        lua_pushinteger(L, j->run_id);
        lua_setfield(L, -2, "run");
    }
    lua_pushstring(L, j->output_arg);
    lua_setfield(L, -2, "output");
    lua_pushstring(L, j->ckpt);
    lua_setfield(L, -2, "checkpoint");
    static trun_result r;               /* copied under the lock (the thread writes it at its end); host thread only */
    pthread_mutex_lock(&j->mu);
    bool ready2 = j->ready;
    if (ready2) r = j->res;
    pthread_mutex_unlock(&j->mu);
    if (ready2) lab_train_push_unk(L, &r);
}

/* training:status() -> {state=, step=, steps=, loss=, ..., error=, run=} */
static int t_status(lua_State *L) {
    tjob *j = check_job(L, 1);
    drain(lhost_of(L), j);
    push_status(L, j);
    return 1;
}

/* lab.trainings(): a console's lab.train{background = true} is as visible to
 * the workbench's train status item as a :train run (session 14's trial). */
int lab_trainings(lua_State *L) {
    lhost *h = lhost_of(L);
    lua_newtable(L);
    int i = 0;
    for (tjob *j = h->trainings; j; j = j->next) {
        drain(h, j);
        push_status(L, j);
        lua_pushstring(L, j->owner);
        lua_setfield(L, -2, "owner");
        lua_rawseti(L, -2, ++i);
    }
    return 1;
}

/* training:history([after]) -> the steps after step `after` (default 0),
 * each {step=, loss=, val_loss=, lr=, ...}, oldest first */
static int t_history(lua_State *L) {
    tjob *j = check_job(L, 1);
    lua_Integer after = luaL_optinteger(L, 2, 0);
    drain(lhost_of(L), j);
    pthread_mutex_lock(&j->mu);
    int64_t n = j->n_hist, first = 0;
    while (first < n && j->hist[first].step <= after) first++;   /* steps are increasing */
    train_stat *cp = n > first ? malloc(sizeof *cp * (size_t)(n - first)) : NULL;
    if (cp) memcpy(cp, j->hist + first, sizeof *cp * (size_t)(n - first));
    pthread_mutex_unlock(&j->mu);
    if (n > first && !cp) return luaL_error(L, "training:history: out of memory");
    lua_createtable(L, (int)(n - first), 0);
    for (int64_t i = 0; i < n - first; i++) {
        push_stat(L, &cp[i]);
        lua_rawseti(L, -2, (lua_Integer)(i + 1));
    }
    free(cp);
    return 1;
}

bool lab_train_stop_fin(ljob *fin) {
    if (!fin || fin->push != fin_push || !fin->p) return false;
    tjob *j = fin->p;
    atomic_store(&j->stop, TRUN_STOP_INT);
    return true;
}

/* training:stop() -> true if it was running: it ends after the current
 * step, with a checkpoint (lab.await then gives nil, "stopped at step N") */
static int t_stop(lua_State *L) {
    tjob *j = check_job(L, 1);
    drain(lhost_of(L), j);
    pthread_mutex_lock(&j->mu);
    bool running = !j->finished;
    pthread_mutex_unlock(&j->mu);
    atomic_store(&j->stop, TRUN_STOP);
    lua_pushboolean(L, running);
    return 1;
}

static int t_done(lua_State *L) {
    tjob *j = check_job(L, 1);
    drain(lhost_of(L), j);
    lua_pushboolean(L, lwork_job_done(j->fin));
    return 1;
}

static int t_gc(lua_State *L) {
    training_ud *u = luaL_checkudata(L, 1, TRAINING_T);
    tjob *j = u->j;
    if (!j) return 0;
    u->j = NULL;
    atomic_store(&j->stop, TRUN_STOP);         /* nobody can look at it any more */
    join(j);
    drain(lhost_of(L), j);
    tjob_free(j);
    return 0;
}

static int t_tostring(lua_State *L) {
    training_ud *u = luaL_checkudata(L, 1, TRAINING_T);
    if (!u->j) { lua_pushstring(L, "Training(released)"); return 1; }
    pthread_mutex_lock(&u->j->mu);
    int64_t step = u->j->last.step;
    bool fin = u->j->finished;
    pthread_mutex_unlock(&u->j->mu);
    lua_pushfstring(L, "Training(%s, step %d of %d%s)", u->j->output_arg, (int)step, (int)u->j->s.opts.steps,
                    fin ? ", ended" : "");
    return 1;
}

/* Copies the borrowed inputs of s into j (one blob for all strings). */
static int copy_inputs(tjob *j, const trun_spec *s) {
    size_t total = 1;
    for (int i = 0; i < s->n_texts; i++) total += s->text_lens[i] + 1;
    for (int64_t i = 0; i < s->n_examples; i++) total += s->examples[i].plen + s->examples[i].clen + 2;
    j->blob = malloc(total);
    j->tx = malloc(sizeof *j->tx * (size_t)(s->n_texts + 1));
    j->tl = malloc(sizeof *j->tl * (size_t)(s->n_texts + 1));
    j->ex = malloc(sizeof *j->ex * (size_t)(s->n_examples + 1));
    if (!j->blob || !j->tx || !j->tl || !j->ex) return -1;
    char *p = j->blob;
    for (int i = 0; i < s->n_texts; i++) {
        memcpy(p, s->texts[i], s->text_lens[i]);
        p[s->text_lens[i]] = 0;
        j->tx[i] = p;
        j->tl[i] = s->text_lens[i];
        p += s->text_lens[i] + 1;
    }
    for (int64_t i = 0; i < s->n_examples; i++) {
        const trun_example *e = &s->examples[i];
        j->ex[i] = *e;
        if (e->prompt) {
            memcpy(p, e->prompt, e->plen);
            p[e->plen] = 0;
            j->ex[i].prompt = p;
        }
        p += e->plen + 1;
        memcpy(p, e->completion, e->clen);
        p[e->clen] = 0;
        j->ex[i].completion = p;
        p += e->clen + 1;
    }
    return 0;
}

int lab_train_start(lua_State *L, const trun_spec *s, lmodel *lm, const char *output_arg, const char *ws_dir) {
    lhost *h = lhost_of(L);
    training_ud *u = lua_newuserdatauv(L, sizeof *u, 2);    /* uservalue 2: lab.await's cache */
    u->j = NULL;
    luaL_setmetatable(L, TRAINING_T);
    tjob *j = calloc(1, sizeof *j);
    if (!j) return lab_fail(L, "lab.train: out of memory");
    pthread_mutex_init(&j->mu, NULL);
    j->s = *s;
    j->use_ws = ws_dir != NULL;
    j->work = h->work;
    j->output_arg = strdup(output_arg);
    j->sep = s->sep ? strdup(s->sep) : NULL;
    j->chat = s->chat_template ? strdup(s->chat_template) : NULL;
    j->fin = lwork_job_new(NULL, NULL, j);
    if (!j->output_arg || (s->sep && !j->sep) || (s->chat_template && !j->chat) || !j->fin || copy_inputs(j, s)) {
        tjob_free(j);
        return lab_fail(L, "lab.train: out of memory");
    }
    j->fin->push = fin_push;
    snprintf(j->output, sizeof j->output, "%s", s->output);
    j->s.output = j->output;
    j->s.sep = j->sep;
    j->s.chat_template = j->chat;
    j->s.texts = j->tx;
    j->s.text_lens = j->tl;
    j->s.examples = j->ex;
    j->s.ws = NULL;                     /* recorded by the host (drain) */
    if (s->opts.ckpt_every >= 0) {
        if (!s->opts.ckpt_path) trun_ckpt_path(ws_dir, j->output, j->ckpt, sizeof j->ckpt);
        else snprintf(j->ckpt, sizeof j->ckpt, "%s", s->opts.ckpt_path);
        j->s.opts.ckpt_path = j->ckpt;
    } else {
        snprintf(j->ckpt, sizeof j->ckpt, "none");
    }
    if (lm) { lab_model_ref(lm); j->lm = lm; }
    j->n_training = &h->n_training;
    atomic_fetch_add(&h->n_training, 1);
    if (thread_create(&j->th, NULL, thread_main, j)) {
        atomic_fetch_sub(&h->n_training, 1);
        tjob_free(j);
        return lab_fail(L, "lab.train: cannot start the training thread");
    }
    u->j = j;
    lstate *st = lhost_state(L);
    snprintf(j->owner, sizeof j->owner, "%s", st && st->name ? st->name : "script");
    j->h = h;
    j->next = h->trainings;
    if (h->trainings) h->trainings->prev = j;
    h->trainings = j;
    return 1;
}

static const luaL_Reg training_methods[] = {
    { "status", t_status }, { "history", t_history }, { "stop", t_stop }, { "done", t_done }, { NULL, NULL }
};
static const luaL_Reg training_meta[] = { { "__gc", t_gc }, { "__tostring", t_tostring }, { NULL, NULL } };

void lab_train_bg_open(lua_State *L) { lab_class(L, TRAINING_T, "Training", training_methods, training_meta); }
