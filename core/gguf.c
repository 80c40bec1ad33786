/* gguf: GGUF v2/v3 reader over a read-only mapping, and a streaming writer.
 *
 * Layout (spec: ggml's docs/gguf.md, "GGUF" file format, v2/v3; all fields
 * little-endian, no implicit padding between fields):
 *   header   "GGUF" u32 version, u64 n_tensors, u64 n_kv
 *   n_kv     { string key, u32 vtype, value }          string = u64 len, bytes
 *            value of ARRAY = u32 etype, u64 n, n values of etype (nested ok)
 *   tensors  { string name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset }
 *   padding  to general.alignment (u32, power of two, default 32)
 *   data     each tensor at data_offset + offset; offsets are aligned
 * v1 used 32-bit counts and lengths and is refused.
 *
 * Reader invariants: the cursor never moves past the end of the buffer; every
 * count is bounded by the bytes left before anything is allocated (a count of
 * n items that each need at least k bytes must satisfy n <= left / k), so the
 * heap used is at most a small multiple of the file size; all 64-bit sums and
 * products are overflow-checked; array nesting is capped at GGUF_MAX_DEPTH so a
 * hostile file cannot exhaust the C stack. On failure everything allocated is
 * released and err holds one line "NAME: problem (at byte N)".
 *
 * Writer invariants: values are deep copies owned by the writer; tensor data
 * goes straight to the FILE, so memory use does not depend on tensor sizes.
 * Padding is written before each tensor's data (after the table, then between
 * tensors), so a finished file ends exactly at the end of its last tensor.
 */
#include "gguf.h"
#include "fio.h"
#include "qtypes.h"
#include "strmap.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Fixed-size array payloads are exposed raw (gguf_value.arr_data) and the
 * writer copies caller arrays as they are: both assume a little-endian host. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf.c assumes a little-endian host"
#endif

#define MIN_KV_BYTES 13       /* u64 key length, u32 type, 1-byte value */
#define MIN_TENSOR_BYTES 32   /* u64 name length, u32 n_dims, 1 ne, u32 type, u64 offset */

struct gguf {
    char *path;                 /* name used in messages */
    uint64_t size;              /* bytes in the file or buffer */
    void *map;                  /* non-NULL when we own an mmap of map_len bytes */
    size_t map_len;
    uint32_t version;
    uint64_t alignment, data_offset;
    int64_t n_kv, n_tensors;    /* as declared; arrays below are zeroed to this length */
    char **keys;
    gguf_value *vals;
    gguf_tensor *tensors;
    strmap kv_index, tensor_index;
};

static const struct { const char *name; size_t size; } vtypes[GGUF_T_COUNT] = {
    {"u8", 1}, {"i8", 1}, {"u16", 2}, {"i16", 2}, {"u32", 4}, {"i32", 4},
    {"f32", 4}, {"bool", 1}, {"string", 0}, {"array", 0}, {"u64", 8},
    {"i64", 8}, {"f64", 8},
};

const char *gguf_type_name(uint32_t t) { return t < GGUF_T_COUNT ? vtypes[t].name : "unknown"; }
size_t gguf_type_size(uint32_t t) { return t < GGUF_T_COUNT ? vtypes[t].size : 0; }

static uint64_t le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static bool is_pow2(uint64_t x) { return x && !(x & (x - 1)); }

/* Rounds x up to a multiple of a (a power of two); false on overflow. */
static bool align_up(uint64_t x, uint64_t a, uint64_t *out) {
    if (__builtin_add_overflow(x, a - 1, out)) return false;
    *out &= ~(a - 1);
    return true;
}

/* Widens one fixed-size scalar of type t at p into v->num. */
static void decode_scalar(uint32_t t, const uint8_t *p, gguf_value *v) {
    uint64_t x = le(p, (int)vtypes[t].size);
    switch (t) {
    case GGUF_T_I8: v->num.i = (int8_t)x; break;
    case GGUF_T_I16: v->num.i = (int16_t)x; break;
    case GGUF_T_I32: v->num.i = (int32_t)x; break;
    case GGUF_T_I64: v->num.i = (int64_t)x; break;
    case GGUF_T_F32: { uint32_t b = (uint32_t)x; float f; memcpy(&f, &b, 4); v->num.f = f; break; }
    case GGUF_T_F64: memcpy(&v->num.f, &x, 8); break;
    case GGUF_T_BOOL: v->num.b = x != 0; break;
    default: v->num.u = x; break;   /* U8, U16, U32, U64 */
    }
}

/* Byte size of a tensor of type with dims ne. 0 ok; 1 unknown type; 2 ne[0]
 * not a multiple of the block; 3 element count or size overflows. */
int gguf_tensor_bytes(uint32_t type, const uint64_t ne[4], uint64_t *size) {
    const qt_traits *tr = type < 1u << 16 ? qt_get((int)type) : NULL;
    if (!tr || tr->block <= 0 || tr->bytes <= 0) return 1;
    if (ne[0] % (uint64_t)tr->block) return 2;
    uint64_t n = 1, s = ne[0] / (uint64_t)tr->block;
    for (int d = 0; d < 4; d++)
        if (__builtin_mul_overflow(n, ne[d], &n) || n > INT64_MAX) return 3;
    if (__builtin_mul_overflow(s, (uint64_t)tr->bytes, &s)) return 3;
    for (int d = 1; d < 4; d++)
        if (__builtin_mul_overflow(s, ne[d], &s)) return 3;
    *size = s;
    return 0;
}

static void vfmt(char *err, size_t errlen, const char *fmt, va_list ap) {
    if (err && errlen) vsnprintf(err, errlen, fmt, ap);
}

static void fmt(char *err, size_t errlen, const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    vfmt(err, errlen, f, ap);
    va_end(ap);
}

/* Copies at most 48 bytes of untrusted text for a message: printable ASCII
 * only, so a message stays one line whatever the file holds. */
static void printable(char *dst, size_t cap, const char *s, uint64_t len) {
    size_t j = 0;
    for (uint64_t i = 0; i < len && j + 4 < cap; i++) {
        if (i == 48) { memcpy(dst + j, "...", 3); j += 3; break; }
        unsigned char c = (unsigned char)s[i];
        dst[j++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    dst[j] = 0;
}

/* ---- reader ---- */

typedef struct rd {
    const uint8_t *p;
    uint64_t n, pos;
    const char *name;
    char *err; size_t errlen;
    char where[96];             /* what is being read: "metadata value of key 'x'" */
} rd;

static int fail(rd *r, uint64_t at, const char *f, ...) {
    if (!r->err || !r->errlen) return GGUF_EFORMAT;
    char msg[256];
    va_list ap;
    va_start(ap, f);
    vsnprintf(msg, sizeof msg, f, ap);
    va_end(ap);
    snprintf(r->err, r->errlen, "%s: %s (at byte %llu)", r->name, msg, (unsigned long long)at);
    return GGUF_EFORMAT;
}

static int nomem(rd *r) {
    fmt(r->err, r->errlen, "%s: out of memory", r->name);
    return GGUF_ENOMEM;
}

static int need(rd *r, uint64_t k) {
    return k <= r->n - r->pos ? 0 : fail(r, r->pos, "truncated in %s", r->where);
}

static int rd_u32(rd *r, uint32_t *v) {
    if (need(r, 4)) return GGUF_EFORMAT;
    *v = (uint32_t)le(r->p + r->pos, 4);
    r->pos += 4;
    return 0;
}

static int rd_u64(rd *r, uint64_t *v) {
    if (need(r, 8)) return GGUF_EFORMAT;
    *v = le(r->p + r->pos, 8);
    r->pos += 8;
    return 0;
}

static int rd_str(rd *r, const char **s, uint64_t *len) {
    if (rd_u64(r, len)) return GGUF_EFORMAT;
    if (*len > r->n - r->pos)
        return fail(r, r->pos - 8, "truncated in %s (string of %llu bytes)", r->where,
                    (unsigned long long)*len);
    *s = (const char *)r->p + r->pos;
    r->pos += *len;
    return 0;
}

/* Reads a key or tensor name into a new NUL-terminated copy. */
static int rd_name(rd *r, const char *what, char **out, uint64_t *len) {
    uint64_t at = r->pos;
    const char *s;
    if (rd_str(r, &s, len)) return GGUF_EFORMAT;
    if (*len == 0) return fail(r, at, "empty %s", what);
    if (*len > GGUF_MAX_NAME) return fail(r, at, "%s of %llu bytes (limit %d)", what,
                                     (unsigned long long)*len, GGUF_MAX_NAME);
    if (memchr(s, 0, *len)) return fail(r, at, "%s holds a NUL byte", what);
    if (!(*out = malloc(*len + 1))) return nomem(r);
    memcpy(*out, s, *len);
    (*out)[*len] = 0;
    return 0;
}

/* Frees what parsing allocated inside v (item arrays; bytes are in the file).
 * Items are calloc'ed, so ones not yet parsed are zero (U8) and free nothing. */
static void free_items(gguf_value *v) {
    if (v->type != GGUF_T_ARRAY || !v->arr_items) return;
    for (uint64_t i = 0; i < v->arr_n; i++) free_items(&v->arr_items[i]);
    free(v->arr_items);
    v->arr_items = NULL;
}

static int parse_value(rd *r, uint32_t type, gguf_value *v, int depth) {
    memset(v, 0, sizeof *v);
    v->type = type;
    size_t sz = vtypes[type].size;
    if (sz) {
        if (need(r, sz)) return GGUF_EFORMAT;
        decode_scalar(type, r->p + r->pos, v);
        r->pos += sz;
        return 0;
    }
    if (type == GGUF_T_STRING) return rd_str(r, &v->str, &v->str_len);
    uint64_t at = r->pos, n;
    uint32_t et;
    if (depth >= GGUF_MAX_DEPTH)
        return fail(r, at, "arrays nested deeper than %d in %s", GGUF_MAX_DEPTH, r->where);
    if (rd_u32(r, &et) || rd_u64(r, &n)) return GGUF_EFORMAT;
    if (et >= GGUF_T_COUNT) return fail(r, at, "unknown array element type %u in %s", et, r->where);
    size_t esz = vtypes[et].size;
    uint64_t min = esz ? esz : et == GGUF_T_STRING ? 8 : 12;   /* bytes per item, at least */
    if (n > (r->n - r->pos) / min)
        return fail(r, at, "truncated in %s (array of %llu %s)", r->where,
                    (unsigned long long)n, vtypes[et].name);
    v->arr_type = et;
    v->arr_n = n;
    v->arr_data = r->p + r->pos;
    if (esz) { r->pos += n * esz; return 0; }
    v->arr_data = NULL;
    if (n == 0) return 0;
    if (!(v->arr_items = calloc(n, sizeof *v->arr_items))) return nomem(r);
    for (uint64_t i = 0; i < n; i++) {
        int rc = parse_value(r, et, &v->arr_items[i], depth + 1);
        if (rc) return rc;
    }
    return 0;
}

static int parse_kvs(rd *r, gguf *g) {
    for (int64_t i = 0; i < g->n_kv; i++) {
        uint64_t at = r->pos, len;
        uint32_t type;
        snprintf(r->where, sizeof r->where, "metadata key %lld", (long long)i);
        int rc = rd_name(r, "key", &g->keys[i], &len);
        if (rc) return rc;
        char shown[64];
        printable(shown, sizeof shown, g->keys[i], len);
        if (strmap_get(&g->kv_index, g->keys[i], len) >= 0)
            return fail(r, at, "duplicate key '%s'", shown);
        if (strmap_set(&g->kv_index, g->keys[i], len, (int32_t)i)) return nomem(r);
        snprintf(r->where, sizeof r->where, "metadata value of key '%s'", shown);
        uint64_t vat = r->pos;
        if (rd_u32(r, &type)) return GGUF_EFORMAT;
        if (type >= GGUF_T_COUNT) return fail(r, vat, "key '%s' has unknown value type %u", shown, type);
        if ((rc = parse_value(r, type, &g->vals[i], 0))) return rc;
        if (strcmp(g->keys[i], "general.alignment") == 0) {
            if (type != GGUF_T_U32)
                return fail(r, vat, "general.alignment is %s, not u32", vtypes[type].name);
            /* the GGUF spec: a multiple of 8 (a power of two here); smaller
             * ones would leave F32 and block data misaligned */
            if (!is_pow2(g->vals[i].num.u) || g->vals[i].num.u < 8)
                return fail(r, vat + 4, "general.alignment %llu is not a power of two of at least 8 (the GGUF spec "
                            "wants a multiple of 8)", (unsigned long long)g->vals[i].num.u);
            g->alignment = g->vals[i].num.u;
        }
    }
    return 0;
}

static int parse_tensor(rd *r, gguf *g, int64_t i) {
    gguf_tensor *t = &g->tensors[i];
    uint64_t at = r->pos, len;
    char *name;
    snprintf(r->where, sizeof r->where, "tensor info %lld", (long long)i);
    int rc = rd_name(r, "tensor name", &name, &len);
    if (rc) return rc;
    t->name = name;
    char shown[64];
    printable(shown, sizeof shown, name, len);
    if (strmap_get(&g->tensor_index, name, len) >= 0)
        return fail(r, at, "duplicate tensor name '%s'", shown);
    if (strmap_set(&g->tensor_index, name, len, (int32_t)i)) return nomem(r);
    snprintf(r->where, sizeof r->where, "tensor info of '%s'", shown);
    at = r->pos;
    if (rd_u32(r, &t->n_dims)) return GGUF_EFORMAT;
    if (t->n_dims < 1 || t->n_dims > 4)
        return fail(r, at, "tensor '%s' has %u dimensions (1 to 4 allowed)", shown, t->n_dims);
    for (uint32_t d = 0; d < 4; d++) {
        t->ne[d] = 1;
        at = r->pos;
        if (d < t->n_dims && rd_u64(r, &t->ne[d])) return GGUF_EFORMAT;
        if (t->ne[d] == 0 || t->ne[d] > INT64_MAX)
            return fail(r, at, "tensor '%s' dimension %u has size %llu", shown, d,
                        (unsigned long long)t->ne[d]);
    }
    at = r->pos;
    if (rd_u32(r, &t->type)) return GGUF_EFORMAT;
    switch (gguf_tensor_bytes(t->type, t->ne, &t->size)) {
    case 1: return fail(r, at, "tensor '%s' has unknown type id %u", shown, t->type);
    case 2: return fail(r, at, "tensor '%s' row length %llu is not a multiple of the %s block (%d)",
                        shown, (unsigned long long)t->ne[0], qt_get((int)t->type)->name,
                        qt_get((int)t->type)->block);
    case 3: return fail(r, at, "tensor '%s' is too large", shown);
    }
    at = r->pos;
    if (rd_u64(r, &t->offset)) return GGUF_EFORMAT;
    if (t->offset % g->alignment)
        return fail(r, at, "tensor '%s' offset %llu is not a multiple of the alignment %llu", shown,
                    (unsigned long long)t->offset, (unsigned long long)g->alignment);
    return 0;
}

/* Places every tensor in the data section and checks it lies in the file. */
static int place_tensors(rd *r, gguf *g, const uint64_t *info_at) {
    uint64_t table_end = r->pos;
    if (!align_up(table_end, g->alignment, &g->data_offset))
        return fail(r, table_end, "data section offset overflows");
    if (g->n_tensors == 0) {
        /* Vocabulary-only files may end right after the table, unpadded. */
        if (g->data_offset > r->n) g->data_offset = r->n;
        return 0;
    }
    if (g->data_offset > r->n) {
        snprintf(r->where, sizeof r->where, "padding before tensor data");
        r->pos = r->n;
        return fail(r, r->n, "truncated in %s", r->where);
    }
    for (int64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        uint64_t start, end;
        if (__builtin_add_overflow(g->data_offset, t->offset, &start) ||
            __builtin_add_overflow(start, t->size, &end) || end > r->n) {
            char shown[64];
            printable(shown, sizeof shown, t->name, strlen(t->name));
            return fail(r, info_at[i], "truncated in tensor data of '%s' (offset %llu + %llu bytes, "
                        "file has %llu)", shown, (unsigned long long)t->offset,
                        (unsigned long long)t->size, (unsigned long long)r->n);
        }
        t->data = r->p + start;
    }
    return 0;
}

static int parse_header(rd *r, gguf *g) {
    uint32_t magic;
    uint64_t nt, nkv;
    snprintf(r->where, sizeof r->where, "header");
    size_t k = r->n < 4 ? (size_t)r->n : 4;   /* a short file with a wrong start is still not GGUF */
    if (k && memcmp(r->p, "GGUF", k) != 0)
        return fail(r, 0, "not a GGUF file (bad magic)");
    if (rd_u32(r, &magic) || rd_u32(r, &g->version)) return GGUF_EFORMAT;
    if (g->version == 1)
        return fail(r, 4, "GGUF version 1 is not supported (only 2 and 3)");
    if (g->version != 2 && g->version != 3) {
        bool swapped = (g->version & 0xffff) == 0 && g->version >> 24 <= 3;
        return fail(r, 4, "unsupported GGUF version %u%s", g->version,
                    swapped ? " (a big-endian file?)" : "");
    }
    if (rd_u64(r, &nt) || rd_u64(r, &nkv)) return GGUF_EFORMAT;
    uint64_t left = r->n - r->pos;
    if (nkv > GGUF_MAX_ITEMS || nkv > left / MIN_KV_BYTES)
        return fail(r, 16, "metadata count %llu cannot fit in the file", (unsigned long long)nkv);
    if (nt > GGUF_MAX_ITEMS || nt > (left - nkv * MIN_KV_BYTES) / MIN_TENSOR_BYTES)
        return fail(r, 8, "tensor count %llu cannot fit in the file", (unsigned long long)nt);
    g->n_kv = (int64_t)nkv;
    g->n_tensors = (int64_t)nt;
    return 0;
}

static int parse(rd *r, gguf *g) {
    int rc = parse_header(r, g);
    if (rc) return rc;
    g->keys = calloc((size_t)g->n_kv + 1, sizeof *g->keys);
    g->vals = calloc((size_t)g->n_kv + 1, sizeof *g->vals);
    g->tensors = calloc((size_t)g->n_tensors + 1, sizeof *g->tensors);
    uint64_t *info_at = calloc((size_t)g->n_tensors + 1, sizeof *info_at);
    if (!g->keys || !g->vals || !g->tensors || !info_at) { free(info_at); return nomem(r); }
    rc = parse_kvs(r, g);
    for (int64_t i = 0; !rc && i < g->n_tensors; i++) {
        info_at[i] = r->pos;
        rc = parse_tensor(r, g, i);
    }
    if (!rc) rc = place_tensors(r, g, info_at);
    free(info_at);
    return rc;
}

int gguf_open_mem(gguf **out, const void *data, size_t size, const char *name,
                  char *err, size_t errlen) {
    *out = NULL;
    if (!name) name = "<memory>";
    rd r = {.p = data, .n = size, .name = name, .err = err, .errlen = errlen};
    if (!data && size) return fail(&r, 0, "no data");
    gguf *g = calloc(1, sizeof *g);
    if (!g || !(g->path = strdup(name))) { free(g); return nomem(&r); }
    g->size = size;
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    strmap_init(&g->kv_index);
    strmap_init(&g->tensor_index);
    int rc = parse(&r, g);
    if (rc) { gguf_close(g); return rc; }
    *out = g;
    return GGUF_OK;
}

int gguf_open(gguf **out, const char *path, char *err, size_t errlen) {
    *out = NULL;
    uint64_t size;
    int fd = fio_open(path, SIZE_MAX, &size, err, errlen);   /* a regular file, never blocking */
    if (fd < 0) return fd == FIO_ENOMEM ? GGUF_ENOMEM : GGUF_EIO;
    size_t len = (size_t)size;
    void *map = NULL;
    if (len) {   /* mmap of 0 bytes fails; an empty file is reported as truncated */
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            fmt(err, errlen, "%s: mmap: %s", path, strerror(errno));
            close(fd);
            return GGUF_EIO;
        }
    }
    close(fd);
    static const uint8_t empty[1];
    int rc = gguf_open_mem(out, len ? map : empty, len, path, err, errlen);
    if (rc) { if (map) munmap(map, len); return rc; }
    (*out)->map = map;
    (*out)->map_len = len;
    return GGUF_OK;
}

void gguf_close(gguf *g) {
    if (!g) return;
    for (int64_t i = 0; g->keys && i < g->n_kv; i++) free(g->keys[i]);
    for (int64_t i = 0; g->vals && i < g->n_kv; i++) free_items(&g->vals[i]);
    for (int64_t i = 0; g->tensors && i < g->n_tensors; i++) free((char *)g->tensors[i].name);
    free(g->keys);
    free(g->vals);
    free(g->tensors);
    strmap_fini(&g->kv_index);
    strmap_fini(&g->tensor_index);
    if (g->map) munmap(g->map, g->map_len);
    free(g->path);
    free(g);
}

const char *gguf_path(const gguf *g) { return g->path; }
uint32_t gguf_version(const gguf *g) { return g->version; }
uint64_t gguf_alignment(const gguf *g) { return g->alignment; }
uint64_t gguf_data_offset(const gguf *g) { return g->data_offset; }
uint64_t gguf_file_size(const gguf *g) { return g->size; }
int64_t gguf_n_kv(const gguf *g) { return g->n_kv; }
int64_t gguf_n_tensors(const gguf *g) { return g->n_tensors; }

const char *gguf_kv_key(const gguf *g, int64_t i) {
    return i >= 0 && i < g->n_kv ? g->keys[i] : NULL;
}

const gguf_value *gguf_kv_value(const gguf *g, int64_t i) {
    return i >= 0 && i < g->n_kv ? &g->vals[i] : NULL;
}

const gguf_value *gguf_get(const gguf *g, const char *key) {
    int32_t i = strmap_get(&g->kv_index, key, strlen(key));
    return i >= 0 ? &g->vals[i] : NULL;
}

const gguf_tensor *gguf_tensor_at(const gguf *g, int64_t i) {
    return i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf *g, const char *name) {
    int32_t i = strmap_get(&g->tensor_index, name, strlen(name));
    return i >= 0 ? &g->tensors[i] : NULL;
}

static int as_i64(const gguf_value *v, int64_t *out) {
    switch (v->type) {
    case GGUF_T_U8: case GGUF_T_U16: case GGUF_T_U32: case GGUF_T_U64:
        if (v->num.u > INT64_MAX) return GGUF_ETYPE;
        *out = (int64_t)v->num.u;
        return GGUF_OK;
    case GGUF_T_I8: case GGUF_T_I16: case GGUF_T_I32: case GGUF_T_I64:
        *out = v->num.i;
        return GGUF_OK;
    default:
        return GGUF_ETYPE;
    }
}

int gguf_get_i64(const gguf *g, const char *key, int64_t *out) {
    const gguf_value *v = gguf_get(g, key);
    return v ? as_i64(v, out) : GGUF_ENOTFOUND;
}

int gguf_get_u32(const gguf *g, const char *key, uint32_t *out) {
    const gguf_value *v = gguf_get(g, key);
    int64_t x;
    if (!v) return GGUF_ENOTFOUND;
    if (as_i64(v, &x) || x < 0 || x > UINT32_MAX) return GGUF_ETYPE;
    *out = (uint32_t)x;
    return GGUF_OK;
}

int gguf_get_f32(const gguf *g, const char *key, float *out) {
    const gguf_value *v = gguf_get(g, key);
    if (!v) return GGUF_ENOTFOUND;
    if (v->type != GGUF_T_F32 && v->type != GGUF_T_F64) return GGUF_ETYPE;
    *out = (float)v->num.f;
    return GGUF_OK;
}

int gguf_get_bool(const gguf *g, const char *key, bool *out) {
    const gguf_value *v = gguf_get(g, key);
    if (!v) return GGUF_ENOTFOUND;
    if (v->type != GGUF_T_BOOL) return GGUF_ETYPE;
    *out = v->num.b;
    return GGUF_OK;
}

int gguf_get_str(const gguf *g, const char *key, const char **out, size_t *len) {
    const gguf_value *v = gguf_get(g, key);
    if (!v) return GGUF_ENOTFOUND;
    if (v->type != GGUF_T_STRING) return GGUF_ETYPE;
    *out = v->str;
    *len = (size_t)v->str_len;
    return GGUF_OK;
}

int gguf_get_arr(const gguf *g, const char *key, int etype, const gguf_value **out) {
    const gguf_value *v = gguf_get(g, key);
    if (!v) return GGUF_ENOTFOUND;
    if (v->type != GGUF_T_ARRAY || (etype >= 0 && v->arr_type != (uint32_t)etype)) return GGUF_ETYPE;
    *out = v;
    return GGUF_OK;
}

int gguf_arr_get(const gguf_value *a, uint64_t i, gguf_value *out) {
    if (a->type != GGUF_T_ARRAY || a->arr_type >= GGUF_T_COUNT) return GGUF_ETYPE;
    if (i >= a->arr_n) return GGUF_ENOTFOUND;
    size_t esz = vtypes[a->arr_type].size;
    gguf_value v = {.type = a->arr_type};   /* out may alias a */
    if (esz) decode_scalar(a->arr_type, (const uint8_t *)a->arr_data + i * esz, &v);
    else v = a->arr_items[i];
    *out = v;
    return GGUF_OK;
}

