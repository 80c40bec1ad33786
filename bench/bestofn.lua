-- bench/bestofn.lua: adaptive best-of-N (plugins/lib/bestofn.lua) figures.
-- Run by bench/run.sh (make bench):
--
--   logitlab run bench/bestofn.lua MODEL [MAX_TOKENS [REPS]]
--
-- One JSON object per figure:
--   batch    plain best-of-N of N = 8 and 16 candidates with every live
--            candidate in one engine step per token, against one engine call
--            per candidate per token (ratio = batched / one at a time, lower
--            is better; identical: the same candidates, log-probabilities and
--            winner, compared exactly)
--   prune    generated tokens of the adaptive search (rounds, pruning at
--            MAX/4 and MAX/2 keeping half) against plain best-of-N on the
--            same seeds: saved = 1 - adaptive / plain; the engine steps and
--            wall time of each (rounds run one after another, so the adaptive
--            search takes more, smaller steps)
--   probe    wall time of one self-evaluation probe against generating one
--            candidate of MAX_TOKENS alone (share), and the tokens the probe
--            evaluates (probe_tokens) against the candidate's (candidate_tokens)
-- Each time is the best of REPS runs. A model with random weights rarely
-- emits end of text, so every candidate runs to MAX_TOKENS.
local B = assert(lab.require("bestofn"))
local path = assert(arg[1], "usage: logitlab run bench/bestofn.lua MODEL [MAX_TOKENS [REPS]]")
local MAX = math.tointeger(tonumber(arg[2] or "32"))
local REPS = math.tointeger(tonumber(arg[3] or "3"))
lab.budget{ seconds = 0 }
local m = assert(lab.model.open(path, { n_ctx = 2048, n_seq_max = 40 }))   -- 16 candidates x MAX tokens share it
local name = path:match("([^/]*)$")
local ptoks = m:tokenize("Once upon a time, in a small village by the sea, there lived")
local function opts(o)
  local r = { n = 8, max_tokens = MAX, seed = 1, sampler = { top_k = 40, top_p = 0.95, min_p = 0.05 },
              temp = B.anneal(0.7, 1.0, o.n or 8), scorer = B.scorers.logprob("mean") }
  for k, v in pairs(o) do r[k] = v end
  return r
end
local function best(fn)
  local t = math.huge
  for _ = 1, REPS do local t0 = lab.now(); fn(); t = math.min(t, lab.now() - t0) end
  return t
end
-- Whether two runs drew the same candidates (tokens and log-probabilities,
-- compared exactly) and picked the same winner.
local function identical(a, b)
  if #a.candidates ~= #b.candidates or a.winner.index ~= b.winner.index then return false end
  for i, c in ipairs(a.candidates) do
    local d = b.candidates[i]
    if #c.tokens ~= #d.tokens or c.score ~= d.score then return false end
    for j = 1, #c.tokens do
      if c.tokens[j] ~= d.tokens[j] or c.logprobs[j] ~= d.logprobs[j] then return false end
    end
  end
  return true
end
for _, n in ipairs{ 8, 16 } do
  local rb, r1
  local tb = best(function() rb = B.run(m, ptoks, opts{ n = n, plain = true }) end)
  local t1 = best(function() r1 = B.run(m, ptoks, opts{ n = n, plain = true, batched = false }) end)
  lab.print(lab.json.encode{ bench = "bestofn_batch", model = name, n = n, max_tokens = MAX,
    batched_s = tb, one_at_a_time_s = t1, ratio = tb / t1, identical = identical(rb, r1),
    winner = rb.winner.index })
end
local prune = { lengths = { MAX // 4, MAX // 2 }, keep = 0.5 }
for _, n in ipairs{ 8, 16 } do
  local a = B.run(m, ptoks, opts{ n = n, prune = prune })
  local p = B.run(m, ptoks, opts{ n = n, plain = true })
  lab.print(lab.json.encode{ bench = "bestofn_prune", model = name, n = n, max_tokens = MAX,
    tokens_adaptive = a.acct.tokens, tokens_plain = p.acct.tokens, saved = 1 - a.acct.tokens / p.acct.tokens,
    steps_adaptive = a.acct.steps, steps_plain = p.acct.steps, wall_adaptive_s = a.acct.wall, wall_plain_s = p.acct.wall })
end
local probe = B.scorers.probe(m, {})
local one = B.run(m, ptoks, opts{ n = 1 })
local c = one.candidates[1]
local full = {}
for _, t in ipairs(ptoks) do full[#full + 1] = t end
for _, t in ipairs(c.tokens) do full[#full + 1] = t end
local s = m:seq(full)
s:eval()
local cand = { index = 1, seq = s, tokens = c.tokens, logprobs = c.logprobs, text = c.text }
local tp = best(function() probe(cand) end)
cand.acct = { probe_tokens = 0, probes = 0 }
probe(cand)
local tg = best(function() B.run(m, ptoks, opts{ n = 1 }) end)
lab.print(lab.json.encode{ bench = "bestofn_probe", model = name, max_tokens = MAX, probe_s = tp, candidate_s = tg,
  share = tp / tg, probe_tokens = cand.acct.probe_tokens, candidate_tokens = #c.tokens })
