/* tui_ws: the workbench's workspace. It holds the store (core/store.h,
 * opened read-write: one workbench per workspace) and saves the session as
 * it goes: the model (hashed on a thread of its own the first time a file
 * is seen), a session row, the tree (tui_store.h), the selected node and
 * the UI state (panes, colouring, the prompt being edited, the sampler
 * settings). tui_ws_tick, called from the event loop, writes what changed
 * at most every 100 ms and lets the store commit (store_tick), so whatever
 * the researcher did is on disk within a second.
 *
 * Sessions: the tree of the session (s->tree) goes into one stored
 * session. When the tree starts over (session.epoch: another model opened,
 * session_clear) the stored session stays as it is and the next tree goes
 * into a new one, created when it gets its first node (an empty workbench
 * leaves no empty session behind). A new session waits for its model's
 * hash: store.h has no way to set a session's model afterwards.
 *
 * Errors never touch the tree in memory: they go to the status line (once
 * per message and ten seconds) and the write is tried again. When the
 * store may have lost its uncommitted batch (a failed commit), the tree is
 * written again into a new session, which replaces the old one once whole.
 *
 * Threads: the UI thread, except the hashing thread it starts (which
 * only reads the model file).
 */
#ifndef TUI_WS_H
#define TUI_WS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"

struct store;
typedef struct tui_ws tui_ws;

/* The screen manager's part of the saved state. */
typedef struct tui_ws_ui {
    int focus, zoom, tab_wide, tab_narrow;
} tui_ws_ui;

/* Opens (creating it if needed) the workspace in dir read-write. Fails with
 * the store's message (naming the folder, and the pid of the workbench
 * that holds it when it is in use). */
int tui_ws_open(tui_ws **out, const char *dir, char *err, size_t errlen);
/* Saves what is left (waiting for a model hash still running), commits and
 * closes; s may be NULL. NULL is fine. */
void tui_ws_close(tui_ws *w, session *s, const tui_ws_ui *ui);
struct store *tui_ws_store(tui_ws *w);
const char *tui_ws_dir(const tui_ws *w);
/* The stored session the tree goes into (0: none yet). */
int64_t tui_ws_current(const tui_ws *w);

/* The session a start reopens: the most recently updated one (*id 0 when
 * the workspace has none) and the file its model was last seen at ("" when
 * it has no model). */
int tui_ws_latest(tui_ws *w, int64_t *id, char *model_path, size_t cap, char *err, size_t errlen);
/* Whether two paths name the same file (by real path). */
bool tui_ws_same_file(const char *a, const char *b);
/* Reads stored session id into s, whose tree must be empty (session_open or
 * session_clear just before): the tree, the selected path, the cursor, the
 * colouring, the prompt, the sampler settings; *ui gets the panes (left as
 * they are when the state does not say). On failure s's tree stays empty. */
int tui_ws_load(tui_ws *w, session *s, int64_t id, tui_ws_ui *ui, char *err, size_t errlen);

/* Saves what changed (at most every 100 ms; call it every loop). */
void tui_ws_tick(tui_ws *w, session *s, const tui_ws_ui *ui);
/* Milliseconds until tui_ws_tick has work, -1 when nothing waits. */
int tui_ws_next_ms(const tui_ws *w, const session *s, const tui_ws_ui *ui);
/* Saves everything now and commits (waiting for a running model hash).
 * 0, or -1 with err set (the changes stay in memory and are tried again). */
int tui_ws_flush(tui_ws *w, session *s, const tui_ws_ui *ui, char *err, size_t errlen);

/* ---- the :session commands (0, or -1 with err set) ------------------------ */

/* One line per stored session, newest first: id, when, nodes, model, name;
 * current marks the session the tree goes into. Returns how many (or -1). */
int tui_ws_list(tui_ws *w, void (*line)(void *ud, const char *text, bool current), void *ud, char *err,
                size_t errlen);
/* Saves the current session and starts an empty one (named name, or after
 * its first prompt when NULL) on the same model. */
int tui_ws_new(tui_ws *w, session *s, const tui_ws_ui *ui, const char *name, char *err, size_t errlen);
/* Saves the current session and opens stored session id (its model too,
 * when it is another file). */
int tui_ws_switch(tui_ws *w, session *s, int64_t id, tui_ws_ui *ui, char *err, size_t errlen);
int tui_ws_rename(tui_ws *w, const char *name, char *err, size_t errlen);
/* Deletes stored session id; the current one: the tree starts over empty. */
int tui_ws_delete(tui_ws *w, session *s, int64_t id, char *err, size_t errlen);

#endif
