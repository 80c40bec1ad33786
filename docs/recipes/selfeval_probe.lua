-- Recipe 3 of docs/training.md: a trained self-evaluation probe for the
-- recipe-2 Number Path solver, and adaptive best-of-N with it (Manvi, Singh,
-- Ermon 2024, "Adaptive Inference-Time Compute: LLMs Can Predict if They
-- Can Do Better, Even Mid-Generation", arXiv:2410.02725).
--
--   logitlab run -w WS docs/recipes/selfeval_probe.lua [P [K [STEPS [N_EVAL [N [THRESHOLD [WHICH]]]]]]]
--
-- STEPS 0 keeps a numpath_probe.gguf already in WS (steps 1-2 skipped);
-- WHICH is both (default), untrained or trained: the probes evaluated.
-- WS must hold numpath.gguf (recipe 2: docs/recipes/numpath_solver.lua).
--  1. Labels from the model's own samples: for P training prompts (seeds
--     from 3000001, never used by recipe 2), K samples each at temperature 1,
--     each checked by the task's checker (reward 1 or 0). A response's label
--     is the probability that a fresh sample would NOT do better, P(r' <= r)
--     with ties counted as not better: 1 for a correct response, and
--     1 - (the share of the prompt's other K-1 samples that are correct) for
--     a wrong one. Truncated responses (the first third and two thirds of the
--     tokens) carry the label of the response they were cut from, as in the
--     paper's mid-generation training.
--  2. Fine-tuning: each full or truncated response becomes the example
--     prompt = question, response, and the best-of-N plugin's probe turn for
--     plain-text models ("\nQ: " .. PROBE .. "\nA:", plugins/lib/bestofn.lua),
--     completion " No" with probability label, else " Yes" (a seeded draw:
--     the cross-entropy's expectation is the label), mixed one to one with
--     the solver's own worked solutions so that it keeps solving.
--  3. Held-out instances (seeds from 1000001, as recipe 2): best-of-N where
--     the probe's P(" No") picks the winner, and adaptive best-of-N (rounds of
--     1, 2, 4 ... samples, stopping once the best P(" No") reaches THRESHOLD),
--     with the untrained probe (numpath.gguf) and the trained one, run by
--     plugins/lib/bestofn.lua's B.run. Sample k has the same seed in every
--     mode, so the adaptive result at other thresholds follows from the plain
--     run's scores; the script checks that for THRESHOLD against B.run.
lab.budget{ seconds = 14400 }
local args = { ... }
local P = tonumber(args[1]) or 300
local K = tonumber(args[2]) or 8
local STEPS = tonumber(args[3]) or 400
local N_EVAL = tonumber(args[4]) or 60
local N = tonumber(args[5]) or 8
local THRESHOLD = tonumber(args[6]) or 0.9
local WHICH = args[7] or "both"
local T = assert(assert(lab.require("tasks")).get("numpath"))
local B = assert(lab.require("bestofn"))
local fmt = string.format

local function prompt(inst) return "Question: " .. T.question(inst) .. "\n" end   -- recipe 2's
local SUFFIX = "\nQ: " .. B.PROBE .. "\nA:"
local SAMPLER = { top_k = 0, top_p = 1, min_p = 0 }
local TEMP = 1.0
local MAX_TOKENS = 160

local base_path = lab.store.dir() .. "/numpath.gguf"
if not lab.fs.exists("numpath.gguf") then
  error("no numpath.gguf in the workspace: run docs/recipes/numpath_solver.lua there first", 0)
end
local t0 = lab.now()

-- A response as text for the probe: bytes that are not UTF-8 (a byte token
-- alone, a cut inside a character) become "?", in training and when scoring.
local function clean(text)
  while true do
    local ok, at = utf8.len(text)
    if ok then return text end
    text = text:sub(1, at - 1) .. "?" .. text:sub(at + 1)
  end
end

local function tune()
-- ---- 1. samples and labels ------------------------------------------------
local base = assert(lab.model.open(base_path, { n_ctx = 4096 }))
local examples, n_resp, n_right, n_mixed = {}, 0, 0, 0
math.randomseed(11)
local n_long = 0
local function add_probe(inst, text, label)
  local no = math.random() < label
  local p = prompt(inst) .. clean(text) .. SUFFIX
  if #base:tokenize(p) + 4 > 256 then n_long = n_long + 1 return end   -- past the sequence length
  examples[#examples + 1] = { prompt = p, completion = no and " No" or " Yes" }
end
for i = 1, P do
  local inst = T.generate(3000000 + i, 1 + i % 3)
  local list = {}
  for j = 1, K do
    local so = { temp = TEMP, seed = 100 * i + j }
    for k, v in pairs(SAMPLER) do so[k] = v end
    list[j] = { seq = base:seq(prompt(inst)), sampler = lab.sampler(so) }
  end
  local outs = lab.generate_batch(list, { max_tokens = MAX_TOKENS })
  local r, s = {}, 0
  for j, o in ipairs(outs) do
    r[j] = T.check(inst, o.text) and 1 or 0
    s = s + r[j]
  end
  if s > 0 and s < K then n_mixed = n_mixed + 1 end
  for j, o in ipairs(outs) do
    local others = (s - r[j]) / (K - 1)            -- leave-one-out success rate
    local label = r[j] == 1 and 1 or 1 - others     -- P(a fresh sample is not better)
    add_probe(inst, o.text, label)
    local nt = #o.tokens
    for _, frac in ipairs({ 1 / 3, 2 / 3 }) do
      local cut = math.floor(nt * frac)
      if cut >= 1 and cut < nt then add_probe(inst, base:detokenize({ table.unpack(o.tokens, 1, cut) }), label) end
    end
    n_resp, n_right = n_resp + 1, n_right + r[j]
  end
  for _, e in ipairs(list) do e.seq:close() end
end
local n_probe = #examples
print(fmt("labels: %d prompts x %d samples, %.0f%% correct, %d prompts with both outcomes; %d probe examples "
  .. "(%d too long left out; %.0f s)", P, K, 100 * n_right / n_resp, n_mixed, n_probe, n_long, lab.now() - t0))

-- ---- 2. fine-tuning ----------------------------------------------------------
for i = 1, n_probe do                               -- as many worked solutions as probe examples
  local inst = T.generate(i, 1 + i % 3)
  examples[#examples + 1] = { prompt = prompt(inst), completion = inst.solution }
end
local t1 = lab.now()
local r = assert(lab.train{
  model = base, output = "numpath_probe.gguf", examples = examples, steps = STEPS, batch = 16, seq_len = 256,
  lr = 5e-4, lr_min = 5e-5, warmup = 20, val = 0.05, val_every = 100, seed = 3,
  on_step = function(s)
    if s.step % 100 == 0 then
      print(fmt("step %d/%d  loss %.3f%s  %.0f tok/s", s.step, s.steps, s.loss,
        s.val_loss and fmt("  val %.3f", s.val_loss) or "", s.tok_per_s))
    end
  end,
})
print(fmt("fine-tuned %d steps in %.0f s: loss %.3f, validation %s", r.steps, lab.now() - t1, r.loss,
  r.val_loss and fmt("%.3f", r.val_loss) or "-"))
base:close()
end
if STEPS > 0 then tune()
elseif not lab.fs.exists("numpath_probe.gguf") then error("STEPS 0 needs numpath_probe.gguf in the workspace", 0) end

-- ---- 3. held-out: best-of-N and adaptive best-of-N with each probe ---------
local function probe_scorer(m, inst, no)
  return function(c)
    local ctx = m:tokenize(prompt(inst) .. clean(c.text) .. SUFFIX)
    local s = assert(lab.score(m, ctx, no))
    return math.exp(s.logprob)
  end
end

-- The adaptive schedule over the plain run's scored samples: rounds of 1, 2,
-- 4 ... (the last takes what is left of N), stop after a round whose best
-- score so far reaches th. Returns the winner and the samples drawn.
local function adaptive(cands, th)
  local drawn, size, best = 0, 1, nil
  while drawn < #cands do
    local k = math.min(size, #cands - drawn)
    for i = drawn + 1, drawn + k do
      if not best or cands[i].score > best.score then best = cands[i] end
    end
    drawn = drawn + k
    size = size * 2
    if best.score >= th then break end
  end
  return best, drawn
end

-- AUROC of the scores for telling right from wrong (ties count half).
local function auroc(cands)
  local pos, neg, wins = 0, 0, 0
  for _, a in ipairs(cands) do if a.ok then pos = pos + 1 else neg = neg + 1 end end
  if pos == 0 or neg == 0 then return nil end
  for _, a in ipairs(cands) do
    if a.ok then
      for _, b in ipairs(cands) do
        if not b.ok then wins = wins + (a.score > b.score and 1 or a.score == b.score and 0.5 or 0) end
      end
    end
  end
  return wins / (pos * neg)
end

local THS = { 0.5, 0.8, 0.9, 0.95, 0.99 }
local function evaluate(path, label)
  local m = assert(lab.model.open(path, { n_ctx = 4096 }))
  local no = m:tokenize(" No", { context = true })   -- as lab.train tokenizes a completion
  local st = { first = 0, oracle = 0, probe = 0, all = {}, ad = {}, checked = 0 }
  for _, th in ipairs(THS) do st.ad[th] = { ok = 0, drawn = 0 } end
  for k = 1, N_EVAL do
    local inst = T.generate(1000000 + k, 1 + k % 3)
    local o = { n = N, max_tokens = MAX_TOKENS, scorer = probe_scorer(m, inst, no), seed = 1000 * k,
                sampler = SAMPLER, temp = function() return TEMP end }
    local ptoks = m:tokenize(prompt(inst))
    o.plain = true
    local res = B.run(m, ptoks, o)
    local any = false
    for _, c in ipairs(res.candidates) do
      c.ok = T.check(inst, c.text) and true or false
      any = any or c.ok
      st.all[#st.all + 1] = { ok = c.ok, score = c.score }
    end
    if res.candidates[1].ok then st.first = st.first + 1 end
    if any then st.oracle = st.oracle + 1 end
    if res.winner.ok then st.probe = st.probe + 1 end
    for _, th in ipairs(THS) do
      local w, drawn = adaptive(res.candidates, th)
      st.ad[th].ok = st.ad[th].ok + (w.ok and 1 or 0)
      st.ad[th].drawn = st.ad[th].drawn + drawn
    end
    -- the plugin's own adaptive run at THRESHOLD draws the same samples
    o.plain, o.threshold = false, THRESHOLD
    local ad = B.run(m, ptoks, o)
    local w, drawn = adaptive(res.candidates, THRESHOLD)
    if ad.drawn == drawn and ad.winner.text == w.text then st.checked = st.checked + 1 end
  end
  m:close()
  local pct = function(n) return 100 * n / N_EVAL end
  local sc_ok, sc_bad, n_ok = 0, 0, 0
  for _, a in ipairs(st.all) do
    if a.ok then sc_ok, n_ok = sc_ok + a.score, n_ok + 1 else sc_bad = sc_bad + a.score end
  end
  local au = auroc(st.all)
  local mean = function(sum, n) return n > 0 and fmt("%.3f", sum / n) or "-" end
  print(fmt("%s: one sample %.0f%%, best-of-%d by the checker %.0f%%, best-of-%d by the probe %.0f%%; "
    .. "mean P(No) right %s / wrong %s, AUROC %s; B.run's adaptive run agreed on %d of %d",
    label, pct(st.first), N, pct(st.oracle), N, pct(st.probe), mean(sc_ok, n_ok), mean(sc_bad, #st.all - n_ok),
    au and fmt("%.3f", au) or "-", st.checked, N_EVAL))
  for _, th in ipairs(THS) do
    print(fmt("  %s adaptive, threshold %.2f: %.0f%% solved, %.2f samples on average", label, th,
      pct(st.ad[th].ok), st.ad[th].drawn / N_EVAL))
  end
  return st
end

print(fmt("held-out, %d instances (difficulty 1-3), budget N = %d, temperature %.1f:", N_EVAL, N, TEMP))
if WHICH ~= "trained" then evaluate(base_path, "untrained probe") end
if WHICH ~= "untrained" then evaluate(lab.store.dir() .. "/numpath_probe.gguf", "trained probe") end
print(fmt("total %.0f s", lab.now() - t0))
