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

test("a tool is stopped at its time limit: waiting, or in a pure-Lua busy loop", function()
  local woke = false
  local spec = one_agent({ name = "slow", seconds = 0.05, fn = function() lab.sleep(0.3) woke = true return "late" end },
    function(ctx) if ctx.last.role == "user" then return { call = "slow" } end return ctx.last.content end)
  check.eq(tool_result(spec), "error: tool 'slow' exceeded its time limit of 0.05 s and was stopped")
  lab.sleep(0.35)
  check.eq(woke, false, "the sleeping tool was cancelled, not left to finish")
  -- a loop that never yields, even one that catches errors, is stopped by the tool's own limit
  spec.agents[1].tools[1] = { name = "slow", seconds = 0.05, fn = function()
    while true do pcall(function() local n = 0 while true do n = n + 1 end end) end end }
  local txt, r = tool_result(spec)
  check.eq(txt, "error: tool 'slow' exceeded its time limit of 0.05 s and was stopped")
  check.eq(r.answer, txt, "the agent got the error and answered; the run went on")
  -- a tool without a limit of its own is bounded by the run's time budget
  spec.agents[1].tools[1] = { name = "slow", fn = function() while true do end end }
  r = R.run(check.ok(F.validate(spec)), "task", { budget = { seconds = 0.1 } })
  check.eq(r.status, "budget")
  check.eq(r.reason, "time budget of 0.1 s exceeded (in tool 'slow')")
  check.eq(r.transcript[#r.transcript].text, '{"call": "slow", "args": {}}', "the transcript is kept up to the call")
  -- the limit is lab.task_budget's: a tool's engine calls are bounded by its tokens
  local m = lab.model.open(MODEL)
  spec.agents[1].tools[1] = { name = "slow", tokens = 5, fn = function()
    return lab.generate(m:seq("Once upon a time"), { max_tokens = 20 }).text end }
  check.ok(tool_result(spec):find("^error: tool 'slow' failed: .*task budget exceeded: 5 tokens"))
end)

test("a tool with an output schema", function()
  local spec = one_agent({ name = "slow", fn = function() return "x" end },
    function(ctx) if ctx.last.role == "user" then return { call = "slow" } end return ctx.last.content end)
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
  -- between turns, or while the tool runs
  check.ok(r.reason:find("^time budget of 0.01 s exceeded"), r.reason)
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

test("budgets that are not numbers >= 0 are refused before anything runs", function()
  local ran = 0
  local wf = check.ok(F.validate(one_agent({ name = "t", fn = function() return "x" end },
    function() ran = ran + 1; return "done" end)))
  for _, c in ipairs({
    { { turns = -1 }, "agents: budget 'turns' must be a whole number >= 0, got -1" },
    { { tokens = 1.5 }, "agents: budget 'tokens' must be a whole number >= 0, got 1.5" },
    { { depth = "2" }, "agents: budget 'depth' must be a whole number >= 0, got '2'" },
    { { seconds = -0.5 }, "agents: budget 'seconds' must be a number >= 0, got -0.5" },
    { { seconds = 0 / 0 }, "agents: budget 'seconds' must be a number >= 0, got" },
    { { seconds = math.huge }, "agents: budget 'seconds' must be finite, got inf" },
    { { turn = 3 }, "agents: unknown budget 'turn' (turns, tokens, seconds, depth)" },
  }) do
    local ok, err = pcall(R.run, wf, "task", { budget = c[1] })
    check.eq(ok, false, c[2])
    check.eq(tostring(err):sub(1, #c[2]), c[2])
  end
  check.eq(ran, 0, "no member ran")
  -- zero is a budget: the run ends at once with its reason
  check.eq(R.run(wf, "task", { budget = { turns = 0 } }).reason, "turn budget of 0 exceeded")
  -- the same rules for a workflow's own budget, and a label for command lines
  check.fails("workflow: budget 'turns' must be a whole number >= 0, got %-2",
    F.validate{ budget = { turns = -2 }, main = { name = "m", script = function() return "x" end } })
  check.eq(F.check_budget({ turns = -1 }, "agents", function(k) return "--" .. k end),
    "--turns must be a whole number >= 0, got -1")
  check.eq(F.check_budget({ turns = 3, tokens = 0, seconds = 2.5, depth = 1e3 }, "agents"), nil)
end)

test("members' models: the workspace first, then as -m NAME finds them; errors name the places", function()
  -- the runner's workspace holds models/s260-f32.gguf (tests/test_lua.sh), not in models/ of the current folder
  local m = check.ok(F.open_model("s260-f32.gguf"))
  check.eq(m:info().n_vocab, 512)
  check.ok(F.open_model("models/s260-f32.gguf"), "a path inside the workspace")
  local none, err = F.open_model("nope.gguf")
  check.eq(none, nil)
  check.ok(err:find("no model file 'nope.gguf'", 1, true), err)
  check.ok(err:find("nor in the workspace (nope.gguf, models/nope.gguf)", 1, true), err)
  local wf = check.ok(F.validate{ main = { name = "boss", manages = { "w" }, script = function(ctx)
      if ctx.last.role == "user" then return { call = "delegate_to_w", args = { message = "Once" } } end
      return ctx.last.content end },
    agents = { { name = "w", model = "nope.gguf", max_tokens = 2 } } })
  local r = R.run(wf, "x")
  check.eq(r.status, "error")
  check.ok(r.reason:find("agent 'w': cannot open model 'nope.gguf': no model file", 1, true), r.reason)
  check.ok(r.reason:find("nor in the workspace", 1, true), r.reason)
  -- a workflow naming the workspace's model runs from any folder
  wf = check.ok(F.validate{ main = { name = "boss", manages = { "w" }, script = function(ctx)
      if ctx.last.role == "user" then return { call = "delegate_to_w", args = { message = "Once" } } end
      return ctx.last.content end },
    agents = { { name = "w", model = "s260-f32.gguf", max_tokens = 2 } } })
  check.eq(R.run(wf, "x").status, "ok")
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
  bad("budget 'turns' must be a whole number >= 0, got 'x'", function(s) s.budget = { turns = "x" } end)
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
  check.eq(e.prompt, prompt, "the turn's prompt is in the transcript")
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

-- ---- parallel delegations ----

-- the transcripts of two runs are the same, message by message, with the
-- same tokens and bitwise the same log-probabilities
local function same_transcript(par, seq)
  check.eq(#par.transcript, #seq.transcript, "transcript length")
  for i, e in ipairs(seq.transcript) do
    local p = par.transcript[i]
    check.eq(p.i, i)
    check.eq(p.sender .. ">" .. p.receiver .. "@" .. p.depth .. ":" .. p.text,
             e.sender .. ">" .. e.receiver .. "@" .. e.depth .. ":" .. e.text, "entry " .. i)
    check.eq(p.tokens == nil, e.tokens == nil, "entry " .. i .. " has tokens")
    if e.tokens then
      check.same_list(p.tokens, e.tokens, "tokens of entry " .. i)
      check.eq(#p.logprobs, #e.logprobs)
      for j = 1, #e.logprobs do check.ok(p.logprobs[j] == e.logprobs[j], "log-prob " .. i .. "." .. j) end
    end
  end
end

-- a scripted supervisor that sends each of `msgs` ({name, text}) in one
-- turn, then answers with its delegates' answers joined
local function fan_out(msgs)
  return function(ctx)
    if ctx.last.role == "user" then
      local calls = {}
      for i, x in ipairs(msgs) do calls[i] = { call = "delegate_to_" .. x[1], args = { message = x[2] } } end
      return calls
    end
    local got = {}
    for _, h in ipairs(ctx.messages) do if h.role == "tool" then got[#got + 1] = h.content end end
    return table.concat(got, " | ")
  end
end

local function steps_of(m, f)
  local s0 = m:kv().steps
  local r = f()
  return r, m:kv().steps - s0
end

test("parallel delegations: one batched step per token, the sequential transcript", function()
  local m = lab.model.open(MODEL)
  local spec = { main = { name = "boss", manages = { "a", "b" },
                          script = fan_out{ { "a", "Once upon a time" }, { "b", "Tom and his sister" } } },
                 agents = { { name = "a", model = MODEL, max_tokens = 10, sampler = { temp = 1 } },
                            { name = "b", model = MODEL, max_tokens = 10, system = "Be kind.", sampler = { temp = 1 } } } }
  local wf = check.ok(F.validate(spec))
  local par, sp = steps_of(m, function() return R.run(wf, "go", { models = { [MODEL] = m } }) end)
  local seq, ss = steps_of(m, function() return R.run(wf, "go", { models = { [MODEL] = m }, parallel = false }) end)
  check.eq(par.status, "ok", par.reason)
  same_transcript(par, seq)
  check.eq(par.answer, seq.answer)
  check.eq(par.tokens, 20)
  -- apart: a prompt step and 10 token steps each; together: one of each for both
  -- a turn of n tokens is n engine steps (the first evaluates the prompt);
  -- two together are as many steps as the longer
  check.eq(ss, 20, "sequential engine steps")
  check.eq(sp, 10, "batched engine steps")
  -- the seeds a member's sampler gets do not depend on the order: a third run is the same again;
  -- on_progress sees the messages as they are made (b is sent its task before a answers),
  -- on_message in the transcript's order
  local live, final = {}, {}
  local function key(e) return e.sender .. ">" .. e.receiver end
  same_transcript(R.run(wf, "go", { models = { [MODEL] = m },
    on_progress = function(e) live[#live + 1] = key(e) end,
    on_message = function(e) final[#final + 1] = key(e) end }), seq)
  check.eq(table.concat(final, " "), "user>boss boss>a boss>a a>boss boss>b b>boss boss>user")
  check.eq(table.concat(live, " "), "user>boss boss>a boss>a boss>b a>boss b>boss boss>user")
end)

test("parallel delegations: nested, with tools and scripts in the branches", function()
  local m = lab.model.open(MODEL)
  local noted = {}
  local function lead(targets)
    return function(ctx)
      if ctx.last.role == "user" then return { call = "note", args = { text = ctx.input } } end
      if ctx.last.role == "tool" and ctx.last.name == "note" then return fan_out(targets)({ last = { role = "user" } }) end
      local got = {}
      for _, h in ipairs(ctx.messages) do if h.role == "tool" and h.name ~= "note" then got[#got + 1] = h.content end end
      return table.concat(got, " + ")
    end
  end
  local note = { name = "note", parameters = { type = "object", properties = { text = { type = "string" } } },
                 fn = function(a) lab.sleep(0.001) noted[#noted + 1] = a.text return "noted" end }
  local function agent(name, max) return { name = name, model = MODEL, max_tokens = max, sampler = { temp = 0.8 } } end
  local spec = { main = { name = "boss", manages = { "l1", "l2" },
                          script = fan_out{ { "l1", "Lily" }, { "l2", "Tim" } } },
                 assistants = { { name = "l1", manages = { "a1", "a2" }, tools = { note },
                                  script = lead{ { "a1", "Lily went" }, { "a2", "Lily saw" } } },
                                { name = "l2", manages = { "b1", "b2" }, tools = { note },
                                  script = lead{ { "b1", "Tim had" }, { "b2", "Tim ran" } } } },
                 agents = { agent("a1", 6), agent("a2", 8), agent("b1", 5), agent("b2", 8) } }
  local wf = check.ok(F.validate(spec))
  local par, sp = steps_of(m, function() return R.run(wf, "go", { models = { [MODEL] = m } }) end)
  check.eq(table.concat(noted, ","), "Lily,Tim")
  local seq, ss = steps_of(m, function() return R.run(wf, "go", { models = { [MODEL] = m }, parallel = false }) end)
  check.eq(par.status, "ok", par.reason)
  same_transcript(par, seq)
  check.eq(par.tokens, 27)
  -- four model turns of 6, 8, 5 and 8 tokens: 27 steps apart, 8 together
  check.eq(ss, 27, "sequential engine steps")
  check.eq(sp, 8, "batched engine steps")
end)

test("parallel delegations: members shared between branches run one after another; errors and budgets", function()
  local m = lab.model.open(MODEL)
  -- l1 and l2 both manage c: their delegations are not independent
  local order = {}
  local spec = { main = { name = "boss", manages = { "l1", "l2" }, script = fan_out{ { "l1", "x" }, { "l2", "y" } } },
                 assistants = { { name = "l1", manages = { "c" }, script = fan_out{ { "c", "one" } } },
                                { name = "l2", manages = { "c" }, script = fan_out{ { "c", "two" } } } },
                 agents = { { name = "c", script = function(ctx) order[#order + 1] = ctx.input return tostring(#ctx.messages) end } } }
  local r = R.run(check.ok(F.validate(spec)), "go")
  check.eq(r.answer, "1 | 3", "c's history, as in a sequential run")
  check.eq(table.concat(order, ","), "one,two")
  -- a failing branch: the run ends with its error after every branch's messages are kept
  spec = { main = { name = "boss", manages = { "a", "b" }, script = fan_out{ { "a", "Once" }, { "b", "Tom" } } },
           agents = { { name = "a", script = function() error("a broke", 0) end },
                      { name = "b", model = MODEL, max_tokens = 4 } } }
  r = R.run(check.ok(F.validate(spec)), "go", { models = { [MODEL] = m } })
  check.eq(r.status, "error")
  check.eq(r.reason, "scripted agent 'a' failed: a broke")
  check.eq(r.transcript[#r.transcript].sender, "b", "b's turn is kept")
  -- a token budget shared by the branches
  spec.agents[1] = { name = "a", model = MODEL, max_tokens = 8 }
  r = R.run(check.ok(F.validate(spec)), "go", { models = { [MODEL] = m }, budget = { tokens = 6 } })
  check.eq(r.status, "budget")
  check.eq(r.reason, "token budget of 6 exceeded")
  check.eq(r.tokens, 6, "the token budget is a hard cap with parallel turns")
  -- and the turn budget: the boss's turn and a's; b's would be a third
  r = R.run(check.ok(F.validate(spec)), "go", { models = { [MODEL] = m }, budget = { turns = 2 } })
  check.eq(r.reason, "turn budget of 2 exceeded")
  check.eq(r.turns, 2, "the turn budget is a hard cap with parallel turns")
  -- a tool of a branch that runs out of the run's time: the run ends on the time budget
  spec.agents[1] = { name = "a", tools = { { name = "spin", fn = function() while true do end end } },
                     script = function() return { call = "spin" } end }
  r = R.run(check.ok(F.validate(spec)), "go", { models = { [MODEL] = m }, budget = { seconds = 0.2 } })
  check.eq(r.status, "budget")
  check.eq(r.reason, "time budget of 0.2 s exceeded (in tool 'spin')")
  local seen = {}
  for _, e in ipairs(r.transcript) do seen[e.sender .. ">" .. e.receiver] = true end
  local keys = {} for k in pairs(seen) do keys[#keys + 1] = k end table.sort(keys)
  check.ok(seen["a>spin"] and seen["boss>b"], "both branches' messages are kept: " .. table.concat(keys, " "))
end)
