/* tui_cmd: command-line commands (see tui_cmd.h). Each command parses its
 * own arguments and reports through the session's message line; none of
 * them blocks on the engine. */
#include "tui_cmd.h"

#include <ctype.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lhost.h"
#include "model.h"
#include "modelpath.h"
#include "pane.h"
#include "session.h"
#include "store.h"
#include "tui.h"
#include "tui_lua.h"
#include "tui_save.h"
#include "tui_ws.h"

enum { CMP_NONE = 0, CMP_SETTING, CMP_MODEL, CMP_PLUGIN, CMP_PLUGINCMD, CMP_FILE, CMP_HEAT, CMP_VIEW, CMP_SESSION };

typedef struct cmd {
    const char *name, *args, *help;
    void (*fn)(struct tui *t, char *args);
    int complete;
} cmd;

static session *S(struct tui *t) { return tui_session(t); }

static char open_path[4096];     /* the model :open asked about */

/* Saves what the tree got since (a generation may have gone on while the
 * question was up): session_open starts the tree over. */
static void flush_ws(struct tui *t) {
    char err[512];
    tui_ws_ui ui;
    tui_ui_get(t, &ui);
    if (tui_ws_flush(tui_workspace(t), S(t), &ui, err, sizeof err)) session_msg(S(t), SESS_ERROR, "workspace: %s", err);
}

static void open_yes(struct tui *t, void *ud) {
    (void)ud;
    flush_ws(t);
    session_open_keep(S(t), open_path);    /* the model and tree stay until the new one is open */
    session_msg(S(t), SESS_INFO, "opening %s", open_path);
}

static void c_open(struct tui *t, char *a) {
    char err[1024];
    if (!*a) { session_msg(S(t), SESS_WARN, "open: which model? (:open NAME, Tab completes)"); return; }
    if (mpath_find(a, open_path, sizeof open_path, err, sizeof err)) { session_msg(S(t), SESS_ERROR, "%s", err); return; }
    /* a file that is no model is refused here: session_open gives up the
     * open model and its tree before the worker finds out */
    if (model_sniff(open_path, err, sizeof err)) { session_msg(S(t), SESS_ERROR, "%s", err); return; }
    flush_ws(t);
    if (S(t)->dirty) tui_confirm(t, "The workspace could not save everything: the tree starts over. Open anyway? (y/n)",
                                 open_yes, NULL);
    else open_yes(t, NULL);
}

static void c_set(struct tui *t, char *a) {
    char *name = strtok(a, " \t"), *val = strtok(NULL, "");
    char err[256], buf[256];
    if (!name) { session_msg(S(t), SESS_WARN, "set NAME VALUE (Tab completes the names)"); return; }
    while (val && isspace((unsigned char)*val)) val++;
    if (!val || !*val) {
        if (session_get(S(t), name, buf, sizeof buf)) session_msg(S(t), SESS_INFO, "%s = %s", name, buf);
        else session_msg(S(t), SESS_ERROR, "unknown setting '%s'", name);
        return;
    }
    if (session_set(S(t), name, val, err, sizeof err)) session_msg(S(t), SESS_ERROR, "%s", err);
    else if (session_get(S(t), name, buf, sizeof buf)) session_msg(S(t), SESS_INFO, "%s = %s", name, buf);
}

static void c_grammar(struct tui *t, char *a) {
    char err[512], buf[600];
    while (isspace((unsigned char)*a)) a++;
    if (!*a) {
        session_get(S(t), "grammar", buf, sizeof buf);
        session_msg(S(t), SESS_INFO, "grammar = %s", buf);
        return;
    }
    if (session_set(S(t), "grammar", a, err, sizeof err)) session_msg(S(t), SESS_ERROR, "%s", err);
    else if (session_get(S(t), "grammar", buf, sizeof buf)) session_msg(S(t), SESS_INFO, "grammar = %s", buf);
}

static struct lhost *need_lua(struct tui *t) {
    struct lhost *h = tui_host(t);
    if (!h) session_msg(S(t), SESS_WARN, "Lua is off");
    return h;
}

static void c_run(struct tui *t, char *a) {
    struct lhost *h = need_lua(t);
    char err[1024];
    if (!h) return;
    if (!*a) { session_msg(S(t), SESS_WARN, "run PLUGIN or run FILE.lua"); return; }
    tui_lua_enter(t);
    int rc = lhost_plugin_load(h, a, err, sizeof err);
    tui_lua_leave(t);
    tui_lua_apply(tui_plugins(t));
    if (rc) session_msg(S(t), SESS_ERROR, "%s", err);
    else session_msg(S(t), SESS_INFO, "%s: loaded", a);
}

static void c_plugin(struct tui *t, char *a) {
    struct lhost *h = need_lua(t);
    if (!h) return;
    char *verb = strtok(a, " \t"), *name = strtok(NULL, " \t");
    char err[1024] = "";
    int rc = 0;
    if (!verb || !strcmp(verb, "list")) {
        int n = lhost_plugin_count(h);
        if (!n) tui_print(t, "no plugins", 10, false);
        for (int i = 0; i < n; i++) {
            lhost_plugin_info pi;
            if (lhost_plugin_get(h, i, &pi)) continue;
            char line[1024];
            int k = snprintf(line, sizeof line, "%-16s %s  %s%s%s", pi.name, pi.enabled ? "on " : "off",
                             pi.description ? pi.description : "", pi.error ? "  error: " : "", pi.error ? pi.error : "");
            tui_print(t, line, (size_t)(k < (int)sizeof line ? k : (int)sizeof line - 1), pi.error != NULL);
        }
        session_msg(S(t), SESS_INFO, "%d plugin%s (listed in the console)", n, n == 1 ? "" : "s");
        return;
    }
    if (!name) { session_msg(S(t), SESS_WARN, "plugin %s NAME", verb); return; }
    tui_lua_enter(t);
    if (!strcmp(verb, "reload")) rc = lhost_plugin_reload(h, name, err, sizeof err);
    else if (!strcmp(verb, "disable") || !strcmp(verb, "stop")) rc = lhost_plugin_disable(h, name, err, sizeof err);
    else if (!strcmp(verb, "load")) rc = lhost_plugin_load(h, name, err, sizeof err);
    else { rc = -1; snprintf(err, sizeof err, "plugin: list, load, reload or disable"); }
    tui_lua_leave(t);
    tui_lua_apply(tui_plugins(t));
    if (rc) session_msg(S(t), SESS_ERROR, "%s", err);
    else session_msg(S(t), SESS_INFO, "plugin %s: %s done", name, verb);
}

static void c_lua(struct tui *t, char *a) {
    struct lhost *h = need_lua(t);
    char err[1024];
    if (!h || !*a) return;
    tui_lua_enter(t);
    lhost_eval(h, a, false, err, sizeof err);    /* results and errors go to the console */
    tui_lua_leave(t);
    tui_lua_apply(tui_plugins(t));
}

/* A relative FILE goes into the workspace's folder (not wherever the
 * workbench was started); into buf. */
static const char *ws_path(struct tui *t, const char *a, char *buf, size_t cap) {
    if (a[0] == '/') return a;
    snprintf(buf, cap, "%s/%s", tui_ws_dir(tui_workspace(t)), a);
    return buf;
}

/* :w and :export write with fopen(path, "w"): one of the workspace's own
 * files (`:w logitlab.db`) was truncated under the open database. Says so
 * and returns true for those. */
static bool own_file(struct tui *t, const char *path, const char *shown) {
    if (!store_own_path(tui_ws_dir(tui_workspace(t)), path)) return false;
    session_msg(S(t), SESS_ERROR, "%s: a file of the workspace itself (its database, lock or config), not written",
                shown);
    return true;
}

/* 0 when saved. The unsaved mark is the workspace's: a JSON copy does not
 * clear it. */
static int save_json(struct tui *t, char *a) {
    session *s = S(t);
    char err[1024], buf[1024];
    const char *path = *a ? ws_path(t, a, buf, sizeof buf) : s->save_path[0] ? s->save_path
                     : ws_path(t, "logitlab-session.json", buf, sizeof buf);
    if (own_file(t, path, *a ? a : path)) return -1;
    if (tui_save_tree(s, path, err, sizeof err)) { session_msg(s, SESS_ERROR, "%s", err); return -1; }
    if (path != s->save_path) snprintf(s->save_path, sizeof s->save_path, "%.*s", (int)sizeof s->save_path - 1, path);
    session_msg(s, SESS_INFO, "saved %d nodes to %s", (int)s->tree.n_alive, s->save_path);
    return 0;
}

static void c_save(struct tui *t, char *a) { save_json(t, a); }

static void c_export(struct tui *t, char *a) {
    char err[1024];
    if (!*a) { session_msg(S(t), SESS_WARN, "export FILE (.txt text, .jsonl one object per token)"); return; }
    char buf[1024];
    const char *path = ws_path(t, a, buf, sizeof buf);
    if (own_file(t, path, a)) return;
    if (tui_save_path(S(t), path, err, sizeof err)) session_msg(S(t), SESS_ERROR, "%s", err);
    else session_msg(S(t), SESS_INFO, "exported %d tokens to %s", (int)session_len(S(t)), path);
}

/* "#12 rest" -> 12 and rest; no "#": the selected node. */
static int32_t node_arg(struct tui *t, char **a) {
    while (isspace((unsigned char)**a)) (*a)++;
    if (**a != '#') return S(t)->cur;
    char *end;
    long id = strtol(*a + 1, &end, 10);
    if (end == *a + 1 || id < 0 || id > INT32_MAX) return -1;     /* "#abc": no node */
    *a = end;
    while (isspace((unsigned char)**a)) (*a)++;
    return (int32_t)id;
}

static void c_label(struct tui *t, char *a) {
    int32_t id = node_arg(t, &a);
    if (!loom_get(&S(t)->tree, id)) { session_msg(S(t), SESS_ERROR, "no node #%d", (int)id); return; }
    session_label(S(t), id, a);
    session_msg(S(t), SESS_INFO, *a ? "node #%d labelled" : "node #%d unlabelled", (int)id);
}

static void c_replay(struct tui *t, char *a) {
    int32_t id = node_arg(t, &a);
    if (*a) { session_msg(S(t), SESS_ERROR, "replay [#ID]: one node"); return; }
    session_replay(S(t), id);
}

static void c_delete(struct tui *t, char *a) {
    int32_t id = node_arg(t, &a);
    if (!loom_get(&S(t)->tree, id)) { session_msg(S(t), SESS_ERROR, "no node #%d", (int)id); return; }
    session_delete(S(t), id);
}

static void c_step(struct tui *t, char *a) {
    char *end = a;
    long n = *a ? strtol(a, &end, 10) : 1;
    while (isspace((unsigned char)*end)) end++;
    if (*end || n < 1 || n > 1000000) {
        session_msg(S(t), SESS_ERROR, "step: N is a whole number of tokens, 1 to 1000000 (got '%s')", a);
        return;
    }
    session_gen(S(t), (int32_t)n);
}

static void c_gen(struct tui *t, char *a) { (void)a; session_gen(S(t), -1); }
static void c_stop(struct tui *t, char *a) { (void)a; session_stop(S(t)); }
static void c_rewind(struct tui *t, char *a) { (void)a; session_rewind(S(t)); }
static void c_regen(struct tui *t, char *a) { (void)a; session_regen(S(t)); }
static void c_zoom(struct tui *t, char *a) { (void)a; tui_zoom(t); }
static void c_help(struct tui *t, char *a) { (void)a; tui_help(t); }
static void c_quit(struct tui *t, char *a) { (void)a; tui_quit(t, false); }
static void c_quit_force(struct tui *t, char *a) { (void)a; tui_quit(t, true); }

static void c_wq(struct tui *t, char *a) {
    if (save_json(t, a) == 0) tui_quit(t, false);   /* asks when the workspace could not save */
}

static void c_heat(struct tui *t, char *a) {
    session *s = S(t);
    if (!strcmp(a, "prob") || !strcmp(a, "probability")) s->heat = PAL_HEAT_PROB;
    else if (!strcmp(a, "entropy")) s->heat = PAL_HEAT_ENTROPY;
    else if (!strcmp(a, "rank")) s->heat = PAL_HEAT_RANK;
    else { session_msg(s, SESS_WARN, "heat prob, entropy or rank"); return; }
    s->version++;
}

static void c_view(struct tui *t, char *a) {
    session *s = S(t);
    if (!strcmp(a, "raw")) s->show_post = false;
    else if (!strcmp(a, "post")) s->show_post = true;
    else { session_msg(s, SESS_WARN, "view raw or post"); return; }
    s->version++;
}

static void c_prompt(struct tui *t, char *a) {
    field_set(&S(t)->prompt, a);
    S(t)->version++;
}

/* ---- sessions in the workspace ------------------------------------------------ */

static void list_line(void *ud, const char *text, bool current) {
    (void)current;
    tui_print(ud, text, strlen(text), false);
}

static void c_sessions(struct tui *t, char *a) {
    (void)a;
    char err[512];
    tui_ws *w = tui_workspace(t);
    const char *head = "sessions, newest first (* the one open): id, updated, nodes, model, name";
    tui_print(t, head, strlen(head), false);
    int n = tui_ws_list(w, list_line, t, err, sizeof err);
    if (n < 0) { session_msg(S(t), SESS_ERROR, "%s", err); return; }
    session_msg(S(t), SESS_INFO, "%d session%s in %s (listed in the console)", n, n == 1 ? "" : "s", tui_ws_dir(w));
}

static int64_t session_id_arg(struct tui *t, const char *a, const char *verb) {
    char *end;
    long long id = strtoll(a, &end, 10);
    while (isspace((unsigned char)*end)) end++;
    if (end == a || *end || id <= 0) {
        session_msg(S(t), SESS_WARN, "session %s ID (:sessions lists them)", verb);
        return 0;
    }
    return (int64_t)id;
}

static void delete_yes(struct tui *t, void *ud) {
    int64_t id = (int64_t)(intptr_t)ud;
    char err[512];
    if (tui_ws_delete(tui_workspace(t), S(t), id, err, sizeof err)) session_msg(S(t), SESS_ERROR, "%s", err);
    else session_msg(S(t), SESS_INFO, "session %lld deleted", (long long)id);
}

static void c_session(struct tui *t, char *a) {
    char *verb = strtok(a, " \t"), *rest = strtok(NULL, "");
    while (rest && isspace((unsigned char)*rest)) rest++;
    tui_ws *w = tui_workspace(t);
    char err[512];
    tui_ws_ui ui;
    tui_ui_get(t, &ui);
    int64_t id;
    if (!verb) {
        int64_t cur = tui_ws_current(w);
        if (cur) session_msg(S(t), SESS_INFO, "session %lld (:session new|open|rename|delete)", (long long)cur);
        else session_msg(S(t), SESS_INFO, "a new session, saved once it has a node (:session new|open|rename|delete)");
    } else if (!strcmp(verb, "new")) {
        if (tui_ws_new(w, S(t), &ui, rest && *rest ? rest : NULL, err, sizeof err)) session_msg(S(t), SESS_ERROR, "%s", err);
        else session_msg(S(t), SESS_INFO, "a new session%s%s", rest && *rest ? ": " : "", rest && *rest ? rest : "");
    } else if (!strcmp(verb, "open")) {
        if (!(id = session_id_arg(t, rest ? rest : "", "open"))) return;
        if (tui_ws_switch(w, S(t), id, &ui, err, sizeof err)) { session_msg(S(t), SESS_ERROR, "%s", err); return; }
        tui_ui_set(t, &ui);
        session_msg(S(t), SESS_INFO, "opened session %lld (%d nodes)", (long long)id, (int)S(t)->tree.n_alive);
    } else if (!strcmp(verb, "rename")) {
        if (!rest || !*rest) { session_msg(S(t), SESS_WARN, "session rename NAME"); return; }
        if (tui_ws_rename(w, rest, err, sizeof err)) session_msg(S(t), SESS_ERROR, "%s", err);
        else session_msg(S(t), SESS_INFO, "session renamed: %s", rest);
    } else if (!strcmp(verb, "delete")) {
        if (!(id = session_id_arg(t, rest ? rest : "", "delete"))) return;
        char q[200];
        snprintf(q, sizeof q, "Delete session %lld and its whole tree%s? (y/n)", (long long)id,
                 id == tui_ws_current(w) ? " (the one open)" : "");
        tui_confirm(t, q, delete_yes, (void *)(intptr_t)id);
    } else session_msg(S(t), SESS_WARN, "session new [NAME] | open ID | rename NAME | delete ID");
}

/* :pane lists the panes (number and name) in the console; :pane N or
 * :pane NAME shows one: the way to panes past 9, which no digit reaches
 * (plugin panes: session 14's trial found the tree plugin's unreachable). */
static void c_pane(struct tui *t, char *a) {
    char name[140], list[2048];
    while (isspace((unsigned char)*a)) a++;
    size_t al = strlen(a);
    while (al > 0 && isspace((unsigned char)a[al - 1])) a[--al] = 0;
    if (!*a) {
        size_t used = (size_t)snprintf(list, sizeof list, "panes:");
        for (int i = 0; tui_pane(t, i) && used < sizeof list; i++) {
            pane_name(tui_pane(t, i), name, sizeof name);
            used += (size_t)snprintf(list + used, sizeof list - used, "%s %d %s", i ? "," : "", i + 1, name);
        }
        tui_print(t, list, strlen(list), false);
        session_msg(S(t), SESS_INFO, "%s (:pane N or NAME shows one)", list);
        return;
    }
    char *end;
    long n = strtol(a, &end, 10);
    int found = -1, matches = 0;
    if (end != a && !*end) {
        if (!tui_pane(t, (int)n - 1)) { session_msg(S(t), SESS_ERROR, "no pane %s (:pane lists them)", a); return; }
        found = (int)n - 1;
    } else {
        /* an exact name first; else a unique prefix; a name two panes share
         * (the tree pane and the tree plugin's) asks for the number */
        int hit[64];
        for (int pass = 0; pass < 2 && !matches; pass++)
            for (int i = 0; tui_pane(t, i); i++) {
                pane_name(tui_pane(t, i), name, sizeof name);
                if ((pass == 0 ? strcmp(name, a) == 0 : strncmp(name, a, al) == 0) && matches < 64) hit[matches++] = i;
            }
        if (matches > 1) {
            size_t used = (size_t)snprintf(list, sizeof list, "%d panes are named %s:", matches, a);
            for (int k = 0; k < matches && used < sizeof list; k++)
                used += (size_t)snprintf(list + used, sizeof list - used, " %d", hit[k] + 1);
            session_msg(S(t), SESS_WARN, "%s (:pane N)", list);
            return;
        }
        if (matches == 1) found = hit[0];
        if (found < 0) { session_msg(S(t), SESS_ERROR, "no pane named %s (:pane lists them)", a); return; }
    }
    tui_focus(t, found);
    pane_name(tui_pane(t, found), name, sizeof name);
    session_msg(S(t), SESS_INFO, "pane %d %s", found + 1, name);
}

static const cmd cmds[] = {
    { "open", "MODEL", "open a model (a path, or a name in models/ or ../shared/models)", c_open, CMP_MODEL },
    { "set", "NAME [VALUE]", "show or set a sampler value (temp, top_k, top_p, min_p, typical, repeat_penalty, repeat_last_n, frequency_penalty, presence_penalty, seed, order, n, eos, end_tokens LIST (bos, eos, eot, unk, ids; none), bias ID=VALUE,... or none)", c_set, CMP_SETTING },
    { "grammar", "KIND VALUE | none", "constrain generation: grammar FILE.gbnf, json-schema FILE.json, regex RE, choice A,B,C (the inspector marks refused tokens x)", c_grammar, CMP_NONE },
    { "run", "PLUGIN | FILE.lua", "load a plugin (by name or path)", c_run, CMP_PLUGIN },
    { "plugin", "list | load | reload | disable NAME", "manage plugins; disable stops a running one", c_plugin, CMP_PLUGINCMD },
    { "lua", "CODE", "run Lua in the console's state", c_lua, CMP_NONE },
    { "save", "[FILE]", "save the whole branch tree as JSON (default logitlab-session.json; relative to the workspace)", c_save, CMP_FILE },
    { "w", "[FILE]", "save (as :save)", c_save, CMP_FILE },
    { "export", "FILE", "write the selected path: text, or one JSON object per token for FILE.jsonl", c_export, CMP_FILE },
    { "sessions", "", "list the workspace's sessions in the console (newest first)", c_sessions, CMP_NONE },
    { "pane", "[N | NAME]", "show pane N or NAME (panes past 9 have no digit key); no argument lists the panes in the console", c_pane, CMP_NONE },
    { "session", "new [NAME] | open ID | rename NAME | delete ID", "start, reopen, rename or delete a session of the workspace", c_session, CMP_SESSION },
    { "label", "[#ID] TEXT", "label the selected node (or node ID); no text removes the label", c_label, CMP_NONE },
    { "delete", "[#ID]", "delete the selected node (or node ID) and its descendants", c_delete, CMP_NONE },
    { "replay", "[#ID]", "draw the selected node (or node ID) again as a sibling, with its settings and generator state: the same tokens", c_replay, CMP_NONE },
    { "step", "[N]", "generate N tokens (default 1)", c_step, CMP_NONE },
    { "gen", "", "generate until end of text or the token limit (:set n)", c_gen, CMP_NONE },
    { "stop", "", "stop generation", c_stop, CMP_NONE },
    { "rewind", "", "rewind to the cursor", c_rewind, CMP_NONE },
    { "regen", "", "regenerate from the cursor", c_regen, CMP_NONE },
    { "heat", "prob | entropy | rank", "what the token colours show", c_heat, CMP_HEAT },
    { "view", "raw | post", "raw or post-sampler probabilities", c_view, CMP_VIEW },
    { "prompt", "TEXT", "replace the prompt", c_prompt, CMP_NONE },
    { "zoom", "", "zoom the focused pane (again to restore)", c_zoom, CMP_NONE },
    { "help", "", "show the key bindings", c_help, CMP_NONE },
    { "quit", "", "quit (asks when there is unsaved work or a run training)", c_quit, CMP_NONE },
    { "q", "", "quit", c_quit, CMP_NONE },
    { "q!", "", "quit without asking", c_quit_force, CMP_NONE },
    { "wq", "[FILE]", "save and quit", c_wq, CMP_FILE },
};
#define N_CMDS ((int)(sizeof cmds / sizeof cmds[0]))

const char *tui_cmd_get(int i, const char **args, const char **help) {
    if (i < 0 || i >= N_CMDS) return NULL;
    if (args) *args = cmds[i].args;
    if (help) *help = cmds[i].help;
    return cmds[i].name;
}

void tui_cmd_run(struct tui *t, const char *line) {
    char buf[2048];
    while (isspace((unsigned char)*line)) line++;
    if (*line == ':') line++;
    snprintf(buf, sizeof buf, "%s", line);
    size_t n = strlen(buf);
    while (n && isspace((unsigned char)buf[n - 1])) buf[--n] = 0;
    if (!n) return;
    char *args = buf;
    while (*args && !isspace((unsigned char)*args)) args++;
    if (*args) *args++ = 0;
    while (isspace((unsigned char)*args)) args++;
    for (int i = 0; i < N_CMDS; i++)
        if (!strcmp(cmds[i].name, buf)) { cmds[i].fn(t, args); return; }
    char err[1024] = "";
    int rc = tui_lua_command(tui_plugins(t), buf, args, err, sizeof err);
    if (rc == LHOST_ENOENT) session_msg(S(t), SESS_ERROR, "unknown command '%s' (:help lists keys; Tab completes)", buf);
    else if (rc) session_msg(S(t), SESS_ERROR, "%s", err);
}

/* ---- completion ------------------------------------------------------------ */

static void cand(tui_cmd_cands *c, const char *prefix, const char *s) {
    if (c->n >= TUI_CMD_MAX_CANDS || strncmp(s, prefix, strlen(prefix))) return;
    for (int i = 0; i < c->n; i++) if (!strcmp(c->item[i], s)) return;
    snprintf(c->item[c->n++], sizeof c->item[0], "%s", s);
}

/* Files in dir (NULL = ".") whose names start with the word's basename;
 * with want_ext, only those ending in one of the extensions (or folders). */
static void files(tui_cmd_cands *c, const char *word, const char *const *exts) {
    char dir[1024] = ".", pre[256];
    const char *slash = strrchr(word, '/');
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - word) + 1, word);
    snprintf(pre, sizeof pre, "%s", slash ? slash + 1 : word);
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' && pre[0] != '.') continue;
        if (strncmp(e->d_name, pre, strlen(pre))) continue;
        bool isdir = e->d_type == DT_DIR;
        bool ok = isdir || !exts;
        for (int i = 0; exts && exts[i] && !ok; i++) {
            size_t a = strlen(e->d_name), b = strlen(exts[i]);
            ok = a > b && !strcmp(e->d_name + a - b, exts[i]);
        }
        if (!ok) continue;
        char full[1300];
        snprintf(full, sizeof full, "%s%s%s", slash ? dir : "", e->d_name, isdir ? "/" : "");
        cand(c, "", full);
    }
    closedir(d);
}

static void models(tui_cmd_cands *c, const char *word) {
    static const char *const exts[] = { ".gguf", ".bin", NULL };
    if (strchr(word, '/')) { files(c, word, exts); return; }
    char buf[1024];
    for (int i = 0;; i++) {
        const char *dir = mpath_dir(i, buf, sizeof buf);
        if (!dir) break;
        DIR *d = opendir(dir);
        if (!d) continue;
        for (struct dirent *e; (e = readdir(d));) {
            size_t a = strlen(e->d_name);
            if ((a > 5 && !strcmp(e->d_name + a - 5, ".gguf")) || (a > 4 && !strcmp(e->d_name + a - 4, ".bin")))
                cand(c, word, e->d_name);
        }
        closedir(d);
    }
}

static void plugins(struct tui *t, tui_cmd_cands *c, const char *word) {
    struct lhost *h = tui_host(t);
    int n = h ? lhost_plugin_count(h) : 0;
    for (int i = 0; i < n; i++) {
        lhost_plugin_info pi;
        if (!lhost_plugin_get(h, i, &pi)) cand(c, word, pi.name);
    }
    static const char *const exts[] = { ".lua", NULL };
    if (strchr(word, '/')) files(c, word, exts);
    else {
        DIR *d = opendir("plugins");
        for (struct dirent *e; d && (e = readdir(d));) {
            char name[256];
            size_t a = strlen(e->d_name);
            if (a > 4 && !strcmp(e->d_name + a - 4, ".lua")) {
                snprintf(name, sizeof name, "%.*s", (int)(a - 4), e->d_name);
                cand(c, word, name);
            }
        }
        if (d) closedir(d);
    }
}

/* The ids of the stored sessions, for :session open / delete. */
static void id_line(void *ud, const char *text, bool current) {
    (void)current;
    void **p = ud;
    char id[32];
    if (sscanf(text + 1, " %31[0-9]", id) == 1) cand(p[0], p[1], id);
}

static void session_ids(struct tui *t, tui_cmd_cands *c, const char *word) {
    char err[256];
    void *ud[2] = { c, (void *)word };
    tui_ws_list(tui_workspace(t), id_line, ud, err, sizeof err);
}

void tui_cmd_complete(struct tui *t, const char *line, size_t cur, tui_cmd_cands *c) {
    memset(c, 0, sizeof *c);
    size_t ws = cur;
    while (ws > 0 && !isspace((unsigned char)line[ws - 1])) ws--;
    c->word_start = ws;
    char word[256];
    snprintf(word, sizeof word, "%.*s", (int)(cur - ws), line + ws);
    /* which word is it, and of which command */
    size_t i = 0;
    while (i < ws && isspace((unsigned char)line[i])) i++;
    if (i == ws) {
        for (int k = 0; k < N_CMDS; k++) cand(c, word, cmds[k].name);
        tui_lua *l = tui_plugins(t);
        for (int k = 0; k < tui_lua_n_commands(l); k++) cand(c, word, tui_lua_command_name(l, k, NULL, NULL));
        c->add_space = true;
        return;
    }
    char name[64];
    size_t e = i;
    while (e < ws && !isspace((unsigned char)line[e])) e++;
    snprintf(name, sizeof name, "%.*s", (int)(e - i), line + i);
    int argn = 0;
    for (size_t k = e; k < ws; k++)
        if (!isspace((unsigned char)line[k]) && isspace((unsigned char)line[k - 1])) argn++;
    int kind = CMP_NONE;
    for (int k = 0; k < N_CMDS; k++) if (!strcmp(cmds[k].name, name)) kind = cmds[k].complete;
    switch (kind) {
    case CMP_SETTING:
        if (argn == 0) {
            for (const char *const *n = session_setting_names(); *n; n++) cand(c, word, *n);
            c->add_space = true;
        }
        break;
    case CMP_MODEL: if (argn == 0) models(c, word); break;
    case CMP_PLUGIN: if (argn == 0) plugins(t, c, word); break;
    case CMP_PLUGINCMD:
        if (argn == 0) { cand(c, word, "list"); cand(c, word, "load"); cand(c, word, "reload"); cand(c, word, "disable"); c->add_space = true; }
        else plugins(t, c, word);
        break;
    case CMP_FILE: files(c, word, NULL); break;
    case CMP_HEAT: cand(c, word, "prob"); cand(c, word, "entropy"); cand(c, word, "rank"); break;
    case CMP_VIEW: cand(c, word, "raw"); cand(c, word, "post"); break;
    case CMP_SESSION:
        if (argn == 0) { cand(c, word, "new"); cand(c, word, "open"); cand(c, word, "rename"); cand(c, word, "delete"); c->add_space = true; }
        else if (argn == 1) {
            char verb[16];
            if (sscanf(line + e, " %15s", verb) == 1 && (!strcmp(verb, "open") || !strcmp(verb, "delete")))
                session_ids(t, c, word);
        }
        break;
    default: break;
    }
}
