/* cmd_tui: the workbench subcommand (see cmd_tui.h): options into
 * tui_opts, the locale for wide characters, and tui_run. */
#include "cmd_tui.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "keys.h"
#include "modelpath.h"
#include "store.h"
#include "tui.h"

#define CMD "tui"

enum { O_MODEL, O_PROMPT, O_THREADS, O_CTX, O_COLORS, O_NO_MOUSE, O_NO_LUA, O_PLUGINS, O_WORKSPACE, O_KEYS };
static const cli_opt opts[] = {
    { "model", 'm', "MODEL", "model file (path or name; default: the reopened session's, else $LOGITLAB_MODEL, "
      MPATH_DEFAULT_MODEL ")" },
    { "prompt", 'p', "TEXT", "the prompt to start with" },
    { "threads", 't', "N", "threads (default: all cores)" },
    { "ctx-size", 'c', "N", "KV cells shared by all branches (default: the model's context, at most 4096)" },
    { "colors", 0, "N", "256, 8 or 0 (monochrome); default: what the terminal has (NO_COLOR means 0)" },
    { "no-mouse", 0, NULL, "do not capture the mouse (leaves the terminal's own selection)" },
    { "no-lua", 0, NULL, "no Lua host: no console, no plugins" },
    { "plugins", 0, "DIR", "plugin folder (default: plugins/ here and beside the program); several separated by ':'; ~/ is $HOME" },
    { "workspace", 'w', "DIR", "the workspace (default " STORE_DEFAULT_DIR "): sessions are saved there as you go; "
      "also lab.fs's folder and lab.store's database" },
    { "keys", 0, NULL, "print every key binding as Markdown and exit" },
};
static const cli_spec spec = {
    CMD, "[-w DIR] [-m MODEL] [-p TEXT] [options]",
    "The interactive workbench: step, branch and rewind generation, inspect every token's\n"
    "distribution, and script it with Lua. Everything is saved in the workspace as you go, and\n"
    "the last session reopens. Press ? inside for the keys; docs/tui.md has a walkthrough.",
    opts, (int)(sizeof opts / sizeof opts[0]), 0, 0,
};

int cmd_tui(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc) return rc == CLI_HELP ? CLI_OK : rc;
    if (a.val[O_KEYS]) { keys_print_markdown(stdout); return CLI_OK; }
    long threads = 0, n_ctx = 0, colors = -1;
    if ((rc = cli_int(CMD, "--threads", a.val[O_THREADS], 0, 1024, &threads))) return rc;
    if ((rc = cli_int(CMD, "--ctx-size", a.val[O_CTX], 0, 1L << 24, &n_ctx))) return rc;
    if ((rc = cli_int(CMD, "--colors", a.val[O_COLORS], 0, 256, &colors))) return rc;
    if (a.val[O_COLORS] && colors != 0 && colors != 8 && colors != 256)
        return cli_usage_error(CMD, "--colors must be 0, 8 or 256, got %ld", colors);
    static char dirs_buf[4096], home_buf[32][4096];
    static const char *dirs[33];
    const char *const *plugin_dirs = NULL;
    if (a.val[O_PLUGINS]) {                       /* "a:b" -> {"a", "b", NULL} */
        snprintf(dirs_buf, sizeof dirs_buf, "%s", a.val[O_PLUGINS]);
        int n = 0;
        for (char *save = NULL, *d = strtok_r(dirs_buf, ":", &save); d && n < 32; d = strtok_r(NULL, ":", &save)) {
            /* "~/x" after a ':' is not expanded by the shell (docs/tui.md's "plugins:~/my-plugins") */
            const char *home = getenv("HOME");
            if (d[0] == '~' && (d[1] == '/' || !d[1]) && home && *home) {
                snprintf(home_buf[n], sizeof home_buf[n], "%s%s", home, d + 1);
                d = home_buf[n];
            }
            /* a folder named on the command line that is not there is a
             * mistake to say (the default folders may be absent) */
            struct stat st;
            if (stat(d, &st) != 0) return cli_fail(CMD, "--plugins: %s: %s", d, strerror(errno));
            if (!S_ISDIR(st.st_mode)) return cli_fail(CMD, "--plugins: %s: not a folder", d);
            dirs[n++] = d;
        }
        dirs[n] = NULL;
        plugin_dirs = dirs;
    }
    setlocale(LC_ALL, "");
    tui_opts o = {
        a.val[O_MODEL], a.val[O_PROMPT], (int)threads, (int)n_ctx, (int)colors, !a.val[O_NO_MOUSE],
        !a.val[O_NO_LUA], plugin_dirs, a.val[O_WORKSPACE], NULL,
    };
    char err[1024] = "";
    if (tui_run(&o, err, sizeof err)) return cli_fail(CMD, "%s", err);
    return CLI_OK;
}
