-- Tree search with a model (plugins/lib/treemodel.lua, treerun.lua) on
-- stories260K: the accounting of tokens, engine steps and KV cells checked
-- against independent counts (lab.eval_batch and lab.sampler wrapped for
-- the test), every method end to end, and a node's logits equal to those
-- of a fresh sequence with the same tokens.
local tasks = assert(lab.require("tasks"))
local TM = assert(lab.require("treemodel"))
local R = assert(lab.require("treerun"))

local function open() return assert(lab.model.open(MODEL, { n_ctx = 4096 })) end

-- counts what the engine and the samplers are asked, around fn()
local function counting(m, fn)
  local c = { steps = 0, evaluated = 0, picks = 0 }
  local eval_batch, sampler = lab.eval_batch, lab.sampler
  local eos = m:info().eos
  lab.eval_batch = function(seqs)
    c.steps = c.steps + 1
    for _, s in ipairs(seqs) do c.evaluated = c.evaluated + s:pending() end
    return eval_batch(seqs)
  end
  lab.sampler = function(o)
    local s = sampler(o)
    return { pick = function(_, l)
      local t = s:pick(l)
      if t ~= eos then c.picks = c.picks + 1 end
      return t
    end }
  end
  local ok, err = pcall(fn)
  lab.eval_batch, lab.sampler = eval_batch, sampler
  if not ok then error(err, 0) end
  return c
end

test("treemodel: forks share the parent's cells; closing frees them", function()
  local m = open()
  local lm = TM.new(m)
  local root = assert(lm:root("Once upon a time"))
  local P = #root.seq
  local kids = assert(lm:fork(root, 3))
  check.eq(lm.stats.cells, P, "the prompt evaluated once before the forks")
  check.eq(lm.stats.steps, 1, "one step")
  check.eq(lm.stats.seqs, 4, "four sequences")
  for _, k in ipairs(kids) do lm:append(k, " there") end
  local s = #kids[1].seq - P
  local rs = assert(lm:generate(kids, { max_tokens = 5, sampler = lab.sampler{ temp = 1, seed = 3 } }))
  local want = P
  for i, r in ipairs(rs) do
    check.eq(#kids[i].seq, P + s + r.n, "the generated tokens are appended")
    want = want + s + r.n - (r.reason == "eos" and 0 or 1)   -- the last sampled token is pending
  end
  check.eq(lm.stats.cells, want, "cells: the prompt once, each fork's own tokens")
  check.eq(lm.stats.generated, rs[1].n + rs[2].n + rs[3].n, "generated")
  local peak = lm.stats.peak_cells
  lm:close(root)
  check.eq(lm.stats.cells, want, "the prompt's cells stay while forks hold them")
  for _, k in ipairs(kids) do lm:close(k) end
  check.eq(lm.stats.cells, 0, "all freed")
  check.eq(lm.stats.seqs, 0, "no sequence held")
  check.eq(lm.stats.peak_cells, peak, "the peak stays")
  check.eq(lm.stats.peak_seqs, 4, "peak sequences")
end)

test("treemodel: a node's logits are the same as a fresh sequence's (bitwise)", function()
  local m = open()
  local lm = TM.new(m)
  local root = assert(lm:root("Once upon a time"))
  local kids = assert(lm:fork(root, 2))
  lm:append(kids[1], " there was")
  lm:append(kids[2], " in a")
  local ok, rows = lm:flush(kids)
  check.ok(ok, "flush")
  for i = 1, 2 do
    -- the same tokens in one chunk, alone in its batch
    local fresh = m:seq(kids[i].seq:tokens())
    local l = fresh:eval()
    local diff = 0
    for t = 0, #l - 1 do diff = math.max(diff, math.abs(l:get(t) - rows[i]:get(t))) end
    check.eq(diff, 0, "fork " .. i .. ": every logit equal")
  end
end)

local function node_sum(tree)
  local g = 0
  for id = 0, tree.n do
    local n = tree.nodes[id]
    g = g + (n.gen_tokens or 0) + (n.eval_tokens or 0) + (n.propose_tokens or 0) + (n.dup_tokens or 0)
  end
  return g
end

test("every method on stories260K: the accounting equals the independent count", function()
  lab.budget{ seconds = 300 }
  local m = open()
  local T = tasks.get("numpath")
  local inst = T.generate(1, 1)
  local runs = {
    { "cot" }, { "ats-bfs" }, { "ats-dfs" },
    { "tot-bfs" }, { "tot-dfs" }, { "tot-best" },
    { "tot-bfs", gen = "propose" }, { "tot-bfs", gen = "moves" }, { "tot-dfs", gen = "moves", eval = "probe" },
    { "tot-best", gen = "moves", eval = "verifier" }, { "tot-bfs", eval = "logprob" },
  }
  for _, run in ipairs(runs) do
    local cfg = {}
    for k, v in pairs(R.DEFAULTS) do cfg[k] = v end
    cfg.max_tokens, cfg.step_tokens, cfg.votes = 48, 12, 2
    cfg.gen, cfg.eval = run.gen or "sample", run.eval or "value"
    local what = run[1] .. " " .. cfg.gen .. " " .. cfg.eval
    local lm = TM.new(m)
    local res
    local c = counting(m, function() res = R.run(lm, T, inst, run[1], cfg) end)
    check.ok(not res.error, what .. ": " .. tostring(res.error))
    check.eq(res.steps, c.steps, what .. ": engine steps")
    check.eq(res.evaluated, c.evaluated, what .. ": evaluated tokens")
    check.eq(res.generated, c.picks, what .. ": generated tokens")
    check.eq(lm.stats.cells, 0, what .. ": every cell given back")
    check.eq(lm.stats.seqs, 0, what .. ": every sequence given back")
    if res.tree and run[1]:match("^tot") then
      check.eq(node_sum(res.tree), res.generated, what .. ": the nodes' tokens add up to the total")
    end
    if run[1] == "cot" then
      local P = #m:tokenize(T.prompt(inst, "cot"))
      check.eq(res.peak_cells, P + res.generated - (res.reason == "eos" and 0 or 1), what .. ": peak cells")
    end
    if run[1]:match("^ats") then check.ok(res.tree and res.tree.mode, what .. ": the trajectory is parsed") end
    if cfg.gen == "moves" then check.ok(res.tree.n > 2, what .. ": the tree grows past the root") end
    check.ok(type(res.ok) == "boolean", what .. ": checked")
  end
end)

test("duplicate samples of a step are one node (dedup), kept apart with dedup = false", function()
  lab.budget{ seconds = 120 }
  local m = open()
  local T = tasks.get("numpath")
  local inst = T.generate(3, 2)
  for _, dedup in ipairs({ true, false }) do
    local cfg = {}
    for k, v in pairs(R.DEFAULTS) do cfg[k] = v end
    -- top_k 1: the k samples of a step are the same text
    cfg.top_k, cfg.k, cfg.b, cfg.depth, cfg.step_tokens, cfg.eval = 1, 3, 2, 3, 8, "logprob"
    cfg.dedup = dedup
    local lm = TM.new(m)
    local res = R.run(lm, T, inst, "tot-bfs", cfg)
    local what = dedup and "dedup" or "no dedup"
    check.ok(not res.error, what .. ": " .. tostring(res.error))
    local t, expanded = res.tree, 0
    for id = 0, t.n do
      local n = t.nodes[id]
      if n.status == "expanded" then
        expanded = expanded + 1
        check.eq(#n.children, dedup and 1 or 3, what .. ": children of node " .. id)
        for _, c in ipairs(n.children) do
          check.eq(t.nodes[c].dups, dedup and 2 or nil, what .. ": copies counted on the kept child")
        end
      end
    end
    check.ok(expanded >= 1, what .. ": the root expanded")
    check.eq(t.stats.duplicates, dedup and 2 * expanded or 0, what .. ": duplicates counted")
    check.eq(node_sum(t), res.generated, what .. ": the nodes' tokens (duplicates' on the kept child) add up")
    check.eq(lm.stats.cells, 0, what .. ": the duplicates' sequences given back")
    check.eq(lm.stats.seqs, 0, what .. ": no sequence held")
  end
end)

test("prompt format 'question': a search's nodes are the tokens the trained model saw", function()
  lab.budget{ seconds = 120 }
  local m = open()
  local T = tasks.get("numpath")
  local inst = T.generate(5, 2)
  local cfg = {}
  for k, v in pairs(R.DEFAULTS) do cfg[k] = v end
  cfg.format, cfg.gen, cfg.eval, cfg.keep_paths = "question", "moves", "verifier", true
  local res = R.run(TM.new(m), T, inst, "tot-bfs", cfg)
  check.ok(res.ok, "the verifier's BFS over the moves solves it: " .. tostring(res.why))
  local p, c = T.training_pair(inst)
  check.eq(res.prompt, p, "the root's prompt")
  -- the solution node's tokens: the training example's (prompt with BOS,
  -- completion as its continuation) up to the summary line
  local node = res.tree.solution
  local steps = c:match("^(.*\n)Answer:")
  local want = m:tokenize(p)
  for _, t in ipairs(m:tokenize(steps, { bos = false, context = true })) do want[#want + 1] = t end
  check.same_list(node.path_tokens, want, "the solution's path = the training tokens")
  -- and ATS has no such prompt: a clear error, not a search
  local r2 = R.run(TM.new(m), T, inst, "ats-bfs", cfg)
  check.ok(r2.error and r2.error:find("format 'question' has no ats%-bfs form"), "ATS refused: " .. tostring(r2.error))
end)

test("the tree plugin: :tree runs a search, the pane shows the tree, o asks for the loom", function()
  lab.budget{ seconds = 120 }
  check.ok(lab.plugin.load("tree"))
  local pane, status
  for _, h in ipairs(lab.ui.list()) do
    if h.plugin == "tree" and h.kind == "pane" then pane = h.id end
    if h.plugin == "tree" and h.kind == "status" then status = h.id end
  end
  check.ok(pane and status, "a pane and a status item")
  check.ok(lab.ui.pane_draw(pane, 100, 20)[1]:find("no run yet"), "empty pane")
  check.ok(lab.ui.run_command("tree", "model=" .. MODEL .. " task=numpath method=tot-bfs gen=moves eval=probe seed=2"))
  local lines
  local t0 = lab.now()   -- by the clock: slow under ASAN on a loaded machine
  while lab.now() - t0 < 120 do
    lines = lab.ui.pane_draw(pane, 120, 30)
    if lines[1]:find(" ok ") or lines[1]:find(" %-%- ") then break end
    lab.sleep(0.005)
  end
  check.ok(lines[1]:find("numpath #2 tot%-bfs ok"), "the search ends solved: " .. lines[1])
  check.ok(lines[3]:find("^>%+ expanded") and lines[3]:find("%(root%)"), "the root is selected: " .. lines[3])
  local n_nodes = tonumber(lines[1]:match("| (%d+) nodes"))
  check.ok(n_nodes >= 2, "nodes")
  check.ok(lab.ui.status_get(status):find("tree tot%-bfs " .. n_nodes), "status")
  check.eq(lab.ui.pane_key(pane, "j"), 3, "j moves down (handled, redraw)")
  lines = lab.ui.pane_draw(pane, 120, 30)
  check.ok(lines[4]:sub(1, 1) == ">", "the second line is selected")
  check.eq(lab.ui.pane_key(pane, "o"), 3, "o is handled")
  lines = lab.ui.pane_draw(pane, 120, 30)
  check.ok(lines[#lines]:find("loom: no workbench"), "headless: no loom: " .. lines[#lines])
  check.eq(lab.ui.pane_key(pane, "q"), 0, "other keys pass")
  local found = false
  for _, l in ipairs(lines) do found = found or l:find("^ +%* solution") ~= nil end
  check.ok(found, "a solution node is drawn")
  check.raises("the text is empty", lab.ui.loom_open, "")
  check.fails("headless", lab.ui.loom_open("x"))
  check.ok(lab.plugin.disable("tree"))
end)
