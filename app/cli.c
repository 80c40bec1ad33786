/* cli: option parsing, messages and output helpers shared by the subcommands.
 *
 * Invariants: nothing here exits or keeps state between calls; every error
 * message is one line on stderr prefixed with "logitlab CMD:", so scripts can
 * show it as is.
 */
#include "cli.h"

#include <assert.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "json.h"
#include "utf8.h"

static void vmsg(const char *cmd, const char *fmt, va_list ap) {
    fprintf(stderr, "logitlab%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_fail(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmsg(cmd, fmt, ap);
    va_end(ap);
    return CLI_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmsg(cmd, fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'logitlab %s%s--help' for more information.\n", cmd ? cmd : "", cmd ? " " : "");
    return CLI_USAGE;
}

/* An option's help after its 27-column name: words wrapped so that no line
 * passes 100 columns (as the commands' hand-wrapped descriptions), the
 * continuation lines under the first. */
static void put_wrapped(FILE *f, const char *h) {
    enum { INDENT = 27, WIDTH = 100 - INDENT };
    size_t n = strlen(h);
    while (n > WIDTH) {
        size_t cut = WIDTH;
        while (cut > 0 && h[cut] != ' ') cut--;
        if (cut == 0) break;                  /* one word longer than the line: as it is */
        fprintf(f, "%.*s\n%*s", (int)cut, h, INDENT, "");
        h += cut + 1;
        n -= cut + 1;
    }
    fprintf(f, "%s\n", h);
}

void cli_help(const cli_spec *s, FILE *f) {
    fprintf(f, "usage: logitlab %s %s\n", s->cmd, s->usage);
    if (s->about) fprintf(f, "\n%s\n", s->about);
    fprintf(f, "\noptions:\n");
    for (int i = 0; i < s->n_opts; i++) {
        const cli_opt *o = &s->opts[i];
        char left[64];
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name,
                     o->arg ? " " : "", o->arg ? o->arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        /* a name wider than the column gets a line of its own, its help below */
        if (strlen(left) > 24) fprintf(f, "  %s\n  %-24s ", left, "");
        else fprintf(f, "  %-24s ", left);
        put_wrapped(f, o->help);
    }
    fprintf(f, "  %-24s %s\n", "-h, --help", "show this help");
}

/* Index of the option named by a long name (len bytes) or a short letter. */
static int find_opt(const cli_spec *s, const char *lng, size_t len, char shrt) {
    for (int i = 0; i < s->n_opts; i++) {
        if (lng && strlen(s->opts[i].name) == len && memcmp(s->opts[i].name, lng, len) == 0) return i;
        if (!lng && shrt && s->opts[i].short_name == shrt) return i;
    }
    return -1;
}

/* One option argument at argv[*i]; may consume argv[*i + 1] as its value. */
static int parse_one(const cli_spec *s, int argc, char **argv, int *i, cli_args *out) {
    const char *a = argv[*i], *inl = NULL;
    int k;
    if (a[1] == '-') {
        const char *eq = strchr(a + 2, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        k = find_opt(s, a + 2, len, 0);
        if (eq) inl = eq + 1;
    } else {
        k = find_opt(s, NULL, 0, a[1]);
        if (a[2]) inl = a + 2;
    }
    if (k < 0) {
        if (a[1] != '-' && strchr("0123456789.", a[1]))
            return cli_usage_error(s->cmd, "unexpected negative number '%s'", a);
        if (a[1] != '-' && a[2]) /* -xyz: name the unknown letter, not the bundle */
            return cli_usage_error(s->cmd, "unknown option '-%c' in '%s'", a[1], a);
        return cli_usage_error(s->cmd, "unknown option '%s'", a);
    }
    const cli_opt *o = &s->opts[k];
    if (!o->arg) {
        if (inl) return cli_usage_error(s->cmd, "option '--%s' takes no value", o->name);
        out->val[k] = "";
        return CLI_OK;
    }
    if (!inl) {
        if (*i + 1 >= argc) return cli_usage_error(s->cmd, "option '%s' needs a value (%s)", a, o->arg);
        inl = argv[++*i];
    }
    out->val[k] = inl;
    return CLI_OK;
}

int cli_parse(const cli_spec *s, int argc, char **argv, cli_args *out) {
    assert(s->n_opts <= CLI_MAX_OPTS && "cli_parse: more options than cli_args holds (raise CLI_MAX_OPTS)");
    memset(out, 0, sizeof *out);
    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            cli_help(s, stdout);
            return CLI_HELP;
        }
        if (!only_pos && strcmp(a, "--") == 0) { only_pos = true; continue; }
        if (!only_pos && a[0] == '-' && a[1]) {
            int rc = parse_one(s, argc, argv, &i, out);
            if (rc) return rc;
            continue;
        }
        if (out->npos >= CLI_MAX_POS || out->npos >= s->max_pos)
            return cli_usage_error(s->cmd, "unexpected argument '%s'", a);
        out->pos[out->npos++] = a;
    }
    if (out->npos < s->min_pos)
        return cli_usage_error(s->cmd, "missing argument (usage: logitlab %s %s)", s->cmd, s->usage);
    return CLI_OK;
}

int cli_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out) {
    if (!s) return CLI_OK;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return cli_usage_error(cmd, "%s must be an integer from %ld to %ld, got '%s'", opt, lo, hi, s);
    *out = v;
    return CLI_OK;
}

int cli_u64(const char *cmd, const char *opt, const char *s, uint64_t *out) {
    if (!s) return CLI_OK;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (!*s || *end || errno || s[0] == '-')
        return cli_usage_error(cmd, "%s must be a non-negative integer, got '%s'", opt, s);
    *out = v;
    return CLI_OK;
}

int cli_int_list(const char *cmd, const char *opt, const char *s, long lo, long hi,
                 long *out, int cap, int *n) {
    if (!s) return CLI_OK;
    char buf[256];
    if (strlen(s) >= sizeof buf) return cli_usage_error(cmd, "%s: list too long", opt);
    strcpy(buf, s);
    if (!buf[0]) return cli_usage_error(cmd, "%s: empty list", opt);
    int k = 0;
    /* every item between commas is a value: "1,,2" or "8," is a typo to say,
     * not a list of two */
    for (char *p = buf, *next; p; p = next) {
        next = strchr(p, ',');
        if (next) *next++ = 0;
        if (!*p) return cli_usage_error(cmd, "%s: an empty item in '%s'", opt, s);
        if (k >= cap) return cli_usage_error(cmd, "%s: at most %d values", opt, cap);
        int rc = cli_int(cmd, opt, p, lo, hi, &out[k]);
        if (rc) return rc;
        k++;
    }
    *n = k;
    return CLI_OK;
}

void cli_put_escaped(FILE *f, const char *s, size_t n, size_t max_bytes) {
    size_t lim = max_bytes && n > max_bytes ? max_bytes : n;
    for (size_t i = 0; i < lim;) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        int l;
        if (c == '\n') { fputs("\\n", f); i++; }
        else if (c == '\t') { fputs("\\t", f); i++; }
        else if (c == '\r') { fputs("\\r", f); i++; }
        else if (c == '\\') { fputs("\\\\", f); i++; }
        else if (c < 0x20 || c == 0x7f) { fprintf(f, "\\x%02X", c); i++; }
        else if (c < 0x80) { fputc(c, f); i++; }
        else if ((l = utf8_decode(s + i, n - i, &cp)) > 0 && !(cp >= 0x80 && cp < 0xA0)) {
            fwrite(s + i, 1, (size_t)l, f);
            i += (size_t)l;
        } else { fprintf(f, "\\x%02X", c); i++; } /* a lone byte (partial character) or C1 control */
    }
    if (lim < n) fputs("...", f);
}

void cli_put_json_str(FILE *f, const char *s, size_t n) {
    char small[512];
    size_t need = json_escape(s, n, NULL, 0);
    char *buf = need < sizeof small ? small : malloc(need + 1);
    if (!buf) { fputs("\"\"", f); return; }
    json_escape(s, n, buf, need + 1);
    fwrite(buf, 1, need, f);
    if (buf != small) free(buf);
}

void cli_put_json_num(FILE *f, double v, int digits) {
    if (isnan(v) || isinf(v)) { fputs("null", f); return; }
    /* the shortest form that reads back as the same float (digits <= 9) or double */
    char buf[40];
    if (v == floor(v) && fabs(v) < 1e15) { /* integral: 10000, not 1e+04 */
        fprintf(f, "%.0f", v);
        return;
    }
    for (int p = 1; p <= digits; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, v);
        if (digits <= 9 ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v) break;
    }
    fputs(buf, f);
}

char *cli_read_file(const char *path, size_t *len, char *err, size_t errlen) {
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return NULL; }
    struct stat st;         /* a folder opens and then fails to read: say what it is */
    bool regular = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    if (!is_stdin && !regular && (S_ISDIR(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
        fclose(f);          /* a device such as /dev/zero would be read without end */
        snprintf(err, errlen, "%s: %s", path, S_ISDIR(st.st_mode) ? "a folder, not a file" : "a device, not a file");
        return NULL;
    }
    /* a pipe (or stdin that is not a file) has no size to check first: it is
     * read up to CLI_MAX_TEXT, so that `< /dev/zero` or an endless producer
     * ends with an error, not with all the memory */
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    bool too_big = false;
    while (b) {
        n += fread(b + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        if (!regular && cap > CLI_MAX_TEXT) { too_big = true; break; }
        char *nb = realloc(b, cap * 2);
        if (!nb) { free(b); b = NULL; break; }
        b = nb;
        cap *= 2;
    }
    const char *why = !b ? "out of memory" : too_big ? "more than 1 GiB: too large to read whole"
                                           : ferror(f) ? strerror(errno) : NULL;
    if (!is_stdin) fclose(f);
    if (why) {
        free(b);
        snprintf(err, errlen, "%s: %s", is_stdin ? "stdin" : path, why);
        return NULL;
    }
    b[n] = 0;
    *len = n;
    return b;
}

const char *cli_fmt_bytes(uint64_t n, char *buf, size_t cap) {
    static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4) { v /= 1024; u++; }
    if (u == 0) snprintf(buf, cap, "%" PRIu64 " B", n);
    else snprintf(buf, cap, "%.2f %s", v, units[u]);
    return buf;
}

double cli_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

bool cli_sigint_catch(void (*fn)(int), struct sigaction *old) {
    if (sigaction(SIGINT, NULL, old) != 0) return false;
    if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler == SIG_IGN) return false;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGINT, &sa, NULL) == 0;
}

void cli_sigint_restore(bool caught, const struct sigaction *old) {
    if (caught) sigaction(SIGINT, old, NULL);
}
