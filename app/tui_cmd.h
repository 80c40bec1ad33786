/* tui_cmd: the `:` commands (open a model, set sampler values, run a
 * plugin, save, export, label...), one table that serves running them,
 * completing them (Tab) and listing them (:help). Plugin commands are
 * looked up after the built-in ones.
 */
#ifndef TUI_CMD_H
#define TUI_CMD_H
#include <stdbool.h>
#include <stddef.h>

struct tui;

/* Runs one command line (without the ':'). */
void tui_cmd_run(struct tui *t, const char *line);

#define TUI_CMD_MAX_CANDS 64
typedef struct tui_cmd_cands {
    char item[TUI_CMD_MAX_CANDS][128];
    int n;
    size_t word_start;      /* byte offset of the word being completed */
    bool add_space;         /* a unique match ends the word */
} tui_cmd_cands;

/* Candidates for the word that ends at byte cur of line. */
void tui_cmd_complete(struct tui *t, const char *line, size_t cur, tui_cmd_cands *c);

/* The table, for the help and docs: name, arguments, help; NULL past the end. */
const char *tui_cmd_get(int i, const char **args, const char **help);

#endif
