/* tokwrap: token layout (see tokwrap.h). One pass, one token at a time;
 * word_width looks ahead at most one row's worth of columns. */
#include "tokwrap.h"

#include <string.h>

#include "vis.h"

typedef struct walker {
    int w;
    int32_t row;
    int col;
    tokwrap_glyph_fn glyph;
    void *gud;
    int32_t *row_of, *col_of;
    int32_t first;          /* the token whose first glyph is still to come, or -1 */
} walker;

static void emit(walker *k, int32_t i, uint32_t cp, int cw, bool marker) {
    if (k->col + cw > k->w && k->col > 0) { k->row++; k->col = 0; }
    if (k->first == i) {    /* where the token's first glyph really lands, after any wrap */
        if (k->row_of) k->row_of[i] = k->row;
        if (k->col_of) k->col_of[i] = k->col;
        k->first = -1;
    }
    if (k->glyph) k->glyph(k->gud, i, k->row, k->col, cp, cw, marker);
    k->col += cw;
}

/* The glyphs of one token's bytes (escapes for controls and bad bytes). */
static void emit_piece(walker *k, int32_t i, const char *s, int32_t n, bool ascii) {
    for (int32_t at = 0; at < n;) {
        uint32_t cp;
        int l = vis_utf8_decode(s + at, (size_t)(n - at), &cp);
        if (l && cp == '\n') {
            emit(k, i, ascii ? '~' : 0x21B5, 1, true);     /* ↵ */
            k->row++;
            k->col = 0;
            at++;
            continue;
        }
        char esc[48];
        size_t el = vis_escape(s + at, l ? (size_t)l : 1, ascii ? VIS_ASCII : 0, esc, sizeof esc);
        bool marker = !l || el != (size_t)l || memcmp(esc, s + at, el) != 0;
        for (size_t e = 0; e < el;) {
            uint32_t c2;
            int l2 = vis_utf8_decode(esc + e, el - e, &c2);
            if (!l2) { c2 = '?'; l2 = 1; }
            int cw = vis_cp_width(c2);
            if (cw > 0) emit(k, i, c2, cw, marker);
            e += (size_t)l2;
        }
        at += l ? l : 1;
    }
}

/* Whether the first (last) code point of s[0..n) is double-width: text in
 * CJK scripts has no spaces and may break before and after any such
 * character (UAX #14, classes ID and CJ), so it never makes a word with
 * its neighbours. */
static bool wide_at(const char *s, int32_t n, bool last) {
    if (n <= 0) return false;
    int32_t at = 0;
    if (last) {
        at = n - 1;
        while (at > 0 && ((unsigned char)s[at] & 0xC0) == 0x80 && n - at < 4) at--;
    }
    uint32_t cp;
    return vis_utf8_decode(s + at, (size_t)(n - at), &cp) > 0 && vis_cp_width(cp) == 2;
}

/* Columns of the word that starts at token i: its text up to the next token
 * that opens with a space or holds a newline, or that a wide character ends
 * or opens (at most w + 1: enough to know it does not fit). */
static int word_width(int32_t i, int32_t n, int w, tokwrap_piece_fn piece, void *pud) {
    char buf[512];
    int tot = 0;
    bool prev_wide = false;
    for (int32_t j = i; j < n && tot <= w; j++) {
        int32_t len = piece(pud, j, buf, (int32_t)sizeof buf);
        if (len < 0) len = 0;
        if (len > (int32_t)sizeof buf) len = (int32_t)sizeof buf;
        if (j > i && len > 0 && (buf[0] == ' ' || buf[0] == '\n' || prev_wide || wide_at(buf, len, false))) break;
        prev_wide = wide_at(buf, len, true);
        const char *nl = memchr(buf, '\n', (size_t)len);
        if (nl) { tot += vis_width(buf, (size_t)(nl - buf)); break; }
        tot += vis_width(buf, (size_t)len);
    }
    return tot;
}

int32_t tokwrap_walk(int32_t n, int w, bool ascii, tokwrap_piece_fn piece, void *pud,
                        tokwrap_glyph_fn glyph, void *gud, int32_t *row_of, int32_t *col_of) {
    walker k = { w > 0 ? w : 1, 0, 0, glyph, gud, row_of, col_of, -1 };
    char buf[512];
    for (int32_t i = 0; i < n; i++) {
        int32_t len = piece(pud, i, buf, (int32_t)sizeof buf);
        if (len < 0) len = 0;
        if (len > (int32_t)sizeof buf) len = (int32_t)sizeof buf;
        int32_t from = 0;
        if (k.col >= k.w) {                 /* a full row: a leading space hangs past its end */
            k.row++;
            k.col = 0;
            if (len > 1 && buf[0] == ' ') from = 1;
        }
        if (row_of) row_of[i] = k.row;
        if (col_of) col_of[i] = k.col;
        k.first = i;
        if (len == 0) { emit(&k, i, ascii ? '?' : 0x2205, 1, true); continue; }   /* ∅: a token with no text */
        /* Word wrap: a word (tokens up to the next leading space) that does
         * not fit on this row but fits on a row starts the next one; its
         * leading space stays at the end of this row. */
        if (k.col > 0 && from == 0 && buf[0] != '\n') {
            int ww = word_width(i, n, k.w, piece, pud);
            bool lead = buf[0] == ' ';
            if (k.col + ww > k.w && ww - (lead ? 1 : 0) <= k.w) {
                if (lead) { emit(&k, i, ' ', 1, false); from = 1; }
                k.row++;
                k.col = 0;
            }
        }
        emit_piece(&k, i, buf + from, len - from, ascii);
    }
    return k.row + 1;
}

