/* smpjson: sampler settings as canonical JSON (see smpjson.h). Every
 * number goes through smpjson_num, so the bytes depend only on the values;
 * every parse runs under a C numeric locale for core/json's strtod. */
#include "smpjson.h"

#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Switches this thread to the C numeric locale; returns what to restore
 * ((locale_t)0 when nothing changed). */
static locale_t c_begin(locale_t *c) {
    *c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    return *c ? uselocale(*c) : (locale_t)0;
}

static void c_end(locale_t c, locale_t old) {
    if (!c) return;
    uselocale(old);
    freelocale(c);
}

int smpjson_num(double v, char *buf, size_t cap) {
    if (isnan(v) || isinf(v)) return snprintf(buf, cap, "null");
    if (v == floor(v) && fabs(v) < 1e15) return snprintf(buf, cap, "%.0f", v);
    locale_t c, old = c_begin(&c);
    int k = 0;
    for (int p = 1; p <= 17; p++) {
        k = snprintf(buf, cap, "%.*g", p, v);
        if (k < 0 || (size_t)k >= cap) break;
        if (p <= 9 ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v) break;
    }
    c_end(c, old);
    return k;
}

json_doc *smpjson_doc(const char *text, size_t len, char *err, size_t errlen) {
    locale_t c, old = c_begin(&c);
    json_doc *d = json_parse(text, len, err, errlen);
    c_end(c, old);
    return d;
}

int smpjson_fmt(const smp_params *p, const char *spec, char *buf, size_t cap) {
    const struct { const char *key; double v; } nums[] = {
        { "temp", p->temp }, { "top_k", p->top_k }, { "top_p", p->top_p }, { "min_p", p->min_p },
        { "typical", p->typical_p }, { "min_keep", p->min_keep }, { "repeat_penalty", p->repeat_penalty },
        { "repeat_last_n", p->repeat_last_n }, { "frequency_penalty", p->frequency_penalty },
        { "presence_penalty", p->presence_penalty },
    };
    size_t at = 0;
    char num[40];
#define PUT(...) do { int k_ = snprintf(buf + (at < cap ? at : cap), at < cap ? cap - at : 0, __VA_ARGS__); \
                      if (k_ > 0) at += (size_t)k_; } while (0)
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        smpjson_num(nums[i].v, num, sizeof num);
        PUT("%s\"%s\":%s", i ? "," : "{", nums[i].key, num);
    }
    if (p->seed <= (1ull << 53)) PUT(",\"seed\":%llu", (unsigned long long)p->seed);
    else PUT(",\"seed\":\"%llu\"", (unsigned long long)p->seed);
    const char *order = spec && *spec ? spec : SMP_DEFAULT_CHAIN;
    size_t need = json_escape(order, strlen(order), NULL, 0);
    char small[512];
    char *q = need < sizeof small ? small : malloc(need + 1);
    if (q) json_escape(order, strlen(order), q, need + 1);
    PUT(",\"order\":%s}", q ? q : "\"\"");
    if (q != small) free(q);
#undef PUT
    return (int)at;
}

int smpjson_add_str(char *buf, size_t cap, const char *key, const char *val) {
    size_t len = strlen(buf);
    if (len < 2 || buf[len - 1] != '}') return -1;
    size_t kl = json_escape(key, strlen(key), NULL, 0), vl = json_escape(val, strlen(val), NULL, 0);
    size_t need = len - 1 + (buf[len - 2] == '{' ? 0 : 1) + kl + 1 + vl + 1;
    if (need >= cap) return -1;
    size_t at = len - 1;
    if (buf[len - 2] != '{') buf[at++] = ',';
    at += json_escape(key, strlen(key), buf + at, cap - at);
    buf[at++] = ':';
    at += json_escape(val, strlen(val), buf + at, cap - at);
    buf[at++] = '}';
    buf[at] = 0;
    return (int)at;
}

void smpjson_get(const json *o, smp_params *p, char *spec, size_t spec_cap) {
    smp_params_default(p);
    if (spec_cap) spec[0] = 0;
    if (!o || o->type != JSON_OBJ) return;
    p->temp = (float)json_num(json_get(o, "temp"), p->temp);
    p->top_k = (int32_t)json_num(json_get(o, "top_k"), p->top_k);
    p->top_p = (float)json_num(json_get(o, "top_p"), p->top_p);
    p->min_p = (float)json_num(json_get(o, "min_p"), p->min_p);
    p->typical_p = (float)json_num(json_get(o, "typical"), p->typical_p);
    p->min_keep = (int32_t)json_num(json_get(o, "min_keep"), p->min_keep);
    p->repeat_penalty = (float)json_num(json_get(o, "repeat_penalty"), p->repeat_penalty);
    p->repeat_last_n = (int32_t)json_num(json_get(o, "repeat_last_n"), p->repeat_last_n);
    p->frequency_penalty = (float)json_num(json_get(o, "frequency_penalty"), p->frequency_penalty);
    p->presence_penalty = (float)json_num(json_get(o, "presence_penalty"), p->presence_penalty);
    const json *seed = json_get(o, "seed");
    if (seed && seed->type == JSON_NUM && seed->num >= 0 && seed->num <= 18446744073709549568.0)
        p->seed = (uint64_t)seed->num;
    else if (seed && seed->type == JSON_STR) p->seed = strtoull(seed->str, NULL, 10);
    const char *order = json_str(json_get(o, "order"), "");
    if (strcmp(order, SMP_DEFAULT_CHAIN) && spec_cap) snprintf(spec, spec_cap, "%s", order);
}

int smpjson_parse(const char *text, smp_params *p, char *spec, size_t spec_cap) {
    char err[128];
    json_doc *d = text ? smpjson_doc(text, strlen(text), err, sizeof err) : NULL;
    const json *o = d ? json_root(d) : NULL;
    smpjson_get(o, p, spec, spec_cap);
    int rc = o && o->type == JSON_OBJ ? 0 : -1;
    json_free(d);
    return rc;
}
