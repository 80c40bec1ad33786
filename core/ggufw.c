/* ggufw: the streaming GGUF writer (see ggufw.h).
 * Invariants: values are deep copies owned by the writer; tensor data is
 * written in declaration order, each tensor padded to the alignment before
 * its data, so a finished file ends at its last tensor. */
#include "ggufw.h"
#include "fout.h"
#include "strmap.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_pow2(uint64_t x) { return x && !(x & (x - 1)); }

/* x rounded up to a multiple of a (a power of two); false on overflow. */
static bool align_up(uint64_t x, uint64_t a, uint64_t *out) {
    if (x > UINT64_MAX - (a - 1)) return false;
    *out = (x + a - 1) & ~(a - 1);
    return true;
}

static void fmt(char *err, size_t errlen, const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    if (err && errlen) vsnprintf(err, errlen, f, ap);
    va_end(ap);
}

typedef struct wkv { char *key; gguf_value v; } wkv;
typedef struct wtensor { char *name; uint32_t type, n_dims; uint64_t ne[4], size, offset; } wtensor;

enum { W_BUILD, W_DATA, W_DONE, W_FAILED };

struct ggufw {
    wkv *kvs; int64_t n_kv, cap_kv;
    wtensor *ts; int64_t n_t, cap_t;
    strmap kv_index, t_index;       /* keys borrow kvs[].key / ts[].name */
    int state;                      /* W_* */
    fout out;                       /* out.f: NULL when not writing */
    FILE *f;                        /* out.f, or the caller's stream (ggufw_begin_file), while writing */
    bool borrowed;                  /* f is the caller's: flushed at the end, never closed */
    char *path;
    uint64_t alignment, pos;        /* pos: bytes written so far */
    int64_t cur;                    /* tensor whose data comes next */
    uint64_t cur_done;              /* bytes of it written */
};

/* Frees what a writer value owns: string bytes, array bytes and items. */
static void free_owned(gguf_value *v) {
    if (v->type == GGUF_T_STRING) free((void *)v->str);
    if (v->type != GGUF_T_ARRAY) return;
    free((void *)v->arr_data);
    for (uint64_t i = 0; v->arr_items && i < v->arr_n; i++) free_owned(&v->arr_items[i]);
    free(v->arr_items);
}

ggufw *ggufw_create(void) {
    ggufw *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    strmap_init(&w->kv_index);
    strmap_init(&w->t_index);
    w->alignment = GGUF_DEFAULT_ALIGNMENT;
    return w;
}

void ggufw_destroy(ggufw *w) {
    if (!w) return;
    if (w->f && !w->borrowed) fout_close(&w->out, false, NULL, 0);   /* an unfinished file: the old one stays */
    for (int64_t i = 0; i < w->n_kv; i++) { free(w->kvs[i].key); free_owned(&w->kvs[i].v); }
    for (int64_t i = 0; i < w->n_t; i++) free(w->ts[i].name);
    free(w->kvs);
    free(w->ts);
    strmap_fini(&w->kv_index);
    strmap_fini(&w->t_index);
    free(w->path);
    free(w);
}

static bool name_ok(const char *s) {
    return s && *s && strlen(s) <= GGUF_MAX_NAME;
}

/* Grows *arr (of *cap items of size sz) to hold one more than n. */
static int reserve(void **arr, int64_t *cap, int64_t n, size_t sz) {
    if (n < *cap) return 0;
    if (n >= GGUF_MAX_ITEMS) return GGUF_ENOMEM;
    int64_t c = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, (size_t)c * sz);
    if (!p) return GGUF_ENOMEM;
    *arr = p;
    *cap = c;
    return 0;
}

/* Stores v (ownership taken, freed on failure) under key. */
static int put(ggufw *w, const char *key, gguf_value *v) {
    int rc = GGUF_ETYPE;
    if (w->state != W_BUILD || !name_ok(key)) goto fail;
    size_t len = strlen(key);
    int32_t i = strmap_get(&w->kv_index, key, len);
    if (i >= 0) {
        free_owned(&w->kvs[i].v);
        w->kvs[i].v = *v;
        return GGUF_OK;
    }
    rc = GGUF_ENOMEM;
    char *k = strdup(key);
    if (!k || reserve((void **)&w->kvs, &w->cap_kv, w->n_kv, sizeof *w->kvs) ||
        strmap_set(&w->kv_index, k, len, (int32_t)w->n_kv)) { free(k); goto fail; }
    w->kvs[w->n_kv].key = k;
    w->kvs[w->n_kv++].v = *v;
    return GGUF_OK;
fail:
    free_owned(v);
    return rc;
}

static int put_num(ggufw *w, const char *key, uint32_t type, uint64_t u, double f) {
    gguf_value v = {.type = type};
    if (type == GGUF_T_F32) v.num.f = f;
    else if (type == GGUF_T_BOOL) v.num.b = u != 0;
    else v.num.u = u;
    return put(w, key, &v);
}

int ggufw_set_u32(ggufw *w, const char *key, uint32_t v) { return put_num(w, key, GGUF_T_U32, v, 0); }
int ggufw_set_i32(ggufw *w, const char *key, int32_t v) {
    gguf_value x = {.type = GGUF_T_I32, .num.i = v};
    return put(w, key, &x);
}
int ggufw_set_u64(ggufw *w, const char *key, uint64_t v) { return put_num(w, key, GGUF_T_U64, v, 0); }
int ggufw_set_f32(ggufw *w, const char *key, float v) { return put_num(w, key, GGUF_T_F32, 0, v); }
int ggufw_set_bool(ggufw *w, const char *key, bool v) { return put_num(w, key, GGUF_T_BOOL, v, 0); }

/* Copy of n bytes; at least one byte is allocated so that even an empty
 * value owns a pointer. NULL when out of memory. */
static void *dup_bytes(const void *src, uint64_t n) {
    if (n >= SIZE_MAX) return NULL;
    void *p = malloc(n ? (size_t)n : 1);
    if (p && n) memcpy(p, src, (size_t)n);
    return p;
}

/* Deep copy of src into dst (zeroed first, so a failure leaves it freeable). */
static int copy_value(gguf_value *dst, const gguf_value *src, int depth) {
    memset(dst, 0, sizeof *dst);
    if (src->type >= GGUF_T_COUNT) return GGUF_ETYPE;
    dst->type = src->type;
    if (gguf_type_size(src->type)) { dst->num = src->num; return 0; }
    if (src->type == GGUF_T_STRING) {
        if (src->str_len && !src->str) return GGUF_ETYPE;
        dst->str_len = src->str_len;
        return (dst->str = dup_bytes(src->str, src->str_len)) ? 0 : GGUF_ENOMEM;
    }
    if (depth >= GGUF_MAX_DEPTH || src->arr_type >= GGUF_T_COUNT) return GGUF_ETYPE;
    dst->arr_type = src->arr_type;
    size_t esz = gguf_type_size(src->arr_type);
    uint64_t bytes;
    if (esz) {
        if (__builtin_mul_overflow(src->arr_n, esz, &bytes)) return GGUF_ENOMEM;
        if (bytes && !src->arr_data) return GGUF_ETYPE;
        dst->arr_n = src->arr_n;
        return (dst->arr_data = dup_bytes(src->arr_data, bytes)) ? 0 : GGUF_ENOMEM;
    }
    if (src->arr_n && !src->arr_items) return GGUF_ETYPE;
    if (src->arr_n == 0) return 0;
    if (src->arr_n >= SIZE_MAX / sizeof *dst->arr_items ||
        !(dst->arr_items = calloc((size_t)src->arr_n, sizeof *dst->arr_items)))
        return GGUF_ENOMEM;
    dst->arr_n = src->arr_n;
    for (uint64_t i = 0; i < src->arr_n; i++) {
        if (src->arr_items[i].type != src->arr_type) return GGUF_ETYPE;
        int rc = copy_value(&dst->arr_items[i], &src->arr_items[i], depth + 1);
        if (rc) return rc;
    }
    return 0;
}

int ggufw_copy_kv(ggufw *w, const char *key, const gguf_value *v) {
    gguf_value c;
    int rc = copy_value(&c, v, 0);
    if (rc) { free_owned(&c); return rc; }
    return put(w, key, &c);
}

int ggufw_set_str(ggufw *w, const char *key, const char *s) {
    if (!s) return GGUF_ETYPE;
    gguf_value v = {.type = GGUF_T_STRING, .str = s, .str_len = strlen(s)};
    return ggufw_copy_kv(w, key, &v);
}

int ggufw_set_arr(ggufw *w, const char *key, uint32_t etype, const void *data, uint64_t n) {
    if (!gguf_type_size(etype)) return GGUF_ETYPE;
    gguf_value v = {.type = GGUF_T_ARRAY, .arr_type = etype, .arr_n = n, .arr_data = data};
    return ggufw_copy_kv(w, key, &v);
}

int ggufw_set_str_arr(ggufw *w, const char *key, const char *const *strs,
                      const size_t *lens, uint64_t n) {
    gguf_value v = {.type = GGUF_T_ARRAY, .arr_type = GGUF_T_STRING, .arr_n = n};
    if (n && !strs) return GGUF_ETYPE;
    if (n >= SIZE_MAX / sizeof *v.arr_items) return GGUF_ENOMEM;
    /* Shallow items pointing at the caller's strings; ggufw_copy_kv copies them. */
    gguf_value *items = n ? calloc((size_t)n, sizeof *items) : NULL;
    if (n && !items) return GGUF_ENOMEM;
    for (uint64_t i = 0; i < n; i++) {
        items[i].type = GGUF_T_STRING;
        items[i].str = strs[i];
        items[i].str_len = lens ? lens[i] : strs[i] ? strlen(strs[i]) : 0;
    }
    v.arr_items = items;
    int rc = ggufw_copy_kv(w, key, &v);
    free(items);
    return rc;
}

int ggufw_add_tensor(ggufw *w, const char *name, uint32_t type, uint32_t n_dims,
                     const uint64_t *ne) {
    if (w->state != W_BUILD || !name_ok(name) || n_dims < 1 || n_dims > 4 || !ne)
        return GGUF_EFORMAT;
    wtensor t = {.type = type, .n_dims = n_dims, .ne = {1, 1, 1, 1}};
    for (uint32_t d = 0; d < n_dims; d++) {
        if (ne[d] == 0 || ne[d] > INT64_MAX) return GGUF_EFORMAT;
        t.ne[d] = ne[d];
    }
    size_t len = strlen(name);
    if (gguf_tensor_bytes(type, t.ne, &t.size) || strmap_get(&w->t_index, name, len) >= 0)
        return GGUF_EFORMAT;
    if (!(t.name = strdup(name)) || reserve((void **)&w->ts, &w->cap_t, w->n_t, sizeof *w->ts) ||
        strmap_set(&w->t_index, t.name, len, (int32_t)w->n_t)) {
        free(t.name);
        return GGUF_ENOMEM;
    }
    w->ts[w->n_t++] = t;
    return GGUF_OK;
}

static void put_bytes(ggufw *w, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, w->f) != n) w->state = W_FAILED;
    w->pos += n;
}

static void put_le(ggufw *w, uint64_t x, int n) {
    uint8_t b[8];
    for (int i = 0; i < n; i++) b[i] = (uint8_t)(x >> (8 * i));
    put_bytes(w, b, (size_t)n);
}

static void put_str(ggufw *w, const char *s, uint64_t len) {
    put_le(w, len, 8);
    put_bytes(w, s, (size_t)len);
}

static void put_pad(ggufw *w) {
    static const uint8_t zeros[64];
    while (w->pos % w->alignment) {
        uint64_t k = w->alignment - w->pos % w->alignment;
        put_bytes(w, zeros, k < sizeof zeros ? (size_t)k : sizeof zeros);
    }
}

/* Writes v's payload (the type tag is written by the caller). */
static void put_value(ggufw *w, const gguf_value *v) {
    size_t sz = gguf_type_size(v->type);
    if (v->type == GGUF_T_F32) {
        float f = (float)v->num.f;
        uint32_t b;
        memcpy(&b, &f, 4);
        put_le(w, b, 4);
    } else if (v->type == GGUF_T_F64) {
        uint64_t b;
        memcpy(&b, &v->num.f, 8);
        put_le(w, b, 8);
    } else if (v->type == GGUF_T_BOOL) {
        put_le(w, v->num.b, 1);
    } else if (sz) {
        put_le(w, v->num.u, (int)sz);   /* signed values: two's complement, truncated */
    } else if (v->type == GGUF_T_STRING) {
        put_str(w, v->str, v->str_len);
    } else {
        put_le(w, v->arr_type, 4);
        put_le(w, v->arr_n, 8);
        size_t esz = gguf_type_size(v->arr_type);   /* n * esz was checked by copy_value */
        if (esz) put_bytes(w, v->arr_data, (size_t)(v->arr_n * esz));
        else for (uint64_t i = 0; i < v->arr_n; i++) put_value(w, &v->arr_items[i]);
    }
}

static int io_fail(ggufw *w, char *err, size_t errlen, const char *what) {
    fmt(err, errlen, "%s: %s: %s", w->path, what, errno ? strerror(errno) : "I/O error");
    w->state = W_FAILED;
    return GGUF_EIO;
}

/* Alignment from general.alignment if set (must be a power-of-two u32 of at
 * least 8, as the reader wants: the spec asks for a multiple of 8), and
 * each tensor's offset in the data section. */
static int layout(ggufw *w, const char *path, char *err, size_t errlen) {
    int32_t a = strmap_get(&w->kv_index, "general.alignment", strlen("general.alignment"));
    if (a >= 0) {
        const gguf_value *v = &w->kvs[a].v;
        if (v->type != GGUF_T_U32 || !is_pow2(v->num.u) || v->num.u < 8 || v->num.u > UINT32_MAX) {
            fmt(err, errlen, "%s: general.alignment must be a power-of-two u32 of at least 8", path);
            return GGUF_EFORMAT;
        }
        w->alignment = v->num.u;
    }
    uint64_t off = 0;
    for (int64_t i = 0; i < w->n_t; i++) {
        w->ts[i].offset = off;
        if (__builtin_add_overflow(off, w->ts[i].size, &off) || !align_up(off, w->alignment, &off)) {
            fmt(err, errlen, "%s: tensor data too large", path);
            return GGUF_EFORMAT;
        }
    }
    return 0;
}

/* The checks and the name both beginnings share. */
static int begin_check(ggufw *w, const char *path, char *err, size_t errlen) {
    if (w->state != W_BUILD || w->path) {
        fmt(err, errlen, "%s: writer already started", path);
        return GGUF_EFORMAT;
    }
    int rc = layout(w, path, err, errlen);
    if (rc) return rc;
    if (!(w->path = strdup(path))) { fmt(err, errlen, "%s: out of memory", path); return GGUF_ENOMEM; }
    return GGUF_OK;
}

static int write_head(ggufw *w, char *err, size_t errlen);

int ggufw_begin(ggufw *w, const char *path, char *err, size_t errlen) {
    int rc = begin_check(w, path, err, errlen);
    if (rc) return rc;
    /* written beside path and renamed over it by ggufw_end: a write that
     * fails or is killed half way leaves an old file at path whole */
    if (fout_open(&w->out, path, err, errlen)) {
        free(w->path);
        w->path = NULL;
        return GGUF_EIO;
    }
    w->f = w->out.f;
    return write_head(w, err, errlen);
}

int ggufw_begin_file(ggufw *w, FILE *f, const char *name, char *err, size_t errlen) {
    int rc = begin_check(w, name, err, errlen);
    if (rc) return rc;
    w->f = f;
    w->borrowed = true;
    return write_head(w, err, errlen);
}

/* Header, metadata and tensor table, at the start of w->f. */
static int write_head(ggufw *w, char *err, size_t errlen) {
    w->state = W_DATA;
    put_bytes(w, "GGUF", 4);
    put_le(w, 3, 4);
    put_le(w, (uint64_t)w->n_t, 8);
    put_le(w, (uint64_t)w->n_kv, 8);
    for (int64_t i = 0; i < w->n_kv; i++) {
        put_str(w, w->kvs[i].key, strlen(w->kvs[i].key));
        put_le(w, w->kvs[i].v.type, 4);
        put_value(w, &w->kvs[i].v);
    }
    for (int64_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->ts[i];
        put_str(w, t->name, strlen(t->name));
        put_le(w, t->n_dims, 4);
        for (uint32_t d = 0; d < t->n_dims; d++) put_le(w, t->ne[d], 8);
        put_le(w, t->type, 4);
        put_le(w, t->offset, 8);
    }
    if (w->n_t) put_pad(w);
    return w->state == W_FAILED ? io_fail(w, err, errlen, "write") : GGUF_OK;
}

int ggufw_write_data(ggufw *w, const void *data, size_t size, char *err, size_t errlen) {
    const char *path = w->path ? w->path : "<gguf writer>";
    if (w->state != W_DATA) {
        fmt(err, errlen, "%s: not writing tensor data", path);
        return GGUF_EFORMAT;
    }
    if (size == 0) return GGUF_OK;
    if (w->cur >= w->n_t) {
        fmt(err, errlen, "%s: more tensor data than declared", path);
        return GGUF_EFORMAT;
    }
    const wtensor *t = &w->ts[w->cur];
    if (size > t->size - w->cur_done) {
        fmt(err, errlen, "%s: %zu bytes for tensor '%s' which has %llu left", path, size, t->name,
            (unsigned long long)(t->size - w->cur_done));
        return GGUF_EFORMAT;
    }
    errno = 0;
    put_bytes(w, data, size);
    w->cur_done += size;
    if (w->cur_done == t->size) {
        w->cur++;
        w->cur_done = 0;
        if (w->cur < w->n_t) put_pad(w);
    }
    return w->state == W_FAILED ? io_fail(w, err, errlen, "write") : GGUF_OK;
}

int ggufw_end(ggufw *w, char *err, size_t errlen) {
    const char *path = w->path ? w->path : "<gguf writer>";
    if (w->state != W_DATA) {
        fmt(err, errlen, "%s: not writing", path);
        return GGUF_EFORMAT;
    }
    if (w->cur < w->n_t) {
        fmt(err, errlen, "%s: data written for %lld of %lld tensors", path,
            (long long)w->cur, (long long)w->n_t);
        return GGUF_EFORMAT;
    }
    FILE *f = w->f;
    w->f = NULL;
    if (w->borrowed) {                  /* the caller's stream: flushed, the caller closes it */
        errno = 0;
        if (fflush(f) != 0 || ferror(f)) return io_fail(w, err, errlen, "write");
        w->state = W_DONE;
        return GGUF_OK;
    }
    char why[PATH_MAX + 256];
    if (fout_close(&w->out, true, why, sizeof why)) {
        fmt(err, errlen, "%s", why);
        w->state = W_FAILED;
        return GGUF_EIO;
    }
    w->state = W_DONE;
    return GGUF_OK;
}
