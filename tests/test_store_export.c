/* store_export: JSON Lines (every line parses, fields and values exact,
 * record data embedded as JSON, hand-edited non-JSON kept as a string) and
 * CSV (RFC 4180: header, 8 fields a row, CRLF, quoting of commas, quotes and
 * newlines read back by an independent parser), one run or all, unknown
 * runs and unwritable output. */
#include "check.h"
#include "json.h"
#include "store.h"

#include <math.h>
#include <sqlite3.h>

static char err[512];

/* Exports into a new NUL-terminated buffer. */
static char *export_str(store *s, int fmt, int64_t run, int *rc) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    *rc = store_export(s, f, fmt, run, err, sizeof err);
    fclose(f);
    return buf;
}

/* ---- an RFC 4180 reader, written from the RFC for this test ---------------- */

typedef struct csv { char *field[64][8]; int nf[64]; int rows; bool crlf; } csv;

static bool csv_parse(const char *p, csv *c) {
    memset(c, 0, sizeof *c);
    c->crlf = true;
    while (*p && c->rows < 64) {
        int r = c->rows, k = 0;
        for (;;) {
            char *out = malloc(strlen(p) + 1), *o = out;
            if (*p == '"') {
                for (p++;; p++) {
                    if (!*p) { free(out); return false; }
                    if (*p == '"') { if (p[1] == '"') { *o++ = '"'; p++; continue; } p++; break; }
                    *o++ = *p;
                }
            } else {
                while (*p && *p != ',' && *p != '\r' && *p != '\n') *o++ = *p++;
            }
            *o = 0;
            if (k < 8) c->field[r][k] = out; else free(out);
            k++;
            if (*p == ',') { p++; continue; }
            if (*p == '\r' && p[1] == '\n') { p += 2; break; }
            if (*p == '\n') { c->crlf = false; p++; break; }
            if (!*p) { c->crlf = false; break; }
            return false;
        }
        c->nf[r] = k;
        c->rows++;
    }
    return true;
}

static void csv_free(csv *c) {
    for (int r = 0; r < c->rows; r++)
        for (int k = 0; k < 8; k++) free(c->field[r][k]);
}

/* ---- the checks ---------------------------------------------------------------- */

static const char TRICKY[] = "{\"s\":\"comma, \\\"quote\\\", newline\\n, tab\\t, \\u00e9\",\"n\":-1.5e-7}";

static void fill(store *s, int64_t *r1, int64_t *r2) {
    const char *models[] = { "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d" };
    store_run_info in = { .plugin = "scan, \"quoted\"", .params = "{\n  \"temps\": [0.5, 1.0]\n}", .seed = 7,
                          .has_seed = true, .models = models, .n_models = 1 };
    store_run_begin(s, &in, r1, err, sizeof err);
    store_record_add(s, *r1, "sample", TRICKY, NULL, err, sizeof err);
    store_record_add(s, *r1, "sample", "[1, 2,\n 3]", NULL, err, sizeof err);
    store_metric_set(s, *r1, "loss", 0, 0.1, err, sizeof err);
    store_metric_set(s, *r1, "loss", 1, 1.0 / 3.0, err, sizeof err);
    store_metric_set(s, *r1, "big", 0, 1e300, err, sizeof err);
    store_metric_set(s, *r1, "nan", 0, NAN, err, sizeof err);
    store_run_end(s, *r1, "ok", NULL, err, sizeof err);
    store_run_info in2 = { .plugin = "other" };
    store_run_begin(s, &in2, r2, err, sizeof err);
    store_run_end(s, *r2, "failed", "it broke, \"badly\"", err, sizeof err);
    store_record_add(s, 0, "note", "\"no run\"", NULL, err, sizeof err);
}

static void test_jsonl(store *s, int64_t r1) {
    int rc;
    char *out = export_str(s, STORE_JSONL, 0, &rc);
    CHECK(rc == 0 && out, "jsonl export (%s)", err);
    if (!out) return;
    int lines = 0, runs = 0, recs = 0, mets = 0, bad = 0;
    bool tricky = false, loss = false, nan_null = false, norun = false, params = false, plugin = false, big = false;
    for (char *line = out, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl) { bad++; break; }
        *nl = 0;
        lines++;
        json_doc *d = json_parse(line, strlen(line), err, sizeof err);
        if (!d) { bad++; fprintf(stderr, "bad line: %s (%s)\n", line, err); continue; }
        json *o = json_root(d);
        const char *type = json_str(json_get(o, "type"), "");
        if (strcmp(type, "run") == 0) {
            runs++;
            if (json_num(json_get(o, "run"), 0) == (double)r1) {
                json *p = json_get(json_get(o, "params"), "temps");
                params = p && p->n == 2 && json_num(json_at(p, 1), 0) == 1.0 && json_num(json_get(o, "seed"), 0) == 7 &&
                         json_get(o, "models")->n == 1 && strcmp(json_str(json_get(o, "status"), ""), "ok") == 0;
                plugin = strcmp(json_str(json_get(o, "plugin"), ""), "scan, \"quoted\"") == 0;
            }
        } else if (strcmp(type, "record") == 0) {
            recs++;
            json *dt = json_get(o, "data");
            if (dt && dt->type == JSON_OBJ)
                tricky |= strcmp(json_str(json_get(dt, "s"), ""), "comma, \"quote\", newline\n, tab\t, \xc3\xa9") == 0 &&
                          json_num(json_get(dt, "n"), 0) == -1.5e-7;
            if (json_get(o, "run")->type == JSON_NULL) norun = dt && dt->type == JSON_STR && strcmp(dt->str, "no run") == 0;
        } else if (strcmp(type, "metric") == 0) {
            mets++;
            const char *name = json_str(json_get(o, "name"), "");
            json *v = json_get(o, "value");
            if (strcmp(name, "loss") == 0 && json_num(json_get(o, "step"), -1) == 1) loss = json_num(v, 0) == 1.0 / 3.0;
            if (strcmp(name, "big") == 0) big = json_num(v, 0) == 1e300;
            if (strcmp(name, "nan") == 0) nan_null = v && v->type == JSON_NULL;
        }
        json_free(d);
    }
    CHECK(bad == 0 && lines == 2 + 3 + 4 && runs == 2 && recs == 3 && mets == 4, "jsonl: %d lines (%d runs, %d records, "
          "%d metrics), %d bad", lines, runs, recs, mets, bad);
    CHECK(params && plugin, "run lines carry params (minified), seed, models, status, plugin");
    CHECK(tricky, "record data embedded as JSON, strings intact");
    CHECK(loss && big, "metric values exact (1/3, 1e300)");
    CHECK(nan_null, "a NaN metric is null");
    CHECK(norun, "records of no run come last with run null");
    free(out);

    out = export_str(s, STORE_JSONL, r1, &rc);
    int n = 0;
    for (char *p = out; p && *p; p++) n += *p == '\n';
    CHECK(rc == 0 && n == 1 + 2 + 4 && !strstr(out, "\"other\""), "--run keeps one run (%d lines)", n);
    free(out);
}

static void test_csv(store *s) {
    int rc;
    char *out = export_str(s, STORE_CSV, 0, &rc);
    csv c;
    bool ok = rc == 0 && out && csv_parse(out, &c);
    CHECK(ok, "csv export parses (%s)", err);
    if (!ok) { free(out); return; }
    CHECK(c.crlf, "CRLF line ends");
    CHECK(c.rows == 1 + 2 + 3 + 4 && c.nf[0] == 8 && strcmp(c.field[0][0], "type") == 0 && strcmp(c.field[0][7], "data") == 0,
          "header and %d rows", c.rows);
    int eight = 0, tricky = 0, plugin = 0, error = 0, loss = 0;
    for (int r = 0; r < c.rows; r++) {
        eight += c.nf[r] == 8;
        if (c.nf[r] != 8) continue;
        const char *type = c.field[r][0], *data = c.field[r][7];
        if (strcmp(type, "record") == 0 && strcmp(c.field[r][3], "sample") == 0) {
            json_doc *d = json_parse(data, strlen(data), err, sizeof err);
            if (d && strcmp(json_str(json_get(json_root(d), "s"), ""), "comma, \"quote\", newline\n, tab\t, \xc3\xa9") == 0)
                tricky++;
            json_free(d);
        }
        if (strcmp(type, "run") == 0 && strcmp(c.field[r][3], "scan, \"quoted\"") == 0) plugin++;
        if (strcmp(type, "run") == 0 && strstr(data, "\"error\":\"it broke, \\\"badly\\\"\"")) error++;
        if (strcmp(type, "metric") == 0 && strcmp(c.field[r][3], "loss") == 0 && strcmp(c.field[r][4], "1") == 0)
            loss = strtod(c.field[r][5], NULL) == 1.0 / 3.0 && c.field[r][2][0] == 0 && c.field[r][7][0] == 0;
    }
    CHECK(eight == c.rows, "8 fields in every row (%d of %d)", eight, c.rows);
    CHECK(tricky == 1 && plugin == 1 && error == 1, "quoted fields read back (%d %d %d)", tricky, plugin, error);
    CHECK(loss, "metric rows: name, step, exact value, no id or data");
    csv_free(&c);
    free(out);
}

int main(void) {
    char dir[] = "/tmp/logitlab-export.XXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    store *s = NULL;
    if (store_open(&s, dir, NULL, err, sizeof err)) { CHECK(0, "open: %s", err); return check_done(); }
    int64_t r1 = 0, r2 = 0;
    fill(s, &r1, &r2);
    test_jsonl(s, r1);
    test_csv(s);
    CHECK(store_export_format("jsonl") == STORE_JSONL && store_export_format("csv") == STORE_CSV &&
          store_export_format("xml") == -1, "format names");
    int rc;
    free(export_str(s, STORE_CSV, 999, &rc));
    CHECK(rc == STORE_ENOTFOUND && strstr(err, "no run 999"), "unknown run: %s", err);
    FILE *full = fopen("/dev/full", "w");
    if (full) {
        rc = store_export(s, full, STORE_JSONL, 0, err, sizeof err);
        CHECK(rc == STORE_EIO, "an unwritable output is an error (%d)", rc);
        fclose(full);
    }
    /* a row edited by hand into something that is not JSON still exports as JSON */
    store_close(s);
    char db[600];
    snprintf(db, sizeof db, "%s/logitlab.db", dir);
    sqlite3 *raw;
    sqlite3_open(db, &raw);
    sqlite3_exec(raw, "PRAGMA ignore_check_constraints = 1; UPDATE records SET data = 'not {json' WHERE kind = 'note'",
                 NULL, NULL, NULL);
    sqlite3_close(raw);
    store_opts o;
    store_opts_default(&o);
    o.flags = STORE_RDONLY;
    if (store_open(&s, dir, &o, err, sizeof err) == 0) {
        char *out = export_str(s, STORE_JSONL, 0, &rc);
        CHECK(rc == 0 && strstr(out, "\"data\":\"not {json\"}"), "non-JSON data becomes a JSON string");
        free(out);
        store_close(s);
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
    return check_done();
}
