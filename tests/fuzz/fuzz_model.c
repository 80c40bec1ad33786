/* fuzz_model: libFuzzer harness for the whole model open path, as a user
 * (or a script) reaches it: the input is written as a model file and given
 * to model_open (GGUF or llama2.c, chosen by content, with its tokenizer),
 * then a context is created and one evaluation step runs (one token, then a
 * second at the next position), with a token encoded by the model's own
 * tokenizer. Every failure must be a clean error code with a message; a
 * success must give finite logits or CTX_ENONFINITE (a model may hold NaN
 * weights: the engine refuses to sample from them). Seeds: tiny complete
 * models written by tests/fuzz/make_model_seed.py.
 */
#include "ctx.h"
#include "model.h"
#include "tok.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_model: %s failed at line %d\n", #c, __LINE__); abort(); } } while (0)

static char path[256];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof path, "%s/fuzz_model.%d.gguf", dir, (int)getpid());
    return 0;
}

static void eval_step(model *m) {
    char err[512] = "";
    ctx_params p;
    ctx_params_default(&p);
    p.n_ctx = 16;
    p.n_batch = 4;
    p.n_seq_max = 2;
    p.n_threads = 1;
    ctx *c = NULL;
    if (ctx_create(&c, m, &p, err, sizeof err) != CTX_OK) {
        REQUIRE(c == NULL && err[0]);
        return;
    }
    const model_info *h = model_get_info(m);
    int32_t ids[4];
    int32_t n = tok_encode(model_tok(m), "a", 1, true, false, ids, 4, err, sizeof err);
    int32_t first = n > 0 ? ids[0] : 0, second = n > 1 ? ids[1] : h->n_vocab - 1;
    REQUIRE(first >= 0 && first < h->n_vocab && second >= 0 && second < h->n_vocab);
    int32_t s = ctx_seq_create(c);
    REQUIRE(s >= 0);
    ctx_entry b[2] = { { s, 0, first, true }, { s, 1, second, true } };
    for (int step = 0; step < 2; step++) {
        int rc = ctx_eval(c, &b[step], 1, err, sizeof err);
        REQUIRE(rc == CTX_OK || rc == CTX_ENONFINITE || rc == CTX_ENOMEM || rc == CTX_EFULL);
        if (rc != CTX_OK) {
            REQUIRE(err[0]);
            break;
        }
        const float *l = ctx_logits(c, 0);
        for (int32_t i = 0; i < h->n_vocab; i++) REQUIRE(isfinite(l[i]));
    }
    ctx_destroy(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    REQUIRE(fwrite(data, 1, size, f) == size);
    REQUIRE(fclose(f) == 0);
    char err[512] = "";
    model *m = NULL;
    int rc = model_open(&m, path, NULL, err, sizeof err);
    if (rc) {
        REQUIRE(m == NULL && err[0]);
    } else {
        REQUIRE(m);
        eval_step(m);
        model_close(m);
    }
    unlink(path);
    return 0;
}
