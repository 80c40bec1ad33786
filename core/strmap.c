/* strmap: linear-probing hash table, FNV-1a hashes, load factor <= 1/2.
 * Invariant: cap is 0 or a power of two; empty slots have key == NULL. */
#include "strmap.h"
#include <stdlib.h>
#include <string.h>

void strmap_init(strmap *m) { m->slots = NULL; m->cap = 0; m->n = 0; }

void strmap_fini(strmap *m) { free(m->slots); strmap_init(m); }

uint64_t strmap_hash(const char *key, size_t len) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) { h ^= (unsigned char)key[i]; h *= 1099511628211ull; }
    return h;
}

static strmap_slot *find(strmap_slot *slots, size_t cap, const char *key, size_t len) {
    size_t i = strmap_hash(key, len) & (cap - 1);
    while (slots[i].key && !(slots[i].len == len && memcmp(slots[i].key, key, len) == 0))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static int grow(strmap *m) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    strmap_slot *s = calloc(cap, sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key) *find(s, cap, m->slots[i].key, m->slots[i].len) = m->slots[i];
    free(m->slots);
    m->slots = s; m->cap = cap;
    return 0;
}

int strmap_set(strmap *m, const char *key, size_t len, int32_t val) {
    if ((m->n + 1) * 2 > m->cap && grow(m)) return -1;
    strmap_slot *s = find(m->slots, m->cap, key, len);
    if (!s->key) { s->key = key; s->len = (uint32_t)len; m->n++; }
    s->val = val;
    return 0;
}

int32_t strmap_get(const strmap *m, const char *key, size_t len) {
    if (!m->cap) return -1;
    const strmap_slot *s = find(m->slots, m->cap, key, len);
    return s->key ? s->val : -1;
}
