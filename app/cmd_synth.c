/* cmd_synth: `logitlab synth --shape NAME --type TYPE -o FILE` writes a
 * Llama-architecture GGUF with seeded random weights in the shape of a real
 * model, for benchmarks and tests without downloads.
 *
 * Streaming: tensors are declared first, then generated and quantized a chunk
 * of rows at a time (CHUNK_BYTES of output) on a thread pool and appended
 * with ggufw_write_data, so a 13 GB llama2-7b F16 never sits in memory.
 * Determinism: row r of tensor k is drawn from its own generator
 * rng_init_mix(seed, k, r), so the bytes depend on the seed only, not on the
 * thread count or chunking.
 * Distributions follow the golden synthetic models: token_embd N(0, 0.2^2),
 * projections N(0, 1/dim), ffn_down N(0, 1/ffn), norms 1 + N(0, 0.1^2); a
 * separate output matrix gets N(0, 9/dim) so that logits have a standard
 * deviation of about 3 whatever the width.
 */
#include "cmd_synth.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gguf.h"
#include "ggufw.h"
#include "modelpath.h"
#include "pool.h"
#include "qplan.h"
#include "qtypes.h"
#include "rng.h"
#include "store.h"
#include "vocabgen.h"

#define CHUNK_BYTES (32u << 20)
#define SPM_VOCAB_FILE "ggml-vocab-llama-spm.gguf"

typedef struct shape {
    const char *name;
    int32_t dim, ffn, n_layers, n_heads, n_kv_heads, n_vocab, ctx;
    float rope_base;
    bool tied;              /* as the real model: output matrix = token_embd */
    bool bpe;               /* Llama 3 byte-level BPE vocabulary, else Llama 2 SPM */
} shape;

static const shape shapes[] = {
    { "stories15m", 288, 768, 6, 6, 6, 32000, 256, 10000.0f, true, false },
    { "tinyllama-1.1b", 2048, 5632, 22, 32, 4, 32000, 2048, 10000.0f, false, false },
    { "llama2-7b", 4096, 11008, 32, 32, 32, 32000, 4096, 10000.0f, false, false },
    { "llama3-8b", 4096, 14336, 32, 32, 8, 128256, 8192, 500000.0f, false, true },
    { "test", 64, 192, 2, 4, 2, 32000, 256, 10000.0f, true, false },
};
#define N_SHAPES ((int)(sizeof shapes / sizeof shapes[0]))

enum { O_SHAPE, O_TYPE, O_OUT, O_SEED, O_VOCAB, O_THREADS, O_JSON };
static const cli_opt opts[] = {
    { "shape", 0, "NAME", "stories15m, tinyllama-1.1b, llama2-7b, llama3-8b or test" },
    { "type", 0, "TYPE", "2-D weight type: f32, f16, bf16, q8_0, q4_0, q5_0, q4_K, q5_K, q6_K" },
    { "output", 'o', "FILE", "the GGUF to write" },
    { "seed", 0, "S", "random seed (default 1); the same seed gives the same bytes" },
    { "vocab", 0, "PATH", "GGUF to copy the vocabulary from (default: " SPM_VOCAB_FILE
                          " in the model folders for 32000-token shapes, else generated)" },
    { "threads", 't', "N", "threads (default: all cores)" },
    { "json", 0, NULL, "a JSON object per tensor, then a JSON summary, on stdout (no terminal line)" },
};
static const cli_spec spec = {
    "synth", "--shape NAME --type TYPE -o FILE [options]",
    "Writes a random-weight Llama GGUF of a real model's shape (dims, heads, vocabulary,\n"
    "tied or separate output). Tensors whose rows do not fill the type's blocks keep a\n"
    "wider type, as llama.cpp does. Shapes:\n"
    "  stories15m      dim 288, ffn 768, 6 layers, 6 heads, vocab 32000, tied output\n"
    "  tinyllama-1.1b  dim 2048, ffn 5632, 22 layers, 32 heads, 4 kv heads, vocab 32000\n"
    "  llama2-7b       dim 4096, ffn 11008, 32 layers, 32 heads, vocab 32000\n"
    "  llama3-8b       dim 4096, ffn 14336, 32 layers, 32 heads, 8 kv heads, vocab 128256 (BPE)\n"
    "  test            dim 64, ffn 192, 2 layers, 4 heads, 2 kv heads, vocab 32000 (for tests)",
    opts, (int)(sizeof opts / sizeof opts[0]), 0, 0,
};

typedef struct tspec {
    char name[64];
    uint32_t n_dims, type;
    uint64_t ne[2];         /* ne[0]: row length; ne[1]: rows (1 for vectors) */
    float mean, sd;
} tspec;

typedef struct plan {
    const shape *sh;
    tspec *t;
    int n;
    uint64_t params, bytes;
} plan;

static void add_t(plan *p, int target, const char *name, uint64_t ne0, uint64_t ne1, float mean, float sd) {
    tspec *t = &p->t[p->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = ne1 > 1 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1;
    t->type = (uint32_t)qplan_pick(target, t->n_dims, ne0);
    t->mean = mean;
    t->sd = sd;
    p->params += ne0 * ne1;
    p->bytes += qt_row_size((int)t->type, (int64_t)ne0) * ne1;
}

/* The tensor list in llama.cpp's usual order. */
static int make_plan(plan *p, const shape *sh, int target) {
    p->sh = sh;
    p->t = calloc((size_t)sh->n_layers * 9 + 3, sizeof *p->t);
    if (!p->t) return -1;
    uint64_t D = (uint64_t)sh->dim, F = (uint64_t)sh->ffn, V = (uint64_t)sh->n_vocab;
    uint64_t KV = D / (uint64_t)sh->n_heads * (uint64_t)sh->n_kv_heads;
    float sd_d = 1.0f / sqrtf((float)D), sd_f = 1.0f / sqrtf((float)F);
    add_t(p, target, "token_embd.weight", D, V, 0.0f, 0.2f);
    for (int32_t il = 0; il < sh->n_layers; il++) {
        struct { const char *n; uint64_t ne0, ne1; float mean, sd; } ws[] = {
            {"attn_norm", D, 1, 1.0f, 0.1f}, {"attn_q", D, D, 0, sd_d}, {"attn_k", D, KV, 0, sd_d},
            {"attn_v", D, KV, 0, sd_d}, {"attn_output", D, D, 0, sd_d}, {"ffn_norm", D, 1, 1.0f, 0.1f},
            {"ffn_gate", D, F, 0, sd_d}, {"ffn_up", D, F, 0, sd_d}, {"ffn_down", F, D, 0, sd_f},
        };
        for (size_t k = 0; k < sizeof ws / sizeof ws[0]; k++) {
            char name[64];
            snprintf(name, sizeof name, "blk.%d.%s.weight", il, ws[k].n);
            add_t(p, target, name, ws[k].ne0, ws[k].ne1, ws[k].mean, ws[k].sd);
        }
    }
    add_t(p, target, "output_norm.weight", D, 1, 1.0f, 0.1f);
    if (!sh->tied) add_t(p, target, "output.weight", D, V, 0.0f, 3.0f * sd_d);
    return 0;
}

static int set_hparams(ggufw *w, const shape *sh, int target, uint64_t seed) {
    char name[64];
    snprintf(name, sizeof name, "synthetic-%s", sh->name);
    int rc = ggufw_set_str(w, "general.architecture", "llama") | ggufw_set_str(w, "general.name", name) |
             ggufw_set_u32(w, "general.file_type", (uint32_t)qplan_ftype(target));
    if (target != QT_F32) rc |= ggufw_set_u32(w, "general.quantization_version", 2);
    rc |= ggufw_set_u32(w, "llama.vocab_size", (uint32_t)sh->n_vocab) |
          ggufw_set_u32(w, "llama.context_length", (uint32_t)sh->ctx) |
          ggufw_set_u32(w, "llama.embedding_length", (uint32_t)sh->dim) |
          ggufw_set_u32(w, "llama.block_count", (uint32_t)sh->n_layers) |
          ggufw_set_u32(w, "llama.feed_forward_length", (uint32_t)sh->ffn) |
          ggufw_set_u32(w, "llama.rope.dimension_count", (uint32_t)(sh->dim / sh->n_heads)) |
          ggufw_set_u32(w, "llama.attention.head_count", (uint32_t)sh->n_heads) |
          ggufw_set_u32(w, "llama.attention.head_count_kv", (uint32_t)sh->n_kv_heads) |
          ggufw_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f) |
          ggufw_set_f32(w, "llama.rope.freq_base", sh->rope_base) |
          ggufw_set_str(w, "logitlab.synth.shape", sh->name) | ggufw_set_u64(w, "logitlab.synth.seed", seed);
    return rc;
}

/* The vocabulary: --vocab, else the Llama 2 file for 32000-token SPM shapes
 * if it can be found, else generated. *what says which, for the summary. */
static int set_vocab(ggufw *w, const shape *sh, const char *vocab_arg, gguf **src, const char **what,
                     char *err, size_t errlen) {
    char path[4096], ferr[1024];
    const char *vp = NULL;
    if (vocab_arg) {
        if (mpath_find(vocab_arg, path, sizeof path, err, errlen)) return -1;
        vp = path;
    } else if (!sh->bpe && sh->n_vocab == 32000 &&
               mpath_find(SPM_VOCAB_FILE, path, sizeof path, ferr, sizeof ferr) == 0) {
        vp = path;
    }
    if (vp) {
        if (gguf_open(src, vp, err, errlen)) return -1;
        *what = gguf_path(*src);
        return vocabgen_copy(w, *src, sh->n_vocab, err, errlen);
    }
    *what = sh->bpe ? "generated byte-level BPE" : "generated SPM";
    return sh->bpe ? vocabgen_bpe(w, sh->n_vocab, err, errlen) : vocabgen_spm(w, sh->n_vocab, err, errlen);
}

/* ---- data ---- */

typedef struct gen_job {
    const tspec *t;
    int index;              /* tensor index: part of each row's seed */
    uint64_t seed, r0, r1;  /* rows [r0, r1) of this chunk */
    size_t row_bytes;
    uint8_t *out;           /* (r1 - r0) rows of row_bytes */
    float *scratch;         /* (nth, max row length) */
    size_t scratch_stride;
} gen_job;

static void gen_rows(void *arg, int ith, int nth) {
    gen_job *j = arg;
    long lo, hi;
    pool_split((long)(j->r1 - j->r0), ith, nth, &lo, &hi);
    float *row = j->scratch + (size_t)ith * j->scratch_stride;
    for (long i = lo; i < hi; i++) {
        rng g;
        rng_init_mix(&g, j->seed, (uint64_t)j->index, j->r0 + (uint64_t)i);
        rng_normal(&g, row, (int64_t)j->t->ne[0], j->t->mean, j->t->sd);
        qt_quantize_row((int)j->t->type, row, j->out + (size_t)i * j->row_bytes, (int64_t)j->t->ne[0]);
    }
}

/* "[ 12/291] blk.1.attn_q.weight" on one rewritten line, for terminals only:
 * a 7B file takes minutes. With --json, an object per tensor on stdout
 * instead (before it is written: "tensor" counts from 1), as convert --json. */
static void progress(bool on, bool json, int i, int n, const char *name) {
    if (json && i < n) {
        printf("{\"type\":\"progress\",\"tensor\":%d,\"tensors\":%d,\"name\":", i + 1, n);
        cli_put_json_str(stdout, name, strlen(name));
        printf("}\n");
        fflush(stdout);
    }
    if (!on || json) return;
    if (i < n) fprintf(stderr, "\r[%4d/%d] %-40s", i + 1, n, name);
    else fprintf(stderr, "\r%60s\r", "");
    fflush(stderr);
}

static int write_data(ggufw *w, const plan *p, uint64_t seed, pool *pl, bool json, char *err, size_t errlen) {
    uint64_t max_ne0 = 0;
    for (int i = 0; i < p->n; i++) if (p->t[i].ne[0] > max_ne0) max_ne0 = p->t[i].ne[0];
    int nth = pool_size(pl);
    float *scratch = malloc(sizeof(float) * (size_t)(max_ne0 + 2) * (size_t)nth);
    uint8_t *buf = malloc(CHUNK_BYTES + qt_row_size(QT_F32, (int64_t)max_ne0));
    int rc = -1;
    bool tty = isatty(STDERR_FILENO);
    if (!scratch || !buf) { snprintf(err, errlen, "out of memory"); goto out; }
    for (int i = 0; i < p->n; i++) {
        const tspec *t = &p->t[i];
        progress(tty, json, i, p->n, t->name);
        size_t rb = qt_row_size((int)t->type, (int64_t)t->ne[0]);
        uint64_t per = CHUNK_BYTES / rb ? CHUNK_BYTES / rb : 1;
        for (uint64_t r0 = 0; r0 < t->ne[1]; r0 += per) {
            uint64_t r1 = r0 + per < t->ne[1] ? r0 + per : t->ne[1];
            gen_job j = { t, i, seed, r0, r1, rb, buf, scratch, (size_t)max_ne0 + 2 };
            pool_run(pl, gen_rows, &j);
            if (ggufw_write_data(w, buf, (size_t)(r1 - r0) * rb, err, errlen)) goto out;
        }
    }
    rc = 0;
out:
    progress(tty, json, p->n, p->n, "");
    free(scratch);
    free(buf);
    return rc;
}

static int synth_run(const shape *sh, int target, const char *out, uint64_t seed, const char *vocab,
                     int threads, bool json) {
    char err[1024];
    plan p = {0};
    ggufw *w = ggufw_create();
    gguf *src = NULL;
    pool *pl = NULL;
    const char *what = "";
    int rc = CLI_FAIL;
    double t0 = cli_now();
    if (!w || make_plan(&p, sh, target)) { cli_fail("synth", "out of memory"); goto out; }
    if (set_hparams(w, sh, target, seed)) { cli_fail("synth", "cannot set the metadata"); goto out; }
    if (set_vocab(w, sh, vocab, &src, &what, err, sizeof err)) { cli_fail("synth", "%s", err); goto out; }
    for (int i = 0; i < p.n; i++)
        if (ggufw_add_tensor(w, p.t[i].name, p.t[i].type, p.t[i].n_dims, p.t[i].ne)) {
            cli_fail("synth", "cannot declare tensor %s", p.t[i].name);
            goto out;
        }
    if (!(pl = pool_create(threads))) { cli_fail("synth", "cannot start %d threads", threads); goto out; }
    if (ggufw_begin(w, out, err, sizeof err) || write_data(w, &p, seed, pl, json, err, sizeof err) ||
        ggufw_end(w, err, sizeof err)) {
        cli_fail("synth", "%s", err);
        goto out;
    }
    int fallbacks = 0;
    for (int i = 0; i < p.n; i++) fallbacks += p.t[i].n_dims > 1 && p.t[i].type != (uint32_t)target;
    char sz[32];
    if (json) {
        printf("{\"type\":\"done\",\"output\":");
        cli_put_json_str(stdout, out, strlen(out));
        printf(",\"shape\":\"%s\",\"dtype\":\"%s\",\"tensors\":%d,\"wider\":%d,\"params\":%" PRIu64
               ",\"bytes\":%" PRIu64 ",\"vocabulary\":", sh->name, qt_get(target)->name, p.n, fallbacks,
               (uint64_t)p.params, (uint64_t)p.bytes);
        cli_put_json_str(stdout, what, strlen(what));
        printf(",\"seed\":%" PRIu64 ",\"seconds\":%.3f}\n", seed, cli_now() - t0);
    } else {
        printf("wrote %s: %s, %s, %d tensors (%d kept a wider type), %.2f M params, %s, vocabulary %s, "
               "seed %" PRIu64 ", %.1f s\n", out, sh->name, qt_get(target)->name, p.n, fallbacks,
               (double)p.params / 1e6, cli_fmt_bytes(p.bytes, sz, sizeof sz), what, seed, cli_now() - t0);
    }
    rc = CLI_OK;
out:
    ggufw_destroy(w); /* unless ggufw_end completed it, removes the temporary: an old file stays */
    gguf_close(src);
    pool_destroy(pl);
    free(p.t);
    return rc;
}

int cmd_synth(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc) return rc == CLI_HELP ? CLI_OK : rc;
    if (!a.val[O_SHAPE] || !a.val[O_TYPE] || !a.val[O_OUT])
        return cli_usage_error("synth", "--shape, --type and -o are required");
    const shape *sh = NULL;
    for (int i = 0; i < N_SHAPES; i++)
        if (strcmp(shapes[i].name, a.val[O_SHAPE]) == 0) sh = &shapes[i];
    if (!sh) return cli_usage_error("synth", "unknown shape '%s' (stories15m, tinyllama-1.1b, llama2-7b, "
                                    "llama3-8b, test)", a.val[O_SHAPE]);
    int target = qt_from_name(a.val[O_TYPE]);
    if (target < 0 || !qplan_is_target(target))
        return cli_usage_error("synth", "unknown type '%s' (%s)", a.val[O_TYPE], qplan_type_list());
    uint64_t seed = 1;
    long threads = 0;
    if ((rc = cli_u64("synth", "--seed", a.val[O_SEED], &seed)) ||
        (rc = cli_int("synth", "-t", a.val[O_THREADS], 1, 1024, &threads)))
        return rc;
    if (store_own_path_any(a.val[O_OUT]))
        return cli_usage_error("synth", "-o %s is a file of a workspace (its data would be replaced)", a.val[O_OUT]);
    return synth_run(sh, target, a.val[O_OUT], seed, a.val[O_VOCAB], (int)threads, a.val[O_JSON] != NULL);
}
