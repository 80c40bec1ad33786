/* lab_seq: the Seq type's private parts that lab_eval.c, which runs the
 * eval jobs over sequences, shares (lab_seq.c has the rest). */
#ifndef LAB_SEQ_H
#define LAB_SEQ_H
#include "gmatch.h"
#include "lhost_impl.h"

#define SEQ_T "lab.Seq"

typedef struct seq_ud {
    lmodel *lm;             /* a reference; NULL once closed */
    int32_t id;             /* the ctx's sequence id */
    int32_t n_eval;         /* tokens in the KV cache */
    int32_t n, cap;         /* tokens in all, capacity of toks */
    int32_t *toks;          /* (cap), the buffer in uservalue 2 */
    ljob *job;              /* eval in flight (a reference) or NULL */
    int item;               /* this seq's item in job */
    gmatch *gm;             /* constraint over tokens [g_start, n), or NULL (owned) */
    int32_t g_start;
} seq_ud;

/* Takes in what the seq's finished eval job appended (wait: for it to
 * finish first; else a job in flight is left alone). */
void lab_seq_settle(lua_State *L, seq_ud *s, bool wait);
/* The open Seq at idx, settled without waiting; raises otherwise. */
seq_ud *lab_seq_check(lua_State *L, int idx);
#endif
