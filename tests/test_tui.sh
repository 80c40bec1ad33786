#!/bin/sh
# The workbench driven in a real terminal: each scenario starts
# `logitlab tui` in a private tmux server at a fixed size, sends keys (and
# mouse reports), captures the pane and asserts on the text on the screen:
# open, step, pick the 2nd alternative and see the branch in the tree,
# rewind and regenerate, resize (60x20, 200x60, too small), the help, a Lua
# line in the console, plugin errors shown without a crash, mouse clicks,
# monochrome/ASCII, quitting, SIGTERM, a kill -9 leaving the terminal raw and
# the next start repairing it, the workspace (a session saved as it goes and
# reopened with its tree, label, selected path, prompt and recomputed
# distributions; :session new/open, :sessions; kill -9 right after a token
# loses nothing; a second workbench on the workspace is refused; a damaged
# database is named), and docs/tui.md against `logitlab tui --keys`. Each
# scenario runs in a workspace of its own. Needs tmux (CI installs it); without it the test
# says so and counts one failure.
. "$(dirname "$0")/check.sh"
. "$(dirname "$0")/tui_lib.sh"

# ---- open, step, pick, rewind, regenerate (80x24) ----
start 80 24 -- -p "'Once upon a time'"
see "opens on the model" "stories260K"
see "panes are drawn" "1 prompt"
see "the prompt is shown" "Once upon a time"
key :; keys "set temp 0" Enter
see "greedy set from the command line" "temp = 0"
key s; key s; key s
see "three steps in step mode" "output 8/8 tokens"
see "greedy continuation" "Once upon a time, there was"
see "the inspector shows the distribution" "rank 1"
see "the tree has the prompt and the branch" "tree 2 nodes"
key 3; key Down; key Enter
see "picking the 2nd alternative branches" "branched at position 7"
see "the branch is in the tree" "pick"
see "the tree grew" "tree 4 nodes"
key s
see "stepping continues the new branch" "output 9/9 tokens"
key 2; key Left; key Left; key r
see "rewind to the cursor" "rewound to position 6"
see "the rewound path ends at the cursor" "output 7/7 tokens"
key R
see "regenerate runs a new branch" "tree 6 nodes" 20
key Escape
# :open of a file that is no model: refused at once; the model and its tree
# stay (the worker found out only after the model had been given up)
printf 'just some text\n' >"$T/notamodel.gguf"
key :; keys "open ./notamodel.gguf" Enter
see ":open of a file that is no model says so" "not a model"
see ":open of a file that is no model keeps the model and its tree" "tree 6 nodes"
# a file that fails only past its header (a GGUF cut short in its tensor
# data, a llama2.c checkpoint without its tokenizer beside it): the worker
# opens the new model before it gives up the old, so both stay
head -c 20000 "$M" >"$T/trunc.gguf"
mkdir -p "$T/solo" && cp "$SH/models/stories260K.bin" "$T/solo/solo.bin"
key :; keys "open $T/trunc.gguf" Enter
see ":open of a damaged GGUF says why" "truncated in tensor data"
see "and keeps the model and its tree" "(kept stories260K and its tree)"
see "the tree is still there" "tree 6 nodes"
key :; keys "open $T/solo/solo.bin" Enter
see ":open of a checkpoint without its tokenizer says why" "tokenizer.bin: cannot open"
see "and keeps them too" "(kept st"
n=0
while [ $n -lt 100 ] && ! screen | grep -q 'ctx [0-9]*/'; do sleep 0.1; n=$((n + 1)); done
c1=$(screen | grep -o 'ctx [0-9]*/' | head -1)
key s
n=0
while [ $n -lt 100 ] && [ "$(screen | grep -o 'ctx [0-9]*/' | head -1)" = "$c1" ]; do sleep 0.1; n=$((n + 1)); done
c2=$(screen | grep -o 'ctx [0-9]*/' | head -1)
if [ -n "$c1" ] && [ "$c1" != "$c2" ]; then ok; else bad "the kept model still steps ('$c1' then '$c2')"; fi
# a file that opens: the new model replaces the old (its tree starts over), then steps
cp "$M" "$T/copy.gguf"
key :; keys "open $T/copy.gguf" Enter
see ":open of a good file opens it" "opened $T/copy.gguf"
see "the status bar names it" " copy  "
see "its tree starts over" "tree 0 nodes"
key s
see "and it steps" "tree 2 nodes"

# ---- resizing ----
tm resize-window -t 0 -x 60 -y 20; sleep 0.3
see "60x20: the output" "2 output"
see "60x20: the inspector in the slot" "3 inspector"
width_is "60x20 fills the width" 60
line=$(screen | grep -F "3 inspector")
col=$(( $(printf '%s' "${line%%─4─*}" | LC_ALL=C.UTF-8 wc -m) + 2 ))
click "$col" "$(screen | grep -nF '3 inspector' | cut -d: -f1)"
see "60x20: a click on the slot's tab 4 shows the tree" "4 tree"
tm resize-window -t 0 -x 200 -y 60; sleep 0.3
see "200x60: the tree beside the inspector" "4 tree"
see "200x60: the console" "5 console"
width_is "200x60 fills the width" 200
tm resize-window -t 0 -x 30 -y 8; sleep 0.3
see "below 40x10: too small" "terminal too small"
tm resize-window -t 0 -x 80 -y 24; sleep 0.3
see "back to 80x24" "1 prompt"
width_is "80x24 fills the width" 80

# ---- help ----
key '?'
see "? opens the help" "Key bindings"
see "the help lists the step key" "step: generate one token"
scroll_to "the help scrolls to the tree keys" "Branch tree"
key Escape
not_see "Esc closes the help" "Key bindings"

# ---- the Lua console (zoomed, to see its history) ----
key 5; key z; key i
keys "x = 6 * 7" Enter; sleep 0.2
keys "x" Enter
see "a Lua line runs in the console" "42"
keys "for i = 1," Enter; sleep 0.1
keys "2 do print('line ' .. i) end" Enter
see "an unfinished chunk continues" "line 2"
keys "error('boom here')" Enter
see "a Lua error is shown" "boom here"
see "with its traceback" "stack traceback"
key Escape; key z

# ---- mouse ----
key 2
click 60 15
see "clicking the tree's root selects it" "output 5/5 tokens"
click 10 5
see "clicking the output focuses it" "2 output"

# ---- saving, exporting, quitting (the workspace has everything: no question) ----
key :; keys "w $T/session.json" Enter
see "save writes the tree" "saved"
check "the saved tree is JSON with nodes" grep -q '"nodes"' "$T/session.json"
key :; keys "export $T/path.jsonl" Enter
see "export writes the path" "exported"
# the workspace's own files are not written (`:w logitlab.db` truncated the
# open database: the session, and everything else in the workspace, lost)
key :; keys "w logitlab.db" Enter
see ":w logitlab.db is refused" "logitlab.db: a file of the workspace itself"
key :; keys "export config.lua" Enter
see ":export config.lua is refused" "config.lua: a file of the workspace itself"
check "the database is whole (an SQLite file)" sh -c "head -c 15 '$T/ws-$N/logitlab.db' | grep -q 'SQLite format 3'"
check "the export has one object per token" grep -q '"pos":0' "$T/path.jsonl"
key q
see "q quits at once: the workspace has every branch" "EXITED 0"
# docs/workspaces.md's sqlite3 examples run, as written, on this workspace
# (as workspaces/default of a folder of their own); the first lists the
# session's tokens, the prompt's first
if command -v sqlite3 >/dev/null 2>&1; then
  mkdir -p "$T/wsdoc/workspaces" && ln -s "$T/ws-$N" "$T/wsdoc/workspaces/default"
  awk '/^```sh[ \t]*$/ { p = 1; next } /^```/ { p = 0 } p' "$ROOT/docs/workspaces.md" >"$T/wsdoc/ex.sh"
  check "docs/workspaces.md: the sqlite3 examples run" sh -c "cd '$T/wsdoc' && sh -e ex.sh >out.txt 2>&1"
  check "docs/workspaces.md: the first lists the session's tokens" grep -q '^[0-9]*|prompt|0|' "$T/wsdoc/out.txt"
fi

# ---- plugins: an error on load, an error in a command, the example's hooks ----
mkdir -p "$T/plugins"
cat >"$T/plugins/bad.lua" <<'LUA'
return { name = "bad", api_level = 1, description = "fails to load",
  on_load = function() error("bad plugin exploded on load") end }
LUA
cat >"$T/plugins/spin.lua" <<'LUA'
return { name = "spin", api_level = 1, description = "a command that never ends",
  on_load = function() lab.ui.command_add("spin", "loops forever", function() while true do end end) end }
LUA
cat >"$T/plugins/flaky.lua" <<'LUA'
return { name = "flaky", api_level = 1, description = "a command that fails",
  on_load = function()
    lab.ui.command_add("flaky", "raises", function() local t = nil; return t.field end)
    lab.ui.status_add("flaky", function() return "flaky ok" end)
  end }
LUA
start 80 24 -- --plugins "$T/plugins:$ROOT/plugins" -p "'Once upon a time'"
see "a good plugin's status item is shown" "flaky ok"
key 5; key z
see "a plugin error on load is shown in the console" "bad plugin exploded"
key :; keys "flaky" Enter
see "a plugin command error shows a traceback" "attempt to index"
key z; key 6; key Tab
n=0   # other plugins in plugins/ may have panes of their own before it
while [ $n -lt 12 ] && ! screen | grep -qF "next token"; do key Tab; n=$((n + 1)); done
see "the example plugin's pane is in the slot" "next token"
key 2; key s
see "the workbench still works after plugin errors" "output 6/6 tokens"
key :; keys "spin" Enter; sleep 0.5
keys C-c
see "Ctrl-C interrupts a runaway plugin" "interrupted"
key 2; key s
see "and the workbench answers again" "output 7/7 tokens"
key :; keys "next Once upon" Enter
see "the example plugin's command runs" "next after"
key '?'
scroll_to "plugin key bindings are in the help" "repeat :next"
key Escape
key :; keys "q!" Enter
see "q! quits without asking" "EXITED 0"

# ---- the tree plugin: a search's tree in its pane, a node opened in the loom ----
start 120 40 -- --plugins "$ROOT/plugins" -p "'Once upon a time'"
see "started for the tree plugin" "stories260K"
key :; keys "tree model=$M task=numpath method=tot-bfs gen=moves eval=verifier seed=2" Enter
see "the search runs (its status item)" "tree tot-bfs 6"
key 6
n=0
while [ $n -lt 16 ] && ! screen | grep -qF "(root)"; do key Tab; n=$((n + 1)); done
see "the tree pane shows the tree" "* solution 1.00"
key j; key o
see "o opens the node's path in the loom" "node #1 opened in the loom"
see "the output pane holds the path" "Question: from 2 reach 4 in exactly 2 operations"
see "and the inspector its distributions" "input 512"
key :; keys "q!" Enter
see "quits after the tree plugin" "EXITED 0"

# ---- a storm of keys at several sizes: nothing crashes ----
start 80 24 -- -p "'Once upon a time'"
see "started for the storm" "1 prompt"
for size in "80 24" "40 10" "61 17" "33 7" "120 40" "45 12"; do
  set -- $size
  tm resize-window -t 0 -x "$1" -y "$2"
  keys s s s g; sleep 0.2
  keys Escape 2 Left Left Up Down Home End PageUp PageDown r 3 Down Down Enter s 4 Up Down Left Right Enter; sleep 0.1
  keys L Escape; sleep 0.1
  keys z Tab Tab BTab z c c c v v "[" "]" 6 Down Right Left Space K J Down Down Enter 3 Enter Escape; sleep 0.1
  keys 1 i x y Enter BSpace Left Right; sleep 0.05
  keys Escape; sleep 0.1
  keys 5 i "1+" Enter "1" Enter Escape; sleep 0.1
  keys 4 d n '?' PageDown Up Down; sleep 0.05
  keys Escape; sleep 0.1
  keys R; sleep 0.2
  keys Escape C-l 7 Tab Tab Tab Tab Tab Tab Tab Up Down; sleep 0.1
  click 5 5; click 70 20; click 30 3
done
tm resize-window -t 0 -x 80 -y 24
sleep 0.3
if [ -n "$(app_pid)" ] && ! screen | grep -q EXITED; then ok; else bad "the storm crashed the workbench"; fi
key Escape; key :; keys "q!" Enter
see "quits after the storm" "EXITED 0"

# ---- colours: 256, 8, monochrome (from the SGR codes tmux records) ----
sgr() { tm capture-pane -e -p -t 0 | grep -oE '\[[0-9;]*m' | sort -u; }
start 80 24 -- -p "'Once upon a time'"
see "256 colours: started" "1 prompt"
key g; sleep 0.5
if sgr | grep -q '38;5;'; then ok; else bad "256 colours: no 256-colour codes"; fi
start 80 24 TERM=xterm -- -p "'Once upon a time'"
see "8 colours: started" "1 prompt"
key g; sleep 0.5
if ! sgr | grep -q '38;5;' && sgr | grep -qE '(\[|;)3[1-6](;|m)'; then ok; else bad "8 colours: wrong codes"; fi
start 80 24 NO_COLOR=1 -- -p "'Once upon a time'"
see "monochrome: started" "1 prompt"
key g; sleep 0.5
if ! sgr | grep -qE '38;5;|(\[|;)3[0-7](;|m)' && sgr | grep -qE '(\[|;)4(;|m)'; then ok; else bad "monochrome: colour codes, or no underline"; fi

# ---- ASCII without a UTF-8 locale ----
start 80 24 LANG=C LC_ALL=C NO_COLOR=1 -- -p "'Once upon a time'"
see "ASCII borders without a UTF-8 locale" "+- 1 prompt"
key s; key 3
see "ASCII escapes in the inspector" '\s'
key q
see "q quits" "EXITED 0"

# ---- `logitlab` with no command on a terminal is the workbench ----
tm kill-server >/dev/null 2>&1
N=$((N + 1))
tm new-session -d -x 80 -y 24 -c "$T" \
  "env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color LOGITLAB_MODEL=$M $BIN; echo EXITED \$?; sleep 600"
see "no command opens the workbench" "1 prompt"
see "on the default model" "stories260K"
key Escape; key q   # a first open types into the prompt: Esc leaves it
see "and q leaves it" "EXITED 0"

# ---- SIGTERM quits cleanly ----
start 80 24 -- -p "'Once'"
see "started" "1 prompt"
pid=$(app_pid)
[ -n "$pid" ] && kill -TERM "$pid"
see "SIGTERM exits with status 0" "EXITED 0"

# ---- kill -9 leaves the tty raw; the next start repairs it ----
tm kill-server >/dev/null 2>&1
N=$((N + 1))
tm new-session -d -x 80 -y 24 -c "$T" "env PS1='$ ' LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color sh"
sleep 0.3
keys "$BIN tui -m $M -t 1 --no-lua" Enter
see "started from a shell" "1 prompt"
pid=$(app_pid)
[ -n "$pid" ] && kill -KILL "$pid"
sleep 0.3
# the tty is raw now: Enter sends CR that nothing turns into LF; C-j is LF
keys "stty -a > $T/stty.raw" C-j; sleep 0.3
check "kill -9 left the tty without icanon" grep -q -- '-icanon' "$T/stty.raw"
keys "clear; $BIN tui -m $M -t 1 --no-lua" C-j
see "starts again after kill -9" "1 prompt"
key Escape; key q
sleep 0.5
keys "stty -a > $T/stty.after; echo done" Enter
sleep 0.5
check "the next start left the tty sane (icanon)" grep -qE '(^| )icanon( |$)' "$T/stty.after"
check "the next start left the tty sane (echo)" grep -qE '(^| )echo( |$)' "$T/stty.after"

# ---- a crash restores the terminal at once ----
keys "clear; $BIN tui -m $M -t 1 --no-lua" Enter
see "started again" "1 prompt"
pid=$(app_pid)
[ -n "$pid" ] && kill -SEGV "$pid"
sleep 0.5
keys "stty -a > $T/stty.crash" Enter; sleep 0.3
check "SIGSEGV left the tty sane" grep -qE '(^| )icanon( |$)' "$T/stty.crash"

# ---- the workspace: saved as you go, reopened, kill -9, one writer, damage ----
# The helper reads a workspace without the workbench: integrity_check and
# the counts of the newest session ("sessions S nodes N tokens T").
HELPER=${BUILD:+$BUILD/tests/test_tui_store}
[ -x "$HELPER" ] || HELPER=$(dirname "$BIN")/tests/test_tui_store
W1=$T/ws-keep
WS=$W1 start 80 24 -- -p "'Once upon a time'"
see "workspace: started" "1 prompt"
key :; keys "set temp 0" Enter
key s; key s; key s
see "workspace: three steps" "output 8/8 tokens"
key 3; key Down; key Enter
see "workspace: a branch" "tree 4 nodes"
key s
see "workspace: the branch goes on" "output 9/9 tokens"
key :; keys "label kept" Enter
see "workspace: a label" "[kept]"
key q
see "workspace: q saves and quits" "EXITED 0"
WS=$W1 start 80 24
see "reopened: the selected path" "output 9/9 tokens"
see "reopened: the tree" "tree 4 nodes"
see "reopened: the label" "[kept]"
see "reopened: the prompt" "Once upon a time"
see "reopened: the last token's distributions, recomputed on the engine" "input 512"
key s
see "reopened: stepping goes on from the restored path" "output 10/10 tokens"
see "reopened: the sampler settings too (the step continues its node)" "tree 4 nodes"
key :; keys "session new second" Enter
see "a new session starts empty" "tree 0 nodes"
key s
see "and fills" "output 6/6 tokens"
key :; keys "sessions" Enter
see ":sessions counts both" "2 sessions in"
see ":sessions lists them in the console" "4 nodes"
key :; keys "session open 1" Enter
see ":session open brings the first back" "output 10/10 tokens"
key s
see "one more token" "output 11/11 tokens"
key 1; key i; keys C-e " long ago"; key Escape
see "the prompt being edited" "Once upon a time long ago"
sleep 1.2
pid=$(app_pid)
[ -n "$pid" ] && kill -KILL "$pid"
sleep 0.3
check "after kill -9 the database is sound" "$HELPER" --check "$W1"
got=$("$HELPER" --check "$W1" 2>&1)
if [ "$got" = "sessions 2 nodes 4 tokens 12" ]; then ok; else
  check_fail=$((check_fail + 1)); echo "FAIL: after kill -9: '$got', not 'sessions 2 nodes 4 tokens 12'"; fi
WS=$W1 start 80 24
see "after kill -9: every token is back" "output 11/11 tokens"
see "after kill -9: the prompt being edited is back" "Once upon a time long ago"
pid=$(app_pid)
"$BIN" tui -w "$W1" -m "$M" </dev/null >"$T/second.out" 2>&1; rc=$?
if [ $rc -ne 0 ] && [ $rc -lt 128 ]; then ok; else check_fail=$((check_fail + 1)); echo "FAIL: a second workbench on the workspace exited $rc"; fi
check "the second is refused naming the first's pid" grep -q "in use by another logitlab (pid $pid)" "$T/second.out"
check "and the workspace" grep -q "$W1" "$T/second.out"
check "in one line" test "$(wc -l <"$T/second.out")" -eq 1
key q
see "the first quits as usual" "EXITED 0"
mkdir -p "$T/ws-bad"
echo "not a database, just some text" >"$T/ws-bad/logitlab.db"
"$BIN" tui -w "$T/ws-bad" -m "$M" </dev/null >"$T/bad.out" 2>&1; rc=$?
if [ $rc -eq 1 ]; then ok; else check_fail=$((check_fail + 1)); echo "FAIL: a damaged logitlab.db: exit $rc, not 1"; fi
check "a damaged logitlab.db is named, with what to do" grep -q "not an SQLite database.*move it" "$T/bad.out"

# ---- docs/tui.md holds the key table that --keys prints ----
"$BIN" tui --keys >"$T/keys.md" 2>/dev/null
check "tui --keys prints the table" grep -q '| `s` | step: generate one token |' "$T/keys.md"
sed -n '/<!-- keys:begin -->/,/<!-- keys:end -->/p' "$ROOT/docs/tui.md" | sed '1d;$d' >"$T/doc_keys.md"
if cmp -s "$T/keys.md" "$T/doc_keys.md"; then ok; else
  check_fail=$((check_fail + 1)); echo "FAIL: docs/tui.md's key table differs from 'logitlab tui --keys' (regenerate it)"
  diff "$T/doc_keys.md" "$T/keys.md" | head -10
fi

check_done
