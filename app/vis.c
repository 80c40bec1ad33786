/* vis: visible forms of token bytes (see vis.h). Every escape is chosen so
 * that two different byte strings never look the same in UTF-8 mode: the
 * control pictures (U+2400 block) and "\xNN" cannot come out of a token's
 * own printable text except when the token really holds those glyphs, which
 * the inspector disambiguates with the token id. */
#include "vis.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

int vis_utf8_decode(const char *s, size_t n, uint32_t *cp) {
    const unsigned char *u = (const unsigned char *)s;
    unsigned c = u[0];
    *cp = c;
    if (c < 0x80) return 1;
    int len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; v = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; v = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; v = c & 0x07; min = 0x10000; }
    else return 0;
    if ((size_t)len > n) return 0;
    for (int i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (u[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

int vis_utf8_encode(uint32_t cp, char *o) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int vis_cp_width(uint32_t cp) {
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) return -1;
    if (cp < 0x7F) return 1;
    int w = wcwidth((wchar_t)cp);
    return w > 2 ? 2 : w;
}

int vis_width(const char *s, size_t n) {
    int w = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int l = vis_utf8_decode(s + i, n - i, &cp);
        if (l == 0) { w++; i++; continue; }
        int cw = vis_cp_width(cp);
        w += cw < 0 ? 1 : cw;
        i += (size_t)l;
    }
    return w;
}

/* Appends piece to out if it fits whole; false when it does not. */
static bool append(char *out, size_t cap, size_t *at, const char *piece, size_t len) {
    if (*at + len + 1 > cap) return false;
    memcpy(out + *at, piece, len);
    *at += len;
    out[*at] = 0;
    return true;
}

/* The escape for one code point that needs one, into buf; 0 when none. */
static size_t escape_cp(uint32_t cp, unsigned flags, bool first, char *buf) {
    bool ascii = flags & VIS_ASCII;
    if (cp == ' ') {
        if (!(flags & VIS_SPACE)) return 0;
        return (size_t)sprintf(buf, "%s", ascii ? "\\s" : "\xE2\x90\xA3");  /* ␣ */
    }
    if (cp == '\n') {
        if (!(flags & VIS_NL)) return 0;
        return (size_t)sprintf(buf, "%s", ascii ? "\\n" : "\xE2\x86\xB5");  /* ↵ */
    }
    if (cp == '\t') return (size_t)sprintf(buf, "%s", ascii ? "\\t" : "\xE2\x87\xA5");  /* ⇥ */
    if (cp < 0x20 || cp == 0x7F) {
        if (ascii) return (size_t)sprintf(buf, "\\x%02X", (unsigned)cp);
        return (size_t)vis_utf8_encode(cp == 0x7F ? 0x2421 : 0x2400 + cp, buf);  /* ␀..␟, ␡ */
    }
    if (cp < 0x7F) {
        if (ascii && cp == '\\') return (size_t)sprintf(buf, "\\\\");
        return 0;
    }
    if (ascii) return (size_t)sprintf(buf, "\\u{%X}", (unsigned)cp);
    int w = vis_cp_width(cp);
    if (w < 0) return (size_t)sprintf(buf, "\\u{%X}", (unsigned)cp);
    if (w == 0 && first) {              /* a lone combining mark: put it on ◌ */
        size_t k = (size_t)vis_utf8_encode(0x25CC, buf);
        return k + (size_t)vis_utf8_encode(cp, buf + k);
    }
    return 0;
}

size_t vis_escape(const char *s, size_t n, unsigned flags, char *out, size_t cap) {
    size_t at = 0;
    if (cap) out[0] = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        char buf[32];
        int l = vis_utf8_decode(s + i, n - i, &cp);
        size_t k;
        if (l == 0) {
            k = (size_t)sprintf(buf, "\\x%02X", (unsigned)(unsigned char)s[i]);
            l = 1;
        } else if ((k = escape_cp(cp, flags, i == 0, buf)) == 0) {
            memcpy(buf, s + i, (size_t)l);
            k = (size_t)l;
        }
        if (!append(out, cap, &at, buf, k)) break;
        i += (size_t)l;
    }
    return at;
}
