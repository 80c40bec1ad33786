/* session_set: the sampler and generation settings of a session, by name
 * (session.h: session_set, session_get, session_setting_names,
 * session_sampler_changed); split from session.c, which acts on the tree.
 * Values are checked here, so an error shows at once on the command line. */
#include "session.h"
#include "tok.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gram.h"
#include "logits.h"

/* ---- settings -------------------------------------------------------------- */

static const char *const setting_names[] = {
    "temp", "top_k", "top_p", "min_p", "typical", "repeat_penalty", "repeat_last_n",
    "frequency_penalty", "presence_penalty", "seed", "order", "n", "eos", "end_tokens", "bias", "grammar", NULL
};

const char *const *session_setting_names(void) { return setting_names; }

void session_sampler_changed(session *s) {
    s->sp_version++;
    s->version++;
}

static int parse_num(const char *v, double lo, double hi, double *out) {
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || isnan(x) || x < lo || x > hi) return -1;
    *out = x;
    return 0;
}

int session_set(session *s, const char *name, const char *value, char *err, size_t errlen) {
    smp_params sp = s->sp;
    double x;
    if (!value || !*value) { snprintf(err, errlen, "%s: a value is needed", name); return -1; }
    if (strcmp(name, "order") == 0) {
        smp *probe;
        const char *spec = strcmp(value, "default") ? value : NULL;
        if (smp_chain_parse(&probe, spec, &sp, err, errlen)) return -1;
        smp_destroy(probe);
        snprintf(s->spec, sizeof s->spec, "%s", spec ? spec : "");
        session_sampler_changed(s);
        return 0;
    }
    if (strcmp(name, "grammar") == 0) {  /* KIND VALUE, compiled here so errors show at once */
        if (!strcmp(value, "none") || !strcmp(value, "off")) { s->grammar[0] = 0; session_sampler_changed(s); return 0; }
        char kind[32];
        const char *sp = strchr(value, ' ');
        size_t kl = sp ? (size_t)(sp - value) : strlen(value);
        snprintf(kind, sizeof kind, "%.*s", (int)(kl < sizeof kind ? kl : sizeof kind - 1), value);
        while (sp && *sp == ' ') sp++;
        if (!sp || !*sp) { snprintf(err, errlen, "grammar KIND VALUE: kind grammar FILE.gbnf, json-schema FILE.json, regex RE or choice A,B,C; or none"); return -1; }
        gram *g;
        if (gram_from_option(&g, kind, sp, err, errlen)) return -1;
        gram_unref(g);
        if (strlen(kind) + 1 + strlen(sp) >= sizeof s->grammar) { snprintf(err, errlen, "grammar: too long"); return -1; }
        size_t k1 = strlen(kind), k2 = strlen(sp);
        memcpy(s->grammar, kind, k1);
        s->grammar[k1] = ' ';
        memcpy(s->grammar + k1 + 1, sp, k2 + 1);
        session_sampler_changed(s);
        return 0;
    }
    if (strcmp(name, "bias") == 0) {
        /* ids are checked against the model's vocabulary here when a model
         * is open, and again when the chain is built (another model may be
         * opened after the :set) */
        logits_bias b;
        logits_bias_init(&b);
        bool none = strcmp(value, "none") == 0;
        int32_t nv = s->m && s->nv > 0 ? s->nv : INT32_MAX;
        char why[256];
        int rc = none ? 0 : logits_bias_parse(&b, value, nv, why, sizeof why);
        logits_bias_fini(&b);
        if (rc && nv != INT32_MAX && strncmp(why, "bias wants", 10) == 0)
            snprintf(err, errlen, "%s (the vocabulary of %s)", why, s->model_name);
        else if (rc)
            snprintf(err, errlen, "%s", why);
        if (rc) return -1;
        if (strlen(value) >= sizeof s->bias) { snprintf(err, errlen, "bias: at most %zu bytes", sizeof s->bias - 1); return -1; }
        snprintf(s->bias, sizeof s->bias, "%s", none ? "" : value);
        session_sampler_changed(s);
        return 0;
    }
    if (strcmp(name, "end_tokens") == 0) {
        int32_t ids[16];
        char why[256];
        bool none = !strcmp(value, "none") || !*value;
        if (strlen(value) >= sizeof s->end_tokens) { snprintf(err, errlen, "end_tokens: at most %zu bytes", sizeof s->end_tokens - 1); return -1; }
        if (tok_parse_ids(s->t, value, ids, 16, why, sizeof why) < 0) {    /* no model yet: the syntax alone */
            snprintf(err, errlen, "end_tokens: %s", why);
            return -1;
        }
        snprintf(s->end_tokens, sizeof s->end_tokens, "%s", none ? "" : value);
        return 0;
    }
    if (strcmp(name, "eos") == 0) {
        if (strcmp(value, "on") && strcmp(value, "off")) { snprintf(err, errlen, "eos: on or off"); return -1; }
        s->stop_at_eos = strcmp(value, "on") == 0;
        return 0;
    }
    if (strcmp(name, "seed") == 0) {
        char *end;
        unsigned long long v = strtoull(value, &end, 10);
        if (end == value || *end || value[0] == '-') { snprintf(err, errlen, "seed: an integer >= 0"); return -1; }
        s->sp.seed = v;
        session_sampler_changed(s);
        return 0;
    }
    bool is_int = !strcmp(name, "top_k") || !strcmp(name, "repeat_last_n") || !strcmp(name, "n");
    if (parse_num(value, is_int ? -1e9 : -1e30, is_int ? 1e9 : 1e30, &x) || (is_int && x != floor(x))) {
        snprintf(err, errlen, "%s: %s '%s'", name, is_int ? "not an integer:" : "not a number:", value);
        return -1;
    }
    if (strcmp(name, "n") == 0) {
        if (x < -1 || x == 0) { snprintf(err, errlen, "n: tokens per run, >= 1 or -1 (no limit)"); return -1; }
        s->n_max = (int32_t)x;
        return 0;
    }
    if (!strcmp(name, "temp")) sp.temp = (float)x;
    else if (!strcmp(name, "top_k")) sp.top_k = (int32_t)x;
    else if (!strcmp(name, "top_p")) sp.top_p = (float)x;
    else if (!strcmp(name, "min_p")) sp.min_p = (float)x;
    else if (!strcmp(name, "typical")) sp.typical_p = (float)x;
    else if (!strcmp(name, "repeat_penalty")) sp.repeat_penalty = (float)x;
    else if (!strcmp(name, "repeat_last_n")) sp.repeat_last_n = (int32_t)x;
    else if (!strcmp(name, "frequency_penalty")) sp.frequency_penalty = (float)x;
    else if (!strcmp(name, "presence_penalty")) sp.presence_penalty = (float)x;
    else { snprintf(err, errlen, "unknown setting '%s'", name); return -1; }
    if (smp_params_check(&sp, err, errlen)) return -1;
    s->sp = sp;
    session_sampler_changed(s);
    return 0;
}

bool session_get(const session *s, const char *name, char *buf, size_t cap) {
    const smp_params *p = &s->sp;
    if (!strcmp(name, "temp")) snprintf(buf, cap, "%g", p->temp);
    else if (!strcmp(name, "top_k")) snprintf(buf, cap, "%d", (int)p->top_k);
    else if (!strcmp(name, "top_p")) snprintf(buf, cap, "%g", p->top_p);
    else if (!strcmp(name, "min_p")) snprintf(buf, cap, "%g", p->min_p);
    else if (!strcmp(name, "typical")) snprintf(buf, cap, "%g", p->typical_p);
    else if (!strcmp(name, "repeat_penalty")) snprintf(buf, cap, "%g", p->repeat_penalty);
    else if (!strcmp(name, "repeat_last_n")) snprintf(buf, cap, "%d", (int)p->repeat_last_n);
    else if (!strcmp(name, "frequency_penalty")) snprintf(buf, cap, "%g", p->frequency_penalty);
    else if (!strcmp(name, "presence_penalty")) snprintf(buf, cap, "%g", p->presence_penalty);
    else if (!strcmp(name, "seed")) snprintf(buf, cap, "%llu", (unsigned long long)p->seed);
    else if (!strcmp(name, "order")) snprintf(buf, cap, "%s", s->spec[0] ? s->spec : SMP_DEFAULT_CHAIN);
    else if (!strcmp(name, "n")) snprintf(buf, cap, "%d", (int)s->n_max);
    else if (!strcmp(name, "eos")) snprintf(buf, cap, "%s", s->stop_at_eos ? "on" : "off");
    else if (!strcmp(name, "end_tokens")) snprintf(buf, cap, "%s", s->end_tokens[0] ? s->end_tokens : "none");
    else if (!strcmp(name, "bias")) snprintf(buf, cap, "%s", s->bias[0] ? s->bias : "none");
    else if (!strcmp(name, "grammar")) snprintf(buf, cap, "%s", s->grammar[0] ? s->grammar : "none");
    else return false;
    return true;
}
