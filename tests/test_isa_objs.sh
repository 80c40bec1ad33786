#!/bin/sh
# issue 22: the AVX-VNNI build of the repacked kernels (vecdot_r8_avxvnni.c,
# vecdot_r8v.h compiled with -mavxvnni) uses the VEX-encoded vpdpbusd and no
# EVEX instruction at all (CPUs with AVX-VNNI may have no AVX-512), checked on
# its object code: a CPU that runs it (test_invariance_kernels' avx-vnni path) may
# also have AVX-512 and so would not notice an EVEX instruction. The same
# check on the AVX-512 build's object must find EVEX (the check can fail).
. "$(dirname "$0")/check.sh"
B=${BUILD:-build}/kernels/cpu
if ! command -v objdump >/dev/null 2>&1; then echo "# objdump not found: encodings not checked"; check_done; exit; fi
T=$(mktemp -d "${TMPDIR:-/tmp}/logitlab-isa.XXXXXX")
trap 'rm -rf "$T"' EXIT
# evex FILE: exits 0 when FILE's code has an EVEX-only feature: an {evex}
# mnemonic, a zmm or mask register, ymm/xmm16-31, or an instruction whose
# bytes start with the EVEX prefix 0x62 (objdump -d: address, bytes, text)
evex() {
  objdump -d "$1" > "$T/d" || return 2
  grep -Eq '\{evex\}|%zmm|%k[0-7]|%[xy]mm(1[6-9]|2[0-9]|3[01])' "$T/d" && return 0
  awk -F'\t' 'NF >= 3 && $2 ~ /^62 / { found = 1 } END { exit !found }' "$T/d"
}
check "the AVX-VNNI object exists" test -s "$B/vecdot_r8_avxvnni.o"
objdump -d "$B/vecdot_r8_avxvnni.o" > "$T/vnni" 2>/dev/null
n=$(grep -c 'vpdpbusd' "$T/vnni")
v=$(grep -c '{vex} vpdpbusd' "$T/vnni")
echo "# vecdot_r8_avxvnni.o: $n vpdpbusd, $v of them VEX-encoded"
check "AVX-VNNI object: vpdpbusd present" test "$n" -gt 0
check "AVX-VNNI object: every vpdpbusd is VEX-encoded" test "$n" -eq "$v"
check_not "AVX-VNNI object: no EVEX instruction, zmm, mask or ymm16-31" evex "$B/vecdot_r8_avxvnni.o"
check "AVX-512 object: EVEX found (the check above can fail)" evex "$B/vecdot_r8_avx512.o"
check "AVX-512 object: its 256-bit vpdpbusd are EVEX" sh -c "objdump -d '$B/vecdot_r8_avx512.o' | grep -q 'vpdpbusd.*%ymm' && ! objdump -d '$B/vecdot_r8_avx512.o' | grep -q '{vex} vpdpbusd'"
check_done
