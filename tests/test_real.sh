#!/bin/sh
# The real llama2.c models of ../shared/models/real against their references:
# `logitlab gen` greedy from BOS equals the READMEs' 48-token continuations
# (stories3M with --exact-int8, llama2xs-260K) and the token ids of
# tests/data/real_ref.json (computed once by tests/ref_llama2c.py, an
# independent numpy implementation); zh-poem with <unk> banned; `info` names
# llama2.c version 2; then tests/real_golden.lua does the same through the Lua
# API and compares top-8 logits. JSON checks need python3 (CI installs it).
. "$(dirname "$0")/check.sh"
R=$(cd "$(dirname "$0")/.." && pwd)
D=$SHARED/models/real
case "$D" in /*) ;; *) D=$(cd "$D" && pwd) ;; esac
REF=$R/tests/data/real_ref.json
T=$(mktemp -d "${TMPDIR:-/tmp}/logitlab-real.XXXXXX")
trap 'rm -rf "$T"' EXIT
if [ ! -x "$LOGITLAB" ]; then echo "FAIL: no binary at $LOGITLAB"; echo "# passed 0 failed 1"; exit 1; fi
HAVE_PY=0; command -v python3 >/dev/null 2>&1 && HAVE_PY=1

# check_out DESC WANT CMD...: the command exits 0 and prints exactly WANT.
check_out() {
  d=$1; want=$2; shift 2
  got=$("$@" 2>"$T/err"); rc=$?
  if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then check_pass=$((check_pass+1))
  else check_fail=$((check_fail+1)); echo "FAIL: $d (exit $rc)"; echo "  got:  $got"; head -2 "$T/err"; fi
}
# check_ids DESC MODEL FILE: the --json ids in FILE equal the reference's tokens after BOS.
check_ids() {
  [ "$HAVE_PY" -eq 1 ] || return 0
  if python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))[sys.argv[2]]["tokens"][1:]
ids = [json.loads(l)["id"] for l in open(sys.argv[3])]
assert ids == r, (ids, r)' "$REF" "$2" "$3" 2>"$T/pyerr"; then check_pass=$((check_pass+1))
  else check_fail=$((check_fail+1)); echo "FAIL: $1"; tail -2 "$T/pyerr"; fi
}

S3="$D/stories3M-q80.bin"
check_out "stories3M --exact-int8: the README's greedy continuation" \
  " Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine. One day, she went to the park with her mom. They saw a big tree with lots of leaves. Lily wanted to climb" \
  "$LOGITLAB" gen -m "$S3" --exact-int8 --temp 0 -n 48 --ignore-eos -t 2
"$LOGITLAB" gen -m "$S3" --exact-int8 --temp 0 -n 48 --ignore-eos -t 2 --json >"$T/s3.jsonl"
check_ids "stories3M --exact-int8: the reference ids" stories3M-q80.bin "$T/s3.jsonl"
check_out "llama2xs-260K: the README's greedy continuation" \
  " Once upon a time, there was a little girl named Lily. She loved to play outside and came to play with her friends. One day, she went to the park to" \
  "$LOGITLAB" gen -m "$D/llama2xs-260K.bin" --temp 0 -n 48 --ignore-eos -t 2
"$LOGITLAB" gen -m "$D/llama2xs-260K.bin" --temp 0 -n 48 --ignore-eos -t 2 --json >"$T/xs.jsonl"
check_ids "llama2xs-260K: the reference ids" llama2xs-260K.bin "$T/xs.jsonl"
"$LOGITLAB" gen -m "$D/zh-poem-750K.bin" --bias 0=-inf --temp 0 -n 48 --ignore-eos -t 2 --json >"$T/zh.jsonl"
check_ids "zh-poem, <unk> banned: the reference ids" zh-poem-750K.bin "$T/zh.jsonl"
# the documented example: a poem, wide characters only, no <unk>
"$LOGITLAB" gen -m "$D/zh-poem-750K.bin" -p "主题：月 体裁：五律
" --bias 0=-inf --temp 0 -n 64 >"$T/poem.txt" 2>"$T/err"
check "the zh-poem example writes a poem" grep -q '白日无人事，青云独不违。' "$T/poem.txt"
check_not "the poem holds no <unk>" grep -q 'unk' "$T/poem.txt"
"$LOGITLAB" info --json "$S3" >"$T/info.json"
check "info names llama2.c version 2, groups of 64" grep -q '"format":"llama2.c","version":2,"group_size":64' "$T/info.json"
check "info: the embedding stored as int8 groups, loaded as q8_0" grep -q '"name":"token_embd.weight","type":"i8/g64","loaded_type":"q8_0"' "$T/info.json"

# ---- the Lua API ----
mkdir -p "$T/ws" && cp "$REF" "$T/ws/"
"$LOGITLAB" run -w "$T/ws" "$R/tests/real_golden.lua" "$(dirname "$D")" >"$T/lua.out" 2>"$T/lua.err"
grep FAIL "$T/lua.out"
line=$(grep '^# passed' "$T/lua.out" | tail -1)
if [ -z "$line" ]; then echo "FAIL: real_golden.lua printed no summary"; tail -5 "$T/lua.err"; check_fail=$((check_fail+1))
else
  check_pass=$((check_pass + $(echo "$line" | awk '{print $3}'))); check_fail=$((check_fail + $(echo "$line" | awk '{print $5}')))
fi
check_done
