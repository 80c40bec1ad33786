# The tmux harness of the workbench's terminal tests (sourced, not run):
# a private tmux server per scenario running `logitlab tui` at a fixed
# size, keys and mouse reports sent to it, assertions on the captured
# screen. Same helpers as tests/test_tui.sh (start, screen, keys, key,
# wait_for, wait_gone, see, see_re, see_live, see_live_held, not_see, not_see_re, width_is,
# app_pid, scroll_to, click).
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case "$LOGITLAB" in /*) BIN=$LOGITLAB ;; *) BIN=$(pwd)/$LOGITLAB ;; esac
SH=$(cd "$SHARED" 2>/dev/null && pwd)
M=$SH/models/stories260K.gguf
T=$(mktemp -d "${TMPDIR:-/tmp}/logitlab-tui.XXXXXX")
# One private server per scenario (logitlab-test-PID-N), so a server still
# shutting down never meets the next scenario.
SOCK=logitlab-test-$$
N=0
tm() { tmux -L "$SOCK-$N" -f /dev/null "$@"; }
cleanup() {
  i=0
  while [ $i -le $N ]; do tmux -L "$SOCK-$i" kill-server >/dev/null 2>&1; i=$((i + 1)); done
  rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK-"*
  rm -rf "$T"
}
trap cleanup EXIT
if [ ! -x "$BIN" ]; then echo "FAIL: no binary at $BIN"; echo "# passed 0 failed 1"; exit 1; fi
if ! command -v tmux >/dev/null 2>&1; then echo "FAIL: tmux is not installed"; echo "# passed 0 failed 1"; exit 1; fi

# start W H [ENV...] -- [ARGS...]: a fresh server running the workbench in
# a workspace of its own ($WS when set, else a fresh folder); the pane stays
# after it exits and prints its status. $PRE: shell commands run first (a
# ulimit); $TUICMD: the command word (default tui; empty: none);
# $MODELARG: instead of "-m MODEL".
start() {
  w=$1; h=$2; shift 2
  envs="LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color LOGITLAB_SHARED=$SH"
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs="$envs $1"; shift; done
  [ "$1" = "--" ] && shift
  tm kill-server >/dev/null 2>&1
  N=$((N + 1))
  ws=${WS:-$T/ws-$N}
  # the wrapper ignores SIGINT (Ctrl-C reaches the whole foreground group)
  tm new-session -d -x "$w" -y "$h" -c "$T" \
    "trap '' INT; ${PRE:-} env $envs $BIN ${TUICMD-tui} -w $ws ${MODELARG--m $M} -t 1 $*; echo EXITED \$?; sleep 600"
}
screen() { tm capture-pane -p -t 0 2>/dev/null; }
keys() { tm send-keys -t 0 "$@"; }
# A key, then a pause long enough that an Esc is not read as Alt.
key() { tm send-keys -t 0 "$@"; sleep 0.15; }
# wait_for TEXT [SECONDS]: until TEXT is on the screen (default 10 s).
wait_for() {
  n=0; lim=$(( ${2:-10} * 20 ))
  while [ $n -lt $lim ]; do
    if screen | grep -qF -- "$1"; then return 0; fi
    sleep 0.05; n=$((n + 1))
  done
  return 1
}
# wait_gone TEXT [SECONDS]
wait_gone() {
  n=0; lim=$(( ${2:-5} * 20 ))
  while [ $n -lt $lim ]; do
    if ! screen | grep -qF -- "$1"; then return 0; fi
    sleep 0.05; n=$((n + 1))
  done
  return 1
}
ok() { check_pass=$((check_pass + 1)); }
bad() { check_fail=$((check_fail + 1)); echo "FAIL: $1"; screen | sed 's/^/  | /'; }
# see_re / not_see_re DESC REGEX [SECONDS]: as see and not_see, for an
# extended regular expression (a screen read once, right after a key or a
# resize, can come before the workbench drew the frame that shows it).
see_re() {
  n=0; lim=$(( ${3:-10} * 20 ))
  while [ $n -lt $lim ] && ! screen | grep -qE -- "$2"; do sleep 0.05; n=$((n + 1)); done
  if [ $n -lt $lim ]; then ok; else bad "$1 (no /$2/)"; fi
}
not_see_re() {
  n=0; lim=$(( ${3:-5} * 20 ))
  while [ $n -lt $lim ] && screen | grep -qE -- "$2"; do sleep 0.05; n=$((n + 1)); done
  if [ $n -lt $lim ]; then ok; else bad "$1 (/$2/ still there)"; fi
}
# see DESC TEXT [SECONDS]: TEXT appears.
see() { if wait_for "$2" "${3:-10}"; then ok; else bad "$1 (no '$2')"; fi; }
# see_live DESC TEXT SECONDS [KEYS...]: the KEYS are sent, then TEXT, a
# state that lasts only while the work they start runs (a turn under way),
# appears. A plain poll can miss such a state on a loaded machine: the
# workbench draws it and draws it away again while the tmux server or this
# shell waits for a core, and the capture sees only the end (a flaky test).
# So the workbench is stopped (SIGSTOP) before the keys go, then run in
# slices (SIGCONT ... SIGSTOP), the screen read after each once two captures
# agree (tmux shows all it drew). A slice is this shell counting to 1000
# (builtins, ~2 ms of CPU; a sleep would be a process to start, and a
# starved start let the whole turn through): the workbench runs about as
# long as the shell does, however loaded the machine, so a state that
# lasts tens of milliseconds of its CPU is captured.
see_live() { see_live_held "$@"; kill -CONT "$pid" 2>/dev/null; }
# see_live_held DESC TEXT SECONDS [KEYS...]: as see_live, but the workbench
# is left stopped (SIGSTOP) where TEXT was seen, so what the test does next
# (a C-c, whose SIGINT waits for it) lands in that state for sure; the test
# resumes it with `kill -CONT "$pid"`.
see_live_held() {
  d=$1; txt=$2; lim=$(( $3 * 20 )); shift 3
  pid=$(app_pid); n=0; got=1
  if [ -n "$pid" ] && kill -STOP "$pid" 2>/dev/null; then
    [ $# -gt 0 ] && keys "$@"
    while [ $n -lt $lim ]; do
      kill -CONT "$pid" 2>/dev/null || break
      i=0; while [ $i -lt 1000 ]; do i=$((i + 1)); done
      kill -STOP "$pid" 2>/dev/null || break
      a=$(screen); b=$(screen); m=0
      while [ "$a" != "$b" ] && [ $m -lt 50 ]; do a=$b; b=$(screen); m=$((m + 1)); done
      if printf '%s\n' "$b" | grep -qF -- "$txt"; then got=0; break; fi
      n=$((n + 1))
    done
  fi
  if [ $got -eq 0 ]; then ok; else bad "$d (no '$txt')"; fi
}
# not_see DESC TEXT: TEXT is gone (or never was).
not_see() { if wait_gone "$2"; then ok; else bad "$1 ('$2' still there)"; fi; }
# width_is DESC N: the widest captured line is N columns.
width_is() {
  got=$(screen | LC_ALL=C.UTF-8 wc -L)
  if [ "$got" -eq "$2" ]; then ok; else bad "$1 (lines $got wide, not $2)"; fi
}
# The workbench's pid: the child of the pane's shell (from /proc: pgrep is
# not on every fresh machine).
app_pid() {
  parent=$(tm list-panes -t 0 -F '#{pane_pid}')
  for p in /proc/[0-9]*; do
    pp=$(sed 's/.*) //' "$p/stat" 2>/dev/null | cut -d' ' -f2)
    if [ "$pp" = "$parent" ]; then echo "${p#/proc/}"; return; fi
  done
}
# scroll_to DESC TEXT: PageDown (at most 10 times) until TEXT shows.
scroll_to() {
  n=0
  while [ $n -lt 10 ] && ! screen | grep -qF -- "$2"; do key PageDown; n=$((n + 1)); done
  see "$1" "$2" 1
}
# click X Y: a left click at 1-based cell (X, Y) as an xterm SGR mouse report.
click() { tm send-keys -t 0 -l "$(printf '\033[<0;%d;%dM\033[<0;%d;%dm' "$1" "$2" "$1" "$2")"; sleep 0.2; }

