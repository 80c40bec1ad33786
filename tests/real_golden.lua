-- Golden checks of the real llama2.c models through the Lua API, run by
-- tests/test_real.sh: logitlab run -w WS real_golden.lua SHARED_MODELS.
-- The references (tests/data/real_ref.json, copied into the workspace) come
-- from tests/ref_llama2c.py, an independent float64 numpy implementation.
local dir = ...
local ref = lab.json.decode(assert(lab.fs.read("real_ref.json")))
local pass, fail = 0, 0
local function check(ok, msg)
  if ok then pass = pass + 1 else fail = fail + 1; print("FAIL: " .. msg) end
end

-- Teacher-forces the reference tokens; returns the logits row of every position.
local function rows(m, toks)
  local s = m:seq()
  local out = {}
  for i = 1, #toks do
    s:append({ toks[i] }, { bos = false })
    out[i - 1] = assert(s:eval())
  end
  return out
end

-- The reference's top-8 at its chosen rows, each logit within tol.
local function top_within(name, r, got, tol)
  local worst = 0
  for pos, list in pairs(r.top) do
    local l = got[tonumber(pos)]
    for _, pair in ipairs(list) do worst = math.max(worst, math.abs(l:get(pair[1]) - pair[2])) end
  end
  check(worst < tol, string.format("%s: top-8 logits at the reference rows within %g (worst %.5f)", name, tol, worst))
  return worst
end

-- stories3M, int8 weights widened exactly: the greedy continuation token for token
do
  local r = ref["stories3M-q80.bin"]
  local m = assert(lab.model.open(dir .. "/real/stories3M-q80.bin", { exact_int8 = true }))
  check(m:info().format == "llama2.c v2", "stories3M format " .. tostring(m:info().format))
  local g = assert(lab.generate(m:seq({ 1 }), { max_tokens = 48, stop_at_eos = false }))
  local same = #g.tokens == 48
  for i = 1, 48 do same = same and g.tokens[i] == r.tokens[i + 1] end
  check(same, "stories3M exact: lab.generate from BOS equals the reference's 48 tokens")
  check(g.text == " Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine."
    .. " One day, she went to the park with her mom. They saw a big tree with lots of leaves. Lily wanted to climb",
    "stories3M exact: the README's text: " .. g.text)
  top_within("stories3M exact", r, rows(m, r.tokens), 2e-3)
  m:close()
  -- as Q8_0 (the default): activations are rounded to 8 bits too, so only
  -- near-ties of the reference may change their winner
  m = assert(lab.model.open(dir .. "/real/stories3M-q80.bin"))
  local got = rows(m, r.tokens)
  local flips, bad = 0, 0
  for pos = 0, 47 do
    if got[pos]:argmax() ~= r.tokens[pos + 2] then
      flips = flips + 1
      if r.margins[pos + 1] > 0.1 then bad = bad + 1 end
    end
  end
  check(bad == 0, string.format("stories3M Q8_0: the reference's argmax at every row but near-ties (%d flips, %d not near-ties)", flips, bad))
  top_within("stories3M Q8_0", r, got, 0.4)
  m:close()
end

-- llama2xs-260K (version 0, fp32) and zh-poem with <unk> banned
for _, name in ipairs({ "llama2xs-260K.bin", "zh-poem-750K.bin" }) do
  local r = ref[name]
  local m = assert(lab.model.open(dir .. "/real/" .. name))
  local g = assert(lab.generate(m:seq({ 1 }), {
    max_tokens = 48, stop_at_eos = false,
    sampler = lab.sampler({ temp = 0, bias = name:find("zh") and { [0] = -math.huge } or nil }),
  }))
  local same = #g.tokens == 48
  for i = 1, 48 do same = same and g.tokens[i] == r.tokens[i + 1] end
  check(same, name .. ": greedy from BOS equals the reference's 48 tokens")
  top_within(name, r, rows(m, r.tokens), 1e-3)
  m:close()
end
print(string.format("# passed %d failed %d", pass, fail))
