/* unicode: class lookup by binary search over uni_ranges, with a table for
 * ASCII (most text, and every byte the pre-tokenizer tests first). */
#include "unicode.h"

static const uint8_t ascii_class[128] = {
    ['\t'] = UNI_S, ['\n'] = UNI_S, ['\v'] = UNI_S, ['\f'] = UNI_S, ['\r'] = UNI_S, [' '] = UNI_S,
    ['0'] = UNI_N, ['1'] = UNI_N, ['2'] = UNI_N, ['3'] = UNI_N, ['4'] = UNI_N,
    ['5'] = UNI_N, ['6'] = UNI_N, ['7'] = UNI_N, ['8'] = UNI_N, ['9'] = UNI_N,
    ['A'] = UNI_L, ['B'] = UNI_L, ['C'] = UNI_L, ['D'] = UNI_L, ['E'] = UNI_L, ['F'] = UNI_L,
    ['G'] = UNI_L, ['H'] = UNI_L, ['I'] = UNI_L, ['J'] = UNI_L, ['K'] = UNI_L, ['L'] = UNI_L,
    ['M'] = UNI_L, ['N'] = UNI_L, ['O'] = UNI_L, ['P'] = UNI_L, ['Q'] = UNI_L, ['R'] = UNI_L,
    ['S'] = UNI_L, ['T'] = UNI_L, ['U'] = UNI_L, ['V'] = UNI_L, ['W'] = UNI_L, ['X'] = UNI_L,
    ['Y'] = UNI_L, ['Z'] = UNI_L,
    ['a'] = UNI_L, ['b'] = UNI_L, ['c'] = UNI_L, ['d'] = UNI_L, ['e'] = UNI_L, ['f'] = UNI_L,
    ['g'] = UNI_L, ['h'] = UNI_L, ['i'] = UNI_L, ['j'] = UNI_L, ['k'] = UNI_L, ['l'] = UNI_L,
    ['m'] = UNI_L, ['n'] = UNI_L, ['o'] = UNI_L, ['p'] = UNI_L, ['q'] = UNI_L, ['r'] = UNI_L,
    ['s'] = UNI_L, ['t'] = UNI_L, ['u'] = UNI_L, ['v'] = UNI_L, ['w'] = UNI_L, ['x'] = UNI_L,
    ['y'] = UNI_L, ['z'] = UNI_L,
};

int uni_class(uint32_t cp) {
    if (cp < 128) return ascii_class[cp];
    int lo = 0, hi = uni_n_ranges - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (cp < uni_ranges[mid].lo) hi = mid - 1;
        else if (cp > uni_ranges[mid].hi) lo = mid + 1;
        else return uni_ranges[mid].cls;
    }
    return UNI_OTHER;
}

bool uni_ieq_ascii(uint32_t cp, char c) {
    if (cp >= 'A' && cp <= 'Z') cp += 'a' - 'A';
    return cp == (uint32_t)(unsigned char)c;
}
