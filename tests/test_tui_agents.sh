#!/bin/sh
# issue 19 in the workbench, driven in a real terminal (tmux): `:agents`
# runs a workflow into the agents pane (messages coloured by role,
# delegation drawn as a tree); `o` on a model member's turn opens its
# prompt and answer in the loom; `:architect` runs the architect loop on the
# worked example of docs/agents.md and the architect pane shows each
# iteration's accuracy and the diff of system messages.
. "$(dirname "$0")/check.sh"
. "$(dirname "$0")/tui_lib.sh"
W=$T/agents-ws
mkdir -p "$W"
cp "$ROOT"/docs/examples/agents_calc.json "$ROOT"/docs/examples/agents_calc.lua "$ROOT"/docs/examples/architect_* "$W/"
cp "$M" "$W/"
# focus_pane NAME: Tab until the plugin pane NAME shows (Tab focuses the
# pane it shows), at most 16 times
focus_pane() {
  n=0
  while [ $n -lt 16 ] && ! screen | grep -q -- "─ [0-9]* $1 ─"; do key Tab; n=$((n + 1)); done
}
WS=$W start 200 50 -- --plugins "$ROOT/plugins" -p "'Once upon a time'"
see "started with the plugins" "stories260K"
key :; keys "agents workflow=agents_calc.json lib=agents_calc.lua Once upon a time" Enter
focus_pane agents
see "the agents pane shows the run" "agents: agents_calc.json, run 1"
see "the run ends" "ok: answered (3 turns"
see "the delegation drawn as a tree" "│ teller (agent) -> boss:"
see "a model turn shows its tokens" "[16 tok, lp"
# colours: the user's line and an agent's line are drawn in different styles
tm capture-pane -e -p -t 0 >"$T/esc" 2>/dev/null
u=$(grep -F 'user (user) -> boss' "$T/esc" | head -1 | sed 's/user (user).*//' | tail -c 24)
a=$(grep -F 'teller (agent) -> boss' "$T/esc" | head -1 | sed 's/│ teller (agent).*//' | tail -c 24)
if [ -n "$u" ] && [ -n "$a" ] && [ "$u" != "$a" ]; then ok; else bad "messages coloured by role (user '$u', agent '$a')"; fi
# a message that is no model turn has no tokens to inspect
key g; key o
see "a message is not a model turn" "#1 is not a model's turn"
# End: the last line (boss -> user); k: the teller's turn; o: the loom
key G; key k; key o
see "o opens the turn in the loom" "turn #4 of teller opened in the loom (its prompt and answer)"
see "the output pane holds its prompt" "### System:"
# the architect loop, live, then its iterations and the diff
key :; keys "architect --task-file architect_task.txt --examples architect_sums.jsonl --roles architect_roles.lua --subset 6 --seed 2" Enter
focus_pane architect
see "the architect pane shows the run" "stopped: target" 20
see "the draft's accuracy" "1 draft    0.167"
see "the refinement's accuracy" "2 from 1   1.000 ██████████  6/6  kept, best"
see "the feedback" "calc: add 'use the add tool'"
see "the diff of system messages" "+ - use the add tool"
key k
see "the draft's system messages" "system messages of the draft:"
key t
see "t picks the draft's first example" "example 1/6 (#3, wrong) in the agents pane"
focus_pane agents
see "t shows an example's transcript in the agents pane" "calc (agent) -> boss: 7"
# a mistaken option: one console line saying where the usage is
key :; keys "architect --bogus" Enter
key 5
see "an unknown option is one line" "architect: unknown option '--bogus' (:architect --help)" 5
if screen | grep -qF -- "--task-file T"; then bad "the usage is not dumped into the console"; else ok; fi
key :; keys "q!" Enter
see "quits" "EXITED 0"
check_done
