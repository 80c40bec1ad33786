/* tok: the tokenizer's common part. Accessors, the GGUF and llama2.c
 * tokenizer.bin loaders, tok_open, special-token splitting and the encode
 * driver, llama.cpp-compatible detokenization and the streaming decoder.
 *
 * Conventions kept for every loaded SPM vocabulary, whatever its source:
 * spaces are stored as U+2581 "▁", BOS/EOS are "<s>"/"</s>" and byte tokens
 * are "<0xNN>" with attr TOK_BYTE, so one encoder (tok_spm.c) serves both
 * GGUF and tokenizer.bin. Encoding splits the text on special tokens the way
 * llama.cpp's tokenizer_st_partition does (longest special first, each one
 * splitting every remaining text fragment at its leftmost non-overlapping
 * occurrences); decoding reproduces llama_token_to_piece/llama_detokenize.
 */
#include "tok_impl.h"
#include "fio.h"
#include "gguf.h"
#include "utf8.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, int code, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

static bool valid_id(const tok *t, int32_t id) { return id >= 0 && id < t->n_vocab; }

/* ---- accessors ---- */

int tok_kind(const tok *t) { return t->kind; }
int32_t tok_n_vocab(const tok *t) { return t->n_vocab; }
int32_t tok_bos(const tok *t) { return t->bos; }
int32_t tok_eos(const tok *t) { return t->eos; }
int32_t tok_eot(const tok *t) { return t->eot; }
int32_t tok_unk(const tok *t) { return t->unk; }

int32_t tok_parse_ids(const tok *t, const char *list, int32_t *ids, int32_t cap, char *err, size_t errlen) {
    int32_t n = 0;
    if (!list || strcmp(list, "none") == 0) return 0;
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p) break;
        size_t k = strcspn(p, ", ");
        char item[32];
        if (k >= sizeof item) { snprintf(err, errlen, "'%.*s...': not a token (bos, eos, eot, unk or an id)", 16, p); return -1; }
        memcpy(item, p, k);
        item[k] = 0;
        p += k;
        int32_t id = -2;
        static const char *const names[] = { "bos", "eos", "eot", "unk" };
        int32_t vals[] = { t ? t->bos : -1, t ? t->eos : -1, t ? t->eot : -1, t ? t->unk : -1 };
        for (int i = 0; i < 4; i++)
            if (strcmp(item, names[i]) == 0) {
                if (!t) { id = -1; break; }
                if (vals[i] < 0) { snprintf(err, errlen, "%s: this vocabulary has no %s token", item, item); return -1; }
                id = vals[i];
            }
        if (id == -2) {
            char *end;
            long v = item[0] >= '0' && item[0] <= '9' ? strtol(item, &end, 10) : -1;
            if (v < 0 || *end) { snprintf(err, errlen, "'%s': not a token (bos, eos, eot, unk or an id)", item); return -1; }
            if (t && v >= t->n_vocab) {
                snprintf(err, errlen, "token id %ld is outside the vocabulary [0, %d)", v, (int)t->n_vocab);
                return -1;
            }
            id = (int32_t)v;
        }
        bool dup = false;
        for (int32_t i = 0; i < n && t; i++) dup = dup || ids[i] == id;
        if (dup) continue;
        if (n == cap) { snprintf(err, errlen, "at most %d end tokens", (int)cap); return -1; }
        ids[n++] = id;
    }
    return n;
}
bool tok_add_bos(const tok *t) { return t->add_bos; }
int tok_attr(const tok *t, int32_t id) { return valid_id(t, id) ? t->attr[id] : 0; }
float tok_score(const tok *t, int32_t id) { return valid_id(t, id) ? t->score[id] : 0.0f; }

const char *tok_text(const tok *t, int32_t id, size_t *len) {
    if (!valid_id(t, id)) { if (len) *len = 0; return NULL; }
    if (len) *len = t->len[id];
    return t->arena + t->off[id];
}

int32_t tok_find(const tok *t, const char *text, size_t len) {
    return strmap_get(&t->vocab, text, len);
}

/* ---- GGUF ---- */

/* Reads a token id key. Absent: dflt (or -1 when dflt is out of range).
 * -1 / 4294967295 mean unset. Anything else must be a valid id. */
static int gguf_id(const gguf *g, const char *key, int32_t n, int32_t dflt, int32_t *out,
                   char *err, size_t errlen) {
    int64_t v;
    int rc = gguf_get_i64(g, key, &v);
    if (rc == GGUF_ENOTFOUND) { *out = dflt < n ? dflt : -1; return TOK_OK; }
    const gguf_value *gv = gguf_get(g, key);
    if (rc && gv && gv->type == GGUF_T_U64 && gv->num.u == UINT64_MAX) { *out = -1; return TOK_OK; }
    if (rc) return fail(err, errlen, TOK_EFORMAT, "%s: %s is not an integer", gguf_path(g), key);
    if (v == -1 || v == 0xFFFFFFFFll) { *out = -1; return TOK_OK; }
    if (v < 0 || v >= n)
        return fail(err, errlen, TOK_EFORMAT, "%s: %s = %lld is out of range (%d tokens)",
                    gguf_path(g), key, (long long)v, n);
    *out = (int32_t)v;
    return TOK_OK;
}

static int gguf_flag(const gguf *g, const char *key, bool dflt, bool *out, char *err,
                     size_t errlen) {
    int rc = gguf_get_bool(g, key, out);
    if (rc == GGUF_ENOTFOUND) { *out = dflt; return TOK_OK; }
    if (rc) return fail(err, errlen, TOK_EFORMAT, "%s: %s is not a bool", gguf_path(g), key);
    return TOK_OK;
}

static bool str_is(const char *s, size_t n, const char *lit) {
    return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

/* tokenizer.ggml.pre -> t->pre (BPE only); llama3-style names also imply
 * ignore_merges and a BOS by default, as in llama.cpp. */
static int gguf_pre(const gguf *g, tok *t, char *err, size_t errlen) {
    static const char *const llama3[] = { "llama3", "llama-v3", "llama-bpe", "falcon3" };
    const char *s;
    size_t n;
    int rc = gguf_get_str(g, "tokenizer.ggml.pre", &s, &n);
    t->pre = TOK_PRE_GPT2;
    if (rc == GGUF_ENOTFOUND || (!rc && (str_is(s, n, "default") || str_is(s, n, "gpt-2") ||
                                         str_is(s, n, "gpt2"))))
        return TOK_OK;
    if (rc) return fail(err, errlen, TOK_EFORMAT, "%s: tokenizer.ggml.pre is not a string",
                        gguf_path(g));
    for (size_t i = 0; i < sizeof llama3 / sizeof *llama3; i++)
        if (str_is(s, n, llama3[i])) {
            t->pre = TOK_PRE_LLAMA3;
            t->ignore_merges = true;
            t->add_bos = true;
            return TOK_OK;
        }
    return fail(err, errlen, TOK_EFORMAT, "%s: unsupported pre-tokenizer tokenizer.ggml.pre = '%.*s'",
                gguf_path(g), (int)(n > 64 ? 64 : n), s);
}

/* tokens, scores and token types into the per-token arrays */
static int gguf_vocab(const gguf *g, tok *t, char *err, size_t errlen) {
    const char *path = gguf_path(g);
    const gguf_value *tv, *sv = NULL, *av = NULL;
    if (gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_T_STRING, &tv))
        return fail(err, errlen, TOK_EFORMAT, "%s: tokenizer.ggml.tokens missing or not a string array", path);
    if (tv->arr_n == 0 || tv->arr_n >= INT32_MAX)
        return fail(err, errlen, TOK_EFORMAT, "%s: tokenizer.ggml.tokens has %llu entries",
                    path, (unsigned long long)tv->arr_n);
    int32_t n = (int32_t)tv->arr_n;
    int rc = gguf_get_arr(g, "tokenizer.ggml.scores", GGUF_T_F32, &sv);
    if (rc == GGUF_ENOTFOUND) sv = NULL;
    else if (rc || sv->arr_n != (uint64_t)n)
        return fail(err, errlen, TOK_EFORMAT, "%s: tokenizer.ggml.scores must be %d f32 values", path, n);
    rc = gguf_get_arr(g, "tokenizer.ggml.token_type", GGUF_T_I32, &av);
    if (rc == GGUF_ENOTFOUND) av = NULL;
    else if (rc || av->arr_n != (uint64_t)n)
        return fail(err, errlen, TOK_EFORMAT, "%s: tokenizer.ggml.token_type must be %d i32 values", path, n);
    size_t arena = 0;
    for (int32_t i = 0; i < n; i++) {
        uint64_t l = tv->arr_items[i].str_len;
        if (l >= UINT32_MAX || arena + l + 1 > UINT32_MAX)     /* offsets are uint32 */
            return fail(err, errlen, TOK_EFORMAT, "%s: vocabulary strings exceed 4 GiB at token %d", path, i);
        arena += (size_t)l + 1;
    }
    if (tok_alloc(t, n, arena)) return fail(err, errlen, TOK_ENOMEM, "%s: out of memory for %d tokens", path, n);
    size_t off = 0;
    for (int32_t i = 0; i < n; i++) {
        const gguf_value *s = &tv->arr_items[i];
        memcpy(t->arena + off, s->str, (size_t)s->str_len);
        t->off[i] = (uint32_t)off;
        t->len[i] = (uint32_t)s->str_len;
        off += (size_t)s->str_len + 1;
        t->attr[i] = TOK_NORMAL;
        if (sv) memcpy(&t->score[i], (const char *)sv->arr_data + 4 * (size_t)i, 4);
        if (av) {
            int32_t a;
            memcpy(&a, (const char *)av->arr_data + 4 * (size_t)i, 4);
            if (a < 0 || a > TOK_BYTE)
                return fail(err, errlen, TOK_EFORMAT, "%s: tokenizer.ggml.token_type[%d] = %d is not a token type",
                            path, i, a);
            t->attr[i] = a;
        }
        if (isnan(t->score[i]))           /* would break the merge order; infinities are fine */
            return fail(err, errlen, TOK_EFORMAT, "%s: tokenizer.ggml.scores[%d] is NaN", path, i);
    }
    return TOK_OK;
}

static int gguf_merges(const gguf *g, tok *t, char *err, size_t errlen) {
    const gguf_value *mv;
    if (gguf_get_arr(g, "tokenizer.ggml.merges", GGUF_T_STRING, &mv))
        return fail(err, errlen, TOK_EFORMAT, "%s: tokenizer.ggml.merges missing or not a string array",
                    gguf_path(g));
    size_t m = (size_t)mv->arr_n;
    const char **s = malloc((m + 1) * sizeof *s);
    size_t *l = malloc((m + 1) * sizeof *l);
    int rc = TOK_ENOMEM;
    if (!s || !l) { fail(err, errlen, rc, "%s: out of memory for %zu merges", gguf_path(g), m); goto out; }
    for (size_t i = 0; i < m; i++) { s[i] = mv->arr_items[i].str; l[i] = (size_t)mv->arr_items[i].str_len; }
    rc = tok_bpe_prepare(t, s, l, (int64_t)m, err, errlen);
out:
    free(s); free(l);
    return rc;
}

/* special ids and flags; kind and (BPE) pre already set */
static int gguf_specials(const gguf *g, tok *t, char *err, size_t errlen) {
    bool spm = t->kind == TOK_SPM;
    int32_t n = t->n_vocab;
    if (gguf_id(g, "tokenizer.ggml.bos_token_id", n, spm ? 1 : -1, &t->bos, err, errlen) ||
        gguf_id(g, "tokenizer.ggml.eos_token_id", n, spm ? 2 : -1, &t->eos, err, errlen) ||
        gguf_id(g, "tokenizer.ggml.unknown_token_id", n, spm ? 0 : -1, &t->unk, err, errlen) ||
        gguf_id(g, "tokenizer.ggml.padding_token_id", n, -1, &t->pad, err, errlen) ||
        gguf_id(g, "tokenizer.ggml.eot_token_id", n, -1, &t->eot, err, errlen) ||
        gguf_flag(g, "tokenizer.ggml.add_bos_token", spm || t->add_bos, &t->add_bos, err, errlen) ||
        gguf_flag(g, "tokenizer.ggml.add_eos_token", false, &t->add_eos, err, errlen) ||
        gguf_flag(g, "tokenizer.ggml.add_space_prefix", spm, &t->add_space_prefix, err, errlen))
        return TOK_EFORMAT;
    if (t->eot < 0) t->eot = tok_find(t, "<|eot_id|>", 10);
    t->nl = spm ? tok_find(t, "<0x0A>", 6) : tok_find(t, "\xC4\x8A", 2);   /* "Ċ" */
    return TOK_OK;
}

int tok_from_gguf(tok **out, const gguf *g, char *err, size_t errlen) {
    *out = NULL;
    const char *path = gguf_path(g), *model;
    size_t mlen;
    int rc = gguf_get_str(g, "tokenizer.ggml.model", &model, &mlen);
    if (rc == GGUF_ENOTFOUND)
        return fail(err, errlen, TOK_EFORMAT, "%s: no tokenizer in this file (tokenizer.ggml.model missing)", path);
    if (rc) return fail(err, errlen, TOK_EFORMAT, "%s: tokenizer.ggml.model is not a string", path);
    int kind = str_is(model, mlen, "llama") ? TOK_SPM : str_is(model, mlen, "gpt2") ? TOK_BPE : 0;
    if (!kind)
        return fail(err, errlen, TOK_EFORMAT, "%s: unsupported tokenizer model '%.*s' (llama and gpt2 are)",
                    path, (int)(mlen > 64 ? 64 : mlen), model);
    tok *t = calloc(1, sizeof *t);
    if (!t) return fail(err, errlen, TOK_ENOMEM, "%s: out of memory", path);
    t->kind = kind;
    if ((rc = gguf_vocab(g, t, err, errlen)) || (rc = tok_index(t, err, errlen))) goto bad;
    if (kind == TOK_BPE && ((rc = gguf_pre(g, t, err, errlen)) || (rc = gguf_merges(g, t, err, errlen))))
        goto bad;
    if ((rc = gguf_specials(g, t, err, errlen))) goto bad;
    *out = t;
    return TOK_OK;
bad:
    tok_destroy(t);
    return rc;
}

/* ---- llama2.c tokenizer.bin ---- */

static int32_t rd_i32(const unsigned char *p) {
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    int32_t v;
    memcpy(&v, &u, 4);
    return v;
}

static int hexval(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
         : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "<0xNN>": a byte token's spelling */
static bool is_byte_piece(const char *s, size_t n) {
    return n == 6 && memcmp(s, "<0x", 3) == 0 && s[5] == '>' && hexval(s[3]) >= 0 && hexval(s[4]) >= 0;
}

/* Normalises a llama2.c piece to GGUF conventions into dst (NULL: measure). */
static size_t l2c_norm(const char *s, size_t n, char *dst) {
    if (str_is(s, n, "\n<s>\n")) { s = "<s>"; n = 3; }
    else if (str_is(s, n, "\n</s>\n")) { s = "</s>"; n = 4; }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') { if (dst) memcpy(dst + k, "\xE2\x96\x81", 3); k += 3; }
        else { if (dst) dst[k] = s[i]; k++; }
    }
    return k;
}

/* Walks the records; with t == NULL it only validates and measures. The
 * format has no magic number, so any file may arrive here (a script can
 * name one): messages say where and what is wrong, never the values read,
 * so that an error does not quote a file's bytes. */
static int l2c_walk(const char *path, const unsigned char *b, size_t size, tok *t,
                    int32_t *n_out, size_t *arena_out, char *err, size_t errlen) {
    if (size == 0) return fail(err, errlen, TOK_EFORMAT, "%s: empty file", path);
    if (size < 4) return fail(err, errlen, TOK_EFORMAT, "%s: truncated header (%zu bytes, need 4)", path, size);
    int32_t maxlen = rd_i32(b);
    if (maxlen <= 0 || maxlen > (1 << 20))
        return fail(err, errlen, TOK_EFORMAT, "%s: not a llama2.c tokenizer: the max_token_length at byte 0 is not "
                    "in 1..1048576", path);
    size_t off = 4, arena = 0;
    int32_t n = 0;
    while (off < size) {
        if (size - off < 8)
            return fail(err, errlen, TOK_EFORMAT, "%s: token %d at byte %zu: truncated record header (%zu bytes left, need 8)",
                        path, n, off, size - off);
        float score;
        memcpy(&score, b + off, 4);       /* little-endian host */
        int32_t len = rd_i32(b + off + 4);
        if (!isfinite(score))
            return fail(err, errlen, TOK_EFORMAT, "%s: token %d at byte %zu: score is not finite", path, n, off);
        if (len < 0 || len > maxlen)
            return fail(err, errlen, TOK_EFORMAT, "%s: token %d at byte %zu: length outside 0..max_token_length",
                        path, n, off + 4);
        if ((size_t)len > size - off - 8)
            return fail(err, errlen, TOK_EFORMAT, "%s: token %d at byte %zu: truncated (%zu bytes left)",
                        path, n, off + 8, size - off - 8);
        if (n == INT32_MAX - 1) return fail(err, errlen, TOK_EFORMAT, "%s: too many tokens", path);
        const char *s = (const char *)b + off + 8;
        if (t) {
            t->off[n] = (uint32_t)arena;
            t->len[n] = (uint32_t)l2c_norm(s, (size_t)len, t->arena + arena);
            t->score[n] = score;
            const char *p = t->arena + arena;
            size_t l = t->len[n];
            t->attr[n] = str_is(p, l, "<unk>") ? TOK_UNKNOWN
                       : str_is(p, l, "<s>") || str_is(p, l, "</s>") ? TOK_CONTROL
                       : is_byte_piece(p, l) ? TOK_BYTE : TOK_NORMAL;
        }
        arena += l2c_norm(s, (size_t)len, NULL) + 1;
        off += 8 + (size_t)len;
        n++;
    }
    if (n == 0) return fail(err, errlen, TOK_EFORMAT, "%s: no tokens after the 4-byte header", path);
    if (arena > UINT32_MAX) return fail(err, errlen, TOK_EFORMAT, "%s: vocabulary strings exceed 4 GiB", path);
    *n_out = n;
    *arena_out = arena;
    return TOK_OK;
}

static int slurp(const char *path, unsigned char **buf, size_t *size, char *err, size_t errlen) {
    char *b;
    int rc = fio_read(path, TOK_MAX_FILE, &b, size, err, errlen);
    *buf = (unsigned char *)b;
    return rc == FIO_OK ? TOK_OK : rc == FIO_ENOMEM ? TOK_ENOMEM : TOK_EIO;
}

int tok_from_llama2c(tok **out, const char *path, char *err, size_t errlen) {
    *out = NULL;
    unsigned char *b;
    size_t size = 0, arena = 0;
    int32_t n = 0;
    int rc = slurp(path, &b, &size, err, errlen);
    if (rc) return rc;
    tok *t = NULL;
    if ((rc = l2c_walk(path, b, size, NULL, &n, &arena, err, errlen))) goto out;
    if (!(t = calloc(1, sizeof *t)) || (t->kind = TOK_SPM, tok_alloc(t, n, arena))) {
        rc = fail(err, errlen, TOK_ENOMEM, "%s: out of memory for %d tokens", path, n);
        goto out;
    }
    if ((rc = l2c_walk(path, b, size, t, &n, &arena, err, errlen))) goto out;
    if ((rc = tok_index(t, err, errlen))) goto out;
    t->bos = tok_find(t, "<s>", 3);
    t->eos = tok_find(t, "</s>", 4);
    t->unk = tok_find(t, "<unk>", 5);
    t->nl = tok_find(t, "<0x0A>", 6);
    t->add_bos = true;
    t->add_space_prefix = true;
    *out = t;
    t = NULL;
    rc = TOK_OK;
out:
    tok_destroy(t);
    free(b);
    return rc;
}

int tok_from_hfjson(tok **out, const char *path, char *err, size_t errlen) {
    return tok_bpe_from_json(out, path, err, errlen);
}

int tok_open(tok **out, const char *path, char *err, size_t errlen) {
    *out = NULL;
    unsigned char head[64];
    size_t n = 0;
    int hrc = fio_head(path, head, sizeof head, &n, err, errlen);   /* a regular file, never blocking */
    if (hrc) return hrc == FIO_ENOMEM ? TOK_ENOMEM : TOK_EIO;
    if (n >= 4 && memcmp(head, "GGUF", 4) == 0) {
        gguf *g;
        int rc = gguf_open(&g, path, err, errlen);
        if (rc) return rc == GGUF_EIO ? TOK_EIO : rc == GGUF_ENOMEM ? TOK_ENOMEM : TOK_EFORMAT;
        rc = tok_from_gguf(out, g, err, errlen);
        gguf_close(g);
        return rc;
    }
    size_t i = n >= 3 && memcmp(head, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;   /* UTF-8 BOM */
    while (i < n && strchr(" \t\r\n", head[i])) i++;
    if (i < n && head[i] == '{') return tok_from_hfjson(out, path, err, errlen);
    return tok_from_llama2c(out, path, err, errlen);
}

/* ---- encoding ---- */

typedef struct frag { int32_t id; size_t off, len; } frag;   /* id < 0: text [off, off+len) */
typedef struct frags { frag *v; size_t n, cap; } frags;

static int frag_add(frags *f, int32_t id, size_t off, size_t len) {
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        frag *v = realloc(f->v, cap * sizeof *v);
        if (!v) return TOK_ENOMEM;
        f->v = v; f->cap = cap;
    }
    f->v[f->n++] = (frag){ id, off, len };
    return TOK_OK;
}

/* Special ids in matching order: t->special (longest first) with the
 * UNKNOWN token merged in, as llama.cpp matches it too. Caller frees. */
static int32_t *special_order(const tok *t, int32_t *n_out) {
    int32_t *o = malloc(((size_t)t->n_special + 1) * sizeof *o), n = 0;
    if (!o) return NULL;
    int32_t u = t->unk;
    bool need_unk = valid_id(t, u) && t->attr[u] == TOK_UNKNOWN && t->len[u] > 0;
    for (int32_t i = 0; i < t->n_special; i++) {
        int32_t s = t->special[i];
        if (need_unk && (t->len[s] < t->len[u] || (t->len[s] == t->len[u] && s > u))) {
            o[n++] = u;
            need_unk = false;
        }
        o[n++] = s;
    }
    if (need_unk) o[n++] = u;
    *n_out = n;
    return o;
}

/* Splits text into text fragments and special tokens. */
static int partition(const tok *t, const char *text, size_t len, bool parse_special, frags *out) {
    int32_t ns;
    int32_t *order = special_order(t, &ns);
    frags a = { 0 }, b = { 0 };
    int rc = TOK_ENOMEM;
    if (!order || frag_add(&a, -1, 0, len)) goto done;
    for (int32_t k = 0; k < ns; k++) {
        int32_t id = order[k];
        int at = t->attr[id];
        if (!parse_special && (at == TOK_CONTROL || at == TOK_UNKNOWN)) continue;
        const char *sp = t->arena + t->off[id];
        size_t sl = t->len[id];
        b.n = 0;
        for (size_t i = 0; i < a.n; i++) {
            frag f = a.v[i];
            while (f.id < 0 && f.len >= sl) {
                const char *m = memmem(text + f.off, f.len, sp, sl);
                if (!m) break;
                size_t mo = (size_t)(m - text);
                if (mo > f.off && frag_add(&b, -1, f.off, mo - f.off)) goto done;
                if (frag_add(&b, id, mo, sl)) goto done;
                f.len -= mo + sl - f.off;
                f.off = mo + sl;
            }
            if ((f.id >= 0 || f.len > 0) && frag_add(&b, f.id, f.off, f.len)) goto done;
        }
        frags tmp = a; a = b; b = tmp;
    }
    *out = a;
    a.v = NULL;
    rc = TOK_OK;
done:
    free(order); free(a.v); free(b.v);
    return rc;
}

static int encode_frags(const tok *t, const char *text, size_t len, const frags *fr,
                        tok_ids *ids, bool cont) {
    char *buf = NULL;               /* ' ' + fragment, at most 1 + len bytes */
    int rc = TOK_OK;
    bool prev_special = !cont;      /* the first fragment gets the space prefix too, unless it continues text */
    for (size_t i = 0; i < fr->n && !rc; i++) {
        const frag *f = &fr->v[i];
        if (f->id >= 0) { rc = tok_ids_push(ids, f->id); prev_special = true; continue; }
        if (t->kind == TOK_BPE) { rc = tok_bpe_encode(t, text + f->off, f->len, ids); continue; }
        if (t->add_space_prefix && prev_special) {
            if (!buf && !(buf = malloc(len + 1))) return TOK_ENOMEM;
            buf[0] = ' ';
            memcpy(buf + 1, text + f->off, f->len);
            rc = tok_spm_encode(t, buf, f->len + 1, ids);
        } else {
            rc = tok_spm_encode(t, text + f->off, f->len, ids);
        }
        prev_special = false;
    }
    free(buf);
    return rc;
}

static int32_t encode(const tok *t, const char *text, size_t len, bool add_bos, bool parse_special,
                      bool cont, int32_t *ids, int32_t cap, char *err, size_t errlen) {
    size_t bad = utf8_check(text, len);
    if (bad != len) return fail(err, errlen, TOK_EUTF8, "invalid UTF-8 at byte %zu", bad);
    tok_ids v = { 0 };
    frags fr = { 0 };
    int rc = TOK_OK;
    if (add_bos && t->bos >= 0) rc = tok_ids_push(&v, t->bos);
    if (!rc && len > 0 && !(rc = partition(t, text, len, parse_special, &fr)))
        rc = encode_frags(t, text, len, &fr, &v, cont);
    if (!rc && add_bos && t->add_eos && t->eos >= 0) rc = tok_ids_push(&v, t->eos);
    free(fr.v);
    if (rc) {
        free(v.v);
        return fail(err, errlen, rc, "out of memory encoding %zu bytes", len);
    }
    if (ids && cap > 0 && v.n > 0) memcpy(ids, v.v, (size_t)(v.n < cap ? v.n : cap) * sizeof *ids);
    free(v.v);
    return v.n;
}

int32_t tok_encode(const tok *t, const char *text, size_t len, bool add_bos,
                   bool parse_special, int32_t *ids, int32_t cap, char *err, size_t errlen) {
    return encode(t, text, len, add_bos, parse_special, false, ids, cap, err, errlen);
}

int32_t tok_encode_cont(const tok *t, const char *text, size_t len, bool parse_special,
                        int32_t *ids, int32_t cap, char *err, size_t errlen) {
    return encode(t, text, len, false, parse_special, true, ids, cap, err, errlen);
}

/* ---- decoding ---- */

/* Output with a capacity: counts every byte, stores those that fit, and drops
 * up to `strip` leading spaces of a piece (llama.cpp's lstrip). */
typedef struct sink { char *buf; int64_t cap, n; int strip; } sink;

static void put(sink *w, const char *p, size_t k) {
    for (size_t i = 0; i < k; i++) {
        if (w->strip > 0) { if (p[i] == ' ') { w->strip--; continue; } w->strip = 0; }
        if (w->n < w->cap) w->buf[w->n] = p[i];
        w->n++;
    }
}

/* Appends the piece of a valid id (llama_token_to_piece). */
static void put_piece(const tok *t, int32_t id, bool special, sink *w) {
    int at = t->attr[id];
    const char *s = t->arena + t->off[id];
    size_t n = t->len[id];
    if (at == TOK_UNKNOWN || at == TOK_CONTROL) { if (special) put(w, s, n); return; }
    if (at == TOK_USER_DEFINED) { put(w, s, n); return; }
    if (t->kind == TOK_SPM && at == TOK_NORMAL) {
        for (size_t i = 0; i < n; i++) {
            if (n - i >= 3 && memcmp(s + i, "\xE2\x96\x81", 3) == 0) { put(w, " ", 1); i += 2; }
            else put(w, s + i, 1);
        }
    } else if (t->kind == TOK_SPM && at == TOK_BYTE) {
        if (is_byte_piece(s, n)) {
            char c = (char)(hexval(s[3]) * 16 + hexval(s[4]));
            put(w, &c, 1);
        } else {
            put(w, s, n);        /* defensive: a BYTE token not spelled <0xNN> */
        }
    } else if (t->kind == TOK_BPE && at == TOK_NORMAL) {
        char small[256], *o = n <= sizeof small ? small : malloc(n);
        int k = o ? tok_bpe_unmap(s, n, o) : -1;
        if (k >= 0) put(w, o, (size_t)k);
        else put(w, s, n);       /* a char outside the byte map: raw text */
        if (o != small) free(o);
    }
    /* UNUSED, undefined and BPE byte tokens have no text, as in llama.cpp */
}

int32_t tok_piece(const tok *t, int32_t id, char *buf, int32_t cap, bool unparse_special) {
    if (!valid_id(t, id)) return TOK_EID;
    sink w = { buf, cap > 0 ? cap : 0, 0, 0 };
    put_piece(t, id, unparse_special, &w);
    return (int32_t)w.n;
}

int32_t tok_decode(const tok *t, const int32_t *ids, int32_t n, char *buf,
                   int32_t cap, bool remove_special, bool unparse_special) {
    bool remove_space = t->add_space_prefix;
    if (remove_special && t->add_bos && n > 0 && ids[0] == t->bos && t->bos >= 0) {
        remove_space = false;
        ids++; n--;
    }
    if (remove_special && t->add_eos && n > 0 && ids[n - 1] == t->eos && t->eos >= 0) n--;
    sink w = { buf, cap > 0 ? cap : 0, 0, 0 };
    for (int32_t i = 0; i < n; i++) {
        if (!valid_id(t, ids[i])) return TOK_EID;
        w.strip = remove_space ? 1 : 0;
        put_piece(t, ids[i], unparse_special, &w);
        remove_space = false;
        if (w.n > INT32_MAX) return TOK_ENOMEM;
    }
    return (int32_t)w.n;
}

/* ---- streaming ---- */

void tok_stream_init(tok_stream *s, const tok *t, bool unparse_special) {
    memset(s, 0, sizeof *s);
    s->t = t;
    s->unparse_special = unparse_special;
}

static void emit_fffd(sink *w) { put(w, "\xEF\xBF\xBD", 3); }

/* Feeds one byte through the pending-character state. */
static void stream_byte(tok_stream *s, unsigned char c, sink *w) {
    if (s->npend > 0 && (c & 0xC0) != 0x80) {     /* an incomplete char cut short */
        emit_fffd(w);
        s->npend = 0;
    }
    if (s->npend == 0) {
        int l = utf8_seq_len(c);
        if (l == 1) put(w, (const char *)&c, 1);
        else if (l == 0) emit_fffd(w);           /* stray continuation or bad lead */
        else { s->pend[0] = (char)c; s->npend = 1; }
        return;
    }
    s->pend[s->npend++] = (char)c;
    if (s->npend < utf8_seq_len((unsigned char)s->pend[0])) return;
    uint32_t cp;
    if (utf8_decode(s->pend, (size_t)s->npend, &cp)) put(w, s->pend, (size_t)s->npend);
    else emit_fffd(w);
    s->npend = 0;
}

int32_t tok_stream_push(tok_stream *s, int32_t id, char *out, int32_t cap) {
    const tok *t = s->t;
    if (!valid_id(t, id)) return TOK_EID;
    char small[256], *p = small;
    int32_t n = tok_piece(t, id, small, sizeof small, s->unparse_special);
    if (n > (int32_t)sizeof small) {
        if (!(p = malloc((size_t)n))) return TOK_ENOMEM;
        tok_piece(t, id, p, n, s->unparse_special);
    }
    /* dry run on a copy to size the output; commit only if it fits */
    tok_stream probe = *s;
    sink w = { NULL, 0, 0, 0 };
    for (int32_t i = 0; i < n; i++) stream_byte(&probe, (unsigned char)p[i], &w);
    int32_t rc = TOK_ENOMEM;
    if (w.n <= (cap > 0 ? cap : 0)) {
        w = (sink){ out, cap, 0, 0 };
        for (int32_t i = 0; i < n; i++) stream_byte(s, (unsigned char)p[i], &w);
        rc = (int32_t)w.n;
    }
    if (p != small) free(p);
    return rc;
}

int32_t tok_stream_flush(tok_stream *s, char *out, int32_t cap) {
    if (s->npend == 0) return 0;
    if (cap < 3) return TOK_ENOMEM;
    sink w = { out, cap, 0, 0 };
    emit_fffd(&w);
    s->npend = 0;
    return (int32_t)w.n;
}
