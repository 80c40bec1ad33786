/* gguf: read (mmap) and write GGUF v2/v3 files.
 *
 * Reading: gguf_open maps the file read-only and parses the header, every
 * metadata key/value (all 13 value types, nested arrays to any depth) and the
 * tensor table. Every count, length, size and offset is checked against the
 * file size before it is used; a file that fails any check is refused with a
 * one-line message naming the file, the problem and the byte offset where it
 * was found. All pointers returned borrow from the gguf object and stay valid
 * until gguf_close(). Strings taken from the file (gguf_value.str) are NOT NUL
 * terminated; keys and tensor names are copied and NUL terminated.
 *
 * Writing is ggufw.h. The writer streams tensor data
 * in declaration order, padding to the alignment, so multi-GB files never sit
 * in memory.
 *
 * Spec: ggml's docs/gguf.md (the GGUF file format), versions 2 and 3.
 */
#ifndef GGUF_H
#define GGUF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum gguf_vtype {
    GGUF_T_U8 = 0, GGUF_T_I8 = 1, GGUF_T_U16 = 2, GGUF_T_I16 = 3,
    GGUF_T_U32 = 4, GGUF_T_I32 = 5, GGUF_T_F32 = 6, GGUF_T_BOOL = 7,
    GGUF_T_STRING = 8, GGUF_T_ARRAY = 9, GGUF_T_U64 = 10, GGUF_T_I64 = 11,
    GGUF_T_F64 = 12, GGUF_T_COUNT
};

/* Status codes (negative). */
enum { GGUF_OK = 0, GGUF_EIO = -1, GGUF_EFORMAT = -2, GGUF_ENOMEM = -3,
       GGUF_ENOTFOUND = -4, GGUF_ETYPE = -5 };

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DEPTH 64          /* nested arrays */
#define GGUF_MAX_NAME 65535        /* keys and tensor names (the spec's key limit) */
#define GGUF_MAX_ITEMS INT32_MAX   /* n_kv, n_tensors: indexes are int32 in strmap */

typedef struct gguf_value gguf_value;
struct gguf_value {
    uint32_t type;            /* GGUF_T_* */
    union { uint64_t u; int64_t i; double f; bool b; } num; /* scalars, widened */
    const char *str;          /* STRING: bytes in the mapping, not NUL terminated */
    uint64_t str_len;
    uint32_t arr_type;        /* ARRAY: element type */
    uint64_t arr_n;           /* ARRAY: element count */
    const void *arr_data;     /* ARRAY of fixed-size scalars: raw LE elements in the mapping
                                 (not necessarily aligned: memcpy, or use gguf_arr_get) */
    gguf_value *arr_items;    /* ARRAY of STRING or ARRAY: arr_n parsed items; else NULL */
};

typedef struct gguf_tensor {
    const char *name;         /* NUL terminated copy */
    uint32_t n_dims;          /* 1..4 */
    uint64_t ne[4];           /* ne[0] is the row length (input dim); unused dims are 1 */
    uint32_t type;            /* qt_type id */
    uint64_t offset;          /* from the start of the data section */
    uint64_t size;            /* bytes */
    const void *data;         /* into the mapping */
} gguf_tensor;

typedef struct gguf gguf;

/* Opens and validates a file. On failure returns a GGUF_E* code, *out is NULL
 * and err holds "PATH: problem (at byte N)". */
int gguf_open(gguf **out, const char *path, char *err, size_t errlen);
/* The same over a memory buffer (borrowed; must outlive the gguf). `name` is
 * used in messages. Used by the fuzzer and tests. */
int gguf_open_mem(gguf **out, const void *data, size_t size, const char *name,
                  char *err, size_t errlen);
void gguf_close(gguf *g);

const char *gguf_path(const gguf *g);
uint32_t gguf_version(const gguf *g);
uint64_t gguf_alignment(const gguf *g);
uint64_t gguf_data_offset(const gguf *g);   /* start of the tensor data section (the file
                                               size for a 0-tensor file that ends unpadded) */
uint64_t gguf_file_size(const gguf *g);

int64_t gguf_n_kv(const gguf *g);
const char *gguf_kv_key(const gguf *g, int64_t i);
const gguf_value *gguf_kv_value(const gguf *g, int64_t i);
/* Value for a key, NULL if absent. */
const gguf_value *gguf_get(const gguf *g, const char *key);

/* Typed getters: GGUF_OK, GGUF_ENOTFOUND, or GGUF_ETYPE when the stored type
 * cannot represent the request (any integer type converts to an integer
 * request if the value fits; F32/F64 convert to float). */
int gguf_get_i64(const gguf *g, const char *key, int64_t *out);
int gguf_get_u32(const gguf *g, const char *key, uint32_t *out);
int gguf_get_f32(const gguf *g, const char *key, float *out);
int gguf_get_bool(const gguf *g, const char *key, bool *out);
/* String value; *out points into the mapping, *len its length. */
int gguf_get_str(const gguf *g, const char *key, const char **out, size_t *len);
/* Array value of the given element type (or any element type when etype < 0). */
int gguf_get_arr(const gguf *g, const char *key, int etype, const gguf_value **out);
/* Element i of an array value: fixed-size scalars are decoded (widened, as
 * for scalar values) from arr_data, STRING/ARRAY items are copied (shallow)
 * from arr_items. GGUF_OK; GGUF_ETYPE when a is not an array; GGUF_ENOTFOUND
 * when i >= arr_n. */
int gguf_arr_get(const gguf_value *a, uint64_t i, gguf_value *out);

int64_t gguf_n_tensors(const gguf *g);
const gguf_tensor *gguf_tensor_at(const gguf *g, int64_t i);
const gguf_tensor *gguf_find_tensor(const gguf *g, const char *name);

/* Name of a value type ("u32", "string", ...). */
const char *gguf_type_name(uint32_t vtype);
/* Byte size of a fixed-size scalar value type, 0 for STRING/ARRAY/unknown. */
size_t gguf_type_size(uint32_t vtype);

/* Byte size of a tensor of `type` with dims ne: 0 ok; 1 unknown type; 2
 * ne[0] not a multiple of the block; 3 the element count or size overflows. */
int gguf_tensor_bytes(uint32_t type, const uint64_t ne[4], uint64_t *size);

#endif
