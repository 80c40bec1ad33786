-- Recipe 2 of docs/training.md: a Number Path solver trained from scratch on
-- the task library's instances with worked solutions (plugins/tasks), then
-- greedy and best-of-N accuracy on held-out instances with the task's
-- checker.
--
--   logitlab run -w WS docs/recipes/numpath_solver.lua [STEPS [N_EVAL [BEST_OF]]]   (from the repository root)
--
-- The model: 4 layers, dim 128 (about 0.9 M parameters), the 512-token
-- vocabulary of stories260K; training instances from seeds 1..20000 at
-- difficulties 1-3, evaluation on seeds from 1000001 (never trained on).
lab.budget{ seconds = 7200 }   -- training takes minutes: past the default 60 s budget
local args = { ... }
local steps = tonumber(args[1]) or 500
local n_eval = tonumber(args[2]) or 60
local best_of = tonumber(args[3]) or 8
local T = assert(assert(lab.require("tasks")).get("numpath"))

local function prompt(inst) return "Question: " .. T.question(inst) .. "\n" end

local vocab = assert(lab.model.open("stories260K.gguf"))
local t0 = lab.now()
local r = assert(lab.train{
  shape = { dim = 128, ffn = 384, layers = 4, heads = 4, kv_heads = 4, ctx = 256 }, vocab = vocab,
  output = "numpath.gguf", steps = steps, batch = 16, seq_len = 160, lr = 2e-3, lr_min = 2e-4,
  warmup = 50, val = 0.02, val_every = 250, seed = 7,
  generator = function(i)
    local inst = T.generate(i, 1 + i % 3)
    return { prompt = prompt(inst), completion = inst.solution }
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

-- KV cells for the best_of sequences decoded together
local m = assert(lab.model.open(lab.store.dir() .. "/numpath.gguf", { n_ctx = 2048 }))
local greedy, one, best = 0, 0, 0
for k = 1, n_eval do
  local inst = T.generate(1000000 + k, 1 + k % 3)
  local g = assert(lab.generate(m:seq(prompt(inst)), { max_tokens = 160, stop = "\nQuestion" }))
  if T.check(inst, g.text) then greedy = greedy + 1 end
  local list = {}
  for j = 1, best_of do
    list[j] = { seq = m:seq(prompt(inst)), sampler = lab.sampler{ temp = 1.0, top_k = 0, top_p = 1, min_p = 0, seed = j } }
  end
  local any = false
  for j, x in ipairs(lab.generate_batch(list, { max_tokens = 160, stop = "\nQuestion" })) do
    local ok = T.check(inst, x.text)
    if ok and j == 1 then one = one + 1 end
    any = any or ok
  end
  if any then best = best + 1 end
  for _, e in ipairs(list) do e.seq:close() end
end
local pct = function(n) return math.floor(100 * n / n_eval + 0.5) end
print(string.format("held-out, %d instances (difficulty 1-3): greedy %d%%, one sample (temperature 1) %d%%, "
  .. "best-of-%d with the checker %d%%", n_eval, pct(greedy), pct(one), best_of, pct(best)))
