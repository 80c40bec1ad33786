/* tui_store: loom <-> store (see tui_store.h).
 *
 * The mapping is one entry per loom id: the store node, how many of its
 * tokens are written, the sampler column and the label as written. The
 * invariant after a sync that returned STORE_OK: every live loom node has
 * a store node whose parent is its parent's, whose tokens are its first
 * `saved` tokens and whose label is its label; every store node the mapping
 * names belongs to a live loom node (or waits in strays to be deleted).
 * Entries change only after the store call they describe succeeded.
 */
#include "tui_store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smpjson.h"
#include "store.h"

typedef struct ent {
    int64_t db;             /* store node, 0 = not stored */
    int32_t saved;          /* tokens written */
    char *json;             /* its sampler column; NULL when not kept (out of memory) */
    char *label;            /* the label written, NULL = none */
} ent;

struct tui_store {
    ent *e;                 /* (cap) by loom id */
    int32_t cap;
    int64_t next_k;         /* the next node number ("k") */
    int64_t *strays;        /* store nodes to delete: split tails whose loom node is gone */
    int32_t n_strays, cap_strays;
    bool done;
};

static char *str_dup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void ent_clear(ent *x) {
    free(x->json);
    free(x->label);
    memset(x, 0, sizeof *x);
}

int tui_store_create(tui_store **out) {
    *out = calloc(1, sizeof **out);
    if (!*out) return -1;
    (*out)->next_k = 1;
    return 0;
}

void tui_store_reset(tui_store *m) {
    for (int32_t i = 0; i < m->cap; i++) ent_clear(&m->e[i]);
    m->n_strays = 0;
    m->next_k = 1;
    m->done = false;
}

void tui_store_destroy(tui_store *m) {
    if (!m) return;
    tui_store_reset(m);
    free(m->e);
    free(m->strays);
    free(m);
}

bool tui_store_done(const tui_store *m) { return m->done; }

int64_t tui_store_node(const tui_store *m, int32_t id) { return id >= 0 && id < m->cap ? m->e[id].db : 0; }

int32_t tui_store_find(const tui_store *m, int64_t id) {
    for (int32_t i = 0; id > 0 && i < m->cap; i++)
        if (m->e[i].db == id) return i;
    return -1;
}

/* Room for loom ids [0, n). */
static int grow(tui_store *m, int32_t n) {
    if (n <= m->cap) return 0;
    int32_t cap = m->cap ? m->cap : 64;
    while (cap < n) cap *= 2;
    ent *e = realloc(m->e, sizeof *e * (size_t)cap);
    if (!e) return -1;
    memset(e + m->cap, 0, sizeof *e * (size_t)(cap - m->cap));
    m->e = e;
    m->cap = cap;
    return 0;
}

static int add_stray(tui_store *m, int64_t id) {
    if (m->n_strays == m->cap_strays) {
        int32_t cap = m->cap_strays ? m->cap_strays * 2 : 8;
        int64_t *s = realloc(m->strays, sizeof *s * (size_t)cap);
        if (!s) return -1;
        m->strays = s;
        m->cap_strays = cap;
    }
    m->strays[m->n_strays++] = id;
    return 0;
}

/* ---- writing ---------------------------------------------------------------- */

/* Deletes a store subtree; one that an ancestor's deletion took already is fine. */
static int del_node(store *db, int64_t id, char *err, size_t errlen) {
    int rc = store_node_del(db, id, err, errlen);
    return rc == STORE_ENOTFOUND ? STORE_OK : rc;
}

static int del_strays(tui_store *m, store *db, char *err, size_t errlen) {
    while (m->n_strays > 0) {
        int rc = del_node(db, m->strays[m->n_strays - 1], err, errlen);
        if (rc) return rc;
        m->n_strays--;
    }
    return STORE_OK;
}

/* Nodes the loom deleted: their store subtrees go (a loom deletion takes
 * the whole subtree, so no live node is below them). */
static int del_dead(tui_store *m, store *db, const loom *l, char *err, size_t errlen) {
    for (int32_t i = 0; i < m->cap; i++) {
        if (!m->e[i].db || loom_get(l, i)) continue;
        int rc = del_node(db, m->e[i].db, err, errlen);
        if (rc) return rc;
        ent_clear(&m->e[i]);
    }
    return STORE_OK;
}

/* The sampler column of a node about to be added (new, caller frees). A
 * split tail repeats its parent's, so that a reload knows it. */
static char *node_json(tui_store *m, const loom *l, int32_t id) {
    const loom_node *n = &l->nodes[id];
    if (n->origin == LOOM_SPLIT && n->parent >= 0 && m->e[n->parent].json) return str_dup(m->e[n->parent].json);
    long long k = (long long)m->next_k++;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) return NULL;
    if (n->parent < 0) {
        const char *p = n->prompt ? n->prompt : "";
        size_t need = json_escape(p, strlen(p), NULL, 0);
        char *q = malloc(need + 1);
        if (q) json_escape(p, strlen(p), q, need + 1);
        fprintf(f, "{\"origin\":\"prompt\",\"k\":%lld,\"prompt\":%s,\"chat\":%s}", k, q ? q : "\"\"",
                n->chat ? "true" : "false");
        free(q);
    } else {
        const char *smp = n->sampler && n->sampler[0] == '{' && n->sampler[1] != '}' ? n->sampler + 1 : NULL;
        fprintf(f, "{\"origin\":\"%s\",\"k\":%lld", n->origin == LOOM_PICK ? "pick" : "gen", k);
        if (n->has_draw) fprintf(f, ",\"draw\":\"%llu\",\"at\":%d", (unsigned long long)n->draw, (int)n->draw_at);
        fprintf(f, "%s%s", smp ? "," : "}", smp ? smp : "");
    }
    if (fclose(f) != 0) { free(out); return NULL; }
    return out;
}

/* The loom child that a store split of node id made: the split tail not
 * yet stored. -1 when it is gone. */
static int32_t split_kid(const tui_store *m, const loom *l, int32_t id) {
    const loom_node *n = &l->nodes[id];
    for (int32_t i = 0; i < n->n_kids; i++) {
        int32_t k = n->kids[i];
        if (l->nodes[k].origin == LOOM_SPLIT && !m->e[k].db) return k;
    }
    return -1;
}

/* The loom split node id's store node where the loom did: the tail goes
 * to the loom's split tail (which store_node_split gave the label). */
static int split_node(tui_store *m, store *db, const loom *l, int32_t id, char *err, size_t errlen) {
    ent *x = &m->e[id];
    int32_t at = l->nodes[id].n;
    int64_t child;
    int rc = store_node_split(db, x->db, at, &child, err, errlen);
    if (rc) return rc;
    int32_t tail = split_kid(m, l, id);
    if (tail >= 0) {
        ent *t = &m->e[tail];
        t->db = child;
        t->saved = x->saved - at;
        t->json = str_dup(x->json);
        t->label = x->label;
        x->label = NULL;
    } else if (add_stray(m, child)) {
        rc = del_node(db, child, err, errlen);   /* no room to remember it: now or never */
    }
    x->saved = at;
    return rc;
}

/* Appends tokens [from, to) of node id, all of one kind (with or without
 * a raw distribution), in one atomic write. */
static int put_run(tui_store *m, store *db, const loom_node *n, int32_t id, int32_t from, int32_t to, char *err,
                   size_t errlen) {
    int32_t k = to - from;
    bool raw = n->toks[from].flags & LOOM_TOK_RAW;
    int32_t *ids = malloc(sizeof *ids * (size_t)k * (raw ? 2 + LOOM_TOPK : 1));
    float *lp = malloc(sizeof *lp * (size_t)k * (raw ? 1 + LOOM_TOPK : 1));
    if (!ids || !lp) { free(ids); free(lp); snprintf(err, errlen, "out of memory"); return STORE_ENOMEM; }
    store_toks t = { .n = k, .tok = ids, .logprob = lp };
    if (raw) {
        t.k = LOOM_TOPK;
        t.n_top = ids + k;
        t.top_tok = ids + 2 * k;
        t.top_logprob = lp + k;
    }
    for (int32_t i = 0; i < k; i++) {
        const loom_tok *x = &n->toks[from + i];
        ids[i] = x->id;
        lp[i] = raw ? x->lp_raw : NAN;
        if (!raw) continue;
        t.n_top[i] = x->raw.n_top;
        for (int32_t j = 0; j < x->raw.n_top; j++) {
            t.top_tok[i * LOOM_TOPK + j] = x->raw.top[j].id;
            t.top_logprob[i * LOOM_TOPK + j] = x->raw.top[j].lp;
        }
    }
    int rc = store_toks_add(db, m->e[id].db, &t, err, errlen);
    if (!rc) m->e[id].saved = to;
    free(ids);
    free(lp);
    return rc;
}

/* A token not to write yet: a prompt token still waiting for its
 * distribution. */
static bool pending(const loom_node *n, int32_t i, bool busy) {
    const loom_tok *t = &n->toks[i];
    return busy && (t->flags & LOOM_TOK_PROMPT) && !(t->flags & LOOM_TOK_RAW) && n->pos0 + i > 0;
}

/* The node's unwritten final tokens; *held when some must wait. */
static int put_toks(tui_store *m, store *db, const loom_node *n, int32_t id, bool busy, bool *held, char *err,
                    size_t errlen) {
    int32_t end = m->e[id].saved;
    while (end < n->n && !pending(n, end, busy)) end++;
    if (end < n->n) *held = true;
    for (int32_t i = m->e[id].saved; i < end;) {
        bool raw = n->toks[i].flags & LOOM_TOK_RAW;
        int32_t j = i + 1;
        while (j < end && (bool)(n->toks[j].flags & LOOM_TOK_RAW) == raw) j++;
        int rc = put_run(m, db, n, id, i, j, err, errlen);
        if (rc) return rc;
        i = j;
    }
    return STORE_OK;
}

static bool same(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

/* One live node, its parent already stored. *skip: it is not stored yet
 * and waits (with its subtree) for its prompt's distributions. */
static int sync_node(tui_store *m, store *db, int64_t session, const loom *l, int32_t id, bool busy, bool *held,
                     bool *skip, char *err, size_t errlen) {
    const loom_node *n = &l->nodes[id];
    ent *x = &m->e[id];
    int rc;
    *skip = false;
    if (!x->db) {
        for (int32_t i = 0; i < n->n && !*skip; i++) *skip = pending(n, i, busy);
        if (*skip) { *held = true; return STORE_OK; }
        char *json = node_json(m, l, id);
        if (!json) { snprintf(err, errlen, "out of memory"); return STORE_ENOMEM; }
        int64_t parent = n->parent >= 0 ? m->e[n->parent].db : 0;
        if ((rc = store_node_add(db, session, parent, json, &x->db, err, errlen))) { free(json); return rc; }
        x->json = json;
        x->saved = 0;
    }
    if (x->saved > n->n && (rc = split_node(m, db, l, id, err, errlen))) return rc;
    if (x->saved < n->n && (rc = put_toks(m, db, n, id, busy, held, err, errlen))) return rc;
    if (!same(n->label, x->label)) {
        char *d = str_dup(n->label);
        if (n->label && !d) { snprintf(err, errlen, "out of memory"); return STORE_ENOMEM; }
        if ((rc = store_node_set_label(db, x->db, n->label, err, errlen))) { free(d); return rc; }
        free(x->label);
        x->label = d;
    }
    return STORE_OK;
}

int tui_store_sync(tui_store *m, store *db, int64_t session, const loom *l, bool busy, char *err, size_t errlen) {
    m->done = false;
    if (grow(m, l->n)) { snprintf(err, errlen, "out of memory"); return STORE_ENOMEM; }
    int rc = del_strays(m, db, err, errlen);
    if (!rc) rc = del_dead(m, db, l, err, errlen);
    /* depth first from the roots, so that parents are stored (and split) first */
    int32_t cap = 64, top = 0;
    int32_t *stack = rc ? NULL : malloc(sizeof *stack * (size_t)cap);
    if (!rc && !stack) { snprintf(err, errlen, "out of memory"); return STORE_ENOMEM; }
    for (int32_t r = l->n - 1; !rc && r >= 0; r--)
        if (loom_get(l, r) && l->nodes[r].parent < 0) {
            if (top == cap) {
                int32_t *s = realloc(stack, sizeof *s * (size_t)(cap *= 2));
                if (!s) { rc = STORE_ENOMEM; break; }
                stack = s;
            }
            stack[top++] = r;
        }
    bool held = false;
    while (!rc && top > 0) {
        int32_t id = stack[--top];
        bool skip;
        rc = sync_node(m, db, session, l, id, busy, &held, &skip, err, errlen);
        if (skip) continue;
        const loom_node *n = &l->nodes[id];
        if (!rc && top + n->n_kids > cap) {
            int32_t nc = (top + n->n_kids) * 2;
            int32_t *s = realloc(stack, sizeof *s * (size_t)nc);
            if (!s) rc = STORE_ENOMEM;
            else { stack = s; cap = nc; }
        }
        for (int32_t i = n->n_kids - 1; !rc && i >= 0; i--) stack[top++] = n->kids[i];
    }
    free(stack);
    if (rc == STORE_ENOMEM && !err[0]) snprintf(err, errlen, "out of memory");
    if (!rc) rc = del_strays(m, db, err, errlen);
    m->done = !rc && !held;
    return rc;
}

/* ---- reading ------------------------------------------------------------------ */

/* A store id -> loom id (and index in the node list) table, sorted by id. */
typedef struct idmap { int64_t db; int32_t loom, at; } idmap;

static int idmap_cmp(const void *a, const void *b) {
    int64_t x = ((const idmap *)a)->db, y = ((const idmap *)b)->db;
    return x < y ? -1 : x > y;
}

static const idmap *idmap_find(const idmap *v, int32_t n, int64_t db) {
    idmap key = { db, 0, 0 };
    return db ? bsearch(&key, v, (size_t)n, sizeof *v, idmap_cmp) : NULL;
}

/* A stored token as the loom keeps it: the raw alternatives and lp_raw. */
static void tok_from_store(const store_toks *t, int64_t i, uint32_t flags, loom_tok *o) {
    memset(o, 0, sizeof *o);
    o->id = t->tok[i];
    o->flags = flags | LOOM_TOK_STORED;
    o->raw.entropy = o->post.entropy = NAN;
    o->lp_post = NAN;
    int32_t k = t->n_top[i] < LOOM_TOPK ? t->n_top[i] : LOOM_TOPK;
    for (int32_t j = 0; j < k; j++) {
        float lp = t->top_logprob[i * t->k + j];
        if (isnan(lp)) break;                   /* -inf: the rest was cut too */
        o->raw.top[o->raw.n_top++] = (loom_alt){ t->top_tok[i * t->k + j], lp };
    }
    if (isnan(t->logprob[i])) return;
    o->flags |= LOOM_TOK_RAW;
    o->lp_raw = t->logprob[i];
    for (int32_t j = 0; j < o->raw.n_top; j++)
        if (o->raw.top[j].id == o->id) { o->rank_raw = j + 1; break; }
}

/* What a node's column says: origin, prompt, chat, k; the settings (a
 * canonical copy, new) for nodes that are not prompt text. */
typedef struct node_info {
    int origin;
    bool prompt_kind, chat, has_draw;
    char *prompt, *smp;
    int64_t k;
    uint64_t draw;              /* the generator state (loom_node.draw), when has_draw */
    int32_t at;
} node_info;

static int read_info(const store_node *sn, const store_node *parent, bool parent_prompt, node_info *o) {
    memset(o, 0, sizeof *o);
    char perr[128];
    json_doc *d = sn->sampler ? smpjson_doc(sn->sampler, strlen(sn->sampler), perr, sizeof perr) : NULL;
    const json *root = d ? json_root(d) : NULL;
    const char *origin = json_str(json_get(root, "origin"), "");
    o->k = (int64_t)json_num(json_get(root, "k"), 0);
    if (!parent) {
        o->origin = LOOM_ROOT;
        o->prompt_kind = true;
        o->chat = json_bool(json_get(root, "chat"), false);
        o->prompt = str_dup(json_str(json_get(root, "prompt"), ""));
    } else if (o->k > 0 && sn->sampler && parent->sampler && strcmp(sn->sampler, parent->sampler) == 0) {
        o->origin = LOOM_SPLIT;
        o->prompt_kind = parent_prompt;
    } else {
        o->origin = strcmp(origin, "pick") ? LOOM_GEN : LOOM_PICK;
        const json *draw = json_get(root, "draw"), *at = json_get(root, "at");
        o->has_draw = draw && draw->type == JSON_STR && at && at->type == JSON_NUM && at->num >= 0 && at->num < INT32_MAX;
        if (o->has_draw) {
            char *end;
            o->draw = strtoull(draw->str, &end, 10);
            o->at = (int32_t)at->num;
            o->has_draw = end != draw->str && !*end;
        }
    }
    if (!o->prompt_kind) {
        smp_params sp;
        char spec[256], buf[SMPJSON_CAP];
        smpjson_get(root, &sp, spec, sizeof spec);
        smpjson_fmt(&sp, spec, buf, sizeof buf);
        const char *bias = json_str(json_get(root, "bias"), ""), *grammar = json_str(json_get(root, "grammar"), "");
        if (*bias) smpjson_add_str(buf, sizeof buf, "bias", bias);          /* as session_sampler_json */
        if (*grammar) smpjson_add_str(buf, sizeof buf, "grammar", grammar);
        o->smp = str_dup(buf);
    }
    json_free(d);
    return (!parent && !o->prompt) || (!o->prompt_kind && !o->smp) ? -1 : 0;
}

/* Appends a stored node's tokens to loom node id. */
static int load_toks(store *db, const store_node *sn, loom *l, int32_t id, const node_info *in, char *err,
                     size_t errlen) {
    store_toks *t;
    int rc = store_toks_get(db, sn->id, &t, err, errlen);
    if (rc) return rc;
    uint32_t base = in->prompt_kind ? LOOM_TOK_PROMPT : 0;
    for (int64_t i = 0; i < t->n && !rc; i++) {
        loom_tok x;
        tok_from_store(t, i, base | (in->origin == LOOM_PICK && i == 0 ? LOOM_TOK_PICKED : 0), &x);
        if (loom_append(l, id, &x)) { snprintf(err, errlen, "out of memory"); rc = STORE_ENOMEM; }
    }
    store_free(t);
    return rc;
}

/* One stored node into the loom (its parent already there): *out gets its
 * loom id, or -1 when it is skipped (its parent was). */
/* The loom id a stored node had (want: (store id, loom id) pairs sorted by
 * store id), -1 when none. */
static int32_t wanted(const int64_t *want, int32_t n_want, int64_t db) {
    int32_t lo = 0, hi = n_want;
    while (lo < hi) {
        int32_t mid = (lo + hi) / 2;
        if (want[2 * mid] < db) lo = mid + 1;
        else hi = mid;
    }
    return lo < n_want && want[2 * lo] == db ? (int32_t)want[2 * lo + 1] : -1;
}

static int load_node(tui_store *m, store *db, const store_node *v, int64_t i, const idmap *map, int32_t n_map,
                     loom *l, bool *prompt_kind, int32_t want_id, int32_t *out, char *err, size_t errlen) {
    const store_node *sn = &v[i];
    const idmap *pm = idmap_find(map, n_map, sn->parent);
    *out = -1;
    if (sn->parent && (!pm || pm->loom < 0)) return STORE_OK;
    node_info in;
    if (read_info(sn, pm ? &v[pm->at] : NULL, pm ? prompt_kind[pm->at] : false, &in)) {
        free(in.prompt);
        free(in.smp);
        snprintf(err, errlen, "out of memory");
        return STORE_ENOMEM;
    }
    prompt_kind[i] = in.prompt_kind;
    int32_t id = LOOM_EINVAL;
    if (want_id >= 0)                   /* the id it had (a taken one falls back to a new id) */
        id = pm ? loom_add_child_at(l, want_id, pm->loom, in.origin) : loom_add_root_at(l, want_id, in.prompt, in.chat);
    if (id == LOOM_EINVAL) id = pm ? loom_add_child(l, pm->loom, in.origin) : loom_add_root(l, in.prompt, in.chat);
    int rc = id < 0 ? STORE_ENOMEM : STORE_OK;
    if (!rc && (loom_set_sampler(l, id, in.smp) || loom_set_label(l, id, sn->label) || grow(m, id + 1)))
        rc = STORE_ENOMEM;
    if (!rc && in.origin == LOOM_SPLIT && !in.prompt_kind) {   /* a split tail goes on in its head's draws */
        const loom_node *h = &l->nodes[pm->loom];
        in.has_draw = h->has_draw;
        in.draw = h->draw;
        in.at = h->draw_at + h->n;
    }
    if (!rc && in.has_draw) {
        l->nodes[id].has_draw = true;
        l->nodes[id].draw = in.draw;
        l->nodes[id].draw_at = in.at;
    }
    if (rc) snprintf(err, errlen, "out of memory");
    if (!rc) rc = load_toks(db, sn, l, id, &in, err, errlen);
    if (!rc) {
        ent *x = &m->e[id];
        x->db = sn->id;
        x->saved = l->nodes[id].n;
        x->json = str_dup(sn->sampler);
        x->label = str_dup(sn->label);
        if (in.k >= m->next_k) m->next_k = in.k + 1;
        *out = id;
    }
    free(in.prompt);
    free(in.smp);
    return rc;
}

static int pair_cmp(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* want (pairs, copied and sorted into *out) is usable: every loom id in it
 * (and next - 1) is at or after the tree's end (no id a worker event may
 * still name) and below a sane bound; then the tree is padded up to the
 * largest, and to next (ids of deleted nodes are not given again). */
static int take_want(loom *l, const int64_t *want, int32_t n_want, int32_t next, int64_t **out, int32_t *n_out) {
    *out = NULL;
    *n_out = 0;
    int64_t top = next > 0 && next < (1 << 24) ? next - 1 : -1;
    if (top >= 0 && top < l->n) return 0;
    for (int32_t i = 0; i < n_want; i++) {
        int64_t id = want[2 * i + 1];
        if (id < l->n || id >= (1 << 24) || want[2 * i] <= 0) return 0;
        if (id > top) top = id;
    }
    if (top < 0) return 0;
    int64_t *w = malloc(sizeof *w * 2 * (size_t)(n_want ? n_want : 1));
    if (!w) return -1;
    memcpy(w, want, sizeof *w * 2 * (size_t)n_want);
    qsort(w, (size_t)n_want, sizeof *w * 2, pair_cmp);
    if (loom_reserve(l, (int32_t)top + 1)) { free(w); return -1; }
    *out = w;
    *n_out = n_want;
    return 0;
}

int tui_store_load(tui_store *m, store *db, int64_t session, loom *l, char *err, size_t errlen) {
    return tui_store_load_ids(m, db, session, l, NULL, 0, 0, err, errlen);
}

int tui_store_load_ids(tui_store *m, store *db, int64_t session, loom *l, const int64_t *want, int32_t n_want,
                       int32_t next, char *err, size_t errlen) {
    tui_store_reset(m);
    store_node *v;
    int64_t n;
    int rc = store_node_list(db, session, &v, &n, err, errlen);
    if (rc) return rc;
    idmap *map = malloc(sizeof *map * (size_t)(n ? n : 1));
    bool *prompt_kind = calloc((size_t)(n ? n : 1), sizeof *prompt_kind);
    int64_t *ws = NULL;
    int32_t n_ws = 0;
    if (!map || !prompt_kind || take_want(l, want, n_want, next, &ws, &n_ws)) { rc = STORE_ENOMEM; snprintf(err, errlen, "out of memory"); }
    for (int64_t i = 0; !rc && i < n; i++) map[i] = (idmap){ v[i].id, -1, (int32_t)i };
    if (!rc) qsort(map, (size_t)n, sizeof *map, idmap_cmp);
    /* the list has parents before children */
    for (int64_t i = 0; !rc && i < n; i++) {
        int32_t id;
        rc = load_node(m, db, v, i, map, (int32_t)n, l, prompt_kind, wanted(ws, n_ws, v[i].id), &id, err, errlen);
        if (!rc && id >= 0) ((idmap *)idmap_find(map, (int32_t)n, v[i].id))->loom = id;
    }
    free(ws);
    free(map);
    free(prompt_kind);
    store_free(v);
    m->done = !rc;
    return rc;
}
