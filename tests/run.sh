#!/bin/sh
# Runs each test binary given, sums their `# passed N failed M` lines and ends
# with `N passed, N failed`. A binary that crashes or prints no summary counts
# as one failure. Shell tests (tests/test_*.sh) get $LOGITLAB, the binary. Exit status is non-zero when anything failed.
# With TEST_TIMES=FILE, each test's wall-clock and CPU seconds (its processes'
# user + system time) are appended to FILE, one `name wall_s cpu_s` line each,
# to find what makes the suite slow (CI must stay under 30 minutes on 2 cores).
pass=0; fail=0
# cpu_now: the CPU seconds used so far by this shell's finished children
# (`times` runs in this shell: in a subshell it would count the subshell's).
# Sets $cpu.
cpu_now() {
  times > "$TEST_TIMES.cpu"
  cpu=$(awk 'NR == 2 { n = 0; for (i = 1; i <= 2; i++) { split($i, a, /m|s/); n += a[1] * 60 + a[2] } print n }' "$TEST_TIMES.cpu")
  rm -f "$TEST_TIMES.cpu"
}
for t in "$@"; do
  if [ -n "$TEST_TIMES" ]; then cpu_now; c0=$cpu; w0=$(date +%s.%N); fi
  case "$t" in *.sh) out=$(sh "$t" 2>&1); rc=$? ;; *) out=$("$t" 2>&1); rc=$? ;; esac
  if [ -n "$TEST_TIMES" ]; then
    cpu_now; c1=$cpu; w1=$(date +%s.%N)
    echo "$(basename "$t") $w0 $w1 $c0 $c1" | awk '{ printf "%s %.1f %.1f\n", $1, $3 - $2, $5 - $4 }' >> "$TEST_TIMES"
  fi
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
