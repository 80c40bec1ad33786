#!/bin/sh
# Runs each test binary given, sums their `# passed N failed M` lines and ends
# with `N passed, N failed`. A binary that crashes or prints no summary counts
# as one failure. Shell tests (tests/test_*.sh) get $LOGITLAB, the binary. Exit status is non-zero when anything failed.
pass=0; fail=0
for t in "$@"; do
  case "$t" in *.sh) out=$(sh "$t" 2>&1); rc=$? ;; *) out=$("$t" 2>&1); rc=$? ;; esac
  line=$(printf '%s\n' "$out" | grep '^# passed ' | tail -1)
  if [ -z "$line" ]; then
    printf '%s\n' "$out" | tail -20
    echo "FAIL $t: no summary (exit $rc)"; fail=$((fail+1)); continue
  fi
  p=$(echo "$line" | awk '{print $3}'); f=$(echo "$line" | awk '{print $5}')
  pass=$((pass+p)); fail=$((fail+f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then fail=$((fail+1)); echo "FAIL $t: exit $rc"; fi
  if [ "$f" -ne 0 ] || [ "$rc" -ne 0 ]; then printf '%s\n' "$out" | grep -v '^# passed' | tail -30; fi
  printf '%-40s %s\n' "$(basename "$t")" "$(echo "$line" | sed 's/^# //')"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
