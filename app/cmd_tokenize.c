/* cmd_tokenize: `logitlab tokenize -m MODEL [--no-bos] [--special] [--json] TEXT`
 * prints the ids the model's tokenizer gives for TEXT and the piece of each.
 *
 * MODEL may be a model (GGUF with weights, llama2.c checkpoint: its own
 * tokenizer, via model_tok, so the ids are the ones the model would see) or a
 * tokenizer-only file (vocabulary GGUF, tokenizer.bin, tokenizer.json:
 * tok_open). Text output is `id<TAB>piece` per line with invisible bytes
 * escaped; --json prints exactly {"ids":[...],"pieces":[...]} with the raw
 * pieces (control tokens spelled out, e.g. "<s>").
 */
#include "cmd_tokenize.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gguf.h"
#include "model.h"
#include "modelpath.h"
#include "tok.h"

enum { O_MODEL, O_FILE, O_NO_BOS, O_BOS, O_SPECIAL, O_JSON };
static const cli_opt opts[] = {
    { "model", 'm', "MODEL", "model or tokenizer file (path or name; default $LOGITLAB_MODEL, " MPATH_DEFAULT_MODEL ")" },
    { "file", 'f', "PATH", "read the text from a file ('-' = stdin) instead of TEXT" },
    { "no-bos", 0, NULL, "do not add BOS (default: the vocabulary's add_bos_token)" },
    { "bos", 0, NULL, "add BOS even if the vocabulary does not ask for it" },
    { "special", 0, NULL, "parse special tokens written in the text (\"<s>\", \"<|eot_id|>\")" },
    { "json", 0, NULL, "print {\"ids\":[...],\"pieces\":[...]}" },
};
static const cli_spec spec = {
    "tokenize", "[-m MODEL] [options] TEXT...",
    "Prints the token ids of TEXT and the piece of each, one `id<TAB>piece` per line\n"
    "(invisible characters escaped). Several TEXT arguments are joined with spaces.",
    opts, (int)(sizeof opts / sizeof opts[0]), 0, CLI_MAX_POS,
};

/* True for files that may be models: GGUFs with tensors and anything that
 * is neither GGUF nor JSON (llama2.c checkpoints, but also tokenizer.bin). */
static bool maybe_model(const char *path) {
    char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return true;
    size_t n = fread(magic, 1, 4, f);
    fclose(f);
    if (n == 4 && magic[0] == '{') return false;  /* tokenizer.json */
    if (n < 4 || memcmp(magic, "GGUF", 4) != 0) return true;
    gguf *g;
    char err[256];
    if (gguf_open(&g, path, err, sizeof err)) return false; /* tok_open will say what is wrong */
    bool r = gguf_n_tensors(g) > 0;
    gguf_close(g);
    return r;
}

/* Opens the tokenizer for path: a model's own, else the file as a tokenizer.
 * *m is set when a model was opened (the tok then belongs to it). */
static int open_tok(const char *path, model **m, tok **own, const tok **t, char *err, size_t errlen) {
    *m = NULL; *own = NULL; *t = NULL;
    if (maybe_model(path)) {
        char merr[512];
        if (model_open(m, path, NULL, merr, sizeof merr) == 0) { *t = model_tok(*m); return 0; }
        /* not a model: maybe a tokenizer.bin, or a GGUF whose vocabulary alone is usable;
         * when it is neither, the model's complaint is the useful one */
        if (tok_open(own, path, err, errlen) == 0) { *t = *own; return 0; }
        snprintf(err, errlen, "%s", merr);
        return -1;
    }
    if (tok_open(own, path, err, errlen)) return -1;
    *t = *own;
    return 0;
}

static char *join_args(const cli_args *a) {
    size_t n = 0;
    for (int i = 0; i < a->npos; i++) n += strlen(a->pos[i]) + 1;
    char *s = malloc(n + 1);
    if (!s) return NULL;
    s[0] = 0;
    for (int i = 0; i < a->npos; i++) {
        if (i) strcat(s, " ");
        strcat(s, a->pos[i]);
    }
    return s;
}

static void print_result(const tok *t, const int32_t *ids, int32_t n, bool json) {
    char piece[512];
    if (json) {
        printf("{\"ids\":[");
        for (int32_t i = 0; i < n; i++) printf("%s%d", i ? "," : "", ids[i]);
        printf("],\"pieces\":[");
    }
    for (int32_t i = 0; i < n; i++) {
        int32_t len = tok_piece(t, ids[i], piece, (int32_t)sizeof piece, true);
        if (len < 0) len = 0;
        if (len > (int32_t)sizeof piece) len = (int32_t)sizeof piece; /* no real piece is this long */
        if (json) {
            if (i) putchar(',');
            cli_put_json_str(stdout, piece, (size_t)len);
        } else {
            printf("%d\t", ids[i]);
            cli_put_escaped(stdout, piece, (size_t)len, 0);
            putchar('\n');
        }
    }
    if (json) printf("]}\n");
}

static int run(const cli_args *a, const char *text, size_t len) {
    char path[4096], err[1024];
    if (mpath_resolve(a->val[O_MODEL], path, sizeof path, err, sizeof err))
        return cli_fail("tokenize", "%s", err);
    model *m;
    tok *own;
    const tok *t;
    if (open_tok(path, &m, &own, &t, err, sizeof err)) return cli_fail("tokenize", "%s", err);
    bool add_bos = a->val[O_BOS] ? true : a->val[O_NO_BOS] ? false : tok_add_bos(t);
    bool special = a->val[O_SPECIAL] != NULL;
    int rc = CLI_OK;
    int32_t cap = (int32_t)(len < 1000000 ? len : 1000000) + 8, n;
    int32_t *ids = malloc(sizeof *ids * (size_t)cap);
    if (!ids) { rc = cli_fail("tokenize", "out of memory"); goto out; }
    n = tok_encode(t, text, len, add_bos, special, ids, cap, err, sizeof err);
    if (n > cap) { /* cannot happen with one token per byte at most, but the contract allows it */
        int32_t *bigger = realloc(ids, sizeof *ids * (size_t)n);
        if (!bigger) { rc = cli_fail("tokenize", "out of memory"); goto out; }
        ids = bigger;
        cap = n;
        n = tok_encode(t, text, len, add_bos, special, ids, cap, err, sizeof err);
    }
    if (n < 0) { rc = cli_fail("tokenize", "%s", err); goto out; }
    print_result(t, ids, n, a->val[O_JSON] != NULL);
out:
    free(ids);
    tok_destroy(own);
    model_close(m);
    return rc;
}

int cmd_tokenize(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc) return rc == CLI_HELP ? CLI_OK : rc;
    if (a.val[O_FILE] && a.npos)
        return cli_usage_error("tokenize", "give the text either as TEXT or with -f, not both");
    if (!a.val[O_FILE] && !a.npos) return cli_usage_error("tokenize", "missing TEXT (or -f FILE, -f - for stdin)");
    if (a.val[O_BOS] && a.val[O_NO_BOS]) return cli_usage_error("tokenize", "--bos and --no-bos contradict each other");
    char err[1024];
    size_t len;
    char *text = a.val[O_FILE] ? cli_read_file(a.val[O_FILE], &len, err, sizeof err) : join_args(&a);
    if (!text) return cli_fail("tokenize", "%s", a.val[O_FILE] ? err : "out of memory");
    if (!a.val[O_FILE]) len = strlen(text);
    rc = run(&a, text, len);
    free(text);
    return rc;
}
