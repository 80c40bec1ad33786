-- Search primitives (3 of 7): seeds and sampler state. Fresh samplers
-- differ, lab.seed reproduces, clone{seed=}; a sampler reused across
-- lab.generate calls counts each token's history once; the post-sampler
-- log-prob of a whole-row draw.
test("seeds: fresh samplers differ, lab.seed reproduces, clone{seed=}", function()
  local m = lab.model.open(MODEL)
  local l = m:seq("Once"):eval()
  local function draws(sm, n)
    local out = {}
    for i = 1, n do out[i] = sm:pick(l) end
    return table.concat(out, ",")
  end
  local old = lab.seed(7)
  local a, b = lab.sampler{ temp = 1.5, top_k = 0, top_p = 1, min_p = 0 }, lab.sampler{ temp = 1.5, top_k = 0, top_p = 1, min_p = 0 }
  local da, db = draws(a, 40), draws(b, 40)
  check.ok(da ~= db, "two fresh samplers draw different streams")
  lab.seed(7)
  local a2 = lab.sampler{ temp = 1.5, top_k = 0, top_p = 1, min_p = 0 }
  check.eq(draws(a2, 40), da, "the same run seed gives the same samplers")
  local first = lab.sampler{ temp = 1.5, top_k = 0, top_p = 1, min_p = 0, seed = 7 }
  check.eq(draws(first, 40), da, "the first fresh sampler takes the run seed itself")
  local c = a:clone{ seed = 99 }
  local d = lab.sampler{ temp = 1.5, top_k = 0, top_p = 1, min_p = 0, seed = 99 }
  check.eq(draws(c, 40), draws(d, 40), "clone{seed=} is the same chain with that seed")
  lab.seed(old)
  check.raises("integer seed", lab.seed, 1.5)
end)

test("a sampler reused across generate calls counts history once", function()
  local m = lab.model.open(MODEL)
  local opts = { seed = 11, temp = 1.0, repeat_penalty = 1.5, repeat_last_n = -1 }
  local s1, a = m:seq("Once upon a time"), lab.sampler(opts)
  local r1 = lab.generate(s1, { sampler = a, max_tokens = 10 })
  local r2 = lab.generate(s1, { sampler = a, max_tokens = 10 })
  local s2 = m:seq("Once upon a time")
  local whole = lab.generate(s2, { sampler = lab.sampler(opts), max_tokens = 20 })
  local joined = {}
  for _, t in ipairs(r1.tokens) do joined[#joined + 1] = t end
  for _, t in ipairs(r2.tokens) do joined[#joined + 1] = t end
  check.same_list(joined, whole.tokens, "two calls of 10 = one call of 20")
end)

test("pick_lp over a 32000-token row: the whole-row draw's post-sampler log-prob", function()
  -- temp then dist over the whole row: the draw leaves the row's p to be
  -- computed on demand (core/smp_mass.c) and lab reads the pick's p
  local m = check.ok(lab.model.open(MODEL_DIR .. "/synthetic/synth-A-q8_0.gguf"))
  local l = m:seq("Once upon a time"):eval()
  local n = #l
  check.eq(n, 32000)
  for _, t in ipairs({ 0.8, 1.5 }) do
    local mx, s = -math.huge, 0
    for i = 0, n - 1 do mx = math.max(mx, l:get(i) / t) end
    for i = 0, n - 1 do s = s + math.exp(l:get(i) / t - mx) end
    local lse = mx + math.log(s)
    local smp = lab.sampler{ temp = t, top_k = 0, top_p = 1, min_p = 0, seed = 7 }
    for k = 1, 4 do
      local id, lp = smp:pick_lp(l)
      check.near(lp, l:get(id) / t - lse, 1e-5, ("temp %g pick %d (token %d)"):format(t, k, id))
    end
  end
end)
