/* The host's C contract (lua/lhost.h) as the TUI uses it: a UI adapter that
 * records what plugins register, commands / keys / panes / status items
 * called by id, tick and the wake fd, the REPL's incomplete chunks, plugin
 * listing, and lhost_interrupt from another thread: in a plugin's short
 * entry one catchable error (the plugin stays), in a runaway one (past
 * LHOST_RUNAWAY_S) a stop pcall cannot swallow, which disables it, while
 * the host goes on.
 */
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "lhost.h"
#include "lhost_rec.h"

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) { fputs(text, f); fclose(f); }
}

static const char *PLUGIN =
    "local n, pid = 0\n"
    "return { name = 'p1', api_level = 1, description = 'test plugin',\n"
    "  on_load = function()\n"
    "    lab.ui.command_add('inc', 'add', function(a) n = n + (tonumber(a) or 1); lab.ui.redraw() end)\n"
    "    lab.ui.key_add('C-k', 'add 10', function() n = n + 10 end)\n"
    "    pid = lab.ui.pane_add('pane', { on_draw = function(w, h) return 'n=' .. n .. '\\nw=' .. w end,\n"
    "      on_key = function(k) if k == 'x' then return 'redraw' end return k == 'y' end })\n"
    "    lab.ui.status_add('st', function() return 'n:' .. n end)\n"
    "    lab.ui.command_add('spin', 'never returns', function() while true do end end)\n"
    "    lab.ui.command_add('careful', 'cleans up', function()\n"
    "      local ok, e = pcall(function() while true do end end); n = -1; why = e end)\n"
    "    lab.ui.command_add('stubborn', 'swallows errors', function()\n"
    "      while true do pcall(function() while true do end end) end end)\n"
    "    lab.ui.command_add('wait', 'sleep then add', function() lab.sleep(0.02); n = n + 1000 end)\n"
    "    lab.ui.command_add('hint', 'where the pane is', function()\n"
    "      print('hint ' .. tostring(lab.ui.pane_hint(pid)) .. ' / ' .. tostring(lab.ui.pane_number(pid))) end)\n"
    "  end }\n";

/* Ctrl-C from another thread: after ms, and again after ms2 more (0: once). */
typedef struct killer { lhost *h; int ms, ms2; } killer;

static void nap(int ms) {
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void *kill_later(void *arg) {
    killer *k = arg;
    nap(k->ms);
    lhost_interrupt(k->h);
    if (k->ms2) {
        nap(k->ms2);
        lhost_interrupt(k->h);
    }
    return NULL;
}

int main(void) {
    char dir[] = "/tmp/logitlab-lhost-XXXXXX";
    if (!mkdtemp(dir)) { printf("# passed 0 failed 1\n"); return 1; }
    char pdir[256], ppath[320];
    snprintf(pdir, sizeof pdir, "%s/plugins", dir);
    snprintf(ppath, sizeof ppath, "%s/p1.lua", pdir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", pdir);
    CHECK(system(cmd) == 0, "mkdir");
    write_file(ppath, PLUGIN);

    rec r;
    lhost_ui ui = rec_ui(&r);
    lhost_opts o;
    lhost_opts_default(&o);
    o.workspace = dir;                  /* its plugins/ folder holds p1 */
    o.budget_s = 30;                    /* long: the spin is stopped by lhost_interrupt */
    o.ui = &ui;
    lhost *h;
    char err[4096];
    CHECK(lhost_create(&h, &o, err, sizeof err) == LHOST_OK, "create: %s", err);

    CHECK(lhost_plugin_load_all(h) == 1, "one plugin loaded; console: %s", r.out);
    CHECK(lhost_plugin_count(h) == 1, "count");
    lhost_plugin_info in;
    CHECK(lhost_plugin_get(h, 0, &in) == LHOST_OK && strcmp(in.name, "p1") == 0 && in.enabled &&
          strcmp(in.description, "test plugin") == 0 && in.api_level == 1 && in.mem_used > 0, "info");
    CHECK(lhost_plugin_get(h, 1, &in) == LHOST_EINVAL, "past the end");

    int inc = rec_find(&r, 1, "inc"), key = rec_find(&r, 2, "C-k"), pane = rec_find(&r, 3, "pane"),
        st = rec_find(&r, 4, "st");
    CHECK(inc > 0 && key > 0 && pane > 0 && st > 0, "hooks registered through the adapter");
    CHECK(lhost_command_find(h, "inc") == inc, "find by name");
    CHECK(lhost_command_find(h, "nope") == LHOST_ENOENT, "unknown name");

    char buf[64];
    CHECK(lhost_command_run(h, inc, "5", err, sizeof err) == LHOST_OK, "run: %s", err);
    CHECK(r.redraws == 1, "lab.ui.redraw reached the adapter");
    CHECK(lhost_key_run(h, key, err, sizeof err) == LHOST_OK, "key");
    CHECK(lhost_status_get(h, st, buf, sizeof buf) == LHOST_OK && strcmp(buf, "n:15") == 0, "status: %s", buf);
    const lhost_line *lines;
    int nl;
    CHECK(lhost_pane_draw(h, pane, 33, 5, &lines, &nl, err, sizeof err) == LHOST_OK, "draw: %s", err);
    CHECK(nl == 2 && lines[0].len == 4 && memcmp(lines[0].text, "n=15", 4) == 0 &&
          memcmp(lines[1].text, "w=33", 4) == 0, "pane lines");
    CHECK(lhost_pane_key(h, pane, "x", err, sizeof err) == (LHOST_KEY_HANDLED | LHOST_KEY_REDRAW), "redraw flag");
    CHECK(lhost_pane_key(h, pane, "y", err, sizeof err) == LHOST_KEY_HANDLED, "handled");
    CHECK(lhost_pane_key(h, pane, "z", err, sizeof err) == LHOST_KEY_IGNORED, "ignored");
    CHECK(lhost_pane_key(h, pane, "NotAKey", err, sizeof err) == LHOST_EINVAL, "bad key name");
    CHECK(lhost_command_run(h, 9999, "", err, sizeof err) == LHOST_EINVAL, "unknown id");
    CHECK(lhost_key_valid("C-x") && lhost_key_valid("F12") && lhost_key_valid("PageDown") &&
          lhost_key_valid("j") && !lhost_key_valid("F13") && !lhost_key_valid("C-") && !lhost_key_valid(""),
          "key names");

    /* where a plugin's pane is, as the UI numbers it (lab.ui.pane_hint): a
     * digit for 1-9, :pane N past 9, nothing before it is placed */
    int hint = rec_find(&r, 1, "hint");
    r.pane_no = 3;
    CHECK(lhost_command_run(h, hint, "", err, sizeof err) == LHOST_OK && strstr(r.out, "hint pane pane 3, press 3 / 3\n"),
          "pane_hint 3: %s", r.out);
    r.pane_no = 12;
    CHECK(lhost_command_run(h, hint, "", err, sizeof err) == LHOST_OK && strstr(r.out, "hint pane pane 12, :pane 12 / 12\n"),
          "pane_hint 12: %s", r.out);
    r.pane_no = 0;
    CHECK(lhost_command_run(h, hint, "", err, sizeof err) == LHOST_OK && strstr(r.out, "hint nil / nil\n"),
          "pane_hint unplaced: %s", r.out);

    /* a handler that sleeps: the tick loop finishes it */
    CHECK(lhost_command_run(h, rec_find(&r, 1, "wait"), "", err, sizeof err) == LHOST_OK, "wait");
    CHECK(lhost_next_ms(h) > 0 && lhost_next_ms(h) <= 20, "next_ms bounds the sleep");
    CHECK(lhost_wake_fd(h) >= 0, "wake fd");
    for (int i = 0; i < 200 && lhost_tick(h, 10) > 0; i++) {}
    CHECK(lhost_status_get(h, st, buf, sizeof buf) == LHOST_OK && strcmp(buf, "n:1015") == 0, "after sleep: %s", buf);
    CHECK(lhost_tick(h, 0) == 0 && lhost_next_ms(h) == -1, "idle");

    /* Ctrl-C in a short entry (here after 0.1 s, under LHOST_RUNAWAY_S) is
     * one error: it ends the command; the plugin and its hooks stay */
    pthread_t th;
    killer k = { h, 100, 0 };
    r.out[0] = 0;
    pthread_create(&th, NULL, kill_later, &k);
    CHECK(lhost_command_run(h, rec_find(&r, 1, "spin"), "", err, sizeof err) == LHOST_OK, "spin ran (and was stopped)");
    pthread_join(th, NULL);
    CHECK(lhost_plugin_get(h, 0, &in) == LHOST_OK && in.enabled, "Ctrl-C does not disable the plugin: %s",
          in.error ? in.error : "(none)");
    CHECK(strstr(r.out, "E:plugin p1: interrupted") && !strstr(r.out, "failed and is disabled"),
          "the console says the command was interrupted: %s", r.out);
    CHECK(lhost_status_get(h, st, buf, sizeof buf) == LHOST_OK && strcmp(buf, "n:1015") == 0, "its hooks stay: %s", buf);
    /* ... and pcall catches it, so the plugin can clean up */
    pthread_create(&th, NULL, kill_later, &k);
    CHECK(lhost_command_run(h, rec_find(&r, 1, "careful"), "", err, sizeof err) == LHOST_OK, "careful ran");
    pthread_join(th, NULL);
    CHECK(lhost_status_get(h, st, buf, sizeof buf) == LHOST_OK && strcmp(buf, "n:-1") == 0,
          "the command's pcall caught Ctrl-C and went on: %s", buf);
    CHECK(lhost_eval(h, "1", true, err, sizeof err) == LHOST_OK, "the REPL runs after it: %s", err);

    /* a runaway that swallows errors: the first Ctrl-C (0.1 s) is caught;
     * the second, 1.2 s into the entry, stops it for good and disables it */
    killer k2 = { h, 100, 1100 };
    pthread_create(&th, NULL, kill_later, &k2);
    CHECK(lhost_command_run(h, rec_find(&r, 1, "stubborn"), "", err, sizeof err) == LHOST_OK,
          "stubborn ran (and was stopped)");
    pthread_join(th, NULL);
    CHECK(lhost_plugin_get(h, 0, &in) == LHOST_OK && !in.enabled && in.error && strstr(in.error, "interrupted"),
          "the plugin is disabled: %s", in.error ? in.error : "(none)");
    CHECK(strstr(r.out, "E:plugin p1 failed and is disabled") != NULL, "reported on the console: %s", r.out);
    CHECK(r.deleted == 9, "every hook of the plugin was deleted (%d)", r.deleted);
    CHECK(lhost_status_get(h, st, buf, sizeof buf) == LHOST_EINVAL, "its hooks are gone");

    /* the host goes on: the REPL path */
    r.out[0] = 0;
    CHECK(lhost_eval(h, "1 + 41", true, err, sizeof err) == LHOST_OK, "eval");
    CHECK(lhost_eval(h, "assert(lab.ui.loom_open('Once upon') == true)", true, err, sizeof err) == LHOST_OK &&
          strcmp(r.loom, "Once upon") == 0, "lab.ui.loom_open reached the adapter: %s [%s]", err, r.loom);
    CHECK(lhost_eval(h, "local ok, e = lab.ui.loom_open(string.rep('x', 100)); assert(ok == nil and e == 'too long for the test')",
                     true, err, sizeof err) == LHOST_OK, "the adapter's error comes back: %s", err);
    CHECK(lhost_eval(h, "assert(lab.ui.loom_replay(7) == true)", true, err, sizeof err) == LHOST_OK && r.replay == 7 &&
          lhost_eval(h, "assert(lab.ui.loom_replay() == true)", true, err, sizeof err) == LHOST_OK && r.replay == -1,
          "lab.ui.loom_replay reached the adapter (an id, or -1 for the selected node): %s", err);
    CHECK(lhost_eval(h, "local ok, e = lab.ui.loom_replay(99); assert(ok == nil and e == 'no node #99')", true, err, sizeof err) == LHOST_OK &&
          lhost_eval(h, "assert(not pcall(lab.ui.loom_replay, -5))", true, err, sizeof err) == LHOST_OK,
          "its errors come back; a negative id is refused: %s", err);
    CHECK(lhost_eval(h, "local p = assert(lab.ui.loom_path()); assert(#p == 300 and p[1] == 1000 and p[300] == 1299)",
                     true, err, sizeof err) == LHOST_OK, "lab.ui.loom_path: the adapter's ids, all of them: %s", err);
    CHECK(lhost_eval(h, "lab.ui.loom_open('none'); local p, e = lab.ui.loom_path(); assert(p == nil and e:find('no path yet'))",
                     true, err, sizeof err) == LHOST_OK, "lab.ui.loom_path: the adapter's error: %s", err);
    CHECK(strstr(r.out, "42\n") != NULL, "result printed: %s", r.out);
    CHECK(lhost_eval(h, "function f(x)", true, err, sizeof err) == LHOST_EINCOMPLETE, "incomplete");
    CHECK(lhost_eval(h, "function f(x)\nreturn x * 2\nend", true, err, sizeof err) == LHOST_OK, "completed");
    r.out[0] = 0;
    CHECK(lhost_eval(h, "f(21)", true, err, sizeof err) == LHOST_OK && strstr(r.out, "42\n"), "globals persist");
    CHECK(lhost_eval(h, "error('bad')", true, err, sizeof err) == LHOST_ELUA, "error");
    CHECK(strstr(r.out, "E:") && strstr(r.out, "bad"), "error printed: %s", r.out);
    CHECK(lhost_eval(h, "x = ", true, err, sizeof err) == LHOST_EINCOMPLETE, "unfinished statement");
    CHECK(lhost_eval(h, "x = )", true, err, sizeof err) == LHOST_ELUA, "syntax error");

    /* reload after fixing the file; disable */
    CHECK(lhost_plugin_reload(h, "p1", err, sizeof err) == LHOST_OK, "reload: %s", err);
    CHECK(lhost_plugin_get(h, 0, &in) == LHOST_OK && in.enabled, "enabled again");
    CHECK(lhost_plugin_disable(h, "p1", err, sizeof err) == LHOST_OK, "disable");
    CHECK(lhost_plugin_disable(h, "zz", err, sizeof err) == LHOST_ENOENT, "unknown plugin");
    CHECK(lhost_plugin_load(h, "nope", err, sizeof err) == LHOST_ENOENT && strstr(err, "not found"), "%s", err);

    /* run_file without waiting, driven by tick */
    char spath[320];
    snprintf(spath, sizeof spath, "%s/s.lua", dir);
    write_file(spath, "lab.sleep(0.01)\nprint('script done', ...)\n");
    r.out[0] = 0;
    char *args[] = { "a1" };
    CHECK(lhost_run_file(h, spath, 1, args, false, err, sizeof err) == LHOST_OK, "start: %s", err);
    CHECK(strstr(r.out, "script done") == NULL, "not yet");
    for (int i = 0; i < 200 && lhost_tick(h, 10) > 0; i++) {}
    CHECK(strstr(r.out, "script done\ta1") != NULL, "finished by tick: %s", r.out);
    CHECK(lhost_drain(h) == LHOST_OK, "drain idle");

    lhost_destroy(h);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
    return check_done();
}
