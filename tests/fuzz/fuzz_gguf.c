/* fuzz_gguf: libFuzzer target for the GGUF reader. Any input must either be
 * refused with a one-line message or open into a structure whose every
 * value, array item and tensor byte range can be walked without leaving the
 * buffer (ASAN checks that; the asserts check the index and message). */
#include "gguf.h"
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static volatile uint64_t sink;

static void walk(const gguf_value *v) {
    sink += v->type + v->num.u;
    if (v->type == GGUF_T_STRING && v->str_len)
        sink += (uint8_t)v->str[0] + (uint8_t)v->str[v->str_len - 1];
    if (v->type != GGUF_T_ARRAY) return;
    for (uint64_t i = 0; i < v->arr_n; i++) {
        gguf_value e;
        int rc = gguf_arr_get(v, i, &e);
        assert(rc == GGUF_OK && e.type == v->arr_type);
        walk(&e);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[256];
    gguf *g;
    if (gguf_open_mem(&g, data, size, "fuzz.gguf", err, sizeof err) != GGUF_OK) {
        assert(!g && err[0] && !strchr(err, '\n'));
        return 0;
    }
    for (int64_t i = 0; i < gguf_n_kv(g); i++) {
        const gguf_value *v = gguf_kv_value(g, i);
        assert(gguf_get(g, gguf_kv_key(g, i)) == v);
        walk(v);
    }
    for (int64_t i = 0; i < gguf_n_tensors(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        assert(gguf_find_tensor(g, t->name) == t && t->size > 0);
        const uint8_t *p = t->data;
        sink += p[0] + p[t->size - 1];
    }
    sink += gguf_data_offset(g) + gguf_alignment(g) + gguf_version(g);
    gguf_close(g);
    return 0;
}
