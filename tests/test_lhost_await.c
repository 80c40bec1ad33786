/* Ctrl-C while a plugin's task awaits engine work (lhost_interrupt_waiting,
 * which the workbench calls for every Ctrl-C): no Lua is on the CPU for
 * lhost_interrupt to stop, and a :tree search on a big model spends nearly
 * all its time so; it ran on. Now the task's lab.await raises "plugin NAME:
 * interrupted", its pcall ends the work, the queued job is cancelled and
 * the plugin stays; nothing that starts later sees a stale Ctrl-C.
 * Deterministic: the worker is held (lwork_hold, as a tick pass holds it),
 * so the awaited job is still queued when Ctrl-C comes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "lhost_impl.h"
#include "lhost_rec.h"

/* `search MODEL` evaluates three tokens and awaits the job inside a pcall,
 * as :tree does; `bare MODEL` awaits with no pcall; `count` runs 200000
 * loop turns (200 hook counts) without awaiting. The status item is what
 * happened: running, finished, caught: ERR, counted; `later` sleeps (asleep),
 * then counts (counted later). */
static const char *PLUGIN =
    "local S = { state = 'idle', job = '' }\n"
    "local function work(path)\n"
    "  local m = assert(lab.model.open(path, { n_ctx = 64 }))\n"
    "  local s = m:seq({ 1, 2, 3 })\n"
    "  local j = s:submit()\n"
    "  S.j = j\n"
    "  local logits = lab.await(j)\n"
    "  S.state = 'finished ' .. tostring(logits ~= nil)\n"
    "end\n"
    "return { name = 'p2', api_level = 1, description = 'awaits the engine',\n"
    "  on_load = function()\n"
    "    lab.ui.command_add('search', 'awaits an eval', function(path)\n"
    "      S.state = 'running'\n"
    "      local ok, e = pcall(work, path)\n"
    "      if not ok then S.state = 'caught: ' .. tostring(e) end\n"
    "      S.job = tostring(S.j)\n"
    "    end)\n"
    "    lab.ui.command_add('bare', 'awaits, no pcall', function(path) S.state = 'running'; work(path) end)\n"
    "    lab.ui.command_add('count', 'no await', function()\n"
    "      local n = 0\n"
    "      for i = 1, 200000 do n = n + i end\n"
    "      S.state = 'counted'\n"
    "    end)\n"
    "    lab.ui.command_add('later', 'sleeps, then counts', function()\n"
    "      S.state = 'asleep'; lab.sleep(0.01)\n"
    "      local n = 0\n"
    "      for i = 1, 200000 do n = n + i end\n"
    "      S.state = 'counted later'\n"
    "    end)\n"
    "    lab.ui.status_add('st', function() return S.state .. '|' .. S.job end)\n"
    "  end }\n";

static const char *status(lhost *h, int st) {
    static char buf[256];
    if (lhost_status_get(h, st, buf, sizeof buf) != LHOST_OK) snprintf(buf, sizeof buf, "(no status)");
    return buf;
}

/* Ticks until the status is not "running|..." any more (at most ~10 s). */
static void settle(lhost *h, int st) {
    for (int i = 0; i < 1000 && strncmp(status(h, st), "running", 7) == 0; i++) lhost_tick(h, 10);
}

int main(void) {
    char model[512];
    check_path(model, sizeof model, "models/stories260K.gguf");
    if (access(model, R_OK) != 0) {
        printf("SKIP: no %s\n# passed 0 failed 0\n", model);
        return 0;
    }
    char dir[] = "/tmp/logitlab-lhost-await-XXXXXX";
    if (!mkdtemp(dir)) { printf("# passed 0 failed 1\n"); return 1; }
    char pdir[256], ppath[320];
    snprintf(pdir, sizeof pdir, "%s/plugins", dir);
    snprintf(ppath, sizeof ppath, "%s/p2.lua", pdir);
    CHECK(mkdir(pdir, 0755) == 0, "mkdir");
    FILE *f = fopen(ppath, "w");
    if (f) { fputs(PLUGIN, f); fclose(f); }

    rec r;
    lhost_ui ui = rec_ui(&r);
    lhost_opts o;
    lhost_opts_default(&o);
    o.workspace = dir;
    o.budget_s = 30;
    o.ui = &ui;
    lhost *h;
    char err[4096];
    CHECK(lhost_create(&h, &o, err, sizeof err) == LHOST_OK, "create: %s", err);
    CHECK(lhost_plugin_load_all(h) == 1, "the plugin loads: %s", r.out);
    int search = rec_find(&r, 1, "search"), bare = rec_find(&r, 1, "bare"), count = rec_find(&r, 1, "count");
    int later = rec_find(&r, 1, "later");
    int st = rec_find(&r, 4, "st");
    CHECK(search > 0 && bare > 0 && count > 0 && later > 0 && st > 0, "hooks");

    /* nothing waits: Ctrl-C wakes nobody */
    CHECK(lhost_interrupt_waiting(h) == 0, "no task, none woken");

    /* the search awaits its job, which the held worker keeps queued */
    lwork_hold(h->work);
    CHECK(lhost_command_run(h, search, model, err, sizeof err) == LHOST_OK, "search: %s", err);
    lhost_tick(h, 0);
    CHECK(strcmp(status(h, st), "running|") == 0, "the search awaits the engine: %s", status(h, st));
    CHECK(lhost_interrupt_waiting(h) == 1, "Ctrl-C wakes the one waiting task");
    lhost_tick(h, 0);
    CHECK(strcmp(status(h, st), "caught: plugin p2: interrupted|Job(eval, done)") == 0,
          "its lab.await raised the catchable error, its pcall ended the work, the job is cancelled: %s",
          status(h, st));
    lwork_release(h->work);
    lhost_plugin_info in;
    CHECK(lhost_plugin_get(h, 0, &in) == LHOST_OK && in.enabled, "the plugin stays: %s",
          in.error ? in.error : "(none)");
    CHECK(!strstr(r.out, "E:"), "no console error (the plugin caught it): %s", r.out);

    /* no stale Ctrl-C: the next search runs to its end */
    CHECK(lhost_interrupt_waiting(h) == 0, "nothing waits now");
    CHECK(lhost_command_run(h, search, model, err, sizeof err) == LHOST_OK, "search again: %s", err);
    settle(h, st);
    CHECK(strcmp(status(h, st), "finished true|Job(eval, done)") == 0, "a later search finishes: %s", status(h, st));

    /* uncaught: one console line, the plugin stays */
    lwork_hold(h->work);
    CHECK(lhost_command_run(h, bare, model, err, sizeof err) == LHOST_OK, "bare: %s", err);
    lhost_tick(h, 0);
    CHECK(lhost_interrupt_waiting(h) == 1, "Ctrl-C wakes it");
    lhost_tick(h, 0);
    lwork_release(h->work);
    CHECK(strstr(r.out, "E:") && strstr(r.out, "plugin p2: interrupted") && !strstr(r.out, "disabled"),
          "uncaught: the console says so: %s", r.out);
    CHECK(lhost_plugin_get(h, 0, &in) == LHOST_OK && in.enabled, "and the plugin stays: %s",
          in.error ? in.error : "(none)");

    /* a Ctrl-C that no Lua took (lhost_interrupt between two entries) does
     * not stop a command run later */
    lhost_interrupt(h);
    CHECK(lhost_command_run(h, count, "", err, sizeof err) == LHOST_OK, "count: %s", err);
    CHECK(strncmp(status(h, st), "counted", 7) == 0, "a stale Ctrl-C does not stop a later command: %s",
          status(h, st));

    /* nor a task that a later tick resumes (lhost_enter drops it there: the
     * tick's own clear was redundant and is gone) */
    r.out[0] = 0;
    CHECK(lhost_command_run(h, later, "", err, sizeof err) == LHOST_OK, "later: %s", err);
    CHECK(strncmp(status(h, st), "asleep", 6) == 0, "the task sleeps: %s", status(h, st));
    lhost_interrupt(h);
    for (int i = 0; i < 1000 && strncmp(status(h, st), "asleep", 6) == 0; i++) lhost_tick(h, 10);
    CHECK(strncmp(status(h, st), "counted later", 13) == 0 && !strstr(r.out, "E:"),
          "a stale Ctrl-C does not stop a task resumed later: %s %s", status(h, st), r.out);

    lhost_destroy(h);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
    return check_done();
}
