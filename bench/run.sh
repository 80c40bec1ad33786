#!/bin/sh
# make bench: machine-readable throughput figures, one JSON object per line.
# Models are synthesized (random weights, real shapes) into build/bench once.
# THREADS (default: all cores), SHAPES and TRAIN_SHAPES can be overridden;
# ONLY=train runs the FMA peak and the training figures alone.
set -e
BIN=${1:-build/logitlab}
OUT=build/bench
T=${THREADS:-$(nproc)}
mkdir -p "$OUT"
cc -O2 -mavx2 -pthread -o "$OUT/membw" bench/membw.c
MEMBW=
[ "${ONLY:-}" = train ] || { MEMBWLINE=$("$OUT/membw" "$T" -r 5); echo "$MEMBWLINE"
  MEMBW=$(echo "$MEMBWLINE" | sed 's/.*"read_GBps":\([0-9.]*\).*/\1/'); }
cc -O2 -mavx2 -mfma -pthread -o "$OUT/fmapeak" bench/fmapeak.c
PEAKLINE=$("$OUT/fmapeak" "$T")
echo "$PEAKLINE"
PEAK=$(echo "$PEAKLINE" | sed 's/.*"gflops":\([0-9.]*\).*/\1/')
# Training's matrix products, own kernels and OpenBLAS, one thread, per CPU
# second (bench/gemmbench.c), at stories15M's shapes.
LIBA=$(dirname "$BIN")/liblogitlab.a
if [ -f "$LIBA" ]; then
  cc -O2 -std=c11 -Ikernels/cpu $(pkg-config --cflags openblas) -o "$OUT/gemmbench" bench/gemmbench.c "$LIBA" \
    $(pkg-config --libs openblas) -lm -pthread
  "$OUT/gemmbench" 2048 3
  # Batch-1 decode's products per weight byte by type, one thread, per CPU
  # second (bench/decbench.c; issue 22: K-quants against Q4_0).
  [ "${ONLY:-}" = train ] || {
    cc -O2 -std=c11 -Ikernels/cpu $(pkg-config --cflags openblas) -o "$OUT/decbench" bench/decbench.c "$LIBA" \
      $(pkg-config --libs openblas) -lm -pthread
    "$OUT/decbench" q4_0,q4_K,q5_K,q6_K 5 22; }
fi
# Training (docs/training.md): tokens/s of `logitlab train` at two shapes,
# the first step (page faults, packing) left out; GFLOPS count 6 x params x
# tokens; peak_frac against the FMA peak above. The PyTorch peer on the same
# shape, batch, sequence length and threads, where /usr/bin/python3 has torch.
SH=${LOGITLAB_SHARED:-../shared}/models
cat docs/*.md README.md >"$OUT/train-text.txt"
for spec in ${TRAIN_SHAPES:-stories260k:tok512:8:256:8 stories15m:spm:8:256:5}; do
  IFS=: read shape vocab B S N <<EOF2
$spec
EOF2
  case $vocab in tok512) tk=$SH/stories260K.gguf ;; *) tk=$SH/ggml-vocab-llama-spm.gguf ;; esac
  for gemm in own blas; do
  "$BIN" train --shape "$shape" -T "$tk" -t "$T" -b "$B" --seq-len "$S" --steps "$N" --warmup 0 --val 0 \
    --gemm "$gemm" --ckpt-every -1 -w none --json -o "$OUT/train-$shape.gguf" "$OUT/train-text.txt" |
  awk -v shape="$shape" -v T="$T" -v B="$B" -v S="$S" -v peak="$PEAK" -v gemm="$gemm" '
    /"step":/ { match($0, /"elapsed_s":[0-9.]+/); e = substr($0, RSTART + 12, RLENGTH - 12); n++; if (n == 1) e1 = e; en = e }
    /"done":/ { match($0, /"params":[0-9]+/); p = substr($0, RSTART + 9, RLENGTH - 9) }
    END { tps = (n - 1) * B * S / (en - e1); g = 6 * p * tps / 1e9;
          printf "{\"bench\":\"train\",\"impl\":\"logitlab %s gemm\",\"shape\":\"%s\",\"threads\":%d,\"batch\":%d,\"seq_len\":%d,\"params\":%d,\"tok_per_s\":%.1f,\"gflops\":%.2f,\"peak_frac\":%.3f}\n", gemm, shape, T, B, S, p, tps, g, g / peak }'
  done
  if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    /usr/bin/python3 bench/train_torch.py "$shape" "$T" "$B" "$S" "$N"
  fi
done
[ "${ONLY:-}" = train ] && exit 0
for spec in ${SHAPES:-stories15m:f32 stories15m:q8_0 stories15m:q4_0 tinyllama-1.1b:q8_0 tinyllama-1.1b:q4_0}; do
  shape=${spec%%:*}; type=${spec##*:}
  f="$OUT/$shape-$type.gguf"
  [ -f "$f" ] || "$BIN" synth --shape "$shape" --type "$type" -o "$f" >/dev/null
  "$BIN" bench -m "$f" -t "$T" -p 128 -n 64 --json
done
# Thread placement at batch 1 (bench/placement.sh): runs whose worker starved
# next to the caller, per LOGITLAB_PIN mode, PLACEMENT_ROUNDS fresh processes each.
if [ "$T" -ge 2 ] && [ -f "$OUT/stories15m-q8_0.gguf" ]; then
  sh bench/placement.sh "$BIN" "$OUT/stories15m-q8_0.gguf" "${PLACEMENT_ROUNDS:-8}" "0 kernel 1" "$T"
fi
# The memory-bandwidth share of batch-1 decode (issue 22): file bytes x
# tokens/s against the read bandwidth above, one line per model.
for spec in ${SHARE_SHAPES:-tinyllama-1.1b:q8_0 tinyllama-1.1b:q4_0}; do
  shape=${spec%%:*}; type=${spec##*:}
  f="$OUT/$shape-$type.gguf"
  [ -f "$f" ] || "$BIN" synth --shape "$shape" --type "$type" -o "$f" >/dev/null
  THREADS=$T MEMBW_GBPS=$MEMBW sh bench/share.sh "$BIN" "$f"
done
# Against llama.cpp (bench/compare.sh; the full table is run by hand, see
# docs/architecture.md): one round on the stories15m Q8_0 and Q4_0 files,
# llama.cpp's columns from LLAMA_BIN (its bin folder) or PATH, else skipped.
for f in "$OUT/stories15m-q8_0.gguf" "$OUT/stories15m-q4_0.gguf"; do
  t=${f##*-}; [ -f "$f" ] || "$BIN" synth --shape stories15m --type "${t%.gguf}" -o "$f" >/dev/null
done
MEMBW_GBPS=$MEMBW sh bench/compare.sh --json -b "$BIN" -r 1 -t "$T" "$OUT/stories15m-q8_0.gguf" "$OUT/stories15m-q4_0.gguf" |
  grep -v '"compare_sample"'
# The batch-size curve (issue 22): a step of N sequences, N = 1..64, against
# the best split of the same N into smaller steps (ratio > 1: a cliff).
# CURVE_MODELS (paths, optional) replaces the two stories15m models, e.g.
# CURVE_MODELS=build/bench/tinyllama-1.1b-q4_0.gguf CURVE_NMAX=16; at one
# thread and at THREADS (CURVE_THREADS), CURVE_PASSES sweeps (median);
# CURVE_CLOCK=cpu: each step's CPU time instead of its wall time (curve.sh).
CT=${CURVE_THREADS:-$( [ "$T" = 1 ] && echo 1 || echo "1 $T" )}
for f in ${CURVE_MODELS:-$OUT/stories15m-q8_0.gguf $OUT/stories15m-q4_0.gguf}; do
  for ct in $CT; do sh bench/curve.sh "$BIN" "$f" "$ct" "${CURVE_NMAX:-64}" "${CURVE_PASSES:-3}"; done
done
# Sampler stages and chains on flat rows of 32000 and 128256 tokens
# (bench/smpbench.c), as a fraction of one stories15m-shape decode step
# measured here just before (step_frac), and in CPU time against the same
# model's one-thread step measured by smpbench itself (step_frac_1t: robust
# to a loaded machine). Issue 14: at most 5%.
f="$OUT/stories15m-f32.gguf"
[ -f "$f" ] || "$BIN" synth --shape stories15m --type f32 -o "$f" >/dev/null
STEP=$("$BIN" bench -m "$f" -t "$T" -p 16 -n 32 --json | grep '"test":"tg32"' | sed 's/.*"ms_per_token":\([0-9.]*\).*/\1/')
cc -O2 -Icore -Ikernels/cpu -o "$OUT/smpbench" bench/smpbench.c "$(dirname "$BIN")/liblogitlab.a" \
  -L/usr/lib/x86_64-linux-gnu/openblas-pthread/ -lopenblas -lm -lpthread
"$OUT/smpbench" --step-ms "$STEP" --model "$f"
# Three models decoded together (proxy tuning, docs/plugins.md) against each
# alone: the stories15m trio, and a proxy-shaped trio (a large base, two
# small experts). ratio = together / the sum of the three alone.
for spec in stories15m:f32 stories15m:q8_0 stories15m:q4_0 tinyllama-1.1b:q4_0; do
  shape=${spec%%:*}; type=${spec##*:}
  f="$OUT/$shape-$type.gguf"
  [ -f "$f" ] || "$BIN" synth --shape "$shape" --type "$type" -o "$f" >/dev/null
done
# Constrained decoding: the tool-call schema's mask per step at 32000 and
# 128256 tokens (bench/grammar.c; llama.cpp's ratio is in docs/sampling.md),
# with p99 and max as a share of a stories15m one-thread decode step timed
# here (the target: never above 5%).
cc -O2 -std=c11 -D_GNU_SOURCE -Icore -o "$OUT/grammar" bench/grammar.c "$(dirname "$BIN")/liblogitlab.a" -lm -pthread
STEP_MS=$("$BIN" bench -m "$OUT/stories15m-f32.gguf" -t 1 -p 0 -n 32 -r 3 -b 1 --json | sed -n 's/.*"ms_per_token":\([0-9.]*\).*/\1/p' | tail -1)
"$OUT/grammar" ${STEP_MS:+--step-ms "$STEP_MS"} tests/data/grammars/tool.json "${LOGITLAB_SHARED:-../shared}/models/ggml-vocab-llama-spm.gguf" \
  "${LOGITLAB_SHARED:-../shared}/golden/tokenizer-llama3/tokenizer.json"
"$BIN" run bench/ensemble.lua "$OUT/stories15m-f32.gguf" "$OUT/stories15m-q8_0.gguf" "$OUT/stories15m-q4_0.gguf" 64 3 "$T"
"$BIN" run bench/ensemble.lua "$OUT/tinyllama-1.1b-q4_0.gguf" "$OUT/stories15m-q8_0.gguf" "$OUT/stories15m-q4_0.gguf" 32 3 "$T"
# Adaptive best-of-N (issue 16, docs/plugins.md): N = 8 and 16 candidates in
# one engine step per token against one call per candidate, the tokens saved
# by pruning, and the probe's cost as a share of one candidate's generation.
"$BIN" run bench/bestofn.lua "$OUT/stories15m-f32.gguf" 32 3
# Concurrent jobs (issue 14, lab_merge.c): engine steps of agents on two
# models and of jobs larger than a batch, together against one at a time.
"$BIN" run bench/merge_steps.lua "${LOGITLAB_SHARED:-../shared}/models/stories260K.gguf"
