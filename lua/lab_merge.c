/* lab_merge: jobs of different kinds in one engine step. The tasks of one
 * scheduler pass submit their jobs while the worker is held (lwork_hold),
 * so eval jobs (seq:eval, lab.eval_batch, generate), score jobs on the cache
 * (seq:score, lab.score_batch) and lab.score jobs of one model queue up
 * together; each describes its share of the step through its ljob_part and
 * lab_run_parts evaluates all of them with one ctx_eval. A position's logits
 * are a property of the sequence alone (the kernels are batch-invariant),
 * so every job's rows are bit for bit those it gets alone.
 */
#include <stdlib.h>

#include "ctx.h"
#include "lhost_impl.h"

void lab_run_parts(ljob **js, int n) {
    lmodel *m = js[0]->models[0];
    int nb = ctx_n_batch(m->c), total = 0, made = 0;
    int *cnt = malloc(sizeof *cnt * (size_t)n);
    bool ok = cnt != NULL;
    for (; ok && made < n; made++) {
        int k = js[made]->part->prep(js[made], m);
        if (k < 0) break;
        cnt[made] = k;
        total += k;
    }
    ok = ok && made == n && total <= nb;
    ctx_entry *e = ok ? malloc(sizeof *e * (size_t)(total ? total : 1)) : NULL;
    if (ok && e) {
        int off = 0;
        for (int g = 0; g < n; g++) {
            js[g]->part->fill(js[g], e + off);
            off += cnt[g];
        }
        char err[256];
        m->steps++;
        ok = ctx_eval(m->c, e, total, err, sizeof err) == 0;
        if (ok) {
            m->evaluated += total;
            int32_t r = 0;
            off = 0;
            for (int g = 0; g < n; g++) {
                js[g]->part->take(js[g], m, e + off, cnt[g], r);
                for (int q = 0; q < cnt[g]; q++) r += e[off + q].logits;
                off += cnt[g];
            }
        }
    } else {
        ok = false;
    }
    for (int g = 0; g < made; g++)
        if (js[g]->part->undo) js[g]->part->undo(js[g], m);
    free(e);
    free(cnt);
    if (ok) return;
    for (int g = 0; g < n; g++) js[g]->run(js[g]);     /* alone, from the start */
}
