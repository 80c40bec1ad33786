/* fio: reading files that users and scripts name (see fio.h). The one
 * invariant: no read happens before fstat has shown a regular file of an
 * acceptable size, on the descriptor that is then read. */
#include "fio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind(mode_t m) {
    return S_ISDIR(m) ? "a folder" : S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device"
         : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "a special file";
}

int fio_open(const char *path, uint64_t max, uint64_t *size, char *err, size_t errlen) {
    *size = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
        return e == ENOENT ? FIO_ENOENT : FIO_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return FIO_EIO;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: %s, not a regular file", path, kind(st.st_mode));
        close(fd);
        return FIO_ENOTREG;
    }
    if (max && (uint64_t)st.st_size > max) {
        snprintf(err, errlen, "%s: %llu bytes, more than the %llu this file may have", path,
                 (unsigned long long)st.st_size, (unsigned long long)max);
        close(fd);
        return FIO_ETOOBIG;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return FIO_EIO;
    }
    *size = (uint64_t)st.st_size;
    return fd;
}

/* Reads up to n bytes; *got is what came (a file may shrink meanwhile). */
static int read_n(int fd, char *buf, size_t n, size_t *got) {
    size_t done = 0;
    while (done < n) {
        ssize_t r = read(fd, buf + done, n - done);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        done += (size_t)r;
    }
    *got = done;
    return 0;
}

int fio_read(const char *path, uint64_t max, char **buf, size_t *len, char *err, size_t errlen) {
    *buf = NULL;
    *len = 0;
    uint64_t size;
    int fd = fio_open(path, max, &size, err, errlen);
    if (fd < 0) return fd;
    if (size >= SIZE_MAX) {
        snprintf(err, errlen, "%s: too large to read", path);
        close(fd);
        return FIO_ETOOBIG;
    }
    char *b = malloc((size_t)size + 1);
    if (!b) {
        snprintf(err, errlen, "%s: out of memory for %llu bytes", path, (unsigned long long)size);
        close(fd);
        return FIO_ENOMEM;
    }
    size_t got = 0;
    if (read_n(fd, b, (size_t)size, &got) != 0) {
        snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
        free(b);
        close(fd);
        return FIO_EIO;
    }
    close(fd);
    b[got] = 0;   /* a file that grew is read up to its size at open: the limit holds */
    *buf = b;
    *len = got;
    return FIO_OK;
}

int fio_head(const char *path, void *buf, size_t n, size_t *got, char *err, size_t errlen) {
    *got = 0;
    uint64_t size;
    int fd = fio_open(path, 0, &size, err, errlen);
    if (fd < 0) return fd;
    int rc = read_n(fd, buf, n, got);
    if (rc) snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
    close(fd);
    return rc ? FIO_EIO : FIO_OK;
}
