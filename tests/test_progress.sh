#!/bin/sh
# lab.progress: the live progress line of long Lua work (lua/lab_progress.c).
# On a terminal (a pty made by script(1), and tmux for what the screen
# shows) one stderr line rewritten in place, throttled, cleared by
# progress_done and kept below lab.print's output; JSON lines with
# progress_mode("json"); plain lines when asked; nothing on a pipe by
# default; bad arguments refused with a clear message; the workbench's
# status bar.
. "$(dirname "$0")/check.sh"
. "$(dirname "$0")/tui_lib.sh"
S=$T/s.lua
# check_out DESC FILE PATTERN: FILE has a line matching PATTERN (grep -E)
check_out() {
  if grep -Eq -- "$3" "$2"; then check_pass=$((check_pass + 1))
  else check_fail=$((check_fail + 1)); echo "FAIL: $1 (no '$3' in:)"; head -20 "$2" | sed 's/^/  | /'; fi
}
check_no() {
  if grep -Eq -- "$3" "$2"; then check_fail=$((check_fail + 1)); echo "FAIL: $1 ('$3' in:)"; head -20 "$2" | sed 's/^/  | /'
  else check_pass=$((check_pass + 1)); fi
}

# ---- a pipe: silent unless asked ----
cat >"$S" <<'EOF'
print("mode", lab.progress_mode())
for i = 1, 5 do lab.progress("step " .. i .. "/5") end
lab.progress_done("all 5 done")
EOF
"$BIN" run "$S" >"$T/out" 2>"$T/err"
check_out "auto on a pipe is off" "$T/out" "^mode	off	0(\.0)?$"
if [ ! -s "$T/err" ]; then ok; else bad "nothing on stderr when it is not a terminal"; cat "$T/err"; fi

# ---- JSON lines ----
cat >"$S" <<'EOF'
lab.progress_mode("json")
for i = 1, 3 do lab.progress("step " .. i, { i = i, n = 3 }) end
print("not progress")
lab.progress_done("done", { n = 3 })
EOF
"$BIN" run "$S" >"$T/out" 2>"$T/err"
check_out "json: one object per update" "$T/out" '^\{"i":1,"n":3,"text":"step 1","type":"progress"\}$'
check_out "json: the third update" "$T/out" '^\{"i":3,"n":3,"text":"step 3","type":"progress"\}$'
check_out "json: done" "$T/out" '^\{"n":3,"text":"done","type":"progress_done"\}$'
if [ "$(grep -c '"type":"progress' "$T/out")" -eq 4 ]; then ok; else bad "json: 3 updates and done, no more"; cat "$T/out"; fi
if [ ! -s "$T/err" ]; then ok; else bad "json: nothing on stderr"; cat "$T/err"; fi

# ---- plain lines, throttled by the interval ----
cat >"$S" <<'EOF'
print(lab.progress_mode("lines", { interval = 0 }))
lab.progress("first\nline")
lab.progress("second")
lab.progress_mode("lines", { interval = 3600 })
for i = 1, 50 do lab.progress("held " .. i) end
lab.progress_done("closing line")
EOF
"$BIN" run "$S" >"$T/out" 2>"$T/err"
check_out "lines: the mode in effect" "$T/out" "^lines	0(\.0)?$"
check_out "lines: control characters become spaces" "$T/err" "^first line$"
check_out "lines: every update with interval 0" "$T/err" "^second$"
if [ "$(grep -c '^held' "$T/err")" -eq 1 ] && grep -q '^held 1$' "$T/err"; then ok
else bad "lines: within the interval the updates are held back (and done drops them)"; cat "$T/err"; fi
check_out "lines: the closing line" "$T/err" "^closing line$"

# ---- errors ----
for c in 'lab.progress_mode("bogus")|unknown mode .bogus. \(auto, terminal, status, lines, json, off\)' \
         'lab.progress_mode("json", {intervl = 1})|unknown option .intervl. \(interval\)' \
         'lab.progress_mode("json", {interval = -1})|interval must be between 0 and 3600' \
         'lab.progress("x", {type = "y"})|field .type. is set by lab.progress itself' \
         'lab.progress_done("x", {text = "y"})|field .text. is set by lab.progress itself' \
         'lab.progress({})|bad argument #1' \
         'lab.progress_mode("json"); lab.progress("x", {f = function() end})|cannot encode a function'; do
  code=${c%%|*}; want=${c#*|}
  printf '%s\n' "$code" >"$S"
  "$BIN" run "$S" >"$T/out" 2>&1 && { bad "refused: $code (exit 0)"; continue; }
  check_out "refused: $code" "$T/out" "$want"
done

# ---- a terminal (a pty from script(1)): the raw bytes ----
cat >"$S" <<'EOF'
print("mode", lab.progress_mode())
for i = 1, 2000 do lab.progress("item " .. i .. "/2000") end
lab.sleep(0.3)                  -- the last update, held back, is shown by the host's tick
print("a result line")
lab.progress("after the result")
lab.sleep(0.15)
lab.progress("x " .. string.rep("w", 400))
lab.progress_done("finished 2000 items")
EOF
if command -v script >/dev/null 2>&1; then
  (cd "$T" && COLUMNS=60 script -q -e -c "stty cols 60; $BIN run $S" "$T/tty" >/dev/null 2>&1)
  tr '\r' '\n' <"$T/tty" >"$T/ttyl"
  check_out "terminal: auto is the terminal line" "$T/ttyl" "^mode	terminal	0\.1"
  check_out "terminal: the line is rewritten in place" "$T/tty" "$(printf '\r\033')\[Kitem 1/2000"
  n=$(grep -c 'item [0-9]*/2000' "$T/ttyl")
  if [ "$n" -ge 2 ] && [ "$n" -lt 200 ]; then ok; else bad "terminal: 2000 updates throttled to a few lines (drew $n)"; fi
  check_out "terminal: the last update is shown after the interval" "$T/ttyl" "\[Kitem 2000/2000"
  # lab.print clears the line first and draws it again after
  check_out "terminal: print clears the line" "$T/ttyl" "^$(printf '\033')\[Ka result line"
  check_out "terminal: cut to the width with …" "$T/ttyl" "\[Kx w{56}…"
  check_no "terminal: nothing wider than the terminal" "$T/ttyl" "w{58}"
  check_out "terminal: done clears it and prints the closing line" "$T/ttyl" "\[Kfinished 2000 items"
else
  echo "skip: no script(1)"
fi

# ---- a terminal (tmux): what stays on the screen ----
cat >"$S" <<'EOF'
print("before")
for i = 1, 6 do lab.progress("working on " .. i .. " of 6"); lab.sleep(0.15) end
print("middle")
lab.progress("still going")
lab.sleep(0.3)
lab.progress_done("all six done")
print("after")
lab.progress("left over")
lab.sleep(0.2)
EOF
N=$((N + 1))
tm new-session -d -x 80 -y 20 -c "$T" "env LANG=C.UTF-8 TERM=xterm-256color $BIN run $S; echo EXITED \$?; sleep 600"
see "tmux: a progress line while it runs" "working on"
see "tmux: it ends" "EXITED 0" 20
screen | grep -v '^$' >"$T/scr"
if [ "$(grep -c 'working on\|still going' "$T/scr")" -eq 0 ]; then ok; else bad "tmux: no progress line is left on the screen"; fi
if [ "$(sed -n 1p "$T/scr")" = before ] && [ "$(sed -n 2p "$T/scr")" = middle ] && [ "$(sed -n 3p "$T/scr")" = "all six done" ] \
   && [ "$(sed -n 4p "$T/scr")" = after ] && [ "$(sed -n 5p "$T/scr")" = "EXITED 0" ]; then ok
else bad "tmux: the screen holds only the printed lines, one progress line overwritten"; cat "$T/scr"; fi

# ---- the workbench: the status bar ----
start 160 30 -- -p "'Once'"
see "workbench: started" "stories260K"
key :; keys 'lua print("mode=" .. lab.progress_mode()); lab.progress("half way, 5 of 10")' Enter
see "workbench: auto is the status bar" "mode=status"
see "workbench: the status bar shows the line" "script: half way, 5 of 10"
key :; keys 'lua lab.progress_done("ten of ten")' Enter
see "workbench: the closing line goes to the console" "ten of ten"
not_see "workbench: done clears the status bar" "script: half way"
key :; keys "q!" Enter
see "workbench: quits" "EXITED 0"
check_done
