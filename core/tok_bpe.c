/* tok_bpe: byte-level BPE encoding (GPT-2 / Llama 3 vocabularies).
 *
 * A text fragment (no special tokens in it) is split into pre-tokens by a
 * hand-written matcher for the Llama 3 or GPT-2 pre-tokenizer regex; each
 * pre-token's bytes are mapped to the GPT-2 byte alphabet (printable bytes are
 * themselves, the other 68 are U+0100 + k in byte order) and merged pair by
 * pair, lowest merge rank first (leftmost on ties), until no ranked pair is
 * left; the resulting symbols are vocabulary ids.
 *
 * Invariants: merge ranks are keyed by the (left id, right id) pair and only
 * hold merges whose two sides and result are all in the vocabulary, so every
 * symbol that exists during merging is a vocabulary id (a single byte absent
 * from the vocabulary is -1 and never merges). Encoding never writes to the
 * tok: scratch memory belongs to the call, so a tok may encode on several
 * threads at once.
 */
#include "tok_impl.h"
#include "unicode.h"
#include "utf8.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- byte map ---- */

static bool byte_printable(unsigned b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
}

/* Code point standing for byte b: itself when printable, else U+0100 + its
 * index among the 68 unprintable bytes (0x00-0x20, 0x7F-0xA0, 0xAD). */
static uint32_t byte_to_cp(unsigned b) {
    if (byte_printable(b)) return b;
    if (b <= 0x20) return 0x100 + b;
    if (b < 0xAD) return 0x100 + 33 + (b - 0x7F);
    return 0x100 + 67;
}

/* Inverse of byte_to_cp; -1 for a code point outside the map. */
static int cp_to_byte(uint32_t cp) {
    if (cp < 0x100) return byte_printable(cp) ? (int)cp : -1;
    if (cp < 0x100 + 33) return (int)(cp - 0x100);
    if (cp < 0x100 + 67) return (int)(cp - 0x100 - 33 + 0x7F);
    if (cp == 0x100 + 67) return 0xAD;
    return -1;
}

int tok_bpe_unmap(const char *s, size_t n, char *out) {
    size_t i = 0;
    int k = 0;
    while (i < n) {
        uint32_t cp;
        int l = utf8_decode(s + i, n - i, &cp);
        if (!l) return -1;
        int b = cp_to_byte(cp);
        if (b < 0) return -1;
        out[k++] = (char)b;
        i += (size_t)l;
    }
    return k;
}

/* ---- merge ranks ---- */

/* Open addressing on key = (left+1) << 32 | (right+1); key 0 marks a free slot. */
typedef struct merge_slot { uint64_t key; int32_t rank, id; } merge_slot;

typedef struct bpe {
    merge_slot *tab;          /* (mask + 1) slots, load <= 3/4 */
    uint64_t mask;
    int64_t n_merges, n_skipped;
    char map[256][2];         /* UTF-8 of byte_to_cp(b): 1 or 2 bytes */
    uint8_t map_len[256];
    int32_t byte_id[256];     /* vocabulary id of the mapped byte, or -1 */
} bpe;

static uint64_t pair_key(int32_t l, int32_t r) {
    return (uint64_t)(uint32_t)(l + 1) << 32 | (uint32_t)(r + 1);
}

static size_t slot_of(const bpe *b, uint64_t key) {
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h ^ h >> 32) & b->mask;
    while (b->tab[i].key && b->tab[i].key != key) i = (i + 1) & b->mask;
    return i;
}

static const merge_slot *merge_find(const bpe *b, int32_t l, int32_t r) {
    const merge_slot *s = &b->tab[slot_of(b, pair_key(l, r))];
    return s->key ? s : NULL;
}

void tok_bpe_free(tok *t) {
    bpe *b = t->bpe;
    if (b) free(b->tab);
    free(b);
    t->bpe = NULL;
}

static bpe *bpe_create(const tok *t, int64_t n) {
    bpe *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    uint64_t cap = 64;
    while (cap * 3 < 4 * (uint64_t)n + 4) cap *= 2;   /* load <= 3/4 */
    b->tab = calloc(cap, sizeof *b->tab);
    if (!b->tab) { free(b); return NULL; }
    b->mask = cap - 1;
    for (unsigned c = 0; c < 256; c++) {
        char u[4];
        b->map_len[c] = (uint8_t)utf8_encode(byte_to_cp(c), u);
        memcpy(b->map[c], u, b->map_len[c]);
        b->byte_id[c] = strmap_get(&t->vocab, b->map[c], b->map_len[c]);
    }
    return b;
}

int tok_bpe_prepare(tok *t, const char *const *merges, const size_t *lens,
                    int64_t n, char *err, size_t errlen) {
    tok_bpe_free(t);
    bpe *b = bpe_create(t, n < 0 ? 0 : n);
    char *cat = NULL;
    size_t catcap = 0;
    if (!b) goto oom;
    for (int64_t i = 0; i < n; i++) {
        const char *s = merges[i];
        size_t len = lens ? lens[i] : strlen(s);
        const char *sp = len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
        if (!sp) {
            if (err && errlen)
                snprintf(err, errlen, "merge %lld \"%.*s\" is not \"left right\"",
                         (long long)i, (int)(len > 64 ? 64 : len), s);
            free(cat); free(b->tab); free(b);
            return TOK_EFORMAT;
        }
        size_t ll = (size_t)(sp - s), rl = len - ll - 1;
        if (ll + rl > catcap) {
            free(cat);
            catcap = 2 * (ll + rl);
            if (!(cat = malloc(catcap))) goto oom;
        }
        memcpy(cat, s, ll);
        memcpy(cat + ll, sp + 1, rl);
        int32_t l = strmap_get(&t->vocab, s, ll);
        int32_t r = strmap_get(&t->vocab, sp + 1, rl);
        int32_t m = strmap_get(&t->vocab, cat, ll + rl);
        if (l < 0 || r < 0 || m < 0) { b->n_skipped++; continue; }
        merge_slot *slot = &b->tab[slot_of(b, pair_key(l, r))];
        if (slot->key) continue;   /* a repeated merge keeps its first (lowest) rank */
        slot->key = pair_key(l, r);
        slot->rank = (int32_t)(i < INT32_MAX ? i : INT32_MAX);
        slot->id = m;
        b->n_merges++;
    }
    free(cat);
    t->bpe = b;
    return TOK_OK;
oom:
    free(cat);
    if (b) { free(b->tab); free(b); }
    if (err && errlen) snprintf(err, errlen, "out of memory preparing %lld merges", (long long)n);
    return TOK_ENOMEM;
}

/* ---- pre-tokenizers ---- */

enum { C_L = UNI_L, C_N = UNI_N, C_S = UNI_S, C_NL = 8 /* \r or \n, also C_S */ };
#define OTHER(c) (!((c) & (C_L | C_N | C_S)))

/* A fragment decoded to code points: cp[i] starts at byte off[i]; off[n] is
 * the fragment's length. An invalid byte counts as one OTHER code point. */
typedef struct cps { uint32_t *cp, *off; uint8_t *cls; size_t n; } cps;

static size_t run_of(const cps *p, size_t i, int mask) {
    while (i < p->n && (p->cls[i] & mask)) i++;
    return i;
}

static size_t run_other(const cps *p, size_t i) {
    while (i < p->n && OTHER(p->cls[i])) i++;
    return i;
}

static bool eq_letter(uint32_t cp, char c, bool icase) {
    return icase ? uni_ieq_ascii(cp, c) : cp == (uint32_t)c;
}

/* 's|'t|'re|'ve|'m|'ll|'d at i: the end, or 0 when none matches. */
static size_t contraction(const cps *p, size_t i, bool icase) {
    if (p->cp[i] != '\'' || i + 1 >= p->n) return 0;
    uint32_t a = p->cp[i + 1], b = i + 2 < p->n ? p->cp[i + 2] : 0;
    if (eq_letter(a, 's', icase) || eq_letter(a, 't', icase) ||
        eq_letter(a, 'm', icase) || eq_letter(a, 'd', icase)) return i + 2;
    if ((eq_letter(a, 'r', icase) && eq_letter(b, 'e', icase)) ||
        (eq_letter(a, 'v', icase) && eq_letter(b, 'e', icase)) ||
        (eq_letter(a, 'l', icase) && eq_letter(b, 'l', icase))) return i + 3;
    return 0;
}

/* \s+(?!\S)|\s+ at whitespace i. The first alternative backtracks to leave the
 * run's last char for the next token when a non-space follows, which it can do
 * only if the run has two or more chars; else the plain \s+ takes the run. */
static size_t space_tail(const cps *p, size_t i) {
    size_t j = run_of(p, i, C_S);
    return j < p->n && j - i >= 2 ? j - 1 : j;
}

/* (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * Returns the end of the match at i (always > i). */
static size_t match_llama3(const cps *p, size_t i) {
    size_t j = contraction(p, i, true), n = p->n;
    if (j) return j;
    int c = p->cls[i];
    if (!(c & (C_L | C_N | C_NL)) && i + 1 < n && (p->cls[i + 1] & C_L))
        return run_of(p, i + 1, C_L);
    if (c & C_L) return run_of(p, i, C_L);
    if (c & C_N) {
        for (j = i + 1; j < n && j < i + 3 && (p->cls[j] & C_N); j++) {}
        return j;
    }
    size_t k = p->cp[i] == ' ' && i + 1 < n && OTHER(p->cls[i + 1]) ? i + 1 : i;
    if (OTHER(p->cls[k])) return run_of(p, run_other(p, k), C_NL);
    /* c is whitespace. \s*[\r\n]+ ends just after the run's last \r or \n. */
    j = run_of(p, i, C_S);
    for (k = j; k > i; k--)
        if (p->cls[k - 1] & C_NL) return k;
    return space_tail(p, i);
}

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static size_t match_gpt2(const cps *p, size_t i) {
    size_t j = contraction(p, i, false);
    if (j) return j;
    size_t k = p->cp[i] == ' ' && i + 1 < p->n && !(p->cls[i + 1] & C_S) ? i + 1 : i;
    int c = p->cls[k];
    if (c & C_L) return run_of(p, k, C_L);
    if (c & C_N) return run_of(p, k, C_N);
    if (OTHER(c)) return run_other(p, k);
    return space_tail(p, i);
}

static int cps_decode(cps *p, const char *s, size_t n) {
    p->cp = malloc((n + 1) * sizeof *p->cp);
    p->off = malloc((n + 1) * sizeof *p->off);
    p->cls = malloc(n + 1);
    if (!p->cp || !p->off || !p->cls) return TOK_ENOMEM;
    size_t i = 0, k = 0;
    while (i < n) {
        uint32_t cp;
        int l = utf8_decode(s + i, n - i, &cp);
        if (!l) { l = 1; cp = 0xFFFD; p->cls[k] = UNI_OTHER; }
        else p->cls[k] = (uint8_t)(uni_class(cp) | (cp == '\r' || cp == '\n' ? C_NL : 0));
        p->cp[k] = cp;
        p->off[k++] = (uint32_t)i;
        i += (size_t)l;
    }
    p->off[k] = (uint32_t)n;
    p->n = k;
    return TOK_OK;
}

/* ---- merging ---- */

typedef struct cand { int32_t rank, l, r, lid, rid, id; } cand;

/* Per-call scratch, grown to the longest pre-token seen. */
typedef struct work {
    int32_t *id, *prev, *next;   /* (cap) symbol list; id -1: dead or unknown byte */
    cand *heap;                  /* (3 * cap) min-heap on (rank, l) */
    char *word;                  /* (2 * cap) the mapped pre-token */
    size_t cap, nheap;
} work;

static void work_fini(work *w) {
    free(w->id); free(w->prev); free(w->next); free(w->heap); free(w->word);
}

static int work_reserve(work *w, size_t m) {
    if (m <= w->cap) return TOK_OK;
    size_t cap = w->cap ? w->cap : 64;
    while (cap < m) cap *= 2;
    work_fini(w);
    w->id = malloc(cap * sizeof *w->id);
    w->prev = malloc(cap * sizeof *w->prev);
    w->next = malloc(cap * sizeof *w->next);
    w->heap = malloc(3 * cap * sizeof *w->heap);
    w->word = malloc(2 * cap);
    w->cap = cap;
    if (!w->id || !w->prev || !w->next || !w->heap || !w->word) {
        work_fini(w);
        memset(w, 0, sizeof *w);
        return TOK_ENOMEM;
    }
    return TOK_OK;
}

static bool cand_less(const cand *a, const cand *b) {
    return a->rank != b->rank ? a->rank < b->rank : a->l < b->l;
}

static void heap_push(work *w, const bpe *b, int32_t l, int32_t r) {
    if (l < 0 || r < 0 || w->id[l] < 0 || w->id[r] < 0) return;
    const merge_slot *m = merge_find(b, w->id[l], w->id[r]);
    if (!m) return;
    cand c = { m->rank, l, r, w->id[l], w->id[r], m->id };
    size_t i = w->nheap++;
    while (i > 0 && cand_less(&c, &w->heap[(i - 1) / 2])) {
        w->heap[i] = w->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->heap[i] = c;
}

static cand heap_pop(work *w) {
    cand top = w->heap[0], last = w->heap[--w->nheap];
    size_t i = 0, n = w->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && cand_less(&w->heap[c + 1], &w->heap[c])) c++;
        if (!cand_less(&w->heap[c], &last)) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    w->heap[i] = last;
    return top;
}

/* Merges the bytes s[m] and appends the ids. */
static int merge_word(const tok *t, const bpe *b, work *w, const unsigned char *s, size_t m,
                      tok_ids *out) {
    int rc = work_reserve(w, m);
    if (rc) return rc;
    for (size_t k = 0; k < m; k++) {
        w->id[k] = b->byte_id[s[k]];
        w->prev[k] = (int32_t)k - 1;
        w->next[k] = k + 1 < m ? (int32_t)k + 1 : -1;
    }
    w->nheap = 0;
    for (size_t k = 0; k + 1 < m; k++) heap_push(w, b, (int32_t)k, (int32_t)k + 1);
    while (w->nheap) {
        cand c = heap_pop(w);
        /* Stale when either side has merged since: ids only ever grow into
         * longer strings, so equal ids mean both symbols are unchanged. */
        if (w->id[c.l] != c.lid || w->next[c.l] != c.r || w->id[c.r] != c.rid) continue;
        int32_t nr = w->next[c.r];
        w->id[c.l] = c.id;
        w->next[c.l] = nr;
        if (nr >= 0) w->prev[nr] = c.l;
        w->id[c.r] = -1;
        w->next[c.r] = -1;
        heap_push(w, b, w->prev[c.l], c.l);
        heap_push(w, b, c.l, nr);
    }
    for (int32_t k = 0; k >= 0; k = w->next[k]) {
        int32_t id = w->id[k] >= 0 ? w->id[k] : t->unk;
        if (id >= 0 && (rc = tok_ids_push(out, id))) return rc;
    }
    return TOK_OK;
}

static int encode_word(const tok *t, const bpe *b, work *w, const unsigned char *s, size_t m,
                       tok_ids *out) {
    if (t->ignore_merges && m > 1) {
        int rc = work_reserve(w, m);
        if (rc) return rc;
        size_t len = 0;
        for (size_t k = 0; k < m; k++) {
            memcpy(w->word + len, b->map[s[k]], b->map_len[s[k]]);
            len += b->map_len[s[k]];
        }
        int32_t id = strmap_get(&t->vocab, w->word, len);
        if (id >= 0) return tok_ids_push(out, id);
    }
    return merge_word(t, b, w, s, m, out);
}

int tok_bpe_encode(const tok *t, const char *s, size_t n, tok_ids *out) {
    const bpe *b = t->bpe;
    if (!b) return TOK_EFORMAT;
    if (n == 0) return TOK_OK;
    if (n >= UINT32_MAX) return TOK_ENOMEM;
    const unsigned char *u = (const unsigned char *)s;
    work w = {0};
    int rc = TOK_OK;
    if (t->pre == TOK_PRE_NONE) {
        rc = encode_word(t, b, &w, u, n, out);
        work_fini(&w);
        return rc;
    }
    cps p = {0};
    rc = cps_decode(&p, s, n);
    for (size_t i = 0; !rc && i < p.n;) {
        size_t j = t->pre == TOK_PRE_GPT2 ? match_gpt2(&p, i) : match_llama3(&p, i);
        rc = encode_word(t, b, &w, u + p.off[i], p.off[j] - p.off[i], out);
        i = j;
    }
    free(p.cp); free(p.off); free(p.cls);
    work_fini(&w);
    return rc;
}
