#!/bin/sh
# Issue 13 item 16 in a real terminal (tmux): branches are reproducible.
# Every generated node records its generator state; :replay draws a node
# again as a sibling and says whether the tokens are the same (they are);
# after quitting and reopening the workspace a replay still matches;
# stepping N times shows the text a free run of N tokens shows (two fresh
# workspaces, the same settings). tests/test_session.c checks the same at
# the C level, bit for bit, with split tails and picked branches.
. "$(dirname "$0")/check.sh"
. "$(dirname "$0")/tui_lib.sh"
# the output pane's text (the lines inside its frame)
output_text() { screen | sed -n '/─ 2 output/,/╰/p' | sed '1d;$d' | sed 's/^│//; s/│.*//; s/ *$//' | grep -v '^$'; }

# ---- a run, replayed twice; a reopen; a replay of the reopened node ----
WSR=$T/ws-replay
WS=$WSR start 160 30 -- --no-lua -p "'Once upon a time'"
see "opens on the model" "stories260K"
key :; keys "set n 30" Enter
key :; keys "set temp 1.2" Enter
key g
see "a run of 30 tokens" "output 35/35 tokens" 20
key :; keys "replay" Enter
see "the replay reproduces the run" "replayed #1 as #2: the same 30 tokens" 20
key :; keys "replay #1" Enter
see "again" "replayed #1 as #3: the same 30 tokens" 20
key :; keys "replay #0" Enter
see "a prompt has nothing to replay" "#0 is a prompt"
key :; keys "replay #1 #2" Enter
see "one node at a time" "replay [#ID]: one node"
key q
see "quits" "EXITED 0"
WS=$WSR start 160 30 -- --no-lua
see "reopened" "tree 4 nodes"
key :; keys "replay #1" Enter
see "after a reopen the replay still matches" "replayed #1 as #4: the same 30 tokens" 20

# ---- stepping 12 times shows what a free run of 12 shows ----
WS=$T/ws-step start 160 30 -- --no-lua -p "'Once upon a time'"
see "opens (steps)" "stories260K"
key :; keys "set temp 1.2" Enter
i=0; while [ $i -lt 12 ]; do key s; i=$((i + 1)); done
see "12 steps" "output 17/17 tokens" 20
stepped=$(output_text)
WS=$T/ws-run start 160 30 -- --no-lua -p "'Once upon a time'"
see "opens (run)" "stories260K"
key :; keys "set temp 1.2" Enter
key :; keys "set n 12" Enter
key g
see "a run of 12" "output 17/17 tokens" 20
ran=$(output_text)
if [ -n "$ran" ] && [ "$stepped" = "$ran" ]; then ok; else bad "12 steps show '$stepped', a run of 12 shows '$ran'"; fi
check_done
