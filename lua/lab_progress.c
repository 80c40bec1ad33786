/* lab_progress: a live progress line for long Lua work.
 *
 *   lab.progress(text [, fields]) -> shown        the line now says text
 *   lab.progress_done([text [, fields]])          the work is over
 *   lab.progress_mode([mode [, {interval=s}]]) -> mode, interval
 *
 * Where the line goes depends on the state's mode (per Lua state, default
 * "auto"):
 *   terminal  one stderr line rewritten in place ("\r" + clear to the end
 *             of the line), cut to the terminal's width; lab.print and
 *             errors clear it first and draw it again after, so that it
 *             stays the last line; progress_done clears it.
 *   status    the workbench's status bar ("NAME: text"; lhost_progress_status).
 *   lines     one plain line per update (stderr; the console in the workbench).
 *   json      one JSON object per update on stdout (the console in the
 *             workbench): {"type":"progress","text":...} with the fields;
 *             progress_done: {"type":"progress_done"[,"text":...]}.
 *   off       nothing.
 * "auto" is status in the workbench, terminal when stderr is a terminal,
 * else off: a log or a pipe gets no progress unless asked for it.
 *
 * Throttling: an update that comes within `interval` seconds of the last
 * one shown is held back (a newer one replaces it) and shown when the
 * interval has passed, by the next update or by lhost_tick, so the line
 * never lags behind the work for long and a tight loop costs no output.
 * Default intervals: terminal 0.1 s, lines 1 s, json 0 (every update),
 * status none (the bar is drawn at the workbench's own pace).
 *
 * The terminal line belongs to the host (one stderr): the state that drew
 * it last owns it; a state that closes clears its line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lhost_impl.h"
#include "utf8.h"

enum { PM_AUTO = 0, PM_TERMINAL, PM_STATUS, PM_LINES, PM_JSON, PM_OFF };
static const char *const mode_names[] = { "auto", "terminal", "status", "lines", "json", "off", NULL };

static char *dupn(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) { memcpy(d, s, n); d[n] = 0; }
    return d;
}

/* The mode in effect: auto resolved; in the workbench there is no terminal
 * (the bar stands for it) and no stderr (the console stands for it). */
static int effective(const lstate *st) {
    lhost *h = st->h;
    int m = st->prog_mode;
    if (m == PM_AUTO) m = h->has_ui ? PM_STATUS : isatty(STDERR_FILENO) ? PM_TERMINAL : PM_OFF;
    if (h->has_ui && m == PM_TERMINAL) m = PM_STATUS;
    if (!h->has_ui && m == PM_STATUS) m = PM_OFF;
    return m;
}

static double interval(const lstate *st, int m) {
    if (st->prog_interval >= 0) return st->prog_interval;
    return m == PM_TERMINAL ? 0.1 : m == PM_LINES ? 1.0 : 0;
}

/* Display columns of code point cp: 2 for the wide East Asian blocks and
 * emoji, 0 for combining marks, else 1 (enough to keep a line on one row). */
static int cp_width(uint32_t cp) {
    if ((cp >= 0x300 && cp <= 0x36F) || (cp >= 0x200B && cp <= 0x200F)) return 0;
    if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) || (cp >= 0xAC00 && cp <= 0xD7A3) ||
        (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
        (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1FAFF) || (cp >= 0x20000 && cp <= 0x3FFFD))
        return 2;
    return 1;
}

/* text as one line: control characters (newlines, tabs, escapes) become
 * spaces, invalid UTF-8 bytes '?', and with max_cols > 0 it is cut to that
 * many columns with a trailing "…". Returns a malloc'd string or NULL. */
static char *one_line(const char *s, size_t n, int max_cols) {
    char *o = malloc(n + 4), *w = o;
    if (!o) return NULL;
    int cols = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int k = utf8_decode(s + i, n - i, &cp);
        if (k <= 0) { k = 1; cp = '?'; }
        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) cp = ' ';
        int cw = cp_width(cp);
        if (max_cols > 0 && cols + cw > max_cols - 1 && i + (size_t)k < n) {
            memcpy(w, "\xe2\x80\xa6", 3);          /* … */
            w += 3;
            break;
        }
        if (max_cols > 0 && cols + cw > max_cols) break;
        w += utf8_encode(cp, w);
        cols += cw;
        i += (size_t)k;
    }
    *w = 0;
    return o;
}

static int term_cols(void) {
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    const char *c = getenv("COLUMNS");
    int n = c ? atoi(c) : 0;
    return n > 0 ? n : 80;
}

/* ---- the terminal line (the host's) ------------------------------------- */

static void term_draw(lhost *h) {
    if (!h->prog_line) return;
    fputs("\r\033[K", stderr);
    fputs(h->prog_line, stderr);
    fflush(stderr);
}

static void term_clear(lhost *h) {
    if (!h->prog_line) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    free(h->prog_line);
    h->prog_line = NULL;
    h->prog_owner = NULL;
}

void lab_progress_hide(lhost *h) {
    if (!h->prog_line || h->has_ui) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
}

void lab_progress_show(lhost *h) {
    if (h->has_ui) return;
    term_draw(h);
}

/* ---- output -------------------------------------------------------------- */

/* Shows rendered output r (the text for terminal, status and lines; the
 * JSON line for json) in mode m now. */
static void emit(lstate *st, int m, const char *r) {
    lhost *h = st->h;
    switch (m) {
    case PM_TERMINAL: {
        char *line = one_line(r, strlen(r), term_cols() - 1);
        if (!line) return;
        free(h->prog_line);
        h->prog_line = line;
        h->prog_owner = st;
        term_draw(h);
        break;
    }
    case PM_STATUS:
        break;                                  /* set at once by the caller */
    case PM_LINES: {
        char *line = one_line(r, strlen(r), 0);
        if (!line) return;
        if (h->has_ui) lhost_print(h, line, strlen(line), false);
        else {
            lab_progress_hide(h);
            fprintf(stderr, "%s\n", line);
            fflush(stderr);
            lab_progress_show(h);
        }
        free(line);
        break;
    }
    case PM_JSON:
        lhost_print(h, r, strlen(r), false);
        break;
    default: break;
    }
}

/* Pushes {"type":"progress" (done: "progress_done"), fields..., "text":text}
 * as JSON text; fields at idx (0: none), checked by check_fields. */
static const char *json_line(lua_State *L, int text, int fields, bool done) {
    lua_createtable(L, 0, 4);
    int t = lua_gettop(L);
    if (fields) {
        lua_pushnil(L);
        while (lua_next(L, fields)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_settable(L, t);
        }
    }
    lua_pushstring(L, done ? "progress_done" : "progress");
    lua_setfield(L, t, "type");
    if (text) lua_pushvalue(L, text);
    else lua_pushnil(L);
    lua_setfield(L, t, "text");
    lab_json_push(L, t);                        /* raises for what JSON cannot hold */
    return lua_tostring(L, -1);
}

/* fields (a table at idx, or none), checked in every mode so that a
 * mistake shows on a terminal as well as with --json: they may not set
 * what lab.progress sets itself (type, text). */
static void check_fields(lua_State *L, int idx, const char *fn) {
    if (lua_isnoneornil(L, idx)) return;
    luaL_checktype(L, idx, LUA_TTABLE);
    static const char *const own[] = { "type", "text" };
    for (int i = 0; i < 2; i++)
        if (lua_getfield(L, idx, own[i]) != LUA_TNIL)
            luaL_error(L, "%s: field '%s' is set by lab.progress itself (choose another name)", fn, own[i]);
        else lua_pop(L, 1);
}

static void set_status(lstate *st, const char *text) {
    lhost *h = st->h;
    free(st->prog_text);
    st->prog_text = NULL;
    if (text) st->prog_text = one_line(text, strlen(text), 0);
    if (h->has_ui && h->ui.redraw) h->ui.redraw(h->ui.ud);
}

/* lab.progress(text [, fields]) -> true when shown now, false when held
 * back (throttled) or the mode is off. */
static int l_progress(lua_State *L) {
    lstate *st = lhost_state(L);
    size_t n;
    const char *text = luaL_checklstring(L, 1, &n);
    check_fields(L, 2, "lab.progress");
    int m = effective(st);
    if (m == PM_OFF) { lua_pushboolean(L, 0); return 1; }
    if (m == PM_STATUS) {
        set_status(st, text);
        lua_pushboolean(L, 1);
        return 1;
    }
    const char *r = m == PM_JSON ? json_line(L, 1, lua_isnoneornil(L, 2) ? 0 : 2, false) : text;
    double now = lhost_now();
    if (now >= st->prog_next) {
        free(st->prog_pending);
        st->prog_pending = NULL;
        emit(st, m, r);
        st->prog_next = now + interval(st, m);
        lua_pushboolean(L, 1);
        return 1;
    }
    char *p = dupn(r, strlen(r));               /* held back: the newest replaces the older */
    if (!p) return luaL_error(L, "out of memory");
    free(st->prog_pending);
    st->prog_pending = p;
    st->prog_mode_pending = m;
    lua_pushboolean(L, 0);
    return 1;
}

/* lab.progress_done([text [, fields]]): clears the line (terminal, status);
 * text, when given, is the closing line (printed as lab.print would on
 * stderr's side: stderr headless, the console in the workbench); json gets
 * {"type":"progress_done",...}. Updates held back are dropped. */
static int l_progress_done(lua_State *L) {
    lstate *st = lhost_state(L);
    lhost *h = st->h;
    const char *text = luaL_optstring(L, 1, NULL);
    check_fields(L, 2, "lab.progress_done");
    int m = effective(st);
    free(st->prog_pending);
    st->prog_pending = NULL;
    st->prog_next = 0;
    if (h->prog_owner == st) term_clear(h);
    if (st->prog_text) set_status(st, NULL);
    if (m == PM_JSON) {
        const char *r = json_line(L, text ? 1 : 0, lua_isnoneornil(L, 2) ? 0 : 2, true);
        lhost_print(h, r, strlen(r), false);
    } else if (text && m != PM_OFF) {
        if (h->has_ui) lhost_print(h, text, strlen(text), false);
        else {
            lab_progress_hide(h);
            fprintf(stderr, "%s\n", text);
            fflush(stderr);
            lab_progress_show(h);
        }
    }
    return 0;
}

/* lab.progress_mode([mode [, {interval = s}]]) -> mode in effect, interval */
static int l_progress_mode(lua_State *L) {
    lstate *st = lhost_state(L);
    if (!lua_isnoneornil(L, 1)) {
        const char *name = luaL_checkstring(L, 1);
        int m = 0;
        while (mode_names[m] && strcmp(mode_names[m], name) != 0) m++;
        if (!mode_names[m])
            return luaL_error(L, "lab.progress_mode: unknown mode '%s' (auto, terminal, status, lines, json, off)", name);
        double iv = -1;
        if (!lua_isnoneornil(L, 2)) {
            luaL_checktype(L, 2, LUA_TTABLE);
            lua_pushnil(L);
            while (lua_next(L, 2)) {
                if (lua_type(L, -2) != LUA_TSTRING || strcmp(lua_tostring(L, -2), "interval") != 0)
                    return luaL_error(L, "lab.progress_mode: unknown option '%s' (interval)", luaL_tolstring(L, -2, NULL));
                lua_pop(L, 1);
            }
            if (lua_getfield(L, 2, "interval") != LUA_TNIL) {
                iv = luaL_checknumber(L, -1);
                if (!(iv >= 0 && iv <= 3600))
                    return luaL_error(L, "lab.progress_mode: interval must be between 0 and 3600 seconds, got %f", iv);
            }
            lua_pop(L, 1);
        }
        free(st->prog_pending);                 /* held back for the old mode */
        st->prog_pending = NULL;
        if (st->h->prog_owner == st) term_clear(st->h);
        if (st->prog_text) set_status(st, NULL);
        st->prog_mode = m;
        st->prog_interval = iv;
        st->prog_next = 0;
    }
    int m = effective(st);
    lua_pushstring(L, mode_names[m]);
    lua_pushnumber(L, m == PM_STATUS || m == PM_OFF ? 0 : interval(st, m));
    return 2;
}

/* ---- the host's side ------------------------------------------------------- */

void lab_progress_tick(lhost *h) {
    double now = lhost_now();
    for (lstate *st = h->states; st; st = st->next) {
        if (!st->prog_pending || now < st->prog_next) continue;
        char *p = st->prog_pending;
        st->prog_pending = NULL;
        if (st->enabled && effective(st) == st->prog_mode_pending) {
            emit(st, st->prog_mode_pending, p);
            st->prog_next = now + interval(st, st->prog_mode_pending);
        }
        free(p);
    }
}

double lab_progress_due(const lhost *h) {
    double due = -1;
    for (const lstate *st = h->states; st; st = st->next)
        if (st->prog_pending && (due < 0 || st->prog_next < due)) due = st->prog_next;
    return due;
}

void lab_progress_drop_state(lstate *st) {
    free(st->prog_pending);
    st->prog_pending = NULL;
    if (st->h->prog_owner == st) term_clear(st->h);
    if (st->prog_text) set_status(st, NULL);
}

void lab_progress_close(lhost *h) { term_clear(h); }

size_t lhost_progress_status(lhost *h, char *buf, size_t cap) {
    size_t at = 0;
    if (cap) buf[0] = 0;
    for (lstate *st = h->states; st && cap; st = st->next) {
        if (!st->prog_text || !st->enabled) continue;
        int k = snprintf(buf + at, cap - at, "%s%s: %s", at ? " | " : "", st->name, st->prog_text);
        if (k < 0) break;
        at += (size_t)k;
        if (at >= cap) { at = cap - 1; break; }
    }
    return at;
}

static const luaL_Reg fns[] = {
    { "progress", l_progress },
    { "progress_done", l_progress_done },
    { "progress_mode", l_progress_mode },
    { NULL, NULL },
};

int lab_open_progress(lua_State *L) {
    luaL_setfuncs(L, fns, 0);
    return 0;
}
