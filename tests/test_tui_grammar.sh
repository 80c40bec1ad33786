#!/bin/sh
# The workbench with a grammar: `:grammar choice yes,no,maybe` then `:gen`
# gives one of the choices and stops at end of text; the inspector marks the
# model's favourites the grammar refused (✗; x in ASCII mode) and
# the chain footer shows the grammar stage first; a bad grammar is named in
# the console with its line and column; `:grammar none` removes it.
. "$(dirname "$0")/check.sh"
case "$LOGITLAB" in /*) BIN=$LOGITLAB ;; *) BIN=$(pwd)/$LOGITLAB ;; esac
SH=$(cd "$SHARED" 2>/dev/null && pwd)
M=$SH/models/stories260K.gguf
T=$(mktemp -d "${TMPDIR:-/tmp}/logitlab-tuig.XXXXXX")
SOCK=logitlab-tuig-$$
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
trap 'tm kill-server >/dev/null 2>&1; rm -rf "$T"' EXIT
if [ ! -x "$BIN" ]; then echo "FAIL: no binary at $BIN"; echo "# passed 0 failed 1"; exit 1; fi
if ! command -v tmux >/dev/null 2>&1; then echo "FAIL: tmux is not installed"; echo "# passed 0 failed 1"; exit 1; fi
screen() { tm capture-pane -p -t 0 2>/dev/null; }
wait_for() {
  n=0
  while [ $n -lt 200 ]; do
    if screen | grep -qF -- "$1"; then return 0; fi
    sleep 0.05; n=$((n + 1))
  done
  return 1
}
printf 'root ::= "a" |\n  "b" foo\n' >"$T/bad.gbnf"
tm new-session -d -x 120 -y 40 -c "$T" \
  "env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color LOGITLAB_SHARED=$SH $BIN tui -w $T/ws -m $M -t 1 -p 'Once upon a time'; echo EXITED \$?; sleep 600"
check "opens" wait_for "opened "
tm send-keys -t 0 ":grammar grammar $T/bad.gbnf" Enter
check "a bad grammar is named with its line and column" wait_for "line 2 col 7"
tm send-keys -t 0 ":grammar choice yes,no,maybe" Enter
check "the grammar is set" wait_for "grammar = choice yes,no,maybe"
tm send-keys -t 0 ":gen" Enter
check "generation ends" wait_for "end of text"
check "the output is one of the choices" sh -c "tmux -L $SOCK -f /dev/null capture-pane -p -t 0 | grep -qE 'Once upon a time(yes|no|maybe)</s>'"
check "the inspector marks refused tokens" wait_for "✗"
check "the chain shows the grammar first" wait_for "input 512 → grammar"
tm send-keys -t 0 ":grammar none" Enter
check "the grammar is removed" wait_for "grammar = none"
tm send-keys -t 0 ":q!" Enter
check "quits" wait_for "EXITED 0"
check_done
