/* lpat: the sandbox's string.find, string.match, string.gmatch and
 * string.gsub (also the string methods: ("x"):find uses the same table).
 *
 * Why not the library's own: its matcher is one C call that the count hook
 * never interrupts, and backtracking makes some patterns exponential
 * (string.find(("a"):rep(28), ("a*"):rep(28) .. "b") runs for minutes), so a
 * script could outlive its time budget and Ctrl-C. This matcher counts its
 * steps and every LPAT_TICK steps asks the host whether the entry must stop
 * (lhost_step: time, instructions, interrupt), raising the same error as
 * the budget hook.
 *
 * Written from the Lua 5.4 reference manual, section 6.4.1 (Patterns) and
 * the descriptions of the four functions in 6.4; the behaviour the manual
 * leaves open (errors for malformed patterns, which are found lazily, only
 * when the matcher reaches them; the 32-capture and 200-nesting limits; the
 * order in which arguments are checked) follows the stock library, and
 * tests/test_lpat.c compares both on a large corpus.
 *
 * The matcher is a backtracking interpreter over the pattern text: match()
 * matches the pattern from p at subject position s and returns where the
 * match ends (NULL: no match). It recurses only where it must try the rest
 * of the pattern and possibly come back (a quantifier, a capture's open or
 * close), at most MAX_NEST deep ("pattern too complex").
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "lhost_impl.h"

#define MAX_CAPS 32             /* as the stock library's LUA_MAXCAPTURES */
#define MAX_NEST 200            /* nested match() calls per attempt */
#define CAP_OPEN (-1)           /* a capture whose ')' is not reached yet */
#define CAP_POS (-2)            /* a position capture () */
#define ESC '%'

typedef struct pcap {
    const char *at;
    ptrdiff_t len;              /* >= 0, CAP_OPEN or CAP_POS */
} pcap;

typedef struct pm {
    lua_State *L;
    const char *s0, *s_end;     /* the subject (NUL-terminated, as every Lua string) */
    const char *p_end;          /* the pattern's end */
    int nest;                   /* match() calls still allowed */
    int ncap;
    unsigned steps;             /* until the next budget check */
    pcap cap[MAX_CAPS];
} pm;

static inline int uc(char c) { return (unsigned char)c; }

static void pm_init(pm *m, lua_State *L, const char *s, size_t ls, const char *p_end) {
    m->L = L;
    m->s0 = s;
    m->s_end = s + ls;
    m->p_end = p_end;
    m->steps = LPAT_TICK;
}

/* A new attempt (another start position, the next gmatch/gsub match). */
static void pm_reset(pm *m) {
    m->nest = MAX_NEST;
    m->ncap = 0;
}

static inline void step(pm *m) {
    if (--m->steps == 0) {
        m->steps = LPAT_TICK;
        lhost_step(m->L, LPAT_TICK);
    }
}

/* %x for the class letter cl: the letters of 6.4.1 (upper case: the
 * complement); any other character stands for itself. */
static bool class_has(int c, int cl) {
    bool in;
    switch (tolower(cl)) {
    case 'a': in = isalpha(c); break;
    case 'c': in = iscntrl(c); break;
    case 'd': in = isdigit(c); break;
    case 'g': in = isgraph(c); break;
    case 'l': in = islower(c); break;
    case 'p': in = ispunct(c); break;
    case 's': in = isspace(c); break;
    case 'u': in = isupper(c); break;
    case 'w': in = isalnum(c); break;
    case 'x': in = isxdigit(c); break;
    case 'z': in = c == 0; break;      /* not in the 5.4 manual, but the stock library keeps it */
    default: return cl == c;
    }
    return isupper(cl) ? !in : in;
}

/* Whether the set [ ... ] from open (its '[') to close (its ']') holds c:
 * %x classes, x-y ranges (a '-' first or last is itself), single bytes;
 * [^ ... ] the complement. */
static bool set_has(int c, const char *open, const char *close) {
    bool in = true;
    const char *p = open + 1;
    if (*p == '^') {
        in = false;
        p++;
    }
    while (p < close) {
        if (*p == ESC) {
            if (class_has(c, uc(p[1]))) return in;
            p += 2;
        } else if (p[1] == '-' && p + 2 < close) {
            if (uc(p[0]) <= c && c <= uc(p[2])) return in;
            p += 3;
        } else {
            if (uc(*p) == c) return in;
            p++;
        }
    }
    return !in;
}

/* The end of the single-character class at p: ".", "x", "%x" or a set.
 * Raises for a malformed one. In a set, the first character after '[' or
 * "[^" belongs to it even when it is ']', and "%]" does not close it. */
static const char *item_end(pm *m, const char *p) {
    char c = *p++;
    if (c == ESC) {
        if (p >= m->p_end) luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c != '[') return p;
    if (*p == '^') p++;
    do {
        if (p >= m->p_end) luaL_error(m->L, "malformed pattern (missing ']')");
        c = *p++;
        if (c == ESC && p < m->p_end) p++;
    } while (*p != ']');        /* at p_end this reads the string's NUL */
    return p + 1;
}

/* Whether the class p..ep matches the subject byte at s. */
static bool single(const pm *m, const char *s, const char *p, const char *ep) {
    if (s >= m->s_end) return false;
    int c = uc(*s);
    switch (*p) {
    case '.': return true;
    case ESC: return class_has(c, uc(p[1]));
    case '[': return set_has(c, p, ep - 1);
    default: return uc(*p) == c;
    }
}

static const char *match(pm *m, const char *s, const char *p);

/* x* and x+ (s past the required first x): as many as possible, giving
 * back one at a time until the rest matches. */
static const char *expand_max(pm *m, const char *s, const char *p, const char *ep) {
    ptrdiff_t n = 0;
    while (single(m, s + n, p, ep)) {
        n++;
        step(m);
    }
    for (; n >= 0; n--) {
        const char *e = match(m, s + n, ep + 1);
        if (e) return e;
    }
    return NULL;
}

/* x-: as few as possible, one more at a time until the rest matches. */
static const char *expand_min(pm *m, const char *s, const char *p, const char *ep) {
    for (;;) {
        const char *e = match(m, s, ep + 1);
        if (e) return e;
        if (!single(m, s, p, ep)) return NULL;
        s++;
    }
}

static const char *open_cap(pm *m, const char *s, const char *p, ptrdiff_t what) {
    if (m->ncap >= MAX_CAPS) luaL_error(m->L, "too many captures");
    m->cap[m->ncap].at = s;
    m->cap[m->ncap].len = what;
    m->ncap++;
    const char *e = match(m, s, p);
    if (!e) m->ncap--;
    return e;
}

/* ')' closes the innermost capture still open. */
static const char *close_cap(pm *m, const char *s, const char *p) {
    int i = m->ncap - 1;
    while (i >= 0 && m->cap[i].len != CAP_OPEN) i--;
    if (i < 0) luaL_error(m->L, "invalid pattern capture");
    m->cap[i].len = s - m->cap[i].at;
    const char *e = match(m, s, p);
    if (!e) m->cap[i].len = CAP_OPEN;
    return e;
}

/* %bxy at p (pointing at x): from an x at s to its balancing y. */
static const char *balance(pm *m, const char *s, const char *p) {
    if (p >= m->p_end - 1) luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->s_end || *s != *p) return NULL;
    char open = p[0], close = p[1];
    int depth = 1;
    while (++s < m->s_end) {
        step(m);
        if (*s == close) {
            if (--depth == 0) return s + 1;
        } else if (*s == open) {
            depth++;
        }
    }
    return NULL;
}

/* %1 .. %9: the text of a closed capture again. */
static const char *backref(pm *m, const char *s, int digit) {
    int i = digit - '1';
    if (i < 0 || i >= m->ncap || m->cap[i].len == CAP_OPEN)
        luaL_error(m->L, "invalid capture index %%%d", i + 1);
    ptrdiff_t len = m->cap[i].len;
    if (len < 0) return NULL;   /* a position capture has no text to repeat */
    if (m->s_end - s >= len && memcmp(m->cap[i].at, s, (size_t)len) == 0) return s + len;
    return NULL;
}

static const char *match(pm *m, const char *s, const char *p) {
    if (m->nest-- == 0) luaL_error(m->L, "pattern too complex");
    step(m);
    while (p != m->p_end) {
        switch (*p) {
        case '(':
            s = p[1] == ')' ? open_cap(m, s, p + 2, CAP_POS) : open_cap(m, s, p + 1, CAP_OPEN);
            goto out;
        case ')':
            s = close_cap(m, s, p + 1);
            goto out;
        case '$':
            if (p + 1 == m->p_end) {        /* only as the pattern's last character */
                if (s != m->s_end) s = NULL;
                goto out;
            }
            break;
        case ESC:
            if (p[1] == 'b') {
                s = balance(m, s, p + 2);
                if (!s) goto out;
                p += 4;
                continue;
            }
            if (p[1] == 'f') {
                p += 2;
                if (*p != '[') luaL_error(m->L, "missing '[' after '%%f' in pattern");
                const char *ep = item_end(m, p);
                int before = s == m->s0 ? 0 : uc(s[-1]);
                int at = s < m->s_end ? uc(*s) : 0;
                if (set_has(before, p, ep - 1) || !set_has(at, p, ep - 1)) {
                    s = NULL;
                    goto out;
                }
                p = ep;
                continue;
            }
            if (isdigit(uc(p[1]))) {
                s = backref(m, s, uc(p[1]));
                if (!s) goto out;
                p += 2;
                continue;
            }
            break;
        }
        /* a single-character class, perhaps followed by a quantifier */
        const char *ep = item_end(m, p);
        if (!single(m, s, p, ep)) {
            if (*ep == '*' || *ep == '?' || *ep == '-') {   /* zero of them is fine */
                p = ep + 1;
                continue;
            }
            s = NULL;
            goto out;
        }
        switch (*ep) {
        case '?': {
            const char *e = match(m, s + 1, ep + 1);
            if (e) {
                s = e;
                goto out;
            }
            p = ep + 1;
            continue;
        }
        case '+': s = expand_max(m, s + 1, p, ep); goto out;
        case '*': s = expand_max(m, s, p, ep); goto out;
        case '-': s = expand_min(m, s, p, ep); goto out;
        default: s++; p = ep; continue;
        }
    }
out:
    m->nest++;
    return s;
}

/* ---- results --------------------------------------------------------- */

/* Capture i; with no captures, capture 0 is the whole match s..e. */
static void push_cap(pm *m, int i, const char *s, const char *e) {
    if (i >= m->ncap) {
        if (i != 0) luaL_error(m->L, "invalid capture index %%%d", i + 1);
        lua_pushlstring(m->L, s, (size_t)(e - s));
    } else if (m->cap[i].len == CAP_OPEN) {
        luaL_error(m->L, "unfinished capture");
    } else if (m->cap[i].len == CAP_POS) {
        lua_pushinteger(m->L, (lua_Integer)(m->cap[i].at - m->s0) + 1);
    } else {
        lua_pushlstring(m->L, m->cap[i].at, (size_t)m->cap[i].len);
    }
}

/* Every capture, or the whole match when there are none and s is given. */
static int push_caps(pm *m, const char *s, const char *e) {
    int n = m->ncap == 0 && s ? 1 : m->ncap;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++) push_cap(m, i, s, e);
    return n;
}

/* ---- the library functions ------------------------------------------ */

/* A 1-based start position: negative counts from the end, 0 and anything
 * before the start is 1. */
static size_t start_pos(lua_Integer pos, size_t len) {
    if (pos > 0) return (size_t)pos;
    if (pos == 0 || pos < -(lua_Integer)len) return 1;
    return len + (size_t)pos + 1;
}

/* Whether p has none of the characters that make a pattern more than a
 * plain string (find then searches for it as it is). */
static bool is_plain(const char *p, size_t lp) {
    static const char specials[] = "^$*+?.([%-";
    for (size_t i = 0; i < lp; i++)
        if (memchr(specials, p[i], sizeof specials - 1)) return false;
    return true;
}

static int find_or_match(lua_State *L, bool find) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_pos(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || is_plain(p, lp))) {
        /* glibc's memmem is linear in both lengths (two-way search), so
         * this needs no step count: its time is bounded by memory */
        const char *at = memmem(s + init, ls - init, p, lp);
        if (!at) {
            luaL_pushfail(L);
            return 1;
        }
        lua_pushinteger(L, (lua_Integer)(at - s) + 1);
        lua_pushinteger(L, (lua_Integer)(at - s) + (lua_Integer)lp);
        return 2;
    }
    bool anchor = lp > 0 && *p == '^';
    if (anchor) {
        p++;
        lp--;
    }
    pm m;
    pm_init(&m, L, s, ls, p + lp);
    const char *at = s + init;
    do {
        pm_reset(&m);
        const char *e = match(&m, at, p);
        if (e) {
            if (!find) return push_caps(&m, at, e);
            lua_pushinteger(L, (lua_Integer)(at - s) + 1);
            lua_pushinteger(L, (lua_Integer)(e - s));
            return push_caps(&m, NULL, NULL) + 2;
        }
    } while (at++ < m.s_end && !anchor);
    luaL_pushfail(L);
    return 1;
}

static int lpat_find(lua_State *L) { return find_or_match(L, true); }
static int lpat_match(lua_State *L) { return find_or_match(L, false); }

/* gmatch's iterator state (upvalue 3; the subject and pattern strings are
 * upvalues 1 and 2, which keeps them alive). A '^' is an ordinary
 * character here: an anchor would stop the iteration (manual, gmatch). */
typedef struct gstate {
    pm m;
    const char *at;             /* where the next search starts */
    const char *p;
    const char *last;           /* end of the last match: an empty match there is skipped */
} gstate;

static int gmatch_next(lua_State *L) {
    gstate *g = lua_touserdata(L, lua_upvalueindex(3));
    g->m.L = L;                 /* the iterator may be called from another coroutine */
    for (const char *s = g->at; s <= g->m.s_end; s++) {
        pm_reset(&g->m);
        const char *e = match(&g->m, s, g->p);
        if (e && e != g->last) {
            g->at = g->last = e;
            return push_caps(&g->m, s, e);
        }
    }
    g->at = g->m.s_end + 1;
    return 0;
}

static int lpat_gmatch(lua_State *L) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_pos(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) init = ls + 1;   /* nothing to find; s + init stays one past the end */
    lua_settop(L, 2);
    gstate *g = lua_newuserdatauv(L, sizeof *g, 0);
    pm_init(&g->m, L, s, ls, p + lp);
    g->at = s + init;
    g->p = p;
    g->last = NULL;
    lua_pushcclosure(L, gmatch_next, 3);
    return 1;
}

/* The replacement string (argument 3) for the match s..e: %0 the match,
 * %1-%9 captures, %% a percent sign. */
static void add_string(pm *m, luaL_Buffer *b, const char *s, const char *e) {
    size_t n;
    const char *r = lua_tolstring(m->L, 3, &n);
    const char *end = r + n;
    for (;;) {
        const char *esc = memchr(r, ESC, (size_t)(end - r));
        if (!esc) break;
        luaL_addlstring(b, r, (size_t)(esc - r));
        char c = esc[1];        /* the string's NUL after a final '%' */
        if (c == ESC) {
            luaL_addchar(b, ESC);
        } else if (c == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit(uc(c))) {
            push_cap(m, c - '1', s, e);
            luaL_addvalue(b);   /* a position capture is a number: added as its digits */
        } else {
            luaL_error(m->L, "invalid use of '%c' in replacement string", ESC);
        }
        r = esc + 2;
    }
    luaL_addlstring(b, r, (size_t)(end - r));
}

/* Adds the replacement of s..e; returns whether it differs from the match
 * (a function or table giving false or nil keeps the match). */
static bool add_value(pm *m, luaL_Buffer *b, const char *s, const char *e, int kind) {
    lua_State *L = m->L;
    if (kind == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = push_caps(m, s, e);
        lua_call(L, n, 1);
    } else if (kind == LUA_TTABLE) {
        push_cap(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        add_string(m, b, s, e);
        return true;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return false;
    }
    if (!lua_isstring(L, -1)) luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return true;
}

static int lpat_gsub(lua_State *L) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int kind = lua_type(L, 3);
    lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(L, kind == LUA_TNUMBER || kind == LUA_TSTRING || kind == LUA_TFUNCTION || kind == LUA_TTABLE,
                     3, "string/function/table");
    bool anchor = lp > 0 && *p == '^';
    if (anchor) {
        p++;
        lp--;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    pm m;
    pm_init(&m, L, s, ls, p + lp);
    const char *at = s, *last = NULL;
    lua_Integer n = 0;
    bool changed = false;
    while (n < max_n) {
        pm_reset(&m);
        const char *e = match(&m, at, p);
        if (e && e != last) {   /* an empty match right after the previous one does not count */
            n++;
            changed |= add_value(&m, &b, at, e, kind);
            at = last = e;
        } else if (at < m.s_end) {
            luaL_addchar(&b, *at++);
        } else {
            break;
        }
        if (anchor) break;
    }
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, at, (size_t)(m.s_end - at));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}

void lpat_open(lua_State *L, int idx) {
    static const luaL_Reg fns[] = {
        { "find", lpat_find }, { "match", lpat_match }, { "gmatch", lpat_gmatch }, { "gsub", lpat_gsub },
    };
    idx = lua_absindex(L, idx);
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        lua_pushcfunction(L, fns[i].func);
        lua_setfield(L, idx, fns[i].name);
    }
}
