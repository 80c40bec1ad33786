#!/bin/sh
# `logitlab convert IN.bin OUT.gguf`: llama2.c checkpoints (version 0 and 2)
# with their tokenizers as GGUF. The converted stories260K has the metadata
# keys, vocabulary and tensor shapes of ../shared/models/stories260K.gguf
# (written by llama.cpp's own llama2.c converter), read back by an
# independent GGUF reader (tests/gguf_read.py); the converted files give
# bitwise the --json output of the checkpoints they came from (F32 and Q8_0),
# and stories3M with --exact-int8 its README continuation.
. "$(dirname "$0")/check.sh"
R=$(cd "$(dirname "$0")/.." && pwd)
M=$SHARED/models
T=$(mktemp -d "${TMPDIR:-/tmp}/logitlab-convert.XXXXXX")
trap 'rm -rf "$T"' EXIT
if [ ! -x "$LOGITLAB" ]; then echo "FAIL: no binary at $LOGITLAB"; echo "# passed 0 failed 1"; exit 1; fi
HAVE_PY=0; command -v python3 >/dev/null 2>&1 && HAVE_PY=1

check "convert stories260K.bin" "$LOGITLAB" convert -q "$M/stories260K.bin" "$T/s260.gguf"
check "convert stories3M-q80.bin" "$LOGITLAB" convert -q "$M/real/stories3M-q80.bin" "$T/s3.gguf"
check "convert stories3M-q80.bin --exact-int8" "$LOGITLAB" convert -q --exact-int8 "$M/real/stories3M-q80.bin" "$T/s3x.gguf"
check "convert zh-poem-750K.bin" "$LOGITLAB" convert -q "$M/real/zh-poem-750K.bin" "$T/zh.gguf"
check_not "convert refuses a GGUF input" "$LOGITLAB" convert "$M/stories260K.gguf" "$T/x.gguf"
check_same() {
  if [ "$2" = "$3" ]; then check_pass=$((check_pass+1)); else check_fail=$((check_fail+1)); echo "FAIL: $1"; echo "  [$2]"; echo "  [$3]"; fi
}
# progress: piped, nothing per tensor (the summary alone); --json, an object per tensor and a summary; on a
# terminal (script(1) gives one), a live line rewritten in place (\r, erase) and cleared before the summary
"$LOGITLAB" convert "$M/real/stories3M-q80.bin" "$T/p.gguf" >"$T/conv.out" 2>"$T/conv.err"
check_same "convert piped: one line, the summary" "$(wc -l <"$T/conv.out") $(wc -c <"$T/conv.err")" "1 0"
check "convert piped: the summary" grep -q "stories3M-q80.bin (llama2.c v2) -> .*p.gguf: 56 tensors, .* of weights, 4096 tokens" "$T/conv.out"
"$LOGITLAB" convert --json "$M/stories260K.bin" "$T/p.gguf" >"$T/conv.json" 2>"$T/conv.err"
check_same "convert --json: 47 progress objects, then the summary" \
  "$(grep -c '^{"type":"progress","tensor":[0-9]*,"tensors":47,"name":"[a-z0-9_.]*","dtype":"f32",' "$T/conv.json") $(tail -1 "$T/conv.json" | grep -c '^{"type":"done",.*"tensors":47,"bytes":1040128,"tokens":512}$') $(wc -l <"$T/conv.json")" "47 1 48"
check "convert --json: the last progress object counts every byte" grep -q '"tensor":47,"tensors":47,.*"written":1040128}' "$T/conv.json"
if command -v script >/dev/null 2>&1; then
  script -qec "'$LOGITLAB' convert '$M/stories260K.bin' '$T/p.gguf'" /dev/null >"$T/conv.tty" 2>&1
  check_same "convert on a terminal: the live line for each tensor, rewritten, then cleared" \
    "$(tr '\r' '\n' <"$T/conv.tty" | grep -c 'convert: tensor [0-9]*/47 ') $(tr '\r' '\n' <"$T/conv.tty" | grep -c 'convert: tensor 47/47 output_norm.weight')" "47 1"
  check "convert on a terminal: then the summary" grep -q "stories260K.bin (llama2.c v0) -> .*: 47 tensors" "$T/conv.tty"
fi
check_not "convert refuses text" "$LOGITLAB" convert "$R/README.md" "$T/x.gguf"
check_not "convert into a missing folder fails" "$LOGITLAB" convert "$M/stories260K.bin" "$T/no/such/dir/x.gguf"
# a write error: one line naming the output once, with the reason
check_same "convert into a missing folder: the output and the reason, once" \
  "$("$LOGITLAB" convert "$M/stories260K.bin" "$T/no/such/dir/x.gguf" 2>&1)" "logitlab convert: $T/no/such/dir/x.gguf: No such file or directory"
# OUT the checkpoint itself (or a hard link to it): refused before a byte is
# written (the output truncated the mapped checkpoint: SIGBUS, and the
# checkpoint lost). On a copy, never the shared file.
mkdir -p "$T/same" && cp "$M/stories260K.bin" "$M/tok512.bin" "$T/same/" && chmod u+w "$T/same/stories260K.bin"
ln "$T/same/stories260K.bin" "$T/same/link.bin"
"$LOGITLAB" convert "$T/same/stories260K.bin" "$T/same/stories260K.bin" >"$T/same.out" 2>&1
check_same "convert IN IN: a usage error (2), said, the checkpoint kept" \
  "$? $(head -1 "$T/same.out") $(cmp -s "$M/stories260K.bin" "$T/same/stories260K.bin" && echo same)" \
  "2 logitlab convert: IN and OUT are the same file same"
"$LOGITLAB" convert "$T/same/stories260K.bin" "$T/same/link.bin" >/dev/null 2>&1
check_same "convert IN LINK (a hard link): 2, the checkpoint kept" \
  "$? $(cmp -s "$M/stories260K.bin" "$T/same/stories260K.bin" && echo same)" "2 same"
if [ -c /dev/full ] && [ -w /dev/full ]; then
  check_same "convert to /dev/full: the output and the reason, once" \
    "$("$LOGITLAB" convert "$M/stories260K.bin" /dev/full 2>&1)" "logitlab convert: /dev/full: write: No space left on device"
fi

# same --json stream (ids, logprobs, top alternatives) from the GGUF and the checkpoint
same_gen() {
  d=$1; a=$2; b=$3; shift 3
  "$LOGITLAB" gen -m "$a" "$@" --json --probs 5 -t 2 >"$T/a.jsonl" 2>/dev/null
  "$LOGITLAB" gen -m "$b" "$@" --json --probs 5 -t 2 >"$T/b.jsonl" 2>/dev/null
  if [ -s "$T/a.jsonl" ] && cmp -s "$T/a.jsonl" "$T/b.jsonl"; then check_pass=$((check_pass+1))
  else check_fail=$((check_fail+1)); echo "FAIL: $d"; diff "$T/a.jsonl" "$T/b.jsonl" | head -4; fi
}
same_gen "stories260K: the GGUF decodes bitwise as the checkpoint" "$T/s260.gguf" "$M/stories260K.bin" -p "Once upon a time" --temp 0 -n 40
same_gen "stories260K: ours and llama.cpp's conversion decode alike" "$T/s260.gguf" "$M/stories260K.gguf" -p "Tom and Mia" --temp 0 -n 40
same_gen "stories3M: the Q8_0 GGUF decodes bitwise as the checkpoint" "$T/s3.gguf" "$M/real/stories3M-q80.bin" --temp 0 -n 40
same_gen "zh-poem: the GGUF decodes bitwise as the checkpoint" "$T/zh.gguf" "$M/real/zh-poem-750K.bin" -p "主题：月 体裁：五律" --bias 0=-inf --temp 0 -n 30
# quantize takes a checkpoint too: the same Q8_0 file as from llama.cpp's GGUF of it
check "quantize stories260K.bin q8_0" "$LOGITLAB" quantize -q "$M/stories260K.bin" "$T/s260-q8.gguf" q8_0
check "quantize stories260K.gguf q8_0" "$LOGITLAB" quantize -q "$M/stories260K.gguf" "$T/s260-q8b.gguf" q8_0
check "quantize leaves no temporary file" test -z "$(ls -A "$T" | grep llama2c)"
same_gen "quantize from the checkpoint or from the GGUF: the same model" "$T/s260-q8.gguf" "$T/s260-q8b.gguf" -p "Once upon a time" --temp 0 -n 40
out=$("$LOGITLAB" gen -m "$T/s3x.gguf" --temp 0 -n 48 --ignore-eos -t 2 2>/dev/null)
[ "$out" = " Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine. One day, she went to the park with her mom. They saw a big tree with lots of leaves. Lily wanted to climb" ] \
  && check_pass=$((check_pass+1)) || { check_fail=$((check_fail+1)); echo "FAIL: stories3M exact GGUF: the README's continuation"; echo "  $out"; }
"$LOGITLAB" info --json "$T/s3.gguf" >"$T/info.json" 2>&1
check "info: the stories3M GGUF holds Q8_0 weights, file type 7" grep -q '"ftype":7,"wtype":"q8_0"' "$T/info.json"

# the structure, read independently, against llama.cpp's conversion of the same checkpoint
if [ "$HAVE_PY" -eq 1 ]; then
  if python3 - "$R/tests/gguf_read.py" "$T/s260.gguf" "$M/stories260K.gguf" "$T/s3.gguf" 2>"$T/pyerr" <<'PY'
import sys, importlib.util
spec = importlib.util.spec_from_file_location("gguf_read", sys.argv[1]); g = importlib.util.module_from_spec(spec); spec.loader.exec_module(g)
ours, theirs, s3 = g.read(sys.argv[2]), g.read(sys.argv[3]), g.read(sys.argv[4])
assert ours["version"] == 3
# every key llama.cpp's converter wrote (but its unset separator/padding ids and the name) with the same type and value
for k, (t, v) in theirs["kv"].items():
    if k in ("tokenizer.ggml.seperator_token_id", "tokenizer.ggml.padding_token_id", "general.name", "llama.context_length"):
        continue
    assert k in ours["kv"], "missing " + k
    assert ours["kv"][k][0] == t, (k, ours["kv"][k][0], t)
    if k != "tokenizer.ggml.scores":
        assert ours["kv"][k][1] == v, k
assert ours["kv"]["llama.context_length"][1] == 512
assert ours["kv"]["llama.rope.freq_base"] == [6, 10000.0]
# scores: ours come from tok512.bin, which keeps the SentencePiece scores
sc_o, sc_t = ours["kv"]["tokenizer.ggml.scores"][1][1], theirs["kv"]["tokenizer.ggml.scores"][1][1]
assert len(sc_o) == len(sc_t) == 512
# the same tensors and shapes (llama.cpp writes output.weight even when tied; we leave it out)
to = {n: (t, s) for n, t, s, _ in ours["tensors"]}
tt = {n: (t, s) for n, t, s, _ in theirs["tensors"] if n != "output.weight"}
assert to == tt, set(to.items()) ^ set(tt.items())
# stories3M: Q8_0 (type 8) matrices, F32 norms, GQA 6:2
assert s3["kv"]["llama.attention.head_count_kv"][1] == 2 and s3["kv"]["general.file_type"][1] == 7
assert all(t == (8 if len(s) == 2 else 0) for n, t, s, _ in s3["tensors"]), "types"
assert len(s3["kv"]["tokenizer.ggml.tokens"][1][1]) == 4096
PY
  then check_pass=$((check_pass+1)); else check_fail=$((check_fail+1)); echo "FAIL: the GGUF's structure"; tail -3 "$T/pyerr"; fi
fi
check_done
