-- agentrun: the runtime of a workflow (plugins/lib/workflow.lua checks it).
-- Message passing between members, with a transcript of every message
-- (sender, its role, receiver, text, and for a model's turn its tokens and
-- per-token log-probabilities); delegation and tool calls in the call
-- format of docs/agents.md; budgets of turns, tokens, wall time and
-- delegation depth that end the run with a reason, the transcript kept.
local F = assert(lab.require("workflow"))
local R = {}
local fmt, concat = string.format, table.concat

-- a budget stop travels as this table through pcall
local Stop = {}
Stop.__index = Stop
local function stop(reason) error(setmetatable({ reason = reason }, Stop), 0) end

-- appends e to st's transcript; merged = true for a branch's entry merged
-- into its parent's (on_progress saw it when it was made)
local function add(st, e, merged)
  e.i = #st.transcript + 1
  st.transcript[e.i] = e
  if st.on_progress and not merged then st.on_progress(e) end
  if st.on_message then st.on_message(e) end
  return e
end

local function check_budget(st)
  local b = st.budget
  -- turns under way count, as tokens promised do: with parallel turns the
  -- turn and token budgets stay hard caps
  if st.c.turns + st.c.active >= b.turns then stop(fmt("turn budget of %d exceeded", b.turns)) end
  -- tokens promised to turns still generating count: the budget is a hard
  -- cap also when turns run in parallel
  if st.c.tokens + st.c.reserved >= b.tokens then stop(fmt("token budget of %d exceeded", b.tokens)) end
  if lab.now() - st.t0 > b.seconds then stop(fmt("time budget of %g s exceeded", b.seconds)) end
end

-- ---- effects: engine work, tools and scripts ----
-- The runtime is written in direct style; what must run in the calling
-- task (generation, a tool, a scripted member) goes through perform. In a
-- branch of parallel delegations (st.inco) it is a request yielded to the
-- driver (drive, below), which serves the generation requests of all its
-- branches together in one lab.generate_batch.

-- the results of generation requests {seq=, sampler=, max_tokens=, stop=}
-- (and stop_at_eos=, on_token=fn(tok, logits, step): a forced turn's)
local function generate_all(reqs)
  if #reqs == 1 then
    local q = reqs[1]
    return { lab.generate(q.seq, { sampler = q.sampler, max_tokens = q.max_tokens, stop = q.stop,
                                   stop_at_eos = q.stop_at_eos, on_token = q.on_token }) }
  end
  local list, any = {}, false
  for i, q in ipairs(reqs) do
    list[i] = { seq = q.seq, sampler = q.sampler, max_tokens = q.max_tokens, stop = q.stop, stop_at_eos = q.stop_at_eos }
    any = any or q.on_token ~= nil
  end
  local on_token = any and function(i, tok, logits, step)
    local f = reqs[i].on_token
    if f then return f(tok, logits, step) end
  end or nil
  return lab.generate_batch(list, { on_token = on_token })
end

-- req is {batch = {generation requests}} (-> their results) or {fn =
-- function} (-> what it returns, or its error raised again here, in the
-- branch)
local function perform(st, req)
  if st.inco then
    local r = coroutine.yield(req)
    if req.fn then
      if not r.ok then error(r.v, 0) end
      return r.v
    end
    return r
  end
  if req.batch then return generate_all(req.batch) end
  return req.fn()
end

-- A member's sampler without a seed gets one derived from the run seed,
-- its name and the number of its turn, so a run is reproducible and its
-- streams do not depend on the order in which members' turns are made.
local function turn_seed(name, k)
  local h = lab.seed() & 0xffffffff
  for i = 1, #name do h = (h * 31 + name:byte(i)) & 0xffffffff end
  return (h * 1000003 + k) & 0x7fffffff
end

-- ---- the plain chat format (models without a chat template) ----
-- "### System:\n...\n\n### User:\n...\n\n### Assistant:\n...\n\n" and so on,
-- ending with "### Assistant:\n"; a tool result is a user message that
-- begins "[result of NAME]". Generation stops at "\n###".
function R.plain_format(messages)
  local out = {}
  for _, msg in ipairs(messages) do
    local head = msg.role == "system" and "System" or msg.role == "assistant" and "Assistant" or "User"
    out[#out + 1] = fmt("### %s:\n%s\n\n", head, msg.content)
  end
  out[#out + 1] = "### Assistant:\n"
  return concat(out)
end

local function system_text(wf, m)
  local calls = F.callables(wf, m)
  if #calls == 0 then return m.system end
  local lines = { m.system, "", "To call, write one line per call: {\"call\": NAME, \"args\": {...}}. Calls:" }
  for _, c in ipairs(calls) do
    lines[#lines + 1] = fmt("- %s %s %s", c.name, lab.json.encode(c.parameters), c.description or "")
  end
  return concat(lines, "\n")
end

local function chat_messages(wf, m, hist)
  local msgs = { { role = "system", content = system_text(wf, m) } }
  for _, h in ipairs(hist) do
    if h.role == "tool" then
      msgs[#msgs + 1] = { role = "user", content = fmt("[result of %s]\n%s", h.name, h.content) }
    else
      msgs[#msgs + 1] = { role = h.role, content = h.content }
    end
  end
  return msgs
end

local function open_model(st, m)
  if type(m.model) == "userdata" then return m.model end
  local mod = st.models[m.model]
  if not mod then
    local err
    mod, err = lab.model.open(m.model)
    if not mod then stop(fmt("%s '%s': cannot open model '%s': %s", m.role, m.name, m.model, tostring(err))) end
    st.models[m.model] = mod
  end
  return mod
end

-- ---- forced turns (branching a run) ----
-- opts.forced = {[member] = {[k] = value}} replaces the k-th turn of a
-- member: value is text, or {text = | tokens = , continue = bool}. Without
-- continue the turn is exactly that (a model's tokens are scored: the
-- log-probs under the member's model after its prompt); with continue
-- (model members) they are the turn's first tokens and the member's sampler
-- (and call grammar) goes on from there. Everything before that turn is
-- made as in any run (greedy, or seeded per member and turn), so it
-- replays; everything after it is new.

local function forced_error(name, k, msg) error(fmt("forced: turn %s of '%s': %s", tostring(k), name, msg), 0) end

-- the checked copy of opts.forced: {[name] = {[k] = {text=, tokens=, continue=}}}
local function check_forced(wf, forced)
  if forced == nil then return nil end
  if type(forced) ~= "table" then error("forced: a table {[member] = {[turn] = text or {text=|tokens=, continue=}}} expected, got " .. type(forced), 0) end
  local out = {}
  for name, turns in pairs(forced) do
    local m = type(name) == "string" and wf.members[name]
    if not m then
      local names = {}
      for _, x in ipairs(wf.order) do names[#names + 1] = x.name end
      error(fmt("forced: unknown member '%s' (members: %s)", tostring(name), concat(names, ", ")), 0)
    end
    if type(turns) ~= "table" then forced_error(name, "?", "a table {[turn] = value} expected, got " .. type(turns)) end
    out[name] = {}
    for k, v in pairs(turns) do
      if math.type(k) ~= "integer" or k < 1 then forced_error(name, k, "turns are numbered 1, 2, ...") end
      if type(v) == "string" then v = { text = v } end
      if type(v) ~= "table" then forced_error(name, k, "text or {text=|tokens=, continue=} expected, got " .. type(v)) end
      for key in pairs(v) do
        if key ~= "text" and key ~= "tokens" and key ~= "continue" then forced_error(name, k, fmt("unknown field '%s' (text, tokens, continue)", tostring(key))) end
      end
      if (v.text == nil) == (v.tokens == nil) then forced_error(name, k, "give text or tokens (one of them)") end
      if v.text ~= nil and type(v.text) ~= "string" then forced_error(name, k, "text must be a string") end
      if v.tokens ~= nil then
        if type(v.tokens) ~= "table" then forced_error(name, k, "tokens must be a list of token ids") end
        for j, t in ipairs(v.tokens) do
          if math.type(t) ~= "integer" or t < 0 then forced_error(name, k, fmt("tokens[%d] is not a token id", j)) end
        end
      end
      if m.script and (v.tokens or v.continue) then
        forced_error(name, k, "a scripted member's turn is text: tokens and continue are for model members")
      end
      out[name][k] = { text = v.text, tokens = v.tokens, continue = v.continue and true or nil }
    end
  end
  return out
end

-- the forced value of member m's k-th turn, or nil; marks it used
local function forced_turn(st, m, k)
  local f = st.forced and st.forced[m.name] and st.forced[m.name][k]
  if f then st.forced_used[m.name .. "#" .. k] = true end
  return f
end

-- the token ids of a forced model turn, checked against the model; with
-- continue and a grammar, checked against it from the turn's start
local function forced_ids(mod, m, k, f, grammar)
  local ids = f.tokens
  if f.text then
    local err
    ids, err = mod:tokenize(f.text, { context = true })
    if not ids then forced_error(m.name, k, "text: " .. tostring(err)) end
  end
  local nv = mod:info().n_vocab
  for j, t in ipairs(ids) do
    if t >= nv then forced_error(m.name, k, fmt("tokens[%d] = %d is outside the vocabulary [0, %d)", j, t, nv)) end
  end
  if grammar then
    local chk = mod:seq():constrain(grammar)
    for j, t in ipairs(ids) do
      if not chk:allowed(t) then
        chk:close()
        forced_error(m.name, k, fmt("token %d (%d, %q) is not allowed by the member's call grammar there", j, t,
          mod:piece(t, false)))
      end
      chk:append(t)
    end
    chk:close()
  end
  return ids
end

-- one model turn, the member's k-th: {text=, tokens=, logprobs=, format=}
local function model_turn(st, m, hist, k)
  local mod = open_model(st, m)
  local msgs = chat_messages(st.wf, m, hist)
  local text, toks, stopstr, how = lab.chat.format(mod, msgs, { add_generation_prompt = true }), nil, nil, "template"
  if text then
    toks = mod:tokenize(text, { bos = false, special = true })
  else
    how = "plain"
    text = R.plain_format(msgs)
    toks = mod:tokenize(text)
    stopstr = "\n###"
  end
  local left = st.budget.tokens - st.c.tokens - st.c.reserved
  local max = math.min(m.max_tokens, left)
  local sopts = {}
  for key, v in pairs(m.sampler or { temp = 0 }) do sopts[key] = v end
  sopts.grammar = m.grammar
  if sopts.seed == nil then sopts.seed = turn_seed(m.name, k) end
  local f = forced_turn(st, m, k)
  local req = { stop = stopstr }
  local ids
  if f then
    -- the forced tokens are taken whatever the sampler picks (on_token);
    -- a whole forced turn is scored without the member's sampler or grammar
    ids = forced_ids(mod, m, k, f, f.continue and m.grammar)
    if #ids > left then
      stop(fmt("token budget of %d exceeded (forced turn %d of '%s' has %d tokens)", st.budget.tokens, k, m.name, #ids))
    end
    if f.continue then
      max = math.min(math.max(m.max_tokens, #ids), left)
    else
      max, sopts, req.stop, req.stop_at_eos = #ids, { temp = 0, seed = 0 }, nil, false
    end
    req.on_token = function(_, _, step) return ids[step] end
  end
  local seq = mod:seq(toks)
  req.seq, req.sampler, req.max_tokens = seq, lab.sampler(sopts), max
  st.c.reserved = st.c.reserved + max
  local r = perform(st, { batch = { req } })[1]
  st.c.reserved = st.c.reserved - max
  -- under the grammar, a turn that ends before its grammar is complete was
  -- cut by the token limit in the middle of a call
  local gs = m.grammar and (not f or f.continue) and seq:grammar_state()
  local cut = gs and not gs.complete and r.reason == "length"
  seq:close()
  if r.reason == "error" or r.reason == "full" then
    stop(fmt("%s '%s': generation failed: %s", m.role, m.name, tostring(r.err or r.reason)))
  end
  local out = r.text
  if stopstr then
    local at = out:find(stopstr, 1, true)
    if at then out = out:sub(1, at - 1) end
  end
  return { text = out:match("^%s*(.-)%s*$"), tokens = r.tokens, logprobs = r.logprobs, format = how,
           grammar = m.grammar and (not f or f.continue) and true or nil, cut = cut and max or nil, prompt = text,
           prompt_ids = toks, forced = f and (f.continue and "prefix" or "text") or nil,
           forced_tokens = f and #ids or nil }
end

local function script_turn(st, m, hist, from, k)
  local f = forced_turn(st, m, k)
  if f then return { text = f.text, forced = "text" } end
  local msgs = {}
  for i, h in ipairs(hist) do msgs[i] = { role = h.role, content = h.content, name = h.name } end
  local ctx = { name = m.name, role = m.role, system = m.system, messages = msgs,
                input = msgs[#msgs] and msgs[#msgs].content, last = msgs[#msgs], caller = from }
  local r = perform(st, { fn = function() return table.pack(pcall(m.script, ctx)) end })
  local ok, v = r[1], r[2]
  if not ok then
    if getmetatable(v) == Stop then error(v, 0) end
    stop(fmt("scripted %s '%s' failed: %s", m.role, m.name, tostring(v)))
  end
  if v == nil then v = "" end
  if type(v) == "table" then   -- one call {call=, args=} or a list of them
    local calls = v.call and { v } or v
    local lines = {}
    for i, c in ipairs(calls) do lines[i] = F.format_call(c.call, c.args) end
    v = concat(lines, "\n")
  end
  if type(v) ~= "string" then stop(fmt("scripted %s '%s' returned a %s, not text", m.role, m.name, type(v))) end
  return { text = v }
end

local converse

-- A tool runs in a task of its own under lab.task_budget: its tokens, and
-- a time limit (its `seconds`, F.TOOL_SECONDS by default, never past the
-- run's time budget) that stops it wherever it is: in Lua code that never
-- yields (the host's budget hook) or waiting (a timer cancels the task).
local function run_tool(st, m, t, args)
  local e = F.check_value(t.parameters, args, "args")
  if e then return fmt("error: invalid arguments for tool '%s': %s", t.name, e) end
  local t0 = lab.now()
  local left = st.budget.seconds - (t0 - st.t0)
  local limit = math.max(0, math.min(t.seconds or F.TOOL_SECONDS, left))
  local task = lab.spawn(function()
    lab.task_budget{ seconds = limit, tokens = t.tokens }
    return t.fn(args, { member = m.name })
  end)
  local timer = lab.after(limit, function() if not task:done() then task:cancel() end end)
  local ok, res = lab.await(task)
  timer:stop()
  local late = lab.now() - t0 >= limit
  if late or (not ok and tostring(res):find("^task budget exceeded: [^:]* s of wall time")) then
    if limit >= left then stop(fmt("time budget of %g s exceeded (in tool '%s')", st.budget.seconds, t.name)) end
    return fmt("error: tool '%s' exceeded its time limit of %g s and was stopped", t.name, limit)
  end
  if not ok then return fmt("error: tool '%s' failed: %s", t.name, tostring(res)) end
  if t.output then
    local oe = F.check_value(t.output, res, "result")
    if oe then return fmt("error: tool '%s' returned a result outside its output schema: %s", t.name, oe) end
  end
  if type(res) == "string" then return res end
  if res == nil then return "null" end
  local eok, txt = pcall(lab.json.encode, res)
  return eok and txt or fmt("error: tool '%s' returned a value that is not JSON: %s", t.name, tostring(txt))
end

-- the answer to one call of member m at depth d
local function do_call(st, m, c, depth)
  if c.cut then
    return fmt("error: the call was cut off at the token limit of the turn (%d tokens): %s", c.max_tokens, c.cut)
  end
  if c.malformed then return fmt("error: malformed call (not a JSON object with \"call\" and \"args\"): %s", c.malformed) end
  local target = c.name:match("^delegate_to_(.+)$")
  if target then
    local ok = false
    for _, n in ipairs(m.manages) do if n == target then ok = true end end
    if not ok then
      return fmt("error: %s cannot delegate to '%s' (it manages: %s)", m.name, target,
        #m.manages > 0 and concat(m.manages, ", ") or "no one")
    end
    local e = F.check_value({ type = "object", required = { "message" }, properties = { message = { type = "string" } } },
                            c.args, "args")
    if e then return fmt("error: invalid arguments for %s: %s", c.name, e) end
    if depth + 1 > st.budget.depth then
      stop(fmt("delegation depth budget of %d exceeded (%s -> %s)", st.budget.depth, m.name, target))
    end
    return converse(st, target, m.name, c.args.message, depth + 1), target
  end
  local t = m.tools[c.name]
  if not t then
    local names = {}
    for _, x in ipairs(m.tools) do names[#names + 1] = x.name end
    return fmt("error: unknown call '%s' (tools: %s)", c.name, #names > 0 and concat(names, ", ") or "none")
  end
  return perform(st, { fn = function() return run_tool(st, m, t, c.args) end })
end

-- ---- parallel delegations ----

-- drive(st, fns): runs each fns[i]() as a branch (a coroutine) to its end
-- and returns {[i] = {ok=, v=}}. Requests of the branches are served as
-- they come, except generation: once every branch still running waits on
-- one, they all go to the engine together (perform, so nested drivers pass
-- them up to the outermost), one batched step per token.
local function drive(st, fns)
  local n, cos, out, input, waiting, left = #fns, {}, {}, {}, {}, #fns
  for i, fn in ipairs(fns) do cos[i] = coroutine.create(fn) end
  while left > 0 do
    for i = 1, n do
      while cos[i] and not waiting[i] do
        local ok, req = coroutine.resume(cos[i], input[i])
        input[i] = nil
        if not ok then
          out[i], cos[i], left = { ok = false, v = req }, nil, left - 1
        elseif coroutine.status(cos[i]) == "dead" then
          out[i], cos[i], left = { ok = true, v = req }, nil, left - 1
        elseif req.batch then
          waiting[i] = req.batch
        else
          local ok, v = pcall(perform, st, req)
          input[i] = { ok = ok, v = v }
        end
      end
    end
    local all, from = {}, {}
    for i = 1, n do
      for k, q in ipairs(waiting[i] or {}) do
        all[#all + 1] = q
        from[#all] = { i, k }
      end
    end
    if #all > 0 then
      local res = perform(st, { batch = all })
      for j, r in ipairs(res) do
        local i, k = from[j][1], from[j][2]
        input[i] = input[i] or {}
        input[i][k] = r
      end
      for i = 1, n do waiting[i] = nil end
    end
  end
  return out
end

-- the members that `name` reaches by delegation, itself included
local function reach(wf, name, set)
  set = set or {}
  if not set[name] then
    set[name] = true
    for _, n in ipairs(wf.members[name].manages) do reach(wf, n, set) end
  end
  return set
end

-- calls[k] is a delegation that may run beside others: well formed, to a
-- member m manages, within the depth budget
local function parallel_target(st, m, c, depth)
  if c.cut or c.malformed or depth + 1 > st.budget.depth then return nil end
  local t = c.name:match("^delegate_to_(.+)$")
  if not t or type(c.args) ~= "table" or type(c.args.message) ~= "string" then return nil end
  for _, n in ipairs(m.manages) do if n == t then return t end end
  return nil
end

-- The calls calls[k..] that run together: the longest run of delegations
-- from k whose members reach disjoint sets of members (so no member, and no
-- history, is shared between them). Returns the list of targets (fewer than
-- two: none run in parallel).
local function parallel_group(st, m, calls, k, depth)
  local targets, used = {}, {}
  for j = k, #calls do
    local t = parallel_target(st, m, calls[j], depth)
    if not t then break end
    local r = reach(st.wf, t)
    local clash = false
    for x in pairs(r) do if used[x] then clash = true end end
    if clash then break end
    for x in pairs(r) do used[x] = true end
    targets[#targets + 1] = t
  end
  return targets
end

-- Runs the delegations calls[k .. k+#targets-1] as branches; each writes
-- its own transcript, merged into st's in call order afterwards, so the
-- transcript is the one of running them one after another. Returns the
-- answers, or raises the first branch's error (in call order) after the
-- merge.
local function run_parallel(st, m, calls, k, targets, depth)
  local fns, branches = {}, {}
  for j, t in ipairs(targets) do
    -- a branch shares the counters, histories and models; its transcript is its own
    local b = setmetatable({ transcript = {}, on_message = false, inco = true }, { __index = st })
    branches[j] = b
    fns[j] = function() return converse(b, t, m.name, calls[k + j - 1].args.message, depth + 1) end
  end
  local out = drive(st, fns)
  local answers, err = {}, nil
  for j, b in ipairs(branches) do
    for _, e in ipairs(b.transcript) do add(st, e, true) end
    if out[j].ok then answers[j] = out[j].v
    elseif err == nil then err = out[j].v end
  end
  if err ~= nil then error(err, 0) end
  return answers
end

-- member `name` receives `text` from `from`; returns its answer
converse = function(st, name, from, text, depth)
  local m = st.wf.members[name]
  local hist = (m.history and st.hist[name]) or {}
  st.hist[name] = hist
  hist[#hist + 1] = { role = "user", content = text, from = from }
  local fm = st.wf.members[from]
  add(st, { sender = from, sender_role = fm and F.ROLES[fm.role] or "user", receiver = name, text = text,
            depth = depth })
  while true do
    check_budget(st)
    st.c.active = st.c.active + 1
    -- the member's turns are numbered 1, 2, ... (forced turns, seeds)
    local k = (st.c.member_turns[name] or 0) + 1
    st.c.member_turns[name] = k
    local ok, turn = pcall(function()
      if m.script then return script_turn(st, m, hist, from, k) end
      return model_turn(st, m, hist, k)
    end)
    st.c.active = st.c.active - 1
    if not ok then error(turn, 0) end
    st.c.turns = st.c.turns + 1
    st.c.tokens = st.c.tokens + (turn.tokens and #turn.tokens or 0)
    local calls
    if turn.cut then
      -- the unfinished last line is no call; the caller is told why
      local done, last = turn.text:match("^(.*)\n([^\n]*)$")
      calls = F.parse_calls(done or "")
      calls[#calls + 1] = { name = "?", cut = last or turn.text, max_tokens = turn.cut }
    else
      calls = F.parse_calls(turn.text)
    end
    -- a turn that calls is addressed to the callee (the first, if several)
    local to = from
    if calls[1] and not calls[1].cut then to = calls[1].name:match("^delegate_to_(.+)$") or calls[1].name end
    local parsed
    for i, c in ipairs(calls) do
      parsed = parsed or {}
      parsed[i] = { name = c.name, args = c.args, malformed = c.malformed and true or nil, cut = c.cut and true or nil }
    end
    add(st, { sender = name, sender_role = F.ROLES[m.role], receiver = to, text = turn.text,
              tokens = turn.tokens, logprobs = turn.logprobs, format = turn.format, depth = depth,
              grammar = turn.grammar, cut = turn.cut and true or nil, calls = parsed, prompt = turn.prompt,
              prompt_ids = turn.prompt_ids, turn = k, forced = turn.forced, forced_tokens = turn.forced_tokens })
    hist[#hist + 1] = { role = "assistant", content = turn.text }
    if #calls == 0 then return turn.text end
    local k = 1
    while k <= #calls do
      local group = st.parallel and parallel_group(st, m, calls, k, depth) or {}
      if #group >= 2 then
        for j, res in ipairs(run_parallel(st, m, calls, k, group, depth)) do
          hist[#hist + 1] = { role = "tool", name = calls[k + j - 1].name, content = res }
        end
        k = k + #group
      else
        local c = calls[k]
        local res, delegate = do_call(st, m, c, depth)
        hist[#hist + 1] = { role = "tool", name = c.name, content = res }
        -- a delegate's answer is already in the transcript (its turn); tool
        -- results and the runtime's error answers are messages of role "tool"
        if not delegate then
          add(st, { sender = c.name, sender_role = "tool", receiver = name, text = res, depth = depth })
        end
        k = k + 1
      end
    end
  end
end

-- R.run(wf, task [, {budget=, on_message=fn(entry), on_progress=fn(entry),
-- models=, parallel=, forced=}]):
-- runs a checked workflow on a task from the user. Delegations of one turn
-- to independent members run together unless parallel = false; forced
-- turns (see check_forced) replace what members would say. Returns
-- {status = "ok" | "budget" | "error", reason=, answer=, transcript=,
-- turns=, tokens=, seconds=, forced_unused=} (forced_unused: the forced
-- turns the run never reached, "name#k", or nil). A malformed `forced`
-- raises.
function R.run(wf, task, opts)
  opts = opts or {}
  local forced = check_forced(wf, opts.forced)
  local b = {}
  for k, v in pairs(wf.budget) do b[k] = (opts.budget and opts.budget[k]) or v end
  local st = { wf = wf, budget = b, transcript = {}, c = { turns = 0, tokens = 0, reserved = 0, active = 0, member_turns = {} },
               t0 = lab.now(), hist = {}, models = opts.models or {}, on_message = opts.on_message,
               on_progress = opts.on_progress, forced = forced, forced_used = {},
               parallel = opts.parallel ~= false }
  local ok, v = pcall(converse, st, wf.main, "user", task, 0)
  local out = { transcript = st.transcript, turns = st.c.turns, tokens = st.c.tokens, seconds = lab.now() - st.t0 }
  if ok then
    out.status, out.answer, out.reason = "ok", v, "answered"
  elseif getmetatable(v) == Stop then
    out.status, out.reason = (v.reason:find("budget") and "budget" or "error"), v.reason
  else
    out.status, out.reason = "error", tostring(v)
  end
  for name, turns in pairs(forced or {}) do
    for k in pairs(turns) do
      if not st.forced_used[name .. "#" .. k] then
        out.forced_unused = out.forced_unused or {}
        out.forced_unused[#out.forced_unused + 1] = name .. "#" .. k
      end
    end
  end
  if out.forced_unused then table.sort(out.forced_unused) end
  return out
end

-- R.record_of(e): what a workspace keeps of a transcript entry (the
-- "message" record of plugins/agents.lua and :agents): all but the prompt
function R.record_of(e)
  return { i = e.i, sender = e.sender, sender_role = e.sender_role, receiver = e.receiver, text = e.text,
           depth = e.depth, tokens = e.tokens, logprobs = e.logprobs, format = e.format, grammar = e.grammar,
           cut = e.cut, calls = e.calls, turn = e.turn, forced = e.forced, forced_tokens = e.forced_tokens }
end

-- R.load_run(id): a run of plugins/agents.lua (or :agents) read back from
-- the workspace: {id=, params=, transcript=, result=}, or nil, err
function R.load_run(id)
  local rows, err = lab.store.query("SELECT plugin, params FROM runs WHERE id = ?", { id })
  if not rows then return nil, tostring(err) end
  if not rows[1] then return nil, fmt("no run %s in the workspace", tostring(id)) end
  if rows[1].plugin ~= "agents" then
    return nil, fmt("run %s is a run of '%s', not of plugins/agents.lua", tostring(id), tostring(rows[1].plugin))
  end
  local ok, params = pcall(lab.json.decode, rows[1].params or "{}")
  if not ok or type(params) ~= "table" then return nil, fmt("run %s: its parameters are not a JSON object", tostring(id)) end
  local msgs
  msgs, err = lab.store.query("SELECT data FROM records WHERE run_id = ? AND kind = 'message' ORDER BY id", { id })
  if not msgs then return nil, tostring(err) end
  if #msgs == 0 then return nil, fmt("run %s has no messages", tostring(id)) end
  local tr = {}
  for i, r in ipairs(msgs) do
    local e = lab.json.decode(r.data)
    for k, v in pairs(e) do if v == lab.json.null then e[k] = nil end end
    tr[i] = e
  end
  local res = lab.store.query("SELECT data FROM records WHERE run_id = ? AND kind = 'agents_result'", { id })
  return { id = id, params = params, transcript = tr, result = res and res[1] and lab.json.decode(res[1].data) }
end

-- ---- branching a run ----

-- R.turn_of(transcript, i) -> member, k: message i of a transcript is the
-- k-th turn of that member (its `turn`); nil, why when it is no member's
-- turn (the user's task, a tool's answer, the message a delegation sends).
function R.turn_of(transcript, i)
  local e = transcript[i]
  if type(e) ~= "table" then return nil, fmt("no message %s (the transcript has %d)", tostring(i), #transcript) end
  if e.sender_role == "user" or e.sender_role == "tool" then
    return nil, fmt("message %d is the %s's (%s -> %s), not a member's turn", i, e.sender_role, e.sender, e.receiver)
  end
  if e.turn then return e.sender, e.turn end
  return nil, fmt("message %d is the message %s sent to %s with its call, not a turn (or the transcript was recorded "
    .. "before turns were numbered)", i, e.sender, e.receiver)
end

local function same_entry(a, b)
  if a.sender ~= b.sender or a.receiver ~= b.receiver or a.text ~= b.text or (a.depth or 0) ~= (b.depth or 0) then
    return false
  end
  if (a.tokens == nil) ~= (b.tokens == nil) then return false end
  if a.tokens then
    if #a.tokens ~= #b.tokens then return false end
    for j = 1, #a.tokens do if a.tokens[j] ~= b.tokens[j] then return false end end
  end
  return true
end

-- R.diverge(a, b): the first message where transcripts a and b differ
-- (sender, receiver, depth, text or tokens), or nil when they are the same
function R.diverge(a, b)
  for i = 1, math.max(#a, #b) do
    if not a[i] or not b[i] or not same_entry(a[i], b[i]) then return i end
  end
  return nil
end

-- R.branch(wf, task, parent, i, value [, opts]): runs the workflow again
-- with message i of `parent` (a transcript, or R.run's result) forced to
-- value (text, or {text=|tokens=, continue=}, as opts.forced): the turns
-- before it replay, the rest is made anew. Returns R.run's result with
-- branch = {message = i, member =, turn =} and diverge = the first message
-- where it differs from the parent (nil: the same). Raises when message i
-- is no member's turn.
function R.branch(wf, task, parent, i, value, opts)
  local pt = parent.transcript or parent
  local name, k = R.turn_of(pt, i)
  if not name then error("branch: " .. k, 0) end
  local o = {}
  for key, v in pairs(opts or {}) do o[key] = v end
  o.forced = { [name] = { [k] = value } }
  local r = R.run(wf, task, o)
  r.branch = { message = i, member = name, turn = k }
  r.diverge = R.diverge(pt, r.transcript)
  return r
end

R.Stop = Stop
return R
