-- lab.lua: the ergonomic layer of the lab API, in Lua over the C
-- primitives (embedded into the binary; run once per Lua state with the
-- `lab` table and the private table of method tables).
--
-- Here: seq:eval, lab.eval_batch, lab.score, lab.inspect.
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
-- A full KV cache is tried again once after a garbage collection: sequences
-- nothing refers to any more (a failed long eval's, a loop's temporaries)
-- hold their cells until collected, and a new user's lab.generate otherwise
-- failed at its first token ("full", 0 tokens) with no sequence of theirs
-- alive (issue 14's trial, session 15).
local function full_retry(r, err)
  return r == nil and type(err) == "string" and err:find("KV cache is full", 1, true) ~= nil
end

function Seq:eval(opts)
  local r, err = lab.await(priv.call_at(3, "eval", self.submit, self, opts))
  if full_retry(r, err) then
    collectgarbage("collect")
    r, err = lab.await(priv.call_at(3, "eval", self.submit, self, opts))
  end
  return r, err
end

-- lab.eval_batch{seq, ...} -> {Logits, ...} | nil, err: one engine step for
-- many sequences, of one or several models.
function lab.eval_batch(seqs, opts)
  local r, err = lab.await(priv.call_at(3, "eval_batch", lab.submit, seqs, opts))
  if full_retry(r, err) then
    collectgarbage("collect")
    r, err = lab.await(priv.call_at(3, "eval_batch", lab.submit, seqs, opts))
  end
  return r, err
end

-- lab.score(model, prompt, continuation) -> {logprob=, logprobs=, tokens=,
-- n=, ppl=, evaluated=} | nil, err
function lab.score(model, prompt, continuation)
  local job, err = priv.call_at(3, "score", priv.score_submit, model, prompt, continuation)
  if not job then return nil, err end
  local r, e = lab.await(job)
  if r and priv.charge_tokens then priv.charge_tokens(r.evaluated) end   -- lab.task_budget: the prompt too
  return r, e
end

-- lab.generate and lab.generate_batch: gen.lua

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
