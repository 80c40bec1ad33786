/* Training ops: every backward in tops.h against central finite differences
 * of a float64 reference forward written here, at tiny shapes; tgemm's three
 * forms against float64 products at odd sizes, and bitwise the same on one
 * thread and on a pool; AdamW's schedule. */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adamw.h"
#include "check.h"
#include "pool.h"
#include "sgemm.h"
#include "tgemm.h"
#include "tops.h"
#include "tvec.h"

static uint64_t rs = 88172645463325252ull;
static double urand(void) {   /* xorshift64, uniform in (-1, 1) */
    rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
    return (double)(rs >> 11) / 4503599627370496.0 - 1.0;
}
static void fill(double *x, int n, double scale, double offset) {
    for (int i = 0; i < n; i++) x[i] = offset + scale * urand();
}
static void to_f(float *y, const double *x, int n) { for (int i = 0; i < n; i++) y[i] = (float)x[i]; }

/* max |a - b| / max |b|: the error relative to the gradient's scale */
static double rel_err(const float *a, const double *b, int n) {
    double e = 0, m = 1e-30;
    for (int i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > e) e = d;
        if (fabs(b[i]) > m) m = fabs(b[i]);
    }
    return e / m;
}

/* L(x) = sum dy . f(x) for a float64 forward f; numeric dL/dx into g. */
typedef double (*lossfn)(void *ctx);
static void numgrad(lossfn f, void *ctx, double *x, int n, double *g) {
    const double h = 1e-6;
    for (int i = 0; i < n; i++) {
        double s = x[i];
        x[i] = s + h; double lp = f(ctx);
        x[i] = s - h; double lm = f(ctx);
        x[i] = s;
        g[i] = (lp - lm) / (2 * h);
    }
}

/* ---- RMSNorm ---- */
enum { RN = 3, RD = 8 };
typedef struct { double x[RN * RD], g[RD], dy[RN * RD]; } rn_ctx;
static double rn_loss(void *p) {
    rn_ctx *c = p;
    double L = 0;
    for (int r = 0; r < RN; r++) {
        double ss = 0;
        for (int i = 0; i < RD; i++) ss += c->x[r * RD + i] * c->x[r * RD + i];
        double s = 1 / sqrt(ss / RD + 1e-5);
        for (int i = 0; i < RD; i++) L += c->dy[r * RD + i] * c->x[r * RD + i] * s * c->g[i];
    }
    return L;
}
static void test_rmsnorm(void) {
    rn_ctx c;
    fill(c.x, RN * RD, 1, 0); fill(c.g, RD, 0.3, 1); fill(c.dy, RN * RD, 1, 0);
    double gx[RN * RD], gg[RD];
    numgrad(rn_loss, &c, c.x, RN * RD, gx);
    numgrad(rn_loss, &c, c.g, RD, gg);
    float x[RN * RD], g[RD], dy[RN * RD], y[RN * RD], rstd[RN], dx[RN * RD] = { 0 }, dg[RD] = { 0 };
    to_f(x, c.x, RN * RD); to_f(g, c.g, RD); to_f(dy, c.dy, RN * RD);
    tops_rmsnorm_fwd(y, rstd, x, g, RN, RD, 1e-5f);
    tops_rmsnorm_bwd(dx, dg, dy, x, g, rstd, RN, RD);
    CHECK(rel_err(dx, gx, RN * RD) < 1e-5, "rmsnorm dx: rel err %g", rel_err(dx, gx, RN * RD));
    CHECK(rel_err(dg, gg, RD) < 1e-5, "rmsnorm dg: rel err %g", rel_err(dg, gg, RD));
}

/* ---- RoPE ---- */
enum { PT = 5, PH = 2, PHD = 6 };
typedef struct { double x[PT * PH * PHD], dy[PT * PH * PHD]; float inv[PHD / 2]; } rp_ctx;
static double rp_loss(void *p) {
    rp_ctx *c = p;
    double L = 0;
    for (int r = 0; r < PT; r++)
        for (int h = 0; h < PH; h++)
            for (int j = 0; j < PHD / 2; j++) {
                double th = (double)r * c->inv[j], co = (float)cos(th), si = (float)sin(th);
                int o = (r * PH + h) * PHD + 2 * j;
                double a = c->x[o], b = c->x[o + 1];
                L += c->dy[o] * (a * co - b * si) + c->dy[o + 1] * (a * si + b * co);
            }
    return L;
}
static void test_rope(void) {
    rp_ctx c;
    int n = PT * PH * PHD;
    fill(c.x, n, 1, 0); fill(c.dy, n, 1, 0);
    for (int j = 0; j < PHD / 2; j++) c.inv[j] = (float)pow(10000.0, -2.0 * j / PHD);
    double gx[PT * PH * PHD];
    numgrad(rp_loss, &c, c.x, n, gx);
    float dx[PT * PH * PHD], cs[PT * PHD];
    tops_rope_table(cs, PT, PHD, c.inv);
    to_f(dx, c.dy, n);
    tops_rope_bwd(dx, PT, PT, PH, PHD, cs);
    CHECK(rel_err(dx, gx, n) < 1e-6, "rope dx: rel err %g", rel_err(dx, gx, n));
    /* forward then backward with the same gradient is the identity */
    float x[PT * PH * PHD], x0[PT * PH * PHD];
    to_f(x, c.x, n);
    memcpy(x0, x, sizeof x);
    tops_rope_fwd(x, PT, PT, PH, PHD, cs);
    tops_rope_bwd(x, PT, PT, PH, PHD, cs);
    double e = 0;
    for (int i = 0; i < n; i++) e = fmax(e, fabs(x[i] - x0[i]));
    CHECK(e < 1e-6, "rope inverse: %g", e);
}

/* ---- SwiGLU ---- */
enum { SN = 12 };
typedef struct { double g[SN], u[SN], dy[SN]; } sw_ctx;
static double sw_loss(void *p) {
    sw_ctx *c = p;
    double L = 0;
    for (int i = 0; i < SN; i++) L += c->dy[i] * c->g[i] / (1 + exp(-c->g[i])) * c->u[i];
    return L;
}
static void test_swiglu(void) {
    sw_ctx c;
    fill(c.g, SN, 3, 0); fill(c.u, SN, 1, 0); fill(c.dy, SN, 1, 0);
    double gg[SN], gu[SN];
    numgrad(sw_loss, &c, c.g, SN, gg);
    numgrad(sw_loss, &c, c.u, SN, gu);
    float g[SN], u[SN], dy[SN], dg[SN], du[SN];
    to_f(g, c.g, SN); to_f(u, c.u, SN); to_f(dy, c.dy, SN);
    tops_swiglu_bwd(dg, du, dy, g, u, SN);
    CHECK(rel_err(dg, gg, SN) < 1e-5, "swiglu dg: %g", rel_err(dg, gg, SN));
    CHECK(rel_err(du, gu, SN) < 1e-5, "swiglu du: %g", rel_err(du, gu, SN));
}

/* ---- attention (GQA: 4 query heads on 2 kv heads) ---- */
enum { AB = 2, AT = 5, AH = 4, AKV = 2, AHD = 3 };
#define AQ (AB * AT * AH * AHD)
#define AK (AB * AT * AKV * AHD)
typedef struct { double q[AQ], k[AK], v[AK], dy[AQ]; } at_ctx;
static double at_loss(void *p) {
    at_ctx *c = p;
    double L = 0, sc = 1 / sqrt((double)AHD);
    for (int b = 0; b < AB; b++)
        for (int h = 0; h < AH; h++) {
            int g = h / (AH / AKV);
            for (int i = 0; i < AT; i++) {
                double s[AT], mx = -1e300, sum = 0;
                for (int t = 0; t <= i; t++) {
                    s[t] = 0;
                    for (int e = 0; e < AHD; e++)
                        s[t] += c->q[((b * AT + i) * AH + h) * AHD + e] * c->k[((b * AT + t) * AKV + g) * AHD + e];
                    s[t] *= sc;
                    mx = fmax(mx, s[t]);
                }
                for (int t = 0; t <= i; t++) sum += s[t] = exp(s[t] - mx);
                for (int e = 0; e < AHD; e++) {
                    double o = 0;
                    for (int t = 0; t <= i; t++) o += s[t] / sum * c->v[((b * AT + t) * AKV + g) * AHD + e];
                    L += c->dy[((b * AT + i) * AH + h) * AHD + e] * o;
                }
            }
        }
    return L;
}
static void test_attention(pool *pl) {
    at_ctx c;
    fill(c.q, AQ, 1, 0); fill(c.k, AK, 1, 0); fill(c.v, AK, 1, 0); fill(c.dy, AQ, 1, 0);
    double gq[AQ], gk[AK], gv[AK];
    numgrad(at_loss, &c, c.q, AQ, gq);
    numgrad(at_loss, &c, c.k, AK, gk);
    numgrad(at_loss, &c, c.v, AK, gv);
    float q[AQ], k[AK], v[AK], dy[AQ], out[AQ], probs[AB * AH * AT * AT], dq[AQ], dk[AK], dv[AK];
    to_f(q, c.q, AQ); to_f(k, c.k, AK); to_f(v, c.v, AK); to_f(dy, c.dy, AQ);
    tops_attn a = { AB, AT, AH, AKV, AHD, NULL };
    float scratch[4 * (4 * AHD * AT + AT + 16)];
    a.scratch = scratch;
    tops_attn_fwd(pl, &a, out, probs, q, k, v);
    tops_attn_bwd(pl, &a, dq, dk, dv, dy, probs, q, k, v);
    CHECK(rel_err(dq, gq, AQ) < 1e-5, "attention dq: %g", rel_err(dq, gq, AQ));
    CHECK(rel_err(dk, gk, AK) < 1e-5, "attention dk: %g", rel_err(dk, gk, AK));
    CHECK(rel_err(dv, gv, AK) < 1e-5, "attention dv: %g", rel_err(dv, gv, AK));
    double L = 0;
    for (int i = 0; i < AQ; i++) L += c.dy[i] * out[i];
    CHECK(fabs(L - at_loss(&c)) < 1e-5, "attention forward: %g vs %g", L, at_loss(&c));
}

/* Longer sequences (several causal row blocks and a partial one) against
 * attention and its backward written out in float64 here; bitwise the same
 * on the pool, and a sequence's results the same alone as beside another. */
static void test_attention_long(pool *pl) {
    enum { B = 2, T = 150, H = 4, KVH = 2, HD = 8 };
    const int QN = B * T * H * HD, KN = B * T * KVH * HD, qs = H * HD, ks = KVH * HD;
    float *q = malloc(sizeof(float) * QN), *k = malloc(sizeof(float) * KN), *v = malloc(sizeof(float) * KN);
    float *dy = malloc(sizeof(float) * QN), *probs = malloc(sizeof(float) * B * H * T * T);
    float *out[2], *dq[2], *dk[2], *dv[2];
    for (int r = 0; r < 2; r++) {
        out[r] = malloc(sizeof(float) * QN); dq[r] = malloc(sizeof(float) * QN);
        dk[r] = malloc(sizeof(float) * KN); dv[r] = malloc(sizeof(float) * KN);
    }
    for (int i = 0; i < QN; i++) q[i] = (float)(2 * urand()), dy[i] = (float)urand();
    for (int i = 0; i < KN; i++) k[i] = (float)(2 * urand()), v[i] = (float)urand();
    tops_attn a = { B, T, H, KVH, HD, NULL };
    a.scratch = malloc(sizeof(float) * tops_attn_scratch(&a, pl ? pool_size(pl) : 1));
    for (int r = 0; r < 2; r++) {
        pool *use = r ? pl : NULL;
        tops_attn_fwd(use, &a, out[r], probs, q, k, v);
        tops_attn_bwd(use, &a, dq[r], dk[r], dv[r], dy, probs, q, k, v);
    }
    CHECK(!memcmp(out[0], out[1], sizeof(float) * QN) && !memcmp(dq[0], dq[1], sizeof(float) * QN) &&
          !memcmp(dk[0], dk[1], sizeof(float) * KN) && !memcmp(dv[0], dv[1], sizeof(float) * KN),
          "attention at T=%d differs on the pool", T);
    /* float64 reference */
    double *P = malloc(sizeof(double) * T), *dP = malloc(sizeof(double) * T);
    double *rq = calloc(QN, sizeof(double)), *rk = calloc(KN, sizeof(double)), *rv = calloc(KN, sizeof(double));
    double eo = 0, mo = 0, sc = 1 / sqrt((double)HD);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            int g = h / (H / KVH);
            for (int i = 0; i < T; i++) {
                const float *qi = q + (size_t)(b * T + i) * qs + h * HD, *di = dy + (size_t)(b * T + i) * qs + h * HD;
                double mx = -1e300, sum = 0, pd = 0;
                for (int t = 0; t <= i; t++) {
                    double d = 0;
                    for (int e = 0; e < HD; e++) d += (double)qi[e] * k[(size_t)(b * T + t) * ks + g * HD + e];
                    P[t] = d * sc;
                    mx = fmax(mx, P[t]);
                }
                for (int t = 0; t <= i; t++) sum += P[t] = exp(P[t] - mx);
                for (int t = 0; t <= i; t++) P[t] /= sum;
                for (int e = 0; e < HD; e++) {
                    double o = 0;
                    for (int t = 0; t <= i; t++) o += P[t] * v[(size_t)(b * T + t) * ks + g * HD + e];
                    eo = fmax(eo, fabs(o - out[0][(size_t)(b * T + i) * qs + h * HD + e]));
                    mo = fmax(mo, fabs(o));
                }
                for (int t = 0; t <= i; t++) {
                    dP[t] = 0;
                    for (int e = 0; e < HD; e++) dP[t] += (double)di[e] * v[(size_t)(b * T + t) * ks + g * HD + e];
                    pd += P[t] * dP[t];
                }
                for (int t = 0; t <= i; t++) {
                    double ds = P[t] * (dP[t] - pd) * sc;
                    for (int e = 0; e < HD; e++) {
                        rq[(size_t)(b * T + i) * qs + h * HD + e] += ds * k[(size_t)(b * T + t) * ks + g * HD + e];
                        rk[(size_t)(b * T + t) * ks + g * HD + e] += ds * qi[e];
                        rv[(size_t)(b * T + t) * ks + g * HD + e] += P[t] * di[e];
                    }
                }
            }
        }
    CHECK(eo < 1e-5 * (1 + mo), "attention at T=%d: output off by %g", T, eo);
    CHECK(rel_err(dq[0], rq, QN) < 1e-5, "attention at T=%d dq: %g", T, rel_err(dq[0], rq, QN));
    CHECK(rel_err(dk[0], rk, KN) < 1e-5, "attention at T=%d dk: %g", T, rel_err(dk[0], rk, KN));
    CHECK(rel_err(dv[0], rv, KN) < 1e-5, "attention at T=%d dv: %g", T, rel_err(dv[0], rv, KN));
    /* the second sequence alone (B = 1) gives the same bytes */
    tops_attn a1 = { 1, T, H, KVH, HD, a.scratch };
    tops_attn_fwd(NULL, &a1, out[1], probs, q + (size_t)T * qs, k + (size_t)T * ks, v + (size_t)T * ks);
    tops_attn_bwd(NULL, &a1, dq[1], dk[1], dv[1], dy + (size_t)T * qs, probs, q + (size_t)T * qs,
                  k + (size_t)T * ks, v + (size_t)T * ks);
    CHECK(!memcmp(out[1], out[0] + (size_t)T * qs, sizeof(float) * T * qs) &&
          !memcmp(dq[1], dq[0] + (size_t)T * qs, sizeof(float) * T * qs) &&
          !memcmp(dk[1], dk[0] + (size_t)T * ks, sizeof(float) * T * ks) &&
          !memcmp(dv[1], dv[0] + (size_t)T * ks, sizeof(float) * T * ks),
          "attention: a sequence alone differs from the same beside another");
    free(P); free(dP); free(rq); free(rk); free(rv); free(a.scratch);
    for (int r = 0; r < 2; r++) { free(out[r]); free(dq[r]); free(dk[r]); free(dv[r]); }
    free(q); free(k); free(v); free(dy); free(probs);
}

/* ---- cross-entropy ---- */
enum { XN = 4, XV = 7 };
typedef struct { double l[XN * XV]; int32_t t[XN]; } xe_ctx;
static double xe_loss(void *p) {
    xe_ctx *c = p;
    double L = 0;
    for (int r = 0; r < XN; r++) {
        if (c->t[r] < 0) continue;
        double mx = -1e300, s = 0;
        for (int i = 0; i < XV; i++) mx = fmax(mx, c->l[r * XV + i]);
        for (int i = 0; i < XV; i++) s += exp(c->l[r * XV + i] - mx);
        L += log(s) + mx - c->l[r * XV + c->t[r]];
    }
    return L;
}
static void test_xent(void) {
    xe_ctx c = { .t = { 3, -1, 0, 6 } };
    fill(c.l, XN * XV, 4, 0);
    double gl[XN * XV];
    numgrad(xe_loss, &c, c.l, XN * XV, gl);
    float l[XN * XV], rl[XN], lse[XN];
    to_f(l, c.l, XN * XV);
    int n = tops_xent_fwd(NULL, l, c.t, XN, XV, rl, lse);
    tops_xent_bwd(NULL, l, c.t, lse, XN, XV, 1.0f);
    CHECK(n == 3, "counted %d rows", n);
    CHECK(rel_err(l, gl, XN * XV) < 1e-5, "xent dlogits: %g", rel_err(l, gl, XN * XV));
    CHECK(fabs(rl[0] + rl[2] + rl[3] - xe_loss(&c)) < 1e-5 && rl[1] == 0, "xent loss");
}

/* ---- embedding ---- */
static void test_embed(void) {
    float e[4 * 3] = { 0 }, dx[3 * 3], de[4 * 3] = { 0 }, x[3 * 3];
    for (int i = 0; i < 12; i++) e[i] = (float)i;
    for (int i = 0; i < 9; i++) dx[i] = (float)(i + 1);
    int32_t ids[3] = { 2, 0, 2 };
    tops_embed_fwd(x, e, ids, 3, 3);
    CHECK(x[0] == 6 && x[3] == 0 && x[8] == 8, "embed forward");
    tops_embed_bwd(de, dx, ids, 3, 3);
    CHECK(de[6] == 1 + 7 && de[0] == 4 && de[3] == 0, "embed backward sums repeated ids");
}

/* ---- matrix products ---- */
static void test_gemm(pool *pl, int impl) {
    tgemm_set_impl(impl);
    const int n = 23, m = 37, k = 301;   /* edges of every block size, two K blocks */
    float *a = malloc(sizeof(float) * n * k), *at = malloc(sizeof(float) * n * k);
    float *b = malloc(sizeof(float) * m * k), *bt = malloc(sizeof(float) * m * k);
    float *c1 = malloc(sizeof(float) * n * m), *c2 = malloc(sizeof(float) * n * m);
    double *ref = malloc(sizeof(double) * n * m);
    for (int i = 0; i < n * k; i++) a[i] = (float)urand();
    for (int i = 0; i < m * k; i++) b[i] = (float)urand();
    for (int i = 0; i < n; i++) for (int p = 0; p < k; p++) at[p * n + i] = a[i * k + p];
    for (int j = 0; j < m; j++) for (int p = 0; p < k; p++) bt[p * m + j] = b[j * k + p];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++) {
            double s = 0.5 * (i - j);    /* the beta = 1 start value */
            for (int p = 0; p < k; p++) s += (double)a[i * k + p] * b[j * k + p];
            ref[i * m + j] = s;
        }
    for (int form = 0; form < 3; form++)
        for (int th = 0; th < 2; th++) {
            float *c = th ? c2 : c1;
            for (int i = 0; i < n; i++) for (int j = 0; j < m; j++) c[i * m + j] = 0.5f * (i - j);
            pool *use = th ? pl : NULL;
            if (form == 0) tgemm_nt(use, n, m, k, a, b, 1.0f, c);        /* b is (m, k) */
            else if (form == 1) tgemm_nn(use, n, m, k, a, bt, 1.0f, c);  /* bt is (k, m) */
            else tgemm_tn(use, n, m, k, at, bt, 1.0f, c);                /* at is (k, n) */
            double e = 0;
            for (int i = 0; i < n * m; i++) e = fmax(e, fabs(c[i] - ref[i]));
            CHECK(e < 1e-4, "%s gemm form %d threads %d: max err %g", tgemm_impl_name(), form, th, e);
            if (th && impl == TGEMM_OWN)
                CHECK(memcmp(c1, c2, sizeof(float) * n * m) == 0, "gemm form %d differs on the pool", form);
        }
    tgemm_nt(NULL, n, m, k, a, b, 0.0f, c1);   /* beta 0 ignores what was there (even NaN) */
    c2[0] = NAN;
    for (int i = 1; i < n * m; i++) c2[i] = c1[i];
    tgemm_nt(NULL, n, m, k, a, b, 0.0f, c2);
    CHECK(memcmp(c1, c2, sizeof(float) * n * m) == 0, "beta 0 overwrites");
    free(a); free(at); free(b); free(bt); free(c1); free(c2); free(ref);
    /* x W^T into more than 384 columns with the scratch (A packed once a
     * thread): the same bits as without, on 1 thread and on the pool */
    const int wn = 61, wm = 800, wk = 45;
    float *wa = malloc(sizeof(float) * wn * wk), *wb = malloc(sizeof(float) * wm * wk);
    float *w1 = malloc(sizeof(float) * wn * wm), *w2 = malloc(sizeof(float) * wn * wm);
    float *wsp = malloc(sizeof(float) * tgemm_nt_ws_floats(pl, wn, wk));
    float *ws1 = malloc(sizeof(float) * tgemm_nt_ws_floats(NULL, wn, wk));
    for (int i = 0; i < wn * wk; i++) wa[i] = (float)urand();
    for (int i = 0; i < wm * wk; i++) wb[i] = (float)urand();
    tgemm_nt(NULL, wn, wm, wk, wa, wb, 0.0f, w1);
    tgemm_nt_ws(pl, wn, wm, wk, wa, wb, 0.0f, w2, wsp);
    CHECK(impl != TGEMM_OWN || memcmp(w1, w2, sizeof(float) * wn * wm) == 0, "wide x W^T with scratch, pool");
    tgemm_nt_ws(NULL, wn, wm, wk, wa, wb, 0.0f, w2, ws1);
    CHECK(memcmp(w1, w2, sizeof(float) * wn * wm) == 0, "wide x W^T with scratch, 1 thread");
    free(wa); free(wb); free(w1); free(w2); free(wsp); free(ws1);
    tgemm_set_impl(TGEMM_AUTO);
}

/* The kernels one by one at sizes past every block (MC, NC, three K blocks),
 * all four transpose pairs, padded leading dimensions and beta 0, 1, 0.5:
 * AVX-512 and AVX2 sum in the same order (bitwise equal), both within 1e-4
 * of a float64 product. */
static void test_sgemm_kernels(int n) {
    if (!sgemm_has_simd()) return;
    /* edges: 5 rows; n % 32 columns (437: 21, the full kernel; 400: 16 and
     * 392: 8, the narrow one) */
    const int m = 131, k = 803, pad = 5;
    const int lda_n = k + pad, lda_t = m + pad, ldb_n = n + pad, ldb_t = k + pad, ldc = n + 3;
    size_t asz = (size_t)(m > k ? m : k) * (size_t)(lda_n > lda_t ? lda_n : lda_t);
    size_t bsz = (size_t)(n > k ? n : k) * (size_t)(ldb_n > ldb_t ? ldb_n : ldb_t);
    float *a = malloc(sizeof(float) * asz), *b = malloc(sizeof(float) * bsz);
    float *c1 = malloc(sizeof(float) * m * ldc), *c2 = malloc(sizeof(float) * m * ldc);
    float *c3 = malloc(sizeof(float) * m * ldc), *ws = malloc(sizeof(float) * sgemm_apack_floats(m, k));
    for (size_t i = 0; i < asz; i++) a[i] = (float)urand();
    for (size_t i = 0; i < bsz; i++) b[i] = (float)urand();
    const float betas[3] = { 0.0f, 1.0f, 0.5f };
    int ok_eq = 1, ok_ref = 1, ok_ws = 1;
    for (int t = 0; t < 4; t++) {
        bool ta = t & 1, tb = t & 2;
        int lda = ta ? lda_t : lda_n, ldb = tb ? ldb_t : ldb_n;
        float beta = betas[t % 3];
        for (int i = 0; i < m * ldc; i++) c1[i] = c2[i] = 0.25f * (float)(i % 7) - 0.5f;
        if (sgemm_has_avx512()) sgemm_f32_avx512(ta, tb, m, n, k, a, lda, b, ldb, beta, c1, ldc);
        else sgemm_f32(ta, tb, m, n, k, a, lda, b, ldb, beta, c1, ldc);
        sgemm_f32_avx2(ta, tb, m, n, k, a, lda, b, ldb, beta, c2, ldc);
        if (memcmp(c1, c2, sizeof(float) * m * ldc) != 0) ok_eq = 0;
        /* n > 384: with scratch, all of A packed once (ic blocks of 112 side by side) */
        for (int i = 0; i < m * ldc; i++) c3[i] = 0.25f * (float)(i % 7) - 0.5f;
        sgemm_f32_ws(ta, tb, m, n, k, a, lda, b, ldb, beta, c3, ldc, ws);
        if (memcmp(c1, c3, sizeof(float) * m * ldc) != 0) ok_ws = 0;
        for (int i = 0; i < m; i += 13)   /* a sample of rows against float64 */
            for (int j = 0; j < ldc; j++) {
                double s = 0.25 * ((i * ldc + j) % 7) - 0.5;
                if (j < n) {
                    s *= beta;
                    for (int p = 0; p < k; p++)
                        s += (double)(ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p]) *
                             (tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j]);
                }
                if (fabs(c1[i * ldc + j] - s) > 1e-4 * (1 + fabs(s))) ok_ref = 0;
            }
    }
    CHECK(ok_eq, "sgemm n %d: the %s kernel and the AVX2 one differ", n, sgemm_isa());
    CHECK(ok_ref, "sgemm n %d: %s kernel off the float64 product (or wrote outside C's n columns)", n, sgemm_isa());
    CHECK(ok_ws, "sgemm n %d: with an A-panel scratch the %s kernel differs", n, sgemm_isa());
    free(a); free(b); free(c1); free(c2); free(c3); free(ws);
}

/* The vectorised element-wise loops (kernels/cpu/tvec): a value's result
 * does not depend on its place in the call or on the pool's split (tails go
 * through the same code), AdamW gives the scalar loop's bits, the sum of
 * squares its documented order. */
static void test_elementwise(pool *pl) {
    enum { EN = 37 };
    float g[EN], u[EN], dh[EN], h[EN], dg[EN], du[EN], one, d1, d2;
    for (int i = 0; i < EN; i++) g[i] = (float)(4 * urand()), u[i] = (float)urand(), dh[i] = (float)urand();
    tvec_swiglu_fwd(EN, h, g, u);
    tvec_swiglu_bwd(EN, dg, du, dh, g, u);
    int same = 1;
    double e = 0;
    for (int i = 0; i < EN; i++) {
        tvec_swiglu_fwd(1, &one, g + i, u + i);
        tvec_swiglu_bwd(1, &d1, &d2, dh + i, g + i, u + i);
        if (memcmp(&one, h + i, 4) || memcmp(&d1, dg + i, 4) || memcmp(&d2, du + i, 4)) same = 0;
        double s = 1 / (1 + exp(-(double)g[i]));
        e = fmax(e, fabs(h[i] - g[i] * s * u[i]) / (1e-3 + fabs(g[i] * s * u[i])));
    }
    CHECK(same, "swiglu: a value alone differs from the same value inside a call");
    CHECK(e < 1e-6, "swiglu forward off float64: %g", e);
    /* AdamW: pool vs one thread, and both vs the scalar loop written out */
    adamw_cfg cfg = { 0.9f, 0.95f, 1e-8f, 0.1f };
    uint8_t dec[EN];
    for (int i = 0; i < EN; i++) dec[i] = i % 3 != 0;
    adamw o1, o2;
    float p1[EN], p2[EN], p3[EN], m3[EN] = { 0 }, v3[EN] = { 0 };
    for (int i = 0; i < EN; i++) p1[i] = p2[i] = p3[i] = (float)urand();
    CHECK(adamw_init(&o1, &cfg, EN, dec) == 0 && adamw_init(&o2, &cfg, EN, dec) == 0, "adamw init");
    for (int step = 1; step <= 3; step++) {
        for (int i = 0; i < EN; i++) dh[i] = (float)urand();
        adamw_step(&o1, NULL, p1, dh, 1e-2f);
        adamw_step(&o2, pl, p2, dh, 1e-2f);
        float bc1 = (float)(1.0 - pow(0.9f, step)), bc2 = (float)sqrt(1.0 - pow(0.95f, step));
        float decay = 1.0f - 1e-2f * 0.1f, st = 1e-2f / bc1;
        for (int i = 0; i < EN; i++) {
            if (dec[i]) p3[i] *= decay;
            m3[i] = 0.9f * m3[i] + (1.0f - 0.9f) * dh[i];
            v3[i] = 0.95f * v3[i] + (1.0f - 0.95f) * dh[i] * dh[i];
            p3[i] -= st * m3[i] / (sqrtf(v3[i]) / bc2 + 1e-8f);
        }
    }
    CHECK(memcmp(p1, p2, sizeof p1) == 0 && memcmp(o1.m, o2.m, sizeof m3) == 0 && memcmp(o1.v, o2.v, sizeof v3) == 0,
          "adamw: the pool's split changes the result");
    CHECK(memcmp(p1, p3, sizeof p1) == 0 && memcmp(o1.m, m3, sizeof m3) == 0 && memcmp(o1.v, v3, sizeof v3) == 0,
          "adamw: not the scalar loop's bits");
    adamw_fini(&o1);
    adamw_fini(&o2);
    /* sum of squares: 16 partial sums, lane l of accumulator q = element 16 i + 4 q + l */
    enum { QN = 1000 + 5 };
    float *x = malloc(sizeof(float) * QN);
    for (int i = 0; i < QN; i++) x[i] = (float)urand();
    double acc[16] = { 0 }, t[4];
    int i = 0;
    for (; i + 16 <= QN; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += (double)x[i + j] * x[i + j];
    for (int l = 0; l < 4; l++) t[l] = (acc[l] + acc[4 + l]) + (acc[8 + l] + acc[12 + l]);
    double want = (t[0] + t[1]) + (t[2] + t[3]);
    for (; i < QN; i++) want += (double)x[i] * x[i];
    double got = tvec_sumsq(QN, x);
    CHECK(memcmp(&got, &want, sizeof got) == 0, "sumsq: %.17g, the documented order gives %.17g", got, want);
    free(x);
}

static void test_schedule(void) {
    CHECK(fabsf(adamw_lr(0, 10, 100, 1.0f, 0.1f) - 0.1f) < 1e-6, "warmup starts at lr/warmup");
    CHECK(fabsf(adamw_lr(9, 10, 100, 1.0f, 0.1f) - 1.0f) < 1e-6, "warmup ends at lr");
    CHECK(fabsf(adamw_lr(99, 10, 100, 1.0f, 0.1f) - 0.1f) < 1e-6, "cosine ends at the floor");
    float mid = adamw_lr(10 + 45, 10, 100, 1.0f, 0.0f);
    CHECK(fabsf(mid - 0.5f) < 0.02f, "cosine halfway: %g", mid);
    float g[4] = { 3, 4, 0, 0 };
    double nrm = adamw_clip(g, 4, 1.0);
    CHECK(fabs(nrm - 5) < 1e-9 && fabsf(g[0] - 0.6f) < 1e-5f && fabsf(g[1] - 0.8f) < 1e-5f, "clip to norm 1");
}

/* OpenBLAS's pthreads build starts its workers at load and they spin for
 * ~0.1 s (a second core busy during a short -t 1 run): tgemm_blas_serial
 * stops them, and a later tgemm_set_impl(TGEMM_BLAS) and product must not
 * start them again (openblas_set_num_threads would). Counts this process's
 * threads in /proc (none of its own started yet). */
extern int openblas_get_num_threads(void);
extern int blas_thread_shutdown_(void) __attribute__((weak));
static int n_tasks(void) {
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}
static void test_blas_serial(void) {
    int t0 = n_tasks(), nb = openblas_get_num_threads();
    tgemm_blas_serial();
    int t1 = n_tasks();
    if (t0 > 0 && blas_thread_shutdown_)
        CHECK(t1 == t0 - (nb - 1), "OpenBLAS's %d threads: %d tasks before, %d after", nb, t0, t1);
    CHECK(openblas_get_num_threads() == 1, "OpenBLAS single-threaded");
    tgemm_set_impl(TGEMM_BLAS);
    float a[4 * 300], c[16];
    for (int i = 0; i < 4 * 300; i++) a[i] = (float)urand();
    tgemm_nt(NULL, 4, 4, 300, a, a, 0.0f, c);
    tgemm_blas_serial();
    CHECK(n_tasks() == t1, "OpenBLAS threads started again: %d tasks, were %d", n_tasks(), t1);
    tgemm_set_impl(TGEMM_AUTO);
}

int main(void) {
    test_blas_serial();
    pool *pl = pool_create(3);   /* attention's scratch is sized for 4 threads */
    test_rmsnorm();
    test_rope();
    test_swiglu();
    test_attention(NULL);
    test_attention(pl);
    test_attention_long(NULL);
    test_attention_long(pl);
    test_xent();
    test_embed();
    test_gemm(pl, TGEMM_OWN);
    test_gemm(pl, TGEMM_BLAS);
    test_sgemm_kernels(437);
    test_sgemm_kernels(400);
    test_sgemm_kernels(392);
    test_elementwise(pl);
    test_schedule();
    pool_destroy(pl);
    return check_done();
}
