/* The workbench's engine side (app/session.c + app/worker.c) on a real
 * model, without a terminal: the session's actions are called and the
 * worker's events polled as the TUI's loop does.
 *
 * Issue 13 item 12, a full KV cache (-c 128): after a generation fills the
 * cache, picking an alternative and stepping works (the hidden branch's
 * cells are freed and the user told so); a long prompt followed by a short
 * one generates past 32 tokens; a path that alone exceeds the cache fails
 * with a message naming -c; a branch whose cells were freed is evaluated
 * again bitwise as before (every raw distribution of its path, memcmp).
 *
 * Item 16, reproducible branches: every generated node records its
 * generator state; :replay makes a sibling with the same tokens (and the
 * same distributions, bit for bit), for a generated node, a split tail
 * and a picked branch, also after the tree went through a workspace and
 * back; a regeneration differs; stepping N times equals a free run of N
 * tokens with the same settings. */
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "session.h"
#include "store.h"
#include "tui_store.h"

static char err[512];

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Polls the worker until the session has nothing out (no model loading, no
 * generation, no distribution job); false after 60 s. */
static bool settle(session *s) {
    double t0 = now_s();
    while (now_s() - t0 < 60) {
        struct pollfd p = { worker_fd(s->w), POLLIN, 0 };
        poll(&p, 1, 20);
        session_poll(s);
        if (!s->loading && s->gen_node < 0 && !s->dist_busy) {
            /* a last look: events of a job that just ended */
            poll(&p, 1, 20);
            session_poll(s);
            if (s->gen_node < 0 && !s->dist_busy) return true;
        }
    }
    return false;
}

/* Generated tokens of the selected path (after the prompt). */
static int32_t n_generated(const session *s) {
    int32_t r = loom_root(&s->tree, s->cur);
    return session_len(s) - loom_end(&s->tree, r);
}

static void prompt(session *s, const char *text) {
    field_set(&s->prompt, text);
    s->cur = -1;
}

static bool has(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

static void test_full_cache(const char *model) {
    session S;
    CHECK(session_init(&S, err, sizeof err) == 0, "session_init: %s", err);
    S.cp.n_ctx = 128;
    S.cp.n_threads = 1;
    session_open(&S, model);
    CHECK(settle(&S) && S.t, "the model opens (%s)", S.msg);
    CHECK(session_set(&S, "temp", "0", err, sizeof err) == 0, "temp 0: %s", err);
    /* a bias id beyond the open model's vocabulary is refused at :set time,
     * with the valid range; the setting stays as it was */
    CHECK(session_set(&S, "bias", "5=1,999999=1", err, sizeof err) != 0 && has(err, "0 <= ID < 512") &&
              has(err, "999999=1") && has(err, "stories260K"),
          "bias 999999 refused: %s", err);
    CHECK(S.bias[0] == 0, "a refused bias changes nothing ('%s')", S.bias);
    CHECK(session_set(&S, "bias", "511=1", err, sizeof err) == 0 && session_set(&S, "bias", "none", err, sizeof err) == 0,
          "the last id is valid: %s", err);

    /* a free run fills the cache */
    prompt(&S, "Once upon a time");
    session_gen(&S, -1);
    CHECK(settle(&S), "the run ends");
    CHECK(session_len(&S) == 128, "the run fills the 128 cells (%d)", (int)session_len(&S));
    CHECK(has(S.msg, "fills the KV cache") && has(S.msg, "-c"), "a full path names -c: '%s'", S.msg);
    int32_t full = S.cur;
    static loom_tok ref[128];
    for (int32_t p = 0; p < 128; p++) ref[p] = *loom_tok_at(&S.tree, full, p);

    /* pick an alternative in the middle and step: the hidden tail's cells go */
    S.cursor = 15;
    const loom_tok *t15 = session_tok(&S, 15);
    int32_t alt = t15->raw.top[0].id == t15->id ? t15->raw.top[1].id : t15->raw.top[0].id;
    session_pick(&S, alt);
    CHECK(settle(&S), "the pick's sequence is built");
    CHECK(has(S.msg, "freed the cache of 1 hidden branch"), "the pick says what it freed: '%s'", S.msg);
    session_gen(&S, 1);
    CHECK(settle(&S), "the step ends");
    CHECK(session_len(&S) == 17, "stepping after the pick adds a token (%d)", (int)session_len(&S));
    CHECK(!has(S.msg, "full"), "no full cache on the step: '%s'", S.msg);
    session_gen(&S, -1);
    CHECK(settle(&S), "the run ends");
    CHECK(session_len(&S) == 128, "the picked branch runs to the end of the cache (%d)", (int)session_len(&S));

    /* the old tail, whose cells were freed, evaluated again: the same
     * distributions bit for bit (it is evaluated as a reopened workspace's
     * tree is, by marking its tokens stored and selecting it) */
    int32_t tail = -1;
    for (int32_t i = 0; i < S.tree.nodes[full].n_kids; i++)
        if (S.tree.nodes[S.tree.nodes[full].kids[i]].origin == LOOM_SPLIT) tail = S.tree.nodes[full].kids[i];
    CHECK(tail >= 0 && loom_end(&S.tree, tail) == 128, "the split left the old tail");
    if (tail < 0) { session_fini(&S); return; }
    CHECK(S.tree.nodes[tail].seq < 0, "the hidden tail has no sequence any more");
    int32_t picked = S.cur;
    for (int32_t p = 1; p < 128; p++) loom_tok_at(&S.tree, tail, p)->flags |= LOOM_TOK_STORED;
    session_select(&S, tail);
    CHECK(settle(&S), "the re-evaluation ends");
    CHECK(S.tree.nodes[tail].seq >= 0, "the tail has a sequence again");
    CHECK(has(S.msg, "freed the cache of"), "re-evaluating it freed the picked branch: '%s'", S.msg);
    int32_t same = 0;
    for (int32_t p = 1; p < 128; p++) same += memcmp(loom_tok_at(&S.tree, tail, p), &ref[p], sizeof ref[p]) == 0;
    CHECK(same == 127, "re-evaluated after eviction: %d of 127 positions bitwise as before", (int)same);

    /* a node selected while such a re-evaluation runs is evaluated once it
     * ends (refresh_path waits for an idle worker, and nothing ran it
     * afterwards: a click during a reopened workspace's first refresh) */
    int32_t pend = loom_end(&S.tree, picked);
    for (int32_t p = 1; p < 128; p++) loom_tok_at(&S.tree, tail, p)->flags |= LOOM_TOK_STORED;
    for (int32_t p = 1; p < pend; p++) loom_tok_at(&S.tree, picked, p)->flags |= LOOM_TOK_STORED;
    session_select(&S, tail);
    CHECK(S.gen_node >= 0, "the tail's re-evaluation runs");
    session_select(&S, picked);
    CHECK(settle(&S), "the jobs end");
    int32_t left = 0;
    for (int32_t p = 1; p < pend; p++) left += (loom_tok_at(&S.tree, picked, p)->flags & LOOM_TOK_STORED) != 0;
    CHECK(pend > 100 && left == 0, "the node selected meanwhile was evaluated too (%d of %d positions left)", (int)left,
          (int)pend - 1);

    /* a long prompt, then a short one: the short one is not held to the
     * few cells the long one left */
    prompt(&S, "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
               "One day, she saw a big, red ball. She wanted to play with it, but it was too high. Lily's mom "
               "said, \"Lily, let's go");
    session_gen(&S, -1);
    CHECK(settle(&S), "the long prompt's run ends");
    int32_t long_len = loom_end(&S.tree, loom_root(&S.tree, S.cur));
    CHECK(long_len > 70 && long_len < 120, "the long prompt is %d tokens", (int)long_len);
    prompt(&S, "The cat");
    session_gen(&S, -1);
    CHECK(settle(&S), "the short prompt's run ends");
    CHECK(n_generated(&S) > 32 + 40, "the short prompt generates %d tokens, not 32", (int)n_generated(&S));
    CHECK(S.msg_level != SESS_ERROR, "no error: '%s'", S.msg);

    /* a path longer than the cache on its own: an error naming -c */
    char big[2048] = "";
    for (int i = 0; i < 40; i++) strcat(big, "the cat sat on ");
    prompt(&S, big);
    session_gen(&S, -1);
    CHECK(settle(&S), "the too long prompt's job ends");
    CHECK(has(S.msg, "holds 128") && has(S.msg, "larger -c"), "a prompt beyond the cache names -c: '%s'", S.msg);
    session_fini(&S);
}

static bool open_session(session *s, const char *model) {
    if (session_init(s, err, sizeof err)) return false;
    s->cp.n_ctx = 512;
    s->cp.n_threads = 1;
    session_open(s, model);
    return settle(s) && s->t && session_set(s, "temp", "1.2", err, sizeof err) == 0;
}

/* Whether nodes a (of la) and b (of lb) hold the same tokens, bit for bit
 * in every recorded number (skip: leading tokens not compared). */
static bool same_toks(const loom *la, int32_t a, const loom *lb, int32_t b, int32_t skip) {
    const loom_node *x = loom_get(la, a), *y = loom_get(lb, b);
    if (!x || !y || x->n != y->n) return false;
    for (int32_t i = skip; i < x->n; i++)
        if (memcmp(&x->toks[i], &y->toks[i], sizeof x->toks[i])) return false;
    return true;
}

static bool same_ids(const loom *l, int32_t a, int32_t b) {
    const loom_node *x = loom_get(l, a), *y = loom_get(l, b);
    if (!x || !y || x->n != y->n) return false;
    for (int32_t i = 0; i < x->n; i++)
        if (x->toks[i].id != y->toks[i].id) return false;
    return true;
}

static int32_t replay(session *s, int32_t node) {
    session_replay(s, node);
    settle(s);
    return s->cur;
}

static void test_replay(const char *model) {
    session S;
    CHECK(open_session(&S, model), "the model opens (%s)", S.msg);
    S.n_max = 40;
    prompt(&S, "Once upon a time");
    session_gen(&S, -1);
    CHECK(settle(&S), "the run ends");
    int32_t a = S.cur, root = loom_root(&S.tree, a);
    const loom_node *na = &S.tree.nodes[a];
    CHECK(na->n == 40 && na->has_draw && na->draw == smp_seed_mix(42, (uint64_t)a) && na->draw_at == 0,
          "a run of 40 records its draws: seed 42 mixed with its id #%d", (int)a);

    int32_t b = replay(&S, a);
    CHECK(b != a && S.tree.nodes[b].parent == root, "the replay is a sibling (#%d)", (int)b);
    CHECK(same_toks(&S.tree, a, &S.tree, b, 0), "the replay has the same 40 tokens, bit for bit");
    CHECK(has(S.msg, "the same 40 tokens"), "and says so: '%s'", S.msg);

    /* a regeneration is a new node with draws of its own */
    S.cur = root;
    S.cursor = -1;
    session_gen(&S, -1);
    CHECK(settle(&S) && S.cur != a && S.cur != b, "a regeneration runs");
    CHECK(!same_ids(&S.tree, a, S.cur), "and draws other tokens");

    /* a split tail goes on in its head's draws */
    S.cur = a;
    S.cursor = loom_end(&S.tree, root) + 9;
    session_rewind(&S);
    int32_t tail = S.tree.nodes[a].kids[0];
    CHECK(S.tree.nodes[a].n == 10 && S.tree.nodes[tail].draw == S.tree.nodes[a].draw && S.tree.nodes[tail].draw_at == 10,
          "the tail of a split at 10 draws on from index 10");
    int32_t tr = replay(&S, tail);
    CHECK(S.tree.nodes[tr].parent == a && same_toks(&S.tree, tail, &S.tree, tr, 0), "replaying the tail gives its 30 tokens");

    /* a picked branch: its first token copied, the rest drawn again */
    S.cur = tail;
    S.cursor = loom_end(&S.tree, a) + 4;
    const loom_tok *t = session_tok(&S, S.cursor);
    session_pick(&S, t->raw.top[0].id == t->id ? t->raw.top[1].id : t->raw.top[0].id);
    settle(&S);
    session_gen(&S, 12);
    settle(&S);
    int32_t pick = S.cur;
    CHECK(S.tree.nodes[pick].origin == LOOM_PICK && S.tree.nodes[pick].n == 13, "a pick and 12 tokens");
    int32_t pr = replay(&S, pick);
    CHECK(S.tree.nodes[pr].origin == LOOM_PICK && same_toks(&S.tree, pick, &S.tree, pr, 0), "replaying the pick gives its 13 tokens");

    /* the logit bias is the node's: recorded with it, used by a replay
     * after the session's bias is gone */
    char ban[32];
    int32_t first = S.tree.nodes[a].toks[0].id;
    snprintf(ban, sizeof ban, "%d=-inf", (int)first);
    CHECK(session_set(&S, "bias", ban, err, sizeof err) == 0, "bias: %s", err);
    S.cur = root;
    S.cursor = -1;
    session_gen(&S, -1);
    settle(&S);
    int32_t bz = S.cur;
    CHECK(S.tree.nodes[bz].toks[0].id != first && has(S.tree.nodes[bz].sampler, "\"bias\":"),
          "a run under a bias that bans #%d's first token records it", (int)a);
    session_set(&S, "bias", "none", err, sizeof err);
    int32_t bzr = replay(&S, bz);
    CHECK(same_toks(&S.tree, bz, &S.tree, bzr, 0), "its replay, with the bias cleared since, draws the same tokens: '%s'", S.msg);
    S.cur = bz;
    S.cursor = -1;
    session_gen(&S, 1);
    settle(&S);
    CHECK(S.tree.nodes[S.cur].parent == bz, "stepping without the bias starts a node of its own");

    /* through a workspace and back: the draws are kept, replays still match */
    char dir[] = "/tmp/logitlab-test-session.XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "a temporary workspace");
    store *db;
    int64_t sess;
    tui_store *m, *m2;
    CHECK(store_open(&db, dir, NULL, err, sizeof err) == STORE_OK, "store_open: %s", err);
    store_session_add(db, "t", 0, &sess, err, sizeof err);
    tui_store_create(&m);
    CHECK(tui_store_sync(m, db, sess, &S.tree, false, err, sizeof err) == STORE_OK && store_flush(db, err, sizeof err) == STORE_OK,
          "the tree is saved: %s", err);
    session R;
    CHECK(open_session(&R, model), "a second workbench opens the model");
    tui_store_create(&m2);
    CHECK(tui_store_load(m2, db, sess, &R.tree, err, sizeof err) == STORE_OK, "the tree is read back: %s", err);
    int32_t ids[4] = { a, tail, pick, bz }, n_ok = 0;
    for (int k = 0; k < 4; k++) {
        int32_t x = tui_store_find(m2, tui_store_node(m, ids[k]));
        const loom_node *o = &S.tree.nodes[ids[k]], *y = loom_get(&R.tree, x);
        CHECK(y && y->has_draw && y->draw == o->draw && y->draw_at == o->draw_at, "node #%d's draws came back", (int)ids[k]);
        if (!y) continue;
        session_select(&R, x);
        settle(&R);
        int32_t r = replay(&R, x);
        /* (a picked first token is a copy of the reopened one, whose post-sampler numbers the store does not keep) */
        n_ok += r != x && same_ids(&R.tree, x, r) && same_toks(&S.tree, ids[k], &R.tree, r, k == 2);
        CHECK(has(R.msg, "the same"), "replay of reopened #%d: '%s'", (int)ids[k], R.msg);
    }
    CHECK(n_ok == 4, "after a reopen, %d of 4 replays give the original tokens bit for bit", (int)n_ok);
    tui_store_destroy(m);
    tui_store_destroy(m2);
    store_close(db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");

    /* a prompt has nothing to replay; nor a node from before draws were recorded */
    session_replay(&S, root);
    CHECK(has(S.msg, "is a prompt"), "a prompt is refused: '%s'", S.msg);
    S.tree.nodes[b].has_draw = false;
    session_replay(&S, b);
    CHECK(has(S.msg, "no recorded generator state"), "a node without draws is refused: '%s'", S.msg);
    session_fini(&R);
    session_fini(&S);
}

/* Stepping N times and a free run of N tokens draw the same tokens,
 * whatever was drawn before (here runs of 5 and 30 tokens on another
 * prompt: a draw stream kept across jobs would be at another place). */
static void test_step_equals_run(const char *model) {
    session A, B;
    CHECK(open_session(&A, model) && open_session(&B, model), "two workbenches open the model");
    prompt(&A, "The dog");
    prompt(&B, "The dog");
    A.n_max = 5;
    B.n_max = 30;
    session_gen(&A, -1);
    session_gen(&B, -1);
    settle(&A);
    settle(&B);
    prompt(&A, "Once upon a time");
    prompt(&B, "Once upon a time");
    for (int i = 0; i < 20; i++) {
        session_gen(&A, 1);
        settle(&A);
    }
    B.n_max = 20;
    session_gen(&B, -1);
    settle(&B);
    CHECK(A.cur == B.cur && A.tree.nodes[A.cur].n == 20 && B.tree.nodes[B.cur].n == 20, "20 steps and a run of 20 (#%d, #%d)",
          (int)A.cur, (int)B.cur);
    CHECK(same_toks(&A.tree, A.cur, &B.tree, B.cur, 0), "stepping 20 times draws what a run of 20 draws, bit for bit");
    session_fini(&A);
    session_fini(&B);
}

int main(void) {
    char model[1024];
    check_path(model, sizeof model, "models/stories260K.gguf");
    test_full_cache(model);
    test_replay(model);
    test_step_equals_run(model);
    return check_done();
}
