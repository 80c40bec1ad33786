/* lconfig_read (lua/lconfig.c): a workspace's config.lua as the workbench
 * reads it. The default file a new workspace gets reads back as the
 * defaults; every field is checked, each mistake named; a hostile file (a
 * loop, a memory bomb, a FIFO, io/os) is stopped or refused, never waited on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "lhost.h"
#include "lhost_impl.h"
#include "store.h"

static char dir[64];

static const char *put(const char *text) {
    static char path[256];
    snprintf(path, sizeof path, "%s/config.lua", dir);
    FILE *f = fopen(path, "w");
    if (f) { fputs(text, f); fclose(f); }
    return path;
}

/* Reads text as config.lua; rc, and the error in err. */
static int rd(const char *text, lconfig *c, char *err, size_t cap) {
    err[0] = 0;
    return lconfig_read(put(text), c, err, cap);
}

static const char *pair(const lconfig *c, const char *name) {
    for (int i = 0; i < c->n_sampler; i++)
        if (!strcmp(c->sampler[2 * i], name)) return c->sampler[2 * i + 1];
    return NULL;
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/logitlab-lconfig-XXXXXX");
    if (!mkdtemp(dir)) { printf("# passed 0 failed 1\n"); return 1; }
    char err[2048], path[256];
    lconfig c;

    /* no file */
    snprintf(path, sizeof path, "%s/config.lua", dir);
    CHECK(lconfig_read(path, &c, err, sizeof err) == LHOST_ENOENT && !c.model && !c.n_sampler, "absent: %s", err);

    /* the file a new workspace gets */
    char ws[128];
    snprintf(ws, sizeof ws, "%s/ws", dir);
    store *s;
    CHECK(store_open(&s, ws, NULL, err, sizeof err) == STORE_OK, "store_open: %s", err);
    store_close(s);
    snprintf(path, sizeof path, "%s/config.lua", ws);
    CHECK(lconfig_read(path, &c, err, sizeof err) == LHOST_OK, "the default config reads: %s", err);
    CHECK(!c.model && c.n_plugins == 0 && c.n_sampler == 5, "model nil, plugins empty, 5 settings (%d)", c.n_sampler);
    CHECK(pair(&c, "temp") && !strcmp(pair(&c, "temp"), "0.8") && !strcmp(pair(&c, "top_k"), "40") &&
          !strcmp(pair(&c, "order"), "bias,penalties,top_k,typical,top_p,min_p,temp,dist"), "its settings as text");
    for (int i = 1; i < c.n_sampler; i++)
        CHECK(strcmp(c.sampler[2 * i - 2], c.sampler[2 * i]) < 0, "sorted by name");
    lconfig_free(&c);

    /* every field */
    CHECK(rd("local m = 'tiny' .. '.gguf'\n"
             "return { model = m, sampler = { chain = 'top_k,temp,dist', temp = 0.25, top_k = 5, seed = 7 },\n"
             "  plugins = { 'tree', 'example' } }\n", &c, err, sizeof err) == LHOST_OK, "full: %s", err);
    CHECK(c.model && !strcmp(c.model, "tiny.gguf"), "model");
    CHECK(pair(&c, "order") && !strcmp(pair(&c, "order"), "top_k,temp,dist") && !pair(&c, "chain"), "chain is order");
    CHECK(!strcmp(pair(&c, "temp"), "0.25") && !strcmp(pair(&c, "top_k"), "5") && !strcmp(pair(&c, "seed"), "7"), "numbers");
    CHECK(c.n_plugins == 2 && !strcmp(c.plugins[0], "example") && !strcmp(c.plugins[1], "tree") && !c.plugins[2],
          "plugins, sorted");
    lconfig_free(&c);
    CHECK(rd("return {}", &c, err, sizeof err) == LHOST_OK && !c.model && !c.n_sampler && !c.n_plugins, "empty: %s", err);

    /* mistakes, each named */
    static const struct { const char *text, *want; } bad[] = {
        { "return {\n model = 'a',\n", "config.lua:3:" },                           /* syntax: the line */
        { "local x = nil\nreturn x.y\n", "config.lua:2: attempt to index" },
        { "error('no config today')", "no config today" },
        { "return 42", "must return a table (got a number)" },
        { "return { modle = 'x' }", "unknown field modle" },
        { "return { [1] = 'x' }", "unknown field number" },
        { "return { model = 5 }", "model must be a path or a model name, got a number" },
        { "return { model = '' }", "model is empty" },
        { "return { sampler = 'hot' }", "sampler must be a table" },
        { "return { sampler = { temp = {} } }", "sampler.temp must be a number, got a table" },
        { "return { sampler = { order = 3 } }", "sampler.order must be a string" },
        { "return { sampler = { [1] = 3 } }", "keys are setting names" },
        { "return { plugins = 'tree' }", "plugins must be a list" },
        { "return { plugins = { x = 'tree' } }", "plugins must be a list" },
        { "return { plugins = { 3 } }", "plugins[1] must be a plugin name, got a number" },
        { "return { plugins = { '../evil' } }", "is not a plugin name" },
        { "while true do end", "time budget of 1 s exceeded" },
        { "local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(2^20) .. i end", "memory cap of 16.0 MiB exceeded" },
        { "return { model = io.open('/etc/passwd'):read('a') }", "attempt to index a nil value (global 'io')" },
        { "return { model = string.find(('a'):rep(28), ('a*'):rep(28) .. 'b') }", "time budget" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = rd(bad[i].text, &c, err, sizeof err);
        CHECK(rc != LHOST_OK && strstr(err, bad[i].want) && strstr(err, "config.lua"),
              "%s: want '%s' naming the file, got %d '%s'", bad[i].text, bad[i].want, rc, err);
        CHECK(!c.model && !c.sampler && !c.plugins, "nothing is kept from a broken file");
        CHECK(!strchr(err, '\n'), "one line: %s", err);
    }

    /* a FIFO is refused without waiting for a writer */
    unlink(path);
    snprintf(path, sizeof path, "%s/config.lua", dir);
    unlink(path);
    CHECK(mkfifo(path, 0600) == 0, "mkfifo");
    CHECK(lconfig_read(path, &c, err, sizeof err) != LHOST_OK && strstr(err, "config.lua"), "FIFO: %s", err);
    unlink(path);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
    return check_done();
}
