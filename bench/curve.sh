#!/bin/sh
# The batch-size curve (issue 22, "no cliff"): the cost of one decode step of
# N sequences for N = 1..NMAX, against the best split of the same N
# sequences into smaller steps (dynamic programming over the measured
# steps). One JSON object per N:
#   step_ms        the step of N: median over PASSES sweeps; each sweep's
#                  figure is bench's step_ms_median, the median over every
#                  timed step (3 repetitions x 8 steps: a step that lost its
#                  core to another process does not move it; older binaries
#                  without it: ms per token of the median repetition x N)
#   per_seq_ms     step_ms / N
#   best_split_ms  the cheapest way to run the N sequences as two or more
#                  smaller steps (sums of the medians; for N = 1, step_ms)
#   split          that split's steps, largest first ("16+6"; "1" for N = 1)
#   split_spread   the split's own noise: the sum of its steps' (max - min)
#                  over the sweeps, / best_split_ms
#   ratio          step_ms / best_split_ms (> 1: the step costs more than a split)
#   spread         (max - min) / median of this N's sweeps: the measurement's
#                  own noise. The split is a minimum over many noisy sums, so
#                  with noise a ratio a little above 1 appears even on a
#                  perfectly linear curve. null with one sweep (no estimate).
#   cliff          the step less half its sweeps' range still costs more than
#                  the split plus half of each of its steps' ranges:
#                  step_ms - (max - min) / 2 > best_split_ms + sum over the
#                  split's steps of (max - min) / 2, i.e. ratio > 1 +
#                  (spread x ratio + split_spread) / 2: a cost that neither
#                  side's noise explains (until session 14 it was ratio > 1 +
#                  spread: the step's whole range, none of the parts', whose
#                  noise a split of several steps adds up, and the minimum
#                  over many splits picks their low readings); null with one
#                  sweep (it said true for any ratio above 1)
#   over_one       step_ms / the step of one sequence (issue 22's "eight
#                  sequences at most 4x one": over_one at n = 8)
# The sweeps run one after another over all N (not all sweeps of one N
# together), so a busy moment of the machine lands in one sweep of several N
# and the median discards it. CURVE_ARGS adds options to every bench call,
# e.g. CURVE_ARGS="--pass-rows 32" (steps of more than 32 sequences in
# passes of 32 over the weights) to compare with one pass. CURVE_CLOCK=cpu
# takes bench's step_cpu_ms_median instead (the process's CPU time a step:
# at one thread on a machine shared with other processes, the step's cost
# without the time slices it lost, which grow with the step's length).
# CURVE_REPLAY=FILE reads bench's --json lines from FILE (the sweeps of an
# earlier run, e.g. two binaries' interleaved runs saved apart) instead of
# running bench; LOGITLAB is then unused and MODEL only names the model.
# usage: bench/curve.sh LOGITLAB MODEL [THREADS] [NMAX] [PASSES]
set -e
BIN=$1; MODEL=$2; T=${3:-$(nproc)}; NMAX=${4:-64}; PASSES=${5:-3}
if [ -n "${CURVE_REPLAY:-}" ]; then
  [ -f "$CURVE_REPLAY" ] || { echo "curve.sh: no file '$CURVE_REPLAY' (CURVE_REPLAY)" >&2; exit 1; }
else
  [ -f "$MODEL" ] || { echo "curve.sh: no model file '$MODEL'" >&2; exit 1; }
fi
# each a whole number >= 1 (seq took "x" and NMAX 0 gave no line and status 0)
for a in "THREADS $T" "NMAX $NMAX" "PASSES $PASSES"; do
  case ${a#* } in ''|*[!0-9]*|0*) echo "curve.sh: ${a% *} must be a whole number >= 1, got '${a#* }'" >&2; exit 2 ;; esac
done
sweeps() {
  if [ -n "${CURVE_REPLAY:-}" ]; then cat "$CURVE_REPLAY"; return; fi
  for p in $(seq 1 "$PASSES"); do
    # bench takes at most eight batch sizes a call
    for s in $(seq 1 8 "$NMAX"); do
      e=$((s + 7 < NMAX ? s + 7 : NMAX))
      # shellcheck disable=SC2086
      "$BIN" bench -m "$MODEL" -t "$T" -p 0 -n 8 -r 3 -b "$(seq -s, "$s" "$e")" ${CURVE_ARGS:-} --json
    done
  done
}
sweeps |
awk -v model="$(basename "$MODEL")" -v t="$T" -v args="${CURVE_ARGS:-}" -v clock="${CURVE_CLOCK:-wall}" '
  function median(a, k,    i, j, x, b) {   # median of a[1..k] (k small: insertion sort)
    for (i = 1; i <= k; i++) b[i] = a[i]
    for (i = 2; i <= k; i++) { x = b[i]; for (j = i - 1; j >= 1 && b[j] > x; j--) b[j + 1] = b[j]; b[j + 1] = x }
    return k % 2 ? b[(k + 1) / 2] : (b[k / 2] + b[k / 2 + 1]) / 2
  }
  /"test":"tg/ {
    test = $0; sub(/.*"test":"tg[0-9]+/, "", test); sub(/".*/, "", test)
    n = test == "" ? 1 : substr(test, 2) + 0
    if (clock == "cpu" && $0 ~ /"step_cpu_ms_median":/) { ms = $0; sub(/.*"step_cpu_ms_median":/, "", ms); sub(/[,}].*/, "", ms); ms = ms + 0 }
    else if ($0 ~ /"step_ms_median":/) { ms = $0; sub(/.*"step_ms_median":/, "", ms); sub(/[,}].*/, "", ms); ms = ms + 0 }
    else { ms = $0; sub(/.*"ms_per_token":/, "", ms); sub(/,.*/, "", ms); ms = ms * n }
    k = ++cnt[n]; v[n, k] = ms
    if (n > max) max = n }
  END {
    for (n = 1; n <= max; n++) {
      if (!cnt[n]) { printf "curve.sh: no figure for a step of %d\n", n > "/dev/stderr"; exit 1 }
      lo = hi = v[n, 1]
      for (k = 1; k <= cnt[n]; k++) { a[k] = v[n, k]; if (a[k] < lo) lo = a[k]; if (a[k] > hi) hi = a[k] }
      step[n] = median(a, cnt[n]); spread[n] = (hi - lo) / step[n]; range[n] = hi - lo
    }
    for (n = 1; n <= max; n++) {
      # best[n]: the cheapest way to run n sequences (one step or a split);
      # from[n]: 0 when that is the step itself, else the larger part a1
      best[n] = step[n]; from[n] = 0
      alt = n == 1 ? step[1] : 1e30; sa = 0
      for (a1 = n - 1; a1 >= n - a1; a1--) if (best[a1] + best[n - a1] < alt) { alt = best[a1] + best[n - a1]; sa = a1 }
      if (alt < best[n]) { best[n] = alt; from[n] = sa }
      r = step[n] / alt
      parts_s = n == 1 ? "1" : parts(sa) "+" parts(n - sa)
      srange = n == 1 ? range[1] : prange(sa) + prange(n - sa)
      cliff = step[n] - range[n] / 2 > alt + srange / 2 ? "true" : "false"
      sp = sprintf("%.3f", spread[n]); ssp = sprintf("%.3f", srange / alt)
      if (cnt[n] < 2) { sp = "null"; ssp = "null"; cliff = "null" }   # one sweep: no measure of the noise
      printf "{\"model\":\"%s\",\"threads\":%d,\"args\":\"%s\",\"clock\":\"%s\",\"test\":\"curve\",\"n\":%d,\"step_ms\":%.4f,\"per_seq_ms\":%.4f,\"best_split_ms\":%.4f,\"split\":\"%s\",\"split_spread\":%s,\"ratio\":%.3f,\"spread\":%s,\"cliff\":%s,\"over_one\":%.3f}\n", \
             model, t, args, clock, n, step[n], step[n] / n, alt, parts_s, ssp, r, sp, cliff, step[n] / step[1]
    }
  }
  # the steps of the cheapest way to run n sequences, largest first, and
  # the sum of the ranges of their sweeps
  function parts(n) { return from[n] ? parts(from[n]) "+" parts(n - from[n]) : n }
  function prange(n) { return from[n] ? prange(from[n]) + prange(n - from[n]) : range[n] }'
