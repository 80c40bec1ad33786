/* tok_spm: SentencePiece-style BPE encoding of one text fragment, as
 * llama.cpp's SPM tokenizer does it.
 *
 * The fragment (spaces already prefixed by the caller) has ' ' replaced by
 * U+2581 '▁' and is split into UTF-8 characters, one symbol each, kept in a
 * doubly linked list. Every adjacent pair whose concatenation is a vocabulary
 * string is a candidate; a binary max-heap yields the candidate with the
 * highest piece score (ties: leftmost), which merges the right symbol into the
 * left one and adds the two new candidates around it. Stale candidates (a side
 * already merged away, or grown) are recognised by their byte size and
 * dropped. O(n log n) in the fragment length.
 *
 * Every merged symbol is a vocabulary string by construction, so at the end a
 * symbol is either a token or a single character outside the vocabulary; the
 * latter becomes its UTF-8 bytes as byte tokens "<0xNN>" (looked up by text).
 */
#include "tok_impl.h"
#include "utf8.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sym { size_t off, n; int32_t prev, next; } sym;     /* n == 0: merged away */
typedef struct cand { int32_t left, right; float score; size_t size; } cand;

typedef struct heap { cand *v; size_t n, cap; } heap;

/* a comes out before b: higher score, then smaller left index */
static int before(const cand *a, const cand *b) {
    if (a->score != b->score) return a->score > b->score;
    return a->left < b->left;
}

static int heap_push(heap *h, cand c) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        cand *v = realloc(h->v, cap * sizeof *v);
        if (!v) return TOK_ENOMEM;
        h->v = v; h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&c, &h->v[p])) break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = c;
    return TOK_OK;
}

static cand heap_pop(heap *h) {
    cand top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && before(&h->v[c + 1], &h->v[c])) c++;
        if (!before(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = last;
    return top;
}

/* Queues the pair (left, right) if their concatenation is a token. */
static int try_pair(const tok *t, const char *s, const sym *sy, int32_t left, int32_t right,
                    heap *h) {
    if (left < 0 || right < 0) return TOK_OK;
    size_t size = sy[left].n + sy[right].n;
    int32_t id = strmap_get(&t->vocab, s + sy[left].off, size);
    if (id < 0 || id >= t->n_vocab) return TOK_OK;
    cand c = { left, right, t->score[id], size };
    return heap_push(h, c);
}

/* Id of the byte token for b: "<0xNN>", else the one-byte string, else unk. */
static int32_t byte_token(const tok *t, unsigned char b) {
    char name[8];
    snprintf(name, sizeof name, "<0x%02X>", b);
    int32_t id = strmap_get(&t->vocab, name, 6);
    if (id < 0) id = strmap_get(&t->vocab, (const char *)&b, 1);
    return id >= 0 ? id : t->unk;
}

static int emit(const tok *t, const char *s, size_t n, tok_ids *out) {
    int32_t id = strmap_get(&t->vocab, s, n);
    if (id >= 0) return tok_ids_push(out, id);
    for (size_t i = 0; i < n; i++) {
        id = byte_token(t, (unsigned char)s[i]);
        if (id >= 0 && tok_ids_push(out, id)) return TOK_ENOMEM;
    }
    return TOK_OK;
}

/* Copies s with every ' ' replaced by "▁"; returns the new length. */
static size_t escape_spaces(const char *s, size_t n, char *dst) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') { memcpy(dst + k, "\xE2\x96\x81", 3); k += 3; }
        else dst[k++] = s[i];
    }
    return k;
}

int tok_spm_encode(const tok *t, const char *text, size_t len, tok_ids *out) {
    if (len == 0) return TOK_OK;
    if (len > (SIZE_MAX - 1) / 3 || len > INT32_MAX / 3) return TOK_ENOMEM;
    char *s = malloc(len * 3);                       /* escaped text */
    sym *sy = malloc(len * sizeof *sy);              /* (chars of s): at most len */
    heap h = { 0 };
    int rc = TOK_ENOMEM;
    if (!s || !sy) goto done;
    size_t n = escape_spaces(text, len, s);
    int32_t ns = 0;
    for (size_t off = 0; off < n; ns++) {
        size_t l = utf8_seq_len((unsigned char)s[off]);
        if (l == 0 || l > n - off) l = 1;            /* defensive: caller validated UTF-8 */
        sy[ns] = (sym){ off, l, ns - 1, -1 };
        if (ns > 0) sy[ns - 1].next = ns;
        off += l;
    }
    for (int32_t i = 1; i < ns; i++)
        if (try_pair(t, s, sy, i - 1, i, &h)) goto done;
    while (h.n) {
        cand c = heap_pop(&h);
        sym *l = &sy[c.left], *r = &sy[c.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != c.size) continue;   /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sy[r->next].prev = c.left;
        if (try_pair(t, s, sy, l->prev, c.left, &h)) goto done;
        if (try_pair(t, s, sy, c.left, l->next, &h)) goto done;
    }
    for (int32_t i = 0; i >= 0; i = sy[i].next)           /* ns >= 1 as len > 0 */
        if (emit(t, s + sy[i].off, sy[i].n, out)) goto done;
    rc = TOK_OK;
done:
    free(s); free(sy); free(h.v);
    return rc;
}
