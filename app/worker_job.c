/* worker_job: the engine work of the worker's jobs on sequences (worker.h:
 * worker_gen, worker_dist, worker_drop), on the worker thread: the
 * distributions a token is recorded with, the sequences (handles, forks,
 * eviction for room), the sampler chain, generation and the distributions
 * of an existing token. Split from worker.c (the thread, its queue, events
 * and the model) to keep each file to one concept and under ~800 lines;
 * the structs come from worker_impl.h. worker.c's invariants hold here:
 * row holds the logits after the last position of row_seq when row_len ==
 * ctx_seq_len(row_seq); a WEV_TOKEN is posted only after its token was
 * evaluated; handle[s] is cleared whenever s is dropped (seq_drop).
 */
#include "worker.h"
#include "worker_impl.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gmatch.h"
#include "gram.h"
#include "logits.h"
#include "model.h"
#include "tok.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
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
        worker_post_simple(w, WEV_EVICT, j->r.evict_node[k], j->r.evict[k], 0, NULL);
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
                worker_post(w, &e);
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

void worker_job_gen(worker *w, job *j) {
    const worker_req *r = &j->r;
    char err[256] = "";
    if (!w->c) { worker_post_simple(w, WEV_ERROR, r->node, -1, 0, "no model is open"); worker_post_simple(w, WEV_DONE, r->node, -1, WDONE_ERROR, NULL); return; }
    if (prepare_chain(w, j, err, sizeof err)) {
        worker_post_simple(w, WEV_ERROR, r->node, -1, 0, err);
        worker_post_simple(w, WEV_DONE, r->node, -1, WDONE_ERROR, NULL);
        return;
    }
    int32_t s = materialize(w, j, err, sizeof err);
    if (s < 0) {                        /* a full cache is said by WEV_DONE, as when a run fills it */
        if (s != -9 && s != CTX_EFULL) worker_post_simple(w, WEV_ERROR, r->node, -1, 0, err);
        worker_post_simple(w, WEV_DONE, r->node, -1, s == -9 ? WDONE_STOPPED : s == CTX_EFULL ? WDONE_FULL : WDONE_ERROR,
                    s == CTX_EFULL ? err : NULL);
        return;
    }
    int32_t hs = handle_of(w, s);
    if (hs != r->seq) worker_post_simple(w, WEV_SEQ, r->node, hs, 0, NULL);
    worker_update_stats(w, -1, 0);
    int32_t ends[16], n_end = 0;
    if (r->end_tokens && (n_end = tok_parse_ids(w->t, r->end_tokens, ends, 16, err, sizeof err)) < 0) {
        char e2[300];
        snprintf(e2, sizeof e2, "end_tokens: %s", err);
        worker_post_simple(w, WEV_ERROR, r->node, hs, 0, e2);
        worker_post_simple(w, WEV_DONE, r->node, hs, WDONE_ERROR, NULL);
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
        worker_post(w, &e);
        double dt = now_s() - t0;
        worker_update_stats(w, dt > 0 ? (i + 1) / dt : 0, 1);
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
    if (reason == WDONE_ERROR) worker_post_simple(w, WEV_ERROR, r->node, hs, 0, err[0] ? err : "the sampler failed");
    worker_post_simple(w, WEV_DONE, r->node, hs, reason, reason == WDONE_FULL ? err : NULL);
}

/* JOB_DIST: the distributions the last token of the path was drawn from,
 * on a sequence of its own (forked from the donor when there is one) that
 * is dropped after; a chain of its own keeps generation's draw stream as it
 * was. With a grammar (r->grammar), its state is the constrained text before
 * the token, so the marks of refused favourites and the post distribution
 * are those generation saw. Posts one WEV_DIST, with no flags when it could
 * not. */
void worker_job_dist(worker *w, job *j) {
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
    if (err[0]) worker_post_simple(w, WEV_ERROR, r->dist_node, -1, 0, err);
    worker_post(w, &e);
}

/* JOB_DROP: the sequence of a UI handle goes (worker_drop), if still alive. */
void worker_job_drop(worker *w, job *j) {
    seq_drop(w, seq_of(w, j->seq));
    worker_update_stats(w, -1, 0);
}
