/* cmd_tui: `logitlab tui` (and `logitlab` with no command on a terminal):
 * the interactive workbench (app/tui.h). `--keys` prints the key binding
 * table as Markdown (docs/tui.md holds the same text). */
#ifndef CMD_TUI_H
#define CMD_TUI_H

/* argv[0] is "tui"; returns the process exit status. */
int cmd_tui(int argc, char **argv);

#endif
