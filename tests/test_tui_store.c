/* The workbench's tree in a workspace (app/tui_store.c), without a
 * terminal or a model: trees built by hand are synced into a store step by
 * step (new nodes, tokens arriving, splits, picks, labels, deletions, a
 * prompt token waiting for its distribution, a split and a deletion within
 * one sync) and read back into a fresh loom after each step, which must be
 * the same tree: structure, origins, prompts, settings, labels, token ids,
 * flags, log-probabilities and alternatives. Also: the canonical sampler
 * JSON (smpjson), and a reset that writes the whole tree into a new session.
 *
 * With arguments, `test_tui_store --check DIR` is the helper tests/test_tui.sh
 * uses after killing the workbench: it opens the workspace read-only, runs
 * PRAGMA integrity_check and prints "sessions S nodes N tokens T" for the
 * most recently updated session; exit 0 when the database is sound. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

#include "../app/loom.c"
#include "../app/smpjson.c"
#include "../app/tui_store.c"

static char err[512];

/* A token with a made-up raw distribution: it ranks `rank` among four. */
static loom_tok mk_tok(int32_t id, uint32_t flags, int rank) {
    loom_tok t;
    memset(&t, 0, sizeof t);
    t.id = id;
    t.flags = flags;
    if (!(flags & LOOM_TOK_RAW)) return t;
    t.raw.n_top = 4;
    for (int j = 0; j < 4; j++) t.raw.top[j] = (loom_alt){ j + 1 == rank ? id : 400 + j, -0.5f * (float)(j + 1) };
    t.lp_raw = -0.5f * (float)rank;
    t.rank_raw = rank;
    t.raw.entropy = 1.25f;
    return t;
}

static int32_t add_root(loom *l, const char *prompt, int n) {
    int32_t r = loom_add_root(l, prompt, false);
    for (int i = 0; i < n; i++) {
        loom_tok t = mk_tok(10 + i, LOOM_TOK_PROMPT | (i ? LOOM_TOK_RAW : 0), 1);
        loom_append(l, r, &t);
    }
    return r;
}

static int32_t add_gen(loom *l, int32_t parent, int origin, const char *smp, int n, int32_t first) {
    int32_t c = loom_add_child(l, parent, origin);
    loom_set_sampler(l, c, smp);
    l->nodes[c].has_draw = c % 5 != 4;         /* generator states (issue 13 item 16), above 2^53; some none */
    l->nodes[c].draw = 0xFEDCBA9876543210ull ^ (uint64_t)c;
    for (int i = 0; i < n; i++) {
        loom_tok t = mk_tok(first + i, LOOM_TOK_RAW | LOOM_TOK_POST | (origin == LOOM_PICK && i == 0 ? LOOM_TOK_PICKED : 0),
                            1 + i % 3);
        loom_append(l, c, &t);
    }
    return c;
}

static bool same_str(const char *a, const char *b) {
    if (!a || !*a) return !b || !*b;
    return b && strcmp(a, b) == 0;
}

static const uint32_t KEPT = LOOM_TOK_PROMPT | LOOM_TOK_PICKED | LOOM_TOK_RAW;

/* Whether loaded node b is original node a, recursively. */
static bool same_node(const loom *la, int32_t a, const loom *lb, int32_t b, const char *what) {
    const loom_node *x = loom_get(la, a), *y = loom_get(lb, b);
    bool ok = x && y && x->origin == y->origin && x->n == y->n && x->pos0 == y->pos0 && x->n_kids == y->n_kids &&
              same_str(x->label, y->label) && same_str(x->sampler, y->sampler) && x->has_draw == y->has_draw &&
              (!x->has_draw || (x->draw == y->draw && x->draw_at == y->draw_at));
    if (ok && x->parent < 0) ok = same_str(x->prompt, y->prompt) && x->chat == y->chat;
    for (int32_t i = 0; ok && i < x->n; i++) {
        const loom_tok *p = &x->toks[i], *q = &y->toks[i];
        ok = p->id == q->id && (p->flags & KEPT) == (q->flags & KEPT) && (q->flags & LOOM_TOK_STORED);
        if (ok && (p->flags & LOOM_TOK_RAW))
            ok = p->lp_raw == q->lp_raw && p->raw.n_top == q->raw.n_top && q->rank_raw == p->rank_raw &&
                 !memcmp(p->raw.top, q->raw.top, sizeof p->raw.top[0] * (size_t)p->raw.n_top);
        if (!ok) fprintf(stderr, "%s: node #%d token %d differs\n", what, (int)a, (int)i);
    }
    if (!ok) { fprintf(stderr, "%s: node #%d differs from loaded #%d\n", what, (int)a, (int)b); return false; }
    for (int32_t i = 0; i < x->n_kids; i++)
        if (!same_node(la, x->kids[i], lb, y->kids[i], what)) return false;
    return true;
}

/* Syncs l into session sess, reads it back, and compares. */
static void round_trip(tui_store *m, store *db, int64_t sess, const loom *l, const char *what) {
    err[0] = 0;
    int rc = tui_store_sync(m, db, sess, l, false, err, sizeof err);
    CHECK(rc == STORE_OK && tui_store_done(m), "%s: sync: %s", what, err);
    CHECK(store_flush(db, err, sizeof err) == STORE_OK, "%s: flush: %s", what, err);
    loom back;
    loom_init(&back);
    tui_store *m2;
    tui_store_create(&m2);
    rc = tui_store_load(m2, db, sess, &back, err, sizeof err);
    CHECK(rc == STORE_OK, "%s: load: %s", what, err);
    CHECK(back.n_alive == l->n_alive, "%s: %d nodes back, %d in the tree", what, (int)back.n_alive, (int)l->n_alive);
    int32_t rb = 0;
    for (int32_t r = 0; r < l->n; r++) {
        if (!loom_get(l, r) || l->nodes[r].parent >= 0) continue;
        while (rb < back.n && (!loom_get(&back, rb) || back.nodes[rb].parent >= 0)) rb++;
        CHECK(rb < back.n && same_node(l, r, &back, rb, what), "%s: the tree of root #%d came back the same", what, (int)r);
        rb++;
    }
    for (int32_t i = 0; i < l->n; i++)            /* the mapping names the loaded nodes */
        if (loom_get(l, i)) CHECK(tui_store_find(m2, tui_store_node(m, i)) >= 0, "%s: node #%d mapped", what, (int)i);
    loom_fini(&back);
    tui_store_destroy(m2);
    /* stable ids (issue 13): with the (store id, loom id) pairs, every
     * node comes back under its own id, split tails and tombstones too */
    int64_t *pairs = malloc(sizeof *pairs * 2 * (size_t)(l->n ? l->n : 1));
    int32_t np = 0;
    for (int32_t i = 0; pairs && i < l->n; i++)
        if (loom_get(l, i) && tui_store_node(m, i)) { pairs[2 * np] = tui_store_node(m, i); pairs[2 * np + 1] = i; np++; }
    loom_init(&back);
    tui_store_create(&m2);
    rc = tui_store_load_ids(m2, db, sess, &back, pairs, np, l->n, err, sizeof err);
    CHECK(rc == STORE_OK, "%s: load with ids: %s", what, err);
    for (int32_t i = 0; i < l->n; i++)
        if (loom_get(l, i))
            CHECK(loom_get(&back, i) && same_node(l, i, &back, i, what), "%s: node #%d keeps its id", what, (int)i);
    int32_t fresh = loom_add_root(&back, "new", false);
    CHECK(fresh >= l->n || !np, "%s: a new node after a reopen gets a new id (%d, tree had %d)", what, (int)fresh, (int)l->n);
    loom_fini(&back);
    tui_store_destroy(m2);
    free(pairs);
    CHECK(store_check(db, err, sizeof err) == STORE_OK, "%s: integrity: %s", what, err);
}

static void test_smpjson(void) {
    smp_params p, q;
    char a[SMPJSON_CAP], b[SMPJSON_CAP], spec[256];
    smp_params_default(&p);
    smpjson_fmt(&p, "", a, sizeof a);
    CHECK(strstr(a, "\"temp\":0.8,") && strstr(a, "\"top_k\":40,") && strstr(a, "\"order\":\"" SMP_DEFAULT_CHAIN "\""),
          "default settings: %s", a);
    CHECK(smpjson_parse(a, &q, spec, sizeof spec) == 0 && !spec[0], "parses back, default order");
    smpjson_fmt(&q, spec, b, sizeof b);
    CHECK(!strcmp(a, b), "canonical: %s", b);
    p.temp = 0.3f;
    p.top_p = 0.9f;
    p.seed = 18446744073709551615ull;
    smpjson_fmt(&p, "top_k,temp", a, sizeof a);
    CHECK(strstr(a, "\"seed\":\"18446744073709551615\""), "a seed above 2^53 as a string: %s", a);
    CHECK(smpjson_parse(a, &q, spec, sizeof spec) == 0 && q.seed == p.seed && q.temp == 0.3f && q.top_p == 0.9f &&
          !strcmp(spec, "top_k,temp"), "round trip of changed settings");
    CHECK(smpjson_parse("[1]", &q, spec, sizeof spec) == -1 && q.top_k == 40, "not an object: defaults");
    char n[40];
    smpjson_num(0.1f, n, sizeof n);
    CHECK(!strcmp(n, "0.1"), "shortest float: %s", n);
    smpjson_num(NAN, n, sizeof n);
    CHECK(!strcmp(n, "null"), "NaN as null");
}

static void test_round_trips(const char *dir) {
    store *db;
    int rc = store_open(&db, dir, NULL, err, sizeof err);
    CHECK(rc == STORE_OK, "open %s: %s", dir, err);
    if (rc) return;
    int64_t sess;
    store_session_add(db, "t", 0, &sess, err, sizeof err);
    tui_store *m;
    tui_store_create(&m);
    loom l;
    loom_init(&l);
    char s1[SMPJSON_CAP], s2[SMPJSON_CAP];        /* the session keeps settings canonical */
    smp_params sp;
    smp_params_default(&sp);
    smpjson_fmt(&sp, NULL, s1, sizeof s1);
    sp.temp = 0;
    smpjson_fmt(&sp, "top_k,temp", s2, sizeof s2);
    /* a node's logit bias and grammar ride along (issue 13 item 16: a replay uses them) */
    CHECK(smpjson_add_str(s2, sizeof s2, "bias", "13=-inf,7=2.5") > 0 &&
          smpjson_add_str(s2, sizeof s2, "grammar", "regex [a-z\\\"]+") > 0 && strstr(s2, ",\"bias\":\"13=-inf,7=2.5\","),
          "bias and grammar appended: %s", s2);
    char tiny[16] = "{}";
    CHECK(smpjson_add_str(tiny, sizeof tiny, "grammar", "choice a,b,c") == -1 && !strcmp(tiny, "{}"), "too long: refused, unchanged");
    int32_t root = add_root(&l, "Once upon a \"time\"\n", 5);
    round_trip(m, db, sess, &l, "a root alone");
    int32_t g = add_gen(&l, root, LOOM_GEN, s1, 6, 100);
    round_trip(m, db, sess, &l, "a generated child");
    for (int i = 0; i < 3; i++) { loom_tok t = mk_tok(200 + i, LOOM_TOK_RAW | LOOM_TOK_POST, 2); loom_append(&l, g, &t); }
    round_trip(m, db, sess, &l, "tokens appended");

    int32_t tail = loom_split(&l, g, 4);           /* a pick inside the node: split, then a sibling */
    int32_t pk = add_gen(&l, g, LOOM_PICK, s2, 2, 300);
    loom_set_label(&l, tail, "the first try");
    loom_set_label(&l, g, "head");
    round_trip(m, db, sess, &l, "split, pick, labels");
    CHECK(l.nodes[tail].origin == LOOM_SPLIT && loom_get(&l, pk), "the tree has its split");

    loom_split(&l, tail, 2);                       /* two splits of the same chain in one sync */
    loom_split(&l, tail, 1);
    loom_set_label(&l, g, NULL);
    int32_t g2 = add_gen(&l, root, LOOM_GEN, s2, 3, 500);
    loom_split(&l, g2, 1);                         /* a new node split before it was ever stored */
    round_trip(m, db, sess, &l, "double split, a fresh node split, a label cleared");

    int32_t t3 = loom_split(&l, pk, 1);            /* a split whose tail is deleted before the sync */
    loom_del(&l, t3, NULL, NULL);
    loom_del(&l, g2, NULL, NULL);                  /* a subtree */
    round_trip(m, db, sess, &l, "deleted tail and subtree");

    int32_t root2 = add_root(&l, "Second", 3);     /* a second root; a split inside the prompt */
    add_gen(&l, root2, LOOM_GEN, s1, 2, 700);
    loom_split(&l, root2, 1);
    round_trip(m, db, sess, &l, "a second root split in its prompt");

    /* a prompt whose distributions are still coming: held while busy */
    int32_t root3 = loom_add_root(&l, "Third", true);
    for (int i = 0; i < 3; i++) { loom_tok x = mk_tok(20 + i, LOOM_TOK_PROMPT, 1); loom_append(&l, root3, &x); }
    add_gen(&l, root3, LOOM_GEN, s1, 0, 0);
    rc = tui_store_sync(m, db, sess, &l, true, err, sizeof err);
    CHECK(rc == STORE_OK && !tui_store_done(m), "busy: prompt tokens without a distribution wait");
    CHECK(tui_store_node(m, root3) == 0, "a new root waits whole for its prompt's distributions");
    loom_tok more = mk_tok(77, LOOM_TOK_RAW, 1);   /* the rest goes on meanwhile */
    loom_append(&l, pk, &more);
    rc = tui_store_sync(m, db, sess, &l, true, err, sizeof err);
    CHECK(rc == STORE_OK && tui_store_node(m, root3) == 0, "still waiting while busy");
    for (int i = 1; i < 3; i++) l.nodes[root3].toks[i] = mk_tok(20 + i, LOOM_TOK_PROMPT | LOOM_TOK_RAW, 2);
    round_trip(m, db, sess, &l, "the prompt's distributions arrived");

    /* after a lost batch: the whole tree into a new session */
    int64_t sess2;
    store_session_add(db, "t2", 0, &sess2, err, sizeof err);
    tui_store_reset(m);
    round_trip(m, db, sess2, &l, "the whole tree into a new session");
    store_node *nodes;
    int64_t n1 = 0, n2 = 0;
    if (store_node_list(db, sess, &nodes, &n1, err, sizeof err) == STORE_OK) store_free(nodes);
    if (store_node_list(db, sess2, &nodes, &n2, err, sizeof err) == STORE_OK) store_free(nodes);
    CHECK(n1 == n2 && n1 == l.n_alive, "both sessions hold the tree (%lld, %lld, %d)", (long long)n1, (long long)n2,
          (int)l.n_alive);

    /* a loaded tree goes on syncing into its session */
    loom back;
    loom_init(&back);
    tui_store *m3;
    tui_store_create(&m3);
    CHECK(tui_store_load(m3, db, sess2, &back, err, sizeof err) == STORE_OK, "load for editing: %s", err);
    int32_t leaf = -1;
    for (int32_t i = 0; i < back.n; i++)
        if (loom_get(&back, i) && back.nodes[i].parent >= 0 && back.nodes[i].n_kids == 0) leaf = i;
    add_gen(&back, leaf, LOOM_PICK, s1, 2, 900);
    round_trip(m3, db, sess2, &back, "a loaded tree grows in its own session");
    loom_fini(&back);
    tui_store_destroy(m3);

    loom_fini(&l);
    tui_store_destroy(m);
    store_close(db);
}

/* --check DIR: what a killed workbench left. */
static int check_dir(const char *dir) {
    store_opts o;
    store_opts_default(&o);
    o.flags = STORE_RDONLY;
    store *db;
    if (store_open(&db, dir, &o, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    int rc = store_check(db, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    store_session *ss;
    int64_t n = 0, nodes = 0, toks = 0;
    if (!rc && store_session_list(db, &ss, &n, err, sizeof err) == STORE_OK) {
        store_node *v;
        int64_t nv = 0;
        if (n > 0 && store_node_list(db, ss[0].id, &v, &nv, err, sizeof err) == STORE_OK) {
            nodes = nv;
            for (int64_t i = 0; i < nv; i++) toks += v[i].n_tok;
            store_free(v);
        }
        store_free(ss);
    }
    printf("sessions %lld nodes %lld tokens %lld\n", (long long)n, (long long)nodes, (long long)toks);
    store_close(db);
    return rc ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--check")) return check_dir(argv[2]);
    test_smpjson();
    char dir[] = "/tmp/logitlab-tui-store.XXXXXX";
    if (!mkdtemp(dir)) { CHECK(0, "mkdtemp"); return check_done(); }
    test_round_trips(dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) {}
    return check_done();
}
