#!/bin/sh
# The logitlab program end to end: info, tokenize, synth, quantize, bench and
# the error paths (exit 2 for usage errors, 1 for runtime failures, always a
# one-line message and never a crash). Runs in a few seconds.
. "$(dirname "$0")/check.sh"
M=$SHARED/models
T=$(mktemp -d "${TMPDIR:-/tmp}/logitlab-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
if [ ! -x "$LOGITLAB" ]; then echo "FAIL: no binary at $LOGITLAB"; echo "# passed 0 failed 1"; exit 1; fi
HAVE_PY=0; command -v python3 >/dev/null 2>&1 && HAVE_PY=1

# check_rc DESC STATUS CMD...: passes when CMD exits with exactly STATUS and,
# for a failure, prints exactly one line on stderr.
check_rc() {
  d=$1; want=$2; shift 2
  "$@" >"$T/out" 2>"$T/err"; got=$?
  lines=$(wc -l <"$T/err")
  if [ "$got" -eq "$want" ] && { [ "$want" -eq 0 ] || [ "$lines" -ge 1 ]; }; then
    check_pass=$((check_pass+1))
  else
    check_fail=$((check_fail+1)); echo "FAIL: $d (exit $got, want $want)"; head -3 "$T/err"
  fi
}
# check_out DESC EXPECTED CMD...: passes when stdout equals EXPECTED.
check_out() {
  d=$1; want=$2; shift 2
  got=$("$@" 2>"$T/err")
  if [ "$got" = "$want" ]; then check_pass=$((check_pass+1))
  else check_fail=$((check_fail+1)); echo "FAIL: $d"; printf '  got:  %s\n  want: %s\n' "$got" "$want"; fi
}
# check_py DESC PYTHON-EXPR FILE: the JSON in FILE loaded as d, EXPR must be true.
check_py() {
  [ "$HAVE_PY" -eq 1 ] || return 0
  check "$1" python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$3"
}

# ---- the program ----
check_rc "--version" 0 "$LOGITLAB" --version
check "--version prints it" grep -q '^logitlab [0-9]' "$T/out"
check_rc "--help" 0 "$LOGITLAB" --help
check "--help lists commands" grep -q 'tokenize' "$T/out"
check "--help says the exit statuses" grep -q "^Exit status: 0 success; 1 a failure, a bad input file included" "$T/out"
check_rc "no command prints usage" 0 "$LOGITLAB"
for c in info tokenize synth quantize bench; do
  check_rc "$c --help" 0 "$LOGITLAB" $c --help
done
check_rc "help tokenize" 0 "$LOGITLAB" help tokenize
# every command's --help fits 100 columns (option help wrapped under its
# column), and an option name wider than the column has a line of its own
wide=""
for c in info tokenize bench synth train finetune quantize convert gen ppl runs export tui run repl; do
  "$LOGITLAB" $c --help >"$T/help" 2>&1 || wide="$wide $c(exit)"
  awk 'length > 100 { bad = 1 } END { exit bad }' "$T/help" || wide="$wide $c"
done
check "every --help within 100 columns:$wide" test -z "$wide"
"$LOGITLAB" gen --help >"$T/help"
check "gen --help: a long option name on its own line" grep -q '^      --frequency-penalty F$' "$T/help"
check_rc "unknown command" 2 "$LOGITLAB" frobnicate
check "unknown command says so" grep -q "unknown command 'frobnicate'" "$T/err"
check_rc "unknown program flag" 2 "$LOGITLAB" --frob
check_rc "unknown command flag" 2 "$LOGITLAB" info --frob "$M/stories260K.gguf"
check_rc "missing option value" 2 "$LOGITLAB" tokenize -m
check_rc "negative thread count" 2 "$LOGITLAB" bench -m "$M/stories260K.gguf" -t -5
check "negative number named" grep -q -- "-t must be" "$T/err"
check_rc "negative prompt" 2 "$LOGITLAB" bench -m "$M/stories260K.gguf" -p -1
check_rc "non-numeric reps" 2 "$LOGITLAB" bench -m "$M/stories260K.gguf" -r 3x
check_rc "bench -b with an empty item" 2 "$LOGITLAB" bench -m "$M/stories260K.gguf" -b 1,,2
check "bench -b 1,,2: the message names the item" grep -q "^logitlab bench: -b: an empty item in '1,,2'" "$T/err"
check_rc "bench -b with a trailing comma" 2 "$LOGITLAB" bench -m "$M/stories260K.gguf" -b 8,
check_rc "bench -p 0 -n 0: nothing to measure" 2 "$LOGITLAB" bench -m "$M/stories260K.gguf" -p 0 -n 0
check_rc "negative seed" 2 "$LOGITLAB" synth --shape test --type f32 -o "$T/x.gguf" --seed -1
check_rc "negative positional" 2 "$LOGITLAB" quantize "$M/stories260K.gguf" "$T/x.gguf" -3
check_rc "missing model file" 1 "$LOGITLAB" info "$T/nope.gguf"
check "missing file message" grep -q "no model file" "$T/err"
# a path that is there but no model says what it is (it read "no model file
# 'DIR': looked at DIR", as if it were not there)
check_rc "a folder as the model" 1 "$LOGITLAB" info "$T"
check "a folder as the model: says so" grep -q "^logitlab info: model '$T': a folder, not a model file$" "$T/err"
check_rc "a device as the model" 1 "$LOGITLAB" gen -m /dev/null -p x
check "a device as the model: says so" grep -q "^logitlab gen: model '/dev/null': not a regular file$" "$T/err"
check_rc "missing model name lists places" 1 "$LOGITLAB" tokenize -m nope.gguf hi
check "places searched" grep -q "models/nope.gguf" "$T/err"

# ---- info ----
check_rc "info stories260K.gguf" 0 "$LOGITLAB" info "$M/stories260K.gguf"
check "info: metadata" grep -q 'llama.embedding_length *u32 *64' "$T/out"
check "info: tensor table" grep -q 'blk.4.ffn_down.weight *f32 *172 x 64' "$T/out"
check "info: totals" grep -q '48 tensors, 292800 params' "$T/out"
check "info: derived hyperparameters" grep -q 'heads 8, kv heads 4, head dim 8' "$T/out"
check_rc "info by name via LOGITLAB_MODEL" 0 env LOGITLAB_MODEL="$M/stories260K.gguf" "$LOGITLAB" info
check_rc "info --json" 0 "$LOGITLAB" info --json "$M/stories260K.gguf"
cp "$T/out" "$T/info.json"
check_py "info --json content" 'd["version"]==3 and len(d["tensors"])==48 and d["totals"]["params"]==292800 and d["model"]["n_kv_heads"]==4 and d["tokenizer"]["n_vocab"]==512 and any(m["key"]=="tokenizer.ggml.tokens" and m["count"]==512 for m in d["metadata"])' "$T/info.json"
check_rc "info vocabulary-only GGUF" 0 "$LOGITLAB" info "$M/ggml-vocab-llama-spm.gguf"
check "info vocab: tokenizer" grep -q 'tokenizer: spm, 32000 tokens' "$T/out"
check_rc "info llama2.c checkpoint" 0 "$LOGITLAB" info "$M/stories260K.bin"
check "info llama2.c: model" grep -q 'llama2.c' "$T/out"

# ---- tokenize ----
V=$M/ggml-vocab-llama-spm.gguf
check_out "tokenize Hello world" "$(printf '1\t<s>\n15043\t Hello\n3186\t world')" "$LOGITLAB" tokenize -m "$V" "Hello world"
check_out "tokenize --json" '{"ids":[1,15043,3186],"pieces":["<s>"," Hello"," world"]}' "$LOGITLAB" tokenize -m "$V" --json "Hello world"
check_out "tokenize --no-bos" '{"ids":[15043,3186],"pieces":[" Hello"," world"]}' "$LOGITLAB" tokenize -m "$V" --no-bos --json "Hello world"
check_out "tokenize --special <s>" '{"ids":[1,1],"pieces":["<s>","<s>"]}' "$LOGITLAB" tokenize -m "$V" --special --json "<s>"
check_out "tokenize <s> as text" '{"ids":[1,529,29879,29958],"pieces":["<s>"," <","s",">"]}' "$LOGITLAB" tokenize -m "$V" --json "<s>"
check_out "tokenize from stdin, newline escaped" "$(printf '1\t<s>\n263\t a\n13\t\\n\n29890\tb')" sh -c "printf 'a\nb' | \"$LOGITLAB\" tokenize -m \"$M/tokenizer.bin\" -f -"
check_out "tokenize with a model" '{"ids":[1,403,407],"pieces":["<s>"," Once"," upon"]}' "$LOGITLAB" tokenize -m "$M/stories260K.gguf" --json "Once upon"
check_out "tokenize with a llama2.c model" '{"ids":[1,403,407],"pieces":["<s>"," Once"," upon"]}' "$LOGITLAB" tokenize -m "$M/stories260K.bin" --json "Once upon"
check_rc "tokenize without text" 2 "$LOGITLAB" tokenize -m "$V"

# ---- synth ----
for t in f32 f16 bf16 q8_0 q4_0 q5_0 q4_K q5_K q6_K; do
  check_rc "synth test $t" 0 "$LOGITLAB" synth --shape test --type $t -o "$T/s-$t.gguf" -t 2
  check_rc "info synth $t" 0 "$LOGITLAB" info --json "$T/s-$t.gguf"
  cp "$T/out" "$T/s-$t.json"
  check_py "synth $t: shape and type" 'd["model"]["dim"]==64 and d["model"]["n_layers"]==2 and d["model"]["n_vocab"]==32000 and d["model"]["tied_output"] and all(x["type"]=="f32" for x in d["tensors"] if len(x["shape"])==1)'  "$T/s-$t.json"
done
check "synth q8_0 weights are q8_0" grep -q '"name":"blk.0.attn_q.weight","type":"q8_0"' "$T/s-q8_0.json"
check "synth q4_K falls back for 64-wide rows" grep -q '"name":"blk.0.attn_q.weight","type":"q5_0"' "$T/s-q4_K.json"
check_rc "synth same seed" 0 "$LOGITLAB" synth --shape test --type q4_0 -o "$T/s-q4_0-again.gguf" -t 1
check "synth is deterministic across thread counts" cmp -s "$T/s-q4_0.gguf" "$T/s-q4_0-again.gguf"
check_rc "synth other seed" 0 "$LOGITLAB" synth --shape test --type q4_0 -o "$T/s-seed2.gguf" --seed 2
check_not "synth seed changes the weights" cmp -s "$T/s-q4_0.gguf" "$T/s-seed2.gguf"
# --json: an object per tensor, then a summary; the same bytes as without it
check_rc "synth --json" 0 "$LOGITLAB" synth --shape test --type q4_0 -o "$T/s-json.gguf" -t 1 --json
check "synth --json: the same file" cmp -s "$T/s-q4_0.gguf" "$T/s-json.gguf"
[ "$HAVE_PY" -eq 1 ] && check "synth --json: 20 progress objects, then done" python3 -c "
import json
objs = [json.loads(l) for l in open('$T/out')]
p, d = objs[:-1], objs[-1]
assert [o['tensor'] for o in p] == list(range(1, 21)) and all(o['type'] == 'progress' and o['tensors'] == 20 for o in p), p[:2]
assert p[0]['name'] == 'token_embd.weight', p[0]
assert d['type'] == 'done' and d['shape'] == 'test' and d['dtype'] == 'q4_0' and d['tensors'] == 20 and d['seed'] == 1, d
"
# no vocabulary file anywhere (as on a machine without ../shared): generated
LL=$(cd "$(dirname "$LOGITLAB")" && pwd)/$(basename "$LOGITLAB")
# run two levels below $T, so that ../shared is $T/nov/shared, which never exists
# (a /tmp/shared left on the machine must not decide the test)
mkdir -p "$T/nov/cwd"
check_rc "synth generated vocabulary" 0 env LOGITLAB_SHARED=/nonexistent sh -c "cd '$T/nov/cwd' && '$LL' synth --shape test --type q8_0 -o gen.gguf"
check "synth says generated" grep -q 'generated SPM' "$T/out"
check_out "generated vocabulary tokenizes" '{"ids":[1,11405,960],"pieces":["<s>"," hel","lo"]}' "$LOGITLAB" tokenize -m "$T/nov/cwd/gen.gguf" --json "hello"
check_rc "synth unknown shape" 2 "$LOGITLAB" synth --shape huge --type f16 -o "$T/x.gguf"
check_rc "synth unknown type" 2 "$LOGITLAB" synth --shape test --type q3_K -o "$T/x.gguf"
check_rc "synth unwritable output" 1 "$LOGITLAB" synth --shape test --type f16 -o "$T/no/such/dir/x.gguf"

# ---- quantize ----
check_rc "quantize stories260K to q8_0" 0 "$LOGITLAB" quantize "$M/stories260K.gguf" "$T/q8.gguf" q8_0
check "quantize prints per-tensor lines" grep -q 'blk.0.attn_q.weight.*f32 -> q8_0' "$T/out"
check "quantize falls back for 172-wide rows" grep -q 'blk.0.ffn_down.weight.*f32 -> f16' "$T/out"
check_rc "info on the quantized file" 0 "$LOGITLAB" info --json "$T/q8.gguf"
cp "$T/out" "$T/q8.json"
check_py "quantized metadata and types" 'any(m["key"]=="general.file_type" and m["value"]==7 for m in d["metadata"]) and d["model"]["wtype"]=="q8_0" and len(d["tensors"])==48' "$T/q8.json"
check_rc "quantize back to f32" 0 "$LOGITLAB" quantize -q "$T/q8.gguf" "$T/q8-f32.gguf" f32
# OUT a file of a workspace (a folder holding logitlab.db): refused, as export -o is
mkdir -p "$T/wq" && printf 'db' >"$T/wq/logitlab.db"
check_rc "quantize OUT = a workspace's database: refused" 2 "$LOGITLAB" quantize -q "$M/stories260K.gguf" "$T/wq/logitlab.db" q8_0
check_rc "synth -o a workspace's config.lua: refused" 2 "$LOGITLAB" synth --shape test --type f32 -o "$T/wq/config.lua"
check_rc "convert OUT = a workspace's database: refused" 2 "$LOGITLAB" convert "$M/stories260K.bin" "$T/wq/logitlab.db"
check "the workspace's files are as they were" sh -c "test \"\$(cat '$T/wq/logitlab.db')\" = db && test ! -e '$T/wq/config.lua'"
# --json: an object per tensor (a running byte count), then a summary naming the input given
check_rc "quantize --json" 0 "$LOGITLAB" quantize --json "$M/stories260K.gguf" "$T/q4j.gguf" q4_0
[ "$HAVE_PY" -eq 1 ] && check "quantize --json: 48 progress objects, then done" python3 -c "
import json
objs = [json.loads(l) for l in open('$T/out')]
p, d = objs[:-1], objs[-1]
assert len(p) == 48 and all(o['type'] == 'progress' for o in p) and [o['tensor'] for o in p] == list(range(1, 49)), p[:2]
assert all(o['tensors'] == 48 for o in p) and p[-1]['written'] == d['bytes'] == sum(o['bytes'] for o in p), (p[-1], d)
assert any(o['name'] == 'blk.0.attn_q.weight' and o['from'] == 'f32' and o['dtype'] == 'q4_0' for o in p)
assert d['type'] == 'done' and d['dtype'] == 'q4_0' and d['tensors'] == 48 and d['input'].endswith('stories260K.gguf'), d
"
check_rc "quantize --json from a llama2.c checkpoint" 0 "$LOGITLAB" quantize --json "$M/stories260K.bin" "$T/q4jb.gguf" q4_0
check "quantize: the summary names the checkpoint, not its temporary GGUF" grep -q '"input":"[^"]*stories260K.bin"' "$T/out"
check "quantize --json from a checkpoint: every line of stdout is a JSON object" sh -c "! grep -v '^{' '$T/out'"
# the checkpoint's GGUF is a hidden temporary beside OUT, locked while quantize
# lives: a quantize killed after writing it (OUT a FIFO whose reader goes
# away: SIGPIPE, deterministically half way) leaves nothing visible, and the
# next quantize to OUT sweeps the left one once stale (aged here with touch)
mkdir -p "$T/l2c"; mkfifo "$T/l2c/m.gguf"
"$LOGITLAB" quantize -q "$M/stories260K.bin" "$T/l2c/m.gguf" q8_0 >/dev/null 2>&1 &
head -c 100 "$T/l2c/m.gguf" >/dev/null; wait $!; rc=$?
check "a quantize of a checkpoint killed half way (SIGPIPE)" test "$rc" -eq 141
check "leaves no visible file beside OUT" test "$(ls "$T/l2c")" = m.gguf
check "but its hidden temporary GGUF" test "$(ls -A "$T/l2c" | grep -c '^\.m\.gguf\.llama2c\.[A-Za-z0-9]\{6\}\.tmp$')" = 1
touch -d '10 minutes ago' "$T/l2c/".m.gguf.llama2c.*.tmp
"$LOGITLAB" quantize -q "$M/stories260K.bin" "$T/l2c/m.gguf" q8_0 >/dev/null 2>&1 &
cat "$T/l2c/m.gguf" >"$T/l2c-out.gguf"; wait $!; rc=$?
check "the next quantize to OUT runs" test "$rc" -eq 0
check "and sweeps the stale temporary: only OUT is left" test "$(ls -A "$T/l2c")" = m.gguf
check_out "round trip keeps the tokenizer" '{"ids":[1,403,407],"pieces":["<s>"," Once"," upon"]}' "$LOGITLAB" tokenize -m "$T/q8-f32.gguf" --json "Once upon"
check_rc "quantize synth-A f16 to q8_0" 0 "$LOGITLAB" quantize -q "$M/synthetic/synth-A-f16.gguf" "$T/a-q8_0.gguf" q8_0
check "q8_0 output is byte-identical to llama-quantize" cmp -s "$T/a-q8_0.gguf" "$M/synthetic/synth-A-q8_0.gguf"
check_rc "quantize unknown type" 2 "$LOGITLAB" quantize "$M/stories260K.gguf" "$T/x.gguf" q9_9
check_rc "quantize onto itself" 2 "$LOGITLAB" quantize "$T/q8.gguf" "$T/q8.gguf" q4_0
# quantize, convert and synth write OUT beside it and rename it into place at
# the end: one that fails half way (the file-size limit stands in for a full
# disk; SIGXFSZ ignored, the write fails) or is killed (SIGXFSZ kills it, as
# Ctrl-C would) leaves an existing OUT whole (it was truncated, or removed)
mkdir -p "$T/keep"; printf 'old model' >"$T/keep/old"
for how in fails killed; do
  sig=""; [ $how = fails ] && sig="trap '' XFSZ;"
  cp "$T/keep/old" "$T/keep/m.gguf"
  (sh -c "$sig ulimit -f 20; exec \"\$0\" quantize -q \"\$1\" \"\$2\" q8_0" "$LOGITLAB" "$M/stories260K.gguf" "$T/keep/m.gguf" >/dev/null 2>&1) 2>/dev/null
  check "a quantize that $how half way leaves OUT whole" cmp -s "$T/keep/m.gguf" "$T/keep/old"
  (sh -c "$sig ulimit -f 20; exec \"\$0\" convert -q \"\$1\" \"\$2\"" "$LOGITLAB" "$M/stories260K.bin" "$T/keep/m.gguf" >/dev/null 2>&1) 2>/dev/null
  check "a convert that $how half way leaves OUT whole" cmp -s "$T/keep/m.gguf" "$T/keep/old"
  (sh -c "$sig ulimit -f 20; exec \"\$0\" synth --shape test --type f32 -o \"\$1\"" "$LOGITLAB" "$T/keep/m.gguf" >/dev/null 2>&1) 2>/dev/null
  check "a synth that $how half way leaves OUT whole" cmp -s "$T/keep/m.gguf" "$T/keep/old"
done 2>/dev/null
check "a write that failed left no temporary (a killed one's is swept later)" test "$(ls -A "$T/keep" | grep -c '^\.m\.gguf\.[A-Za-z0-9]\{6\}\.tmp$')" = 3
check_rc "quantize onto an existing OUT replaces it" 0 "$LOGITLAB" quantize -q "$M/stories260K.gguf" "$T/keep/m.gguf" q8_0
check "and it is the model now" cmp -s "$T/keep/m.gguf" "$T/q8.gguf"
check_rc "quantize missing input" 1 "$LOGITLAB" quantize "$T/nope.gguf" "$T/x.gguf" q8_0

# ---- bench ----
check_rc "bench --json" 0 "$LOGITLAB" bench -m "$M/stories260K.gguf" -t 1 -p 16 -n 4 -r 1 -b 1,4 --json
check "bench: one line per test" test "$(wc -l <"$T/out")" -eq 3
check "bench: tests named" grep -q '"test":"tg4x4"' "$T/out"
if [ "$HAVE_PY" -eq 1 ]; then
  check "bench: JSON lines" python3 -c "
import json,sys
for l in open(sys.argv[1]):
    d=json.loads(l); assert d['tokens_per_s']>0 and d['threads']==1 and d['type']=='f32' and d['size_bytes']>0
" "$T/out"
fi
# the robust statistics: min <= median <= max over the repetitions; decode
# tests add the median and min of every step (3 reps x 4 steps)
check_rc "bench --json -r 3" 0 "$LOGITLAB" bench -m "$M/stories260K.gguf" -t 1 -p 8 -n 4 -r 3 -b 1,3 --json
if [ "$HAVE_PY" -eq 1 ]; then
  check "bench: rep and step statistics" python3 -c "
import json,sys
tests = {}
for l in open(sys.argv[1]):
    d = json.loads(l); tests[d['test']] = d
    assert d['reps'] == 3
    assert 0 < d['ms_per_token_min'] <= d['ms_per_token'] <= d['ms_per_token_max'], d
    assert d['ms_per_token_min'] <= d['ms_per_token_mean'] <= d['ms_per_token_max'], d
    if d['test'].startswith('tg'):
        assert d['steps'] == 12 and 0 < d['step_ms_min'] <= d['step_ms_median'], d
        # a step is all sequences' tokens: no faster than the fastest repetition allows
        assert d['step_ms_min'] <= d['ms_per_token_max'] * d['sequences'] * 1.0001, d
        # CPU time of a one-thread step: some, and (clock granularity aside) no more than a second
        assert 0 < d['step_cpu_ms_median'] < 1000, d
    else:
        assert 'steps' not in d, d
assert sorted(tests) == ['pp8', 'tg4', 'tg4x3'] and tests['tg4x3']['sequences'] == 3, tests
assert all('worker_join_share' not in d for d in tests.values()), tests   # one thread: no workers
" "$T/out"
fi
# two threads: the pool's counters (share of work slots the worker took, moves, placement)
check_rc "bench --json -t 2" 0 env LOGITLAB_PIN=1 "$LOGITLAB" bench -m "$M/stories260K.gguf" -t 2 -p 0 -n 4 -r 2 -b 1 --json
check_py "bench -t 2: worker counters" "all(0 <= x['worker_join_share'] <= 1 and x['worker_moves'] == 0 and x['placement'] == 'pin' for x in [d])" "$T/out"
check_rc "LOGITLAB_PIN=2 refused" 1 env LOGITLAB_PIN=2 "$LOGITLAB" bench -m "$M/stories260K.gguf" -t 2 -p 8 -n 1 -r 1 -b 1
check "LOGITLAB_PIN=2: the message names the variable and the value" grep -q 'LOGITLAB_PIN is "2"' "$T/err"
check "LOGITLAB_PIN=2: the message starts with the variable, not the model's path" grep -q '^logitlab bench: the environment.s LOGITLAB_PIN is "2": it must be' "$T/err"
check_rc "gen: a bad LOGITLAB_PIN refused" 1 env LOGITLAB_PIN=pinned "$LOGITLAB" gen -m "$M/stories260K.gguf" -p hi -n 2
check "gen: the message names LOGITLAB_PIN and its value, not the model" grep -q '^logitlab gen: the environment.s LOGITLAB_PIN is "pinned": it must be' "$T/err"
check_rc "gen --help with a bad LOGITLAB_PIN: the help" 0 env LOGITLAB_PIN=pinned "$LOGITLAB" gen --help
# the settings a figure was measured with are on its line
check_rc "bench --json: the settings" 0 env LOGITLAB_HUGEPAGES=off "$LOGITLAB" bench -m "$M/stories260K.gguf" -t 1 -p 0 -n 2 -r 1 -b 2 --pass-rows 1 --json
check "bench --json: backend, pass_rows, huge_pages" grep -q '"backend":"cpu","pass_rows":1,"huge_pages":"off"' "$T/out"
check_rc "bench: the settings in the header" 0 env LOGITLAB_HUGEPAGES=0 "$LOGITLAB" bench -m "$M/stories260K.gguf" -t 1 -p 0 -n 2 -r 1 -b 2 --pass-rows 1
check "bench: passes and huge pages in the header" grep -q '^model stories260K.gguf: .*backend cpu, kernels [a-z0-9-]*, passes of 1 rows, huge pages off$' "$T/out"
# LOGITLAB_ISA caps the kernel path (portable runs on any CPU; avx2 where the
# CPU has it, else the best below); a name that is no path is refused
check_rc "bench LOGITLAB_ISA=portable" 0 env LOGITLAB_ISA=portable "$LOGITLAB" bench -m "$M/stories260K.gguf" -t 1 -p 8 -n 2 -r 1 -b 1 --json
check "bench LOGITLAB_ISA=portable: isa portable on every line" sh -c "[ \$(grep -c '\"isa\":\"portable\"' '$T/out') -eq 2 ]"
check_rc "bench LOGITLAB_ISA=avx2" 0 env LOGITLAB_ISA=avx2 "$LOGITLAB" bench -m "$M/stories260K.gguf" -t 1 -p 8 -n 2 -r 1 -b 1
check "bench LOGITLAB_ISA=avx2: at most avx2 in the header" grep -Eq 'backend cpu, kernels (avx2|portable)' "$T/out"
check_rc "LOGITLAB_ISA=avx3 refused" 1 env LOGITLAB_ISA=avx3 "$LOGITLAB" bench -m "$M/stories260K.gguf" -t 1 -p 8 -n 1 -r 1 -b 1
check "LOGITLAB_ISA=avx3: the message names the variable, the value and the names" grep -q 'LOGITLAB_ISA is "avx3": it must be one of portable, avx2, avx-vnni, avx512, avx512-vnni, avx512-amx' "$T/err"

# bench/curve.sh at a toy size: one line per N; with one sweep the noise is
# unknown, so spread and cliff are null (cliff was true for any ratio above
# 1); a bad NMAX is refused (it printed nothing with status 0)
CURVE="$(dirname "$0")/../bench/curve.sh"
check_rc "curve.sh, 2 sweeps" 0 sh "$CURVE" "$LOGITLAB" "$M/stories260K.gguf" 1 2 2
check "curve.sh: a line per N, spread and cliff measured" sh -c "[ \$(grep -c '\"test\":\"curve\".*\"spread\":[0-9.]*,\"cliff\":\(true\|false\)' '$T/out') -eq 2 ]"
check_rc "curve.sh, 1 sweep" 0 sh "$CURVE" "$LOGITLAB" "$M/stories260K.gguf" 1 2 1
check "curve.sh, 1 sweep: spread and cliff null" sh -c "[ \$(grep -c '\"spread\":null,\"cliff\":null' '$T/out') -eq 2 ]"
# the statistic on recorded sweeps (CURVE_REPLAY): one sequence 1 ms with a
# wide range (0.7-1.3), two 2.2 ms (ratio 1.1 to 1+1, which the old rule
# ratio > 1 + spread flagged: the parts' noise explains it), three 4 ms
# (ratio 1.33 to 1+1+1: 3.99 > 3 + 3 x 0.6 / 2, a cliff)
printf '%s\n' '{"test":"tg8","step_ms_median":1.0}' '{"test":"tg8x2","step_ms_median":2.2}' '{"test":"tg8x3","step_ms_median":4.0}' \
  '{"test":"tg8","step_ms_median":1.3}' '{"test":"tg8x2","step_ms_median":2.21}' '{"test":"tg8x3","step_ms_median":4.01}' \
  '{"test":"tg8","step_ms_median":0.7}' '{"test":"tg8x2","step_ms_median":2.19}' '{"test":"tg8x3","step_ms_median":3.99}' > "$T/replay.jsonl"
check_rc "curve.sh, replayed sweeps" 0 env CURVE_REPLAY="$T/replay.jsonl" sh "$CURVE" none toy.gguf 1 3 3
check "curve.sh replayed: 2 within the parts' noise" grep -q '"n":2,.*"split":"1+1","split_spread":0.600,"ratio":1.100,"spread":0.009,"cliff":false' "$T/out"
check "curve.sh replayed: 3 a cliff over 1+1+1" grep -q '"n":3,.*"best_split_ms":3.0000,"split":"1+1+1","split_spread":0.600,"ratio":1.333,.*"cliff":true' "$T/out"
check_rc "curve.sh, NMAX 0" 2 sh "$CURVE" "$LOGITLAB" "$M/stories260K.gguf" 1 0 1
check "curve.sh, NMAX 0: named" grep -q "NMAX must be a whole number >= 1, got '0'" "$T/err"

# ---- damaged files ----
head -c 5000 "$M/stories260K.gguf" >"$T/trunc.gguf"
check_rc "info on a truncated GGUF" 1 "$LOGITLAB" info "$T/trunc.gguf"
check "truncated: one line" test "$(wc -l <"$T/err")" -eq 1
check_rc "tokenize with a truncated GGUF" 1 "$LOGITLAB" tokenize -m "$T/trunc.gguf" hi
check_rc "bench with a truncated GGUF" 1 "$LOGITLAB" bench -m "$T/trunc.gguf"
check_rc "quantize a truncated GGUF" 1 "$LOGITLAB" quantize "$T/trunc.gguf" "$T/x.gguf" q8_0
head -c 3 "$M/stories260K.gguf" >"$T/tiny.gguf"
check_rc "info on a 3-byte file" 1 "$LOGITLAB" info "$T/tiny.gguf"
check_rc "info on a text file" 1 "$LOGITLAB" info "$SHARED/models/README.md"
# tui --plugins: a folder named that is not there is said before the
# terminal is needed (it was skipped in silence); "~/" is the home folder
check_rc "tui --plugins: a missing folder" 1 "$LOGITLAB" tui --plugins "$T/noplugins" </dev/null
check "tui --plugins: the message names it" grep -q "^logitlab tui: --plugins: $T/noplugins: No such file or directory" "$T/err"
check_rc "tui --plugins: a file" 1 "$LOGITLAB" tui --plugins "$T/err:$T" </dev/null
check "tui --plugins: not a folder" grep -q "^logitlab tui: --plugins: $T/err: not a folder" "$T/err"
mkdir -p "$T/home/myplug"
check_rc "tui --plugins ~/myplug: found in \$HOME (then no terminal)" 1 env HOME="$T/home" "$LOGITLAB" tui --plugins '~/myplug' </dev/null
check "tui --plugins ~/: past the folders, to the terminal check" grep -q "needs a terminal" "$T/err"
check_done
