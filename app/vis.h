/* vis: makes the bytes of a token visible. Researchers need to see exactly
 * what a token holds: a leading space, a newline, a tab, a lone byte of a
 * multi-byte character. vis_escape rewrites such bytes as visible glyphs
 * (UTF-8 mode) or as C-style escapes (ASCII mode, for terminals without a
 * UTF-8 locale).
 *
 * Pure functions: no locale is consulted except through vis_width, which
 * uses wcwidth and so needs setlocale(LC_CTYPE, "") (or "C.UTF-8") first.
 */
#ifndef VIS_H
#define VIS_H
#include <stddef.h>
#include <stdint.h>

enum {
    VIS_ASCII = 1,  /* only ASCII out: "\s" "\n" "\t" "\xNN" "\u{...}" */
    VIS_SPACE = 2,  /* spaces as "␣" ("\s" in ASCII mode); else kept */
    VIS_NL = 4      /* newlines as "↵" ("\n"); else kept as '\n' */
};

/* Writes the visible form of s[0..n) into out (always NUL terminated when
 * cap > 0; truncated at a glyph boundary when it does not fit) and returns
 * the bytes written. Escaped: C0 controls and DEL (as U+2400 pictures, ↵ for
 * newline, ⇥ for tab), C1 controls and other non-printable code points as
 * "\u{XXXX}", bytes that are not valid UTF-8 as "\xNN", and a combining
 * mark that opens the text gets a dotted circle "◌" to sit on. */
size_t vis_escape(const char *s, size_t n, unsigned flags, char *out, size_t cap);

/* Decodes one UTF-8 character at s[0..n): returns its length (1..4) and
 * stores the code point, or returns 0 for an invalid or truncated sequence
 * (then *cp is the byte). n must be > 0. */
int vis_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* Encodes cp into out (4 bytes room); returns the length. */
int vis_utf8_encode(uint32_t cp, char *out);

/* Terminal columns of a code point: 0, 1 or 2 (-1 when not printable). */
int vis_cp_width(uint32_t cp);
/* Columns the UTF-8 text s[0..n) takes (invalid bytes and non-printables
 * count 1, as the canvas draws them). */
int vis_width(const char *s, size_t n);

#endif
