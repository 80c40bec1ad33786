-- Search primitives (4 of 7): KV statistics, save and load. m:kv() and
-- seq:kv() counts, slots freed by the garbage collector, seq:save /
-- model:load giving the same state bit for bit (other weights refused), and
-- a long state saved without filling the Lua heap.
-- The bytes of a Logits row (memcmp in Lua).
local function row_bytes(l)
  local t = {}
  for id = 0, #l - 1 do t[#t + 1] = string.pack("<f", l:get(id)) end
  return table.concat(t)
end

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
