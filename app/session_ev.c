/* session_ev: filing the worker's events into the session (session.h:
 * session_poll), split from session.c (the actions on the tree) to keep each
 * file to one concept and under ~800 lines. It shares session.c's internals
 * through session_impl.h.
 *
 * Invariants (with session.c's): a node's seq is set only from WEV_SEQ and
 * cleared when its seq is evicted (WEV_EVICT, evict); after session_open,
 * events of the old model's jobs are dropped (s->loading); at most one
 * worker_dist job is out at a time (dist_busy, want_dist).
 */
#include "session.h"
#include "session_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "model.h"
#include "tok.h"

/* After a replay: whether its tokens are the original's. */
static void replay_done(session *s, int reason) {
    const loom_node *a = loom_get(&s->tree, s->replay_of), *b = loom_get(&s->tree, s->replay_node);
    int32_t of = s->replay_of, as = s->replay_node;
    s->replay_of = s->replay_node = -1;
    if (!a || !b || reason == WDONE_STOPPED) return;
    int32_t k = 0;
    while (k < a->n && k < b->n && a->toks[k].id == b->toks[k].id) k++;
    if (k == a->n && k == b->n)
        session_msg(s, SESS_INFO, "replayed #%d as #%d: the same %d tokens", (int)of, (int)as, (int)k);
    else
        session_msg(s, SESS_WARN, "replayed #%d as #%d: differs from token %d of %d (is it the same model?)",
                    (int)of, (int)as, (int)k + 1, (int)a->n);
}

static void on_ready(session *s, const worker_ev *e) {
    if (s->keep_open) {                 /* the new model is open: the old one's tree goes now */
        s->keep_open = false;
        session_reset_tree(s);
        snprintf(s->model_path, sizeof s->model_path, "%s", s->open_path);
    }
    s->m = e->model;
    s->t = model_tok(e->model);
    const model_info *mi = model_get_info(e->model);
    s->nv = mi->n_vocab;
    s->chat_kind = chat_detect(mi->chat_template);
    if (!s->chat_kind) s->chat = false;
    s->loading = false;
    /* the file's stem: general.name is often just "llama" */
    const char *base = strrchr(s->model_path, '/');
    base = base ? base + 1 : s->model_path;
    size_t bl = strlen(base) < sizeof s->model_name - 1 ? strlen(base) : sizeof s->model_name - 1;
    memcpy(s->model_name, base, bl);
    s->model_name[bl] = 0;
    char *dot = strrchr(s->model_name, '.');
    if (dot && dot != s->model_name) *dot = 0;
    session_msg(s, SESS_INFO, "opened %s (%s, %d layers, vocabulary %d)", e->msg, mi->format, (int)mi->n_layers, (int)mi->n_vocab);
    if (s->log) s->log(s->log_ud, s->msg, false);
    worker_retire(s->w, s->m);          /* nothing reads the model before this one now */
    session_refresh_path(s);
}

static void on_done(session *s, const worker_ev *e) {
    if (e->node == s->gen_node) s->gen_node = -1;
    loom_node *n = loom_get(&s->tree, e->node);
    if (!n && e->seq >= 0) worker_drop(s->w, e->seq);
    if (n && e->reason == WDONE_LIMIT && s->queued > 0 && s->gen_node < 0) {
        s->queued--;
        session_gen(s, 1);
        return;
    }
    s->queued = 0;
    if (!n) return;
    if (e->node == s->replay_node && e->reason != WDONE_FULL && e->reason != WDONE_ERROR) { replay_done(s, e->reason); return; }
    if (e->node == s->replay_node) s->replay_of = s->replay_node = -1;
    char freed[96] = "";
    if (s->freed > 0) snprintf(freed, sizeof freed, " (freed the cache of %d hidden branch%s)", (int)s->freed, s->freed == 1 ? "" : "es");
    if (e->reason == WDONE_STOPPED) session_msg(s, SESS_INFO, "stopped%s", freed);
    else if (e->reason == WDONE_EOS) session_msg(s, SESS_INFO, "end of text%s", freed);
    else if (e->reason == WDONE_END) session_msg(s, SESS_INFO, "end of text (an end token: :set end_tokens %s)%s", s->end_tokens, freed);
    else if (e->reason == WDONE_FULL) session_msg(s, SESS_WARN, "%s%s", e->msg[0] ? e->msg : "the KV cache is full", freed);
    /* a node selected while this job ran (a click during the re-evaluation
     * of the path a reopened workspace showed first) was not evaluated:
     * session_refresh_path waits for an idle worker */
    if (e->node != s->cur && e->reason != WDONE_STOPPED && e->reason != WDONE_ERROR && e->reason != WDONE_FULL)
        session_refresh_path(s);
}

/* Whether the session's end tokens hold BOS (then no hint: it stops there). */
static bool bos_ends(const session *s) {
    int32_t ids[16];
    char err[128];
    int32_t n = tok_parse_ids(s->t, s->end_tokens, ids, 16, err, sizeof err);
    for (int32_t i = 0; i < n; i++)
        if (ids[i] == tok_bos(s->t)) return true;
    return false;
}

/* A job dropped a hidden branch's sequence to make room: the node is
 * evaluated again when it is used. */
static void on_evict(session *s, const worker_ev *e) {
    loom_node *n = loom_get(&s->tree, e->node);
    if (n && n->seq == e->seq) n->seq = -1;
    s->freed++;
    session_msg(s, SESS_INFO, "freed the cache of %d hidden branch%s (evaluated again when used)", (int)s->freed,
                s->freed == 1 ? "" : "es");
}

/* Distributions for an existing token (anywhere on the path of e->node):
 * the parts the event carries replace the token's; its flags stay. */
static void file_dist(session *s, const worker_ev *e) {
    if (s->dist_busy && e->node == s->dist_node && e->pos == s->dist_pos) s->dist_busy = false;
    loom_tok *t = loom_tok_at(&s->tree, e->node, e->pos);
    if (!t || t->id != e->tok.id) return;       /* the tree changed meanwhile */
    const loom_tok *n = &e->tok;
    if (n->flags & LOOM_TOK_RAW) {
        t->raw = n->raw;
        t->masked = n->masked;          /* the grammar's marks, recomputed with the node's grammar */
        t->lp_raw = n->lp_raw;
        t->rank_raw = n->rank_raw;
        t->flags = (t->flags | LOOM_TOK_RAW) & ~(uint32_t)LOOM_TOK_STORED;
    }
    if ((n->flags & LOOM_TOK_POST) && !(t->flags & LOOM_TOK_PROMPT)) {
        t->post = n->post;
        t->lp_post = n->lp_post;
        t->rank_post = n->rank_post;
        t->n_stage = n->n_stage;
        memcpy(t->stage_n, n->stage_n, sizeof t->stage_n);
        memcpy(t->stage_kind, n->stage_kind, sizeof t->stage_kind);
        t->flags |= LOOM_TOK_POST;
    }
    s->version++;
}

/* A token whose numbers the engine should recompute: read back from a
 * workspace, or generated but without its post-sampler distribution. */
static bool needs_dist(const loom_tok *t) {
    return (t->flags & LOOM_TOK_STORED) || !(t->flags & (LOOM_TOK_PROMPT | LOOM_TOK_POST));
}

/* Asks the worker for the distributions of the token under the cursor when
 * it lacks them (once per position: a failure is not retried until the
 * cursor has been elsewhere). */
static void want_dist(session *s) {
    if (s->dist_busy || !s->t || s->loading || s->gen_node >= 0) return;
    int32_t p = session_cursor_pos(s);
    const loom_tok *t = session_tok(s, p);
    int32_t node = loom_node_at(&s->tree, s->cur, p);
    if (!t || p < 1 || !needs_dist(t) || (node == s->dist_node && p == s->dist_pos)) return;
    int32_t *ids = malloc(sizeof *ids * (size_t)(p + 1));
    if (!ids) return;
    loom_path_ids(&s->tree, node, ids, p + 1);
    loom_node *nd = loom_get(&s->tree, node);
    smp_params sp;
    char spec[256], bias[256], grammar[512];
    session_node_settings(nd, &sp, spec, sizeof spec, bias, sizeof bias, grammar, sizeof grammar);
    worker_req r;
    memset(&r, 0, sizeof r);
    r.node = r.dist_node = node;
    r.seq = -1;
    r.donor = loom_find_seq(&s->tree, node, &r.shared);
    r.path = ids;
    r.n_path = p + 1;
    r.sp = &sp;
    r.spec = spec[0] ? spec : NULL;
    r.bias = bias[0] ? bias : NULL;
    r.grammar = grammar[0] ? grammar : NULL;   /* the marks and post distribution generation saw */
    r.grammar_from = session_prompt_end(s, node);
    int32_t *ev;
    session_hidden_seqs(s, node, &r, &ev);
    if (worker_dist(s->w, &r) == WORKER_OK) {
        s->dist_busy = true;
        s->dist_node = node;
        s->dist_pos = p;
    }
    free(ids);
    free(ev);
}

/* Drops least recently used sequences beyond the budget. */
static void evict(session *s) {
    int32_t live = loom_n_seqs(&s->tree);
    while (live > s->seq_budget) {
        int32_t best = -1;
        for (int32_t i = 0; i < s->tree.n; i++) {
            loom_node *n = loom_get(&s->tree, i);
            if (!n || n->seq < 0 || i == s->gen_node || loom_is_ancestor(&s->tree, i, s->cur)) continue;
            if (best < 0 || n->used < s->tree.nodes[best].used) best = i;
        }
        if (best < 0) return;
        worker_drop(s->w, s->tree.nodes[best].seq);
        s->tree.nodes[best].seq = -1;
        live--;
    }
}

bool session_poll(session *s) {
    const worker_ev *evs;
    int32_t n = worker_take(s->w, &evs);
    for (int32_t i = 0; i < n; i++) {
        const worker_ev *e = &evs[i];
        loom_node *node = loom_get(&s->tree, e->node);
        /* After session_open, what the old model's jobs still report is
         * void: its sequences died with its context. */
        if (s->loading && e->kind != WEV_READY && e->kind != WEV_ERROR) continue;
        switch (e->kind) {
        case WEV_READY: on_ready(s, e); break;
        case WEV_ERROR:
            if (s->loading && e->node < 0 && s->keep_open && e->reason == 1) {   /* did not open: the old one stays */
                s->loading = s->keep_open = false;
                s->version++;
                session_msg(s, SESS_ERROR, "%s (kept %s and its tree)", e->msg, s->model_name);
                break;
            }
            if (s->loading && e->node < 0) {               /* the model did not open */
                if (s->keep_open) {                        /* ... and the old one is gone (out of memory) */
                    s->keep_open = false;
                    s->m = NULL;
                    s->t = NULL;
                    s->nv = 0;
                    session_reset_tree(s);
                    snprintf(s->model_path, sizeof s->model_path, "%s", s->open_path);
                    worker_retire(s->w, NULL);
                }
                s->loading = false;
                s->model_name[0] = 0;
            }
            session_msg(s, SESS_ERROR, "%s", e->msg);
            break;
        case WEV_SEQ:
            if (node) node->seq = e->seq;
            else worker_drop(s->w, e->seq);
            break;
        case WEV_DIST: file_dist(s, e); break;
        case WEV_TOKEN:
            if (node && e->pos == node->pos0 + node->n && loom_append(&s->tree, e->node, &e->tok))
                session_msg(s, SESS_ERROR, "out of memory");
            else if (node && e->node == s->gen_node && !s->bos_hinted && s->t && e->tok.id == tok_bos(s->t) &&
                     !bos_ends(s)) {
                /* llama2.c's TinyStories models end a story with BOS; the
                 * default stops only at EOS/EOT, as llama.cpp does */
                s->bos_hinted = true;
                session_msg(s, SESS_INFO, "the model emitted <s> (BOS): llama2.c models end a story so; "
                            ":set end_tokens bos stops there");
            }
            break;
        case WEV_DONE: on_done(s, e); break;
        case WEV_EVICT: on_evict(s, e); break;
        default: break;
        }
    }
    if (n) {
        evict(s);
        s->version++;
    }
    want_dist(s);
    return n > 0;
}
