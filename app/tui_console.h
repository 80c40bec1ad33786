/* tui_console: the console pane: the Lua REPL (lines run in the Lua host's
 * scripts state with the `lab` API; an unfinished chunk continues on the
 * next line), plugin output, and errors with their tracebacks in red. It
 * also shows the session's messages. Ctrl-C interrupts Lua that runs too
 * long (a runaway plugin is then disabled by the host).
 */
#ifndef TUI_CONSOLE_H
#define TUI_CONSOLE_H
#include <stdbool.h>
#include <stddef.h>

struct pane;
struct tui;

struct pane *tui_console_create(struct tui *t);
/* Appends text (split at newlines) to the scrollback. */
void tui_console_print(struct pane *p, const char *text, size_t len, bool is_error);

#endif
