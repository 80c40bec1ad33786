/* lab_merge: the jobs of one worker cycle in as few engine steps as they
 * fit. The tasks of one scheduler pass submit their jobs while the worker is
 * held (lwork_hold), so eval jobs (seq:eval, lab.eval_batch, generate),
 * score jobs on the cache (seq:score, lab.score_batch) and lab.score jobs,
 * of one model or several, queue up together; the worker hands all of them
 * to lab_run_parts. Per model, each job describes its share through its
 * ljob_part; the shares' entries are laid end to end and evaluated n_batch
 * at a time, so N agents of two models speaking at once cost one step per
 * model, and jobs that together (or alone) exceed a batch take
 * ceil(entries / n_batch) consecutive steps instead of one step per job.
 * A position's logits are a property of the sequence alone (the kernels are
 * batch-invariant), so every job's rows are bit for bit those it gets alone,
 * wherever the cuts between steps fall.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "lhost_impl.h"

static void fail(ljob *j, int status, const char *msg) {
    j->status = status;
    snprintf(j->err, sizeof j->err, "%s", msg);
}

/* The shares of js[0..n) for m. solo: js is one job of several models run
 * alone after it could not share a step; what fails is then its error. */
static void run_model(lmodel *m, ljob **js, int n, bool solo) {
    int nb = ctx_n_batch(m->c), total = 0;
    int *cnt = malloc(sizeof *cnt * (size_t)n);         /* entries of each share; -1: not prepared */
    bool *redo = calloc((size_t)n, sizeof *redo);       /* runs alone afterwards */
    if (!cnt || !redo) {
        for (int g = 0; g < n; g++)
            if (!js[g]->status) fail(js[g], LHOST_ENOMEM, "out of memory");
        free(cnt);
        free(redo);
        return;
    }
    char err[256];
    for (int g = 0; g < n; g++) {
        cnt[g] = -1;
        if (js[g]->status) continue;                    /* failed on an earlier model */
        err[0] = 0;
        int k = js[g]->part->prep(js[g], m, err, sizeof err);
        if (k >= 0) {
            cnt[g] = k;
            total += k;
        } else if (solo) {
            fail(js[g], LHOST_EINVAL, err[0] ? err : "cannot take part in an engine step");
        } else {
            redo[g] = true;
        }
    }
    ctx_entry *e = total ? malloc(sizeof *e * (size_t)total) : NULL;
    int off = 0;
    if (total && !e) {
        for (int g = 0; g < n; g++)
            if (cnt[g] > 0) {
                if (solo) fail(js[g], LHOST_ENOMEM, "out of memory");
                else redo[g] = true;
            }
    } else {
        for (int g = 0, at = 0; g < n; g++)
            if (cnt[g] > 0) {
                js[g]->part->fill(js[g], m, e + at);
                at += cnt[g];
            }
        while (off < total) {
            int k = total - off < nb ? total - off : nb;
            m->steps++;
            if (ctx_eval(m->c, e + off, k, err, sizeof err) != 0) break;   /* changed nothing */
            m->evaluated += k;
            /* the shares tile [0, total) in order: each takes its part of [off, off + k) */
            int32_t r = 0;
            for (int g = 0, s = 0; g < n; g++) {
                if (cnt[g] <= 0) continue;
                int a = s > off ? s : off, b = s + cnt[g] < off + k ? s + cnt[g] : off + k;
                if (a < b) {
                    js[g]->part->take(js[g], m, e + a, b - a, r);
                    for (int q = a; q < b; q++) r += e[q].logits;
                }
                s += cnt[g];
            }
            off += k;
        }
        if (off < total)                                /* a step failed: the shares it did not finish */
            for (int g = 0, s = 0; g < n; g++) {
                if (cnt[g] <= 0) continue;
                if (s + cnt[g] > off) {
                    if (solo) fail(js[g], LHOST_EINVAL, err);
                    else redo[g] = true;
                }
                s += cnt[g];
            }
    }
    for (int g = 0; g < n; g++)
        if (cnt[g] >= 0 && js[g]->part->undo) js[g]->part->undo(js[g], m);
    free(e);
    for (int g = 0; g < n; g++) {
        if (!redo[g]) continue;
        if (js[g]->n_models == 1) js[g]->run(js[g]);    /* alone, resuming */
        else run_model(m, &js[g], 1, true);
    }
    free(cnt);
    free(redo);
}

void lab_run_parts(ljob **js, int n) {
    int cap = 0;
    for (int g = 0; g < n; g++) cap += js[g]->n_models;
    lmodel **ms = malloc(sizeof *ms * (size_t)(cap ? cap : 1));
    ljob **sub = malloc(sizeof *sub * (size_t)n);
    if (!ms || !sub) {
        free(ms);
        free(sub);
        for (int g = 0; g < n; g++) js[g]->run(js[g]);  /* one at a time */
        return;
    }
    int nm = 0;
    for (int g = 0; g < n; g++)                         /* the models, in the order they first appear */
        for (int i = 0; i < js[g]->n_models; i++) {
            int q = 0;
            while (q < nm && ms[q] != js[g]->models[i]) q++;
            if (q == nm) ms[nm++] = js[g]->models[i];
        }
    for (int q = 0; q < nm; q++) {                      /* one model after the other, back to back */
        int k = 0;
        for (int g = 0; g < n; g++)
            for (int i = 0; i < js[g]->n_models; i++)
                if (js[g]->models[i] == ms[q]) {
                    sub[k++] = js[g];
                    break;
                }
        run_model(ms[q], sub, k, false);
    }
    free(ms);
    free(sub);
}
