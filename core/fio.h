/* fio: opening files that users and scripts name, for reading.
 *
 * Every loader of the program (models, tokenizers, Lua chunks, files a
 * script hashes) opens through here, so that three rules hold everywhere:
 * only regular files are read (a FIFO, a folder or a device is refused
 * without blocking: the open is non-blocking until fstat has shown the
 * type); the size is known before a byte is read and checked against the
 * caller's limit; and messages say what is wrong with the file without
 * quoting its content.
 */
#ifndef FIO_H
#define FIO_H
#include <stddef.h>
#include <stdint.h>

enum {
    FIO_OK = 0,
    FIO_EIO = -1,       /* cannot open or read (errno's message) */
    FIO_ENOTREG = -2,   /* a folder, FIFO, device or socket */
    FIO_ETOOBIG = -3,   /* larger than the caller's limit */
    FIO_ENOMEM = -4,
    FIO_ENOENT = -5,    /* no such file (for optional files) */
};

/* Opens path for reading: a blocking descriptor of a regular file (>= 0)
 * whose size (<= max bytes; max 0 = any) goes to *size, or a FIO_E* code
 * with "PATH: what is wrong" in err. The caller closes the descriptor. */
int fio_open(const char *path, uint64_t max, uint64_t *size, char *err, size_t errlen);

/* The whole file, at most max bytes (0 = any), NUL-terminated (the NUL is
 * not counted in *len); the caller frees *buf. FIO_OK or a FIO_E* code with
 * err set as above. */
int fio_read(const char *path, uint64_t max, char **buf, size_t *len, char *err, size_t errlen);

/* The first n bytes (fewer for a shorter file: *got says how many). */
int fio_head(const char *path, void *buf, size_t n, size_t *got, char *err, size_t errlen);
#endif
