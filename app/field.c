/* field: editable UTF-8 text (see field.h). Invariant: buf[len] == 0 and
 * cur <= len lies on a character boundary (every edit moves it by whole
 * characters). Wrapping is by display columns (vis_cp_width), so CJK text
 * and emoji wrap where the canvas would cut them. */
#include "field.h"

#include <stdlib.h>
#include <string.h>

#include "palette.h"
#include "vis.h"

void field_init(field *f, bool multiline) {
    memset(f, 0, sizeof *f);
    f->multiline = multiline;
}

void field_fini(field *f) {
    free(f->buf);
    memset(f, 0, sizeof *f);
}

static int reserve(field *f, size_t n) {
    if (n + 1 <= f->cap) return 0;
    size_t cap = f->cap ? f->cap : 64;
    while (cap < n + 1) cap *= 2;
    char *b = realloc(f->buf, cap);
    if (!b) return -1;
    f->buf = b;
    f->cap = cap;
    return 0;
}

int field_set(field *f, const char *s) {
    size_t n = strlen(s);
    if (reserve(f, n)) return -1;
    memcpy(f->buf, s, n + 1);
    f->len = f->cur = n;
    f->scroll = 0;
    return 0;
}

const char *field_text(const field *f) { return f->buf ? f->buf : ""; }

int field_insert(field *f, const char *s, size_t n) {
    if (reserve(f, f->len + n)) return -1;
    memmove(f->buf + f->cur + n, f->buf + f->cur, f->len - f->cur + 1);
    memcpy(f->buf + f->cur, s, n);
    f->len += n;
    f->cur += n;
    return 0;
}

static size_t prev_char(const field *f, size_t at) {
    if (at == 0) return 0;
    at--;
    while (at > 0 && ((unsigned char)f->buf[at] & 0xC0) == 0x80) at--;
    return at;
}

static size_t next_char(const field *f, size_t at) {
    if (at >= f->len) return f->len;
    uint32_t cp;
    int l = vis_utf8_decode(f->buf + at, f->len - at, &cp);
    return at + (size_t)(l ? l : 1);
}

static void cut(field *f, size_t a, size_t b) {
    if (b <= a) return;
    memmove(f->buf + a, f->buf + b, f->len - b + 1);
    f->len -= b - a;
    if (f->cur > b) f->cur -= b - a;
    else if (f->cur > a) f->cur = a;
}

static size_t line_start(const field *f, size_t at) {
    while (at > 0 && f->buf[at - 1] != '\n') at--;
    return at;
}

static size_t line_end(const field *f, size_t at) {
    while (at < f->len && f->buf[at] != '\n') at++;
    return at;
}

/* Display column of at within its line. */
static int column(const field *f, size_t at) {
    size_t s = line_start(f, at);
    return vis_width(f->buf + s, at - s);
}

/* The offset in the line starting at s closest to column col. */
static size_t at_column(const field *f, size_t s, int col) {
    size_t e = line_end(f, s), at = s;
    int c = 0;
    while (at < e) {
        size_t n = next_char(f, at);
        int w = vis_width(f->buf + at, n - at);
        if (c + w > col) break;
        c += w;
        at = n;
    }
    return at;
}

bool field_key(field *f, int action, keys_code k) {
    if (!f->buf && reserve(f, 0)) return false;
    switch (action) {
    case ACT_LEFT: f->cur = prev_char(f, f->cur); return true;
    case ACT_RIGHT: f->cur = next_char(f, f->cur); return true;
    case ACT_HOME: f->cur = f->multiline ? line_start(f, f->cur) : 0; return true;
    case ACT_END: f->cur = f->multiline ? line_end(f, f->cur) : f->len; return true;
    case ACT_BACKSPACE: cut(f, prev_char(f, f->cur), f->cur); return true;
    case ACT_DELCHAR: cut(f, f->cur, next_char(f, f->cur)); return true;
    case ACT_KILL_START: cut(f, f->multiline ? line_start(f, f->cur) : 0, f->cur); return true;
    case ACT_KILL_END: cut(f, f->cur, f->multiline ? line_end(f, f->cur) : f->len); return true;
    case ACT_NEWLINE:
        if (!f->multiline) return false;
        return field_insert(f, "\n", 1) == 0;
    case ACT_UP:
    case ACT_DOWN: {
        if (!f->multiline) return false;
        size_t s = line_start(f, f->cur);
        int col = column(f, f->cur);
        if (action == ACT_UP) {
            if (s == 0) { f->cur = 0; return true; }
            f->cur = at_column(f, line_start(f, s - 1), col);
        } else {
            size_t e = line_end(f, f->cur);
            if (e == f->len) { f->cur = f->len; return true; }
            f->cur = at_column(f, e + 1, col);
        }
        return true;
    }
    case ACT_NONE:
        if (keys_is_text(k)) {
            char u[4];
            return field_insert(f, u, (size_t)vis_utf8_encode((uint32_t)k, u)) == 0;
        }
        return false;
    default: return false;
    }
}

/* Walks the text as wrapped at width w, calling at(ud, row, col, offset,
 * cp, width) for each character (cp '\n' ends a row). Returns the rows. */
typedef void (*walk_fn)(void *ud, int row, int col, size_t off, uint32_t cp, int cw);

static int walk(const field *f, int w, walk_fn fn, void *ud) {
    int row = 0, col = 0;
    for (size_t at = 0; at < f->len;) {
        uint32_t cp;
        int l = vis_utf8_decode(f->buf + at, f->len - at, &cp);
        if (!l) { cp = 0xFFFD; l = 1; }
        if (cp == '\n') {
            if (fn) fn(ud, row, col, at, cp, 1);
            row++; col = 0;
            at += (size_t)l;
            continue;
        }
        int cw = vis_cp_width(cp);
        if (cw < 0) cw = 1;
        if (w > 0 && col + cw > w) { row++; col = 0; }
        if (fn) fn(ud, row, col, at, cp, cw);
        col += cw;
        at += (size_t)l;
    }
    return row + 1;
}

typedef struct find_cur { size_t cur; int row, col; } find_cur;

static void on_find(void *ud, int row, int col, size_t off, uint32_t cp, int cw) {
    find_cur *fc = ud;
    if (off < fc->cur) {            /* the cursor sits right after this character */
        fc->row = row;
        fc->col = col + cw;
        if (cp == '\n') { fc->row = row + 1; fc->col = 0; }
    }
}

int field_rows(const field *f, int w) { return walk(f, w, NULL, NULL); }

typedef struct draw_ctx { const canvas_view *v; int scroll; uint16_t style; } draw_ctx;

static void on_draw(void *ud, int row, int col, size_t off, uint32_t cp, int cw) {
    (void)off; (void)cw;
    draw_ctx *d = ud;
    if (cp == '\n' || row < d->scroll) return;
    canvas_putc(d->v, col, row - d->scroll, d->style, cp);
}

int field_draw(field *f, const canvas_view *v, uint16_t style, bool show_cursor) {
    if (v->w <= 0 || v->h <= 0) return 0;
    canvas_fill(v, 0, 0, v->w, v->h, ' ', style);
    if (f->multiline) {
        find_cur fc = { f->cur, 0, 0 };
        int rows = walk(f, v->w, on_find, &fc);
        if (fc.col >= v->w) { fc.row++; fc.col = 0; }  /* the cursor wraps after a full row */
        if (fc.row < f->scroll) f->scroll = fc.row;
        if (fc.row >= f->scroll + v->h) f->scroll = fc.row - v->h + 1;
        if (f->scroll < 0) f->scroll = 0;
        draw_ctx d = { v, f->scroll, style };
        walk(f, v->w, on_draw, &d);
        if (show_cursor) canvas_add_flags(v, fc.col, fc.row - f->scroll, 1, PAL_F_REVERSE);
        return rows;
    }
    int ccol = vis_width(f->buf ? f->buf : "", f->cur);
    if (ccol < f->scroll) f->scroll = ccol;
    if (ccol >= f->scroll + v->w) f->scroll = ccol - v->w + 1;
    int col = 0;
    for (size_t at = 0; at < f->len;) {
        uint32_t cp;
        int l = vis_utf8_decode(f->buf + at, f->len - at, &cp);
        if (!l) { cp = 0xFFFD; l = 1; }
        int cw = vis_cp_width(cp);
        if (cw < 0) { cp = '?'; cw = 1; }
        if (col >= f->scroll) canvas_putc(v, col - f->scroll, 0, style, cp);
        col += cw;
        at += (size_t)l;
        if (col - f->scroll >= v->w) break;
    }
    if (show_cursor) canvas_add_flags(v, ccol - f->scroll, 0, 1, PAL_F_REVERSE);
    return 1;
}
