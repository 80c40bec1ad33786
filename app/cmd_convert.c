/* cmd_convert: `logitlab convert IN.bin OUT.gguf` writes a llama2.c
 * checkpoint (any version model_open reads) with its tokenizer as a GGUF v3
 * file of the `llama` architecture, with the keys and tensor names of the
 * GGUF spec's LLM section (ggml's docs/gguf.md) that llama.cpp reads.
 *
 * The weights are written as the engine loaded them: F32 for versions 0 and
 * 1, Q8_0 blocks (or F32 where the groups do not fit) for version 2, all F32
 * with --exact-int8; `logitlab quantize` converts further. Both formats rotate
 * interleaved pairs in RoPE (llama.cpp's "normal" RoPE for llama), so no
 * permutation of wq/wk is needed: the GGUF computes the same logits
 * (tests/test_convert.sh compares them bitwise). The tokenizer is the SPM
 * vocabulary as tok_from_llama2c normalised it (spaces as U+2581, <s> and
 * </s> control tokens, <0xNN> byte tokens), with scores and token types.
 */
#include "cmd_convert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "ggufw.h"
#include "model.h"
#include "modelpath.h"
#include "qplan.h"
#include "qtypes.h"
#include "store.h"
#include "tok.h"

#define CMD "convert"

enum { O_TOKENIZER, O_EXACT, O_QUIET, O_JSON };
static const cli_opt opts[] = {
    { "tokenizer", 0, "PATH", "the tokenizer.bin (default: tok<N>.bin or tokenizer.bin beside IN)" },
    { "exact-int8", 0, NULL, "version 2: int8 weights widened to F32 exactly instead of Q8_0 blocks" },
    { "quiet", 'q', NULL, "print only the summary (no progress line)" },
    { "json", 0, NULL, "a JSON object per tensor written, then a JSON summary, on stdout" },
};
static const cli_spec spec = {
    CMD, "[options] IN.bin OUT.gguf",
    "Writes the llama2.c checkpoint IN (versions 0, 1 and 2 of llama2.c's export.py; a path or a\n"
    "model name) and its tokenizer as a GGUF file of the llama architecture, which logitlab and\n"
    "llama.cpp open. Weights keep the type logitlab loads them as (F32; Q8_0 for version 2 where\n"
    "the groups allow); `logitlab quantize OUT.gguf OUT2.gguf TYPE` converts further.",
    opts, (int)(sizeof opts / sizeof opts[0]), 2, 2,
};

typedef struct wtensor { char name[48]; const void *data; int type; int64_t rows, cols; } wtensor;

static int add(wtensor *t, int *n, const char *name, const void *data, int type, int64_t rows, int64_t cols) {
    wtensor *w = &t[(*n)++];
    snprintf(w->name, sizeof w->name, "%s", name);
    w->data = data; w->type = type; w->rows = rows; w->cols = cols;
    return 0;
}

/* Every tensor of m in GGUF order: embedding, layers, final norm, output. */
static int collect(const model *m, wtensor *t) {
    const model_info *h = model_get_info(m);
    int n = 0;
    const model_weight *e = model_tok_embd(m);
    add(t, &n, "token_embd.weight", e->data, e->type, e->rows, e->cols);
    char name[48];
    for (int32_t il = 0; il < h->n_layers; il++) {
        const model_layer *ly = model_get_layer(m, il);
        struct { const char *n; const model_weight *w; const float *v; } ws[] = {
            {"attn_norm", NULL, ly->attn_norm}, {"attn_q", &ly->wq, NULL}, {"attn_k", &ly->wk, NULL},
            {"attn_v", &ly->wv, NULL}, {"attn_output", &ly->wo, NULL}, {"ffn_norm", NULL, ly->ffn_norm},
            {"ffn_gate", &ly->w_gate, NULL}, {"ffn_down", &ly->w_down, NULL}, {"ffn_up", &ly->w_up, NULL},
        };
        for (size_t k = 0; k < sizeof ws / sizeof ws[0]; k++) {
            snprintf(name, sizeof name, "blk.%d.%s.weight", il, ws[k].n);
            if (ws[k].w) add(t, &n, name, ws[k].w->data, ws[k].w->type, ws[k].w->rows, ws[k].w->cols);
            else add(t, &n, name, ws[k].v, QT_F32, 1, h->dim);
        }
    }
    add(t, &n, "output_norm.weight", model_output_norm(m), QT_F32, 1, h->dim);
    if (!h->tied_output) {
        const model_weight *o = model_output(m);
        add(t, &n, "output.weight", o->data, o->type, o->rows, o->cols);
    }
    return n;
}

static int put_vocab(ggufw *w, const tok *t) {
    int32_t nv = tok_n_vocab(t);
    const char **strs = malloc(sizeof *strs * (size_t)nv);
    size_t *lens = malloc(sizeof *lens * (size_t)nv);
    float *scores = malloc(sizeof *scores * (size_t)nv);
    int32_t *types = malloc(sizeof *types * (size_t)nv);
    int rc = -1;
    if (strs && lens && scores && types) {
        for (int32_t i = 0; i < nv; i++) {
            strs[i] = tok_text(t, i, &lens[i]);
            scores[i] = tok_score(t, i);
            types[i] = tok_attr(t, i);
        }
        rc = ggufw_set_str(w, "tokenizer.ggml.model", "llama") ||
             ggufw_set_str_arr(w, "tokenizer.ggml.tokens", strs, lens, (uint64_t)nv) ||
             ggufw_set_arr(w, "tokenizer.ggml.scores", GGUF_T_F32, scores, (uint64_t)nv) ||
             ggufw_set_arr(w, "tokenizer.ggml.token_type", GGUF_T_I32, types, (uint64_t)nv);
        struct { const char *k; int32_t id; } ids[] = {
            {"tokenizer.ggml.bos_token_id", tok_bos(t)}, {"tokenizer.ggml.eos_token_id", tok_eos(t)},
            {"tokenizer.ggml.unknown_token_id", tok_unk(t)},
        };
        for (size_t k = 0; k < sizeof ids / sizeof ids[0] && !rc; k++)
            if (ids[k].id >= 0) rc = ggufw_set_u32(w, ids[k].k, (uint32_t)ids[k].id);
        if (!rc) rc = ggufw_set_bool(w, "tokenizer.ggml.add_bos_token", tok_add_bos(t)) ||
                      ggufw_set_bool(w, "tokenizer.ggml.add_eos_token", false);
    }
    free(strs); free(lens); free(scores); free(types);
    return rc ? -1 : 0;
}

static int put_hparams(ggufw *w, const model_info *h) {
    struct { const char *k; int32_t v; } u[] = {
        {"llama.context_length", h->ctx_train}, {"llama.embedding_length", h->dim},
        {"llama.block_count", h->n_layers}, {"llama.feed_forward_length", h->ffn_dim},
        {"llama.rope.dimension_count", h->rope_dim}, {"llama.attention.head_count", h->n_heads},
        {"llama.attention.head_count_kv", h->n_kv_heads}, {"llama.vocab_size", h->n_vocab},
        {"general.file_type", qplan_ftype(h->wtype)},
    };
    if (ggufw_set_str(w, "general.architecture", "llama") || ggufw_set_str(w, "general.name", h->name))
        return -1;
    for (size_t k = 0; k < sizeof u / sizeof u[0]; k++)
        if (ggufw_set_u32(w, u[k].k, (uint32_t)u[k].v)) return -1;
    if (h->wtype != QT_F32 && ggufw_set_u32(w, "general.quantization_version", 2)) return -1;
    return ggufw_set_f32(w, "llama.attention.layer_norm_rms_epsilon", h->rms_eps) ||
           ggufw_set_f32(w, "llama.rope.freq_base", h->rope_base) ? -1 : 0;
}

/* The live line: rewritten on a terminal, cleared at the end (i == n). */
static void live(int i, int n, const char *name) {
    if (i < n) fprintf(stderr, "\r\033[Kconvert: tensor %d/%d %s", i + 1, n, name);
    else fputs("\r\033[K", stderr);
    fflush(stderr);
}

int cmd_convert_write(const char *path, const char *out, FILE *to, const char *tok_path, bool exact, int progress,
                      char *err, size_t errlen) {
    model *m = NULL;
    model_params mp = { .tokenizer_path = tok_path, .l2c_exact = exact };
    if (model_open(&m, path, &mp, err, errlen)) return -1;
    const model_info *h = model_get_info(m);
    if (h->l2c_version < 0) {
        model_close(m);
        snprintf(err, errlen, "%s is already a GGUF file: `logitlab quantize` rewrites GGUFs", path);
        return -1;
    }
    wtensor *t = malloc(sizeof *t * ((size_t)h->n_layers * 9 + 3));
    ggufw *w = ggufw_create();
    if (!t || !w) { free(t); ggufw_destroy(w); model_close(m); snprintf(err, errlen, "out of memory"); return -1; }
    int n = collect(m, t);
    int rc = put_hparams(w, h) || put_vocab(w, model_tok(m)) ? -1 : 0;
    for (int i = 0; i < n && !rc; i++) {
        uint64_t ne[2] = { (uint64_t)t[i].cols, (uint64_t)t[i].rows };
        rc = ggufw_add_tensor(w, t[i].name, (uint32_t)t[i].type, t[i].rows > 1 ? 2 : 1, ne);
    }
    char werr[4200];        /* the writer's errors name the file (ggufw.c) */
    snprintf(werr, sizeof werr, "%s: cannot build the GGUF header (out of memory)", out);
    if (!rc) rc = to ? ggufw_begin_file(w, to, out, werr, sizeof werr) : ggufw_begin(w, out, werr, sizeof werr);
    uint64_t bytes = 0;
    bool tty = progress == CONVERT_LIVE && isatty(STDERR_FILENO);
    for (int i = 0; i < n && !rc; i++) {
        size_t sz = qt_row_size(t[i].type, t[i].cols) * (size_t)t[i].rows;
        if (tty) live(i, n, t[i].name);
        rc = ggufw_write_data(w, t[i].data, sz, werr, sizeof werr);
        bytes += sz;
        if (!rc && progress == CONVERT_JSON) {
            printf("{\"type\":\"progress\",\"tensor\":%d,\"tensors\":%d,\"name\":", i + 1, n);
            cli_put_json_str(stdout, t[i].name, strlen(t[i].name));
            printf(",\"dtype\":\"%s\",\"cols\":%lld,\"rows\":%lld,\"written\":%llu}\n", qt_get(t[i].type)->name,
                   (long long)t[i].cols, (long long)t[i].rows, (unsigned long long)bytes);
            fflush(stdout);
        }
    }
    if (tty) live(n, n, NULL);
    if (!rc) rc = ggufw_end(w, werr, sizeof werr);
    if (rc) snprintf(err, errlen, "%s", werr);
    else if (progress == CONVERT_JSON) {
        printf("{\"type\":\"done\",\"input\":");
        cli_put_json_str(stdout, path, strlen(path));
        printf(",\"format\":");
        cli_put_json_str(stdout, h->format, strlen(h->format));
        printf(",\"output\":");
        cli_put_json_str(stdout, out, strlen(out));
        printf(",\"tensors\":%d,\"bytes\":%llu,\"tokens\":%d}\n", n, (unsigned long long)bytes,
               tok_n_vocab(model_tok(m)));
    } else if (progress != CONVERT_SILENT) {
        char sz[32];
        printf("%s (%s) -> %s: %d tensors, %s of weights, %d tokens\n", path, h->format, out, n,
               cli_fmt_bytes(bytes, sz, sizeof sz), tok_n_vocab(model_tok(m)));
    }
    ggufw_destroy(w);
    free(t);
    model_close(m);
    return rc ? -1 : 0;
}

int cmd_convert(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc) return rc == CLI_HELP ? CLI_OK : rc;
    char path[4096], err[1024];
    if (mpath_resolve(a.pos[0], path, sizeof path, err, sizeof err)) return cli_fail(CMD, "%s", err);
    /* writing over the checkpoint being read truncates its mapping under us
     * (a SIGBUS, and the checkpoint lost), as quantize says too */
    struct stat si, so;
    if (stat(path, &si) == 0 && stat(a.pos[1], &so) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
        return cli_usage_error(CMD, "IN and OUT are the same file");
    if (store_own_path_any(a.pos[1]))
        return cli_usage_error(CMD, "OUT %s is a file of a workspace (its data would be replaced)", a.pos[1]);
    int progress = a.val[O_JSON] ? CONVERT_JSON : a.val[O_QUIET] ? CONVERT_QUIET : CONVERT_LIVE;
    if (cmd_convert_write(path, a.pos[1], NULL, a.val[O_TOKENIZER], a.val[O_EXACT] != NULL, progress, err, sizeof err))
        return cli_fail(CMD, "%s", err);
    return CLI_OK;
}
