-- lab.generate and lab.score.
local golden = lab.json.decode(assert(lab.fs.read("golden/s2_once_upon_a_time.json")))

test("greedy generation reproduces llama.cpp's 200 tokens", function()
  local m = lab.model.open(MODEL)
  local s = m:seq("Once upon a time")
  local r = check.ok(lab.generate(s, { max_tokens = 200, stop_at_eos = false }))
  check.same_list(r.tokens, golden.generated_tokens, "tokens")
  check.eq(r.text, golden.generated_text, "text")
  check.eq(r.n, 200)
  check.eq(r.reason, "length")
  check.eq(s:text(), golden.full_text_detokenized, "the sequence holds prompt + output")
end)

test("on_token sees each step and can stop", function()
  local m = lab.model.open(MODEL)
  local s = m:seq("Once upon a time")
  local seen = {}
  local r = lab.generate(s, { max_tokens = 50, on_token = function(tok, logits, step)
    seen[#seen + 1] = tok
    check.eq(step, #seen)
    check.eq(logits:argmax(), tok)
    if step == 4 then return false end
  end })
  check.eq(r.n, 3, "stopped before the 4th token")
  check.eq(r.reason, "stopped")
  check.same_list(r.tokens, { 432, 383, 286 })
end)

test("on_token can redirect generation", function()
  local m = lab.model.open(MODEL)
  local s = m:seq("Once upon a time")
  local r = lab.generate(s, { max_tokens = 3, on_token = function(tok, _, step)
    if step == 1 then return 322 end       -- " in" instead of ","
  end })
  check.eq(r.tokens[1], 322)
  check.eq(#r.tokens, 3)
  check.eq(r.text:sub(1, 3), " in")
  local bad = m:seq("Hi")
  check.raises("outside the vocabulary", lab.generate, bad, { on_token = function() return 9999 end })
end)

test("stop strings and EOS", function()
  local m = lab.model.open(MODEL)
  local r = lab.generate(m:seq("Once upon a time"), { max_tokens = 100, stop = "Lily" })
  check.eq(r.reason, "stop")
  check.ok(r.text:find("Lily"), r.text)
  -- EOS: bias every token but EOS away
  local bias = {}
  for i = 0, 511 do if i ~= 2 then bias[i] = -math.huge end end
  local r2 = lab.generate(m:seq("Hi"), { sampler = lab.sampler{ temp = 0, bias = bias }, max_tokens = 10 })
  check.eq(r2.reason, "eos")
  check.same_list(r2.tokens, { 2 })
end)

test("seeded sampling repeats", function()
  local m = lab.model.open(MODEL)
  local a = lab.generate(m:seq("Tom"), { sampler = lab.sampler{ seed = 5 }, max_tokens = 30 })
  local b = lab.generate(m:seq("Tom"), { sampler = lab.sampler{ seed = 5 }, max_tokens = 30 })
  check.same_list(a.tokens, b.tokens)
end)

test("generate misuse", function()
  local m = lab.model.open(MODEL)
  check.raises("unknown option 'max'", lab.generate, m:seq("x"), { max = 3 })
  check.raises("max_tokens", lab.generate, m:seq("x"), { max_tokens = -1 })
  check.raises("on_token must be", lab.generate, m:seq("x"), { on_token = 5 })
end)

test("score equals teacher-forced log-probs from eval", function()
  local m = lab.model.open(MODEL)
  local r = check.ok(lab.score(m, "Once upon a time", ", there was"))
  check.same_list(r.tokens, { 432, 383, 286 })
  local s = m:seq("Once upon a time")
  local sum = 0
  for i, t in ipairs(r.tokens) do
    local l = s:eval()
    check.near(r.logprobs[i], l:logprob(t), 1e-4, "token " .. i)
    sum = sum + l:logprob(t)
    s:append(t)
  end
  check.near(r.logprob, sum, 1e-4)
  check.eq(r.n, 3)
  check.near(r.ppl, math.exp(-sum / 3), 1e-4)
end)

test("score with token lists and mixed forms", function()
  local m = lab.model.open(MODEL)
  local a = lab.score(m, "Once upon a time", ", there was")
  local b = check.ok(lab.score(m, { 1, 403, 407, 261, 378 }, { 432, 383, 286 }))
  local c = check.ok(lab.score(m, "Once upon a time", { 432, 383, 286 }))
  check.near(a.logprob, b.logprob, 1e-5)
  check.near(a.logprob, c.logprob, 1e-5)
end)

test("score failures", function()
  local m = lab.model.open(MODEL)
  check.fails("adds no tokens", lab.score(m, "Once upon", ""))
  check.fails("at least one token", lab.score(m, {}, { 5 }))
  check.raises("string or token table", lab.score, m, 5, "x")
  check.raises("out of range", lab.score, m, { 1 }, { 1000 })
end)

-- stories260K ends a story with BOS (id 1): seed 4 draws it as token 193.
-- The default stops at EOS/EOT only (llama.cpp's goldens); end_tokens adds
-- stops, per call or per model (lab.model.open, run --end-tokens).
local function story(m, opts)
  local s = m:seq("Once upon a time")
  opts.sampler, opts.max_tokens = lab.sampler{ seed = 4 }, 256
  return lab.generate(s, opts)
end

test("end_tokens: the default goes past a BOS; end_tokens stops there", function()
  local m = lab.model.open(MODEL)
  check.same_list(m:info().end_tokens, {}, "no end tokens by default")
  local r = story(m, {})
  check.eq(r.n, 256)
  check.eq(r.tokens[193], 1, "the BOS drawn mid-text")
  local e = story(m, { end_tokens = { "bos" } })
  check.eq(e.n, 193)
  check.eq(e.reason, "end_token")
  check.eq(e.tokens[193], 1)
  check.same_list({ table.unpack(r.tokens, 1, 193) }, e.tokens, "the same tokens up to there")
  check.eq(story(m, { end_tokens = "eos,1" }).n, 193, "a string of names and ids")
  local b = lab.generate_batch({ { seq = m:seq("Once upon a time"), sampler = lab.sampler{ seed = 4 }, end_tokens = { 1 } },
                                 { seq = m:seq("Once upon a time"), sampler = lab.sampler{ seed = 4 } } }, { max_tokens = 256 })
  check.eq(b[1].n, 193, "per entry in a batch")
  check.eq(b[2].n, 256)
  check.raises("'story': not a token", lab.generate, m:seq("x"), { end_tokens = "story" })
  check.raises("outside the vocabulary", lab.generate, m:seq("x"), { end_tokens = { 512 } })
  check.raises("entry 1 must be a token id", lab.generate, m:seq("x"), { end_tokens = { 1.5 } })
  check.raises("this vocabulary has no eot token", lab.generate, m:seq("x"), { end_tokens = { "eot" } })
end)

test("end_tokens: a model's own (lab.model.open), overridden per call", function()
  local m = lab.model.open(MODEL, { end_tokens = { "bos" } })
  check.same_list(m:info().end_tokens, { 1 })
  check.eq(story(m, {}).n, 193)
  check.eq(story(m, { end_tokens = {} }).n, 256, "an empty list per call: EOS only")
  local bad, err = lab.model.open(MODEL, { end_tokens = "eot" })
  check.eq(bad, nil)
  check.ok(tostring(err):find("end_tokens: eot: this vocabulary has no eot token", 1, true), err)
end)

test("a task budget's stop reads without gen.lua's position", function()
  local m = lab.model.open(MODEL)
  local msgs = {}
  lab.await(lab.spawn(function()
    lab.task_budget{ tokens = 10 }
    local _, e = pcall(lab.generate, m:seq("Once upon a time"), { max_tokens = 50 })
    msgs[1] = e
    local _, e2 = pcall(lab.generate_batch, { m:seq("Once upon a time") }, { max_tokens = 50 })
    msgs[2] = e2
  end))
  for i = 1, 2 do
    check.ok(type(msgs[i]) == "string" and msgs[i]:find("^task budget exceeded: 10 tokens"), msgs[i])
  end
end)

test("a full cache held by garbage: tried again after a collection", function()
  local m = lab.model.open(MODEL, { n_ctx = 64, n_batch = 16 })
  check.ok(m:seq(string.rep(" and then they played", 10)):eval())   -- 62 of the 64 cells, then garbage
  check.eq(m:kv().free, 2)
  local r = lab.generate(m:seq("Once upon a time"), { max_tokens = 8 })
  check.eq(r.n, 8, r.err)
  check.eq(r.reason, "length")
  check.ok(m:seq("Once upon a time, there was a dog"):eval(), "seq:eval too")
end)
