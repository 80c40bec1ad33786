/* utf8: decoding and validation of UTF-8 (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF). */
#ifndef UTF8_H
#define UTF8_H
#include <stddef.h>
#include <stdint.h>

/* Length of the sequence a lead byte starts (1..4), or 0 if it cannot lead. */
int utf8_seq_len(unsigned char lead);
/* Decodes one code point at s (n bytes available). Returns its byte length,
 * or 0 if the bytes there are not valid UTF-8 (then *cp is undefined). */
int utf8_decode(const char *s, size_t n, uint32_t *cp);
/* Encodes cp into out (4 bytes room); returns the length. */
int utf8_encode(uint32_t cp, char *out);
/* Offset of the first invalid byte, or n when the whole text is valid. */
size_t utf8_check(const char *s, size_t n);
#endif
