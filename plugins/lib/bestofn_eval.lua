-- bestofn_eval: the evaluation mode of plugins/bestofn.lua (--task):
-- adaptive and plain best-of-N over a set of exact-answer tasks, accuracy
-- against the samples drawn and the tokens spent, on the same seeds.
--
--   local EV = assert(lab.require("bestofn_eval"))
--   local items = assert(EV.items("numpath", { instances = 5 }))     -- or a FILE.jsonl
--   local r = EV.evaluate(model, items, { n = 8, thresholds = { 0.5 }, budgets = { 1, 2, 4, 8 },
--                                         scorer = function(item) return some_scorer end, ... })
--   print(EV.table(r.points)); print(EV.plots(r.points))
--
-- How the points are made (docs/plugins.md, "The evaluation mode"):
--  * plain best-of-k, for each k of o.budgets: the best-scoring of samples
--    1..k of one plain run of N samples per instance. Sample k has the same
--    seed and temperature whatever the budget (the schedule is the one of
--    the largest budget N), so this is exactly what a plain run with --n k
--    draws and picks (tests/lua/test_bestofn.lua checks it against such runs);
--    its cost is the generated and probe tokens of those k samples.
--  * adaptive, for each threshold of o.thresholds: a run of its own (rounds
--    1, 2, 4 ... up to N, pruning, the threshold stop) on the same seeds.
-- An instance counts as solved when the winner's text passes the task's
-- exact-answer check.
local B = assert(lab.require("bestofn"))
local tasks = assert(lab.require("tasks"))
local P = assert(lab.require("plot"))
local fmt, concat = string.format, table.concat

local EV = {}

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

-- The text after the last "Answer:" line (the tasks' summary line convention).
local C = assert(lab.require("tasks/common"))

-- The check of a task-file line: "answer" (default: the text after the last
-- "Answer:" line equals the answer), "exact" (the whole completion, trimmed),
-- "contains" (the answer appears anywhere in the completion).
EV.MATCH = {
  answer = function(text, want)
    local a, why = C.answer(text)
    if not a then return false, why end
    if a == want then return true end
    return false, fmt("answered '%s', not '%s'", a, want)
  end,
  exact = function(text, want)
    if trim(text) == want then return true end
    return false, "the completion is not the answer"
  end,
  contains = function(text, want)
    if text:find(want, 1, true) then return true end
    return false, "the completion does not contain the answer"
  end,
}

-- EV.parse_jsonl(text, name) -> items | nil, err. One JSON object a line:
-- {"prompt": TEXT, "answer": TEXT, "match": "answer"|"exact"|"contains", "id": ...};
-- empty lines and lines starting with '#' are skipped.
function EV.parse_jsonl(text, name)
  local items, n = {}, 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local l = trim(line)
    if l ~= "" and l:sub(1, 1) ~= "#" then
      local obj, err = lab.json.decode(l)
      if type(obj) ~= "table" or obj[1] ~= nil then
        return nil, fmt("%s line %d: %s", name, n, obj == nil and ("bad JSON: " .. tostring(err)) or "not a JSON object")
      end
      if type(obj.prompt) ~= "string" or obj.prompt == "" then
        return nil, fmt("%s line %d: \"prompt\" must be a non-empty string", name, n)
      end
      if type(obj.answer) ~= "string" or trim(obj.answer) == "" then
        return nil, fmt("%s line %d: \"answer\" must be a non-empty string", name, n)
      end
      local how = obj.match == nil and "answer" or obj.match
      local check = EV.MATCH[how]
      if not check then
        return nil, fmt("%s line %d: \"match\" is answer, exact or contains, not '%s'", name, n, tostring(how))
      end
      local want = trim(obj.answer)
      items[#items + 1] = {
        id = obj.id ~= nil and tostring(obj.id) or fmt("%s:%d", name, n), prompt = obj.prompt, answer = want,
        match = how, check = function(t) return check(t, want) end,
      }
    end
  end
  if #items == 0 then return nil, name .. ": no task lines" end
  return items
end

-- EV.items(spec, o) -> items | nil, err. spec: a task of the library
-- (plugins/tasks/, lab.require("tasks")) or a workspace file ending in
-- .jsonl. o: instances (10), first (seed of the first instance, 1),
-- difficulty (1), shots (worked examples in the CoT prompt; default all).
-- An item: { id=, prompt=, check=fn(text) -> ok, why, answer= (a worked
-- solution or the expected answer) }.
function EV.items(spec, o)
  o = o or {}
  if type(spec) ~= "string" or spec == "" then return nil, "--task needs a task name or a FILE.jsonl" end
  if spec:match("%.jsonl$") then
    local text, err = lab.fs.read(spec)
    if not text then return nil, fmt("--task %s: %s", spec, tostring(err)) end
    local items, perr = EV.parse_jsonl(text, spec)
    if not items then return nil, perr end
    if o.instances and o.instances < #items then
      for i = #items, o.instances + 1, -1 do items[i] = nil end
    end
    return items
  end
  local T, err = tasks.get(spec)
  if not T then return nil, err end
  local d = o.difficulty or 1
  if math.type(d) ~= "integer" or d < 1 or d > T.max_difficulty then
    return nil, fmt("--difficulty for %s is 1 to %d", spec, T.max_difficulty)
  end
  local n = o.instances or 10
  if math.type(n) ~= "integer" or n < 1 then return nil, "--instances must be an integer >= 1" end
  local items = {}
  for i = 1, n do
    local inst = T.generate((o.first or 1) + i - 1, d)
    items[i] = { id = fmt("%s#%d", spec, inst.seed), prompt = T.prompt(inst, "cot", nil, { shots = o.shots }),
                 answer = inst.solution, question = inst.question,
                 check = function(t) return T.check(inst, t) end }
  end
  return items
end

-- "1,2,4" -> {1, 2, 4} (increasing integers in [1, n]) | nil, err
function EV.parse_budgets(s, n)
  local out = {}
  for w in tostring(s):gmatch("[^,%s]+") do
    local k = math.tointeger(tonumber(w))
    if not k or k < 1 or k > n then return nil, fmt("--budgets: '%s' is not an integer in [1, %d] (the budget --n)", w, n) end
    if #out > 0 and k <= out[#out] then return nil, "--budgets must be increasing" end
    out[#out + 1] = k
  end
  if #out == 0 then return nil, "--budgets is empty" end
  return out
end

-- The default budgets: 1, 2, 4, ... and n.
function EV.default_budgets(n)
  local out, k = {}, 1
  while k < n do out[#out + 1] = k; k = k * 2 end
  out[#out + 1] = n
  return out
end

-- "0.5,0.9" -> {0.5, 0.9} (in [0, 1]); "none" -> {false} (no threshold) | nil, err
function EV.parse_thresholds(s)
  local out = {}
  for w in tostring(s):gmatch("[^,%s]+") do
    if w == "none" then out[#out + 1] = false
    else
      local t = tonumber(w)
      if not t or t < 0 or t > 1 then return nil, fmt("--thresholds: '%s' is not a number in [0, 1] (or none)", w) end
      out[#out + 1] = t
    end
  end
  if #out == 0 then return nil, "--thresholds is empty" end
  return out
end

-- The winner among samples 1..k of a plain run: the highest score, ties to
-- the earlier sample (as B.run picks).
function EV.best_of(cands, k)
  local best
  for i = 1, k do
    local c = cands[i]
    if c.score and (not best or c.score > best.score) then best = c end
  end
  return best
end

local function point_key(method, budget, threshold)
  return method == "plain" and fmt("plain@%d", budget) or
    (threshold and fmt("adaptive@%g", threshold) or "adaptive")
end

-- EV.evaluate(model, items, o) -> { instances = {...}, points = {...} }
-- o: n, budgets, thresholds ({false} for none), prune, max_tokens, seed,
--    sampler, temp (fn of samples drawn), batched, scorer = fn(item) -> a
--    scorer, on_instance(i, inst) (progress), observe(item, label, prompt_text)
--    -> an on_event for each B.run (the workbench pane) or nil.
-- A point: { method=, budget=, threshold=, key=, n=, correct=, accuracy=,
--            samples=, tokens=, probe_tokens=, spent= } (per instance: means).
function EV.evaluate(model, items, o)
  local points, by_key = {}, {}
  local function point(method, budget, threshold)
    local key = point_key(method, budget, threshold)
    if not by_key[key] then
      local p = { method = method, budget = budget, threshold = threshold or nil, key = key, n = 0, correct = 0,
                  samples = 0, tokens = 0, probe_tokens = 0 }
      points[#points + 1] = p
      by_key[key] = p
    end
    return by_key[key]
  end
  for _, k in ipairs(o.budgets) do point("plain", k) end
  for _, t in ipairs(o.thresholds) do point("adaptive", o.n, t) end
  local out = {}
  for i, item in ipairs(items) do
    local fp = B.format(model, item.prompt)
    local ptoks = fp.tokens
    local scorer = o.scorer(item)
    local function go(plain, threshold)
      return B.run(model, ptoks, { n = o.n, threshold = threshold or nil, max_tokens = o.max_tokens,
        prune = (not plain) and o.prune or nil, scorer = scorer, seed = o.seed, plain = plain,
        batched = o.batched, sampler = o.sampler, temp = o.temp,
        on_event = o.observe and o.observe(item, plain and "plain" or point_key("adaptive", o.n, threshold), fp.text) })
    end
    local inst = { index = i, item = item, rows = {} }
    local function add(method, budget, threshold, winner, samples, tokens, probe)
      local ok, why = false, "no finished candidate"
      if winner then ok, why = item.check(winner.text) end
      ok = ok and true or false
      local p = point(method, budget, threshold)
      p.n, p.correct = p.n + 1, p.correct + (ok and 1 or 0)
      p.samples, p.tokens, p.probe_tokens = p.samples + samples, p.tokens + tokens, p.probe_tokens + probe
      inst.rows[#inst.rows + 1] = { key = p.key, method = method, budget = budget, threshold = threshold or nil,
        ok = ok, why = (not ok) and why or nil, winner = winner and winner.index, score = winner and winner.score,
        text = winner and winner.text, samples = samples, tokens = tokens, probe_tokens = probe }
    end
    local plain = go(true)
    inst.plain = plain
    for _, c in ipairs(plain.candidates) do c.correct = (item.check(c.text)) and true or false end
    for _, k in ipairs(o.budgets) do
      local toks, probe = 0, 0
      for j = 1, k do toks, probe = toks + #plain.candidates[j].tokens, probe + plain.candidates[j].probe_tokens end
      add("plain", k, nil, EV.best_of(plain.candidates, k), k, toks, probe)
    end
    inst.adaptive = {}
    for _, t in ipairs(o.thresholds) do
      local r = go(false, t)
      inst.adaptive[#inst.adaptive + 1] = { threshold = t or nil, res = r }
      add("adaptive", o.n, t, r.winner, r.drawn, r.acct.tokens, r.acct.probe_tokens)
    end
    out[i] = inst
    if o.on_instance then o.on_instance(i, inst) end
  end
  for _, p in ipairs(points) do
    local n = math.max(1, p.n)
    p.accuracy = p.correct / n
    p.samples, p.tokens, p.probe_tokens = p.samples / n, p.tokens / n, p.probe_tokens / n
    p.spent = p.tokens + p.probe_tokens
  end
  return { instances = out, points = points }
end

-- EV.table(points) -> text: one row per point
function EV.table(points)
  local lines = { fmt("%-14s %6s %9s %9s %8s %10s %10s %10s", "method", "budget", "threshold", "accuracy", "correct",
    "samples/i", "tokens/i", "spent/i") }
  for _, p in ipairs(points) do
    lines[#lines + 1] = fmt("%-14s %6d %9s %9.3f %4d/%-3d %10.2f %10.1f %10.1f", p.method, p.budget,
      p.threshold and fmt("%g", p.threshold) or "-", p.accuracy, p.correct, p.n, p.samples, p.tokens, p.spent)
  end
  lines[#lines + 1] = "(per instance: samples drawn, tokens generated, tokens spent = generated + probe tokens)"
  return concat(lines, "\n")
end

-- EV.plots(points [, w, h]) -> text: accuracy against samples drawn and
-- against tokens spent per instance, plain (P) and adaptive (A) as curves.
function EV.plots(points, w, h)
  local function series(xfield)
    local plain, adaptive = { name = "plain best-of-k", mark = "P", points = {} },
                            { name = "adaptive", mark = "A", points = {} }
    for _, p in ipairs(points) do
      local s = p.method == "plain" and plain or adaptive
      s.points[#s.points + 1] = { p[xfield], p.accuracy }
    end
    return { plain, adaptive }
  end
  return P.curves(series("samples"), { title = "accuracy against samples drawn per instance", w = w, h = h, ymin = 0, ymax = 1 }) ..
    "\n\n" .. P.curves(series("spent"), { title = "accuracy against tokens spent per instance (generated + probe)",
                                          w = w, h = h, ymin = 0, ymax = 1 })
end

return EV
