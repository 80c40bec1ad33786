/* tui_save: session files (see tui_save.h). Numbers use cli_put_json_num so
 * they read back as the same floats; token text goes through
 * cli_put_json_str (invalid UTF-8 becomes U+FFFD) with the exact bytes
 * alongside where it matters. */
#include "tui_save.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fout.h"
#include "loom.h"
#include "tok.h"

static void put_piece(FILE *f, const session *s, int32_t id) {
    char piece[512];
    int32_t n = session_piece(s, id, piece, (int32_t)sizeof piece);
    cli_put_json_str(f, piece, (size_t)n);
}

static void put_dist(FILE *f, const session *s, const loom_dist *d) {
    fprintf(f, "{\"entropy\":");
    cli_put_json_num(f, d->entropy, 9);
    fprintf(f, ",\"n\":%d,\"top\":[", (int)d->n);
    for (int32_t i = 0; i < d->n_top; i++) {
        fprintf(f, "%s{\"id\":%d,\"token\":", i ? "," : "", (int)d->top[i].id);
        put_piece(f, s, d->top[i].id);
        fprintf(f, ",\"logprob\":");
        cli_put_json_num(f, d->top[i].lp, 9);
        fputc('}', f);
    }
    fprintf(f, "]}");
}

/* One token as a JSON object; pos >= 0 adds its position. */
static void put_tok(FILE *f, const session *s, const loom_tok *t, int32_t pos) {
    if (pos >= 0) fprintf(f, "{\"pos\":%d,\"id\":%d,\"token\":", (int)pos, (int)t->id);
    else fprintf(f, "{\"id\":%d,\"token\":", (int)t->id);
    put_piece(f, s, t->id);
    fprintf(f, ",\"prompt\":%s,\"picked\":%s", t->flags & LOOM_TOK_PROMPT ? "true" : "false",
            t->flags & LOOM_TOK_PICKED ? "true" : "false");
    if (t->flags & LOOM_TOK_RAW) {
        fprintf(f, ",\"logprob\":");
        cli_put_json_num(f, t->lp_raw, 9);
        fprintf(f, ",\"rank\":%d,\"raw\":", (int)t->rank_raw);
        put_dist(f, s, &t->raw);
    }
    if (t->flags & LOOM_TOK_POST) {
        fprintf(f, ",\"sampler_logprob\":");
        cli_put_json_num(f, t->lp_post, 9);
        fprintf(f, ",\"sampler_rank\":%d,\"post\":", (int)t->rank_post);
        put_dist(f, s, &t->post);
        fprintf(f, ",\"stages\":[");
        for (int32_t i = 0; i < t->n_stage; i++)
            fprintf(f, "%s{\"stage\":\"%s\",\"n\":%d}", i ? "," : "", loom_stage_name(t->stage_kind[i]), (int)t->stage_n[i]);
        fputc(']', f);
    }
    fputc('}', f);
}

/* A save is written beside its file and renamed over it when whole
 * (fout.h): a full disk or a crash half way leaves the earlier save. */
static fout *open_out(const char *path, char *err, size_t errlen) {
    fout *o = malloc(sizeof *o);
    if (!o) snprintf(err, errlen, "%s: out of memory", path);
    else if (fout_open(o, path, err, errlen)) { free(o); o = NULL; }
    return o;
}

/* ok false: discards the new file. */
static int close_out(fout *o, bool ok, char *err, size_t errlen) {
    int rc = fout_close(o, ok, err, errlen);
    free(o);
    return rc;
}

int tui_save_tree(const session *s, const char *path, char *err, size_t errlen) {
    fout *o = open_out(path, err, errlen);
    if (!o) return -1;
    FILE *f = o->f;
    fprintf(f, "{\"format\":\"logitlab-tree\",\"version\":1,\"model\":");
    cli_put_json_str(f, s->model_path, strlen(s->model_path));
    fprintf(f, ",\"selected\":%d,\"sampler\":{\"order\":", (int)s->cur);
    const char *order = s->spec[0] ? s->spec : "default";
    cli_put_json_str(f, order, strlen(order));
    fprintf(f, ",\"temp\":");
    cli_put_json_num(f, s->sp.temp, 9);
    fprintf(f, ",\"top_k\":%d,\"top_p\":", (int)s->sp.top_k);
    cli_put_json_num(f, s->sp.top_p, 9);
    fprintf(f, ",\"min_p\":");
    cli_put_json_num(f, s->sp.min_p, 9);
    fprintf(f, ",\"seed\":%llu},\"nodes\":[", (unsigned long long)s->sp.seed);
    bool first = true;
    for (int32_t i = 0; i < s->tree.n; i++) {
        const loom_node *n = loom_get(&s->tree, i);
        if (!n) continue;
        static const char *const origins[] = { "prompt", "generated", "picked", "split" };
        fprintf(f, "%s\n{\"id\":%d,\"parent\":%d,\"origin\":\"%s\",\"pos\":%d,\"label\":", first ? "" : ",", (int)i,
                (int)n->parent, origins[n->origin < 4 ? n->origin : 1], (int)n->pos0);
        first = false;
        if (n->label) cli_put_json_str(f, n->label, strlen(n->label)); else fputs("null", f);
        if (n->has_draw) fprintf(f, ",\"draw\":\"%llu\",\"draw_at\":%d", (unsigned long long)n->draw, (int)n->draw_at);
        if (n->parent < 0) {
            fprintf(f, ",\"prompt\":");
            cli_put_json_str(f, n->prompt ? n->prompt : "", n->prompt ? strlen(n->prompt) : 0);
            fprintf(f, ",\"chat\":%s", n->chat ? "true" : "false");
        }
        fprintf(f, ",\"tokens\":[");
        for (int32_t k = 0; k < n->n; k++) {
            if (k) fputc(',', f);
            put_tok(f, s, &n->toks[k], -1);
        }
        fprintf(f, "]}");
    }
    fprintf(f, "\n]}\n");
    return close_out(o, true, err, errlen);
}

int tui_save_path(const session *s, const char *path, char *err, size_t errlen) {
    int32_t n = session_len(s);
    if (n == 0) { snprintf(err, errlen, "nothing to export: the path is empty"); return -1; }
    size_t pl = strlen(path);
    bool jsonl = pl > 6 && strcmp(path + pl - 6, ".jsonl") == 0;
    fout *o = open_out(path, err, errlen);
    if (!o) return -1;
    FILE *f = o->f;
    if (jsonl) {
        for (int32_t i = 0; i < n; i++) {
            put_tok(f, s, session_tok(s, i), i);
            fputc('\n', f);
        }
        return close_out(o, true, err, errlen);
    }
    int32_t *ids = malloc(sizeof *ids * (size_t)n);
    if (!ids) { close_out(o, false, err, errlen); snprintf(err, errlen, "out of memory"); return -1; }
    for (int32_t i = 0; i < n; i++) ids[i] = session_tok(s, i)->id;
    int32_t cap = n * 16 + 64;
    char *text = malloc((size_t)cap);
    int32_t len = text ? tok_decode(s->t, ids, n, text, cap, true, false) : 0;
    if (len > cap) {
        char *t2 = realloc(text, (size_t)len);
        if (t2) { text = t2; cap = len; len = tok_decode(s->t, ids, n, text, cap, true, false); }
    }
    if (text && len > 0) fwrite(text, 1, (size_t)(len < cap ? len : cap), f);
    fputc('\n', f);
    free(text);
    free(ids);
    return close_out(o, true, err, errlen);
}
