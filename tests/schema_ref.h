/* schema_ref: a small JSON Schema validator for tests only (independent of
 * core/gram_schema.c): type, enum, const, properties, required,
 * additionalProperties, propertyNames, items, minItems, maxItems, anyOf, oneOf,
 * minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength,
 * maxLength (in code points) and pattern (POSIX extended regex, search
 * semantics). Returns NULL when valid, else a static message. */
#ifndef SCHEMA_REF_H
#define SCHEMA_REF_H
#include <math.h>
#include <regex.h>
#include <stdbool.h>
#include <string.h>

#include "json.h"

static bool sr_equal(const json *a, const json *b) {
    if (a->type != b->type) return false;
    switch (a->type) {
    case JSON_NULL: return true;
    case JSON_BOOL: return a->b == b->b;
    case JSON_NUM: return a->num == b->num;
    case JSON_STR: return a->len == b->len && !memcmp(a->str, b->str, a->len);
    case JSON_ARR: {
        if (a->n != b->n) return false;
        for (const json *x = a->child, *y = b->child; x; x = x->next, y = y->next) if (!sr_equal(x, y)) return false;
        return true;
    }
    default:
        if (a->n != b->n) return false;
        for (const json *x = a->child; x; x = x->next) {
            const json *y = json_get(b, x->key);
            if (!y || !sr_equal(x, y)) return false;
        }
        return true;
    }
}

static bool sr_type_is(const json *v, const char *t) {
    if (!strcmp(t, "string")) return v->type == JSON_STR;
    if (!strcmp(t, "number")) return v->type == JSON_NUM;
    if (!strcmp(t, "integer")) return v->type == JSON_NUM && v->num == floor(v->num);
    if (!strcmp(t, "boolean")) return v->type == JSON_BOOL;
    if (!strcmp(t, "null")) return v->type == JSON_NULL;
    if (!strcmp(t, "object")) return v->type == JSON_OBJ;
    if (!strcmp(t, "array")) return v->type == JSON_ARR;
    return false;
}

static size_t sr_cps(const char *s, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

static const char *sr_validate(const json *v, const json *s) {
    if (s->type == JSON_BOOL) return s->b ? NULL : "false schema";
    const json *t;
    if ((t = json_get(s, "const")) && !sr_equal(v, t)) return "const";
    if ((t = json_get(s, "enum"))) {
        bool any = false;
        for (const json *c = t->child; c; c = c->next) any |= sr_equal(v, c);
        if (!any) return "enum";
    }
    const char *alts = json_get(s, "anyOf") ? "anyOf" : json_get(s, "oneOf") ? "oneOf" : NULL;
    if (alts) {
        int ok = 0;
        for (const json *c = json_get(s, alts)->child; c; c = c->next) ok += sr_validate(v, c) == NULL;
        if (alts[0] == 'o' ? ok != 1 : !ok) return alts;     /* oneOf: exactly one */
    }
    if ((t = json_get(s, "type"))) {
        bool ok = false;
        if (t->type == JSON_STR) ok = sr_type_is(v, t->str);
        else for (const json *c = t->child; c; c = c->next) ok |= sr_type_is(v, c->str);
        if (!ok) return "type";
    }
    if (v->type == JSON_NUM) {
        if ((t = json_get(s, "minimum")) && v->num < t->num) return "minimum";
        if ((t = json_get(s, "maximum")) && v->num > t->num) return "maximum";
        if ((t = json_get(s, "exclusiveMinimum")) && t->type == JSON_NUM && v->num <= t->num) return "exclusiveMinimum";
        if ((t = json_get(s, "exclusiveMaximum")) && t->type == JSON_NUM && v->num >= t->num) return "exclusiveMaximum";
        if ((t = json_get(s, "multipleOf")) && fmod(v->num, t->num) != 0) return "multipleOf";
    }
    if (v->type == JSON_STR) {
        size_t n = sr_cps(v->str, v->len);
        if ((t = json_get(s, "minLength")) && n < (size_t)t->num) return "minLength";
        if ((t = json_get(s, "maxLength")) && n > (size_t)t->num) return "maxLength";
        if ((t = json_get(s, "pattern"))) {
            regex_t re;
            if (regcomp(&re, t->str, REG_EXTENDED | REG_NOSUB)) return "pattern does not compile";
            int r = regexec(&re, v->str, 0, NULL, 0);
            regfree(&re);
            if (r) return "pattern";
        }
    }
    if (v->type == JSON_ARR) {
        if ((t = json_get(s, "minItems")) && v->n < (size_t)t->num) return "minItems";
        if ((t = json_get(s, "maxItems")) && v->n > (size_t)t->num) return "maxItems";
        if ((t = json_get(s, "items")))
            for (const json *c = v->child; c; c = c->next) { const char *e = sr_validate(c, t); if (e) return e; }
    }
    if (v->type == JSON_OBJ) {
        const json *props = json_get(s, "properties");
        if ((t = json_get(s, "required")))
            for (const json *c = t->child; c; c = c->next) if (!json_get(v, c->str)) return "required";
        for (const json *m = v->child; m; m = m->next) {
            const json *ps = props ? json_get(props, m->key) : NULL;
            if (ps) { const char *e = sr_validate(m, ps); if (e) return e; }
            else if ((t = json_get(s, "additionalProperties")) && sr_validate(m, t)) return "additionalProperties";
            if ((t = json_get(s, "propertyNames"))) {
                json key = { .type = JSON_STR, .str = m->key, .len = m->klen };
                if (sr_validate(&key, t)) return "propertyNames";
            }
        }
    }
    return NULL;
}
#endif
