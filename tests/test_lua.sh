#!/bin/sh
# The Lua host end to end: the Lua test files (tests/lua/test_*.lua, run by
# tests/lua/runner.lua inside `logitlab run`), every ```lua example of
# docs/lua-api.md, and the `run` / `repl` commands (exit statuses, errors,
# arguments, the sandbox's file boundary). One summary line for tests/run.sh
# adds the runner's counts to the shell checks.
. "$(dirname "$0")/check.sh"
M=$SHARED/models/stories260K.gguf
T=$(mktemp -d "${TMPDIR:-/tmp}/logitlab-lua.XXXXXX")
trap 'rm -rf "$T"' EXIT
if [ ! -x "$LOGITLAB" ]; then echo "FAIL: no binary at $LOGITLAB"; echo "# passed 0 failed 1"; exit 1; fi
case "$M" in /*) ;; *) M=$(cd "$(dirname "$M")" && pwd)/$(basename "$M") ;; esac
R=$(cd "$(dirname "$0")/.." && pwd)

# ---- the Lua test files, in a workspace of their own ----
W=$T/ws
mkdir -p "$W/golden" "$W/plugins" "$W/data"
cp "$R"/tests/lua/*.lua "$W/"
cp "$R"/tests/lua/plugins/*.lua "$R"/plugins/*.lua "$W/plugins/"
# the plugins' shared libraries (lab.require) and stories260K as F32, Q8_0 and Q4_0 (test_ensemble, test_mixplugins)
mkdir -p "$W/plugins/lib" "$W/models" && cp "$R"/plugins/lib/*.lua "$W/plugins/lib/" && mkdir -p "$W/plugins/tasks" && cp "$R"/plugins/tasks/*.lua "$W/plugins/tasks/"
for q in f32 q8_0 q4_0; do "$LOGITLAB" quantize -q "$M" "$W/models/s260-$q.gguf" "$q" >/dev/null || { echo "FAIL: quantize $q"; check_fail=$((check_fail+1)); }; done
cp "$SHARED"/models/stories260K.bin "$SHARED"/models/tok512.bin "$W/models/"   # test_search_misuse: a vocabulary of equal size made different
cp "$SHARED"/golden/stories260K/s2_once_upon_a_time.* "$W/golden/"
cp "$SHARED"/golden/tokenizer-llama3/chat_examples.json "$SHARED"/golden/tokenizer-llama3/chat_template.jinja "$W/golden/"
ln -s /etc "$W/escape"                       # a link out of the workspace: lab.fs must refuse it
echo "outside" > "$T/outside.txt"
ln -s "$T/outside.txt" "$W/escape_file"
mkfifo "$W/fifo" "$W/fifo.lua" && mkdir "$W/adir"   # non-regular files: refused without blocking
mkdir -p "$W/fifotok" && cp "$SHARED"/golden/tokenizer-llama3/tokenizer.json "$W/fifotok/" && mkfifo "$W/fifotok/tokenizer_config.json"
mkdir -p "$T/outplug" "$T/evil/lib" && ln -s "$T/outplug" "$W/outplug"   # plugin and library files outside
printf 'return {name="outplug", api_level=1}\n' > "$T/outplug/p.lua"
printf 'return "sneaky"\n' > "$T/evil/lib/sneaky.lua"
files=$(cd "$W" && ls test_*.lua)
"$LOGITLAB" run -w "$W" --budget 60 "$W/runner.lua" "$W" "$M" $files >"$T/lua.out" 2>"$T/lua.err"
rc=$?
grep -v '^# passed' "$T/lua.out" | grep 'FAIL' | head -40
line=$(grep '^# passed' "$T/lua.out" | tail -1)
if [ -z "$line" ]; then
  echo "FAIL: the Lua runner printed no summary (exit $rc)"; grep '^# run ' "$T/lua.out" | tail -1
  tail -30 "$T/lua.err"; symbolize "$T/lua.err"; lua_p=0; lua_f=1
else
  lua_p=$(echo "$line" | awk '{print $3}'); lua_f=$(echo "$line" | awk '{print $5}')
  if [ "$rc" -ne 0 ] && [ "$lua_f" -eq 0 ]; then echo "FAIL: the runner exited $rc"; tail -20 "$T/lua.err"; lua_f=1; fi
fi

# ---- every ```lua block of docs/lua-api.md runs ----
D=$T/doc
mkdir -p "$D"
awk -v dir="$D" '
  /^```lua[ \t]*$/ { n++; f = sprintf("%s/ex%03d.lua", dir, n); inb = 1; next }
  /^```/ && inb { inb = 0; close(f); next }
  inb { print > f }
' "$R/docs/lua-api.md"
nd=0
for f in "$D"/ex*.lua; do
  [ -f "$f" ] || continue
  nd=$((nd+1))
  if (cd "$R" && "$LOGITLAB" run -w "$W" "$f") >"$T/doc.out" 2>&1; then
    check_pass=$((check_pass+1))
  else
    check_fail=$((check_fail+1)); echo "FAIL: docs/lua-api.md example $(basename "$f"):"; sed 's/^/  /' "$f" | head -8; tail -5 "$T/doc.out"
  fi
done
[ "$nd" -ge 40 ] || { check_fail=$((check_fail+1)); echo "FAIL: only $nd lua examples in docs/lua-api.md"; }

# ---- the commands ----
printf 'print("args", select("#", ...), ...)\nprint(arg[0] ~= nil, arg[1])\n' > "$T/args.lua"
check_run "run passes arguments" 0 "args	3	a	--b	c" "$LOGITLAB" run "$T/args.lua" a --b c
check_run "run: options before the script" 0 "true	x" "$LOGITLAB" run --budget 5 -t 1 "$T/args.lua" x
check_run "run without a script is a usage error" 2 "missing the script" "$LOGITLAB" run
# run --end-tokens: every model's end tokens (stories260K seed 4 draws BOS as token 193)
cat >"$T/ends.lua" <<'EOF'
local m = assert(lab.model.open(arg[1]))
local r = lab.generate(m:seq("Once upon a time"), { sampler = lab.sampler{ seed = 4 }, max_tokens = 256 })
print("ends", table.concat(m:info().end_tokens, ","), r.n, r.reason)
EOF
check_run "run --end-tokens bos: lab.generate stops at the BOS" 0 "^ends	1	193	end_token$" "$LOGITLAB" run --end-tokens bos "$T/ends.lua" "$M"
check_run "run without --end-tokens: EOS only" 0 "^ends		256	length$" "$LOGITLAB" run "$T/ends.lua" "$M"
check_run "run --end-tokens: a bad list is a usage error" 2 "^logitlab run: --end-tokens: 'story': not a token" "$LOGITLAB" run --end-tokens story "$T/ends.lua" "$M"
check_run "run --end-tokens: a name the model lacks fails its open" 1 "run --end-tokens: eot: this vocabulary has no eot token" "$LOGITLAB" run --end-tokens eot "$T/ends.lua" "$M"
# lab.train on text the vocabulary maps largely to <unk> (zh-poem's on English): a warning line, the counts in the result
cat >"$T/unk.lua" <<'EOF'
local m = assert(lab.model.open(arg[1]))
local spec = { model = m, output = "unk.gguf", steps = 1, batch = 1, seq_len = 16, val = 0, threads = 1,
  texts = { "Once upon a time, there was a dog named Max. Max liked to run in the park." } }
local r = assert(lab.train(spec))
spec.background, spec.output = true, "unk2.gguf"
local t = assert(lab.train(spec))
local rb = assert(lab.await(t))
print("unk", r.tokens, r.unk_tokens, r.warning ~= nil, rb.unk_tokens, t:status().unk_tokens)
EOF
"$LOGITLAB" run -w "$T/unkws" "$T/unk.lua" "$SHARED/models/real/zh-poem-750K.bin" >"$T/unk.out" 2>"$T/unk.err"
check "lab.train on <unk>s: the counts (foreground, background, status)" grep -q "^unk	75	58	true	58	58$" "$T/unk.out"
check "lab.train on <unk>s: a warning line for each run" test "$(grep -c '^lab.train: warning: 58 of the data.s 75 tokens (77%) are <unk>' "$T/unk.err")" -eq 2
# seq:save records exact_int8: a llama2.c version 2 file gives other weights with it (F32) than without
# (Q8_0 blocks), so a state saved from one is refused by the other (it loaded, and its cells were the other's)
cat >"$T/kvx.lua" <<'EOF'
local q = assert(lab.model.open(arg[1]))
local e = assert(lab.model.open(arg[1], { exact_int8 = true }))
local s = q:seq("Once upon a time"); s:eval(); assert(s:save("q"))
local s2 = e:seq("Once upon a time"); s2:eval(); assert(s2:save("e"))
local a, aerr = e:load("q")
local b, berr = q:load("e")
print("kvx", q:info().exact_int8, e:info().exact_int8, a, aerr)
print("kvx2", b, berr)
print("kvx3", q:load("q") ~= nil, e:load("e") ~= nil)
EOF
"$LOGITLAB" run -w "$T/kvxws" "$T/kvx.lua" "$SHARED/models/real/stories3M-q80.bin" >"$T/kvx.out" 2>&1
check "kv save/load: Q8_0 state refused by the exact_int8 model" grep -q "^kvx	false	true	nil	kv/q.json was saved from .*stories3M-q80.bin opened without exact_int8; this model is opened with it" "$T/kvx.out"
check "kv save/load: and the other way" grep -q "^kvx2	nil	kv/e.json was saved from .*opened with exact_int8; this model is opened without it" "$T/kvx.out"
check "kv save/load: each loads into its own" grep -q "^kvx3	true	true$" "$T/kvx.out"
check_run "run: a missing file fails" 1 "cannot open" "$LOGITLAB" run "$T/nope.lua"
mkdir -p "$T/pdir"
check_run "run --plugins DIR x.lua: the flag takes no value (a hint)" 2 "pdir: a folder, not a regular file (--plugins takes no value" \
  "$LOGITLAB" run --plugins "$T/pdir" "$T/args.lua"
check_run "run --plugins nodir x.lua: the hint too" 2 "nodir: no such file (--plugins takes no value" "$LOGITLAB" run --plugins "$T/nodir" "$T/args.lua"
check_run "run --plugins nope.lua: a script that is missing, no hint" 1 "nope.lua: cannot open" "$LOGITLAB" run --plugins "$T/nope.lua" x
check_run "run --plugins x.lua a: runs" 0 "args	1	a" "$LOGITLAB" run --plugins "$T/args.lua" a
printf 'local function f() error("boom") end\nf()\n' > "$T/err.lua"
check_run "run: an error exits 1 with a traceback" 1 "err.lua:1: boom" "$LOGITLAB" run "$T/err.lua"
check_run "run: the traceback names the caller" 1 "err.lua:2" "$LOGITLAB" run "$T/err.lua"
# error({...}): no message says where, so the traceback does (it said only
# "(error object is a table value)")
printf 'local function f() error({ code = 5 }) end\nf()\n' > "$T/errtab.lua"
check_run "run: a table error object exits 1, named" 1 "(error object is a table value)" "$LOGITLAB" run "$T/errtab.lua"
check_run "run: a table error object: the traceback says where" 1 "errtab.lua:1: in " "$LOGITLAB" run "$T/errtab.lua"
printf 'local x = \n' > "$T/syntax.lua"
check_run "run: a syntax error exits 1" 1 "syntax.lua" "$LOGITLAB" run "$T/syntax.lua"
check "run: a syntax error is one line (no traceback of C frames alone)" test "$(wc -l <"$T/out")" -eq 1
check_run "run: a missing file is one line" 1 "nope.lua: cannot open" "$LOGITLAB" run "$T/nope.lua"
check_not "run: a missing file: no traceback" grep -q "stack traceback" "$T/out"
printf 'while true do end\n' > "$T/loop.lua"
check_run "run: an endless script is stopped by --budget" 1 "time budget of 0.3 s exceeded" "$LOGITLAB" run --budget 0.3 "$T/loop.lua"
# lab.task_budget's wall time without engine work: the hook stops a spinning task
printf 'lab.task_budget{seconds = 0.2}\nlocal x = 0 while true do x = x + 1 end\n' > "$T/tspin.lua"
check_run "run: a task budget stops a task spinning in Lua" 1 "task budget exceeded: 0.2 s of wall time" timeout 20 "$LOGITLAB" run --budget 30 "$T/tspin.lua"
printf 'print(xpcall(function() while true do end end, function() while true do end end))\n' > "$T/xp.lua"
check_run "run: an xpcall message handler cannot outlive --budget" 1 "time budget of 0.3 s exceeded" timeout 20 "$LOGITLAB" run --budget 0.3 "$T/xp.lua"
printf 'print(string.find(("a"):rep(28), ("a*"):rep(28) .. "b"))\n' > "$T/pat.lua"
check_run "run: a backtracking pattern cannot outlive --budget" 1 "time budget of 0.3 s exceeded" timeout 20 "$LOGITLAB" run --budget 0.3 "$T/pat.lua"
printf 'print(pcall(lab.budget, {memory = 64 * 1024 * 1024}))\nprint(lab.budget{memory = 8 * 1024 * 1024}.memory)\n' > "$T/raise.lua"
check_run "run: a script cannot raise its memory cap above --mem" 0 "false.*above the cap of 16.0 MiB" "$LOGITLAB" run --mem 16 "$T/raise.lua"
check_run "run: but may lower it" 0 "^8388608" "$LOGITLAB" run --mem 16 "$T/raise.lua"
printf 'local t = {} for i = 1, 1e9 do t[i] = {i} end\n' > "$T/bomb.lua"
check_run "run: a memory bomb is stopped by --mem" 1 "memory cap of 16.0 MiB exceeded" "$LOGITLAB" run --mem 16 "$T/bomb.lua"
printf 'print(io, os, debug, package, require, dofile, loadfile)\n' > "$T/sb.lua"
check_run "run: no io/os/debug/package" 0 "nil	nil	nil	nil	nil	nil	nil" "$LOGITLAB" run "$T/sb.lua"
printf 'print(lab.fs.read("x"))\n' > "$T/nows.lua"
check_run "run: lab.fs without a workspace is nil, err" 0 "no workspace" "$LOGITLAB" run "$T/nows.lua"
check_run "run --budget rejects junk" 2 "budget" "$LOGITLAB" run --budget x "$T/args.lua"
printf 'for _, p in ipairs(lab.plugin.list()) do print(p.name, p.enabled) end\n' > "$T/plist.lua"
check_run "run --plugins loads plugins/ (the example)" 0 "example	true" sh -c "cd '$R' && '$LOGITLAB' run --plugins '$T/plist.lua'"

# issue 13, item 9: an acknowledged write is committed while the script computes without awaiting
W9=$T/ws9
mkdir -p "$W9"
printf 'assert(lab.store.put("note", {x = 1}))\nprint("put")\nlocal t0 = lab.now() while lab.now() - t0 < 20 do end\n' > "$T/busy.lua"
"$LOGITLAB" run -w "$W9" --budget 60 "$T/busy.lua" > "$T/busy.out" 2>&1 &
bpid=$!
i=0; while [ $i -lt 100 ] && ! grep -q put "$T/busy.out"; do sleep 0.1; i=$((i+1)); done
sleep 1.5                                   # three times the 500 ms window promised by docs/lua-api.md
kill -9 $bpid 2>/dev/null; wait $bpid 2>/dev/null
printf 'print("notes", lab.store.query("SELECT count(*) AS n FROM records WHERE kind = ?", {"note"})[1].n)\n' > "$T/count.lua"
check_run "a put is committed within the window while the script computes (kill -9)" 0 "notes	1" "$LOGITLAB" run -w "$W9" "$T/count.lua"

# the REPL, fed from a pipe
printf '1 + 2\nx = 10\nx * 2\nfunction f(a)\nreturn a * 3\nend\nf(5)\nerror("oops")\n"still here"\n' > "$T/repl.in"
check_run "repl: expressions print their values" 0 "^3$" sh -c "'$LOGITLAB' repl < '$T/repl.in'"
check_run "repl: globals persist" 0 "^20$" sh -c "'$LOGITLAB' repl < '$T/repl.in'"
check_run "repl: multi-line chunks" 0 "^15$" sh -c "'$LOGITLAB' repl < '$T/repl.in'"
check_run "repl: an error is reported" 0 "oops" sh -c "'$LOGITLAB' repl < '$T/repl.in'"
check_run "repl: goes on after an error" 0 '"still here"' sh -c "'$LOGITLAB' repl < '$T/repl.in'"
printf 'm = lab.model.open("%s")\ns = m:seq("Once upon a time")\ns:eval():argmax()\n' "$M" > "$T/repl2.in"
check_run "repl: the engine from the prompt (await in a REPL line)" 0 "^432$" sh -c "'$LOGITLAB' repl < '$T/repl2.in'"

# Ctrl-C in the REPL while a line awaits a long prompt evaluation: the
# engine job is cancelled (stopped at the model's next layer), not left to
# run to its end behind the prompt. The line is sent once the process has
# spent 0.1 s of CPU on it (the evaluation is ~1.3 s alone); a Ctrl-C that
# lands earlier stops it too, so only a binary that ignores the job fails.
# `m:kv()` waits for the engine: it reads all 3602 cells when the job ran on.
SA=$SHARED/models/synthetic/synth-A-q4_0.gguf
mkfifo "$T/rin"
# (SIGINT set back to its default: this shell starts its background jobs
# with it ignored, and `repl` and `run` keep an inherited SIG_IGN)
env --default-signal=INT "$LOGITLAB" repl < "$T/rin" > "$T/rout" 2>&1 &
rpid=$!
exec 3>"$T/rin"
printf 'm = lab.model.open("%s", { n_ctx = 4096, threads = 1 })\ns = m:seq(string.rep("Once upon a time ", 900))\nprint("ready", #s)\n' "$SA" >&3
i=0; while [ $i -lt 2400 ] && ! grep -q '^ready' "$T/rout"; do sleep 0.05; i=$((i+1)); done
cpu() { awk '{print $14}' /proc/$rpid/stat 2>/dev/null || echo 0; }
c0=$(cpu)
printf 's:eval()\n' >&3
i=0; while [ $i -lt 2400 ] && [ "$(cpu)" -lt $((c0 + 10)) ]; do sleep 0.05; i=$((i+1)); done
kill -INT $rpid
printf 'print("kv", m:kv().used)\nprint("after", m:seq("Once upon a time"):eval() ~= nil)\n' >&3
exec 3>&-
wait $rpid; rrc=$?
check "repl: Ctrl-C during a long evaluation says interrupted" grep -q '^interrupted' "$T/rout"
kv=$(sed -n 's/^kv\t\([0-9]*\)$/\1/p' "$T/rout")
if grep -q '^ready	3602$' "$T/rout" && [ -n "$kv" ] && [ "$kv" -lt 3602 ]; then check_pass=$((check_pass+1))
else check_fail=$((check_fail+1)); echo "FAIL: repl: Ctrl-C cancels the engine job the line awaits (kv '$kv' of 3602 cells)"; cat "$T/rout"; fi
check "repl: the prompt works after the Ctrl-C" grep -q '^after	true$' "$T/rout"
check "repl: exits 0 after a Ctrl-C" [ "$rrc" -eq 0 ]

# `logitlab run` and Ctrl-C: the first raises "script: interrupted" where the
# script waits (here a 3602-token evaluation, stopped at the next layer), a
# pcall catches it, the script's cleanup runs, the run it left open ends
# "interrupted" with its records, and the exit status is 130. A second
# Ctrl-C (the script caught the first and computes on) stops it for good:
# 130, and its run ends "interrupted" with its record.
WI=$T/wsint
mkdir -p "$WI"
cat > "$T/intr.lua" <<'LUA'
local m = assert(lab.model.open(arg[1], { n_ctx = 4096, threads = 1 }))
local s = m:seq(string.rep("Once upon a time ", 900))
local id, run = assert(lab.store.run_begin{ plugin = "intr" })
assert(run:put("note", { step = 1 }))
local ok, err = pcall(function() assert(lab.fs.write("ready", "1")); return s:eval() end)
assert(lab.fs.write("caught", string.format("%s|%s|%d", tostring(ok), tostring(err), m:kv().used)))
if not ok then error(err, 0) end
LUA
cat > "$T/intr2.lua" <<'LUA'
local id, run = assert(lab.store.run_begin{ plugin = "intr2" })
assert(run:put("note", { step = 1 }))
local ok, err = pcall(function() assert(lab.fs.write("ready2", "1")); while true do end end)
assert(lab.fs.write("caught2", tostring(err)))
while true do end
LUA
printf 'for _, r in ipairs(lab.store.query("SELECT plugin, status, (SELECT count(*) FROM records WHERE run_id = runs.id) AS n FROM runs ORDER BY id")) do print(r.plugin, r.status, r.n) end\n' > "$T/runs.lua"
env --default-signal=INT "$LOGITLAB" run -w "$WI" "$T/intr.lua" "$SA" > "$T/iout" 2>&1 &
ipid=$!
i=0; while [ $i -lt 2400 ] && [ ! -f "$WI/ready" ]; do sleep 0.05; i=$((i+1)); done
rpid=$ipid; c0=$(cpu)
i=0; while [ $i -lt 2400 ] && [ "$(cpu)" -lt $((c0 + 10)) ]; do sleep 0.05; i=$((i+1)); done
kill -INT $ipid
wait $ipid; irc=$?
caught=$(cat "$WI/caught" 2>/dev/null)
ikv=${caught##*|}
check "run: Ctrl-C exits 130" [ "$irc" -eq 130 ]
check "run: Ctrl-C raises a catchable 'script: interrupted' where the script waits" sh -c "echo '$caught' | grep -q '^false|script: interrupted|'"
if [ -n "$ikv" ] && [ "$ikv" -lt 3602 ] 2>/dev/null; then check_pass=$((check_pass+1))
else check_fail=$((check_fail+1)); echo "FAIL: run: Ctrl-C stops the engine step (kv '$ikv' of 3602; caught '$caught')"; cat "$T/iout"; fi
check "run: the message says Ctrl-C stopped it" grep -q 'stopped by Ctrl-C (exit status 130)' "$T/iout"
check_run "run: the open run ends interrupted, its record kept" 0 "^intr	interrupted	1$" "$LOGITLAB" run -w "$WI" "$T/runs.lua"
env --default-signal=INT "$LOGITLAB" run -w "$WI" "$T/intr2.lua" > "$T/iout2" 2>&1 &
ipid=$!
i=0; while [ $i -lt 2400 ] && [ ! -f "$WI/ready2" ]; do sleep 0.05; i=$((i+1)); done
kill -INT $ipid
i=0; while [ $i -lt 2400 ] && [ ! -f "$WI/caught2" ]; do sleep 0.05; i=$((i+1)); done
kill -INT $ipid
wait $ipid; irc=$?
check "run: the first Ctrl-C was caught" grep -q '^script: interrupted$' "$WI/caught2"
check "run: a second Ctrl-C exits 130" [ "$irc" -eq 130 ]
check "run: a second Ctrl-C says so" grep -q 'interrupted again: stopping the script' "$T/iout2"
check_run "run: a second Ctrl-C stops it for good, its run ends interrupted with its record" 0 "^intr2	interrupted	1$" "$LOGITLAB" run -w "$WI" "$T/runs.lua"

# The first Ctrl-C reaches every kind of wait: a task awaiting another task
# (which here catches its own interruption and finishes: the awaiter is raised
# in all the same, and the awaited task's result stays for a later await), a
# task awaiting a background Training (raised in; the Training stops after its
# step with its checkpoint), and a script waiting on nothing but a timer (no
# Lua to raise in: the timer stops and the script ends as with the error
# uncaught: status 130, "script: interrupted", its run "interrupted").
# Each script writes its ready file in the resume that starts the wait.
cat > "$T/await_task.lua" <<'LUA'
local b = lab.spawn(function()
  assert(lab.fs.write("ready5", "1"))
  local ok, err = pcall(lab.sleep, 30)
  return "b: " .. tostring(err)
end)
local ok, err = pcall(lab.await, b)
print("main", ok, err)
print("then", lab.await(b))
LUA
cat > "$T/await_train.lua" <<'LUA'
local m = assert(lab.model.open(arg[1]))
local tr = assert(lab.train{ model = m, output = "intr.gguf", steps = 100000, batch = 2, seq_len = 32,
  val = 0, threads = 1, texts = { "Once upon a time, there was a dog." }, background = true })
assert(lab.fs.write("ready6", "1"))
local ok, err = pcall(lab.await, tr)
print("main", ok, err)
local r, why = lab.await(tr)
print("then", r, why, tr:status().state, lab.fs.exists("train/intr.gguf.ckpt") or lab.fs.exists("intr.gguf.ckpt"))
LUA
cat > "$T/fg_train.lua" <<'LUA'
local m = assert(lab.model.open(arg[1]))
local ok, err = pcall(lab.train, { model = m, output = "fg.gguf", steps = 100000, batch = 2, seq_len = 32, val = 0,
  threads = 1, texts = { "Once upon a time, there was a dog." },
  on_step = function(s) if s.step == 1 then assert(lab.fs.write("ready8", "1")) end end })
print("main", ok, err)
LUA
cat > "$T/timers.lua" <<'LUA'
assert(lab.store.run_begin{ plugin = "timers" })
lab.every(0.01, function() assert(lab.fs.write("ready7", "1")) end)
LUA
for k in 5 6 7 8; do
  case $k in 5) sc=await_task.lua ;; 6) sc=await_train.lua ;; 7) sc=timers.lua ;; 8) sc=fg_train.lua ;; esac
  env --default-signal=INT "$LOGITLAB" run -w "$WI" "$T/$sc" "$M" > "$T/wout$k" 2>&1 &
  wpid=$!
  i=0; while [ $i -lt 2400 ] && [ ! -f "$WI/ready$k" ]; do sleep 0.05; i=$((i+1)); done
  kill -INT $wpid
  wait $wpid; eval "wrc$k=\$?"
done
check "run: Ctrl-C raises in a task awaiting a task" grep -q '^main	false	script: interrupted$' "$T/wout5"
check "run: the awaited task's own result stays" grep -q '^then	true	b: script: interrupted$' "$T/wout5"
check "run: a script that caught Ctrl-C in lab.await(task) exits 0" [ "$wrc5" -eq 0 ]
check "run: Ctrl-C raises in a task awaiting a background Training" grep -q '^main	false	script: interrupted$' "$T/wout6"
check "run: and the Training stops after its step, its checkpoint written" grep -q '^then	nil	stopped at step [0-9]* of 100000	stopped	true$' "$T/wout6"
check "run: a script that caught Ctrl-C in lab.await(training) exits 0" [ "$wrc6" -eq 0 ]
check "run: Ctrl-C in a foreground lab.train raises script: interrupted there" grep -q '^main	false	script: interrupted$' "$T/wout8"
check_run "run: trainings Ctrl-C stopped (background and foreground) end their runs interrupted, not cancelled" 0 "^2$" \
  sh -c "'$LOGITLAB' run -w '$WI' '$T/runs.lua' | grep -c '^train	interrupted	'"
check "run: Ctrl-C with only a timer left: status 130" [ "$wrc7" -eq 130 ]
check "run: Ctrl-C with only a timer left: script: interrupted" grep -q '^logitlab run: script: interrupted$' "$T/wout7"
check_run "run: Ctrl-C with only a timer left: its run ends interrupted" 0 "^timers	interrupted	0$" "$LOGITLAB" run -w "$WI" "$T/runs.lua"

# Started with SIGINT ignored (a background job of a non-interactive shell,
# the classic idiom; made explicit here with trap), `run` and `repl` keep it
# ignored: the script waiting in lab.sleep for a file the test writes after
# the SIGINT, and the REPL line computing until then, both reach their end.
cat > "$T/ign.lua" <<'LUA'
assert(lab.fs.write("ready3", "1"))
while not lab.fs.read("go3") do lab.sleep(0.01) end
print("went on")
LUA
(trap '' INT; exec "$LOGITLAB" run -w "$WI" "$T/ign.lua") > "$T/gout" 2>&1 &
gpid=$!
i=0; while [ $i -lt 2400 ] && [ ! -f "$WI/ready3" ]; do sleep 0.05; i=$((i+1)); done
kill -INT $gpid
echo 1 > "$WI/go3"
wait $gpid; grc=$?
check "run: an inherited SIG_IGN for SIGINT is kept (exit 0)" [ "$grc" -eq 0 ]
check "run: an inherited SIG_IGN for SIGINT is kept (the script went on)" grep -q '^went on$' "$T/gout"
mkfifo "$T/gin"
(trap '' INT; exec "$LOGITLAB" repl -w "$WI" < "$T/gin") > "$T/grout" 2>&1 &
gpid=$!
exec 3>"$T/gin"
printf 'print("ready")
while not lab.fs.read("go4") do end print("went on")
' >&3
i=0; while [ $i -lt 2400 ] && ! grep -q '^ready' "$T/grout"; do sleep 0.05; i=$((i+1)); done
kill -INT $gpid
echo 1 > "$WI/go4"
exec 3>&-
wait $gpid; grc=$?
check "repl: an inherited SIG_IGN for SIGINT is kept (the line went on)" grep -q '^went on$' "$T/grout"
check "repl: an inherited SIG_IGN for SIGINT is kept (no interruption)" sh -c "! grep -q interrupted '$T/grout' && [ $grc -eq 0 ]"

echo "# passed $((check_pass + lua_p)) failed $((check_fail + lua_f))"
[ $((check_fail + lua_f)) -eq 0 ]
