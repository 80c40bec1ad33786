/* smp_mass: keeping the candidates that carry a probability mass, in the
 * order of a key, without sorting the vocabulary (smp_keep_mass, used by
 * top-p and typical-p).
 *
 * A flat row (a random model, or a high temperature) needs most of a 32k
 * or 128k vocabulary for p = 0.95, and sorting it all cost more than the
 * decode step. Instead: one pass puts each candidate's key into one of
 * SMP_MASS_BUCKETS equal-width buckets over [min key, min key + 64] (keys
 * beyond, infinite or NaN go to the last bucket) and sums the mass per
 * bucket; a walk over the buckets finds the one where the mass crosses p;
 * only its members are sorted (about a hundred on a flat 128k row) to find
 * the exact last token; one more pass keeps every candidate ahead of that
 * token, in place and in order. Buckets are monotone in the key, so the
 * kept set is the prefix of the sorted order, as a sort would find it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "smp.h"

#define SMP_MASS_BUCKETS 4096
#define SMP_MASS_RANGE 64.0f

typedef struct member { float key; int32_t id, i; } member;

static int cmp_member(const void *pa, const void *pb) {
    const member *a = pa, *b = pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

int32_t smp_keep_mass(smp_cands *c, const float *key, double p, int32_t min_keep) {
    int32_t n = c->n;
    if (min_keep < 1) min_keep = 1;
    if (n <= min_keep) return n;
    float kmin = INFINITY, kmax = -INFINITY;
    for (int32_t i = 0; i < n; i++) {
        float k = key[i];
        if (k < kmin) kmin = k;                        /* NaN compares false */
        if (k > kmax && k < INFINITY) kmax = k;
    }
    if (!(kmin < INFINITY)) kmin = kmax = 0;
    float range = kmax - kmin < SMP_MASS_RANGE ? kmax - kmin : SMP_MASS_RANGE;
    float scale = range > 0 ? (SMP_MASS_BUCKETS - 1) / range : 0;
    float top = kmin + range;
    double mass[SMP_MASS_BUCKETS];
    int32_t cnt[SMP_MASS_BUCKETS];
    memset(mass, 0, sizeof mass);
    memset(cnt, 0, sizeof cnt);
    int32_t *bk = c->tmp_i;
    for (int32_t i = 0; i < n; i++) {
        float k = key[i];
        int32_t b = SMP_MASS_BUCKETS - 1;
        if (k <= top) {                                /* false for NaN and beyond */
            float f = (k - kmin) * scale;
            b = f < SMP_MASS_BUCKETS - 1 ? (int32_t)f : SMP_MASS_BUCKETS - 1;
        }
        bk[i] = b;
        mass[b] += c->data[i].p;
        cnt[b]++;
    }
    /* the bucket where both the mass and min_keep are reached */
    double cum = 0;
    int32_t before = 0, bc = 0;
    for (; bc < SMP_MASS_BUCKETS - 1; bc++) {
        if (cum + mass[bc] >= p && before + cnt[bc] >= min_keep) break;
        cum += mass[bc];
        before += cnt[bc];
    }
    /* its members in key order (NaN keys last); the walk runs on into later
     * buckets only when rounding left the bucket sums just short */
    member *mb = NULL, last = { 0, 0, 0 };
    int32_t take = -1;
    for (int32_t b = bc; b < SMP_MASS_BUCKETS && take < 0; b++) {
        if (!cnt[b]) continue;
        member *t = realloc(mb, sizeof *mb * (size_t)cnt[b]);
        if (!t) {
            free(mb);
            return SMP_ENOMEM;
        }
        mb = t;
        int32_t nm = 0;
        for (int32_t i = 0; i < n; i++)
            if (bk[i] == b) mb[nm++] = (member){ isnan(key[i]) ? INFINITY : key[i], c->data[i].id, i };
        qsort(mb, (size_t)nm, sizeof *mb, cmp_member);
        for (int32_t j = 0; j < nm; j++) {
            cum += c->data[mb[j].i].p;
            if (cum >= p && before + j + 1 >= min_keep) { take = j; break; }
        }
        last = mb[take >= 0 ? take : nm - 1];
        bc = b;
        if (take < 0) before += nm;
    }
    free(mb);
    /* keep what is ahead of (or is) the last member, in place and in order */
    int32_t k = 0;
    double part[4] = { 0 };
    for (int32_t i = 0; i < n; i++) {
        int32_t b = bk[i];
        if (b > bc) continue;
        if (b == bc) {
            float kk = isnan(key[i]) ? INFINITY : key[i];
            if (!(kk < last.key || (kk == last.key && c->data[i].id <= last.id))) continue;
        }
        part[k & 3] += c->data[i].p;
        c->data[k++] = c->data[i];
    }
    double s = (part[0] + part[1]) + (part[2] + part[3]);
    c->n = k;
    if (s > 0) for (int32_t i = 0; i < k; i++) c->data[i].p = (float)(c->data[i].p / s);
    else c->normalized = false;
    return k;
}
