#!/bin/sh
# Thread placement at batch 1 (issue 22): the same two-thread decode bench run
# ROUNDS times for each LOGITLAB_PIN mode, modes interleaved (a busy moment
# of the machine hits every mode alike), each run a fresh process (where the
# kernel puts a new thread differs between processes). One JSON object per
# mode:
#   runs           processes run
#   starved        runs whose worker took under 20% of the work slots
#                  (bench's worker_join_share < 0.2: a worker starved next to
#                  the caller on one CPU; ~0.75-0.95 is healthy)
#   step_ms_med    median over the runs of bench's step_ms_median (one
#                  sequence, every timed step), and its min and max
#   share_med      median worker_join_share
#   moves          workers moved off the caller's CPU, all runs together
# Modes: 0 = the default (spread and move), kernel = placement left to the
# kernel (the behaviour before), 1 = pinned.
# usage: bench/placement.sh LOGITLAB MODEL [ROUNDS] [MODES] [THREADS]
#   e.g. sh bench/placement.sh build/logitlab stories15m-q8_0.gguf 12 "0 kernel 1"
set -e
BIN=$1; MODEL=$2; R=${3:-12}; MODES=${4:-0 kernel 1}; T=${5:-2}
[ -f "$MODEL" ] || { echo "placement.sh: no model file '$MODEL'" >&2; exit 1; }
for i in $(seq 1 "$R"); do
  for m in $MODES; do
    printf '%s ' "$m"
    LOGITLAB_PIN=$m "$BIN" bench -m "$MODEL" -t "$T" -p 0 -n 32 -r 5 -b 1 --json
  done
done |
awk -v model="$(basename "$MODEL")" -v t="$T" -v modes="$MODES" '
  function field(line, name,    m) {
    if (!match(line, "\"" name "\":[-0-9.e]+")) return -1
    m = substr(line, RSTART, RLENGTH); sub(/^[^:]*:/, "", m); return m + 0
  }
  function median(a, k,    i, j, x, b) {
    for (i = 1; i <= k; i++) b[i] = a[i]
    for (i = 2; i <= k; i++) { x = b[i]; for (j = i - 1; j >= 1 && b[j] > x; j--) b[j + 1] = b[j]; b[j + 1] = x }
    return k % 2 ? b[(k + 1) / 2] : (b[k / 2] + b[k / 2 + 1]) / 2
  }
  { m = $1; n[m]++; k = n[m]
    st[m, k] = field($0, "step_ms_median"); sh[m, k] = field($0, "worker_join_share")
    mv[m] += field($0, "worker_moves") > 0 ? field($0, "worker_moves") : 0
    if (sh[m, k] >= 0 && sh[m, k] < 0.2) starved[m]++ }
  END {
    nm = split(modes, ms, " ")
    for (q = 1; q <= nm; q++) {
      m = ms[q]; k = n[m]; if (!k) continue
      lo = hi = st[m, 1]
      for (i = 1; i <= k; i++) { a[i] = st[m, i]; b[i] = sh[m, i]; if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i] }
      printf "{\"model\":\"%s\",\"threads\":%d,\"pin\":\"%s\",\"runs\":%d,\"starved\":%d,\"step_ms_med\":%.4f,\"step_ms_min\":%.4f,\"step_ms_max\":%.4f,\"share_med\":%.3f,\"moves\":%d}\n", \
        model, t, m, k, starved[m] + 0, median(a, k), lo, hi, median(b, k), mv[m]
    }
  }'
