/* keys: key codes, their names, and the one table of key bindings. The
 * same table drives dispatch (keys_action), the `?` help overlay, and
 * `logitlab tui --keys` (which docs/tui.md reproduces; a test compares).
 *
 * A key code is a Unicode code point for a character (' ' is "Space",
 * 1..26 are "C-a".."C-z" except Tab, Enter and Backspace), a K_* value for
 * a named key, or either with KEYS_ALT for Alt ("M-x"). Names follow the
 * Lua host's spelling (lhost.h), so plugin bindings use the same names.
 */
#ifndef KEYS_H
#define KEYS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef int32_t keys_code;

#define KEYS_ALT 0x40000000
enum {
    K_NONE = -1,
    K_ENTER = 0x110000, K_ESC, K_TAB, K_STAB, K_BACKSPACE, K_DELETE, K_INSERT,
    K_UP, K_DOWN, K_LEFT, K_RIGHT, K_HOME, K_END, K_PGUP, K_PGDN,
    K_F1, K_F12 = K_F1 + 11,
    K_MOUSE, K_RESIZE
};

/* Where a binding applies. The focused pane's scope is tried first, then
 * SC_GLOBAL; the text-entry scopes (prompt and console editing, the command
 * line) fall back to SC_FIELD instead and insert every other printable key. */
enum keys_scope {
    SC_GLOBAL = 0, SC_PROMPT, SC_PROMPT_EDIT, SC_OUTPUT, SC_INSPECT, SC_TREE, SC_CONSOLE,
    SC_CONSOLE_EDIT, SC_SAMPLER, SC_CMDLINE, SC_HELP, SC_FIELD, SC_N
};

enum keys_action {
    ACT_NONE = 0,
    /* global */
    ACT_QUIT, ACT_HELP, ACT_CMDLINE, ACT_FOCUS_NEXT, ACT_FOCUS_PREV, ACT_FOCUS_PROMPT,
    ACT_FOCUS_OUTPUT, ACT_FOCUS_INSPECT, ACT_FOCUS_TREE, ACT_FOCUS_CONSOLE, ACT_FOCUS_SAMPLER,
    ACT_FOCUS_7, ACT_FOCUS_8, ACT_FOCUS_9,   /* plugin panes: the order of ACT_FOCUS_* is the panes' */
    ACT_ZOOM, ACT_STEP, ACT_GENERATE, ACT_STOP, ACT_INTERRUPT, ACT_REWIND, ACT_REGEN,
    ACT_HEAT_MODE, ACT_RAWPOST, ACT_SIB_PREV, ACT_SIB_NEXT, ACT_REDRAW, ACT_SAVE,
    /* movement shared by list-like panes */
    ACT_UP, ACT_DOWN, ACT_LEFT, ACT_RIGHT, ACT_HOME, ACT_END, ACT_PGUP, ACT_PGDN,
    /* panes */
    ACT_EDIT, ACT_LEAVE, ACT_CHAT, ACT_RUN, ACT_PICK, ACT_INSPECT, ACT_SELECT, ACT_PARENT,
    ACT_CHILD, ACT_LABEL, ACT_DELETE, ACT_CLEAR, ACT_HIST_PREV, ACT_HIST_NEXT,
    ACT_COMPLETE, ACT_DEC, ACT_INC, ACT_TOGGLE, ACT_MOVE_UP, ACT_MOVE_DOWN, ACT_DEFAULTS,
    ACT_NEWLINE, ACT_CLOSE, ACT_BACKSPACE, ACT_DELCHAR, ACT_KILL_START, ACT_KILL_END,
    ACT_N
};

typedef struct keys_binding {
    uint8_t scope;          /* enum keys_scope */
    const char *key;        /* key name */
    uint16_t action;        /* enum keys_action */
    const char *help;
} keys_binding;

/* The table, in help order. */
const keys_binding *keys_table(int *n);
/* The action bound to k in scope (ACT_NONE if none); does not fall back. */
int keys_action(int scope, keys_code k);
/* The first key bound to action in scope, as a name, or NULL. */
const char *keys_key_of(int scope, int action);
const char *keys_scope_title(int scope);

/* The name of k into buf ("C-a", "Enter", "M-x", "é"); returns buf. */
const char *keys_name(keys_code k, char *buf, size_t cap);
/* The code of a key name, or K_NONE when it is not one. */
keys_code keys_parse(const char *name);
/* A printable character (inserted by text fields): no Alt, not a control. */
bool keys_is_text(keys_code k);

/* The table as Markdown: one section per scope, one row per action with
 * all its keys. This is what `logitlab tui --keys` prints. */
void keys_print_markdown(FILE *f);

#endif
