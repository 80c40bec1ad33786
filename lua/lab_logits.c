/* lab_logits: the Logits userdata, one row of n_vocab floats copied out of
 * the engine (ctx_logits is valid only until the next eval), and
 * lab.logits.combine over logits_mix.
 *
 * A row is either logits (probs == false) or probabilities (l:softmax()).
 * Methods that need the distribution normalize on the fly in double
 * (logsumexp), so prob/logprob/entropy give the same numbers for both
 * kinds. The row never becomes a Lua table: methods return scalars or
 * short lists (top-k). Each row holds a model reference (for token pieces)
 * that the GC releases.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lhost_impl.h"
#include "logits.h"
#include "model.h"
#include "tok.h"

#define LOGITS_T "lab.Logits"

typedef struct logits_ud {
    lmodel *m;              /* a reference, or NULL */
    int32_t n;
    bool probs;
    bool have_lnorm;        /* lnorm computed (rows never change once Lua sees them) */
    double lnorm;
    float x[];              /* (n) */
} logits_ud;

void lab_top_push(lua_State *L, const int32_t *id, const float *lp, int32_t n) {
    lua_createtable(L, n, 0);
    for (int32_t i = 0; i < n && id[i] >= 0; i++) {
        lua_createtable(L, 0, 2);
        lua_pushinteger(L, id[i]);
        lua_setfield(L, -2, "id");
        lua_pushnumber(L, lp[i]);
        lua_setfield(L, -2, "logprob");
        lua_rawseti(L, -2, i + 1);
    }
}

float *lab_logits_push(lua_State *L, lmodel *m, const float *row, int32_t n, bool probs) {
    logits_ud *u = lua_newuserdatauv(L, sizeof *u + sizeof(float) * (size_t)n, 0);
    u->m = NULL;
    u->n = n;
    u->probs = probs;
    u->have_lnorm = false;
    if (row) memcpy(u->x, row, sizeof(float) * (size_t)n);
    luaL_setmetatable(L, LOGITS_T);
    if (m) {
        lab_model_ref(m);
        u->m = m;
    }
    return u->x;
}

static logits_ud *check(lua_State *L, int idx) { return luaL_checkudata(L, idx, LOGITS_T); }

static int32_t check_id(lua_State *L, int idx, const logits_ud *u) {
    lua_Integer id = luaL_checkinteger(L, idx);
    if (id < 0 || id >= u->n)
        luaL_argerror(L, idx, lua_pushfstring(L, "token id %I out of range [0, %d)", id, (int)u->n));
    return (int32_t)id;
}

/* log of the normalizer: logsumexp of logits, log(sum p) of probabilities.
 * Computed once per row (a pass over n_vocab in double, ~0.2 ms at 32k):
 * a script asking l:prob of many ids pays it once. A row's floats are
 * written by the C code that pushes it, before any method can run. */
static double log_norm(logits_ud *u) {
    if (u->have_lnorm) return u->lnorm;
    if (!u->probs) {
        u->lnorm = logits_logsumexp(u->x, u->n);
    } else {
        double s = 0;
        for (int32_t i = 0; i < u->n; i++) s += u->x[i];
        u->lnorm = log(s);
    }
    u->have_lnorm = true;
    return u->lnorm;
}

static double logprob_of(const logits_ud *u, int32_t id, double lnorm) {
    return u->probs ? log((double)u->x[id]) - lnorm : (double)u->x[id] - lnorm;
}

static int l_gc(lua_State *L) {
    logits_ud *u = check(L, 1);
    if (u->m) lab_model_unref(u->m);
    u->m = NULL;
    return 0;
}

static int l_len(lua_State *L) {
    lua_pushinteger(L, check(L, 1)->n);
    return 1;
}

static int l_tostring(lua_State *L) {
    logits_ud *u = check(L, 1);
    lua_pushfstring(L, "Logits(%d %s)", (int)u->n, u->probs ? "probabilities" : "logits");
    return 1;
}

/* l:get(id) -> the raw value (a logit, or a probability after softmax) */
static int l_get(lua_State *L) {
    logits_ud *u = check(L, 1);
    lua_pushnumber(L, u->x[check_id(L, 2, u)]);
    return 1;
}

static int l_is_probs(lua_State *L) {
    lua_pushboolean(L, check(L, 1)->probs);
    return 1;
}

static int l_prob(lua_State *L) {
    logits_ud *u = check(L, 1);
    int32_t id = check_id(L, 2, u);
    lua_pushnumber(L, exp(logprob_of(u, id, log_norm(u))));
    return 1;
}

static int l_logprob(lua_State *L) {
    logits_ud *u = check(L, 1);
    int32_t id = check_id(L, 2, u);
    lua_pushnumber(L, logprob_of(u, id, log_norm(u)));
    return 1;
}

/* l:entropy([unit]) -> nats, or bits with "bits" */
static int l_entropy(lua_State *L) {
    logits_ud *u = check(L, 1);
    static const char *const units[] = { "nats", "bits", NULL };
    int unit = luaL_checkoption(L, 2, "nats", units);
    double h = u->probs ? logits_entropy(u->x, u->n) : logits_entropy_of(u->x, u->n);
    lua_pushnumber(L, unit == 1 ? h / LOGITS_LN2 : h);
    return 1;
}

static int l_argmax(lua_State *L) {
    logits_ud *u = check(L, 1);
    lua_pushinteger(L, logits_argmax(u->x, u->n));
    return 1;
}

static int l_rank(lua_State *L) {
    logits_ud *u = check(L, 1);
    lua_pushinteger(L, logits_rank(u->x, u->n, check_id(L, 2, u)));
    return 1;
}

/* l:top(k) -> { {id=, logit=, prob=, logprob=, piece=}, ... } best first */
static int l_top(lua_State *L) {
    logits_ud *u = check(L, 1);
    lua_Integer k = luaL_optinteger(L, 2, 10);
    if (k < 1) return luaL_argerror(L, 2, "k must be >= 1");
    if (k > u->n) k = u->n;
    int32_t *ids = lua_newuserdatauv(L, sizeof *ids * (size_t)k, 0);
    int32_t nk = logits_top_k(u->x, u->n, (int32_t)k, ids);
    double ln = log_norm(u);
    const tok *t = u->m ? model_tok(u->m->m) : NULL;
    lua_createtable(L, nk, 0);
    for (int32_t i = 0; i < nk; i++) {
        lua_createtable(L, 0, 5);
        lua_pushinteger(L, ids[i]);
        lua_setfield(L, -2, "id");
        double lp = logprob_of(u, ids[i], ln);
        lua_pushnumber(L, u->probs ? log((double)u->x[ids[i]]) : (double)u->x[ids[i]]);
        lua_setfield(L, -2, "logit");
        lua_pushnumber(L, lp);
        lua_setfield(L, -2, "logprob");
        lua_pushnumber(L, exp(lp));
        lua_setfield(L, -2, "prob");
        if (t && ids[i] < tok_n_vocab(t)) {
            char buf[256];
            int32_t pn = tok_piece(t, ids[i], buf, (int32_t)sizeof buf, true);
            if (pn < 0) pn = 0;
            if (pn > (int32_t)sizeof buf) pn = (int32_t)sizeof buf;
            lua_pushlstring(L, buf, (size_t)pn);
            lua_setfield(L, -2, "piece");
        }
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* p (n floats) = the distribution of u */
static void probs_of(const logits_ud *u, float *p) {
    if (!u->probs) {
        logits_softmax(u->x, u->n, p);
        return;
    }
    double s = 0;
    for (int32_t i = 0; i < u->n; i++) s += u->x[i];
    for (int32_t i = 0; i < u->n; i++) p[i] = s > 0 ? (float)(u->x[i] / s) : 0.0f;
}

/* l:softmax() -> a new Logits holding probabilities */
static int l_softmax(lua_State *L) {
    logits_ud *u = check(L, 1);
    float *p = lab_logits_push(L, u->m, NULL, u->n, true);
    probs_of(u, p);
    return 1;
}

/* l:log_softmax() -> a new Logits of log-probabilities (still logits) */
static int l_log_softmax(lua_State *L) {
    logits_ud *u = check(L, 1);
    float *o = lab_logits_push(L, u->m, NULL, u->n, false);
    double ln = log_norm(u);
    for (int32_t i = 0; i < u->n; i++) o[i] = (float)logprob_of(u, i, ln);
    return 1;
}

static int divergence(lua_State *L, bool js) {
    logits_ud *a = check(L, 1), *b = check(L, 2);
    if (a->n != b->n)
        return luaL_argerror(L, 2, lua_pushfstring(L, "vocabulary sizes differ (%d and %d)", (int)a->n, (int)b->n));
    float *p = lua_newuserdatauv(L, sizeof(float) * 2 * (size_t)a->n, 0);
    float *q = p + a->n;
    probs_of(a, p);
    probs_of(b, q);
    lua_pushnumber(L, js ? logits_js(p, q, a->n) : logits_kl(p, q, a->n));
    return 1;
}

/* l:kl(other) -> KL(l || other) in nats */
static int l_kl(lua_State *L) { return divergence(L, false); }
/* l:js(other) -> Jensen-Shannon divergence in nats */
static int l_js(lua_State *L) { return divergence(L, true); }

/* l:bias{[id] = value, ...} -> a new Logits with the values added (-math.huge masks) */
static int l_bias(lua_State *L) {
    logits_ud *u = check(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    if (u->probs) return luaL_argerror(L, 1, "bias applies to logits, not probabilities");
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 0 || lua_tointeger(L, -2) >= u->n)
            return luaL_argerror(L, 2, "keys must be token ids in range");
        if (lua_type(L, -1) != LUA_TNUMBER || isnan(lua_tonumber(L, -1)))
            return luaL_argerror(L, 2, "values must be numbers");
        lua_pop(L, 1);
    }
    float *o = lab_logits_push(L, u->m, u->x, u->n, false);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        o[lua_tointeger(L, -2)] += (float)lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    return 1;
}

/* l:keep{id, ...} -> a new Logits where every other token is -inf */
static int l_keep(lua_State *L) {
    logits_ud *u = check(L, 1);
    if (u->probs) return luaL_argerror(L, 1, "keep applies to logits, not probabilities");
    int32_t n;
    int32_t *ids = lab_check_tokens(L, 2, u->n, &n);
    float *o = lab_logits_push(L, u->m, u->x, u->n, false);
    bool *keep = lua_newuserdatauv(L, (size_t)u->n, 0);
    memset(keep, 0, (size_t)u->n);
    for (int32_t i = 0; i < n; i++) keep[ids[i]] = true;
    for (int32_t i = 0; i < u->n; i++)
        if (!keep[i]) o[i] = -INFINITY;
    lua_pop(L, 1);
    return 1;
}

const float *lab_logits_check(lua_State *L, int idx, int32_t *n) {
    logits_ud *u = check(L, idx);
    *n = u->n;
    if (!u->probs) return u->x;
    float *lg = lua_newuserdatauv(L, sizeof(float) * (size_t)u->n, 0);
    for (int32_t i = 0; i < u->n; i++) lg[i] = u->x[i] > 0 ? logf(u->x[i]) : -INFINITY;
    return lg;
}

lmodel *lab_logits_model(lua_State *L, int idx) { return check(L, idx)->m; }

/* l:sample(sampler) -> id: picks through the sampler's chain and accepts
 * the token (penalties see it) */
static int l_sample(lua_State *L) {
    int32_t n;
    const float *row = lab_logits_check(L, 1, &n);
    (void)row;
    int32_t id = lab_smp_sample_seq(L, 2, 1, 0, true);
    if (id < 0) return lab_fail(L, "the grammar allows no token here");
    lua_pushinteger(L, id);
    return 1;
}

/* lab.logits.combine({{a, w [, b] [, relu=true]}, ...} [, {trim=true}]) -> Logits | nil, err
 * Each term adds w*a, w*(a - b) or w*max(0, a - b) (logits_mix). */
static int l_combine(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    bool trim = false;
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "trim");
        trim = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    lua_Integer nt = luaL_len(L, 1);
    if (nt < 1 || nt > 64) return luaL_argerror(L, 1, "between 1 and 64 terms expected");
    logits_term *t = lua_newuserdatauv(L, sizeof *t * (size_t)nt, 0);
    lmodel *m = NULL;
    int32_t cap = INT32_MAX;
    for (lua_Integer i = 1; i <= nt; i++) {
        if (lua_rawgeti(L, 1, i) != LUA_TTABLE)
            return luaL_argerror(L, 1, lua_pushfstring(L, "term %I must be a table {logits, weight [, minus] [, relu=]}", i));
        int tt = lua_gettop(L);
        lua_rawgeti(L, tt, 1);
        lua_rawgeti(L, tt, 2);
        lua_rawgeti(L, tt, 3);
        lua_getfield(L, tt, "relu");
        logits_ud *a = luaL_testudata(L, tt + 1, LOGITS_T);
        logits_ud *b = lua_isnil(L, tt + 3) ? NULL : luaL_testudata(L, tt + 3, LOGITS_T);
        if (!a) return luaL_argerror(L, 1, lua_pushfstring(L, "term %I: [1] must be Logits", i));
        if (!lua_isnil(L, tt + 3) && !b) return luaL_argerror(L, 1, lua_pushfstring(L, "term %I: [3] must be Logits", i));
        if (a->probs || (b && b->probs))
            return luaL_argerror(L, 1, lua_pushfstring(L, "term %I: combine works on logits, not probabilities", i));
        int isnum;
        double w = lua_tonumberx(L, tt + 2, &isnum);
        if (!isnum || !isfinite(w)) return luaL_argerror(L, 1, lua_pushfstring(L, "term %I: [2] must be a finite weight", i));
        t[i - 1] = (logits_term){ (float)w, a->x, b ? b->x : NULL, a->n, b ? b->n : 0, lua_toboolean(L, tt + 4) };
        if (a->n < cap) cap = a->n;
        if (b && b->n < cap) cap = b->n;
        if (!m) m = a->m;
        /* rows of equal length from different vocabularies would mix
         * unrelated tokens: refuse them (terms counted from 1) */
        const logits_ud *rows[2] = { a, b };
        for (int r = 0; r < 2; r++) {
            const logits_ud *u = rows[r];
            char verr[400];
            if (!u || !u->m || !m || u->m == m) continue;
            if (!trim && u->n != t[0].n_a)
                return lab_fail(L, "term %d: a row of %d values, term 1 has %d (vocabularies differ; pass {trim=true} "
                                   "to cut rows to the shortest)", (int)i, (int)u->n, (int)t[0].n_a);
            if (u->n == m->n_vocab && !lab_model_same_vocab(m, u->m, verr, sizeof verr))
                return lab_fail(L, "term %d: %s: its model's vocabulary differs from term 1's (%s)", (int)i,
                                r ? "[3]" : "[1]", verr);
        }
        if (!trim && (a->n != t[0].n_a || (b && b->n != t[0].n_a)))
            return lab_fail(L, "term %d: a row of %d values, term 1 has %d (pass {trim=true} to cut rows to the shortest)",
                            (int)i, (int)(a->n != t[0].n_a ? a->n : b->n), (int)t[0].n_a);
        lua_settop(L, tt - 1);
    }
    int32_t maxn = 0;
    for (lua_Integer i = 0; i < nt; i++) {
        if (t[i].n_a > maxn) maxn = t[i].n_a;
        if (t[i].b && t[i].n_b > maxn) maxn = t[i].n_b;
    }
    char err[256];
    float *o = lab_logits_push(L, m, NULL, trim ? cap : maxn, false);
    int32_t n = logits_mix(o, trim ? cap : maxn, t, (int32_t)nt, trim ? LOGITS_TRIM : 0, err, sizeof err);
    if (n < 0) return lab_fail(L, "%s%s", err, n == LOGITS_EVOCAB ? " (pass {trim=true} to cut rows to the shortest)" : "");
    return 1;
}

static const luaL_Reg logits_methods[] = {
    { "get", l_get },         { "is_probs", l_is_probs }, { "prob", l_prob },
    { "logprob", l_logprob }, { "entropy", l_entropy },   { "argmax", l_argmax },
    { "rank", l_rank },       { "top", l_top },           { "softmax", l_softmax },
    { "log_softmax", l_log_softmax }, { "kl", l_kl },     { "js", l_js },
    { "bias", l_bias },       { "keep", l_keep },         { "sample", l_sample },
    { NULL, NULL },
};
static const luaL_Reg logits_meta[] = {
    { "__gc", l_gc }, { "__len", l_len }, { "__tostring", l_tostring }, { NULL, NULL },
};
static const luaL_Reg logits_fns[] = { { "combine", l_combine }, { NULL, NULL } };

int lab_open_logits(lua_State *L) {
    lab_class(L, LOGITS_T, "Logits", logits_methods, logits_meta);
    luaL_newlib(L, logits_fns);
    return 1;
}
