/* gram_src: the ways into a grammar other than GBNF text (see gram.h):
 * a list of choices, the CLI's and the workbench's option (a file of GBNF
 * or JSON Schema, a regex, choices), and the GBNF writer (gram_buf) that the
 * schema and regex compilers and the choices write their GBNF with. Each
 * ends in gram_parse (gram.c), the one compiler of GBNF to the byte-level
 * form. */
#include "gram.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "utf8.h"

#define GRAM_MAX_FILE ((size_t)64 << 20)   /* a grammar or schema read from a pipe: at most 64 MiB */

/* ---- GBNF writing helpers ------------------------------------------------------ */

void gram_buf_add(gram_buf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) { b->oom = true; return; }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

void gram_buf_puts(gram_buf *b, const char *s) { gram_buf_add(b, s, strlen(s)); }

void gram_buf_printf(gram_buf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if ((size_t)k < sizeof tmp) { gram_buf_add(b, tmp, (size_t)k); return; }
    char *big = malloc((size_t)k + 1);
    if (!big) { b->oom = true; return; }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)k + 1, fmt, ap);
    va_end(ap);
    gram_buf_add(b, big, (size_t)k);
    free(big);
}

void gram_buf_literal(gram_buf *b, const char *s, size_t n) {
    gram_buf_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') { char e[2] = { '\\', (char)c }; gram_buf_add(b, e, 2); }
        else if (c == '\n') gram_buf_add(b, "\\n", 2);
        else if (c == '\r') gram_buf_add(b, "\\r", 2);
        else if (c == '\t') gram_buf_add(b, "\\t", 2);
        else if (c < 0x20 || c == 0x7F) gram_buf_printf(b, "\\x%02X", c);
        else gram_buf_add(b, (const char *)&c, 1);
    }
    gram_buf_add(b, "\"", 1);
}

int gram_from_choices(gram **out, const char *const *choices, int32_t n, char *err, size_t errlen) {
    *out = NULL;
    if (n <= 0) { snprintf(err, errlen, "no choices given"); return GRAM_ESYNTAX; }
    /* said of the choice itself (the generated grammar's "line 1 col 11"
     * named text the user never wrote) */
    for (int32_t i = 0; i < n; i++) {
        size_t len = strlen(choices[i]), bad = utf8_check(choices[i], len);
        if (bad < len) {
            snprintf(err, errlen, "choice %d is not valid UTF-8 (at byte %zu)", (int)i + 1, bad);
            return GRAM_ESYNTAX;
        }
    }
    gram_buf b = { 0 };
    gram_buf_puts(&b, "root ::= ");
    for (int32_t i = 0; i < n; i++) {
        if (i) gram_buf_puts(&b, " | ");
        gram_buf_literal(&b, choices[i], strlen(choices[i]));
    }
    gram_buf_puts(&b, "\n");
    if (b.oom) { free(b.s); snprintf(err, errlen, "out of memory"); return GRAM_ENOMEM; }
    int rc = gram_parse(out, b.s, b.n, err, errlen);
    free(b.s);
    return rc;
}

/* Reads the whole file; on failure returns NULL with *why the OS reason. */
static char *read_file(const char *path, size_t *len, const char **why) {
    *why = "out of memory";
    FILE *f = fopen(path, "rb");
    if (!f) { *why = strerror(errno); return NULL; }
    /* a device (/dev/zero) would be read without end: refused; a pipe is
     * read up to GRAM_MAX_FILE bytes (a grammar or a schema is text) */
    struct stat st;
    bool regular = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    if (!regular && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
        fclose(f);
        *why = "a device, not a file";
        return NULL;
    }
    char *s = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (!regular && n > GRAM_MAX_FILE) {
            free(s);
            fclose(f);
            *why = "more than 64 MiB: too large for a grammar or a schema";
            return NULL;
        }
        if (n + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 8192;
            char *t = realloc(s, cap);
            if (!t) { free(s); fclose(f); return NULL; }
            s = t;
        }
        size_t k = fread(s + n, 1, 4096, f);
        n += k;
        if (k < 4096) break;
    }
    if (ferror(f)) {        /* e.g. a directory: fopen succeeds, reading fails with EISDIR */
        *why = strerror(errno);
        free(s);
        fclose(f);
        return NULL;
    }
    fclose(f);
    s[n] = 0;
    *len = n;
    return s;
}

int gram_from_option(gram **out, const char *kind, const char *value, char *err, size_t errlen) {
    return gram_from_option_opts(out, kind, value, NULL, err, errlen);
}

int gram_from_option_opts(gram **out, const char *kind, const char *value, const gram_schema_opts *o,
                          char *err, size_t errlen) {
    *out = NULL;
    bool file = strcmp(kind, "grammar") == 0 || strcmp(kind, "json-schema") == 0;
    gram_schema_opts so = o ? *o : (gram_schema_opts){ 0 };
    /* json-schema: "+compact", "+any-order", "+ignore-unenforceable" words before the
     * file (how the workbench and a node's settings give the options) */
    while (strcmp(kind, "json-schema") == 0 && value[0] == '+') {
        size_t n = strcspn(value, " ");
        if (n == 8 && !memcmp(value, "+compact", 8)) so.compact = true;
        else if (n == 10 && !memcmp(value, "+any-order", 10)) so.any_order = true;
        else if (n == 21 && !memcmp(value, "+ignore-unenforceable", 21)) so.ignore_unenforceable = true;
        else {
            snprintf(err, errlen, "unknown schema option '%.*s' (+compact, +any-order, +ignore-unenforceable)", (int)(n > 40 ? 40 : n), value);
            return GRAM_ESYNTAX;
        }
        value += n;
        while (*value == ' ') value++;
    }
    o = &so;
    if (file) {
        size_t n;
        const char *why;
        char *text = read_file(value, &n, &why);
        if (!text) { snprintf(err, errlen, "%s: cannot read the file: %s", value, why); return GRAM_ESYNTAX; }
        char e[400];
        int rc = kind[0] == 'g' ? gram_parse(out, text, n, e, sizeof e) : gram_from_schema_opts(out, text, n, o, e, sizeof e);
        if (rc) snprintf(err, errlen, "%s: %s", value, e);
        free(text);
        return rc;
    }
    if (strcmp(kind, "regex") == 0) return gram_from_regex(out, value, strlen(value), err, errlen);
    if (strcmp(kind, "choice") != 0) { snprintf(err, errlen, "unknown constraint kind '%s' (grammar, json-schema, regex, choice)", kind); return GRAM_ESYNTAX; }
    size_t n = strlen(value);
    char *copy = malloc(n + 1);
    /* every comma starts an item, empty ones too: n + 1 at most (n / 2 + 2
     * overflowed for ",,,", a heap corruption) */
    const char **list = malloc(sizeof *list * (n + 2));
    if (!copy || !list) { free(copy); free(list); snprintf(err, errlen, "out of memory"); return GRAM_ENOMEM; }
    memcpy(copy, value, n + 1);
    int32_t k = 0;
    for (char *p = copy, *q; p; p = q) {
        q = strchr(p, ',');
        if (q) *q++ = 0;
        list[k++] = p;
    }
    int rc = gram_from_choices(out, list, k, err, errlen);
    free(copy);
    free(list);
    return rc;
}
