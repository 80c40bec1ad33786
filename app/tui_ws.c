/* tui_ws: the workbench's workspace (see tui_ws.h).
 *
 * Invariants: session is 0 or a stored session whose tree the mapping (map)
 * follows for the tree of epoch; model is the models.id of model_for (0 not
 * known yet, -1 none to record); at most one hashing thread runs, and only
 * the UI thread joins it; saved_sel / saved_ui are what the session row
 * holds. A sync that failed is retried after a back-off (1 s doubling to
 * 30 s), so a full disk costs a write a second at most.
 */
#include "tui_ws.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "model.h"
#include "palette.h"
#include "sha256.h"
#include "smpjson.h"
#include "store.h"
#include "tui_store.h"
#include "thread.h"

#define TICK_S 0.1

typedef struct hasher {
    pthread_t th;
    bool running;
    atomic_int done;
    char path[PATH_MAX];
    uint8_t digest[SHA256_LEN];
    int rc;
    char err[256];
} hasher;

struct tui_ws {
    store *db;
    tui_store *map;
    int64_t session;            /* the stored session the tree goes into, 0 = none yet */
    uint32_t epoch;             /* the session's tree epoch the mapping follows */
    char name[256];             /* name of the session to create ("" = after its prompt) */
    bool want_row;              /* create it even while the tree is empty (:session new) */
    int64_t model;              /* models.id of model_for; 0 not known yet; -1 none */
    char model_for[PATH_MAX];
    char model_hex[SHA256_HEX_LEN + 1];     /* its hash ("" unknown), to record it again after a loss */
    hasher h;
    uint64_t synced;            /* s->version at the last complete sync */
    bool synced_ok;
    int64_t saved_sel;
    char *saved_ui;
    tui_ws_ui last_ui;
    bool lost;                  /* the store may have dropped a batch: write the tree anew */
    bool relink;                /* ... and the model's row with it: record it again first */
    int64_t losses;             /* store_losses when last looked at */
    double next, retry_at, backoff;
    char last_err[256];
    double err_t;
};

/* ---- small helpers ------------------------------------------------------------ */

static void report(tui_ws *w, session *s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void report(tui_ws *w, session *s, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    double now = cli_now();
    if (!strcmp(msg, w->last_err) && now - w->err_t < 10) return;
    snprintf(w->last_err, sizeof w->last_err, "%s", msg);
    w->err_t = now;
    if (s) session_msg(s, SESS_ERROR, "workspace: %s", msg);
}

static char *str_dup0(const char *s) { return s ? strdup(s) : NULL; }

bool tui_ws_same_file(const char *a, const char *b) {
    char ra[PATH_MAX], rb[PATH_MAX];
    if (!a || !b || !*a || !*b) return false;
    if (realpath(a, ra) && realpath(b, rb)) return strcmp(ra, rb) == 0;
    return strcmp(a, b) == 0;
}

static void detach(tui_ws *w, const session *s) {
    tui_store_reset(w->map);
    w->session = 0;
    w->epoch = s->epoch;
    w->name[0] = 0;
    w->want_row = w->lost = false;
    w->synced = 0;
    w->synced_ok = false;
    w->saved_sel = 0;
    free(w->saved_ui);
    w->saved_ui = NULL;
}

/* ---- the model's hash ------------------------------------------------------------ */

static void *hash_main(void *arg) {
    hasher *h = arg;
    h->rc = sha256_file(h->path, h->digest, NULL, h->err, sizeof h->err);
    atomic_store(&h->done, 1);
    return NULL;
}

/* Starts hashing path on a thread that takes no signals (the UI thread
 * handles them all). */
static int hash_start(hasher *h, const char *path) {
    snprintf(h->path, sizeof h->path, "%s", path);
    atomic_store(&h->done, 0);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = thread_create(&h->th, NULL, hash_main, h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    h->running = rc == 0;
    return rc ? -1 : 0;
}

static void hash_join(hasher *h) {
    if (!h->running) return;
    pthread_join(h->th, NULL);
    h->running = false;
}

/* What the workspace records about the model (JSON, into buf). */
static void model_meta(const session *s, char *buf, size_t cap) {
    const model_info *mi = model_get_info(s->m);
    char name[300], arch[80], fmt[60];
    json_escape(mi->name, strlen(mi->name), name, sizeof name);
    json_escape(mi->arch, strlen(mi->arch), arch, sizeof arch);
    json_escape(mi->format, strlen(mi->format), fmt, sizeof fmt);
    snprintf(buf, cap, "{\"name\":%s,\"arch\":%s,\"format\":%s,\"n_vocab\":%d,\"n_layers\":%d,\"dim\":%d,"
             "\"n_params\":%llu}", name, arch, fmt, (int)mi->n_vocab, (int)mi->n_layers, (int)mi->dim,
             (unsigned long long)mi->n_params);
}

static int model_record(tui_ws *w, session *s, const char *hex) {
    char meta[1024], err[512];
    model_meta(s, meta, sizeof meta);
    int64_t id;
    int rc = store_model_add_hashed(w->db, s->model_path, hex, meta, &id, err, sizeof err);
    if (rc) { report(w, s, "%s", err); return rc; }
    w->model = id;
    snprintf(w->model_for, sizeof w->model_for, "%s", s->model_path);
    if (hex != w->model_hex) snprintf(w->model_hex, sizeof w->model_hex, "%s", hex);
    return STORE_OK;
}

/* Finds the models.id of the session's model once it is open: at once
 * when the workspace knows the file unchanged, else after hashing it on a
 * thread (wait: now). */
static void model_poll(tui_ws *w, session *s, bool wait) {
    if (w->model && strcmp(w->model_for, s->model_path)) { w->model = 0; w->model_hex[0] = 0; }   /* another model since */
    if (w->model || !s->m) return;
    char hex[SHA256_HEX_LEN + 1], err[512];
    if (w->h.running) {
        if (!wait && !atomic_load(&w->h.done)) return;
        hash_join(&w->h);
        if (strcmp(w->h.path, s->model_path)) return;   /* hashed the previous model: start again */
        if (w->h.rc) {
            report(w, s, "cannot hash the model: %s", w->h.err);
            w->model = -1;                               /* the session goes in without one */
            snprintf(w->model_for, sizeof w->model_for, "%s", s->model_path);
            return;
        }
        sha256_hex(w->h.digest, hex);
        model_record(w, s, hex);
        return;
    }
    int rc = store_model_has(w->db, s->model_path, hex, err, sizeof err);
    if (rc == 1) model_record(w, s, hex);
    else if (rc < 0) report(w, s, "%s", err);
    else if (hash_start(&w->h, s->model_path)) report(w, s, "cannot start the hashing thread");
    else if (wait) model_poll(w, s, true);
}

/* ---- saving ---------------------------------------------------------------------- */

/* A name for a new session: the first line of its first prompt. */
static void auto_name(const session *s, char *buf, size_t cap) {
    const char *p = NULL;
    for (int32_t i = 0; i < s->tree.n && !p; i++) {
        const loom_node *n = loom_get(&s->tree, i);
        if (n && n->parent < 0 && n->prompt && *n->prompt) p = n->prompt;
    }
    if (!p) { snprintf(buf, cap, "untitled"); return; }
    size_t k = 0;
    while (p[k] && p[k] != '\n' && k < 60 && k + 1 < cap) k++;
    while (k > 0 && ((unsigned char)p[k] & 0xC0) == 0x80) k--;    /* not inside a character */
    memcpy(buf, p, k);
    buf[k] = 0;
}

static int create_row(tui_ws *w, session *s, char *err, size_t errlen) {
    char name[256];
    if (w->name[0]) snprintf(name, sizeof name, "%s", w->name);
    else auto_name(s, name, sizeof name);
    int rc = store_session_add(w->db, name, w->model > 0 ? w->model : 0, &w->session, err, errlen);
    if (!rc) {
        snprintf(w->name, sizeof w->name, "%s", name);
        w->want_row = false;
    }
    return rc;
}

/* The state reopening restores, as JSON (new; NULL when out of memory). */
static char *ui_json(const tui_ws *w, const session *s, const tui_ws_ui *ui) {
    char *out = NULL, smp[SMPJSON_CAP];
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) return NULL;
    const char *p = field_text(&s->prompt);
    size_t need = json_escape(p, strlen(p), NULL, 0);
    char *q = malloc(need + 1);
    if (q) json_escape(p, strlen(p), q, need + 1);
    session_sampler_json(s, smp, sizeof smp);
    fprintf(f, "{\"focus\":%d,\"zoom\":%d,\"tab_wide\":%d,\"tab_narrow\":%d,\"heat\":\"%s\",\"post\":%s,\"chat\":%s,"
            "\"cursor\":%d,\"n\":%d,\"eos\":%s,\"prompt\":%s,\"sampler\":%s",
            ui->focus, ui->zoom, ui->tab_wide, ui->tab_narrow, palette_heat_name(s->heat),
            s->show_post ? "true" : "false", s->chat ? "true" : "false", (int)s->cursor, (int)s->n_max,
            s->stop_at_eos ? "true" : "false", q ? q : "\"\"", smp);
    free(q);
    /* "ids": the loom id of every stored node (pairs: store id, loom id),
     * so that a reopen gives each node back its #ID */
    fputs(",\"ids\":[", f);
    bool first = true;
    for (int32_t i = 0; i < s->tree.n; i++) {
        int64_t db = loom_get(&s->tree, i) ? tui_store_node(w->map, i) : 0;
        if (!db) continue;
        fprintf(f, "%s%lld,%d", first ? "" : ",", (long long)db, (int)i);
        first = false;
    }
    fprintf(f, "],\"next_id\":%d}", (int)s->tree.n);
    if (fclose(f) != 0) { free(out); return NULL; }
    return out;
}

/* The selected node and the UI state, when they changed. */
static int save_state(tui_ws *w, session *s, const tui_ws_ui *ui, char *err, size_t errlen) {
    int64_t sel = tui_store_node(w->map, s->cur);
    if (s->cur >= 0 && !sel) return STORE_OK;           /* its node is not stored yet */
    char *j = ui_json(w, s, ui);
    if (!j) { snprintf(err, errlen, "out of memory"); return STORE_ENOMEM; }
    int rc = STORE_OK;
    if (sel != w->saved_sel || !w->saved_ui || strcmp(j, w->saved_ui)) {
        rc = store_session_set_state(w->db, w->session, sel, j, err, errlen);
        if (!rc) {
            free(w->saved_ui);
            w->saved_ui = j;
            j = NULL;
            w->saved_sel = sel;
        }
    }
    free(j);
    w->last_ui = *ui;
    return rc;
}

/* final: the last save before closing; nothing waits for the engine. */
static int sync_tree(tui_ws *w, session *s, bool final, char *err, size_t errlen) {
    if (s->version == w->synced && w->synced_ok) return STORE_OK;
    uint64_t v = s->version;
    int rc = tui_store_sync(w->map, w->db, w->session, &s->tree, session_busy(s) && !final, err, errlen);
    if (!rc) {
        w->synced = v;
        w->synced_ok = tui_store_done(w->map);
    }
    return rc;
}

/* After a possible loss: the whole tree into a new session that replaces
 * the old one once it is complete. */
static int rewrite(tui_ws *w, session *s, const tui_ws_ui *ui, char *err, size_t errlen) {
    int64_t old = w->session;
    tui_store_reset(w->map);
    w->synced_ok = false;
    w->saved_sel = 0;
    free(w->saved_ui);
    w->saved_ui = NULL;
    int rc = create_row(w, s, err, errlen);
    if (!rc) rc = sync_tree(w, s, false, err, errlen);
    if (!rc) rc = save_state(w, s, ui, err, errlen);
    if (!rc) rc = store_flush(w->db, err, errlen);
    if (rc) {                                   /* keep the old one; try again later */
        char tmp[128];
        if (w->session != old) store_session_del(w->db, w->session, tmp, sizeof tmp);
        tui_store_reset(w->map);
        w->session = old;
        return rc;
    }
    char tmp[128];
    /* the lost batch may have held the old row itself; then SQLite gave
     * its id to the new one, which must stay */
    if (old && old != w->session) store_session_del(w->db, old, tmp, sizeof tmp);
    w->lost = false;
    return STORE_OK;
}

/* One round of saving; force: now, whatever the back-off, waiting for the
 * model's hash, and committed; final: also what waits for the engine. */
static int step(tui_ws *w, session *s, const tui_ws_ui *ui, bool force, bool final, char *err, size_t errlen) {
    double now = cli_now();
    err[0] = 0;
    if (s->epoch != w->epoch) detach(w, s);
    model_poll(w, s, force);
    int rc = STORE_OK;
    if (store_losses(w->db) != w->losses) {
        /* a batch went, maybe in another caller's commit (lab.store's tick
         * shares this store and cannot tell us): whatever it held of the
         * tree, the model row or the session row is gone */
        w->losses = store_losses(w->db);
        w->lost = w->lost || w->session != 0;
        w->relink = true;
        if (!s->save_failed) { s->save_failed = true; s->version++; }
        s->dirty = true;
    }
    if (!force && now < w->retry_at) return STORE_OK;
    if (w->relink && w->model > 0 && w->model_hex[0] && (w->session || s->tree.n_alive > 0 || w->want_row)) {
        if (model_record(w, s, w->model_hex)) rc = STORE_EIO, snprintf(err, errlen, "%s", w->last_err);
        else w->relink = false;
    }
    if (!rc && !w->session && w->model && (s->tree.n_alive > 0 || w->want_row)) rc = create_row(w, s, err, errlen);
    if (!rc && w->session && w->lost) rc = rewrite(w, s, ui, err, errlen);
    else if (!rc && w->session) {
        rc = sync_tree(w, s, final, err, errlen);
        if (!rc) rc = save_state(w, s, ui, err, errlen);
    }
    if (!rc && force) rc = store_flush(w->db, err, errlen);
    else if (!rc) {
        int t = store_tick(w->db, err, errlen);
        rc = t < 0 ? t : STORE_OK;
    }
    if (rc) {
        /* A failure that leaves nothing uncommitted may have taken the batch
         * with it (store.h: a failed commit); then the mapping may name
         * nodes that are not there. Rewriting is safe either way. */
        if (w->session && store_pending(w->db) == 0) w->lost = true;
        if (store_losses(w->db) != w->losses) { w->losses = store_losses(w->db); w->relink = true; }
        w->backoff = w->backoff > 0 ? (w->backoff * 2 < 30 ? w->backoff * 2 : 30) : 1;
        w->retry_at = now + w->backoff;
        report(w, s, "%s", err);
        s->save_failed = true;
        s->version++;
        return rc;
    }
    if (s->save_failed) { s->save_failed = false; s->version++; }
    w->backoff = 0;
    w->retry_at = 0;
    if (w->session && w->synced == s->version && w->synced_ok && store_pending(w->db) == 0) s->dirty = false;
    return STORE_OK;
}

void tui_ws_tick(tui_ws *w, session *s, const tui_ws_ui *ui) {
    double now = cli_now();
    if (now < w->next) return;
    w->next = now + TICK_S;
    char err[512];
    step(w, s, ui, false, false, err, sizeof err);
}

int tui_ws_next_ms(const tui_ws *w, const session *s, const tui_ws_ui *ui) {
    bool work = w->h.running || store_pending(w->db) > 0 || s->version != w->synced || !w->synced_ok ||
                memcmp(ui, &w->last_ui, sizeof *ui) || s->epoch != w->epoch;
    if (!work || (!w->session && !s->tree.n_alive && !w->want_row && !w->h.running)) return -1;
    double now = cli_now(), at = w->next > w->retry_at ? w->next : w->retry_at;
    return at <= now ? 0 : (int)((at - now) * 1000) + 1;
}

int tui_ws_flush(tui_ws *w, session *s, const tui_ws_ui *ui, char *err, size_t errlen) {
    return step(w, s, ui, true, false, err, errlen) ? -1 : 0;
}

/* ---- opening, reopening ------------------------------------------------------------ */

int tui_ws_open(tui_ws **out, const char *dir, char *err, size_t errlen) {
    *out = NULL;
    tui_ws *w = calloc(1, sizeof *w);
    if (!w || tui_store_create(&w->map)) {
        free(w);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (store_open(&w->db, dir, NULL, err, errlen)) {
        tui_store_destroy(w->map);
        free(w);
        return -1;
    }
    *out = w;
    return 0;
}

void tui_ws_close(tui_ws *w, session *s, const tui_ws_ui *ui) {
    if (!w) return;
    char err[512] = "";
    if (s && step(w, s, ui, true, true, err, sizeof err)) fprintf(stderr, "logitlab tui: workspace: %s\n", err);
    hash_join(&w->h);
    if (store_flush(w->db, err, sizeof err)) fprintf(stderr, "logitlab tui: workspace: %s\n", err);
    store_close(w->db);
    tui_store_destroy(w->map);
    free(w->saved_ui);
    free(w);
}

struct store *tui_ws_store(tui_ws *w) { return w->db; }
const char *tui_ws_dir(const tui_ws *w) { return store_dir(w->db); }
int64_t tui_ws_current(const tui_ws *w) { return w->session; }

/* The path of a stored model ("" when none or unknown). */
static void model_path_of(tui_ws *w, int64_t model, char *buf, size_t cap) {
    store_model *m;
    char err[256];
    if (cap) buf[0] = 0;
    if (model <= 0 || store_model_get(w->db, model, &m, err, sizeof err)) return;
    snprintf(buf, cap, "%s", m->path);
    store_free(m);
}

int tui_ws_latest(tui_ws *w, int64_t *id, char *model_path, size_t cap, char *err, size_t errlen) {
    store_session *ss;
    int64_t n;
    *id = 0;
    if (cap) model_path[0] = 0;
    if (store_session_list(w->db, &ss, &n, err, errlen)) return -1;
    if (n > 0) {
        *id = ss[0].id;
        model_path_of(w, ss[0].model, model_path, cap);
    }
    store_free(ss);
    return 0;
}

/* Applies the saved state: the session's part to s, the panes to ui. */
static void apply_ui(session *s, const char *text, tui_ws_ui *ui) {
    char perr[128];
    json_doc *d = text ? smpjson_doc(text, strlen(text), perr, sizeof perr) : NULL;
    const json *o = d ? json_root(d) : NULL;
    const json *prompt = json_get(o, "prompt"), *smp = json_get(o, "sampler");
    if (prompt && prompt->type == JSON_STR) field_set(&s->prompt, prompt->str);
    else {
        const loom_node *r = loom_get(&s->tree, loom_root(&s->tree, s->cur));
        field_set(&s->prompt, r && r->prompt ? r->prompt : "");
    }
    s->chat = json_bool(json_get(o, "chat"), s->chat);
    s->show_post = json_bool(json_get(o, "post"), s->show_post);
    const char *heat = json_str(json_get(o, "heat"), "");
    for (int k = 0; k < PAL_N_HEAT_KINDS; k++)
        if (!strcmp(heat, palette_heat_name(k))) s->heat = k;
    int32_t cursor = (int32_t)json_num(json_get(o, "cursor"), -1);
    s->cursor = cursor >= 0 && cursor < session_len(s) ? cursor : -1;
    int32_t n = (int32_t)json_num(json_get(o, "n"), s->n_max);
    if (n >= 1 || n == -1) s->n_max = n;
    s->stop_at_eos = json_bool(json_get(o, "eos"), s->stop_at_eos);
    if (smp && smp->type == JSON_OBJ) {
        smp_params sp;
        char perr2[256];
        smpjson_get(smp, &sp, s->spec, sizeof s->spec);
        if (smp_params_check(&sp, perr2, sizeof perr2) == 0) s->sp = sp;
        /* the bias and the grammar (checked again: a grammar file may have gone) */
        const char *bias = json_str(json_get(smp, "bias"), ""), *grammar = json_str(json_get(smp, "grammar"), "");
        if (*bias) session_set(s, "bias", bias, perr2, sizeof perr2);
        const char *ends = json_str(json_get(smp, "end_tokens"), "");
        if (*ends) session_set(s, "end_tokens", ends, perr2, sizeof perr2);
        if (*grammar && session_set(s, "grammar", grammar, perr2, sizeof perr2))
            session_msg(s, SESS_WARN, "the session's grammar is off: %s", perr2);
        session_sampler_changed(s);
    }
    int *const fields[] = { &ui->focus, &ui->zoom, &ui->tab_wide, &ui->tab_narrow };
    const char *const names[] = { "focus", "zoom", "tab_wide", "tab_narrow" };
    for (int i = 0; i < 4; i++) *fields[i] = (int)json_num(json_get(o, names[i]), *fields[i]);
    json_free(d);
}

/* The (store id, loom id) pairs the saved state holds (new, into *out;
 * 0 when none or out of memory) and the tree's end then (*next, 0 unknown). */
static int32_t ids_of(const char *text, int64_t **out, int32_t *next) {
    *out = NULL;
    char perr[128];
    json_doc *d = text ? smpjson_doc(text, strlen(text), perr, sizeof perr) : NULL;
    const json *a = d ? json_get(json_root(d), "ids") : NULL;
    double nx = json_num(json_get(d ? json_root(d) : NULL, "next_id"), 0);
    *next = nx >= 1 && nx < (1 << 24) ? (int32_t)nx : 0;
    int32_t n = 0;
    if (a && a->type == JSON_ARR && a->n >= 2 && a->n < (1u << 26) && (*out = malloc(sizeof **out * a->n))) {
        for (const json *e = a->child; e && e->next; e = e->next->next) {
            double db = json_num(e, -1), id = json_num(e->next, -1);
            if (db < 1 || id < 0 || db != (double)(int64_t)db || id != (double)(int32_t)id) continue;
            (*out)[2 * n] = (int64_t)db;
            (*out)[2 * n + 1] = (int64_t)id;
            n++;
        }
    }
    json_free(d);
    return n;
}

int tui_ws_load(tui_ws *w, session *s, int64_t id, tui_ws_ui *ui, char *err, size_t errlen) {
    store_session *ss;
    if (store_session_get(w->db, id, &ss, err, errlen)) return -1;
    detach(w, s);
    int64_t *want = NULL;
    int32_t next = 0;
    int32_t n_want = ids_of(ss->ui, &want, &next);
    int rc = tui_store_load_ids(w->map, w->db, id, &s->tree, want, n_want, next, err, errlen);
    free(want);
    if (rc) {
        store_free(ss);
        session_clear(s);                       /* a partial tree would be saved as a new session */
        return -1;
    }
    int32_t cur = tui_store_find(w->map, ss->selected);
    for (int32_t i = 0; cur < 0 && i < s->tree.n; i++)
        if (loom_get(&s->tree, i) && s->tree.nodes[i].parent < 0) cur = loom_follow(&s->tree, i);
    s->cur = cur;
    if (cur >= 0) loom_touch_path(&s->tree, cur);
    apply_ui(s, ss->ui, ui);
    w->session = id;
    w->model = ss->model > 0 ? ss->model : -1;
    snprintf(w->model_for, sizeof w->model_for, "%s", s->model_path);
    w->model_hex[0] = 0;
    store_model *sm;
    char merr[256];
    if (ss->model > 0 && store_model_get(w->db, ss->model, &sm, merr, sizeof merr) == STORE_OK) {
        if (sm->sha256 && strlen(sm->sha256) == SHA256_HEX_LEN) snprintf(w->model_hex, sizeof w->model_hex, "%s", sm->sha256);
        store_free(sm);
    }
    snprintf(w->name, sizeof w->name, "%s", ss->name ? ss->name : "");
    w->saved_sel = ss->selected;
    w->saved_ui = str_dup0(ss->ui);
    store_free(ss);
    session_loaded(s);
    s->dirty = false;
    w->synced = s->version;
    w->synced_ok = true;
    return 0;
}

/* ---- commands --------------------------------------------------------------------------- */

/* Node counts by session (a read-only query). */
static int64_t node_count(tui_ws *w, int64_t session) {
    store_query *q;
    char err[256];
    int64_t n = -1;
    if (store_query_open(w->db, "SELECT count(*) FROM nodes WHERE session_id = ?1", &q, err, sizeof err)) return -1;
    store_value v = { .type = STORE_INT, .i = session };
    if (!store_query_bind(q, 1, &v, err, sizeof err) && store_query_step(q, err, sizeof err) == 1) {
        store_query_get(q, 0, &v);
        n = v.i;
    }
    store_query_close(q);
    return n;
}

int tui_ws_list(tui_ws *w, void (*line)(void *ud, const char *text, bool current), void *ud, char *err,
                size_t errlen) {
    store_session *ss;
    int64_t n;
    if (store_session_list(w->db, &ss, &n, err, errlen)) return -1;
    for (int64_t i = 0; i < n; i++) {
        char when[32] = "", model[PATH_MAX], text[PATH_MAX + 600];
        time_t t = (time_t)ss[i].updated;
        struct tm tm;
        if (localtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
        model_path_of(w, ss[i].model, model, sizeof model);
        const char *base = strrchr(model, '/');
        snprintf(text, sizeof text, "%c %4lld  %s  %4lld nodes  %-20s %s", ss[i].id == w->session ? '*' : ' ',
                 (long long)ss[i].id, when, (long long)node_count(w, ss[i].id), base ? base + 1 : model[0] ? model : "-",
                 ss[i].name ? ss[i].name : "");
        line(ud, text, ss[i].id == w->session);
    }
    if (n == 0) line(ud, "no sessions yet", false);
    store_free(ss);
    return n > INT32_MAX ? INT32_MAX : (int)n;
}

int tui_ws_new(tui_ws *w, session *s, const tui_ws_ui *ui, const char *name, char *err, size_t errlen) {
    if (tui_ws_flush(w, s, ui, err, errlen)) return -1;   /* never drop a tree that is not saved */
    session_clear(s);
    detach(w, s);
    w->want_row = true;
    snprintf(w->name, sizeof w->name, "%s", name ? name : "");
    return 0;
}

int tui_ws_switch(tui_ws *w, session *s, int64_t id, tui_ws_ui *ui, char *err, size_t errlen) {
    if (id == w->session && id) { snprintf(err, errlen, "session %lld is the one open", (long long)id); return -1; }
    store_session *ss;
    if (store_session_get(w->db, id, &ss, err, errlen)) return -1;
    char path[PATH_MAX];
    model_path_of(w, ss->model, path, sizeof path);
    store_free(ss);
    if (tui_ws_flush(w, s, ui, err, errlen)) return -1;
    if (!path[0] || (s->m && tui_ws_same_file(path, s->model_path))) session_clear(s);
    else session_open(s, path);                 /* a missing file leaves the tree without its model */
    return tui_ws_load(w, s, id, ui, err, errlen);
}

int tui_ws_rename(tui_ws *w, const char *name, char *err, size_t errlen) {
    if (w->session && store_session_set_name(w->db, w->session, name, err, errlen)) return -1;
    snprintf(w->name, sizeof w->name, "%s", name);
    return 0;
}

int tui_ws_delete(tui_ws *w, session *s, int64_t id, char *err, size_t errlen) {
    if (store_session_del(w->db, id, err, errlen)) return -1;
    if (id == w->session) {
        session_clear(s);
        detach(w, s);
    }
    return 0;
}
