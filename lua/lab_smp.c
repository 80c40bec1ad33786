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
    double last_lp;         /* post-sampler log-prob of the last pick */
    int32_t n_vocab;        /* length of the last row picked from; 0 before */
    int32_t max_bias;       /* largest id in bias, -1 when none */
    /* constraint (lab.grammar, option `grammar`): the chain's first stage
     * reads the matcher bound before each pick: the Seq's when one is given,
     * else `own` (made on the first pick; tokens accepted before it are the
     * prompt) */
    smp *gstage;            /* borrowed from chain, or NULL */
    gmatch *own;
    bool armed;
} smp_ud;

/* Seeds of samplers made without one: the k-th such sampler of a Lua state
 * (k = 0, 1, ...) gets seed_k = run_seed for k = 0 and splitmix64(run_seed +
 * k * 0x9E3779B97F4A7C15) after, so a script is reproducible from its run
 * seed (lab.seed, default 42) and N fresh samplers draw N different
 * streams. SplitMix64: G. Steele, D. Lea, C. Flood, "Fast Splittable
 * Pseudorandom Number Generators", OOPSLA 2014. The state lives in the
 * registry of each Lua state (no global state). */
#define SEED_KEY "lab.seed"
typedef struct seed_state { uint64_t run_seed, next; } seed_state;

static seed_state *seeds(lua_State *L) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, SEED_KEY) == LUA_TUSERDATA) {
        seed_state *st = lua_touserdata(L, -1);
        lua_pop(L, 1);
        return st;
    }
    lua_pop(L, 1);
    seed_state *st = lua_newuserdatauv(L, sizeof *st, 0);
    st->run_seed = 42;
    st->next = 0;
    lua_setfield(L, LUA_REGISTRYINDEX, SEED_KEY);
    return st;
}

static uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static uint64_t next_seed(lua_State *L) {
    seed_state *st = seeds(L);
    uint64_t k = st->next++;
    return k == 0 ? st->run_seed : splitmix64(st->run_seed + k * 0x9E3779B97F4A7C15ull);
}

uint64_t lab_smp_run_seed(lua_State *L) { return seeds(L)->run_seed; }

/* lab.seed([n]) -> the run seed (before setting it). Setting it restarts
 * the sequence of derived seeds. */
static int l_seed(lua_State *L) {
    seed_state *st = seeds(L);
    lua_pushinteger(L, (lua_Integer)st->run_seed);
    if (!lua_isnoneornil(L, 1)) {
        if (!lua_isinteger(L, 1)) return luaL_argerror(L, 1, "an integer seed expected");
        st->run_seed = (uint64_t)lua_tointeger(L, 1);
        st->next = 0;
    }
    return 1;
}

static const char *const KNOWN =
    "temp, top_k, top_p, min_p, typical_p, min_keep, repeat_penalty, repeat_last_n, "
    "frequency_penalty, presence_penalty, seed, chain, bias, grammar, model";

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
        } else if (strcmp(k, "model") == 0) {
            if (!lab_model_is_open(L, lua_absindex(L, -1)))
                luaL_error(L, "bad sampler option 'model' (an open Model expected, got %s)", luaL_typename(L, -1));
        } else {
            luaL_error(L, "unknown sampler option '%s' (known: %s)", k, KNOWN);
        }
        lua_pop(L, 1);
    }
    char err[256];
    if (smp_params_check(p, err, sizeof err) != 0) luaL_error(L, "bad sampler options: %s", err);
}

/* A shallow copy of the options table at 1 (bias copied too), kept as
 * the sampler's uservalue 1 for clone. Pushes it. */
static void copy_opts(lua_State *L, int idx) {
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) == LUA_TSTRING && strcmp(lua_tostring(L, -2), "bias") == 0 && lua_istable(L, -1)) {
            int b = lua_gettop(L);
            lua_newtable(L);
            lua_pushnil(L);
            while (lua_next(L, b)) {
                lua_pushvalue(L, -2);
                lua_insert(L, -2);
                lua_rawset(L, -4);
            }
            lua_replace(L, b);
        }
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
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
    if (lua_getfield(L, 1, "seed") == LUA_TNIL) {      /* the documented rule: drawn from the run seed */
        p.seed = next_seed(L);
        copy_opts(L, 1);
        lua_pushinteger(L, (lua_Integer)p.seed);
        lua_setfield(L, -2, "seed");
        lua_replace(L, 1);
    }
    lua_settop(L, 1);
    copy_opts(L, 1);                                   /* [opts copy] */
    smp_ud *u = lua_newuserdatauv(L, sizeof *u, 1);    /* [opts copy S] */
    memset(u, 0, sizeof *u);
    luaL_setmetatable(L, SMP_T);
    u->max_bias = -1;
    lua_insert(L, 2);                                  /* [opts S copy] */
    lua_setiuservalue(L, 2, 1);                        /* [opts S] */
    /* with the model known, ids are checked against its vocabulary now
     * (bias here, accept at once) instead of at the first pick */
    int32_t nv = 0;
    if (lua_getfield(L, 1, "model") != LUA_TNIL) u->n_vocab = nv = lab_model_check(L, lua_gettop(L))->n_vocab;
    lua_pop(L, 1);
    logits_bias b;
    logits_bias_init(&b);
    bool oom = false;
    if (lua_getfield(L, 1, "bias") == LUA_TTABLE) {    /* checked above */
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            if (nv && lua_tointeger(L, -2) >= nv) {
                logits_bias_fini(&b);
                return luaL_error(L, "bad sampler option 'bias' (token id %d out of range [0, %d) of the model's vocabulary)",
                                  (int)lua_tointeger(L, -2), (int)nv);
            }
            oom |= logits_bias_add(&b, (int32_t)lua_tointeger(L, -2), (float)lua_tonumber(L, -1)) != 0;
            if (lua_tointeger(L, -2) > u->max_bias) u->max_bias = (int32_t)lua_tointeger(L, -2);
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
    if (lua_getfield(L, 1, "grammar") != LUA_TNIL &&   /* checked above */
        smp_chain_prepend(u->chain, u->gstage = gmatch_smp_create(NULL))) {
        u->gstage = NULL;
        return luaL_error(L, "out of memory");
    }
    lua_pop(L, 1);
    return 1;
}

static smp_ud *check(lua_State *L, int idx) {
    smp_ud *u = luaL_checkudata(L, idx, SMP_T);
    if (!u->chain) luaL_argerror(L, idx, "the sampler is closed");
    return u;
}

/* The matcher this pick is constrained by (see smp_ud), or NULL. lidx: the
 * Logits (for its model), sidx: the Seq or 0. */
static gmatch *pick_matcher(lua_State *L, smp_ud *u, int idx, int lidx, int sidx) {
    lua_getiuservalue(L, idx, 1);                      /* [.. opts] */
    bool has_grammar = lua_getfield(L, -1, "grammar") != LUA_TNIL;
    int g = lua_gettop(L);                             /* [.. opts G] */
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
    lua_pop(L, 2);
    if (m && !u->gstage && smp_chain_prepend(u->chain, u->gstage = gmatch_smp_create(NULL))) {
        u->gstage = NULL;
        luaL_error(L, "out of memory");
    }
    return m;
}

static int32_t sample(lua_State *L, smp_ud *u, const float *row, int32_t n, bool accept, gmatch *m);

int32_t lab_smp_sample_seq(lua_State *L, int idx, int lidx, int sidx, bool accept) {
    smp_ud *u = check(L, idx);
    int32_t n;
    const float *row = lab_logits_check(L, lidx, &n);
    gmatch *m = pick_matcher(L, u, idx, lidx, sidx);
    int32_t id = sample(L, u, row, n, accept, m);
    if (id >= 0 && accept && m && m == u->own) (void)gmatch_accept(u->own, id);
    return id;
}

int32_t lab_smp_sample(lua_State *L, int idx, const float *row, int32_t n, bool accept) {
    smp_ud *u = check(L, idx);
    return sample(L, u, row, n, accept, NULL);
}

/* One pick under matcher m (NULL: none); SMP_EMASK when m leaves nothing. */
static int32_t sample(lua_State *L, smp_ud *u, const float *row, int32_t n, bool accept, gmatch *m) {
    if (!u->has_cands || u->cands.cap < n) {
        if (u->has_cands) smp_cands_fini(&u->cands);
        u->has_cands = false;
        if (smp_cands_init(&u->cands, n) != 0) luaL_error(L, "out of memory");
        u->cands.only_selected = true;      /* a pick reads data[selected] alone */
        u->has_cands = true;
    }
    if (u->max_bias >= n)
        luaL_error(L, "bad sampler option 'bias' (token id %d out of range [0, %d) of this row)", (int)u->max_bias, (int)n);
    u->n_vocab = n;
    smp_cands_set_ref(&u->cands, row, n);   /* row outlives the pick; only data[selected] is read after */
    if (u->gstage) gmatch_smp_bind(u->gstage, m);
    int32_t id = smp_sample(u->chain, &u->cands);
    if (u->gstage) gmatch_smp_bind(u->gstage, NULL);
    if (id == SMP_EMASK) return id;
    if (id == SMP_ENOSEL) luaL_error(L, "the sampler chain selects no token (end it with greedy or dist)");
    if (id < 0) luaL_error(L, "the sampler chain failed (%d)", (int)id);
    const smp_cand *sel = &u->cands.data[u->cands.selected];
    if (sel->logit == -INFINITY || isnan(sel->logit))
        luaL_error(L, "cannot sample: every token is masked (-inf) after the sampler chain");
    /* The selecting stage drew from the normalized candidates (dist) or
     * took the best one (greedy: probability 1). */
    u->last_lp = u->cands.normalized ? log((double)sel->p) : 0.0;
    if (accept) smp_accept(u->chain, id);
    return id;
}

/* nil, why: the constraint left no token. */
static int no_token(lua_State *L, int sidx) {
    gmatch *m = sidx ? lab_seq_gmatch(L, sidx) : check(L, 1)->own;
    return lab_fail(L, m && (gmatch_complete(m) || gmatch_finished(m)) ? "grammar complete: no token may follow"
                                                                        : "the grammar allows no token here");
}

/* s:pick_lp(logits [, seq]) -> id, logprob | nil, err: the pick and its
 * log-probability under the distribution the chain drew it from (0 for a
 * greedy pick); seq as in s:pick */
static int s_pick_lp(lua_State *L) {
    check(L, 1);
    int sidx = lua_isnoneornil(L, 3) ? 0 : 3;
    lua_settop(L, 3);
    int32_t id = lab_smp_sample_seq(L, 1, 2, sidx, false);
    if (id == SMP_EMASK) return no_token(L, sidx);
    lua_pushinteger(L, id);
    lua_pushnumber(L, check(L, 1)->last_lp);
    return 2;
}

/* s:clone([{seed=, ...}]) -> a new Sampler with this one's options (a
 * fresh history), overridden by the given ones; without seed= a seed is
 * drawn by the rule of lab.sampler */
static int s_clone(lua_State *L) {
    check(L, 1);
    if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
    lua_getiuservalue(L, 1, 1);
    copy_opts(L, lua_gettop(L));                       /* [s over? stored copy] */
    int t = lua_gettop(L);
    lua_pushnil(L);
    lua_setfield(L, t, "seed");
    if (lua_istable(L, 2)) {
        lua_pushnil(L);
        while (lua_next(L, 2)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_settable(L, t);
        }
    }
    lua_pushcfunction(L, l_sampler);
    lua_pushvalue(L, t);
    lua_call(L, 1, 1);
    return 1;
}

/* s:pick(logits [, seq]) -> id | nil, err: without accepting it. With a
 * seq, its constraint (or the sampler's grammar, attached to it at its
 * current length) masks; nil, err when the constraint leaves no token. */
static int s_pick(lua_State *L) {
    check(L, 1);
    int sidx = lua_isnoneornil(L, 3) ? 0 : 3;
    lua_settop(L, 3);
    int32_t id = lab_smp_sample_seq(L, 1, 2, sidx, false);
    if (id == SMP_EMASK) return no_token(L, sidx);
    lua_pushinteger(L, id);
    return 1;
}

/* s:accept(id): the token joined the text (penalties count it) */
static int s_accept(lua_State *L) {
    smp_ud *u = check(L, 1);
    lua_Integer id = luaL_checkinteger(L, 2);
    if (id < 0 || id > INT32_MAX) return luaL_argerror(L, 2, "token id expected");
    if (u->n_vocab && id >= u->n_vocab)
        return luaL_argerror(L, 2, lua_pushfstring(L, "token id %I out of range [0, %d)", id, (int)u->n_vocab));
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
    { "pick", s_pick }, { "pick_lp", s_pick_lp }, { "clone", s_clone }, { "accept", s_accept }, { "reset", s_reset }, { "stages", s_stages }, { "close", s_gc },
    { NULL, NULL },
};
static const luaL_Reg smp_meta[] = { { "__gc", s_gc }, { "__close", s_gc }, { NULL, NULL } };

/* lab_open_smp(lab): the Sampler type and lab.sampler. */
int lab_open_smp(lua_State *L) {
    lab_class(L, SMP_T, "Sampler", smp_methods, smp_meta);
    lua_pushcfunction(L, l_sampler);
    lua_setfield(L, 1, "sampler");
    lua_pushcfunction(L, l_seed);
    lua_setfield(L, 1, "seed");
    return 0;
}
