/* cmd_train: `logitlab train` (a new model of a shape) and `logitlab
 * finetune` (an existing F32/F16/BF16 GGUF or llama2.c model), both over
 * core/trun. Data files are positionals: *.jsonl are prompt/completion
 * lines, anything else text split into documents on --sep.
 *
 * Progress: on a terminal one live line (step, loss, tokens/s, time left);
 * with --json one JSON object per step on stdout, then a summary object.
 * Ctrl-C stops after the current step with a checkpoint; --resume continues.
 */
#include "cmd_train.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "modelpath.h"
#include "store.h"
#include "tgemm.h"
#include "trun.h"

typedef struct shape {
    const char *name;
    int32_t dim, ffn, n_layers, n_heads, n_kv_heads, ctx;
} shape;

/* llama2.c's TinyStories models (tied output), and a tiny one for tests */
static const shape shapes[] = {
    { "tiny", 32, 96, 2, 4, 2, 256 },
    { "stories260k", 64, 172, 5, 8, 4, 512 },
    { "stories15m", 288, 768, 6, 6, 6, 256 },
    { "stories42m", 512, 1376, 8, 8, 8, 1024 },
    { "stories110m", 768, 2048, 12, 12, 12, 1024 },
};
#define N_SHAPES ((int)(sizeof shapes / sizeof shapes[0]))

enum { O_SHAPE, O_DIMS, O_UNTIED, O_TOKENIZER, O_SEP, O_OUT, O_STEPS, O_BATCH, O_SEQ, O_ACCUM, O_LR, O_WARMUP,
       O_ADAMW, O_CLIP, O_SEED, O_VAL, O_CKPT, O_RESUME, O_THREADS, O_JSON, O_WS, O_GEMM, O_CHAT };
static const cli_opt opts[] = {
    { "shape", 0, "NAME", "train: tiny, stories260k (default), stories15m, stories42m, stories110m" },
    { "dims", 0, "D,F,L,H,KV,CTX", "train: explicit dim, ffn dim, layers, heads, kv heads, context" },
    { "untied", 0, NULL, "train: a separate output matrix (default: tied to the embedding)" },
    { "tokenizer", 'T', "PATH", "train: the vocabulary (GGUF, tokenizer.bin, tokenizer.json); finetune: "
                                "tokenizer.bin of a llama2.c model" },
    { "sep", 0, "STR", "document separator in text files (default: a blank line; \\n escapes work)" },
    { "output", 'o', "FILE", "the GGUF to write (required)" },
    { "steps", 0, "N", "optimizer steps (default 1000)" },
    { "batch", 'b', "B", "sequences per micro-batch (default 8)" },
    { "seq-len", 0, "T", "tokens per sequence (default 128; at most the model's context)" },
    { "accum", 0, "K", "micro-batches per step (gradient accumulation, default 1)" },
    { "lr", 0, "LR[,MIN]", "peak and final learning rate (default 1e-3,1e-4)" },
    { "warmup", 0, "N", "linear warmup steps (default: 10% of the steps, at most 100)" },
    { "adamw", 0, "B1,B2,EPS,WD", "AdamW settings (default 0.9,0.95,1e-8,0.1)" },
    { "clip", 0, "NORM", "clip the global gradient norm (default 1; 0 = off)" },
    { "seed", 0, "S", "seed of the weights, the split and the batches (default 1)" },
    { "val", 0, "FRAC[,EVERY[,N]]", "validation fraction, every EVERY steps over N batches (default 0.05,100,4)" },
    { "ckpt-every", 0, "N", "checkpoint every N steps (default 0: at the end and on Ctrl-C; -1: never)" },
    { "resume", 0, NULL, "continue from the run's checkpoint (same settings and data)" },
    { "threads", 't', "N", "threads (default: all cores)" },
    { "json", 0, NULL, "one JSON object per step on stdout" },
    { "workspace", 'w', "DIR", "workspace for the checkpoint and the run record (default " STORE_DEFAULT_DIR
                              "; 'none': checkpoint beside the output, no record)" },
    { "gemm", 0, "KIND", "matrix kernel: own (AVX-512 or AVX2/FMA; default with AVX-512) or blas (OpenBLAS)" },
    { "chat-template", 0, "NAME", "JSONL examples through a chat template: model (the model's own), llama3, "
                                  "chatml, llama2, gemma, phi3 or zephyr; loss on the completion and the turn's end" },
};
#define N_OPTS ((int)(sizeof opts / sizeof opts[0]))

static const cli_spec train_spec = {
    "train", "-o OUT.gguf [options] DATA...",
    "Trains a new Llama model (RMSNorm, RoPE, GQA, SwiGLU) on the CPU and writes an F32 GGUF with the\n"
    "tokenizer embedded. DATA: *.jsonl files of {\"prompt\", \"completion\"} lines (loss on the\n"
    "completion only), other files UTF-8 text split into documents on --sep and packed.",
    opts, N_OPTS, 1, CLI_MAX_POS,
};
static const cli_spec finetune_spec = {
    "finetune", "MODEL -o OUT.gguf [options] DATA...",
    "Trains an existing model further (GGUF F32/F16/BF16 or a llama2.c checkpoint; quantized models\n"
    "are refused) and writes an F32 GGUF with its tokenizer. DATA as for `logitlab train`.",
    opts, N_OPTS, 2, CLI_MAX_POS,
};

static volatile sig_atomic_t stop_flag;
static void on_sigint(int sig) { (void)sig; stop_flag = 1; }

typedef struct prog {
    bool json, tty;
    const char *cmd;
} prog;

static void fmt_time(double s, char *buf, size_t cap) {
    if (!(s >= 0) || s > 1e7) { snprintf(buf, cap, "?"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60) snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, cap, "%lds", t);
}

static void ready(void *ud, const trun_result *r, const char *kernel) {
    prog *p = ud;
    if (p->json) {
        if (r->warning[0]) {        /* a line before the steps: {"warning":..., "tokens":N, "unk_tokens":M} */
            printf("{\"warning\":");
            cli_put_json_str(stdout, r->warning, strlen(r->warning));
            printf(",\"tokens\":%lld,\"unk_tokens\":%lld}\n", (long long)r->tokens_text, (long long)r->tokens_unk);
            fflush(stdout);
        }
        return;
    }
    if (r->warning[0]) fprintf(stderr, "%s: warning: %s\n", p->cmd, r->warning);
    fprintf(stderr, "%s: %.2f M params, %lld training rows (%lld tokens in the loss), %lld validation rows, "
            "kernel %s, checkpoint %s%s\n", p->cmd, r->n_params / 1e6, (long long)r->rows_train,
            (long long)r->targets_train, (long long)r->rows_val, kernel, r->ckpt,
            r->resumed_from ? " (resumed)" : "");
    if (r->resumed_from) fprintf(stderr, "%s: resumed at step %lld\n", p->cmd, (long long)r->resumed_from);
}

static int on_step(void *ud, const train_stat *s) {
    prog *p = ud;
    if (p->json) {
        printf("{\"step\":%lld,\"steps\":%lld,\"loss\":", (long long)s->step, (long long)s->steps);
        cli_put_json_num(stdout, s->loss, 9);
        printf(",\"val_loss\":");
        cli_put_json_num(stdout, s->val_loss, 9);
        printf(",\"lr\":");
        cli_put_json_num(stdout, s->lr, 9);
        printf(",\"grad_norm\":");
        cli_put_json_num(stdout, s->grad_norm, 9);
        printf(",\"tok_per_s\":%.1f,\"elapsed_s\":%.3f,\"cpu_s\":%.3f,\"eta_s\":%.3f,\"checkpoint\":%s}\n",
               s->tok_per_s, s->elapsed_s, s->cpu_s, s->eta_s, s->checkpointed ? "true" : "false");
        fflush(stdout);
    } else if (p->tty || !isnan(s->val_loss) || s->step == s->steps) {
        char eta[32], val[32] = "";
        fmt_time(s->eta_s, eta, sizeof eta);
        if (!isnan(s->val_loss)) snprintf(val, sizeof val, "  val %.4f", s->val_loss);
        fprintf(stderr, "%sstep %lld/%lld  loss %.4f%s  lr %.2e  %.0f tok/s  left %s%s", p->tty ? "\r\033[K" : "",
                (long long)s->step, (long long)s->steps, s->loss, val, s->lr, s->tok_per_s, eta,
                p->tty && isnan(s->val_loss) && s->step < s->steps ? "" : "\n");
        fflush(stderr);
    }
    return stop_flag ? TRUN_STOP_INT : 0;
}

/* "a,b,c" into up to n floats; returns how many, or -1 */
static int floats(const char *s, float *out, int n) {
    int k = 0;
    while (s && *s && k < n) {
        char *e;
        double v = strtod(s, &e);
        if (e == s || (*e && *e != ',') || !isfinite(v)) return -1;
        out[k++] = (float)v;
        s = *e ? e + 1 : e;
    }
    return s && *s ? -1 : k;
}

static char *unescape(const char *s) {
    char *o = malloc(strlen(s) + 1), *w = o;
    if (!o) return NULL;
    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            *w++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
        } else {
            *w++ = *s;
        }
    }
    *w = 0;
    return o;
}

static int set_shape(const char *cmd, const cli_args *a, trun_spec *s) {
    const char *name = a->val[O_SHAPE] ? a->val[O_SHAPE] : "stories260k";
    const shape *sh = NULL;
    for (int i = 0; i < N_SHAPES; i++) if (strcmp(shapes[i].name, name) == 0) sh = &shapes[i];
    if (!sh) return cli_usage_error(cmd, "unknown shape '%s' (tiny, stories260k, stories15m, stories42m, stories110m)",
                                    name);
    s->cfg.dim = sh->dim; s->cfg.ffn_dim = sh->ffn; s->cfg.n_layers = sh->n_layers;
    s->cfg.n_heads = sh->n_heads; s->cfg.n_kv_heads = sh->n_kv_heads; s->cfg.ctx = sh->ctx;
    if (a->val[O_DIMS]) {
        float d[6];
        if (floats(a->val[O_DIMS], d, 6) != 6)
            return cli_usage_error(cmd, "--dims wants six numbers D,F,L,H,KV,CTX");
        /* whole numbers in range before the casts (99999999999 wrapped to a
         * negative context, an undefined float-to-int conversion) */
        for (int i = 0; i < 6; i++)
            if (!(d[i] >= 1 && d[i] <= (float)(1 << 24)) || d[i] != floorf(d[i]))
                return cli_usage_error(cmd, "--dims: each of D,F,L,H,KV,CTX must be a whole number from 1 to %d, "
                                       "got '%s'", 1 << 24, a->val[O_DIMS]);
        s->cfg.dim = (int32_t)d[0]; s->cfg.ffn_dim = (int32_t)d[1]; s->cfg.n_layers = (int32_t)d[2];
        s->cfg.n_heads = (int32_t)d[3]; s->cfg.n_kv_heads = (int32_t)d[4]; s->cfg.ctx = (int32_t)d[5];
    }
    s->cfg.tied = !a->val[O_UNTIED];
    s->cfg.n_vocab = 0;
    return CLI_OK;
}

static int set_opts(const char *cmd, const cli_args *a, trun_spec *s) {
    train_opts *o = &s->opts;
    long v;
    int rc;
    if ((rc = cli_int(cmd, "--batch", a->val[O_BATCH], 1, 1 << 16, (v = o->batch, &v)))) return rc;
    o->batch = (int)v;
    if ((rc = cli_int(cmd, "--seq-len", a->val[O_SEQ], 1, 1 << 20, (v = o->seq_len, &v)))) return rc;
    o->seq_len = (int)v;
    if ((rc = cli_int(cmd, "--accum", a->val[O_ACCUM], 1, 1 << 16, (v = o->accum, &v)))) return rc;
    o->accum = (int)v;
    if ((rc = cli_int(cmd, "--steps", a->val[O_STEPS], 1, 1L << 40, (v = (long)o->steps, &v)))) return rc;
    o->steps = v;
    o->warmup = o->steps / 10 < 100 ? o->steps / 10 : 100;
    if ((rc = cli_int(cmd, "--warmup", a->val[O_WARMUP], 0, 1L << 40, (v = (long)o->warmup, &v)))) return rc;
    o->warmup = v;
    if ((rc = cli_int(cmd, "--ckpt-every", a->val[O_CKPT], -1, 1L << 40, (v = 0, &v)))) return rc;
    o->ckpt_every = v;
    if ((rc = cli_u64(cmd, "--seed", a->val[O_SEED], &o->seed))) return rc;
    s->init_seed = o->seed;
    float f[4];
    int k;
    if (a->val[O_LR]) {
        if ((k = floats(a->val[O_LR], f, 2)) < 1) return cli_usage_error(cmd, "--lr wants LR or LR,MIN");
        /* each value named, with its range (!(x > 0) so that NaN fails too) */
        if (!(f[0] > 0))
            return cli_usage_error(cmd, "--lr %s: the learning rate LR = %g must be > 0", a->val[O_LR], f[0]);
        if (k > 1 && !(f[1] >= 0))
            return cli_usage_error(cmd, "--lr %s: the final learning rate MIN = %g must be >= 0", a->val[O_LR], f[1]);
        o->lr = f[0];
        o->lr_min = k > 1 ? f[1] : f[0] / 10;
    }
    if (a->val[O_ADAMW]) {
        if (floats(a->val[O_ADAMW], f, 4) != 4) return cli_usage_error(cmd, "--adamw wants B1,B2,EPS,WD");
        static const char *name[4] = { "B1 (beta1)", "B2 (beta2)", "EPS", "WD (weight decay)" };
        static const char *range[4] = { "in [0, 1)", "in [0, 1)", "> 0", ">= 0" };
        bool ok[4] = { f[0] >= 0 && f[0] < 1, f[1] >= 0 && f[1] < 1, f[2] > 0, f[3] >= 0 };
        for (int i = 0; i < 4; i++)
            if (!ok[i])
                return cli_usage_error(cmd, "--adamw %s: %s = %g must be %s", a->val[O_ADAMW], name[i], f[i], range[i]);
        o->beta1 = f[0]; o->beta2 = f[1]; o->eps = f[2]; o->weight_decay = f[3];
    }
    if (a->val[O_CLIP]) {
        if (floats(a->val[O_CLIP], f, 1) != 1 || !(f[0] >= 0))
            return cli_usage_error(cmd, "--clip %s: the norm must be a number >= 0 (0: off)", a->val[O_CLIP]);
        o->clip = f[0];
    }
    if (a->val[O_VAL]) {
        if ((k = floats(a->val[O_VAL], f, 3)) < 1 || f[0] < 0 || f[0] >= 1)
            return cli_usage_error(cmd, "--val wants FRAC[,EVERY[,N]] with 0 <= FRAC < 1");
        s->val_frac = f[0];
        if (k > 1) o->val_every = (int64_t)f[1];
        if (k > 2) o->val_batches = (int)f[2];
    }
    long th = 0;
    if ((rc = cli_int(cmd, "-t", a->val[O_THREADS], 1, 1024, &th))) return rc;
    s->n_threads = (int)th;
    return CLI_OK;
}

/* Whether a and b name one existing file (links and hard links too). */
static bool same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int run(const char *cmd, const cli_spec *sp, bool finetune, int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(sp, argc, argv, &a);
    if (rc) return rc == CLI_HELP ? CLI_OK : rc;
    if (!a.val[O_OUT]) return cli_usage_error(cmd, "-o OUT.gguf is required");
    trun_spec s;
    trun_spec_default(&s);
    if ((rc = set_opts(cmd, &a, &s))) return rc;
    if (finetune) {
        if (a.val[O_SHAPE] || a.val[O_DIMS] || a.val[O_UNTIED])
            return cli_usage_error(cmd, "the shape is the model's: --shape, --dims and --untied are for `train`");
    } else {
        if ((rc = set_shape(cmd, &a, &s))) return rc;
        if (!a.val[O_TOKENIZER]) return cli_usage_error(cmd, "a new model needs --tokenizer PATH");
    }
    /* the model and vocabulary are found by path or by name, as for every other command */
    char base_path[4096], tok_path[4096], ferr[2048];
    if (finetune) {
        if (mpath_find(a.pos[0], base_path, sizeof base_path, ferr, sizeof ferr)) return cli_fail(cmd, "%s", ferr);
        s.base_model = base_path;
    }
    s.tokenizer = NULL;
    if (a.val[O_TOKENIZER]) {
        if (mpath_find(a.val[O_TOKENIZER], tok_path, sizeof tok_path, ferr, sizeof ferr))
            return cli_fail(cmd, "--tokenizer: %s", ferr);
        s.tokenizer = tok_path;
    }
    s.chat_template = a.val[O_CHAT];
    if (a.val[O_GEMM]) {
        if (strcmp(a.val[O_GEMM], "own") == 0) tgemm_set_impl(TGEMM_OWN);
        else if (strcmp(a.val[O_GEMM], "blas") == 0) tgemm_set_impl(TGEMM_BLAS);
        else return cli_usage_error(cmd, "--gemm is own or blas");
    }
    const char *text[CLI_MAX_POS], *jsonl[CLI_MAX_POS];
    for (int i = finetune ? 1 : 0; i < a.npos; i++) {
        size_t n = strlen(a.pos[i]);
        if (n > 6 && strcmp(a.pos[i] + n - 6, ".jsonl") == 0) jsonl[s.n_jsonl++] = a.pos[i];
        else text[s.n_text++] = a.pos[i];
    }
    if (s.n_text + s.n_jsonl == 0) return cli_usage_error(cmd, "no data files");
    /* OUT is written over whatever it names: not a data file or the
     * vocabulary being read (a typo lost them), nor a workspace's database
     * (the GGUF replaced it); the base model itself may be (a model tuned
     * in place) */
    for (int i = finetune ? 1 : 0; i < a.npos; i++)
        if (same_file(a.val[O_OUT], a.pos[i]))
            return cli_usage_error(cmd, "-o %s is the data file %s: it would be overwritten", a.val[O_OUT], a.pos[i]);
    if (s.tokenizer && same_file(a.val[O_OUT], s.tokenizer))
        return cli_usage_error(cmd, "-o %s is the --tokenizer file: it would be overwritten", a.val[O_OUT]);
    const char *wcheck = a.val[O_WS] ? a.val[O_WS] : STORE_DEFAULT_DIR;
    if (strcmp(wcheck, "none") != 0 && store_own_path(wcheck, a.val[O_OUT]))
        return cli_usage_error(cmd, "-o %s is a file of the workspace %s itself (its data would be replaced)",
                               a.val[O_OUT], wcheck);
    s.text_files = text;
    s.jsonl_files = jsonl;
    char *sep = a.val[O_SEP] ? unescape(a.val[O_SEP]) : NULL;
    if (sep) s.sep = sep;
    s.output = a.val[O_OUT];
    s.resume = a.val[O_RESUME] != NULL;
    store *ws = NULL;
    const char *wdir = a.val[O_WS] ? a.val[O_WS] : STORE_DEFAULT_DIR;
    char err[2048];
    if (strcmp(wdir, "none") != 0) {
        if (store_open(&ws, wdir, NULL, err, sizeof err)) { free(sep); return cli_fail(cmd, "%s", err); }
        s.ws = ws;
    }
    prog p = { a.val[O_JSON] != NULL, isatty(STDERR_FILENO), cmd };
    stop_flag = 0;
    struct sigaction old;               /* an inherited SIG_IGN is kept (cli_sigint_catch) */
    bool caught = cli_sigint_catch(on_sigint, &old);
    trun_result res;
    rc = trun_run(&s, ready, on_step, &p, &res, err, sizeof err);
    cli_sigint_restore(caught, &old);
    store_close(ws);
    free(sep);
    if (rc == TRAIN_ESTOPPED) {
        if (p.json) printf("{\"stopped\":true,\"step\":%lld,\"checkpoint\":\"%s\"}\n", (long long)res.steps, res.ckpt);
        return cli_fail(cmd, "%s; the checkpoint %s holds it: run again with --resume to continue", err, res.ckpt);
    }
    if (rc) return cli_fail(cmd, "%s", err);
    if (p.json) {
        printf("{\"done\":true,\"output\":");
        cli_put_json_str(stdout, s.output, strlen(s.output));
        printf(",\"steps\":%lld,\"loss\":", (long long)res.steps);
        cli_put_json_num(stdout, res.loss, 9);
        printf(",\"val_loss\":");
        cli_put_json_num(stdout, res.val_loss, 9);
        printf(",\"params\":%zu,\"run\":%lld,\"data_sha256\":\"%s\"}\n", res.n_params, (long long)res.run_id,
               res.data_sha256);
    } else {
        printf("wrote %s: %.2f M params, %lld steps, loss %.4f", s.output, res.n_params / 1e6, (long long)res.steps,
               res.loss);
        if (!isnan(res.val_loss)) printf(", validation %.4f", res.val_loss);
        if (res.run_id) printf(", run %lld", (long long)res.run_id);
        printf("\n");
    }
    return CLI_OK;
}

int cmd_train(int argc, char **argv) { return run("train", &train_spec, false, argc, argv); }
int cmd_finetune(int argc, char **argv) { return run("finetune", &finetune_spec, true, argc, argv); }
