/* json: recursive-descent JSON parser into an arena-allocated tree.
 * Invariant: every node and string of a document lives in the doc's chunk
 * list, so json_free is one walk over chunks. Nesting depth is capped so that
 * hostile input cannot overflow the C stack. */
#include "json.h"
#include "utf8.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 512

typedef struct chunk { struct chunk *next; size_t used, cap; char data[]; } chunk;

struct json_doc { chunk *chunks; json *root; };

typedef struct parser {
    const char *s; size_t n, i;
    json_doc *doc;
    char *err; size_t errlen;
    int depth;
} parser;

static void *arena_alloc(json_doc *d, size_t size) {
    size = (size + 15) & ~(size_t)15;
    chunk *c = d->chunks;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > (1u << 20) ? size : (1u << 20);
        c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->next = d->chunks; c->used = 0; c->cap = cap;
        d->chunks = c;
    }
    void *p = c->data + c->used;
    c->used += size;
    return p;
}

static int fail(parser *p, const char *msg) {
    if (p->err && p->errlen) {
        size_t line = 1, col = 1;
        for (size_t k = 0; k < p->i && k < p->n; k++) {
            if (p->s[k] == '\n') { line++; col = 1; } else col++;
        }
        snprintf(p->err, p->errlen, "line %zu col %zu: %s", line, col, msg);
    }
    return -1;
}

static void skip_ws(parser *p) {
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
                           p->s[p->i] == '\n' || p->s[p->i] == '\r')) p->i++;
}

static int hex4(parser *p, uint32_t *out) {
    if (p->n - p->i < 4) return fail(p, "truncated \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p->s[p->i++];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return fail(p, "bad hex digit in \\u escape");
    }
    *out = v;
    return 0;
}

/* Parses a string at p->i (at the opening quote). */
static int parse_string(parser *p, const char **out, size_t *outlen) {
    p->i++; /* quote */
    size_t start = p->i, extra = 0;
    /* first pass: find the end to size the buffer (escapes only shrink) */
    while (p->i < p->n && p->s[p->i] != '"') {
        if (p->s[p->i] == '\\') { p->i++; extra++; }
        p->i++;
    }
    if (p->i >= p->n) return fail(p, "unterminated string");
    size_t end = p->i;
    (void)extra;
    char *buf = arena_alloc(p->doc, end - start + 1);
    if (!buf) return fail(p, "out of memory");
    size_t o = 0;
    p->i = start;
    while (p->i < end) {
        unsigned char c = (unsigned char)p->s[p->i];
        if (c < 0x20) return fail(p, "control character in string");
        if (c != '\\') {
            uint32_t cp;
            int l = c < 0x80 ? 1 : utf8_decode(p->s + p->i, end - p->i, &cp);
            if (!l) return fail(p, "invalid UTF-8 in string");
            memcpy(buf + o, p->s + p->i, (size_t)l);
            o += (size_t)l; p->i += (size_t)l;
            continue;
        }
        p->i++;
        char e = p->s[p->i++];
        switch (e) {
        case '"': buf[o++] = '"'; break;
        case '\\': buf[o++] = '\\'; break;
        case '/': buf[o++] = '/'; break;
        case 'b': buf[o++] = '\b'; break;
        case 'f': buf[o++] = '\f'; break;
        case 'n': buf[o++] = '\n'; break;
        case 'r': buf[o++] = '\r'; break;
        case 't': buf[o++] = '\t'; break;
        case 'u': {
            uint32_t cp;
            if (hex4(p, &cp)) return -1;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo;
                if (p->i + 2 > end || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
                    return fail(p, "unpaired surrogate in \\u escape");
                p->i += 2;
                if (hex4(p, &lo)) return -1;
                if (lo < 0xDC00 || lo > 0xDFFF) return fail(p, "bad low surrogate");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return fail(p, "unpaired low surrogate");
            }
            /* 6 escaped bytes always cover the <= 4 encoded ones */
            o += (size_t)utf8_encode(cp, buf + o);
            break;
        }
        default: return fail(p, "bad escape");
        }
    }
    buf[o] = 0;
    p->i = end + 1;
    *out = buf; *outlen = o;
    return 0;
}

static int parse_value(parser *p, json *v);

static int parse_container(parser *p, json *v, bool obj) {
    if (++p->depth > MAX_DEPTH) return fail(p, "nesting too deep");
    v->type = obj ? JSON_OBJ : JSON_ARR;
    p->i++;
    skip_ws(p);
    json **tail = &v->child;
    if (p->i < p->n && p->s[p->i] == (obj ? '}' : ']')) { p->i++; p->depth--; return 0; }
    for (;;) {
        json *c = arena_alloc(p->doc, sizeof *c);
        if (!c) return fail(p, "out of memory");
        memset(c, 0, sizeof *c);
        skip_ws(p);
        c->at = p->i;
        if (obj) {
            if (p->i >= p->n || p->s[p->i] != '"') return fail(p, "expected a key string");
            if (parse_string(p, &c->key, &c->klen)) return -1;
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != ':') return fail(p, "expected ':'");
            p->i++;
        }
        if (parse_value(p, c)) return -1;
        *tail = c; tail = &c->next; v->n++;
        skip_ws(p);
        if (p->i >= p->n) return fail(p, "unexpected end of input");
        char ch = p->s[p->i++];
        if (ch == ',') continue;
        if (ch == (obj ? '}' : ']')) break;
        return fail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    p->depth--;
    return 0;
}

static int parse_number(parser *p, json *v) {
    size_t st = p->i;
    if (p->s[p->i] == '-') p->i++;
    if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9') return fail(p, "bad number");
    while (p->i < p->n && strchr("0123456789+-.eE", p->s[p->i])) p->i++;
    char tmp[64];
    size_t l = p->i - st;
    if (l >= sizeof tmp) return fail(p, "number too long");
    memcpy(tmp, p->s + st, l); tmp[l] = 0;
    char *e;
    v->num = strtod(tmp, &e);
    if (*e) { p->i = st; return fail(p, "bad number"); }
    v->type = JSON_NUM;
    return 0;
}

static int parse_value(parser *p, json *v) {
    skip_ws(p);
    if (!v->key) v->at = p->i;      /* a member's position is its key's */
    if (p->i >= p->n) return fail(p, "unexpected end of input");
    char c = p->s[p->i];
    if (c == '{') return parse_container(p, v, true);
    if (c == '[') return parse_container(p, v, false);
    if (c == '"') { v->type = JSON_STR; return parse_string(p, &v->str, &v->len); }
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p, v);
    static const struct { const char *w; int type; bool b; } lits[] = {
        {"true", JSON_BOOL, true}, {"false", JSON_BOOL, false}, {"null", JSON_NULL, false}};
    for (size_t k = 0; k < 3; k++) {
        size_t l = strlen(lits[k].w);
        if (p->n - p->i >= l && memcmp(p->s + p->i, lits[k].w, l) == 0) {
            v->type = lits[k].type; v->b = lits[k].b; p->i += l;
            return 0;
        }
    }
    return fail(p, "unexpected character");
}

void json_free(json_doc *d) {
    if (!d) return;
    for (chunk *c = d->chunks, *nx; c; c = nx) { nx = c->next; free(c); }
    free(d);
}

json_doc *json_parse(const char *text, size_t len, char *err, size_t errlen) {
    json_doc *d = calloc(1, sizeof *d);
    if (!d) { if (err && errlen) snprintf(err, errlen, "out of memory"); return NULL; }
    parser p = { text, len, 0, d, err, errlen, 0 };
    d->root = arena_alloc(d, sizeof(json));
    if (!d->root) { fail(&p, "out of memory"); json_free(d); return NULL; }
    memset(d->root, 0, sizeof(json));
    if (parse_value(&p, d->root)) { json_free(d); return NULL; }
    skip_ws(&p);
    if (p.i != p.n) { fail(&p, "trailing characters after the value"); json_free(d); return NULL; }
    return d;
}

json *json_root(json_doc *d) { return d ? d->root : NULL; }

json *json_get(const json *o, const char *key) {
    if (!o || o->type != JSON_OBJ) return NULL;
    size_t kl = strlen(key);
    for (json *c = o->child; c; c = c->next)
        if (c->klen == kl && memcmp(c->key, key, kl) == 0) return c;
    return NULL;
}

json *json_at(const json *a, size_t i) {
    if (!a || a->type != JSON_ARR) return NULL;
    json *c = a->child;
    while (c && i--) c = c->next;
    return c;
}

double json_num(const json *v, double d) { return v && v->type == JSON_NUM ? v->num : d; }
const char *json_str(const json *v, const char *d) { return v && v->type == JSON_STR ? v->str : d; }
bool json_bool(const json *v, bool d) { return v && v->type == JSON_BOOL ? v->b : d; }

size_t json_escape(const char *s, size_t n, char *out, size_t cap) {
    size_t o = 0;
#define PUT(ch) do { if (out && o < cap) out[o] = (ch); o++; } while (0)
    PUT('"');
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        if (c == '"' || c == '\\') { PUT('\\'); PUT((char)c); i++; continue; }
        if (c < 0x20) {
            char tmp[8];
            const char *e = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
            if (!e) { snprintf(tmp, sizeof tmp, "\\u%04x", c); e = tmp; }
            for (; *e; e++) PUT(*e);
            i++; continue;
        }
        int l = c < 0x80 ? 1 : utf8_decode(s + i, n - i, &cp);
        if (!l) { PUT((char)0xEF); PUT((char)0xBF); PUT((char)0xBD); i++; continue; }
        for (int k = 0; k < l; k++) PUT(s[i + k]);
        i += (size_t)l;
    }
    PUT('"');
#undef PUT
    if (out && cap) out[o < cap ? o : cap - 1] = 0;
    return o;
}
