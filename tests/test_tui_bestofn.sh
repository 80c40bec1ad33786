#!/bin/sh
# The bestofn plugin in a real terminal (tmux): `:bestofn` runs adaptive
# best-of-N, the `bestofn` pane lists its candidates (round, status,
# scores, the winner), `o` opens the selected candidate as a branch of the
# loom (output pane: prompt + candidate; inspector: its distributions),
# and the task evaluation mode prints its table to the console. The
# pane's live listing mid-run is tests/lua/test_bestofn.lua ("pane: ...").
. "$(dirname "$0")/check.sh"
. "$(dirname "$0")/tui_lib.sh"

start 140 40 -- --plugins "$ROOT/plugins" -p "'Once upon a time'"
see "started with the plugins" "stories260K"
key :; keys "bestofn -m $M -p \"Once upon a time\" --n 8 --prune 6:0.5 --max-tokens 16 --seed 5" Enter
see "the run ends (its status item)" "bestofn adaptive 8" 20
key 6
n=0
while [ $n -lt 16 ] && ! screen | grep -qF "prompt: Once upon a time"; do key Tab; n=$((n + 1)); done
see "the pane lists the run" "adaptive done | round 4 | samples 8"
see "a pruned candidate" "pruned@6"
see "a finished candidate" "finished"
see_re "the winner's row is marked with *" '[ >]\*#[0-9]+ +r[0-9]'
see "the selection's details" "#1 seed 5 T=0.700"
keys j j j j j j j j
see "j moves down to the last candidate" "#8 seed 12"
key k
see "k moves up" "#7 seed 11"
key o
see "o opens the candidate in the loom" "candidate #7 opened in the loom"
see "the output pane holds prompt and candidate #7 (pruned at 6 tokens)" "output 12/12 tokens"
see "and the inspector its distributions" "rank 1  p "
# a run that continues the selected path (the candidate just opened)
key :; keys "bestofn -m $M --from-path --n 2 --max-tokens 4" Enter
see "--from-path: a run of 2" "adaptive done (run 2/2) | round 2 | samples 2" 20
see_re "--from-path: the run's prompt is the selected path, with the token the loom stepped (gir)" \
  'prompt: .*Once upon a time, there was a little gir'
# the evaluation mode from the workbench: its table in the console, its runs in the pane
printf '{"prompt": "Once upon a time", "answer": "Lily", "match": "contains"}\n' > "$T/ws-$N/t.jsonl"
key :; keys "bestofn -m $M --task t.jsonl --n 4 --max-tokens 12 --thresholds none" Enter
see "the task mode's last run in the pane" "adaptive t.jsonl:1 done" 20
key 5
see "and its curves in the console" "P plain best-of-k   A adaptive" 5
key :; keys "bestofn -m $M -p Once --n 0" Enter
see "a bad setting is an error message, the workbench goes on" "must be an integer >= 1" 5
# a mistaken option: one console line saying where the usage is, not the 30 lines of it
key :; keys "bestofn --bogus" Enter
see "an unknown option is one line" "bestofn: unknown option '--bogus' (:bestofn --help)" 5
if screen | grep -qF -- "--one-at-a-time"; then bad "the usage is not dumped into the console"; else ok; fi
key :; keys "bestofn -m nosuch.gguf -p Once" Enter
see "an unknown model: the option and the places looked" "bestofn: -m nosuch.gguf: no model file 'nosuch.gguf' (looked in" 5
if screen | grep -qF "stack traceback"; then bad "no Lua traceback in the console"; else ok; fi
# a budget the KV cache cannot hold (rounds up to 32 x 200 tokens in 2048 cells): refused up front, one line
key :; keys "bestofn -m $M -p Once --n 64 --max-tokens 200 --no-record" Enter
see "a budget the cache cannot hold: refused up front" "bestofn: the KV cache cannot hold this budget" 10
see "with the numbers" "= 6448 cells, but the model has 2048 free of 2048" 5
# a cache that fills mid-run all the same (a scorer that takes all but 10 free cells when it first scores): one
# line naming the round, and the run shows stopped, not running for ever
cat >"$T/ws-$N/fill.lua" <<'EOF'
return function(c)
  if not FILLER then
    local free, t = c.seq:model():kv().free, {}
    for i = 1, free - 10 do t[i] = 300 end
    FILLER = assert(c.seq:fork())
    FILLER:append(t)
    assert(FILLER:eval())
  end
  return 0
end
EOF
key :; keys "bestofn -m $M -p Once --n 4 --max-tokens 12 --scorer lua:fill.lua --no-record" Enter
see "a full KV cache: the round and the engine's reason" "the KV cache is full" 30
see_re "the message names the round and token" "bestofn: round [0-9]+ \([0-9]+ candidates live\), token [0-9]+: "
not_see_re "the status item no longer says running" "bestofn adaptive [0-9]+ ▶"
key 6
n=0
while [ $n -lt 16 ] && ! screen | grep -qF "adaptive stopped"; do key Tab; n=$((n + 1)); done
see "the pane shows the run stopped" "adaptive stopped (run" 5
see "and the reason" "stopped: round " 5
key 5
key :; keys "q!" Enter
see "quits after the bestofn plugin" "EXITED 0"

check_done
