/* Crash safety and two processes on one workspace.
 *
 * The kill test: a child process opens the workspace and appends tokens
 * (with alternatives), records and metrics as fast as it can, telling the
 * parent through a pipe what it wrote and what it knows to be committed.
 * The parent SIGKILLs it at a random moment (some during the creation of the
 * database, most mid-write), reopens the workspace as the next workbench
 * start would, and checks: PRAGMA integrity_check is ok; every token the
 * child saw committed is there, and every token written more than the batch
 * window (+ slack) before the kill; the tokens are exactly 0..n-1 with the
 * right ids; the child's run is marked interrupted. One round uses the
 * default 500 ms window and checks the one-second promise literally.
 *
 * Two processes: while a child holds the workspace, the parent's read-write
 * open is refused naming the child's pid, a read-only open works and sees
 * the committed data; once the child is killed the lock is free. */
#include "check.h"
#include "store.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char err[512];

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint32_t rng = 2463534242u;
static uint32_t rnd(uint32_t n) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng % n; }

typedef struct msg { int64_t i, committed; double t; } msg;

/* The writer: never returns. */
static void writer(const char *dir, int fd, int flush_ms) {
    store_opts o;
    store_opts_default(&o);
    o.flush_ms = flush_ms;
    store *s;
    if (store_open(&s, dir, &o, err, sizeof err)) { fprintf(stderr, "child: %s\n", err); _exit(3); }
    int64_t sess = 1, node = 1, run;
    store_session *se;
    if (store_session_get(s, 1, &se, err, sizeof err) == STORE_ENOTFOUND) {
        store_session_add(s, "kill", 0, &sess, err, sizeof err);
        store_node_add(s, sess, 0, "{\"temp\":1}", &node, err, sizeof err);
    }
    store_free(se);
    store_run_info in = { .plugin = "killtest" };
    if (store_run_begin(s, &in, &run, err, sizeof err) || store_flush(s, err, sizeof err)) _exit(4);
    store_toks *t;
    if (store_toks_get(s, node, &t, err, sizeof err)) _exit(5);
    int64_t i = t->n, committed = i - 1;
    store_free(t);
    int32_t top[8];
    float lp[8];
    for (;; i++) {
        for (int j = 0; j < 8; j++) { top[j] = (int32_t)(i + j); lp[j] = -0.5f * (float)j - 0.001f * (float)(i % 1000); }
        if (store_tok_add(s, node, (int32_t)i, lp[0], 8, top, lp, err, sizeof err)) _exit(6);
        if (i % 20 == 0) {
            char json[64];
            snprintf(json, sizeof json, "{\"i\":%lld}", (long long)i);
            if (store_record_add(s, run, "tok", json, NULL, err, sizeof err)) _exit(7);
            if (store_metric_set(s, run, "i", i, (double)i, err, sizeof err)) _exit(8);
        }
        if (store_tick(s, err, sizeof err) < 0) _exit(9);
        if (store_pending(s) == 0) committed = i;
        msg m = { i, committed, mono() };
        if (write(fd, &m, sizeof m) != (ssize_t)sizeof m) _exit(10);
    }
}

typedef struct seen { int64_t committed, last; double *t; int64_t cap; } seen;

static void take_msg(seen *w, const msg *m) {
    if (m->committed > w->committed) w->committed = m->committed;
    if (m->i > w->last) w->last = m->i;
    if (m->i >= 0 && m->i < w->cap) w->t[m->i] = m->t;
}

/* One round: run the writer for delay_ms, kill it, check the workspace. */
static int round_trip(const char *dir, int flush_ms, int delay_ms, seen *w, int64_t *n_after) {
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) { close(p[0]); writer(dir, p[1], flush_ms); }
    close(p[1]);
    msg m;
    double end = mono() + delay_ms * 1e-3;
    for (;;) {   /* read what the child says until the kill moment */
        double left = end - mono();
        if (left <= 0) break;
        struct pollfd pf = { p[0], POLLIN, 0 };
        if (poll(&pf, 1, (int)(left * 1000) + 1) > 0) {
            ssize_t r = read(p[0], &m, sizeof m);
            if (r == (ssize_t)sizeof m) take_msg(w, &m);
            else if (r <= 0) break;   /* the child died by itself */
        }
    }
    double t_kill = mono();
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    while (read(p[0], &m, sizeof m) == (ssize_t)sizeof m) take_msg(w, &m);
    close(p[0]);
    bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    CHECK(killed, "the writer ran until killed (status %d)", status);

    /* the next start */
    store *s = NULL;
    int rc = store_open(&s, dir, NULL, err, sizeof err);
    CHECK(rc == 0, "reopen after kill -9 (%s)", err);
    if (rc) return -1;
    CHECK(store_check(s, err, sizeof err) == 0, "integrity_check after kill -9 (%s)", err);
    store_toks *t = NULL;
    int64_t n = 0;
    if (store_toks_get(s, 1, &t, err, sizeof err) == 0) {
        n = t->n;
        int64_t bad = -1;
        for (int64_t i = 0; i < n && bad < 0; i++)
            if (t->tok[i] != i || t->n_top[i] != 8 || t->top_tok[i * 8 + 7] != i + 7 || t->top_logprob[i * 8] != t->logprob[i])
                bad = i;
        CHECK(bad < 0, "tokens intact (first bad %lld)", (long long)bad);
        store_free(t);
    }
    CHECK(n >= w->committed + 1, "every committed token survived (%lld of %lld)", (long long)n, (long long)w->committed + 1);
    int64_t late = 0;   /* written long enough before the kill but missing */
    double window = flush_ms * 1e-3 + 0.25;
    for (int64_t i = n; i <= w->last && i < w->cap; i++)
        if (w->t[i] > 0 && w->t[i] < t_kill - window) late++;
    CHECK(late == 0, "%lld tokens written more than %.2f s before the kill were lost", (long long)late, window);
    store_run *r = NULL;
    int64_t nr = 0;
    if (store_run_list(s, &r, &nr, err, sizeof err) == 0 && nr > 0)
        CHECK(strcmp(r[0].status, "interrupted") == 0, "the killed run is interrupted (%s)", r[0].status);
    store_free(r);
    store_close(s);
    *n_after = n;
    return 0;
}

static void test_kill(const char *base) {
    seen w = { -1, -1, calloc(4000000, sizeof(double)), 4000000 };
    char dir[600];
    int64_t n;
    /* kills during the creation of a workspace */
    for (int k = 0; k < 4; k++) {
        snprintf(dir, sizeof dir, "%s/fresh%d", base, k);
        seen f = { -1, -1, w.t, w.cap };
        memset(w.t, 0, sizeof(double) * 1000);
        round_trip(dir, 100, (int)rnd(8), &f, &n);
    }
    /* mid-write, again and again on one workspace */
    snprintf(dir, sizeof dir, "%s/kill", base);
    int64_t total = 0, rounds = 0;
    memset(w.t, 0, sizeof(double) * (size_t)w.cap);
    for (int k = 0; k < 14; k++) {
        if (round_trip(dir, 100, 20 + (int)rnd(200), &w, &n)) break;
        /* what the next child starts from: forget the lost tail */
        for (int64_t i = n; i <= w.last && i < w.cap; i++) w.t[i] = 0;
        w.committed = w.last = n - 1;
        total = n;
        rounds++;
    }
    CHECK(rounds == 14 && total > 100, "%lld rounds, %lld tokens written in all", (long long)rounds, (long long)total);
    /* the promise as stated: the default window, at most the last second lost */
    if (round_trip(dir, STORE_FLUSH_MS, 1600, &w, &n) == 0)
        CHECK(n > total, "the default window round wrote and kept tokens");
    free(w.t);
}

static void test_two_processes(const char *base) {
    char dir[600];
    snprintf(dir, sizeof dir, "%s/two", base);
    int up[2], down[2];
    if (pipe(up) || pipe(down)) return;
    pid_t pid = fork();
    if (pid == 0) {
        close(up[0]); close(down[1]);
        store *s;
        if (store_open(&s, dir, NULL, err, sizeof err)) _exit(3);
        store_record_add(s, 0, "hello", "{\"from\":\"child\"}", NULL, err, sizeof err);
        store_flush(s, err, sizeof err);
        char c = 'r';
        if (write(up[1], &c, 1) != 1) _exit(4);
        if (read(down[0], &c, 1) != 1) _exit(5);   /* hold the workspace until told */
        store_close(s);
        _exit(0);
    }
    close(up[1]); close(down[0]);
    char c;
    CHECK(read(up[0], &c, 1) == 1, "the child holds the workspace");
    store *s = NULL;
    int rc = store_open(&s, dir, NULL, err, sizeof err);
    char want[32];
    snprintf(want, sizeof want, "pid %ld", (long)pid);
    CHECK(rc == STORE_EBUSY && !s && strstr(err, want), "a second writer process is refused: %s", err);
    store_opts o;
    store_opts_default(&o);
    o.flags = STORE_RDONLY;
    rc = store_open(&s, dir, &o, err, sizeof err);
    CHECK(rc == 0, "a reader process opens beside it (%s)", err);
    if (s) {
        store_query *q;
        store_value v = { 0 };
        if (store_query_open(s, "SELECT json_extract(data, '$.from') FROM records WHERE kind = 'hello'", &q, err, sizeof err) == 0) {
            CHECK(store_query_step(q, err, sizeof err) == 1 && (store_query_get(q, 0, &v), v.type == STORE_TEXT) &&
                  strcmp(v.s, "child") == 0, "and reads what the writer committed");
            store_query_close(q);
        }
        store_close(s);
    }
    kill(pid, SIGKILL);   /* dies holding the lock: the kernel releases it */
    waitpid(pid, NULL, 0);
    close(up[0]); close(down[1]);
    rc = store_open(&s, dir, NULL, err, sizeof err);
    CHECK(rc == 0, "the lock of a killed writer is free (%s)", err);
    store_close(s);
}

int main(void) {
    char base[] = "/tmp/logitlab-kill.XXXXXX";
    if (!mkdtemp(base)) { perror("mkdtemp"); return 1; }
    rng ^= (uint32_t)getpid();
    test_two_processes(base);
    test_kill(base);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", base);
    return check_done();
}
