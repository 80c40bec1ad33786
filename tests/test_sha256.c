/* SHA-256: the FIPS 180-2 / NIST CAVS example vectors, the million-'a'
 * message, every split of a message into two calls agreeing with one call,
 * the padding edge lengths (55, 56, 63, 64 bytes) against a byte-at-a-time
 * run, and sha256_file against the shared models' SHA256SUMS. */
#include "check.h"
#include "sha256.h"

static const char *hex_of(const void *p, size_t n, char out[65]) {
    uint8_t d[SHA256_LEN];
    sha256_mem(p, n, d);
    sha256_hex(d, out);
    return out;
}

int main(void) {
    char h[65];
    static const struct { const char *msg, *want; } v[] = {
        { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
        { "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
          "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
        { "The quick brown fox jumps over the lazy dog",
          "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592" },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        CHECK(strcmp(hex_of(v[i].msg, strlen(v[i].msg), h), v[i].want) == 0, "vector %zu: %s", i, h);

    /* one million 'a', fed in uneven pieces */
    static char a[1000000];
    memset(a, 'a', sizeof a);
    sha256 c;
    sha256_init(&c);
    for (size_t off = 0, step = 1; off < sizeof a; off += step, step = step * 3 % 9973 + 1)
        sha256_add(&c, a + off, step < sizeof a - off ? step : sizeof a - off);
    uint8_t d[SHA256_LEN];
    sha256_fini(&c, d);
    sha256_hex(d, h);
    CHECK(strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0, "million a: %s", h);

    /* every split point and the padding edges agree with one call */
    char msg[200];
    for (int i = 0; i < (int)sizeof msg; i++) msg[i] = (char)(i * 7 + 3);
    int bad = 0;
    for (size_t n = 0; n <= sizeof msg; n++) {
        char one[65], two[65];
        hex_of(msg, n, one);
        for (size_t k = 0; k <= n; k++) {
            sha256_init(&c);
            sha256_add(&c, msg, k);
            sha256_add(&c, msg + k, n - k);
            sha256_fini(&c, d);
            sha256_hex(d, two);
            bad += strcmp(one, two) != 0;
        }
    }
    CHECK(bad == 0, "splits disagree with one call in %d cases", bad);
    /* an empty piece may come as NULL, also mid-block (a run under UBSan
     * would stop at memcpy(.., NULL, 0)) */
    sha256_init(&c);
    sha256_add(&c, msg, 3);
    sha256_add(&c, NULL, 0);
    sha256_add(&c, msg + 3, 2);
    sha256_fini(&c, d);
    sha256_hex(d, h);
    char five[65];
    CHECK(strcmp(h, hex_of(msg, 5, five)) == 0, "NULL, 0 adds nothing");
    CHECK(strcmp(hex_of(a, 55, h), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318") == 0, "55 a: %s", h);
    CHECK(strcmp(hex_of(a, 56, h), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a") == 0, "56 a: %s", h);
    CHECK(strcmp(hex_of(a, 64, h), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb") == 0, "64 a: %s", h);

    /* files, streamed, against the published sums */
    char path[512], sums[512], err[256];
    size_t len;
    char *txt = check_slurp(check_path(sums, sizeof sums, "models/SHA256SUMS"), &len);
    int files = 0;
    if (txt) {
        char want[65], name[256];
        const char *p = txt;
        int used;
        while (sscanf(p, "%64s %255s%n", want, name, &used) == 2) {
            p += used;
            snprintf(sums, sizeof sums, "models/%s", name);
            uint64_t size = 0;
            int rc = sha256_file(check_path(path, sizeof path, sums), d, &size, err, sizeof err);
            sha256_hex(d, h);
            CHECK(rc == 0 && strcmp(h, want) == 0 && size > 0, "%s: %s (%s)", name, h, rc ? err : "");
            files++;
        }
        free(txt);
    }
    CHECK(files > 0, "no SHA256SUMS under %s/models", check_shared());
    CHECK(sha256_file("/nonexistent/x", d, NULL, err, sizeof err) == SHA256_EIO && strstr(err, "/nonexistent/x"),
          "missing file: %s", err);
    return check_done();
}
