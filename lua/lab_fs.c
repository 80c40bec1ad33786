/* lab_fs: file access for plugins and scripts, confined to the workspace.
 *
 * Paths are relative to the workspace; absolute paths, '..' components and
 * NUL bytes are refused before anything touches the disk, and the resolved
 * path (symlinks followed) must still lie inside the workspace: reads check
 * the file, writes check the parent folder and open with O_NOFOLLOW, so a
 * link planted in the workspace cannot lead out of it. Failures are
 * expected (nil, err); a path of the wrong type is misuse (an error).
 *
 * Two more fences (issue 13): the store's own files (logitlab.db and its
 * WAL, SHM and journal, the lock, config.lua, upgrade backups) are never
 * written, created, replaced or removed, by name in the store's folder or
 * by identity (a hard link elsewhere); and only regular files are read or
 * written: every open is non-blocking until fstat has shown a regular file,
 * so a FIFO or a device in the workspace cannot hang or feed a script.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fout.h"
#include "lhost_impl.h"
#include "store.h"

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

static const char *const own_why = "one of the workspace's own files (the database, its lock or config.lua); "
                                  "scripts may not write or remove it";

/* Whether the file `base` in the folder `real_parent` (a real path) is one
 * of the store's files: by name in the store's folder (the workspace, or the
 * store folder lhost opens), or by identity with one that exists. */
static bool store_file(lhost *h, const char *real_parent, const char *base, const char *full) {
    const char *dirs[2] = { h->workspace, h->store_dir };
    struct stat target;
    bool exists = lstat(full, &target) == 0;
    for (int i = 0; i < 2; i++) {
        char real[PATH_MAX];
        if (!dirs[i] || !realpath(dirs[i], real)) continue;
        if (strcmp(real, real_parent) == 0 && store_own_file(base)) return true;
        if (!exists || S_ISDIR(target.st_mode)) continue;
        static const char *const names[] = { STORE_DB_NAME, STORE_DB_NAME "-wal", STORE_DB_NAME "-shm",
                                             STORE_LOCK_NAME, STORE_CONFIG_NAME };
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
            char p[PATH_MAX + 32];
            struct stat sb;
            snprintf(p, sizeof p, "%s/%s", real, names[k]);
            if (stat(p, &sb) == 0 && sb.st_dev == target.st_dev && sb.st_ino == target.st_ino) return true;
        }
    }
    return false;
}

/* For writing: the parent must resolve inside, and the file may not be one
 * of the store's; returns the joined path. */
static const char *resolve_new(lua_State *L, int idx, char *full, size_t cap, const char **why) {
    if (!join(L, idx, full, cap, why)) return NULL;
    char parent[PATH_MAX], real[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", full);
    char *slash = strrchr(parent, '/');
    if (slash) *slash = 0;
    const char *base = strrchr(full, '/') + 1;   /* join always puts one in */
    if (!*base || strcmp(base, ".") == 0) { *why = "not a file name"; return NULL; }
    if (!realpath(parent, real)) { *why = strerror(errno); return NULL; }
    if (!inside(lhost_of(L)->workspace, real)) { *why = "the path leads outside the workspace"; return NULL; }
    if (store_file(lhost_of(L), real, base, full)) { *why = own_why; return NULL; }
    return full;
}

const char *lab_fs_resolve_new(lua_State *L, int idx, char *full, size_t cap, const char **why) {
    return resolve_new(L, idx, full, cap, why);
}

const char *lab_fs_resolve_existing(lua_State *L, int idx, char *full, const char **why) {
    return resolve_existing(L, idx, full, why);
}

/* What a non-regular file is, for the message. */
static const char *kind_of(mode_t m) {
    return S_ISDIR(m) ? "a folder, not a regular file" : S_ISFIFO(m) ? "a FIFO, not a regular file"
         : S_ISCHR(m) || S_ISBLK(m) ? "a device, not a regular file" : S_ISSOCK(m) ? "a socket, not a regular file"
         : "not a regular file";
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
    if (!S_ISREG(sb.st_mode)) return fail_path(L, 1, kind_of(sb.st_mode));
    /* the buffer first (it may raise at the memory cap: nothing is open
     * yet), sized by stat; the open below checks the type again, without
     * blocking, in case the file was swapped meanwhile */
    size_t size = (size_t)sb.st_size;
    char *buf = lua_newuserdatauv(L, size ? size : 1, 0);
    int fd = open(full, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return fail_path(L, 1, strerror(errno));
    struct stat fs = { 0 };
    if (fstat(fd, &fs) != 0 || !S_ISREG(fs.st_mode)) {
        close(fd);
        return fail_path(L, 1, kind_of(fs.st_mode));
    }
    size_t n = 0;
    while (n < size) {
        ssize_t r = read(fd, buf + n, size - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return fail_path(L, 1, strerror(e));
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    lua_pushlstring(L, buf, n);
    return 1;
}

/* Writes len bytes; 0 or errno. */
static int write_fd(int fd, const char *data, size_t len) {
    for (size_t done = 0; done < len;) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return w < 0 ? errno : EIO;
        done += (size_t)w;
    }
    return 0;
}

/* lab.fs.append adds in place; lab.fs.write writes a new file beside the
 * old one and renames it over (fout.h: locked while written, swept when stale), so a write that
 * fails half way (a full disk, a file-size limit) leaves the old contents
 * whole: nothing the user saved is lost to a failed save. */
static int write_mode(lua_State *L, bool append) {
    size_t len;
    luaL_checkstring(L, 1);
    const char *data = luaL_checklstring(L, 2, &len);
    char full[PATH_MAX];
    const char *why;
    if (!resolve_new(L, 1, full, sizeof full, &why)) return fail_path(L, 1, why);
    if (!append) {
        char tmp[PATH_MAX];
        int fd = fout_tmp_create(full, 0644, tmp, sizeof tmp, &why);
        if (fd < 0) return fail_path(L, 1, why);
        int e = fout_tmp_commit(fd, tmp, full, write_fd(fd, data, len));
        if (e) return fail_path(L, 1, strerror(e));
        lua_pushboolean(L, 1);
        return 1;
    }
    /* non-blocking until fstat shows a regular file: opening a FIFO for
     * writing would wait for a reader forever */
    int fd = open(full, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_APPEND, 0644);
    if (fd < 0) return fail_path(L, 1, errno == ELOOP ? "a symbolic link" : errno == ENXIO ? "a FIFO, not a regular "
                                 "file" : errno == EISDIR ? "a folder, not a regular file" : strerror(errno));
    struct stat sb = { 0 };
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return fail_path(L, 1, kind_of(sb.st_mode));
    }
    int fl = fcntl(fd, F_GETFL), e = fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 ? errno : write_fd(fd, data, len);
    if (close(fd) != 0 && !e) e = errno;
    if (e) return fail_path(L, 1, strerror(e));
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

/* lab.fs.path(rel) -> the absolute path of an existing regular file in the
 * workspace (links resolved, still inside it) | nil, err. For what takes a
 * path rather than a workspace name: lab.model.open of a model kept in the
 * workspace. */
static int l_path(lua_State *L) {
    char full[PATH_MAX];
    const char *why;
    const char *rel = luaL_checkstring(L, 1);
    if (!resolve_existing(L, 1, full, &why)) return lab_fail(L, "%s: %s", rel, why);
    struct stat sb;
    if (stat(full, &sb) != 0) return lab_fail(L, "%s: %s", rel, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return lab_fail(L, "%s: %s", rel, kind_of(sb.st_mode));
    lua_pushstring(L, full);
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

/* lab.fs.list([dir]) -> sorted names | nil, err (folders end with '/'; the
 * temporaries of writes, in progress or left by a killed process, are not
 * listed) */
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
        if (e->d_type != DT_DIR && fout_is_temporary(e->d_name)) continue;
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
    { "list", l_list },     { "mkdir", l_mkdir }, { "remove", l_remove }, { "path", l_path },
    { NULL, NULL },
};

int lab_open_fs(lua_State *L) {
    luaL_newlib(L, fs_fns);
    return 1;
}
