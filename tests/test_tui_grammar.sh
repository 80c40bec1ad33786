#!/bin/sh
# The workbench with a grammar: set in the sampler panel's grammar row
# (Enter, "choice yes,no,maybe"), `:gen` gives one of the choices and stops
# at end of text; the inspector marks the model's favourites the grammar
# refused (✗; x in ASCII mode) and the chain footer shows the grammar stage
# first; a bad grammar is named with its line and column. Reopened, the
# workspace's last token has its distributions recomputed on the engine with
# the node's grammar, so the marks come back; the panel's row takes a regex
# and Space clears it; `:grammar none` removes it too.
. "$(dirname "$0")/check.sh"
case "$LOGITLAB" in /*) BIN=$LOGITLAB ;; *) BIN=$(pwd)/$LOGITLAB ;; esac
SH=$(cd "$SHARED" 2>/dev/null && pwd)
M=$SH/models/stories260K.gguf
T=$(mktemp -d "${TMPDIR:-/tmp}/logitlab-tuig.XXXXXX")
SOCK=logitlab-tuig-$$
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
trap 'tmux -L logitlab-tuig-$$ kill-server >/dev/null 2>&1; tmux -L logitlab-tuig2-$$ kill-server >/dev/null 2>&1; rm -rf "$T"' EXIT
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
printf '{"type": "array", "items": {"type": "integer"}, "uniqueItems": true}' >"$T/u.json"
tm new-session -d -x 120 -y 40 -c "$T" \
  "env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color LOGITLAB_SHARED=$SH $BIN tui -w $T/ws -m $M -t 1 -p 'Once upon a time'; echo EXITED \$?; sleep 600"
check "opens" wait_for "opened "
tm send-keys -t 0 ":grammar grammar $T/bad.gbnf" Enter
check "a bad grammar is named with its line and column" wait_for "line 2 col 7"
tm send-keys -t 0 Escape; sleep 0.3; tm send-keys -t 0 6
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do tm send-keys -t 0 Down; done
check "the panel's last row is the grammar" wait_for "grammar          none"
tm send-keys -t 0 Enter
tm send-keys -t 0 "choice yes,no,maybe" Enter
check "the panel's grammar row sets it" wait_for "grammar = choice yes,no,maybe"
check "and shows it" wait_for "grammar          choice yes,no,maybe"
tm send-keys -t 0 ":gen" Enter
check "generation ends" wait_for "end of text"
check "the output is one of the choices" sh -c "tmux -L $SOCK -f /dev/null capture-pane -p -t 0 | grep -qE 'Once upon a time(yes|no|maybe)</s>'"
check "the inspector marks refused tokens" wait_for "✗"
check "the chain shows the grammar first" wait_for "input 512 → grammar"
tm send-keys -t 0 ":q" Enter
check "quits, saving the workspace" wait_for "EXITED 0"
tm kill-server >/dev/null 2>&1
SOCK=logitlab-tuig2-$$          # a new server: the old one may still be going away
tm new-session -d -x 120 -y 40 -c "$T" \
  "env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color LOGITLAB_SHARED=$SH $BIN tui -w $T/ws -m $M -t 1; echo EXITED \$?; sleep 600"
check "reopens the workspace" wait_for "Once upon a time"
check "the last token's distributions are recomputed with the node's grammar (marks)" wait_for "✗"
tm send-keys -t 0 Escape; sleep 0.3; tm send-keys -t 0 6
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do tm send-keys -t 0 Down; done
tm send-keys -t 0 Enter
tm send-keys -t 0 C-u "regex [a-z]+" Enter
check "the row takes a regex" wait_for "grammar = regex [a-z]+"
tm send-keys -t 0 Enter
tm send-keys -t 0 C-u "regex (a" Enter
check "a bad regex is refused with where" wait_for "offset"
tm send-keys -t 0 Space
check "Space clears it" wait_for "grammar = none"
tm send-keys -t 0 ":grammar choice a,b" Enter
check "the command sets it too" wait_for "grammar = choice a,b"
tm send-keys -t 0 ":grammar json-schema $T/u.json" Enter
check "a keyword a grammar cannot check is named" wait_for "schema at /uniqueItems"
tm send-keys -t 0 ":grammar json-schema +ignore-unenforceable +compact $T/u.json" Enter
check "schema options as +words" wait_for "grammar = json-schema +ignore-unenforceable +compact"
tm send-keys -t 0 ":grammar none" Enter
check "and removes it" wait_for "grammar = none"
tm send-keys -t 0 ":q!" Enter
check "quits" wait_for "EXITED 0"
check_done
