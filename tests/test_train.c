/* The trainer end to end: one step against PyTorch (tests/data/train_ref.bin,
 * made by tests/train_ref.py), whole-model gradients against finite
 * differences, the written GGUF against the training-time logits. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#include <dirent.h>

#include "adamw.h"
#include "check.h"
#include "ctx.h"
#include "model.h"
#include "pool.h"
#include "chat.h"
#include "fout.h"
#include "tdata.h"
#include "tgemm.h"
#include "train.h"
#include "tfwd.h"
#include "tmodel.h"
#include "tok.h"

typedef struct ref {
    tmodel_cfg c;
    int B, T;
    float lr, b1, b2, eps, wd, clip;
    int64_t n;
    float *params, *grads, *after;
    int32_t *tokens, *targets;
    double loss, gnorm;
} ref;

static int rd(FILE *f, void *p, size_t n) { return fread(p, 1, n, f) == n ? 0 : -1; }

static int read_case(FILE *f, ref *r) {
    int32_t h[9];
    float hp[2], o[6];
    if (rd(f, h, sizeof h) || rd(f, hp, sizeof hp) || rd(f, o, sizeof o) || rd(f, &r->n, 8)) return -1;
    r->c = (tmodel_cfg){ h[0], h[1], h[2], h[3], h[4], h[5], 64, hp[0], hp[1], h[8] != 0 };
    r->B = h[6]; r->T = h[7];
    r->lr = o[0]; r->b1 = o[1]; r->b2 = o[2]; r->eps = o[3]; r->wd = o[4]; r->clip = o[5];
    size_t n = (size_t)r->n, nt = (size_t)(r->B * r->T);
    r->params = malloc(4 * n); r->grads = malloc(4 * n); r->after = malloc(4 * n);
    r->tokens = malloc(4 * nt); r->targets = malloc(4 * nt);
    double lg[2];
    if (rd(f, r->params, 4 * n) || rd(f, r->tokens, 4 * nt) || rd(f, r->targets, 4 * nt) ||
        rd(f, lg, sizeof lg) || rd(f, r->grads, 4 * n) || rd(f, r->after, 4 * n))
        return -1;
    r->loss = lg[0]; r->gnorm = lg[1];
    return 0;
}

static void free_case(ref *r) {
    free(r->params); free(r->grads); free(r->after); free(r->tokens); free(r->targets);
}

/* Compares tensor by tensor: max |a - b| within tol of the tensor's max |b|. */
static double worst_rel(const tmodel_cfg *c, const float *a, const float *b) {
    tmodel_w va, vb;
    tmodel_view(c, (float *)a, &va);
    tmodel_view(c, (float *)b, &vb);
    size_t total = tmodel_n_params(c);
    /* tensor boundaries: walk the layout through the views' pointers */
    const float *starts[16 * 9 + 4];
    int ns = 0;
    starts[ns++] = va.tok_embd;
    for (int il = 0; il < c->n_layers; il++) {
        tmodel_layer *l = &va.layers[il];
        const float *s[9] = { l->attn_norm, l->wq, l->wk, l->wv, l->wo, l->ffn_norm, l->w_gate, l->w_up, l->w_down };
        for (int k = 0; k < 9; k++) starts[ns++] = s[k];
    }
    starts[ns++] = va.output_norm;
    if (!c->tied) starts[ns++] = va.output;
    starts[ns] = a + total;
    double worst = 0;
    for (int t = 0; t < ns; t++) {
        size_t o = (size_t)(starts[t] - a), e = (size_t)(starts[t + 1] - a);
        double err = 0, mx = 1e-30;
        for (size_t i = o; i < e; i++) {
            err = fmax(err, fabs((double)a[i] - b[i]));
            mx = fmax(mx, fabs((double)b[i]));
        }
        worst = fmax(worst, err / mx);
    }
    tmodel_view_fini(&va);
    tmodel_view_fini(&vb);
    return worst;
}

static tmodel *model_of(const ref *r) {
    tmodel *m;
    char err[256];
    if (tmodel_create_random(&m, &r->c, 1, err, sizeof err)) return NULL;
    memcpy(m->data, r->params, 4 * (size_t)r->n);
    return m;
}

static void test_pytorch(pool *pl) {
    FILE *f = fopen("tests/data/train_ref.bin", "rb");
    char magic[4];
    int32_t ncase = 0;
    CHECK(f && !rd(f, magic, 4) && !memcmp(magic, "TREF", 4) && !rd(f, &ncase, 4), "tests/data/train_ref.bin");
    for (int ci = 0; f && ci < ncase; ci++) {
        ref r;
        if (read_case(f, &r)) { CHECK(0, "reading case %d", ci); break; }
        CHECK((int64_t)tmodel_n_params(&r.c) == r.n, "case %d: layout of %lld params", ci, (long long)r.n);
        tmodel *m = model_of(&r);
        tfwd *fw = tfwd_create(m, r.B, r.T, pl);
        float *g = calloc((size_t)r.n, 4);
        tmodel_w gv;
        tmodel_view(&r.c, g, &gv);
        int cnt;
        double loss = tfwd_forward(fw, r.tokens, r.targets, &cnt);
        tfwd_backward(fw, &gv, 1.0f);
        CHECK(fabs(loss - r.loss) <= 1e-4 * fabs(r.loss), "case %d: loss %.8f vs PyTorch %.8f", ci, loss, r.loss);
        double wr = worst_rel(&r.c, g, r.grads);
        CHECK(wr <= 1e-4, "case %d: gradients differ from PyTorch by %g of their scale", ci, wr);
        /* the step: clip, AdamW with decay on matrices only */
        uint8_t *mask = malloc((size_t)r.n);
        tmodel_decay_mask(&r.c, mask);
        adamw o;
        adamw_init(&o, &(adamw_cfg){ r.b1, r.b2, r.eps, r.wd }, (size_t)r.n, mask);
        double gn = adamw_clip(g, (size_t)r.n, r.clip);
        CHECK(fabs(gn - r.gnorm) <= 1e-4 * r.gnorm, "case %d: grad norm %g vs %g", ci, gn, r.gnorm);
        adamw_step(&o, pl, m->data, g, r.lr);
        double e = 0;
        for (int64_t i = 0; i < r.n; i++) e = fmax(e, fabs((double)m->data[i] - r.after[i]));
        CHECK(e <= 1e-4 * r.lr * 10, "case %d: weights after one AdamW step differ by %g", ci, e);
        adamw_fini(&o);
        free(mask);
        tmodel_view_fini(&gv);
        free(g);
        tfwd_destroy(fw);
        tmodel_destroy(m);
        free_case(&r);
    }
    if (f) fclose(f);
}

/* Whole-model gradient of a few weights against central differences of the
 * float forward (a loose check that the graph is wired as the ops are). */
static void test_model_fd(pool *pl) {
    tmodel_cfg c = { 19, 8, 12, 2, 2, 1, 16, 10000.0f, 1e-5f, true };
    tmodel *m;
    char err[256];
    CHECK(tmodel_create_random(&m, &c, 7, err, sizeof err) == 0, "%s", err);
    for (size_t i = 0; i < m->n_params; i++) m->data[i] *= 20;   /* away from the linear regime */
    int32_t tk[2 * 5] = { 1, 4, 7, 2, 9, 3, 3, 18, 0, 5 }, tg[2 * 5] = { 4, 7, 2, 9, -1, 3, 18, 0, 5, 6 };
    tfwd *fw = tfwd_create(m, 2, 5, pl);
    float *g = calloc(m->n_params, 4);
    tmodel_w gv;
    tmodel_view(&c, g, &gv);
    tfwd_forward(fw, tk, tg, NULL);
    tfwd_backward(fw, &gv, 1.0f);
    double worst = 0, gmax = 0;
    for (size_t i = 0; i < m->n_params; i++) gmax = fmax(gmax, fabs(g[i]));
    for (size_t i = 0; i < m->n_params; i += 7) {
        float s = m->data[i];
        float h = 2e-3f;
        m->data[i] = s + h; double lp = tfwd_forward(fw, tk, tg, NULL);
        m->data[i] = s - h; double lm = tfwd_forward(fw, tk, tg, NULL);
        m->data[i] = s;
        double num = (lp - lm) / (2.0 * ((double)(s + h) - (double)s));
        worst = fmax(worst, fabs(num - g[i]) / gmax);
    }
    CHECK(worst < 1e-2, "whole-model finite differences: worst relative error %g", worst);
    tmodel_view_fini(&gv);
    free(g);
    tfwd_destroy(fw);
    tmodel_destroy(m);
}

/* The GGUF written from trained weights gives the logits the trainer saw. */
static void test_gguf_roundtrip(pool *pl) {
    char path[256], err[512];
    tok *tk = NULL;
    CHECK(tok_open(&tk, check_path(path, sizeof path, "models/stories260K.gguf"), err, sizeof err) == 0, "%s", err);
    if (!tk) return;
    tmodel_cfg c = { tok_n_vocab(tk), 32, 48, 2, 4, 2, 64, 10000.0f, 1e-5f, false };
    tmodel *m;
    CHECK(tmodel_create_random(&m, &c, 3, err, sizeof err) == 0, "%s", err);
    for (size_t i = 0; i < m->n_params; i++) m->data[i] *= 20;   /* logits far from uniform */
    enum { T = 12 };
    int32_t tks[T], tg[T];
    for (int i = 0; i < T; i++) { tks[i] = (i * 37 + 1) % c.n_vocab; tg[i] = -1; }
    tfwd *fw = tfwd_create(m, 1, T, pl);
    tfwd_forward(fw, tks, tg, NULL);
    snprintf(path, sizeof path, "/tmp/test_train_%d.gguf", (int)getpid());
    CHECK(tmodel_write_gguf(m, path, "test", tk, NULL, NULL, err, sizeof err) == 0, "write: %s", err);
    model *mm = NULL;
    CHECK(model_open(&mm, path, NULL, err, sizeof err) == 0, "reopen: %s", err);
    if (mm) {
        ctx *cx = NULL;
        ctx_params cp;
        ctx_params_default(&cp);
        cp.n_ctx = 64;
        cp.n_threads = 1;
        CHECK(ctx_create(&cx, mm, &cp, err, sizeof err) == 0, "ctx: %s", err);
        float *lg = malloc(sizeof(float) * T * c.n_vocab);
        int rc = -1;
        if (cx) {
            ctx_entry be[T];
            int32_t sq = ctx_seq_create(cx);
            for (int i = 0; i < T; i++) be[i] = (ctx_entry){ sq, i, tks[i], true };
            rc = ctx_eval(cx, be, T, err, sizeof err);
            for (int i = 0; i < T && rc == 0; i++)
                memcpy(lg + (size_t)i * c.n_vocab, ctx_logits(cx, i), sizeof(float) * c.n_vocab);
        }
        CHECK(rc == 0, "eval: %s", err);
        double e = 0, mx = 0;
        const float *tl = tfwd_logits(fw);
        for (int i = 0; i < T * c.n_vocab; i++) {
            e = fmax(e, fabs((double)lg[i] - tl[i]));
            mx = fmax(mx, fabs((double)tl[i]));
        }
        CHECK(rc == 0 && e <= 1e-4 * mx, "served logits differ from training-time logits by %g (scale %g)", e, mx);
        free(lg);
        ctx_destroy(cx);
        /* the vocabulary came through: same encoding */
        int32_t a[64], b[64];
        int na = tok_encode(tk, "Once upon a time", 16, true, false, a, 64, err, sizeof err);
        int nb = tok_encode(model_tok(mm), "Once upon a time", 16, true, false, b, 64, err, sizeof err);
        CHECK(na == nb && na > 0 && memcmp(a, b, sizeof(int32_t) * (size_t)na) == 0, "tokenizer survives");
        CHECK(model_get_info(mm)->chat_template == NULL, "no chat template unless asked");
        model_close(mm);
    }
    /* a chat template asked for is written, over a source's too, and the
     * workbench recognises its family */
    for (int k = CHAT_LLAMA3; k <= CHAT_ZEPHYR; k++)
        CHECK(chat_detect(chat_template_source(k)) == k, "the %s template is detected as %s", chat_name(k),
              chat_name(chat_detect(chat_template_source(k))));
    CHECK(chat_template_source(CHAT_NONE) == NULL, "no template for none");
    CHECK(tmodel_write_gguf(m, path, "test", tk, NULL, chat_template_source(CHAT_CHATML), err, sizeof err) == 0,
          "write with a template: %s", err);
    mm = NULL;
    CHECK(model_open(&mm, path, NULL, err, sizeof err) == 0, "reopen: %s", err);
    if (mm) {
        CHECK(chat_detect(model_get_info(mm)->chat_template) == CHAT_CHATML, "the template is in the GGUF");
        char p2[300];
        snprintf(p2, sizeof p2, "%s.2", path);
        CHECK(tmodel_write_gguf(m, p2, "test", tk, model_gguf(mm), chat_template_source(CHAT_GEMMA), err,
                                sizeof err) == 0, "write over a source's template: %s", err);
        model *m2 = NULL;
        CHECK(model_open(&m2, p2, NULL, err, sizeof err) == 0, "reopen: %s", err);
        if (m2) CHECK(chat_detect(model_get_info(m2)->chat_template) == CHAT_GEMMA, "the source's template replaced");
        model_close(m2);
        unlink(p2);
        model_close(mm);
    }
    unlink(path);
    tfwd_destroy(fw);
    tmodel_destroy(m);
    tok_destroy(tk);
}


static tok *tok260k(void) {
    char path[256], err[512];
    tok *tk = NULL;
    if (tok_open(&tk, check_path(path, sizeof path, "models/stories260K.gguf"), err, sizeof err))
        fprintf(stderr, "%s\n", err);
    return tk;
}

static void write_file(const char *path, const char *s, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f) { fwrite(s, 1, n, f); fclose(f); }
}

static int one_row(tdata *d, int T, int32_t *tks, int32_t *tgs);

static void test_data(const tok *tk) {
    char err[512], path[256];
    tdata *d = tdata_create(tk, 48, 1, 0.0);   /* all three documents fit one row */
    const char *text = "Once upon a time.\n\nThe dog ran.\n\n\n\nA cat sat.";
    CHECK(tdata_add_text(d, "t", text, strlen(text), "\n\n", err, sizeof err) == 0, "%s", err);
    CHECK(tdata_finish(d, err, sizeof err) == 0, "%s", err);
    CHECK(tdata_n_rows(d, TDATA_TRAIN) == 1, "text rows: %lld", (long long)tdata_n_rows(d, TDATA_TRAIN));
    int32_t tks[48], tgs[48];
    tdata_batch(d, 0, 0, 1, tks, tgs);
    CHECK(tks[0] == tok_bos(tk) && tgs[0] == tks[1], "a document starts with BOS");
    int eos = 0, bos = 0, ign = 0;
    for (int i = 0; i < 48; i++) { eos += tgs[i] == tok_eos(tk); bos += tks[i] == tok_bos(tk); ign += tgs[i] < 0; }
    CHECK(eos == 3 && bos == 3, "three documents (the empty one skipped): %d EOS, %d BOS", eos, bos);
    CHECK(ign > 0, "padding past the end is not counted");
    tdata_destroy(d);

    /* JSONL: the loss counts only the completion and its EOS */
    snprintf(path, sizeof path, "/tmp/test_train_%d.jsonl", (int)getpid());
    const char *jl = "{\"prompt\": \"Q: the dog\", \"completion\": \" ran away\"}\n\n{\"completion\": \"yes\"}\n";
    write_file(path, jl, strlen(jl));
    d = tdata_create(tk, 24, 1, 0.0);
    CHECK(tdata_add_jsonl_file(d, path, err, sizeof err) == 0, "%s", err);
    CHECK(tdata_finish(d, err, sizeof err) == 0 && tdata_n_rows(d, TDATA_TRAIN) == 2, "two example rows");
    int32_t ids[64];
    int nc = tok_encode_cont(tk, " ran away", 9, false, ids, 64, err, sizeof err);
    int ny = tok_encode_cont(tk, "yes", 3, false, ids, 64, err, sizeof err);
    /* a completion continues its prompt: " ran" is the token a model generates, with no dummy-prefix space */
    int32_t row[24], tg[24];
    tdata *d1 = tdata_create(tk, 23, 1, 0.0);
    CHECK(tdata_add_example(d1, "one", "Q: the dog", 10, " ran away", 9, err, sizeof err) == 0 &&
          one_row(d1, 23, row, tg) == 23, "one example: %s", err);
    tdata_destroy(d1);
    int32_t ran = tok_find(tk, "\xe2\x96\x81ran", 4), space = tok_find(tk, "\xe2\x96\x81", 3);
    bool has_ran = false, lone = false;
    for (int i = 1; i < 24; i++) {
        if (tg[i - 1] >= 0 && row[i] == ran) has_ran = true;
        if (tg[i - 1] >= 0 && row[i] == space) lone = true;
    }
    CHECK(ran >= 0 && has_ran && !lone, "the completion ' ran away' starts with the token '\u2581ran', no lone '\u2581'");
    CHECK(tdata_n_targets(d, TDATA_TRAIN) == nc + 1 + ny + 1, "counted %lld targets, want %d",
          (long long)tdata_n_targets(d, TDATA_TRAIN), nc + ny + 2);
    tdata_destroy(d);
    /* a line without a completion, and one that is too long, are named */
    jl = "{\"prompt\": \"a\", \"completion\": \"b\"}\n{\"prompt\": \"only a prompt\"}\n";
    write_file(path, jl, strlen(jl));
    d = tdata_create(tk, 24, 1, 0.0);
    CHECK(tdata_add_jsonl_file(d, path, err, sizeof err) != 0 && strstr(err, ".jsonl:2: no \"completion\""),
          "missing completion: %s", err);
    tdata_destroy(d);
    d = tdata_create(tk, 4, 1, 0.0);
    CHECK(tdata_add_example(d, "x.jsonl:7", "Once upon a time", 16, "there was a dog", 15, err, sizeof err) != 0 &&
          strstr(err, "x.jsonl:7") && strstr(err, "sequence length"), "too long: %s", err);
    /* empty and non-UTF-8 text */
    CHECK(tdata_add_text(d, "empty.txt", "", 0, "\n\n", err, sizeof err) != 0 && strstr(err, "empty.txt: no text"),
          "empty: %s", err);
    CHECK(tdata_add_text(d, "bin.txt", "ab\xff\xfe", 4, NULL, err, sizeof err) != 0 &&
          strstr(err, "bin.txt: not UTF-8") && strstr(err, "offset 2"), "not UTF-8: %s", err);
    CHECK(tdata_finish(d, err, sizeof err) != 0 && strstr(err, "no training data"), "no data: %s", err);
    tdata_destroy(d);
    unlink(path);
}

/* One example's row: its tokens and the targets that count (-1 elsewhere). */
/* Validation rows spread over a split added kind by kind: every kind is
 * validated on, in order, seeded, the same rows every time. */
static void test_val_spread(const tok *tk) {
    char err[512];
    int T = 16;
    tdata *d = tdata_create(tk, T, 5, 0.5);
    for (int k = 0; k < 2; k++)                      /* 80 of kind "apple", then 80 of kind "zebra" */
        for (int i = 0; i < 80; i++)
            CHECK(tdata_add_example(d, "ex", k ? "zebra" : "apple", 5, " yes", 4, err, sizeof err) == 0, "%s", err);
    CHECK(tdata_finish(d, err, sizeof err) == 0, "%s", err);
    int64_t n = tdata_n_rows(d, TDATA_VAL);
    CHECK(n > 40 && n < 120, "about half the rows validate: %lld", (long long)n);
    int32_t first_tok[2];
    for (int k = 0; k < 2; k++) {
        int32_t ids[16];
        char e[128];
        int32_t m = tok_encode(tk, k ? "zebra" : "apple", 5, true, false, ids, 16, e, sizeof e);
        CHECK(m >= 2, "tokenize");
        first_tok[k] = ids[1];
    }
    enum { NB = 2, B = 4 };
    int32_t tks[NB][B * 16], tgs[B * 16];
    int kinds[2] = { 0, 0 };
    int64_t prev = -1;
    for (int i = 0; i < NB; i++) {
        CHECK(tdata_val_batch(d, i, NB, B, tks[i], tgs), "validation batch %d", i);
        for (int b = 0; b < B; b++) {
            int32_t t1 = tks[i][b * T + 1];
            kinds[t1 == first_tok[1]] += t1 == first_tok[0] || t1 == first_tok[1];
            int64_t j = i * B + b, r = tdata_val_row(d, j, NB * B);
            CHECK(r > prev && r >= j * n / (NB * B) && r < (j + 1) * n / (NB * B),
                  "row %lld of %d is %lld: in its stretch, after the previous", (long long)j, NB * B, (long long)r);
            prev = r;
        }
    }
    CHECK(kinds[0] + kinds[1] == NB * B && kinds[0] >= 3 && kinds[1] >= 3,
          "both kinds validated: %d apple, %d zebra rows (the first rows of the split are all apple)", kinds[0], kinds[1]);
    int32_t again[B * 16];
    CHECK(tdata_val_batch(d, 1, NB, B, again, tgs) && memcmp(again, tks[1], sizeof again) == 0,
          "the same rows at every validation");
    CHECK(tdata_val_row(d, 3, 1000) == 3 % n, "a split smaller than the rows asked: all of it, wrapping");
    tdata_destroy(d);
}

static int one_row(tdata *d, int T, int32_t *tks, int32_t *tgs) {
    char err[256];
    if (tdata_finish(d, err, sizeof err) || tdata_n_rows(d, TDATA_TRAIN) != 1) return -1;
    tdata_batch(d, 0, 0, 1, tks, tgs);
    return T;
}

/* Chat-formatted examples: the row is BOS, the template's user turn and the
 * assistant's header (its markers special tokens), the completion, the turn's
 * end; the loss covers exactly the completion's tokens and the turn's end. The
 * expected text is written out here, not taken from chat_format. */
static void test_chat_data(const tok *spm) {
    char err[512], path[256];
    tok *l3 = NULL;
    CHECK(tok_open(&l3, check_path(path, sizeof path, "golden/tokenizer-llama3/tokenizer.json"), err, sizeof err) == 0,
          "llama3 tokenizer: %s", err);
    if (!l3) return;
    enum { T = 64 };
    int32_t tks[T], tgs[T], want[2 * T];
    tdata *d = tdata_create(l3, T, 1, 0.0);
    tdata_set_chat(d, CHAT_LLAMA3);
    const char *prompt = "What is 2+2?", *completion = "It is 4.";
    CHECK(tdata_add_example(d, "chat", prompt, strlen(prompt), completion, strlen(completion), err, sizeof err) == 0,
          "%s", err);
    CHECK(one_row(d, T, tks, tgs) == T, "one chat row");
    const char *head = "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
                       "<|start_header_id|>assistant<|end_header_id|>\n\n";
    int n = 0;
    want[n++] = tok_bos(l3);
    int np = tok_encode(l3, head, strlen(head), false, true, want + n, T, err, sizeof err);
    CHECK(np > 0, "%s", err);
    n += np;
    int pend = n;                                  /* tokens before the completion */
    int nc = tok_encode_cont(l3, completion, strlen(completion), false, want + n, T, err, sizeof err);
    n += nc;
    int ne = tok_encode(l3, "<|eot_id|>", 10, false, true, want + n, T, err, sizeof err);
    CHECK(ne == 1, "<|eot_id|> is one token (%d)", ne);
    n += ne;
    CHECK(np > 6 && memcmp(tks, want, sizeof *want * (size_t)n) == 0, "the row is BOS, the formatted prompt "
          "(special tokens parsed), the completion and <|eot_id|>");
    bool exact = true;
    for (int i = 0; i + 1 < T; i++) {
        /* target i predicts token i+1: counted iff i+1 is a completion or end token */
        bool counted = i + 1 >= pend && i + 1 < n;
        if (counted ? tgs[i] != tks[i + 1] : tgs[i] != -1) exact = false;
    }
    CHECK(exact, "the loss mask covers exactly the completion's %d tokens and the turn's end", nc);
    CHECK(tdata_n_targets(d, TDATA_TRAIN) == nc + 1, "targets %lld, want %d", (long long)tdata_n_targets(d, TDATA_TRAIN),
          nc + 1);
    tdata_destroy(d);
    /* Llama 2 on an SPM vocabulary: [INST] ... [/INST], then the completion and EOS ("</s>") */
    d = tdata_create(spm, T, 1, 0.0);
    tdata_set_chat(d, CHAT_LLAMA2);
    CHECK(tdata_add_example(d, "chat", "Tell a story.", 13, " Once upon a time", 17, err, sizeof err) == 0, "%s", err);
    CHECK(one_row(d, T, tks, tgs) == T, "one llama2 row");
    n = 0;
    want[n++] = tok_bos(spm);
    n += tok_encode(spm, "[INST] Tell a story. [/INST]", 28, false, true, want + n, T, err, sizeof err);
    pend = n;
    nc = tok_encode_cont(spm, " Once upon a time", 17, false, want + n, T, err, sizeof err);
    n += nc;
    want[n++] = tok_eos(spm);
    CHECK(memcmp(tks, want, sizeof *want * (size_t)n) == 0, "llama2: the row");
    exact = true;
    for (int i = 0; i + 1 < T; i++) {
        bool counted = i + 1 >= pend && i + 1 < n;
        if (counted ? tgs[i] != tks[i + 1] : tgs[i] != -1) exact = false;
    }
    CHECK(exact && tdata_n_targets(d, TDATA_TRAIN) == nc + 1, "llama2: the mask is the completion and EOS");
    tdata_destroy(d);
    tok_destroy(l3);
}

static const char *STORY = "Once upon a time, there was a little dog named Max. Max loved to run in the park "
                           "with his red ball. One day, the ball went into the pond.";

typedef struct stopper { int64_t at; double first, last; double val[64]; int n_val; } stopper;
static int stop_at(void *ud, const train_stat *s) {
    stopper *st = ud;
    if (s->step == 1) st->first = s->loss;
    st->last = s->loss;
    if (!isnan(s->val_loss) && st->n_val < 64) st->val[st->n_val++] = s->val_loss;
    return st->at && s->step == st->at;
}

static void test_memorize(const tok *tk, pool *pl) {
    char err[512];
    tmodel_cfg c = { tok_n_vocab(tk), 32, 96, 2, 4, 2, 64, 10000.0f, 1e-5f, true };
    tmodel *m;
    tmodel_create_random(&m, &c, 5, err, sizeof err);
    tdata *d = tdata_create(tk, 48, 1, 0.0);
    CHECK(tdata_add_text(d, "story", STORY, strlen(STORY), NULL, err, sizeof err) == 0 &&
          tdata_finish(d, err, sizeof err) == 0, "%s", err);
    train_opts o;
    train_opts_default(&o);
    o.batch = 1; o.seq_len = 48; o.steps = 150; o.warmup = 10; o.lr = 1e-2f; o.lr_min = 1e-3f;
    o.weight_decay = 0.0f; o.val_every = 0;
    train *t;
    CHECK(train_create(&t, m, d, &o, pl, err, sizeof err) == 0, "%s", err);
    stopper st = { 0 };
    CHECK(train_run(t, stop_at, &st, err, sizeof err) == 0, "%s", err);
    CHECK(st.last < st.first, "loss decreases: %g -> %g", st.first, st.last);
    CHECK(st.last < 0.05, "a small model memorizes a short text: final loss %g (first %g)", st.last, st.first);
    train_destroy(t);
    tdata_destroy(d);
    tmodel_destroy(m);
}

/* Runs a seeded setup to `steps`; stop > 0 stops there (checkpoint) and a
 * fresh trainer resumes from the checkpoint. Returns the final weights. */
static float *run_resume(const tok *tk, pool *pl, pool *pl2, int stop, const char *ckpt, size_t *n, stopper *vals) {
    char err[512];
    tmodel_cfg c = { tok_n_vocab(tk), 32, 64, 2, 4, 2, 64, 10000.0f, 1e-5f, false };
    tmodel *m;
    tmodel_create_random(&m, &c, 9, err, sizeof err);
    tdata *d = tdata_create(tk, 16, 3, 0.2);
    const char *text = "One.\n\nTwo dogs ran.\n\nThree cats sat on a mat.\n\nFour birds sang.\n\nFive fish swam.";
    tdata_add_text(d, "t", text, strlen(text), "\n\n", err, sizeof err);
    /* enough validation rows (> val_batches x batch) that they are spread */
    for (int i = 0; i < 24; i++) {
        char ex[64];
        snprintf(ex, sizeof ex, "Example %d", i);
        tdata_add_example(d, "ex", ex, strlen(ex), " done.", 6, err, sizeof err);
    }
    tdata_finish(d, err, sizeof err);
    CHECK(tdata_n_rows(d, TDATA_VAL) > 2, "resume test: %lld validation rows", (long long)tdata_n_rows(d, TDATA_VAL));
    train_opts o;
    train_opts_default(&o);
    o.batch = 2; o.seq_len = 16; o.accum = 2; o.steps = 12; o.warmup = 3; o.val_every = 4; o.val_batches = 1;
    o.ckpt_path = ckpt;
    train *t;
    train_create(&t, m, d, &o, pl, err, sizeof err);
    stopper st = { .at = stop };
    int rc = train_run(t, stop_at, &st, err, sizeof err);
    if (stop) {
        CHECK(rc == TRAIN_ESTOPPED, "stopped: %s", err);
        train_destroy(t);
        tmodel_destroy(m);
        tmodel_create_random(&m, &c, 1234, err, sizeof err);   /* other weights: the checkpoint must win */
        train_create(&t, m, d, &o, pl2, err, sizeof err);      /* maybe another thread count */
        CHECK(train_load(t, ckpt, err, sizeof err) == 0, "load: %s", err);
        CHECK(train_step_now(t) == stop, "resumed at step %lld", (long long)train_step_now(t));
        st.at = 0;
        rc = train_run(t, stop_at, &st, err, sizeof err);
    }
    CHECK(rc == 0, "run: %s", err);
    if (vals) *vals = st;
    *n = m->n_params;
    float *w = malloc(sizeof(float) * m->n_params);
    memcpy(w, m->data, sizeof(float) * m->n_params);
    train_destroy(t);
    tdata_destroy(d);
    tmodel_destroy(m);
    return w;
}

static void test_resume(const tok *tk, pool *pl) {
    char ck[256];
    snprintf(ck, sizeof ck, "/tmp/test_train_%d.ckpt", (int)getpid());
    size_t n1, n2;
    stopper va, vb;
    float *a = run_resume(tk, pl, pl, 0, ck, &n1, &va);
    float *b = run_resume(tk, pl, pl, 5, ck, &n2, &vb);
    CHECK(n1 == n2 && memcmp(a, b, sizeof(float) * n1) == 0, "resumed run equals the uninterrupted one bit for bit");
    /* validation at steps 4, 8, 12 (the stopped run's 4, the resumed run's 8
     * and 12, on the same spread rows): the same bits */
    CHECK(va.n_val == 3 && vb.n_val == 3, "validations: %d and %d", va.n_val, vb.n_val);
    CHECK(memcmp(va.val, vb.val, 3 * sizeof(double)) == 0,
          "the resumed run's validation losses equal the uninterrupted run's bit for bit");
    free(b);
    /* another thread count, with the project's own kernel: each output
     * element of a product is one thread's, summed in a fixed order, and the
     * other reductions are fixed too, so a run started on 2 threads and
     * resumed on 3 is the run of 1 thread. (OpenBLAS's result depends on the
     * slice of C each thread hands it, so with it resume is exact only at the
     * same thread count: docs/training.md.) */
    pool *p3 = pool_create(3);
    tgemm_set_impl(TGEMM_OWN);
    float *x = run_resume(tk, NULL, NULL, 0, ck, &n1, NULL);
    float *y = run_resume(tk, pl, p3, 5, ck, &n2, NULL);
    CHECK(n1 == n2 && memcmp(x, y, sizeof(float) * n1) == 0, "own kernel: 1 thread == 2 threads resumed on 3, bit for bit");
    free(x);
    free(y);
    tgemm_set_impl(TGEMM_AUTO);
    pool_destroy(p3);
    free(a);
    unlink(ck);
}

/* A disk that fills mid-checkpoint (a file size limit: writes fail with
 * EFBIG) keeps the last good checkpoint, and says so. */
static void test_disk_full(const tok *tk, pool *pl) {
    char err[512], ck[256];
    snprintf(ck, sizeof ck, "/tmp/test_train_full_%d.ckpt", (int)getpid());
    tmodel_cfg c = { tok_n_vocab(tk), 32, 64, 1, 4, 2, 64, 10000.0f, 1e-5f, true };
    tmodel *m;
    tmodel_create_random(&m, &c, 9, err, sizeof err);
    tdata *d = tdata_create(tk, 16, 3, 0.0);
    tdata_add_text(d, "t", STORY, strlen(STORY), NULL, err, sizeof err);
    tdata_finish(d, err, sizeof err);
    train_opts o;
    train_opts_default(&o);
    o.batch = 1; o.seq_len = 16; o.steps = 4; o.val_every = 0;
    train *t;
    train_create(&t, m, d, &o, pl, err, sizeof err);
    CHECK(train_save(t, ck, err, sizeof err) == 0, "first checkpoint: %s", err);
    size_t n0;
    char *good = check_slurp(ck, &n0);
    train_run(t, NULL, NULL, err, sizeof err);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 4096;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &lim);
    int rc = train_save(t, ck, err, sizeof err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    CHECK(rc == TRAIN_EIO && strstr(err, "last good checkpoint"), "full disk: %s", err);
    size_t n1;
    char *now = check_slurp(ck, &n1);
    CHECK(good && now && n0 == n1 && memcmp(good, now, n0) == 0, "the last good checkpoint survives");
    CHECK(train_load(t, ck, err, sizeof err) == 0 && train_step_now(t) == 0, "and loads: %s", err);
    /* the temporary beside it (fout.h: ".NAME.XXXXXX.tmp") is removed */
    char folder[256];
    snprintf(folder, sizeof folder, "%s", ck);
    *strrchr(folder, '/') = 0;
    int n_tmp = 0;
    DIR *dd = opendir(folder);
    const char *base = folder + strlen(folder) + 1;   /* this checkpoint's only: /tmp is shared */
    for (struct dirent *e; dd && (e = readdir(dd));)
        n_tmp += fout_is_temporary(e->d_name) && strncmp(e->d_name + 1, base, strlen(base)) == 0;
    if (dd) closedir(dd);
    CHECK(dd && n_tmp == 0, "no partial file left");
    /* a damaged checkpoint is refused */
    if (now && n1 > 100) {
        now[n1 / 2] ^= 1;
        write_file(ck, now, n1);
        CHECK(train_load(t, ck, err, sizeof err) == TRAIN_EFORMAT && strstr(err, "damaged"), "damaged: %s", err);
    }
    free(good);
    free(now);
    unlink(ck);
    /* a sequence longer than the model's context */
    train *t2;
    o.seq_len = 65;
    CHECK(train_create(&t2, m, d, &o, pl, err, sizeof err) == TRAIN_EINVAL && strstr(err, "context of 64"),
          "seq len above context: %s", err);
    train_destroy(t);
    tdata_destroy(d);
    tmodel_destroy(m);
}

int main(void) {
    pool *pl = pool_create(2);
    test_pytorch(NULL);
    test_pytorch(pl);
    test_model_fd(pl);
    test_gguf_roundtrip(pl);
    tok *tk = tok260k();
    CHECK(tk != NULL, "stories260K tokenizer");
    if (tk) {
        test_data(tk);
        test_chat_data(tk);
        test_val_spread(tk);
        test_memorize(tk, pl);
        test_resume(tk, pl);
        test_disk_full(tk, pl);
    }
    tok_destroy(tk);
    pool_destroy(pl);
    return check_done();
}
