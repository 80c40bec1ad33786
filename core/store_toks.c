/* store_toks: the tokens of branch-tree nodes, appended as they are accepted
 * and read back per node or along a path from the root.
 *
 * Row layout (table tokens): (node_id, i) -> tok, logprob, topk, t. topk is
 * JSON [[tok, logprob], ...] most likely first, so that sqlite3 and pandas
 * can read it; floats are written with 9 significant digits (a float reads
 * back bit-exact) in the C locale. A store_toks result is one block:
 * the struct, then t, logprob, tok, n_top, top_tok, top_logprob.
 */
#include "store_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes [[tok,lp],...] into out (cap >= n * TOPK_BYTES + 3). */
#define TOPK_BYTES 40
static size_t topk_format(char *out, size_t cap, const int32_t *tok, const float *lp, int32_t n) {
    size_t o = 0;
    out[o++] = '[';
    for (int32_t j = 0; j < n; j++) {
        double v = lp[j];
        int k = isfinite(v) ? snprintf(out + o, cap - o, "%s[%d,%.9g]", j ? "," : "", (int)tok[j], v)
                            : snprintf(out + o, cap - o, "%s[%d,null]", j ? "," : "", (int)tok[j]);
        o += (size_t)k;
    }
    out[o++] = ']';
    out[o] = 0;
    return o;
}

static const char *ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

/* Parses [[tok, logprob|null], ...]; keeps the first cap pairs. Returns the
 * number kept, or -1 when the text has another shape. */
static int32_t topk_parse(const char *p, int32_t *tok, float *lp, int32_t cap) {
    int32_t n = 0;
    p = ws(p);
    if (*p++ != '[') return -1;
    p = ws(p);
    if (*p == ']') return 0;
    for (;;) {
        char *e;
        if (*p++ != '[') return -1;
        long id = strtol(p, &e, 10);
        if (e == p || id < INT32_MIN || id > INT32_MAX) return -1;
        p = ws(e);
        if (*p++ != ',') return -1;
        p = ws(p);
        float v;
        if (strncmp(p, "null", 4) == 0) {
            v = NAN;
            p += 4;
        } else {
            v = strtof(p, &e);
            if (e == p) return -1;
            p = e;
        }
        p = ws(p);
        if (*p++ != ']') return -1;
        if (n < cap) { tok[n] = (int32_t)id; lp[n] = v; n++; }
        p = ws(p);
        if (*p == ']') return n;
        if (*p++ != ',') return -1;
        p = ws(p);
    }
}

static int check_toks(const store *s, const store_toks *t, char *err, size_t errlen) {
    if (!t || t->n < 0 || (t->n && !t->tok))
        return store_fail(s, STORE_EINVAL, err, errlen, "tokens: no token ids");
    if (!t->top_tok) return STORE_OK;
    if (!t->top_logprob || t->k < 0 || t->k > STORE_MAX_TOP)
        return store_fail(s, STORE_EINVAL, err, errlen, "tokens: alternatives need ids and log-probabilities, "
                          "at most %d a token", STORE_MAX_TOP);
    for (int64_t i = 0; t->n_top && i < t->n; i++)
        if (t->n_top[i] < 0 || t->n_top[i] > t->k)
            return store_fail(s, STORE_EINVAL, err, errlen, "tokens: token %lld has %d alternatives (k is %d)",
                              (long long)i, t->n_top[i], t->k);
    return STORE_OK;
}

static int insert_toks(store *s, int64_t node, const store_toks *t, char *err, size_t errlen) {
    sqlite3_stmt *st = store_stmt(s, ST_TOK_NEXT,
        "SELECT EXISTS (SELECT 1 FROM nodes WHERE id = ?1),"
        " coalesce((SELECT max(i) + 1 FROM tokens WHERE node_id = ?1), 0)", err, errlen);
    if (!st) return STORE_EIO;
    sqlite3_bind_int64(st, 1, node);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) return store_dberr(s, rc, "appending tokens", err, errlen);
    bool found = sqlite3_column_int(st, 0);
    int64_t next = sqlite3_column_int64(st, 1);
    sqlite3_reset(st);
    if (!found) return store_fail(s, STORE_ENOTFOUND, err, errlen, "no node %lld", (long long)node);
    char *buf = t->top_tok ? store_scratch(s, (size_t)t->k * TOPK_BYTES + 3) : NULL;
    if (t->top_tok && !buf) return store_fail(s, STORE_ENOMEM, err, errlen, "out of memory");
    double now = store_time();
    st = store_stmt(s, ST_TOK_INSERT, "INSERT INTO tokens(node_id, i, tok, logprob, topk, t) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    err, errlen);
    if (!st) return STORE_EIO;
    for (int64_t i = 0; i < t->n; i++) {
        sqlite3_bind_int64(st, 1, node);
        sqlite3_bind_int64(st, 2, next + i);
        sqlite3_bind_int(st, 3, t->tok[i]);
        if (t->logprob && !isnan(t->logprob[i])) sqlite3_bind_double(st, 4, t->logprob[i]);
        else sqlite3_bind_null(st, 4);
        if (buf) {
            int32_t m = t->n_top ? t->n_top[i] : t->k;
            size_t len = topk_format(buf, (size_t)t->k * TOPK_BYTES + 3, t->top_tok + i * t->k,
                                     t->top_logprob + i * t->k, m);
            sqlite3_bind_text(st, 5, buf, (int)len, SQLITE_STATIC);
        } else {
            sqlite3_bind_null(st, 5);
        }
        sqlite3_bind_double(st, 6, t->t && t->t[i] > 0 ? t->t[i] : now);
        if ((rc = store_step_done(s, st, "appending tokens", err, errlen))) return rc;
    }
    st = store_stmt(s, ST_NODE_TOUCH, "UPDATE nodes SET updated = ?2 WHERE id = ?1", err, errlen);
    if (!st) return STORE_EIO;
    sqlite3_bind_int64(st, 1, node);
    sqlite3_bind_double(st, 2, now);
    return store_step_done(s, st, "appending tokens", err, errlen);
}

int store_toks_add(store *s, int64_t node, const store_toks *t, char *err, size_t errlen) {
    int rc = check_toks(s, t, err, errlen);
    if (rc) return rc;
    if ((rc = store_wr_begin(s, err, errlen))) return rc;
    locale_t c = store_c_locale(), old = c ? uselocale(c) : (locale_t)0;
    rc = insert_toks(s, node, t, err, errlen);
    if (c) uselocale(old);
    return store_wr_end(s, rc, err, errlen);
}

int store_tok_add(store *s, int64_t node, int32_t tok, float logprob, int32_t n_top,
                  const int32_t *top_tok, const float *top_lp, char *err, size_t errlen) {
    store_toks t = { .n = 1, .k = n_top, .tok = &tok, .logprob = &logprob };
    if (n_top > 0) {
        t.top_tok = (int32_t *)top_tok;
        t.top_logprob = (float *)top_lp;
        if (!top_tok || !top_lp) return store_fail(s, STORE_EINVAL, err, errlen, "tokens: %d alternatives but no arrays", n_top);
    } else if (n_top < 0) {
        return store_fail(s, STORE_EINVAL, err, errlen, "tokens: %d alternatives", n_top);
    }
    return store_toks_add(s, node, &t, err, errlen);
}

/* ---- reading ---------------------------------------------------------------- */

/* A zeroed store_toks block for n tokens of k alternatives, arrays set. */
static store_toks *toks_alloc(int64_t n, int32_t k) {
    size_t nn = (size_t)n, kk = (size_t)k;
    size_t head = (sizeof(store_toks) + 15) & ~(size_t)15;
    size_t size = head + nn * (sizeof(double) + sizeof(float) + 2 * sizeof(int32_t)) +
                  nn * kk * (sizeof(int32_t) + sizeof(float));
    char *b = sqlite3_malloc64(size ? size : 1);
    if (!b) return NULL;
    memset(b, 0, size);
    store_toks *t = (store_toks *)b;
    char *p = b + head;
    t->n = n;
    t->k = k;
    t->t = (double *)p;            p += nn * sizeof(double);
    t->logprob = (float *)p;       p += nn * sizeof(float);
    t->tok = (int32_t *)p;         p += nn * sizeof(int32_t);
    t->n_top = (int32_t *)p;       p += nn * sizeof(int32_t);
    t->top_tok = (int32_t *)p;     p += nn * kk * sizeof(int32_t);
    t->top_logprob = (float *)p;
    return t;
}

/* Runs the count statement (exists, n, k) and the rows statement (tok,
 * logprob, topk, t) for node, both bound with ?1 = node. */
static int toks_read(store *s, int64_t node, const char *count_sql, const char *rows_sql, store_toks **out,
                     char *err, size_t errlen) {
    *out = NULL;
    sqlite3_stmt *st = store_stmt(s, -1, count_sql, err, errlen);
    if (!st) return STORE_EIO;
    sqlite3_bind_int64(st, 1, node);
    int rc = sqlite3_step(st);
    bool found = rc == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0;
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
    int64_t k = rc == SQLITE_ROW ? sqlite3_column_int64(st, 2) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) return store_dberr(s, rc, "reading tokens", err, errlen);
    if (!found) return store_fail(s, STORE_ENOTFOUND, err, errlen, "no node %lld", (long long)node);
    if (k > STORE_MAX_TOP) k = STORE_MAX_TOP;
    if (n > ((int64_t)1 << 40) / (k + 4)) return store_fail(s, STORE_ENOMEM, err, errlen, "too many tokens (%lld)", (long long)n);
    store_toks *t = toks_alloc(n, (int32_t)k);
    if (!t) return store_fail(s, STORE_ENOMEM, err, errlen, "out of memory reading %lld tokens", (long long)n);
    st = store_stmt(s, -1, rows_sql, err, errlen);
    if (!st) { sqlite3_free(t); return STORE_EIO; }
    sqlite3_bind_int64(st, 1, node);
    locale_t c = store_c_locale(), old = c ? uselocale(c) : (locale_t)0;
    int64_t i = 0;
    rc = STORE_OK;
    int r = SQLITE_DONE;
    while (i < n && (r = sqlite3_step(st)) == SQLITE_ROW) {
        t->tok[i] = sqlite3_column_int(st, 0);
        t->logprob[i] = sqlite3_column_type(st, 1) == SQLITE_NULL ? NAN : (float)sqlite3_column_double(st, 1);
        const char *topk = (const char *)sqlite3_column_text(st, 2);
        int32_t m = topk ? topk_parse(topk, t->top_tok + i * k, t->top_logprob + i * k, (int32_t)k) : 0;
        if (m < 0) {
            rc = store_fail(s, STORE_ECORRUPT, err, errlen, "token %lld read for node %lld: topk is not "
                            "[[tok, logprob], ...]", (long long)i, (long long)node);
            break;
        }
        t->n_top[i] = m;
        t->t[i] = sqlite3_column_double(st, 3);
        i++;
    }
    if (!rc && i < n && r != SQLITE_DONE) rc = store_dberr(s, r, "reading tokens", err, errlen);
    if (c) uselocale(old);
    sqlite3_finalize(st);
    if (rc) { sqlite3_free(t); return rc; }
    t->n = i;   /* a read-only store may see fewer rows if a writer rewrote them between the statements */
    *out = t;
    return STORE_OK;
}

int store_toks_get(store *s, int64_t node, store_toks **out, char *err, size_t errlen) {
    return toks_read(s, node,
        "SELECT EXISTS (SELECT 1 FROM nodes WHERE id = ?1), count(*), coalesce(max(json_array_length(topk)), 0)"
        " FROM tokens WHERE node_id = ?1",
        "SELECT tok, logprob, topk, t FROM tokens WHERE node_id = ?1 ORDER BY i", out, err, errlen);
}

/* The path from node up to its root; the depth bound stops a cycle made by
 * hand-edited rows. */
#define UP "WITH RECURSIVE up(id, depth) AS (SELECT id, 0 FROM nodes WHERE id = ?1" \
    " UNION ALL SELECT n.parent_id, up.depth + 1 FROM nodes n JOIN up ON n.id = up.id" \
    " WHERE n.parent_id IS NOT NULL AND up.depth < 100000000) "

int store_path_get(store *s, int64_t node, store_toks **out, char *err, size_t errlen) {
    return toks_read(s, node,
        UP "SELECT (SELECT count(*) FROM up), count(*), coalesce(max(json_array_length(t.topk)), 0)"
        " FROM up JOIN tokens t ON t.node_id = up.id",
        UP "SELECT t.tok, t.logprob, t.topk, t.t FROM up JOIN tokens t ON t.node_id = up.id"
        " ORDER BY up.depth DESC, t.i", out, err, errlen);
}
