-- lab.lua: the ergonomic layer of the lab API, in Lua over the C
-- primitives (embedded into the binary; run once per Lua state with the
-- `lab` table and the private table of method tables).
--
-- Here: seq:eval, lab.eval_batch, lab.score, lab.generate, lab.inspect.
-- Invariant: nothing here keeps state between calls except what the
-- caller passes in (no hidden current model or sequence).
local lab, priv = ...

local Seq = priv.Seq
local type, error, tostring, pairs, ipairs = type, error, tostring, pairs, ipairs
local string_format, table_concat, table_sort = string.format, table.concat, table.sort
local math_type = math.type

-- seq:eval() -> Logits | nil, err: evaluates the pending tokens (yields
-- inside a task while the engine works) and returns the logits after the
-- last token.
function Seq:eval()
  return lab.await(self:submit())
end

-- lab.eval_batch{seq, ...} -> {Logits, ...} | nil, err: one engine step for
-- many sequences, of one or several models.
function lab.eval_batch(seqs)
  return lab.await(lab.submit(seqs))
end

-- lab.score(model, prompt, continuation) -> {logprob=, logprobs=, tokens=,
-- n=, ppl=} | nil, err
function lab.score(model, prompt, continuation)
  local job, err = priv.score_submit(model, prompt, continuation)
  if not job then return nil, err end
  return lab.await(job)
end

local GEN_OPTS = { sampler = true, max_tokens = true, stop_at_eos = true, stop = true, on_token = true }

-- lab.generate(seq, {sampler=, max_tokens=128, stop_at_eos=true, stop={...},
--   on_token=function(tok, logits, step) ... end}) -> result | nil, err
-- on_token may return false (stop before this token), an integer id (take
-- that token instead), or nothing (go on).
function lab.generate(seq, opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("bad argument #2 to 'generate' (table expected)", 2) end
  for k in pairs(opts) do
    if not GEN_OPTS[k] then
      error(string_format("bad argument #2 to 'generate' (unknown option '%s'; known: sampler, max_tokens, "
        .. "stop_at_eos, stop, on_token)", tostring(k)), 2)
    end
  end
  local sampler = opts.sampler or lab.sampler{ temp = 0 }
  local max_tokens = opts.max_tokens or 128
  if math_type(max_tokens) ~= "integer" or max_tokens < 0 then
    error("bad argument #2 to 'generate' (max_tokens must be an integer >= 0)", 2)
  end
  local on_token = opts.on_token
  if on_token ~= nil and type(on_token) ~= "function" then
    error("bad argument #2 to 'generate' (on_token must be a function)", 2)
  end
  local stops = opts.stop
  if type(stops) == "string" then stops = { stops } end
  local model = seq:model()
  local info = model:info()
  local stop_ids = {}
  if opts.stop_at_eos ~= false then
    if info.eos then stop_ids[info.eos] = true end
    if info.eot then stop_ids[info.eot] = true end
  end
  for _, t in ipairs(seq:tokens()) do sampler:accept(t) end
  local out, pieces = {}, {}
  local reason = "length"
  for step = 1, max_tokens do
    local logits, err = seq:eval()
    if not logits then return nil, err end
    local tok, perr = sampler:pick(logits, seq)
    if not tok then
      if seq:grammar_state() and seq:grammar_state().complete then reason = "grammar"; break end
      return nil, perr
    end
    if on_token then
      local r = on_token(tok, logits, step)
      if r == false then reason = "stopped"; break end
      if math_type(r) == "integer" then
        if r < 0 or r >= #logits then error("on_token returned token id " .. r .. " outside the vocabulary", 2) end
        tok = r
      end
    end
    sampler:accept(tok)
    seq:append(tok)
    out[#out + 1] = tok
    if stop_ids[tok] then reason = "eos"; break end
    if stops then
      pieces[#pieces + 1] = model:piece(tok, false)
      local text = table_concat(pieces)
      local hit = false
      for _, s in ipairs(stops) do
        if text:find(s, 1, true) then hit = true end
      end
      if hit then reason = "stop"; break end
    end
  end
  local text = {}
  for i, t in ipairs(out) do text[i] = model:piece(t, false) end
  return { tokens = out, text = table_concat(text), n = #out, reason = reason }
end

-- lab.inspect(value) -> a one-line, readable rendering (the REPL prints
-- results with it). Tables show sorted keys, at most 3 levels and 50 items.
local function inspect(v, depth, seen)
  local t = type(v)
  if t == "string" then return string_format("%q", v):gsub("\\\n", "\\n") end
  if t ~= "table" then return tostring(v) end
  if seen[v] then return "<cycle>" end
  if depth > 3 then return "{...}" end
  seen[v] = true
  local parts, n = {}, #v
  for i = 1, n do
    if i > 50 then parts[#parts + 1] = "..."; break end
    parts[#parts + 1] = inspect(v[i], depth + 1, seen)
  end
  local keys = {}
  for k in pairs(v) do
    if not (math_type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table_sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "string" or type(a) == "number") then return a < b end
    return type(a) < type(b)
  end)
  for i, k in ipairs(keys) do
    if i > 50 then parts[#parts + 1] = "..."; break end
    local ks = type(k) == "string" and k:match("^[%a_][%w_]*$") and k or "[" .. inspect(k, depth + 1, seen) .. "]"
    parts[#parts + 1] = ks .. " = " .. inspect(v[k], depth + 1, seen)
  end
  seen[v] = nil
  return "{" .. table_concat(parts, ", ") .. "}"
end

function lab.inspect(v)
  return (inspect(v, 1, {}))
end
