/* store_query: read-only SQL for plugins (lab.store.query) and tools.
 *
 * Invariant: a store_query holds a statement that cannot change anything.
 * Two guards: an authorizer, installed only while the statement is
 * prepared, allows nothing but reading tables, calling functions and a list
 * of read-only pragmas (so ATTACH, BEGIN/COMMIT/ROLLBACK, which SQLite counts
 * as "read-only", are refused too: they would create files or end the
 * save-as-you-go transaction); then sqlite3_stmt_readonly must agree.
 * Functions are allowed by name from a list (the core, date, math, JSON
 * and window functions): SQLite libraries ship others that must never be
 * reachable from a plugin, fts3_tokenizer() above all (it reads and writes
 * raw function pointers), and a list stays safe when a new SQLite adds one.
 * Tables are read only when they are ordinary tables (store.c refuses a
 * database holding virtual tables, views or triggers) or one of the
 * eponymous virtual tables listed below.
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

/* SQL functions a query may call: side-effect free, bounded by SQLite's
 * own length limit. Not here on purpose: fts3_tokenizer, load_extension,
 * the FTS/R-tree helpers, sqlite_offset and anything added later. */
static bool function_ok(const char *name) {
    static const char *const fns[] = {
        /* core scalar */
        "abs", "char", "coalesce", "concat", "concat_ws", "format", "glob", "hex", "ifnull", "iif", "instr",
        "length", "like", "likelihood", "likely", "lower", "ltrim", "max", "min", "nullif", "octet_length",
        "printf", "quote", "random", "replace", "round", "rtrim", "sign", "substr", "substring", "trim",
        "typeof", "unhex", "unicode", "unlikely", "upper", "zeroblob", "randomblob", "soundex",
        "sqlite_version", "changes", "total_changes", "last_insert_rowid",
        /* aggregate and window */
        "avg", "count", "group_concat", "string_agg", "sum", "total", "row_number", "rank", "dense_rank",
        "percent_rank", "cume_dist", "ntile", "lag", "lead", "first_value", "last_value", "nth_value",
        /* date and time */
        "date", "time", "datetime", "julianday", "unixepoch", "strftime", "timediff",
        /* math */
        "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "ceiling", "cos", "cosh", "degrees",
        "exp", "floor", "ln", "log", "log10", "log2", "mod", "pi", "pow", "power", "radians", "sin", "sinh",
        "sqrt", "tan", "tanh", "trunc",
        /* JSON */
        "json", "json_array", "json_array_length", "json_extract", "json_insert", "json_object", "json_patch",
        "json_remove", "json_replace", "json_set", "json_type", "json_valid", "json_quote", "json_group_array",
        "json_group_object", "->", "->>", "jsonb", "jsonb_array", "jsonb_extract", "jsonb_insert",
        "jsonb_object", "jsonb_patch", "jsonb_remove", "jsonb_replace", "jsonb_set", "jsonb_group_array",
        "jsonb_group_object", "json_error_position", "json_pretty",
        NULL };
    if (!name) return false;
    for (const char *const *f = fns; *f; f++)
        if (sqlite3_stricmp(name, *f) == 0) return true;
    return false;
}

/* Tables SQLite makes up on the fly that a query may read: JSON walkers
 * and the table-valued forms of the pragmas allowed above. */
static bool eponymous_ok(const char *table) {
    static const char *const tabs[] = { "json_each", "json_tree", "jsonb_each", "jsonb_tree", NULL };
    if (!table) return false;
    for (const char *const *t = tabs; *t; t++)
        if (sqlite3_stricmp(table, *t) == 0) return true;
    static const char *const checks[] = { "foreign_key_check", "integrity_check", "quick_check", NULL };
    if (sqlite3_strnicmp(table, "pragma_", 7) == 0) return pragma_ok(table + 7, NULL) || in_list(table + 7, checks);
    return false;
}

/* The ordinary tables of the main schema, read just before the statement
 * is prepared: the authorizer lets a query read these, SQLite's own schema
 * table and the eponymous tables above, and nothing else. */
typedef struct tables {
    char *names;        /* NUL-separated, sqlite3_malloc'ed */
    size_t len;
    char denied[96];    /* what the authorizer refused last, for the message */
} tables;

static int tables_load(store *s, tables *t) {
    t->names = NULL;
    t->len = 0;
    t->denied[0] = 0;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT name FROM main.sqlite_schema WHERE type = 'table' AND "
                                "sql NOT LIKE 'CREATE VIRTUAL%'", -1, &st, NULL);
    if (rc != SQLITE_OK) return rc;
    sqlite3_str *acc = sqlite3_str_new(s->db);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_str_appendall(acc, (const char *)sqlite3_column_text(st, 0));
        sqlite3_str_appendchar(acc, 1, 0);
    }
    sqlite3_finalize(st);
    t->len = (size_t)sqlite3_str_length(acc);
    int e = sqlite3_str_errcode(acc);
    t->names = sqlite3_str_finish(acc);
    if (rc == SQLITE_DONE && e != SQLITE_OK) rc = e;
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static bool table_ok(const tables *t, const char *name) {
    if (!name) return false;
    if (sqlite3_stricmp(name, "sqlite_schema") == 0 || sqlite3_stricmp(name, "sqlite_master") == 0) return true;
    for (size_t i = 0; t->names && i < t->len; i += strlen(t->names + i) + 1)
        if (sqlite3_stricmp(name, t->names + i) == 0) return true;
    return eponymous_ok(name);
}

static int authorize(void *ud, int action, const char *a, const char *b, const char *db, const char *trigger) {
    (void)trigger;
    switch (action) {
    case SQLITE_SELECT: case SQLITE_RECURSIVE:
        return SQLITE_OK;
    case SQLITE_FUNCTION:
        if (function_ok(b)) return SQLITE_OK;
        sqlite3_snprintf(sizeof ((tables *)ud)->denied, ((tables *)ud)->denied, "the SQL function %s()", b ? b : "?");
        return SQLITE_DENY;
    case SQLITE_READ:
        if ((!db || sqlite3_stricmp(db, "main") == 0) && table_ok(ud, a)) return SQLITE_OK;
        sqlite3_snprintf(sizeof ((tables *)ud)->denied, ((tables *)ud)->denied, "the table %s", a ? a : "?");
        return SQLITE_DENY;
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
    tables tabs;
    int rc = tables_load(s, &tabs);
    if (rc != SQLITE_OK) {
        sqlite3_free(tabs.names);
        return store_dberr(s, rc, "query: reading the schema", err, errlen);
    }
    sqlite3_set_authorizer(s->db, authorize, &tabs);
    rc = sqlite3_prepare_v2(s->db, sql, -1, &st, &tail);
    if (rc == SQLITE_OK && tail && *tail) rc = sqlite3_prepare_v2(s->db, tail, -1, &more, NULL);
    sqlite3_set_authorizer(s->db, NULL, NULL);
    sqlite3_free(tabs.names);
    int out_rc = STORE_OK;
    if (tabs.denied[0])
        out_rc = store_fail(s, STORE_EREADONLY, err, errlen, "query: %s is not available here (queries may read "
                            "the workspace's tables with the core, date, math, JSON and window functions)",
                            tabs.denied);
    else if ((rc & 0xff) == SQLITE_AUTH) out_rc = refuse(s, err, errlen);
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
