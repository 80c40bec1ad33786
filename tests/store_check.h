/* Helpers shared by the store's C tests. */
#ifndef STORE_CHECK_H
#define STORE_CHECK_H
#include <stdint.h>

#include "store.h"

/* The first column of the first row of a query, as an integer; -1 when the
 * query fails or returns no row (the fault-injection test expects silence). */
static inline int64_t q_int(store *s, const char *sql) {
    char e[512];
    store_query *q;
    if (store_query_open(s, sql, &q, e, sizeof e)) return -1;
    store_value v = { 0 };
    int64_t out = store_query_step(q, e, sizeof e) == 1 ? (store_query_get(q, 0, &v), v.i) : -1;
    store_query_close(q);
    return out;
}
#endif
