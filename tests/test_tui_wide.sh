#!/bin/sh
# Wide characters in the workbench, driven in a real terminal (tmux, as
# tests/test_tui.sh does): zh-poem-750K writes double-width Chinese text.
# With <unk> banned through the sampler's bias (:set bias 0=-inf) and greedy
# decoding it writes the poem `logitlab gen --bias 0=-inf` writes; the output
# pane wraps it at characters (Chinese has no spaces) and fills each row; the
# console wraps a long Chinese line without losing its last row; the prompt
# editor wraps and deletes whole characters; every screen line is exactly the
# terminal's width in display columns (no half character, no shifted border).
# Needs tmux and python3 (CI installs both).
. "$(dirname "$0")/check.sh"
case "$LOGITLAB" in /*) BIN=$LOGITLAB ;; *) BIN=$(pwd)/$LOGITLAB ;; esac
SH=$(cd "$SHARED" 2>/dev/null && pwd)
M=$SH/models/real/zh-poem-750K.bin
T=$(mktemp -d "${TMPDIR:-/tmp}/logitlab-tuiw.XXXXXX")
SOCK=logitlab-wide-$$
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
trap 'tm kill-server >/dev/null 2>&1; rm -rf "$T"' EXIT
if [ ! -x "$BIN" ]; then echo "FAIL: no binary at $BIN"; echo "# passed 0 failed 1"; exit 1; fi
if ! command -v tmux >/dev/null 2>&1; then echo "FAIL: tmux is not installed"; echo "# passed 0 failed 1"; exit 1; fi
W=71; H=30
tm new-session -d -x $W -y $H -c "$T" \
  "env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color LOGITLAB_SHARED=$SH $BIN tui -w $T/ws -m $M -t 1 -p '主题：月 体裁：五律'; echo EXITED \$?; sleep 600"
screen() { tm capture-pane -p -t 0 2>/dev/null; }
key() { tm send-keys -t 0 "$@"; sleep 0.15; }
wait_for() {
  n=0; lim=$(( ${2:-10} * 20 ))
  while [ $n -lt $lim ]; do
    if screen | grep -qE -- "$1"; then return 0; fi
    sleep 0.05; n=$((n + 1))
  done
  return 1
}
ok() { check_pass=$((check_pass + 1)); }
bad() { check_fail=$((check_fail + 1)); echo "FAIL: $1"; screen | sed 's/^/  | /'; }
see() { if wait_for "$2" "${3:-10}"; then ok; else bad "$1 (no '$2')"; fi; }
# every boxed line exactly W display columns wide, none wider (East Asian
# Wide/Fullwidth count 2; tmux trims trailing spaces, so the status line may be shorter)
widths() {
  screen >"$T/screen"
  if python3 -c 'import sys, unicodedata
w = int(sys.argv[2]); bad = []
for i, l in enumerate(open(sys.argv[1], encoding="utf-8").read().split("\n")[:int(sys.argv[3])]):
    n = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in l)
    boxed = l[-1:] in "│╮╯"
    if (boxed and n != w) or n > w: bad.append((i, n, l))
assert not bad, bad' "$T/screen" $W $H 2>"$T/pyerr"; then ok; else bad "$1: a line is not $W columns wide: $(tail -1 "$T/pyerr")"; fi
}

see "the workbench opens zh-poem" "zh-poem-750K" 20
key ':set bias 0=-inf' Enter
see "the bias is set" "bias = 0=-inf"
key ':set temp 0' Enter
key g
# the output pane is 39 columns inside: 19 wide characters fill a row, the 20th starts the next
see "the poem, wrapped at characters (a full row)" "│白日无人事，青云独不违。青山无处去，白 │"
see "its next row" "│首独何长。</s> +│"
if screen | grep '白日无人事' | grep -q 'unk'; then bad "<unk> in the poem"; else ok; fi
see "the tree shows the branch, cut with an ellipsis" "#1 ↵白日无人事"
widths "after generating"
# the console: 58 wide characters take four rows of 19 (the last holds one)
key 5
key i
key 'print(string.rep("月光照", 19) .. "月")' Enter
see "the console's first row of the long line" "│月光照月光照月光照月光照月光照月光照月 │"
see "the console keeps the line's last row" "│月 +│"
widths "after the console line"
key Escape
# the prompt editor: a long line wraps by display width; Backspace removes a whole character
key 1
key i
key C-e '明月照高楼流光正徘徊上有愁思妇悲叹有余哀借问叹者谁言是宕子妻'
see "the prompt wraps at 19 characters" "│上有愁思妇悲叹有余哀借问叹者谁言是宕子 │"
key Left Left Left BSpace
see "Backspace removed one wide character" "│上有愁思妇悲叹有余哀借问叹者谁言宕子妻 │"
widths "while editing the prompt"
key Escape
# a word of Chinese text is one character: the row fills up before a space-less run wraps
key ':prompt 一二三四五六七八九十一二三四五 春眠不觉晓处处' Enter
key s
see "Chinese after a space fills the row" "│<s> 一二三四五六七八九十一二三四五 春眠│"
see "and goes on on the next" "│不觉晓处处"
# narrower: the inspector's columns still line up
tm resize-window -t 0 -x 60 -y 30 >/dev/null 2>&1
W=60
sleep 0.5
see "the inspector lists wide tokens" "●  1 '，'"
widths "at 60 columns"
check_done
