/* KV cache bookkeeping: fork shares without copying, appends never disturb
 * what another sequence sees, rewind and drop return blocks. A random walk of
 * operations is checked against a reference that stores each sequence's
 * values position by position. */
#include "check.h"
#include "kv.h"
#include <stdint.h>

#define NSEQ 16
#define MAXLEN 200
#define NBLK 400

static int32_t cellval[NBLK * KV_BLOCK];      /* what was "written" to each cell */
static int32_t ref[NSEQ][MAXLEN], reflen[NSEQ];
static bool alive[NSEQ];
static int32_t next_val = 1;

static bool seq_matches(kv *k, int32_t s) {
    kv_run runs[256];
    int32_t len = kv_seq_len(k, s);
    if (len != reflen[s]) return false;
    int32_t nr = kv_seq_runs(k, s, len, runs, kv_max_runs(k, len) < 256 ? kv_max_runs(k, len) : 256);
    int32_t p = 0;
    for (int32_t r = 0; r < nr; r++)
        for (int32_t e = 0; e < runs[r].n; e++, p++)
            if (p >= len || cellval[runs[r].cell + e] != ref[s][p]) return false;
    return p == len;
}

static uint32_t rng = 12345;
static uint32_t rnd(uint32_t n) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng % n; }

int main(void) {
    kv *k = kv_create(NBLK, NSEQ);
    CHECK(k != NULL, "kv_create");
    int32_t a = kv_seq_create(k), cells[64];
    CHECK(a == 0 && kv_seq_len(k, a) == 0, "first sequence");
    CHECK(kv_seq_append(k, a, 40, cells) == 0, "append 40");
    int32_t free_before = kv_free_blocks(k);
    int32_t b = kv_seq_fork(k, a);
    CHECK(b >= 0 && kv_seq_len(k, b) == 40, "fork keeps the length");
    CHECK(kv_free_blocks(k) == free_before, "fork allocates no blocks");
    CHECK(kv_used_cells(k) == 40, "fork copies no cells (used %d)", kv_used_cells(k));
    int32_t c1, c2;
    CHECK(kv_seq_append(k, b, 1, &c1) == 0 && kv_seq_append(k, a, 1, &c2) == 0 && c1 != c2,
          "parent and child get different cells after a fork");
    CHECK(kv_seq_rewind(k, a, 10) == 0 && kv_seq_len(k, a) == 10, "rewind");
    CHECK(kv_seq_rewind(k, a, 11) != 0, "rewind past the end refused");
    kv_seq_drop(k, a);
    kv_seq_drop(k, b);
    CHECK(kv_free_blocks(k) == NBLK && kv_used_cells(k) == 0, "dropping all returns every block (%d free)", kv_free_blocks(k));
    CHECK(kv_seq_len(k, a) == -1 && kv_seq_fork(k, a) == -1, "dead ids refused");

    /* fork of a long prefix costs the same as of a short one */
    a = kv_seq_create(k);
    for (int i = 0; i < 5; i++) kv_seq_append(k, a, 64, cells);
    int32_t fb = kv_free_blocks(k);
    b = kv_seq_fork(k, a);
    CHECK(kv_free_blocks(k) == fb && kv_seq_len(k, b) == 320, "fork of a 320-token prefix copies nothing");
    kv_seq_drop(k, a); kv_seq_drop(k, b);

    /* kv_trim: a fork from the middle of a 128-token sequence that grows,
     * then the original is dropped: its tail [20, 128) is reachable by no
     * one, and only kv_trim frees it (the workbench's hidden branches) */
    a = kv_seq_create(k);
    kv_seq_append(k, a, 64, cells); kv_seq_append(k, a, 64, cells);
    b = kv_seq_fork(k, a);
    kv_seq_rewind(k, b, 20);
    CHECK(kv_trim(k) == 0 && kv_used_cells(k) == 128, "trim frees nothing a live sequence reaches");
    kv_seq_append(k, b, 5, cells);
    kv_seq_drop(k, a);
    CHECK(kv_used_cells(k) == 133, "the dropped one's tail stays behind the fork (%d used)", kv_used_cells(k));
    CHECK(kv_trim(k) == 108 && kv_used_cells(k) == 25, "trim frees it (%d used)", kv_used_cells(k));
    CHECK(kv_seq_len(k, b) == 25 && kv_seq_append(k, b, 3, cells) == 0, "the fork goes on");
    /* two sequences rewound while sharing a segment: trimmed to the longer */
    int32_t c3 = kv_seq_fork(k, b);
    kv_seq_rewind(k, b, 10);
    kv_seq_rewind(k, c3, 15);
    CHECK(kv_used_cells(k) == 20 && kv_trim(k) == 5 && kv_used_cells(k) == 15, "trim keeps the longer of two sharing (%d used)", kv_used_cells(k));
    kv_seq_drop(k, b); kv_seq_drop(k, c3);
    CHECK(kv_used_cells(k) == 0 && kv_free_blocks(k) == NBLK, "all free after the trims");

    /* random walk against the reference */
    int bad = 0, ops = 0;
    for (int it = 0; it < 20000; it++) {
        int32_t s = (int32_t)rnd(NSEQ);
        uint32_t op = rnd(10);
        if (!alive[s]) {
            int32_t id = kv_seq_create(k);
            if (id < 0) continue;
            alive[id] = true; reflen[id] = 0;
            continue;
        }
        if (op < 5) {
            int32_t n = 1 + (int32_t)rnd(op == 0 ? 40 : 3);
            if (reflen[s] + n > MAXLEN) { kv_seq_rewind(k, s, 0); reflen[s] = 0; continue; }
            int32_t cs[64];
            if (kv_seq_append(k, s, n, cs) != 0) { kv_seq_drop(k, s); alive[s] = false; continue; }
            for (int32_t i = 0; i < n; i++) { cellval[cs[i]] = next_val; ref[s][reflen[s]++] = next_val++; }
        } else if (op < 7) {
            int32_t t = kv_seq_fork(k, s);
            if (t >= 0) { alive[t] = true; reflen[t] = reflen[s]; for (int32_t i = 0; i < reflen[s]; i++) ref[t][i] = ref[s][i]; }
        } else if (op == 7 && rnd(4) == 0) {
            int32_t u = kv_used_cells(k);
            if (kv_trim(k) < 0 || kv_used_cells(k) > u) bad++;
        } else if (op < 9) {
            int32_t p = reflen[s] ? (int32_t)rnd((uint32_t)reflen[s] + 1) : 0;
            if (kv_seq_rewind(k, s, p) != 0) bad++;
            reflen[s] = p;
        } else {
            kv_seq_drop(k, s); alive[s] = false;
        }
        ops++;
        for (int32_t t = 0; t < NSEQ; t++) if (alive[t] && !seq_matches(k, t)) { bad++; break; }
        if (bad) break;
    }
    CHECK(bad == 0, "random walk: a sequence saw another's data or lost its own (after %d ops)", ops);
    for (int32_t t = 0; t < NSEQ; t++) if (alive[t]) kv_seq_drop(k, t);
    CHECK(kv_free_blocks(k) == NBLK && kv_used_cells(k) == 0 && kv_n_seq(k) == 0,
          "after the walk every block is free again (%d of %d)", kv_free_blocks(k), NBLK);
    kv_destroy(k);
    return check_done();
}
