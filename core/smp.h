/* smp: samplers and logits processors over a candidates array, composed into
 * user-ordered chains (the shape of llama.cpp's sampler API).
 *
 * A processor is an smp {iface, ctx}: `apply` (required) rewrites a
 * candidates array in place (changes logits, drops candidates, or selects
 * one); `accept` (optional) is told each token that joined the text, for
 * stages with history such as penalties; `reset` forgets that history;
 * `destroy` frees ctx. A chain is itself an smp that applies its stages in
 * order, so chains nest and a custom processor (a proxy mix, a grammar) is
 * added the same way as the built-in ones.
 *
 * Built-in stages, in the names the chain spec uses:
 *   bias       logit bias / masks (logits_bias)
 *   penalties  repetition (CTRL, Keskar et al. 2019), frequency and presence
 *              (the OpenAI API's additive penalties) over the last N tokens
 *   temp       temperature; temp 0 keeps only the best token (greedy)
 *   top_k      the k best
 *   top_p      nucleus: the smallest set with mass >= p (Holtzman et al. 2020)
 *   min_p      tokens with p >= min_p * p_max (Nguyen et al. 2024)
 *   typical    locally typical sampling (Meister et al. 2022)
 *   greedy     selects the best candidate
 *   dist       selects by a seeded draw (PCG32, inverse CDF in id order)
 *
 * Ownership: smp_create_* return a new smp the caller destroys with
 * smp_destroy; smp_chain_add takes ownership of the stage. Candidates arrays
 * are the caller's (smp_cands_init / smp_cands_fini), allocated once per
 * vocabulary and refilled every step.
 */
#ifndef SMP_H
#define SMP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct logits_bias;

/* SMP_EMASK: a constraint stage (a grammar, gmatch.h) left no candidate. */
enum { SMP_OK = 0, SMP_EINVAL = -1, SMP_ENOMEM = -2, SMP_ENOSEL = -3, SMP_EMASK = -4 };

/* ---- candidates --------------------------------------------------------- */

typedef struct smp_cand {
    int32_t id;
    float logit;
    float p;            /* meaningful only while the array is normalized */
} smp_cand;

typedef struct smp_cands {
    smp_cand *data;     /* (cap) see `lazy` */
    int32_t n, cap;
    bool sorted;        /* data[0..n) in rank order: logit descending, then id ascending */
    bool normalized;    /* p == softmax(logit) over data[0..n) */
    int32_t selected;   /* index into data of the chosen token; -1 until a selector ran */
    /* lazy: data[] is not written yet; the candidates are the columns
     * col_id[i], col_logit[i] and (has_p) col_p[i], else p = 0. The
     * whole-row stages (top_p, typical, temp, dist) work on the columns;
     * any other stage, smp_cands_softmax / _sort / _sync, and the return of
     * the outermost smp_apply write data[] first. */
    bool lazy, has_p;
    bool dense;         /* lazy with ids 0..n-1 in order (a whole row): col_id is not written */
    bool id_order;      /* lazy with the ids ascending (a whole row, or a subset kept in order) */
    /* only_selected: set by a caller that reads no entry of data[] but
     * data[selected] after smp_sample / smp_apply (a pick's token, logit and
     * p): the outermost return then writes that entry alone and leaves the
     * rest in the columns until smp_cands_sync (or smp_cands_softmax). Saves
     * writing the kept candidates' structs (up to 1.5 MB at 128256). Kept by
     * smp_cands_set. */
    bool only_selected;
    /* p_e: lazy candidates whose col_p holds e = exp(l - max), has_p false
     * and normalized true: p = (float)(e * p_inv), the softmax's bits, is
     * computed when asked for (the outermost return writes the pick's; the
     * dist draw over a whole row leaves it so, saving a pass).
     * smp_cands_sync, smp_cands_softmax and the start of every stage
     * normalize the row first (smp_mass_settle); smp_cands_set clears it. */
    bool p_e;
    double p_inv;
    /* cut: lazy candidates that top-p or typical-p over a whole row has
     * cut but not compacted yet (smp_cut.c): the columns still hold cut_n
     * candidates, col_p their e = exp(l - max), and n counts the kept ones
     * (a key below cut_key, or equal to it with an id up to cut_id; their
     * p = e * cut_inv in float) once cut_counted (until then n is cut_n:
     * within a pick, only the draw, temp 1 and min-p see that; the
     * outermost smp_apply counts before it returns; since session 12 the cut's
     * own members' pass counts them as a rule). The dist draw picks
     * among them as it would among the compacted ones (cut_pick: the pick's
     * column), and min-p after top-p keeps its own among them as it would
     * among the compacted ones; any other stage, smp_cands_sync and
     * smp_cands_softmax compact them first (smp_mass_settle).
     * smp_cands_set clears it. */
    bool cut, cut_typical, cut_counted;
    bool cut_ties;      /* some candidate has cut_key and an id above cut_id */
    float cut_lb, cut_key, cut_inv, cut_max;   /* cut_max: the row's largest logit (e = exp(l - cut_max)) */
    /* cut_b: top-p's cut, with tmp_b still the bucket of cut_max - l at
     * scale cut_scale for each column (min-p reads it, session 11) */
    bool cut_b;
    float cut_scale;
    int32_t cut_id, cut_n, cut_pick;
    /* cut_dfast: the kept are those whose bucket (tmp_b) is in [cut_dk1,
     * cut_dk2] (none when cut_dk1 > cut_dk2) and cut_dm more, the crossing
     * buckets' kept members, whose columns are listed in (int32_t *)tmp_d +
     * cap: the draw's pass then reads the buckets, not the logits
     * (session 13) */
    bool cut_dfast;
    int32_t cut_dk1, cut_dk2, cut_dm;
    /* min-p right after top-p (session 13): the chain tells top-p min-p's
     * value (hint_min_p, 0: none); top-p's members' pass then also lists
     * the candidates in min-p's bucket le_bt or below (le_ok, le_n of them,
     * in (int32_t *)data, unused while the cut is pending), so min-p on its
     * pending cut needs no pass of its own. le_want: top-p asks for it. */
    float hint_min_p;
    bool le_want, le_ok;
    int32_t le_bt, le_n;
    /* range_ok: rmax is the largest column logit (NaN skipped, -inf when
     * none) and rmin the smallest above -inf (+inf when none), found by
     * smp_cands_set while it copied the row; cleared when any stage but the
     * penalties (which update it, session 11) and an empty bias has run
     * (smp_apply) or the columns are rewritten from data[], so only the
     * first whole-row stage of a pick uses them (saves it a pass). */
    bool range_ok;
    float rmax, rmin;
    int32_t depth;      /* smp_apply nesting */
    int32_t *col_id;    /* (cap) */
    /* col_logit: col_own, or the caller's row itself after
     * smp_cands_set_ref (borrowed: never written through; a stage that
     * changes logits makes them its own first, smp_mass_own, or writes its
     * result into col_own as it reads the row: the compactions); the row
     * is borrowed exactly while col_logit != col_own */
    float *col_logit;   /* (cap) */
    float *col_own;     /* (cap) */
    float *col_p;       /* (cap) */
    /* scratch for the whole-row passes (smp_mass.c) */
    float *tmp;         /* (cap) keys */
    uint16_t *tmp_b;    /* (cap) buckets */
    double *tmp_d;      /* (cap) the dist draw's prefix sums */
} smp_cands;

/* 40 bytes per token of cap (5 MB for 128256). */
int smp_cands_init(smp_cands *c, int32_t cap);   /* SMP_ENOMEM or 0 */
void smp_cands_fini(smp_cands *c);
/* Refills from a logits row (n <= cap), ids 0..n-1 in order, nothing
 * selected. The row goes into the columns (lazy): read data[] only after a
 * stage ran (smp_apply, smp_sample) or after smp_cands_sync. */
void smp_cands_set(smp_cands *c, const float *logits, int32_t n);
/* As smp_cands_set, but the columns read the row where it is instead of a
 * copy (session 15: the copy was 15-17 % of a top-p or typical-p pick at
 * 128256): the row must stay alive and unchanged while c is read, i.e.
 * until c is refilled (smp_cands_set / _set_ref) or finished, including
 * smp_cands_sync / smp_cands_softmax after the pick (lazy candidates left
 * by only_selected still read it). The library never writes the row: a
 * stage that changes logits works on its own copy. */
void smp_cands_set_ref(smp_cands *c, const float *logits, int32_t n);
/* Writes data[] from the columns when lazy (no-op otherwise). */
void smp_cands_sync(smp_cands *c);
/* Makes p the softmax of the current logits (no-op when normalized). */
void smp_cands_softmax(smp_cands *c);
/* Sorts into rank order (no-op when sorted). */
void smp_cands_sort(smp_cands *c);

/* ---- the processor interface ------------------------------------------- */

typedef struct smp smp;

typedef struct smp_iface {
    const char *name;                          /* "top_p"; shown by observers */
    int (*apply)(smp *s, smp_cands *c);        /* required; 0 or a negative SMP_E* */
    void (*accept)(smp *s, int32_t tok);       /* optional */
    void (*reset)(smp *s);                     /* optional */
    void (*destroy)(smp *s);                   /* optional: frees s->ctx */
} smp_iface;

struct smp {
    const smp_iface *iface;                    /* borrowed, usually static */
    void *ctx;                                 /* owned through iface->destroy */
    bool columns;                              /* apply handles lazy candidates (the
                                                * columns) itself; false from smp_create */
};

/* A processor from an interface and its state; NULL when out of memory (then
 * ctx is not freed). */
smp *smp_create(const smp_iface *iface, void *ctx);
void smp_destroy(smp *s);                      /* NULL is fine */
const char *smp_name(const smp *s);
int smp_apply(smp *s, smp_cands *c);
void smp_accept(smp *s, int32_t tok);
void smp_reset(smp *s);
/* Restarts every dist stage of s (s itself, or the stages of a chain,
 * nested chains included) with a new seed: the draws that follow are those
 * of smp_create_dist(seed). Returns how many stages it reseeded (0 for a
 * chain without dist: greedy, or a custom selector). Reseeding before each
 * token from (a draw seed, the token's index) makes every token's draw a
 * function of those two numbers alone, whatever ran before. */
int32_t smp_reseed(smp *s, uint64_t seed);
/* Applies s, then returns the selected token id, or SMP_ENOSEL when no stage
 * selected one (a chain without greedy/dist), or the stage's error. Does not
 * accept the token: call smp_accept once it joins the text. */
int32_t smp_sample(smp *s, smp_cands *c);

/* ---- built-in stages ----------------------------------------------------
 * Each returns NULL for an out-of-range value (smp_params_check says which)
 * or when out of memory. min_keep: truncations keep at least this many. */
smp *smp_create_greedy(void);
smp *smp_create_dist(uint64_t seed);
smp *smp_create_temp(float t);                           /* t >= 0 */
smp *smp_create_top_k(int32_t k);                        /* k <= 0: off */
smp *smp_create_top_p(float p, int32_t min_keep);        /* 0 < p <= 1 */
smp *smp_create_min_p(float p, int32_t min_keep);        /* 0 <= p <= 1 */
smp *smp_create_typical(float p, int32_t min_keep);      /* 0 < p <= 1 */
/* last_n: window of accepted tokens (0 off, -1 all of them). repeat > 0:
 * a seen token's logit l becomes l/repeat when l > 0, l*repeat otherwise;
 * then l -= count*freq + (count > 0)*presence. */
smp *smp_create_penalties(int32_t last_n, float repeat, float freq, float presence);
smp *smp_create_bias(const struct logits_bias *b);       /* copies b */

/* ---- chains ------------------------------------------------------------- */

smp *smp_create_chain(void);
/* Appends stage (ownership passes to the chain, also on failure, when the
 * stage is destroyed). SMP_EINVAL when chain is not a chain. */
int smp_chain_add(smp *chain, smp *stage);
/* As smp_chain_add, but the stage becomes the first (constraints). */
int smp_chain_prepend(smp *chain, smp *stage);
int32_t smp_chain_n(const smp *chain);
smp *smp_chain_get(const smp *chain, int32_t i);          /* borrowed */

/* Called by a chain with the candidates (normalized, so p is the
 * distribution) before stage 0 (stage -1, name "input") and after each stage.
 * The TUI shows raw and post-sampler probabilities from these calls. */
typedef void (*smp_observer)(void *ud, int32_t stage, const char *name, const smp_cands *c);
void smp_chain_set_observer(smp *chain, smp_observer fn, void *ud);

/* ---- chains from parameters (CLI, Lua) ---------------------------------- */

typedef struct smp_params {
    float temp;                 /* 0.8; 0 = greedy */
    int32_t top_k;              /* 40; 0 = off */
    float top_p;                /* 0.95; 1 = off */
    float min_p;                /* 0.05; 0 = off */
    float typical_p;            /* 1 = off */
    int32_t min_keep;           /* 1 */
    float repeat_penalty;       /* 1 = off */
    int32_t repeat_last_n;      /* 64; 0 = off, -1 = whole history */
    float frequency_penalty;    /* 0 */
    float presence_penalty;     /* 0 */
    uint64_t seed;              /* dist */
    const struct logits_bias *bias; /* NULL = none; copied by smp_chain_parse */
} smp_params;

#define SMP_DEFAULT_CHAIN "bias,penalties,top_k,typical,top_p,min_p,temp,dist"
#define SMP_NAMES "bias, penalties, top_k, top_p, min_p, typical, temp, greedy, dist"

void smp_params_default(smp_params *p);
/* 0, or SMP_EINVAL with a message naming the parameter and its range. */
int smp_params_check(const smp_params *p, char *err, size_t errlen);
/* A chain from a list of stage names separated by ',' or ';' (spaces allowed,
 * '-' reads as '_'; aliases: temperature, typical_p, typ_p, logit_bias,
 * penalty). greedy or dist may only come last. NULL spec = SMP_DEFAULT_CHAIN.
 * On failure *out is NULL and err names the bad entry. */
int smp_chain_parse(smp **out, const char *spec, const smp_params *p, char *err, size_t errlen);

/* ---- the random number generator ----------------------------------------
 * PCG32 (PCG-XSH-RR 64/32; M. E. O'Neill, "PCG: A Family of Simple Fast
 * Space-Efficient Statistically Good Algorithms for Random Number
 * Generation", 2014; pcg-random.org): integer arithmetic only, so a seed gives
 * the same stream on every machine and compiler. */
typedef struct smp_rng { uint64_t state, inc; } smp_rng;

void smp_rng_init(smp_rng *r, uint64_t seed, uint64_t stream);
uint32_t smp_rng_u32(smp_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double smp_rng_double(smp_rng *r);
/* A seed derived from two numbers (SplitMix64 of a ^ SplitMix64(b)): for a
 * draw seed from a run's seed and a stream number, and a token's seed from
 * a draw seed and its index. Not symmetric: mix(a, b) != mix(b, a). */
uint64_t smp_seed_mix(uint64_t a, uint64_t b);

#endif
