/* field: an editable UTF-8 text (the prompt editor, the console's input
 * line, the command line, a sampler value being typed). The cursor is a byte
 * offset that always sits on a character boundary. Multi-line fields keep
 * '\n' in the text and move up and down by display column.
 *
 * Drawing wraps (multi-line) or scrolls sideways (single line) to keep the
 * cursor in view; the cursor is drawn as a reversed cell, not the terminal's.
 */
#ifndef FIELD_H
#define FIELD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "canvas.h"
#include "keys.h"

typedef struct field {
    char *buf;              /* NUL terminated */
    size_t len, cap;
    size_t cur;             /* byte offset of the cursor */
    bool multiline;
    int scroll;             /* first visible row (multi-line) or column (single line) */
} field;

void field_init(field *f, bool multiline);
void field_fini(field *f);
/* Replaces the text (cursor at its end); 0 or -1 when out of memory. */
int field_set(field *f, const char *s);
const char *field_text(const field *f);
int field_insert(field *f, const char *s, size_t n);
/* Applies a text-field action (SC_FIELD, plus ACT_UP/ACT_DOWN/ACT_NEWLINE
 * for multi-line fields) or inserts k when it is text and action is
 * ACT_NONE. Returns true when it did something. */
bool field_key(field *f, int action, keys_code k);

/* Draws the field into v with style; the cursor cell is reversed when
 * show_cursor. Updates f->scroll. Returns the rows used (multi-line). */
int field_draw(field *f, const canvas_view *v, uint16_t style, bool show_cursor);
/* Visual rows the text takes at width w (multi-line). */
int field_rows(const field *f, int w);

#endif
