/* tui_output: the output pane. It shows the selected path, prompt
 * included, every generated token coloured on a heat scale (probability,
 * entropy or rank, raw or post-sampler) with a legend, the token under the
 * cursor reversed and user-picked tokens underlined. Arrow keys move the
 * cursor over tokens; the inspector follows it.
 * Wrapping is tokwrap's.
 */
#ifndef TUI_OUTPUT_H
#define TUI_OUTPUT_H

struct pane;
struct tui;

struct pane *tui_output_create(struct tui *t);

#endif
