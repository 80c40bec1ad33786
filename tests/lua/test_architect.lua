-- issue 19, the architect (plugins/lib/architect.lua): drafting, evaluating
-- with a judge, refining with an analyst and a prompt engineer, rollback,
-- stop rules and records, with scripted roles; the model roles under their
-- grammars with stories260K.
local A = assert(lab.require("architect"))
local F = assert(lab.require("workflow"))

-- sums: "a + b" -> "a+b"; ten examples, three with b = 0
local function sums()
  local ex = {}
  local pairs_ = { { 2, 3 }, { 4, 0 }, { 7, 1 }, { 5, 5 }, { 9, 0 }, { 1, 8 }, { 6, 2 }, { 3, 0 }, { 8, 4 }, { 2, 9 } }
  for i, p in ipairs(pairs_) do ex[i] = { question = p[1] .. " + " .. p[2], answer = tostring(p[1] + p[2]) } end
  return ex
end

-- the workers: boss hands the question to calc and returns its answer; calc
-- follows the guidelines of its system message: "- use the add tool" makes
-- it right, "- double the answer" wrong; without either it answers the
-- first number (right only when b = 0)
local SCRIPTS = {
  boss = function(ctx)
    if ctx.last.role == "user" then return { call = "delegate_to_calc", args = { message = ctx.input } } end
    return ctx.last.content
  end,
  calc = function(ctx)
    local a, b = ctx.input:match("(%d+) %+ (%d+)")
    local dbl = ctx.system:find("- double the answer", 1, true) and 2 or 1
    if ctx.system:find("- use the add tool", 1, true) then
      if ctx.last.role == "tool" then return tostring(math.tointeger(tonumber(ctx.last.content) * dbl)) end
      return { call = "add", args = { a = tonumber(a), b = tonumber(b) } }
    end
    return tostring(tonumber(a) * dbl)
  end,
}

local function draft()
  return { main = { name = "boss", system = "You answer the user.", manages = { "calc" }, script = "boss" },
           agents = { { name = "calc", system = "You do arithmetic.", tools = { "add" }, script = "calc" } } }
end

local function engineer(ctx) return (A.apply_edits(ctx.systems, ctx.feedback)) end

local function opts(o)
  local t = { task = "Add two numbers.", examples = sums(), tools = A.BUILTIN_TOOLS, scripts = SCRIPTS,
              roles = { architect = function() return draft() end, engineer = engineer,
                        analyst = function() return {} end },
              judge = A.judges.exact, subset = 10, seed = 1 }
  for k, v in pairs(o or {}) do t[k] = v end
  return t
end

test("the subset is seeded: distinct, sorted, reproducible, all when asked for more", function()
  local a, b = A.subset(50, 8, 7), A.subset(50, 8, 7)
  check.eq(#a, 8)
  check.eq(table.concat(a, ","), table.concat(b, ","))
  for i = 2, #a do check.ok(a[i] > a[i - 1], "ascending and distinct") end
  check.ok(table.concat(A.subset(50, 8, 8), ",") ~= table.concat(a, ","), "another seed, another subset")
  check.eq(table.concat(A.subset(3, 10, 1), ","), "1,2,3")
end)

test("the loop: judge-measured accuracy, a worse iteration rolled back, stop at the target, every iteration recorded", function()
  local calls, seen_rejected = 0, nil
  local analyst = function(ctx)
    calls = calls + 1
    check.eq(#ctx.failures, math.floor((1 - ctx.accuracy) * 10 + 0.5), "the analyst gets the failures")
    check.ok(ctx.failures[1].transcript and #ctx.failures[1].transcript > 0, "with their transcripts")
    if calls == 1 then
      return { { agent = "calc", issue = "wrong sums", evidence = ctx.failures[1].answer, action = "add", guideline = "double the answer" } }
    end
    seen_rejected = #ctx.rejected
    return { feedback = { { agent = "calc", issue = "it never adds", evidence = "calc (agent) -> boss: 2",
                            action = "modify", target = "double the answer", guideline = "use the add tool" } } }
  end
  local judged = 0
  local judge = function(ex, answer, r)
    judged = judged + 1
    check.eq(r.status, "ok")
    return A.judges.exact(ex, answer)
  end
  local id = assert(lab.store.run_begin{ plugin = "architect_test" })
  local rec = { id = id, put = function(_, k, v) return lab.store.put(k, v, { run = id }) end,
                metric = function(_, n, v, s) return lab.store.metric(n, v, s, { run = id }) end }
  local events = {}
  local r = A.run(opts{ roles = { architect = function() return draft() end, analyst = analyst, engineer = engineer },
                        judge = judge, record = rec, on_event = function(k) events[#events + 1] = k end })
  lab.store.run_end(id)
  check.eq(judged, 30, "the judge decided every example of every iteration")
  local its = r.iterations
  check.eq(#its, 3)
  check.near(its[1].accuracy, 0.3, 1e-12, "the draft: right only where b = 0")
  check.eq(its[1].correct, 3)
  check.near(its[2].accuracy, 0.1, 1e-12, "the doubled answers: right only for 5 + 5")
  check.ok(its[2].rolled_back and not its[2].kept, "iteration 2 is worse: rolled back")
  check.eq(its[3].based_on, 1, "iteration 3 starts again from the best, iteration 1")
  check.eq(seen_rejected, 1, "the analyst is told what was rolled back")
  check.near(its[3].accuracy, 1.0, 1e-12)
  check.eq(r.best, 3)
  check.eq(r.stop, "target")
  -- iteration 3's modify found no "double the answer" in iteration 1's message: the new guideline was added
  check.eq(its[3].systems.calc, "You do arithmetic.\n- use the add tool")
  check.eq(its[3].diff[1].name, "calc")
  check.eq(its[3].diff[1].lines[2].op .. its[3].diff[1].lines[2].text, "+- use the add tool")
  check.eq(r.workflow.agents[1].system, "You do arithmetic.\n- use the add tool")
  check.eq(r.workflow.agents[1].script, "calc", "the workflow names its scripts (for plugins/agents.lua --lib)")
  check.eq(r.workflow.agents[1].tools[1].name, "add")
  -- the workspace: three iterations, their accuracy, every transcript, the result
  local rows = lab.store.query("SELECT data FROM records WHERE run_id = ? AND kind = 'iteration' ORDER BY id", { id })
  check.eq(#rows, 3)
  local acc = {}
  for i, row in ipairs(rows) do
    local d = lab.json.decode(row.data)
    check.eq(d.iteration, i)
    check.eq(#d.examples, 10)
    acc[i] = d.accuracy
  end
  check.eq(lab.json.decode(rows[2].data).rolled_back, true)
  check.eq(lab.json.decode(rows[2].data).feedback[1].guideline, "double the answer")
  check.eq(lab.json.decode(rows[3].data).workflow.agents[1].system, "You do arithmetic.\n- use the add tool")
  check.eq(string.format("%.1f,%.1f,%.1f", acc[1], acc[2], acc[3]), "0.3,0.1,1.0")
  check.eq(lab.store.query("SELECT count(*) AS n FROM records WHERE run_id = ? AND kind = 'transcript'", { id })[1].n, 30)
  local m = lab.store.query("SELECT step, value FROM metrics WHERE run_id = ? AND name = 'accuracy' ORDER BY step", { id })
  check.eq(#m, 3)
  check.eq(m[2].value, 0.1)
  local res = lab.json.decode(lab.store.query("SELECT data FROM records WHERE run_id = ? AND kind = 'architect_result'", { id })[1].data)
  check.eq(res.best, 3)
  check.eq(res.stop, "target")
  check.eq(table.concat(events, " ", 1, 2), "role draft", "the architect is announced, then its draft")
  check.eq(events[#events], "done")
  local roles = {}
  for _, k in ipairs(events) do if k == "role" then roles[#roles + 1] = k end end
  check.eq(#roles, 5, "a role event per call: the architect, then analyst and engineer for iterations 2 and 3")
end)

test("stop rules: the target at once, the iteration limit, no feedback", function()
  local asked = 0
  local r = A.run(opts{ target = 0.3, roles = { architect = function() return draft() end, engineer = engineer,
                                                analyst = function() asked = asked + 1; return {} end } })
  check.eq(r.stop, "target")
  check.eq(#r.iterations, 1)
  check.eq(asked, 0, "no analysis once the target is reached")
  -- a guideline that changes nothing: equal accuracy is kept, up to the limit
  local n = 0
  r = A.run(opts{ iterations = 4, roles = { architect = function() return draft() end, engineer = engineer,
    analyst = function() n = n + 1; return { { agent = "boss", action = "add", guideline = "be careful " .. n } } end } })
  check.eq(r.stop, "iterations")
  check.eq(#r.iterations, 4)
  check.eq(n, 3)
  check.eq(r.best, 4, "an equal accuracy is kept")
  check.eq(r.iterations[4].systems.boss, "You answer the user.\n- be careful 1\n- be careful 2\n- be careful 3")
  r = A.run(opts{})
  check.eq(r.stop, "no feedback")
  check.eq(#r.iterations, 1)
  r = A.run(opts{ iterations = 1, roles = { architect = function() return draft() end, engineer = engineer,
    analyst = function() error("not called") end } })
  check.eq(r.stop, "iterations")
end)

test("the judge decides: a judge that refuses everything gives accuracy 0", function()
  local r = A.run(opts{ judge = function() return false, "no" end, iterations = 1 })
  check.eq(r.iterations[1].accuracy, 0.0)
  check.eq(r.iterations[1].results[1].why, "no")
  check.raises("the judge failed on example 1: boom", A.run, opts{ judge = function() error("boom", 0) end })
end)

test("drafts: a refused draft is retried with the reason; repairs are listed", function()
  local tries, reasons = 0, {}
  local r = A.run(opts{ iterations = 1, roles = { engineer = engineer, analyst = function() return {} end,
    architect = function(ctx)
      tries = tries + 1
      reasons[tries] = ctx.error
      local d = draft()
      if tries == 1 then d.agents[1].tools = { "teleport" } end
      return d
    end } })
  check.eq(tries, 2)
  check.ok(reasons[2]:find("agent 'calc': unknown tool \"teleport\""), reasons[2])
  check.eq(#r.iterations, 1)
  -- JSON text, a duplicate name, a supervisor managing an unknown member, an unmanaged agent
  local d, rep = A.normalize(lab.json.decode([[{"main": {"name": "boss", "system": "s", "manages": ["ghost"]},
    "agents": [{"name": "a", "system": "x", "tools": []}, {"name": "a", "system": "y", "tools": ["add"]}]}]]), assert(A.tools(A.BUILTIN_TOOLS)))
  check.ok(d, rep)
  check.eq(d.agents[2].name, "a_2")
  check.eq(table.concat(d.main.manages, ","), "a,a_2")
  check.eq(#rep, 4)
  check.raises("no valid workflow after 3 drafts: the draft has no agents", A.run,
    opts{ roles = { engineer = engineer, analyst = engineer, architect = function() return { main = { name = "m" } } end } })
  check.raises("the architect's answer is not JSON", A.run,
    opts{ roles = { engineer = engineer, analyst = engineer, architect = function() return "{nope" end } })
end)

test("feedback and edits: checked, applied as guidelines, diffs of system messages", function()
  local names = { boss = true, calc = true }
  check.fails("feedback 1: 'agent' \"ghost\" is not a member", A.check_feedback({ { agent = "ghost", action = "add", guideline = "x" } }, names))
  check.fails("'action' \"rewrite\" is not add, remove or modify", A.check_feedback({ { agent = "calc", action = "rewrite" } }, names))
  check.fails("modify needs a 'target'", A.check_feedback({ { agent = "calc", action = "modify", guideline = "x" } }, names))
  check.fails("unknown field 'agnet'", A.check_feedback({ { agnet = "calc" } }, names))
  local s, notes = A.apply_edits({ calc = "Intro.\n- one\n- two" }, {
    { agent = "calc", action = "add", guideline = "three" }, { agent = "calc", action = "remove", target = "one" },
    { agent = "calc", action = "modify", target = "two", guideline = "2" }, { agent = "calc", action = "remove", target = "nine" } })
  check.eq(s.calc, "Intro.\n- 2\n- three")
  check.eq(#notes, 1)
  check.ok(notes[1]:find("no guideline 'nine' to remove"))
  local d = A.diff_lines("Intro.\n- one\n- two", s.calc)
  local ops = {}
  for i, l in ipairs(d) do ops[i] = l.op .. l.text end
  check.eq(table.concat(ops, "|"), " Intro.|-- one|-- two|+- 2|+- three")
  -- the analyst naming an unknown member ends the loop with a clear error
  check.raises("the analyst's feedback is refused: feedback 1: 'agent' \"ghost\"", A.run, opts{ roles = {
    architect = function() return draft() end, engineer = engineer,
    analyst = function() return { { agent = "ghost", action = "add", guideline = "x" } } end } })
  check.raises("the prompt engineer names an unknown member 'ghost'", A.run, opts{ roles = {
    architect = function() return draft() end, engineer = function() return { ghost = "x" } end,
    analyst = function() return { { agent = "calc", action = "add", guideline = "x" } } end } })
end)

test("examples: JSON lines, task-library puzzles, and errors naming the line", function()
  local ex = check.ok(A.parse_examples('{"question": "2 + 2", "answer": 4}\n\n{"task": "arith", "seed": 3}\n', "ex.jsonl"))
  check.eq(#ex, 2)
  check.eq(ex[1].answer, "4")
  check.ok(ex[2].T and ex[2].inst and ex[2].question:find(ex[2].inst.question, 1, true))
  local ok = A.judges.task(ex[2], "Answer: " .. ex[2].inst.solution:match("Answer: ([^\n]*)"))
  check.eq(ok, true, "the task's checker accepts its own solution")
  check.eq((A.judges.task(ex[2], "Answer: 1 + 1 = 2")), false)
  check.fails("ex.jsonl line 2: not valid JSON", A.parse_examples('{"question": "a", "answer": "b"}\n{"question": \n', "ex.jsonl"))
  check.fails("ex.jsonl line 1: needs an 'answer'", A.parse_examples('{"question": "a"}', "ex.jsonl"))
  check.fails("ex.jsonl line 1: unknown field 'q'", A.parse_examples('{"q": "a", "answer": 1}', "ex.jsonl"))
  check.fails("unknown task 'nope'", A.parse_examples('{"task": "nope", "seed": 1}', "ex.jsonl"))
  check.fails("ex.jsonl: no examples", A.parse_examples("\n\n", "ex.jsonl"))
  check.eq((A.judges.exact({ answer = "42" }, " 42. ")), true)
  check.eq((A.judges.contains({ answer = "42" }, "it is 42")), true)
  check.raises("'iterations' must be an integer >= 1", A.run, opts{ iterations = 0 })
  check.raises("roles.analyst must be a function", A.run, opts{ roles = { architect = draft, engineer = engineer } })
end)

test("model roles (stories260K) write their JSON under a grammar: a valid draft, feedback, system messages", function()
  local m = lab.model.open(MODEL)
  local tools = assert(A.tools(A.BUILTIN_TOOLS))
  local v = A.model_architect(m, { max_tokens = 600, system_chars = 30, max_agents = 1, max_assistants = 0 })({ task = "Add two numbers.", tools = A.BUILTIN_TOOLS,
    examples = { { question = "2 + 3", answer = "5" } } })
  local d, rep = A.normalize(v, tools)
  check.ok(d, rep)
  local wf, err = F.validate(A.spec(d, tools, { model = m, max_tokens = 8 }))
  check.ok(wf, err)
  local names = {}
  for i, x in ipairs(A.members(d)) do names[i] = x.name end
  local fb = A.model_analyst(m, { max_tokens = 600, text_chars = 20, max_items = 1 })({ task = "Add two numbers.", workflow = d, failures = {
    { question = "2 + 3", expected = "5", answer = "7", why = "wrong", transcript = {
      { sender = "user", sender_role = "user", receiver = d.main.name, text = "2 + 3", depth = 0 } } } }, rejected = {} })
  local set = {}
  for _, n in ipairs(names) do set[n] = true end
  local list, ferr = A.check_feedback(fb, set)
  -- under the grammar the JSON has the shape; an empty guideline for add is the one thing the checker may still refuse
  check.ok(list or ferr:find("needs a"), ferr)
  local sys = A.model_engineer(m, { max_tokens = 600, system_chars = 30 })({ workflow = d, systems = A.systems(d),
    feedback = list or { { agent = names[1], issue = "i", evidence = "e", action = "add", guideline = "be brief" } } })
  for _, n in ipairs(names) do check.eq(type(sys.systems[n]), "string", "a system message for " .. n) end
  local j = A.judge_model(m, "Q: {question} expected {expected} got {answer}. Correct?")
  local ok, why = j({ question = "2 + 3", answer = "5" }, "5")
  check.eq(type(ok), "boolean")
  check.ok(why == "the judge model said yes" or why == "the judge model said no", why)
  check.raises("must contain {answer}", A.judge_model, m, "no placeholder")
end)
