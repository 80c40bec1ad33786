/* What the two batch-invariance tests share (test_invariance_kernels.c,
 * test_invariance_engine.c): the random test data and the weight types. */
#ifndef TESTS_INVARIANCE_H
#define TESTS_INVARIANCE_H
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "qtypes.h"

static uint64_t rng_s = 0x9e3779b97f4a7c15ull;
static inline uint32_t rnd(uint32_t n) {   /* xorshift64*, uniform enough for test data */
    rng_s ^= rng_s >> 12; rng_s ^= rng_s << 25; rng_s ^= rng_s >> 27;
    return (uint32_t)((rng_s * 0x2545f4914f6cdd1dull) >> 33) % n;
}
static inline float frnd(void) { return (float)rnd(1u << 20) / (float)(1u << 19) - 1.0f; }

static inline double maxdiff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        m = d > m || isnan(d) ? d : m;
    }
    return m;
}

static const int TYPES[] = { QT_F32, QT_F16, QT_BF16, QT_Q8_0, QT_Q4_0, QT_Q5_0, QT_Q4_K, QT_Q5_K, QT_Q6_K };
#define NTYPES 9

#endif
