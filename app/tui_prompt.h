/* tui_prompt: the prompt editor pane: multi-line text, an edit mode
 * (i / Enter to start, Esc to stop; keys act on panes again after), and the
 * chat-template toggle. The text lives in the session (session.prompt);
 * generating after an edit starts a new root in the tree.
 */
#ifndef TUI_PROMPT_H
#define TUI_PROMPT_H

struct pane;
struct tui;

struct pane *tui_prompt_create(struct tui *t);
/* Starts edit mode (a first open with nothing to show types into it). */
void tui_prompt_edit(struct pane *p);

#endif
