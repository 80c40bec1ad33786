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
end)

test("print goes through lab.print", function()
  check.eq(print, lab.print)
end)
