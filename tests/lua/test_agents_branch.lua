-- issue 19: branching a workflow run (plugins/lib/agentrun.lua, opts.forced,
-- R.branch): the turns before the forced one replay exactly, the forced
-- turn is scored, the rest is new; batched = sequential.
local F = assert(lab.require("workflow"))
local R = assert(lab.require("agentrun"))

-- the same transcript, message by message: tokens equal, log-probs bitwise
local function same_transcript(a, b, upto)
  upto = upto or math.max(#a.transcript, #b.transcript)
  if upto == math.max(#a.transcript, #b.transcript) then check.eq(#a.transcript, #b.transcript, "transcript length") end
  for i = 1, upto do
    local x, y = a.transcript[i], b.transcript[i]
    check.eq(x.sender .. ">" .. x.receiver .. "@" .. x.depth .. ":" .. x.text,
             y.sender .. ">" .. y.receiver .. "@" .. y.depth .. ":" .. y.text, "entry " .. i)
    check.eq(x.tokens == nil, y.tokens == nil, "entry " .. i .. " has tokens")
    if x.tokens then
      check.same_list(x.tokens, y.tokens, "tokens of entry " .. i)
      check.eq(#x.logprobs, #y.logprobs)
      for j = 1, #x.logprobs do check.ok(x.logprobs[j] == y.logprobs[j], "log-prob " .. i .. "." .. j) end
    end
  end
end

-- boss sends its task to a, then a's answer to b; answers "a / b"
local function relay_spec(a, b)
  return { main = { name = "boss", manages = { "a", "b" }, script = function(ctx)
             local got = {}
             for _, h in ipairs(ctx.messages) do if h.role == "tool" then got[#got + 1] = h.content end end
             if #got == 0 then return { call = "delegate_to_a", args = { message = ctx.input } } end
             if #got == 1 then return { call = "delegate_to_b", args = { message = got[1] } } end
             return got[1] .. " / " .. got[2]
           end },
           agents = { a, b } }
end

local function echo(prefix) return function(ctx) return prefix .. ctx.input end end

test("forced turns of scripted members: the rest follows from the forced text", function()
  local wf = check.ok(F.validate(relay_spec({ name = "a", script = echo("a:") }, { name = "b", script = echo("b:") })))
  local p = R.run(wf, "go")
  check.eq(p.answer, "a:go / b:a:go")
  check.eq(p.transcript[4].turn, 1, "a member's turns are numbered")
  check.eq(p.transcript[5].turn, 2, "the boss's second turn")
  check.eq(p.transcript[3].turn, nil, "a delegation message is no turn")
  -- nothing forced: the same run
  same_transcript(R.run(wf, "go", { forced = {} }), p)
  -- a's first turn (message 3) forced
  local r = R.run(wf, "go", { forced = { a = { [1] = "A!" } } })
  check.eq(r.status, "ok", r.reason)
  check.eq(r.answer, "A! / b:A!")
  check.eq(r.transcript[4].forced, "text")
  check.eq(r.transcript[4].text, "A!")
  check.eq(r.forced_unused, nil)
  same_transcript(r, p, 3)
  check.eq(R.diverge(p.transcript, r.transcript), 4)
  check.eq(R.diverge(p.transcript, p.transcript), nil)
  -- R.branch: message 4 of the parent is a's first turn; the same as forcing it
  local b = R.branch(wf, "go", p, 4, "A!")
  same_transcript(b, r)
  check.eq(b.branch.member .. "#" .. b.branch.turn, "a#1")
  check.eq(b.diverge, 4)
  -- the boss's last turn (its third)
  b = R.branch(wf, "go", p.transcript, #p.transcript, "my own answer")
  check.eq(b.answer, "my own answer")
  check.eq(b.branch.member .. "#" .. b.branch.turn, "boss#3")
  check.eq(b.diverge, #p.transcript)
  -- a turn the run never reaches is reported
  r = R.run(wf, "go", { forced = { a = { [2] = "x" } } })
  check.eq(r.status, "ok")
  check.eq(table.concat(r.forced_unused, ","), "a#2")
  -- messages that are no member's turn, and malformed forced tables
  check.raises("branch: message 1 is the user's %(user %-> boss%), not a member's turn", R.branch, wf, "go", p, 1, "x")
  check.raises("branch: message 3 is the message boss sent to a with its call, not a turn", R.branch, wf, "go", p, 3, "x")
  check.raises("branch: message 1 is the tool's", R.branch, wf, "go",
               { { sender = "add", sender_role = "tool", receiver = "a", text = "5" } }, 1, "x")
  check.raises("branch: no message 99 %(the transcript has 8%)", R.branch, wf, "go", p, 99, "x")
  check.raises("forced: unknown member 'c' %(members: boss, a, b%)", R.run, wf, "go", { forced = { c = { "x" } } })
  check.raises("forced: turn 0 of 'a': turns are numbered 1, 2, ...", R.run, wf, "go", { forced = { a = { [0] = "x" } } })
  check.raises("forced: turn 1 of 'a': give text or tokens", R.run, wf, "go", { forced = { a = { { text = "x", tokens = { 1 } } } } })
  check.raises("forced: turn 1 of 'a': a scripted member's turn is text", R.run, wf, "go", { forced = { a = { { tokens = { 1 } } } } })
  check.raises("forced: turn 1 of 'a': unknown field 'txt'", R.run, wf, "go", { forced = { a = { { txt = "x" } } } })
  check.raises("forced: turn 2 of 'b': text must be a string", R.run, wf, "go", { forced = { b = { [2] = { text = 5 } } } })
end)

-- two stories260K agents under a scripted boss that fans out to both,
-- then sends a's answer to a again (a keeps its history): a has two turns
local function model_spec(sampler)
  local function agent(name, max, system)
    return { name = name, model = MODEL, max_tokens = max, system = system, sampler = sampler }
  end
  return { main = { name = "boss", manages = { "a", "b" }, script = function(ctx)
             local got = {}
             for _, h in ipairs(ctx.messages) do if h.role == "tool" then got[#got + 1] = h.content end end
             if #got == 0 then
               return { { call = "delegate_to_a", args = { message = "Once upon a time" } },
                        { call = "delegate_to_b", args = { message = "Tom and his sister" } } }
             end
             if #got == 2 then return { call = "delegate_to_a", args = { message = "And then" } } end
             return table.concat(got, " | ")
           end },
           agents = { agent("a", 10, "You tell stories."), agent("b", 8, "Be kind.") } }
end

test("branching a stories260K run: replay, scoring, a new token, batched = sequential", function()
  local m = lab.model.open(MODEL)
  local models = { [MODEL] = m }
  for _, sampler in ipairs({ { temp = 0 }, { temp = 1 } }) do
    local what = sampler.temp == 0 and "greedy" or "seeded"
    local wf = check.ok(F.validate(model_spec(sampler)))
    local p = R.run(wf, "go", { models = models })
    check.eq(p.status, "ok", p.reason)
    local ia, ib, ia2
    for i, e in ipairs(p.transcript) do
      if e.sender == "a" and e.turn == 1 then ia = i end
      if e.sender == "b" then ib = i end
      if e.sender == "a" and e.turn == 2 then ia2 = i end
    end
    check.ok(ia and ib and ia2, what .. ": a's two turns and b's")
    local pa = p.transcript[ia]
    -- a rerun with nothing forced is the same run, batched and sequential
    same_transcript(R.run(wf, "go", { models = models, forced = {} }), p)
    same_transcript(R.run(wf, "go", { models = models, parallel = false }), p)
    -- a's first turn forced to its own tokens: scored, the same log-probs bitwise, the same run
    local r = R.run(wf, "go", { models = models, forced = { a = { { tokens = pa.tokens } } } })
    same_transcript(r, p)
    check.eq(r.transcript[ia].forced, "text")
    -- ... and to its first 3 tokens, the sampler going on from there: the same run too
    r = R.run(wf, "go", { models = models, forced = { a = { { tokens = { pa.tokens[1], pa.tokens[2], pa.tokens[3] }, continue = true } } } })
    same_transcript(r, p)
    check.eq(r.transcript[ia].forced, "prefix")
    -- another token at position 3, then the member's sampler (the loom's branch)
    local other = pa.tokens[3] == 432 and 383 or 432
    local prefix = { pa.tokens[1], pa.tokens[2], other }
    local par = R.branch(wf, "go", p, ia, { tokens = prefix, continue = true }, { models = models })
    local seq = R.branch(wf, "go", p, ia, { tokens = prefix, continue = true }, { models = models, parallel = false })
    check.eq(par.status, "ok", par.reason)
    same_transcript(par, seq)
    check.eq(par.diverge, ia, what .. ": the branch diverges at a's turn")
    same_transcript(par, p, ia - 1)
    local e = par.transcript[ia]
    check.same_list({ e.tokens[1], e.tokens[2], e.tokens[3] }, prefix)
    check.eq(e.forced_tokens, 3)
    check.ok(#e.tokens > 3, "the turn went on after the forced tokens")
    -- the forced tokens' log-probs are the model's after the turn's prompt (bitwise: the invariance rule)
    -- (score gives single-precision log-probs, generation double: compared as floats)
    local sc = check.ok(m:seq(m:tokenize(e.prompt)):score(prefix))
    for j = 1, 3 do
      check.eq(string.pack("f", sc.logprobs[j]), string.pack("f", e.logprobs[j]), what .. ": forced log-prob " .. j)
    end
    -- b's turn does not depend on a's: the same tokens as in the parent
    check.same_list(par.transcript[ib].tokens, p.transcript[ib].tokens, what .. ": b replays")
    -- a's second turn has a's new first turn in its history
    check.eq(par.transcript[ia2].turn, 2)
    check.ok(par.transcript[ia2].prompt:find(e.text, 1, true), "a's history holds the branched turn")
    -- rerun-from-turn = a fresh run with that turn forced
    same_transcript(R.run(wf, "go", { models = models, forced = { a = { { tokens = prefix, continue = true } } } }), par)
    -- the user edits the turn: text, scored under a's model
    local t = R.branch(wf, "go", p, ia, "a dog", { models = models })
    check.eq(t.transcript[ia].text, "a dog")
    check.same_list(t.transcript[ia].tokens, m:tokenize("a dog", { context = true }))
    check.eq(t.transcript[ia].forced_tokens, #t.transcript[ia].tokens)
    check.ok(t.answer:find("^a dog | "), t.answer)
  end
end)

test("forced model turns: the call grammar, the vocabulary and the token budget", function()
  local m = lab.model.open(MODEL)
  local ADD = { type = "object", required = { "a", "b" },
                properties = { a = { type = "integer" }, b = { type = "integer" } } }
  local spec = { main = { name = "boss", manages = { "calc" }, script = function(ctx)
                   if ctx.last.role == "user" then return { call = "delegate_to_calc", args = { message = "add 2 and 3" } } end
                   return ctx.last.content end },
                 agents = { { name = "calc", model = MODEL, calls = "required", max_tokens = 40,
                              tools = { { name = "add", parameters = ADD, fn = function(a) return a.a + a.b end } } } },
                 budget = { turns = 4 } }
  local wf = check.ok(F.validate(spec))
  local models = { [MODEL] = m }
  -- a prefix the grammar allows: the member's sampler completes the call under it
  local r = R.run(wf, "go", { models = models, forced = { calc = { { text = '{"call": "add", "args": {"a": 7, "b": ', continue = true } } } })
  local e = r.transcript[4]
  check.eq(e.forced, "prefix")
  check.ok(e.grammar, "the grammar applied")
  check.ok(e.text:find('^{"call": "add", "args": {"a": 7, "b": '), e.text)
  check.eq(#e.calls, 1)
  check.eq(e.calls[1].args.a, 7)
  -- one it refuses: the run does not start generating it
  r = R.run(wf, "go", { models = models, forced = { calc = { { text = "Hello", continue = true } } } })
  check.eq(r.status, "error")
  check.ok(r.reason:find("^forced: turn 1 of 'calc': token 1 %(%d+, \"[^\"]*\"%) is not allowed by the member's call grammar there"), r.reason)
  -- a whole forced turn is what the user wrote, grammar or not; its calls are answered as any
  r = R.run(wf, "go", { models = models, forced = { calc = { "no call today" } } })
  check.eq(r.transcript[4].text, "no call today")
  check.eq(r.transcript[4].grammar, nil)
  check.eq(r.answer, "no call today")
  r = R.run(wf, "go", { models = models, forced = { calc = { '{"call": "add", "args": {"a": 1, "b": 1}}' } } })
  check.eq(r.transcript[5].text, "2", "the forced call ran")
  -- token ids outside the vocabulary, and a forced turn beyond the token budget
  r = R.run(wf, "go", { models = models, forced = { calc = { { tokens = { 5, 100000 } } } } })
  check.eq(r.reason, "forced: turn 1 of 'calc': tokens[2] = 100000 is outside the vocabulary [0, 512)")
  r = R.run(wf, "go", { models = models, budget = { tokens = 3 }, forced = { calc = { { tokens = { 5, 6, 7, 8 } } } } })
  check.eq(r.status, "budget")
  check.eq(r.reason, "token budget of 3 exceeded (forced turn 1 of 'calc' has 4 tokens)")
end)
