/* Opening workspaces: the lock (a second writer is refused with the
 * holder's pid; readers share), missing workspaces, databases from a newer
 * schema refused byte-for-byte untouched (in the file header and in the
 * WAL), damaged and foreign files refused with a suggestion, runs of a dead
 * process marked interrupted, and migrations from the first schema: the
 * frozen tests/data/store_v1.sql, a version 1 database built by this code,
 * read-only opens that migrate, and an upgrade that fails atomically. */
#include "check.h"
#include "store_check.h"
#include "store.h"

#include <math.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

static char err[512];
static char root[] = "/tmp/logitlab-open.XXXXXX";

static const char *ws(const char *name) {
    static char buf[4][600];
    static int k;
    char *b = buf[k++ & 3];
    snprintf(b, 600, "%s/%s", root, name);
    return b;
}

static const char *db_of(const char *dir) {
    static char buf[700];
    snprintf(buf, sizeof buf, "%s/logitlab.db", dir);
    return buf;
}

static int64_t raw_int(const char *path, const char *sql) {
    sqlite3 *db;
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

static int raw_exec(const char *path, const char *sql, bool no_checkpoint) {
    sqlite3 *db;
    int rc = sqlite3_open(path, &db);
    if (no_checkpoint) sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) fprintf(stderr, "raw_exec: %s\n", sqlite3_errmsg(db));
    sqlite3_close(db);
    return rc;
}

/* A snapshot of a file to compare: its bytes and modification time. */
typedef struct snap { char *bytes; size_t n; struct timespec mtime; } snap;
static snap take(const char *path) {
    snap s = { 0 };
    struct stat st;
    s.bytes = check_slurp(path, &s.n);
    if (stat(path, &st) == 0) s.mtime = st.st_mtim;
    return s;
}
static bool same(snap a, const char *path) {
    snap b = take(path);
    bool eq = a.bytes && b.bytes && a.n == b.n && memcmp(a.bytes, b.bytes, a.n) == 0 &&
              a.mtime.tv_sec == b.mtime.tv_sec && a.mtime.tv_nsec == b.mtime.tv_nsec;
    free(b.bytes);
    return eq;
}

static void test_missing_and_lock(void) {
    store *s = NULL, *t = NULL;
    store_opts o;
    store_opts_default(&o);
    o.flags = STORE_RDONLY;
    CHECK(store_open(&s, ws("none"), &o, err, sizeof err) == STORE_ENOTFOUND && !s && strstr(err, "no workspace"),
          "read-only open of nothing: %s", err);
    struct stat st;
    CHECK(stat(ws("none"), &st) != 0, "and nothing was created");
    o.flags = STORE_NOCREATE;
    CHECK(store_open(&s, ws("none"), &o, err, sizeof err) == STORE_ENOTFOUND, "NOCREATE");

    CHECK(store_open(&s, ws("lock"), NULL, err, sizeof err) == 0, "open (%s)", err);
    int rc = store_open(&t, ws("lock"), NULL, err, sizeof err);
    char pid[32];
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    CHECK(rc == STORE_EBUSY && !t && strstr(err, pid) && strstr(err, ws("lock")), "a second writer is refused: %s", err);
    o.flags = STORE_RDONLY;
    CHECK(store_open(&t, ws("lock"), &o, err, sizeof err) == 0 && t, "a reader is welcome (%s)", err);
    store_close(t);
    store_close(s);
    CHECK(store_open(&s, ws("lock"), NULL, err, sizeof err) == 0, "free again after close");
    store_close(s);
}

static void test_newer(void) {
    store *s = NULL;
    CHECK(store_open(&s, ws("newer"), NULL, err, sizeof err) == 0, "create");
    store_record_add(s, 0, "x", "{}", NULL, err, sizeof err);
    store_close(s);
    const char *db = db_of(ws("newer"));
    CHECK(raw_exec(db, "PRAGMA user_version = 3", false) == SQLITE_OK, "a newer logitlab's database");
    snap before = take(db);
    int rc = store_open(&s, ws("newer"), NULL, err, sizeof err);
    CHECK(rc == STORE_ENEWER && !s && strstr(err, "newer") && strstr(err, "version 3"), "refused: %s", err);
    store_opts o;
    store_opts_default(&o);
    o.flags = STORE_RDONLY;
    CHECK(store_open(&s, ws("newer"), &o, err, sizeof err) == STORE_ENEWER, "refused read-only too");
    CHECK(same(before, db), "the file is untouched (bytes and mtime)");
    free(before.bytes);

    /* the newer version only in the WAL: the header still says 2 */
    CHECK(raw_exec(db, "PRAGMA user_version = 2", false) == SQLITE_OK, "back to 2");
    CHECK(store_open(&s, ws("newer"), NULL, err, sizeof err) == 0, "opens at 2 (%s)", err);
    store_close(s);
    CHECK(raw_exec(db, "PRAGMA journal_mode = WAL; PRAGMA user_version = 4", true) == SQLITE_OK, "4 in the WAL");
    before = take(db);
    CHECK(raw_int(db, "PRAGMA user_version") == 4, "the WAL holds it");
    rc = store_open(&s, ws("newer"), NULL, err, sizeof err);
    CHECK(rc == STORE_ENEWER && strstr(err, "version 4"), "refused from the WAL: %s", err);
    CHECK(same(before, db), "the main file is untouched (no checkpoint)");
    CHECK(raw_int(db, "PRAGMA user_version") == 4, "and the WAL still holds it");
    free(before.bytes);
}

static void test_damaged(void) {
    store *s = NULL;
    const char *dir = ws("bad");
    mkdir(dir, 0777);
    FILE *f = fopen(db_of(dir), "wb");
    for (int i = 0; i < 5000; i++) fputc((i * 7919) & 0xff, f);
    fclose(f);
    snap before = take(db_of(dir));
    int rc = store_open(&s, dir, NULL, err, sizeof err);
    CHECK(rc == STORE_ECORRUPT && !s && strstr(err, "not an SQLite database") && strstr(err, "mv logitlab.db"),
          "garbage: %s", err);
    CHECK(same(before, db_of(dir)), "garbage left as it was");
    free(before.bytes);
    f = fopen(db_of(dir), "wb");
    fputs("SQLite", f);
    fclose(f);
    CHECK(store_open(&s, dir, NULL, err, sizeof err) == STORE_ECORRUPT, "a short file");

    unlink(db_of(dir));
    raw_exec(db_of(dir), "CREATE TABLE mine(x); INSERT INTO mine VALUES (1)", false);
    before = take(db_of(dir));
    rc = store_open(&s, dir, NULL, err, sizeof err);
    CHECK(rc == STORE_ECORRUPT && strstr(err, "not a logitlab workspace"), "someone else's database: %s", err);
    CHECK(same(before, db_of(dir)), "left as it was");
    free(before.bytes);
    raw_exec(db_of(dir), "PRAGMA application_id = 42", false);
    CHECK(store_open(&s, dir, NULL, err, sizeof err) == STORE_ECORRUPT && strstr(err, "another program"),
          "another program's application_id: %s", err);

    /* a real workspace whose pages after the first are overwritten */
    const char *dir2 = ws("bad2");
    CHECK(store_open(&s, dir2, NULL, err, sizeof err) == 0, "create");
    int64_t sess, node;
    store_session_add(s, "x", 0, &sess, err, sizeof err);
    store_node_add(s, sess, 0, NULL, &node, err, sizeof err);
    for (int i = 0; i < 3000; i++) store_tok_add(s, node, i, -1.0f, 0, NULL, NULL, err, sizeof err);
    store_close(s);
    size_t n;
    char *b = check_slurp(db_of(dir2), &n);
    for (size_t i = 4096; i < n; i++) b[i] = (char)(i * 31 + 7);
    f = fopen(db_of(dir2), "wb");
    fwrite(b, 1, n, f);
    fclose(f);
    free(b);
    rc = store_open(&s, dir2, NULL, err, sizeof err);
    if (rc == 0) {
        store_toks *t = NULL;
        int r1 = store_check(s, err, sizeof err);
        CHECK(r1 == STORE_ECORRUPT && strstr(err, "recover"), "integrity check finds it: %s", err);
        int r2 = store_toks_get(s, node, &t, err, sizeof err);
        CHECK(r2 == STORE_ECORRUPT && !t && strstr(err, "damaged"), "reading it says damaged: %d %s", r2, err);
        store_close(s);
    } else {
        CHECK(rc == STORE_ECORRUPT && strstr(err, "recover"), "refused as damaged: %s", err);
    }
}

static void test_interrupted(void) {
    store *s = NULL;
    CHECK(store_open(&s, ws("intr"), NULL, err, sizeof err) == 0, "create");
    store_run_info in = { .plugin = "p" };
    int64_t run;
    store_run_begin(s, &in, &run, err, sizeof err);
    store_metric_set(s, run, "m", 1, 2.0, err, sizeof err);
    store_close(s);   /* without run_end: as if the process died */
    CHECK(store_open(&s, ws("intr"), NULL, err, sizeof err) == 0, "reopen");
    store_run *r = NULL;
    CHECK(store_run_get(s, run, &r, err, sizeof err) == 0 && strcmp(r->status, "interrupted") == 0 && r->ended >= r->started,
          "a run left running is marked interrupted");
    store_free(r);
    store_close(s);

    /* a reader marks them too when no writer holds the workspace, not while one does */
    CHECK(store_open(&s, ws("intr"), NULL, err, sizeof err) == 0, "reopen");
    store_run_begin(s, &in, &run, err, sizeof err);
    store_flush(s, err, sizeof err);
    store_opts o;
    store_opts_default(&o);
    o.flags = STORE_RDONLY;
    store *rd = NULL;
    CHECK(store_open(&rd, ws("intr"), &o, err, sizeof err) == 0 && store_run_get(rd, run, &r, err, sizeof err) == 0 &&
          strcmp(r->status, "running") == 0, "a reader beside the writer sees it running");
    store_free(r);
    store_close(rd);
    store_close(s);
    CHECK(store_open(&rd, ws("intr"), &o, err, sizeof err) == 0 && store_run_get(rd, run, &r, err, sizeof err) == 0 &&
          strcmp(r->status, "interrupted") == 0, "a reader alone marks it interrupted");
    store_free(r);
    store_close(rd);
}

/* Schema text of a database, to compare versions built two ways. */
static char *schema_of(const char *path) {
    sqlite3 *db;
    sqlite3_stmt *st;
    char *out = calloc(1, 1);
    size_t len = 0;
    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (sqlite3_prepare_v2(db, "SELECT type || ' ' || name || ': ' || sql FROM sqlite_schema WHERE sql IS NOT NULL"
                           " ORDER BY name", -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *t = (const char *)sqlite3_column_text(st, 0);
            out = realloc(out, len + strlen(t) + 2);
            strcpy(out + len, t);
            len += strlen(t);
            out[len++] = '\n';
            out[len] = 0;
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return out;
}

static void check_migrated(store *s, const char *what) {
    CHECK(store_version(s) == STORE_SCHEMA_VERSION, "%s: version", what);
    store_session *se = NULL;
    CHECK(store_session_get(s, 1, &se, err, sizeof err) == 0 && se->selected == 3 &&
          strcmp(se->ui, "{\"panes\":[\"tree\",\"logits\"]}") == 0 && se->model == 1, "%s: state.selected became a column", what);
    store_free(se);
    CHECK(store_session_get(s, 2, &se, err, sizeof err) == 0 && se->selected == 0 && strcmp(se->ui, "{}") == 0,
          "%s: a dangling selection became none", what);
    store_free(se);
    store_node *nd = NULL;
    int64_t n;
    CHECK(store_node_list(s, 1, &nd, &n, err, sizeof err) == 0 && n == 3 && nd[2].id == 3 && nd[2].parent == 2 &&
          nd[2].updated == nd[2].created && strcmp(nd[2].label, "hot") == 0 && nd[0].n_tok == 3, "%s: nodes", what);
    store_free(nd);
    store_toks *t = NULL;
    CHECK(store_path_get(s, 3, &t, err, sizeof err) == 0 && t->n == 5 && t->k == 3 && t->tok[1] == 450 &&
          t->logprob[1] == -2.5f && isnan(t->logprob[0]) && t->n_top[1] == 2 && t->top_tok[1 * 3 + 1] == 12 &&
          t->top_logprob[1 * 3 + 1] == -3.25f && t->n_top[3] == 3 && isnan(t->top_logprob[3 * 3 + 2]) &&
          t->n_top[4] == 0 && t->t[0] == 1700000210.0 && t->t[3] == 1700000230.0, "%s: tokens (%s)", what, err);
    store_free(t);
    store_run *r = NULL;
    CHECK(store_run_get(s, 1, &r, err, sizeof err) == 0 && r->n_models == 1 &&
          strcmp(r->models, "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d") == 0 && r->seed == 42 &&
          strcmp(r->status, "ok") == 0 && r->ended == 1700000560.5 && !r->error && r->session == 0,
          "%s: runs.model_sha256 moved to run_models", what);
    store_free(r);
    CHECK(store_run_get(s, 2, &r, err, sizeof err) == 0 && strcmp(r->status, "interrupted") == 0 &&
          r->ended == 1700000610.0 && r->n_models == 0, "%s: the v1 run left running is interrupted", what);
    store_free(r);
    if (!store_rdonly(s)) {
        CHECK(store_metric_set(s, 1, "loss", 0, 1.5, err, sizeof err) == 0, "%s: metrics work (%s)", what, err);
    }
    CHECK(q_int(s, "SELECT count(*) FROM records") == 4 && q_int(s, "SELECT count(*) FROM models") == 1,
          "%s: records and models kept", what);
    int64_t fk = q_int(s, "SELECT count(*) FROM pragma_foreign_key_check");
    CHECK(store_check(s, err, sizeof err) == 0 && fk == 0, "%s: integrity (%s, fk %lld)", what, err, (long long)fk);
}

static void test_migrations(void) {
    char sqlpath[512];
    char *sql = check_slurp("tests/data/store_v1.sql", NULL);
    if (!sql) sql = check_slurp(check_path(sqlpath, sizeof sqlpath, "../main/tests/data/store_v1.sql"), NULL);
    CHECK(sql != NULL, "tests/data/store_v1.sql (run from the repository root)");
    if (!sql) return;

    /* version 1 as this code builds it is the frozen version 1 */
    store *s = NULL;
    store_opts o;
    store_opts_default(&o);
    o.max_version = 1;
    CHECK(store_open(&s, ws("v1built"), &o, err, sizeof err) == 0 && store_version(s) == 1, "build a v1 database");
    store_close(s);
    const char *dir = ws("v1");
    mkdir(dir, 0777);
    CHECK(raw_exec(db_of(dir), sql, false) == SQLITE_OK, "load the frozen v1 database");
    char *a = schema_of(db_of(ws("v1built"))), *b = schema_of(db_of(dir));
    CHECK(strcmp(a, b) == 0 && strlen(a) > 100, "step 1 still builds the frozen schema");
    free(a);
    free(b);

    snap before = take(db_of(dir));
    CHECK(store_open(&s, dir, NULL, err, sizeof err) == 0, "migrate the frozen v1 (%s)", err);
    if (s) { check_migrated(s, "frozen v1"); store_close(s); }
    char bak[800];
    snprintf(bak, sizeof bak, "%s.bak-v1", db_of(dir));
    CHECK(raw_int(bak, "PRAGMA user_version") == 1 && raw_int(bak, "SELECT count(*) FROM tokens") == 5,
          "the v1 database was kept as logitlab.db.bak-v1");
    free(before.bytes);
    CHECK(store_open(&s, dir, NULL, err, sizeof err) == 0 && store_version(s) == STORE_SCHEMA_VERSION, "opens again");
    store_close(s);

    /* a read-only open migrates when nobody holds the workspace ... */
    const char *dir2 = ws("v1ro");
    mkdir(dir2, 0777);
    raw_exec(db_of(dir2), sql, false);
    o.max_version = 0;
    o.flags = STORE_RDONLY;
    CHECK(store_open(&s, dir2, &o, err, sizeof err) == 0, "read-only open migrates (%s)", err);
    if (s) { check_migrated(s, "read-only"); store_close(s); }

    /* ... and refuses while an older writer holds it */
    const char *dir3 = ws("v1held");
    mkdir(dir3, 0777);
    raw_exec(db_of(dir3), sql, false);
    store *old = NULL;
    o.flags = 0;
    o.max_version = 1;
    CHECK(store_open(&old, dir3, &o, err, sizeof err) == 0 && store_version(old) == 1, "an old writer");
    o.flags = STORE_RDONLY;
    o.max_version = 0;
    CHECK(store_open(&s, dir3, &o, err, sizeof err) == STORE_EBUSY && strstr(err, "upgrade"), "reader refused: %s", err);
    store_close(old);

    /* an upgrade that cannot finish leaves version 1 as it was */
    const char *dir4 = ws("v1broken");
    mkdir(dir4, 0777);
    raw_exec(db_of(dir4), sql, false);
    raw_exec(db_of(dir4), "PRAGMA foreign_keys = OFF; INSERT INTO tokens VALUES (77, 0, 1, NULL, NULL)", false);
    before = take(db_of(dir4));
    o.flags = 0;
    int rc = store_open(&s, dir4, &o, err, sizeof err);
    CHECK(rc == STORE_ECORRUPT && strstr(err, "left as it was") && strstr(err, "tokens"), "a broken reference stops it: %s", err);
    CHECK(raw_int(db_of(dir4), "PRAGMA user_version") == 1 &&
          raw_int(db_of(dir4), "SELECT count(*) FROM pragma_table_info('runs') WHERE name = 'model_sha256'") == 1,
          "still version 1");
    free(before.bytes);
    free(sql);
}

/* Issue 13, item 1: SQL planted in someone else's workspace never runs.
 * Each foreign object (a trigger that would fire on our writes, a view, an
 * FTS3 virtual table naming a tokenizer) makes the open fail with its name;
 * plain extra tables and indexes are fine. */
static void test_foreign_objects(void) {
    static const struct { const char *name, *sql, *what; } cases[] = {
        { "trig", "CREATE TRIGGER wipe AFTER INSERT ON records BEGIN DELETE FROM runs; END", "a trigger \"wipe\"" },
        { "view", "CREATE VIEW v AS SELECT * FROM runs", "a view \"v\"" },
        { "vtab", "CREATE VIRTUAL TABLE ft USING fts3(x, tokenize=simple)", "a virtual table \"ft\"" },
    };
    store *s = NULL;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *dir = ws(cases[i].name);
        CHECK(store_open(&s, dir, NULL, err, sizeof err) == 0, "create %s (%s)", cases[i].name, err);
        store_close(s);
        s = NULL;
        CHECK(raw_exec(db_of(dir), cases[i].sql, false) == SQLITE_OK, "plant %s", cases[i].name);
        CHECK(store_open(&s, dir, NULL, err, sizeof err) == STORE_ECORRUPT && !s && strstr(err, cases[i].what),
              "%s refused: %s", cases[i].name, err);
        store_close(s);
        s = NULL;
        store_opts o;
        store_opts_default(&o);
        o.flags = STORE_RDONLY;
        CHECK(store_open(&s, dir, &o, err, sizeof err) == STORE_ECORRUPT && !s, "%s refused read-only too", cases[i].name);
        store_close(s);
        s = NULL;
    }
    const char *dir = ws("extra");
    CHECK(store_open(&s, dir, NULL, err, sizeof err) == 0, "create extra");
    store_close(s);
    s = NULL;
    CHECK(raw_exec(db_of(dir), "CREATE TABLE mine(x); CREATE INDEX mine_x ON mine(x)", false) == SQLITE_OK, "extra table");
    CHECK(store_open(&s, dir, NULL, err, sizeof err) == 0, "an extra table and index are fine (%s)", err);
    store_close(s);
}

int main(void) {
    if (!mkdtemp(root)) { perror("mkdtemp"); return 1; }
    test_missing_and_lock();
    test_newer();
    test_damaged();
    test_interrupted();
    test_migrations();
    test_foreign_objects();
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", root);
    return check_done();
}
