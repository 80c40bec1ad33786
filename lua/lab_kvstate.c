/* lab_kvstate: a sequence's KV cells to and from a file, for seq:save /
 * model:load (lua/run.lua). priv.kv_save(seq, path) streams the K and V
 * rows of the cached positions out of the engine into the file;
 * priv.kv_load(seq, path, n_eval, bytes, sha256) streams them back into a
 * new sequence's cells, so that loading is a copy, not an evaluation. Both
 * pass the cells through one buffer of at most KV_CHUNK bytes (a layer's
 * block of positions, ctx_seq_state_get_part), so their memory does not
 * grow with the state, and the bytes never pass through Lua (a long
 * sequence's state is megabytes: it does not count against the Lua memory
 * cap). The payload's SHA-256 is computed chunk by chunk, written by the
 * save and checked by the load, which gives the cells back (the sequence
 * stays empty) when it does not match. The layout is ctx_seq_state_get's
 * (core/ctx.h: layer by layer, per position the K row then the V row),
 * little-endian float32 as the engine holds them; it is the same whether
 * written whole or in chunks. Paths follow lab.fs's rules (inside the
 * workspace).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fout.h"
#include "ctx.h"
#include "lhost_impl.h"
#include "sha256.h"

/* The most bytes of cells in memory at once (at least one position's K and
 * V rows of one layer). */
#define KV_CHUNK (64 * 1024)

/* Positions per chunk for rows of kv_dim floats. */
static int32_t chunk_positions(int32_t kv_dim) {
    size_t per = 2 * (size_t)kv_dim * sizeof(float);
    size_t n = per ? KV_CHUNK / per : 1;
    return n < 1 ? 1 : n > INT32_MAX ? INT32_MAX : (int32_t)n;
}

/* Writes len bytes; 0 or errno. */
static int write_all(int fd, const void *buf, size_t len) {
    for (size_t done = 0; done < len;) {
        ssize_t w = write(fd, (const char *)buf + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return w < 0 ? errno : EIO;
        done += (size_t)w;
    }
    return 0;
}

/* Reads up to len bytes; how many (fewer at the end of the file or on an
 * error). */
static size_t read_all(int fd, void *buf, size_t len) {
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, (char *)buf + got, len - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    return got;
}

/* Streams the cells of st into fd, a block at a time; their SHA-256 into
 * hex. 0, an errno, or -1 when the engine refused to read the cache. */
static int save_cells(const lab_seq_state *st, int fd, char hex[SHA256_HEX_LEN + 1]) {
    int32_t nl, kd;
    ctx_kv_dims(st->lm->c, &nl, &kd);
    int32_t per = chunk_positions(kd), len = st->n_eval;
    size_t row = 2 * (size_t)kd;                        /* floats per position and layer */
    float *buf = malloc(sizeof *buf * row * (size_t)(per < len ? per : len > 0 ? len : 1));
    if (!buf) return ENOMEM;
    sha256 h;
    sha256_init(&h);
    int e = 0;
    for (int32_t il = 0; il < nl && !e; il++)           /* the layout of ctx_seq_state_get, a block at a time */
        for (int32_t p0 = 0; p0 < len && !e; p0 += per) {
            int32_t n = len - p0 < per ? len - p0 : per;
            if (ctx_seq_state_get_part(st->lm->c, st->id, il, p0, n, buf) != CTX_OK) {
                e = -1;
                break;
            }
            sha256_add(&h, buf, sizeof *buf * row * (size_t)n);
            e = write_all(fd, buf, sizeof *buf * row * (size_t)n);
        }
    free(buf);
    uint8_t d[SHA256_LEN];
    sha256_fini(&h, d);
    sha256_hex(d, hex);
    return e;
}

/* priv.kv_save(seq, cells_path, json_path, describe) -> true | nil, err.
 * Writes the cells, then calls describe(bytes, sha256, n_eval, n_layers,
 * kv_dim) for the JSON text, each into a new file beside its target, and
 * renames the two over their targets only when both are whole: a save that
 * fails (a full disk, a file-size limit, an error in describe) leaves an
 * earlier save of the same name as it was. */
static int l_kv_save(lua_State *L) {
    lab_seq_state st;
    lab_seq_get(L, 1, &st);
    luaL_checkstring(L, 2);
    luaL_checkstring(L, 3);
    luaL_checktype(L, 4, LUA_TFUNCTION);
    char cells[PATH_MAX], json[PATH_MAX], tcells[PATH_MAX], tjson[PATH_MAX];
    const char *why;
    if (!lab_fs_resolve_new(L, 2, cells, sizeof cells, &why)) return lab_fail(L, "%s: %s", lua_tostring(L, 2), why);
    if (!lab_fs_resolve_new(L, 3, json, sizeof json, &why)) return lab_fail(L, "%s: %s", lua_tostring(L, 3), why);
    lab_model_sync(L, st.lm);
    int fd = fout_tmp_create(cells, 0644, tcells, sizeof tcells, &why);
    if (fd < 0) return lab_fail(L, "%s: %s", lua_tostring(L, 2), why);
    char hex[SHA256_HEX_LEN + 1];
    int e = save_cells(&st, fd, hex);
    if (close(fd) != 0 && !e) e = errno;
    if (e) {
        unlink(tcells);
        if (e < 0) return luaL_error(L, "the engine refused to read the sequence's cache");
        return lab_fail(L, "%s: %s", lua_tostring(L, 2), strerror(e));
    }
    int32_t nl, kd;
    ctx_kv_dims(st.lm->c, &nl, &kd);
    lua_pushvalue(L, 4);
    lua_pushinteger(L, (lua_Integer)(ctx_seq_state_floats(st.lm->c, st.n_eval) * sizeof(float)));
    lua_pushstring(L, hex);
    lua_pushinteger(L, st.n_eval);
    lua_pushinteger(L, nl);
    lua_pushinteger(L, kd);
    if (lua_pcall(L, 5, 1, 0) != LUA_OK || !lua_isstring(L, -1)) {
        unlink(tcells);
        if (!lua_isstring(L, -1)) return luaL_error(L, "kv_save: describe returned no text");
        return lua_error(L);
    }
    size_t tlen;
    const char *text = lua_tolstring(L, -1, &tlen);
    fd = fout_tmp_create(json, 0644, tjson, sizeof tjson, &why);
    if (fd < 0) {
        unlink(tcells);
        return lab_fail(L, "%s: %s", lua_tostring(L, 3), why);
    }
    e = write_all(fd, text, tlen);
    if (close(fd) != 0 && !e) e = errno;
    if (e) {
        unlink(tcells);
        unlink(tjson);
        return lab_fail(L, "%s: %s", lua_tostring(L, 3), strerror(e));
    }
    /* both whole: the cells first, then the description that names them */
    if (rename(tcells, cells) != 0) {
        e = errno;
        unlink(tcells);
        unlink(tjson);
        return lab_fail(L, "%s: %s", lua_tostring(L, 2), strerror(e));
    }
    if (rename(tjson, json) != 0) {
        e = errno;
        unlink(tjson);
        return lab_fail(L, "%s: %s", lua_tostring(L, 3), strerror(e));
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* priv.kv_dims(seq) -> n_layers, kv_dim */
static int l_kv_dims(lua_State *L) {
    lab_seq_state st;
    lab_seq_get(L, 1, &st);
    int32_t nl, kd;
    ctx_kv_dims(st.lm->c, &nl, &kd);
    lua_pushinteger(L, nl);
    lua_pushinteger(L, kd);
    return 2;
}

/* priv.kv_load(seq, path, n_eval, bytes, sha256 | nil) -> true | nil, err:
 * seq is new (nothing cached); its first n_eval tokens get the cells of
 * the file, which must hold `bytes` bytes (what the save wrote) whose
 * SHA-256 is sha256 (nil: a file of the second format, unchecked). */
static int l_kv_load(lua_State *L) {
    lab_seq_state st;
    lab_seq_get(L, 1, &st);
    const char *path = luaL_checkstring(L, 2);
    lua_Integer n_eval = luaL_checkinteger(L, 3);
    lua_Integer want = luaL_checkinteger(L, 4);
    const char *want_hex = luaL_optstring(L, 5, NULL);
    if (st.n_eval != 0 || n_eval < 0 || n_eval > st.n) return luaL_error(L, "kv_load: not a new sequence");
    lua_Integer need = (lua_Integer)(ctx_seq_state_floats(st.lm->c, (int32_t)n_eval) * sizeof(float));
    if (want != need)
        return lab_fail(L, "%s: the saved cells are %I bytes, this model's %I positions take %I", path, want, n_eval, need);
    char full[PATH_MAX];
    const char *why;
    if (!lab_fs_resolve_existing(L, 2, full, &why)) return lab_fail(L, "%s: %s", path, why);
    int fd = open(full, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return lab_fail(L, "%s: %s", path, strerror(errno));
    struct stat sb = { 0 };
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return lab_fail(L, "%s: not a regular file", path);
    }
    if ((lua_Integer)sb.st_size != want) {
        close(fd);
        return lab_fail(L, "%s: %I bytes, the save wrote %I (the file was cut short or changed)", path,
                        (lua_Integer)sb.st_size, want);
    }
    int32_t nl, kd;
    ctx_kv_dims(st.lm->c, &nl, &kd);
    int32_t per = chunk_positions(kd), len = (int32_t)n_eval;
    size_t row = 2 * (size_t)kd;
    float *buf = malloc(sizeof *buf * row * (size_t)(per < len ? per : len > 0 ? len : 1));
    if (!buf) {
        close(fd);
        return lab_fail(L, "%s: out of memory", path);
    }
    lab_model_sync(L, st.lm);
    int rc = ctx_seq_state_reserve(st.lm->c, st.id, len);
    if (rc != CTX_OK) {
        free(buf);
        close(fd);
        return lab_fail(L, "%s: %s", path, rc == CTX_EFULL ? "the KV cache has too few free cells for the saved sequence"
                                                            : "the engine refused the saved cells");
    }
    /* the cells are put as they are read; the checksum is known at the end,
     * and a mismatch gives them back (the sequence stays empty) */
    sha256 h;
    sha256_init(&h);
    const char *bad = NULL;
    lua_Integer at = 0;
    for (int32_t il = 0; il < nl && !bad; il++)
        for (int32_t p0 = 0; p0 < len && !bad; p0 += per) {
            int32_t n = len - p0 < per ? len - p0 : per;
            size_t nb = sizeof *buf * row * (size_t)n, got = read_all(fd, buf, nb);
            at += (lua_Integer)got;
            if (got != nb) bad = "short";
            else if (ctx_seq_state_put_part(st.lm->c, st.id, il, p0, n, buf) != CTX_OK) bad = "engine";
            else sha256_add(&h, buf, nb);
        }
    close(fd);
    free(buf);
    char hex[SHA256_HEX_LEN + 1] = "";
    if (!bad && want_hex) {
        uint8_t d[SHA256_LEN];
        sha256_fini(&h, d);
        sha256_hex(d, hex);
        if (strcmp(hex, want_hex) != 0) bad = "sha";
    }
    if (bad) {
        ctx_seq_rewind(st.lm->c, st.id, 0);
        if (strcmp(bad, "short") == 0)
            return lab_fail(L, "%s: read %I of %I bytes (the file was cut short meanwhile)", path, at, want);
        if (strcmp(bad, "engine") == 0) return lab_fail(L, "%s: the engine refused the saved cells", path);
        return lab_fail(L, "%s: the cells' SHA-256 is %s, the save recorded %s (the file is damaged)", path, hex, want_hex);
    }
    lab_seq_set_cached(L, 1, (int32_t)n_eval);
    lua_pushboolean(L, 1);
    return 1;
}

void lab_open_kvstate(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, "lab.priv");
    lua_pushcfunction(L, l_kv_save);
    lua_setfield(L, -2, "kv_save");
    lua_pushcfunction(L, l_kv_load);
    lua_setfield(L, -2, "kv_load");
    lua_pushcfunction(L, l_kv_dims);
    lua_setfield(L, -2, "kv_dims");
    lua_pop(L, 1);
}
