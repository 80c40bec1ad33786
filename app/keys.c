/* keys: names of keys and the binding table (see keys.h). The table is the
 * only place a binding is written down: dispatch, the help overlay and
 * docs/tui.md all read it. Rows for the same action in one scope are shown
 * together in the help, in table order. */
#include "keys.h"

#include <string.h>

#include "vis.h"

static const keys_binding table[] = {
    { SC_GLOBAL, "q", ACT_QUIT, "quit (asks first when there is unsaved work or a run training)" },
    { SC_GLOBAL, "?", ACT_HELP, "show every key binding" },
    { SC_GLOBAL, "F1", ACT_HELP, "" },
    { SC_GLOBAL, ":", ACT_CMDLINE, "command line: open, set, run, save, export (Tab completes)" },
    { SC_GLOBAL, "Tab", ACT_FOCUS_NEXT, "focus the next pane" },
    { SC_GLOBAL, "S-Tab", ACT_FOCUS_PREV, "focus the previous pane" },
    { SC_GLOBAL, "1", ACT_FOCUS_PROMPT, "focus the prompt" },
    { SC_GLOBAL, "2", ACT_FOCUS_OUTPUT, "focus the output" },
    { SC_GLOBAL, "3", ACT_FOCUS_INSPECT, "focus the inspector" },
    { SC_GLOBAL, "4", ACT_FOCUS_TREE, "focus the branch tree" },
    { SC_GLOBAL, "5", ACT_FOCUS_CONSOLE, "focus the Lua console" },
    { SC_GLOBAL, "6", ACT_FOCUS_SAMPLER, "focus the sampler panel" },
    { SC_GLOBAL, "7", ACT_FOCUS_7, "focus plugin pane 7 (Tab reaches panes after 9)" },
    { SC_GLOBAL, "8", ACT_FOCUS_8, "focus plugin pane 8" },
    { SC_GLOBAL, "9", ACT_FOCUS_9, "focus plugin pane 9" },
    { SC_GLOBAL, "z", ACT_ZOOM, "zoom the focused pane; again to restore the layout" },
    { SC_GLOBAL, "s", ACT_STEP, "step: generate one token" },
    { SC_GLOBAL, "g", ACT_GENERATE, "generate until end of text, the token limit, or Esc" },
    { SC_GLOBAL, "Esc", ACT_STOP, "stop generation" },
    { SC_GLOBAL, "C-c", ACT_INTERRUPT, "stop generation and the Lua work in flight (kills a runaway plugin)" },
    { SC_GLOBAL, "r", ACT_REWIND, "rewind to the cursor: later tokens stay in the tree as a branch" },
    { SC_GLOBAL, "R", ACT_REGEN, "regenerate: rewind to the cursor and generate a new branch" },
    { SC_GLOBAL, "c", ACT_HEAT_MODE, "colour tokens by probability, entropy or rank" },
    { SC_GLOBAL, "v", ACT_RAWPOST, "raw or post-sampler probabilities (inspector and colours)" },
    { SC_GLOBAL, "[", ACT_SIB_PREV, "switch to the previous sibling branch" },
    { SC_GLOBAL, "]", ACT_SIB_NEXT, "switch to the next sibling branch" },
    { SC_GLOBAL, "C-s", ACT_SAVE, "save the session (as :save)" },
    { SC_GLOBAL, "C-l", ACT_REDRAW, "redraw the screen" },

    { SC_PROMPT, "i", ACT_EDIT, "edit the prompt" },
    { SC_PROMPT, "Enter", ACT_EDIT, "" },
    { SC_PROMPT, "t", ACT_CHAT, "wrap the prompt in the model's chat template (toggle)" },

    { SC_PROMPT_EDIT, "Esc", ACT_LEAVE, "stop editing" },
    { SC_PROMPT_EDIT, "C-g", ACT_RUN, "stop editing and generate" },
    { SC_PROMPT_EDIT, "C-t", ACT_CHAT, "toggle the chat template" },
    { SC_PROMPT_EDIT, "Enter", ACT_NEWLINE, "new line" },
    { SC_PROMPT_EDIT, "Up", ACT_UP, "line up" },
    { SC_PROMPT_EDIT, "Down", ACT_DOWN, "line down" },

    { SC_OUTPUT, "Left", ACT_LEFT, "cursor to the previous token" },
    { SC_OUTPUT, "h", ACT_LEFT, "" },
    { SC_OUTPUT, "Right", ACT_RIGHT, "cursor to the next token" },
    { SC_OUTPUT, "l", ACT_RIGHT, "" },
    { SC_OUTPUT, "Up", ACT_UP, "cursor one line up" },
    { SC_OUTPUT, "k", ACT_UP, "" },
    { SC_OUTPUT, "Down", ACT_DOWN, "cursor one line down" },
    { SC_OUTPUT, "j", ACT_DOWN, "" },
    { SC_OUTPUT, "Home", ACT_HOME, "first token" },
    { SC_OUTPUT, "0", ACT_HOME, "" },
    { SC_OUTPUT, "End", ACT_END, "last token (the cursor follows generation)" },
    { SC_OUTPUT, "$", ACT_END, "" },
    { SC_OUTPUT, "PageUp", ACT_PGUP, "page up" },
    { SC_OUTPUT, "PageDown", ACT_PGDN, "page down" },
    { SC_OUTPUT, "Enter", ACT_INSPECT, "pick an alternative for this token (focus the inspector)" },

    { SC_INSPECT, "Up", ACT_UP, "select the previous alternative" },
    { SC_INSPECT, "k", ACT_UP, "" },
    { SC_INSPECT, "Down", ACT_DOWN, "select the next alternative" },
    { SC_INSPECT, "j", ACT_DOWN, "" },
    { SC_INSPECT, "Home", ACT_HOME, "select the best alternative" },
    { SC_INSPECT, "End", ACT_END, "select the last alternative" },
    { SC_INSPECT, "Enter", ACT_PICK, "branch: continue with the selected alternative" },
    { SC_INSPECT, "Left", ACT_LEFT, "inspect the previous token" },
    { SC_INSPECT, "h", ACT_LEFT, "" },
    { SC_INSPECT, "Right", ACT_RIGHT, "inspect the next token" },
    { SC_INSPECT, "l", ACT_RIGHT, "" },

    { SC_TREE, "Up", ACT_UP, "previous node" },
    { SC_TREE, "k", ACT_UP, "" },
    { SC_TREE, "Down", ACT_DOWN, "next node" },
    { SC_TREE, "j", ACT_DOWN, "" },
    { SC_TREE, "Left", ACT_PARENT, "the parent node" },
    { SC_TREE, "h", ACT_PARENT, "" },
    { SC_TREE, "Right", ACT_CHILD, "the first child" },
    { SC_TREE, "l", ACT_CHILD, "" },
    { SC_TREE, "Enter", ACT_SELECT, "switch to this branch (the output shows its path)" },
    { SC_TREE, "Space", ACT_SELECT, "" },
    { SC_TREE, "L", ACT_LABEL, "label the node" },
    { SC_TREE, "d", ACT_DELETE, "delete the node and its descendants" },
    { SC_TREE, "Delete", ACT_DELETE, "" },

    { SC_CONSOLE, "i", ACT_EDIT, "type a Lua line" },
    { SC_CONSOLE, "Enter", ACT_EDIT, "" },
    { SC_CONSOLE, "Up", ACT_UP, "scroll up" },
    { SC_CONSOLE, "k", ACT_UP, "" },
    { SC_CONSOLE, "Down", ACT_DOWN, "scroll down" },
    { SC_CONSOLE, "j", ACT_DOWN, "" },
    { SC_CONSOLE, "PageUp", ACT_PGUP, "page up" },
    { SC_CONSOLE, "PageDown", ACT_PGDN, "page down" },
    { SC_CONSOLE, "End", ACT_END, "follow new output" },
    { SC_CONSOLE, "x", ACT_CLEAR, "clear the console" },

    { SC_CONSOLE_EDIT, "Enter", ACT_RUN, "run the line (an unfinished chunk continues on the next)" },
    { SC_CONSOLE_EDIT, "Esc", ACT_LEAVE, "stop typing" },
    { SC_CONSOLE_EDIT, "Up", ACT_HIST_PREV, "previous line in the history" },
    { SC_CONSOLE_EDIT, "Down", ACT_HIST_NEXT, "next line in the history" },
    { SC_CONSOLE_EDIT, "PageUp", ACT_PGUP, "scroll the output up" },
    { SC_CONSOLE_EDIT, "PageDown", ACT_PGDN, "scroll the output down" },

    { SC_SAMPLER, "Up", ACT_UP, "previous setting" },
    { SC_SAMPLER, "k", ACT_UP, "" },
    { SC_SAMPLER, "Down", ACT_DOWN, "next setting" },
    { SC_SAMPLER, "j", ACT_DOWN, "" },
    { SC_SAMPLER, "Left", ACT_DEC, "decrease the value" },
    { SC_SAMPLER, "h", ACT_DEC, "" },
    { SC_SAMPLER, "-", ACT_DEC, "" },
    { SC_SAMPLER, "Right", ACT_INC, "increase the value" },
    { SC_SAMPLER, "l", ACT_INC, "" },
    { SC_SAMPLER, "+", ACT_INC, "" },
    { SC_SAMPLER, "Enter", ACT_EDIT, "type a value" },
    { SC_SAMPLER, "Space", ACT_TOGGLE, "turn the stage under the cursor on or off" },
    { SC_SAMPLER, "K", ACT_MOVE_UP, "move the stage earlier in the chain" },
    { SC_SAMPLER, "J", ACT_MOVE_DOWN, "move the stage later in the chain" },
    { SC_SAMPLER, "D", ACT_DEFAULTS, "restore the defaults" },

    { SC_CMDLINE, "Enter", ACT_RUN, "run the command" },
    { SC_CMDLINE, "Esc", ACT_CLOSE, "cancel" },
    { SC_CMDLINE, "Tab", ACT_COMPLETE, "complete the command or argument (again: next match)" },
    { SC_CMDLINE, "Up", ACT_HIST_PREV, "previous command" },
    { SC_CMDLINE, "Down", ACT_HIST_NEXT, "next command" },

    { SC_FIELD, "Left", ACT_LEFT, "character left" },
    { SC_FIELD, "Right", ACT_RIGHT, "character right" },
    { SC_FIELD, "Home", ACT_HOME, "start of the line" },
    { SC_FIELD, "C-a", ACT_HOME, "" },
    { SC_FIELD, "End", ACT_END, "end of the line" },
    { SC_FIELD, "C-e", ACT_END, "" },
    { SC_FIELD, "Backspace", ACT_BACKSPACE, "delete the character before the cursor" },
    { SC_FIELD, "Delete", ACT_DELCHAR, "delete the character under the cursor" },
    { SC_FIELD, "C-u", ACT_KILL_START, "delete to the start of the line" },
    { SC_FIELD, "C-k", ACT_KILL_END, "delete to the end of the line" },

    { SC_HELP, "Esc", ACT_CLOSE, "close the help" },
    { SC_HELP, "q", ACT_CLOSE, "" },
    { SC_HELP, "?", ACT_CLOSE, "" },
    { SC_HELP, "Up", ACT_UP, "scroll up" },
    { SC_HELP, "k", ACT_UP, "" },
    { SC_HELP, "Down", ACT_DOWN, "scroll down" },
    { SC_HELP, "j", ACT_DOWN, "" },
    { SC_HELP, "PageUp", ACT_PGUP, "page up" },
    { SC_HELP, "PageDown", ACT_PGDN, "page down" },
};
#define N_TABLE ((int)(sizeof table / sizeof table[0]))

static const char *const scope_titles[SC_N] = {
    [SC_GLOBAL] = "Everywhere",
    [SC_PROMPT] = "Prompt",
    [SC_PROMPT_EDIT] = "Prompt, while editing",
    [SC_OUTPUT] = "Output",
    [SC_INSPECT] = "Inspector",
    [SC_TREE] = "Branch tree",
    [SC_CONSOLE] = "Console",
    [SC_CONSOLE_EDIT] = "Console, while typing",
    [SC_SAMPLER] = "Sampler panel",
    [SC_CMDLINE] = "Command line (and a value typed in the sampler panel)",
    [SC_HELP] = "Help",
    [SC_FIELD] = "Text fields (prompt, console, command line, values)",
};

const keys_binding *keys_table(int *n) {
    *n = N_TABLE;
    return table;
}

const char *keys_scope_title(int scope) {
    return scope >= 0 && scope < SC_N && scope_titles[scope] ? scope_titles[scope] : "";
}

/* Parsed codes of the table, filled on first use (the table is constant). */
static keys_code codes[N_TABLE];
static bool codes_ready;

static void ready(void) {
    if (codes_ready) return;
    for (int i = 0; i < N_TABLE; i++) codes[i] = keys_parse(table[i].key);
    codes_ready = true;
}

int keys_action(int scope, keys_code k) {
    ready();
    for (int i = 0; i < N_TABLE; i++)
        if (table[i].scope == scope && codes[i] == k) return table[i].action;
    return ACT_NONE;
}

const char *keys_key_of(int scope, int action) {
    for (int i = 0; i < N_TABLE; i++)
        if (table[i].scope == scope && table[i].action == action) return table[i].key;
    return NULL;
}

static const struct { const char *name; keys_code code; } named[] = {
    { "Enter", K_ENTER }, { "Esc", K_ESC }, { "Tab", K_TAB }, { "S-Tab", K_STAB },
    { "Backspace", K_BACKSPACE }, { "Delete", K_DELETE }, { "Insert", K_INSERT },
    { "Up", K_UP }, { "Down", K_DOWN }, { "Left", K_LEFT }, { "Right", K_RIGHT },
    { "Home", K_HOME }, { "End", K_END }, { "PageUp", K_PGUP }, { "PageDown", K_PGDN },
    { "Space", ' ' },
};
#define N_NAMED ((int)(sizeof named / sizeof named[0]))

const char *keys_name(keys_code k, char *buf, size_t cap) {
    if (!cap) return buf;
    buf[0] = 0;
    const char *alt = (k & KEYS_ALT) ? "M-" : "";
    k &= ~KEYS_ALT;
    for (int i = 0; i < N_NAMED; i++)
        if (named[i].code == k) { snprintf(buf, cap, "%s%s", alt, named[i].name); return buf; }
    if (k >= K_F1 && k <= K_F12) snprintf(buf, cap, "%sF%d", alt, (int)(k - K_F1 + 1));
    else if (k >= 1 && k <= 26) snprintf(buf, cap, "%sC-%c", alt, (char)('a' + k - 1));
    else if (k > ' ' && k < 0x110000) {
        char u[5] = { 0 };
        u[vis_utf8_encode((uint32_t)k, u)] = 0;
        snprintf(buf, cap, "%s%s", alt, u);
    } else snprintf(buf, cap, "%s<%d>", alt, (int)k);
    return buf;
}

keys_code keys_parse(const char *s) {
    if (!s || !*s) return K_NONE;
    keys_code alt = 0;
    if (s[0] == 'M' && s[1] == '-' && s[2]) { alt = KEYS_ALT; s += 2; }
    for (int i = 0; i < N_NAMED; i++)
        if (strcmp(named[i].name, s) == 0) return named[i].code | alt;
    if (s[0] == 'F' && s[1] >= '1' && s[1] <= '9') {
        int n = s[1] - '0';
        if (s[2] >= '0' && s[2] <= '9' && !s[3]) n = n * 10 + (s[2] - '0');
        else if (s[2]) n = 0;
        if (n >= 1 && n <= 12) return (K_F1 + n - 1) | alt;
    }
    if (s[0] == 'C' && s[1] == '-' && s[2] >= 'a' && s[2] <= 'z' && !s[3]) {
        keys_code c = s[2] - 'a' + 1;
        if (c == 9 || c == 13 || c == 8) return K_NONE;  /* Tab, Enter, Backspace have names */
        return c | alt;
    }
    uint32_t cp;
    size_t n = strlen(s);
    int l = vis_utf8_decode(s, n, &cp);
    if (l == 0 || (size_t)l != n || cp <= ' ' || cp == 0x7F) return K_NONE;
    return (keys_code)cp | alt;
}

bool keys_is_text(keys_code k) {
    return k >= ' ' && k < 0x110000 && k != 0x7F && !(k >= 0x80 && k < 0xA0);
}

/* Whether action already appeared in scope before row i. */
static bool seen_before(int i) {
    for (int j = 0; j < i; j++)
        if (table[j].scope == table[i].scope && table[j].action == table[i].action) return true;
    return false;
}

void keys_print_markdown(FILE *f) {
    for (int sc = 0; sc < SC_N; sc++) {
        bool any = false;
        for (int i = 0; i < N_TABLE; i++) {
            if (table[i].scope != sc || seen_before(i)) continue;
            if (!any) {
                fprintf(f, "%s### %s\n\n| keys | action |\n|---|---|\n", sc ? "\n" : "", scope_titles[sc]);
                any = true;
            }
            fputs("| ", f);
            int k = 0;
            for (int j = i; j < N_TABLE; j++)
                if (table[j].scope == sc && table[j].action == table[i].action)
                    fprintf(f, "%s`%s`", k++ ? " " : "", table[j].key);
            fprintf(f, " | %s |\n", table[i].help);
        }
    }
}
