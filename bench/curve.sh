#!/bin/sh
# The batch-size curve (issue 22, "no cliff"): the cost of one decode step of
# N sequences for N = 1..NMAX, against the best split of the same N
# sequences into smaller steps (dynamic programming over the measured
# steps). One JSON object per N: step_ms, best_split_ms, ratio (> 1 is a
# cliff: a step costs more than running its sequences in smaller steps).
# step_ms is the median over every timed step (bench's step_ms_median: 3
# repetitions x 8 steps), not a mean: a step that lost its core to another
# process does not move it. over_one = step_ms / the step of one sequence
# (issue 22's "eight sequences at most 4x one": over_one at n = 8).
# usage: bench/curve.sh LOGITLAB MODEL [THREADS] [NMAX]
set -e
BIN=$1; MODEL=$2; T=${3:-$(nproc)}; NMAX=${4:-64}
# bench takes at most eight batch sizes a call
for s in $(seq 1 8 "$NMAX"); do
  e=$((s + 7 < NMAX ? s + 7 : NMAX))
  "$BIN" bench -m "$MODEL" -t "$T" -p 0 -n 8 -r 3 -b "$(seq -s, "$s" "$e")" --json
done |
awk -v model="$(basename "$MODEL")" -v t="$T" '
  { test = $0; sub(/.*"test":"tg[0-9]+/, "", test); sub(/".*/, "", test)
    n = test == "" ? 1 : substr(test, 2) + 0
    # the median of every timed step (robust to a preempted step); older
    # binaries without it: ms per token (median repetition) x N
    if ($0 ~ /"step_ms_median":/) { ms = $0; sub(/.*"step_ms_median":/, "", ms); sub(/[,}].*/, "", ms); step[n] = ms }
    else { ms = $0; sub(/.*"ms_per_token":/, "", ms); sub(/,.*/, "", ms); step[n] = ms * n }
    if (n > max) max = n }
  END {
    for (n = 1; n <= max; n++) {
      best[n] = step[n]; split_ = n
      for (a = 1; a < n; a++) if (best[a] + best[n - a] < best[n]) { best[n] = best[a] + best[n - a]; split_ = a }
      alt = n == 1 ? step[1] : 1e30
      for (a = 1; a < n; a++) if (best[a] + best[n - a] < alt) alt = best[a] + best[n - a]
      printf "{\"model\":\"%s\",\"threads\":%d,\"test\":\"curve\",\"n\":%d,\"step_ms\":%.4f,\"best_split_ms\":%.4f,\"ratio\":%.3f,\"over_one\":%.3f}\n", \
             model, t, n, step[n], alt, step[n] / alt, step[n] / step[1]
    }
  }'
