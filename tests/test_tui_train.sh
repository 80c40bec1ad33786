#!/bin/sh
# Training from the workbench in a real terminal (tmux): :train runs in the
# background, so the workbench keeps answering keys and commands while the
# training pane draws the live loss curves and the status bar shows the
# progress; s in the pane (or :train_stop) stops it with its checkpoint kept,
# and the same :train with resume=true continues from it.
. "$(dirname "$0")/check.sh"
. "$(dirname "$0")/tui_lib.sh"
if [ ! -x "$BIN" ]; then echo "FAIL: no binary at $BIN"; echo "# passed 0 failed 1"; exit 1; fi
if ! command -v tmux >/dev/null 2>&1; then echo "FAIL: tmux is not installed"; echo "# passed 0 failed 1"; exit 1; fi
# only the train plugin: its pane is plugin pane 7
mkdir -p "$T/plug" && cp "$ROOT/plugins/train.lua" "$T/plug/"
WS=$T/ws
mkdir -p "$WS"
i=0
while [ $i -lt 40 ]; do
  printf 'Once upon a time, there was a dog named Max. Max liked to run in the park.\n\nLily had a red ball. She played with it all day.\n\n' >>"$WS/a.txt"
  i=$((i + 1))
done
TRAIN="train model=$M data=a.txt out=bg.gguf steps=200000 batch=2 seq_len=32 val=0.2 val_every=20 threads=1"

start 160 30 -- --plugins "$T/plug"
see "started" "1 prompt"
key Escape
key :; keys "$TRAIN" Enter
see "the command answers at once" "training bg.gguf in the background"
see "and names the pane and its key (the focus stays)" "training pane 7, press 7"
see "the status bar shows the steps" "/200000 loss"
key 7
see "key 7 shows the training pane" "7 training"
see "the pane has the curves' legend" "* loss  o validation"
n=0
while [ $n -lt 100 ] && ! screen | grep -q '[0-9] |[ *]*o'; do sleep 0.1; n=$((n + 1)); done
if screen | grep -q '[0-9] |[ *]*o'; then ok; else bad "a validation point (o) is drawn"; fi
# the workbench answers while it trains: a sampler command, the console
key :; keys "set temp 0.25" Enter
see "a command runs meanwhile" "temp = 0.25"
key :; keys "$TRAIN" Enter
see "a second run is refused while one trains" "a run is training"
s1=$(screen | grep -o 'train: [0-9]*/200000' | head -1)
sleep 1
s2=$(screen | grep -o 'train: [0-9]*/200000' | head -1)
if [ -n "$s1" ] && [ "$s1" != "$s2" ]; then ok; else bad "the progress moves on its own ('$s1' then '$s2')"; fi
# q while it trains asks first (quitting would stop the run); n keeps both
key q
see "q while a run trains asks first" "1 training run is still training"
key n
s1=$(screen | grep -o 'train: [0-9]*/200000' | head -1)
n=0
while [ $n -lt 100 ] && [ "$(screen | grep -o 'train: [0-9]*/200000' | head -1)" = "$s1" ]; do sleep 0.1; n=$((n + 1)); done
s2=$(screen | grep -o 'train: [0-9]*/200000' | head -1)
if [ -n "$s1" ] && [ "$s1" != "$s2" ]; then ok; else bad "after n the workbench and the run go on ('$s1' then '$s2')"; fi
key 7
key s
see "s in the pane stops the run" "stopped at step"
see "the status bar says stopped" "200000 loss"
if screen | grep -q 'stopped'; then ok; else bad "stopped is shown"; fi
if [ -f "$WS/train/bg.gguf.ckpt" ]; then ok; else bad "the checkpoint is kept"; fi
step=$(screen | grep -o 'stopped at step [0-9]*' | head -1 | sed 's/.* //')
# resume from the checkpoint, then stop with the command
key :; keys "$TRAIN resume=true" Enter
see "the resumed run starts" "training bg.gguf in the background"
see "it trains" " eta "
key :; keys "train_stop" Enter
n=0
while [ $n -lt 200 ] && ! screen | tail -1 | grep -q 'stopped'; do sleep 0.1; n=$((n + 1)); done
step2=$(screen | tail -1 | grep -o 'train: [0-9]*/' | sed 's/[^0-9]//g')
if [ -n "$step" ] && [ -n "$step2" ] && [ "$step2" -gt "$step" ]; then ok; else bad "resume continued past step $step (got $step2)"; fi
key q
see "q with no run training quits at once" "EXITED 0"

# a console's lab.train{background=true} shows in the train status item too
# (before, the item said "train: -" while it trained)
start 160 30 -- --plugins "$T/plug"
see "started again" "1 prompt"
key Escape
see "no training: train: -" "train: -"
key :; keys "lua CT = lab.train{ model = lab.model.open('$M'), texts = { lab.fs.read('a.txt') }, output = 'con.gguf', steps = 200000, batch = 2, seq_len = 32, threads = 1, background = true }" Enter
see "the console's run shows in the status item" "/200000 loss"
see_re "named as the console's" "eta [0-9hms]+ \\(console\\)"
key :; keys "lua CT:stop()" Enter
see "stopped, the item says so no more" "train: -"
key q
see "quits" "EXITED 0"
check_done
