-- Search primitives (1 of 7): batched generation. lab.generate_batch
-- against the same sequences generated one by one with lab.generate, token
-- for token and log-prob for log-prob, bit for bit (the CPU kernels are
-- batch-invariant: a position's row does not depend on the batch it was
-- computed in); on_token, the done mask, a full cache's partial results.
-- The other files: test_search_score, _sampler, _kv, _jobs, _tasks, _misuse.
local TOL = 0

local PROMPTS = { "Once upon a time", "Tom and his sister", "The cat", "Lily wanted" }

local function sampler_for(i) return lab.sampler{ seed = 100 + i, temp = 1.0, top_p = 0.9, repeat_penalty = 1.1 } end

local function same_result(a, b, what)
  check.same_list(a.tokens, b.tokens, what .. " tokens")
  check.eq(a.reason, b.reason, what .. " reason")
  check.eq(a.text, b.text, what .. " text")
  for j = 1, #a.tokens do
    check.near(a.logprobs[j], b.logprobs[j], TOL, what .. " logprob " .. j)
    check.near(a.sampler_logprobs[j], b.sampler_logprobs[j], TOL, what .. " sampler logprob " .. j)
  end
end

local function batch_vs_one(path)
  local m = check.ok(lab.model.open(path, { n_ctx = 1024 }))
  local one, list = {}, {}
  for i, p in ipairs(PROMPTS) do
    one[i] = lab.generate(m:seq(p), { sampler = sampler_for(i), max_tokens = 10 + 3 * i, stop = i == 2 and "." or nil })
    list[i] = { seq = m:seq(p), sampler = sampler_for(i), max_tokens = 10 + 3 * i, stop = i == 2 and "." or nil }
  end
  local steps, calls = {}, 0
  local res = lab.generate_batch(list, { on_token = function(i, tok, logits, step)
    calls = calls + 1
    check.eq(step, (steps[i] or 0) + 1, "steps count per sequence")
    steps[i] = step
    check.eq(#logits, 512)
  end })
  check.eq(#res, #PROMPTS)
  local total = 0
  for i = 1, #PROMPTS do
    same_result(res[i], one[i], "sequence " .. i)
    check.eq(#list[i].seq, #m:tokenize(PROMPTS[i]) + res[i].n, "the sequence holds its tokens")
    total = total + res[i].n
  end
  check.eq(calls, total, "on_token once per token")
  return res
end

test("generate_batch equals the sequences generated one by one (F32)", function()
  check.eq(batch_vs_one(MODEL)[2].reason, "stop")
end)
test("generate_batch equals the sequences generated one by one (Q4_0)", function()
  batch_vs_one(WS .. "/models/s260-q4_0.gguf")
end)

test("generate_batch: raw and post-sampler log-probs, top-k, greedy", function()
  local m = lab.model.open(MODEL)
  local s = m:seq("Once upon a time")
  local r = lab.generate_batch({ s }, { max_tokens = 4, top = 3 })[1]
  check.same_list(r.tokens, { 432, 383, 286, 261 })
  local t = m:seq("Once upon a time")
  for j, tok in ipairs(r.tokens) do
    local l = t:eval()
    check.near(r.logprobs[j], l:logprob(tok), TOL, "raw log-prob " .. j)
    check.eq(r.sampler_logprobs[j], 0.0, "a greedy pick has probability 1")
    check.eq(#r.top[j], 3)
    check.eq(r.top[j][1].id, tok)
    t:append(tok)
  end
  -- post-sampler: top_k = 2 renormalizes the two best
  local l = m:seq("Once upon a time"):eval()
  local id, lp = lab.sampler{ top_k = 2, temp = 1, top_p = 1, min_p = 0, seed = 3 }:pick_lp(l)
  local p1, p2 = l:prob(432), l:prob(383)
  check.near(lp, math.log(l:prob(id) / (p1 + p2)), 1e-5, "post-sampler log-prob")
end)

test("generate_batch: on_token stops one sequence, the done mask stops another", function()
  local m = lab.model.open(MODEL)
  local done = {}
  local res = lab.generate_batch({ m:seq("Once upon a time"), m:seq("Tom"), m:seq("The dog") }, {
    max_tokens = 12, done = done,
    on_token = function(i, tok, logits, step)
      if i == 1 and step == 3 then return false end
      if i == 2 and step == 5 then done[3] = true end
    end })
  check.eq(res[1].n, 2)
  check.eq(res[1].reason, "stopped")
  check.eq(res[2].n, 12)
  check.eq(res[2].reason, "length")
  check.eq(res[3].reason, "stopped")
  check.ok(res[3].n >= 4 and res[3].n <= 5, "stopped at the step after the mask was set")
  check.ok(done[1] and done[2] and done[3], "the mask is set for every sequence at the end")
end)

test("a full cache gives partial results and the reason", function()
  local m = lab.model.open(MODEL, { n_ctx = 24 })
  local res = lab.generate_batch({ m:seq("Once upon a time"), m:seq("Tom") }, { max_tokens = 30 })
  for i = 1, 2 do
    check.eq(res[i].reason, "full")
    check.ok(res[i].n > 0 and res[i].err:find("KV cache is full"), lab.inspect(res[i]))
  end
  local m2 = lab.model.open(MODEL, { n_ctx = 16 })
  local r = lab.generate(m2:seq("Once upon a time"), { max_tokens = 40 })
  check.eq(r.reason, "full")
  check.eq(#r.tokens, r.n)
  check.ok(r.n > 0)
end)
