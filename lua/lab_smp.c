/* lab_smp: lab.sampler{...} and the Sampler userdata, a core sampler chain
 * (smp_chain_parse) with its candidates buffer.
 *
 * Options are checked in full (names, types, ranges through
 * smp_params_check, the chain spec through a parse) before anything is
 * allocated, so a bad table raises without leaking. The candidates array
 * is sized on the first pick and regrown for a larger vocabulary.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gmatch.h"
#include "lhost_impl.h"
#include "logits.h"
#include "smp.h"

#define SMP_T "lab.Sampler"

typedef struct smp_ud {
    smp *chain;
    smp_cands cands;
    bool has_cands;
    /* constraint (lab.grammar): the chain's first stage reads the matcher
     * bound before each pick: the Seq's when one is given, else `own`
     * (created on the first pick; tokens accepted before it are the prompt) */
    smp *gstage;            /* borrowed from chain, or NULL */
    gmatch *own;
    bool armed;
} smp_ud;

static const char *const KNOWN =
    "temp, top_k, top_p, min_p, typical_p, min_keep, repeat_penalty, repeat_last_n, "
    "frequency_penalty, presence_penalty, seed, chain, bias, grammar";

static float num_opt(lua_State *L, const char *k) {
    int isnum;
    double v = lua_tonumberx(L, -1, &isnum);
    if (!isnum) luaL_error(L, "bad sampler option '%s' (a number expected, got %s)", k, luaL_typename(L, -1));
    return (float)v;
}

static int32_t int_opt(lua_State *L, const char *k) {
    if (!lua_isinteger(L, -1)) luaL_error(L, "bad sampler option '%s' (an integer expected, got %s)", k, luaL_typename(L, -1));
    lua_Integer v = lua_tointeger(L, -1);
    if (v < -(1 << 30) || v > (1 << 30)) luaL_error(L, "bad sampler option '%s' (out of range)", k);
    return (int32_t)v;
}

/* Reads opts (table at 1) into p and *spec; raises on anything unknown. */
static void read_opts(lua_State *L, smp_params *p, const char **spec) {
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (!k) luaL_error(L, "bad sampler option (names are strings; known: %s)", KNOWN);
        if (strcmp(k, "temp") == 0 || strcmp(k, "temperature") == 0) p->temp = num_opt(L, k);
        else if (strcmp(k, "top_k") == 0) p->top_k = int_opt(L, k);
        else if (strcmp(k, "top_p") == 0) p->top_p = num_opt(L, k);
        else if (strcmp(k, "min_p") == 0) p->min_p = num_opt(L, k);
        else if (strcmp(k, "typical_p") == 0 || strcmp(k, "typical") == 0) p->typical_p = num_opt(L, k);
        else if (strcmp(k, "min_keep") == 0) p->min_keep = int_opt(L, k);
        else if (strcmp(k, "repeat_penalty") == 0) p->repeat_penalty = num_opt(L, k);
        else if (strcmp(k, "repeat_last_n") == 0) p->repeat_last_n = int_opt(L, k);
        else if (strcmp(k, "frequency_penalty") == 0) p->frequency_penalty = num_opt(L, k);
        else if (strcmp(k, "presence_penalty") == 0) p->presence_penalty = num_opt(L, k);
        else if (strcmp(k, "seed") == 0) {
            if (!lua_isinteger(L, -1)) luaL_error(L, "bad sampler option 'seed' (an integer expected)");
            p->seed = (uint64_t)lua_tointeger(L, -1);
        } else if (strcmp(k, "chain") == 0) {
            if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "bad sampler option 'chain' (a string such as \"top_k,temp,dist\")");
            *spec = lua_tostring(L, -1);
        } else if (strcmp(k, "bias") == 0) {
            if (!lua_istable(L, -1)) luaL_error(L, "bad sampler option 'bias' (a table {[id] = value})");
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 0 || lua_tointeger(L, -2) > INT32_MAX)
                    luaL_error(L, "bad sampler option 'bias' (keys must be token ids)");
                if (lua_type(L, -1) != LUA_TNUMBER || isnan(lua_tonumber(L, -1)))
                    luaL_error(L, "bad sampler option 'bias' (values must be numbers; -math.huge masks)");
                lua_pop(L, 1);
            }
        } else if (strcmp(k, "grammar") == 0) {
            if (!lab_grammar_is(L, -1)) luaL_error(L, "bad sampler option 'grammar' (a Grammar from lab.grammar expected)");
        } else {
            luaL_error(L, "unknown sampler option '%s' (known: %s)", k, KNOWN);
        }
        lua_pop(L, 1);
    }
    char err[256];
    if (smp_params_check(p, err, sizeof err) != 0) luaL_error(L, "bad sampler options: %s", err);
}

/* lab.sampler([opts]) -> Sampler */
static int l_sampler(lua_State *L) {
    smp_params p;
    smp_params_default(&p);
    const char *spec = NULL;
    if (lua_isnoneornil(L, 1)) lua_newtable(L);
    else luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    read_opts(L, &p, &spec);
    smp_ud *u = lua_newuserdatauv(L, sizeof *u, 1);    /* [opts S]; uservalue 1: the Grammar */
    memset(u, 0, sizeof *u);
    luaL_setmetatable(L, SMP_T);
    logits_bias b;
    logits_bias_init(&b);
    bool oom = false;
    if (lua_getfield(L, 1, "bias") == LUA_TTABLE) {    /* checked above */
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            oom |= logits_bias_add(&b, (int32_t)lua_tointeger(L, -2), (float)lua_tonumber(L, -1)) != 0;
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    p.bias = b.n ? &b : NULL;
    char err[256];
    int rc = oom ? SMP_ENOMEM : smp_chain_parse(&u->chain, spec, &p, err, sizeof err);
    logits_bias_fini(&b);
    if (rc == SMP_ENOMEM || (rc && oom)) return luaL_error(L, "out of memory");
    if (rc) return luaL_error(L, "bad sampler option 'chain': %s (stages: %s)", err, SMP_NAMES);
    if (lua_getfield(L, 1, "grammar") != LUA_TNIL) {  /* checked above */
        lua_setiuservalue(L, 2, 1);
        if (smp_chain_prepend(u->chain, u->gstage = gmatch_smp_create(NULL))) { u->gstage = NULL; return luaL_error(L, "out of memory"); }
    } else {
        lua_pop(L, 1);
    }
    return 1;
}

static smp_ud *check(lua_State *L, int idx) {
    smp_ud *u = luaL_checkudata(L, idx, SMP_T);
    if (!u->chain) luaL_argerror(L, idx, "the sampler is closed");
    return u;
}

/* The matcher this pick is constrained by (see smp_ud), or NULL. */
static gmatch *pick_matcher(lua_State *L, smp_ud *u, int idx, int lidx, int sidx) {
    bool has_grammar = lua_getiuservalue(L, idx, 1) != LUA_TNIL;   /* [.. G] */
    int g = lua_gettop(L);
    gmatch *m = NULL;
    if (sidx) {
        m = lab_seq_gmatch(L, sidx);
        if (!m && has_grammar) {
            lab_seq_constrain(L, sidx, g);
            m = lab_seq_gmatch(L, sidx);
        }
    } else if (has_grammar) {
        if (!u->own) {
            lmodel *lm = lidx ? lab_logits_model(L, lidx) : NULL;
            if (!lm) luaL_error(L, "a sampler with a grammar needs logits from a model (or a seq: s:pick(logits, seq))");
            if (!(u->own = gmatch_create(lab_grammar_ctx(L, g, lm)))) luaL_error(L, "out of memory");
        }
        m = u->own;
        u->armed = true;
    }
    lua_pop(L, 1);
    if (m && !u->gstage && smp_chain_prepend(u->chain, u->gstage = gmatch_smp_create(NULL))) {
        u->gstage = NULL;
        luaL_error(L, "out of memory");
    }
    return m;
}

int32_t lab_smp_sample(lua_State *L, int idx, const float *row, int32_t n, bool accept) {
    smp_ud *u = check(L, idx);
    if (!u->has_cands || u->cands.cap < n) {
        if (u->has_cands) smp_cands_fini(&u->cands);
        u->has_cands = false;
        if (smp_cands_init(&u->cands, n) != 0) luaL_error(L, "out of memory");
        u->has_cands = true;
    }
    smp_cands_set(&u->cands, row, n);
    int32_t id = smp_sample(u->chain, &u->cands);
    if (id == SMP_ENOSEL) luaL_error(L, "the sampler chain selects no token (end it with greedy or dist)");
    if (id < 0) luaL_error(L, "the sampler chain failed (%d)", (int)id);
    if (accept) smp_accept(u->chain, id);
    return id;
}

int32_t lab_smp_sample_seq(lua_State *L, int idx, int lidx, int sidx, bool accept) {
    smp_ud *u = check(L, idx);
    int32_t n;
    const float *row = lab_logits_check(L, lidx, &n);
    gmatch *m = pick_matcher(L, u, idx, lidx, sidx);
    if (u->gstage) gmatch_smp_bind(u->gstage, m);
    if (!u->has_cands || u->cands.cap < n) {
        if (u->has_cands) smp_cands_fini(&u->cands);
        u->has_cands = false;
        if (smp_cands_init(&u->cands, n) != 0) luaL_error(L, "out of memory");
        u->has_cands = true;
    }
    smp_cands_set(&u->cands, row, n);
    int32_t id = smp_sample(u->chain, &u->cands);
    if (u->gstage) gmatch_smp_bind(u->gstage, NULL);
    if (id == SMP_EMASK) return id;
    if (id == SMP_ENOSEL) luaL_error(L, "the sampler chain selects no token (end it with greedy or dist)");
    if (id < 0) luaL_error(L, "the sampler chain failed (%d)", (int)id);
    if (accept) {
        smp_accept(u->chain, id);
        if (u->own && !sidx) (void)gmatch_accept(u->own, id);
    }
    return id;
}

/* s:pick(logits [, seq]) -> id | nil, err: without accepting it. With a
 * seq, its constraint (or the sampler's grammar, attached to it) masks;
 * nil, err when the constraint leaves no token. */
static int s_pick(lua_State *L) {
    check(L, 1);
    int sidx = lua_isnoneornil(L, 3) ? 0 : 3;
    lua_settop(L, 3);
    int32_t id = lab_smp_sample_seq(L, 1, 2, sidx, false);
    if (id == SMP_EMASK) {
        gmatch *m = sidx ? lab_seq_gmatch(L, sidx) : check(L, 1)->own;
        return lab_fail(L, m && (gmatch_complete(m) || gmatch_finished(m)) ? "grammar complete: no token may follow"
                                                                            : "the grammar allows no token here");
    }
    lua_pushinteger(L, id);
    return 1;
}

/* s:accept(id): the token joined the text (penalties count it) */
static int s_accept(lua_State *L) {
    smp_ud *u = check(L, 1);
    lua_Integer id = luaL_checkinteger(L, 2);
    if (id < 0 || id > INT32_MAX) return luaL_argerror(L, 2, "token id expected");
    smp_accept(u->chain, (int32_t)id);
    if (u->own && u->armed) (void)gmatch_accept(u->own, (int32_t)id);
    return 0;
}

static int s_reset(lua_State *L) {
    smp_ud *u = check(L, 1);
    smp_reset(u->chain);
    if (u->own) gmatch_reset(u->own);
    u->armed = false;
    return 0;
}

/* s:stages() -> {"top_k", "temp", ...} */
static int s_stages(lua_State *L) {
    smp_ud *u = check(L, 1);
    int32_t n = smp_chain_n(u->chain);
    lua_createtable(L, n, 0);
    for (int32_t i = 0; i < n; i++) {
        lua_pushstring(L, smp_name(smp_chain_get(u->chain, i)));
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int s_gc(lua_State *L) {
    smp_ud *u = luaL_checkudata(L, 1, SMP_T);
    smp_destroy(u->chain);
    u->chain = NULL;
    u->gstage = NULL;
    gmatch_destroy(u->own);
    u->own = NULL;
    if (u->has_cands) smp_cands_fini(&u->cands);
    u->has_cands = false;
    return 0;
}

static const luaL_Reg smp_methods[] = {
    { "pick", s_pick }, { "accept", s_accept }, { "reset", s_reset }, { "stages", s_stages }, { "close", s_gc },
    { NULL, NULL },
};
static const luaL_Reg smp_meta[] = { { "__gc", s_gc }, { "__close", s_gc }, { NULL, NULL } };

/* lab_open_smp(lab): the Sampler type and lab.sampler. */
int lab_open_smp(lua_State *L) {
    lab_class(L, SMP_T, "Sampler", smp_methods, smp_meta);
    lua_pushcfunction(L, l_sampler);
    lua_setfield(L, 1, "sampler");
    return 0;
}
