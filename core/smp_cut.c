/* smp_cut: where top-p and typical-p cut a row (see smp_cut.h), from the
 * masses and the histogram smp_mass.c computes (its opening comment says
 * how), and the cut left pending for the dist draw. Split from smp_mass.c
 * in session 10.
 */
#include "smp_cut.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "smp_mass.h"
#include "smp_simd.h"

#define NB SMP_CUT_NB
enum { SUBS = 256, SORT_MAX = 64 };

typedef smp_cut_sel sel;

typedef struct member { float key; int32_t id, i; } member;

static inline float key_at(const sel *s, int32_t i) {
    if (s->typical) return s->E[i] > 0 ? fabsf(s->X[i] - s->lb) : INFINITY;
    float k = -s->X[i];
    return isnan(k) ? INFINITY : k;
}
static inline double w_at(const sel *s, int32_t i) { return s->W ? (double)s->W[i] : 1.0; }

static int cmp_member(const void *pa, const void *pb) {
    const member *a = pa, *b = pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

/* Walks the members mb[0..nm) (in candidate order) in key order, adding
 * their weights to *cum, and stops at the first where *cum >= target: 1,
 * with it in *last. 0 when the target is not reached (then *last is the
 * last member in key order), SMP_ENOMEM. More than SORT_MAX members are
 * first split by a histogram of SUBS buckets over their keys, walked as
 * the row's buckets are (a bucket's sum, in candidate order, then the
 * members of the crossing one, recursively); the last few are sorted. */
static int cut_members(const sel *s, member *mb, int32_t nm, double target, double *cum, member *last, int depth) {
    if (nm == 0) return 0;
    float kmin = INFINITY, kmax = -INFINITY;
    for (int32_t j = 0; j < nm; j++) {
        float k = mb[j].key;
        if (k < kmin) kmin = k;
        if (k > kmax && k < INFINITY) kmax = k;
    }
    float sc = (SUBS - 1) / (kmax - kmin);
    if (nm > SORT_MAX && kmax > kmin && sc > 0 && sc < INFINITY && depth < 8) {
        double ms[SUBS] = { 0 };
        uint8_t *sb = malloc((size_t)nm);
        member *sub = malloc(sizeof *sub * (size_t)nm);
        if (!sb || !sub) { free(sb); free(sub); return SMP_ENOMEM; }
        for (int32_t j = 0; j < nm; j++) {
            float t = (mb[j].key - kmin) * sc;     /* monotone in the key; +inf in the last */
            sb[j] = (uint8_t)(t < SUBS - 1 ? (int32_t)t : SUBS - 1);
            ms[sb[j]] += w_at(s, mb[j].i);
        }
        int r = 0;
        for (int b = 0; b < SUBS && r == 0; b++) {
            if (!(*cum + ms[b] >= target)) { *cum += ms[b]; continue; }
            int32_t ns = 0;
            for (int32_t j = 0; j < nm; j++) if (sb[j] == b) sub[ns++] = mb[j];
            r = cut_members(s, sub, ns, target, cum, last, depth + 1);
        }
        free(sb);
        free(sub);
        if (r) return r;
        *last = mb[0];
        for (int32_t j = 1; j < nm; j++) if (cmp_member(&mb[j], last) > 0) *last = mb[j];
        return 0;
    }
    int in_order = 1;                     /* equal keys in id order: nothing to sort */
    for (int32_t j = 1; j < nm && in_order; j++) in_order = cmp_member(&mb[j - 1], &mb[j]) < 0;
    if (!in_order) qsort(mb, (size_t)nm, sizeof *mb, cmp_member);
    for (int32_t j = 0; j < nm; j++) {
        *cum += w_at(s, mb[j].i);
        if (*cum >= target) { *last = mb[j]; return 1; }
    }
    *last = mb[nm - 1];
    return 0;
}

/* How many of the nm members are at or ahead of last (key, then id); with
 * out, their columns are written there too */
static int32_t count_ahead(const member *mb, int32_t nm, member last, int32_t *out) {
    int32_t k = 0;
    for (int32_t j = 0; j < nm; j++) {
        int a = mb[j].key < last.key || (mb[j].key == last.key && mb[j].id <= last.id);
        if (out && a) out[k] = mb[j].i;
        k += a;
    }
    return k;
}

/* Where a cut lists its kept members for the draw (smp_cands.cut_dfast):
 * the second half of tmp_d (2 cap ints), when the members' indices
 * (nm + the 16 the SIMD loops may write past them) fit in the first; NULL
 * otherwise. The draw's block sums use the first nb doubles of tmp_d,
 * fewer than cap ints. */
static int32_t *kept_list(smp_cands *c, int32_t nm) {
    return nm + 16 <= c->cap ? (int32_t *)c->tmp_d + c->cap : NULL;
}

/* The cut of a selection: walks the buckets (mass[b], summed from the
 * lanes) from the first, adding whole buckets while the sum stays below
 * target, and resolves the crossing bucket's members (cut_members; their
 * indices gathered in idx, of n). 1 with the last kept member in *last,
 * the sum through it in *cum and in *pcnt how many candidates are at or
 * ahead of it (those of the buckets before, counted by the members' pass,
 * session 12: the count pass of a pending cut is then not needed); 0 when
 * the whole row does not reach the target; SMP_ENOMEM. */
static int find_cut(smp_cands *c, const sel *s, const double *mass, double target, double *cum, member *last,
                    int32_t *idx, int32_t *pnm, int32_t *pcnt, int32_t *pb, int32_t *pnk, int32_t *pnle) {
    int r = 0;
    *cum = 0;
    for (int32_t b = 0; b < NB && r == 0; b++) {
        if (!(*cum + mass[b] >= target)) { *cum += mass[b]; continue; }
        int32_t nm = 0, i = 0, cnt = 0, nle = 0, bt = c->le_bt;
        int32_t *le = c->le_want && smp_simd_512() ? (int32_t *)c->data : NULL;   /* min-p's list (3 cap ints) */
        if (le) {
            i = smp_simd_members_le_512(s->B, i, s->n, b, &cnt, idx, &nm, bt, le, &nle);
        } else {
            if (smp_simd_512()) i = smp_simd_members_512(s->B, i, s->n, b, &cnt, idx, &nm);
            if (smp_simd_on()) i = smp_simd_members(s->B, i, s->n, b, &cnt, idx, &nm);
        }
        for (; i < s->n; i++) {
            if (s->B[i] == b) idx[nm++] = i;
            if (le && s->B[i] <= bt) le[nle++] = i;
            cnt += s->B[i] < b;
        }
        *pnle = le ? nle : -1;
        member *mb = malloc(sizeof *mb * (size_t)(nm ? nm : 1));
        if (!mb) return SMP_ENOMEM;
        for (int32_t j = 0; j < nm; j++) mb[j] = (member){ key_at(s, idx[j]), s->id ? s->id[idx[j]] : idx[j], idx[j] };
        r = cut_members(s, mb, nm, target, cum, last, 0);
        if (r == 1) {
            int32_t *kl = kept_list(c, nm), nk = count_ahead(mb, nm, *last, kl);
            *pcnt = cnt + nk;
            *pb = b;
            *pnk = kl ? nk : -1;
        }
        free(mb);
        *pnm = nm;
    }
    return r;
}

/* Whether a candidate among the nm in idx (a cut's members: every
 * candidate with the cut's key is one) has the key of last and a later id:
 * without one, the candidates at or ahead of the cut are those with a key
 * up to last's (smp_simd_cut_sums_512 then needs one compare). */
static int cut_ties(const sel *s, const int32_t *idx, int32_t nm, member last) {
    for (int32_t j = 0; j < nm; j++)
        if (key_at(s, idx[j]) == last.key && (s->id ? s->id[idx[j]] : idx[j]) > last.id) return 1;
    return 0;
}

/* Keeps, in place and in order, the candidates ahead of or at the cut
 * (key < lk, or key == lk with id <= lid), writing their ids to out_id and
 * multiplying their p by inv when norm; returns how many. Every candidate
 * is copied to the next free place, which moves on only for a kept one (no
 * branch to mispredict); with AVX-512 sixteen at a time (top-p's vector
 * compare needs a finite cut: NaN logits rank as +inf keys). Reads the
 * keys' logits and masses of candidate i before anything is written over
 * them (k <= i). */
static int32_t compact_cut(const sel *s, float lk, int32_t lid, int32_t *out_id, const float *L, float *Lo, float *P,
                           int norm, float inv, float t) {
    int32_t k = 0, i = 0, n = s->n;
    if (smp_simd_512() && (s->typical || lk < INFINITY))
        k = smp_simd_compact_512(s->typical, s->lb, s->typical ? lk : -lk, lid, s->id, out_id, L, Lo, P, n, norm, inv,
                                 t, &i);
    for (; i < n; i++) {
        float kk = key_at(s, i);
        int32_t idi = s->id ? s->id[i] : i;
        int keep = kk < lk || (kk == lk && idi <= lid);
        out_id[k] = idi;
        Lo[k] = t != 1.0f ? L[i] / t : L[i];
        P[k] = norm ? P[i] * inv : P[i];
        k += keep;
    }
    return k;
}

/* ---- the pending cut (session 10) ----------------------------------------
 * Compacting the kept candidates is a pass that reads and writes the
 * columns (~20 % of a top-p pick at 128256); a dist draw right after needs
 * none of it. So the cut is left pending (smp_cands.cut): the candidates
 * ahead of it are counted, and the draw sums p = e * inv over them in the
 * whole row, blocks of 256 in order, 0 for the others. Those sums are the
 * compacted draw's (smp_mass.c): where every p is 0 or >= 2^-29 and their
 * total below 2, every partial sum is exact, so the blocks' bounds and the
 * zeros between the kept change no bit and the same u picks the same
 * token; elsewhere the cut is compacted and the draw is the compacted one.
 * The pick's index among the kept (what the compaction would give it)
 * comes from the blocks' counts. Any other stage compacts first
 * (smp_mass_settle), with the same pass as before. */
enum { BLK = SMP_SIMD_CUT_BLK };

static inline int at_cut(const sel *s, int32_t i, float lk, int32_t lid) {
    float kk = key_at(s, i);
    return kk < lk || (kk == lk && (s->id ? s->id[i] : i) <= lid);
}

static sel cut_sel(const smp_cands *c) {
    return (sel){ c->col_logit, c->cut_typical, c->cut_lb, c->col_p, c->col_p, c->dense ? NULL : c->col_id, NULL,
                  c->cut_n };
}

/* The SIMD loops' cut constant: top-p's compares the logit with -lk and
 * needs it finite (NaN logits rank as +inf keys). */
static int cut_simd(const sel *s, float lk) { return smp_simd_512() && (s->typical || lk < INFINITY); }
/* The SIMD loops' ties switch: one compare does only with a finite cut key
 * (typical's +inf keys, e = 0, are then all kept, which it would miss). */
static int cut_ties_simd(const smp_cands *c) { return c->cut_ties || !(c->cut_key < INFINITY); }
static float cut_c(const sel *s, float lk) { return s->typical ? lk : -lk; }

/* Leaves the cut pending, not counted; the callers set n when the
 * members' pass counted it (session 12), else it is counted when asked for
 * (smp_cut_count) or by the draw, which sees every candidate anyway. */
static int defer(smp_cands *c, const sel *s, float lk, int32_t lid, float inv, int ties) {
    c->cut = true;
    c->cut_ties = ties;
    c->cut_counted = false;
    c->cut_typical = s->typical;
    c->cut_lb = s->lb;
    c->cut_key = lk;
    c->cut_id = lid;
    c->cut_inv = inv;
    c->cut_n = s->n;
    c->cut_pick = -1;
    c->cut_b = false;
    c->cut_dfast = false;
    c->le_ok = false;
    c->normalized = true;
    return 0;
}

/* The bucket form of a deferred cut for the draw (smp_cands.cut_dfast):
 * the buckets [k1, k2] kept whole, nk kept members listed (none: -1) */
static void defer_buckets(smp_cands *c, int32_t k1, int32_t k2, int32_t nk) {
    c->cut_dfast = nk >= 0;
    c->cut_dk1 = k1;
    c->cut_dk2 = k2;
    c->cut_dm = nk;
}

void smp_cut_count(smp_cands *c) {
    if (!c->cut || c->cut_counted) return;
    sel s = cut_sel(c);
    float lk = c->cut_key;
    int32_t k = 0, i = 0;
    if (cut_simd(&s, lk))
        k = smp_simd_cut_count_512(s.typical, cut_ties_simd(c), s.lb, cut_c(&s, lk), c->cut_id, s.id, s.X, s.E, s.n, &i);
    for (; i < s.n; i++) k += at_cut(&s, i, lk, c->cut_id);
    c->n = k;
    c->cut_counted = true;
}

void smp_cut_settle(smp_cands *c) { smp_cut_settle_div(c, 1.0f); }

void smp_cut_settle_div(smp_cands *c, float t) {
    if (!c->cut) return;
    sel s = cut_sel(c);
    /* a borrowed row's kept logits go into col_own on the way (session 15) */
    int32_t k = compact_cut(&s, c->cut_key, c->cut_id, c->col_id, c->col_logit, c->col_own, c->col_p, 1, c->cut_inv, t);
    c->col_logit = c->col_own;
    if (k < c->cut_n) c->dense = false;
    c->n = k;
    c->cut = false;
    /* top-p keeps the row's best (cut_max) and its least kept logit is
     * the cut's (-cut_key), so the range of the kept logits / t is theirs
     * / t (division by t > 0 is monotone); NaN, +-inf or an overflow to
     * -inf: left to a pass */
    float hi = c->cut_max / t, lo = -c->cut_key / t;
    c->range_ok = !c->cut_typical && fabsf(c->cut_max) < INFINITY && fabsf(c->cut_key) < INFINITY && hi < INFINITY &&
                  lo > -INFINITY;
    c->rmax = hi;
    c->rmin = lo;
}

/* Whether every kept p = e * inv is 0 or at least 2^-29 follows from the
 * cut itself (session 11: the draw's pass then skips its check): a kept
 * candidate's x = l - m is at least top-p's cut logit - m, or for
 * typical-p lb - key - m (its float key |l - lb| <= the cut's; bounds
 * widened by 1e-6 of the magnitudes for the float rounding of l - lb, of
 * the key and of l - m), and where x >= -87 its e is within 2^-22 of
 * exp(x) (smp_simd_exp: 2^-23.6), else 0; with p rounded to float, p >= 2^-27
 * times (1 - 2^-20) follows from exp(bound) * inv >= 2^-27. */
static int cut_p_bounded(const smp_cands *c) {
    double m = c->cut_max, k = c->cut_key, x;
    if (c->cut_typical) {
        double lb = c->cut_lb;
        x = lb - k - m - 1e-6 * (fabs(lb) + fabs(k) + fabs(m));
    } else {
        x = -k - m - 1e-6 * (fabs(k) + fabs(m));     /* cut logit -k */
    }
    return x > -1e30 && exp(x) * (double)c->cut_inv >= 0x1p-27;
}

static int cmp_i32(const void *pa, const void *pb) {
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    return (a > b) - (a < b);
}

/* The draw by the rejection rule (smp_mass.h: more than SMP_MASS_MIN
 * kept, counted; T <= SMP_DRAW_U since p = e * inv with inv the float of 1
 * / the kept mass, so T is 1 within 2^-22) in the buckets' form
 * (cut_dfast): u = r * SMP_DRAW_U needs no total, so the blocks are summed
 * a few at a time and the walk stops in the block where the sum passes u
 * (half the row on average). The prefix sums are exact where every p
 * summed is 0 or >= 2^-29 (checked unless the cut bounds them; their sum
 * is below T < 2), which is all the compacted draw's walk needs of the
 * sums up to its pick, so it picks the same; else -2. */
static int32_t draw_part(smp_cands *c, double r) {
    enum { STEP = 8 };                         /* blocks summed at a time */
    sel s = cut_sel(c);
    const float *P = c->col_p, inv = c->cut_inv, lk = c->cut_key;
    const int32_t n = c->cut_n, nb = (n + BLK - 1) / BLK, nbs = n / BLK, lid = c->cut_id, nk = c->cut_dm;
    const int check = !cut_p_bounded(c);
    double *bs = c->tmp_d, u = r * SMP_DRAW_U, cum = 0;
    int32_t *cnt = (int32_t *)c->tmp, *kl = (int32_t *)c->tmp_d + c->cap, j = 0, rank = 0;
    for (int32_t a = 1; a < nk; a++)           /* the members in column order (the walk may have sorted them) */
        if (kl[a - 1] > kl[a]) {
            qsort(kl, (size_t)nk, sizeof *kl, cmp_i32);
            break;
        }
    for (int32_t b0 = 0; b0 < nb; b0 += STEP) {
        int32_t b1 = nb - b0 < STEP ? nb : b0 + STEP, bf = b1 < nbs ? b1 : nbs;
        if (bf > b0 && smp_simd_cut_sums_b_512(c->tmp_b + b0 * BLK, P + b0 * BLK, bf - b0, c->cut_dk1, c->cut_dk2, inv,
                                               bs + b0, cnt + b0, check))
            return -2;
        for (; j < nk && kl[j] < bf * BLK; j++) {      /* the listed members of those blocks */
            float p = P[kl[j]] * inv;
            if (check && !(p == 0 || p >= 0x1p-29f)) return -2;
            bs[kl[j] / BLK] += p;
            cnt[kl[j] / BLK]++;
        }
        for (int32_t b = bf > b0 ? bf : b0; b < b1; b++) {   /* the last, short block: the keys' test */
            double sum = 0;
            int32_t k = 0;
            for (int32_t i = b * BLK, e = n - i < BLK ? n : i + BLK; i < e; i++) {
                int kept = at_cut(&s, i, lk, lid);
                float p = kept ? P[i] * inv : 0.0f;
                if (!(p == 0 || p >= 0x1p-29f)) return -2;
                sum += p;
                k += kept;
            }
            bs[b] = sum;
            cnt[b] = k;
        }
        for (int32_t b = b0; b < b1; b++) {
            if (!(cum + bs[b] > u)) {
                cum += bs[b];
                rank += cnt[b];
                continue;
            }
            for (int32_t i = b * BLK; i < n; i++) {
                if (!at_cut(&s, i, lk, lid)) continue;
                cum += P[i] * inv;
                if (cum > u) {
                    c->cut_pick = i;
                    return rank;
                }
                rank++;
            }
            return -2;                         /* (not reached: the block's sum passed u) */
        }
    }
    return SMP_DRAW_AGAIN;                     /* u >= T: every block summed */
}

int32_t smp_cut_draw(smp_cands *c, double r) {
    if (c->cut_dfast && c->cut_counted && c->n > SMP_MASS_MIN && smp_simd_512()) return draw_part(c, r);
    sel s = cut_sel(c);
    const float *P = c->col_p, inv = c->cut_inv, lk = c->cut_key;
    const int32_t n = c->cut_n, nb = (n + BLK - 1) / BLK, lid = c->cut_id;
    double *bs = c->tmp_d;
    int32_t *cnt = (int32_t *)c->tmp, b = 0;
    int bad = 0;
    if (c->cut_dfast && smp_simd_512()) {
        /* the pass over the buckets; then the listed members of the blocks
         * it summed (the rest are the plain loop's below): exact sums, so
         * the order of the adds changes no bit */
        const int check = !cut_p_bounded(c);
        const int32_t *kl = (const int32_t *)c->tmp_d + c->cap;
        b = n / BLK;
        bad = smp_simd_cut_sums_b_512(c->tmp_b, P, b, c->cut_dk1, c->cut_dk2, inv, bs, cnt, check);
        for (int32_t j = 0; j < c->cut_dm && !bad; j++) {
            int32_t i = kl[j];
            if (i >= b * BLK) continue;
            float p = P[i] * inv;
            if (check && !(p == 0 || p >= 0x1p-29f)) bad = 1;
            bs[i / BLK] += p;
            cnt[i / BLK]++;
        }
    } else if (cut_simd(&s, lk)) {
        b = n / BLK;
        bad = smp_simd_cut_sums_512(s.typical, cut_ties_simd(c), s.lb, cut_c(&s, lk), lid, s.id, s.X, P, b, inv, bs, cnt,
                                    !cut_p_bounded(c));
    }
    for (; b < nb && !bad; b++) {
        double sum = 0;
        int32_t k = 0;
        for (int32_t i = b * BLK, e = n - i < BLK ? n : i + BLK; i < e; i++) {
            int kept = at_cut(&s, i, lk, lid);
            float p = kept ? P[i] * inv : 0.0f;
            if (!(p == 0 || p >= 0x1p-29f)) bad = 1;
            sum += p;
            k += kept;
        }
        bs[b] = sum;
        cnt[b] = k;
    }
    if (bad) return -2;
    double total = 0;
    int32_t kept = 0;
    for (b = 0; b < nb; b++) {
        total += bs[b];
        kept += cnt[b];
    }
    c->n = kept;
    c->cut_counted = true;
    if (!(total < 2)) return -2;
    double u = r * total, cum = 0;
    if (kept > SMP_MASS_MIN && SMP_DRAW_NEAR1(total)) {  /* the rejection rule (smp_mass.h) */
        u = r * SMP_DRAW_U;
        if (!(u < total)) return SMP_DRAW_AGAIN;
    }
    int32_t j = -1;
    for (b = 0; b < nb && j < 0; b++) {
        if (!(cum + bs[b] > u)) { cum += bs[b]; continue; }
        for (int32_t i = b * BLK; i < n; i++) {
            cum += at_cut(&s, i, lk, lid) ? P[i] * inv : 0.0f;
            if (cum > u) { j = i; break; }
        }
    }
    for (int32_t i = n - 1; i >= 0 && j < 0; i--)      /* u not passed (r * total rounded up) */
        if (at_cut(&s, i, lk, lid) && P[i] * inv > 0) j = i;
    if (j < 0) return -1;
    int32_t rank = 0;                                  /* its index among the kept */
    for (b = 0; b < j / BLK; b++) rank += cnt[b];
    for (int32_t i = b * BLK; i < j; i++) rank += at_cut(&s, i, lk, lid);
    c->cut_pick = j;
    return rank;
}

int smp_cut_keep(smp_cands *c, const sel *s, double S, double p, int32_t min_keep, double (*h)[NB]) {
    int32_t n = c->n;
    float *P = c->col_p;
    double mass[NB], cum, tot = 0;
    for (int32_t b = 0; b < NB; b++) tot += mass[b] = (h[0][b] + h[1][b]) + (h[2][b] + h[3][b]);
    if (S < 0) S = tot;                      /* top-p: the total is the buckets' */
    c->has_p = true;
    c->normalized = false;
    if (!(S > 0)) return 0;
    member last;
    int32_t *idx = (int32_t *)c->tmp_d;      /* (2 cap ints) free here: the members' indices (and the 16
                                              * past them that smp_simd_members_512 may write) */
    int32_t nm = 0, cnt = 0, bc = 0, nk = -1, nle = -1;
    int r = find_cut(c, s, mass, p * S, &cum, &last, idx, &nm, &cnt, &bc, &nk, &nle);
    if (r < 0) return r;
    if (r == 0) {
        smp_mass_scale(P, n, 1.0 / S);
        c->normalized = true;
        return 0;
    }
    int norm = 1;
    if (min_keep > 1) {
        if (cnt < min_keep) {         /* the min_keep first in key order instead */
            memset(mass, 0, sizeof mass);
            for (int32_t i = 0; i < n; i++) mass[s->B[i]] += 1;
            sel s1 = *s;
            s1.W = NULL;
            r = find_cut(c, &s1, mass, (double)min_keep, &cum, &last, idx, &nm, &cnt, &bc, &nk, &nle);
            if (r < 0) return r;
            norm = 0;
        }
    }
    if (norm) {
        defer(c, s, last.key, last.id, (float)(1.0 / cum), cut_ties(s, idx, nm, last));
        defer_buckets(c, 0, bc - 1, nk);  /* the buckets before the crossing one kept whole */
        c->le_ok = nle >= 0;          /* min-p's list, when top-p asked for it */
        c->le_n = nle;
        c->n = cnt;                   /* counted by find_cut */
        c->cut_counted = true;
        return 0;
    }
    int32_t k = compact_cut(s, last.key, last.id, c->col_id, c->col_logit, c->col_own, P, 0, 0.0f, 1.0f);
    c->col_logit = c->col_own;
    if (k < n) c->dense = false;
    c->n = k;
    if (!norm) {                      /* min_keep's set: its mass in eight sums */
        double part[8] = { 0 };
        for (int32_t i = 0; i < k; i++) part[i & 7] += P[i];
        double t = smp_cut_sum8(part);
        if (!(t > 0)) return 0;
        smp_mass_scale(P, k, 1.0 / t);
    }
    c->normalized = true;
    return 0;
}


/* ---- typical-p from the logit buckets (session 10) ----------------------
 * typical-p's key |l - E[l]| needs E[l], known only after the exp pass, so
 * its keys took a second pass over the row (their buckets, then the
 * histogram). Instead the exp pass bins by logit as top-p's does (bucket b:
 * (m - l) * sc in [b, b + 1)), and the walk works on the key intervals of
 * those buckets: a bucket's logits lie in [a, z] (its bounds widened by the
 * float rounding of m - l and of the scale), so its keys lie in [klo, khi]
 * (above E[l], below it, or across it; widened by the key's rounding). Along
 * each side of E[l] both bounds grow with the distance, so two merges give
 * t1, the smallest klo where the mass of the buckets with klo <= t1 reaches
 * p S (no cut below it), and t2, the smallest khi where the mass of the
 * buckets with khi <= t2 does (the cut is at most t2). The buckets with khi
 * < t1 are kept whole (their mass summed in bucket order), those with klo >
 * t2 dropped, and the members of the rest (a few buckets each side: at most
 * two runs of bucket indices, else the caller's path) are walked by key
 * from that sum (cut_members). The cut is taken only when its key is above
 * every kept bucket's khi and below every dropped bucket's klo, so the set
 * is exactly the candidates ahead of it; else 0 and the caller takes the
 * keys' histogram. */
/* fmax for the walk's bounds, which are never NaN (finite m, lb and
 * scale; -inf at most): inline, where fmax is a call into libm (session 14:
 * 2048 calls were ~2 % of a typical-p pick at 128256) */
static inline double dmax(double a, double b) { return a > b ? a : b; }

int smp_cut_typical(smp_cands *c, const sel *s, const uint16_t *B, const double *mass, double S, double p, float m,
                    float sc) {
    const double lb = s->lb, target = p * S, eps = 1e-6, em = eps * (2 * fabs((double)m) + fabs(lb) + 64);
    const int32_t n = s->n;
    c->has_p = true;
    c->normalized = false;
    if (!(S > 0) || !(sc > 0) || !(target > 0) || !(m < INFINITY) || !(fabs(lb) < INFINITY)) return 0;
    double klo[NB], khi[NB], inv = 1.0 / sc;  /* (the product's rounding is far below the widening) */
    int32_t s1 = NB, s2 = -1;                 /* the buckets across E[l] */
    for (int32_t b = 0; b < NB; b++) {
        double w = eps * (b + 1) * inv + em;
        double a = b == NB - 1 ? -INFINITY : m - (b + 1) * inv - w, z = m - b * inv + w;
        if (z < lb) {
            klo[b] = lb - z;
            khi[b] = lb - a;
        } else if (a > lb) {
            klo[b] = a - lb;
            khi[b] = z - lb;
        } else {
            klo[b] = 0;
            khi[b] = dmax(lb - a, z - lb);
            if (b < s1) s1 = b;
            s2 = b;
        }
        klo[b] = dmax(klo[b] - em, 0);
        khi[b] += em;
    }
    if (s2 < 0) return 0;
    /* t1: the buckets by klo (across, then the two sides merged) */
    double cum = 0, t1 = -1, t2 = -1;
    for (int32_t b = s1; b <= s2; b++) cum += mass[b];
    if (cum >= target) t1 = 0;
    for (int32_t i = s1 - 1, j = s2 + 1; t1 < 0 && (i >= 0 || j < NB);) {
        int up = j >= NB || (i >= 0 && klo[i] <= klo[j]);
        int32_t b = up ? i-- : j++;
        if ((cum += mass[b]) >= target) t1 = klo[b];
    }
    /* t2: by khi (the few across sorted by a selection, then the sides) */
    cum = 0;
    {
        int32_t i = s1 - 1, j = s2 + 1, k = s1;
        uint8_t used[NB] = { 0 };
        while (t2 < 0 && (i >= 0 || j < NB || k <= s2)) {
            int32_t bx = -1;                  /* the unused across bucket of least khi */
            for (int32_t b = s1; b <= s2; b++)
                if (!used[b] && (bx < 0 || khi[b] < khi[bx])) bx = b;
            double ku = i >= 0 ? khi[i] : INFINITY, kd = j < NB ? khi[j] : INFINITY, kx = bx >= 0 ? khi[bx] : INFINITY;
            int32_t b;
            if (bx >= 0 && kx <= ku && kx <= kd) {
                used[bx] = 1;
                b = bx;
                k++;
            } else if (i >= 0 && ku <= kd) {
                b = i--;
            } else if (j < NB) {
                b = j++;
            } else {
                break;
            }
            if ((cum += mass[b]) >= target) t2 = khi[b];
        }
    }
    if (t1 < 0 || t2 < 0) return 0;
    /* the kept whole, the dropped, and the runs of the rest */
    double head = 0, max_kept = -1, min_drop = INFINITY;
    int32_t run[2][2], nrun = 0, last_b = -2;
    for (int32_t b = 0; b < NB; b++) {
        if (!(mass[b] > 0)) continue;
        if (khi[b] < t1) {
            head += mass[b];
            if (khi[b] > max_kept) max_kept = khi[b];
        } else if (klo[b] > t2) {
            if (klo[b] < min_drop) min_drop = klo[b];
        } else {
            if (nrun > 0 && last_b == run[nrun - 1][1]) {
                run[nrun - 1][1] = b;          /* the same run (no kept or dropped mass between) */
            } else {
                if (nrun == 2) return 0;
                run[nrun][0] = run[nrun][1] = b;
                nrun++;
            }
            last_b = b;
            continue;
        }
        last_b = -2;
    }
    if (nrun == 0 || !(head < target)) return 0;
    if (nrun == 1) run[1][0] = run[1][1] = run[0][0];
    /* the buckets kept whole, when they are one range [k1, k2] (always but
     * for a rounding case): their candidates are counted in the members'
     * pass (session 12: saves the count pass the outermost smp_apply would
     * take) */
    int32_t k1 = NB, k2 = -1, counted = 1;
    for (int32_t b = 0; b < NB && counted; b++) {
        if (!(khi[b] < t1)) continue;
        if (k2 >= 0 && k2 != b - 1) counted = 0;
        if (k1 > b) k1 = b;
        k2 = b;
    }
    if (k1 > k2) k1 = k2 = run[0][0];         /* none: what the pass counts is not used */
    int32_t *idx = (int32_t *)c->tmp_d, nm = 0, i = 0, cnt = 0;       /* (2 cap ints, 16 past the members) */
    if (smp_simd_512())
        i = smp_simd_members2_512(B, i, n, run[0][0], run[0][1], run[1][0], run[1][1], k1, k2, &cnt, idx, &nm);
    if (smp_simd_on()) i = smp_simd_members2(B, i, n, run[0][0], run[0][1], run[1][0], run[1][1], k1, k2, &cnt, idx, &nm);
    for (; i < n; i++) {
        if ((B[i] >= run[0][0] && B[i] <= run[0][1]) || (B[i] >= run[1][0] && B[i] <= run[1][1])) idx[nm++] = i;
        cnt += B[i] >= k1 && B[i] <= k2;
    }
    if (!(max_kept >= 0)) cnt = 0;
    member *mb = malloc(sizeof *mb * (size_t)(nm ? nm : 1)), last;
    if (!mb) return SMP_ENOMEM;
    for (int32_t j = 0; j < nm; j++) mb[j] = (member){ key_at(s, idx[j]), s->id ? s->id[idx[j]] : idx[j], idx[j] };
    cum = head;
    int r = cut_members(s, mb, nm, target, &cum, &last, 0);
    int32_t *kl = counted ? kept_list(c, nm) : NULL, nk = 0;
    if (r == 1) cnt += nk = count_ahead(mb, nm, last, kl);
    free(mb);
    if (r != 1) return r;
    if (!((double)last.key > max_kept && (double)last.key < min_drop)) return 0;
    defer(c, s, last.key, last.id, (float)(1.0 / cum), cut_ties(s, idx, nm, last));
    if (counted) {
        c->n = cnt;
        c->cut_counted = true;
        /* kept: the buckets [k1, k2] whole (none when no bucket is) and
         * the listed members of the runs */
        if (max_kept >= 0) defer_buckets(c, k1, k2, kl ? nk : -1);
        else defer_buckets(c, 1, 0, kl ? nk : -1);
    }
    return 1;
}
