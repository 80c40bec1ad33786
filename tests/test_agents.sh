#!/bin/sh
# issue 19: `logitlab run plugins/agents.lua` on the worked example of
# docs/agents.md (docs/examples/agents_calc.*: scripted members, a tool and
# stories260K), its records in the workspace, budgets and malformed
# workflows. The library itself is tested by tests/lua/test_agents.lua.
. "$(dirname "$0")/check.sh"
R=$(cd "$(dirname "$0")/.." && pwd)
case "$LOGITLAB" in /*) ;; *) LOGITLAB=$(pwd)/$LOGITLAB ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/logitlab-agents.XXXXXX")
trap 'rm -rf "$T"' EXIT
if [ ! -x "$LOGITLAB" ]; then echo "FAIL: no binary at $LOGITLAB"; echo "# passed 0 failed 1"; exit 1; fi
W=$T/ws
mkdir -p "$W"
cp "$R"/docs/examples/agents_calc.json "$R"/docs/examples/agents_calc.lua "$R"/docs/examples/agents_pair.json "$W/"
cp "$SHARED/models/stories260K.gguf" "$W/"
A="$LOGITLAB run -w $W $R/plugins/agents.lua"
check_run "agents: the worked example, a tool" 0 "^boss (main supervisor) -> user: the sum is 42$" \
  $A --workflow agents_calc.json --lib agents_calc.lua -p "What is 2 + 40?"
check_run "agents: the transcript shows the tool" 0 "^  add (tool) -> calc: 42$" \
  $A --workflow agents_calc.json --lib agents_calc.lua -p "What is 2 + 40?"
check_run "agents: a model member, with its tokens" 0 "teller (agent) -> boss: .*16 tokens, mean log-prob" \
  $A --workflow agents_calc.json --lib agents_calc.lua -p "Once upon a time"
# the run is recorded: every message, log-probs of the model's turn, the result
$A --workflow agents_calc.json --lib agents_calc.lua -p "Once upon a time" --json >"$T/json" 2>&1
run=$(sed -n 's/.*"run":\([0-9]*\).*"type":"done".*/\1/p' "$T/json")
check "agents --json: the summary names the run" test -n "$run"
"$LOGITLAB" export -w "$W" --run "$run" >"$T/export" 2>&1
check "agents: every printed message is recorded" test "$(grep -c '"kind":"message"' "$T/export")" -eq "$(grep -c '"type":"message"' "$T/json")"
check "agents: the model turn's log-probs are recorded" sh -c "grep '\"kind\":\"message\"' '$T/export' | grep -q '\"logprobs\":\[-'"
check "agents: the result is recorded" sh -c "grep '\"kind\":\"agents_result\"' '$T/export' | grep -q '\"status\":\"ok\"'"
check "agents: a turn's calls are recorded, parsed" sh -c "grep '\"kind\":\"message\"' '$T/export' | grep -q '\"calls\":\[{\"args\":{\"message\":\"Once upon a time\"},\"name\":\"delegate_to_teller\"}\]'"
# parallel delegations: fox and owl in one batch, the transcript of a sequential run
$A --workflow agents_pair.json --lib agents_calc.lua -p "Once upon a time" >"$T/par" 2>&1
$A --workflow agents_pair.json --lib agents_calc.lua -p "Once upon a time" --sequential >"$T/seq" 2>&1
check "agents: parallel delegations take one engine step per token for both" grep -q "^-- ok: answered (4 turns, 24 tokens, 12 engine steps, run" "$T/par"
check "agents: --sequential takes one per token each" grep -q "^-- ok: answered (4 turns, 24 tokens, 24 engine steps, run" "$T/seq"
check "agents: the same transcript batched and sequential" sh -c "[ \"\$(grep -v '^--' '$T/par')\" = \"\$(grep -v '^--' '$T/seq')\" ]"
check "agents: both agents answered" grep -q "^editor (main supervisor) -> user: fox: .* / owl: " "$T/par"
# branching a run: message 4 (fox's turn) begins " The"; the rest replays or is new
$A --workflow agents_pair.json --lib agents_calc.lua -p "Once upon a time" --json >"$T/pj" 2>&1
prun=$(sed -n 's/.*"run":\([0-9]*\).*"type":"done".*/\1/p' "$T/pj")
$A --workflow agents_pair.json --lib agents_calc.lua -p "Once upon a time" >"$T/p" 2>&1
$A --parent "$prun" --message 4 --prefix " The" >"$T/b" 2>&1; rc=$?
check "agents --parent: the branch runs" test "$rc" -eq 0
check "agents --parent: the messages before the branched turn replay" sh -c "[ \"\$(sed -n 1,3p '$T/p')\" = \"\$(sed -n 1,3p '$T/b')\" ]"
check "agents --parent: the branched turn begins with the forced text" grep -q "^  fox (agent) -> editor: The " "$T/b"
check "agents --parent: owl's turn does not depend on fox's" sh -c "[ \"\$(grep '^  owl' '$T/p')\" = \"\$(grep '^  owl' '$T/b')\" ]"
check "agents --parent: the summary says where it differs" grep -q "^-- branch of run $prun at message 4 (fox's turn 1): differs from message 4 on$" "$T/b"
brun=$(sed -n 's/^-- ok: .*, run \([0-9]*\))$/\1/p' "$T/b")
"$LOGITLAB" export -w "$W" --run "$brun" >"$T/bx" 2>&1
check "agents --parent: the run is recorded with its parent and the branched turn" sh -c "grep '\"type\":\"run\"' '$T/bx' | grep -q '\"params\":{\"branch\":{\"member\":\"fox\",\"message\":4,\"mode\":\"prefix\",\"text\":\" The\",\"turn\":1}.*\"parent\":$prun'"
check "agents --parent: the forced message is marked" sh -c "grep '\"kind\":\"message\"' '$T/bx' | grep -q '\"forced\":\"prefix\",\"forced_tokens\":1,'"
check "agents --parent: the parent is untouched" sh -c "'$LOGITLAB' export -w '$W' --run $prun | grep -c '\"kind\":\"message\"' | grep -qx 7"
$A --parent "$brun" --message 4 --prefix " The" >"$T/bb" 2>&1
check "agents --parent: a branch of a branch with the same turn is the same run" grep -q "^-- branch of run $brun at message 4 (fox's turn 1): the same transcript$" "$T/bb"
$A --parent "$prun" --message 4 --text "A fox." --sequential >"$T/bt" 2>&1
check "agents --parent --text: the turn is the text, scored" grep -q "^  fox (agent) -> editor: A fox\.  \[[0-9]* tokens, mean log-prob -" "$T/bt"
check_run "agents --parent: a message that is no turn" 1 "--parent $prun --message 1: message 1 is the user's (user -> editor), not a member's turn" \
  $A --parent "$prun" --message 1 --text x
check_run "agents --parent: an unknown run" 1 "--parent 999: no run 999 in the workspace" $A --parent 999 --message 1 --text x
check_run "agents --parent: neither --text nor --prefix" 1 "--parent needs --text TEXT or --prefix TEXT" $A --parent "$prun" --message 4
check_run "agents: --message without --parent" 1 "they need --parent RUN" $A --workflow agents_pair.json -p x --message 4 --text x
# budgets: the run ends with the reason, transcript printed, run failed
check_run "agents: a token budget ends the run" 1 "token budget of 5 exceeded" \
  $A --workflow agents_calc.json --lib agents_calc.lua -p "Once upon a time" --tokens 5
check_run "agents: the transcript up to the stop is printed" 1 "teller (agent) -> boss" \
  $A --workflow agents_calc.json --lib agents_calc.lua -p "Once upon a time" --tokens 5
check_run "agents: a depth budget" 1 "delegation depth budget of 0 exceeded (boss -> calc)" \
  $A --workflow agents_calc.json --lib agents_calc.lua -p "1 + 1" --depth 0
check_run "agents: a turn budget" 1 "turn budget of 2 exceeded" \
  $A --workflow agents_calc.json --lib agents_calc.lua -p "1 + 1" --turns 2
check_run "agents: a time budget" 1 "time budget of 0 s exceeded" \
  $A --workflow agents_calc.json --lib agents_calc.lua -p "1 + 1" --seconds 0
check_run "agents: the failed run is recorded with its reason" 0 "turn budget of 2 exceeded" \
  sh -c "'$LOGITLAB' export -w '$W' | grep '\"type\":\"run\"' | grep failed"
$A --workflow agents_calc.json --lib agents_calc.lua -p "1 + 1" --turns 2 --json >"$T/bjson" 2>&1
brun=$(sed -n 's/.*"run":\([0-9]*\).*"type":"done".*/\1/p' "$T/bjson")
"$LOGITLAB" export -w "$W" --run "$brun" >"$T/bexport" 2>&1
check "agents: a run ended by a budget keeps its messages in the workspace" test "$(grep -c '"kind":"message"' "$T/bexport")" -eq "$(grep -c '"type":"message"' "$T/bjson")" -a "$(grep -c '"kind":"message"' "$T/bexport")" -ge 3
# malformed workflows: clear errors naming the member, nothing recorded
n0=$("$LOGITLAB" export -w "$W" | grep -c '"type":"run"')
sed 's/"manages": \["calc", "teller"\]/"manages": ["calc", "ghost"]/' "$W/agents_calc.json" >"$W/bad1.json"
check_run "agents: an unknown member" 1 "bad1.json: main supervisor 'boss' manages an unknown member 'ghost'" \
  $A --workflow bad1.json --lib agents_calc.lua -p x
sed 's/stories260K.gguf/nope.gguf/' "$W/agents_calc.json" >"$W/bad2.json"
check_run "agents: an unknown model" 1 "agent 'teller': cannot open model 'nope.gguf'" \
  $A --workflow bad2.json --lib agents_calc.lua -p x
printf '{"main": {"name": "boss", "script": "boss"' >"$W/bad3.json"
check_run "agents: not JSON" 1 "bad3.json: workflow: not valid JSON" $A --workflow bad3.json --lib agents_calc.lua -p x
check_run "agents: a script not given" 1 "no script named 'boss'" $A --workflow agents_calc.json -p x
# budgets that are not numbers >= 0: refused before anything is recorded
check_run "agents: --turns -1 refused" 1 "^logitlab run: --turns must be a whole number >= 0, got -1$" \
  $A --workflow agents_calc.json --lib agents_calc.lua -p x --turns -1
check_run "agents: --tokens -5 refused" 1 "--tokens must be a whole number >= 0, got -5" \
  $A --workflow agents_calc.json --lib agents_calc.lua -p x --tokens -5
check_run "agents: --depth -1 refused" 1 "--depth must be a whole number >= 0, got -1" \
  $A --workflow agents_calc.json --lib agents_calc.lua -p x --depth -1
check_run "agents: --seconds -0.5 refused" 1 "--seconds must be a number >= 0, got -0.5" \
  $A --workflow agents_calc.json --lib agents_calc.lua -p x --seconds -0.5
check_run "agents: --seconds 1e999 refused" 1 "--seconds must be finite, got inf" \
  $A --workflow agents_calc.json --lib agents_calc.lua -p x --seconds 1e999
check_run "agents: --turns abc refused" 1 "option --turns needs an integer, got 'abc'" \
  $A --workflow agents_calc.json --lib agents_calc.lua -p x --turns abc
sed 's/"tokens": 200/"tokens": -3/' "$W/agents_calc.json" >"$W/badb.json"
check_run "agents: a workflow's own negative budget refused" 1 "badb.json: workflow: budget 'tokens' must be a whole number >= 0, got -3" \
  $A --workflow badb.json --lib agents_calc.lua -p x
check_run "agents --parent: a workflow without the branched member" 1 \
  "^logitlab run: --parent $prun --message 4: the turn is fox's, and agents_calc.json has no member 'fox' (members: boss, calc, teller)$" \
  $A --parent "$prun" --message 4 --text x --workflow agents_calc.json
check "agents: nothing recorded for refused workflows and budgets" test "$("$LOGITLAB" export -w "$W" | grep -c '"type":"run"')" -eq "$n0"
# members' models are found in the workspace: the workflow runs from any folder
mkdir -p "$T/elsewhere" "$W/models"
mv "$W/stories260K.gguf" "$W/models/"
check_run "agents: a member's model in the workspace's models/, run from another folder" 0 "teller (agent) -> boss: .*16 tokens" \
  sh -c "cd '$T/elsewhere' && $A --workflow agents_calc.json --lib agents_calc.lua -p 'Once upon a time' --no-record"
mv "$W/models/stories260K.gguf" "$W/"
check_run "agents: ... and in the workspace itself" 0 "teller (agent) -> boss: .*16 tokens" \
  sh -c "cd '$T/elsewhere' && $A --workflow agents_calc.json --lib agents_calc.lua -p 'Once upon a time' --no-record"
check_run "agents: an unknown model names the member and every place looked at" 1 \
  "bad2.json: agent 'teller': cannot open model 'nope.gguf': no model file 'nope.gguf' (looked in .*); nor in the workspace (nope.gguf, models/nope.gguf)$" \
  sh -c "cd '$T/elsewhere' && $A --workflow bad2.json --lib agents_calc.lua -p x"
check_run "agents: missing --workflow" 1 "missing --workflow FILE" $A -p x
check_run "agents --help" 0 "usage: logitlab run -w WS plugins/agents.lua" $A --help
# the ```lua block of docs/agents.md runs
awk '/^```lua[ \t]*$/ { inb = 1; next } /^```/ && inb { inb = 0; next } inb { print }' "$R/docs/agents.md" >"$T/doc.lua"
check_run "docs/agents.md: the Lua example runs" 0 "calc	agent	->	add" sh -c "cd '$R' && '$LOGITLAB' run '$T/doc.lua'"
echo "# passed $check_pass failed $check_fail"
[ "$check_fail" -eq 0 ]
