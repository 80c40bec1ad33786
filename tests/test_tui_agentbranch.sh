#!/bin/sh
# issue 19 in the workbench, driven in a real terminal (tmux): a model
# member's turn opened in the loom (`o`), another token picked inside it
# with the loom's own machinery (the inspector), then `b` in the agents
# pane reruns the workflow from that turn live (plugins/lib/agentbranch.lua);
# `v` switches between the branch and its parent, the messages that differ
# marked; :agents-branch TEXT replaces the turn by text; the branches are
# recorded linked to their parent. A model turn under way shows token by
# token.
. "$(dirname "$0")/check.sh"
. "$(dirname "$0")/tui_lib.sh"
W=$T/agents-ws
mkdir -p "$W"
cp "$ROOT"/docs/examples/agents_calc.json "$ROOT"/docs/examples/agents_calc.lua "$W/"
cp "$M" "$W/"
# the same with a turn of 400 tokens: long enough to be seen while it runs
sed 's/"max_tokens": 16/"max_tokens": 400/; s/"tokens": 200/"tokens": 1000/' "$W/agents_calc.json" >"$W/live.json"
WS=$W start 200 50 -- --plugins "$ROOT/plugins" -p "'Once upon a time'"
see "started with the plugins" "stories260K"
key :; keys "agents workflow=agents_calc.json lib=agents_calc.lua Once upon a time" Enter
key 7
see "the agents pane shows" "─ 7 agents ─"
see "the run ends" "ok: answered (3 turns"
# the teller's turn (#4) in the loom; the cursor 3 tokens back, the inspector's second alternative
key G; key k; key o
see "o opens the turn in the loom" "turn #4 of teller opened in the loom (its prompt and answer)"
see "the loom shows the turn" '"Hell," said Annabyed.'
key Left; key Left; key Left
key 3; key Down; key Enter
see "the loom branches inside the turn" "branched at position 67 with 'le' (token 305)"
# b: the workflow again from that turn, its replay up to it
key 7; key b
see "b reruns the workflow from the branched turn" "agents: branch of run 1 at #4 (teller's turn 1), run 2" 20
see "the parent and where they differ" "v: agents_calc.json, run 1 | ≠ from #4 on"
see "the branched turn goes on from the picked token, marked" '>≠│ teller (agent) -> boss: "Hell," said Annable'
see "what follows it is new" ' ≠boss (main supervisor) -> user: "Hell," said Annable'
see "the replayed messages are not marked" "  │ boss (main supervisor) -> teller: Once upon a time"
# v: the parent, the same marks; v: the branch again
key v
see "v shows the parent" "agents: agents_calc.json, run 1"
see "v: the parent names its branch" "v: branch of run 1 at #4"
see "the parent's turn, marked" '>≠│ teller (agent) -> boss: "Hell," said Annabyed.'
key v
see "v: the branch again" "agents: branch of run 1 at #4"
key v
# e: how to edit; :agents-branch TEXT replaces the turn of the parent (selected: #4)
key e
see "e says how to edit the turn" "edit #4: :agents-branch TEXT replaces the turn"
key :; keys "agents-branch A dog." Enter
see "the edited turn" "│ teller (agent) -> boss: A dog.  [" 20
see "a second branch of run 1" "agents: branch of run 1 at #4 (teller's turn 1), run 3"
see "the answer follows the edited turn" "≠boss (main supervisor) -> user: A dog."
# a message that is no turn: said in the pane, the plugin stays on
key g
key :; keys "agents-branch x" Enter
see "a refusal in the pane" "agents-branch: #1: message 1 is the user's (user -> boss), not a member's turn"
key j
see "the plugin still answers keys" "> boss (main supervisor) -> teller: {"
# a model turn shows token by token while it runs, then as its message
# (the turn lasts ~0.1 s alone: see_live steps the workbench from the Enter
# on, so that a loaded machine cannot hide it)
key :; keys "agents workflow=live.json lib=agents_calc.lua Once upon a time"
see_live "a model turn under way shows its text so far" '│ teller (agent) ▸ "Hell," said Annabyed.' 20 Enter
see "the long run ends" "ok: answered (3 turns, 400 tokens" 60
not_see "no turn left under way" "▸"
key :; keys "q!" Enter
see "quits" "EXITED 0"
"$BIN" export -w "$W" --run 2 >"$T/x2" 2>&1
check "export: the branch names its parent and the branched turn" sh -c "grep '\"type\":\"run\"' '$T/x2' | grep -q '\"branch\":{\"member\":\"teller\",\"message\":4,\"mode\":\"prefix\",.*\"parent\":1'"
check "export: the branch's result says where it differs" sh -c "grep '\"kind\":\"agents_result\"' '$T/x2' | grep -q '\"diverge\":4'"
check "export: the parent keeps its 5 messages" test "$("$BIN" export -w "$W" --run 1 | grep -c '"kind":"message"')" -eq 5
check_done
