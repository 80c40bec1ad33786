/* thread: see thread.h. */
#include "thread.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct start {
    void *(*fn)(void *);
    void *arg;
} start;

static void *trampoline(void *p) {
    start s = *(start *)p;
    free(p);
    /* at least the system's minimum (SIGSTKSZ is not a constant in newer
     * glibc); without memory the thread runs as before, with no report */
    size_t n = THREAD_ALTSTACK_BYTES;
    if ((size_t)SIGSTKSZ > n) n = (size_t)SIGSTKSZ;
    /* a thread that has one already (a sanitizer gives its threads one) keeps it */
    stack_t cur;
    bool have = sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE);
    void *mem = have ? NULL : malloc(n);
    stack_t ss = { .ss_sp = mem, .ss_size = n, .ss_flags = 0 };
    bool on = mem && sigaltstack(&ss, NULL) == 0;
    void *r = s.fn(s.arg);
    if (on) {
        stack_t off = { .ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE };
        sigaltstack(&off, NULL);
    }
    free(mem);
    return r;
}

int thread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg) {
    start *s = malloc(sizeof *s);
    if (!s) return ENOMEM;
    s->fn = fn;
    s->arg = arg;
    int rc = pthread_create(th, attr, trampoline, s);
    if (rc) free(s);
    return rc;
}
