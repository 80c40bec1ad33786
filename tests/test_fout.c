/* test_fout: replacing writes and the sweep of stale write temporaries.
 * A temporary whose writer is alive (locked) stays whatever its age; one
 * whose writer was killed goes once it is old enough; a young one stays;
 * the name filter and the folder depth hold. The writer that holds the lock
 * is a forked child, killed with SIGKILL, as a killed `logitlab` would be. */
#include "check.h"
#include "fout.h"
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64];

static const char *at(const char *name) {
    static char buf[4][160];
    static int k;
    k = (k + 1) & 3;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void put(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (f) { fputs(text, f); fclose(f); }
}

static bool has(const char *path, const char *text) {
    char b[64] = {0};
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(b, 1, sizeof b - 1, f) : 0;
    if (f) fclose(f);
    return n == strlen(text) && strcmp(b, text) == 0;
}

/* An hour old: long past FOUT_STALE_S. */
static void age(const char *path) {
    struct timespec ts[2];
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= 3600;
    ts[1] = ts[0];
    utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
}

/* The temporaries in folder d (name into out, the last one's). */
static int n_tmp(const char *d, char *out, size_t cap) {
    DIR *dd = opendir(d);
    int n = 0;
    for (struct dirent *e; dd && (e = readdir(dd));)
        if (fout_is_temporary(e->d_name)) {
            n++;
            if (out) snprintf(out, cap, "%s/%s", d, e->d_name);
        }
    if (dd) closedir(dd);
    return n;
}

static void test_names(void) {
    CHECK(fout_is_temporary(".a.txt.Ab3xY9.tmp") && fout_is_temporary(".x.ABCDEF.tmp"), "temporaries");
    CHECK(!fout_is_temporary("a.txt.Ab3xY9.tmp") && !fout_is_temporary(".a.txt.Ab3xY.tmp") &&
          !fout_is_temporary(".a.txt.Ab3x-9.tmp") && !fout_is_temporary(".plain.abcdef") &&
          !fout_is_temporary(".ABCDEF.tmp"), "not temporaries");
}

/* A killed writer's temporary goes; a live writer's stays. */
static void test_sweep_killed(void) {
    int ready[2];
    if (pipe(ready) != 0) { CHECK(0, "pipe"); return; }
    pid_t pid = fork();
    if (pid == 0) {
        char tmp[256];
        const char *why;
        int fd = fout_tmp_create(at("model.gguf"), 0644, tmp, sizeof tmp, &why);
        if (fd >= 0 && write(fd, "half", 4) == 4) age(tmp);
        if (write(ready[1], "x", 1) != 1) _exit(1);
        for (;;) pause();
    }
    char c, tmp[512] = "";
    CHECK(read(ready[0], &c, 1) == 1, "the writer started");
    close(ready[0]);
    close(ready[1]);
    CHECK(n_tmp(dir, tmp, sizeof tmp) == 1, "the writer's temporary is there");
    CHECK(fout_sweep(dir, NULL, 0, FOUT_STALE_S) == 0 && access(tmp, F_OK) == 0,
          "a live writer's temporary stays, whatever its age");
    /* a second open of the live temporary (another process's sweep would
     * open it the same way) does not take it either */
    CHECK(fout_sweep(dir, "model.gguf", 0, 0) == 0 && access(tmp, F_OK) == 0, "still locked");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    CHECK(fout_sweep(dir, NULL, 0, FOUT_STALE_S) == 1 && access(tmp, F_OK) != 0,
          "the killed writer's temporary is removed");
}

static void test_sweep_rules(void) {
    /* unlocked temporaries as a killed writer leaves them */
    put(at(".young.txt.AAAAAA.tmp"), "y");
    put(at(".a.txt.BBBBBB.tmp"), "a");
    age(at(".a.txt.BBBBBB.tmp"));
    put(at(".b.txt.CCCCCC.tmp"), "b");
    age(at(".b.txt.CCCCCC.tmp"));
    put(at(".b.txt.x.DDDDDD.tmp"), "bx");
    age(at(".b.txt.x.DDDDDD.tmp"));
    put(at(".kept.EEEEEE"), "not a temporary");
    age(at(".kept.EEEEEE"));
    mkdir(at("sub"), 0755);
    mkdir(at("sub/deeper"), 0755);
    put(at("sub/.c.txt.FFFFFF.tmp"), "c");
    age(at("sub/.c.txt.FFFFFF.tmp"));
    put(at("sub/deeper/.d.txt.GGGGGG.tmp"), "d");
    age(at("sub/deeper/.d.txt.GGGGGG.tmp"));
    CHECK(symlink("sub", at("link")) == 0, "symlink");

    CHECK(fout_sweep(dir, "b.txt", 0, FOUT_STALE_S) == 1 && access(at(".b.txt.CCCCCC.tmp"), F_OK) != 0 &&
          access(at(".b.txt.x.DDDDDD.tmp"), F_OK) == 0 && access(at(".a.txt.BBBBBB.tmp"), F_OK) == 0,
          "a name: only that name's temporaries");
    CHECK(fout_sweep(dir, NULL, 1, FOUT_STALE_S) == 3, "depth 1: two here, one in sub/");
    CHECK(access(at(".young.txt.AAAAAA.tmp"), F_OK) == 0, "a young temporary stays");
    CHECK(access(at(".kept.EEEEEE"), F_OK) == 0, "a name without the marker stays");
    CHECK(access(at("sub/.c.txt.FFFFFF.tmp"), F_OK) != 0 && access(at("sub/deeper/.d.txt.GGGGGG.tmp"), F_OK) == 0,
          "depth 1 does not reach sub/deeper (and the link to sub/ is not followed twice)");
    CHECK(fout_sweep(dir, NULL, 2, 0) == 2, "depth 2, any age: the young one and sub/deeper's");
    CHECK(fout_sweep("/nonexistent-folder", NULL, 3, 0) == 0, "no folder: nothing");
    unlink(at("link"));
    unlink(at(".kept.EEEEEE"));
    rmdir(at("sub/deeper"));
    rmdir(at("sub"));
}

/* fout_open/fout_close: the old file stays whole until a finished write. */
static void test_replace(void) {
    char err[512];
    char p[160];
    snprintf(p, sizeof p, "%s", at("out.txt"));
    put(p, "old");
    chmod(p, 0640);
    fout o;
    CHECK(fout_open(&o, p, err, sizeof err) == 0, "open: %s", err);
    fputs("new", o.f);
    CHECK(has(p, "old") && n_tmp(dir, NULL, 0) == 1, "while writing: the old file, a temporary");
    CHECK(fout_close(&o, false, err, sizeof err) != 0 && has(p, "old") && n_tmp(dir, NULL, 0) == 0,
          "discarded: the old file, no temporary");
    CHECK(fout_open(&o, p, err, sizeof err) == 0, "open: %s", err);
    fputs("new", o.f);
    struct stat st;
    CHECK(fout_close(&o, true, err, sizeof err) == 0 && has(p, "new") && n_tmp(dir, NULL, 0) == 0 &&
          stat(p, &st) == 0 && (st.st_mode & 0777) == 0640, "finished: replaced, its permissions kept: %s", err);
    /* opening sweeps a stale temporary of the same name */
    put(at(".out.txt.ZZZZZZ.tmp"), "stale");
    age(at(".out.txt.ZZZZZZ.tmp"));
    CHECK(fout_open(&o, p, err, sizeof err) == 0 && access(at(".out.txt.ZZZZZZ.tmp"), F_OK) != 0,
          "a stale temporary of the name is swept when it is written again");
    fout_close(&o, false, err, sizeof err);
    CHECK(fout_open(&o, dir, err, sizeof err) != 0 && strstr(err, "folder"), "a folder: %s", err);
    CHECK(fout_open(&o, at("none/x"), err, sizeof err) != 0 && strstr(err, "No such file"), "no folder: %s", err);
    unlink(p);
}

/* A name of a temporary's form gets no special case: it is replaced like
 * any name (a temporary of its own, renamed over it at the end), and a
 * file so named that its maker holds locked (quantize writes its own
 * through ggufw_begin_file) keeps its inode; a link so named is replaced,
 * its target untouched. */
static void test_tmp_names(void) {
    char err[512], tmp[200];
    const char *why = "";
    int fd = fout_tmp_create(at("m.gguf.llama2c"), 0600, tmp, sizeof tmp, &why);
    CHECK(fd >= 0, "the maker's temporary: %s", why);
    if (fd < 0) return;
    struct stat a, b;
    fstat(fd, &a);
    fout o;
    CHECK(fout_open(&o, tmp, err, sizeof err) == 0 && o.tmp[0] != 0, "a temporary of its own: %s", err);
    CHECK(stat(tmp, &b) == 0 && b.st_ino == a.st_ino && b.st_size == 0, "the named file untouched while writing");
    fputs("gguf", o.f);
    CHECK(fout_close(&o, true, err, sizeof err) == 0, "close: %s", err);
    CHECK(stat(tmp, &b) == 0 && b.st_ino != a.st_ino && has(tmp, "gguf") && n_tmp(dir, NULL, 0) == 1,
          "replaced by rename; no other temporary left");
    unlink(tmp);
    close(fd);
    put(at("target"), "t");
    CHECK(symlink(at("target"), at(".link.ABCDEF.tmp")) == 0, "link");
    CHECK(fout_open(&o, at(".link.ABCDEF.tmp"), err, sizeof err) == 0 && o.tmp[0] != 0, "a link: replaced: %s", err);
    fout_close(&o, false, err, sizeof err);
    CHECK(has(at("target"), "t"), "its target untouched");
    unlink(at(".link.ABCDEF.tmp"));
    unlink(at("target"));
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/test_fout.XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    test_names();
    test_sweep_killed();
    test_sweep_rules();
    test_replace();
    test_tmp_names();
    CHECK(n_tmp(dir, NULL, 0) == 0, "nothing left");
    rmdir(dir);
    return check_done();
}
