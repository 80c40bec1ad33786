/* cmd_info: `logitlab info MODEL` describes any GGUF (model or vocabulary only)
 * or llama2.c checkpoint: header, every metadata key, the tensor table,
 * totals, and the hyperparameters the engine derives (model_info).
 *
 * The GGUF is read with gguf_open alone, so files the engine cannot run
 * (other architectures, unsupported types, vocabularies) are still listed;
 * the model and tokenizer sections are best effort and say why when they
 * cannot be loaded. Text output is for people (long strings and arrays are
 * shortened); --json prints one object with the same content.
 */
#include "cmd_info.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gguf.h"
#include "model.h"
#include "modelpath.h"
#include "qplan.h"
#include "qtypes.h"
#include "tok.h"

#define STR_SHOW 72   /* bytes of a string value shown in text mode */
#define ARR_SHOW 6    /* array elements shown */

enum { O_JSON, O_TOKENIZER };
static const cli_opt opts[] = {
    { "json", 0, NULL, "print one JSON object" },
    { "tokenizer", 0, "PATH", "llama2.c checkpoints: the tokenizer.bin (default: beside the model)" },
};
static const cli_spec spec = {
    "info", "[options] [MODEL]",
    "Describes a GGUF file (a model or a vocabulary) or a llama2.c checkpoint: format,\n"
    "metadata, tensors, totals and the derived hyperparameters. MODEL is a path or a\n"
    "name looked up in models/ and ../shared/models (default: $LOGITLAB_MODEL, then "
    MPATH_DEFAULT_MODEL ").",
    opts, (int)(sizeof opts / sizeof opts[0]), 0, 1,
};

/* One row of the tensor table, from a GGUF or synthesised for llama2.c. */
typedef struct trow {
    char name[96];
    uint32_t type, n_dims;
    uint64_t ne[4], size, offset;
    char stored[16];        /* llama2.c version 2: "i8/g64" (int8 groups); else "" */
    int32_t loaded;         /* llama2.c: the type the engine computes with, -1 unused */
} trow;

typedef struct info {
    const char *path;
    gguf *g;                /* NULL for llama2.c */
    model *m;               /* NULL when not loadable */
    tok *own_tok;           /* vocabulary-only GGUFs */
    const tok *t;
    char model_err[512], tok_err[512];
    trow *rows;
    int64_t n_rows;
} info;

static const char *type_name(uint32_t type, char *buf, size_t cap) {
    const qt_traits *tr = qt_get((int)type);
    if (tr) return tr->name;
    snprintf(buf, cap, "type%u", type);
    return buf;
}

static uint64_t n_elems(const trow *r) { return r->ne[0] * r->ne[1] * r->ne[2] * r->ne[3]; }

/* ---- metadata values ---- */

static void put_scalar(FILE *f, const gguf_value *v, bool json, size_t max_str) {
    switch (v->type) {
    case GGUF_T_U8: case GGUF_T_U16: case GGUF_T_U32: case GGUF_T_U64:
        fprintf(f, "%" PRIu64, v->num.u); break;
    case GGUF_T_I8: case GGUF_T_I16: case GGUF_T_I32: case GGUF_T_I64:
        fprintf(f, "%" PRId64, v->num.i); break;
    case GGUF_T_F32: cli_put_json_num(f, v->num.f, 9); break;
    case GGUF_T_F64: cli_put_json_num(f, v->num.f, 17); break;
    case GGUF_T_BOOL: fputs(v->num.b ? "true" : "false", f); break;
    case GGUF_T_STRING:
        if (json) { cli_put_json_str(f, v->str, v->str_len); break; }
        fputc('"', f);
        cli_put_escaped(f, v->str, v->str_len, max_str);
        fputc('"', f);
        if (max_str && v->str_len > max_str) fprintf(f, " (%" PRIu64 " bytes)", v->str_len);
        break;
    default: fputs(json ? "null" : "?", f);
    }
}

/* Text: "[a, b, c, ...]"; JSON: the first elements as an array. Nested
 * arrays are shown by element type and count only. */
static void put_array_head(FILE *f, const gguf_value *v, bool json) {
    fputc('[', f);
    uint64_t n = v->arr_n < ARR_SHOW ? v->arr_n : ARR_SHOW;
    for (uint64_t i = 0; i < n; i++) {
        gguf_value e;
        if (i) fputs(json ? "," : ", ", f);
        if (gguf_arr_get(v, i, &e)) { fputs("null", f); continue; }
        if (e.type == GGUF_T_ARRAY) {
            if (json) fprintf(f, "{\"elem_type\":\"%s\",\"count\":%" PRIu64 "}", gguf_type_name(e.arr_type), e.arr_n);
            else fprintf(f, "%s[%" PRIu64 "]", gguf_type_name(e.arr_type), e.arr_n);
        } else {
            put_scalar(f, &e, json, 24);
        }
    }
    if (!json && v->arr_n > n) fputs(", ...", f);
    fputc(']', f);
}

static void text_metadata(const gguf *g) {
    int64_t n = gguf_n_kv(g);
    printf("\nmetadata (%" PRId64 " keys):\n", n);
    for (int64_t i = 0; i < n; i++) {
        const gguf_value *v = gguf_kv_value(g, i);
        char ty[48];
        if (v->type == GGUF_T_ARRAY)
            snprintf(ty, sizeof ty, "%s[%" PRIu64 "]", gguf_type_name(v->arr_type), v->arr_n);
        else snprintf(ty, sizeof ty, "%s", gguf_type_name(v->type));
        printf("  %-44s %-16s ", gguf_kv_key(g, i), ty);
        if (v->type == GGUF_T_ARRAY) put_array_head(stdout, v, false);
        else put_scalar(stdout, v, false, STR_SHOW);
        putchar('\n');
    }
}

static void json_metadata(const gguf *g) {
    printf(",\"metadata\":[");
    for (int64_t i = 0; i < gguf_n_kv(g); i++) {
        const gguf_value *v = gguf_kv_value(g, i);
        const char *k = gguf_kv_key(g, i);
        printf("%s{\"key\":", i ? "," : "");
        cli_put_json_str(stdout, k, strlen(k));
        printf(",\"type\":\"%s\"", gguf_type_name(v->type));
        if (v->type == GGUF_T_ARRAY) {
            printf(",\"elem_type\":\"%s\",\"count\":%" PRIu64 ",\"head\":", gguf_type_name(v->arr_type), v->arr_n);
            put_array_head(stdout, v, true);
        } else {
            printf(",\"value\":");
            put_scalar(stdout, v, true, 0);
        }
        putchar('}');
    }
    putchar(']');
}

/* ---- tensors ---- */

static int rows_from_gguf(info *in) {
    in->n_rows = gguf_n_tensors(in->g);
    in->rows = calloc((size_t)in->n_rows + 1, sizeof *in->rows);
    if (!in->rows) return -1;
    for (int64_t i = 0; i < in->n_rows; i++) {
        const gguf_tensor *t = gguf_tensor_at(in->g, i);
        trow *r = &in->rows[i];
        snprintf(r->name, sizeof r->name, "%s", t->name);
        r->type = t->type; r->n_dims = t->n_dims;
        memcpy(r->ne, t->ne, sizeof r->ne);
        r->size = t->size; r->offset = t->offset;
    }
    return 0;
}

/* llama2.c has no tensor table: list the arrays as the file holds them, with
 * GGUF names and byte offsets (model_l2c_arrays). */
static int rows_from_model(info *in) {
    const model_l2c_array *arr;
    int32_t n = model_l2c_arrays(in->m, &arr);
    in->rows = calloc((size_t)n + 1, sizeof *in->rows);
    if (!in->rows) return -1;
    int32_t group = model_get_info(in->m)->l2c_group;
    for (int32_t i = 0; i < n; i++) {
        trow *r = &in->rows[in->n_rows++];
        snprintf(r->name, sizeof r->name, "%s", arr[i].name);
        r->type = QT_F32; r->n_dims = arr[i].rows > 1 ? 2 : 1;
        r->ne[0] = (uint64_t)arr[i].cols; r->ne[1] = (uint64_t)arr[i].rows; r->ne[2] = r->ne[3] = 1;
        r->size = arr[i].size + arr[i].scale_size;
        r->offset = arr[i].offset;
        r->loaded = arr[i].loaded_type;
        if (arr[i].scale_size) snprintf(r->stored, sizeof r->stored, "i8/g%d", group);
    }
    return 0;
}

static void totals(const info *in, uint64_t *params, uint64_t *bytes) {
    *params = *bytes = 0;
    for (int64_t i = 0; i < in->n_rows; i++) {
        *params += n_elems(&in->rows[i]);
        *bytes += in->rows[i].size;
    }
}

static void text_tensors(const info *in) {
    char tb[16], sz[32];
    printf("\ntensors (%" PRId64 "):\n", in->n_rows);
    if (in->n_rows)
        printf("  %-32s %-6s %-22s %12s %12s\n", "name", "type", "shape", "bytes", "offset");
    for (int64_t i = 0; i < in->n_rows; i++) {
        const trow *r = &in->rows[i];
        char shape[64];
        int n = 0;
        for (uint32_t d = 0; d < r->n_dims && n < (int)sizeof shape; d++)
            n += snprintf(shape + n, sizeof shape - (size_t)n, "%s%" PRIu64, d ? " x " : "", r->ne[d]);
        printf("  %-32s %-6s %-22s %12" PRIu64 " %12" PRIu64 "%s%s\n", r->name,
               r->stored[0] ? r->stored : type_name(r->type, tb, sizeof tb), shape, r->size, r->offset,
               r->stored[0] ? "  as " : r->loaded < 0 && !in->g ? "  (unused: RoPE is computed)" : "",
               r->stored[0] ? type_name((uint32_t)r->loaded, tb, sizeof tb) : "");
    }
    uint64_t params, bytes;
    totals(in, &params, &bytes);
    printf("\ntotals: %" PRId64 " tensors, %" PRIu64 " params, %" PRIu64 " bytes (%s)", in->n_rows,
           params, bytes, cli_fmt_bytes(bytes, sz, sizeof sz));
    if (params) printf(", %.2f bits per weight", 8.0 * (double)bytes / (double)params);
    putchar('\n');
}

static void json_tensors(const info *in) {
    char tb[16];
    printf(",\"tensors\":[");
    for (int64_t i = 0; i < in->n_rows; i++) {
        const trow *r = &in->rows[i];
        printf("%s{\"name\":", i ? "," : "");
        cli_put_json_str(stdout, r->name, strlen(r->name));
        printf(",\"type\":\"%s\",", r->stored[0] ? r->stored : type_name(r->type, tb, sizeof tb));
        if (!in->g) {
            if (r->loaded < 0) printf("\"loaded_type\":null,");
            else printf("\"loaded_type\":\"%s\",", type_name((uint32_t)r->loaded, tb, sizeof tb));
        }
        printf("\"shape\":[");
        for (uint32_t d = 0; d < r->n_dims; d++) printf("%s%" PRIu64, d ? "," : "", r->ne[d]);
        printf("],\"size\":%" PRIu64 ",\"offset\":%" PRIu64 "}", r->size, r->offset);
    }
    uint64_t params, bytes;
    totals(in, &params, &bytes);
    printf("],\"totals\":{\"tensors\":%" PRId64 ",\"params\":%" PRIu64 ",\"bytes\":%" PRIu64
           ",\"bits_per_weight\":", in->n_rows, params, bytes);
    cli_put_json_num(stdout, params ? 8.0 * (double)bytes / (double)params : 0.0, 6);
    putchar('}');
}

/* ---- model and tokenizer ---- */

static void text_model(const info *in) {
    if (!in->m) {
        if (in->model_err[0]) printf("\nmodel: not loadable: %s\n", in->model_err);
        return;
    }
    const model_info *h = model_get_info(in->m);
    char tb[16], sz[32];
    printf("\nmodel:\n");
    printf("  %-16s %s (%s, %s)\n", "name", h->name, h->arch, h->format);
    printf("  %-16s vocab %d, dim %d, ffn %d, layers %d, heads %d, kv heads %d, head dim %d\n",
           "shape", h->n_vocab, h->dim, h->ffn_dim, h->n_layers, h->n_heads, h->n_kv_heads, h->head_dim);
    printf("  %-16s rope dim %d, rope base %g%s, rms eps %g, ctx train %d\n", "attention", h->rope_dim,
           (double)h->rope_base, h->has_rope_freqs ? " with rope_freqs" : "", (double)h->rms_eps, h->ctx_train);
    printf("  %-16s %s\n", "output", h->tied_output ? "tied to token_embd" : "separate output.weight");
    printf("  %-16s %s, file type %d (%s)\n", "weights", type_name((uint32_t)h->wtype, tb, sizeof tb),
           h->ftype, h->ftype >= 0 ? qplan_ftype_name(h->ftype) : "not set");
    printf("  %-16s %" PRIu64 " (%.1f M), %s\n", "params", h->n_params, (double)h->n_params / 1e6,
           cli_fmt_bytes(h->weight_bytes, sz, sizeof sz));
    printf("  %-16s %s\n", "chat template", h->chat_template ? "yes" : "no");
}

static const char *tok_kind_name(const tok *t) { return tok_kind(t) == TOK_BPE ? "bpe" : "spm"; }

static void text_tok(const info *in) {
    if (!in->t) {
        if (in->tok_err[0]) printf("\ntokenizer: not loadable: %s\n", in->tok_err);
        return;
    }
    const tok *t = in->t;
    printf("\ntokenizer: %s, %d tokens, bos %d, eos %d, eot %d, unk %d, add_bos %s\n", tok_kind_name(t),
           tok_n_vocab(t), tok_bos(t), tok_eos(t), tok_eot(t), tok_unk(t), tok_add_bos(t) ? "yes" : "no");
}

static void json_model(const info *in) {
    printf(",\"model\":");
    if (!in->m) {
        printf("null");
        if (in->model_err[0]) {
            printf(",\"model_error\":");
            cli_put_json_str(stdout, in->model_err, strlen(in->model_err));
        }
    } else {
        const model_info *h = model_get_info(in->m);
        char tb[16];
        printf("{\"name\":");
        cli_put_json_str(stdout, h->name, strlen(h->name));
        printf(",\"arch\":\"%s\",\"format\":\"%s\",\"n_vocab\":%d,\"dim\":%d,\"ffn_dim\":%d,"
               "\"n_layers\":%d,\"n_heads\":%d,\"n_kv_heads\":%d,\"head_dim\":%d,\"rope_dim\":%d,"
               "\"ctx_train\":%d,\"rope_base\":", h->arch, h->format, h->n_vocab, h->dim, h->ffn_dim,
               h->n_layers, h->n_heads, h->n_kv_heads, h->head_dim, h->rope_dim, h->ctx_train);
        cli_put_json_num(stdout, h->rope_base, 9);
        printf(",\"rms_eps\":");
        cli_put_json_num(stdout, h->rms_eps, 9);
        printf(",\"tied_output\":%s,\"has_rope_freqs\":%s,\"ftype\":%d,\"wtype\":\"%s\","
               "\"n_params\":%" PRIu64 ",\"weight_bytes\":%" PRIu64 ",\"chat_template\":%s}",
               h->tied_output ? "true" : "false", h->has_rope_freqs ? "true" : "false", h->ftype,
               type_name((uint32_t)h->wtype, tb, sizeof tb), h->n_params, h->weight_bytes,
               h->chat_template ? "true" : "false");
    }
    printf(",\"tokenizer\":");
    if (!in->t) { printf("null"); return; }
    const tok *t = in->t;
    printf("{\"kind\":\"%s\",\"n_vocab\":%d,\"bos\":%d,\"eos\":%d,\"eot\":%d,\"unk\":%d,\"add_bos\":%s}",
           tok_kind_name(t), tok_n_vocab(t), tok_bos(t), tok_eos(t), tok_eot(t), tok_unk(t),
           tok_add_bos(t) ? "true" : "false");
}

/* ---- loading ---- */

static bool is_gguf(const char *path) {
    char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    size_t n = fread(magic, 1, 4, f);
    fclose(f);
    return n == 4 && memcmp(magic, "GGUF", 4) == 0;
}

static int load(info *in, const char *tok_path, char *err, size_t errlen) {
    model_params mp = { .tokenizer_path = tok_path };
    if (!is_gguf(in->path)) {
        /* not GGUF: it must be a llama2.c checkpoint, and then the model is the whole story */
        if (model_open(&in->m, in->path, &mp, err, errlen)) return -1;
        in->t = model_tok(in->m);
        return rows_from_model(in);
    }
    if (gguf_open(&in->g, in->path, err, errlen)) return -1;
    if (rows_from_gguf(in)) { snprintf(err, errlen, "out of memory"); return -1; }
    if (gguf_get(in->g, "general.architecture") && gguf_n_tensors(in->g) > 0 &&
        model_open(&in->m, in->path, &mp, in->model_err, sizeof in->model_err) == 0)
        in->t = model_tok(in->m);
    if (!in->t && gguf_get(in->g, "tokenizer.ggml.model") &&
        tok_from_gguf(&in->own_tok, in->g, in->tok_err, sizeof in->tok_err) == 0)
        in->t = in->own_tok;
    return 0;
}

static void text_header(const info *in) {
    char sz[32];
    printf("file:      %s\n", in->path);
    if (in->g) {
        printf("format:    GGUF v%u, alignment %" PRIu64 ", data at byte %" PRIu64 ", %" PRIu64 " bytes (%s)\n",
               gguf_version(in->g), gguf_alignment(in->g), gguf_data_offset(in->g), gguf_file_size(in->g),
               cli_fmt_bytes(gguf_file_size(in->g), sz, sizeof sz));
        text_metadata(in->g);
    } else {
        const model_info *h = model_get_info(in->m);
        printf("format:    llama2.c checkpoint version %d (%s; %s", h->l2c_version,
               h->l2c_version == 0 ? "legacy 28-byte header" : "\"ak42\" magic, 256-byte header",
               h->tied_output ? "shared classifier" : "separate classifier");
        if (h->l2c_version == 2) printf("; int8 weights in groups of %d with fp32 scales", h->l2c_group);
        printf(")\n");
    }
}

static void json_header(const info *in) {
    printf("{\"file\":");
    cli_put_json_str(stdout, in->path, strlen(in->path));
    if (in->g) {
        printf(",\"format\":\"gguf\",\"version\":%u,\"alignment\":%" PRIu64 ",\"data_offset\":%" PRIu64
               ",\"file_size\":%" PRIu64, gguf_version(in->g), gguf_alignment(in->g),
               gguf_data_offset(in->g), gguf_file_size(in->g));
        json_metadata(in->g);
    } else {
        const model_info *h = model_get_info(in->m);
        printf(",\"format\":\"llama2.c\",\"version\":%d", h->l2c_version);
        if (h->l2c_version == 2) printf(",\"group_size\":%d", h->l2c_group);
        printf(",\"metadata\":[]");
    }
}

int cmd_info(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc) return rc == CLI_HELP ? CLI_OK : rc;
    char path[4096], err[1024];
    if (mpath_resolve(a.npos ? a.pos[0] : NULL, path, sizeof path, err, sizeof err))
        return cli_fail("info", "%s", err);
    info in = { .path = path };
    if (load(&in, a.val[O_TOKENIZER], err, sizeof err)) {
        rc = cli_fail("info", "%s", err);
    } else if (a.val[O_JSON]) {
        json_header(&in);
        json_tensors(&in);
        json_model(&in);
        printf("}\n");
    } else {
        text_header(&in);
        text_tensors(&in);
        text_model(&in);
        text_tok(&in);
    }
    free(in.rows);
    tok_destroy(in.own_tok);
    model_close(in.m);
    gguf_close(in.g);
    return rc;
}
