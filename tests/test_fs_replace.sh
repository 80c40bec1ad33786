#!/bin/sh
# Nothing saved is lost to a failed save: lab.fs.write and seq:save write
# beside the old file and rename over it, so a write cut short (here by a
# file-size limit, SIGXFSZ ignored so write() fails with EFBIG) returns
# nil, err and leaves the earlier contents whole and loadable.
. "$(dirname "$0")/check.sh"
M=$SHARED/models/stories260K.gguf
case "$M" in /*) ;; *) M=$(cd "$(dirname "$M")" && pwd)/$(basename "$M") ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/logitlab-fsr.XXXXXX")
trap 'rm -rf "$T"' EXIT
W=$T/ws
# check_match DESC REGEX TEXT: TEXT has a line matching REGEX (grep -E)
check_match() { if printf '%s\n' "$3" | grep -Eq -- "$2"; then check_pass=$((check_pass+1)); else check_fail=$((check_fail+1)); echo "FAIL: $1"; printf '%s\n' "$3" | head -5; fi; }
mkdir -p "$W"
cat > "$T/first.lua" <<LUA
local m = lab.model.open("$M")
local s = m:seq("Once upon a time")
local l = s:eval()
assert(s:save("st"))
assert(lab.fs.write("notes.txt", "kept\n"))
print(string.format("%a", l:get(100)))
LUA
cat > "$T/second.lua" <<LUA
local m = lab.model.open("$M")
local s = m:seq(string.rep("Once upon a time there was a little girl named Lily. She liked to play outside. ", 4))
s:eval()
local ok, err = s:save("st")
print("save " .. tostring(ok) .. " " .. tostring(err))
ok, err = lab.fs.write("notes.txt", string.rep("x", 400000))
print("write " .. tostring(ok) .. " " .. tostring(err))
LUA
cat > "$T/third.lua" <<LUA
local m = lab.model.open("$M")
local t = assert(m:load("st"))
print(string.format("%a %d", t:eval():get(100), #t:tokens()))
print(lab.fs.read("notes.txt"))
local names = lab.fs.list("kv")
print("kv " .. table.concat(names, ","))
LUA
first=$("$LOGITLAB" run -w "$W" "$T/first.lua" 2>&1)
check "first save" test -f "$W/kv/st.kv"
# 100 blocks (50-100 KiB by the shell's unit): more than the short state's
# cells need (13 KB), less than the long one's (~250 KB) and the 400 KB note
out=$( (trap '' XFSZ; ulimit -f 100; "$LOGITLAB" run -w "$W" "$T/second.lua") 2>&1)
check_match "the bigger save fails with the reason" "save nil kv/st.*File too large" "$out"
check_match "the big write fails with the reason" "write nil notes.txt: File too large" "$out"
out=$("$LOGITLAB" run -w "$W" "$T/third.lua" 2>&1)
check "the earlier state still loads, bit for bit" test "$(echo "$out" | head -1)" = "$first 5"
check_match "the earlier note is whole" "^kept\$" "$(echo "$out" | sed -n 2p)"
check_match "no leftovers in kv/" "^kv st.json,st.kv\$" "$(echo "$out" | tail -1)"
check "no leftovers beside notes.txt" test "$(ls -A "$W" | grep -c '^\.notes')" = 0
# permissions: a new file is 0644 less the umask (as open(..., 0644) gave
# before writes were renamed into place; mkostemp + fchmod(0644) ignored the
# umask), a replaced file keeps its own
W2=$T/ws2; mkdir -p "$W2"
cat > "$T/perm.lua" <<LUA
local m = lab.model.open("$M")
assert(m:seq("Once"):save("p"))
assert(lab.fs.write("new.txt", "x"))
assert(lab.fs.write("old.txt", "y"))
LUA
printf 'z' >"$W2/old.txt"; chmod 640 "$W2/old.txt"
(umask 077; "$LOGITLAB" run -w "$W2" "$T/perm.lua" >/dev/null 2>&1)
check "umask 077: lab.fs.write's new file is private (600)" test "$(stat -c %a "$W2/new.txt")" = 600
check "umask 077: seq:save's new files are private (600)" test "$(stat -c %a "$W2/kv/p.kv") $(stat -c %a "$W2/kv/p.json")" = "600 600"
check "a replaced file keeps its permissions (640)" test "$(stat -c %a "$W2/old.txt")" = 640
check "the replaced file has the new contents" test "$(cat "$W2/old.txt")" = y
rm -f "$W2/new.txt"
(umask 022; "$LOGITLAB" run -w "$W2" "$T/perm.lua" >/dev/null 2>&1)
check "umask 022: a new file is 644" test "$(stat -c %a "$W2/new.txt")" = 644
# a file its owner made read-only is not replaced (the rename needs only the
# folder's permission; opening it for writing was refused). Root may write anyway.
if [ "$(id -u)" -ne 0 ]; then
  printf 'ro' >"$W2/ro.txt"; chmod 444 "$W2/ro.txt"
  printf 'print(lab.fs.write("ro.txt", "new"))\n' >"$T/ro.lua"
  check_match "a read-only file: refused" "nil	ro.txt: Permission denied" "$("$LOGITLAB" run -w "$W2" "$T/ro.lua" 2>&1)"
  check "a read-only file: kept" test "$(cat "$W2/ro.txt")" = ro
fi
# a name of 254 bytes (NAME_MAX is 255): written and replaced as append
# writes it (the temporary beside it, ".NAME.XXXXXX.tmp", was too long)
cat > "$T/long.lua" <<'LUA'
local name = string.rep("n", 250) .. ".txt"
assert(lab.fs.write(name, "one"))
assert(lab.fs.write(name, "two"))
print(lab.fs.read(name))
LUA
check_match "a 254-byte name is written and replaced" "^two\$" "$("$LOGITLAB" run -w "$W2" "$T/long.lua" 2>&1)"
# a process killed in the middle of a write (here by SIGXFSZ, the
# file-size limit's signal, not ignored) leaves its temporary: lab.fs.list
# does not list it, and a file named like one without the marker is listed
W3=$T/ws3; mkdir -p "$W3/d"
printf 'assert(lab.fs.write("d/big.txt", string.rep("x", 400000)))\n' >"$T/killed.lua"
sh -c 'ulimit -f 100; "$0" run -w "$1" "$2"; :' "$LOGITLAB" "$W3" "$T/killed.lua" >/dev/null 2>&1
check "the killed write left its temporary" test "$(ls -A "$W3/d" | grep -c '^\.big\.txt\.[A-Za-z0-9]\{6\}\.tmp$')" = 1
printf 'x' >"$W3/d/.plain.abcdef"; printf 'y' >"$W3/d/kept.txt"
printf 'print(table.concat(lab.fs.list("d"), ","))\n' >"$T/list.lua"
check_match "lab.fs.list: the temporary is not listed" "^\.plain\.abcdef,kept\.txt\$" "$("$LOGITLAB" run -w "$W3" "$T/list.lua" 2>&1)"
# opening the workspace removes a killed write's temporary once it is
# FOUT_STALE_S (5 minutes) old and no live process holds its lock: a young
# one stays (its writer may be starting), and so does an old one that a
# writer (here flock(1), as another logitlab would) holds
check "a young temporary stays" test "$(ls -A "$W3/d" | grep -c '^\.big\.txt\.[A-Za-z0-9]\{6\}\.tmp$')" = 1
touch -d '-1 hour' "$W3"/d/.big.txt.*.tmp
printf 'h' >"$W3/.held.txt.AbCdEf.tmp"; touch -d '-1 hour' "$W3/.held.txt.AbCdEf.tmp"
( exec 9<"$W3/.held.txt.AbCdEf.tmp"; flock 9; exec sleep 60 ) & HOLDER=$!
for i in 1 2 3 4 5 6 7 8 9 10; do flock -n "$W3/.held.txt.AbCdEf.tmp" true || break; sleep 0.2; done
"$LOGITLAB" run -w "$W3" "$T/list.lua" >/dev/null 2>&1
check "opening the workspace removed the stale temporary" test "$(ls -A "$W3/d" | grep -c '\.tmp$')" = 0
check "and kept the one a live writer holds" test -f "$W3/.held.txt.AbCdEf.tmp"
check "and the files beside them" test -f "$W3/d/kept.txt" -a -f "$W3/d/.plain.abcdef"
kill $HOLDER 2>/dev/null; wait $HOLDER 2>/dev/null
"$LOGITLAB" run -w "$W3" "$T/list.lua" >/dev/null 2>&1
check "its writer gone, it is removed too" test ! -e "$W3/.held.txt.AbCdEf.tmp"
check_done
