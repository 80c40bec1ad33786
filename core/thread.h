/* thread: starting the program's own threads.
 *
 * thread_create is pthread_create, plus an alternate signal stack for the
 * new thread (sigaltstack is per thread, and a new thread has none). The
 * crash report (app/main.c) and the workbench's terminal repair
 * (app/tui_term.c) run their handlers on the alternate stack (SA_ONSTACK):
 * without one, a stack overflow in a worker thread faulted again in the
 * handler and the process died with no report. The stack is freed when the
 * thread's function returns. A thread that has one when it starts (a
 * sanitizer's) keeps it.
 */
#ifndef THREAD_H
#define THREAD_H
#include <pthread.h>

/* As pthread_create (0 or an error number); attr may be NULL. */
int thread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

/* The size of the alternate signal stack each thread gets. */
#define THREAD_ALTSTACK_BYTES (64 * 1024)
#endif
