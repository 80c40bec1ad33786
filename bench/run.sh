#!/bin/sh
# make bench: machine-readable throughput figures, one JSON object per line.
# Models are synthesized (random weights, real shapes) into build/bench once.
# THREADS (default: all cores) and SHAPES can be overridden.
set -e
BIN=${1:-build/logitlab}
OUT=build/bench
T=${THREADS:-$(nproc)}
mkdir -p "$OUT"
cc -O2 -mavx2 -pthread -o "$OUT/membw" bench/membw.c
"$OUT/membw" "$T"
for spec in ${SHAPES:-stories15m:f32 stories15m:q8_0 stories15m:q4_0 tinyllama-1.1b:q8_0 tinyllama-1.1b:q4_0}; do
  shape=${spec%%:*}; type=${spec##*:}
  f="$OUT/$shape-$type.gguf"
  [ -f "$f" ] || "$BIN" synth --shape "$shape" --type "$type" -o "$f" >/dev/null
  "$BIN" bench -m "$f" -t "$T" -p 128 -n 64 --json
done
# Three models decoded together (proxy tuning, docs/plugins.md) against each
# alone: the stories15m trio, and a proxy-shaped trio (a large base, two
# small experts). ratio = together / the sum of the three alone.
for spec in stories15m:f32 stories15m:q8_0 stories15m:q4_0 tinyllama-1.1b:q4_0; do
  shape=${spec%%:*}; type=${spec##*:}
  f="$OUT/$shape-$type.gguf"
  [ -f "$f" ] || "$BIN" synth --shape "$shape" --type "$type" -o "$f" >/dev/null
done
"$BIN" run bench/ensemble.lua "$OUT/stories15m-f32.gguf" "$OUT/stories15m-q8_0.gguf" "$OUT/stories15m-q4_0.gguf" 64 3 "$T"
"$BIN" run bench/ensemble.lua "$OUT/tinyllama-1.1b-q4_0.gguf" "$OUT/stories15m-q8_0.gguf" "$OUT/stories15m-q4_0.gguf" 32 3 "$T"
