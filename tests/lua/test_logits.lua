-- Logits: the numbers against a direct computation in Lua, and combine.

local m = lab.model.open(MODEL)
local function row(text) return m:seq(text):eval() end

-- softmax in Lua, in double, as the reference
local function ref_probs(l)
  local mx = -math.huge
  for i = 0, #l - 1 do mx = math.max(mx, l:get(i)) end
  local z, p = 0, {}
  for i = 0, #l - 1 do p[i] = math.exp(l:get(i) - mx); z = z + p[i] end
  for i = 0, #l - 1 do p[i] = p[i] / z end
  return p
end

test("prob, logprob and softmax agree with a direct softmax", function()
  local l = row("Once upon a time")
  local p = ref_probs(l)
  local sm = l:softmax()
  check.eq(sm:is_probs(), true)
  check.eq(l:is_probs(), false)
  for _, id in ipairs({ 0, 1, 432, 383, 511 }) do
    check.near(l:prob(id), p[id], 1e-6, "prob " .. id)
    check.near(l:logprob(id), math.log(p[id]), 1e-5, "logprob " .. id)
    check.near(sm:get(id), p[id], 1e-6, "softmax " .. id)
    check.near(sm:prob(id), p[id], 1e-6, "prob of probs " .. id)
  end
  local ls = l:log_softmax()
  check.near(ls:get(432), math.log(p[432]), 1e-5)
  check.near(ls:prob(432), p[432], 1e-6)
end)

test("entropy in nats and bits", function()
  local l = row("Once upon a time")
  local p = ref_probs(l)
  local h = 0
  for i = 0, 511 do if p[i] > 0 then h = h - p[i] * math.log(p[i]) end end
  check.near(l:entropy(), h, 1e-5)
  check.near(l:entropy("nats"), h, 1e-5)
  check.near(l:entropy("bits"), h / math.log(2), 1e-5)
  check.near(l:softmax():entropy(), h, 1e-5)
  check.raises("invalid option", l.entropy, l, "hartleys")
end)

test("argmax, rank and top agree", function()
  local l = row("Once upon a time")
  local top = l:top(5)
  check.eq(#top, 5)
  check.eq(top[1].id, l:argmax())
  check.eq(top[1].id, 432)
  check.eq(top[1].piece, ",")
  for i, t in ipairs(top) do
    check.eq(l:rank(t.id), i, "rank of top " .. i)
    check.near(t.prob, l:prob(t.id), 1e-9)
    check.near(t.logit, l:get(t.id), 1e-9)
    if i > 1 then check.ok(top[i - 1].logit >= t.logit, "order") end
  end
  check.eq(#l:top(10000), 512, "k is capped at the vocabulary")
  check.eq(#l:top(), 10, "default k")
  check.raises("k must be", l.top, l, 0)
  check.raises("out of range", l.rank, l, 512)
end)

test("kl and js", function()
  local a, b = row("Once upon a time"), row("Tom and his sister")
  local p, q = ref_probs(a), ref_probs(b)
  local kl, js = 0, 0
  for i = 0, 511 do
    if p[i] > 0 then kl = kl + p[i] * math.log(p[i] / q[i]) end
    local mm = (p[i] + q[i]) / 2
    if p[i] > 0 then js = js + 0.5 * p[i] * math.log(p[i] / mm) end
    if q[i] > 0 then js = js + 0.5 * q[i] * math.log(q[i] / mm) end
  end
  check.near(a:kl(b), kl, 1e-4)
  check.near(a:js(b), js, 1e-4)
  check.near(a:kl(a), 0, 1e-9)
  check.near(a:js(b), b:js(a), 1e-6, "js is symmetric")
  check.ok(a:js(b) <= math.log(2) + 1e-9, "js <= ln 2")
  check.near(a:softmax():kl(b), kl, 1e-4, "probabilities and logits mix")
end)

test("combine: weighted sums, differences and ReLU terms", function()
  local a, b = row("Once upon a time"), row("Tom and his sister")
  local c = check.ok(lab.logits.combine{ { a, 1 }, { b, -0.5 } })
  local d = lab.logits.combine{ { a, 2, b } }                    -- 2 * (a - b)
  local r = lab.logits.combine{ { a, 1 }, { b, -1, a, relu = true } } -- a - relu(b - a)
  for _, id in ipairs({ 0, 100, 432, 511 }) do
    check.near(c:get(id), a:get(id) - 0.5 * b:get(id), 1e-5, "sum " .. id)
    check.near(d:get(id), 2 * (a:get(id) - b:get(id)), 1e-5, "difference " .. id)
    check.near(r:get(id), a:get(id) - math.max(0, b:get(id) - a:get(id)), 1e-5, "relu " .. id)
  end
end)

test("combine misuse and vocabulary mismatch", function()
  local a = row("Hi")
  check.raises("between 1 and 64", lab.logits.combine, {})
  check.raises("must be Logits", lab.logits.combine, { { 5, 1 } })
  check.raises("finite weight", lab.logits.combine, { { a, "x" } })
  check.raises("not probabilities", lab.logits.combine, { { a:softmax(), 1 } })
end)

test("bias and keep return new rows", function()
  local l = row("Once upon a time")
  local b = l:bias{ [432] = -math.huge, [383] = 1.5 }
  check.eq(b:get(432), -math.huge)
  check.near(b:get(383), l:get(383) + 1.5, 1e-6)
  check.eq(b:argmax(), 383)
  check.eq(l:argmax(), 432, "the original is unchanged")
  local k = l:keep{ 383, 322 }
  check.eq(k:argmax(), 383)
  check.eq(k:get(432), -math.huge)
  check.near(k:prob(383) + k:prob(322), 1, 1e-6)
  check.raises("token ids", l.bias, l, { [9999] = 1 })
end)

test("logits outlive their sequence and model", function()
  local mm = lab.model.open(MODEL)
  local s = mm:seq("Once upon a time")
  local l = s:eval()
  s:close()
  mm:close()
  collectgarbage()
  check.eq(l:top(1)[1].piece, ",", "piece through the kept model reference")
end)

test("a row is never a big table: #l and get", function()
  local l = row("Hi")
  check.eq(type(l), "userdata")
  check.eq(#l, 512)
  check.raises("out of range", l.get, l, 512)
  check.ok(tostring(l):find("Logits"), "tostring")
end)
