/* cmd_runs: `logitlab runs -w DIR [--plugin NAME] [--limit N]` lists the
 * runs of a workspace, newest first: id, plugin, status, start (local
 * time), duration (so far, while running) and the latest value of each
 * metric (the first few by name). Opens the workspace read-only, so it
 * works beside a running workbench.
 */
#include "cmd_runs.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "store.h"

#define SHOW_METRICS 4
#define PLUGIN_WIDTH 24

enum { O_WORKSPACE, O_PLUGIN, O_LIMIT };
static const cli_opt opts[] = {
    { "workspace", 'w', "DIR", "the workspace folder (default " STORE_DEFAULT_DIR ")" },
    { "plugin", 0, "NAME", "only the runs of this plugin" },
    { "limit", 'n', "N", "at most N runs (default: all)" },
};
static const cli_spec spec = {
    "runs", "[-w DIR] [--plugin NAME] [-n N]",
    "Lists the runs of a workspace, newest first: id, plugin, status, start, duration\n"
    "and the latest value of the first " "4" " metrics by name. `logitlab export` writes them all.",
    opts, (int)(sizeof opts / sizeof opts[0]), 0, 0,
};

static void fmt_duration(double sec, char *buf, size_t cap) {
    if (sec < 0) sec = 0;
    if (sec < 60) snprintf(buf, cap, "%.1fs", sec);
    else if (sec < 3600) snprintf(buf, cap, "%dm%02ds", (int)(sec / 60), (int)fmod(sec, 60));
    else snprintf(buf, cap, "%dh%02dm", (int)(sec / 3600), (int)fmod(sec / 60, 60));
}

static void print_metrics(store *s, int64_t run) {
    store_metric *m;
    int64_t n;
    char err[256];
    if (store_metric_last(s, run, &m, &n, err, sizeof err)) { fputs("?", stdout); return; }
    for (int64_t i = 0; i < n && i < SHOW_METRICS; i++) {
        if (i) putchar(' ');
        cli_put_escaped(stdout, m[i].name, strlen(m[i].name), 32);
        printf("=%.4g", m[i].value);
    }
    if (n > SHOW_METRICS) printf(" (+%lld more)", (long long)(n - SHOW_METRICS));
    store_free(m);
}

static void print_row(store *s, const store_run *r, double now) {
    char when[32] = "?", dur[32];
    time_t t = (time_t)r->started;
    struct tm tm;
    if (localtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    fmt_duration((r->ended > 0 ? r->ended : now) - r->started, dur, sizeof dur);
    printf("%6lld  ", (long long)r->id);
    size_t pl = strlen(r->plugin);
    cli_put_escaped(stdout, r->plugin, pl, PLUGIN_WIDTH);
    printf("%*s  %-11s  %s  %9s  ", pl < PLUGIN_WIDTH ? (int)(PLUGIN_WIDTH - pl) : 0, "", r->status, when, dur);
    print_metrics(s, r->id);
    putchar('\n');
}

int cmd_runs(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc) return rc == CLI_HELP ? CLI_OK : rc;
    long limit = -1;
    if ((rc = cli_int("runs", "--limit", a.val[O_LIMIT], 0, 0x7fffffffL, &limit))) return rc;
    const char *dir = a.val[O_WORKSPACE] ? a.val[O_WORKSPACE] : STORE_DEFAULT_DIR;
    store_opts o;
    store_opts_default(&o);
    o.flags = STORE_RDONLY;
    store *s;
    char err[1024];
    if (store_open(&s, dir, &o, err, sizeof err)) return cli_fail("runs", "%s", err);
    store_run *r;
    int64_t n;
    if (store_run_list(s, &r, &n, err, sizeof err)) {
        store_close(s);
        return cli_fail("runs", "%s", err);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double now = (double)ts.tv_sec + ts.tv_nsec * 1e-9;
    long shown = 0;
    for (int64_t i = 0; i < n && (limit < 0 || shown < limit); i++) {
        if (a.val[O_PLUGIN] && strcmp(a.val[O_PLUGIN], r[i].plugin) != 0) continue;
        if (shown++ == 0) printf("%6s  %-*s  %-11s  %-19s  %9s  %s\n", "id", PLUGIN_WIDTH, "plugin", "status", "started",
                                 "duration", "metrics (latest)");
        print_row(s, &r[i], now);
    }
    if (shown == 0) printf("no runs in %s\n", dir);
    store_free(r);
    store_close(s);
    return CLI_OK;
}
