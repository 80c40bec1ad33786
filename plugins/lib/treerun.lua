-- treerun: one instance of a puzzle solved by one method with a model:
-- the CoT baseline, Tree-of-Thoughts search (Yao et al. 2023) on forked KV
-- sequences, and ATS prompting (Zhang et al. 2023). plugins/tree.lua (the
-- command line, the workbench pane) runs it over many instances.
--
--   local R = assert(lab.require("treerun"))
--   local res = R.run(lm, T, inst, "tot-bfs", cfg [, on_event])
--
-- lm is a treemodel handle (plugins/lib/treemodel.lua), T a task of
-- plugins/tasks/, cfg the settings (R.DEFAULTS). The result: answer (the
-- summary line), ok / why (the task's checker), text (the completion, CoT
-- and ATS), tree (treesearch's, or the parsed ATS trajectory), and the
-- costs of this instance: generated, evaluated, steps, peak_cells, seqs,
-- wall_s. on_event(kind, node, tree) sees the tree grow.
local TS = assert(lab.require("treesearch"))
local TM = assert(lab.require("treemodel"))
local A = assert(lab.require("ats"))
local R = {}
local fmt = string.format

R.METHODS = { "cot", "tot-bfs", "tot-dfs", "tot-best", "ats-bfs", "ats-dfs" }
R.EVALS = { "value", "probe", "logprob", "verifier" }

R.DEFAULTS = {
  k = 3,              -- children per node (sample: k draws; propose: at most k lines)
  b = 2,              -- BFS beam width
  gen = "sample",     -- how children are made: sample | propose | moves (the task's legal moves)
  eval = "value",     -- value | probe | logprob | verifier
  votes = 3,          -- value prompt samples per node
  threshold = 0.5,    -- DFS prunes children valued below it
  budget = 24,        -- best-first: nodes made at most
  depth = 12,         -- search depth at most (the task's own step limit also stops it)
  step_tokens = 32,   -- tokens per step (sample) or per proposal line list
  max_tokens = 256,   -- tokens of a CoT / ATS completion
  temp = 0.8,         -- sampling temperature of children and votes
  cot_temp = 0,       -- temperature of CoT and ATS completions (0: greedy)
  top_k = 40, top_p = 0.95, min_p = 0.05,
  seed = 42,
  shots = nil,        -- worked examples in the prompts (default: all the task has)
  format = "full",    -- prompt format: full (rules, worked examples) | question (a model trained on
                      -- the task's worked solutions: "Question: ...", T.training_pair)
  keep_paths = false, -- keep each node's tokens (node.path_tokens), for the workbench's loom key
  dedup = true,       -- siblings with the same step text are one node (the first; node.dups counts
                      -- the others): a beam of identical samples explores nothing
}

local VOTE = { sure = 1, likely = 0.5, impossible = 0 }

local function sampler(cfg, temp, salt)
  return lab.sampler{ temp = temp, top_k = cfg.top_k, top_p = cfg.top_p, min_p = cfg.min_p, seed = cfg.seed + (salt or 0) }
end

-- the first word of a judgement: sure / likely / impossible, or nil
local function judgement(text)
  local w = text:lower():match("(%a+)")
  return w and VOTE[w] and w or nil
end

-- ---- one completion (CoT, ATS) ----

local function complete(lm, prompt, cfg)
  local h, err = lm:root(prompt)
  if not h then return nil, err end
  local r
  r, err = lm:generate({ h }, { max_tokens = cfg.max_tokens, sampler = sampler(cfg, cfg.cot_temp), stop = TM.at_answer })
  lm:close(h)
  if not r then return nil, err end
  return r[1]
end

-- ---- Tree of Thoughts ----

-- the functions treesearch needs, over the model
local function tot_functions(lm, T, inst, cfg, counters)
  local salt = 0
  local function next_sampler(temp) salt = salt + 1; return sampler(cfg, temp, salt) end

  -- a child from a step text: its state (or the reason it is invalid)
  local function child(parent, line, handle, r)
    local text = line:gsub("^%s+", ""):gsub("%s+$", "")
    local st, why = T.apply(inst, parent.state, text)
    return { text = text, state = st, invalid = not st and why or nil, h = handle,
             gen_tokens = r and r.n or 0, logprob = r and r.logprob or nil,
             cost = { generated = r and r.n or 0 } }
  end

  -- The children of several nodes: the parents' pending tokens in one
  -- step, then every child's (or proposal's) tokens sampled together.
  -- Returns one payload list per node and the cost.
  local function propose_many(nodes)
    local parents = {}
    for i, n in ipairs(nodes) do parents[i] = n.h end
    assert(lm:flush(parents))
    local groups = {}
    if cfg.gen == "moves" then
      -- the task's legal moves: the model only reads and values them
      for g, node in ipairs(nodes) do
        local ms, out = T.moves(inst, node.state), {}
        if #ms > 0 then
          local kids = assert(lm:fork(node.h, #ms))
          for i, m in ipairs(ms) do
            lm:append(kids[i], fmt("Step %d: %s\n", #node.state.steps + 1, m.line))
            out[i] = child(node, m.line, kids[i], nil)
          end
        end
        groups[g] = out
      end
      return groups
    end
    if cfg.gen == "sample" then
      local all, owner = {}, {}
      for g, node in ipairs(nodes) do
        for _, k in ipairs(assert(lm:fork(node.h, cfg.k))) do
          lm:append(k, T.suffix(inst, node.state, "sample"))
          all[#all + 1], owner[#all + 1] = k, g
        end
        groups[g] = {}
      end
      local rs = assert(lm:generate(all, { max_tokens = cfg.step_tokens, sampler = next_sampler(cfg.temp), stop = TM.at_newline }))
      for i, r in ipairs(rs) do
        if r.reason ~= "stop" then lm:append(all[i], "\n") end   -- the step ends its line either way
        local g = owner[i]
        table.insert(groups[g], child(nodes[g], r.text, all[i], r))
      end
      return groups
    end
    -- propose: one completion per node lists the candidates, one per line
    local phs = {}
    for g, node in ipairs(nodes) do
      phs[g] = assert(lm:fork(node.h, 1))[1]
      lm:append(phs[g], T.suffix(inst, node.state, "propose"))
    end
    local k = cfg.k
    local rs = assert(lm:generate(phs, { max_tokens = cfg.step_tokens * k, sampler = next_sampler(cfg.temp),
      stop = function(text) local _, n = text:gsub("\n", ""); return n >= k end }))
    local cost = { generated = 0 }
    for g, node in ipairs(nodes) do
      local r = rs[g]
      lm:close(phs[g])
      node.propose_tokens = r.n
      cost.generated = cost.generated + r.n
      local lines = {}
      for line in (r.text .. "\n"):gmatch("([^\n]*)\n") do
        line = line:gsub("^%s*[%-%*%d%.%)]*%s*", "")
        if line:match("%S") and #lines < k then lines[#lines + 1] = line end
      end
      local out = {}
      if #lines > 0 then
        local kids = assert(lm:fork(node.h, #lines))
        for i, line in ipairs(lines) do
          lm:append(kids[i], fmt("Step %d: %s\n", #node.state.steps + 1, line))
          out[i] = child(node, line, kids[i], nil)
        end
      end
      groups[g] = out
    end
    return groups, cost
  end

  local function propose(node)
    local groups, cost = propose_many({ node })
    return groups[1], cost
  end

  local function evaluate(nodes)
    local values, valid = {}, {}
    for i, n in ipairs(nodes) do
      values[i] = 0
      if not n.invalid then valid[#valid + 1] = i end
    end
    if #valid == 0 or cfg.eval == "verifier" then
      for _, i in ipairs(valid) do values[i] = T.feasible(inst, nodes[i].state) and 1 or 0 end
      return values
    end
    if cfg.eval == "logprob" then
      for _, i in ipairs(valid) do
        local n = nodes[i]
        values[i] = n.gen_tokens > 0 and math.exp(n.logprob / n.gen_tokens) or 0
      end
      return values
    end
    -- a value prompt on a fork of each valid node, all in one batch (the
    -- nodes' own pending tokens first, in one step)
    local own = {}
    for j, i in ipairs(valid) do own[j] = nodes[i].h end
    assert(lm:flush(own))
    local hs = {}
    for j, i in ipairs(valid) do
      local n = nodes[i]
      local copies = assert(lm:fork(n.h, cfg.eval == "value" and cfg.votes or 1))
      for _, c in ipairs(copies) do lm:append(c, T.suffix(inst, n.state, "value")); hs[#hs + 1] = { h = c, i = i } end
    end
    local list = {}
    for j, x in ipairs(hs) do list[j] = x.h end
    local cost = { generated = 0 }
    if cfg.eval == "probe" then
      local ps = assert(lm:probe(list, { " sure", " likely", " impossible" }))
      for j, x in ipairs(hs) do
        local p = ps[j]
        local z = p[" sure"] + p[" likely"] + p[" impossible"]
        values[x.i] = z > 0 and (p[" sure"] + 0.5 * p[" likely"]) / z or 0
      end
    else
      local rs = assert(lm:generate(list, { max_tokens = 3, sampler = next_sampler(cfg.temp), stop = TM.at_newline }))
      local sum, cnt = {}, {}
      for j, x in ipairs(hs) do
        cost.generated = cost.generated + rs[j].n
        nodes[x.i].eval_tokens = (nodes[x.i].eval_tokens or 0) + rs[j].n
        local w = judgement(rs[j].text)
        nodes[x.i].votes = nodes[x.i].votes or {}
        table.insert(nodes[x.i].votes, w or "?")
        if w then sum[x.i] = (sum[x.i] or 0) + VOTE[w]; cnt[x.i] = (cnt[x.i] or 0) + 1 end
      end
      for _, i in ipairs(valid) do values[i] = cnt[i] and sum[i] / cnt[i] or 0 end
    end
    for _, x in ipairs(hs) do lm:close(x.h) end
    return values, cost
  end

  local function stop(node)
    if node.invalid then return "dead" end
    if T.solved(inst, node.state) then return "solution" end
    if T.done(inst, node.state) then return "dead" end
    return nil
  end

  return propose, evaluate, stop, propose_many
end

local function tot(lm, T, inst, method, cfg, on_event)
  local root = assert(lm:root(T.prompt(inst, "tot", nil, { shots = cfg.shots, format = cfg.format })))
  local propose, evaluate, stop, propose_many = tot_functions(lm, T, inst, cfg)
  local held = {}
  local o = {
    root = { state = T.start(inst), h = root, text = "" },
    propose = propose, evaluate = evaluate, stop = stop, propose_many = propose_many,
    -- the step text after trimming (child()): the same text from the same
    -- parent is the same state (the first sample's tokens and value kept)
    key = cfg.dedup and function(p) return p.text end or nil,
    drop = function(p, twin)
      if p.h then lm:close(p.h); p.h = nil end
      -- the kept sibling carries a duplicate's sampled tokens, so the nodes'
      -- tokens still add up to the instance's
      if twin then twin.dup_tokens = (twin.dup_tokens or 0) + (p.gen_tokens or 0) end
    end,
    b = cfg.b, depth = cfg.depth, threshold = cfg.threshold, budget = cfg.budget,
    on_event = function(kind, node, tree)
      -- a node's sequence is needed only until it has children or is cut
      if (kind == "expanded" or kind == "pruned" or kind == "dead") and node.h then
        if cfg.keep_paths then node.path_tokens = node.h.seq:tokens() end
        lm:close(node.h); node.h = nil
      end
      if on_event then on_event(kind, node, tree) end
    end,
  }
  local search = ({ ["tot-bfs"] = TS.bfs, ["tot-dfs"] = TS.dfs, ["tot-best"] = TS.best_first })[method]
  if method ~= "tot-dfs" or cfg.dfs_budget == false then o.budget = method == "tot-best" and cfg.budget or nil end
  local res = search(o)
  for id = 0, res.tree.n do
    local n = res.tree.nodes[id]
    if n.h then
      if cfg.keep_paths then n.path_tokens = n.h.seq:tokens() end
      lm:close(n.h); n.h = nil
    end
  end
  local answer
  if res.solution then answer = T.answer_of(inst, res.solution.state) end
  return res.tree, answer, res.cost
end

-- R.run(lm, T, inst, method, cfg [, on_event]) -> result (see the top)
function R.run(lm, T, inst, method, cfg, on_event)
  local st = lm.stats
  local before = { generated = st.generated, evaluated = st.evaluated, steps = st.steps }
  st.peak_cells, st.peak_seqs = st.cells, st.seqs
  local t0 = lab.now()
  local res = { method = method }
  local ok, err = pcall(function()
    if method == "cot" or method == "ats-bfs" or method == "ats-dfs" then
      res.prompt = T.prompt(inst, method, nil, { shots = cfg.shots, format = cfg.format })
      local r = assert(complete(lm, res.prompt, cfg))
      res.text, res.reason = r.text, r.reason
      if method ~= "cot" then
        res.tree = A.parse(r.text, method, T, inst)
        if on_event then on_event("parsed", res.tree.root, res.tree) end
      end
      local a = r.text:match("[Aa]nswer%s*:[^\n]*")
      res.answer = a
    else
      res.prompt = T.prompt(inst, "tot", nil, { shots = cfg.shots, format = cfg.format })
      local tree, answer, cost = tot(lm, T, inst, method, cfg, on_event)
      res.tree, res.answer, res.search_cost = tree, answer, cost
    end
  end)
  res.wall_s = lab.now() - t0
  res.generated = st.generated - before.generated
  res.evaluated = st.evaluated - before.evaluated
  res.steps = st.steps - before.steps
  res.peak_cells, res.peak_seqs = st.peak_cells, st.peak_seqs
  if not ok then
    res.ok, res.why, res.error = false, tostring(err), tostring(err)
    return res
  end
  if method:match("^tot") then
    if res.answer then res.ok, res.why = T.check(inst, res.answer)
    else res.ok, res.why = false, "the search found no solution" end
  else
    res.ok, res.why = T.check(inst, res.text)
  end
  return res
end

return R
