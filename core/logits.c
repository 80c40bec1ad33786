/* logits: distributions, rankings, mixes and biases over one logits row.
 *
 * Invariants: every reduction subtracts the row maximum before exp() and sums
 * in double, so rows with logits in the thousands or with -inf (masked)
 * entries are exact to float precision. NaN logits rank below -inf so that a
 * broken row can never win a top-k. The order used for ranks and top-k is
 * total (logit descending, then id ascending), hence machine independent.
 */
#include "logits.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logits_simd.h"
#include "tok.h"
#include "vecdot.h"

static float max_of(const float *x, int32_t n) {
    float m = -INFINITY;
    for (int32_t i = 0; i < n; i++) if (x[i] > m) m = x[i];
    return m;
}

double logits_logsumexp(const float *x, int32_t n) {
    float m = max_of(x, n);
    if (m == -INFINITY) return -INFINITY;
    double s = 0;
    for (int32_t i = 0; i < n; i++) s += exp((double)x[i] - m);
    return m + log(s);
}

void logits_softmax(const float *x, int32_t n, float *p) {
    float m = max_of(x, n);
    if (m == -INFINITY) { for (int32_t i = 0; i < n; i++) p[i] = 0; return; }
    double s = 0;
    for (int32_t i = 0; i < n; i++) s += exp((double)x[i] - m);
    double inv = 1.0 / s;
    for (int32_t i = 0; i < n; i++) p[i] = (float)(exp((double)x[i] - m) * inv);
}

void logits_log_softmax(const float *x, int32_t n, float *out) {
    double lse = logits_logsumexp(x, n);
    for (int32_t i = 0; i < n; i++) out[i] = (float)((double)x[i] - lse);
}

double logits_entropy(const float *p, int32_t n) {
    double h = 0;
    for (int32_t i = 0; i < n; i++) if (p[i] > 0) h -= (double)p[i] * log((double)p[i]);
    return h;
}

double logits_entropy_bits(const float *p, int32_t n) {
    return logits_entropy(p, n) / LOGITS_LN2;
}

/* H = log s - (sum e^(x-m) (x-m)) / s with s = sum e^(x-m): one pass after
 * the max, no probability vector. */
double logits_entropy_of(const float *x, int32_t n) {
    float m = max_of(x, n);
    if (m == -INFINITY) return 0;
    double s = 0, t = 0;
    for (int32_t i = 0; i < n; i++) {
        if (x[i] == -INFINITY) continue;
        double d = (double)x[i] - m, e = exp(d);
        s += e;
        t += e * d;
    }
    double h = log(s) - t / s;
    return h > 0 ? h : 0;
}

double logits_kl(const float *p, const float *q, int32_t n) {
    double kl = 0;
    for (int32_t i = 0; i < n; i++) {
        if (!(p[i] > 0)) continue;
        if (!(q[i] > 0)) return INFINITY;
        kl += (double)p[i] * (log((double)p[i]) - log((double)q[i]));
    }
    return kl > 0 ? kl : 0;
}

double logits_js(const float *p, const float *q, int32_t n) {
    double js = 0;
    for (int32_t i = 0; i < n; i++) {
        double a = p[i] > 0 ? p[i] : 0, b = q[i] > 0 ? q[i] : 0, m = 0.5 * (a + b);
        if (a > 0) js += 0.5 * a * log(a / m);
        if (b > 0) js += 0.5 * b * log(b / m);
    }
    return js > 0 ? js : 0;
}

/* ---- ranking ------------------------------------------------------------ */

static inline float key(float v) { return isnan(v) ? -INFINITY : v; }

/* true when token i comes before token j in rank order */
static inline int ahead(const float *x, int32_t i, int32_t j) {
    float a = key(x[i]), b = key(x[j]);
    return a > b || (a == b && i < j);
}

/* h[0..n) is a heap whose root is the token ranked last. */
static void sift_down(const float *x, int32_t *h, int32_t n, int32_t i) {
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && ahead(x, h[w], h[l])) w = l;
        if (r < n && ahead(x, h[w], h[r])) w = r;
        if (w == i) return;
        int32_t t = h[i]; h[i] = h[w]; h[w] = t;
        i = w;
    }
}

int32_t logits_top_k(const float *x, int32_t n, int32_t k, int32_t *ids) {
    if (k > n) k = n;
    if (k <= 0) return 0;
    for (int32_t i = 0; i < k; i++) ids[i] = i;
    for (int32_t i = k / 2 - 1; i >= 0; i--) sift_down(x, ids, k, i);
    for (int32_t i = k; i < n; i++)
        if (ahead(x, i, ids[0])) { ids[0] = i; sift_down(x, ids, k, 0); }
    /* heap sort: the last-ranked goes to the end each round */
    for (int32_t m = k - 1; m > 0; m--) {
        int32_t t = ids[0]; ids[0] = ids[m]; ids[m] = t;
        sift_down(x, ids, m, 0);
    }
    return k;
}

int32_t logits_rank(const float *x, int32_t n, int32_t id) {
    int32_t r = 1;
    for (int32_t i = 0; i < n; i++) if (i != id && ahead(x, i, id)) r++;
    return r;
}

/* A vectorized pass of running maxima (16 lanes, which the compiler
 * vectorizes) by blocks of 256, keeping the first block whose maximum is
 * the largest; then the first id holding it, searched from that block on
 * (the old second pass scanned from 0: on average half the row again, 10%
 * of a 64-sequence greedy step). Earlier blocks hold only smaller values,
 * so the id is the first in the row. NaN never wins a comparison, so it
 * ranks as -inf, as in ahead(). This file is built for the baseline ISA
 * (SSE2 on x86-64); where vd_isa() has AVX2 or AVX-512 the same loop runs
 * in logits_simd_avx2.c / logits_simd_avx512.c (the same id for any row;
 * test_logits compares every path): a 64-sequence greedy step reads 8 MB
 * of logits, and the SSE2 loop took ~10% of the stories15m step. */
static int32_t argmax_portable(const float *x, int32_t n) {
    enum { L = 16, BLK = 256 };
    float best = -INFINITY;
    int32_t from = 0, i = 0;
    for (; i + BLK <= n; i += BLK) {
        float m[L];
        for (int k = 0; k < L; k++) m[k] = -INFINITY;
        for (int32_t j = i; j < i + BLK; j += L)
            for (int k = 0; k < L; k++) m[k] = x[j + k] > m[k] ? x[j + k] : m[k];
        float bm = -INFINITY;
        for (int k = 0; k < L; k++) bm = m[k] > bm ? m[k] : bm;
        if (bm > best) { best = bm; from = i; }
    }
    for (int32_t j = i; j < n; j++)
        if (x[j] > best) { best = x[j]; from = i; }
    for (i = from; i < n; i++) if (key(x[i]) == best) return i;
    return 0;
}

int32_t logits_argmax(const float *x, int32_t n) {
#if defined(__x86_64__) || defined(__i386__)
    int isa = vd_isa();
    if (isa >= VD_AVX512) return logits_argmax_avx512(x, n);
    if (isa >= VD_AVX2) return logits_argmax_avx2(x, n);
#endif
    return argmax_portable(x, n);
}

/* ---- mixes -------------------------------------------------------------- */

int32_t logits_mix(float *out, int32_t cap, const logits_term *t, int32_t n_terms,
                   unsigned flags, char *err, size_t errlen) {
    if (n_terms <= 0) { snprintf(err, errlen, "logits_mix: no terms"); return LOGITS_EINVAL; }
    int32_t n = -1, first = -1;
    for (int32_t k = 0; k < n_terms; k++) {
        for (int side = 0; side < 2; side++) {
            const float *row = side ? t[k].b : t[k].a;
            int32_t len = side ? t[k].n_b : t[k].n_a;
            if (side && !row) continue;
            if (!row || len <= 0) {
                snprintf(err, errlen, "logits_mix: term %d has no row %c", (int)k, side ? 'b' : 'a');
                return LOGITS_EINVAL;
            }
            if (n < 0) { n = len; first = len; continue; }
            if (len != first && !(flags & LOGITS_TRIM)) {
                snprintf(err, errlen, "logits_mix: term %d row %c has vocabulary %d, term 0 has %d "
                         "(different vocabularies; trim explicitly to use the common prefix)",
                         (int)k, side ? 'b' : 'a', (int)len, (int)first);
                return LOGITS_EVOCAB;
            }
            if (len < n) n = len;
        }
    }
    if (cap < n) {
        snprintf(err, errlen, "logits_mix: output holds %d, need %d", (int)cap, (int)n);
        return LOGITS_EINVAL;
    }
    /* index-major so that out may alias any row: entry i of every row is read
     * before out[i] is written */
    for (int32_t i = 0; i < n; i++) {
        double s = 0;
        for (int32_t k = 0; k < n_terms; k++) {
            double v = (double)t[k].a[i] - (t[k].b ? (double)t[k].b[i] : 0.0);
            if (t[k].relu && !(v > 0)) continue;
            s += t[k].w * v;
        }
        out[i] = (float)s;
    }
    return n;
}

int logits_vocab_check(const tok *a, const tok *b, bool trim, int32_t *n_common,
                       char *err, size_t errlen) {
    int32_t na = tok_n_vocab(a), nb = tok_n_vocab(b), n = na < nb ? na : nb;
    if (na != nb && !trim) {
        snprintf(err, errlen, "vocabularies differ in size: %d and %d tokens "
                 "(trim explicitly to compare the first %d)", (int)na, (int)nb, (int)n);
        return LOGITS_EVOCAB;
    }
    for (int32_t i = 0; i < n; i++) {
        size_t la, lb;
        const char *sa = tok_text(a, i, &la), *sb = tok_text(b, i, &lb);
        if (la != lb || (la && memcmp(sa, sb, la) != 0)) {
            snprintf(err, errlen, "vocabularies differ at token %d: '%.*s' and '%.*s'", (int)i,
                     (int)(la < 40 ? la : 40), sa ? sa : "", (int)(lb < 40 ? lb : 40), sb ? sb : "");
            return LOGITS_EVOCAB;
        }
    }
    if (n_common) *n_common = n;
    return LOGITS_OK;
}

/* ---- bias and masks ----------------------------------------------------- */

void logits_bias_init(logits_bias *b) { memset(b, 0, sizeof *b); }

void logits_bias_fini(logits_bias *b) {
    free(b->ids);
    free(b->val);
    memset(b, 0, sizeof *b);
}

/* index of the first entry with ids[i] >= id */
static int32_t lower_bound(const logits_bias *b, int32_t id) {
    int32_t lo = 0, hi = b->n;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (b->ids[mid] < id) lo = mid + 1; else hi = mid;
    }
    return lo;
}

int logits_bias_add(logits_bias *b, int32_t id, float val) {
    if (id < 0) return LOGITS_EINVAL;
    int32_t i = lower_bound(b, id);
    if (i < b->n && b->ids[i] == id) { b->val[i] += val; return LOGITS_OK; }
    if (b->n == b->cap) {
        int32_t cap = b->cap ? 2 * b->cap : 16;
        int32_t *ni = realloc(b->ids, sizeof *ni * (size_t)cap);
        if (!ni) return LOGITS_ENOMEM;
        b->ids = ni;
        float *nv = realloc(b->val, sizeof *nv * (size_t)cap);
        if (!nv) return LOGITS_ENOMEM;
        b->val = nv;
        b->cap = cap;
    }
    memmove(b->ids + i + 1, b->ids + i, sizeof *b->ids * (size_t)(b->n - i));
    memmove(b->val + i + 1, b->val + i, sizeof *b->val * (size_t)(b->n - i));
    b->ids[i] = id;
    b->val[i] = val;
    b->n++;
    return LOGITS_OK;
}

float logits_bias_get(const logits_bias *b, int32_t id) {
    int32_t i = lower_bound(b, id);
    return i < b->n && b->ids[i] == id ? b->val[i] : 0.0f;
}

void logits_bias_apply(const logits_bias *b, float *x, int32_t n) {
    for (int32_t i = 0; i < b->n && b->ids[i] < n; i++) x[b->ids[i]] += b->val[i];
}

int logits_bias_copy(logits_bias *dst, const logits_bias *src) {
    logits_bias_init(dst);
    if (!src->n) return LOGITS_OK;
    dst->ids = malloc(sizeof *dst->ids * (size_t)src->n);
    dst->val = malloc(sizeof *dst->val * (size_t)src->n);
    if (!dst->ids || !dst->val) { logits_bias_fini(dst); return LOGITS_ENOMEM; }
    memcpy(dst->ids, src->ids, sizeof *dst->ids * (size_t)src->n);
    memcpy(dst->val, src->val, sizeof *dst->val * (size_t)src->n);
    dst->n = dst->cap = src->n;
    return LOGITS_OK;
}

int32_t logits_ids_of_text(const tok *t, const char *text, size_t len, int match,
                           int32_t *ids, int32_t cap, char *err, size_t errlen) {
    if (!len) { snprintf(err, errlen, "empty text names no token"); return LOGITS_EINVAL; }
    if (match == LOGITS_MATCH_ENCODE) {
        int32_t r = tok_encode(t, text, len, false, false, ids, cap, err, errlen);
        return r < 0 ? LOGITS_EINVAL : r;
    }
    if (match != LOGITS_MATCH_EXACT && match != LOGITS_MATCH_CONTAINS) {
        snprintf(err, errlen, "unknown text match mode %d", match);
        return LOGITS_EINVAL;
    }
    char piece[512];
    int32_t k = 0, nv = tok_n_vocab(t);
    for (int32_t id = 0; id < nv; id++) {
        int32_t pl = tok_piece(t, id, piece, (int32_t)sizeof piece, false);
        if (pl <= 0 || pl > (int32_t)sizeof piece) continue; /* longer pieces cannot be named here */
        bool hit = match == LOGITS_MATCH_EXACT ? (size_t)pl == len && memcmp(piece, text, len) == 0
                                               : memmem(piece, (size_t)pl, text, len) != NULL;
        if (hit) { if (k < cap) ids[k] = id; k++; }
    }
    return k;
}

int32_t logits_bias_add_text(logits_bias *b, const tok *t, const char *text, size_t len,
                             int match, float val, char *err, size_t errlen) {
    int32_t small[64], *ids = small;
    int32_t k = logits_ids_of_text(t, text, len, match, ids, 64, err, errlen);
    if (k > 64) {
        ids = malloc(sizeof *ids * (size_t)k);
        if (!ids) { snprintf(err, errlen, "out of memory"); return LOGITS_ENOMEM; }
        k = logits_ids_of_text(t, text, len, match, ids, k, err, errlen);
    }
    int rc = k;
    for (int32_t i = 0; i < k && rc >= 0; i++)
        if (logits_bias_add(b, ids[i], val)) { snprintf(err, errlen, "out of memory"); rc = LOGITS_ENOMEM; }
    if (ids != small) free(ids);
    return rc;
}

int logits_keep_only(float *x, int32_t n, const int32_t *keep, int32_t n_keep) {
    float *saved = malloc(sizeof *saved * (size_t)(n_keep > 0 ? n_keep : 1));
    if (!saved) return LOGITS_ENOMEM;
    for (int32_t i = 0; i < n_keep; i++)
        saved[i] = keep[i] >= 0 && keep[i] < n ? x[keep[i]] : 0;
    for (int32_t i = 0; i < n; i++) x[i] = -INFINITY;
    for (int32_t i = 0; i < n_keep; i++)
        if (keep[i] >= 0 && keep[i] < n) x[keep[i]] = saved[i];
    free(saved);
    return LOGITS_OK;
}

int logits_bias_parse(logits_bias *b, const char *spec, int32_t n_vocab, char *err, size_t errlen) {
    const char *s = spec;
    while (s && *s) {
        char *end;
        long id = strtol(s, &end, 10);
        if (end == s || *end != '=' || id < 0 || id >= n_vocab) {
            snprintf(err, errlen, "bias wants ID=VALUE with 0 <= ID < %d, at '%s'", (int)n_vocab, s);
            return LOGITS_EINVAL;
        }
        s = end + 1;
        float v = strtof(s, &end);
        if (end == s || (*end && *end != ',') || isnan(v)) {
            snprintf(err, errlen, "bias: bad value at '%s'", s);
            return LOGITS_EINVAL;
        }
        if (logits_bias_add(b, (int32_t)id, v)) { snprintf(err, errlen, "out of memory"); return LOGITS_ENOMEM; }
        s = *end ? end + 1 : end;
    }
    return LOGITS_OK;
}
