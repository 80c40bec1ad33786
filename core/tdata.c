/* tdata: tokenized training rows (tdata.h). Text documents are gathered per
 * split into one token stream, cut into windows at tdata_finish; examples
 * become rows at once. A row is T+1 tokens and T+1 "counts" bytes: counts[i]
 * says whether predicting token i (from tokens before it) is in the loss. */
#include "tdata.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TDATA_MAX_PIPE ((size_t)4 << 30)   /* data read from a pipe: at most 4 GiB */

#include "chat.h"
#include "json.h"
#include "sha256.h"
#include "tok.h"
#include "utf8.h"

typedef struct vec { int32_t *v; uint8_t *c; size_t n, cap; } vec;   /* tokens and counts */

struct tdata {
    const tok *tk;
    int T;
    uint64_t seed;
    double val_frac;
    int64_t n_items;          /* documents and examples added: their split index */
    vec stream[2];            /* text tokens per split, before packing */
    vec rows[2];              /* (n_rows, T+1) per split */
    int chat;                 /* CHAT_* of the examples */
    int32_t *ids;             /* tokenizer output scratch */
    int32_t ids_cap;
    int64_t n_text, n_unk;    /* tokens the texts gave, and how many of them are <unk> */
    bool finished;
};

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* splitmix64's finalizer over a combination of the inputs */
static uint64_t mix(uint64_t a, uint64_t b, uint64_t c, uint64_t e) {
    uint64_t z = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull ^
                 (c + 0x8cb92ba72f3d8dd7ull) * 0x94d049bb133111ebull ^ (e + 0x1ce4e5b9ull) * 0xd6e8feb86659fd93ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int push(vec *v, int32_t t, uint8_t c) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4096;
        int32_t *nv = realloc(v->v, cap * sizeof *nv);
        if (!nv) return -1;
        v->v = nv;
        uint8_t *nc = realloc(v->c, cap);
        if (!nc) return -1;
        v->c = nc;
        v->cap = cap;
    }
    v->v[v->n] = t;
    v->c[v->n++] = c;
    return 0;
}

tdata *tdata_create(const tok *tk, int seq_len, uint64_t seed, double val_frac) {
    if (seq_len < 1 || !(val_frac >= 0 && val_frac < 1)) return NULL;
    tdata *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->tk = tk; d->T = seq_len; d->seed = seed; d->val_frac = val_frac;
    return d;
}

void tdata_destroy(tdata *d) {
    if (!d) return;
    for (int s = 0; s < 2; s++) {
        free(d->stream[s].v); free(d->stream[s].c);
        free(d->rows[s].v); free(d->rows[s].c);
    }
    free(d->ids);
    free(d);
}

static int split_of(tdata *d) {
    uint64_t h = mix(d->seed, 0x7d1, (uint64_t)d->n_items++, 0);
    return (double)(h >> 11) / 9007199254740992.0 < d->val_frac ? TDATA_VAL : TDATA_TRAIN;
}

/* Tokenizes s[n] (no BOS) into d->ids; returns the count or a negative code.
 * special: control-token text (<|im_start|>...) becomes those tokens; cont:
 * text continuing a sequence (no SentencePiece dummy-prefix space). */
static int encode_gen(tdata *d, const char *where, const char *s, size_t n, bool special, bool cont, char *err,
                      size_t errlen) {
    char terr[256];
    for (;;) {
        int32_t k = cont ? tok_encode_cont(d->tk, s, n, special, d->ids, d->ids_cap, terr, sizeof terr)
                         : tok_encode(d->tk, s, n, false, special, d->ids, d->ids_cap, terr, sizeof terr);
        if (k < 0) return fail(err, errlen, TDATA_EFORMAT, "%s: %s", where, terr);
        if (k <= d->ids_cap) {
            int32_t unk = tok_unk(d->tk);
            d->n_text += k;
            for (int32_t i = 0; i < k && unk >= 0; i++) d->n_unk += d->ids[i] == unk;
            return k;
        }
        int32_t *ni = realloc(d->ids, sizeof *ni * (size_t)k);
        if (!ni) return fail(err, errlen, TDATA_ENOMEM, "%s: out of memory", where);
        d->ids = ni;
        d->ids_cap = k;
    }
}

static int encode(tdata *d, const char *where, const char *s, size_t n, char *err, size_t errlen) {
    return encode_gen(d, where, s, n, false, false, err, errlen);
}

void tdata_set_chat(tdata *d, int kind) { d->chat = kind; }

/* The user turn and the assistant's header of a chat example, tokenized. */
static int encode_chat_prompt(tdata *d, const char *where, const char *prompt, size_t plen, char *err,
                              size_t errlen) {
    char *p = malloc(plen + 1);
    if (!p) return fail(err, errlen, TDATA_ENOMEM, "%s: out of memory", where);
    memcpy(p, prompt, plen);
    p[plen] = 0;
    char *text = chat_format(d->chat, p);
    free(p);
    if (!text) return fail(err, errlen, TDATA_ENOMEM, "%s: out of memory", where);
    int k = encode_gen(d, where, text, strlen(text), true, false, err, errlen);
    free(text);
    return k;
}

static bool blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) if (!strchr(" \t\r\n\f\v", s[i])) return false;
    return true;
}

static int add_doc(tdata *d, const char *where, const char *s, size_t n, char *err, size_t errlen) {
    if (blank(s, n)) return TDATA_OK;
    int k = encode(d, where, s, n, err, errlen);
    if (k < 0) return k;
    vec *v = &d->stream[split_of(d)];
    int32_t bos = tok_bos(d->tk), eos = tok_eos(d->tk);
    int bad = bos >= 0 ? push(v, bos, 0) : 0;   /* nothing predicts BOS */
    for (int i = 0; i < k && !bad; i++) bad = push(v, d->ids[i], 1);
    if (eos >= 0 && !bad) bad = push(v, eos, 1);
    return bad ? fail(err, errlen, TDATA_ENOMEM, "%s: out of memory", where) : TDATA_OK;
}

int tdata_add_text(tdata *d, const char *name, const char *text, size_t len, const char *sep, char *err,
                   size_t errlen) {
    if (d->finished) return fail(err, errlen, TDATA_EINVAL, "%s: data already packed", name);
    size_t bad = utf8_check(text, len);
    if (bad < len)
        return fail(err, errlen, TDATA_EFORMAT, "%s: not UTF-8 text (invalid byte 0x%02x at offset %zu)", name,
                    (unsigned char)text[bad], bad);
    if (blank(text, len)) return fail(err, errlen, TDATA_EFORMAT, "%s: no text (it is empty)", name);
    size_t sl = sep ? strlen(sep) : 0;
    size_t at = 0;
    int64_t doc = 0;
    while (at <= len) {
        const char *e = sl ? memmem(text + at, len - at, sep, sl) : NULL;
        size_t end = e ? (size_t)(e - text) : len;
        char where[512];
        snprintf(where, sizeof where, "%s (document %lld at byte %zu)", name, (long long)++doc, at);
        int rc = add_doc(d, where, text + at, end - at, err, errlen);
        if (rc) return rc;
        if (!e) break;
        at = end + sl;
    }
    return TDATA_OK;
}

static int slurp(const char *path, char **out, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, errlen, TDATA_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;         /* a folder opens, then fails to read ("read error") */
    bool regular = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    if (!regular && S_ISDIR(st.st_mode)) {
        fclose(f);
        return fail(err, errlen, TDATA_EIO, "%s: a folder, not a file (give its files: DIR/*.txt)", path);
    }
    if (!regular && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {   /* /dev/zero: read without end */
        fclose(f);
        return fail(err, errlen, TDATA_EIO, "%s: a device, not a file", path);
    }
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    for (;;) {
        if (!b) { fclose(f); return fail(err, errlen, TDATA_ENOMEM, "%s: out of memory", path); }
        n += fread(b + n, 1, cap - n, f);
        if (n < cap) break;
        if (!regular && cap > TDATA_MAX_PIPE) {     /* a pipe has no size to check first */
            free(b);
            fclose(f);
            return fail(err, errlen, TDATA_EIO, "%s: more than 4 GiB from a pipe: too large to read whole", path);
        }
        char *nb = realloc(b, cap *= 2);
        if (!nb) free(b);
        b = nb;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(b); return fail(err, errlen, TDATA_EIO, "%s: read error", path); }
    *out = b;
    *len = n;
    return TDATA_OK;
}

int tdata_add_text_file(tdata *d, const char *path, const char *sep, char *err, size_t errlen) {
    char *b;
    size_t n;
    int rc = slurp(path, &b, &n, err, errlen);
    if (rc) return rc;
    rc = tdata_add_text(d, path, b, n, sep, err, errlen);
    free(b);
    return rc;
}

int tdata_add_example(tdata *d, const char *where, const char *prompt, size_t plen, const char *completion,
                      size_t clen, char *err, size_t errlen) {
    if (d->finished) return fail(err, errlen, TDATA_EINVAL, "%s: data already packed", where);
    if (!completion || clen == 0) return fail(err, errlen, TDATA_EFORMAT, "%s: the completion is empty", where);
    size_t bad = utf8_check(prompt, plen);
    if (bad < plen) return fail(err, errlen, TDATA_EFORMAT, "%s: the prompt is not UTF-8 (byte %zu)", where, bad);
    if ((bad = utf8_check(completion, clen)) < clen)
        return fail(err, errlen, TDATA_EFORMAT, "%s: the completion is not UTF-8 (byte %zu)", where, bad);
    vec *v = &d->rows[split_of(d)];
    size_t start = v->n;
    int32_t bos = tok_bos(d->tk), eos = tok_eos(d->tk);
    int oom = bos >= 0 ? push(v, bos, 0) : 0;
    int k = d->chat ? encode_chat_prompt(d, where, prompt, plen, err, errlen)
          : plen ? encode(d, where, prompt, plen, err, errlen) : 0;
    if (k < 0) { v->n = start; return k; }
    for (int i = 0; i < k && !oom; i++) oom = push(v, d->ids[i], 0);
    /* the completion is tokenized after the prompt's text, as generation
     * would produce it: the prompt is encoded alone, then the completion as
     * its continuation (no SentencePiece dummy-prefix space: " ran" is the
     * one token "▁ran" a model generates after a prompt, not "▁" "▁ran") */
    k = encode_gen(d, where, completion, clen, false, true, err, errlen);
    if (k < 0) { v->n = start; return k; }
    for (int i = 0; i < k && !oom; i++) oom = push(v, d->ids[i], 1);
    if (d->chat) {                      /* the turn's end: how a chat model stops */
        const char *end = chat_turn_end(d->chat);
        k = encode_gen(d, where, end, strlen(end), true, true, err, errlen);
        if (k < 0) { v->n = start; return k; }
        for (int i = 0; i < k && !oom; i++) oom = push(v, d->ids[i], 1);
    } else if (eos >= 0 && !oom) {
        oom = push(v, eos, 1);
    }
    if (oom) return fail(err, errlen, TDATA_ENOMEM, "%s: out of memory", where);
    size_t n = v->n - start;
    if (n > (size_t)d->T + 1) {
        v->n = start;
        return fail(err, errlen, TDATA_EINVAL, "%s: the example is %zu tokens, above the sequence length %d + 1 "
                    "(raise --seq-len or shorten it)", where, n, d->T);
    }
    while (v->n - start < (size_t)d->T + 1 && !oom) oom = push(v, eos >= 0 ? eos : 0, 0);
    return oom ? fail(err, errlen, TDATA_ENOMEM, "%s: out of memory", where) : TDATA_OK;
}

int tdata_add_jsonl_file(tdata *d, const char *path, char *err, size_t errlen) {
    char *b;
    size_t n;
    int rc = slurp(path, &b, &n, err, errlen);
    if (rc) return rc;
    if (blank(b, n)) { free(b); return fail(err, errlen, TDATA_EFORMAT, "%s: no examples (the file is empty)", path); }
    size_t at = 0;
    int64_t line = 0;
    while (at < n && !rc) {
        const char *e = memchr(b + at, '\n', n - at);
        size_t end = e ? (size_t)(e - b) : n;
        line++;
        char where[512], jerr[256];
        snprintf(where, sizeof where, "%s:%lld", path, (long long)line);
        if (!blank(b + at, end - at)) {
            json_doc *doc = json_parse(b + at, end - at, jerr, sizeof jerr);
            json *r = doc ? json_root(doc) : NULL;
            json *p = json_get(r, "prompt"), *c = json_get(r, "completion");
            if (!doc) rc = fail(err, errlen, TDATA_EFORMAT, "%s: not JSON: %s", where, jerr);
            else if (!r || r->type != JSON_OBJ)
                rc = fail(err, errlen, TDATA_EFORMAT, "%s: expected an object {\"prompt\": ..., \"completion\": ...}", where);
            else if (!c || c->type != JSON_STR)
                rc = fail(err, errlen, TDATA_EFORMAT, "%s: no \"completion\" string", where);
            else if (p && p->type != JSON_STR)
                rc = fail(err, errlen, TDATA_EFORMAT, "%s: \"prompt\" is not a string", where);
            else
                rc = tdata_add_example(d, where, p ? p->str : "", p ? p->len : 0, c->str, c->len, err, errlen);
            json_free(doc);
        }
        at = end + 1;
    }
    free(b);
    return rc;
}

/* Windows of T+1 tokens with stride T over a stream; the last partial window
 * is padded (not counted) when it predicts at least one token. */
static int pack(tdata *d, int s) {
    vec *st = &d->stream[s], *r = &d->rows[s];
    size_t T = (size_t)d->T;
    for (size_t at = 0; at + 1 < st->n; at += T) {
        for (size_t i = 0; i <= T; i++) {
            bool in = at + i < st->n;
            /* the first token of a window is input only: its count belongs
             * to the previous window's last target */
            if (push(r, in ? st->v[at + i] : 0, in && i > 0 ? st->c[at + i] : 0)) return -1;
        }
    }
    free(st->v); free(st->c);
    memset(st, 0, sizeof *st);
    return 0;
}

int tdata_finish(tdata *d, char *err, size_t errlen) {
    if (!d->finished) {
        for (int s = 0; s < 2; s++)
            if (pack(d, s)) return fail(err, errlen, TDATA_ENOMEM, "out of memory packing the data");
        d->finished = true;
    }
    if (tdata_n_rows(d, TDATA_TRAIN) == 0)
        return fail(err, errlen, TDATA_EINVAL, "no training data (%lld validation rows; lower the validation "
                    "fraction or add data)", (long long)tdata_n_rows(d, TDATA_VAL));
    return TDATA_OK;
}

int64_t tdata_n_rows(const tdata *d, int split) {
    return d->finished ? (int64_t)(d->rows[split].n / ((size_t)d->T + 1)) : 0;
}

int64_t tdata_n_unk(const tdata *d, int64_t *n_text) {
    if (n_text) *n_text = d->n_text;
    return d->n_unk;
}

int64_t tdata_n_targets(const tdata *d, int split) {
    int64_t n = 0;
    const vec *r = &d->rows[split];
    for (size_t i = 0; i < r->n; i++) n += r->c[i];
    return n;
}

void tdata_hash(const tdata *d, uint8_t out[32]) {
    sha256 h;
    sha256_init(&h);
    for (int s = 0; s < 2; s++) {
        if (!d->rows[s].n) continue;   /* an empty split has no buffer to hash */
        sha256_add(&h, d->rows[s].v, d->rows[s].n * sizeof(int32_t));
        sha256_add(&h, d->rows[s].c, d->rows[s].n);
    }
    sha256_fini(&h, out);
}

static void fill_row(const tdata *d, int s, int64_t row, int32_t *tokens, int32_t *targets) {
    size_t T = (size_t)d->T;
    const int32_t *v = d->rows[s].v + (size_t)row * (T + 1);
    const uint8_t *c = d->rows[s].c + (size_t)row * (T + 1);
    for (size_t i = 0; i < T; i++) {
        tokens[i] = v[i];
        targets[i] = c[i + 1] ? v[i + 1] : -1;
    }
}

void tdata_batch(const tdata *d, uint64_t step, int micro, int B, int32_t *tokens, int32_t *targets) {
    int64_t n = tdata_n_rows(d, TDATA_TRAIN);
    for (int b = 0; b < B; b++) {
        int64_t row = (int64_t)(mix(d->seed, step, (uint64_t)micro, (uint64_t)b) % (uint64_t)n);
        fill_row(d, TDATA_TRAIN, row, tokens + (size_t)b * d->T, targets + (size_t)b * d->T);
    }
}

/* Row j of the M validation rows: drawn (seeded) from the j-th of M equal
 * stretches of the split, so the rows spread over it in insertion order. */
int64_t tdata_val_row(const tdata *d, int64_t j, int64_t M) {
    int64_t n = tdata_n_rows(d, TDATA_VAL);
    if (n == 0 || M <= 0) return -1;
    if (n <= M) return j % n;   /* the whole split (wrapping) */
    int64_t lo = j * n / M, hi = (j + 1) * n / M;   /* hi > lo as n > M */
    return lo + (int64_t)(mix(d->seed, 0x76616cull /* "val" */, (uint64_t)j, (uint64_t)M) % (uint64_t)(hi - lo));
}

bool tdata_val_batch(const tdata *d, int64_t i, int nb, int B, int32_t *tokens, int32_t *targets) {
    int64_t n = tdata_n_rows(d, TDATA_VAL);
    if (n == 0) return false;
    int64_t M = (int64_t)(nb > 0 ? nb : 1) * B;
    for (int b = 0; b < B; b++)
        fill_row(d, TDATA_VAL, tdata_val_row(d, (i * B + b) % M, M), tokens + (size_t)b * d->T,
                 targets + (size_t)b * d->T);
    return true;
}
