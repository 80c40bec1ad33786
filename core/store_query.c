/* store_query: read-only SQL for plugins (lab.store.query) and tools.
 *
 * Invariant: a store_query holds a statement that cannot change anything.
 * Two guards: an authorizer, installed only while the statement is
 * prepared, allows nothing but reading tables, calling functions and a list
 * of read-only pragmas (so ATTACH, BEGIN/COMMIT/ROLLBACK, which SQLite counts
 * as "read-only", are refused too: they would create files or end the
 * save-as-you-go transaction); then sqlite3_stmt_readonly must agree.
 */
#include "store_impl.h"

#include <stdio.h>
#include <string.h>

struct store_query {
    store *s;
    sqlite3_stmt *st;
};

static bool in_list(const char *name, const char *const *list) {
    for (; *list; list++)
        if (strcmp(name, *list) == 0) return true;
    return false;
}

/* Pragmas that only report: those taking a table or index name, and
 * settings read without an argument. */
static bool pragma_ok(const char *name, const char *arg) {
    static const char *const about[] = { "table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
                                         "foreign_key_list", "table_list", NULL };
    static const char *const reads[] = { "user_version", "application_id", "schema_version", "page_count",
                                         "page_size", "freelist_count", "data_version", "journal_mode", "encoding",
                                         "compile_options", "database_list", "collation_list", "function_list",
                                         "pragma_list", "module_list", NULL };
    if (!name) return false;
    return in_list(name, about) || (!arg && in_list(name, reads));
}

static int authorize(void *ud, int action, const char *a, const char *b, const char *db, const char *trigger) {
    (void)ud; (void)db; (void)trigger;
    switch (action) {
    case SQLITE_SELECT: case SQLITE_READ: case SQLITE_FUNCTION: case SQLITE_RECURSIVE:
        return SQLITE_OK;
    case SQLITE_PRAGMA:
        return pragma_ok(a, b) ? SQLITE_OK : SQLITE_DENY;
    case SQLITE_UPDATE:
        /* SQLite asks this about its own schema table when it sets up a
         * table-valued pragma (pragma_table_info); a real UPDATE of it is
         * caught by sqlite3_stmt_readonly */
        return a && strcmp(a, "sqlite_master") == 0 ? SQLITE_OK : SQLITE_DENY;
    default:
        return SQLITE_DENY;
    }
}

static int refuse(store *s, char *err, size_t errlen) {
    return store_fail(s, STORE_EREADONLY, err, errlen, "query: only reading is allowed here (one SELECT or WITH "
                      "statement, or a read-only PRAGMA); plugins write with lab.store.put");
}

int store_query_open(store *s, const char *sql, store_query **out, char *err, size_t errlen) {
    *out = NULL;
    if (!sql) return store_fail(s, STORE_EINVAL, err, errlen, "query: no SQL");
    atomic_store(&s->stop, 0);
    sqlite3_stmt *st = NULL, *more = NULL;
    const char *tail = NULL;
    sqlite3_set_authorizer(s->db, authorize, NULL);
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, &tail);
    if (rc == SQLITE_OK && tail && *tail) rc = sqlite3_prepare_v2(s->db, tail, -1, &more, NULL);
    sqlite3_set_authorizer(s->db, NULL, NULL);
    int out_rc = STORE_OK;
    if ((rc & 0xff) == SQLITE_AUTH) out_rc = refuse(s, err, errlen);
    else if ((rc & 0xff) == SQLITE_NOMEM) out_rc = store_fail(s, STORE_ENOMEM, err, errlen, "query: out of memory");
    else if (rc != SQLITE_OK) out_rc = store_fail(s, STORE_EINVAL, err, errlen, "query: %s", sqlite3_errmsg(s->db));
    else if (!st) out_rc = store_fail(s, STORE_EINVAL, err, errlen, "query: no statement in the SQL");
    else if (more) out_rc = store_fail(s, STORE_EINVAL, err, errlen, "query: one statement at a time");
    else if (!sqlite3_stmt_readonly(st)) out_rc = refuse(s, err, errlen);
    sqlite3_finalize(more);
    store_query *q = out_rc ? NULL : sqlite3_malloc64(sizeof *q);
    if (!out_rc && !q) out_rc = store_fail(s, STORE_ENOMEM, err, errlen, "query: out of memory");
    if (out_rc) {
        sqlite3_finalize(st);
        return out_rc;
    }
    q->s = s;
    q->st = st;
    *out = q;
    return STORE_OK;
}

void store_query_close(store_query *q) {
    if (!q) return;
    sqlite3_finalize(q->st);
    sqlite3_free(q);
}

int store_query_nparams(const store_query *q) { return sqlite3_bind_parameter_count(q->st); }

int store_query_param(const store_query *q, const char *name) {
    if (!name || !*name) return 0;
    if (name[0] == ':' || name[0] == '@' || name[0] == '$') return sqlite3_bind_parameter_index(q->st, name);
    char buf[256];
    static const char prefix[] = ":@$";
    for (int i = 0; i < 3; i++) {
        int k = snprintf(buf, sizeof buf, "%c%s", prefix[i], name);
        if (k < 0 || (size_t)k >= sizeof buf) return 0;
        int idx = sqlite3_bind_parameter_index(q->st, buf);
        if (idx) return idx;
    }
    return 0;
}

int store_query_bind(store_query *q, int i, const store_value *v, char *err, size_t errlen) {
    if (!v || i < 1 || i > sqlite3_bind_parameter_count(q->st))
        return store_fail(q->s, STORE_EINVAL, err, errlen, "query: no parameter %d (it has %d)", i,
                          sqlite3_bind_parameter_count(q->st));
    sqlite3_reset(q->st);   /* binding after a step needs a reset */
    int rc;
    switch (v->type) {
    case STORE_NULL: rc = sqlite3_bind_null(q->st, i); break;
    case STORE_INT: rc = sqlite3_bind_int64(q->st, i, v->i); break;
    case STORE_REAL: rc = sqlite3_bind_double(q->st, i, v->r); break;
    case STORE_TEXT: rc = sqlite3_bind_text64(q->st, i, v->s ? v->s : "", v->s ? v->n : 0, SQLITE_TRANSIENT, SQLITE_UTF8); break;
    case STORE_BLOB: rc = sqlite3_bind_blob64(q->st, i, v->s ? v->s : "", v->s ? v->n : 0, SQLITE_TRANSIENT); break;
    default: return store_fail(q->s, STORE_EINVAL, err, errlen, "query: parameter %d has an unknown type", i);
    }
    return rc == SQLITE_OK ? STORE_OK : store_dberr(q->s, rc, "query: binding", err, errlen);
}

int store_query_step(store_query *q, char *err, size_t errlen) {
    q->s->in_query = true;
    int rc = sqlite3_step(q->st);
    q->s->in_query = false;
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    rc = store_dberr(q->s, rc, "query", err, errlen);
    sqlite3_reset(q->st);
    return rc;
}

int store_query_ncols(const store_query *q) { return sqlite3_column_count(q->st); }

const char *store_query_colname(const store_query *q, int col) { return sqlite3_column_name(q->st, col); }

void store_query_get(store_query *q, int col, store_value *out) {
    memset(out, 0, sizeof *out);
    switch (sqlite3_column_type(q->st, col)) {
    case SQLITE_INTEGER:
        out->type = STORE_INT;
        out->i = sqlite3_column_int64(q->st, col);
        break;
    case SQLITE_FLOAT:
        out->type = STORE_REAL;
        out->r = sqlite3_column_double(q->st, col);
        break;
    case SQLITE_TEXT:
        out->type = STORE_TEXT;
        out->s = (const char *)sqlite3_column_text(q->st, col);
        out->n = (size_t)sqlite3_column_bytes(q->st, col);
        if (!out->s) { out->type = STORE_NULL; out->n = 0; }   /* out of memory converting */
        break;
    case SQLITE_BLOB:
        out->type = STORE_BLOB;
        out->s = sqlite3_column_blob(q->st, col);
        out->n = (size_t)sqlite3_column_bytes(q->st, col);
        if (!out->s) out->s = "";
        break;
    default:
        out->type = STORE_NULL;
    }
}

void store_query_reset(store_query *q) { sqlite3_reset(q->st); }
