/* lbound (lua/lbound.c), the sandbox's table.insert/remove/move/concat/sort
 * and string.rep, against the stock library (same results, same errors),
 * then the calls that ran for minutes inside one C call and now stop at the
 * budget (or, for string.rep of an empty string, return at once), and
 * load's chunk size limit (lua/lsandbox.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "check.h"
#include "lhost.h"
#include "lhost_impl.h"

static const char *const HARNESS =
    "local function show(ok, ...)\n"
    "  local out = { ok and 'ok' or 'error' }\n"
    "  for i = 1, select('#', ...) do local v = select(i, ...)\n"
    "    if type(v) == 'table' then local t = {} for k = -1, 12 do t[#t + 1] = tostring(rawget(v, k)) end\n"
    "      v = 'table{' .. table.concat(t, ',') .. '}' end\n"
    "    out[#out + 1] = type(v) .. ':' .. (type(v) == 'string' and string.format('%q', v) or tostring(v)) end\n"
    "  return table.concat(out, ' ')\n"
    "end\n"
    "function run(code) return show(pcall(assert(load(code)))) end\n";

static const char *const CASES[] = {
    /* insert */
    "local t = {1, 2, 3} table.insert(t, 4) return t", "local t = {1, 2, 3} table.insert(t, 1, 0) return t",
    "local t = {1, 2, 3} table.insert(t, 4, 9) return t", "local t = {1, 2, 3} table.insert(t, 5, 9) return t",
    "local t = {1, 2, 3} table.insert(t, 0, 9) return t", "local t = {} table.insert(t, 1, 'a') return t",
    "return table.insert({}, 1, 2, 3)", "return table.insert({})", "return table.insert(nil, 1)",
    "return table.insert({}, 'x', 1)", "return table.insert({}, 1.5, 1)",
    "local t = {1, 2} table.insert(t, 2.0, 'x') return t",
    "local log = {} local p = setmetatable({}, {__len = function() return 2 end, __index = function(_, k) return k * 10 end, "
    "__newindex = function(_, k, v) log[#log + 1] = k .. '=' .. tostring(v) end}) table.insert(p, 1, 'x') return table.concat(log, ' ')",
    "return table.insert(setmetatable({}, {__len = function() return 'x' end}), 1)",
    "return table.insert(setmetatable({}, {__len = function() return math.maxinteger end}), 1)",
    /* remove */
    "local t = {1, 2, 3} return table.remove(t), t", "local t = {1, 2, 3} return table.remove(t, 1), t",
    "local t = {1, 2, 3} return table.remove(t, 4), t", "local t = {1, 2, 3} return table.remove(t, 5), t",
    "local t = {} return table.remove(t), t", "local t = {} return table.remove(t, 0), t",
    "local t = {[0] = 'z'} return table.remove(t, 0), t", "local t = {} return table.remove(t, -1), t",
    "return table.remove()", "return table.remove({}, 'x')",
    /* move */
    "return table.move({1, 2, 3}, 1, 3, 2)", "return table.move({1, 2, 3}, 2, 3, 1)",
    "return table.move({1, 2, 3}, 1, 3, 1, {})", "return table.move({1, 2, 3}, 1, 0, 1, {})",
    "return table.move({1, 2, 3}, -1, 3, 5)", "return table.move({1, 2, 3}, 1, 3, 3)",
    "return table.move({}, -1, math.maxinteger, 1)", "return table.move({}, 1, math.maxinteger, 2)",
    "return table.move({}, 1, 3, math.maxinteger)", "return table.move({1}, 1, 1, 1, 5)",
    "return table.move(1, 1, 1, 1)", "return table.move({}, 'a', 1, 1)", "return table.move({}, 1, 2)",
    "local t = {1, 2, 3} return table.move(t, 1, 3, 2, t)",
    /* concat */
    "return table.concat({1, 2, 3})", "return table.concat({1, 2, 3}, ', ')", "return table.concat({1, 2, 3}, ', ', 2)",
    "return table.concat({1, 2, 3}, ', ', 2, 3)", "return table.concat({1, 2, 3}, ', ', 3, 2)",
    "return table.concat({}, 'x')", "return table.concat({1, {}, 3})", "return table.concat({1, 2}, '', 1, 3)",
    "return table.concat({'a', 2.5, 3})", "return table.concat({}, 'x', 1, 1)", "return table.concat('x')",
    "return table.concat({1}, {})", "return table.concat({'a', 'b'}, 1)",
    "return table.concat(setmetatable({}, {__index = function(_, i) return i end, __len = function() return 4 end}), '-')",
    "return table.concat(setmetatable({}, {__index = function(_, i) return i end}), '-', 1, 3)",
    "return table.concat(setmetatable({}, {__len = function() return 2 end}))",
    /* sort */
    "local t = {5, 2, 8, 1, 9, 3} table.sort(t) return t", "local t = {5, 2, 8, 1} table.sort(t, function(a, b) return a > b end) return t",
    "local t = {'b', 'a', 'c'} table.sort(t) return t", "local t = {3, 'a', 1} table.sort(t) return t",
    "local t = {3, 1, 2} table.sort(t, math.max) return t", "local t = {3, 1, 2} table.sort(t, 5) return t",
    "local t = {3, 1, 2} table.sort(t, math.ult) return t", "local t = {3, 1, 2, 5, 4} table.sort(t, function() return true end) return t", "local t = {} table.sort(t) return t",
    "local t = {1} table.sort(t, 5) return t", "table.sort() return 1", "table.sort({}, {}) return 1",
    "local mt = {__lt = function(a, b) return a.v < b.v end} local t = {} for i = 1, 10 do t[i] = setmetatable({v = (i * 7) % 10}, mt) end "
    "table.sort(t) local o = {} for i = 1, 10 do o[i] = t[i].v end return o",
    "local t = {} for i = 1, 500 do t[i] = (i * 7919) % 1000 end table.sort(t) for i = 2, 500 do assert(t[i - 1] <= t[i]) end return t",
    /* rep */
    "return string.rep('ab', 3)", "return string.rep('ab', 3, ', ')", "return string.rep('ab', 1, ', ')",
    "return string.rep('ab', 0, ', ')", "return string.rep('ab', -1)", "return string.rep('', 5, '-')",
    "return string.rep('', 5)", "return string.rep('x', 2^31)", "return string.rep('x', 2^30, 'y')",
    "return string.rep('abc', 7, 'de'):len()", "return ('x'):rep(10)", "return string.rep('x')",
    "return string.rep('x', 'a')", "return string.rep('x', 1.5)", "return string.rep(5, 3, 1)",
    "return string.rep('ab', 1000, '|') == ('ab|'):rep(999) .. 'ab'",
};

static void outcome(lua_State *L, const char *code, char *out, size_t cap) {
    lua_getglobal(L, "run");
    lua_pushstring(L, code);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) snprintf(out, cap, "harness error: %s", lua_tostring(L, -1));
    else snprintf(out, cap, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
}

static void differential(void) {
    lua_State *S[2];
    for (int k = 0; k < 2; k++) {
        S[k] = luaL_newstate();
        luaL_openlibs(S[k]);
        if (k) lbound_open(S[k]);
        if (luaL_dostring(S[k], HARNESS) != LUA_OK) { fprintf(stderr, "harness\n"); exit(1); }
    }
    int diff = 0, errors = 0, n = (int)(sizeof CASES / sizeof CASES[0]);
    for (int i = 0; i < n; i++) {
        char a[4096], b[4096];
        outcome(S[0], CASES[i], a, sizeof a);
        outcome(S[1], CASES[i], b, sizeof b);
        if (strncmp(a, "error", 5) == 0) errors++;
        if (strcmp(a, b)) {
            diff++;
            fprintf(stderr, "DIFF %s\n  stock: %s\n  ours:  %s\n", CASES[i], a, b);
        }
    }
    CHECK(diff == 0, "%d of %d cases differ from the stock library", diff, n);
    CHECK(errors > 20, "the cases include errors (%d)", errors);
    /* the sandbox state has them too */
    lua_close(S[0]);
    lua_close(S[1]);
}

static char console[8192];
static void con_print(void *ud, const char *s, size_t n, bool is_err) {
    (void)ud; (void)is_err;
    size_t used = strlen(console);
    snprintf(console + used, sizeof console - used, "%.*s\n", (int)n, s);
}

static int eval(lhost *h, const char *chunk, char *out, size_t cap) {
    char err[1024] = "";
    console[0] = 0;
    int rc = lhost_eval(h, chunk, true, err, sizeof err);
    snprintf(out, cap, "%s | %s", err, console);
    return rc;
}

static const char *const RUNAWAY[] = {
    "table.move({}, 1, 1e15, 2)",
    "table.insert(setmetatable({}, {__len = function() return 1e15 end}), 1, 5)",
    "table.remove(setmetatable({}, {__len = function() return 1e15 end}), 1)",
    "return table.concat(setmetatable({}, {__index = rawequal}), '', 1, 1e15)",
    "return #table.concat(setmetatable({}, {__index = type}), '', 1, 1e15)",
};

static void budgets(void) {
    lhost_ui ui = { .print = con_print };
    lhost_opts o;
    lhost_opts_default(&o);
    o.ui = &ui;
    o.budget_s = 0.3;
    lhost *h;
    char err[2048];
    CHECK(lhost_create(&h, &o, err, sizeof err) == LHOST_OK, "create: %s", err);
    for (size_t i = 0; i < sizeof RUNAWAY / sizeof RUNAWAY[0]; i++) {
        double t0 = lhost_now();
        int rc = eval(h, RUNAWAY[i], err, sizeof err);
        double dt = lhost_now() - t0;
        /* concat over rawequal stops at its first (boolean) element: an error, not a stop */
        const char *want = strstr(RUNAWAY[i], "rawequal") ? "invalid value (boolean) at index 1" : "time budget of 0.3 s exceeded";
        CHECK(rc != LHOST_OK && strstr(err, want), "%s: %s (%d: %s)", RUNAWAY[i], want, rc, err);
        CHECK(dt < 5.0, "%s: within seconds (%.2f s)", RUNAWAY[i], dt);
    }
    CHECK(eval(h, "assert(string.rep('', 1e15) == '' and string.rep('', 1e15, '') == '')", err, sizeof err) == LHOST_OK,
          "an empty string.rep returns at once: %s", err);
    CHECK(eval(h, "assert(#string.rep('ab', 2^20, ',') == 3 * 2^20 - 1)", err, sizeof err) == LHOST_OK,
          "string.rep builds long results: %s", err);
    /* load: at most 16 MiB of chunk, as a string or from a reader */
    CHECK(eval(h, "local f, e = load(('-'):rep(16 * 2^20 + 1)) assert(f == nil and e:find('chunk too large'), e)", err,
               sizeof err) == LHOST_OK, "load refuses a chunk over 16 MiB: %s", err);
    CHECK(eval(h, "local s = ('x = 1 '):rep(2^20) local n = 0 "
                  "local f, e = load(function() n = n + 1 return s end) "
                  "assert(f == nil and e:find('chunk too large') and n == 3, tostring(e) .. n)", err, sizeof err) == LHOST_OK,
          "load refuses a reader that gives more: %s", err);
    CHECK(eval(h, "local parts = {'return ', '4', '2'} local i = 0 "
                  "assert(load(function() i = i + 1 return parts[i] end)() == 42)", err, sizeof err) == LHOST_OK,
          "a reader works otherwise: %s", err);
    lhost_destroy(h);

    /* table.sort: its comparisons tick (default order, a C comparator) */
    o.budget_s = 60;
    o.budget_instr = 3000000;
    CHECK(lhost_create(&h, &o, err, sizeof err) == LHOST_OK, "create: %s", err);
    static const char *const sorts[] = {
        "local t = {} for i = 1, 300000 do t[i] = (i * 7919) % 300007 end table.sort(t)",
        "local t = {} for i = 1, 300000 do t[i] = (i * 7919) % 300007 end table.sort(t, math.ult)",
    };
    for (int i = 0; i < 2; i++) {
        int rc = eval(h, sorts[i], err, sizeof err);
        CHECK(rc != LHOST_OK && strstr(err, "instruction budget"), "%s: the comparisons count (%d: %s)", sorts[i], rc, err);
    }
    o.budget_instr = 0;
    lhost_destroy(h);
    CHECK(lhost_create(&h, &o, err, sizeof err) == LHOST_OK, "create: %s", err);
    CHECK(eval(h, "local t = {} for i = 1, 300000 do t[i] = (i * 7919) % 300007 end table.sort(t) "
                  "for i = 2, #t do assert(t[i - 1] <= t[i]) end", err, sizeof err) == LHOST_OK,
          "and sorts without a budget: %s", err);
    lhost_destroy(h);
}

int main(void) {
    differential();
    budgets();
    return check_done();
}
