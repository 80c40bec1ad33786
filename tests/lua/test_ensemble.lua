-- The ensemble library under the logit-arithmetic plugins (plugins/lib/
-- ensemble.lua, loaded with lab.require): vocabulary checks and trimming,
-- one engine step for all roles, the proxy-tuning mix against a computation
-- by hand from each model's own logits, a = 0 against the base model's
-- greedy output, fork/rewind of all seqs, and lab.require itself.
-- Models: models/s260-{f32,q8_0,q4_0}.gguf (stories260K quantized by
-- tests/test_lua.sh) and ../shared/models/synthetic/synth-A-q8_0.gguf.
local E = check.ok(lab.require("ensemble"))
local F32, Q8, Q4 = WS .. "/models/s260-f32.gguf", WS .. "/models/s260-q8_0.gguf", WS .. "/models/s260-q4_0.gguf"
local SYNTH = MODEL_DIR .. "/synthetic/synth-A-q8_0.gguf"
local PROMPT = "Once upon a time"

local function proxy_roles(base, expert, anti)
  return { { name = "base", path = base }, { name = "expert", path = expert, format = "auto", longer = true },
           { name = "anti", path = anti } }
end

local function proxy_mix(a)
  return function(rows) return check.ok(lab.logits.combine({ { rows[1], 1 }, { rows[2], a, rows[3] } }, { trim = true })) end
end

-- log-softmax by hand (doubles) of the first n entries of f(i)
local function log_softmax(n, f)
  local x, mx = {}, -math.huge
  for i = 0, n - 1 do x[i] = f(i); if x[i] > mx then mx = x[i] end end
  local s = 0
  for i = 0, n - 1 do s = s + math.exp(x[i] - mx) end
  local lse = mx + math.log(s)
  for i = 0, n - 1 do x[i] = x[i] - lse end
  return x
end

-- stories260K.gguf with one more token ("<pad>", a zero embedding and
-- output row), written into the workspace: a vocabulary longer than the
-- base's whose first 512 tokens are the same, as an expert with added
-- special tokens has.
local function padded_model(src, dst)
  local d = check.ok(lab.fs.read(src))
  local pos = 1
  local function rd(f) local v; v, pos = string.unpack(f, d, pos); return v end
  local out = {}
  local function wr(f, ...) out[#out + 1] = string.pack(f, ...) end
  check.eq(rd("c4"), "GGUF")
  local version, n_t, n_kv = rd("<I4"), rd("<I8"), rd("<I8")
  wr("c4", "GGUF"); wr("<I4I8I8", version, n_t, n_kv)
  local SIZES = { [0] = "B", "b", "<I2", "<i2", "<I4", "<i4", "<f", "B", nil, nil, "<I8", "<i8", "<d" }
  local align = 32
  local function value(t, key)
    if t == 8 then return rd("<s8") end
    if t == 9 then
      local et, n = rd("<I4"), rd("<I8")
      local arr = {}
      for i = 1, n do arr[i] = value(et) end
      return { et = et, arr = arr }
    end
    return rd(SIZES[t])
  end
  local function put(t, v)
    if t == 8 then return wr("<s8", v) end
    if t == 9 then
      wr("<I4I8", v.et, #v.arr)
      for _, x in ipairs(v.arr) do put(v.et, x) end
      return
    end
    wr(SIZES[t], v)
  end
  for _ = 1, n_kv do
    local key, t = rd("<s8"), rd("<I4")
    local v = value(t)
    if key == "tokenizer.ggml.tokens" then v.arr[#v.arr + 1] = "<pad>" end
    if key == "tokenizer.ggml.scores" then v.arr[#v.arr + 1] = 0.0 end
    if key == "tokenizer.ggml.token_type" then v.arr[#v.arr + 1] = 3 end
    if key == "llama.vocab_size" then v = v + 1 end
    if key == "general.alignment" then align = v end
    wr("<s8I4", key, t); put(t, v)
  end
  local tensors = {}
  for i = 1, n_t do
    local name, nd = rd("<s8"), rd("<I4")
    local dims = {}
    for k = 1, nd do dims[k] = rd("<I8") end
    tensors[i] = { name = name, dims = dims, type = rd("<I4"), off = rd("<I8") }
  end
  local data0 = (pos - 1 + align - 1) // align * align
  local off = 0
  for i, t in ipairs(tensors) do
    local n = 1
    for _, x in ipairs(t.dims) do n = n * x end
    check.eq(t.type, 0, "an F32 source")
    t.bytes = d:sub(data0 + t.off + 1, data0 + t.off + 4 * n)
    if t.name == "token_embd.weight" or t.name == "output.weight" then
      t.dims[2] = t.dims[2] + 1
      t.bytes = t.bytes .. string.rep("\0", 4 * t.dims[1])
    end
    t.off = off
    off = (off + #t.bytes + align - 1) // align * align
    wr("<s8I4", t.name, #t.dims)
    for _, x in ipairs(t.dims) do wr("<I8", x) end
    wr("<I4I8", t.type, t.off)
  end
  local head = table.concat(out)
  local body = { head, string.rep("\0", (align - #head % align) % align) }
  for _, t in ipairs(tensors) do
    body[#body + 1] = t.bytes
    body[#body + 1] = string.rep("\0", (align - #t.bytes % align) % align)
  end
  check.ok(lab.fs.write(dst, table.concat(body)))
  return WS .. "/" .. dst
end

test("lab.require loads a library once per state and refuses bad names", function()
  check.eq(lab.require("ensemble"), E, "cached: the same table")
  check.fails("library 'no_such_lib' not found", lab.require("no_such_lib"))
  check.raises("letters, digits", lab.require, "../ensemble")
  check.raises("letters, digits", lab.require, "a/b/c")
  check.raises("letters, digits", lab.require, "/b")
  check.fails("library 'a/b' not found %(looked for .*/a/b.lua", lab.require("a/b"))
  check.ok(lab.fs.mkdir("plugins/lib"))
  check.ok(lab.fs.write("plugins/lib/t_cycle.lua", "return lab.require('t_cycle')"))
  check.raises("cycle", lab.require, "t_cycle")
  check.ok(lab.fs.write("plugins/lib/t_cycle.lua", "local name = ...; return { name = name, n = 1 }"))
  local t = check.ok(lab.require("t_cycle"), "a failed load leaves no cache entry")
  check.eq(t.name, "t_cycle")
  check.ok(lab.fs.write("plugins/lib/t_nil.lua", "x_from_lib = 7"))
  check.eq(lab.require("t_nil"), true, "a chunk returning nothing gives true")
  check.eq(x_from_lib, 7, "the library runs in the caller's globals")
  x_from_lib = nil
  lab.fs.remove("plugins/lib/t_cycle.lua"); lab.fs.remove("plugins/lib/t_nil.lua")
end)

test("one vocabulary: a size or piece mismatch is refused, a longer expert is trimmed", function()
  local ens, err = E.open(proxy_roles(SYNTH, MODEL, SYNTH))
  check.fails("vocabulary mismatch: the expert %(stories260K.gguf%) has 512 tokens, the base %(synth%-A%-q8_0.gguf%) has 32000", ens, err)
  ens, err = E.open(proxy_roles(MODEL, SYNTH, MODEL))
  check.fails("vocabulary mismatch: token 259 is", ens, err)
  local pad = padded_model(F32:sub(#WS + 2), "models/s260-pad513.gguf")
  ens = check.ok(E.open(proxy_roles(F32, pad, Q4)))
  check.eq(ens.roles[2].n_vocab, 513)
  check.eq(ens.roles[2].trimmed, true)
  check.eq(ens.n_vocab, 512)
  ens:close()
  ens, err = E.open(proxy_roles(F32, Q8, pad))
  check.fails("the anti %(s260%-pad513.gguf%) has 513 tokens, the base %(s260%-f32.gguf%) has 512", ens, err)
  ens, err = E.open(proxy_roles(pad, Q8, Q4))
  check.fails("has 512 tokens", ens, err)
end)

-- The combined distribution of each step against a by-hand computation from
-- fresh, separately evaluated seqs of each model (same tokens).
local function check_mix_by_hand(paths, a, steps)
  local ens = check.ok(E.open(proxy_roles(paths[1], paths[2], paths[3])))
  local b = check.ok(ens:begin(PROMPT))
  local sampler = lab.sampler{ temp = 0 }
  local alone = {}
  for i = 1, 3 do alone[i] = check.ok(lab.model.open(paths[i])) end
  for _ = 1, steps do
    local prefix = { table.unpack(b.toks) }
    local st = check.ok(b:step(proxy_mix(a), sampler, { keep_rows = true }))
    local own = {}
    for i = 1, 3 do
      local s = alone[i]:seq(PROMPT)
      if #prefix > 0 then s:append(prefix) end
      own[i] = check.ok(s:eval())
      s:close()
    end
    local n = 512
    local lb, le, la = own[1], own[2], own[3]
    local want = log_softmax(n, function(id) return lb:get(id) + a * (le:get(id) - la:get(id)) end)
    check.eq(#st.mix, n, "the mix has the base's vocabulary")
    local best, best_id = -math.huge, nil
    for id = 0, n - 1 do
      check.near(st.mix:logprob(id), want[id], 1e-5, "combined log p of token " .. id)
      if want[id] > best then best, best_id = want[id], id end
    end
    check.eq(st.tok, best_id, "greedy takes the combined argmax")
    check.near(st.p_mix, math.exp(want[st.tok]), 1e-5, "p_combined")
    for i = 1, 3 do
      local lp = log_softmax(#own[i], function(id) return own[i]:get(id) end)
      check.near(st.p[i], math.exp(lp[st.tok]), 1e-5, "p of role " .. i)
    end
    check.near(st.shift, st.p_mix - st.p[1], 1e-12, "shift")
  end
  ens:close()
end

test("the proxy mix equals softmax(s_base + a (s_expert - s_anti)) computed by hand", function()
  check_mix_by_hand({ F32, Q8, Q4 }, 1.0, 4)
  check_mix_by_hand({ Q4, F32, Q8 }, 1.7, 2)
end)

test("a trimmed expert: the mix uses its first 512 logits", function()
  local pad = WS .. "/models/s260-pad513.gguf"
  if not lab.fs.exists("models/s260-pad513.gguf") then padded_model(F32:sub(#WS + 2), "models/s260-pad513.gguf") end
  check_mix_by_hand({ Q4, pad, Q8 }, 0.8, 2)
end)

test("a = 0 reproduces the base model's greedy output exactly; a = 1 does not", function()
  local ens = check.ok(E.open(proxy_roles(F32, Q8, Q4)))
  local b0 = check.ok(ens:begin(PROMPT))
  local r0 = check.ok(b0:generate(proxy_mix(0), lab.sampler{ temp = 0 }, { max_tokens = 60 }))
  local g = check.ok(lab.generate(ens.roles[1].model:seq(PROMPT), { max_tokens = 60 }))
  check.same_list(b0.toks, g.tokens, "a = 0 tokens")
  check.eq(r0.n, g.n)
  check.eq(b0:text(), g.text)
  local b1 = check.ok(ens:begin(PROMPT))
  check.ok(b1:generate(proxy_mix(1), lab.sampler{ temp = 0 }, { max_tokens = 60 }))
  local same = #b1.toks == #g.tokens
  for j = 1, math.min(#b1.toks, #g.tokens) do same = same and b1.toks[j] == g.tokens[j] end
  check.eq(same, false, "a = 1 changes the greedy text of these three models")
  ens:close()
end)

test("each role formats its own prompt; the chosen token goes to every seq", function()
  local chatml = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
  local expert = check.ok(lab.model.open(Q8, { chat_template = chatml }))
  local ens = check.ok(E.open({ { name = "base", path = F32 }, { name = "expert", model = expert, format = "auto" },
                                { name = "anti", path = Q4 } }))
  local b = check.ok(ens:begin(PROMPT))
  check.eq(b.formats[1], "raw"); check.eq(b.formats[2], "chat"); check.eq(b.formats[3], "raw")
  check.same_list(b.ptoks[1], ens.roles[1].model:tokenize(PROMPT))
  check.ok(#b.ptoks[2] > #b.ptoks[1], "the expert's prompt is the rendered template")
  check.ok(b:generate(proxy_mix(1), lab.sampler{ temp = 0 }, { max_tokens = 5 }))
  for i = 1, 3 do
    local t = b.seqs[i]:tokens()
    check.eq(#t, #b.ptoks[i] + 5)
    for j = 1, 5 do check.eq(t[#b.ptoks[i] + j], b.toks[j], "role " .. i .. " token " .. j) end
  end
  local bad = check.ok(E.open({ { name = "base", path = F32 }, { name = "expert", path = Q8, format = "chat" } }))
  check.fails("the expert's chat template", bad:begin(PROMPT))
  ens:close(); bad:close()
end)

test("a mix that masks tokens lists only the kept ones among its alternatives (issue 13)", function()
  local ens = check.ok(E.open(proxy_roles(F32, Q8, Q4)))
  local b = check.ok(ens:begin(PROMPT))
  local keep3 = function(rows)
    local ids = {}
    for _, t in ipairs(rows[1]:top(3)) do ids[#ids + 1] = t.id end
    return check.ok(lab.logits.combine({ { rows[1], 1 } }, { trim = true })):keep(ids)
  end
  local st = check.ok(b:step(keep3, lab.sampler{ temp = 0 }, { top = 24 }))
  check.eq(#st.top.mix, 3, "three kept tokens, no masked ones")
  for _, t in ipairs(st.top.mix) do check.ok(t.prob > 0, "kept token " .. t.id .. " has p > 0") end
  check.eq(#st.top[1], 24, "the rows' own lists are whole")
  ens:close()
end)

test("fork and rewind move all seqs together; a fork continues like a fresh run", function()
  local ens = check.ok(E.open(proxy_roles(F32, Q8, Q4)))
  local sampler = lab.sampler{ temp = 0 }
  local b = check.ok(ens:begin(PROMPT))
  check.ok(b:generate(proxy_mix(1), sampler, { max_tokens = 8 }))
  local f = check.ok(b:fork(3))
  check.eq(#f.toks, 3)
  for i = 1, 3 do check.eq(#f.seqs[i], #f.ptoks[i] + 3) end
  -- force another token at position 4, then compare the next step with a fresh branch fed the same tokens
  local alt = b.steps[4].top and b.steps[4].top.mix[2].id or (b.toks[4] == 7 and 8 or 7)
  local s4 = check.ok(f:step(proxy_mix(1), sampler, { force = alt }))
  check.eq(s4.tok, alt)
  local s5 = check.ok(f:step(proxy_mix(1), sampler, { keep_rows = true }))
  local fresh = check.ok(ens:begin(PROMPT))
  for j = 1, 3 do fresh.toks[j] = b.toks[j] end
  fresh.toks[4] = alt
  for i = 1, 3 do fresh.seqs[i]:append({ b.toks[1], b.toks[2], b.toks[3], alt }) end
  local s5b = check.ok(fresh:step(proxy_mix(1), sampler, { keep_rows = true }))
  check.eq(s5.tok, s5b.tok)
  for i = 1, 3 do check.near(s5.p[i], s5b.p[i], 1e-6, "role " .. i) end
  -- a fresh branch evaluates its tokens as one batch, the fork one at a time:
  -- the kernels differ by batch size (float summation order), so the rows
  -- agree to rounding, not bit for bit
  check.ok(s5.mix:kl(s5b.mix) < 1e-7, "same distribution: KL " .. s5.mix:kl(s5b.mix))
  -- the original branch is untouched
  check.eq(#b.toks, 8)
  check.eq(#b.seqs[1], #b.ptoks[1] + 8)
  b:rewind(2)                            -- with the next step already submitted (ahead)
  check.eq(#b.toks, 2)
  for i = 1, 3 do check.eq(#b.seqs[i], #b.ptoks[i] + 2) end
  local s3 = check.ok(b:step(proxy_mix(1), sampler, { keep_rows = true }))
  check.eq(s3.pos, 3)
  local again = check.ok(ens:begin(PROMPT))
  for i = 1, 3 do again.seqs[i]:append({ b.toks[1], b.toks[2] }) end
  again.toks = { b.toks[1], b.toks[2] }
  local s3b = check.ok(again:step(proxy_mix(1), sampler, { keep_rows = true }))
  check.eq(s3.tok, s3b.tok, "after a rewind: the same step as a fresh branch")
  check.ok(s3.mix:kl(s3b.mix) < 1e-7, "the same distribution after a rewind: KL " .. s3.mix:kl(s3b.mix))
  -- only the most recently used branches keep their seqs
  local bs = { b, f, fresh, again }
  for k, x in ipairs(bs) do x.used = k end
  E.trim_branches(bs, 1, again)
  check.eq(b.seqs, nil); check.eq(f.seqs, nil)
  check.ok(fresh.seqs and again.seqs, "the current branch and the newest other one stay")
  check.ok(b:ensure())
  -- a released branch rebuilds its seqs from its tokens
  b:release()
  check.eq(b.seqs, nil)
  local s4b = check.ok(b:step(proxy_mix(1), sampler))
  check.eq(s4b.pos, 4)
  check.eq(#b.seqs[2], #b.ptoks[2] + 4)
  ens:close()
end)

test("step records round-trip through the workspace", function()
  local ens = check.ok(E.open(proxy_roles(F32, Q8, Q4)))
  local b = check.ok(ens:begin(PROMPT))
  local rec = check.ok(E.record_begin("t_ensemble", { a = 1, prompt = PROMPT }, 42, ens:models()))
  local steps = {}
  check.ok(b:generate(proxy_mix(1), lab.sampler{ temp = 0 }, { max_tokens = 6, on_step = function(st)
    steps[#steps + 1] = st
    check.ok(rec:put("token", { pos = st.pos, tok = st.tok, piece = st.piece, p_base = st.p[1], p_expert = st.p[2],
                                p_anti = st.p[3], p_combined = st.p_mix, a = 1 }))
  end }))
  rec:finish("ok")
  local rows = check.ok(lab.store.query("SELECT data FROM records WHERE run_id = ? AND kind = 'token' ORDER BY id", { rec.id }))
  check.eq(#rows, 6)
  for j, r in ipairs(rows) do
    local d = lab.json.decode(r.data)
    local st = steps[j]
    check.eq(d.pos, st.pos); check.eq(d.tok, st.tok); check.eq(d.piece, st.piece)
    check.eq(d.p_base, st.p[1]); check.eq(d.p_expert, st.p[2]); check.eq(d.p_anti, st.p[3])
    check.eq(d.p_combined, st.p_mix)
  end
  local run = check.ok(lab.store.query("SELECT plugin, params, seed, status FROM runs WHERE id = ?", { rec.id }))[1]
  check.eq(run.plugin, "t_ensemble"); check.eq(run.seed, 42); check.eq(run.status, "ok")
  check.eq(lab.json.decode(run.params).prompt, PROMPT)
  local n = check.ok(lab.store.query("SELECT count(*) AS n FROM run_models WHERE run_id = ?", { rec.id }))[1].n
  check.eq(n, 3, "the three models")
  ens:close()
end)

test("command-line parsing", function()
  local spec = { { "base", "string", "M" }, { "a", "number", "A", short = "a", default = 1 }, { "n", "integer", "N", default = 4 },
                 { "json", "flag" } }
  local o, rest = E.parse_args({ "--base", "x.gguf", "-a", "0.5", "--n=7", "--json", "Once", "upon" }, spec)
  check.eq(o.base, "x.gguf"); check.eq(o.a, 0.5); check.eq(o.n, 7); check.eq(o.json, true)
  check.same_list(rest, { "Once", "upon" })
  check.fails("unknown option '%-%-nope'", E.parse_args({ "--nope" }, spec))
  check.fails("needs an integer", E.parse_args({ "--n", "1.5" }, spec))
  check.fails("needs a value", E.parse_args({ "--base" }, spec))
  local kv, prompt = E.parse_words("a=1.5 base=x.gguf Once upon a=2")
  check.eq(kv.a, "1.5"); check.eq(kv.base, "x.gguf"); check.eq(prompt, "Once upon a=2")
  check.eq(E.visible(" a\nb\1"), "␣a↵b\\x01")
  check.eq(E.fit("héllo", 3), "hél")
  check.eq(E.fit("ab", 4, true), "ab  ")
end)
