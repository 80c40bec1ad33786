/* fout: replacing writes of files users name (see fout.h). */
#include "fout.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TMP_SUFFIX ".tmp"
#define TMP_SUFFIX_LEN 4

bool fout_is_temporary(const char *name) {
    size_t len = strlen(name);
    if (name[0] != '.' || len < 1 + 1 + 1 + 6 + TMP_SUFFIX_LEN) return false;
    const char *x = name + len - TMP_SUFFIX_LEN - 6;
    if (strcmp(x + 6, TMP_SUFFIX) != 0 || x[-1] != '.') return false;
    for (int i = 0; i < 6; i++)
        if (!isalnum((unsigned char)x[i])) return false;
    return true;
}

static const char *kind_of(mode_t m) {
    return S_ISDIR(m) ? "a folder, not a regular file" : S_ISLNK(m) ? "a symbolic link"
         : S_ISFIFO(m) ? "a FIFO, not a regular file" : "not a regular file";
}

int fout_tmp_create(const char *full, mode_t mode, char *tmp, size_t cap, const char **why) {
    struct stat sb;
    bool exists = lstat(full, &sb) == 0;
    if (!exists && errno != ENOENT) { *why = strerror(errno); return -1; }
    if (exists && !S_ISREG(sb.st_mode)) { *why = kind_of(sb.st_mode); return -1; }
    /* a file the user may not write stays as it is, as when it was opened for
     * writing: the rename needs only the folder's permission */
    if (exists && access(full, W_OK) != 0) { *why = strerror(errno); return -1; }
    const char *slash = strrchr(full, '/');
    int dir = slash ? (int)(slash - full) : 0;
    /* at most 200 bytes of the name in the temporary's, so that a name near
     * NAME_MAX (255) can be written whole too */
    const char *base = slash ? slash + 1 : full;
    int bl = strlen(base) > 200 ? 200 : (int)strlen(base);
    int n = slash ? snprintf(tmp, cap, "%.*s/.%.*s.XXXXXX" TMP_SUFFIX, dir, full, bl, base)
                  : snprintf(tmp, cap, ".%.*s.XXXXXX" TMP_SUFFIX, bl, base);
    if (n < 0 || n >= (int)cap) { *why = strerror(ENAMETOOLONG); return -1; }
    /* The name is made here rather than by mkostemps so that a new file gets
     * `mode` less the umask through open (mkostemps makes 0600, and a fchmod
     * after it would ignore the umask); a replaced file keeps its old
     * permissions. */
    size_t at = (size_t)n - 6 - TMP_SUFFIX_LEN;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() << 32 ^ (uintptr_t)&sb;
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    int fd = -1;
    for (int tries = 0; tries < 100; tries++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;                 /* xorshift64 */
        for (int i = 0; i < 6; i++) tmp[at + (size_t)i] = A[(x >> (6 * i)) % 62];
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, exists ? 0600 : mode);
        if (fd >= 0 || errno != EEXIST) break;
    }
    if (fd < 0) { *why = strerror(errno); return -1; }
    /* the lock marks it live for fout_sweep (of this or another process) */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0 || (exists && fchmod(fd, sb.st_mode & 07777) != 0)) {
        *why = strerror(errno);
        close(fd);
        unlink(tmp);
        return -1;
    }
    return fd;
}

int fout_tmp_commit(int fd, const char *tmp, const char *full, int err) {
    if (close(fd) != 0 && !err) err = errno;
    if (!err && rename(tmp, full) != 0) err = errno;
    if (err) unlink(tmp);
    return err;
}

/* Removes dfd's entry `name` when it is a stale temporary: old enough and
 * not locked by a live writer. */
static int sweep_one(int dfd, const char *name, double min_age_s) {
    struct stat sb;
    if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode)) return 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double age = (double)(now.tv_sec - sb.st_mtim.tv_sec) + 1e-9 * (double)(now.tv_nsec - sb.st_mtim.tv_nsec);
    if (age < min_age_s) return 0;
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat fs;
    int removed = 0;
    /* the lock is held across the unlink, so a writer cannot take the file
     * back in between; the same inode, in case the name was reused */
    if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &fs) == 0 && fs.st_ino == sb.st_ino &&
        fs.st_dev == sb.st_dev)
        removed = unlinkat(dfd, name, 0) == 0;
    close(fd);
    return removed;
}

static int sweep_dir(int dfd, const char *name, int depth, double min_age_s) {
    DIR *d = fdopendir(dfd);
    if (!d) { close(dfd); return 0; }
    int removed = 0;
    size_t nl = name ? strlen(name) : 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..")) continue;
        if (fout_is_temporary(n)) {
            /* ".NAME.XXXXXX.tmp" of this name only, when asked */
            if (name && (strlen(n) != 1 + nl + 1 + 6 + TMP_SUFFIX_LEN || strncmp(n + 1, name, nl) != 0)) continue;
            removed += sweep_one(dirfd(d), n, min_age_s);
            continue;
        }
        if (depth <= 0 || (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)) continue;
        int sub = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0) removed += sweep_dir(sub, name, depth - 1, min_age_s);
    }
    closedir(d);
    return removed;
}

int fout_sweep(const char *dir, const char *name, int depth, double min_age_s) {
    int dfd = open(dir && *dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return dfd < 0 ? 0 : sweep_dir(dfd, name, depth, min_age_s);
}

int fout_open(fout *o, const char *path, char *err, size_t errlen) {
    o->f = NULL;
    o->tmp[0] = 0;
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) return snprintf(err, errlen, "%s: a folder, not a file", path), -1;
        snprintf(o->path, sizeof o->path, "%s", path);
        o->f = fopen(path, "wb");   /* a device or a FIFO: written in place, never unlinked */
        if (!o->f) return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1;
        return 0;
    }
    /* a link is followed: the file it names is replaced, the link stays */
    if (!realpath(path, o->path)) {
        if (errno != ENOENT) return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1;
        if (snprintf(o->path, sizeof o->path, "%s", path) >= (int)sizeof o->path)
            return snprintf(err, errlen, "%s: %s", path, strerror(ENAMETOOLONG)), -1;
    }
    /* a killed earlier write of this name left its temporary here */
    char dir[PATH_MAX];
    const char *slash = strrchr(o->path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - o->path) + (slash == o->path) : 1, slash ? o->path : ".");
    fout_sweep(dir, slash ? slash + 1 : o->path, 0, FOUT_STALE_S);
    const char *why;
    int fd = fout_tmp_create(o->path, 0666, o->tmp, sizeof o->tmp, &why);
    if (fd < 0) {
        o->tmp[0] = 0;
        return snprintf(err, errlen, "%s: %s", path, why), -1;
    }
    if (!(o->f = fdopen(fd, "wb"))) {
        fout_tmp_commit(fd, o->tmp, o->path, ENOMEM);
        o->tmp[0] = 0;
        return snprintf(err, errlen, "%s: out of memory", path), -1;
    }
    return 0;
}

int fout_close(fout *o, bool ok, char *err, size_t errlen) {
    if (!o->f) return ok ? 0 : -1;
    int e = 0;
    if (ok && (fflush(o->f) != 0 || ferror(o->f))) e = errno ? errno : EIO;
    /* the descriptor stays open (and locked) until the rename is done */
    int fd = dup(fileno(o->f));
    if (fclose(o->f) != 0 && !e) e = errno;
    o->f = NULL;
    if (!o->tmp[0]) {
        if (fd >= 0) close(fd);
        if (ok && e) snprintf(err, errlen, "%s: %s", o->path, strerror(e));
        return ok && !e ? 0 : -1;
    }
    if (fd < 0) { e = e ? e : errno; unlink(o->tmp); }
    else if (!ok && !e) e = ECANCELED;
    if (fd >= 0) {
        if (!e && rename(o->tmp, o->path) != 0) e = errno;
        if (e) unlink(o->tmp);
        close(fd);
    }
    o->tmp[0] = 0;
    if (ok && e) snprintf(err, errlen, "%s: %s", o->path, strerror(e));
    return ok && !e ? 0 : -1;
}
