-- Samplers: options, greedy, seeded draws, penalties.
local m = lab.model.open(MODEL)
local l = m:seq("Once upon a time"):eval()

test("temp 0 is greedy", function()
  local s = lab.sampler{ temp = 0 }
  check.eq(l:sample(s), l:argmax())
  check.eq(s:pick(l), 432)
end)

test("a seed repeats its draws; another seed differs somewhere", function()
  local function draws(seed)
    local s = lab.sampler{ temp = 1.5, top_k = 0, top_p = 1, min_p = 0, seed = seed }
    local out = {}
    for i = 1, 40 do out[i] = s:pick(l) end
    return out
  end
  local a, b, c = draws(7), draws(7), draws(8)
  check.same_list(a, b, "same seed")
  local differ = false
  for i = 1, 40 do differ = differ or a[i] ~= c[i] end
  check.ok(differ, "another seed gives other draws")
end)

test("top_k = 1 and a custom chain", function()
  local s = lab.sampler{ top_k = 1, chain = "top_k,dist", seed = 3 }
  for _ = 1, 10 do check.eq(s:pick(l), 432) end
  check.same_list(s:stages(), { "top_k", "dist" })
end)

test("bias in the sampler masks a token", function()
  local s = lab.sampler{ temp = 0, bias = { [432] = -math.huge } }
  check.eq(s:pick(l), l:bias{ [432] = -math.huge }:argmax())
end)

test("penalties see accepted tokens", function()
  local s = lab.sampler{ temp = 0, repeat_penalty = 100, repeat_last_n = 8 }
  check.eq(s:pick(l), 432)
  s:accept(432)
  check.ok(s:pick(l) ~= 432, "a penalized token loses")
  s:reset()
  check.eq(s:pick(l), 432, "reset forgets")
  -- l:sample accepts
  local s2 = lab.sampler{ temp = 0, repeat_penalty = 100 }
  check.eq(l:sample(s2), 432)
  check.ok(l:sample(s2) ~= 432)
end)

test("probabilities can be sampled too", function()
  check.eq(l:softmax():sample(lab.sampler{ temp = 0 }), 432)
end)

test("bad options raise clear errors", function()
  check.raises("unknown sampler option 'tmp'", lab.sampler, { tmp = 1 })
  check.raises("top%-p must be in", lab.sampler, { top_p = 2 })
  check.raises("temperature must be >= 0", lab.sampler, { temp = -1 })
  check.raises("an integer expected", lab.sampler, { top_k = 1.5 })
  check.raises("a number expected", lab.sampler, { min_p = "x" })
  check.raises("chain", lab.sampler, { chain = "top_k,bogus" })
  check.raises("keys must be token ids", lab.sampler, { bias = { x = 1 } })
  check.raises("table expected", lab.sampler, 5)
  check.raises("selects no token", function() lab.sampler{ chain = "top_k" }:pick(l) end)
end)
