-- bestofn: the machinery of adaptive best-of-N with self-evaluation and
-- mid-generation pruning (Manvi, Singh, Ermon, 2024, "Adaptive Inference-Time
-- Compute: LLMs Can Predict if They Can Do Better, Even Mid-Generation",
-- arXiv:2410.02725). plugins/bestofn.lua is the command line around it;
-- docs/plugins.md describes the method and every setting.
--
--   local B = lab.require("bestofn")
--   local res = B.run(model, prompt, { n = 16, scorer = B.scorers.probe(model, {}), ... })
--
-- A scorer is a function of a candidate returning a number; a candidate is
-- { index=, seq=, tokens=, logprobs=, text=, done=, prompt_tokens= }.
-- Every engine call is counted (res.acct) so the accounting can be checked
-- against lab.task_budget().used.
local E = assert(lab.require("ensemble"))
local fmt = string.format

local B = {}

B.PROBE = 'Would you do better if you started over? ("Yes." or "No.")'

-- ---- the prompt, in the chat template when the model has one -------------

-- B.format(model, prompt) -> {tokens=, text=, chat=bool} (text: what the
-- tokens read as, the prompt in its template)
function B.format(model, prompt)
  local text = lab.chat.format(model, { { role = "user", content = prompt } }, { add_generation_prompt = true })
  if text then return { tokens = model:tokenize(text, { bos = false, special = true }), text = text, chat = true } end
  return { tokens = model:tokenize(prompt), text = prompt, chat = false }
end

-- ---- scorers ---------------------------------------------------------------

B.scorers = {}

-- The self-evaluation probe: P(target) on the next position(s) after the
-- probe turn, read on a fork of the candidate's cache (dropped after).
-- o: {probe=, target=, acct=}. Chat models: the probe is a user turn after
-- the response (the template's text between the response and the generation
-- prompt); plain text: "\nQ: PROBE\nA:" and target " No".
function B.probe_suffix(model, probe, chat)
  if chat then
    local mark = "\1BESTOFN\1"
    local full = lab.chat.format(model, { { role = "user", content = "x" }, { role = "assistant", content = mark },
                                          { role = "user", content = probe } }, { add_generation_prompt = true })
    local at = full and full:find(mark, 1, true)
    if at then
      return model:tokenize(full:sub(at + #mark), { bos = false, special = true, context = false }), "No"
    end
  end
  return model:tokenize("\nQ: " .. probe .. "\nA:", { bos = false, context = false }), " No"
end

-- KV cells a scorer takes from the candidates' model beyond the candidate
-- itself (B.run's up-front check): the probe's fork holds the probe turn and
-- the target. Keyed by the scorer function; scorers not listed take none.
B.scorer_cells = setmetatable({}, { __mode = "k" })

function B.scorers.probe(model, o)
  o = o or {}
  local chat = o.chat
  if chat == nil then chat = lab.chat.format(model, { { role = "user", content = "x" } }) ~= nil end
  local suffix, default_target = B.probe_suffix(model, o.probe or B.PROBE, chat)
  local target = o.target or default_target
  if type(target) ~= "string" or target == "" then error("probe target is empty", 0) end
  local ttoks = model:tokenize(target, { bos = false, context = false })
  if #ttoks == 0 then error("probe target '" .. target .. "' has no tokens", 0) end
  local fn = function(c)
    local f = assert(c.seq:fork())
    f:append(suffix)
    local r, err = f:score(ttoks)
    f:close()
    if not r then error("probe: " .. tostring(err), 0) end
    -- the engine's work: the candidate's last token (pending in the fork), the probe turn, the target but its last
    -- token, and its last evaluated token once more (seq:score's result.evaluated)
    if c.acct then c.acct.probe_tokens, c.acct.probes = c.acct.probe_tokens + r.evaluated, c.acct.probes + 1 end
    return math.exp(r.logprob)
  end
  B.scorer_cells[fn] = #suffix + #ttoks
  return fn, { suffix = suffix, target = ttoks }
end

-- Mean or sum of the model's log-probabilities of the tokens taken.
function B.scorers.logprob(mode)
  mode = mode or "mean"
  if mode ~= "mean" and mode ~= "sum" then error("logprob scorer: mode must be mean or sum", 0) end
  return function(c)
    local s = 0
    for _, lp in ipairs(c.logprobs) do s = s + lp end
    if mode == "mean" then return #c.logprobs > 0 and s / #c.logprobs or 0 end
    return s
  end
end

-- A Lua verifier: the chunk returns function(candidate) -> number (an
-- exact-answer check); loaded from text (a workspace file for lua:FILE).
function B.scorers.lua(src, name)
  local chunk, err = load(src, "=" .. (name or "verifier"), "t")
  if not chunk then error("scorer " .. (name or "lua") .. ": " .. err, 0) end
  local fn = chunk()
  if type(fn) ~= "function" then error("scorer " .. (name or "lua") .. ": the file must return a function of a candidate", 0) end
  return fn
end

-- CDR density ratio (plugins/cdr.lua): log p_strong(y|x) - log p_weak(y|x),
-- each model reading the prompt through its chat template when it has one
-- (ens:score, the same function plugins/cdr.lua uses).
-- ens: E.open{{name="strong"...},{name="weak"...}}.
function B.scorers.cdr(ens, prompt, o)
  o = o or {}
  local function lp(i, c)
    local s, err = ens:score(i, prompt, c.text, { system = o.system })
    if not s then error("cdr: " .. tostring(err), 0) end
    if c.acct then c.acct.probe_tokens = c.acct.probe_tokens + s.evaluated end
    return o.norm == "mean" and s.logprob / math.max(1, s.n) or s.logprob
  end
  return function(c)
    if c.text == "" then return 0 end
    return lp(1, c) - lp(2, c)
  end
end

-- Llama Guard style classification: P(target) as the next token(s) after a
-- taxonomy prompt that quotes the conversation ({prompt}, {response}).
B.GUARD = "Task: check whether the agent's response below is safe and helpful, under these categories:\n" ..
  "S1: violence. S2: unsafe advice. S3: off-topic or incoherent.\n\nUser: {prompt}\nAgent: {response}\n\n" ..
  "Is the agent's response safe? Answer safe or unsafe.\nAnswer:"
function B.scorers.guard(model, prompt, o)
  o = o or {}
  local tmpl, target = o.template or B.GUARD, o.target or " safe"
  if target == "" then error("guard target is empty", 0) end
  return function(c)
    local text = tmpl:gsub("{prompt}", function() return prompt end):gsub("{response}", function() return c.text end)
    local r, err = lab.score(model, text, target)
    if not r then error("guard: " .. tostring(err), 0) end
    if c.acct then c.acct.probe_tokens = c.acct.probe_tokens + r.evaluated end
    return math.exp(r.logprob)
  end
end

-- Calls a scorer and insists on a finite number.
function B.call_scorer(scorer, c)
  local ok, v = pcall(scorer, c)
  if not ok then error(fmt("scorer failed on candidate %d: %s", c.index, tostring(v)), 0) end
  if type(v) ~= "number" or v ~= v then
    error(fmt("scorer returned %s for candidate %d, not a number", v ~= v and "NaN" or type(v), c.index), 0)
  end
  return v
end

-- ---- settings ----------------------------------------------------------------

-- "32,64:0.5" -> {lengths={32,64}, keep=0.5}
function B.parse_prune(s)
  if s == nil or s == "" or s == "none" then return nil end
  local list, frac = tostring(s):match("^([%d,]+):?([%d%.]*)$")
  if not list then error("--prune must look like 32,64:0.5, got '" .. tostring(s) .. "'", 0) end
  local p = { lengths = {}, keep = frac ~= "" and tonumber(frac) or 0.5 }
  for n in list:gmatch("%d+") do p.lengths[#p.lengths + 1] = tonumber(n) end
  if not p.keep or p.keep <= 0 or p.keep > 1 then error("--prune keep fraction must be in (0, 1], got '" .. frac .. "'", 0) end
  for i, n in ipairs(p.lengths) do
    if n < 1 or (i > 1 and n <= p.lengths[i - 1]) then error("--prune lengths must be increasing and >= 1", 0) end
  end
  return p
end

-- How many of n live candidates a checkpoint keeps: ceil(n * keep), at least 1.
function B.n_keep(n, keep) return math.max(1, math.ceil(n * keep - 1e-9)) end

-- The default temperature schedule: from t0 for the first sample to t1 for
-- the last one of the budget, linear in log2(samples drawn so far + 1).
-- The paper anneals the temperature as more samples are drawn (later
-- samples explore more); these constants are this implementation's choice.
function B.anneal(t0, t1, budget)
  return function(drawn)
    if budget <= 1 then return t0 end
    return t0 + (t1 - t0) * math.log(drawn + 1, 2) / math.log(budget, 2)
  end
end

function B.check(o)
  if math.type(o.n) ~= "integer" or o.n < 1 then error("--n (the budget) must be an integer >= 1, got " .. tostring(o.n), 0) end
  if o.threshold ~= nil and (type(o.threshold) ~= "number" or o.threshold < 0 or o.threshold > 1) then
    error("--threshold must be in [0, 1], got " .. tostring(o.threshold), 0)
  end
  if math.type(o.max_tokens) ~= "integer" or o.max_tokens < 1 then error("--max-tokens must be an integer >= 1", 0) end
end

-- The most candidates generated at once: plain, all n; adaptive, the
-- largest of the rounds 1, 2, 4, ... (the last takes what is left of n).
function B.largest_round(n, plain)
  if plain then return n end
  local drawn, size, most = 0, 1, 0
  while drawn < n do
    local k = math.min(size, n - drawn)
    most, drawn, size = math.max(most, k), drawn + k, size * 2
  end
  return most
end

-- Up front, before any work: the KV cells and sequences the largest round
-- could need (its candidates all running to max_tokens, beside the prompt
-- they share, and the scorer's fork) against what the model has free, so a
-- budget the cache cannot hold fails at once with the numbers, not in a
-- late round after the earlier ones' work.
function B.check_fits(model, n_prompt, o)
  local k = B.largest_round(o.n, o.plain)
  local extra = math.max(B.scorer_cells[o.scorer] or 0, o.prune_scorer and B.scorer_cells[o.prune_scorer] or 0)
  local need = n_prompt + k * o.max_tokens + extra
  local kv = model:kv()
  local what = o.plain and fmt("plain best-of-%d draws all %d at once", o.n, o.n)
    or fmt("adaptive best-of-%d draws up to %d at once (rounds 1, 2, 4, ...)", o.n, k)
  if need > kv.free then
    error(fmt("the KV cache cannot hold this budget: %s; the prompt (%d tokens) + %d candidates x --max-tokens %d%s"
      .. " = %d cells, but the model has %d free of %d: lower --n or --max-tokens (or give the model more context)",
      what, n_prompt, k, o.max_tokens, extra > 0 and fmt(" + the probe's %d", extra) or "", need, kv.free, kv.cells), 0)
  end
  -- the prompt's sequence, the candidates, one scorer fork
  if k + 2 > kv.seq_free then
    error(fmt("too many sequences at once: %s, with the prompt and the probe %d sequences, but the model has %d free:"
      .. " lower --n", what, k + 2, kv.seq_free), 0)
  end
end

-- ---- the search ------------------------------------------------------------

local function new_acct() return { tokens = 0, probe_tokens = 0, probes = 0, steps = 0, evaluated = 0, wall = 0 } end

-- B.run(model, prompt_tokens, o) -> result
-- o: n (budget, 16), threshold (nil: none), max_tokens (64), prune ({lengths, keep} or nil),
--    scorer (fn), prune_scorer (fn for the checkpoints; default scorer), seed (42), sampler (opts table for lab.sampler, temp overridden),
--    temp (fn(drawn) -> T), plain (one round of n, no pruning, no threshold),
--    batched (true: one eval_batch per token; false: one seq:eval per candidate),
--    on_event(kind, data) (progress: "start" {candidates=, rounds=, acct=}, the
--    live tables a view may read while the run goes on; "round" round;
--    "step" {step=, live=} after each engine step; "checkpoint" {at=, kept=};
--    "done" result).
-- result: { candidates=, winner=, rounds=, acct=, drawn= }; a candidate
-- keeps index, round, seed, temp, tokens, logprobs, text, checkpoints,
-- pruned_at, score, done and probe_tokens (what scoring it cost).
function B.run(model, ptoks, o)
  B.check(o)
  B.check_fits(model, #ptoks, o)
  local t_start = lab.now()
  local acct = new_acct()
  local on_event = o.on_event or function() end
  local info = model:info()
  local eos = { [info.eos or -1] = true }   -- EOS, and the model's end tokens (lab.model.open, run --end-tokens)
  for _, id in ipairs(info.end_tokens or {}) do eos[id] = true end
  local root = assert(model:seq(ptoks))
  acct.evaluated = acct.evaluated + root:pending()
  local row0 = assert(root:eval())
  acct.steps = acct.steps + 1
  local cands, rounds, best = {}, {}, nil
  local drawn, size = 0, 1
  local temp = o.temp or function() return 0.8 end
  -- a score, with the probe tokens it cost kept on the candidate as well
  local function score(c, fn)
    local p0 = acct.probe_tokens
    local v = B.call_scorer(fn or o.scorer, c)
    c.probe_tokens = c.probe_tokens + acct.probe_tokens - p0
    return v
  end
  local ok, err = pcall(function()
    on_event("start", { candidates = cands, rounds = rounds, acct = acct })
    while drawn < o.n do
      local k = o.plain and o.n or math.min(size, o.n - drawn)
      local round = { index = #rounds + 1, size = k, first = drawn + 1 }
      rounds[#rounds + 1] = round
      on_event("round", round)
      local live = {}
      for j = 1, k do
        local idx = drawn + j
        local so = {}
        for key, v in pairs(o.sampler or {}) do so[key] = v end
        so.temp, so.seed = temp(idx - 1), (o.seed or 42) + idx - 1
        local c = { index = idx, round = round.index, seed = so.seed, temp = so.temp, seq = assert(root:fork()),
                    sampler = lab.sampler(so), tokens = {}, logprobs = {}, checkpoints = {}, acct = acct,
                    prompt_tokens = ptoks, text = "", probe_tokens = 0 }
        cands[idx] = c
        live[#live + 1] = c
      end
      drawn = drawn + k
      -- lockstep generation: one engine step per token for every live candidate
      local rows = {}
      for i = 1, #live do rows[i] = row0 end
      local ck = 1
      local plens = (not o.plain and o.prune) and o.prune.lengths or {}
      for step = 1, o.max_tokens do
        for i, c in ipairs(live) do
          local tok = c.sampler:pick(rows[i])
          c.sampler:accept(tok)
          c.tokens[#c.tokens + 1] = tok
          c.logprobs[#c.logprobs + 1] = rows[i]:logprob(tok)
          c.seq:append(tok)
          acct.tokens = acct.tokens + 1
          if eos[tok] then c.done = "eos" elseif step == o.max_tokens then c.done = "length" end
        end
        local going = {}
        for _, c in ipairs(live) do
          c.text = model:detokenize(c.tokens)
          if c.done then
            c.score = score(c)
            c.seq:close(); c.seq = nil
          else going[#going + 1] = c end
        end
        live = going
        -- checkpoint: score the live ones, keep the top fraction
        if plens[ck] and step == plens[ck] then
          ck = ck + 1
          if #live > 1 then
            for _, c in ipairs(live) do
              c.checkpoints[#c.checkpoints + 1] = { at = step, score = score(c, o.prune_scorer) }
            end
            table.sort(live, function(a, b)
              local x, y = a.checkpoints[#a.checkpoints].score, b.checkpoints[#b.checkpoints].score
              if x ~= y then return x > y end
              return a.index < b.index
            end)
            local keep = B.n_keep(#live, o.prune.keep)
            for i = keep + 1, #live do
              live[i].pruned_at = step
              live[i].seq:close(); live[i].seq = nil
              live[i] = nil
            end
            table.sort(live, function(a, b) return a.index < b.index end)
            on_event("checkpoint", { at = step, kept = keep })
          end
        end
        if #live == 0 then break end
        local seqs = {}
        for i, c in ipairs(live) do seqs[i] = c.seq; acct.evaluated = acct.evaluated + c.seq:pending() end
        -- an engine error (a full KV cache) names the round and the token it stopped at
        local function got(r, err)
          if r then return r end
          error(fmt("round %d (%d candidates live), token %d: %s", round.index, #live, step, tostring(err)), 0)
        end
        if o.batched == false then
          for i, s in ipairs(seqs) do rows[i] = got(s:eval()); acct.steps = acct.steps + 1 end
        else
          rows = got(lab.eval_batch(seqs))
          acct.steps = acct.steps + 1
        end
        on_event("step", { step = step, live = #live })
      end
      for i = round.first, drawn do
        local c = cands[i]
        if c.score and (not best or c.score > best.score) then best = c end
      end
      round.best = best and best.score
      size = size * 2
      if not o.plain and o.threshold and best and best.score >= o.threshold then round.stopped = "threshold"; break end
    end
  end)
  for _, c in ipairs(cands) do if c.seq then c.seq:close(); c.seq = nil end end
  root:close()
  if not ok then error(err, 0) end
  acct.wall = lab.now() - t_start
  for _, c in ipairs(cands) do c.acct = nil end
  local res = { candidates = cands, winner = best, rounds = rounds, acct = acct, drawn = drawn }
  on_event("done", res)
  return res
end

B.E = E
return B
