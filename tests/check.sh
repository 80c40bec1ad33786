# Shell test harness: source it, call check NAME CMD..., then check_done.
# $LOGITLAB is the binary under test; $SHARED the shared data folder.
LOGITLAB=${LOGITLAB:-build/logitlab}
SHARED=${LOGITLAB_SHARED:-../shared}
check_pass=0; check_fail=0
# check DESC COMMAND...: passes when the command exits 0.
check() { d=$1; shift; if "$@" >/dev/null 2>&1; then check_pass=$((check_pass+1)); else check_fail=$((check_fail+1)); echo "FAIL: $d"; fi; }
# check_not DESC COMMAND...: passes when the command exits non-zero.
check_not() { d=$1; shift; if "$@" >/dev/null 2>&1; then check_fail=$((check_fail+1)); echo "FAIL: $d"; else check_pass=$((check_pass+1)); fi; }
# check_run DESC STATUS PATTERN CMD...: CMD exits with STATUS and its stdout +
# stderr (kept in $T/out; the test sets $T, its temporary folder) has a line
# matching PATTERN.
check_run() {
  d=$1; want=$2; pat=$3; shift 3
  "$@" >"$T/out" 2>&1; got=$?
  if [ "$got" -eq "$want" ] && grep -q -- "$pat" "$T/out"; then check_pass=$((check_pass+1))
  else check_fail=$((check_fail+1)); echo "FAIL: $d (exit $got, want $want)"; head -8 "$T/out"; fi
}
# symbolize FILE: the frames of a crash report in FILE (app/main.c's handler:
# "logitlab(+0x1d2f3)") as "at function file:line", with $LOGITLAB's symbols
# (a test that saw a crash shows where it was; nothing without addr2line).
symbolize() {
  command -v addr2line >/dev/null 2>&1 || return 0
  sed -n 's/^[^(]*logitlab(+\(0x[0-9a-f]*\)).*/\1/p' "$1" | addr2line -f -p -e "$LOGITLAB" 2>/dev/null | sed 's/^/  at /'
}
check_done() { echo "# passed $check_pass failed $check_fail"; [ "$check_fail" -eq 0 ]; }
