/* loom: the branch tree (see loom.h). Invariants: a live node's parent is
 * live and lists it among its kids; kid.pos0 == parent.pos0 + parent.n;
 * last_kid is -1 or one of the kids; a dead node owns no memory. Nodes are
 * addressed by id, never by pointer across calls that add nodes (the array
 * may move). */
#include "loom.h"

#include <stdlib.h>
#include <string.h>

void loom_init(loom *l) { memset(l, 0, sizeof *l); }

static void node_free(loom_node *n) {
    free(n->kids);
    free(n->toks);
    free(n->label);
    free(n->sampler);
    free(n->prompt);
    memset(n, 0, sizeof *n);
    n->parent = -1;
    n->last_kid = -1;
    n->seq = -1;
}

void loom_clear(loom *l) {
    for (int32_t i = 0; i < l->n; i++) node_free(&l->nodes[i]);
    l->n_alive = 0;
}

void loom_fini(loom *l) {
    loom_clear(l);
    l->n = 0;
    free(l->nodes);
    memset(l, 0, sizeof *l);
}

loom_node *loom_get(const loom *l, int32_t id) {
    if (id < 0 || id >= l->n || !l->nodes[id].alive) return NULL;
    return &l->nodes[id];
}

static char *dup_str(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

static int grow_nodes(loom *l, int32_t need) {
    if (need <= l->cap) return LOOM_OK;
    int32_t cap = l->cap ? l->cap : 16;
    while (cap < need) cap *= 2;
    loom_node *nn = realloc(l->nodes, sizeof *nn * (size_t)cap);
    if (!nn) return LOOM_ENOMEM;
    l->nodes = nn;
    l->cap = cap;
    return LOOM_OK;
}

static void blank(loom_node *n) {
    memset(n, 0, sizeof *n);
    n->parent = -1;
    n->last_kid = -1;
    n->seq = -1;
}

int loom_reserve(loom *l, int32_t n) {
    if (n <= l->n) return LOOM_OK;
    if (grow_nodes(l, n)) return LOOM_ENOMEM;
    while (l->n < n) blank(&l->nodes[l->n++]);      /* tombstones */
    return LOOM_OK;
}

/* A fresh node slot: at the end (at < 0) or the tombstone at; its id, or
 * a negative code. */
static int32_t new_node(loom *l, int32_t at) {
    if (at >= 0 && (at >= l->n || l->nodes[at].alive)) return LOOM_EINVAL;
    if (at < 0 && grow_nodes(l, l->n + 1)) return LOOM_ENOMEM;
    int32_t id = at >= 0 ? at : l->n++;
    loom_node *n = &l->nodes[id];
    blank(n);
    n->alive = true;
    l->n_alive++;
    return id;
}

static int32_t new_root(loom *l, int32_t at, const char *prompt, bool chat) {
    char *p = dup_str(prompt ? prompt : "");
    if (!p) return LOOM_ENOMEM;
    int32_t id = new_node(l, at);
    if (id < 0) { free(p); return id; }
    l->nodes[id].origin = LOOM_ROOT;
    l->nodes[id].prompt = p;
    l->nodes[id].chat = chat;
    return id;
}

int32_t loom_add_root(loom *l, const char *prompt, bool chat) { return new_root(l, -1, prompt, chat); }
int32_t loom_add_root_at(loom *l, int32_t id, const char *prompt, bool chat) {
    return id < 0 ? LOOM_EINVAL : new_root(l, id, prompt, chat);
}

static int add_kid(loom_node *p, int32_t kid) {
    if (p->n_kids == p->cap_kids) {
        int32_t cap = p->cap_kids ? p->cap_kids * 2 : 4;
        int32_t *k = realloc(p->kids, sizeof *k * (size_t)cap);
        if (!k) return LOOM_ENOMEM;
        p->kids = k;
        p->cap_kids = cap;
    }
    p->kids[p->n_kids++] = kid;
    return LOOM_OK;
}

static int32_t new_child(loom *l, int32_t at, int32_t parent, int origin) {
    if (!loom_get(l, parent)) return LOOM_EINVAL;
    int32_t id = new_node(l, at);
    if (id < 0) return id;
    loom_node *p = &l->nodes[parent], *c = &l->nodes[id];
    if (add_kid(p, id)) {
        c->alive = false;
        l->n_alive--;
        if (at < 0) l->n--;
        return LOOM_ENOMEM;
    }
    c->parent = parent;
    c->origin = (uint8_t)origin;
    c->pos0 = p->pos0 + p->n;
    p->last_kid = id;
    return id;
}

int32_t loom_add_child(loom *l, int32_t parent, int origin) { return new_child(l, -1, parent, origin); }
int32_t loom_add_child_at(loom *l, int32_t id, int32_t parent, int origin) {
    return id < 0 ? LOOM_EINVAL : new_child(l, id, parent, origin);
}

int loom_append(loom *l, int32_t node, const loom_tok *t) {
    loom_node *n = loom_get(l, node);
    if (!n) return LOOM_EINVAL;
    if (n->n == n->cap) {
        int32_t cap = n->cap ? n->cap * 2 : 32;
        loom_tok *tt = realloc(n->toks, sizeof *tt * (size_t)cap);
        if (!tt) return LOOM_ENOMEM;
        n->toks = tt;
        n->cap = cap;
    }
    n->toks[n->n++] = *t;
    return LOOM_OK;
}

int32_t loom_split(loom *l, int32_t node, int32_t at) {
    loom_node *n = loom_get(l, node);
    if (!n || at <= 0 || at > n->n) return LOOM_EINVAL;
    if (at == n->n) return node;
    int32_t rest = n->n - at;
    loom_tok *tail = malloc(sizeof *tail * (size_t)rest);
    int32_t *kids = malloc(sizeof *kids * 4);
    char *smp = dup_str(n->sampler);
    if (!tail || !kids || (n->sampler && !smp)) { free(tail); free(kids); free(smp); return LOOM_ENOMEM; }
    int32_t id = new_node(l, -1);
    if (id < 0) { free(tail); free(kids); free(smp); return id; }
    n = &l->nodes[node];                        /* the array may have moved */
    loom_node *c = &l->nodes[id];
    memcpy(tail, n->toks + at, sizeof *tail * (size_t)rest);
    c->toks = tail;
    c->n = c->cap = rest;
    c->n_kids = n->n_kids; c->cap_kids = n->cap_kids; c->kids = n->kids;
    c->last_kid = n->last_kid;
    c->seq = n->seq; c->used = n->used;
    c->sampler = smp;
    c->has_draw = n->has_draw;                  /* the tail's tokens went on in the head's draws */
    c->draw = n->draw;
    c->draw_at = n->draw_at + at;
    c->parent = node;
    c->origin = LOOM_SPLIT;
    c->pos0 = n->pos0 + at;
    for (int32_t i = 0; i < c->n_kids; i++) l->nodes[c->kids[i]].parent = id;
    n->n = at;
    n->kids = kids; n->cap_kids = 4; n->n_kids = 1; kids[0] = id;
    n->last_kid = id;
    n->seq = -1;
    return id;
}

int32_t loom_del(loom *l, int32_t node, void (*drop)(void *ud, int32_t seq), void *ud) {
    loom_node *n = loom_get(l, node);
    if (!n) return 0;
    int32_t parent = n->parent;
    if (parent >= 0) {                          /* unlink from the parent */
        loom_node *p = &l->nodes[parent];
        int32_t k = 0;
        for (int32_t i = 0; i < p->n_kids; i++)
            if (p->kids[i] != node) p->kids[k++] = p->kids[i];
        p->n_kids = k;
        if (p->last_kid == node) p->last_kid = k ? p->kids[k - 1] : -1;
    }
    /* Depth-first over the subtree with an explicit stack: chains can be
     * deep. Children are pushed before the node is freed. */
    int32_t cap = 64, top = 0, count = 0;
    int32_t *stack = malloc(sizeof *stack * (size_t)cap);
    if (!stack) return 0;
    stack[top++] = node;
    while (top > 0) {
        int32_t id = stack[--top];
        loom_node *x = &l->nodes[id];
        if (top + x->n_kids > cap) {
            int32_t nc = (top + x->n_kids) * 2;
            int32_t *s = realloc(stack, sizeof *s * (size_t)nc);
            if (!s) break;                       /* leaves some nodes alive but unreachable */
            stack = s;
            cap = nc;
        }
        for (int32_t i = 0; i < x->n_kids; i++) stack[top++] = x->kids[i];
        if (x->seq >= 0 && drop) drop(ud, x->seq);
        node_free(x);
        l->n_alive--;
        count++;
    }
    free(stack);
    return count;
}

int loom_set_label(loom *l, int32_t node, const char *label) {
    loom_node *n = loom_get(l, node);
    if (!n) return LOOM_EINVAL;
    char *d = NULL;
    if (label && *label && !(d = dup_str(label))) return LOOM_ENOMEM;
    free(n->label);
    n->label = d;
    return LOOM_OK;
}

int loom_set_sampler(loom *l, int32_t node, const char *json) {
    loom_node *n = loom_get(l, node);
    if (!n) return LOOM_EINVAL;
    char *d = NULL;
    if (json && *json && !(d = dup_str(json))) return LOOM_ENOMEM;
    free(n->sampler);
    n->sampler = d;
    return LOOM_OK;
}

int32_t loom_end(const loom *l, int32_t node) {
    loom_node *n = loom_get(l, node);
    return n ? n->pos0 + n->n : 0;
}

int32_t loom_root(const loom *l, int32_t node) {
    loom_node *n = loom_get(l, node);
    while (n && n->parent >= 0) { node = n->parent; n = &l->nodes[node]; }
    return n ? node : -1;
}

int32_t loom_node_at(const loom *l, int32_t node, int32_t pos) {
    for (loom_node *n = loom_get(l, node); n; n = n->parent >= 0 ? &l->nodes[n->parent] : NULL) {
        if (pos >= n->pos0 && pos < n->pos0 + n->n) return (int32_t)(n - l->nodes);
        if (pos >= n->pos0 + n->n) return -1;
    }
    return -1;
}

loom_tok *loom_tok_at(const loom *l, int32_t node, int32_t pos) {
    int32_t id = loom_node_at(l, node, pos);
    if (id < 0) return NULL;
    loom_node *n = &l->nodes[id];
    return &n->toks[pos - n->pos0];
}

int32_t loom_path_ids(const loom *l, int32_t node, int32_t *ids, int32_t cap) {
    int32_t len = loom_end(l, node);
    for (loom_node *n = loom_get(l, node); n; n = n->parent >= 0 ? &l->nodes[n->parent] : NULL)
        for (int32_t i = 0; i < n->n; i++)
            if (n->pos0 + i < cap) ids[n->pos0 + i] = n->toks[i].id;
    return len;
}

int32_t loom_path_toks(const loom *l, int32_t node, const loom_tok **toks, int32_t cap) {
    int32_t len = loom_end(l, node);
    for (loom_node *n = loom_get(l, node); n; n = n->parent >= 0 ? &l->nodes[n->parent] : NULL)
        for (int32_t i = 0; i < n->n; i++)
            if (n->pos0 + i < cap) toks[n->pos0 + i] = &n->toks[i];
    return len;
}

bool loom_is_ancestor(const loom *l, int32_t a, int32_t node) {
    for (loom_node *n = loom_get(l, node); n; node = n->parent, n = loom_get(l, node))
        if (node == a) return true;
    return false;
}

int32_t loom_follow(const loom *l, int32_t node) {
    loom_node *n = loom_get(l, node);
    while (n && n->last_kid >= 0 && loom_get(l, n->last_kid)) {
        node = n->last_kid;
        n = &l->nodes[node];
    }
    return node;
}

void loom_touch_path(loom *l, int32_t node) {
    for (loom_node *n = loom_get(l, node); n && n->parent >= 0; node = n->parent, n = loom_get(l, node))
        l->nodes[n->parent].last_kid = node;
}

/* A live seq anywhere in the subtree of node, or -1. */
static int32_t subtree_seq(const loom *l, int32_t node) {
    const loom_node *n = loom_get(l, node);
    if (!n) return -1;
    if (n->seq >= 0) return n->seq;
    for (int32_t i = 0; i < n->n_kids; i++) {
        int32_t s = subtree_seq(l, n->kids[i]);
        if (s >= 0) return s;
    }
    return -1;
}

int32_t loom_find_seq(const loom *l, int32_t node, int32_t *shared) {
    for (loom_node *n = loom_get(l, node); n; node = n->parent, n = loom_get(l, node)) {
        int32_t s = subtree_seq(l, node);
        if (s >= 0) {
            if (shared) *shared = n->pos0 + n->n;
            return s;
        }
    }
    if (shared) *shared = 0;
    return -1;
}

int32_t loom_n_seqs(const loom *l) {
    int32_t k = 0;
    for (int32_t i = 0; i < l->n; i++)
        if (l->nodes[i].alive && l->nodes[i].seq >= 0) k++;
    return k;
}

/* ---- layout --------------------------------------------------------------- */

typedef struct frame { int32_t node, depth; uint64_t more; bool last; } frame;

int32_t loom_layout(const loom *l, loom_row *rows, int32_t cap) {
    int32_t n_rows = 0, top = 0, fcap = 64;
    frame *st = malloc(sizeof *st * (size_t)fcap);
    if (!st) return 0;
    for (int32_t r = l->n - 1; r >= 0; r--) {   /* roots, pushed last first */
        if (!l->nodes[r].alive || l->nodes[r].parent >= 0) continue;
        if (top == fcap) {
            frame *s = realloc(st, sizeof *s * (size_t)(fcap *= 2));
            if (!s) { free(st); return n_rows; }
            st = s;
        }
        st[top++] = (frame){ r, 0, 0, true };
    }
    while (top > 0) {
        frame f = st[--top];
        if (n_rows < cap) rows[n_rows] = (loom_row){ f.node, f.depth, f.more, f.last };
        n_rows++;
        const loom_node *n = &l->nodes[f.node];
        if (top + n->n_kids > fcap) {
            fcap = (top + n->n_kids) * 2;
            frame *s = realloc(st, sizeof *s * (size_t)fcap);
            if (!s) break;
            st = s;
        }
        /* A child's guide continues this node's line when this node has
         * later siblings (bit depth-1 of its own more, set below). */
        uint64_t more = f.more;
        if (f.depth > 0 && f.depth - 1 < 64) {
            if (!f.last) more |= (uint64_t)1 << (f.depth - 1);
            else more &= ~((uint64_t)1 << (f.depth - 1));
        }
        for (int32_t i = n->n_kids - 1; i >= 0; i--)
            st[top++] = (frame){ n->kids[i], f.depth + 1, more, i == n->n_kids - 1 };
    }
    free(st);
    return n_rows;
}

static bool put(char *buf, size_t cap, size_t *at, const char *s) {
    size_t k = strlen(s);
    if (*at + k + 1 > cap) return false;
    memcpy(buf + *at, s, k + 1);
    *at += k;
    return true;
}

size_t loom_guide(const loom_row *r, bool ascii, int max_depth, char *buf, size_t cap) {
    size_t at = 0;
    if (cap) buf[0] = 0;
    if (r->depth == 0) return 0;
    int d0 = 1;
    if (max_depth > 0 && r->depth > max_depth) {
        put(buf, cap, &at, ascii ? "..." : "\xE2\x80\xA6 ");   /* "… " */
        d0 = r->depth - max_depth + 1;
    }
    for (int d = d0; d < r->depth; d++) {
        bool more = d - 1 < 64 && (r->more >> (d - 1) & 1);
        put(buf, cap, &at, more ? (ascii ? "|  " : "\xE2\x94\x82  ") : "   ");  /* "│  " */
    }
    if (ascii) put(buf, cap, &at, r->last ? "`- " : "+- ");
    else put(buf, cap, &at, r->last ? "\xE2\x94\x94\xE2\x94\x80 " : "\xE2\x94\x9C\xE2\x94\x80 ");  /* "└─ " "├─ " */
    return at;
}

/* Indexes are stored: new names go after "custom" (10), the fallback. */
static const char *const stage_names[] = {
    "input", "bias", "penalties", "top_k", "typical", "top_p", "min_p", "temp", "greedy", "dist", "custom",
    "grammar"
};
#define N_STAGE_NAMES ((int)(sizeof stage_names / sizeof stage_names[0]))
#define CUSTOM 10

const char *loom_stage_name(int kind) {
    return kind >= 0 && kind < N_STAGE_NAMES ? stage_names[kind] : "custom";
}

int loom_stage_kind(const char *name) {
    for (int i = 0; i < N_STAGE_NAMES; i++)
        if (i != CUSTOM && name && strcmp(name, stage_names[i]) == 0) return i;
    return CUSTOM;
}
