-- Search primitives (6 of 7): run handles and task budgets. A handle of
-- lab.store.run_begin writes to its run (concurrent tasks each to their
-- own); a task budget of tokens and wall time, charged what the engine
-- evaluates for every kind of job.
test("run handles write to their run; concurrent tasks each to their own", function()
  local id, run = lab.store.run_begin{ plugin = "handles" }
  check.ok(id)
  check.eq(run.id, id)
  local other = check.ok(lab.store.run_begin{ plugin = "other" })
  check.ok(run:put("note", { x = 1 }))
  check.ok(run:metric("loss", 0.5))
  local rows = lab.store.query("SELECT run_id FROM records WHERE kind = 'note' ORDER BY id DESC LIMIT 1")
  check.eq(rows[1].run_id, id, "the handle's run, not the newest")
  local got = {}
  local function worker(name)
    return lab.spawn(function()
      local rid = check.ok(lab.store.run_begin{ plugin = name })
      lab.sleep(0.01)                    -- the other task begins its run meanwhile
      check.ok(lab.store.put("mine", name))
      got[name] = rid
      lab.store.run_end(rid)
    end)
  end
  local a, b = worker("task_a"), worker("task_b")
  check.ok(lab.await(a))
  check.ok(lab.await(b))
  for name, rid in pairs(got) do
    local r = lab.store.query("SELECT data FROM records WHERE kind = 'mine' AND run_id = ?", { rid })
    check.eq(#r, 1, name)
    check.eq(r[1].data, '"' .. name .. '"')
  end
  check.ok(run:run_end())
  lab.store.run_end(other)
end)

test("a task budget of tokens and wall time", function()
  local m = lab.model.open(MODEL)
  local ok, err = lab.await(lab.spawn(function()
    lab.task_budget{ tokens = 20 }
    local r = lab.generate(m:seq("Once upon a time"), { max_tokens = 100 })
    return r.n
  end))
  check.eq(ok, false)
  check.ok(err:find("task budget exceeded: 20 tokens"), err)
  local ok2, err2 = lab.await(lab.spawn(function()
    lab.task_budget{ seconds = 0.05 }
    local s = m:seq("Once")
    while true do s:append(1):eval(); lab.sleep(0.01) end
  end))
  check.eq(ok2, false)
  check.ok(err2:find("task budget exceeded: 0.05 s"), err2)
  local ok3, n = lab.await(lab.spawn(function()
    lab.task_budget{ tokens = 100 }
    check.ok(m:seq("Once upon"):score(" a time"))
    return lab.task_budget().used
  end))
  check.ok(ok3)
  check.eq(n, #m:tokenize("Once upon") + 2 - 1, "a score is charged what it evaluates: the pending prefix, the continuation but its last")
  -- the wall-time limit holds without engine work: a task spinning in Lua
  -- (the hook), asleep or awaiting (woken at its deadline)
  local t0 = lab.now()
  local ok4, err4 = lab.await(lab.spawn(function()
    lab.task_budget{ seconds = 0.1 }
    local x = 0
    while true do x = x + 1 end
  end))
  check.eq(ok4, false)
  check.ok(err4:find("task budget exceeded: 0.1 s of wall time"), err4)
  local ok5, err5 = lab.await(lab.spawn(function()
    lab.task_budget{ seconds = 0.1 }
    lab.sleep(30)
    return "slept"
  end))
  check.eq(ok5, false)
  check.ok(err5:find("task budget exceeded: 0.1 s of wall time"), err5)
  local ok6, err6 = lab.await(lab.spawn(function()
    lab.task_budget{ seconds = 0.1 }
    return lab.await(lab.spawn(lab.sleep, 30))
  end))
  check.eq(ok6, false)
  check.ok(err6:find("task budget exceeded: 0.1 s of wall time"), err6)
  check.ok(lab.now() - t0 < 10, "stopped at the deadline, not after the 30 s sleeps")
  check.raises("unknown option 'token'", lab.task_budget, { token = 5 })
  check.eq(lab.task_budget().used, 0, "the budget belongs to the task that set it")
end)

test("a task budget charges what the engine evaluates, for every kind of job (m:kv().evaluated)", function()
  local m = lab.model.open(MODEL)
  local ok, err = lab.await(lab.spawn(function()
    lab.task_budget{ tokens = 100000 }
    local function charged(what, fn, want)
      local u0, e0 = lab.task_budget().used, m:kv().evaluated
      local r = fn()
      local used, ev = lab.task_budget().used - u0, m:kv().evaluated - e0
      check.eq(used, ev, what .. ": charged = the engine's count")
      if want then check.eq(used, want, what .. ": by hand") end
      return r
    end
    local s = m:seq("Once upon a time")
    local n = #s
    charged("seq:eval", function() return s:eval() end, n)
    -- a score on an evaluated sequence with pending tokens: the last evaluated
    -- token again, the 2 pending ones, the continuation but its last
    s:append(", there")
    local r = charged("seq:score with pending tokens", function() return check.ok(s:score(" was a")) end, 1 + 2 + 2 - 1)
    check.eq(r.evaluated, 1 + 2 + 2 - 1, "its result says so")
    check.eq(#s, n + 2, "the sequence is unchanged")
    charged("lab.score_batch", function() return check.ok(lab.score_batch{ { s, " was" }, { m:seq("Tom"), " and his" } }) end,
      (1 + 2 + 1 - 1) + (#m:tokenize("Tom") + 2 - 1))
    local ls = charged("lab.score", function() return check.ok(lab.score(m, "Once upon a time", ", there was")) end)
    check.eq(ls.evaluated, #m:tokenize("Once upon a time, there was") - 1, "lab.score: all but the last token")
    charged("lab.generate", function() return lab.generate(m:seq("Once"), { max_tokens = 5 }) end)
  end))
  check.ok(ok, err)
end)
