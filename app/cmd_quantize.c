/* cmd_quantize: `logitlab quantize IN OUT TYPE` rewrites a GGUF with its 2-D
 * weights in TYPE; every metadata key is copied (general.file_type and
 * general.quantization_version updated), 1-D float tensors become F32.
 *
 * Each row goes through F32: qt_dequantize_row from whatever supported type
 * it has, then qt_quantize_row into the new one; a tensor already in its
 * destination type is copied byte for byte. Data streams from the input's
 * mapping to the writer a chunk of rows at a time (CHUNK_BYTES of output),
 * the rows of a chunk split over a thread pool. Rows that do not fill the
 * type's blocks follow qplan_pick's fallbacks.
 */
#include "cmd_quantize.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_convert.h"
#include "fout.h"
#include "gguf.h"
#include "ggufw.h"
#include "modelpath.h"
#include "pool.h"
#include "qplan.h"
#include "qtypes.h"
#include "store.h"

#define CHUNK_BYTES (32u << 20)

enum { O_THREADS, O_QUIET, O_JSON };
static const cli_opt opts[] = {
    { "threads", 't', "N", "threads (default: all cores)" },
    { "quiet", 'q', NULL, "print only the summary, not a line per tensor" },
    { "json", 0, NULL, "a JSON object per tensor written, then a JSON summary, on stdout" },
};
static const cli_spec spec = {
    "quantize", "[options] IN OUT TYPE",
    "Converts every 2-D weight tensor of the GGUF file IN (a path or a model name; a llama2.c checkpoint\n"
    "is converted to GGUF first, as `logitlab convert --exact-int8` does) to TYPE (f32, f16, bf16, q8_0,\n"
    "q4_0, q5_0, q4_K, q5_K, q6_K) and writes OUT with the same metadata. 1-D tensors are\n"
    "stored as F32. A tensor whose rows do not divide into TYPE's blocks keeps a wider\n"
    "type (K-quants: q5_0 or q8_0 when rows divide by 32, else f16; others: f16).",
    opts, (int)(sizeof opts / sizeof opts[0]), 3, 3,
};

static bool is_float_type(uint32_t t) { return t == QT_F32 || t == QT_F16 || t == QT_BF16; }

/* Destination type of a tensor, or -1 when it cannot be converted (the
 * reason in why). Non-float scalar tensors (I32, ...) are kept as they are. */
static int dest_type(const gguf_tensor *t, int target, const char **why) {
    const qt_traits *tr = qt_get((int)t->type);
    if (!tr) { *why = "an unknown type"; return -1; }
    bool weight = t->n_dims >= 2;
    if (tr->block == 1 && !is_float_type(t->type)) return (int)t->type; /* I8/I32/F64...: not weights */
    int out = weight ? qplan_pick(target, t->n_dims, t->ne[0]) : QT_F32;
    if (out != (int)t->type && !tr->supported) { *why = "a type logitlab cannot convert"; return -1; }
    return out;
}

static int copy_metadata(ggufw *w, const gguf *g, int target) {
    bool had_ft = false, had_qv = false;
    for (int64_t i = 0; i < gguf_n_kv(g); i++) {
        const char *k = gguf_kv_key(g, i);
        int rc;
        if (strcmp(k, "general.file_type") == 0) {
            rc = ggufw_set_u32(w, k, (uint32_t)qplan_ftype(target));
            had_ft = true;
        } else if (strcmp(k, "general.quantization_version") == 0) {
            had_qv = true;
            rc = ggufw_set_u32(w, k, 2);
        } else {
            rc = ggufw_copy_kv(w, k, gguf_kv_value(g, i));
        }
        if (rc) return rc;
    }
    if (!had_ft && ggufw_set_u32(w, "general.file_type", (uint32_t)qplan_ftype(target))) return -1;
    if (!had_qv && target != QT_F32 && ggufw_set_u32(w, "general.quantization_version", 2)) return -1;
    return 0;
}

typedef struct conv_job {
    const gguf_tensor *t;
    int out_type;
    uint64_t r0, r1;            /* rows of this chunk */
    size_t in_rb, out_rb;       /* row bytes in and out */
    uint8_t *out;
    float *scratch;             /* (nth, ne0) */
} conv_job;

static void conv_rows(void *arg, int ith, int nth) {
    conv_job *j = arg;
    long lo, hi;
    pool_split((long)(j->r1 - j->r0), ith, nth, &lo, &hi);
    int64_t n = (int64_t)j->t->ne[0];
    float *row = j->scratch + (size_t)ith * (size_t)n;
    for (long i = lo; i < hi; i++) {
        const uint8_t *src = (const uint8_t *)j->t->data + (j->r0 + (uint64_t)i) * j->in_rb;
        qt_dequantize_row((int)j->t->type, src, row, n);
        qt_quantize_row(j->out_type, row, j->out + (size_t)i * j->out_rb, n);
    }
}

static int convert_tensor(ggufw *w, const gguf_tensor *t, int out_type, pool *pl, char *err, size_t errlen) {
    if (out_type == (int)t->type) return ggufw_write_data(w, t->data, t->size, err, errlen);
    uint64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
    size_t in_rb = qt_row_size((int)t->type, (int64_t)t->ne[0]);
    size_t out_rb = qt_row_size(out_type, (int64_t)t->ne[0]);
    uint64_t per = CHUNK_BYTES / out_rb ? CHUNK_BYTES / out_rb : 1;
    if (per > rows) per = rows;
    uint8_t *buf = malloc((size_t)per * out_rb);
    float *scratch = malloc(sizeof(float) * (size_t)t->ne[0] * (size_t)pool_size(pl));
    int rc = -1;
    if (!buf || !scratch) { snprintf(err, errlen, "out of memory"); goto out; }
    for (uint64_t r0 = 0; r0 < rows; r0 += per) {
        uint64_t r1 = r0 + per < rows ? r0 + per : rows;
        conv_job j = { t, out_type, r0, r1, in_rb, out_rb, buf, scratch };
        pool_run(pl, conv_rows, &j);
        if (ggufw_write_data(w, buf, (size_t)(r1 - r0) * out_rb, err, errlen)) goto out;
    }
    rc = 0;
out:
    free(buf);
    free(scratch);
    return rc;
}

static void tensor_line(int i, int n, const gguf_tensor *t, int out_type, uint64_t out_size) {
    char shape[64];
    int k = 0;
    for (uint32_t d = 0; d < t->n_dims && k < (int)sizeof shape; d++)
        k += snprintf(shape + k, sizeof shape - (size_t)k, "%s%" PRIu64, d ? " x " : "", t->ne[d]);
    printf("[%4d/%d] %-32s %-18s %6s -> %-6s %10" PRIu64 " -> %10" PRIu64 " bytes\n", i + 1, n, t->name,
           shape, qt_get((int)t->type)->name, qt_get(out_type)->name, t->size, out_size);
}

/* --json: one object per tensor as it is written, as `convert --json` prints. */
static void tensor_json(int i, int n, const gguf_tensor *t, int out_type, uint64_t out_size, uint64_t written) {
    printf("{\"type\":\"progress\",\"tensor\":%d,\"tensors\":%d,\"name\":", i + 1, n);
    cli_put_json_str(stdout, t->name, strlen(t->name));
    printf(",\"from\":\"%s\",\"dtype\":\"%s\",\"bytes_in\":%" PRIu64 ",\"bytes\":%" PRIu64
           ",\"written\":%" PRIu64 "}\n", qt_get((int)t->type)->name, qt_get(out_type)->name, t->size, out_size,
           written);
    fflush(stdout);
}

enum { Q_LINES, Q_QUIET, Q_JSON };

/* in: the GGUF read; shown: the name the user gave (a llama2.c checkpoint's,
 * not its temporary GGUF's) */
static int quantize_run(const char *in, const char *shown, const char *outp, int target, int threads, int mode) {
    char err[1024], a[32], b[32];
    gguf *g = NULL;
    ggufw *w = NULL;
    pool *pl = NULL;
    int *types = NULL, rc = CLI_FAIL;
    double t0 = cli_now();
    if (gguf_open(&g, in, err, sizeof err)) return cli_fail("quantize", "%s", err);
    int64_t n = gguf_n_tensors(g);
    uint64_t out_bytes = 0;
    int fallbacks = 0;
    if (!(types = malloc(sizeof *types * (size_t)(n + 1))) || !(w = ggufw_create())) {
        cli_fail("quantize", "out of memory");
        goto out;
    }
    if (copy_metadata(w, g, target)) { cli_fail("quantize", "cannot copy the metadata"); goto out; }
    for (int64_t i = 0; i < n; i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        const char *why = "";
        if ((types[i] = dest_type(t, target, &why)) < 0) {
            cli_fail("quantize", "%s: tensor '%s' has %s (type %u)", shown, t->name, why, t->type);
            goto out;
        }
        bool weight = t->n_dims >= 2 && (is_float_type(t->type) || qt_get((int)t->type)->block > 1);
        if (weight && types[i] != target) fallbacks++;
        if (ggufw_add_tensor(w, t->name, (uint32_t)types[i], t->n_dims, t->ne)) {
            cli_fail("quantize", "cannot declare tensor '%s'", t->name);
            goto out;
        }
        out_bytes += qt_row_size(types[i], (int64_t)t->ne[0]) * t->ne[1] * t->ne[2] * t->ne[3];
    }
    if (!(pl = pool_create(threads))) { cli_fail("quantize", "cannot start the threads"); goto out; }
    if (ggufw_begin(w, outp, err, sizeof err)) { cli_fail("quantize", "%s", err); goto out; }
    uint64_t written = 0;
    for (int64_t i = 0; i < n; i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        if (convert_tensor(w, t, types[i], pl, err, sizeof err)) { cli_fail("quantize", "%s", err); goto out; }
        uint64_t sz = qt_row_size(types[i], (int64_t)t->ne[0]) * t->ne[1] * t->ne[2] * t->ne[3];
        written += sz;
        if (mode == Q_LINES) tensor_line((int)i, (int)n, t, types[i], sz);
        else if (mode == Q_JSON) tensor_json((int)i, (int)n, t, types[i], sz, written);
    }
    if (ggufw_end(w, err, sizeof err)) { cli_fail("quantize", "%s", err); goto out; }
    uint64_t in_bytes = 0;
    for (int64_t i = 0; i < n; i++) in_bytes += gguf_tensor_at(g, i)->size;
    if (mode == Q_JSON) {
        printf("{\"type\":\"done\",\"input\":");
        cli_put_json_str(stdout, shown, strlen(shown));
        printf(",\"output\":");
        cli_put_json_str(stdout, outp, strlen(outp));
        printf(",\"dtype\":\"%s\",\"tensors\":%" PRId64 ",\"wider\":%d,\"bytes_in\":%" PRIu64
               ",\"bytes\":%" PRIu64 ",\"seconds\":%.3f}\n", qt_get(target)->name, n, fallbacks, in_bytes,
               out_bytes, cli_now() - t0);
    } else {
        printf("quantized %s -> %s (%s): tensor data %s -> %s (%.1f%%), %" PRId64 " tensors, %d kept a wider "
               "type, %.1f s\n", shown, outp, qt_get(target)->name, cli_fmt_bytes(in_bytes, a, sizeof a),
               cli_fmt_bytes(out_bytes, b, sizeof b), in_bytes ? 100.0 * (double)out_bytes / (double)in_bytes : 0.0,
               n, fallbacks, cli_now() - t0);
    }
    rc = CLI_OK;
out:
    ggufw_destroy(w); /* unless completed, removes the temporary: an old OUT stays whole */
    pool_destroy(pl);
    free(types);
    gguf_close(g);
    return rc;
}

/* The GGUF of a llama2.c checkpoint that quantize reads, as a hidden
 * temporary beside OUT (".OUT.llama2c.XXXXXX.tmp", fout.h) that this process
 * holds locked (the descriptor returned; cmd_convert_write writes into it
 * through a stream of its own): a killed quantize leaves it unlocked, and the next quantize to OUT,
 * or a workspace that holds it, sweeps it once stale. Earlier killed ones of
 * OUT are swept here. The descriptor, or -1 with err set. */
static int l2c_tmp(const char *out, char *tmp, size_t cap, char *err, size_t errlen) {
    char name[PATH_MAX];
    if (snprintf(name, sizeof name, "%s.llama2c", out) >= (int)sizeof name) {
        snprintf(err, errlen, "%s: %s", out, strerror(ENAMETOOLONG));
        return -1;
    }
    const char *slash = strrchr(name, '/');
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - name) + (slash == name) : 1, slash ? name : ".");
    fout_sweep(dir, slash ? slash + 1 : name, 0, FOUT_STALE_S);
    const char *why;
    int fd = fout_tmp_create(name, 0600, tmp, cap, &why);
    if (fd < 0) snprintf(err, errlen, "%s: the checkpoint's temporary GGUF: %s", out, why);
    return fd;
}

int cmd_quantize(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc) return rc == CLI_HELP ? CLI_OK : rc;
    int target = qt_from_name(a.pos[2]);
    if (target < 0 || !qplan_is_target(target))
        return cli_usage_error("quantize", "unknown type '%s' (%s)", a.pos[2], qplan_type_list());
    long threads = 0;
    if ((rc = cli_int("quantize", "-t", a.val[O_THREADS], 1, 1024, &threads))) return rc;
    char in[4096], err[1024];
    if (mpath_find(a.pos[0], in, sizeof in, err, sizeof err)) return cli_fail("quantize", "%s", err);
    struct stat si, so;
    /* writing over the file being read would truncate the mapping under us */
    if (stat(in, &si) == 0 && stat(a.pos[1], &so) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
        return cli_usage_error("quantize", "IN and OUT are the same file");
    if (store_own_path_any(a.pos[1]))
        return cli_usage_error("quantize", "OUT %s is a file of a workspace (its data would be replaced)", a.pos[1]);
    /* a llama2.c checkpoint: through a GGUF of its exact weights first */
    char magic[4] = {0};
    FILE *f = fopen(in, "rb");
    size_t got = f ? fread(magic, 1, 4, f) : 0;
    if (f) fclose(f);
    int mode = a.val[O_JSON] ? Q_JSON : a.val[O_QUIET] ? Q_QUIET : Q_LINES;
    if (got == 4 && memcmp(magic, "GGUF", 4) == 0) return quantize_run(in, in, a.pos[1], target, (int)threads, mode);
    char tmp[PATH_MAX + 64];
    int fd = l2c_tmp(a.pos[1], tmp, sizeof tmp, err, sizeof err);
    if (fd < 0) return cli_fail("quantize", "%s", err);
    /* a stream on a copy of the descriptor: closing it leaves fd, and its
     * lock, open until the temporary is removed */
    int dfd = dup(fd);
    FILE *tf = dfd >= 0 ? fdopen(dfd, "wb") : NULL;
    if (!tf) {
        if (dfd >= 0) close(dfd);
        rc = cli_fail("quantize", "%s: the checkpoint's temporary GGUF: %s", a.pos[1], strerror(errno));
    } else {
        int cw = cmd_convert_write(in, tmp, tf, NULL, true, CONVERT_SILENT, err, sizeof err);
        if (fclose(tf) != 0 && !cw) {
            snprintf(err, sizeof err, "%.900s: write: %s", tmp, strerror(errno));
            cw = -1;
        }
        rc = cw ? cli_fail("quantize", "%s", err) : quantize_run(tmp, in, a.pos[1], target, (int)threads, mode);
    }
    unlink(tmp);
    close(fd);
    return rc;
}
