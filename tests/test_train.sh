#!/bin/sh
# `logitlab train` / `finetune` end to end at a tiny size (seconds): a run
# with --json lines, the GGUF it writes opened by other commands, the run in
# the workspace, resume, and the bad inputs each with a one-line error.
. "$(dirname "$0")/check.sh"
M=$SHARED/models
T=$(mktemp -d "${TMPDIR:-/tmp}/logitlab-train.XXXXXX")
trap 'rm -rf "$T"' EXIT
L=$LOGITLAB

# check_err DESC PATTERN CMD...: exits 1 with one stderr line matching PATTERN.
check_err() {
  d=$1; pat=$2; shift 2
  "$@" >"$T/out" 2>"$T/err"; got=$?
  if [ "$got" -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q -- "$pat" "$T/err"; then
    check_pass=$((check_pass+1))
  else
    check_fail=$((check_fail+1)); echo "FAIL: $d (exit $got)"; head -3 "$T/err"
  fi
}

printf 'Once upon a time, there was a dog named Max.\n\nMax liked to run in the park.\n\nThe sun was warm and the sky was blue.\n\nOne day Max found a red ball.\n' >"$T/a.txt"
printf '{"prompt": "Q: What did Max find?\\nA:", "completion": " a red ball"}\n{"prompt": "Q: Who ran?\\nA:", "completion": " Max"}\n' >"$T/qa.jsonl"
TINY="--shape tiny -T $M/stories260K.gguf -t 2 -b 2 --seq-len 32"

check "train --json" sh -c "'$L' train $TINY --steps 6 --val 0.3,3,1 --json -w '$T/ws' -o '$T/t.gguf' '$T/a.txt' '$T/qa.jsonl' >'$T/log' 2>'$T/log.err'"
check "one JSON line per step and a summary" sh -c "[ \$(grep -c '\"step\":' '$T/log') -eq 6 ] && grep -q '\"done\":true' '$T/log'"
check "the validation loss at step 3" grep -q '"step":3,.*"val_loss":[0-9]' "$T/log"
check "the GGUF opens in info" "$L" info "$T/t.gguf"
check "and generates" "$L" gen -m "$T/t.gguf" -n 8 -t 1 -p "Once"
check "quantizes" "$L" quantize -q "$T/t.gguf" "$T/t-q8.gguf" q8_0
check "and the quantized file generates" "$L" gen -m "$T/t-q8.gguf" -n 8 -t 1 -p "Once"
check "the run is in the workspace" sh -c "'$L' runs -w '$T/ws' | grep -q train"
check "the checkpoint is in the workspace" test -f "$T/ws/train/t.gguf.ckpt"
check "resume a finished run" "$L" train $TINY --steps 6 --val 0.3,3,1 --resume -w "$T/ws" -o "$T/t2.gguf" "$T/a.txt" "$T/qa.jsonl"
# Ctrl-C stops a run at its next step with the checkpoint; started with
# SIGINT ignored (a background job of a non-interactive shell, made explicit
# with trap), the run keeps it ignored and trains on: 3 more steps after the
# SIGINT, then SIGTERM ends it (a binary that takes the SIGINT stops at once).
# Under load (session 15: failed for two helpers) the background job had not
# yet opened its log when the loop first read it: grep printed nothing, the
# test `[ "" -lt 1 ]` was an error that ended the wait at once, and the SIGINT
# came before the run had started. The logs are made first, steps counts 0 for
# an empty or missing one, and the waits (conditions) allow 120 s.
: >"$T/ign.log"
(trap '' INT; exec "$L" train $TINY --steps 100000 --json -w none -o "$T/ign.gguf" "$T/a.txt") >"$T/ign.log" 2>&1 &
ipid=$!
steps() { n=$(grep -c '"step":' "${1:-$T/ign.log}" 2>/dev/null); echo "${n:-0}"; }
i=0; while [ $i -lt 2400 ] && [ "$(steps)" -lt 1 ]; do sleep 0.05; i=$((i+1)); done
kill -INT $ipid
n0=$(steps)
i=0; while [ $i -lt 2400 ] && [ "$(steps)" -lt $((n0 + 3)) ] && kill -0 $ipid 2>/dev/null; do sleep 0.05; i=$((i+1)); done
n1=$(steps)
kill -TERM $ipid 2>/dev/null; wait $ipid 2>/dev/null
check "train keeps an inherited SIG_IGN for SIGINT (trained on after it)" [ "$n1" -ge $((n0 + 3)) ]
check "train keeps an inherited SIG_IGN for SIGINT (not stopped)" sh -c "! grep -q stopped '$T/ign.log'"
# Ctrl-C (SIGINT at its default here) stops the run at its step with the
# checkpoint, and the workspace records it "interrupted", as it records the
# runs of scripts Ctrl-C stops (it read "cancelled", as a stop asked for)
: >"$T/int.log"
env --default-signal=INT "$L" train $TINY --steps 100000 --json -w "$T/wsint" -o "$T/int.gguf" "$T/a.txt" >"$T/int.log" 2>&1 &
ipid=$!
i=0; while [ $i -lt 2400 ] && [ "$(steps "$T/int.log")" -lt 1 ]; do sleep 0.05; i=$((i+1)); done
kill -INT $ipid
wait $ipid; irc=$?
check "train: Ctrl-C stops it (exit 1, the checkpoint named)" sh -c "[ $irc -eq 1 ] && grep -q '\"stopped\":true' '$T/int.log'"
check "train: a run Ctrl-C stopped is recorded interrupted" sh -c "'$L' runs -w '$T/wsint' | grep -q 'train  *interrupted'"
# -o naming a data file, the vocabulary or a workspace's database: refused
# before training (the GGUF was written over the user's data or database)
cp "$T/a.txt" "$T/keep.txt"
check_rc_t() { want=$1; shift; "$@" >/dev/null 2>"$T/err"; got=$?; if [ "$got" -eq "$want" ]; then check_pass=$((check_pass+1)); else check_fail=$((check_fail+1)); echo "FAIL: $* (exit $got, want $want)"; fi; }
check_rc_t 2 "$L" finetune "$M/stories260K.gguf" --steps 1 -w none -o "$T/keep.txt" "$T/keep.txt"
check "-o the data file: said, and the data kept" sh -c "grep -q 'is the data file' '$T/err' && cmp -s '$T/a.txt' '$T/keep.txt'"
cp "$M/tok512.bin" "$T/tok.bin"
check_rc_t 2 "$L" train --shape tiny -T "$T/tok.bin" --steps 1 -w none -o "$T/tok.bin" "$T/a.txt"
check "-o the --tokenizer file: kept" cmp -s "$M/tok512.bin" "$T/tok.bin"
# --dims: whole numbers in range (99999999999 became a negative context,
# 1.5 layers one), said before training
for d in 64,64,1,4,4,99999999999 64,64,1.5,4,4,16 64,64,1,4,4,0; do
  check_rc_t 2 "$L" train --dims "$d" -T "$T/tok.bin" --steps 1 -w none -o "$T/d.gguf" "$T/a.txt"
  check "--dims $d: the message names the rule" grep -q "each of D,F,L,H,KV,CTX must be a whole number from 1 to" "$T/err"
done
mkdir -p "$T/wsdb"
check_rc_t 2 "$L" finetune "$M/stories260K.gguf" --steps 1 -w "$T/wsdb" -o "$T/wsdb/logitlab.db" "$T/a.txt"
check "-o the workspace's database: said" grep -q "is a file of the workspace" "$T/err"
check "finetune a GGUF" "$L" finetune "$M/stories260K.gguf" -t 2 -b 2 --seq-len 32 --steps 2 -w none -o "$T/f.gguf" "$T/a.txt"
check "finetune a llama2.c checkpoint" "$L" finetune "$M/stories260K.bin" -T "$M/tok512.bin" -t 2 -b 2 --seq-len 32 --steps 2 -w none -o "$T/f2.gguf" "$T/qa.jsonl"
# text the vocabulary maps largely to <unk> (zh-poem's on English: 74 of 97 tokens) warns, with the counts
check "finetune on <unk>s: the warning on stderr" sh -c "'$L' finetune '$M/real/zh-poem-750K.bin' -t 1 -b 1 --seq-len 16 --steps 1 -w none -o '$T/zh.gguf' '$T/a.txt' 2>&1 >/dev/null | grep -q '^finetune: warning: [0-9]* of the data.s [0-9]* tokens ([0-9]*%) are <unk>: the model.s vocabulary does not cover this text'"
check "finetune on <unk>s: --json's first line carries it" sh -c "'$L' finetune '$M/real/zh-poem-750K.bin' -t 1 -b 1 --seq-len 16 --steps 1 -w none --json -o '$T/zh.gguf' '$T/a.txt' | head -1 | grep -q '^{\"warning\":\"[0-9]* of the data.s [0-9]* tokens .*<unk>.*\",\"tokens\":[0-9]*,\"unk_tokens\":[1-9][0-9]*}$'"
check "finetune on text the vocabulary covers: no warning" sh -c "! '$L' finetune '$M/stories260K.gguf' -t 1 -b 1 --seq-len 16 --steps 1 -w none -o '$T/f3.gguf' '$T/a.txt' 2>&1 | grep -q 'warning'"
check "no checkpoint left beside without a workspace? it is beside the output" test -f "$T/f.gguf.ckpt"
# the model and -T by name, looked up like every command's model (docs/training.md's examples)
check "finetune a model by name" env LOGITLAB_SHARED="$SHARED" "$L" finetune stories260K.gguf -t 2 -b 2 --seq-len 32 --steps 1 -w none -o "$T/n1.gguf" "$T/a.txt"
check "train with -T by name" env LOGITLAB_SHARED="$SHARED" "$L" train --shape tiny -T stories260K.gguf -t 2 -b 2 --seq-len 32 --steps 1 -w none -o "$T/n2.gguf" "$T/a.txt"
check_err "an unknown -T names every place looked" "tokenizer: no model file 'nope-tok.bin': looked at" "$L" train --shape tiny -T nope-tok.bin -w none -o "$T/n3.gguf" "$T/a.txt"
# chat-formatted examples: a family by name; the run record names it
check "finetune JSONL through a chat template" "$L" finetune "$M/stories260K.gguf" --chat-template llama2 -t 2 -b 2 --seq-len 48 --steps 2 -w "$T/cws" -o "$T/c.gguf" "$T/qa.jsonl"
check "the run records the chat template" sh -c "'$L' export -w '$T/cws' | grep -q 'chat_template.*llama2'"
# the output carries the template its examples were formatted with (stories260K has none), from scratch too
check "a chat-formatted finetune carries the template" sh -c "'$L' info --json '$T/c.gguf' | grep -q '\"chat_template\":true'"
check "a chat-formatted model from scratch carries the template" sh -c "'$L' train $TINY --chat-template zephyr --seq-len 64 --steps 1 -w none -o '$T/cs.gguf' '$T/qa.jsonl' >/dev/null 2>&1 && '$L' info '$T/cs.gguf' | grep -q 'tokenizer.chat_template.*<|user|>'"
check "a plain model has none" sh -c "'$L' info --json '$T/t.gguf' | grep -q '\"chat_template\":false'"

# recipe 2 (docs/recipes/numpath_solver.lua) end to end at a toy size: 1 training step, 2 held-out instances,
# best-of-2, the four tree searches in the training prompt format
R=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$T/r2" "$T/r2x"
check "recipe 2 runs end to end (toy size)" sh -c "LOGITLAB_SHARED='$(cd "$SHARED" && pwd)' '$L' run -w '$T/r2' '$R/docs/recipes/numpath_solver.lua' 1 2 2 >'$T/r2.out' 2>&1"
check "recipe 2: trained, then greedy, best-of-N and the plugin's CoT on the held-out set" sh -c "grep -q '^trained 1 steps' '$T/r2.out' && grep -q '^held-out, 2 instances.*best-of-2 with the checker.*agrees with greedy on 2 of 2' '$T/r2.out'"
check "recipe 2: four tree searches measured" sh -c "test \$(grep -c '^tree search, ToT' '$T/r2.out') -eq 4"
check_err "recipe 2 without a model and no steps" "STEPS 0 needs a numpath.gguf" "$L" run -w "$T/r2x" "$R/docs/recipes/numpath_solver.lua" 0

# recipe 1 (docs/recipes/proxy_expert.sh) end to end at a toy size (seconds): 24 samples (6 kept today; a margin over 0, which would stop the recipe), 2 fine-tuning steps,
# 2 stories per model; it runs plugins/proxy.lua by a path from the repository root, as docs/training.md does
check "recipe 1 runs end to end (toy size)" sh -c "cd '$R' && SAMPLES=24 EVAL=2 STEPS=2 LOGITLAB='$L' LOGITLAB_SHARED='$(cd "$SHARED" && pwd)' sh docs/recipes/proxy_expert.sh '$T/r1' >'$T/r1.out' 2>&1"
check "recipe 1: kept the samples with a dog" grep -q '^kept [1-9][0-9]* of 24 samples with a dog' "$T/r1.out"
check "recipe 1: every kept story has a dog" sh -c "test \$(grep -ci dog '$T/r1/dog.txt') -ge \$(sed -n 's/^kept \([0-9]*\) of.*/\1/p' '$T/r1.out')"
check "recipe 1: the expert fine-tuned 2 steps" grep -q '^wrote .*/dog.gguf: .* 2 steps' "$T/r1.out"
check "recipe 1: the expert opens" "$L" info "$T/r1/dog.gguf"
check "recipe 1: the four counts" grep -q '^stories with a dog, of 2: llama2xs-260K alone [0-2], proxy-tuned [0-2]; stories260K [0-2], the expert [0-2]$' "$T/r1.out"

# recipe 3 (docs/recipes/selfeval_probe.lua) end to end at a toy size: a 1-step "solver" of the tiny shape
mkdir -p "$T/r3"
printf 'Question: from 1 reach 4 in exactly 2 operations\nStep 1: 1 + 1 = 2\n\n' >"$T/np.txt"
"$L" train --shape tiny -T "$M/stories260K.gguf" -t 1 -b 1 --seq-len 32 --steps 1 --val 0 -w none -o "$T/r3/numpath.gguf" "$T/np.txt" >/dev/null 2>&1
R=$(cd "$(dirname "$0")/.." && pwd)
check "recipe 3 runs end to end (toy size)" sh -c "'$L' run -w '$T/r3' '$R/docs/recipes/selfeval_probe.lua' 2 2 1 1 2 >'$T/r3.out' 2>&1"
check "recipe 3: labels from the samples" grep -q '^labels: 2 prompts x 2 samples' "$T/r3.out"
check "recipe 3: the probe fine-tuned" grep -q '^fine-tuned 1 steps' "$T/r3.out"
check "recipe 3: B.run's adaptive run matches the schedule" grep -q '^held-out, 1 instances.*agreed with the replayed schedule on 1 of 1' "$T/r3.out"
check "recipe 3: both probes measured" sh -c "grep -q '^untrained probe: .*AUROC' '$T/r3.out' && grep -q '^trained probe: .*AUROC' '$T/r3.out'"
check "recipe 3: every label group answers No in its label's share (no right sample: all No)" grep -q '^labels: .*0% correct.*examples, 100% answer No' "$T/r3.out"
# the LABEL=correct diagnostic: " No" exactly for a right response (none here: no probe example answers No)
check "recipe 3, LABEL correct, runs (toy size)" sh -c "'$L' run -w '$T/r3' '$R/docs/recipes/selfeval_probe.lua' 2 2 1 1 2 0.9 trained 0 correct >'$T/r3c.out' 2>&1"
check "recipe 3, LABEL correct: No exactly for right responses" grep -q '^labels: .* 0% correct.*examples, 0% answer No' "$T/r3c.out"
check "recipe 3, LABEL correct: the trained probe measured" grep -q '^trained probe: .*AUROC' "$T/r3c.out"
check "recipe 3: the adaptive run's samples by difficulty" grep -q '^  trained probe adaptive, threshold 0.90, difficulty 2 (1 instances): .* samples on average; one sample' "$T/r3c.out"

# bad input
# optimizer settings: each named with its allowed range (a usage error: exit 2), on the command line and in lab.train
check_usage() {
  d=$1; pat=$2; shift 2
  "$@" >"$T/out" 2>"$T/err"; got=$?
  if [ "$got" -eq 2 ] && head -1 "$T/err" | grep -q -- "$pat"; then check_pass=$((check_pass+1))
  else check_fail=$((check_fail+1)); echo "FAIL: $d (exit $got)"; head -3 "$T/err"; fi
}
FT="$L finetune $M/stories260K.gguf -w none -o $T/x.gguf"
check_usage "finetune --lr -1" "finetune: --lr -1: the learning rate LR = -1 must be > 0" $FT --lr -1 "$T/a.txt"
check_usage "--lr LR,MIN with MIN < 0" "--lr 1e-3,-2: the final learning rate MIN = -2 must be >= 0" $FT --lr 1e-3,-2 "$T/a.txt"
check_usage "--adamw B1" "--adamw 1,0.95,1e-8,0.1: B1 (beta1) = 1 must be in \[0, 1)" $FT --adamw 1,0.95,1e-8,0.1 "$T/a.txt"
check_usage "--adamw B2" "--adamw 0.9,-0.5,1e-8,0.1: B2 (beta2) = -0.5 must be in \[0, 1)" $FT --adamw 0.9,-0.5,1e-8,0.1 "$T/a.txt"
check_usage "--adamw EPS" "--adamw 0.9,0.95,0,0.1: EPS = 0 must be > 0" $FT --adamw 0.9,0.95,0,0.1 "$T/a.txt"
check_usage "--adamw WD" "--adamw 0.9,0.95,1e-8,-1: WD (weight decay) = -1 must be >= 0" $FT --adamw 0.9,0.95,1e-8,-1 "$T/a.txt"
check_usage "--clip -1" "--clip -1: the norm must be a number >= 0" $FT --clip -1 "$T/a.txt"
mkdir -p "$T/wo"
cat >"$T/wo/opt.lua" <<'EOF'
local m = assert(lab.model.open(MODEL))
for _, o in ipairs({ { lr = -1 }, { lr_min = -1 }, { beta1 = 1 }, { beta2 = -0.5 }, { eps = 0 }, { weight_decay = -1 },
                     { clip = -2 }, { lr = 0 / 0 } }) do
  o.model, o.output, o.texts, o.steps = m, "x.gguf", { "hello world" }, 1
  local r, err = lab.train(o)
  print(r == nil and err or "trained")
end
EOF
sed -i "s|MODEL|'$M/stories260K.gguf'|" "$T/wo/opt.lua"
"$L" run -w "$T/wo" "$T/wo/opt.lua" >"$T/opt.out" 2>&1
check_same_lines() { if [ "$(cat "$2")" = "$3" ]; then check_pass=$((check_pass+1)); else check_fail=$((check_fail+1)); echo "FAIL: $1"; cat "$2"; fi; }
check_same_lines "lab.train: each optimizer setting named with its range" "$T/opt.out" "lab.train: optimizer setting lr = -1 is out of range: it must be > 0
lab.train: optimizer setting lr_min = -1 is out of range: it must be >= 0
lab.train: optimizer setting beta1 = 1 is out of range: it must be in [0, 1)
lab.train: optimizer setting beta2 = -0.5 is out of range: it must be in [0, 1)
lab.train: optimizer setting eps = 0 is out of range: it must be > 0
lab.train: optimizer setting weight_decay = -1 is out of range: it must be >= 0
lab.train: optimizer setting clip = -2 is out of range: it must be >= 0 (0: off)
lab.train: optimizer setting lr = NaN is out of range: it must be > 0"
"$L" quantize -q "$M/stories260K.gguf" "$T/q8.gguf" q8_0 >/dev/null 2>&1
check_err "a quantized model" "quantized model cannot be fine-tuned" "$L" finetune "$T/q8.gguf" -w none -o "$T/x.gguf" "$T/a.txt"
: >"$T/empty.txt"
check_err "an empty data file" "empty.txt: no text" "$L" train $TINY -w none -o "$T/x.gguf" "$T/empty.txt"
printf 'abc\377def' >"$T/bin.txt"
check_err "a data file that is not UTF-8" "bin.txt: not UTF-8.*offset 3" "$L" train $TINY -w none -o "$T/x.gguf" "$T/bin.txt"
printf '{"prompt": "a", "completion": "b"}\n{"prompt": "c"}\n' >"$T/bad.jsonl"
check_err "a JSONL line without a completion" 'bad.jsonl:2: no "completion"' "$L" train $TINY -w none -o "$T/x.gguf" "$T/bad.jsonl"
check_err "a sequence above the context" "above the model's context of 256" "$L" train $TINY --seq-len 300 -w none -o "$T/x.gguf" "$T/a.txt"
check_err "resume with other settings" "another learning rate" "$L" train $TINY --steps 6 --val 0.3,3,1 --lr 0.5 --resume -w "$T/ws" -o "$T/t.gguf" "$T/a.txt" "$T/qa.jsonl"
check_err "a model without a chat template" "stories260K.gguf has no chat template; name a family" "$L" finetune "$M/stories260K.gguf" --chat-template model -w none -o "$T/x.gguf" "$T/qa.jsonl"
check_err "an unknown chat template" "unknown chat template 'vicuna'" "$L" finetune "$M/stories260K.gguf" --chat-template vicuna -w none -o "$T/x.gguf" "$T/qa.jsonl"
check "no output written on failure" test ! -e "$T/x.gguf"
# the output's place is checked before training (a missing folder was found after the last step: the run was lost)
check_err "an output in a folder that does not exist: refused before training" "nodir/x.gguf: cannot write the output: folder .*/nodir: No such file" "$L" train $TINY --steps 3 -w none -o "$T/nodir/x.gguf" "$T/a.txt"
check_err "an output that is a folder" "the output is a folder, not a file" "$L" train $TINY --steps 3 -w none -o "$T" "$T/a.txt"

# the workbench plugin: :train, the loss-curve pane, the status item
mkdir -p "$T/pws" && cp "$T/a.txt" "$T/pws/a.txt"
cat >"$T/pws/p.lua" <<EOF
assert(lab.plugin.load("train"))
local pane, status
for _, h in ipairs(lab.ui.list()) do
  if h.kind == "pane" and h.name == "training" then pane = h.id end
  if h.kind == "status" and h.name == "train" then status = h.id end
end
lab.ui.run_command("train", "model=$M/stories260K.gguf data=a.txt out=ft.gguf steps=4 batch=2 seq_len=32 val=0 threads=1")
-- the command returns at once: the run trains in the background
print("after the command: " .. lab.ui.status_get(status))
for _ = 1, 400 do
  if lab.ui.status_get(status):find(" ok") then break end
  lab.sleep(0.05)
end
print(lab.ui.status_get(status))
print(table.concat(lab.ui.pane_draw(pane, 50, 8), "\\n"))
lab.ui.run_command("train_show", "1")
print(table.concat(lab.ui.pane_draw(pane, 50, 8), "\\n"))
lab.ui.run_command("train", "model=nothere.gguf data=a.txt out=y.gguf")
lab.ui.run_command("train_show", "99")
lab.ui.run_command("train_show", "abc")
lab.ui.run_command("train", "model=$M/stories260K.gguf data=a.txt out=y.gguf steps 5")
lab.ui.run_command("train", "model=$M/stories260K.gguf data=a.txt out=y.gguf stpes=5")
lab.ui.run_command("train", "model=$M/stories260K.gguf data=a.txt out=long.gguf steps=100000 batch=2 seq_len=32 val=0 threads=1")
for _ = 1, 400 do
  if lab.ui.status_get(status):find("train: [1-9]%d*/") then break end
  lab.sleep(0.05)
end
lab.ui.run_command("train", "model=$M/stories260K.gguf data=a.txt out=z.gguf")
assert(lab.ui.pane_key(pane, "s"))
for _ = 1, 400 do
  if lab.ui.status_get(status):find("stopped") then break end
  lab.sleep(0.05)
end
print(lab.ui.status_get(status))
EOF
check ":train and the training pane" sh -c "'$L' run -w '$T/pws' '$T/pws/p.lua' >'$T/pane' 2>&1"
check "the command returns before the run ends" grep -qE '^after the command: train: (starting|[0-3]/4)' "$T/pane"
check "the status item shows the last step" grep -q '^train: 4/4 loss [0-9.]* .* ok' "$T/pane"
check "the pane draws the live curve" grep -q '|.*[*]' "$T/pane"
check "the workspace has the run's curve (:train_show)" grep -q '^run 1: 4 steps' "$T/pane"
check "the tuned model is in the workspace" test -f "$T/pws/ft.gguf"
check "a missing model is a message" grep -q "^train: no model file 'nothere.gguf'" "$T/pane"
check ":train_show of a run that is not there says so" grep -q "^train: no run 99 in this workspace" "$T/pane"
check ":train_show of a non-number gives the usage" grep -q "^usage: :train_show \[N\]" "$T/pane"
check ":train: a word without = is refused" grep -q "^train: 'steps' is not key=value" "$T/pane"
check ":train: a misspelt setting is refused" grep -q "^train: .*unknown setting 'stpes'" "$T/pane"
check "a second run while one trains is refused" grep -q "a run is training" "$T/pane"
check "s in the pane stops it" grep -q "stopping after the current step" "$T/pane"
check "the stop is reported with its checkpoint" grep -q "stopped at step [0-9]* of 100000; checkpoint kept in .*long.gguf.ckpt" "$T/pane"
check "the checkpoint is kept" test -f "$T/pws/train/long.gguf.ckpt"
check "no output for the stopped run" test ! -e "$T/pws/long.gguf"
# lab.train refuses a misspelt setting or a non-number before training (`stpes = 2` trained 200 steps)
mkdir -p "$T/kws"
cat >"$T/kws/keys.lua" <<'LUA'
local m = assert(lab.model.open(arg[1]))
local ok, err = pcall(lab.train, { model = m, output = "k.gguf", texts = { "Once upon a time." }, stpes = 2 })
assert(not ok and err:find("unknown setting 'stpes'"), err)
ok, err = pcall(lab.train, { model = m, output = "k.gguf", texts = { "Once upon a time." }, steps = "abc" })
assert(not ok and err:find("lab.train: steps must be a number, got string"), err)
-- a model given by name, not opened: the setting is named (was "bad argument #-1 to '?'")
ok, err = pcall(lab.train, { model = "stories260K.gguf", output = "k.gguf", texts = { "Once upon a time." } })
assert(not ok and err:find("lab.train: model must be an open Model (lab.model.open), got string", 1, true), err)
ok, err = pcall(lab.train, { shape = { dim = 8, ffn = 16, layers = 1, heads = 1, kv_heads = 1, ctx = 32 }, vocab = 5,
  output = "k.gguf", texts = { "Once upon a time." } })
assert(not ok and err:find("lab.train: vocab must be an open Model (lab.model.open), got number", 1, true), err)
-- an output in a folder that is not there: refused before training
local r, why = lab.train{ model = m, output = "nodir/k.gguf", texts = { "Once upon a time." }, steps = 2 }
assert(r == nil and why:find("nodir/k.gguf: No such file", 1, true), why)
assert(not lab.fs.exists("k.gguf"))
print("keys ok")
LUA
check "lab.train: unknown settings and non-numbers are refused" sh -c "'$L' run -w '$T/kws' '$T/kws/keys.lua' '$M/stories260K.gguf' | grep -q 'keys ok'"
check_done
