-- Budgets: the time budget per callback, the instruction budget and the
-- memory cap stop runaway code with a clear message; the host goes on.

local function plugin(name)
  for _, p in ipairs(lab.plugin.list()) do if p.name == name then return p end end
end

test("an endless loop in a task is stopped, pcall cannot hold it", function()
  lab.budget{ seconds = 0.2 }
  local ok, err = lab.await(lab.spawn(function() while true do end end))
  check.eq(ok, false)
  check.ok(err:find("time budget of 0.2 s exceeded"), err)
  ok, err = lab.await(lab.spawn(function()
    while true do pcall(function() while true do end end) end
  end))
  check.ok(not ok and err:find("time budget"), err)
  ok, err = lab.await(lab.spawn(function()
    local co = coroutine.create(function() while true do end end)
    while true do coroutine.resume(co) end
  end))
  check.ok(not ok and err:find("time budget"), err)
  lab.budget{ seconds = 60 }
  local m = lab.model.open(MODEL)
  check.eq(m:seq("Once upon a time"):eval():argmax(), 432, "the host still works")
end)

test("the budget is per callback: a task that awaits gets a fresh one each slice", function()
  lab.budget{ seconds = 0.3 }
  local ok = lab.await(lab.spawn(function()
    for _ = 1, 5 do
      local t0 = lab.now()
      while lab.now() - t0 < 0.1 do end   -- 0.1 s of work per slice, 0.5 s in all
      lab.sleep(0)
    end
    return true
  end))
  check.eq(ok, true)
  lab.budget{ seconds = 60 }
end)

test("an instruction budget", function()
  lab.budget{ instructions = 100000 }
  local ok, err = lab.await(lab.spawn(function() local x = 0 for i = 1, 1e9 do x = x + i end end))
  check.ok(not ok and err:find("instruction budget of 100000 exceeded"), err)
  lab.budget{ instructions = 0 }
end)

test("a memory bomb is stopped at the cap; memory comes back", function()
  lab.budget{ memory = 48 * 1024 * 1024 }
  local ok, err = lab.await(lab.spawn(function()
    local t = {}
    for i = 1, math.huge do t[i] = string.rep("y", 100) .. i end
  end))
  check.ok(not ok and err:find("memory cap of 48.0 MiB exceeded"), err)
  ok, err = lab.await(lab.spawn(function() local s = string.rep("z", 1 << 30) end))
  check.ok(not ok and err:find("memory cap"), err)
  ok, err = lab.await(lab.spawn(function()
    local r = { pcall(function() local t = {} for i = 1, math.huge do t[i] = {} end end) }
    return "survived"
  end))
  check.ok(not ok and err:find("memory cap"), "pcall cannot catch the cap: " .. tostring(err))
  collectgarbage()
  check.ok(lab.budget().memory_used < 16 * 1024 * 1024, "freed: " .. lab.budget().memory_used)
  lab.budget{ memory = 1024 * 1024 * 1024 }
end)

test("a runaway plugin is disabled; the others keep running", function()
  check.ok(lab.plugin.load("t_good"))
  check.ok(lab.plugin.load("t_loop", { budget = 0.2 }))
  local t0 = lab.now()
  check.ok(lab.ui.run_command("loop"))
  check.ok(lab.now() - t0 < 5, "stopped in time")
  local p = plugin("t_loop")
  check.eq(p.enabled, false)
  check.ok(p.error:find("plugin t_loop: time budget of 0.2 s exceeded"), p.error)
  check.fails("no command 'loop'", lab.ui.run_command("loop"))
  check.ok(lab.ui.run_command("count", "2"))
  check.ok(plugin("t_good").enabled, "t_good still on")
  -- pcall inside the plugin does not save it either
  check.ok(lab.plugin.load("t_loop", { budget = 0.2 }))
  check.ok(lab.ui.run_command("loop_pcall"))
  check.eq(plugin("t_loop").enabled, false)
end)

test("a plugin memory bomb is disabled at its cap", function()
  check.ok(lab.plugin.load("t_bomb", { memory = 32 * 1024 * 1024, budget = 30 }))
  check.ok(lab.ui.run_command("bomb"))
  local p = plugin("t_bomb")
  check.eq(p.enabled, false)
  check.ok(p.error:find("memory cap of 32.0 MiB exceeded"), p.error)
  check.eq(p.memory, 0, "its state is closed")
end)

test("a plugin that spins while loading is refused", function()
  local ok, err = lab.plugin.load("t_spin_load", { budget = 0.2 })
  check.eq(ok, nil)
  check.ok(err:find("time budget"), err)
end)

test("budget options are checked", function()
  check.raises("seconds must be >= 0", lab.budget, { seconds = -1 })
  check.raises("at least 1 MiB", lab.budget, { memory = 10 })
  check.raises("instructions must be", lab.budget, { instructions = -5 })
  local b = lab.budget()
  check.eq(type(b.memory_used), "number")
end)
