/* tui_save: writing a workbench session to files. tui_save_tree saves the whole branch
 * tree as one JSON document (every node with its tokens, their raw and
 * post-sampler distributions, labels, prompts) so nothing explored is lost;
 * tui_save_path writes the selected path as text, or as one JSON object per
 * token (.jsonl, the fields of `logitlab gen --json`).
 */
#ifndef TUI_SAVE_H
#define TUI_SAVE_H
#include <stddef.h>

#include "session.h"

int tui_save_tree(const session *s, const char *path, char *err, size_t errlen);
int tui_save_path(const session *s, const char *path, char *err, size_t errlen);

#endif
