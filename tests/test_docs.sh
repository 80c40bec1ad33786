#!/bin/sh
# The shell examples of docs/sampling.md and docs/plugins.md run as they are
# written, and the outputs those docs quote are what the commands print.
# Each command runs verbatim in a stand-in for the repo root: a folder with
# build/logitlab (the binary under test), plugins/ and tests/ linked, and
# ../shared beside it, so model names resolve as the docs say and nothing
# is written into the checkout (workspaces/default, /tmp files go to $T).
# Lines holding a placeholder ("...", `-w ws`, a model in `WS/` that a recipe
# trains, BASE) are skipped; the Lua examples
# of docs/lua-api.md and docs/agents.md are run by test_lua.sh and
# test_agents.sh.
. "$(dirname "$0")/check.sh"
R=$(cd "$(dirname "$0")/.." && pwd)
case "$LOGITLAB" in /*) BIN=$LOGITLAB ;; *) BIN=$(pwd)/$LOGITLAB ;; esac
SH=$(cd "$SHARED" 2>/dev/null && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/logitlab-docs.XXXXXX")
trap 'rm -rf "$T"' EXIT
if [ ! -x "$BIN" ]; then echo "FAIL: no binary at $BIN"; echo "# passed 0 failed 1"; exit 1; fi
mkdir -p "$T/root/build" "$T/tmp"
ln -s "$BIN" "$T/root/build/logitlab"
ln -s "$R/plugins" "$T/root/plugins"
ln -s "$R/tests" "$T/root/tests"
ln -s "$SH" "$T/shared"

# the command lines of a doc's ```sh blocks, continuation lines joined,
# /tmp/ moved to $T/tmp/
commands() {
  awk '/^```sh[ \t]*$/ { inb = 1; next } /^```/ && inb { inb = 0; next }
       inb { if (cont) { line = line " " $0 } else { line = $0 }
             cont = sub(/\\$/, "", line)
             if (!cont && line ~ /^build\/logitlab /) print line }' "$1" | sed "s#/tmp/#$T/tmp/#g"
}
# run_doc DOC: every command of DOC exits 0; the outputs land in $T/out.N
ran=0
run_doc() {
  commands "$R/docs/$1" >"$T/cmds"
  while IFS= read -r c; do
    case "$c" in *"..."*|*"-w ws"*|*" WS/"*) continue ;; esac
    if printf '%s\n' "$c" | grep -qE ' \[?[A-Z]{3,}( |$)'; then continue; fi   # BASE EXPERT [N ...]
    ran=$((ran + 1))
    (cd "$T/root" && XS=../shared/models/real/llama2xs-260K.bin LOGITLAB_SHARED= sh -c "$c") >"$T/out.$ran" 2>"$T/err.$ran" </dev/null
    rc=$?
    if [ $rc -eq 0 ]; then check_pass=$((check_pass + 1))
    else check_fail=$((check_fail + 1)); echo "FAIL: docs/$1: '$c' exits $rc"; head -5 "$T/err.$ran"; fi
    printf '%s\n' "$c" >"$T/cmd.$ran"
  done <"$T/cmds"
}
# out_of PATTERN: the output file of the first command run matching PATTERN
out_of() { for f in "$T"/cmd.*; do if grep -q -- "$1" "$f"; then echo "$T/out.${f##*.}"; return; fi; done; echo /dev/null; }

run_doc sampling.md
run_doc plugins.md
check "the docs' shell examples were found (sampling.md and plugins.md: at least 18 run)" test "$ran" -ge 18

# ---- quoted outputs ----
# sampling.md: the --json example line, field by field (log-probs to 1e-5)
awk '/^```json[ \t]*$/ { getline; print; exit }' "$R/docs/sampling.md" >"$T/doc.json"
head -1 "$(out_of '--json --probs 2')" >"$T/got.json"
cat >"$T/cmp.lua" <<'LUA'
local a, b = lab.json.decode(lab.fs.read("doc.json")), lab.json.decode(lab.fs.read("got.json"))
local function same(x, y, path)
  if type(x) == "number" and type(y) == "number" then
    if math.abs(x - y) > 1e-5 then error(path .. ": the doc has " .. x .. ", the command prints " .. y, 0) end
  elseif type(x) == "table" and type(y) == "table" then
    for k, v in pairs(x) do same(v, y[k], path .. "." .. k) end
    for k in pairs(y) do if x[k] == nil then error(path .. "." .. k .. ": not in the doc's line", 0) end end
  elseif x ~= y then error(path .. ": the doc has " .. tostring(x) .. ", the command prints " .. tostring(y), 0) end
end
same(a, b, "$")
print("same")
LUA
check "sampling.md: the --json line quoted is what gen prints (log-probs to 1e-5)" \
  sh -c "'$BIN' run -w '$T' '$T/cmp.lua' | grep -qx same"
# sampling.md: the ppl line quoted as "the output of the first example above"
want=$(grep -o '`ppl [0-9.]*  ([^`]*)`' "$R/docs/sampling.md" | head -1 | tr -d '`')
got=$(head -1 "$(out_of 'ppl -m stories260K.gguf [^-]')")
if [ -n "$want" ] && [ "$want" = "$got" ]; then check_pass=$((check_pass + 1))
else check_fail=$((check_fail + 1)); echo "FAIL: sampling.md's ppl line: doc '$want', ppl prints '$got'"; fi
# plugins.md: the cdr table quoted under its command
awk '/^build\/logitlab run plugins\/cdr.lua --strong stories260K/ { inb = 1; next }
     inb && /^ *[0-9]+ +[-+]/ { print; next } inb && !/^    / { exit }' "$R/docs/plugins.md" >"$T/cdr.want"
if [ -s "$T/cdr.want" ] && cmp -s "$T/cdr.want" "$(out_of 'plugins/cdr.lua --strong stories260K')"; then check_pass=$((check_pass + 1))
else check_fail=$((check_fail + 1)); echo "FAIL: plugins.md's cdr table is not what cdr.lua prints"; diff "$T/cdr.want" "$(out_of 'plugins/cdr.lua --strong stories260K')" | head -8; fi

# plugins.md: the task library's Lua example prints what its comments say
awk '/^```lua[ \t]*$/ { inb = 1; n++; next } /^```/ && inb { inb = 0; next } inb && n == 1 { print }' "$R/docs/plugins.md" >"$T/tasks.lua"
(cd "$T/root" && ./build/logitlab run "$T/tasks.lua") >"$T/tasks.out" 2>&1
check "plugins.md: the task example runs" test $? -eq 0
check "plugins.md: the task example prints the question of its comment" grep -qx "from 7 reach 33 in exactly 4 operations" "$T/tasks.out"
check "plugins.md: and the solution's answer line" grep -qx "Answer: 7 -> 8 -> 16 -> 32 -> 33" "$T/tasks.out"
check "plugins.md: and the checker's reason" grep -qxF "false	29 -> 33 is neither * 2 nor + 1" "$T/tasks.out"
check_done
