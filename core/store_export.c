/* store_export: runs, records and metrics as JSON Lines or CSV (formats in
 * store.h and docs/workspaces.md). Reads through the store's public API only.
 *
 * Composite JSON (params, record data, the model list) comes out of SQLite's
 * json()/json_quote()/json_group_array(): minified, one line, and valid
 * even if a row was edited by hand into something that is not JSON (it is
 * then exported as a JSON string). Numbers are written here, as the
 * shortest text that reads back as the same double, in the C locale.
 */
#include "store.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static pthread_once_t locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;
static void make_c_locale(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

int store_export_format(const char *name) {
    if (!name) return -1;
    if (strcmp(name, "jsonl") == 0 || strcmp(name, "ndjson") == 0) return STORE_JSONL;
    if (strcmp(name, "csv") == 0) return STORE_CSV;
    return -1;
}

/* ---- values --------------------------------------------------------------- */

static void put_num(FILE *f, double v, bool json) {
    if (isnan(v)) { fputs(json ? "null" : "", f); return; }
    if (isinf(v)) { fputs(json ? "null" : v > 0 ? "inf" : "-inf", f); return; }
    char buf[40];
    for (int p = 15; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, v);
        if (strtod(buf, NULL) == v) break;
    }
    fputs(buf, f);
}

static void put_jstr(FILE *f, const char *s, size_t n) {
    char small[256];
    size_t need = json_escape(s, n, NULL, 0);
    char *b = need < sizeof small ? small : malloc(need + 1);
    if (!b) { fputs("null", f); return; }   /* out of memory: the field, not the export, is lost */
    json_escape(s, n, b, need + 1);
    fwrite(b, 1, need, f);
    if (b != small) free(b);
}

/* A column as JSON: numbers, strings, null; raw when it is JSON text already. */
static void put_jval(FILE *f, const store_value *v, bool raw) {
    switch (v->type) {
    case STORE_INT: fprintf(f, "%lld", (long long)v->i); break;
    case STORE_REAL: put_num(f, v->r, true); break;
    case STORE_TEXT:
        if (raw) fwrite(v->s, 1, v->n, f);
        else put_jstr(f, v->s, v->n);
        break;
    default: fputs("null", f);
    }
}

/* An RFC 4180 field. */
static void put_csv(FILE *f, const char *s, size_t n) {
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++) quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote) { fwrite(s, 1, n, f); return; }
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

static void put_csv_val(FILE *f, const store_value *v) {
    switch (v->type) {
    case STORE_INT: fprintf(f, "%lld", (long long)v->i); break;
    case STORE_REAL: put_num(f, v->r, false); break;
    case STORE_TEXT: put_csv(f, v->s, v->n); break;
    default: break;
    }
}

/* ---- rows ---------------------------------------------------------------- */

enum { R_ID, R_PLUGIN, R_STATUS, R_STARTED, R_ENDED, R_SEED, R_SESSION, R_ERROR, R_PARAMS, R_MODELS, R_N };
static const char RUNS_SQL[] =
    "SELECT r.id, r.plugin, r.status, r.started, r.ended, r.seed, r.session_id, r.error,"
    " CASE WHEN json_valid(r.params) THEN json(r.params) ELSE json_quote(r.params) END,"
    " (SELECT json_group_array(sha256) FROM (SELECT sha256 FROM run_models m WHERE m.run_id = r.id ORDER BY pos))"
    " FROM runs r WHERE ?1 IS NULL OR r.id = ?1 ORDER BY r.id";
static const char RECORDS_SQL[] =
    "SELECT run_id, id, kind, created, CASE WHEN json_valid(data) THEN json(data) ELSE json_quote(data) END"
    " FROM records WHERE run_id IS ?1 ORDER BY id";
static const char METRICS_SQL[] =
    "SELECT run_id, name, step, value, created FROM metrics WHERE run_id = ?1 ORDER BY name, step";

/* "status":..,"ended":..,"seed":..,"session":..,"models":[..],"params":..,"error":.. */
static void put_run_fields(FILE *f, const store_value *v) {
    static const struct { const char *key; int col; bool raw; } k[] = {
        { "status", R_STATUS, false }, { "ended", R_ENDED, false }, { "seed", R_SEED, false },
        { "session", R_SESSION, false }, { "models", R_MODELS, true }, { "params", R_PARAMS, true },
        { "error", R_ERROR, false },
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        fprintf(f, "%s\"%s\":", i ? "," : "", k[i].key);
        put_jval(f, &v[k[i].col], k[i].raw);
    }
}

static void put_run(FILE *f, int fmt, const store_value *v) {
    if (fmt == STORE_JSONL) {
        fputs("{\"type\":\"run\",\"run\":", f);
        put_jval(f, &v[R_ID], false);
        fputs(",\"plugin\":", f);
        put_jval(f, &v[R_PLUGIN], false);
        fputs(",\"started\":", f);
        put_jval(f, &v[R_STARTED], false);
        fputc(',', f);
        put_run_fields(f, v);
        fputs("}\n", f);
        return;
    }
    char *data = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&data, &n);
    if (m) {
        fputc('{', m);
        put_run_fields(m, v);
        fputc('}', m);
        fclose(m);
    }
    fputs("run,", f);
    put_csv_val(f, &v[R_ID]);
    fputc(',', f);
    put_csv_val(f, &v[R_ID]);
    fputc(',', f);
    put_csv_val(f, &v[R_PLUGIN]);
    fputs(",,,", f);
    put_csv_val(f, &v[R_STARTED]);
    fputc(',', f);
    if (data) put_csv(f, data, n);
    fputs("\r\n", f);
    free(data);
}

/* v: run_id, id, kind, created, data */
static void put_record(FILE *f, int fmt, const store_value *v) {
    if (fmt == STORE_JSONL) {
        fputs("{\"type\":\"record\",\"run\":", f);
        put_jval(f, &v[0], false);
        fputs(",\"id\":", f);
        put_jval(f, &v[1], false);
        fputs(",\"kind\":", f);
        put_jval(f, &v[2], false);
        fputs(",\"time\":", f);
        put_jval(f, &v[3], false);
        fputs(",\"data\":", f);
        put_jval(f, &v[4], true);
        fputs("}\n", f);
        return;
    }
    fputs("record,", f);
    put_csv_val(f, &v[0]); fputc(',', f);
    put_csv_val(f, &v[1]); fputc(',', f);
    put_csv_val(f, &v[2]); fputs(",,,", f);
    put_csv_val(f, &v[3]); fputc(',', f);
    put_csv_val(f, &v[4]);
    fputs("\r\n", f);
}

/* v: run_id, name, step, value, created */
static void put_metric(FILE *f, int fmt, const store_value *v) {
    if (fmt == STORE_JSONL) {
        fputs("{\"type\":\"metric\",\"run\":", f);
        put_jval(f, &v[0], false);
        fputs(",\"name\":", f);
        put_jval(f, &v[1], false);
        fputs(",\"step\":", f);
        put_jval(f, &v[2], false);
        fputs(",\"value\":", f);
        put_jval(f, &v[3], false);
        fputs(",\"time\":", f);
        put_jval(f, &v[4], false);
        fputs("}\n", f);
        return;
    }
    fputs("metric,", f);
    put_csv_val(f, &v[0]); fputs(",,", f);
    put_csv_val(f, &v[1]); fputc(',', f);
    put_csv_val(f, &v[2]); fputc(',', f);
    put_csv_val(f, &v[3]); fputc(',', f);
    put_csv_val(f, &v[4]); fputc(',', f);
    fputs("\r\n", f);
}

/* ---- the export ------------------------------------------------------------ */

typedef void (*put_fn)(FILE *f, int fmt, const store_value *v);

/* Runs q with ?1 = run (0 = NULL) and writes each row with put. */
static int rows(store_query *q, int64_t run, FILE *f, int fmt, put_fn put, char *err, size_t errlen) {
    store_value key = { .type = run ? STORE_INT : STORE_NULL, .i = run }, v[R_N];
    store_query_reset(q);
    int rc = store_query_bind(q, 1, &key, err, errlen);
    int nc = store_query_ncols(q);
    while (!rc && (rc = store_query_step(q, err, errlen)) == 1) {
        for (int i = 0; i < nc && i < R_N; i++) store_query_get(q, i, &v[i]);
        put(f, fmt, v);
        rc = 0;
    }
    return rc;
}

int store_export(store *s, FILE *f, int fmt, int64_t run, char *err, size_t errlen) {
    if (fmt != STORE_JSONL && fmt != STORE_CSV) {
        if (err && errlen) snprintf(err, errlen, "export: unknown format");
        return STORE_EINVAL;
    }
    store_query *runs = NULL, *recs = NULL, *mets = NULL;
    int rc = store_query_open(s, RUNS_SQL, &runs, err, errlen);
    if (!rc) rc = store_query_open(s, RECORDS_SQL, &recs, err, errlen);
    if (!rc) rc = store_query_open(s, METRICS_SQL, &mets, err, errlen);
    pthread_once(&locale_once, make_c_locale);
    locale_t old = c_locale ? uselocale(c_locale) : (locale_t)0;
    if (!rc && fmt == STORE_CSV) fputs("type,run,id,name,step,value,time,data\r\n", f);
    store_value key = { .type = run ? STORE_INT : STORE_NULL, .i = run }, v[R_N];
    if (!rc) rc = store_query_bind(runs, 1, &key, err, errlen);
    int found = 0;
    while (!rc && (rc = store_query_step(runs, err, errlen)) == 1) {
        found++;
        for (int i = 0; i < R_N; i++) store_query_get(runs, i, &v[i]);
        put_run(f, fmt, v);
        int64_t id = v[R_ID].i;   /* v borrows from the runs row: read before the next step */
        rc = rows(recs, id, f, fmt, put_record, err, errlen);
        if (!rc) rc = rows(mets, id, f, fmt, put_metric, err, errlen);
    }
    if (!rc && run && !found) {
        if (err && errlen) snprintf(err, errlen, "%s: no run %lld", store_dir(s), (long long)run);
        rc = STORE_ENOTFOUND;
    }
    if (!rc && !run) rc = rows(recs, 0, f, fmt, put_record, err, errlen);   /* records of no run */
    if (c_locale) uselocale(old);
    store_query_close(runs);
    store_query_close(recs);
    store_query_close(mets);
    errno = 0;   /* set by a failing fflush; a stream that failed earlier keeps only ferror */
    if (!rc && (fflush(f) != 0 || ferror(f))) {
        if (err && errlen)
            snprintf(err, errlen, "cannot write the output%s%s", errno ? ": " : "", errno ? strerror(errno) : "");
        rc = STORE_EIO;
    }
    return rc;
}
