/* tui_tree: the branch tree pane. Every node of the session's tree is a
 * row: guide lines, the node's id, its label, how it began (prompt, pick,
 * generated), the start of its text and its token count. The selected path
 * is highlighted and the node the output shows is marked. Keys move, switch
 * to a node (the output then shows its path), label and delete.
 */
#ifndef TUI_TREE_H
#define TUI_TREE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pane;
struct tui;
struct session;

struct pane *tui_tree_create(struct tui *t);

/* The row text of node (without the guide) for width w: "#3 [label] pick
 * 'text…' (12)". Returns the bytes written to buf. */
size_t tui_tree_row_text(const struct session *s, int32_t node, bool ascii, int w, char *buf, size_t cap);

#endif
