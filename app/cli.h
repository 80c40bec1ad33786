/* cli: what every logitlab subcommand shares: the option parser, the exit
 * codes, messages on stderr, strict number parsing and output escaping.
 *
 * A command describes itself as data (cli_spec: usage, summary, option table,
 * positional count); cli_parse turns argv into cli_args, prints the command's
 * help for --help, and prints one-line usage errors for anything it does not
 * know. Nothing here exits: commands return their status to main().
 */
#ifndef CLI_H
#define CLI_H
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_VERSION "0.1.0"

/* Exit statuses of the program. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };
/* cli_parse returns this (not an exit status) when it printed --help. */
#define CLI_HELP (-1)

#define CLI_MAX_OPTS 32
#define CLI_MAX_POS 16

typedef struct cli_opt {
    const char *name;       /* long name without dashes ("json") */
    char short_name;        /* 'm', or 0 for none */
    const char *arg;        /* metavariable when it takes a value ("PATH"), else NULL */
    const char *help;
} cli_opt;

typedef struct cli_spec {
    const char *cmd;        /* "tokenize" */
    const char *usage;      /* after "logitlab CMD ": "-m MODEL [options] TEXT" */
    const char *about;      /* a paragraph printed under the usage by --help */
    const cli_opt *opts;
    int n_opts;             /* at most CLI_MAX_OPTS */
    int min_pos, max_pos;   /* accepted positional count */
} cli_spec;

typedef struct cli_args {
    const char *val[CLI_MAX_OPTS]; /* by option index: the value, "" for a flag, NULL if absent */
    const char *pos[CLI_MAX_POS];  /* positionals in order */
    int npos;
} cli_args;

/* Parses argv[1..argc) (argv[0] is the command name). Accepts -x VAL, -xVAL,
 * --name VAL, --name=VAL, flags, "--" (everything after is positional) and
 * "-" as a positional. An option given twice keeps the last value. Returns
 * CLI_OK, CLI_HELP after printing help to stdout, or CLI_USAGE after printing
 * a one-line error and a hint to stderr. */
int cli_parse(const cli_spec *s, int argc, char **argv, cli_args *out);
void cli_help(const cli_spec *s, FILE *f);

/* "logitlab CMD: message\n" on stderr; returns CLI_FAIL / CLI_USAGE so that a
 * command can `return cli_fail(...)`. The usage form adds the --help hint. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Strict integer option: the whole string must be a decimal integer within
 * [lo, hi]. On failure prints a usage error naming the option and returns
 * CLI_USAGE; an absent option (s == NULL) leaves *out untouched. */
int cli_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
/* Strict unsigned 64-bit option (seeds). */
int cli_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);
/* Comma-separated list of integers in [lo, hi] ("1,8"); at most cap of them. */
int cli_int_list(const char *cmd, const char *opt, const char *s, long lo, long hi,
                 long *out, int cap, int *n);

/* Writes s[n] for a human: printable UTF-8 as is, \n \t \r \\ escaped, other
 * control characters and bytes that are not valid UTF-8 as \xNN. Stops after
 * max_bytes input bytes (0 = no limit) and appends "..." when it did. */
void cli_put_escaped(FILE *f, const char *s, size_t n, size_t max_bytes);
/* Writes s[n] as a JSON string literal (invalid UTF-8 becomes U+FFFD). */
void cli_put_json_str(FILE *f, const char *s, size_t n);
/* A number for JSON (and people): the shortest %g form that reads back as
 * the same float (digits 9) or double (digits 17); null for NaN/Inf. */
void cli_put_json_num(FILE *f, double v, int digits);

/* Reads a whole file ("-" = stdin) into a new NUL-terminated buffer the
 * caller frees; a folder or a device (/dev/zero) is refused before a byte is
 * read, a pipe is read up to CLI_MAX_TEXT bytes. NULL on failure with err
 * set ("PATH: what is wrong"). */
#define CLI_MAX_TEXT ((size_t)1 << 30)
char *cli_read_file(const char *path, size_t *len, char *err, size_t errlen);

/* "1.13 MiB" style size into buf; returns buf. */
const char *cli_fmt_bytes(uint64_t n, char *buf, size_t cap);

/* Monotonic clock in seconds. */
double cli_now(void);

/* Ctrl-C for a command that stops its work on it (run, repl, train):
 * installs fn for SIGINT without SA_RESTART (a blocked read or poll ends
 * with EINTR) and keeps the previous action in *old. An inherited SIG_IGN is
 * kept and fn not installed: a non-interactive shell starts its background
 * jobs with SIGINT ignored (POSIX XCU 2.11, "Signals and Error Handling"),
 * as nohup-style launchers do, so that the Ctrl-C meant for the foreground
 * does not stop them. Returns whether fn was installed; cli_sigint_restore
 * puts *old back only then. */
bool cli_sigint_catch(void (*fn)(int), struct sigaction *old);
void cli_sigint_restore(bool caught, const struct sigaction *old);
#endif
