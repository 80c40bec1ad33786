#!/bin/sh
# Which keys a plugin pane receives (docs/lua-api.md, lab.ui.pane_add),
# in a real terminal (tmux): every key while it has focus, Home and End
# included (tmux sends them as "\e[1~" and "\e[4~", which xterm's
# terminfo does not name), except the keys the workbench keeps in every
# plugin pane: Tab, S-Tab, 1-9, ':' and Ctrl-C, so that a pane that takes
# everything cannot trap the user. An escape sequence the terminal
# description does not know is dropped whole (its digits were taken for
# focus keys). And a plugin pane gets as many rows as the screen shows:
# its last line is on the screen.
. "$(dirname "$0")/check.sh"
. "$(dirname "$0")/tui_lib.sh"
P=$T/plugkeys
mkdir -p "$P"
# a greedy pane: it says it handled every key, and shows what it got; it
# fills its height with numbered lines so that the last one can be seen
cat >"$P/greedy.lua" <<'LUA'
local got = {}
return { name = "greedy", api_level = 1, description = "a pane that takes every key",
  on_load = function()
    lab.ui.pane_add("greedy", {
      on_draw = function(w, h)
        local out = { "got: " .. table.concat(got, " ") }
        for i = 2, h do out[i] = "row " .. i .. " of " .. h end
        return out
      end,
      on_key = function(k) got[#got + 1] = k; return "redraw" end,
    })
  end }
LUA
start 120 40 -- --plugins "$P" -p "'Once upon a time'"
see "started with the greedy plugin" "1 prompt"
key 7
see "7 focuses plugin pane 7" "─ 7 greedy ─"
key x; key j
see "the pane gets plain keys" "got: x j"
key Home; key End
see "Home and End reach the pane (tmux sends \\e[1~ and \\e[4~)" "got: x j Home End"
key PageUp; key Left
see "PageUp, arrows" "got: x j Home End PageUp Left"
tm send-keys -t 0 -l "$(printf '\033[9;3~')"; sleep 0.3
key y
see "an unknown escape sequence is dropped whole" "got: x j Home End PageUp Left y"
if screen | grep -q "no pane 9"; then bad "the sequence's digit was taken for a focus key"; else ok; fi
# the pane's last row is on the screen: the slot's inside is h rows
n=$(screen | grep -c "row [0-9]* of [0-9]*")
h=$(screen | sed -n 's/.*row [0-9]* of \([0-9]*\).*/\1/p' | head -1)
last=$(screen | grep -o "row $h of $h" | head -1)
if [ -n "$h" ] && [ "$n" -eq $((h - 1)) ] && [ "$last" = "row $h of $h" ]; then ok
else bad "the pane's rows fit the screen (h=$h, rows shown $n, last '$last')"; fi
# the keys the workbench keeps: 2 focuses the output, Tab moves on, : opens the command line
key 2
key z
key 7
see "back in the pane" "─ 7 greedy ─"
if screen | grep -q "got: x j Home End PageUp Left y z"; then bad "a key pressed in the output pane reached the plugin"; else ok; fi
key Tab
key w
key 7
if screen | grep -q "got: .* Tab\|got: .* w"; then bad "Tab is the workbench's (and w went to the next pane)"; else ok; fi
key 3; key 7
if screen | grep -q "got: .*3"; then bad "3 is the workbench's"; else ok; fi
key :; keys "q!" Enter
see "':' opens the command line from the greedy pane" "EXITED 0"

# the narrow layout: the pane below the output, its last row shown too
start 60 30 -- --plugins "$P" -p "'Once upon a time'"
see "narrow: started" "1 prompt"
key 7
see "narrow: 7 focuses the pane" "─ 7 greedy"
h=$(screen | sed -n 's/.*row [0-9]* of \([0-9]*\).*/\1/p' | head -1)
if [ -n "$h" ] && screen | grep -q "row $h of $h"; then ok; else bad "narrow: the pane's last row is on the screen (h=$h)"; fi
key :; keys "q!" Enter
see "narrow: quits" "EXITED 0"
check_done
