/* strmap: open-addressing hash map from byte strings to int32 values.
 * Keys are borrowed (the caller keeps them alive and unchanged, e.g. a
 * tokenizer's string arena); the map owns only its slot array. */
#ifndef STRMAP_H
#define STRMAP_H
#include <stddef.h>
#include <stdint.h>

typedef struct strmap_slot { const char *key; uint32_t len; int32_t val; } strmap_slot;
typedef struct strmap { strmap_slot *slots; size_t cap, n; } strmap;

void strmap_init(strmap *m);
void strmap_fini(strmap *m);
/* Inserts or replaces; 0 ok, -1 out of memory. */
int strmap_set(strmap *m, const char *key, size_t len, int32_t val);
/* Value for key, or -1 when absent (values stored are >= 0 by convention). */
int32_t strmap_get(const strmap *m, const char *key, size_t len);
uint64_t strmap_hash(const char *key, size_t len);
#endif
