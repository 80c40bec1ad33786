/* store_run: experiment runs, the records plugins write during them and
 * their metrics.
 *
 * Invariants: a run's status is "running" from store_run_begin until
 * store_run_end (or until a later open finds its process gone and marks it
 * "interrupted"); ended is NULL exactly while it runs; run_models keeps the
 * models in the order given. Record payloads are JSON (a CHECK in the schema
 * refuses anything else, whoever writes).
 */
#include "store_impl.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static bool is_sha256_hex(const char *h) {
    if (!h || strlen(h) != 64) return false;
    for (int i = 0; i < 64; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f'))) return false;
    return true;
}

static int run_exists(store *s, int64_t id, char *err, size_t errlen) {
    sqlite3_stmt *st = store_stmt(s, -1, "SELECT 1 FROM runs WHERE id = ?1", err, errlen);
    if (!st) return STORE_EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return STORE_OK;
    if (rc == SQLITE_DONE) return store_fail(s, STORE_ENOTFOUND, err, errlen, "no run %lld", (long long)id);
    return store_dberr(s, rc, "looking up a run", err, errlen);
}

static int insert_run(store *s, const store_run_info *in, int64_t *id, char *err, size_t errlen) {
    if (in->session) {
        sqlite3_stmt *st = store_stmt(s, -1, "SELECT 1 FROM sessions WHERE id = ?1", err, errlen);
        if (!st) return STORE_EIO;
        sqlite3_bind_int64(st, 1, in->session);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc == SQLITE_DONE) return store_fail(s, STORE_ENOTFOUND, err, errlen, "no session %lld", (long long)in->session);
        if (rc != SQLITE_ROW) return store_dberr(s, rc, "starting a run", err, errlen);
    }
    sqlite3_stmt *st = store_stmt(s, -1, "INSERT INTO runs(plugin, params, seed, session_id, status, started)"
                                  " VALUES (?1, coalesce(?2, '{}'), ?3, ?4, 'running', ?5)", err, errlen);
    if (!st) return STORE_EIO;
    sqlite3_bind_text(st, 1, in->plugin, -1, SQLITE_TRANSIENT);
    store_bind_text(st, 2, in->params);
    if (in->has_seed) sqlite3_bind_int64(st, 3, in->seed);
    if (in->session) sqlite3_bind_int64(st, 4, in->session);
    sqlite3_bind_double(st, 5, store_time());
    int rc = store_step_done(s, st, "starting a run", err, errlen);
    sqlite3_finalize(st);
    if (rc) return rc;
    *id = sqlite3_last_insert_rowid(s->db);
    if (!in->n_models) return STORE_OK;
    st = store_stmt(s, -1, "INSERT INTO run_models(run_id, pos, sha256) VALUES (?1, ?2, ?3)", err, errlen);
    if (!st) return STORE_EIO;
    for (int i = 0; i < in->n_models && !rc; i++) {
        sqlite3_bind_int64(st, 1, *id);
        sqlite3_bind_int(st, 2, i);
        sqlite3_bind_text(st, 3, in->models[i], -1, SQLITE_TRANSIENT);
        rc = store_step_done(s, st, "starting a run", err, errlen);
    }
    sqlite3_finalize(st);
    return rc;
}

int store_run_begin(store *s, const store_run_info *in, int64_t *id, char *err, size_t errlen) {
    if (!in || !in->plugin || !*in->plugin) return store_fail(s, STORE_EINVAL, err, errlen, "a run needs a plugin name");
    if (in->n_models < 0 || (in->n_models && !in->models))
        return store_fail(s, STORE_EINVAL, err, errlen, "run: bad model list");
    for (int i = 0; i < in->n_models; i++)
        if (!is_sha256_hex(in->models[i]))
            return store_fail(s, STORE_EINVAL, err, errlen, "run: model %d is not a sha256 (64 lowercase hex digits)", i);
    int64_t rid = 0;
    int rc = store_wr_begin(s, err, errlen);
    if (rc) return rc;
    rc = insert_run(s, in, &rid, err, errlen);
    if (!rc) store_wr_run(s, rid);
    rc = store_wr_end(s, rc, err, errlen);
    if (!rc && id) *id = rid;
    return rc;
}

/* "interrupted": the host's end for a script stopped by Ctrl-C, as a run
 * whose process died reads when the workspace is next opened */
static const char *const END_STATUS[] = { "ok", "failed", "cancelled", "interrupted" };

int store_run_end(store *s, int64_t id, const char *status, const char *error, char *err, size_t errlen) {
    bool known = false;
    for (size_t i = 0; status && i < sizeof END_STATUS / sizeof END_STATUS[0]; i++) known |= strcmp(status, END_STATUS[i]) == 0;
    if (!known) return store_fail(s, STORE_EINVAL, err, errlen, "run status must be ok, failed, cancelled or interrupted, not %s",
                                  status ? status : "(null)");
    /* a run whose writes were rolled back (a batch that could not be saved)
     * did not succeed, whatever its code says */
    static const char LOST[] = "some of its records could not be saved (the workspace's disk was full or failing) "
                               "and were rolled back";
    bool lost = strcmp(status, "ok") == 0 && store_run_lost(s, id);
    if (lost) {
        status = "failed";
        error = LOST;
    }
    int rc = store_wr_begin(s, err, errlen);
    if (rc) return rc;
    sqlite3_stmt *st = store_stmt(s, -1, "UPDATE runs SET status = ?2, error = ?3, ended = ?4"
                                  " WHERE id = ?1 AND status = 'running'", err, errlen);
    if (!st) return store_wr_end(s, STORE_EIO, err, errlen);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_TRANSIENT);
    store_bind_text(st, 3, error);
    sqlite3_bind_double(st, 4, store_time());
    rc = store_step_done(s, st, "ending a run", err, errlen);
    sqlite3_finalize(st);
    if (!rc && sqlite3_changes(s->db) == 0) {
        rc = run_exists(s, id, err, errlen);
        if (!rc) rc = store_fail(s, STORE_EINVAL, err, errlen, "run %lld has already ended", (long long)id);
    }
    rc = store_wr_end(s, rc, err, errlen);
    if (!rc) rc = store_flush(s, err, errlen);   /* a finished run is on disk when this returns */
    if (!rc && lost)
        rc = store_fail(s, STORE_EIO, err, errlen, "run %lld ended \"failed\", not \"ok\": %s", (long long)id, LOST);
    return rc;
}

int store_run_del(store *s, int64_t id, char *err, size_t errlen) {
    int rc = store_wr_begin(s, err, errlen);
    if (rc) return rc;
    sqlite3_stmt *st = store_stmt(s, -1, "DELETE FROM runs WHERE id = ?1", err, errlen);
    if (!st) return store_wr_end(s, STORE_EIO, err, errlen);
    sqlite3_bind_int64(st, 1, id);
    rc = store_step_done(s, st, "deleting a run", err, errlen);
    sqlite3_finalize(st);
    if (!rc && sqlite3_changes(s->db) == 0) rc = store_fail(s, STORE_ENOTFOUND, err, errlen, "no run %lld", (long long)id);
    return store_wr_end(s, rc, err, errlen);
}

static int runs_read(store *s, int64_t id, store_run **out, int64_t *n, char *err, size_t errlen) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = store_stmt(s, -1,
        "SELECT r.id, r.plugin, r.params, r.seed, r.session_id, r.status, r.error, r.started, r.ended,"
        " (SELECT count(*) FROM run_models m WHERE m.run_id = r.id),"
        " (SELECT group_concat(sha256, ',') FROM"
        "   (SELECT sha256 FROM run_models m WHERE m.run_id = r.id ORDER BY pos))"
        " FROM runs r WHERE ?1 IS NULL OR r.id = ?1 ORDER BY r.id DESC", err, errlen);
    if (!st) return STORE_EIO;
    if (id) sqlite3_bind_int64(st, 1, id);
    store_pack p = { .esz = sizeof(store_run) };
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_run *e = store_pack_item(&p);
        if (!e) break;
        const char *t;
        e->id = sqlite3_column_int64(st, 0);
        t = (const char *)sqlite3_column_text(st, 1);
        store_pack_str(&p, &e->plugin, t, (size_t)sqlite3_column_bytes(st, 1));
        t = (const char *)sqlite3_column_text(st, 2);
        store_pack_str(&p, &e->params, t, (size_t)sqlite3_column_bytes(st, 2));
        e->has_seed = sqlite3_column_type(st, 3) != SQLITE_NULL;
        e->seed = sqlite3_column_int64(st, 3);
        e->session = sqlite3_column_int64(st, 4);
        t = (const char *)sqlite3_column_text(st, 5);
        store_pack_str(&p, &e->status, t, (size_t)sqlite3_column_bytes(st, 5));
        t = (const char *)sqlite3_column_text(st, 6);
        store_pack_str(&p, &e->error, t, (size_t)sqlite3_column_bytes(st, 6));
        e->started = sqlite3_column_double(st, 7);
        e->ended = sqlite3_column_double(st, 8);
        e->n_models = sqlite3_column_int(st, 9);
        t = (const char *)sqlite3_column_text(st, 10);
        store_pack_str(&p, &e->models, t ? t : "", t ? (size_t)sqlite3_column_bytes(st, 10) : 0);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_pack_free(&p);
        return store_dberr(s, rc, "reading runs", err, errlen);
    }
    static const size_t f[] = { offsetof(store_run, plugin), offsetof(store_run, params), offsetof(store_run, status),
                                offsetof(store_run, error), offsetof(store_run, models) };
    bool any = p.n > 0 || p.oom;
    *out = store_pack_done(&p, f, 5, n);
    return any && !*out ? store_fail(s, STORE_ENOMEM, err, errlen, "out of memory") : STORE_OK;
}

int store_run_get(store *s, int64_t id, store_run **out, char *err, size_t errlen) {
    int64_t n;
    *out = NULL;
    if (id <= 0) return store_fail(s, STORE_ENOTFOUND, err, errlen, "no run %lld", (long long)id);
    int rc = runs_read(s, id, out, &n, err, errlen);
    if (!rc && n == 0) rc = store_fail(s, STORE_ENOTFOUND, err, errlen, "no run %lld", (long long)id);
    return rc;
}

int store_run_list(store *s, store_run **out, int64_t *n, char *err, size_t errlen) {
    return runs_read(s, 0, out, n, err, errlen);
}

/* ---- records and metrics ---------------------------------------------------- */

int store_record_add(store *s, int64_t run, const char *kind, const char *json, int64_t *id,
                     char *err, size_t errlen) {
    if (!kind || !*kind) return store_fail(s, STORE_EINVAL, err, errlen, "a record needs a kind");
    if (!json) return store_fail(s, STORE_EINVAL, err, errlen, "record %s: no data", kind);
    int rc = store_wr_begin(s, err, errlen);
    if (rc) return rc;
    rc = run ? run_exists(s, run, err, errlen) : STORE_OK;
    sqlite3_stmt *st = rc ? NULL : store_stmt(s, ST_RECORD_ADD,
        "INSERT INTO records(run_id, kind, data, created) VALUES (?1, ?2, ?3, ?4)", err, errlen);
    if (!rc && !st) rc = STORE_EIO;
    if (!rc) {
        if (run) sqlite3_bind_int64(st, 1, run);
        sqlite3_bind_text(st, 2, kind, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, json, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(st, 4, store_time());
        rc = store_step_done(s, st, "adding a record (is the data JSON?)", err, errlen);
        if (!rc && id) *id = sqlite3_last_insert_rowid(s->db);
        if (!rc) store_wr_run(s, run);
    }
    return store_wr_end(s, rc, err, errlen);
}

int store_metric_set(store *s, int64_t run, const char *name, int64_t step, double value,
                     char *err, size_t errlen) {
    if (!name || !*name) return store_fail(s, STORE_EINVAL, err, errlen, "a metric needs a name");
    int rc = store_wr_begin(s, err, errlen);
    if (rc) return rc;
    rc = run_exists(s, run, err, errlen);
    sqlite3_stmt *st = rc ? NULL : store_stmt(s, ST_METRIC_SET,
        "INSERT INTO metrics(run_id, name, step, value, created) VALUES (?1, ?2, ?3, ?4, ?5)"
        " ON CONFLICT(run_id, name, step) DO UPDATE SET value = excluded.value, created = excluded.created",
        err, errlen);
    if (!rc && !st) rc = STORE_EIO;
    if (!rc) {
        sqlite3_bind_int64(st, 1, run);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, step);
        sqlite3_bind_double(st, 4, value);   /* NaN is stored as NULL */
        sqlite3_bind_double(st, 5, store_time());
        rc = store_step_done(s, st, "setting a metric", err, errlen);
        if (!rc) store_wr_run(s, run);
    }
    return store_wr_end(s, rc, err, errlen);
}

int store_metric_last(store *s, int64_t run, store_metric **out, int64_t *n, char *err, size_t errlen) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = store_stmt(s, -1,
        "SELECT name, step, value FROM metrics m WHERE run_id = ?1"
        " AND step = (SELECT max(step) FROM metrics WHERE run_id = ?1 AND name = m.name) ORDER BY name",
        err, errlen);
    if (!st) return STORE_EIO;
    sqlite3_bind_int64(st, 1, run);
    store_pack p = { .esz = sizeof(store_metric) };
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_metric *e = store_pack_item(&p);
        if (!e) break;
        store_pack_str(&p, &e->name, (const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        e->step = sqlite3_column_int64(st, 1);
        e->value = sqlite3_column_type(st, 2) == SQLITE_NULL ? (double)NAN : sqlite3_column_double(st, 2);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_pack_free(&p);
        return store_dberr(s, rc, "reading metrics", err, errlen);
    }
    static const size_t f[] = { offsetof(store_metric, name) };
    bool any = p.n > 0 || p.oom;
    *out = store_pack_done(&p, f, 1, n);
    return any && !*out ? store_fail(s, STORE_ENOMEM, err, errlen, "out of memory") : STORE_OK;
}
