/* lab_fs: file access for plugins and scripts, confined to the workspace.
 *
 * Paths are relative to the workspace; absolute paths, '..' components and
 * NUL bytes are refused before anything touches the disk, and the resolved
 * path (symlinks followed) must still lie inside the workspace: reads check
 * the file, writes check the parent folder and open with O_NOFOLLOW, so a
 * link planted in the workspace cannot lead out of it. Failures are
 * expected (nil, err); a path of the wrong type is misuse (an error).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lhost_impl.h"

static bool inside(const char *ws, const char *real) {
    size_t n = strlen(ws);
    return strncmp(ws, real, n) == 0 && (real[n] == 0 || real[n] == '/');
}

/* Lexical check and join: full = workspace/rel. NULL with *why on refusal. */
static const char *join(lua_State *L, int idx, char *full, size_t cap, const char **why) {
    size_t len;
    const char *rel = luaL_checklstring(L, idx, &len);
    lhost *h = lhost_of(L);
    *why = NULL;
    if (!h->workspace) { *why = "no workspace (logitlab run --workspace DIR)"; return NULL; }
    if (strlen(rel) != len) { *why = "a path may not contain NUL bytes"; return NULL; }
    if (rel[0] == '/') { *why = "paths are relative to the workspace"; return NULL; }
    for (const char *p = rel; *p;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') { *why = "'..' may not appear in a path"; return NULL; }
        p += n;
        if (*p == '/') p++;
    }
    if ((size_t)snprintf(full, cap, "%s/%s", h->workspace, *rel ? rel : ".") >= cap) {
        *why = "path too long";
        return NULL;
    }
    return full;
}

/* For reading: the real path of an existing file inside the workspace. */
static const char *resolve_existing(lua_State *L, int idx, char *full, const char **why) {
    char tmp[PATH_MAX];
    if (!join(L, idx, tmp, sizeof tmp, why)) return NULL;
    if (!realpath(tmp, full)) { *why = strerror(errno); return NULL; }
    if (!inside(lhost_of(L)->workspace, full)) { *why = "the path leads outside the workspace"; return NULL; }
    return full;
}

/* For writing: the parent must resolve inside; returns the joined path. */
static const char *resolve_new(lua_State *L, int idx, char *full, size_t cap, const char **why) {
    if (!join(L, idx, full, cap, why)) return NULL;
    char parent[PATH_MAX], real[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", full);
    char *slash = strrchr(parent, '/');
    if (slash) *slash = 0;
    if (!realpath(parent, real)) { *why = strerror(errno); return NULL; }
    if (!inside(lhost_of(L)->workspace, real)) { *why = "the path leads outside the workspace"; return NULL; }
    return full;
}

const char *lab_fs_resolve_new(lua_State *L, int idx, char *full, size_t cap, const char **why) {
    return resolve_new(L, idx, full, cap, why);
}

static int fail_path(lua_State *L, int idx, const char *why) {
    return lab_fail(L, "%s: %s", lua_tostring(L, idx), why);
}

/* lab.fs.read(path) -> string | nil, err */
static int l_read(lua_State *L) {
    char full[PATH_MAX];
    const char *why;
    if (!resolve_existing(L, 1, full, &why)) return fail_path(L, 1, why);
    struct stat sb;
    if (stat(full, &sb) != 0) return fail_path(L, 1, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return fail_path(L, 1, "not a regular file");
    size_t size = (size_t)sb.st_size;
    char *buf = lua_newuserdatauv(L, size ? size : 1, 0);   /* may raise: nothing is open yet */
    FILE *f = fopen(full, "rb");
    if (!f) return fail_path(L, 1, strerror(errno));
    size_t n = fread(buf, 1, size, f);
    bool bad = ferror(f);
    fclose(f);
    if (bad) return fail_path(L, 1, "read error");
    lua_pushlstring(L, buf, n);
    return 1;
}

static int write_mode(lua_State *L, bool append) {
    size_t len;
    luaL_checkstring(L, 1);
    const char *data = luaL_checklstring(L, 2, &len);
    char full[PATH_MAX];
    const char *why;
    if (!resolve_new(L, 1, full, sizeof full, &why)) return fail_path(L, 1, why);
    int fd = open(full, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
    if (fd < 0) return fail_path(L, 1, errno == ELOOP ? "a symbolic link" : strerror(errno));
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            return fail_path(L, 1, strerror(e));
        }
        done += (size_t)w;
    }
    if (close(fd) != 0) return fail_path(L, 1, strerror(errno));
    lua_pushboolean(L, 1);
    return 1;
}

/* lab.fs.write(path, data) -> true | nil, err */
static int l_write(lua_State *L) { return write_mode(L, false); }
/* lab.fs.append(path, data) -> true | nil, err */
static int l_append(lua_State *L) { return write_mode(L, true); }

/* lab.fs.exists(path) -> boolean */
static int l_exists(lua_State *L) {
    char full[PATH_MAX];
    const char *why;
    lua_pushboolean(L, resolve_existing(L, 1, full, &why) != NULL);
    return 1;
}

typedef struct name_list {
    char **names;
    size_t n;
} name_list;

static int push_names(lua_State *L) {
    name_list *nl = lua_touserdata(L, 1);
    lua_createtable(L, (int)nl->n, 0);
    for (size_t i = 0; i < nl->n; i++) {
        lua_pushstring(L, nl->names[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* lab.fs.list([dir]) -> sorted names | nil, err (folders end with '/') */
static int l_list(lua_State *L) {
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_pushliteral(L, "");
    }
    char full[PATH_MAX];
    const char *why;
    if (!resolve_existing(L, 1, full, &why)) return fail_path(L, 1, why);
    DIR *d = opendir(full);
    if (!d) return fail_path(L, 1, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    bool oom = false;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, sizeof *nn * cap);
            if (!nn) { oom = true; break; }
            names = nn;
        }
        bool dir = e->d_type == DT_DIR;
        size_t len = strlen(e->d_name);
        if (!(names[n] = malloc(len + 2))) { oom = true; break; }
        memcpy(names[n], e->d_name, len);
        names[n][len] = dir ? '/' : 0;
        names[n][len + 1] = 0;
        n++;
    }
    closedir(d);
    if (!oom && n > 1) qsort(names, n, sizeof *names, cmp_str);   /* names is NULL for an empty folder */
    name_list nl = { names, n };
    int rc = LUA_ERRMEM;
    if (!oom && lua_checkstack(L, 4)) {    /* the table is built protected: the names are freed anyway */
        lua_pushcfunction(L, push_names);
        lua_pushlightuserdata(L, &nl);
        rc = lua_pcall(L, 1, 1, 0);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (rc != LUA_OK) return oom ? luaL_error(L, "out of memory") : lua_error(L);
    return 1;
}

/* lab.fs.mkdir(path) -> true | nil, err (an existing folder is fine) */
static int l_mkdir(lua_State *L) {
    char full[PATH_MAX];
    const char *why;
    if (!resolve_new(L, 1, full, sizeof full, &why)) return fail_path(L, 1, why);
    if (mkdir(full, 0755) != 0 && errno != EEXIST) return fail_path(L, 1, strerror(errno));
    lua_pushboolean(L, 1);
    return 1;
}

/* lab.fs.remove(path) -> true | nil, err (a file or an empty folder) */
static int l_remove(lua_State *L) {
    char full[PATH_MAX];
    const char *why;
    if (!resolve_new(L, 1, full, sizeof full, &why)) return fail_path(L, 1, why);
    if (remove(full) != 0) return fail_path(L, 1, strerror(errno));
    lua_pushboolean(L, 1);
    return 1;
}

static const luaL_Reg fs_fns[] = {
    { "read", l_read },     { "write", l_write }, { "append", l_append }, { "exists", l_exists },
    { "list", l_list },     { "mkdir", l_mkdir }, { "remove", l_remove }, { NULL, NULL },
};

int lab_open_fs(lua_State *L) {
    luaL_newlib(L, fs_fns);
    return 1;
}
