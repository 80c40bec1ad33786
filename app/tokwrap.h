/* tokwrap: lays the tokens of a text out in rows of a given width, as a
 * pure function (the output pane draws with it; tests check it). Words wrap
 * whole where they fit: a word runs from a token that opens with a space to
 * the next such token, so a word split over several tokens is not broken;
 * its leading space stays at the end of the row. Double-width (CJK)
 * characters make no words: a row breaks before or after any of them, so
 * Chinese text fills its rows. A token or word wider than
 * the row breaks by character. A newline shows as a marker glyph ("↵", "~"
 * in ASCII) and ends the row; control characters and bytes that are not
 * UTF-8 show as escapes (vis.h).
 */
#ifndef TOKWRAP_H
#define TOKWRAP_H
#include <stdbool.h>
#include <stdint.h>

/* The bytes of token i into buf (cap); returns the length. */
typedef int32_t (*tokwrap_piece_fn)(void *ud, int32_t i, char *buf, int32_t cap);
/* One glyph at (row, col) of token i: cp, its columns, and whether it is a
 * marker (a newline arrow, an escape) rather than the token's own text. */
typedef void (*tokwrap_glyph_fn)(void *ud, int32_t i, int32_t row, int col, uint32_t cp, int cw, bool marker);

/* Lays out tokens [0, n) at width w (> 0), calling glyph for each glyph
 * (glyph may be NULL). row_of and col_of (n entries each, may be NULL)
 * receive where each token's first glyph goes. Returns the number of rows. */
int32_t tokwrap_walk(int32_t n, int w, bool ascii, tokwrap_piece_fn piece, void *pud,
                     tokwrap_glyph_fn glyph, void *gud, int32_t *row_of, int32_t *col_of);

#endif
