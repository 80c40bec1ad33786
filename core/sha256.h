/* sha256: the SHA-256 hash (FIPS 180-4, section 6.2), written from the
 * standard. Used to identify model files by content, so that a workspace
 * knows a model it has seen even when the file moved.
 *
 * Streaming: sha256_init, any number of sha256_add calls, sha256_fini. The
 * state is a plain struct the caller owns (no allocation). */
#ifndef SHA256_H
#define SHA256_H
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32          /* digest bytes */
#define SHA256_HEX_LEN 64      /* hex digits, without the NUL */

enum { SHA256_OK = 0, SHA256_EIO = -1 };

typedef struct sha256 {
    uint32_t h[8];             /* the intermediate hash value H(i) */
    uint64_t n;                /* message bytes so far */
    uint8_t buf[64];           /* a partial block */
    size_t fill;               /* bytes in buf */
} sha256;

void sha256_init(sha256 *c);
void sha256_add(sha256 *c, const void *data, size_t len);
/* Pads, writes the digest and leaves c undefined (sha256_init to reuse). */
void sha256_fini(sha256 *c, uint8_t out[SHA256_LEN]);

/* One call over a buffer. */
void sha256_mem(const void *data, size_t len, uint8_t out[SHA256_LEN]);
/* Lowercase hex of a digest into out (SHA256_HEX_LEN + 1 bytes, NUL ended). */
void sha256_hex(const uint8_t d[SHA256_LEN], char out[SHA256_HEX_LEN + 1]);
/* Hashes a file streaming (constant memory, whatever its size). On failure
 * returns SHA256_EIO with "PATH: reason" in err. *size gets the byte count
 * when size is not NULL. */
int sha256_file(const char *path, uint8_t out[SHA256_LEN], uint64_t *size, char *err, size_t errlen);
#endif
