/* Minimal test harness shared by every C test binary.
 * CHECK(cond, fmt, ...) counts one check; a failure prints file:line and the
 * message. check_done() prints `# passed N failed M` (tests/run.sh sums these)
 * and returns the exit status. Paths to shared data come from check_shared(). */
#ifndef CHECK_H
#define CHECK_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_pass_, check_fail_;

#define CHECK(cond, ...) do { \
    if (cond) { check_pass_++; } else { check_fail_++; \
        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

/* CHECK_NEAR: absolute tolerance on floats. */
#define CHECK_NEAR(a, b, tol, ...) do { double a_ = (a), b_ = (b); \
    CHECK(!(a_ - b_ > (tol) || b_ - a_ > (tol)), __VA_ARGS__); } while (0)

static inline int check_done(void) {
    printf("# passed %d failed %d\n", check_pass_, check_fail_);
    return check_fail_ ? 1 : 0;
}

/* The shared data folder: $LOGITLAB_SHARED, else ../shared next to the repo. */
static inline const char *check_shared(void) {
    const char *s = getenv("LOGITLAB_SHARED");
    return s && *s ? s : "../shared";
}

/* Build "<shared>/<rel>" into buf. */
static inline const char *check_path(char *buf, size_t n, const char *rel) {
    int k = snprintf(buf, n, "%s/%s", check_shared(), rel);
    if (k < 0 || (size_t)k >= n) buf[0] = 0;   /* too long: an empty path fails to open */
    return buf;
}

/* Reads a whole file; caller frees. NULL if missing. */
static inline void *check_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); b = NULL; }
    fclose(f);
    if (b) { b[n] = 0; if (len) *len = (size_t)n; }
    return b;
}
#endif
