-- issue 19: workflows as data (plugins/lib/workflow.lua) and their runtime
-- (plugins/lib/agentrun.lua) with scripted members and stories260K.
local F = assert(lab.require("workflow"))
local R = assert(lab.require("agentrun"))

local NUM = { type = "object", required = { "a", "b" },
              properties = { a = { type = "number" }, b = { type = "number" } } }

-- main -> lead (assistant) -> calc (agent with tools)
local function chain_spec()
  return {
    main = { name = "boss", manages = { "lead" }, script = function(ctx)
      if ctx.last.role == "user" then return { call = "delegate_to_lead", args = { message = "add 2 and 3" } } end
      return "answer: " .. ctx.last.content
    end },
    assistants = { { name = "lead", manages = { "calc" }, script = function(ctx)
      if ctx.last.role == "user" then return { call = "delegate_to_calc", args = { message = ctx.input } } end
      return "calc says " .. ctx.last.content
    end } },
    agents = { { name = "calc", script = function(ctx)
      if ctx.last.role == "user" then return { call = "add", args = { a = 2, b = 3 } } end
      return ctx.last.content
    end, tools = { { name = "add", parameters = NUM, fn = function(a) return a.a + a.b end } } } },
  }
end

test("a delegation chain: main -> assistant -> agent -> tool, and back", function()
  local wf = check.ok(F.validate(chain_spec()))
  local r = R.run(wf, "what is 2 + 3?")
  check.eq(r.status, "ok")
  check.eq(r.answer, "answer: calc says 5")
  local want = {
    { "user", "user", "boss" }, { "boss", "main supervisor", "lead" },
    { "boss", "main supervisor", "lead" }, { "lead", "assistant supervisor", "calc" },
    { "lead", "assistant supervisor", "calc" }, { "calc", "agent", "add" },
    { "add", "tool", "calc" }, { "calc", "agent", "lead" },
    { "lead", "assistant supervisor", "boss" }, { "boss", "main supervisor", "user" },
  }
  check.eq(#r.transcript, #want, "transcript length")
  for i, w in ipairs(want) do
    local e = r.transcript[i]
    check.eq(e.sender .. "|" .. e.sender_role .. "|" .. e.receiver, table.concat(w, "|"), "entry " .. i)
  end
  check.eq(r.transcript[7].text, "5")
  check.eq(r.transcript[6].depth, 2)
  check.eq(r.turns, 6)
  check.eq(F.parse_calls(r.transcript[2].text)[1].name, "delegate_to_lead")
end)

local function one_agent(tool, reply)
  return { main = { name = "boss", manages = { "a" }, script = function(ctx)
             if ctx.last.role == "user" then return { call = "delegate_to_a", args = { message = "go" } } end
             return ctx.last.content end },
           agents = { { name = "a", tools = { tool }, script = reply } } }
end

local function tool_result(spec)
  local r = R.run(check.ok(F.validate(spec)), "task")
  check.eq(r.status, "ok", r.reason)
  for _, e in ipairs(r.transcript) do if e.sender_role == "tool" then return e.text, r end end
  error("no tool message")
end

test("tool calls: invalid arguments come back as a message naming the problem", function()
  local seen
  local spec = one_agent({ name = "add", parameters = NUM, fn = function(a) return a.a + a.b end },
    function(ctx)
      if ctx.last.role == "user" then return { call = "add", args = { a = 2, b = "three" } } end
      seen = ctx.last.content
      return "gave up"
    end)
  local txt, r = tool_result(spec)
  check.eq(txt, "error: invalid arguments for tool 'add': args.b: expected a number")
  check.eq(seen, txt)
  check.eq(r.answer, "gave up")
  spec.agents[1].script = function(ctx)
    if ctx.last.role == "user" then return { call = "add", args = { a = 1 } } end
    return ctx.last.content end
  check.eq(tool_result(spec), "error: invalid arguments for tool 'add': args: missing required property 'b'")
end)

test("tool calls: a tool that errors, an unknown tool, a malformed call line", function()
  local spec = one_agent({ name = "boom", fn = function() error("disk on fire", 0) end },
    function(ctx) if ctx.last.role == "user" then return { call = "boom" } end return ctx.last.content end)
  check.eq(tool_result(spec), "error: tool 'boom' failed: disk on fire")
  spec.agents[1].script = function(ctx)
    if ctx.last.role == "user" then return { call = "nope" } end return ctx.last.content end
  check.eq(tool_result(spec), "error: unknown call 'nope' (tools: boom)")
  spec.agents[1].script = function(ctx)
    if ctx.last.role == "user" then return '{"call": "boom", "args": ' end return ctx.last.content end
  check.ok(tool_result(spec):find("^error: malformed call"))
  -- an agent cannot delegate
  spec.agents[1].script = function(ctx)
    if ctx.last.role == "user" then return { call = "delegate_to_boss", args = { message = "x" } } end
    return ctx.last.content end
  check.eq(tool_result(spec), "error: a cannot delegate to 'boss' (it manages: no one)")
end)

test("a tool over its time budget, and one with an output schema", function()
  local spec = one_agent({ name = "slow", seconds = 0.05, fn = function() lab.sleep(0.2) return "late" end },
    function(ctx) if ctx.last.role == "user" then return { call = "slow" } end return ctx.last.content end)
  check.eq(tool_result(spec), "error: tool 'slow' exceeded its budget of 0.05 s")
  spec.agents[1].tools[1] = { name = "slow", output = { type = "string" }, fn = function() return 7 end }
  check.eq(tool_result(spec), "error: tool 'slow' returned a result outside its output schema: result: expected a string")
  spec.agents[1].tools[1] = { name = "slow", fn = function() return { x = 1 } end }
  check.eq(tool_result(spec), '{"x":1}')
end)

test("budgets end the run with a reason and keep the transcript", function()
  -- a member that never answers: it calls its tool forever
  local spec = one_agent({ name = "t", fn = function() return "again" end },
    function() return { call = "t" } end)
  local wf = check.ok(F.validate(spec))
  local r = R.run(wf, "task", { budget = { turns = 5 } })
  check.eq(r.status, "budget")
  check.eq(r.reason, "turn budget of 5 exceeded")
  check.eq(r.turns, 5)
  check.ok(#r.transcript >= 9, "transcript kept")
  r = R.run(wf, "task", { budget = { seconds = 0.01, turns = 1e9 } })
  check.eq(r.status, "budget")
  check.eq(r.reason, "time budget of 0.01 s exceeded")
  -- depth: main -> lead -> calc is depth 2
  local chain = check.ok(F.validate(chain_spec()))
  r = R.run(chain, "x", { budget = { depth = 1 } })
  check.eq(r.status, "budget")
  check.eq(r.reason, "delegation depth budget of 1 exceeded (lead -> calc)")
  check.eq(R.run(chain, "x", { budget = { depth = 2 } }).status, "ok")
  -- a scripted member that raises ends the run with its error
  spec.agents[1].script = function() error("no idea", 0) end
  r = R.run(check.ok(F.validate(spec)), "task")
  check.eq(r.status, "error")
  check.eq(r.reason, "scripted agent 'a' failed: no idea")
end)

test("history: kept across delegations, or not", function()
  local n = {}
  local spec = { main = { name = "boss", manages = { "a" }, script = function(ctx)
                   local k = #ctx.messages
                   if k < 6 then return { call = "delegate_to_a", args = { message = "m" .. k } } end
                   return ctx.last.content end },
                 agents = { { name = "a", script = function(ctx) n[#n + 1] = #ctx.messages return tostring(#ctx.messages) end } } }
  check.eq(R.run(check.ok(F.validate(spec)), "t").answer, "5")
  check.eq(table.concat(n, ","), "1,3,5")
  n = {}
  spec.agents[1].history = false
  check.eq(R.run(check.ok(F.validate(spec)), "t").answer, "1")
  check.eq(table.concat(n, ","), "1,1,1")
end)

test("malformed workflows are refused, naming the member", function()
  local function bad(pat, mutate)
    local s = chain_spec()
    mutate(s)
    check.fails(pat, F.validate(s))
  end
  bad("manages an unknown member 'ghost'", function(s) s.assistants[1].manages = { "ghost" } end)
  bad("duplicate name 'calc'", function(s) s.assistants[1].name = "calc" s.main.manages = { "calc" } end)
  bad("a cycle of management: boss %-> lead %-> boss", function(s) s.assistants[1].manages = { "calc", "boss" } end)
  bad("agent 'calc': an agent manages no one", function(s) s.agents[1].manages = { "lead" } end)
  bad("agent 'calc': unknown field 'sytem'", function(s) s.agents[1].sytem = "x" end)
  bad("workflow: unknown field 'agent'", function(s) s.agent = {} end)
  bad("agent 'calc', tool 'add': malformed schema: parameters.a: unknown type 'num'",
    function(s) s.agents[1].tools[1].parameters = { type = "object", properties = { a = { type = "num" } } } end)
  bad("tool 'add': malformed schema: parameters: required property 'c' is not among",
    function(s) s.agents[1].tools[1].parameters = { type = "object", properties = {}, required = { "c" } } end)
  bad("agent 'calc': needs a 'model'", function(s) s.agents[1].script = nil end)
  bad("assistant supervisor 'lead': bad sampler", function(s) s.assistants[1].sampler = { top_p = 2 } end)
  bad("the name \"a b\" is not an identifier", function(s) s.agents[1].name = "a b" end)
  bad("no main supervisor", function(s) s.main = nil end)
  bad("budget 'turns' must be a number", function(s) s.budget = { turns = "x" } end)
  bad("assistant supervisor 'lead' is managed by no one", function(s) s.main.manages = { "calc" } end)
  check.fails("not valid JSON", F.validate("{ main: "))
end)

test("a JSON workflow with scripts and tools given by name", function()
  local json = [[{"main": {"name": "boss", "manages": ["calc"], "script": "boss"},
    "agents": [{"name": "calc", "script": "calc",
      "tools": [{"name": "add", "parameters": {"type": "object", "required": ["a", "b"],
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}}]}],
    "budget": {"turns": 10}}]]
  local lib = {
    scripts = {
      boss = function(ctx)
        if ctx.last.role == "user" then return { call = "delegate_to_calc", args = { message = ctx.input } } end
        return ctx.last.content end,
      calc = function(ctx)
        if ctx.last.role == "user" then return { call = "add", args = { a = 40, b = 2 } } end
        return ctx.last.content end,
    },
    tools = { add = function(a) return a.a + a.b end },
  }
  local wf = check.ok(F.validate(json, lib))
  check.eq(wf.budget.turns, 10)
  check.eq(wf.budget.depth, F.DEFAULT_BUDGET.depth)
  check.eq(R.run(wf, "40+2").answer, "42")
  check.fails("agent 'calc', tool 'add': no Lua function named 'add'", F.validate(json, { scripts = lib.scripts }))
  check.fails("main supervisor 'boss': no script named 'boss'", F.validate(json, {}))
end)

test("a model member (stories260K, plain format): tokens and log-probs in the transcript", function()
  local spec = { main = { name = "boss", manages = { "teller" }, script = function(ctx)
                   if ctx.last.role == "user" then return { call = "delegate_to_teller", args = { message = ctx.input } } end
                   return ctx.last.content end },
                 agents = { { name = "teller", model = MODEL, system = "You tell stories.", max_tokens = 12 } } }
  local r = R.run(check.ok(F.validate(spec)), "Once upon a time")
  check.eq(r.status, "ok", r.reason)
  local e = r.transcript[4]
  check.eq(e.sender, "teller")
  check.eq(e.format, "plain")
  check.ok(#e.tokens > 0 and #e.tokens == #e.logprobs, "tokens and log-probs")
  for _, lp in ipairs(e.logprobs) do check.ok(lp <= 0, "a log-prob") end
  check.eq(r.tokens, #e.tokens)
  -- the same prompt through the plain format gives the same greedy tokens
  local m = lab.model.open(MODEL)
  local prompt = R.plain_format({ { role = "system", content = "You tell stories." },
                                  { role = "user", content = "Once upon a time" } })
  local g = lab.generate(m:seq(prompt), { max_tokens = #e.tokens, stop = "\n###" })
  check.same_list(e.tokens, g.tokens, "greedy tokens")
  -- a token budget smaller than one turn caps that turn and then ends the run
  r = R.run(check.ok(F.validate(spec)), "Once upon a time", { budget = { tokens = 3 } })
  check.eq(r.transcript[4].tokens and #r.transcript[4].tokens, 3)
  check.eq(r.status, "budget")
  check.eq(r.reason, "token budget of 3 exceeded")
end)

-- ---- the call grammar ----

local PICK = { type = "object", required = { "color" },
               properties = { color = { enum = { "red", "green" } }, note = { type = "string", maxLength = 6 },
                              xs = { type = "array", items = { type = "boolean" }, maxItems = 3 } } }
local ADD = { type = "object", required = { "a", "b" },
              properties = { a = { type = "integer", minimum = -5, maximum = 99 }, b = { type = "number" } } }

local function grammar_spec(calls, seed, extra)
  local calc = { name = "calc", model = MODEL, calls = calls, max_calls = 1, max_tokens = 120,
                 sampler = { temp = 1, seed = seed },
                 tools = { { name = "add", parameters = ADD, fn = function(a) return a.a + a.b end },
                           { name = "pick", parameters = PICK, fn = function(a) return a.color end } } }
  for k, v in pairs(extra or {}) do calc[k] = v end
  return { main = { name = "boss", manages = { "calc" }, script = function(ctx)
             if ctx.last.role == "user" then return { call = "delegate_to_calc", args = { message = "add 2 and 3" } } end
             return ctx.last.content end },
           agents = { calc }, budget = { turns = 2 } }
end

test("the call grammar: the language of a member's turns", function()
  local wf = check.ok(F.validate(grammar_spec("auto", 1, { max_calls = 2 })))
  local g = check.ok(wf.members.calc.grammar, "a model member with tools has a grammar")
  check.ok(g:matches('{"call": "add", "args": {"a": 2, "b": 3.5}}'))
  check.ok(g:matches('{"call": "add", "args": {"a": 2, "b": 3}}\n{"call": "pick", "args": {"color": "red"}}'))
  check.ok(g:matches("Two and three make five.\nNo call here."), "a plain message")
  check.ok(g:matches('I will add.\n{"call": "add", "args": {"a": 2, "b": 3}}'), "prose, then a call")
  check.ok(not g:matches('{"call": "add", "args": {"a": 200, "b": 3}}'), "a out of range")
  check.ok(not g:matches('{"call": "add", "args": {"a": 2}}'), "b missing")
  check.ok(not g:matches('{"call": "pick", "args": {"color": "blue"}}'), "not in the enum")
  check.ok(not g:matches('{"call": "mul", "args": {"a": 2, "b": 3}}'), "an unknown tool")
  check.ok(not g:matches('{"call": "add", "args": {"a": 2,\n "b": 3}}'), "a call on two lines")
  check.ok(not g:matches("{oops"), "a plain line beginning with {")
  check.ok(not g:matches('{"call": "pick", "args": {"color": "red"}}\n{"call": "pick", "args": {"color": "red"}}\n'
                         .. '{"call": "pick", "args": {"color": "red"}}'), "more than max_calls")
  local req = check.ok(F.validate(grammar_spec("required", 1))).members.calc.grammar
  check.ok(not req:matches("Two and three make five."), "required: calls only")
  check.ok(req:matches('{"call": "pick", "args": {"color": "green", "xs": [true]}}'))
  check.eq(check.ok(F.validate(grammar_spec("free", 1))).members.calc.grammar, nil)
  -- a supervisor's delegations are calls too
  local sup = check.ok(F.validate({ main = { name = "boss", model = MODEL, manages = { "calc" } },
                                   agents = { { name = "calc", script = function() return "" end } } }))
  check.ok(sup.members.boss.grammar:matches('{"call": "delegate_to_calc", "args": {"message": "add 2 and 3"}}'))
  check.ok(not sup.members.boss.grammar:matches('{"call": "delegate_to_calc", "args": {"msg": "x"}}'))
  check.fails("agent 'calc': 'calls' must be \"auto\", \"required\" or \"free\"", F.validate(grammar_spec("maybe", 1)))
  check.fails("agent 'calc': 'max_calls' must be an integer >= 1", F.validate(grammar_spec("auto", 1, { max_calls = 0 })))
end)

test("the call grammar: stories260K's calls always parse and validate (16 seeds)", function()
  local m = lab.model.open(MODEL)
  local n, texts, distinct = 0, {}, 0
  for seed = 1, 16 do
    local r = R.run(check.ok(F.validate(grammar_spec("required", seed))), "go", { models = { [MODEL] = m } })
    check.eq(r.reason, "turn budget of 2 exceeded", "seed " .. seed)
    local turn, answer = r.transcript[4], r.transcript[5]
    check.eq(turn.sender, "calc")
    check.ok(turn.grammar and not turn.cut, "seed " .. seed .. ": a whole call")
    local calls = F.parse_calls(turn.text)
    check.eq(#calls, 1, "seed " .. seed .. ": one call in " .. turn.text)
    local c = calls[1]
    check.ok(not c.malformed, "seed " .. seed .. ": " .. turn.text)
    check.ok(c.name == "add" or c.name == "pick", c.name)
    check.eq(F.check_value(c.name == "add" and ADD or PICK, c.args, "args"), nil, turn.text)
    check.eq(answer.sender_role, "tool")
    check.ok(not answer.text:find("^error"), answer.text)
    n = n + 1
    if not texts[turn.text] then texts[turn.text], distinct = true, distinct + 1 end
  end
  check.eq(n, 16)
  check.ok(distinct > 4, "the seeds give different calls: " .. distinct)
end)

test("the call grammar: a call cut by the token limit is answered as such; free mode is unconstrained", function()
  local r = R.run(check.ok(F.validate(grammar_spec("required", 1, { max_tokens = 8 }))), "go")
  local turn, answer = r.transcript[4], r.transcript[5]
  check.ok(turn.cut, "the turn is marked cut")
  check.eq(#turn.tokens, 8)
  check.ok(answer.text:find("^error: the call was cut off at the token limit of the turn %(8 tokens%)"), answer.text)
  -- without the grammar, stories260K writes a story, not a call
  r = R.run(check.ok(F.validate(grammar_spec("free", 1, { max_tokens = 16 }))), "go", { budget = { turns = 3 } })
  check.eq(r.status, "ok", r.reason)
  check.eq(r.transcript[4].grammar, nil)
  check.eq(#F.parse_calls(r.transcript[4].text), 0, r.transcript[4].text)
end)
