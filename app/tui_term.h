/* tui_term: the terminal: ncursesw set-up and tear-down, colours, copying
 * a canvas to the screen, reading keys and mouse events, and keeping the
 * terminal usable whatever happens.
 *
 * Terminal safety. tui_term_open first repairs a terminal left raw by an
 * earlier crash or kill -9 (no echo, no canonical mode: it restores sane
 * modes before ncurses saves them as the "shell" state). Crash signals
 * (SEGV, BUS, FPE, ILL, ABRT, QUIT) restore the saved modes with
 * tcsetattr and leave the alternate screen with write(2), both
 * async-signal-safe, then re-raise. SIGTERM and SIGHUP ask the loop to quit;
 * SIGINT (Ctrl-C: the tty keeps ISIG so that it works while Lua runs on the
 * UI thread) calls the interrupt callback, which must be
 * async-signal-safe. Each signal writes a byte to tui_term_sig_fd so a
 * waiting poll wakes up.
 *
 * Colours: 256 when the terminal has them, else 8, else monochrome (also
 * with NO_COLOR set, or forced by the caller); palette.h says what each
 * style looks like in each mode.
 */
#ifndef TUI_TERM_H
#define TUI_TERM_H
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "canvas.h"
#include "keys.h"
#include "palette.h"

typedef struct tui_term {
    enum pal_mode mode;
    bool utf8;              /* the locale is UTF-8: draw Unicode glyphs */
    bool mouse;
    bool open;
} tui_term;

enum { TEV_NONE = 0, TEV_KEY, TEV_MOUSE, TEV_RESIZE };

typedef struct tui_ev {
    int kind;
    keys_code key;          /* TEV_KEY */
    int x, y, button;       /* TEV_MOUSE: screen cell and PANE_CLICK / PANE_WHEEL_* */
} tui_ev;

/* colors: -1 auto, 0 monochrome, 8 or 256. Returns 0, or -1 with err set
 * (stdin or stdout is not a terminal, or the terminal is unknown). */
int tui_term_open(tui_term *t, int colors, bool mouse, char *err, size_t errlen);
void tui_term_close(tui_term *t);
void tui_term_size(int *w, int *h);
/* Copies the canvas to the screen and updates it. */
void tui_term_blit(tui_term *t, const canvas *cv);
/* The next input event without waiting; false when there is none. */
bool tui_term_read(tui_term *t, tui_ev *ev);
/* Forces a full repaint on the next blit (Ctrl-L). */
void tui_term_redraw(void);

/* Signals. on_int runs inside the SIGINT handler. quit is set by SIGTERM
 * and SIGHUP. The returned fd becomes readable after any of them. */
int tui_term_signals(void (*on_int)(void), volatile sig_atomic_t *quit);
void tui_term_signals_reset(void);

#endif
