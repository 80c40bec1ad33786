/* tui_help: the help overlay (`?`): every key binding, from the key table
 * (keys.h) and from the plugins' bindings, grouped by where they apply,
 * plus the mouse. It is the same table dispatch uses, so the help cannot
 * drift from the behaviour.
 */
#ifndef TUI_HELP_H
#define TUI_HELP_H

struct pane;
struct tui;

struct pane *tui_help_create(struct tui *t);

#endif
