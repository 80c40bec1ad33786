-- The sandbox: what is not there, what is refused, and the workspace fence.

test("only the allowed libraries", function()
  for _, name in ipairs({ "io", "os", "debug", "package", "require", "dofile", "loadfile", "warn" }) do
    check.eq(_G[name], nil, name)
  end
  for _, name in ipairs({ "string", "table", "math", "utf8", "coroutine", "lab" }) do
    check.eq(type(_G[name]), "table", name)
  end
  check.eq(string.dump, nil, "string.dump")
  check.eq(getmetatable("").__index.dump, nil, "dump through the string metatable")
end)

test("no bytecode", function()
  check.raises("binary chunks", load, "\27Lua", "x", "b")
  check.raises("binary chunks", load, "\27Lua", "x", "bt")
  local f, err = load("\27LuaT\0", "x")
  check.eq(f, nil)
  check.ok(err:find("binary"), err)
  check.eq(load("return 6 * 7")(), 42)
  local env = { y = 2 }
  check.eq(load("return y", "c", "t", env)(), 2, "load with an env")
end)

test("no finalizers from Lua; collectgarbage restricted", function()
  check.raises("__gc", setmetatable, {}, { __gc = function() end })
  check.ok(setmetatable({}, { __index = {} }), "other metatables are fine")
  check.raises("invalid option 'stop'", collectgarbage, "stop")
  check.raises("invalid option 'generational'", collectgarbage, "generational")
  check.eq(type(collectgarbage("count")), "number")
end)

test("lab.fs stays inside the workspace", function()
  check.fails("relative to the workspace", lab.fs.read("/etc/passwd"))
  check.fails("'%.%.'", lab.fs.read("../outside.txt"))
  check.fails("'%.%.'", lab.fs.read("data/../../outside.txt"))
  check.fails("outside the workspace", lab.fs.read("escape/passwd"))     -- a link to /etc
  check.fails("outside the workspace", lab.fs.read("escape_file"))       -- a link to a file outside
  check.fails("outside the workspace", lab.fs.write("escape/x", "no"))
  check.fails("symbolic link", lab.fs.write("escape_file", "no"))
  check.fails("outside the workspace", lab.fs.list("escape"))
  check.eq(lab.fs.exists("escape_file"), false)
  check.raises("string expected", lab.fs.read, nil)
  check.fails("NUL", lab.fs.read("a\0b"))
end)

test("plugins may not be loaded from outside the workspace", function()
  check.raises("relative to the workspace", lab.plugin.load, "/tmp/x.lua")
  check.raises("without '%.%.'", lab.plugin.load, "plugins/../../x.lua")
  -- tests/test_lua.sh made outplug/ a link to a folder outside holding p.lua
  check.raises("leads outside the workspace", lab.plugin.load, "outplug/p.lua")
  check.raises("leads outside the workspace", lab.plugin.load, "escape/passwd")
end)

test("lab.require trusts no chunk name a script makes up", function()
  -- tests/test_lua.sh put evil/lib/sneaky.lua outside the workspace
  local outside = WS:match("^(.*)/[^/]*$")
  local f = load("return lab.require('sneaky')", "@" .. outside .. "/evil/lib/x.lua")
  local v, err = f()
  check.fails("not found", v, err)
end)

test("a FIFO in a plugin or library folder is refused, not waited on", function()
  check.fails("fifo.lua", lab.plugin.load("fifo.lua"))
  check.fails("fifo.lua", lab.plugin.load("./fifo.lua"))
end)

test("print goes through lab.print", function()
  check.eq(print, lab.print)
end)

-- Issue 13, items 1-4: SQLite features, the xpcall handler, the store's own
-- files and non-regular files.

test("lab.store.query: only listed SQL functions (fts3_tokenizer, load_extension)", function()
  check.fails("fts3_tokenizer%(%) is not available", lab.store.query("SELECT hex(fts3_tokenizer('simple'))"))
  check.fails("not available", lab.store.query("SELECT fts3_tokenizer('evil', X'4141414141414141')"))
  check.fails("not available", lab.store.query("SELECT fts3_tokenizer('evil', ?)", { "AAAAAAAA" }))
  check.fails("load_extension%(%) is not available", lab.store.query("SELECT load_extension('x')"))
  check.fails("table dbstat is not available", lab.store.query("SELECT * FROM dbstat"))
  check.eq(check.ok(lab.store.query("SELECT upper('a') AS u, json_extract('[7]', '$[0]') AS j"))[1].j, 7)
end)

test("xpcall's message handler cannot outlive the budget", function()
  lab.budget{ seconds = 0.2 }
  local ran = false
  local ok, err = lab.await(lab.spawn(function()
    return xpcall(function() while true do end end, function() ran = true while true do end end)
  end))
  lab.budget{ seconds = 60 }
  check.ok(not ok and err:find("time budget"), err)
  check.eq(ran, false, "the handler ran after the stop")
  check.eq(select(2, xpcall(error, function(e) return "h:" .. e end, "x", 0)), "h:x", "handlers work otherwise")
end)

test("a backtracking pattern cannot outlive the budget (string.find/match/gmatch/gsub and methods)", function()
  local runaway = {
    function() return string.find(("a"):rep(28), ("a*"):rep(28) .. "b") end,
    function() return ("a"):rep(28):match(("a-"):rep(28) .. "b") end,
    function() for _ in ("a"):rep(28):gmatch(("a?"):rep(28) .. "b") do end end,
    function() return string.gsub(("a"):rep(28), ("(a*)"):rep(16) .. "a*b", "") end,
    function() return pcall(string.find, ("a"):rep(28), ("a*"):rep(28) .. "b") end,
  }
  for i, f in ipairs(runaway) do
    lab.budget{ seconds = 0.2 }
    local ok, err = lab.await(lab.spawn(f))
    lab.budget{ seconds = 60 }
    check.ok(not ok and tostring(err):find("time budget"), i .. ": " .. tostring(err))
  end
  check.eq(select(2, ("key=val"):match("(%w+)=(%w+)")), "val", "patterns work otherwise")
end)

test("loops inside one C call of the table library stop at the budget", function()
  local runaway = {
    function() table.move({}, 1, 1e15, 2) end,
    function() table.insert(setmetatable({}, { __len = function() return 1e15 end }), 1, 5) end,
    function() table.remove(setmetatable({}, { __len = function() return 1e15 end }), 1) end,
    function() return table.concat(setmetatable({}, { __index = type }), "", 1, 1e15) end,
  }
  for i, f in ipairs(runaway) do
    lab.budget{ seconds = 0.2 }
    local ok, err = lab.await(lab.spawn(f))
    lab.budget{ seconds = 60 }
    check.ok(not ok and tostring(err):find("time budget"), i .. ": " .. tostring(err))
  end
  check.eq(string.rep("", 1e15), "", "an empty string.rep returns at once")
  check.eq(("ab"):rep(3, ","), "ab,ab,ab")
  local t = { 3, 1, 2 }
  table.sort(t)
  check.eq(table.concat(t, " "), "1 2 3")
end)

test("a looping __tostring on an error object is stopped too", function()
  lab.budget{ seconds = 0.2 }
  local ok, err = lab.await(lab.spawn(function()
    error(setmetatable({}, { __tostring = function() while true do end end }))
  end))
  lab.budget{ seconds = 60 }
  check.ok(not ok and err:find("time budget"), err)
end)

test("lab.fs never writes or removes the workspace's own files", function()
  check.ok(lab.store.query("SELECT 1"))   -- the database exists
  for _, name in ipairs({ "logitlab.db", "logitlab.db-wal", "logitlab.db-shm", "logitlab.db-journal",
                          "logitlab.lock", "config.lua", "logitlab.db.bak-v1", "./logitlab.db" }) do
    check.fails("own files", lab.fs.write(name, "garbage"))
    check.fails("own files", lab.fs.append(name, "garbage"))
    check.fails("own files", lab.fs.remove(name))
    check.fails("own files", lab.fs.mkdir(name))
  end
  check.fails("not a file name", lab.fs.write("", "x"))
  check.ok(lab.fs.read("logitlab.db"), "reading is fine")
  check.ok(lab.store.query("SELECT count(*) FROM runs"), "the database is intact")
  check.ok(lab.fs.write("data/logitlab.db", "a file of that name elsewhere is fine"))
  check.ok(lab.fs.remove("data/logitlab.db"))
end)

test("lab.fs reads and writes regular files only (a FIFO never blocks)", function()
  -- tests/test_lua.sh made fifo (a named pipe) and adir/ in the workspace
  check.fails("FIFO", lab.fs.write("fifo", "x"))
  check.fails("FIFO", lab.fs.append("fifo", "x"))
  check.fails("FIFO", lab.fs.read("fifo"))
  check.fails("folder", lab.fs.read("adir"))
  check.fails("folder", lab.fs.write("adir", "x"))
  check.ok(lab.fs.write("data/plain.txt", "abc"))
  check.ok(lab.fs.append("data/plain.txt", "def"))
  check.eq(lab.fs.read("data/plain.txt"), "abcdef")
  check.ok(lab.fs.write("data/plain.txt", "x"))
  check.eq(lab.fs.read("data/plain.txt"), "x", "write truncates")
end)

test("files a script names are regular files of a bounded size (issue 13, items 4-5)", function()
  local t0 = lab.now()
  local bin = MODEL_DIR .. "/stories260K.bin"
  check.fails("character device, not a regular file", lab.model.open(bin, { tokenizer = "/dev/zero" }))
  check.fails("FIFO, not a regular file", lab.model.open(bin, { tokenizer = WS .. "/fifo" }))
  check.fails("folder, not a regular file", lab.model.open(bin, { tokenizer = WS .. "/adir" }))
  check.fails("carries its own tokenizer", lab.model.open(MODEL, { tokenizer = "/dev/zero" }))
  check.fails("fifo", lab.model.open(WS .. "/fifo"))
  check.fails("/dev/zero", lab.model.open("/dev/zero"))
  -- a tokenizer.json whose tokenizer_config.json is a FIFO (made by tests/test_lua.sh)
  check.fails("tokenizer_config.json: a FIFO", lab.model.open(bin, { tokenizer = WS .. "/fifotok/tokenizer.json" }))
  check.ok(lab.now() - t0 < 10, "nothing blocked")
end)

test("file probing: errors do not quote a file, run_begin hashes models only (item 7)", function()
  -- /etc/passwd starts "root": read as a llama2.c header it was "embedding length 1953460082"
  local bin = MODEL_DIR .. "/stories260K.bin"
  local none, err = lab.model.open("/etc/passwd")
  check.eq(none, nil)
  check.ok(not err:find("1953460082") and not err:find("root"), err)
  none, err = lab.model.open(bin, { tokenizer = "/etc/passwd" })
  check.eq(none, nil)
  check.ok(not err:find("1953460082") and err:find("not a llama2.c tokenizer"), err)
  check.fails("models%[1%]: .*/etc/passwd", lab.store.run_begin{ models = { "/etc/passwd" } })
  check.fails("models%[2%]", lab.store.run_begin{ models = { MODEL, WS .. "/test_sandbox.lua" } })
  local id = check.ok(lab.store.run_begin{ models = { MODEL } })
  check.ok(lab.store.run_end(id, "ok"))
end)
