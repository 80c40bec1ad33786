-- treesearch: the search half of Tree-of-Thoughts (Yao et al. 2023,
-- "Tree of Thoughts: Deliberate Problem Solving with Large Language
-- Models"), with no model in it. A search is given three functions:
--
--   propose(node, tree)   -> { payload, ... } [, cost]   the children of a node
--   evaluate(nodes, tree) -> { value, ... } [, cost]      one number per node
--   stop(node, tree)      -> "solution" | "dead" | nil    the stop test
--
-- A payload is any table (the node keeps its fields: state, text, seq, ...)
-- with an optional `cost` table; costs are tables of numbers added up
-- key by key into tree.cost (tokens, engine steps, whatever the caller
-- counts). A deterministic oracle (tests) or a model (plugins/tree.lua)
-- fills these in; the searches below only order, keep and prune.
--
-- Every node is evaluated exactly once, when it is created (the root is
-- not); BFS values a whole level in one evaluate call. tree.stats counts: nodes (created, root excluded), expanded,
-- pruned, dead, propose_calls, evaluate_calls, backtracks, duplicates.
--
-- Optional in every search: key(payload) -> string or nil (siblings with
-- the same key are one node: the first; see make_kids) and drop(payload,
-- twin) (called for each payload not made a node).
--
-- Statuses: "open" (made, not expanded), "expanded", "pruned" (cut by the
-- beam or the threshold, or never reached inside the budget), "dead" (the
-- stop test says so, or the depth limit), "solution".
local S = {}

local function add_cost(into, c)
  if not c then return end
  for k, v in pairs(c) do into[k] = (into[k] or 0) + v end
end

function S.tree(root_payload)
  local root = { id = 0, depth = 0, children = {}, status = "open", value = nil }
  for k, v in pairs(root_payload or {}) do if root[k] == nil then root[k] = v end end
  return {
    root = root, nodes = { [0] = root }, n = 0, cost = {},
    stats = { nodes = 0, expanded = 0, pruned = 0, dead = 0, propose_calls = 0, evaluate_calls = 0, backtracks = 0,
              duplicates = 0 },
  }
end

local function emit(o, kind, node, tree) if o.on_event then o.on_event(kind, node, tree) end end

local function set_status(o, tree, node, status)
  node.status = status
  if status == "pruned" then tree.stats.pruned = tree.stats.pruned + 1
  elseif status == "dead" then tree.stats.dead = tree.stats.dead + 1
  elseif status == "expanded" then tree.stats.expanded = tree.stats.expanded + 1 end
  emit(o, status, node, tree)
end

-- Children of node from payloads (at most `limit`), created, not valued.
-- With o.key, a payload whose key (o.key(payload), nil: none) equals an
-- earlier sibling's is not made a node: two samples of the same step text
-- are one state, and a second node would only take a place in the beam or
-- a share of the budget. The kept sibling counts it (kid.dups, extra
-- copies); tree.stats.duplicates counts all. Payloads not made (duplicates,
-- past the limit) go to o.drop(payload, twin) (twin: the kept sibling, nil
-- past the limit), so the caller can free what they hold. A duplicate's
-- cost is counted (it was made, then found equal); a payload past the limit
-- costs nothing, as before (the budget counts the nodes made).
local function make_kids(o, tree, node, payloads, limit)
  set_status(o, tree, node, "expanded")
  local kids, seen = {}, {}
  for _, p in ipairs(payloads or {}) do
    local key = o.key and o.key(p)
    local twin = key ~= nil and seen[key]
    if twin or (limit and #kids >= limit) then
      if twin then
        twin.dups = (twin.dups or 0) + 1
        tree.stats.duplicates = tree.stats.duplicates + 1
        add_cost(tree.cost, p.cost)
      end
      if o.drop then o.drop(p, twin or nil) end
    else
      tree.n = tree.n + 1
      local kid = { id = tree.n, parent = node.id, depth = node.depth + 1, children = {}, status = "open" }
      for k, v in pairs(p) do if kid[k] == nil then kid[k] = v end end
      add_cost(tree.cost, p.cost)
      tree.nodes[kid.id] = kid
      node.children[#node.children + 1] = kid.id
      kids[#kids + 1] = kid
      tree.stats.nodes = tree.stats.nodes + 1
      if key ~= nil then seen[key] = kid end
    end
  end
  return kids
end

-- One evaluator call for a list of new nodes.
local function value_kids(o, tree, kids)
  if #kids == 0 then return end
  local values, ecost = o.evaluate(kids, tree)
  tree.stats.evaluate_calls = tree.stats.evaluate_calls + 1
  add_cost(tree.cost, ecost)
  for i, kid in ipairs(kids) do
    kid.value = assert(tonumber(values[i]), "the evaluator gave no number for a node")
    emit(o, "node", kid, tree)
  end
end

-- Children of node (at most `limit`), created, evaluated and returned.
local function expand(o, tree, node, limit)
  local payloads, cost = o.propose(node, tree)
  tree.stats.propose_calls = tree.stats.propose_calls + 1
  add_cost(tree.cost, cost)
  local kids = make_kids(o, tree, node, payloads, limit)
  value_kids(o, tree, kids)
  return kids
end

-- best value first; equal values in the order made
local function by_value(a, b)
  if a.value ~= b.value then return a.value > b.value end
  return a.id < b.id
end

-- The path of step texts from the root to a node (root excluded).
function S.path(tree, node)
  local out = {}
  while node and node.id ~= 0 do
    table.insert(out, 1, node)
    node = tree.nodes[node.parent]
  end
  return out
end

local function finish(tree, sol)
  if sol then sol.status = "solution" end
  tree.solution = sol
  return { solution = sol, tree = tree, stats = tree.stats, cost = tree.cost }
end

local function check_opts(o)
  assert(type(o.propose) == "function", "propose must be a function")
  assert(type(o.evaluate) == "function", "evaluate must be a function")
  assert(type(o.stop) == "function", "stop must be a function")
end

-- S.bfs{root=, propose=, evaluate=, stop=, b=, depth=, on_event=
-- [, propose_many=]}: level by level, the children of every node kept are
-- made and evaluated (one evaluate call per level; propose_many(nodes) ->
-- {payloads...} per node [, cost], when given, makes a level's children in
-- one call), the best b of them kept (ToT's BFS). A solution among a level's children ends the
-- search (the best-valued one); after `depth` levels the search fails.
function S.bfs(o)
  check_opts(o)
  local b, depth = o.b or 1, o.depth or 8
  assert(b >= 1, "beam width b must be at least 1")
  local tree = S.tree(o.root)
  local frontier = { tree.root }
  for _ = 1, depth do
    -- a level's proposals, then one evaluation of all its children (so a
    -- model can batch each across the frontier)
    local groups = {}
    if o.propose_many then
      local cost
      groups, cost = o.propose_many(frontier, tree)
      tree.stats.propose_calls = tree.stats.propose_calls + 1
      add_cost(tree.cost, cost)
    else
      for i, node in ipairs(frontier) do
        local cost
        groups[i], cost = o.propose(node, tree)
        tree.stats.propose_calls = tree.stats.propose_calls + 1
        add_cost(tree.cost, cost)
      end
    end
    local cands = {}
    for i, node in ipairs(frontier) do
      for _, kid in ipairs(make_kids(o, tree, node, groups[i])) do cands[#cands + 1] = kid end
    end
    value_kids(o, tree, cands)
    if #cands == 0 then break end
    table.sort(cands, by_value)
    local kept = {}
    for _, c in ipairs(cands) do
      local s = o.stop(c, tree)
      if s == "solution" then
        for _, other in ipairs(cands) do
          if other ~= c and other.status == "open" then set_status(o, tree, other, "pruned") end
        end
        return finish(tree, c)
      elseif s == "dead" then set_status(o, tree, c, "dead")
      elseif #kept < b then kept[#kept + 1] = c
      else set_status(o, tree, c, "pruned") end
    end
    frontier = kept
  end
  for _, n in ipairs(frontier) do if n.status == "open" then set_status(o, tree, n, "pruned") end end
  return finish(tree, nil)
end

-- S.dfs{root=, propose=, evaluate=, stop=, threshold=, depth=, budget=}:
-- depth first, children best value first; a child valued below threshold
-- is pruned without a visit; a subtree that ends without a solution is a
-- backtrack (ToT's DFS). `budget` caps the nodes made (optional).
function S.dfs(o)
  check_opts(o)
  local threshold, depth, budget = o.threshold or 0.5, o.depth or 8, o.budget
  local tree = S.tree(o.root)
  local function visit(node)
    local s = node.id ~= 0 and o.stop(node, tree) or nil
    if s == "solution" then return node end
    if s == "dead" or node.depth >= depth then set_status(o, tree, node, "dead"); return nil end
    if budget and tree.stats.nodes >= budget then set_status(o, tree, node, "pruned"); return nil end
    local kids = expand(o, tree, node, budget and (budget - tree.stats.nodes) or nil)
    table.sort(kids, by_value)
    for i, kid in ipairs(kids) do
      if kid.value < threshold then
        set_status(o, tree, kid, "pruned")
      else
        local sol = visit(kid)
        if sol then
          for j = i + 1, #kids do set_status(o, tree, kids[j], "pruned") end
          return sol
        end
        tree.stats.backtracks = tree.stats.backtracks + 1
        emit(o, "backtrack", kid, tree)
      end
    end
    return nil
  end
  return finish(tree, visit(tree.root))
end

-- S.best_first{root=, propose=, evaluate=, stop=, budget=, depth=}: always
-- expands the best-valued open node; at most `budget` nodes are made
-- (default 32). When the budget is spent the open nodes are still
-- stop-tested, best first, without expanding any.
function S.best_first(o)
  check_opts(o)
  local budget, depth = o.budget or 32, o.depth or 8
  local tree = S.tree(o.root)
  local open = { tree.root }
  while #open > 0 do
    table.sort(open, function(a, b)
      local va, vb = a.value or math.huge, b.value or math.huge
      if va ~= vb then return va > vb end
      return a.id < b.id
    end)
    local node = table.remove(open, 1)
    local s = node.id ~= 0 and o.stop(node, tree) or nil
    if s == "solution" then
      for _, n in ipairs(open) do set_status(o, tree, n, "pruned") end
      return finish(tree, node)
    end
    if s == "dead" or node.depth >= depth then
      set_status(o, tree, node, "dead")
    elseif tree.stats.nodes >= budget then
      set_status(o, tree, node, "pruned")
    else
      for _, kid in ipairs(expand(o, tree, node, budget - tree.stats.nodes)) do open[#open + 1] = kid end
    end
  end
  return finish(tree, nil)
end

-- S.oracle(T, inst [, {value=fn}]) -> propose, evaluate, stop over a task
-- of plugins/tasks/ without a model: every legal move is a child, a node's
-- value is 1 when the task's brute force can still solve it from there and
-- 0 otherwise (or value(inst, state)), the stop test is the task's own.
function S.oracle(T, inst, opts)
  opts = opts or {}
  local value = opts.value or function(i, st) return T.feasible(i, st) and 1 or 0 end
  local function propose(node)
    local out = {}
    for _, m in ipairs(T.moves(inst, node.state)) do out[#out + 1] = { state = m.state, text = m.line } end
    return out
  end
  local function evaluate(nodes)
    local v = {}
    for i, n in ipairs(nodes) do v[i] = value(inst, n.state) end
    return v
  end
  local function stop(node)
    if T.solved(inst, node.state) then return "solution" end
    if T.done(inst, node.state) then return "dead" end
    return nil
  end
  return propose, evaluate, stop
end

S.METHODS = { bfs = S.bfs, dfs = S.dfs, best = S.best_first }

-- A plain-text rendering of a tree (one line per node, indented), for
-- logs and tests: "#id [status value] text".
function S.render(tree, opts)
  opts = opts or {}
  local out = {}
  local function walk(node, indent)
    local v = node.value and string.format(" %.2f", node.value) or ""
    out[#out + 1] = string.format("%s#%d [%s%s] %s", indent, node.id, node.status, v, node.text or "")
    for _, id in ipairs(node.children) do walk(tree.nodes[id], indent .. "  ") end
  end
  walk(tree.root, "")
  return table.concat(out, "\n")
end

return S
