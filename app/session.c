/* session: workbench state and actions (see session.h).
 *
 * Invariants: cur is -1 or a live node; gen_node is -1 or the node the
 * running job appends to; a node's seq is set only from WEV_SEQ and cleared
 * when the node is split (the tail takes it) or its seq is evicted. Live
 * sequences stay under seq_budget by dropping the least recently used ones
 * that are not on the selected path (they are rebuilt from tokens when
 * needed); every job may also drop those (session_hidden_seqs) when the KV cache
 * is full, and says how many it dropped (WEV_EVICT). Every non-root node
 * records the sampler settings its tokens came from (loom_node.sampler,
 * bias and grammar included); every generated one its generator state
 * (loom_node.draw: add_drawn), which each job continues. At most one
 * worker_dist job is out at a time (dist_busy).
 *
 * Split in three, one concept each and each well under ~800 lines: this
 * file acts on the tree and sends jobs; session_ev.c files the worker's
 * events (session_poll); session_set.c holds the settings by name. The
 * helpers the first two share are declared in session_impl.h.
 */
#include "session.h"
#include "session_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat.h"
#include "model.h"
#include "smpjson.h"
#include "tok.h"
#include "vis.h"

static double mono_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void session_msg(session *s, int level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->msg, sizeof s->msg, fmt, ap);
    va_end(ap);
    s->msg_level = level;
    s->msg_time = mono_now();
    s->version++;
    if (s->log && level >= SESS_WARN) s->log(s->log_ud, s->msg, level == SESS_ERROR);
}

int session_init(session *s, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    loom_init(&s->tree);
    field_init(&s->prompt, true);
    field_set(&s->prompt, "");
    smp_params_default(&s->sp);
    s->cur = s->cursor = s->gen_node = -1;
    s->dist_node = s->dist_pos = -1;
    s->replay_of = s->replay_node = -1;
    s->n_max = 256;
    s->stop_at_eos = true;
    s->seq_budget = 48;
    s->heat = PAL_HEAT_PROB;
    ctx_params_default(&s->cp);
    s->cp.n_batch = 128;        /* bounded latency: a stop is seen between batches */
    return worker_create(&s->w, err, errlen);
}

void session_fini(session *s) {
    worker_destroy(s->w);
    loom_fini(&s->tree);
    field_fini(&s->prompt);
    memset(s, 0, sizeof *s);
}

/* An empty tree and no selection; events of jobs still on their way carry
 * the old epoch, and session_poll drops them. */
void session_reset_tree(session *s) {
    loom_clear(&s->tree);
    s->cur = s->cursor = s->gen_node = -1;
    s->replay_of = s->replay_node = -1;
    s->queued = 0;
    s->dirty = false;
    s->dist_busy = false;
    s->epoch++;
}

int session_open(session *s, const char *path) {
    if (s->gen_node >= 0) worker_stop(s->w);
    /* The old model goes away on the worker: forget everything that
     * borrowed from it first. */
    s->m = NULL;
    s->t = NULL;
    s->nv = 0;
    s->loading = true;
    s->keep_open = false;
    session_reset_tree(s);
    snprintf(s->model_path, sizeof s->model_path, "%s", path);
    const char *base = strrchr(path, '/');
    snprintf(s->model_name, sizeof s->model_name, "%s", base ? base + 1 : path);
    s->version++;
    return worker_open(s->w, path, &s->cp);
}

int session_open_keep(session *s, const char *path) {
    if (!s->m || s->loading) return session_open(s, path);
    if (s->gen_node >= 0) worker_stop(s->w);
    s->loading = s->keep_open = true;
    snprintf(s->open_path, sizeof s->open_path, "%s", path);
    s->version++;
    return worker_open_keep(s->w, path, &s->cp, true);
}

void session_clear(session *s) {
    if (s->gen_node >= 0) worker_stop(s->w);
    for (int32_t i = 0; i < s->tree.n; i++) {
        loom_node *n = loom_get(&s->tree, i);
        if (n && n->seq >= 0) worker_drop(s->w, n->seq);
    }
    /* events of jobs still on their way name nodes that no longer exist:
     * session_poll drops what they report */
    session_reset_tree(s);
    s->version++;
}

void session_sampler_json(const session *s, char *buf, size_t cap) {
    smpjson_fmt(&s->sp, s->spec, buf, cap);
    if (s->bias[0]) smpjson_add_str(buf, cap, "bias", s->bias);
    if (s->grammar[0]) smpjson_add_str(buf, cap, "grammar", s->grammar);
    if (s->end_tokens[0]) smpjson_add_str(buf, cap, "end_tokens", s->end_tokens);
}

bool session_busy(const session *s) { return s->gen_node >= 0; }

static bool refuse_busy(session *s) {
    if (s->gen_node < 0) return false;
    session_msg(s, SESS_WARN, "generating: Esc stops it first");
    return true;
}

static bool need_model(session *s) {
    if (s->t && !s->loading) return false;
    session_msg(s, SESS_WARN, s->loading ? "the model is still loading" : "no model is open (:open MODEL)");
    return true;
}

int32_t session_len(const session *s) { return s->cur >= 0 ? loom_end(&s->tree, s->cur) : 0; }

int32_t session_cursor_pos(const session *s) {
    int32_t n = session_len(s);
    if (n == 0) return -1;
    return s->cursor >= 0 && s->cursor < n ? s->cursor : n - 1;
}

const loom_tok *session_tok(const session *s, int32_t pos) {
    return s->cur >= 0 && pos >= 0 ? loom_tok_at(&s->tree, s->cur, pos) : NULL;
}

int32_t session_piece(const session *s, int32_t id, char *buf, int32_t cap) {
    if (!s->t && !s->loading && cap > 0) {      /* a tree without its model: the ids */
        int k = snprintf(buf, (size_t)cap, "[%d]", (int)id);
        return k < 0 ? 0 : k < cap ? k : cap - 1;
    }
    if (!s->t) return 0;
    int32_t n = tok_piece(s->t, id, buf, cap, true);
    return n < 0 ? 0 : n > cap ? cap : n;
}

/* The prompt field and chat flag follow the root of the selected path. */
static void sync_prompt(session *s) {
    loom_node *r = loom_get(&s->tree, loom_root(&s->tree, s->cur));
    if (!r) return;
    if (strcmp(field_text(&s->prompt), r->prompt ? r->prompt : "")) field_set(&s->prompt, r->prompt ? r->prompt : "");
    s->chat = r->chat;
}

static bool prompt_changed(const session *s) {
    loom_node *r = loom_get(&s->tree, loom_root(&s->tree, s->cur));
    if (!r) return true;
    return r->chat != s->chat || strcmp(field_text(&s->prompt), r->prompt ? r->prompt : "") != 0;
}

/* A root with the current prompt: an existing one or a new one; -1 when the
 * prompt cannot be tokenized. *fresh tells which. */
static int32_t prompt_root(session *s, bool *fresh) {
    *fresh = false;
    const char *text = field_text(&s->prompt);
    bool chat = s->chat && s->chat_kind != CHAT_NONE;
    for (int32_t i = 0; i < s->tree.n; i++) {
        loom_node *n = loom_get(&s->tree, i);
        if (n && n->parent < 0 && n->chat == chat && strcmp(n->prompt, text) == 0) return i;
    }
    char *wrapped = chat ? chat_format(s->chat_kind, text) : NULL;
    const char *src = wrapped ? wrapped : text;
    size_t len = strlen(src);
    int32_t cap = (int32_t)(len < 1000000 ? len : 1000000) + 8;
    int32_t *ids = malloc(sizeof *ids * (size_t)cap);
    char err[256] = "";
    int32_t n = ids ? tok_encode(s->t, src, len, tok_add_bos(s->t), chat, ids, cap, err, sizeof err) : -1;
    free(wrapped);
    if (n > cap) n = cap;                 /* prompts of a million tokens are cut */
    if (n <= 0) {
        free(ids);
        session_msg(s, SESS_ERROR, "prompt: %s", n == 0 ? "empty, and this vocabulary adds no BOS" : err[0] ? err : "out of memory");
        return -1;
    }
    int32_t root = loom_add_root(&s->tree, text, chat);
    for (int32_t i = 0; root >= 0 && i < n; i++) {
        loom_tok t;
        memset(&t, 0, sizeof t);
        t.id = ids[i];
        t.flags = LOOM_TOK_PROMPT;
        if (loom_append(&s->tree, root, &t)) { loom_del(&s->tree, root, NULL, NULL); root = -1; }
    }
    free(ids);
    if (root < 0) session_msg(s, SESS_ERROR, "out of memory");
    *fresh = root >= 0;
    return root;
}

static void drop_seq(void *ud, int32_t seq);

/* Where the path of node begins to be generated text: the end of its root
 * (the prompt). A grammar constrains only what follows. */
int32_t session_prompt_end(session *s, int32_t node) {
    loom_node *n = loom_get(&s->tree, node);
    while (n && n->parent >= 0) n = loom_get(&s->tree, n->parent);
    return n ? n->pos0 + n->n : 0;
}

static int cmp_used(const void *a, const void *b, void *ud) {
    const loom *l = ud;
    uint64_t x = l->nodes[*(const int32_t *)a].used, y = l->nodes[*(const int32_t *)b].used;
    return x < y ? -1 : x > y;
}

/* The sequences a job for target may drop when the KV cache is full (the
 * worker's evict list): those of the hidden branches, the nodes off the
 * selected path, least recently used first; the donor the job forks from
 * last. Fills r->evict / r->evict_node (*buf, which the caller frees after
 * submitting); on no memory the list is empty. */
void session_hidden_seqs(session *s, int32_t target, worker_req *r, int32_t **buf) {
    r->evict = r->evict_node = NULL;
    r->n_evict = 0;
    int32_t n = loom_n_seqs(&s->tree), k = 0;
    *buf = n > 0 ? malloc(sizeof **buf * 2 * (size_t)n) : NULL;
    if (!*buf) return;
    int32_t *nodes = *buf + n, donor_node = -1;
    for (int32_t i = 0; i < s->tree.n && k < n; i++) {
        loom_node *x = loom_get(&s->tree, i);
        if (!x || x->seq < 0 || i == target || loom_is_ancestor(&s->tree, i, target) || loom_is_ancestor(&s->tree, i, s->cur)) continue;
        if (x->seq == r->donor) donor_node = i;
        else nodes[k++] = i;
    }
    qsort_r(nodes, (size_t)k, sizeof *nodes, cmp_used, &s->tree);
    if (donor_node >= 0) nodes[k++] = donor_node;
    for (int32_t i = 0; i < k; i++) (*buf)[i] = s->tree.nodes[nodes[i]].seq;
    r->evict = *buf;
    r->evict_node = nodes;
    r->n_evict = k;
}

/* The settings a job runs with: the session's, or a node's (a replay). */
typedef struct job_settings {
    const smp_params *sp;
    const char *spec, *bias, *grammar;  /* NULL: none */
    uint32_t version;
    bool stop_at_eos;
} job_settings;

/* Sends a generation job for target (whose path is complete in the tree)
 * with settings js (NULL: the session's); the raw distributions of
 * positions from dist_from on go to dist_node. Its tokens continue
 * target's draws (loom_node.draw). */
static void submit_as(session *s, int32_t target, int32_t n_new, int32_t dist_from, int32_t dist_node,
                      const job_settings *js) {
    job_settings own = { &s->sp, s->spec[0] ? s->spec : NULL, s->bias[0] ? s->bias : NULL, s->grammar[0] ? s->grammar : NULL,
                         s->sp_version, s->stop_at_eos };
    if (!js) js = &own;
    int32_t n_path = loom_end(&s->tree, target);
    int32_t *ids = malloc(sizeof *ids * (size_t)(n_path ? n_path : 1));
    if (!ids) { session_msg(s, SESS_ERROR, "out of memory"); return; }
    loom_path_ids(&s->tree, target, ids, n_path);
    loom_node *t = loom_get(&s->tree, target);
    worker_req r;
    memset(&r, 0, sizeof r);
    r.node = target;
    r.seq = t->seq;
    r.donor = -1;
    if (t->seq < 0) r.donor = loom_find_seq(&s->tree, target, &r.shared);
    r.path = ids;
    r.n_path = n_path;
    r.dist_from = dist_from < n_path ? dist_from : n_path;
    r.dist_node = dist_node;
    r.n_new = n_new;
    r.stop_at_eos = js->stop_at_eos;
    r.end_tokens = js == &own && s->end_tokens[0] ? s->end_tokens : NULL;    /* a replay draws its count */
    s->bos_hinted = js != &own;
    r.sp = js->sp;
    r.spec = js->spec;
    r.bias = js->bias;
    r.sp_version = js->version;
    r.reseed = t->has_draw;
    r.draw = t->draw;
    r.draw_at = t->draw_at + t->n;
    r.grammar = js->grammar;
    r.grammar_from = session_prompt_end(s, target);
    int32_t *ev;
    session_hidden_seqs(s, target, &r, &ev);
    t->used = ++s->clock;
    s->freed = 0;
    if (worker_gen(s->w, &r)) session_msg(s, SESS_ERROR, "out of memory");
    else s->gen_node = target;
    free(ids);
    free(ev);
}

static void submit(session *s, int32_t target, int32_t n_new, int32_t dist_from, int32_t dist_node) {
    submit_as(s, target, n_new, dist_from, dist_node, NULL);
}

/* A new child of parent for tokens drawn with settings smp: its draws
 * start from a seed of its own, the settings' seed mixed with its id (ids
 * are stable: loom.h), so siblings differ and each can be replayed. */
static int32_t add_drawn(session *s, int32_t parent, int origin, const char *smp, uint64_t seed) {
    int32_t c = loom_add_child(&s->tree, parent, origin);
    if (c < 0 || loom_set_sampler(&s->tree, c, smp)) return -1;
    loom_node *n = &s->tree.nodes[c];
    n->has_draw = true;
    n->draw = smp_seed_mix(seed, (uint64_t)c);
    n->draw_at = 0;
    return c;
}

void session_gen(session *s, int32_t n) {
    if (n == 1 && s->gen_node >= 0 && !s->gen_free) {   /* steps typed ahead run in turn */
        if (s->queued < 1000) s->queued++;
        return;
    }
    if (need_model(s) || refuse_busy(s)) return;
    int32_t target, dist_from = INT32_MAX;
    if (s->cur < 0 || prompt_changed(s)) {
        bool fresh;
        int32_t root = prompt_root(s, &fresh);
        if (root < 0) return;
        s->cur = fresh ? root : loom_follow(&s->tree, root);
        if (fresh) dist_from = 1;
    }
    char smp[SMPJSON_CAP];
    session_sampler_json(s, smp, sizeof smp);
    loom_node *c = loom_get(&s->tree, s->cur);
    if (c->parent >= 0 && c->n_kids == 0 && c->n == 0 && (!c->sampler || strcmp(c->sampler, smp))) {
        int32_t empty = s->cur;          /* an empty node a stopped run left, on other settings: replaced */
        s->cur = c->parent;
        loom_del(&s->tree, empty, drop_seq, s);
        c = loom_get(&s->tree, s->cur);
    }
    if (c->n_kids > 0 || c->parent < 0 || !c->sampler || strcmp(c->sampler, smp) || !c->has_draw) {
        target = add_drawn(s, s->cur, LOOM_GEN, smp, s->sp.seed);   /* new settings: a node of their own */
        if (target < 0) { session_msg(s, SESS_ERROR, "out of memory"); return; }
    } else target = s->cur;
    int32_t dist_node = s->cur;      /* a fresh root: its prompt's distributions come with this job */
    s->cur = target;
    s->cursor = -1;
    loom_touch_path(&s->tree, target);
    s->gen_free = n != 1;
    submit(s, target, n < 0 ? s->n_max : n, dist_from, dist_node);
    s->dirty = true;
    s->version++;
}

void session_stop(session *s) {
    s->queued = 0;
    worker_stop(s->w);
}

/* Makes position end the end of the selected path (splitting a node); the
 * tokens after it stay as a branch. */
static bool rewind_to(session *s, int32_t end) {
    if (end < 1) end = 1;
    if (end >= session_len(s)) return false;
    int32_t id = loom_node_at(&s->tree, s->cur, end - 1);
    loom_node *n = loom_get(&s->tree, id);
    if (!n) return false;
    if (end - n->pos0 < n->n && loom_split(&s->tree, id, end - n->pos0) < 0) {
        session_msg(s, SESS_ERROR, "out of memory");
        return false;
    }
    s->cur = id;
    s->cursor = -1;
    s->dirty = true;
    s->version++;
    return true;
}

/* Rewinding (r) or regenerating (R) with the cursor inside the prompt would
 * cut the prompt's tokens while the prompt pane still shows all of its text
 * (and the next generation would go on from the cut): refused, with what
 * to do instead. end: the first position that would be dropped. */
static bool refuse_in_prompt(session *s, int32_t end, const char *what) {
    if (end >= session_prompt_end(s, s->cur)) return false;
    session_msg(s, SESS_WARN, "%s: the cursor is inside the prompt; move it to the generated text, or edit the "
                "prompt (1) to change it", what);
    return true;
}

void session_rewind(session *s) {
    if (refuse_busy(s)) return;
    int32_t p = session_cursor_pos(s);
    if (p < 0) return;
    if (refuse_in_prompt(s, p + 1, "rewind")) return;
    if (!rewind_to(s, p + 1)) session_msg(s, SESS_INFO, "already the last token: move the cursor back first");
    else session_msg(s, SESS_INFO, "rewound to position %d", (int)p);
}

void session_regen(session *s) {
    if (need_model(s) || refuse_busy(s)) return;
    int32_t p = session_cursor_pos(s);
    if (p < 1) { session_msg(s, SESS_WARN, "nothing to regenerate before the first token"); return; }
    if (refuse_in_prompt(s, p, "regenerate")) return;
    if (p < session_len(s)) rewind_to(s, p);
    session_gen(s, -1);
}

/* Rank and log-probability of id in a stored distribution (0, -inf when it
 * is not among the stored best). */
static void find_alt(const loom_dist *d, int32_t id, int32_t *rank, float *lp) {
    *rank = 0;
    *lp = -INFINITY;
    for (int32_t i = 0; i < d->n_top; i++)
        if (d->top[i].id == id) { *rank = i + 1; *lp = d->top[i].lp; return; }
}

void session_pick(session *s, int32_t id) {
    if (need_model(s) || refuse_busy(s)) return;
    int32_t p = session_cursor_pos(s);
    const loom_tok *old = session_tok(s, p);
    if (!old || !(old->flags & LOOM_TOK_RAW)) { session_msg(s, SESS_WARN, "no distribution at this position"); return; }
    if (old->id == id) { session_msg(s, SESS_INFO, "that is the token already there"); return; }
    loom_tok nt = *old;
    nt.id = id;
    nt.flags = (old->flags & (LOOM_TOK_RAW | LOOM_TOK_POST)) | LOOM_TOK_PICKED;
    find_alt(&nt.raw, id, &nt.rank_raw, &nt.lp_raw);
    find_alt(&nt.post, id, &nt.rank_post, &nt.lp_post);
    int32_t nid = loom_node_at(&s->tree, s->cur, p);
    loom_node *n = loom_get(&s->tree, nid);
    int32_t parent = n->parent;
    if (p > n->pos0) {
        if (loom_split(&s->tree, nid, p - n->pos0) < 0) { session_msg(s, SESS_ERROR, "out of memory"); return; }
        parent = nid;
    }
    char smp[SMPJSON_CAP];
    session_sampler_json(s, smp, sizeof smp);
    int32_t c = add_drawn(s, parent, LOOM_PICK, smp, s->sp.seed);
    if (c < 0 || loom_append(&s->tree, c, &nt)) {
        session_msg(s, SESS_ERROR, "out of memory");
        return;
    }
    s->cur = c;
    s->cursor = -1;
    loom_touch_path(&s->tree, c);
    s->dirty = true;
    s->version++;
    char piece[64], vis[128];
    int32_t k = session_piece(s, id, piece, (int32_t)sizeof piece);
    vis_escape(piece, (size_t)k, VIS_SPACE | VIS_NL, vis, sizeof vis);
    session_msg(s, SESS_INFO, "branched at position %d with '%s' (token %d)", (int)p, vis, (int)id);
    submit(s, c, 0, INT32_MAX, c);  /* builds its sequence now, so the next step is quick */
}

/* The settings node's tokens came from (its sampler JSON): values, stage
 * order, logit bias and grammar ("" none). */
void session_node_settings(const loom_node *n, smp_params *sp, char *spec, size_t spec_cap, char *bias, size_t bias_cap,
                           char *grammar, size_t grammar_cap) {
    char perr[128];
    json_doc *d = n->sampler ? smpjson_doc(n->sampler, strlen(n->sampler), perr, sizeof perr) : NULL;
    const json *o = d ? json_root(d) : NULL;
    smpjson_get(o, sp, spec, spec_cap);
    snprintf(bias, bias_cap, "%s", json_str(json_get(o, "bias"), ""));
    snprintf(grammar, grammar_cap, "%s", json_str(json_get(o, "grammar"), ""));
    json_free(d);
}

void session_replay(session *s, int32_t node) {
    if (need_model(s) || refuse_busy(s)) return;
    loom_node *n = loom_get(&s->tree, node);
    if (!n && node < 0) { session_msg(s, SESS_ERROR, "no node is selected"); return; }
    if (!n) { session_msg(s, SESS_ERROR, "no node #%d", (int)node); return; }
    if (n->parent < 0) { session_msg(s, SESS_WARN, "#%d is a prompt: nothing was drawn there", (int)node); return; }
    if (!n->has_draw) {
        session_msg(s, SESS_WARN, "#%d has no recorded generator state (a workspace from before they were recorded): "
                    "nothing to replay", (int)node);
        return;
    }
    int32_t skip = n->origin == LOOM_PICK ? 1 : 0;  /* a picked token was not drawn */
    if (n->n - skip < 1) { session_msg(s, SESS_WARN, "#%d holds no drawn token to replay", (int)node); return; }
    smp_params sp;
    char spec[256], bias[256], grammar[512];
    session_node_settings(n, &sp, spec, sizeof spec, bias, sizeof bias, grammar, sizeof grammar);
    int32_t c = loom_add_child(&s->tree, n->parent, skip ? LOOM_PICK : LOOM_GEN);
    n = &s->tree.nodes[node];                   /* the array may have moved */
    if (c < 0 || loom_set_sampler(&s->tree, c, n->sampler) || (skip && loom_append(&s->tree, c, &n->toks[0]))) {
        if (c >= 0) loom_del(&s->tree, c, NULL, NULL);
        session_msg(s, SESS_ERROR, "out of memory");
        return;
    }
    n = &s->tree.nodes[node];
    loom_node *r = &s->tree.nodes[c];
    r->has_draw = true;
    r->draw = n->draw;
    r->draw_at = n->draw_at;
    s->cur = c;
    s->cursor = -1;
    s->replay_of = node;
    s->replay_node = c;
    loom_touch_path(&s->tree, c);
    s->dirty = true;
    s->version++;
    /* the node's own settings, on a chain built for them (a version of
     * their own), and the session's next job rebuilds its chain */
    job_settings js = { &sp, spec[0] ? spec : NULL, bias[0] ? bias : NULL, grammar[0] ? grammar : NULL, ++s->sp_version, false };
    s->gen_free = true;
    session_msg(s, SESS_INFO, "replaying #%d as #%d (%d tokens)", (int)node, (int)c, (int)(n->n - skip));
    submit_as(s, c, n->n - skip, INT32_MAX, c, &js);
    s->sp_version++;
}

/* Evaluates the selected path again when it holds tokens read back from a
 * workspace: its sequence and its raw distributions from the first such
 * token on (a donor sharing a prefix saves the rest). */
void session_refresh_path(session *s) {
    if (!s->t || s->loading || s->gen_node >= 0 || s->cur < 0) return;
    int32_t n = session_len(s), from = -1;
    const loom_tok **toks = malloc(sizeof *toks * (size_t)(n ? n : 1));
    if (!toks) return;
    loom_path_toks(&s->tree, s->cur, toks, n);
    for (int32_t p = 1; p < n && from < 0; p++)
        if (toks[p]->flags & LOOM_TOK_STORED) from = p;
    free(toks);
    if (from < 0) return;
    s->gen_free = false;
    submit(s, s->cur, 0, from, s->cur);
}

void session_loaded(session *s) {
    s->dist_busy = false;
    s->version++;
    session_refresh_path(s);
}

void session_select(session *s, int32_t node) {
    if (!loom_get(&s->tree, node)) return;
    s->cur = node;
    s->cursor = -1;
    loom_touch_path(&s->tree, node);
    sync_prompt(s);
    s->version++;
    session_refresh_path(s);
}

void session_sibling(session *s, int dir) {
    for (int32_t x = s->cur; x >= 0;) {
        loom_node *n = loom_get(&s->tree, x);
        if (!n) return;
        if (n->parent < 0) break;
        loom_node *p = loom_get(&s->tree, n->parent);
        if (p->n_kids > 1) {
            int32_t i = 0;
            while (i < p->n_kids && p->kids[i] != x) i++;
            i = (i + (dir < 0 ? p->n_kids - 1 : 1)) % p->n_kids;
            session_select(s, loom_follow(&s->tree, p->kids[i]));
            return;
        }
        x = n->parent;
    }
    /* no branching above: cycle through the roots */
    int32_t r = loom_root(&s->tree, s->cur), nr = 0, at = 0, roots[64];
    for (int32_t i = 0; i < s->tree.n && nr < 64; i++) {
        loom_node *n = loom_get(&s->tree, i);
        if (n && n->parent < 0) { if (i == r) at = nr; roots[nr++] = i; }
    }
    if (nr > 1) session_select(s, loom_follow(&s->tree, roots[(at + (dir < 0 ? nr - 1 : 1)) % nr]));
    else session_msg(s, SESS_INFO, "no other branch here");
}

static void drop_seq(void *ud, int32_t seq) {
    session *s = ud;
    worker_drop(s->w, seq);
}

void session_delete(session *s, int32_t node) {
    if (refuse_busy(s)) return;
    loom_node *n = loom_get(&s->tree, node);
    if (!n) return;
    int32_t parent = n->parent;
    bool lost_cur = loom_is_ancestor(&s->tree, node, s->cur);
    int32_t k = loom_del(&s->tree, node, drop_seq, s);
    if (lost_cur) {
        s->cur = parent >= 0 ? parent : -1;
        if (s->cur < 0)
            for (int32_t i = 0; i < s->tree.n && s->cur < 0; i++)
                if (loom_get(&s->tree, i) && s->tree.nodes[i].parent < 0) s->cur = loom_follow(&s->tree, i);
        s->cursor = -1;
        sync_prompt(s);
    }
    s->dirty = true;
    s->version++;
    session_msg(s, SESS_INFO, "deleted %d node%s", (int)k, k == 1 ? "" : "s");
}

void session_label(session *s, int32_t node, const char *label) {
    if (loom_set_label(&s->tree, node, label)) return;
    s->dirty = true;
    s->version++;
}
