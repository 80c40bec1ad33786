-- lab.store: runs, records, metrics and read-only queries, in the runner's
-- workspace (WS). Other tests and the docs' examples write there too, so
-- every check looks only at the rows it made (by id).

local function one(sql, params)
  local rows = check.ok(lab.store.query(sql, params))
  check.eq(#rows, 1, "rows of " .. sql)
  return rows[1]
end

local function record(id)
  return one("SELECT run_id, kind, data, json_type(data) AS t FROM records WHERE id = ?", { id })
end

test("dir is the workspace", function()
  local d = check.ok(lab.store.dir())
  check.ok(d:sub(1, 1) == "/" and d:match("ws$"), "an absolute path ending in the workspace's name: " .. d)
end)

test("put and query round trip every JSON value kind", function()
  local cases = {
    { "hello", '"hello"', "text" },
    { 'q"\\\n\1é', nil, "text" },
    { 42, "42", "integer" },
    { -9007199254740991, "-9007199254740991", "integer" },
    { 1.5, "1.5", "real" },
    { 0.1, nil, "real" },
    { true, "true", "true" },
    { false, "false", "false" },
    { lab.json.null, "null", "null" },
    { nil, "null", "null" },
    { {}, "{}", "object" },
    { { 1, "two", { 3 } }, '[1,"two",[3]]', "array" },
    { { b = 1, a = { c = lab.json.null } }, '{"a":{"c":null},"b":1}', "object" },
  }
  for i, c in ipairs(cases) do
    local id = check.ok(lab.store.put("kinds", c[1], { run = 0 }))
    check.eq(math.type(id), "integer", "record id")
    local r = record(id)
    if c[2] then check.eq(r.data, c[2], "case " .. i) end
    check.eq(r.t, c[3], "json_type of case " .. i)
    check.eq(r.kind, "kinds")
    check.eq(r.run_id, nil, "no run: NULL is an absent key")
    local back = lab.json.decode(r.data)
    if type(c[1]) == "table" then
      check.eq(lab.json.encode(back), lab.json.encode(c[1]), "case " .. i)
    elseif c[1] == nil then
      check.eq(back, lab.json.null)
    else
      check.eq(back, c[1], "case " .. i)
    end
  end
end)

test("run_begin and run_end are visible through query", function()
  local id = check.ok(lab.store.run_begin{ plugin = "sweep", params = { temps = { 0.5, 1 } }, seed = -1 })
  local r = one("SELECT * FROM runs WHERE id = :id", { id = id })
  check.eq(r.plugin, "sweep")
  check.eq(r.params, '{"temps":[0.5,1]}')
  check.eq(r.seed, -1)
  check.eq(r.status, "running")
  check.eq(r.ended, nil)
  check.eq(math.type(r.started), "float")
  check.ok(lab.store.run_end(id, "failed", "diverged"))
  r = one("SELECT status, error, ended FROM runs WHERE id = ?1", { id })
  check.eq(r.status, "failed")
  check.eq(r.error, "diverged")
  check.ok(r.ended >= 0)
  check.fails("already ended", lab.store.run_end(id))
  check.fails("no run 999999", lab.store.run_end(999999))
  -- "interrupted", what the host records for a run Ctrl-C stopped, from Lua too
  local iid, irun = lab.store.run_begin{ plugin = "stopped" }
  check.ok(iid and irun, "run_begin")
  check.ok(irun:run_end("interrupted", "stopped by the user"))
  r = one("SELECT status, error, ended FROM runs WHERE id = ?1", { iid })
  check.eq(r.status, "interrupted")
  check.eq(r.error, "stopped by the user")
  check.ok(r.ended >= 0)
  local d = check.ok(lab.store.run_begin())
  check.eq(one("SELECT plugin, params, seed FROM runs WHERE id = ?", { d }).plugin, "runner",
    "the script's name by default")
  check.eq(one("SELECT params FROM runs WHERE id = ?", { d }).params, "{}")
  check.ok(lab.store.run_end(d, "cancelled"))
end)

test("records go to the newest open run of the state", function()
  local a = check.ok(lab.store.run_begin{ plugin = "outer" })
  local b = check.ok(lab.store.run_begin{ plugin = "inner" })
  check.eq(record(check.ok(lab.store.put("x", 1))).run_id, b)
  check.eq(record(check.ok(lab.store.put("x", 2, { run = a }))).run_id, a)
  check.ok(lab.store.run_end(b))
  check.eq(record(check.ok(lab.store.put("x", 3))).run_id, a)
  check.ok(lab.store.run_end(a))
  check.eq(record(check.ok(lab.store.put("x", 4))).run_id, nil)
  check.fails("no run 999999", lab.store.put("x", 5, { run = 999999 }))
end)

test("metric steps count from 0 by name and run", function()
  local id = check.ok(lab.store.run_begin{ plugin = "metrics" })
  check.ok(lab.store.metric("loss", 2.5))
  check.ok(lab.store.metric("loss", 2.0))
  check.ok(lab.store.metric("acc", 0.25))
  check.ok(lab.store.metric("loss", 1.0, 10))
  check.ok(lab.store.metric("loss", 0.5))
  check.ok(lab.store.metric("loss", 0.75, 1))   -- replaces step 1
  check.ok(lab.store.metric("nan", 0 / 0))
  local rows = check.ok(lab.store.query(
    "SELECT name, step, value FROM metrics WHERE run_id = ? ORDER BY name, step", { id }))
  local got = {}
  for _, r in ipairs(rows) do got[#got + 1] = r.name .. "@" .. r.step .. "=" .. tostring(r.value) end
  check.eq(table.concat(got, " "), "acc@0=0.25 loss@0=2.5 loss@1=0.75 loss@10=1.0 loss@11=0.5 nan@0=nil")
  local other = check.ok(lab.store.run_begin{ plugin = "metrics2" })
  check.ok(lab.store.metric("loss", 9, nil, { run = id }))
  check.eq(one("SELECT max(step) AS s FROM metrics WHERE run_id = ? AND name = 'loss'", { id }).s, 12)
  check.ok(lab.store.metric("loss", 9))
  check.eq(one("SELECT step FROM metrics WHERE run_id = ?", { other }).step, 0)
  check.ok(lab.store.run_end(other))
  check.ok(lab.store.run_end(id))
  check.fails("no run", lab.store.metric("loss", 1))
end)

test("query values, parameters and refusals", function()
  local r = one("SELECT 1 AS i, 2.5 AS r, 'x' AS t, NULL AS n, x'00ff' AS b, 3.0 AS f")
  check.eq(math.type(r.i), "integer")
  check.eq(r.r, 2.5)
  check.eq(r.t, "x")
  check.eq(r.n, nil)
  check.eq(r.b, "\0\255")
  check.eq(math.type(r.f), "float")
  r = one("SELECT ? AS a, ?3 AS c, :name AS n, @at AS at, $d AS d", { 1, nil, "three", name = 1.5, at = true, ["$d"] = "dollar" })
  check.eq(r.a, 1)
  check.eq(r.c, "three")
  check.eq(r.n, 1.5)
  check.eq(r.at, 1)
  check.eq(r.d, "dollar")
  check.eq(one("SELECT ? IS NULL AS z", { lab.json.null }).z, 1)
  check.eq(#check.ok(lab.store.query("SELECT 1 WHERE 0")), 0)
  check.ok(#check.ok(lab.store.query("PRAGMA table_info(runs)")) >= 8, "table_info")
  for _, sql in ipairs{ "DELETE FROM records", "INSERT INTO records(kind, data, created) VALUES ('k', '1', 0)",
                        "DROP TABLE runs", "UPDATE runs SET status = 'ok'", "ATTACH 'x.db' AS x", "BEGIN",
                        "COMMIT", "PRAGMA user_version = 3", "CREATE TABLE t(x)" } do
    check.fails("only reading", lab.store.query(sql))
  end
  check.fails("one statement", lab.store.query("SELECT 1; SELECT 2"))
  check.fails("no such table", lab.store.query("SELECT * FROM nope"))
  check.raises("bad argument #1", lab.store.query, {})
  check.raises("cannot bind a table", lab.store.query, "SELECT ?", { {} })
  check.raises("no parameter 'nope'", lab.store.query, "SELECT :x", { nope = 1 })
  check.raises("parameter 2: the SQL has 1", lab.store.query, "SELECT ?", { 1, 2 })
end)

test("rows iterates, stops early, and query caps its result", function()
  local sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) SELECT i FROM n"
  local sum = 0
  for row in assert(lab.store.rows(sql, { 100001 })) do sum = sum + row.i end
  check.eq(sum, 100001 * 100002 // 2)
  check.fails("more than 100000 rows; add a LIMIT", lab.store.query(sql, { 100001 }))
  check.eq(#check.ok(lab.store.query(sql, { 100000 })), 100000)
  for row in assert(lab.store.rows(sql, { 10 })) do if row.i == 3 then break end end
  check.fails("only reading", lab.store.rows("DELETE FROM runs"))
  local it = assert(lab.store.rows(sql, { 2 }))
  check.eq(it().i, 1)
  check.eq(it().i, 2)
  check.eq(it(), nil)
  check.eq(it(), nil)
end)

test("misuse raises", function()
  check.raises("unknown field 'bogus'", lab.store.run_begin, { bogus = 1 })
  check.raises("seed must be an integer", lab.store.run_begin, { seed = 1.5 })
  check.raises("params must be a table", lab.store.run_begin, { params = "x" })
  check.raises("models%[1%] must be a Model or a path", lab.store.run_begin, { models = { 42 } })
  check.raises("bad argument #1", lab.store.run_end, "x")
  check.raises("status must be", lab.store.run_end, 1, "done")
  check.raises("bad argument #1", lab.store.put, nil, 1)
  check.raises("bad argument #2", lab.store.put, "k")
  check.raises("cannot encode a function", lab.store.put, "k", { f = print })
  check.raises("unknown option", lab.store.put, "k", 1, { runn = 1 })
  check.raises("bad argument #2", lab.store.metric, "m", "x")
  check.raises("bad argument #3", lab.store.metric, "m", 1, 1.5)
  check.fails("no model file 'no%-such%.gguf'", lab.store.run_begin{ models = { "no-such.gguf" } })
end)

test("a Model and a path record the file's sha256", function()
  local m = check.ok(lab.model.open(MODEL))
  local id = check.ok(lab.store.run_begin{ plugin = "models", models = { m, MODEL } })
  local rows = check.ok(lab.store.query(
    "SELECT rm.pos, rm.sha256, m.path FROM run_models rm JOIN models m USING (sha256) WHERE run_id = ? ORDER BY pos",
    { id }))
  check.eq(#rows, 2)
  check.ok(rows[1].sha256:match("^" .. ("%x"):rep(64) .. "$"), "a hex digest")
  check.eq(rows[1].sha256, rows[2].sha256)
  check.ok(rows[1].path:match("stories260K%.gguf$"), rows[1].path)
  check.ok(lab.store.run_end(id))
end)

test("a plugin's open runs end with it", function()
  local src = [[
    return { name = "%s", api_level = 1, on_load = function()
      lab.store.run_begin{ params = { n = 1 } }
      lab.ui.command_add("%s_fail", "", function() error("plugin went wrong") end)
    end }]]
  check.ok(lab.fs.write("data/store_fail.lua", src:format("store_fail", "store_fail")))
  check.ok(lab.fs.write("data/store_off.lua", src:format("store_off", "store_off")))
  check.ok(lab.plugin.load("data/store_fail.lua"))
  check.ok(lab.plugin.load("data/store_off.lua"))
  local function latest(name) return one("SELECT * FROM runs WHERE plugin = ? ORDER BY id DESC LIMIT 1", { name }) end
  check.eq(latest("store_fail").status, "running")
  lab.ui.run_command("store_fail_fail")
  local r = latest("store_fail")
  check.eq(r.status, "failed")
  check.ok(r.error:find("plugin went wrong"), r.error)
  check.ok(not r.error:find("stack traceback"), "the message without the traceback")
  check.ok(lab.plugin.disable("store_off"))
  r = latest("store_off")
  check.eq(r.status, "cancelled")
  check.eq(r.params, '{"n":1}')
  lab.fs.remove("data/store_fail.lua")
  lab.fs.remove("data/store_off.lua")
end)
