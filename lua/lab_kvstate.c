/* lab_kvstate: a sequence's KV cells as bytes, for seq:save / model:load
 * (lua/run.lua): priv.kv_state(seq) copies the K and V rows of the cached
 * positions out of the engine, priv.kv_restore(seq, bytes) copies them into
 * a new sequence's cells, so that loading is a copy, not an evaluation.
 * The layout is ctx_seq_state_get's (core/ctx.h), little-endian float32 as
 * the engine holds them.
 */
#include <string.h>

#include "ctx.h"
#include "lhost_impl.h"

/* priv.kv_state(seq) -> bytes, n_eval, n_layers, kv_dim */
static int l_kv_state(lua_State *L) {
    lab_seq_state st;
    lab_seq_get(L, 1, &st);
    lab_model_sync(L, st.lm);
    int32_t nl, kd;
    ctx_kv_dims(st.lm->c, &nl, &kd);
    size_t bytes = ctx_seq_state_floats(st.lm->c, st.n_eval) * sizeof(float);
    luaL_Buffer b;
    float *buf = (float *)(void *)luaL_buffinitsize(L, &b, bytes ? bytes : 1);
    if (ctx_seq_state_get(st.lm->c, st.id, st.n_eval, buf) != CTX_OK)
        return luaL_error(L, "the engine refused to read the sequence's cache");
    luaL_pushresultsize(&b, bytes);
    lua_pushinteger(L, st.n_eval);
    lua_pushinteger(L, nl);
    lua_pushinteger(L, kd);
    return 4;
}

/* priv.kv_restore(seq, bytes, n_eval) -> true | nil, err: seq is new
 * (nothing cached); its first n_eval tokens get the saved cells. */
static int l_kv_restore(lua_State *L) {
    lab_seq_state st;
    lab_seq_get(L, 1, &st);
    size_t len;
    const char *bytes = luaL_checklstring(L, 2, &len);
    lua_Integer n_eval = luaL_checkinteger(L, 3);
    if (st.n_eval != 0 || n_eval < 0 || n_eval > st.n) return luaL_error(L, "kv_restore: not a new sequence");
    if (len != ctx_seq_state_floats(st.lm->c, (int32_t)n_eval) * sizeof(float)) {
        lua_pushnil(L);
        lua_pushfstring(L, "the saved cells are %I bytes, this model's %I positions take %I",
                        (lua_Integer)len, n_eval, (lua_Integer)(ctx_seq_state_floats(st.lm->c, (int32_t)n_eval) * sizeof(float)));
        return 2;
    }
    lab_model_sync(L, st.lm);
    /* a copy: the bytes of a Lua string need not be aligned for floats */
    float *buf = lua_newuserdatauv(L, len ? len : 1, 0);
    memcpy(buf, bytes, len);
    int rc = ctx_seq_state_put(st.lm->c, st.id, buf, (int32_t)n_eval);
    if (rc != CTX_OK) {
        lua_pushnil(L);
        lua_pushstring(L, rc == CTX_EFULL ? "the KV cache has too few free cells for the saved sequence"
                                          : "the engine refused the saved cells");
        return 2;
    }
    lab_seq_set_cached(L, 1, (int32_t)n_eval);
    lua_pushboolean(L, 1);
    return 1;
}

void lab_open_kvstate(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, "lab.priv");
    lua_pushcfunction(L, l_kv_state);
    lua_setfield(L, -2, "kv_state");
    lua_pushcfunction(L, l_kv_restore);
    lua_setfield(L, -2, "kv_restore");
    lua_pop(L, 1);
}
