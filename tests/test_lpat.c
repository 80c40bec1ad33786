/* lpat (lua/lpat.c), the sandbox's string.find/match/gmatch/gsub, against
 * the stock Lua library: the same results and the same errors on a large
 * corpus (hand-picked cases for every construct of the manual's 6.4.1, every
 * byte against every class, and random patterns built from pattern pieces,
 * well-formed or not, on random subjects), called as functions and as string
 * methods. Then the reason it exists: a pattern that backtracks for minutes
 * is stopped by the host's time budget and by lhost_interrupt.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

#include "check.h"
#include "lhost.h"
#include "lhost_impl.h"

/* Both states get this: run(code) evaluates `code` (a chunk returning the
 * values to compare) protected and returns one string describing the
 * outcome: the results with their types, or the error message. gmatch's
 * iterator is drained by the chunk itself. */
static const char *const HARNESS =
    "local function show(ok, ...)\n"
    "  local n, out = select('#', ...), {}\n"
    "  out[1] = ok and 'ok' or 'error'\n"
    "  for i = 1, n do local v = select(i, ...)\n"
    "    out[#out + 1] = type(v) .. ':' .. (type(v) == 'string' and string.format('%q', v) or tostring(v)) end\n"
    "  return table.concat(out, ' ')\n"
    "end\n"
    "local cache = {}\n"
    "function run(code, ...) local f = cache[code] or assert(load(code)) cache[code] = f return show(pcall(f, ...)) end\n"
    "function all(it) local t = {} for a, b, c in it do t[#t + 1] = tostring(a) .. '|' .. tostring(b) .. '|' .. "
    "tostring(c) if #t > 60 then break end end return table.concat(t, ',') end\n"
    "R = { a = 'A', b = false, ab = 12, x = {} }\n"
    "function F(a, b) if a == 'b' then return nil end if a == 'c' then return {} end return '<' .. tostring(a) .. "
    "tostring(b) .. '>' end\n";

static lua_State *new_state(bool ours) {
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    if (ours) {
        lua_getglobal(L, "string");
        lpat_open(L, -1);
        lua_pop(L, 1);
    }
    if (luaL_dostring(L, HARNESS) != LUA_OK) {
        fprintf(stderr, "harness: %s\n", lua_tostring(L, -1));
        exit(1);
    }
    return L;
}

/* Runs code with the string arguments args (n of them; len < 0: strlen) in
 * L; the outcome string into out. */
typedef struct arg { const char *s; int len; } arg;

static void outcome(lua_State *L, const char *code, const arg *args, int n, char *out, size_t cap) {
    lua_getglobal(L, "run");
    lua_pushstring(L, code);
    for (int i = 0; i < n; i++) {
        if (!args[i].s) lua_pushnil(L);
        else lua_pushlstring(L, args[i].s, args[i].len < 0 ? strlen(args[i].s) : (size_t)args[i].len);
    }
    if (lua_pcall(L, n + 1, 1, 0) != LUA_OK) snprintf(out, cap, "harness error: %s", lua_tostring(L, -1));
    else snprintf(out, cap, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
}

static lua_State *stock, *ours;
static long n_cases, n_diff, n_errors;

static void same(const char *code, const arg *args, int n) {
    char a[4096], b[4096];
    outcome(stock, code, args, n, a, sizeof a);
    outcome(ours, code, args, n, b, sizeof b);
    n_cases++;
    if (strncmp(a, "error", 5) == 0) n_errors++;
    if (strcmp(a, b) != 0) {
        n_diff++;
        if (n_diff <= 15) {
            fprintf(stderr, "DIFF %s\n", code);
            for (int i = 0; i < n; i++) fprintf(stderr, "  arg%d = %.*s\n", i + 1, args[i].len < 0 && args[i].s ? (int)strlen(args[i].s) : args[i].len, args[i].s ? args[i].s : "nil");
            fprintf(stderr, "  stock: %s\n  ours:  %s\n", a, b);
        }
    }
}

/* s:find(p) etc. with the subject and pattern as arguments 1 and 2 (the
 * chunk's ...). */
static void same2(const char *code, const char *s, const char *p) {
    arg a[2] = { { s, -1 }, { p, -1 } };
    same(code, a, 2);
}

/* Every function on one subject and pattern, with a few start positions
 * and replacements. */
static void all_fns(const char *s, int ls, const char *p, int lp) {
    arg a[2] = { { s, ls }, { p, lp } };
    static const char *const codes[] = {
        "local s, p = ... return string.find(s, p)",
        "local s, p = ... return s:find(p, 2)",
        "local s, p = ... return s:find(p, -2)",
        "local s, p = ... return s:find(p, 1, true)",
        "local s, p = ... return string.match(s, p)",
        "local s, p = ... return s:match(p, -3)",
        "local s, p = ... return all(string.gmatch(s, p))",
        "local s, p = ... return all(s:gmatch(p, 2))",
        "local s, p = ... return string.gsub(s, p, '<%0>')",
        "local s, p = ... return s:gsub(p, '[%1]', 2)",
        "local s, p = ... return s:gsub(p, '%2%%')",
        "local s, p = ... return s:gsub(p, R)",
        "local s, p = ... return s:gsub(p, F)",
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) same(codes[i], a, 2);
}

/* ---- the corpus ------------------------------------------------------ */

static const char *const HAND[][2] = {
    /* classes, sets, anchors */
    { "hello world", "o" }, { "hello world", "o w" }, { "hello world", "^h" }, { "hello world", "^e" },
    { "hello world", "d$" }, { "hello world", "l$" }, { "a$b", "a$b" }, { "a$", "$" }, { "^a", "a^" },
    { "x = 12.5e3", "%d+" }, { "x = 12.5e3", "%a+" }, { "  pad  ", "^%s*(.-)%s*$" }, { "A_b9", "[%w_]+" },
    { "a]b", "[]]" }, { "a]b", "[^]]+" }, { "a-b", "[a-]" }, { "a-b", "[-a]+" }, { "b-", "[a-]+" },
    { "%a", "[%a-z]+" }, { "abc%", "[%%]" }, { "a.b", "%." }, { "a.b", "." }, { "ABC", "%u%l" },
    { "tab\there", "%c" }, { "0x1F", "%x+" }, { "a,b;c", "%p" }, { "a b", "%S+" }, { "q", "%q" }, { "Q", "%Q" },
    { "\xff\x80z", "[\x80-\xff]+" }, { "\xff\x80z", "%A+" }, { "zz", "[z-a]" }, { "a^b", "[%^]" }, { "a^b", "[b^]" },
    /* quantifiers */
    { "aaab", "a*" }, { "aaab", "a+" }, { "aaab", "a-b" }, { "aaab", "a?b" }, { "b", "a?b" }, { "", "a*" },
    { "", "" }, { "abc", "" }, { "<a><b>", "<.->" }, { "<a><b>", "<.*>" }, { "aaa", "a-$" }, { "ab", "a-?" },
    { "x+y", "x+y" }, { "x+y", "%+" }, { "abab", "(ab)*" }, { "a*", "a%*" },
    /* captures */
    { "key=val", "(%w+)=(%w+)" }, { "hello", "()ll()" }, { "hello", "(h)(e)(l)(l)(o)" }, { "abc", "((a)(b))" },
    { "abc", "(a" }, { "abc", "a)" }, { "abc", "a)(" }, { "abc", "(()" }, { "abc", "()" }, { "abc", "(a)()%1" },
    { "xyzxyz", "(x.z)%1" }, { "aa", "(a)%1" }, { "ab", "(a)%1" }, { "a", "%1" }, { "a", "(a)%2" },
    { "a", "(a%1)" }, { "a", "%0" }, { "aa", "()a%1" }, { "THE (quick) fox", "%((%a+)%)" },
    /* %b and %f */
    { "f(a(b)c)d", "%b()" }, { "f(a(b)c", "%b()" }, { "[[x]]", "%b[]" }, { "aXbXc", "%bXX" }, { "x", "%b" },
    { "x", "%bx" }, { "THE (quick) fox", "%f[%a]%a+" }, { "THE (quick) fox", "%f[%l]%a+" }, { "word", "%f[%w]" },
    { "word", "%f[%W]" }, { "a", "%fx" }, { "a", "%f[a" }, { "ab", "%f[]" }, { "x y", "%f[%s]" },
    /* malformed */
    { "a", "%" }, { "a", "a%" }, { "b", "a%" }, { "a", "[a" }, { "a", "[" }, { "a", "[^" }, { "a", "[]" },
    { "a", "[^]" }, { "a", "[%" }, { "a", "[a%]" }, { "a", "(()" }, { "a", ")" }, { "a", "%g" }, { "", "%" },
    { "", "[" }, { "", "(" }, { "", "%b" }, { "", "%f" },
};

static void hand_cases(void) {
    for (size_t i = 0; i < sizeof HAND / sizeof HAND[0]; i++)
        all_fns(HAND[i][0], -1, HAND[i][1], -1);
    /* embedded zeros in subjects, patterns, sets and replacements */
    all_fns("a\0b\0c", 5, "\0", 1);
    all_fns("a\0b\0c", 5, "%z", 2);
    all_fns("a\0b\0c", 5, "[\0b]+", 5);
    all_fns("a\0b\0c", 5, "b\0", 2);
    all_fns("a\0b", 3, "%b\0b", 4);
    all_fns("a\0b", 3, "%f[\0]", 5);
    /* every byte against every class letter, in and out of sets */
    static const char letters[] = "acdglpsuwxACDGLPSUWXqz%.";
    char s[2], p[8];
    for (int c = 0; c < 256; c++) {
        s[0] = (char)c;
        for (const char *l = letters; *l; l++) {
            snprintf(p, sizeof p, "%%%c", *l);
            arg a[2] = { { s, 1 }, { p, 2 } };
            same("local s, p = ... return string.find(s, p)", a, 2);
            snprintf(p, sizeof p, "[^%%%c]", *l);
            arg b[2] = { { s, 1 }, { p, 5 } };
            same("local s, p = ... return string.find(s, p)", b, 2);
        }
        static const char *const sets[] = { "[a-f]", "[%a-]", "[]-a]", "[--/]", "[^\x80-\xfe]", "[+--]" };
        for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++) {
            arg a[2] = { { s, 1 }, { sets[k], -1 } };
            same("local s, p = ... return string.find(s, p)", a, 2);
        }
    }
    /* limits: 32 captures, 200 nested calls */
    char many[200] = "";
    for (int i = 0; i < 33; i++) strcat(many, "(a)");
    char as[64];
    memset(as, 'a', 40);
    as[40] = 0;
    same2("local s, p = ... return s:find(p)", as, many);
    many[32 * 3] = 0;
    same2("local s, p = ... return s:find(p)", as, many);
    char deep[1024] = "";
    for (int i = 0; i < 300; i++) strcat(deep, "a?");
    char as300[400];
    memset(as300, 'a', 300);
    as300[300] = 0;
    same2("local s, p = ... return s:find(p)", as300, deep);
    same2("local s, p = ... return s:find(p)", "b", deep);          /* no a: no recursion, no error */
    deep[2 * 199] = 0;
    same2("local s, p = ... return s:find(p)", as300, deep);
    /* start positions, plain find, argument errors, number subjects */
    static const char *const misc[] = {
        "return string.find('abc', 'b', 10)", "return string.find('abc', '', 4)", "return string.find('abc', '', 5)",
        "return string.find('abc', '', -10)", "return string.find('abc', 'c', -1)", "return string.find('abc', 'a', 0)",
        "return string.find('a.c', '.', 1, true)", "return string.find('a.c', '.', 1, false)",
        "return string.find('a+c', 'a+', 1, 1)", "return string.find(12345, 34)", "return string.match(12.5, '%d+')",
        "return string.find('abc', 'b', 1.0)", "return string.find('abc', 'b', 1.5)", "return string.find('abc')",
        "return string.find()", "return string.find('abc', {})", "return ('abc'):find(nil)",
        "return string.match('abc', '.', '2')", "return string.match('abc', '.', 'x')",
        "return string.gsub('abc', 'b')", "return string.gsub('abc', 'b', true)", "return string.gsub('abc', 'b', nil, 'x')",
        "return string.gsub('abc', '%w', '%1', 0)", "return string.gsub('abc', '%w', '%1', -1)",
        "return string.gsub('abc', '%w', '%1', 2.0)", "return string.gsub('abc', '%w', '%1', 2.5)",
        "return string.gsub('abc', '', '-')", "return string.gsub('abc', '^', '-')", "return string.gsub('abc', '$', '-')",
        "return string.gsub('abc', '^a', '-')", "return string.gsub('abc', '^b', '-')", "return string.gsub('', '', 'x')",
        "return string.gsub('abc', 'b', '%')", "return string.gsub('abc', 'b', 'x%')", "return string.gsub('abc', 'b', '%a')",
        "return string.gsub('abc', '()b', '%1')", "return string.gsub('abc', '(b)', 5)", "return string.gsub('abc', 'b', 5.5)",
        "return string.gsub('abc', '(b)', {b = 7.25})", "return string.gsub('abc', 'b', {b = {}})",
        "return string.gsub('abc', '(b)', function(x) return x:upper(), 1 end)",
        "return string.gsub('abc', 'b', function() return true end)", "return string.gsub('hello', 'l+', string.upper)",
        "return string.gsub('abc', '(a)(b)(c)', '%3%2%1%0')", "return string.gsub('x', 'x', '%9')",
        "return all(string.gmatch('a,b,,c', '([^,]*)'))", "return all(string.gmatch('abc', '^a'))",
        "return all(string.gmatch('^abc', '^a'))", "return all(string.gmatch('abc', '', 10))",
        "return all(string.gmatch('abc', '', -1))", "return all(string.gmatch('k=v, a=b', '(%w+)=(%w+)'))",
        "return all(string.gmatch('abc', '()'))", "return all(string.gmatch('abc', '(a'))",
        "return string.gmatch()", "return string.gmatch('a')", "local it = string.gmatch('a b c', '%a') it() return it(), it(), it()",
        "local t = setmetatable({}, {__index = function(_, k) return k .. k end}) return string.gsub('ab', '%w', t)",
        "return string.gsub('abc', '%w', setmetatable({}, {__index = function() error('idx') end}))",
        "return string.find(('a'):rep(1000) .. 'b', ('a'):rep(999) .. 'b', 1, true)",
        "return string.find(('a'):rep(20000), '.-b')", "return string.match(('x'):rep(5000), '^(x*)$'):len()",
        "return string.gsub(('ab'):rep(3000), 'a', 'xyz'):len()",
    };
    for (size_t i = 0; i < sizeof misc / sizeof misc[0]; i++) same(misc[i], NULL, 0);
}

/* Random patterns from pieces of the syntax (and pieces that break it) on
 * random subjects over a small alphabet, so that matches are frequent. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static void random_cases(int n) {
    static const char *const pieces[] = {
        "a", "b", "c", ".", " ", "%a", "%d", "%s", "%w", "%p", "%A", "%S", "%.", "%%", "[ab]", "[^a]", "[a-c]",
        "[%d_]", "[]a]", "[^%s]", "(", ")", "()", "%1", "%2", "%b()", "%bab", "%f[%w]", "%f[%W]", "%f[a]",
        "*", "+", "-", "?", "^", "$", "[", "]", "%", "%b", "%f", "(a)", "(%a+)", "(.-)", "x*", "a-", "b?", "1",
    };
    static const char alphabet[] = "aabbc  ()_1.,x";
    char s[32], p[128];
    for (int i = 0; i < n; i++) {
        int ls = (int)rnd(14);
        for (int k = 0; k < ls; k++) s[k] = alphabet[rnd(sizeof alphabet - 1)];
        s[ls] = 0;
        p[0] = 0;
        int np = (int)rnd(7);
        for (int k = 0; k < np; k++) strcat(p, pieces[rnd(sizeof pieces / sizeof pieces[0])]);
        if (i % 4 == 0) all_fns(s, ls, p, (int)strlen(p));
        else {
            static const char *const codes[] = {
                "local s, p = ... return string.find(s, p)", "local s, p = ... return string.match(s, p)",
                "local s, p = ... return all(string.gmatch(s, p))", "local s, p = ... return string.gsub(s, p, '<%0|%1>')",
                "local s, p = ... return string.gsub(s, p, F)", "local s, p = ... return s:find(p, -4)",
            };
            arg a[2] = { { s, ls }, { p, (int)strlen(p) } };
            same(codes[rnd(sizeof codes / sizeof codes[0])], a, 2);
        }
    }
}

/* ---- the budget ------------------------------------------------------ */

typedef struct killer { lhost *h; int ms; } killer;

static void *kill_later(void *arg) {
    killer *k = arg;
    struct timespec ts = { 0, (long)k->ms * 1000000L };
    nanosleep(&ts, NULL);
    lhost_interrupt(k->h);
    return NULL;
}

static char console[8192];
static void con_print(void *ud, const char *s, size_t n, bool is_err) {
    (void)ud; (void)is_err;
    size_t used = strlen(console);
    snprintf(console + used, sizeof console - used, "%.*s\n", (int)n, s);
}

/* Runs chunk in h; the outcome (err and what went to the console) in out. */
static int eval(lhost *h, const char *chunk, char *out, size_t cap) {
    char err[1024] = "";
    console[0] = 0;
    int rc = lhost_eval(h, chunk, true, err, sizeof err);
    snprintf(out, cap, "%s | %s", err, console);
    return rc;
}

static const char *const RUNAWAY[] = {
    "return string.find(('a'):rep(28), ('a*'):rep(28) .. 'b')",
    "return ('a'):rep(28):match(('a-'):rep(28) .. 'b')",
    "for x in string.gmatch(('a'):rep(28), ('a?'):rep(28) .. 'b') do end",
    "return string.gsub(('a'):rep(28), ('(a*)'):rep(16) .. 'a*b', '')",
};

static void budget_cases(void) {
    lhost_ui ui = { .print = con_print };
    lhost_opts o;
    lhost_opts_default(&o);
    o.ui = &ui;
    o.budget_s = 0.3;
    lhost *h;
    char err[1024];
    CHECK(lhost_create(&h, &o, err, sizeof err) == LHOST_OK, "create: %s", err);
    for (size_t i = 0; i < sizeof RUNAWAY / sizeof RUNAWAY[0]; i++) {
        double t0 = lhost_now();
        int rc = eval(h, RUNAWAY[i], err, sizeof err);
        double dt = lhost_now() - t0;
        CHECK(rc != LHOST_OK && strstr(err, "time budget of 0.3 s exceeded"), "%s: stopped by the budget (%d: %s)",
              RUNAWAY[i], rc, err);
        CHECK(dt < 5.0, "%s: stopped within seconds (%.2f s)", RUNAWAY[i], dt);
    }
    /* pcall does not swallow the stop */
    int rc = eval(h, "print(pcall(string.find, ('a'):rep(28), ('a*'):rep(28) .. 'b')) print('after')", err, sizeof err);
    CHECK(rc != LHOST_OK && strstr(err, "time budget"), "pcall rethrows the stop: %s", err);
    lhost_destroy(h);

    o.budget_s = 60;
    o.budget_instr = 2000000;
    CHECK(lhost_create(&h, &o, err, sizeof err) == LHOST_OK, "create: %s", err);
    rc = eval(h, RUNAWAY[0], err, sizeof err);
    CHECK(rc != LHOST_OK && strstr(err, "instruction budget"), "the steps count as instructions: %s", err);
    lhost_destroy(h);

    o.budget_instr = 0;
    CHECK(lhost_create(&h, &o, err, sizeof err) == LHOST_OK, "create: %s", err);
    pthread_t th;
    killer k = { h, 200 };
    pthread_create(&th, NULL, kill_later, &k);
    double t0 = lhost_now();
    rc = eval(h, RUNAWAY[0], err, sizeof err);
    double dt = lhost_now() - t0;
    pthread_join(th, NULL);
    CHECK(rc != LHOST_OK && strstr(err, "interrupted"), "lhost_interrupt (Ctrl-C) stops it: %s", err);
    CHECK(dt < 5.0, "promptly (%.2f s)", dt);
    /* and the state goes on */
    CHECK(eval(h, "assert(('key=val'):match('(%w+)=(%w+)') == 'key')", err, sizeof err) == LHOST_OK,
          "the state works after the stop: %s", err);
    lhost_destroy(h);
}

int main(int argc, char **argv) {
    int n_random = argc > 1 ? atoi(argv[1]) : 15000;
    stock = new_state(false);
    ours = new_state(true);
    hand_cases();
    long hand = n_cases;
    random_cases(n_random);
    CHECK(n_diff == 0, "%ld of %ld cases differ from the stock library (%ld hand-picked, %ld errors)", n_diff,
          n_cases, hand, n_errors);
    CHECK(n_cases > 50000 && n_errors > 1000, "the corpus is large (%ld cases, %ld errors)", n_cases, n_errors);
    printf("lpat: %ld cases (%ld hand-picked), %ld raise errors, %ld differ\n", n_cases, hand, n_errors, n_diff);
    lua_close(stock);
    lua_close(ours);
    budget_cases();
    return check_done();
}
