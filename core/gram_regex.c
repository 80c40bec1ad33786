/* gram_regex: a regular expression rewritten as a GBNF expression (gram.h).
 *
 * The subset: literals (UTF-8), `.` (any character but a newline), classes
 * [...] and [^...] with ranges and \d \w \s inside, \d \w \s \D \W \S,
 * escapes \n \r \t \f \v \xHH \uHHHH and \<punctuation>, groups (...) and
 * (?:...), alternation |, quantifiers * + ? {m} {m,} {m,n} (a lazy `?` after
 * one is accepted: it changes which match a search picks, not the language).
 * ^ at the very start and $ at the very end are accepted and mean the whole
 * text is matched, which it always is. Anything else (backreferences,
 * lookaround, anchors in the middle) is refused with its offset.
 *
 * JSON mode (the schema's "pattern") writes characters as they appear inside
 * a JSON string: `"` and `\` escaped, and `.` and negated classes never
 * produce a quote, a backslash or a control character.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gram.h"

typedef struct rx {
    const char *s, *p, *end;
    gram_buf *b;
    bool json;
    char *err;
    size_t errlen;
    int rc;
    int depth;
} rx;

static int rx_fail(rx *r, const char *fmt, ...) {
    if (r->rc) return r->rc;
    int k = snprintf(r->err, r->errlen, "regex offset %d: ", (int)(r->p - r->s));
    if (k >= 0 && (size_t)k < r->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err + k, r->errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    r->rc = GRAM_ESYNTAX;
    return r->rc;
}

static bool decode(rx *r, uint32_t *cp) {
    const unsigned char *s = (const unsigned char *)r->p;
    int n = *s < 0x80 ? 1 : (*s & 0xE0) == 0xC0 ? 2 : (*s & 0xF0) == 0xE0 ? 3 : (*s & 0xF8) == 0xF0 ? 4 : 0;
    if (!n || r->p + n > r->end) { rx_fail(r, "invalid UTF-8"); return false; }
    uint32_t v = n == 1 ? *s : (uint32_t)(*s & (0x7F >> n));
    for (int i = 1; i < n; i++) v = v << 6 | (s[i] & 0x3F);
    *cp = v;
    r->p += n;
    return true;
}

/* A class member written for a GBNF class. */
static void cls_char(rx *r, uint32_t cp) {
    if (cp <= 0xFFFF) gram_buf_printf(r->b, "\\u%04X", (unsigned)cp);
    else gram_buf_printf(r->b, "\\U%08X", (unsigned)cp);
}

static void lit_char(rx *r, uint32_t cp) {
    char u[8];
    int n;
    if (r->json && (cp == '"' || cp == '\\')) { u[0] = '\\'; u[1] = (char)cp; n = 2; }
    else if (r->json && cp < 0x20) { n = snprintf(u, sizeof u, "\\u%04x", (unsigned)cp); }
    else {
        n = 0;
        if (cp < 0x80) u[n++] = (char)cp;
        else if (cp < 0x800) { u[n++] = (char)(0xC0 | cp >> 6); u[n++] = (char)(0x80 | (cp & 0x3F)); }
        else if (cp < 0x10000) { u[n++] = (char)(0xE0 | cp >> 12); u[n++] = (char)(0x80 | (cp >> 6 & 0x3F)); u[n++] = (char)(0x80 | (cp & 0x3F)); }
        else { u[n++] = (char)(0xF0 | cp >> 18); u[n++] = (char)(0x80 | (cp >> 12 & 0x3F)); u[n++] = (char)(0x80 | (cp >> 6 & 0x3F)); u[n++] = (char)(0x80 | (cp & 0x3F)); }
    }
    gram_buf_literal(r->b, u, (size_t)n);
    gram_buf_puts(r->b, " ");
}

/* What can never appear raw inside a JSON string (excluded in JSON mode). */
static void json_excl(rx *r) { gram_buf_puts(r->b, "\"\\\\\\x00-\\x1F"); }

/* Escapes that stand for one character; -1 if e is a class escape. */
static int32_t simple_escape(rx *r, char e, uint32_t *cp) {
    switch (e) {
    case 'n': *cp = '\n'; return 1;
    case 'r': *cp = '\r'; return 1;
    case 't': *cp = '\t'; return 1;
    case 'f': *cp = '\f'; return 1;
    case 'v': *cp = '\v'; return 1;
    case 'd': case 'w': case 's': case 'D': case 'W': case 'S': return -1;
    case 'x': case 'u': {
        int nh = e == 'x' ? 2 : 4;
        uint32_t v = 0;
        for (int i = 0; i < nh; i++) {
            char h = r->p + i < r->end ? r->p[i] : 0;
            int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
            if (d < 0) { rx_fail(r, "expected %d hex digits after \\%c", nh, e); return 0; }
            v = v << 4 | (uint32_t)d;
        }
        r->p += nh;
        *cp = v;
        return 1;
    }
    default:
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) {
            r->p--;
            rx_fail(r, "unsupported escape \\%c", e);
            return 0;
        }
        *cp = (uint32_t)(unsigned char)e;
        return 1;
    }
}

static const char *class_body(char e) {
    switch (e) {
    case 'd': case 'D': return "0-9";
    case 'w': case 'W': return "a-zA-Z0-9_";
    default: return " \\t\\n\\r\\x0B\\x0C";
    }
}

static bool parse_class(rx *r) {
    r->p++;                                 /* [ */
    bool neg = r->p < r->end && *r->p == '^';
    if (neg) r->p++;
    gram_buf_puts(r->b, neg ? "[^" : "[");
    if (neg && r->json) json_excl(r);
    bool first = true;
    for (;;) {
        if (r->p >= r->end) return rx_fail(r, "unterminated class (expected ']')"), false;
        if (*r->p == ']' && !first) { r->p++; break; }
        first = false;
        uint32_t lo;
        if (*r->p == '\\') {
            r->p++;
            if (r->p >= r->end) return rx_fail(r, "trailing backslash"), false;
            char e = *r->p++;
            int32_t k = simple_escape(r, e, &lo);
            if (r->rc) return false;
            if (k < 0) {
                if (e >= 'A' && e <= 'Z') return r->p -= 2, rx_fail(r, "\\%c inside a class is not supported", e), false;
                gram_buf_puts(r->b, class_body(e));
                continue;
            }
        } else if (!decode(r, &lo)) {
            return false;
        }
        uint32_t hi = lo;
        if (r->p + 1 < r->end && *r->p == '-' && r->p[1] != ']') {
            r->p++;
            if (*r->p == '\\') {
                r->p++;
                char e = r->p < r->end ? *r->p++ : 0;
                if (simple_escape(r, e, &hi) <= 0) return r->rc ? false : (rx_fail(r, "bad range end"), false);
            } else if (!decode(r, &hi)) {
                return false;
            }
            if (hi < lo) return rx_fail(r, "class range end below its start"), false;
        }
        if (r->json && !neg) {              /* keep only what a JSON string holds raw */
            if (lo < 0x20) lo = 0x20;
            if (lo > hi) continue;
            if (lo <= '"' && hi >= '"') {
                if (lo < '"') { cls_char(r, lo); gram_buf_puts(r->b, "-"); cls_char(r, '"' - 1); }
                lo = '"' + 1;
            }
            if (lo <= '\\' && hi >= '\\') {
                if (lo < '\\') { cls_char(r, lo); gram_buf_puts(r->b, "-"); cls_char(r, '\\' - 1); }
                lo = '\\' + 1;
            }
            if (lo > hi) continue;
        }
        cls_char(r, lo);
        if (hi != lo) { gram_buf_puts(r->b, "-"); cls_char(r, hi); }
    }
    gram_buf_puts(r->b, "] ");
    return true;
}

static bool parse_alt(rx *r);

static bool parse_atom(rx *r) {
    char c = *r->p;
    if (c == '(') {
        r->p++;
        if (r->p + 1 < r->end && r->p[0] == '?') {
            if (r->p[1] != ':') return rx_fail(r, "only (?:...) groups are supported"), false;
            r->p += 2;
        }
        if (++r->depth > 200) return rx_fail(r, "groups nested too deep"), false;
        gram_buf_puts(r->b, "(");
        if (!parse_alt(r)) return false;
        r->depth--;
        if (r->p >= r->end || *r->p != ')') return rx_fail(r, "expected ')'"), false;
        r->p++;
        gram_buf_puts(r->b, ") ");
        return true;
    }
    if (c == '[') return parse_class(r);
    if (c == '.') {
        r->p++;
        gram_buf_puts(r->b, "[^\\n");
        if (r->json) json_excl(r);
        gram_buf_puts(r->b, "] ");
        return true;
    }
    if (c == '\\') {
        r->p++;
        if (r->p >= r->end) return rx_fail(r, "trailing backslash"), false;
        char e = *r->p++;
        uint32_t cp;
        int32_t k = simple_escape(r, e, &cp);
        if (r->rc) return false;
        if (k < 0) {
            bool neg = e >= 'A' && e <= 'Z';
            gram_buf_puts(r->b, neg ? "[^" : "[");
            if (neg && r->json) json_excl(r);
            gram_buf_puts(r->b, class_body(e));
            gram_buf_puts(r->b, "] ");
            return true;
        }
        lit_char(r, cp);
        return true;
    }
    if (c == '^' || c == '$') return rx_fail(r, "'%c' is only supported at the very start or end", c), false;
    if (c == '*' || c == '+' || c == '?' || c == '{') return rx_fail(r, "nothing to repeat before '%c'", c), false;
    uint32_t cp;
    if (!decode(r, &cp)) return false;
    lit_char(r, cp);
    return true;
}

static bool parse_quant(rx *r) {
    char c = *r->p;
    if (c == '*' || c == '+' || c == '?') {
        r->p++;
        gram_buf_add(r->b, &c, 1);
    } else {                                /* { */
        const char *q = r->p + 1;
        long m = 0, n = -1;
        bool comma = false, digits = false;
        while (q < r->end && *q >= '0' && *q <= '9') { m = m * 10 + (*q++ - '0'); digits = true; if (m > 100000) break; }
        if (q < r->end && *q == ',') {
            comma = true;
            q++;
            if (q < r->end && *q >= '0' && *q <= '9') { n = 0; while (q < r->end && *q >= '0' && *q <= '9') { n = n * 10 + (*q++ - '0'); if (n > 100000) break; } }
        }
        if (!digits || q >= r->end || *q != '}') return rx_fail(r, "bad repetition (expected {m}, {m,} or {m,n})"), false;
        if (m > 100000 || n > 100000) return rx_fail(r, "repetition count too large"), false;
        if (n >= 0 && n < m) return rx_fail(r, "repetition maximum below its minimum"), false;
        r->p = q + 1;
        if (!comma) gram_buf_printf(r->b, "{%ld}", m);
        else if (n < 0) gram_buf_printf(r->b, "{%ld,}", m);
        else gram_buf_printf(r->b, "{%ld,%ld}", m, n);
    }
    gram_buf_puts(r->b, " ");
    if (r->p < r->end && *r->p == '?') r->p++;   /* lazy: same language */
    return true;
}

static bool parse_seq(rx *r) {
    while (r->p < r->end && *r->p != '|' && *r->p != ')') {
        /* an atom, wrapped so a quantifier applies to it whole (a literal is several bytes) */
        gram_buf_puts(r->b, "(");
        if (!parse_atom(r)) return false;
        gram_buf_puts(r->b, ") ");
        if (r->p < r->end && (*r->p == '*' || *r->p == '+' || *r->p == '?' || *r->p == '{')) {
            if (!parse_quant(r)) return false;
            /* a second one ("a**", "a{2}{3}") is an error in the usual engines
             * (Python: multiple repeat); it reached the GBNF parser, whose
             * message named a line and column of the generated grammar */
            if (r->p < r->end && (*r->p == '*' || *r->p == '+' || *r->p == '?' || *r->p == '{'))
                return rx_fail(r, "a second quantifier '%c' (repeat a group instead: (a{2}){3})", *r->p), false;
        }
    }
    return true;
}

static bool parse_alt(rx *r) {
    if (!parse_seq(r)) return false;
    while (r->p < r->end && *r->p == '|') {
        r->p++;
        gram_buf_puts(r->b, "| ");
        if (!parse_seq(r)) return false;
    }
    return true;
}

static int regex_expr(gram_buf *b, const char *re, size_t len, bool json, char *err, size_t errlen) {
    rx r = { .s = re, .p = re, .end = re + len, .b = b, .json = json, .err = err, .errlen = errlen };
    if (r.p < r.end && *r.p == '^') r.p++;
    if (r.end > r.p && r.end[-1] == '$' && !(r.end - 1 > r.p && r.end[-2] == '\\')) r.end--;
    gram_buf_puts(b, "(");
    if (!parse_alt(&r)) return r.rc;
    if (r.p < r.end) return rx_fail(&r, "unbalanced ')'");
    gram_buf_puts(b, ")");
    return b->oom ? GRAM_ENOMEM : 0;
}

int gram_regex_expr(gram_buf *b, const char *re, size_t len, char *err, size_t errlen) {
    return regex_expr(b, re, len, true, err, errlen);
}

int gram_regex_gbnf(char **gbnf, const char *re, size_t len, char *err, size_t errlen) {
    *gbnf = NULL;
    gram_buf b = { 0 };
    gram_buf_puts(&b, "root ::= ");
    int rc = regex_expr(&b, re, len, false, err, errlen);
    gram_buf_puts(&b, "\n");
    if (!rc && b.oom) { rc = GRAM_ENOMEM; snprintf(err, errlen, "out of memory"); }
    if (rc) { free(b.s); return rc; }
    *gbnf = b.s;
    return 0;
}

int gram_from_regex(gram **out, const char *re, size_t len, char *err, size_t errlen) {
    *out = NULL;
    char *g;
    int rc = gram_regex_gbnf(&g, re, len, err, errlen);
    if (rc) return rc;
    rc = gram_parse(out, g, strlen(g), err, errlen);
    free(g);
    return rc;
}
