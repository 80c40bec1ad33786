/* lab_kvstate: a sequence's KV cells to and from a file, for seq:save /
 * model:load (lua/run.lua). priv.kv_save(seq, path) copies the K and V rows
 * of the cached positions out of the engine into a C buffer and writes
 * them to the file; priv.kv_load(seq, path, n_eval, bytes, sha256) reads
 * them back into a new sequence's cells, so that loading is a copy, not an
 * evaluation. The bytes never pass through Lua (a long sequence's state is
 * megabytes: it does not count against the Lua memory cap), and the
 * payload's SHA-256 is written by the save and checked by the load. The
 * layout is ctx_seq_state_get's (core/ctx.h), little-endian float32 as the
 * engine holds them. Paths follow lab.fs's rules (inside the workspace).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctx.h"
#include "lhost_impl.h"
#include "sha256.h"

static void hex_of(const void *buf, size_t len, char hex[SHA256_HEX_LEN + 1]) {
    uint8_t d[SHA256_LEN];
    sha256_mem(buf, len, d);
    sha256_hex(d, hex);
}

/* Writes buf to full (a regular file, created or truncated); 0 or errno.
 * Non-blocking and without O_TRUNC until fstat shows a regular file, as
 * lab.fs.write: a FIFO would wait for a reader forever. */
static int write_file(const char *full, const void *buf, size_t len) {
    int fd = open(full, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
    if (fd < 0) return errno;
    struct stat sb = { 0 };
    int fl;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || ftruncate(fd, 0) != 0 || (fl = fcntl(fd, F_GETFL)) < 0 ||
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = S_ISREG(sb.st_mode) ? errno : EINVAL;
        close(fd);
        return e;
    }
    for (size_t done = 0; done < len;) {
        ssize_t w = write(fd, (const char *)buf + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            close(fd);
            return e;
        }
        done += (size_t)w;
    }
    return close(fd) != 0 ? errno : 0;
}

/* priv.kv_save(seq, path) -> bytes, sha256, n_eval, n_layers, kv_dim | nil, err */
static int l_kv_save(lua_State *L) {
    lab_seq_state st;
    lab_seq_get(L, 1, &st);
    luaL_checkstring(L, 2);
    char full[PATH_MAX];
    const char *why;
    if (!lab_fs_resolve_new(L, 2, full, sizeof full, &why)) return lab_fail(L, "%s: %s", lua_tostring(L, 2), why);
    lab_model_sync(L, st.lm);
    int32_t nl, kd;
    ctx_kv_dims(st.lm->c, &nl, &kd);
    size_t bytes = ctx_seq_state_floats(st.lm->c, st.n_eval) * sizeof(float);
    float *buf = malloc(bytes ? bytes : 1);
    if (!buf) return lab_fail(L, "%s: out of memory for the %d cached positions' cells", lua_tostring(L, 2), (int)st.n_eval);
    if (ctx_seq_state_get(st.lm->c, st.id, st.n_eval, buf) != CTX_OK) {
        free(buf);
        return luaL_error(L, "the engine refused to read the sequence's cache");
    }
    char hex[SHA256_HEX_LEN + 1];
    hex_of(buf, bytes, hex);
    int e = write_file(full, buf, bytes);
    free(buf);
    if (e) return lab_fail(L, "%s: %s", lua_tostring(L, 2), strerror(e));
    lua_pushinteger(L, (lua_Integer)bytes);
    lua_pushstring(L, hex);
    lua_pushinteger(L, st.n_eval);
    lua_pushinteger(L, nl);
    lua_pushinteger(L, kd);
    return 5;
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
    float *buf = malloc(want ? (size_t)want : 1);
    if (!buf) {
        close(fd);
        return lab_fail(L, "%s: out of memory for %I bytes of cells", path, want);
    }
    size_t got = 0;
    while (got < (size_t)want) {
        ssize_t r = read(fd, (char *)buf + got, (size_t)want - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != (size_t)want) {
        free(buf);
        return lab_fail(L, "%s: read %I of %I bytes (the file was cut short meanwhile)", path, (lua_Integer)got, want);
    }
    if (want_hex) {
        char hex[SHA256_HEX_LEN + 1];
        hex_of(buf, got, hex);
        if (strcmp(hex, want_hex) != 0) {
            free(buf);
            return lab_fail(L, "%s: the cells' SHA-256 is %s, the save recorded %s (the file is damaged)", path, hex,
                            want_hex);
        }
    }
    lab_model_sync(L, st.lm);
    int rc = ctx_seq_state_put(st.lm->c, st.id, buf, (int32_t)n_eval);
    free(buf);
    if (rc != CTX_OK)
        return lab_fail(L, "%s: %s", path, rc == CTX_EFULL ? "the KV cache has too few free cells for the saved sequence"
                                                            : "the engine refused the saved cells");
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
