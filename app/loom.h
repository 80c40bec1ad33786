/* loom: the branch tree of a session (Loom-style), pure data.
 *
 * A node is a run of tokens that continues its parent's path: node N holds
 * the tokens at positions [pos0, pos0 + n) of the sequence root..N. Every
 * token keeps what the model thought when it was chosen: the raw
 * distribution (top LOOM_TOPK, entropy, the chosen token's rank and
 * log-probability) and the post-sampler one (what the chain drew from), plus
 * how many candidates each sampler stage left. Picking an alternative,
 * rewinding or regenerating splits a node where needed and adds a child, so
 * every path ever explored stays in the tree.
 *
 * A node may own an engine sequence (seq) holding exactly its path; that is
 * a cache: sequences can be dropped and rebuilt from the tokens. Node ids
 * are indices that are never reused (a deleted node stays as a tombstone),
 * so ids held elsewhere (the worker's events, the tree pane) stay safe.
 *
 * Plain structs with no engine pointers, so a session can be saved.
 */
#ifndef LOOM_H
#define LOOM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOOM_TOPK 24
#define LOOM_STAGES 10

typedef struct loom_alt {
    int32_t id;
    float lp;               /* natural log of its probability */
} loom_alt;

/* One distribution: its best tokens, best first. */
typedef struct loom_dist {
    float entropy;          /* nats */
    int32_t n;              /* candidates with p > 0 (the vocabulary for raw) */
    int32_t n_top;
    loom_alt top[LOOM_TOPK];
} loom_dist;

enum {
    LOOM_TOK_RAW = 1,       /* raw is known (the model's row before it) */
    LOOM_TOK_POST = 2,      /* post is known (it was sampled through a chain) */
    LOOM_TOK_PICKED = 4,    /* chosen by the user from the inspector */
    LOOM_TOK_PROMPT = 8,    /* part of the prompt (teacher-forced) */
    LOOM_TOK_STORED = 16    /* read back from a workspace: raw holds only what the store keeps
                               (the best alternatives and lp_raw; entropy NAN, rank 0 when
                               not among them) and post is unknown, until the engine
                               recomputes them */
};

typedef struct loom_tok {
    int32_t id;
    uint32_t flags;         /* LOOM_TOK_* */
    int32_t rank_raw;       /* 1-based rank in the raw row; 0 unknown */
    int32_t rank_post;      /* 1-based rank among the chain's survivors; 0 = not among them */
    float lp_raw, lp_post;  /* log p of this token, raw and post (-inf when cut) */
    loom_dist raw, post;
    int32_t n_stage;                    /* sampler stages observed */
    int32_t stage_n[LOOM_STAGES];       /* candidates left after each stage */
    uint8_t stage_kind[LOOM_STAGES];    /* index into loom_stage_name */
    uint32_t masked;                    /* bit i: raw.top[i] was refused by the grammar (not stored) */
} loom_tok;

enum { LOOM_ROOT = 0, LOOM_GEN, LOOM_PICK, LOOM_SPLIT };

typedef struct loom_node {
    bool alive;
    uint8_t origin;         /* LOOM_ROOT/GEN/PICK/SPLIT: how the node began */
    int32_t parent;         /* -1 for a root */
    int32_t *kids;          /* (n_kids) child ids, oldest first */
    int32_t n_kids, cap_kids;
    int32_t last_kid;       /* the child last visited, for "down"; -1 none */
    int32_t pos0;           /* position of toks[0] */
    loom_tok *toks;         /* (n) */
    int32_t n, cap;
    int32_t seq;            /* engine sequence holding this path, or -1 */
    uint64_t used;          /* when seq was last used (LRU eviction) */
    char *label;            /* owned; NULL = none */
    char *sampler;          /* the sampler settings its tokens came from (JSON, owned); NULL for roots */
    /* The generator state its tokens were drawn with (a node that was not
     * generated, or was read from a workspace that did not record it, has
     * none): token k was drawn after smp_reseed(chain, smp_seed_mix(draw,
     * draw_at + k)), so drawing again from the same path and settings gives
     * the same tokens. A split tail goes on in its head's draws. */
    bool has_draw;
    uint64_t draw;
    int32_t draw_at;
    char *prompt;           /* roots: the prompt text (owned) */
    bool chat;              /* roots: the prompt went through a chat template */
} loom_node;

typedef struct loom {
    loom_node *nodes;       /* (n) including tombstones */
    int32_t n, cap;
    int32_t n_alive;
} loom;

enum { LOOM_OK = 0, LOOM_EINVAL = -1, LOOM_ENOMEM = -2 };

void loom_init(loom *l);
void loom_fini(loom *l);
/* Removes every node. Ids keep counting up, so an id from before (in a
 * worker event still on its way) never names a new node. */
void loom_clear(loom *l);

/* A live node or NULL. */
loom_node *loom_get(const loom *l, int32_t id);
/* New root with the prompt text (copied); returns its id or LOOM_ENOMEM. */
int32_t loom_add_root(loom *l, const char *prompt, bool chat);
/* New empty child of parent starting at parent's end; id or a negative code. */
int32_t loom_add_child(loom *l, int32_t parent, int origin);
/* Ids that a reopened tree gives back (stable ids): loom_reserve pads the
 * tree with tombstones so that the next new node's id is at least n;
 * loom_add_root_at / loom_add_child_at are loom_add_root / loom_add_child
 * at the id of a tombstone (LOOM_EINVAL when id is live or beyond the end).
 * The caller knows that no id it reuses is held elsewhere (a fresh tree). */
int loom_reserve(loom *l, int32_t n);
int32_t loom_add_root_at(loom *l, int32_t id, const char *prompt, bool chat);
int32_t loom_add_child_at(loom *l, int32_t id, int32_t parent, int origin);
/* Appends a token to node (copied); 0 or LOOM_ENOMEM. */
int loom_append(loom *l, int32_t node, const loom_tok *t);
/* Splits node at token index at (0 < at < n): node keeps [0, at), a new
 * child takes [at, n) with node's children, seq and a copy of its sampler
 * settings (the label stays with node). Returns the new child's
 * id, or a negative code. at == n: nothing to split, returns node itself. */
int32_t loom_split(loom *l, int32_t node, int32_t at);
/* Deletes node and its subtree; for each live seq in it, calls drop(ud, seq)
 * (may be NULL). Returns the number of nodes deleted. */
int32_t loom_del(loom *l, int32_t node, void (*drop)(void *ud, int32_t seq), void *ud);
/* Sets (copies) or clears (NULL or "") the label. */
int loom_set_label(loom *l, int32_t node, const char *label);
/* Sets (copies) or clears (NULL or "") the sampler settings (JSON). */
int loom_set_sampler(loom *l, int32_t node, const char *json);

/* Position after node's last token. */
int32_t loom_end(const loom *l, int32_t node);
/* The root of node's tree. */
int32_t loom_root(const loom *l, int32_t node);
/* The node on the path root..node that holds position pos, or -1. */
int32_t loom_node_at(const loom *l, int32_t node, int32_t pos);
/* The token at position pos of the path root..node, or NULL. */
loom_tok *loom_tok_at(const loom *l, int32_t node, int32_t pos);
/* Token ids of the path root..node into ids (cap); returns the path length
 * (may exceed cap: only cap were written). */
int32_t loom_path_ids(const loom *l, int32_t node, int32_t *ids, int32_t cap);
/* Pointers to the tokens of the path root..node into toks (cap); returns
 * the path length (may exceed cap). Valid until the tree changes. */
int32_t loom_path_toks(const loom *l, int32_t node, const loom_tok **toks, int32_t cap);
/* Whether a is node or one of its ancestors. */
bool loom_is_ancestor(const loom *l, int32_t a, int32_t node);
/* Follows last_kid links from node to a leaf (the path the tree shows as
 * selected below it). */
int32_t loom_follow(const loom *l, int32_t node);
/* Records that node's child kid was visited, up to the root. */
void loom_touch_path(loom *l, int32_t node);

/* A live sequence that holds a prefix of the path root..node, and the
 * length of that prefix (*shared): the node's own seq, else one in its
 * subtree (shared = its end), else, climbing, one under an ancestor
 * (shared = that ancestor's end). -1 when there is none. */
int32_t loom_find_seq(const loom *l, int32_t node, int32_t *shared);
/* Live sequences in the tree. */
int32_t loom_n_seqs(const loom *l);

/* ---- layout of the tree pane -------------------------------------------- */

typedef struct loom_row {
    int32_t node;
    int32_t depth;
    uint64_t more;          /* bit d: the ancestor at depth d has later siblings */
    bool last;              /* the node is its parent's last child */
} loom_row;

/* Every live node in depth-first order (roots in creation order, children
 * oldest first) into rows (cap); returns the count (may exceed cap). */
int32_t loom_layout(const loom *l, loom_row *rows, int32_t cap);
/* The guide drawn before a row's node: "│  ├─ " style (ASCII "|  +- "
 * when ascii), at most max_depth levels (deeper ones are cut with "…").
 * Returns the bytes written to buf (NUL terminated). */
size_t loom_guide(const loom_row *r, bool ascii, int max_depth, char *buf, size_t cap);

/* Names of sampler stages as stored in loom_tok.stage_kind. */
const char *loom_stage_name(int kind);
/* The kind of a stage name (an unknown name is the last kind, "custom"). */
int loom_stage_kind(const char *name);

#endif
