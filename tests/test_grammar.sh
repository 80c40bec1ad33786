#!/bin/sh
# Constrained generation end to end: `logitlab gen` with --json-schema,
# --grammar, --regex and --choice on a random-weight model (synth --shape
# test, the 32000-token Llama vocabulary) at temperature 1 over many seeds.
# Every output that ended at EOS is checked by the independent validators
# of build/tests/test_gram (a JSON Schema validator, a backtracking GBNF
# recognizer); a grammar or schema file that does not compile or cannot be
# read exits 1 (bad input, as every input file: app/main.c), a bad --regex or
# --choice value 2 (usage), naming line and column.
. "$(dirname "$0")/check.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/logitlab-gram.XXXXXX")
trap 'rm -rf "$T"' EXIT
CHK=${BUILD:-build}/tests/test_gram
D=tests/data/grammars
if [ ! -x "$LOGITLAB" ] || [ ! -x "$CHK" ]; then echo "FAIL: need $LOGITLAB and $CHK"; echo "# passed 0 failed 1"; exit 1; fi
"$LOGITLAB" synth --shape test --type f32 -o "$T/m.gguf" -t 2 >/dev/null 2>&1
GEN="$LOGITLAB gen -m $T/m.gguf -t 2 -p Hello --temp 1 --top-k 0 --top-p 1 --min-p 0"

# run_many DESC N FLAG SPEC MODE MIN: N seeds; an output that ended (EOS or
# the grammar complete) must be valid, one cut by -n a viable prefix; at
# least MIN must end.
run_many() {
  d=$1; n=$2; flag=$3; spec=$4; mode=$5; min=$6
  ended=0; bad=0; s=1
  while [ $s -le $n ]; do
    $GEN -s $s -n 300 $flag "$spec" >"$T/out" 2>"$T/err"; rc=$?
    if [ $rc -ne 0 ]; then bad=$((bad+1)); echo "FAIL: $d seed $s exit $rc"; head -2 "$T/err"; fi
    "$CHK" $mode "$spec" "$T/out" 2>"$T/why"; v=$?
    if [ $v -eq 0 ]; then ended=$((ended+1))
    elif [ $v -ne 3 ]; then bad=$((bad+1)); echo "FAIL: $d seed $s: $(cat "$T/why")"; head -c 300 "$T/out"; echo; fi
    # gen says it stopped short (at -n, or the context filled) exactly when the
    # independent check found the output incomplete
    if grep -q "stopped at -n 300 before the grammar was complete\|the context filled before the grammar was complete" "$T/err"
    then said=3; else said=0; fi
    if [ $v -le 3 ] && [ $said -ne $v ]; then bad=$((bad+1)); echo "FAIL: $d seed $s: check says $v, gen's stderr: $(cat "$T/err")"; fi
    s=$((s+1))
  done
  if [ $bad -eq 0 ] && [ $ended -ge $min ]; then check_pass=$((check_pass+1))
  else check_fail=$((check_fail+1)); echo "FAIL: $d: $ended valid, $bad bad of $n"; fi
}
run_many "tool schema" 12 --json-schema $D/tool.json --schema 1
run_many "multipleOf schema" 6 --json-schema $D/numbers.json --schema 3
run_many "json grammar" 6 --grammar $D/json.gbnf --gbnf 1
run_many "arithmetic" 6 --grammar $D/arithmetic.gbnf --gbnf 0
run_many "chess" 4 --grammar $D/chess.gbnf --gbnf 0
run_many "c subset" 3 --grammar $D/c.gbnf --gbnf 0

check_rc() {
  d=$1; want=$2; pat=$3; shift 3
  "$@" >"$T/out" 2>"$T/err"; got=$?
  if [ "$got" -eq "$want" ] && { [ "$want" -eq 0 ] || head -1 "$T/err" | grep -q -- "$pat"; }; then
    check_pass=$((check_pass+1))
  else
    check_fail=$((check_fail+1)); echo "FAIL: $d (exit $got, want $want)"; head -3 "$T/err"
  fi
}
check_rc "choice" 0 "" $GEN -s 3 --choice "yes,no,maybe"
check "choice output is one of them" grep -qx 'yes\|no\|maybe' "$T/out"
# only commas: empty choices (the list of items was sized for half the
# commas: ",,," overflowed it, munmap_chunk(): invalid pointer, abort)
check_rc "choice of commas alone" 0 "" $GEN -s 3 --choice ",,,"
check_rc "choice of 40 commas" 0 "" $GEN -s 3 --choice ",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,"
check_rc "regex" 0 "" $GEN -s 4 -n 60 --regex '[0-9]{3}-[a-z]{2,4}'
check "regex output matches" grep -qxE '[0-9]{3}-[a-z]{2,4}' "$T/out"
printf 'root ::= "a" |\n  "b" foo\n' >"$T/bad.gbnf"
check_rc "bad grammar" 1 "line 2 col 7: rule 'foo' is used but never defined" $GEN --grammar "$T/bad.gbnf"
check "bad grammar: one line, no --help hint (bad input, not a usage error)" sh -c "[ \$(wc -l <'$T/err') -eq 1 ]"
printf '{"type": "object", "properties": {"a": {"type": "strng"}}}' >"$T/bad.json"
check_rc "bad schema" 1 "/properties/a/type: unknown type 'strng'" $GEN --json-schema "$T/bad.json"
printf '{"type": "object",\n "properties": [}' >"$T/bad2.json"
check_rc "schema syntax" 1 "line 2" $GEN --json-schema "$T/bad2.json"
check_rc "bad regex" 2 "regex offset 1" $GEN --regex 'a)'
check "bad regex: the --help hint (a usage error)" grep -q "^Try 'logitlab gen --help'" "$T/err"
printf '{"type":"array","items":{"type":"integer"},"minItems":3,"maxItems":1}' >"$T/mm.json"
check_rc "minItems above maxItems: both values" 1 "schema at /: minItems 3 is above maxItems 1" $GEN --json-schema "$T/mm.json"
check_rc "two constraints" 2 "give one constraint" $GEN --regex a --choice b
check_rc "missing file" 1 "$T/none.gbnf: cannot read the file: No such file or directory" $GEN --grammar "$T/none.gbnf"
check_rc "schema is a directory" 1 "$T: cannot read the file: Is a directory" $GEN --json-schema "$T"
if [ "$(id -u)" -ne 0 ]; then
  printf 'root ::= "a"\n' >"$T/locked.gbnf"; chmod 000 "$T/locked.gbnf"
  check_rc "unreadable file" 1 "locked.gbnf: cannot read the file: Permission denied" $GEN --grammar "$T/locked.gbnf"
fi
# -n cuts the output short of the grammar: a stderr line, and the reason in --json's last line
check_rc "cut by -n" 0 "" $GEN -s 1 -n 2 --choice zzzqqqzzzqqq
check "cut by -n: stderr says so" grep -q "stopped at -n 2 before the grammar was complete" "$T/err"
check_rc "cut by -n, --json" 0 "" $GEN -s 1 -n 2 --choice zzzqqqzzzqqq --json
check "cut by -n, --json: last line gives the reason" sh -c "tail -1 '$T/out' | grep -qx '{\"stop\":\"length\",\"tokens\":2,\"grammar_complete\":false}'"
check "cut by -n, --json: two token lines before it" sh -c "[ \$(grep -c '\"id\"' '$T/out') -eq 2 ]"
check_rc "complete, --json" 0 "" $GEN -s 1 -n 50 --choice yes,no --json
check "complete, --json: reason eos or grammar, complete" sh -c "tail -1 '$T/out' | grep -Eq '\"stop\":\"(eos|grammar)\".*\"grammar_complete\":true'"
check "complete: no 'stopped at -n'" sh -c "! grep -q 'stopped at' '$T/err'"
# keywords a grammar cannot check: refused naming the pointer, or ignored on request
printf '{"type": "array", "items": {"type": "integer"}, "uniqueItems": true}' >"$T/uniq.json"
check_rc "unenforceable keyword refused" 1 "schema at /uniqueItems: 'uniqueItems' cannot be enforced" $GEN --json-schema "$T/uniq.json"
check_rc "unenforceable keyword ignored on request" 0 "" $GEN -n 20 --json-schema "$T/uniq.json" --schema-ignore-unenforceable
check_rc "schema option without a schema" 2 "--schema-compact applies to --json-schema only" $GEN --regex a --schema-compact
# compact output: valid, and no blank outside strings
cbad=0; cend=0
for s in 1 2 3 4 5 6; do
  $GEN -s $s -n 300 --json-schema $D/tool.json --schema-compact >"$T/out" 2>"$T/err" || cbad=$((cbad+1))
  "$CHK" --schema $D/tool.json "$T/out" 2>"$T/why"; v=$?
  [ $v -eq 0 ] && cend=$((cend+1))
  [ $v -ne 0 ] && [ $v -ne 3 ] && { cbad=$((cbad+1)); echo "FAIL: compact seed $s: $(cat "$T/why")"; }
  if sed 's/"\([^"\\]\|\\.\)*"//g' "$T/out" | grep -q '[[:space:]]'; then cbad=$((cbad+1)); echo "FAIL: compact seed $s has blanks: $(head -c 200 "$T/out")"; fi
done
check "compact: $cend of 6 complete, all valid and without blanks" [ $cbad -eq 0 -a $cend -ge 1 ]
# properties in any order: valid under the schema
abad=0; aend=0
for s in 1 2 3 4 5 6; do
  $GEN -s $s -n 300 --json-schema $D/tool.json --schema-any-order --schema-compact >"$T/out" 2>"$T/err" || abad=$((abad+1))
  "$CHK" --schema $D/tool.json "$T/out" 2>"$T/why"; v=$?
  [ $v -eq 0 ] && aend=$((aend+1))
  [ $v -ne 0 ] && [ $v -ne 3 ] && { abad=$((abad+1)); echo "FAIL: any order seed $s: $(cat "$T/why")"; }
done
check "any order: $aend of 6 complete, all valid" [ $abad -eq 0 -a $aend -ge 1 ]
# a grammar no token of the vocabulary can start: a clear stop, exit 1
printf 'root ::= "x" [^\\x00-\\U0010FFFF]\n' >"$T/unsat.gbnf"
check_rc "unsatisfiable" 1 "allows no token" $GEN --grammar "$T/unsat.gbnf"
check_done
