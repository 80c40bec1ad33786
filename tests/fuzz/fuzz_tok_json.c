/* fuzz_tok_json: libFuzzer harness for the tokenizer.json loader (Hugging
 * Face byte-level BPE) and the tokenizer_config.json read beside it. The
 * input is the tokenizer.json text, optionally followed by the line
 * "#config#" and the tokenizer_config.json text; both are written to a
 * private folder and loaded through tok_open, as lab.model.open's tokenizer
 * option and `logitlab tokenize` do. A refusal must be a clean error; a
 * tokenizer that loads must encode and decode text (specials parsed and
 * not) with every id in range. Seeds: tests/fuzz/seeds/fuzz_tok_json.
 */
#include "tok.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_tok_json: %s failed at line %d\n", #c, __LINE__); abort(); } } while (0)

static char dir[256], tpath[300], cpath[300];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    snprintf(dir, sizeof dir, "%s/fuzz_tok_json.%d", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
    REQUIRE(mkdir(dir, 0700) == 0 || access(dir, W_OK) == 0);
    snprintf(tpath, sizeof tpath, "%s/tokenizer.json", dir);
    snprintf(cpath, sizeof cpath, "%s/tokenizer_config.json", dir);
    return 0;
}

static void put(const char *path, const uint8_t *d, size_t n) {
    FILE *f = fopen(path, "wb");
    REQUIRE(f && fwrite(d, 1, n, f) == n && fclose(f) == 0);
}

static void use(const tok *t, const char *text, bool special) {
    char err[256];
    int32_t V = tok_n_vocab(t);
    int32_t n = tok_encode(t, text, strlen(text), true, special, NULL, 0, err, sizeof err);
    if (n < 0) return;
    int32_t *ids = malloc(((size_t)n + 1) * sizeof *ids);
    REQUIRE(ids && tok_encode(t, text, strlen(text), true, special, ids, n, err, sizeof err) == n);
    for (int32_t i = 0; i < n; i++) REQUIRE(ids[i] >= 0 && ids[i] < V);
    for (int k = 0; k < 4; k++) {
        int32_t dl = tok_decode(t, ids, n, NULL, 0, k & 1, k & 2);
        REQUIRE(dl >= 0 || dl == TOK_EID);
        if (dl < 0) continue;
        char *d = malloc((size_t)dl + 1);
        REQUIRE(d && tok_decode(t, ids, n, d, dl, k & 1, k & 2) == dl);
        free(d);
    }
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char sep[] = "\n#config#\n";
    const uint8_t *cfg = NULL;
    size_t tn = size;
    for (size_t i = 0; i + sizeof sep - 1 <= size; i++)
        if (memcmp(data + i, sep, sizeof sep - 1) == 0) {
            tn = i;
            cfg = data + i + sizeof sep - 1;
            break;
        }
    put(tpath, data, tn);
    if (cfg) put(cpath, cfg, size - (size_t)(cfg - data));
    else unlink(cpath);
    char err[512] = "";
    tok *t = NULL;
    int rc = tok_open(&t, tpath, err, sizeof err);
    if (rc) {
        REQUIRE(t == NULL && err[0]);
    } else {
        REQUIRE(t && tok_n_vocab(t) > 0);
        use(t, "Hello world, it's 2024!", false);
        use(t, "<|begin_of_text|>Hi <s> \xe4\xbd\xa0\xe5\xa5\xbd\n\n", true);
        tok_destroy(t);
    }
    unlink(tpath);
    unlink(cpath);
    return 0;
}
