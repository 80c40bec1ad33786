/* store_tree: models seen, sessions and their branch trees (nodes and the
 * tokens in them).
 *
 * Invariants: a node's parent is in the same session; tokens of a node are
 * numbered 0..n-1 without gaps (appends go to the end, a split renumbers the
 * moved tail); a session's selected node is one of its nodes or NULL. Top-k
 * alternatives are kept as JSON [[tok, logprob], ...], written and read in
 * the C locale so that a TUI's setlocale cannot turn '.' into ','.
 */
#include "store_impl.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sha256.h"

/* Runs a statement expected to return at most one row; 1 row, 0 none, < 0 error. */
static int step_row(store *s, sqlite3_stmt *st, const char *what, char *err, size_t errlen) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    return store_dberr(s, rc, what, err, errlen);
}

static const char *col_text(sqlite3_stmt *st, int i, size_t *n) {
    const char *t = (const char *)sqlite3_column_text(st, i);
    *n = (size_t)sqlite3_column_bytes(st, i);
    return t;
}

/* The session a node belongs to (0 if no such node). */
static int node_session(store *s, int64_t node, int64_t *session, char *err, size_t errlen) {
    *session = 0;
    sqlite3_stmt *st = store_stmt(s, -1, "SELECT session_id FROM nodes WHERE id = ?1", err, errlen);
    if (!st) return STORE_EIO;
    sqlite3_bind_int64(st, 1, node);
    int rc = step_row(s, st, "looking up a node", err, errlen);
    if (rc == 1) *session = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc < 0 ? rc : STORE_OK;
}

static int exists(store *s, const char *sql, int64_t id, bool *yes, char *err, size_t errlen) {
    sqlite3_stmt *st = store_stmt(s, -1, sql, err, errlen);
    if (!st) return STORE_EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = step_row(s, st, "looking up a row", err, errlen);
    *yes = rc == 1;
    sqlite3_finalize(st);
    return rc < 0 ? rc : STORE_OK;
}

/* ---- models ---------------------------------------------------------------- */

/* A model file as the cache knows it: real path, size, modification time. */
typedef struct mfile { char real[PATH_MAX]; int64_t size, mtime_ns; } mfile;

static int model_stat(store *s, const char *path, mfile *m, char *err, size_t errlen) {
    struct stat sb;
    if (!path || !realpath(path, m->real) || stat(m->real, &sb) != 0)
        return store_fail(s, STORE_EIO, err, errlen, "model %s: %s", path ? path : "(null)", strerror(errno));
    m->size = (int64_t)sb.st_size;
    m->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    return STORE_OK;
}

/* The hash of a file already hashed and unchanged since (hashing gigabytes
 * at every start would be slow): 1 and hex filled, 0 unknown, < 0 error. */
static int model_cached(store *s, const mfile *m, char hex[SHA256_HEX_LEN + 1], char *err, size_t errlen) {
    sqlite3_stmt *st = store_stmt(s, -1, "SELECT sha256 FROM models WHERE path = ?1 AND size = ?2 AND mtime_ns = ?3",
                                  err, errlen);
    if (!st) return STORE_EIO;
    sqlite3_bind_text(st, 1, m->real, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, m->size);
    sqlite3_bind_int64(st, 3, m->mtime_ns);
    int rc = step_row(s, st, "looking up a model", err, errlen);
    if (rc == 1) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (t && strlen(t) == SHA256_HEX_LEN) memcpy(hex, t, SHA256_HEX_LEN + 1);
        else rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

static int model_upsert(store *s, const mfile *m, const char *hex, const char *metadata_json, int64_t *id,
                        char *err, size_t errlen) {
    int rc = store_wr_begin(s, err, errlen);
    if (rc) return rc;
    sqlite3_stmt *st = store_stmt(s, -1,
        "INSERT INTO models(sha256, path, size, mtime_ns, metadata, first_seen, last_seen)"
        " VALUES (?1, ?2, ?3, ?4, coalesce(?5, '{}'), ?6, ?6)"
        " ON CONFLICT(sha256) DO UPDATE SET path = excluded.path, size = excluded.size,"
        " mtime_ns = excluded.mtime_ns, metadata = coalesce(?5, metadata), last_seen = excluded.last_seen"
        " RETURNING id", err, errlen);
    if (!st) return store_wr_end(s, STORE_EIO, err, errlen);
    sqlite3_bind_text(st, 1, hex, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, m->real, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, m->size);
    sqlite3_bind_int64(st, 4, m->mtime_ns);
    store_bind_text(st, 5, metadata_json);
    sqlite3_bind_double(st, 6, store_time());
    rc = step_row(s, st, "recording a model", err, errlen);
    int64_t mid = rc == 1 ? sqlite3_column_int64(st, 0) : 0;
    if (rc == 1) rc = sqlite3_step(st) == SQLITE_DONE ? STORE_OK
                      : store_dberr(s, sqlite3_errcode(s->db), "recording a model", err, errlen);
    else if (rc == 0) rc = store_fail(s, STORE_EIO, err, errlen, "recording a model: no id returned");
    sqlite3_finalize(st);
    rc = store_wr_end(s, rc, err, errlen);
    if (!rc && id) *id = mid;
    return rc;
}

int store_model_add(store *s, const char *path, const char *metadata_json, int64_t *id,
                    char *sha_hex, char *err, size_t errlen) {
    mfile m;
    char hex[SHA256_HEX_LEN + 1];
    int rc = model_stat(s, path, &m, err, errlen);
    if (!rc) rc = model_cached(s, &m, hex, err, errlen);
    if (rc == 0) {
        uint8_t d[SHA256_LEN];
        char msg[512];
        if (sha256_file(m.real, d, NULL, msg, sizeof msg)) return store_fail(s, STORE_EIO, err, errlen, "model %s", msg);
        sha256_hex(d, hex);
    }
    if (rc < 0) return rc;
    rc = model_upsert(s, &m, hex, metadata_json, id, err, errlen);
    if (!rc && sha_hex) memcpy(sha_hex, hex, sizeof hex);
    return rc;
}

int store_model_has(store *s, const char *path, char *sha_hex, char *err, size_t errlen) {
    mfile m;
    char hex[SHA256_HEX_LEN + 1];
    int rc = model_stat(s, path, &m, err, errlen);
    if (!rc) rc = model_cached(s, &m, hex, err, errlen);
    if (rc == 1 && sha_hex) memcpy(sha_hex, hex, sizeof hex);
    return rc;
}

int store_model_add_hashed(store *s, const char *path, const char *sha_hex, const char *metadata_json, int64_t *id,
                           char *err, size_t errlen) {
    bool ok = sha_hex && strlen(sha_hex) == SHA256_HEX_LEN;
    for (int i = 0; ok && i < SHA256_HEX_LEN; i++)
        ok = (sha_hex[i] >= '0' && sha_hex[i] <= '9') || (sha_hex[i] >= 'a' && sha_hex[i] <= 'f');
    if (!ok) return store_fail(s, STORE_EINVAL, err, errlen, "model %s: not a sha256 (64 lowercase hex digits)",
                               path ? path : "(null)");
    mfile m;
    int rc = model_stat(s, path, &m, err, errlen);
    return rc ? rc : model_upsert(s, &m, sha_hex, metadata_json, id, err, errlen);
}

int store_model_get(store *s, int64_t id, store_model **out, char *err, size_t errlen) {
    *out = NULL;
    sqlite3_stmt *st = store_stmt(s, -1, "SELECT id, sha256, path, size, metadata, first_seen, last_seen"
                                  " FROM models WHERE id = ?1", err, errlen);
    if (!st) return STORE_EIO;
    sqlite3_bind_int64(st, 1, id);
    store_pack p = { .esz = sizeof(store_model) };
    int rc = step_row(s, st, "reading a model", err, errlen);
    if (rc == 1) {
        store_model *m = store_pack_item(&p);
        size_t n;
        const char *t;
        if (m) {
            m->id = sqlite3_column_int64(st, 0);
            t = col_text(st, 1, &n); store_pack_str(&p, &m->sha256, t, n);
            t = col_text(st, 2, &n); store_pack_str(&p, &m->path, t, n);
            m->size = sqlite3_column_int64(st, 3);
            t = col_text(st, 4, &n); store_pack_str(&p, &m->metadata, t, n);
            m->first_seen = sqlite3_column_double(st, 5);
            m->last_seen = sqlite3_column_double(st, 6);
        }
    }
    sqlite3_finalize(st);
    static const size_t f[] = { offsetof(store_model, sha256), offsetof(store_model, path),
                                offsetof(store_model, metadata) };
    int64_t n;
    if (rc < 0) { store_pack_free(&p); return rc; }
    if (rc == 0) { store_pack_free(&p); return store_fail(s, STORE_ENOTFOUND, err, errlen, "no model %lld", (long long)id); }
    *out = store_pack_done(&p, f, 3, &n);
    return *out ? STORE_OK : store_fail(s, STORE_ENOMEM, err, errlen, "out of memory");
}

/* ---- sessions ---------------------------------------------------------------- */

int store_session_add(store *s, const char *name, int64_t model, int64_t *id, char *err, size_t errlen) {
    if (!name) return store_fail(s, STORE_EINVAL, err, errlen, "a session needs a name");
    int rc = store_wr_begin(s, err, errlen);
    if (rc) return rc;
    sqlite3_stmt *st = store_stmt(s, -1, "INSERT INTO sessions(name, model_id, created, updated) VALUES (?1, ?2, ?3, ?3)",
                                  err, errlen);
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        if (model) sqlite3_bind_int64(st, 2, model);
        sqlite3_bind_double(st, 3, store_time());
        rc = store_step_done(s, st, "adding a session", err, errlen);
        if (!rc && id) *id = sqlite3_last_insert_rowid(s->db);
        sqlite3_finalize(st);
    } else {
        rc = STORE_EIO;
    }
    return store_wr_end(s, rc, err, errlen);
}

/* An UPDATE/DELETE of one row by id (?1): ENOTFOUND when no row changed. */
static int change_one(store *s, sqlite3_stmt *st, const char *what, const char *noun, int64_t id,
                      char *err, size_t errlen) {
    int rc = store_step_done(s, st, what, err, errlen);
    if (!rc && sqlite3_changes(s->db) == 0)
        rc = store_fail(s, STORE_ENOTFOUND, err, errlen, "no %s %lld", noun, (long long)id);
    sqlite3_finalize(st);
    return rc;
}

int store_session_set_name(store *s, int64_t id, const char *name, char *err, size_t errlen) {
    if (!name) return store_fail(s, STORE_EINVAL, err, errlen, "a session needs a name");
    int rc = store_wr_begin(s, err, errlen);
    if (rc) return rc;
    sqlite3_stmt *st = store_stmt(s, -1, "UPDATE sessions SET name = ?2, updated = ?3 WHERE id = ?1", err, errlen);
    if (!st) return store_wr_end(s, STORE_EIO, err, errlen);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 3, store_time());
    return store_wr_end(s, change_one(s, st, "renaming a session", "session", id, err, errlen), err, errlen);
}

int store_session_set_state(store *s, int64_t id, int64_t selected, const char *ui_json, char *err, size_t errlen) {
    int rc = store_wr_begin(s, err, errlen);
    if (rc) return rc;
    if (selected) {
        int64_t sess;
        rc = node_session(s, selected, &sess, err, errlen);
        if (!rc && sess != id)
            rc = store_fail(s, STORE_EINVAL, err, errlen, "node %lld is not in session %lld", (long long)selected,
                            (long long)id);
        if (rc) return store_wr_end(s, rc, err, errlen);
    }
    sqlite3_stmt *st = store_stmt(s, -1, "UPDATE sessions SET selected_node = ?2, ui = coalesce(?3, ui), updated = ?4"
                                  " WHERE id = ?1", err, errlen);
    if (!st) return store_wr_end(s, STORE_EIO, err, errlen);
    sqlite3_bind_int64(st, 1, id);
    if (selected) sqlite3_bind_int64(st, 2, selected);
    store_bind_text(st, 3, ui_json);
    sqlite3_bind_double(st, 4, store_time());
    return store_wr_end(s, change_one(s, st, "saving the session state", "session", id, err, errlen), err, errlen);
}

int store_session_del(store *s, int64_t id, char *err, size_t errlen) {
    int rc = store_wr_begin(s, err, errlen);
    if (rc) return rc;
    sqlite3_stmt *st = store_stmt(s, -1, "DELETE FROM sessions WHERE id = ?1", err, errlen);
    if (!st) return store_wr_end(s, STORE_EIO, err, errlen);
    sqlite3_bind_int64(st, 1, id);
    return store_wr_end(s, change_one(s, st, "deleting a session", "session", id, err, errlen), err, errlen);
}

static int sessions_read(store *s, int64_t id, store_session **out, int64_t *n, char *err, size_t errlen) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = store_stmt(s, -1,
        "SELECT id, name, model_id, selected_node, ui, created, updated FROM sessions"
        " WHERE ?1 IS NULL OR id = ?1 ORDER BY updated DESC, id DESC", err, errlen);
    if (!st) return STORE_EIO;
    if (id) sqlite3_bind_int64(st, 1, id);
    store_pack p = { .esz = sizeof(store_session) };
    int rc;
    while ((rc = step_row(s, st, "reading sessions", err, errlen)) == 1) {
        store_session *e = store_pack_item(&p);
        if (!e) break;
        size_t len;
        const char *t;
        e->id = sqlite3_column_int64(st, 0);
        t = col_text(st, 1, &len); store_pack_str(&p, &e->name, t, len);
        e->model = sqlite3_column_int64(st, 2);
        e->selected = sqlite3_column_int64(st, 3);
        t = col_text(st, 4, &len); store_pack_str(&p, &e->ui, t, len);
        e->created = sqlite3_column_double(st, 5);
        e->updated = sqlite3_column_double(st, 6);
    }
    sqlite3_finalize(st);
    if (rc < 0) { store_pack_free(&p); return rc; }
    static const size_t f[] = { offsetof(store_session, name), offsetof(store_session, ui) };
    bool any = p.n > 0 || p.oom;
    *out = store_pack_done(&p, f, 2, n);
    if (any && !*out) return store_fail(s, STORE_ENOMEM, err, errlen, "out of memory");
    return STORE_OK;
}

int store_session_get(store *s, int64_t id, store_session **out, char *err, size_t errlen) {
    int64_t n;
    *out = NULL;
    if (id <= 0) return store_fail(s, STORE_ENOTFOUND, err, errlen, "no session %lld", (long long)id);
    int rc = sessions_read(s, id, out, &n, err, errlen);
    if (!rc && n == 0) rc = store_fail(s, STORE_ENOTFOUND, err, errlen, "no session %lld", (long long)id);
    return rc;
}

int store_session_list(store *s, store_session **out, int64_t *n, char *err, size_t errlen) {
    return sessions_read(s, 0, out, n, err, errlen);
}

/* ---- nodes ---------------------------------------------------------------- */

int store_node_add(store *s, int64_t session, int64_t parent, const char *sampler_json, int64_t *id,
                   char *err, size_t errlen) {
    int rc = store_wr_begin(s, err, errlen);
    if (rc) return rc;
    bool ok;
    rc = exists(s, "SELECT 1 FROM sessions WHERE id = ?1", session, &ok, err, errlen);
    if (!rc && !ok) rc = store_fail(s, STORE_ENOTFOUND, err, errlen, "no session %lld", (long long)session);
    if (!rc && parent) {
        int64_t ps;
        rc = node_session(s, parent, &ps, err, errlen);
        if (!rc && ps == 0) rc = store_fail(s, STORE_ENOTFOUND, err, errlen, "no node %lld", (long long)parent);
        else if (!rc && ps != session)
            rc = store_fail(s, STORE_EINVAL, err, errlen, "node %lld is in session %lld, not %lld", (long long)parent,
                            (long long)ps, (long long)session);
    }
    sqlite3_stmt *st = rc ? NULL : store_stmt(s, -1,
        "INSERT INTO nodes(session_id, parent_id, sampler, created, updated) VALUES (?1, ?2, coalesce(?3, '{}'), ?4, ?4)",
        err, errlen);
    if (!rc && !st) rc = STORE_EIO;
    if (!rc) {
        double now = store_time();
        sqlite3_bind_int64(st, 1, session);
        if (parent) sqlite3_bind_int64(st, 2, parent);
        store_bind_text(st, 3, sampler_json);
        sqlite3_bind_double(st, 4, now);
        rc = store_step_done(s, st, "adding a node", err, errlen);
        if (!rc && id) *id = sqlite3_last_insert_rowid(s->db);
        sqlite3_finalize(st);
        st = rc ? NULL : store_stmt(s, -1, "UPDATE sessions SET updated = ?2 WHERE id = ?1", err, errlen);
        if (st) {
            sqlite3_bind_int64(st, 1, session);
            sqlite3_bind_double(st, 2, now);
            rc = store_step_done(s, st, "adding a node", err, errlen);
            sqlite3_finalize(st);
        } else if (!rc) {
            rc = STORE_EIO;
        }
    }
    return store_wr_end(s, rc, err, errlen);
}

int store_node_set_label(store *s, int64_t id, const char *label, char *err, size_t errlen) {
    int rc = store_wr_begin(s, err, errlen);
    if (rc) return rc;
    sqlite3_stmt *st = store_stmt(s, -1, "UPDATE nodes SET label = ?2, updated = ?3 WHERE id = ?1", err, errlen);
    if (!st) return store_wr_end(s, STORE_EIO, err, errlen);
    sqlite3_bind_int64(st, 1, id);
    store_bind_text(st, 2, label);
    sqlite3_bind_double(st, 3, store_time());
    return store_wr_end(s, change_one(s, st, "labelling a node", "node", id, err, errlen), err, errlen);
}

int store_node_del(store *s, int64_t id, char *err, size_t errlen) {
    int rc = store_wr_begin(s, err, errlen);
    if (rc) return rc;
    /* the whole subtree in one statement: parent_id has no ON DELETE action,
     * so the tree's depth is not limited by SQLite's cascade depth */
    sqlite3_stmt *st = store_stmt(s, -1,
        "WITH RECURSIVE sub(id) AS (SELECT id FROM nodes WHERE id = ?1"
        " UNION SELECT n.id FROM nodes n JOIN sub ON n.parent_id = sub.id)"
        " DELETE FROM nodes WHERE id IN (SELECT id FROM sub)", err, errlen);
    if (!st) return store_wr_end(s, STORE_EIO, err, errlen);
    sqlite3_bind_int64(st, 1, id);
    return store_wr_end(s, change_one(s, st, "deleting a node", "node", id, err, errlen), err, errlen);
}

int store_node_split(store *s, int64_t id, int64_t at, int64_t *child, char *err, size_t errlen) {
    int rc = store_wr_begin(s, err, errlen);
    if (rc) return rc;
    sqlite3_stmt *st = store_stmt(s, -1, "SELECT (SELECT count(*) FROM tokens WHERE node_id = ?1) FROM nodes WHERE id = ?1",
                                  err, errlen);
    if (!st) return store_wr_end(s, STORE_EIO, err, errlen);
    sqlite3_bind_int64(st, 1, id);
    rc = step_row(s, st, "splitting a node", err, errlen);
    int64_t n = rc == 1 ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc == 0) rc = store_fail(s, STORE_ENOTFOUND, err, errlen, "no node %lld", (long long)id);
    else if (rc == 1) rc = at > 0 && at < n ? STORE_OK
        : store_fail(s, STORE_EINVAL, err, errlen, "cannot split node %lld (%lld tokens) at %lld", (long long)id,
                     (long long)n, (long long)at);
    /* the new node takes the tail, the children, the label and the selection;
     * the order of these statements keeps every reference valid */
    static const char *const sql[] = {
        ("INSERT INTO nodes(session_id, parent_id, sampler, label, created, updated)"
         " SELECT session_id, id, sampler, label, created, ?3 FROM nodes WHERE id = ?1"),
        "UPDATE nodes SET parent_id = ?4 WHERE parent_id = ?1 AND id <> ?4",
        "UPDATE nodes SET label = NULL, updated = ?3 WHERE id = ?1",
        "UPDATE tokens SET node_id = ?4, i = i - ?2 WHERE node_id = ?1 AND i >= ?2",
        "UPDATE sessions SET selected_node = ?4 WHERE selected_node = ?1",
    };
    int64_t nid = 0;
    double now = store_time();
    for (size_t k = 0; k < sizeof sql / sizeof sql[0] && !rc; k++) {
        st = store_stmt(s, -1, sql[k], err, errlen);
        if (!st) { rc = STORE_EIO; break; }
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, at);
        sqlite3_bind_double(st, 3, now);
        sqlite3_bind_int64(st, 4, nid);
        rc = store_step_done(s, st, "splitting a node", err, errlen);
        if (k == 0) nid = sqlite3_last_insert_rowid(s->db);
        sqlite3_finalize(st);
    }
    rc = store_wr_end(s, rc, err, errlen);
    if (!rc && child) *child = nid;
    return rc;
}

static int nodes_read(store *s, int64_t session, int64_t id, store_node **out, int64_t *n, char *err, size_t errlen) {
    *out = NULL;
    *n = 0;
    /* parents before children: by depth from the roots, then id (a split
     * gives a node a parent with a larger id) */
    sqlite3_stmt *st = store_stmt(s, -1, id ?
        "SELECT n.id, n.session_id, n.parent_id, (SELECT count(*) FROM tokens t WHERE t.node_id = n.id),"
        " n.sampler, n.label, n.created, n.updated FROM nodes n WHERE n.id = ?2" :
        "WITH RECURSIVE tree(id, depth) AS (SELECT id, 0 FROM nodes WHERE session_id = ?1 AND parent_id IS NULL"
        " UNION ALL SELECT n.id, tree.depth + 1 FROM nodes n JOIN tree ON n.parent_id = tree.id)"
        " SELECT n.id, n.session_id, n.parent_id, (SELECT count(*) FROM tokens t WHERE t.node_id = n.id),"
        " n.sampler, n.label, n.created, n.updated FROM tree JOIN nodes n ON n.id = tree.id"
        " ORDER BY tree.depth, n.id", err, errlen);
    if (!st) return STORE_EIO;
    sqlite3_bind_int64(st, 1, session);
    sqlite3_bind_int64(st, 2, id);
    store_pack p = { .esz = sizeof(store_node) };
    int rc;
    while ((rc = step_row(s, st, "reading nodes", err, errlen)) == 1) {
        store_node *e = store_pack_item(&p);
        if (!e) break;
        size_t len;
        const char *t;
        e->id = sqlite3_column_int64(st, 0);
        e->session = sqlite3_column_int64(st, 1);
        e->parent = sqlite3_column_int64(st, 2);
        e->n_tok = sqlite3_column_int64(st, 3);
        t = col_text(st, 4, &len); store_pack_str(&p, &e->sampler, t, len);
        t = col_text(st, 5, &len); store_pack_str(&p, &e->label, t, len);
        e->created = sqlite3_column_double(st, 6);
        e->updated = sqlite3_column_double(st, 7);
    }
    sqlite3_finalize(st);
    if (rc < 0) { store_pack_free(&p); return rc; }
    static const size_t f[] = { offsetof(store_node, sampler), offsetof(store_node, label) };
    bool any = p.n > 0 || p.oom;
    *out = store_pack_done(&p, f, 2, n);
    if (any && !*out) return store_fail(s, STORE_ENOMEM, err, errlen, "out of memory");
    return STORE_OK;
}

int store_node_get(store *s, int64_t id, store_node **out, char *err, size_t errlen) {
    int64_t n;
    int rc = nodes_read(s, 0, id, out, &n, err, errlen);
    if (!rc && n == 0) rc = store_fail(s, STORE_ENOTFOUND, err, errlen, "no node %lld", (long long)id);
    return rc;
}

int store_node_list(store *s, int64_t session, store_node **out, int64_t *n, char *err, size_t errlen) {
    return nodes_read(s, session, 0, out, n, err, errlen);
}
