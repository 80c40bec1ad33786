/* gmatch_vocab: the token pieces of a tokenizer in a prefix tree (numbered
 * breadth first, so a node's children are one contiguous run and a walk
 * tests a run of dead siblings reading a byte each), with what the
 * skipping walk of gmatch.c needs: per node the byte groups and the longest
 * piece (in characters) below it, and per group set the "slice" of tokens
 * made of those groups alone, by length, with cached bitsets. */
#include <stdlib.h>
#include <string.h>

#include "gmatch_impl.h"
#include "tok.h"

int gmatch_byte_group(uint8_t b) {
    static const char punct[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    if (b >= '0' && b <= '9') return 0;
    if (b >= 'a' && b <= 'f') return 1;
    if (b >= 'g' && b <= 'z') return 2;
    if (b >= 'A' && b <= 'F') return 3;
    if (b >= 'G' && b <= 'Z') return 4;
    if (b == ' ') return 5;
    if (b == '\t') return 6;
    if (b == '\n') return 7;
    if (b == '\r') return 8;
    if (b < 0x20 || b == 0x7f) return 9;
    if (b < 0x80) return 10 + (int)(strchr(punct, b) - punct);
    if (b <= 0x8f) return 42;
    if (b <= 0x9f) return 43;
    if (b <= 0xbf) return 44;
    if (b >= 0xc2 && b <= 0xdf) return 45;
    if (b == 0xe0) return 46;
    if (b >= 0xe1 && b <= 0xec) return 47;
    if (b == 0xed) return 48;
    if (b == 0xee || b == 0xef) return 49;
    if (b == 0xf0) return 50;
    if (b >= 0xf1 && b <= 0xf3) return 51;
    if (b == 0xf4) return 52;
    return 53;                              /* c0, c1, f5-ff: never valid */
}

/* UTF-8 progress: 0 at a character boundary; 1-3 continuation bytes left
 * (80-bf); 4 after e0 (a0-bf next), 5 after ed (80-9f), 6 after f0 (90-bf),
 * 7 after f4 (80-8f). The next progress after byte b, or -1 if b is invalid
 * there. */
int gmatch_utf8_step(int u, uint8_t b) {
    switch (u) {
    case 0:
        if (b < 0x80) return 0;
        if (b >= 0xc2 && b <= 0xdf) return 1;
        if (b == 0xe0) return 4;
        if (b == 0xed) return 5;
        if (b >= 0xe1 && b <= 0xef) return 2;
        if (b == 0xf0) return 6;
        if (b >= 0xf1 && b <= 0xf3) return 3;
        if (b == 0xf4) return 7;
        return -1;
    case 1: case 2: case 3: return b >= 0x80 && b <= 0xbf ? u - 1 : -1;
    case 4: return b >= 0xa0 && b <= 0xbf ? 1 : -1;
    case 5: return b >= 0x80 && b <= 0x9f ? 1 : -1;
    case 6: return b >= 0x90 && b <= 0xbf ? 2 : -1;
    case 7: return b >= 0x80 && b <= 0x8f ? 2 : -1;
    }
    return -1;
}

static uint64_t piece_sig(const char *s, int64_t n) {
    uint64_t sig = 0;
    int u = 0;
    for (int64_t i = 0; i < n; i++) {
        uint8_t b = (uint8_t)s[i];
        sig |= 1ULL << gmatch_byte_group(b);
        if (u >= 0) u = gmatch_utf8_step(u, b);
    }
    if (u < 0) return sig | BAD_BIT;
    return u > 0 ? sig | PARTIAL_BIT : sig;
}

/* qsort_r (glibc's argument order) keeps the sort free of global state. */
static int cmp_piece(const void *pa, const void *pb, void *ud) {
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    const gmatch_vocab *v = ud;
    size_t la = (size_t)(v->off[a + 1] - v->off[a]), lb = (size_t)(v->off[b + 1] - v->off[b]);
    int c = memcmp(v->bytes + v->off[a], v->bytes + v->off[b], la < lb ? la : lb);
    if (c) return c;
    if (la != lb) return la < lb ? -1 : 1;
    return (a > b) - (a < b);
}

void gmatch_vocab_unref(gmatch_vocab *v) {
    if (!v || --v->refs > 0) return;
    free(v->bytes);
    free(v->off);
    free(v->kbyte);
    free(v->node);
    free(v->sorted);
    free(v->tch);
    free(v->tsig);
    for (int32_t i = 0; i < v->nsl; i++) { free(v->sl[i].ids); free(v->sl[i].upto); }
    for (int32_t i = 0; i < v->nlb; i++) free(v->lb[i].bits);
    for (int32_t i = 0; i < v->nsp; i++) { free(v->sp[i].byte); free(v->sp[i].nd); }
    pthread_mutex_destroy(&v->lock);
    free(v);
}

gmatch_vocab *gmatch_vocab_ref(gmatch_vocab *v) {
    if (v) v->refs++;
    return v;
}

/* The tree in preorder while it is built: node i has its byte, the index
 * just past its subtree, its tokens and the subtree's groups and longest
 * piece. */
typedef struct pre {
    uint8_t *nbyte;
    int32_t *nend, *ntok, *ntokn;
    uint64_t *nsig;
    uint16_t *nmax;
} pre;

/* Renumbers the preorder tree so that a node's children are consecutive
 * (v->kbyte, v->node): the mask's walk then reads a node's children as one
 * run instead of jumping over each dead sibling's subtree (a cache miss per
 * sibling per array). The runs are placed in the preorder of their parents,
 * so a walk going down and on finds the next run close by. scratch: (nn)
 * ints. */
static bool renumber(gmatch_vocab *v, const pre *p, int32_t *scratch) {
    int32_t nn = v->nn, nb = 0, *ord = scratch;   /* ord[b]: the preorder index of node b */
    int32_t *stack = malloc(sizeof *stack * (size_t)(nn ? nn : 1)), sp = 0;
    v->kbyte = malloc((size_t)(nn ? nn : 1));
    v->node = malloc(sizeof *v->node * (size_t)(nn ? nn : 1));
    if (!stack || !v->kbyte || !v->node) { free(stack); return false; }
    for (int32_t i = 0; i < nn; i = p->nend[i]) ord[nb++] = i;
    v->nroot = nb;
    for (int32_t b = nb - 1; b >= 0; b--) stack[sp++] = b;
    while (sp > 0) {
        int32_t b = stack[--sp], i = ord[b], kid = nb;
        for (int32_t j = i + 1; j < p->nend[i]; j = p->nend[j]) ord[nb++] = j;
        v->kbyte[b] = p->nbyte[i];
        int32_t tok = p->ntokn[i] == 1 ? v->sorted[p->ntok[i]] : p->ntok[i];
        v->node[b] = (gnode){ p->nsig[i], kid, tok, p->ntokn[i], (uint16_t)(nb - kid), p->nmax[i] };
        for (int32_t k = nb - 1; k >= kid; k--) stack[sp++] = k;
    }
    free(stack);
    return true;
}

static bool build_tree(gmatch_vocab *v) {
    int32_t ns = 0;
    int64_t total = 0;
    v->sorted = malloc(sizeof *v->sorted * (size_t)(v->n ? v->n : 1));
    v->tsig = malloc(sizeof *v->tsig * (size_t)(v->n ? v->n : 1));
    v->tch = calloc((size_t)(v->n ? v->n : 1), sizeof *v->tch);
    if (!v->sorted || !v->tsig || !v->tch) return false;
    for (int32_t i = 0; i < v->n; i++) {
        int64_t len = v->off[i + 1] - v->off[i];
        v->tsig[i] = BAD_BIT;
        if (len == 0 || i == v->eos || i == v->eot) continue;
        if (len > 65535) continue;          /* no real piece is this long */
        v->tsig[i] = piece_sig(v->bytes + v->off[i], len);
        for (int64_t j = 0; j < len; j++) v->tch[i] += ((uint8_t)v->bytes[v->off[i] + j] & 0xc0) != 0x80;
        if (v->tch[i] > v->max_chars) v->max_chars = v->tch[i];
        for (uint64_t g = v->tsig[i]; g; g &= g - 1) v->gcnt[__builtin_ctzll(g)]++;
        v->sorted[ns++] = i;
        total += len;
    }
    qsort_r(v->sorted, (size_t)ns, sizeof *v->sorted, cmp_piece, v);
    /* first in preorder (a sorted scan of the pieces), then renumbered */
    size_t cap = (size_t)total + 1;
    pre p = { malloc(cap), malloc(sizeof *p.nend * cap), malloc(sizeof *p.ntok * cap), calloc(cap, sizeof *p.ntokn),
              calloc(cap, sizeof *p.nsig), calloc(cap, sizeof *p.nmax) };
    int32_t *path = malloc(sizeof *path * 65537);
    int32_t *parent = malloc(sizeof *parent * cap);
    bool ok = false;
    if (!p.nbyte || !p.nend || !p.ntok || !p.ntokn || !path || !parent || !p.nsig || !p.nmax) goto out;
    int32_t nn = 0, plen = 0;
    const char *prev = NULL;
    for (int32_t k = 0; k < ns; k++) {
        int32_t id = v->sorted[k];
        const char *s = v->bytes + v->off[id];
        int32_t len = (int32_t)(v->off[id + 1] - v->off[id]);
        int32_t l = 0;
        if (prev) while (l < len && l < plen && s[l] == prev[l]) l++;
        for (int32_t d = plen; d > l; d--) p.nend[path[d]] = nn;   /* close the old branch */
        for (int32_t d = l + 1; d <= len; d++) {
            p.nbyte[nn] = (uint8_t)s[d - 1];
            p.ntok[nn] = 0;
            parent[nn] = d > 1 ? path[d - 1] : -1;
            path[d] = nn++;
        }
        int32_t node = path[len];
        if (p.ntokn[node]++ == 0) p.ntok[node] = k;
        p.nsig[node] |= v->tsig[id];
        if (v->tch[id] > p.nmax[node]) p.nmax[node] = v->tch[id];
        if (len > v->max_depth) v->max_depth = len;
        prev = s;
        plen = len;
    }
    for (int32_t d = plen; d >= 1; d--) p.nend[path[d]] = nn;
    v->nn = nn;
    v->nsorted = ns;
    /* children follow their parent in preorder: fold the subtrees upwards */
    for (int32_t i = nn - 1; i >= 0; i--) {
        int32_t q = parent[i];
        if (q < 0) continue;
        p.nsig[q] |= p.nsig[i];
        if (p.nmax[i] > p.nmax[q]) p.nmax[q] = p.nmax[i];
    }
    if (!renumber(v, &p, parent)) goto out;
    /* The probe looks ahead as many characters as all but a few subtrees
     * need: the nodes above longer pieces (at most nn/64 of them) are walked
     * instead, which costs less than probing every character that far. */
    int32_t *hist = calloc((size_t)v->max_chars + 2, sizeof *hist);
    if (!hist) goto out;
    for (int32_t i = 0; i < nn; i++) hist[v->node[i].nmax]++;
    int32_t above = 0, lim = nn / 64 > 256 ? nn / 64 : 256;
    v->probe_cap = v->max_chars;
    for (int32_t l = v->max_chars; l >= 1; l--) {
        if (above + hist[l] > lim) break;
        above += hist[l];
        v->probe_cap = l - 1;
    }
    if (v->probe_cap < 1) v->probe_cap = 1;
    free(hist);
    ok = true;
out:
    free(p.nbyte);
    free(p.nend);
    free(p.ntok);
    free(p.ntokn);
    free(p.nsig);
    free(p.nmax);
    free(parent);
    free(path);
    return ok;
}

gmatch_vocab *gmatch_vocab_create_pieces(const char *const *pieces, const size_t *lens, int32_t n,
                                         int32_t eos, int32_t eot) {
    gmatch_vocab *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    if (pthread_mutex_init(&v->lock, NULL)) { free(v); return NULL; }
    v->refs = 1;
    v->n = n;
    v->eos = eos;
    v->eot = eot;
    int64_t total = 0;
    for (int32_t i = 0; i < n; i++) total += (int64_t)lens[i];
    v->off = malloc(sizeof *v->off * (size_t)(n + 1));
    v->bytes = malloc((size_t)total + 1);
    if (!v->off || !v->bytes) { gmatch_vocab_unref(v); return NULL; }
    int64_t o = 0;
    for (int32_t i = 0; i < n; i++) {
        v->off[i] = o;
        memcpy(v->bytes + o, pieces[i], lens[i]);
        o += (int64_t)lens[i];
    }
    v->off[n] = o;
    if (!build_tree(v)) { gmatch_vocab_unref(v); return NULL; }
    return v;
}

gmatch_vocab *gmatch_vocab_create(const tok *t) {
    int32_t n = tok_n_vocab(t);
    char **pieces = calloc((size_t)(n ? n : 1), sizeof *pieces);
    size_t *lens = calloc((size_t)(n ? n : 1), sizeof *lens);
    gmatch_vocab *v = NULL;
    if (!pieces || !lens) goto out;
    char buf[256];
    for (int32_t i = 0; i < n; i++) {
        int32_t k = tok_piece(t, i, buf, (int32_t)sizeof buf, false);
        if (k < 0) k = 0;
        if (!(pieces[i] = malloc((size_t)k + 1))) goto out;
        if (k > (int32_t)sizeof buf) tok_piece(t, i, pieces[i], k, false);
        else memcpy(pieces[i], buf, (size_t)k);
        lens[i] = (size_t)k;
    }
    v = gmatch_vocab_create_pieces((const char *const *)pieces, lens, n, tok_eos(t), tok_eot(t));
out:
    if (pieces) for (int32_t i = 0; i < n; i++) free(pieces[i]);
    free(pieces);
    free(lens);
    return v;
}

int32_t gmatch_vocab_n(const gmatch_vocab *v) { return v->n; }

const char *gmatch_vocab_piece(const gmatch_vocab *v, int32_t id, size_t *len) {
    if (id < 0 || id >= v->n) { *len = 0; return ""; }
    *len = (size_t)(v->off[id + 1] - v->off[id]);
    return v->bytes + v->off[id];
}


/* The slice of x (lock held); NULL when out of memory. */
static const slice *get_slice(gmatch_vocab *v, uint64_t x) {
    for (int32_t i = 0; i < v->nsl; i++) if (v->sl[i].x == x) return &v->sl[i];
    int32_t mc = v->max_chars;
    slice s = { x, malloc(sizeof *s.ids * (size_t)(v->nsorted ? v->nsorted : 1)), calloc((size_t)mc + 2, sizeof *s.upto) };
    if (!s.ids || !s.upto) { free(s.ids); free(s.upto); return NULL; }
    for (int32_t k = 0; k < v->nsorted; k++) {            /* counting sort by characters */
        int32_t id = v->sorted[k];
        if (gmatch_fits(v->tsig[id], x)) s.upto[v->tch[id] + 1]++;
    }
    for (int32_t l = 1; l <= mc + 1; l++) s.upto[l] += s.upto[l - 1];
    int32_t *fill = malloc(sizeof *fill * (size_t)(mc + 1));
    if (!fill) { free(s.ids); free(s.upto); return NULL; }
    memcpy(fill, s.upto, sizeof *fill * (size_t)(mc + 1));
    for (int32_t k = 0; k < v->nsorted; k++) {
        int32_t id = v->sorted[k];
        if (gmatch_fits(v->tsig[id], x)) s.ids[fill[v->tch[id]]++] = id;
    }
    free(fill);
    /* upto[l] was the count below l; shifted, the count of at most l */
    memmove(s.upto, s.upto + 1, sizeof *s.upto * (size_t)(mc + 1));
    if (v->nsl == N_SLICES) {                               /* full: drop the oldest */
        free(v->sl[0].ids);
        free(v->sl[0].upto);
        memmove(v->sl, v->sl + 1, sizeof *v->sl * (N_SLICES - 1));
        v->nsl--;
    }
    v->sl[v->nsl] = s;
    return &v->sl[v->nsl++];
}

static void set_ids(uint64_t *m, const int32_t *ids, int32_t a, int32_t b, bool on) {
    for (int32_t i = a; i < b; i++) {
        int32_t id = ids[i];
        if (on) m[id >> 6] |= 1ULL << (id & 63);
        else m[id >> 6] &= ~(1ULL << (id & 63));
    }
}

/* ORs into m the tokens of slice x of at most l characters, from a bitset
 * built from the nearest cached length of the same slice and kept. The
 * vocabulary's lock makes this safe for grammars used on several threads.
 * false: out of memory. */
bool gmatch_vocab_or_slice(gmatch_vocab *v, uint64_t *m, uint64_t x, int32_t l) {
    int32_t md = v->max_chars, words = (v->n + 63) / 64;
    if (l > md) l = md;
    if (l <= 0 || !x) return true;
    bool ok = false;
    pthread_mutex_lock(&v->lock);
    const slice *s = get_slice(v, x);
    if (!s) goto out;
    int32_t best = -1;
    for (int32_t i = 0; i < v->nlb; i++) {
        if (v->lb[i].x != x) continue;
        if (v->lb[i].l == l) { best = i; break; }
        if (best < 0 || abs(v->lb[i].l - l) < abs(v->lb[best].l - l)) best = i;
    }
    if (best < 0 || v->lb[best].l != l) {
        uint64_t *bits;
        int32_t slot;
        if (v->nlb < N_LENBITS) {
            if (!(bits = malloc((size_t)words * 8))) goto out;
            slot = v->nlb++;
        } else {
            slot = v->next_lb;
            v->next_lb = (v->next_lb + 1) % N_LENBITS;
            if (slot == best) { slot = v->next_lb; v->next_lb = (v->next_lb + 1) % N_LENBITS; }
            bits = v->lb[slot].bits;
        }
        if (best >= 0) {
            int32_t bl = v->lb[best].l;
            memcpy(bits, v->lb[best].bits, (size_t)words * 8);
            if (bl < l) set_ids(bits, s->ids, s->upto[bl], s->upto[l], true);
            else set_ids(bits, s->ids, s->upto[l], s->upto[bl], false);
        } else {
            memset(bits, 0, (size_t)words * 8);
            set_ids(bits, s->ids, 0, s->upto[l], true);
        }
        v->lb[slot] = (lenbits){ x, l, bits };
        best = slot;
    }
    const uint64_t *b = v->lb[best].bits;
    for (int32_t w = 0; w < words; w++) m[w] |= b[w];
    ok = true;
out:
    pthread_mutex_unlock(&v->lock);
    return ok;
}

/* The walk of a string state reads every child of each node it enters, and
 * most of them (inside a string: every piece of letters, digits, spaces)
 * fit the state's groups and are skipped one by one: at 128256 tokens ~2500
 * of the ~3500 nodes a string state's mask read. When every fitting subtree
 * is settled without a walk (state_mask decides), the walk can go over the
 * nodes that do not fit alone: this tree keeps those, breadth first, each
 * node's kept children consecutive. Built once per (vocabulary, xd), kept
 * until the vocabulary goes (so a walk may read it without the lock). */
const gspine *gmatch_vocab_spine(gmatch_vocab *v, uint64_t xd) {
    const gspine *r = NULL;
    pthread_mutex_lock(&v->lock);
    for (int32_t i = 0; i < v->nsp; i++) if (v->sp[i].xd == xd) { r = &v->sp[i]; goto out; }
    if (v->nsp == N_SPINES) goto out;
    int32_t cnt = 0;
    for (int32_t i = 0; i < v->nn; i++) cnt += !gmatch_fits(v->node[i].sig, xd);
    size_t sz = cnt ? (size_t)cnt : 1;
    gspine s = { xd, 0, 0, malloc(sz), malloc(sizeof *s.nd * sz) };
    if (!s.byte || !s.nd) { free(s.byte); free(s.nd); goto out; }
    for (int32_t i = 0; i < v->nroot; i++) if (!gmatch_fits(v->node[i].sig, xd)) s.nd[s.n++].node = i;
    s.nroot = s.n;
    for (int32_t j = 0; j < s.n; j++) {     /* a kept node's kept children (a subset of a kept node's) */
        const gnode *n = &v->node[s.nd[j].node];
        s.byte[j] = v->kbyte[s.nd[j].node];
        s.nd[j].tok = n->tok;
        s.nd[j].ntok = n->ntok;
        s.nd[j].kid = s.n;
        for (int32_t k = n->kid; k < n->kid + n->nkid; k++)
            if (!gmatch_fits(v->node[k].sig, xd)) s.nd[s.n++].node = k;
        s.nd[j].nkid = s.n - s.nd[j].kid;
    }
    v->sp[v->nsp] = s;
    r = &v->sp[v->nsp++];
out:
    pthread_mutex_unlock(&v->lock);
    return r;
}
