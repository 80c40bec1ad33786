-- Recipe 3 of docs/training.md: a trained self-evaluation probe for the
-- recipe-2 Number Path solver, and adaptive best-of-N with it (Manvi, Singh,
-- Ermon 2024, "Adaptive Inference-Time Compute: LLMs Can Predict if They
-- Can Do Better, Even Mid-Generation", arXiv:2410.02725).
--
--   logitlab run -w WS docs/recipes/selfeval_probe.lua [P [K [STEPS [N_EVAL [N [THRESHOLD [WHICH [MIX [LABEL]]]]]]]]]
--
-- STEPS 0 keeps a numpath_probe.gguf already in WS (steps 1-2 skipped);
-- WHICH is both (default), untrained or trained: the probes evaluated; MIX
-- worked solutions per probe example in the tuning data (default 0); LABEL
-- "paper" (default: below) or "correct" (a diagnostic, not the paper's
-- label: " No" exactly for a correct response, cut or not).
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
--     completion " No" or " Yes". The responses of one prompt with one
--     outcome share a label; of each such group (full responses, first
--     thirds, first two thirds apart) round(label x size) answer " No", the
--     others " Yes" (a seeded choice: the group's share of " No" is the
--     label, the cross-entropy's optimum, without the noise of a coin per
--     example). Only the probe answer (and its EOS) is in the loss; MIX
--     worked solutions per probe example may be mixed in (0 by default: the
--     solver below is recipe 2's model, the tuned model only judges).
--  3. Held-out instances (seeds from 1000001, as recipe 2): recipe 2's model
--     draws N samples per instance (the distribution the labels describe);
--     the untrained probe (recipe 2's model asked the probe turn) and the
--     trained one (numpath_probe.gguf) score the same samples. Best-of-N
--     where the probe's P(" No") picks the winner, and adaptive best-of-N
--     (rounds of 1, 2, 4 ... samples, stopping once the best P(" No")
--     reaches a threshold), run by plugins/lib/bestofn.lua's B.run. Sample k
--     has the same seed in every mode, so the adaptive result at every
--     threshold follows from the plain run's scores; the script checks that
--     for THRESHOLD against B.run's own adaptive run, and at THRESHOLD
--     prints the samples used and solved by difficulty. AUROC twice: over all
--     samples (right against wrong), and within an instance (pairs of a
--     right and a wrong sample of the same instance: what picking needs).
lab.budget{ seconds = 14400 }
local args = { ... }
local P = tonumber(args[1]) or 300
local K = tonumber(args[2]) or 8
local STEPS = tonumber(args[3]) or 400
local N_EVAL = tonumber(args[4]) or 60
local N = tonumber(args[5]) or 8
local THRESHOLD = tonumber(args[6]) or 0.9
local WHICH = args[7] or "both"
local MIX = tonumber(args[8]) or 0
local LABEL = args[9] or "paper"
assert(LABEL == "paper" or LABEL == "correct", "LABEL is paper or correct")
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
local n_long, n_no = 0, 0
-- a group of probe prompts sharing a label: round(label x #group) answer " No"
local function add_group(texts, inst, label)
  local ps = {}
  for _, text in ipairs(texts) do
    local p = prompt(inst) .. clean(text) .. SUFFIX
    if #base:tokenize(p) + 4 > 256 then n_long = n_long + 1   -- past the sequence length
    else ps[#ps + 1] = p end
  end
  for i = #ps, 2, -1 do local j = math.random(i); ps[i], ps[j] = ps[j], ps[i] end
  local k = math.floor(label * #ps + 0.5)
  for i, p in ipairs(ps) do
    examples[#examples + 1] = { prompt = p, completion = i <= k and " No" or " Yes" }
  end
  n_no = n_no + k
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
  -- groups by outcome (0, 1) and cut (full, 2/3, 1/3); a wrong response's
  -- label, 1 - (the others' success rate), is the same for all of them
  local groups = { [0] = { {}, {}, {} }, [1] = { {}, {}, {} } }
  for j, o in ipairs(outs) do
    local g = groups[r[j]]
    g[1][#g[1] + 1] = o.text
    local nt = #o.tokens
    for c, frac in ipairs({ 2 / 3, 1 / 3 }) do
      local cut = math.floor(nt * frac)
      if cut >= 1 and cut < nt then g[c + 1][#g[c + 1] + 1] = base:detokenize({ table.unpack(o.tokens, 1, cut) }) end
    end
    n_resp, n_right = n_resp + 1, n_right + r[j]
  end
  for outcome = 0, 1 do
    local label = outcome == 1 and 1 or 1 - s / (K - 1)   -- P(a fresh sample is not better), ties not better
    if LABEL == "correct" then label = outcome end
    for c = 1, 3 do add_group(groups[outcome][c], inst, label) end
  end
  for _, e in ipairs(list) do e.seq:close() end
end
local n_probe = #examples
print(fmt("labels: %d prompts x %d samples, %.0f%% correct, %d prompts with both outcomes; %d probe examples, "
  .. "%.0f%% answer No (%d too long left out; %.0f s)", P, K, 100 * n_right / n_resp, n_mixed, n_probe,
  100 * n_no / math.max(1, n_probe), n_long, lab.now() - t0))

-- ---- 2. fine-tuning ----------------------------------------------------------
for i = 1, math.floor(MIX * n_probe + 0.5) do       -- MIX worked solutions per probe example
  local inst = T.generate(i, 1 + i % 3)
  examples[#examples + 1] = { prompt = prompt(inst), completion = inst.solution }
end
local t1 = lab.now()
local r = assert(lab.train{
  model = base, output = "numpath_probe.gguf", examples = examples, steps = STEPS, batch = 16, seq_len = 256,
  lr = 1e-3, lr_min = 1e-4, warmup = 20, val = 0.05, val_every = 100, seed = 3,
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
local function probe_score(m, no, inst, text)
  local ctx = m:tokenize(prompt(inst) .. clean(text) .. SUFFIX)
  local s = assert(lab.score(m, ctx, no))
  return math.exp(s.logprob)
end

-- The adaptive schedule over the plain run's scored samples: rounds of 1, 2,
-- 4 ... (the last takes what is left of N), stop after a round whose best
-- score so far reaches th (th > 1: never, plain best-of-N). Returns the
-- winner (the first of the best scores, as B.run) and the samples drawn.
local function adaptive(cands, score, th)
  local drawn, size, best = 0, 1, nil
  while drawn < #cands do
    local k = math.min(size, #cands - drawn)
    for i = drawn + 1, drawn + k do
      if not best or score(cands[i]) > score(best) then best = cands[i] end
    end
    drawn = drawn + k
    size = size * 2
    if score(best) >= th then break end
  end
  return best, drawn
end

-- AUROC of scores for telling right from wrong over pairs (a right, a wrong):
-- wins (ties count half) and pairs, to add up over instances.
local function pairs_won(cands, score)
  local wins, n = 0, 0
  for _, a in ipairs(cands) do
    if a.ok then
      for _, b in ipairs(cands) do
        if not b.ok then
          n = n + 1
          wins = wins + (score(a) > score(b) and 1 or score(a) == score(b) and 0.5 or 0)
        end
      end
    end
  end
  return wins, n
end

local THS = { 0.5, 0.8, 0.9, 0.95, 0.99 }
local solver = assert(lab.model.open(base_path, { n_ctx = 4096 }))
local probes = {}
if WHICH ~= "trained" then probes[#probes + 1] = { label = "untrained probe", m = solver } end
if WHICH ~= "untrained" then
  probes[#probes + 1] = { label = "trained probe", m = assert(lab.model.open(lab.store.dir() .. "/numpath_probe.gguf", { n_ctx = 4096 })) }
end
for _, pr in ipairs(probes) do
  pr.no = pr.m:tokenize(" No", { context = true })   -- as lab.train tokenizes a completion
  pr.st = { probe = 0, sum_ok = 0, sum_bad = 0, all = {}, win_in = 0, n_in = 0, ad = {}, lab = {}, by_d = {} }
  for _, th in ipairs(THS) do pr.st.ad[th] = { ok = 0, drawn = 0 } end
end
local first, oracle, n_ok, n_all, checked = 0, 0, 0, 0, 0
local by_d = {}   -- per difficulty: instances, one sample right, any of N right
local t2 = lab.now()
for k = 1, N_EVAL do
  local inst = T.generate(1000000 + k, 1 + k % 3)
  local o = { n = N, max_tokens = MAX_TOKENS, seed = 1000 * k, sampler = SAMPLER, temp = function() return TEMP end,
              plain = true }
  -- every probe scores each sample; B.run ranks by the last one's score
  o.scorer = function(c)
    c.scores = {}
    for i, pr in ipairs(probes) do c.scores[i] = probe_score(pr.m, pr.no, inst, c.text) end
    return c.scores[#probes]
  end
  local ptoks = solver:tokenize(prompt(inst))
  local res = B.run(solver, ptoks, o)
  local any = false
  for _, c in ipairs(res.candidates) do
    c.ok = T.check(inst, c.text) and true or false
    any = any or c.ok
    n_all, n_ok = n_all + 1, n_ok + (c.ok and 1 or 0)
  end
  if res.candidates[1].ok then first = first + 1 end
  if any then oracle = oracle + 1 end
  local d = inst.difficulty
  by_d[d] = by_d[d] or { n = 0, first = 0, oracle = 0 }
  by_d[d].n = by_d[d].n + 1
  by_d[d].first = by_d[d].first + (res.candidates[1].ok and 1 or 0)
  by_d[d].oracle = by_d[d].oracle + (any and 1 or 0)
  for i, pr in ipairs(probes) do
    local st, score = pr.st, function(c) return c.scores[i] end
    local w = adaptive(res.candidates, score, 2)
    if w.ok then st.probe = st.probe + 1 end
    for _, c in ipairs(res.candidates) do
      st.all[#st.all + 1] = { ok = c.ok, s = c.scores[i] }
      if c.ok then st.sum_ok = st.sum_ok + c.scores[i] else st.sum_bad = st.sum_bad + c.scores[i] end
    end
    -- the held-out label of each sample (leave-one-out over this instance's N)
    local n_right = 0
    for _, c in ipairs(res.candidates) do n_right = n_right + (c.ok and 1 or 0) end
    for _, c in ipairs(res.candidates) do
      st.lab[#st.lab + 1] = { l = c.ok and 1 or 1 - n_right / (N - 1), s = c.scores[i] }
    end
    local wn, nn = pairs_won(res.candidates, score)
    st.win_in, st.n_in = st.win_in + wn, st.n_in + nn
    for _, th in ipairs(THS) do
      local aw, drawn = adaptive(res.candidates, score, th)
      st.ad[th].ok = st.ad[th].ok + (aw.ok and 1 or 0)
      st.ad[th].drawn = st.ad[th].drawn + drawn
      if th == THRESHOLD then   -- samples used and solved, by the instance's difficulty
        local b = st.by_d[d] or { ok = 0, drawn = 0 }
        st.by_d[d] = b
        b.ok, b.drawn = b.ok + (aw.ok and 1 or 0), b.drawn + drawn
      end
    end
  end
  -- B.run's own adaptive run at THRESHOLD (by the last probe) draws the same
  -- samples and picks the same winner as the schedule replayed here
  local last = #probes
  o.plain, o.threshold = false, THRESHOLD
  o.scorer = function(c) return probe_score(probes[last].m, probes[last].no, inst, c.text) end
  local ad = B.run(solver, ptoks, o)
  local w, drawn = adaptive(res.candidates, function(c) return c.scores[last] end, THRESHOLD)
  if ad.drawn == drawn and ad.winner.text == w.text then checked = checked + 1 end
end
local pct = function(n) return 100 * n / N_EVAL end
print(fmt("held-out, %d instances (difficulty 1-3), budget N = %d, temperature %.1f (%.0f s): recipe 2's model "
  .. "samples; one sample %.0f%%, best-of-%d by the checker %.0f%%; %d of %d samples right; B.run's adaptive run "
  .. "(%s, threshold %.2f) agreed with the replayed schedule on %d of %d", N_EVAL, N, TEMP, lab.now() - t2,
  pct(first), N, pct(oracle), n_ok, n_all, probes[#probes].label, THRESHOLD, checked, N_EVAL))
for _, pr in ipairs(probes) do
  local st = pr.st
  local w, n = pairs_won(st.all, function(a) return a.s end)
  local mean = function(sum, c) return c > 0 and fmt("%.3f", sum / c) or "-" end
  -- concordance of P(No) with the held-out label (pairs of samples with
  -- different labels ordered alike; ties in P(No) count half): what the
  -- probe was trained to predict
  local cw, cn = 0, 0
  for a = 1, #st.lab do
    for b = a + 1, #st.lab do
      local x, y = st.lab[a], st.lab[b]
      if x.l ~= y.l then
        if x.l < y.l then x, y = y, x end
        cn = cn + 1
        cw = cw + (x.s > y.s and 1 or x.s == y.s and 0.5 or 0)
      end
    end
  end
  print(fmt("%s: best-of-%d by the probe %.0f%%; mean P(No) right %s / wrong %s; AUROC %s over all samples, "
    .. "%s within an instance (%d pairs); concordance with the held-out label %s", pr.label, N, pct(st.probe),
    mean(st.sum_ok, n_ok), mean(st.sum_bad, n_all - n_ok), n > 0 and fmt("%.3f", w / n) or "-",
    st.n_in > 0 and fmt("%.3f", st.win_in / st.n_in) or "-", st.n_in, cn > 0 and fmt("%.3f", cw / cn) or "-"))
  for _, th in ipairs(THS) do
    print(fmt("  %s adaptive, threshold %.2f: %.0f%% solved, %.2f samples on average", pr.label, th,
      pct(st.ad[th].ok), st.ad[th].drawn / N_EVAL))
  end
  -- does the adaptive run spend its samples where they help? (THRESHOLD
  -- among THS, else no line)
  local ds = {}
  for dd, b in pairs(st.by_d) do ds[#ds + 1] = dd end
  table.sort(ds)
  for _, dd in ipairs(ds) do
    local b, a = by_d[dd], st.by_d[dd]
    print(fmt("  %s adaptive, threshold %.2f, difficulty %d (%d instances): %.0f%% solved, %.2f samples on average; "
      .. "one sample %.0f%%, best-of-%d by the checker %.0f%%", pr.label, THRESHOLD, dd, b.n, 100 * a.ok / b.n,
      a.drawn / b.n, 100 * b.first / b.n, N, 100 * b.oracle / b.n))
  end
end
print(fmt("total %.0f s", lab.now() - t0))
