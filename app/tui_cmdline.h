/* tui_cmdline: the `:` command line overlay on the bottom row: editing,
 * history (Up/Down), and Tab completion of command names and their
 * arguments (settings, model files, plugins, file names); a second Tab
 * cycles through the matches, which the status line lists.
 */
#ifndef TUI_CMDLINE_H
#define TUI_CMDLINE_H

struct pane;
struct tui;

struct pane *tui_cmdline_create(struct tui *t);
/* Starts a new line with prefill typed. */
void tui_cmdline_open(struct pane *p, const char *prefill);

#endif
