#!/bin/sh
# issue 19, the architect: `logitlab run plugins/architect.lua` on the worked
# example of docs/agents.md (docs/examples/architect_*: scripted roles and
# members), its records and `logitlab export`, model roles with stories260K,
# and malformed inputs (clear errors, nothing recorded). The library is
# tested by tests/lua/test_architect.lua.
. "$(dirname "$0")/check.sh"
R=$(cd "$(dirname "$0")/.." && pwd)
case "$LOGITLAB" in /*) ;; *) LOGITLAB=$(pwd)/$LOGITLAB ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/logitlab-architect.XXXXXX")
trap 'rm -rf "$T"' EXIT
if [ ! -x "$LOGITLAB" ]; then echo "FAIL: no binary at $LOGITLAB"; echo "# passed 0 failed 1"; exit 1; fi
W=$T/ws
mkdir -p "$W"
cp "$R"/docs/examples/architect_task.txt "$R"/docs/examples/architect_sums.jsonl "$R"/docs/examples/architect_roles.lua "$W/"
cp "$SHARED/models/stories260K.gguf" "$W/"
A="$LOGITLAB run -w $W $R/plugins/architect.lua"
EX="--task-file architect_task.txt --examples architect_sums.jsonl"
runs() { "$LOGITLAB" export -w "$W" | grep -c '"type":"run"'; }

# the worked example: the draft, one refinement, the target reached
check_run "architect: the worked example reaches the target" 0 \
  "^-- best: iteration 2, accuracy 1.000; stopped: target (2 iterations, run 1)$" \
  $A $EX --roles architect_roles.lua --subset 6 --seed 2 --out best.json
check "architect: the draft's accuracy is printed" grep -q "^iteration 1 (draft): accuracy 0.167 (1/6)  wrong:" "$T/out"
check "architect: the system message diff is printed" grep -q "^  calc + - use the add tool$" "$T/out"
check "architect: the wrong examples of an iteration are listed" grep -q "^iteration 1 (draft): accuracy 0.167 (1/6)  wrong: #3 #6 #7 #9 #10$" "$T/out"
check "architect: no line per example without --verbose (a live line on a terminal only)" test "$(grep -c 'example [1-6]/6' "$T/out")" -eq 0
$A $EX --roles architect_roles.lua --subset 6 --seed 2 --verbose --no-record >"$T/out" 2>&1
check "architect --verbose: a line per example" test "$(grep -c '^  iteration [12]  example [1-6]/6' "$T/out")" -eq 12
"$LOGITLAB" export -w "$W" --run 1 >"$T/export" 2>&1
check "export: every iteration" test "$(grep -c '"kind":"iteration"' "$T/export")" -eq 2
check "export: every example's transcript" test "$(grep -c '"kind":"transcript"' "$T/export")" -eq 12
check "export: the accuracy metric per iteration" test "$(grep '"type":"metric"' "$T/export" | grep -c '"name":"accuracy"')" -eq 2
check "export: the iteration keeps its workflow, feedback and diff" sh -c \
  "grep '\"kind\":\"iteration\"' '$T/export' | tail -1 | grep '\"guideline\":\"use the add tool\"' | grep -q '\"op\":\"+\"'"
check "export: the result" sh -c "grep '\"kind\":\"architect_result\"' '$T/export' | grep -q '\"stop\":\"target\"'"
check_run "architect --out: the best workflow runs with plugins/agents.lua" 0 "^boss (main supervisor) -> user: 42$" \
  "$LOGITLAB" run -w "$W" "$R/plugins/agents.lua" --workflow best.json --lib architect_roles.lua -p "20 + 22" --no-record
# --json: one line per draft, example, iteration, and the summary
$A $EX --roles architect_roles.lua --subset 6 --seed 2 --json >"$T/json" 2>&1
check "architect --json: a line per example" test "$(grep -c '"type":"example"' "$T/json")" -eq 12
check "architect --json: a progress line per example" test "$(grep -c '"text":"iteration [12]: example [1-6]/6 judged.*"type":"progress"' "$T/json")" -eq 12
check "architect --json: progress of the roles" grep -q '"role":"analyst","text":"iteration 2: the analyst reads the failures","type":"progress"' "$T/json"
check "architect --json: progress ends" grep -q '^{"type":"progress_done"}$' "$T/json"
check "architect --json: a line per iteration" test "$(grep -c '"type":"iteration"' "$T/json")" -eq 2
check "architect --json: the summary" sh -c "tail -1 '$T/json' | grep '\"type\":\"done\"' | grep -q '\"stop\":\"target\"'"
# the stop rules from the command line
check_run "architect: --target reached by the draft" 0 "stopped: target (1 iterations" \
  $A $EX --roles architect_roles.lua --subset 6 --seed 2 --target 0.1 --no-record
check_run "architect: --iterations 1" 0 "stopped: iterations (1 iterations" \
  $A $EX --roles architect_roles.lua --subset 6 --seed 2 --iterations 1 --no-record
# model roles: stories260K drafts, analyses and rewrites under its grammars
check_run "architect: model roles (stories260K)" 0 '"iterations":2,.*"type":"done"' \
  $A $EX -m stories260K.gguf --subset 1 --iterations 2 --max-agents 1 --system-chars 16 --max-tokens 4 --json --no-record
# a role failing mid-way: the run is recorded as failed, iteration 1 kept
printf 'local t = assert(load(lab.fs.read("architect_roles.lua")))()\nt.analyst = function() error("no idea") end\nreturn t\n' >"$W/bad_roles.lua"
n0=$(runs)
check_run "architect: a failing analyst ends the run" 1 "the analyst failed: .*no idea" $A $EX --roles bad_roles.lua
check "architect: the failed run is recorded with its first iteration" sh -c \
  "'$LOGITLAB' export -w '$W' --run $((n0+1)) | grep -q '\"kind\":\"iteration\"' && '$LOGITLAB' export -w '$W' --run $((n0+1)) | grep '\"type\":\"run\"' | grep -q failed"
# malformed inputs: clear errors, nothing recorded
n0=$(runs)
printf '{"question": "1 + 1", "answer": 2}\n{"question": "2 + 2", "answer": }\n' >"$W/bad.jsonl"
check_run "architect: an examples file that is not JSON lines" 1 "bad.jsonl line 2: not valid JSON" \
  $A --task-file architect_task.txt --examples bad.jsonl --roles architect_roles.lua
printf '{"question": "1 + 1"}\n' >"$W/bad2.jsonl"
check_run "architect: an example without an answer" 1 "bad2.jsonl line 1: needs an 'answer'" \
  $A --task-file architect_task.txt --examples bad2.jsonl --roles architect_roles.lua
n1=$(runs)
check_run "architect: a negative budget refused" 1 "^logitlab run: --turns must be a whole number >= 0, got -1$" \
  $A $EX --roles architect_roles.lua --turns -1
check_run "architect: a non-finite budget refused" 1 "--seconds must be finite" $A $EX --roles architect_roles.lua --seconds 1e400
check "architect: nothing recorded for refused budgets" test "$(runs)" -eq "$n1"
check_run "architect: no task file" 1 "task-file nope.txt" $A --task-file nope.txt --examples architect_sums.jsonl --roles architect_roles.lua
: >"$W/empty.txt"
check_run "architect: an empty task" 1 "the task description is empty" $A --task-file empty.txt --examples architect_sums.jsonl --roles architect_roles.lua
check_run "architect: an unknown tool" 1 "--tools: unknown tool 'teleport'" $A $EX --roles architect_roles.lua --tools add,teleport
check_run "architect: an unknown model" 1 "cannot open model 'nope.gguf'" $A $EX -m nope.gguf
check_run "architect: no model and no scripts" 1 "the architect needs a model" $A $EX
check_run "architect: --judge task on examples not of the task library" 1 "is not a task example" \
  $A $EX --roles architect_roles.lua --judge task
check_run "architect: an unknown judge" 1 "--judge is exact, contains, task or model" $A $EX --roles architect_roles.lua --judge nope
printf 'return {architect = 3}\n' >"$W/bad_roles2.lua"
check_run "architect: a roles file with a bad role" 1 "'architect' must be a function" $A $EX --roles bad_roles2.lua
printf 'return {\n' >"$W/bad_roles3.lua"
check_run "architect: a roles file that does not parse" 1 "bad_roles3.lua" $A $EX --roles bad_roles3.lua
check_run "architect: --subset 0" 1 "subset must be at least 1" $A $EX --roles architect_roles.lua --subset 0
check "architect: nothing recorded for refused inputs" test "$(runs)" -eq "$n0"
check_run "architect: missing --examples" 1 "missing --examples" $A --task-file architect_task.txt
check_run "architect --help" 0 "usage: logitlab run -w WS plugins/architect.lua" $A --help
# Ctrl-C while a role works (an analyst that sleeps): the run ends interrupted, not failed, exit 130
printf 'local t = assert(load(lab.fs.read("architect_roles.lua")))()\nt.analyst = function() assert(lab.fs.write("aready", "1")); lab.sleep(30) end\nreturn t\n' >"$W/slow_analyst.lua"
env --default-signal=INT $A $EX --roles slow_analyst.lua --subset 6 --seed 2 >"$T/aint.out" 2>&1 &
apid=$!
i=0; while [ $i -lt 2400 ] && [ ! -f "$W/aready" ]; do sleep 0.05; i=$((i+1)); done
kill -INT $apid
wait $apid; arc=$?
check "architect: Ctrl-C in a role exits 130" [ "$arc" -eq 130 ]
printf 'print(lab.store.query("SELECT status FROM runs WHERE plugin = ? ORDER BY id DESC LIMIT 1", {"architect"})[1].status)\n' >"$W/astat.lua"
check_run "architect: Ctrl-C in a role ends the run interrupted, not failed" 0 "^interrupted$" "$LOGITLAB" run -w "$W" "$W/astat.lua"
# the ```lua blocks of docs/agents.md's architect section run
awk '/^## The architect/ { on = 1 } /^```lua[ \t]*$/ && on { inb = 1; next } /^```/ && inb { inb = 0; next } inb { print }' "$R/docs/agents.md" >"$T/doc.lua"
check_run "docs/agents.md: the architect example runs" 0 "^- use the add tool$" sh -c "cd '$R' && '$LOGITLAB' run '$T/doc.lua'"
echo "# passed $check_pass failed $check_fail"
[ "$check_fail" -eq 0 ]
