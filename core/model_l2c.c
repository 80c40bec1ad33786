/* model_l2c: llama2.c checkpoints, in the three layouts llama2.c's export.py
 * writes (the layouts are facts of the format; this is our own reader).
 *
 *  version 0 (legacy): seven int32 (dim, hidden_dim, n_layers, n_heads,
 *    n_kv_heads, vocab_size, max_seq_len; a negative vocab_size means a
 *    separate classifier), then fp32: token embedding, the attention norms of
 *    every layer, wq, wk, wv, wo of every layer, the FFN norms, w1 (gate), w2
 *    (down), w3 (up), the final norm, the RoPE cos and sin tables (seq_len x
 *    head_dim/2 each, unused: we compute RoPE), then the classifier if separate.
 *  version 1: a 256-byte header: uint32 magic 0x616b3432 ("ak42"), int32
 *    version, the seven int32 (vocab_size positive), a uint8 shared-classifier
 *    flag, zero padding. Then fp32: the attention norms, the FFN norms, the final
 *    norm, then the matrices: embedding, wq, wk, wv, wo, w1, w2, w3 (each for
 *    every layer), the classifier if separate.
 *  version 2: the version 1 header with an int32 group size at byte 37; the
 *    norms in fp32 as in version 1, then each matrix (same order) as int8 codes
 *    of its flattened row-major values followed by one fp32 scale per group of
 *    `group` consecutive codes (value = code * scale). An earlier export.py
 *    wrote every matrix's codes first and all the scales after them: the same
 *    size, told apart by which reading gives valid scales.
 *
 * Versions 0 and 1 are used in place in the mapping. Version 2 matrices are
 * converted once: where the group size and the row length are multiples of 32
 * and every scale is an fp16 normal (or 0), each 32 codes become one Q8_0
 * block with the group's scale rounded to fp16 (relative change <= 2^-11, far
 * below the int8 rounding itself); otherwise the matrix is widened to F32,
 * each value computed as code * scale exactly as llama2.c's dequantize does
 * (model_params.l2c_exact asks for that everywhere: Q8_0 also rounds the
 * activations to 8 bits, which moves logits by ~1e-2 and can flip near-ties).
 * Invariant: on success every weight and norm points at checked memory.
 */
#include "model_impl.h"
#include "fio.h"
#include "qtypes.h"
#include "tok.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC 0x616b3432u   /* "ak42" read as a little-endian uint32 */
#define HEADER 256          /* versions 1 and 2 */
#define HEADER_V0 28

static const char EXPECTS[] =
    "logitlab reads GGUF files (magic \"GGUF\"), llama2.c checkpoints of export.py version 1 or 2 "
    "(magic \"ak42\", a 256-byte header) and legacy llama2.c checkpoints (seven int32 hyperparameters, "
    "then fp32 weights)";

enum kind { K_EMB, K_ATTN_NORM, K_Q, K_K, K_V, K_O, K_FFN_NORM, K_GATE, K_DOWN, K_UP,
            K_OUT_NORM, K_COS, K_SIN, K_OUTPUT };

/* One array in file order. */
typedef struct slot { enum kind k; int32_t layer; } slot;

static bool is_matrix(enum kind k) {
    return k == K_EMB || k == K_OUTPUT || (k >= K_Q && k <= K_UP && k != K_FFN_NORM);
}

/* ---- what a file that is not a model looks like ---- */

static bool looks_text(const unsigned char *b, size_t n) {
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned c = b[i];
        if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') return false;
        if (c == 0x7f) return false;
    }
    return true;
}

/* A llama2.c tokenizer.bin starts with int32 max_token_length, then the first
 * token's fp32 score and int32 length. */
static bool looks_l2c_tokenizer(const unsigned char *b, size_t n) {
    if (n < 12) return false;
    int32_t maxlen, len;
    float score;
    memcpy(&maxlen, b, 4); memcpy(&score, b + 4, 4); memcpy(&len, b + 8, 4);
    return maxlen > 0 && maxlen <= 4096 && isfinite(score) && len > 0 && len <= maxlen;
}

static const char *describe(const unsigned char *b, size_t n) {
    if (n == 0) return "the file is empty";
    if (n >= 4 && memcmp(b, "PK\3\4", 4) == 0) return "it is a zip archive (a PyTorch .pt/.pth checkpoint is one): export it with llama2.c's export.py or convert it to GGUF";
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) return "it is gzip-compressed: decompress it first";
    if (n >= 4 && memcmp(b, "\177ELF", 4) == 0) return "it is an executable (ELF)";
    if (n >= 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5) return "it looks like a Python pickle, not an exported checkpoint";
    if (n >= 9 && b[8] == '{') return "it looks like a safetensors file (a JSON header after an 8-byte length): convert it to GGUF";
    if (looks_l2c_tokenizer(b, n)) return "it looks like a llama2.c tokenizer (tokenizer.bin), not a model";
    if (looks_text(b, n < 64 ? n : 64)) return "it starts with text, not a binary model header";
    if (n >= 4 && b[0] == 0x0a) return "it looks like a protobuf file (a SentencePiece tokenizer.model?), not a model";
    return "its first bytes match no model header logitlab knows";
}

/* A version 0 header is seven int32 hyperparameters; this tells plausible
 * from arbitrary bytes before any of them is reported as a number. */
static bool plausible_v0(const int32_t hd[7]) {
    return hd[0] > 0 && hd[0] <= 65536 && hd[1] > 0 && hd[1] <= 1 << 20 && hd[2] > 0 && hd[2] <= 1024 &&
           hd[3] > 0 && hd[3] <= hd[0] && hd[4] > 0 && hd[4] <= hd[3] && hd[5] != 0 && hd[5] != INT32_MIN &&
           abs(hd[5]) <= 1 << 24 && hd[6] > 0 && hd[6] <= 1 << 24;
}

/* ---- layout ---- */

static int32_t layout(int version, int32_t L, bool shared, slot *s) {
    int32_t n = 0;
    if (version == 0) {
        static const enum kind per[] = { K_ATTN_NORM, K_Q, K_K, K_V, K_O, K_FFN_NORM, K_GATE, K_DOWN, K_UP };
        s[n++] = (slot){ K_EMB, -1 };
        for (size_t k = 0; k < sizeof per / sizeof per[0]; k++)
            for (int32_t il = 0; il < L; il++) s[n++] = (slot){ per[k], il };
        s[n++] = (slot){ K_OUT_NORM, -1 };
        s[n++] = (slot){ K_COS, -1 };
        s[n++] = (slot){ K_SIN, -1 };
    } else {
        static const enum kind per[] = { K_Q, K_K, K_V, K_O, K_GATE, K_DOWN, K_UP };
        for (int32_t il = 0; il < L; il++) s[n++] = (slot){ K_ATTN_NORM, il };
        for (int32_t il = 0; il < L; il++) s[n++] = (slot){ K_FFN_NORM, il };
        s[n++] = (slot){ K_OUT_NORM, -1 };
        s[n++] = (slot){ K_EMB, -1 };
        for (size_t k = 0; k < sizeof per / sizeof per[0]; k++)
            for (int32_t il = 0; il < L; il++) s[n++] = (slot){ per[k], il };
    }
    if (!shared) s[n++] = (slot){ K_OUTPUT, -1 };
    return n;
}

static void shape(const model_info *h, enum kind k, int64_t *rows, int64_t *cols) {
    int64_t D = h->dim, F = h->ffn_dim, V = h->n_vocab, KV = (int64_t)h->n_kv_heads * h->head_dim;
    switch (k) {
    case K_EMB: case K_OUTPUT: *rows = V; *cols = D; break;
    case K_Q: case K_O: *rows = D; *cols = D; break;
    case K_K: case K_V: *rows = KV; *cols = D; break;
    case K_GATE: case K_UP: *rows = F; *cols = D; break;
    case K_DOWN: *rows = D; *cols = F; break;
    case K_COS: case K_SIN: *rows = h->ctx_train; *cols = h->head_dim / 2; break;
    default: *rows = 1; *cols = D; break;
    }
}

static void array_name(const slot *s, char *out, size_t n) {
    static const char *names[] = { "token_embd", "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                                   "ffn_norm", "ffn_gate", "ffn_down", "ffn_up", "output_norm",
                                   "rope.freqs_cos", "rope.freqs_sin", "output" };
    if (s->layer >= 0) snprintf(out, n, "blk.%d.%s.weight", s->layer, names[s->k]);
    else if (s->k == K_COS || s->k == K_SIN) snprintf(out, n, "%s", names[s->k]);
    else snprintf(out, n, "%s.weight", names[s->k]);
}

/* Fills m->arrays with offsets; returns the bytes the layout needs past the
 * header, or -1 on overflow. Version 2 matrices: codes then scales
 * (interleaved) or, with scales_last, every code block first. */
static int64_t place(model *m, const slot *s, int32_t n, bool scales_last) {
    const model_info *h = &m->info;
    uint64_t off = h->l2c_version == 0 ? HEADER_V0 : HEADER;
    int64_t G = h->l2c_group;
    for (int32_t i = 0; i < n; i++) {
        model_l2c_array *a = &m->arrays[i];
        array_name(&s[i], a->name, sizeof a->name);
        shape(h, s[i].k, &a->rows, &a->cols);
        uint64_t cnt = (uint64_t)a->rows * (uint64_t)a->cols;
        a->offset = off;
        a->scale_offset = a->scale_size = 0;
        a->loaded_type = s[i].k == K_COS || s[i].k == K_SIN ? -1 : QT_F32;
        if (h->l2c_version == 2 && is_matrix(s[i].k)) {
            a->size = cnt;
            a->scale_size = cnt / (uint64_t)G * 4;
            off += a->size;
            if (!scales_last) { a->scale_offset = off; off += a->scale_size; }
        } else {
            a->size = cnt * 4;
            off += a->size;
        }
        if (off > (uint64_t)INT64_MAX / 2) return -1;
    }
    if (scales_last)
        for (int32_t i = 0; i < n; i++)
            if (m->arrays[i].scale_size) { m->arrays[i].scale_offset = off; off += m->arrays[i].scale_size; }
    return (int64_t)off;
}

/* ---- version 2 conversion ---- */

static float scale_at(const model *m, const model_l2c_array *a, int64_t g) {
    float s;
    memcpy(&s, (const char *)m->map + a->scale_offset + (uint64_t)g * 4, 4);
    return s;
}

/* -1 if some scale is NaN, infinite or negative; else 1 if all fit fp16 as
 * normals (or are 0), 0 if not. */
static int check_scales(const model *m, const model_l2c_array *a) {
    int64_t ng = (int64_t)(a->scale_size / 4);
    int fits = 1;
    for (int64_t g = 0; g < ng; g++) {
        float s = scale_at(m, a, g);
        if (!isfinite(s) || s < 0) return -1;
        if (s != 0 && (s < 0x1p-14f || s > 65504.0f)) fits = 0;
    }
    return fits;
}

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

static int convert_v2(model *m, int32_t n, bool exact, char *err, size_t errlen) {
    int64_t G = m->info.l2c_group;
    size_t total = 0;
    for (int32_t i = 0; i < n; i++) {
        model_l2c_array *a = &m->arrays[i];
        if (!a->scale_size) continue;
        int fits = check_scales(m, a);
        bool q8 = fits == 1 && G % QK8_0 == 0 && a->cols % QK8_0 == 0 && !exact;
        a->loaded_type = q8 ? QT_Q8_0 : QT_F32;
        total += align64(qt_row_size(a->loaded_type, a->cols) * (size_t)a->rows);
    }
    if (!(m->wbuf = aligned_alloc(64, total ? total : 64)))
        return model_fail(err, errlen, m->path, "out of memory converting the int8 weights (%zu bytes)", total);
    char *dst = m->wbuf;
    for (int32_t i = 0; i < n; i++) {
        model_l2c_array *a = &m->arrays[i];
        if (!a->scale_size) continue;
        const int8_t *q = (const int8_t *)((const char *)m->map + a->offset);
        int64_t cnt = a->rows * a->cols;
        if (a->loaded_type == QT_Q8_0) {
            qt_block_q8_0 *b = (qt_block_q8_0 *)dst;
            for (int64_t j = 0; j < cnt / QK8_0; j++) {
                b[j].d = qt_f32_to_f16(scale_at(m, a, j * QK8_0 / G));
                memcpy(b[j].qs, q + j * QK8_0, QK8_0);
            }
        } else {
            float *f = (float *)dst;
            for (int64_t j = 0; j < cnt; j++) f[j] = (float)q[j] * scale_at(m, a, j / G);
        }
        dst += align64(qt_row_size(a->loaded_type, a->cols) * (size_t)a->rows);
    }
    return 0;
}

/* ---- header ---- */

static int read_header(model *m, int *version, bool *shared, char *err, size_t errlen) {
    const unsigned char *b = m->map;
    size_t n = m->map_size;
    model_info *h = &m->info;
    uint32_t magic = 0;
    if (n >= 4) memcpy(&magic, b, 4);
    int32_t hd[7];
    if (magic == MAGIC) {
        if (n < HEADER)
            return model_fail(err, errlen, m->path, "has the llama2.c \"ak42\" magic but is shorter than "
                              "its 256-byte header: the file is cut short");
        int32_t v;
        memcpy(&v, b + 4, 4);
        if (v != 1 && v != 2)
            return model_fail(err, errlen, m->path, "has the llama2.c \"ak42\" magic but a format version other "
                              "than 1 (fp32) and 2 (int8 groups), the versions llama2.c's export.py writes with that "
                              "header: a newer or damaged file");
        memcpy(hd, b + 8, sizeof hd);
        if (b[36] > 1)
            return model_fail(err, errlen, m->path, "llama2.c version %d header is damaged: the shared-classifier "
                              "flag (byte 36) is neither 0 nor 1", v);
        if (!plausible_v0(hd) || hd[5] < 0)
            return model_fail(err, errlen, m->path, "llama2.c version %d header is damaged: its hyperparameters "
                              "(bytes 8-35: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, "
                              "max_seq_len) are not those of a model", v);
        *shared = b[36] == 1;
        if (v == 2) {
            memcpy(&h->l2c_group, b + 37, 4);
            if (h->l2c_group <= 0)
                return model_fail(err, errlen, m->path, "llama2.c version 2 header is damaged: the group size "
                                  "(bytes 37-40) is not positive");
        }
        *version = v;
    } else {
        if (n < HEADER_V0 || (memcpy(hd, b, sizeof hd), !plausible_v0(hd)))
            return model_fail(err, errlen, m->path, "not a model logitlab can read: %s. %s",
                              describe(b, n < 64 ? n : 64), EXPECTS);
        *shared = hd[5] > 0;
        hd[5] = abs(hd[5]);
        *version = 0;
    }
    h->dim = hd[0]; h->ffn_dim = hd[1]; h->n_layers = hd[2]; h->n_heads = hd[3];
    h->n_kv_heads = hd[4]; h->n_vocab = hd[5]; h->ctx_train = hd[6];
    h->l2c_version = *version;
    return 0;
}

int model_l2c_sniff(const char *path, const unsigned char *b, size_t n, char *err, size_t errlen) {
    if (n < HEADER_V0)
        return model_fail(err, errlen, path, "not a model logitlab can read: %lld bytes, shorter than any "
                          "model header (%s). %s", (long long)n, describe(b, n), EXPECTS);
    model m;                            /* read_header reads path, map and map_size, writes info */
    memset(&m, 0, sizeof m);
    m.path = (char *)path;
    m.map = (void *)b;
    m.map_size = n;
    int version;
    bool shared;
    return read_header(&m, &version, &shared, err, errlen);
}

static int map_file(model *m, char *err, size_t errlen) {
    uint64_t fsize;
    int fd = fio_open(m->path, SIZE_MAX, &fsize, err, errlen);   /* a regular file, never blocking */
    if (fd < 0) return -1;
    if (fsize < HEADER_V0) {
        unsigned char b[HEADER_V0];
        ssize_t got = read(fd, b, sizeof b);
        close(fd);
        return model_fail(err, errlen, m->path, "not a model logitlab can read: %lld bytes, shorter than any "
                          "model header (%s). %s", (long long)fsize, describe(b, got > 0 ? (size_t)got : 0),
                          EXPECTS);
    }
    m->map_size = (size_t)fsize;
    m->map = mmap(NULL, m->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m->map == MAP_FAILED) { m->map = NULL; return model_fail(err, errlen, m->path, "mmap failed: %s", strerror(errno)); }
    return 0;
}

/* ---- wiring ---- */

static const void *array_data(const model *m, const model_l2c_array *a, const char **conv) {
    if (!a->scale_size) return (const char *)m->map + a->offset;
    const void *p = *conv;
    *conv += align64(qt_row_size(a->loaded_type, a->cols) * (size_t)a->rows);
    return p;
}

static void wire(model *m, const slot *s, int32_t n) {
    const char *conv = m->wbuf;
    for (int32_t i = 0; i < n; i++) {
        const model_l2c_array *a = &m->arrays[i];
        const void *p = array_data(m, a, &conv);
        model_weight w = { p, a->loaded_type, a->rows, a->cols };
        model_layer *ly = s[i].layer >= 0 ? &m->layers[s[i].layer] : NULL;
        switch (s[i].k) {
        case K_EMB: m->tok_embd = w; break;
        case K_OUTPUT: m->output = w; break;
        case K_OUT_NORM: m->output_norm = p; break;
        case K_ATTN_NORM: ly->attn_norm = p; break;
        case K_FFN_NORM: ly->ffn_norm = p; break;
        case K_Q: ly->wq = w; break;
        case K_K: ly->wk = w; break;
        case K_V: ly->wv = w; break;
        case K_O: ly->wo = w; break;
        case K_GATE: ly->w_gate = w; break;
        case K_DOWN: ly->w_down = w; break;
        case K_UP: ly->w_up = w; break;
        case K_COS: case K_SIN: break;
        }
    }
}

static int find_tokenizer(model *m, const model_params *p, char *err, size_t errlen) {
    char tp[4096];
    const char *tpath = p ? p->tokenizer_path : NULL;
    if (!tpath) {
        /* tok<V>.bin or tokenizer.bin beside the model */
        const char *sl = strrchr(m->path, '/');
        int dl = sl ? (int)(sl - m->path + 1) : 0;
        snprintf(tp, sizeof tp, "%.*stok%d.bin", dl, m->path, m->info.n_vocab);
        if (access(tp, R_OK) != 0) snprintf(tp, sizeof tp, "%.*stokenizer.bin", dl, m->path);
        tpath = tp;
    }
    /* a named file may be any tokenizer format (tokenizer.bin, a GGUF,
     * tokenizer.json); the one found beside the model is llama2.c's */
    if (p && p->tokenizer_path ? tok_open(&m->tok, tpath, err, errlen) : tok_from_llama2c(&m->tok, tpath, err, errlen))
        return -1;
    if (tok_n_vocab(m->tok) != m->info.n_vocab)
        return model_fail(err, errlen, m->path, "tokenizer %s has %d tokens but the model %d",
                          tpath, tok_n_vocab(m->tok), m->info.n_vocab);
    return 0;
}

int model_load_llama2c(model *m, const model_params *p, char *err, size_t errlen) {
    if (map_file(m, err, errlen)) return -1;
    model_info *h = &m->info;
    int version = 0;
    bool shared = true;
    if (read_header(m, &version, &shared, err, errlen)) return -1;
    h->rope_base = 10000.0f; h->rms_eps = 1e-5f; h->ftype = version == 2 ? -1 : 0;
    snprintf(h->arch, sizeof h->arch, "llama");
    snprintf(h->format, sizeof h->format, "llama2.c v%d", version);
    model_file_stem(m->path, h->name, sizeof h->name);
    if (model_check_hparams(m, err, errlen)) return -1;
    h->tied_output = shared;
    int32_t L = h->n_layers;
    slot *s = malloc(sizeof *s * ((size_t)L * 9 + 8));
    m->arrays = calloc((size_t)L * 9 + 8, sizeof *m->arrays);
    m->layers = calloc((size_t)L, sizeof *m->layers);
    if (!s || !m->arrays || !m->layers) { free(s); return model_fail(err, errlen, m->path, "out of memory"); }
    int32_t n = m->n_arrays = layout(version, L, shared, s);
    int rc = 0;
    if (version == 2) {
        for (int32_t i = 0; i < n && !rc; i++) {
            int64_t r, c;
            shape(h, s[i].k, &r, &c);
            if (is_matrix(s[i].k) && (r * c) % h->l2c_group)
                rc = model_fail(err, errlen, m->path, "llama2.c version 2: the group size %d does not divide the "
                                "%lld values of a %lld x %lld matrix: damaged header", h->l2c_group,
                                (long long)(r * c), (long long)r, (long long)c);
        }
    }
    int64_t need = rc ? 0 : place(m, s, n, false);
    if (!rc && (need < 0 || (uint64_t)need != m->map_size))
        rc = model_fail(err, errlen, m->path, "size %zu bytes does not match the llama2.c version %d header "
                        "(expected %lld): the file is cut short or damaged", m->map_size, version, (long long)need);
    if (!rc && version == 2) {
        int bad = -1;
        for (int32_t i = 0; i < n && bad < 0; i++) if (m->arrays[i].scale_size && check_scales(m, &m->arrays[i]) < 0) bad = i;
        if (bad >= 0) {
            /* maybe the older layout: all codes, then all scales */
            place(m, s, n, true);
            int bad2 = -1;
            for (int32_t i = 0; i < n && bad2 < 0; i++) if (m->arrays[i].scale_size && check_scales(m, &m->arrays[i]) < 0) bad2 = i;
            if (bad2 >= 0) {
                place(m, s, n, false);
                rc = model_fail(err, errlen, m->path, "llama2.c version 2: the group scales of %s are not finite "
                                "non-negative numbers (read after its codes, or after all codes): the file is damaged",
                                m->arrays[bad].name);
            }
        }
        if (!rc) rc = convert_v2(m, n, p && p->l2c_exact, err, errlen);
    }
    if (!rc) {
        wire(m, s, n);
        if (shared) m->output = m->tok_embd;
        rc = model_make_inv_freq(m, NULL, err, errlen);
    }
    free(s);
    if (rc) return -1;
    return find_tokenizer(m, p, err, errlen);
}
