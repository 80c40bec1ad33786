/* rng: xoshiro256** (Blackman and Vigna) seeded by splitmix64; normals by
 * Box-Muller. Only integer operations and libm's log/sqrt/cos/sin are used,
 * so the bytes are the same with any compiler flags that keep IEEE maths. */
#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void rng_init(rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

void rng_init_mix(rng *r, uint64_t seed, uint64_t a, uint64_t b) {
    uint64_t x = seed;
    uint64_t h = splitmix64(&x);
    x = h ^ (a * 0xD1B54A32D192ED03ull);
    h = splitmix64(&x);
    x = h ^ (b * 0xABC98388FB8FAC03ull);
    rng_init(r, splitmix64(&x));
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_u64(rng *r) {
    uint64_t *s = r->s;
    uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

uint32_t rng_below(rng *r, uint32_t n) {
    return (uint32_t)(((rng_u64(r) >> 32) * (uint64_t)n) >> 32);
}

void rng_normal(rng *r, float *out, int64_t n, float mean, float sd) {
    for (int64_t i = 0; i < n; i += 2) {
        /* u1 in (0, 1] so that log(u1) is finite */
        double u1 = (double)((rng_u64(r) >> 11) + 1) * 0x1.0p-53;
        double u2 = (double)(rng_u64(r) >> 11) * 0x1.0p-53;
        double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
        out[i] = mean + sd * (float)(rad * cos(th));
        if (i + 1 < n) out[i + 1] = mean + sd * (float)(rad * sin(th));
    }
}
