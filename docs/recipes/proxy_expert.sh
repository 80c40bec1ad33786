#!/bin/sh
# Recipe 1 of docs/training.md: an expert for proxy-tuning, made from the
# model's own samples. Samples stories from stories260K, keeps those with a
# dog in them, fine-tunes stories260K on them into an expert, then counts how
# often "dog" appears in stories of llama2xs-260K (an independently trained
# model over the same 512-token vocabulary) alone and proxy-tuned with the
# expert (anti-expert: stories260K).
#
#   sh docs/recipes/proxy_expert.sh [OUT_DIR]      (a few minutes on 2 cores)
#
# LOGITLAB (default build/logitlab), LOGITLAB_SHARED (default ../shared),
# SAMPLES (stories sampled, default 1500), EVAL (stories per model, default 60),
# STEPS (fine-tuning steps, default 60). tests/test_train.sh runs it at a toy
# size: SAMPLES=24 EVAL=2 STEPS=2.
set -e
L=${LOGITLAB:-build/logitlab}
M=${LOGITLAB_SHARED:-../shared}/models
O=${1:-build/recipe-proxy}
SAMPLES=${SAMPLES:-1500}
EVAL=${EVAL:-60}
STEPS=${STEPS:-60}
mkdir -p "$O"
: >"$O/dog.txt"
kept=0
i=1
while [ "$i" -le "$SAMPLES" ]; do
  s=$("$L" gen -m "$M/stories260K.gguf" -n 256 -s "$i" -t 1 --temp 1.0 2>/dev/null)
  case $s in *[Dd]og*) printf '%s\n\n' "$s" >>"$O/dog.txt"; kept=$((kept+1)) ;; esac
  i=$((i+1))
done
echo "kept $kept of $SAMPLES samples with a dog"
"$L" finetune "$M/stories260K.gguf" -o "$O/dog.gguf" -w none --ckpt-every -1 \
  --steps "$STEPS" -b 8 --seq-len 256 --lr 5e-4,5e-5 --val 0.1,20,2 "$O/dog.txt"
count() {   # stories (one per seed) whose text has "dog"
  n=0; i=1
  while [ "$i" -le "$EVAL" ]; do
    t=$("$@" --seed "$i" 2>/dev/null)
    case $t in *[Dd]og*) n=$((n+1)) ;; esac
    i=$((i+1))
  done
  echo "$n"
}
base=$(count "$L" gen -m "$M/real/llama2xs-260K.bin" -p "Once upon a time" -n 200 -t 1 --temp 1.0)
anti=$(count "$L" gen -m "$M/stories260K.gguf" -p "Once upon a time" -n 200 -t 1 --temp 1.0)
expert=$(count "$L" gen -m "$O/dog.gguf" -p "Once upon a time" -n 200 -t 1 --temp 1.0)
proxy=$(count "$L" run plugins/proxy.lua --no-record --base "$M/real/llama2xs-260K.bin" --expert "$O/dog.gguf" \
        --anti "$M/stories260K.gguf" -p "Once upon a time" -n 200 --temp 1.0)
echo "stories with a dog, of $EVAL: llama2xs-260K alone $base, proxy-tuned $proxy; stories260K $anti, the expert $expert"
