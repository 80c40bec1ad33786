/* unicode: code point classes for the byte-level BPE pre-tokenizers.
 *
 * The Llama 3 and GPT-2 pre-tokenizer regexes use three classes: \p{L}
 * (General_Category L*), \p{N} (N*) and \s (the White_Space property). They
 * are disjoint, so one lookup gives a code point's class. Tables come from
 * core/unicode_gen.py (core/unicode_tables.c, Unicode version in uni_version).
 */
#ifndef UNICODE_H
#define UNICODE_H
#include <stdbool.h>
#include <stdint.h>

enum uni_class { UNI_OTHER = 0, UNI_L = 1, UNI_N = 2, UNI_S = 4 };

typedef struct uni_range { uint32_t lo, hi; uint8_t cls; } uni_range;
extern const uni_range uni_ranges[];   /* (uni_n_ranges) sorted, disjoint */
extern const int uni_n_ranges;
extern const char uni_version[];       /* "14.0.0" */

/* UNI_L, UNI_N, UNI_S or UNI_OTHER; code points above U+10FFFF are OTHER. */
int uni_class(uint32_t cp);
static inline bool uni_is_letter(uint32_t cp) { return uni_class(cp) == UNI_L; }
static inline bool uni_is_number(uint32_t cp) { return uni_class(cp) == UNI_N; }
static inline bool uni_is_space(uint32_t cp)  { return uni_class(cp) == UNI_S; }

/* Case-insensitive equality of cp with the ASCII lowercase letter c, as the
 * Llama 3 contraction group (?i:'s|'t|'re|'ve|'m|'ll|'d) is matched by
 * llama.cpp (whose ids the golden cases equal): cp is lowercased by simple
 * case mapping, and no code point outside ASCII lowercases to one of those
 * letters. (Full case folding would also equate U+017F LONG S with 's'; the
 * reference encoders do not.) */
bool uni_ieq_ascii(uint32_t cp, char c);
#endif
