/* tui_lua: the workbench's side of the Lua host (lua/lhost.h): it
 * implements the lhost_ui adapter (console output, commands, key bindings,
 * panes and status items that plugins register), keeps those hooks, and
 * drives the host from the event loop.
 *
 * The adapter's callbacks only record what changed (lhost forbids calling
 * back into it from them, and a plugin may remove the very pane whose key
 * handler is running); tui_lua_apply acts on the record after each call
 * into the host: plugin panes are added to or removed from the screen.
 */
#ifndef TUI_LUA_H
#define TUI_LUA_H
#include <stdbool.h>
#include <stddef.h>

#include "keys.h"

struct tui;
struct tui_opts;
struct lhost;
typedef struct tui_lua tui_lua;

/* Creates the host (with the adapter) and loads the plugins. */
int tui_lua_create(tui_lua **out, struct tui *t, const struct tui_opts *o, char *err, size_t errlen);
void tui_lua_destroy(tui_lua *l);
struct lhost *tui_lua_host(tui_lua *l);
int tui_lua_fd(tui_lua *l);
/* Milliseconds until Lua has work (-1: none). */
int tui_lua_next_ms(tui_lua *l);
/* Runs due Lua work without blocking and applies hook changes; true when
 * the screen should be redrawn. */
bool tui_lua_tick(tui_lua *l);
/* Applies recorded hook changes (after any direct call into the host). */
bool tui_lua_apply(tui_lua *l);

/* A plugin's binding for k ran: true. */
bool tui_lua_key(tui_lua *l, keys_code k);
/* Runs plugin command name; 0, LHOST_ENOENT when there is none, or an
 * error (err set). */
int tui_lua_command(tui_lua *l, const char *name, const char *args, char *err, size_t errlen);
/* Registered commands and keys, for completion and the help. */
int tui_lua_n_commands(const tui_lua *l);
const char *tui_lua_command_name(const tui_lua *l, int i, const char **help, const char **plugin);
int tui_lua_n_keys(const tui_lua *l);
const char *tui_lua_key_name(const tui_lua *l, int i, const char **help, const char **plugin);
/* The status items' texts, " | "-separated, into buf. */
void tui_lua_status(tui_lua *l, char *buf, size_t cap);

#endif
