-- ats: the trajectory of an ATS completion (Zhang et al. 2023, "Autonomous
-- Tree-search Ability of Large Language Models") read back into a tree of
-- the same shape as treesearch's, for display and accounting. The formats
-- are the ones the prompts of plugins/tasks/common.lua ask for:
--
-- ATS-BFS   "Step 2:" headers and "Scenario 1.2: TEXT" lines; a label's
--           prefix names its parent ("1.2" under "1"), "(dead end)" marks
--           a scenario the model gave up.
-- ATS-DFS   "Step K: TEXT" lines; a step K below the current depth goes
--           back up (its old siblings' subtrees are abandoned); "Back to
--           step K." marks the node it leaves as pruned.
--
-- Both end at the "Answer:" line. A completion that stops before it is
-- `truncated`; lines that fit neither form are skipped, and problems
-- (a scenario whose parent never appeared, a step that skips a depth, a
-- duplicate label) are listed in `errors` with their line numbers, the node
-- still being attached where it can be. With a task and an instance, each
-- node's step is applied to its parent's state (T.apply): a step that does
-- not apply is "invalid", and the node whose path the answer follows is the
-- "solution" when the task's checker accepts the completion.
local S = assert(lab.require("treesearch"))
local A = {}

local function new_tree() return S.tree({ text = "(question)" }) end

local function add(tree, parent, fields)
  tree.n = tree.n + 1
  local node = { id = tree.n, parent = parent.id, depth = parent.depth + 1, children = {}, status = "expanded" }
  for k, v in pairs(fields) do node[k] = v end
  tree.nodes[node.id] = node
  parent.children[#parent.children + 1] = node.id
  tree.stats.nodes = tree.stats.nodes + 1
  return node
end

local function lines_of(text)
  local out = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do out[#out + 1] = line end
  return out
end

-- parse an ATS-BFS trajectory
local function parse_bfs(text, tree, errors)
  local by_label = { [""] = tree.root }
  local answer
  for ln, line in ipairs(lines_of(text)) do
    local a = line:match("^%s*[Aa]nswer%s*:%s*(.-)%s*$")
    if a then answer = { line = ln, text = a }; break end
    local label, body = line:match("^%s*[Ss]cenario%s+([%d%.]+)%s*:%s*(.-)%s*$")
    if label then
      label = label:gsub("%.$", "")
      local dead = body:find("%(dead end%)") ~= nil
      body = body:gsub("%s*%(dead end%)%s*", "")
      local parent_label = label:match("^(.*)%.%d+$") or ""
      local parent = by_label[parent_label]
      if not parent then
        errors[#errors + 1] = { line = ln, error = string.format("scenario %s: no scenario %s before it", label, parent_label) }
        parent = tree.root
      end
      if by_label[label] then
        errors[#errors + 1] = { line = ln, error = "scenario " .. label .. " appears twice" }
      end
      local node = add(tree, parent, { text = body, label = label, line = ln, status = dead and "pruned" or "open" })
      if parent.status == "open" then parent.status = "expanded" end
      by_label[label] = node
    end
  end
  return answer
end

-- parse an ATS-DFS trajectory
local function parse_dfs(text, tree, errors)
  local path = { [0] = tree.root }   -- path[d]: the node at depth d on the current branch
  local depth = 0
  local answer
  for ln, line in ipairs(lines_of(text)) do
    local a = line:match("^%s*[Aa]nswer%s*:%s*(.-)%s*$")
    if a then answer = { line = ln, text = a }; break end
    local k, body = line:match("^%s*[Ss]tep%s+(%d+)%s*:%s*(.-)%s*$")
    local back = line:match("[Bb]ack to step%s+(%d+)")
    if k and body ~= "" then
      k = tonumber(k)
      if k > depth + 1 then
        errors[#errors + 1] = { line = ln, error = string.format("step %d after step %d skips a depth", k, depth) }
        k = depth + 1
      elseif k < 1 then
        errors[#errors + 1] = { line = ln, error = "step numbers start at 1" }
        k = 1
      end
      -- going back up: the abandoned branch below k-1 is pruned unless marked already
      for d = k, depth do
        if path[d] and path[d].status == "open" then path[d].status = "pruned" end
      end
      local parent = path[k - 1]
      if parent.status == "open" then parent.status = "expanded" end
      local node = add(tree, parent, { text = body, line = ln, status = "open" })
      path[k], depth = node, k
      for d = k + 1, #path do path[d] = nil end
    end
    if back then
      back = tonumber(back)
      if back > depth then
        errors[#errors + 1] = { line = ln, error = string.format("back to step %d from step %d", back, depth) }
      else
        for d = back + 1, depth do path[d].status = "pruned"; path[d] = nil end
        depth = back
      end
    end
  end
  return answer
end

-- A.parse(text, mode [, T, inst]) -> tree with .answer ({line=, text=} or
-- nil), .truncated, .errors ({line=, error=}...), .mode; mode "bfs" | "dfs"
-- (or "ats-bfs" | "ats-dfs").
function A.parse(text, mode, T, inst)
  assert(type(text) == "string", "the trajectory must be text")
  mode = mode:gsub("^ats%-", "")
  local tree, errors = new_tree(), {}
  local answer
  if mode == "bfs" then answer = parse_bfs(text, tree, errors)
  elseif mode == "dfs" then answer = parse_dfs(text, tree, errors)
  else error("unknown ATS mode '" .. tostring(mode) .. "'", 2) end
  tree.mode, tree.errors, tree.answer, tree.truncated = mode, errors, answer, answer == nil
  if T and inst then A.annotate(tree, T, inst, text) end
  -- leaves left open at the end: pruned when an answer closed the search
  for id = 1, tree.n do
    local n = tree.nodes[id]
    if n.status == "open" and #n.children == 0 and not tree.truncated then n.status = "pruned" end
  end
  return tree
end

-- Apply each node's step to its parent's state; mark steps that do not
-- apply "invalid" (with .error) and, when the completion checks, the node
-- whose state gives the answer "solution".
function A.annotate(tree, T, inst, text)
  tree.root.state = T.start(inst)
  local ok = T.check(inst, text)
  tree.correct = ok
  local want = ok and tree.answer and ("Answer: " .. tree.answer.text) or nil
  for id = 1, tree.n do     -- ids increase from parent to child
    local n = tree.nodes[id]
    local p = tree.nodes[n.parent]
    if p.state then
      local st, err = T.apply(inst, p.state, n.text or "")
      if st then
        n.state = st
        n.value = T.feasible(inst, st) and 1 or 0
        if want and T.solved(inst, st) and not tree.solution then
          n.status, tree.solution = "solution", n
        end
      else
        n.status, n.error = "invalid", err
      end
    else
      n.status, n.error = "invalid", "its parent's step is invalid"
    end
  end
  return tree
end

return A
