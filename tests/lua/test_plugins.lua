-- Plugins: manifest checks, hooks in headless mode, errors in callbacks,
-- reload, disable, and what a plugin may not do.

local function plugin(name)
  for _, p in ipairs(lab.plugin.list()) do if p.name == name then return p end end
end

local function hook(kind, name)
  for _, h in ipairs(lab.ui.list()) do if h.kind == kind and h.name == name then return h end end
end

test("manifest checks", function()
  check.fails("manifest.name", lab.plugin.load("t_noname"))
  check.fails("needs api_level 99; this host provides 1", lab.plugin.load("t_level"))
  check.fails("must return its manifest", lab.plugin.load("t_notable"))
  check.fails("not found", lab.plugin.load("t_does_not_exist"))
  check.eq(plugin("t_level"), nil, "a refused plugin is not listed")
  check.eq(lab.api_level, 1)
end)

test("hooks: command, key, pane, status (headless)", function()
  check.eq(lab.ui.headless, true)
  check.ok(lab.plugin.load("t_good"))
  local p = plugin("t_good")
  check.eq(p.description, "counts")
  check.eq(p.api_level, 1)
  local st = hook("status", "count")
  local before = tonumber(lab.ui.status_get(st.id):match("%d+"))
  check.ok(lab.ui.run_command("count", "5"))
  check.eq(lab.ui.status_get(st.id), "count=" .. (before + 5))
  check.ok(lab.ui.press("F5"))
  check.eq(lab.ui.status_get(st.id), "count=" .. (before + 105))
  local pane = hook("pane", "counter")
  local lines = lab.ui.pane_draw(pane.id, 40, 10)
  check.eq(lines[1], "count " .. (before + 105))
  check.eq(lines[2], "size 40x10")
  check.eq(lab.ui.pane_key(pane.id, "Up"), 3, "handled + redraw")
  check.eq(lab.ui.pane_key(pane.id, "x"), 0, "ignored")
  check.fails("not a key name", lab.ui.pane_key(pane.id, "Hyper-Q"))
  check.fails("no binding", lab.ui.press("F9"))
end)

test("hook ids do not wrap; pane sizes are checked", function()
  local id = lab.ui.pane_add("sizes", { on_draw = function(w, h) return { w .. "x" .. h } end })
  check.eq(lab.ui.pane_draw(id, 7, 3)[1], "7x3")
  check.eq(lab.ui.pane_draw(id)[1], "80x24", "the defaults")
  check.fails("^no such pane hook: " .. (id + (1 << 32)) .. "$", lab.ui.pane_draw(id + (1 << 32), 7, 3))
  check.fails("^no such pane hook: " .. (id + (1 << 33)) .. "$", lab.ui.pane_key(id + (1 << 33), "j"))
  check.fails("^status item " .. (id + (1 << 32)) .. " failed$", lab.ui.status_get(id + (1 << 32)))
  check.raises("the width must be in %[1, 10000%] columns", lab.ui.pane_draw, id, 0, 3)
  check.raises("the height must be in %[1, 10000%] rows", lab.ui.pane_draw, id, 7, -5)
  check.raises("the width must be in", lab.ui.pane_draw, id, 1 << 31, 3)
  check.eq(lab.ui.del(id + (1 << 32)), false, "del of a wrapped id")
  check.eq(lab.ui.pane_draw(id, 10000, 10000)[1], "10000x10000")
  check.eq(lab.ui.del(id), true)
end)

test("a command handler may await the engine", function()
  check.ok(lab.plugin.load("t_await"))
  check.ok(lab.ui.run_command("predict", "Once upon a time"))
  local st = hook("status", "predicted")
  local t0 = lab.now()   -- by the clock: slow under ASAN on a loaded machine
  while lab.now() - t0 < 60 do
    if lab.ui.status_get(st.id) ~= "none" then break end
    lab.sleep(0.005)
  end
  check.eq(lab.ui.status_get(st.id), ",")
end)

test("hook misuse raises", function()
  check.raises("not a key name", lab.ui.key_add, "Ctrl+X", "h", function() end)
  check.raises("command name", lab.ui.command_add, "has space", "h", function() end)
  check.raises("function expected", lab.ui.command_add, "x", "h", 5)
  check.raises("on_draw must be a function", lab.ui.pane_add, "p", {})
  local id = lab.ui.command_add("script_cmd", "from a script", function() end)
  check.fails("already registered", lab.ui.command_add("script_cmd", "again", function() end))
  check.eq(lab.ui.del(id), true)
  check.eq(lab.ui.del(id), false)
end)

test("an error in a command disables only that plugin, with a traceback", function()
  check.ok(lab.plugin.load("t_crash"))
  check.ok(lab.ui.run_command("crash"))
  local p = plugin("t_crash")
  check.eq(p.enabled, false)
  check.ok(p.error:find("crash in handler"), p.error)
  check.ok(p.error:find("stack traceback"), "traceback")
  check.ok(p.error:find("in upvalue 'deep'") or p.error:find("deep"), "names the function")
  check.eq(hook("pane", "crashpane"), nil, "its hooks are gone")
  check.ok(plugin("t_good").enabled, "t_good is untouched")
end)

test("an error in a pane's draw disables its plugin", function()
  check.ok(lab.plugin.load("t_crash2"))
  local pane = hook("pane", "crashpane2")
  check.fails("crash in draw", lab.ui.pane_draw(pane.id, 10, 10))
  check.eq(plugin("t_crash2").enabled, false)
end)

test("an error in on_load fails the load", function()
  check.fails("on_load failed here", lab.plugin.load("t_onload"))
  check.eq(plugin("t_onload").enabled, false)
end)

test("reload picks up a new version; a broken one keeps the old", function()
  local v1 = 'return { name = "t_reload", api_level = 1, on_load = function() '
    .. 'lab.ui.status_add("ver", function() return "%s" end) end }'
  check.ok(lab.fs.write("plugins/t_reload.lua", v1:format("one")))
  check.ok(lab.plugin.load("t_reload"))
  check.eq(lab.ui.status_get(hook("status", "ver").id), "one")
  check.ok(lab.fs.write("plugins/t_reload.lua", v1:format("two")))
  check.ok(lab.plugin.reload("t_reload"))
  check.eq(lab.ui.status_get(hook("status", "ver").id), "two")
  local n = 0
  for _, h in ipairs(lab.ui.list()) do if h.name == "ver" then n = n + 1 end end
  check.eq(n, 1, "the old version's hooks are gone")
  check.ok(lab.fs.write("plugins/t_reload.lua", "return {"))
  check.fails("t_reload.lua", lab.plugin.reload("t_reload"))
  check.eq(lab.ui.status_get(hook("status", "ver").id), "two", "still the working version")
  check.ok(lab.plugin.disable("t_reload"))
  check.eq(hook("status", "ver"), nil)
  check.eq(plugin("t_reload").enabled, false)
  check.fails("no plugin 'nope'", lab.plugin.disable("nope"))
end)

test("a plugin may not manage plugins or raise its memory cap; it sees the sandbox", function()
  check.ok(lab.plugin.load("t_manage"))
  check.ok(lab.ui.run_command("probe"))
  check.ok(hook("command", "probe_ok"), "probe ran to the end")
  check.ok(lab.ui.run_command("manage"))
  local p = plugin("t_manage")
  check.eq(p.enabled, false)
  check.ok(p.error:find("for scripts and the REPL"), p.error)
  check.ok(lab.plugin.load("t_manage"))
  check.ok(lab.ui.run_command("raise_mem"))
  check.ok(plugin("t_manage").error:find("lower its memory cap"), plugin("t_manage").error)
end)

test("the example plugin loads and draws", function()
  -- plugins/example.lua of the repository, copied next to the fixtures
  if not lab.fs.exists("plugins/example.lua") then return end
  check.ok(lab.plugin.load("example"))
  check.ok(hook("command", "next") and hook("key", "C-n") and hook("pane", "next token") and hook("status", "next"))
  local lines = lab.ui.pane_draw(hook("pane", "next token").id, 60, 5)
  check.ok(lines[1]:find("no prediction"), lines[1])
  check.ok(lab.ui.run_command("next", "Once upon a time"))
  local t0 = lab.now()
  while lab.now() - t0 < 60 do
    if lab.ui.status_get(hook("status", "next").id) ~= "next: -" then break end
    lab.sleep(0.005)
  end
  check.eq(lab.ui.status_get(hook("status", "next").id), "next: ,")
  lines = lab.ui.pane_draw(hook("pane", "next token").id, 60, 5)
  check.eq(#lines, 5, "clipped to the height")
  check.ok(lab.plugin.disable("example"))
end)

test("a handler that runs itself does not overflow the C stack", function()
  local n = 0
  local id
  id = lab.ui.command_add("again", "runs itself", function()
    n = n + 1
    if n < 200 then lab.ui.run_command("again") end
  end)
  check.ok(lab.ui.run_command("again"))
  local t0 = lab.now()
  while lab.now() - t0 < 60 do
    if n >= 200 then break end
    lab.sleep(0.001)
  end
  check.eq(n, 200)
  lab.ui.del(id)
  -- a pane that draws itself from its own on_draw is refused past the depth limit
  local pid
  pid = lab.ui.pane_add("selfdraw", { on_draw = function() return lab.ui.pane_draw(pid, 1, 1) or { "deep" } end })
  local lines = lab.ui.pane_draw(pid, 10, 10)
  check.ok(lines, "no crash")
  lab.ui.del(pid)
end)
