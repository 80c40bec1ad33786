-- Sequences: append / eval / fork / rewind / tokens / text, and batches.

local function golden_rows()
  -- stories260K golden: the logits rows of "Once upon a time" (5 prompt tokens)
  local meta = lab.json.decode(assert(lab.fs.read("golden/s2_once_upon_a_time.json")))
  local raw = assert(lab.fs.read("golden/s2_once_upon_a_time.f32"))
  return meta, raw
end

local function row(raw, r, n)
  return { string.unpack("<" .. string.rep("f", n), raw, r * n * 4 + 1) }
end

test("eval of a prompt matches llama.cpp's golden logits", function()
  local meta, raw = golden_rows()
  local m = lab.model.open(MODEL)
  local s = m:seq(m:tokenize("Once upon a time"))
  local l = check.ok(s:eval())
  check.eq(#l, 512)
  local want = row(raw, 4, 512)            -- row 4 predicts token 5
  local worst = 0
  for i = 0, 511 do worst = math.max(worst, math.abs(l:get(i) - want[i + 1])) end
  check.ok(worst < 1e-3, "max |diff| " .. worst)
  check.eq(meta.prompt_tokens and #meta.prompt_tokens or 5, 5)
end)

test("append accepts ids, lists and text; pending and len", function()
  local m = lab.model.open(MODEL)
  local s = m:seq()
  check.eq(#s, 0)
  s:append(1):append({ 403, 407 }):append(" a time")   -- text continues the sequence: no dummy-prefix space
  check.same_list(s:tokens(), { 1, 403, 407, 261, 378 })
  check.same_list(m:seq():append(1):append({ 403, 407 }):append("a time", { context = false }):tokens(),
    { 1, 403, 407, 261, 378 }, "context = false: the old tokenization, with the dummy-prefix space")
  check.eq(s:len(), 5)
  check.eq(s:pending(), 5)
  check.ok(s:eval())
  check.eq(s:pending(), 0)
  check.eq(s:text(), " Once upon a time")
  check.raises("out of range", s.append, s, { 1, 600 })
  check.raises("not an integer", s.append, s, { 1.5 })
  check.same_list(s:tokens(), { 1, 403, 407, 261, 378 }, "unchanged after a refused append")
end)

test("eval with nothing pending returns the same logits without work", function()
  local m = lab.model.open(MODEL)
  local s = m:seq("Once upon a time")
  local a = s:eval()
  local b = s:eval()
  check.eq(rawequal(a, b), true, "cached")
end)

test("empty sequence: eval is misuse", function()
  local m = lab.model.open(MODEL)
  local s = m:seq()
  check.raises("sequence is empty", s.eval, s)
end)

test("fork shares the prefix; children diverge independently", function()
  local m = lab.model.open(MODEL)
  local s = m:seq("Once upon a time")
  local base = s:eval()
  local a, b = s:fork(), s:fork()
  check.same_list(a:tokens(), s:tokens(), "fork copies the tokens")
  check.eq(rawequal(a:eval(), base), true, "fork keeps the row")
  a:append(" there")
  b:append(" in")
  local la, lb = a:eval(), b:eval()
  -- each equals a fresh sequence of the same tokens
  local fa = m:seq(a:tokens()):eval()
  local fb = m:seq(b:tokens()):eval()
  check.near(la:kl(fa), 0, 1e-6, "fork a")
  check.near(lb:kl(fb), 0, 1e-6, "fork b")
  check.ok(la:kl(lb) > 0.01, "children differ")
  check.eq(#s, 5, "the parent is untouched")
  check.near(s:eval():kl(base), 0, 1e-9)
end)

test("rewind drops tokens; evaluating again reproduces the logits", function()
  local m = lab.model.open(MODEL)
  local s = m:seq("Once upon a time")
  local l5 = s:eval()
  s:append(" there was")
  s:eval()
  s:rewind(5)
  check.eq(#s, 5)
  check.near(s:eval():kl(l5), 0, 1e-6, "same row after rewind")
  s:rewind(3)
  local again = m:seq(s:tokens()):eval()
  check.near(s:eval():kl(again), 0, 1e-6, "re-evaluated last token")
  s:rewind(0)
  check.eq(#s, 0)
  check.raises("outside", s.rewind, s, 1)
  check.raises("outside", s.rewind, s, -1)
end)

test("rewind of pending tokens does not touch the cache", function()
  local m = lab.model.open(MODEL)
  local s = m:seq("Once upon")
  local l = s:eval()
  s:append(" a time")
  s:rewind(3)
  check.near(s:eval():kl(l), 0, 1e-6)
end)

test("eval_batch equals one eval per sequence", function()
  local m = lab.model.open(MODEL)
  local texts = { "Once upon a time", "Tom and his sister", "The dog said", "Lily" }
  local seqs, single = {}, {}
  for i, t in ipairs(texts) do
    seqs[i] = m:seq(t)
    single[i] = m:seq(t):eval()
  end
  local rows = check.ok(lab.eval_batch(seqs))
  check.eq(#rows, 4)
  for i = 1, 4 do check.near(rows[i]:kl(single[i]), 0, 1e-6, texts[i]) end
  -- and a second step continues each one
  for i = 1, 4 do seqs[i]:append(rows[i]:argmax()) end
  local rows2 = lab.eval_batch(seqs)
  for i = 1, 4 do check.near(rows2[i]:kl(m:seq(seqs[i]:tokens()):eval()), 0, 1e-6) end
end)

test("eval_batch across two models in one step", function()
  local a = lab.model.open(MODEL)
  -- the same weights from the llama2.c checkpoint
  local b = check.ok(lab.model.open(MODEL_DIR .. "/stories260K.bin", { tokenizer = MODEL_DIR .. "/tok512.bin" }))
  local sa, sb = a:seq("Once upon a time"), b:seq("Once upon a time")
  local rows = check.ok(lab.eval_batch{ sa, sb })
  check.near(rows[1]:kl(rows[2]), 0, 1e-6, "same weights, same logits")
  check.eq(rows[1]:argmax(), rows[2]:argmax())
end)

test("eval_batch misuse: duplicates, non-sequences, empty", function()
  local m = lab.model.open(MODEL)
  local s = m:seq("Hi")
  check.raises("twice", lab.eval_batch, { s, s })
  check.raises("not a Seq", lab.eval_batch, { s, 5 })
  check.raises("one or more", lab.eval_batch, {})
end)

test("a full context is an expected failure", function()
  local m = lab.model.open(MODEL, { n_ctx = 16 })
  local s = m:seq()
  local ids = {}
  for i = 1, 20 do ids[i] = 300 end
  s:append(ids)
  local l, err = s:eval()
  check.eq(l, nil)
  check.ok(type(err) == "string", "err")
  -- the sequence stays usable after the failure
  s:rewind(4)
  check.ok(s:eval(), "eval after a failed one")
end)

test("submit + await: explicit async", function()
  local m = lab.model.open(MODEL)
  local s = m:seq("Once upon a time")
  local job = s:submit()
  local l = check.ok(lab.await(job))
  check.eq(job:done(), true)
  check.eq(rawequal(lab.await(job), l), true, "awaiting twice gives the same value")
end)

test("sequence limit gives nil, err", function()
  local m = lab.model.open(MODEL, { n_seq_max = 2 })
  local a, b = m:seq(), m:seq()
  check.fails("no free sequence", m:seq())
  a:close()
  check.ok(m:seq(), "a slot is free again")
  check.raises("closed", a.tokens, a)
  check.eq(#b, 0)
end)

test("garbage sequences give their slot back", function()
  local m = lab.model.open(MODEL, { n_seq_max = 4 })
  for i = 1, 40 do
    local s = m:seq("x")
    if i % 4 == 0 then collectgarbage() end
  end
end)
