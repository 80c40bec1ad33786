/* smp_cut: where top-p and typical-p cut a row (internal to the smp
 * module: used by smp_mass.c, which computes the masses; see smp_cut.c).
 *
 * A selection keeps the smallest prefix of the candidates in key order
 * (ties by id) whose mass reaches p * S, found from a histogram of the
 * mass by bucket of the keys (smp_cut_keep).
 */
#ifndef SMP_CUT_H
#define SMP_CUT_H
#include "smp.h"
#include "smp_simd.h"

#define SMP_CUT_NB SMP_SIMD_NB

/* What a selection ranks and sums: the keys, from the logits X (top-p:
 * -X, the rank order; NaN as +inf; typical: |X - lb| in float where the
 * mass E is > 0, else +inf: computed where needed, never stored), ties by
 * id (id[i], or i when id is NULL); the weights W (the masses E), or one
 * each when W is NULL (counting, for min_keep); B the buckets of the keys. */
typedef struct smp_cut_sel {
    const float *X;
    int typical;
    float lb;
    const float *E;
    const float *W;
    const int32_t *id;
    const uint16_t *B;
    int32_t n;
} smp_cut_sel;

static inline double smp_cut_sum8(const double *p) {
    return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

/* The bucket of a key k >= 0: (int)(k * scale), the last one for k
 * beyond NB / scale, +inf or NaN. Monotone in k. */
static inline uint16_t smp_cut_bucket(float k, float scale) {
    float t = k * scale;
    return (uint16_t)(t < SMP_CUT_NB - 1 ? (int32_t)t : SMP_CUT_NB - 1);
}

/* The scale of the buckets of keys in [0, range]: NB - 1 buckets over the
 * range, or over 32 (logits) when it is wider; 0 (all in bucket 0, +inf
 * and NaN in the last) when it is empty or not finite. */
static inline float smp_cut_scale(float range) {
    if (!(range > 0)) return 0;
    return (SMP_CUT_NB - 1) / (range < 32.0f ? range : 32.0f);
}

/* Keeps the smallest set of candidates of c (its columns; P = e, total S)
 * taken in key order whose mass reaches p * S and that has at least
 * min_keep members. h holds the mass per bucket of s's keys in four lanes;
 * S < 0: S is the sum of the buckets. Nothing reaches the target
 * (rounding, or S = 0): everything is kept, normalized when S > 0. 0 or
 * SMP_ENOMEM. */
int smp_cut_keep(smp_cands *c, const smp_cut_sel *s, double S, double p, int32_t min_keep, double (*h)[SMP_CUT_NB]);
/* typical-p's cut (s: typical's keys, lb = E[l]) from the histogram of
 * the mass by logit bucket (B: the bucket of m - l at scale sc, as
 * top-p's; mass: per bucket, S their sum), min_keep 1: 1 when the cut is
 * left pending (n counted when the buckets kept whole are one range, as
 * they are but for a rounding case), 0 when the caller must take the
 * keys' histogram,
 * SMP_ENOMEM. */
int smp_cut_typical(smp_cands *c, const smp_cut_sel *s, const uint16_t *B, const double *mass, double S, double p,
                    float m, float sc);
/* Counts the candidates a pending cut keeps into c->n (no-op without one,
 * or when counted). */
void smp_cut_count(smp_cands *c);
/* Compacts a pending cut (smp_cands.cut; no-op without one). */
void smp_cut_settle(smp_cands *c);
/* The same, dividing the kept logits by t > 0 on the way (a temperature
 * right after the cut: saves its pass, session 13); after top-p, with the
 * kept logits' range (smp_cands.range_ok). */
void smp_cut_settle_div(smp_cands *c, float t);
/* The dist draw among the candidates of a pending cut, as smp_mass_draw
 * would draw after smp_cut_settle: the pick's index among the kept (its
 * column in c->cut_pick), -1 when none has p > 0, or -2 when the draw
 * must take the compacted path. r in [0, 1). */
int32_t smp_cut_draw(smp_cands *c, double r);

#endif
