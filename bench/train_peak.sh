#!/bin/sh
# The trainer's share of the F32 FMA peak on a shared, loaded machine.
# Wall-clock rates there measure the share of the cores the process got,
# not the code (one step of stories15m took 36 s of wall time for 2.9 s of
# CPU time at load 18), so both sides are counted per CPU second: the work of
# a training step (6 x params x tokens) over the step's process CPU time
# (`cpu_s` of --json, every thread, spinning included), against bench/fmapeak's
# FMA work over its CPU time. REPS repetitions of (FMA peak, a 4-step
# training run, FMA peak), interleaved; each repetition's ratio uses the
# median step (the first left out) and the mean of the two peaks around it;
# the last line is the median over repetitions.
# With BLAS=1 each repetition also runs the same training on OpenBLAS
# (--gemm blas) right after: vs_blas is OpenBLAS's median step CPU time over
# the run's (above 1: the default kernel is faster per step).
# Where /usr/bin/python3 has torch (and TORCH is not 0), each repetition
# also runs bench/train_torch.py (the same model, batch, sequence, threads)
# after the training run: vs_torch is PyTorch's median step CPU time over
# logitlab's (how many times faster per CPU second).
#   sh bench/train_peak.sh [BIN] [REPS] [THREADS] [SHAPE] [GEMM]
# (defaults: build/logitlab 5 1 stories15m, the default kernel), batch 8,
# sequence 256. One JSON object a line. peak_frac is against the machine's
# F32 FMA peak (AVX-512 where the CPU has it), avx2_peak_frac against the
# AVX2 one (the most the project's own 8-wide kernel could reach).
set -e
BIN=${1:-build/logitlab}
REPS=${2:-5}
T=${3:-1}
SHAPE=${4:-stories15m}
GEMM=${5:-}
OUT=build/bench
SH=${LOGITLAB_SHARED:-../shared}/models
mkdir -p "$OUT"
cc -O2 -mavx2 -mfma -pthread -o "$OUT/fmapeak" bench/fmapeak.c
cat docs/*.md README.md >"$OUT/train-text.txt"
case $SHAPE in stories260k) tk=$SH/stories260K.gguf ;; *) tk=$SH/ggml-vocab-llama-spm.gguf ;; esac
# "AVX2-peak machine-peak" (per CPU second; the machine's is AVX-512's where the CPU has it)
peak() { "$OUT/fmapeak" "$T" | sed 's/.*"gflops_cpu":\([0-9.]*\).*"peak_cpu":\([0-9.]*\).*/\1 \2/'; }
# "params median-step-cpu-s mean-step-wall-s" of a 4-step run (the first step left out)
steps() {
  "$BIN" train --shape "$SHAPE" -T "$tk" -t "$T" -b 8 --seq-len 256 --steps 4 --warmup 0 --val 0 \
      "$@" --ckpt-every -1 -w none --json -o "$OUT/train-peak.gguf" "$OUT/train-text.txt" |
    awk '/"step":/ { match($0, /"elapsed_s":[0-9.]+/); e = substr($0, RSTART + 12, RLENGTH - 12) + 0
                     match($0, /"cpu_s":[0-9.]+/); c = substr($0, RSTART + 8, RLENGTH - 8) + 0
                     if (n > 0) { d[n] = c - pc; w += e - pe }; pc = c; pe = e; n++ }
         /"done":/ { match($0, /"params":[0-9]+/); p = substr($0, RSTART + 9, RLENGTH - 9) }
         END { m = n - 1; for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (d[j] < d[i]) { t = d[i]; d[i] = d[j]; d[j] = t }
               med = m % 2 ? d[(m + 1) / 2] : (d[m / 2] + d[m / 2 + 1]) / 2; printf "%d %.6f %.6f\n", p, med, w / m }'
}
r=1
RAT="$OUT/train_peak.$$.ratios"   # per run: two runs at once must not mix
: >"$RAT"
while [ $r -le "$REPS" ]; do
  p0=$(peak)
  line=$(steps ${GEMM:+--gemm "$GEMM"})
  bl=0
  [ "${BLAS:-0}" = 1 ] && bl=$(steps --gemm blas | cut -d' ' -f2)
  tc=0
  if [ "${TORCH:-1}" != 0 ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    tc=$(/usr/bin/python3 bench/train_torch.py "$SHAPE" "$T" 8 256 4 | sed 's/.*"step_cpu_s": *\([0-9.]*\).*/\1/')
  fi
  p1=$(peak)
  echo "$line $p0 $p1 $tc $bl" | awk -v r="$r" -v T="$T" -v s="$SHAPE" -v out="$RAT" '{
      flops = 6 * $1 * 8 * 256; g = flops / $2 / 1e9 * T; a2 = ($4 + $6) / 2; pk = ($5 + $7) / 2
      vt = $8 > 0 ? $8 / $2 : 0; vb = $9 > 0 ? $9 / $2 : 0
      printf "{\"bench\":\"train_peak\",\"rep\":%d,\"shape\":\"%s\",\"threads\":%d,\"params\":%d,\"step_cpu_s\":%.3f,\"step_wall_s\":%.3f,\"gflops_cpu\":%.2f,\"peak_cpu\":%.1f,\"peak_avx2_cpu\":%.1f,\"peak_frac\":%.3f,\"avx2_peak_frac\":%.3f,\"torch_step_cpu_s\":%.3f,\"vs_torch\":%.2f,\"blas_step_cpu_s\":%.3f,\"vs_blas\":%.3f}\n", r, s, T, $1, $2, $3, g, pk, a2, g / pk, g / a2, $8, vt, $9, vb
      print g / pk, g / a2, vt, vb >> out }'
  r=$((r + 1))
done
med() { sort -n | awk '{ v[NR] = $1 } END { printf "%.3f %.3f %.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, v[1], v[NR] }'; }
m1=$(cut -d' ' -f1 "$RAT" | med)
m2=$(cut -d' ' -f2 "$RAT" | med)
m3=$(cut -d' ' -f3 "$RAT" | med)
m4=$(cut -d' ' -f4 "$RAT" | med)
echo "$m1 $m2 $m3 $m4" | awk -v T="$T" -v s="$SHAPE" -v n="$REPS" '{
  printf "{\"bench\":\"train_peak_median\",\"shape\":\"%s\",\"threads\":%d,\"reps\":%d,\"peak_frac_median\":%s,\"min\":%s,\"max\":%s,\"avx2_peak_frac_median\":%s,\"vs_torch_median\":%s,\"vs_torch_min\":%s,\"vs_torch_max\":%s,\"vs_blas_median\":%s,\"vs_blas_min\":%s,\"vs_blas_max\":%s}\n", s, T, n, $1, $2, $3, $4, $7, $8, $9, $10, $11, $12 }'
rm -f "$RAT"
