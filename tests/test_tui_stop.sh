#!/bin/sh
# The workbench's stop (C-c) while a long prompt is being evaluated, end to
# end in a real terminal (tmux): a 3601-token prompt on synth-A with a
# 4096-cell context (~1.3 s of one core alone, 29 batches of 128). The
# workbench is stopped (SIGSTOP) the moment it shows the run under way, the
# C-c is sent then (its SIGINT waits for it), so it lands while the prompt
# is evaluated whatever the machine's load. The run then says "stopped",
# the context holds less than the prompt (the rest was never evaluated: the
# step running stops at the model's next layer, app/worker.c), and the
# workbench goes on working: a short prompt then generates.
. "$(dirname "$0")/check.sh"
. "$(dirname "$0")/tui_lib.sh"
SA=$SH/models/synthetic/synth-A-q4_0.gguf
# ctx_used: the status line's "ctx N/4096" -> N
ctx_used() { screen | sed -n 's/.*ctx \([0-9]*\)\/4096.*/\1/p' | tail -1; }

awk 'BEGIN { for (i = 0; i < 900; i++) printf "Once upon a time "; }' > "$T/prompt.txt"
PRE="P=\$(cat $T/prompt.txt);" MODELARG="-m $SA" start 120 30 -- -c 4096 -p '"$P"'
see "opens on the model with the long prompt" "synth-A"
see_live_held "g starts the run" "generating, Esc stops" 20 g
keys C-c
kill -CONT "$pid" 2>/dev/null
see "C-c stops it" "stopped" 20
not_see "and the run is over" "generating, Esc stops"
n=$(ctx_used); echo "# ctx after the stop: $n"
if [ -n "$n" ] && [ "$n" -lt 3601 ]; then ok; else bad "the prompt was not evaluated to its end (ctx '$n' of 3601)"; fi
key :; keys "prompt Once upon a time" Enter
key s
see "a step after the stop works (5 prompt tokens + 1)" "output 6/6 tokens" 20
check_done
