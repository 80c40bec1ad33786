/* store: opening a workspace (folder, lock, database checks, migration),
 * the save-as-you-go transaction, and the helpers the other store_*.c
 * files share (errors, statements, packing results).
 *
 * Invariants:
 * - A read-write store holds an exclusive flock on logitlab.lock from
 *   before the database is first read until store_close; nothing writes to
 *   the database without it (read-only opens take it only to migrate).
 * - Nothing is written to a database whose header or user_version says it
 *   is newer or not ours: the checks run on a connection with checkpoint on
 *   close disabled, before any pragma that writes.
 * - s->txn is true exactly when the batch transaction is open; every write
 *   call runs inside it between SAVEPOINT w and RELEASE w.
 */
#include "store_impl.h"
#include "fout.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- small helpers ------------------------------------------------------- */

double store_time(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)(ts.tv_nsec / 1000000) / 1000.0;
}

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static pthread_once_t locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;
static void make_c_locale(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

locale_t store_c_locale(void) {
    pthread_once(&locale_once, make_c_locale);
    return c_locale;
}

static char *dup_str(const char *a, const char *b) {   /* a + b, b may be NULL */
    size_t na = strlen(a), nb = b ? strlen(b) : 0;
    char *p = sqlite3_malloc64(na + nb + 1);
    if (!p) return NULL;
    memcpy(p, a, na);
    if (nb) memcpy(p + na, b, nb);
    p[na + nb] = 0;
    return p;
}

void store_free(void *p) { sqlite3_free(p); }

char *store_scratch(store *s, size_t n) {
    if (n <= s->scratch_cap) return s->scratch;
    size_t cap = n < 4096 ? 4096 : n * 2;
    char *p = sqlite3_realloc64(s->scratch, cap);
    if (!p) return NULL;
    s->scratch = p;
    s->scratch_cap = cap;
    return p;
}

int store_bind_text(sqlite3_stmt *st, int i, const char *text) {
    return text ? sqlite3_bind_text(st, i, text, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

/* ---- errors ---------------------------------------------------------------- */

int store_fail(const store *s, int code, char *err, size_t errlen, const char *fmt, ...) {
    if (!err || !errlen) return code;
    int k = s ? snprintf(err, errlen, "%s: ", s->dir) : 0;
    if (k < 0 || (size_t)k >= errlen) return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
    va_end(ap);
    return code;
}

static const char *const DAMAGED_HINT =
    "move it aside (mv logitlab.db logitlab.db.broken) to start afresh, or try to save its data "
    "with: sqlite3 logitlab.db .recover | sqlite3 recovered.db";

int store_dberr(const store *s, int rc, const char *what, char *err, size_t errlen) {
    const char *msg = s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return store_fail(s, STORE_ENOMEM, err, errlen, "%s: out of memory", what);
    case SQLITE_CORRUPT: case SQLITE_NOTADB:
        return store_fail(s, STORE_ECORRUPT, err, errlen, "%s: the database is damaged or not a database (%s); %s",
                          what, msg, DAMAGED_HINT);
    case SQLITE_INTERRUPT:
        return store_fail(s, STORE_EINTERRUPT, err, errlen, "%s: interrupted", what);
    case SQLITE_CONSTRAINT: case SQLITE_MISMATCH: case SQLITE_RANGE: case SQLITE_TOOBIG:
        return store_fail(s, STORE_EINVAL, err, errlen, "%s: %s", what, msg);
    case SQLITE_READONLY:
        return store_fail(s, STORE_EREADONLY, err, errlen, "%s: %s", what, msg);
    case SQLITE_FULL:
        return store_fail(s, STORE_EIO, err, errlen, "%s: the disk is full (%s)", what, msg);
    default:
        return store_fail(s, STORE_EIO, err, errlen, "%s: %s", what, msg);
    }
}

/* Appends " (...)" to a message already in err. */
static void err_append(char *err, size_t errlen, const char *fmt, long long v) {
    if (!err || !errlen) return;
    size_t k = strlen(err);
    if (k + 1 < errlen) snprintf(err + k, errlen - k, fmt, v);
}

/* ---- statements ------------------------------------------------------------ */

sqlite3_stmt *store_stmt(store *s, int which, const char *sql, char *err, size_t errlen) {
    sqlite3_stmt *st = which >= 0 ? s->st[which] : NULL;
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return st;
    }
    int rc = sqlite3_prepare_v3(s->db, sql, -1, which >= 0 ? SQLITE_PREPARE_PERSISTENT : 0, &st, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(st);
        store_dberr(s, rc, "preparing a statement", err, errlen);
        return NULL;
    }
    if (which >= 0) s->st[which] = st;
    return st;
}

int store_step_done(store *s, sqlite3_stmt *st, const char *what, char *err, size_t errlen) {
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {}
    rc = rc == SQLITE_DONE ? STORE_OK : store_dberr(s, rc, what, err, errlen);
    sqlite3_reset(st);
    return rc;
}

int store_exec(store *s, const char *sql, const char *what, char *err, size_t errlen) {
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? STORE_OK : store_dberr(s, rc, what, err, errlen);
}

/* An integer from a one-row statement (pragmas); *v untouched on error. */
static int get_int(store *s, const char *sql, int64_t *v, char *err, size_t errlen) {
    sqlite3_stmt *st = store_stmt(s, -1, sql, err, errlen);
    if (!st) return store_dberr(s, sqlite3_errcode(s->db), "reading the database", err, errlen);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *v = sqlite3_column_int64(st, 0);
    int out = rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : store_dberr(s, rc, "reading the database", err, errlen);
    sqlite3_finalize(st);
    return out;
}

/* ---- the save-as-you-go transaction --------------------------------------- */

/* The batch was rolled back by SQLite (I/O error, full disk): say how many
 * acknowledged writes went with it. */
static bool id_push(int64_t **v, int *n, int *cap, int64_t id) {
    for (int i = 0; i < *n; i++)
        if ((*v)[i] == id) return true;
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 8;
        int64_t *nv = sqlite3_realloc64(*v, (sqlite3_uint64)nc * sizeof *nv);
        if (!nv) return false;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = id;
    return true;
}

void store_wr_run(store *s, int64_t run) {
    if (run > 0 && !id_push(&s->batch_runs, &s->n_batch_runs, &s->cap_batch_runs, run)) s->batch_untracked = true;
}

bool store_run_lost(const store *s, int64_t run) {
    if (s->lost_untracked) return true;
    for (int i = 0; i < s->n_lost_runs; i++)
        if (s->lost_runs[i] == run) return true;
    return false;
}

/* The batch is gone (SQLite rolled it back): its runs lost writes. */
static void batch_lost(store *s, char *err, size_t errlen) {
    if (s->pending) err_append(err, errlen, " (%lld earlier unsaved writes were lost)", (long long)s->pending);
    for (int i = 0; i < s->n_batch_runs; i++)
        if (!id_push(&s->lost_runs, &s->n_lost_runs, &s->cap_lost_runs, s->batch_runs[i])) s->lost_untracked = true;
    s->lost_untracked |= s->batch_untracked;
    s->n_batch_runs = 0;
    s->batch_untracked = false;
    s->losses++;
    s->txn = false;
    s->pending = 0;
}

static int commit(store *s, char *err, size_t errlen) {
    if (!s->txn) return STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_COMMIT, "COMMIT", err, errlen);
    int rc = st ? store_step_done(s, st, "saving", err, errlen) : STORE_ENOMEM;
    if (rc == STORE_OK) {
        s->txn = false;
        s->pending = 0;
        s->n_batch_runs = 0;
        s->batch_untracked = false;
    } else if (sqlite3_get_autocommit(s->db)) {
        batch_lost(s, err, errlen);
    }
    return rc;
}

int store_wr_begin(store *s, char *err, size_t errlen) {
    if (s->flags & STORE_RDONLY) return store_fail(s, STORE_EREADONLY, err, errlen, "the workspace is open read-only");
    if (!s->txn) {
        sqlite3_stmt *st = store_stmt(s, ST_BEGIN, "BEGIN IMMEDIATE", err, errlen);
        int rc = st ? store_step_done(s, st, "starting a transaction", err, errlen) : STORE_ENOMEM;
        if (rc) return rc;
        s->txn = true;
        s->txn_t0 = mono();
    }
    sqlite3_stmt *st = store_stmt(s, ST_SAVEPOINT, "SAVEPOINT w", err, errlen);
    int rc = st ? store_step_done(s, st, "starting a write", err, errlen) : STORE_ENOMEM;
    if (!rc) s->in_write++;
    return rc;
}

int store_wr_end(store *s, int rc, char *err, size_t errlen) {
    s->in_write--;
    if (rc == STORE_OK) {
        sqlite3_stmt *st = store_stmt(s, ST_RELEASE, "RELEASE w", err, errlen);
        rc = st ? store_step_done(s, st, "finishing a write", err, errlen) : STORE_ENOMEM;
    }
    if (rc != STORE_OK) {
        /* undo this call alone; the batch stays unless SQLite dropped it */
        char tmp[64];
        if (!sqlite3_get_autocommit(s->db)) {
            sqlite3_stmt *st = store_stmt(s, ST_ROLLBACK_TO, "ROLLBACK TO w", tmp, sizeof tmp);
            if (st) store_step_done(s, st, "undoing a write", tmp, sizeof tmp);
            st = store_stmt(s, ST_RELEASE, "RELEASE w", tmp, sizeof tmp);
            if (st) store_step_done(s, st, "undoing a write", tmp, sizeof tmp);
        }
        if (s->txn && sqlite3_get_autocommit(s->db)) batch_lost(s, err, errlen);
        return rc;
    }
    s->pending++;
    if (s->flush_ms == 0 || mono() - s->txn_t0 >= s->flush_ms * 1e-3) return commit(s, err, errlen);
    return STORE_OK;
}

int store_flush(store *s, char *err, size_t errlen) { return commit(s, err, errlen); }

int store_tick(store *s, char *err, size_t errlen) {
    /* in_write: a tick from inside a write call (the Lua budget hook runs
     * while a write converts its data) waits for the call to finish */
    if (!s->txn || s->in_write || mono() - s->txn_t0 < s->flush_ms * 1e-3) return 0;
    int rc = commit(s, err, errlen);
    return rc ? rc : 1;
}

int64_t store_pending(const store *s) { return s->pending; }
int64_t store_losses(const store *s) { return s->losses; }

/* ---- the workspace folder and its lock --------------------------------------- */

static int mkdir_p(const store *s, const char *dir, char *err, size_t errlen) {
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path) return store_fail(s, STORE_EINVAL, err, errlen, "bad workspace path");
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != 0) continue;
        char c = path[i];
        path[i] = 0;
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return store_fail(s, STORE_EIO, err, errlen, "cannot create %s: %s", path, strerror(errno));
        path[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return store_fail(s, STORE_EIO, err, errlen, "not a folder");
    return STORE_OK;
}

static const char DEFAULT_CONFIG[] =
    "-- logitlab workspace configuration, read by the workbench (logitlab tui) when it\n"
    "-- opens this workspace (docs/workspaces.md). Edit freely; nothing rewrites it.\n"
    "return {\n"
    "  model = nil,          -- default model: a name in the model folders, or a path (relative:\n"
    "                        -- to this folder); -m and a reopened session's model come first\n"
    "  sampler = {           -- a new session's settings: any name :set takes (docs/sampling.md)\n"
    "    order = \"bias,penalties,top_k,typical,top_p,min_p,temp,dist\",\n"
    "    temp = 0.8, top_k = 40, top_p = 0.95, min_p = 0.05,\n"
    "  },\n"
    "  plugins = {},         -- plugins to load by name, e.g. { \"tree\", \"train\" }; empty: every one found\n"
    "}\n";

/* config.lua and plugins/ for a new workspace; an existing config is kept. */
static int make_workspace_files(const store *s, char *err, size_t errlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/plugins", s->dir);
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return store_fail(s, STORE_EIO, err, errlen, "cannot create plugins/: %s", strerror(errno));
    snprintf(path, sizeof path, "%s/" STORE_CONFIG_NAME, s->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        if (errno == EEXIST) return STORE_OK;
        return store_fail(s, STORE_EIO, err, errlen, "cannot create " STORE_CONFIG_NAME ": %s", strerror(errno));
    }
    ssize_t w = write(fd, DEFAULT_CONFIG, sizeof DEFAULT_CONFIG - 1);
    int ok = w == (ssize_t)(sizeof DEFAULT_CONFIG - 1) && close(fd) == 0;
    if (!ok) {
        if (w != (ssize_t)(sizeof DEFAULT_CONFIG - 1)) close(fd);
        unlink(path);
        return store_fail(s, STORE_EIO, err, errlen, "cannot write " STORE_CONFIG_NAME);
    }
    return STORE_OK;
}

/* Takes the exclusive lock, trying for up to wait_ms (a reader borrows it
 * for a few milliseconds to upgrade). On EBUSY the message names the pid
 * the holder wrote into the file. */
static int lock_take(store *s, int wait_ms, char *err, size_t errlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/" STORE_LOCK_NAME, s->dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM))
        return store_fail(s, STORE_EIO, err, errlen, "the workspace is not writable (" STORE_LOCK_NAME ": %s): "
                          "give a writable folder with -w DIR; `logitlab runs -w DIR` and `export` read it as it is",
                          strerror(errno));
    if (fd < 0) return store_fail(s, STORE_EIO, err, errlen, "cannot open the lock file: %s", strerror(errno));
    int got;
    for (int waited = 0; (got = flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EWOULDBLOCK && waited < wait_ms;
         waited += 10) {
        struct timespec ts = { 0, 10 * 1000000 };
        nanosleep(&ts, NULL);
    }
    if (got != 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t r = pread(fd, pid, sizeof pid - 1, 0);
        pid[r > 0 ? r : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        close(fd);
        if (e != EWOULDBLOCK)
            return store_fail(s, STORE_EIO, err, errlen, "cannot lock the workspace: %s", strerror(e));
        return store_fail(s, STORE_EBUSY, err, errlen,
                          "the workspace is in use by another logitlab (pid %s); close that one first, or "
                          "read it meanwhile with `logitlab runs` / `logitlab export` (they open it read-only)",
                          pid[0] ? pid : "unknown");
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {} /* the pid is only for messages */
    s->lock_fd = fd;
    return STORE_OK;
}

static void lock_drop(store *s) {
    if (s->lock_fd < 0) return;
    if (ftruncate(s->lock_fd, 0) != 0) {}   /* an empty file: nobody holds it */
    close(s->lock_fd);                       /* releases the flock */
    s->lock_fd = -1;
}

/* ---- opening ------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads the 100-byte SQLite header before SQLite touches the file, so that a
 * foreign or newer file is refused without a byte written. An empty file is
 * a new database. */
static int check_header(store *s, char *err, size_t errlen) {
    int fd = open(s->dbpath, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return store_fail(s, STORE_EIO, err, errlen, "cannot open " STORE_DB_NAME ": %s", strerror(errno));
    unsigned char h[100];
    ssize_t n = read(fd, h, sizeof h);
    close(fd);
    if (n == 0) return STORE_OK;
    if (n < (ssize_t)sizeof h || memcmp(h, "SQLite format 3", 16) != 0)
        return store_fail(s, STORE_ECORRUPT, err, errlen, STORE_DB_NAME " is not an SQLite database (damaged, "
                          "or another file); %s", DAMAGED_HINT);
    uint32_t version = be32(h + 60), app = be32(h + 68);
    if (app != 0 && app != STORE_APP_ID)
        return store_fail(s, STORE_ECORRUPT, err, errlen, STORE_DB_NAME " is an SQLite database of another "
                          "program (application_id 0x%08x); use another folder for this workspace", app);
    if (app == STORE_APP_ID && version > STORE_SCHEMA_VERSION)
        return store_fail(s, STORE_ENEWER, err, errlen, STORE_DB_NAME " has schema version %u, written by a newer "
                          "logitlab (this one knows up to %d); it was not modified; use the newer logitlab",
                          version, STORE_SCHEMA_VERSION);
    return STORE_OK;
}

/* A workspace may come from someone else: SQL stored in it must not run
 * here. logitlab creates tables and indexes only; a view, a trigger or a
 * virtual table (whose module could be FTS3 with a planted tokenizer) is
 * refused, by type and name, never executed. */
static int foreign_objects(store *s, char *err, size_t errlen) {
    sqlite3_stmt *st = store_stmt(s, -1, "SELECT type, name FROM sqlite_schema WHERE type NOT IN ('table', 'index') "
                                  "OR (type = 'table' AND sql LIKE 'CREATE VIRTUAL%') LIMIT 1", err, errlen);
    if (!st) return store_dberr(s, sqlite3_errcode(s->db), "reading the schema", err, errlen);
    int rc = sqlite3_step(st), out = STORE_OK;
    if (rc == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(st, 0);
        bool vt = type && strcmp(type, "table") == 0;
        out = store_fail(s, STORE_ECORRUPT, err, errlen, STORE_DB_NAME " holds %s \"%.64s\" that logitlab does not "
                         "create; a workspace may not carry SQL that would run when it is opened (remove it with "
                         "the sqlite3 shell if you trust it)", vt ? "a virtual table" : type && strcmp(type, "view") == 0
                         ? "a view" : "a trigger", (const char *)sqlite3_column_text(st, 1));
    } else if (rc != SQLITE_DONE) {
        out = store_dberr(s, rc, "reading the schema", err, errlen);
    }
    sqlite3_finalize(st);
    return out;
}

/* The same checks through SQLite (the WAL may hold a newer header). */
static int check_schema(store *s, int max_version, char *err, size_t errlen) {
    int64_t app = 0, version = 0, objects = 0;
    int rc = get_int(s, "PRAGMA application_id", &app, err, errlen);
    if (!rc) rc = get_int(s, "PRAGMA user_version", &version, err, errlen);
    if (!rc) rc = get_int(s, "SELECT count(*) FROM sqlite_schema", &objects, err, errlen);
    if (rc) return rc;
    if (app != 0 && app != STORE_APP_ID)
        return store_fail(s, STORE_ECORRUPT, err, errlen, STORE_DB_NAME " is an SQLite database of another "
                          "program (application_id 0x%08llx); use another folder for this workspace",
                          (unsigned long long)app);
    if (app == 0 && objects > 0)
        return store_fail(s, STORE_ECORRUPT, err, errlen, STORE_DB_NAME " is an SQLite database but not a "
                          "logitlab workspace; use another folder for this workspace");
    if (version > max_version)
        return store_fail(s, STORE_ENEWER, err, errlen, STORE_DB_NAME " has schema version %lld, written by a newer "
                          "logitlab (this one knows up to %d); it was not modified; use the newer logitlab",
                          (long long)version, max_version);
    if ((rc = foreign_objects(s, err, errlen))) return rc;
    if (version == 0 && (s->flags & STORE_RDONLY))
        return store_fail(s, STORE_ENOTFOUND, err, errlen, "no workspace here (" STORE_DB_NAME " is empty)");
    s->version = (int)version;
    return STORE_OK;
}

/* Runs left "running" belong to a process that died (we hold the lock). */
static int mark_interrupted(store *s, char *err, size_t errlen) {
    if (s->version < 2) return STORE_OK;
    return store_exec(s,
        "UPDATE runs SET status = 'interrupted', ended = max(started,"
        " coalesce((SELECT max(created) FROM records WHERE run_id = runs.id), 0),"
        " coalesce((SELECT max(created) FROM metrics WHERE run_id = runs.id), 0))"
        " WHERE status = 'running'", "marking interrupted runs", err, errlen);
}

/* What needs the writer's lock at open: bringing the schema to `target` and
 * marking the runs of dead processes interrupted. A read-only store borrows
 * the lock for it (briefly) when no writer holds it; when one does, that
 * writer has done both, unless it is an older logitlab that cannot upgrade. */
static int maintain(store *s, int target, char *err, size_t errlen) {
    bool borrowed = s->lock_fd < 0;
    if (borrowed) {
        char tmp[512];
        int rc = lock_take(s, 0, tmp, sizeof tmp);
        if (rc && s->version >= target) return STORE_OK;   /* a writer is at work, or a read-only folder */
        if (rc == STORE_EBUSY)
            return store_fail(s, STORE_EBUSY, err, errlen, "the database has schema version %d and the logitlab "
                              "using it cannot upgrade it to %d; close it, then retry", s->version, target);
        if (rc) return store_fail(s, rc, err, errlen, "the database has schema version %d and needs an upgrade, "
                                  "but: %s", s->version, tmp);
    }
    int rc = store_migrate(s, s->version, target, err, errlen);
    if (!rc) s->version = target;
    if (!rc) {
        char tmp[512];
        int r = mark_interrupted(s, borrowed ? tmp : err, borrowed ? sizeof tmp : errlen);
        if (!borrowed) rc = r;   /* for a reader this is a courtesy, not a reason to fail */
    }
    if (borrowed) lock_drop(s);
    return rc;
}

/* SQLite calls this every 1000 VM steps: stops a read-only query that
 * store_interrupt asked to stop. Writes are never stopped this way: an
 * interrupted write inside the batch would roll the whole batch back. */
static int progress(void *ud) {
    store *s = ud;
    return s->in_query && atomic_load(&s->stop);
}

void store_interrupt(store *s) { atomic_store(&s->stop, 1); }

/* Features a hostile database or query could reach, off on every
 * connection before the first statement: fts3_tokenizer's pointer
 * registration, extension loading, triggers and views (store_open refuses
 * them anyway) and writes to SQLite's own schema (defensive). trusted_schema
 * stays on: our own CHECK constraints call json_valid, which this SQLite
 * does not mark innocuous; with the two features above off, no function a
 * table definition can name has a side effect. */
static void harden(sqlite3 *db) {
    static const int off[] = { SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION,
                               SQLITE_DBCONFIG_ENABLE_TRIGGER, SQLITE_DBCONFIG_ENABLE_VIEW };
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) sqlite3_db_config(db, off[i], 0, (int *)NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
}

static int open_db(store *s, const store_opts *o, char *err, size_t errlen) {
    bool rdonly = o->flags & STORE_RDONLY;
    int flags = SQLITE_OPEN_READWRITE | (rdonly ? 0 : SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(s->dbpath, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        if (!s->db) return store_fail(s, STORE_ENOMEM, err, errlen, "out of memory opening " STORE_DB_NAME);
        return store_dberr(s, rc, "opening " STORE_DB_NAME, err, errlen);
    }
    sqlite3_extended_result_codes(s->db, 1);
    harden(s->db);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
    sqlite3_busy_timeout(s->db, o->busy_ms);
    sqlite3_progress_handler(s->db, 1000, progress, s);
    int target = o->max_version ? o->max_version : STORE_SCHEMA_VERSION;
    if ((rc = check_schema(s, target, err, errlen))) return rc;
    if (!rdonly) {
        if ((rc = store_exec(s, "PRAGMA journal_mode = WAL", "setting WAL mode", err, errlen))) return rc;
        int64_t wal = 0;
        char mode[16] = "";
        sqlite3_stmt *st = store_stmt(s, -1, "PRAGMA journal_mode", err, errlen);
        if (st && sqlite3_step(st) == SQLITE_ROW)
            snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        wal = strcmp(mode, "wal") == 0;
        if (!wal) return store_fail(s, STORE_EIO, err, errlen, "SQLite cannot use WAL mode in this folder (journal "
                                    "mode %s; a network file system?)", mode[0] ? mode : "unknown");
        if ((rc = store_exec(s, "PRAGMA synchronous = FULL", "setting synchronous", err, errlen))) return rc;
    }
    if ((rc = maintain(s, target, err, errlen))) return rc;
    if ((rc = store_exec(s, "PRAGMA foreign_keys = ON", "enabling foreign keys", err, errlen))) return rc;
    if (rdonly && (rc = store_exec(s, "PRAGMA query_only = ON", "setting read-only", err, errlen))) return rc;
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, (int *)NULL);
    return STORE_OK;
}

bool store_own_file(const char *name) {
    static const char *const exact[] = { STORE_DB_NAME, STORE_DB_NAME "-wal", STORE_DB_NAME "-shm",
                                         STORE_DB_NAME "-journal", STORE_LOCK_NAME, STORE_CONFIG_NAME, NULL };
    if (!name) return false;
    for (int i = 0; exact[i]; i++)
        if (strcmp(name, exact[i]) == 0) return true;
    return strncmp(name, STORE_DB_NAME ".bak-", sizeof STORE_DB_NAME ".bak-" - 1) == 0;
}

bool store_own_path(const char *dir, const char *path) {
    static const char *const names[] = { STORE_DB_NAME, STORE_DB_NAME "-wal", STORE_DB_NAME "-shm",
                                         STORE_DB_NAME "-journal", STORE_LOCK_NAME, STORE_CONFIG_NAME };
    char real_dir[PATH_MAX], parent[PATH_MAX], real_parent[PATH_MAX];
    if (!dir || !path || !realpath(dir, real_dir)) return false;
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    if (slash) snprintf(parent, sizeof parent, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    else snprintf(parent, sizeof parent, ".");
    if (realpath(parent, real_parent) && strcmp(real_parent, real_dir) == 0 && store_own_file(base)) return true;
    struct stat target;
    if (stat(path, &target) != 0) return false;      /* by identity: a link or a hard link to one */
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[PATH_MAX + 32];
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", real_dir, names[i]);
        if (stat(p, &sb) == 0 && sb.st_dev == target.st_dev && sb.st_ino == target.st_ino) return true;
    }
    return false;
}

bool store_own_path_any(const char *path) {
    char dir[PATH_MAX], db[PATH_MAX + 32];
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (!path) return false;
    if (slash) snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    else snprintf(dir, sizeof dir, ".");
    snprintf(db, sizeof db, "%s/%s", dir, STORE_DB_NAME);
    if (access(db, F_OK) == 0 && store_own_path(dir, path)) return true;
    /* a link elsewhere to a workspace's file: the folder of what it names */
    char real[PATH_MAX];
    if (!realpath(path, real) || strcmp(real, path) == 0) return false;
    return store_own_path_any(real);
}

void store_opts_default(store_opts *o) {
    memset(o, 0, sizeof *o);
    o->flush_ms = STORE_FLUSH_MS;
    o->busy_ms = 5000;
}

int store_open(store **out, const char *dir, const store_opts *opts, char *err, size_t errlen) {
    *out = NULL;
    store_opts o;
    if (opts) o = *opts; else store_opts_default(&o);
    if (!dir || !*dir) dir = STORE_DEFAULT_DIR;
    if (o.flush_ms < 0 || o.busy_ms < 0 || o.max_version < 0 || o.max_version > STORE_SCHEMA_VERSION)
        return store_fail(NULL, STORE_EINVAL, err, errlen, "%s: bad store options", dir);
    if (sqlite3_initialize() != SQLITE_OK)
        return store_fail(NULL, STORE_ENOMEM, err, errlen, "%s: cannot initialize SQLite", dir);
    store *s = sqlite3_malloc64(sizeof *s);
    if (!s) return store_fail(NULL, STORE_ENOMEM, err, errlen, "%s: out of memory", dir);
    memset(s, 0, sizeof *s);
    s->lock_fd = -1;
    s->flags = o.flags;
    s->flush_ms = o.flush_ms;
    s->dir = dup_str(dir, NULL);
    s->dbpath = dup_str(dir, "/" STORE_DB_NAME);
    if (!s->dir || !s->dbpath) {
        store_close(s);
        return store_fail(NULL, STORE_ENOMEM, err, errlen, "%s: out of memory", dir);
    }
    bool rdonly = o.flags & STORE_RDONLY;
    struct stat st;
    bool exists = stat(s->dbpath, &st) == 0;
    int rc = STORE_OK;
    if (!exists && (rdonly || (o.flags & STORE_NOCREATE)))
        rc = store_fail(s, STORE_ENOTFOUND, err, errlen, "no workspace here (no " STORE_DB_NAME ")");
    if (!rc && !rdonly) rc = mkdir_p(s, dir, err, errlen);
    if (!rc && !rdonly) rc = lock_take(s, 500, err, errlen);
    /* the temporaries of writes killed half way (fout.h): a live writer's,
     * this process's or another's, is locked and stays */
    if (!rc && !rdonly) fout_sweep(dir, NULL, 3, FOUT_STALE_S);
    if (!rc && !exists) rc = make_workspace_files(s, err, errlen);
    if (!rc && exists) rc = check_header(s, err, errlen);
    if (!rc) rc = open_db(s, &o, err, errlen);
    if (rc) {
        store_close(s);
        return rc;
    }
    *out = s;
    return STORE_OK;
}

void store_close(store *s) {
    if (!s) return;
    if (s->db) {
        char tmp[64];
        commit(s, tmp, sizeof tmp);
        for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(s->st[i]);
        sqlite3_close_v2(s->db);
    }
    lock_drop(s);
    sqlite3_free(s->scratch);
    sqlite3_free(s->batch_runs);
    sqlite3_free(s->lost_runs);
    sqlite3_free(s->dir);
    sqlite3_free(s->dbpath);
    sqlite3_free(s);
}

const char *store_dir(const store *s) { return s->dir; }
bool store_rdonly(const store *s) { return s->flags & STORE_RDONLY; }
int store_version(const store *s) { return s->version; }

int store_check(store *s, char *err, size_t errlen) {
    sqlite3_stmt *st = store_stmt(s, -1, "PRAGMA integrity_check(1)", err, errlen);
    if (!st) return store_dberr(s, sqlite3_errcode(s->db), "checking", err, errlen);
    int rc = sqlite3_step(st), out = STORE_OK;
    if (rc != SQLITE_ROW) {
        out = store_dberr(s, rc, "checking", err, errlen);
    } else {
        const char *r = (const char *)sqlite3_column_text(st, 0);
        if (!r || strcmp(r, "ok") != 0)
            out = store_fail(s, STORE_ECORRUPT, err, errlen, "integrity check: %s; %s", r ? r : "?", DAMAGED_HINT);
    }
    sqlite3_finalize(st);
    return out;
}

/* ---- packing results ------------------------------------------------------- */

void *store_pack_item(store_pack *p) {
    if (p->oom) return NULL;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        char *it = sqlite3_realloc64(p->items, cap * p->esz);
        if (!it) { p->oom = true; return NULL; }
        p->items = it;
        p->cap = cap;
    }
    void *e = p->items + p->n++ * p->esz;
    memset(e, 0, p->esz);
    return e;
}

void store_pack_str(store_pack *p, const char **field, const char *str, size_t n) {
    *field = NULL;
    if (!str || p->oom) return;
    if (p->slen + n + 1 > p->scap) {
        size_t cap = p->scap ? p->scap : 256;
        while (cap < p->slen + n + 1) cap *= 2;
        char *b = sqlite3_realloc64(p->strs, cap);
        if (!b) { p->oom = true; return; }
        p->strs = b;
        p->scap = cap;
    }
    memcpy(p->strs + p->slen, str, n);
    p->strs[p->slen + n] = 0;
    *field = (const char *)(uintptr_t)(p->slen + 1);   /* an offset + 1 until packed */
    p->slen += n + 1;
}

void store_pack_free(store_pack *p) {
    sqlite3_free(p->items);
    sqlite3_free(p->strs);
    p->items = p->strs = NULL;
}

void *store_pack_done(store_pack *p, const size_t *fields, int nf, int64_t *n) {
    *n = 0;
    char *block = NULL;
    if (!p->oom && p->n) {
        size_t isz = (p->n * p->esz + 15) & ~(size_t)15;
        block = sqlite3_malloc64(isz + p->slen + 1);
        if (block) {
            memcpy(block, p->items, p->n * p->esz);
            if (p->slen) memcpy(block + isz, p->strs, p->slen);
            for (size_t i = 0; i < p->n; i++)
                for (int f = 0; f < nf; f++) {
                    const char **fp = (const char **)(block + i * p->esz + fields[f]);
                    uintptr_t off = (uintptr_t)*fp;
                    *fp = off ? block + isz + off - 1 : NULL;
                }
            *n = (int64_t)p->n;
        } else {
            p->oom = true;
        }
    }
    store_pack_free(p);
    return block;
}
