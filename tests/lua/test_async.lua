-- Tasks, await, sleep and timers: the scheduler.

test("tasks interleave while the engine works", function()
  local m = lab.model.open(MODEL)
  local order = {}
  local function gen(name, text)
    return lab.spawn(function()
      local s = m:seq(text)
      for _ = 1, 3 do
        local l = s:eval()
        order[#order + 1] = name
        s:append(l:argmax())
      end
      return name, #s, #m:tokenize(text)
    end)
  end
  local a, b = gen("a", "Once upon a time"), gen("b", "Tom and")
  local oka, na, la, pa = lab.await(a)
  local okb, nb, lb, pb = lab.await(b)
  check.eq(oka, true)
  check.eq(okb, true)
  check.eq(na, "a")
  check.eq(la, pa + 3)
  check.eq(lb, pb + 3)
  check.eq(#order, 6)
  -- both ran before either finished: the first three steps are not all one task's
  local first3 = order[1] .. order[2] .. order[3]
  check.ok(first3 ~= "aaa" and first3 ~= "bbb", "interleaved: " .. table.concat(order))
end)

test("await of a failed task gives false, err; other tasks go on", function()
  local bad = lab.spawn(function() error("task boom") end)
  local good = lab.spawn(function() lab.sleep(0.01); return 42 end)
  local ok, err = lab.await(bad)
  check.eq(ok, false)
  check.ok(err:find("task boom"), err)
  check.ok(err:find("stack traceback"), "traceback")
  local ok2, v = lab.await(good)
  check.eq(ok2, true)
  check.eq(v, 42)
end)

test("await returns every value and works twice", function()
  local t = lab.spawn(function(a, b) return a + b, "x", nil, 7 end, 2, 3)
  local r = table.pack(lab.await(t))
  check.eq(r.n, 5)
  check.eq(r[2], 5)
  check.eq(r[3], "x")
  check.eq(r[5], 7)
  check.eq(t:done(), true)
  check.eq(select(2, lab.await(t)), 5)
end)

test("sleep orders tasks by time", function()
  local log = {}
  local ts = {}
  -- wide gaps: on a loaded machine a task may start tens of ms after its spawn
  for _, d in ipairs({ 0.3, 0.1, 0.2 }) do
    ts[#ts + 1] = lab.spawn(function() lab.sleep(d); log[#log + 1] = d end)
  end
  for _, t in ipairs(ts) do lab.await(t) end
  check.same_list(log, { 0.1, 0.2, 0.3 })
end)

test("after and every; stop", function()
  local fired, n = false, 0
  lab.after(0.01, function() fired = true end)
  local tm
  tm = lab.every(0.005, function() n = n + 1; if n == 3 then tm:stop() end end)
  check.eq(tm:pending(), true)
  -- wait for the events, not a fixed time: a tick that runs late (a loaded
  -- machine) schedules the next one late too
  local t0 = lab.now()
  while (tm:pending() or not fired) and lab.now() - t0 < 10 do lab.sleep(0.005) end
  check.eq(fired, true)
  check.eq(n, 3)
  check.eq(tm:pending(), false)
  check.eq(tm:stop(), false, "stopping twice")
  local never = false
  local t2 = lab.after(0.01, function() never = true end)
  check.eq(t2:stop(), true)
  lab.sleep(0.03)
  check.eq(never, false)
end)

test("a timer callback may await", function()
  local m = lab.model.open(MODEL)
  local got
  lab.after(0, function() got = m:seq("Once upon a time"):eval():argmax() end)
  local t0 = lab.now()   -- by the clock: slow under ASAN on a loaded machine
  while not got and lab.now() - t0 < 60 do lab.sleep(0.005) end
  check.eq(got, 432)
end)

test("cancel a sleeping task", function()
  local ran = false
  local t = lab.spawn(function() lab.sleep(10); ran = true end)
  lab.sleep(0.01)
  check.eq(t:cancel(), true)
  local ok, err = lab.await(t)
  check.eq(ok, false)
  check.ok(err:find("cancelled"), err)
  check.eq(ran, false)
  check.eq(t:cancel(), false)
end)

test("a plain coroutine.yield in a task resumes at the next tick", function()
  local steps = 0
  local t = lab.spawn(function() for _ = 1, 5 do steps = steps + 1; coroutine.yield() end return steps end)
  local ok, v = lab.await(t)
  check.eq(v, 5)
end)

test("user coroutines still work (await inside one blocks instead)", function()
  local m = lab.model.open(MODEL)
  local co = coroutine.wrap(function()
    local l = m:seq("Once upon a time"):eval()   -- not a host task: a blocking wait
    coroutine.yield(l:argmax())
    return "done"
  end)
  check.eq(co(), 432)
  check.eq(co(), "done")
end)

test("misuse: await of a non-job, sleep outside a task, bad times", function()
  check.raises("Job, Task or Training expected", lab.await, 5)
  check.raises("seconds must be", lab.sleep, -1)
  check.raises("at least 0.001", lab.every, 0, function() end)
  check.raises("function expected", lab.after, 1, 5)
  local co = coroutine.wrap(function() lab.sleep(0.01) end)
  check.raises("inside a task only", co)
end)

test("pcall across an await", function()
  local m = lab.model.open(MODEL)
  local ok, v = pcall(function() return m:seq("Once upon a time"):eval():argmax() end)
  check.eq(ok, true)
  check.eq(v, 432)
end)
