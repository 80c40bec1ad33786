/* test_gguf: the GGUF reader against the shared model files, and hostile
 * hand-made input (bad headers, absurd counts, bad tensors), which must fail
 * with one-line messages naming the byte. The writer's round trips, and the
 * truncation of a written file at every byte, are test_ggufw.c's. */
#include "gguf_check.h"
#include "qtypes.h"
#include <math.h>
#include <unistd.h>

/* ---- a byte builder for hand-made (mostly broken) files ---- */

typedef struct bb { uint8_t *p; size_t n, cap; } bb;

static void bb_put(bb *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void bb_le(bb *b, uint64_t v, int n) {
    for (int i = 0; i < n; i++) { uint8_t c = (uint8_t)(v >> 8 * i); bb_put(b, &c, 1); }
}
static void bb_u32(bb *b, uint32_t v) { bb_le(b, v, 4); }
static void bb_u64(bb *b, uint64_t v) { bb_le(b, v, 8); }
static void bb_str(bb *b, const char *s) { bb_u64(b, strlen(s)); bb_put(b, s, strlen(s)); }
static void bb_hdr(bb *b, uint32_t version, uint64_t nt, uint64_t nkv) {
    bb_put(b, "GGUF", 4); bb_u32(b, version); bb_u64(b, nt); bb_u64(b, nkv);
}
static void bb_kv_u32(bb *b, const char *key, uint32_t v) {
    bb_str(b, key); bb_u32(b, GGUF_T_U32); bb_u32(b, v);
}
static void bb_tensor(bb *b, const char *name, uint32_t nd, const uint64_t *ne, uint32_t type,
                      uint64_t off) {
    bb_str(b, name); bb_u32(b, nd);
    for (uint32_t d = 0; d < nd; d++) bb_u64(b, ne[d]);
    bb_u32(b, type); bb_u64(b, off);
}
static void bb_zeros(bb *b, size_t n) { while (n--) bb_le(b, 0, 1); }
static void bb_pad(bb *b, size_t a) { bb_zeros(b, (a - b->n % a) % a); }

/* Expects b to be refused as malformed with a message holding `want`. */
static void bad_at(const bb *b, const char *want, int line) {
    gguf *g = (gguf *)1;
    void *copy;
    int rc = open_prefix(b->p, b->n, &g, &copy);
    bool ok = rc == GGUF_EFORMAT && !g && strstr(err, want) && strstr(err, "(at byte ") &&
              strncmp(err, "x.gguf: ", 8) == 0 && one_line(err);
    CHECK(ok, "line %d: rc %d, want '%s', got '%s'", line, rc, want, rc ? err : "(opened)");
    if (!rc) gguf_close(g);
    free(copy);
}
#define BAD(b, want) bad_at(&(b), want, __LINE__)

static void bb_free(bb *b) { free(b->p); memset(b, 0, sizeof *b); }

/* ---- the real files ---- */

static void test_stories(void) {
    char path[512];
    gguf *g;
    int rc = gguf_open(&g, check_path(path, sizeof path, "models/stories260K.gguf"), err, sizeof err);
    CHECK(rc == GGUF_OK, "open stories260K: %s", err);
    if (rc) return;
    CHECK(gguf_version(g) == 3, "version");
    CHECK(gguf_n_tensors(g) == 48, "48 tensors, got %lld", (long long)gguf_n_tensors(g));
    CHECK(gguf_n_kv(g) == 19, "19 keys");
    CHECK(gguf_data_offset(g) == 14176, "data offset %llu", (unsigned long long)gguf_data_offset(g));
    CHECK(gguf_alignment(g) == 32, "alignment");
    CHECK(gguf_file_size(g) == 1185376, "file size");
    CHECK(strcmp(gguf_path(g), path) == 0, "path");

    const char *s; size_t n; uint32_t u; int64_t i64; float f; bool b;
    CHECK(gguf_get_str(g, "general.architecture", &s, &n) == 0 && str_is(s, n, "llama"), "arch");
    CHECK(gguf_get_u32(g, "llama.embedding_length", &u) == 0 && u == 64, "dim");
    CHECK(gguf_get_u32(g, "llama.feed_forward_length", &u) == 0 && u == 172, "ffn");
    CHECK(gguf_get_i64(g, "llama.block_count", &i64) == 0 && i64 == 5, "layers");
    CHECK(gguf_get_u32(g, "llama.attention.head_count_kv", &u) == 0 && u == 4, "kv heads");
    CHECK(gguf_get_u32(g, "llama.context_length", &u) == 0 && u == 2048, "ctx");
    CHECK(gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &f) == 0 && f == 1e-5f, "eps");
    CHECK(gguf_get_u32(g, "tokenizer.ggml.seperator_token_id", &u) == 0 && u == 4294967295u, "sep");
    CHECK(gguf_get_i64(g, "tokenizer.ggml.seperator_token_id", &i64) == 0 && i64 == 4294967295, "sep64");
    CHECK(gguf_get_str(g, "llama.block_count", &s, &n) == GGUF_ETYPE, "str of u32");
    CHECK(gguf_get_f32(g, "llama.block_count", &f) == GGUF_ETYPE, "f32 of u32");
    CHECK(gguf_get_bool(g, "llama.block_count", &b) == GGUF_ETYPE, "bool of u32");
    CHECK(gguf_get_u32(g, "general.architecture", &u) == GGUF_ETYPE, "u32 of str");
    CHECK(gguf_get_u32(g, "general.file_type", &u) == GGUF_ENOTFOUND, "absent key");
    CHECK(gguf_get(g, "nope") == NULL && gguf_kv_key(g, 19) == NULL && gguf_kv_key(g, -1) == NULL &&
          gguf_kv_value(g, 19) == NULL, "out of range");

    const gguf_value *a;
    CHECK(gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_T_STRING, &a) == 0 && a->arr_n == 512,
          "tokens");
    CHECK(str_is(a->arr_items[0].str, a->arr_items[0].str_len, "<unk>") &&
          str_is(a->arr_items[1].str, a->arr_items[1].str_len, "<s>"), "token strings");
    CHECK(gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_T_F32, &a) == GGUF_ETYPE, "wrong etype");
    CHECK(gguf_get_arr(g, "general.name", -1, &a) == GGUF_ETYPE, "arr of str");
    CHECK(gguf_get_arr(g, "tokenizer.ggml.scores", -1, &a) == 0 && a->arr_type == GGUF_T_F32 &&
          a->arr_n == 512 && a->arr_data && !a->arr_items, "scores");
    gguf_value e;
    CHECK(gguf_arr_get(a, 260, &e) == 0 && e.type == GGUF_T_F32 && e.num.f == -1.0, "score 260");
    CHECK(gguf_arr_get(a, 511, &e) == 0 && e.num.f == -252.0, "score 511");
    CHECK(gguf_arr_get(a, 512, &e) == GGUF_ENOTFOUND, "score 512");
    CHECK(gguf_arr_get(gguf_get(g, "general.name"), 0, &e) == GGUF_ETYPE, "arr_get of str");

    const gguf_tensor *t = gguf_find_tensor(g, "token_embd.weight");
    CHECK(t && t->n_dims == 2 && t->ne[0] == 64 && t->ne[1] == 512 && t->ne[2] == 1 &&
          t->type == QT_F32 && t->size == 64 * 512 * 4 && t->offset == 0, "token_embd");
    size_t blen = 0;
    uint8_t *bin = check_slurp(check_path(path, sizeof path, "models/stories260K.bin"), &blen);
    CHECK(bin && t && blen > 28 + t->size && memcmp(t->data, bin + 28, t->size) == 0,
          "token_embd equals stories260K.bin");
    free(bin);
    t = gguf_find_tensor(g, "blk.0.ffn_down.weight");
    CHECK(t && t->ne[0] == 172 && t->ne[1] == 64, "ffn_down shape");
    t = gguf_find_tensor(g, "output_norm.weight");
    CHECK(t && t->n_dims == 1 && t->ne[0] == 64 && t->ne[1] == 1, "output_norm");
    CHECK(!gguf_find_tensor(g, "nope") && !gguf_tensor_at(g, 48) && !gguf_tensor_at(g, -1), "absent");
    uint64_t params = 0; bool all_ok = true;
    for (int64_t i = 0; i < gguf_n_tensors(g); i++) {
        t = gguf_tensor_at(g, i);
        params += t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
        all_ok &= gguf_find_tensor(g, t->name) == t && t->offset % 32 == 0 &&
                  gguf_data_offset(g) + t->offset + t->size <= gguf_file_size(g);
    }
    CHECK(all_ok && params == 292800, "tensor table (%llu params)", (unsigned long long)params);
    gguf_close(g);
}

static void test_vocab_only(void) {
    char path[512];
    gguf *g;
    int rc = gguf_open(&g, check_path(path, sizeof path, "models/ggml-vocab-llama-spm.gguf"), err, sizeof err);
    CHECK(rc == GGUF_OK, "open vocab: %s", err);
    if (rc) return;
    CHECK(gguf_n_tensors(g) == 0 && gguf_n_kv(g) == 22, "counts");
    CHECK(gguf_data_offset(g) == gguf_file_size(g) && gguf_file_size(g) == 723869, "no data section");
    const gguf_value *a;
    CHECK(gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_T_STRING, &a) == 0 && a->arr_n == 32000 &&
          str_is(a->arr_items[31999].str, a->arr_items[31999].str_len, "\xe7\xbb\x99"), "tokens");
    bool b1 = false, b2 = true; const char *s; size_t n;
    CHECK(gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b1) == 0 && b1, "add_bos");
    CHECK(gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &b2) == 0 && !b2, "add_eos");
    CHECK(gguf_get_str(g, "general.name", &s, &n) == 0 && str_is(s, n, "llama-spm"), "name");
    gguf_close(g);
}

static void test_synthetic(void) {
    static const struct { const char *q; uint32_t type; } files[] = {
        {"f16", QT_F16}, {"q8_0", QT_Q8_0}, {"q4_0", QT_Q4_0}, {"q4_k", QT_Q4_K}, {"q6_k", QT_Q6_K}};
    for (size_t k = 0; k < sizeof files / sizeof *files; k++) {
        char rel[128], path[512];
        snprintf(rel, sizeof rel, "models/synthetic/synth-A-%s.gguf", files[k].q);
        gguf *g;
        int rc = gguf_open(&g, check_path(path, sizeof path, rel), err, sizeof err);
        CHECK(rc == GGUF_OK, "open %s: %s", rel, err);
        if (rc) continue;
        const gguf_tensor *t = gguf_find_tensor(g, "token_embd.weight");
        const gguf_tensor *last = gguf_tensor_at(g, gguf_n_tensors(g) - 1);
        CHECK(gguf_n_tensors(g) == 38 && t && t->type == files[k].type && t->ne[0] == 256 &&
              t->ne[1] == 32000 && t->size == qt_row_size((int)t->type, 256) * 32000 &&
              !gguf_find_tensor(g, "output.weight"), "%s tensors", rel);
        CHECK(gguf_data_offset(g) + last->offset + last->size == gguf_file_size(g), "%s ends at data", rel);
        gguf_close(g);
    }
}

/* ---- hand-made hostile files ---- */

static void test_bad_header(void) {
    bb b = {0};
    bb_put(&b, "GGUX", 4); bb_u32(&b, 3); bb_u64(&b, 0); bb_u64(&b, 0);
    BAD(b, "not a GGUF file (bad magic) (at byte 0)"); bb_free(&b);
    bb_put(&b, "GG\0", 3); BAD(b, "bad magic"); bb_free(&b);
    bb_put(&b, "GGU", 3); BAD(b, "truncated in header (at byte 0)"); bb_free(&b);
    bb_hdr(&b, 1, 0, 0); BAD(b, "version 1 is not supported"); bb_free(&b);
    bb_hdr(&b, 4, 0, 0); BAD(b, "unsupported GGUF version 4"); bb_free(&b);
    bb_hdr(&b, 0x03000000, 0, 0); BAD(b, "big-endian"); bb_free(&b);
    bb_hdr(&b, 3, 0, 1ull << 60); bb_zeros(&b, 64); BAD(b, "metadata count 1152921504606846976"); bb_free(&b);
    bb_hdr(&b, 3, 1ull << 60, 0); bb_zeros(&b, 64); BAD(b, "tensor count"); bb_free(&b);
    bb_hdr(&b, 3, UINT64_MAX, UINT64_MAX); BAD(b, "count"); bb_free(&b);
    bb_hdr(&b, 3, 2, 0); bb_zeros(&b, 40); BAD(b, "tensor count 2"); bb_free(&b);

    bb_hdr(&b, 2, 0, 0);
    gguf *g; void *copy;
    CHECK(open_prefix(b.p, b.n, &g, &copy) == 0 && gguf_version(g) == 2 && gguf_data_offset(g) == 24,
          "empty v2 file: %s", err);
    if (g) gguf_close(g);
    free(copy); bb_free(&b);
    CHECK(gguf_open_mem(&g, NULL, 0, NULL, err, sizeof err) == GGUF_EFORMAT && strstr(err, "truncated in header"),
          "NULL buffer: %s", err);
    CHECK(gguf_open_mem(&g, NULL, 0, "z", NULL, 0) == GGUF_EFORMAT, "no err buffer");
    char small[12];
    bb_hdr(&b, 1, 0, 0);
    CHECK(gguf_open_mem(&g, b.p, b.n, "a-long-file-name.gguf", small, sizeof small) == GGUF_EFORMAT &&
          strlen(small) == sizeof small - 1, "message cut to the buffer");
    bb_free(&b);
    CHECK(gguf_open(&g, "/nonexistent/x.gguf", err, sizeof err) == GGUF_EIO && !g &&
          strncmp(err, "/nonexistent/x.gguf: ", 21) == 0, "missing file: %s", err);
    CHECK(gguf_open(&g, tmp, err, sizeof err) == GGUF_EIO && strstr(err, "not a regular file"), "directory");
}

static void test_bad_metadata(void) {
    bb b = {0};
    bb_hdr(&b, 3, 0, 1); bb_u64(&b, 1ull << 63); bb_zeros(&b, 16);
    BAD(b, "truncated in metadata key 0 (string of 9223372036854775808 bytes) (at byte 24)"); bb_free(&b);
    bb_hdr(&b, 3, 0, 1); bb_str(&b, "k"); bb_u32(&b, GGUF_T_STRING); bb_u64(&b, 1ull << 63); bb_zeros(&b, 8);
    BAD(b, "truncated in metadata value of key 'k' (string of"); bb_free(&b);
    bb_hdr(&b, 3, 0, 1); bb_str(&b, "k"); bb_u32(&b, GGUF_T_ARRAY); bb_u32(&b, GGUF_T_U64);
    bb_u64(&b, 1ull << 62); bb_zeros(&b, 64);
    BAD(b, "truncated in metadata value of key 'k' (array of 4611686018427387904 u64)"); bb_free(&b);
    bb_hdr(&b, 3, 0, 1); bb_str(&b, "tokenizer.ggml.tokens"); bb_u32(&b, GGUF_T_ARRAY);
    bb_u32(&b, GGUF_T_STRING); bb_u64(&b, 1ull << 61); bb_zeros(&b, 64);
    BAD(b, "key 'tokenizer.ggml.tokens' (array of 2305843009213693952 string)"); bb_free(&b);
    bb_hdr(&b, 3, 0, 1); bb_str(&b, "k"); bb_u32(&b, GGUF_T_ARRAY); bb_u32(&b, GGUF_T_STRING);
    bb_u64(&b, 3); bb_str(&b, "a"); bb_str(&b, "b"); bb_u64(&b, 100);
    BAD(b, "truncated in metadata value of key 'k' (string of 100 bytes)"); bb_free(&b);

    for (int depth = 10; depth <= 100; depth += 90) {
        bb_hdr(&b, 3, 0, 1); bb_str(&b, "deep"); bb_u32(&b, GGUF_T_ARRAY);
        for (int k = 1; k < depth; k++) { bb_u32(&b, GGUF_T_ARRAY); bb_u64(&b, 1); }
        bb_u32(&b, GGUF_T_U8); bb_u64(&b, 1); bb_zeros(&b, 1);
        if (depth == 100) { BAD(b, "nested deeper than 64 in metadata value of key 'deep'"); bb_free(&b); continue; }
        gguf *g; void *copy;
        const gguf_value *v = NULL;
        int rc = open_prefix(b.p, b.n, &g, &copy), levels = 0;
        if (!rc) for (v = gguf_get(g, "deep"); v->type == GGUF_T_ARRAY && v->arr_items; v = &v->arr_items[0]) levels++;
        CHECK(rc == 0 && levels == depth - 1 && v->arr_type == GGUF_T_U8 && v->arr_n == 1, "depth 10: %s", err);
        if (!rc) gguf_close(g);
        free(copy); bb_free(&b);
    }
    bb_hdr(&b, 3, 0, 1); bb_str(&b, "k"); bb_u32(&b, 13); bb_zeros(&b, 8);
    BAD(b, "key 'k' has unknown value type 13"); bb_free(&b);
    bb_hdr(&b, 3, 0, 1); bb_str(&b, "k"); bb_u32(&b, GGUF_T_ARRAY); bb_u32(&b, 200); bb_u64(&b, 0);
    BAD(b, "unknown array element type 200"); bb_free(&b);
    bb_hdr(&b, 3, 0, 2); bb_kv_u32(&b, "a", 1); bb_kv_u32(&b, "a", 2);
    BAD(b, "duplicate key 'a'"); bb_free(&b);
    bb_hdr(&b, 3, 0, 1); bb_kv_u32(&b, "", 1); BAD(b, "empty key"); bb_free(&b);
    bb_hdr(&b, 3, 0, 1); bb_u64(&b, 3); bb_put(&b, "a\0b", 3); bb_u32(&b, GGUF_T_U8); bb_zeros(&b, 1);
    BAD(b, "NUL"); bb_free(&b);
    bb_hdr(&b, 3, 0, 1); bb_u64(&b, 2); bb_put(&b, "\n\x01", 2); bb_u32(&b, 99); bb_zeros(&b, 4);
    BAD(b, "key '?\?' has unknown value type 99"); bb_free(&b);
    bb_hdr(&b, 3, 0, 1); bb_kv_u32(&b, "general.alignment", 3); BAD(b, "3 is not a power of two"); bb_free(&b);
    bb_hdr(&b, 3, 0, 1); bb_kv_u32(&b, "general.alignment", 0); BAD(b, "not a power of two"); bb_free(&b);
    /* issue 13, item 21: 1, 2 and 4 are powers of two but not multiples of 8 */
    for (uint32_t a = 1; a <= 4; a *= 2) {
        bb_hdr(&b, 3, 0, 1); bb_kv_u32(&b, "general.alignment", a); BAD(b, "multiple of 8"); bb_free(&b);
    }
    bb_hdr(&b, 3, 0, 1); bb_str(&b, "general.alignment"); bb_u32(&b, GGUF_T_U64); bb_u64(&b, 32);
    BAD(b, "general.alignment is u64, not u32"); bb_free(&b);
}

/* A file with one kv, then one tensor (fields given), then padding and data. */
static void tensor_file(bb *b, const char *name, uint32_t nd, const uint64_t *ne, uint32_t type,
                        uint64_t off, size_t data) {
    bb_hdr(b, 3, 1, 1); bb_kv_u32(b, "k", 1);
    bb_tensor(b, name, nd, ne, type, off);
    bb_pad(b, 32); bb_zeros(b, data);
}

static void test_bad_tensors(void) {
    bb b = {0};
    uint64_t ne[4] = {32, 2, 1, 1};
    tensor_file(&b, "w.ok", 2, ne, QT_Q8_0, 0, 68);
    gguf *g; void *copy;
    CHECK(open_prefix(b.p, b.n, &g, &copy) == 0 && gguf_tensor_at(g, 0)->size == 68, "good tensor: %s", err);
    if (g) gguf_close(g);
    free(copy); bb_free(&b);
    tensor_file(&b, "w.bad", 2, ne, 99, 0, 256); BAD(b, "tensor 'w.bad' has unknown type id 99"); bb_free(&b);
    tensor_file(&b, "w.bad", 2, ne, 0x80000000u, 0, 256); BAD(b, "unknown type id 2147483648"); bb_free(&b);
    tensor_file(&b, "w", 0, ne, QT_F32, 0, 256); BAD(b, "tensor 'w' has 0 dimensions"); bb_free(&b);
    tensor_file(&b, "w", 5, (uint64_t[]){1, 1, 1, 1, 1}, QT_F32, 0, 256); BAD(b, "5 dimensions"); bb_free(&b);
    tensor_file(&b, "w", 2, (uint64_t[]){4, 0}, QT_F32, 0, 256); BAD(b, "dimension 1 has size 0"); bb_free(&b);
    tensor_file(&b, "w", 1, (uint64_t[]){1ull << 63}, QT_I8, 0, 256); BAD(b, "dimension 0 has size"); bb_free(&b);
    tensor_file(&b, "w", 2, (uint64_t[]){1ull << 32, 1ull << 32}, QT_I8, 0, 256); BAD(b, "too large"); bb_free(&b);
    tensor_file(&b, "w", 1, (uint64_t[]){1ull << 62}, QT_F32, 0, 256); BAD(b, "too large"); bb_free(&b);
    tensor_file(&b, "w", 4, (uint64_t[]){1ull << 20, 1ull << 20, 1ull << 20, 1ull << 20}, QT_F32, 0, 256);
    BAD(b, "too large"); bb_free(&b);
    tensor_file(&b, "w.q", 1, (uint64_t[]){31}, QT_Q8_0, 0, 256);
    BAD(b, "row length 31 is not a multiple of the"); bb_free(&b);
    tensor_file(&b, "w", 1, ne, QT_F32, 4, 256); BAD(b, "offset 4 is not a multiple of the alignment 32"); bb_free(&b);
    tensor_file(&b, "w", 1, ne, QT_F32, 1024, 256); BAD(b, "truncated in tensor data of 'w'"); bb_free(&b);
    tensor_file(&b, "w", 1, ne, QT_F32, 0, 127); BAD(b, "truncated in tensor data of 'w'"); bb_free(&b);
    tensor_file(&b, "w", 1, ne, QT_F32, UINT64_MAX - 31, 256); BAD(b, "truncated in tensor data"); bb_free(&b);
    bb_hdr(&b, 3, 1, 0); bb_tensor(&b, "w", 1, ne, QT_F32, 0);
    BAD(b, "truncated in padding before tensor data"); bb_free(&b);
    bb_hdr(&b, 3, 2, 0); bb_tensor(&b, "w", 1, ne, QT_F32, 0); bb_tensor(&b, "w", 1, ne, QT_F32, 128);
    bb_pad(&b, 32); bb_zeros(&b, 256); BAD(b, "duplicate tensor name 'w'"); bb_free(&b);
    bb_hdr(&b, 3, 1, 0); bb_tensor(&b, "", 1, ne, QT_F32, 0); bb_pad(&b, 32); bb_zeros(&b, 128);
    BAD(b, "empty tensor name"); bb_free(&b);
    /* general.alignment applies to tensor offsets. */
    bb_hdr(&b, 3, 1, 1); bb_kv_u32(&b, "general.alignment", 64); bb_tensor(&b, "w", 1, ne, QT_F32, 32);
    bb_pad(&b, 64); bb_zeros(&b, 256); BAD(b, "offset 32 is not a multiple of the alignment 64"); bb_free(&b);
}

int main(void) {
    snprintf(tmp, sizeof tmp, "/tmp/test_gguf.XXXXXX");
    if (!mkdtemp(tmp)) { perror("mkdtemp"); return 1; }
    test_stories();
    test_vocab_only();
    test_synthetic();
    test_bad_header();
    test_bad_metadata();
    test_bad_tensors();
    rmdir(tmp);
    return check_done();
}
