/* kv: the bookkeeping of a KV cache holding many sequences; which cell holds
 * which (sequence, position). The K and V numbers themselves live in backend
 * memory (cells of KV_BLOCK positions); this module only hands out cells.
 *
 * Model: a sequence is a chain of segments, leaf to root. A segment is a run
 * of consecutive positions [start, start + len) stored in its own blocks.
 * Forking a sequence makes the child point at the parent's leaf segment and
 * takes a reference: O(1), nothing copied, whatever the prefix length. A
 * sequence appends in place only to a segment it owns alone and whose end is
 * its own end; otherwise the append opens a new segment whose parent is the
 * current one. Rewinding walks up the chain and truncates what it owns alone.
 * A segment is freed when no sequence and no child segment refers to it.
 *
 * Cells: cell c is position c % KV_BLOCK of block c / KV_BLOCK.
 */
#ifndef KV_H
#define KV_H
#include <stdbool.h>
#include <stdint.h>

#define KV_BLOCK 16

/* A run of consecutive positions held in consecutive cells of one block. */
typedef struct kv_run { int32_t cell, n; } kv_run;

typedef struct kv kv;

/* n_blocks blocks of KV_BLOCK cells, at most n_seq_max live sequences. */
kv *kv_create(int32_t n_blocks, int32_t n_seq_max);
void kv_destroy(kv *k);

int32_t kv_seq_create(kv *k);                 /* id >= 0, or -1 when n_seq_max are alive */
int32_t kv_seq_fork(kv *k, int32_t seq);      /* -1 if seq is dead or no id is free */
/* Keeps positions [0, pos); pos <= length. 0 ok, -1 bad seq or pos. */
int kv_seq_rewind(kv *k, int32_t seq, int32_t pos);
void kv_seq_drop(kv *k, int32_t seq);
int32_t kv_seq_len(const kv *k, int32_t seq); /* -1 for a dead id */
int32_t kv_n_seq(const kv *k);
int32_t kv_seq_max(const kv *k);

/* Appends n positions to seq and writes their cells to cells[n]. All or
 * nothing: returns 0, or -1 when the cache has too few free blocks. */
int kv_seq_append(kv *k, int32_t seq, int32_t n, int32_t *cells);

/* Runs covering positions [0, len) of seq, in position order. Returns the
 * number of runs (at most kv_max_runs(k, len)), written to runs. */
int32_t kv_seq_runs(const kv *k, int32_t seq, int32_t len, kv_run *runs, int32_t cap);
/* Upper bound on the runs of any sequence of length len. */
int32_t kv_max_runs(const kv *k, int32_t len);

/* Frees the positions no live sequence can reach any more: a segment's
 * tail beyond the longest use by its sequences and child segments (cells
 * that a dropped sequence shared with one forked from it in the middle, or
 * that sequences rewound while they shared it left behind). Nothing a live
 * sequence sees changes. Returns the cells freed. O(sequences x depth). */
int32_t kv_trim(kv *k);

int32_t kv_used_cells(const kv *k);           /* positions stored, over all segments */
int32_t kv_free_blocks(const kv *k);
int32_t kv_n_blocks(const kv *k);
#endif
