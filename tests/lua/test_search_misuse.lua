-- Search primitives (7 of 7): misuse gets a clear error naming the
-- argument. lab.generate and generate_batch arguments, masked rows and ids
-- beyond the vocabulary, vocabularies of equal size that differ.
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
