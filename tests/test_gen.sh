#!/bin/sh
# `logitlab gen` and `logitlab ppl` end to end on stories260K: greedy output
# equals llama.cpp's golden continuation (text and --json ids), the --json
# objects parse and hold consistent fields, seeded sampling repeats, EOS
# stops, --ban masks, bad flags exit 2 with a one-line message, and ppl agrees
# with its own JSON numbers. JSON checks need python3 (CI installs it).
. "$(dirname "$0")/check.sh"
M=$SHARED/models/stories260K.gguf
G=$SHARED/golden/stories260K/s2_once_upon_a_time.json
T=$(mktemp -d "${TMPDIR:-/tmp}/logitlab-gen.XXXXXX")
trap 'rm -rf "$T"' EXIT
if [ ! -x "$LOGITLAB" ]; then echo "FAIL: no binary at $LOGITLAB"; echo "# passed 0 failed 1"; exit 1; fi
HAVE_PY=0; command -v python3 >/dev/null 2>&1 && HAVE_PY=1
GEN="$LOGITLAB gen -m $M -t 2"

# check_rc DESC STATUS PATTERN CMD...: exit status STATUS and, for a failure,
# stderr whose first line matches PATTERN.
check_rc() {
  d=$1; want=$2; pat=$3; shift 3
  "$@" >"$T/out" 2>"$T/err"; got=$?
  if [ "$got" -eq "$want" ] && { [ "$want" -eq 0 ] || head -1 "$T/err" | grep -q -- "$pat"; }; then
    check_pass=$((check_pass+1))
  else
    check_fail=$((check_fail+1)); echo "FAIL: $d (exit $got, want $want)"; head -3 "$T/err"
  fi
}
# check_py DESC PYTHON FILE...: runs PYTHON with sys.argv[1:] = FILE...; it
# must exit 0 (a failed assert prints why).
check_py() {
  [ "$HAVE_PY" -eq 1 ] || return 0
  d=$1; prog=$2; shift 2
  if python3 -c "import json,sys,math
$prog" "$@" 2>"$T/pyerr"; then check_pass=$((check_pass+1))
  else check_fail=$((check_fail+1)); echo "FAIL: $d"; tail -3 "$T/pyerr"; fi
}

# ---- end tokens: stories260K ends a story with BOS (seed 4 draws it as token 193) ----
check_rc "a BOS mid-text: generation goes on (EOS only by default)" 0 "" $GEN -p "Once upon a time" -n 256 --seed 4 --json
check "a BOS mid-text: drawn at 193, 256 tokens in all" test "$(grep -n '"id":1,' "$T/out" | head -1 | cut -d: -f1) $(wc -l <"$T/out")" = "193 256"
check "a BOS mid-text: one hint naming --end-tokens bos" test "$(grep -c 'emitted <s> (BOS, token 1), which llama2.c models use to end a story; --end-tokens bos stops there' "$T/err")" -eq 1
check_rc "--end-tokens bos" 0 "" $GEN -p "Once upon a time" -n 256 --seed 4 --json --end-tokens bos
check "--end-tokens bos: stops at the BOS (193 tokens, the last one id 1), no hint" test "$(wc -l <"$T/out") $(tail -1 "$T/out" | cut -c1-8) $(grep -c emitted "$T/err")" = '193 {"id":1, 0'
check_rc "--end-tokens 1,eos (ids and names)" 0 "" $GEN -p "Once upon a time" -n 256 --seed 4 --end-tokens 1,eos
check "--end-tokens 1,eos: the text is the story before the BOS" test "$(tail -c 23 "$T/out")" = "y and had a lot of fun."
check_rc "--end-tokens of an unknown name" 2 "^logitlab gen: --end-tokens: 'story': not a token (bos, eos, eot, unk or an id)$" $GEN -p x --end-tokens story
check_rc "--end-tokens past the vocabulary" 2 "^logitlab gen: --end-tokens: token id 512 is outside the vocabulary \[0, 512)$" $GEN -p x --end-tokens 512
check_rc "--end-tokens of a token the vocabulary lacks" 2 "^logitlab gen: --end-tokens: eot: this vocabulary has no eot token$" $GEN -p x --end-tokens eot

# ---- greedy = llama.cpp's golden continuation ----
check_rc "greedy text" 0 "" $GEN -p "Once upon a time" --temp 0 -n 200 --ignore-eos
cp "$T/out" "$T/greedy.txt"
check_py "greedy text equals the golden generated_text" '
g = json.load(open(sys.argv[1])); o = open(sys.argv[2], encoding="utf-8").read()
assert o == g["generated_text"], repr(o[:80])' "$G" "$T/greedy.txt"
check_rc "greedy --json" 0 "" $GEN -p "Once upon a time" --temp 0 -n 200 --ignore-eos --json --probs 5
cp "$T/out" "$T/greedy.jsonl"
check_py "--json ids equal the golden generated_tokens" '
g = json.load(open(sys.argv[1])); ids = [json.loads(l)["id"] for l in open(sys.argv[2])]
assert ids == g["generated_tokens"], (len(ids), ids[:10])' "$G" "$T/greedy.jsonl"
check_py "--json fields: types, ranges, greedy rank 1, top list sorted" '
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert set(o) >= {"id", "token", "bytes", "logprob", "rank", "entropy", "sampler_logprob", "top_logprobs"}, o.keys()
    assert isinstance(o["id"], int) and isinstance(o["token"], str) and all(0 <= b < 256 for b in o["bytes"])
    assert bytes(o["bytes"]).decode("utf-8", "replace") == o["token"]
    assert o["logprob"] <= 0 and o["entropy"] >= 0 and o["rank"] == 1 and o["sampler_logprob"] == 0
    t = o["top_logprobs"]
    assert len(t) == 5 and t[0]["id"] == o["id"] and abs(t[0]["logprob"] - o["logprob"]) < 1e-6
    assert all(t[i]["logprob"] >= t[i + 1]["logprob"] for i in range(4))
    assert sum(math.exp(x["logprob"]) for x in t) <= 1 + 1e-5' "$T/greedy.jsonl"
check_py "--json text concatenates to the text output" '
s = b"".join(bytes(json.loads(l)["bytes"]) for l in open(sys.argv[1]))
assert s == open(sys.argv[2], "rb").read()' "$T/greedy.jsonl" "$T/greedy.txt"

# ---- sampling: seeded, reproducible ----
$GEN -p "Once upon a time" -n 60 --seed 11 --temp 1.2 --top-k 0 --top-p 1 --min-p 0 --json >"$T/s1" 2>/dev/null
$GEN -p "Once upon a time" -n 60 --seed 11 --temp 1.2 --top-k 0 --top-p 1 --min-p 0 --json >"$T/s2" 2>/dev/null
$GEN -p "Once upon a time" -n 60 --seed 12 --temp 1.2 --top-k 0 --top-p 1 --min-p 0 --json >"$T/s3" 2>/dev/null
check "same seed, same tokens" cmp -s "$T/s1" "$T/s2"
check_not "another seed, other tokens" cmp -s "$T/s1" "$T/s3"
check "60 tokens" test "$(wc -l <"$T/s1")" -eq 60
check_py "sampled tokens are not all rank 1 at temp 1.2" '
r = [json.loads(l)["rank"] for l in open(sys.argv[1])]; assert max(r) > 1, r' "$T/s1"
check_rc "greedy chain list" 0 "" $GEN -p "Once upon a time" -n 20 --samplers "penalties,greedy" --repeat-penalty 1.0
check "--samplers penalties,greedy is greedy" test "$(cat "$T/out")" = "$(head -c "$(wc -c <"$T/out")" "$T/greedy.txt")"
check_rc "repeat penalty changes greedy text" 0 "" $GEN -p "Once upon a time" -n 60 --temp 0 --repeat-penalty 1.5
check_not "repeat penalty output differs" cmp -s "$T/out" "$T/greedy.txt"

# ---- EOS, bias, ban ----
check_rc "bias EOS up" 0 "" $GEN -p "Once upon a time" -n 10 --temp 0 --bias 2=100 --json
check "stops at EOS after one token" test "$(wc -l <"$T/out")" -eq 1
check "that token is EOS" grep -q '^{"id":2,' "$T/out"
check_rc "--ignore-eos" 0 "" $GEN -p "Once upon a time" -n 3 --temp 0 --bias 2=100 --ignore-eos --json
check "--ignore-eos goes on" test "$(wc -l <"$T/out")" -eq 3
check_rc "--ban" 0 "" $GEN -p "Once upon a time" -n 40 --temp 0 --ban Lily --json
check_py "--ban: no token containing Lily" '
assert not any("Lily" in json.loads(l)["token"] for l in open(sys.argv[1]))' "$T/out"
check_rc "--bias -inf on the greedy first token" 0 "" $GEN -p "Once upon a time" -n 1 --temp 0 --bias 432=-inf --json
check_not "masked token not chosen" grep -q '^{"id":432,' "$T/out"

# ---- bad flags and values: exit 2, one clear line ----
check_rc "negative temperature" 2 "temperature must be >= 0" $GEN -p x --temp -0.5
check_rc "top-p 0" 2 "top-p must be in (0, 1]" $GEN -p x --top-p 0
check_rc "top-p 1.5" 2 "top-p must be in (0, 1]" $GEN -p x --top-p 1.5
check_rc "min-p 2" 2 "min-p" $GEN -p x --min-p 2
check_rc "typical 0" 2 "typical-p" $GEN -p x --typical 0
check_rc "repeat penalty 0" 2 "repeat penalty" $GEN -p x --repeat-penalty 0
check_rc "unknown sampler" 2 "unknown sampler 'nucleus'" $GEN -p x --samplers top_k,nucleus
check_rc "selector not last" 2 "must come last" $GEN -p x --samplers dist,top_k
check_rc "not a number" 2 "must be a number" $GEN -p x --temp warm
check_rc "unknown option" 2 "unknown option" $GEN -p x --nucleus 0.9
check_rc "bias id out of range" 2 "bias" $GEN -p x --bias 9999=1
check_rc "missing model" 1 "no model file" $LOGITLAB gen -m /nonexistent/model.gguf -p x
# issue 13, item 11: a full standard output is a failure, whatever the command
if [ -w /dev/full ]; then
  printf 'print("x")\n' > "${TMPDIR:-/tmp}/logitlab-full.$$.lua"
  # each says why, once, naming the output (the stream keeps no errno: the
  # streaming commands note it at the write that failed, and stop there)
  full="cannot write the output (standard output).*: No space left on device$"
  check_rc "gen > /dev/full fails" 1 "^logitlab gen: cannot write the output (standard output) after 1 token: No space left on device$" sh -c "$GEN -p 'Once' -n 8 > /dev/full"
  check "gen > /dev/full: one line on stderr" test "$(wc -l < "$T/err")" -eq 1
  check_rc "gen --json > /dev/full fails" 1 "^logitlab gen: $full" sh -c "$GEN --json -p 'Once' -n 8 > /dev/full"
  check_rc "bench > /dev/full fails" 1 "^logitlab bench: $full" sh -c "$LOGITLAB bench -m $M -t 1 -p 8 -n 4 -r 1 > /dev/full"
  check_rc "run > /dev/full fails" 1 "^logitlab run: $full" sh -c "$LOGITLAB run ${TMPDIR:-/tmp}/logitlab-full.$$.lua > /dev/full"
  check "run > /dev/full: one line on stderr" test "$(wc -l < "$T/err")" -eq 1
  rm -f "${TMPDIR:-/tmp}/logitlab-full.$$.lua"
fi

# ---- ppl ----
cp "$T/greedy.txt" "$T/story.txt"
check_rc "ppl" 0 "" $LOGITLAB ppl -m "$M" -t 2 "$T/story.txt"
check "ppl prints a number" grep -q '^ppl [0-9]' "$T/out"
check_rc "ppl --json strided" 0 "" $LOGITLAB ppl -m "$M" -t 2 -c 64 --stride 16 --json "$T/story.txt"
check_py "ppl = exp(nll / n_scored); every token but the first scored" '
d = json.loads(open(sys.argv[1]).read().splitlines()[-1])
assert d["type"] == "done"
assert abs(d["ppl"] - math.exp(d["nll"] / d["n_scored"])) < 1e-6 * d["ppl"]
assert d["n_scored"] == d["n_tokens"] - 1 and d["window"] == 64 and d["stride"] == 16 and 1 < d["ppl"] < 20' "$T/out"
# long work shows progress: with --json a progress object per window (the
# result was the only line, after all the work), on a terminal a live line
check_py "ppl --json: a progress object per window, in order, then the result" '
ls = [json.loads(l) for l in open(sys.argv[1])]; d = ls[-1]; p = ls[:-1]
assert len(p) == d["n_windows"] > 1 and all(x["type"] == "progress" for x in p), ls
assert [x["window"] for x in p] == list(range(1, len(p) + 1)) and p[-1]["tokens"] == p[-1]["total"] == d["n_tokens"]
assert all(a["tokens"] < b["tokens"] for a, b in zip(p, p[1:]))' "$T/out"
if command -v script >/dev/null 2>&1; then
  script -qec "$LOGITLAB ppl -m '$M' -t 1 -c 64 --stride 16 '$T/story.txt'" /dev/null >"$T/ppl.tty" 2>&1
  check "ppl on a terminal: a live line per window, rewritten in place" test "$(tr '\r' '\n' <"$T/ppl.tty" | grep -c 'ppl: window [0-9]*, [0-9]* / [0-9]* tokens')" -ge 2
  check "ppl on a terminal: the line cleared, then the result" grep -q "$(printf '\033')\[Kppl [0-9.]*  (" "$T/ppl.tty"
fi
check_py "ppl of the greedy text matches the --json log-probs roughly" '
d = json.loads(open(sys.argv[1]).read().splitlines()[-1]); lp = [json.loads(l)["logprob"] for l in open(sys.argv[2])]
g = math.exp(-sum(lp) / len(lp)); assert 0.5 * g < d["ppl"] < 3 * g, (d["ppl"], g)' "$T/out" "$T/greedy.jsonl"
check_rc "ppl stride > window" 2 "stride" $LOGITLAB ppl -m "$M" -c 32 --stride 64 "$T/story.txt"
check_rc "ppl missing file" 1 "" $LOGITLAB ppl -m "$M" "$T/none.txt"
check_rc "ppl no file" 2 "missing argument" $LOGITLAB ppl -m "$M"
check_rc "ppl of an empty stdin: named, with why" 1 "^logitlab ppl: standard input: 1 token (0 bytes of text), need at least 2 to score$" sh -c "$LOGITLAB ppl -m '$M' - </dev/null"
check_done
