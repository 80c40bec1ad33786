/* vecdot: the CPU dot-product kernels behind every matrix product.
 *
 * A weight matrix is rows of one qt_type (each row `cols` elements, row r at
 * w + r * qt_row_size(type, cols)). Activations are first rounded to the
 * weight type's activation type (qt_traits.act_type) exactly as llama.cpp does,
 * so that products match it: F32 weights keep F32 activations, F16 -> fp16,
 * BF16 -> bf16, Q4_0/Q5_0/Q8_0 -> Q8_0 blocks, K-quants -> Q8_K blocks.
 *
 * vd_matmul computes, for rows r in [r0, r1) and activations j in [0, nact),
 *   y[j * ldy + r] = dot(W[r], X[j])
 * reading each weight row once for all nact activations: decoding N sequences
 * in one step costs one pass over the weights. It is single-threaded; callers
 * split rows across threads. The ISA (portable, AVX2, AVX-512) is chosen once
 * at run time by vd_init(); vd_set_isa() lets tests compare paths.
 *
 * Summation order (the batch-invariance rule, docs/architecture.md): every
 * kernel here (vd_matmul's tiles of any shape, vd_matmul8, vd_matmul_r8)
 * computes each output in the one order of its weight type, so which kernel
 * a batch size picks, and how rows are split over threads, changes no bit:
 * - block types (Q8_0, Q4_0, Q5_0): per block b in order, the exact integer
 *   sum s_b of code products, then acc = fma((float)s_b, dw_b * dx_b, acc);
 * - K-quants: per super-block in order, exact integer sums, then one FMA
 *   (Q6_K) or two (Q4_K/Q5_K: + is * d*dx, then - im * dmin*dx);
 * - float types (F32, F16, BF16): element k by FMA into lane k % 16 while 16
 *   remain, then lane k % 8; lanes folded l + (l + 8), then ((0+4)+(2+6)) +
 *   ((1+5)+(3+7)); the last n % 8 products summed in order and added last.
 * The portable kernels and AVX2 keep exactly these orders (tests compare
 * them with memcmp); AVX-512 has its own float order (vecdot_avx512.c),
 * the same on all its paths; for quantized types it uses the AVX2 tiles and,
 * with AVX512-VNNI, its own eight-wide and repacked kernels (same orders).
 * CPUs with AVX-VNNI (VEX) but no AVX512-VNNI take the same repacked kernels
 * built for VEX (vecdot_r8_avxvnni.c; vd_r8_path picks); with AMX-INT8, Q4_K,
 * Q4_0 and Q8_0 against 16 or more activations take AMX tiles
 * (vecdot_r8_amx.c, same integer sums and float order). "Kernel paths" below names the mixes.
 */
#ifndef VECDOT_H
#define VECDOT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vd_isa { VD_PORTABLE = 0, VD_AVX2 = 1, VD_AVX512 = 2 };

/* Detects the CPU and picks the best ISA; safe to call more than once. */
void vd_init(void);
/* Best ISA this CPU supports. */
int vd_isa_best(void);
/* Forces an ISA (clamped to what the CPU supports); returns the one in use. */
int vd_set_isa(int isa);
/* Sets a ceiling on the best ISA: vd_init (which every CPU backend calls)
 * and vd_set_isa stay at or below it until the next call (which may raise
 * it again, up to what the CPU has). Lets a test run the whole engine on
 * the AVX2 kernels of a CPU that has AVX-512 (vd_set_path uses it).
 * Returns the ISA now in use. */
int vd_limit_isa(int isa);
int vd_isa(void);
const char *vd_isa_name(int isa);

/* Bytes of one activation row of `cols` elements quantized for weight type
 * wtype (cols must be a multiple of the weight type's block). */
size_t vd_act_row_size(int wtype, int64_t cols);

/* Rounds one activation row x[cols] to the weight type's activation type. */
void vd_quantize_act(int wtype, const float *x, void *xq, int64_t cols);

/* See the header comment. xq holds nact rows, each vd_act_row_size() bytes.
 * Activations are taken ~256 KiB at a time (a decode batch is one pass over
 * the weights; a long prompt batch makes a pass per 256 KiB of activations,
 * e.g. per 56 Q8_K rows of 4096). */
void vd_matmul(int wtype, const void *w, int64_t cols, int64_t r0, int64_t r1,
               const void *xq, int nact, float *y, int64_t ldy);

/* ---- eight activations at once ---------------------------------------------
 * For a decode step of many sequences: activations rounded by
 * vd_quantize_act are interleaved in chunks of eight (vd_act8_pack), and
 * vd_matmul8 reads each weight block once for the eight, one accumulator lane
 * per activation (vecdot8_avx2.c says why that is cheaper than tiles). A
 * chunk is cols / 32 vd_act8_block, one per 32-element block: q[g] holds
 * elements 4g..4g+3 of activation j at bytes 4j..4j+3, d[j] its block scale
 * and off[j] = 8 * (sum of its codes), the Q4_0 offset term. Missing
 * activations of the last chunk are zeros. Results equal vd_matmul's
 * bitwise (the order above). */
typedef struct vd_act8_block {
    float d[8];
    int32_t off[8];
    int8_t q[8][32];
    uint8_t a[8][32];   /* |q|: the unsigned maddubs operand of the Q8_0 kernel (packed for Q8_0 only) */
} vd_act8_block;
#define VD_X8_MIN 5             /* fewer activations: vd_matmul's tiles are cheaper */
/* Bytes vd_act8_pack writes for nact activations of cols elements, or 0 when
 * this CPU has no eight-wide kernel for wtype or nact < VD_X8_MIN (use
 * vd_matmul then). */
size_t vd_act8_size(int wtype, int64_t cols, int nact);
/* Interleaves nact rows of xq (vd_quantize_act output) into x8. */
void vd_act8_pack(int wtype, const void *xq, int nact, int64_t cols, void *x8);
/* y[j * ldy + r] = dot(W[r], X[j]) for r in [r0, r1), j < nact, from x8.
 * wflags: VD_W_NO_MIN when vd_q8_0_no_min() said so of the whole matrix
 * (lets Q8_0 take a faster form that a -128 code would break), else 0. */
#define VD_W_NO_MIN 1u
void vd_matmul8(int wtype, const void *w, int64_t cols, int64_t r0, int64_t r1, const void *x8,
                int nact, float *y, int64_t ldy, unsigned wflags);
/* True when no code of the Q8_0 matrix (rows of cols) is -128: the codes
 * llama.cpp's quantizer and ours write are within [-127, 127], but a file
 * may hold any byte. Reads the whole matrix once. */
bool vd_q8_0_no_min(const void *w, int64_t rows, int64_t cols);

/* ---- one activation, rows repacked by eight -------------------------------
 * For decode, Q4_0, Q8_0, Q4_K, Q5_0, Q5_K and Q6_K weights may be
 * repacked eight rows at a time
 * (vd_repack; vecdot_r8_avx2.c says why): for rows 8g..8g+7 and block b a
 * vd_block_q4_0x8 holds the eight fp16 scales and, at qs[32k + 4r + i], code
 * byte 4k + i of row r. Groups follow each other, cols / 32 blocks each, in
 * the original's bytes (144 per block of eight rows). Rows past the last
 * full group are not repacked: vd_matmul on the original covers them. */
typedef struct vd_block_q4_0x8 {
    uint16_t d[8];
    uint8_t qs[128];
} vd_block_q4_0x8;
/* Q8_0 the same way: qs[32k + 4r + i] = code 4k + i of row r (272 bytes). */
typedef struct vd_block_q8_0x8 {
    uint16_t d[8];
    int8_t qs[256];
} vd_block_q8_0x8;
/* Q5_0 the same way (176 bytes per block of eight rows, the original's):
 * the scales, the nibbles as Q4_0's, and the fifth bits regrouped so that a
 * byte serves one lane: hq[4r + i] holds bit 4k + i of row r's qh at bit k
 * and bit 16 + 4k + i at bit 4 + k (k < 4). */
typedef struct vd_block_q5_0x8 {
    uint16_t d[8];
    uint8_t hq[32];
    uint8_t qs[128];
} vd_block_q5_0x8;
/* Q4_K the same way (1184 bytes per super-block of eight rows): d and dmin
 * of the eight rows; sc[j][r] and the mins, unpacked from the 6-bit field,
 * mn[p][2r + i] = min of sub-block 2p + i of row r; qs[256c + 32k + 4r + i]
 * = code byte 32c + 4k + i of row r (chunk c: low nibbles sub-block 2c,
 * high nibbles 2c + 1, as in the original block). */
typedef struct vd_block_q4_Kx8 {
    uint16_t d[8], dmin[8];
    uint8_t sc[8][8];
    uint8_t mn[4][16];
    uint8_t qs[1024];
} vd_block_q4_Kx8;
/* Q5_K: Q4_K's copy followed by the fifth bits, qh[32k + 4r + i] = qh byte
 * 4k + i of row r (1440 bytes per super-block of eight rows). */
typedef struct vd_block_q5_Kx8 {
    vd_block_q4_Kx8 k4;
    uint8_t qh[256];
} vd_block_q5_Kx8;
/* Q6_K the same way (1680 bytes per super-block of eight rows, the
 * original's): d and the sixteen int8 scales of the eight rows (sc[k][r]);
 * ql[32k + 4r + i] = ql byte 4k + i of row r (k < 32), qh[32k + 4r + i] =
 * qh byte 4k + i of row r (k < 16). */
typedef struct vd_block_q6_Kx8 {
    uint16_t d[8];
    int8_t sc[16][8];
    uint8_t ql[1024];
    uint8_t qh[512];
} vd_block_q6_Kx8;
/* Bytes of the repacked copy of a (rows, cols) matrix, or 0 when this CPU has
 * no kernel for wtype (keep using vd_matmul then). */
size_t vd_repack_size(int wtype, int64_t rows, int64_t cols);
/* Writes the repacked copy of the first rows / 8 * 8 rows of w to out. */
void vd_repack(int wtype, const void *w, int64_t rows, int64_t cols, void *out);
/* y[j * ldy + r] = dot(W[r], X[j]) for r in [r0, r1) (both multiples of 8)
 * and j < nact, from the repacked copy wr; xq holds nact rows from
 * vd_quantize_act. Each block's codes are unpacked once for up to
 * vd_r8_width() activations, and 64 rows at a time meet every activation
 * (they stay in cache). Results equal vd_matmul's bitwise (the order above). */
void vd_matmul_r8(int wtype, const void *wr, int64_t cols, int64_t r0, int64_t r1, const void *xq,
                  int nact, float *y, int64_t ldy);
/* Activations the repacked kernel for wtype takes in one pass over the
 * weights on this CPU (8 with AVX512-VNNI, else 4), 0 when it has none. */
int vd_r8_width(int wtype);
/* vd_matmul_r8 in two parts, so a product split into row chunks across
 * threads computes the per-activation terms once, not once per chunk (at
 * 64 activations and eight chunks a product they were ~4% of a step):
 * vd_r8_prep_blocks() is the number of int32 offsets and float scales each
 * activation needs (0: the kernel for wtype needs none, pass NULL);
 * vd_r8_prep fills those of activations [j0, j1) at off + j * nb and
 * dx + j * nb; vd_matmul_r8p is vd_matmul_r8 with them given (same bits). */
int64_t vd_r8_prep_blocks(int wtype, int64_t cols);
void vd_r8_prep(int wtype, const void *xq, int64_t cols, int j0, int j1, int32_t *off, float *dx);
void vd_matmul_r8p(int wtype, const void *wr, int64_t cols, int64_t r0, int64_t r1, const void *xq,
                   int nact, const int32_t *off, const float *dx, float *y, int64_t ldy);
/* And the zero-padded AMX sixteen of a rest (VD_R8_AMX_PAD below), likewise
 * built once a product instead of once a row chunk: vd_r8_pad_size is its
 * bytes for nact activations (0: they take none on this CPU and path);
 * vd_r8_pad fills pad from the nact activations and their vd_r8_prep terms;
 * vd_matmul_r8p_pad is vd_matmul_r8p with it given for the same wtype,
 * cols and nact (pad NULL: built per call, as vd_matmul_r8p). Same bits. */
size_t vd_r8_pad_size(int wtype, int64_t cols, int nact);
void vd_r8_pad(int wtype, const void *xq, int64_t cols, int nact, const int32_t *off, const float *dx, void *pad);
void vd_matmul_r8p_pad(int wtype, const void *wr, int64_t cols, int64_t r0, int64_t r1, const void *xq,
                       int nact, const int32_t *off, const float *dx, const void *pad, float *y, int64_t ldy);

/* Plain float dot (the float order above) and axpy used by attention. */
float vd_dot_f32(const float *a, const float *b, int64_t n);
/* Whether none of x[0..n) is NaN or Inf (the logits' check): the largest
 * magnitude's bits below the exponent of all ones (order-free: a max). */
bool vd_finite_f32(const float *x, int64_t n);
void vd_axpy_f32(float *y, float a, const float *x, int64_t n); /* y += a*x */
/* The functions those two call for the ISA now in use: a loop of many short
 * calls (attention: one per cached position and head) resolves them once. */
typedef float (*vd_dot_f32_fn)(const float *a, const float *b, int64_t n);
typedef void (*vd_axpy_f32_fn)(float *y, float a, const float *x, int64_t n);
vd_dot_f32_fn vd_dot_f32_get(void);
vd_axpy_f32_fn vd_axpy_f32_get(void);

/* Attention's two sums over cached rows R_p = rows[p] + off (p < np, each
 * hd floats), for one query:
 * - vd_dots_f32: s[p] = vd_dot_f32(q, R_p, hd), bitwise;
 * - vd_wsum_f32: o = the sum over p = 0, 1, ... of a[p] * R_p, per element
 *   bitwise what vd_axpy_f32(o, a[p], R_p, hd) called in that order on a
 *   zeroed o gives.
 * One call instead of np: AVX-512 reduces 16 dots at once and keeps o in
 * registers, in the same orders. */
void vd_dots_f32(float *s, const float *q, const float *const *rows, int64_t off, int64_t np, int64_t hd);
void vd_wsum_f32(float *o, const float *a, const float *const *rows, int64_t off, int64_t np, int64_t hd);
/* The same for nq <= VD_MQ queries that share the cached rows (entries of
 * one sequence in a prompt): query k is q + k * qs, reads rows [0, np[k]),
 * writes its scores s[k * ss + p] for p < np[k] (vd_dots_f32_mq) and its
 * output o + k * os from weights a + k * as (vd_wsum_f32_mq); each query's
 * numbers are bitwise those of vd_dots_f32 / vd_wsum_f32 called for it
 * alone. Each row, once loaded, serves every query (in a pp512 each query
 * otherwise streamed the whole cache from L3 by itself). */
#define VD_MQ 4
void vd_dots_f32_mq(float *s, size_t ss, const float *q, size_t qs, int nq, const int64_t *np,
                    const float *const *rows, int64_t off, int64_t hd);
void vd_wsum_f32_mq(float *o, size_t os, const float *a, size_t as, int nq, const int64_t *np,
                    const float *const *rows, int64_t off, int64_t hd);
/* x[i] = exp(x[i]). The SIMD paths use their own exp (within 2 ulp of expf
 * on [-87, 88]; below -87 they give about 1e-38 where expf gives a tinier
 * number or 0), for every element: a value's result never depends on its
 * place in the array. */
void vd_exp_f32(float *x, int64_t n);
/* The SwiGLU gate: g[i] = silu(g[i]) * u[i], silu(x) = x / (1 + exp(-x)).
 * The SIMD paths use their own exp (within 2 ulp of expf), for every
 * element, so a value's result does not depend on its place. */
void vd_silu_mul(float *g, const float *u, int64_t n);

/* ---- internal: the ISA back-ends, shared by vecdot*.c only ----------------
 * A tile kernel computes y[j * ldy + r] = dot(W[r], X[j]) for r < nr and
 * j < nx, where W[r] = w + r * wstride is a weight row and X[j] = x + j *
 * xstride an activation row from vd_quantize_act. Tiles are 1x1..1x4, 2x1,
 * 2x2, 3x1 and 4x1 (nr * nx <= 4; VD_TILE_OK). Each weight block is unpacked
 * once per tile and each activation block loaded once per tile. Slots a
 * back-end lacks are NULL and vecdot.c falls back to the next lower ISA. */
#define VD_NX 4
#define VD_NTYPES 31            /* type ids 0..QT_BF16 */
#define VD_TILE_OK(nr, nx) ((nr) >= 1 && (nx) >= 1 && (nr) * (nx) <= 4)
typedef void (*vd_tile_fn)(const void *w, size_t wstride, int nr, const void *x,
                           size_t xstride, int nx, int64_t cols, float *y, int64_t ldy);
/* Wide tiles: up to VD_WIDE_NR rows x any number of activations (one call
 * per group of rows, so the kernel knows when it may fetch the next rows),
 * for batches of three or more rows (decode steps of several sequences,
 * prompts); bitwise the back-end's 1x1 tile. */
#define VD_WIDE_NR 4
typedef struct vd_backend {
    vd_tile_fn tile[VD_NTYPES];
    vd_tile_fn wide[VD_NTYPES];
    /* y[r] = dot(W[r], x) for r < nr, one activation, each in the 1x1
     * tile's order: the row loop inside the kernel (F32 decode called a tile
     * per row, and the calls cost 10-25% of the DRAM-bound product) */
    void (*rows1[VD_NTYPES])(const void *w, size_t wstride, int64_t nr, const void *x, int64_t cols, float *y);
    float (*dot_f32)(const float *a, const float *b, int64_t n);
    void (*axpy_f32)(float *y, float a, const float *x, int64_t n);
    void (*dots_f32)(float *s, const float *q, const float *const *rows, int64_t off, int64_t np, int64_t hd);
    void (*wsum_f32)(float *o, const float *a, const float *const *rows, int64_t off, int64_t np, int64_t hd);
    void (*dots_f32_mq)(float *s, size_t ss, const float *q, size_t qs, int nq, const int64_t *np,
                        const float *const *rows, int64_t off, int64_t hd);
    void (*wsum_f32_mq)(float *o, size_t os, const float *a, size_t as, int nq, const int64_t *np,
                        const float *const *rows, int64_t off, int64_t hd);
    /* Q8_0 activation rounding, bit-identical to the portable one (the same
     * float operations; conversions round to nearest even as lrintf does). */
    void (*quant_q8_0)(const float *x, void *xq, int64_t nb);
    /* Q8_K the same way (qtypes.c quant_q8_K's float operations). */
    void (*quant_q8_K)(const float *x, void *xq, int64_t nb);
    void (*silu_mul)(float *g, const float *u, int64_t n);
    void (*exp_f32)(float *x, int64_t n);
    bool (*finite_f32)(const float *x, int64_t n);
} vd_backend;
/* An eight-wide kernel: rows [0, nr) of w (row stride ws) against one packed
 * chunk of nx <= 8 activations. NULL for types without one. */
typedef void (*vd_x8_fn)(const void *w, size_t ws, int64_t nr, const void *x8, int64_t cols, int nx,
                         float *y, int64_t ldy);
vd_x8_fn vd_x8_avx2(int wtype, unsigned wflags);
/* The same with AVX512-VNNI (vecdot_avx512.c); NULL when built without it. */
vd_x8_fn vd_x8_vnni(int wtype, unsigned wflags);
/* A repacked kernel: groups [g0, g1) of eight rows against nx <= VD_R8_NX
 * (VNNI: VD_R8V_NX) activations (x + j * xs); off[j * nb + b] = 8 * (sum of
 * activation j's codes in block b) for the AVX2 kernels, -8 * sum (Q4_0) or
 * -128 * sum (Q8_0) for the VNNI ones (vecdot_avx512.c), dx[j * nb + b] its
 * scale. */
#define VD_R8_NX 4
typedef void (*vd_r8_fn)(const void *w, int64_t cols, int64_t g0, int64_t g1, const void *x, size_t xs,
                         int nx, const int32_t *off, const float *dx, float *y, int64_t ldy);
vd_r8_fn vd_r8_avx2(int wtype);
/* The same with AVX512-VNNI (vecdot_avx512.c), up to VD_R8V_NX activations
 * a call; NULL when built without it. */
#define VD_R8V_NX 8
vd_r8_fn vd_r8_vnni(int wtype);
/* The same kernels with AVX-VNNI (VEX, 256-bit; vecdot_r8_avxvnni.c, the
 * shared source vecdot_r8v.h): same off terms, same width, same bits; NULL
 * when built without it. */
vd_r8_fn vd_r8_avxvnni(int wtype);

/* The same for Q4_K, Q4_0 and Q8_0 against many activations (prompts,
 * decode batches of 16 or more) with AMX-INT8 (vecdot_r8_amx.c):
 * VD_R8_AMX_NX activations a call (fewer go to the AVX512-VNNI kernel, in
 * even chunks of at most VD_R8V_NX); NULL for other types or when built
 * without it. Its calls must lie between vd_r8_amx_begin (loads the tile
 * configuration for the calling thread) and vd_r8_amx_end (releases the
 * tile state), once per run of calls, not per call (vd_matmul_r8p). */
#define VD_R8_AMX_NX 16
vd_r8_fn vd_r8_amx(int wtype);
/* The AMX Q4_0 / Q8_0 / Q4_K kernel over nx activations (a multiple of
 * sixteen, as vd_r8_fn) followed by one zero-padded sixteen: xt (stride
 * xs), offt and dxt (stride nb = cols / 32; NULL for Q4_K) hold sixteen
 * rows, the first nt (1..15) the nt activations after x's, the rest zero;
 * y rows nx .. nx + nt - 1 get them (nothing past). Same bits as the VNNI
 * kernel (vecdot_r8_amx.c). NULL for other types or when built without AMX. Between
 * vd_r8_amx_begin and vd_r8_amx_end like vd_r8_amx's. */
typedef void (*vd_r8t_fn)(const void *w, int64_t cols, int64_t g0, int64_t g1, const void *x, size_t xs, int nx,
                          const int32_t *off, const float *dx, const void *xt, const int32_t *offt,
                          const float *dxt, int nt, float *y, int64_t ldy);
vd_r8t_fn vd_r8_amx_tail(int wtype);
/* The same form with the rest's nt (1..15) activations read in place as an
 * nt-row AMX pass (xt = the activation rows after x's, offt and dxt their
 * terms; nothing padded): Q4_0 and Q8_0. Its calls lie between
 * vd_r8_amx_begin_rows(nt) (the tile configuration with the nt-row tiles)
 * and vd_r8_amx_end. Same bits. */
vd_r8t_fn vd_r8_amx_rows(int wtype);
void vd_r8_amx_begin_rows(int nt);
/* vd_matmul_r8p's cross-over: the least rest (activations past the whole
 * sixteens) that takes vd_r8_amx_tail, with whole sixteens and without
 * (measured: vecdot_r8.c's comment there). With whole sixteens a rest of 1 to
 * VD_R8_AMX_ROWS_MAX takes the r-row pass below, so Q4_0 and Q8_0 pad from
 * 9 (session 15's engine A/B of rests 6-7 padded against VNNI, before the
 * r-row pass: Q4_0 22 0.94, 23 0.92-0.95, 38-39 0.90-0.92, 54-55 0.92-0.95;
 * Q8_0 0.91-0.99). */
#define VD_R8_AMX_PAD 9
#define VD_R8_AMX_PAD_ALONE 12
/* With whole sixteens, a Q4_0 / Q8_0 rest of 1 to VD_R8_AMX_ROWS_MAX runs as
 * an r-row AMX pass in the same call (vd_r8_amx_rows), neither as a VNNI
 * rest nor padded; from 9 the padded sixteen is as cheap or cheaper
 * (measured: vecdot_r8.c). */
#define VD_R8_AMX_ROWS_MAX 8
/* Q4_0's alone, since the padded sixteen's float work covers only its real
 * rows (vecdot_r8_amx.c): kernel-only, a stories15m step's products, padded
 * / VNNI chunks, 2 x 2 runs: 9 0.99-1.03, 10 0.91-0.96, 11 0.87-0.92, 12
 * 0.82-0.84 (Q8_0, whose VNNI kernel unpacks nothing: 11 0.98-1.07, 12-13
 * 0.98-1.04, 14 0.99, 15 0.90-0.96: it stays at 12). */
#define VD_R8_AMX_PAD_ALONE_Q4 10
/* A VNNI rest of VD_R8_AMX_AFTER (4) or more activations past whole
 * sixteens (Q4_K's 4 to VD_R8_AMX_PAD_K - 1; Q4_0 and Q8_0 take the r-row
 * pass instead where they have AMX) runs over about
 * VD_R8_AMX_REST_BYTES of weights at a time after the AMX calls over them,
 * not after each step of eight groups: interleaved, it cost about twice as
 * much per activation as the same rest alone (stories15m, kernel-only in the
 * backend's row chunks, output product 22 = 16 + 6: 0.57 ms vs 0.31; 54 =
 * 48 + 6: 1.30 vs 0.36), while after a whole row chunk it re-read the
 * weights from beyond L2 on tinyllama's shapes (Q8_0 1.08-1.19x the
 * interleaved time). A rest of 1-3 stays interleaved (even or better there:
 * it is bound by loads, and its rows are in L1). vecdot_r8.c has the figures. */
#define VD_R8_AMX_AFTER 4
#define VD_R8_AMX_REST_BYTES (256 << 10)
/* Q4_K's (its AMX kernel unpacks the blocks once per sixteen, so one more
 * sixteen saves less): with whole sixteens only. */
#define VD_R8_AMX_PAD_K 13
void vd_r8_amx_begin(void);
void vd_r8_amx_end(void);

/* CPU features beyond the ISA level that pick kernels (CPUID; AMX also
 * needs the OS to grant the tile state: Linux arch_prctl). */
enum { VD_CPU_AVX512VNNI = 1u, VD_CPU_AVXVNNI = 2u, VD_CPU_AMX = 4u };
/* Detected features, as masked by vd_set_cpu_features. */
unsigned vd_cpu_features(void);
/* Uses only the detected features also in mask (tests force a path off;
 * a feature the CPU lacks cannot be turned on); returns those in use. Like
 * vd_set_isa: call it before making repacked copies, not between; unlike
 * the ISA, vd_init keeps the mask. */
unsigned vd_set_cpu_features(unsigned mask);
/* Which repacked kernels serve ISA level isa on a CPU with features feat:
 * AMX (Q4_K, Q4_0, Q8_0; the other types AVX512-VNNI's) where AVX-512, AVX512-VNNI and
 * AMX are in use, else AVX512-VNNI where AVX-512 is in use and has it, else
 * AVX-VNNI (any level from AVX2 up), else AVX2's, else none (portable). vd_matmul_r8 follows
 * vd_r8_path(vd_isa(), vd_cpu_features()). */
enum vd_r8_path { VD_R8_NONE = 0, VD_R8_AVX2 = 1, VD_R8_AVXVNNI = 2, VD_R8_AVX512VNNI = 3, VD_R8_AMX = 4 };
int vd_r8_path(int isa, unsigned feat);
const char *vd_r8_path_name(int path);

/* ---- kernel paths -----------------------------------------------------------
 * The ISA level and VNNI features together, as real CPUs combine them,
 * lowest first: portable C; AVX2 without VNNI (Haswell to Comet Lake, Zen 1
 * to 3); AVX2 with AVX-VNNI (Alder Lake and later without AVX-512); AVX-512
 * without VNNI (Skylake-SP); AVX-512 with AVX512-VNNI (Ice Lake, Sapphire
 * Rapids, Zen 4; these also have AVX-VNNI or not, the path is the same);
 * AVX-512 with AVX512-VNNI and AMX-INT8 (Sapphire Rapids and later Xeons).
 * vd_set_path runs this CPU as one that has only that path, so tests and
 * benchmarks reach every path the CPU can run: for quantized weights every
 * path gives bitwise the same numbers (vecdot.h's orders), for float weights
 * the paths below AVX-512 agree with portable, the AVX-512 two with each other.
 * The environment's LOGITLAB_ISA (a name below) caps the process at that
 * path (read once, when the CPU is detected; a CPU without the path runs
 * the best below it); a name that is none of them is ignored here and
 * reported by vd_env_bad (ctx_create turns it into an error). */
enum vd_path { VD_PATH_PORTABLE = 0, VD_PATH_AVX2, VD_PATH_AVXVNNI, VD_PATH_AVX512, VD_PATH_AVX512VNNI, VD_PATH_AMX,
               VD_NPATHS };
/* "portable", "avx2", "avx-vnni", "avx512", "avx512-vnni", "avx512-amx"
 * (avx512-vnni with AMX-INT8 for Q4_K/Q4_0/Q8_0 against 16+ activations);
 * "?" otherwise. */
const char *vd_path_name(int path);
/* The path called name, or -1. */
int vd_path_parse(const char *name);
/* Whether this CPU (as LOGITLAB_ISA leaves it) runs path. */
bool vd_path_ok(int path);
/* The best path this CPU runs. */
int vd_path_best(void);
/* Uses path from now on: vd_limit_isa(its ISA level) and
 * vd_set_cpu_features(its features) (so vd_init, which every CPU backend
 * calls, keeps it; make repacked copies after, not before). False, and
 * nothing changed, when !vd_path_ok(path). */
bool vd_set_path(int path);
/* The path in use (for an ISA/feature mix vd_set_path does not make: the
 * ISA's path with the VNNI it has). */
int vd_path(void);
/* LOGITLAB_ISA's value when it names no path, else NULL. */
const char *vd_env_bad(void);
/* NULL when the file was built without its ISA flags. */
const vd_backend *vd_backend_avx2(void);
const vd_backend *vd_backend_avx512(void);

#endif
