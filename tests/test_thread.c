/* test_thread: thread_create gives the new thread an alternate signal stack,
 * so that a handler installed with SA_ONSTACK (the crash report) runs after
 * a stack overflow in that thread. Each overflow runs in a forked child:
 * the one started by thread_create reaches its handler (exit status 42),
 * one started by plain pthread_create dies of the signal itself (the report
 * was lost: what this fixes). Not under ASAN, whose handler takes SIGSEGV. */
#include "check.h"
#include "thread.h"
#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

static void *altstack_of(void *arg) {
    stack_t *ss = arg;
    if (sigaltstack(NULL, ss) != 0) ss->ss_flags = SS_DISABLE;
    return NULL;
}

#if !defined(__SANITIZE_ADDRESS__)
static volatile int depth_limit = -1;     /* never reached: the stack ends first */

__attribute__((noinline)) static int deep(int n) {
    volatile char buf[512];
    buf[0] = (char)n;
    if (n == depth_limit) return buf[0];
    return deep(n + 1) + buf[0];
}

static void *overflow(void *arg) {
    (void)arg;
    return (void *)(long)deep(0);
}

static void on_segv(int sig) {
    (void)sig;
    _exit(42);
}

/* The status of a child whose thread (thread_create or pthread_create)
 * overflows a 256 KiB stack under an SA_ONSTACK SIGSEGV handler. */
static int overflow_in_child(bool ours) {
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_segv;
        sa.sa_flags = SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, NULL);
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, 256 * 1024);
        pthread_t th;
        int rc = ours ? thread_create(&th, &at, overflow, NULL) : pthread_create(&th, &at, overflow, NULL);
        if (rc) _exit(3);
        pthread_join(th, NULL);
        _exit(4);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
    return st;
}
#endif

int main(void) {
    stack_t ss = { .ss_flags = SS_DISABLE };
    pthread_t th;
    CHECK(thread_create(&th, NULL, altstack_of, &ss) == 0, "thread_create starts a thread");
    pthread_join(th, NULL);
    CHECK(!(ss.ss_flags & SS_DISABLE) && ss.ss_sp != NULL && ss.ss_size >= (size_t)MINSIGSTKSZ,
          "the thread has an alternate signal stack (flags %d, size %zu)", ss.ss_flags, ss.ss_size);
#if defined(__SANITIZE_ADDRESS__)
    printf("# ASAN build: the overflow checks are the sanitizer's\n");
#else
    int st = overflow_in_child(true);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42,
          "a stack overflow in a thread_create thread reaches the SA_ONSTACK handler (status %#x)", st);
    st = overflow_in_child(false);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
          "control: in a plain pthread_create thread it cannot (status %#x)", st);
#endif
    return check_done();
}
