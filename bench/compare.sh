#!/bin/sh
# bench/compare.sh: logitlab against llama.cpp on the same GGUF files and
# thread counts (issue 22's closing table). Run by hand; `make bench` runs a
# short form. For each model and thread count, R rounds; in each round, one
# after the other (interleaved, so a loaded or drifting machine hits both):
#   logitlab bench      -p P -n N -r 1 -b 1,8 --json   (ppP, tgN, tgNx8)
#   llama-bench         -p P -n N -r 1 -o jsonl          (ppP, tgN)
#   llama-batched-bench -npp 1 -ntg N -npl 8             (tgNx8: S_TG of B = 8)
#   membw T                                              (peak read bandwidth)
# One row per figure: the median round of each side, the ratio logitlab /
# llama.cpp, and for decode the weight bytes a step reads (step_bytes from
# logitlab bench) per token and the share of the measured bandwidth bound:
#   share = step_bytes x steps/s / peak read bandwidth
# (steps/s = tokens/s / sequences; the peak is the best membw figure of the
# run, all rounds and thread counts: noise only lowers a bandwidth). A share
# above 1 means the bound is wrong, not that decode beat memory: the table
# flags it with '!'. KV-cache reads are not counted (tiny at N = 32). Where a
# step's bytes fit the last-level cache (sysfs, cpu0's index3), decode need not
# read memory at all: those shares are marked 'c' ("in_cache" in JSON) and
# are no statement about memory bandwidth (stories15m's 16 MB on a 32 MiB L3).
#
# usage: sh bench/compare.sh [options] [MODEL.gguf ...]
#   -b BIN     logitlab binary (default build/logitlab)
#   -L DIR     llama.cpp's bin folder (default $LLAMA_BIN, else PATH); when
#              llama-bench or llama-batched-bench is missing, its columns are
#              skipped with a line saying so
#   -t LIST    thread counts, e.g. 1,2 (default: 1 and all cores)
#   -r R       rounds (default 3)
#   -n N       decode tokens (default 32)
#   -p P       prompt tokens (default 512; 128 for files over 256 MiB)
#   -d DIR     where the default models are made by `logitlab synth`
#              (default build/bench); llama3-8b-q4_K.gguf is used when present
#   --json     JSON lines: every sample as it is measured ("compare_sample"),
#              then one "compare" object per row
# MEMBW_GBPS=X skips the bandwidth measurement. Without MODEL arguments:
# stories15m f32/q8_0/q4_0 and tinyllama-1.1b q8_0/q4_0/q4_K (made if missing).
set -eu
BIN=build/logitlab; LDIR=${LLAMA_BIN:-}; TLIST=; R=3; N=32; P=; DIR=build/bench; JSON=0
die() { echo "compare: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    -b) BIN=${2:?}; shift 2 ;;
    -L) LDIR=${2:?}; shift 2 ;;
    -t) TLIST=$(echo "${2:?}" | tr ',' ' '); shift 2 ;;
    -r) R=${2:?}; shift 2 ;;
    -n) N=${2:?}; shift 2 ;;
    -p) P=${2:?}; shift 2 ;;
    -d) DIR=${2:?}; shift 2 ;;
    --json) JSON=1; shift ;;
    -h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) break ;;
  esac
done
for v in "$R:-r" "$N:-n" "${P:-1}:-p"; do
  case ${v%:*} in ''|*[!0-9]*|0) die "${v##*:} needs a positive integer, got '${v%:*}'" ;; esac
done
[ -x "$BIN" ] || die "logitlab binary '$BIN' not found or not executable (-b BIN)"
NCPU=$(nproc 2>/dev/null || echo 1)
[ -n "$TLIST" ] || { [ "$NCPU" = 1 ] && TLIST=1 || TLIST="1 $NCPU"; }
for t in $TLIST; do case $t in ''|*[!0-9]*|0) die "-t needs thread counts like 1,2, got '$t'" ;; esac; done

# llama.cpp's tools: a folder (-L / LLAMA_BIN) or PATH.
find_tool() {
  if [ -n "$LDIR" ]; then [ -x "$LDIR/$1" ] && echo "$LDIR/$1"; return 0; fi
  command -v "$1" 2>/dev/null || true
}
LB=$(find_tool llama-bench); LBB=$(find_tool llama-batched-bench)
where=${LDIR:-PATH}
[ -n "$LB" ] || echo "compare: llama-bench not found in $where (set LLAMA_BIN or -L DIR): its pp/tg columns are skipped" >&2
[ -n "$LBB" ] || echo "compare: llama-batched-bench not found in $where (set LLAMA_BIN or -L DIR): its x8 column is skipped" >&2

if [ $# -eq 0 ]; then
  mkdir -p "$DIR"
  for spec in stories15m:f32 stories15m:q8_0 stories15m:q4_0 tinyllama-1.1b:q8_0 tinyllama-1.1b:q4_0 tinyllama-1.1b:q4_K; do
    f="$DIR/${spec%%:*}-${spec##*:}.gguf"
    [ -f "$f" ] || { echo "compare: making $f (logitlab synth)" >&2
      "$BIN" synth --shape "${spec%%:*}" --type "${spec##*:}" -o "$f" >/dev/null || die "synth of $f failed"; }
    set -- "$@" "$f"
  done
  [ -f "$DIR/llama3-8b-q4_K.gguf" ] && set -- "$@" "$DIR/llama3-8b-q4_K.gguf"
fi
for m in "$@"; do [ -r "$m" ] || die "model '$m' not found or not readable"; done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/compare.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
S=$WORK/samples     # model threads tool test tokens_per_s [step_bytes sequences]
: >"$S"
MEMBW=${MEMBW_GBPS:-}
if [ -z "$MEMBW" ]; then
  MB=$(dirname "$BIN")/bench/membw
  mkdir -p "$(dirname "$MB")"
  cc -O2 -pthread -o "$MB" "$(dirname "$0")/membw.c" || die "cannot build $(dirname "$0")/membw.c"
fi
TTY=0; [ -t 2 ] && TTY=1
progress() { [ $TTY = 1 ] && printf '\r\033[K%s' "$*" >&2 || true; }
sample() {  # model threads tool round test tps [step_bytes seqs]
  echo "$1 $2 $3 $5 $6 ${7:-0} ${8:-0}" >>"$S"
  [ $JSON = 1 ] && printf '{"test":"compare_sample","model":"%s","threads":%s,"tool":"%s","round":%s,"bench":"%s","tokens_per_s":%s}\n' \
    "$1" "$2" "$3" "$4" "$5" "$6" || true
}
fail_tool() {  # TOOL MODEL THREADS WHAT OUTPUT-FILE: says which, where, what, and the output's end
  progress ""; [ $TTY = 1 ] && echo >&2
  echo "compare: $1 on $2 (threads $3): $4; the end of its output:" >&2
  tail -n 5 "$5" | sed 's/^/  | /' >&2
  exit 1
}

nm=$#; im=0
for M in "$@"; do
  im=$((im + 1)); name=$(basename "$M" .gguf)
  size=$(wc -c <"$M")
  p=${P:-$([ "$size" -gt 268435456 ] && echo 128 || echo 512)}
  for T in $TLIST; do
    r=1
    while [ $r -le $R ]; do
      progress "[$im/$nm] $name T$T round $r/$R: logitlab"
      O=$WORK/out
      "$BIN" bench -m "$M" -t "$T" -p "$p" -n "$N" -r 1 -b 1,8 --json >"$O" 2>&1 ||
        fail_tool "logitlab bench" "$M" "$T" "exit status $?" "$O"
      # one JSON object per test: "test":"pp512", "tokens_per_s":X, "step_bytes":B, "sequences":S
      awk '/^\{"model"/ {
          t = $0; sub(/.*"test":"/, "", t); sub(/".*/, "", t)
          v = $0; sub(/.*"tokens_per_s":/, "", v); sub(/[,}].*/, "", v)
          b = 0; if ($0 ~ /"step_bytes":/) { b = $0; sub(/.*"step_bytes":/, "", b); sub(/[,}].*/, "", b) }
          q = 0; if ($0 ~ /"sequences":/) { q = $0; sub(/.*"sequences":/, "", q); sub(/[,}].*/, "", q) }
          print t, v, b, q }' "$O" >"$WORK/ours"
      [ "$(wc -l <"$WORK/ours")" -eq 3 ] || fail_tool "logitlab bench" "$M" "$T" "expected 3 results (pp, tg, tg x8)" "$O"
      while read -r t v b q; do sample "$name" "$T" logitlab "$r" "$t" "$v" "$b" "$q"; done <"$WORK/ours"
      if [ -n "$LB" ]; then
        progress "[$im/$nm] $name T$T round $r/$R: llama-bench"
        "$LB" -m "$M" -t "$T" -p "$p" -n "$N" -r 1 -o jsonl >"$O" 2>"$WORK/err" ||
          { rc=$?; cat "$WORK/err" >>"$O"; fail_tool llama-bench "$M" "$T" "exit status $rc" "$O"; }
        # jsonl: "n_prompt": P, "n_gen": N, "avg_ts": X per test
        awk '/"avg_ts"/ {
            np = $0; sub(/.*"n_prompt": */, "", np); sub(/[,}].*/, "", np)
            ng = $0; sub(/.*"n_gen": */, "", ng); sub(/[,}].*/, "", ng)
            v = $0; sub(/.*"avg_ts": */, "", v); sub(/[,}].*/, "", v)
            if (np + 0 > 0 && ng + 0 == 0) print "pp" np, v
            else if (ng + 0 > 0 && np + 0 == 0) print "tg" ng, v }' "$O" >"$WORK/lb"
        grep -q "^pp$p " "$WORK/lb" && grep -q "^tg$N " "$WORK/lb" ||
          fail_tool llama-bench "$M" "$T" "no pp$p and tg$N results with avg_ts in its -o jsonl output" "$O"
        while read -r t v; do sample "$name" "$T" llama-bench "$r" "$t" "$v"; done <"$WORK/lb"
      fi
      if [ -n "$LBB" ]; then
        progress "[$im/$nm] $name T$T round $r/$R: llama-batched-bench"
        "$LBB" -m "$M" -t "$T" -c $((8 * (N + 2) + 64)) -b 512 -ub 512 -npp 1 -ntg "$N" -npl 8 >"$O" 2>"$WORK/err" ||
          { rc=$?; cat "$WORK/err" >>"$O"; fail_tool llama-batched-bench "$M" "$T" "exit status $rc" "$O"; }
        # the table: | PP | TG | B | N_KV | T_PP s | S_PP t/s | T_TG s | S_TG t/s | T s | S t/s |
        awk -F'|' -v n="$N" 'NF >= 11 && $3 + 0 == n && $4 + 0 == 8 && $2 ~ /^ *[0-9]+ *$/ {
            v = $9; gsub(/ /, "", v); print "tg" n "x8", v }' "$O" >"$WORK/lbb"
        [ "$(wc -l <"$WORK/lbb")" -eq 1 ] ||
          fail_tool llama-batched-bench "$M" "$T" "no table row with TG $N and B 8 (S_TG t/s)" "$O"
        while read -r t v; do sample "$name" "$T" llama-batched-bench "$r" "$t" "$v"; done <"$WORK/lbb"
      fi
      if [ -z "${MEMBW_GBPS:-}" ]; then
        progress "[$im/$nm] $name T$T round $r/$R: membw"
        g=$("$MB" "$T" | sed -n 's/.*"test":"membw".*"read_GBps":\([0-9.]*\).*/\1/p')
        [ -n "$g" ] || die "membw printed no read_GBps"
        [ $JSON = 1 ] && printf '{"test":"compare_sample","tool":"membw","threads":%s,"round":%s,"read_GBps":%s}\n' "$T" "$r" "$g" || true
        MEMBW=$(awk -v a="${MEMBW:-0}" -v b="$g" 'BEGIN { print (b + 0 > a + 0) ? b : a }')
      fi
      r=$((r + 1))
    done
  done
done
progress ""
[ $TTY = 1 ] && echo >&2

# The last-level cache, bytes ("32768K" in sysfs); 0 where unknown.
L3=$(sed -n 's/^\([0-9]*\)K$/\1/p' /sys/devices/system/cpu/cpu0/cache/index3/size 2>/dev/null || true)
L3=$(( ${L3:-0} * 1024 ))

# The table: medians over the rounds of each (model, threads, test, tool).
sort -k1,1 -k2,2n -k4,4 -k3,3 -k5,5g "$S" | awk -v bw="$MEMBW" -v l3="$L3" -v json="$JSON" -v lb="$LB" -v lbb="$LBB" '
function med(k,   n) { n = cnt[k]; return n % 2 ? val[k, (n + 1) / 2] : (val[k, n / 2] + val[k, n / 2 + 1]) / 2 }
{ k = $1 SUBSEP $2 SUBSEP $4 SUBSEP $3; cnt[k]++; val[k, cnt[k]] = $5
  if ($3 == "logitlab") { bytes[$1, $2, $4] = $6; seqs[$1, $2, $4] = $7 }
  r = $1 SUBSEP $2 SUBSEP $4; if (!(r in seen)) { seen[r] = 1; order[++nr] = r } }
END {
  if (!json) printf "%-24s %3s %-8s %12s %12s %7s %10s %9s %7s %7s\n", "model", "T", "test", "logitlab", "llama.cpp",
                    "ratio", "MB/token", "GB/s", "share", "l.share"
  for (i = 1; i <= nr; i++) {
    split(order[i], f, SUBSEP); m = f[1]; T = f[2]; t = f[3]
    ours = med(m SUBSEP T SUBSEP t SUBSEP "logitlab")
    tool = (t ~ /x8$/) ? "llama-batched-bench" : "llama-bench"
    lk = m SUBSEP T SUBSEP t SUBSEP tool
    has = (lk in cnt); l = has ? med(lk) : 0
    dec = (t ~ /^tg/); b = bytes[m, T, t]; q = seqs[m, T, t]
    gbs = (dec && q > 0) ? b * ours / q / 1e9 : 0
    sh = (gbs > 0 && bw > 0) ? gbs / bw : -1
    lsh = (dec && has && q > 0 && bw > 0) ? b * l / q / 1e9 / bw : -1
    inc = (dec && l3 > 0 && b <= l3)
    if (json) {
      printf "{\"test\":\"compare\",\"model\":\"%s\",\"threads\":%d,\"bench\":\"%s\",\"rounds\":%d,\"logitlab_tps\":%.3f", m, T, t, cnt[m SUBSEP T SUBSEP t SUBSEP "logitlab"], ours
      if (has) printf ",\"llama_tool\":\"%s\",\"llama_tps\":%.3f,\"ratio\":%.3f", tool, l, ours / l
      else printf ",\"llama_tool\":null,\"llama_tps\":null,\"ratio\":null"
      if (dec) {
        printf ",\"step_bytes\":%d,\"sequences\":%d,\"bytes_per_token\":%.0f,\"decode_GBps\":%.3f", b, q, b / q, gbs
        if (bw > 0) printf ",\"membw_GBps\":%.2f,\"share\":%.3f", bw, sh
        if (bw > 0 && has) printf ",\"llama_share\":%.3f", lsh
        printf ",\"in_cache\":%s", inc ? "true" : "false"
      }
      printf "}\n"
    } else {
      ls = has ? sprintf("%12.2f", l) : sprintf("%12s", "-"); rs = has ? sprintf("%7.2f", ours / l) : sprintf("%7s", "-")
      if (dec) { mb = sprintf("%10.2f", b / q / 1048576); g = sprintf("%9.2f", gbs)
                 s1 = sh >= 0 ? sprintf("%6.2f%s", sh, inc ? "c" : sh > 1 ? "!" : " ") : sprintf("%7s", "-")
                 s2 = lsh >= 0 ? sprintf("%6.2f%s", lsh, inc ? "c" : lsh > 1 ? "!" : " ") : sprintf("%7s", "-") }
      else { mb = sprintf("%10s", "-"); g = sprintf("%9s", "-"); s1 = sprintf("%7s", "-"); s2 = s1 }
      printf "%-24s %3d %-8s %12.2f %s %s %s %s %s %s\n", m, T, t, ours, ls, rs, mb, g, s1, s2
    }
  }
  if (!json) {
    if (bw > 0) printf "peak read bandwidth (bench/membw.c, best of the run): %.2f GB/s\n", bw
    printf "medians of the rounds; ratio = logitlab / llama.cpp (%s); share = step bytes x steps/s / peak read bandwidth (! above 1; c: the step fits the %d MiB last-level cache)\n",
           (lb != "" || lbb != "") ? "llama-bench for pp and tg, llama-batched-bench for x8" : "not found: skipped", l3 / 1048576
  } else if (bw > 0) printf "{\"test\":\"compare_membw\",\"read_GBps\":%.2f}\n", bw
}'
