-- Search primitives (2 of 7): scoring on the cache and rows. seq:score
-- against lab.score and teacher forcing, lab.score_batch against one
-- seq:score at a time, all-position rows against one-at-a-time rows, cheap
-- rows against full ones, text appended in context. Values the engine
-- reduces to single precision (scores, cheap rows) are compared with the
-- double-precision reference rounded to float.
local TOL = 0
local function f32(x) return (string.unpack("f", string.pack("f", x))) end

test("seq:score equals lab.score and teacher forcing, and leaves the sequence alone", function()
  local m = lab.model.open(MODEL)
  local s = m:seq("Once upon a time")
  local r = check.ok(s:score(", there was a little girl", { top = 3 }))
  local ref = check.ok(lab.score(m, "Once upon a time", ", there was a little girl"))
  check.same_list(r.tokens, ref.tokens)
  check.near(r.logprob, ref.logprob, TOL)
  check.eq(#s, 5)
  check.eq(s:pending(), 5, "pending tokens stay pending")
  s:eval()
  local r2 = check.ok(s:score(r.tokens))
  local t = s:fork()
  for i, tok in ipairs(r2.tokens) do
    local l = t:eval()
    check.eq(r2.logprobs[i], f32(l:logprob(tok)), "teacher forcing " .. i)
    check.near(r.logprobs[i], ref.logprobs[i], TOL, "lab.score " .. i)
    check.eq(r.top[i][1].id, l:argmax())
    check.eq(r.top[i][1].logprob, f32(l:logprob(l:argmax())))
    t:append(tok)
  end
  check.eq(#s, 5)
  check.eq(s:pending(), 0)
end)

test("score_batch equals one seq:score at a time", function()
  local m = lab.model.open(MODEL)
  local s, u = m:seq("Once upon a time"), m:seq("Tom and")
  s:eval()
  local list = { { s, " in" }, { s, ", there was" }, { u, " his" }, { m:seq("Lily"), { 471, 2 } } }
  local b = check.ok(lab.score_batch(list, { top = 2 }))
  check.eq(#b, 4)
  for i, e in ipairs(list) do
    local one = check.ok(e[1]:score(e[2], { top = 2 }))
    check.same_list(b[i].tokens, one.tokens, "tokens " .. i)
    for j = 1, one.n do
      check.near(b[i].logprobs[j], one.logprobs[j], TOL, "entry " .. i .. " logprob " .. j)
      check.eq(b[i].top[j][1].id, one.top[j][1].id)
    end
  end
  check.raises("entry 2: its first value must be a Seq", lab.score_batch, { { s, "x" }, { "s", "x" } })
  check.raises("the continuation must be text", s.score, s, 5.5)
  check.raises("the sequence is empty", m:seq().score, m:seq(), "x")
end)

test("text appended in context has no dummy-prefix space", function()
  local m = lab.model.open(MODEL)
  local s = m:seq("Once upon a"):append(" time")
  check.same_list(s:tokens(), m:tokenize("Once upon a time"))
  check.eq(s:text(), " Once upon a time")
  local q = m:seq('He said "hi'):append('"')
  check.eq(q:text(), ' He said "hi"')
  check.same_list(m:tokenize(" time", { context = true }), { m:tokenize("a time", { bos = false })[2] })
  check.eq(#m:tokenize(" time", { bos = false }), 2, "without context: the dummy prefix makes two spaces")
  check.raises("bos and context", m.tokenize, m, "x", { bos = true, context = true })
end)

test("all-position rows equal one-at-a-time rows; cheap rows equal full ones", function()
  local m = lab.model.open(MODEL)
  local toks = m:tokenize("Once upon a time, there was")
  local s = m:seq(toks)
  local rows = check.ok(s:eval{ all = true })
  check.eq(#rows, #toks)
  check.eq(s:pending(), 0)
  local t = m:seq()
  for i, tok in ipairs(toks) do
    local l = t:append(tok):eval()
    for id = 0, 511, 37 do check.near(rows[i]:get(id), l:get(id), TOL, "row " .. i .. " id " .. id) end
    check.eq(rows[i]:argmax(), l:argmax())
  end
  local u = m:seq(toks)
  local cheap = check.ok(u:eval{ all = true, top = 4, ids = { 2, 432, 383 } })
  for i = 1, #toks do
    local full = rows[i]:top(4)
    for k = 1, 4 do
      check.eq(cheap[i].top[k].id, full[k].id, "top id " .. i .. "," .. k)
      check.eq(cheap[i].top[k].logprob, f32(full[k].logprob))
    end
    for k, id in ipairs({ 2, 432, 383 }) do check.eq(cheap[i].logprobs[k], f32(rows[i]:logprob(id))) end
  end
  local last = check.ok(u:eval{ ids = { 432 } })   -- nothing pending: the last row again
  check.eq(last.logprobs[1], f32(rows[#toks]:logprob(432)))
  check.raises("unknown option 'tops'", u.eval, u, { tops = 3 })
  check.raises("out of range", u.eval, u, { ids = { 600 } })
end)
