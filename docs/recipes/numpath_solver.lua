-- Recipe 2 of docs/training.md: a Number Path solver trained from scratch on
-- the task library's instances with worked solutions (plugins/tasks), then
-- greedy, best-of-N and tree-search accuracy on held-out instances with the
-- task's checker.
--
--   logitlab run -w WS docs/recipes/numpath_solver.lua [STEPS [N_EVAL [BEST_OF [TREE]]]]   (from the repository root)
--
-- The model: 4 layers, dim 128 (about 0.9 M parameters), the 512-token
-- vocabulary of stories260K; training instances from seeds 1..20000 at
-- difficulties 1-3 (T.training_pair: the prompt "Question: ...\n", the
-- worked solution as the completion), evaluation on seeds from 1000001
-- (never trained on). STEPS 0 keeps a numpath.gguf already in WS (no
-- training). TREE: "all" (default) runs the tree searches below, "bfs" only
-- the model-valued BFS (with and without merging duplicates), "none" none.
--
-- The tree searches are plugins/lib/treerun.lua's R.run, as plugins/tree.lua
-- runs them, with the prompt format "question" (the format the model was
-- trained on: the question, then "Step i: ..." lines, one node a step):
--   ToT BFS, children sampled (k = 3, beam 2), valued by the model's mean
--     token probability of the step (eval logprob: the model alone); once
--     as plugins/tree.lua runs it (sibling samples with the same step text
--     are one node) and once with duplicates kept (--keep-duplicates);
--   ToT BFS and DFS valued by the task's feasibility test (eval verifier: an
--     oracle on states, as the checker is for best-of-N).
lab.budget{ seconds = 7200 }   -- training takes minutes: past the default 60 s budget
local args = { ... }
local steps = tonumber(args[1]) or 500
local n_eval = tonumber(args[2]) or 60
local best_of = tonumber(args[3]) or 8
local tree = args[4] or "all"
assert(tree == "all" or tree == "bfs" or tree == "none", "TREE is all, bfs or none")
local T = assert(assert(lab.require("tasks")).get("numpath"))
local TM = assert(lab.require("treemodel"))
local R = assert(lab.require("treerun"))
local fmt = string.format

local function prompt(inst) return (T.training_pair(inst)) end

if steps == 0 then
  if not lab.fs.exists("numpath.gguf") then error("STEPS 0 needs a numpath.gguf in the workspace", 0) end
else
local vocab = assert(lab.model.open("stories260K.gguf"))
local t0 = lab.now()
local r = assert(lab.train{
  shape = { dim = 128, ffn = 384, layers = 4, heads = 4, kv_heads = 4, ctx = 256 }, vocab = vocab,
  output = "numpath.gguf", steps = steps, batch = 16, seq_len = 160, lr = 2e-3, lr_min = 2e-4,
  warmup = 50, val = 0.02, val_every = 250, seed = 7,
  generator = function(i)
    local p, c = T.training_pair(T.generate(i, 1 + i % 3))
    return { prompt = p, completion = c }
  end, n = 20000,
  on_step = function(s)
    if s.step % 250 == 0 then
      print(string.format("step %d/%d  loss %.3f%s  %.0f tok/s", s.step, s.steps, s.loss,
        s.val_loss and string.format("  val %.3f", s.val_loss) or "", s.tok_per_s))
    end
  end,
})
print(string.format("trained %d steps in %.0f s: loss %.3f, validation %s", r.steps, lab.now() - t0, r.loss,
  r.val_loss and string.format("%.3f", r.val_loss) or "-"))
end

-- KV cells for the best_of sequences decoded together (and a tree's nodes)
local m = assert(lab.model.open(lab.store.dir() .. "/numpath.gguf", { n_ctx = 4096 }))
local SEARCHES = {
  { name = "ToT BFS, k 3, beam 2, model's step probability", method = "tot-bfs", gen = "sample", eval = "logprob" },
  { name = "ToT BFS, k 3, beam 2, model's step probability, duplicates kept", method = "tot-bfs", gen = "sample",
    eval = "logprob", dedup = false },
  { name = "ToT BFS, k 3, beam 2, feasibility verifier", method = "tot-bfs", gen = "sample", eval = "verifier" },
  { name = "ToT DFS, k 3, feasibility verifier", method = "tot-dfs", gen = "sample", eval = "verifier" },
}
if tree == "bfs" then SEARCHES = { SEARCHES[1], SEARCHES[2] } elseif tree == "none" then SEARCHES = {} end
local lm = TM.new(m)
local function cfg_of(s)
  local c = {}
  for k, v in pairs(R.DEFAULTS) do c[k] = v end
  c.format, c.method, c.gen, c.eval = "question", s.method, s.gen, s.eval
  if s.dedup ~= nil then c.dedup = s.dedup end
  return c
end
local greedy, one, best, cot_same, best_tok = 0, 0, 0, 0, 0
local tsolved, ttok, tdup = {}, {}, {}
for i = 1, #SEARCHES do tsolved[i], ttok[i], tdup[i] = 0, 0, 0 end
local t1 = lab.now()
for k = 1, n_eval do
  local inst = T.generate(1000000 + k, 1 + k % 3)
  local g = assert(lab.generate(m:seq(prompt(inst)), { max_tokens = 160, stop = "\nQuestion" }))
  local g_ok = T.check(inst, g.text)
  if g_ok then greedy = greedy + 1 end
  -- the tree plugin's greedy CoT in the same prompt format: the same answer
  local cot = R.run(lm, T, inst, "cot", cfg_of({ method = "cot", gen = "sample", eval = "logprob" }))
  if (cot.ok and true or false) == (g_ok and true or false) then cot_same = cot_same + 1 end
  local list = {}
  for j = 1, best_of do
    list[j] = { seq = m:seq(prompt(inst)), sampler = lab.sampler{ temp = 1.0, top_k = 0, top_p = 1, min_p = 0, seed = j } }
  end
  local any = false
  for j, x in ipairs(lab.generate_batch(list, { max_tokens = 160, stop = "\nQuestion" })) do
    local ok = T.check(inst, x.text)
    best_tok = best_tok + x.n
    if ok and j == 1 then one = one + 1 end
    any = any or ok
  end
  if any then best = best + 1 end
  for _, e in ipairs(list) do e.seq:close() end
  for i, s in ipairs(SEARCHES) do
    local res = R.run(lm, T, inst, s.method, cfg_of(s))
    if res.error then error(fmt("%s on instance %d: %s", s.name, k, res.error), 0) end
    if res.ok then tsolved[i] = tsolved[i] + 1 end
    ttok[i] = ttok[i] + res.generated
    tdup[i] = tdup[i] + res.tree.stats.duplicates
  end
end
local pct = function(n) return math.floor(100 * n / n_eval + 0.5) end
print(fmt("held-out, %d instances (difficulty 1-3; %.0f s): greedy %d%%, one sample (temperature 1) %d%%, "
  .. "best-of-%d with the checker %d%% (%.1f tokens generated per instance); the tree plugin's greedy CoT "
  .. "agrees with greedy on %d of %d", n_eval, lab.now() - t1, pct(greedy), pct(one), best_of, pct(best),
  best_tok / n_eval, cot_same, n_eval))
for i, s in ipairs(SEARCHES) do
  print(fmt("tree search, %s: %d%% (%.1f tokens generated per instance, %.1f duplicate children merged)", s.name,
    pct(tsolved[i]), ttok[i] / n_eval, tdup[i] / n_eval))
end
