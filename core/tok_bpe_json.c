/* tok_bpe_json: loads a Hugging Face tokenizer.json holding a byte-level BPE
 * model (Llama 3, GPT-2), plus the tokenizer_config.json beside it if any.
 *
 * Supported: model.type "BPE" with vocab, merges ("a b" strings or [a, b]
 * pairs) and ignore_merges; added_tokens (special -> CONTROL, else
 * USER_DEFINED); no normalizer; a pre-tokenizer that is the Llama 3 or GPT-2
 * regex Split (or ByteLevel's own GPT-2 regex) and ByteLevel. Anything else is
 * refused with a message naming the file, rather than encoded differently
 * from the reference. Invariant on success: ids 0..n_vocab-1 each have exactly
 * one string (holes are an error), and t->bpe holds the merge ranks.
 */
#include "tok_impl.h"
#include "fio.h"
#include "json.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VOCAB (1 << 26)

static const char LLAMA3_RE[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
    " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char GPT2_RE[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static int fail(char *err, size_t errlen, int code, const char *path, const char *fmt, ...) {
    if (err && errlen) {
        int k = snprintf(err, errlen, "%s: ", path);
        if (k >= 0 && (size_t)k < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return code;
}

/* Reads and parses a JSON file. Returns TOK_OK, or TOK_EIO with *missing set
 * when the file does not exist (so optional files can be skipped). */
static int load_json(json_doc **doc, const char *path, bool *missing, char *err, size_t errlen) {
    *doc = NULL;
    if (missing) *missing = false;
    char *buf = NULL;
    size_t n = 0;
    int rc = fio_read(path, TOK_MAX_FILE, &buf, &n, err, errlen);   /* regular files only, size checked first */
    if (rc) {
        if (missing) *missing = rc == FIO_ENOENT;
        return rc == FIO_ENOMEM ? TOK_ENOMEM : TOK_EIO;
    }
    char msg[160];
    *doc = json_parse(buf, n, msg, sizeof msg);
    free(buf);
    if (!*doc) return fail(err, errlen, TOK_EFORMAT, path, "invalid JSON: %s", msg);
    if (json_root(*doc)->type != JSON_OBJ) {
        json_free(*doc); *doc = NULL;
        return fail(err, errlen, TOK_EFORMAT, path, "top level is not an object");
    }
    return TOK_OK;
}

static bool str_is(const json *v, const char *s) {
    return v && v->type == JSON_STR && v->len == strlen(s) && memcmp(v->str, s, v->len) == 0;
}

/* A token id: an integer in [0, MAX_VOCAB). */
static bool as_id(const json *v, int32_t *id) {
    if (!v || v->type != JSON_NUM || !(v->num >= 0 && v->num < MAX_VOCAB)) return false;
    *id = (int32_t)v->num;
    return (double)*id == v->num;
}

/* ---- vocabulary ---- */

typedef struct src { const char *s; size_t len; int attr; } src;

static int collect(src *by_id, const json *vocab, const json *added, const char *path,
                   char *err, size_t errlen) {
    for (const json *m = vocab->child; m; m = m->next) {
        int32_t id = 0;
        as_id(m, &id);
        if (by_id[id].s)
            return fail(err, errlen, TOK_EFORMAT, path, "model.vocab: id %d is given to both \"%.40s\" and \"%.40s\"",
                        id, by_id[id].s, m->key);
        by_id[id] = (src){ m->key, m->klen, TOK_NORMAL };
    }
    for (const json *a = added ? added->child : NULL; a; a = a->next) {
        int32_t id = 0;
        as_id(json_get(a, "id"), &id);
        const json *c = json_get(a, "content");
        int attr = json_bool(json_get(a, "special"), false) ? TOK_CONTROL : TOK_USER_DEFINED;
        if (by_id[id].s && (by_id[id].len != c->len || memcmp(by_id[id].s, c->str, c->len)))
            return fail(err, errlen, TOK_EFORMAT, path, "added_tokens: id %d is \"%.40s\" but model.vocab has \"%.40s\"",
                        id, c->str, by_id[id].s);
        by_id[id] = (src){ c->str, c->len, attr };
    }
    return TOK_OK;
}

/* Checks ids and the added tokens' shape; sets *n to max id + 1. */
static int count_ids(const json *vocab, const json *added, int32_t *n, const char *path,
                     char *err, size_t errlen) {
    int64_t max = -1, count = 0;
    for (const json *m = vocab->child; m; m = m->next, count++) {
        int32_t id = 0;
        if (!as_id(m, &id))
            return fail(err, errlen, TOK_EFORMAT, path, "model.vocab: \"%.40s\" has no valid id", m->key);
        if (id > max) max = id;
    }
    if (added && added->type != JSON_ARR)
        return fail(err, errlen, TOK_EFORMAT, path, "added_tokens is not an array");
    size_t k = 0;
    for (const json *a = added ? added->child : NULL; a; a = a->next, k++, count++) {
        int32_t id = 0;
        const json *c = json_get(a, "content");
        if (a->type != JSON_OBJ || !as_id(json_get(a, "id"), &id) || !c || c->type != JSON_STR)
            return fail(err, errlen, TOK_EFORMAT, path, "added_tokens[%zu] needs an integer id and a string content", k);
        if (id > max) max = id;
    }
    if (max < 0) return fail(err, errlen, TOK_EFORMAT, path, "model.vocab is empty");
    if (max + 1 > count)
        return fail(err, errlen, TOK_EFORMAT, path, "ids go up to %lld but only %lld tokens are given (holes)",
                    (long long)max, (long long)count);
    *n = (int32_t)(max + 1);
    return TOK_OK;
}

static int build_vocab(tok *t, const json *root, const char *path, char *err, size_t errlen) {
    const json *model = json_get(root, "model");
    if (!model || model->type != JSON_OBJ) return fail(err, errlen, TOK_EFORMAT, path, "no \"model\" object");
    const json *type = json_get(model, "type");
    if (type && !str_is(type, "BPE"))
        return fail(err, errlen, TOK_EFORMAT, path, "model.type is \"%s\", not \"BPE\"", json_str(type, "?"));
    const json *vocab = json_get(model, "vocab"), *added = json_get(root, "added_tokens");
    if (!vocab || vocab->type != JSON_OBJ) return fail(err, errlen, TOK_EFORMAT, path, "model.vocab is not an object");
    if (added && added->type == JSON_NULL) added = NULL;
    int32_t n = 0;
    int rc = count_ids(vocab, added, &n, path, err, errlen);
    if (rc) return rc;
    src *by_id = calloc((size_t)n, sizeof *by_id);
    if (!by_id) return fail(err, errlen, TOK_ENOMEM, path, "out of memory for %d tokens", n);
    if ((rc = collect(by_id, vocab, added, path, err, errlen))) goto out;
    size_t bytes = 0;
    for (int32_t i = 0; i < n; i++) {
        if (!by_id[i].s) { rc = fail(err, errlen, TOK_EFORMAT, path, "no token has id %d (holes)", i); goto out; }
        bytes += by_id[i].len + 1;
    }
    if ((rc = tok_alloc(t, n, bytes))) { rc = fail(err, errlen, rc, path, "out of memory for %d tokens", n); goto out; }
    size_t off = 0;
    for (int32_t i = 0; i < n; i++) {
        memcpy(t->arena + off, by_id[i].s, by_id[i].len);
        t->off[i] = (uint32_t)off;
        t->len[i] = (uint32_t)by_id[i].len;
        t->attr[i] = by_id[i].attr;
        off += by_id[i].len + 1;
    }
    t->ignore_merges = json_bool(json_get(model, "ignore_merges"), false);
    rc = tok_index(t, err, errlen);
out:
    free(by_id);
    return rc;
}

/* ---- merges ---- */

static int build_merges(tok *t, const json *root, const char *path, char *err, size_t errlen) {
    const json *merges = json_get(json_get(root, "model"), "merges");
    if (!merges || merges->type != JSON_ARR) return fail(err, errlen, TOK_EFORMAT, path, "model.merges is not an array");
    size_t n = merges->n, pair_bytes = 0, k = 0;
    for (const json *m = merges->child; m; m = m->next, k++) {
        if (m->type == JSON_STR) continue;
        const json *a = m->type == JSON_ARR && m->n == 2 ? m->child : NULL;
        if (!a || a->type != JSON_STR || a->next->type != JSON_STR)
            return fail(err, errlen, TOK_EFORMAT, path, "model.merges[%zu] is neither \"a b\" nor [\"a\", \"b\"]", k);
        if (memchr(a->str, ' ', a->len))
            return fail(err, errlen, TOK_EFORMAT, path, "model.merges[%zu]: left side \"%.40s\" holds a space", k, a->str);
        pair_bytes += a->len + a->next->len + 1;
    }
    const char **s = malloc((n + 1) * sizeof *s);
    size_t *len = malloc((n + 1) * sizeof *len);
    char *buf = malloc(pair_bytes + 1), *p = buf;
    int rc = TOK_ENOMEM;
    if (!s || !len || !buf) { fail(err, errlen, rc, path, "out of memory for %zu merges", n); goto out; }
    k = 0;
    for (const json *m = merges->child; m; m = m->next, k++) {
        if (m->type == JSON_STR) { s[k] = m->str; len[k] = m->len; continue; }
        const json *a = m->child, *b = a->next;
        s[k] = p;
        len[k] = a->len + 1 + b->len;
        memcpy(p, a->str, a->len); p += a->len;
        *p++ = ' ';
        memcpy(p, b->str, b->len); p += b->len;
    }
    char msg[160];
    rc = tok_bpe_prepare(t, s, len, (int64_t)n, msg, sizeof msg);
    if (rc) fail(err, errlen, rc, path, "model.merges: %s", msg);
out:
    free(s); free(len); free(buf);
    return rc;
}

/* ---- pre-tokenizer ---- */

static int pre_one(tok *t, const json *p, bool *byte_level, const char *path, char *err, size_t errlen) {
    const char *type = json_str(json_get(p, "type"), "");
    int pre = -1;
    if (!strcmp(type, "ByteLevel")) {
        *byte_level = true;
        if (json_bool(json_get(p, "add_prefix_space"), false))
            return fail(err, errlen, TOK_EFORMAT, path, "pre_tokenizer: ByteLevel add_prefix_space is not supported");
        if (!json_bool(json_get(p, "use_regex"), true)) return TOK_OK;
        pre = TOK_PRE_GPT2;
    } else if (!strcmp(type, "Split")) {
        const json *re = json_get(json_get(p, "pattern"), "Regex");
        if (str_is(re, LLAMA3_RE)) pre = TOK_PRE_LLAMA3;
        else if (str_is(re, GPT2_RE)) pre = TOK_PRE_GPT2;
        else return fail(err, errlen, TOK_EFORMAT, path, "pre_tokenizer: unsupported Split pattern %.60s",
                         re && re->type == JSON_STR ? re->str : "(not a Regex)");
        if (!str_is(json_get(p, "behavior"), "Isolated") || json_bool(json_get(p, "invert"), false))
            return fail(err, errlen, TOK_EFORMAT, path, "pre_tokenizer: Split must be Isolated and not inverted");
    } else {
        return fail(err, errlen, TOK_EFORMAT, path, "pre_tokenizer: type \"%s\" is not supported", type);
    }
    if (t->pre != TOK_PRE_NONE)
        return fail(err, errlen, TOK_EFORMAT, path, "pre_tokenizer: more than one regex split is not supported");
    t->pre = pre;
    return TOK_OK;
}

static int set_pre(tok *t, const json *root, const char *path, char *err, size_t errlen) {
    const json *norm = json_get(root, "normalizer");
    if (norm && norm->type != JSON_NULL)
        return fail(err, errlen, TOK_EFORMAT, path, "normalizer \"%s\" is not supported",
                    json_str(json_get(norm, "type"), "?"));
    const json *p = json_get(root, "pre_tokenizer");
    bool byte_level = false;
    t->pre = TOK_PRE_NONE;
    if (p && p->type == JSON_OBJ && str_is(json_get(p, "type"), "Sequence")) {
        const json *list = json_get(p, "pretokenizers");
        if (!list || list->type != JSON_ARR)
            return fail(err, errlen, TOK_EFORMAT, path, "pre_tokenizer: Sequence without a pretokenizers array");
        for (const json *q = list->child; q; q = q->next) {
            int rc = pre_one(t, q, &byte_level, path, err, errlen);
            if (rc) return rc;
        }
    } else if (p && p->type == JSON_OBJ) {
        int rc = pre_one(t, p, &byte_level, path, err, errlen);
        if (rc) return rc;
    }
    if (!byte_level)
        return fail(err, errlen, TOK_EFORMAT, path, "not a byte-level BPE (no ByteLevel pre_tokenizer)");
    return TOK_OK;
}

/* ---- special tokens ---- */

/* bos_token etc.: a string, {"content": string}, or null/absent (NULL). */
static const json *token_str(const json *v) {
    if (v && v->type == JSON_OBJ) v = json_get(v, "content");
    return v && v->type == JSON_STR ? v : NULL;
}

static int32_t find_id(const tok *t, const char *s) {
    return strmap_get(&t->vocab, s, strlen(s));
}

/* First SpecialToken id of a TemplateProcessing "single" template, looking
 * through a Sequence post-processor; -2 when there is no template. */
static int template_bos(const tok *t, const json *pp) {
    const json *list = json_get(pp, "processors");
    if (str_is(json_get(pp, "type"), "Sequence") && list)
        for (const json *q = list->child; q; q = q->next)
            if (str_is(json_get(q, "type"), "TemplateProcessing")) { pp = q; break; }
    if (!str_is(json_get(pp, "type"), "TemplateProcessing")) return -2;
    const json *first = json_at(json_get(pp, "single"), 0);
    const json *sp = token_str(json_get(json_get(first, "SpecialToken"), "id"));
    return sp ? strmap_get(&t->vocab, sp->str, sp->len) : -1;
}

static int config_token(const tok *t, const json *cfg, const char *key, int32_t *id,
                        const char *path, char *err, size_t errlen) {
    const json *v = json_get(cfg, key);
    if (!v) return TOK_OK;
    const json *s = token_str(v);
    if (!s) { *id = -1; return TOK_OK; }
    *id = strmap_get(&t->vocab, s->str, s->len);
    if (*id < 0)
        return fail(err, errlen, TOK_EFORMAT, path, "%s \"%.40s\" is not in the vocabulary", key, s->str);
    return TOK_OK;
}

static int set_specials(tok *t, const json *root, const char *path, char *err, size_t errlen) {
    static const char *const eots[] = { "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>" };
    t->bos = find_id(t, "<|begin_of_text|>");
    t->eos = find_id(t, "<|end_of_text|>");
    if (t->eos < 0) t->eos = find_id(t, "<|endoftext|>");
    for (size_t i = 0; i < sizeof eots / sizeof *eots && t->eot < 0; i++) {
        int32_t id = find_id(t, eots[i]);
        if (id >= 0 && (t->attr[id] == TOK_CONTROL || t->attr[id] == TOK_USER_DEFINED)) t->eot = id;
    }
    const json *unk = token_str(json_get(json_get(root, "model"), "unk_token"));
    t->unk = unk ? strmap_get(&t->vocab, unk->str, unk->len) : -1;
    t->nl = find_id(t, "\xC4\x8A");   /* "Ċ", the mapped '\n' */

    /* tokenizer_config.json beside the file */
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path + 1) : 0;
    char *cpath = malloc(dl + sizeof "tokenizer_config.json");
    if (!cpath) return fail(err, errlen, TOK_ENOMEM, path, "out of memory");
    memcpy(cpath, path, dl);
    strcpy(cpath + dl, "tokenizer_config.json");
    json_doc *doc;
    bool missing;
    int rc = load_json(&doc, cpath, &missing, err, errlen);
    int add_bos = -1, add_eos = -1;
    if (rc && missing) rc = TOK_OK;
    else if (!rc) {
        const json *cfg = json_root(doc);
        if (!(rc = config_token(t, cfg, "bos_token", &t->bos, cpath, err, errlen)) &&
            !(rc = config_token(t, cfg, "eos_token", &t->eos, cpath, err, errlen)) &&
            !(rc = config_token(t, cfg, "unk_token", &t->unk, cpath, err, errlen)))
            rc = config_token(t, cfg, "pad_token", &t->pad, cpath, err, errlen);
        const json *b = json_get(cfg, "add_bos_token"), *e = json_get(cfg, "add_eos_token");
        if (b && b->type == JSON_BOOL) add_bos = b->b;
        if (e && e->type == JSON_BOOL) add_eos = e->b;
        json_free(doc);
    }
    free(cpath);
    if (rc) return rc;
    /* add_bos: the config's add_bos_token, else whether the post-processor's
     * template starts with BOS, else llama.cpp's default for the Llama 3
     * pre-tokenizer (true). */
    if (add_bos < 0) {
        int first = template_bos(t, json_get(root, "post_processor"));
        add_bos = first == -2 ? t->pre == TOK_PRE_LLAMA3 : first >= 0 && first == t->bos;
    }
    t->add_bos = add_bos && t->bos >= 0;
    t->add_eos = add_eos > 0 && t->eos >= 0;
    return TOK_OK;
}

int tok_bpe_from_json(tok **out, const char *path, char *err, size_t errlen) {
    *out = NULL;
    json_doc *doc;
    int rc = load_json(&doc, path, NULL, err, errlen);
    if (rc) return rc;
    tok *t = calloc(1, sizeof *t);
    if (!t) { json_free(doc); return fail(err, errlen, TOK_ENOMEM, path, "out of memory"); }
    t->kind = TOK_BPE;
    t->add_space_prefix = false;
    const json *root = json_root(doc);
    if (!(rc = build_vocab(t, root, path, err, errlen)) &&
        !(rc = set_pre(t, root, path, err, errlen)) &&
        !(rc = build_merges(t, root, path, err, errlen)))
        rc = set_specials(t, root, path, err, errlen);
    json_free(doc);
    if (rc) { tok_destroy(t); return rc; }
    *out = t;
    return TOK_OK;
}
