-- tasks/common: what the puzzle tasks (plugins/tasks/*.lua) share: a seeded
-- random generator, exact rationals, the "Answer:" summary line, a checked
-- arithmetic expression parser, and the prompt texts every task fills in
-- (CoT, ToT propose / sample / value, ATS-BFS / ATS-DFS).
--
-- Everything here is deterministic and model-free: a checker never calls a
-- solver, it parses the completion and recomputes.
local C = {}
local fmt, concat = string.format, table.concat

-- ---- a seeded generator (splitmix64; Lua integers wrap at 64 bits) ----

local Rng = {}
Rng.__index = Rng

function C.rng(seed)
  assert(math.type(seed) == "integer", "seed must be an integer")
  return setmetatable({ s = seed }, Rng)
end

function Rng:next()
  self.s = self.s + 0x9E3779B97F4A7C15
  local z = self.s
  z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
  z = (z ~ (z >> 27)) * 0x94D049BB133111EB
  return z ~ (z >> 31)
end

-- an integer in [lo, hi]
function Rng:int(lo, hi)
  assert(hi >= lo)
  return lo + ((self:next() >> 1) % (hi - lo + 1))
end

-- ---- exact rationals {n, d}, d > 0, reduced ----

local function gcd(a, b)
  a, b = math.abs(a), math.abs(b)
  while b ~= 0 do a, b = b, a % b end
  return a
end

function C.q(n, d)
  d = d or 1
  assert(d ~= 0, "zero denominator")
  if d < 0 then n, d = -n, -d end
  local g = gcd(n, d)
  if g > 1 then n, d = n // g, d // g end
  return { n = n, d = d }
end

function C.qadd(a, b) return C.q(a.n * b.d + b.n * a.d, a.d * b.d) end
function C.qsub(a, b) return C.q(a.n * b.d - b.n * a.d, a.d * b.d) end
function C.qmul(a, b) return C.q(a.n * b.n, a.d * b.d) end
-- nil for a division by zero
function C.qdiv(a, b) if b.n == 0 then return nil end return C.q(a.n * b.d, a.d * b.n) end
function C.qeq(a, b) return a.n == b.n and a.d == b.d end
function C.qstr(a) if a.d == 1 then return tostring(a.n) end return a.n .. "/" .. a.d end

-- "12", "-3", "7/3" -> a rational, or nil
function C.qparse(s)
  local n, d = s:match("^%s*(%-?%d+)/(%d+)%s*$")
  if n then
    if tonumber(d) == 0 then return nil end
    return C.q(math.tointeger(tonumber(n)), math.tointeger(tonumber(d)))
  end
  n = s:match("^%s*(%-?%d+)%s*$")
  if n then return C.q(math.tointeger(tonumber(n))) end
  return nil
end

-- The binary operations on rationals, by the symbols a text may use.
C.OPS = {
  ["+"] = C.qadd, ["-"] = C.qsub, ["*"] = C.qmul, ["x"] = C.qmul, ["×"] = C.qmul,
  ["/"] = C.qdiv, ["÷"] = C.qdiv,
}

-- ---- the summary line ----

-- The text after the last "Answer:" line of a completion, or nil, err.
function C.answer(completion)
  if type(completion) ~= "string" then return nil, "the completion is not text" end
  local last
  for line in (completion .. "\n"):gmatch("([^\n]*)\n") do
    local a = line:match("^%s*[Aa]nswer%s*:%s*(.-)%s*$")
    if a then last = a end
  end
  if not last then return nil, "no summary line 'Answer: ...'" end
  if last == "" then return nil, "the summary line 'Answer:' is empty" end
  return last
end

-- ---- arithmetic expressions over integers: + - * / and parentheses ----

-- Tokens of an expression: numbers, operators, parentheses; nil, err on
-- anything else.
local function lex(s)
  local toks, i = {}, 1
  while i <= #s do
    local c = s:sub(i, i)
    if c:match("%s") then i = i + 1
    elseif c:match("%d") then
      local j = i
      while j <= #s and s:sub(j, j):match("%d") do j = j + 1 end
      toks[#toks + 1] = { k = "num", v = math.tointeger(tonumber(s:sub(i, j - 1))) }
      i = j
    elseif s:sub(i, i + 1) == "×" or s:sub(i, i + 1) == "÷" then
      toks[#toks + 1] = { k = "op", v = s:sub(i, i + 1) == "×" and "*" or "/" }
      i = i + 2
    elseif c == "+" or c == "-" or c == "*" or c == "/" or c == "x" or c == "X" then
      toks[#toks + 1] = { k = "op", v = (c == "x" or c == "X") and "*" or c }
      i = i + 1
    elseif c == "(" or c == ")" then
      toks[#toks + 1] = { k = c }
      i = i + 1
    else
      return nil, fmt("unexpected '%s' in the expression", c)
    end
  end
  return toks
end

-- C.expr(text) -> value (a rational), leaves (the integers in order), n_ops
-- | nil, err. No unary minus; a division by zero is an error.
function C.expr(text)
  local toks, err = lex(text)
  if not toks then return nil, err end
  local pos, leaves, nops = 1, {}, 0
  local parse_sum
  local function atom()
    local t = toks[pos]
    if not t then return nil, "the expression ends early" end
    if t.k == "num" then
      pos = pos + 1
      leaves[#leaves + 1] = t.v
      return C.q(t.v)
    elseif t.k == "(" then
      pos = pos + 1
      local v, e = parse_sum()
      if not v then return nil, e end
      if not toks[pos] or toks[pos].k ~= ")" then return nil, "a '(' is not closed" end
      pos = pos + 1
      return v
    end
    return nil, fmt("expected a number, got '%s'", t.v or t.k)
  end
  local function product()
    local v, e = atom()
    if not v then return nil, e end
    while toks[pos] and toks[pos].k == "op" and (toks[pos].v == "*" or toks[pos].v == "/") do
      local op = toks[pos].v
      pos = pos + 1
      local r
      r, e = atom()
      if not r then return nil, e end
      nops = nops + 1
      v = C.OPS[op](v, r)
      if not v then return nil, "division by zero" end
    end
    return v
  end
  parse_sum = function()
    local v, e = product()
    if not v then return nil, e end
    while toks[pos] and toks[pos].k == "op" and (toks[pos].v == "+" or toks[pos].v == "-") do
      local op = toks[pos].v
      pos = pos + 1
      local r
      r, e = product()
      if not r then return nil, e end
      nops = nops + 1
      v = C.OPS[op](v, r)
    end
    return v
  end
  local v, e = parse_sum()
  if not v then return nil, e end
  if toks[pos] then return nil, fmt("unexpected '%s' after the expression", toks[pos].v or toks[pos].k) end
  return v, leaves, nops
end

-- Whether two lists of integers hold the same numbers (as multisets).
function C.same_multiset(a, b)
  if #a ~= #b then return false end
  local count = {}
  for _, v in ipairs(a) do count[v] = (count[v] or 0) + 1 end
  for _, v in ipairs(b) do
    if not count[v] or count[v] == 0 then return false end
    count[v] = count[v] - 1
  end
  return true
end

function C.join(list, sep) 
  local t = {}
  for i, v in ipairs(list) do t[i] = tostring(v) end
  return concat(t, sep or " ")
end

-- ---- prompts (our own wording; the structure follows the papers) ----
--
-- A task provides: T.title, T.rules (what the puzzle is, one paragraph),
-- T.step_help (how one step is written), T.answer_help (the summary line),
-- T.question(inst), T.state_text(inst, state), T.examples (instances for the
-- few-shot part), and C.worked / C.ats_trajectory below turn a solver's
-- path into example texts.

-- The lines of a state's steps, numbered "Step i: ...".
function C.steps_text(state)
  local t = {}
  for i, s in ipairs(state.steps) do t[i] = fmt("Step %d: %s", i, s) end
  return concat(t, "\n")
end

-- A worked solution: the steps and the summary line.
function C.worked(T, inst, path)
  local st = T.start(inst)
  local lines = {}
  for i, line in ipairs(path) do
    st = assert(T.apply(inst, st, line))
    lines[i] = fmt("Step %d: %s", i, line)
  end
  lines[#lines + 1] = T.answer_of(inst, st)
  return concat(lines, "\n")
end

local function example_block(T, method, shots)
  local out = {}
  for i, ex in ipairs(T.examples) do
    if shots and i > shots then break end
    local inst = T.instance(ex)
    local body
    if method == "ats-bfs" then body = C.ats_bfs_text(T, inst)
    elseif method == "ats-dfs" then body = C.ats_dfs_text(T, inst)
    else body = C.worked(T, inst, assert(T.solve(inst))) end
    out[#out + 1] = "Question: " .. T.question(inst) .. "\n" .. body .. "\n\n"
  end
  return concat(out)
end

C.ATS_BFS_SYSTEM = [[You solve puzzles by searching in breadth. At every step, write down several possible next moves as numbered scenarios instead of committing to one. At the next step, continue every scenario that can still succeed with two scenarios of its own, numbering a child after its parent (scenario 1.2 is the second continuation of scenario 1), and mark a scenario that cannot succeed with "(dead end)". Keep going until one scenario solves the puzzle, then give that scenario's moves in the summary line.]]

C.ATS_DFS_SYSTEM = [[You solve puzzles by searching in depth. Write one move per step. After each move, ask yourself whether the puzzle can still be solved from there. When it cannot, write "Back to step K." where K is the last step you still trust, and try a different move at the step after it. Keep going until the puzzle is solved, then give the moves that solve it in the summary line.]]

-- What follows a tree node's text (the prompt and its steps so far, each
-- "Step i: LINE\n") to ask for one more step ("sample"), for a list of
-- candidate steps ("propose") or for a judgement ("value").
function C.suffix(T, inst, state, what)
  if what == "sample" then return fmt("Step %d:", #state.steps + 1)
  elseif what == "propose" then
    return "Now: " .. T.state_text(inst, state) .. "\nList possible next steps, one per line:\n"
  elseif what == "value" then
    return "Now: " .. T.state_text(inst, state) ..
      "\nCan the puzzle still be solved from here? Answer sure, likely or impossible.\nJudgement:"
  end
  error("unknown suffix '" .. tostring(what) .. "'", 2)
end

-- C.prompt(T, inst, method [, state [, {shots=}]]) -> the prompt text:
--   "cot"      the rules, worked examples, the question, "Let's think step by step."
--   "tot"      the rules, worked examples, the question: a tree's root; a
--              node adds its steps, "Step i: LINE\n" each
--   "sample"   "tot" with the steps of state and "Step n:" (one step follows)
--   "propose"  "tot" with the steps, asking for candidate next steps, one per line
--   "value"    "tot" with the steps, asking for "sure", "likely" or "impossible"
--   "ats-bfs", "ats-dfs"  the ATS system text, the rules, worked
--              trajectories, the question
-- shots: how many worked examples (default: all the task has; 0: none).
-- format: "full" (default: as above) or "question": no rules, no examples,
-- no "Let's think step by step.": the prompt is "Question: <question>\n"
-- and the steps so far, the text a model trained on the task's worked
-- solutions (`inst.question` / `inst.solution`, T.training_pair;
-- docs/training.md recipe 2) saw before its completion. "cot" and "tot" are
-- then that prompt, "sample" / "propose" / "value" add their suffix; ATS
-- has no such form (its completions are trajectories, not solutions).
C.FORMATS = { "full", "question" }

function C.prompt(T, inst, method, state, o)
  local shots = o and o.shots
  local format = o and o.format or "full"
  if format ~= "full" and format ~= "question" then
    error(fmt("unknown prompt format '%s' (formats: %s)", tostring(format), concat(C.FORMATS, ", ")), 2)
  end
  local q = "Question: " .. T.question(inst) .. "\n"
  state = state or T.start(inst)
  local so_far = #state.steps > 0 and (C.steps_text(state) .. "\n") or ""
  if format == "question" then
    if method == "cot" or method == "tot" then return q .. so_far
    elseif method == "sample" or method == "propose" or method == "value" then
      return q .. so_far .. C.suffix(T, inst, state, method)
    elseif method == "ats-bfs" or method == "ats-dfs" then
      error(fmt("the prompt format 'question' has no %s form (ATS needs the full prompt)", method), 2)
    end
    error("unknown prompt method '" .. tostring(method) .. "'", 2)
  end
  local head = T.rules .. "\n" .. T.step_help .. "\n" .. T.answer_help .. "\n\n"
  if method == "cot" then
    return head .. example_block(T, "cot", shots) .. q .. "Let's think step by step.\n"
  elseif method == "tot" then
    return head .. example_block(T, "cot", shots) .. q .. so_far
  elseif method == "sample" or method == "propose" or method == "value" then
    return head .. example_block(T, "cot", shots) .. q .. so_far .. C.suffix(T, inst, state, method)
  elseif method == "ats-bfs" then
    return C.ATS_BFS_SYSTEM .. "\n\n" .. head .. example_block(T, "ats-bfs", shots) .. q
  elseif method == "ats-dfs" then
    return C.ATS_DFS_SYSTEM .. "\n\n" .. head .. example_block(T, "ats-dfs", shots) .. q
  end
  error("unknown prompt method '" .. tostring(method) .. "'", 2)
end

-- ---- worked ATS trajectories from the task's own moves ----

-- ATS-BFS: at each level every live scenario gets up to two continuations:
-- the one on the solution path (when it is) and the first other legal move;
-- a continuation from which no solution exists is marked a dead end. Ends
-- with the summary line of the solved scenario.
function C.ats_bfs_text(T, inst)
  local path = assert(T.solve(inst))
  local lines = {}
  local live = { { label = "", state = T.start(inst), on_path = true } }
  for depth = 1, #path do
    lines[#lines + 1] = fmt("Step %d:", depth)
    local next_live = {}
    for _, sc in ipairs(live) do
      local kids = {}
      if sc.on_path then kids[1] = { line = path[depth], on_path = true } end
      for _, m in ipairs(T.moves(inst, sc.state)) do
        if #kids >= 2 then break end
        if not (sc.on_path and m.line == path[depth]) then kids[#kids + 1] = { line = m.line } end
      end
      for i, k in ipairs(kids) do
        local label = sc.label == "" and tostring(i) or (sc.label .. "." .. i)
        local st = assert(T.apply(inst, sc.state, k.line))
        local dead = not k.on_path and not T.feasible(inst, st)
        lines[#lines + 1] = fmt("Scenario %s: %s%s", label, k.line, dead and " (dead end)" or "")
        if not dead then next_live[#next_live + 1] = { label = label, state = st, on_path = k.on_path } end
      end
    end
    -- at most four scenarios carry on, the solution's first
    live = {}
    for i = 1, math.min(4, #next_live) do live[i] = next_live[i] end
  end
  local st = T.start(inst)
  for _, line in ipairs(path) do st = assert(T.apply(inst, st, line)) end
  lines[#lines + 1] = T.answer_of(inst, st)
  return concat(lines, "\n")
end

-- ATS-DFS: at each depth first the first legal move that is not on the
-- solution path when it leads nowhere (so the example shows a step back),
-- then the solution's move.
function C.ats_dfs_text(T, inst)
  local path = assert(T.solve(inst))
  local lines, st, n = {}, T.start(inst), 0
  local shown_back = false
  for depth = 1, #path do
    if not shown_back then
      for _, m in ipairs(T.moves(inst, st)) do
        if m.line ~= path[depth] and not T.feasible(inst, m.state) then
          lines[#lines + 1] = fmt("Step %d: %s", depth, m.line)
          lines[#lines + 1] = fmt("This cannot succeed: %s. Back to step %d.", T.state_text(inst, m.state), depth - 1)
          shown_back = true
          break
        end
      end
    end
    lines[#lines + 1] = fmt("Step %d: %s", depth, path[depth])
    st = assert(T.apply(inst, st, path[depth]))
    n = n + 1
  end
  lines[#lines + 1] = T.answer_of(inst, st)
  return concat(lines, "\n")
end

-- ---- the brute force every task shares ----

-- C.search(T, inst, state) -> the shortest list of step lines from state to a
-- solved state (T.solved), or nil. Breadth first over T.moves, states with
-- the same T.key visited once, nothing past T.done.
function C.search(T, inst, state)
  state = state or T.start(inst)
  if T.solved(inst, state) then return {} end
  local seen = { [T.key(inst, state)] = true }
  local level = { { state = state, path = {} } }
  while #level > 0 do
    local nxt = {}
    for _, item in ipairs(level) do
      if not T.done(inst, item.state) then
        for _, m in ipairs(T.moves(inst, item.state)) do
          local k = T.key(inst, m.state)
          if not seen[k] then
            seen[k] = true
            local path = { table.unpack(item.path) }
            path[#path + 1] = m.line
            if T.solved(inst, m.state) then return path end
            nxt[#nxt + 1] = { state = m.state, path = path }
          end
        end
      end
    end
    level = nxt
  end
  return nil
end

-- C.finish(T): the functions every task gets from the ones it defines.
function C.finish(T)
  T.solve = T.solve or function(inst) return C.search(T, inst) end
  T.feasible = T.feasible or function(inst, state) return C.search(T, inst, state) ~= nil end
  T.prompt = function(inst, method, state, o) return C.prompt(T, inst, method, state, o) end
  T.suffix = function(inst, state, what) return C.suffix(T, inst, state, what) end
  T.solution = function(inst) return C.worked(T, inst, assert(T.solve(inst), "unsolvable instance")) end
  -- a training example in the "question" prompt format: prompt, completion
  -- (train on these, then search with the prompt format "question")
  T.training_pair = function(inst) return C.prompt(T, inst, "cot", nil, { format = "question" }), inst.solution end
  -- the generator's instance, with its text fields
  local make = T.make
  T.generate = function(seed, difficulty)
    difficulty = difficulty or 1
    assert(math.type(seed) == "integer", "seed must be an integer")
    assert(math.type(difficulty) == "integer" and difficulty >= 1 and difficulty <= T.max_difficulty,
      string.format("difficulty must be an integer in [1, %d]", T.max_difficulty))
    local rng = C.rng(seed * 1000003 + difficulty)
    for _ = 1, 10000 do
      local inst = make(rng, difficulty)
      if inst then
        inst.task, inst.seed, inst.difficulty = T.name, seed, difficulty
        return T.instance(inst)
      end
    end
    error(T.name .. ": no solvable instance after 10000 draws")
  end
  local fill = T.fill
  T.instance = function(data)
    local inst = {}
    for k, v in pairs(data) do inst[k] = v end
    inst.task = inst.task or T.name
    if fill then fill(inst) end
    local path = T.solve(inst)
    assert(path, T.name .. ": the instance has no solution")
    inst.question = T.question(inst)
    inst.solution = C.worked(T, inst, path)
    inst.steps = #path
    return inst
  end
  return T
end

return C
