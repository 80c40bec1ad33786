#!/bin/sh
# bench/compare.sh's parsing and arithmetic, with fake llama-bench,
# llama-batched-bench and logitlab programs printing fixed figures (no timing
# here: the figures are the fakes', so every median, ratio and share is exact),
# its error paths, and one short real run of logitlab bench's fields it reads.
. "$(dirname "$0")/check.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/logitlab-compare.XXXXXX")
[ -n "${KEEP_TMP:-}" ] && echo "temporary folder kept: $T" || trap 'rm -rf "$T"' EXIT
C="sh bench/compare.sh"
mkdir -p "$T/bin" "$T/none"

# Each fake counts its calls ($T/n.TOOL) and prints round c's figure from a
# list (rounds deliberately not in order, so the median must sort).
cat >"$T/bin/llama-bench" <<'EOF'
#!/bin/sh
d=$(dirname "$0"); echo "$*" >>"$d/args.llama-bench"
c=$(($(cat "$d/n.lb" 2>/dev/null || echo 0) + 1)); echo $c >"$d/n.lb"
[ -f "$d/fail.lb" ] && { echo "error: failed to load model" >&2; exit 3; }
p=512; n=32; while [ $# -gt 0 ]; do case $1 in -p) p=$2;; -n) n=$2;; esac; shift; done
pp=$(echo 500 520 510 | cut -d' ' -f$(( (c - 1) % 3 + 1 ))); tg=$(echo 25 20 30 | cut -d' ' -f$(( (c - 1) % 3 + 1 )))
[ -f "$d/garbage.lb" ] && { echo "| model | size | t/s |"; exit 0; }
echo "{\"build_commit\": \"fake\", \"model_filename\": \"m.gguf\", \"n_threads\": 2, \"n_prompt\": $p, \"n_gen\": 0, \"avg_ns\": 1, \"stddev_ns\": 0, \"avg_ts\": $pp.000000, \"stddev_ts\": 1.5, \"samples_ns\": [ 1 ],\"samples_ts\": [ $pp ]}"
echo "{\"build_commit\": \"fake\", \"model_filename\": \"m.gguf\", \"n_threads\": 2, \"n_prompt\": 0, \"n_gen\": $n, \"avg_ns\": 1, \"stddev_ns\": 0, \"avg_ts\": $tg.000000, \"stddev_ts\": 0.5, \"samples_ns\": [ 1 ],\"samples_ts\": [ $tg ]}"
EOF
cat >"$T/bin/llama-batched-bench" <<'EOF'
#!/bin/sh
d=$(dirname "$0"); echo "$*" >>"$d/args.llama-batched-bench"
c=$(($(cat "$d/n.lbb" 2>/dev/null || echo 0) + 1)); echo $c >"$d/n.lbb"
n=32; while [ $# -gt 0 ]; do case $1 in -ntg) n=$2;; esac; shift; done
s=$(echo 110 100 120 | cut -d' ' -f$(( (c - 1) % 3 + 1 )))
echo "main: n_kv_max = 336, n_batch = 512, n_ubatch = 512, flash_attn = 0, is_pp_shared = 0, n_gpu_layers = -1, n_threads = 2"
echo
echo "|    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |      T s |    S t/s |"
echo "|-------|--------|------|--------|----------|----------|----------|----------|----------|----------|"
echo "|     1 |     $n |    1 |     33 |    0.003 |   317.46 |    0.064 |   497.97 |    0.067 |   489.53 |"
echo "|     1 |     $n |    8 |    264 |    0.004 |  2069.86 |    0.134 |   $s.00 |    0.138 |  1918.34 |"
EOF
cat >"$T/bin/logitlab" <<'EOF'
#!/bin/sh
d=$(dirname "$0"); echo "$*" >>"$d/args.logitlab"
c=$(($(cat "$d/n.ll" 2>/dev/null || echo 0) + 1)); echo $c >"$d/n.ll"
p=128; n=64; t=2; while [ $# -gt 0 ]; do case $1 in -p) p=$2;; -n) n=$2;; -t) t=$2;; esac; shift; done
i=$(( (c - 1) % 3 + 1 ))
pp=$(echo 1030 1010 1020 | cut -d' ' -f$i); tg=$(echo 50 40 60 | cut -d' ' -f$i); x8=$(echo 200 240 220 | cut -d' ' -f$i)
echo "{\"model\":\"m.gguf\",\"type\":\"q4_0\",\"size_bytes\":1,\"threads\":$t,\"test\":\"pp$p\",\"tokens_per_s\":$pp.000,\"ms_per_token\":1,\"reps\":1}"
echo "{\"model\":\"m.gguf\",\"type\":\"q4_0\",\"size_bytes\":1,\"threads\":$t,\"test\":\"tg$n\",\"tokens_per_s\":$tg.000,\"ms_per_token\":1,\"reps\":1,\"sequences\":1,\"steps\":$n,\"step_ms_median\":1,\"step_ms_min\":1,\"step_bytes\":1000000000}"
echo "{\"model\":\"m.gguf\",\"type\":\"q4_0\",\"size_bytes\":1,\"threads\":$t,\"test\":\"tg${n}x8\",\"tokens_per_s\":$x8.000,\"ms_per_token\":1,\"reps\":1,\"sequences\":8,\"steps\":$n,\"step_ms_median\":1,\"step_ms_min\":1,\"step_bytes\":1000000000}"
EOF
chmod +x "$T/bin/llama-bench" "$T/bin/llama-batched-bench" "$T/bin/logitlab"
echo "not a real model" >"$T/m.gguf"
reset() { rm -f "$T/bin/n."* "$T/bin/args."* "$T/bin/fail."* "$T/bin/garbage."*; }

# ---- medians, ratios, shares (text) ----
reset
check_run "three rounds, text table" 0 "^m  *1 tg32 " env MEMBW_GBPS=40 $C -b "$T/bin/logitlab" -L "$T/bin" -t 1 -r 3 "$T/m.gguf"
row() { grep "^m  *$1 $2 " "$T/out" | tr -s ' ' | sed 's/ *$//'; }
# model T test logitlab llama.cpp ratio MB/token GB/s share l.share
check "pp512: medians 1020 / 510, ratio 2" test "$(row 1 pp512)" = "m 1 pp512 1020.00 510.00 2.00 - - - -"
check "tg32: 50 / 25, 953.67 MB a token, 50 GB/s, share 1.25 flagged, llama 0.62" \
  test "$(row 1 tg32)" = "m 1 tg32 50.00 25.00 2.00 953.67 50.00 1.25! 0.62"
check "tg32x8: 220 / 110 (batched-bench S_TG), a step per 8 tokens" \
  test "$(row 1 tg32x8)" = "m 1 tg32x8 220.00 110.00 2.00 119.21 27.50 0.69 0.34"
check "bandwidth line" grep -q "peak read bandwidth.*40.00 GB/s" "$T/out"
check "three rounds each" test "$(cat "$T/bin/n.ll") $(cat "$T/bin/n.lb") $(cat "$T/bin/n.lbb")" = "3 3 3"
check "logitlab bench arguments" grep -qx -- "bench -m $T/m.gguf -t 1 -p 512 -n 32 -r 1 -b 1,8 --json" "$T/bin/args.logitlab"
check "llama-bench arguments" grep -qx -- "-m $T/m.gguf -t 1 -p 512 -n 32 -r 1 -o jsonl" "$T/bin/args.llama-bench"
check "llama-batched-bench arguments" grep -q -- "-t 1 .*-npp 1 -ntg 32 -npl 8" "$T/bin/args.llama-batched-bench"
check "interleaved: one call of each per round" test "$(wc -l <"$T/bin/args.llama-bench")" -eq 3

# ---- JSON lines ----
reset
check_run "--json" 0 '"test":"compare"' env MEMBW_GBPS=40 $C --json -b "$T/bin/logitlab" -L "$T/bin" -t 1 -r 3 "$T/m.gguf"
check "one sample line per figure and round (3 x (3 + 2 + 1))" test "$(grep -c '"test":"compare_sample"' "$T/out")" -eq 18
check "json tg32 row" grep -qx '{"test":"compare","model":"m","threads":1,"bench":"tg32","rounds":3,"logitlab_tps":50.000,"llama_tool":"llama-bench","llama_tps":25.000,"ratio":2.000,"step_bytes":1000000000,"sequences":1,"bytes_per_token":1000000000,"decode_GBps":50.000,"membw_GBps":40.00,"share":1.250,"llama_share":0.625,"in_cache":false}' "$T/out"
check "json x8 row" grep -q '"bench":"tg32x8","rounds":3,"logitlab_tps":220.000,"llama_tool":"llama-batched-bench","llama_tps":110.000,"ratio":2.000,"step_bytes":1000000000,"sequences":8,"bytes_per_token":125000000,"decode_GBps":27.500' "$T/out"
check "json pp row has no share" grep -qx '{"test":"compare","model":"m","threads":1,"bench":"pp512","rounds":3,"logitlab_tps":1020.000,"llama_tool":"llama-bench","llama_tps":510.000,"ratio":2.000}' "$T/out"
if command -v python3 >/dev/null 2>&1; then
  check "every line is JSON" python3 -c "import json,sys; [json.loads(l) for l in open(sys.argv[1]) if l.strip()]" "$T/out"
fi

# ---- thread list, options, large files ----
reset
check_run "-t 1,2 -n 8 -p 16" 0 "^m  *2 tg8x8 " env MEMBW_GBPS=40 $C -b "$T/bin/logitlab" -L "$T/bin" -t 1,2 -r 1 -n 8 -p 16 "$T/m.gguf"
check "rows for both thread counts" test "$(grep -c '^m  *[12] ' "$T/out")" -eq 6
check "threads passed to llama-bench" grep -q -- "-t 2 -p 16 -n 8" "$T/bin/args.llama-bench"
truncate -s 300M "$T/big.gguf"
reset
check_run "a file over 256 MiB gets pp128" 0 "^big  *1 pp128 " env MEMBW_GBPS=40 $C -b "$T/bin/logitlab" -L "$T/bin" -t 1 -r 1 "$T/big.gguf"

# ---- llama.cpp absent: skipped, with a line saying so ----
reset
check_run "no llama.cpp: says so" 0 "llama-bench not found in $T/none" env MEMBW_GBPS=40 $C -b "$T/bin/logitlab" -L "$T/none" -t 1 -r 1 "$T/m.gguf"
check "no llama.cpp: batched-bench too" grep -q "llama-batched-bench not found" "$T/out"
check "no llama.cpp: our figures and share still there" grep -q "^m  *1 tg32  *50.00  *-  *-  *953.67  *50.00  *1.25!  *-$" "$T/out"
reset
check_run "no llama.cpp: json nulls" 0 '"llama_tps":null' env MEMBW_GBPS=40 $C --json -b "$T/bin/logitlab" -L "$T/none" -t 1 -r 1 "$T/m.gguf"

# ---- errors: which tool, which model, what ----
reset; touch "$T/bin/fail.lb"
check_run "llama-bench fails: named, exit 1" 1 "llama-bench on $T/m.gguf (threads 1): exit status 3" \
  env MEMBW_GBPS=40 $C -b "$T/bin/logitlab" -L "$T/bin" -t 1 -r 1 "$T/m.gguf"
check "its error output shown" grep -q "  | error: failed to load model" "$T/out"
reset; touch "$T/bin/garbage.lb"
check_run "llama-bench output without results" 1 "no pp512 and tg32 results" \
  env MEMBW_GBPS=40 $C -b "$T/bin/logitlab" -L "$T/bin" -t 1 -r 1 "$T/m.gguf"
check_run "missing model" 2 "model '$T/nope.gguf' not found" $C -b "$T/bin/logitlab" -L "$T/none" "$T/nope.gguf"
check_run "missing binary" 2 "logitlab binary '$T/nope' not found" $C -b "$T/nope" "$T/m.gguf"
check_run "bad rounds" 2 "-r needs a positive integer, got 'x'" $C -r x "$T/m.gguf"
check_run "bad threads" 2 "-t needs thread counts" $C -t 1,a "$T/m.gguf"
check_run "unknown option" 2 "unknown option '--nope'" $C --nope
check_run "--help" 0 "usage: sh bench/compare.sh" $C --help

# ---- the real logitlab bench: the fields compare.sh reads ----
M=$SHARED/models/stories260K.gguf
if [ -x "$LOGITLAB" ] && [ -f "$M" ]; then
  check_run "real logitlab, tiny model" 0 "^stories260K  *1 tg4x8 " \
    env MEMBW_GBPS=1 $C -b "$LOGITLAB" -L "$T/none" -t 1 -r 1 -n 4 -p 8 "$M"
  check "real: three rows" test "$(grep -c '^stories260K  *1 ' "$T/out")" -eq 3
  if [ -r /sys/devices/system/cpu/cpu0/cache/index3/size ]; then
    check "real: a 1 MB model's share is marked in cache" grep -q "^stories260K  *1 tg4 .*c *-$" "$T/out"
  fi
  # step_bytes = every tensor once, less token_embd when output.weight is its own, plus one row of it
  want=$("$LOGITLAB" info "$M" | awk '$1 ~ /\.weight$/ && NF >= 5 { b = $(NF - 1); tot += b
      if ($1 == "token_embd.weight") { te = b; rows = $5 } if ($1 == "output.weight") out = 1 }
    END { print (out ? tot - te + te / rows : tot) }')
  "$LOGITLAB" bench -m "$M" -t 1 -p 0 -n 2 -r 1 -b 1 --json >"$T/b.json" 2>&1
  check "bench step_bytes = weight bytes a step reads ($want)" grep -q "\"step_bytes\":$want[,}]" "$T/b.json"
fi
check_done
