/* test_ggufw: the GGUF writer: byte-identical copies of the shared files,
 * round trips of every value type, alignment, refused misuse, and a written
 * file truncated at every byte (the reader must refuse each prefix with one
 * line). test_gguf.c has the reader's own cases.
 *
 * `test_ggufw --write-seeds DIR` writes the fuzzer seed files instead. */
#include "gguf_check.h"
#include "fout.h"
#include "ggufw.h"
#include "qtypes.h"
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- writer ---- */

static bool value_eq(const gguf_value *a, const gguf_value *b) {
    if (a->type != b->type) return false;
    size_t sz = gguf_type_size(a->type);
    if (a->type == GGUF_T_BOOL) return a->num.b == b->num.b;
    if (a->type == GGUF_T_F32 || a->type == GGUF_T_F64)
        return memcmp(&a->num.f, &b->num.f, sizeof a->num.f) == 0;
    if (sz) return a->num.u == b->num.u;
    if (a->type == GGUF_T_STRING)
        return a->str_len == b->str_len && memcmp(a->str, b->str, a->str_len) == 0;
    if (a->arr_type != b->arr_type || a->arr_n != b->arr_n) return false;
    sz = gguf_type_size(a->arr_type);
    if (sz) return memcmp(a->arr_data, b->arr_data, a->arr_n * sz) == 0;
    for (uint64_t i = 0; i < a->arr_n; i++)
        if (!value_eq(&a->arr_items[i], &b->arr_items[i])) return false;
    return true;
}

/* Copies src (every key, every tensor, data in two pieces each) to path. */
static int copy_file(const gguf *src, const char *path) {
    ggufw *w = ggufw_create();
    int rc = 0;
    for (int64_t i = 0; !rc && i < gguf_n_kv(src); i++)
        rc = ggufw_copy_kv(w, gguf_kv_key(src, i), gguf_kv_value(src, i));
    for (int64_t i = 0; !rc && i < gguf_n_tensors(src); i++) {
        const gguf_tensor *t = gguf_tensor_at(src, i);
        rc = ggufw_add_tensor(w, t->name, t->type, t->n_dims, t->ne);
    }
    if (!rc) rc = ggufw_begin(w, path, err, sizeof err);
    for (int64_t i = 0; !rc && i < gguf_n_tensors(src); i++) {
        const gguf_tensor *t = gguf_tensor_at(src, i);
        size_t half = (size_t)t->size / 2;
        rc = ggufw_write_data(w, t->data, half, err, sizeof err);
        if (!rc) rc = ggufw_write_data(w, (const char *)t->data + half, (size_t)t->size - half, err, sizeof err);
    }
    if (!rc) rc = ggufw_end(w, err, sizeof err);
    ggufw_destroy(w);
    return rc;
}

/* A copy through ggufw_copy_kv is byte-identical: ggml lays tensors out the
 * same way (aligned, in table order, padding only between them). */
static void test_copy(const char *rel) {
    char path[512];
    gguf *g, *h;
    if (gguf_open(&g, check_path(path, sizeof path, rel), err, sizeof err)) {
        CHECK(0, "open %s: %s", rel, err);
        return;
    }
    const char *out = tmpfile_path("copy.gguf");
    CHECK(copy_file(g, out) == 0, "copy %s: %s", rel, err);
    size_t n1 = 0, n2 = 0;
    uint8_t *a = check_slurp(path, &n1), *b = check_slurp(out, &n2);
    CHECK(a && b && n1 == n2 && memcmp(a, b, n1) == 0, "%s copy is byte-identical (%zu vs %zu)", rel, n1, n2);
    free(a);
    free(b);
    if (gguf_open(&h, out, err, sizeof err) == 0) {
        bool same = gguf_n_kv(h) == gguf_n_kv(g) && gguf_n_tensors(h) == gguf_n_tensors(g);
        for (int64_t i = 0; same && i < gguf_n_kv(g); i++)
            same = strcmp(gguf_kv_key(g, i), gguf_kv_key(h, i)) == 0 &&
                   value_eq(gguf_kv_value(g, i), gguf_kv_value(h, i));
        CHECK(same, "%s copy reads back equal", rel);
        gguf_close(h);
    } else {
        CHECK(0, "reopen copy: %s", err);
    }
    gguf_close(g);
    unlink(out);
}

static gguf_value num_v(uint32_t type, uint64_t u) { gguf_value v = {.type = type, .num.u = u}; return v; }

/* Writes a file holding every value type, nested arrays and four tensors. */
static int write_all_types(const char *path, float *f32data, uint8_t *q8data) {
    ggufw *w = ggufw_create();
    int rc = 0;
    gguf_value v;
    rc |= ggufw_set_u32(w, "dup", 1);
    rc |= ggufw_set_u32(w, "s.u32", 0xdeadbeefu);
    rc |= ggufw_set_i32(w, "s.i32", -123456);
    rc |= ggufw_set_u64(w, "s.u64", (1ull << 63) + 5);
    rc |= ggufw_set_f32(w, "s.f32", 3.5f);
    rc |= ggufw_set_bool(w, "s.bool", true);
    rc |= ggufw_set_str(w, "s.str", "h\xc3\xa9llo");
    v = num_v(GGUF_T_U8, 200); rc |= ggufw_copy_kv(w, "s.u8", &v);
    v.type = GGUF_T_I8; v.num.i = -100; rc |= ggufw_copy_kv(w, "s.i8", &v);
    v = num_v(GGUF_T_U16, 60000); rc |= ggufw_copy_kv(w, "s.u16", &v);
    v.type = GGUF_T_I16; v.num.i = -30000; rc |= ggufw_copy_kv(w, "s.i16", &v);
    v.type = GGUF_T_I64; v.num.i = -(1ll << 62); rc |= ggufw_copy_kv(w, "s.i64", &v);
    v.type = GGUF_T_F64; v.num.f = 1e300; rc |= ggufw_copy_kv(w, "s.f64", &v);
    rc |= ggufw_set_str(w, "dup", "two");

    uint8_t u8[] = {1, 2, 255}; int8_t i8[] = {-1, 0, 127}; uint16_t u16[] = {1, 65535, 7};
    int16_t i16[] = {-32768, 5, 32767}; uint32_t u32[] = {0, 1, 0xffffffffu};
    int32_t i32[] = {INT32_MIN, -1, INT32_MAX}; float f32[] = {0.5f, -2.0f, 1e-30f};
    uint8_t bools[] = {1, 0, 1}; uint64_t u64[] = {UINT64_MAX, 0, 3};
    int64_t i64[] = {INT64_MIN, -7, INT64_MAX}; double f64[] = {-0.0, 1.0 / 3, 1e-300};
    const void *arrs[] = {u8, i8, u16, i16, u32, i32, f32, bools, NULL, NULL, u64, i64, f64};
    for (uint32_t t = 0; t < GGUF_T_COUNT; t++) {
        if (!arrs[t]) continue;
        char key[32];
        snprintf(key, sizeof key, "a.%s", gguf_type_name(t));
        rc |= ggufw_set_arr(w, key, t, arrs[t], 3);
    }
    rc |= ggufw_set_arr(w, "a.empty", GGUF_T_U32, NULL, 0);
    const char *strs[] = {"a", "", "ccc"};
    rc |= ggufw_set_str_arr(w, "a.strs", strs, NULL, 3);
    const char *nul[] = {"x\0y"}; size_t nul_len[] = {3};
    rc |= ggufw_set_str_arr(w, "a.nul", nul, nul_len, 1);
    rc |= ggufw_set_str_arr(w, "a.nostrs", NULL, NULL, 0);

    /* [[1, 2], [3], []] of i32; [["p", "q"], []] of strings; [[[7]]] */
    int32_t one2[] = {1, 2}, three[] = {3}, seven[] = {7};
    gguf_value in[3] = {
        {.type = GGUF_T_ARRAY, .arr_type = GGUF_T_I32, .arr_n = 2, .arr_data = one2},
        {.type = GGUF_T_ARRAY, .arr_type = GGUF_T_I32, .arr_n = 1, .arr_data = three},
        {.type = GGUF_T_ARRAY, .arr_type = GGUF_T_I32, .arr_n = 0, .arr_data = NULL}};
    v = (gguf_value){.type = GGUF_T_ARRAY, .arr_type = GGUF_T_ARRAY, .arr_n = 3, .arr_items = in};
    rc |= ggufw_copy_kv(w, "n.ints", &v);
    gguf_value pq[2] = {{.type = GGUF_T_STRING, .str = "p", .str_len = 1},
                        {.type = GGUF_T_STRING, .str = "q", .str_len = 1}};
    gguf_value sin[2] = {{.type = GGUF_T_ARRAY, .arr_type = GGUF_T_STRING, .arr_n = 2, .arr_items = pq},
                         {.type = GGUF_T_ARRAY, .arr_type = GGUF_T_STRING, .arr_n = 0}};
    v = (gguf_value){.type = GGUF_T_ARRAY, .arr_type = GGUF_T_ARRAY, .arr_n = 2, .arr_items = sin};
    rc |= ggufw_copy_kv(w, "n.strs", &v);
    gguf_value d3 = {.type = GGUF_T_ARRAY, .arr_type = GGUF_T_I32, .arr_n = 1, .arr_data = seven};
    gguf_value d2 = {.type = GGUF_T_ARRAY, .arr_type = GGUF_T_ARRAY, .arr_n = 1, .arr_items = &d3};
    v = (gguf_value){.type = GGUF_T_ARRAY, .arr_type = GGUF_T_ARRAY, .arr_n = 1, .arr_items = &d2};
    rc |= ggufw_copy_kv(w, "n.deep", &v);

    rc |= ggufw_add_tensor(w, "t.f32", QT_F32, 2, (uint64_t[]){5, 3});
    rc |= ggufw_add_tensor(w, "t.q8", QT_Q8_0, 2, (uint64_t[]){64, 2});
    rc |= ggufw_add_tensor(w, "t.f16", QT_F16, 1, (uint64_t[]){7});
    rc |= ggufw_add_tensor(w, "t.4d", QT_F32, 4, (uint64_t[]){2, 2, 2, 2});
    if (rc) { ggufw_destroy(w); return -100; }
    for (int i = 0; i < 16 + 15; i++) f32data[i] = (float)i * 0.25f;
    for (int i = 0; i < 136 + 14; i++) q8data[i] = (uint8_t)(i * 7);
    rc = ggufw_begin(w, path, err, sizeof err);
    if (!rc) rc = ggufw_write_data(w, f32data, 4 * 4, err, sizeof err);
    if (!rc) rc = ggufw_write_data(w, f32data + 4, 0, err, sizeof err);
    if (!rc) rc = ggufw_write_data(w, f32data + 4, 11 * 4, err, sizeof err);
    if (!rc) rc = ggufw_write_data(w, q8data, 136, err, sizeof err);
    if (!rc) rc = ggufw_write_data(w, q8data + 136, 14, err, sizeof err);
    if (!rc) rc = ggufw_write_data(w, f32data + 15, 16 * 4, err, sizeof err);
    if (!rc) rc = ggufw_end(w, err, sizeof err);
    ggufw_destroy(w);
    return rc;
}

static bool arr_eq(const gguf *g, const char *key, uint32_t et, const void *want, uint64_t n) {
    const gguf_value *a;
    return gguf_get_arr(g, key, (int)et, &a) == 0 && a->arr_n == n &&
           (n == 0 || memcmp(a->arr_data, want, n * gguf_type_size(et)) == 0);
}

static void test_writer_types(void) {
    const char *path = tmpfile_path("types.gguf");
    float f32data[31];
    uint8_t q8data[150];
    int rc = write_all_types(path, f32data, q8data);
    CHECK(rc == 0, "write all types: %d %s", rc, err);
    gguf *g;
    if (gguf_open(&g, path, err, sizeof err)) { CHECK(0, "reopen: %s", err); return; }
    CHECK(gguf_version(g) == 3 && gguf_n_tensors(g) == 4, "header");
    CHECK(gguf_n_kv(g) == 13 + 11 + 4 + 3, "n_kv %lld (dup kept once)", (long long)gguf_n_kv(g));
    uint32_t u; int64_t i; float f; bool b; const char *s; size_t n;
    CHECK(gguf_get_str(g, "dup", &s, &n) == 0 && str_is(s, n, "two"), "set twice keeps last");
    CHECK(strcmp(gguf_kv_key(g, 0), "dup") == 0, "replaced in place");
    CHECK(gguf_get_u32(g, "s.u32", &u) == 0 && u == 0xdeadbeefu, "u32");
    CHECK(gguf_get_i64(g, "s.i32", &i) == 0 && i == -123456, "i32");
    CHECK(gguf_get_u32(g, "s.i32", &u) == GGUF_ETYPE, "negative as u32");
    CHECK(gguf_get(g, "s.u64")->num.u == (1ull << 63) + 5 && gguf_get_i64(g, "s.u64", &i) == GGUF_ETYPE,
          "u64 beyond i64");
    CHECK(gguf_get_f32(g, "s.f32", &f) == 0 && f == 3.5f, "f32");
    CHECK(gguf_get_bool(g, "s.bool", &b) == 0 && b, "bool");
    CHECK(gguf_get_str(g, "s.str", &s, &n) == 0 && str_is(s, n, "h\xc3\xa9llo"), "str");
    CHECK(gguf_get_i64(g, "s.u8", &i) == 0 && i == 200 && gguf_get(g, "s.u8")->type == GGUF_T_U8, "u8");
    CHECK(gguf_get_i64(g, "s.i8", &i) == 0 && i == -100, "i8");
    CHECK(gguf_get_u32(g, "s.u16", &u) == 0 && u == 60000, "u16");
    CHECK(gguf_get_i64(g, "s.i16", &i) == 0 && i == -30000, "i16");
    CHECK(gguf_get_i64(g, "s.i64", &i) == 0 && i == -(1ll << 62), "i64");
    CHECK(gguf_get(g, "s.f64")->num.f == 1e300 && gguf_get_f32(g, "s.f64", &f) == 0 && isinf(f), "f64");

    uint8_t u8[] = {1, 2, 255}; int8_t i8[] = {-1, 0, 127}; uint16_t u16[] = {1, 65535, 7};
    int16_t i16[] = {-32768, 5, 32767}; uint32_t u32[] = {0, 1, 0xffffffffu};
    int32_t i32[] = {INT32_MIN, -1, INT32_MAX}; float f32[] = {0.5f, -2.0f, 1e-30f};
    uint8_t bools[] = {1, 0, 1}; uint64_t u64[] = {UINT64_MAX, 0, 3};
    int64_t i64[] = {INT64_MIN, -7, INT64_MAX}; double f64[] = {-0.0, 1.0 / 3, 1e-300};
    CHECK(arr_eq(g, "a.u8", GGUF_T_U8, u8, 3) && arr_eq(g, "a.i8", GGUF_T_I8, i8, 3) &&
          arr_eq(g, "a.u16", GGUF_T_U16, u16, 3) && arr_eq(g, "a.i16", GGUF_T_I16, i16, 3) &&
          arr_eq(g, "a.u32", GGUF_T_U32, u32, 3) && arr_eq(g, "a.i32", GGUF_T_I32, i32, 3) &&
          arr_eq(g, "a.f32", GGUF_T_F32, f32, 3) && arr_eq(g, "a.bool", GGUF_T_BOOL, bools, 3) &&
          arr_eq(g, "a.u64", GGUF_T_U64, u64, 3) && arr_eq(g, "a.i64", GGUF_T_I64, i64, 3) &&
          arr_eq(g, "a.f64", GGUF_T_F64, f64, 3) && arr_eq(g, "a.empty", GGUF_T_U32, NULL, 0),
          "scalar arrays");
    gguf_value e;
    const gguf_value *a;
    gguf_get_arr(g, "a.i16", -1, &a);
    CHECK(gguf_arr_get(a, 0, &e) == 0 && e.type == GGUF_T_I16 && e.num.i == -32768, "arr_get i16");
    gguf_get_arr(g, "a.u64", -1, &a);
    CHECK(gguf_arr_get(a, 0, &e) == 0 && e.num.u == UINT64_MAX, "arr_get u64");
    gguf_get_arr(g, "a.f64", -1, &a);
    CHECK(gguf_arr_get(a, 1, &e) == 0 && e.num.f == 1.0 / 3, "arr_get f64");
    gguf_get_arr(g, "a.bool", -1, &a);
    CHECK(gguf_arr_get(a, 1, &e) == 0 && !e.num.b && gguf_arr_get(a, 2, &e) == 0 && e.num.b, "arr_get bool");
    gguf_get_arr(g, "a.f32", -1, &a);
    CHECK(gguf_arr_get(a, 2, &e) == 0 && (float)e.num.f == 1e-30f, "arr_get f32");

    CHECK(gguf_get_arr(g, "a.strs", GGUF_T_STRING, &a) == 0 && a->arr_n == 3 &&
          str_is(a->arr_items[0].str, a->arr_items[0].str_len, "a") && a->arr_items[1].str_len == 0 &&
          str_is(a->arr_items[2].str, a->arr_items[2].str_len, "ccc"), "string array");
    CHECK(gguf_get_arr(g, "a.nul", GGUF_T_STRING, &a) == 0 && a->arr_n == 1 &&
          a->arr_items[0].str_len == 3 && memcmp(a->arr_items[0].str, "x\0y", 3) == 0, "embedded NUL");
    CHECK(gguf_get_arr(g, "a.nostrs", GGUF_T_STRING, &a) == 0 && a->arr_n == 0, "empty string array");

    CHECK(gguf_get_arr(g, "n.ints", GGUF_T_ARRAY, &a) == 0 && a->arr_n == 3 &&
          a->arr_items[0].arr_type == GGUF_T_I32 && a->arr_items[0].arr_n == 2 &&
          a->arr_items[1].arr_n == 1 && a->arr_items[2].arr_n == 0, "nested ints shape");
    CHECK(gguf_arr_get(&a->arr_items[0], 1, &e) == 0 && e.num.i == 2 &&
          gguf_arr_get(&a->arr_items[1], 0, &e) == 0 && e.num.i == 3, "nested ints values");
    CHECK(gguf_get_arr(g, "n.strs", GGUF_T_ARRAY, &a) == 0 && a->arr_n == 2 &&
          a->arr_items[0].arr_type == GGUF_T_STRING && a->arr_items[0].arr_n == 2 &&
          str_is(a->arr_items[0].arr_items[1].str, a->arr_items[0].arr_items[1].str_len, "q") &&
          a->arr_items[1].arr_n == 0, "nested strings");
    CHECK(gguf_get_arr(g, "n.deep", GGUF_T_ARRAY, &a) == 0 && gguf_arr_get(a, 0, &e) == 0 &&
          gguf_arr_get(&e, 0, &e) == 0 && e.arr_type == GGUF_T_I32 && gguf_arr_get(&e, 0, &e) == 0 &&
          e.type == GGUF_T_I32 && e.num.i == 7, "three levels");

    const gguf_tensor *t0 = gguf_find_tensor(g, "t.f32"), *t1 = gguf_find_tensor(g, "t.q8"),
                      *t2 = gguf_find_tensor(g, "t.f16"), *t3 = gguf_find_tensor(g, "t.4d");
    CHECK(t0 && t0->size == 60 && memcmp(t0->data, f32data, 60) == 0, "f32 data");
    CHECK(t1 && t1->type == QT_Q8_0 && t1->size == 136 && memcmp(t1->data, q8data, 136) == 0, "q8 data");
    CHECK(t2 && t2->size == 14 && memcmp(t2->data, q8data + 136, 14) == 0, "f16 data");
    CHECK(t3 && t3->n_dims == 4 && t3->ne[3] == 2 && memcmp(t3->data, f32data + 15, 64) == 0, "4d");
    bool aligned = gguf_data_offset(g) % 32 == 0;
    for (int64_t k = 0; k < 4; k++) aligned &= gguf_tensor_at(g, k)->offset % 32 == 0;
    CHECK(aligned && gguf_data_offset(g) + t3->offset + 64 == gguf_file_size(g), "layout");
    gguf_close(g);
    unlink(path);
}

static void test_writer_alignment(void) {
    const char *path = tmpfile_path("align.gguf");
    static const uint32_t aligns[] = {8, 64, 4096};
    for (size_t k = 0; k < 3; k++) {
        ggufw *w = ggufw_create();
        uint8_t data[40] = {1, 2, 3};
        ggufw_set_u32(w, "general.alignment", aligns[k]);
        ggufw_add_tensor(w, "a", QT_I8, 1, (uint64_t[]){3});
        ggufw_add_tensor(w, "b", QT_F32, 1, (uint64_t[]){10});
        int rc = ggufw_begin(w, path, err, sizeof err);
        if (!rc) rc = ggufw_write_data(w, data, 3, err, sizeof err);
        if (!rc) rc = ggufw_write_data(w, data, 40, err, sizeof err);
        if (!rc) rc = ggufw_end(w, err, sizeof err);
        ggufw_destroy(w);
        gguf *g;
        CHECK(rc == 0 && gguf_open(&g, path, err, sizeof err) == 0, "alignment %u: %s", aligns[k], err);
        if (rc) continue;
        const gguf_tensor *b = gguf_find_tensor(g, "b");
        CHECK(gguf_alignment(g) == aligns[k] && gguf_data_offset(g) % aligns[k] == 0 && b &&
              b->offset == aligns[k], "alignment %u layout", aligns[k]);
        gguf_close(g);
    }
    unlink(path);
    ggufw *w = ggufw_create();
    ggufw_set_u32(w, "general.alignment", 4);
    CHECK(ggufw_begin(w, path, err, sizeof err) == GGUF_EFORMAT && access(path, F_OK) != 0,
          "alignment 4 refused by the writer too");
    ggufw_set_u32(w, "general.alignment", 48);
    CHECK(ggufw_begin(w, path, err, sizeof err) == GGUF_EFORMAT && strstr(err, "power-of-two") &&
          access(path, F_OK) != 0, "alignment 48 refused before creating the file");
    ggufw_set_u64(w, "general.alignment", 64);
    CHECK(ggufw_begin(w, path, err, sizeof err) == GGUF_EFORMAT, "u64 alignment refused");
    ggufw_destroy(w);
}

/* An "old" file at path, and whether it is still there whole. */
static void write_old(const char *path) {
    FILE *f = fopen(path, "wb");
    if (f) { fputs("OLD CONTENT", f); fclose(f); }
}

static bool is_old(const char *path) {
    char b[32] = {0};
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(b, 1, sizeof b - 1, f) : 0;
    if (f) fclose(f);
    return n == 11 && strcmp(b, "OLD CONTENT") == 0;
}

/* Write temporaries (".NAME.XXXXXX.tmp") in the scratch folder. */
static int n_temporaries(void) {
    DIR *d = opendir(tmp);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += fout_is_temporary(e->d_name);
    if (d) closedir(d);
    return n;
}

static void test_writer_errors(void) {
    const char *path = tmpfile_path("err.gguf");
    ggufw *w = ggufw_create();
    uint64_t ne[4] = {32, 1, 1, 1};
    CHECK(ggufw_add_tensor(w, "x", 99, 1, ne) != 0, "unknown type");
    CHECK(ggufw_add_tensor(w, "x", QT_Q8_0, 1, (uint64_t[]){31}) != 0, "not a multiple of the block");
    CHECK(ggufw_add_tensor(w, "x", QT_F32, 0, ne) != 0 && ggufw_add_tensor(w, "x", QT_F32, 5, ne) != 0,
          "n_dims");
    CHECK(ggufw_add_tensor(w, "x", QT_F32, 2, (uint64_t[]){4, 0}) != 0, "zero dim");
    CHECK(ggufw_add_tensor(w, "x", QT_F32, 2, (uint64_t[]){1ull << 40, 1ull << 40}) != 0, "too big");
    CHECK(ggufw_add_tensor(w, "", QT_F32, 1, ne) != 0, "empty name");
    CHECK(ggufw_add_tensor(w, "x", QT_Q8_0, 1, ne) == 0, "good tensor");
    CHECK(ggufw_add_tensor(w, "x", QT_F32, 1, ne) != 0, "duplicate name");
    CHECK(ggufw_add_tensor(w, "y", QT_F32, 1, ne) == 0, "second tensor");
    CHECK(ggufw_set_arr(w, "k", GGUF_T_STRING, "x", 1) == GGUF_ETYPE &&
          ggufw_set_arr(w, "k", GGUF_T_ARRAY, "x", 1) == GGUF_ETYPE &&
          ggufw_set_arr(w, "k", 99, "x", 1) == GGUF_ETYPE, "set_arr types");
    CHECK(ggufw_set_u32(w, "", 1) != 0 && ggufw_set_u32(w, NULL, 1) != 0 && ggufw_set_str(w, "k", NULL) != 0,
          "bad key or value");
    gguf_value v = {.type = 77};
    CHECK(ggufw_copy_kv(w, "k", &v) == GGUF_ETYPE, "copy bad type");
    gguf_value deep[100];
    for (int k = 0; k < 100; k++)
        deep[k] = (gguf_value){.type = GGUF_T_ARRAY, .arr_type = GGUF_T_ARRAY, .arr_n = k < 99,
                               .arr_items = k < 99 ? &deep[k + 1] : NULL};
    CHECK(ggufw_copy_kv(w, "k", &deep[0]) == GGUF_ETYPE, "copy too deep");
    gguf_value item = {.type = GGUF_T_U32};
    v = (gguf_value){.type = GGUF_T_ARRAY, .arr_type = GGUF_T_STRING, .arr_n = 1, .arr_items = &item};
    CHECK(ggufw_copy_kv(w, "k", &v) == GGUF_ETYPE, "copy item of the wrong type");
    CHECK(ggufw_set_arr(w, "k", GGUF_T_U8, NULL, 4) != 0, "NULL array data");
    CHECK(ggufw_write_data(w, "x", 1, err, sizeof err) != 0, "data before begin");
    CHECK(ggufw_end(w, err, sizeof err) != 0, "end before begin");

    /* an old file at path stays whole until ggufw_end renames the new one
     * over it: a write that fails, or a process killed half way, used to
     * leave it truncated or removed */
    write_old(path);
    CHECK(ggufw_begin(w, path, err, sizeof err) == 0, "begin: %s", err);
    CHECK(ggufw_begin(w, path, err, sizeof err) != 0, "begin twice");
    CHECK(is_old(path) && n_temporaries() == 1, "while writing: the old file whole, the new one a temporary");
    CHECK(ggufw_set_u32(w, "late", 1) != 0 && ggufw_add_tensor(w, "late", QT_F32, 1, ne) != 0,
          "changes after begin");
    uint8_t buf[200] = {0};
    CHECK(ggufw_write_data(w, buf, 35, err, sizeof err) == GGUF_EFORMAT && strstr(err, "'x'"),
          "more than the tensor holds: %s", err);
    CHECK(ggufw_write_data(w, buf, 34, err, sizeof err) == 0, "q8 block");
    CHECK(ggufw_end(w, err, sizeof err) == GGUF_EFORMAT && strstr(err, "1 of 2"), "end too early: %s", err);
    CHECK(is_old(path), "a failed end leaves the old file");
    ggufw_destroy(w);
    CHECK(is_old(path) && n_temporaries() == 0, "destroy removes the unfinished temporary, the old file stays");

    /* A write error mid-stream (the file size limit stands in for a full
     * disk): reported as EIO, and the partial file is removed. */
    struct rlimit old;
    getrlimit(RLIMIT_FSIZE, &old);
    struct rlimit lim = {4096, old.rlim_max};
    void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
        static uint8_t big[1 << 16];
        w = ggufw_create();
        ggufw_add_tensor(w, "big", QT_I8, 1, (uint64_t[]){sizeof big});
        int rc = ggufw_begin(w, path, err, sizeof err);
        for (int k = 0; !rc && k < 16; k++)
            rc = ggufw_write_data(w, big + k * 4096, 4096, err, sizeof err);
        if (!rc) rc = ggufw_end(w, err, sizeof err);
        setrlimit(RLIMIT_FSIZE, &old);
        CHECK(rc == GGUF_EIO && strncmp(err, path, strlen(path)) == 0 && one_line(err),
              "write error: %d %s", rc, err);
        CHECK(ggufw_write_data(w, big, 1, err, sizeof err) != 0 && ggufw_end(w, err, sizeof err) != 0,
              "no writing after a write error");
        ggufw_destroy(w);
        CHECK(is_old(path) && n_temporaries() == 0, "after a write error: the old file whole, no temporary");
    }
    signal(SIGXFSZ, old_sig);
    unlink(path);
    w = ggufw_create();
    CHECK(ggufw_begin(w, path, err, sizeof err) == 0 && n_temporaries() == 1, "a new file: %s", err);
    ggufw_destroy(w);
    CHECK(access(path, F_OK) != 0 && n_temporaries() == 0, "a new file, unfinished: nothing left");

    /* finished: renamed over the old file; through a link, over its target
     * (the link stays); /dev/null in place */
    const char *link = tmpfile_path("err.link");
    write_old(path);
    CHECK(symlink("err.gguf", link) == 0, "symlink");
    w = ggufw_create();
    CHECK(ggufw_begin(w, link, err, sizeof err) == 0 && ggufw_end(w, err, sizeof err) == 0, "through a link: %s", err);
    ggufw_destroy(w);
    struct stat lst;
    CHECK(lstat(link, &lst) == 0 && S_ISLNK(lst.st_mode) && !is_old(path) && n_temporaries() == 0,
          "through a link: the target replaced, the link kept");
    unlink(link);
    unlink(path);
    w = ggufw_create();
    CHECK(ggufw_begin(w, "/dev/null", err, sizeof err) == 0 && ggufw_end(w, err, sizeof err) == 0,
          "/dev/null is written in place: %s", err);
    ggufw_destroy(w);

    w = ggufw_create();
    CHECK(ggufw_begin(w, "/nonexistent-dir/x.gguf", err, sizeof err) == GGUF_EIO &&
          strncmp(err, "/nonexistent-dir/x.gguf: ", 25) == 0, "unwritable path: %s", err);
    ggufw_destroy(w);
    ggufw_destroy(NULL);

    /* No tensors: a metadata-only file with no data section. */
    w = ggufw_create();
    ggufw_set_str(w, "general.name", "v");
    CHECK(ggufw_begin(w, path, err, sizeof err) == 0 && ggufw_write_data(w, buf, 1, err, sizeof err) != 0 &&
          ggufw_end(w, err, sizeof err) == 0, "metadata only");
    ggufw_destroy(w);
    gguf *g;
    CHECK(gguf_open(&g, path, err, sizeof err) == 0 && gguf_n_tensors(g) == 0 &&
          gguf_data_offset(g) == gguf_file_size(g), "metadata-only reopens: %s", err);
    if (g) gguf_close(g);

    /* into the caller's stream (quantize's locked temporary): the same bytes
     * as through a path, nothing renamed or closed, no temporary made */
    long n_path = 0;
    FILE *pf = fopen(path, "rb");
    if (pf) { fseek(pf, 0, SEEK_END); n_path = ftell(pf); fclose(pf); }
    char own[256];                          /* not tmpfile_path: its two buffers hold path and link */
    snprintf(own, sizeof own, "%s/own.gguf", tmp);
    FILE *of = fopen(own, "wb");
    w = ggufw_create();
    ggufw_set_str(w, "general.name", "v");
    CHECK(of && ggufw_begin_file(w, of, own, err, sizeof err) == 0 && n_temporaries() == 0 &&
          ggufw_end(w, err, sizeof err) == 0, "into a stream: %s", err);
    ggufw_destroy(w);
    CHECK(of && ftell(of) == n_path && n_path > 0 && fputc('x', of) == 'x', "the stream: every byte, still open");
    if (of) fclose(of);
    unlink(own);
    unlink(path);
}

/* ---- seeds, and truncation of one of them ---- */

/* Small model-like file: a few keys (one array of strings, one nested) and
 * tensors of three types. n_tensors 0 gives the metadata alone. */
static int write_small(const char *path, int n_tensors) {
    ggufw *w = ggufw_create();
    const char *toks[] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81the", "a"};
    float scores[] = {0, 0, 0, -1, -2};
    int32_t one[] = {4};
    gguf_value inner = {.type = GGUF_T_ARRAY, .arr_type = GGUF_T_I32, .arr_n = 1, .arr_data = one};
    gguf_value nested = {.type = GGUF_T_ARRAY, .arr_type = GGUF_T_ARRAY, .arr_n = 1, .arr_items = &inner};
    ggufw_set_str(w, "general.architecture", "llama");
    ggufw_set_u32(w, "llama.embedding_length", 32);
    ggufw_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    ggufw_set_str_arr(w, "tokenizer.ggml.tokens", toks, NULL, 5);
    ggufw_set_arr(w, "tokenizer.ggml.scores", GGUF_T_F32, scores, 5);
    ggufw_copy_kv(w, "x.nested", &nested);
    static const struct { const char *name; uint32_t type; uint64_t ne[2]; } ts[] = {
        {"t0.weight", QT_F32, {8, 2}}, {"t1.weight", QT_Q8_0, {32, 1}}, {"t2.weight", QT_F16, {3, 1}}};
    for (int i = 0; i < n_tensors; i++) ggufw_add_tensor(w, ts[i].name, ts[i].type, 2, ts[i].ne);
    int rc = ggufw_begin(w, path, err, sizeof err);
    uint8_t data[64];
    for (int i = 0; i < 64; i++) data[i] = (uint8_t)(i * 3 + 1);
    for (int i = 0; !rc && i < n_tensors; i++)
        rc = ggufw_write_data(w, data, qt_row_size((int)ts[i].type, (int64_t)ts[i].ne[0]) * ts[i].ne[1],
                              err, sizeof err);
    if (!rc) rc = ggufw_end(w, err, sizeof err);
    ggufw_destroy(w);
    return rc;
}

static void test_truncation(void) {
    const char *full = tmpfile_path("small.gguf"), *meta = tmpfile_path("meta.gguf");
    CHECK(write_small(full, 3) == 0 && write_small(meta, 0) == 0, "write small: %s", err);
    size_t n = 0, kv_end = 0;
    uint8_t *p = check_slurp(full, &n), *m = check_slurp(meta, &kv_end);
    gguf *g;
    void *copy;
    int rc = open_prefix(p, n, &g, &copy);
    CHECK(rc == 0, "small opens: %s", err);
    if (rc) { free(copy); free(p); free(m); return; }
    /* Region boundaries: header 24 bytes; metadata ends where the 0-tensor
     * file ends; each table entry is 8 + name + 4 + 8 * 2 + 4 + 8 bytes. */
    uint64_t table_end = kv_end + 3 * (8 + 9 + 4 + 16 + 4 + 8);
    uint64_t data_off = gguf_data_offset(g);
    const gguf_tensor *last = gguf_tensor_at(g, 2);
    CHECK(n == data_off + last->offset + last->size && table_end < data_off, "small layout");
    gguf_close(g);
    free(copy);
    static const char *region[] = {"in header", "in metadata", "in tensor info", "in padding", "in tensor data"};
    /* Each cut is refused: "truncated in <region>", or early, by the header's
     * check that the declared counts can fit in the bytes present. */
    int seen[5] = {0}, named[5] = {0}, wrong[5] = {0};
    for (size_t len = 0; len < n; len++) {
        int r = len < 24 ? 0 : len < kv_end ? 1 : len < table_end ? 2 : len < data_off ? 3 : 4;
        g = (gguf *)1;
        rc = open_prefix(p, len, &g, &copy);
        seen[r]++;
        bool in_region = strstr(err, "truncated ") && strstr(err, region[r]);
        named[r] += in_region;
        if (rc != GGUF_EFORMAT || g || !(in_region || strstr(err, "cannot fit in the file")) ||
            !strstr(err, "(at byte ") || !one_line(err)) {
            if (!wrong[r]++) fprintf(stderr, "truncated to %zu: rc %d: %s\n", len, rc, err);
            if (!rc) gguf_close(g);
        }
        free(copy);
    }
    for (int r = 0; r < 5; r++)
        CHECK(named[r] > 0 && wrong[r] == 0, "truncation %s: %d of %d wrong, %d named it", region[r],
              wrong[r], seen[r], named[r]);
    /* The mmap path: truncated copies on disk, the empty file included. */
    static const size_t cuts[] = {0, 3, 23, 100};
    for (size_t k = 0; k < 4; k++) {
        FILE *f = fopen(meta, "wb");
        fwrite(p, 1, cuts[k], f);
        fclose(f);
        g = (gguf *)1;
        CHECK(gguf_open(&g, meta, err, sizeof err) == GGUF_EFORMAT && !g &&
              (strstr(err, "truncated") || strstr(err, "cannot fit")) &&
              strncmp(err, meta, strlen(meta)) == 0, "file cut at %zu: %s", cuts[k], err);
    }
    /* Unaligned base pointer: the reader never loads multi-byte values directly. */
    uint8_t *shifted = malloc(n + 1);
    memcpy(shifted + 1, p, n);
    CHECK(gguf_open_mem(&g, shifted + 1, n, "s", err, sizeof err) == 0, "unaligned buffer");
    if (g) gguf_close(g);
    free(shifted);
    free(p);
    free(m);
    unlink(full);
    unlink(meta);
}


/* ---- fuzz seeds ---- */

static int write_seeds(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/small-model.gguf", dir);
    int rc = write_small(path, 3);
    snprintf(path, sizeof path, "%s/vocab-only.gguf", dir);
    if (!rc) rc = write_small(path, 0);
    float f32data[31];
    uint8_t q8data[150];
    snprintf(path, sizeof path, "%s/all-types.gguf", dir);
    if (!rc) rc = write_all_types(path, f32data, q8data);
    if (rc) fprintf(stderr, "seeds: %s\n", err);
    return rc ? 1 : 0;
}
int main(int argc, char **argv) {
    snprintf(tmp, sizeof tmp, "/tmp/test_ggufw.XXXXXX");
    if (!mkdtemp(tmp)) { perror("mkdtemp"); return 1; }
    if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0) {
        int rc = write_seeds(argv[2]);
        rmdir(tmp);
        return rc;
    }
    test_copy("models/stories260K.gguf");
    test_copy("models/synthetic/synth-A-q4_k.gguf");
    test_writer_types();
    test_writer_alignment();
    test_writer_errors();
    test_truncation();
    rmdir(tmp);
    return check_done();
}
