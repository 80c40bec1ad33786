-- Search primitives: lab.generate_batch, seq:score / lab.score_batch,
-- seeds, sampler state across calls, text appended in context, misuse.
-- Each is checked against an independent computation (one by one,
-- lab.score, teacher forcing), bit for bit: the CPU kernels are
-- batch-invariant, so a position's row does not depend on the batch it was
-- computed in. Values the engine reduces to single precision (scores, cheap
-- rows) are compared with the double-precision reference rounded to float.
local TOL = 0
local function f32(x) return (string.unpack("f", string.pack("f", x))) end

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

test("generate misuse names the argument", function()
  local m = lab.model.open(MODEL)
  check.raises("bad argument #1 to 'generate' %(Seq expected, got nil%)", lab.generate, nil)
  check.raises("option 'sampler' must be a Sampler", lab.generate, m:seq("x"), { sampler = "x" })
  check.raises("option 'stop' must be a string or a list of strings, got number", lab.generate, m:seq("x"), { stop = 5 })
  check.raises("on_token returned string x", lab.generate, m:seq("x"), { on_token = function() return "x" end })
  check.raises("on_token returned float 5.0", lab.generate, m:seq("x"), { on_token = function() return 5.0 end })
  local s = m:seq("x")
  check.raises("entries 1 and 2 are the same sequence", lab.generate_batch, { s, s })
  local sm = lab.sampler{}
  check.raises("share one Sampler", lab.generate_batch, { { seq = m:seq("a"), sampler = sm }, { seq = m:seq("b"), sampler = sm } })
  check.raises("entry 2: unknown option 'maxtokens'", lab.generate_batch, { m:seq("a"), { seq = m:seq("b"), maxtokens = 3 } })
  check.raises("a list of one or more", lab.generate_batch, {})
end)

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

test("sampler misuse: masked rows, ids beyond the vocabulary", function()
  local m = lab.model.open(MODEL)
  local l = m:seq("Once"):eval()
  local all = {}
  for i = 0, 511 do all[i] = -math.huge end
  check.raises("every token is masked", lab.sampler{ bias = all }.pick, lab.sampler{ bias = all }, l)
  check.raises("every token is masked", lab.sampler{ temp = 0 }.pick, lab.sampler{ temp = 0 }, l:bias(all))
  local big = lab.sampler{ bias = { [600] = 1 } }
  check.raises("token id 600 out of range", big.pick, big, l)
  local s = lab.sampler{}
  s:pick(l)
  check.raises("token id 512 out of range", s.accept, s, 512)
  -- with the model given, at once: the bias when the sampler is made, accept before any pick
  check.raises("bad sampler option 'bias' %(token id 600 out of range %[0, 512%) of the model's vocabulary%)",
    lab.sampler, { model = m, bias = { [3] = 1, [600] = 1 } })
  local sm = lab.sampler{ model = m, bias = { [511] = 1 } }
  check.raises("token id 512 out of range %[0, 512%)", sm.accept, sm, 512)
  sm:accept(511)
  check.ok(sm:pick(l) >= 0)
  check.raises("bad sampler option 'model' %(an open Model expected, got string%)", lab.sampler, { model = "m" })
  local c = sm:clone{ seed = 3 }
  check.raises("token id 512 out of range", c.accept, c, 512)
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

-- A copy of tok512.bin (llama2.c tokenizer: int32 max length, then per
-- token float32 score, int32 length, bytes) with one token's text changed.
local function altered_tokenizer()
  local data = check.ok(lab.fs.read("models/tok512.bin"))
  local pos = 5
  for id = 0, 511 do
    local _, len, after = string.unpack("<fi4", data, pos)
    if id == 300 then
      local text = data:sub(after, after + len - 1)
      local changed = text:sub(1, -2) .. (text:sub(-1) == "q" and "z" or "q")
      data = data:sub(1, after - 1) .. changed .. data:sub(after + len)
      break
    end
    pos = after + len
  end
  check.ok(lab.fs.write("models/tok512x.bin", data))
  return WS .. "/models/tok512x.bin"
end

test("vocabulary check: same_vocab, combine refuses equal-size different vocabularies", function()
  local m = lab.model.open(MODEL)
  local same = check.ok(lab.model.open(WS .. "/models/stories260K.bin", { tokenizer = WS .. "/models/tok512.bin" }))
  local other = check.ok(lab.model.open(WS .. "/models/stories260K.bin", { tokenizer = altered_tokenizer() }))
  check.eq(m:same_vocab(same), true)
  local ok, why = m:same_vocab(other)
  check.eq(ok, false)
  check.ok(why:find("300"), why)
  local a, b, c = m:seq("Once"):eval(), same:seq("Once"):eval(), other:seq("Once"):eval()
  check.ok(lab.logits.combine{ { a, 1 }, { b, -0.5 } })
  check.fails("term 2: %[1%]: its model's vocabulary differs from term 1's", lab.logits.combine{ { a, 1 }, { c, -0.5 } })
  check.fails("term 3: %[3%]", lab.logits.combine{ { a, 1 }, { b, 1 }, { a, 1, c } })
  lab.fs.remove("models/tok512x.bin")
end)

test("KV statistics, slots after garbage, JSON non-finite numbers, lab.score's name", function()
  local m = lab.model.open(MODEL, { n_ctx = 256, n_seq_max = 3 })
  local kv = m:kv()
  check.eq(kv.cells, 256)
  check.eq(kv.seq_max, 3)
  local s = m:seq("Once upon a time")
  check.eq(s:kv().pending, 5)
  s:eval()
  check.eq(s:kv().cells, 5)
  kv = m:kv()
  check.eq(kv.used, 5)
  check.eq(kv.free, 251)
  check.eq(kv.seqs, 1)
  check.eq(kv.seq_free, 2)
  for _ = 1, 10 do check.ok(m:seq("a"), "unreferenced sequences are collected when slots run out") end
  for _ = 1, 10 do check.ok(s:fork()) end
  for _ = 1, 4 do check.ok(s:score(" there")) end
  check.raises("cannot encode %-inf", lab.json.encode, { lp = -math.huge })
  check.eq(lab.json.encode({ lp = -math.huge }, { nonfinite = "null" }), '{"lp":null}')
  check.eq(lab.json.encode({ -math.huge, math.huge }, { nonfinite = "string" }), '["-inf","inf"]')
  check.raises("bad argument #2 to 'score'", lab.score, m, 5, "x")
end)

test("run handles write to their run; concurrent tasks each to their own", function()
  local id, run = lab.store.run_begin{ plugin = "handles" }
  check.ok(id)
  check.eq(run.id, id)
  local other = check.ok(lab.store.run_begin{ plugin = "other" })
  check.ok(run:put("note", { x = 1 }))
  check.ok(run:metric("loss", 0.5))
  local rows = lab.store.query("SELECT run_id FROM records WHERE kind = 'note' ORDER BY id DESC LIMIT 1")
  check.eq(rows[1].run_id, id, "the handle's run, not the newest")
  local got = {}
  local function worker(name)
    return lab.spawn(function()
      local rid = check.ok(lab.store.run_begin{ plugin = name })
      lab.sleep(0.01)                    -- the other task begins its run meanwhile
      check.ok(lab.store.put("mine", name))
      got[name] = rid
      lab.store.run_end(rid)
    end)
  end
  local a, b = worker("task_a"), worker("task_b")
  check.ok(lab.await(a))
  check.ok(lab.await(b))
  for name, rid in pairs(got) do
    local r = lab.store.query("SELECT data FROM records WHERE kind = 'mine' AND run_id = ?", { rid })
    check.eq(#r, 1, name)
    check.eq(r[1].data, '"' .. name .. '"')
  end
  check.ok(run:run_end())
  lab.store.run_end(other)
end)

test("a task budget of tokens and wall time", function()
  local m = lab.model.open(MODEL)
  local ok, err = lab.await(lab.spawn(function()
    lab.task_budget{ tokens = 20 }
    local r = lab.generate(m:seq("Once upon a time"), { max_tokens = 100 })
    return r.n
  end))
  check.eq(ok, false)
  check.ok(err:find("task budget exceeded: 20 tokens"), err)
  local ok2, err2 = lab.await(lab.spawn(function()
    lab.task_budget{ seconds = 0.05 }
    local s = m:seq("Once")
    while true do s:append(1):eval(); lab.sleep(0.01) end
  end))
  check.eq(ok2, false)
  check.ok(err2:find("task budget exceeded: 0.05 s"), err2)
  local ok3, n = lab.await(lab.spawn(function()
    lab.task_budget{ tokens = 100 }
    check.ok(m:seq("Once upon"):score(" a time"))
    return lab.task_budget().used
  end))
  check.ok(ok3)
  check.eq(n, #m:tokenize("Once upon") + 2 - 1, "a score is charged what it evaluates: the pending prefix, the continuation but its last")
  -- the wall-time limit holds without engine work: a task spinning in Lua
  -- (the hook), asleep or awaiting (woken at its deadline)
  local t0 = lab.now()
  local ok4, err4 = lab.await(lab.spawn(function()
    lab.task_budget{ seconds = 0.1 }
    local x = 0
    while true do x = x + 1 end
  end))
  check.eq(ok4, false)
  check.ok(err4:find("task budget exceeded: 0.1 s of wall time"), err4)
  local ok5, err5 = lab.await(lab.spawn(function()
    lab.task_budget{ seconds = 0.1 }
    lab.sleep(30)
    return "slept"
  end))
  check.eq(ok5, false)
  check.ok(err5:find("task budget exceeded: 0.1 s of wall time"), err5)
  local ok6, err6 = lab.await(lab.spawn(function()
    lab.task_budget{ seconds = 0.1 }
    return lab.await(lab.spawn(lab.sleep, 30))
  end))
  check.eq(ok6, false)
  check.ok(err6:find("task budget exceeded: 0.1 s of wall time"), err6)
  check.ok(lab.now() - t0 < 10, "stopped at the deadline, not after the 30 s sleeps")
  check.raises("unknown option 'token'", lab.task_budget, { token = 5 })
  check.eq(lab.task_budget().used, 0, "the budget belongs to the task that set it")
end)

test("single-sequence jobs of concurrent tasks share engine steps and give what they give alone", function()
  local m = lab.model.open(MODEL)
  local function gen(i) return lab.generate(m:seq(PROMPTS[i]), { max_tokens = 12, sampler = lab.sampler{ seed = i, temp = 1 } }) end
  local alone = {}
  for i = 1, #PROMPTS do alone[i] = gen(i) end
  local s0 = m:kv().steps
  local tasks = {}
  for i = 1, #PROMPTS do tasks[i] = lab.spawn(gen, i) end
  for i = 1, #PROMPTS do
    local ok, r = lab.await(tasks[i])
    check.ok(ok, r)
    check.same_list(r.tokens, alone[i].tokens, "task " .. i)
    for j = 1, #r.logprobs do check.eq(r.logprobs[j], alone[i].logprobs[j], "task " .. i .. " logprob " .. j) end
  end
  local steps = m:kv().steps - s0
  check.ok(steps < 2 * 13, "4 tasks x 12 tokens in " .. steps .. " engine steps (alone: 48)")
end)

test("score jobs of concurrent tasks share engine steps and give, bit for bit, what they give alone", function()
  local m = lab.model.open(MODEL)
  local CONTS = { " there was a dog", " went to the park", " sat on the mat", " a big red ball" }
  local seqs = {}
  for i = 1, #PROMPTS do seqs[i] = m:seq(PROMPTS[i]); seqs[i]:eval() end
  -- each task scores three continuations, one after the other, with the top-2
  local function work(i)
    local out = {}
    for r = 0, 2 do out[#out + 1] = seqs[i]:score(CONTS[(i + r - 1) % #CONTS + 1], { top = 2 }) end
    return out
  end
  local alone = {}
  local s0 = m:kv().steps
  for i = 1, #PROMPTS do alone[i] = work(i) end
  local steps_alone = m:kv().steps - s0
  s0 = m:kv().steps
  local tasks = {}
  for i = 1, #PROMPTS do tasks[i] = lab.spawn(work, i) end
  local bits = function(x) return string.pack("<d", x) end
  for i = 1, #PROMPTS do
    local ok, got = lab.await(tasks[i])
    check.ok(ok, got)
    for r = 1, 3 do
      local a, b = alone[i][r], got[r]
      check.eq(#b.logprobs, #a.logprobs)
      for j = 1, #a.logprobs do
        check.eq(bits(b.logprobs[j]), bits(a.logprobs[j]), "task " .. i .. " score " .. r .. " token " .. j)
        check.eq(b.top[j][1].id, a.top[j][1].id)
        check.eq(bits(b.top[j][2].logprob), bits(a.top[j][2].logprob))
      end
      check.eq(bits(b.logprob), bits(a.logprob))
    end
  end
  local steps = m:kv().steps - s0
  check.eq(steps_alone, 12, "alone: one step per score")
  check.ok(steps <= 6, "4 tasks x 3 scores in " .. steps .. " engine steps (alone: 12)")
  for i = 1, #PROMPTS do seqs[i]:close() end
  -- lab.score (from scratch) too
  local function work2(i)
    local out = {}
    for r = 0, 2 do out[#out + 1] = assert(lab.score(m, PROMPTS[i], CONTS[(i + r - 1) % #CONTS + 1])) end
    return out
  end
  s0 = m:kv().steps
  for i = 1, #PROMPTS do alone[i] = work2(i) end
  steps_alone = m:kv().steps - s0
  s0 = m:kv().steps
  for i = 1, #PROMPTS do tasks[i] = lab.spawn(work2, i) end
  for i = 1, #PROMPTS do
    local ok, got = lab.await(tasks[i])
    check.ok(ok, got)
    for r = 1, 3 do
      local a, b = alone[i][r], got[r]
      check.eq(#b.logprobs, #a.logprobs)
      for j = 1, #a.logprobs do check.eq(bits(b.logprobs[j]), bits(a.logprobs[j]), "lab.score task " .. i .. " token " .. j) end
      check.eq(bits(b.logprob), bits(a.logprob))
    end
  end
  steps = m:kv().steps - s0
  check.eq(steps_alone, 12, "lab.score alone: one step each")
  check.ok(steps <= 6, "4 tasks x 3 lab.score in " .. steps .. " engine steps (alone: 12)")
end)

test("jobs of different kinds (eval, seq:score, lab.score) share engine steps and give, bit for bit, what they give alone", function()
  local m = lab.model.open(MODEL)
  local bits = function(x) return string.pack("<d", x) end
  local base = {}
  for i = 1, 3 do base[i] = m:seq(PROMPTS[i]); base[i]:eval() end
  -- task 1 generates (eval jobs), task 2 scores on the cache (seq:score),
  -- task 3 scores from scratch (lab.score), four rounds each
  local function work(kind)
    local out = {}
    for r = 1, 4 do
      if kind == 1 then
        local nxt = base[1]:eval{ top = 3 }.top[1].id
        local row = base[1]:append(nxt):eval{ top = 3 }
        out[r] = { tok = row.top[1].id, lp = row.top[1].logprob }
      elseif kind == 2 then
        out[r] = base[2]:score(" there was a dog " .. r, { top = 2 })
      else
        out[r] = assert(lab.score(m, PROMPTS[3], " went to the park " .. r))
      end
    end
    return out
  end
  local snap = base[1]:tokens()
  local s0 = m:kv().steps
  local alone = {}
  for k = 1, 3 do alone[k] = work(k) end
  local steps_alone = m:kv().steps - s0
  base[1]:close()
  base[1] = m:seq(snap)
  base[1]:eval()
  s0 = m:kv().steps
  local tasks = {}
  for k = 1, 3 do tasks[k] = lab.spawn(work, k) end
  local got = {}
  for k = 1, 3 do
    local ok, r = lab.await(tasks[k])
    check.ok(ok, r)
    got[k] = r
  end
  local steps = m:kv().steps - s0
  for r = 1, 4 do
    check.eq(got[1][r].tok, alone[1][r].tok, "eval round " .. r)
    check.eq(bits(got[1][r].lp), bits(alone[1][r].lp), "eval round " .. r .. " log-prob")
    for k = 2, 3 do
      local a, b = alone[k][r], got[k][r]
      check.eq(#b.logprobs, #a.logprobs)
      for j = 1, #a.logprobs do check.eq(bits(b.logprobs[j]), bits(a.logprobs[j]), "kind " .. k .. " round " .. r .. " token " .. j) end
      check.eq(bits(b.logprob), bits(a.logprob))
    end
  end
  check.ok(steps < steps_alone - 4, string.format("3 kinds x 4 rounds in %d engine steps (alone: %d)", steps, steps_alone))
  for i = 1, 3 do base[i]:close() end
end)

-- The bytes of a Logits row (memcmp in Lua).
local function row_bytes(l)
  local t = {}
  for id = 0, #l - 1 do t[#t + 1] = string.pack("<f", l:get(id)) end
  return table.concat(t)
end

-- three seq:score of 6-token continuations, a lab.score of 13 entries and
-- an evaluation of every position of a 21-token text: 18 + 13 + 21
-- entries; with n_batch = 8 one job alone is up to 3 steps and together
-- they are cut wherever a step is full, inside jobs too
local LONG = "Once upon a time, there was a little girl named Lily. She liked to play"
local function split_work(m, base, kind)
  if kind <= 3 then
    return assert(base[kind]:score(({ " there was a dog", " went to the park", " sat on the mat" })[kind], { top = 3 }))
  elseif kind == 4 then
    return assert(lab.score(m, "The cat sat", " on the mat and looked at the big red ball"))
  end
  local s = base[4]          -- made before the task: making a sequence waits for the model's queued jobs
  local rows = assert(s:eval{ all = true })
  local out = { n = #rows, evaluated = #rows }
  for i, r in ipairs(rows) do out[i] = row_bytes(r) end
  s:close()
  return out
end

local function same_split(a, b, what)
  local bits = function(x) return string.pack("<d", x) end
  check.eq(b.evaluated, a.evaluated, what .. " entries")
  if a.n and a[1] then
    for i = 1, a.n do check.ok(b[i] == a[i], what .. ": row " .. i .. " is bit for bit the row alone") end
    return
  end
  check.eq(#b.logprobs, #a.logprobs, what)
  for j = 1, #a.logprobs do check.eq(bits(b.logprobs[j]), bits(a.logprobs[j]), what .. " token " .. j) end
  check.eq(bits(b.logprob), bits(a.logprob), what .. " sum")
  for j = 1, #(a.top or {}) do
    for r = 1, #a.top[j] do
      check.eq(b.top[j][r].id, a.top[j][r].id, what .. " top id")
      check.eq(bits(b.top[j][r].logprob), bits(a.top[j][r].logprob), what .. " top logprob")
    end
  end
end

test("jobs that do not fit one batch are split across consecutive steps, each job's rows bit for bit as alone", function()
  local NB = 8
  local m = lab.model.open(MODEL, { n_batch = NB })
  local base = {}
  for i = 1, 3 do base[i] = m:seq(PROMPTS[i]); base[i]:eval() end
  local alone, entries = {}, 0
  local s0 = m:kv().steps
  for k = 1, 5 do
    base[4] = m:seq(LONG)
    alone[k] = split_work(m, base, k)
    entries = entries + alone[k].evaluated
  end
  check.ok(alone[5].n > NB, "the evaluation alone is larger than a batch")
  local steps_alone = m:kv().steps - s0
  base[4] = m:seq(LONG)
  collectgarbage(); collectgarbage()
  s0 = m:kv().steps
  local tasks = {}
  for k = 1, 5 do tasks[k] = lab.spawn(split_work, m, base, k) end
  for k = 1, 5 do
    local ok, r = lab.await(tasks[k])
    check.ok(ok, r)
    same_split(alone[k], r, "job " .. k)
  end
  local steps = m:kv().steps - s0
  -- all entries end to end, n_batch per step (jobs alone: one step per job at least)
  check.eq(steps, (entries + NB - 1) // NB, string.format("%d entries in %d steps of %d (alone: %d)", entries, steps, NB, steps_alone))
  check.ok(steps < steps_alone, "fewer steps than alone")
  -- a shared step that fails (the cache cannot hold all of them at once)
  -- leaves the jobs it did not finish to run alone, resuming where they
  -- stopped: the same rows, and the evaluation's tokens appended once
  local used0 = m:kv().used
  -- 44 free cells: the steps fail at entries 40-47 (the evaluation, 32-59,
  -- has 8 tokens appended
  -- and resumes alone), alone the largest job needs 28
  local small = lab.model.open(MODEL, { n_batch = NB, n_ctx = used0 + 44 })
  local sbase = {}
  for i = 1, 3 do sbase[i] = small:seq(PROMPTS[i]); sbase[i]:eval() end
  sbase[4] = small:seq(LONG)
  collectgarbage(); collectgarbage()
  s0 = small:kv().steps
  for k = 1, 5 do tasks[k] = lab.spawn(split_work, small, sbase, k) end
  for k = 1, 5 do
    local ok, r = lab.await(tasks[k])
    check.ok(ok, r)
    same_split(alone[k], r, "after a failed step, job " .. k)
  end
  check.ok(small:kv().steps - s0 > (entries + NB - 1) // NB, "a step failed and the jobs it held ran alone")
  check.eq(small:kv().used, used0, "the forks and sequences are gone, nothing appended twice")
  for i = 1, 3 do base[i]:close(); sbase[i]:close() end
end)

test("jobs of two models pending together run in one worker cycle: one step per model", function()
  local m1 = lab.model.open(MODEL)
  local m2 = check.ok(lab.model.open(WS .. "/models/s260-q8_0.gguf"))
  local ms, seqs = { m1, m2, m1, m2 }, {}
  local function gen(i) return lab.generate(seqs[i], { max_tokens = 8, sampler = lab.sampler{ seed = i, temp = 1 } }) end
  local alone = {}
  for i = 1, 4 do seqs[i] = ms[i]:seq(PROMPTS[i]); alone[i] = gen(i); seqs[i]:close() end
  -- the sequences are made before the tasks start, and no garbage is left
  -- to collect: making or collecting one waits for its model's queued
  -- jobs, which then run without waiting for the other tasks' jobs
  for i = 1, 4 do seqs[i] = ms[i]:seq(PROMPTS[i]) end
  collectgarbage(); collectgarbage()
  local a1, a2 = m1:kv().steps, m2:kv().steps
  local tasks = {}
  for i = 1, 4 do tasks[i] = lab.spawn(gen, i) end   -- queued m1, m2, m1, m2 every step
  for i = 1, 4 do
    local ok, r = lab.await(tasks[i])
    check.ok(ok, r)
    check.same_list(r.tokens, alone[i].tokens, "agent " .. i)
    for j = 1, #r.logprobs do check.eq(string.pack("<d", r.logprobs[j]), string.pack("<d", alone[i].logprobs[j]), "agent " .. i .. " logprob " .. j) end
  end
  check.eq(m1:kv().steps - a1, 8, "two agents of model 1 x 8 tokens: 8 steps (alone: 16)")
  check.eq(m2:kv().steps - a2, 8, "two agents of model 2 x 8 tokens: 8 steps (alone: 16)")
  for i = 1, 4 do seqs[i]:close() end
  -- jobs that span both models (lab.score_batch, lab.eval_batch over a
  -- sequence of each) with single-model ones: one step per model
  local s1, s2 = m1:seq(PROMPTS[1]), m2:seq(PROMPTS[2])
  s1:eval(); s2:eval()
  local e1, e2 = m1:seq(PROMPTS[3]), m2:seq(PROMPTS[4])
  local function work(k)
    if k == 1 then return assert(lab.score_batch({ { s1, " there was a dog" }, { s2, " went to the park" } }, { top = 2 })) end
    if k == 2 then return assert(lab.eval_batch({ e1, e2 }, { top = 2 })) end
    if k == 3 then return { assert(s1:score(" sat on the mat")) } end
    return { assert(lab.score(m2, "The cat", " sat on the mat")) }
  end
  local want = {}
  for k = 1, 4 do want[k] = work(k) end
  e1:close(); e2:close()
  e1, e2 = m1:seq(PROMPTS[3]), m2:seq(PROMPTS[4])
  collectgarbage(); collectgarbage()
  a1, a2 = m1:kv().steps, m2:kv().steps
  for k = 1, 4 do tasks[k] = lab.spawn(work, k) end
  for k = 1, 4 do
    local ok, r = lab.await(tasks[k])
    check.ok(ok, r)
    for i = 1, #want[k] do
      local a, b = want[k][i], r[i]
      if a.logprobs and a.logprob then
        same_split(a, b, "job " .. k .. " item " .. i)
      else
        check.eq(b.top[1].id, a.top[1].id)
        check.eq(string.pack("<d", b.top[2].logprob), string.pack("<d", a.top[2].logprob), "job " .. k .. " row " .. i)
      end
    end
  end
  check.eq(m1:kv().steps - a1, 1, "model 1: one step for four jobs")
  check.eq(m2:kv().steps - a2, 1, "model 2: one step for four jobs")
  s1:close(); s2:close(); e1:close(); e2:close()
end)

test("seq:save / model:load: the same state, bit for bit; other weights refused", function()
  local m = lab.model.open(MODEL)
  local s = m:seq("Once upon a time")
  s:eval()
  s:append(", there")
  check.ok(s:save("story_test"))
  local t = check.ok(m:load("story_test"))
  check.same_list(t:tokens(), s:tokens())
  check.eq(t:pending(), 2)
  check.eq(t:kv().cells, 5)
  local a, b = s:eval(), t:eval()
  local bits = function(x) return string.pack("<f", x) end
  for id = 0, 511 do check.eq(bits(b:get(id)), bits(a:get(id)), "row value " .. id) end
  -- the cells are copied, not evaluated: no engine step, and with nothing
  -- pending the last row (the token evaluated again) is the saved one's
  local s2 = m:seq("Tom and his sister went to the park")
  local before = s2:eval()
  check.ok(s2:save("story_test2"))
  check.ok(lab.fs.read("kv/story_test2.kv"))
  local st0 = m:kv().steps
  local t2 = check.ok(m:load("story_test2"))
  check.eq(m:kv().steps - st0, 0, "loading runs no engine step")
  check.eq(t2:pending(), 0)
  check.eq(t2:kv().cells, #s2:tokens())
  local after = t2:eval()
  check.eq(m:kv().steps - st0, 1, "one token evaluated again for the last row")
  local same = true
  for id = 0, 511 do same = same and bits(after:get(id)) == bits(before:get(id)) end
  check.ok(same, "the logits after load are bit for bit those before save")
  -- another shape, cut cells, the first format
  local d = lab.json.decode(check.ok(lab.fs.read("kv/story_test2.json")))
  local seqs0 = m:kv().seqs
  d.n_layers = 99
  check.ok(lab.fs.write("kv/bad_shape.json", lab.json.encode(d)))
  check.fails("holds a cache of 99 layers", m:load("bad_shape"))
  d.n_layers = nil
  check.ok(lab.fs.write("kv/bad_shape.json", lab.json.encode(d)))
  check.fails("holds a cache of nil layers", m:load("bad_shape"))
  -- the cells' file: cut short, damaged, recorded with the wrong size; a
  -- format of another version; the second format (no checksum) still loads
  local cells = check.ok(lab.fs.read("kv/story_test2.kv"))
  local d3 = lab.json.decode(check.ok(lab.fs.read("kv/story_test2.json")))
  check.eq(d3.format, "logitlab-kv/3")
  check.eq(#d3.cells_sha256, 64)
  check.eq(d3.cells_bytes, #cells)
  check.ok(lab.fs.write("kv/story_test2.kv", cells:sub(1, #cells - 4)))
  check.fails("kv/story_test2.kv: " .. (#cells - 4) .. " bytes, the save wrote " .. #cells .. " %(the file was cut short",
    m:load("story_test2"))
  local flipped = cells:sub(1, 100) .. string.char((cells:byte(101) + 1) % 256) .. cells:sub(102)
  check.ok(lab.fs.write("kv/story_test2.kv", flipped))
  check.fails("kv/story_test2.kv: the cells' SHA%-256 is %x+, the save recorded " .. d3.cells_sha256 .. " %(the file is damaged%)",
    m:load("story_test2"))
  local d2 = lab.json.decode(check.ok(lab.fs.read("kv/story_test2.json")))
  d2.cells_bytes = #cells - 4
  check.ok(lab.fs.write("kv/bad_size.json", lab.json.encode(d2)))
  check.fails("the saved cells are " .. (#cells - 4) .. " bytes, this model's", m:load("bad_size"))
  d2.cells_bytes, d2.format = #cells, "logitlab-kv/9"
  check.ok(lab.fs.write("kv/bad_size.json", lab.json.encode(d2)))
  check.fails("kv/bad_size.json: format logitlab%-kv/9 is not one this logitlab reads", m:load("bad_size"))
  d2.format, d2.cells_sha256 = "logitlab-kv/2", nil
  check.ok(lab.fs.write("kv/bad_size.json", lab.json.encode(d2)))
  check.ok(lab.fs.write("kv/story_test2.kv", cells))
  local v2 = check.ok(m:load("bad_size"), "a file of the second format (no checksum) loads")
  local r2 = v2:eval()
  same = true
  for id = 0, 511 do same = same and bits(r2:get(id)) == bits(before:get(id)) end
  check.ok(same, "the second format's rows are the saved ones")
  v2:close()
  check.ok(lab.fs.write("kv/story_test2.kv", cells:sub(1, #cells - 4)))
  collectgarbage()
  check.eq(m:kv().seqs, seqs0, "a failed load leaves no sequence behind")
  d = lab.json.decode(check.ok(lab.fs.read("kv/story_test2.json")))
  d.format, d.n_layers, d.kv_dim, d.cells = "logitlab-kv/1", nil, nil, nil
  check.ok(lab.fs.write("kv/v1.json", lab.json.encode(d)))
  local t3 = check.ok(m:load("v1"))
  local r3 = t3:eval()
  same = true
  for id = 0, 511 do same = same and bits(r3:get(id)) == bits(before:get(id)) end
  check.ok(same, "a file of the first format loads by evaluation, to the same rows")
  -- a bad token or a sequence longer than the context: refused at load,
  -- naming the file, the token and the range
  d = lab.json.decode(check.ok(lab.fs.read("kv/story_test2.json")))
  local good = d.tokens
  collectgarbage()
  local seqs1 = m:kv().seqs
  d.tokens = { good[1], 999999, good[3] }
  d.n_eval = 2
  check.ok(lab.fs.write("kv/bad_tok.json", lab.json.encode(d)))
  check.fails("kv/bad_tok.json: token 2 of 3: id 999999 out of range %[0, 512%) of this model's vocabulary", m:load("bad_tok"))
  d.tokens = { good[1], "x" }
  check.ok(lab.fs.write("kv/bad_tok.json", lab.json.encode(d)))
  check.fails("kv/bad_tok.json: token 2 of 2: id x out of range", m:load("bad_tok"))
  d.tokens, d.n_eval = { 1 }, 5
  check.ok(lab.fs.write("kv/bad_tok.json", lab.json.encode(d)))
  check.fails("kv/bad_tok.json: n_eval 5 out of range %[0, 1%]", m:load("bad_tok"))
  local small = check.ok(lab.model.open(MODEL, { n_ctx = 64 }))
  d.tokens, d.n_eval = {}, 0
  for i = 1, 100 do d.tokens[i] = good[(i - 1) % #good + 1] end
  d.format = "logitlab-kv/1"
  check.ok(lab.fs.write("kv/too_long.json", lab.json.encode(d)))
  check.fails("kv/too_long.json: the saved sequence has 100 tokens; this model's context holds 64", small:load("too_long"))
  collectgarbage()
  check.eq(m:kv().seqs, seqs1, "failed loads leave no sequence behind")
  local ok_small, err_small = small:load("story_test")
  check.ok(ok_small, "a sequence that fits the smaller context loads: " .. tostring(err_small))
  local q4 = check.ok(lab.model.open(WS .. "/models/s260-q4_0.gguf"))
  check.fails("saved from other weights", q4:load("story_test"))
  check.fails("No such file", m:load("no_such_state"))
  check.raises("a name of letters", s.save, s, "../escape")
  -- a file that is not a saved state: what is wrong and where
  check.ok(lab.fs.write("kv/junk.json", "{"))
  check.fails("^kv/junk.json: not a saved sequence: JSON: line 1 col 2: ", m:load("junk"))
  check.ok(lab.fs.write("kv/junk.json", "[1, 2]"))
  check.fails('^kv/junk.json: not a saved sequence %(a JSON object with "format": "logitlab%-kv/3" expected%)', m:load("junk"))
  d = lab.json.decode(check.ok(lab.fs.read("kv/story_test.json")))
  d.tokens = "x"
  check.ok(lab.fs.write("kv/junk.json", lab.json.encode(d)))
  check.fails('^kv/junk.json: tokens must be an array of token ids, got "x"$', m:load("junk"))
  d.tokens, d.n_eval = good, 1.5
  check.ok(lab.fs.write("kv/junk.json", lab.json.encode(d)))
  check.fails("^kv/junk.json: n_eval must be a whole number of tokens, got 1.5$", m:load("junk"))
  for _, f in ipairs({ "story_test.json", "story_test.kv", "story_test2.json", "story_test2.kv", "bad_shape.json", "v1.json", "bad_tok.json",
    "too_long.json", "bad_size.json", "junk.json" }) do
    lab.fs.remove("kv/" .. f)
  end
end)

test("seq:save streams the cells from C: a long state costs the Lua heap nothing", function()
  local m = lab.model.open(MODEL, { n_ctx = 2048 })
  local toks = {}
  for i = 1, 900 do toks[i] = 1 + (i * 37) % 500 end
  local s = m:seq(toks)
  s:eval()
  collectgarbage()
  collectgarbage()
  local kb0 = collectgarbage("count")
  check.ok(s:save("long_state"))
  local kb1 = collectgarbage("count")
  local d = lab.json.decode(check.ok(lab.fs.read("kv/long_state.json")))
  check.ok(d.cells_bytes > 1000000, "a state of " .. d.cells_bytes .. " bytes")
  check.ok((kb1 - kb0) * 1024 < d.cells_bytes / 10,
    string.format("the save grew the Lua heap by %.0f KB for %d bytes of cells", kb1 - kb0, d.cells_bytes))
  collectgarbage()
  kb0 = collectgarbage("count")
  local t = check.ok(m:load("long_state"))
  check.ok((collectgarbage("count") - kb0) * 1024 < d.cells_bytes / 10, "the load too")
  check.eq(t:kv().cells, 900)
  -- the cells went through chunks of 64 KiB (many per layer here): the
  -- state loaded is bit for bit the saved one, so the next row is too
  check.ok(d.cells_bytes / d.n_layers > 3 * 65536, "four chunks per layer (" .. d.cells_bytes .. " bytes, " .. d.n_layers .. " layers)")
  local a, b = s:append(42):eval(), t:append(42):eval()
  check.ok(row_bytes(a) == row_bytes(b), "the row after the streamed state is bit for bit the original's")
  t:close()
  -- damage in the last chunk, long after the first chunks went into the
  -- cells: the checksum fails at the end and the cells are given back
  local cells = check.ok(lab.fs.read("kv/long_state.kv"))
  local used, seqs = m:kv().used, m:kv().seqs
  local at = #cells - 10
  check.ok(lab.fs.write("kv/long_state.kv", cells:sub(1, at - 1) .. string.char((cells:byte(at) + 1) % 256) .. cells:sub(at + 1)))
  check.fails("^kv/long_state.kv: the cells' SHA%-256 is %x+, the save recorded " .. d.cells_sha256 .. " %(the file is damaged%)",
    m:load("long_state"))
  check.eq(m:kv().used, used, "a damaged file leaves no cells taken")
  check.eq(m:kv().seqs, seqs, "nor a sequence")
  check.ok(lab.fs.write("kv/long_state.kv", cells:sub(1, 70000)))
  check.fails("^kv/long_state.kv: 70000 bytes, the save wrote " .. #cells .. " %(the file was cut short or changed%)",
    m:load("long_state"))
  check.eq(m:kv().used, used, "a cut file neither")
  check.ok(lab.fs.write("kv/long_state.kv", cells))
  check.ok(m:load("long_state")):close()
  lab.fs.remove("kv/long_state.json")
  lab.fs.remove("kv/long_state.kv")
end)

test("a task budget charges what the engine evaluates, for every kind of job (m:kv().evaluated)", function()
  local m = lab.model.open(MODEL)
  local ok, err = lab.await(lab.spawn(function()
    lab.task_budget{ tokens = 100000 }
    local function charged(what, fn, want)
      local u0, e0 = lab.task_budget().used, m:kv().evaluated
      local r = fn()
      local used, ev = lab.task_budget().used - u0, m:kv().evaluated - e0
      check.eq(used, ev, what .. ": charged = the engine's count")
      if want then check.eq(used, want, what .. ": by hand") end
      return r
    end
    local s = m:seq("Once upon a time")
    local n = #s
    charged("seq:eval", function() return s:eval() end, n)
    -- a score on an evaluated sequence with pending tokens: the last evaluated
    -- token again, the 2 pending ones, the continuation but its last
    s:append(", there")
    local r = charged("seq:score with pending tokens", function() return check.ok(s:score(" was a")) end, 1 + 2 + 2 - 1)
    check.eq(r.evaluated, 1 + 2 + 2 - 1, "its result says so")
    check.eq(#s, n + 2, "the sequence is unchanged")
    charged("lab.score_batch", function() return check.ok(lab.score_batch{ { s, " was" }, { m:seq("Tom"), " and his" } }) end,
      (1 + 2 + 1 - 1) + (#m:tokenize("Tom") + 2 - 1))
    local ls = charged("lab.score", function() return check.ok(lab.score(m, "Once upon a time", ", there was")) end)
    check.eq(ls.evaluated, #m:tokenize("Once upon a time, there was") - 1, "lab.score: all but the last token")
    charged("lab.generate", function() return lab.generate(m:seq("Once"), { max_tokens = 5 }) end)
  end))
  check.ok(ok, err)
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
