#!/bin/sh
# Files named on the command line that are not what a command wants (not
# there, a folder, a file for a folder): one line on stderr that names the file and says what
# is wrong, a non-zero exit, no crash. (A folder used to give "read error"
# or "empty grammar"; a missing grammar file "cannot read the file" without
# the reason.)
. "$(dirname "$0")/check.sh"
M=$SHARED/models/stories260K.gguf
T=$(mktemp -d "${TMPDIR:-/tmp}/logitlab-errors.XXXXXX")
trap 'rm -rf "$T"' EXIT
if [ ! -x "$LOGITLAB" ]; then echo "FAIL: no binary at $LOGITLAB"; echo "# passed 0 failed 1"; exit 1; fi
mkdir -p "$T/dir"
# check_err DESC STATUS PATTERN CMD...: the exit status, and the first line of stderr matching PATTERN
check_err() {
  d=$1; want=$2; pat=$3; shift 3
  "$@" >"$T/out" 2>"$T/err"; got=$?
  if [ "$got" -eq "$want" ] && head -1 "$T/err" | grep -q -- "$pat"; then check_pass=$((check_pass + 1))
  else check_fail=$((check_fail + 1)); echo "FAIL: $d (exit $got, want $want)"; head -3 "$T/err"; fi
}
G="$LOGITLAB gen -m $M -p Once -n 4 -t 1"
check_err "gen --grammar FOLDER" 1 "grammar: $T/dir: cannot read the file: Is a directory" $G --grammar "$T/dir"
check_err "gen --grammar MISSING: the reason" 1 "grammar: $T/nope.gbnf: cannot read the file: No such file or directory" $G --grammar "$T/nope.gbnf"
check_err "gen --json-schema MISSING: the reason" 1 "json-schema: $T/nope.json: cannot read the file: No such file or directory" $G --json-schema "$T/nope.json"
check_err "ppl FOLDER" 1 "ppl: $T/dir: a folder, not a file" "$LOGITLAB" ppl -m "$M" -t 1 "$T/dir"
check_err "ppl MISSING" 1 "ppl: $T/nope.txt: No such file or directory" "$LOGITLAB" ppl -m "$M" -t 1 "$T/nope.txt"
check_err "tokenize -f FOLDER" 1 "tokenize: $T/dir: a folder, not a file" "$LOGITLAB" tokenize -m "$M" -f "$T/dir"
echo "Once upon a time there was a dog." >"$T/dir/a.txt"
check_err "finetune on a FOLDER of texts: give its files" 1 "finetune: $T/dir: a folder, not a file (give its files: DIR/\*.txt)" \
  "$LOGITLAB" finetune "$M" -t 1 -b 1 --seq-len 16 --steps 1 -w none -o "$T/x.gguf" "$T/dir"
check "finetune on the folder's files runs" "$LOGITLAB" finetune "$M" -t 1 -b 1 --seq-len 16 --steps 1 --val 0 -w none -o "$T/x.gguf" "$T/dir/a.txt"
# a device such as /dev/zero would be read without end (ppl, tokenize -f and
# finetune used to read until memory ran out; --grammar too): refused before a
# byte is read; a pipe is read up to a limit
if [ -c /dev/zero ]; then
  check_err "ppl /dev/zero" 1 "ppl: /dev/zero: a device, not a file" timeout 60 "$LOGITLAB" ppl -m "$M" -t 1 /dev/zero
  check_err "tokenize -f /dev/zero" 1 "tokenize: /dev/zero: a device, not a file" timeout 60 "$LOGITLAB" tokenize -m "$M" -f /dev/zero
  check_err "gen --grammar /dev/zero" 1 "grammar: /dev/zero: cannot read the file: a device, not a file" timeout 60 $G --grammar /dev/zero
  check_err "gen --json-schema /dev/zero" 1 "json-schema: /dev/zero: cannot read the file: a device, not a file" timeout 60 $G --json-schema /dev/zero
  check_err "finetune on /dev/zero" 1 "finetune: /dev/zero: a device, not a file" \
    timeout 60 "$LOGITLAB" finetune "$M" -t 1 -b 1 --seq-len 16 --steps 1 -w none -o "$T/z.gguf" /dev/zero
  check_err "gen --grammar from an endless pipe: a limit" 1 "grammar: /dev/stdin: cannot read the file: more than 64 MiB" \
    timeout 60 sh -c "cat /dev/zero | $G --grammar /dev/stdin"
fi
# a file given as the workspace: lab.store would not record and lab.fs not write, silently
printf 'print("ran")\n' >"$T/ok.lua"
: >"$T/afile"
check_err "run -w FILE" 1 "run: -w $T/afile: not a folder (a workspace is a folder)" "$LOGITLAB" run -w "$T/afile" "$T/ok.lua"
# a crash says where it was (app/main.c; an ASAN build leaves it to the
# sanitizer): a SIGSEGV sent to a script that waits stands in for a bug
case "$BUILD" in *asan*) ;; *)
  printf 'print("ready")\nlab.sleep(60)\n' >"$T/wait.lua"
  # (in a subshell whose stderr is dropped: the shell's own "Segmentation fault" line)
  ( "$LOGITLAB" run "$T/wait.lua" >"$T/wait.out" 2>"$T/crash" & echo $! >"$T/pid"; wait $!; echo $? >"$T/rc" ) 2>/dev/null &
  i=0; while [ $i -lt 600 ] && ! grep -q ready "$T/wait.out" 2>/dev/null; do sleep 0.1; i=$((i+1)); done
  kill -SEGV "$(cat "$T/pid")"; wait; rc=$(cat "$T/rc")
  check "a crash keeps its signal's exit status (139)" test "$rc" -eq 139
  check "a crash names the signal" grep -q "^logitlab: fatal signal 11 (a bug" "$T/crash"
  check "a crash prints the stack" grep -q "logitlab(+0x[0-9a-f]*)" "$T/crash"
  if command -v addr2line >/dev/null 2>&1; then
    symbolize "$T/crash" >"$T/sym"
    check "symbolize: the stack's frames by function and line" grep -q "at main at .*app/main.c:" "$T/sym"
  fi ;;
esac
check_done
