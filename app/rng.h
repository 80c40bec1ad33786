/* rng: a small seeded generator (xoshiro256**, seeded through splitmix64)
 * with uniform and normal draws, for synthetic weights and benchmark tokens.
 *
 * Same seed, same sequence, on every machine: synth derives one generator
 * per (tensor, row) with rng_init_mix so that files are bit-identical
 * whatever the thread count.
 */
#ifndef RNG_H
#define RNG_H
#include <stdint.h>

typedef struct rng { uint64_t s[4]; } rng;

void rng_init(rng *r, uint64_t seed);
/* A generator for stream (a, b) of a seed, independent of the others. */
void rng_init_mix(rng *r, uint64_t seed, uint64_t a, uint64_t b);
uint64_t rng_u64(rng *r);
/* Uniform in [0, n). */
uint32_t rng_below(rng *r, uint32_t n);
/* Fills out[n] with N(mean, sd^2) draws (Box-Muller, in pairs). */
void rng_normal(rng *r, float *out, int64_t n, float mean, float sd);
#endif
