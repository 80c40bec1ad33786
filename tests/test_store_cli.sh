#!/bin/sh
# `logitlab runs` and `logitlab export` end to end on a workspace made from
# the frozen version 1 database (tests/data/store_v1.sql; the read-only open
# upgrades it), plus the clear refusals: no workspace, a damaged file, a
# newer schema (left byte-identical), bad options. Seeding and checking the
# output uses python3 (json, csv, sqlite3 modules); without it only the
# error paths and the lab.store checks run. lab.store end to end: what
# `logitlab run` / `repl` record is what `runs` and `export` show (runs
# ended by the script, by its failure, by the REPL's end), the model's
# sha256, a second process on a held workspace (nil, err for writes, reads
# work), and the default workspace without -w.
. "$(dirname "$0")/check.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/logitlab-store-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
if [ ! -x "$LOGITLAB" ]; then echo "FAIL: no binary at $LOGITLAB"; echo "# passed 0 failed 1"; exit 1; fi
HAVE_PY=0; python3 -c 'import sqlite3, json, csv' >/dev/null 2>&1 && HAVE_PY=1
V1=$(dirname "$0")/data/store_v1.sql

# check_rc DESC STATUS CMD...: exit status STATUS; a runtime failure (1) prints
# exactly one line on stderr, a usage error (2) the line and a hint.
check_rc() {
  d=$1; want=$2; shift 2
  "$@" >"$T/out" 2>"$T/err"; got=$?
  lines=$(wc -l <"$T/err")
  if [ "$got" -eq "$want" ] && { [ "$want" -eq 0 ] || [ "$lines" -eq 1 ] || { [ "$want" -eq 2 ] && [ "$lines" -eq 2 ]; }; }; then check_pass=$((check_pass+1))
  else check_fail=$((check_fail+1)); echo "FAIL: $d (exit $got, want $want)"; head -3 "$T/err"; fi
}
py() { python3 - "$@"; }

# ---- refusals ----
check_rc "runs: no workspace" 1 "$LOGITLAB" runs -w "$T/none"
check "the message says so" grep -q "no workspace" "$T/err"
check_not "and nothing was created" test -e "$T/none"
check_rc "export: no workspace" 1 "$LOGITLAB" export -w "$T/none"
mkdir "$T/bad" && head -c 3000 /dev/urandom >"$T/bad/logitlab.db"
check_rc "runs: a damaged database" 1 "$LOGITLAB" runs -w "$T/bad"
check "with a suggestion" grep -q "mv logitlab.db" "$T/err"
check_rc "export: bad format" 2 "$LOGITLAB" export -w "$T/bad" --format xml
check_rc "export: bad run id" 2 "$LOGITLAB" export -w "$T/bad" --run x
check_rc "runs: bad limit" 2 "$LOGITLAB" runs -w "$T/bad" -n -3
check_rc "runs --help" 0 "$LOGITLAB" runs --help
check_rc "export --help" 0 "$LOGITLAB" export --help
check "help lists runs and export" sh -c "'$LOGITLAB' --help | grep -q '^  runs' && '$LOGITLAB' --help | grep -q '^  export'"

# ---- lab.store from `logitlab run` and `repl`, seen by `runs` and `export` ----
M=$SHARED/models/stories260K.gguf
case "$M" in /*) ;; *) M=$(cd "$(dirname "$M")" && pwd)/$(basename "$M") ;; esac
L=$T/lua
mkdir "$L"
cat >"$T/sweep.lua" <<'EOF'
local m = assert(lab.model.open(arg[1]))
local id = assert(lab.store.run_begin{ plugin = "sweep", params = { temp = 0.5 }, seed = 7, models = { m } })
assert(lab.store.put("sample", { tok = 450, text = "once" }))
assert(lab.store.metric("loss", 2.5))
assert(lab.store.metric("loss", 1.25))
assert(lab.store.run_end(id))
assert(lab.store.run_begin{ plugin = "left_open" })
assert(lab.store.put("note", "never ended"))
EOF
check_rc "run: a script records runs" 0 "$LOGITLAB" run -w "$L" "$T/sweep.lua" "$M"
check_rc "runs lists them" 0 "$LOGITLAB" runs -w "$L"
check "with status and latest metric" grep -q "sweep  *ok .*loss=1.25" "$T/out"
check "a run left open ends ok with the script" grep -q "left_open  *ok" "$T/out"
check_rc "export jsonl" 0 "$LOGITLAB" export -w "$L" --format jsonl -o "$T/lua.jsonl"
check "the run line" grep -q '"type":"run","run":1,"plugin":"sweep",.*"status":"ok",.*"seed":7,.*"params":{"temp":0.5}' "$T/lua.jsonl"
SHA=$(sha256sum "$M" | cut -d' ' -f1)
check "the model's sha256" grep -q "\"run\":1,.*\"models\":\[\"$SHA\"\]" "$T/lua.jsonl"
check "the record" grep -q '"type":"record","run":1,.*"kind":"sample",.*"data":{"text":"once","tok":450}' "$T/lua.jsonl"
check "metric steps 0 and 1" sh -c "grep -q '\"run\":1,\"name\":\"loss\",\"step\":0,\"value\":2.5' '$T/lua.jsonl' && grep -q '\"run\":1,\"name\":\"loss\",\"step\":1,\"value\":1.25' '$T/lua.jsonl'"
check "the open run's record" grep -q '"type":"record","run":2,.*"data":"never ended"' "$T/lua.jsonl"

printf 'lab.store.run_begin{ params = { n = 1 } }\nlocal function f() error("boom at step 3") end\nf()\n' >"$T/crash.lua"
"$LOGITLAB" run -w "$L" "$T/crash.lua" >"$T/out" 2>&1
check "run: a failing script exits 1" test $? -eq 1
"$LOGITLAB" export -w "$L" >"$T/lua.jsonl" 2>&1
check "its run ended failed, with the message (no traceback)" grep -q '"plugin":"crash",.*"status":"failed",.*"error":"[^"]*crash.lua:2: boom at step 3"}' "$T/lua.jsonl"

printf 'lab.store.run_begin{ plugin = "explore" }\nlab.store.put("note", "from the prompt")\n' >"$T/repl.in"
"$LOGITLAB" repl -w "$L" <"$T/repl.in" >"$T/out" 2>&1
"$LOGITLAB" export -w "$L" >"$T/lua.jsonl" 2>&1
check "repl: the run ends ok with the REPL" grep -q '"plugin":"explore",.*"status":"ok"' "$T/lua.jsonl"
check "repl: its record" grep -q '"kind":"note",.*"data":"from the prompt"' "$T/lua.jsonl"

# a second process while one holds the workspace: writes nil, err; reads work
cat >"$T/hold.lua" <<'EOF'
local id = assert(lab.store.run_begin{ plugin = "holder" })
assert(lab.store.put("held", 1))
assert(lab.store.run_end(id))   -- commits
assert(lab.fs.write("ready", ""))
local t0 = lab.now()
while not lab.fs.exists("go") and lab.now() - t0 < 20 do lab.sleep(0.02) end
EOF
cat >"$T/busy.lua" <<'EOF'
local id, err = lab.store.put("x", 1)
assert(id == nil and err:find("in use by another logitlab"), tostring(err))
local run, err2 = lab.store.run_begin{}
assert(run == nil and err2 == err, tostring(err2))
assert(lab.store.metric("m", 1, 0, { run = 1 }) == nil)
print("held", assert(lab.store.query("SELECT count(*) AS n FROM records WHERE kind = 'held'"))[1].n)
for r in assert(lab.store.rows("SELECT plugin FROM runs WHERE plugin = 'holder'")) do print("run", r.plugin) end
EOF
"$LOGITLAB" run -w "$L" "$T/hold.lua" >"$T/hold.out" 2>&1 &
hold=$!
i=0; while [ ! -e "$L/ready" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
"$LOGITLAB" run -w "$L" "$T/busy.lua" >"$T/out" 2>&1; brc=$?
touch "$L/go"; wait $hold; hrc=$?
check "busy: put gives nil, err, and the query reads" sh -c "[ $brc -eq 0 ] && grep -q '^held	1$' '$T/out' && grep -q '^run	holder$' '$T/out'"
[ $brc -eq 0 ] || head -5 "$T/out"
check "the holder went on" test $hrc -eq 0
printf 'assert(lab.store.put("after", 1))\n' >"$T/after.lua"
check_rc "once it is gone, a writer gets the workspace" 0 "$LOGITLAB" run -w "$L" "$T/after.lua"

# no -w: lab.store uses workspaces/default (made only when used), lab.fs none
mkdir "$T/cwd" "$T/cwd2"
LL=$(cd "$(dirname "$LOGITLAB")" && pwd)/$(basename "$LOGITLAB")   # absolute: these run elsewhere
printf 'print(lab.store.dir())\nassert(lab.store.put("note", "default"))\nprint(lab.fs.read("x"))\n' >"$T/nows.lua"
(cd "$T/cwd" && "$LL" run "$T/nows.lua") >"$T/out" 2>&1
check "without -w lab.store's workspace is workspaces/default" grep -q '^workspaces/default$' "$T/out"
check "while lab.fs has none" grep -q 'no workspace' "$T/out"
check "export there finds the record" sh -c "cd '$T/cwd' && '$LL' export | grep -q '\"data\":\"default\"'"
# issue 13, item 10: -o never destroys what is there on an error
echo precious >"$T/keep.txt"
check_rc "export: an unknown run with -o fails" 1 "$LOGITLAB" export -w "$L" --run 99 -o "$T/keep.txt"
check "and leaves the file as it was" grep -qx precious "$T/keep.txt"
ln -s "$T/keep.txt" "$T/keep.link"
check_rc "export: an unknown run through a link" 1 "$LOGITLAB" export -w "$L" --run 99 -o "$T/keep.link"
check "leaves the link and its file" sh -c "test -L '$T/keep.link' && grep -qx precious '$T/keep.txt'"
check_rc "export -o through a link" 0 "$LOGITLAB" export -w "$L" --run 1 -o "$T/keep.link"
check "replaces the file the link names, keeps the link" sh -c "test -L '$T/keep.link' && grep -q '\"type\":\"run\"' '$T/keep.txt'"
check_not "and leaves no temporary file" sh -c "ls '$T' | grep -q 'keep.txt\.'"
# -o naming the workspace's own database (or its WAL, or through a link):
# refused (the export was renamed over it: every run, session and token gone)
cp "$L/logitlab.db" "$T/db.before"
check_rc "export -o the workspace's database: refused" 2 "$LOGITLAB" export -w "$L" -o "$L/logitlab.db"
check "export -o the database: the message says so" grep -q "is a file of the workspace .* itself" "$T/err"
ln -s "$L/logitlab.db" "$T/db.link"
check_rc "export -o a link to the database: refused" 2 "$LOGITLAB" export -w "$L" -o "$T/db.link"
check "export -o the database: the database is as it was" cmp -s "$L/logitlab.db" "$T/db.before"
check_rc "runs after the refused exports: the runs are there" 0 "$LOGITLAB" runs -w "$L"
check_rc "export -o /dev/null (a device is written in place)" 0 "$LOGITLAB" export -w "$L" -o /dev/null
check "and /dev/null is still a device" test -c /dev/null
# a private copy of /dev/full (root only): a regression unlinks this one, never the system's
if mknod "$T/full" c 1 7 2>/dev/null; then
  check_rc "export -o FULL-DEVICE fails" 1 "$LOGITLAB" export -w "$L" -o "$T/full"
  check "and the device node is still there" test -c "$T/full"
fi
if [ -c /dev/full ] && [ -w /dev/full ]; then
  # issue 13, item 11: a full standard output is an error for every command
  check_rc "export > /dev/full fails" 1 sh -c "'$LOGITLAB' export -w '$L' > /dev/full"
  check_rc "runs > /dev/full fails" 1 sh -c "'$LOGITLAB' runs -w '$L' > /dev/full"
  check "export > /dev/full says why, once" sh -c "'$LOGITLAB' export -w '$L' 2>&1 >/dev/full | grep -qx 'logitlab export: cannot write the output: No space left on device'"
fi
printf 'print(1)\n' >"$T/plain.lua"
(cd "$T/cwd2" && "$LL" run "$T/plain.lua") >/dev/null 2>&1
check_not "a script that does not use lab.store makes no workspace" test -e "$T/cwd2/workspaces"

if [ "$HAVE_PY" -eq 0 ]; then echo "# python3 missing: runs/export output not checked"; check_done; exit $?; fi

# ---- a workspace from the first schema ----
W=$T/ws
mkdir "$W"
py "$W/logitlab.db" "$V1" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.executescript(open(sys.argv[2]).read()); c.close()
EOF
check_rc "runs upgrades a v1 workspace read-only" 0 "$LOGITLAB" runs -w "$W"
check "it kept a backup" test -f "$W/logitlab.db.bak-v1"
check "both runs listed" sh -c "grep -q entropy_scan '$T/out' && grep -q sweep '$T/out'"
check "the dead run shows interrupted" grep -q "sweep *interrupted" "$T/out"
check "newest first" sh -c "head -2 '$T/out' | tail -1 | grep -q sweep"
py "$W/logitlab.db" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executemany("INSERT INTO metrics VALUES (1, ?, ?, ?, 1700000600)",
              [("loss", 0, 2.5), ("loss", 1, 1.25), ("acc", 1, 0.5), ("zz", 0, 1.0 / 3.0)])
c.execute("INSERT INTO records(run_id, kind, data, created) VALUES (1, 'tricky', ?, 1700000515)",
          ('{"s": "a,b \\"q\\"\\nline"}',))
c.commit(); c.close()
EOF
check_rc "runs with metrics" 0 "$LOGITLAB" runs -w "$W"
check "latest metric values" grep -q "acc=0.5 loss=1.25 zz=0.3333" "$T/out"
check_rc "runs --plugin" 0 "$LOGITLAB" runs -w "$W" --plugin sweep
check "filters" sh -c "! grep -q entropy_scan '$T/out' && grep -q sweep '$T/out'"
check_rc "runs -n 1" 0 "$LOGITLAB" runs -w "$W" -n 1
check "limits" test "$(wc -l <"$T/out")" -eq 2

check_rc "export jsonl" 0 "$LOGITLAB" export -w "$W" -o "$T/all.jsonl"
check "jsonl content" py "$T/all.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
types = [r["type"] for r in rows]
assert types.count("run") == 2 and types.count("metric") == 4 and types.count("record") == 5, types
run1 = [r for r in rows if r["type"] == "run" and r["run"] == 1][0]
assert run1["plugin"] == "entropy_scan" and run1["seed"] == 42 and run1["params"] == {"temps": [0.5, 1]}
assert run1["models"] == ["270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"]
t = [r for r in rows if r["type"] == "record" and r["kind"] == "tricky"][0]
assert t["data"] == {"s": 'a,b "q"\nline'}, t
zz = [r for r in rows if r["type"] == "metric" and r["name"] == "zz"][0]
assert zz["value"] == 1.0 / 3.0
assert rows[-1]["run"] is None and rows[-1]["data"] == "hello"
EOF
check_rc "export csv of one run" 0 "$LOGITLAB" export -w "$W" --run 1 --format csv
check "csv content (python's csv module)" py "$T/out" <<'EOF'
import csv, json, sys
raw = open(sys.argv[1], "rb").read()
assert raw.count(b"\r\n") >= raw.count(b"\n") - 1, "CRLF"   # the tricky record holds one bare \n
rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
assert [r["type"] for r in rows].count("run") == 1 and all(r["run"] == "1" for r in rows)
t = [r for r in rows if r["name"] == "tricky"][0]
assert json.loads(t["data"]) == {"s": 'a,b "q"\nline'}
loss = {int(r["step"]): float(r["value"]) for r in rows if r["type"] == "metric" and r["name"] == "loss"}
assert loss == {0: 2.5, 1: 1.25}, loss
EOF
check_rc "export: unknown run" 1 "$LOGITLAB" export -w "$W" --run 99
check "names it" grep -q "no run 99" "$T/err"

# ---- a newer schema is refused untouched ----
py "$W/logitlab.db" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute("PRAGMA user_version = 9"); c.commit(); c.close()
EOF
cp -p "$W/logitlab.db" "$T/before.db"
check_rc "runs: newer schema" 1 "$LOGITLAB" runs -w "$W"
check "the message says newer" grep -q "newer" "$T/err"
check "the file is byte-identical" cmp -s "$W/logitlab.db" "$T/before.db"
check "and keeps its mtime" test ! "$W/logitlab.db" -nt "$T/before.db"

# ---- run -w on a folder that does not exist makes a new workspace ----
printf 'assert(lab.fs.write("note.txt", "hi"))\nassert(lab.store.put("k", {1}))\n' > "$T/new.lua"
check "run -w NEW: creates the workspace" "$LOGITLAB" run -w "$T/fresh/ws" "$T/new.lua"
check "with its database" test -f "$T/fresh/ws/logitlab.db"
check "its config and plugins/" test -f "$T/fresh/ws/config.lua" -a -d "$T/fresh/ws/plugins"
check "and lab.fs writes there" test -f "$T/fresh/ws/note.txt"
check_rc "run -w under a file: refused" 1 "$LOGITLAB" run -w "$T/new.lua/ws" "$T/new.lua"
check_done
