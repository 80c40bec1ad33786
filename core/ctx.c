/* ctx: sequences, batch validation and evaluation over one model.
 *
 * ctx_eval checks the whole batch before touching the cache, reserves KV
 * cells for every entry (rolling back on failure, so a refused batch leaves
 * every sequence as it was), builds each entry's attention runs, and runs the
 * forward pass. Logits of the entries that asked for them are kept on the
 * host until the next ctx_eval.
 */
#include "ctx.h"
#include "backend.h"
#include "forward.h"
#include "kv.h"
#include "logits.h"
#include "model.h"
#include "pool.h"
#include "vecdot.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Per-sequence work of one batch. */
typedef struct seqwork { int32_t seq, old_len, cnt, cell_off, run_off, n_runs; } seqwork;

struct ctx {
    model *m;
    ctx_params p;
    backend *be;
    kv *kv;
    void *kvbuf;            /* backend memory: n_blocks * n_layers * 2 * KV_BLOCK * kv_dim floats */
    fwd *fwd;
    /* per-batch scratch (host), sized for n_batch entries */
    int32_t *tok, *pos, *cells, *cells_tmp, *out_idx, *ends;
    int32_t *amax;          /* (n_batch) each logits row's argmax, from the backend's check; -1 unknown */
    int32_t *slot;          /* (n_seq_max) index into sw during a batch, else -1 */
    seqwork *sw;            /* (n_seq_max) */
    be_attn *at;
    kv_run *runs; size_t runs_cap;
    float *logits; int32_t n_logits, logits_cap;
};

/* $LOGITLAB_HUGEPAGES: 1 on, 0 off (the usual spellings of each), -1 for a
 * value that is neither; unset or empty is on. */
static int env_hugepages(void) {
    const char *h = getenv("LOGITLAB_HUGEPAGES");   /* an operator's switch for every context */
    if (!h || !*h || !strcmp(h, "1") || !strcasecmp(h, "on") || !strcasecmp(h, "yes") || !strcasecmp(h, "true"))
        return 1;
    /* "0" and the other usual spellings of off: =off once meant on, silently */
    if (!strcmp(h, "0") || !strcasecmp(h, "off") || !strcasecmp(h, "no") || !strcasecmp(h, "false")) return 0;
    return -1;
}

void ctx_params_default(ctx_params *p) {
    memset(p, 0, sizeof *p);
    p->backend = "cpu";
    p->no_huge_pages = env_hugepages() == 0;
}

int ctx_env_check(char *err, size_t errlen) {
    if (pool_env_check(err, errlen)) return -1;
    if (vd_env_bad()) {   /* a typo would otherwise run the best path unnoticed */
        snprintf(err, errlen, "the environment's LOGITLAB_ISA is \"%.64s\": it must be one of portable, avx2, "
                 "avx-vnni, avx512, avx512-vnni, avx512-amx (the highest kernel path to use)", vd_env_bad());
        return -1;
    }
    if (env_hugepages() >= 0) return 0;
    snprintf(err, errlen, "the environment's LOGITLAB_HUGEPAGES is \"%.64s\": it must be 1, on, yes or true (the "
             "default: weight copies on huge pages) or 0, off, no or false", getenv("LOGITLAB_HUGEPAGES"));
    return -1;
}

static int fail(char *err, size_t errlen, int code, const char *msg) {
    if (err && errlen) snprintf(err, errlen, "%s", msg);
    return code;
}

void ctx_destroy(ctx *c) {
    if (!c) return;
    fwd_destroy(c->fwd);
    if (c->be) {
        if (c->kvbuf) c->be->ops->free(c->be, c->kvbuf);
        c->be->ops->destroy(c->be);
    }
    kv_destroy(c->kv);
    free(c->tok); free(c->pos); free(c->cells); free(c->out_idx); free(c->amax);
    free(c->cells_tmp); free(c->ends); free(c->slot); free(c->sw);
    free(c->at); free(c->runs); free(c->logits);
    free(c);
}

int ctx_create(ctx **out, model *m, const ctx_params *pp, char *err, size_t errlen) {
    *out = NULL;
    ctx_params p;
    if (pp) p = *pp; else ctx_params_default(&p);
    const model_info *h = model_get_info(m);
    if (p.n_ctx < 0 || p.n_batch < 0 || p.n_seq_max < 0 || p.n_threads < 0 || p.n_pass_rows < 0)
        return fail(err, errlen, CTX_EINVAL, "context sizes, thread count and pass rows must not be negative");
    if (p.n_ctx == 0) p.n_ctx = h->ctx_train < 4096 ? h->ctx_train : 4096;
    if (p.n_batch == 0) p.n_batch = 512;
    if (p.n_seq_max == 0) p.n_seq_max = 256;
    if (p.n_threads == 0) p.n_threads = pool_n_cpus();
    if (!p.backend) p.backend = "cpu";
    char msg[300];
    if (ctx_env_check(msg, sizeof msg)) return fail(err, errlen, CTX_EINVAL, msg);
    ctx *c = calloc(1, sizeof *c);
    if (!c) return fail(err, errlen, CTX_ENOMEM, "out of memory");
    c->m = m; c->p = p;
    be_kvgeom g = { h->n_layers, h->n_kv_heads * h->head_dim, h->head_dim, h->n_heads, h->n_kv_heads };
    char berr[256] = "";
    if (p.pool && strcmp(p.backend, "cpu") == 0) {
        c->be = backend_cpu_create_shared(p.pool, g);
        if (!c->be) snprintf(berr, sizeof berr, "cannot start the CPU backend (out of memory)");
    } else {
        c->be = backend_create(p.backend, p.n_threads, g, berr, sizeof berr);
    }
    if (!c->be) { ctx_destroy(c); return fail(err, errlen, CTX_EBACKEND, berr); }
    c->be->no_huge_pages = p.no_huge_pages;
    if (c->be->ops->prepare(c->be, m, berr, sizeof berr)) {
        ctx_destroy(c);
        return fail(err, errlen, CTX_EBACKEND, berr);
    }
    /* blocks for n_ctx positions, plus one partial block per possible segment end */
    int32_t n_blocks = (p.n_ctx + KV_BLOCK - 1) / KV_BLOCK + p.n_seq_max;
    size_t block_floats = (size_t)h->n_layers * 2 * KV_BLOCK * (size_t)g.kv_dim;
    c->kv = kv_create(n_blocks, p.n_seq_max);
    c->kvbuf = c->be->ops->alloc(c->be, (size_t)n_blocks * block_floats * sizeof(float));
    c->fwd = fwd_create(c->be, m, p.n_batch);
    size_t nb = (size_t)p.n_batch, ns = (size_t)p.n_seq_max;
    c->tok = malloc(nb * sizeof(int32_t)); c->pos = malloc(nb * sizeof(int32_t));
    c->cells = malloc(nb * sizeof(int32_t)); c->out_idx = malloc(nb * sizeof(int32_t));
    c->amax = malloc(nb * sizeof(int32_t));
    c->cells_tmp = malloc(nb * sizeof(int32_t));
    c->ends = malloc(nb * sizeof(int32_t));
    c->slot = malloc(ns * sizeof(int32_t));
    c->sw = malloc(ns * sizeof *c->sw);
    if (c->slot) for (size_t i = 0; i < ns; i++) c->slot[i] = -1;
    c->at = malloc(nb * sizeof(be_attn));
    if (!c->kv || !c->kvbuf || !c->fwd || !c->tok || !c->pos || !c->cells || !c->out_idx || !c->amax ||
        !c->cells_tmp || !c->slot || !c->sw || !c->at || !c->ends) {
        ctx_destroy(c);
        return fail(err, errlen, CTX_ENOMEM, "out of memory for the KV cache and batch buffers (lower n_ctx or n_batch)");
    }
    *out = c;
    return CTX_OK;
}

const model *ctx_model(const ctx *c) { return c->m; }
int ctx_n_threads(const ctx *c) { return c->be->n_threads; }
struct pool *ctx_pool(ctx *c) { return backend_cpu_pool(c->be); }
const char *ctx_backend_name(const ctx *c) { return c->be->ops->name; }
int32_t ctx_seq_create(ctx *c) { int32_t s = kv_seq_create(c->kv); return s < 0 ? CTX_EFULL : s; }
int32_t ctx_seq_fork(ctx *c, int32_t seq) {
    if (!ctx_seq_alive(c, seq)) return CTX_EINVAL;
    int32_t s = kv_seq_fork(c->kv, seq);
    return s < 0 ? CTX_EFULL : s;
}
int ctx_seq_rewind(ctx *c, int32_t seq, int32_t pos) { return kv_seq_rewind(c->kv, seq, pos) ? CTX_EINVAL : CTX_OK; }
void ctx_seq_drop(ctx *c, int32_t seq) { kv_seq_drop(c->kv, seq); }
int32_t ctx_trim(ctx *c) { return kv_trim(c->kv); }
int32_t ctx_seq_len(const ctx *c, int32_t seq) { return kv_seq_len(c->kv, seq); }
bool ctx_seq_alive(const ctx *c, int32_t seq) { return kv_seq_len(c->kv, seq) >= 0; }
int32_t ctx_n_seq(const ctx *c) { return kv_n_seq(c->kv); }
int32_t ctx_kv_used(const ctx *c) { return kv_used_cells(c->kv); }
int32_t ctx_kv_size(const ctx *c) { return c->p.n_ctx; }
int32_t ctx_n_seq_max(const ctx *c) { return c->p.n_seq_max; }
int32_t ctx_n_batch(const ctx *c) { return c->p.n_batch; }

void ctx_set_cancel(ctx *c, bool (*cancel)(void *ud), void *ud) { fwd_set_cancel(c->fwd, cancel, ud); }
int32_t ctx_n_logits(const ctx *c) { return c->n_logits; }

const float *ctx_logits(const ctx *c, int32_t i) {
    if (i < 0 || i >= c->n_logits) return NULL;
    return c->logits + (size_t)i * model_get_info(c->m)->n_vocab;
}

int32_t ctx_argmax(const ctx *c, int32_t i) {
    if (i < 0 || i >= c->n_logits) return -1;
    if (c->amax[i] >= 0) return c->amax[i];
    return logits_argmax(ctx_logits(c, i), model_get_info(c->m)->n_vocab);
}

/* Checks every entry; fills c->sw with the distinct sequences (first
 * appearance order) and their entry counts, c->slot[seq] with their index. */
static int validate(ctx *c, const ctx_entry *b, int32_t n, int32_t *n_seqs, char *err, size_t errlen) {
    const model_info *h = model_get_info(c->m);
    int32_t ns = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t s = b[i].seq;
        if (!ctx_seq_alive(c, s)) {
            if (err && errlen) snprintf(err, errlen, "batch entry %d: sequence %d does not exist", i, s);
            *n_seqs = ns;
            return CTX_EINVAL;
        }
        if (b[i].tok < 0 || b[i].tok >= h->n_vocab) {
            if (err && errlen) snprintf(err, errlen, "batch entry %d: token %d outside the vocabulary (0..%d)", i, b[i].tok, h->n_vocab - 1);
            *n_seqs = ns;
            return CTX_EINVAL;
        }
        if (c->slot[s] < 0) {
            c->slot[s] = ns;
            c->sw[ns++] = (seqwork){ s, kv_seq_len(c->kv, s), 0, 0, 0, 0 };
        }
        seqwork *w = &c->sw[c->slot[s]];
        if (b[i].pos != w->old_len + w->cnt) {
            if (err && errlen) snprintf(err, errlen, "batch entry %d: position %d, but sequence %d continues at %d", i, b[i].pos, s, w->old_len + w->cnt);
            *n_seqs = ns;
            return CTX_EINVAL;
        }
        w->cnt++;
    }
    *n_seqs = ns;
    return CTX_OK;
}

/* Reserves cells for every sequence of the batch (all or nothing) and builds
 * their attention runs. */
static int reserve(ctx *c, int32_t ns, int32_t *cells_by_seq, char *err, size_t errlen) {
    int32_t off = 0, k, add = 0;
    for (k = 0; k < ns; k++) add += c->sw[k].cnt;
    /* n_ctx bounds the cells in use; the block pool has slack only so that
     * partially filled blocks at segment ends never make it run out first */
    bool full = kv_used_cells(c->kv) + add > c->p.n_ctx;
    for (k = 0; !full && k < ns; k++) {
        seqwork *w = &c->sw[k];
        w->cell_off = off;
        if (kv_seq_append(c->kv, w->seq, w->cnt, cells_by_seq + off)) { full = true; break; }
        off += w->cnt;
    }
    if (full) {
        while (k-- > 0) kv_seq_rewind(c->kv, c->sw[k].seq, c->sw[k].old_len);
        if (err && errlen) snprintf(err, errlen,
            "the KV cache is full (%d of %d cells used): drop or rewind sequences, or raise n_ctx",
            kv_used_cells(c->kv), c->p.n_ctx);
        return CTX_EFULL;
    }
    size_t need = 0;
    for (k = 0; k < ns; k++) need += (size_t)kv_max_runs(c->kv, c->sw[k].old_len + c->sw[k].cnt);
    if (need > c->runs_cap) {
        kv_run *r = realloc(c->runs, need * sizeof *r);
        if (!r) {
            for (k = 0; k < ns; k++) kv_seq_rewind(c->kv, c->sw[k].seq, c->sw[k].old_len);
            if (err && errlen) snprintf(err, errlen, "out of memory");
            return CTX_ENOMEM;
        }
        c->runs = r; c->runs_cap = need;
    }
    int32_t ro = 0;
    for (k = 0; k < ns; k++) {
        seqwork *w = &c->sw[k];
        int32_t len = w->old_len + w->cnt;
        w->run_off = ro;
        w->n_runs = kv_seq_runs(c->kv, w->seq, len, c->runs + ro, kv_max_runs(c->kv, len));
        ro += w->n_runs;
    }
    return CTX_OK;
}

/* The first output row holding NaN or Inf, or -1 (vd_finite_f32: the
 * kernels' vectorised check, the one the CPU backend's checked product uses
 * on its slices). For backends without matmul_check. */
static int32_t nonfinite_row(const float *l, int32_t rows, int32_t V) {
    for (int32_t r = 0; r < rows; r++)
        if (!vd_finite_f32(l + (size_t)r * V, V)) return r;
    return -1;
}

/* Where the passes over the weights end: entries [ends[k-1], ends[k]) are
 * pass k, each with at most n_pass_rows logits rows (0: one pass); returns
 * the number of passes. Passes are cut at entries, so a pass holds whole
 * rows; the invariance rule makes the numbers independent of the cut.
 * Automatic passes (when the weights fit the last-level cache but the
 * step's logits and K/V do not) were tried and measured no faster than one
 * pass (stories15m Q8_0, 48 and 64 sequences, 2 threads). */
static int32_t pass_ends(const ctx *c, const ctx_entry *b, int32_t n, int32_t *ends) {
    int32_t per = c->p.n_pass_rows, k = 0, rows = 0;
    if (per == 0) { ends[0] = n; return 1; }
    for (int32_t i = 0; i < n; i++)
        if (b[i].logits && ++rows == per) { ends[k++] = i + 1; rows = 0; }
    if (k > 0 && rows == 0) ends[k - 1] = n;   /* no logits row left: the last pass takes the rest */
    else ends[k++] = n;
    return k;
}

int ctx_eval(ctx *c, const ctx_entry *b, int32_t n, char *err, size_t errlen) {
    const model_info *h = model_get_info(c->m);
    if (n <= 0 || n > c->p.n_batch) {
        if (err && errlen) snprintf(err, errlen, "batch of %d entries (allowed 1..%d)", n, c->p.n_batch);
        return CTX_EINVAL;
    }
    int32_t ns = 0, n_out = 0;
    int rc = validate(c, b, n, &ns, err, errlen);
    if (rc == CTX_OK) rc = reserve(c, ns, c->cells_tmp, err, errlen);
    if (rc == CTX_OK) {
        for (int32_t i = 0; i < n; i++) {
            seqwork *w = &c->sw[c->slot[b[i].seq]];
            c->tok[i] = b[i].tok;
            c->pos[i] = b[i].pos;
            c->cells[i] = c->cells_tmp[w->cell_off + (b[i].pos - w->old_len)];
            c->at[i] = (be_attn){ c->runs + w->run_off, w->n_runs, b[i].pos + 1 };
            if (b[i].logits) c->out_idx[n_out++] = i;
        }
        int32_t bad = -1;
        if (n_out > c->logits_cap) {
            /* 64-byte aligned (realloc's large blocks start 16 bytes into
             * a page): the products write each row's outputs sixteen at a
             * time, a 64-byte store that straddled two cache lines in every
             * row; stories15m, 64 sequences, the 32000-row product, one
             * core: see vecdot_r8_amx.c */
            void *l = NULL;
            if (!posix_memalign(&l, 64, (size_t)n_out * h->n_vocab * sizeof(float))) {
                if (c->logits) memcpy(l, c->logits, (size_t)c->logits_cap * h->n_vocab * sizeof(float));
                free(c->logits);
                c->logits = l;
                c->logits_cap = n_out;
            }
        }
        bool failed = n_out > c->logits_cap, cancelled = false;
        int32_t np = failed ? 0 : pass_ends(c, b, n, c->ends);
        /* pass k: entries [e0, e1), its logits rows out_idx[o0, o1) (indices
         * relative to the pass) at logits row o0 */
        for (int32_t k = 0, e0 = 0, o0 = 0; k < np && !failed && !cancelled && bad < 0; k++) {
            int32_t e1 = c->ends[k], o1 = o0, pb;
            while (o1 < n_out && c->out_idx[o1] < e1) c->out_idx[o1++] -= e0;
            int fr = fwd_eval(c->fwd, c->kvbuf, e1 - e0, c->tok + e0, c->pos + e0, c->cells + e0, c->at + e0,
                              o1 - o0, c->out_idx + o0, c->logits + (size_t)o0 * h->n_vocab, &pb, c->amax + o0);
            cancelled = fr == FWD_CANCELLED;
            failed = fr != 0 && !cancelled;
            for (int32_t o = o0; o < o1; o++) c->out_idx[o] += e0;
            if (cancelled) break;
            if (!failed && pb == FWD_UNCHECKED) {   /* no argmax from the backend: ctx_argmax finds it */
                for (int32_t o = o0; o < o1; o++) c->amax[o] = -1;
                pb = nonfinite_row(c->logits + (size_t)o0 * h->n_vocab, o1 - o0, h->n_vocab);
            }
            if (!failed && pb >= 0) bad = o0 + pb;
            e0 = e1; o0 = o1;
        }
        if (failed || cancelled) {
            for (int32_t k = 0; k < ns; k++) kv_seq_rewind(c->kv, c->sw[k].seq, c->sw[k].old_len);
            if (err && errlen) snprintf(err, errlen, failed ? "out of memory during evaluation" : "cancelled");
            rc = failed ? CTX_ENOMEM : CTX_ECANCELED;
        }
        if (rc != CTX_OK) bad = -1;
        if (bad >= 0) {   /* sampling NaN would pick token 0 (<unk>) forever and exit 0 */
            for (int32_t k = 0; k < ns; k++) kv_seq_rewind(c->kv, c->sw[k].seq, c->sw[k].old_len);
            const ctx_entry *e = &b[c->out_idx[bad]];
            if (err && errlen)
                snprintf(err, errlen, "%s: the model computed NaN or infinite logits (sequence %d, position %d): "
                         "its weights hold non-finite values or overflow", model_path(c->m), e->seq, e->pos);
            rc = CTX_ENONFINITE;
        }
    }
    for (int32_t k = 0; k < ns; k++) c->slot[c->sw[k].seq] = -1;
    c->n_logits = rc == CTX_OK ? n_out : 0;
    return rc;
}

/* ---- a sequence's KV state ---------------------------------------------- */

void ctx_kv_dims(const ctx *c, int32_t *n_layers, int32_t *kv_dim) {
    *n_layers = c->be->kv.n_layers;
    *kv_dim = c->be->kv.kv_dim;
}

size_t ctx_seq_state_floats(const ctx *c, int32_t len) {
    return (size_t)c->be->kv.n_layers * (size_t)(len > 0 ? len : 0) * 2 * (size_t)c->be->kv.kv_dim;
}

/* Where K of layer il, cell cell starts in the backend's KV memory (the
 * geometry of backend.h); V is KV_BLOCK rows after it. */
static char *kv_at(const ctx *c, int32_t il, int32_t cell) {
    size_t d = (size_t)c->be->kv.kv_dim, nl = (size_t)c->be->kv.n_layers;
    size_t off = (((size_t)cell / KV_BLOCK) * nl + (size_t)il) * 2 * KV_BLOCK * d + ((size_t)cell % KV_BLOCK) * d;
    return (char *)c->kvbuf + off * sizeof(float);
}

/* Copies between the cells of runs and buf (positions [0, len) in order);
 * to_dev when put. */
static void copy_runs(ctx *c, const kv_run *runs, int32_t n_runs, int32_t len, float *buf, bool put) {
    size_t d = (size_t)c->be->kv.kv_dim, row = d * sizeof(float);
    for (int32_t il = 0; il < c->be->kv.n_layers; il++) {
        float *lay = buf + (size_t)il * (size_t)len * 2 * d;
        int32_t p = 0;
        for (int32_t r = 0; r < n_runs; r++)
            for (int32_t k = 0; k < runs[r].n; k++, p++) {
                char *kp = kv_at(c, il, runs[r].cell + k), *vp = kp + KV_BLOCK * row;
                float *kb = lay + (size_t)p * 2 * d, *vb = kb + d;
                if (put) {
                    c->be->ops->to_dev(c->be, kp, kb, row);
                    c->be->ops->to_dev(c->be, vp, vb, row);
                } else {
                    c->be->ops->to_host(c->be, kb, kp, row);
                    c->be->ops->to_host(c->be, vb, vp, row);
                }
            }
    }
}

/* Copies layer il, positions [p0, p0 + n) of seq between its cells and buf
 * (n * 2 * kv_dim floats; to the cells when put). */
static int copy_part(ctx *c, int32_t seq, int32_t il, int32_t p0, int32_t n, float *buf, bool put) {
    int32_t have = kv_seq_len(c->kv, seq);
    if (have < 0 || il < 0 || il >= c->be->kv.n_layers || p0 < 0 || n < 0 || n > have - p0) return CTX_EINVAL;
    if (n == 0) return CTX_OK;
    int32_t len = p0 + n, cap = kv_max_runs(c->kv, len);
    kv_run *runs = malloc(sizeof *runs * (size_t)cap);
    if (!runs) return CTX_ENOMEM;
    int32_t nr = kv_seq_runs(c->kv, seq, len, runs, cap);
    size_t d = (size_t)c->be->kv.kv_dim, row = d * sizeof(float);
    int32_t p = 0;
    for (int32_t r = 0; r < nr; r++)
        for (int32_t k = 0; k < runs[r].n; k++, p++) {
            if (p < p0) continue;
            char *kp = kv_at(c, il, runs[r].cell + k), *vp = kp + KV_BLOCK * row;
            float *kb = buf + (size_t)(p - p0) * 2 * d, *vb = kb + d;
            if (put) {
                c->be->ops->to_dev(c->be, kp, kb, row);
                c->be->ops->to_dev(c->be, vp, vb, row);
            } else {
                c->be->ops->to_host(c->be, kb, kp, row);
                c->be->ops->to_host(c->be, vb, vp, row);
            }
        }
    free(runs);
    return CTX_OK;
}

int ctx_seq_state_get_part(ctx *c, int32_t seq, int32_t il, int32_t p0, int32_t n, float *out) {
    return copy_part(c, seq, il, p0, n, out, false);
}

int ctx_seq_state_put_part(ctx *c, int32_t seq, int32_t il, int32_t p0, int32_t n, const float *in) {
    return copy_part(c, seq, il, p0, n, (float *)in, true);
}

int ctx_seq_state_reserve(ctx *c, int32_t seq, int32_t len) {
    if (kv_seq_len(c->kv, seq) != 0 || len < 0) return CTX_EINVAL;
    if (len == 0) return CTX_OK;
    int32_t *cells = malloc(sizeof *cells * (size_t)len);
    if (!cells) return CTX_ENOMEM;
    int rc = kv_seq_append(c->kv, seq, len, cells) != 0 ? CTX_EFULL : CTX_OK;
    free(cells);
    return rc;
}

int ctx_seq_state_get(ctx *c, int32_t seq, int32_t len, float *out) {
    int32_t have = kv_seq_len(c->kv, seq);
    if (have < 0 || len < 0 || len > have) return CTX_EINVAL;
    if (len == 0) return CTX_OK;
    int32_t cap = kv_max_runs(c->kv, len);
    kv_run *runs = malloc(sizeof *runs * (size_t)cap);
    if (!runs) return CTX_ENOMEM;
    int32_t nr = kv_seq_runs(c->kv, seq, len, runs, cap);
    copy_runs(c, runs, nr, len, out, false);
    free(runs);
    return CTX_OK;
}

int ctx_seq_state_put(ctx *c, int32_t seq, const float *in, int32_t len) {
    if (kv_seq_len(c->kv, seq) != 0 || len < 0) return CTX_EINVAL;
    if (len == 0) return CTX_OK;
    int32_t *cells = malloc(sizeof *cells * (size_t)len);
    int32_t cap = kv_max_runs(c->kv, len);
    kv_run *runs = malloc(sizeof *runs * (size_t)cap);
    if (!cells || !runs) {
        free(cells);
        free(runs);
        return CTX_ENOMEM;
    }
    if (kv_seq_append(c->kv, seq, len, cells) != 0) {
        free(cells);
        free(runs);
        return CTX_EFULL;
    }
    int32_t nr = kv_seq_runs(c->kv, seq, len, runs, cap);
    copy_runs(c, runs, nr, len, (float *)in, true);
    free(cells);
    free(runs);
    return CTX_OK;
}
