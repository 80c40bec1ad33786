/* canvas: the cell grid (see canvas.h). Invariant: a cell with wide == 1 is
 * always followed by its tail (wide == 2) in the same row, and a tail always
 * follows a head; set_cell repairs neighbours to keep this. */
#include "canvas.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vis.h"

int canvas_init(canvas *c, int w, int h) {
    c->w = c->h = 0;
    c->cells = NULL;
    return canvas_resize(c, w, h);
}

void canvas_fini(canvas *c) {
    free(c->cells);
    c->cells = NULL;
    c->w = c->h = 0;
}

int canvas_resize(canvas *c, int w, int h) {
    if (w < 0) w = 0;
    if (h < 0) h = 0;
    size_t n = (size_t)w * (size_t)h;
    canvas_cell *cells = malloc((n ? n : 1) * sizeof *cells);
    if (!cells) return -1;
    for (size_t i = 0; i < n; i++) cells[i] = (canvas_cell){ ' ', 0, 0 };
    free(c->cells);
    c->cells = cells;
    c->w = w;
    c->h = h;
    return 0;
}

canvas_view canvas_full(canvas *c) { return (canvas_view){ c, 0, 0, c->w, c->h }; }

canvas_view canvas_sub(const canvas_view *v, int x, int y, int w, int h) {
    canvas_view s = { v->cv, v->x + x, v->y + y, w, h };
    int x1 = s.x + (w < 0 ? 0 : w), y1 = s.y + (h < 0 ? 0 : h);
    int vx1 = v->x + v->w, vy1 = v->y + v->h;
    if (s.x < v->x) s.x = v->x;
    if (s.y < v->y) s.y = v->y;
    if (x1 > vx1) x1 = vx1;
    if (y1 > vy1) y1 = vy1;
    s.w = x1 > s.x ? x1 - s.x : 0;
    s.h = y1 > s.y ? y1 - s.y : 0;
    return s;
}

static canvas_cell *cell(canvas *c, int x, int y) { return &c->cells[(size_t)y * (size_t)c->w + (size_t)x]; }

/* Absolute coordinates, inside the canvas. */
static void set_cell(canvas *c, int x, int y, uint32_t ch, uint16_t style, uint8_t wide) {
    canvas_cell *p = cell(c, x, y);
    if (p->wide == 2 && x > 0) *cell(c, x - 1, y) = (canvas_cell){ ' ', cell(c, x - 1, y)->style, 0 };
    if (p->wide == 1 && x + 1 < c->w && wide != 1) *cell(c, x + 1, y) = (canvas_cell){ ' ', p->style, 0 };
    *p = (canvas_cell){ ch, style, wide };
}

int canvas_putc(const canvas_view *v, int x, int y, uint16_t style, uint32_t cp) {
    if (x < 0 || y < 0 || x >= v->w || y >= v->h) return 0;
    int w = vis_cp_width(cp);
    if (w < 0) { cp = '?'; w = 1; }
    if (w == 0) return 0;           /* combining marks are not drawn on their own */
    int ax = v->x + x, ay = v->y + y;
    if (w == 2 && x + 1 >= v->w) { set_cell(v->cv, ax, ay, ' ', style, 0); return 1; }
    if (w == 2) {
        canvas_cell *tail = cell(v->cv, ax + 1, ay);
        if (tail->wide == 1 && ax + 2 < v->cv->w) *cell(v->cv, ax + 2, ay) = (canvas_cell){ ' ', style, 0 };
        set_cell(v->cv, ax, ay, cp, style, 1);
        *tail = (canvas_cell){ 0, style, 2 };
        return 2;
    }
    set_cell(v->cv, ax, ay, cp, style, 0);
    return 1;
}

void canvas_fill(const canvas_view *v, int x, int y, int w, int h, uint32_t ch, uint16_t style) {
    for (int j = y; j < y + h; j++)
        for (int i = x; i < x + w;) {
            int k = canvas_putc(v, i, j, style, ch);
            i += k > 0 ? k : 1;
        }
}

int canvas_put(const canvas_view *v, int x, int y, uint16_t style, const char *s, size_t n, int maxw) {
    if (maxw < 0 || maxw > v->w - x) maxw = v->w - x;
    int used = 0;
    for (size_t i = 0; i < n && used < maxw;) {
        uint32_t cp;
        int l = vis_utf8_decode(s + i, n - i, &cp);
        if (l == 0) { cp = 0xFFFD; l = 1; }
        i += (size_t)l;
        int cw = vis_cp_width(cp);
        if (cw == 0) continue;
        if (cw == 2 && used + 2 > maxw) {   /* would cross the limit: a space instead */
            canvas_putc(v, x + used, y, style, ' ');
            used++;
            break;
        }
        used += canvas_putc(v, x + used, y, style, cp);
        if (x + used >= v->w) break;
    }
    return used;
}

int canvas_puts(const canvas_view *v, int x, int y, uint16_t style, const char *s) {
    return canvas_put(v, x, y, style, s, strlen(s), -1);
}

int canvas_printf(const canvas_view *v, int x, int y, uint16_t style, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return 0;
    return canvas_put(v, x, y, style, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1, -1);
}

void canvas_set_style(const canvas_view *v, int x, int y, int w, uint16_t style) {
    if (y < 0 || y >= v->h) return;
    for (int i = x < 0 ? 0 : x; i < x + w && i < v->w; i++) cell(v->cv, v->x + i, v->y + y)->style = style;
}

void canvas_add_flags(const canvas_view *v, int x, int y, int w, uint16_t flags) {
    if (y < 0 || y >= v->h) return;
    for (int i = x < 0 ? 0 : x; i < x + w && i < v->w; i++) cell(v->cv, v->x + i, v->y + y)->style |= flags;
}

const canvas_cell *canvas_at(const canvas *c, int x, int y) {
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return NULL;
    return &c->cells[(size_t)y * (size_t)c->w + (size_t)x];
}

size_t canvas_row_text(const canvas *c, int y, char *buf, size_t cap) {
    size_t at = 0;
    if (cap) buf[0] = 0;
    if (y < 0 || y >= c->h) return 0;
    for (int x = 0; x < c->w; x++) {
        const canvas_cell *p = &c->cells[(size_t)y * (size_t)c->w + (size_t)x];
        if (p->wide == 2) continue;
        char u[4];
        int k = vis_utf8_encode(p->ch, u);
        if (at + (size_t)k + 1 > cap) break;
        memcpy(buf + at, u, (size_t)k);
        at += (size_t)k;
        buf[at] = 0;
    }
    return at;
}
