#!/bin/sh
# Issue 13 item 12 in a real terminal (tmux): a full KV cache (-c 128) does
# not make the other branches unusable. After a run fills the cache,
# picking an alternative and stepping works and the status says which
# hidden branches' cells were freed; a long prompt followed by a short one
# generates past 32 tokens; a prompt longer than the cache is an error
# naming -c. (tests/test_session.c checks the same at the C level, with
# the bitwise re-evaluation of a freed branch.)
. "$(dirname "$0")/check.sh"
. "$(dirname "$0")/tui_lib.sh"
status_line() { screen | tail -1; }
# the output pane's token count, "output N/N tokens" -> N
out_count() { screen | sed -n 's/.*output \([0-9]*\)\/[0-9]* tokens.*/\1/p' | head -1; }

# ---- a full generation, then an alternative picked in the middle, then a step ----
start 120 30 -- -c 128 -p "'Once upon a time'"
see "opens on the model" "stories260K"
key :; keys "set temp 0" Enter
key g
see "the run fills the cache" "output 128/128 tokens" 20
see "and says what to do" "fills the KV cache"
key 2; key 0
i=0; while [ $i -lt 15 ]; do key l; i=$((i + 1)); done
see "the cursor is on position 15" "pos 15 "
key 3; key Down; key Enter
see "the pick frees the hidden branch's cells" "freed the cache of 1 hidden"
key s
see "stepping after the pick works" "output 17/17 tokens"
if screen | grep -qF "KV cache is full"; then bad "a step after the pick says the cache is full"; else ok; fi
key g
see "the picked branch runs to the end of the cache" "output 128/128 tokens" 20
# back to the first branch (its cells were freed): stepping there evaluates it again
key '['
see "the first branch is shown again" "output 128/128 tokens"
key 2; key h; key h; key r
see "rewound on the first branch" "output 126/126 tokens"
key s
see "stepping on it works" "output 127/127 tokens"
see "after freeing the other branch" "freed the cache of"

# ---- a long prompt, then a short one ----
key :; keys "prompt Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high. Lily's mom said, let's go" Enter
key g
see "the long prompt's run" "let's go to the" 20
wait_gone "generating" 20
key :; keys "prompt The cat" Enter
key g
see "the short prompt runs" "<s> The cat"
wait_for "output 128/128 tokens" 20 || wait_for "end of text" 5
n=$(out_count)
if [ "${n:-0}" -gt 40 ]; then ok; else bad "the short prompt after a long one stops at $n tokens"; fi
if status_line | grep -qF "KV cache is full"; then bad "the short prompt's run found the cache full"; else ok; fi

# ---- a prompt longer than the cache on its own ----
key :; keys "prompt $(printf 'the cat sat on %.0s' 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35)" Enter
key g
see "a prompt beyond the cache names -c" "holds 128" 20
check_done
