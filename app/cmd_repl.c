/* cmd_repl: `logitlab repl [options]`: reads Lua chunks from stdin and
 * evaluates them in one scripts state (globals persist), printing results.
 * An unfinished chunk (an open `function`, a string) continues on the next
 * line. Prompts are shown only when stdin is a terminal, so the REPL can
 * also be fed a file. Ctrl-C interrupts the running chunk (lhost_interrupt:
 * the engine job it awaits is cancelled too) or drops the line being typed;
 * Ctrl-D ends. The workspace is set up as
 * for `run` (cmd_run_host); runs begun at the prompt and not ended end "ok"
 * when the REPL ends.
 */
#include "cmd_repl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_run.h"
#include "lhost.h"
#include "store.h"

#define CMD "repl"

static const cli_opt opts[] = { CMD_RUN_OPTS };
static const cli_spec spec = {
    CMD, "[options]",
    "An interactive Lua prompt with the lab API loaded (docs/lua-api.md).\n"
    "Expressions print their values; `lab.inspect` shows tables.\n"
    "lab.store records into the workspace (-w DIR, default " STORE_DEFAULT_DIR ").",
    opts, (int)(sizeof opts / sizeof opts[0]), 0, 0,
};

static lhost *volatile g_host;

static void on_sigint(int sig) {
    (void)sig;
    if (g_host) lhost_interrupt(g_host);
}

/* One line of any length into *buf (without the newline); -1 at EOF, -2
 * when interrupted. */
static long read_line(char **buf, size_t *cap) {
    size_t n = 0;
    for (;;) {
        if (n + 2 > *cap) {
            size_t c = *cap ? *cap * 2 : 256;
            char *b = realloc(*buf, c);
            if (!b) return -1;
            *buf = b;
            *cap = c;
        }
        errno = 0;
        int ch = getchar();
        if (ch == EOF) {
            if (ferror(stdin) && errno == EINTR) { clearerr(stdin); return -2; }
            if (n == 0) return -1;
            break;
        }
        if (ch == '\n') break;
        (*buf)[n++] = (char)ch;
    }
    (*buf)[n] = 0;
    return (long)n;
}

int cmd_repl(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc == CLI_HELP) return CLI_OK;
    if (rc) return rc;
    lhost *h;
    if ((rc = cmd_run_host(CMD, &a, false, &h)) != CLI_OK) return rc;
    bool tty = isatty(0);
    g_host = h;
    struct sigaction old;               /* a read ends with EINTR; an inherited SIG_IGN is kept */
    bool caught = cli_sigint_catch(on_sigint, &old);
    if (tty) printf("logitlab %s, Lua with the lab API (api_level %s). Ctrl-D quits.\n", CLI_VERSION, "1");
    char *line = NULL, *chunk = NULL;
    size_t cap = 0, clen = 0;
    static char err[65536];
    for (;;) {
        if (tty) { fputs(clen ? ">> " : "> ", stdout); fflush(stdout); }
        long n = read_line(&line, &cap);
        if (n == -2) { clen = 0; if (tty) putchar('\n'); continue; }
        if (n < 0) break;
        char *c = realloc(chunk, clen + (size_t)n + 2);
        if (!c) break;
        chunk = c;
        if (clen) chunk[clen++] = '\n';
        memcpy(chunk + clen, line, (size_t)n);
        clen += (size_t)n;
        chunk[clen] = 0;
        rc = lhost_eval(h, chunk, true, err, sizeof err);
        if (rc == LHOST_EINCOMPLETE) continue;
        clen = 0;
        fflush(stdout);
    }
    if (tty) putchar('\n');
    cli_sigint_restore(caught, &old);
    g_host = NULL;
    free(line);
    free(chunk);
    lhost_destroy(h);
    return CLI_OK;
}
