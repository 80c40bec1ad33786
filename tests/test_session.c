/* The workbench's engine side (app/session.c + app/worker.c) on a real
 * model, without a terminal: the session's actions are called and the
 * worker's events polled as the TUI's loop does.
 *
 * Issue 13 item 12, a full KV cache (-c 128): after a generation fills the
 * cache, picking an alternative and stepping works (the hidden branch's
 * cells are freed and the user told so); a long prompt followed by a short
 * one generates past 32 tokens; a path that alone exceeds the cache fails
 * with a message naming -c; a branch whose cells were freed is evaluated
 * again bitwise as before (every raw distribution of its path, memcmp). */
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "session.h"

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
    for (int32_t p = 1; p < 128; p++) loom_tok_at(&S.tree, tail, p)->flags |= LOOM_TOK_STORED;
    session_select(&S, tail);
    CHECK(settle(&S), "the re-evaluation ends");
    CHECK(S.tree.nodes[tail].seq >= 0, "the tail has a sequence again");
    CHECK(has(S.msg, "freed the cache of"), "re-evaluating it freed the picked branch: '%s'", S.msg);
    int32_t same = 0;
    for (int32_t p = 1; p < 128; p++) same += memcmp(loom_tok_at(&S.tree, tail, p), &ref[p], sizeof ref[p]) == 0;
    CHECK(same == 127, "re-evaluated after eviction: %d of 127 positions bitwise as before", (int)same);

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

int main(void) {
    char model[1024];
    check_path(model, sizeof model, "models/stories260K.gguf");
    test_full_cache(model);
    return check_done();
}
