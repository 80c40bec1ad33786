/* canvas: a grid of terminal cells that panes draw into. Drawing is a pure
 * function from state to cells, so every pane can be rendered and checked
 * without a terminal (tests/test_tui_render.c); tui_term copies the grid to
 * ncurses once per frame.
 *
 * A cell holds one code point and a style (palette.h: a base style id in the
 * low byte, attribute flags above). A double-width character takes two
 * cells: the first holds it (wide = 1), the second is its tail (wide = 2).
 * Writing over half of a wide character blanks the other half, so the grid
 * never holds a broken one.
 *
 * A canvas_view is a clipped rectangle of a canvas (a pane's inside):
 * coordinates are relative to it and nothing is drawn outside it.
 */
#ifndef CANVAS_H
#define CANVAS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct canvas_cell {
    uint32_t ch;        /* code point; 0 in the tail of a wide character */
    uint16_t style;
    uint8_t wide;       /* 0 narrow, 1 head of a wide character, 2 its tail */
} canvas_cell;

typedef struct canvas {
    int w, h;
    canvas_cell *cells;  /* (h, w) */
} canvas;

typedef struct canvas_view {
    canvas *cv;
    int x, y, w, h;      /* the rectangle, already clipped to the canvas */
} canvas_view;

/* 0, or -1 when out of memory. A canvas may be 0 x 0. */
int canvas_init(canvas *c, int w, int h);
void canvas_fini(canvas *c);
/* New size, all cells blank; -1 (old contents kept) when out of memory. */
int canvas_resize(canvas *c, int w, int h);

canvas_view canvas_full(canvas *c);
/* The part of v at (x, y, w, h) relative to v, clipped to v. */
canvas_view canvas_sub(const canvas_view *v, int x, int y, int w, int h);

/* Fills a rectangle of v with ch in style. */
void canvas_fill(const canvas_view *v, int x, int y, int w, int h, uint32_t ch, uint16_t style);
/* One code point at (x, y); returns the columns it took (0 when clipped or
 * not printable: controls become '?'). A wide character that would cross
 * the right edge is drawn as a space instead. */
int canvas_putc(const canvas_view *v, int x, int y, uint16_t style, uint32_t cp);
/* UTF-8 text from (x, y) on one row, at most maxw columns (< 0: to the
 * edge); invalid bytes show as U+FFFD. Returns the columns used. */
int canvas_put(const canvas_view *v, int x, int y, uint16_t style, const char *s, size_t n, int maxw);
/* Like canvas_put with a NUL-terminated string. */
int canvas_puts(const canvas_view *v, int x, int y, uint16_t style, const char *s);
/* printf into (x, y), clipped to the view. */
int canvas_printf(const canvas_view *v, int x, int y, uint16_t style, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Sets the style of w cells from (x, y) (keeps the characters). */
void canvas_set_style(const canvas_view *v, int x, int y, int w, uint16_t style);
/* ORs flag bits into the style of w cells from (x, y). */
void canvas_add_flags(const canvas_view *v, int x, int y, int w, uint16_t flags);

const canvas_cell *canvas_at(const canvas *c, int x, int y);
/* The text of row y (wide tails skipped, trailing spaces kept) into buf as
 * UTF-8, NUL terminated; returns the length. For tests. */
size_t canvas_row_text(const canvas *c, int y, char *buf, size_t cap);

#endif
