/* main: the logitlab program. Dispatches `logitlab <command> [options]` to
 * the subcommands listed in one table (name, entry point, one-line help);
 * each subcommand is a module cmd_NAME.c whose entry point is cmd_NAME().
 *
 * Exit statuses: 0 success, 1 a runtime failure (an input file that cannot be
 * read or is not what the command wants: a grammar that does not compile, a
 * schema or training file with an error; a model that cannot be loaded), 2 a
 * usage error (unknown command or option, a bad number or value given on the
 * command line). Every error is one line on stderr.
 */
#include <errno.h>
#include <stdbool.h>
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_bench.h"
#include "cmd_convert.h"
#include "cmd_export.h"
#include "cmd_gen.h"
#include "cmd_info.h"
#include "cmd_ppl.h"
#include "cmd_quantize.h"
#include "cmd_runs.h"
#include "cmd_repl.h"
#include "cmd_run.h"
#include "cmd_synth.h"
#include "cmd_tokenize.h"
#include "cmd_train.h"
#include "cmd_tui.h"
#include "modelpath.h"
#include "ctx.h"
#include "tgemm.h"

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
    bool engine;      /* starts threads or contexts: a bad $LOGITLAB_PIN/_HUGEPAGES is refused first */
} command;

static const command commands[] = {
    { "info", cmd_info, "describe a GGUF file or llama2.c checkpoint (metadata, tensors, hyperparameters)", false },
    { "tokenize", cmd_tokenize, "text to token ids and pieces, with a model or a tokenizer file", false },
    { "bench", cmd_bench, "prefill and decode throughput (tokens/s)", true },
    { "synth", cmd_synth, "write a random-weight Llama GGUF of a real shape", true },
    { "train", cmd_train, "train a new Llama model on text or prompt/completion data (CPU)", true },
    { "finetune", cmd_finetune, "train an existing F32/F16/BF16 model further (CPU)", true },
    { "quantize", cmd_quantize, "convert the weights of a GGUF to another type", true },
    { "convert", cmd_convert, "write a llama2.c checkpoint and its tokenizer as a GGUF", false },
    { "gen", cmd_gen, "generate from a prompt through a sampler chain (text or --json per token)", true },
    { "ppl", cmd_ppl, "perplexity of a text file with a sliding window", true },
    { "runs", cmd_runs, "list the experiment runs of a workspace with their latest metrics", false },
    { "export", cmd_export, "write a workspace's runs, records and metrics as JSON Lines or CSV", false },
    { "tui", cmd_tui, "the interactive workbench (the default on a terminal): step, branch, inspect", true },
    { "run", cmd_run, "run a Lua script with the lab API, headless", true },
    { "repl", cmd_repl, "an interactive Lua prompt with the lab API", true },
};
#define N_COMMANDS ((int)(sizeof commands / sizeof commands[0]))

static void usage(FILE *f) {
    fprintf(f,
            "usage: logitlab <command> [options]\n"
            "       logitlab <command> --help\n"
            "\n"
            "A workbench for studying how Llama-family models decode.\n"
            "\n"
            "commands:\n");
    for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f,
            "\n"
            "options:\n"
            "  -h, --help     show this help\n"
            "  --version      print the version\n"
            "\n"
            "Models are given by path or by name, looked up in models/ and ../shared/models;\n"
            "the default is $LOGITLAB_MODEL, else " MPATH_DEFAULT_MODEL ".\n"
            "\n"
            "Exit status: 0 success; 1 a failure, a bad input file included (a model, text,\n"
            "grammar or schema that cannot be read or used); 2 a usage error (an unknown\n"
            "option, a bad value on the command line).\n");
}

/* A bad $LOGITLAB_PIN or $LOGITLAB_HUGEPAGES, said before the command opens
 * a model (ctx_create refuses it too, but a command would say it after the
 * model's path, as if the model were at fault). Exit status 1, as from
 * ctx_create. */
static int env_check(const char *name) {
    char err[300];
    if (ctx_env_check(err, sizeof err) == 0) return CLI_OK;
    return cli_fail(name, "%s", err);
}

static const command *find(const char *name) {
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

/* A crash (a bug) says where it happened before the process dies of its
 * signal as it would have (exit status 128 + N kept): one line naming the
 * signal, then the stack as backtrace_symbols_fd writes it ("logitlab(+0x1d2f3)":
 * `addr2line -f -e build/logitlab 0x1d2f3` names the function and line). An
 * intermittent segfault of a test under load is otherwise only an exit
 * status. Only async-signal-safe calls (backtrace was warmed up before, so
 * it does not load libgcc in the handler); on its own stack, so a stack
 * overflow is reported too (this one is the main thread's; the threads the
 * program starts get theirs from thread_create, core/thread.h). Not in ASAN builds: the sanitizer's report is
 * better. */
#if !defined(__SANITIZE_ADDRESS__) && !defined(FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION)
static void crash_handler(int sig) {
    static const char head[] = "logitlab: fatal signal ";
    char num[16];
    int n = 0;
    for (int v = sig; v > 0 && n < 15; v /= 10) num[n++] = (char)('0' + v % 10);
    ssize_t w = write(STDERR_FILENO, head, sizeof head - 1);
    while (n > 0) w = write(STDERR_FILENO, &num[--n], 1);
    static const char tail[] = " (a bug: please report it with this stack)\n";
    w = write(STDERR_FILENO, tail, sizeof tail - 1);
    (void)w;
    void *frames[64];
    int nf = backtrace(frames, 64);
    backtrace_symbols_fd(frames, nf, STDERR_FILENO);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void crash_report_install(void) {
    void *warm[1];
    backtrace(warm, 1);
    static char alt[64 * 1024];
    stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0 };
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = crash_handler;
    sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
}
#else
static void crash_report_install(void) {}
#endif

int main(int argc, char **argv) {
    crash_report_install();
    tgemm_blas_serial();   /* no OpenBLAS thread spinning beside a -t 1 run */
    if (argc < 2) { /* on a terminal, the workbench; in a pipe or a script, the usage */
        if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
            if (env_check("tui") != CLI_OK) return CLI_FAIL;
            char *tv[] = { "tui", NULL };
            return cmd_tui(1, tv);
        }
        usage(stdout);
        return CLI_OK;
    }
    const char *a = argv[1];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { usage(stdout); return CLI_OK; }
    if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
        printf("logitlab %s\n", CLI_VERSION);
        return CLI_OK;
    }
    if (strcmp(a, "help") == 0) { /* `logitlab help CMD` == `logitlab CMD --help` */
        if (argc < 3) { usage(stdout); return CLI_OK; }
        const command *c = find(argv[2]);
        if (!c) return cli_usage_error(NULL, "unknown command '%s'", argv[2]);
        char *hv[] = { argv[2], "--help", NULL };
        return c->fn(2, hv);
    }
    if (a[0] == '-') {              /* options without a command: the workbench's (`logitlab -m MODEL`) */
        if (env_check("tui") != CLI_OK) return CLI_FAIL;
        argv[0] = "tui";
        return cmd_tui(argc, argv);
    }
    const command *c = find(a);
    if (!c) return cli_usage_error(NULL, "unknown command '%s'", a);
    bool help = argc > 2 && !strcmp(argv[2], "-h");
    for (int i = 2; i < argc; i++) help |= !strcmp(argv[i], "--help");
    if (c->engine && !help && env_check(c->name) != CLI_OK) return CLI_FAIL;
    fflush(stdout);
    int rc = c->fn(argc - 1, argv + 1);
    /* ferror too: a command that flushed as it went (streaming tokens) met
     * the error then, and the last fflush finds nothing left to write */
    errno = 0;
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc == CLI_OK)
        rc = cli_fail(c->name, "cannot write the output%s%s", errno ? ": " : "", errno ? strerror(errno) : "");
    return rc;
}
