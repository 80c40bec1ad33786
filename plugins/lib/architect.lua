-- architect: drafting, evaluating and refining multi-agent workflows (issue
-- 19, "The architect"; the loop of Sami et al., 2025, "Adaptive Multi-Agent
-- Reasoning via Automated Workflow Generation"). An architect drafts a
-- workflow from a task description, a list of tools and examples; it is
-- evaluated on a seeded subset of the examples by a judge; an analyst reads
-- the failures with their transcripts and writes per member an issue, its
-- evidence and an action on a guideline; a prompt engineer applies those to
-- the system messages; a worse version is rolled back to the best so far.
-- Each role is a Lua function; A.model_architect / model_analyst /
-- model_engineer / judge_model make model roles whose answers are generated
-- under a grammar of their JSON schema (lab.grammar.json_schema), so they are
-- always well-formed data. docs/agents.md, "The architect", has it all.
local F = assert(lab.require("workflow"))
local R = assert(lab.require("agentrun"))
local MR = assert(lab.require("archroles"))
local A = {}
for k, v in pairs(MR) do A[k] = v end
local fmt, concat = string.format, table.concat

A.DEFAULTS = { iterations = 5, target = 0.95, subset = 8, seed = 1, draft_tries = 3,
               system_chars = 240, transcript_chars = 600, role_tokens = 400 }

local function trim(s) return (tostring(s):match("^%s*(.-)%s*$")) end

local copy = MR.copy

-- ---- examples -----------------------------------------------------------

local EXAMPLE_FIELDS = { question = true, answer = true, task = true, seed = true, difficulty = true, id = true }

-- A.parse_examples(text [, where]) -> list | nil, err. One JSON object per
-- line: {"question": TEXT, "answer": TEXT or number}, or a puzzle of the
-- task library {"task": NAME, "seed": N [, "difficulty": D]} (its question,
-- its worked solution as the answer, and the task's checker kept for the
-- "task" judge). Blank lines are skipped; errors name the line.
function A.parse_examples(text, where)
  where = where or "examples"
  if type(text) ~= "string" then return nil, where .. ": not text" end
  local out, ln = {}, 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    ln = ln + 1
    if line:match("%S") then
      local at = fmt("%s line %d", where, ln)
      local ok, v, err = pcall(lab.json.decode, line)
      if not ok or v == nil then return nil, fmt("%s: not valid JSON: %s", at, tostring(ok and err or v)) end
      if type(v) ~= "table" or (next(v) ~= nil and #v > 0) then return nil, at .. ": must be a JSON object" end
      for k in pairs(v) do
        if not EXAMPLE_FIELDS[k] then
          return nil, fmt("%s: unknown field '%s' (question, answer, task, seed, difficulty, id)", at, tostring(k))
        end
      end
      local ex = { line = ln, id = v.id }
      if v.task ~= nil then
        local tasks = assert(lab.require("tasks"))
        local T, terr = tasks.get(v.task)
        if not T then return nil, fmt("%s: %s", at, terr) end
        if math.type(v.seed) ~= "integer" and not (type(v.seed) == "number" and v.seed == math.floor(v.seed)) then
          return nil, at .. ": a task example needs an integer 'seed'"
        end
        local d = v.difficulty or 1
        if type(d) ~= "number" or d < 1 or d > T.max_difficulty or d ~= math.floor(d) then
          return nil, fmt("%s: 'difficulty' of %s is an integer from 1 to %d", at, v.task, T.max_difficulty)
        end
        local inst = T.generate(math.tointeger(v.seed), math.tointeger(d))
        ex.question = v.question or (T.rules .. "\n" .. inst.question)
        ex.answer = v.answer ~= nil and tostring(v.answer) or inst.solution
        ex.task, ex.T, ex.inst = v.task, T, inst
      else
        if type(v.question) ~= "string" or v.question == "" then
          return nil, at .. ": needs a 'question' (a non-empty string)"
        end
        if type(v.answer) ~= "string" and type(v.answer) ~= "number" then
          return nil, at .. ": needs an 'answer' (a string or a number)"
        end
        ex.question, ex.answer = v.question, tostring(v.answer)
      end
      out[#out + 1] = ex
    end
  end
  if #out == 0 then return nil, where .. ": no examples" end
  return out
end

-- A.subset(n, k, seed) -> k distinct indices of 1..n in ascending order, the
-- same for the same seed on every machine (a partial Fisher-Yates shuffle
-- driven by the Park-Miller minimal standard generator, x = 16807 x mod
-- 2^31-1; Park & Miller, CACM 1988).
function A.subset(n, k, seed)
  k = math.min(k, n)
  local x = (math.tointeger(seed) or 1) % 2147483647
  if x <= 0 then x = x + 2147483646 end
  local idx = {}
  for i = 1, n do idx[i] = i end
  for i = 1, k do
    x = (16807 * x) % 2147483647
    local j = i + x % (n - i + 1)
    idx[i], idx[j] = idx[j], idx[i]
  end
  local out = {}
  for i = 1, k do out[i] = idx[i] end
  table.sort(out)
  return out
end

-- ---- tools the architect may give its agents ------------------------------

local NUM2 = { type = "object", required = { "a", "b" }, properties = { a = { type = "number" }, b = { type = "number" } } }
local TEXT = { type = "object", required = { "text" }, properties = { text = { type = "string" } } }
A.BUILTIN_TOOLS = {
  { name = "add", description = "a + b", parameters = NUM2, fn = function(x) return x.a + x.b end },
  { name = "subtract", description = "a - b", parameters = NUM2, fn = function(x) return x.a - x.b end },
  { name = "multiply", description = "a * b", parameters = NUM2, fn = function(x) return x.a * x.b end },
  { name = "upper", description = "the text in capitals", parameters = TEXT, fn = function(x) return (x.text:upper()) end },
  { name = "word_count", description = "the number of words of the text", parameters = TEXT,
    fn = function(x) local n = 0 for _ in x.text:gmatch("%S+") do n = n + 1 end return n end },
}

-- A.tools(list) -> {name = tool, [i] = tool} | nil, err: checks a tool list
-- ({name=, description=, parameters=, fn=} each).
function A.tools(list)
  if type(list) ~= "table" then return nil, "tools: must be a list" end
  local out = {}
  for i, t in ipairs(list) do
    if type(t) ~= "table" or type(t.name) ~= "string" or not t.name:match("^[%a_][%w_]*$") then
      return nil, fmt("tools[%d]: needs a 'name' (an identifier)", i)
    end
    if type(t.fn) ~= "function" then return nil, fmt("tool '%s': 'fn' must be a function", t.name) end
    local p = t.parameters or { type = "object", properties = {} }
    local e = F.check_schema(p, "parameters")
    if e then return nil, fmt("tool '%s': malformed schema: %s", t.name, e) end
    if out[t.name] then return nil, fmt("tool '%s' is given twice", t.name) end
    local x = { name = t.name, description = t.description or "", parameters = p, output = t.output, fn = t.fn }
    out[t.name] = x
    out[#out + 1] = x
  end
  return out
end

-- ---- drafts ---------------------------------------------------------------


local DRAFT_MEMBER = { name = true, system = true, manages = true, tools = true, script = true, model = true,
                       sampler = true, max_tokens = true, history = true, description = true }

-- A.normalize(draft, tools) -> draft, repairs | nil, err. Checks a draft's
-- shape and repairs what a grammar cannot rule out, each repair listed:
-- a duplicate name gets a suffix (_2, ...); a supervisor's managed names
-- that are unknown (or, for an assistant, not agents) are dropped; a main
-- supervisor managing no one manages every agent; an agent no one manages
-- is managed by the main supervisor; a tool listed twice is kept once.
-- Tools are names from `tools`.
function A.normalize(draft, tools)
  if type(draft) ~= "table" then return nil, "the draft is not an object" end
  for k in pairs(draft) do
    if k ~= "main" and k ~= "assistants" and k ~= "agents" then
      return nil, fmt("the draft has an unknown field '%s' (main, assistants, agents)", tostring(k))
    end
  end
  if type(draft.main) ~= "table" then return nil, "the draft has no main supervisor ('main')" end
  if type(draft.agents) ~= "table" or #draft.agents == 0 then return nil, "the draft has no agents" end
  if draft.assistants ~= nil and type(draft.assistants) ~= "table" then return nil, "'assistants' must be a list" end
  local d = { main = copy(draft.main), assistants = copy(draft.assistants or {}), agents = copy(draft.agents) }
  local repairs, seen = {}, {}
  local all = { d.main }
  for _, m in ipairs(d.assistants) do all[#all + 1] = m end
  for _, m in ipairs(d.agents) do all[#all + 1] = m end
  for i, m in ipairs(all) do
    if type(m) ~= "table" then return nil, fmt("member %d of the draft is not an object", i) end
    for k in pairs(m) do
      if not DRAFT_MEMBER[k] then return nil, fmt("member %d of the draft has an unknown field '%s'", i, tostring(k)) end
    end
    if type(m.name) ~= "string" or not m.name:match("^[%a_][%w_]*$") then
      return nil, fmt("member %d of the draft: the name %s is not an identifier", i, lab.inspect(m.name))
    end
    if m.system ~= nil and type(m.system) ~= "string" then return nil, fmt("member '%s': 'system' must be text", m.name) end
    m.system = m.system or ""
    if seen[m.name] then
      local n, new = 2, nil
      repeat new = fmt("%s_%d", m.name, n); n = n + 1 until not seen[new]
      repairs[#repairs + 1] = fmt("a second member named '%s' is renamed '%s'", m.name, new)
      m.name = new
    end
    seen[m.name] = true
  end
  local agents = {}
  for _, m in ipairs(d.agents) do agents[m.name] = true end
  local managed = {}
  local function fix_manages(m, allowed, who)
    local keep = {}
    if m.manages ~= nil and type(m.manages) ~= "table" then return fmt("%s '%s': 'manages' must be a list", who, m.name) end
    for _, n in ipairs(m.manages or {}) do
      if allowed[n] and n ~= m.name and not managed[m.name .. ">" .. n] then
        keep[#keep + 1] = n
        managed[m.name .. ">" .. n] = true
        managed[n] = true
      else
        repairs[#repairs + 1] = fmt("%s '%s' may not manage '%s': dropped", who, m.name, tostring(n))
      end
    end
    m.manages = keep
  end
  for _, m in ipairs(d.assistants) do
    local e = fix_manages(m, agents, "assistant supervisor")
    if e then return nil, e end
  end
  local top = {}
  for _, m in ipairs(d.assistants) do top[m.name] = true end
  for n in pairs(agents) do top[n] = true end
  local e = fix_manages(d.main, top, "main supervisor")
  if e then return nil, e end
  for _, m in ipairs(d.assistants) do
    if not managed[m.name] then
      d.main.manages[#d.main.manages + 1] = m.name
      managed[m.name] = true
      repairs[#repairs + 1] = fmt("assistant supervisor '%s' was managed by no one: the main supervisor manages it", m.name)
    end
  end
  for _, m in ipairs(d.agents) do
    if not managed[m.name] then
      d.main.manages[#d.main.manages + 1] = m.name
      managed[m.name] = true
      repairs[#repairs + 1] = fmt("agent '%s' was managed by no one: the main supervisor manages it", m.name)
    end
    if m.manages and #m.manages > 0 then return nil, fmt("agent '%s': an agent manages no one", m.name) end
    m.manages = nil
    if m.tools ~= nil and type(m.tools) ~= "table" then return nil, fmt("agent '%s': 'tools' must be a list of names", m.name) end
    local tseen, tkeep = {}, {}
    for _, t in ipairs(m.tools or {}) do
      local tn = type(t) == "table" and t.name or t
      if tseen[tn] then
        repairs[#repairs + 1] = fmt("agent '%s': the tool '%s' is listed twice: once is kept", m.name, tostring(tn))
      else
        tseen[tn] = true
        tkeep[#tkeep + 1] = t
      end
      if not (tools and tools[tn]) then
        return nil, fmt("agent '%s': unknown tool %s (the tools given: %s)", m.name, lab.inspect(tn),
          tools and #tools > 0 and concat((function() local l = {} for i, x in ipairs(tools) do l[i] = x.name end return l end)(), ", ") or "none")
      end
    end
    if m.tools then m.tools = tkeep end
  end
  return d, repairs
end

-- A.spec(draft, tools, opts) -> a workflow spec for F.validate: tools by
-- name become the tool definitions, a member with neither model nor script
-- gets opts.model, scripts given by name are looked up in opts.scripts.
function A.spec(draft, tools, opts)
  opts = opts or {}
  local function mem(m)
    local x = copy(m)
    if x.tools then
      local ts = {}
      for i, t in ipairs(x.tools) do
        local def = tools[type(t) == "table" and t.name or t]
        ts[i] = { name = def.name, description = def.description, parameters = def.parameters, output = def.output, fn = def.fn }
      end
      x.tools = ts
    end
    if x.script == nil and x.model == nil then x.model = opts.model end
    if x.max_tokens == nil and opts.max_tokens then x.max_tokens = opts.max_tokens end
    return x
  end
  local s = { main = mem(draft.main), assistants = {}, agents = {}, budget = opts.budget }
  for i, m in ipairs(draft.assistants or {}) do s.assistants[i] = mem(m) end
  for i, m in ipairs(draft.agents) do s.agents[i] = mem(m) end
  if #s.assistants == 0 then s.assistants = nil end
  return s
end

-- A.workflow_json(draft, tools) -> a table lab.json.encode takes: the
-- workflow as plugins/agents.lua reads it (tools by name with their
-- schemas; a script function by its name in opts.scripts, else "<lua>").
function A.workflow_json(draft, tools, opts)
  opts = opts or {}
  local names = {}
  for k, f in pairs(opts.scripts or {}) do names[f] = k end
  local function mem(m)
    local x = copy(m)
    if type(x.script) == "function" then x.script = names[m.script] or "<lua function>" end
    if type(x.model) == "userdata" then x.model = x.model:info().path end
    if x.script == nil and x.model == nil and opts.model_name then x.model = opts.model_name end
    if x.tools then
      for i, t in ipairs(x.tools) do
        local def = tools[type(t) == "table" and t.name or t]
        x.tools[i] = { name = def.name, description = def.description, parameters = def.parameters }
      end
    end
    if x.manages and #x.manages == 0 then x.manages = nil end
    return x
  end
  local s = { main = mem(draft.main), agents = {} }
  if draft.assistants and #draft.assistants > 0 then
    s.assistants = {}
    for i, m in ipairs(draft.assistants) do s.assistants[i] = mem(m) end
  end
  for i, m in ipairs(draft.agents) do s.agents[i] = mem(m) end
  return s
end

local members = MR.members

-- A.systems(draft) -> {name = system message}
function A.systems(draft)
  local s = {}
  for _, m in ipairs(members(draft)) do s[m.name] = m.system or "" end
  return s
end

-- ---- feedback and edits ----------------------------------------------------

local ACTIONS = { add = true, remove = true, modify = true }
local FB_FIELDS = { agent = true, issue = true, evidence = true, action = true, guideline = true, target = true }

-- A.check_feedback(v, names) -> list | nil, err. `v` is a list of
-- {agent=, issue=, evidence=, action = "add" | "remove" | "modify",
-- guideline=, target=} or {feedback = list}; `names` the members.
function A.check_feedback(v, names)
  if type(v) == "table" and v.feedback ~= nil then v = v.feedback end
  if type(v) ~= "table" then return nil, "the feedback must be a list" end
  local out = {}
  for i, f in ipairs(v) do
    local at = fmt("feedback %d", i)
    if type(f) ~= "table" then return nil, at .. ": must be an object" end
    for k in pairs(f) do
      if not FB_FIELDS[k] then return nil, fmt("%s: unknown field '%s' (agent, issue, evidence, action, guideline, target)", at, tostring(k)) end
    end
    if type(f.agent) ~= "string" or not names[f.agent] then
      return nil, fmt("%s: 'agent' %s is not a member of the workflow", at, lab.inspect(f.agent))
    end
    if not ACTIONS[f.action] then return nil, fmt("%s: 'action' %s is not add, remove or modify", at, lab.inspect(f.action)) end
    for _, k in ipairs({ "issue", "evidence", "guideline", "target" }) do
      if f[k] ~= nil and type(f[k]) ~= "string" then return nil, fmt("%s: '%s' must be text", at, k) end
    end
    if f.action ~= "remove" and trim(f.guideline or "") == "" then return nil, fmt("%s: %s needs a 'guideline'", at, f.action) end
    if f.action ~= "add" and trim(f.target or "") == "" then return nil, fmt("%s: %s needs a 'target' (the guideline it changes)", at, f.action) end
    out[i] = { agent = f.agent, issue = f.issue or "", evidence = f.evidence or "", action = f.action,
               guideline = f.guideline and trim(f.guideline) or nil, target = f.target and trim(f.target) or nil }
  end
  return out
end

local function lines_of(s)
  local out = {}
  if s == "" then return out end
  for l in (s .. "\n"):gmatch("([^\n]*)\n") do out[#out + 1] = l end
  return out
end

local function is_guideline(line, text)
  local l = trim(line):gsub("^[-*]%s*", "")
  return l == text
end

-- A.apply_edits(systems, feedback) -> new systems, notes. The rules a
-- scripted prompt engineer can use: a system message is lines; a guideline
-- is a line "- TEXT". add appends "- GUIDELINE" (unless present); remove
-- deletes the line(s) whose guideline is TARGET; modify replaces them with
-- "- GUIDELINE" (appends it when TARGET is not there). `notes` says what
-- could not be applied as written.
function A.apply_edits(systems, feedback)
  local out, notes = copy(systems), {}
  for _, f in ipairs(feedback) do
    local ls = lines_of(out[f.agent] or "")
    local hit = false
    if f.action == "add" then
      for _, l in ipairs(ls) do hit = hit or is_guideline(l, f.guideline) end
      if hit then notes[#notes + 1] = fmt("%s: '%s' is already a guideline", f.agent, f.guideline)
      else ls[#ls + 1] = "- " .. f.guideline end
    else
      local keep = {}
      for _, l in ipairs(ls) do
        if is_guideline(l, f.target) then
          hit = true
          if f.action == "modify" then keep[#keep + 1] = "- " .. f.guideline end
        else
          keep[#keep + 1] = l
        end
      end
      ls = keep
      if not hit then
        if f.action == "modify" then ls[#ls + 1] = "- " .. f.guideline end
        notes[#notes + 1] = fmt("%s: no guideline '%s' to %s%s", f.agent, f.target, f.action,
          f.action == "modify" and " (the new one is added)" or "")
      end
    end
    out[f.agent] = concat(ls, "\n")
  end
  return out, notes
end

-- A.diff_lines(a, b) -> { {op = " " | "-" | "+", text=}... }: a line diff of
-- two texts (longest common subsequence).
function A.diff_lines(a, b)
  local x, y = lines_of(a or ""), lines_of(b or "")
  local n, m = #x, #y
  local L = {}
  for i = n + 1, 1, -1 do
    L[i] = {}
    for j = m + 1, 1, -1 do
      if i > n or j > m then L[i][j] = 0
      elseif x[i] == y[j] then L[i][j] = L[i + 1][j + 1] + 1
      else L[i][j] = math.max(L[i + 1][j], L[i][j + 1]) end
    end
  end
  local out, i, j = {}, 1, 1
  while i <= n or j <= m do
    if i <= n and j <= m and x[i] == y[j] then out[#out + 1] = { op = " ", text = x[i] }; i, j = i + 1, j + 1
    elseif i <= n and (j > m or L[i + 1][j] >= L[i][j + 1]) then out[#out + 1] = { op = "-", text = x[i] }; i = i + 1
    else out[#out + 1] = { op = "+", text = y[j] }; j = j + 1 end
  end
  return out
end

-- A.diff_systems(a, b, order) -> { {name=, lines = diff}... } for the
-- members whose system message changed (in `order`, a list of names).
function A.diff_systems(a, b, order)
  local out = {}
  for _, n in ipairs(order) do
    if (a[n] or "") ~= (b[n] or "") then out[#out + 1] = { name = n, lines = A.diff_lines(a[n], b[n]) } end
  end
  return out
end

-- ---- judges ----------------------------------------------------------------

local function norm(s)
  s = trim(tostring(s or "")):lower():gsub("%s+", " ")
  return (s:gsub("[%.!]$", ""))
end

A.judges = {}
-- the answer equals the expected one (case, surrounding spaces and a final
-- full stop aside)
function A.judges.exact(ex, answer)
  if answer == nil then return false, "no answer" end
  if norm(answer) == norm(ex.answer) then return true end
  return false, fmt("expected %s", lab.json.encode(ex.answer))
end
-- the expected answer appears in the answer (as above)
function A.judges.contains(ex, answer)
  if answer == nil then return false, "no answer" end
  if norm(answer):find(norm(ex.answer), 1, true) then return true end
  return false, fmt("%s not in the answer", lab.json.encode(ex.answer))
end
-- the task library's checker (examples given as {"task":, "seed":})
function A.judges.task(ex, answer)
  if not ex.T then error("the task judge needs examples of the task library ({\"task\": NAME, \"seed\": N})", 0) end
  if answer == nil then return false, "no answer" end
  local ok, why = ex.T.check(ex.inst, answer)
  return ok and true or false, why
end

-- ---- evaluation --------------------------------------------------------------

-- A.evaluate(draft, ctx, examples, indices [, on_example]) -> {n=, correct=,
-- accuracy=, results = {{index=, question=, expected=, answer=, status=,
-- reason=, ok=, why=, transcript=, turns=, tokens=}...}}
function A.evaluate(draft, ctx, examples, indices, on_example)
  local wf, err = F.validate(A.spec(draft, ctx.tools, ctx), { scripts = ctx.scripts })
  if not wf then error("the workflow is refused: " .. err, 0) end
  local out = { n = #indices, correct = 0, results = {} }
  for k, i in ipairs(indices) do
    local ex = examples[i]
    local on_message = ctx.on_message and function(e) ctx.on_message(e, ctx.iteration, i) end
    local r = R.run(wf, ex.question, { budget = ctx.budget, models = ctx.models, on_message = on_message })
    local answer = r.status == "ok" and r.answer or nil
    local ok, jok, why = pcall(ctx.judge, ex, answer, r)
    if not ok then error(fmt("the judge failed on example %d: %s", i, tostring(jok)), 0) end
    if r.status ~= "ok" then jok, why = false, "the run ended: " .. tostring(r.reason) end
    local res = { index = i, question = ex.question, expected = ex.answer, answer = answer, status = r.status,
                  reason = r.reason, ok = jok and true or false, why = why, transcript = r.transcript,
                  turns = r.turns, tokens = r.tokens }
    out.results[k] = res
    if res.ok then out.correct = out.correct + 1 end
    if on_example then on_example(k, res, out) end
  end
  out.accuracy = out.n > 0 and out.correct / out.n or 0
  return out
end

-- ---- the loop ------------------------------------------------------------------

local function call_role(what, fn, ctx)
  local ok, v = pcall(fn, ctx)
  if not ok then error(fmt("the %s failed: %s", what, tostring(v)), 0) end
  if type(v) == "string" then
    local jok, d = pcall(lab.json.decode, v)
    if not jok or d == nil then error(fmt("the %s's answer is not JSON: %s", what, v), 0) end
    v = d
  end
  return v
end

local function check_opts(o)
  if type(o) ~= "table" then return "options must be a table" end
  if type(o.task) ~= "string" or trim(o.task) == "" then return "'task' (the task description) must be non-empty text" end
  if type(o.examples) ~= "table" or #o.examples == 0 then return "'examples' must be a non-empty list" end
  for _, r in ipairs({ "architect", "analyst", "engineer" }) do
    if type(o.roles) ~= "table" or type(o.roles[r]) ~= "function" then
      return fmt("roles.%s must be a function (a script, or A.model_%s(model))", r, r == "engineer" and "engineer" or r)
    end
  end
  if type(o.judge) ~= "function" then return "'judge' must be a function (A.judges.exact, ... or A.judge_model(...))" end
  local it = o.iterations or A.DEFAULTS.iterations
  if math.type(it) ~= "integer" or it < 1 then return "'iterations' must be an integer >= 1" end
  local t = o.target or A.DEFAULTS.target
  if type(t) ~= "number" or t < 0 or t > 1 then return "'target' must be a number from 0 to 1" end
  local s = o.subset or A.DEFAULTS.subset
  if math.type(s) ~= "integer" or s < 1 then return "'subset' must be an integer >= 1" end
  if o.seed ~= nil and math.type(o.seed) ~= "integer" then return "'seed' must be an integer" end
end

local function result_record(r)
  return { index = r.index, question = r.question, expected = r.expected, answer = r.answer or lab.json.null,
           ok = r.ok, why = r.why or lab.json.null, status = r.status, reason = r.reason,
           turns = r.turns, tokens = r.tokens }
end

local function transcript_record(tr)
  local out = {}
  for i, e in ipairs(tr) do
    out[i] = { sender = e.sender, sender_role = e.sender_role, receiver = e.receiver, text = e.text, depth = e.depth,
               tokens = e.tokens, logprobs = e.logprobs }
  end
  return out
end

-- A.run(opts) -> result | error. opts: task (text), examples (list of
-- {question=, answer=}), tools (a list for A.tools; default none), roles =
-- {architect=, analyst=, engineer=} (functions), judge (function), model
-- (the model of drafted members: a Model or a path), scripts ({name = fn},
-- for drafted members given by a script's name), iterations (5), target
-- (0.95), subset (8), seed (1), budget (of each example's run), models (a
-- cache {path = Model}), max_tokens (of drafted model members), record (a
-- handle of plugins/lib/ensemble.lua's record_begin), on_event(kind, data)
-- with kind "role" ({role=, iteration=, try=}: a role is about to be
-- called), "draft", "example", "iteration" (data: the iteration, its
-- record in .record), "done"; on_message(entry, iteration, example) for each
-- transcript entry of each example's run. Returns {iterations=,
-- best=, accuracy=, stop=, draft=, workflow=}.
function A.run(o)
  local e = check_opts(o)
  if e then error("architect: " .. e, 0) end
  local tools = assert(A.tools(o.tools or {}))
  local ctx = { tools = tools, scripts = o.scripts, model = o.model, budget = o.budget, models = o.models or {},
                max_tokens = o.max_tokens, judge = o.judge, on_message = o.on_message }
  local iterations = o.iterations or A.DEFAULTS.iterations
  local target = o.target or A.DEFAULTS.target
  local idx = A.subset(#o.examples, o.subset or A.DEFAULTS.subset, o.seed or A.DEFAULTS.seed)
  local ev = o.on_event or function() end
  local rec = o.record
  local tool_info = {}
  for i, t in ipairs(tools) do tool_info[i] = { name = t.name, description = t.description, parameters = t.parameters } end
  local shown = {}
  for i, ex in ipairs(o.examples) do shown[i] = { question = ex.question, answer = ex.answer } end

  -- the draft: tries until one is a valid workflow
  local draft, repairs, why
  for try = 1, A.DEFAULTS.draft_tries do
    ev("role", { role = "architect", iteration = 1, try = try })
    local v = call_role("architect", o.roles.architect, { task = o.task, tools = tool_info, examples = shown,
                                                         error = why, try = try })
    draft, repairs = A.normalize(v, tools)
    if draft then
      local _, verr = F.validate(A.spec(draft, tools, ctx), { scripts = o.scripts })
      if verr then draft, why = nil, verr end
    else
      why = repairs
    end
    ev("draft", { try = try, ok = draft ~= nil, error = why, repairs = draft and repairs or nil })
    if draft then break end
  end
  if not draft then error(fmt("architect: no valid workflow after %d drafts: %s", A.DEFAULTS.draft_tries, why), 0) end

  local order = {}
  for i, m in ipairs(members(draft)) do order[i] = m.name end
  local its, best, base, rejected = {}, nil, nil, {}

  local function evaluate(d, n, based_on, feedback, notes)
    ctx.iteration = n
    local r = A.evaluate(d, ctx, o.examples, idx, function(k, res, acc)
      ev("example", { iteration = n, k = k, n = #idx, result = res, correct = acc.correct })
    end)
    local systems = A.systems(d)
    local it = { iteration = n, based_on = based_on, draft = d, systems = systems, feedback = feedback,
                 notes = notes, repairs = n == 1 and repairs or nil, accuracy = r.accuracy, correct = r.correct,
                 n = r.n, results = r.results,
                 diff = based_on and A.diff_systems(its[based_on].systems, systems, order) or nil }
    its[n] = it
    return it
  end

  -- it.record: the iteration as recorded (and as the workbench shows it)
  local function put(it)
    it.record = {
      iteration = it.iteration, based_on = it.based_on or lab.json.null, accuracy = it.accuracy, correct = it.correct,
      n = it.n, kept = it.kept, rolled_back = it.rolled_back or false,
      workflow = A.workflow_json(it.draft, tools, { scripts = o.scripts, model_name = o.model_name }),
      systems = it.systems, feedback = it.feedback or lab.json.null, notes = it.notes or lab.json.null,
      repairs = it.repairs or lab.json.null, diff = it.diff or lab.json.null,
      examples = (function() local l = {} for i, x in ipairs(it.results) do l[i] = result_record(x) end return l end)(),
    }
    if not rec then return end
    rec:put("iteration", it.record)
    for _, x in ipairs(it.results) do
      rec:put("transcript", { iteration = it.iteration, example = x.index, ok = x.ok, transcript = transcript_record(x.transcript) })
    end
    rec:metric("accuracy", it.accuracy, it.iteration)
  end

  local it = evaluate(draft, 1)
  it.kept = true
  best, base = 1, 1
  put(it)
  ev("iteration", it)
  local stop
  while true do
    if its[best].accuracy >= target then stop = "target"; break end
    if #its >= iterations then stop = "iterations"; break end
    local cur = its[base]
    local failures = {}
    for _, x in ipairs(cur.results) do if not x.ok then failures[#failures + 1] = x end end
    local names = {}
    for _, n in ipairs(order) do names[n] = true end
    ev("role", { role = "analyst", iteration = #its + 1 })
    local fb, ferr = A.check_feedback(call_role("analyst", o.roles.analyst, {
      task = o.task, iteration = #its + 1, workflow = copy(cur.draft), systems = copy(cur.systems),
      failures = failures, accuracy = cur.accuracy, rejected = rejected }), names)
    if not fb then error("architect: the analyst's feedback is refused: " .. ferr, 0) end
    if #fb == 0 then stop = "no feedback"; break end
    ev("role", { role = "prompt engineer", iteration = #its + 1 })
    local sys = call_role("prompt engineer", o.roles.engineer, {
      task = o.task, workflow = copy(cur.draft), systems = copy(cur.systems), feedback = copy(fb) })
    if type(sys) == "table" and sys.systems ~= nil then sys = sys.systems end
    if type(sys) ~= "table" then error("architect: the prompt engineer must answer {name = system message}", 0) end
    local d = copy(cur.draft)
    local by = {}
    for _, m in ipairs(members(d)) do by[m.name] = m end
    for n, s in pairs(sys) do
      if not by[n] then error(fmt("architect: the prompt engineer names an unknown member '%s'", tostring(n)), 0) end
      if type(s) ~= "string" then error(fmt("architect: the prompt engineer's system message of '%s' is not text", n), 0) end
      by[n].system = s
    end
    it = evaluate(d, #its + 1, base, fb)
    if it.accuracy >= its[best].accuracy then
      it.kept, best, base = true, it.iteration, it.iteration
    else
      it.kept, it.rolled_back = false, true
      rejected[#rejected + 1] = { iteration = it.iteration, feedback = fb, accuracy = it.accuracy }
    end
    put(it)
    ev("iteration", it)
  end
  local out = { iterations = its, best = best, accuracy = its[best].accuracy, stop = stop, draft = its[best].draft,
                workflow = A.workflow_json(its[best].draft, tools, { scripts = o.scripts, model_name = o.model_name }),
                subset = idx }
  if rec then
    rec:put("architect_result", { best = best, accuracy = out.accuracy, stop = stop, iterations = #its,
                                  subset = idx, workflow = out.workflow })
  end
  ev("done", out)
  return out
end

return A
