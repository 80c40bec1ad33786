/* tui_cmdline: the `:` command line overlay on the bottom row: editing,
 * history (Up/Down), and Tab completion of command names and their
 * arguments (settings, model files, plugins, file names); a second Tab
 * cycles through the matches, listed on the row above the line.
 */
#ifndef TUI_CMDLINE_H
#define TUI_CMDLINE_H

struct pane;
struct tui;

struct pane *tui_cmdline_create(struct tui *t);
/* Starts a new line with prefill typed. */
void tui_cmdline_open(struct pane *p, const char *prefill);
/* The matches of the last Tab while they are current (the screen manager
 * draws them on the row above the command line), else NULL. */
const char *tui_cmdline_hint(const struct pane *p);

#endif
