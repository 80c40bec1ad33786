/* ggufw: write GGUF v3 files. Builds metadata and a tensor table, then
 * streams tensor data in declaration order, padding to the alignment, so
 * multi-GB files never sit in memory. Values passed in are copied.
 * Spec: ggml's docs/gguf.md. */
#ifndef GGUFW_H
#define GGUFW_H
#include "gguf.h"
#include <stdio.h>

typedef struct ggufw ggufw;

ggufw *ggufw_create(void);               /* version 3, alignment 32 */
void ggufw_destroy(ggufw *w);            /* an unfinished file's temporary is removed */

/* Metadata setters copy their arguments. A key set twice keeps the last value. */
int ggufw_set_u32(ggufw *w, const char *key, uint32_t v);
int ggufw_set_i32(ggufw *w, const char *key, int32_t v);
int ggufw_set_u64(ggufw *w, const char *key, uint64_t v);
int ggufw_set_f32(ggufw *w, const char *key, float v);
int ggufw_set_bool(ggufw *w, const char *key, bool v);
int ggufw_set_str(ggufw *w, const char *key, const char *s);
/* Array of fixed-size scalars of type etype, n elements at data. */
int ggufw_set_arr(ggufw *w, const char *key, uint32_t etype, const void *data, uint64_t n);
/* Array of n strings (NUL terminated when lens is NULL). */
int ggufw_set_str_arr(ggufw *w, const char *key, const char *const *strs,
                      const size_t *lens, uint64_t n);
/* Copies a key/value (any type, nested arrays too) from an open file. */
int ggufw_copy_kv(ggufw *w, const char *key, const gguf_value *v);

/* Declares a tensor; data follows later through ggufw_write_data. */
int ggufw_add_tensor(ggufw *w, const char *name, uint32_t type, uint32_t n_dims,
                     const uint64_t *ne);

/* Writes header, metadata and tensor table to a temporary beside path
 * (fout.h: a link is followed, a device or FIFO is written in place);
 * ggufw_end renames it over path, so a failed or killed write leaves an old
 * file at path whole. */
int ggufw_begin(ggufw *w, const char *path, char *err, size_t errlen);
/* As ggufw_begin, into the caller's stream f (at its current position,
 * normally the start of a file it opened: quantize's locked temporary for a
 * llama2.c checkpoint); name is for messages. ggufw_end flushes f and
 * neither closes nor renames anything; f must outlive the writer. */
int ggufw_begin_file(ggufw *w, FILE *f, const char *name, char *err, size_t errlen);
/* Appends the next tensor's data; size must equal the declared size. Pieces
 * of one tensor may be written by several calls; padding is added when a
 * tensor is complete. */
int ggufw_write_data(ggufw *w, const void *data, size_t size, char *err, size_t errlen);
/* Checks that all tensors were written, flushes, closes and renames into
 * place (ggufw_begin_file: only flushes). */
int ggufw_end(ggufw *w, char *err, size_t errlen);

#endif
