-- The tree-search machinery without a model: the task library
-- (plugins/tasks/, through plugins/lib/tasks.lua), the searches of
-- plugins/lib/treesearch.lua driven by a deterministic oracle, and the ATS
-- trajectory parser (plugins/lib/ats.lua). The brute forces here are the
-- test's own, written apart from the tasks' solvers.
local tasks = assert(lab.require("tasks"))
local S = assert(lab.require("treesearch"))
local A = assert(lab.require("ats"))
local C = assert(lab.require("tasks/common"))

-- ---- independent brute forces ----

-- every value reachable from a multiset of rationals by combining pairs
local function reaches24(nums, target)
  if #nums == 1 then return C.qeq(nums[1], C.q(target)) end
  for i = 1, #nums do
    for j = 1, #nums do
      if i ~= j then
        local rest = {}
        for k = 1, #nums do if k ~= i and k ~= j then rest[#rest + 1] = nums[k] end end
        for _, op in ipairs({ "+", "-", "*", "/" }) do
          local r = C.OPS[op](nums[i], nums[j])
          if r then
            rest[#rest + 1] = r
            if reaches24(rest, target) then return true end
            rest[#rest] = nil
          end
        end
      end
    end
  end
  return false
end

local function grass_min(numbers)
  local best
  local function go(i, x, y)
    if i > #numbers then
      if not best or x * y < best then best = x * y end
      return
    end
    for p = 1, numbers[i] do
      if numbers[i] % p == 0 then go(i + 1, x + p, y + numbers[i] // p) end
    end
  end
  go(1, 0, 0)
  return best
end

local function water_min(a, b, c)
  local dist, queue, head = { [0] = { [0] = 0 } }, { { 0, 0 } }, 1
  while queue[head] do
    local x, y = queue[head][1], queue[head][2]
    head = head + 1
    local d = dist[x][y]
    if x == c or y == c then return d end
    local mx, my = math.min(x, b - y), math.min(y, a - x)
    for _, s in ipairs({ { a, y }, { x, b }, { 0, y }, { x, 0 }, { x - mx, y + mx }, { x + my, y - my } }) do
      dist[s[1]] = dist[s[1]] or {}
      if not dist[s[1]][s[2]] then dist[s[1]][s[2]] = d + 1; queue[#queue + 1] = s end
    end
  end
  return nil
end

local function numpath_ok(x, y, n)
  if n == 0 then return x == y end
  return numpath_ok(2 * x, y, n - 1) or numpath_ok(x + 1, y, n - 1)
end

local function solvable(inst)
  if inst.task == "arith" or inst.task == "game24" then
    local q = {}
    for i, v in ipairs(inst.numbers) do q[i] = C.q(v) end
    return reaches24(q, inst.target)
  elseif inst.task == "water" then
    local m = water_min(inst.a, inst.b, inst.c)
    return m ~= nil and m <= inst.n and m == inst.optimum
  elseif inst.task == "numpath" then return numpath_ok(inst.x, inst.y, inst.n)
  elseif inst.task == "grass" then return grass_min(inst.numbers) == inst.optimum end
  error("unknown task " .. inst.task)
end

-- ---- generators ----

test("every generated instance is solvable (independent brute force) and reproducible from its seed", function()
  lab.budget{ seconds = 120 }
  for _, T in ipairs(tasks.all()) do
    for d = 1, T.max_difficulty do
      local seen = {}
      for seed = 1, 8 do
        local inst = T.generate(seed, d)
        check.ok(solvable(inst), T.name .. " seed " .. seed .. " difficulty " .. d .. " is solvable")
        local again = T.generate(seed, d)
        check.eq(lab.json.encode(again), lab.json.encode(inst), T.name .. ": the same seed gives the same instance")
        local ok, why = T.check(inst, inst.solution)
        check.ok(ok, T.name .. ": the worked solution checks (" .. tostring(why) .. ")")
        seen[T.question(inst)] = true
      end
      local n = 0
      for _ in pairs(seen) do n = n + 1 end
      check.ok(n >= 3, T.name .. ": seeds give different instances (" .. n .. " of 8)")
    end
  end
end)

test("generators: difficulty is checked, tasks are found by name", function()
  local T = assert(tasks.get("numpath"))
  check.raises("difficulty must be an integer in %[1, 5%]", T.generate, 1, 9)
  check.raises("seed must be an integer", T.generate, 1.5, 1)
  check.fails("unknown task 'nope'", tasks.get("nope"))
  check.eq(T.generate(3, 4).n, 5, "numpath difficulty 4 has 5 operations")
  local inst = assert(tasks.generate("game24", 5, 3))
  check.ok(inst.n_solutions <= 9, "game24 difficulty 3 has few solutions")
end)

-- ---- checkers ----

local function accepts(T, inst, text)
  local ok, why = T.check(inst, text)
  if not ok then error("rejected '" .. text .. "': " .. tostring(why), 2) end
end
local function rejects(T, inst, text, pattern)
  local ok, why = T.check(inst, text)
  if ok then error("accepted '" .. text .. "'", 2) end
  if pattern and not why:find(pattern) then error("'" .. text .. "': reason '" .. why .. "' does not match '" .. pattern .. "'", 2) end
end

test("checkers: Game of 24 and the Arithmetic Puzzle", function()
  local G = tasks.get("game24")
  local g = G.instance({ numbers = { 4, 4, 6, 8 }, target = 24 })
  accepts(G, g, "Steps...\nAnswer: (4 + 8) * (6 - 4) = 24")
  accepts(G, g, "Answer: (6 - 4) * (8 + 4) = 24")
  accepts(G, g, "answer: (4 + 8) x (6 - 4)")
  rejects(G, g, "Answer: (8 - 4) * 6 = 24", "not each of")
  rejects(G, g, "Answer: 4 * 6 * (8 / 8) = 24", "not each of")
  rejects(G, g, "Answer: 6 / (4 - 4) * 8 = 24", "division by zero")
  rejects(G, g, "Answer: (4 + 8) * (6 - 4) = 25", "stated result")
  rejects(G, g, "Answer: 4 + 4 + 6 + 8 = 24", "is 22")
  rejects(G, g, "Answer: (4 + 8 * (6 - 4) = 24", "not closed")
  rejects(G, g, "Answer: -4 + 8 * 4 - 6 + 2", "expected a number")
  rejects(G, g, "(4 + 8) * (6 - 4) = 24", "no summary line")
  rejects(G, g, "Answer:", "empty")
  local T = tasks.get("arith")
  local a = T.instance({ numbers = { 2, 5, 7 }, target = 24 })
  accepts(T, a, "Answer: (5 + 7) * 2 = 24")
  accepts(T, a, "Answer: 2 * (7 + 5)")
  rejects(T, a, "Answer: (5 + 7) * 2 * 2 = 48", "not each of")
  rejects(T, a, "Answer: 5 * 7 - 2 = 33", "is 33")
  rejects(T, a, "Answer: 5 * 7 / (2 - 2)", "division by zero")
  rejects(T, a, "Answer: (5 + 7) * 2 =", "unexpected '='")
end)

test("checkers: Number Path, Drop Water, Minimal Grass", function()
  local N = tasks.get("numpath")
  local n = N.instance({ x = 3, y = 14, n = 3 })
  accepts(N, n, "Step 1: ...\nAnswer: 3 -> 6 -> 7 -> 14")
  rejects(N, n, "Answer: 3 -> 6 -> 12 -> 13 -> 14", "4 operations, not 3")
  rejects(N, n, "Answer: 3 -> 7 -> 14", "2 operations")
  rejects(N, n, "Answer: 3 -> 6 -> 13 -> 14", "6 %-> 13 is neither")
  rejects(N, n, "Answer: 4 -> 6 -> 7 -> 14", "starts at 4")
  rejects(N, n, "Answer: 3, 6, 7, 14", "not a number")
  rejects(N, n, "Answer: 3 -> 6 -> 7 -> 15", "ends at 15")
  local W = tasks.get("water")
  local w = W.instance({ a = 3, b = 5, c = 4, n = 7 })
  check.eq(w.optimum, water_min(3, 5, 4), "water optimum")
  accepts(W, w, "Answer: fill B, pour B into A, empty A, pour B into A, fill B, pour B into A")
  accepts(W, w, "Answer: Fill B, pour B A, empty A, pour B into A, fill B, pour B into A")
  rejects(W, w, "Answer: fill B, pour B into A, empty A, pour B into A, fill B, pour B into A, empty A, fill A", "more than 7 steps")
  rejects(W, w, "Answer: fill B, pour B into A", "neither 4")
  rejects(W, w, "Answer: fil B, pour B into A", "'fil B' is not a step")
  rejects(W, w, "Answer: pour A into A", "is not a step")
  local G = tasks.get("grass")
  local g = G.instance({ numbers = { 4, 9, 16 } })
  check.eq(g.optimum, grass_min({ 4, 9, 16 }), "grass optimum (independent brute force)")
  check.eq(g.optimum, 81, "grass optimum 9 * 9")
  accepts(G, g, g.solution)
  accepts(G, g, "Answer: 4 = 2 * 2, 9 = 3 * 3, 16 = 4 * 4, X * Y = 9 * 9 = 81")
  rejects(G, g, "Answer: 4 = 1 * 4, 9 = 1 * 9, 16 = 1 * 16, X * Y = 3 * 29 = 87", "not the smallest")
  rejects(G, g, "Answer: 4 = 2 * 3, 9 = 3 * 3, 16 = 4 * 4, X * Y = 9 * 10 = 90", "2 %* 3 is not 4")
  rejects(G, g, "Answer: 4 = 2 * 2, 4 = 2 * 2, 16 = 4 * 4, X * Y = 8 * 8 = 64", "not each of")
  rejects(G, g, "Answer: 4 = 2 * 2, 9 = 3 * 3, 16 = 4 * 4, X * Y = 9 * 9 = 80", "give X %* Y = 9 %* 9 = 81")
  rejects(G, g, "Answer: 4 = 2 * 2, 9 = 3 * 3, 16 = 4 * 4", "does not end with")
end)

test("steps: apply parses a model's step line, refuses wrong ones", function()
  local G = tasks.get("game24")
  local g = G.instance({ numbers = { 4, 4, 6, 8 }, target = 24 })
  local st = assert(G.apply(g, G.start(g), "4 + 8 = 12 (left: 4 6 12)"))
  check.eq(G.state_text(g, st), "left: 4 6 12")
  check.fails("not two of the numbers", G.apply(g, st, "8 + 8 = 16"))
  check.fails("is 11, not 12", G.apply(g, st, "6 + 5 = 12"))
  check.fails("division by zero", G.apply(g, st, "4 / 0 = 1"))
  check.fails("not a step", G.apply(g, st, "I think we should add"))
  local N = tasks.get("numpath")
  local n = N.instance({ x = 3, y = 14, n = 3 })
  check.fails("current number is 3, not 4", N.apply(n, N.start(n), "4 * 2 = 8"))
  check.fails("only %* 2 and %+ 1", N.apply(n, N.start(n), "3 * 3 = 9"))
  local W = tasks.get("water")
  local w = W.instance({ a = 3, b = 5, c = 4, n = 7 })
  local ws = assert(W.apply(w, W.start(w), "fill B (A=0, B=5)"))
  check.eq(ws.y, 5, "fill B")
  check.fails("not a step", W.apply(w, ws, "drink B"))
end)

test("prompt format 'question': the training pair's prompt, then the steps (every task)", function()
  for _, name in ipairs(tasks.NAMES) do
    local T = tasks.get(name)
    local inst = T.generate(3, 1)
    local p, c = T.training_pair(inst)
    check.eq(p, "Question: " .. inst.question .. "\n", name .. ": the training prompt")
    check.eq(c, inst.solution, name .. ": the training completion")
    local q = { format = "question" }
    check.eq(T.prompt(inst, "cot", nil, q), p, name .. ": cot")
    check.eq(T.prompt(inst, "tot", nil, q), p, name .. ": a tree's root")
    -- a node after the solution's first step is the training text up to there
    local path = assert(T.solve(inst))
    local st = assert(T.apply(inst, T.start(inst), path[1]))
    local first = p .. "Step 1: " .. path[1] .. "\n"
    check.eq(T.prompt(inst, "tot", st, q), first, name .. ": a node")
    check.eq((p .. c):sub(1, #first), first, name .. ": the node's text begins the training text")
    check.eq(T.prompt(inst, "sample", st, q), first .. "Step 2:", name .. ": sample")
    check.ok(T.prompt(inst, "value", st, q):find("^" .. first:gsub("%p", "%%%0") .. "Now: "), name .. ": value")
    check.ok(not T.prompt(inst, "cot", nil, q):find(T.rules, 1, true), name .. ": no rules")
    check.ok(T.prompt(inst, "cot"):find(T.rules, 1, true), name .. ": the full format has them")
    check.raises("format 'question' has no ats%-bfs form", T.prompt, inst, "ats-bfs", nil, q)
    check.raises("unknown prompt format 'chat' %(formats: full, question%)", T.prompt, inst, "cot", nil, { format = "chat" })
  end
end)

-- ---- search with the oracle ----

-- an oracle that also counts what the search asks of it
local function counted(T, inst, opts)
  local propose, evaluate, stop = S.oracle(T, inst, opts)
  local c = { propose = 0, kids = 0, evaluated = 0, evaluate = 0 }
  return {
    root = { state = T.start(inst), text = "" },
    propose = function(node, tree)
      c.propose = c.propose + 1
      local kids = propose(node, tree)
      for _, k in ipairs(kids) do k.cost = { tokens = #k.text, children = 1 } end
      c.kids = c.kids + #kids
      return kids, { calls = 1 }
    end,
    evaluate = function(nodes, tree)
      c.evaluate = c.evaluate + 1
      c.evaluated = c.evaluated + #nodes
      return evaluate(nodes, tree), { evals = #nodes }
    end,
    stop = stop,
  }, c
end

local function path_lines(tree, node)
  local out = {}
  for i, n in ipairs(S.path(tree, node)) do out[i] = n.text end
  return out
end

test("BFS with the oracle returns the optimum the brute force finds, within the beam", function()
  lab.budget{ seconds = 120 }
  for _, name in ipairs(tasks.NAMES) do
    local T = tasks.get(name)
    for seed = 1, 4 do
      local inst = T.generate(seed, math.min(2, T.max_difficulty))
      for _, b in ipairs({ 1, 2 }) do
        local o = counted(T, inst)
        o.b, o.depth = b, 16
        local per_depth = {}
        o.on_event = function(kind, node)
          if kind == "expanded" then per_depth[node.depth] = (per_depth[node.depth] or 0) + 1 end
        end
        local r = S.bfs(o)
        check.ok(r.solution, name .. " BFS finds a solution")
        local lines = path_lines(r.tree, r.solution)
        local ok, why = T.check(inst, C.worked(T, inst, lines))
        check.ok(ok, name .. ": the BFS path checks (" .. tostring(why) .. ")")
        for d, k in pairs(per_depth) do
          if d > 0 then check.ok(k <= b, name .. ": at most b nodes expanded per level") end
        end
        -- a level's proposals in one call make the same tree
        local o2, c2 = counted(T, inst)
        o2.b, o2.depth = b, 16
        o2.propose_many = function(nodes, tree)
          local groups = {}
          for i, n in ipairs(nodes) do groups[i] = o2.propose(n, tree) end
          return groups
        end
        local r2 = S.bfs(o2)
        check.eq(S.render(r2.tree), S.render(r.tree), name .. ": propose_many gives the same tree")
        check.ok(r2.stats.propose_calls <= 16 and r2.stats.evaluate_calls == r2.stats.propose_calls,
          name .. ": one proposal call and one evaluation per level")
        if name == "water" then check.eq(#lines, water_min(inst.a, inst.b, inst.c), "water: BFS depth is the fewest steps") end
        if name == "grass" then
          local st = T.start(inst)
          for _, l in ipairs(lines) do st = T.apply(inst, st, l) end
          local x, y = 0, 0
          for _, p in ipairs(st.pairs) do x, y = x + p[1], y + p[2] end
          check.eq(x * y, grass_min(inst.numbers), "grass: BFS reaches the brute-force minimum")
        end
      end
    end
  end
end)

test("search costs equal an independent count", function()
  local T = tasks.get("game24")
  local inst = T.generate(11, 2)
  for _, method in ipairs({ "bfs", "dfs", "best" }) do
    local o, c = counted(T, inst)
    o.b, o.budget = 3, 40
    local r = S.METHODS[method](o)
    local tokens, nodes = 0, 0
    for id = 1, r.tree.n do
      tokens = tokens + #r.tree.nodes[id].text
      nodes = nodes + 1
    end
    check.eq(r.stats.nodes, nodes, method .. ": nodes")
    check.eq(r.stats.nodes, c.kids <= nodes and c.kids or nodes, method .. ": nodes made are the proposals kept")
    check.eq(r.cost.tokens, tokens, method .. ": tokens are the created nodes' own")
    check.eq(r.cost.children, nodes, method .. ": one child cost per node")
    check.eq(r.cost.calls, c.propose, method .. ": proposer calls")
    check.eq(r.stats.propose_calls, c.propose, method .. ": propose_calls")
    check.eq(r.stats.evaluate_calls, c.evaluate, method .. ": evaluate calls")
    check.eq(r.cost.evals, c.evaluated, method .. ": evaluated nodes")
    check.eq(c.evaluated, nodes, method .. ": every node evaluated once")
  end
end)

test("DFS prunes where the oracle says impossible and backtracks out of dead ends", function()
  local T = tasks.get("numpath")
  -- the perfect oracle: nothing expanded is infeasible, everything pruned is
  for seed = 1, 6 do
    local inst = T.generate(seed, 4)
    local o = counted(T, inst)
    o.depth = inst.n
    local r = S.dfs(o)
    check.ok(r.solution, "DFS solves numpath")
    for id = 1, r.tree.n do
      local n = r.tree.nodes[id]
      if n.status == "expanded" then check.ok(T.feasible(inst, n.state), "expanded nodes are feasible") end
      if n.status == "pruned" and n.value < 0.5 then check.ok(not T.feasible(inst, n.state), "pruned below threshold: infeasible") end
    end
    check.eq(r.stats.backtracks, 0, "the perfect oracle never backtracks")
  end
  -- a short-sighted oracle (impossible only past the goal): DFS goes into
  -- dead ends and backtracks; compare with a plain recursive count
  local backtracked = 0
  for seed = 1, 10 do
    local inst = T.generate(seed, 4)
    local weak = function(i, st) return st.v <= i.y and 1 or 0 end
    local o = counted(T, inst, { value = weak })
    o.depth = inst.n
    local r = S.dfs(o)
    check.ok(r.solution, "DFS with a weak oracle still solves it")
    check.ok(T.check(inst, C.worked(T, inst, path_lines(r.tree, r.solution))), "and the path checks")
    -- independent DFS: children in the order (value desc, made first)
    local made, backs = 0, 0
    local function visit(st)
      if T.solved(inst, st) then return true end
      if T.done(inst, st) then return false end
      local kids = T.moves(inst, st)
      made = made + #kids
      local order = {}
      for _, k in ipairs(kids) do if weak(inst, k.state) == 1 then order[#order + 1] = k end end
      for _, k in ipairs(order) do
        if visit(k.state) then return true end
        backs = backs + 1
      end
      return false
    end
    check.ok(visit(T.start(inst)), "independent DFS solves it")
    check.eq(r.stats.nodes, made, "DFS nodes made")
    check.eq(r.stats.backtracks, backs, "DFS backtracks")
    backtracked = backtracked + backs
  end
  check.ok(backtracked > 0, "some instance needed a backtrack")
end)

test("best-first respects its node budget", function()
  local T = tasks.get("water")
  local inst = T.generate(3, 2)
  for budget = 1, 12 do
    local o = counted(T, inst)
    o.budget = budget
    local r = S.best_first(o)
    check.ok(r.stats.nodes <= budget, "budget " .. budget .. ": " .. r.stats.nodes .. " nodes")
    if r.solution then check.ok(T.solved(inst, r.solution.state), "a solution is solved") end
  end
  local o = counted(T, inst)
  o.budget, o.depth = 500, 20
  local r = S.best_first(o)
  check.ok(r.solution, "a large budget finds a solution")
  -- budget exhausted: DFS stops making nodes too
  local o2 = counted(T, inst, { value = function() return 1 end })
  o2.budget, o2.depth = 5, 20
  check.ok(S.dfs(o2).stats.nodes <= 5, "DFS with a budget")
end)

-- A hand-made space where the model-valued beam meets duplicates: the root's
-- samples are "a" three times (valued 0.9: a dead end) and "b" once (0.5:
-- leads to the goal). "c" is proposed by both a and b (a state per parent).
local function dup_space(with_key)
  local KIDS = { [""] = { "a", "a", "a", "b" }, a = { "c", "x" }, b = { "c", "goal" } }
  local VAL = { a = 0.9, b = 0.5, c = 0.4, x = 0.1, goal = 0.2 }
  local dropped = {}
  local o = {
    b = 2, depth = 4,
    propose = function(node)
      local out = {}
      for i, t in ipairs(KIDS[node.text or ""] or {}) do out[i] = { text = t, cost = { tokens = 1 }, n = i } end
      return out
    end,
    evaluate = function(nodes)
      local v = {}
      for i, n in ipairs(nodes) do v[i] = VAL[n.text] end
      return v
    end,
    stop = function(node)
      if node.text == "goal" then return "solution" end
      if node.text == "x" or node.text == "c" then return "dead" end
    end,
    drop = function(p, twin) dropped[#dropped + 1] = { p = p, twin = twin } end,
  }
  if with_key then o.key = function(p) return p.text end end
  o.root = { text = "" }
  return o, dropped
end

test("duplicate children: one node per distinct step of a parent, the beam keeps distinct states", function()
  -- without a key the beam holds two copies of "a" and loses "b"
  local o0, d0 = dup_space(false)
  local r0 = S.bfs(o0)
  check.ok(not r0.solution, "duplicates fill the beam: no solution")
  check.eq(r0.stats.duplicates, 0, "no key, no duplicates counted")
  check.eq(#d0, 0, "nothing dropped")
  local o, dropped = dup_space(true)
  local r = S.bfs(o)
  check.ok(r.solution and r.solution.text == "goal", "with the key the beam reaches the goal through b")
  check.eq(r.stats.duplicates, 2, "two duplicates of a")
  local root = r.tree.root
  check.eq(#root.children, 2, "the root has two children")
  local a = r.tree.nodes[root.children[1]]
  check.eq(a.text, "a", "the first sample kept")
  check.eq(a.n, 1, "the first payload is the node")
  check.eq(a.dups, 2, "the kept node counts its copies")
  check.eq(#dropped, 2, "drop called for each duplicate")
  for _, d in ipairs(dropped) do
    check.eq(d.p.text, "a", "a duplicate dropped")
    check.ok(d.twin == a, "drop gets the kept sibling")
  end
  check.eq(r.cost.tokens, 4 + 4, "every payload's cost counted, dropped ones too")
  -- "c" from a and "c" from b are different states: both made
  local cs = 0
  for id = 1, r.tree.n do if r.tree.nodes[id].text == "c" then cs = cs + 1 end end
  check.eq(cs, 2, "the same text under two parents is two nodes")
  -- DFS and best-first too; past a budget, drop gets no twin
  local od = dup_space(true)
  od.threshold = 0
  local rd = S.dfs(od)
  check.eq(#rd.tree.root.children, 2, "DFS: the root has two children")
  check.ok(rd.solution and rd.solution.text == "goal", "DFS finds the goal")
  local ob, db = dup_space(true)
  ob.budget = 1
  local rb = S.best_first(ob)
  check.eq(rb.stats.nodes, 1, "best-first: one node in the budget")
  check.eq(rb.stats.duplicates, 2, "two duplicates")
  check.eq(#db, 3, "two duplicates and b past the budget dropped")
  check.ok(db[3].p.text == "b" and db[3].twin == nil, "past the budget: no twin")
end)

test("search options are checked", function()
  check.raises("propose must be a function", S.bfs, { evaluate = print, stop = print })
  check.raises("beam width", S.bfs, { propose = print, evaluate = print, stop = print, b = 0 })
  check.raises("no number", S.bfs, {
    propose = function() return { { text = "x" } } end,
    evaluate = function() return { "high" } end, stop = function() end })
end)

-- ---- the ATS parser ----

test("ATS: the worked trajectories parse back into the tree they describe", function()
  for _, T in ipairs(tasks.all()) do
    local inst = T.generate(2, 1)
    for _, mode in ipairs({ "bfs", "dfs" }) do
      local text = mode == "bfs" and C.ats_bfs_text(T, inst) or C.ats_dfs_text(T, inst)
      local tree = A.parse(text, mode, T, inst)
      check.eq(#tree.errors, 0, T.name .. " " .. mode .. ": no errors")
      check.ok(not tree.truncated and tree.answer, T.name .. " " .. mode .. ": has the answer")
      check.ok(tree.correct, T.name .. " " .. mode .. ": the answer checks")
      check.ok(tree.solution, T.name .. " " .. mode .. ": the solution node is found")
      check.eq(tree.solution.depth, inst.steps, T.name .. " " .. mode .. ": solution depth")
      for id = 1, tree.n do check.ok(tree.nodes[id].status ~= "invalid", "every step applies: " .. tostring(tree.nodes[id].error)) end
    end
  end
end)

test("ATS-BFS: hand-written, malformed and truncated trajectories", function()
  local T = tasks.get("numpath")
  local inst = T.instance({ x = 3, y = 14, n = 3 })
  local t = A.parse([[
Let me search.
Step 1:
Scenario 1: 3 * 2 = 6
Scenario 2: 3 + 1 = 4
Step 2:
Scenario 1.1: 6 + 1 = 7
Scenario 1.2: 6 * 2 = 12 (dead end)
Scenario 2.1: 4 * 2 = 8
Scenario 3.1: 5 + 1 = 6
Scenario 1.1: 6 + 1 = 7
Step 3:
Scenario 1.1.1: 7 * 2 = 14
Answer: 3 -> 6 -> 7 -> 14
ignored after the answer
Scenario 9: 1 + 1 = 2]], "ats-bfs", T, inst)
  check.eq(t.n, 8, "eight scenarios")
  check.eq(#t.errors, 2, "two errors")
  check.ok(t.errors[1].error:find("no scenario 3 before it") and t.errors[1].line == 9, "missing parent, with its line")
  check.ok(t.errors[2].error:find("appears twice"), "duplicate label")
  check.eq(t.nodes[4].status, "pruned", "a dead end is pruned")
  check.eq(t.nodes[6].parent, 0, "an orphan hangs from the root")
  check.eq(t.nodes[6].status, "invalid", "and its step does not apply there")
  check.ok(t.correct and t.solution and t.solution.text == "7 * 2 = 14", "the solution")
  check.eq(#t.root.children, 3, "root children")
  local tr = A.parse("Step 1:\nScenario 1: 3 * 2 = 6\nScenario 2: 3 + 1 = 4\nStep 2:\nScenario 1.1: 6 + 1 =", "bfs", T, inst)
  check.ok(tr.truncated and not tr.answer, "no answer: truncated")
  check.eq(tr.n, 3, "three scenarios so far")
  check.eq(tr.nodes[3].status, "invalid", "the cut-off step does not apply")
  check.eq(tr.nodes[2].status, "open", "a truncated search leaves its leaves open")
  local junk = A.parse("no structure at all\n\n", "bfs")
  check.ok(junk.truncated and junk.n == 0 and #junk.errors == 0, "nothing to parse")
  check.raises("unknown ATS mode", A.parse, "x", "zigzag")
end)

test("ATS-DFS: hand-written, malformed and truncated trajectories", function()
  local T = tasks.get("numpath")
  local inst = T.instance({ x = 3, y = 14, n = 3 })
  local t = A.parse([[
Step 1: 3 + 1 = 4
Step 2: 4 * 2 = 8
This cannot succeed. Back to step 1.
Step 2: 4 + 1 = 5
Step 3: 5 * 2 = 10
Not 14. Back to step 0.
Step 1: 3 * 2 = 6
Step 2: 6 * 2 = 12
Step 2: 6 + 1 = 7
Step 3: 7 * 2 = 14
Answer: 3 -> 6 -> 7 -> 14]], "ats-dfs", T, inst)
  check.eq(#t.errors, 0, "no errors")
  check.eq(t.n, 8, "eight steps")
  check.eq(#t.root.children, 2, "two first steps")
  check.eq(t.nodes[2].status, "pruned", "step 2 left by 'back to step 1'")
  check.eq(t.nodes[3].parent, 1, "the new step 2 hangs from step 1")
  check.eq(t.nodes[1].status, "pruned", "'back to step 0' prunes step 1 too")
  check.eq(t.nodes[6].status, "pruned", "an implicit step back prunes the abandoned step")
  check.eq(t.nodes[7].parent, 5, "the retried step 2 hangs from the new step 1")
  check.ok(t.solution == t.nodes[8] and t.correct, "the solution")
  local bad = A.parse("Step 1: 3 * 2 = 6\nStep 3: 6 + 1 = 7\nBack to step 5.\nStep 2: 7 * 2 = 14\n", "dfs", T, inst)
  check.eq(#bad.errors, 2, "a skipped depth and a step back to the future")
  check.ok(bad.errors[1].error:find("skips a depth") and bad.errors[1].line == 2, "skipped depth at line 2")
  check.ok(bad.errors[2].error:find("back to step 5 from step 2"), "bad back")
  check.ok(bad.truncated, "no answer")
  check.eq(bad.nodes[2].parent, 1, "the skipping step attaches one below its parent")
  local wrong = A.parse("Step 1: 3 * 2 = 6\nStep 2: 6 * 2 = 12\nStep 3: 12 + 1 = 13\nAnswer: 3 -> 6 -> 12 -> 13", "dfs", T, inst)
  check.ok(not wrong.correct and not wrong.solution and not wrong.truncated, "a wrong answer has no solution node")
end)
