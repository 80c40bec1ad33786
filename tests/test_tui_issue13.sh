#!/bin/sh
# The workbench defects of issue 13, each driven in a real terminal (tmux):
# the status bar's fields never overwrite each other (long messages, long
# plugin items); tab numbers leave the slot's title readable at 80x24;
# keys 7-9 focus plugin panes; :step checks its number; :save writes into
# the workspace; the console waits for the rest of `1 +`; plugins are found
# beside the program whatever the current folder; `logitlab -m MODEL`
# opens the workbench; a read-only workspace is named with what to do; a
# full disk shows "save failed", keeps the unsaved mark and makes quit ask.
. "$(dirname "$0")/check.sh"
. "$(dirname "$0")/tui_lib.sh"
if [ ! -x "$BIN" ]; then echo "FAIL: no binary at $BIN"; echo "# passed 0 failed 1"; exit 1; fi
if ! command -v tmux >/dev/null 2>&1; then echo "FAIL: tmux is not installed"; echo "# passed 0 failed 1"; exit 1; fi
MOUNTS=""
cleanup13() {
  for m in $MOUNTS; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
  cleanup
}
trap cleanup13 EXIT
status_line() { screen | tail -1; }
# bar_leads DESC: the status bar starts with the model's name. Waited for by
# the clock (10 s): a capture can fall between the panes' drawing and the
# bar's on a loaded machine; a bar that never shows it still fails.
bar_leads() {
  n=0
  while [ $n -lt 200 ]; do
    case "$(status_line)" in " stories260K"*) ok; return ;; esac
    sleep 0.05; n=$((n + 1))
  done
  bad "$1 (bar: '$(status_line)')"
}
# the statistics are whole or absent, never cut by something drawn over them
stats_whole() {
  l=$(status_line)
  case "$l" in *"cpu 1t"*) case "$l" in *MiB*|*KiB*|*GiB*) ok ;; *) bad "$1 (statistics cut: '$l')" ;; esac ;; *) ok ;; esac
}

# ---- the status bar at 80 columns: a long message, a long plugin item ----
mkdir -p "$T/plug13"
cat >"$T/plug13/long.lua" <<'LUA'
return { name = "long", api_level = 1, description = "a long status item",
  on_load = function()
    lab.ui.status_add("long", function() return "plugin-item " .. string.rep("x", 120) end)
  end }
LUA
start 80 24 -- --plugins "$T/plug13" -p "'Once upon a time'"
see "started with a long plugin item" "1 prompt"
# the start-up message goes first; then the bar holds the plugin item
see "the plugin item is cut with an ellipsis" "plugin-item xxx"
bar_leads "the model name leads the bar despite the plugin item"
stats_whole "a long plugin item leaves the statistics whole"
case "$(status_line)" in *"…"*) ok ;; *) bad "no ellipsis on the cut item";; esac
key :; keys "set temp abcdefghijklmnopqrstuvwxyz-a-long-value-that-makes-a-long-message" Enter
see "a long error message is shown" "not a number"
bar_leads "a long message leaves the model name leading the bar"
stats_whole "a long message leaves the statistics whole"

# ---- 80x24 with plugin panes: tab numbers beside the slot's title, keys 7-9 ----
start 80 24 -- --plugins "$ROOT/plugins" -p "'Once upon a time'"
see "started with the bundled plugins" "1 prompt"
see "the slot shows the inspector" "3 inspector"
see_re "the inspector's title is not overwritten by the tabs" '─ 3 inspector raw ─|─ 3 insp[a-z ]*… ─'
see_re "the slot keeps its title whole, '+N' beside it" '─ 4 tree 0 nodes ─+ \+[0-9]+ ─'
key 7
if wait_for "─ 7 " 3; then ok; else bad "key 7 focuses plugin pane 7"; fi
key 8
if wait_for "─ 8 " 3; then ok; else bad "key 8 focuses plugin pane 8"; fi
tm resize-window -t 0 -x 60 -y 20; sleep 0.3
key 3
see_re "60x20: the inspector's title is not overwritten" '─ 3 inspector raw ─|─ 3 insp[a-z ]*… ─'
tm resize-window -t 0 -x 200 -y 50; sleep 0.3
see_re "200x50: the strip names the slot's panes (so many: on its bottom border)" '╰─4tr─6sa─7ag─8ar─9be─10cd─'
tm resize-window -t 0 -x 80 -y 24; sleep 0.3
key 4
line=$(screen | grep -nE ' \+[0-9]+ ─' | head -1)
col=$(( $(printf '%s' "${line#*:}" | sed 's/ +[0-9][0-9]* ─.*//' | LC_ALL=C.UTF-8 wc -m) + 2 ))
click "$col" "${line%%:*}"
see "a click on '+N' shows the next pane of the slot" "6 sampler"

# ---- :step checks N; :save writes into the workspace; the console continues `1 +` ----
key 2
key :; keys "step abc" Enter
see ":step abc is refused" "step: N is a whole number"
see "and steps nothing" "─ 2 output ──"
key :; keys "step 2" Enter
see ":step 2 steps twice" "output 7/7 tokens"
key :; keys "save tree13.json" Enter
see ":save reports where" "saved"
check ":save FILE goes into the workspace" test -f "$T/ws-$N/tree13.json"
check "and not into the current folder" test ! -f "$T/tree13.json"
key :; keys "se"; key Tab
see "Tab's matches are shown while typing a command" "set sessions session"
case "$(status_line)" in :se*) ok ;; *) bad "the command line stays on the bottom row";; esac
key Escape
not_see "and go with the command line" "set sessions session"
key 5; key z; key i
keys "1 +" Enter; sleep 0.2
keys "41" Enter
see "the console waits for the rest of '1 +'" "42"
if screen | grep -q "unexpected symbol"; then bad "'1 +' is an error"; else ok; fi
key Escape; key z
key :; keys "q!" Enter
see "quits" "EXITED 0"

# ---- a click on a tree node does not leave the workbench "stepping" ----
W13=$T/ws-click
WS=$W13 start 100 30 -- --no-lua -p "'Once upon a time'"
see "click: started" "1 prompt"
key :; keys "set n 40" Enter
key g
see "click: a run" "output 45/45 tokens" 20
key 2; key Left; key Left; key Left; key R
see "click: a second branch" "tree 4 nodes" 20
# the branch's run ends before the quit (under load 'q' came while it ran,
# and the workspace kept a shorter #3 than the 81 tokens checked below)
if wait_gone "generating" 30; then ok; else bad "click: the second branch's run ends"; fi
key q
see "click: saved and quit" "EXITED 0"
WS=$W13 start 100 30 -- --no-lua
see "click: reopened (stored tokens, re-evaluated when selected)" "tree 4 nodes"
# row_of TEXT: TEXT's screen row once the layout has settled (the first
# refresh of the reopened path ended and two looks 0.3 s apart agree: under
# load the tree pane still moved after a fixed sleep, and the click hit the
# row above)
row_of() {
  wait_gone "stepping" 20
  a=; n=0
  while [ $n -lt 30 ]; do
    b=$(screen | grep -n -- "$1" | head -1 | cut -d: -f1)
    if [ -n "$b" ] && [ "$b" = "$a" ]; then break; fi
    a=$b; sleep 0.3; n=$((n + 1))
  done
  echo "$b"
}
click 75 "$(row_of '#3 ')"
see "click: the clicked node is selected" "output 81/81 tokens" 20
not_see "click: the re-evaluation ends without a key" "stepping"
click 75 "$(row_of '#2 ')"
see "click: another node" "output 45/45 tokens" 20
not_see "click: and no 'stepping' left" "stepping"
key q
see "click: quits" "EXITED 0"

# ---- first keys: a first open with an empty prompt types into the prompt ----
start 80 24 -- --no-lua
see "first open: the prompt is being edited" "prompt editing"
keys "The dragon said"; sleep 0.3
see "typing goes into the prompt" "The dragon said"
if screen | grep -qE "generating|output [0-9]+/"; then bad "typing triggered commands"; else ok; fi
key Escape
not_see "Esc leaves the prompt" "prompt editing"
key s
see "then keys act: s steps from the typed prompt" "output 9/9 tokens"
key q
see "q quits" "EXITED 0"
start 80 24 -- --no-lua -p "'Once'"
see "with -p: started" "1 prompt"
if screen | grep -q "prompt editing"; then bad "with -p the prompt is not opened for editing"; else ok; fi
key q
see "with -p: q quits at once" "EXITED 0"

# ---- node ids are the same after a reopen (labels, :label #ID, :delete #ID) ----
W15=$T/ws-ids
WS=$W15 start 100 30 -- --no-lua -p "'Once upon a time'"
see "ids: started" "1 prompt"
key :; keys "set temp 0" Enter
key s; key s; key s
key 3; key Down; key Enter
see "ids: a branch (a split and a pick)" "tree 4 nodes"
key :; keys "delete #2" Enter
see "ids: a node deleted" "tree 3 nodes"
key :; keys "label #3 picked" Enter
see "ids: labelled" "[picked]"
rows() { screen | grep -oE '#[0-9]+ [^│]*\([0-9]+\)' | sort; }
before=$(rows)
key q
see "ids: quits" "EXITED 0"
WS=$W15 start 100 30 -- --no-lua
see "ids: reopened" "tree 3 nodes"
# the tree pane may still be drawing (the model loads after the session is
# read, slowly under ASAN on a loaded machine): wait for the rows to settle
after=$(rows); n=0
while [ "$after" != "$before" ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); after=$(rows); done
if [ -n "$before" ] && [ "$before" = "$after" ]; then ok; else bad "ids: the tree's #IDs changed on reopen: '$before' -> '$after'"; fi
key :; keys "label #3 again" Enter
see "ids: :label #ID names the same node after a reopen" "[again]"
key :; keys "set temp 0.5" Enter
key 2; key s
see "ids: a new node" "tree 4 nodes"
if screen | grep -qF '#2 '; then bad "ids: the deleted node's id was given again"; else ok; fi
see "ids: the new node gets the next id" "#4 "
key q
see "ids: quits again" "EXITED 0"

# ---- plugins beside the program, from another folder ----
mkdir -p "$T/elsewhere"
start 80 24 -- -p "'Once upon a time'"
see "started in a folder without plugins/" "1 prompt"
key :; keys "next Once upon" Enter
see "the bundled example plugin's command is there" "next after"
key :; keys "q!" Enter
see "quits" "EXITED 0"

# ---- `logitlab -m MODEL` (options, no command) opens the workbench ----
TUICMD= start 80 24 -- -p "'Once upon a time'"
see "logitlab -m MODEL opens the workbench" "1 prompt"
see "on that model" "stories260K"
key :; keys "q!" Enter
see "quits" "EXITED 0"

# ---- a read-only workspace: named, with what to do ----
"$BIN" runs -w "$T/ro" >/dev/null 2>&1
mkdir -p "$T/ro"
"$BIN" tui -w "$T/ro" -m "$M" --no-lua </dev/null >/dev/null 2>&1   # creates it (no terminal: fails after)
ROWS="$T/ro"
if [ "$(id -u)" = 0 ] && mkdir -p "$T/ro-mnt" && mount --bind "$T/ro" "$T/ro-mnt" 2>/dev/null; then
  MOUNTS="$T/ro-mnt $MOUNTS"
  mount -o remount,ro,bind "$T/ro-mnt" 2>/dev/null
  ROWS="$T/ro-mnt"
else
  chmod -R a-w "$T/ro"
fi
"$BIN" tui -w "$ROWS" -m "$M" </dev/null >"$T/ro.out" 2>&1; rc=$?
if [ $rc -ne 0 ] && [ $rc -lt 128 ]; then ok; else bad "a read-only workspace: exit $rc"; fi
check "a read-only workspace is named as not writable" grep -q "the workspace is not writable" "$T/ro.out"
check "with what to do" grep -q "give a writable folder with -w DIR" "$T/ro.out"
chmod -R u+w "$T/ro" 2>/dev/null

# ---- a full disk: "save failed", the unsaved mark stays, quit asks ----
# A small tmpfs where mounting is allowed; else a file size limit (writes
# past it fail with EFBIG, SIGXFSZ ignored), lifted later with prlimit.
FULL=""
if [ "$(id -u)" = 0 ] && [ -z "$T13_NO_MOUNT" ] && mkdir -p "$T/full" && mount -t tmpfs -o size=320k tmpfs "$T/full" 2>/dev/null; then
  MOUNTS="$T/full $MOUNTS"; FULL=tmpfs
fi
if [ "$FULL" = tmpfs ]; then
  WS=$T/full/ws start 100 30 -- -c 4096 -p "'Once upon a time'"
else
  PRE="ulimit -S -f 640; trap '' XFSZ;" start 100 30 -- -c 4096 -p "'Once upon a time'"
fi
see "disk full: started" "1 prompt"
key :; keys "set n 4000" Enter
key :; keys "set eos off" Enter
key g
see "a failed save is shown in the bar" "save failed" 40
see "and in the console" "workspace:"
case "$(status_line)" in *"stories260K* "*) ok ;; *) bad "the unsaved mark stays";; esac
key Escape
key q
see "quit asks" "Quit anyway?" 10
key n
not_see "n keeps the workbench" "Quit anyway?"
if [ "$FULL" = tmpfs ]; then mount -o remount,size=8m "$T/full"; else prlimit --pid "$(app_pid)" --fsize=unlimited; fi
not_see "once there is room the save succeeds" "save failed" 40
if wait_gone "stories260K*" 10; then ok; else bad "the unsaved mark clears once saved"; fi
shown=$(screen | grep -oE 'output [0-9]+/' | head -1 | tr -dc 0-9)
key q
see "and q quits at once" "EXITED 0"
HELPER=${BUILD:+$BUILD/tests/test_tui_store}
[ -x "$HELPER" ] || HELPER=$(dirname "$BIN")/tests/test_tui_store
WSF=$T/ws-$N; [ "$FULL" = tmpfs ] && WSF=$T/full/ws
got=$("$HELPER" --check "$WSF" 2>&1)
case "$got" in "sessions 1 nodes 2 tokens $shown") ok ;; *) bad "every token is on disk after the disk had room again: '$got'";; esac

check_done
