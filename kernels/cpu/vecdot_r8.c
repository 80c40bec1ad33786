/* vecdot_r8: the row-interleaved ("repacked by eight") weights and their
 * products with one or more activations: which repacked kernel this CPU runs
 * (AVX2, AVX-VNNI, AVX512-VNNI, AMX; vd_r8_path), the repacking itself
 * (vd_repack: eight rows' blocks interleaved, layouts in vecdot.h), the
 * per-block activation terms (vd_r8_prep), the AMX padded sixteen
 * (vd_r8_pad), and the drivers vd_matmul_r8 / _r8p / _r8p_pad that cut the
 * activations into the kernels' chunks. Split from vecdot.c (which keeps
 * activation rounding, the portable kernels and the plain and eight-wide
 * drivers) when the repacked drivers took it past 800 lines: one concept, the
 * repacked layout, per file. Built without ISA flags: the kernels it calls
 * live in vecdot_r8_*.c. Every path gives the same bits per activation
 * whatever the chunking (vecdot.h, "Summation order").
 */
#include "vecdot.h"
#include "qtypes.h"
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---- one activation, rows repacked by eight -------------------------------- */

#define R8_MAX_BLOCKS 2048      /* per-block activation terms live on the stack (cols <= 65536) */

/* The repacked kernel for wtype and how many activations it takes a call
 * (*nx): the VNNI one (vd_r8_path: AVX512-VNNI, else AVX-VNNI) where this CPU has it, else AVX2's. *mult: the
 * kernel's off term per unit of a block's code sum (vd_r8_fn): AVX2 takes
 * 8 * sum and subtracts it; VNNI starts its chain at -8 * sum (Q4_0) or
 * -128 * sum (Q8_0, whose codes it offsets by 128). */
static vd_r8_fn r8_kernel(int wtype, int *nx, int *mult) {
    int path = vd_r8_path(vd_isa(), vd_cpu_features());
    vd_r8_fn a = path == VD_R8_AMX ? vd_r8_amx(wtype) : NULL;   /* Q4_K, Q4_0, Q8_0; the others take AVX512-VNNI's */
    vd_r8_fn f = a ? a : path >= VD_R8_AVX512VNNI ? vd_r8_vnni(wtype) : path == VD_R8_AVXVNNI ? vd_r8_avxvnni(wtype) : NULL;
    if (nx) *nx = a ? VD_R8_AMX_NX : f ? VD_R8V_NX : VD_R8_NX;
    if (mult) *mult = wtype == QT_Q5_0 ? -16 : !f ? 8 : wtype == QT_Q8_0 ? -128 : -8;   /* AVX2's Q5_0 starts at -16 * sum too */
    return f ? f : vd_isa() >= VD_AVX2 ? vd_r8_avx2(wtype) : NULL;
}

int vd_r8_width(int wtype) {
    int nx;
    return r8_kernel(wtype, &nx, NULL) ? nx : 0;
}

size_t vd_repack_size(int wtype, int64_t rows, int64_t cols) {
    if (!r8_kernel(wtype, NULL, NULL) || rows < 8 || cols % 32 || cols / 32 > R8_MAX_BLOCKS) return 0;
    if (wtype == QT_Q4_K || wtype == QT_Q5_K || wtype == QT_Q6_K)
        return cols % 256 ? 0 : (size_t)(rows / 8) * (size_t)(cols / 256) *
                                    (wtype == QT_Q4_K ? sizeof(vd_block_q4_Kx8) : wtype == QT_Q5_K ? sizeof(vd_block_q5_Kx8)
                                                                                                   : sizeof(vd_block_q6_Kx8));
    size_t blk = wtype == QT_Q8_0 ? sizeof(vd_block_q8_0x8) : wtype == QT_Q5_0 ? sizeof(vd_block_q5_0x8) : sizeof(vd_block_q4_0x8);
    return (size_t)(rows / 8) * (size_t)(cols / 32) * blk;
}

/* One Q4_K-layout super-block of row r (vecdot.h, vd_block_q4_Kx8). */
static void repack_k4_row(vd_block_q4_Kx8 *o, int r, uint16_t d, uint16_t dmin, const uint8_t *s12, const uint8_t *qs) {
    uint8_t sc[8], mn[8];
    qt_unpack_scales_k4(s12, sc, mn);
    o->d[r] = d;
    o->dmin[r] = dmin;
    for (int j = 0; j < 8; j++) o->sc[j][r] = sc[j];
    for (int p = 0; p < 4; p++) { o->mn[p][2 * r] = mn[2 * p]; o->mn[p][2 * r + 1] = mn[2 * p + 1]; }
    for (int c = 0; c < 4; c++)
        for (int k = 0; k < 8; k++) memcpy(o->qs + 256 * c + 32 * k + 4 * r, qs + 32 * c + 4 * k, 4);
}

static void repack_q4_K(const void *w, int64_t rows, int64_t cols, void *out) {
    int64_t nb = cols / 256;
    size_t wrs = qt_row_size(QT_Q4_K, cols);
    vd_block_q4_Kx8 *o = out;
    for (int64_t g = 0; g < rows / 8; g++)
        for (int64_t b = 0; b < nb; b++, o++)
            for (int r = 0; r < 8; r++) {
                const qt_block_q4_K *src = (const qt_block_q4_K *)((const char *)w + (size_t)(8 * g + r) * wrs) + b;
                repack_k4_row(o, r, src->d, src->dmin, src->scales, src->qs);
            }
}

static void repack_q5_K(const void *w, int64_t rows, int64_t cols, void *out) {
    int64_t nb = cols / 256;
    size_t wrs = qt_row_size(QT_Q5_K, cols);
    vd_block_q5_Kx8 *o = out;
    for (int64_t g = 0; g < rows / 8; g++)
        for (int64_t b = 0; b < nb; b++, o++)
            for (int r = 0; r < 8; r++) {
                const qt_block_q5_K *src = (const qt_block_q5_K *)((const char *)w + (size_t)(8 * g + r) * wrs) + b;
                repack_k4_row(&o->k4, r, src->d, src->dmin, src->scales, src->qs);
                for (int k = 0; k < 8; k++) memcpy(o->qh + 32 * k + 4 * r, src->qh + 4 * k, 4);
            }
}

/* Q6_K: the same bytes, eight rows interleaved by four bytes (vecdot.h). */
static void repack_q6_K(const void *w, int64_t rows, int64_t cols, void *out) {
    int64_t nb = cols / 256;
    size_t wrs = qt_row_size(QT_Q6_K, cols);
    vd_block_q6_Kx8 *o = out;
    for (int64_t g = 0; g < rows / 8; g++)
        for (int64_t b = 0; b < nb; b++, o++)
            for (int r = 0; r < 8; r++) {
                const qt_block_q6_K *src = (const qt_block_q6_K *)((const char *)w + (size_t)(8 * g + r) * wrs) + b;
                o->d[r] = src->d;
                for (int k = 0; k < 16; k++) o->sc[k][r] = src->scales[k];
                for (int k = 0; k < 32; k++) memcpy(o->ql + 32 * k + 4 * r, src->ql + 4 * k, 4);
                for (int k = 0; k < 16; k++) memcpy(o->qh + 32 * k + 4 * r, src->qh + 4 * k, 4);
            }
}

/* Q5_0: the nibbles as Q4_0's; the fifth bits regrouped by byte (vecdot.h). */
static void repack_q5_0(const void *w, int64_t rows, int64_t cols, void *out) {
    int64_t nb = cols / 32;
    size_t wrs = qt_row_size(QT_Q5_0, cols);
    vd_block_q5_0x8 *o = out;
    for (int64_t g = 0; g < rows / 8; g++)
        for (int64_t b = 0; b < nb; b++, o++)
            for (int r = 0; r < 8; r++) {
                const qt_block_q5_0 *src = (const qt_block_q5_0 *)((const char *)w + (size_t)(8 * g + r) * wrs) + b;
                uint32_t qh;
                memcpy(&qh, src->qh, 4);
                o->d[r] = src->d;
                for (int i = 0; i < 4; i++) {
                    uint8_t h = 0;
                    for (int k = 0; k < 4; k++)
                        h |= (uint8_t)(((qh >> (4 * k + i)) & 1) << k | ((qh >> (16 + 4 * k + i)) & 1) << (4 + k));
                    o->hq[4 * r + i] = h;
                }
                for (int k = 0; k < 4; k++) memcpy(o->qs + 32 * k + 4 * r, src->qs + 4 * k, 4);
            }
}

void vd_repack(int wtype, const void *w, int64_t rows, int64_t cols, void *out) {
    if (wtype == QT_Q4_K) { repack_q4_K(w, rows, cols, out); return; }
    if (wtype == QT_Q5_K) { repack_q5_K(w, rows, cols, out); return; }
    if (wtype == QT_Q6_K) { repack_q6_K(w, rows, cols, out); return; }
    if (wtype == QT_Q5_0) { repack_q5_0(w, rows, cols, out); return; }
    assert((wtype == QT_Q4_0 || wtype == QT_Q8_0) && cols % 32 == 0 && "vd_repack: Q4_0/Q8_0/Q5_0/Q4_K/Q6_K whole blocks only");
    int64_t nb = cols / 32;
    size_t wrs = qt_row_size(wtype, cols);
    bool q8 = wtype == QT_Q8_0;
    char *o = out;
    for (int64_t g = 0; g < rows / 8; g++)
        for (int64_t b = 0; b < nb; b++) {
            for (int r = 0; r < 8; r++) {
                const char *row = (const char *)w + (size_t)(8 * g + r) * wrs;
                if (q8) {
                    const qt_block_q8_0 *src = (const qt_block_q8_0 *)row + b;
                    vd_block_q8_0x8 *d = (vd_block_q8_0x8 *)o;
                    d->d[r] = src->d;
                    for (int k = 0; k < 8; k++) memcpy(d->qs + 32 * k + 4 * r, src->qs + 4 * k, 4);
                } else {
                    const qt_block_q4_0 *src = (const qt_block_q4_0 *)row + b;
                    vd_block_q4_0x8 *d = (vd_block_q4_0x8 *)o;
                    d->d[r] = src->d;
                    for (int k = 0; k < 4; k++) memcpy(d->qs + 32 * k + 4 * r, src->qs + 4 * k, 4);
                }
            }
            o += q8 ? sizeof(vd_block_q8_0x8) : sizeof(vd_block_q4_0x8);
        }
}

static bool r8_kquant(int wtype) { return wtype == QT_Q4_K || wtype == QT_Q5_K || wtype == QT_Q6_K; }

/* K-quant kernels read their Q8_K rows' own sums: no terms. */
int64_t vd_r8_prep_blocks(int wtype, int64_t cols) {
    return r8_kernel(wtype, NULL, NULL) && !r8_kquant(wtype) ? cols / 32 : 0;
}

void vd_r8_prep(int wtype, const void *xq, int64_t cols, int j0, int j1, int32_t *off, float *dx) {
    int mult;
    r8_kernel(wtype, NULL, &mult);
    int64_t nb = vd_r8_prep_blocks(wtype, cols);
    size_t xrs = vd_act_row_size(wtype, cols);
    for (int j = j0; j < j1; j++) {
        const qt_block_q8_0 *x = (const qt_block_q8_0 *)((const char *)xq + (size_t)j * xrs);
        for (int64_t b = 0; b < nb; b++) {
            int32_t s = 0;
            for (int i = 0; i < 32; i++) s += x[b].qs[i];
            off[j * nb + b] = mult * s;
            dx[j * nb + b] = qt_f16_to_f32(x[b].d);
        }
    }
}

/* Whether nact activations' rest runs as an r-row AMX pass read in place
 * (vd_r8_amx_rows: with whole sixteens, a rest of 1 to VD_R8_AMX_ROWS_MAX),
 * and its kernel. */
static vd_r8t_fn r8_rows_kernel(int wtype, int nact, int *rest) {
    int knx;
    r8_kernel(wtype, &knx, NULL);
    if (knx != VD_R8_AMX_NX || nact < knx) return NULL;
    *rest = nact % knx;
    return *rest >= 1 && *rest <= VD_R8_AMX_ROWS_MAX ? vd_r8_amx_rows(wtype) : NULL;
}

/* Whether nact activations end in a zero-padded AMX sixteen on this CPU
 * (vd_matmul_r8p_pad's comment has the rule), and its tail kernel. */
static vd_r8t_fn r8_pad_kernel(int wtype, int nact, int *rest) {
    int knx;
    r8_kernel(wtype, &knx, NULL);
    if (knx != VD_R8_AMX_NX) return NULL;
    *rest = nact % knx;
    if (r8_rows_kernel(wtype, nact, rest)) return NULL;
    if (wtype == QT_Q4_K) return nact >= knx && *rest >= VD_R8_AMX_PAD_K ? vd_r8_amx_tail(wtype) : NULL;
    int least = nact >= knx ? VD_R8_AMX_PAD : wtype == QT_Q4_0 ? VD_R8_AMX_PAD_ALONE_Q4 : VD_R8_AMX_PAD_ALONE;
    return *rest >= least ? vd_r8_amx_tail(wtype) : NULL;
}

/* The padded sixteen: sixteen activation rows (64-byte aligned), then
 * sixteen rows of off terms and sixteen of dx, the rest's first. */
static size_t pad_xbytes(int wtype, int64_t cols) {
    return ((size_t)VD_R8_AMX_NX * vd_act_row_size(wtype, cols) + 63) & ~(size_t)63;
}

size_t vd_r8_pad_size(int wtype, int64_t cols, int nact) {
    int rest;
    if (!r8_kernel(wtype, NULL, NULL) || !r8_pad_kernel(wtype, nact, &rest)) return 0;
    return pad_xbytes(wtype, cols) +
           (size_t)VD_R8_AMX_NX * (size_t)vd_r8_prep_blocks(wtype, cols) * (sizeof(int32_t) + sizeof(float));
}

void vd_r8_pad(int wtype, const void *xq, int64_t cols, int nact, const int32_t *off, const float *dx, void *pad) {
    int rest;
    if (!r8_pad_kernel(wtype, nact, &rest)) return;
    size_t xrs = vd_act_row_size(wtype, cols), nb = (size_t)vd_r8_prep_blocks(wtype, cols), j0 = (size_t)(nact - rest);
    char *xt = pad;
    int32_t *offt = (int32_t *)(xt + pad_xbytes(wtype, cols));
    float *dxt = (float *)(offt + VD_R8_AMX_NX * nb);
    memset(pad, 0, vd_r8_pad_size(wtype, cols, nact));
    memcpy(xt, (const char *)xq + j0 * xrs, (size_t)rest * xrs);
    if (nb) {   /* K-quants: none (their Q8_K rows hold their own sums) */
        memcpy(offt, off + j0 * nb, (size_t)rest * nb * sizeof *offt);
        memcpy(dxt, dx + j0 * nb, (size_t)rest * nb * sizeof *dxt);
    }
}

/* Activations [j0, j0 + n) in even chunks of at most rnx, groups [g0, g1). */
static void r8_rest(vd_r8_fn k, const void *wr, int64_t cols, int64_t g0, int64_t g1, const void *xq, size_t xrs,
                    int j0, int n, int rnx, const int32_t *off, const float *dx, int64_t nb, float *y, int64_t ldy) {
    int nch = (n + rnx - 1) / rnx;
    for (int c = 0; c < nch; c++) {
        int nx = n / nch + (c < n % nch);
        k(wr, cols, g0, g1, (const char *)xq + (size_t)j0 * xrs, xrs, nx, off ? off + (size_t)j0 * nb : NULL,
          dx ? dx + (size_t)j0 * nb : NULL, y + (int64_t)j0 * ldy, ldy);
        j0 += nx;
    }
}

void vd_matmul_r8p(int wtype, const void *wr, int64_t cols, int64_t r0, int64_t r1, const void *xq,
                   int nact, const int32_t *off, const float *dx, float *y, int64_t ldy) {
    vd_matmul_r8p_pad(wtype, wr, cols, r0, r1, xq, nact, off, dx, NULL, y, ldy);
}

void vd_matmul_r8p_pad(int wtype, const void *wr, int64_t cols, int64_t r0, int64_t r1, const void *xq,
                       int nact, const int32_t *off, const float *dx, const void *pad, float *y, int64_t ldy) {
    int knx;
    vd_r8_fn k = r8_kernel(wtype, &knx, NULL);
    assert(k && r0 % 8 == 0 && r1 % 8 == 0 && nact >= 0 && cols / 32 <= R8_MAX_BLOCKS &&
           (r8_kquant(wtype) || (off && dx)) && "vd_matmul_r8p: bad call");
    int64_t nb = cols / 32;
    size_t xrs = vd_act_row_size(wtype, cols);
    /* The activations in chunks of at most knx, as even as their number
     * allows (9 as 5 + 4, not 8 + 1): a chunk of one takes the one-activation
     * form, which costs about twice as much per activation as the wide ones
     * (256-bit vectors, made for batch 1, where the weights come from
     * memory), and made the ninth sequence of a step cost as much as a whole
     * step of one: stories15m Q4_0 at one thread, CPU time, 8 sequences
     * 0.94 ms, 9 sequences 1.25 ms. The chunking changes no number: each
     * activation's sums are the kernel's whatever the chunk (vecdot.h). */
    /* The AMX kernels (knx 16) take every whole sixteen in one call (they
     * unpack a block once for all of them). A rest of VD_R8_AMX_PAD (6) to
     * fifteen (VD_R8_AMX_PAD_ALONE(_Q4) when there is none) rides along as one
     * zero-padded sixteen (vd_r8_amx_tail): a rest of nine or more would
     * take two VNNI chunks, two more passes over each block, and one more
     * sixteen costs less once the unpacking is shared. A smaller rest goes to
     * the VNNI kernel in even chunks of at most eight, as a call of that many
     * would (21 = 16 + 5, 20 = 16 + 4). Kernel-only cross-over, one core,
     * the matrices of a stories15m step, CPU time, the two forms alternating
     * (notes w22a): session 12, min of 40 rounds, Q4_0 25 as 16 + 9 2.10 ms
     * padded vs 2.41 VNNI, 31 2.52 vs 3.03, 15 alone 1.14 vs 1.43, alone
     * 9-11 about even, 12 1.09 vs 1.21; Q8_0 likewise (25 2.34 vs 2.45, 9
     * alone 1.25 vs 1.11); session 13, the rows in the backend's chunks, min
     * of 100 rounds: rest 8 padded / VNNI 0.90-0.97 (24, 40, 56; both
     * types), rest 7 1.0-1.1, rest 4-6 1.0-1.24; session 15, since the
     * padded sixteen's float work covers only its real rows, engine steps
     * (20-24 paired rounds) rest 6-7 0.90-0.99 padded / VNNI, 5 0.93-1.06
     * (vecdot.h). Q4_K (one tinyllama layer,
     * 20 rounds): rest 13-15 0.89-0.94 (29-31, 45, 47), 9-12 about even
     * (0.94-1.06), alone 12-15 1.03-1.14: from 13, with whole sixteens
     * only. Which form a row takes changes no bit (vecdot_r8_amx.c). The padded sixteen comes
     * built (pad, vd_r8_pad: once a product, whose row chunks are separate
     * calls) or is built here. The tile configuration is loaded once here
     * for all the calls.
     * Where a VNNI rest runs (VD_R8_AMX_AFTER, VD_R8_AMX_REST_BYTES): kernel
     * only, session 14, the matrices of a stories15m step in the backend's
     * T1 row chunks, CPU time, medians of 31-41 alternating rounds, against
     * the same N as two products (16k, then r): the rest right after each
     * step's AMX call 22 = 16 + 6 1.09-1.16, 23 1.06-1.15, 38 1.03-1.09,
     * 54 1.20-1.33 (output product); after the AMX calls over the whole
     * row chunk 1.0-1.06; over 256 KiB of weights at a time 0.94, 0.98,
     * 0.95, 0.90 (Q8_0 0.96, 0.98, 0.94, 0.88), the layers' products
     * 0.92-0.99 (were 1.02-1.08). One tinyllama layer and its output
     * product (5 rounds, against the interleaved rest): the whole chunk
     * Q8_0 1.08-1.19, Q4_0 0.99-1.01, Q4_K 0.98-1.03; 256 KiB Q8_0
     * 0.96-1.01, Q4_0 0.97-0.99, Q4_K 0.97-0.99. A rest of 1-2 measured
     * 0.93-0.96 interleaved vs 0.96-1.0 after (17, 18, 33, 34), 3-4 even.
     * Since session 15 a Q4_0 / Q8_0 rest of 1 to VD_R8_AMX_ROWS_MAX (8)
     * with whole sixteens takes neither: it rides in the AMX call as an
     * r-row pass (vd_r8_amx_rows: tiles 6 and 7 configured with r rows,
     * vd_r8_amx_begin_rows, once here for all the calls; the rest's rows
     * read in place, nothing padded), so it shares the call's unpacked
     * blocks and costs about r/16 of a sixteen's tile and float work.
     * Engine steps, stories15m T1, CPU time, 8 rounds with the binaries
     * alternating, medians of paired per-round ratios against the
     * VNNI rest (1-5) / padded sixteen (6-15) of VD_R8_AMX_PAD 6: Q4_0
     * rests 1-8 at 17-24 0.87-0.94, 33-37 0.89-0.95, 49-52 0.92-0.93;
     * Q8_0 22-24 0.93-0.95, 33-40 0.89-0.96, 49-56 0.89-0.93 (17-18
     * 1.02-1.03); rests 9-15 0.96-1.05 (Q4_0 41-47 1.0-1.05), so from 9
     * the padded sixteen stays (its two tile sets alternate; the r-row
     * pass has one, tiles 6 and 7 being all that is left).
     * ORDER: each activation's sums are the kernel's whatever rows a call
     * takes (vecdot.h): the same bits in either place (test_invariance_kernels'
     * amx_mix_case, test_quant's repack shapes of 19-24 and 40 activations: the
     * r-row pass for every rest of 1-8 there). */
    bool amx = knx == VD_R8_AMX_NX;
    int rest = amx ? nact % knx : nact, full = amx && nact >= knx ? 1 : 0, rnx = amx ? VD_R8V_NX : knx;
    vd_r8t_fn kt = r8_pad_kernel(wtype, nact, &rest);
    vd_r8t_fn kr = amx ? r8_rows_kernel(wtype, nact, &rest) : NULL;
    /* built here: on the stack up to 64 blocks a row */
    enum { PAD_STACK = 64 };
    _Alignas(64) char pad_s[VD_R8_AMX_NX * PAD_STACK * (sizeof(qt_block_q8_0) + sizeof(int32_t) + sizeof(float)) + 64];
    char *own = NULL;
    if (kt && !pad) {
        size_t ps = vd_r8_pad_size(wtype, cols, nact);
        own = ps <= sizeof pad_s ? pad_s : malloc(ps);
        if (own) vd_r8_pad(wtype, xq, cols, nact, off, dx, own);
        else kt = NULL;   /* no memory: the VNNI rest, same bits */
        pad = own;
    }
    const char *xt = pad;
    const int32_t *offt = kt && off ? (const int32_t *)(xt + pad_xbytes(wtype, cols)) : NULL;
    const float *dxt = kt && off ? (const float *)(offt + VD_R8_AMX_NX * nb) : NULL;
    if (kr) {   /* the rest read in place by an r-row pass */
        kt = kr;
        xt = (const char *)xq + (size_t)(nact - rest) * xrs;
        offt = off ? off + (size_t)(nact - rest) * nb : NULL;
        dxt = dx ? dx + (size_t)(nact - rest) * nb : NULL;
        vd_r8_amx_begin_rows(rest);
    } else if (amx) vd_r8_amx_begin();
    /* a few groups at a time against every chunk of activations, so the
     * later chunks find the groups' blocks in cache, not in DRAM */
    enum { GSTEP = 8 };
    /* With whole sixteens, a VNNI rest of VD_R8_AMX_AFTER or more
     * activations does not run right after each step's AMX call over the
     * same rows (as the smaller rest and the VNNI chunks alone do) but after
     * the AMX calls over about VD_R8_AMX_REST_BYTES of weights (see there). */
    int nf = full ? nact - rest : 0;
    bool after = full && !kt && rest >= VD_R8_AMX_AFTER;
    int64_t rstep = after ? (int64_t)(VD_R8_AMX_REST_BYTES / vd_repack_size(wtype, 8, cols)) : 0, rs0 = r0 / 8;
    for (int64_t g = r0 / 8; g < r1 / 8; g += GSTEP) {
        int64_t g1 = g + GSTEP < r1 / 8 ? g + GSTEP : r1 / 8;
        if (kt) {   /* the rest rides along */
            kt(wr, cols, g, g1, xq, xrs, nf, off, dx, xt, offt, dxt, rest, y, ldy);
            continue;
        }
        if (nf) k(wr, cols, g, g1, xq, xrs, nf, off, dx, y, ldy);
        if (!after) r8_rest(k, wr, cols, g, g1, xq, xrs, nf, rest, rnx, off, dx, nb, y, ldy);
        else if (g1 - rs0 >= rstep || g1 == r1 / 8) {
            r8_rest(k, wr, cols, rs0, g1, xq, xrs, nf, rest, rnx, off, dx, nb, y, ldy);
            rs0 = g1;
        }
    }
    if (amx) vd_r8_amx_end();
    if (own != pad_s) free(own);
}

void vd_matmul_r8(int wtype, const void *wr, int64_t cols, int64_t r0, int64_t r1, const void *xq,
                  int nact, float *y, int64_t ldy) {
    assert(r8_kernel(wtype, NULL, NULL) && cols / 32 <= R8_MAX_BLOCKS && nact >= 0 && "vd_matmul_r8: bad call");
    int64_t nb = vd_r8_prep_blocks(wtype, cols);
    size_t xrs = vd_act_row_size(wtype, cols);
    enum { NSTACK = 8 };
    int32_t off_s[NSTACK * R8_MAX_BLOCKS];     /* 128 KiB of stack together */
    float dx_s[NSTACK * R8_MAX_BLOCKS];
    int32_t *off = nb ? off_s : NULL;
    float *dx = nb ? dx_s : NULL;
    if (nact > NSTACK && nb) {
        off = malloc((size_t)nact * (size_t)nb * sizeof *off);
        dx = malloc((size_t)nact * (size_t)nb * sizeof *dx);
        if (!off || !dx) {   /* no memory: eight activations at a time, same results */
            free(off); free(dx);
            for (int j0 = 0; j0 < nact; j0 += NSTACK)
                vd_matmul_r8(wtype, wr, cols, r0, r1, (const char *)xq + (size_t)j0 * xrs,
                             nact - j0 < NSTACK ? nact - j0 : NSTACK, y + (int64_t)j0 * ldy, ldy);
            return;
        }
    }
    if (nb) vd_r8_prep(wtype, xq, cols, 0, nact, off, dx);
    vd_matmul_r8p(wtype, wr, cols, r0, r1, xq, nact, off, dx, y, ldy);
    if (off != off_s) { free(off); free(dx); }
}
