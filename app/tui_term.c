/* tui_term: ncurses and the tty (see tui_term.h).
 *
 * Colour pairs are made once per base style when the terminal opens; flags
 * (reverse, bold, underline, dim) add attributes per cell. The tty runs in
 * cbreak mode with ISIG kept (Ctrl-C, Ctrl-Z) and IXON cleared, so Ctrl-S
 * reaches the program instead of freezing the output.
 */
#include "tui_term.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include "pane.h"

static struct termios saved_tty;     /* sane modes, restored by the crash handler */
static volatile sig_atomic_t have_saved_tty;
static volatile sig_atomic_t screen_active;
static int sig_pipe[2] = { -1, -1 };
static void (*int_cb)(void);
static volatile sig_atomic_t *quit_flag;

static short pair_of[PAL_N_BASE];
static attr_t attr_of[PAL_N_BASE];

static const char leave_seq[] = "\033[?1000l\033[?1002l\033[?1006l\033[0m\033[?25h\033[?1049l\r\n";

/* ---- stderr while the screen is ours ---------------------------------------
 * What is written to stderr while the workbench holds the screen (an
 * assert()'s message before its abort, a library's warning, a sanitizer's
 * report) would land on the alternate screen and vanish with it when the
 * terminal is given back. While the screen is open, a stderr that is the
 * terminal goes to a memory file instead; giving the terminal back (closing,
 * or the crash handler after leaving the screen) restores stderr and copies
 * what was written to it, so it lands on the ordinary screen. Only
 * async-signal-safe calls in stderr_release (the crash handler runs it). */
static volatile sig_atomic_t err_saved = -1;   /* the terminal's stderr, dup'ed */
static volatile sig_atomic_t err_cap = -1;     /* the memory file */
enum { ERR_REPLAY_MAX = 64 * 1024 };           /* the last 64 KiB of it, at most */

static void stderr_capture(void) {
    if (err_saved >= 0 || !isatty(STDERR_FILENO)) return;
    int cap = memfd_create("logitlab-stderr", MFD_CLOEXEC);
    if (cap < 0) return;
    int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (saved < 0 || dup2(cap, STDERR_FILENO) < 0) {
        if (saved >= 0) close(saved);
        close(cap);
        return;
    }
    err_cap = cap;
    err_saved = saved;
}

static void stderr_release(void) {
    int saved = err_saved, cap = err_cap;
    if (saved < 0) return;
    err_saved = err_cap = -1;
    dup2(saved, STDERR_FILENO);
    close(saved);
    off_t end = lseek(cap, 0, SEEK_END), at = end > ERR_REPLAY_MAX ? end - ERR_REPLAY_MAX : 0;
    char buf[4096];
    while (at < end) {
        ssize_t k = pread(cap, buf, sizeof buf, at);
        if (k <= 0) break;
        for (ssize_t w = 0; w < k;) {
            ssize_t n = write(STDERR_FILENO, buf + w, (size_t)(k - w));
            if (n <= 0) { k = 0; break; }
            w += n;
        }
        if (k == 0) break;
        at += k;
    }
    close(cap);
}

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
/* A sanitizer's report ends the process without a signal (it exits): give
 * the terminal back and copy the report out before it does. */
static void on_sanitizer_death(void) {
    if (screen_active) {
        ssize_t k = write(STDOUT_FILENO, leave_seq, sizeof leave_seq - 1);
        (void)k;
    }
    if (have_saved_tty) tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
    stderr_release();
}
#endif

/* A terminal left in raw mode by a killed program gets sane modes back
 * before ncurses records them as the state to return to. */
static void repair_tty(void) {
    struct termios tm;
    if (tcgetattr(STDIN_FILENO, &tm)) return;
    if (!(tm.c_lflag & ICANON) || !(tm.c_lflag & ECHO)) {
        tm.c_lflag |= ICANON | ECHO | ECHOE | ECHOK | ISIG | IEXTEN;
        tm.c_iflag |= ICRNL | BRKINT;
        tm.c_oflag |= OPOST | ONLCR;
        tm.c_cc[VMIN] = 1;
        tm.c_cc[VTIME] = 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &tm);
        /* also switch off mouse reporting it may have left on */
        ssize_t k = write(STDOUT_FILENO, "\033[?1000l\033[?1002l\033[?1006l", 24);
        (void)k;
    }
    saved_tty = tm;
    have_saved_tty = 1;
}

static void make_pairs(tui_term *t) {
    short next = 1;
    for (int b = 0; b < PAL_N_BASE; b++) {
        pal_look l = palette_look((uint16_t)b, t->mode);
        attr_t a = 0;
        if (l.attrs & PAL_F_BOLD) a |= A_BOLD;
        if (l.attrs & PAL_F_UNDER) a |= A_UNDERLINE;
        if (l.attrs & PAL_F_REVERSE) a |= A_REVERSE;
        if (l.attrs & PAL_F_DIM) a |= A_DIM;
        attr_of[b] = a;
        pair_of[b] = 0;
        if (t->mode == PAL_MONO || (l.fg < 0 && l.bg < 0)) continue;
        short found = 0;                 /* share pairs between styles with the same colours */
        for (int c = 0; c < b && !found; c++) {
            pal_look o = palette_look((uint16_t)c, t->mode);
            if (pair_of[c] && o.fg == l.fg && o.bg == l.bg) found = pair_of[c];
        }
        if (!found && next < COLOR_PAIRS) {
            if (init_pair(next, (short)l.fg, (short)l.bg) == OK) found = next++;
        }
        pair_of[b] = found;
    }
}

int tui_term_open(tui_term *t, int colors, bool mouse, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        snprintf(err, errlen, "the workbench needs a terminal (stdin and stdout are not both one)");
        return -1;
    }
    repair_tty();
    const char *cs = nl_langinfo(CODESET);
    t->utf8 = cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
    if (!getenv("ESCDELAY")) set_escdelay(25);     /* Esc must feel immediate */
    SCREEN *s = newterm(NULL, stdout, stdin);
    if (!s) {
        snprintf(err, errlen, "cannot open the terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : "");
        return -1;
    }
    set_term(s);
    screen_active = 1;
    stderr_capture();
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_set_death_callback(on_sanitizer_death);
#endif
    cbreak();
    noecho();
    nonl();
    intrflush(stdscr, FALSE);
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    leaveok(stdscr, TRUE);
    curs_set(0);
    struct termios tm;                    /* Ctrl-S and Ctrl-Q are keys, not flow control */
    if (tcgetattr(STDIN_FILENO, &tm) == 0) {
        tm.c_iflag &= ~(tcflag_t)(IXON | IXOFF);
        tcsetattr(STDIN_FILENO, TCSANOW, &tm);
        def_prog_mode();
    }
    t->mode = PAL_MONO;
    bool no_color = getenv("NO_COLOR") && *getenv("NO_COLOR");
    if (colors != 0 && !(colors < 0 && no_color) && has_colors() && start_color() == OK) {
        use_default_colors();
        if (COLORS >= 256 && colors != 8) t->mode = PAL_256;
        else if (COLORS >= 8) t->mode = PAL_8;
    }
    make_pairs(t);
    if (mouse) {
        mouseinterval(0);
        t->mouse = mousemask(BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL) != 0;
    }
    t->open = true;
    return 0;
}

void tui_term_close(tui_term *t) {
    if (!t->open) return;
    if (t->mouse) mousemask(0, NULL);
    curs_set(1);
    endwin();
    screen_active = 0;
    stderr_release();
    t->open = false;
}

void tui_term_size(int *w, int *h) {
    *w = COLS;
    *h = LINES;
}

void tui_term_redraw(void) { clearok(curscr, TRUE); }

void tui_term_blit(tui_term *t, const canvas *cv) {
    (void)t;
    int h = cv->h < LINES ? cv->h : LINES, w = cv->w < COLS ? cv->w : COLS;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            const canvas_cell *c = canvas_at(cv, x, y);
            if (c->wide == 2) continue;
            int b = PAL_BASE(c->style);
            if (b >= PAL_N_BASE) b = 0;
            attr_t a = attr_of[b];
            if (c->style & PAL_F_REVERSE) a ^= A_REVERSE;
            if (c->style & PAL_F_BOLD) a |= A_BOLD;
            if (c->style & PAL_F_UNDER) a |= A_UNDERLINE;
            if (c->style & PAL_F_DIM) a |= A_DIM;
            wchar_t wc[2] = { (wchar_t)(c->ch ? c->ch : ' '), 0 };
            if (c->wide == 1 && x + 1 >= w) wc[0] = ' ';
            cchar_t cc;
            setcchar(&cc, wc, a, pair_of[b], NULL);
            mvadd_wch(y, x, &cc);
        }
    }
    wnoutrefresh(stdscr);
    doupdate();
}

static keys_code map_keycode(int k) {
    switch (k) {
    case KEY_UP: return K_UP;
    case KEY_DOWN: return K_DOWN;
    case KEY_LEFT: return K_LEFT;
    case KEY_RIGHT: return K_RIGHT;
    case KEY_HOME: return K_HOME;
    case KEY_END: return K_END;
    case KEY_FIND: return K_HOME;       /* "\e[1~" where terminfo names it Find */
    case KEY_SELECT: return K_END;      /* "\e[4~", Select */
    case KEY_PPAGE: return K_PGUP;
    case KEY_NPAGE: return K_PGDN;
    case KEY_DC: return K_DELETE;
    case KEY_IC: return K_INSERT;
    case KEY_BACKSPACE: return K_BACKSPACE;
    case KEY_ENTER: return K_ENTER;
    case KEY_BTAB: return K_STAB;
    default:
        if (k >= KEY_F(1) && k <= KEY_F(12)) return K_F1 + (k - KEY_F(1));
        return K_NONE;
    }
}

/* An escape sequence terminfo did not know (ncurses hands it over byte by
 * byte): "\e[" or "\eO" (lead) and what follows, already waiting. The
 * vt220/xterm spellings of the keys we have are mapped ("\e[1~" is Home
 * under tmux and screen whatever TERM says, and was lost); any other is
 * read to its end and dropped, never taken for Alt+'[' and then its
 * parameters as keys (the '1' of "\e[1;2P" would focus the prompt). A
 * lone "\e[" or "\eO" with nothing after it is Alt+'[' or Alt+'O'. */
static keys_code escape_seq(int lead) {
    char seq[16];
    int n = 0;
    wint_t c;
    for (;;) {
        if (wget_wch(stdscr, &c) != OK) break;
        if (n < (int)sizeof seq - 1) seq[n++] = (char)(c < 128 ? c : '?');
        if (lead == 'O' || (c >= 0x40 && c <= 0x7e)) break;      /* SS3 takes one; CSI ends at a final byte */
    }
    seq[n] = 0;
    if (n == 0) return (keys_code)lead | KEYS_ALT;
    static const struct { const char *s; keys_code k; } known[] = {
        { "A", K_UP }, { "B", K_DOWN }, { "C", K_RIGHT }, { "D", K_LEFT }, { "H", K_HOME }, { "F", K_END },
        { "1~", K_HOME }, { "7~", K_HOME }, { "4~", K_END }, { "8~", K_END }, { "2~", K_INSERT },
        { "3~", K_DELETE }, { "5~", K_PGUP }, { "6~", K_PGDN }, { "Z", K_STAB },
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(seq, known[i].s) == 0 && (lead == '[' || strlen(seq) == 1)) return known[i].k;
    return K_NONE;
}

static keys_code map_char(wint_t c) {
    switch (c) {
    case 10: case 13: return K_ENTER;
    case 9: return K_TAB;
    case 8: case 127: return K_BACKSPACE;
    case 27: return K_ESC;
    case 0: return K_NONE;
    default: return (keys_code)c;
    }
}

bool tui_term_read(tui_term *t, tui_ev *ev) {
    (void)t;
    memset(ev, 0, sizeof *ev);
    wint_t c;
    int r = wget_wch(stdscr, &c);
    if (r == ERR) return false;
    if (r == KEY_CODE_YES) {
        if (c == KEY_RESIZE) { ev->kind = TEV_RESIZE; return true; }
        if (c == KEY_MOUSE) {
            MEVENT me;
            if (getmouse(&me) != OK) return true;  /* TEV_NONE: consumed */
            ev->kind = TEV_MOUSE;
            ev->x = me.x;
            ev->y = me.y;
            /* only a press is a click: a release (some terminals report
             * one whatever the mask) must not act a second time */
            if (me.bstate & BUTTON4_PRESSED) ev->button = PANE_WHEEL_UP;
            else if (me.bstate & BUTTON5_PRESSED) ev->button = PANE_WHEEL_DOWN;
            else if (me.bstate & BUTTON1_PRESSED) ev->button = PANE_CLICK;
            else ev->kind = TEV_NONE;
            return true;
        }
        ev->kind = TEV_KEY;
        ev->key = map_keycode((int)c);
        if (ev->key == K_NONE) ev->kind = TEV_NONE;
        return true;
    }
    ev->kind = TEV_KEY;
    ev->key = map_char(c);
    if (ev->key == K_ESC) {                 /* Esc then a key at once: Alt+key */
        wint_t c2;
        int r2 = wget_wch(stdscr, &c2);
        if (r2 == OK && (c2 == '[' || c2 == 'O')) ev->key = escape_seq((int)c2);
        else if (r2 == OK && c2 != 27) ev->key = map_char(c2) | KEYS_ALT;
        else if (r2 == KEY_CODE_YES) {
            keys_code k2 = map_keycode((int)c2);
            if (k2 != K_NONE) ev->key = k2 | KEYS_ALT;
        }
    }
    if (ev->key == K_NONE) ev->kind = TEV_NONE;
    return true;
}

/* ---- signals -------------------------------------------------------------- */

static void wake(void) {
    int e = errno;
    if (sig_pipe[1] >= 0) {
        char b = 1;
        ssize_t k = write(sig_pipe[1], &b, 1);
        (void)k;
    }
    errno = e;
}

/* The crash signals and the handlers they had before the workbench took them
 * (app/main.c's crash report): on_crash gives the terminal back, then hands
 * the signal on, so the report lands on the ordinary screen in cooked mode
 * (the workbench's handler used to replace it: a crash in the TUI said
 * nothing but "Segmentation fault"). */
static const int crash_sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT };
#define N_CRASH ((int)(sizeof crash_sigs / sizeof crash_sigs[0]))
static struct sigaction old_crash[N_CRASH];
static bool have_old_crash;

static void on_crash(int sig, siginfo_t *si, void *uc) {
    if (screen_active) {
        ssize_t k = write(STDOUT_FILENO, leave_seq, sizeof leave_seq - 1);
        (void)k;
    }
    if (have_saved_tty) tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
    stderr_release();     /* an assert()'s message, written before its abort */
    for (int i = 0; have_old_crash && i < N_CRASH; i++) {
        const struct sigaction *o = &old_crash[i];
        if (crash_sigs[i] != sig) continue;
        if (o->sa_flags & SA_SIGINFO) o->sa_sigaction(sig, si, uc);     /* a sanitizer's */
        else if (o->sa_handler != SIG_DFL && o->sa_handler != SIG_IGN) o->sa_handler(sig);   /* main.c's: it re-raises */
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* SIGWINCH: wake the loop, then let ncurses' own handler note the new size
 * (a thread started by a plugin may be the one that receives it). */
static struct sigaction old_winch;

static void on_winch(int sig) {
    wake();
    if (!(old_winch.sa_flags & SA_SIGINFO) && old_winch.sa_handler != SIG_DFL && old_winch.sa_handler != SIG_IGN)
        old_winch.sa_handler(sig);
}

static void on_sig(int sig) {
    if (sig == SIGINT) { if (int_cb) int_cb(); }
    else if (quit_flag) *quit_flag = 1;
    wake();
}

int tui_term_signals(void (*on_int)(void), volatile sig_atomic_t *quit) {
    int_cb = on_int;
    quit_flag = quit;
    if (sig_pipe[0] < 0) {
        if (pipe(sig_pipe)) return -1;
        for (int i = 0; i < 2; i++) {
            fcntl(sig_pipe[i], F_SETFL, O_NONBLOCK);
            fcntl(sig_pipe[i], F_SETFD, FD_CLOEXEC);
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_sig;
    /* caught even where SIGINT was inherited ignored (unlike run, repl and
     * train: cli_sigint_catch): the workbench owns the terminal's foreground
     * (a background job reading it is stopped), so a Ctrl-C is the user's
     * key to it; a wrapper that ignores it to survive (tests/tui_lib.sh)
     * still leaves the workbench its stop key */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_winch;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGWINCH, &sa, &old_winch);
    sa.sa_sigaction = on_crash;
    /* on main.c's alternate stack where the thread has one (a stack overflow) */
    sa.sa_flags = SA_RESETHAND | SA_NODEFER | SA_ONSTACK | SA_SIGINFO;
    for (int i = 0; i < N_CRASH; i++) sigaction(crash_sigs[i], &sa, have_old_crash ? NULL : &old_crash[i]);
    have_old_crash = true;
    sa.sa_handler = SIG_IGN;
    sa.sa_flags = 0;
    sigaction(SIGPIPE, &sa, NULL);
    return sig_pipe[0];
}

void tui_term_signals_reset(void) {
    const int all[] = { SIGINT, SIGTERM, SIGHUP };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) signal(all[i], SIG_DFL);
    /* the crash signals back to what they were (main.c's report), not SIG_DFL */
    for (int i = 0; have_old_crash && i < N_CRASH; i++) sigaction(crash_sigs[i], &old_crash[i], NULL);
    have_old_crash = false;
    sigaction(SIGWINCH, &old_winch, NULL);
    int_cb = NULL;
    quit_flag = NULL;
    if (sig_pipe[0] >= 0) { close(sig_pipe[0]); close(sig_pipe[1]); sig_pipe[0] = sig_pipe[1] = -1; }
}
