/* smp_rng: the random numbers of the samplers (see smp.h): PCG32 for the
 * draws, SplitMix64 to derive seeds from seeds. Integer arithmetic only, so
 * a seed gives the same numbers on every machine and compiler. */
#include "smp.h"

/* pcg32_random_r and pcg32_srandom_r as published by O'Neill (PCG-XSH-RR):
 * a 64-bit LCG whose output is a xorshift of the high bits rotated by the
 * top 5 bits. */
uint32_t smp_rng_u32(smp_rng *r) {
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

void smp_rng_init(smp_rng *r, uint64_t seed, uint64_t stream) {
    r->state = 0;
    r->inc = (stream << 1) | 1u;
    smp_rng_u32(r);
    r->state += seed;
    smp_rng_u32(r);
}

/* 27 + 26 bits, as MT19937's genrand_res53: exact in a double. */
double smp_rng_double(smp_rng *r) {
    uint32_t a = smp_rng_u32(r) >> 5, b = smp_rng_u32(r) >> 6;
    return ((double)a * 67108864.0 + (double)b) * (1.0 / 9007199254740992.0);
}

/* SplitMix64's output function (G. L. Steele, D. Lea, C. H. Flood, "Fast
 * Splittable Pseudorandom Number Generators", OOPSLA 2014): a bijection of
 * 64-bit words that changes about half the bits for a one-bit change. */
static uint64_t splitmix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t smp_seed_mix(uint64_t a, uint64_t b) { return splitmix64(a ^ splitmix64(b)); }
